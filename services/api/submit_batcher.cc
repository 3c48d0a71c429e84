#include "services/api/submit_batcher.h"

namespace longrun::api {

SubmitBatcher::SubmitBatcher(store::OperationStore& store, SubmitBatcherConfig config)
    : store_(store), config_(config) {
  for (int i = 0; i < std::max(1, config_.flushers); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

SubmitBatcher::~SubmitBatcher() { Shutdown(); }

bool SubmitBatcher::Enqueue(store::OperationInsertParams params, Callback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= config_.max_queue) return false;
    queue_.push_back({std::move(params), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

void SubmitBatcher::Shutdown() {
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

void SubmitBatcher::Loop() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      const size_t n = std::min(queue_.size(), static_cast<size_t>(config_.max_batch));
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<store::OperationInsertParams> params;
    params.reserve(batch.size());
    for (Item& item : batch) params.push_back(std::move(item.params));
    auto results = store_.OperationInsertBatch(params);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!results.ok()) {
        batch[i].done(results.status());
      } else {
        batch[i].done(std::move((*results)[i]));
      }
    }
  }
}

}  // namespace longrun::api
