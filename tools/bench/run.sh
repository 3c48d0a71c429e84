#!/usr/bin/env bash
# Runs longrun-bench modes against a private stack on this machine:
#
#   tools/bench/run.sh [MODE...] [longrun-bench flags...]
#
# Starts (or reuses) the PostgreSQL cluster build/bench-pg (tools/dev/pg.sh, fsync on),
# creates a fresh database bench_<n> for this invocation, migrates it, starts longrun-api on
# a loopback port of its choosing (its PID and the postmaster's are passed to every mode as
# --api-pid and --pg-pid), runs the modes in order (default: baseline submit poll e2e drain
# remote-drain pickup watch event-lag webhooks; http-submit only when named, and then the api
# also serves HTTP/JSON on a loopback port, passed as --http-addr) with the given flags passed
# to each (webhooks starts an api of its own, with webhooks on, beside this one), then stops
# the api (SIGTERM by PID), drops the database and stops the cluster. Exit status: 1 if any
# mode failed.
#
# `peers` (only when named) is a same-cluster comparison with graphile-worker: it copies
# peer-bench's graphile.mjs to build/peer-bench (npm ci there once; PEER_BENCH=DIR/peers picks
# the source, default ../shared/peer-bench/peers next to the checkout), runs it RUNS times
# against its own database <db>_gw in the same cluster (batch and single adds, two drains,
# sequential pickups), then longrun-bench drain, submit (--c=PEERS_C, default 32 like
# graphile's addJob x32) and pickup against this api, and prints one table of medians and
# ratios: drain jobs/s, Submit rps against addJob x32 jobs/s, pickup and done p50 ms (the
# table ends with what each clock measures). Sizes: --n (or PEERS_N, default 20000) jobs,
# PEERS_PICKUPS (default 200) pickups; each graphile run is killed after PEERS_TIMEOUT seconds
# (default 600). Files: peers-*.json* in the logs folder.
#
# Environment:
#   RUNS=3         repeat each mode; longrun-bench prints every run and the median
#   API_FLAGS=...  extra longrun-api flags, e.g. "--db-pool-size=16"
#   WORKER_FLAGS=...  extra flags for the workers the modes start (longrun-bench --worker-flags)
#   KEEP_DB=1      keep the database (and the cluster running) for inspection
#   SEED_TERMINAL=N  before the modes, fill the table with N finished (SUCCEEDED) operations
#                  with realistic payloads, ended two days ago, to measure how the hot path
#                  copes with retained history (e.g. SEED_TERMINAL=10000000); with
#                  WORKER_FLAGS="--retain-succeeded=24h --prune-interval=1s" the workers of
#                  the modes prune them while the modes run
#   MODE_TIMEOUT   seconds after which a mode is killed (default 1800)
#   BUILD=1        build longrun-api, longrun-worker, longrunctl and longrun-bench first
#
# Examples:
#   tools/bench/run.sh                                  # every mode, default sizes
#   tools/bench/run.sh --n=2000 --watchers=200          # every mode, small
#   RUNS=3 tools/bench/run.sh submit e2e --json         # JSON, three runs each
#   RUNS=3 tools/bench/run.sh submit http-submit        # Submit over gRPC, then over HTTP/1.1
#   RUNS=3 tools/bench/run.sh peers                     # longrun against graphile-worker
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/build/bin"
pgdir="$root/build/bench-pg"

modes=()
flags=()
for a in "$@"; do
  case "$a" in
    -*) flags+=("$a") ;;
    *) modes+=("$a") ;;
  esac
