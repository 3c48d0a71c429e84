#include "services/api/unary.h"

#include <algorithm>
#include <cmath>

#include "libs/common/status_macros.h"
#include "libs/core/policy.h"
#include "libs/rpc/convert.h"

namespace longrun::api {

void RespondWithOperation(grpc::CallbackServerContext* ctx, const core::Operation& op,
                          absl::Time now, google::longrunning::Operation* response) {
  if (!op.done()) {
    const double secs = absl::ToDoubleSeconds(core::SuggestedPollDelay(op, now));
    ctx->AddInitialMetadata("retry-after",
                            std::to_string(std::max<long long>(1, std::llround(std::ceil(secs)))));
  }
  *response = rpc::ToProto(op, now);
}

namespace {

// Get and Cancel: `call(logic, caller)` gives the operation, written to `response` (if any).
template <typename Call>
grpc::ServerUnaryReactor* RespondWithOperationOf(grpc::CallbackServerContext* ctx,
                                                 const ApiDeps& deps,
                                                 google::longrunning::Operation* response,
                                                 Call call) {
  OperationsLogic& logic = deps.logic;
  return RunUnary(ctx, deps.auth, deps.executor,
                  [ctx, &logic, response, call](const Caller& caller) -> absl::Status {
                    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, call(logic, caller));
                    if (response != nullptr) RespondWithOperation(ctx, op, logic.Now(), response);
                    return absl::OkStatus();
                  });
}

}  // namespace

grpc::ServerUnaryReactor* HandleGetOperation(grpc::CallbackServerContext* ctx,
                                             const ApiDeps& deps, const std::string& name,
                                             google::longrunning::Operation* response) {
  return RespondWithOperationOf(ctx, deps, response,
                                [&name](OperationsLogic& logic, const Caller& caller) {
                                  return logic.Get(caller, name);
                                });
}

grpc::ServerUnaryReactor* HandleCancelOperation(grpc::CallbackServerContext* ctx,
                                                const ApiDeps& deps, const std::string& name,
                                                google::longrunning::Operation* response) {
  return RespondWithOperationOf(ctx, deps, response,
                                [&name](OperationsLogic& logic, const Caller& caller) {
                                  return logic.Cancel(caller, name);
                                });
}

grpc::ServerUnaryReactor* HandleRedeliverCallback(grpc::CallbackServerContext* ctx,
                                                  const ApiDeps& deps, const std::string& name,
                                                  google::longrunning::Operation* response) {
  return RespondWithOperationOf(ctx, deps, response,
                                [&name](OperationsLogic& logic, const Caller& caller) {
                                  return logic.RedeliverCallback(caller, name);
                                });
}

grpc::ServerUnaryReactor* HandleDeleteOperation(grpc::CallbackServerContext* ctx,
                                                const ApiDeps& deps, const std::string& name) {
  OperationsLogic& logic = deps.logic;
  return RunUnary(ctx, deps.auth, deps.executor, [&logic, &name](const Caller& caller) {
    return logic.Delete(caller, name);
  });
}

grpc::ServerUnaryReactor* HandleWaitOperation(grpc::CallbackServerContext* ctx, const ApiDeps& deps,
                                              const std::string& name, bool has_timeout,
                                              const google::protobuf::Duration& timeout,
                                              google::longrunning::Operation* response) {
  // The caller first (call_auth.h): a refused call learns nothing about its input either.
  absl::StatusOr<Caller> caller = CallerOf(deps.auth, ctx);
  if (!caller.ok()) return FinishNow(ctx, caller.status());
  std::optional<absl::Duration> wait;
  if (has_timeout) {
    auto d = rpc::FromProtoDuration(timeout, "timeout");
    absl::Status error = d.status();
    if (d.ok() && *d < absl::ZeroDuration()) {
      error = absl::InvalidArgumentError("timeout: must not be negative");
    }
    if (!error.ok()) return FinishNow(ctx, error);
    wait = *d;
  }
  return new WaitReactor(deps, *std::move(caller), ctx, name, wait, response);
}

}  // namespace longrun::api
