#include "libs/worker/progress_loop.h"

#include <mutex>

#include "libs/common/logging.h"

namespace longrun::worker {

ProgressRunResult ProgressLoop::RunOnce() {
  ProgressRunResult out;
  // Lock the fence of every attempt with something to write, so none of them can be
  // handed back or record its outcome while its progress is being written. (Only this loop
  // ever holds more than one write_mu, so there is no lock-order cycle.)
  std::vector<std::shared_ptr<Attempt>> attempts;
  std::vector<std::unique_lock<std::mutex>> locks;
  std::vector<store::JobProgressParams> batch;
  for (std::shared_ptr<Attempt>& a : table_.Snapshot()) {
    std::unique_lock<std::mutex> lock(a->write_mu);
    if (a->released || a->finished) continue;  // the outcome carries its own progress
    std::optional<store::JobProgressValue> progress = a->TakeProgress();
    if (!progress.has_value()) continue;
    batch.push_back({.id = a->id(),
                     .attempt = a->attempt(),
                     .percent = progress->percent,
                     .message = std::move(progress->message)});
    attempts.push_back(std::move(a));
    locks.push_back(std::move(lock));
  }
  if (batch.empty()) return out;
  auto written = store_.JobProgressBatch(batch);
  if (!written.ok()) {
    out.ok = false;
    static log::RateLimiter error_log(absl::Seconds(10));
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "progress_failed",
                  {{"error", written.status().message()}, {"jobs", batch.size()}});
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      attempts[i]->RestoreProgress({batch[i].percent, std::move(batch[i].message)});
    }
    return out;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if ((*written)[i].ok()) {
      ++out.written;
    } else {
      ++out.fenced;
      attempts[i]->Stop((*written)[i]);
    }
  }
  return out;
}

}  // namespace longrun::worker
