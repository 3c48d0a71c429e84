// RescueLoop: returns jobs whose lease expired (their worker crashed or stalled) to the
// queue, or fails them after max_attempts, and fails jobs no worker started within
// schedule_to_start of their run time. Safe to run in every worker: the statements lock
// the rows they change and re-check the lease.
#ifndef LONGRUN_WORKER_RESCUE_LOOP_H_
#define LONGRUN_WORKER_RESCUE_LOOP_H_

#include <string>

#include "absl/time/time.h"
#include "libs/store/operation_store.h"

namespace longrun::worker {

struct RescueConfig {
  absl::Duration interval = absl::Seconds(5);
  absl::Duration schedule_to_start = absl::Hours(24);  // zero: never fail unstarted jobs
  int batch = 100;                                     // rows per statement
  int max_batches = 20;                                // per pass, so one pass stays short
  std::string worker_id;                               // for the log
};

struct RescueRunResult {
  bool ok = true;
  int rescued = 0;
  int failed_unstarted = 0;
};

class RescueLoop {
 public:
  RescueLoop(RescueConfig config, store::OperationStore& store)
      : config_(std::move(config)), store_(store) {}
  RescueRunResult RunOnce();
  absl::Duration interval() const { return config_.interval; }

 private:
  const RescueConfig config_;
  store::OperationStore& store_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_RESCUE_LOOP_H_
