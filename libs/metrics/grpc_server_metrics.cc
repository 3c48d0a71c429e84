#include "libs/metrics/grpc_server_metrics.h"

#include <string>

#include "absl/time/clock.h"

namespace longrun::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

absl::string_view TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// Status codes as go-grpc-prometheus labels them (Go's codes.Code.String()), so existing
// dashboards and alerts (grpc_code!="OK", grpc_code="Unavailable") work unchanged.
absl::string_view CodeName(grpc::StatusCode code) {
  static constexpr absl::string_view kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "Unknown";
}

class Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(Metrics& metrics, ServerRpcInfo* info, bool known)
      : metrics_(metrics),
        type_(TypeName(info->type())),
        method_(known && info->method() != nullptr ? info->method() : "/unknown/unknown"),
        start_(absl::Now()) {
    metrics_.RpcStarted(type_, method_);
  }

  ~Interceptor() override {
    // The call ended without a status (the client went away first).
    if (!handled_) Handled(CodeName(grpc::StatusCode::CANCELLED));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Handled(CodeName(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  void Handled(absl::string_view code) {
    handled_ = true;
    metrics_.RpcHandled(type_, method_, code, absl::Now() - start_);
  }

  Metrics& metrics_;
  const absl::string_view type_;
  const std::string method_;
  const absl::Time start_;
  bool handled_ = false;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  Factory(std::shared_ptr<Metrics> metrics, std::function<bool(absl::string_view)> known)
      : metrics_(std::move(metrics)), known_(std::move(known)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    const bool known = info->method() != nullptr && (!known_ || known_(info->method()));
    return new Interceptor(*metrics_, info, known);
  }

 private:
  std::shared_ptr<Metrics> metrics_;
  std::function<bool(absl::string_view)> known_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerMetricsInterceptor(
    std::shared_ptr<Metrics> metrics, std::function<bool(absl::string_view)> known) {
  return std::make_unique<Factory>(std::move(metrics), std::move(known));
}

}  // namespace longrun::metrics
