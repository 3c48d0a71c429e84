#include "libs/webhook/retry.h"

#include <algorithm>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"

namespace longrun::webhook {

RandomFraction DefaultRandomFraction() {
  struct State {
    std::mutex mu;
    std::mt19937_64 gen{std::random_device{}()};
  };
  auto state = std::make_shared<State>();
  return [state] {
    std::lock_guard<std::mutex> lock(state->mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(state->gen);
  };
}

RetryDecision DecideRetry(const RetryConfig& config, const AttemptAnswer& answer, int attempt,
                          absl::Time now, absl::Time retry_from, const RandomFraction& random) {
  const int status = answer.http_status;
  RetryDecision out;
  if (status >= 200 && status <= 299) {
    out.result = store::DeliveryResult::kDelivered;
    return out;
  }
  if (status == 410) {
    out.result = store::DeliveryResult::kGone;
    out.error = "HTTP 410 Gone: the receiver wants no more deliveries";
    return out;
  }
  if (status == 0) {
    out.error = answer.error.empty() ? "no answer" : answer.error;
  } else if (status >= 300 && status <= 399) {
    out.error = absl::StrCat("HTTP ", status, ": redirect not followed");
  } else {
    out.error = absl::StrCat("HTTP ", status);
  }
  absl::Duration delay;
  if ((status == 429 || status == 503) && answer.retry_after.has_value()) {
    delay = std::clamp(*answer.retry_after, absl::ZeroDuration(), config.cap);
    absl::StrAppend(&out.error, " (Retry-After ", absl::FormatDuration(*answer.retry_after), ")");
  } else {
    absl::Duration ceiling = config.base;
    for (int i = 1; i < attempt && ceiling < config.cap; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, config.cap);
    delay = ceiling * std::clamp(random(), 0.0, 1.0);
  }
  out.next_attempt_time = now + delay;
  if (out.next_attempt_time > retry_from + config.retry_for) {
    out.result = store::DeliveryResult::kDead;
    out.next_attempt_time = absl::InfinitePast();
    absl::StrAppend(&out.error, "; retries ran out after ",
                    absl::FormatDuration(config.retry_for));
    return out;
  }
  out.result = store::DeliveryResult::kRetry;
  return out;
}

}  // namespace longrun::webhook
