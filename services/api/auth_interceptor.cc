#include "services/api/auth_interceptor.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/grpc_status.h"

namespace longrun::api {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// Services whose handlers read the CallAuthTable (and so end refused calls themselves).
bool IsLongrunService(absl::string_view method) {
  return absl::StartsWith(method, "/longrun.v1.") ||
         absl::StartsWith(method, "/google.longrunning.");
}

class Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(const AuthInterceptorConfig& config, ServerRpcInfo* info)
      : config_(config),
        info_(info),
        call_(info->server_context()),
        method_(info->method() != nullptr ? info->method() : ""),
        rule_(auth::RuleForMethod(method_, config.rules)) {}

  ~Interceptor() override {
    if (recorded_) config_.table->Erase(call_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Decide(*methods->GetRecvInitialMetadata());
    }
    if (!refusal_.ok()) {
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA) &&
          !retry_after_.empty()) {
        methods->GetSendInitialMetadata()->emplace("retry-after", retry_after_);
      }
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
        methods->ModifySendStatus(rpc::ToGrpcStatus(refusal_));
      }
    }
    methods->Proceed();
  }

 private:
  void Decide(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    if (rule_.access == auth::MethodAccess::kOpen) return;
    absl::string_view authorization;
    if (auto it = metadata.find("authorization"); it != metadata.end()) {
      authorization = absl::string_view(it->second.data(), it->second.size());
    }
    AuthDecision decision = AuthorizeCall(config_, rule_, authorization);
    refusal_ = decision.caller.status();
    retry_after_ = std::move(decision.retry_after);
    config_.table->Set(call_, std::move(decision.caller));
    recorded_ = true;
    // A refused call to a service that does not consult the table: cancel it before its
    // handler can answer anything.
    if (!refusal_.ok() && !IsLongrunService(method_)) info_->server_context()->TryCancel();
  }

  const AuthInterceptorConfig& config_;
  ServerRpcInfo* const info_;
  const grpc::ServerContextBase* const call_;
  const std::string method_;
  const auth::MethodRule rule_;
  bool recorded_ = false;
  absl::Status refusal_;
  std::string retry_after_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(AuthInterceptorConfig config) : config_(config) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new Interceptor(config_, info);
  }

 private:
  const AuthInterceptorConfig config_;
};

}  // namespace

AuthDecision AuthorizeCall(const AuthInterceptorConfig& config, const auth::MethodRule& rule,
                           absl::string_view authorization) {
  AuthDecision out;
  absl::StatusOr<auth::Principal> principal = config.authenticator->Authenticate(authorization);
  if (!principal.ok()) {
    out.caller = principal.status();
    return out;
  }
  if (absl::Status s = auth::CheckAccess(rule, *principal); !s.ok()) {
    out.caller = s;
    return out;
  }
  TenantRateLimiter* limit = nullptr;
  if (rule.access == auth::MethodAccess::kScope) {
    if (rule.scope == auth::Scope::kOperationsSubmit) limit = config.submit_limit;
    if (rule.scope == auth::Scope::kOperationsRead) limit = config.read_limit;
  }
  if (limit != nullptr) {
    if (auto wait = limit->Take(principal->tenant); wait.has_value()) {
      const int64_t seconds =
          std::max<int64_t>(1, std::llround(std::ceil(absl::ToDoubleSeconds(*wait))));
      out.retry_after = std::to_string(seconds);
      out.caller = absl::ResourceExhaustedError(absl::StrCat(
          "tenant \"", principal->tenant, "\" is over its rate limit for ",
          rule.scope == auth::Scope::kOperationsSubmit ? "Submit" : "reads", "; retry after ",
          seconds, "s"));
      return out;
    }
  }
  Caller caller{.tenant = principal->tenant, .admin = principal->CrossTenant()};
  caller.principal = std::make_shared<const auth::Principal>(*std::move(principal));
  out.caller = std::move(caller);
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> AuthInterceptor(
    AuthInterceptorConfig config) {
  return std::make_unique<Factory>(config);
}

}  // namespace longrun::api
