#include "libs/store/pg/pg_operation_store.h"

#include <map>
#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/status_macros.h"
#include "libs/core/ids.h"
#include "libs/core/struct_json.h"
#include "libs/store/pg/filter_sql.h"
#include "libs/store/pg/pool.h"
#include "libs/store/pg/queries.h"
#include "libs/store/pg/rows.h"

namespace longrun::store::pg {
namespace {

void PrepareAll(pqxx::connection& c) {
  for (const auto& [name, sql] : kAllQueries) c.prepare(std::string(name), std::string(sql));
}

// operations.callback_url / callback_events of a Submit (NULL without a callback).
struct CallbackColumns {
  std::optional<std::string> url, events;
};
CallbackColumns CallbackColumnsOf(const core::SubmitSpec& s) {
  if (!s.callback.has_value()) return {};
  return {s.callback->url, std::string(core::CallbackEventsName(s.callback->events))};
}

absl::Duration Micros(const pqxx::field& f) {
  return f.is_null() ? absl::ZeroDuration() : absl::Microseconds(f.as<int64_t>());
}

absl::Status Fenced(const pqxx::result& r, absl::string_view what, absl::string_view id,
                    int32_t attempt) {
  if (r.affected_rows() > 0) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(what, " of operations/", id, " attempt ", attempt,
                                         " ignored: the attempt is no longer current"));
}

}  // namespace

PgOperationStore::PgOperationStore(const PgStoreConfig& config)
    : pool_(std::make_unique<PgPool>(PgPoolConfig{
          .url = WithConnectDefaults(config.url, config.application_name),
          .size = config.pool_size,
          .on_connect =
              [settings = config.session_settings](pqxx::connection& c) {
                for (const std::string& setting : settings) {
                  pqxx::nontransaction tx(c);
                  tx.exec("SET " + setting);
                }
                PrepareAll(c);
              },
          .on_error =
              [this](const absl::Status& status) {
                if (observer() != nullptr) observer()->StoreFailed(status);
              }})) {}

PgOperationStore::~PgOperationStore() = default;

PgPoolStats PgOperationStore::PoolStats() const { return pool_->Stats(); }

