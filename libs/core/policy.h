// Timing policies: when a client should poll again, and how long a failed attempt waits
// before the next one.
#ifndef LONGRUN_CORE_POLICY_H_
#define LONGRUN_CORE_POLICY_H_

#include <cstdint>
#include <optional>

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

// The retry decision after attempt `attempt` of `max_attempts` failed with `code`: the
// delay before the next attempt (RetryDelay), or nullopt to fail for good (a permanent
// code, no attempt left, or the worker said the error is not retryable). The one rule for
// native and remote workers alike.
std::optional<absl::Duration> RetryAfterFailure(const RetryPolicy& policy, absl::StatusCode code,
                                                int32_t attempt, int32_t max_attempts,
                                                absl::BitGenRef gen, bool retryable = true);

// Why an attempt that overran its timeout failed (DEADLINE_EXCEEDED).
absl::Status AttemptTimedOut(int32_t attempt);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_POLICY_H_
