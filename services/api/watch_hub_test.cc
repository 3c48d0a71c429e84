// WatchHub without PostgreSQL: the in-memory store on a fake clock, the hub driven by
// RunOnce() (not started), notifications fed from the store's change observer as the
// LISTEN connection feeds them in production.
#include "services/api/watch_hub.h"

#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/store/memory/memory_operation_store.h"
#include "services/api/memory_jobs_for_test.h"

namespace longrun::api {
namespace {

// Records what the hub tells it. The hub calls it on the test thread (RunOnce) or under the
// hub lock (Shutdown), so no lock of its own is needed.
class Recorder final : public WatchHub::Subscriber {
 public:
  void OnOperation(const core::Operation& op) override { ops.push_back(op); }
  void OnDeadline() override { ++deadlines; }
  void OnClosed(const absl::Status& status) override { closed.push_back(status); }

  std::vector<core::Operation> ops;
  int deadlines = 0;
  std::vector<absl::Status> closed;
};

class WatchHubTest : public ::testing::Test {
 protected:
  explicit WatchHubTest(WatchHubConfig config = {}) : hub_(store_, config, clock_) {
    store_.SetChangeObserver([this](const std::string& payload) { hub_.OnNotify(payload); });
  }
  ~WatchHubTest() override {
    store_.SetChangeObserver(nullptr);
    hub_.Shutdown();
  }

  // A subscriber that lives as long as the hub (which calls OnClosed on shutdown).
  Recorder& NewRecorder() { return recorders_.emplace_back(); }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_{clock_};
  MemoryJobs jobs_{clock_, store_};
  std::deque<Recorder> recorders_;
  WatchHub hub_;
};

TEST_F(WatchHubTest, ANotifiedChangeReachesEverySubscriberWithOneRead) {
  const std::string a = jobs_.Insert(), b = jobs_.Insert();
  Recorder &a1 = NewRecorder(), &a2 = NewRecorder(), &b1 = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(a, &a1));
  ASSERT_TRUE(hub_.Subscribe(a, &a2));
  ASSERT_TRUE(hub_.Subscribe(b, &b1));
  EXPECT_EQ(hub_.RunOnce().reads, 0);  // nothing changed yet

  jobs_.Claim();  // a
  jobs_.Claim();  // b
  const WatchHubRunResult r = hub_.RunOnce();
  EXPECT_EQ(r.reads, 1);
  EXPECT_EQ(r.failed_reads, 0);
  for (Recorder* s : {&a1, &a2, &b1}) {
    ASSERT_EQ(s->ops.size(), 1u);
    EXPECT_EQ(s->ops[0].state, core::State::kRunning);
  }
  EXPECT_EQ(a1.ops[0].id, a);
  EXPECT_EQ(b1.ops[0].id, b);
  EXPECT_EQ(hub_.RunOnce().reads, 0);  // no new notification, no read
}

TEST_F(WatchHubTest, UnsubscribedIdsAreNotReadAndUnsubscribedSubscribersNotCalled) {
  const std::string id = jobs_.Insert();
  Recorder& s = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &s));
  hub_.Unsubscribe(id, &s);
  jobs_.Claim();
  EXPECT_EQ(hub_.RunOnce().reads, 0);
  EXPECT_TRUE(s.ops.empty());
  EXPECT_EQ(hub_.Subscribers(), 0);
}

TEST_F(WatchHubTest, TheRefreshReReadsWithoutNotifications) {
  const std::string id = jobs_.Insert();
  Recorder& s = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &s));
  store_.SetChangeObserver(nullptr);  // every notification is lost
  jobs_.Claim();
  EXPECT_EQ(hub_.RunOnce().reads, 0);
  clock_.Advance(WatchHubConfig().refresh_interval);
  EXPECT_EQ(hub_.RunOnce().reads, 1);
  ASSERT_EQ(s.ops.size(), 1u);
  EXPECT_EQ(s.ops[0].state, core::State::kRunning);
}

TEST_F(WatchHubTest, ADeletedOperationClosesItsSubscribersWithNotFound) {
  const std::string id = jobs_.Insert();
  jobs_.Claim();
  jobs_.Complete(id);
  Recorder& s = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &s, clock_.Now() + absl::Seconds(1)));
  ASSERT_TRUE(store_.OperationDelete({.id = id}).ok());  // deletes notify nothing
  hub_.OnListenerConnected();                            // ... but a re-read finds it gone
  hub_.RunOnce();
  ASSERT_EQ(s.closed.size(), 1u);
  EXPECT_EQ(s.closed[0].code(), absl::StatusCode::kNotFound) << s.closed[0];
  EXPECT_EQ(hub_.Subscribers(), 0);
  clock_.Advance(absl::Seconds(2));
  hub_.RunOnce();
  EXPECT_EQ(s.deadlines, 0);  // its deadline went with it
}

