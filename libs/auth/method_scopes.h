// Which calls need which scope: one table for every gRPC method the api serves, so the
// server interceptor enforces access in one place and a new RPC cannot ship unprotected
// (method_scopes_test walks the generated descriptors and fails on a method missing here).
//
//   longrun.v1.Operations / google.longrunning.Operations
//     Submit                                          operations.submit
//     GetOperation, ListOperations, WaitOperation,
//     WatchOperation                                  operations.read
//     CancelOperation                                 operations.cancel
//     DeleteOperation                                 operations.delete
//   longrun.v1.Workers/*                              workers.lease
//   grpc.health.v1.Health/*                           open (no credential)
//   grpc.reflection.v1alpha.ServerReflection/*,
//   grpc.reflection.v1.ServerReflection/*             any valid credential; open with
//                                                     reflection_public (--reflection=public)
//   anything else                                     denied
//
// The interceptor: rule = RuleForMethod(method); unless kOpen, Authenticate (UNAUTHENTICATED)
// and then CheckAccess (PERMISSION_DENIED).
#ifndef LONGRUN_AUTH_METHOD_SCOPES_H_
#define LONGRUN_AUTH_METHOD_SCOPES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/auth/principal.h"

namespace longrun::auth {

enum class MethodAccess {
  kOpen,           // no credential needed
  kAuthenticated,  // any valid credential
  kScope,          // a valid credential with `scope`
  kDenied,         // not in the table: refused for everyone
};

struct MethodRule {
  MethodAccess access = MethodAccess::kDenied;
  Scope scope = Scope::kAdmin;  // meaningful for kScope only
};

struct MethodRuleOptions {
  bool reflection_public = false;  // --reflection=public
};

// `method` as gRPC names it, "/package.Service/Method" (the leading slash is optional).
MethodRule RuleForMethod(absl::string_view method, const MethodRuleOptions& options = {});

// For a principal that authenticated: OK, or PERMISSION_DENIED for a missing scope or a
// denied method.
absl::Status CheckAccess(const MethodRule& rule, const Principal& principal);

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_METHOD_SCOPES_H_
