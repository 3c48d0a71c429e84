// Worker: claims jobs of the kinds it has handlers for and runs them.
//
// Threads, all created at Start():
//  - dispatchers (two from 64 slots, else one): the only threads on the hot path that talk
//    to the database (while one round is in flight the other can start the next). Each
//    round is one statement: record the successes handlers returned since the last round and claim
//    as many jobs as there are free slots (FOR UPDATE SKIP LOCKED). Woken by NOTIFY, a
//    handler finishing, or the poll interval; while handlers are busy it waits up to 2 ms
//    for a quarter of the slots to free up, so a backlog moves in batches;
//  - `concurrency` runner threads. A runner is free again as soon as its handler returns:
//    a success waits for the next round in memory (its lease is still held and extended),
//    a failure is recorded by the runner itself (rare; it may schedule a retry);
//  - maintenance: heartbeats (one statement extends every lease this process holds), the
//    rescuer (expired leases), the schedule-to-start check and retention.
// Every write about a job is fenced by (id, attempt) in the store; a job handed back during
// drain is additionally fenced in-process so its handler can never write after the release.
#ifndef LONGRUN_SERVICES_WORKER_WORKER_H_
#define LONGRUN_SERVICES_WORKER_WORKER_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <thread>
#include <vector>

#include "libs/concurrency/executor.h"
#include "libs/store/operation_store.h"
#include "services/worker/handlers/registry.h"
#include "services/worker/job_context.h"
#include "services/worker/worker_config.h"

namespace longrun::worker {

class Worker {
 public:
  Worker(WorkerConfig config, store::OperationStore& store, store::JobNotifier& notifier,
         const Registry& registry);
  ~Worker();

  void Start();
  // Stops claiming; lets running jobs finish within shutdown_grace, then hands the rest back
  // to the queue (attempt not burned) and asks their handlers to stop. Returns how many
  // were handed back. Handlers that ignore the stop request are not waited for beyond a
  // short moment: the caller should exit the process.
  int Drain();

  // Stops the handler of a running job because its cancellation was requested.
  void CancelRunning(const std::string& id);

  int64_t claimed() const { return claimed_.load(); }

 private:
  static constexpr int64_t kTwoDispatchersFrom = 64;  // slots

  struct RunningJob {
    int32_t attempt = 0;
    std::shared_ptr<JobContext> ctx;
    std::mutex write_mu;    // held while writing progress or the result
    bool released = false;  // handed back during drain: never write again
    bool finished = false;  // the handler returned; its result is recorded or queued
    bool cancel_requested = false;  // cancelled before RunJob made ctx (guarded by mu_)
  };
  // A success waiting for the dispatcher's next round.
  struct Finished {
    store::JobCompleteParams params;
    absl::Time give_up;  // the lease has surely run out by then: the job is rescued elsewhere
  };

  void DispatchLoop();
  // Free slots worth a round while handlers are busy: a quarter of them.
  int MinBatch() const { return std::max(1, static_cast<int>(config_.concurrency) / 4); }
  // Records `batch` and claims up to `limit` jobs in one round trip; starts what it claimed.
  // Returns false on a database error (the batch is put back for the next round).
  // *claimed receives how many jobs the round claimed.
  bool Cycle(std::vector<Finished>& batch, int limit, std::unique_lock<std::mutex>& lock,
             int* claimed);
  void MaintenanceLoop();
  void Heartbeat();
  void Rescue();
  void Prune();
  void RunJob(store::ClaimedJob job, std::shared_ptr<RunningJob> running);
  // Records a failure (FAILED, RETRY_WAIT or CANCELLED), retrying through a database blip.
  void CompleteFailure(const store::ClaimedJob& job, RunningJob& running,
                       const absl::Status& result);
  // Counts a handler as returned and wakes the dispatcher.
  void HandlerReturned(const std::string& id, int32_t attempt, std::optional<Finished> success);
  // Drops the job's entry if it is still that attempt's (mu_ held).
  void ForgetJob(const std::string& id, int32_t attempt);
  // After PostgreSQL refused a round's batch: records each success alone; a result it
  // refuses fails its attempt (INTERNAL). Unreachable database: kept for the next round.
  void RecordOneByOne(std::vector<Finished>& batch, std::unique_lock<std::mutex>& lock);
  void Wake();

  WorkerConfig config_;
  store::OperationStore& store_;
  store::JobNotifier& notifier_;
  const Registry& registry_;
  std::vector<std::string> kinds_;
  std::unique_ptr<concurrency::Executor> runners_;

  std::mutex mu_;
  std::condition_variable cv_;           // the dispatcher waits here
  std::condition_variable state_cv_;     // maintenance and Drain wait here
  bool stopping_ = false;                // no more claims
  bool dispatcher_exit_ = false;         // Drain: flush what is finished, then exit
  bool maintenance_exit_ = false;        // Drain: stop heartbeats (after the hand-back)
  int reserved_ = 0;  // slots rounds in flight may fill with what they claim (0: none claims)
  // Dispatchers asleep waiting for any news / for a batch worth of free slots, so handlers
  // wake them only when that happened.
  int waiting_for_anything_ = 0;
  int waiting_for_batch_ = 0;
  // Counts one waiter for the scope of one wait (mu_ held around it).
  struct WaitFor {
    explicit WaitFor(int& count) : count_(count) { ++count_; }
    ~WaitFor() { --count_; }
    int& count_;
  };
  bool more_ = true;  // there may be runnable jobs: claim when slots are free
  int running_ = 0;   // claimed jobs whose handler has not returned
  std::vector<Finished> finished_;  // successes not yet recorded
  // Claimed jobs whose result is not recorded yet (their leases are extended), by id.
  std::map<std::string, std::shared_ptr<RunningJob>> jobs_;
  std::vector<std::thread> dispatchers_;
  std::thread maintenance_;
  absl::Time last_heartbeat_ok_;

  std::atomic<int64_t> claimed_{0};
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_WORKER_H_
