// JobContext: what a handler knows about the attempt it runs and how it talks back.
//
// Handlers report progress (the worker records it, fenced by attempt), check Stopped()
// (cancellation requested, deadline passed, or the attempt was taken away) and use
// SleepFor() for waits that must end early when the attempt stops.
#ifndef LONGRUN_SERVICES_WORKER_JOB_CONTEXT_H_
#define LONGRUN_SERVICES_WORKER_JOB_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <condition_variable>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace longrun::worker {

class JobContext {
 public:
  // progress_sink returns kAborted when the attempt is no longer current.
  using ProgressSink = std::function<absl::Status(int32_t percent, const std::string& message)>;

  JobContext(std::string id, int32_t attempt, int32_t max_attempts, absl::Time deadline,
             ProgressSink progress_sink);

  const std::string& id() const { return id_; }
  int32_t attempt() const { return attempt_; }
  int32_t max_attempts() const { return max_attempts_; }
  absl::Time deadline() const { return deadline_; }

  // Records progress (0..100, clamped) and a short message. Returns false once the attempt
  // has stopped (the handler should return).
  bool ReportProgress(int32_t percent, const std::string& message);

  // OK while the attempt should continue; otherwise why it must stop:
  // CANCELLED (cancellation requested or worker shutting down), DEADLINE_EXCEEDED (timeout),
  // ABORTED (another attempt took over).
  absl::Status StopReason();
  bool Stopped() { return !StopReason().ok(); }

  // Sleeps up to d; returns false early if the attempt stops.
  bool SleepFor(absl::Duration d);

  // Called by the worker.
  void Stop(absl::Status reason);

 private:
  std::string id_;
  int32_t attempt_;
  int32_t max_attempts_;
  absl::Time deadline_;
  ProgressSink progress_sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  absl::Status stop_reason_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_JOB_CONTEXT_H_
