#include "libs/core/ids.h"

#include <cstdint>
#include <string>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

using ::testing::HasSubstr;

// 2023-11-14T22:13:20Z; an arbitrary fixed instant, never the wall clock.
const absl::Time kT0 = absl::FromUnixMillis(1700000000000);

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Canonical lower-case 8-4-4-4-12.
void ExpectCanonicalLowerUuid(const std::string& id) {
  ASSERT_EQ(id.size(), 36u) << id;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id << " at " << i;
    } else {
      EXPECT_TRUE(IsLowerHex(id[i])) << id << " at " << i;
    }
  }
}

TEST(NewOperationIdTest, IsCanonicalLowerCaseUuidV7) {
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewOperationId(kT0 + absl::Milliseconds(i * 7919));
    ExpectCanonicalLowerUuid(id);
    EXPECT_TRUE(IsUuid(id)) << id;
    // Version nibble: first hex digit of the third group.
    EXPECT_EQ(id[14], '7') << id;
    // Variant bits 10xx: first hex digit of the fourth group is 8, 9, a or b.
    const char v = id[19];
    EXPECT_TRUE(v == '8' || v == '9' || v == 'a' || v == 'b') << id;
  }
}

TEST(NewOperationIdTest, EncodesUnixMillisInFirst48Bits) {
  const int64_t ms = 1700000000123;
  const std::string id = NewOperationId(absl::FromUnixMillis(ms));
  // 1700000000123 = 0x018bcfe5687b
  EXPECT_EQ(absl::StrCat(id.substr(0, 8), id.substr(9, 4)), "018bcfe5687b") << id;
  // Sub-millisecond parts of `now` are dropped, not rounded up.
  const std::string id2 =
      NewOperationId(absl::FromUnixMillis(ms) + absl::Microseconds(999));
  EXPECT_EQ(id2.substr(0, 13), id.substr(0, 13));
}

TEST(NewOperationIdTest, LaterTimesSortAfterEarlierOnes) {
  // Deltas of 1 ms and boundaries where a byte of the timestamp carries.
  const absl::Time bases[] = {
      kT0,
      absl::FromUnixMillis(0xff),
      absl::FromUnixMillis(0xffff),
      absl::FromUnixMillis(0xffffff),
      absl::FromUnixMillis(0xffffffffLL),
      absl::FromUnixMillis(0xffffffffffLL),
  };
  for (absl::Time base : bases) {
    for (absl::Duration delta : {absl::Milliseconds(1), absl::Milliseconds(2), absl::Seconds(1),
                                 absl::Hours(24), absl::Hours(24 * 365 * 10)}) {
      // Repeat: the random tail must never overturn the time order.
      for (int rep = 0; rep < 50; ++rep) {
        const std::string earlier = NewOperationId(base);
        const std::string later = NewOperationId(base + delta);
        EXPECT_LT(earlier, later) << "base=" << absl::FormatTime(base)
                                  << " delta=" << absl::FormatDuration(delta);
      }
    }
  }
}

TEST(NewOperationIdTest, SameMillisecondSharesTimePrefix) {
  const std::string a = NewOperationId(kT0);
  const std::string b = NewOperationId(kT0 + absl::Microseconds(500));
  EXPECT_EQ(a.substr(0, 13), b.substr(0, 13));
  EXPECT_NE(a, b);
}

TEST(NewOperationIdTest, NoDuplicatesInTenThousand) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    // Same instant for all: uniqueness must come from the random bits.
    const std::string id = NewOperationId(kT0);
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id << " after " << i;
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IsUuidTest, Accepts) {
  EXPECT_TRUE(IsUuid("018bcfe5-687b-7abc-8def-0123456789ab"));
  EXPECT_TRUE(IsUuid("018BCFE5-687B-7ABC-8DEF-0123456789AB"));
  EXPECT_TRUE(IsUuid("018bCfE5-687b-7AbC-8dEf-0123456789aB"));
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_TRUE(IsUuid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
  // Any version/variant: IsUuid checks text shape only.
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid(NewOperationId(kT0)));
}

