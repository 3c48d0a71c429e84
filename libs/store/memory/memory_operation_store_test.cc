// What only the memory store has: its fake clock, the notifier, the change observer and the
// outage switch. Everything it shares with PostgreSQL is checked by the conformance suite
// (tests/store/operation_store_conformance.*).
#include "libs/store/memory/memory_operation_store.h"

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"

namespace longrun::store::memory {
namespace {

class MemoryStoreTest : public ::testing::Test {
 protected:
  std::string Insert(const std::string& kind = "k") {
    core::SubmitSpec spec;
    spec.kind = kind;
    auto r = store_.OperationInsert(
        {.id = core::NewOperationId(clock_.Now()), .spec = spec, .max_attempts = 3});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->operation.id : "";
  }

  FakeClock clock_;
  MemoryOperationStore store_{clock_};
};

TEST_F(MemoryStoreTest, OneJobThroughItsLifeOnTheFakeClock) {
  const absl::Time t0 = clock_.Now();
  const std::string id = Insert();
  auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .lease = absl::Seconds(30)});
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].attempt, 1);

  clock_.Advance(absl::Seconds(20));
  ASSERT_TRUE(store_.JobProgress({.id = id, .attempt = 1, .percent = 40, .message = "m"}).ok());
  clock_.Advance(absl::Seconds(20));
  google::protobuf::Struct result;
  (*result.mutable_fields())["ok"].set_bool_value(true);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 1, .response = result}).ok());

  auto op = store_.OperationGet({.id = id});
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->state, core::State::kSucceeded);
  EXPECT_EQ(op->create_time, t0);
  EXPECT_EQ(op->start_time, t0);
  EXPECT_EQ(op->end_time, t0 + absl::Seconds(40));
  EXPECT_EQ(op->version, 4);  // insert, claim, progress, completion
  ASSERT_EQ(op->attempts.size(), 1u);
  EXPECT_EQ(op->attempts[0].start_time, t0);
  EXPECT_EQ(op->attempts[0].end_time, t0 + absl::Seconds(40));
}

