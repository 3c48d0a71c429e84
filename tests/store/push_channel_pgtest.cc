// The push channel's store side against a real PostgreSQL 15 (migration 0009): the webhook
// outbox written by the change triggers, PgCallbackStore's claim / record / fence / release /
// redeliver, and PgEventLog's ordering rule (only events below the snapshot's xmin), its
// retention horizon and its scoping. Transactions that stay open on purpose are explicit
// pqxx transactions on their own connections.
#include <atomic>
#include <chrono>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/core/filter.h"
#include "libs/core/ids.h"
#include "libs/store/migrations.h"
#include "libs/store/pg/pg_callback_store.h"
#include "libs/store/pg/pg_event_log.h"
#include "libs/store/pg/pg_operation_store.h"
#include "libs/store/pg/queries.h"
#include "tests/support/test_pg.h"

namespace longrun::store::pg {
namespace {

using longrun::testing::TestDatabase;

// Waits until every event committed so far is final: the snapshot xmin is cluster-wide, and
// other tests' transactions hold it back.
void AwaitFinalIn(const TestDatabase& db) {
  const std::string now = db.QueryValue("SELECT pg_current_xact_id()::text");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (db.QueryValue(absl::StrCat("SELECT pg_snapshot_xmin(pg_current_snapshot()) >= '", now,
                                    "'::xid8")) != "t") {
    ASSERT_LT(absl::Now(), deadline) << "a transaction older than " << now << " never ended";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class PushChannelTest : public ::testing::Test {
 protected:
  std::string Insert(const std::string& kind, std::optional<core::CallbackSpec> callback = {},
                     const std::string& tenant = "default", PgOperationStore* store = nullptr) {
    OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .tenant = tenant,
                            .max_attempts = 5};
    p.spec.kind = kind;
    p.spec.callback = std::move(callback);
    auto r = (store == nullptr ? store_ : *store).OperationInsert(p);
    EXPECT_TRUE(r.ok()) << r.status();
    return p.id;
  }
  core::CallbackSpec Hook(core::CallbackEvents events = core::CallbackEvents::kTerminal) {
    return {.url = "https://Hooks.Example.com:8443/in?x=1", .events = events};
  }
  ClaimedJob ClaimOne(const std::string& kind) {
    auto jobs = store_.JobClaim({.worker_id = "w", .kinds = {kind}, .limit = 1});
    EXPECT_TRUE(jobs.ok() && jobs->size() == 1) << jobs.status();
    return jobs.ok() && !jobs->empty() ? (*jobs)[0] : ClaimedJob{};
  }
  void Succeed(const ClaimedJob& j) {
    ASSERT_TRUE(store_.JobComplete({.id = j.id, .attempt = j.attempt,
                                    .response = google::protobuf::Struct()}).ok());
  }
  core::Operation Get(const std::string& id) {
    auto op = store_.OperationGet({.id = id});
    EXPECT_TRUE(op.ok()) << op.status();
    return op.ok() ? *op : core::Operation{};
  }
  int Count(const std::string& table, const std::string& id, const std::string& extra = "") {
    return std::stoi(db_.QueryValue(absl::StrCat("SELECT count(*) FROM ", table,
                                                 " WHERE operation_id = '", id, "'", extra)));
  }
  std::vector<Delivery> ClaimDeliveries(const std::string& who = "d1", int limit = 10,
                                        std::vector<std::string> skip = {}) {
    auto d = callbacks_.DeliveryClaim(
        {.deliverer_id = who, .limit = limit, .skip_hosts = std::move(skip)});
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : std::vector<Delivery>{};
  }
  // Waits until every transaction that started before now has finished. The snapshot xmin
  // is cluster-wide: other tests' transactions in other databases of the same cluster hold
  // this database's events back too, briefly, so a read right after a write may not see it.
  void AwaitFinal() { AwaitFinalIn(db_); }
  EventReadResult Read(EventCursor after, const std::string& tenant = "default",
                       const std::string& filter = "", int limit = 500) {
    AwaitFinal();
    return ReadNow(after, tenant, filter, limit);
  }
  // Without waiting for older transactions (to see what a reader gets while one is open).
  EventReadResult ReadNow(EventCursor after, const std::string& tenant = "default",
                          const std::string& filter = "", int limit = 500) {
    EventReadParams p{.tenant = tenant, .after = after, .limit = limit};
    if (!filter.empty()) p.filter = *core::ParseFilter(filter);
    auto r = events_.EventRead(p);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : EventReadResult{.scanned_to = after};
  }
  static std::vector<std::string> Ids(const EventReadResult& r) {
    std::vector<std::string> ids;
    for (const Event& e : r.events) ids.push_back(e.operation.id);
    return ids;
  }

  TestDatabase db_;
  PgOperationStore store_{{.url = db_.url(), .pool_size = 4}};
  PgCallbackStore callbacks_{store_};
  PgEventLog events_{store_};
};

// ---- Outbox ----

TEST_F(PushChannelTest, TerminalCallbackGetsExactlyOneDeliveryAndHeartbeatsMakeNoEvent) {
  const std::string id = Insert("k", Hook());
  EXPECT_EQ(Count("operation_event_changes", id), 1);  // the Submit
  const ClaimedJob j = ClaimOne("k");
  ASSERT_TRUE(store_.JobHeartbeat({.jobs = {{j.id, j.attempt}}}).ok());
  ASSERT_TRUE(store_.JobProgress({.id = j.id, .attempt = j.attempt, .percent = 50}).ok());
  EXPECT_EQ(Count("operation_event_changes", id), 3);  // claim, progress; not the heartbeat
  EXPECT_EQ(Count("webhook_deliveries", id), 0);
  ASSERT_TRUE(store_.JobHeartbeat({.jobs = {{j.id, j.attempt}}}).ok());
  Succeed(j);
  EXPECT_EQ(Count("operation_event_changes", id), 4);
  EXPECT_EQ(Count("webhook_deliveries", id), 1);
  const std::vector<Delivery> d = ClaimDeliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].operation_id, id);
  EXPECT_EQ(d[0].event_type, "operation.completed");
  EXPECT_EQ(d[0].version, Get(id).version);
  EXPECT_EQ(d[0].host, "hooks.example.com");
  EXPECT_EQ(d[0].url, "https://Hooks.Example.com:8443/in?x=1");
  EXPECT_EQ(d[0].tenant, "default");
  EXPECT_EQ(d[0].attempt, 1);
  EXPECT_EQ(d[0].webhook_id, "msg_" + absl::StrReplaceAll(d[0].id, {{"-", ""}}));
  // An operation without a callback gets events but never a delivery.
  const std::string plain = Insert("p");
  Succeed(ClaimOne("p"));
  EXPECT_EQ(Count("operation_event_changes", plain), 3);
  EXPECT_EQ(Count("webhook_deliveries", plain), 0);
}

TEST_F(PushChannelTest, AllChangesGetsOneDeliveryPerChange) {
  const std::string id = Insert("k", Hook(core::CallbackEvents::kAllChanges));
  EXPECT_EQ(Count("webhook_deliveries", id), 0);  // no delivery for the Submit itself
  const ClaimedJob j = ClaimOne("k");
  ASSERT_TRUE(store_.JobProgress({.id = j.id, .attempt = j.attempt, .percent = 50}).ok());
  ASSERT_TRUE(store_.JobHeartbeat({.jobs = {{j.id, j.attempt}}}).ok());
  Succeed(j);
  EXPECT_EQ(db_.QueryValue(absl::StrCat(
                "SELECT string_agg(version || ' ' || event_type, ', ' ORDER BY version) "
                "FROM webhook_deliveries WHERE operation_id = '", id, "'")),
            "2 operation.updated, 3 operation.updated, 4 operation.completed");
}

TEST_F(PushChannelTest, GoneEndsPendingDeliveriesAndStopsLaterOnes) {
  const std::string id = Insert("k", Hook(core::CallbackEvents::kAllChanges));
  const ClaimedJob j = ClaimOne("k");  // delivery for version 2
  ASSERT_TRUE(store_.JobProgress({.id = j.id, .attempt = j.attempt, .percent = 10}).ok());
  std::vector<Delivery> d = ClaimDeliveries("d1", 1);  // oldest due first: version 2
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].version, 2);
  ASSERT_TRUE(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = d[0].attempt,
                                         .result = DeliveryResult::kGone, .http_status = 410,
                                         .error = "410 Gone"}).ok());
  EXPECT_EQ(Count("webhook_deliveries", id, " AND state = 'PENDING'"), 0);
  EXPECT_EQ(Count("webhook_deliveries", id, " AND state = 'GONE'"), 2);
  ASSERT_TRUE(store_.JobProgress({.id = j.id, .attempt = j.attempt, .percent = 20}).ok());
  Succeed(j);
  EXPECT_EQ(Count("webhook_deliveries", id), 2);
  EXPECT_TRUE(ClaimDeliveries().empty());
  const core::Operation op = Get(id);
  ASSERT_TRUE(op.callback.has_value());
  EXPECT_EQ(op.callback->state, core::CallbackState::kGone);
}

