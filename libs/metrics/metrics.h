// Metrics: a process's Prometheus metrics (docs/OPERATIONS.md lists them).
//
// One object per process, shared by everything that counts: the store reports what it
// changed (Metrics is its StoreObserver), the gRPC interceptor reports calls, the queue
// sampler sets the queue gauges, and gauges that are cheap to read now (open watch
// streams, pool connections, worker slots) are read when Prometheus scrapes. Metrics is a
// prometheus::Collectable; MetricsServer (metrics_server.h) serves it.
//
// Labels stay bounded: no operation ids, and each family keeps at most kMaxSeriesPerFamily
// label sets; past that, new ones are counted with their client-chosen labels (queue, kind,
// method) set to "_other", the bounded ones (outcome, code, state) kept. Queue gauges keep
// kMaxQueueSeries queues and add the rest up under queue="_other".
#ifndef LONGRUN_METRICS_METRICS_H_
#define LONGRUN_METRICS_METRICS_H_

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/store/operation_store.h"
#include "libs/store/store_observer.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace longrun::metrics {

inline constexpr int kMaxSeriesPerFamily = 1000;
inline constexpr absl::string_view kOtherLabelValue = "_other";
inline constexpr int kMaxQueueSeries = 300;

// A family's series by label values, looked up without building a prometheus::Labels map
// each time, and capped at kMaxSeriesPerFamily. Label names starting with '~' are the
// client-chosen ones ('~' is not part of the name), collapsed to "_other" past the cap.
template <typename T>
class SeriesCache {
 public:
  SeriesCache(prometheus::Family<T>& family, std::vector<std::string> label_names,
              std::vector<double> buckets = {});

  T& Get(std::initializer_list<absl::string_view> values);

 private:
  T& AddLocked(const std::vector<std::string>& values);

  prometheus::Family<T>& family_;
  std::vector<std::string> names_;
  std::vector<bool> collapsible_;
  const std::vector<double> buckets_;  // histograms only
  std::mutex mu_;
  absl::flat_hash_map<std::string, T*> series_;  // key: values joined by '\0'
};

class Metrics final : public prometheus::Collectable, public store::StoreObserver {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // store::StoreObserver: submissions, pickups, attempt outcomes, retries, rescues, errors.
  void OperationSubmitted(absl::string_view queue, absl::string_view kind) override;
  void JobStarted(absl::string_view queue, absl::string_view kind, absl::Duration pickup) override;
  void JobEnded(const store::JobTransition& transition) override;
  void StoreFailed(const absl::Status& status) override;

  // A notification arrived `lag` after it was sent.
  void NotificationArrived(absl::string_view channel, absl::Duration lag);

  // gRPC server calls, named as go-grpc-prometheus names them. `type` is unary,
  // client_stream, server_stream or bidi_stream; `method` is "/package.Service/Method".
  void RpcStarted(absl::string_view type, absl::string_view method);
  void RpcHandled(absl::string_view type, absl::string_view method, absl::string_view code,
                  absl::Duration elapsed);

  // The queue sampler's reading. Queues seen before and absent now read 0.
  void SetQueueDepths(const std::vector<store::QueueDepth>& depths);

  // A gauge read at each scrape: `read` returns one value per label set (labels as
  // name=value pairs). It must be cheap, thread-safe, and valid until the Metrics is gone.
  using GaugeReading = std::vector<std::pair<std::map<std::string, std::string>, double>>;
  void AddScrapeGauge(std::string name, std::string help, std::function<GaugeReading()> read);

  // prometheus::Collectable: every family, the scrape gauges read now.
  std::vector<prometheus::MetricFamily> Collect() const override;
  // Collect() in Prometheus text format (tests, the metrics server).
  std::string Text() const;

 private:
  struct ScrapeGauge {
    std::string name;
    std::string help;
    std::function<GaugeReading()> read;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  SeriesCache<prometheus::Counter> rpc_started_;
  SeriesCache<prometheus::Counter> rpc_handled_;
  SeriesCache<prometheus::Histogram> rpc_seconds_;
  SeriesCache<prometheus::Counter> submitted_;
  SeriesCache<prometheus::Counter> finished_;
  SeriesCache<prometheus::Counter> retries_;
  SeriesCache<prometheus::Histogram> run_seconds_;
  SeriesCache<prometheus::Histogram> pickup_seconds_;
  prometheus::Counter& rescues_;
  SeriesCache<prometheus::Counter> db_errors_;
  SeriesCache<prometheus::Histogram> notify_lag_;
  SeriesCache<prometheus::Gauge> queue_depth_;
  SeriesCache<prometheus::Gauge> queue_oldest_;

  std::mutex queues_mu_;
  std::set<std::string> queues_seen_;  // at most kMaxQueueSeries
  bool other_used_ = false;

  mutable std::mutex gauges_mu_;
  std::vector<ScrapeGauge> scrape_gauges_;
};

}  // namespace longrun::metrics

#endif  // LONGRUN_METRICS_METRICS_H_
