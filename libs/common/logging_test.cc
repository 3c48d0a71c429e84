#include "libs/common/logging.h"

#include "gtest/gtest.h"

namespace longrun::log {
namespace {

const absl::Time kT = absl::FromUnixMillis(1'795'000'000'123);

TEST(LoggingTest, TextLinesQuoteWhatWouldSplitThem) {
  EXPECT_EQ(FormatLine(Format::kText, kT, Level::kInfo, "claimed",
                       {{"count", 3}, {"why", "two words"}, {"q", "a\"b"}}),
            "2026-11-18T11:06:40.123Z level=info event=claimed count=3 why=\"two words\" "
            "q=\"a\\\"b\"\n");
}

TEST(LoggingTest, JsonLinesAreOneObjectWithEveryFieldAsAString) {
  EXPECT_EQ(FormatLine(Format::kJson, kT, Level::kWarning, "dispatch_error",
                       {{"completions", 2}, {"error", "line 1\nline \"2\" \\ \t"}}),
            "{\"ts\":\"2026-11-18T11:06:40.123Z\",\"level\":\"warn\",\"event\":\"dispatch_error\","
            "\"completions\":\"2\",\"error\":\"line 1\\u000aline \\\"2\\\" \\\\ \\u0009\"}\n");
}

TEST(LoggingTest, JsonKeepsUtf8AndReplacesBytesThatAreNot) {
  // "naïve", then a lone continuation byte, a truncated sequence and an encoded surrogate.
  EXPECT_EQ(FormatLine(Format::kJson, kT, Level::kError, "e",
                       {{"v", "na\xC3\xAFve \x80 \xE2\x82 \xED\xA0\x80"}}),
            "{\"ts\":\"2026-11-18T11:06:40.123Z\",\"level\":\"error\",\"event\":\"e\","
            "\"v\":\"na\xC3\xAFve \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}\n");
}

TEST(LoggingTest, FormatsAndLevelsParse) {
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_EQ(*ParseFormat("text"), Format::kText);
  EXPECT_EQ(ParseFormat("xml").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarning);
  EXPECT_EQ(ParseLevel("loud").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace longrun::log
