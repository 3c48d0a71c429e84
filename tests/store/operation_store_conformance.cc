// The OperationStore behaviour suite (see operation_store_conformance.h).
#include "tests/store/operation_store_conformance.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/core/filter.h"
#include "libs/core/ids.h"
#include "libs/core/submit.h"

namespace longrun::store::testing {

using core::State;

std::string OperationStoreConformanceTest::Insert(core::SubmitSpec spec, int max_attempts,
                                                  const std::string& tenant) {
  OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .tenant = tenant,
                          .spec = std::move(spec), .max_attempts = max_attempts};
  if (!p.spec.request_id.empty()) p.fingerprint = core::SubmitFingerprint(p.spec, {});
  auto r = store().OperationInsert(p);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_TRUE(r->created);
  return r->operation.id;
}

std::string OperationStoreConformanceTest::InsertKind(const std::string& kind, int priority) {
  return Insert({.kind = kind, .priority = priority});
}

std::vector<ClaimedJob> OperationStoreConformanceTest::Claim(int limit,
                                                             std::vector<std::string> kinds,
                                                             absl::Duration lease,
                                                             const std::string& worker) {
  auto jobs = store().JobClaim(
      {.worker_id = worker, .kinds = std::move(kinds), .limit = limit, .lease = lease});
  EXPECT_TRUE(jobs.ok()) << jobs.status();
  return jobs.ok() ? *jobs : std::vector<ClaimedJob>{};
}

core::Operation OperationStoreConformanceTest::Get(const std::string& id,
                                                   const std::string& tenant) {
  auto op = store().OperationGet({.id = id, .tenant = tenant});
  EXPECT_TRUE(op.ok()) << op.status();
  return op.ok() ? *op : core::Operation{};
}

std::vector<core::Operation> OperationStoreConformanceTest::ListAll(const std::string& tenant,
                                                                    int page_size,
                                                                    const std::string& filter) {
  OperationListParams p{.tenant = tenant, .limit = page_size};
  auto parsed = core::ParseFilter(filter);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (parsed.ok()) p.filter = *parsed;
  std::vector<core::Operation> all;
  for (int page = 0; page < 1000; ++page) {
    auto ops = store().OperationList(p);
    EXPECT_TRUE(ops.ok()) << ops.status();
    if (!ops.ok()) break;
    EXPECT_LE(ops->size(), static_cast<size_t>(page_size));
    all.insert(all.end(), ops->begin(), ops->end());
    if (ops->size() < static_cast<size_t>(page_size)) break;
    p.after_create_time = ops->back().create_time;
    p.after_id = ops->back().id;
  }
  return all;
}

