// LeaseBroker and RemoteWorkers over the in-memory store on a fake clock: no PostgreSQL.
#include "services/api/remote_workers.h"

#include <deque>
#include <optional>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/memory/memory_operation_store.h"
#include "services/api/lease_broker.h"

namespace longrun::api {
namespace {

using Answer = std::optional<absl::StatusOr<std::vector<store::ClaimedJob>>>;

class RemoteTest : public ::testing::Test {
 protected:
  RemoteTest()
      : store_(clock_),
        broker_(store_, {.poll_interval = absl::Seconds(1)}, clock_),
        remote_(store_,
                {.token_secret = "secret",
                 .retry = {.base = absl::Seconds(5), .cap = absl::Seconds(5)}},
                clock_) {}

  // CompleteJob, waiting for its batch to be recorded.
  absl::Status Complete(const std::string& token, absl::StatusOr<google::protobuf::Struct> result,
                        bool retryable) {
    absl::Notification done;
    absl::Status out;
    remote_.Complete(token, std::move(result), retryable, [&](absl::Status s) {
      out = std::move(s);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return out;
  }

  std::string Insert(const std::string& kind = "k.a", int32_t max_attempts = 3,
                     std::optional<absl::Duration> timeout = std::nullopt) {
    store::OperationInsertParams p{.id = core::NewOperationId(clock_.Now())};
    p.spec.kind = kind;
    p.spec.timeout = timeout;
    p.spec.queue = "default";
    p.max_attempts = max_attempts;
    EXPECT_TRUE(store_.OperationInsert(p).ok());
    clock_.Advance(absl::Milliseconds(1));
    return p.id;
  }
  core::Operation Get(const std::string& id) { return *store_.OperationGet({.id = id}); }

  // A LeaseJobs call; its answer lands in `*answer`.
  uint64_t Lease(std::optional<absl::StatusOr<std::vector<store::ClaimedJob>>>* answer,
                 int32_t max_jobs = 1, absl::Duration wait = absl::Seconds(10),
                 std::vector<std::string> kinds = {"k.a"}) {
    auto request = remote_.PrepareLease(
        {.worker_id = "py-1", .kinds = std::move(kinds), .max_jobs = max_jobs, .wait = wait});
    EXPECT_TRUE(request.ok()) << request.status();
    return broker_.Lease(*request, [answer](auto jobs) { *answer = std::move(jobs); });
  }

  // Where answers land; declared before broker_, whose shutdown still answers waiters.
  Answer& NewAnswer() { return answers_.emplace_back(); }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_;
  std::deque<Answer> answers_;
  LeaseBroker broker_;
  RemoteWorkers remote_;
};

TEST_F(RemoteTest, ALeaseReturnsAtOnceWhenJobsAreRunnable) {
  Insert();
  Insert();
  Answer& answer = NewAnswer();
  Lease(&answer, /*max_jobs=*/5);
  const LeaseRunResult r = broker_.RunOnce();
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok());
  EXPECT_EQ((*answer)->size(), 2u);
  EXPECT_EQ(r.claims, 1);
  EXPECT_EQ(broker_.waiting(), 0u);
}

TEST_F(RemoteTest, ALongPollWaitsForAWakeUpAndIdlePollsCostOneClaimPerInterval) {
  std::vector<Answer*> answers;
  for (int i = 0; i < 1000; ++i) {
    answers.push_back(&NewAnswer());
    Lease(answers.back(), /*max_jobs=*/10);
  }
  LeaseRunResult r = broker_.RunOnce();  // every newcomer group is tried once: one claim
  EXPECT_EQ(r.claims, 1);
  EXPECT_EQ(broker_.waiting(), 1000u);
  r = broker_.RunOnce();  // nothing new: no claim at all
  EXPECT_EQ(r.claims, 0);
  // More idle long polls arriving at a dry queue cost nothing either.
  std::vector<Answer*> late;
  for (int i = 0; i < 100; ++i) {
    late.push_back(&NewAnswer());
    Lease(late.back(), 10);
  }
  EXPECT_EQ(broker_.RunOnce().claims, 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(broker_.RunOnce().claims, 1);  // the poll: one claim for a thousand waiters
  // One job arrives and its NOTIFY wakes the broker: the oldest waiter gets it, and its
  // short batch tells the broker the queue is dry (one claim, not one per waiter).
  Insert();
  broker_.Wake();
  r = broker_.RunOnce();
  EXPECT_EQ(r.claims, 1);
  EXPECT_EQ(r.leased, 1);
  ASSERT_TRUE(answers[0]->has_value());
  EXPECT_EQ((**answers[0])->size(), 1u);
  EXPECT_FALSE(answers[1]->has_value());
  // Their wait runs out: empty answers.
  clock_.Advance(absl::Seconds(10));
  r = broker_.RunOnce();
  EXPECT_EQ(r.expired, 1099);
  ASSERT_TRUE(answers[999]->has_value());
  EXPECT_TRUE((**answers[999])->empty());
}

TEST_F(RemoteTest, AFullBatchLetsTheNextWaiterTry) {
  for (int i = 0; i < 3; ++i) Insert();
  Answer& first = NewAnswer();
  Answer& second = NewAnswer();
  Answer& third = NewAnswer();
  Lease(&first, 2);
  Lease(&second, 2);
  Lease(&third, 2);
  const LeaseRunResult r = broker_.RunOnce();
  EXPECT_EQ(r.leased, 3);
  EXPECT_EQ((*first)->size(), 2u);
  EXPECT_EQ((*second)->size(), 1u);
  EXPECT_FALSE(third.has_value());  // the second batch was short: the queue is dry
}

TEST_F(RemoteTest, ACancelledWaiterIsNeverAnswered) {
  Answer& answer = NewAnswer();
  const uint64_t handle = Lease(&answer);
  EXPECT_TRUE(broker_.Cancel(handle));
  Insert();
  broker_.Wake();
  broker_.RunOnce();
  EXPECT_FALSE(answer.has_value());
  EXPECT_FALSE(broker_.Cancel(handle));
}

TEST_F(RemoteTest, WaitersHearOfAnOutageAndOfShutdown) {
  Answer& during_outage = NewAnswer();
  Answer& at_shutdown = NewAnswer();
  store_.SetUnavailableForTest(true);
  Lease(&during_outage);
  broker_.RunOnce();
  ASSERT_TRUE(during_outage.has_value());
  EXPECT_EQ(during_outage->status().code(), absl::StatusCode::kUnavailable);
  store_.SetUnavailableForTest(false);
  Lease(&at_shutdown);
  broker_.Shutdown();
  ASSERT_TRUE(at_shutdown.has_value());
  EXPECT_EQ(at_shutdown->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RemoteTest, RequestsAreValidatedNamingTheField) {
  auto bad = [&](LeaseJobsInput in, const std::string& field) {
    auto r = remote_.PrepareLease(std::move(in));
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().substr(0, field.size()), field) << r.status();
  };
  bad({.worker_id = "", .kinds = {"k.a"}}, "worker_id");
  bad({.worker_id = "w", .kinds = {}}, "kinds");
  bad({.worker_id = "w", .kinds = {"Bad Kind"}}, "kinds");
  bad({.worker_id = "w", .kinds = {"k.a"}, .queues = {"UPPER"}}, "queues");
  bad({.worker_id = "w", .kinds = {"k.a"}, .max_jobs = 1001}, "max_jobs");
  bad({.worker_id = "w", .kinds = {"k.a"}, .wait = absl::Seconds(-1)}, "wait");
  bad({.worker_id = "w", .kinds = {"k.a"}, .lease = absl::Milliseconds(10)}, "lease_duration");
  auto ok = remote_.PrepareLease(
      {.worker_id = "w", .kinds = {"k.b", "k.a", "k.b"}, .wait = absl::Minutes(5)});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kinds, (std::vector<std::string>{"k.a", "k.b"}));
  EXPECT_EQ(ok->deadline, clock_.Now() + absl::Seconds(30));  // capped
  EXPECT_EQ(ok->max_jobs, 1);
}

// The lifecycle of one remote lease: heartbeats extend it and park progress (written once
// per flush), a failure is retried with back-off and carries the last progress, a stale
// completion is refused and changes nothing.
TEST_F(RemoteTest, HeartbeatProgressCompleteAndFencing) {
  const std::string id = Insert("k.a", /*max_attempts=*/2);
  Answer& answer = NewAnswer();
  Lease(&answer);
  broker_.RunOnce();
  const LeasedJob leased = remote_.Leased((**answer)[0], absl::Seconds(30));
  const std::string token = leased.lease_token;
  EXPECT_EQ(leased.job.id, id);
  EXPECT_EQ(leased.lease_expire_time, clock_.Now() + absl::Seconds(30));

  const int64_t version = Get(id).version;
  for (int i = 1; i <= 100; ++i) {
    auto hb = remote_.Heartbeat({{token, store::JobProgressValue{i, "step"}}});
    ASSERT_TRUE(hb.ok());
    EXPECT_FALSE((*hb)[0].lost);
  }
  EXPECT_EQ(Get(id).version, version);  // leases extended, no progress written yet
  EXPECT_EQ(remote_.FlushProgress().written, 1);
  EXPECT_EQ(Get(id).version, version + 1);  // one write for a hundred reports
  EXPECT_EQ(Get(id).progress_percent, 100);
  EXPECT_EQ(remote_.FlushProgress().written, 0);

  // Forged and foreign tokens are refused.
  std::string forged = token;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(remote_.Heartbeat({{forged, std::nullopt}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Complete(forged, google::protobuf::Struct(), true).code(),
            absl::StatusCode::kInvalidArgument);

  // A retryable failure with progress still parked.
  ASSERT_TRUE(remote_.Heartbeat({{token, store::JobProgressValue{42, "almost"}}}).ok());
  ASSERT_TRUE(Complete(token, absl::UnavailableError("flaky"), true).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kRetryWait);
  EXPECT_EQ(op.progress_percent, 42);
  // The same token again: the attempt is over.
  EXPECT_EQ(Complete(token, google::protobuf::Struct(), true).code(),
            absl::StatusCode::kFailedPrecondition);
  auto hb = remote_.Heartbeat({{token, std::nullopt}});
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE((*hb)[0].lost);
  EXPECT_EQ(Get(id).state, core::State::kRetryWait);  // unchanged
}

TEST_F(RemoteTest, CancelReachesTheWorkerThroughHeartbeatAndReleaseKeepsTheAttempt) {
  const std::string a = Insert();
  const std::string b = Insert();
  Answer& answer = NewAnswer();
  Lease(&answer, 2);
  broker_.RunOnce();
  ASSERT_EQ((*answer)->size(), 2u);
  const std::string ta = remote_.Leased((**answer)[0], absl::Seconds(30)).lease_token;
  const std::string tb = remote_.Leased((**answer)[1], absl::Seconds(30)).lease_token;
  ASSERT_TRUE(store_.OperationCancel({.id = a}).ok());
  auto hb = remote_.Heartbeat({{ta, std::nullopt}, {tb, std::nullopt}});
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE((*hb)[0].cancel_requested);
  EXPECT_FALSE((*hb)[1].cancel_requested);
  ASSERT_TRUE(Complete(ta, absl::CancelledError("stopped"), true).ok());
  EXPECT_EQ(Get(a).state, core::State::kCancelled);
  EXPECT_EQ(*remote_.Release({tb, ta}), 1);  // ta is over: skipped
  core::Operation op = Get(b);
  EXPECT_EQ(op.state, core::State::kQueued);
  // No attempt used up (one more allowed), and attempt 1's number is retired: when the job
  // is leased again, the released token cannot complete or extend it.
  EXPECT_EQ(op.attempt, 1);
  EXPECT_EQ(op.max_attempts, 4);
  Answer& again = NewAnswer();
  Lease(&again);
  broker_.RunOnce();
  ASSERT_EQ((*again)->size(), 1u);
  EXPECT_EQ((**again)[0].attempt, 2);
  EXPECT_EQ(Complete(tb, google::protobuf::Struct(), true).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*remote_.Heartbeat({{tb, std::nullopt}}))[0].lost);
  EXPECT_EQ(*remote_.Release({tb}), 0);
  EXPECT_EQ(Get(b).state, core::State::kRunning);
}

// A remote attempt's timeout holds whatever its worker does: a heartbeat after the deadline
// records DEADLINE_EXCEEDED and says the lease is lost; a result after it is recorded as
// DEADLINE_EXCEEDED too.
TEST_F(RemoteTest, TimeoutsAreEnforcedOnRemoteAttempts) {
  const std::string a = Insert("k.a", 1, absl::Minutes(1));
  const std::string b = Insert("k.a", 1, absl::Minutes(1));
  Answer& answer = NewAnswer();
  Lease(&answer, 2);
  broker_.RunOnce();
  ASSERT_EQ((*answer)->size(), 2u);
  const LeasedJob la = remote_.Leased((**answer)[0], absl::Minutes(5));
  const LeasedJob lb = remote_.Leased((**answer)[1], absl::Minutes(5));
  ASSERT_TRUE(la.deadline.has_value());
  EXPECT_EQ(*la.deadline, clock_.Now() + absl::Minutes(1));
  EXPECT_FALSE((*remote_.Heartbeat({{la.lease_token, std::nullopt}}))[0].lost);
  clock_.Advance(absl::Minutes(1));
  EXPECT_TRUE((*remote_.Heartbeat({{la.lease_token, std::nullopt}}))[0].lost);
  core::Operation op = Get(a);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
  ASSERT_TRUE(Complete(lb.lease_token, google::protobuf::Struct(), true).ok());
  op = Get(b);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(RemoteTest, PermanentOrNonRetryableFailuresEndTheOperation) {
  const std::string a = Insert();
  const std::string b = Insert();
  Answer& answer = NewAnswer();
  Lease(&answer, 2);
  broker_.RunOnce();
  const std::string ta = remote_.Leased((**answer)[0], absl::Seconds(30)).lease_token;
  const std::string tb = remote_.Leased((**answer)[1], absl::Seconds(30)).lease_token;
  ASSERT_TRUE(Complete(ta, absl::InvalidArgumentError("bad input"), true).ok());
  ASSERT_TRUE(Complete(tb, absl::UnavailableError("gave up"), false).ok());
  EXPECT_EQ(Get(a).state, core::State::kFailed);
  EXPECT_EQ(Get(b).state, core::State::kFailed);
}

}  // namespace
}  // namespace longrun::api
