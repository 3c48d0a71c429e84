#include "libs/concurrency/executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace longrun::concurrency {
namespace {

TEST(ExecutorTest, RunsEveryPostedClosure) {
  std::atomic<int> ran{0};
  {
    Executor ex("test", 3, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(ex.Post([&] { ran.fetch_add(1); }));
  }  // destructor drains
  EXPECT_EQ(ran.load(), 500);
}

TEST(ExecutorTest, RefusesWhenQueueIsFull) {
  Executor ex("test", 1, 2);
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(ex.Post([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_TRUE(ex.Post([] {}));
  EXPECT_TRUE(ex.Post([] {}));
  EXPECT_FALSE(ex.Post([] {}));  // queue holds 2
  release.Notify();
}

TEST(ExecutorTest, RefusesAfterShutdown) {
  Executor ex("test", 2, 10);
  ex.Shutdown();
  EXPECT_FALSE(ex.Post([] {}));
  ex.Shutdown();  // idempotent
}

}  // namespace
}  // namespace longrun::concurrency
