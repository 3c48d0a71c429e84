#include "services/api/job_wake.h"

#include "libs/common/logging.h"

namespace longrun::api {

JobWaker::JobWaker(store::OperationStore& store) : store_(store) {
  thread_ = std::thread([this] { Loop(); });
}

JobWaker::~JobWaker() { Stop(); }

void JobWaker::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_one();
}

void JobWaker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void JobWaker::Loop() {
  static log::RateLimiter error_log(absl::Seconds(30));
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || poked_; });
    if (stopping_) return;
    poked_ = false;
    lock.unlock();
    // A lost wake-up only delays pickup until the workers' next poll.
    if (absl::Status s = store_.JobWake(); !s.ok() && error_log.Allow()) {
      LONGRUN_LOG(kWarning, "job_wake_failed", {{"error", s.message()}});
    }
    lock.lock();
  }
}

}  // namespace longrun::api
