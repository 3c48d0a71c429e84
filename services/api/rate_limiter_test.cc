#include "services/api/rate_limiter.h"

#include "gtest/gtest.h"
#include "libs/common/clock.h"

namespace longrun::api {
namespace {

TEST(RateLimitTest, ParsesRateAndBurstAndRefusesNonsense) {
  EXPECT_EQ(RateLimit::Parse("10", "f")->burst, 10);
  EXPECT_EQ(RateLimit::Parse("0.5", "f")->burst, 1);
  EXPECT_EQ(RateLimit::Parse("10,50", "f")->burst, 50);
  EXPECT_TRUE(RateLimit::Parse("0", "f")->unlimited());
  EXPECT_TRUE(RateLimit::Parse("off", "f")->unlimited());
  for (const char* bad : {"", "x", "-1", "10,0", "10,20,30", "nan", "inf"}) {
    auto r = RateLimit::Parse(bad, "rate-limit-submit");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("--rate-limit-submit"), absl::string_view::npos);
    }
  }
}

TEST(TenantRateLimiterTest, BurstThenRateAndTenantsAreIndependent) {
  FakeClock clock;
  TenantRateLimiter limiter({.rate = 2, .burst = 3}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Take("a").has_value()) << i;
  const auto wait = limiter.Take("a");
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Milliseconds(500));  // one token at 2/s
  EXPECT_FALSE(limiter.Take("b").has_value());  // b has its own bucket
  clock.Advance(absl::Milliseconds(500));
  EXPECT_FALSE(limiter.Take("a").has_value());
  EXPECT_TRUE(limiter.Take("a").has_value());
}

TEST(TenantRateLimiterTest, UnlimitedNeverRefusesAndIdleBucketsAreDropped) {
  FakeClock clock;
  TenantRateLimiter unlimited({}, clock);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(unlimited.Take("a").has_value());
  TenantRateLimiter limiter({.rate = 10, .burst = 10}, clock);
  for (int i = 0; i < 100; ++i) limiter.Take("tenant-" + std::to_string(i));
  EXPECT_EQ(limiter.BucketsForTest(), 100u);
  clock.Advance(absl::Seconds(2));  // every bucket is full again
  limiter.Take("new");
  EXPECT_EQ(limiter.BucketsForTest(), 1u);
}

}  // namespace
}  // namespace longrun::api
