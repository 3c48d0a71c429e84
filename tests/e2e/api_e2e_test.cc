// The operations API end to end: idempotent Submit, ListOperations paging and filters,
// Cancel, Delete, and validation of every Submit field.
#include <atomic>
#include <set>
#include <thread>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/core/submit.h"
#include "libs/rpc/convert.h"
#include "tests/support/stack.h"

namespace longrun::testing {
namespace {

using google::longrunning::Operation;
using longrun::v1::OperationMetadata;

grpc::Status List(Stack& stack, const std::string& filter, int page_size, const std::string& token,
                  longrun::v1::ListOperationsResponse* out) {
  longrun::v1::ListOperationsRequest req;
  req.set_filter(filter);
  req.set_page_size(page_size);
  req.set_page_token(token);
  grpc::ClientContext ctx;
  return stack.v1().ListOperations(&ctx, req, out);
}

TEST(ApiE2E, ConcurrentIdenticalSubmitsCreateOneOperationAndAChangedOneIsRefused) {
  TestDatabase db;
  Stack stack(db, "api_idempotent");
  stack.StartApi();
  longrun::v1::SubmitRequest req;
  req.set_request_id("2f1c9a8e-5d7b-4c1a-9e3f-000000000064");
  (*req.mutable_labels())["team"] = "billing";
  std::mutex mu;
  std::set<std::string> names;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      Operation op;
      grpc::Status s = stack.Submit("demo.echo", R"({"amount": 42})", &op, req);
      if (!s.ok()) {
        ++failures;
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      names.insert(op.name());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(names.size(), 1u);
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations"), "1");

  Operation op;
  grpc::Status s = stack.Submit("demo.echo", R"({"amount": 43})", &op, req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(s.error_message().find(*names.begin()), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("request_id"), std::string::npos) << s.error_message();
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations"), "1");
}

TEST(ApiE2E, PagingReturnsEachOperationOnceWhileNewOnesArrive) {
  TestDatabase db;
  Stack stack(db, "api_paging");
  stack.StartApi();
  longrun::v1::SubmitRequest labelled;
  (*labelled.mutable_labels())["batch"] = "b57";
  std::set<std::string> submitted;
  for (int i = 0; i < 57; ++i) {
    Operation op;
    ASSERT_TRUE(stack.Submit("demo.echo", "{}", &op, labelled).ok());
    submitted.insert(op.name());
  }
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    longrun::v1::SubmitRequest other;
    (*other.mutable_labels())["batch"] = "noise";
    while (!stop) {
      Operation op;
      (void)stack.Submit("demo.echo", "{}", &op, other);
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  const std::string filter = R"(labels.batch = "b57")";
  std::multiset<std::string> seen;
  std::string token;
  int pages = 0;
  std::string first_token;
  do {
    longrun::v1::ListOperationsResponse resp;
    grpc::Status s = List(stack, filter, 10, token, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& op : resp.operations()) seen.insert(op.name());
    EXPECT_LE(resp.operations_size(), 10);
    token = resp.next_page_token();
    if (pages == 0) first_token = token;
    ++pages;
    absl::SleepFor(absl::Milliseconds(20));  // let new submissions land between pages
  } while (!token.empty() && pages < 20);
  stop = true;
  noise.join();
  EXPECT_EQ(pages, 6);
  EXPECT_EQ(seen.size(), 57u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), submitted);

  // Tokens are URL-safe, tamper-evident and bound to their filter.
  ASSERT_FALSE(first_token.empty());
  EXPECT_EQ(first_token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  std::string tampered = first_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  longrun::v1::ListOperationsResponse resp;
  grpc::Status s = List(stack, filter, 10, tampered, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("page_token"), std::string::npos) << s.error_message();
  s = List(stack, R"(labels.batch = "noise")", 10, first_token, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("filter"), std::string::npos) << s.error_message();

  // Page sizes: negative refused, oversized coerced to the maximum, 0 means the default.
  s = List(stack, "", -1, "", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("page_size"), std::string::npos);
  resp.Clear();
  ASSERT_TRUE(List(stack, "", 5000, "", &resp).ok());
  EXPECT_LE(resp.operations_size(), 1000);
  resp.Clear();
  ASSERT_TRUE(List(stack, filter, 0, "", &resp).ok());
  EXPECT_EQ(resp.operations_size(), 50);

  // Newest first.
  resp.Clear();
  ASSERT_TRUE(List(stack, filter, 57, "", &resp).ok());
  for (int i = 1; i < resp.operations_size(); ++i) {
    const auto a = Metadata(resp.operations(i - 1)).create_time();
    const auto b = Metadata(resp.operations(i)).create_time();
    EXPECT_TRUE(a.seconds() > b.seconds() || (a.seconds() == b.seconds() && a.nanos() >= b.nanos()));
  }
}

TEST(ApiE2E, FiltersSelectByStateKindLabelsAndTimeAndRejectUnknownFields) {
  TestDatabase db;
  Stack stack(db, "api_filters");
  stack.StartApi();
  stack.StartWorker();
  longrun::v1::SubmitRequest a, b;
  (*a.mutable_labels())["env"] = "prod";
  (*b.mutable_labels())["env"] = "dev";
  Operation echo, sleeper;
  ASSERT_TRUE(stack.Submit("demo.echo", "{}", &echo, a).ok());
  ASSERT_TRUE(stack.Submit("demo.sleep", R"({"seconds": 30})", &sleeper, b).ok());
  ASSERT_TRUE(stack.WaitDone(echo.name(), absl::Seconds(20)).done());
  const std::string created = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                               absl::Now() - absl::Hours(1), absl::UTCTimeZone());
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"state = SUCCEEDED", {echo.name()}},
      {"state != SUCCEEDED", {sleeper.name()}},
      {R"(kind = "demo.sleep")", {sleeper.name()}},
      {"labels.env = prod", {echo.name()}},
      {"labels.env:*", {sleeper.name(), echo.name()}},
      {"NOT labels.env = prod AND kind = demo.sleep", {sleeper.name()}},
      {"state = SUCCEEDED OR state = RUNNING", {sleeper.name(), echo.name()}},
      {absl::StrCat("create_time > \"", created, "\""), {sleeper.name(), echo.name()}},
      {absl::StrCat("create_time < \"", created, "\""), {}},
  };
  for (const auto& [filter, want] : cases) {
    longrun::v1::ListOperationsResponse resp;
    grpc::Status s = List(stack, filter, 10, "", &resp);
    ASSERT_TRUE(s.ok()) << filter << ": " << s.error_message();
    std::vector<std::string> got;
    for (const auto& op : resp.operations()) got.push_back(op.name());
    EXPECT_EQ(got, want) << filter;
  }
  for (const auto& [filter, part] : std::vector<std::pair<std::string, std::string>>{
           {R"(colour = "red")", "colour"},
           {"state = DONE", "DONE"},
           {"(state = QUEUED", "filter"},
           {"create_time > yesterday", "create_time"}}) {
    longrun::v1::ListOperationsResponse resp;
    grpc::Status s = List(stack, filter, 10, "", &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << filter;
    EXPECT_NE(s.error_message().find(part), std::string::npos) << filter << ": " << s.error_message();
  }
  longrun::v1::ListOperationsRequest bad_name;
  bad_name.set_name("jobs");
  grpc::ClientContext ctx;
  longrun::v1::ListOperationsResponse resp;
  EXPECT_EQ(stack.v1().ListOperations(&ctx, bad_name, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

grpc::Status Cancel(Stack& stack, const std::string& name, Operation* out) {
  longrun::v1::CancelOperationRequest req;
  req.set_name(name);
  grpc::ClientContext ctx;
  return stack.v1().CancelOperation(&ctx, req, out);
}

grpc::Status Delete(Stack& stack, const std::string& name) {
  longrun::v1::DeleteOperationRequest req;
  req.set_name(name);
  grpc::ClientContext ctx;
  google::protobuf::Empty empty;
  return stack.v1().DeleteOperation(&ctx, req, &empty);
}

TEST(ApiE2E, CancelAndDelete) {
  TestDatabase db;
  Stack stack(db, "api_cancel_delete");
  stack.StartApi();
  stack.StartWorker({"--heartbeat-interval=10s", "--lease-duration=60s"});  // the notification, not a heartbeat, must tell the worker

  // A scheduled job is cancelled at once.
  longrun::v1::SubmitRequest later;
  rpc::ToProto(absl::Now() + absl::Hours(1), later.mutable_schedule_time());
  Operation scheduled;
  ASSERT_TRUE(stack.Submit("demo.echo", "{}", &scheduled, later).ok());
  Operation after;
  ASSERT_TRUE(Cancel(stack, scheduled.name(), &after).ok());
  EXPECT_TRUE(after.done());
  EXPECT_EQ(Metadata(after).state(), OperationMetadata::CANCELLED);
  EXPECT_EQ(after.error().code(), 1);

  // A running job is told and ends CANCELLED (code 1) within seconds.
  Operation running;
  ASSERT_TRUE(stack.Submit("demo.sleep", R"({"seconds": 60, "steps": 60})", &running).ok());
  after = stack.WaitRunning(running.name());
  ASSERT_EQ(Metadata(after).state(), OperationMetadata::RUNNING);
  // Deleting a live operation is refused and cancels nothing.
  grpc::Status s = Delete(stack, running.name());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("RUNNING"), std::string::npos) << s.error_message();
  const absl::Time cancel_start = absl::Now();
  ASSERT_TRUE(Cancel(stack, running.name(), &after).ok());
  EXPECT_EQ(Metadata(after).state(), OperationMetadata::CANCELLING);
  const Operation cancelled = stack.WaitDone(running.name(), absl::Seconds(10));
  std::cout << "running job cancelled in " << absl::Now() - cancel_start << "\n";
  ASSERT_TRUE(cancelled.done());
  EXPECT_EQ(Metadata(cancelled).state(), OperationMetadata::CANCELLED);
  EXPECT_EQ(cancelled.error().code(), 1);

  // Cancelling a finished operation is OK and changes nothing.
  ASSERT_TRUE(Cancel(stack, running.name(), &after).ok());
  EXPECT_EQ(Metadata(after).version(), Metadata(cancelled).version());

  // Delete removes a finished operation and its idempotency key.
  longrun::v1::SubmitRequest keyed;
  keyed.set_request_id("delete-me");
  Operation first;
  ASSERT_TRUE(stack.Submit("demo.echo", "{}", &first, keyed).ok());
  ASSERT_TRUE(stack.WaitDone(first.name(), absl::Seconds(20)).done());
  ASSERT_TRUE(Delete(stack, first.name()).ok());
  EXPECT_EQ(stack.Get(first.name(), &after).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete(stack, first.name()).error_code(), grpc::StatusCode::NOT_FOUND);
  Operation second;
  ASSERT_TRUE(stack.Submit("demo.echo", "{}", &second, keyed).ok());
  EXPECT_NE(second.name(), first.name());  // the key went with the operation

  EXPECT_EQ(Cancel(stack, "operations/01a202d1-d503-7cab-848c-e12b9472e20b", &after).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Cancel(stack, "nope", &after).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

struct Invalid {
  std::string what;
  std::function<void(longrun::v1::SubmitRequest&)> mutate;
  std::string field;
};

TEST(ApiE2E, EveryInvalidSubmitFieldIsRejectedNamingItAndNothingIsWritten) {
  TestDatabase db;
  Stack stack(db, "api_validation");
  stack.StartApi();
  const std::vector<Invalid> cases = {
      {"kind missing", [](auto& r) { r.set_kind(""); }, "kind"},
      {"kind upper case", [](auto& r) { r.set_kind("Echo"); }, "kind"},
      {"request_id too long", [](auto& r) { r.set_request_id(std::string(129, 'r')); }, "request_id"},
      {"request_id control char", [](auto& r) { r.set_request_id("a\nb"); }, "request_id"},
      {"queue invalid", [](auto& r) { r.set_queue("Q!"); }, "queue"},
      {"priority too high", [](auto& r) { r.set_priority(1001); }, "priority"},
      {"priority too low", [](auto& r) { r.set_priority(-1001); }, "priority"},
      {"max_attempts negative", [](auto& r) { r.set_max_attempts(-1); }, "max_attempts"},
      {"max_attempts too high", [](auto& r) { r.set_max_attempts(101); }, "max_attempts"},
      {"timeout too short", [](auto& r) { r.mutable_timeout()->set_nanos(1000); }, "timeout"},
      {"timeout negative", [](auto& r) { r.mutable_timeout()->set_seconds(-5); }, "timeout"},
      {"timeout too long", [](auto& r) { r.mutable_timeout()->set_seconds(8 * 86400); }, "timeout"},
      {"timeout malformed", [](auto& r) { r.mutable_timeout()->set_nanos(-1); r.mutable_timeout()->set_seconds(1); }, "timeout"},
      {"schedule_time too far", [](auto& r) { rpc::ToProto(absl::Now() + absl::Hours(24 * 400), r.mutable_schedule_time()); }, "schedule_time"},
      {"schedule_time malformed", [](auto& r) { r.mutable_schedule_time()->set_nanos(-1); }, "schedule_time"},
      {"too many labels", [](auto& r) { for (int i = 0; i < 65; ++i) (*r.mutable_labels())[absl::StrCat("k", i)] = "v"; }, "labels"},
      {"label key invalid", [](auto& r) { (*r.mutable_labels())["Env"] = "v"; }, "labels"},
      {"label value too long", [](auto& r) { (*r.mutable_labels())["env"] = std::string(257, 'v'); }, "labels.env"},
      {"input too large", [](auto& r) { (*r.mutable_input()->mutable_fields())["blob"].set_string_value(std::string(1100000, 'x')); }, "input"},
  };
  for (const Invalid& c : cases) {
    longrun::v1::SubmitRequest req;
    req.set_kind("demo.echo");
    c.mutate(req);
    grpc::ClientContext ctx;
    Operation op;
    grpc::Status s = stack.v1().Submit(&ctx, req, &op);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what << ": " << s.error_message();
    EXPECT_EQ(s.error_message().rfind(c.field, 0), 0u) << c.what << ": " << s.error_message();
  }
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations"), "0");
  // The limits themselves are accepted.
  longrun::v1::SubmitRequest edge;
  edge.set_kind(std::string(64, 'k'));
  edge.set_request_id(std::string(128, 'r'));
  edge.set_priority(1000);
  edge.set_max_attempts(100);
  for (int i = 0; i < 64; ++i) (*edge.mutable_labels())[absl::StrCat("k", i)] = std::string(256, 'v');
  grpc::ClientContext ctx;
  Operation op;
  grpc::Status s = stack.v1().Submit(&ctx, edge, &op);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// {"a": {"a": ... {"leaf": 1}}}, `depth` objects deep.
google::protobuf::Struct NestedObjects(int depth) {
  google::protobuf::Struct top;
  google::protobuf::Struct* s = &top;
  for (int level = 1; level < depth; ++level) {
    s = (*s->mutable_fields())["a"].mutable_struct_value();
  }
  (*s->mutable_fields())["leaf"].set_number_value(1);
  return top;
}

// Sends `request` as bytes to Submit, as a client that serializes by itself would.
grpc::Status RawSubmit(const std::string& address, const std::string& request) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::Slice slice(request);
  const grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/longrun.v1.Operations/Submit", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

// gRPC's generated handler refuses a request protobuf cannot parse before our code runs,
// with UNIMPLEMENTED and no message: input 34 objects deep did that. Every depth past the
// limit now gets INVALID_ARGUMENT naming it, and the deepest input allowed goes through a
// worker and comes back as the result.
TEST(ApiE2E, InputNestedPastTheLimitIsInvalidArgumentNamingIt) {
  TestDatabase db;
  Stack stack(db, "api_input_depth");
  stack.StartApi();
  stack.StartWorker();

  longrun::v1::SubmitRequest deepest;
  deepest.set_kind("demo.echo");
  *deepest.mutable_input() = NestedObjects(core::kMaxInputDepth);
  {
    grpc::ClientContext ctx;
    Operation op;
    grpc::Status s = stack.v1().Submit(&ctx, deepest, &op);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    const Operation done = stack.WaitDone(op.name(), absl::Seconds(30));
    google::protobuf::Struct echoed;
    ASSERT_TRUE(done.response().UnpackTo(&echoed)) << done.DebugString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(echoed, deepest.input()));
  }

  const std::string limit = absl::StrCat("the limit is ", core::kMaxInputDepth);
  for (int depth : {core::kMaxInputDepth + 1, core::kMaxInputDepth + 2, 34, 100, 1000}) {
    longrun::v1::SubmitRequest req;
    req.set_kind("demo.echo");
    *req.mutable_input() = NestedObjects(depth);
    grpc::ClientContext ctx;
    Operation op;
    grpc::Status s = stack.v1().Submit(&ctx, req, &op);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "depth " << depth;
    EXPECT_EQ(s.error_message().rfind("input: ", 0), 0u) << s.error_message();
    EXPECT_NE(s.error_message().find(limit), std::string::npos) << s.error_message();
    // The same bytes sent raw (the path a client in any language takes).
    grpc::Status raw = RawSubmit(stack.address(), req.SerializeAsString());
    EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "depth " << depth;
    EXPECT_NE(raw.error_message().find(limit), std::string::npos) << raw.error_message();
  }

  // Bytes that are no SubmitRequest at all: input says 5 bytes follow, 3 do.
  grpc::Status garbage = RawSubmit(stack.address(), "\x0a\x01" "x" "\x12\x05" "abc");
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(garbage.error_message(), "request: could not be parsed as a longrun.v1.SubmitRequest");
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations"), "1");
}

}  // namespace
}  // namespace longrun::testing
