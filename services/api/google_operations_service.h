// google.longrunning.Operations: a thin adapter over the same code as longrun.v1, so
// generic LRO clients see exactly the operations longrun.v1 serves.
#ifndef LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_
#define LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_

#include "google/longrunning/operations.grpc.pb.h"
#include "services/api/watch_reactor.h"

namespace longrun::api {

class GoogleOperationsService final : public google::longrunning::Operations::CallbackService {
 public:
  explicit GoogleOperationsService(ApiDeps deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* ctx,
                                         const google::longrunning::GetOperationRequest* request,
                                         google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* WaitOperation(grpc::CallbackServerContext* ctx,
                                          const google::longrunning::WaitOperationRequest* request,
                                          google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* ListOperations(
      grpc::CallbackServerContext* ctx, const google::longrunning::ListOperationsRequest* request,
      google::longrunning::ListOperationsResponse* response) override;
  grpc::ServerUnaryReactor* CancelOperation(
      grpc::CallbackServerContext* ctx, const google::longrunning::CancelOperationRequest* request,
      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* DeleteOperation(
      grpc::CallbackServerContext* ctx, const google::longrunning::DeleteOperationRequest* request,
      google::protobuf::Empty* response) override;

 private:
  ApiDeps deps_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_