done
[ ${#modes[@]} -gt 0 ] || modes=(baseline submit poll e2e drain remote-drain pickup watch event-lag webhooks)

if [ "${BUILD:-0}" = 1 ]; then
  cmake --build "$root/build" -j2 --target longrun-api longrun-worker longrunctl longrun-bench
fi
for b in longrun-api longrun-worker longrunctl longrun-bench; do
  [ -x "$bin/$b" ] || {
    echo "run.sh: $bin/$b is missing; build it: cmake --build build -j2 --target $b" >&2
    exit 2
  }
done

mkdir -p "$pgdir"
# One invocation at a time per cluster: another would stop it underneath this one. Every
# process started below gets `9>&-` so none of them (PostgreSQL!) inherits the lock.
exec 9>"$pgdir/run.lock"
if ! flock -n 9; then
  echo "run.sh: another run.sh is using $pgdir; waiting (at most 30 minutes)" >&2
  flock -w 1800 9 || { echo "run.sh: gave up waiting for $pgdir/run.lock" >&2; exit 1; }
fi

api_pid=""
db=""
base_url=""
cleanup() {
  local status=$?
  if [ -n "$api_pid" ] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid"
    for _ in $(seq 1 200); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$api_pid" 2>/dev/null; then
      echo "run.sh: longrun-api (pid $api_pid) ignored SIGTERM for 20s; SIGKILL" >&2
      kill -KILL "$api_pid" 2>/dev/null || true
    fi
    wait "$api_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_DB:-0}" = 1 ]; then
    [ -n "$db" ] && echo "run.sh: kept database $db; cluster still running ($base_url)" >&2
  else
    if [ -n "$db" ]; then
      psql "${base_url%/*}/postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
      psql "${base_url%/*}/postgres" -qAtc "DROP DATABASE IF EXISTS ${db}_gw" >/dev/null 2>&1 ||
        true
    fi
    "$root/tools/dev/pg.sh" stop "$pgdir" 9>&- || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> PostgreSQL (build/bench-pg)" >&2
base_url=$("$root/tools/dev/pg.sh" start "$pgdir" 9>&-)
pg_pid=$(head -1 "$pgdir/data/postmaster.pid")
db="bench_$(date +%Y%m%d_%H%M%S)_$$"
psql "${base_url%/*}/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
url="${base_url%/*}/$db"
logs="$root/build/bench-logs/$db"
mkdir -p "$logs"
"$bin/longrun-api" migrate --database-url="$url" >"$logs/migrate.log" 2>&1 ||
  { cat "$logs/migrate.log" >&2; exit 1; }
if [ -n "${SEED_TERMINAL:-}" ]; then
  echo "==> seeding $SEED_TERMINAL finished operations" >&2
  seed_start=$(date +%s)
  # One INSERT ... SELECT, as history would be: UUIDv7-shaped ids in time order (the api's ids
  # are UUIDv7, so the primary key grows at its right edge), finished two days ago, one row
  # per millisecond. Triggers off (session_replication_role), as for rows whose events have
  # long been pruned: retained history has no event rows left.
  psql "$url" -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET session_replication_role = replica;
INSERT INTO operations (id, kind, max_attempts, state, attempt, create_time, update_time,
                        start_time, end_time, version, progress_percent, input, response, labels,
                        attempts)
SELECT (lpad(to_hex((extract(epoch from t) * 1000)::int8), 12, '0') || '7' ||
        substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15))::uuid,
       'demo.echo', 5, 'SUCCEEDED', 1, t, t, t, t + interval '5 ms', 3, 100,
       jsonb_build_object('i', g, 'note', repeat('x', 64)),
       jsonb_build_object('i', g, 'note', repeat('x', 64)),
       jsonb_build_object('seed', 'yes'),
       jsonb_build_array(jsonb_build_array(1, 'seed-worker', 0, 5000, 'SUCCEEDED', NULL, NULL))
FROM generate_series(1, $SEED_TERMINAL) g,
     LATERAL (SELECT now() - interval '2 days' + g * interval '1 ms') ts(t);
RESET session_replication_role;
VACUUM ANALYZE operations;
CHECKPOINT;
SQL
  echo "    seeded in $(( $(date +%s) - seed_start ))s" >&2
fi
# Port 0: the api picks a free port and writes it to --port-file. The HTTP/JSON listener is
# on only when http-submit is among the modes (the others run against the api as before).
http_flags=()
for mode in "${modes[@]}"; do
  if [ "$mode" = http-submit ]; then
    http_flags=(--http-listen=127.0.0.1:0 --http-port-file="$logs/api.http.port")
  fi
done
# shellcheck disable=SC2086
"$bin/longrun-api" --listen=127.0.0.1:0 --port-file="$logs/api.port" --database-url="$url" \
  "${http_flags[@]}" ${API_FLAGS:-} >"$logs/api.log" 2>&1 9>&- &
api_pid=$!
up=0
server=""
for _ in $(seq 1 100); do
  if [ -z "$server" ] && [ -s "$logs/api.port" ]; then
    server="127.0.0.1:$(cat "$logs/api.port")"
  fi
  if [ -n "$server" ]; then
    out=$("$bin/longrunctl" --server="$server" get operations/00000000-0000-0000-0000-000000000000 2>&1 || true)
    if [[ "$out" == *NOT_FOUND* || "$out" == *UNAUTHENTICATED* ]]; then  # (auth on: no token here)
      up=1
      break
    fi
  fi
  kill -0 "$api_pid" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] || { echo "run.sh: longrun-api did not come up; $logs/api.log:" >&2; tail -20 "$logs/api.log" >&2; exit 1; }
