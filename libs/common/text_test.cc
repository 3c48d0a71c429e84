#include "libs/common/text.h"

#include <string>

#include "gtest/gtest.h"

namespace longrun {
namespace {

TEST(TextTest, JsonQuoteEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("say \"hi\"\\\n\r\t"), "\"say \\\"hi\\\"\\\\\\n\\r\\t\"");
  EXPECT_EQ(JsonQuote(std::string("a\x01" "b", 3)), "\"a\\u0001b\"");
  EXPECT_EQ(JsonQuote("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // other bytes as they are
}

TEST(TextTest, HexDigitValueOfEitherCaseOrMinusOne) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) EXPECT_EQ(HexDigitValue(c), -1) << c;
}

}  // namespace
}  // namespace longrun
