#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/store/event_log.h"

namespace longrun::store {

std::string EventCursor::Encode() const { return absl::StrCat("e1.", key, ".", seq); }

absl::StatusOr<EventCursor> EventCursor::Decode(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  EventCursor c;
  if (parts.size() != 3 || parts[0] != "e1" || !absl::SimpleAtoi(parts[1], &c.key) ||
      !absl::SimpleAtoi(parts[2], &c.seq) || c.seq < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_after: \"", text.substr(0, 64),
        "\" is not a cursor longrun gave out; pass an OperationEvent.cursor as it came"));
  }
  return c;
}

}  // namespace longrun::store
