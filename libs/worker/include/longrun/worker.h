// longrun::RunWorker: a whole worker process around your handlers. Part of the worker SDK
// (installed under include/longrun/).
//
//   int main(int argc, char** argv) {
//     longrun::Registry registry;
//     if (auto s = registry.Register("image.resize", Resize); !s.ok()) return 2;
//     return longrun::RunWorker(argc, argv, registry);
//   }
//
// RunWorker owns the command line (--database-url, --concurrency, --kinds, --queues,
// leases, retries, retention, --log-level, ...: `--help` lists them), termination signals,
// the loops (claim, heartbeat, progress, rescue, prune) and the drain: SIGTERM or SIGINT
// stops claiming, lets running jobs finish within --shutdown-grace and hands the rest back
// to the queue; a second signal exits at once. Call it from main before starting threads of
// your own, so that every thread inherits its blocked termination signals.
#ifndef LONGRUN_WORKER_INCLUDE_LONGRUN_WORKER_H_
#define LONGRUN_WORKER_INCLUDE_LONGRUN_WORKER_H_

#include <string>

#include "longrun/registry.h"

namespace longrun {

struct WorkerOptions {
  // Used in --help and error messages; default: the file name of argv[0].
  std::string program;
  // The first paragraph of --help; default: a description of a longrun worker.
  std::string description;
};

// With --help, or a command line it refuses (the message is on stderr), returns the exit
// status for main: 0, resp. 2. Otherwise runs until a termination signal, drains, and ends
// the process with status 0 without returning (_exit: handlers that ignored the stop
// request are not waited for, and static destructors do not run).
int RunWorker(int argc, char** argv, const Registry& registry, const WorkerOptions& options = {});

}  // namespace longrun

#endif  // LONGRUN_WORKER_INCLUDE_LONGRUN_WORKER_H_
