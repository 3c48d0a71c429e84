#include "libs/worker/rescue_loop.h"

#include "libs/common/logging.h"

namespace longrun::worker {

RescueRunResult RescueLoop::RunOnce() {
  static log::RateLimiter error_log(absl::Seconds(30));
  RescueRunResult out;
  for (int round = 0; round < config_.max_batches; ++round) {
    auto n = store_.JobRescueStuck({.limit = config_.batch});
    if (!n.ok()) {
      if (error_log.Allow())
        LONGRUN_LOG(kWarning, "rescue_failed", {{"error", n.status().message()}});
      out.ok = false;
      return out;
    }
    out.rescued += *n;
    if (*n < config_.batch) break;
  }
  if (out.rescued > 0) {
    LONGRUN_LOG(kInfo, "rescued", {{"count", out.rescued}, {"worker", config_.worker_id}});
  }
  if (config_.schedule_to_start > absl::ZeroDuration()) {
    auto n =
        store_.JobFailUnstarted({.older_than = config_.schedule_to_start, .limit = config_.batch});
    if (!n.ok()) {
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "fail_unstarted_failed", {{"error", n.status().message()}});
      }
      out.ok = false;
      return out;
    }
    out.failed_unstarted = *n;
    if (*n > 0) LONGRUN_LOG(kInfo, "failed_unstarted", {{"count", *n}});
  }
  return out;
}

}  // namespace longrun::worker
