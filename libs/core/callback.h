// Completion callbacks (webhooks): what a Submit asks for and what the operation reports
// about their delivery. Pure types; validation of the URL against the process's webhook
// policy lives in libs/webhook (it needs the allowed address ranges).
#ifndef LONGRUN_CORE_CALLBACK_H_
#define LONGRUN_CORE_CALLBACK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::core {

// Which changes of an operation are posted to its callback URL.
enum class CallbackEvents : int {
  kTerminal = 1,    // only the change that makes it done ("operation.completed")
  kAllChanges = 2,  // every visible change after Submit ("operation.updated", then completed)
};

// The callback a Submit asked for.
struct CallbackSpec {
  std::string url;
  CallbackEvents events = CallbackEvents::kTerminal;
};

// Values match longrun.v1.CallbackStatus.State.
enum class CallbackState : int {
  kWaiting = 1,    // no change to deliver yet (the operation is not done)
  kPending = 2,    // a delivery is due, in flight or waiting to retry
  kDelivered = 3,  // the receiver answered 2xx
  kDead = 4,       // retries ran out (--webhook-retry-for); RedeliverCallback sends it again
  kGone = 5,       // the receiver answered 410 Gone; nothing more is sent for this operation
};

// "WAITING", "PENDING", ...: the spelling in the database and in logs.
absl::string_view CallbackStateName(CallbackState state);
bool ParseCallbackState(absl::string_view name, CallbackState* state);
absl::string_view CallbackEventsName(CallbackEvents events);  // "TERMINAL" / "ALL_CHANGES"
bool ParseCallbackEvents(absl::string_view name, CallbackEvents* events);

// The delivery state of an operation's callback, as clients see it: the latest delivery
// (the most recent change posted), or kWaiting when there is none yet.
struct CallbackStatus {
  std::string url;
  CallbackEvents events = CallbackEvents::kTerminal;
  CallbackState state = CallbackState::kWaiting;
  int32_t attempts = 0;          // HTTP attempts of the latest delivery
  int32_t last_http_status = 0;  // 0: no answer (connect error, refused address, timeout)
  std::string last_error;        // why the last attempt failed; "" after a success
  std::string webhook_id;        // the latest delivery's webhook-id header ("msg_...")
  std::optional<absl::Time> last_attempt_time;
  std::optional<absl::Time> next_attempt_time;  // set while kPending
};

}  // namespace longrun::core

#endif  // LONGRUN_CORE_CALLBACK_H_
