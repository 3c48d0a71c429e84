// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace an operation belongs
// to. longrun propagates trace ids; it does not export spans.
//
// A Submit whose gRPC metadata carries a valid `traceparent` joins that trace; otherwise (no
// header, or one the spec says to ignore) longrun starts a new trace, as the spec asks of a
// receiver. The id is stored with the operation (OperationMetadata.trace_id), handed to the
// handler (JobContext::trace_id(), remote workers' Job.trace_id) and logged on the lines
// about the job.
#ifndef LONGRUN_CORE_TRACE_H_
#define LONGRUN_CORE_TRACE_H_

#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"

namespace longrun::core {

// The trace id (32 lower-case hex digits) of a valid traceparent header value, or nullopt
// for one the spec says to ignore: wrong shape or length, upper-case hex, version ff, an
// all-zero trace or parent id, or a version-00 header with anything after the flags.
// Versions above 00 are read by their first four fields, as the spec asks.
std::optional<std::string> TraceIdFromTraceparent(absl::string_view traceparent);

// A new random trace id (32 lower-case hex digits, never all zeros).
std::string NewTraceId(absl::BitGenRef gen);

// The trace id for a Submit: the traceparent's, or a new one.
std::string TraceIdForSubmit(absl::string_view traceparent, absl::BitGenRef gen);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_TRACE_H_
