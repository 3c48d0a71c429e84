#include "libs/auth/encoding.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace longrun::auth::internal {
namespace {

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string> DecodeBase64Url(absl::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  for (char c : text) {
    if (!IsBase64UrlChar(c)) return std::nullopt;
  }
  std::string out;
  // Re-encoding must give back the same text: absl also accepts nonzero unused bits.
  if (!absl::WebSafeBase64Unescape(text, &out) || absl::WebSafeBase64Escape(out) != text) {
    return std::nullopt;
  }
  return out;
}

std::string EncodeBase64Url(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

Sha256Digest Sha256(absl::string_view bytes) {
  Sha256Digest digest;
  SHA256(Bytes(bytes), bytes.size(), digest.data());
  return digest;
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::optional<Sha256Digest> ParseSha256Hex(absl::string_view hex) {
  Sha256Digest digest;
  if (hex.size() != digest.size() * 2) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

const unsigned char* Bytes(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace longrun::auth::internal