absl::StatusOr<JobCycleResult> PgOperationStore::JobCompleteAndClaim(const JobCycleParams& p) {
  JobCycleResult out;
  const int32_t limit = p.claim.kinds.empty() ? 0 : std::max(0, p.claim.limit);
  if (p.successes.empty() && limit == 0) return out;
  ArrayLiteral ids, attempts, responses;
  for (const JobCompleteParams& s : p.successes) {
    ids.Add(s.id);
    attempts.Add(absl::StrCat(s.attempt));
    responses.Add(s.response.has_value() ? ToJson(*s.response) : "{}");
  }
  std::optional<std::string> queues;
  if (!p.claim.queues.empty()) queues = TextArray(p.claim.queues);
  std::optional<std::string> tenant;
  if (!p.claim.tenant.empty()) tenant = p.claim.tenant;
  std::set<std::pair<std::string, int32_t>> applied;  // (id, attempt)
  std::vector<JobTransition> succeeded;
  struct Started {
    std::string queue, kind;
    absl::Duration pickup;
  };
  std::vector<Started> started;  // every claimed row, decodable or not
  // Only a process that counts (--metrics-listen) collects what it would count.
  const bool observed = observer() != nullptr;
  // Claimed jobs whose input cannot be decoded: failed below, alone, instead of failing the
  // round (which is committed) and stranding every other job it claimed.
  std::vector<JobCompleteParams> undecodable;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    out.claimed.clear();
    undecodable.clear();
    applied.clear();
    succeeded.clear();
    started.clear();
    pqxx::nontransaction tx(c);
    const pqxx::result r =
        tenant.has_value()
            ? tx.exec_prepared("JobCompleteAndClaimForTenant", ids.Done(), attempts.Done(),
                               responses.Done(), TextArray(p.claim.kinds), limit,
                               p.claim.worker_id, absl::ToInt64Microseconds(p.claim.lease),
                               queues, *tenant)
            : tx.exec_prepared("JobCompleteAndClaim", ids.Done(), attempts.Done(),
                               responses.Done(), TextArray(p.claim.kinds), limit,
                               p.claim.worker_id, absl::ToInt64Microseconds(p.claim.lease),
                               queues);
    out.claimed.reserve(r.size());
    for (const auto& row : r) {
      if (row[0].as<bool>()) {
        applied.emplace(row[1].as<std::string>(), row[3].as<int32_t>());
        if (observed) {
          succeeded.push_back({.queue = row[8].as<std::string>(),
                               .kind = row[2].as<std::string>(),
                               .state = core::State::kSucceeded,
                               .run_time = Micros(row[9])});
        }
        continue;
      }
      ClaimedJob j;
      j.id = row[1].as<std::string>();
      j.kind = row[2].as<std::string>();
      j.queue = row[8].as<std::string>();
      if (observed) started.push_back({j.queue, j.kind, Micros(row[9])});
      j.attempt = row[3].as<int32_t>();
      j.max_attempts = row[4].as<int32_t>();
      if (!row[5].is_null()) j.timeout = absl::Microseconds(row[5].as<int64_t>());
      j.trace_id = row[7].as<std::string>();
      absl::StatusOr<google::protobuf::Struct> input = DecodeObject(row[6], "input", j.id);
      if (!input.ok()) {
        undecodable.push_back(JobCompleteParams::Failed(j.id, j.attempt, input.status()));
        continue;
      }
      j.input = *std::move(input);
      out.claimed.push_back(std::move(j));
    }
  }));
  if (observed) {
    for (const JobTransition& t : succeeded) observer()->JobEnded(t);
    // Undecodable jobs started too; their failure below reports their end.
    for (const Started& j : started) observer()->JobStarted(j.queue, j.kind, j.pickup);
  }
  // Permanent: the same row would fail the same way on every attempt.
  for (const JobCompleteParams& failed : undecodable) (void)JobComplete(failed);
  out.completed.reserve(p.successes.size());
  for (const JobCompleteParams& s : p.successes) {
    out.completed.push_back(
        applied.count({s.id, s.attempt}) > 0
            ? absl::OkStatus()
            : absl::AbortedError(absl::StrCat("completion of operations/", s.id, " attempt ",
                                              s.attempt, " ignored: the attempt is no longer current")));
  }
  return out;
}

absl::Status PgOperationStore::JobComplete(const JobCompleteParams& p) {
  absl::Status fenced;
  std::optional<absl::StatusOr<JobTransition>> ended;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r;
    if (p.response.has_value()) {
      r = tx.exec_prepared("JobCompleteSuccess", p.id, p.attempt, ToJson(*p.response));
    } else {
      const core::OperationError err = p.error.value_or(core::OperationError{2, "unknown error"});
      std::optional<int64_t> retry_us;
      if (p.retry_after.has_value()) retry_us = absl::ToInt64Microseconds(*p.retry_after);
      std::optional<int32_t> percent;
      std::optional<std::string> message;
      if (p.progress.has_value()) {
        percent = p.progress->percent;
        message = p.progress->message;
      }
      r = tx.exec_prepared("JobCompleteFailure", p.id, p.attempt, err.code, err.message, retry_us,
                           percent, message);
    }
    fenced = Fenced(r, "completion", p.id, p.attempt);
    if (r.empty()) return;
    const auto& row = r[0];
    JobTransition t;
    if (p.response.has_value()) {
      t = {.queue = row[0].as<std::string>(), .kind = row[1].as<std::string>(),
           .state = core::State::kSucceeded, .run_time = Micros(row[2])};
    } else {
      absl::StatusOr<core::State> state = DecodeState(row[0], p.id);
      if (!state.ok()) {
        ended = state.status();
        return;
      }
      t = {.queue = row[1].as<std::string>(), .kind = row[2].as<std::string>(),
           .state = *state, .run_time = Micros(row[3])};
    }
    ended = std::move(t);
  }));
  if (ended.has_value() && ended->ok() && observer() != nullptr) observer()->JobEnded(**ended);
  return fenced;
}

