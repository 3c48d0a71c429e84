#include "services/api/http/http_server.h"

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <google/protobuf/util/json_util.h>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/auth/method_scopes.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/core/ids.h"
#include "libs/core/policy.h"
#include "libs/core/trace.h"
#include "libs/rpc/convert.h"
#include "longrun/v1/operations.pb.h"
#include "services/api/http/console/console_assets.h"
#include "services/api/event_stream.h"
#include "services/api/http/http_util.h"
#include "services/api/watch_reactor.h"

namespace longrun::api::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Beast's string_view and Abseil's are different types here.
absl::string_view Sv(beast::string_view v) { return absl::string_view(v.data(), v.size()); }
beast::string_view Bv(absl::string_view v) { return beast::string_view(v.data(), v.size()); }

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

// ---- JSON ----

google::protobuf::util::JsonPrintOptions PrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // "done": false is printed
  return options;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, PrintOptions()).ok()) {
    return "{}";  // not reached for our messages (every Any type is linked in)
  }
  return out;
}

std::string OperationJson(const core::Operation& op, absl::Time now) {
  return ToJson(rpc::ToProto(op, now));
}

// ---- responses ----

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  bool close = false;  // end the connection after it
};

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Error(const absl::Status& status, std::string retry_after = "") {
  Response r = Json(HttpStatusFor(status.code()), ErrorJson(status));
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", std::move(retry_after));
  return r;
}

Response Overloaded() {
  return Error(absl::ResourceExhaustedError(
                   "server is overloaded or shutting down; retry with backoff"),
               "1");
}

// The Operation with its polling headers: Retry-After while not done, the result link once
// done.
Response OperationResponse(int status, const core::Operation& op, absl::Time now) {
  Response r = Json(status, OperationJson(op, now));
  if (op.done()) {
    r.headers.emplace_back("Link", ResultLink(op.id));
  } else {
    r.headers.emplace_back(
        "Retry-After", std::to_string(RetryAfterSeconds(core::SuggestedPollDelay(op, now))));
  }
  return r;
}

// GET .../result: the response, the error, or 202 while not done.
Response ResultResponse(const core::Operation& op, absl::Time now) {
  if (!op.done()) {
    Response r = OperationResponse(202, op, now);
    r.headers.emplace_back("Location", StatusUrl(op.id));
    return r;
  }
  if (op.state == core::State::kSucceeded) {
    return Json(200, op.response.has_value() ? ToJson(*op.response) : "{}");
  }
  absl::Status error(absl::StatusCode::kCancelled, "operation was cancelled");
  if (op.error.has_value()) {
    error = absl::Status(static_cast<absl::StatusCode>(op.error->code), op.error->message);
    if (error.ok()) error = absl::UnknownError(op.error->message);
  }
  Response r = Error(error);
  r.headers.emplace_back("Link", absl::StrCat("<", StatusUrl(op.id), ">; rel=\"status\""));
  return r;
}

