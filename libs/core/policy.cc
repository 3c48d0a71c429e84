#include "libs/core/policy.h"

#include "absl/strings/str_cat.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace longrun::core {

absl::Duration SuggestedPollDelay(const Operation& op, absl::Time now) {
  if (op.done()) return absl::ZeroDuration();
  absl::Duration d = std::clamp((now - op.create_time) / 4, absl::Milliseconds(500),
                                absl::Seconds(30));
  if ((op.state == State::kQueued || op.state == State::kRetryWait) && op.run_at > now) {
    d = std::max(d, op.run_at - now);
  }
  return d;
}

absl::Duration RetryDelay(const RetryPolicy& policy, int32_t attempt, absl::BitGenRef gen) {
  absl::Duration ceiling = policy.base;
  for (int32_t i = 1; i < attempt && ceiling < policy.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.cap);
  const int64_t max_us = absl::ToInt64Microseconds(ceiling);
  if (max_us <= 0) return absl::ZeroDuration();
  return absl::Microseconds(absl::Uniform<int64_t>(absl::IntervalClosed, gen, 0, max_us));
}

std::optional<absl::Duration> RetryAfterFailure(const RetryPolicy& policy, absl::StatusCode code,
                                                int32_t attempt, int32_t max_attempts,
                                                absl::BitGenRef gen, bool retryable) {
  if (!retryable || IsPermanentError(code) || attempt >= max_attempts) return std::nullopt;
  return RetryDelay(policy, attempt, gen);
}

absl::Status AttemptTimedOut(int32_t attempt) {
  return absl::DeadlineExceededError(absl::StrCat("attempt ", attempt, " exceeded its timeout"));
}

bool IsPermanentError(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

}  // namespace longrun::core
