// The webhook deliverer as a longrun-worker extension (libs/worker/run_worker.h): the
// --webhook-* flags and --only-deliveries, and a Deliverer (libs/webhook) on the worker's
// store when --webhook-secret-file is set. docs/WEBHOOKS.md.
#ifndef LONGRUN_SERVICES_WORKER_DELIVERIES_H_
#define LONGRUN_SERVICES_WORKER_DELIVERIES_H_

#include <memory>
#include <optional>

#include "libs/concurrency/loop_thread.h"
#include "libs/store/pg/pg_callback_store.h"
#include "libs/webhook/deliverer.h"
#include "libs/webhook/http_poster.h"
#include "libs/webhook/signature.h"
#include "libs/webhook/webhook_flags.h"
#include "libs/worker/run_worker.h"

namespace longrun::worker {

class Deliveries {
 public:
  // The extension; valid while this object lives.
  WorkerExtension Extension();

 private:
  absl::Status Start(store::pg::PgOperationStore& store, const std::string& worker_id);
  void Stop();

  webhook::WebhookFlags flags_;
  bool only_deliveries_ = false;
  webhook::CallbackPolicy policy_;
  std::unique_ptr<store::pg::PgCallbackStore> callbacks_;
  std::unique_ptr<webhook::SecretsFile> secrets_;
  std::optional<concurrency::LoopThread> secrets_reload_;
  std::optional<webhook::CurlPoster> poster_;
  std::optional<webhook::Deliverer> deliverer_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_DELIVERIES_H_
