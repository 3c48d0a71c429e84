// OperationStore: the one seam between longrun and its database.
//
// Implemented by store/pg (PostgreSQL) and by test fakes. Services receive an
// OperationStore& and never know which. Every method is blocking and thread-safe: call it
// from an executor thread, never from a gRPC reactor callback. Errors are absl::Status:
//   kUnavailable        the database is unreachable (retry later)
//   kNotFound           no such operation
//   kAlreadyExists      request_id reused with a different request
//   kAborted            a fenced write lost: the attempt is no longer current
//   kInternal           anything else (message carries the SQLSTATE)
// Methods are entity-first, verb second, one params struct each.
#ifndef LONGRUN_STORE_OPERATION_STORE_H_
#define LONGRUN_STORE_OPERATION_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/core/filter.h"
#include "libs/core/operation.h"
#include "libs/core/submit.h"
#include "libs/store/store_observer.h"

namespace longrun::store {

struct JobClaimParams {
  std::string worker_id;
  std::vector<std::string> kinds;   // only these kinds; must not be empty
  std::vector<std::string> queues;  // only these queues; empty: every queue
  std::string tenant;               // only this tenant's jobs; empty: every tenant
  int32_t limit = 1;                // at most this many (the worker's free slots)
  absl::Duration lease = absl::Seconds(30);
};

struct JobRef {
  std::string id;
  int32_t attempt = 0;
};

struct JobReleaseParams {
  std::string id;
  int32_t attempt = 0;
  // false (native workers): the attempt number is given back, so the next claim reuses it;
  // the releasing process fences its own handler in memory. true (remote workers, whose
  // lease tokens outlive the call): the attempt number is retired and max_attempts raised
  // by one instead, so the job still gets all its attempts but a lease on the released
  // attempt can never write again.
  bool retire_attempt = false;
};

struct JobHeartbeatParams {
  std::vector<JobRef> jobs;
  absl::Duration lease = absl::Seconds(30);
};

// A job whose lease a heartbeat extended, and its state (RUNNING or CANCELLING).
struct JobHeartbeatResult {
  std::string id;
  core::State state = core::State::kRunning;
};

struct JobRescueParams {
  int32_t limit = 100;
};

struct JobFailUnstartedParams {
  absl::Duration older_than = absl::Hours(24);
  int32_t limit = 100;
};

struct OperationPruneParams {
  core::State state = core::State::kSucceeded;  // a terminal state
  absl::Duration older_than = absl::Hours(24 * 7);
  int32_t limit = 500;
};

// A job a worker now owns for one attempt.
struct ClaimedJob {
  std::string id;
  std::string kind;
  std::string queue;
  int32_t attempt = 0;
  int32_t max_attempts = 0;
  std::optional<absl::Duration> timeout;
  google::protobuf::Struct input;
  std::string trace_id;  // the operation's W3C trace id ("" if it has none)
};

struct JobProgressParams {
  std::string id;
  int32_t attempt = 0;
  int32_t percent = 0;
  std::string message;
};

// The latest progress a handler reported (carried with a failure, see JobCompleteParams).
struct JobProgressValue {
  int32_t percent = 0;
  std::string message;
};

// The outcome of one attempt. Exactly one of response / error.
struct JobCompleteParams {
  std::string id;
  int32_t attempt = 0;
  std::optional<google::protobuf::Struct> response;
  std::optional<core::OperationError> error;
  // For an error: retry after this delay (RETRY_WAIT), or nullopt to fail for good.
  std::optional<absl::Duration> retry_after;
  // For an error: the handler's latest progress not yet written, recorded with the outcome
  // (nullopt: keep what is stored). A success always records 100 % and an empty message.
  std::optional<JobProgressValue> progress;

  // A failed attempt: `error`'s code and message, retried after `retry_after` if set.
  static JobCompleteParams Failed(std::string id, int32_t attempt, const absl::Status& error,
                                  std::optional<absl::Duration> retry_after = std::nullopt) {
    JobCompleteParams p{.id = std::move(id), .attempt = attempt};
    p.error = core::OperationError{static_cast<int>(error.code()), std::string(error.message())};
    p.retry_after = retry_after;
    return p;
  }
};

struct JobCycleParams {
  std::vector<JobCompleteParams> successes;
  JobClaimParams claim;  // limit 0 or no kinds: claim nothing
};

struct JobCycleResult {
  std::vector<absl::Status> completed;  // one per success, in order
  std::vector<ClaimedJob> claimed;
};

struct OperationInsertParams {
  std::string id;  // a new UUID
  std::string tenant{core::kDefaultTenant};
  core::SubmitSpec spec;
  int32_t max_attempts = 0;  // resolved (never 0)
  std::string fingerprint;   // core::SubmitFingerprint(spec), when request_id is set
};

struct OperationInsertResult {
  core::Operation operation;
  bool created = false;  // false: an identical earlier request's operation
};

struct OperationGetParams {
  std::string id;
  std::string tenant{core::kDefaultTenant};
};

// Jobs not finished in one queue, as a metrics sampler reads them.
struct QueueDepth {
  std::string queue;
  int64_t queued = 0;     // QUEUED or RETRY_WAIT and due: waiting for a worker
  int64_t scheduled = 0;  // QUEUED or RETRY_WAIT, not due yet (scheduled, or a retry's back-off)
  int64_t running = 0;    // RUNNING or CANCELLING
  // How long the oldest due job has waited (since it became due); zero when none waits.
  absl::Duration oldest_queued_age = absl::ZeroDuration();
};

struct OperationListParams {
  std::string tenant{core::kDefaultTenant};
  std::optional<core::FilterNode> filter;
  int32_t limit = 50;
  // Keyset position: return operations strictly after this one in (create_time, id)
  // descending order.
  std::optional<absl::Time> after_create_time;
  std::string after_id;
};

class OperationStore {
 public:
  virtual ~OperationStore() = default;

