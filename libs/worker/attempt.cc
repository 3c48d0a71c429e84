#include "libs/worker/attempt.h"

#include <algorithm>

#include "libs/core/policy.h"

namespace longrun::worker {

Attempt::Attempt(store::ClaimedJob job, const Clock& clock)
    : job_(std::move(job)),
      clock_(clock),
      deadline_(job_.timeout.has_value() ? clock.Now() + *job_.timeout : absl::InfiniteFuture()) {}

bool Attempt::ReportProgress(int32_t percent, std::string_view message) {
  if (Stopped()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_progress_ = store::JobProgressValue{std::clamp(percent, 0, 100), std::string(message)};
  }
  return true;
}

std::optional<store::JobProgressValue> Attempt::TakeProgress() {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<store::JobProgressValue> out = std::move(pending_progress_);
  pending_progress_.reset();
  return out;
}

void Attempt::RestoreProgress(store::JobProgressValue value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_progress_.has_value()) pending_progress_ = std::move(value);
}

absl::Status Attempt::StopReason() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_reason_.ok() && clock_.Now() >= deadline_) {
    stop_reason_ = core::AttemptTimedOut(job_.attempt);
  }
  return stop_reason_;
}

bool Attempt::SleepFor(absl::Duration d) {
  // Waiting is real time; the deadline is checked on the injected clock (StopReason).
  const absl::Time until = absl::Now() + std::min(d, deadline_ - clock_.Now());
  std::unique_lock<std::mutex> lock(mu_);
  while (stop_reason_.ok()) {
    const absl::Time now = absl::Now();
    if (now >= until) break;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(until - now));
  }
  lock.unlock();
  return !Stopped();
}

void Attempt::Stop(absl::Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_reason_.ok()) stop_reason_ = std::move(reason);
  }
  cv_.notify_all();
}

}  // namespace longrun::worker
