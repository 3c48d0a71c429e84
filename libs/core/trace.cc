#include "libs/core/trace.h"

#include <cstdint>

#include "absl/random/random.h"

namespace longrun::core {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZeros(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

}  // namespace

std::optional<std::string> TraceIdFromTraceparent(absl::string_view v) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  constexpr size_t kLength = 55;
  if (v.size() < kLength || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const absl::string_view version = v.substr(0, 2);
  const absl::string_view trace_id = v.substr(3, 32);
  const absl::string_view parent_id = v.substr(36, 16);
  const absl::string_view flags = v.substr(53, 2);
  if (!IsLowerHex(version) || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags)) {
    return std::nullopt;
  }
  if (version == "ff" || AllZeros(trace_id) || AllZeros(parent_id)) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may append "-..." fields.
  if (v.size() > kLength && (version == "00" || v[kLength] != '-')) return std::nullopt;
  return std::string(trace_id);
}

std::string NewTraceId(absl::BitGenRef gen) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  do {
    for (char& c : id) c = kHex[absl::Uniform<uint32_t>(gen, 0, 16)];
  } while (AllZeros(id));
  return id;
}

std::string TraceIdForSubmit(absl::string_view traceparent, absl::BitGenRef gen) {
  if (auto id = TraceIdFromTraceparent(traceparent); id.has_value()) return *std::move(id);
  return NewTraceId(gen);
}

}  // namespace longrun::core
