// LoopThread: runs one loop's RunOnce() on its own thread until Stop(). After a pass that
// worked it waits the loop's interval; after one that failed it waits a back-off that
// starts at `min_backoff`, doubles, and never exceeds the interval, so a loop neither
// spins against a database that is down nor waits longer than it would have anyway.
#ifndef LONGRUN_CONCURRENCY_LOOP_THREAD_H_
#define LONGRUN_CONCURRENCY_LOOP_THREAD_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace longrun::concurrency {

struct LoopThreadConfig {
  absl::Duration interval;
  absl::Duration first_delay;  // before the first pass
  absl::Duration min_backoff = absl::Milliseconds(100);
};

class LoopThread {
 public:
  // run_once returns false when the pass failed.
  LoopThread(LoopThreadConfig config, std::function<bool()> run_once);
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  void Start();
  // Waits for a pass in progress to end. Idempotent.
  void Stop();

 private:
  void Run();
  const LoopThreadConfig config_;
  const std::function<bool()> run_once_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace longrun::concurrency

#endif  // LONGRUN_CONCURRENCY_LOOP_THREAD_H_
