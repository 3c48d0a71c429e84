#include "libs/metrics/metrics_server.h"

#include <exception>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/common/port_file.h"
#include "prometheus/exposer.h"

namespace longrun::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, std::shared_ptr<Metrics> metrics) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen \"", listen, "\" is not HOST:PORT (e.g. 0.0.0.0:9090)"));
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  exposer->RegisterCollectable(metrics);
  const std::vector<int> ports = exposer->GetListeningPorts();
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(exposer), std::move(metrics), ports.empty() ? port : ports[0]));
}

MetricsServer::MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                             std::shared_ptr<Metrics> metrics, int port)
    : exposer_(std::move(exposer)), metrics_(std::move(metrics)), port_(port) {}

MetricsServer::~MetricsServer() = default;

absl::StatusOr<std::unique_ptr<MetricsServer>> ServeMetrics(const MetricsFlags& flags,
                                                            std::shared_ptr<Metrics> metrics) {
  if (!flags.on()) return nullptr;
  const std::string& listen = flags.listen;
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(listen, std::move(metrics));
  if (!server.ok()) return server.status();
  const std::string host = listen.substr(0, listen.rfind(':'));
  LONGRUN_LOG(kInfo, "metrics_serving",
              {{"address", absl::StrCat("http://", host, ":", (*server)->port(), "/metrics")}});
  if (!flags.port_file.empty()) {
    if (absl::Status s = WritePortFile(flags.port_file, (*server)->port()); !s.ok()) return s;
  }
  return server;
}

void AddDbPoolGauge(Metrics& metrics, std::function<std::pair<int, int>()> in_use_and_idle) {
  metrics.AddScrapeGauge(
      "longrun_db_pool_connections",
      "Database connections of this process's pool: in_use (lent to a caller) or idle (open, "
      "waiting).",
      [read = std::move(in_use_and_idle)] {
        const auto [in_use, idle] = read();
        return Metrics::GaugeReading{{{{"state", "in_use"}}, static_cast<double>(in_use)},
                                     {{{"state", "idle"}}, static_cast<double>(idle)}};
      });
}

}  // namespace longrun::metrics
