#include "libs/common/backoff.h"

#include <algorithm>

#include "libs/common/check.h"

namespace longrun {

Backoff::Backoff(BackoffConfig config) : Backoff(config, std::random_device{}()) {}

Backoff::Backoff(BackoffConfig config, uint64_t seed)
    : config_(config), nominal_(config.initial), random_(seed) {
  LONGRUN_CHECK(config_.initial > absl::ZeroDuration());
  LONGRUN_CHECK(config_.max >= config_.initial);
  LONGRUN_CHECK(config_.multiplier >= 1.0);
  LONGRUN_CHECK(config_.jitter >= 0.0 && config_.jitter <= 1.0);
}

absl::Duration Backoff::Next() {
  const absl::Duration nominal = nominal_;
  nominal_ = std::min(nominal_ * config_.multiplier, config_.max);
  // A uniform fraction in [0, 1) from the top 53 bits, the same on every platform.
  const double fraction = static_cast<double>(random_() >> 11) * 0x1.0p-53;
  return nominal * (1.0 - config_.jitter * fraction);
}

}  // namespace longrun
