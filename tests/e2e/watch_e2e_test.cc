// WatchOperation and WaitOperation end to end: real binaries, real PostgreSQL.
#include <signal.h>

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/watcher.h"

namespace longrun::testing {
namespace {

using google::longrunning::Operation;
using longrun::v1::OperationMetadata;

// Checks the stream contract: versions strictly increase, exactly the last message is done.
void ExpectWellFormedStream(const std::vector<Operation>& msgs) {
  ASSERT_FALSE(msgs.empty());
  int64_t last_version = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    const int64_t v = Metadata(msgs[i]).version();
    EXPECT_GT(v, last_version) << "message " << i << " went backwards";
    last_version = v;
    EXPECT_EQ(msgs[i].done(), i + 1 == msgs.size()) << "message " << i;
  }
}

std::string Submit(Stack& stack, const std::string& kind, const std::string& input) {
  Operation op;
  grpc::Status s = stack.Submit(kind, input, &op);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return op.name();
}

TEST(WatchE2E, FourStepSleepWatchedFromAnotherReplicaStreamsSnapshotProgressAndDone) {
  TestDatabase db;
  Stack stack(db, "watch_replica");
  stack.StartApi();
  stack.StartApi();  // the watcher talks to this one; the submit and the worker use the other
  stack.StartWorker();
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 2, "steps": 4})");
  Watcher watcher(stack.v1(1), name);
  ASSERT_TRUE(watcher.Await(absl::Seconds(30)));
  EXPECT_TRUE(watcher.status().ok()) << watcher.status().error_message();
  const auto msgs = watcher.messages();
  ExpectWellFormedStream(msgs);
  std::vector<int> progress;
  for (const auto& m : msgs) {
    if (!m.done() && Metadata(m).state() == OperationMetadata::RUNNING &&
        Metadata(m).progress_percent() > 0) {
      progress.push_back(Metadata(m).progress_percent());
    }
  }
  EXPECT_EQ(progress, (std::vector<int>{25, 50, 75}));
  EXPECT_EQ(Metadata(msgs.back()).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(ResponseJson(msgs.back()), R"({"slept_seconds":2})");
}

TEST(WatchE2E, WatchingAFinishedOperationReturnsOneFinalMessage) {
  TestDatabase db;
  Stack stack(db, "watch_finished");
  stack.StartApi();
  stack.StartWorker();
  const std::string name = Submit(stack, "demo.echo", R"({"x": 1})");
  ASSERT_TRUE(stack.WaitDone(name, absl::Seconds(20)).done());
  Watcher watcher(stack.v1(), name);
  ASSERT_TRUE(watcher.Await(absl::Seconds(10)));
  EXPECT_TRUE(watcher.status().ok());
  ASSERT_EQ(watcher.messages().size(), 1u);
  EXPECT_TRUE(watcher.messages()[0].done());

  Watcher unknown(stack.v1(), "operations/01a202d1-d503-7cab-848c-e12b9472e20b");
  Watcher malformed(stack.v1(), "operations/xyz");
  ASSERT_TRUE(unknown.Await(absl::Seconds(10)));
  ASSERT_TRUE(malformed.Await(absl::Seconds(10)));
  EXPECT_EQ(unknown.status().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(malformed.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(unknown.messages().empty());
}

TEST(WatchE2E, KilledListenConnectionStillDeliversTheTerminalMessage) {
  TestDatabase db;
  Stack stack(db, "watch_listener_killed");
  // No periodic re-read within the test's lifetime: the terminal message can only come
  // through the listener's reconnect (had it not reconnected, Await would time out).
  stack.StartApi({"--watch-refresh=1h"});
  stack.StartWorker();
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3, "steps": 3})");
  std::atomic<bool> saw_progress{false};
  Watcher watcher(stack.v1(), name, [&](const Operation& op) {
    if (Metadata(op).progress_percent() > 0) saw_progress = true;
  });
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!saw_progress && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(saw_progress);
  EXPECT_EQ(db.QueryValue("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE application_name = 'longrun-api-listener' AND "
                          "datname = current_database()"),
            "1");
  ASSERT_TRUE(watcher.Await(absl::Seconds(30)));
  EXPECT_TRUE(watcher.status().ok()) << watcher.status().error_message();
  ExpectWellFormedStream(watcher.messages());
  EXPECT_TRUE(watcher.messages().back().done());
}

