#include "libs/worker/worker_config.h"

namespace longrun::worker {

absl::Status WorkerConfig::Validate() const {
  if (database_url.empty()) {
    return absl::InvalidArgumentError("--database-url is required (or set LONGRUN_DATABASE_URL)");
  }
  if (concurrency < 1 || concurrency > 10000) {
    return absl::InvalidArgumentError("--concurrency must be in 1..10000");
  }
  if (poll_interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("--poll-interval must be at least 10ms");
  }
  if (lease_duration < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--lease-duration must be at least 1s");
  }
  if (shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-grace must not be negative");
  }
  if (EffectiveHeartbeatInterval() >= lease_duration) {
    return absl::InvalidArgumentError("--heartbeat-interval must be shorter than --lease-duration");
  }
  if (rescue_interval < absl::Milliseconds(100) || prune_interval < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(
        "--rescue-interval and --prune-interval must be at least 100ms");
  }
  if (schedule_to_start < absl::ZeroDuration() || retain_succeeded <= absl::ZeroDuration() ||
      retain_failed <= absl::ZeroDuration() || retain_cancelled <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--schedule-to-start must not be negative and --retain-* must be positive");
  }
  if (progress_interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("--progress-interval must be at least 10ms");
  }
  if (retry.base <= absl::ZeroDuration() || retry.cap < retry.base) {
    return absl::InvalidArgumentError("--retry-base must be positive and --retry-cap >= it");
  }
  return absl::OkStatus();
}

}  // namespace longrun::worker
