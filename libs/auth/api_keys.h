// API keys: long random bearer tokens, listed by their SHA-256 in --api-keys-file.
//
// File format, one key per line:
//   <sha256 hex of the key> <tenant> <scope>[,<scope>...]
// Fields are separated by spaces or tabs; `#` starts a comment (a whole line or the rest of
// one) and blank lines are ignored. The hex is 64 digits of either case; the tenant follows
// ValidateTenant; scopes are those of principal.h, comma-separated without spaces, e.g.
//   # ci pipeline of team-a, made 2026-11-24
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 team-a operations.read
// Unknown scopes, bad tenants and duplicate keys are errors naming the line, so a typo can
// never silently grant less or more than meant.
//
// The server never holds a key, only its hash; a presented key is hashed and compared with
// every entry in constant time (no early exit), so neither a key nor which entry matched
// leaks through timing. Removing a line revokes the key at the next reload.
#ifndef LONGRUN_AUTH_API_KEYS_H_
#define LONGRUN_AUTH_API_KEYS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/auth/encoding.h"
#include "libs/auth/principal.h"

namespace longrun::auth {

class ApiKeys {
 public:
  // INVALID_ARGUMENT "line N: ..." for the first line that does not parse.
  static absl::StatusOr<ApiKeys> Parse(absl::string_view text);

  // The principal of a presented key (credential kApiKey, subject "api_key:<12 hex digits of
  // its hash>"), or nullopt if no entry matches. Takes the same time whichever entry matches.
  std::optional<Principal> Lookup(absl::string_view key) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    internal::Sha256Digest hash;
    std::string tenant;
    ScopeSet scopes;
  };
  std::vector<Entry> entries_;
};

struct NewApiKeyResult {
  std::string key;         // "lr_" + base64url of 32 random bytes: give it to the caller
  std::string sha256_hex;  // lower-case: goes into the keys file
};
// A fresh key from OpenSSL's CSPRNG.
NewApiKeyResult NewApiKey();

// SHA-256 of `key`, lower-case hex.
std::string ApiKeySha256Hex(absl::string_view key);

// The keys-file line for a key: "<sha256_hex> <tenant> <scope>,<scope>". Checks the tenant
// and every scope as Parse would (INVALID_ARGUMENT otherwise).
absl::StatusOr<std::string> ApiKeyLine(absl::string_view sha256_hex, absl::string_view tenant,
                                       const std::vector<std::string>& scopes);

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_API_KEYS_H_