namespace {

google::protobuf::Struct Obj(const std::string& key, double value) {
  google::protobuf::Struct s;
  (*s.mutable_fields())[key].set_number_value(value);
  return s;
}

bool SameStruct(const google::protobuf::Struct& a, const google::protobuf::Struct& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::string Stale(absl::string_view what, const std::string& id, int attempt) {
  return absl::StrCat(what, " of operations/", id, " attempt ", attempt,
                      " ignored: the attempt is no longer current");
}

// --- insert, get, idempotency ----------------------------------------------------------

TEST_P(OperationStoreConformanceTest, InsertThenGetRoundTripsEveryField) {
  core::SubmitSpec spec;
  spec.kind = "demo.echo";
  (*spec.input.mutable_fields())["x"].set_number_value(42);
  spec.request_id = "round-trip";
  spec.queue = "reports";
  spec.priority = 7;
  spec.timeout = absl::Seconds(90);
  spec.schedule_time = absl::FromUnixSeconds(4102444800);  // 2100-01-01
  spec.labels = {{"team", "billing"}, {"env", "prod \"quoted\""}};
  const absl::Time before = Now();
  const std::string id = Insert(spec, 3);
  const core::Operation op = Get(id);
  EXPECT_EQ(op.id, id);
  EXPECT_EQ(op.tenant, "default");
  EXPECT_EQ(op.kind, "demo.echo");
  EXPECT_EQ(op.queue, "reports");
  EXPECT_EQ(op.state, State::kQueued);
  EXPECT_EQ(op.priority, 7);
  EXPECT_EQ(op.max_attempts, 3);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_EQ(op.timeout, absl::Seconds(90));
  EXPECT_EQ(op.request_id, "round-trip");
  EXPECT_EQ(op.run_at, absl::FromUnixSeconds(4102444800));
  EXPECT_EQ(op.labels, spec.labels);
  EXPECT_EQ(op.version, 1);
  EXPECT_EQ(op.progress_percent, 0);
  EXPECT_EQ(op.progress_message, "");
  EXPECT_GE(op.create_time, before);
  EXPECT_LE(op.create_time, Now());
  EXPECT_EQ(op.update_time, op.create_time);
  EXPECT_FALSE(op.start_time.has_value());
  EXPECT_FALSE(op.end_time.has_value());
  EXPECT_FALSE(op.response.has_value());
  EXPECT_FALSE(op.error.has_value());
  EXPECT_TRUE(op.attempts.empty());
  EXPECT_FALSE(op.done());

  // Without a schedule an operation is due at once; an empty queue is "default".
  const core::Operation plain = Get(InsertKind("k"));
  EXPECT_EQ(plain.run_at, plain.create_time);
  EXPECT_EQ(plain.queue, "default");
  EXPECT_FALSE(plain.timeout.has_value());
  EXPECT_EQ(plain.request_id, "");
}

TEST_P(OperationStoreConformanceTest, GetUnknownIsNotFound) {
  const std::string id = core::NewOperationId(absl::Now());
  auto op = store().OperationGet({.id = id});
  EXPECT_EQ(op.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(op.status().message(), absl::StrCat("operation operations/", id, " not found"));
  auto many = store().OperationGetMany({id});
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_TRUE(many->empty());
}

TEST_P(OperationStoreConformanceTest, GetManyReturnsEachKnownOperationOnceInAnyTenant) {
  const std::string a = InsertKind("k");
  const std::string b = Insert({.kind = "k"}, 5, "other-tenant");
  auto many = store().OperationGetMany({a, core::NewOperationId(absl::Now()), b, a});
  ASSERT_TRUE(many.ok()) << many.status();
  std::multiset<std::string> ids;
  for (const core::Operation& op : *many) ids.insert(op.id);
  EXPECT_EQ(ids, (std::multiset<std::string>{a, b}));
  auto none = store().OperationGetMany({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(OperationStoreConformanceTest, SameRequestIdSameRequestReturnsTheSameOperation) {
  core::SubmitSpec spec{.kind = "k", .request_id = "req-1"};
  const std::string first = Insert(spec);
  ASSERT_EQ(Claim(1).size(), 1u);
  OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .spec = spec,
                          .max_attempts = 5, .fingerprint = core::SubmitFingerprint(spec, {})};
  auto again = store().OperationInsert(p);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->operation.id, first);
  EXPECT_EQ(again->operation.state, State::kRunning);  // the operation as it is now

  spec.priority = 5;  // a different request with the same key
  p.spec = spec;
  p.fingerprint = core::SubmitFingerprint(spec, {});
  auto conflict = store().OperationInsert(p);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(conflict.status().message(),
            absl::StrCat("request_id \"req-1\" was already used for a different request, which "
                         "created operations/", first, "; use a new request_id for a new request"));

  // Keys are per tenant; operations without a key never collide.
  EXPECT_NE(Insert(spec, 5, "other-tenant"), first);
  EXPECT_NE(InsertKind("k"), InsertKind("k"));
  EXPECT_EQ(ListAll("default", 100).size(), 3u);
}

TEST_P(OperationStoreConformanceTest, AnExistingIdIsAlreadyExists) {
  const std::string id = InsertKind("k");
  auto again = store().OperationInsert({.id = id, .spec = {.kind = "k"}, .max_attempts = 1});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  // In a batch it fails the whole batch.
  const std::string fresh = core::NewOperationId(absl::Now());
  auto batch = store().OperationInsertBatch(
      {{.id = fresh, .spec = {.kind = "k"}, .max_attempts = 1},
       {.id = id, .spec = {.kind = "k"}, .max_attempts = 1}});
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kAlreadyExists) << batch.status();
  EXPECT_EQ(store().OperationGet({.id = fresh}).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(OperationStoreConformanceTest, BatchInsertCommitsAllAndResolvesRequestIdsLikeSingleInserts) {
  core::SubmitSpec keyed{.kind = "k", .request_id = "batch-key"};
  const std::string existing = Insert(keyed);
  core::SubmitSpec different = keyed;
  different.priority = 9;
  core::SubmitSpec fresh_keyed = keyed;
  fresh_keyed.request_id = "new-key";
  std::vector<OperationInsertParams> batch;
  auto add = [&](const core::SubmitSpec& spec) {
    OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .spec = spec,
                            .max_attempts = 5};
    if (!spec.request_id.empty()) p.fingerprint = core::SubmitFingerprint(spec, {});
    batch.push_back(p);
  };
  core::SubmitSpec plain{.kind = "k", .labels = {{"env", "prod"}}};
  (*plain.input.mutable_fields())["quote"].set_string_value(
      "a \"quoted\" \\ value, {with} braces");
  add(plain);        // 0: new
  add(keyed);        // 1: same request as `existing`
  add(different);    // 2: same key, different request
  add(fresh_keyed);  // 3: new key
  add(fresh_keyed);  // 4: same new key again, same batch
  auto results = store().OperationInsertBatch(batch);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 5u);
  ASSERT_TRUE((*results)[0].ok());
  EXPECT_TRUE((*results)[0]->created);
  EXPECT_EQ((*results)[0]->operation.id, batch[0].id);
  EXPECT_EQ(Get((*results)[0]->operation.id).labels, plain.labels);
  ASSERT_TRUE((*results)[1].ok());
  EXPECT_FALSE((*results)[1]->created);
  EXPECT_EQ((*results)[1]->operation.id, existing);
  EXPECT_EQ((*results)[2].status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE((*results)[3].ok());
  ASSERT_TRUE((*results)[4].ok());
  EXPECT_EQ((*results)[3]->operation.id, (*results)[4]->operation.id);
  EXPECT_TRUE((*results)[3]->created);
  EXPECT_FALSE((*results)[4]->created);
  EXPECT_EQ(ListAll("default", 100).size(), 3u);
  auto none = store().OperationInsertBatch({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // The input survives the batch path unchanged.
  const std::vector<ClaimedJob> jobs = Claim(10);
  const auto it = std::find_if(jobs.begin(), jobs.end(), [&](const ClaimedJob& j) {
    return j.id == (*results)[0]->operation.id;
  });
  ASSERT_NE(it, jobs.end());
  EXPECT_TRUE(SameStruct(it->input, plain.input)) << it->input.DebugString();
}

TEST_P(OperationStoreConformanceTest, PayloadsAndIdsAreCheckedAsTheDatabaseChecksThem) {
  // jsonb keeps what JSON can say: a non-finite number comes back as a string...
  core::SubmitSpec spec{.kind = "k"};
  (*spec.input.mutable_fields())["n"].set_number_value(std::numeric_limits<double>::infinity());
  const std::string id = Insert(spec);
  const std::vector<ClaimedJob> jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].input.fields().at("n").string_value(), "Infinity");
  // ... and refuses U+0000 and invalid UTF-8 (INTERNAL: callers check with
  // core::CheckJsonStorable first), changing nothing.
  google::protobuf::Struct bad;
  (*bad.mutable_fields())["s"].set_string_value(std::string("a\0b", 3));
  EXPECT_EQ(store().JobComplete({.id = id, .attempt = 1, .response = bad}).code(),
            absl::StatusCode::kInternal);
  (*bad.mutable_fields())["s"].set_string_value("\xff");
  auto round = store().JobCompleteAndClaim({.successes = {{.id = id, .attempt = 1, .response = bad}}});
  EXPECT_EQ(round.status().code(), absl::StatusCode::kInternal) << round.status();
  spec.input = bad;
  auto insert = store().OperationInsert(
      {.id = core::NewOperationId(absl::Now()), .spec = spec, .max_attempts = 1});
  EXPECT_EQ(insert.status().code(), absl::StatusCode::kInternal) << insert.status();
  EXPECT_EQ(Get(id).state, State::kRunning);
  EXPECT_EQ(ListAll("default", 10).size(), 1u);

  // Ids are UUIDs in any case, returned in lower case.
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(Get(upper).id, id);
  auto bad_id = store().OperationInsert({.id = "not-a-uuid", .spec = {.kind = "k"}, .max_attempts = 1});
  EXPECT_EQ(bad_id.status().code(), absl::StatusCode::kInternal) << bad_id.status();
}

// --- claim -----------------------------------------------------------------------------

TEST_P(OperationStoreConformanceTest, ClaimReturnsTheInputAndStartsTheAttempt) {
  core::SubmitSpec spec{.kind = "k", .timeout = absl::Seconds(90)};
  google::protobuf::Struct& in = spec.input;
  (*in.mutable_fields())["n"].set_number_value(0.1);
  (*in.mutable_fields())["s"].set_string_value("\"quoted\" \\ {}, ünïcode");
  (*in.mutable_fields())["b"].set_bool_value(true);
  (*in.mutable_fields())["z"].set_null_value(google::protobuf::NULL_VALUE);
  auto* list = (*in.mutable_fields())["l"].mutable_list_value();
  list->add_values()->set_number_value(-3);
  (*list->add_values()->mutable_struct_value()->mutable_fields())["deep"].set_string_value("x");
  const std::string id = Insert(spec, 4);
  const absl::Time before = Now();
  const std::vector<ClaimedJob> jobs = Claim(5);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, id);
  EXPECT_EQ(jobs[0].kind, "k");
  EXPECT_EQ(jobs[0].attempt, 1);
  EXPECT_EQ(jobs[0].max_attempts, 4);
  EXPECT_EQ(jobs[0].timeout, absl::Seconds(90));
  EXPECT_TRUE(SameStruct(jobs[0].input, spec.input)) << jobs[0].input.DebugString();
  const core::Operation op = Get(id);
  EXPECT_EQ(op.state, State::kRunning);
  EXPECT_EQ(op.attempt, 1);
  EXPECT_EQ(op.version, 2);
  ASSERT_TRUE(op.start_time.has_value());
  EXPECT_GE(*op.start_time, before);
  EXPECT_EQ(op.update_time, *op.start_time);
  EXPECT_FALSE(op.end_time.has_value());
  EXPECT_TRUE(Claim(5).empty());
}

TEST_P(OperationStoreConformanceTest, ClaimOrderIsPriorityThenRunAtThenId) {
  const absl::Time t = Now() - absl::Minutes(10);
  auto at = [&](int priority, absl::Duration offset, const std::string& queue = "") {
    return Insert({.kind = "k", .queue = queue, .priority = priority,
                   .schedule_time = t + offset});
  };
  const std::string b = at(0, absl::Seconds(0));
  std::vector<std::string> same = {at(0, absl::Seconds(1)), at(0, absl::Seconds(1)),
                                   at(0, absl::Seconds(1))};
  const std::string h = at(5, absl::Seconds(3), "beta");
  const std::string c = at(5, absl::Seconds(2));
  const std::string low = at(-5, absl::Seconds(-60));
  const std::string other_kind = Insert({.kind = "other", .priority = 100});
  const std::string later =
      Insert({.kind = "k", .priority = 1000, .schedule_time = Now() + absl::Hours(1)});

  std::sort(same.begin(), same.end());
  std::vector<std::string> expected = {c, h, b};
  expected.insert(expected.end(), same.begin(), same.end());
  expected.push_back(low);
  std::vector<std::string> order;
  for (int i = 0; i < 20; ++i) {
    const std::vector<ClaimedJob> jobs = Claim(1);
    if (jobs.empty()) break;
    order.push_back(jobs[0].id);
  }
  EXPECT_EQ(order, expected);
  EXPECT_EQ(Get(other_kind).state, State::kQueued);
  EXPECT_EQ(Get(later).state, State::kQueued);

  AdvanceTime(absl::Minutes(61));  // the scheduled one comes due
  const std::vector<ClaimedJob> jobs = Claim(5, {"k", "other"});
  ASSERT_EQ(jobs.size(), 2u);
  const std::set<std::string> claimed = {jobs[0].id, jobs[1].id};
  EXPECT_EQ(claimed, (std::set<std::string>{later, other_kind}));
}

TEST_P(OperationStoreConformanceTest, ClaimHonoursKindsQueuesAndLimit) {
  const std::string alpha1 = Insert({.kind = "k", .queue = "alpha"});
  const std::string alpha2 = Insert({.kind = "k", .queue = "alpha"});
  const std::string beta = Insert({.kind = "k", .queue = "beta"});
  const std::string other = Insert({.kind = "j", .queue = "alpha"});
  auto none = store().JobClaim({.worker_id = "w", .kinds = {}, .limit = 10});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());  // no kinds: nothing
  auto zero = store().JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 0});
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
  auto one = store().JobClaim({.worker_id = "w", .kinds = {"k"}, .queues = {"alpha"}, .limit = 1});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  auto rest =
      store().JobClaim({.worker_id = "w", .kinds = {"k"}, .queues = {"alpha", "gamma"}, .limit = 10});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((std::set<std::string>{(*one)[0].id, (*rest)[0].id}),
            (std::set<std::string>{alpha1, alpha2}));
  auto everywhere = store().JobClaim({.worker_id = "w", .kinds = {"k", "j"}, .limit = 10});
  ASSERT_TRUE(everywhere.ok());
  std::set<std::string> ids;
  for (const ClaimedJob& j : *everywhere) ids.insert(j.id);
  EXPECT_EQ(ids, (std::set<std::string>{beta, other}));
}

