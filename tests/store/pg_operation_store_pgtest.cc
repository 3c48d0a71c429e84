// What only PgOperationStore has, against a real PostgreSQL 15 (fresh migrated database per
// test): migrations, real connections racing, notifications, the pool's reconnects. The
// behaviour every store shares is in the conformance suite (operation_store_conformance.*).
#include "libs/store/pg/pg_operation_store.h"

#include <atomic>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/core/submit.h"
#include "libs/store/migrations.h"
#include "libs/store/pg/listener.h"
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
  // The payload ends with its sending time (0008_notify_timestamp.sql), which listeners
  // split off: the ids alone are left, and the time is the database's now, give or take.
  const SentPayload split = SplitSentTime(receiver.payloads[0]);
  EXPECT_EQ(split.payload, id);
  ASSERT_TRUE(split.sent.has_value()) << receiver.payloads[0];
  EXPECT_LT(absl::AbsDuration(*split.sent - absl::Now()), absl::Minutes(1));
}

TEST(SplitSentTimeTest, SplitsOnlyATrailingTimestamp) {
  EXPECT_EQ(SplitSentTime("a,b,@1700000000000001").payload, "a,b");
  EXPECT_EQ(*SplitSentTime("a,b,@1700000000000001").sent,
            absl::FromUnixMicros(1700000000000001));
  EXPECT_EQ(SplitSentTime("@5").payload, "");
  EXPECT_EQ(*SplitSentTime("@5").sent, absl::FromUnixMicros(5));
  for (const char* whole : {"", "a,b", "a@5", "a,@x", "a,@", "a,@5,b"}) {
    EXPECT_EQ(SplitSentTime(whole).payload, whole);
    EXPECT_FALSE(SplitSentTime(whole).sent.has_value()) << whole;
  }
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

// A row the store cannot decode is INTERNAL naming the column, never read as a default
// (it used to come back QUEUED, with empty labels, response, input or history). The rows are
// ones PostgreSQL accepts: a state a newer migration added, and jsonb values longrun does not
// write itself.
TEST_F(PgStoreTest, UndecodableRowsAreInternalNamingTheColumn) {
  auto expect_internal = [&](const absl::Status& st, const std::string& column,
                             const std::string& id) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << column << ": " << st;
    EXPECT_NE(st.message().find(absl::StrCat("column operations.", column, " of operations/", id,
                                             " cannot be decoded")),
              std::string::npos)
        << st;
  };
  auto set = [&](const std::string& id, const std::string& assignments) {
    db_.Exec("UPDATE operations SET " + assignments + " WHERE id = '" + id + "'");
  };

  db_.Exec("ALTER TYPE operation_state ADD VALUE 'PAUSED'");
  const std::string state = InsertKind("k");
  set(state, "state = 'PAUSED'");
  expect_internal(store_.OperationGet({.id = state}).status(), "state", state);
  expect_internal(store_.OperationGetMany({state}).status(), "state", state);
  expect_internal(store_.OperationList({}).status(), "state", state);
  expect_internal(store_.OperationDelete({.id = state}), "state", state);
  db_.Exec("DELETE FROM operations");

  const std::string label = InsertKind("k");
  set(label, "labels = '{\"n\": 1}'");
  expect_internal(store_.OperationGet({.id = label}).status(), "labels", label);
  const std::string labels = InsertKind("k");
  set(labels, "labels = '[]'");
  expect_internal(store_.OperationGet({.id = labels}).status(), "labels", labels);

  const std::string response = InsertKind("k");
  set(response, "state = 'SUCCEEDED', response = '[1]'");
  expect_internal(store_.OperationGet({.id = response}).status(), "response", response);
  expect_internal(store_.OperationCancel({.id = response}).status(), "response", response);

  const std::string attempts = InsertKind("k");
  set(attempts, "attempts = '[[1, \"w\"]]'");
  expect_internal(store_.OperationGet({.id = attempts}).status(), "attempts", attempts);
  const std::string history = InsertKind("k");
  set(history, "attempts = '{\"attempt\": 1}'");
  expect_internal(store_.OperationGet({.id = history}).status(), "attempts", history);

  // A claimed job whose input cannot be decoded fails alone (INTERNAL naming the column, not
  // retried); the round and the other jobs it claimed go on.
  const std::string input = InsertKind("bad-input");
  set(input, "input = '\"text\"'");
  const std::string good = InsertKind("bad-input");
  auto claimed = store_.JobClaim({.worker_id = "w", .kinds = {"bad-input"}, .limit = 2});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, good);
  set(input, "input = '{}'");  // readable again, to look at the outcome
  auto op = store_.OperationGet({.id = input});
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->state, core::State::kFailed);
  ASSERT_TRUE(op->error.has_value());
  EXPECT_EQ(op->error->code, static_cast<int>(absl::StatusCode::kInternal));
  EXPECT_NE(op->error->message.find(absl::StrCat("column operations.input of operations/", input,
                                                 " cannot be decoded")),
            std::string::npos)
      << op->error->message;
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
