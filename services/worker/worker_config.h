// WorkerConfig: everything longrun-worker needs, filled from flags in main.cc.
#ifndef LONGRUN_SERVICES_WORKER_WORKER_CONFIG_H_
#define LONGRUN_SERVICES_WORKER_WORKER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/policy.h"

namespace longrun::worker {

struct WorkerConfig {
  std::string database_url;
  std::string worker_id;               // default: host-pid-random
  int64_t concurrency = 8;             // jobs run at once
  std::vector<std::string> kinds;      // empty: every registered kind
  absl::Duration poll_interval = absl::Seconds(1);  // fallback when no NOTIFY arrives
  absl::Duration lease_duration = absl::Seconds(30);
  absl::Duration shutdown_grace = absl::Seconds(30);
  core::RetryPolicy retry;

  absl::Status Validate() const;
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_WORKER_CONFIG_H_
