// A validated Submit request in core terms, its limits, and its idempotency fingerprint.
#ifndef LONGRUN_CORE_SUBMIT_H_
#define LONGRUN_CORE_SUBMIT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/core/callback.h"

namespace longrun::core {

struct SubmitLimits {
  int64_t max_input_bytes = 1 << 20;  // 1 MiB of serialized input
  int32_t default_max_attempts = 5;
  int32_t max_max_attempts = 100;
  int32_t min_priority = -1000;
  int32_t max_priority = 1000;
  absl::Duration min_timeout = absl::Milliseconds(100);
  absl::Duration max_timeout = absl::Hours(24 * 7);
  absl::Duration max_schedule_ahead = absl::Hours(24 * 365);
  int max_labels = 64;
  int max_label_value_bytes = 256;
};

inline constexpr absl::string_view kDefaultQueue = "default";
inline constexpr absl::string_view kDefaultTenant = "default";

// Fields as the client sent them (empty / zero / nullopt where unset).
struct SubmitSpec {
  std::string kind;
  google::protobuf::Struct input;
  std::string request_id;
  std::string queue;
  int32_t priority = 0;
  int32_t max_attempts = 0;
  std::optional<absl::Duration> timeout;
  std::optional<absl::Time> schedule_time;
  std::map<std::string, std::string> labels;
  // Where to post changes (validated by the api against its webhook policy, not here).
  std::optional<CallbackSpec> callback;
  // W3C trace id (core/trace.h), set by the api; not part of the request's identity (a
  // retried Submit with another traceparent is still the same request).
  std::string trace_id;
};

// Job input nests objects and lists at most this many levels deep: `{}` is one level,
// `{"a": [{}]}` three. Protobuf parsers refuse messages nested deeper than their recursion
// limit (100 by default), and one object level costs three levels of it (Struct, map entry,
// Value). 33 levels are the most a SubmitRequest can carry under that limit; at 32 an input,
// or a result that echoes it, still parses with default settings when it sits up to five
// message levels below the top (a request field, a task in a worker protocol, ...).
inline constexpr int kMaxInputDepth = 32;

// INVALID_ARGUMENT "input: objects and lists nest more than 32 levels deep; the limit is 32".
absl::Status InputTooDeepError();

// True if, in the serialized message `message` (e.g. a SubmitRequest), a google.protobuf.Struct
// in field number `input_field` nests objects and lists more than kMaxInputDepth levels
// deep. It reads the wire format without recursion and without building messages, so it can
// say why a parser with a recursion limit refused a request; malformed bytes are read as far
// as they go.
bool SerializedInputTooDeep(absl::string_view message, int input_field);

// Checks every field against `limits`; the error is INVALID_ARGUMENT naming the field.
// `now` bounds schedule_time.
absl::Status ValidateSubmit(const SubmitSpec& spec, const SubmitLimits& limits, absl::Time now);

// True for [a-z0-9][a-z0-9._-]{0,63} (job kinds and queue names).
bool IsValidKind(absl::string_view kind);
// OK for a valid kind or queue name, else INVALID_ARGUMENT "<field>: "<value>" must match ...".
absl::Status ValidateKindName(absl::string_view field, absl::string_view value);
// True for [a-z][a-z0-9_-]{0,62}.
bool IsValidLabelKey(absl::string_view key);

// Hex SHA-256 over a deterministic encoding of every semantic field except request_id, so
// "same request" means same kind, input, queue, priority, attempts, timeout, schedule and
// labels. Defaults are applied first (queue "" and "default" are the same request).
std::string SubmitFingerprint(const SubmitSpec& spec, const SubmitLimits& limits);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_SUBMIT_H_
