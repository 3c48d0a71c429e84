// PgOperationStore against a real PostgreSQL 15 (fresh migrated database per test).
#include "libs/store/pg/pg_operation_store.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/core/submit.h"
#include "libs/store/migrations.h"
#include "libs/store/pg/migrator.h"
#include "tests/support/test_pg.h"

namespace longrun::store::pg {
namespace {

using longrun::testing::TestDatabase;

class PgStoreTest : public ::testing::Test {
 protected:
  PgStoreTest() : store_({.url = db_.url(), .pool_size = 4}) {}

  // Inserts an operation; returns its id.
  std::string Insert(core::SubmitSpec spec, int max_attempts = 5) {
    OperationInsertParams p;
    p.id = core::NewOperationId(absl::Now());
    p.spec = std::move(spec);
    p.max_attempts = max_attempts;
    if (!p.spec.request_id.empty()) p.fingerprint = core::SubmitFingerprint(p.spec, {});
    auto r = store_.OperationInsert(p);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->operation.id : "";
  }
  std::string InsertKind(const std::string& kind, int priority = 0) {
    core::SubmitSpec spec;
    spec.kind = kind;
    spec.priority = priority;
    return Insert(spec);
  }
  std::vector<ClaimedJob> Claim(int limit, std::vector<std::string> kinds = {"k"}) {
    auto jobs = store_.JobClaim({.worker_id = "w", .kinds = kinds, .limit = limit});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *jobs : std::vector<ClaimedJob>{};
  }
  core::Operation Get(const std::string& id) {
    auto op = store_.OperationGet({.id = id});
    EXPECT_TRUE(op.ok()) << op.status();
    return op.ok() ? *op : core::Operation{};
  }

  TestDatabase db_;
  PgOperationStore store_;
};

TEST_F(PgStoreTest, MigrateIsIdempotentAndRecordsEveryVersion) {
  auto again = Migrate(db_.url());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->current_version, LatestSchemaVersion());
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM schema_migrations"),
            std::to_string(EmbeddedMigrations().size()));
  EXPECT_EQ(*SchemaVersion(db_.url()), LatestSchemaVersion());
}

TEST_F(PgStoreTest, ConcurrentMigrationsAreSerializedByTheAdvisoryLock) {
  TestDatabase fresh;  // already migrated; drop the schema to migrate it again from 8 threads
  fresh.Exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  std::atomic<int> applied{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = Migrate(fresh.url());
      if (!r.ok()) failed.fetch_add(1); else applied.fetch_add(r->applied);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(EmbeddedMigrations().size()));
}

TEST_F(PgStoreTest, InsertThenGetRoundTripsEveryField) {
  core::SubmitSpec spec;
  spec.kind = "demo.echo";
  (*spec.input.mutable_fields())["x"].set_number_value(42);
  spec.queue = "reports";
  spec.priority = 7;
  spec.timeout = absl::Seconds(90);
  spec.schedule_time = absl::FromUnixSeconds(4102444800);  // 2100-01-01
  spec.labels = {{"team", "billing"}, {"env", "prod \"quoted\""}};
  const std::string id = Insert(spec, 3);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.id, id);
  EXPECT_EQ(op.kind, "demo.echo");
  EXPECT_EQ(op.queue, "reports");
  EXPECT_EQ(op.state, core::State::kQueued);
  EXPECT_EQ(op.priority, 7);
  EXPECT_EQ(op.max_attempts, 3);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_EQ(op.timeout, absl::Seconds(90));
  EXPECT_EQ(op.run_at, absl::FromUnixSeconds(4102444800));
  EXPECT_EQ(op.labels, spec.labels);
  EXPECT_EQ(op.version, 1);
  EXPECT_FALSE(op.done());
  EXPECT_LT(absl::Now() - op.create_time, absl::Minutes(1));
}

