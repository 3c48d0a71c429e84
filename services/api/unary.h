// Shared RPC bodies. Each runs its blocking work on the executor and finishes the reactor
// from there, so gRPC callback threads never wait on the database. Both longrun.v1 and the
// google.longrunning adapter call these, so the two services cannot drift apart.
#ifndef LONGRUN_SERVICES_API_UNARY_H_
#define LONGRUN_SERVICES_API_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "google/longrunning/operations.pb.h"
#include "libs/concurrency/executor.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/grpc_status.h"
#include "services/api/api_deps.h"
#include "services/api/call_auth.h"
#include "services/api/operations_logic.h"
#include "services/api/watch_reactor.h"

namespace longrun::api {

// Ends the call now with `status` (a refusal, bad input).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(rpc::ToGrpcStatus(status));
  return reactor;
}

// fn: (const Caller&) -> absl::Status, run on `executor` for the call's caller (`auth`, see
// call_auth.h; a refused call ends at once with the refusal); its result finishes the call.
template <typename Fn>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, const CallAuthTable* auth,
                                   concurrency::Executor& executor, Fn fn) {
  absl::StatusOr<Caller> caller = CallerOf(auth, ctx);
  if (!caller.ok()) return FinishNow(ctx, caller.status());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool posted = executor.Post([reactor, fn = std::move(fn), caller = *std::move(caller)]() mutable {
    reactor->Finish(rpc::ToGrpcStatus(fn(caller)));
  });
  if (!posted) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server is overloaded or shutting down; retry with backoff"));
  }
  return reactor;
}

// Writes `op` into `response` and, while not done, the "retry-after" response header
// (whole seconds, at least 1), as HTTP's Retry-After suggests when to ask again.
void RespondWithOperation(grpc::CallbackServerContext* ctx, const core::Operation& op,
                          absl::Time now, google::longrunning::Operation* response);

// WaitOperation, for either service.
grpc::ServerUnaryReactor* HandleWaitOperation(grpc::CallbackServerContext* ctx, const ApiDeps& deps,
                                              const std::string& name, bool has_timeout,
                                              const google::protobuf::Duration& timeout,
                                              google::longrunning::Operation* response);

// ListOperations, for either service (the two response types have the same shape).
template <typename Response>
grpc::ServerUnaryReactor* HandleListOperations(grpc::CallbackServerContext* ctx,
                                               const ApiDeps& deps, ListRequest request,
                                               Response* response) {
  OperationsLogic& logic = deps.logic;
  return RunUnary(ctx, deps.auth, deps.executor,
                  [&logic, request = std::move(request), response](const Caller& caller) -> absl::Status {
    absl::StatusOr<ListResult> result = logic.List(caller, request);
    if (!result.ok()) return result.status();
    const absl::Time now = logic.Now();
    for (const core::Operation& op : result->operations) {
      *response->add_operations() = rpc::ToProto(op, now);
    }
    response->set_next_page_token(result->next_page_token);
    return absl::OkStatus();
  });
}

// GetOperation, for either service.
grpc::ServerUnaryReactor* HandleGetOperation(grpc::CallbackServerContext* ctx,
                                             const ApiDeps& deps, const std::string& name,
                                             google::longrunning::Operation* response);

// CancelOperation and DeleteOperation, for either service (`response`: nullptr for Delete's
// Empty, the operation for longrun.v1's Cancel, nullptr for google.longrunning's Empty).
grpc::ServerUnaryReactor* HandleCancelOperation(grpc::CallbackServerContext* ctx,
                                                const ApiDeps& deps, const std::string& name,
                                                google::longrunning::Operation* response);
// RedeliverCallback (longrun.v1 only).
grpc::ServerUnaryReactor* HandleRedeliverCallback(grpc::CallbackServerContext* ctx,
                                                  const ApiDeps& deps, const std::string& name,
                                                  google::longrunning::Operation* response);
grpc::ServerUnaryReactor* HandleDeleteOperation(grpc::CallbackServerContext* ctx,
                                                const ApiDeps& deps, const std::string& name);

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_UNARY_H_
