#include "libs/store/memory/memory_operation_store.h"

#include <algorithm>
#include <atomic>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/check.h"
#include "libs/common/status_macros.h"
#include "libs/core/ids.h"
#include "libs/core/struct_json.h"

namespace longrun::store::memory {

// One row of the operations table (libs/store/migrations), with the columns the interface
// does not expose next to the operation.
struct MemoryOperationStore::Row {
  core::Operation op;  // attempts = the jsonb attempts column
  google::protobuf::Struct input;
  std::string fingerprint;  // request_fingerprint ("" when NULL)
  std::optional<std::string> worker_id;
  std::optional<absl::Time> lease_expires_at;
  std::optional<absl::Time> attempt_start_time;
};

namespace {

constexpr absl::string_view kCancelledByRequest = "cancelled by request";

// PostgreSQL keeps microseconds; absl::ToUnixMicros rounds down as the store's conversions do.
// A visible change (version moves), with what migration 0009's trigger does for a callback:
// a terminal change, or any change under ALL_CHANGES, makes a new pending delivery (here
// only its status: the memory store has no deliverer), unless a receiver answered 410 Gone.
void Changed(core::Operation& op) {
  ++op.version;
  if (!op.callback.has_value()) return;
  core::CallbackStatus& cb = *op.callback;
  if (cb.state == core::CallbackState::kGone) return;
  if (cb.events != core::CallbackEvents::kAllChanges && !op.done()) return;
  static std::atomic<uint64_t> deliveries{0};
  cb.state = core::CallbackState::kPending;
  cb.attempts = 0;
  cb.last_http_status = 0;
  cb.last_error.clear();
  cb.webhook_id = absl::StrCat("msg_0000000000000000", absl::Hex(++deliveries, absl::kZeroPad16));
  cb.last_attempt_time.reset();
  cb.next_attempt_time = op.update_time;
}

absl::Time TruncMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }
absl::Duration TruncMicros(absl::Duration d) {
  return absl::Microseconds(absl::ToInt64Microseconds(d));
}

// PostgreSQL's uuid input: the store passes ids as text and casts them.
absl::StatusOr<std::string> Uuid(absl::string_view id) {
  if (!core::IsUuid(id)) return absl::InternalError("database error (SQLSTATE 22P02)");
  return absl::AsciiStrToLower(id);
}

// What jsonb makes of a Struct written as JSON text (see core::StructToJson): non-finite
// numbers come back as strings; U+0000 and invalid UTF-8 are refused.
absl::StatusOr<google::protobuf::Struct> Jsonb(const google::protobuf::Struct& s) {
  absl::StatusOr<google::protobuf::Struct> stored = core::StructFromJson(core::StructToJson(s));
  if (!stored.ok()) return absl::InternalError("database error (SQLSTATE 22021)");
  if (!core::CheckJsonStorable(*stored, "value").ok()) {
    return absl::InternalError("database error (SQLSTATE 22P05)");
  }
  return stored;
}

absl::Status CheckLimit(int32_t limit) {
  if (limit < 0) return absl::InternalError("database error (SQLSTATE 2201W)");
  return absl::OkStatus();
}

bool IsLive(core::State s) { return s == core::State::kRunning || s == core::State::kCancelling; }

absl::Status NotCurrent(absl::string_view what, absl::string_view id, int32_t attempt) {
  return absl::AbortedError(absl::StrCat(what, " of operations/", id, " attempt ", attempt,
                                         " ignored: the attempt is no longer current"));
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("operation ", core::OperationName(id), " not found"));
}

}  // namespace

MemoryOperationStore::MemoryOperationStore(const Clock& clock) : clock_(clock) {}

MemoryOperationStore::~MemoryOperationStore() {
  std::lock_guard<std::mutex> lock(notifiers_mu_);
  LONGRUN_CHECK(notifiers_.empty());  // a notifier outlived its store
}

absl::Time MemoryOperationStore::NowMicros() const { return TruncMicros(clock_.Now()); }

