// Timing policies: when a client should poll again, and how long a failed attempt waits
// before the next one.
#ifndef LONGRUN_CORE_POLICY_H_
#define LONGRUN_CORE_POLICY_H_

#include <cstdint>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"

namespace longrun::core {

// Suggested delay before the next GetOperation of a not-done operation: a quarter of its
// age, clamped to [0.5s, 30s], and never before a scheduled start. Zero when done.
absl::Duration SuggestedPollDelay(const Operation& op, absl::Time now);

struct RetryPolicy {
  absl::Duration base = absl::Seconds(1);
  absl::Duration cap = absl::Minutes(5);
};

// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
// `attempt` is the attempt that just failed (1-based).
absl::Duration RetryDelay(const RetryPolicy& policy, int32_t attempt, absl::BitGenRef gen);

// Handler errors with these codes are not retried: the input or the world must change first.
bool IsPermanentError(absl::StatusCode code);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_POLICY_H_
