// WorkerConfig: everything a worker process needs, filled from flags in main.cc. The Worker
// splits it into the small configs of its loops.
#ifndef LONGRUN_WORKER_WORKER_CONFIG_H_
#define LONGRUN_WORKER_WORKER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/policy.h"

namespace longrun::worker {

struct WorkerConfig {
  std::string database_url;
  std::string worker_id;                            // default: host-pid-random
  int64_t concurrency = 8;                          // jobs run at once
  std::vector<std::string> kinds;                   // empty: every registered kind
  std::vector<std::string> queues;                  // empty: every queue
  absl::Duration poll_interval = absl::Seconds(1);  // claim at least this often (retries and
                                                    // scheduled jobs get no NOTIFY)
  absl::Duration lease_duration = absl::Seconds(30);
  absl::Duration shutdown_grace = absl::Seconds(30);
  absl::Duration heartbeat_interval = absl::ZeroDuration();  // zero: lease_duration / 3
  absl::Duration rescue_interval = absl::Seconds(5);
  absl::Duration schedule_to_start = absl::Hours(24);  // zero: never fail unstarted jobs
  absl::Duration prune_interval = absl::Minutes(1);
  absl::Duration retain_succeeded = absl::Hours(24 * 7);
  absl::Duration retain_failed = absl::Hours(24 * 30);
  absl::Duration retain_cancelled = absl::Hours(24 * 7);
  // Progress of one attempt is written at most this often (the latest value wins).
  absl::Duration progress_interval = absl::Milliseconds(250);
  core::RetryPolicy retry;
  // Test hook (environment LONGRUN_TEST_DISABLE_HEARTBEATS=1, not a flag): never extend
  // leases, so jobs outliving their lease are rescued and re-run.
  bool disable_heartbeats_for_test = false;

  absl::Duration EffectiveHeartbeatInterval() const {
    return heartbeat_interval > absl::ZeroDuration() ? heartbeat_interval : lease_duration / 3;
  }

  absl::Status Validate() const;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_WORKER_CONFIG_H_
