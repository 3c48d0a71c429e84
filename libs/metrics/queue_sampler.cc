#include "libs/metrics/queue_sampler.h"

#include "libs/common/logging.h"

namespace longrun::metrics {

QueueSamplerResult QueueSampler::RunOnce() {
  absl::StatusOr<std::vector<store::QueueDepth>> depths = store_.QueueDepthList();
  if (!depths.ok()) {
    static log::RateLimiter limiter(absl::Seconds(30));
    if (limiter.Allow()) {
      LONGRUN_LOG(kWarning, "queue_sample_failed", {{"error", depths.status().message()}});
    }
    return {.ok = false};
  }
  metrics_.SetQueueDepths(*depths);
  return {.ok = true, .queues = static_cast<int>(depths->size())};
}

}  // namespace longrun::metrics
