// The Worker's composition over the in-memory store: real threads, no PostgreSQL.
#include "libs/worker/worker.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "libs/worker/worker_test_util.h"

namespace longrun::worker {
namespace {

class WorkerCompositionTest : public testing::WorkerTest {
 protected:
  WorkerConfig Config() {
    WorkerConfig c;
    c.worker_id = "w1";
    c.concurrency = 4;
    c.shutdown_grace = absl::ZeroDuration();
    return c;
  }
};

TEST_F(WorkerCompositionTest, RunsEveryJobOnceAndRecordsTheResults) {
  constexpr int kJobs = 200;
  std::atomic<int> runs{0};
  absl::Notification all_ran;
  Registry registry;
  ASSERT_TRUE(registry.Register("test.ok", [&](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    ctx.ReportProgress(50, "half");
    if (++runs == kJobs) all_ran.Notify();
    return ctx.input();
  }).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs / 2; ++i) ids.push_back(Insert());
  store::memory::MemoryJobNotifier notifier(store_);
  Worker worker(Config(), store_, notifier, registry, clock_);
  worker.Start();
  for (int i = 0; i < kJobs / 2; ++i) ids.push_back(Insert());  // woken by the notifier
  ASSERT_TRUE(all_ran.WaitForNotificationWithTimeout(absl::Seconds(60)));
  // Drain records the successes still waiting for a round.
  EXPECT_EQ(worker.Drain(), 0);
  for (const std::string& id : ids) {
    const core::Operation op = Get(id);
    EXPECT_EQ(op.state, core::State::kSucceeded) << id;
    EXPECT_EQ(op.attempt, 1) << id;
  }
  EXPECT_EQ(runs.load(), kJobs);
  EXPECT_EQ(worker.claimed(), kJobs);
}

TEST_F(WorkerCompositionTest, CancellingARunningJobStopsItsHandler) {
  absl::Notification started;
  Registry registry;
  ASSERT_TRUE(registry.Register("test.ok", [&](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    started.Notify();
    ctx.SleepFor(absl::Hours(1));
    return ctx.StopReason();
  }).ok());
  const std::string id = Insert();
  store::memory::MemoryJobNotifier notifier(store_);
  Worker worker(Config(), store_, notifier, registry, clock_);
  worker.Start();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(store_.OperationCancel({.id = id}).ok());  // on_cancel via the notifier
  for (int i = 0; i < 6000 && !Get(id).done(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(Get(id).state, core::State::kCancelled);
  worker.Drain();
}

TEST_F(WorkerCompositionTest, DrainHandsBackAJobThatOutlivesTheGraceWithoutBurningTheAttempt) {
  absl::Notification started;
  Registry registry;
  ASSERT_TRUE(registry.Register("test.ok", [&](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    started.Notify();
    ctx.ReportProgress(10, "working");
    ctx.SleepFor(absl::Hours(1));  // until the drain stops it
    return google::protobuf::Struct();  // ignored: the job was handed back
  }).ok());
  const std::string id = Insert();
  store::memory::MemoryJobNotifier notifier(store_);
  Worker worker(Config(), store_, notifier, registry, clock_);
  worker.Start();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(worker.Drain(), 1);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kQueued);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_EQ(worker.Drain(), 0);  // idempotent
}

}  // namespace
}  // namespace longrun::worker
