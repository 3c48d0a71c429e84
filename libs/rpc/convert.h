// Conversions between longrun's core model and its protobuf wire types.
#ifndef LONGRUN_RPC_CONVERT_H_
#define LONGRUN_RPC_CONVERT_H_

#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/longrunning/operations.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/core/operation.h"
#include "libs/core/submit.h"
#include "longrun/v1/operations.pb.h"

namespace longrun::rpc {

// The wire form of an operation. `now` sets the suggested poll delay of a not-done one.
google::longrunning::Operation ToProto(const core::Operation& op, absl::Time now);

// Fields as sent; checks only what cannot be represented (malformed Duration/Timestamp).
// Range and format rules are core::ValidateSubmit's.
absl::StatusOr<core::SubmitSpec> FromProto(const longrun::v1::SubmitRequest& request);

// A SubmitRequest as the raw Submit handler receives it. gRPC's generated handler would
// refuse input nested past protobuf's recursion limit before our code runs and answer
// UNIMPLEMENTED with an empty message. This parses with a recursion limit that admits input
// one level deeper than core::kMaxInputDepth (so core::ValidateSubmit reports it like any
// rule), and when the parse fails it answers INVALID_ARGUMENT: core::InputTooDeepError() if
// the input nests deeper still, else that the bytes are not a SubmitRequest.
absl::StatusOr<longrun::v1::SubmitRequest> ParseSubmitRequest(const grpc::ByteBuffer& bytes);

// Serializes `message` as a raw handler's response.
absl::Status SerializeToByteBuffer(const google::protobuf::MessageLite& message,
                                   grpc::ByteBuffer* out);

// Proto well-known types. FromProto* reject out-of-range encodings, naming `field`.
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
void ToProto(absl::Duration d, google::protobuf::Duration* out);
absl::StatusOr<absl::Time> FromProtoTimestamp(const google::protobuf::Timestamp& t,
                                              absl::string_view field);
absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& d,
                                                 absl::string_view field);

}  // namespace longrun::rpc

#endif  // LONGRUN_RPC_CONVERT_H_