// --- completion and fencing ------------------------------------------------------------

TEST_P(OperationStoreConformanceTest, CompletionIsFencedByAttemptAndTerminalStatesNeverChange) {
  const std::string id = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  const google::protobuf::Struct result = Obj("ok", 1);

  // Every write from a stale attempt changes nothing.
  absl::Status stale = store().JobComplete({.id = id, .attempt = 2, .response = result});
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.message(), Stale("completion", id, 2));
  stale = store().JobProgress({.id = id, .attempt = 2, .percent = 50});
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.message(), Stale("progress", id, 2));
  stale = store().JobRelease({id, 2});
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.message(), Stale("release", id, 2));
  auto held = store().JobHeartbeat({.jobs = {{id, 2}}});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
  EXPECT_EQ(Get(id).state, State::kRunning);
  EXPECT_EQ(Get(id).version, 2);

  ASSERT_TRUE(store().JobProgress({.id = id, .attempt = 1, .percent = 50, .message = "half"}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.progress_percent, 50);
  EXPECT_EQ(op.progress_message, "half");
  EXPECT_EQ(op.version, 3);
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1, .response = result}).ok());
  const core::Operation done = Get(id);
  EXPECT_EQ(done.state, State::kSucceeded);
  ASSERT_TRUE(done.response.has_value());
  EXPECT_TRUE(SameStruct(*done.response, result));
  EXPECT_EQ(done.progress_percent, 100);
  EXPECT_EQ(done.progress_message, "");
  EXPECT_EQ(done.end_time, done.update_time);
  EXPECT_FALSE(done.error.has_value());
  EXPECT_EQ(done.version, 4);
  EXPECT_TRUE(done.done());

  // Nothing moves a terminal operation: a duplicate or a failure, progress, release,
  // a heartbeat, a round's success, a cancel.
  EXPECT_EQ(store().JobComplete({.id = id, .attempt = 1, .error = core::OperationError{13, "late"}})
                .code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store().JobComplete({.id = id, .attempt = 1, .response = result}).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store().JobProgress({.id = id, .attempt = 1, .percent = 1}).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store().JobRelease({id, 1}).code(), absl::StatusCode::kAborted);
  held = store().JobHeartbeat({.jobs = {{id, 1}}});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
  auto round = store().JobCompleteAndClaim({.successes = {{.id = id, .attempt = 1}}});
  ASSERT_TRUE(round.ok());
  ASSERT_EQ(round->completed.size(), 1u);
  EXPECT_EQ(round->completed[0].code(), absl::StatusCode::kAborted);
  auto cancelled = store().OperationCancel({.id = id});
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, State::kSucceeded);
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 0);
  const core::Operation after = Get(id);
  EXPECT_EQ(after.state, State::kSucceeded);
  EXPECT_EQ(after.version, done.version);
  EXPECT_EQ(after.update_time, done.update_time);
}

TEST_P(OperationStoreConformanceTest, CompleteAndClaimRecordsSuccessesAndClaimsInOneCall) {
  const std::string a = InsertKind("k");
  const std::string b = InsertKind("k");
  ASSERT_EQ(Claim(2).size(), 2u);
  const std::string c = InsertKind("k");
  auto round = store().JobCompleteAndClaim(
      {.successes = {{.id = a, .attempt = 1, .response = Obj("a", 1)},
                     {.id = a, .attempt = 1, .response = Obj("a", 1)},  // a duplicate
                     {.id = b, .attempt = 2, .response = Obj("b", 2)}},  // stale
       .claim = {.worker_id = "w2", .kinds = {"k"}, .limit = 5}});
  ASSERT_TRUE(round.ok()) << round.status();
  ASSERT_EQ(round->completed.size(), 3u);
  EXPECT_TRUE(round->completed[0].ok()) << round->completed[0];
  EXPECT_TRUE(round->completed[1].ok()) << round->completed[1];
  EXPECT_EQ(round->completed[2].code(), absl::StatusCode::kAborted);
  EXPECT_EQ(round->completed[2].message(), Stale("completion", b, 2));
  ASSERT_EQ(round->claimed.size(), 1u);
  EXPECT_EQ(round->claimed[0].id, c);
  const core::Operation done = Get(a);
  EXPECT_EQ(done.state, State::kSucceeded);
  EXPECT_EQ(done.version, 3);
  ASSERT_TRUE(done.response.has_value());
  EXPECT_TRUE(SameStruct(*done.response, Obj("a", 1)));
  ASSERT_EQ(done.attempts.size(), 1u);
  EXPECT_EQ(done.attempts[0].outcome, "SUCCEEDED");
  EXPECT_EQ(done.attempts[0].worker_id, "w");
  EXPECT_EQ(Get(b).state, State::kRunning);

  // A success without a response records an empty one.
  round = store().JobCompleteAndClaim({.successes = {{.id = b, .attempt = 1}}});
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->completed[0].ok());
  EXPECT_TRUE(round->claimed.empty());
  const core::Operation empty = Get(b);
  ASSERT_TRUE(empty.response.has_value());
  EXPECT_EQ(empty.response->fields_size(), 0);

  round = store().JobCompleteAndClaim({});
  ASSERT_TRUE(round.ok());
  EXPECT_TRUE(round->completed.empty());
  EXPECT_TRUE(round->claimed.empty());
}

TEST_P(OperationStoreConformanceTest, FailureRetriesAfterItsDelayUntilMaxAttemptsThenFails) {
  const std::string id = Insert({.kind = "k"}, 2);
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1,
                                   .error = core::OperationError{14, "try again"},
                                   .retry_after = absl::Hours(1)}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, State::kRetryWait);
  EXPECT_EQ(op.run_at, op.update_time + absl::Hours(1));
  EXPECT_FALSE(op.end_time.has_value());
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 14);
  EXPECT_EQ(op.error->message, "try again");
  EXPECT_EQ(op.version, 3);
  EXPECT_FALSE(op.done());

  EXPECT_TRUE(Claim(1).empty());
  AdvanceTime(absl::Minutes(59));
  EXPECT_TRUE(Claim(1).empty());
  AdvanceTime(absl::Minutes(2));
  const std::vector<ClaimedJob> jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 2);
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 2,
                                   .error = core::OperationError{14, "still failing"}}).ok());
  op = Get(id);
  EXPECT_EQ(op.state, State::kFailed);
  EXPECT_EQ(op.end_time, op.update_time);
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 14);
  EXPECT_EQ(op.error->message, "still failing");
  EXPECT_TRUE(Claim(1).empty());

  // A failure without an error is UNKNOWN.
  const std::string bare = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobComplete({.id = bare, .attempt = 1}).ok());
  op = Get(bare);
  EXPECT_EQ(op.state, State::kFailed);
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 2);
  EXPECT_EQ(op.error->message, "unknown error");
}

