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

 private:
  ApiDeps deps_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_
