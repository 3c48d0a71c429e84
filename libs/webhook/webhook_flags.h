// WebhookFlags: the --webhook-* flags, the same on the api (which validates callback URLs at
// Submit) and on every deliverer (longrun-worker). Webhooks are on iff --webhook-secret-file
// is set: without secrets nothing could be signed.
#ifndef LONGRUN_WEBHOOK_WEBHOOK_FLAGS_H_
#define LONGRUN_WEBHOOK_WEBHOOK_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/flags.h"
#include "libs/webhook/callback_url.h"
#include "libs/webhook/retry.h"

namespace longrun::webhook {

struct WebhookFlags {
  std::string secret_file;  // whsec_ secrets, one a line; "": webhooks off
  bool allow_insecure = false;
  std::string allow_cidrs;  // comma-separated CIDRs opened in the SSRF guard
  absl::Duration retry_base = absl::Seconds(5);
  absl::Duration retry_cap = absl::Hours(1);
  absl::Duration retry_for = absl::Hours(24);
  int64_t concurrency = 16;          // posts in flight per process
  int64_t concurrency_per_host = 4;  // ...and per callback host

  bool on() const { return !secret_file.empty(); }
  // Ranges and counts make sense; INVALID_ARGUMENT naming the flag otherwise.
  absl::Status Validate() const;
  // The URL and address rules (parses --webhook-allow-cidrs; errors name the entry).
  absl::StatusOr<CallbackPolicy> Policy() const;
  RetryConfig Retry() const {
    return {.base = retry_base, .cap = retry_cap, .retry_for = retry_for};
  }
};

void AddWebhookFlags(FlagSet& flags, WebhookFlags* config);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_WEBHOOK_FLAGS_H_
