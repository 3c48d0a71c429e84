// http-submit: the submit mode over the HTTP/JSON front door (longrun-api --http-listen):
// --c persistent HTTP/1.1 keep-alive connections on raw sockets, one thread each, every one
// sending `POST /v1/operations` with a demo.echo SubmitRequest and reading the whole answer
// (Content-Length framing) before the next. 202 Accepted counts as success, anything else
// (or a broken connection, which is then reopened) as an error. Test tooling: no chunked
// bodies, no TLS.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/bench/client.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

namespace {

constexpr size_t kMaxResponse = 1 << 20;

// A blocking TCP connection to HOST:PORT with TCP_NODELAY and send/receive timeouts.
absl::StatusOr<int> Dial(const std::string& addr, absl::Duration timeout) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("--http-addr: want HOST:PORT");
  const std::string host = addr.substr(0, colon);
  const std::string port = addr.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", addr, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string err = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("connect ", addr, ": ", err));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

// One keep-alive connection: sends a request, reads one response.
class HttpConn {
 public:
  HttpConn(std::string addr, absl::Duration timeout) : addr_(std::move(addr)), timeout_(timeout) {}
  ~HttpConn() { Close(); }
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  absl::Status Open() {
    if (fd_ >= 0) return absl::OkStatus();
    auto fd = Dial(addr_, timeout_);
    if (!fd.ok()) return fd.status();
    fd_ = *fd;
    buf_.clear();
    return absl::OkStatus();
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Sends `request` and reads the answer: its status code and body. A transport error
  // closes the connection (the next Open reopens it).
  absl::Status RoundTrip(const std::string& request, int& status, std::string& body) {
    if (absl::Status s = Open(); !s.ok()) return s;
    absl::Status s = Exchange(request, status, body);
    if (!s.ok()) Close();
    return s;
  }

 private:
  absl::Status Exchange(const std::string& request, int& status, std::string& body) {
    const char* p = request.data();
    size_t left = request.size();
    while (left > 0) {
      const ssize_t w = send(fd_, p, left, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
      p += w;
      left -= static_cast<size_t>(w);
    }
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (absl::Status s = ReadMore(); !s.ok()) return s;
    }
    std::vector<absl::string_view> lines =
        absl::StrSplit(absl::string_view(buf_).substr(0, head_end), "\r\n");
    // "HTTP/1.1 202 Accepted"
    std::vector<absl::string_view> first = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (first.size() < 2 || !absl::StartsWith(first[0], "HTTP/1.") ||
        !absl::SimpleAtoi(first[1], &status)) {
      return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
    }
    int64_t length = -1;
    bool close_after = first[0] == "HTTP/1.0";
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) continue;
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
      if (name == "content-length" && !absl::SimpleAtoi(value, &length)) length = -1;
      if (name == "transfer-encoding") return absl::DataLossError("chunked answer: not supported");
      if (name == "connection" && absl::EqualsIgnoreCase(value, "close")) close_after = true;
    }
    if (length < 0) return absl::DataLossError("answer without content-length");
    const size_t total = head_end + 4 + static_cast<size_t>(length);
    if (total > kMaxResponse) return absl::DataLossError("answer too large");
    while (buf_.size() < total) {
      if (absl::Status s = ReadMore(); !s.ok()) return s;
    }
    body.assign(buf_, head_end + 4, static_cast<size_t>(length));
    buf_.erase(0, total);
    if (close_after) Close();
    return absl::OkStatus();
  }

  absl::Status ReadMore() {
    char chunk[16384];
    for (;;) {
      const ssize_t r = read(fd_, chunk, sizeof(chunk));
      if (r > 0) {
        buf_.append(chunk, static_cast<size_t>(r));
        if (buf_.size() > kMaxResponse) return absl::DataLossError("answer too large");
        return absl::OkStatus();
      }
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return absl::UnavailableError("connection closed by the server");
      return absl::UnavailableError(absl::StrCat("read: ", strerror(errno)));
    }
  }

  const std::string addr_;
  const absl::Duration timeout_;
  int fd_ = -1;
  std::string buf_;
};

// The operation's name from the Operation JSON ("" if absent): `"name": "operations/..."`.
std::string OperationName(const std::string& body) {
  size_t k = body.find("\"name\"");
  if (k == std::string::npos) return "";
  k = body.find('"', body.find(':', k) + 1);
  if (k == std::string::npos) return "";
  const size_t end = body.find('"', k + 1);
  return end == std::string::npos ? "" : body.substr(k + 1, end - k - 1);
}

