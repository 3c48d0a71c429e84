// Attempt: one claimed job attempt inside the worker. It is the handler's JobContext, and
// it carries what the loops need to agree on about that attempt:
//  - the stop reason (cancel, timeout, lease lost, drain) the handler polls;
//  - the latest progress the handler reported and the progress loop has not written yet;
//  - the in-process fence: `write_mu` is held by whoever writes about the attempt (the
//    progress loop, the runner recording a failure, the drain handing the job back), and
//    `released` / `finished` say which of them got there first.
#ifndef LONGRUN_WORKER_ATTEMPT_H_
#define LONGRUN_WORKER_ATTEMPT_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "libs/common/clock.h"
#include "libs/store/operation_store.h"
#include "longrun/job_context.h"

namespace longrun::worker {

class Attempt final : public JobContext {
 public:
  // The deadline is `clock.Now() + job.timeout` (none without a timeout).
  Attempt(store::ClaimedJob job, const Clock& clock);

  const std::string& id() const override { return job_.id; }
  const std::string& kind() const override { return job_.kind; }
  int32_t attempt() const override { return job_.attempt; }
  int32_t max_attempts() const override { return job_.max_attempts; }
  const google::protobuf::Struct& input() const override { return job_.input; }
  absl::Time deadline() const override { return deadline_; }
  const std::string& trace_id() const override { return job_.trace_id; }
  bool ReportProgress(int32_t percent, std::string_view message) override;
  absl::Status StopReason() override;
  bool SleepFor(absl::Duration d) override;

  // The worker's side.
  store::JobRef ref() const { return {job_.id, job_.attempt}; }
  // Ends the attempt for the handler; the first reason wins.
  void Stop(absl::Status reason);
  // Takes the progress reported since the last take, if any (latest value wins).
  std::optional<store::JobProgressValue> TakeProgress();
  // Puts back a value a failed write did not record, unless a newer one arrived meanwhile.
  void RestoreProgress(store::JobProgressValue value);

  // In-process fence (see the file comment). Guarded by write_mu.
  std::mutex write_mu;
  bool released = false;  // handed back during drain: never write about it again
  bool finished = false;  // the handler returned; its outcome is recorded or on its way

 private:
  store::ClaimedJob job_;
  const Clock& clock_;
  absl::Time deadline_;
  std::mutex mu_;
  std::condition_variable cv_;
  absl::Status stop_reason_;
  std::optional<store::JobProgressValue> pending_progress_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_ATTEMPT_H_
