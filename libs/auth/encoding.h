// Small helpers shared by the token code: strict base64url, hex, SHA-256, and OpenSSL's
// view of a string. Internal to libs/auth.
#ifndef LONGRUN_AUTH_ENCODING_H_
#define LONGRUN_AUTH_ENCODING_H_

#include <array>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace longrun::auth::internal {

using Sha256Digest = std::array<unsigned char, 32>;

// Base64url without padding (RFC 7515 section 2), decoded strictly: only [A-Za-z0-9_-], no
// padding or whitespace, and unused trailing bits zero, so every byte string has exactly one
// accepted spelling. nullopt for anything else.
std::optional<std::string> DecodeBase64Url(absl::string_view text);
std::string EncodeBase64Url(absl::string_view bytes);

Sha256Digest Sha256(absl::string_view bytes);
// Lower-case hex.
std::string HexEncode(absl::string_view bytes);
// 64 hex digits (either case) -> digest; nullopt otherwise.
std::optional<Sha256Digest> ParseSha256Hex(absl::string_view hex);

// OpenSSL is not promised to accept a null pointer for an empty buffer, and an empty
// absl::string_view may carry one.
const unsigned char* Bytes(absl::string_view s);

}  // namespace longrun::auth::internal

#endif  // LONGRUN_AUTH_ENCODING_H_
