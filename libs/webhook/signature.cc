#include "libs/webhook/signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/check.h"

namespace longrun::webhook {
namespace {

constexpr absl::string_view kSecretPrefix = "whsec_";
constexpr size_t kMinKeyBytes = 24;
constexpr size_t kMaxKeyBytes = 64;

// Standard base64 with optional '=' padding and nothing else (no whitespace, no base64url).
bool IsBase64(absl::string_view text) {
  absl::string_view body = text;
  while (absl::ConsumeSuffix(&body, "=")) {
  }
  if (text.size() - body.size() > 2) return false;
  if (text.size() != body.size() && text.size() % 4 != 0) return false;
  for (char c : body) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '/') return false;
  }
  return body.size() % 4 != 1;
}

const unsigned char* Bytes(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<std::string> ParseSecret(absl::string_view text) {
  absl::string_view encoded = text;
  if (!absl::ConsumePrefix(&encoded, kSecretPrefix)) {
    return absl::InvalidArgumentError(
        "a webhook secret must start with \"whsec_\" followed by base64 of its key bytes");
  }
  std::string key;
  if (!IsBase64(encoded) || !absl::Base64Unescape(encoded, &key)) {
    return absl::InvalidArgumentError(
        "the part after \"whsec_\" is not standard base64 (A-Z a-z 0-9 + /, optional = "
        "padding)");
  }
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the key is ", key.size(),
                                                   " bytes; Standard Webhooks keys are ",
                                                   kMinKeyBytes, " to ", kMaxKeyBytes));
  }
  return key;
}

absl::StatusOr<WebhookSecrets> ParseSecretsFile(absl::string_view content) {
  WebhookSecrets out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    absl::StatusOr<std::string> key = ParseSecret(line);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", key.status().message()));
    }
    out.keys.push_back(*std::move(key));
  }
  if (out.keys.empty()) {
    return absl::InvalidArgumentError(
        "no secret: the file needs at least one line \"whsec_<base64 key>\"");
  }
  return out;
}

std::string Sign(const WebhookSecrets& secrets, absl::string_view webhook_id,
                 int64_t unix_timestamp, absl::string_view body) {
  const std::string content = absl::StrCat(webhook_id, ".", unix_timestamp, ".", body);
  std::string out;
  for (const std::string& key : secrets.keys) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const unsigned char* result =
        HMAC(EVP_sha256(), Bytes(key), static_cast<int>(key.size()), Bytes(content),
             content.size(), mac, &mac_len);
    LONGRUN_CHECK(result != nullptr);
    if (!out.empty()) out += ' ';
    absl::StrAppend(&out, "v1,",
                    absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(mac), mac_len)));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<SecretsFile>> OpenSecretsFile(const std::string& path,
                                                             const Clock& clock) {
  return SecretsFile::Create({.path = path, .name = "webhook secret file", .max_bytes = 64 << 10},
                             ParseSecretsFile, clock);
}

}  // namespace longrun::webhook
