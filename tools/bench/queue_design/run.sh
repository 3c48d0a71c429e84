#!/usr/bin/env bash
# The queue-design alternatives of issue 16 at the SQL level, without longrun's processes:
#
#   tools/bench/queue_design/run.sh [N] [HISTORY] [VARIANT...]
#
# For each variant: a fresh database in build/bench-pg (longrun's migrations, then the
# variant's changes), N queued demo.echo operations (default 200000) on top of HISTORY
# finished ones (default 0), then pgbench -M prepared with 2 clients (a worker's two
# dispatchers), each repeating one round: record the 256 jobs it claimed last round as
# SUCCEEDED and claim 256 more, until the queue is empty. Prints jobs/s, how busy the host
# was, and the tables' insert/update/HOT-update counts. Variants run in the order given
# (default: all, alternating, so the machine's drift spreads over them):
#
#   one-table            the schema as migrated (claim and completion rewrite the operations row)
#   one-table-no-events  the same, without the event-log insert in the change trigger (what
#                        the event log costs; before migration 0011 it wrote a row per
#                        change, now a row per statement)
#   queue-table          runnable and leased jobs in a small `jobs` table (insert, claim,
#                        delete) beside operations, whose rows then have no indexed column
#                        that changes (queue_table_schema.sql, queue_table_cycle.sql)
#   queue-table-ff50     the same with operations at fillfactor 50
#   hot-claim-ffNN       no index key or predicate changes at a claim (hot_claim_schema.sql,
#                        and the round with the edits below), operations at fillfactor NN
#                        (e.g. hot-claim-ff50)
#
# and, to see what each part of the schema costs the round (each removes one part of
# one-table; none of them keeps every guarantee):
#
#   no-notify            the change trigger without its NOTIFY (events still written)
#   no-trigger           no change trigger at all (no NOTIFY, no events, no deliveries)
#   keep-attempts        a success leaves the attempts column as it was (no history entry)
#   no-tenant-idx        without operations_tenant_create_idx (ListOperations' order)
#   tenant-id-idx        that index on (tenant, id DESC) instead (UUIDv7 ids: creation order)
#   no-lease-idx         without operations_lease_idx (the rescuer's)
#   no-finished-idx      without operations_finished_idx (retention's)
#   bare                 all of the above removed: two row updates, the primary key and the
#                        runnable index only
#
# Needs build/bin/longrun-api (for `migrate`) and pgbench. Figures: docs/BENCHMARKS.md
# "Queue design". It takes the bench cluster's lock, like tools/bench/run.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
n=${1:-200000}; hist=${2:-0}; shift $(( $# >= 2 ? 2 : $# ))
variants=("$@")
[ ${#variants[@]} -gt 0 ] ||
  variants=(one-table queue-table one-table-no-events queue-table-ff50)
pgdir="$root/build/bench-pg"
mkdir -p "$pgdir"
exec 9>"$pgdir/run.lock"
flock -w 1800 9 || { echo "queue_design: gave up waiting for $pgdir/run.lock" >&2; exit 1; }
base=$("$root/tools/dev/pg.sh" start "$pgdir" 9>&-)
admin="${base%/*}/postgres"
db=""
trap '[ -z "$db" ] || psql "$admin" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true;
      "$root/tools/dev/pg.sh" stop "$pgdir" 9>&- >/dev/null || true' EXIT

# Replaces the change trigger's function (longrun_notify_changes, as migrated) with itself
# minus the first statement that matches the regular expression $1, so that a variant
# measures the schema's own trigger without one part, not a copy that drifts from it.
trigger_without() {
  local def
  def=$(psql "$url" -qAt -v ON_ERROR_STOP=1 -v re="$1" <<'SQL'
SELECT regexp_replace(def, :'re', '')
  FROM pg_get_functiondef('longrun_notify_changes'::regproc) def WHERE def ~ :'re'
SQL
)
  [ -n "$def" ] || { echo "queue_design: nothing in longrun_notify_changes matches $1" >&2; exit 1; }
  printf '%s;\n' "$def" | psql "$url" -q -v ON_ERROR_STOP=1
}

for v in "${variants[@]}"; do
  db="queue_design_$$"
  psql "$admin" -qAtc "CREATE DATABASE $db"
  url="${base%/*}/$db"
  "$root/build/bin/longrun-api" migrate --database-url="$url" >/dev/null 2>&1
  cycle="$here/one_table_cycle.sql"
  case $v in
    one-table) ;;
    one-table-no-events) trigger_without 'INSERT INTO operation_events .*?GROUP BY event_xid, chunk;' ;;
    queue-table | queue-table-ff50)
      psql "$url" -q -v ON_ERROR_STOP=1 -f "$here/queue_table_schema.sql"
      [ "$v" = queue-table-ff50 ] && psql "$url" -qc "ALTER TABLE operations SET (fillfactor = 50)"
      cycle="$here/queue_table_cycle.sql"
      ;;
    hot-claim-ff[0-9]*)
      psql "$url" -q -v ON_ERROR_STOP=1 -f "$here/hot_claim_schema.sql"
      psql "$url" -qc "ALTER TABLE operations SET (fillfactor = ${v#hot-claim-ff})"
      # one_table_cycle.sql, plus a lease row for each claimed batch, and a claim that finds
      # runnable rows among all unfinished ones (the index no longer tells them apart).
      cycle="$root/build/queue_design_hot_claim.sql"
      sed -e 's/^claimable AS ($/lease AS (INSERT INTO claim_batches (worker_id, expires_at) VALUES ('"'w1'"', now() + interval '"'30 seconds'"') RETURNING id),\nclaimable AS (/' \
          -e 's/^   WHERE state IN /   WHERE end_time IS NULL AND state IN /' \
          -e 's/(SELECT count(\*) FROM done) AS ndone FROM claimed/(SELECT count(*) FROM done) AS ndone, (SELECT count(*) FROM lease) AS nlease FROM claimed/' \
          "$here/one_table_cycle.sql" >"$cycle"
      [ "$(grep -c 'claim_batches\|end_time IS NULL AND\|AS nlease' "$cycle")" = 3 ] ||
        { echo "queue_design: one_table_cycle.sql changed; hot-claim's edits no longer apply" >&2; exit 1; }
      ;;
    no-notify) trigger_without 'PERFORM pg_notify\(.*?GROUP BY chunk;' ;;
    no-trigger) psql "$url" -qc "DROP TRIGGER operations_notify_changes ON operations" ;;
    no-tenant-idx) psql "$url" -qc "DROP INDEX operations_tenant_create_idx" ;;
    tenant-id-idx)
      psql "$url" -qc "DROP INDEX operations_tenant_create_idx" \
                  -c "CREATE INDEX operations_tenant_create_idx ON operations (tenant, id DESC)" ;;
    no-lease-idx) psql "$url" -qc "DROP INDEX operations_lease_idx" ;;
    no-finished-idx) psql "$url" -qc "DROP INDEX operations_finished_idx" ;;
    keep-attempts | bare)
      cycle="$root/build/queue_design_$v.sql"
      sed 's/^    attempts = coalesce.*$/    attempts = o.attempts/' "$here/one_table_cycle.sql" >"$cycle"
      grep -q '^    attempts = o.attempts$' "$cycle" ||
        { echo "queue_design: one_table_cycle.sql has no attempts line to replace" >&2; exit 1; }
      [ "$v" = bare ] && psql "$url" -q -v ON_ERROR_STOP=1 \
        -c "DROP TRIGGER operations_notify_changes ON operations" \
        -c "DROP INDEX operations_tenant_create_idx, operations_lease_idx, operations_finished_idx"
      ;;
    *) echo "queue_design: unknown variant $v" >&2; exit 2 ;;
  esac
  psql "$url" -q -v ON_ERROR_STOP=1 <<SQL
