// A fixed pool of threads running posted closures: where blocking work (database calls) runs,
// off gRPC's callback threads. Bounded: Post() refuses work when the queue is full so an
// overloaded process answers RESOURCE_EXHAUSTED instead of growing without limit.
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
  std::string name_;
  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace longrun::concurrency

#endif  // LONGRUN_CONCURRENCY_EXECUTOR_H_
