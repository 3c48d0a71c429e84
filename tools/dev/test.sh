#!/usr/bin/env bash
# The one test command: installs missing packages, builds, runs every test (unit, pg, e2e,
# Python client). Each test that needs PostgreSQL gets a throwaway cluster the CTest
# fixture starts and removes. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tools/dev/deps.sh"
"$root/tools/dev/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 "$@"
