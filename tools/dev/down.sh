#!/usr/bin/env bash
# Stops what tools/dev/up.sh started (by the PIDs it recorded) and the private PostgreSQL.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state="$root/.state"
for f in "$state/worker.pid" "$state/api.pid"; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
done
"$root/tools/dev/pg.sh" stop "$state/pg"
echo "stopped"
