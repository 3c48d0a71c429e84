#include "libs/core/policy.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/core/operation.h"

namespace longrun::core {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

Operation OpCreatedAgo(absl::Duration age, State state = State::kRunning) {
  Operation op;
  op.id = "018bcfe5-687b-7abc-8def-0123456789ab";
  op.state = state;
  op.create_time = kNow - age;
  op.update_time = op.create_time;
  op.run_at = op.create_time;
  return op;
}

// ---------------------------------------------------------------------------------------
// SuggestedPollDelay

TEST(SuggestedPollDelayTest, DoneIsZero) {
  for (State s : {State::kSucceeded, State::kFailed, State::kCancelled}) {
    Operation op = OpCreatedAgo(absl::Seconds(40), s);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::ZeroDuration()) << StateName(s);
    // Even a (stale) future run_at doesn't matter once done.
    op.run_at = kNow + absl::Hours(1);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::ZeroDuration()) << StateName(s);
  }
}

TEST(SuggestedPollDelayTest, YoungOperationGetsFloor) {
  for (State s : {State::kQueued, State::kRunning, State::kRetryWait, State::kCancelling}) {
    EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::ZeroDuration(), s), kNow),
              absl::Milliseconds(500))
        << StateName(s);
    EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Milliseconds(100), s), kNow),
              absl::Milliseconds(500))
        << StateName(s);
    EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(1), s), kNow),
              absl::Milliseconds(500))
        << StateName(s);
    // Exactly at the floor: age 2s / 4 = 500ms.
    EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(2), s), kNow),
              absl::Milliseconds(500))
        << StateName(s);
  }
}

TEST(SuggestedPollDelayTest, CreateTimeAfterNowGetsFloor) {
  // Clock skew between replicas: never a negative or zero delay.
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(-absl::Minutes(5)), kNow), absl::Milliseconds(500));
}

TEST(SuggestedPollDelayTest, OldOperationGetsCap) {
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(120)), kNow), absl::Seconds(30));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(121)), kNow), absl::Seconds(30));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Hours(1)), kNow), absl::Seconds(30));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Hours(24 * 365)), kNow), absl::Seconds(30));
}

TEST(SuggestedPollDelayTest, QuarterOfAgeInBetween) {
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Milliseconds(2004)), kNow),
            absl::Milliseconds(501));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(4)), kNow), absl::Seconds(1));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(10)), kNow), absl::Milliseconds(2500));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(60)), kNow), absl::Seconds(15));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(100)), kNow), absl::Seconds(25));
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(119)), kNow),
            absl::Milliseconds(29750));
  // Cancelling ops are polled the same way.
  EXPECT_EQ(SuggestedPollDelay(OpCreatedAgo(absl::Seconds(8), State::kCancelling), kNow),
            absl::Seconds(2));
}

TEST(SuggestedPollDelayTest, ScheduledInFutureWaitsAtLeastUntilRunAt) {
  for (State s : {State::kQueued, State::kRetryWait}) {
    // Young op scheduled 10 minutes out: wait until then, beyond the 30s cap.
    Operation op = OpCreatedAgo(absl::Seconds(4), s);
    op.run_at = kNow + absl::Minutes(10);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::Minutes(10)) << StateName(s);

    // Run_at sooner than the age-based delay: the age-based delay wins.
    op = OpCreatedAgo(absl::Seconds(100), s);
    op.run_at = kNow + absl::Seconds(5);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::Seconds(25)) << StateName(s);

    // Run_at just past the age-based delay.
    op.run_at = kNow + absl::Seconds(40);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::Seconds(40)) << StateName(s);

    // Run_at slightly above the floor for a young op.
    op = OpCreatedAgo(absl::Milliseconds(10), s);
    op.run_at = kNow + absl::Milliseconds(700);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::Milliseconds(700)) << StateName(s);

    // Run_at in the past changes nothing.
    op = OpCreatedAgo(absl::Seconds(10), s);
    op.run_at = kNow - absl::Seconds(3);
    EXPECT_EQ(SuggestedPollDelay(op, kNow), absl::Milliseconds(2500)) << StateName(s);
  }
}

// ---------------------------------------------------------------------------------------
// RetryDelay

void CheckJitter(const RetryPolicy& policy, int attempt, absl::Duration expected_ceiling,
                 absl::BitGenRef gen) {
  constexpr int kSamples = 2000;
  absl::Duration max_seen = absl::ZeroDuration();
  absl::Duration min_seen = absl::InfiniteDuration();
  absl::Duration sum = absl::ZeroDuration();
  for (int i = 0; i < kSamples; ++i) {
    const absl::Duration d = RetryDelay(policy, attempt, gen);
    ASSERT_GE(d, absl::ZeroDuration()) << "attempt " << attempt;
    ASSERT_LE(d, expected_ceiling) << "attempt " << attempt;
    max_seen = std::max(max_seen, d);
    min_seen = std::min(min_seen, d);
    sum += d;
  }
  EXPECT_GT(max_seen, expected_ceiling / 2) << "attempt " << attempt;
  // Full jitter: the low end is reached too, and the mean sits near the middle.
  EXPECT_LT(min_seen, expected_ceiling / 2) << "attempt " << attempt;
  const double mean_ratio = absl::FDivDuration(sum / kSamples, expected_ceiling);
  EXPECT_NEAR(mean_ratio, 0.5, 0.05) << "attempt " << attempt;
}

