#include "services/api/watch_limits.h"

namespace longrun::api {

bool WatchLimits::Acquire(absl::string_view tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& n = open_[tenant];
  if (per_tenant_ > 0 && n >= per_tenant_) {
    if (n == 0) open_.erase(std::string(tenant));
    return false;
  }
  ++n;
  return true;
}

void WatchLimits::Release(absl::string_view tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(tenant);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace longrun::api
