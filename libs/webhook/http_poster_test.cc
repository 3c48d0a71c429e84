#include "libs/webhook/http_poster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 (port from the kernel) that
// counts the connections it accepts and answers each request with respond(request).
class TestServer {
 public:
  struct Request {
    std::string head;  // request line and headers
    std::string body;
  };
  using Responder = std::function<std::string(const Request&)>;

  explicit TestServer(Responder respond) : respond_(std::move(respond)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestServer() {
    Release();
    shutdown(fd_, SHUT_RDWR);  // unblocks accept()
    thread_.join();
    close(fd_);
  }

  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // For responders that hold the answer back: blocks until Release() (or the destructor).
  void WaitForRelease() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return released_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void Serve() {
    while (true) {
      const int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      ++connections_;
      Request request;
      if (Read(conn, &request)) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(request);
        }
        const std::string response = respond_(request);
        for (size_t sent = 0; sent < response.size();) {
          const ssize_t n =
              send(conn, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
      }
      close(conn);
    }
  }

  static bool Read(int conn, Request* request) {
    std::string data;
    char buf[4096];
    size_t end = std::string::npos;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<size_t>(n));
    }
    request->head = data.substr(0, end);
    size_t length = 0;
    for (absl::string_view line : absl::StrSplit(request->head, "\r\n")) {
      if (absl::StartsWithIgnoreCase(line, "content-length:")) {
        EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &length));
      }
    }
    request->body = data.substr(end + 4);
    while (request->body.size() < length) {
      const ssize_t n = recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return false;
      request->body.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  const Responder respond_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<Request> requests_;
  std::thread thread_;
};

std::string Response(int status, absl::string_view extra_headers = "",
                     absl::string_view body = "") {
  return absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ", body.size(),
                      "\r\nConnection: close\r\n", extra_headers, "\r\n", body);
}

PostRequest RequestTo(const TestServer& server, absl::string_view host = "127.0.0.1",
                      absl::string_view address = "127.0.0.1") {
  PostRequest request;
  request.host = std::string(host);
  request.port = server.port();
  request.url = absl::StrCat("http://", host, ":", server.port(), "/hook");
  request.address = *IpAddress::Parse(address);
  request.headers = {{"webhook-id", "msg_1"},
                     {"webhook-timestamp", "1800000000"},
                     {"webhook-signature", "v1,abc"}};
  request.body = R"({"type":"operation.completed"})";
  return request;
}

TEST(CurlPosterTest, PostsTheSignedBodyAndReturnsTheStatus) {
  TestServer server([](const TestServer::Request&) { return Response(204); });
  CurlPoster poster;
  PostResult result = poster.Post(RequestTo(server));
  EXPECT_EQ(result.http_status, 204);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.retry_after, std::nullopt);
  ASSERT_EQ(server.requests().size(), 1u);
  const TestServer::Request request = server.requests()[0];
  EXPECT_TRUE(absl::StartsWith(request.head, "POST /hook HTTP/1.1\r\n")) << request.head;
  const std::string head = absl::AsciiStrToLower(request.head);
  EXPECT_THAT(head, HasSubstr("\r\ncontent-type: application/json"));
  EXPECT_THAT(head, HasSubstr("\r\nuser-agent: longrun-webhooks/1"));
  EXPECT_THAT(head, HasSubstr("\r\nwebhook-id: msg_1"));
  EXPECT_THAT(head, HasSubstr("\r\nwebhook-timestamp: 1800000000"));
  EXPECT_THAT(head, HasSubstr("\r\nwebhook-signature: v1,abc"));
  EXPECT_EQ(request.body, R"({"type":"operation.completed"})");
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlPosterTest, ErrorStatusesAreAnswersNotErrors) {
  for (int status : {500, 410, 404}) {
    TestServer server([status](const TestServer::Request&) { return Response(status); });
    PostResult result = CurlPoster().Post(RequestTo(server));
    EXPECT_EQ(result.http_status, status);
    EXPECT_EQ(result.error, "");
  }
}

