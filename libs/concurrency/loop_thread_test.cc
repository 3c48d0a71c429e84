#include "libs/concurrency/loop_thread.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace longrun::concurrency {
namespace {

// Failed passes are retried after a short back-off, not after the (hour-long) interval; a
// pass that worked waits the interval; Stop interrupts the wait.
TEST(LoopThreadTest, RetriesFailuresSoonWaitsTheIntervalAfterSuccessStopsAtOnce) {
  std::atomic<int> calls{0};
  absl::Notification succeeded;
  LoopThread loop({.interval = absl::Hours(1),
                   .first_delay = absl::ZeroDuration(),
                   .min_backoff = absl::Milliseconds(1)},
                  [&] {
                    const int n = ++calls;
                    if (n < 6) return false;
                    succeeded.Notify();
                    return true;
                  });
  loop.Start();
  ASSERT_TRUE(succeeded.WaitForNotificationWithTimeout(absl::Seconds(60)));
  loop.Stop();  // would take an hour if Stop did not interrupt the wait
  EXPECT_EQ(calls.load(), 6);
}

TEST(LoopThreadTest, StopBeforeTheFirstPassRunsNothing) {
  std::atomic<int> calls{0};
  LoopThread loop({.interval = absl::Hours(1), .first_delay = absl::Hours(1)}, [&] {
    ++calls;
    return true;
  });
  loop.Start();
  loop.Stop();
  loop.Stop();  // idempotent
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace longrun::concurrency
