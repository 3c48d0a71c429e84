// absl::Status -> grpc::Status: the one place longrun crosses from its own errors to the wire.
// Codes map 1:1 by value.
#ifndef LONGRUN_RPC_GRPC_STATUS_H_
#define LONGRUN_RPC_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace longrun::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace longrun::rpc

#endif  // LONGRUN_RPC_GRPC_STATUS_H_