absl::Status MemoryOperationStore::CheckAvailable() const {
  if (unavailable_.load()) {
    absl::Status status = absl::UnavailableError(
        "database unreachable: MemoryOperationStore::SetUnavailableForTest(true)");
    if (observer() != nullptr) observer()->StoreFailed(status);
    return status;
  }
  return absl::OkStatus();
}

void MemoryOperationStore::SetUnavailableForTest(bool unavailable) {
  const bool was = unavailable_.exchange(unavailable);
  if (was && !unavailable) Publish({.wake = true});  // the listener "reconnected"
}

void MemoryOperationStore::SetChangeObserver(std::function<void(const std::string&)> observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  observer_ = std::move(observer);
}

void MemoryOperationStore::Publish(const Events& events) {
  if (StoreObserver* o = observer(); o != nullptr) {
    for (const auto& [queue, kind] : events.submitted) o->OperationSubmitted(queue, kind);
    for (const auto& [queue, kind, pickup] : events.started) o->JobStarted(queue, kind, pickup);
    for (const JobTransition& t : events.ended) o->JobEnded(t);
  }
  if (events.wake || !events.cancelled.empty()) {
    std::lock_guard<std::mutex> lock(notifiers_mu_);
    for (MemoryJobNotifier* n : notifiers_) n->Post(events.wake, events.cancelled);
  }
  if (!events.changed.empty()) {
    std::lock_guard<std::mutex> lock(observer_mu_);
    if (!observer_) return;
    constexpr size_t kChunk = 150;
    for (size_t i = 0; i < events.changed.size(); i += kChunk) {
      const size_t end = std::min(events.changed.size(), i + kChunk);
      observer_(absl::StrJoin(events.changed.begin() + i, events.changed.begin() + end, ","));
    }
  }
}

MemoryOperationStore::Row* MemoryOperationStore::LiveLocked(const std::string& id,
                                                            int32_t attempt) {
  auto it = rows_.find(id);
  if (it == rows_.end()) return nullptr;
  Row& row = it->second;
  if (row.op.attempt != attempt || !IsLive(row.op.state)) return nullptr;
  return &row;
}

template <typename Match, typename Before>
std::vector<MemoryOperationStore::Row*> MemoryOperationStore::SelectLocked(const Match& matches,
                                                                         const Before& before,
                                                                         int32_t limit) {
  std::vector<Row*> rows;
  for (auto& [id, row] : rows_) {
    if (matches(row)) rows.push_back(&row);
  }
  const size_t n = std::min(rows.size(), static_cast<size_t>(std::max(0, limit)));
  std::partial_sort(rows.begin(), rows.begin() + n, rows.end(), before);
  rows.resize(n);
  return rows;
}

namespace {

// LONGRUN_APPEND_ATTEMPT: the attempt the statement ends, from the row before the change.
void AppendAttempt(const core::Operation& op, const std::optional<std::string>& worker_id,
                   const std::optional<absl::Time>& attempt_start_time, absl::string_view outcome,
                   std::optional<core::OperationError> error, absl::Time now,
                   std::vector<core::AttemptRecord>* attempts) {
  attempts->push_back(core::AttemptRecord{.attempt = op.attempt,
                                          .worker_id = worker_id.value_or(""),
                                          .start_time = attempt_start_time,
                                          .end_time = now,
                                          .outcome = std::string(outcome),
                                          .error = std::move(error)});
}

}  // namespace

namespace {

// How long the row's running attempt has run at `now`.
template <typename RowT>
absl::Duration RunTime(const RowT& row, absl::Time now) {
  return row.attempt_start_time.has_value() ? now - *row.attempt_start_time : absl::ZeroDuration();
}

}  // namespace

void MemoryOperationStore::CompleteSuccessLocked(Row& row, const google::protobuf::Struct& response,
                                                 absl::Time now) {
  core::Operation& op = row.op;
  AppendAttempt(op, row.worker_id, row.attempt_start_time, "SUCCEEDED", std::nullopt, now,
                &op.attempts);
  op.state = core::State::kSucceeded;
  op.response = response;
  op.progress_percent = 100;
  op.progress_message.clear();
  op.end_time = now;
  op.update_time = now;
  row.lease_expires_at.reset();
  op.error.reset();
  Changed(op);
}

