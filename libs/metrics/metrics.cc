#include "libs/metrics/metrics.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_join.h"
#include "libs/core/operation.h"
#include "prometheus/text_serializer.h"

namespace longrun::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Seconds, from sub-millisecond (a Submit, a notification) to hours (a long job).
const std::vector<double> kRpcBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
const std::vector<double> kPickupBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
const std::vector<double> kRunBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,  1,    5,
                                         10,    30,    60,   300,  900, 3600, 10800};
const std::vector<double> kLagBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5};

// "/longrun.v1.Operations/Submit" -> ("longrun.v1.Operations", "Submit").
std::pair<absl::string_view, absl::string_view> SplitMethod(absl::string_view full) {
  if (!full.empty() && full[0] == '/') full.remove_prefix(1);
  const size_t slash = full.find('/');
  if (slash == absl::string_view::npos) return {"unknown", full};
  return {full.substr(0, slash), full.substr(slash + 1)};
}

}  // namespace

template <typename T>
SeriesCache<T>::SeriesCache(prometheus::Family<T>& family, std::vector<std::string> label_names,
                            std::vector<double> buckets)
    : family_(family), names_(std::move(label_names)), buckets_(std::move(buckets)) {
  for (std::string& name : names_) {
    collapsible_.push_back(!name.empty() && name[0] == '~');
    if (collapsible_.back()) name.erase(0, 1);
  }
}

template <typename T>
T& SeriesCache<T>::Get(std::initializer_list<absl::string_view> values) {
  std::string key = absl::StrJoin(values, absl::string_view("\0", 1));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = series_.find(key); it != series_.end()) return *it->second;
  std::vector<std::string> v(values.begin(), values.end());
  if (series_.size() >= static_cast<size_t>(kMaxSeriesPerFamily)) {
    // Past the cap, new label sets share series with their client-chosen labels _other.
    for (size_t i = 0; i < v.size() && i < collapsible_.size(); ++i) {
      if (collapsible_[i]) v[i] = std::string(kOtherLabelValue);
    }
    key = absl::StrJoin(v, absl::string_view("\0", 1));
    if (auto it = series_.find(key); it != series_.end()) return *it->second;
  }
  T& series = AddLocked(v);
  series_.emplace(std::move(key), &series);
  return series;
}

template <typename T>
T& SeriesCache<T>::AddLocked(const std::vector<std::string>& values) {
  prometheus::Labels labels;
  for (size_t i = 0; i < names_.size() && i < values.size(); ++i) labels[names_[i]] = values[i];
  if constexpr (std::is_same_v<T, prometheus::Histogram>) {
    return family_.Add(labels, buckets_);
  } else {
    return family_.Add(labels);
  }
}

template class SeriesCache<prometheus::Counter>;
template class SeriesCache<prometheus::Gauge>;
template class SeriesCache<prometheus::Histogram>;

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_started_(BuildCounter()
                       .Name("grpc_server_started_total")
                       .Help("RPCs started on the server.")
                       .Register(*registry_),
                   {"grpc_type", "~grpc_service", "~grpc_method"}),
      rpc_handled_(BuildCounter()
                       .Name("grpc_server_handled_total")
                       .Help("RPCs completed on the server, whatever their status code.")
                       .Register(*registry_),
                   {"grpc_type", "~grpc_service", "~grpc_method", "grpc_code"}),
      rpc_seconds_(BuildHistogram()
                       .Name("grpc_server_handling_seconds")
                       .Help("Time from an RPC's start to its status, in seconds.")
                       .Register(*registry_),
                   {"grpc_type", "~grpc_service", "~grpc_method"}, kRpcBuckets),
      submitted_(BuildCounter()
                     .Name("longrun_operations_submitted_total")
                     .Help("Operations created (idempotent repeats of a request are not counted).")
                     .Register(*registry_),
                 {"~queue", "~kind"}),
      finished_(BuildCounter()
                    .Name("longrun_jobs_finished_total")
                    .Help("Operations that reached a terminal state, by that state "
                          "(SUCCEEDED, FAILED, CANCELLED).")
                    .Register(*registry_),
                {"~queue", "~kind", "outcome"}),
      retries_(BuildCounter()
                   .Name("longrun_retries_total")
                   .Help("Failed attempts that will be retried.")
                   .Register(*registry_),
               {"~kind"}),
      run_seconds_(BuildHistogram()
                       .Name("longrun_job_run_seconds")
                       .Help("How long attempts ran, by how they ended (SUCCEEDED, FAILED, "
                             "CANCELLED, RETRIED).")
                       .Register(*registry_),
                   {"~kind", "outcome"}, kRunBuckets),
      pickup_seconds_(BuildHistogram()
                          .Name("longrun_job_pickup_seconds")
                          .Help("From when a job became runnable (created, scheduled or due for "
                                "a retry) to when a worker claimed it.")
                          .Register(*registry_),
                      {"~queue"}, kPickupBuckets),
      rescues_(BuildCounter()
                   .Name("longrun_lease_rescues_total")
                   .Help("Attempts whose lease expired (worker crashed or stalled) and that a "
                         "rescuer in this process ended.")
                   .Register(*registry_)
                   .Add({})),
      db_errors_(BuildCounter()
                     .Name("longrun_db_errors_total")
                     .Help("Database calls that failed: UNAVAILABLE (unreachable), INTERNAL "
                           "(refused) or DEADLINE_EXCEEDED (statement timeout).")
                     .Register(*registry_),
                 {"code"}),
      notify_lag_(BuildHistogram()
                      .Name("longrun_notify_lag_seconds")
                      .Help("From a database notification's sending to its arrival here.")
                      .Register(*registry_),
                  {"channel"}, kLagBuckets),
      queue_depth_(BuildGauge()
                       .Name("longrun_queue_depth")
                       .Help("Unfinished jobs by state: QUEUED (due, waiting for a worker), "
                             "SCHEDULED (not due yet) and RUNNING. Sampled every "
                             "--metrics-queue-interval.")
                       .Register(*registry_),
                   {"~queue", "state"}),
      queue_oldest_(BuildGauge()
                        .Name("longrun_queue_oldest_age_seconds")
                        .Help("How long the oldest due job in the queue has waited. Sampled "
                              "every --metrics-queue-interval.")
                        .Register(*registry_),
                    {"~queue"}) {}