TEST_F(MemoryStoreTest, TimesAreKeptInMicroseconds) {
  clock_.Advance(absl::Nanoseconds(1500));
  const std::string id = Insert();
  EXPECT_EQ(store_.OperationGet({.id = id})->create_time,
            absl::FromUnixSeconds(1'800'000'000) + absl::Microseconds(1));
}

TEST_F(MemoryStoreTest, UnavailableRefusesEverythingAndChangesNothing) {
  const std::string id = Insert();
  store_.SetUnavailableForTest(true);
  EXPECT_EQ(store_.OperationGet({.id = id}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.JobClaim({.worker_id = "w", .kinds = {"k"}}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.OperationCancel({.id = id}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.JobWake().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.OperationInsert({.id = core::NewOperationId(clock_.Now()),
                                    .spec = {.kind = "k"}, .max_attempts = 1})
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  store_.SetUnavailableForTest(false);
  auto op = store_.OperationGet({.id = id});
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->state, core::State::kQueued);
  EXPECT_EQ(op->version, 1);
  EXPECT_EQ(store_.SizeForTest(), 1);
}

// Counts notifier callbacks and lets a test wait for them.
struct Calls {
  absl::Mutex mu;
  int wakes = 0;
  std::vector<std::string> cancels;

  bool WaitFor(int min_wakes, size_t min_cancels) {
    absl::MutexLock lock(&mu);
    auto reached = [&] { return wakes >= min_wakes && cancels.size() >= min_cancels; };
    return mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
  int Wakes() {
    absl::MutexLock lock(&mu);
    return wakes;
  }
};

TEST_F(MemoryStoreTest, NotifierWakesOnNewWorkAndTellsCancellations) {
  Calls calls;
  MemoryJobNotifier notifier(store_);
  notifier.Start(
      [&] {
        absl::MutexLock lock(&calls.mu);
        ++calls.wakes;
      },
      [&](const std::string& id) {
        absl::MutexLock lock(&calls.mu);
        calls.cancels.push_back(id);
      });
  ASSERT_TRUE(calls.WaitFor(1, 0));  // once after Start, like a listener connecting
  int seen = calls.Wakes();

  const std::string id = Insert();
  ASSERT_TRUE(calls.WaitFor(seen + 1, 0));
  seen = calls.Wakes();
  ASSERT_TRUE(store_.JobWake().ok());
  ASSERT_TRUE(calls.WaitFor(seen + 1, 0));
  seen = calls.Wakes();

  ASSERT_EQ(store_.JobClaim({.worker_id = "w", .kinds = {"k"}})->size(), 1u);
  ASSERT_TRUE(store_.JobRelease({id, 1}).ok());
  ASSERT_TRUE(calls.WaitFor(seen + 1, 0));
  seen = calls.Wakes();

  ASSERT_EQ(store_.JobClaim({.worker_id = "w", .kinds = {"k"}})->size(), 1u);
  ASSERT_TRUE(store_.OperationCancel({.id = id}).ok());
  ASSERT_TRUE(calls.WaitFor(seen, 1));
  {
    absl::MutexLock lock(&calls.mu);
    EXPECT_EQ(calls.cancels, std::vector<std::string>{id});
  }
  seen = calls.Wakes();

  store_.SetUnavailableForTest(true);
  store_.SetUnavailableForTest(false);  // "reconnected": look for work again
  ASSERT_TRUE(calls.WaitFor(seen + 1, 0));

  notifier.Stop();
  seen = calls.Wakes();
  Insert();
  ASSERT_TRUE(store_.JobWake().ok());
  EXPECT_EQ(calls.Wakes(), seen);  // a stopped notifier is never called
}

TEST_F(MemoryStoreTest, NotifierCallbacksMayCallTheStore) {
  std::atomic<int> claimed{0};
  absl::Notification done;
  MemoryJobNotifier notifier(store_);
  notifier.Start(
      [&] {
        auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 10});
        if (jobs.ok()) claimed += static_cast<int>(jobs->size());
        if (claimed.load() == 3 && !done.HasBeenNotified()) done.Notify();
      },
      [](const std::string&) {});
  for (int i = 0; i < 3; ++i) Insert();
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  notifier.Stop();
}

TEST_F(MemoryStoreTest, ChangeObserverSeesUpdatesButNotInsertsOrDeletes) {
  std::vector<std::string> payloads;
  store_.SetChangeObserver([&](const std::string& p) { payloads.push_back(p); });
  const std::string a = Insert();
  const std::string b = Insert();
  EXPECT_TRUE(payloads.empty());
  ASSERT_EQ(store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 2})->size(), 2u);
  ASSERT_EQ(payloads.size(), 1u);
  const std::set<std::string> both = {a + "," + b, b + "," + a};
  EXPECT_EQ(both.count(payloads[0]), 1u) << payloads[0];
  ASSERT_TRUE(store_.JobHeartbeat({.jobs = {{a, 1}}}).ok());  // reported, like the trigger
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(payloads[1], a);
  ASSERT_TRUE(store_.JobComplete({.id = a, .attempt = 1, .response = google::protobuf::Struct()}).ok());
  ASSERT_TRUE(store_.OperationDelete({.id = a}).ok());
  EXPECT_EQ(payloads.size(), 3u);
  store_.SetChangeObserver(nullptr);
  ASSERT_TRUE(store_.JobProgress({.id = b, .attempt = 1, .percent = 5}).ok());
  EXPECT_EQ(payloads.size(), 3u);
}

TEST_F(MemoryStoreTest, PayloadsTakeTheJsonbRoundTrip) {
  core::SubmitSpec spec;
  spec.kind = "k";
  (*spec.input.mutable_fields())["n"].set_number_value(std::nan(""));
  auto r = store_.OperationInsert(
      {.id = core::NewOperationId(clock_.Now()), .spec = spec, .max_attempts = 1});
  ASSERT_TRUE(r.ok()) << r.status();
  auto input = store_.InputForTest(r->operation.id);
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(input->fields().at("n").string_value(), "NaN");

  (*spec.input.mutable_fields())["s"].set_string_value(std::string("a\0b", 3));
  EXPECT_EQ(store_.OperationInsert(
                      {.id = core::NewOperationId(clock_.Now()), .spec = spec, .max_attempts = 1})
                .status()
                .code(),
            absl::StatusCode::kInternal);
}

TEST_F(MemoryStoreTest, ConcurrentClaimersNeverShareAJob) {
  constexpr int kJobs = 400;
  for (int i = 0; i < kJobs; ++i) Insert();
  absl::Mutex mu;
  std::multiset<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 7});
        ASSERT_TRUE(jobs.ok());
        if (jobs->empty()) return;
        absl::MutexLock lock(&mu);
        for (const ClaimedJob& j : *jobs) seen.insert(j.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(kJobs));
}

}  // namespace
}  // namespace longrun::store::memory
