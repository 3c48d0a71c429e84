// HttpServer: longrun-api's HTTP/JSON front end (--http-listen; docs/API.md, "HTTP/JSON").
//
// Boost.Beast over one Boost.Asio io_context run by `io_threads` threads; every connection
// runs on its own strand, so there is no thread per connection and a server-sent-event
// stream costs a socket and a few buffers. The routes call the code the gRPC services call:
// OperationsLogic on the executor (never on an I/O thread), the SubmitBatcher for Submit,
// WatchHub subscriptions (HubCallBase) for :wait and :watch, an EventCursorReader woken by
// the EventPoller for /v1/events; their results are posted back to the connection's strand. Auth, scopes and per-tenant rate limits are the gRPC ones
// (AuthorizeCall with each route's gRPC method).
//
// Hardening: request headers over `max_header_bytes` get 431, a body over `max_body_bytes`
// 413 (refused from its Content-Length, before it is read), a request whose header is not
// complete `header_timeout` after its first byte (slowloris) and a keep-alive connection idle
// for `idle_timeout` are closed, and connections beyond `max_connections` are closed at once.
#ifndef LONGRUN_SERVICES_API_HTTP_HTTP_SERVER_H_
#define LONGRUN_SERVICES_API_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/api/api_deps.h"
#include "services/api/auth_interceptor.h"

namespace longrun::api::http {

struct HttpServerConfig {
  std::string listen;  // HOST:PORT (port 0: the kernel picks one)
  int io_threads = 2;
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = (1 << 20) + (64 << 10);
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(30);
  int max_connections = 10000;
  absl::Duration heartbeat = absl::Seconds(15);  // SSE comment lines
};

class HttpServer {
 public:
  // Binds and starts serving. `auth`: the gRPC interceptor's configuration (its table is not
  // used), or nullptr with --auth=none (every caller is Caller{.admin = true}, as over gRPC).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerConfig config, ApiDeps deps,
                                                           const AuthInterceptorConfig* auth);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // /readyz answers 503 once this is false (SIGTERM), like the gRPC health status.
  void SetServing(bool serving);
  // Stops accepting, lets requests in progress and SSE streams finish for up to `grace` (call
  // WatchHub::Shutdown and EventPoller::Close first: they end the streams with an
  // `event: error` saying how to resume), then stops the I/O threads. Idempotent.
  // Call it before the executor, batcher and hub are destroyed; replies they post later are
  // dropped.
  void Shutdown(absl::Duration grace);

  struct State;

 private:
  HttpServer() = default;
  class Impl;
  std::shared_ptr<State> state_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace longrun::api::http

#endif  // LONGRUN_SERVICES_API_HTTP_HTTP_SERVER_H_
