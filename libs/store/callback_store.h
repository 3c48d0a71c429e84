// CallbackStore: the webhook outbox. A delivery row is written by the database in the same
// transaction as the operation change that causes it (see migration 0009), so a crash can
// neither lose nor invent a callback. Deliverers (libs/webhook) claim due rows with
// SKIP LOCKED under a lease, post them, and record the outcome fenced by (id, attempt).
// Same conventions as OperationStore: blocking, thread-safe, absl::Status errors.
#ifndef LONGRUN_STORE_CALLBACK_STORE_H_
#define LONGRUN_STORE_CALLBACK_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"
#include "libs/store/operation_store.h"

namespace longrun::store {

// One change to post: a delivery row a deliverer now holds for one attempt.
struct Delivery {
  std::string id;          // the row's id (uuid text)
  std::string webhook_id;  // "msg_" + 32 hex digits; the same on every attempt
  std::string operation_id;
  std::string tenant;
  std::string url;
  std::string host;  // the URL's host, lower case (the per-host concurrency key)
  std::string event_type;  // "operation.completed" or "operation.updated"
  int64_t version = 0;     // the operation version whose change this delivery reports
  int32_t attempt = 0;     // this attempt, from 1 (the fence for DeliveryRecord)
  absl::Time created_time = absl::InfinitePast();  // when the change happened
  // Start of the retry window: created_time, or the last RedeliverCallback.
  absl::Time retry_from = absl::InfinitePast();
};

struct DeliveryClaimParams {
  std::string deliverer_id;
  int32_t limit = 1;
  // A claimed row is the claimer's until then; after it, another deliverer may claim it
  // again (the claimer crashed). Longer than one HTTP attempt (15 s).
  absl::Duration lease = absl::Seconds(30);
  // Hosts whose concurrency bound is reached in this process: leave their rows alone.
  std::vector<std::string> skip_hosts;
};

enum class DeliveryResult {
  kDelivered,  // 2xx
  kRetry,      // try again at next_attempt_time
  kDead,       // retry window over
  kGone,       // 410: this and every later delivery of the operation stop
};

struct DeliveryOutcome {
  std::string id;
  int32_t attempt = 0;  // Delivery::attempt; a stale attempt's record changes nothing
  DeliveryResult result = DeliveryResult::kRetry;
  int32_t http_status = 0;  // 0: no HTTP answer
  std::string error;        // why it failed ("" on success)
  absl::Time next_attempt_time = absl::InfinitePast();  // for kRetry
};

class CallbackStore {
 public:
  virtual ~CallbackStore() = default;
  // Claims up to params.limit due PENDING deliveries (next attempt time passed, no live
  // lease), oldest due first, skipping rows other deliverers hold; each claim counts an
  // attempt and takes a lease.
  virtual absl::StatusOr<std::vector<Delivery>> DeliveryClaim(
      const DeliveryClaimParams& params) = 0;
  // Records an attempt's outcome if (id, attempt) is still the current claim; otherwise
  // kAborted and nothing changes. kGone also ends every other pending delivery of the
  // operation (state GONE) and keeps new ones from being created.
  virtual absl::Status DeliveryRecord(const DeliveryOutcome& outcome) = 0;
  // Gives a claimed delivery back unattempted (its host was busy): lease cleared, attempt
  // count restored. kAborted if the claim is no longer current.
  virtual absl::Status DeliveryRelease(const std::string& id, int32_t attempt) = 0;
  // Sends the operation's latest delivery again: PENDING, due now, attempts and retry
  // window restarted, same webhook-id. kNotFound for an unknown operation (or another
  // tenant's), kFailedPrecondition when the operation has no callback or nothing was
  // delivered yet (no change to send) or the latest delivery is already pending.
  // Returns the operation afterwards.
  virtual absl::StatusOr<core::Operation> CallbackRedeliver(const OperationGetParams& params) = 0;
};

}  // namespace longrun::store

#endif  // LONGRUN_STORE_CALLBACK_STORE_H_