void Metrics::OperationSubmitted(absl::string_view queue, absl::string_view kind) {
  submitted_.Get({queue, kind}).Increment();
}

void Metrics::JobStarted(absl::string_view queue, absl::string_view, absl::Duration pickup) {
  pickup_seconds_.Get({queue}).Observe(
      absl::ToDoubleSeconds(std::max(pickup, absl::ZeroDuration())));
}

void Metrics::JobEnded(const store::JobTransition& t) {
  if (t.rescued) rescues_.Increment();
  absl::string_view outcome;
  if (t.state == core::State::kRetryWait) {
    retries_.Get({t.kind}).Increment();
    outcome = "RETRIED";
  } else {
    outcome = core::StateName(t.state);
    finished_.Get({t.queue, t.kind, outcome}).Increment();
  }
  if (t.run_time.has_value()) {
    run_seconds_.Get({t.kind, outcome})
        .Observe(absl::ToDoubleSeconds(std::max(*t.run_time, absl::ZeroDuration())));
  }
}

void Metrics::StoreFailed(const absl::Status& status) {
  // Failures of the database, not answers about the data (a lost race, a duplicate key).
  const absl::StatusCode code = status.code();
  if (code != absl::StatusCode::kUnavailable && code != absl::StatusCode::kInternal &&
      code != absl::StatusCode::kDeadlineExceeded) {
    return;
  }
  db_errors_.Get({absl::StatusCodeToString(code)}).Increment();
}

void Metrics::NotificationArrived(absl::string_view channel, absl::Duration lag) {
  notify_lag_.Get({channel}).Observe(absl::ToDoubleSeconds(lag));
}

void Metrics::RpcStarted(absl::string_view type, absl::string_view method) {
  const auto [service, name] = SplitMethod(method);
  rpc_started_.Get({type, service, name}).Increment();
}

void Metrics::RpcHandled(absl::string_view type, absl::string_view method, absl::string_view code,
                         absl::Duration elapsed) {
  const auto [service, name] = SplitMethod(method);
  rpc_handled_.Get({type, service, name, code}).Increment();
  rpc_seconds_.Get({type, service, name}).Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::SetQueueDepths(const std::vector<store::QueueDepth>& depths) {
  std::lock_guard<std::mutex> lock(queues_mu_);
  // The first kMaxQueueSeries queues seen get series of their own; the rest add up as one.
  std::map<std::string, store::QueueDepth> by_series;
  for (const store::QueueDepth& d : depths) {
    std::string series = d.queue;
    if (queues_seen_.count(series) == 0) {
      if (queues_seen_.size() < static_cast<size_t>(kMaxQueueSeries)) {
        queues_seen_.insert(series);
      } else {
        series = std::string(kOtherLabelValue);
      }
    }
    store::QueueDepth& sum = by_series[series];
    sum.queued += d.queued;
    sum.scheduled += d.scheduled;
    sum.running += d.running;
    sum.oldest_queued_age = std::max(sum.oldest_queued_age, d.oldest_queued_age);
  }
  // Queues seen before and absent now read 0 (and so does _other once it was used).
  if (by_series.count(std::string(kOtherLabelValue)) > 0) other_used_ = true;
  for (const std::string& queue : queues_seen_) by_series.try_emplace(queue);
  if (other_used_) by_series.try_emplace(std::string(kOtherLabelValue));
  for (const auto& [queue, d] : by_series) {
    queue_depth_.Get({queue, "QUEUED"}).Set(static_cast<double>(d.queued));
    queue_depth_.Get({queue, "SCHEDULED"}).Set(static_cast<double>(d.scheduled));
    queue_depth_.Get({queue, "RUNNING"}).Set(static_cast<double>(d.running));
    queue_oldest_.Get({queue}).Set(absl::ToDoubleSeconds(d.oldest_queued_age));
  }
}

void Metrics::AddScrapeGauge(std::string name, std::string help,
                             std::function<GaugeReading()> read) {
  std::lock_guard<std::mutex> lock(gauges_mu_);
  scrape_gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::lock_guard<std::mutex> lock(gauges_mu_);
  for (const ScrapeGauge& g : scrape_gauges_) {
    prometheus::MetricFamily family{
        .name = g.name, .help = g.help, .type = prometheus::MetricType::Gauge};
    for (const auto& [labels, value] : g.read()) {
      prometheus::ClientMetric m;
      for (const auto& [name, label_value] : labels) m.label.push_back({name, label_value});
      m.gauge.value = value;
      family.metric.push_back(std::move(m));
    }
    families.push_back(std::move(family));
  }
  return families;
}

std::string Metrics::Text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

}  // namespace longrun::metrics
