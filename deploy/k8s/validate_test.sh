#!/usr/bin/env bash
# deploy/k8s/validate.sh must reject deliberate errors, naming the field: each case copies
# deploy/, breaks one manifest, and expects validate.sh to fail with the given message. A
# copy left as it is must pass, so the failures come from the breakage alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# case NAME FILE SED_EXPRESSION EXPECTED_MESSAGE (FILE relative to deploy/k8s; an empty
# SED_EXPRESSION leaves the copy as it is and expects success)
case_() {
  local name=$1 file=$2 edit=$3 expected=$4 copy="$tmp/$1"
  mkdir -p "$copy"
  cp -r "$root/deploy/." "$copy/"
  if [ -n "$edit" ]; then
    sed -i -e "$edit" "$copy/k8s/$file"
    if cmp -s "$root/deploy/k8s/$file" "$copy/k8s/$file"; then
      echo "FAIL $name: the edit '$edit' changed nothing in $file"; failed=$((failed + 1)); return
    fi
  fi
  local rc=0
  "$root/deploy/k8s/validate.sh" --deploy-dir="$copy" --k8s-only >"$copy.out" 2>&1 || rc=$?
  if [ -z "$edit" ]; then
    if [ "$rc" = 0 ]; then echo "ok $name: passes"; passed=$((passed + 1)); return; fi
  elif [ "$rc" = 1 ] && grep -qF -- "$expected" "$copy.out"; then
    echo "ok $name: rejected with: $(grep -F -m1 -- "$expected" "$copy.out")"
    passed=$((passed + 1))
    return
  fi
  echo "FAIL $name: exit status $rc; expected ${expected:-success}; output:"
  sed 's/^/    /' "$copy.out"
  failed=$((failed + 1))
}

case_ unchanged_copy base/api-deployment.yaml "" ""
case_ misspelt_field base/api-deployment.yaml 's/^  replicas: 2$/  replica: 2/' \
  'Deployment/longrun-api: spec.replica: unknown field "replica"'
case_ misspelt_nested_field base/worker-deployment.yaml 's/^      containers:$/      contianers:/' \
  'Deployment/longrun-worker: spec.template.spec.contianers: unknown field "contianers"'
case_ string_for_integer base/api-deployment.yaml 's/containerPort: 50051/containerPort: grpc/' \
  'Deployment/longrun-api: spec.template.spec.containers[0].ports[0].containerPort: must be integer'
case_ keda_string_for_integer overlays/production/worker-autoscaler.yaml \
  's/maxReplicaCount: 20/maxReplicaCount: twenty/' \
  'production: ScaledObject/longrun-worker: spec.maxReplicaCount: must be integer'
case_ keda_misspelt_field overlays/production/worker-autoscaler.yaml \
  's/pollingInterval: 15/pollingIntervall: 15/' \
  'production: ScaledObject/longrun-worker: spec.pollingIntervall: unknown field "pollingIntervall"'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
