// The api's one enforcement point for authentication, scopes and per-tenant rate limits: a
// gRPC server interceptor on every call of every service (longrun.v1.Operations,
// google.longrunning.Operations, longrun.v1.Workers, health, reflection).
//
// For each call, before its handler runs, it looks the method up in the scope table
// (libs/auth/method_scopes.h): open methods (health) pass; any other needs a credential in
// the `authorization` header (UNAUTHENTICATED without a valid one), the method's scope
// (PERMISSION_DENIED without it) and, for Submit and reads, a token from the tenant's bucket
// (RESOURCE_EXHAUSTED with a `retry-after` header). The decision goes to the CallAuthTable,
// from which every longrun handler takes its Caller, ending at once if refused; a refused call
// of a service that is not longrun's (reflection) is cancelled before its handler can answer,
// and every refused call's status is rewritten to the refusal.
#ifndef LONGRUN_SERVICES_API_AUTH_INTERCEPTOR_H_
#define LONGRUN_SERVICES_API_AUTH_INTERCEPTOR_H_

#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>

#include "libs/auth/authenticator.h"
#include "libs/auth/method_scopes.h"
#include "services/api/call_auth.h"
#include "services/api/rate_limiter.h"

namespace longrun::api {

struct AuthInterceptorConfig {
  const auth::Authenticator* authenticator = nullptr;  // required
  auth::MethodRuleOptions rules;
  CallAuthTable* table = nullptr;  // required
  TenantRateLimiter* submit_limit = nullptr;  // Submit; nullptr: none
  TenantRateLimiter* read_limit = nullptr;    // Get, List, Wait, Watch; nullptr: none
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> AuthInterceptor(
    AuthInterceptorConfig config);

// The decision for one call of a method with `rule` (not kOpen) carrying `authorization`:
// the caller, or UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED; with the last,
// `retry_after` holds whole seconds. The interceptor and the HTTP front end both use it, so
// the two transports cannot disagree. `config.table` is not used.
struct AuthDecision {
  absl::StatusOr<Caller> caller;
  std::string retry_after;
};
AuthDecision AuthorizeCall(const AuthInterceptorConfig& config, const auth::MethodRule& rule,
                           absl::string_view authorization);

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_AUTH_INTERCEPTOR_H_