TEST_P(OperationStoreConformanceTest, AttemptHistoryRecordsEveryFinishedAttempt) {
  const std::string id = Insert({.kind = "k"}, 3);
  ASSERT_EQ(Claim(1, {"k"}, absl::Seconds(30), "w1").size(), 1u);
  AdvanceTime(absl::Seconds(5));
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1, .error = core::OperationError{14, "boom"},
                                   .retry_after = absl::ZeroDuration()}).ok());
  AdvanceTime(absl::Seconds(5));
  ASSERT_EQ(Claim(1, {"k"}, absl::Seconds(30), "w2").size(), 1u);
  AdvanceTime(absl::Seconds(5));
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 2, .response = Obj("x", 1)}).ok());
  const core::Operation op = Get(id);
  ASSERT_EQ(op.attempts.size(), 2u);
  const core::AttemptRecord& first = op.attempts[0];
  const core::AttemptRecord& second = op.attempts[1];
  EXPECT_EQ(first.attempt, 1);
  EXPECT_EQ(first.worker_id, "w1");
  EXPECT_EQ(first.outcome, "FAILED");
  ASSERT_TRUE(first.error.has_value());
  EXPECT_EQ(first.error->code, 14);
  EXPECT_EQ(first.error->message, "boom");
  ASSERT_TRUE(first.start_time.has_value());
  EXPECT_EQ(first.start_time, op.start_time);
  EXPECT_GE(first.end_time - *first.start_time, absl::Seconds(5));
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(second.worker_id, "w2");
  EXPECT_EQ(second.outcome, "SUCCEEDED");
  EXPECT_FALSE(second.error.has_value());
  ASSERT_TRUE(second.start_time.has_value());
  EXPECT_GE(*second.start_time - first.end_time, absl::Seconds(5));
  EXPECT_GE(second.end_time - *second.start_time, absl::Seconds(5));
  EXPECT_EQ(second.end_time, op.end_time);
}

// --- progress --------------------------------------------------------------------------

TEST_P(OperationStoreConformanceTest, ProgressBatchIsFencedPerJobAndAFailureCarriesItsPendingProgress) {
  const std::string a = Insert({.kind = "k"}, 3);
  const std::string b = Insert({.kind = "k"}, 1);
  ASSERT_EQ(Claim(2).size(), 2u);
  auto r = store().JobProgressBatch({{.id = a, .attempt = 1, .percent = 10, .message = "a10"},
                                     {.id = b, .attempt = 1, .percent = 20, .message = "b20"},
                                     {.id = b, .attempt = 2, .percent = 30, .message = "stale"},
                                     {.id = core::NewOperationId(absl::Now()), .attempt = 1}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_TRUE((*r)[1].ok());
  EXPECT_EQ((*r)[2].code(), absl::StatusCode::kAborted);
  EXPECT_EQ((*r)[2].message(), Stale("progress", b, 2));
  EXPECT_EQ((*r)[3].code(), absl::StatusCode::kAborted);
  core::Operation op = Get(a);
  EXPECT_EQ(op.progress_percent, 10);
  EXPECT_EQ(op.progress_message, "a10");
  EXPECT_EQ(op.version, 3);
  EXPECT_GE(op.update_time, *op.start_time);
  op = Get(b);
  EXPECT_EQ(op.progress_percent, 20);
  EXPECT_EQ(op.progress_message, "b20");
  auto empty = store().JobProgressBatch({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  // A failure records the progress not yet written with its outcome...
  ASSERT_TRUE(store().JobComplete({.id = a, .attempt = 1, .error = core::OperationError{14, "x"},
                                   .retry_after = absl::ZeroDuration(),
                                   .progress = JobProgressValue{70, "seventy"}}).ok());
  op = Get(a);
  EXPECT_EQ(op.state, State::kRetryWait);
  EXPECT_EQ(op.progress_percent, 70);
  EXPECT_EQ(op.progress_message, "seventy");
  // ... or keeps what is stored.
  ASSERT_TRUE(store().JobComplete({.id = b, .attempt = 1, .error = core::OperationError{13, "y"}}).ok());
  op = Get(b);
  EXPECT_EQ(op.state, State::kFailed);
  EXPECT_EQ(op.progress_percent, 20);
  EXPECT_EQ(op.progress_message, "b20");
  // A new attempt starts from zero.
  ASSERT_EQ(Claim(1).size(), 1u);
  op = Get(a);
  EXPECT_EQ(op.progress_percent, 0);
  EXPECT_EQ(op.progress_message, "");
}

// --- release, heartbeat, rescue --------------------------------------------------------

TEST_P(OperationStoreConformanceTest, ReleaseHandsTheJobBackWithoutBurningTheAttempt) {
  const std::string id = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobProgress({.id = id, .attempt = 1, .percent = 30}).ok());
  ASSERT_TRUE(store().JobRelease({id, 1}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, State::kQueued);
  EXPECT_EQ(op.attempt, 0);
  EXPECT_FALSE(op.start_time.has_value());
  EXPECT_EQ(op.progress_percent, 0);
  EXPECT_EQ(op.run_at, op.update_time);
  EXPECT_EQ(op.version, 4);
  EXPECT_TRUE(op.attempts.empty());
  EXPECT_EQ(store().JobRelease({id, 1}).code(), absl::StatusCode::kAborted);

  std::vector<ClaimedJob> jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 1);
  const absl::Time first_start = *Get(id).start_time;
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1, .error = core::OperationError{14, "x"},
                                   .retry_after = absl::ZeroDuration()}).ok());
  jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 2);
  // Releasing a later attempt keeps the operation's start time and the finished attempts.
  ASSERT_TRUE(store().JobRelease({id, 2}).ok());
  op = Get(id);
  EXPECT_EQ(op.state, State::kQueued);
  EXPECT_EQ(op.attempt, 1);
  EXPECT_EQ(op.start_time, first_start);
  EXPECT_EQ(op.attempts.size(), 1u);

  // Only a RUNNING job can be released; one whose cancellation was requested must finish.
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().OperationCancel({.id = id}).ok());
  EXPECT_EQ(store().JobRelease({id, 2}).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Get(id).state, State::kCancelling);
}

// Remote workers' hand-back: the attempt number is retired (a lease token of it can never
// match a later claim) and max_attempts grows by one, so no attempt is used up either.
TEST_P(OperationStoreConformanceTest, ReleaseRetiringTheAttemptNeverReusesItsNumber) {
  const std::string id = InsertKind("k");
  const int32_t max_attempts = Get(id).max_attempts;
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobRelease({id, 1, /*retire_attempt=*/true}).ok());
  core::Operation op = Get(id);
  EXPECT_EQ(op.state, State::kQueued);
  EXPECT_EQ(op.attempt, 1);
  EXPECT_EQ(op.max_attempts, max_attempts + 1);
  EXPECT_TRUE(op.attempts.empty());
  std::vector<ClaimedJob> jobs = Claim(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempt, 2);
  EXPECT_EQ(jobs[0].max_attempts, max_attempts + 1);
  // Everything the released attempt could still try is fenced.
  EXPECT_EQ(store().JobComplete({.id = id, .attempt = 1, .response = google::protobuf::Struct()})
                .code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store().JobRelease({id, 1, true}).code(), absl::StatusCode::kAborted);
  auto held = store().JobHeartbeat({.jobs = {{id, 1}}});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
  EXPECT_EQ(Get(id).state, State::kRunning);
}

