// A gRPC server interceptor that counts every call in Metrics as go-grpc-prometheus does:
// grpc_server_started_total when the call starts, grpc_server_handled_total and
// grpc_server_handling_seconds when its status is sent (CANCELLED if it ends without one).
// It covers every service on the server, the health and reflection services included.
#ifndef LONGRUN_METRICS_GRPC_SERVER_METRICS_H_
#define LONGRUN_METRICS_GRPC_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>

#include "libs/metrics/metrics.h"

namespace longrun::metrics {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators. `known(method)` tells the
// methods the server has ("/package.Service/Method"); others (a client can send any path)
// are all labelled service and method "unknown", so labels stay bounded.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerMetricsInterceptor(
    std::shared_ptr<Metrics> metrics, std::function<bool(absl::string_view method)> known);

}  // namespace longrun::metrics

#endif  // LONGRUN_METRICS_GRPC_SERVER_METRICS_H_
