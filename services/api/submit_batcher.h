// SubmitBatcher: group commit for Submit. Concurrent Submits queue here; each flusher thread
// takes everything waiting (up to max_batch) and inserts it with one statement: one
// transaction, one WAL flush, one NOTIFY for the whole batch. Every RPC is answered only
// after its batch committed. Under light load a batch is a single Submit, so latency does
// not wait for company; under heavy load batches grow while the previous commit is in
// flight.
#ifndef LONGRUN_SERVICES_API_SUBMIT_BATCHER_H_
#define LONGRUN_SERVICES_API_SUBMIT_BATCHER_H_

#include <functional>

#include "absl/status/statusor.h"
#include "libs/concurrency/batcher.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

struct SubmitBatcherConfig {
  int flushers = 2;          // batches in flight at once (each holds a pooled connection)
  int max_batch = 512;
  size_t max_queue = 20000;  // waiting Submits before RESOURCE_EXHAUSTED
};

class SubmitBatcher {
 public:
  using Callback = std::function<void(absl::StatusOr<store::OperationInsertResult>)>;

  // on_created runs on a flusher thread after a batch that created operations, once the
  // RPCs are answered (longrun-api wakes idle workers with it).
  SubmitBatcher(store::OperationStore& store, SubmitBatcherConfig config,
                std::function<void()> on_created = nullptr);

  // Queues one insert; `done` runs on a flusher thread after its batch committed (or
  // failed). Returns false (and never calls `done`) when full or shut down.
  bool Enqueue(store::OperationInsertParams params, Callback done);
  // Flushes what is queued, then stops the flushers. Idempotent.
  void Shutdown() { batcher_.Shutdown(); }

 private:
  struct Item {
    store::OperationInsertParams params;
    Callback done;
  };
  void Flush(std::vector<Item>& batch);

  store::OperationStore& store_;
  std::function<void()> on_created_;
  concurrency::Batcher<Item> batcher_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_SUBMIT_BATCHER_H_
