#include "libs/worker/event_prune_loop.h"

#include "libs/common/logging.h"

namespace longrun::worker {

EventPruneRunResult EventPruneLoop::RunOnce() {
  static log::RateLimiter error_log(absl::Seconds(60));
  EventPruneRunResult out;
  for (int round = 0; round < config_.max_batches; ++round) {
    auto n = events_.EventPrune(config_.retention, config_.batch);
    if (!n.ok()) {
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "event_prune_failed", {{"error", n.status().message()}});
      }
      out.ok = false;
      break;
    }
    out.deleted += *n;
    if (*n < config_.batch || (stopping_ && stopping_())) break;
  }
  if (out.deleted > 0) LONGRUN_LOG(kInfo, "events_pruned", {{"count", out.deleted}});
  return out;
}

}  // namespace longrun::worker
