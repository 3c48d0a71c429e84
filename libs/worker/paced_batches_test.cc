#include "libs/worker/paced_batches.h"

#include <vector>

#include "gtest/gtest.h"

namespace longrun::worker {
namespace {

// Each batch "takes" the time the script says, on a fake clock; pauses are recorded.
struct Script {
  FakeClock clock;
  std::vector<absl::Duration> pauses;
  Pacing pacing(double ratio) {
    return {.pause_ratio = ratio,
            .clock = &clock,
            .sleep = [this](absl::Duration d) { pauses.push_back(d); }};
  }
};

TEST(PacedBatchesTest, PausesAfterEachFullBatchInProportionToItsDuration) {
  Script s;
  std::vector<int> rows = {5, 5, 2, 5};
  std::vector<absl::Duration> took = {absl::Milliseconds(10), absl::Milliseconds(30),
                                      absl::Milliseconds(7), absl::Milliseconds(1)};
  size_t i = 0;
  const PacedResult r = RunPacedBatches(
      5, s.pacing(0.5),
      [&]() -> absl::StatusOr<int> {
        s.clock.Advance(took[i]);
        return rows[i++];
      },
      nullptr);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.done, 12);
  EXPECT_EQ(r.batches, 3);  // the short third batch ends the run, without a pause after it
  EXPECT_EQ(s.pauses, (std::vector<absl::Duration>{absl::Milliseconds(5), absl::Milliseconds(15)}));
}

TEST(PacedBatchesTest, NoPauseRatioRunsBackToBack) {
  Script s;
  int calls = 0;
  const PacedResult r = RunPacedBatches(
      3, s.pacing(0),
      [&]() -> absl::StatusOr<int> {
        s.clock.Advance(absl::Seconds(1));
        return ++calls < 4 ? 3 : 0;
      },
      nullptr);
  EXPECT_EQ(r.done, 9);
  EXPECT_TRUE(s.pauses.empty());
}

TEST(PacedBatchesTest, AnErrorEndsTheRunWithWhatWasDone) {
  Script s;
  int calls = 0;
  const PacedResult r = RunPacedBatches(
      2, s.pacing(1),
      [&]() -> absl::StatusOr<int> {
        if (++calls == 3) return absl::UnavailableError("down");
        return 2;
      },
      nullptr);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.done, 4);
  EXPECT_EQ(r.batches, 3);
}

TEST(PacedBatchesTest, StoppingIsCheckedAfterABatchAndAfterAPause) {
  Script s;
  int calls = 0;
  bool stop = false;
  const PacedResult r = RunPacedBatches(
      1, Pacing{.pause_ratio = 1,
                .clock = &s.clock,
                .sleep = [&](absl::Duration) { stop = true; }},  // asked to stop mid-pause
      [&]() -> absl::StatusOr<int> {
        ++calls;
        s.clock.Advance(absl::Milliseconds(2));
        return 1;
      },
      [&] { return stop; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.done, 1);
}

TEST(PacedBatchesTest, ALongPauseIsSlicedSoAStopEndsItEarly) {
  Script s;
  bool stop = false;
  std::vector<absl::Duration> slept;
  const PacedResult r = RunPacedBatches(
      1,
      Pacing{.pause_ratio = 9,
             .clock = &s.clock,
             .sleep =
                 [&](absl::Duration d) {
                   slept.push_back(d);
                   if (slept.size() == 3) stop = true;
                 }},
      [&]() -> absl::StatusOr<int> {
        s.clock.Advance(absl::Milliseconds(100));  // a slow batch: a 900 ms pause
        return 1;
      },
      [&] { return stop; });
  EXPECT_EQ(r.batches, 1);
  EXPECT_EQ(slept, (std::vector<absl::Duration>(3, absl::Milliseconds(50))));
}

TEST(PacedBatchesTest, ASizeOfZeroOrAnEmptyBatchEndsTheRun) {
  Script s;
  int calls = 0;
  const PacedResult r = RunPacedBatches(
      0, s.pacing(1),
      [&]() -> absl::StatusOr<int> {
        ++calls;
        return 0;
      },
      nullptr);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.done, 0);
}

}  // namespace
}  // namespace longrun::worker
