#include "libs/core/page_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstring>

#include "absl/status/status.h"
#include "libs/core/signed_token.h"

namespace longrun::core {
namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kTimeBytes = 8;
constexpr size_t kIdBytes = 16;
constexpr size_t kFilterHashBytes = 8;
constexpr size_t kPayloadBytes = 1 + kTimeBytes + kIdBytes + kFilterHashBytes;
constexpr size_t kTimeOffset = 1;
constexpr size_t kIdOffset = kTimeOffset + kTimeBytes;
constexpr size_t kFilterHashOffset = kIdOffset + kIdBytes;

void AppendFilterHash(absl::string_view filter, std::string* out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  static const unsigned char kEmpty = 0;
  SHA256(filter.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(filter.data()),
         filter.size(), digest);
  out->append(reinterpret_cast<const char*>(digest), kFilterHashBytes);
}

}  // namespace

std::string EncodePageToken(const PageCursor& cursor, absl::string_view filter,
                            absl::string_view secret) {
  std::string payload;
  payload.reserve(kPayloadBytes);
  payload.push_back(static_cast<char>(kVersion));
  internal::AppendUint(static_cast<uint64_t>(absl::ToUnixMicros(cursor.create_time)), kTimeBytes,
                       &payload);
  internal::AppendUuid(cursor.id, &payload);
  AppendFilterHash(filter, &payload);
  return internal::SignToken(payload, secret);
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view filter,
                                           absl::string_view secret) {
  absl::StatusOr<std::string> payload =
      internal::VerifyToken(kVersion, token, kPayloadBytes, secret, "page_token");
  if (!payload.ok()) return payload.status();
  std::string filter_hash;
  AppendFilterHash(filter, &filter_hash);
  if (CRYPTO_memcmp(filter_hash.data(), payload->data() + kFilterHashOffset, kFilterHashBytes) !=
      0) {
    return absl::InvalidArgumentError(
        "page_token: was issued for a different filter; start again without page_token");
  }
  PageCursor cursor;
  cursor.create_time = absl::FromUnixMicros(
      static_cast<int64_t>(internal::ReadUint(*payload, kTimeOffset, kTimeBytes)));
  cursor.id = internal::ReadUuid(*payload, kIdOffset);
  return cursor;
}

absl::StatusOr<int32_t> ResolvePageSize(int32_t requested) {
  if (requested < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

}  // namespace longrun::core
