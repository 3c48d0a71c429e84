#include "services/api/google_operations_service.h"

#include "services/api/unary.h"

namespace longrun::api {

grpc::ServerUnaryReactor* GoogleOperationsService::GetOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::GetOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleGetOperation(ctx, executor_, logic_, request->name(), response);
}

}  // namespace longrun::api
