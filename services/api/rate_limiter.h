// TenantRateLimiter: a token bucket per tenant (--rate-limit-submit, --rate-limit-read).
//
// Each tenant's bucket holds up to `burst` tokens and refills at `rate` per second; a call
// takes one. A call that finds the bucket empty is refused with the time until a token is
// there (the caller's retry-after). Buckets of tenants idle long enough to be full again
// are dropped, so a stream of new tenant names cannot grow the table without bound.
#ifndef LONGRUN_SERVICES_API_RATE_LIMITER_H_
#define LONGRUN_SERVICES_API_RATE_LIMITER_H_

#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"

namespace longrun::api {

struct RateLimit {
  double rate = 0;   // tokens per second; 0: unlimited
  double burst = 0;  // bucket size (at least 1 when rate > 0)

  bool unlimited() const { return rate <= 0; }
  // "RATE[,BURST]" (BURST defaults to RATE, at least 1), or "0" / "off" for unlimited.
  static absl::StatusOr<RateLimit> Parse(absl::string_view text, absl::string_view flag);
  std::string ToString() const;
};

class TenantRateLimiter {
 public:
  TenantRateLimiter(RateLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  // Takes a token from the tenant's bucket: nullopt if there was one, else how long until
  // there is.
  std::optional<absl::Duration> Take(absl::string_view tenant);

  size_t BucketsForTest();

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void DropFullLocked(absl::Time now);

  const RateLimit limit_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_;
  absl::Time last_sweep_ = absl::InfinitePast();
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_RATE_LIMITER_H_
