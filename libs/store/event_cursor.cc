#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/store/event_log.h"

namespace longrun::store {

// A position in the log: (key, seq * 2^20 + place in the row), see 0011_event_batches.sql.
// "e1" cursors came before rows held several changes: their seq is the position seq * 2^20.
std::string EventCursor::Encode() const { return absl::StrCat("e2.", key, ".", seq); }

absl::StatusOr<EventCursor> EventCursor::Decode(absl::string_view text) {
  constexpr int64_t kRowShift = int64_t{1} << 20;
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  EventCursor c;
  const bool e1 = parts.size() == 3 && parts[0] == "e1";
  if (parts.size() != 3 || (!e1 && parts[0] != "e2") || !absl::SimpleAtoi(parts[1], &c.key) ||
      !absl::SimpleAtoi(parts[2], &c.seq) || c.seq < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_after: \"", text.substr(0, 64),
        "\" is not a cursor longrun gave out; pass an OperationEvent.cursor as it came"));
  }
  // A seq too large to shift is the head cursor (EventHead: "after every event of this
  // key"), which it stays.
  if (e1) {
    c.seq = c.seq > std::numeric_limits<int64_t>::max() / kRowShift
                ? std::numeric_limits<int64_t>::max()
                : c.seq * kRowShift;
  }
  return c;
}

}  // namespace longrun::store
