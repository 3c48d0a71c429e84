// WatchLimits: how many WatchOperation streams one tenant may hold open at once on this api
// (--max-watches-per-tenant). Each stream also ends after --max-watch-duration (the
// WatchReactor's hub deadline), so a stream is never held forever.
#ifndef LONGRUN_SERVICES_API_WATCH_LIMITS_H_
#define LONGRUN_SERVICES_API_WATCH_LIMITS_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace longrun::api {

class WatchLimits {
 public:
  explicit WatchLimits(int64_t per_tenant) : per_tenant_(per_tenant) {}
  // False when the tenant already holds the maximum (0: no maximum).
  bool Acquire(absl::string_view tenant);
  void Release(absl::string_view tenant);
  int64_t per_tenant() const { return per_tenant_; }

 private:
  const int64_t per_tenant_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, int64_t> open_;
};

// Takes one of `tenant`'s streams from `limits` (nullptr: no cap). true: one was taken (give
// it back with Release when the stream ends); false: there is no cap. RESOURCE_EXHAUSTED
// naming --max-watches-per-tenant when the tenant is at the cap; `instead` (optional) ends
// the message with what to do instead.
absl::StatusOr<bool> AcquireWatch(WatchLimits* limits, absl::string_view tenant,
                                  absl::string_view instead = "");

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_WATCH_LIMITS_H_
