// Process-wide runtime settings for longrun's binaries (api, worker SDK, longrunctl, bench),
// applied first thing in main. Tests do not call it, so they keep the checks it turns off.
#ifndef LONGRUN_COMMON_PROCESS_H_
#define LONGRUN_COMMON_PROCESS_H_

#include "absl/synchronization/mutex.h"

namespace longrun {

// Debian's Abseil is built with absl::Mutex deadlock detection on: every lock records its
// acquisition order in a global graph. perf put that graph at about 6 % of longrun-api's
// CPU under Submit load (session 6, docs/BENCHMARKS.md "Queue design"). Binaries turn it
// off; the unit tests keep it, where it finds lock-order cycles before production would.
inline void ConfigureProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace longrun

#endif  // LONGRUN_COMMON_PROCESS_H_
