// StructFromJson on arbitrary bytes. Checks, besides "no crash, no sanitizer report":
//   - every error is INVALID_ARGUMENT naming a byte offset;
//   - whatever is accepted survives StructToJson -> StructFromJson unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/core/struct_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = longrun::core::StructFromJson(in);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(parsed.status().message(), "invalid JSON at byte ")) {
      std::fprintf(stderr, "unexpected error: %s\n", parsed.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  const std::string out = longrun::core::StructToJson(*parsed);
  auto again = longrun::core::StructFromJson(out);
  if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*parsed, *again)) {
    std::fprintf(stderr, "round trip changed the value: %s\n", out.c_str());
    std::abort();
  }
  return 0;
}
