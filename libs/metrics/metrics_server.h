// MetricsServer: serves a Metrics object at http://HOST:PORT/metrics in Prometheus text
// format (prometheus-cpp's exposer, on its own two threads).
#ifndef LONGRUN_METRICS_METRICS_SERVER_H_
#define LONGRUN_METRICS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "libs/metrics/metrics.h"
#include "libs/metrics/metrics_flags.h"

namespace prometheus {
class Exposer;
}

namespace longrun::metrics {

class MetricsServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks a free one). kInvalidArgument for a
  // malformed address, kUnavailable when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              std::shared_ptr<Metrics> metrics);
  ~MetricsServer();

  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<Metrics> metrics,
                int port);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<Metrics> metrics_;
  int port_;
};

// For a process's --metrics-listen and --metrics-port-file flags: nullptr when metrics are
// off; otherwise a started server, whose port is written to the port file if one is set.
// Logs the address it serves.
absl::StatusOr<std::unique_ptr<MetricsServer>> ServeMetrics(const MetricsFlags& flags,
                                                            std::shared_ptr<Metrics> metrics);

// Registers longrun_db_pool_connections{state="in_use"|"idle"}, read at each scrape.
void AddDbPoolGauge(Metrics& metrics, std::function<std::pair<int, int>()> in_use_and_idle);

}  // namespace longrun::metrics

#endif  // LONGRUN_METRICS_METRICS_SERVER_H_
