// RunWorker with an extension: more flags, and something started beside (or instead of) the
// job runner on the worker's store. longrun-worker adds the webhook deliverer this way
// (services/worker/deliveries.h), so the installed SDK does not carry libcurl. Not part of
// the public SDK headers.
#ifndef LONGRUN_WORKER_RUN_WORKER_H_
#define LONGRUN_WORKER_RUN_WORKER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/common/flags.h"
#include "libs/store/pg/pg_operation_store.h"
#include "longrun/worker.h"

namespace longrun::worker {

struct WorkerExtension {
  // Declares the extension's flags.
  std::function<void(FlagSet&)> add_flags;
  // After parsing: refuses a bad command line, or says whether jobs run (false: the
  // extension runs alone, e.g. --only-deliveries).
  std::function<absl::StatusOr<bool>()> validate;
  // Starts it on the worker's store (whose pool it may share) under `worker_id`.
  std::function<absl::Status(store::pg::PgOperationStore& store, const std::string& worker_id)>
      start;
  // At SIGTERM, before jobs drain.
  std::function<void()> stop;
};

int RunWorkerWith(int argc, char** argv, const Registry& registry, const WorkerOptions& options,
                  WorkerExtension* extension);

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_RUN_WORKER_H_
