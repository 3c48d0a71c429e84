// End to end: the real longrun-api and longrun-worker binaries over gRPC and PostgreSQL.
#include <openssl/sha.h>

#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"

namespace longrun::testing {
namespace {

using google::longrunning::Operation;
using longrun::v1::OperationMetadata;

std::string Sha256Hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d), sizeof(d)));
}

TEST(SkeletonE2E, Sha256SubmitReturnsAtOnceAndBothServicesShowTheDigest) {
  TestDatabase db;
  Stack stack(db, "skeleton_sha256");
  stack.StartApi();
  stack.StartWorker({"--concurrency=2"});

  longrun::v1::SubmitRequest req;
  req.set_kind("demo.sha256");
  (*req.mutable_input()->mutable_fields())["text"].set_string_value("longrun");
  (*req.mutable_input()->mutable_fields())["repeat"].set_number_value(1000);
  grpc::ClientContext ctx;
  Operation op;
  ASSERT_TRUE(stack.v1().Submit(&ctx, req, &op).ok());
  EXPECT_FALSE(op.done());
  EXPECT_EQ(op.metadata().type_url(), "type.googleapis.com/longrun.v1.OperationMetadata");
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::QUEUED);
  EXPECT_EQ(Metadata(op).kind(), "demo.sha256");
  EXPECT_TRUE(Metadata(op).has_retry_after());
  // The poll hint travels as a header too.
  auto header = ctx.GetServerInitialMetadata().find("retry-after");
  ASSERT_NE(header, ctx.GetServerInitialMetadata().end());
  EXPECT_GE(std::stoi(std::string(header->second.data(), header->second.size())), 1);

  std::string text;
  for (int i = 0; i < 1000; ++i) text += "longrun";
  const std::string want = absl::StrCat("{\"sha256\":\"", Sha256Hex(text), "\"}");
  const Operation done = stack.WaitDone(op.name(), absl::Seconds(30));
  ASSERT_TRUE(done.done()) << done.DebugString();
  EXPECT_EQ(ResponseJson(done), want);
  EXPECT_EQ(Metadata(done).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(Metadata(done).attempt(), 1);
  EXPECT_EQ(done.response().type_url(), "type.googleapis.com/google.protobuf.Struct");

  // The standard service serves the same operation.
  google::longrunning::GetOperationRequest get;
  get.set_name(op.name());
  grpc::ClientContext ctx2;
  Operation via_lro;
  ASSERT_TRUE(stack.lro().GetOperation(&ctx2, get, &via_lro).ok());
  EXPECT_TRUE(via_lro.done());
  EXPECT_EQ(ResponseJson(via_lro), want);
  // Done operations carry no poll hint.
  EXPECT_EQ(ctx2.GetServerInitialMetadata().count("retry-after"), 0u);
}

TEST(SkeletonE2E, SubmitOfALongJobReturnsAsFastAsAnEchoAndProgressIsVisible) {
  TestDatabase db;
  Stack stack(db, "skeleton_sleep");
  stack.StartApi();
  stack.StartWorker();
  Operation warm;
  ASSERT_TRUE(stack.Submit("demo.echo", "{}", &warm).ok());

  auto timed = [&](const std::string& kind, const std::string& input, Operation* op) {
    const absl::Time start = absl::Now();
    EXPECT_TRUE(stack.Submit(kind, input, op).ok());
    return absl::Now() - start;
  };
  Operation sleep_op, echo_op;
  const absl::Duration sleep_latency = timed("demo.sleep", R"({"seconds": 20, "steps": 20})", &sleep_op);
  const absl::Duration echo_latency = timed("demo.echo", R"({"a": 1})", &echo_op);
  std::cout << "submit latency: demo.sleep(20s)=" << sleep_latency
            << " demo.echo=" << echo_latency << "\n";
  EXPECT_FALSE(sleep_op.done());  // the reply did not wait for the work

  // Progress shows up while it runs: RUNNING with a percentage.
  const absl::Time until = absl::Now() + absl::Seconds(15);
  Operation seen;
  while (absl::Now() < until) {
    ASSERT_TRUE(stack.Get(sleep_op.name(), &seen).ok());
    if (Metadata(seen).progress_percent() >= 10) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Metadata(seen).state(), OperationMetadata::RUNNING);
  EXPECT_GE(Metadata(seen).progress_percent(), 10);
  EXPECT_FALSE(seen.done());
}