TEST(RetryDelayTest, FullJitterWithinExponentialCeiling_BitGen) {
  absl::BitGen gen(std::seed_seq{1, 2, 3});
  const RetryPolicy policy;  // base 1s, cap 5min
  const absl::Duration expected[] = {
      absl::Seconds(1),  absl::Seconds(2),  absl::Seconds(4),   absl::Seconds(8),
      absl::Seconds(16), absl::Seconds(32), absl::Seconds(64),  absl::Seconds(128),
      absl::Seconds(256), absl::Minutes(5), absl::Minutes(5),   absl::Minutes(5),
  };
  for (int attempt = 1; attempt <= 12; ++attempt) {
    CheckJitter(policy, attempt, expected[attempt - 1], gen);
  }
}

TEST(RetryDelayTest, FullJitterWithinExponentialCeiling_Mt19937) {
  std::mt19937 mt(12345);
  absl::BitGenRef gen(mt);
  RetryPolicy policy;
  policy.base = absl::Milliseconds(100);
  policy.cap = absl::Seconds(3);
  // 100, 200, 400, 800, 1600 ms, then capped at 3 s.
  const absl::Duration expected[] = {
      absl::Milliseconds(100), absl::Milliseconds(200),  absl::Milliseconds(400),
      absl::Milliseconds(800), absl::Milliseconds(1600), absl::Seconds(3),
      absl::Seconds(3),
  };
  for (int attempt = 1; attempt <= 7; ++attempt) {
    CheckJitter(policy, attempt, expected[attempt - 1], gen);
  }
}

TEST(RetryDelayTest, CapRespectedForLargeAttempts) {
  std::mt19937 mt(7);
  const RetryPolicy policy;
  for (int attempt : {50, 63, 64, 100, 1000, std::numeric_limits<int32_t>::max()}) {
    CheckJitter(policy, attempt, absl::Minutes(5), mt);
  }
}

TEST(RetryDelayTest, HugeCapDoesNotOverflow) {
  std::mt19937 mt(99);
  RetryPolicy policy;
  policy.base = absl::Seconds(1);
  policy.cap = absl::Hours(24 * 365 * 100);  // 100 years, > 2^31 s
  // Attempt 50 would be 2^49 s without the cap: the cap wins and nothing wraps negative.
  CheckJitter(policy, 50, policy.cap, mt);
  // Attempt 20: 2^19 s, below the cap.
  CheckJitter(policy, 20, absl::Seconds(1 << 19), mt);
}

TEST(RetryDelayTest, BaseAboveCapIsCapped) {
  std::mt19937 mt(5);
  RetryPolicy policy;
  policy.base = absl::Seconds(10);
  policy.cap = absl::Seconds(1);
  CheckJitter(policy, 1, absl::Seconds(1), mt);
  CheckJitter(policy, 3, absl::Seconds(1), mt);
}

TEST(RetryDelayTest, NonPositiveAttemptUsesBase) {
  std::mt19937 mt(11);
  const RetryPolicy policy;
  CheckJitter(policy, 0, absl::Seconds(1), mt);
  CheckJitter(policy, -5, absl::Seconds(1), mt);
}

TEST(RetryDelayTest, ZeroBaseIsZero) {
  std::mt19937 mt(3);
  RetryPolicy policy;
  policy.base = absl::ZeroDuration();
  for (int attempt : {1, 2, 10}) {
    EXPECT_EQ(RetryDelay(policy, attempt, mt), absl::ZeroDuration());
  }
}

TEST(RetryDelayTest, SameSeedSameSequence) {
  std::mt19937 a(2024);
  std::mt19937 b(2024);
  const RetryPolicy policy;
  for (int attempt = 1; attempt <= 10; ++attempt) {
    EXPECT_EQ(RetryDelay(policy, attempt, a), RetryDelay(policy, attempt, b));
  }
}

// ---------------------------------------------------------------------------------------
// IsPermanentError

TEST(IsPermanentErrorTest, ExactlyTheFivePermanentCodes) {
  using C = absl::StatusCode;
  for (C c : {C::kInvalidArgument, C::kFailedPrecondition, C::kNotFound, C::kPermissionDenied,
              C::kUnimplemented}) {
    EXPECT_TRUE(IsPermanentError(c)) << absl::StatusCodeToString(c);
  }
  for (C c : {C::kOk, C::kCancelled, C::kUnknown, C::kDeadlineExceeded, C::kAlreadyExists,
              C::kResourceExhausted, C::kAborted, C::kOutOfRange, C::kInternal,
              C::kUnavailable, C::kDataLoss, C::kUnauthenticated}) {
    EXPECT_FALSE(IsPermanentError(c)) << absl::StatusCodeToString(c);
  }
}

// ---------------------------------------------------------------------------------------
// RetryAfterFailure: the one retry decision for native and remote workers

TEST(RetryAfterFailureTest, RetriesTransientErrorsWhileAttemptsRemain) {
  absl::BitGen gen;
  const RetryPolicy policy{.base = absl::Seconds(2), .cap = absl::Seconds(2)};
  using C = absl::StatusCode;
  const auto delay = RetryAfterFailure(policy, C::kUnavailable, 1, 3, gen);
  ASSERT_TRUE(delay.has_value());
  EXPECT_LE(*delay, absl::Seconds(2));
  EXPECT_FALSE(RetryAfterFailure(policy, C::kUnavailable, 3, 3, gen).has_value());  // last
  EXPECT_FALSE(RetryAfterFailure(policy, C::kInvalidArgument, 1, 3, gen).has_value());
  EXPECT_FALSE(RetryAfterFailure(policy, C::kUnavailable, 1, 3, gen, /*retryable=*/false)
                   .has_value());
  EXPECT_TRUE(RetryAfterFailure(policy, C::kDeadlineExceeded, 1, 3, gen).has_value());
  const absl::Status timed_out = AttemptTimedOut(2);
  EXPECT_EQ(timed_out.code(), C::kDeadlineExceeded);
  EXPECT_EQ(timed_out.message(), "attempt 2 exceeded its timeout");
}

}  // namespace
}  // namespace longrun::core
