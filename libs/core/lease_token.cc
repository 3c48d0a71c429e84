#include "libs/core/lease_token.h"

#include "libs/core/signed_token.h"

namespace longrun::core {
namespace {

constexpr unsigned char kVersion = 'L';
constexpr size_t kIdOffset = 1;
constexpr size_t kAttemptOffset = kIdOffset + 16;
constexpr size_t kMaxAttemptsOffset = kAttemptOffset + 4;
constexpr size_t kLeaseOffset = kMaxAttemptsOffset + 4;
constexpr size_t kDeadlineOffset = kLeaseOffset + 8;
constexpr size_t kPayloadBytes = kDeadlineOffset + 8;
constexpr uint64_t kNoDeadline = ~uint64_t{0};

}  // namespace

std::string EncodeLeaseToken(const LeaseClaim& claim, absl::string_view secret) {
  std::string payload;
  payload.reserve(kPayloadBytes);
  payload.push_back(static_cast<char>(kVersion));
  internal::AppendUuid(claim.id, &payload);
  internal::AppendUint(static_cast<uint32_t>(claim.attempt), 4, &payload);
  internal::AppendUint(static_cast<uint32_t>(claim.max_attempts), 4, &payload);
  internal::AppendUint(static_cast<uint64_t>(absl::ToInt64Microseconds(claim.lease)), 8, &payload);
  internal::AppendUint(claim.deadline.has_value()
                           ? static_cast<uint64_t>(absl::ToUnixMicros(*claim.deadline))
                           : kNoDeadline,
                       8, &payload);
  return internal::SignToken(payload, secret);
}

absl::StatusOr<LeaseClaim> DecodeLeaseToken(absl::string_view token, absl::string_view secret) {
  absl::StatusOr<std::string> payload =
      internal::VerifyToken(kVersion, token, kPayloadBytes, secret, "lease_token");
  if (!payload.ok()) return payload.status();
  LeaseClaim claim;
  claim.id = internal::ReadUuid(*payload, kIdOffset);
  claim.attempt = static_cast<int32_t>(internal::ReadUint(*payload, kAttemptOffset, 4));
  claim.max_attempts = static_cast<int32_t>(internal::ReadUint(*payload, kMaxAttemptsOffset, 4));
  claim.lease =
      absl::Microseconds(static_cast<int64_t>(internal::ReadUint(*payload, kLeaseOffset, 8)));
  if (const uint64_t d = internal::ReadUint(*payload, kDeadlineOffset, 8); d != kNoDeadline) {
    claim.deadline = absl::FromUnixMicros(static_cast<int64_t>(d));
  }
  return claim;
}

}  // namespace longrun::core