TEST_P(OperationStoreConformanceTest, HeartbeatExtendsOnlyCurrentAttemptsAndReportsCancelling) {
  const std::string a = InsertKind("k");
  const std::string b = InsertKind("k");
  ASSERT_EQ(Claim(2, {"k"}, absl::Minutes(1)).size(), 2u);
  ASSERT_EQ(store().OperationCancel({.id = b})->state, State::kCancelling);
  auto held = store().JobHeartbeat(
      {.jobs = {{a, 1}, {b, 1}, {a, 2}, {core::NewOperationId(absl::Now()), 1}},
       .lease = absl::Minutes(5)});
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->size(), 2u);
  std::map<std::string, State> states;
  for (const JobHeartbeatResult& h : *held) states[h.id] = h.state;
  EXPECT_EQ(states[a], State::kRunning);
  EXPECT_EQ(states[b], State::kCancelling);
  // A heartbeat is not a visible change.
  EXPECT_EQ(Get(a).version, 2);
  EXPECT_EQ(Get(b).version, 3);
  auto empty = store().JobHeartbeat({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  AdvanceTime(absl::Minutes(2));  // past the claim's lease, within the heartbeat's
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 0);
  AdvanceTime(absl::Minutes(4));
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 2);
  EXPECT_EQ(Get(a).state, State::kRetryWait);
  const core::Operation cancelled = Get(b);
  EXPECT_EQ(cancelled.state, State::kCancelled);
  ASSERT_TRUE(cancelled.error.has_value());
  EXPECT_EQ(cancelled.error->code, 1);
  EXPECT_EQ(cancelled.error->message, "cancelled by request");
  EXPECT_EQ(cancelled.end_time, cancelled.update_time);
  ASSERT_EQ(cancelled.attempts.size(), 1u);
  EXPECT_EQ(cancelled.attempts[0].outcome, "LEASE_EXPIRED");
  ASSERT_TRUE(cancelled.attempts[0].error.has_value());
  EXPECT_EQ(cancelled.attempts[0].error->code, 1);
}

TEST_P(OperationStoreConformanceTest, RescueRequeuesExpiredLeasesFailsOnLastAttemptAndRecordsIt) {
  const std::string again = Insert({.kind = "k"}, 3);
  const std::string last = Insert({.kind = "k"}, 1);
  ASSERT_EQ(Claim(2, {"k"}, absl::Seconds(30), "crashed").size(), 2u);
  AdvanceTime(absl::Seconds(10));
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 0);  // a live lease is never rescued
  AdvanceTime(absl::Seconds(30));
  EXPECT_EQ(*store().JobRescueStuck({.limit = 1}), 1);
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 1);
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 0);
  const std::string message =
      "attempt 1 lost its worker crashed (lease expired; the worker crashed or stalled)";

  const core::Operation requeued = Get(again);
  EXPECT_EQ(requeued.state, State::kRetryWait);
  EXPECT_EQ(requeued.run_at, requeued.update_time);
  EXPECT_FALSE(requeued.end_time.has_value());
  ASSERT_TRUE(requeued.error.has_value());
  EXPECT_EQ(requeued.error->code, 14);
  EXPECT_EQ(requeued.error->message, message);
  EXPECT_EQ(requeued.version, 3);

  const core::Operation failed = Get(last);
  EXPECT_EQ(failed.state, State::kFailed);
  EXPECT_EQ(failed.end_time, failed.update_time);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->code, 14);
  EXPECT_EQ(failed.error->message, message);
  ASSERT_EQ(failed.attempts.size(), 1u);
  EXPECT_EQ(failed.attempts[0].outcome, "LEASE_EXPIRED");
  EXPECT_EQ(failed.attempts[0].worker_id, "crashed");
  EXPECT_EQ(failed.attempts[0].start_time, failed.start_time);
  EXPECT_EQ(failed.attempts[0].end_time, failed.end_time);
  ASSERT_TRUE(failed.attempts[0].error.has_value());
  EXPECT_EQ(failed.attempts[0].error->message, message);

  // The crashed worker's late completion is fenced off.
  EXPECT_EQ(store().JobComplete({.id = last, .attempt = 1, .response = Obj("x", 1)}).code(),
            absl::StatusCode::kAborted);
  // The re-queued job runs again, at once, as attempt 2.
  const std::vector<ClaimedJob> retry = Claim(1);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, again);
  EXPECT_EQ(retry[0].attempt, 2);
}

// The rescuer racing a completion (river#1302): whichever commits first wins, and a
// completed job is never moved back.
TEST_P(OperationStoreConformanceTest, RescuerRacingCompletionNeverMovesACompletedJobBack) {
  constexpr int kRounds = 100;
  OperationStore& rescuer = harness_->other_client();
  int completed_first = 0, rescued_first = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string id = InsertKind("k");
    ASSERT_EQ(Claim(1, {"k"}, absl::Minutes(1)).size(), 1u);
    AdvanceTime(absl::Minutes(2));
    absl::Status rescued;
    std::thread rescue([&] { rescued = rescuer.JobRescueStuck({.limit = 10}).status(); });
    const absl::Status completion =
        store().JobComplete({.id = id, .attempt = 1, .response = Obj("i", i)});
    rescue.join();
    ASSERT_TRUE(rescued.ok()) << rescued;
    const core::Operation op = Get(id);
    if (completion.ok()) {
      ++completed_first;
      EXPECT_EQ(op.state, State::kSucceeded) << "round " << i;
    } else {
      ++rescued_first;
      EXPECT_EQ(completion.code(), absl::StatusCode::kAborted);
      EXPECT_EQ(op.state, State::kRetryWait) << "round " << i;
      ASSERT_TRUE(store().OperationCancel({.id = id}).ok());
    }
    // Whatever happened, one more rescue pass changes nothing.
    EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 0);
    EXPECT_EQ(Get(id).state, op.state == State::kRetryWait ? State::kCancelled : op.state);
    ASSERT_TRUE(store().OperationDelete({.id = id}).ok());
  }
  std::cout << "completion first " << completed_first << ", rescue first " << rescued_first
            << "\n";
}

// --- schedule-to-start, cancel, delete, retention ---------------------------------------

TEST_P(OperationStoreConformanceTest, UnstartedJobsFailAfterTheScheduleToStartLimit) {
  const std::string old1 = InsertKind("nobody-serves-this");
  const std::string old2 = Insert({.kind = "nobody-serves-this", .queue = "q2"});
  const std::string retrying = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobComplete({.id = retrying, .attempt = 1,
                                   .error = core::OperationError{14, "x"},
                                   .retry_after = absl::ZeroDuration()}).ok());
  const std::string scheduled =
      Insert({.kind = "nobody-serves-this", .schedule_time = Now() + absl::Hours(2)});
  AdvanceTime(absl::Hours(2));
  const std::string fresh = InsertKind("nobody-serves-this");

  EXPECT_EQ(*store().JobFailUnstarted({.older_than = absl::Hours(1), .limit = 1}), 1);
  EXPECT_EQ(*store().JobFailUnstarted({.older_than = absl::Hours(1), .limit = 10}), 1);
  EXPECT_EQ(*store().JobFailUnstarted({.older_than = absl::Hours(1), .limit = 10}), 0);
  const core::Operation op = Get(old1);
  EXPECT_EQ(op.state, State::kFailed);
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 4);
  EXPECT_EQ(op.error->message,
            "not started within 1h of its scheduled time: no worker claimed kind "
            "\"nobody-serves-this\" on queue \"default\"");
  EXPECT_EQ(op.end_time, op.update_time);
  EXPECT_EQ(op.version, 2);
  EXPECT_TRUE(op.attempts.empty());
  EXPECT_EQ(Get(old2).state, State::kFailed);
  EXPECT_EQ(Get(old2).error->message,
            "not started within 1h of its scheduled time: no worker claimed kind "
            "\"nobody-serves-this\" on queue \"q2\"");
  EXPECT_EQ(Get(fresh).state, State::kQueued);
  EXPECT_EQ(Get(scheduled).state, State::kQueued);  // counted from its scheduled time
  EXPECT_EQ(Get(retrying).state, State::kRetryWait);  // it started once
}

