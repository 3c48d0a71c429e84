#include "libs/core/operation.h"

#include "absl/strings/str_cat.h"

namespace longrun::core {

absl::string_view StateName(State state) {
  switch (state) {
    case State::kQueued: return "QUEUED";
    case State::kRunning: return "RUNNING";
    case State::kRetryWait: return "RETRY_WAIT";
    case State::kCancelling: return "CANCELLING";
    case State::kSucceeded: return "SUCCEEDED";
    case State::kFailed: return "FAILED";
    case State::kCancelled: return "CANCELLED";
  }
  return "STATE_UNSPECIFIED";
}

absl::StatusOr<State> ParseState(absl::string_view name) {
  for (State s : {State::kQueued, State::kRunning, State::kRetryWait, State::kCancelling,
                  State::kSucceeded, State::kFailed, State::kCancelled}) {
    if (StateName(s) == name) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown state \"", name, "\""));
}

bool IsTerminal(State state) {
  return state == State::kSucceeded || state == State::kFailed || state == State::kCancelled;
}

}  // namespace longrun::core
