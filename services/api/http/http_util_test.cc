#include "services/api/http/http_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace longrun::api::http {
namespace {

using ::testing::HasSubstr;

constexpr char kId[] = "0190a3c2-7b1e-7cde-8f00-0123456789ab";

TEST(MatchPath, Routes) {
  EXPECT_EQ(MatchPath("/healthz").kind, RouteKind::kHealthz);
  EXPECT_EQ(MatchPath("/readyz").kind, RouteKind::kReadyz);
  EXPECT_EQ(MatchPath("/v1/operations").kind, RouteKind::kOperations);
  EXPECT_EQ(MatchPath("/v1/events").kind, RouteKind::kEvents);
  const std::string base = std::string("/v1/operations/") + kId;
  for (auto [suffix, kind] : std::vector<std::pair<std::string, RouteKind>>{
           {"", RouteKind::kOperation},
           {"/result", RouteKind::kResult},
           {":cancel", RouteKind::kCancel},
           {":wait", RouteKind::kWait},
           {":watch", RouteKind::kWatch}}) {
    const Route r = MatchPath(base + suffix);
    EXPECT_EQ(r.kind, kind) << suffix;
    EXPECT_EQ(r.id, kId) << suffix;
  }
}

TEST(MatchPath, NotRoutes) {
  for (const char* path : {"", "/v1", "/v1/operationsX",
                           "/v1/operations/a/b", "/v1/operations/a:frob", "/v2/operations",
                           "/v1/operations/:cancel", "/v1/operations/a%2Fb",
                           "/v1/operations/%zz"}) {
    EXPECT_EQ(MatchPath(path).kind, RouteKind::kNotFound) << path;
  }
}

TEST(MatchPath, Console) {
  EXPECT_EQ(MatchPath("/").kind, RouteKind::kConsole);
  EXPECT_EQ(MatchPath("/").id, "index.html");
  EXPECT_EQ(MatchPath("/console/console.js").id, "console.js");
  for (const char* path : {"/console/", "/console", "/console/a/b", "/index.html"}) {
    EXPECT_EQ(MatchPath(path).kind, RouteKind::kNotFound) << path;
  }
  EXPECT_EQ(AllowedMethods(RouteKind::kConsole), "GET");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kConsole, "GET"), "");  // open: the data routes are not
}

TEST(MatchPath, DecodesTheId) {
  EXPECT_EQ(MatchPath("/v1/operations/ab%2Dcd").id, "ab-cd");
}

TEST(Methods, AllowAndScopes) {
  EXPECT_EQ(AllowedMethods(RouteKind::kOperations), "GET, POST");
  EXPECT_EQ(AllowedMethods(RouteKind::kOperation), "GET, DELETE");
  EXPECT_TRUE(MethodAllowed(RouteKind::kOperations, "POST"));
  EXPECT_FALSE(MethodAllowed(RouteKind::kOperation, "POST"));
  EXPECT_FALSE(MethodAllowed(RouteKind::kCancel, "GET"));
  EXPECT_FALSE(MethodAllowed(RouteKind::kOperations, "PO"));
  EXPECT_EQ(GrpcMethodFor(RouteKind::kOperations, "POST"), "/longrun.v1.Operations/Submit");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kOperations, "GET"),
            "/longrun.v1.Operations/ListOperations");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kOperation, "DELETE"),
            "/longrun.v1.Operations/DeleteOperation");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kResult, "GET"), "/longrun.v1.Operations/GetOperation");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kWatch, "GET"), "/longrun.v1.Operations/WatchOperation");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kEvents, "GET"), "/longrun.v1.Operations/WatchOperations");
  EXPECT_EQ(AllowedMethods(RouteKind::kEvents), "GET");
  EXPECT_EQ(GrpcMethodFor(RouteKind::kHealthz, "GET"), "");
}

TEST(ParseTarget, SplitsAndDecodes) {
  auto t = ParseTarget("/v1/operations?filter=state+%3D+%22QUEUED%22&page_size=5&x&page_size=7");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "/v1/operations");
  EXPECT_EQ(t->query["filter"], "state = \"QUEUED\"");
  EXPECT_EQ(t->query["page_size"], "7");  // the last wins
  EXPECT_EQ(t->query["x"], "");
  EXPECT_FALSE(ParseTarget("/a?b=%4").ok());
  EXPECT_FALSE(ParseTarget("/a?b=%g0").ok());
}

