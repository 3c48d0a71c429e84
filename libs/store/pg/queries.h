// Every SQL statement longrun runs at request time, named after the store method that
// uses it and prepared once per connection under that name.
#ifndef LONGRUN_STORE_PG_QUERIES_H_
#define LONGRUN_STORE_PG_QUERIES_H_

#include <string_view>
#include <utility>

namespace longrun::store::pg {

// Columns read into core::Operation, in the order ReadOperation() expects.
#define LONGRUN_OPERATION_COLUMNS                                                        \
  "id::text, tenant, kind, queue, state::text, priority, attempt, max_attempts, "        \
  "timeout_us, progress_percent, progress_message, coalesce(request_id, ''), "          \
  "labels::text, "                                                                     \
  "(extract(epoch from create_time) * 1000000)::int8, "                                \
  "(extract(epoch from update_time) * 1000000)::int8, "                                \
  "(extract(epoch from run_at) * 1000000)::int8, "                                     \
  "(extract(epoch from start_time) * 1000000)::int8, "                                 \
  "(extract(epoch from end_time) * 1000000)::int8, "                                   \
  "version, response::text, error_code, error_message, request_fingerprint"

// Microseconds since the Unix epoch ($n::int8) as timestamptz.
#define LONGRUN_MICROS_TO_TS(n) "(timestamptz 'epoch' + " n "::int8 * interval '1 microsecond')"

inline constexpr std::string_view kOperationGetSql =
    "SELECT " LONGRUN_OPERATION_COLUMNS " FROM operations WHERE id = $1::uuid AND tenant = $2";

inline constexpr std::string_view kOperationGetManySql =
    "SELECT " LONGRUN_OPERATION_COLUMNS " FROM operations WHERE id = ANY($1::uuid[])";

inline constexpr std::string_view kOperationGetByRequestIdSql =
    "SELECT " LONGRUN_OPERATION_COLUMNS
    " FROM operations WHERE tenant = $1 AND request_id = $2";

// $1 id, $2 tenant, $3 kind, $4 queue, $5 priority, $6 max_attempts, $7 timeout_us,
// $8 schedule_time micros (NULL: now), $9 request_id, $10 fingerprint, $11 labels, $12 input
inline constexpr std::string_view kOperationInsertSql =
    "INSERT INTO operations (id, tenant, kind, queue, priority, max_attempts, timeout_us, "
    "  run_at, schedule_time, request_id, request_fingerprint, labels, input) "
    "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
    "  coalesce(" LONGRUN_MICROS_TO_TS("$8") ", now()), " LONGRUN_MICROS_TO_TS("$8") ", "
    "  $9, $10, $11::jsonb, $12::jsonb) "
    "ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING "
    "RETURNING " LONGRUN_OPERATION_COLUMNS;

// One statement: lock up to $2 runnable rows nobody else holds, mark them running.
// $1 kinds (text[]), $2 limit, $3 worker id, $4 lease in microseconds.
inline constexpr std::string_view kJobClaimSql =
    "WITH claimable AS ("
    "  SELECT id FROM operations"
    "   WHERE state IN ('QUEUED', 'RETRY_WAIT') AND run_at <= now() AND kind = ANY($1::text[])"
    "   ORDER BY priority DESC, run_at, id"
    "   LIMIT $2 FOR UPDATE SKIP LOCKED) "
    "UPDATE operations o SET state = 'RUNNING', attempt = o.attempt + 1, worker_id = $3, "
    "  lease_expires_at = now() + $4::int8 * interval '1 microsecond', "
    "  start_time = coalesce(o.start_time, now()), update_time = now(), "
    "  progress_percent = 0, progress_message = '', version = o.version + 1 "
    "FROM claimable WHERE o.id = claimable.id "
    "RETURNING o.id::text, o.kind, o.attempt, o.max_attempts, o.timeout_us, o.input::text";

// Fenced by (id, attempt) and a live state: a stale attempt's write changes nothing.
// $1 id, $2 attempt, $3 response json.
inline constexpr std::string_view kJobCompleteSuccessSql =
    "UPDATE operations SET state = 'SUCCEEDED', response = $3::jsonb, progress_percent = 100, progress_message = '', "
    "  end_time = now(), update_time = now(), lease_expires_at = NULL, "
    "  error_code = NULL, error_message = NULL, version = version + 1 "
    "WHERE id = $1::uuid AND attempt = $2 AND state IN ('RUNNING', 'CANCELLING')";

// $1 id, $2 attempt, $3 code, $4 message, $5 retry delay micros (NULL: final failure).
// A job whose cancellation was requested ends CANCELLED whatever the handler returned.
inline constexpr std::string_view kJobCompleteFailureSql =
    "UPDATE operations SET "
    "  state = CASE WHEN state = 'CANCELLING' THEN 'CANCELLED'::operation_state "
    "               WHEN $5::int8 IS NOT NULL THEN 'RETRY_WAIT'::operation_state "
    "               ELSE 'FAILED'::operation_state END, "
    "  error_code = CASE WHEN state = 'CANCELLING' THEN 1 ELSE $3 END, "
    "  error_message = CASE WHEN state = 'CANCELLING' THEN 'cancelled by request' ELSE $4 END, "
    "  run_at = CASE WHEN state <> 'CANCELLING' AND $5::int8 IS NOT NULL "
    "                THEN now() + $5::int8 * interval '1 microsecond' ELSE run_at END, "
    "  end_time = CASE WHEN state = 'CANCELLING' OR $5::int8 IS NULL THEN now() END, "
    "  update_time = now(), lease_expires_at = NULL, version = version + 1 "
    "WHERE id = $1::uuid AND attempt = $2 AND state IN ('RUNNING', 'CANCELLING')";

// $1 id, $2 attempt, $3 percent, $4 message.
inline constexpr std::string_view kJobProgressSql =
    "UPDATE operations SET progress_percent = $3, progress_message = $4, update_time = now(), "
    "  version = version + 1 "
    "WHERE id = $1::uuid AND attempt = $2 AND state IN ('RUNNING', 'CANCELLING')";

inline constexpr std::pair<std::string_view, std::string_view> kAllQueries[] = {
    {"OperationGet", kOperationGetSql},
    {"OperationGetMany", kOperationGetManySql},
    {"OperationGetByRequestId", kOperationGetByRequestIdSql},
    {"OperationInsert", kOperationInsertSql},
    {"JobClaim", kJobClaimSql},
    {"JobCompleteSuccess", kJobCompleteSuccessSql},
    {"JobCompleteFailure", kJobCompleteFailureSql},
    {"JobProgress", kJobProgressSql},
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_QUERIES_H_