TEST_F(PushChannelTest, DeletingAnOperationDeletesItsDeliveriesAndItsEventsLeaveTheStream) {
  const std::string id = Insert("k", Hook());
  Succeed(ClaimOne("k"));
  ASSERT_EQ(Count("webhook_deliveries", id), 1);
  ASSERT_TRUE(store_.OperationDelete({.id = id}).ok());
  EXPECT_EQ(Count("webhook_deliveries", id), 0);
  EXPECT_TRUE(Read({}).events.empty());
}

// ---- Claim, record, fence, release, redeliver ----

TEST_F(PushChannelTest, ClaimRecordFenceReleaseAndRedeliver) {
  const std::string plain = Insert("p");
  const std::string id = Insert("k", Hook());
  // Nothing to redeliver yet; no callback at all; unknown; another tenant's.
  auto r = callbacks_.CallbackRedeliver({.id = id});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(callbacks_.CallbackRedeliver({.id = plain}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(callbacks_.CallbackRedeliver({.id = core::NewOperationId(absl::Now())})
                .status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(callbacks_.CallbackRedeliver({.id = id, .tenant = "other"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Get(id).callback->state, core::CallbackState::kWaiting);

  Succeed(ClaimOne("k"));
  core::Operation op = Get(id);
  EXPECT_EQ(op.callback->state, core::CallbackState::kPending);
  EXPECT_EQ(op.callback->attempts, 0);
  EXPECT_TRUE(op.callback->next_attempt_time.has_value());
  const std::string webhook_id = op.callback->webhook_id;

  EXPECT_TRUE(ClaimDeliveries("d1", 10, {"hooks.example.com"}).empty());  // host is busy
  std::vector<Delivery> d = ClaimDeliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].webhook_id, webhook_id);
  EXPECT_TRUE(ClaimDeliveries("d2").empty());  // leased
  // A stale attempt changes nothing.
  EXPECT_EQ(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = 7,
                                       .result = DeliveryResult::kDelivered}).code(),
            absl::StatusCode::kAborted);
  // Released: claimable again at once, the attempt not counted.
  ASSERT_TRUE(callbacks_.DeliveryRelease(d[0].id, d[0].attempt).ok());
  EXPECT_EQ(callbacks_.DeliveryRelease(d[0].id, d[0].attempt).code(), absl::StatusCode::kAborted);
  d = ClaimDeliveries("d2");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attempt, 1);

  const absl::Time later = db_.Now() + absl::Hours(1);
  ASSERT_TRUE(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = 1,
                                         .result = DeliveryResult::kRetry, .http_status = 500,
                                         .error = "500 Internal Server Error",
                                         .next_attempt_time = later}).ok());
  op = Get(id);
  EXPECT_EQ(op.callback->state, core::CallbackState::kPending);
  EXPECT_EQ(op.callback->attempts, 1);
  EXPECT_EQ(op.callback->last_http_status, 500);
  EXPECT_EQ(op.callback->last_error, "500 Internal Server Error");
  EXPECT_EQ(op.callback->next_attempt_time, later);
  EXPECT_TRUE(op.callback->last_attempt_time.has_value());
  EXPECT_TRUE(ClaimDeliveries().empty());  // not due
  db_.Exec("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'");
  d = ClaimDeliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attempt, 2);
  EXPECT_EQ(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = 1,
                                       .result = DeliveryResult::kDead}).code(),
            absl::StatusCode::kAborted);
  ASSERT_TRUE(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = 2,
                                         .result = DeliveryResult::kDelivered,
                                         .http_status = 204}).ok());
  op = Get(id);
  EXPECT_EQ(op.callback->state, core::CallbackState::kDelivered);
  EXPECT_EQ(op.callback->attempts, 2);
  EXPECT_EQ(op.callback->last_http_status, 204);
  EXPECT_EQ(op.callback->last_error, "");
  EXPECT_FALSE(op.callback->next_attempt_time.has_value());
  // Delivered is final: a second record of the same attempt changes nothing.
  EXPECT_EQ(callbacks_.DeliveryRecord({.id = d[0].id, .attempt = 2,
                                       .result = DeliveryResult::kRetry}).code(),
            absl::StatusCode::kAborted);

  // Redeliver: the same row again (same webhook-id), attempts and retry window restarted.
  auto again = callbacks_.CallbackRedeliver({.id = id});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->callback->state, core::CallbackState::kPending);
  EXPECT_EQ(again->callback->attempts, 0);
  EXPECT_EQ(again->callback->webhook_id, webhook_id);
  EXPECT_EQ(callbacks_.CallbackRedeliver({.id = id}).status().code(),
            absl::StatusCode::kFailedPrecondition);  // already pending
  d = ClaimDeliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attempt, 1);
  EXPECT_EQ(d[0].webhook_id, webhook_id);
  EXPECT_GE(d[0].retry_from, d[0].created_time);
}

