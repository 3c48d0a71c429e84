// SubmitBatcher without PostgreSQL: the in-memory store on a FakeClock. Batches are made
// observable through on_created, which runs on the flusher after each batch that created
// operations: holding the first batch there lets the next Submits pile up into one batch.
#include "services/api/submit_batcher.h"

#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/memory/memory_operation_store.h"

namespace longrun::api {
namespace {

using InsertResult = absl::StatusOr<store::OperationInsertResult>;

// Collects the callbacks' results by request index.
class Results {
 public:
  explicit Results(int n) : results_(n, absl::UnknownError("no callback")) {}
  SubmitBatcher::Callback For(int i) {
    return [this, i](InsertResult r) {
      absl::MutexLock lock(&mu_);
      results_[i] = std::move(r);
      ++done_;
    };
  }
  // Waits for every callback; returns the results.
  std::vector<InsertResult> Await() {
    absl::MutexLock lock(&mu_);
    auto all_done = [this] { return done_ == static_cast<int>(results_.size()); };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(30)));
    return results_;
  }

 private:
  absl::Mutex mu_;
  int done_ = 0;
  std::vector<InsertResult> results_;
};

class SubmitBatcherTest : public ::testing::Test {
 protected:
  SubmitBatcherTest()
      : batcher_(store_, {.flushers = 1}, [this] {
          {
            absl::MutexLock lock(&mu_);
            ++batches_created_;
          }
          release_.WaitForNotification();  // hold the flusher until the test lets go
        }) {}
  ~SubmitBatcherTest() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    batcher_.Shutdown();
  }

  store::OperationInsertParams Params(const std::string& request_id = "",
                                      const std::string& kind = "k") {
    store::OperationInsertParams p;
    p.id = core::NewOperationId(clock_.Now());
    p.spec.kind = kind;
    p.spec.request_id = request_id;
    p.max_attempts = 3;
    if (!request_id.empty()) p.fingerprint = core::SubmitFingerprint(p.spec, limits_);
    return p;
  }
  // Submits one operation and waits until the flusher holds its batch in on_created.
  void HoldTheFlusher() {
    Results first(1);
    ASSERT_TRUE(batcher_.Enqueue(Params(), first.For(0)));
    ASSERT_TRUE(first.Await()[0].ok());
    absl::MutexLock lock(&mu_);
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(
                                         +[](int* n) { return *n >= 1; }, &batches_created_),
                                     absl::Seconds(30)));
  }
  int BatchesCreated() {
    absl::MutexLock lock(&mu_);
    return batches_created_;
  }

  FakeClock clock_;
  core::SubmitLimits limits_;
  store::memory::MemoryOperationStore store_{clock_};
  absl::Mutex mu_;
  int batches_created_ = 0;
  absl::Notification release_;
  SubmitBatcher batcher_;
};

TEST_F(SubmitBatcherTest, SubmitsWaitingDuringAFlushGoInOneBatch) {
  HoldTheFlusher();
  constexpr int kWaiting = 100;
  Results results(kWaiting);
  for (int i = 0; i < kWaiting; ++i) ASSERT_TRUE(batcher_.Enqueue(Params(), results.For(i)));
  release_.Notify();
  const std::vector<InsertResult> r = results.Await();
  std::set<std::string> ids;
  for (const InsertResult& one : r) {
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(one->created);
    ids.insert(one->operation.id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kWaiting));
  EXPECT_EQ(store_.SizeForTest(), kWaiting + 1);
  batcher_.Shutdown();
  EXPECT_EQ(BatchesCreated(), 2);  // the held one and one for all the others
}

TEST_F(SubmitBatcherTest, EachRequestGetsItsOwnIdempotencyResultWithinABatch) {
  HoldTheFlusher();
  Results results(4);
  const store::OperationInsertParams first = Params("r1");
  store::OperationInsertParams same = Params("r1");                // same request, another id
  store::OperationInsertParams different = Params("r1", "other");  // key reused, other request
  ASSERT_TRUE(batcher_.Enqueue(first, results.For(0)));
  ASSERT_TRUE(batcher_.Enqueue(same, results.For(1)));
  ASSERT_TRUE(batcher_.Enqueue(different, results.For(2)));
  ASSERT_TRUE(batcher_.Enqueue(Params("r2"), results.For(3)));
  release_.Notify();
  const std::vector<InsertResult> r = results.Await();
  ASSERT_TRUE(r[0].ok()) << r[0].status();
  EXPECT_TRUE(r[0]->created);
  EXPECT_EQ(r[0]->operation.id, first.id);
  ASSERT_TRUE(r[1].ok()) << r[1].status();
  EXPECT_FALSE(r[1]->created);
  EXPECT_EQ(r[1]->operation.id, first.id);
  EXPECT_EQ(r[2].status().code(), absl::StatusCode::kAlreadyExists) << r[2].status();
  ASSERT_TRUE(r[3].ok()) << r[3].status();
  EXPECT_TRUE(r[3]->created);
  EXPECT_EQ(store_.SizeForTest(), 3);  // the held one, r1 and r2
}

TEST_F(SubmitBatcherTest, AStoreErrorFailsEveryRequestOfTheBatchAndCreatesNothing) {
  HoldTheFlusher();
  store_.SetUnavailableForTest(true);
  Results results(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(batcher_.Enqueue(Params(), results.For(i)));
  release_.Notify();
  for (const InsertResult& one : results.Await()) {
    EXPECT_EQ(one.status().code(), absl::StatusCode::kUnavailable) << one.status();
  }
  store_.SetUnavailableForTest(false);
  EXPECT_EQ(store_.SizeForTest(), 1);
  batcher_.Shutdown();
  EXPECT_EQ(BatchesCreated(), 1);  // no wake-up for a batch that created nothing
}

TEST_F(SubmitBatcherTest, ShutdownFlushesWhatIsQueuedThenRefusesMore) {
  HoldTheFlusher();
  Results results(5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(batcher_.Enqueue(Params(), results.For(i)));
  release_.Notify();
  batcher_.Shutdown();
  for (const InsertResult& one : results.Await()) EXPECT_TRUE(one.ok()) << one.status();
  Results late(1);
  EXPECT_FALSE(batcher_.Enqueue(Params(), late.For(0)));
  EXPECT_EQ(store_.SizeForTest(), 6);
}

TEST(SubmitBatcherQueueTest, AFullQueueRefusesTheSubmit) {
  FakeClock clock;
  store::memory::MemoryOperationStore store(clock);
  absl::Notification release;
  absl::Notification holding;
  SubmitBatcher batcher(store, {.flushers = 1, .max_queue = 2}, [&] {
    if (!holding.HasBeenNotified()) holding.Notify();
    release.WaitForNotification();
  });
  auto params = [&] {
    store::OperationInsertParams p;
    p.id = core::NewOperationId(clock.Now());
    p.spec.kind = "k";
    p.max_attempts = 1;
    return p;
  };
  ASSERT_TRUE(batcher.Enqueue(params(), [](InsertResult) {}));
  holding.WaitForNotification();  // the flusher is busy; the queue is empty
  EXPECT_TRUE(batcher.Enqueue(params(), [](InsertResult) {}));
  EXPECT_TRUE(batcher.Enqueue(params(), [](InsertResult) {}));
  EXPECT_FALSE(batcher.Enqueue(params(), [](InsertResult) {}));
  release.Notify();
  batcher.Shutdown();
  EXPECT_EQ(store.SizeForTest(), 3);
}

}  // namespace
}  // namespace longrun::api