TEST_F(PgStoreTest, GetUnknownIsNotFound) {
  auto op = store_.OperationGet({.id = core::NewOperationId(absl::Now())});
  EXPECT_EQ(op.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(op.status().message().find("operations/"), std::string::npos);
}

TEST_F(PgStoreTest, SameRequestIdSameRequestReturnsTheSameOperation) {
  core::SubmitSpec spec;
  spec.kind = "k";
  spec.request_id = "req-1";
  const std::string first = Insert(spec);
  OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .spec = spec, .max_attempts = 5,
                          .fingerprint = core::SubmitFingerprint(spec, {})};
  auto again = store_.OperationInsert(p);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->operation.id, first);

  spec.priority = 5;  // a different request with the same key
  p.spec = spec;
  p.fingerprint = core::SubmitFingerprint(spec, {});
  auto conflict = store_.OperationInsert(p);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(conflict.status().message().find(first), std::string::npos);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations"), "1");
}

TEST_F(PgStoreTest, RacingIdenticalRequestsCreateOneOperation) {
  core::SubmitSpec spec;
  spec.kind = "k";
  spec.request_id = "race";
  const std::string fp = core::SubmitFingerprint(spec, {});
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      PgOperationStore own({.url = db_.url(), .pool_size = 1});
      auto r = own.OperationInsert({.id = core::NewOperationId(absl::Now()), .spec = spec,
                                    .max_attempts = 5, .fingerprint = fp});
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->created) created.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(r->operation.id);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations"), "1");
}

TEST_F(PgStoreTest, ClaimHonoursKindsLimitPriorityAndSchedule) {
  const std::string low = InsertKind("k", 0);
  const std::string high = InsertKind("k", 10);
  InsertKind("other", 100);
  core::SubmitSpec later;
  later.kind = "k";
  later.priority = 1000;
  later.schedule_time = absl::Now() + absl::Hours(1);
  Insert(later);

  auto first = Claim(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, high);
  EXPECT_EQ(first[0].attempt, 1);
  auto rest = Claim(10);
  ASSERT_EQ(rest.size(), 1u);  // "other" kind and the scheduled one stay queued
  EXPECT_EQ(rest[0].id, low);
  EXPECT_TRUE(Claim(10).empty());
  EXPECT_EQ(Get(high).state, core::State::kRunning);
}

TEST_F(PgStoreTest, ConcurrentClaimersNeverShareAJob) {
  constexpr int kJobs = 600;
  db_.Exec(absl::StrCat(
      "INSERT INTO operations (id, kind, max_attempts) "
      "SELECT gen_random_uuid(), 'k', 5 FROM generate_series(1, ", kJobs, ")"));
  std::mutex mu;
  std::multiset<std::string> seen;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      PgOperationStore own({.url = db_.url(), .pool_size = 1});
      for (;;) {
        auto jobs = own.JobClaim({.worker_id = absl::StrCat("w", i), .kinds = {"k"}, .limit = 7});
        ASSERT_TRUE(jobs.ok()) << jobs.status();
        if (jobs->empty()) return;
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& j : *jobs) seen.insert(j.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations WHERE attempt = 1 AND state = 'RUNNING'"),
            std::to_string(kJobs));
}

TEST_F(PgStoreTest, CompletionIsFencedByAttemptAndTerminalStatesNeverChange) {
  const std::string id = InsertKind("k");
  auto jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  google::protobuf::Struct result;
  (*result.mutable_fields())["ok"].set_bool_value(true);

  // A write from a stale attempt changes nothing.
  EXPECT_EQ(store_.JobComplete({.id = id, .attempt = 2, .response = result}).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_.JobProgress({.id = id, .attempt = 2, .percent = 50}).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(Get(id).state, core::State::kRunning);

  ASSERT_TRUE(store_.JobProgress({.id = id, .attempt = 1, .percent = 50, .message = "half"}).ok());
  EXPECT_EQ(Get(id).progress_percent, 50);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 1, .response = result}).ok());
  const core::Operation done = Get(id);
  EXPECT_EQ(done.state, core::State::kSucceeded);
  ASSERT_TRUE(done.response.has_value());
  EXPECT_TRUE(done.response->fields().at("ok").bool_value());
  EXPECT_TRUE(done.end_time.has_value());

  // A second completion (a duplicate or a failure) cannot move a terminal operation.
  EXPECT_EQ(store_.JobComplete({.id = id, .attempt = 1,
                                .error = core::OperationError{13, "late"}}).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(Get(id).state, core::State::kSucceeded);
  EXPECT_EQ(Get(id).version, done.version);
}

