// RunPacedBatches: works a backlog off in batches, each its own short statement, at a bounded
// share of the database. Retention (PruneLoop, EventPruneLoop) uses it: a pass takes the
// whole backlog, however large, instead of a fixed number of batches (at 10,000 jobs/s a
// fixed 10,000 rows a minute would never catch up), and pauses between batches so that the
// claims beside it keep their latency (docs/BENCHMARKS.md "Queue design": pickup while a
// million rows are pruned).
#ifndef LONGRUN_WORKER_PACED_BATCHES_H_
#define LONGRUN_WORKER_PACED_BATCHES_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"

namespace longrun::worker {

struct Pacing {
  // After each full batch, wait this many times as long as the batch took: 9 keeps one
  // database session busy a tenth of the time. Measured with pickups running beside a
  // prune of millions of rows (docs/BENCHMARKS.md "Queue design"): at 9, with batches of
  // 100 operations, the pickup p99 was as without a prune; at 4 it rose by a third, at 1
  // it doubled. What a batch costs the claims beside it grows with its size, so keep
  // batches small rather than pauses short.
  double pause_ratio = 9.0;
  Clock* clock = &RealClock();  // measures the batches
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

struct PacedResult {
  absl::Status status;  // the first error, which ends the run
  int64_t done = 0;     // rows the batches reported
  int batches = 0;
};

// Calls `batch` until it reports fewer than `size` rows (or none), fails, or `stopping`
// (optional, checked after each batch and every 50 ms of a pause) returns true.
PacedResult RunPacedBatches(int size, const Pacing& pacing,
                            const std::function<absl::StatusOr<int>()>& batch,
                            const std::function<bool()>& stopping);

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_PACED_BATCHES_H_
