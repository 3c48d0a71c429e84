#include "services/api/google_operations_service.h"

#include "services/api/unary.h"

namespace longrun::api {

grpc::ServerUnaryReactor* GoogleOperationsService::GetOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::GetOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleGetOperation(ctx, deps_, request->name(), response);
}

grpc::ServerUnaryReactor* GoogleOperationsService::WaitOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::WaitOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleWaitOperation(ctx, deps_, request->name(), request->has_timeout(),
                             request->timeout(), response);
}

grpc::ServerUnaryReactor* GoogleOperationsService::ListOperations(
    grpc::CallbackServerContext* ctx, const google::longrunning::ListOperationsRequest* request,
    google::longrunning::ListOperationsResponse* response) {
  return HandleListOperations(ctx, deps_,
                              {request->name(), request->filter(), request->page_size(),
                               request->page_token()},
                              response);
}

grpc::ServerUnaryReactor* GoogleOperationsService::CancelOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::CancelOperationRequest* request,
    google::protobuf::Empty*) {
  return HandleCancelOperation(ctx, deps_, request->name(), nullptr);
}

grpc::ServerUnaryReactor* GoogleOperationsService::DeleteOperation(
    grpc::CallbackServerContext* ctx, const google::longrunning::DeleteOperationRequest* request,
    google::protobuf::Empty*) {
  return HandleDeleteOperation(ctx, deps_, request->name());
}

}  // namespace longrun::api
