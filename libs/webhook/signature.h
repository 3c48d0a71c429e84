// Standard Webhooks signing (https://www.standardwebhooks.com/): the signing secrets, read
// from --webhook-secret-file, and the webhook-signature header computed with them.
//
// A secret is "whsec_" + standard base64 of its key bytes (24 to 64 bytes, as the spec
// recommends). The secrets file holds one secret per line; blank lines and lines starting
// with `#` are ignored, and at least one secret is required. Every secret in the file is
// active: during a rotation the file holds the old and the new one, and each delivery
// carries one signature per secret, so receivers that know either accept it.
//
//   auto secrets = ParseSecretsFile(content);  // INVALID_ARGUMENT "line 3: ..." on a bad line
//   headers["webhook-signature"] = Sign(*secrets, "msg_...", 1614265330, body);
//
// The file is meant to be held in an auth::ReloadingFile<WebhookSecrets> (OpenSecretsFile),
// re-read when it changes, so a rotation needs no restart.
#ifndef LONGRUN_WEBHOOK_SIGNATURE_H_
#define LONGRUN_WEBHOOK_SIGNATURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/auth/reloading_file.h"
#include "libs/common/clock.h"

namespace longrun::webhook {

struct WebhookSecrets {
  std::vector<std::string> keys;  // decoded key bytes, in file order; never empty once parsed
};

// "whsec_<base64>" -> the key bytes. INVALID_ARGUMENT (never quoting the secret) otherwise.
absl::StatusOr<std::string> ParseSecret(absl::string_view text);

// The secrets file's content. Errors name the line: "line 2: ...".
absl::StatusOr<WebhookSecrets> ParseSecretsFile(absl::string_view content);

// The webhook-signature header value: "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" for
// each key, separated by single spaces.
std::string Sign(const WebhookSecrets& secrets, absl::string_view webhook_id,
                 int64_t unix_timestamp, absl::string_view body);

using SecretsFile = auth::ReloadingFile<WebhookSecrets>;

// Loads --webhook-secret-file (failing if it cannot be read or parsed); drive its RunOnce()
// with a LoopThread to pick up rotations.
absl::StatusOr<std::unique_ptr<SecretsFile>> OpenSecretsFile(const std::string& path,
                                                             const Clock& clock);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_SIGNATURE_H_
