#include "libs/core/ids.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace longrun::core {

std::string NewOperationId(absl::Time now) {
  thread_local absl::BitGen gen;
  uint8_t b[16];
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  for (int i = 6; i < 16; ++i) b[i] = absl::Uniform<uint8_t>(gen);
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::string OperationName(absl::string_view id) { return absl::StrCat(kOperationNamePrefix, id); }

absl::StatusOr<std::string> ParseOperationName(absl::string_view name, absl::string_view field) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is required: expected \"operations/{uuid}\""));
  }
  if (!absl::StartsWith(name, kOperationNamePrefix) ||
      !IsUuid(name.substr(kOperationNamePrefix.size()))) {
    std::string shown(name.substr(0, 80));
    return absl::InvalidArgumentError(absl::StrCat(
        field, " \"", shown, name.size() > 80 ? "..." : "",
        "\" is malformed: expected \"operations/{uuid}\""));
  }
  return absl::AsciiStrToLower(name.substr(kOperationNamePrefix.size()));
}

}  // namespace longrun::core