// Runs calls 0..n-1 over `conns` (one thread each, so at most conns.size() outstanding),
// stopping after more than `max_errors` errors. names[i]: call i's operation.
LoopStats HttpLoop(std::vector<std::unique_ptr<HttpConn>>& conns, int64_t n, int64_t max_errors,
                   const std::string& host, const std::string& label, const std::string& token,
                   int64_t first_i, std::vector<std::string>& names) {
  LoopStats st;
  names.assign(static_cast<size_t>(n), "");
  std::vector<int64_t> latency(static_cast<size_t>(n), -1);
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> errors{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  const std::string auth =
      token.empty() ? "" : absl::StrCat("authorization: Bearer ", token, "\r\n");
  auto work = [&](HttpConn& conn) {
    std::string body;
    for (;;) {
      if (stop.load()) return;
      const int64_t i = next.fetch_add(1);
      if (i >= n) return;
      const std::string json = absl::StrCat(R"({"kind":"demo.echo","input":{"i":)", first_i + i,
                                            R"(},"labels":{"bench_run":")", label, R"("}})");
      const std::string req = absl::StrCat(
          "POST /v1/operations HTTP/1.1\r\nhost: ", host,
          "\r\ncontent-type: application/json\r\n", auth, "content-length: ", json.size(),
          "\r\n\r\n", json);
      int status = 0;
      const int64_t t0 = MonoNs();
      absl::Status s = conn.RoundTrip(req, status, body);
      const int64_t t1 = MonoNs();
      if (s.ok() && status == 202) {
        latency[static_cast<size_t>(i)] = t1 - t0;
        names[static_cast<size_t>(i)] = OperationName(body);
        continue;
      }
      const std::string what =
          s.ok() ? absl::StrCat("HTTP ", status, ": ", body.substr(0, 200)) : s.ToString();
      if (errors.fetch_add(1) + 1 > max_errors) stop.store(true);
      std::lock_guard<std::mutex> lock(mu);
      if (st.first_errors.size() < 5) {
        st.first_errors.push_back(what);
        Log(absl::StrCat("HTTP error (call ", i, "): ", what));
      }
    }
  };
  st.start_mono_ns = MonoNs();
  std::vector<std::thread> threads;
  threads.reserve(conns.size());
  for (auto& c : conns) threads.emplace_back(work, std::ref(*c));
  for (auto& t : threads) t.join();
  st.end_mono_ns = MonoNs();
  st.issued = std::min(next.load(), n);
  st.errors = errors.load();
  st.aborted = stop.load();
  for (int64_t v : latency) {
    if (v >= 0) st.latency_ns.push_back(v);
  }
  st.ok = static_cast<int64_t>(st.latency_ns.size());
  return st;
}

}  // namespace

RunResult RunHttpSubmit(const Options& o, int run, Params& params) {
  if (run == 0) {
    params.Add("http_addr", o.http_addr);
    params.Add("request", "POST /v1/operations (HTTP/1.1 keep-alive, one connection per c)");
    params.Add("n", o.n);
    params.Add("c", o.c);
    params.Add("warmup", o.warmup);
    params.Add("kind", "demo.echo");
    params.Add("input", R"({"i": N})");
    params.Add("cleanup", o.cleanup ? "cancel (gRPC, --server)" : "none");
  }
  RunResult r;
  if (o.http_addr.empty()) {
    return Fail(r, absl::InvalidArgumentError("http-submit needs --http-addr"));
  }
  std::vector<std::unique_ptr<HttpConn>> conns;
  for (int64_t i = 0; i < o.c; ++i) {
    conns.push_back(std::make_unique<HttpConn>(o.http_addr, o.rpc_timeout));
    if (absl::Status s = conns.back()->Open(); !s.ok()) return Fail(r, s);
  }
  const std::string label = RunLabel(o, run);
  std::vector<std::string> warm_names, names;
  (void)HttpLoop(conns, o.warmup, o.warmup, o.http_addr, label, o.client.token, 0, warm_names);
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin();
  LoopStats st =
      HttpLoop(conns, o.n, o.max_errors, o.http_addr, label, o.client.token, o.warmup, names);
  cpu.End();
  AddLoop(r, st, "rps", "lat");
  cpu.Report(r);
  conns.clear();
  if (o.cleanup) {
    auto cl = Connect(o);
    if (!cl.ok()) return Fail(r, cl.status());
    names.insert(names.end(), warm_names.begin(), warm_names.end());
    (void)CancelAll(o, **cl, names);
  }
  return r;
}

}  // namespace longrun::bench
