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
  // Starts a worker whose only kind, test.ok, notifies `started_` and then runs `body`;
  // returns once a handler has started.
  std::unique_ptr<Worker> StartAndWaitForAHandler(
      std::function<absl::StatusOr<google::protobuf::Struct>(JobContext&)> body) {
    EXPECT_TRUE(registry_
                    .Register("test.ok",
                              [this, body](JobContext& ctx) {
                                started_.Notify();
                                return body(ctx);
                              })
                    .ok());
    notifier_ = std::make_unique<store::memory::MemoryJobNotifier>(store_);
    auto worker = std::make_unique<Worker>(Config(), store_, *notifier_, registry_, clock_);
    worker->Start();
    EXPECT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(60)));
    return worker;
  }
  absl::Notification started_;
  Registry registry_;
  std::unique_ptr<store::memory::MemoryJobNotifier> notifier_;
};

TEST_F(WorkerCompositionTest, RunsEveryJobOnceAndRecordsTheResults) {
  constexpr int kJobs = 200;
  std::atomic<int> runs{0};
  absl::Notification all_ran;
  Registry registry;
  ASSERT_TRUE(registry
                  .Register("test.ok",
                            [&](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
                              ctx.ReportProgress(50, "half");
                              if (++runs == kJobs) all_ran.Notify();
                              return ctx.input();
                            })
                  .ok());
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
  const std::string id = Insert();
  auto worker =
      StartAndWaitForAHandler([](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
        ctx.SleepFor(absl::Hours(1));
        return ctx.StopReason();
      });
  ASSERT_TRUE(store_.OperationCancel({.id = id}).ok());  // on_cancel via the notifier
  for (int i = 0; i < 6000 && !Get(id).done(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(Get(id).state, core::State::kCancelled);
  worker->Drain();
}

TEST_F(WorkerCompositionTest, DrainHandsBackAJobThatOutlivesTheGraceWithoutBurningTheAttempt) {
  const std::string id = Insert();
  auto worker =
      StartAndWaitForAHandler([](JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
        ctx.ReportProgress(10, "working");
        ctx.SleepFor(absl::Hours(1));       // until the drain stops it
        return google::protobuf::Struct();  // ignored: the job was handed back
      });
  EXPECT_EQ(worker->Drain(), 1);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kQueued);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_EQ(worker->Drain(), 0);  // idempotent
}

}  // namespace
}  // namespace longrun::worker
