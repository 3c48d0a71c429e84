// PostgreSQL implementation of CallbackStore (the webhook outbox of migration 0009), on the
// connections of a PgOperationStore.
#ifndef LONGRUN_STORE_PG_PG_CALLBACK_STORE_H_
#define LONGRUN_STORE_PG_PG_CALLBACK_STORE_H_

#include <string>
#include <vector>

#include "libs/store/callback_store.h"
#include "libs/store/pg/pg_operation_store.h"

namespace longrun::store::pg {

class PgCallbackStore final : public CallbackStore {
 public:
  // Uses `operations`' connection pool; it must outlive this store.
  explicit PgCallbackStore(PgOperationStore& operations) : pool_(operations.pool()) {}

  absl::StatusOr<std::vector<Delivery>> DeliveryClaim(const DeliveryClaimParams& params) override;
  absl::Status DeliveryRecord(const DeliveryOutcome& outcome) override;
  absl::Status DeliveryRelease(const std::string& id, int32_t attempt) override;
  absl::StatusOr<core::Operation> CallbackRedeliver(const OperationGetParams& params) override;

 private:
  PgPool& pool_;
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_PG_CALLBACK_STORE_H_
