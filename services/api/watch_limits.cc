#include "services/api/watch_limits.h"

#include "absl/strings/str_cat.h"

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

absl::StatusOr<bool> AcquireWatch(WatchLimits* limits, absl::string_view tenant,
                                  absl::string_view instead) {
  if (limits == nullptr) return false;
  if (!limits->Acquire(tenant)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "tenant \"", tenant, "\" already has ", limits->per_tenant(),
        " watch streams open on this server (--max-watches-per-tenant); close one",
        instead.empty() ? "" : ", or ", instead));
  }
  return true;
}

}  // namespace longrun::api
