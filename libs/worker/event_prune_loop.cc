#include "libs/worker/event_prune_loop.h"

#include "libs/common/logging.h"

namespace longrun::worker {

EventPruneRunResult EventPruneLoop::RunOnce() {
  static log::RateLimiter error_log(absl::Seconds(60));
  EventPruneRunResult out;
  const PacedResult r = RunPacedBatches(
      config_.batch, config_.pacing,
      [this] { return events_.EventPrune(config_.retention, config_.batch); }, stopping_);
  out.deleted = static_cast<int>(r.done);
  if (!r.status.ok()) {
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "event_prune_failed", {{"error", r.status.message()}});
    }
    out.ok = false;
  }
  if (out.deleted > 0) LONGRUN_LOG(kInfo, "events_pruned", {{"count", out.deleted}});
  return out;
}

}  // namespace longrun::worker
