#!/usr/bin/env bash
# CTest image_test (label "image"): deploy/docker/build.sh, check_contents.sh and smoke.sh,
# with podman's storage under $LONGRUN_CONTAINERS_ROOT (build/containers, so the machine's
# storage is not touched and later runs reuse the cached layers). It takes minutes, gigabytes
# of disk and installs podman if missing, so it runs only with LONGRUN_TEST_IMAGE=1.
set -euo pipefail
if [ "${LONGRUN_TEST_IMAGE:-}" != 1 ]; then
  echo "image_test skipped: set LONGRUN_TEST_IMAGE=1 to build the container image and run it"
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
