#include "libs/auth/method_scopes.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace longrun::auth {
namespace {

struct MethodScope {
  absl::string_view method;
  Scope scope;
};

// Every RPC of the api's own services, by full name.
constexpr MethodScope kMethodScopes[] = {
    {"longrun.v1.Operations/Submit", Scope::kOperationsSubmit},
    {"longrun.v1.Operations/GetOperation", Scope::kOperationsRead},
    {"longrun.v1.Operations/ListOperations", Scope::kOperationsRead},
    {"longrun.v1.Operations/WaitOperation", Scope::kOperationsRead},
    {"longrun.v1.Operations/WatchOperation", Scope::kOperationsRead},
    {"longrun.v1.Operations/CancelOperation", Scope::kOperationsCancel},
    {"longrun.v1.Operations/DeleteOperation", Scope::kOperationsDelete},
    // Re-posts the result to the URL the submitter chose: a submitter's right.
    {"longrun.v1.Operations/RedeliverCallback", Scope::kOperationsSubmit},
    {"longrun.v1.Operations/WatchOperations", Scope::kOperationsRead},
    {"google.longrunning.Operations/GetOperation", Scope::kOperationsRead},
    {"google.longrunning.Operations/ListOperations", Scope::kOperationsRead},
    {"google.longrunning.Operations/WaitOperation", Scope::kOperationsRead},
    {"google.longrunning.Operations/CancelOperation", Scope::kOperationsCancel},
    {"google.longrunning.Operations/DeleteOperation", Scope::kOperationsDelete},
    {"longrun.v1.Workers/LeaseJobs", Scope::kWorkersLease},
    {"longrun.v1.Workers/Heartbeat", Scope::kWorkersLease},
    {"longrun.v1.Workers/CompleteJob", Scope::kWorkersLease},
    {"longrun.v1.Workers/CompleteJobs", Scope::kWorkersLease},
    {"longrun.v1.Workers/ReleaseJobs", Scope::kWorkersLease},
};

constexpr absl::string_view kHealthService = "grpc.health.v1.Health/";
constexpr absl::string_view kReflectionServices[] = {
    "grpc.reflection.v1alpha.ServerReflection/",
    "grpc.reflection.v1.ServerReflection/",
};

}  // namespace

MethodRule RuleForMethod(absl::string_view method, const MethodRuleOptions& options) {
  absl::ConsumePrefix(&method, "/");
  for (const MethodScope& entry : kMethodScopes) {
    if (entry.method == method) return {.access = MethodAccess::kScope, .scope = entry.scope};
  }
  // Whole services, checked after the exact names; a method name is never empty.
  auto in_service = [&](absl::string_view service) {
    return method.size() > service.size() && absl::StartsWith(method, service);
  };
  if (in_service(kHealthService)) return {.access = MethodAccess::kOpen};
  for (absl::string_view service : kReflectionServices) {
    if (in_service(service)) {
      return {.access =
                  options.reflection_public ? MethodAccess::kOpen : MethodAccess::kAuthenticated};
    }
  }
  return {.access = MethodAccess::kDenied};
}

absl::Status CheckAccess(const MethodRule& rule, const Principal& principal) {
  switch (rule.access) {
    case MethodAccess::kOpen:
    case MethodAccess::kAuthenticated:
      return absl::OkStatus();
    case MethodAccess::kScope:
      return CheckScope(principal, rule.scope);
    case MethodAccess::kDenied:
      break;
  }
  return absl::PermissionDeniedError("this method is not open to any credential");
}

}  // namespace longrun::auth
