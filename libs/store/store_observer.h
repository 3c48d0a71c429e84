// StoreObserver: what an OperationStore did that a process counts (its metrics).
//
// A store reports each change it made, after the statement that made it succeeded, on the
// calling thread. Only changes are reported: a fenced write that lost, an idempotent
// resubmission or a cancel of a finished operation report nothing. So the counts of every
// process's observer, summed, equal what the database holds (each operation submitted once,
// each attempt ended once), whichever process made the change: a native worker, the api for
// a remote worker, or a rescuer.
#ifndef LONGRUN_STORE_STORE_OBSERVER_H_
#define LONGRUN_STORE_STORE_OBSERVER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"

namespace longrun::store {

// An attempt that ended, or a queued operation that ended without one.
struct JobTransition {
  std::string queue;
  std::string kind;
  // SUCCEEDED, FAILED or CANCELLED: the operation is finished. RETRY_WAIT: the attempt
  // failed and the job will run again.
  core::State state = core::State::kSucceeded;
  // How long the attempt ran (database clock), if one was running: not for a cancelled
  // queued job or one failed unstarted.
  std::optional<absl::Duration> run_time;
  bool rescued = false;  // ended by the rescuer: the attempt's lease expired
};

// Implementations must be thread-safe and quick: they run on the store's callers' threads.
class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // A new operation was inserted (not an idempotent repeat).
  virtual void OperationSubmitted(absl::string_view queue, absl::string_view kind) = 0;
  // A job was claimed; `pickup` is from when it became runnable (create, schedule or retry
  // time) to the claim.
  virtual void JobStarted(absl::string_view queue, absl::string_view kind,
                          absl::Duration pickup) = 0;
  virtual void JobEnded(const JobTransition& transition) = 0;
  // A call failed (every failed database call, whatever its code: the observer picks what
  // it counts, e.g. unreachable kUnavailable or refused kInternal).
  virtual void StoreFailed(const absl::Status& status) = 0;
};

}  // namespace longrun::store

#endif  // LONGRUN_STORE_STORE_OBSERVER_H_
