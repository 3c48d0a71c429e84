// DispatchLoop: the worker's hot path. Each round is one statement: record the successes
// handlers returned since the last round, and claim as many jobs as there are free slots
// (FOR UPDATE SKIP LOCKED). Claimed jobs go into the JobTable and to `start` (which runs
// their handlers on the runner threads).
//
// Run() is the thread body (one or two dispatchers per worker share one DispatchLoop).
// It is woken by NOTIFY (Wake), a handler returning (HandlerReturned) or the poll interval.
// While handlers are busy it waits up to `linger` for a quarter of the slots to free up, so
// a backlog moves in batches; in a steady stream of short jobs, finished jobs wait up to
// `linger` for the next wake-up so recording and claiming share one round. RunOnce() is one
// round without the waiting, for tests.
#ifndef LONGRUN_WORKER_DISPATCH_LOOP_H_
#define LONGRUN_WORKER_DISPATCH_LOOP_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/store/operation_store.h"
#include "libs/worker/attempt.h"
#include "libs/worker/job_table.h"

namespace longrun::worker {

struct DispatchConfig {
  std::string worker_id;
  std::vector<std::string> kinds;   // claim only these (must not be empty to claim)
  std::vector<std::string> queues;  // empty: every queue
  int concurrency = 8;              // slots: handlers running at once, and the largest claim
  absl::Duration lease_duration = absl::Seconds(30);
  // Claim at least this often (retries and scheduled jobs coming due get no NOTIFY).
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration linger = absl::Milliseconds(2);
  absl::Duration min_backoff = absl::Milliseconds(100);  // after a failed round
  absl::Duration max_backoff = absl::Seconds(5);
};

struct DispatchRunResult {
  bool ok = true;    // false: the database refused or was unreachable (nothing claimed)
  int recorded = 0;  // successes recorded
  int fenced = 0;    // successes whose attempt was no longer current (ignored)
  int lost = 0;      // successes dropped: their lease had surely run out during an outage
  int claimed = 0;   // jobs claimed and started
};

class DispatchLoop {
 public:
  using StartFn = std::function<void(std::shared_ptr<Attempt>)>;

  DispatchLoop(DispatchConfig config, store::OperationStore& store, JobTable& table,
               const Clock& clock, StartFn start);

  // One round now: records what finished and claims up to the free slots (none once
  // StopClaiming was called).
  DispatchRunResult RunOnce();
  // Thread body: rounds until Exit() (then it records what is finished and returns).
  void Run();

  // Runnable jobs may exist (NOTIFY, reconnect).
  void Wake();
  // A handler returned. `success`: its result, recorded by the next round; nullopt: the
  // runner recorded the outcome itself (or there is none to record).
  void HandlerReturned(const store::JobRef& ref, std::optional<store::JobCompleteParams> success);

  // Drain, step 1: no more claims.
  void StopClaiming();
  // Drain, step 2: waits (each bounded by `grace`) for rounds in flight to finish claiming,
  // then for every handler to return. True if none is running.
  bool WaitIdle(absl::Duration grace);
  // Drain, step 3: Run() records the successes still waiting, then returns.
  void Exit();

  int running() const;
  int64_t claimed_total() const { return claimed_total_.load(); }

 private:
  // A success waiting for the next round.
  struct Finished {
    store::JobCompleteParams params;
    absl::Time give_up;  // the lease has surely run out by then: the job is rescued elsewhere
  };
  // Free slots worth a round while handlers are busy: a quarter of them.
  int MinBatch() const { return std::max(1, config_.concurrency / 4); }
  int FreeSlotsLocked() const { return config_.concurrency - running_ - reserved_; }
  // The trace id of a held attempt, for log lines ("" once it is forgotten).
  std::string TraceOf(const store::JobCompleteParams& params) const;
  // One round with mu_ held by `lock` (released during the statement).
  DispatchRunResult RoundLocked(int limit, std::unique_lock<std::mutex>& lock);
  // After PostgreSQL refused a round's batch: records each success alone; a result it
  // refuses fails its attempt (INTERNAL). Unreachable database: kept for the next round.
  void RecordOneByOne(std::vector<Finished>& batch, std::unique_lock<std::mutex>& lock,
                      DispatchRunResult& result);

  const DispatchConfig config_;
  store::OperationStore& store_;
  JobTable& table_;
  const Clock& clock_;
  const StartFn start_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // dispatchers wait here
  std::condition_variable idle_cv_;  // WaitIdle waits here
  bool stopping_ = false;            // no more claims
  bool exit_ = false;                // Run returns once what is finished is recorded
  int reserved_ = 0;                 // slots rounds in flight may fill with what they claim
  // Dispatchers asleep waiting for any news / for a batch worth of free slots, so handlers
  // wake them only when that happened.
  int waiting_for_anything_ = 0;
  int waiting_for_batch_ = 0;
  bool more_ = true;                // there may be runnable jobs: claim when slots are free
  int running_ = 0;                 // claimed jobs whose handler has not returned
  std::vector<Finished> finished_;  // successes not yet recorded
  std::atomic<int64_t> claimed_total_{0};
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_DISPATCH_LOOP_H_