absl::StatusOr<JobCycleResult> MemoryOperationStore::JobCompleteAndClaim(const JobCycleParams& p) {
  JobCycleResult out;
  const int32_t limit = p.claim.kinds.empty() ? 0 : std::max(0, p.claim.limit);
  if (p.successes.empty() && limit == 0) return out;
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::string> ids;
  std::vector<google::protobuf::Struct> responses;
  for (const JobCompleteParams& s : p.successes) {
    LONGRUN_ASSIGN_OR_RETURN(std::string id, Uuid(s.id));
    ids.push_back(std::move(id));
    if (s.response.has_value()) {
      LONGRUN_ASSIGN_OR_RETURN(google::protobuf::Struct stored, Jsonb(*s.response));
      responses.push_back(std::move(stored));
    } else {
      responses.emplace_back();
    }
  }
  Events events;
  std::set<std::pair<std::string, int32_t>> applied;  // (id, attempt)
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    for (size_t i = 0; i < p.successes.size(); ++i) {
      Row* row = LiveLocked(ids[i], p.successes[i].attempt);
      if (row == nullptr) continue;
      events.ended.push_back({.queue = row->op.queue, .kind = row->op.kind,
                              .state = core::State::kSucceeded, .run_time = RunTime(*row, now)});
      CompleteSuccessLocked(*row, responses[i], now);
      applied.emplace(ids[i], p.successes[i].attempt);
      events.changed.push_back(ids[i]);
    }
    if (limit > 0) {
      const std::set<std::string> kinds(p.claim.kinds.begin(), p.claim.kinds.end());
      const std::set<std::string> queues(p.claim.queues.begin(), p.claim.queues.end());
      const std::vector<Row*> claimable = SelectLocked(
          [&](const Row& row) {
            const core::Operation& op = row.op;
            return (op.state == core::State::kQueued || op.state == core::State::kRetryWait) &&
                   op.run_at <= now && kinds.count(op.kind) > 0 &&
                   (queues.empty() || queues.count(op.queue) > 0) &&
                   (p.claim.tenant.empty() || op.tenant == p.claim.tenant);
          },
          [](const Row* a, const Row* b) {  // ORDER BY priority DESC, run_at, id
            return std::make_tuple(-static_cast<int64_t>(a->op.priority), a->op.run_at, a->op.id) <
                   std::make_tuple(-static_cast<int64_t>(b->op.priority), b->op.run_at, b->op.id);
          },
          limit);
      for (Row* claimed : claimable) {
        Row& row = *claimed;
        core::Operation& op = row.op;
        events.started.emplace_back(op.queue, op.kind, now - op.run_at);
        op.state = core::State::kRunning;
        ++op.attempt;
        row.worker_id = p.claim.worker_id;
        row.lease_expires_at = now + TruncMicros(p.claim.lease);
        if (!op.start_time.has_value()) op.start_time = now;
        row.attempt_start_time = now;
        op.update_time = now;
        op.progress_percent = 0;
        op.progress_message.clear();
        Changed(op);
        out.claimed.push_back(ClaimedJob{.id = op.id,
                                         .kind = op.kind,
                                         .queue = op.queue,
                                         .attempt = op.attempt,
                                         .max_attempts = op.max_attempts,
                                         .timeout = op.timeout,
                                         .input = row.input,
                                         .trace_id = op.trace_id});
        events.changed.push_back(op.id);
      }
    }
  }
  Publish(events);
  out.completed.reserve(p.successes.size());
  for (const JobCompleteParams& s : p.successes) {
    // As the PostgreSQL store: matched on the id as given against the ids the update
    // returned, so a duplicate success of an applied attempt is OK too.
    out.completed.push_back(applied.count({s.id, s.attempt}) > 0
                                ? absl::OkStatus()
                                : NotCurrent("completion", s.id, s.attempt));
  }
  return out;
}

