#!/usr/bin/env bash
# A private PostgreSQL 15 cluster under a state directory, on loopback only.
#
#   tools/dev/pg.sh start DIR [PORT]   initdb if needed, start, create database "longrun";
#                                      prints the connection URL. PORT default: the one DIR
#                                      used before, else a random port below the kernel's
#                                      ephemeral range (see pick_port).
#   tools/dev/pg.sh stop DIR [fast|immediate]
#   tools/dev/pg.sh url DIR            prints the URL of a started cluster
#   tools/dev/pg.sh status DIR
#   tools/dev/pg.sh destroy DIR         stop and delete the cluster
#
# PostgreSQL refuses to run as root, so when run as root the cluster belongs to the
# "postgres" user. Durable settings (fsync and synchronous_commit on) as in production.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,12p' "$0"; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
# As root the cluster runs as "postgres", which must be able to reach DIR. When some parent
# directory is private (a checkout under /root, say), keep the data directory under /tmp
# instead and remember where in DIR.
if [ "$(id -u)" = 0 ]; then
  if [ -f "$dir/datadir" ]; then
    data=$(cat "$dir/datadir")
  elif ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    data="/tmp/longrun-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)/data"
    echo "$data" >"$dir/datadir"
  fi
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
owner=$([ "$(id -u)" = 0 ] && echo postgres || id -un)

# PostgreSQL cannot listen on port 0 and report the port, so pg.sh picks one, and the bind
# decides: if postgres cannot bind it, start fails and we pick again (no probe that could
# race). Ports come from below the kernel's ephemeral range (ip_local_port_range, 32768+ by
# default), which the kernel never hands out for port-0 listeners (longrun-api in tests) or
# outgoing connections, so only another fixed-port listener can collide.
pick_port() {
  local low=0 high
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  high=$((low - 1))
  if [ "$high" -ge 21000 ]; then
    echo $((20000 + (RANDOM * 32768 + RANDOM) % (high - 20000 + 1)))
  else  # unusual ephemeral range: any non-privileged port, the bind still decides
    echo $((20000 + RANDOM % 40000))
  fi
}

url() { echo "postgresql://$owner@127.0.0.1:$(cat "$dir/port")/longrun" | tee "$dir/url"; }

case "$cmd" in
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"
      # The cluster owner must own the data directory.
      [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$(dirname "$data")" && chmod 755 "$(dirname "$data")"
      as_owner "$bin/initdb" -D "$data" -U "$owner" --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
      cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
max_connections = 300
shared_buffers = 256MB
# The queue table needs frequent vacuums (see libs/store/migrations/0005_queue_autovacuum.sql).
autovacuum_naptime = 1s
fsync = on
synchronous_commit = on
log_min_messages = warning
log_min_error_statement = panic
CONF
    fi
    if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then url; exit 0; fi
    port=${3:-}
    # A restart keeps its port, so URLs handed out before stay valid.
    [ -z "$port" ] && [ -f "$dir/port" ] && port=$(cat "$dir/port")
    # Several clusters may start at once (parallel tests): when the port is taken, the start
    # fails and we try another one.
    started=0
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$port" ] && port=$(pick_port)
      echo "$port" >"$dir/port"
      if as_owner "$bin/pg_ctl" -D "$data" -l "$(dirname "$data")/postgres.log" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
        started=1; break
      fi
      [ -n "${3:-}" ] && break
      port=""
    done
    [ "$started" = 1 ] || { tail -20 "$(dirname "$data")/postgres.log" >&2; exit 1; }
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U "$owner" -d postgres -qAtc \
      "SELECT 1 FROM pg_database WHERE datname = 'longrun'" | grep -q 1 ||
      as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$owner" longrun
    url
    ;;
  stop)
    [ -f "$data/PG_VERSION" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$data" -m "${3:-fast}" -w stop >/dev/null 2>&1 || true
    ;;
  destroy)  # stop and remove the cluster's files
    if [ -f "$data/PG_VERSION" ]; then
      as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$data" in /tmp/longrun-pg-*) rm -rf "$(dirname "$data")" ;; esac
    rm -rf "$dir"
    ;;
  url) url ;;
  status) as_owner "$bin/pg_ctl" -D "$data" status ;;
  *) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