// GET / and /console/{file}: the console's embedded files. The policy lets the page load
// and fetch from this origin only (no inline script, no external URL).
Response ConsoleResponse(absl::string_view file) {
  const ConsoleAsset* asset = FindConsoleAsset(file);
  if (asset == nullptr) {
    return Json(404, ErrorJson(404, "NOT_FOUND",
                               absl::StrCat("no console file ", file.substr(0, 100))));
  }
  Response r;
  r.body = std::string(asset->body);
  r.content_type = std::string(asset->content_type);
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                         "form-action 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

bhttp::response<bhttp::string_body> ToMessage(Response r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  res.reason(Bv(ReasonPhrase(r.status)));
  if (!r.body.empty()) res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

std::string Serialize(const bhttp::response<bhttp::string_body>& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

}  // namespace

// ---- shared state ----

struct HttpServer::State {
  State(HttpServerConfig c, ApiDeps d) : config(std::move(c)), deps(d) {}
  const HttpServerConfig config;
  const ApiDeps deps;
  std::optional<AuthInterceptorConfig> auth;
  std::atomic<bool> serving{true};
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};  // requests read, not yet answered (SSE excluded)
  std::atomic<int> streams{0};    // SSE streams not yet ended
};

namespace {

using State = HttpServer::State;

// ---- SSE: the socket side shared by :watch and /v1/events ----

// One text/event-stream response that took its connection over from the Session. Every
// member runs on the connection's strand; other threads only post to it. One write is in
// flight at a time: Pump() starts the next (an error, else what the stream has ready, else
// nothing), and the stream ends once its last word is written. Before anything was streamed
// an error is a plain JSON answer (a bad request, a refusal), afterwards an `event: error`.
class SseConnection {
 public:
  SseConnection(const SseConnection&) = delete;
  SseConnection& operator=(const SseConnection&) = delete;

 protected:
  SseConnection(std::shared_ptr<State> state, beast::tcp_stream stream)
      : state_(std::move(state)), stream_(std::move(stream)), timer_(stream_.get_executor()) {
    ++state_->connections;
    ++state_->streams;
    stream_.expires_never();
  }
  virtual ~SseConnection() { --state_->connections; }

  // Holds a reference for a posted handler or an asynchronous operation.
  class Keep {
   public:
    explicit Keep(SseConnection* c) : c_(c) { c_->Ref(); }
    Keep(const Keep& o) : c_(o.c_) { c_->Ref(); }
    Keep& operator=(const Keep&) = delete;
    ~Keep() { c_->Unref(); }

   private:
    SseConnection* c_;
  };

  virtual void Ref() = 0;
  virtual void Unref() = 0;
  // The next text to write ("" = nothing now); called when no write is in flight.
  virtual std::string Produce() = 0;
  // The stream ended (once, on the strand): release what it holds. Its own reference is
  // dropped right after.
  virtual void OnEnd() = 0;

  template <typename Fn>
  void Post(Fn fn) {
    net::post(stream_.get_executor(), [this, keep = Keep(this), fn = std::move(fn)]() mutable {
      fn();
    });
  }

  void Pump() {
    if (ended_ || writing_) return;
    if (error_pending_.has_value()) {
      if (error_pending_->empty()) return End();  // written
      std::string text = std::move(*error_pending_);
      error_pending_ = std::string();
      return Send(std::move(text));
    }
    std::string text = Produce();
    if (!text.empty()) return Send(std::move(text));
    if (close_after_write_) End();
  }

  // Ends the stream with `status` (`id`: the event's id, for EventSource's lastEventId).
  void Fail(const absl::Status& status, absl::string_view id = "") {
    if (ended_ || error_pending_.has_value()) return;
    if (!headers_sent_) {
      error_pending_ = Serialize(ToMessage(Error(status), 11, false));
      headers_sent_ = true;
    } else {
      error_pending_ = SseEvent(id, "error", ErrorJson(status));
    }
    Pump();
  }

  // Writes the response headers now (nothing else to say yet, or about to close).
  void SendHeaders() {
    if (!headers_sent_ && !writing_) Send(std::string());
  }

  void End() {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    OnEnd();
    --state_->streams;
    Unref();  // the stream's own reference
  }

  const ApiDeps& deps() const { return state_->deps; }

  std::shared_ptr<State> state_;
  bool ended_ = false;
  bool headers_sent_ = false;
  bool close_after_write_ = false;

 private:
  void Send(std::string text) {
    if (!headers_sent_) {
      headers_sent_ = true;
      text.insert(0,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                  "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n");
      WatchForClose();
      ArmHeartbeat();
    }
    out_ = std::move(text);
    writing_ = true;
    net::async_write(stream_, net::buffer(out_),
                     [this, keep = Keep(this)](beast::error_code ec, size_t) {
                       writing_ = false;
                       if (ec) return End();
                       Pump();
                     });
  }

  // The client closing its side (or anything it sends) ends the stream.
  void WatchForClose() {
    stream_.async_read_some(net::buffer(discard_),
                            [this, keep = Keep(this)](beast::error_code ec, size_t) {
                              if (ec) return End();
                              if (!ended_) WatchForClose();
                            });
  }

  void ArmHeartbeat() {
    timer_.expires_after(Chrono(state_->config.heartbeat));
    timer_.async_wait([this, keep = Keep(this)](beast::error_code ec) {
      if (ec || ended_) return;
      if (!writing_) Send(": heartbeat\n\n");
      ArmHeartbeat();
    });
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  bool writing_ = false;
  std::optional<std::string> error_pending_;  // "" once written
  std::string out_;
  char discard_[512];
};

// ---- GET /v1/operations/{id}:watch ----

// One operation's changes, a WatchHub subscriber like WatchReactor. Latest-state coalescing
// as in WatchReactor: one write in flight, the newest state parked behind it.
class SseWatch final : public HubCallBase, public SseConnection {
 public:
  SseWatch(std::shared_ptr<State> state, Caller caller, beast::tcp_stream stream,
           int64_t resume_after, bool counted)
      : HubCallBase(state->deps, std::move(caller)),
        SseConnection(std::move(state), std::move(stream)),
        resume_after_(resume_after),
        counted_(counted) {}

  void Begin(const std::string& name) {
    absl::Time deadline = absl::InfiniteFuture();
    if (deps_.max_watch_duration < absl::InfiniteDuration()) {
      deadline = deps_.hub.clock().Now() + deps_.max_watch_duration;
    }
    if (absl::Status s = StartSubscription(name, deadline); !s.ok()) FinishWith(s);
  }

 private:
  ~SseWatch() override = default;

  void Ref() override { HubCallBase::Ref(); }
  void Unref() override { HubCallBase::Unref(); }

  void Deliver(const core::Operation& op) override {
    Post([this, op] { OnOperationLocal(op); });
  }

  void FinishWith(const absl::Status& status) override {
    finished_.store(true);
    Post([this, status] { Fail(status); });
  }

  bool Finished() override { return finished_.load(); }

  void OnDeadline() override {  // --max-watch-duration: the client reconnects with its id
    finished_.store(true);
    Post([this] { End(); });
  }

  void OnOperationLocal(const core::Operation& op) {
    if (ended_ || op.version <= offered_version_) return;
    if (op.version <= resume_after_) {
      // The client has seen this version; a finished operation has nothing more to say.
      if (op.done()) {
        close_after_write_ = true;
        SendHeaders();
        Pump();
      }
      return;
    }
    offered_version_ = op.version;
    pending_ = op;
    Pump();
  }

  std::string Produce() override {
    if (!pending_.has_value()) return "";
    const core::Operation op = std::move(*pending_);
    pending_.reset();
    if (op.done()) close_after_write_ = true;
    return SseEvent(std::to_string(op.version), "", OperationJson(op, deps_.logic.Now()));
  }

  void OnEnd() override {
    finished_.store(true);
    EndSubscription();
    if (counted_) deps_.watch_limits->Release(caller_.tenant);
  }

  const int64_t resume_after_;
  const bool counted_;
  std::atomic<bool> finished_{false};
  // Strand only.
  int64_t offered_version_ = 0;
  std::optional<core::Operation> pending_;
};

// ---- GET /v1/events ----

// Every matching operation's changes from the event log, WatchOperations over SSE: the
// EventCursorReader reads on the executor, the batch (already SSE text) is written on the
// strand, then the next read follows at once, or when the EventPoller polls a caught-up
// stream. At most one read's worth of events is held, however slow the client.
class SseEvents final : public SseConnection, public EventPoller::Stream {
 public:
  SseEvents(std::shared_ptr<State> state, Caller caller, beast::tcp_stream stream,
            EventCursorReader::Request request, bool counted)
      : SseConnection(std::move(state), std::move(stream)),
        poller_(*deps().event_poller),
        caller_(std::move(caller)),
        reader_(deps().logic, poller_.config(), caller_, std::move(request), deps().logic.Now(),
                deps().max_watch_duration),
        counted_(counted) {}

  void Begin() {
    if (!PostRead()) {
      Fail(absl::ResourceExhaustedError("server is overloaded or shutting down; retry"));
    }
  }

  // The poller's thread, its lock held: only posts.
  bool Poll() override { return PostRead(); }

 private:
  ~SseEvents() override = default;

  void Ref() override { refs_.fetch_add(1); }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Reads once on the executor (one read at a time: a read is posted only by Begin, by
  // Produce after the last batch was written, or by the poller for a parked stream).
  bool PostRead() {
    Ref();
    if (!deps().executor.Post([this] {
          Read();
          Unref();
        })) {
      Unref();
      return false;
    }
    return true;
  }

  void Read() {
    if (gone_.load()) return;  // the client left while this read was queued
    EventCursorReader::Batch batch = reader_.Next(poller_.closing());
    std::string text;
    for (const longrun::v1::OperationEvent& e : batch.events) {
      absl::StrAppend(&text, SseEvent(e.cursor(), "", ToJson(e.operation())));
    }
    Post([this, text = std::move(text), caught_up = batch.caught_up, end = std::move(batch.end),
          resume = reader_.ResumeCursor()]() mutable {
      OnBatch(std::move(text), caught_up, end, resume);
    });
  }

  void OnBatch(std::string text, bool caught_up, const absl::Status& end,
               const std::string& resume) {
    awaiting_ = false;
    if (ended_) return;
    // The error event carries the resume cursor as its id: EventSource reconnects from it.
    if (!end.ok()) return Fail(end, resume);
    pending_ = std::move(text);
    caught_up_ = caught_up;
    SendHeaders();  // the stream started: a bad request can no longer be refused with JSON
    Pump();
  }

  std::string Produce() override {
    if (!pending_.empty()) return std::exchange(pending_, std::string());
    if (!awaiting_) {  // the batch is written: read again, now or when polled
      awaiting_ = true;
      if (caught_up_ || !PostRead()) poller_.Park(this);
    }
    return "";
  }

  void OnEnd() override {
    gone_.store(true);
    poller_.Remove(this);  // never polled again
    if (counted_) deps().watch_limits->Release(caller_.tenant);
  }

  EventPoller& poller_;
  const Caller caller_;
  EventCursorReader reader_;  // executor only (one read at a time)
  const bool counted_;
  std::atomic<int> refs_{1};  // the stream's own, dropped by End()
  std::atomic<bool> gone_{false};
  // Strand only.
  bool awaiting_ = true;  // a read is posted or the stream is parked
  bool caught_up_ = false;
  std::string pending_;
};

// ---- one connection ----

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    ++state_->connections;
  }
  ~Session() { --state_->connections; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Thread-safe: writes `r` on the connection's strand.
  void Reply(Response r) {
    net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
      self->Write(std::move(r), /*counted=*/true);
    });
  }

 private:
  const ApiDeps& deps() const { return state_->deps; }

  // Between requests: wait for the next one's first byte (idle timeout), then give its
  // header the header timeout.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHeader();
    stream_.expires_after(Chrono(state_->config.idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(state_->config.max_header_bytes);
    parser_->body_limit(state_->config.max_body_bytes);
    stream_.expires_after(Chrono(state_->config.header_timeout));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
      // curl asks before sending a body over 1 KiB.
      continue_ = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(Chrono(state_->config.write_timeout));
      net::async_write(stream_, net::buffer(continue_),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    if (parser_->is_done()) return OnRequest();
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(Chrono(state_->config.body_timeout));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->OnRequest();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return Fail(431, "RESOURCE_EXHAUSTED",
                  absl::StrCat("request header fields exceed ", state_->config.max_header_bytes,
                               " bytes"));
    }
    if (ec == bhttp::error::body_limit) {
      return Fail(413, "RESOURCE_EXHAUSTED",
                  absl::StrCat("request body exceeds ", state_->config.max_body_bytes,
                               " bytes (Submit input is limited to --max-input-bytes)"));
    }
    // Timeouts (slowloris), a closed connection: nothing to answer.
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || (buffer_.size() == 0 && !parser_->got_some())) {
      return Close();
    }
    Fail(400, "INVALID_ARGUMENT", absl::StrCat("malformed HTTP request: ", ec.message()));
  }

  // Answers a request that cannot be read and closes the connection.
  void Fail(int status, absl::string_view grpc_status, absl::string_view message) {
    Response r = Json(status, ErrorJson(status, grpc_status, message));
    r.close = true;
    Write(std::move(r), /*counted=*/false);
  }

  void Write(Response r, bool counted) {
    const bool keep = !r.close && keep_alive_ && !state_->stopping.load();
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        ToMessage(std::move(r), version_, keep));
    stream_.expires_after(Chrono(state_->config.write_timeout));
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep, counted](beast::error_code ec,
                                                                       size_t) {
                         if (counted) --self->state_->in_flight;
                         if (ec) return self->Close();
                         if (!keep) return self->LingeringClose();
                         self->WaitForRequest();
                       });
  }

  // After a refusal the client may still be sending (a body we did not read): stop sending,
  // drain briefly, then close, so the client reads our answer instead of a reset.
  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // ---- routing ----

  void OnRequest() {
    bhttp::request<bhttp::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    stream_.expires_never();  // the answer may take a while (:wait); the write has its own
    ++state_->in_flight;
    std::optional<Response> now = Dispatch(req);
    if (now.has_value()) Write(*std::move(now), /*counted=*/true);
  }

  // Answers at once (a value) or later through Reply (nullopt).
  std::optional<Response> Dispatch(bhttp::request<bhttp::string_body>& req) {
    absl::StatusOr<Target> target = ParseTarget(Sv(req.target()));
    if (!target.ok()) return Error(target.status());
    const Route route = MatchPath(target->path);
    if (route.kind == RouteKind::kNotFound) {
      return Json(404, ErrorJson(404, "NOT_FOUND",
                                 absl::StrCat("no route for ", target->path.substr(0, 200))));
    }
    const std::string method(req.method_string());
    if (!MethodAllowed(route.kind, method)) {
      Response r = Json(405, ErrorJson(405, "UNIMPLEMENTED",
                                        absl::StrCat(method.substr(0, 20), " is not allowed on ",
                                                     target->path.substr(0, 200))));
      r.headers.emplace_back("Allow", std::string(AllowedMethods(route.kind)));
      return r;
    }
    if (route.kind == RouteKind::kHealthz) return Json(200, "{\"status\":\"SERVING\"}");
    if (route.kind == RouteKind::kConsole) return ConsoleResponse(route.id);  // open, like probes
    if (route.kind == RouteKind::kReadyz) {
      return state_->serving.load() ? Json(200, "{\"status\":\"SERVING\"}")
                                    : Json(503, "{\"status\":\"NOT_SERVING\"}");
    }
    // The caller, exactly as the gRPC interceptor decides it for the route's gRPC method.
    Caller caller{.admin = true};
    if (state_->auth.has_value()) {
      const auth::MethodRule rule =
          auth::RuleForMethod(GrpcMethodFor(route.kind, method), state_->auth->rules);
      AuthDecision decision = AuthorizeCall(*state_->auth, rule, Sv(req[bhttp::field::authorization]));
      if (!decision.caller.ok()) return Error(decision.caller.status(), decision.retry_after);
      caller = *std::move(decision.caller);
    }
    const std::string name = core::OperationName(route.id);
    switch (route.kind) {
      case RouteKind::kOperations:
        if (method == "POST") return Submit(req, caller);
        return List(target->query, caller);
      case RouteKind::kOperation:
        if (method == "DELETE") {
          return OnExecutor(caller, [name](OperationsLogic& logic, const Caller& c) {
            absl::Status s = logic.Delete(c, name);
            return s.ok() ? Json(200, "{}") : Error(s);
          });
        }
        return OnExecutor(caller, [name, redirect = WantsRedirect(
                                             Sv(req[bhttp::field::prefer]), target->query)](
                                      OperationsLogic& logic, const Caller& c) {
          absl::StatusOr<core::Operation> op = logic.Get(c, name);
          if (!op.ok()) return Error(op.status());
          if (op->done() && redirect) {
            Response r = Json(303, "");
            r.headers.emplace_back("Location", ResultUrl(op->id));
            r.headers.emplace_back("Link", ResultLink(op->id));
            return r;
          }
          return OperationResponse(200, *op, logic.Now());
        });
      case RouteKind::kResult:
        return OnExecutor(caller, [name](OperationsLogic& logic, const Caller& c) {
          absl::StatusOr<core::Operation> op = logic.Get(c, name);
          return op.ok() ? ResultResponse(*op, logic.Now()) : Error(op.status());
        });
      case RouteKind::kCancel:
        return OnExecutor(caller, [name](OperationsLogic& logic, const Caller& c) {
          absl::StatusOr<core::Operation> op = logic.Cancel(c, name);
          return op.ok() ? OperationResponse(200, *op, logic.Now()) : Error(op.status());
        });
      case RouteKind::kWait:
        return Wait(target->query, caller, name);
      case RouteKind::kWatch:
        return Watch(req, caller, name);
      case RouteKind::kEvents:
        return Events(req, target->query, caller);
      default:
        break;
    }
    return Error(absl::InternalError("unrouted request"));
  }

  // fn(logic, caller) -> Response runs on the executor; its answer comes back here.
  template <typename Fn>
  std::optional<Response> OnExecutor(Caller caller, Fn fn) {
    OperationsLogic& logic = deps().logic;
    const bool posted = deps().executor.Post(
        [self = shared_from_this(), &logic, caller = std::move(caller), fn = std::move(fn)] {
          self->Reply(fn(logic, caller));
        });
    if (!posted) return Overloaded();
    return std::nullopt;
  }

  std::optional<Response> Submit(const bhttp::request<bhttp::string_body>& req,
                                 const Caller& caller) {
    longrun::v1::SubmitRequest request;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (auto s = google::protobuf::util::JsonStringToMessage(req.body(), &request, options);
        !s.ok()) {
      return Error(absl::InvalidArgumentError(absl::StrCat(
          "body: not a SubmitRequest in JSON (", std::string(s.message()).substr(0, 300), ")")));
    }
    const std::string key(req["Idempotency-Key"]);
    if (!key.empty()) {
      if (request.request_id().empty()) {
        request.set_request_id(key);
      } else if (request.request_id() != key) {
        return Error(absl::InvalidArgumentError(
            "request_id: differs from the Idempotency-Key header; send one of them, or the "
            "same value in both"));
      }
    }
    absl::StatusOr<store::OperationInsertParams> params =
        [&]() -> absl::StatusOr<store::OperationInsertParams> {
      LONGRUN_ASSIGN_OR_RETURN(core::SubmitSpec spec, rpc::FromProto(request));
      thread_local absl::BitGen gen;
      spec.trace_id = core::TraceIdForSubmit(Sv(req["traceparent"]), gen);
      return deps().logic.PrepareSubmit(caller, spec);
    }();
    if (!params.ok()) return Error(params.status());
    OperationsLogic& logic = deps().logic;
    const bool queued = deps().submit_batcher.Enqueue(
        *std::move(params), [self = shared_from_this(),
                             &logic](absl::StatusOr<store::OperationInsertResult> result) {
          absl::StatusOr<core::Operation> op = OperationsLogic::SubmitResult(std::move(result));
          if (!op.ok()) return self->Reply(Error(op.status()));
          Response r = OperationResponse(202, *op, logic.Now());
          r.headers.emplace_back("Location", StatusUrl(op->id));
          self->Reply(std::move(r));
        });
    if (!queued) return Overloaded();
    return std::nullopt;
  }

  std::optional<Response> List(const std::map<std::string, std::string>& query,
                               const Caller& caller) {
    auto param = [&query](absl::string_view a, absl::string_view b) -> std::string {
      if (auto it = query.find(std::string(a)); it != query.end()) return it->second;
      if (auto it = query.find(std::string(b)); it != query.end()) return it->second;
      return "";
    };
    ListRequest request{.filter = param("filter", "filter"),
                        .page_token = param("page_token", "pageToken")};
    if (const std::string size = param("page_size", "pageSize"); !size.empty()) {
      if (!absl::SimpleAtoi(size, &request.page_size)) {
        return Error(absl::InvalidArgumentError("page_size: must be an integer"));
      }
    }
    return OnExecutor(caller, [request](OperationsLogic& logic, const Caller& c) {
      absl::StatusOr<ListResult> result = logic.List(c, request);
      if (!result.ok()) return Error(result.status());
      longrun::v1::ListOperationsResponse out;
      const absl::Time now = logic.Now();
      for (const core::Operation& op : result->operations) {
        *out.add_operations() = rpc::ToProto(op, now);
      }
      out.set_next_page_token(result->next_page_token);
      return Json(200, ToJson(out));
    });
  }

  std::optional<Response> Wait(const std::map<std::string, std::string>& query,
                               const Caller& caller, const std::string& name);

  std::optional<Response> Watch(const bhttp::request<bhttp::string_body>& req,
                                const Caller& caller, const std::string& name) {
    absl::StatusOr<int64_t> resume = ParseLastEventId(Sv(req["Last-Event-ID"]));
    if (!resume.ok()) return Error(resume.status());
    absl::StatusOr<bool> counted = AcquireWatch(deps().watch_limits, caller.tenant, "poll");
    if (!counted.ok()) return Error(counted.status());
    // The stream takes the connection over; this session ends here.
    --state_->in_flight;
    auto* watch = new SseWatch(state_, caller, std::move(stream_), *resume, *counted);
    watch->Begin(name);
    return std::nullopt;
  }

  std::optional<Response> Events(const bhttp::request<bhttp::string_body>& req,
                                 const std::map<std::string, std::string>& query,
                                 const Caller& caller) {
    if (deps().event_poller == nullptr) {
      return Error(absl::UnimplementedError("this server has no event stream"));
    }
    absl::StatusOr<EventsQuery> q = ParseEventsQuery(query, Sv(req["Last-Event-ID"]));
    if (!q.ok()) return Error(q.status());
    absl::StatusOr<bool> counted = AcquireWatch(deps().watch_limits, caller.tenant);
    if (!counted.ok()) return Error(counted.status());
    --state_->in_flight;  // the stream takes the connection over
    auto* events = new SseEvents(state_, caller, std::move(stream_),
                                 {.filter = q->filter,
                                  .start_after = q->start_after,
                                  .include_snapshot = q->include_snapshot,
                                  .resume_field = "cursor"},
                                 *counted);
    events->Begin();
    return std::nullopt;
  }

  friend class HttpWait;

  beast::tcp_stream stream_;
  std::shared_ptr<State> state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::string continue_;
};

