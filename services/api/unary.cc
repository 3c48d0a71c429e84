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
                                             concurrency::Executor& executor,
                                             OperationsLogic& logic, const std::string& name,
                                             google::longrunning::Operation* response) {
  return RunUnary(ctx, executor, [ctx, &logic, &name, response]() -> absl::Status {
    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, logic.Get(name));
    RespondWithOperation(ctx, op, logic.Now(), response);
    return absl::OkStatus();
  });
}

}  // namespace longrun::api