TEST_F(PushChannelTest, AnExpiredLeaseMakesTheDeliveryClaimableAgainWithTheSameWebhookId) {
  Insert("k", Hook());
  Succeed(ClaimOne("k"));
  const std::vector<Delivery> first = ClaimDeliveries("crashed");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(ClaimDeliveries("d2").empty());
  // The lease runs out (the deliverer died mid-delivery).
  db_.Exec("UPDATE webhook_deliveries SET lease_until = lease_until - interval '1 hour', "
           "next_attempt_at = next_attempt_at - interval '1 hour'");
  const std::vector<Delivery> second = ClaimDeliveries("d2");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_EQ(second[0].webhook_id, first[0].webhook_id);
  EXPECT_EQ(second[0].attempt, 2);
  // The dead deliverer's late record is fenced off; the live one's counts.
  EXPECT_EQ(callbacks_.DeliveryRecord({.id = first[0].id, .attempt = 1,
                                       .result = DeliveryResult::kDelivered}).code(),
            absl::StatusCode::kAborted);
  EXPECT_TRUE(callbacks_.DeliveryRecord({.id = second[0].id, .attempt = 2,
                                         .result = DeliveryResult::kDelivered,
                                         .http_status = 200}).ok());
}

// ---- Event log ----

// The trap: A takes its xid (and its event) first but commits last. A reader must not hand
// out B's later-keyed event while A is open, and after A commits a reader resuming from its
// cursor gets A's event.
TEST_F(PushChannelTest, AnEventCommittedLateIsNotSkipped) {
  const EventCursor start = *events_.EventHead();
  pqxx::connection a_conn(db_.url());
  pqxx::work a(a_conn);
  a.exec("SELECT pg_current_xact_id()");  // A's xid: smaller than B's
  const std::string a_id = core::NewOperationId(absl::Now());
  a.exec(absl::StrCat("INSERT INTO operations (id, kind, max_attempts) VALUES ('", a_id,
                      "', 'k', 5)"));
  const std::string b_id = Insert("k");  // B commits while A is open

  EventReadResult r = ReadNow(start);
  EXPECT_TRUE(r.events.empty()) << "handed out " << Ids(r).size() << " events while A is open";
  EXPECT_EQ(r.scanned_to, start);
  a.commit();
  r = Read(r.scanned_to);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{a_id, b_id}));
  EXPECT_EQ(Ids(Read(r.scanned_to)), std::vector<std::string>{});
}

