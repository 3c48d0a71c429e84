// The pure parts of the HTTP/JSON front end (docs/API.md, "HTTP/JSON"): routing, query
// strings, the gRPC -> HTTP status mapping, the Google JSON error shape and the polling
// headers. No sockets here, so every rule is unit-tested without a server.
#ifndef LONGRUN_SERVICES_API_HTTP_HTTP_UTIL_H_
#define LONGRUN_SERVICES_API_HTTP_HTTP_UTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::api::http {

// What a request path names. The id is percent-decoded, not yet validated (the logic's
// ParseOperationName does that, so HTTP and gRPC refuse the same ids with the same words).
enum class RouteKind {
  kNotFound,
  kHealthz,     // /healthz
  kReadyz,      // /readyz
  kConsole,     // / and /console/{file}: id is the file ("index.html" for /)
  kOperations,  // /v1/operations
  kOperation,   // /v1/operations/{id}
  kResult,      // /v1/operations/{id}/result
  kCancel,      // /v1/operations/{id}:cancel
  kWait,        // /v1/operations/{id}:wait
  kWatch,       // /v1/operations/{id}:watch
  kEvents,      // /v1/events (server-sent events of every matching operation)
};

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string id;
};

// `path`: the request target without its query string.
Route MatchPath(absl::string_view path);

// The methods a route answers, as the `Allow` header lists them ("GET, POST").
absl::string_view AllowedMethods(RouteKind kind);
bool MethodAllowed(RouteKind kind, absl::string_view method);

// The gRPC method whose scope and rate limit apply to `method` on `kind`
// ("/longrun.v1.Operations/Submit"), or "" for an open route (health probes).
absl::string_view GrpcMethodFor(RouteKind kind, absl::string_view method);

// A request target split into its path and its decoded query parameters (`+` is a space;
// the last of repeated keys wins). INVALID_ARGUMENT for a malformed percent escape.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};
absl::StatusOr<Target> ParseTarget(absl::string_view target);
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space);

// The standard mapping of canonical codes to HTTP statuses (google.rpc.Code's comments):
// OK 200, INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS/ABORTED 409, RESOURCE_EXHAUSTED 429,
// CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, the rest 500.
int HttpStatusFor(absl::StatusCode code);
// "Not Found", ..., "Client Closed Request" for 499.
absl::string_view ReasonPhrase(int http_status);

// {"error": {"code": 404, "message": "...", "status": "NOT_FOUND", "details": []}}
std::string ErrorJson(const absl::Status& status);
// The same shape for a status known only by its HTTP code (431, 413, 405, 404 of a path).
std::string ErrorJson(int http_status, absl::string_view grpc_status_name,
                      absl::string_view message);

// Retry-After in whole seconds, at least 1 (as the gRPC `retry-after` header).
int64_t RetryAfterSeconds(absl::Duration delay);

// "/v1/operations/{id}", "/v1/operations/{id}/result".
std::string StatusUrl(absl::string_view id);
std::string ResultUrl(absl::string_view id);
// `Link: </v1/operations/{id}/result>; rel="result"`.
std::string ResultLink(absl::string_view id);

// A done status answers 303 to its result: `Prefer` holds the return=minimal preference
// (as in `Prefer: respond-async, return=minimal`), or the query has redirect=true.
bool WantsRedirect(absl::string_view prefer_header, const std::map<std::string, std::string>& query);

// :wait's `timeout`: a proto3 JSON duration ("30s", "1.5s") or plain seconds ("30").
// INVALID_ARGUMENT naming the parameter for anything else or a negative value.
absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text);

// GET /v1/events: the stream's start (EventCursorReader::Request) from its query (`filter`,
// `cursor`, `snapshot`) and its `Last-Event-ID` header, which wins over `cursor` (a browser's
// EventSource sends it when it reconnects to the same URL). INVALID_ARGUMENT naming the
// parameter for a malformed cursor or a `snapshot` that is not a boolean; the filter is
// parsed when the stream starts (the same words as WatchOperations).
struct EventsQuery {
  std::string filter;
  std::string start_after;
  bool include_snapshot = false;
};
absl::StatusOr<EventsQuery> ParseEventsQuery(const std::map<std::string, std::string>& query,
                                             absl::string_view last_event_id);

// SSE `Last-Event-ID` (a version): "" is none (0). INVALID_ARGUMENT for anything but a
// non-negative integer.
absl::StatusOr<int64_t> ParseLastEventId(absl::string_view text);

// One server-sent event: `id: <id>` (if any), `event: <event>` (if any), the data (one
// `data:` line per line of it), and the blank line that ends it.
std::string SseEvent(absl::string_view id, absl::string_view event, absl::string_view data);

}  // namespace longrun::api::http

#endif  // LONGRUN_SERVICES_API_HTTP_HTTP_UTIL_H_
