#include "libs/worker/paced_batches.h"

namespace longrun::worker {

PacedResult RunPacedBatches(int size, const Pacing& pacing,
                            const std::function<absl::StatusOr<int>()>& batch,
                            const std::function<bool()>& stopping) {
  PacedResult out;
  for (;;) {
    const absl::Time start = pacing.clock->Now();
    absl::StatusOr<int> n = batch();
    ++out.batches;
    if (!n.ok()) {
      out.status = n.status();
      return out;
    }
    out.done += *n;
    if (*n < size || (stopping && stopping())) return out;
    const absl::Duration took = pacing.clock->Now() - start;
    if (pacing.pause_ratio > 0 && took > absl::ZeroDuration()) {
      pacing.sleep(took * pacing.pause_ratio);
      if (stopping && stopping()) return out;
    }
  }
}

}  // namespace longrun::worker
