#include "services/worker/job_context.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace longrun::worker {

JobContext::JobContext(std::string id, int32_t attempt, int32_t max_attempts, absl::Time deadline,
                       ProgressSink progress_sink)
    : id_(std::move(id)),
      attempt_(attempt),
      max_attempts_(max_attempts),
      deadline_(deadline),
      progress_sink_(std::move(progress_sink)) {}

bool JobContext::ReportProgress(int32_t percent, const std::string& message) {
  if (Stopped()) return false;
  const absl::Status s = progress_sink_ ? progress_sink_(std::clamp(percent, 0, 100), message)
                                        : absl::OkStatus();
  if (s.code() == absl::StatusCode::kAborted) Stop(s);
  // Other failures (a database blip) lose one progress update, not the attempt.
  return !Stopped();
}

absl::Status JobContext::StopReason() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_reason_.ok() && absl::Now() >= deadline_) {
    stop_reason_ = absl::DeadlineExceededError(
        absl::StrCat("attempt ", attempt_, " exceeded its timeout"));
  }
  return stop_reason_;
}

bool JobContext::SleepFor(absl::Duration d) {
  const absl::Time until = std::min(absl::Now() + d, deadline_);
  std::unique_lock<std::mutex> lock(mu_);
  while (stop_reason_.ok()) {
    const absl::Time now = absl::Now();
    if (now >= until) break;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(until - now));
  }
  lock.unlock();
  return !Stopped();
}

void JobContext::Stop(absl::Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_reason_.ok()) stop_reason_ = std::move(reason);
  }
  cv_.notify_all();
}

}  // namespace longrun::worker
