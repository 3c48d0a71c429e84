#!/usr/bin/env bash
# Builds longrun's container image with podman, offline: no registry is contacted.
#
#   deploy/docker/build.sh [--tag=TAG] [--base=IMAGE] [--jobs=N]
#
# TAG defaults to $LONGRUN_IMAGE or longrun:dev; IMAGE (the Dockerfile's BASE) to
# debian:bookworm-slim; N (parallel compile jobs in the build stage) to 2. When IMAGE is not
# in podman's local storage, it is bootstrapped from Debian packages: mmdebstrap's bookworm
# minbase, from the Debian mirrors this machine's apt uses (so only Debian's apt needs to be
# reachable), `podman import`ed under IMAGE's name. apt inside the build uses the host network.
# Missing host packages (podman, runc, mmdebstrap) are installed from Debian. Prints the tag.
# See deploy/README.md and lib.sh for the environment (LONGRUN_CONTAINERS_ROOT, ...).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

base=debian:bookworm-slim
jobs=2
for arg in "$@"; do
  case "$arg" in
    --tag=*) image=${arg#--tag=} ;;
    --base=*) base=${arg#--base=} ;;
    --jobs=*) jobs=${arg#--jobs=} ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

# "deb URI SUITE COMPONENTS" for each bookworm suite from Debian that the host's apt knows
# (from its downloaded Release files, hence Origin: Debian). Nothing when apt has no lists;
# mmdebstrap then uses deb.debian.org with its updates and security suites.
host_debian_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
      'Created-By: Packages' 'Origin: Debian' 2>/dev/null |
    awk '$2 ~ /^bookworm(-updates|-security)?$/' | sort -u |
    awk '{ key = $1 " " $2; if (!(key in c)) order[n++] = key; c[key] = c[key] " " $3 }
         END { for (i = 0; i < n; i++) print "deb " order[i] c[order[i]] }'
}

bootstrap_base() {
  ensure_packages mmdebstrap
  local sources=()
  mapfile -t sources < <(host_debian_sources)
  log "$base is not in local storage: bootstrapping it with mmdebstrap (bookworm minbase)"
  [ ${#sources[@]} -eq 0 ] || log "mirrors: $(printf '%s; ' "${sources[@]}")"
  # As Docker's debian:bookworm-slim: no manuals, documentation (but copyrights) or locales,
  # here and in every package installed on top later.
  mmdebstrap --variant=minbase --format=tar --quiet \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/groff/*' \
      --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --dpkgopt='path-exclude=/usr/share/linda/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      bookworm - "${sources[@]}" |
    pm import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$base" >/dev/null
}

ensure_podman
start=$(date +%s)
if ! pm image exists "$base"; then
  bootstrap_base
  log "bootstrapped $base in $(($(date +%s) - start)) s"
fi

log "building $image (BASE=$base, $jobs compile jobs)"
# --pull=never: the base comes from local storage only, never from a registry.
pm build --pull=never --network=host \
  --build-arg BASE="$base" --build-arg JOBS="$jobs" \
  -f "$docker_dir/Dockerfile" --ignorefile "$docker_dir/Dockerfile.dockerignore" \
  -t "$image" "$repo_root" >&2
log "built $image in $(($(date +%s) - start)) s"
echo "$image"
