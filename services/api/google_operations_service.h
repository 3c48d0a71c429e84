// google.longrunning.Operations: a thin adapter over the same OperationsLogic as longrun.v1,
// so generic LRO clients see exactly the operations longrun.v1 serves.
#ifndef LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_
#define LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_

#include "google/longrunning/operations.grpc.pb.h"
#include "libs/concurrency/executor.h"
#include "services/api/operations_logic.h"

namespace longrun::api {

class GoogleOperationsService final : public google::longrunning::Operations::CallbackService {
 public:
  GoogleOperationsService(OperationsLogic& logic, concurrency::Executor& executor)
      : logic_(logic), executor_(executor) {}

  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* ctx,
                                         const google::longrunning::GetOperationRequest* request,
                                         google::longrunning::Operation* response) override;

 private:
  OperationsLogic& logic_;
  concurrency::Executor& executor_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_GOOGLE_OPERATIONS_SERVICE_H_
