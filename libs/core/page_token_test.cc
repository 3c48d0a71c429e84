#include "libs/core/page_token.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

using ::testing::HasSubstr;

// 2023-11-14T22:13:20.123456Z; an arbitrary fixed instant, never the wall clock.
const absl::Time kT0 = absl::FromUnixMicros(1700000000123456);
constexpr absl::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr absl::string_view kFilter = "state=QUEUED AND labels.env=prod";
constexpr absl::string_view kMacError = "was not issued by this service or was modified";
constexpr absl::string_view kFilterError =
    "was issued for a different filter; start again without page_token";

PageCursor Cursor() { return {kT0, "018bd3b6-9a10-7c2e-8f00-0123456789ab"}; }

void ExpectRejected(const absl::StatusOr<PageCursor>& decoded, absl::string_view message) {
  ASSERT_FALSE(decoded.ok()) << "accepted";
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr(absl::StrCat("page_token: ", message)));
}

TEST(PageTokenTest, RoundTrips) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  absl::StatusOr<PageCursor> decoded = DecodePageToken(token, kFilter, kSecret);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->create_time, kT0);
  EXPECT_EQ(decoded->id, "018bd3b6-9a10-7c2e-8f00-0123456789ab");
  EXPECT_EQ(*decoded, Cursor());
}

TEST(PageTokenTest, RoundTripsEdgeCursors) {
  for (const PageCursor& cursor : {
           PageCursor{absl::UnixEpoch(), "00000000-0000-0000-0000-000000000000"},
           PageCursor{absl::FromUnixMicros(-1), "ffffffff-ffff-ffff-ffff-ffffffffffff"},
           PageCursor{absl::FromUnixMicros(std::numeric_limits<int64_t>::min()),
                      "00000000-0000-0000-0000-000000000001"},
           PageCursor{absl::FromUnixMicros(std::numeric_limits<int64_t>::max()),
                      "80000000-0000-0000-0000-000000000000"},
       }) {
    for (absl::string_view filter : {absl::string_view(), kFilter}) {
      const std::string token = EncodePageToken(cursor, filter, kSecret);
      absl::StatusOr<PageCursor> decoded = DecodePageToken(token, filter, kSecret);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(*decoded, cursor) << token;
    }
  }
}

TEST(PageTokenTest, UpperCaseIdDecodesLowerCase) {
  const std::string token =
      EncodePageToken({kT0, "018BD3B6-9A10-7C2E-8F00-0123456789AB"}, kFilter, kSecret);
  absl::StatusOr<PageCursor> decoded = DecodePageToken(token, kFilter, kSecret);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->id, "018bd3b6-9a10-7c2e-8f00-0123456789ab");
}

TEST(PageTokenTest, TimeIsKeptToTheMicrosecondRoundedDown) {
  const PageCursor cursor{kT0 + absl::Nanoseconds(999), Cursor().id};
  absl::StatusOr<PageCursor> decoded =
      DecodePageToken(EncodePageToken(cursor, kFilter, kSecret), kFilter, kSecret);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->create_time, kT0);
}

TEST(PageTokenTest, HasTheDocumentedLayout) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  EXPECT_EQ(token.size(), 66u);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  ASSERT_EQ(raw.size(), 49u);
  EXPECT_EQ(raw[0], '\x01');  // version
  EXPECT_EQ(absl::BytesToHexString(raw.substr(1, 8)), "00060a2418202240");  // 1700000000123456
  EXPECT_EQ(absl::BytesToHexString(raw.substr(9, 16)), "018bd3b69a107c2e8f000123456789ab");
}

TEST(PageTokenTest, IsDeterministicAndUrlSafe) {
  EXPECT_EQ(EncodePageToken(Cursor(), kFilter, kSecret),
            EncodePageToken(Cursor(), kFilter, kSecret));
  // Many cursors so every base64 character position sees varied bytes.
  for (int i = 0; i < 500; ++i) {
    const std::string id = absl::StrCat(absl::Hex(i * 2654435761u, absl::kZeroPad8),
                                        "-ffbf-fefe-3f3e-", absl::Hex(i * 40503, absl::kZeroPad12));
    const std::string token =
        EncodePageToken({kT0 + absl::Microseconds(i * 977), id}, absl::StrCat("f", i), kSecret);
    for (char c : token) {
      const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_';
      ASSERT_TRUE(url_safe) << token;
    }
    ASSERT_TRUE(DecodePageToken(token, absl::StrCat("f", i), kSecret).ok()) << token;
  }
}

TEST(PageTokenTest, EveryTamperedByteIsRejected) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::string bad = raw;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      absl::StatusOr<PageCursor> decoded =
          DecodePageToken(absl::WebSafeBase64Escape(bad), kFilter, kSecret);
      ASSERT_FALSE(decoded.ok()) << "byte " << i << " flip " << flip;
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
      // The version byte has its own message; every other byte fails the MAC.
      EXPECT_THAT(std::string(decoded.status().message()),
                  HasSubstr(i == 0 ? "unsupported version" : kMacError))
          << "byte " << i;
    }
  }
}

