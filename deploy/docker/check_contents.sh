#!/usr/bin/env bash
# Proves what longrun's image holds without starting a container, so it works where a
# sandbox lets podman build but not run.
#
#   deploy/docker/check_contents.sh [--tag=TAG]
#
# Unpacks the image's file system (`podman create` + `podman export`: every layer, applied in
# order) into a throwaway directory and checks:
#   - the config: a numeric non-root USER, ENTRYPOINT longrun-api, /usr/local/bin on PATH;
#   - no apt lists, apt caches, shell history, -dev packages or compilers;
#   - each of longrun-api, longrun-worker and longrunctl runs `--help` with the image's own
#     dynamic loader and libraries (the loader's --list must resolve every library inside the
#     unpacked tree), and, as root, also inside it with chroot as user 65532.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

setup_image_check "$@"
cid=""
remove_container() {
  [ -z "$cid" ] || pmt 60 rm -f "$cid" >/dev/null 2>&1
}
with_workdir remove_container
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

# The image's configuration.
user=$(pm image inspect -f '{{.Config.User}}' "$image")
entrypoint=$(pm image inspect -f '{{join .Config.Entrypoint " "}}' "$image")
env=$(pm image inspect -f '{{join .Config.Env " "}}' "$image")
[[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "USER is \"$user\", not a numeric non-root user"
[ "$entrypoint" = longrun-api ] || fail "ENTRYPOINT is \"$entrypoint\", not longrun-api"
[[ " $env" == *" PATH="*/usr/local/bin* ]] || fail "PATH in the image's Env lacks /usr/local/bin"

# Its files, all layers applied ("create" starts nothing).
cid=$(pmt 120 create "$image")
rootfs="$work/rootfs"
mkdir "$rootfs"
pmt 300 export "$cid" | tar -x -C "$rootfs" --exclude='dev/*'
log "unpacked $image ($(du -sh "$rootfs" | cut -f1))"

leftovers=$(cd "$rootfs" && find var/lib/apt/lists var/cache/apt -mindepth 1 \
              -not -name lock -not -name partial 2>/dev/null | head -5 || true)
[ -z "$leftovers" ] || fail "apt lists or caches left: $leftovers"
history=$(cd "$rootfs" && find . -xdev \( -name .bash_history -o -name .sh_history \
            -o -name .ash_history -o -name .python_history \) 2>/dev/null | head -5)
[ -z "$history" ] || fail "shell history left: $history"
build_pkgs=$(awk '/^Package: / { p = $2 }
                  /^Status: install ok installed/ && (p ~ /-dev$/ || p ~ /^(g\+\+|gcc|cpp|cmake|make)(-[0-9]+)?$/) { print p }' \
               "$rootfs/var/lib/dpkg/status" | head -5)
[ -z "$build_pkgs" ] || fail "build packages in the runtime image: $build_pkgs"

loader=$(find "$rootfs/usr/lib" -maxdepth 2 -type f -name 'ld-linux*.so.*' | head -1)
[ -n "$loader" ] || die "no dynamic loader in the image"
libdirs="$(dirname "$loader"):$rootfs/usr/lib"
for bin in longrun-api longrun-worker longrunctl; do
  path="$rootfs/usr/local/bin/$bin"
  [ -x "$path" ] || { fail "/usr/local/bin/$bin missing"; continue; }
  # Every library from the image: the loader's own search would fall back to the host's.
  libs=$("$loader" --inhibit-cache --library-path "$libdirs" --list "$path")
  outside=$(echo "$libs" | awk -v root="$rootfs/" '$2 == "=>" && index($3, root) != 1')
  [ -z "$outside" ] || { fail "$bin: libraries not found in the image:"$'\n'"$outside"; continue; }
  out=$("$loader" --inhibit-cache --library-path "$libdirs" "$path" --help 2>&1) ||
    { fail "$bin --help failed: $out"; continue; }
  [[ "$out" == "Usage: $bin"* ]] || { fail "$bin --help printed: ${out:0:200}"; continue; }
  if [ "$(id -u)" = 0 ]; then
    out=$(chroot --userspec=65532:65532 "$rootfs" "/usr/local/bin/$bin" --help 2>&1) ||
      { fail "$bin --help in chroot failed: $out"; continue; }
    [[ "$out" == "Usage: $bin"* ]] || { fail "$bin --help in chroot printed: ${out:0:200}"; continue; }
  fi
  log "$bin --help runs from the unpacked image ($(echo "$libs" | grep -c '=>') libraries)"
done
[ "$failures" = 0 ]
