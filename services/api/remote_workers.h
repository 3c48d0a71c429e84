// RemoteWorkers: the rules of longrun.v1.Workers, apart from gRPC (workers_service.* is the
// thin adapter). Remote workers get the same leases, (id, attempt) fencing, retries and
// rescue as native ones, through the same store statements:
//  - LeaseJobs: validated here, claimed by the LeaseBroker (long polls, SKIP LOCKED claims);
//    each job gets a lease token binding (operation, attempt) (core/lease_token.h);
//  - Heartbeat: one statement extends every lease in the request; progress is parked and
//    written by FlushProgress at most once per progress interval per attempt, latest wins;
//  - CompleteJob: group commit, like Submit: concurrent completions are recorded by one
//    statement per batch (one transaction and WAL flush), on the batcher's flush threads;
//  - CompleteJob / ReleaseJobs: fenced by the token's (id, attempt); a stale lease changes
//    nothing and is FAILED_PRECONDITION.
// Heartbeat, Release and FlushProgress block on the store: call them on an executor.
#ifndef LONGRUN_SERVICES_API_REMOTE_WORKERS_H_
#define LONGRUN_SERVICES_API_REMOTE_WORKERS_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/common/clock.h"
#include "libs/concurrency/batcher.h"
#include "libs/core/lease_token.h"
#include "libs/core/policy.h"
#include "libs/store/operation_store.h"
#include "services/api/lease_broker.h"

namespace longrun::api {

struct RemoteWorkersConfig {
  std::string token_secret;  // signs lease tokens; the same on every replica
  absl::Duration max_wait = absl::Seconds(30);
  int32_t max_jobs = 1000;
  absl::Duration min_lease = absl::Seconds(1);
  absl::Duration max_lease = absl::Hours(1);
  absl::Duration default_lease = absl::Seconds(30);
  core::RetryPolicy retry;
};

// A LeaseJobs request as it came off the wire.
struct LeaseJobsInput {
  std::string worker_id;
  std::vector<std::string> kinds;
  std::vector<std::string> queues;
  std::string tenant;                   // only this tenant's jobs; empty: every tenant
  int32_t max_jobs = 0;
  absl::Duration wait;                  // zero: do not wait
  std::optional<absl::Duration> lease;  // unset: default_lease
};

// A job as a remote worker sees it.
struct LeasedJob {
  store::ClaimedJob job;
  std::string lease_token;
  absl::Time lease_expire_time;
  std::optional<absl::Time> deadline;  // with a timeout
};

struct HeartbeatInput {
  std::string lease_token;
  std::optional<store::JobProgressValue> progress;
};

struct HeartbeatAnswer {
  std::optional<absl::Time> lease_expire_time;  // unset when lost
  bool cancel_requested = false;
  bool lost = false;
};

struct ProgressFlushResult {
  bool ok = true;
  int written = 0;
};

class RemoteWorkers {
 public:
  RemoteWorkers(store::OperationStore& store, RemoteWorkersConfig config,
                const Clock& clock = RealClock());

  // Checks a LeaseJobs request; INVALID_ARGUMENT naming the field.
  absl::StatusOr<LeaseRequest> PrepareLease(LeaseJobsInput input) const;
  // What the worker gets for a job the broker claimed with `lease`.
  LeasedJob Leased(store::ClaimedJob job, absl::Duration lease) const;

  // One answer per input, in order. INVALID_ARGUMENT for a token this service did not issue.
  absl::StatusOr<std::vector<HeartbeatAnswer>> Heartbeat(const std::vector<HeartbeatInput>& leases);
  // `result`: the response, or the attempt's error (code not OK). `done` gets OK once the
  // outcome is committed, FAILED_PRECONDITION when the lease is no longer current (nothing
  // changed), INVALID_ARGUMENT for a bad token or response, UNAVAILABLE / RESOURCE_EXHAUSTED
  // when it could not be recorded. It runs once, on this thread (bad input) or a flush thread.
  void Complete(const std::string& lease_token, absl::StatusOr<google::protobuf::Struct> result,
                bool retryable, std::function<void(absl::Status)> done);
  // Flushes completions still queued and stops the flush threads. Idempotent.
  void Shutdown() { completions_.Shutdown(); }
  // Hands leased jobs back without using up their attempt; returns how many.
  absl::StatusOr<int> Release(const std::vector<std::string>& lease_tokens);

  // Puts claimed jobs that were never handed to a worker back in the queue, attempt number
  // given back (no token was issued for them).
  void Unclaim(const std::vector<store::ClaimedJob>& jobs);

  // Writes the progress parked by heartbeats (one statement). Run every progress interval.
  ProgressFlushResult FlushProgress();

 private:
  using Ref = std::pair<std::string, int32_t>;  // (id, attempt)
  struct Completion {
    core::LeaseClaim claim;
    store::JobCompleteParams params;
    std::function<void(absl::Status)> done;
  };
  absl::StatusOr<core::LeaseClaim> Decode(const std::string& token) const;
  // The outcome of a failed attempt, with the retry decision.
  store::JobCompleteParams Failure(const core::LeaseClaim& claim, const absl::Status& error,
                                   bool retryable) const;
  // The outcome of an attempt past its deadline (DEADLINE_EXCEEDED, retried if it may be).
  store::JobCompleteParams TimedOut(const core::LeaseClaim& claim) const;
  std::optional<store::JobProgressValue> TakeProgress(const Ref& ref);
  // Successes in one statement; failures (rare, each with its own retry decision) one by one.
  void FlushCompletions(std::vector<Completion>& batch);

  store::OperationStore& store_;
  const RemoteWorkersConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<Ref, store::JobProgressValue> parked_;  // latest progress not yet written
  // Held across a progress flush and across taking a failure's progress and recording the
  // failure, so a failure never commits while the value it should carry is in a flush.
  std::mutex progress_write_mu_;
  concurrency::Batcher<Completion> completions_;  // last: its threads use the members above
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_REMOTE_WORKERS_H_
