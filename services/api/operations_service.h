// longrun.v1.Operations over the callback API. Each method validates what only the wire
// can tell, then hands the work to OperationsLogic on the executor.
#ifndef LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_
#define LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_

#include "libs/concurrency/executor.h"
#include "longrun/v1/operations.grpc.pb.h"
#include "services/api/operations_logic.h"

namespace longrun::api {

class OperationsService final : public longrun::v1::Operations::CallbackService {
 public:
  OperationsService(OperationsLogic& logic, concurrency::Executor& executor)
      : logic_(logic), executor_(executor) {}

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   const longrun::v1::SubmitRequest* request,
                                   google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* ctx,
                                         const longrun::v1::GetOperationRequest* request,
                                         google::longrunning::Operation* response) override;

 private:
  OperationsLogic& logic_;
  concurrency::Executor& executor_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_
