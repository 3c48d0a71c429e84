// What one delivery attempt's answer means: delivered, gone, retry at a time, or dead.
//
//  - 2xx: delivered.
//  - 410 Gone: gone (nothing more is sent to this URL for the operation).
//  - anything else is a failed attempt: 3xx ("redirect not followed": redirects are never
//    followed, but the receiver may be fixed), other 4xx and 5xx, no answer at all
//    (connect error, timeout, TLS failure) and a refused address. It is retried after an
//    exponential back-off with full jitter, uniform(0, min(cap, base * 2^(attempt-1))),
//    except that a Retry-After on 429 or 503 is used as given (bounded by cap);
//  - dead instead when that next attempt would fall after retry_from + retry_for.
#ifndef LONGRUN_WEBHOOK_RETRY_H_
#define LONGRUN_WEBHOOK_RETRY_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "libs/store/callback_store.h"

namespace longrun::webhook {

struct RetryConfig {
  absl::Duration base = absl::Seconds(5);   // --webhook-retry-base
  absl::Duration cap = absl::Hours(1);      // --webhook-retry-cap
  absl::Duration retry_for = absl::Hours(24);  // --webhook-retry-for
};

struct AttemptAnswer {
  int http_status = 0;  // 0: no answer
  std::optional<absl::Duration> retry_after;
  std::string error;    // why there was no answer (or the address was refused)
};

struct RetryDecision {
  store::DeliveryResult result = store::DeliveryResult::kRetry;
  std::string error;                                    // "" when delivered
  absl::Time next_attempt_time = absl::InfinitePast();  // for kRetry
};

// A uniform random fraction in [0, 1).
using RandomFraction = std::function<double()>;
// Seeded from std::random_device; thread-safe.
RandomFraction DefaultRandomFraction();

// `attempt` counts from 1 (the attempt that just ended); `retry_from` starts the window.
RetryDecision DecideRetry(const RetryConfig& config, const AttemptAnswer& answer, int attempt,
                          absl::Time now, absl::Time retry_from, const RandomFraction& random);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_RETRY_H_