TEST(StatusMapping, Standard) {
  using C = absl::StatusCode;
  EXPECT_EQ(HttpStatusFor(C::kOk), 200);
  EXPECT_EQ(HttpStatusFor(C::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(C::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusFor(C::kOutOfRange), 400);
  EXPECT_EQ(HttpStatusFor(C::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(C::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(C::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(C::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(C::kAborted), 409);
  EXPECT_EQ(HttpStatusFor(C::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(C::kCancelled), 499);
  EXPECT_EQ(HttpStatusFor(C::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusFor(C::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(C::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(C::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(C::kUnknown), 500);
  EXPECT_EQ(HttpStatusFor(C::kDataLoss), 500);
  EXPECT_EQ(ReasonPhrase(499), "Client Closed Request");
  EXPECT_EQ(ReasonPhrase(303), "See Other");
}

TEST(ErrorJson, GoogleShapeAndEscaping) {
  EXPECT_EQ(ErrorJson(absl::NotFoundError("operation \"x\" not found\n")),
            "{\"error\":{\"code\":404,\"message\":\"operation \\\"x\\\" not found\\n\","
            "\"status\":\"NOT_FOUND\",\"details\":[]}}");
  EXPECT_EQ(ErrorJson(431, "RESOURCE_EXHAUSTED", "big"),
            "{\"error\":{\"code\":431,\"message\":\"big\",\"status\":\"RESOURCE_EXHAUSTED\","
            "\"details\":[]}}");
}

TEST(Headers, RetryAfterLinkLocation) {
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(2001)), 3);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(30)), 30);
  EXPECT_EQ(StatusUrl("abc"), "/v1/operations/abc");
  EXPECT_EQ(ResultUrl("abc"), "/v1/operations/abc/result");
  EXPECT_EQ(ResultLink("abc"), "</v1/operations/abc/result>; rel=\"result\"");
}

TEST(WantsRedirect, PreferAndQuery) {
  EXPECT_TRUE(WantsRedirect("respond-async, return=minimal", {}));
  EXPECT_TRUE(WantsRedirect("Return=Minimal", {}));
  EXPECT_FALSE(WantsRedirect("respond-async", {}));
  EXPECT_FALSE(WantsRedirect("return=representation", {}));
  EXPECT_FALSE(WantsRedirect("", {}));
  EXPECT_TRUE(WantsRedirect("", {{"redirect", "true"}}));
  EXPECT_FALSE(WantsRedirect("", {{"redirect", "false"}}));
}

TEST(ParseTimeout, Forms) {
  EXPECT_EQ(*ParseTimeout("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseTimeout("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseTimeout("2"), absl::Seconds(2));
  EXPECT_THAT(ParseTimeout("soon").status().message(), HasSubstr("timeout"));
  EXPECT_FALSE(ParseTimeout("-1s").ok());
  EXPECT_FALSE(ParseTimeout("5m").ok());  // proto3 JSON durations are in seconds
}

TEST(ParseLastEventId, Forms) {
  EXPECT_EQ(*ParseLastEventId(""), 0);
  EXPECT_EQ(*ParseLastEventId(" 17 "), 17);
  EXPECT_THAT(ParseLastEventId("x").status().message(), HasSubstr("Last-Event-ID"));
  EXPECT_FALSE(ParseLastEventId("-3").ok());
}

TEST(ParseEventsQuery, LastEventIdWinsOverCursor) {
  auto q = ParseEventsQuery({{"filter", "state = SUCCEEDED"}, {"cursor", "e1.5.2"},
                             {"snapshot", "true"}},
                            "");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->filter, "state = SUCCEEDED");
  EXPECT_EQ(q->start_after, "e1.5.2");
  EXPECT_TRUE(q->include_snapshot);
  q = ParseEventsQuery({{"cursor", "e1.5.2"}}, " e1.7.0 ");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->start_after, "e1.7.0");
  EXPECT_FALSE(q->include_snapshot);
  EXPECT_EQ(ParseEventsQuery({}, "")->start_after, "");
}

TEST(ParseEventsQuery, RefusesNamingTheParameter) {
  EXPECT_THAT(ParseEventsQuery({{"cursor", "nope"}}, "").status().message(),
              HasSubstr("cursor: \"nope\""));
  EXPECT_THAT(ParseEventsQuery({{"cursor", "e1.5.2"}}, "17").status().message(),
              HasSubstr("Last-Event-ID"));
  EXPECT_THAT(ParseEventsQuery({{"snapshot", "yes"}}, "").status().message(),
              HasSubstr("snapshot"));
  EXPECT_EQ(ParseEventsQuery({{"snapshot", "yes"}}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SseEvent, Framing) {
  EXPECT_EQ(SseEvent("7", "", "{\"a\":1}"), "id: 7\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(SseEvent("", "error", "a\nb"), "event: error\ndata: a\ndata: b\n\n");
}

}  // namespace
}  // namespace longrun::api::http
