// Worker robustness under faults: crashes, stalls, long jobs, drains. Each scenario ends with
// an invariant check over every operation, and prints its figures.
#include <signal.h>
#include <stdlib.h>

#include <map>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"

namespace longrun::testing {
namespace {

using google::longrunning::Operation;
using longrun::v1::OperationMetadata;

// Fast leases so rescue happens within seconds.
const std::vector<std::string> kFastLeases = {"--lease-duration=2s", "--heartbeat-interval=400ms",
                                              "--rescue-interval=300ms"};

std::vector<std::string> Args(std::vector<std::string> extra) {
  std::vector<std::string> all = kFastLeases;
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

std::string Submit(Stack& stack, const std::string& kind, const std::string& input,
                   longrun::v1::SubmitRequest base = {}) {
  Operation op;
  grpc::Status s = stack.Submit(kind, input, &op, base);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return op.name();
}

// Records the first terminal state seen for each operation, so the final check can prove
// terminal states never changed.
class TerminalTracker {
 public:
  explicit TerminalTracker(const TestDatabase& db) : db_(db) {}
  void Sample() {
    pqxx_rows_ = db_.QueryValue(
        "SELECT string_agg(id::text || '=' || state::text || '@' || version, ',') FROM operations "
        "WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')");
    for (absl::string_view item : absl::StrSplit(pqxx_rows_, ',', absl::SkipEmpty())) {
      const size_t eq = item.find('=');
      std::string id(item.substr(0, eq));
      std::string rest(item.substr(eq + 1));
      auto [it, inserted] = first_.emplace(id, rest);
      if (!inserted && it->second != rest) changed_.push_back(id + ": " + it->second + " -> " + rest);
    }
  }
  const std::vector<std::string>& changed() const { return changed_; }

 private:
  const TestDatabase& db_;
  std::string pqxx_rows_;
  std::map<std::string, std::string> first_;
  std::vector<std::string> changed_;
};

void WaitAllTerminal(const TestDatabase& db, absl::Duration timeout, TerminalTracker* tracker) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (tracker) tracker->Sample();
    if (db.QueryValue("SELECT count(*) FROM operations WHERE state NOT IN "
                      "('SUCCEEDED', 'FAILED', 'CANCELLED')") == "0") {
      return;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

TEST(FaultE2E, KillNineWorkersRepeatedlyLosesNothing) {
  TestDatabase db;
  Stack stack(db, "fault_kill9");
  stack.StartApi();
  constexpr int kConcurrency = 8;
  const auto worker_args = Args({absl::StrCat("--concurrency=", kConcurrency)});
  stack.StartWorker(worker_args);
  stack.StartWorker(worker_args);
  constexpr int kJobs = 400;
  for (int i = 0; i < kJobs; ++i) {
    Submit(stack, "demo.sleep", R"({"seconds": 0.2, "steps": 2})");
  }
  TerminalTracker tracker(db);
  absl::BitGen gen(std::seed_seq{42});
  int kills = 0;
  std::vector<std::unique_ptr<ChildProcess>> graveyard;
  // Kill a random live worker every ~700ms while work remains, restarting it each time.
  for (int round = 0; round < 8; ++round) {
    absl::SleepFor(absl::Milliseconds(700));
    tracker.Sample();
    if (db.QueryValue("SELECT count(*) FROM operations WHERE state IN ('QUEUED','RUNNING')") == "0") break;
    const int victim = absl::Uniform(gen, 0, 2);
    stack.worker(victim).Signal(SIGKILL);
    stack.worker(victim).Wait(absl::Seconds(5));
    ++kills;
    stack.StartWorker(worker_args);  // replacement
  }
  const absl::Time start = absl::Now();
  WaitAllTerminal(db, absl::Seconds(120), &tracker);
  tracker.Sample();
  const std::string succeeded =
      db.QueryValue("SELECT count(*) FROM operations WHERE state = 'SUCCEEDED'");
  const int reruns = std::stoi(db.QueryValue("SELECT coalesce(sum(attempt - 1), 0) FROM operations"));
  const std::string rescued = db.QueryValue(
      "SELECT count(*) FROM operations, jsonb_array_elements(attempts) a "
      "WHERE a->>4 = 'LEASE_EXPIRED'");
  std::cout << "kill -9: jobs=" << kJobs << " kills=" << kills << " re-runs=" << reruns
            << " lease-expired attempts=" << rescued << " drained " << absl::Now() - start
            << " after the last kill\n";
  EXPECT_EQ(succeeded, std::to_string(kJobs));
  EXPECT_LE(reruns, kills * kConcurrency);
  EXPECT_TRUE(tracker.changed().empty()) << tracker.changed().front();
}

TEST(FaultE2E, StalledWorkerCannotOverwriteTheResultOfTheAttemptThatReplacedIt) {
  TestDatabase db;
  Stack stack(db, "fault_sigstop");
  stack.StartApi();
  stack.StartWorker(Args({"--concurrency=1"}));
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3})");
  // Wait until worker 0 runs it, then freeze worker 0 past its lease.
  Operation op = stack.WaitRunning(name);
  ASSERT_EQ(Metadata(op).state(), OperationMetadata::RUNNING);
  stack.worker(0).Signal(SIGSTOP);
  const absl::Time stopped = absl::Now();
  stack.StartWorker(Args({"--concurrency=1"}));
  const Operation done = stack.WaitDone(name, absl::Seconds(30));
  ASSERT_TRUE(done.done());
  std::cout << "stalled worker's job finished by another worker " << absl::Now() - stopped
            << " after SIGSTOP\n";
  EXPECT_EQ(Metadata(done).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(Metadata(done).attempt(), 2);
  stack.worker(0).Signal(SIGCONT);
  // Worker 0's handler finishes now; its completion must change nothing.
  absl::SleepFor(absl::Seconds(4));
  Operation after;
  ASSERT_TRUE(stack.Get(name, &after).ok());
  EXPECT_EQ(Metadata(after).version(), Metadata(done).version());
  EXPECT_EQ(Metadata(after).attempt(), 2);
  EXPECT_EQ(ResponseJson(after), ResponseJson(done));
  const std::string log = stack.worker(0).Log();
  EXPECT_TRUE(log.find("job_abandoned") != std::string::npos ||
              log.find("completion_fenced") != std::string::npos)
      << log;
  EXPECT_TRUE(stack.worker(0).Running());
}

// A job three times longer than the lease: heartbeats keep it. The next test runs the same
// job without heartbeats and shows it losing its lease, so this check can fail.
void RunLongJobWithHeartbeats(int* attempt_out) {
  const bool heartbeats = true;
  TestDatabase db;
  Stack stack(db, "fault_long_hb");
  stack.StartApi();
  std::vector<std::string> args = {"--lease-duration=1s", "--heartbeat-interval=250ms",
                                   "--rescue-interval=200ms", "--concurrency=2"};
  stack.StartWorker(args);
  stack.StartWorker(args);
  longrun::v1::SubmitRequest req;
  req.set_max_attempts(1);  // without heartbeats the rescuer fails it instead of re-running forever
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3, "steps": 3})", req);
  const Operation done = stack.WaitDone(name, absl::Seconds(30));
  ASSERT_TRUE(done.done());
  const auto md = Metadata(done);
  *attempt_out = md.attempts_size();
  if (heartbeats) {
    EXPECT_EQ(md.state(), OperationMetadata::SUCCEEDED);
    EXPECT_EQ(md.attempt(), 1);
    ASSERT_EQ(md.attempts_size(), 1);
    EXPECT_EQ(md.attempts(0).outcome(), "SUCCEEDED");
  }
}

TEST(FaultE2E, JobThreeTimesTheLeaseWithHeartbeatsIsNeverRerun) {
  int attempts = 0;
  RunLongJobWithHeartbeats(&attempts);
  EXPECT_EQ(attempts, 1);
}

TEST(FaultE2E, WithoutHeartbeatsTheSameJobLosesItsLease) {
  TestDatabase db;
  Stack stack(db, "fault_long_nohb");
  stack.StartApi();
  std::vector<std::string> args = {"--lease-duration=1s", "--rescue-interval=200ms",
                                    "--concurrency=2"};
  // The test hook is an environment variable (not a flag, so it stays out of --help); the
  // child inherits it.
  setenv("LONGRUN_TEST_DISABLE_HEARTBEATS", "1", 1);
  stack.StartWorker(args);
  unsetenv("LONGRUN_TEST_DISABLE_HEARTBEATS");
  longrun::v1::SubmitRequest req;
  req.set_max_attempts(1);
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3, "steps": 3})", req);
  const Operation done = stack.WaitDone(name, absl::Seconds(30));
  ASSERT_TRUE(done.done());
  const auto md = Metadata(done);
  EXPECT_EQ(md.state(), OperationMetadata::FAILED);
  ASSERT_GE(md.attempts_size(), 1);
  EXPECT_EQ(md.attempts(0).outcome(), "LEASE_EXPIRED");
}

