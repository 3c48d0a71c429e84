// JobRunner: runs one attempt's handler on a runner thread and turns what it returned into
// an outcome. A success goes back to the dispatch loop (recorded by its next round, with the
// lease still held); a failure is recorded here (FAILED, RETRY_WAIT with back-off, or
// CANCELLED), retrying through a database blip until the lease must have run out.
#ifndef LONGRUN_WORKER_JOB_RUNNER_H_
#define LONGRUN_WORKER_JOB_RUNNER_H_

#include <functional>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/core/policy.h"
#include "libs/store/operation_store.h"
#include "libs/worker/attempt.h"
#include "longrun/registry.h"

namespace longrun::worker {

struct JobRunnerConfig {
  absl::Duration lease_duration = absl::Seconds(30);
  core::RetryPolicy retry;
  // Back-off between tries to record a failure while the database is unreachable.
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

enum class RunOutcome {
  kSucceeded,  // result handed to the dispatch loop
  kFailed,     // failure recorded (FAILED, RETRY_WAIT or CANCELLED)
  kFenced,     // the store refused the failure: the attempt was no longer current
  kAbandoned,  // the attempt was taken away (lease lost, handed back): nothing recorded
  kDiscarded,  // the job was handed back during drain while the handler ran
  kLost,       // the failure could not be recorded before the lease ran out
};

class JobRunner {
 public:
  // Called once per attempt when the handler has returned (see DispatchLoop::HandlerReturned).
  using ReturnedFn =
      std::function<void(const store::JobRef&, std::optional<store::JobCompleteParams> success)>;

  JobRunner(JobRunnerConfig config, store::OperationStore& store, const Registry& registry,
            const Clock& clock, ReturnedFn returned);

  RunOutcome Run(Attempt& attempt);

 private:
  RunOutcome RecordFailure(Attempt& attempt, const absl::Status& result);
  // Logs that the attempt's outcome is dropped: the job was handed back during drain.
  static RunOutcome Discarded(const Attempt& attempt);

  const JobRunnerConfig config_;
  store::OperationStore& store_;
  const Registry& registry_;
  const Clock& clock_;
  const ReturnedFn returned_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_JOB_RUNNER_H_