// Per-operation order: the second writer of a row may hold the smaller xid (it took it before
// waiting for the row lock); its event must still sort after the first writer's. Both ways a
// key is set: by the statement (LONGRUN_NEXT_VERSION, as longrun's statements do) and by the
// trigger (a statement that moves version alone).
TEST_F(PushChannelTest, ASecondWriterWithASmallerXidStillOrdersAfterTheFirst) {
  for (const std::string set : {"SET " LONGRUN_NEXT_VERSION(""), "SET version = version + 1"}) {
    SCOPED_TRACE(set);
    const std::string id = Insert("k");
    pqxx::connection c1(db_.url()), c2(db_.url());
    pqxx::work t1(c1);
    t1.exec("SELECT pg_current_xact_id()");  // the smaller xid
    const std::string pid = t1.exec("SELECT pg_backend_pid()::text")[0][0].as<std::string>();
    pqxx::work t2(c2);
    t2.exec("SELECT pg_current_xact_id()");
    const std::string bump = absl::StrCat("UPDATE operations ", set, " WHERE id = '", id, "'");
    t2.exec(bump);  // version 2, holds the row
    std::thread second([&] { t1.exec(bump); });  // waits for t2's row lock
    for (int i = 0; i < 2000; ++i) {
      if (db_.QueryValue(absl::StrCat("SELECT wait_event_type FROM pg_stat_activity "
                                      "WHERE pid = ", pid)) == "Lock") {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    t2.commit();
    second.join();
    t1.commit();  // version 3
    EXPECT_EQ(db_.QueryValue(absl::StrCat(
                  "SELECT string_agg(version::text, ',' ORDER BY key, position) "
                  "FROM operation_event_changes WHERE operation_id = '", id, "'")),
              "1,2,3");
  }
}

TEST_F(PushChannelTest, ConcurrentWritersAndAFollowingReaderSeeEveryTerminalVersionInOrder) {
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  const EventCursor start = *events_.EventHead();
  std::mutex mu;
  std::map<std::string, int64_t> terminal_version;  // written
  std::atomic<int> writers_done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      PgOperationStore own({.url = db_.url(), .pool_size = 1});
      const std::string kind = absl::StrCat("k", w);
      for (int i = 0; i < kPerWriter; ++i) {
        Insert(kind, {}, "default", &own);
        auto jobs = own.JobClaim({.worker_id = kind, .kinds = {kind}, .limit = 1});
        ASSERT_TRUE(jobs.ok() && jobs->size() == 1);
        const ClaimedJob& j = (*jobs)[0];
        ASSERT_TRUE(own.JobComplete({.id = j.id, .attempt = j.attempt,
                                     .response = google::protobuf::Struct()}).ok());
        std::lock_guard<std::mutex> lock(mu);
        terminal_version[j.id] = 3;
      }
      writers_done.fetch_add(1);
    });
  }
  std::map<std::string, int64_t> seen;  // latest version handed out per operation
  int regressions = 0;
  EventCursor at = start;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  for (;;) {
    const EventReadResult r = Read(at, "default", "", 50);
    EXPECT_FALSE(r.scanned_to < at);
    for (const Event& e : r.events) {
      EXPECT_LT(at, e.cursor);
      int64_t& v = seen[e.operation.id];
      if (e.operation.version < v) ++regressions;
      v = std::max(v, e.operation.version);
    }
    at = r.scanned_to;
    if (writers_done.load() == kWriters || absl::Now() > deadline) {
      int missing = 0;
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& [id, version] : terminal_version) missing += seen[id] < version;
      }
      if (missing == 0 || absl::Now() > deadline) {
        EXPECT_EQ(missing, 0);
        break;
      }
    }
    if (r.events.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(regressions, 0);
  EXPECT_EQ(terminal_version.size(), static_cast<size_t>(kWriters * kPerWriter));
}

