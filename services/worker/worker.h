// Worker: claims jobs of the kinds it has handlers for and runs them.
//
// Threads, all created at Start():
//  - producer: claims batches no larger than the free slots (FOR UPDATE SKIP LOCKED), woken
//    by NOTIFY, a slot freeing up, or the poll interval;
//  - `concurrency` runner threads;
//  - maintenance: heartbeats (one statement extends every lease this process holds), the
//    rescuer (expired leases), the schedule-to-start check and retention.
// Every write about a job is fenced by (id, attempt) in the store; a job handed back during
// drain is additionally fenced in-process so its handler can never write after the release.
#ifndef LONGRUN_SERVICES_WORKER_WORKER_H_
#define LONGRUN_SERVICES_WORKER_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <future>
#include <mutex>
#include <thread>

#include "libs/concurrency/batcher.h"
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
  struct RunningJob {
    int32_t attempt = 0;
    std::shared_ptr<JobContext> ctx;
    std::mutex write_mu;    // held while writing progress or the result
    bool released = false;  // handed back during drain: never write again
  };

  void ProducerLoop();
  void MaintenanceLoop();
  void Heartbeat();
  void Rescue();
  void Prune();
  void RunJob(store::ClaimedJob job);
  void Complete(const store::ClaimedJob& job, RunningJob& running,
                const absl::StatusOr<google::protobuf::Struct>& result);
  void Wake();
  // Records a success through the completion batcher (group commit) and waits for it.
  absl::Status CompleteSuccessBatched(const store::JobCompleteParams& params);

  struct CompletionItem {
    store::JobCompleteParams params;
    std::promise<absl::Status> done;
  };
  void FlushCompletions(std::vector<CompletionItem>& batch);

  WorkerConfig config_;
  store::OperationStore& store_;
  store::JobNotifier& notifier_;
  const Registry& registry_;
  std::vector<std::string> kinds_;
  std::unique_ptr<concurrency::Executor> runners_;
  std::unique_ptr<concurrency::Batcher<CompletionItem>> completions_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool more_ = true;  // there may be runnable jobs: claim when slots are free
  int running_ = 0;
  std::map<std::string, std::shared_ptr<RunningJob>> jobs_;  // by operation id
  std::thread producer_;
  std::thread maintenance_;
  absl::Time last_heartbeat_ok_;

  std::atomic<int64_t> claimed_{0};
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_WORKER_H_
