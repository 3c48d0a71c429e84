#include "libs/common/backoff.h"

#include <vector>

#include "gtest/gtest.h"

namespace longrun {
namespace {

TEST(BackoffTest, WithoutJitterDoublesUpToTheCapAndResets) {
  Backoff backoff({.initial = absl::Milliseconds(50), .max = absl::Seconds(1), .jitter = 0});
  std::vector<absl::Duration> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.Next());
  EXPECT_EQ(delays, (std::vector<absl::Duration>{
                        absl::Milliseconds(50), absl::Milliseconds(100), absl::Milliseconds(200),
                        absl::Milliseconds(400), absl::Milliseconds(800), absl::Seconds(1),
                        absl::Seconds(1), absl::Seconds(1)}));
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(50));
}

TEST(BackoffTest, JitterShortensEachDelayWithinItsShare) {
  const BackoffConfig config{.initial = absl::Milliseconds(100), .max = absl::Seconds(5),
                             .multiplier = 3, .jitter = 0.25};
  Backoff backoff(config, /*seed=*/7);
  absl::Duration nominal = config.initial;
  bool any_shortened = false;
  for (int i = 0; i < 50; ++i) {
    const absl::Duration d = backoff.Next();
    EXPECT_LE(d, nominal) << "attempt " << i;
    EXPECT_GT(d, nominal * 0.75) << "attempt " << i;
    if (d < nominal) any_shortened = true;
    nominal = std::min(nominal * 3, config.max);
  }
  EXPECT_TRUE(any_shortened);
}

TEST(BackoffTest, FullJitterSpreadsDelaysBetweenZeroAndTheNominal) {
  Backoff backoff({.initial = absl::Seconds(1), .max = absl::Seconds(1), .jitter = 1}, 1);
  absl::Duration lowest = absl::InfiniteDuration(), highest = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration d = backoff.Next();
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Seconds(1));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, absl::Milliseconds(100));
  EXPECT_GT(highest, absl::Milliseconds(900));
}

TEST(BackoffTest, TheSameSeedGivesTheSameDelays) {
  const BackoffConfig config;
  Backoff a(config, 42), b(config, 42), c(config, 43);
  std::vector<absl::Duration> da, db, dc;
  for (int i = 0; i < 10; ++i) {
    da.push_back(a.Next());
    db.push_back(b.Next());
    dc.push_back(c.Next());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

}  // namespace
}  // namespace longrun