absl::Status MemoryOperationStore::JobComplete(const JobCompleteParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_ASSIGN_OR_RETURN(const std::string id, Uuid(p.id));
  std::optional<google::protobuf::Struct> response;
  if (p.response.has_value()) {
    LONGRUN_ASSIGN_OR_RETURN(response, Jsonb(*p.response));
  }
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    Row* row = LiveLocked(id, p.attempt);
    if (row == nullptr) return NotCurrent("completion", p.id, p.attempt);
    events.changed.push_back(id);
    JobTransition ended{.queue = row->op.queue, .kind = row->op.kind,
                        .run_time = RunTime(*row, now)};
    if (response.has_value()) {
      CompleteSuccessLocked(*row, *response, now);
    } else {
      core::Operation& op = row->op;
      const bool cancelling = op.state == core::State::kCancelling;
      const core::OperationError error =
          cancelling ? core::OperationError{1, std::string(kCancelledByRequest)}
                     : p.error.value_or(core::OperationError{2, "unknown error"});
      AppendAttempt(op, row->worker_id, row->attempt_start_time,
                    cancelling ? "CANCELLED" : "FAILED", error, now, &op.attempts);
      if (cancelling) {
        op.state = core::State::kCancelled;
        op.end_time = now;
      } else if (p.retry_after.has_value()) {
        op.state = core::State::kRetryWait;
        op.run_at = now + TruncMicros(*p.retry_after);
        op.end_time.reset();
        events.wake = true;
      } else {
        op.state = core::State::kFailed;
        op.end_time = now;
      }
      op.error = error;
      op.update_time = now;
      row->lease_expires_at.reset();
      Changed(op);
      if (p.progress.has_value()) {
        op.progress_percent = p.progress->percent;
        op.progress_message = p.progress->message;
      }
    }
    ended.state = row->op.state;
    events.ended.push_back(std::move(ended));
  }
  Publish(events);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::Status>> MemoryOperationStore::JobProgressBatch(
    const std::vector<JobProgressParams>& batch) {
  std::vector<absl::Status> out;
  if (batch.empty()) return out;
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::string> ids;
  for (const JobProgressParams& p : batch) {
    LONGRUN_ASSIGN_OR_RETURN(std::string id, Uuid(p.id));
    ids.push_back(std::move(id));
  }
  Events events;
  std::set<std::pair<std::string, int32_t>> applied;  // (id, attempt)
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    for (size_t i = 0; i < batch.size(); ++i) {
      // One UPDATE changes each row once, with one of the entries naming it: the first here.
      if (applied.count({ids[i], batch[i].attempt}) > 0) continue;
      Row* row = LiveLocked(ids[i], batch[i].attempt);
      if (row == nullptr) continue;
      row->op.progress_percent = batch[i].percent;
      row->op.progress_message = batch[i].message;
      row->op.update_time = now;
      Changed(row->op);
      applied.emplace(ids[i], batch[i].attempt);
      events.changed.push_back(ids[i]);
    }
  }
  Publish(events);
  out.reserve(batch.size());
  for (const JobProgressParams& p : batch) {
    out.push_back(applied.count({p.id, p.attempt}) > 0 ? absl::OkStatus()
                                                       : NotCurrent("progress", p.id, p.attempt));
  }
  return out;
}

absl::Status MemoryOperationStore::JobWake() {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  Publish({.wake = true});
  return absl::OkStatus();
}

absl::StatusOr<int> MemoryOperationStore::JobFailUnstarted(const JobFailUnstartedParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_RETURN_IF_ERROR(CheckLimit(p.limit));
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    const absl::Time cutoff = now - TruncMicros(p.older_than);
    const std::vector<Row*> late = SelectLocked(
        [&](const Row& row) {
          return row.op.state == core::State::kQueued && row.op.attempt == 0 &&
                 row.op.run_at < cutoff;
        },
        [](const Row* a, const Row* b) {
          return std::tie(a->op.run_at, a->op.id) < std::tie(b->op.run_at, b->op.id);
        },
        p.limit);
    for (Row* row : late) {
      core::Operation& op = row->op;
      op.state = core::State::kFailed;
      op.error = core::OperationError{
          4, absl::StrCat("not started within ", absl::FormatDuration(p.older_than),
                          " of its scheduled time: no worker claimed kind \"", op.kind,
                          "\" on queue \"", op.queue, "\"")};
      op.end_time = now;
      op.update_time = now;
      Changed(op);
      events.changed.push_back(op.id);
      events.ended.push_back({.queue = op.queue, .kind = op.kind, .state = op.state});
    }
  }
  Publish(events);
  return static_cast<int>(events.changed.size());
}

