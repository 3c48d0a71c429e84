#include "libs/concurrency/executor.h"

namespace longrun::concurrency {

Executor::Executor(std::string name, int threads, size_t max_queue)
    : name_(std::move(name)), max_queue_(max_queue) {
  if (threads < 1) threads = 1;
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Executor::~Executor() { Shutdown(); }

bool Executor::Post(std::function<void()> fn) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(fn));
    wake = WakeOneLocked();
  }
  if (wake) cv_.notify_one();
  return true;
}

bool Executor::WakeOneLocked() {
  if (idle_ == 0 || waking_ > 0) return false;
  ++waking_;
  return true;
}

void Executor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

size_t Executor::QueueLength() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Executor::Loop() {
  for (;;) {
    std::function<void()> fn;
    bool wake = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_ && queue_.empty()) {
        ++idle_;
        cv_.wait(lock);
        --idle_;
        if (waking_ > 0) --waking_;
      }
      if (queue_.empty()) return;  // stopping and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
      // Still more: wake the next sleeper (one at a time, see executor.h).
      if (!queue_.empty()) wake = WakeOneLocked();
    }
    if (wake) cv_.notify_one();
    fn();
  }
}

}  // namespace longrun::concurrency