SET session_replication_role = replica;
INSERT INTO operations (id, kind, max_attempts, state, attempt, create_time, update_time,
                        start_time, end_time, version, progress_percent, input, response, labels)
SELECT (lpad(to_hex(g), 8, '0') || substr(md5(g::text), 9))::uuid, 'demo.echo', 5, 'SUCCEEDED',
       1, t, t, t, t + interval '5 ms', 3, 100, jsonb_build_object('i', g, 'note', repeat('x', 64)),
       jsonb_build_object('i', g, 'note', repeat('x', 64)), jsonb_build_object('seed', 'yes')
FROM generate_series(1, $hist) g,
     LATERAL (SELECT now() - interval '2 days' + g * interval '1 ms') ts(t);
RESET session_replication_role;
-- Submitted 10 us apart, like a stream of Submits (one shared now() would make every
-- comparison in the create_time and run_at indexes fall through to the id).
INSERT INTO operations (id, kind, max_attempts, labels, input, create_time, update_time, run_at)
SELECT (lpad(to_hex(1000000000 + g), 8, '0') || substr(md5(g::text), 9))::uuid, 'demo.echo', 5,
       '{"bench": "x"}', jsonb_build_object('i', g), t, t, t
FROM generate_series(1, $n) g,
     LATERAL (SELECT now() - interval '1 hour' + g * interval '10 microseconds') ts(t);
SQL
  case $v in queue-table*)
    psql "$url" -qc "INSERT INTO jobs (id, tenant, kind, queue, priority, run_at)
                     SELECT id, tenant, kind, queue, priority, run_at FROM operations
                      WHERE state = 'QUEUED'" ;;
  esac
  psql "$url" -qc "VACUUM ANALYZE"
  psql "$url" -qc "CHECKPOINT"
  psql "$url" -qc "SELECT pg_stat_reset()" >/dev/null
  read -r _ u1 n1 s1 i1 _ < <(head -1 /proc/stat)
  start=$(date +%s.%N)
  PGOPTIONS="-c enable_sort=off -c enable_bitmapscan=off -c enable_seqscan=off" \
    pgbench -n -M prepared -c 2 -j 2 -t $(( n / 512 + 20 )) -D ids='{}' -D atts='{}' \
      -f "$cycle" "$url" >"$root/build/queue_design_pgbench.log" 2>&1 ||
    { cat "$root/build/queue_design_pgbench.log" >&2; exit 1; }
  end=$(date +%s.%N)
  read -r _ u2 n2 s2 i2 _ < <(head -1 /proc/stat)
  left=$(psql "$url" -qAtc "SELECT count(*) FROM operations WHERE state <> 'SUCCEEDED'")
  busy=$(( (u2 - u1) + (n2 - n1) + (s2 - s1) )); idle=$(( i2 - i1 ))
  printf '%-20s n=%d history=%d jobs/s=%.0f unfinished=%d host_busy_cores=%.2f\n' "$v" "$n" \
    "$hist" "$(echo "$n / ($end - $start)" | bc -l)" "$left" \
    "$(echo "$(nproc) * $busy / ($busy + $idle)" | bc -l)"
  sleep 1  # the statistics collector
  psql "$url" -qAt -F' ' -c "SELECT '    ' || relname, 'ins=' || n_tup_ins, 'upd=' || n_tup_upd,
                                  'hot=' || n_tup_hot_upd, 'del=' || n_tup_del
                             FROM pg_stat_user_tables WHERE relname IN ('operations', 'jobs',
                               'operation_events') ORDER BY relname"
  psql "$admin" -qAtc "DROP DATABASE $db"
  db=""
done
