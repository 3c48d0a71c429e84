#include "libs/core/lease_token.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/page_token.h"

namespace longrun::core {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kSecret = "0123456789abcdef0123456789abcdef";
const LeaseClaim kClaim{.id = "0190a5b6-1c2d-7e3f-8a9b-0c1d2e3f4a5b",
                        .attempt = 3,
                        .max_attempts = 5,
                        .lease = absl::Seconds(45)};

TEST(LeaseTokenTest, RoundTrips) {
  const std::string token = EncodeLeaseToken(kClaim, kSecret);
  auto claim = DecodeLeaseToken(token, kSecret);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(*claim, kClaim);
  LeaseClaim timed = kClaim;
  timed.deadline = absl::FromUnixMicros(1'800'000'000'123'456);
  EXPECT_EQ(*DecodeLeaseToken(EncodeLeaseToken(timed, kSecret), kSecret), timed);
  LeaseClaim upper = kClaim;
  upper.id = "0190A5B6-1C2D-7E3F-8A9B-0C1D2E3F4A5B";
  EXPECT_EQ(DecodeLeaseToken(EncodeLeaseToken(upper, kSecret), kSecret)->id, kClaim.id);
}

TEST(LeaseTokenTest, RefusesEveryModificationAndOtherSecrets) {
  const std::string token = EncodeLeaseToken(kClaim, kSecret);
  for (size_t i = 0; i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto claim = DecodeLeaseToken(bad, kSecret);
    ASSERT_FALSE(claim.ok()) << "byte " << i;
    EXPECT_EQ(claim.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(claim.status().message(), HasSubstr("lease_token: "));
  }
  EXPECT_FALSE(DecodeLeaseToken(token, "another secret").ok());
  EXPECT_THAT(DecodeLeaseToken("", kSecret).status().message(), HasSubstr("is empty"));
  EXPECT_THAT(DecodeLeaseToken("a+b", kSecret).status().message(), HasSubstr("base64url"));
  EXPECT_THAT(DecodeLeaseToken(token + "AAAA", kSecret).status().message(),
              HasSubstr("wrong length"));
}

TEST(LeaseTokenTest, APageTokenIsNeverALeaseToken) {
  const std::string page = EncodePageToken({absl::FromUnixSeconds(1), kClaim.id}, "", kSecret);
  EXPECT_EQ(DecodeLeaseToken(page, kSecret).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace longrun::core
