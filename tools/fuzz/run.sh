#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into ./build-fuzz and runs each for SECONDS
# (default 30). Exits non-zero if any fuzzer crashes, leaks or trips a sanitizer; the
# reproducer is left in build-fuzz/artifacts/.
#
#   tools/fuzz/run.sh [SECONDS]
#
# tools/fuzz is configured as its own CMake project so this needs only clang, Abseil,
# protobuf and OpenSSL (no gRPC or libpqxx). New interesting inputs go to
# build-fuzz/corpus/<name>/; the seeds in tools/fuzz/corpus/ are only read.
set -euo pipefail
seconds=${1:-30}
case "$seconds" in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build-fuzz"

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root/tools/fuzz" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >/dev/null
fi
cmake --build "$build" -j2 --target filter_fuzzer page_token_fuzzer struct_json_fuzzer \
  token_fuzzer

failed=()
for name in filter page_token struct_json token; do
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts"
  mkdir -p "$corpus" "$artifacts"
  # filter inputs may exceed the 4096-byte limit, tokens the 8 KiB one, so the length checks
  # are exercised too.
  max_len=8192
  [ "$name" = page_token ] && max_len=256
  [ "$name" = token ] && max_len=8400
  echo "== ${name}_fuzzer for ${seconds}s"
  if ! "$build/bin/${name}_fuzzer" -max_total_time="$seconds" -max_len="$max_len" \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/${name}-" \
      "$corpus" "$root/tools/fuzz/corpus/$name"; then
    failed+=("${name}_fuzzer")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (reproducers in $build/artifacts/)" >&2
  exit 1
fi
echo "OK: filter_fuzzer, page_token_fuzzer, struct_json_fuzzer and token_fuzzer ran ${seconds}s each" \
  "without a crash"