TEST_P(OperationStoreConformanceTest, CancelEndsWaitingJobsAtOnceAndAsksRunningOnesToStop) {
  const std::string queued = InsertKind("k");
  core::Operation op = *store().OperationCancel({.id = queued});
  EXPECT_EQ(op.state, State::kCancelled);
  ASSERT_TRUE(op.error.has_value());
  EXPECT_EQ(op.error->code, 1);
  EXPECT_EQ(op.error->message, "cancelled by request");
  EXPECT_EQ(op.end_time, op.update_time);
  EXPECT_EQ(op.version, 2);
  EXPECT_EQ(Get(queued).version, 2);

  const std::string waiting = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobComplete({.id = waiting, .attempt = 1,
                                   .error = core::OperationError{14, "x"},
                                   .retry_after = absl::Hours(1)}).ok());
  op = *store().OperationCancel({.id = waiting});
  EXPECT_EQ(op.state, State::kCancelled);
  EXPECT_EQ(op.error->code, 1);
  EXPECT_EQ(op.end_time, op.update_time);

  // RUNNING -> CANCELLING; the worker's outcome then ends it CANCELLED, whatever it says.
  const std::string running = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  op = *store().OperationCancel({.id = running});
  EXPECT_EQ(op.state, State::kCancelling);
  EXPECT_FALSE(op.end_time.has_value());
  EXPECT_FALSE(op.done());
  EXPECT_EQ(op.version, 3);
  EXPECT_EQ(store().OperationCancel({.id = running})->version, 3);  // asked once is enough
  ASSERT_TRUE(store().JobProgress({.id = running, .attempt = 1, .percent = 90}).ok());
  ASSERT_TRUE(store().JobComplete({.id = running, .attempt = 1,
                                   .error = core::OperationError{13, "handler stopped"},
                                   .retry_after = absl::Seconds(1)}).ok());
  op = Get(running);
  EXPECT_EQ(op.state, State::kCancelled);
  EXPECT_EQ(op.error->code, 1);
  EXPECT_EQ(op.error->message, "cancelled by request");
  EXPECT_EQ(op.end_time, op.update_time);
  ASSERT_EQ(op.attempts.size(), 1u);
  EXPECT_EQ(op.attempts[0].outcome, "CANCELLED");
  EXPECT_EQ(op.attempts[0].error->code, 1);

  // A handler that finished anyway succeeds.
  const std::string finished = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_EQ(store().OperationCancel({.id = finished})->state, State::kCancelling);
  ASSERT_TRUE(store().JobComplete({.id = finished, .attempt = 1, .response = Obj("x", 1)}).ok());
  EXPECT_EQ(Get(finished).state, State::kSucceeded);

  // Terminal operations stay as they are.
  const core::Operation before = Get(finished);
  op = *store().OperationCancel({.id = finished});
  EXPECT_EQ(op.state, State::kSucceeded);
  EXPECT_EQ(op.version, before.version);
  EXPECT_EQ(op.update_time, before.update_time);

  const std::string unknown = core::NewOperationId(absl::Now());
  auto missing = store().OperationCancel({.id = unknown});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            absl::StrCat("operation operations/", unknown, " not found"));
}

TEST_P(OperationStoreConformanceTest, DeleteOnlyFinishedOperationsAndTheirRequestIdsGoWithThem) {
  const std::string id = Insert({.kind = "k", .request_id = "key"});
  absl::Status st = store().OperationDelete({.id = id});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), absl::StrCat("operation operations/", id,
                                       " is QUEUED: only finished operations can be deleted "
                                       "(cancel it first and delete it once done)"));
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().OperationCancel({.id = id}).ok());
  EXPECT_EQ(store().OperationDelete({.id = id}).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1}).ok());
  ASSERT_EQ(Get(id).state, State::kCancelled);
  EXPECT_TRUE(store().OperationDelete({.id = id}).ok());
  EXPECT_EQ(store().OperationGet({.id = id}).status().code(), absl::StatusCode::kNotFound);
  st = store().OperationDelete({.id = id});
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), absl::StrCat("operation operations/", id, " not found"));
  // The key is free again, for any request.
  const std::string reused = Insert({.kind = "k", .request_id = "key", .priority = 3});
  EXPECT_NE(reused, id);
}