TEST(PageTokenTest, EveryTamperedCharacterIsRejected) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  static constexpr absl::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : kAlphabet) {
      if (c == token[i]) continue;
      std::string bad = token;
      bad[i] = c;
      // Includes the last character, whose two low bits are unused by base64: a token that
      // decodes to the same bytes must still be refused.
      EXPECT_FALSE(DecodePageToken(bad, kFilter, kSecret).ok()) << "position " << i << " " << c;
    }
  }
}

TEST(PageTokenTest, WrongSecretIsRejected) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  ExpectRejected(DecodePageToken(token, kFilter, "another secret"), kMacError);
  ExpectRejected(DecodePageToken(token, kFilter, ""), kMacError);
}

TEST(PageTokenTest, EmptySecretStillSignsConsistently) {
  const std::string token = EncodePageToken(Cursor(), kFilter, "");
  EXPECT_TRUE(DecodePageToken(token, kFilter, "").ok());
  ExpectRejected(DecodePageToken(token, kFilter, kSecret), kMacError);
}

TEST(PageTokenTest, OtherFilterIsRejected) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  ExpectRejected(DecodePageToken(token, "state=RUNNING", kSecret), kFilterError);
  ExpectRejected(DecodePageToken(token, "", kSecret), kFilterError);
  // The filter text is bound exactly, even where the meaning is the same.
  ExpectRejected(DecodePageToken(token, absl::StrCat(kFilter, " "), kSecret), kFilterError);
  const std::string unfiltered = EncodePageToken(Cursor(), "", kSecret);
  ExpectRejected(DecodePageToken(unfiltered, kFilter, kSecret), kFilterError);
  EXPECT_TRUE(DecodePageToken(unfiltered, "", kSecret).ok());
}

TEST(PageTokenTest, GarbageIsRejected) {
  const std::string token = EncodePageToken(Cursor(), kFilter, kSecret);
  ExpectRejected(DecodePageToken("", kFilter, kSecret), "is empty");
  ExpectRejected(DecodePageToken("not a token", kFilter, kSecret), "is not base64url");
  ExpectRejected(DecodePageToken(token + "=", kFilter, kSecret), "is not base64url");
  ExpectRejected(DecodePageToken(token + "==", kFilter, kSecret), "is not base64url");
  std::string standard_alphabet = token;  // '+' and '/' belong to plain base64
  standard_alphabet[3] = '+';
  ExpectRejected(DecodePageToken(standard_alphabet, kFilter, kSecret), "is not base64url");
  ExpectRejected(DecodePageToken(std::string(1, '\0'), kFilter, kSecret), "is not base64url");
  ExpectRejected(DecodePageToken("abc", kFilter, kSecret),
                 "has the wrong length (3 characters, expected 66)");
  ExpectRejected(DecodePageToken(token.substr(0, 65), kFilter, kSecret), "has the wrong length");
  ExpectRejected(DecodePageToken(token + "A", kFilter, kSecret), "has the wrong length");
  ExpectRejected(DecodePageToken(token + token, kFilter, kSecret), "has the wrong length");
  ExpectRejected(DecodePageToken(std::string(66, 'A'), kFilter, kSecret),
                 "has unsupported version 0");
  ExpectRejected(DecodePageToken("_w" + std::string(64, 'A'), kFilter, kSecret),
                 "has unsupported version 255");
  // A version-1 payload with a zero MAC.
  std::string forged(49, '\0');
  forged[0] = '\x01';
  ExpectRejected(DecodePageToken(absl::WebSafeBase64Escape(forged), kFilter, kSecret),
                 kMacError);
}

TEST(ResolvePageSizeTest, AppliesDefaultAndCap) {
  EXPECT_EQ(ResolvePageSize(0).value(), 50);
  EXPECT_EQ(ResolvePageSize(1).value(), 1);
  EXPECT_EQ(ResolvePageSize(50).value(), 50);
  EXPECT_EQ(ResolvePageSize(999).value(), 999);
  EXPECT_EQ(ResolvePageSize(1000).value(), 1000);
  EXPECT_EQ(ResolvePageSize(1001).value(), 1000);
  EXPECT_EQ(ResolvePageSize(std::numeric_limits<int32_t>::max()).value(), 1000);
}

TEST(ResolvePageSizeTest, RejectsNegative) {
  for (int32_t n : {-1, -50, std::numeric_limits<int32_t>::min()}) {
    absl::StatusOr<int32_t> size = ResolvePageSize(n);
    ASSERT_FALSE(size.ok()) << n;
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(size.status().message(), "page_size: must not be negative");
  }
}

TEST(PageTokenDeathTest, EncodeRefusesNonUuidIds) {
  EXPECT_DEATH(EncodePageToken({kT0, "not-a-uuid"}, kFilter, kSecret), "IsUuid");
}

}  // namespace
}  // namespace longrun::core
