#include "libs/metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/core/ids.h"
#include "libs/metrics/metrics_server.h"
#include "libs/metrics/queue_sampler.h"
#include "libs/store/memory/memory_operation_store.h"

namespace longrun::metrics {
namespace {

using Labels = std::map<std::string, std::string>;

// The value of one series: a counter's or gauge's value, a histogram's sample count.
// -1 when there is no such series.
double Value(const Metrics& m, const std::string& name, const Labels& labels) {
  for (const prometheus::MetricFamily& f : m.Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& c : f.metric) {
      Labels have;
      for (const auto& l : c.label) have[l.name] = l.value;
      if (have != labels) continue;
      switch (f.type) {
        case prometheus::MetricType::Counter:
          return c.counter.value;
        case prometheus::MetricType::Gauge:
          return c.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(c.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

google::protobuf::Struct Obj() {
  google::protobuf::Struct s;
  (*s.mutable_fields())["ok"].set_bool_value(true);
  return s;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { store_.SetObserver(metrics_.get()); }

  std::string Submit(const std::string& queue, const std::string& kind, int max_attempts = 1) {
    auto r = store_.OperationInsert({.id = core::NewOperationId(clock_.Now()),
                                     .spec = {.kind = kind, .queue = queue},
                                     .max_attempts = max_attempts});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->operation.id : "";
  }
  std::vector<store::ClaimedJob> Claim(int n, absl::Duration lease = absl::Seconds(30)) {
    auto jobs =
        store_.JobClaim({.worker_id = "w", .kinds = {"k", "other"}, .limit = n, .lease = lease});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *jobs : std::vector<store::ClaimedJob>{};
  }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_{clock_};
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
};

TEST_F(MetricsTest, CountsWhatTheStoreChangedByOutcome) {
  const std::string ok = Submit("q", "k");
  const std::string retried = Submit("q", "k", 2);
  const std::string failed = Submit("q", "k");
  const std::string cancelled = Submit("q", "other");
  EXPECT_EQ(Value(*metrics_, "longrun_operations_submitted_total", {{"queue", "q"}, {"kind", "k"}}),
            3);
  clock_.Advance(absl::Milliseconds(40));
  ASSERT_EQ(store_.OperationCancel({.id = cancelled})->state, core::State::kCancelled);
  ASSERT_EQ(Claim(3).size(), 3u);
  EXPECT_EQ(Value(*metrics_, "longrun_job_pickup_seconds", {{"queue", "q"}}), 3);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(store_.JobComplete({.id = ok, .attempt = 1, .response = Obj()}).ok());
  ASSERT_TRUE(store_
                  .JobComplete(store::JobCompleteParams::Failed(
                      retried, 1, absl::UnavailableError("x"), absl::ZeroDuration()))
                  .ok());
  ASSERT_TRUE(
      store_.JobComplete(store::JobCompleteParams::Failed(failed, 1, absl::InternalError("x")))
          .ok());
  // A stale completion counts nothing.
  EXPECT_FALSE(store_.JobComplete({.id = failed, .attempt = 1, .response = Obj()}).ok());

  auto finished = [&](const std::string& kind, const std::string& outcome) {
    return Value(*metrics_, "longrun_jobs_finished_total",
                 {{"queue", "q"}, {"kind", kind}, {"outcome", outcome}});
  };
  EXPECT_EQ(finished("k", "SUCCEEDED"), 1);
  EXPECT_EQ(finished("k", "FAILED"), 1);
  EXPECT_EQ(finished("other", "CANCELLED"), 1);
  EXPECT_EQ(finished("k", "RETRY_WAIT"), -1);  // a retry is not an outcome
  EXPECT_EQ(Value(*metrics_, "longrun_retries_total", {{"kind", "k"}}), 1);
  EXPECT_EQ(Value(*metrics_, "longrun_job_run_seconds", {{"kind", "k"}, {"outcome", "RETRIED"}}),
            1);
  EXPECT_EQ(Value(*metrics_, "longrun_job_run_seconds", {{"kind", "k"}, {"outcome", "SUCCEEDED"}}),
            1);
  EXPECT_EQ(
      Value(*metrics_, "longrun_job_run_seconds", {{"kind", "other"}, {"outcome", "CANCELLED"}}),
      -1);  // it never ran

  // The retry's second attempt loses its worker and is rescued: FAILED, by the rescuer.
  ASSERT_EQ(Claim(1, absl::Seconds(1)).size(), 1u);
  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(*store_.JobRescueStuck({.limit = 10}), 1);
  EXPECT_EQ(Value(*metrics_, "longrun_lease_rescues_total", {}), 1);
  EXPECT_EQ(finished("k", "FAILED"), 2);
}

TEST_F(MetricsTest, DatabaseFailuresAreCountedByCode) {
  store_.SetUnavailableForTest(true);
  EXPECT_FALSE(store_.OperationGet({.id = core::NewOperationId(clock_.Now())}).ok());
  EXPECT_FALSE(store_.QueueDepthList().ok());
  EXPECT_EQ(Value(*metrics_, "longrun_db_errors_total", {{"code", "UNAVAILABLE"}}), 2);
}

TEST_F(MetricsTest, QueueSamplerSetsDepthsAndZeroesQueuesThatEmptied) {
  QueueSampler sampler({}, store_, *metrics_);
  Submit("q", "k");
  Submit("q", "k");
  clock_.Advance(absl::Seconds(3));
  Submit("r", "k");
  const std::vector<store::ClaimedJob> first = Claim(1);  // one of the two oldest
  ASSERT_EQ(first.size(), 1u);
  QueueSamplerResult r = sampler.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.queues, 2);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "q"}, {"state", "QUEUED"}}), 1);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "q"}, {"state", "RUNNING"}}), 1);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "r"}, {"state", "QUEUED"}}), 1);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_oldest_age_seconds", {{"queue", "q"}}), 3);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_oldest_age_seconds", {{"queue", "r"}}), 0);

  // Everything finishes: the queues read 0, they do not vanish (or keep their last value).
  for (const store::ClaimedJob& j : Claim(10)) {
    ASSERT_TRUE(store_.JobComplete({.id = j.id, .attempt = j.attempt, .response = Obj()}).ok());
  }
  ASSERT_TRUE(store_.JobComplete({.id = first[0].id, .attempt = 1, .response = Obj()}).ok());
  r = sampler.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.queues, 0);
  for (const char* queue : {"q", "r"}) {
    for (const char* state : {"QUEUED", "SCHEDULED", "RUNNING"}) {
      EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", queue}, {"state", state}}), 0)
          << queue << " " << state;
    }
  }

  // The database is down: the pass fails and the gauges keep their values.
  store_.SetUnavailableForTest(true);
  EXPECT_FALSE(sampler.RunOnce().ok);
}