TEST_P(OperationStoreConformanceTest, ReadsAndWritesAreScopedToTheTenant) {
  const std::string id = Insert({.kind = "k", .request_id = "same"}, 5, "t1");
  const std::string other = Insert({.kind = "k", .request_id = "same", .priority = 1}, 5, "t2");
  EXPECT_NE(id, other);
  EXPECT_EQ(Get(id, "t1").tenant, "t1");
  EXPECT_EQ(store().OperationGet({.id = id}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store().OperationGet({.id = id, .tenant = "t2"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().OperationCancel({.id = id, .tenant = "t2"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Get(id, "t1").state, State::kQueued);
  ASSERT_TRUE(store().OperationCancel({.id = id, .tenant = "t1"}).ok());
  EXPECT_EQ(store().OperationDelete({.id = id, .tenant = "t2"}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Get(id, "t1").state, State::kCancelled);
  const std::vector<core::Operation> t1 = ListAll("t1", 10);
  ASSERT_EQ(t1.size(), 1u);
  EXPECT_EQ(t1[0].id, id);
  EXPECT_TRUE(ListAll("default", 10).empty());
  EXPECT_TRUE(store().OperationDelete({.id = id, .tenant = "t1"}).ok());
  EXPECT_EQ(Get(other, "t2").state, State::kQueued);
}

TEST_P(OperationStoreConformanceTest, PruneDeletesOnlyOldFinishedOperationsOfOneStateInBatches) {
  std::vector<std::string> old_succeeded;
  for (int i = 0; i < 3; ++i) old_succeeded.push_back(InsertKind("k"));
  const std::string old_failed = Insert({.kind = "k"}, 1);
  const std::vector<ClaimedJob> jobs = Claim(10);
  ASSERT_EQ(jobs.size(), 4u);
  for (const std::string& id : old_succeeded) {
    ASSERT_TRUE(store().JobComplete({.id = id, .attempt = 1, .response = Obj("x", 1)}).ok());
  }
  ASSERT_TRUE(store().JobComplete({.id = old_failed, .attempt = 1,
                                   .error = core::OperationError{13, "x"}}).ok());
  const std::string old_cancelled = InsertKind("j");
  ASSERT_TRUE(store().OperationCancel({.id = old_cancelled}).ok());
  const std::string old_queued = InsertKind("j");
  AdvanceTime(absl::Hours(24 * 8));
  const std::string fresh = InsertKind("k");
  ASSERT_EQ(Claim(1).size(), 1u);
  ASSERT_TRUE(store().JobComplete({.id = fresh, .attempt = 1, .response = Obj("x", 1)}).ok());

  const OperationPruneParams succeeded{.state = State::kSucceeded,
                                       .older_than = absl::Hours(24 * 7), .limit = 2};
  EXPECT_EQ(*store().OperationPrune(succeeded), 2);
  EXPECT_EQ(*store().OperationPrune(succeeded), 1);
  EXPECT_EQ(*store().OperationPrune(succeeded), 0);
  EXPECT_EQ(*store().OperationPrune({.state = State::kFailed, .older_than = absl::Hours(24 * 9)}),
            0);  // not old enough for this TTL
  EXPECT_EQ(*store().OperationPrune({.state = State::kFailed, .older_than = absl::Hours(24 * 7)}),
            1);
  EXPECT_EQ(
      *store().OperationPrune({.state = State::kCancelled, .older_than = absl::Hours(24 * 7)}), 1);
  std::set<std::string> left;
  for (const core::Operation& op : ListAll("default", 100)) left.insert(op.id);
  EXPECT_EQ(left, (std::set<std::string>{old_queued, fresh}));
}

// --- listing ---------------------------------------------------------------------------

TEST_P(OperationStoreConformanceTest, ListIsNewestFirstAndKeysetPagesVisitEveryOperationOnce) {
  std::set<std::string> inserted;
  for (int i = 0; i < 23; ++i) {
    // Some operations share a create_time (on the memory store's clock), so paging must
    // also order by id.
    if (i % 3 == 0) AdvanceTime(absl::Seconds(1));
    core::SubmitSpec spec{.kind = i % 2 == 0 ? "a" : "b"};
    if (i % 4 == 0) spec.labels = {{"env", "prod"}};
    inserted.insert(Insert(spec, 5, "pages"));
  }
  InsertKind("a");  // another tenant's

  const std::vector<core::Operation> all = ListAll("pages", 100);
  ASSERT_EQ(all.size(), 23u);
  std::set<std::string> listed;
  for (size_t i = 0; i < all.size(); ++i) {
    listed.insert(all[i].id);
    if (i > 0) {
      EXPECT_GT(std::tie(all[i - 1].create_time, all[i - 1].id),
                std::tie(all[i].create_time, all[i].id))
          << "position " << i;
    }
  }
  EXPECT_EQ(listed, inserted);
  auto ids = [](const std::vector<core::Operation>& ops) {
    std::vector<std::string> out;
    for (const core::Operation& op : ops) out.push_back(op.id);
    return out;
  };
  for (int page : {1, 4, 22, 23}) EXPECT_EQ(ids(ListAll("pages", page)), ids(all)) << page;

  auto only = [&](const std::function<bool(const core::Operation&)>& keep) {
    std::vector<std::string> out;
    for (const core::Operation& op : all) {
      if (keep(op)) out.push_back(op.id);
    }
    return out;
  };
  EXPECT_EQ(ids(ListAll("pages", 3, "kind = \"a\"")),
            only([](const core::Operation& op) { return op.kind == "a"; }));
  EXPECT_EQ(ids(ListAll("pages", 2, "labels.env:* OR kind = b")),
            only([](const core::Operation& op) { return op.kind == "b" || !op.labels.empty(); }));
  ASSERT_EQ(Claim(100, {"b"}).size(), 11u);
  EXPECT_EQ(ids(ListAll("pages", 5, "state = RUNNING")),
            only([](const core::Operation& op) { return op.kind == "b"; }));
  EXPECT_TRUE(ListAll("pages", 5, "state = FAILED").empty());

  auto none = store().OperationList({.tenant = "pages", .limit = 0});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// --- what a store reports to its observer (metrics) ---------------------------------------

// Every event as one line, e.g. "ended q k SUCCEEDED run rescued".
class RecordingObserver final : public StoreObserver {
 public:
  void OperationSubmitted(absl::string_view queue, absl::string_view kind) override {
    Add(absl::StrCat("submitted ", queue, " ", kind));
  }
  void JobStarted(absl::string_view queue, absl::string_view kind,
                  absl::Duration pickup) override {
    Add(absl::StrCat("started ", queue, " ", kind));
    std::lock_guard<std::mutex> lock(mu_);
    pickups_.push_back(pickup);
  }
  void JobEnded(const JobTransition& t) override {
    Add(absl::StrCat("ended ", t.queue, " ", t.kind, " ", core::StateName(t.state),
                     t.run_time.has_value() ? " run" : "", t.rescued ? " rescued" : ""));
    if (t.run_time.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      run_times_.push_back(*t.run_time);
    }
  }
  void StoreFailed(const absl::Status& status) override {
    Add(absl::StrCat("failed ", absl::StatusCodeToString(status.code())));
  }
  // The events since the last Take(), sorted (their order within one call is unspecified).
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out = std::move(events_);
    events_.clear();
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<absl::Duration> pickups() {
    std::lock_guard<std::mutex> lock(mu_);
    return pickups_;
  }
  std::vector<absl::Duration> run_times() {
    std::lock_guard<std::mutex> lock(mu_);
    return run_times_;
  }

 private:
  void Add(std::string event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }
  std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<absl::Duration> pickups_;
  std::vector<absl::Duration> run_times_;
};

using Events = std::vector<std::string>;

TEST_P(OperationStoreConformanceTest, ObserverSeesEachChangeOnceAndNothingElse) {
  RecordingObserver seen;
  store().SetObserver(&seen);
  const std::string a = Insert({.kind = "k", .request_id = "r1", .queue = "q"});
  // An idempotent repeat creates nothing, so it counts nothing.
  OperationInsertParams repeat{.id = core::NewOperationId(absl::Now()),
                               .spec = {.kind = "k", .request_id = "r1", .queue = "q"},
                               .max_attempts = 5};
  repeat.fingerprint = core::SubmitFingerprint(repeat.spec, {});
  ASSERT_FALSE(store().OperationInsert(repeat)->created);
  auto batch = store().OperationInsertBatch(
      {{.id = core::NewOperationId(absl::Now()), .spec = {.kind = "k"}, .max_attempts = 1},
       {.id = core::NewOperationId(absl::Now()), .spec = {.kind = "k"}, .max_attempts = 2},
       {.id = core::NewOperationId(absl::Now()), .spec = {.kind = "other", .queue = "q"},
        .max_attempts = 1}});
  ASSERT_TRUE(batch.ok()) << batch.status();
  const std::string b = (*batch)[0]->operation.id;
  const std::string c = (*batch)[1]->operation.id;
  const std::string queued = (*batch)[2]->operation.id;
  EXPECT_EQ(seen.Take(), (Events{"submitted default k", "submitted default k",
                                 "submitted q k", "submitted q other"}));

  AdvanceTime(absl::Seconds(2));
  ASSERT_EQ(Claim(3).size(), 3u);
  EXPECT_EQ(seen.Take(), (Events{"started default k", "started default k", "started q k"}));
  for (absl::Duration pickup : seen.pickups()) {
    EXPECT_GE(pickup, absl::Seconds(2));
    EXPECT_LT(pickup, absl::Seconds(60));
  }

  AdvanceTime(absl::Seconds(1));
  // A success through the worker's round trip, a retry, and a final failure.
  auto cycle = store().JobCompleteAndClaim(
      {.successes = {{.id = a, .attempt = 1, .response = Obj("x", 1)},
                     {.id = a, .attempt = 7, .response = Obj("x", 1)}}});
  ASSERT_TRUE(cycle.ok()) << cycle.status();
  ASSERT_TRUE(store().JobComplete(JobCompleteParams::Failed(
      c, 1, absl::UnavailableError("x"), absl::Hours(1))).ok());
  ASSERT_TRUE(store().JobComplete(JobCompleteParams::Failed(b, 1, absl::InternalError("x"))).ok());
  // Fenced writes change nothing and report nothing.
  EXPECT_FALSE(store().JobComplete({.id = b, .attempt = 1, .response = Obj("x", 1)}).ok());
  EXPECT_EQ(seen.Take(), (Events{"ended default k FAILED run", "ended default k RETRY_WAIT run",
                                 "ended q k SUCCEEDED run"}));
  for (absl::Duration run : seen.run_times()) {
    EXPECT_GE(run, absl::Seconds(1));
    EXPECT_LT(run, absl::Seconds(60));
  }

  // Cancelling a waiting job ends it; cancelling it again, or a finished one, does nothing.
  EXPECT_EQ(store().OperationCancel({.id = queued})->state, State::kCancelled);
  EXPECT_EQ(store().OperationCancel({.id = queued})->state, State::kCancelled);
  EXPECT_EQ(store().OperationCancel({.id = a})->state, State::kSucceeded);
  EXPECT_EQ(store().OperationCancel({.id = c})->state, State::kCancelled);
  EXPECT_EQ(seen.Take(), (Events{"ended default k CANCELLED", "ended q other CANCELLED"}));

  // A running job asked to stop ends CANCELLED when its attempt ends; a lost worker's job is
  // rescued (RETRY_WAIT while attempts remain), and an unstarted one fails.
  const std::string running = Insert({.kind = "k"}, 1);
  const std::string lost = Insert({.kind = "k"}, 2);
  ASSERT_EQ(Claim(2).size(), 2u);
  EXPECT_EQ(store().OperationCancel({.id = running})->state, State::kCancelling);
  ASSERT_TRUE(store().JobComplete(JobCompleteParams::Failed(
      running, 1, absl::CancelledError("stopped"))).ok());
  const std::string unserved = Insert({.kind = "nobody"});
  AdvanceTime(absl::Seconds(31));
  EXPECT_EQ(*store().JobRescueStuck({.limit = 10}), 1);
  EXPECT_EQ(*store().JobFailUnstarted({.older_than = absl::Seconds(30), .limit = 10}), 1);
  EXPECT_EQ(seen.Take(),
            (Events{"ended default k CANCELLED run", "ended default k RETRY_WAIT run rescued",
                    "ended default nobody FAILED", "started default k", "started default k",
                    "submitted default k", "submitted default k", "submitted default nobody"}));
  store().SetObserver(nullptr);
}

TEST_P(OperationStoreConformanceTest, ClaimForOneTenantTakesOnlyThatTenantsJobs) {
  const std::string mine = Insert({.kind = "k"}, 5, "tenant-a");
  const std::string theirs = Insert({.kind = "k"}, 5, "tenant-b");
  auto a = store().JobClaim({.worker_id = "w", .kinds = {"k"}, .tenant = "tenant-a", .limit = 10});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].id, mine);
  auto any = store().JobClaim({.worker_id = "w", .kinds = {"k"}, .limit = 10});
  ASSERT_TRUE(any.ok()) << any.status();
  ASSERT_EQ(any->size(), 1u);  // no tenant: every tenant's
  EXPECT_EQ((*any)[0].id, theirs);
}

TEST_P(OperationStoreConformanceTest, QueueDepthsCountUnfinishedJobsByQueueAndState) {
  auto depths = store().QueueDepthList();
  ASSERT_TRUE(depths.ok()) << depths.status();
  EXPECT_TRUE(depths->empty());

  const std::string first = InsertKind("k");
  AdvanceTime(absl::Seconds(5));
  InsertKind("k");
  InsertKind("k");
  Insert({.kind = "k", .schedule_time = Now() + absl::Hours(1)});
  Insert({.kind = "k", .queue = "busy"});
  Insert({.kind = "k", .queue = "busy"});
  Insert({.kind = "k", .queue = "done"});
  auto running = store().JobClaim({.worker_id = "w", .kinds = {"k"}, .queues = {"busy", "done"},
                                   .limit = 3});
  ASSERT_EQ(running->size(), 3u);
  for (const ClaimedJob& j : *running) {
    if (j.queue == "done") {
      ASSERT_TRUE(store().JobComplete({.id = j.id, .attempt = 1, .response = Obj("x", 1)}).ok());
    }
  }
  depths = store().QueueDepthList();
  ASSERT_TRUE(depths.ok()) << depths.status();
  ASSERT_EQ(depths->size(), 2u);
  EXPECT_EQ((*depths)[0].queue, "busy");
  EXPECT_EQ((*depths)[0].queued, 0);
  EXPECT_EQ((*depths)[0].running, 2);
  EXPECT_EQ((*depths)[0].oldest_queued_age, absl::ZeroDuration());
  EXPECT_EQ((*depths)[1].queue, "default");
  EXPECT_EQ((*depths)[1].queued, 3);
  EXPECT_EQ((*depths)[1].scheduled, 1);
  EXPECT_EQ((*depths)[1].running, 0);
  EXPECT_GE((*depths)[1].oldest_queued_age, absl::Seconds(5));
  EXPECT_LT((*depths)[1].oldest_queued_age, absl::Seconds(60));
  (void)first;
}

TEST_P(OperationStoreConformanceTest, CallbackIsStoredAndReadBackEverywhere) {
  const std::string plain = InsertKind("k");
  EXPECT_FALSE(Get(plain).callback.has_value());

  core::SubmitSpec spec{.kind = "k", .labels = {{"cb", "yes"}}};
  spec.callback = core::CallbackSpec{.url = "https://hooks.example.com/done?x=1",
                                     .events = core::CallbackEvents::kAllChanges};
  OperationInsertParams p{.id = core::NewOperationId(absl::Now()), .spec = spec,
                          .max_attempts = 3};
  auto inserted = store().OperationInsert(p);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  for (const core::Operation& op :
       {inserted->operation, Get(p.id), ListAll("default", 10, "labels.cb = yes").at(0)}) {
    ASSERT_TRUE(op.callback.has_value()) << op.id;
    EXPECT_EQ(op.callback->url, "https://hooks.example.com/done?x=1");
    EXPECT_EQ(op.callback->events, core::CallbackEvents::kAllChanges);
    EXPECT_EQ(op.callback->state, core::CallbackState::kWaiting);
    EXPECT_EQ(op.callback->attempts, 0);
    EXPECT_EQ(op.callback->webhook_id, "");
  }
  auto many = store().OperationGetMany({p.id, plain});
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 2u);
  for (const core::Operation& op : *many) {
    EXPECT_EQ(op.callback.has_value(), op.id == p.id) << op.id;
  }

  // A batch insert carries it too; the terminal default included.
  core::SubmitSpec terminal{.kind = "k"};
  terminal.callback = core::CallbackSpec{.url = "https://other.example.com/"};
  auto batch = store().OperationInsertBatch(
      {{.id = core::NewOperationId(absl::Now()), .spec = terminal, .max_attempts = 3}});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_TRUE((*batch)[0].ok()) << (*batch)[0].status();
  const core::Operation got = Get((*batch)[0]->operation.id);
  ASSERT_TRUE(got.callback.has_value());
  EXPECT_EQ(got.callback->url, "https://other.example.com/");
  EXPECT_EQ(got.callback->events, core::CallbackEvents::kTerminal);
}

TEST_P(OperationStoreConformanceTest, CallbackBecomesPendingOnTheChangesItAskedFor) {
  core::SubmitSpec terminal{.kind = "k"};
  terminal.callback = core::CallbackSpec{.url = "https://a.example.com/"};
  const std::string t = Insert(terminal);
  core::SubmitSpec all = terminal;
  all.callback->events = core::CallbackEvents::kAllChanges;
  const std::string a = Insert(all);

  auto jobs = Claim(2);
  ASSERT_EQ(jobs.size(), 2u);
  // Claiming is a change: only ALL_CHANGES posts it.
  EXPECT_EQ(Get(t).callback->state, core::CallbackState::kWaiting);
  const core::Operation running = Get(a);
  EXPECT_EQ(running.callback->state, core::CallbackState::kPending);
  EXPECT_EQ(running.callback->attempts, 0);
  EXPECT_TRUE(running.callback->webhook_id.rfind("msg_", 0) == 0) << running.callback->webhook_id;
  EXPECT_EQ(running.callback->webhook_id.size(), 36u);

  // A heartbeat is no change.
  std::vector<JobRef> refs;
  for (const ClaimedJob& j : jobs) refs.push_back({j.id, j.attempt});
  ASSERT_TRUE(store().JobHeartbeat({.jobs = refs}).ok());
  EXPECT_EQ(Get(t).callback->state, core::CallbackState::kWaiting);

  for (const ClaimedJob& j : jobs) {
    ASSERT_TRUE(store().JobComplete({.id = j.id, .attempt = j.attempt,
                                     .response = google::protobuf::Struct()}).ok());
  }
  for (const std::string& id : {t, a}) {
    const core::Operation done = Get(id);
    ASSERT_TRUE(done.callback.has_value());
    EXPECT_EQ(done.callback->state, core::CallbackState::kPending) << id;
    EXPECT_EQ(done.callback->attempts, 0);
    EXPECT_EQ(done.callback->webhook_id.size(), 36u);
  }
  // Each change under ALL_CHANGES is its own delivery, with its own webhook-id.
  EXPECT_NE(Get(a).callback->webhook_id, running.callback->webhook_id);

  // A cancel of a waiting job is terminal too.
  const std::string c = Insert(terminal);
  ASSERT_TRUE(store().OperationCancel({.id = c}).ok());
  EXPECT_EQ(Get(c).callback->state, core::CallbackState::kPending);
}

}  // namespace
}  // namespace longrun::store::testing
