#include "libs/webhook/retry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using store::DeliveryResult;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const RetryConfig kConfig;  // 5s base, 1h cap, 24h window

RandomFraction Fixed(double value) {
  return [value] { return value; };
}

TEST(RetryTest, TwoHundredsAreDeliveredAndFourTenIsGone) {
  for (int status : {200, 201, 202, 204, 299}) {
    RetryDecision d = DecideRetry(kConfig, {.http_status = status}, 1, kNow, kNow, Fixed(0.5));
    EXPECT_EQ(d.result, DeliveryResult::kDelivered) << status;
    EXPECT_EQ(d.error, "");
  }
  RetryDecision gone = DecideRetry(kConfig, {.http_status = 410}, 3, kNow, kNow, Fixed(0.5));
  EXPECT_EQ(gone.result, DeliveryResult::kGone);
  EXPECT_THAT(gone.error, HasSubstr("410"));
}

TEST(RetryTest, EverythingElseRetriesWithItsReason) {
  const struct {
    AttemptAnswer answer;
    const char* error;
  } cases[] = {
      {{.http_status = 0, .error = "Connection refused"}, "Connection refused"},
      {{.http_status = 0, .error = "callback host \"x\" resolves to 127.0.0.1 (loopback)"},
       "(loopback)"},
      {{.http_status = 302}, "HTTP 302: redirect not followed"},
      {{.http_status = 400}, "HTTP 400"},
      {{.http_status = 404}, "HTTP 404"},
      {{.http_status = 500}, "HTTP 500"},
      {{.http_status = 100}, "HTTP 100"},
  };
  for (const auto& c : cases) {
    RetryDecision d = DecideRetry(kConfig, c.answer, 1, kNow, kNow, Fixed(0.5));
    EXPECT_EQ(d.result, DeliveryResult::kRetry) << c.error;
    EXPECT_THAT(d.error, HasSubstr(c.error));
    EXPECT_EQ(d.next_attempt_time, kNow + absl::Milliseconds(2500)) << c.error;
  }
}

TEST(RetryTest, FullJitterUnderADoublingCeilingUpToTheCap) {
  const AttemptAnswer answer{.http_status = 500};
  const struct {
    int attempt;
    absl::Duration ceiling;
  } cases[] = {{1, absl::Seconds(5)},   {2, absl::Seconds(10)},  {3, absl::Seconds(20)},
               {10, absl::Seconds(2560)}, {11, absl::Hours(1)}, {1000, absl::Hours(1)}};
  for (const auto& c : cases) {
    EXPECT_EQ(DecideRetry(kConfig, answer, c.attempt, kNow, kNow, Fixed(0.0)).next_attempt_time,
              kNow)
        << c.attempt;
    EXPECT_EQ(DecideRetry(kConfig, answer, c.attempt, kNow, kNow, Fixed(0.999999))
                  .next_attempt_time,
              kNow + c.ceiling * 0.999999)
        << c.attempt;
  }
  // The default source stays inside the bounds.
  RandomFraction random = DefaultRandomFraction();
  for (int i = 0; i < 1000; ++i) {
    RetryDecision d = DecideRetry(kConfig, answer, 3, kNow, kNow, random);
    ASSERT_GE(d.next_attempt_time, kNow);
    ASSERT_LT(d.next_attempt_time, kNow + absl::Seconds(20));
  }
}

TEST(RetryTest, RetryAfterOnFourTwentyNineAndFiveOhThreeIsHonouredUpToTheCap) {
  for (int status : {429, 503}) {
    RetryDecision d = DecideRetry(
        kConfig, {.http_status = status, .retry_after = absl::Seconds(90)}, 1, kNow, kNow,
        Fixed(0.0));
    EXPECT_EQ(d.result, DeliveryResult::kRetry);
    EXPECT_EQ(d.next_attempt_time, kNow + absl::Seconds(90)) << status;
    EXPECT_THAT(d.error, HasSubstr("Retry-After"));
    RetryDecision capped = DecideRetry(
        kConfig, {.http_status = status, .retry_after = absl::Hours(5)}, 1, kNow, kNow,
        Fixed(0.0));
    EXPECT_EQ(capped.next_attempt_time, kNow + absl::Hours(1)) << status;
  }
  // Other statuses ignore it.
  RetryDecision d = DecideRetry(
      kConfig, {.http_status = 500, .retry_after = absl::Seconds(90)}, 1, kNow, kNow, Fixed(0.0));
  EXPECT_EQ(d.next_attempt_time, kNow);
}

TEST(RetryTest, DeadWhenTheNextAttemptFallsPastTheWindow) {
  const AttemptAnswer answer{.http_status = 500};
  const absl::Time from = kNow - absl::Hours(24) + absl::Seconds(10);
  // Due 5 s later: inside the window.
  EXPECT_EQ(DecideRetry(kConfig, answer, 1, kNow, from, Fixed(1.0)).result,
            DeliveryResult::kRetry);
  // Due up to 20 s later: 10 s past it.
  RetryDecision dead = DecideRetry(kConfig, answer, 3, kNow, from, Fixed(0.9));
  EXPECT_EQ(dead.result, DeliveryResult::kDead);
  EXPECT_THAT(dead.error, HasSubstr("HTTP 500; retries ran out after 24h"));
  // Delivered and gone are final whatever the window.
  EXPECT_EQ(DecideRetry(kConfig, {.http_status = 200}, 99, kNow, kNow - absl::Hours(100),
                        Fixed(0.5))
                .result,
            DeliveryResult::kDelivered);
}

}  // namespace
}  // namespace longrun::webhook
