#include "services/api/http/http_util.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/text.h"
#include "libs/store/event_log.h"

namespace longrun::api::http {
namespace {

constexpr absl::string_view kCollection = "/v1/operations";

}  // namespace

Route MatchPath(absl::string_view path) {
  if (path == "/healthz") return {RouteKind::kHealthz, ""};
  if (path == "/readyz") return {RouteKind::kReadyz, ""};
  if (path == "/") return {RouteKind::kConsole, "index.html"};
  if (absl::string_view file = path; absl::ConsumePrefix(&file, "/console/") && !file.empty() &&
                                     !absl::StrContains(file, '/')) {
    return {RouteKind::kConsole, std::string(file)};
  }
  if (path == kCollection || path == "/v1/operations/") return {RouteKind::kOperations, ""};
  if (path == "/v1/events") return {RouteKind::kEvents, ""};
  absl::string_view rest = path;
  if (!absl::ConsumePrefix(&rest, kCollection) || !absl::ConsumePrefix(&rest, "/") ||
      rest.empty()) {
    return {};
  }
  RouteKind kind = RouteKind::kOperation;
  if (absl::ConsumeSuffix(&rest, "/result")) {
    kind = RouteKind::kResult;
  } else if (absl::ConsumeSuffix(&rest, ":cancel")) {
    kind = RouteKind::kCancel;
  } else if (absl::ConsumeSuffix(&rest, ":wait")) {
    kind = RouteKind::kWait;
  } else if (absl::ConsumeSuffix(&rest, ":watch")) {
    kind = RouteKind::kWatch;
  }
  // One segment only; a custom verb we do not have ("{id}:frobnicate") is not a route.
  if (rest.empty() || absl::StrContains(rest, '/') || absl::StrContains(rest, ':')) return {};
  absl::StatusOr<std::string> id = PercentDecode(rest, /*plus_is_space=*/false);
  if (!id.ok() || id->empty() || absl::StrContains(*id, '/')) return {};
  return {kind, *std::move(id)};
}

absl::string_view AllowedMethods(RouteKind kind) {
  switch (kind) {
    case RouteKind::kOperations:
      return "GET, POST";
    case RouteKind::kOperation:
      return "GET, DELETE";
    case RouteKind::kCancel:
      return "POST";
    case RouteKind::kHealthz:
    case RouteKind::kReadyz:
    case RouteKind::kConsole:
    case RouteKind::kResult:
    case RouteKind::kWait:
    case RouteKind::kWatch:
    case RouteKind::kEvents:
      return "GET";
    case RouteKind::kNotFound:
      break;
  }
  return "";
}

bool MethodAllowed(RouteKind kind, absl::string_view method) {
  for (absl::string_view m : absl::StrSplit(AllowedMethods(kind), ", ", absl::SkipEmpty())) {
    if (m == method) return true;
  }
  return false;
}

absl::string_view GrpcMethodFor(RouteKind kind, absl::string_view method) {
  switch (kind) {
    case RouteKind::kOperations:
      return method == "POST" ? "/longrun.v1.Operations/Submit"
                              : "/longrun.v1.Operations/ListOperations";
    case RouteKind::kOperation:
      return method == "DELETE" ? "/longrun.v1.Operations/DeleteOperation"
                                : "/longrun.v1.Operations/GetOperation";
    case RouteKind::kResult:
      return "/longrun.v1.Operations/GetOperation";
    case RouteKind::kCancel:
      return "/longrun.v1.Operations/CancelOperation";
    case RouteKind::kWait:
      return "/longrun.v1.Operations/WaitOperation";
    case RouteKind::kWatch:
      return "/longrun.v1.Operations/WatchOperation";
    case RouteKind::kEvents:
      return "/longrun.v1.Operations/WatchOperations";
    case RouteKind::kHealthz:
    case RouteKind::kReadyz:
    case RouteKind::kConsole:
    case RouteKind::kNotFound:
      break;
  }
  return "";
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int hi = i + 2 < text.size() ? HexDigitValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError("malformed percent escape in the request target");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<Target> ParseTarget(absl::string_view target) {
  Target out;
  const size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q == absl::string_view::npos) return out;
  for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = PercentDecode(kv.first, true);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = PercentDecode(kv.second, true);
    if (!value.ok()) return value.status();
    out.query[*std::move(key)] = *std::move(value);
  }
  return out;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

absl::string_view ReasonPhrase(int http_status) {
  switch (http_status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

std::string ErrorJson(int http_status, absl::string_view grpc_status_name,
                      absl::string_view message) {
  return absl::StrCat("{\"error\":{\"code\":", http_status, ",\"message\":", JsonQuote(message),
                      ",\"status\":", JsonQuote(grpc_status_name), ",\"details\":[]}}");
}

std::string ErrorJson(const absl::Status& status) {
  return ErrorJson(HttpStatusFor(status.code()), absl::StatusCodeToString(status.code()),
                   status.message());
}

int64_t RetryAfterSeconds(absl::Duration delay) {
  return std::max<int64_t>(1, std::llround(std::ceil(absl::ToDoubleSeconds(delay))));
}

std::string StatusUrl(absl::string_view id) { return absl::StrCat(kCollection, "/", id); }
std::string ResultUrl(absl::string_view id) { return absl::StrCat(StatusUrl(id), "/result"); }
std::string ResultLink(absl::string_view id) {
  return absl::StrCat("<", ResultUrl(id), ">; rel=\"result\"");
}

bool WantsRedirect(absl::string_view prefer_header,
                   const std::map<std::string, std::string>& query) {
  if (auto it = query.find("redirect"); it != query.end()) {
    if (absl::EqualsIgnoreCase(it->second, "true") || it->second == "1") return true;
  }
  for (absl::string_view pref : absl::StrSplit(prefer_header, ',')) {
    pref = absl::StripAsciiWhitespace(pref);
    pref = pref.substr(0, pref.find(';'));  // preference parameters are ignored
    std::string p = absl::AsciiStrToLower(absl::StripAsciiWhitespace(pref));
    p.erase(std::remove(p.begin(), p.end(), ' '), p.end());
    if (p == "return=minimal") return true;
  }
  return false;
}

absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::EndsWith(text, "s") || !absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeout: must be a duration such as \"30s\" or \"1.5s\", got \"", text.substr(0, 40),
        "\""));
  }
  if (d < absl::ZeroDuration()) return absl::InvalidArgumentError("timeout: must not be negative");
  return d;
}