TEST(SkeletonE2E, ThousandJobsOverTwoWorkersEachRunOnceWithTheRightResult) {
  TestDatabase db;
  Stack stack(db, "skeleton_thousand");
  stack.StartApi();
  // One worker with one dispatcher, one with two (from 64 slots): both round shapes race
  // for the same jobs.
  stack.StartWorker({"--concurrency=8"});
  stack.StartWorker({"--concurrency=64"});

  constexpr int kJobs = 1000;
  std::vector<std::string> names(kJobs);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 8; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = t; i < kJobs; i += 8) {
        Operation op;
        grpc::Status s = stack.Submit("demo.echo", absl::StrCat(R"({"i": )", i, "}"), &op);
        ASSERT_TRUE(s.ok()) << s.error_message();
        names[i] = op.name();
      }
    });
  }
  for (auto& t : submitters) t.join();

  const absl::Time until = absl::Now() + absl::Seconds(120);
  while (absl::Now() < until &&
         db.QueryValue("SELECT count(*) FROM operations WHERE state = 'SUCCEEDED'") !=
             std::to_string(kJobs)) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  for (int i = 0; i < kJobs; ++i) {
    Operation op;
    ASSERT_TRUE(stack.Get(names[i], &op).ok());
    ASSERT_TRUE(op.done()) << names[i];
    EXPECT_EQ(Metadata(op).state(), OperationMetadata::SUCCEEDED);
    // attempt counts claims: 1 means no job was claimed twice.
    EXPECT_EQ(Metadata(op).attempt(), 1) << names[i];
    EXPECT_EQ(ResponseJson(op), absl::StrCat(R"({"i":)", i, "}"));
  }
  const std::string per_worker = db.QueryValue(
      "SELECT string_agg(n::text, ',') FROM (SELECT count(*) n FROM operations GROUP BY "
      "worker_id) s");
  std::cout << "jobs per worker: " << per_worker << "\n";
  EXPECT_EQ(db.QueryValue("SELECT count(DISTINCT worker_id) FROM operations"), "2");
}

struct BadRequest {
  std::string what;
  std::string kind;
  std::string input_json;
  grpc::StatusCode code;
  std::string message_part;
};

TEST(SkeletonE2E, BadInputIsRejectedNamingTheFieldAndNothingIsWritten) {
  TestDatabase db;
  Stack stack(db, "skeleton_bad_input");
  stack.StartApi();
  const std::string big(1100 * 1024, 'x');
  const std::vector<BadRequest> cases = {
      {"missing kind", "", "{}", grpc::StatusCode::INVALID_ARGUMENT, "kind"},
      {"upper-case kind", "Demo.Echo", "{}", grpc::StatusCode::INVALID_ARGUMENT, "kind"},
      {"kind with space", "demo echo", "{}", grpc::StatusCode::INVALID_ARGUMENT, "kind"},
      {"kind too long", std::string(65, 'a'), "{}", grpc::StatusCode::INVALID_ARGUMENT, "kind"},
      {"input over 1 MiB", "demo.echo", absl::StrCat(R"({"blob": ")", big, "\"}"),
       grpc::StatusCode::INVALID_ARGUMENT, "input"},
  };
  for (const BadRequest& c : cases) {
    Operation op;
    grpc::Status s = stack.Submit(c.kind, c.input_json, &op);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message_part), std::string::npos)
        << c.what << ": " << s.error_message();
  }
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations"), "0");

  const std::vector<std::pair<std::string, grpc::StatusCode>> names = {
      {"", grpc::StatusCode::INVALID_ARGUMENT},
      {"operations/", grpc::StatusCode::INVALID_ARGUMENT},
      {"operations/not-a-uuid", grpc::StatusCode::INVALID_ARGUMENT},
      {"jobs/01a202d1-d503-7cab-848c-e12b9472e20b", grpc::StatusCode::INVALID_ARGUMENT},
      {"operations/01a202d1-d503-7cab-848c-e12b9472e20b", grpc::StatusCode::NOT_FOUND},
  };
  for (const auto& [name, code] : names) {
    Operation op;
    grpc::Status s = stack.Get(name, &op);
    EXPECT_EQ(s.error_code(), code) << "\"" << name << "\": " << s.error_message();
    if (code == grpc::StatusCode::INVALID_ARGUMENT) {
      EXPECT_NE(s.error_message().find("name"), std::string::npos) << s.error_message();
    }
    google::longrunning::GetOperationRequest get;
    get.set_name(name);
    grpc::ClientContext ctx;
    EXPECT_EQ(stack.lro().GetOperation(&ctx, get, &op).error_code(), code) << name;
  }
}

TEST(SkeletonE2E, RetriesThenSucceedsAndPermanentErrorsFailAtOnce) {
  TestDatabase db;
  Stack stack(db, "skeleton_fail");
  stack.StartApi();
  stack.StartWorker();
  Operation flaky, permanent;
  ASSERT_TRUE(stack.Submit("demo.fail", R"({"failures": 2})", &flaky).ok());
  ASSERT_TRUE(stack.Submit("demo.fail", R"({"failures": 3, "permanent": true})", &permanent).ok());
  const Operation flaky_done = stack.WaitDone(flaky.name(), absl::Seconds(30));
  ASSERT_TRUE(flaky_done.done());
  EXPECT_EQ(ResponseJson(flaky_done), R"({"attempt":3})");
  EXPECT_EQ(Metadata(flaky_done).attempt(), 3);
  const Operation permanent_done = stack.WaitDone(permanent.name(), absl::Seconds(30));
  ASSERT_TRUE(permanent_done.done());
  EXPECT_EQ(permanent_done.error().code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(Metadata(permanent_done).attempt(), 1);
  EXPECT_EQ(Metadata(permanent_done).state(), OperationMetadata::FAILED);
}

}  // namespace
}  // namespace longrun::testing
