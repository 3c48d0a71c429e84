// Worker: one worker process's composition of loops, each testable alone:
//  - DispatchLoop (one thread, or two from 64 slots): claim + record rounds, the hot path;
//  - `concurrency` runner threads, each running one JobRunner at a time;
//  - HeartbeatLoop, ProgressLoop, RescueLoop and PruneLoop, each on a concurrency::LoopThread.
// The JobTable holds the attempts claimed and not yet recorded; every loop that writes about
// an attempt is fenced by (id, attempt) in the store and by the attempt's write_mu here.
#ifndef LONGRUN_WORKER_WORKER_H_
#define LONGRUN_WORKER_WORKER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/common/clock.h"
#include "libs/concurrency/executor.h"
#include "libs/concurrency/loop_thread.h"
#include "libs/store/operation_store.h"
#include "libs/worker/dispatch_loop.h"
#include "libs/worker/heartbeat_loop.h"
#include "libs/worker/job_runner.h"
#include "libs/worker/job_table.h"
#include "libs/worker/progress_loop.h"
#include "libs/worker/prune_loop.h"
#include "libs/worker/rescue_loop.h"
#include "libs/worker/worker_config.h"
#include "longrun/registry.h"

namespace longrun::worker {

class Worker {
 public:
  Worker(WorkerConfig config, store::OperationStore& store, store::JobNotifier& notifier,
         const Registry& registry, const Clock& clock = RealClock());
  ~Worker();

  void Start();
  // Stops claiming; lets running jobs finish within shutdown_grace, then hands the rest back
  // to the queue (attempt not burned) and asks their handlers to stop. Returns how many
  // were handed back. Handlers that ignore the stop request are not waited for beyond a
  // short moment: the caller should exit the process. Idempotent.
  int Drain();

  // Stops the handler of a held job because its cancellation was requested.
  void CancelRunning(const std::string& id);

  int64_t claimed() const { return dispatch_.claimed_total(); }
  // Slots whose handler is running now (out of config.concurrency).
  int busy() const { return dispatch_.running(); }

 private:
  static constexpr int kTwoDispatchersFrom = 64;  // slots

  WorkerConfig config_;
  store::OperationStore& store_;
  store::JobNotifier& notifier_;
  std::vector<std::string> kinds_;  // claimed kinds: config_.kinds, or every registered kind
  JobTable table_;
  std::unique_ptr<concurrency::Executor> runners_;
  JobRunner runner_;
  DispatchLoop dispatch_;
  HeartbeatLoop heartbeat_;
  ProgressLoop progress_;
  RescueLoop rescue_;
  PruneLoop prune_;
  std::vector<std::unique_ptr<concurrency::LoopThread>>
      maintenance_;  // rescue, prune: stop at drain
  std::vector<std::unique_ptr<concurrency::LoopThread>>
      attempt_loops_;  // heartbeat, progress: stop last
  std::vector<std::thread> dispatchers_;
  bool started_ = false;
  std::atomic<bool> draining_{false};  // Drain has begun (read by the prune loop too)
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_WORKER_H_