TEST(CurlPosterTest, RedirectsAreNotFollowed) {
  std::atomic<int> hits{0};
  TestServer* self = nullptr;
  TestServer server([&](const TestServer::Request&) {
    ++hits;
    return Response(302, absl::StrCat("Location: http://127.0.0.1:", self->port(), "/other\r\n"));
  });
  self = &server;
  PostResult result = CurlPoster().Post(RequestTo(server));
  EXPECT_EQ(result.http_status, 302);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(hits.load(), 1);
}

TEST(CurlPosterTest, RetryAfterIsReturned) {
  TestServer seconds([](const TestServer::Request&) {
    return Response(429, "Retry-After: 120\r\n");
  });
  PostResult result = CurlPoster().Post(RequestTo(seconds));
  EXPECT_EQ(result.http_status, 429);
  EXPECT_EQ(result.retry_after, absl::Seconds(120));

  FakeClock clock(absl::FromUnixSeconds(784111717));  // Sun, 06 Nov 1994 08:48:37 GMT
  TestServer date([](const TestServer::Request&) {
    return Response(503, "Retry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  });
  result = CurlPoster({}, clock).Post(RequestTo(date));
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.retry_after, absl::Seconds(60));
}

TEST(CurlPosterTest, ASlowReceiverHitsTheTimeout) {
  TestServer* self = nullptr;
  TestServer server([&](const TestServer::Request&) {
    self->WaitForRelease();
    return Response(200);
  });
  self = &server;
  CurlPoster poster({.total_timeout = absl::Milliseconds(300)});
  PostResult result = poster.Post(RequestTo(server));
  server.Release();
  EXPECT_EQ(result.http_status, 0);
  EXPECT_THAT(result.error, HasSubstr("imed out"));
}

TEST(CurlPosterTest, ReadsAtMostTheResponseLimitAndKeepsTheStatus) {
  const std::string big(1 << 20, 'x');
  TestServer server([&](const TestServer::Request&) { return Response(200, "", big); });
  PostResult result = CurlPoster().Post(RequestTo(server));
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.response_bytes, 64 << 10);
}

TEST(CurlPosterTest, ConnectsToThePinnedAddressNotTheName) {
  TestServer server([](const TestServer::Request&) { return Response(200); });
  // The name does not resolve at all; the pin alone takes the request to the server, and
  // the Host header still names the URL's host.
  PostResult result =
      CurlPoster().Post(RequestTo(server, "webhook.invalid", "127.0.0.1"));
  EXPECT_EQ(result.http_status, 200) << result.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(absl::AsciiStrToLower(server.requests()[0].head),
              HasSubstr(absl::StrCat("\r\nhost: webhook.invalid:", server.port())));
}

TEST(CurlPosterTest, SocketGuardRefusesAnyOtherAddress) {
  TestServer server([](const TestServer::Request&) { return Response(200); });
  // The pin wins over a literal host too: the connection goes to 127.0.0.2, where nothing
  // listens.
  PostResult literal = CurlPoster().Post(RequestTo(server, "127.0.0.1", "127.0.0.2"));
  EXPECT_EQ(literal.http_status, 0);
  EXPECT_NE(literal.error, "");
  // Without the resolve pin libcurl resolves "localhost" itself; the guard still refuses.
  PostResult resolved = CurlPoster({.pin_with_resolve = false})
                            .Post(RequestTo(server, "localhost", "127.0.0.2"));
  EXPECT_EQ(resolved.http_status, 0);
  EXPECT_THAT(resolved.error, HasSubstr(" refused: not the vetted address 127.0.0.2"));
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlPosterTest, ConnectionRefusedIsAnError) {
  int port = 0;
  {
    TestServer closed([](const TestServer::Request&) { return Response(200); });
    port = closed.port();
  }
  PostRequest request;
  request.host = "127.0.0.1";
  request.port = port;
  request.url = absl::StrCat("http://127.0.0.1:", port, "/");
  request.address = *IpAddress::Parse("127.0.0.1");
  PostResult result = CurlPoster().Post(request);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_NE(result.error, "");
}

TEST(ParseRetryAfterTest, SecondsAndDates) {
  const absl::Time now = absl::FromUnixSeconds(784111777);  // 08:49:37
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter(" 30 ", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:50:37 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:50:37 1994", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("12abc", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
}

}  // namespace
}  // namespace longrun::webhook