TEST_F(PushChannelTest, PrunedCursorsAreOutOfRangeAndTheHorizonIsAPrefix) {
  const std::string first = Insert("k");
  const std::string second = Insert("k");
  const std::string third = Insert("k");
  const EventReadResult all = Read({});
  ASSERT_EQ(Ids(all), (std::vector<std::string>{first, second, third}));
  auto pruned = events_.EventPrune(absl::Hours(1), 100);  // nothing is that old
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0);
  pruned = events_.EventPrune(absl::ZeroDuration(), 2);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 2);
  auto gone = events_.EventRead({.after = all.events[0].cursor});
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kOutOfRange) << gone.status();
  EXPECT_NE(gone.status().message().find("--event-retention"), std::string::npos);
  EXPECT_NE(gone.status().message().find("include_snapshot"), std::string::npos);
  EXPECT_EQ(events_.EventRead({.after = {}}).status().code(), absl::StatusCode::kOutOfRange);
  // At the horizon exactly, and after it, nothing was lost.
  EXPECT_EQ(Ids(Read(all.events[1].cursor)), std::vector<std::string>{third});
  EXPECT_EQ(Ids(Read(all.events[2].cursor)), std::vector<std::string>{});
  // Young events stop a prune: it only ever deletes a prefix.
  db_.Exec("UPDATE operation_events SET created_at = now() + interval '1 hour'");
  EXPECT_EQ(*events_.EventPrune(absl::ZeroDuration(), 100), 0);
}

