#include "services/api/operations_service.h"

#include "absl/random/random.h"
#include "libs/common/status_macros.h"
#include "libs/core/trace.h"
#include "libs/rpc/convert.h"
#include "services/api/event_stream.h"
#include "services/api/unary.h"

namespace longrun::api {

grpc::ServerUnaryReactor* OperationsService::Submit(grpc::CallbackServerContext* ctx,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  // Group commit: parsing and validation here (CPU only), the insert in the batcher's next
  // batch.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<store::OperationInsertParams> params = [&]() -> decltype(params) {
    LONGRUN_ASSIGN_OR_RETURN(const Caller caller, CallerOf(deps_.auth, ctx));
    LONGRUN_ASSIGN_OR_RETURN(const longrun::v1::SubmitRequest parsed,
                             rpc::ParseSubmitRequest(*request));
    LONGRUN_ASSIGN_OR_RETURN(core::SubmitSpec spec, rpc::FromProto(parsed));
    // W3C trace context: join the caller's trace, or start one (an invalid traceparent is
    // ignored, as the spec asks of a receiver).
    std::string traceparent;
    if (auto it = ctx->client_metadata().find("traceparent"); it != ctx->client_metadata().end()) {
      traceparent.assign(it->second.data(), it->second.size());
    }
    thread_local absl::BitGen gen;
    spec.trace_id = core::TraceIdForSubmit(traceparent, gen);
    return deps_.logic.PrepareSubmit(caller, spec);
  }();
  if (!params.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(params.status()));
    return reactor;
  }
  const bool queued = deps_.submit_batcher.Enqueue(
      *std::move(params),
      [this, ctx, reactor, response](absl::StatusOr<store::OperationInsertResult> result) {
        absl::StatusOr<core::Operation> op = OperationsLogic::SubmitResult(std::move(result));
        absl::Status status = op.status();
        if (op.ok()) {
          google::longrunning::Operation out;
          RespondWithOperation(ctx, *op, deps_.logic.Now(), &out);
          status = rpc::SerializeToByteBuffer(out, response);
        }
        reactor->Finish(rpc::ToGrpcStatus(status));
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server is overloaded or shutting down; retry with backoff"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* OperationsService::GetOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::GetOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleGetOperation(ctx, deps_, request->name(), response);
}

grpc::ServerUnaryReactor* OperationsService::WaitOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::WaitOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleWaitOperation(ctx, deps_, request->name(), request->has_timeout(),
                             request->timeout(), response);
}

grpc::ServerUnaryReactor* OperationsService::ListOperations(
    grpc::CallbackServerContext* ctx, const longrun::v1::ListOperationsRequest* request,
    longrun::v1::ListOperationsResponse* response) {
  return HandleListOperations(ctx, deps_,
                              {request->name(), request->filter(), request->page_size(),
                               request->page_token()},
                              response);
}

grpc::ServerUnaryReactor* OperationsService::CancelOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::CancelOperationRequest* request,
    google::longrunning::Operation* response) {
  return HandleCancelOperation(ctx, deps_, request->name(), response);
}

grpc::ServerUnaryReactor* OperationsService::DeleteOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::DeleteOperationRequest* request,
    google::protobuf::Empty*) {
  return HandleDeleteOperation(ctx, deps_, request->name());
}

grpc::ServerWriteReactor<google::longrunning::Operation>* OperationsService::WatchOperation(
    grpc::CallbackServerContext* ctx, const longrun::v1::WatchOperationRequest* request) {
  return new WatchReactor(deps_, CallerOf(deps_.auth, ctx), request->name());
}

grpc::ServerUnaryReactor* OperationsService::RedeliverCallback(
    grpc::CallbackServerContext* ctx, const longrun::v1::RedeliverCallbackRequest* request,
    google::longrunning::Operation* response) {
  return HandleRedeliverCallback(ctx, deps_, request->name(), response);
}

grpc::ServerWriteReactor<longrun::v1::OperationEvent>* OperationsService::WatchOperations(
    grpc::CallbackServerContext* ctx, const longrun::v1::WatchOperationsRequest* request) {
  if (deps_.event_poller == nullptr) {
    // Not reached in longrun-api (it always has an event log); kept for embedders.
    class Refused : public grpc::ServerWriteReactor<longrun::v1::OperationEvent> {
     public:
      Refused() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no event log")); }
      void OnDone() override { delete this; }
    };
    return new Refused();
  }
  return new EventsReactor(deps_, *deps_.event_poller, CallerOf(deps_.auth, ctx), *request);
}

}  // namespace longrun::api
