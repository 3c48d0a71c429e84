#include "libs/core/struct_json.h"

#include <cmath>
#include <limits>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

google::protobuf::Struct ByProtobuf(const std::string& json) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

// Both directions agree with protobuf's own converter, and our output reads back equal.
TEST(StructJsonTest, AgreesWithProtobufConverter) {
  const char* cases[] = {
      R"({})",
      R"({"a": 1})",
      R"({"n": -0.5, "big": 1e21, "small": 1.5e-7, "int": 9007199254740993, "z": 0})",
      R"({"s": "plain", "e": "quote \" backslash \\ slash \/ tab \t nl \n cr \r bs \b ff \f"})",
      R"({"u": "\u00e9\u4e2d \ud83d\ude00 \u0001", "raw": "é中😀"})",
      R"({"t": true, "f": false, "nil": null})",
      R"({"list": [1, "two", [3, [4]], {"five": 5}, null, true], "empty": [], "o": {}})",
      " \n\t{ \"spaced\" :\r\n [ 1 , 2 ] } \n",
  };
  for (const char* json : cases) {
    auto ours = StructFromJson(json);
    ASSERT_TRUE(ours.ok()) << json << ": " << ours.status();
    const google::protobuf::Struct theirs = ByProtobuf(json);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*ours, theirs)) << json;
    const std::string out = StructToJson(theirs);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ByProtobuf(out), theirs))
        << json << " -> " << out;
    auto back = StructFromJson(out);
    ASSERT_TRUE(back.ok()) << out;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, theirs)) << out;
  }
}

// protobuf's converter rejects a repeated key; like PostgreSQL's jsonb, the last one wins.
TEST(StructJsonTest, RepeatedKeyLastWins) {
  auto s = StructFromJson(R"({"dup": {"x": 1}, "dup": 2})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->fields().at("dup").number_value(), 2);
}

TEST(StructJsonTest, ValueFromJsonReadsAnyValue) {
  auto list = ValueFromJson(R"( [[1, "w", null], []] )");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->list_value().values_size(), 2);
  EXPECT_EQ(list->list_value().values(0).list_value().values(1).string_value(), "w");
  EXPECT_TRUE(ValueFromJson("3.5").ok());
  EXPECT_FALSE(ValueFromJson("[1] x").ok());
  EXPECT_FALSE(ValueFromJson("").ok());
}

TEST(StructJsonTest, NumbersAreShortestRoundTrip) {
  google::protobuf::Struct s;
  auto& f = *s.mutable_fields();
  f["a"].set_number_value(0.1);
  EXPECT_EQ(StructToJson(s), R"({"a":0.1})");
  f["a"].set_number_value(3);
  EXPECT_EQ(StructToJson(s), R"({"a":3})");
  f["a"].set_number_value(-1234567.25);
  EXPECT_EQ(StructToJson(s), R"({"a":-1234567.25})");
  f["a"].set_number_value(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(StructToJson(s), R"({"a":"NaN"})");
  f["a"].set_number_value(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(StructToJson(s), R"({"a":"-Infinity"})");
}

TEST(StructJsonTest, ControlCharactersAreEscaped) {
  google::protobuf::Struct s;
  (*s.mutable_fields())["k\n"].set_string_value(std::string("a\x01" "b\x1f\"", 5));
  EXPECT_EQ(StructToJson(s), R"({"k\n":"a\u0001b\u001f\""})");
}

TEST(StructJsonTest, RejectsWhatIsNotAJsonObject) {
  const char* bad[] = {
      "", "[]", "1", "\"s\"", "null", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
      "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":+1}",
      "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"unterminated}", "{} {}",
      "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":\"tab\there\"}", "{\"a\":NaN}",
  };
  for (const char* json : bad) {
    auto r = StructFromJson(json);
    EXPECT_FALSE(r.ok()) << json;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << json;
      EXPECT_NE(r.status().message().find("invalid JSON at byte"), std::string::npos);
    }
  }
}

TEST(StructJsonTest, NestingIsBounded) {
  std::string ok = "{\"a\":";
  std::string deep = "{\"a\":";
  for (int i = 0; i < kMaxJsonDepth - 2; ++i) ok += "[";
  ok += "1";
  for (int i = 0; i < kMaxJsonDepth - 2; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(StructFromJson(ok).ok());
  for (int i = 0; i < 100000; ++i) deep += "[";
  auto r = StructFromJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("levels of nesting"), std::string::npos);
}

TEST(StructJsonTest, StorableChecksNumbersNulAndUtf8) {
  google::protobuf::Struct s;
  auto& f = *s.mutable_fields();
  f["ok"].set_string_value("caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_TRUE(CheckJsonStorable(s, "response").ok());
  const std::pair<std::string, std::string> bad_strings[] = {
      {std::string("a\0b", 3), "U+0000"},
      {"\xc3", "UTF-8"},              // truncated
      {"\xc0\xaf", "UTF-8"},          // overlong
      {"\xed\xa0\x80", "UTF-8"},      // surrogate
      {"\xf4\x90\x80\x80", "UTF-8"},  // beyond U+10FFFF
      {"\xff", "UTF-8"},
  };
  for (const auto& [text, why] : bad_strings) {
    google::protobuf::Struct b;
    (*(*b.mutable_fields())["l"].mutable_list_value()->add_values()).set_string_value(text);
    const absl::Status st = CheckJsonStorable(b, "response");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_NE(st.message().find("response.l[0]"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
  }
  google::protobuf::Struct n;
  (*(*n.mutable_fields())["x"].mutable_struct_value()->mutable_fields())["y"].set_number_value(
      std::numeric_limits<double>::infinity());
  EXPECT_NE(CheckJsonStorable(n, "input").message().find("input.x.y: is inf"), std::string::npos);
}

}  // namespace
}  // namespace longrun::core
