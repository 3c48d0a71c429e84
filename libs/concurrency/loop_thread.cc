#include "libs/concurrency/loop_thread.h"

#include <algorithm>

#include "libs/common/backoff.h"

namespace longrun::concurrency {

LoopThread::LoopThread(LoopThreadConfig config, std::function<bool()> run_once)
    : config_(config), run_once_(std::move(run_once)) {}

LoopThread::~LoopThread() { Stop(); }

void LoopThread::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LoopThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LoopThread::Run() {
  absl::Duration wait = config_.first_delay;
  Backoff backoff(
      {.initial = std::min(config_.min_backoff, config_.interval), .max = config_.interval});
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, absl::ToChronoNanoseconds(wait), [&] { return stop_; })) return;
    lock.unlock();
    const bool ok = run_once_();
    lock.lock();
    if (ok) {
      wait = config_.interval;
      backoff.Reset();
    } else {
      wait = backoff.Next();
    }
  }
}

}  // namespace longrun::concurrency