TEST(IsUuidTest, Rejects) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("018bcfe5-687b-7abc-8def-0123456789a"));     // 35 chars
  EXPECT_FALSE(IsUuid("018bcfe5-687b-7abc-8def-0123456789abc"));   // 37 chars
  EXPECT_FALSE(IsUuid("018bcfe5687b7abc8def0123456789ab"));        // no dashes
  EXPECT_FALSE(IsUuid("018bcfe5-687b-7abc-8def-0123456789ag"));    // 'g'
  EXPECT_FALSE(IsUuid("018bcfe5_687b-7abc-8def-0123456789ab"));    // '_' for dash
  EXPECT_FALSE(IsUuid("018bcfe56-87b-7abc-8def-0123456789ab"));    // dash misplaced
  EXPECT_FALSE(IsUuid("018bcfe5-687b-7abc-8def0-123456789ab"));    // dash misplaced
  EXPECT_FALSE(IsUuid("{18bcfe5-687b-7abc-8def-0123456789a}"));    // braces
  EXPECT_FALSE(IsUuid(" 18bcfe5-687b-7abc-8def-0123456789ab"));    // space
  EXPECT_FALSE(IsUuid("------------------------------------"));
  EXPECT_FALSE(IsUuid(std::string("018bcfe5-687b-7abc-8def-0123456789a\0", 36)));
}

TEST(OperationNameTest, Formats) {
  EXPECT_EQ(OperationName("018bcfe5-687b-7abc-8def-0123456789ab"),
            "operations/018bcfe5-687b-7abc-8def-0123456789ab");
}

TEST(ParseOperationNameTest, AcceptsAndReturnsLowerCaseId) {
  auto id = ParseOperationName("operations/018bcfe5-687b-7abc-8def-0123456789ab");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "018bcfe5-687b-7abc-8def-0123456789ab");

  auto upper = ParseOperationName("operations/018BCFE5-687B-7ABC-8DEF-0123456789AB");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(*upper, "018bcfe5-687b-7abc-8def-0123456789ab");
}

TEST(ParseOperationNameTest, RoundTripsOperationName) {
  const std::string id = NewOperationId(kT0);
  auto parsed = ParseOperationName(OperationName(id));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, id);
}

TEST(ParseOperationNameTest, EmptyIsRequired) {
  auto r = ParseOperationName("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("name"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("required"));
}

TEST(ParseOperationNameTest, RejectsMalformed) {
  const char* const kBad[] = {
      "018bcfe5-687b-7abc-8def-0123456789ab",                 // no prefix
      "operation/018bcfe5-687b-7abc-8def-0123456789ab",       // wrong prefix
      "Operations/018bcfe5-687b-7abc-8def-0123456789ab",      // prefix is case-sensitive
      "jobs/018bcfe5-687b-7abc-8def-0123456789ab",            // wrong collection
      "/operations/018bcfe5-687b-7abc-8def-0123456789ab",     // leading slash
      "operations/",                                          // no id
      "operations",                                           // no slash
      "operations/not-a-uuid",                                // bad uuid
      "operations/018bcfe5-687b-7abc-8def-0123456789ag",      // bad hex
      "operations/018bcfe5687b7abc8def0123456789ab",          // no dashes
      "operations/018bcfe5-687b-7abc-8def-0123456789ab/",     // trailing slash
      "operations/018bcfe5-687b-7abc-8def-0123456789abx",     // trailing junk
      "operations/018bcfe5-687b-7abc-8def-0123456789ab:cancel",
      "operations/018bcfe5-687b-7abc-8def-0123456789ab ",     // trailing space
  };
  for (const char* name : kBad) {
    auto r = ParseOperationName(name);
    ASSERT_FALSE(r.ok()) << name << " -> " << *r;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("name")) << name;
  }
}

TEST(ParseOperationNameTest, LongBadNameIsTruncatedInMessage) {
  const std::string name = "operations/" + std::string(500, 'x');
  auto r = ParseOperationName(name);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(r.status().message().size(), 200u) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("..."));
}

TEST(ParseOperationNameTest, CustomFieldNameAppearsInMessage) {
  auto empty = ParseOperationName("", "parent_operation");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("parent_operation"));
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("required"));

  auto bad = ParseOperationName("operations/nope", "parent_operation");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("parent_operation"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("operations/nope"));

  auto ok = ParseOperationName("operations/018bcfe5-687b-7abc-8def-0123456789ab",
                               "parent_operation");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "018bcfe5-687b-7abc-8def-0123456789ab");
}

}  // namespace
}  // namespace longrun::core
