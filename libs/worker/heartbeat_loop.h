// HeartbeatLoop: one statement per pass extends the lease of every attempt this worker
// holds. An attempt the store no longer holds (rescued, finished elsewhere) is stopped with
// ABORTED; one whose cancellation was requested is stopped with CANCELLED. While the
// database is unreachable handlers go on, until a lease must have run out: then they are
// stopped too, since the job is (or will be) rescued elsewhere.
#ifndef LONGRUN_WORKER_HEARTBEAT_LOOP_H_
#define LONGRUN_WORKER_HEARTBEAT_LOOP_H_

#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/store/operation_store.h"
#include "libs/worker/job_table.h"

namespace longrun::worker {

struct HeartbeatConfig {
  absl::Duration interval = absl::Seconds(10);
  absl::Duration lease_duration = absl::Seconds(30);
  bool disabled_for_test = false;  // never extend leases (tests of lease expiry)
};

struct HeartbeatRunResult {
  bool ok = true;
  int extended = 0;    // leases extended
  int lost = 0;        // attempts stopped: the store no longer holds them
  int cancelling = 0;  // attempts stopped: cancellation requested
  int expired = 0;     // attempts stopped: unreachable database for a whole lease
};

class HeartbeatLoop {
 public:
  HeartbeatLoop(HeartbeatConfig config, store::OperationStore& store, JobTable& table,
                const Clock& clock);
  HeartbeatRunResult RunOnce();
  absl::Duration interval() const { return config_.interval; }

 private:
  const HeartbeatConfig config_;
  store::OperationStore& store_;
  JobTable& table_;
  const Clock& clock_;
  absl::Time last_ok_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_HEARTBEAT_LOOP_H_
