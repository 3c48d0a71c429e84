#!/usr/bin/env bash
# Runs longrun's image on this machine and completes a job through it.
#
#   deploy/docker/smoke.sh [--tag=TAG]
#
# Uses $LONGRUN_DATABASE_URL when set; otherwise starts a private PostgreSQL (tools/dev/pg.sh)
# in a throwaway directory. Then, each from the image with the host network: `longrun-api
# migrate`, a longrun-api on a port the kernel picks (written to a mounted --port-file), a
# longrun-worker, and longrunctl to submit a demo.echo job and wait until it has SUCCEEDED.
# The containers run under the restrictions of the Kubernetes manifests: read-only root file
# system (no tmpfs either), all capabilities dropped, no new privileges, user 65532. At the
# end api and worker get SIGTERM and must exit 0. Exits non-zero if any step fails (printing
# the containers' logs); every wait is bounded. Containers are stopped by their IDs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

setup_image_check "$@"
pg_dir=""
# Removes the containers (a failed run shows their logs first) and the private PostgreSQL.
stop_all() {
  local rc=$1 cidfile id
  for cidfile in "$work"/*.cid; do
    [ -s "$cidfile" ] || continue
    id=$(cat "$cidfile")
    pmt 30 container exists "$id" || continue  # a --rm one that finished
    if [ "$rc" != 0 ]; then
      log "logs of container ${id:0:12}:"
      pmt 30 logs --tail=40 "$id" >&2 || true
    fi
    pmt 60 rm -f -t 5 "$id" >/dev/null 2>&1 || true
  done
  [ -z "$pg_dir" ] || "$repo_root/tools/dev/pg.sh" destroy "$pg_dir" || true
}
with_workdir stop_all

if [ -n "${LONGRUN_DATABASE_URL:-}" ]; then
  log "using LONGRUN_DATABASE_URL"
else
  pg_dir="$work/pg"
  LONGRUN_DATABASE_URL=$("$repo_root/tools/dev/pg.sh" start "$pg_dir")
  log "started PostgreSQL: $LONGRUN_DATABASE_URL"
fi
export LONGRUN_DATABASE_URL

# As Kubernetes' restricted securityContext: readOnlyRootFilesystem (and no tmpfs podman would
# add), capabilities dropped, allowPrivilegeEscalation false, runAsNonRoot.
run_opts=(--network=host --read-only --read-only-tmpfs=false --cap-drop=ALL
          --security-opt=no-new-privileges --user=65532:65532 -e LONGRUN_DATABASE_URL)
mkdir -m 0777 "$work/ports"
chmod 0777 "$work/ports"  # whatever the umask: the api writes here as user 65532

# Runs a container in the background; podman writes its ID to $work/NAME.cid before starting
# it, so cleanup finds even one that failed to start. Prints the ID.
start() {
  local name=$1
  shift
  pmt 120 run -d --cidfile="$work/$name.cid" "${run_opts[@]}" "$@" >/dev/null
  cat "$work/$name.cid"
}
running() { [ "$(pmt 30 inspect -f '{{.State.Running}}' "$1")" = true ]; }
# longrunctl from the image (called in $(...), so the ID file is named by that subshell's PID).
ctl() {
  pmt 120 run --rm --cidfile="$work/ctl.$BASHPID.cid" "${run_opts[@]}" \
    -e LONGRUN_SERVER="127.0.0.1:$port" --entrypoint longrunctl "$image" "$@"
}

log "migrating"
pmt 120 run --rm --cidfile="$work/migrate.cid" "${run_opts[@]}" "$image" migrate >&2 || die "migrate failed"

api=$(start api -v "$work/ports:/ports" "$image" --listen=127.0.0.1:0 --port-file=/ports/api.port)
for _ in $(seq 1 600); do
  [ -s "$work/ports/api.port" ] && break
  running "$api" || die "longrun-api exited before serving"
  sleep 0.1
done
[ -s "$work/ports/api.port" ] || die "longrun-api wrote no port file within 60 s"
port=$(cat "$work/ports/api.port")
log "longrun-api ${api:0:12} serving on 127.0.0.1:$port"

worker=$(start worker --entrypoint longrun-worker "$image" --concurrency=2)
log "longrun-worker ${worker:0:12} started"

op=$(ctl submit demo.echo --input='{"smoke": "image"}') || die "longrunctl submit failed"
name=$(echo "$op" | sed -nE 's/.*"name": *"(operations\/[^"]+)".*/\1/p')
[ -n "$name" ] || die "submit printed no operation name: $op"
log "submitted $name"

# `wait` blocks until done or its (server-capped) timeout; at most 3 rounds of 30 s.
state=""
for _ in 1 2 3; do
  op=$(ctl wait "$name" --timeout=30s) || true
  state=$(echo "$op" | sed -nE 's/.*"state": *"([A-Z_]+)".*/\1/p' | head -1)
  case "$state" in SUCCEEDED|FAILED|CANCELLED) break ;; esac
  running "$worker" || die "longrun-worker exited"
done
[ "$state" = SUCCEEDED ] || die "$name is ${state:-unknown}, not SUCCEEDED: $op"
echo "$op" | grep -q '"smoke": *"image"' || die "$name has not the echoed input: $op"
log "$name SUCCEEDED"

# SIGTERM (podman stop), as Kubernetes does: both drain and exit 0.
pmt 120 stop -t 30 "$worker" "$api" >/dev/null
for id in "$worker" "$api"; do
  code=$(pmt 30 inspect -f '{{.State.ExitCode}}' "$id")
  [ "$code" = 0 ] || die "container ${id:0:12} exited with $code after SIGTERM"
done
log "api and worker stopped cleanly"
