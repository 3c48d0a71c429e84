// OperationsLogic without PostgreSQL or gRPC: the in-memory store on a FakeClock.
#include "services/api/operations_logic.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/memory/memory_operation_store.h"

namespace longrun::api {
namespace {

const Caller kCaller;  // --auth=none: the default tenant

class OperationsLogicTest : public ::testing::Test {
 protected:
  // Prepares and inserts one Submit, as the SubmitBatcher does; returns the operation.
  core::Operation Submit(core::SubmitSpec spec = {.kind = "k"}) {
    auto params = logic_.PrepareSubmit(kCaller, spec);
    EXPECT_TRUE(params.ok()) << params.status();
    auto op = OperationsLogic::SubmitResult(store_.OperationInsert(*params));
    EXPECT_TRUE(op.ok()) << op.status();
    return op.ok() ? *op : core::Operation{};
  }
  void ClaimAll() {
    ASSERT_TRUE(store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 100}).ok());
  }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_{clock_};
  OperationsLogic logic_{store_, core::SubmitLimits{}, [this] { return clock_.Now(); }, "secret"};
};

TEST_F(OperationsLogicTest, PrepareSubmitValidatesAndResolvesDefaults) {
  EXPECT_EQ(logic_.PrepareSubmit(kCaller, {.kind = "Not A Kind"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(logic_.PrepareSubmit(kCaller, {.kind = "k", .max_attempts = 1000}).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto plain = logic_.PrepareSubmit(kCaller, {.kind = "k"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->max_attempts, core::SubmitLimits().default_max_attempts);
  EXPECT_TRUE(plain->fingerprint.empty());
  EXPECT_TRUE(core::ParseOperationName(core::OperationName(plain->id)).ok()) << plain->id;

  auto keyed = logic_.PrepareSubmit(kCaller, {.kind = "k", .request_id = "r1", .max_attempts = 3});
  ASSERT_TRUE(keyed.ok()) << keyed.status();
  EXPECT_EQ(keyed->max_attempts, 3);
  EXPECT_FALSE(keyed->fingerprint.empty());
  EXPECT_NE(keyed->id, plain->id);
}

TEST_F(OperationsLogicTest, SubmitResultPassesTheStoreErrorOn) {
  EXPECT_EQ(OperationsLogic::SubmitResult(absl::UnavailableError("down")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(OperationsLogicTest, GetReadsBackASubmitAndNamesItsErrors) {
  const core::Operation submitted = Submit();
  auto got = logic_.Get(kCaller, core::OperationName(submitted.id));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, submitted.id);
  EXPECT_EQ(got->state, core::State::kQueued);
  EXPECT_EQ(got->create_time, clock_.Now());

  EXPECT_EQ(logic_.Get(kCaller, "operations/xyz").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(logic_.Get(kCaller, "operations/01a202d1-d503-7cab-848c-e12b9472e20b").status().code(),
            absl::StatusCode::kNotFound);
  store_.SetUnavailableForTest(true);
  EXPECT_EQ(logic_.Get(kCaller, core::OperationName(submitted.id)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(OperationsLogicTest, CancelEndsQueuedWorkAndAsksRunningWorkToStop) {
  const core::Operation running = Submit();
  ClaimAll();
  const core::Operation queued = Submit();
  auto cancelled = logic_.Cancel(kCaller, core::OperationName(queued.id));
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, core::State::kCancelled);
  EXPECT_TRUE(cancelled->done());

  auto cancelling = logic_.Cancel(kCaller, core::OperationName(running.id));
  ASSERT_TRUE(cancelling.ok()) << cancelling.status();
  EXPECT_EQ(cancelling->state, core::State::kCancelling);
  EXPECT_FALSE(cancelling->done());

  // Cancelling a finished operation returns it unchanged.
  auto again = logic_.Cancel(kCaller, core::OperationName(queued.id));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, core::State::kCancelled);
  EXPECT_EQ(again->version, cancelled->version);
}

TEST_F(OperationsLogicTest, DeleteOnlyRemovesFinishedOperations) {
  const core::Operation op = Submit();
  const std::string name = core::OperationName(op.id);
  EXPECT_EQ(logic_.Delete(kCaller, name).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(logic_.Get(kCaller, name).ok());
  ASSERT_TRUE(logic_.Cancel(kCaller, name).ok());
  ASSERT_TRUE(logic_.Delete(kCaller, name).ok());
  EXPECT_EQ(logic_.Get(kCaller, name).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(logic_.Delete(kCaller, name).code(), absl::StatusCode::kNotFound);
}

TEST_F(OperationsLogicTest, ListPagesNewestFirstAndTheLastPageHasNoToken) {
  std::vector<std::string> newest_first;
  for (int i = 0; i < 5; ++i) {
    newest_first.insert(newest_first.begin(), Submit().id);
    clock_.Advance(absl::Seconds(1));
  }
  std::vector<std::string> listed;
  std::vector<size_t> page_sizes;
  ListRequest req{.page_size = 2};
  for (int page = 0; page < 10; ++page) {
    auto result = logic_.List(kCaller, req);
    ASSERT_TRUE(result.ok()) << result.status();
    page_sizes.push_back(result->operations.size());
    for (const core::Operation& op : result->operations) listed.push_back(op.id);
    if (result->next_page_token.empty()) break;
    req.page_token = result->next_page_token;
  }
  EXPECT_EQ(listed, newest_first);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST_F(OperationsLogicTest, ListFiltersAndRefusesTokensOfAnotherFilterOrSecret) {
  for (int i = 0; i < 3; ++i) Submit();
  ClaimAll();
  for (int i = 0; i < 2; ++i) Submit();
  auto running = logic_.List(kCaller, {.filter = "state = RUNNING"});
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->operations.size(), 3u);
  for (const core::Operation& op : running->operations) EXPECT_EQ(op.state, core::State::kRunning);

  auto first = logic_.List(kCaller, {.filter = "state = QUEUED", .page_size = 1});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token.empty());
  EXPECT_EQ(
      logic_
          .List(kCaller, {.filter = "state = RUNNING", .page_size = 1, .page_token = first->next_page_token})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  OperationsLogic other(
      store_, core::SubmitLimits{}, [this] { return clock_.Now(); }, "other");
  EXPECT_EQ(
      other.List(kCaller, {.filter = "state = QUEUED", .page_size = 1, .page_token = first->next_page_token})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(logic_.List(kCaller, {.name = "jobs"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(logic_.List(kCaller, {.filter = "state = = x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace longrun::api
