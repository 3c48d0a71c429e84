#include "libs/worker/job_runner.h"

#include "libs/worker/worker_test_util.h"

namespace longrun::worker {
namespace {

using testing::JobSpec;

class JobRunnerTest : public testing::WorkerTest {
 protected:
  JobRunnerTest() {
    auto ok = [](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
      google::protobuf::Struct out;
      (*out.mutable_fields())["attempt"].set_number_value(ctx.attempt());
      return out;
    };
    EXPECT_TRUE(registry_.Register("test.ok", ok).ok());
    EXPECT_TRUE(registry_
                    .Register("test.fail",
                              [](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
                                ctx.ReportProgress(40, "almost");
                                return absl::UnavailableError("flaky");
                              })
                    .ok());
    EXPECT_TRUE(registry_
                    .Register("test.bad",
                              [](JobContext&) -> absl::StatusOr<google::protobuf::Struct> {
                                return absl::InvalidArgumentError("input.x is required");
                              })
                    .ok());
    EXPECT_TRUE(registry_
                    .Register("test.slow",
                              [this](JobContext&) -> absl::StatusOr<google::protobuf::Struct> {
                                clock_.Advance(absl::Minutes(2));  // overruns its 1 minute timeout
                                return google::protobuf::Struct();
                              })
                    .ok());
  }
  JobRunner Runner() {
    return JobRunner({.lease_duration = absl::Seconds(30),
                      .retry = {.base = absl::Seconds(10), .cap = absl::Seconds(10)}},
                     store_, registry_, clock_,
                     [this](const store::JobRef& ref, std::optional<store::JobCompleteParams> s) {
                       returned_.push_back(ref);
                       if (s.has_value()) successes_.push_back(*std::move(s));
                     });
  }
  std::shared_ptr<Attempt> ClaimOne(const std::string& kind) {
    auto claimed = Claim(1, {kind});
    EXPECT_EQ(claimed.size(), 1u);
    return claimed.empty() ? nullptr : claimed[0];
  }
  Registry registry_;
  std::vector<store::JobRef> returned_;
  std::vector<store::JobCompleteParams> successes_;
};

TEST_F(JobRunnerTest, ASuccessGoesToTheDispatcherWithItsResult) {
  Insert();
  auto a = ClaimOne("test.ok");
  EXPECT_EQ(Runner().Run(*a), RunOutcome::kSucceeded);
  ASSERT_EQ(successes_.size(), 1u);
  EXPECT_EQ(successes_[0].response->fields().at("attempt").number_value(), 1);
  EXPECT_TRUE(a->finished);
  EXPECT_EQ(Get(a->id()).state, core::State::kRunning);  // recorded by the next round
}

TEST_F(JobRunnerTest, ATransientFailureWaitsForItsRetryWithTheLatestProgress) {
  const std::string id = Insert({.kind = "test.fail", .max_attempts = 2});
  auto a = ClaimOne("test.fail");
  EXPECT_EQ(Runner().Run(*a), RunOutcome::kFailed);
  ASSERT_EQ(returned_.size(), 1u);
  EXPECT_TRUE(successes_.empty());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kRetryWait);
  EXPECT_EQ(op.progress_percent, 40);  // written with the outcome
  EXPECT_EQ(op.progress_message, "almost");
  // Retry back-off (full jitter, at most 10 s here): not claimable before it passes.
  EXPECT_LE(op.run_at, clock_.Now() + absl::Seconds(10));
  clock_.Advance(absl::Seconds(10));
  auto retry = ClaimOne("test.fail");
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->attempt(), 2);
  EXPECT_EQ(Runner().Run(*retry), RunOutcome::kFailed);
  op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);  // the last attempt
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(op.attempts.size(), 2u);
}

TEST_F(JobRunnerTest, APermanentErrorIsNotRetried) {
  const std::string id = Insert({.kind = "test.bad", .max_attempts = 5});
  EXPECT_EQ(Runner().Run(*ClaimOne("test.bad")), RunOutcome::kFailed);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobRunnerTest, OverrunningTheTimeoutFailsWithDeadlineExceeded) {
  const std::string id =
      Insert({.kind = "test.slow", .max_attempts = 1, .timeout = absl::Minutes(1)});
  EXPECT_EQ(Runner().Run(*ClaimOne("test.slow")), RunOutcome::kFailed);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(JobRunnerTest, AnUnknownKindFailsPermanently) {
  const std::string id = Insert({.kind = "test.unknown"});
  EXPECT_EQ(Runner().Run(*ClaimOne("test.unknown")), RunOutcome::kFailed);
  EXPECT_EQ(Get(id).error->code, static_cast<int>(absl::StatusCode::kUnimplemented));
}

TEST_F(JobRunnerTest, AnAttemptTakenAwayRecordsNothing) {
  const std::string id = Insert({.kind = "test.fail"});
  auto a = ClaimOne("test.fail");
  a->Stop(absl::AbortedError("lease lost"));
  EXPECT_EQ(Runner().Run(*a), RunOutcome::kAbandoned);
  EXPECT_EQ(returned_.size(), 1u);
  EXPECT_EQ(Get(id).state, core::State::kRunning);  // left for the rescuer
}

TEST_F(JobRunnerTest, AJobHandedBackBeforeItStartedNeverRuns) {
  Insert();
  auto a = ClaimOne("test.ok");
  {
    std::lock_guard<std::mutex> lock(a->write_mu);
    a->released = true;
    ASSERT_TRUE(store_.JobRelease({a->id(), a->attempt()}).ok());
  }
  EXPECT_EQ(Runner().Run(*a), RunOutcome::kAbandoned);
  EXPECT_TRUE(successes_.empty());
  EXPECT_EQ(Get(a->id()).state, core::State::kQueued);
}

TEST_F(JobRunnerTest, AFailureIsLostOnlyAfterALeaseOfOutage) {
  Insert({.kind = "test.fail"});
  auto a = ClaimOne("test.fail");
  store_.SetUnavailableForTest(true);
  JobRunner runner({.lease_duration = absl::Milliseconds(300),
                    .min_backoff = absl::Milliseconds(1),
                    .max_backoff = absl::Milliseconds(20)},
                   store_, registry_, clock_, [](const store::JobRef&, auto) {});
  EXPECT_EQ(runner.Run(*a), RunOutcome::kLost);
}

}  // namespace
}  // namespace longrun::worker
