// Worker: claims jobs of the kinds it has handlers for and runs them.
//
// Threads: one producer (claims batches no larger than the free slots, with FOR UPDATE SKIP
// LOCKED; woken by NOTIFY, polling as a fallback), and `concurrency` runner threads, created
// once. Every write about a job is fenced by (id, attempt) in the store.
#ifndef LONGRUN_SERVICES_WORKER_WORKER_H_
#define LONGRUN_SERVICES_WORKER_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

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
  // Stops claiming; waits up to shutdown_grace for running jobs, then asks the rest to stop
  // and waits for them. Returns how many jobs were still running when the grace ran out.
  int Drain();

  // Counters for logs and tests.
  int64_t claimed() const { return claimed_.load(); }
  int64_t completed() const { return completed_.load(); }

 private:
  void ProducerLoop();
  void RunJob(store::ClaimedJob job);
  void Complete(const store::ClaimedJob& job, const absl::StatusOr<google::protobuf::Struct>& result);
  void Wake();

  WorkerConfig config_;
  store::OperationStore& store_;
  store::JobNotifier& notifier_;
  const Registry& registry_;
  std::vector<std::string> kinds_;
  std::unique_ptr<concurrency::Executor> runners_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool more_ = true;  // there may be runnable jobs: claim when slots are free
  int running_ = 0;
  std::map<std::string, std::shared_ptr<JobContext>> contexts_;  // by operation id
  std::thread producer_;

  std::atomic<int64_t> claimed_{0};
  std::atomic<int64_t> completed_{0};
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_WORKER_H_
