#include "libs/rpc/convert.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "libs/core/ids.h"
#include "libs/core/policy.h"

namespace longrun::rpc {
namespace {

// Protobuf recursion a SubmitRequest needs for input one level deeper than allowed: input
// sits one level below the request, and an object level costs three (Struct, map entry,
// Value), a list level two (ListValue, Value). 99, just under protobuf's default of 100.
constexpr int kSubmitRecursionLimit = 3 * (core::kMaxInputDepth + 1);

}  // namespace

absl::StatusOr<longrun::v1::SubmitRequest> ParseSubmitRequest(const grpc::ByteBuffer& bytes) {
  longrun::v1::SubmitRequest request;
  {
    grpc::ByteBuffer shared(bytes);  // references the same slices, copies no bytes
    grpc::ProtoBufferReader reader(&shared);
    google::protobuf::io::CodedInputStream in(&reader);
    in.SetRecursionLimit(kSubmitRecursionLimit);
    if (reader.status().ok() && request.ParseFromCodedStream(&in)) return request;
  }
  // Refused: find out why (rare, so the bytes are flattened here only).
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (core::SerializedInputTooDeep(flat, longrun::v1::SubmitRequest::kInputFieldNumber)) {
    return core::InputTooDeepError();
  }
  return absl::InvalidArgumentError("request: could not be parsed as a longrun.v1.SubmitRequest");
}

absl::Status SerializeToByteBuffer(const google::protobuf::MessageLite& message,
                                   grpc::ByteBuffer* out) {
  bool own_buffer = false;
  const grpc::Status status =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(message, out,
                                                                          &own_buffer);
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("serializing the response: ", status.error_message()));
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --secs;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

absl::StatusOr<absl::Time> FromProtoTimestamp(const google::protobuf::Timestamp& t,
                                              absl::string_view field) {
  // RFC 3339 range the Timestamp type allows: 0001-01-01 .. 9999-12-31.
  if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < -62135596800 ||
      t.seconds() > 253402300799) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid timestamp"));
  }
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& d,
                                                 absl::string_view field) {
  const bool sign_ok = (d.seconds() >= 0 && d.nanos() >= 0) || (d.seconds() <= 0 && d.nanos() <= 0);
  if (d.nanos() < -999999999 || d.nanos() > 999999999 || !sign_ok ||
      d.seconds() < -315576000000 || d.seconds() > 315576000000) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

google::longrunning::Operation ToProto(const core::Operation& op, absl::Time now) {
  google::longrunning::Operation out;
  out.set_name(core::OperationName(op.id));
  out.set_done(op.done());

  longrun::v1::OperationMetadata md;
  md.set_kind(op.kind);
  md.set_state(static_cast<longrun::v1::OperationMetadata::State>(op.state));
  md.set_progress_percent(op.progress_percent);
  md.set_progress_message(op.progress_message);
  md.set_attempt(op.attempt);
  md.set_max_attempts(op.max_attempts);
  ToProto(op.create_time, md.mutable_create_time());
  ToProto(op.update_time, md.mutable_update_time());
  if (op.start_time) ToProto(*op.start_time, md.mutable_start_time());
  if (op.end_time) ToProto(*op.end_time, md.mutable_end_time());
  md.set_request_id(op.request_id);
  md.set_trace_id(op.trace_id);
  md.mutable_labels()->insert(op.labels.begin(), op.labels.end());
  if (!op.done()) ToProto(core::SuggestedPollDelay(op, now), md.mutable_retry_after());
  md.set_queue(op.queue);
  md.set_priority(op.priority);
  if (op.state == core::State::kQueued && op.attempt == 0 && op.run_at > op.create_time) {
    ToProto(op.run_at, md.mutable_schedule_time());
  }
  md.set_version(op.version);
  if (op.timeout) ToProto(*op.timeout, md.mutable_timeout());
  for (const core::AttemptRecord& a : op.attempts) {
    longrun::v1::AttemptRecord* out_a = md.add_attempts();
    out_a->set_attempt(a.attempt);
    out_a->set_worker_id(a.worker_id);
    if (a.start_time) ToProto(*a.start_time, out_a->mutable_start_time());
    ToProto(a.end_time, out_a->mutable_end_time());
    out_a->set_outcome(a.outcome);
    if (a.error) {
      out_a->mutable_error()->set_code(a.error->code);
      out_a->mutable_error()->set_message(a.error->message);
    }
  }
  if (op.callback) {
    const core::CallbackStatus& c = *op.callback;
    longrun::v1::CallbackStatus* out_c = md.mutable_callback();
    out_c->set_url(c.url);
    out_c->set_events(static_cast<longrun::v1::Callback::Events>(c.events));
    out_c->set_state(static_cast<longrun::v1::CallbackStatus::State>(c.state));
    out_c->set_attempts(c.attempts);
    out_c->set_last_http_status(c.last_http_status);
    out_c->set_last_error(c.last_error);
    out_c->set_webhook_id(c.webhook_id);
    if (c.next_attempt_time) ToProto(*c.next_attempt_time, out_c->mutable_next_attempt_time());
    if (c.last_attempt_time) ToProto(*c.last_attempt_time, out_c->mutable_last_attempt_time());
  }
  out.mutable_metadata()->PackFrom(md);

  if (op.done()) {
    if (op.state == core::State::kSucceeded) {
      out.mutable_response()->PackFrom(op.response.value_or(google::protobuf::Struct()));
    } else {
      const core::OperationError err =
          op.error.value_or(core::OperationError{op.state == core::State::kCancelled ? 1 : 2, ""});
      out.mutable_error()->set_code(err.code);
      out.mutable_error()->set_message(err.message);
    }
  }
  return out;
}

absl::StatusOr<core::SubmitSpec> FromProto(const longrun::v1::SubmitRequest& r) {
  core::SubmitSpec spec;
  spec.kind = r.kind();
  spec.input = r.input();
  spec.request_id = r.request_id();
  spec.queue = r.queue();
  spec.priority = r.priority();
  spec.max_attempts = r.max_attempts();
  if (r.has_timeout()) {
    auto d = FromProtoDuration(r.timeout(), "timeout");
    if (!d.ok()) return d.status();
    spec.timeout = *d;
  }
  if (r.has_schedule_time()) {
    auto t = FromProtoTimestamp(r.schedule_time(), "schedule_time");
    if (!t.ok()) return t.status();
    spec.schedule_time = *t;
  }
  spec.labels.insert(r.labels().begin(), r.labels().end());
  if (r.has_callback()) {
    core::CallbackSpec cb{.url = r.callback().url()};
    switch (r.callback().events()) {
      case longrun::v1::Callback::EVENTS_UNSPECIFIED:
      case longrun::v1::Callback::TERMINAL:
        cb.events = core::CallbackEvents::kTerminal;
        break;
      case longrun::v1::Callback::ALL_CHANGES:
        cb.events = core::CallbackEvents::kAllChanges;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("callback.events: ", r.callback().events(),
                         " is not TERMINAL (1) or ALL_CHANGES (2)"));
    }
    spec.callback = std::move(cb);
  }
  return spec;
}

}  // namespace longrun::rpc