absl::Status PgOperationStore::JobWake() {
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec_prepared("JobWake");
  });
}

absl::StatusOr<std::vector<absl::Status>> PgOperationStore::JobProgressBatch(
    const std::vector<JobProgressParams>& batch) {
  std::vector<absl::Status> out;
  if (batch.empty()) return out;
  ArrayLiteral ids, attempts, percents, messages;
  for (const JobProgressParams& p : batch) {
    ids.Add(p.id);
    attempts.Add(absl::StrCat(p.attempt));
    percents.Add(absl::StrCat(p.percent));
    messages.Add(p.message);
  }
  std::set<std::pair<std::string, int32_t>> applied;  // (id, attempt)
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    applied.clear();
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec_prepared("JobProgressBatch", ids.Done(), attempts.Done(),
                                            percents.Done(), messages.Done());
    for (const auto& row : r) applied.emplace(row[0].as<std::string>(), row[1].as<int32_t>());
  }));
  out.reserve(batch.size());
  for (const JobProgressParams& p : batch) {
    out.push_back(applied.count({p.id, p.attempt}) > 0
                      ? absl::OkStatus()
                      : absl::AbortedError(absl::StrCat(
                            "progress of operations/", p.id, " attempt ", p.attempt,
                            " ignored: the attempt is no longer current")));
  }
  return out;
}

absl::StatusOr<int> PgOperationStore::JobFailUnstarted(const JobFailUnstartedParams& p) {
  std::vector<JobTransition> failed;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    failed.clear();
    for (const auto& row : tx.exec_prepared("JobFailUnstarted",
                                            absl::ToInt64Microseconds(p.older_than), p.limit,
                                            absl::FormatDuration(p.older_than))) {
      failed.push_back({.queue = row[0].as<std::string>(), .kind = row[1].as<std::string>(),
                        .state = core::State::kFailed});
    }
  }));
  if (observer() != nullptr) {
    for (const JobTransition& t : failed) observer()->JobEnded(t);
  }
  return static_cast<int>(failed.size());
}

absl::StatusOr<std::vector<JobHeartbeatResult>> PgOperationStore::JobHeartbeat(
    const JobHeartbeatParams& p) {
  std::vector<JobHeartbeatResult> held;
  if (p.jobs.empty()) return held;
  std::vector<std::string> ids;
  std::string attempts = "{";
  for (const JobRef& j : p.jobs) {
    ids.push_back(j.id);
    absl::StrAppend(&attempts, attempts.size() > 1 ? "," : "", j.attempt);
  }
  attempts += "}";
  absl::Status decoded;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec_prepared("JobHeartbeat", TextArray(ids), attempts,
                                            absl::ToInt64Microseconds(p.lease));
    for (const auto& row : r) {
      absl::StatusOr<core::State> state = DecodeState(row[1], row[0].as<std::string>());
      if (!state.ok()) {
        decoded = state.status();
        return;
      }
      held.push_back({row[0].as<std::string>(), *state});
    }
  }));
  LONGRUN_RETURN_IF_ERROR(decoded);
  return held;
}

absl::Status PgOperationStore::JobRelease(const JobReleaseParams& job) {
  absl::Status fenced;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    fenced = Fenced(tx.exec_prepared("JobRelease", job.id, job.attempt, job.retire_attempt),
                    "release", job.id, job.attempt);
  }));
  return fenced;
}

