#include "services/api/google_operations_service.h"

#include "services/api/unary.h"

namespace longrun::api {

grpc::ServerUnaryReactor* GoogleOperationsService::GetOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::GetOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleGetOperation(ctx, deps_.executor, deps_.logic, request->name(), response);
}

grpc::ServerUnaryReactor* GoogleOperationsService::WaitOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::WaitOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleWaitOperation(ctx, deps_, request->name(), request->has_timeout(),
                             request->timeout(), response);
}

}  // namespace longrun::api
