// Batcher<Item>: a queue drained in batches by a few threads. Each flush thread takes
// everything waiting (up to max_batch) and hands it to `flush` in one call, so work that
// arrives while a flush is in flight is grouped into the next one. Used for group commit:
// Submit inserts (services/api/submit_batcher.h) and remote workers' completions
// (services/api/remote_workers.h). Under light load a batch is one item and nothing waits
// for company; under load batches grow by themselves.
#ifndef LONGRUN_CONCURRENCY_BATCHER_H_
#define LONGRUN_CONCURRENCY_BATCHER_H_

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace longrun::concurrency {

template <typename Item>
class Batcher {
 public:
  using Flush = std::function<void(std::vector<Item>& batch)>;

  Batcher(int threads, size_t max_batch, size_t max_queue, Flush flush)
      : max_batch_(std::max<size_t>(1, max_batch)), max_queue_(max_queue), flush_(std::move(flush)) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Batcher() { Shutdown(); }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // False when the queue is full or shut down (the item is not taken then).
  bool Add(Item& item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || queue_.size() >= max_queue_) return false;
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
    return true;
  }

  // Flushes what is queued, then joins the threads. Idempotent.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  void Loop() {
    for (;;) {
      std::vector<Item> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        const size_t n = std::min(queue_.size(), max_batch_);
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      flush_(batch);
    }
  }

  const size_t max_batch_;
  const size_t max_queue_;
  Flush flush_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace longrun::concurrency

#endif  // LONGRUN_CONCURRENCY_BATCHER_H_
