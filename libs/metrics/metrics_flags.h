// MetricsFlags: --metrics-listen and --metrics-port-file, the same on every longrun process
// (ServeMetrics in metrics_server.h takes them). A header of its own, without prometheus-cpp,
// so configs can hold it.
#ifndef LONGRUN_METRICS_METRICS_FLAGS_H_
#define LONGRUN_METRICS_METRICS_FLAGS_H_

#include <string>

#include "libs/common/flags.h"

namespace longrun::metrics {

struct MetricsFlags {
  std::string listen;     // HOST:PORT for /metrics; "": metrics off
  std::string port_file;  // where to write the port once listening ("": nowhere)

  bool on() const { return !listen.empty(); }
};

inline void AddMetricsFlags(FlagSet& flags, MetricsFlags* config) {
  flags.String("metrics-listen", &config->listen,
               "serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 0.0.0.0:9090 "
               "(default: off)",
               "LONGRUN_METRICS_LISTEN");
  flags.String("metrics-port-file", &config->port_file,
               "write the metrics port to this file once listening (for --metrics-listen=HOST:0)");
}

}  // namespace longrun::metrics

#endif  // LONGRUN_METRICS_METRICS_FLAGS_H_
