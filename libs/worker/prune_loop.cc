#include "libs/worker/prune_loop.h"

#include "libs/common/logging.h"

namespace longrun::worker {

PruneRunResult PruneLoop::RunOnce() {
  static log::RateLimiter error_log(absl::Seconds(60));
  PruneRunResult out;
  const struct {
    core::State state;
    absl::Duration ttl;
    int* count;
  } states[] = {{core::State::kSucceeded, config_.retain_succeeded, &out.succeeded},
                {core::State::kFailed, config_.retain_failed, &out.failed},
                {core::State::kCancelled, config_.retain_cancelled, &out.cancelled}};
  for (const auto& [state, ttl, count] : states) {
    const PacedResult r = RunPacedBatches(
        config_.batch, config_.pacing,
        [&, state = state, ttl = ttl] {
          return store_.OperationPrune({.state = state, .older_than = ttl, .limit = config_.batch});
        },
        stopping_);
    *count = static_cast<int>(r.done);
    if (*count > 0) {
      LONGRUN_LOG(kInfo, "pruned", {{"state", core::StateName(state)}, {"count", *count}});
    }
    if (!r.status.ok()) {
      if (error_log.Allow()) LONGRUN_LOG(kWarning, "prune_failed", {{"error", r.status.message()}});
      out.ok = false;
      return out;
    }
    if (stopping_ && stopping_()) return out;
  }
  return out;
}

}  // namespace longrun::worker
