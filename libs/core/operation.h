// The operation model shared by every layer: states, the record clients see, and the
// rules about which states are terminal.
//
// Pure code: no I/O, no gRPC, no SQL. It uses google::protobuf::Struct for job input and
// output so the worker and the store pass payloads without converting them.
#ifndef LONGRUN_CORE_OPERATION_H_
#define LONGRUN_CORE_OPERATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/core/callback.h"

namespace longrun::core {

// Values match longrun.v1.OperationMetadata.State so conversion is a cast.
enum class State : int {
  kQueued = 1,
  kRunning = 2,
  kRetryWait = 3,
  kCancelling = 4,
  kSucceeded = 5,
  kFailed = 6,
  kCancelled = 7,
};

// "QUEUED", "RUNNING", ...: the spelling used in the database enum and in filters.
absl::string_view StateName(State state);
absl::StatusOr<State> ParseState(absl::string_view name);
// SUCCEEDED, FAILED and CANCELLED never change again.
bool IsTerminal(State state);

// A failure recorded on an operation: a canonical code (absl::StatusCode value) and message.
struct OperationError {
  int code = 0;
  std::string message;
};

// One finished attempt: who ran it, when, and how it ended.
struct AttemptRecord {
  int32_t attempt = 0;
  std::string worker_id;
  std::optional<absl::Time> start_time;
  absl::Time end_time = absl::InfinitePast();
  std::string outcome;  // SUCCEEDED, FAILED, CANCELLED, LEASE_EXPIRED
  std::optional<OperationError> error;
};

// What clients see about an operation (everything but its input).
struct Operation {
  std::string id;  // UUID text, lower case
  std::string tenant;
  std::string kind;
  std::string queue;
  State state = State::kQueued;
  int32_t priority = 0;
  int32_t attempt = 0;
  int32_t max_attempts = 0;
  std::optional<absl::Duration> timeout;
  int32_t progress_percent = 0;
  std::string progress_message;
  std::string request_id;
  std::string trace_id;  // W3C trace id, 32 hex digits ("" for operations from before 0007)
  std::map<std::string, std::string> labels;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  absl::Time run_at = absl::InfinitePast();  // earliest start of the next attempt
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  int64_t version = 0;
  std::optional<google::protobuf::Struct> response;  // set when SUCCEEDED
  std::optional<OperationError> error;                // set when FAILED or CANCELLED
  std::vector<AttemptRecord> attempts;                 // finished attempts, oldest first
  std::optional<CallbackStatus> callback;              // set when Submit asked for one

  bool done() const { return IsTerminal(state); }
};

}  // namespace longrun::core

#endif  // LONGRUN_CORE_OPERATION_H_
