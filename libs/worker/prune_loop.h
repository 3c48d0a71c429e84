// PruneLoop: retention. Deletes finished operations older than their state's TTL, in small
// batches (each its own short statement): a pass works the whole backlog off, paced
// (RunPacedBatches) so that claims beside it keep their latency.
#ifndef LONGRUN_WORKER_PRUNE_LOOP_H_
#define LONGRUN_WORKER_PRUNE_LOOP_H_

#include <functional>

#include "absl/time/time.h"
#include "libs/store/operation_store.h"
#include "libs/worker/paced_batches.h"

namespace longrun::worker {

struct PruneConfig {
  absl::Duration interval = absl::Minutes(1);
  absl::Duration retain_succeeded = absl::Hours(24 * 7);
  absl::Duration retain_failed = absl::Hours(24 * 30);
  absl::Duration retain_cancelled = absl::Hours(24 * 7);
  int batch = 100;  // about 1 ms each (see Pacing)
  Pacing pacing;
};

struct PruneRunResult {
  bool ok = true;
  int succeeded = 0;  // operations deleted, by state
  int failed = 0;
  int cancelled = 0;
  int total() const { return succeeded + failed + cancelled; }
};

class PruneLoop {
 public:
  // `stopping` (optional) ends a pass early between batches.
  PruneLoop(PruneConfig config, store::OperationStore& store,
            std::function<bool()> stopping = nullptr)
      : config_(config), store_(store), stopping_(std::move(stopping)) {}
  PruneRunResult RunOnce();
  absl::Duration interval() const { return config_.interval; }

 private:
  const PruneConfig config_;
  store::OperationStore& store_;
  const std::function<bool()> stopping_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_PRUNE_LOOP_H_
