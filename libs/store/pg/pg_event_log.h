// PostgreSQL implementation of EventLog (operation_events of migration 0009, read below the
// snapshot's xmin), on the connections of a PgOperationStore.
#ifndef LONGRUN_STORE_PG_PG_EVENT_LOG_H_
#define LONGRUN_STORE_PG_PG_EVENT_LOG_H_

#include "libs/store/event_log.h"
#include "libs/store/pg/pg_operation_store.h"

namespace longrun::store::pg {

class PgEventLog final : public EventLog {
 public:
  // Uses `operations`' connection pool; it must outlive this log.
  explicit PgEventLog(PgOperationStore& operations) : pool_(operations.pool()) {}

  absl::StatusOr<EventCursor> EventHead() override;
  absl::StatusOr<EventReadResult> EventRead(const EventReadParams& params) override;
  absl::StatusOr<int> EventPrune(absl::Duration older_than, int32_t limit) override;

 private:
  PgPool& pool_;
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_PG_EVENT_LOG_H_
