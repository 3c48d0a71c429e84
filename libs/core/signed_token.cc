#include "libs/core/signed_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"
#include "libs/common/text.h"
#include "libs/core/ids.h"

namespace longrun::core::internal {
namespace {

constexpr size_t kMacBytes = 16;  // HMAC-SHA256 cut to 128 bits: ample forgery resistance

// OpenSSL is not promised to accept a null pointer for an empty buffer, and an empty
// absl::string_view may carry one.
const unsigned char* Bytes(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string Mac(absl::string_view payload, absl::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const unsigned char* result = HMAC(EVP_sha256(), Bytes(secret), static_cast<int>(secret.size()),
                                     Bytes(payload), payload.size(), mac, &mac_len);
  LONGRUN_CHECK(result != nullptr && mac_len >= kMacBytes);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

}  // namespace

std::string SignToken(absl::string_view payload, absl::string_view secret) {
  return absl::WebSafeBase64Escape(absl::StrCat(payload, Mac(payload, secret)));
}

absl::StatusOr<std::string> VerifyToken(unsigned char version, absl::string_view token,
                                        size_t payload_bytes, absl::string_view secret,
                                        absl::string_view field) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  };
  if (token.empty()) return invalid("is empty");
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return invalid("is not base64url; pass the token you were given unchanged");
  }
  const size_t token_bytes = payload_bytes + kMacBytes;
  const size_t token_chars = (token_bytes * 4 + 2) / 3;
  if (token.size() != token_chars) {
    return invalid(absl::StrCat("has the wrong length (", token.size(), " characters, expected ",
                                token_chars, "); pass the token you were given unchanged"));
  }
  std::string raw;
  // Re-encoding must give back the same text: absl would also accept padding, whitespace
  // and nonzero unused bits, which would let several texts name one token.
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != token_bytes ||
      absl::WebSafeBase64Escape(raw) != token) {
    return invalid("was not issued by this service or was modified");
  }
  if (static_cast<unsigned char>(raw[0]) != version) {
    return invalid(absl::StrCat("has unsupported version ",
                                static_cast<int>(static_cast<unsigned char>(raw[0])),
                                "; ask for a new one"));
  }
  const absl::string_view payload = absl::string_view(raw).substr(0, payload_bytes);
  const std::string expected = Mac(payload, secret);
  if (CRYPTO_memcmp(expected.data(), raw.data() + payload_bytes, kMacBytes) != 0) {
    return invalid("was not issued by this service or was modified");
  }
  raw.resize(payload_bytes);
  return raw;
}

void AppendUint(uint64_t value, size_t bytes, std::string* out) {
  for (size_t i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(value >> (8 * (bytes - 1 - i))));
}

uint64_t ReadUint(absl::string_view in, size_t offset, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i)
    value = (value << 8) | static_cast<unsigned char>(in[offset + i]);
  return value;
}

void AppendUuid(absl::string_view uuid, std::string* out) {
  LONGRUN_CHECK(IsUuid(uuid));
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    const int hi = HexDigitValue(uuid[i]);
    const int lo = HexDigitValue(uuid[++i]);  // IsUuid: hex digits come in pairs between dashes
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
}

std::string ReadUuid(absl::string_view in, size_t offset) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    const unsigned char b = static_cast<unsigned char>(in[offset + i]);
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 0xf]);
  }
  return id;
}

}  // namespace longrun::core::internal
