#include "libs/worker/paced_batches.h"

#include <algorithm>

namespace longrun::worker {
namespace {

constexpr absl::Duration kPauseSlice = absl::Milliseconds(50);

}  // namespace

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
    if (*n <= 0 || *n < size || (stopping && stopping())) return out;
    const absl::Duration took = pacing.clock->Now() - start;
    if (pacing.pause_ratio > 0 && took > absl::ZeroDuration()) {
      // In slices, so that a stop request does not wait out a long pause (after a slow
      // batch the pause is long too).
      for (absl::Duration left = took * pacing.pause_ratio; left > absl::ZeroDuration();
           left -= kPauseSlice) {
        pacing.sleep(std::min(left, kPauseSlice));
        if (stopping && stopping()) return out;
      }
    }
  }
}

}  // namespace longrun::worker
