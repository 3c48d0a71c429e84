// QueueSampler: reads queue depths with one statement (OperationStore::QueueDepthList) and
// sets longrun_queue_depth and longrun_queue_oldest_age_seconds. It runs on a LoopThread
// every --metrics-queue-interval, never per scrape, so scraping costs the database nothing
// however often or by how many scrapers it happens.
#ifndef LONGRUN_METRICS_QUEUE_SAMPLER_H_
#define LONGRUN_METRICS_QUEUE_SAMPLER_H_

#include "absl/time/time.h"
#include "libs/metrics/metrics.h"
#include "libs/store/operation_store.h"

namespace longrun::metrics {

struct QueueSamplerConfig {
  absl::Duration interval = absl::Seconds(10);
};

struct QueueSamplerResult {
  bool ok = true;  // false: the database could not be read (gauges keep their last values)
  int queues = 0;  // queues with unfinished jobs
};

class QueueSampler {
 public:
  QueueSampler(QueueSamplerConfig config, store::OperationStore& store, Metrics& metrics)
      : config_(config), store_(store), metrics_(metrics) {}
  const QueueSamplerConfig& config() const { return config_; }
  QueueSamplerResult RunOnce();

 private:
  const QueueSamplerConfig config_;
  store::OperationStore& store_;
  Metrics& metrics_;
};

}  // namespace longrun::metrics

#endif  // LONGRUN_METRICS_QUEUE_SAMPLER_H_
