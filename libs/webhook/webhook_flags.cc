#include "libs/webhook/webhook_flags.h"

#include "absl/strings/str_cat.h"

namespace longrun::webhook {

void AddWebhookFlags(FlagSet& flags, WebhookFlags* config) {
  flags.String("webhook-secret-file", &config->secret_file,
               "Standard Webhooks signing secrets (whsec_..., one a line, reloaded on change); "
               "callbacks are on iff set",
               "LONGRUN_WEBHOOK_SECRET_FILE");
  flags.Bool("webhook-allow-insecure", &config->allow_insecure,
             "accept http:// callback URLs (development only)");
  flags.String("webhook-allow-cidrs", &config->allow_cidrs,
               "comma-separated CIDRs callbacks may reach although the SSRF guard refuses "
               "them, e.g. 10.20.0.0/16,fd00::/8 (in-cluster receivers)");
  flags.Duration("webhook-retry-base", &config->retry_base,
                 "first retry delay ceiling; doubles per attempt, with full jitter");
  flags.Duration("webhook-retry-cap", &config->retry_cap, "longest delay between attempts");
  flags.Duration("webhook-retry-for", &config->retry_for,
                 "how long a callback is retried before it is dead");
  flags.Int("webhook-concurrency", &config->concurrency, "callback posts in flight per process");
  flags.Int("webhook-concurrency-per-host", &config->concurrency_per_host,
            "callback posts in flight per process and receiving host");
}

absl::Status WebhookFlags::Validate() const {
  if (retry_base <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--webhook-retry-base must be positive");
  }
  if (retry_cap < retry_base) {
    return absl::InvalidArgumentError(
        "--webhook-retry-cap must be at least --webhook-retry-base");
  }
  if (retry_for <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--webhook-retry-for must be positive");
  }
  if (concurrency < 1 || concurrency > 1024) {
    return absl::InvalidArgumentError("--webhook-concurrency must be 1..1024");
  }
  if (concurrency_per_host < 1) {
    return absl::InvalidArgumentError("--webhook-concurrency-per-host must be at least 1");
  }
  return Policy().status();
}

absl::StatusOr<CallbackPolicy> WebhookFlags::Policy() const {
  absl::StatusOr<AddressPolicy> addresses = ParseAddressPolicy(allow_cidrs);
  if (!addresses.ok()) return addresses.status();
  return CallbackPolicy{.allow_insecure = allow_insecure, .addresses = *std::move(addresses)};
}

}  // namespace longrun::webhook
