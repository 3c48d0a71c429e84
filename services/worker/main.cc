// longrun-worker: the worker SDK's RunWorker with the built-in demo kinds registered.
#include "longrun/worker.h"
#include "services/worker/handlers/demo.h"

int main(int argc, char** argv) {
  longrun::Registry registry;
  longrun::worker::RegisterBuiltins(registry);
  return longrun::RunWorker(argc, argv, registry, {.program = "longrun-worker"});
}
