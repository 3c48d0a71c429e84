#!/usr/bin/env bash
# Brings the whole stack up on this machine: installs missing packages, builds, starts a
# private PostgreSQL under .state/ (git-ignored), migrates, runs longrun-api and one
# longrun-worker in the background, then shows a demo job going QUEUED -> RUNNING ->
# SUCCEEDED. Re-running restarts api and worker. Stop everything with tools/dev/down.sh.
#
# Environment: LONGRUN_LISTEN (default 127.0.0.1:50051), LONGRUN_WORKER_CONCURRENCY (8),
# LONGRUN_API_METRICS (127.0.0.1:9090) and LONGRUN_WORKER_METRICS (127.0.0.1:9091): where
# api and worker serve Prometheus /metrics. LONGRUN_HTTP_LISTEN (127.0.0.1:8080): the api's
# HTTP/JSON front end (docs/API.md, "HTTP/JSON"). LONGRUN_API_FLAGS: extra longrun-api flags (e.g.
# "--auth=token --api-keys-file=..."; then set LONGRUN_TOKEN for the demo, docs/SECURITY.md).
# Callbacks are on, signed with .state/webhook-secrets (receivers on loopback allowed).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state="$root/.state"
listen=${LONGRUN_LISTEN:-127.0.0.1:50051}
api_metrics=${LONGRUN_API_METRICS:-127.0.0.1:9090}
worker_metrics=${LONGRUN_WORKER_METRICS:-127.0.0.1:9091}
http_listen=${LONGRUN_HTTP_LISTEN:-127.0.0.1:8080}
mkdir -p "$state/logs"

"$root/tools/dev/deps.sh"
echo "==> building"
"$root/tools/dev/build.sh" --target longrun-api longrun-worker longrunctl >/dev/null
bin="$root/build/bin"

echo "==> starting PostgreSQL"
url=$("$root/tools/dev/pg.sh" start "$state/pg")
echo "    $url"
"$bin/longrun-api" migrate --database-url="$url"

stop_pidfile() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}
stop_pidfile "$state/worker.pid"
stop_pidfile "$state/api.pid"

# Callbacks on (docs/WEBHOOKS.md): a signing secret made once, kept under .state/. This is a
# development stack, so http:// receivers are allowed, and loopback receivers too.
if [ ! -s "$state/webhook-secrets" ]; then
  (umask 077; echo "whsec_$(head -c 32 /dev/urandom | base64 -w0)" >"$state/webhook-secrets")
fi
webhooks=(--webhook-secret-file="$state/webhook-secrets" --webhook-allow-insecure
          --webhook-allow-cidrs=127.0.0.0/8,::1/128)

echo "==> starting longrun-api on $listen and longrun-worker"
nohup "$bin/longrun-api" --listen="$listen" --http-listen="$http_listen" --database-url="$url" \
  --metrics-listen="$api_metrics" "${webhooks[@]}" ${LONGRUN_API_FLAGS:-} \
  >>"$state/logs/api.log" 2>&1 &
echo $! >"$state/api.pid"
nohup "$bin/longrun-worker" --database-url="$url" \
  --concurrency="${LONGRUN_WORKER_CONCURRENCY:-8}" --metrics-listen="$worker_metrics" \
  "${webhooks[@]}" >>"$state/logs/worker.log" 2>&1 &
echo $! >"$state/worker.pid"

export LONGRUN_SERVER=$listen
for _ in $(seq 1 100); do
  "$bin/longrunctl" get operations/00000000-0000-0000-0000-000000000000 2>&1 | grep -qE "NOT_FOUND|UNAUTHENTICATED" && break
  sleep 0.1
done

echo "==> demo: a 3-step demo.sleep job"
op=$("$bin/longrunctl" submit demo.sleep --input='{"seconds": 3, "steps": 3}')
name=$(echo "$op" | sed -E 's/.*"name":"([^"]+)".*/\1/')
state_of() { echo "$1" | sed -E 's/.*"state":"([A-Z_]+)".*/\1/'; }
last=$(state_of "$op")
echo "    $name  $last"
for _ in $(seq 1 300); do
  op=$("$bin/longrunctl" get "$name")
  s=$(state_of "$op")
  pct=$(echo "$op" | grep -oE '"progressPercent":[0-9]+' | cut -d: -f2 || true)
  if [ "$s" != "$last" ] || [ -n "$pct" ]; then
    line="    $name  $s${pct:+ ${pct}%}"
    [ "$line" != "${prev:-}" ] && echo "$line"
    prev=$line
  fi
  last=$s
  case "$s" in SUCCEEDED|FAILED|CANCELLED) break ;; esac
  sleep 0.2
done
echo "$op"
echo
echo "longrun is up: api $listen (pid $(cat "$state/api.pid")), worker (pid $(cat "$state/worker.pid"))"
echo "database: $url"
echo "metrics: http://$api_metrics/metrics (api), http://$worker_metrics/metrics (worker)"
echo "HTTP/JSON: curl -i -X POST http://$http_listen/v1/operations -d '{\"kind\":\"demo.sleep\",\"input\":{\"seconds\":2}}'"
echo "console: http://$http_listen/ (the operations console in a browser)"
echo "logs: $state/logs/   try: build/bin/longrunctl submit demo.sha256 --input='{\"text\":\"hi\"}' --wait"
echo "stop: tools/dev/down.sh"
