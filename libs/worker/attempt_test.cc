#include "libs/worker/attempt.h"

#include <thread>

#include "gtest/gtest.h"
#include "longrun/registry.h"

namespace longrun::worker {
namespace {

store::ClaimedJob Job(std::optional<absl::Duration> timeout = std::nullopt) {
  store::ClaimedJob job{.id = "00000000-0000-0000-0000-000000000001",
                        .kind = "test.kind",
                        .attempt = 2,
                        .max_attempts = 3,
                        .timeout = timeout};
  (*job.input.mutable_fields())["x"].set_number_value(1);
  return job;
}

TEST(AttemptTest, ExposesTheJobToTheHandler) {
  FakeClock clock;
  Attempt a(Job(absl::Seconds(10)), clock);
  EXPECT_EQ(a.kind(), "test.kind");
  EXPECT_EQ(a.attempt(), 2);
  EXPECT_EQ(a.max_attempts(), 3);
  EXPECT_EQ(a.input().fields().at("x").number_value(), 1);
  EXPECT_EQ(a.deadline(), clock.Now() + absl::Seconds(10));
  EXPECT_EQ(Attempt(Job(), clock).deadline(), absl::InfiniteFuture());
  store::ClaimedJob traced = Job();
  traced.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  EXPECT_EQ(Attempt(traced, clock).trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(AttemptTest, TimesOutOnTheInjectedClock) {
  FakeClock clock;
  Attempt a(Job(absl::Seconds(10)), clock);
  EXPECT_FALSE(a.Stopped());
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(a.StopReason().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(a.ReportProgress(50, "late"));
  EXPECT_FALSE(a.SleepFor(absl::Hours(1)));  // returns at once: the deadline passed
}

TEST(AttemptTest, ProgressLatestValueWinsAndNeverBlocks) {
  FakeClock clock;
  Attempt a(Job(), clock);
  EXPECT_FALSE(a.TakeProgress().has_value());
  for (int i = 0; i <= 100000; ++i) ASSERT_TRUE(a.ReportProgress(i % 101, "step"));
  ASSERT_TRUE(a.ReportProgress(250, "clamped"));
  auto p = a.TakeProgress();
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->percent, 100);
  EXPECT_EQ(p->message, "clamped");
  EXPECT_FALSE(a.TakeProgress().has_value());
}

TEST(AttemptTest, RestoredProgressNeverReplacesANewerValue) {
  FakeClock clock;
  Attempt a(Job(), clock);
  a.ReportProgress(10, "old");
  auto taken = a.TakeProgress();
  a.ReportProgress(20, "new");
  a.RestoreProgress(*taken);  // a failed write of "old"
  EXPECT_EQ(a.TakeProgress()->message, "new");
  a.RestoreProgress(*taken);
  EXPECT_EQ(a.TakeProgress()->message, "old");
}

TEST(AttemptTest, FirstStopReasonWinsAndWakesASleeper) {
  FakeClock clock;
  Attempt a(Job(), clock);
  std::thread stopper([&] { a.Stop(absl::CancelledError("cancellation requested")); });
  EXPECT_FALSE(a.SleepFor(absl::Hours(1)));  // would hang the test if Stop did not wake it
  stopper.join();
  a.Stop(absl::AbortedError("later"));
  EXPECT_EQ(a.StopReason().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(a.ReportProgress(1, "x"));
}

TEST(RegistryTest, RegistersValidKindsOnce) {
  Registry r;
  Handler h = [](JobContext&) -> absl::StatusOr<google::protobuf::Struct> {
    return google::protobuf::Struct();
  };
  EXPECT_TRUE(r.Register("b.kind", h).ok());
  EXPECT_TRUE(r.Register("a.kind", h).ok());
  EXPECT_EQ(r.Register("a.kind", h).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Register("Bad Kind", h).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register("c.kind", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Kinds(), (std::vector<std::string>{"a.kind", "b.kind"}));
  EXPECT_NE(r.Find("a.kind"), nullptr);
  EXPECT_EQ(r.Find("c.kind"), nullptr);
}

}  // namespace
}  // namespace longrun::worker