// SIGTERM to worker 0; it must exit with status 0 within `timeout`.
void ExpectCleanExitOnSigterm(Stack& stack, absl::Duration timeout) {
  stack.worker(0).Signal(SIGTERM);
  const auto code = stack.worker(0).Wait(timeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

TEST(FaultE2E, SigtermDuringARunningJobFinishesItAndExitsZero) {
  TestDatabase db;
  Stack stack(db, "fault_sigterm");
  stack.StartApi();
  stack.StartWorker({"--shutdown-grace=10s"});
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 2, "steps": 2})");
  Operation op = stack.WaitRunning(name);
  ExpectCleanExitOnSigterm(stack, absl::Seconds(15));
  ASSERT_TRUE(stack.Get(name, &op).ok());
  EXPECT_TRUE(op.done());
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(Metadata(op).attempt(), 1);
}

TEST(FaultE2E, DrainPastTheGraceHandsTheJobBackWithoutBurningAnAttempt) {
  TestDatabase db;
  Stack stack(db, "fault_drain_handback");
  stack.StartApi();
  stack.StartWorker({"--shutdown-grace=300ms"});
  const std::string name = Submit(stack, "demo.sleep", R"({"seconds": 3})");
  Operation op = stack.WaitRunning(name);
  const absl::Time start = absl::Now();
  ExpectCleanExitOnSigterm(stack, absl::Seconds(10));
  std::cout << "worker drained in " << absl::Now() - start << "\n";
  ASSERT_TRUE(stack.Get(name, &op).ok());
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::QUEUED);
  EXPECT_EQ(Metadata(op).attempt(), 0);
  stack.StartWorker();
  const Operation done = stack.WaitDone(name, absl::Seconds(20));
  EXPECT_EQ(Metadata(done).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(Metadata(done).attempt(), 1);
}

