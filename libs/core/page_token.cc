#include "libs/core/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"
#include "libs/core/ids.h"

namespace longrun::core {
namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kTimeBytes = 8;
constexpr size_t kIdBytes = 16;
constexpr size_t kFilterHashBytes = 8;
constexpr size_t kMacBytes = 16;
constexpr size_t kPayloadBytes = 1 + kTimeBytes + kIdBytes + kFilterHashBytes;
constexpr size_t kTokenBytes = kPayloadBytes + kMacBytes;
// base64 without padding: 4 characters per 3 bytes, rounded up.
constexpr size_t kTokenChars = (kTokenBytes * 4 + 2) / 3;

constexpr size_t kTimeOffset = 1;
constexpr size_t kIdOffset = kTimeOffset + kTimeBytes;
constexpr size_t kFilterHashOffset = kIdOffset + kIdBytes;

absl::Status Invalid(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", problem));
}

// OpenSSL is not promised to accept a null pointer for an empty buffer, and an empty
// absl::string_view may carry one.
const unsigned char* Bytes(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

void AppendFilterHash(absl::string_view filter, std::string* out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(Bytes(filter), filter.size(), digest);
  out->append(reinterpret_cast<const char*>(digest), kFilterHashBytes);
}

// The truncated MAC of `payload`; HMAC-SHA256 cut to 128 bits keeps ample forgery
// resistance and a shorter token.
std::string Mac(absl::string_view payload, absl::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), Bytes(secret), static_cast<int>(secret.size()), Bytes(payload),
           payload.size(), mac, &mac_len);
  LONGRUN_CHECK(result != nullptr && mac_len >= kMacBytes);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string EncodePageToken(const PageCursor& cursor, absl::string_view filter,
                            absl::string_view secret) {
  LONGRUN_CHECK(IsUuid(cursor.id));
  std::string payload;
  payload.reserve(kTokenBytes);
  payload.push_back(static_cast<char>(kVersion));
  const uint64_t micros = static_cast<uint64_t>(absl::ToUnixMicros(cursor.create_time));
  for (size_t i = 0; i < kTimeBytes; ++i) {
    payload.push_back(static_cast<char>(micros >> (8 * (kTimeBytes - 1 - i))));
  }
  for (size_t i = 0; i < cursor.id.size(); ++i) {
    if (cursor.id[i] == '-') continue;
    const int hi = HexValue(cursor.id[i]);
    const int lo = HexValue(cursor.id[++i]);  // IsUuid: hex digits come in pairs between dashes
    payload.push_back(static_cast<char>((hi << 4) | lo));
  }
  AppendFilterHash(filter, &payload);
  const std::string mac = Mac(payload, secret);
  return absl::WebSafeBase64Escape(absl::StrCat(payload, mac));
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view filter,
                                           absl::string_view secret) {
  if (token.empty()) return Invalid("is empty");
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return Invalid("is not base64url; pass next_page_token from the previous response "
                     "unchanged");
    }
  }
  if (token.size() != kTokenChars) {
    return Invalid(absl::StrCat("has the wrong length (", token.size(), " characters, expected ",
                                kTokenChars, "); pass next_page_token unchanged"));
  }
  std::string raw;
  // Re-encoding must give back the same text: absl would also accept padding, whitespace
  // and nonzero unused bits, which would let several texts name one token.
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != kTokenBytes ||
      absl::WebSafeBase64Escape(raw) != token) {
    return Invalid("was not issued by this service or was modified");
  }
  if (static_cast<unsigned char>(raw[0]) != kVersion) {
    const int version = static_cast<unsigned char>(raw[0]);
    return Invalid(
        absl::StrCat("has unsupported version ", version, "; start again without page_token"));
  }
  const absl::string_view payload = absl::string_view(raw).substr(0, kPayloadBytes);
  const std::string expected_mac = Mac(payload, secret);
  if (CRYPTO_memcmp(expected_mac.data(), raw.data() + kPayloadBytes, kMacBytes) != 0) {
    return Invalid("was not issued by this service or was modified");
  }
  std::string filter_hash;
  AppendFilterHash(filter, &filter_hash);
  if (CRYPTO_memcmp(filter_hash.data(), raw.data() + kFilterHashOffset, kFilterHashBytes) != 0) {
    return Invalid("was issued for a different filter; start again without page_token");
  }

  uint64_t micros = 0;
  for (size_t i = 0; i < kTimeBytes; ++i) {
    micros = (micros << 8) | static_cast<unsigned char>(raw[kTimeOffset + i]);
  }
  PageCursor cursor;
  cursor.create_time = absl::FromUnixMicros(static_cast<int64_t>(micros));
  static constexpr char kHex[] = "0123456789abcdef";
  cursor.id.reserve(36);
  for (size_t i = 0; i < kIdBytes; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) cursor.id.push_back('-');
    const unsigned char b = static_cast<unsigned char>(raw[kIdOffset + i]);
    cursor.id.push_back(kHex[b >> 4]);
    cursor.id.push_back(kHex[b & 0xf]);
  }
  return cursor;
}

absl::StatusOr<int32_t> ResolvePageSize(int32_t requested) {
  if (requested < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

}  // namespace longrun::core