absl::StatusOr<EventsQuery> ParseEventsQuery(const std::map<std::string, std::string>& query,
                                             absl::string_view last_event_id) {
  EventsQuery out;
  if (auto it = query.find("filter"); it != query.end()) out.filter = it->second;
  absl::string_view source = "cursor";
  if (auto it = query.find("cursor"); it != query.end()) out.start_after = it->second;
  last_event_id = absl::StripAsciiWhitespace(last_event_id);
  if (!last_event_id.empty()) {
    source = "Last-Event-ID";
    out.start_after = std::string(last_event_id);
  }
  if (!out.start_after.empty() && !store::EventCursor::Decode(out.start_after).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": \"", absl::string_view(out.start_after).substr(0, 64),
        "\" is not a cursor longrun gave out; pass an event's id as it came"));
  }
  if (auto it = query.find("snapshot"); it != query.end()) {
    if (it->second == "true" || it->second == "1") {
      out.include_snapshot = true;
    } else if (it->second != "false" && it->second != "0" && !it->second.empty()) {
      return absl::InvalidArgumentError("snapshot: must be true or false");
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParseLastEventId(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return 0;
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Last-Event-ID: must be an operation version (a non-negative integer), got \"",
        text.substr(0, 40), "\""));
  }
  return v;
}

std::string SseEvent(absl::string_view id, absl::string_view event, absl::string_view data) {
  std::string out;
  if (!id.empty()) absl::StrAppend(&out, "id: ", id, "\n");
  if (!event.empty()) absl::StrAppend(&out, "event: ", event, "\n");
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    absl::StrAppend(&out, "data: ", absl::StripSuffix(line, "\r"), "\n");
  }
  out.push_back('\n');
  return out;
}

}  // namespace longrun::api::http
