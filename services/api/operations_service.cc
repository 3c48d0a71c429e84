#include "services/api/operations_service.h"

#include "libs/common/status_macros.h"
#include "libs/rpc/convert.h"
#include "services/api/unary.h"

namespace longrun::api {

grpc::ServerUnaryReactor* OperationsService::Submit(grpc::CallbackServerContext* ctx,
                                                    const longrun::v1::SubmitRequest* request,
                                                    google::longrunning::Operation* response) {
  return RunUnary(ctx, executor_, [this, ctx, request, response]() -> absl::Status {
    LONGRUN_ASSIGN_OR_RETURN(core::SubmitSpec spec, rpc::FromProto(*request));
    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, logic_.Submit(spec));
    RespondWithOperation(ctx, op, logic_.Now(), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OperationsService::GetOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::GetOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleGetOperation(ctx, executor_, logic_, request->name(), response);
}

}  // namespace longrun::api