absl::StatusOr<int> PgOperationStore::JobRescueStuck(const JobRescueParams& p) {
  std::vector<JobTransition> rescued;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    rescued.clear();
    for (const auto& row : tx.exec_prepared("JobRescueStuck", p.limit)) {
      // The statement only writes valid states; an unreadable one is still a rescue.
      rescued.push_back({.queue = row[1].as<std::string>(),
                         .kind = row[2].as<std::string>(),
                         .state = core::ParseState(row[0].as<std::string>())
                                      .value_or(core::State::kRetryWait),
                         .run_time = Micros(row[3]),
                         .rescued = true});
    }
  }));
  if (observer() != nullptr) {
    for (const JobTransition& t : rescued) observer()->JobEnded(t);
  }
  return static_cast<int>(rescued.size());
}

absl::StatusOr<std::vector<QueueDepth>> PgOperationStore::QueueDepthList() {
  std::vector<QueueDepth> out;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    out.clear();
    for (const auto& row : tx.exec_prepared("QueueDepthList")) {
      out.push_back({.queue = row[0].as<std::string>(),
                     .queued = row[1].as<int64_t>(),
                     .scheduled = row[2].as<int64_t>(),
                     .running = row[3].as<int64_t>(),
                     .oldest_queued_age = Micros(row[4])});
    }
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  return out;
}

absl::StatusOr<int> PgOperationStore::OperationPrune(const OperationPruneParams& p) {
  int n = 0;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    n = static_cast<int>(tx.exec_prepared("OperationPrune", std::string(core::StateName(p.state)),
                                          absl::ToInt64Microseconds(p.older_than), p.limit)
                             .affected_rows());
  }));
  return n;
}

absl::StatusOr<std::vector<core::Operation>> PgOperationStore::OperationList(
    const OperationListParams& p) {
  // Built per call (the filter shapes it); values are parameters, never SQL text.
  std::vector<std::string> params = {p.tenant};
  std::string sql =
      "SELECT " LONGRUN_OPERATION_COLUMNS LONGRUN_OPERATIONS_FROM "WHERE tenant = $1";
  if (p.filter.has_value()) absl::StrAppend(&sql, " AND (", FilterToSql(*p.filter, &params), ")");
  if (p.after_create_time.has_value()) {
    params.push_back(absl::StrCat(absl::ToUnixMicros(*p.after_create_time)));
    const std::string ts = absl::StrCat("$", params.size());
    params.push_back(p.after_id);
    absl::StrAppend(&sql, " AND (create_time, id) < (", MicrosToTimestampSql(ts), ", $",
                    params.size(), "::uuid)");
  }
  absl::StrAppend(&sql, " ORDER BY create_time DESC, id DESC LIMIT ", std::max(0, p.limit));
  std::vector<core::Operation> ops;
  absl::Status decoded;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    decoded = ReadOperations(tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params)), &ops);
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  LONGRUN_RETURN_IF_ERROR(decoded);
  return ops;
}

absl::StatusOr<core::Operation> PgOperationStore::OperationCancel(const OperationGetParams& p) {
  std::optional<absl::StatusOr<core::Operation>> op;
  std::optional<JobTransition> ended;  // a waiting job this call made CANCELLED
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result changed = tx.exec_prepared("OperationCancel", p.id, p.tenant);
    // (changed, told, queue, kind): a change that told no worker ended a waiting job.
    ended.reset();
    if (changed[0][0].as<int64_t>() > 0 && changed[0][1].as<int64_t>() == 0) {
      ended = JobTransition{.queue = changed[0][2].as<std::string>(),
                            .kind = changed[0][3].as<std::string>(),
                            .state = core::State::kCancelled};
    }
    const pqxx::result r = tx.exec_prepared("OperationGet", p.id, p.tenant);
    if (!r.empty()) op = ReadOperation(r[0]);
  }));
  // Counted from the statement's own row, even if the operation is gone by the read after.
  if (ended.has_value() && observer() != nullptr) observer()->JobEnded(*ended);
  if (!op.has_value()) {
    return absl::NotFoundError(absl::StrCat("operation ", core::OperationName(p.id), " not found"));
  }
  return *std::move(op);
}