TEST_F(WatchHubTest, DeadlinesFireOnceWhenTheClockPassesThem) {
  const std::string id = jobs_.Insert();
  Recorder &early = NewRecorder(), &late = NewRecorder(), &none = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &early, clock_.Now() + absl::Seconds(1)));
  ASSERT_TRUE(hub_.Subscribe(id, &late, clock_.Now() + absl::Seconds(3)));
  ASSERT_TRUE(hub_.Subscribe(id, &none));
  EXPECT_EQ(hub_.RunOnce().next_run, clock_.Now() + absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(hub_.RunOnce().deadlines, 1);
  EXPECT_EQ(early.deadlines, 1);
  EXPECT_EQ(late.deadlines, 0);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(hub_.RunOnce().deadlines, 1);
  EXPECT_EQ(hub_.RunOnce().deadlines, 0);
  EXPECT_EQ(early.deadlines, 1);
  EXPECT_EQ(late.deadlines, 1);
  EXPECT_EQ(none.deadlines, 0);
}

TEST_F(WatchHubTest, ShutdownClosesEverySubscriberWithUnavailableAndRefusesNewOnes) {
  const std::string id = jobs_.Insert();
  std::vector<Recorder*> subs;
  for (int i = 0; i < 5; ++i) {
    subs.push_back(&NewRecorder());
    ASSERT_TRUE(hub_.Subscribe(id, subs.back()));
  }
  hub_.Shutdown();
  for (const Recorder* s : subs) {
    ASSERT_EQ(s->closed.size(), 1u);
    EXPECT_EQ(s->closed[0].code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_FALSE(hub_.Subscribe(id, &NewRecorder()));
  hub_.Shutdown();  // idempotent
  EXPECT_EQ(subs[0]->closed.size(), 1u);
}

// The outage defect: a failed re-read used to put its ids back and re-read at once, so a
// hub with open watches spun on a database that was down. Ten seconds of outage driven in
// 10 ms steps (1,000 passes) must cost a handful of reads.
TEST_F(WatchHubTest, AnOutageCostsFewReadsAndTheStateArrivesOnceTheStoreIsBack) {
  std::vector<std::string> ids;
  std::vector<Recorder*> subs;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(jobs_.Insert());
    subs.push_back(&NewRecorder());
    ASSERT_TRUE(hub_.Subscribe(ids.back(), subs.back()));
  }
  store_.SetUnavailableForTest(true);
  hub_.OnListenerConnected();  // everything dirty
  int reads = 0, failed = 0;
  for (int step = 0; step < 1000; ++step) {
    const WatchHubRunResult r = hub_.RunOnce();
    reads += r.reads;
    failed += r.failed_reads;
    // While backing off, the hub asks to run again no sooner than its next try.
    if (r.failed_reads > 0) {
      EXPECT_GT(r.next_run, clock_.Now());
    }
    clock_.Advance(absl::Milliseconds(10));
  }
  std::cout << reads << " reads in 10 s of outage\n";
  EXPECT_EQ(reads, failed);
  // 50 ms doubling to 5 s, each shortened by up to half: 8 to 10 tries in 10 s (a busy
  // loop: 1,000).
  EXPECT_GE(reads, 5);
  EXPECT_LE(reads, 12);

  // Back: the jobs run meanwhile; the next try (at most 5 s away) delivers every state.
  store_.SetUnavailableForTest(false);
  for (size_t i = 0; i < ids.size(); ++i) jobs_.Claim();
  int delivered = 0;
  for (int step = 0; step < 600 && delivered < 100; ++step) {
    hub_.RunOnce();
    delivered = 0;
    for (const Recorder* s : subs) delivered += s->ops.empty() ? 0 : 1;
    clock_.Advance(absl::Milliseconds(10));
  }
  EXPECT_EQ(delivered, 100);
  for (const Recorder* s : subs) {
    ASSERT_FALSE(s->ops.empty());
    EXPECT_EQ(s->ops.back().state, core::State::kRunning);
    EXPECT_TRUE(s->closed.empty());
  }
}

TEST_F(WatchHubTest, AFailedReadWaitsItsBackOffButDeadlinesStillFireOnTime) {
  const std::string id = jobs_.Insert();
  Recorder &watcher = NewRecorder(), &waiter = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &watcher));
  ASSERT_TRUE(hub_.Subscribe(id, &waiter, clock_.Now() + absl::Milliseconds(20)));
  store_.SetUnavailableForTest(true);
  hub_.OnListenerConnected();
  WatchHubRunResult r = hub_.RunOnce();
  EXPECT_EQ(r.failed_reads, 1);
  EXPECT_EQ(hub_.RunOnce().reads, 0);  // no second try at once
  // The deadline (20 ms) comes before the next try (25-50 ms) and is what the hub wakes for.
  EXPECT_EQ(r.next_run, clock_.Now() + absl::Milliseconds(20));
  clock_.Advance(absl::Milliseconds(20));
  r = hub_.RunOnce();
  EXPECT_EQ(r.deadlines, 1);
  EXPECT_EQ(waiter.deadlines, 1);
  EXPECT_GT(r.next_run, clock_.Now());
  EXPECT_LE(r.next_run, clock_.Now() + absl::Milliseconds(30));
  clock_.Advance(absl::Milliseconds(30));
  EXPECT_EQ(hub_.RunOnce().failed_reads, 1);  // the second try
}