absl::StatusOr<std::vector<JobHeartbeatResult>> MemoryOperationStore::JobHeartbeat(
    const JobHeartbeatParams& p) {
  std::vector<JobHeartbeatResult> held;
  if (p.jobs.empty()) return held;
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::string> ids;
  for (const JobRef& j : p.jobs) {
    LONGRUN_ASSIGN_OR_RETURN(std::string id, Uuid(j.id));
    ids.push_back(std::move(id));
  }
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    std::set<std::string> seen;
    for (size_t i = 0; i < p.jobs.size(); ++i) {
      Row* row = LiveLocked(ids[i], p.jobs[i].attempt);
      if (row == nullptr || !seen.insert(ids[i]).second) continue;
      row->lease_expires_at = now + TruncMicros(p.lease);  // not a visible change: no version
      held.push_back({ids[i], row->op.state});
      events.changed.push_back(ids[i]);
    }
  }
  Publish(events);
  return held;
}

absl::Status MemoryOperationStore::JobRelease(const JobReleaseParams& job) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_ASSIGN_OR_RETURN(const std::string id, Uuid(job.id));
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.op.attempt != job.attempt ||
        it->second.op.state != core::State::kRunning) {
      return NotCurrent("release", job.id, job.attempt);
    }
    Row& row = it->second;
    core::Operation& op = row.op;
    op.state = core::State::kQueued;
    if (job.retire_attempt) {
      ++op.max_attempts;
    } else {
      if (op.attempt == 1) op.start_time.reset();
      --op.attempt;
    }
    op.run_at = now;
    row.lease_expires_at.reset();
    row.worker_id.reset();
    op.progress_percent = 0;
    op.progress_message.clear();
    row.attempt_start_time.reset();
    op.update_time = now;
    Changed(op);
  }
  Publish({.wake = true, .changed = {id}});
  return absl::OkStatus();
}

absl::StatusOr<int> MemoryOperationStore::JobRescueStuck(const JobRescueParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_RETURN_IF_ERROR(CheckLimit(p.limit));
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    const std::vector<Row*> stuck = SelectLocked(
        [&](const Row& row) {
          return IsLive(row.op.state) && row.lease_expires_at.has_value() &&
                 *row.lease_expires_at < now;
        },
        [](const Row* a, const Row* b) {
          return std::tie(*a->lease_expires_at, a->op.id) <
                 std::tie(*b->lease_expires_at, b->op.id);
        },
        p.limit);
    for (Row* row : stuck) {
      core::Operation& op = row->op;
      const bool cancelling = op.state == core::State::kCancelling;
      const bool last = op.attempt >= op.max_attempts;
      const core::OperationError error =
          cancelling ? core::OperationError{1, std::string(kCancelledByRequest)}
                     : core::OperationError{
                           14, absl::StrCat("attempt ", op.attempt, " lost its worker ",
                                            row->worker_id.value_or("?"),
                                            " (lease expired; the worker crashed or stalled)")};
      AppendAttempt(op, row->worker_id, row->attempt_start_time, "LEASE_EXPIRED", error, now,
                    &op.attempts);
      const absl::Duration run_time = RunTime(*row, now);
      op.state = cancelling ? core::State::kCancelled
                 : last     ? core::State::kFailed
                            : core::State::kRetryWait;
      op.error = error;
      op.run_at = now;
      if (cancelling || last) {
        op.end_time = now;
      } else {
        op.end_time.reset();
        events.wake = true;
      }
      row->lease_expires_at.reset();
      op.update_time = now;
      Changed(op);
      events.changed.push_back(op.id);
      events.ended.push_back({.queue = op.queue, .kind = op.kind, .state = op.state,
                              .run_time = run_time, .rescued = true});
    }
  }
  Publish(events);
  return static_cast<int>(events.changed.size());
}