TEST_F(PgStoreTest, FailureRetriesUntilMaxAttemptsThenFails) {
  core::SubmitSpec spec;
  spec.kind = "k";
  const std::string id = Insert(spec, 2);
  auto jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 1,
                                  .error = core::OperationError{14, "try again"},
                                  .retry_after = absl::ZeroDuration()}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kRetryWait);
  EXPECT_FALSE(op.done());

  jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 2);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 2,
                                  .error = core::OperationError{14, "still failing"}}).ok());
  op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 14);
  EXPECT_EQ(op.error->message, "still failing");
  EXPECT_TRUE(Claim(1).empty());
}

TEST_F(PgStoreTest, RetryWaitIsNotClaimedBeforeItsBackoffEnds) {
  const std::string id = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 1, .error = core::OperationError{14, "x"},
                                  .retry_after = absl::Hours(1)}).ok());
  EXPECT_TRUE(Claim(1).empty());
}

TEST_F(PgStoreTest, VisibleChangesNotifyWithTheOperationId) {
  pqxx::connection listener(db_.url());
  struct Receiver : pqxx::notification_receiver {
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    std::vector<std::string> payloads;
  } receiver(listener, "longrun_operations");
  listener.get_notifs();

  const std::string id = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (receiver.payloads.empty() && absl::Now() < until) listener.await_notification(0, 100000);
  ASSERT_FALSE(receiver.payloads.empty());
  EXPECT_NE(receiver.payloads[0].find(id), std::string::npos);
}

TEST_F(PgStoreTest, HeartbeatExtendsOnlyCurrentAttemptsAndReportsCancelling) {
  const std::string a = InsertKind("k");
  const std::string b = InsertKind("k");
  ASSERT_EQ(Claim(2).size(), 2u);
  db_.Exec("UPDATE operations SET state = 'CANCELLING' WHERE id = '" + b + "'");
  auto held = store_.JobHeartbeat({.jobs = {{a, 1}, {b, 1}, {a, 2}}, .lease = absl::Minutes(5)});
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->size(), 2u);
  std::map<std::string, core::State> states;
  for (const auto& h : *held) states[h.id] = h.state;
  EXPECT_EQ(states[a], core::State::kRunning);
  EXPECT_EQ(states[b], core::State::kCancelling);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations WHERE lease_expires_at > now() + "
                           "interval '4 minutes'"), "2");
  // A heartbeat is not a visible change.
  EXPECT_EQ(Get(a).version, 2);
}

TEST_F(PgStoreTest, RescueRequeuesExpiredLeasesFailsOnLastAttemptAndRecordsIt) {
  core::SubmitSpec spec;
  spec.kind = "k";
  const std::string again = Insert(spec, 3);
  const std::string last = Insert(spec, 1);
  auto jobs = store_.JobClaim({.worker_id = "crashed", .kinds = {"k"}, .limit = 2,
                               .lease = absl::Microseconds(1)});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  absl::SleepFor(absl::Milliseconds(5));
  auto n = store_.JobRescueStuck({.limit = 10});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(Get(again).state, core::State::kRetryWait);
  const core::Operation failed = Get(last);
  EXPECT_EQ(failed.state, core::State::kFailed);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->code, 14);
  EXPECT_NE(failed.error->message.find("crashed"), std::string::npos) << failed.error->message;
  ASSERT_EQ(failed.attempts.size(), 1u);
  EXPECT_EQ(failed.attempts[0].outcome, "LEASE_EXPIRED");
  EXPECT_EQ(failed.attempts[0].worker_id, "crashed");
  // The re-queued job runs again as attempt 2.
  auto retry = Claim(1);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, again);
  EXPECT_EQ(retry[0].attempt, 2);
  // A live lease is never rescued.
  EXPECT_EQ(*store_.JobRescueStuck({.limit = 10}), 0);
}