// ---- GET /v1/operations/{id}:wait ----

// A WatchHub subscriber like WaitReactor: answers when the operation is done, or with its
// latest state when the timeout (at most --max-wait) passes.
class HttpWait final : public HubCallBase {
 public:
  HttpWait(ApiDeps deps, Caller caller, std::shared_ptr<Session> session)
      : HubCallBase(deps, std::move(caller)), session_(std::move(session)) {}

  void Begin(const std::string& name, absl::Time deadline) {
    if (absl::Status s = StartSubscription(name, deadline); !s.ok()) FinishWith(s);
  }

 private:
  ~HttpWait() override = default;

  void Deliver(const core::Operation& op) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    if (latest_.has_value() && op.version <= latest_->version) return;
    latest_ = op;
    if (op.done()) RespondLocked(OperationResponse(200, op, deps_.logic.Now()));
  }
  void OnDeadline() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    RespondLocked(latest_.has_value()
                      ? OperationResponse(200, *latest_, deps_.logic.Now())
                      : Error(absl::DeadlineExceededError(
                            "timed out before the operation could be read")));
  }
  void FinishWith(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finished_) RespondLocked(Error(status));
  }
  bool Finished() override {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

  // Possibly on the hub thread with its lock held: only posts.
  void RespondLocked(Response r) {
    finished_ = true;
    session_->Reply(std::move(r));
    net::post(session_->stream_.get_executor(), [this] {
      EndSubscription();
      Unref();
    });
  }

  std::shared_ptr<Session> session_;
  std::mutex mu_;
  bool finished_ = false;
  std::optional<core::Operation> latest_;
};

