// CallAuthTable: what the auth interceptor decided for each call in flight, for the handlers.
//
// gRPC's server interceptors (1.51) can inspect a call before its handler runs but cannot
// end it, so enforcement has two halves: the interceptor (auth_interceptor.h) authenticates
// every call of every service, checks the method's scope and records the decision here, and
// rewrites the status of a refused call; every longrun handler starts by asking this table
// for its caller (CallerOf in api_deps.h) and ends at once with the refusal. A call the
// interceptor made no decision for is refused too (fail closed).
#ifndef LONGRUN_SERVICES_API_CALL_AUTH_H_
#define LONGRUN_SERVICES_API_CALL_AUTH_H_

#include <grpcpp/server_context.h>

#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/api/operations_logic.h"

namespace longrun::api {

class CallAuthTable {
 public:
  void Set(const grpc::ServerContextBase* call, absl::StatusOr<Caller> decision);
  void Erase(const grpc::ServerContextBase* call);
  // The decision for `call`; UNAUTHENTICATED if there is none.
  absl::StatusOr<Caller> Get(const grpc::ServerContextBase* call) const;

 private:
  mutable std::mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, absl::StatusOr<Caller>> calls_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_CALL_AUTH_H_