// The rescuer racing a completion (river#1302): whichever commits first wins, and a
// completed job is never moved back.
TEST_F(PgStoreTest, RescuerRacingCompletionNeverMovesACompletedJobBack) {
  constexpr int kRounds = 150;
  PgOperationStore rescuer_store({.url = db_.url(), .pool_size = 1});
  int completed_first = 0, rescued_first = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string id = InsertKind("k");
    auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 1,
                                 .lease = absl::Microseconds(1)});
    ASSERT_TRUE(jobs.ok());
    ASSERT_EQ(jobs->size(), 1u);
    google::protobuf::Struct result;
    absl::Status completion;
    std::thread rescue([&] { (void)rescuer_store.JobRescueStuck({.limit = 10}); });
    completion = store_.JobComplete({.id = id, .attempt = 1, .response = result});
    rescue.join();
    const core::Operation op = Get(id);
    if (completion.ok()) {
      ++completed_first;
      EXPECT_EQ(op.state, core::State::kSucceeded) << "round " << i;
    } else {
      ++rescued_first;
      EXPECT_EQ(completion.code(), absl::StatusCode::kAborted);
      EXPECT_EQ(op.state, core::State::kRetryWait) << "round " << i;
    }
    // Whatever happened, one more rescue pass changes nothing.
    EXPECT_EQ(*store_.JobRescueStuck({.limit = 10}), 0);
    EXPECT_EQ(Get(id).version, op.version);
    db_.Exec("DELETE FROM operations WHERE id = '" + id + "'");
  }
  std::cout << "completion first " << completed_first << ", rescue first " << rescued_first << "\n";
}

TEST_F(PgStoreTest, ReleaseHandsTheJobBackWithoutBurningTheAttempt) {
  const std::string id = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store_.JobRelease({id, 1}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kQueued);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_TRUE(op.attempts.empty());
  EXPECT_EQ(store_.JobRelease({id, 1}).code(), absl::StatusCode::kAborted);
  auto jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 1);
}

TEST_F(PgStoreTest, AttemptHistoryRecordsEveryFinishedAttempt) {
  core::SubmitSpec spec;
  spec.kind = "k";
  const std::string id = Insert(spec, 3);
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 1, .error = core::OperationError{14, "boom"},
                                  .retry_after = absl::ZeroDuration()}).ok());
  ASSERT_EQ(Claim(1).size(), 1u);
  google::protobuf::Struct result;
  ASSERT_TRUE(store_.JobComplete({.id = id, .attempt = 2, .response = result}).ok());
  const core::Operation op = Get(id);
  ASSERT_EQ(op.attempts.size(), 2u);
  EXPECT_EQ(op.attempts[0].attempt, 1);
  EXPECT_EQ(op.attempts[0].outcome, "FAILED");
  ASSERT_TRUE(op.attempts[0].error.has_value());
  EXPECT_EQ(op.attempts[0].error->message, "boom");
  EXPECT_EQ(op.attempts[0].worker_id, "w");
  EXPECT_TRUE(op.attempts[0].start_time.has_value());
  EXPECT_EQ(op.attempts[1].outcome, "SUCCEEDED");
  EXPECT_FALSE(op.attempts[1].error.has_value());
}

TEST_F(PgStoreTest, UnstartedJobsFailAfterTheScheduleToStartLimit) {
  const std::string id = InsertKind("nobody-serves-this");
  db_.Exec("UPDATE operations SET run_at = now() - interval '2 hours' WHERE id = '" + id + "'");
  const std::string fresh = InsertKind("nobody-serves-this");
  auto n = store_.JobFailUnstarted({.older_than = absl::Hours(1), .limit = 10});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, core::State::kFailed);
  EXPECT_EQ(op.error->code, 4);
  EXPECT_NE(op.error->message.find("nobody-serves-this"), std::string::npos) << op.error->message;
  EXPECT_EQ(Get(fresh).state, core::State::kQueued);
}

TEST_F(PgStoreTest, PruneDeletesOnlyOldFinishedOperationsOfThatState) {
  db_.Exec("INSERT INTO operations (id, kind, max_attempts, state, end_time) "
           "SELECT gen_random_uuid(), 'k', 1, 'SUCCEEDED', now() - interval '10 days' "
           "FROM generate_series(1, 1200)");
  db_.Exec("INSERT INTO operations (id, kind, max_attempts, state, end_time) VALUES "
           "(gen_random_uuid(), 'k', 1, 'SUCCEEDED', now()), "
           "(gen_random_uuid(), 'k', 1, 'FAILED', now() - interval '10 days')");
  const std::string live = InsertKind("k");
  int total = 0;
  for (;;) {
    auto n = store_.OperationPrune({.state = core::State::kSucceeded,
                                    .older_than = absl::Hours(24 * 7), .limit = 500});
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_LE(*n, 500);
    total += *n;
    if (*n < 500) break;
  }
  EXPECT_EQ(total, 1200);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations"), "3");
  EXPECT_EQ(Get(live).state, core::State::kQueued);
}