TEST_F(WatchHubTest, AListenerReconnectEndsTheBackOff) {
  const std::string id = jobs_.Insert();
  Recorder& s = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &s));
  store_.SetUnavailableForTest(true);
  hub_.OnListenerConnected();
  // Several failures: the back-off has grown to seconds.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(hub_.RunOnce().failed_reads, 1);
    clock_.Advance(absl::Seconds(5));
  }
  EXPECT_EQ(hub_.RunOnce().failed_reads, 1);
  store_.SetUnavailableForTest(false);
  jobs_.Claim();  // notified: dirty, but the back-off still runs
  EXPECT_EQ(hub_.RunOnce().reads, 0);
  hub_.OnListenerConnected();  // the database is back
  const WatchHubRunResult r = hub_.RunOnce();
  EXPECT_EQ(r.reads, 1);
  EXPECT_EQ(r.failed_reads, 0);
  ASSERT_EQ(s.ops.size(), 1u);
  EXPECT_EQ(s.ops[0].state, core::State::kRunning);
}

class WatchHubOutageTimeoutTest : public WatchHubTest {
 protected:
  WatchHubOutageTimeoutTest() : WatchHubTest({.outage_timeout = absl::Seconds(60)}) {}
};

TEST_F(WatchHubOutageTimeoutTest, SubscribersEndWithUnavailableAfterTheOutageTimeout) {
  const std::string id = jobs_.Insert();
  Recorder& s = NewRecorder();
  ASSERT_TRUE(hub_.Subscribe(id, &s));
  store_.SetUnavailableForTest(true);
  hub_.OnListenerConnected();
  int reads = 0;
  for (int step = 0; step < 590; ++step) {  // 59 s
    reads += hub_.RunOnce().reads;
    clock_.Advance(absl::Milliseconds(100));
  }
  EXPECT_TRUE(s.closed.empty());
  EXPECT_LE(reads, 40);  // tries at most every 2.5-5 s once the back-off is at its cap
  for (int step = 0; step < 100 && s.closed.empty(); ++step) {  // the next try after 60 s
    hub_.RunOnce();
    clock_.Advance(absl::Milliseconds(100));
  }
  ASSERT_EQ(s.closed.size(), 1u);
  EXPECT_EQ(s.closed[0].code(), absl::StatusCode::kUnavailable) << s.closed[0];
  EXPECT_EQ(hub_.Subscribers(), 0);
}

// The hub's own thread: a notified change is delivered without RunOnce from the test.
TEST_F(WatchHubTest, AStartedHubDeliversNotifiedChanges) {
  const std::string id = jobs_.Insert();
  absl::Mutex mu;
  std::vector<core::State> states;
  class Collect final : public WatchHub::Subscriber {
   public:
    Collect(absl::Mutex& mu, std::vector<core::State>& states) : mu_(mu), states_(states) {}
    void OnOperation(const core::Operation& op) override {
      absl::MutexLock lock(&mu_);
      states_.push_back(op.state);
    }
    void OnClosed(const absl::Status&) override {}

   private:
    absl::Mutex& mu_;
    std::vector<core::State>& states_;
  } s(mu, states);
  ASSERT_TRUE(hub_.Subscribe(id, &s));
  hub_.Start();
  jobs_.Claim();
  jobs_.Complete(id);
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](std::vector<core::State>* v) {
                                          return !v->empty() &&
                                                 v->back() == core::State::kSucceeded;
                                        },
                                        &states),
                                    absl::Seconds(30)));
  }
  hub_.Unsubscribe(id, &s);  // not under `mu`: the hub calls `s` with its own lock held
}

}  // namespace
}  // namespace longrun::api
