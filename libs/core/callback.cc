#include "libs/core/callback.h"

namespace longrun::core {

absl::string_view CallbackStateName(CallbackState state) {
  switch (state) {
    case CallbackState::kWaiting:
      return "WAITING";
    case CallbackState::kPending:
      return "PENDING";
    case CallbackState::kDelivered:
      return "DELIVERED";
    case CallbackState::kDead:
      return "DEAD";
    case CallbackState::kGone:
      return "GONE";
  }
  return "WAITING";
}

bool ParseCallbackState(absl::string_view name, CallbackState* state) {
  for (CallbackState s : {CallbackState::kWaiting, CallbackState::kPending,
                          CallbackState::kDelivered, CallbackState::kDead, CallbackState::kGone}) {
    if (CallbackStateName(s) == name) {
      *state = s;
      return true;
    }
  }
  return false;
}

absl::string_view CallbackEventsName(CallbackEvents events) {
  return events == CallbackEvents::kAllChanges ? "ALL_CHANGES" : "TERMINAL";
}

bool ParseCallbackEvents(absl::string_view name, CallbackEvents* events) {
  if (name == "TERMINAL") {
    *events = CallbackEvents::kTerminal;
    return true;
  }
  if (name == "ALL_CHANGES") {
    *events = CallbackEvents::kAllChanges;
    return true;
  }
  return false;
}

}  // namespace longrun::core