TEST_F(PgStoreTest, ClaimHonoursQueues) {
  core::SubmitSpec a;
  a.kind = "k";
  a.queue = "alpha";
  core::SubmitSpec b = a;
  b.queue = "beta";
  const std::string in_alpha = Insert(a);
  Insert(b);
  auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {"k"}, .queues = {"alpha"}, .limit = 10});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, in_alpha);
}

TEST_F(PgStoreTest, BatchInsertCommitsAllAndResolvesRequestIdsLikeSingleInserts) {
  core::SubmitSpec keyed;
  keyed.kind = "k";
  keyed.request_id = "batch-key";
  const std::string existing = Insert(keyed);
  core::SubmitSpec different = keyed;
  different.priority = 9;
  core::SubmitSpec fresh_keyed = keyed;
  fresh_keyed.request_id = "new-key";
  std::vector<OperationInsertParams> batch;
  auto add = [&](const core::SubmitSpec& spec) {
    OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .spec = spec, .max_attempts = 5};
    if (!spec.request_id.empty()) p.fingerprint = core::SubmitFingerprint(spec, {});
    batch.push_back(p);
  };
  core::SubmitSpec plain;
  plain.kind = "k";
  (*plain.input.mutable_fields())["quote"].set_string_value("a \"quoted\" \\ value, {with} braces");
  plain.labels = {{"env", "prod"}};
  add(plain);        // 0: new
  add(keyed);        // 1: same request as `existing`
  add(different);    // 2: same key, different request
  add(fresh_keyed);  // 3: new key
  add(fresh_keyed);  // 4: same new key again, same batch
  auto results = store_.OperationInsertBatch(batch);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 5u);
  ASSERT_TRUE((*results)[0].ok());
  EXPECT_TRUE((*results)[0]->created);
  EXPECT_EQ(Get((*results)[0]->operation.id).labels, plain.labels);
  EXPECT_EQ(db_.QueryValue("SELECT input->>'quote' FROM operations WHERE id = '" +
                           (*results)[0]->operation.id + "'"),
            "a \"quoted\" \\ value, {with} braces");
  ASSERT_TRUE((*results)[1].ok());
  EXPECT_FALSE((*results)[1]->created);
  EXPECT_EQ((*results)[1]->operation.id, existing);
  EXPECT_EQ((*results)[2].status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE((*results)[3].ok());
  ASSERT_TRUE((*results)[4].ok());
  EXPECT_EQ((*results)[3]->operation.id, (*results)[4]->operation.id);
  EXPECT_NE((*results)[3]->created, (*results)[4]->created);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM operations"), "3");
}

TEST_F(PgStoreTest, ReadsSurviveTheirConnectionBeingKilled) {
  const std::string id = InsertKind("k");
  Get(id);  // the pool now holds an open connection
  EXPECT_NE(db_.QueryValue("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
            "0");
  auto op = store_.OperationGet({.id = id});
  EXPECT_TRUE(op.ok()) << op.status();
  // A write on a dead connection is not retried (its outcome would be unknown), but the
  // connection is replaced for the next call.
  EXPECT_EQ(db_.QueryValue("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
            "1");
  EXPECT_EQ(store_.JobProgress({.id = id, .attempt = 1, .percent = 1}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.JobProgress({.id = id, .attempt = 1, .percent = 1}).code(),
            absl::StatusCode::kAborted);  // reconnected; not running, so fenced
}

TEST(PgStoreOutageTest, UnreachableDatabaseIsUnavailable) {
  PgOperationStore store({.url = "postgresql://postgres@127.0.0.1:1/none", .pool_size = 1});
  auto op = store.OperationGet({.id = core::NewOperationId(absl::Now())});
  EXPECT_EQ(op.status().code(), absl::StatusCode::kUnavailable) << op.status();
  auto jobs = store.JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 1});
  EXPECT_EQ(jobs.status().code(), absl::StatusCode::kUnavailable) << jobs.status();
}

}  // namespace
}  // namespace longrun::store::pg
