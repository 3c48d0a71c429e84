#include "libs/worker/dispatch_loop.h"

#include "libs/worker/worker_test_util.h"

namespace longrun::worker {
namespace {

using testing::JobSpec;

class DispatchLoopTest : public testing::WorkerTest {
 protected:
  DispatchLoop& Loop(int concurrency = 4) {
    loop_ = std::make_unique<DispatchLoop>(
        DispatchConfig{.worker_id = "w1",
                       .kinds = {"test.ok"},
                       .concurrency = concurrency,
                       .lease_duration = absl::Seconds(30)},
        store_, table_, clock_, [this](std::shared_ptr<Attempt> a) { started_.push_back(a); });
    return *loop_;
  }
  void Succeed(const std::shared_ptr<Attempt>& a) {
    loop_->HandlerReturned(
        a->ref(),
        store::JobCompleteParams{
            .id = a->id(), .attempt = a->attempt(), .response = google::protobuf::Struct()});
  }
  std::unique_ptr<DispatchLoop> loop_;
  std::vector<std::shared_ptr<Attempt>> started_;
};

TEST_F(DispatchLoopTest, ClaimsUpToTheFreeSlotsInPriorityOrder) {
  const std::string low = Insert({.priority = 0});
  const std::string high = Insert({.priority = 5});
  for (int i = 0; i < 4; ++i) Insert();
  DispatchLoop& loop = Loop(/*concurrency=*/3);
  const DispatchRunResult r = loop.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.claimed, 3);
  ASSERT_EQ(started_.size(), 3u);
  EXPECT_EQ(started_[0]->id(), high);
  EXPECT_EQ(started_[1]->id(), low);
  EXPECT_EQ(loop.running(), 3);
  EXPECT_EQ(table_.size(), 3u);
  // Every slot is busy: the next round claims nothing.
  EXPECT_EQ(loop.RunOnce().claimed, 0);
}

TEST_F(DispatchLoopTest, RecordsSuccessesAndClaimsTheNextJobsInOneRound) {
  for (int i = 0; i < 4; ++i) Insert();
  DispatchLoop& loop = Loop(2);
  ASSERT_EQ(loop.RunOnce().claimed, 2);
  Succeed(started_[0]);
  Succeed(started_[1]);
  EXPECT_EQ(loop.running(), 0);
  const DispatchRunResult r = loop.RunOnce();
  EXPECT_EQ(r.recorded, 2);
  EXPECT_EQ(r.claimed, 2);
  EXPECT_EQ(Get(started_[0]->id()).state, core::State::kSucceeded);
  EXPECT_EQ(Get(started_[0]->id()).progress_percent, 100);
  EXPECT_EQ(loop.claimed_total(), 4);
}

TEST_F(DispatchLoopTest, ALateSuccessOfARescuedAttemptIsFencedAndChangesNothing) {
  const std::string id = Insert();
  DispatchLoop& loop = Loop(1);
  ASSERT_EQ(loop.RunOnce().claimed, 1);
  // The lease runs out (the process stalled) and another worker's rescuer re-queues it.
  clock_.Advance(absl::Seconds(31));
  ASSERT_EQ(*store_.JobRescueStuck({}), 1);
  Succeed(started_[0]);
  const DispatchRunResult r = loop.RunOnce();
  EXPECT_EQ(r.fenced, 1);
  EXPECT_EQ(r.recorded, 0);
  // It was claimed again by this very round: attempt 2, running, not SUCCEEDED by attempt 1.
  EXPECT_EQ(r.claimed, 1);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kRunning);
  EXPECT_EQ(op.attempt, 2);
  EXPECT_EQ(table_.Find(id)->attempt(), 2);
}

TEST_F(DispatchLoopTest, KeepsSuccessesThroughAnOutageUntilTheLeaseMustHaveRunOut) {
  Insert();
  Insert();
  DispatchLoop& loop = Loop(2);
  ASSERT_EQ(loop.RunOnce().claimed, 2);
  Succeed(started_[0]);
  store_.SetUnavailableForTest(true);
  EXPECT_FALSE(loop.RunOnce().ok);
  clock_.Advance(absl::Seconds(10));
  EXPECT_FALSE(loop.RunOnce().ok);
  store_.SetUnavailableForTest(false);
  EXPECT_EQ(loop.RunOnce().recorded, 1);  // kept, recorded once the database is back
  EXPECT_EQ(Get(started_[0]->id()).state, core::State::kSucceeded);

  Succeed(started_[1]);
  store_.SetUnavailableForTest(true);
  clock_.Advance(absl::Seconds(31));  // its lease has surely run out: rescued elsewhere
  const DispatchRunResult r = loop.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(table_.size(), 0u);
  store_.SetUnavailableForTest(false);
  EXPECT_EQ(loop.RunOnce().recorded, 0);
}

TEST_F(DispatchLoopTest, AfterStopClaimingOnlyRecords) {
  Insert();
  Insert();
  DispatchLoop& loop = Loop(1);
  ASSERT_EQ(loop.RunOnce().claimed, 1);
  loop.StopClaiming();
  Succeed(started_[0]);
  const DispatchRunResult r = loop.RunOnce();
  EXPECT_EQ(r.recorded, 1);
  EXPECT_EQ(r.claimed, 0);
  EXPECT_TRUE(loop.WaitIdle(absl::ZeroDuration()));
}

TEST_F(DispatchLoopTest, ScheduledJobsWaitForTheirTime) {
  Insert({.schedule_time = clock_.Now() + absl::Minutes(5)});
  DispatchLoop& loop = Loop(1);
  EXPECT_EQ(loop.RunOnce().claimed, 0);
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(loop.RunOnce().claimed, 1);
}

}  // namespace
}  // namespace longrun::worker
