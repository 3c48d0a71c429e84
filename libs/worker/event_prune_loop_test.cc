#include "libs/worker/event_prune_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace longrun::worker {
namespace {

// Hands out the scripted results of EventPrune in order and records the calls.
class ScriptedEventLog : public store::EventLog {
 public:
  absl::StatusOr<store::EventCursor> EventHead() override { return store::EventCursor{}; }
  absl::StatusOr<store::EventReadResult> EventRead(const store::EventReadParams&) override {
    return store::EventReadResult{};
  }
  absl::StatusOr<int> EventPrune(absl::Duration older_than, int32_t limit) override {
    calls.push_back({older_than, limit});
    if (results.empty()) return 0;
    absl::StatusOr<int> r = results.front();
    results.erase(results.begin());
    return r;
  }
  std::vector<absl::StatusOr<int>> results;
  std::vector<std::pair<absl::Duration, int32_t>> calls;
};

TEST(EventPruneLoopTest, DeletesFullBatchesUntilAShortOne) {
  ScriptedEventLog log;
  log.results = {10, 10, 3, 10};
  EventPruneLoop loop({.retention = absl::Hours(2), .batch = 10}, log);
  EventPruneRunResult r = loop.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.deleted, 23);
  ASSERT_EQ(log.calls.size(), 3u);
  EXPECT_EQ(log.calls[0].first, absl::Hours(2));
  EXPECT_EQ(log.calls[0].second, 10);
}

TEST(EventPruneLoopTest, TakesTheWholeBacklogAndStopsWhenAsked) {
  ScriptedEventLog log;
  log.results = std::vector<absl::StatusOr<int>>(100, 10);
  log.results.push_back(4);
  EventPruneLoop all({.batch = 10}, log);
  EXPECT_EQ(all.RunOnce().deleted, 1004);  // no per-pass cap: retention keeps up
  log.results = {10, 10, 10};
  bool stop = true;
  EventPruneLoop stopping({.batch = 10}, log, [&stop] { return stop; });
  EXPECT_EQ(stopping.RunOnce().deleted, 10);
}

TEST(EventPruneLoopTest, AFailureEndsThePassAndIsReported) {
  ScriptedEventLog log;
  log.results = {10, absl::UnavailableError("down"), 10};
  EventPruneLoop loop({.batch = 10}, log);
  EventPruneRunResult r = loop.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.deleted, 10);
  EXPECT_EQ(log.calls.size(), 2u);
}

}  // namespace
}  // namespace longrun::worker
