// Opaque tokens the server hands out and must later recognise: page tokens (page_token.h)
// and remote workers' lease tokens (lease_token.h). A token is base64url, no padding, of
//   payload | the first 16 bytes of HMAC-SHA256(secret, domain | payload)
// The domain (one byte per kind of token) keeps a token of one kind from ever verifying as
// another. Tokens are tamper-evident, not encrypted.
#ifndef LONGRUN_CORE_SIGNED_TOKEN_H_
#define LONGRUN_CORE_SIGNED_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace longrun::core::internal {

// `payload` starts with its version byte.
std::string SignToken(absl::string_view payload, absl::string_view secret);

// The payload (version byte included) of a token SignToken made with the same secret, a
// payload of `payload_bytes` and the version `version`. Errors are INVALID_ARGUMENT
// "<field>: ..." naming what is wrong: not base64url, the wrong length, an unsupported
// version, or "was not issued by this service or was modified" (the MAC).
absl::StatusOr<std::string> VerifyToken(unsigned char version, absl::string_view token,
                                        size_t payload_bytes, absl::string_view secret,
                                        absl::string_view field);

// Big-endian fixed-width integers and UUIDs inside payloads.
void AppendUint(uint64_t value, size_t bytes, std::string* out);
uint64_t ReadUint(absl::string_view in, size_t offset, size_t bytes);
// `uuid` must be UUID text (core::IsUuid); aborts otherwise (a bug).
void AppendUuid(absl::string_view uuid, std::string* out);
// Lower-case UUID text of the 16 bytes at `offset`.
std::string ReadUuid(absl::string_view in, size_t offset);

}  // namespace longrun::core::internal

#endif  // LONGRUN_CORE_SIGNED_TOKEN_H_
