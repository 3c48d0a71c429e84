#!/usr/bin/env bash
# Installs the worker SDK from BUILD into a fresh prefix and builds examples/cpp-worker from
# that prefix alone (a header or library the SDK forgot to install fails here), as a user
# of the SDK would:
#
#   tools/dev/sdk_example.sh [BUILD]      # default: ./build (already built)
#
# Leaves the prefix in BUILD/sdk-prefix and the example binary in
# BUILD/sdk-example/longrun-example-worker.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
prefix="$build/sdk-prefix"
example="$build/sdk-example"
rm -rf "$prefix" "$example"
cmake --install "$build" --prefix "$prefix" >/dev/null
# Only the prefix: no package registry, no source tree on any search path.
cmake -S "$root/examples/cpp-worker" -B "$example" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$example" -j"$(nproc)" >/dev/null
"$example/longrun-example-worker" --help >/dev/null
echo "sdk_example.sh: built $example/longrun-example-worker against $prefix"
