#include "tools/bench/hook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/bench/bench.h"

namespace longrun::bench {

namespace {

constexpr char kOk[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
constexpr char kGone[] = "HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n";
constexpr char kBad[] = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
constexpr size_t kMaxRequest = 4 << 20;

absl::Status Errno(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// Writes all of `data` (a few dozen bytes: the socket buffer takes it at once in practice).
bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w > 0) {
      data += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
      if (poll(&p, 1, 1000) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HookReceiver>> HookReceiver::Start(const std::string& path) {
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(lfd, 1024) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status s = Errno("bind/listen");
    close(lfd);
    return s;
  }
  const int efd = epoll_create1(EPOLL_CLOEXEC);
  const int wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0 || wfd < 0) {
    absl::Status s = Errno("epoll/eventfd");
    close(lfd);
    if (efd >= 0) close(efd);
    if (wfd >= 0) close(wfd);
    return s;
  }
  for (int fd : {lfd, wfd}) {
    epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev);
  }
  std::unique_ptr<HookReceiver> r(new HookReceiver(path, lfd, efd, wfd, ntohs(addr.sin_port)));
  r->thread_ = std::thread([p = r.get()] { p->Loop(); });
  return r;
}

HookReceiver::~HookReceiver() {
  Stop();
  close(listen_fd_);
  close(epoll_fd_);
  close(wake_fd_);
}

void HookReceiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

bool HookReceiver::AwaitUnique(int64_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return counts_.unique_ids >= n; });
}

HookReceiver::Counts HookReceiver::counts() {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

std::vector<HookReceiver::Hook> HookReceiver::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(hooks_);
}

void HookReceiver::Record(Hook hook) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_.requests;
  if (ids_.insert(hook.webhook_id).second) ++counts_.unique_ids;
  hooks_.push_back(std::move(hook));
  cv_.notify_all();
}

bool HookReceiver::Serve(int fd, std::string& buf) {
  for (;;) {
    const size_t head_end = buf.find("\r\n\r\n");
    if (head_end == std::string::npos) return buf.size() < kMaxRequest;
    const int64_t t = WallNs();
    std::vector<absl::string_view> lines =
        absl::StrSplit(absl::string_view(buf).substr(0, head_end), "\r\n");
    const absl::string_view request_line = lines.empty() ? "" : lines[0];
    bool keep_alive = absl::EndsWith(request_line, "HTTP/1.1");
    bool ok = absl::StartsWith(request_line, "POST ") && absl::StrContains(request_line, " HTTP/1.");
    int64_t length = 0;
    Hook hook;
    for (size_t i = 1; i < lines.size() && ok; ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) {
        ok = false;
        break;
      }
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
      if (name == "content-length") {
        ok = absl::SimpleAtoi(value, &length) && length >= 0;
      } else if (name == "transfer-encoding") {
        ok = false;  // chunked bodies: not needed here (libcurl sends a length)
      } else if (name == "connection") {
        const std::string v = absl::AsciiStrToLower(value);
        if (v == "close") keep_alive = false;
        if (v == "keep-alive") keep_alive = true;
      } else if (name == "webhook-id") {
        hook.webhook_id = std::string(value);
      }
    }
    if (!ok) {
      SendAll(fd, kBad, sizeof(kBad) - 1);
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_.bad;
      return false;
    }
    const size_t total = head_end + 4 + static_cast<size_t>(length);
    if (buf.size() < total) return total <= kMaxRequest;  // the body is still coming
    const bool ours = absl::StartsWith(request_line, absl::StrCat("POST ", path_, " "));
    hook.wall_ns = t;
    hook.body = buf.substr(head_end + 4, static_cast<size_t>(length));
    buf.erase(0, total);
    if (ours) {
      Record(std::move(hook));
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_.foreign;
    }
    const bool sent = ours ? SendAll(fd, kOk, sizeof(kOk) - 1) : SendAll(fd, kGone, sizeof(kGone) - 1);
    if (!sent || !keep_alive) return false;
  }
}

void HookReceiver::Loop() {
  std::unordered_map<int, std::string> conns;
  auto drop = [&](int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  epoll_event events[64];
  char chunk[16384];
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Log(absl::StrCat("hook receiver: epoll_wait: ", strerror(errno)));
      break;
    }
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        stop = true;
      } else if (fd == listen_fd_) {
        for (;;) {
          const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          const int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event ev{.events = EPOLLIN | EPOLLRDHUP, .data = {.fd = c}};
          epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c, &ev);
          conns[c];
          std::lock_guard<std::mutex> lock(mu_);
          ++counts_.connections;
        }
      } else {
        std::string& buf = conns[fd];
        bool open = true;
        for (;;) {
          const ssize_t r = read(fd, chunk, sizeof(chunk));
          if (r > 0) {
            buf.append(chunk, static_cast<size_t>(r));
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) open = false;
          break;
        }
        // Answer what arrived complete even if the peer already half-closed.
        if (!Serve(fd, buf) || !open) drop(fd);
      }
    }
    if (stop) break;
  }
  while (!conns.empty()) drop(conns.begin()->first);
}

}  // namespace longrun::bench