  // A worker's round trip in one transaction: records params.successes (only id, attempt
  // and response are used) and claims up to params.claim.limit runnable jobs (QUEUED or
  // RETRY_WAIT whose run_at passed) of the given kinds, in priority then run_at order,
  // skipping rows other claimers hold. `completed` has one entry per success, in order: OK,
  // or kAborted for an attempt that was no longer current. A database error records and
  // claims nothing.
  virtual absl::StatusOr<JobCycleResult> JobCompleteAndClaim(const JobCycleParams& params) = 0;
  // Claim only (JobCompleteAndClaim without successes).
  absl::StatusOr<std::vector<ClaimedJob>> JobClaim(const JobClaimParams& params) {
    auto r = JobCompleteAndClaim({.claim = params});
    if (!r.ok()) return r.status();
    return std::move(r->claimed);
  }
  // Records the attempt's outcome if (id, attempt) is still the running attempt; otherwise
  // kAborted and nothing changes.
  virtual absl::Status JobComplete(const JobCompleteParams& params) = 0;
  // Records each job's progress if (id, attempt) is still its running attempt, in one round
  // trip. One status per params, in order: OK, or kAborted for an attempt no longer current.
  // A database error records nothing.
  virtual absl::StatusOr<std::vector<absl::Status>> JobProgressBatch(
      const std::vector<JobProgressParams>& batch) = 0;
  // One job's progress (JobProgressBatch of one).
  absl::Status JobProgress(const JobProgressParams& params) {
    auto r = JobProgressBatch({params});
    if (!r.ok()) return r.status();
    return (*r)[0];
  }
  // Tells idle workers that jobs may be runnable (a hint; not durable).
  virtual absl::Status JobWake() = 0;
  // Fails QUEUED jobs never started within params.older_than of their run_at (DEADLINE_EXCEEDED).
  // Returns how many.
  virtual absl::StatusOr<int> JobFailUnstarted(const JobFailUnstartedParams& params) = 0;
  // Extends leases of jobs still held at their attempt; returns those (with their state).
  virtual absl::StatusOr<std::vector<JobHeartbeatResult>> JobHeartbeat(
      const JobHeartbeatParams& params) = 0;
  // Hands a running job back to the queue without using up an attempt (see
  // JobReleaseParams); kAborted if the attempt is no longer current.
  virtual absl::Status JobRelease(const JobReleaseParams& params) = 0;
  // Moves up to params.limit jobs with expired leases back to the queue (or FAILED after
  // max_attempts, CANCELLED if cancelling). Safe to run from any number of workers.
  virtual absl::StatusOr<int> JobRescueStuck(const JobRescueParams& params) = 0;

  virtual absl::StatusOr<core::Operation> OperationGet(const OperationGetParams& params) = 0;
  // Reads many operations in one round trip (any tenant); ids not found are left out.
  virtual absl::StatusOr<std::vector<core::Operation>> OperationGetMany(
      const std::vector<std::string>& ids) = 0;
  // Inserts a new operation. With a request_id already used in the tenant: returns the
  // existing operation (created=false) when the fingerprint matches, else kAlreadyExists
  // naming it.
  virtual absl::StatusOr<OperationInsertResult> OperationInsert(
      const OperationInsertParams& params) = 0;
  // Newest first (create_time, then id, descending), keyset-paged; never OFFSET.
  virtual absl::StatusOr<std::vector<core::Operation>> OperationList(
      const OperationListParams& params) = 0;
  // Requests cancellation; returns the operation afterwards. kNotFound if unknown.
  virtual absl::StatusOr<core::Operation> OperationCancel(const OperationGetParams& params) = 0;
  // Deletes a finished operation. kNotFound if unknown, kFailedPrecondition if not finished.
  virtual absl::Status OperationDelete(const OperationGetParams& params) = 0;
  // Group commit: inserts every operation in one transaction. One result per params, in
  // order, each as OperationInsert would return it. A database error fails them all.
  virtual absl::StatusOr<std::vector<absl::StatusOr<OperationInsertResult>>> OperationInsertBatch(
      const std::vector<OperationInsertParams>& batch) = 0;
  // Deletes one batch of finished operations past their TTL; returns how many.
  virtual absl::StatusOr<int> OperationPrune(const OperationPruneParams& params) = 0;
  // Unfinished jobs per queue (every tenant), in queue order; queues with none are left out.
  // One statement over the unfinished rows only, never the history.
  virtual absl::StatusOr<std::vector<QueueDepth>> QueueDepthList() = 0;

  // Reports every change this store makes to `observer` (nullptr: none). Set it before the
  // store is used; it must outlive the store's use.
  void SetObserver(StoreObserver* observer) { observer_ = observer; }

 protected:
  StoreObserver* observer() const { return observer_; }

 private:
  StoreObserver* observer_ = nullptr;
};

// Delivers hints that new jobs may be runnable. Implementations reconnect on their own;
// on_wake may be called spuriously and from any thread.
class JobNotifier {
 public:
  virtual ~JobNotifier() = default;
  // on_wake: runnable jobs may exist. on_cancel(id): cancellation of that operation was
  // requested.
  virtual void Start(std::function<void()> on_wake,
                     std::function<void(const std::string& id)> on_cancel) = 0;
  virtual void Stop() = 0;
};

}  // namespace longrun::store

#endif  // LONGRUN_STORE_OPERATION_STORE_H_
