// HeartbeatLoop, ProgressLoop, RescueLoop and PruneLoop against the in-memory store on a
// fake clock: no PostgreSQL, no sleeps.
#include "libs/worker/heartbeat_loop.h"
#include "libs/worker/progress_loop.h"
#include "libs/worker/prune_loop.h"
#include "libs/worker/rescue_loop.h"
#include "libs/worker/worker_test_util.h"

namespace longrun::worker {
namespace {

using testing::JobSpec;
using MaintenanceTest = testing::WorkerTest;

HeartbeatConfig Hb() {
  return {.interval = absl::Seconds(10), .lease_duration = absl::Seconds(30)};
}

TEST_F(MaintenanceTest, HeartbeatsKeepALongJobLeased) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  HeartbeatLoop hb(Hb(), store_, table_, clock_);
  RescueLoop rescue({}, store_);
  // Ten minutes of a running job: leases are extended every 10 s, so the rescuer (running
  // as often) never takes it.
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(absl::Seconds(10));
    ASSERT_EQ(hb.RunOnce().extended, 1);
    ASSERT_EQ(rescue.RunOnce().rescued, 0);
  }
  EXPECT_FALSE(a->Stopped());
  EXPECT_EQ(Get(id).attempt, 1);
}

TEST_F(MaintenanceTest, WithoutHeartbeatsTheLeaseExpiresAndTheJobIsRescued) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  HeartbeatLoop hb({.lease_duration = absl::Seconds(30), .disabled_for_test = true}, store_, table_,
                   clock_);
  RescueLoop rescue({}, store_);
  clock_.Advance(absl::Seconds(29));
  hb.RunOnce();
  EXPECT_EQ(rescue.RunOnce().rescued, 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(rescue.RunOnce().rescued, 1);
  EXPECT_EQ(Get(id).state, core::State::kRetryWait);  // runnable again at once
  // The old attempt learns at its next (real) heartbeat that it lost the lease.
  HeartbeatLoop real(Hb(), store_, table_, clock_);
  const HeartbeatRunResult r = real.RunOnce();
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(a->StopReason().code(), absl::StatusCode::kAborted);
}

TEST_F(MaintenanceTest, HeartbeatStopsACancelledJob) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  ASSERT_TRUE(store_.OperationCancel({.id = id}).ok());
  const HeartbeatRunResult r = HeartbeatLoop(Hb(), store_, table_, clock_).RunOnce();
  EXPECT_EQ(r.cancelling, 1);
  EXPECT_EQ(a->StopReason().code(), absl::StatusCode::kCancelled);
}

TEST_F(MaintenanceTest, HandlersGoOnThroughAShortOutageButStopOnceTheLeaseMustHaveRunOut) {
  Insert();
  auto a = Claim(1)[0];
  HeartbeatLoop hb(Hb(), store_, table_, clock_);
  ASSERT_TRUE(hb.RunOnce().ok);
  store_.SetUnavailableForTest(true);
  clock_.Advance(absl::Seconds(20));
  HeartbeatRunResult r = hb.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.expired, 0);
  EXPECT_FALSE(a->Stopped());
  clock_.Advance(absl::Seconds(10));
  r = hb.RunOnce();
  EXPECT_EQ(r.expired, 1);
  EXPECT_EQ(a->StopReason().code(), absl::StatusCode::kAborted);
}

TEST_F(MaintenanceTest, JobsNobodyStartsFailAfterScheduleToStart) {
  const std::string id = Insert({.kind = "nobody.serves.this"});
  RescueLoop rescue({.schedule_to_start = absl::Hours(1)}, store_);
  clock_.Advance(absl::Minutes(59));
  EXPECT_EQ(rescue.RunOnce().failed_unstarted, 0);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(rescue.RunOnce().failed_unstarted, 1);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(MaintenanceTest, RescueOfTheLastAttemptFailsTheJob) {
  const std::string id = Insert({.max_attempts = 1});
  Claim(1, {"test.ok"}, absl::Seconds(5));
  clock_.Advance(absl::Seconds(6));
  RescueLoop rescue({.batch = 1}, store_);
  EXPECT_EQ(rescue.RunOnce().rescued, 1);
  EXPECT_EQ(Get(id).state, core::State::kFailed);
  store_.SetUnavailableForTest(true);
  EXPECT_FALSE(rescue.RunOnce().ok);
}

TEST_F(MaintenanceTest, PruneDeletesFinishedOperationsPastTheirRetentionInBatches) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Insert());
  const std::string running = Insert();
  auto claimed = Claim(6);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_.JobComplete({.id = ids[i], .attempt = 1, .response = google::protobuf::Struct()})
            .ok());
  }
  PruneLoop prune({.retain_succeeded = absl::Hours(1), .batch = 2}, store_);
  clock_.Advance(absl::Minutes(59));
  EXPECT_EQ(prune.RunOnce().total(), 0);
  clock_.Advance(absl::Minutes(2));
  const PruneRunResult r = prune.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.succeeded, 5);
  for (const std::string& id : ids) {
    EXPECT_EQ(store_.OperationGet({.id = id}).status().code(), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(Get(running).state, core::State::kRunning);  // never a live job
}

TEST_F(MaintenanceTest, ProgressIsWrittenOncePerPassLatestValueWins) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  ProgressLoop progress({}, store_, table_);
  EXPECT_EQ(progress.RunOnce().written, 0);  // nothing reported: no write
  const int64_t version = Get(id).version;
  for (int i = 1; i <= 1000; ++i) a->ReportProgress(i / 10, "step " + std::to_string(i));
  EXPECT_EQ(progress.RunOnce().written, 1);
  core::Operation op = Get(id);
  EXPECT_EQ(op.progress_percent, 100);
  EXPECT_EQ(op.progress_message, "step 1000");
  EXPECT_EQ(op.version, version + 1);  // one write for a thousand reports
  EXPECT_EQ(progress.RunOnce().written, 0);
}

TEST_F(MaintenanceTest, ProgressSurvivesAnOutageAndStopsAStaleAttempt) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  ProgressLoop progress({}, store_, table_);
  a->ReportProgress(30, "before the outage");
  store_.SetUnavailableForTest(true);
  EXPECT_FALSE(progress.RunOnce().ok);
  store_.SetUnavailableForTest(false);
  EXPECT_EQ(progress.RunOnce().written, 1);
  EXPECT_EQ(Get(id).progress_message, "before the outage");
  // Rescued elsewhere: the next write is fenced and the handler told to stop.
  clock_.Advance(absl::Seconds(31));
  ASSERT_EQ(*store_.JobRescueStuck({}), 1);
  a->ReportProgress(60, "stale");
  EXPECT_EQ(progress.RunOnce().fenced, 1);
  EXPECT_EQ(a->StopReason().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Get(id).progress_message, "before the outage");  // the stale write changed nothing
}

TEST_F(MaintenanceTest, ProgressOfAJobHandedBackIsNeverWritten) {
  const std::string id = Insert();
  auto a = Claim(1)[0];
  a->ReportProgress(50, "half");
  {
    std::lock_guard<std::mutex> lock(a->write_mu);
    a->released = true;
  }
  EXPECT_EQ(ProgressLoop({}, store_, table_).RunOnce().written, 0);
  EXPECT_EQ(Get(id).progress_percent, 0);
}

}  // namespace
}  // namespace longrun::worker
