# Shared by build.sh, smoke.sh and check_contents.sh (sourced, not run).
#
# Environment:
#   LONGRUN_IMAGE            image tag (default longrun:dev)
#   LONGRUN_CONTAINERS_ROOT  keep podman's storage and run state under this directory instead
#                            of the system's (/var/lib/containers for root); the ctest uses
#                            build/containers
#   LONGRUN_STORAGE_DRIVER   podman storage driver (default: podman's, overlay here; vfs where
#                            overlay cannot mount, e.g. on an overlayfs root)
#
# The scripts run podman with CONTAINERS_CONF=deploy/docker/containers.conf, so the machine's
# and the user's containers.conf are neither read nor changed.

docker_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$docker_dir/../.." && pwd)
export CONTAINERS_CONF="$docker_dir/containers.conf"
image=${LONGRUN_IMAGE:-longrun:dev}

podman_args=()
if [ -n "${LONGRUN_CONTAINERS_ROOT:-}" ]; then
  mkdir -p "$LONGRUN_CONTAINERS_ROOT"
  croot=$(cd "$LONGRUN_CONTAINERS_ROOT" && pwd)
  # podman remembers these paths in its database: every call must pass the same ones.
  podman_args+=(--root "$croot/storage" --runroot "$croot/run" --tmpdir "$croot/tmp")
fi
[ -n "${LONGRUN_STORAGE_DRIVER:-}" ] && podman_args+=(--storage-driver "$LONGRUN_STORAGE_DRIVER")

pm() { podman "${podman_args[@]}" "$@"; }
# pm with a time limit in seconds: pmt SECONDS ARGS... (timeout cannot run a function).
pmt() { local t=$1; shift; timeout "$t" podman "${podman_args[@]}" "$@"; }

log() { echo "$(basename "$0"): $*" >&2; }
die() { log "$*"; exit 1; }

# Installs the Debian packages in "$@" that are missing, as tools/dev/deps.sh does.
ensure_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update -qq
    $sudo apt-get install -y "${missing[@]}"
  }
}

# What the scripts need on the host: podman (it builds with its built-in buildah) and runc,
# the runtime that works here (containers.conf); rootless podman also needs uidmap.
ensure_podman() {
  local pkgs=(podman runc)
  [ "$(id -u)" = 0 ] || pkgs+=(uidmap)
  ensure_packages "${pkgs[@]}"
}

# The running script's header comment (its usage).
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

# smoke.sh and check_contents.sh: parses --tag=TAG and --help, makes sure podman is installed
# and the image is in local storage.
setup_image_check() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --tag=*) image=${arg#--tag=} ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown argument $arg (see --help)" ;;
    esac
  done
  ensure_podman
  pm image exists "$image" || die "image $image not in local storage: run deploy/docker/build.sh"
}

# Makes the throwaway directory $work. At exit, the function named $1 (the script's own
# cleanup) runs with the exit status as its argument, then $work is removed and the script
# reports OK or FAILED.
with_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/longrun-$(basename "$0" .sh).XXXXXX")
  cleanup_fn=$1
  trap finish_workdir EXIT
}
finish_workdir() {
  local rc=$?
  trap - EXIT
  "$cleanup_fn" "$rc" || true
  rm -rf "$work"
  if [ "$rc" = 0 ]; then log "OK"; else log "FAILED"; fi
  exit "$rc"
}