std::optional<Response> Session::Wait(const std::map<std::string, std::string>& query,
                                      const Caller& caller, const std::string& name) {
  absl::Duration wait = deps().max_wait;
  if (auto it = query.find("timeout"); it != query.end()) {
    absl::StatusOr<absl::Duration> timeout = ParseTimeout(it->second);
    if (!timeout.ok()) return Error(timeout.status());
    wait = std::min(wait, *timeout);
  }
  auto* call = new HttpWait(deps(), caller, shared_from_this());
  call->Begin(name, deps().hub.clock().Now() + wait);
  return std::nullopt;
}

}  // namespace

// ---- the listener ----

class HttpServer::Impl {
 public:
  explicit Impl(std::shared_ptr<State> state)
      : state_(std::move(state)), acceptor_(net::make_strand(ioc_)), retry_(ioc_) {}

  absl::StatusOr<int> Listen() {
    const std::string& listen = state_->config.listen;
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--http-listen: want HOST:PORT, got \"", listen, "\""));
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, listen.substr(colon + 1),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--http-listen: cannot resolve \"", listen, "\": ", ec.message()));
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("--http-listen: cannot listen on ", listen, ": ", ec.message()));
    }
    return acceptor_.local_endpoint().port();
  }

  void Run() {
    Accept();
    const int n = std::max(1, state_->config.io_threads);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  void Shutdown(absl::Duration grace) {
    if (stopped_) return;
    stopped_ = true;
    state_->stopping.store(true);
    std::promise<void> closed;
    net::post(acceptor_.get_executor(), [this, &closed] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      closed.set_value();
    });
    closed.get_future().wait();
    const absl::Time deadline = absl::Now() + grace;
    // SSE streams too: WatchHub::Shutdown and EventPoller::Close have told them to end
    // with an `event: error` the client reconnects after.
    while ((state_->in_flight.load() > 0 || state_->streams.load() > 0) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ioc_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec,
                                                         tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // Out of file descriptors, say: try again shortly rather than spin.
        LONGRUN_LOG(kWarning, "http_accept_failed", {{"error", ec.message()}});
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait(net::bind_executor(acceptor_.get_executor(),
                                             [this](beast::error_code e) {
                                               if (!e) Accept();
                                             }));
        return;
      }
      if (state_->connections.load() >= state_->config.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);  // over the cap: refuse at once
      } else {
        std::make_shared<Session>(std::move(socket), state_)->Start();
      }
      Accept();
    });
  }

  std::shared_ptr<State> state_;
  net::io_context ioc_;  // before everything that uses it
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerConfig config,
                                                              ApiDeps deps,
                                                              const AuthInterceptorConfig* auth) {
  auto state = std::make_shared<State>(std::move(config), deps);
  if (auth != nullptr) state->auth = *auth;
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>(state);
  LONGRUN_ASSIGN_OR_RETURN(server->port_, server->impl_->Listen());
  server->impl_->Run();
  server->state_ = std::move(state);
  return server;
}

HttpServer::~HttpServer() {
  if (impl_ != nullptr) impl_->Shutdown(absl::ZeroDuration());
}

void HttpServer::SetServing(bool serving) { state_->serving.store(serving); }

void HttpServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace longrun::api::http
