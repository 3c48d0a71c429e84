#include "services/api/api_config.h"

#include "absl/strings/str_cat.h"

namespace longrun::api {

absl::Status ApiConfig::Validate() const {
  if (database_url.empty()) {
    return absl::InvalidArgumentError(
        "--database-url is required (or set LONGRUN_DATABASE_URL), e.g. "
        "postgresql://user@127.0.0.1:5432/longrun");
  }
  if (listen.empty() || listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--listen \"", listen, "\" must be HOST:PORT"));
  }
  if (db_pool_size < 1 || db_pool_size > 512) {
    return absl::InvalidArgumentError("--db-pool-size must be in 1..512");
  }
  if (max_pending < 1) return absl::InvalidArgumentError("--max-pending must be positive");
  if (shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-grace must not be negative");
  }
  if (shutdown_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-delay must not be negative");
  }
  if (metrics_queue_interval < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--metrics-queue-interval must be at least 100ms");
  }
  if (absl::Status s = tls.Validate(); !s.ok()) return s;
  if (reflection != "authenticated" && reflection != "public") {
    return absl::InvalidArgumentError(absl::StrCat("--reflection \"", reflection,
                                                   "\" must be authenticated or public"));
  }
  if (max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("--max-concurrent-streams must be positive");
  }
  if (max_send_message_bytes < 4096) {
    return absl::InvalidArgumentError("--max-send-message-bytes must be at least 4096");
  }
  if (min_client_ping_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--min-client-ping-interval must be at least 1s");
  }
  if (max_watches_per_tenant < 0) {
    return absl::InvalidArgumentError("--max-watches-per-tenant must be 0 (no cap) or positive");
  }
  if (max_watch_duration < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--max-watch-duration must be at least 1s");
  }
  if (max_wait <= absl::ZeroDuration()) return absl::InvalidArgumentError("--max-wait must be positive");
  if (watch_refresh < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--watch-refresh must be at least 100ms");
  }
  if (watch_outage_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--watch-outage-timeout must not be negative");
  }
  if (progress_interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("--progress-interval must be at least 10ms");
  }
  if (lease_poll_interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("--lease-poll-interval must be at least 10ms");
  }
  if (rescue_interval != absl::ZeroDuration() && rescue_interval < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--rescue-interval must be 0 (off) or at least 100ms");
  }
  if (schedule_to_start < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--schedule-to-start must not be negative");
  }
  if (retry.base <= absl::ZeroDuration() || retry.cap < retry.base) {
    return absl::InvalidArgumentError("--retry-base must be positive and --retry-cap >= it");
  }
  return absl::OkStatus();
}

}  // namespace longrun::api
