// Shared by the worker's unit tests: an in-memory store on a fake clock, and one-line job
// fixtures. Test-only.
#ifndef LONGRUN_WORKER_WORKER_TEST_UTIL_H_
#define LONGRUN_WORKER_WORKER_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/core/ids.h"
#include "libs/store/memory/memory_operation_store.h"
#include "libs/worker/attempt.h"
#include "libs/worker/job_table.h"

namespace longrun::worker::testing {

struct JobSpec {
  std::string kind = "test.ok";
  int32_t priority = 0;
  int32_t max_attempts = 3;
  std::optional<absl::Duration> timeout;
  std::optional<absl::Time> schedule_time;
};

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : store_(clock_) {}

  // Inserts a job (1 ms after the previous one); returns its id.
  std::string Insert(JobSpec spec = {}) {
    store::OperationInsertParams p{.id = core::NewOperationId(clock_.Now())};
    p.spec.kind = spec.kind;
    p.spec.queue = "default";
    p.spec.priority = spec.priority;
    p.spec.max_attempts = spec.max_attempts;
    p.spec.timeout = spec.timeout;
    p.spec.schedule_time = spec.schedule_time;
    p.max_attempts = spec.max_attempts;
    auto r = store_.OperationInsert(p);
    EXPECT_TRUE(r.ok()) << r.status();
    clock_.Advance(absl::Milliseconds(1));  // claim order among equals is insertion order
    return p.id;
  }
  core::Operation Get(const std::string& id) {
    auto op = store_.OperationGet({.id = id});
    EXPECT_TRUE(op.ok()) << op.status();
    return op.ok() ? *op : core::Operation{};
  }
  // Claims up to `n` jobs of `kinds` into the table, as a dispatcher round would.
  std::vector<std::shared_ptr<Attempt>> Claim(int n, std::vector<std::string> kinds = {"test.ok"},
                                              absl::Duration lease = absl::Seconds(30)) {
    auto claimed =
        store_.JobClaim({.worker_id = "w1", .kinds = std::move(kinds), .limit = n, .lease = lease});
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    std::vector<std::shared_ptr<Attempt>> out;
    if (!claimed.ok()) return out;
    for (store::ClaimedJob& job : *claimed) {
      out.push_back(std::make_shared<Attempt>(std::move(job), clock_));
      table_.Add(out.back());
    }
    return out;
  }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_;
  JobTable table_;
};

}  // namespace longrun::worker::testing

#endif  // LONGRUN_WORKER_WORKER_TEST_UTIL_H_