absl::Status PgOperationStore::OperationDelete(const OperationGetParams& p) {
  std::optional<absl::StatusOr<core::Operation>> live;
  bool deleted = false;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    deleted = tx.exec_prepared("OperationDelete", p.id, p.tenant).affected_rows() > 0;
    if (deleted) return;
    const pqxx::result r = tx.exec_prepared("OperationGet", p.id, p.tenant);
    if (!r.empty()) live = ReadOperation(r[0]);
  }));
  if (deleted) return absl::OkStatus();
  if (!live.has_value()) {
    return absl::NotFoundError(absl::StrCat("operation ", core::OperationName(p.id), " not found"));
  }
  LONGRUN_RETURN_IF_ERROR(live->status());
  return absl::FailedPreconditionError(absl::StrCat(
      "operation ", core::OperationName(p.id), " is ", core::StateName((*live)->state),
      ": only finished operations can be deleted (cancel it first and delete it once done)"));
}

absl::StatusOr<core::Operation> PgOperationStore::OperationGet(const OperationGetParams& p) {
  std::optional<absl::StatusOr<core::Operation>> op;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec_prepared("OperationGet", p.id, p.tenant);
    if (!r.empty()) op = ReadOperation(r[0]);
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  if (!op.has_value()) {
    return absl::NotFoundError(absl::StrCat("operation ", core::OperationName(p.id), " not found"));
  }
  return *std::move(op);
}

absl::StatusOr<std::vector<core::Operation>> PgOperationStore::OperationGetMany(
    const std::vector<std::string>& ids) {
  std::vector<core::Operation> ops;
  if (ids.empty()) return ops;
  absl::Status decoded;
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    decoded = ReadOperations(tx.exec_prepared("OperationGetMany", TextArray(ids)), &ops);
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  LONGRUN_RETURN_IF_ERROR(decoded);
  return ops;
}

absl::StatusOr<std::vector<absl::StatusOr<OperationInsertResult>>>
PgOperationStore::OperationInsertBatch(const std::vector<OperationInsertParams>& batch) {
  std::vector<absl::StatusOr<OperationInsertResult>> results(
      batch.size(), absl::InternalError("not inserted"));
  if (batch.empty()) return results;
  ArrayLiteral ids, tenants, kinds, queues, priorities, attempts, timeouts, schedules, request_ids,
      fingerprints, labels, inputs, trace_ids, callback_urls, callback_events;
  std::map<std::string, size_t> index;  // id -> position
  for (size_t i = 0; i < batch.size(); ++i) {
    const OperationInsertParams& p = batch[i];
    const core::SubmitSpec& s = p.spec;
    index[p.id] = i;
    ids.Add(p.id);
    tenants.Add(p.tenant);
    kinds.Add(s.kind);
    queues.Add(s.queue.empty() ? core::kDefaultQueue : absl::string_view(s.queue));
    priorities.Add(absl::StrCat(s.priority));
    attempts.Add(absl::StrCat(p.max_attempts));
    std::optional<int64_t> timeout_us, schedule_us;
    if (s.timeout.has_value()) timeout_us = absl::ToInt64Microseconds(*s.timeout);
    if (s.schedule_time.has_value()) schedule_us = absl::ToUnixMicros(*s.schedule_time);
    timeouts.Add(timeout_us);
    schedules.Add(schedule_us);
    std::optional<std::string> request_id, fingerprint;
    if (!s.request_id.empty()) {
      request_id = s.request_id;
      fingerprint = p.fingerprint;
    }
    request_ids.Add(request_id);
    fingerprints.Add(fingerprint);
    labels.Add(LabelsToJson(s.labels));
    inputs.Add(ToJson(s.input));
    trace_ids.Add(s.trace_id);
    const CallbackColumns cb = CallbackColumnsOf(s);
    callback_urls.Add(cb.url);
    callback_events.Add(cb.events);
  }
  std::vector<bool> inserted(batch.size(), false);
  LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec_prepared(
        "OperationInsertBatch", ids.Done(), tenants.Done(), kinds.Done(), queues.Done(),
        priorities.Done(), attempts.Done(), timeouts.Done(), schedules.Done(), request_ids.Done(),
        fingerprints.Done(), labels.Done(), inputs.Done(), trace_ids.Done(),
        callback_urls.Done(), callback_events.Done());
    for (const auto& row : r) {
      auto it = index.find(row[0].as<std::string>());
      if (it == index.end()) continue;
      inserted[it->second] = true;
      absl::StatusOr<core::Operation> op = ReadOperation(row);
      if (op.ok()) {
        results[it->second] = OperationInsertResult{*std::move(op), true};
      } else {
        results[it->second] = op.status();
      }
    }
  }));
  // Rows skipped by ON CONFLICT reused a request_id: resolve each as a single Submit would
  // (same request -> the existing operation; different -> ALREADY_EXISTS).
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!inserted[i]) {
      results[i] = OperationInsert(batch[i]);
    } else if (observer() != nullptr) {
      const core::SubmitSpec& s = batch[i].spec;
      observer()->OperationSubmitted(s.queue.empty() ? core::kDefaultQueue : s.queue, s.kind);
    }
  }
  return results;
}