http_addr_flag=()
if [ ${#http_flags[@]} -gt 0 ]; then
  # The HTTP port file is written right after the gRPC one; wait for it briefly.
  for _ in $(seq 1 50); do [ -s "$logs/api.http.port" ] && break; sleep 0.1; done
  if [ ! -s "$logs/api.http.port" ]; then
    echo "run.sh: no $logs/api.http.port; $logs/api.log:" >&2
    tail -20 "$logs/api.log" >&2
    exit 1
  fi
  http_addr_flag=(--http-addr="127.0.0.1:$(cat "$logs/api.http.port")")
  echo "    HTTP/JSON on ${http_addr_flag[0]#--http-addr=}" >&2
fi
echo "==> database $db, longrun-api $server (pid $api_pid), postmaster pid $pg_pid" >&2
echo "    logs: $logs" >&2

# The `peers` pseudo-mode (see the top of this file). Returns non-zero if a part failed.
run_peers() {
  local n=${PEERS_N:-20000} pickups=${PEERS_PICKUPS:-200} c=${PEERS_C:-32} runs=${RUNS:-1}
  local a pflags=() src node gw_url rc=0 r
  for a in "${flags[@]}"; do
    case "$a" in
      --n=*) n=${a#--n=} ;;
      --c=* | --json) ;;
      *) pflags+=("$a") ;;
    esac
  done
  if ! [[ "$n" =~ ^[0-9]+$ && "$pickups" =~ ^[0-9]+$ ]] || (( n < 100 || n > 200000 )) ||
      (( pickups < 10 || pickups > 2000 )); then
    echo "run.sh: peers needs --n (PEERS_N) in 100..200000, PEERS_PICKUPS in 10..2000" >&2
    return 1
  fi
  src=${PEER_BENCH:-$root/../shared/peer-bench/peers}
  # (a worktree under /work/wt has no ../shared next to it)
  [ -n "${PEER_BENCH:-}" ] || [ -d "$src" ] || src=/work/shared/peer-bench/peers
  node=$("$root/tools/bench/peers/install.sh" "$src" "$root/build/peer-bench" 9>&-) || return 1
  psql "${base_url%/*}/postgres" -qAtc "CREATE DATABASE ${db}_gw" >/dev/null || return 1
  gw_url="${base_url%/*}/${db}_gw"
  : >"$logs/peers-graphile.jsonl"
  local gw_version
  gw_version=$("$node" -p \
    "require('$root/build/peer-bench/node_modules/graphile-worker/package.json').version")
  for r in $(seq 1 "$runs"); do
    echo "==> peers: graphile-worker $gw_version run $r/$runs (n $n, pickups $pickups," \
      "database ${db}_gw)" >&2
    psql "$gw_url" -qAtc CHECKPOINT >/dev/null
    (cd "$root/build/peer-bench" &&
      DATABASE_URL="$gw_url" RUN="$r" LABEL=graphile-worker N="$n" LAT_JOBS="$pickups" \
        MAX_SECS=$(( ${PEERS_TIMEOUT:-600} - 30 )) timeout -k 10 "${PEERS_TIMEOUT:-600}" \
        "$node" graphile.mjs >>"$logs/peers-graphile.jsonl" 2>>"$logs/peers-graphile.err" 9>&-) ||
      { echo "run.sh: graphile-worker run $r failed; $logs/peers-graphile.err:" >&2
        tail -5 "$logs/peers-graphile.err" >&2; rc=1; }
  done
  psql "${base_url%/*}/postgres" -qAtc "DROP DATABASE IF EXISTS ${db}_gw" >/dev/null || true
  local m mflags
  for m in drain submit pickup; do
    mflags=(--n="$n")
    [ "$m" = submit ] && mflags+=(--c="$c")
    [ "$m" = pickup ] && mflags=(--n="$pickups")
    echo "==> peers: longrun-bench $m ${mflags[*]}" >&2
    psql "$url" -qAtc CHECKPOINT >/dev/null
    timeout -k 30 "${MODE_TIMEOUT:-1800}" "$bin/longrun-bench" "$m" --server="$server" \
      --database-url="$url" --api-pid="$api_pid" --pg-pid="$pg_pid" --runs="$runs" \
      --log-dir="$logs" --worker-flags="${WORKER_FLAGS:-}" "${pflags[@]}" "${mflags[@]}" \
      --json >"$logs/peers-$m.json" 9>&- || { echo "run.sh: peers: longrun $m failed" >&2; rc=1; }
  done
  echo "==> peers: same cluster, medians of $runs run(s); longrun drain 1 worker x 256," \
    "Submit c $c; graphile-worker concurrentJobs 24, addJob x32" >&2
  /usr/bin/python3 "$root/tools/bench/peers/table.py" "$logs" || rc=1
  return "$rc"
}

failed=()
for mode in "${modes[@]}"; do
  if [ "$mode" = peers ]; then
    run_peers || failed+=("peers")
  else
    echo "==> longrun-bench $mode" >&2
    set +e
    timeout -k 30 "${MODE_TIMEOUT:-1800}" "$bin/longrun-bench" "$mode" --server="$server" \
      --database-url="$url" --api-pid="$api_pid" --pg-pid="$pg_pid" --runs="${RUNS:-1}" \
      --log-dir="$logs" --worker-flags="${WORKER_FLAGS:-}" "${http_addr_flag[@]}" "${flags[@]}" \
      9>&-
    rc=$?
    set -e
    [ "$rc" = 0 ] || failed+=("$mode (exit $rc)")
  fi
  if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "run.sh: longrun-api exited during $mode; $logs/api.log:" >&2
    tail -20 "$logs/api.log" >&2
    api_pid=""
    failed+=("api died")
    break
  fi
done
# Server-side trouble: warnings and errors logged by the api and the workers.
for f in "$logs"/*.log; do
  [ -f "$f" ] || continue
  # (a random page-token secret is expected on a throwaway stack)
  n=$(grep -E ' level=(warn|error) ' "$f" | grep -cv page_token_secret_random || true)
  if [ "$n" -gt 0 ]; then
    echo "run.sh: $n warnings/errors in $f, first ones:" >&2
    grep -E ' level=(warn|error) ' "$f" | grep -v page_token_secret_random | head -3 >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
