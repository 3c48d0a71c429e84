// Termination signals for long-running binaries: blocked in every thread and taken
// synchronously with sigwait(), so shutdown runs as ordinary code on the main thread.
#ifndef LONGRUN_COMMON_SIGNALS_H_
#define LONGRUN_COMMON_SIGNALS_H_

#include <pthread.h>
#include <signal.h>

namespace longrun {

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts later)
// and returns that set for sigwait(). Call first thing in main, so an early SIGTERM is not
// fatal and every thread inherits the mask.
inline sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace longrun

#endif  // LONGRUN_COMMON_SIGNALS_H_
