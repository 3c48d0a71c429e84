// ProgressLoop: writes the progress handlers reported, coalesced. ReportProgress only
// parks the latest value in the attempt; each pass writes every parked value in one
// statement, so an attempt's progress reaches the database at most once per pass however
// often its handler reports, and the latest value wins. The value still parked when the
// handler fails is recorded with the failure (a success records 100 %).
//
// Writes are fenced by (id, attempt) in the store and by the attempt's write_mu in the
// process (a job handed back during drain is never written about again). An attempt the
// store says is no longer current is stopped (ABORTED). While the database is unreachable
// the values stay parked (newer ones replace them) for the next pass.
#ifndef LONGRUN_WORKER_PROGRESS_LOOP_H_
#define LONGRUN_WORKER_PROGRESS_LOOP_H_

#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/store/operation_store.h"
#include "libs/worker/job_table.h"

namespace longrun::worker {

struct ProgressConfig {
  // One pass per interval: no attempt's progress is written more often.
  absl::Duration interval = absl::Milliseconds(250);
};

struct ProgressRunResult {
  bool ok = true;
  int written = 0;
  int fenced = 0;  // attempts no longer current (stopped)
};

class ProgressLoop {
 public:
  ProgressLoop(ProgressConfig config, store::OperationStore& store, JobTable& table)
      : config_(config), store_(store), table_(table) {}
  ProgressRunResult RunOnce();
  absl::Duration interval() const { return config_.interval; }

 private:
  const ProgressConfig config_;
  store::OperationStore& store_;
  JobTable& table_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_PROGRESS_LOOP_H_
