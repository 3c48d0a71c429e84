#include "services/worker/deliveries.h"

#include "libs/common/clock.h"
#include "libs/common/logging.h"

namespace longrun::worker {

WorkerExtension Deliveries::Extension() {
  return {
      .add_flags =
          [this](FlagSet& flags) {
            webhook::AddWebhookFlags(flags, &flags_);
            flags.Bool("only-deliveries", &only_deliveries_,
                       "deliver callbacks and do nothing else (no jobs, no maintenance); needs "
                       "--webhook-secret-file");
          },
      .validate = [this]() -> absl::StatusOr<bool> {
        if (absl::Status s = flags_.Validate(); !s.ok()) return s;
        auto policy = flags_.Policy();
        if (!policy.ok()) return policy.status();
        policy_ = *std::move(policy);
        if (only_deliveries_ && !flags_.on()) {
          return absl::InvalidArgumentError(
              "--only-deliveries needs --webhook-secret-file (the signing secrets)");
        }
        return !only_deliveries_;
      },
      .start = [this](store::pg::PgOperationStore& store,
                      const std::string& worker_id) { return Start(store, worker_id); },
      .stop = [this] { Stop(); },
  };
}

absl::Status Deliveries::Start(store::pg::PgOperationStore& store, const std::string& worker_id) {
  if (!flags_.on()) return absl::OkStatus();
  auto opened = webhook::OpenSecretsFile(flags_.secret_file, RealClock());
  if (!opened.ok()) return opened.status();
  secrets_ = *std::move(opened);
  // Rotated secrets are picked up within this; signing goes on with the old ones meanwhile.
  secrets_reload_.emplace(
      concurrency::LoopThreadConfig{.interval = absl::Seconds(10), .first_delay = absl::Seconds(10)},
      [this] { return secrets_->RunOnce().ok; });
  secrets_reload_->Start();
  callbacks_ = std::make_unique<store::pg::PgCallbackStore>(store);
  poster_.emplace();
  deliverer_.emplace(
      webhook::DelivererConfig{
          .deliverer_id = worker_id,
          .concurrency = static_cast<int>(flags_.concurrency),
          .concurrency_per_host = static_cast<int>(flags_.concurrency_per_host),
          .retry = flags_.Retry(),
          .policy = policy_},
      webhook::DelivererDeps{
          .store = *callbacks_,
          .load_operation = [&store](const std::string& id) -> absl::StatusOr<core::Operation> {
            auto ops = store.OperationGetMany({id});
            if (!ops.ok()) return ops.status();
            if (ops->empty()) return absl::NotFoundError("operation deleted");
            return std::move(ops->front());
          },
          .secrets = [this] { return secrets_->Get(); },
          .poster = *poster_});
  deliverer_->Start();
  LONGRUN_LOG(kInfo, "deliverer_started",
              {{"concurrency", flags_.concurrency},
               {"per_host", flags_.concurrency_per_host},
               {"only_deliveries", only_deliveries_}});
  return absl::OkStatus();
}

void Deliveries::Stop() {
  if (deliverer_.has_value()) deliverer_->Stop();  // posts in flight finish and are recorded
  if (secrets_reload_.has_value()) secrets_reload_->Stop();
}

}  // namespace longrun::worker
