#!/usr/bin/env bash
# Installs the Debian 12 packages longrun needs to build, run and test, if any are missing.
set -euo pipefail
packages=(
  cmake g++ make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libpqxx-dev libpq-dev libssl-dev prometheus-cpp-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  libboost1.81-dev
  postgresql postgresql-contrib
  python3 python3-grpcio python3-grpc-tools python3-protobuf
  clang libclang-rt-14-dev
  python3-yaml prometheus
  # console_py_test: headless Chromium drives the console (GET /); DejaVu renders its screenshot
  chromium fonts-dejavu-core
)
# deploy/k8s/validate.sh: kubectl renders the kustomizations, node and npm run the schema
# checks (tools/k8s). Debian's kubernetes-client (kubectl 1.20) only where no kubectl exists:
# a kubectl from elsewhere (machines of this kind ship one) conflicts with it.
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -qq
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}
