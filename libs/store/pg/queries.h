// Every SQL statement longrun runs at request time, named after the store method that
// uses it and prepared once per connection under that name.
#ifndef LONGRUN_STORE_PG_QUERIES_H_
#define LONGRUN_STORE_PG_QUERIES_H_

#include <string_view>
#include <utility>

namespace longrun::store::pg {

// Columns read into core::Operation, in the order ReadOperation() expects. The attempt
// history (one more column) is only read where clients see it, not on the insert path.
#define LONGRUN_OPERATION_BASE_COLUMNS                                                   \
  "id::text, tenant, kind, queue, state::text, priority, attempt, max_attempts, "        \
  "timeout_us, progress_percent, progress_message, coalesce(request_id, ''), "          \
  "labels::text, "                                                                     \
  "(extract(epoch from create_time) * 1000000)::int8, "                                \
  "(extract(epoch from update_time) * 1000000)::int8, "                                \
  "(extract(epoch from run_at) * 1000000)::int8, "                                     \
  "(extract(epoch from start_time) * 1000000)::int8, "                                 \
  "(extract(epoch from end_time) * 1000000)::int8, "                                   \
  "version, response::text, error_code, error_message, request_fingerprint, "          \
  "coalesce(trace_id, ''), callback_url, callback_events"
// Everything clients see: the base columns, the attempt history and the latest webhook
// delivery (LONGRUN_CALLBACK_LATERAL; NULLs when there is none).
#define LONGRUN_OPERATION_COLUMNS                                                          \
  LONGRUN_OPERATION_BASE_COLUMNS ", attempts::text, cb_state, cb_attempt, "                \
  "cb_http_status, cb_error, 'msg_' || replace(cb_id::text, '-', ''), "                   \
  "(extract(epoch from cb_last_attempt_at) * 1000000)::int8, "                            \
  "(extract(epoch from cb_next_attempt_at) * 1000000)::int8"

// The latest delivery of an operation's callback, joined to a read of `operations`
// (unaliased). Only operations with a callback pay: for the others the subquery's condition
// on the outer row is a one-time filter and the index is not touched. Its columns are named
// cb_*, so the operations columns stay unambiguous (filters name them bare).
#define LONGRUN_CALLBACK_LATERAL                                                           \
  " LEFT JOIN LATERAL (SELECT d.id AS cb_id, d.state AS cb_state, d.attempt AS cb_attempt, " \
  "    d.last_http_status AS cb_http_status, d.last_error AS cb_error, "                   \
  "    d.last_attempt_at AS cb_last_attempt_at, d.next_attempt_at AS cb_next_attempt_at "  \
  "    FROM webhook_deliveries d "                                                          \
  "   WHERE operations.callback_url IS NOT NULL AND d.operation_id = operations.id "       \
  "   ORDER BY d.version DESC, d.created_at DESC LIMIT 1) cb ON true "
#define LONGRUN_OPERATIONS_FROM " FROM operations " LONGRUN_CALLBACK_LATERAL

// The attempts column with one more entry for the attempt the statement ends (see
// 0004_attempts_inline.sql): `row` is the table alias ("o." or ""), `outcome`, `code` and
// `message` are SQL expressions.
#define LONGRUN_APPEND_ATTEMPT(row, outcome, code, message)                               \
  "coalesce(" row "attempts, '[]'::jsonb) || jsonb_build_array(jsonb_build_array("       \
  row "attempt, " row "worker_id, "                                                      \
  "(extract(epoch from " row "attempt_start_time) * 1000000)::int8, "                    \
  "(extract(epoch from now()) * 1000000)::int8, " outcome ", " code ", " message "))"

// The fence of every write about one attempt: the row is still live. Written on the text of
// the state on purpose: the planner then cannot prove it implies the predicate of the
// partial operations_lease_idx, so these statements always find their rows by id through
// the primary key. With the plain enum test, generic plans made when statistics showed no
// running jobs scanned every running row (the lease index) and joined them against the
// batch: quadratic in the batch for completions and heartbeats.
#define LONGRUN_LIVE(row) row "state::text IN ('RUNNING', 'CANCELLING')"

// Every statement that makes a visible change sets the next version with this (`row` is the
// table alias, "o." or ""): version + 1, and the key of the change's event (migration 0009:
// greatest(own xid, the key of the operation's previous event), so that an operation's
// events sort in version order). Setting it here costs less than the row trigger, which
// only fills it in for a statement that bumped version without it.
#define LONGRUN_NEXT_VERSION(row) \
  "version = " row "version + 1, event_xid = greatest(pg_current_xact_id(), " row "event_xid)"

// Microseconds since the Unix epoch ($n::int8) as timestamptz, exactly. `interval * x`
// takes a float8, which holds whole microseconds only within 2^53 us (285 years) of the
// epoch, so whole seconds and the remaining microseconds are added separately (each exact
// for every timestamptz).
#define LONGRUN_MICROS_TO_TS(n)                                                            \
  "(timestamptz 'epoch' + (" n "::int8 / 1000000) * interval '1 second' + (" n            \
  "::int8 % 1000000) * interval '1 microsecond')"

inline constexpr std::string_view kOperationGetSql =
    "SELECT " LONGRUN_OPERATION_COLUMNS LONGRUN_OPERATIONS_FROM
    "WHERE id = $1::uuid AND tenant = $2";

inline constexpr std::string_view kOperationGetManySql =
    "SELECT " LONGRUN_OPERATION_COLUMNS LONGRUN_OPERATIONS_FROM "WHERE id = ANY($1::uuid[])";

inline constexpr std::string_view kOperationGetByRequestIdSql =
    "SELECT " LONGRUN_OPERATION_COLUMNS LONGRUN_OPERATIONS_FROM
    "WHERE tenant = $1 AND request_id = $2";

// $1 id, $2 tenant, $3 kind, $4 queue, $5 priority, $6 max_attempts, $7 timeout_us,
// $8 schedule_time micros (NULL: now), $9 request_id, $10 fingerprint, $11 labels, $12 input,
// $13 trace_id, $14 callback url and $15 callback events (NULL: no callback)
inline constexpr std::string_view kOperationInsertSql =
    "INSERT INTO operations (id, tenant, kind, queue, priority, max_attempts, timeout_us, "
    "  run_at, schedule_time, request_id, request_fingerprint, labels, input, trace_id, "
    "  callback_url, callback_events) "
    "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
    "  coalesce(" LONGRUN_MICROS_TO_TS("$8") ", now()), " LONGRUN_MICROS_TO_TS("$8") ", "
    "  $9, $10, $11::jsonb, $12::jsonb, nullif($13, ''), $14, $15) "
    "ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING "
    "RETURNING " LONGRUN_OPERATION_BASE_COLUMNS;

// Group commit: many Submits in one statement (one transaction, one fsync, one NOTIFY).
// Arrays, one element per operation, in the kOperationInsertSql parameter order.
inline constexpr std::string_view kOperationInsertBatchSql =
    "INSERT INTO operations (id, tenant, kind, queue, priority, max_attempts, timeout_us, "
    "  run_at, schedule_time, request_id, request_fingerprint, labels, input, trace_id, "
    "  callback_url, callback_events) "
    "SELECT u.id, u.tenant, u.kind, u.queue, u.priority, u.max_attempts, u.timeout_us, "
    "  coalesce(" LONGRUN_MICROS_TO_TS("u.schedule_us") ", now()), "
    LONGRUN_MICROS_TO_TS("u.schedule_us") ", u.request_id, u.fingerprint, u.labels, u.input, "
    "  nullif(u.trace_id, ''), u.callback_url, u.callback_events "
    "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], "
    "  $7::int8[], $8::int8[], $9::text[], $10::text[], $11::jsonb[], $12::jsonb[], "
    "  $13::text[], $14::text[], $15::text[]) "
    "  AS u(id, tenant, kind, queue, priority, max_attempts, timeout_us, schedule_us, "
    "       request_id, fingerprint, labels, input, trace_id, callback_url, callback_events) "
    "ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING "
    "RETURNING " LONGRUN_OPERATION_BASE_COLUMNS;

// How long the attempt a statement ends has run, in microseconds (`row` as above).
#define LONGRUN_RUN_MICROS(row) \
  "(extract(epoch from now() - " row "attempt_start_time) * 1000000)::int8"

// Fenced by (id, attempt) and a live state: a stale attempt's write changes nothing.
// Returns the job's queue, kind and run time (LONGRUN_RUN_MICROS).
// $1 id, $2 attempt, $3 response json.
inline constexpr std::string_view kJobCompleteSuccessSql =
    "UPDATE operations SET state = 'SUCCEEDED', response = $3::jsonb, progress_percent = 100, "
    "  progress_message = '', end_time = now(), update_time = now(), lease_expires_at = NULL, "
    "  error_code = NULL, error_message = NULL, " LONGRUN_NEXT_VERSION("") ", "
    "  attempts = " LONGRUN_APPEND_ATTEMPT("", "'SUCCEEDED'", "NULL::int", "NULL::text") " "
    "WHERE id = $1::uuid AND attempt = $2 AND " LONGRUN_LIVE("") " "
    "RETURNING queue, kind, " LONGRUN_RUN_MICROS("");

// A worker's round trip, one statement (one transaction, one commit, one change
// notification): record a batch of successes, then claim up to $5 runnable rows nobody else
// holds and mark them running.
//  - Completions are fenced by (id, attempt) and a live state: a stale attempt's write
//    changes nothing, and its id is not returned.
//  - The claim must walk operations_runnable_idx in claim order and stop at the limit; the
//    worker's connections disable sorts and bitmap scans so the planner cannot choose to
//    scan and sort the whole backlog instead (see services/worker/main.cc). The rows it
//    locks are QUEUED/RETRY_WAIT, the completed ones RUNNING/CANCELLING: never the same row.
//  - The claimed rows are updated by id (= ANY of an array, a primary-key lookup each), not
//    by joining the CTE: after an ANALYZE that saw a backlog, the planner expected the CTE
//    to return thousands of rows and hashed a sequential scan of the whole table instead
//    (21ms per round at 60,000 rows).
// $1 ids (uuid[]), $2 attempts (int[]), $3 responses (jsonb[]) of the successes;
// $4 kinds (text[]), $5 limit (0: claim nothing), $6 worker id, $7 lease in microseconds,
// $8 queues (text[], NULL: every queue).
// Rows: (true, id, kind, attempt, ..., queue, run micros) for each recorded success, then
// (false, id, kind, attempt, max_attempts, timeout_us, input, trace_id, queue, pickup micros:
// claim time minus run_at, when it became runnable) for each claimed job.
#define LONGRUN_COMPLETE_AND_CLAIM(tenant_filter) \
    "WITH input AS ("                                                                            \
    "  SELECT * FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS t(id, attempt, response)), "  \
    "done AS ("                                                                                  \
    "  UPDATE operations o SET state = 'SUCCEEDED', response = i.response, "                     \
    "    progress_percent = 100, progress_message = '', end_time = now(), update_time = now(), " \
    "    lease_expires_at = NULL, error_code = NULL, error_message = NULL, "                     \
    "    " LONGRUN_NEXT_VERSION("o.") ", "                                                         \
    "    attempts = " LONGRUN_APPEND_ATTEMPT("o.", "'SUCCEEDED'", "NULL::int", "NULL::text") " " \
    "  FROM input i "                                                                            \
    "  WHERE o.id = i.id AND o.attempt = i.attempt AND " LONGRUN_LIVE("o.") " "                  \
    "  RETURNING o.id, o.attempt, o.kind, o.queue, " LONGRUN_RUN_MICROS("o.") " AS micros), "    \
    "claimable AS ("                                                                             \
    "  SELECT id FROM operations"                                                                \
    "   WHERE state IN ('QUEUED', 'RETRY_WAIT') AND run_at <= now() AND kind = ANY($4::text[])"  \
    "     AND ($8::text[] IS NULL OR queue = ANY($8::text[]))"                                   \
    "     " tenant_filter " "                                                                    \
    "   ORDER BY priority DESC, run_at, id"                                                      \
    "   LIMIT $5 FOR UPDATE SKIP LOCKED), "                                                      \
    "claimed AS ("                                                                               \
    "  UPDATE operations o SET state = 'RUNNING', attempt = o.attempt + 1, worker_id = $6, "     \
    "    lease_expires_at = now() + $7::int8 * interval '1 microsecond', "                       \
    "    start_time = coalesce(o.start_time, now()), attempt_start_time = now(), "               \
    "    update_time = now(), "                                                                  \
    "    progress_percent = 0, progress_message = '', " LONGRUN_NEXT_VERSION("o.") " "             \
    "  WHERE o.id = ANY(ARRAY(SELECT id FROM claimable)) "                                       \
    "  RETURNING o.id, o.kind, o.queue, o.attempt, o.max_attempts, o.timeout_us, o.input, "      \
    "    o.trace_id, (extract(epoch from now() - o.run_at) * 1000000)::int8 AS micros) "         \
    "SELECT true, id::text, kind, attempt, NULL::int, NULL::int8, NULL::text, NULL::text, "      \
    "  queue, micros FROM done "                                                                 \
    "UNION ALL "                                                                                 \
    "SELECT false, id::text, kind, attempt, max_attempts, timeout_us, input::text, "             \
    "  coalesce(trace_id, ''), queue, micros FROM claimed"
inline constexpr std::string_view kJobCompleteAndClaimSql = LONGRUN_COMPLETE_AND_CLAIM("");
// The same for one tenant's jobs (remote workers): $9 tenant. A separate statement, so the
// native workers' claim carries no predicate it does not need.
inline constexpr std::string_view kJobCompleteAndClaimForTenantSql =
    LONGRUN_COMPLETE_AND_CLAIM("AND tenant = $9::text");

// $1 id, $2 attempt, $3 code, $4 message, $5 retry delay micros (NULL: final failure),
// $6 progress percent and $7 progress message (NULL: keep the stored progress).
// Returns the new state, queue, kind and run time (LONGRUN_RUN_MICROS).
// A job whose cancellation was requested ends CANCELLED whatever the handler returned.
#define LONGRUN_FAILURE_CODE "CASE WHEN state = 'CANCELLING' THEN 1 ELSE $3::int END"
#define LONGRUN_FAILURE_MESSAGE \
  "CASE WHEN state = 'CANCELLING' THEN 'cancelled by request' ELSE $4::text END"
inline constexpr std::string_view kJobCompleteFailureSql =
    "UPDATE operations SET "
    "  state = CASE WHEN state = 'CANCELLING' THEN 'CANCELLED'::operation_state "
    "               WHEN $5::int8 IS NOT NULL THEN 'RETRY_WAIT'::operation_state "
    "               ELSE 'FAILED'::operation_state END, "
    "  error_code = " LONGRUN_FAILURE_CODE ", "
    "  error_message = " LONGRUN_FAILURE_MESSAGE ", "
    "  run_at = CASE WHEN state <> 'CANCELLING' AND $5::int8 IS NOT NULL "
    "                THEN now() + $5::int8 * interval '1 microsecond' ELSE run_at END, "
    "  end_time = CASE WHEN state = 'CANCELLING' OR $5::int8 IS NULL THEN now() END, "
    "  update_time = now(), lease_expires_at = NULL, " LONGRUN_NEXT_VERSION("") ", "
    "  progress_percent = coalesce($6::int, progress_percent), "
    "  progress_message = coalesce($7::text, progress_message), "
    "  attempts = " LONGRUN_APPEND_ATTEMPT(
        "", "CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE 'FAILED' END",
        LONGRUN_FAILURE_CODE, LONGRUN_FAILURE_MESSAGE) " "
    "WHERE id = $1::uuid AND attempt = $2 AND " LONGRUN_LIVE("") " "
    "RETURNING state::text, queue, kind, " LONGRUN_RUN_MICROS("");

// Progress of many running jobs in one statement, each fenced by (id, attempt) and a live
// state; returns the rows it changed. $1 ids (uuid[]), $2 attempts (int[]), $3 percents
// (int[]), $4 messages (text[]).
inline constexpr std::string_view kJobProgressBatchSql =
    "UPDATE operations o SET progress_percent = p.percent, progress_message = p.message, "
    "  update_time = now(), " LONGRUN_NEXT_VERSION("o.") " "
    "FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[]) AS p(id, attempt, percent, message) "
    "WHERE o.id = p.id AND o.attempt = p.attempt AND " LONGRUN_LIVE("o.") " "
    "RETURNING o.id::text, o.attempt";

// Extends the leases of a worker's running jobs, fenced by attempt; returns the jobs still
// held and their state (CANCELLING tells the worker to stop the handler).
// $1 ids (uuid[]), $2 attempts (int[]), $3 lease micros.
inline constexpr std::string_view kJobHeartbeatSql =
    "UPDATE operations o SET lease_expires_at = now() + $3::int8 * interval '1 microsecond' "
    "FROM unnest($1::uuid[], $2::int[]) AS h(id, attempt) "
    "WHERE o.id = h.id AND o.attempt = h.attempt AND " LONGRUN_LIVE("o.") " "
    "RETURNING o.id::text, o.state::text";

// A draining worker hands an unfinished job back: queued again at once, attempt not burned.
// Either the attempt number is given back ($3 false), or it is retired and max_attempts
// raised by one ($3 true: remote leases, whose tokens must never match a later claim).
// $1 id, $2 attempt, $3 retire.
inline constexpr std::string_view kJobReleaseSql =
    "UPDATE operations SET state = 'QUEUED', run_at = now(), "
    "  attempt = CASE WHEN $3::bool THEN attempt ELSE attempt - 1 END, "
    "  max_attempts = CASE WHEN $3::bool THEN max_attempts + 1 ELSE max_attempts END, "
    "  lease_expires_at = NULL, worker_id = NULL, progress_percent = 0, progress_message = '', "
    "  start_time = CASE WHEN attempt = 1 AND NOT $3::bool THEN NULL ELSE start_time END, "
    "  attempt_start_time = NULL, update_time = now(), " LONGRUN_NEXT_VERSION("") " "
    "WHERE id = $1::uuid AND attempt = $2 AND state::text = 'RUNNING'";

// Jobs whose lease expired (worker crashed or stalled): back to the queue, or FAILED on the
// last attempt, or CANCELLED if cancellation was requested. The UPDATE re-checks the lease
// on the locked row, so a completion that committed first is never undone, and one that
// comes later finds a new state and changes nothing. $1 batch size. Returns each rescued
// job's new state, queue, kind and run time (LONGRUN_RUN_MICROS).
#define LONGRUN_RESCUE_CODE "CASE WHEN o.state = 'CANCELLING' THEN 1 ELSE 14 END"
#define LONGRUN_RESCUE_MESSAGE                                                              \
  "CASE WHEN o.state = 'CANCELLING' THEN 'cancelled by request' "                          \
  "  ELSE 'attempt ' || o.attempt || ' lost its worker ' || coalesce(o.worker_id, '?') || " \
  "       ' (lease expired; the worker crashed or stalled)' END"
inline constexpr std::string_view kJobRescueStuckSql =
    "WITH stuck AS ("
    "  SELECT id FROM operations "
    "   WHERE state IN ('RUNNING', 'CANCELLING') AND lease_expires_at < now() "
    "   ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED), "
    "rescued AS ("
    "  UPDATE operations o SET "
    "    state = CASE WHEN o.state = 'CANCELLING' THEN 'CANCELLED'::operation_state "
    "                 WHEN o.attempt >= o.max_attempts THEN 'FAILED'::operation_state "
    "                 ELSE 'RETRY_WAIT'::operation_state END, "
    "    error_code = " LONGRUN_RESCUE_CODE ", "
    "    error_message = " LONGRUN_RESCUE_MESSAGE ", "
    "    run_at = now(), "
    "    end_time = CASE WHEN o.state = 'CANCELLING' OR o.attempt >= o.max_attempts "
    "                    THEN now() END, "
    "    lease_expires_at = NULL, update_time = now(), " LONGRUN_NEXT_VERSION("o.") ", "
    "    attempts = " LONGRUN_APPEND_ATTEMPT("o.", "'LEASE_EXPIRED'", LONGRUN_RESCUE_CODE,
                                             LONGRUN_RESCUE_MESSAGE) " "
    "  FROM stuck WHERE o.id = stuck.id AND o.state IN ('RUNNING', 'CANCELLING') "
    "    AND o.lease_expires_at < now() "
    "  RETURNING o.state::text, o.queue, o.kind, " LONGRUN_RUN_MICROS("o.") ") "
    "SELECT * FROM rescued";

// Jobs nobody started within the schedule-to-start limit (e.g. a kind no worker serves).
// $1 limit micros, $2 batch size, $3 limit as text for the message. Returns queue, kind.
inline constexpr std::string_view kJobFailUnstartedSql =
    "WITH late AS ("
    "  SELECT id FROM operations "
    "   WHERE state = 'QUEUED' AND attempt = 0 "
    "     AND run_at < now() - $1::int8 * interval '1 microsecond' "
    "   LIMIT $2 FOR UPDATE SKIP LOCKED) "
    "UPDATE operations o SET state = 'FAILED', error_code = 4, "
    "  error_message = 'not started within ' || $3 || ' of its scheduled time: no worker "
    "claimed kind \"' || o.kind || '\" on queue \"' || o.queue || '\"', "
    "  end_time = now(), update_time = now(), " LONGRUN_NEXT_VERSION("o.") " "
    "FROM late WHERE o.id = late.id AND o.state = 'QUEUED' AND o.attempt = 0 "
    "RETURNING o.queue, o.kind";

// Retention: deletes one small batch of finished operations of one state older than the
// TTL (attempt rows go with them). $1 state, $2 ttl micros, $3 batch size.
// The literal state list is what lets a generic plan (the worker plans once) prove the
// predicate of operations_finished_idx: with `state = $1` alone it could not, and the
// generic plan hashed the whole table's primary key for every batch (740 ms per 500 rows
// with a million finished rows, against 4.5 ms through the index; session 6). The rows are
// then deleted by id, as the claim updates them.
inline constexpr std::string_view kOperationPruneSql =
    "DELETE FROM operations WHERE id = ANY(ARRAY("
    "  SELECT id FROM operations "
    "   WHERE state = $1::operation_state AND state IN ('SUCCEEDED', 'FAILED', 'CANCELLED') "
    "     AND end_time < now() - $2::int8 * interval '1 microsecond' "
    "   LIMIT $3 FOR UPDATE SKIP LOCKED))";

// Cancel: QUEUED / RETRY_WAIT end CANCELLED at once; RUNNING becomes CANCELLING and the
// worker running it is told on channel longrun_cancel (heartbeats report it too).
// Terminal and CANCELLING operations are left as they are. $1 id, $2 tenant. Returns how
// many rows changed (0 or 1), how many workers were told, and the changed row's queue and kind.
inline constexpr std::string_view kOperationCancelSql =
    "WITH changed AS ("
    "  UPDATE operations o SET "
    "    state = CASE WHEN o.state = 'RUNNING' THEN 'CANCELLING'::operation_state "
    "                 ELSE 'CANCELLED'::operation_state END, "
    "    error_code = CASE WHEN o.state = 'RUNNING' THEN o.error_code ELSE 1 END, "
    "    error_message = CASE WHEN o.state = 'RUNNING' THEN o.error_message "
    "                         ELSE 'cancelled by request' END, "
    "    end_time = CASE WHEN o.state = 'RUNNING' THEN NULL ELSE now() END, "
    "    update_time = now(), " LONGRUN_NEXT_VERSION("o.") " "
    "  WHERE o.id = $1::uuid AND o.tenant = $2 AND o.state IN ('QUEUED', 'RETRY_WAIT', 'RUNNING') "
    "  RETURNING o.id, o.state, o.queue, o.kind), "
    "told AS (SELECT pg_notify('longrun_cancel', id::text) FROM changed WHERE state = 'CANCELLING') "
    "SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM told), "
    "  (SELECT queue FROM changed), (SELECT kind FROM changed)";

// Delete: only finished operations (attempt rows and the idempotency key go with the row).
// $1 id, $2 tenant.
inline constexpr std::string_view kOperationDeleteSql =
    "DELETE FROM operations WHERE id = $1::uuid AND tenant = $2 "
    "  AND state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')";

// A hint to idle workers that jobs may be runnable. Sent after the insert committed, as a
// statement (and so a transaction) of its own whose commit does not wait for a WAL flush
// (set_config(..., true) lasts until that commit; see 0003_wake_outside_insert.sql). One
// round trip.
// The payload is '@' and the sending time in microseconds since the epoch (see
// 0008_notify_timestamp.sql).
inline constexpr std::string_view kJobWakeSql =
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify('longrun_jobs', "
    "  '@' || (extract(epoch from clock_timestamp()) * 1000000)::int8)";

// Unfinished jobs per queue for the metrics sampler: one scan of each partial index's rows
// (waiting: operations_runnable_idx, running: operations_lease_idx), never the history.
// Rows: queue, due waiting, not yet due, running, age of the oldest due job in microseconds.
inline constexpr std::string_view kQueueDepthListSql =
    "SELECT queue, sum(due)::int8, sum(later)::int8, sum(running)::int8, "
    "  coalesce(max(age), 0)::int8 FROM ("
    "  SELECT queue, count(*) FILTER (WHERE run_at <= now()) AS due, "
    "    count(*) FILTER (WHERE run_at > now()) AS later, 0 AS running, "
    "    (extract(epoch from now() - min(run_at) FILTER (WHERE run_at <= now())) * 1000000)::int8 "
    "      AS age "
    "   FROM operations WHERE state IN ('QUEUED', 'RETRY_WAIT') GROUP BY queue "
    "  UNION ALL "
    "  SELECT queue, 0, 0, count(*), NULL FROM operations "
    "   WHERE state IN ('RUNNING', 'CANCELLING') GROUP BY queue) t "
    "GROUP BY queue ORDER BY queue";

// ---- Webhook outbox (CallbackStore, migration 0009) ----

// Columns read into store::Delivery, in the order ReadDelivery() expects.
#define LONGRUN_DELIVERY_COLUMNS(row)                                                      \
  row "id::text, 'msg_' || replace(" row "id::text, '-', ''), " row "operation_id::text, " \
  row "tenant, " row "url, " row "host, " row "event_type, " row "version, " row "attempt, " \
  "(extract(epoch from " row "created_at) * 1000000)::int8, "                              \
  "(extract(epoch from " row "retry_from) * 1000000)::int8"

// Claims due deliveries nobody holds: oldest due first along webhook_deliveries_due_idx,
// SKIP LOCKED. A claim counts the attempt, takes the lease, and moves next_attempt_at to the
// lease's end, so rows in flight leave the front of the index (and become due again, with
// the same id and so the same webhook-id, if the deliverer dies).
// $1 limit, $2 deliverer id, $3 lease micros, $4 hosts to skip (text[]).
inline constexpr std::string_view kDeliveryClaimSql =
    "WITH c AS ("
    "  SELECT id FROM webhook_deliveries "
    "   WHERE state = 'PENDING' AND next_attempt_at <= now() "
    "     AND (lease_until IS NULL OR lease_until <= now()) AND host <> ALL($4::text[]) "
    "   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "UPDATE webhook_deliveries d SET attempt = d.attempt + 1, deliverer_id = $2, "
    "  lease_until = now() + $3::int8 * interval '1 microsecond', "
    "  next_attempt_at = now() + $3::int8 * interval '1 microsecond' "
    "FROM c WHERE d.id = c.id "
    "RETURNING " LONGRUN_DELIVERY_COLUMNS("d.");

// An attempt's outcome, fenced by (id, attempt) and PENDING. GONE also ends the operation's
// other pending deliveries. $1 id, $2 attempt, $3 new state (PENDING for a retry), $4 http
// status (NULL: no answer), $5 error ("" on success), $6 next attempt micros (retry only).
// Returns one row (how many rows the fenced update changed).
inline constexpr std::string_view kDeliveryRecordSql =
    "WITH rec AS ("
    "  UPDATE webhook_deliveries SET state = $3, lease_until = NULL, "
    "    last_attempt_at = now(), last_http_status = $4::int, last_error = nullif($5, ''), "
    "    next_attempt_at = CASE WHEN $3 = 'PENDING' THEN " LONGRUN_MICROS_TO_TS("$6")
    "                      ELSE next_attempt_at END "
    "  WHERE id = $1::uuid AND attempt = $2 AND state = 'PENDING' "
    "  RETURNING operation_id, state), "
    "gone AS ("
    "  UPDATE webhook_deliveries d SET state = 'GONE', lease_until = NULL "
    "    FROM rec WHERE rec.state = 'GONE' AND d.operation_id = rec.operation_id "
    "     AND d.state = 'PENDING' AND d.id <> $1::uuid) "
    "SELECT count(*) FROM rec";

// Gives a claim back unattempted: attempt restored, lease cleared, due now.
// $1 id, $2 attempt.
inline constexpr std::string_view kDeliveryReleaseSql =
    "UPDATE webhook_deliveries SET attempt = attempt - 1, lease_until = NULL, "
    "  deliverer_id = NULL, next_attempt_at = now() "
    "WHERE id = $1::uuid AND attempt = $2 AND state = 'PENDING'";

// RedeliverCallback: the operation's latest delivery PENDING again, due now, attempts and
// retry window restarted (same row, so the same webhook-id), unless it is pending already.
// $1 id, $2 tenant. One row: operation found, it has a callback, the latest delivery's state
// (NULL: none), whether it was restarted.
inline constexpr std::string_view kCallbackRedeliverSql =
    "WITH op AS (SELECT id, callback_url FROM operations WHERE id = $1::uuid AND tenant = $2), "
    "latest AS ("
    "  SELECT d.id, d.state FROM webhook_deliveries d JOIN op ON d.operation_id = op.id "
    "   ORDER BY d.version DESC, d.created_at DESC LIMIT 1 FOR UPDATE OF d), "
    "restarted AS ("
    "  UPDATE webhook_deliveries d SET state = 'PENDING', attempt = 0, lease_until = NULL, "
    "    deliverer_id = NULL, next_attempt_at = now(), retry_from = now() "
    "    FROM latest WHERE d.id = latest.id AND latest.state <> 'PENDING' RETURNING d.id) "
    "SELECT EXISTS (SELECT 1 FROM op), EXISTS (SELECT 1 FROM op WHERE callback_url IS NOT NULL), "
    "  (SELECT state FROM latest), EXISTS (SELECT 1 FROM restarted)";

// ---- Event log (EventLog, migration 0009) ----

// The final prefix of the log: transactions below the snapshot's xmin have all finished, and
// no running or later one can add an event under a key below it (0009_push_channel.sql).
#define LONGRUN_EVENT_XMIN "pg_snapshot_xmin(pg_current_snapshot())"
// Positions per log row: the i-th change (from 0) of row (key, seq) is at position
// seq * 2^20 + i (0011_event_batches.sql; EventCursor::Decode maps "e1" cursors the same way).
#define LONGRUN_EVENT_ROW_SPAN "1048576"

inline constexpr std::string_view kEventHeadSql = "SELECT " LONGRUN_EVENT_XMIN "::text";

inline constexpr std::string_view kEventHorizonSql =
    "SELECT key::text, seq FROM operation_events_horizon";

// A window of up to $3 final events after position ($1 key, $2 position), each with its
// operation when the operation is still at that event's version, belongs to tenant $4 and
// matches the filter (FILTER, over the operations columns; parameters from $5). Rows without
// an operation (filtered out, changed since, deleted) still come, to say how far the window
// reached. A log row holds up to 64 changes, at consecutive positions (LONGRUN_EVENT_ROW_SPAN).
// The primary key is walked from the row that holds the cursor's position, in (key, seq)
// order, and the changes of each row follow in place.
// Columns: LONGRUN_OPERATION_COLUMNS (NULL for those), then the event's key and position.
#define LONGRUN_EVENT_READ_HEAD                                                            \
  "WITH w AS MATERIALIZED ("                                                               \
  "  SELECT e.key AS ev_key, e.seq * " LONGRUN_EVENT_ROW_SPAN " + (c.i - 1) AS ev_seq, "     \
  "         c.op AS ev_op, c.version AS ev_version "                                       \
  "    FROM operation_events e "                                                           \
  "    CROSS JOIN LATERAL unnest(e.operation_ids, e.versions) WITH ORDINALITY "            \
  "      AS c(op, version, i) "                                                            \
  "   WHERE (e.key, e.seq) >= ($1::xid8, $2::int8 / " LONGRUN_EVENT_ROW_SPAN ") "           \
  "     AND e.key < " LONGRUN_EVENT_XMIN " "                                               \
  "     AND (e.key, e.seq * " LONGRUN_EVENT_ROW_SPAN " + (c.i - 1)) > ($1::xid8, $2::int8) " \
  "   ORDER BY e.key, e.seq, c.i LIMIT $3) "                                               \
  "SELECT " LONGRUN_OPERATION_COLUMNS ", w.ev_key::text, w.ev_seq FROM w "                 \
  "  LEFT JOIN operations ON operations.id = w.ev_op AND operations.version = w.ev_version " \
  "   AND operations.tenant = $4 AND ("
#define LONGRUN_EVENT_READ_TAIL ") " LONGRUN_CALLBACK_LATERAL " ORDER BY w.ev_key, w.ev_seq"
inline constexpr std::string_view kEventReadHead = LONGRUN_EVENT_READ_HEAD;
inline constexpr std::string_view kEventReadTail = LONGRUN_EVENT_READ_TAIL;
inline constexpr std::string_view kEventReadSql =
    LONGRUN_EVENT_READ_HEAD "true" LONGRUN_EVENT_READ_TAIL;

// Retention: deletes up to $2 final log rows (each up to 64 events) older than $1 micros, a
// prefix in (key, seq) order (it stops at the first younger row), and moves the horizon to
// the position of the last event deleted, in one statement (one transaction). Returns how
// many events.
inline constexpr std::string_view kEventPruneSql =
    "WITH head AS ("
    "  SELECT key, seq, created_at FROM operation_events WHERE key < " LONGRUN_EVENT_XMIN " "
    "   ORDER BY key, seq LIMIT $2), "
    "young AS ("
    "  SELECT key, seq FROM head WHERE created_at >= now() - $1::int8 * interval '1 microsecond' "
    "   ORDER BY key, seq LIMIT 1), "
    "gone AS ("
    "  DELETE FROM operation_events e USING head h "
    "   WHERE e.key = h.key AND e.seq = h.seq "
    "     AND NOT EXISTS (SELECT 1 FROM young y WHERE (y.key, y.seq) <= (h.key, h.seq)) "
    "  RETURNING e.key, e.seq, cardinality(e.operation_ids) AS n), "
    "last AS (SELECT key, seq * " LONGRUN_EVENT_ROW_SPAN " + n - 1 AS position FROM gone "
    "          ORDER BY key DESC, seq DESC LIMIT 1), "
    "moved AS ("
    "  UPDATE operation_events_horizon hz SET key = last.key, seq = last.position FROM last "
    "   WHERE (last.key, last.position) > (hz.key, hz.seq)) "
    "SELECT coalesce(sum(n), 0)::int8 FROM gone";

inline constexpr std::pair<std::string_view, std::string_view> kAllQueries[] = {
    {"JobWake", kJobWakeSql},
    {"OperationCancel", kOperationCancelSql},
    {"OperationDelete", kOperationDeleteSql},
    {"JobHeartbeat", kJobHeartbeatSql},
    {"JobRelease", kJobReleaseSql},
    {"JobRescueStuck", kJobRescueStuckSql},
    {"JobFailUnstarted", kJobFailUnstartedSql},
    {"OperationPrune", kOperationPruneSql},
    {"OperationGet", kOperationGetSql},
    {"OperationGetMany", kOperationGetManySql},
    {"OperationGetByRequestId", kOperationGetByRequestIdSql},
    {"OperationInsert", kOperationInsertSql},
    {"OperationInsertBatch", kOperationInsertBatchSql},
    {"JobCompleteAndClaim", kJobCompleteAndClaimSql},
    {"JobCompleteAndClaimForTenant", kJobCompleteAndClaimForTenantSql},
    {"JobCompleteSuccess", kJobCompleteSuccessSql},
    {"JobCompleteFailure", kJobCompleteFailureSql},
    {"JobProgressBatch", kJobProgressBatchSql},
    {"QueueDepthList", kQueueDepthListSql},
    {"DeliveryClaim", kDeliveryClaimSql},
    {"DeliveryRecord", kDeliveryRecordSql},
    {"DeliveryRelease", kDeliveryReleaseSql},
    {"CallbackRedeliver", kCallbackRedeliverSql},
    {"EventHead", kEventHeadSql},
    {"EventHorizon", kEventHorizonSql},
    {"EventRead", kEventReadSql},
    {"EventPrune", kEventPruneSql},
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_QUERIES_H_
