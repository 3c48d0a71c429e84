#include "services/api/submit_batcher.h"

namespace longrun::api {

SubmitBatcher::SubmitBatcher(store::OperationStore& store, SubmitBatcherConfig config,
                             std::function<void()> on_created)
    : store_(store),
      on_created_(std::move(on_created)),
      batcher_(config.flushers, config.max_batch, config.max_queue,
               [this](std::vector<Item>& batch) { Flush(batch); }) {}

bool SubmitBatcher::Enqueue(store::OperationInsertParams params, Callback done) {
  Item item{std::move(params), std::move(done)};
  return batcher_.Add(item);
}

void SubmitBatcher::Flush(std::vector<Item>& batch) {
  std::vector<store::OperationInsertParams> params;
  params.reserve(batch.size());
  for (Item& item : batch) params.push_back(std::move(item.params));
  auto results = store_.OperationInsertBatch(params);
  bool created = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (results.ok() && (*results)[i].ok() && (*results)[i]->created) created = true;
    batch[i].done(results.ok() ? std::move((*results)[i])
                               : absl::StatusOr<store::OperationInsertResult>(results.status()));
  }
  if (created && on_created_) on_created_();
}

}  // namespace longrun::api
