#include "services/api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace longrun::api {

absl::StatusOr<RateLimit> RateLimit::Parse(absl::string_view text, absl::string_view flag) {
  if (text == "0" || text == "off") return RateLimit{};
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  RateLimit limit;
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " \"", text, "\" must be RATE[,BURST] (calls per second per tenant, and "
        "how many may come at once), e.g. 100,200, or 0 for no limit"));
  };
  if (parts.size() > 2 || !absl::SimpleAtod(parts[0], &limit.rate) || !(limit.rate > 0) ||
      !std::isfinite(limit.rate)) {
    return bad();
  }
  limit.burst = std::max(1.0, limit.rate);
  if (parts.size() == 2 &&
      (!absl::SimpleAtod(parts[1], &limit.burst) || !(limit.burst >= 1) ||
       !std::isfinite(limit.burst))) {
    return bad();
  }
  return limit;
}

std::string RateLimit::ToString() const {
  return unlimited() ? "0" : absl::StrCat(rate, ",", burst);
}

std::optional<absl::Duration> TenantRateLimiter::Take(absl::string_view tenant) {
  if (limit_.unlimited()) return std::nullopt;
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  DropFullLocked(now);
  auto [it, added] = buckets_.try_emplace(tenant, Bucket{limit_.burst, now});
  Bucket& b = it->second;
  if (!added) {
    const double refill = absl::ToDoubleSeconds(now - b.updated) * limit_.rate;
    b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, refill));
    b.updated = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return absl::Seconds((1 - b.tokens) / limit_.rate);
}

void TenantRateLimiter::DropFullLocked(absl::Time now) {
  // Once per refill time of a whole bucket: a bucket untouched that long is full, which is
  // what a new one starts as, so forgetting it changes nothing.
  const absl::Duration full = absl::Seconds(limit_.burst / limit_.rate);
  if (now - last_sweep_ < std::max(full, absl::Seconds(1))) return;
  last_sweep_ = now;
  absl::erase_if(buckets_, [&](const auto& entry) { return now - entry.second.updated >= full; });
}

size_t TenantRateLimiter::BucketsForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace longrun::api
