#include "libs/auth/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/check.h"

namespace longrun::auth {
namespace {

constexpr size_t kNewKeyRandomBytes = 32;
constexpr size_t kSubjectHexDigits = 12;

absl::Status LineError(int line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", problem));
}

// Parses "scope,scope" (no spaces) into *scopes.
absl::Status ParseScopeField(absl::string_view field, ScopeSet* scopes) {
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    if (item.empty()) return absl::InvalidArgumentError("empty scope (a stray comma?)");
    if (absl::Status s = AddScope(item, scopes); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("scope \"", item, "\": ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ApiKeys> ApiKeys::Parse(absl::string_view text) {
  ApiKeys out;
  std::vector<int> entry_lines;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (fields.size() != 3) {
      return LineError(line_number, absl::StrCat("expected 3 fields, \"<sha256 hex> <tenant> "
                                                 "<scope>[,<scope>...]\"; got ",
                                                 fields.size()));
    }
    std::optional<internal::Sha256Digest> digest = internal::ParseSha256Hex(fields[0]);
    if (!digest.has_value()) {
      return LineError(line_number,
                       "the first field must be the key's SHA-256 as 64 hex digits "
                       "(sha256sum of the key, without a newline)");
    }
    if (absl::Status s = ValidateTenant(fields[1]); !s.ok()) {
      return LineError(line_number, s.message());
    }
    Entry entry{.hash = *digest, .tenant = std::string(fields[1])};
    if (absl::Status s = ParseScopeField(fields[2], &entry.scopes); !s.ok()) {
      return LineError(line_number, s.message());
    }
    for (size_t i = 0; i < out.entries_.size(); ++i) {
      if (out.entries_[i].hash == entry.hash) {
        return LineError(line_number,
                         absl::StrCat("the same key as line ", entry_lines[i], " (remove one)"));
      }
    }
    out.entries_.push_back(std::move(entry));
    entry_lines.push_back(line_number);
  }
  return out;
}

std::optional<Principal> ApiKeys::Lookup(absl::string_view key) const {
  const internal::Sha256Digest digest = internal::Sha256(key);
  // Every entry is compared, and the match is selected with masks rather than a branch, so
  // the time taken does not depend on whether or where the key matched.
  size_t found = 0;
  size_t any = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const size_t equal = static_cast<size_t>(
        CRYPTO_memcmp(entries_[i].hash.data(), digest.data(), digest.size()) == 0);
    const size_t mask = size_t{0} - equal;  // all ones if equal
    found = (found & ~mask) | (i & mask);
    any |= equal;
  }
  if (any == 0) return std::nullopt;
  const Entry& entry = entries_[found];
  const std::string hex = internal::HexEncode(
      absl::string_view(reinterpret_cast<const char*>(entry.hash.data()), entry.hash.size()));
  return Principal{.tenant = entry.tenant,
                   .subject = absl::StrCat("api_key:", hex.substr(0, kSubjectHexDigits)),
                   .credential = CredentialKind::kApiKey,
                   .scopes = entry.scopes};
}

NewApiKeyResult NewApiKey() {
  unsigned char random[kNewKeyRandomBytes];
  // RAND_bytes fails only when the CSPRNG cannot be seeded; a key from anything weaker
  // must never be handed out.
  LONGRUN_CHECK(RAND_bytes(random, sizeof(random)) == 1);
  NewApiKeyResult out;
  out.key = absl::StrCat("lr_", internal::EncodeBase64Url(absl::string_view(
                                    reinterpret_cast<const char*>(random), sizeof(random))));
  OPENSSL_cleanse(random, sizeof(random));
  out.sha256_hex = ApiKeySha256Hex(out.key);
  return out;
}

std::string ApiKeySha256Hex(absl::string_view key) {
  const internal::Sha256Digest digest = internal::Sha256(key);
  return internal::HexEncode(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

absl::StatusOr<std::string> ApiKeyLine(absl::string_view sha256_hex, absl::string_view tenant,
                                       const std::vector<std::string>& scopes) {
  if (!internal::ParseSha256Hex(sha256_hex).has_value()) {
    return absl::InvalidArgumentError("sha256_hex must be 64 hex digits");
  }
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (scopes.empty()) return absl::InvalidArgumentError("a key needs at least one scope");
  const std::string scope_field = absl::StrJoin(scopes, ",");
  ScopeSet parsed;
  if (absl::Status s = ParseScopeField(scope_field, &parsed); !s.ok()) return s;
  return absl::StrCat(absl::AsciiStrToLower(sha256_hex), " ", tenant, " ", scope_field);
}

}  // namespace longrun::auth
