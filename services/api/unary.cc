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

grpc::ServerUnaryReactor* HandleGetOperation(grpc::CallbackServerContext* ctx,
                                             const ApiDeps& deps, const std::string& name,
                                             google::longrunning::Operation* response) {
  OperationsLogic& logic = deps.logic;
  return RunUnary(ctx, deps.auth, deps.executor,
                  [ctx, &logic, &name, response](const Caller& caller) -> absl::Status {
                    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, logic.Get(caller, name));
                    RespondWithOperation(ctx, op, logic.Now(), response);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* HandleCancelOperation(grpc::CallbackServerContext* ctx,
                                                const ApiDeps& deps, const std::string& name,
                                                google::longrunning::Operation* response) {
  OperationsLogic& logic = deps.logic;
  return RunUnary(ctx, deps.auth, deps.executor,
                  [ctx, &logic, &name, response](const Caller& caller) -> absl::Status {
                    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, logic.Cancel(caller, name));
                    if (response != nullptr) RespondWithOperation(ctx, op, logic.Now(), response);
                    return absl::OkStatus();
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
  if (absl::StatusOr<Caller> caller = CallerOf(deps.auth, ctx); !caller.ok()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(rpc::ToGrpcStatus(caller.status()));
    return reactor;
  }
  std::optional<absl::Duration> wait;
  if (has_timeout) {
    auto d = rpc::FromProtoDuration(timeout, "timeout");
    absl::Status error = d.status();
    if (d.ok() && *d < absl::ZeroDuration()) {
      error = absl::InvalidArgumentError("timeout: must not be negative");
    }
    if (!error.ok()) {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(rpc::ToGrpcStatus(error));
      return reactor;
    }
    wait = *d;
  }
  return new WaitReactor(deps, ctx, name, wait, response);
}

}  // namespace longrun::api