// 0011 turned the log's rows into batches. Rows written before it keep their place, and a
// cursor handed out before it ("e1.KEY.SEQ") still resumes after the same change.
TEST(EventBatchesMigrationTest, OldEventsAndOldCursorsSurviveTheMigration) {
  TestDatabase db(10);
  auto insert = [&db](const std::string& kind) {
    return db.QueryValue(absl::StrCat("INSERT INTO operations (id, kind, max_attempts) VALUES (",
                                      "gen_random_uuid(), '", kind, "', 1) RETURNING id"));
  };
  const std::string a = insert("a");
  const std::string b = insert("b");
  const std::string c = insert("c");
  const std::string old_cursor = db.QueryValue(
      absl::StrCat("SELECT 'e1.' || key || '.' || seq FROM operation_events WHERE operation_id = '",
                   a, "'"));
  ASSERT_EQ(old_cursor.rfind("e1.", 0), 0u) << old_cursor;
  db.ApplyMigration(11);
  EXPECT_EQ(db.QueryValue("SELECT string_agg(operation_id::text, ',' ORDER BY key, position) "
                          "FROM operation_event_changes"),
            absl::StrCat(a, ",", b, ",", c));
  for (const store::Migration& m : store::EmbeddedMigrations()) {
    if (m.version > 11) db.ApplyMigration(m.version);
  }
  PgOperationStore store({.url = db.url(), .pool_size = 1});
  PgEventLog events(store);
  auto after = EventCursor::Decode(old_cursor);
  ASSERT_TRUE(after.ok()) << after.status();
  AwaitFinalIn(db);
  auto r = events.EventRead({.tenant = "default", .after = *after});
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> ids;
  for (const Event& e : r->events) ids.push_back(e.operation.id);
  EXPECT_EQ(ids, (std::vector<std::string>{b, c}));
  // New changes land after the old ones, several to a row.
  db.Exec("INSERT INTO operations (id, kind, max_attempts) "
          "SELECT gen_random_uuid(), 'd', 1 FROM generate_series(1, 3)");
  AwaitFinalIn(db);
  r = events.EventRead({.tenant = "default", .after = r->scanned_to});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->events.size(), 3u);
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operation_events"), "4");
}

TEST_F(PushChannelTest, ReadsAreScopedToTheTenantAndTheFilterAndLeaveOutStaleVersions) {
  const EventCursor start = *events_.EventHead();
  const std::string x = Insert("x");
  const std::string y = Insert("y");
  const std::string other = Insert("x", {}, "tenant-b");
  EventReadResult r = Read(start, "default", "kind = x");
  EXPECT_EQ(Ids(r), std::vector<std::string>{x});
  EXPECT_EQ(r.events[0].operation.state, core::State::kQueued);
  EXPECT_EQ(Ids(Read(start, "tenant-b")), std::vector<std::string>{other});
  EXPECT_EQ(Ids(Read(start)), (std::vector<std::string>{x, y}));
  // The window scans events, not matches: a one-event window past y still moves on.
  r = Read(start, "default", "kind = nothing", 2);
  EXPECT_TRUE(r.events.empty());
  EXPECT_LT(start, r.scanned_to);
  // x changes: its QUEUED event is left out, the later one carries the state.
  Succeed(ClaimOne("x"));
  r = Read(start, "default", "kind = x");
  ASSERT_EQ(Ids(r), (std::vector<std::string>{x}));
  EXPECT_EQ(r.events[0].operation.state, core::State::kSucceeded);
  EXPECT_EQ(r.events[0].operation.version, 3);
  // The filter applies to the operation as it was at the event.
  EXPECT_TRUE(Read(start, "default", "state = QUEUED AND kind = x").events.empty());
  EXPECT_EQ(Ids(Read(start, "default", "state = SUCCEEDED")), std::vector<std::string>{x});
}

}  // namespace
}  // namespace longrun::store::pg