TEST(FaultE2E, RetriesTimeoutsAndUnservedKinds) {
  TestDatabase db;
  Stack stack(db, "fault_retries");
  stack.StartApi();
  stack.StartWorker({"--schedule-to-start=2s", "--rescue-interval=300ms"});
  longrun::v1::SubmitRequest five, three, timed;
  five.set_max_attempts(5);
  three.set_max_attempts(3);
  timed.mutable_timeout()->set_seconds(1);
  timed.set_max_attempts(1);
  const std::string ok3 = Submit(stack, "demo.fail", R"({"failures": 2})", five);
  const std::string fails = Submit(stack, "demo.fail", R"({"failures": 10})", three);
  const std::string permanent = Submit(stack, "demo.fail", R"({"failures": 10, "permanent": true})", five);
  const std::string timeout = Submit(stack, "demo.sleep", R"({"seconds": 10})", timed);
  const std::string unserved = Submit(stack, "nobody.serves.this", "{}");

  Operation op = stack.WaitDone(ok3, absl::Seconds(30));
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::SUCCEEDED);
  EXPECT_EQ(ResponseJson(op), R"({"attempt":3})");
  EXPECT_EQ(Metadata(op).attempts_size(), 3);

  op = stack.WaitDone(fails, absl::Seconds(30));
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::FAILED);
  EXPECT_EQ(Metadata(op).attempt(), 3);
  EXPECT_EQ(op.error().code(), 14);
  EXPECT_NE(op.error().message().find("attempt 3"), std::string::npos) << op.error().message();

  op = stack.WaitDone(permanent, absl::Seconds(30));
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::FAILED);
  EXPECT_EQ(Metadata(op).attempt(), 1);
  EXPECT_EQ(op.error().code(), 9);

  op = stack.WaitDone(timeout, absl::Seconds(30));
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::FAILED);
  EXPECT_EQ(op.error().code(), 4);

  op = stack.WaitDone(unserved, absl::Seconds(30));
  EXPECT_EQ(Metadata(op).state(), OperationMetadata::FAILED);
  EXPECT_EQ(op.error().code(), 4);
  EXPECT_NE(op.error().message().find("nobody.serves.this"), std::string::npos) << op.error().message();
}

// Retries become due without a NOTIFY; only the worker's poll finds them. Handlers that
// keep finishing (each one wakes the dispatcher) must not keep postponing that poll: here 30
// jobs end one every 100ms for 3s while a retry is due after at most 200ms. With the poll
// postponed by every completion, the retry started only after the last of them ended (about
// a second after); with a poll deadline it starts while they are still finishing. Compared
// as an order of events on the database's clock, not as a duration.
TEST(FaultE2E, RetryDueWhileOtherJobsKeepFinishingIsNotPostponed) {
  TestDatabase db;
  Stack stack(db, "fault_retry_poll");
  stack.StartApi();
  stack.StartWorker({"--concurrency=31", "--poll-interval=1s", "--retry-base=200ms",
                     "--retry-cap=200ms"});
  for (int i = 1; i <= 30; ++i) {
    Submit(stack, "demo.sleep", absl::StrCat(R"({"seconds": )", 0.1 * i, "}"));
  }
  longrun::v1::SubmitRequest three;
  three.set_max_attempts(3);
  const std::string retried = Submit(stack, "demo.fail", R"({"failures": 1})", three);
  WaitAllTerminal(db, absl::Seconds(30), nullptr);
  const Operation op = stack.WaitDone(retried, absl::Seconds(5));
  ASSERT_EQ(Metadata(op).state(), OperationMetadata::SUCCEEDED);
  ASSERT_EQ(Metadata(op).attempts_size(), 2);
  const std::string id = retried.substr(retried.find('/') + 1);
  const int64_t retry_start_us = std::stoll(
      db.QueryValue("SELECT attempts->1->>2 FROM operations WHERE id = '" + id + "'"));
  const int64_t last_end_us = std::stoll(db.QueryValue(
      "SELECT (max(extract(epoch from end_time)) * 1000000)::int8 FROM operations "
      "WHERE kind = 'demo.sleep'"));
  std::cout << "retry started " << absl::Microseconds(last_end_us - retry_start_us)
            << " before the last other job ended\n";
  EXPECT_LT(retry_start_us, last_end_us)
      << "the retry was not started until the other jobs stopped finishing";
}

}  // namespace
}  // namespace longrun::testing
