// Conversions between longrun's core model and its protobuf wire types.
#ifndef LONGRUN_RPC_CONVERT_H_
#define LONGRUN_RPC_CONVERT_H_

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

// Proto well-known types. FromProto* reject out-of-range encodings, naming `field`.
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
void ToProto(absl::Duration d, google::protobuf::Duration* out);
absl::StatusOr<absl::Time> FromProtoTimestamp(const google::protobuf::Timestamp& t,
                                              absl::string_view field);
absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& d,
                                                 absl::string_view field);

}  // namespace longrun::rpc

#endif  // LONGRUN_RPC_CONVERT_H_