absl::StatusOr<core::Operation> MemoryOperationStore::OperationGet(const OperationGetParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_ASSIGN_OR_RETURN(const std::string id, Uuid(p.id));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(id);
  if (it == rows_.end() || it->second.op.tenant != p.tenant) return NotFound(p.id);
  return it->second.op;
}

absl::StatusOr<std::vector<core::Operation>> MemoryOperationStore::OperationGetMany(
    const std::vector<std::string>& ids) {
  std::vector<core::Operation> ops;
  if (ids.empty()) return ops;
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::string> wanted;
  for (const std::string& raw : ids) {
    LONGRUN_ASSIGN_OR_RETURN(std::string id, Uuid(raw));
    wanted.push_back(std::move(id));
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> seen;
  for (const std::string& id : wanted) {
    auto it = rows_.find(id);
    if (it != rows_.end() && seen.insert(id).second) ops.push_back(it->second.op);
  }
  return ops;
}

absl::StatusOr<OperationInsertResult> MemoryOperationStore::InsertLocked(
    const OperationInsertParams& p, absl::Time now, Events* events) {
  const core::SubmitSpec& s = p.spec;
  const std::string id = absl::AsciiStrToLower(p.id);
  if (!s.request_id.empty()) {
    auto key = request_ids_.find({p.tenant, s.request_id});
    if (key != request_ids_.end()) {
      const Row& existing = rows_.at(key->second);
      if (existing.fingerprint != p.fingerprint) {
        return absl::AlreadyExistsError(absl::StrCat(
            "request_id \"", s.request_id, "\" was already used for a different request, which "
            "created ", core::OperationName(existing.op.id),
            "; use a new request_id for a new request"));
      }
      return OperationInsertResult{existing.op, false};
    }
  }
  if (rows_.count(id) > 0) {
    return absl::AlreadyExistsError("unique constraint violated (SQLSTATE 23505)");
  }
  Row row;
  core::Operation& op = row.op;
  op.id = id;
  op.tenant = p.tenant;
  op.kind = s.kind;
  op.queue = s.queue.empty() ? std::string(core::kDefaultQueue) : s.queue;
  op.state = core::State::kQueued;
  op.priority = s.priority;
  op.attempt = 0;
  op.max_attempts = p.max_attempts;
  if (s.timeout.has_value()) op.timeout = TruncMicros(*s.timeout);
  op.request_id = s.request_id;
  op.trace_id = s.trace_id;
  op.labels = s.labels;
  op.create_time = now;
  op.update_time = now;
  op.run_at = s.schedule_time.has_value() ? TruncMicros(*s.schedule_time) : now;
  op.version = 1;
  if (s.callback.has_value()) {
    op.callback = core::CallbackStatus{.url = s.callback->url, .events = s.callback->events};
  }
  // Validated by the caller (Jsonb) before taking the lock.
  row.input = *Jsonb(s.input);
  if (!s.request_id.empty()) {
    row.fingerprint = p.fingerprint;
    request_ids_[{p.tenant, s.request_id}] = id;
  }
  OperationInsertResult result{op, true};
  events->submitted.emplace_back(op.queue, op.kind);
  rows_.emplace(id, std::move(row));
  events->wake = true;
  return result;
}

namespace {

// What the insert statement checks before it writes anything: the id's type and that jsonb
// can hold the labels and the input.
absl::Status CheckInsertable(const OperationInsertParams& p) {
  LONGRUN_RETURN_IF_ERROR(Uuid(p.id).status());
  google::protobuf::Struct labels;
  for (const auto& [k, v] : p.spec.labels) (*labels.mutable_fields())[k].set_string_value(v);
  LONGRUN_RETURN_IF_ERROR(Jsonb(labels).status());
  return Jsonb(p.spec.input).status();
}

}  // namespace

absl::StatusOr<OperationInsertResult> MemoryOperationStore::OperationInsert(
    const OperationInsertParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_RETURN_IF_ERROR(CheckInsertable(p));
  Events events;
  absl::StatusOr<OperationInsertResult> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result = InsertLocked(p, NowMicros(), &events);
  }
  Publish(events);
  return result;
}

