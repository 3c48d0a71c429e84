// longrun.v1.Operations over the callback API. Each method validates what only the wire
// can tell, then hands the work to OperationsLogic on the executor (or to the watch hub).
#ifndef LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_
#define LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_

#include "longrun/v1/operations.grpc.pb.h"
#include "services/api/watch_reactor.h"

namespace longrun::api {

// Submit is a raw method: it parses its own request (rpc::ParseSubmitRequest), so input
// nested too deep gets INVALID_ARGUMENT naming the limit instead of the UNIMPLEMENTED with an
// empty message that gRPC's generated handler answers when protobuf refuses to parse.
class OperationsService final
    : public longrun::v1::Operations::WithRawCallbackMethod_Submit<
          longrun::v1::Operations::CallbackService> {
 public:
  explicit OperationsService(ApiDeps deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* ctx,
                                         const longrun::v1::GetOperationRequest* request,
                                         google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* WaitOperation(grpc::CallbackServerContext* ctx,
                                          const longrun::v1::WaitOperationRequest* request,
                                          google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* ListOperations(grpc::CallbackServerContext* ctx,
                                           const longrun::v1::ListOperationsRequest* request,
                                           longrun::v1::ListOperationsResponse* response) override;
  grpc::ServerUnaryReactor* CancelOperation(grpc::CallbackServerContext* ctx,
                                            const longrun::v1::CancelOperationRequest* request,
                                            google::longrunning::Operation* response) override;
  grpc::ServerUnaryReactor* DeleteOperation(grpc::CallbackServerContext* ctx,
                                            const longrun::v1::DeleteOperationRequest* request,
                                            google::protobuf::Empty* response) override;
  grpc::ServerWriteReactor<google::longrunning::Operation>* WatchOperation(
      grpc::CallbackServerContext* ctx,
      const longrun::v1::WatchOperationRequest* request) override;
  grpc::ServerUnaryReactor* RedeliverCallback(
      grpc::CallbackServerContext* ctx, const longrun::v1::RedeliverCallbackRequest* request,
      google::longrunning::Operation* response) override;
  grpc::ServerWriteReactor<longrun::v1::OperationEvent>* WatchOperations(
      grpc::CallbackServerContext* ctx,
      const longrun::v1::WatchOperationsRequest* request) override;

 private:
  ApiDeps deps_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_OPERATIONS_SERVICE_H_
