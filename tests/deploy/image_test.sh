#!/usr/bin/env bash
# CTest image_test (label "image"): deploy/docker/build.sh, check_contents.sh and smoke.sh,
# with podman's storage under $LONGRUN_CONTAINERS_ROOT (build/containers, so the machine's
# storage is not touched and later runs reuse the cached layers). From nothing it takes about
# six minutes and a gigabyte of disk, and installs podman if missing; LONGRUN_TEST_IMAGE=0
# skips it (e.g. for a quick local run).
set -euo pipefail
if [ "${LONGRUN_TEST_IMAGE:-1}" = 0 ]; then
  echo "image_test skipped: LONGRUN_TEST_IMAGE=0"
  exit 77  # SKIP_RETURN_CODE
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
step() {
  local start=$SECONDS
  echo "==> $*"
  "$@"
  echo "==> $(basename "$1") took $((SECONDS - start)) s"
}
step "$root/deploy/docker/build.sh"
step "$root/deploy/docker/check_contents.sh"
step "$root/deploy/docker/smoke.sh"
