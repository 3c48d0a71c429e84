// A fixed pool of threads running posted closures: where blocking work (database calls) runs,
// off gRPC's callback threads. Bounded: Post() refuses work when the queue is full so an
// overloaded process answers RESOURCE_EXHAUSTED instead of growing without limit.
//
// Sleeping threads are woken one at a time: Post() wakes one unless a wake-up is already
// under way, and a thread that takes work while more is queued wakes the next. A burst of
// short closures is then run by the few threads already awake instead of waking every
// thread for one closure each (a context switch per closure); long closures still fan out
// to every thread, one wake-up latency apart.
#ifndef LONGRUN_CONCURRENCY_EXECUTOR_H_
#define LONGRUN_CONCURRENCY_EXECUTOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace longrun::concurrency {

class Executor {
 public:
  Executor(std::string name, int threads, size_t max_queue);
  ~Executor();  // runs what is queued, then joins
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // False when the queue is full or the executor is shutting down; fn is not run then.
  bool Post(std::function<void()> fn);
  // Stops accepting work, drains the queue, joins the threads. Idempotent.
  void Shutdown();
  size_t QueueLength();

 private:
  void Loop();
  bool WakeOneLocked();  // true: the caller must notify one sleeper (after unlocking)
  std::string name_;
  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  int idle_ = 0;    // threads waiting for work
  int waking_ = 0;  // notified, not yet awake
  std::vector<std::thread> threads_;
};

}  // namespace longrun::concurrency

#endif  // LONGRUN_CONCURRENCY_EXECUTOR_H_
