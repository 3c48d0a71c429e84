#include "libs/core/trace.h"

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceTest, ReadsTheTraceIdOfAValidTraceparent) {
  EXPECT_EQ(TraceIdFromTraceparent(kValid), "4bf92f3577b34da6a3ce929d0e0e4736");
  // A later version may carry more fields after the flags.
  EXPECT_EQ(TraceIdFromTraceparent(
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceTest, IgnoresWhatTheSpecSaysToIgnore) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 with extra
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // extra without '-'
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
       }) {
    EXPECT_FALSE(TraceIdFromTraceparent(bad).has_value()) << bad;
  }
}

TEST(TraceTest, SubmitJoinsTheCallersTraceOrStartsOne) {
  absl::BitGen gen;
  EXPECT_EQ(TraceIdForSubmit(kValid, gen), "4bf92f3577b34da6a3ce929d0e0e4736");
  const std::string a = TraceIdForSubmit("", gen);
  const std::string b = TraceIdForSubmit("garbage", gen);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(TraceIdFromTraceparent("00-" + a + "-00f067aa0ba902b7-01").has_value());
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace longrun::core
