// EventPruneLoop: retention of the event log (WatchOperations). Deletes events older than
// --event-retention, oldest first, in batches (each its own short statement): a pass works
// the whole backlog off, paced (RunPacedBatches); a cursor older than what is left gets
// OUT_OF_RANGE.
#ifndef LONGRUN_WORKER_EVENT_PRUNE_LOOP_H_
#define LONGRUN_WORKER_EVENT_PRUNE_LOOP_H_

#include <functional>

#include "absl/time/time.h"
#include "libs/store/event_log.h"
#include "libs/worker/paced_batches.h"

namespace longrun::worker {

struct EventPruneConfig {
  absl::Duration interval = absl::Minutes(1);
  absl::Duration retention = absl::Hours(24);
  int batch = 500;  // log rows (each up to 64 events): a tuple each, like 500 narrow rows
  Pacing pacing;
};

struct EventPruneRunResult {
  bool ok = true;
  int deleted = 0;
};

class EventPruneLoop {
 public:
  // `stopping` (optional) ends a pass early between batches.
  EventPruneLoop(EventPruneConfig config, store::EventLog& events,
                 std::function<bool()> stopping = nullptr)
      : config_(config), events_(events), stopping_(std::move(stopping)) {}
  EventPruneRunResult RunOnce();
  absl::Duration interval() const { return config_.interval; }

 private:
  const EventPruneConfig config_;
  store::EventLog& events_;
  const std::function<bool()> stopping_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_EVENT_PRUNE_LOOP_H_
