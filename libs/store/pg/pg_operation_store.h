// PostgreSQL implementation of OperationStore.
#ifndef LONGRUN_STORE_PG_PG_OPERATION_STORE_H_
#define LONGRUN_STORE_PG_PG_OPERATION_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "libs/store/operation_store.h"
#include "libs/store/pg/pool_stats.h"

namespace longrun::store::pg {

class PgPool;

struct PgStoreConfig {
  std::string url;
  int pool_size = 8;
  std::string application_name = "longrun";
  // SET commands run on every new connection (e.g. planner settings for the worker).
  std::vector<std::string> session_settings;
};

class PgOperationStore final : public OperationStore {
 public:
  explicit PgOperationStore(const PgStoreConfig& config);
  ~PgOperationStore() override;

  absl::StatusOr<JobCycleResult> JobCompleteAndClaim(const JobCycleParams& params) override;
  absl::Status JobComplete(const JobCompleteParams& params) override;
  absl::StatusOr<std::vector<absl::Status>> JobProgressBatch(
      const std::vector<JobProgressParams>& batch) override;
  absl::Status JobWake() override;
  absl::StatusOr<int> JobFailUnstarted(const JobFailUnstartedParams& params) override;
  absl::StatusOr<std::vector<JobHeartbeatResult>> JobHeartbeat(
      const JobHeartbeatParams& params) override;
  absl::Status JobRelease(const JobReleaseParams& params) override;
  absl::StatusOr<int> JobRescueStuck(const JobRescueParams& params) override;
  absl::StatusOr<core::Operation> OperationGet(const OperationGetParams& params) override;
  absl::StatusOr<std::vector<core::Operation>> OperationGetMany(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<OperationInsertResult> OperationInsert(
      const OperationInsertParams& params) override;
  absl::StatusOr<int> OperationPrune(const OperationPruneParams& params) override;
  absl::StatusOr<std::vector<absl::StatusOr<OperationInsertResult>>> OperationInsertBatch(
      const std::vector<OperationInsertParams>& batch) override;
  absl::StatusOr<std::vector<core::Operation>> OperationList(
      const OperationListParams& params) override;
  absl::StatusOr<core::Operation> OperationCancel(const OperationGetParams& params) override;
  absl::Status OperationDelete(const OperationGetParams& params) override;
  absl::StatusOr<std::vector<QueueDepth>> QueueDepthList() override;

  // The connection pool now (for the longrun_db_pool_connections gauge).
  PgPoolStats PoolStats() const;
  // The connection pool, shared with PgCallbackStore and PgEventLog (every connection has
  // every statement of queries.h prepared).
  PgPool& pool() { return *pool_; }

 private:
  std::unique_ptr<PgPool> pool_;
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_PG_OPERATION_STORE_H_