absl::StatusOr<OperationInsertResult> PgOperationStore::OperationInsert(
    const OperationInsertParams& p) {
  const core::SubmitSpec& s = p.spec;
  std::optional<int64_t> timeout_us;
  if (s.timeout.has_value()) timeout_us = absl::ToInt64Microseconds(*s.timeout);
  std::optional<int64_t> schedule_us;
  if (s.schedule_time.has_value()) schedule_us = absl::ToUnixMicros(*s.schedule_time);
  std::optional<std::string> request_id;
  std::optional<std::string> fingerprint;
  if (!s.request_id.empty()) {
    request_id = s.request_id;
    fingerprint = p.fingerprint;
  }
  const std::string queue = s.queue.empty() ? std::string(core::kDefaultQueue) : s.queue;
  const std::string labels = LabelsToJson(s.labels);
  const std::string input = ToJson(s.input);
  const CallbackColumns cb = CallbackColumnsOf(s);

  // Two rounds at most: the conflicting row may be deleted between our insert and read.
  for (int round = 0; round < 2; ++round) {
    std::optional<absl::StatusOr<core::Operation>> read;
    bool created = false;
    std::string existing_fingerprint;
    LONGRUN_RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      pqxx::result r = tx.exec_prepared("OperationInsert", p.id, p.tenant, s.kind, queue,
                                        s.priority, p.max_attempts, timeout_us, schedule_us,
                                        request_id, fingerprint, labels, input, s.trace_id,
                                        cb.url, cb.events);
      if (!r.empty()) {
        read = ReadOperation(r[0]);
        created = true;
        return;
      }
      // ON CONFLICT DO NOTHING waited for any concurrent insert of this key to commit, so a
      // fresh statement sees the winner.
      r = tx.exec_prepared("OperationGetByRequestId", p.tenant, s.request_id);
      if (!r.empty()) read = ReadOperation(r[0], &existing_fingerprint);
    }));
    if (!read.has_value()) continue;
    if (created && observer() != nullptr) observer()->OperationSubmitted(queue, s.kind);
    LONGRUN_RETURN_IF_ERROR(read->status());
    if (!created && existing_fingerprint != p.fingerprint) {
      return absl::AlreadyExistsError(absl::StrCat(
          "request_id \"", s.request_id, "\" was already used for a different request, which "
          "created ", core::OperationName((*read)->id),
          "; use a new request_id for a new request"));
    }
    return OperationInsertResult{*std::move(*read), created};
  }
  return absl::AbortedError("request_id conflict kept changing; retry the request");
}

}  // namespace longrun::store::pg