TEST_F(MetricsTest, LabelSetsAreCappedPerFamily) {
  for (int i = 0; i < kMaxSeriesPerFamily + 50; ++i) {
    metrics_->OperationSubmitted("q", "kind-" + std::to_string(i));
  }
  EXPECT_EQ(Value(*metrics_, "longrun_operations_submitted_total",
                  {{"queue", "_other"}, {"kind", "_other"}}),
            50);
  EXPECT_EQ(
      Value(*metrics_, "longrun_operations_submitted_total", {{"queue", "q"}, {"kind", "kind-7"}}),
      1);
}

TEST_F(MetricsTest, PastTheCapOnlyClientChosenLabelsCollapse) {
  for (int i = 0; i < kMaxSeriesPerFamily + 10; ++i) {
    metrics_->JobEnded({.queue = "q", .kind = "k" + std::to_string(i),
                        .state = i % 2 == 0 ? core::State::kFailed : core::State::kSucceeded});
  }
  // The outcome survives the cap, so an alert on FAILED still sees these.
  EXPECT_EQ(Value(*metrics_, "longrun_jobs_finished_total",
                  {{"queue", "_other"}, {"kind", "_other"}, {"outcome", "FAILED"}}),
            5);
  // Queue gauges: the first kMaxQueueSeries queues alone, the rest added up.
  std::vector<store::QueueDepth> depths;
  for (int i = 0; i < kMaxQueueSeries + 3; ++i) {
    depths.push_back({.queue = "q" + std::to_string(i), .queued = 2});
  }
  metrics_->SetQueueDepths(depths);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "_other"}, {"state", "QUEUED"}}), 6);
  metrics_->SetQueueDepths({});
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "_other"}, {"state", "QUEUED"}}), 0);
  EXPECT_EQ(Value(*metrics_, "longrun_queue_depth", {{"queue", "q0"}, {"state", "QUEUED"}}), 0);
}

TEST_F(MetricsTest, RpcsAreNamedAsGoGrpcPrometheusNamesThem) {
  metrics_->RpcStarted("unary", "/longrun.v1.Operations/Submit");
  metrics_->RpcHandled("unary", "/longrun.v1.Operations/Submit", "OK", absl::Milliseconds(2));
  const Labels method = {
      {"grpc_type", "unary"}, {"grpc_service", "longrun.v1.Operations"}, {"grpc_method", "Submit"}};
  EXPECT_EQ(Value(*metrics_, "grpc_server_started_total", method), 1);
  Labels handled = method;
  handled["grpc_code"] = "OK";
  EXPECT_EQ(Value(*metrics_, "grpc_server_handled_total", handled), 1);
  EXPECT_EQ(Value(*metrics_, "grpc_server_handling_seconds", method), 1);
}

TEST_F(MetricsTest, ScrapeGaugesAreReadAtEachCollect) {
  int streams = 3;
  metrics_->AddScrapeGauge("longrun_watch_streams", "open streams", [&streams] {
    return Metrics::GaugeReading{{{}, static_cast<double>(streams)}};
  });
  EXPECT_EQ(Value(*metrics_, "longrun_watch_streams", {}), 3);
  streams = 5;
  EXPECT_EQ(Value(*metrics_, "longrun_watch_streams", {}), 5);
  EXPECT_NE(metrics_->Text().find("# TYPE longrun_watch_streams gauge\nlongrun_watch_streams 5"),
            std::string::npos);
}

// GET path over a plain socket: the status line and the body.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
  close(fd);
  return response;
}

TEST_F(MetricsTest, ServerServesTheTextFormatOnAPortFromTheKernel) {
  metrics_->OperationSubmitted("q", "k");
  auto server = MetricsServer::Start("127.0.0.1:0", metrics_);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  const std::string response = HttpGet((*server)->port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("longrun_operations_submitted_total{kind=\"k\",queue=\"q\"} 1"),
            std::string::npos)
      << response;

  EXPECT_EQ(MetricsServer::Start("9090", metrics_).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string taken = "127.0.0.1:" + std::to_string((*server)->port());
  auto again = MetricsServer::Start(taken, metrics_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(again.status().message().find(taken), absl::string_view::npos) << again.status();
}

}  // namespace
}  // namespace longrun::metrics