// No elapsed-time asserts (docs/TESTING.md): each case is checked by what was returned and
// in which order. That a short wait lasted about its timeout cannot be checked without a
// clock, so it is only printed.
TEST(WatchE2E, WaitOperationReturnsAtTheTimeoutOrWhenDone) {
  TestDatabase db;
  Stack stack(db, "wait");
  // No cap below the long wait's timeout (an hour), so only the operation finishing can end it.
  stack.StartApi({"--max-wait=2h"});
  stack.StartWorker();
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3})");

  // A short timeout answers OK with the current state, before the 3 s job is done.
  longrun::v1::WaitOperationRequest req;
  req.set_name(name);
  req.mutable_timeout()->set_nanos(500 * 1000 * 1000);
  absl::Time start = absl::Now();
  grpc::ClientContext short_ctx;
  Operation op;
  ASSERT_TRUE(stack.v1().WaitOperation(&short_ctx, req, &op).ok());
  std::cout << "WaitOperation(timeout=500ms) returned after " << absl::Now() - start << "\n";
  EXPECT_FALSE(op.done());

  // No timeout: bounded by the RPC deadline, answered (OK, not DEADLINE_EXCEEDED) before it.
  longrun::v1::WaitOperationRequest no_timeout;
  no_timeout.set_name(name);
  grpc::ClientContext deadline_ctx;
  deadline_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(700));
  EXPECT_TRUE(stack.v1().WaitOperation(&deadline_ctx, no_timeout, &op).ok());
  EXPECT_FALSE(op.done());

  // A timeout far beyond this test's CTest timeout returns done, through the standard
  // service: had it waited for its timeout instead of the operation, CTest would have killed
  // the test.
  google::longrunning::WaitOperationRequest lro_req;
  lro_req.set_name(name);
  lro_req.mutable_timeout()->set_seconds(3600);
  start = absl::Now();
  grpc::ClientContext long_ctx;
  ASSERT_TRUE(stack.lro().WaitOperation(&long_ctx, lro_req, &op).ok());
  std::cout << "WaitOperation(timeout=1h) returned done after " << absl::Now() - start << "\n";
  EXPECT_TRUE(op.done());

  lro_req.mutable_timeout()->set_seconds(-1);
  grpc::ClientContext bad_ctx;
  EXPECT_EQ(stack.lro().WaitOperation(&bad_ctx, lro_req, &op).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(WatchE2E, AThousandConcurrentWatchersAllReceiveTheirTerminalMessage) {
  TestDatabase db;
  Stack stack(db, "watch_thousand");
  stack.StartApi();
  stack.StartWorker({"--concurrency=50"});
  constexpr int kOps = 200;
  constexpr int kWatchersPerOp = 5;
  std::vector<std::string> names;
  for (int i = 0; i < kOps; ++i) {
    names.push_back(Submit(stack, "demo.sleep", R"({"seconds": 1, "steps": 2})"));
  }
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int w = 0; w < kWatchersPerOp; ++w) {
    for (const auto& name : names) watchers.push_back(std::make_unique<Watcher>(stack.v1(), name));
  }
  int terminal = 0;
  for (auto& w : watchers) {
    ASSERT_TRUE(w->Await(absl::Seconds(60)));
    ASSERT_TRUE(w->status().ok()) << w->status().error_message();
    ExpectWellFormedStream(w->messages());
    if (!w->messages().empty() && w->messages().back().done()) ++terminal;
  }
  EXPECT_EQ(terminal, kOps * kWatchersPerOp);
}

TEST(WatchE2E, SigtermEndsOpenStreamsWithUnavailableAndExitsPromptly) {
  TestDatabase db;
  Stack stack(db, "watch_shutdown");
  stack.StartApi({"--shutdown-grace=5s"});
  stack.StartWorker();
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 60})");
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 20; ++i) watchers.push_back(std::make_unique<Watcher>(stack.v1(), name));
  // Also a waiter blocked on the same operation.
  longrun::v1::WaitOperationRequest req;
  req.set_name(name);
  grpc::ClientContext wait_ctx;
  Operation waited;
  absl::Notification wait_done;
  grpc::Status wait_status;
  stack.v1().async()->WaitOperation(&wait_ctx, &req, &waited, [&](grpc::Status s) {
    wait_status = s;
    wait_done.Notify();
  });
  for (auto& w : watchers) {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (w->messages().empty() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Time start = absl::Now();
  stack.api().Signal(SIGTERM);
  auto exit_code = stack.api().Wait(absl::Seconds(15));
  std::cout << "api exited after " << absl::Now() - start << " with 20 open streams\n";
  ASSERT_TRUE(exit_code.has_value()) << "api did not exit";
  EXPECT_EQ(*exit_code, 0);
  for (auto& w : watchers) {
    ASSERT_TRUE(w->Await(absl::Seconds(5)));
    EXPECT_EQ(w->status().error_code(), grpc::StatusCode::UNAVAILABLE) << w->status().error_message();
  }
  ASSERT_TRUE(wait_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(wait_status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace longrun::testing
