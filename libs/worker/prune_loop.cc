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
    for (int round = 0; round < config_.max_batches; ++round) {
      auto n = store_.OperationPrune({.state = state, .older_than = ttl, .limit = config_.batch});
      if (!n.ok()) {
        if (error_log.Allow())
          LONGRUN_LOG(kWarning, "prune_failed", {{"error", n.status().message()}});
        out.ok = false;
        return out;
      }
      *count += *n;
      if (*n < config_.batch) break;
      if (stopping_ && stopping_()) return out;
    }
    if (*count > 0) {
      LONGRUN_LOG(kInfo, "pruned", {{"state", core::StateName(state)}, {"count", *count}});
    }
  }
  return out;
}

}  // namespace longrun::worker
