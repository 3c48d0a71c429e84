// longrun-worker: the worker SDK's RunWorker with the built-in demo kinds registered, and
// the webhook deliverer (--webhook-secret-file, --only-deliveries; docs/WEBHOOKS.md).
#include "longrun/worker.h"
#include "libs/worker/run_worker.h"
#include "services/worker/deliveries.h"
#include "services/worker/handlers/demo.h"

int main(int argc, char** argv) {
  longrun::Registry registry;
  longrun::worker::RegisterBuiltins(registry);
  longrun::worker::Deliveries deliveries;
  longrun::worker::WorkerExtension extension = deliveries.Extension();
  return longrun::worker::RunWorkerWith(argc, argv, registry, {.program = "longrun-worker"},
                                        &extension);
}
