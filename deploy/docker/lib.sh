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