absl::StatusOr<std::vector<absl::StatusOr<OperationInsertResult>>>
MemoryOperationStore::OperationInsertBatch(const std::vector<OperationInsertParams>& batch) {
  std::vector<absl::StatusOr<OperationInsertResult>> results;
  if (batch.empty()) return results;
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  for (const OperationInsertParams& p : batch) LONGRUN_RETURN_IF_ERROR(CheckInsertable(p));
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // One statement: a row that would be inserted (its key, if any, unused so far) with an
    // id that exists fails the whole batch, and nothing is written.
    std::set<std::string> ids;
    std::set<std::pair<std::string, std::string>> keys;
    for (const OperationInsertParams& p : batch) {
      if (!p.spec.request_id.empty()) {
        const std::pair<std::string, std::string> key{p.tenant, p.spec.request_id};
        if (request_ids_.count(key) > 0 || !keys.insert(key).second) continue;
      }
      const std::string id = absl::AsciiStrToLower(p.id);
      if (rows_.count(id) > 0 || !ids.insert(id).second) {
        return absl::AlreadyExistsError("unique constraint violated (SQLSTATE 23505)");
      }
    }
    const absl::Time now = NowMicros();
    results.reserve(batch.size());
    for (const OperationInsertParams& p : batch) results.push_back(InsertLocked(p, now, &events));
  }
  Publish(events);
  return results;
}

absl::StatusOr<std::vector<core::Operation>> MemoryOperationStore::OperationList(
    const OperationListParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::optional<std::pair<absl::Time, std::string>> after;
  if (p.after_create_time.has_value()) {
    LONGRUN_ASSIGN_OR_RETURN(std::string after_id, Uuid(p.after_id));
    after.emplace(TruncMicros(*p.after_create_time), std::move(after_id));
  }
  std::vector<const core::Operation*> matching;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, row] : rows_) {
    const core::Operation& op = row.op;
    if (op.tenant != p.tenant) continue;
    if (after.has_value() && !(std::tie(op.create_time, op.id) < std::tie(after->first, after->second))) {
      continue;
    }
    if (p.filter.has_value() && !core::Matches(*p.filter, op)) continue;
    matching.push_back(&op);
  }
  const size_t n = std::min(matching.size(), static_cast<size_t>(std::max(0, p.limit)));
  std::partial_sort(matching.begin(), matching.begin() + n, matching.end(),
                    [](const core::Operation* a, const core::Operation* b) {
                      return std::tie(a->create_time, a->id) > std::tie(b->create_time, b->id);
                    });
  std::vector<core::Operation> ops;
  ops.reserve(n);
  for (size_t i = 0; i < n; ++i) ops.push_back(*matching[i]);
  return ops;
}

absl::StatusOr<core::Operation> MemoryOperationStore::OperationCancel(const OperationGetParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_ASSIGN_OR_RETURN(const std::string id, Uuid(p.id));
  Events events;
  core::Operation result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = NowMicros();
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.op.tenant != p.tenant) return NotFound(p.id);
    core::Operation& op = it->second.op;
    if (op.state == core::State::kRunning) {
      op.state = core::State::kCancelling;  // the worker is told; it ends the job CANCELLED
      op.end_time.reset();
      events.cancelled.push_back(id);
      events.changed.push_back(id);
    } else if (op.state == core::State::kQueued || op.state == core::State::kRetryWait) {
      op.state = core::State::kCancelled;
      op.error = core::OperationError{1, std::string(kCancelledByRequest)};
      op.end_time = now;
      events.changed.push_back(id);
      events.ended.push_back({.queue = op.queue, .kind = op.kind, .state = op.state});
    }  // CANCELLING and terminal operations stay as they are
    if (!events.changed.empty()) {
      op.update_time = now;
      Changed(op);
    }
    result = op;
  }
  Publish(events);
  return result;
}

