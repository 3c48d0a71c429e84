#include "libs/store/pg/pg_callback_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/core/ids.h"
#include "libs/store/pg/pool.h"
#include "libs/store/pg/rows.h"

namespace longrun::store::pg {
namespace {

// LONGRUN_DELIVERY_COLUMNS (queries.h).
Delivery ReadDelivery(const pqxx::row& r) {
  Delivery d;
  d.id = r[0].as<std::string>();
  d.webhook_id = r[1].as<std::string>();
  d.operation_id = r[2].as<std::string>();
  d.tenant = r[3].as<std::string>();
  d.url = r[4].as<std::string>();
  d.host = r[5].as<std::string>();
  d.event_type = r[6].as<std::string>();
  d.version = r[7].as<int64_t>();
  d.attempt = r[8].as<int32_t>();
  d.created_time = absl::FromUnixMicros(r[9].as<int64_t>());
  d.retry_from = absl::FromUnixMicros(r[10].as<int64_t>());
  return d;
}

absl::string_view StateAfter(DeliveryResult result) {
  switch (result) {
    case DeliveryResult::kDelivered:
      return "DELIVERED";
    case DeliveryResult::kRetry:
      return "PENDING";
    case DeliveryResult::kDead:
      return "DEAD";
    case DeliveryResult::kGone:
      return "GONE";
  }
  return "PENDING";
}

absl::Status StaleClaim(absl::string_view what, absl::string_view id, int32_t attempt) {
  return absl::AbortedError(absl::StrCat(what, " of delivery ", id, " attempt ", attempt,
                                         " ignored: the claim is no longer current"));
}

}  // namespace

absl::StatusOr<std::vector<Delivery>> PgCallbackStore::DeliveryClaim(
    const DeliveryClaimParams& p) {
  std::vector<Delivery> out;
  if (p.limit <= 0) return out;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    out.clear();
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec_prepared("DeliveryClaim", p.limit, p.deliverer_id,
                                            absl::ToInt64Microseconds(p.lease),
                                            TextArray(p.skip_hosts))) {
      out.push_back(ReadDelivery(row));
    }
  }));
  return out;
}

absl::Status PgCallbackStore::DeliveryRecord(const DeliveryOutcome& o) {
  bool recorded = false;
  std::optional<int32_t> http_status;
  if (o.http_status != 0) http_status = o.http_status;
  std::optional<int64_t> next_us;
  if (o.result == DeliveryResult::kRetry) next_us = absl::ToUnixMicros(o.next_attempt_time);
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result r =
        tx.exec_prepared("DeliveryRecord", o.id, o.attempt, std::string(StateAfter(o.result)),
                         http_status, o.error, next_us);
    recorded = r[0][0].as<int64_t>() > 0;
  }));
  return recorded ? absl::OkStatus() : StaleClaim("outcome", o.id, o.attempt);
}

absl::Status PgCallbackStore::DeliveryRelease(const std::string& id, int32_t attempt) {
  bool released = false;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    released = tx.exec_prepared("DeliveryRelease", id, attempt).affected_rows() > 0;
  }));
  return released ? absl::OkStatus() : StaleClaim("release", id, attempt);
}

absl::StatusOr<core::Operation> PgCallbackStore::CallbackRedeliver(const OperationGetParams& p) {
  bool found = false, has_callback = false, restarted = false;
  std::optional<std::string> latest;
  std::optional<absl::StatusOr<core::Operation>> op;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec_prepared("CallbackRedeliver", p.id, p.tenant);
    found = r[0][0].as<bool>();
    has_callback = r[0][1].as<bool>();
    latest.reset();
    if (!r[0][2].is_null()) latest = r[0][2].as<std::string>();
    restarted = r[0][3].as<bool>();
    op.reset();
    if (!found) return;
    const pqxx::result g = tx.exec_prepared("OperationGet", p.id, p.tenant);
    if (!g.empty()) op = ReadOperation(g[0]);
  }));
  const std::string name = core::OperationName(p.id);
  if (!found || !op.has_value()) {
    return absl::NotFoundError(absl::StrCat("operation ", name, " not found"));
  }
  if (!has_callback) {
    return absl::FailedPreconditionError(
        absl::StrCat("operation ", name, " has no callback: its Submit gave no callback.url"));
  }
  if (!latest.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "operation ", name, " has no callback delivery yet: nothing to send until it changes"));
  }
  if (!restarted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the callback of operation ", name, " is already PENDING: it is being delivered"));
  }
  return *std::move(op);
}

}  // namespace longrun::store::pg
