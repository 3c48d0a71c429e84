#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "libs/store/event_log.h"

namespace longrun::store {
namespace {

TEST(EventCursorTest, RoundTripsAsE2) {
  const EventCursor c{.key = 7'000'123, .seq = (int64_t{42} << 20) + 17};
  EXPECT_EQ(c.Encode(), "e2.7000123.44040209");
  auto back = EventCursor::Decode(c.Encode());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c);
  const EventCursor head{.key = 99, .seq = std::numeric_limits<int64_t>::max()};
  EXPECT_EQ(*EventCursor::Decode(head.Encode()), head);
}

// Cursors handed out before 0011_event_batches.sql name one change per seq; that change is
// now the first of the row with the same seq.
TEST(EventCursorTest, E1CursorsStillPointAtTheSameChange) {
  auto old = EventCursor::Decode("e1.5.3");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(*old, (EventCursor{.key = 5, .seq = int64_t{3} << 20}));
  EXPECT_LT(*old, (EventCursor{.key = 5, .seq = (int64_t{3} << 20) + 1}));
  EXPECT_LT((EventCursor{.key = 5, .seq = (int64_t{2} << 20) + 63}), *old);
  // The head cursor (include_snapshot, the shutdown message) of those releases.
  auto head = EventCursor::Decode("e1.5.9223372036854775807");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, (EventCursor{.key = 5, .seq = std::numeric_limits<int64_t>::max()}));
}

TEST(EventCursorTest, RefusesWhatItDidNotGiveOut) {
  for (const char* bad : {"", "e2", "e2.1", "e2.1.2.3", "e3.1.2", "x2.1.2", "e2.a.2", "e2.1.-2",
                          "e2.1.9223372036854775808", "e1.1.9223372036854775808"}) {
    auto c = EventCursor::Decode(bad);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find("start_after"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace longrun::store