absl::Status MemoryOperationStore::OperationDelete(const OperationGetParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_ASSIGN_OR_RETURN(const std::string id, Uuid(p.id));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(id);
  if (it == rows_.end() || it->second.op.tenant != p.tenant) return NotFound(p.id);
  const core::Operation& op = it->second.op;
  if (!core::IsTerminal(op.state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "operation ", core::OperationName(p.id), " is ", core::StateName(op.state),
        ": only finished operations can be deleted (cancel it first and delete it once done)"));
  }
  if (!op.request_id.empty()) request_ids_.erase({op.tenant, op.request_id});
  rows_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<int> MemoryOperationStore::OperationPrune(const OperationPruneParams& p) {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  LONGRUN_RETURN_IF_ERROR(CheckLimit(p.limit));
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time cutoff = NowMicros() - TruncMicros(p.older_than);
  const std::vector<Row*> expired = SelectLocked(
      [&](const Row& row) {
        return row.op.state == p.state && row.op.end_time.has_value() &&
               *row.op.end_time < cutoff;
      },
      [](const Row* a, const Row* b) {
        return std::tie(*a->op.end_time, a->op.id) < std::tie(*b->op.end_time, b->op.id);
      },
      p.limit);
  std::vector<std::string> ids;
  for (const Row* row : expired) ids.push_back(row->op.id);
  for (const std::string& id : ids) {
    auto it = rows_.find(id);
    const core::Operation& op = it->second.op;
    if (!op.request_id.empty()) request_ids_.erase({op.tenant, op.request_id});
    rows_.erase(it);
  }
  return static_cast<int>(ids.size());
}

absl::StatusOr<std::vector<QueueDepth>> MemoryOperationStore::QueueDepthList() {
  LONGRUN_RETURN_IF_ERROR(CheckAvailable());
  std::map<std::string, QueueDepth> by_queue;
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = NowMicros();
  for (const auto& [id, row] : rows_) {
    const core::Operation& op = row.op;
    const bool waiting = op.state == core::State::kQueued || op.state == core::State::kRetryWait;
    if (!waiting && !IsLive(op.state)) continue;
    QueueDepth& d = by_queue[op.queue];
    d.queue = op.queue;
    if (IsLive(op.state)) {
      ++d.running;
    } else if (op.run_at > now) {
      ++d.scheduled;
    } else {
      ++d.queued;
      d.oldest_queued_age = std::max(d.oldest_queued_age, now - op.run_at);
    }
  }
  std::vector<QueueDepth> out;
  for (auto& [queue, d] : by_queue) out.push_back(std::move(d));
  return out;
}

absl::StatusOr<google::protobuf::Struct> MemoryOperationStore::InputForTest(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(absl::AsciiStrToLower(id));
  if (it == rows_.end()) return NotFound(id);
  return it->second.input;
}

int MemoryOperationStore::SizeForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(rows_.size());
}

void MemoryOperationStore::AddNotifier(MemoryJobNotifier* n) {
  std::lock_guard<std::mutex> lock(notifiers_mu_);
  notifiers_.insert(n);
}

void MemoryOperationStore::RemoveNotifier(MemoryJobNotifier* n) {
  std::lock_guard<std::mutex> lock(notifiers_mu_);
  notifiers_.erase(n);
}

void MemoryJobNotifier::Start(std::function<void()> on_wake,
                              std::function<void(const std::string& id)> on_cancel) {
  Stop();
  on_wake_ = std::move(on_wake);
  on_cancel_ = std::move(on_cancel);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    wake_ = true;  // as PgJobNotifier after connecting: look for work once
    cancelled_.clear();
  }
  thread_ = std::thread([this] { Loop(); });
  store_.AddNotifier(this);
}

void MemoryJobNotifier::Stop() {
  if (!thread_.joinable()) return;
  store_.RemoveNotifier(this);  // no Post after this returns
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void MemoryJobNotifier::Post(bool wake, const std::vector<std::string>& cancelled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = wake_ || wake;
    cancelled_.insert(cancelled_.end(), cancelled.begin(), cancelled.end());
  }
  cv_.notify_all();
}

void MemoryJobNotifier::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || wake_ || !cancelled_.empty(); });
    if (stop_) return;
    const bool wake = std::exchange(wake_, false);
    const std::vector<std::string> cancelled = std::exchange(cancelled_, {});
    lock.unlock();
    for (const std::string& id : cancelled) {
      if (on_cancel_) on_cancel_(id);
    }
    if (wake && on_wake_) on_wake_();
    lock.lock();
  }
}

}  // namespace longrun::store::memory
