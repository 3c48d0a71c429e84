#!/usr/bin/env bash
# Offline checks of deploy/: renders every overlay with `kubectl kustomize` and validates
# every object against the Kubernetes API schemas (strictly: unknown fields fail too), the
# references between objects and longrun's rules (tools/k8s/validate.mjs); checks the
# Grafana dashboards, the Prometheus rules and docs/RUNBOOK.md's PromQL (metric names, and
# syntax with promtool), and runs the alert rules' unit tests (promtool test rules).
#
#   deploy/k8s/validate.sh [--deploy-dir=DIR] [--k8s-only] [--bin-dir=DIR]
#
# --deploy-dir checks another copy of deploy/ (the deliberate-error test uses this).
# --bin-dir also checks that the flags and LONGRUN_* variables the manifests give
# longrun-api and longrun-worker are ones the binaries in DIR list in --help.
# KUBECTL picks the kubectl (default: the one on PATH). KUBECTL_COMPAT names a second one,
# e.g. Debian's kubectl 1.20 with its old built-in kustomize: every overlay is then also
# rendered with it, validated, and must give the same objects.
#
# The first run installs the npm packages of tools/k8s (package-lock.json) into
# tools/k8s/node_modules; later runs need no network.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
deploy_dir="$root/deploy"
k8s_only=false
bin_dir=""
for arg in "$@"; do
  case "$arg" in
    --deploy-dir=*) deploy_dir=$(cd "${arg#--deploy-dir=}" && pwd) ;;
    --k8s-only) k8s_only=true ;;
    --bin-dir=*) bin_dir=$(cd "${arg#--bin-dir=}" && pwd) ;;
    *) sed -n '2,19p' "$0" >&2; exit 2 ;;
  esac
done

fail() { echo "validate.sh: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null ||
  fail "node and npm are needed (tools/dev/deps.sh installs them)"
kubectl=${KUBECTL:-kubectl}
command -v "$kubectl" >/dev/null ||
  fail "no kubectl (tools/dev/deps.sh installs Debian's kubernetes-client)"
$k8s_only || command -v promtool >/dev/null ||
  fail "no promtool (tools/dev/deps.sh installs Debian's prometheus)"

# npm packages, installed once per package-lock.json (under a lock: ctest runs tests in
# parallel).
tools="$root/tools/k8s"
want=$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)
stamp="$tools/node_modules/.longrun-lock-sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (
    flock 9
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      echo "validate.sh: installing tools/k8s npm packages (npm ci)" >&2
      (cd "$tools" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >&2) ||
        fail "npm ci in tools/k8s failed"
      echo "$want" >"$stamp"
    fi
  ) 9<"$tools/package-lock.json"
fi
validate() { node "$tools/validate.mjs" "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Renders overlay $1 with kubectl $2 into $3; kustomize's deprecation warnings about the
# fields old versions need (bases, patchesStrategicMerge) are expected and not shown.
render() {
  if ! "$2" kustomize "$1" >"$3" 2>"$3.err"; then
    cat "$3.err" >&2
    fail "kubectl kustomize $1 failed ($2)"
  fi
  grep -v -e "^# Warning: '\(bases\|patchesStrategicMerge\)' is deprecated" -e '^$' "$3.err" >&2 || true
}

status=0
overlays=0
for overlay in "$deploy_dir"/k8s/overlays/*/; do
  overlay=${overlay%/}
  name=$(basename "$overlay")
  overlays=$((overlays + 1))
  # Secrets the overlay references but does not create (one name a line, # comments).
  externals=()
  if [ -f "$overlay/external-secrets.txt" ]; then
    while read -r secret; do
      externals+=("--external-secret=$secret")
    done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$overlay/external-secrets.txt")
  fi
  render "$overlay" "$kubectl" "$tmp/$name.yaml"
  validate manifests "${externals[@]}" "$name" "$tmp/$name.yaml" || status=1
  [ -z "$bin_dir" ] || validate flags "$name" "$tmp/$name.yaml" "$bin_dir" || status=1
  if [ -n "${KUBECTL_COMPAT:-}" ]; then
    render "$overlay" "$KUBECTL_COMPAT" "$tmp/$name.compat.yaml"
    validate manifests "${externals[@]}" "$name (KUBECTL_COMPAT)" "$tmp/$name.compat.yaml" || status=1
    validate same "$tmp/$name.yaml" "$tmp/$name.compat.yaml" || status=1
  fi
done
[ "$overlays" -gt 0 ] || fail "no overlays under $deploy_dir/k8s/overlays"

if ! $k8s_only; then
  sources=("$deploy_dir"/grafana/*.json "$deploy_dir"/prometheus/*-rules.yaml "$root/docs/RUNBOOK.md")
  if validate promql --rules-out="$tmp/promql-rules.yaml" "${sources[@]}"; then
    promtool check rules "$tmp/promql-rules.yaml" >"$tmp/promtool.log" 2>&1 ||
      { cat "$tmp/promtool.log" >&2; echo "validate.sh: PromQL syntax (promtool check rules)" >&2; status=1; }
  else
    status=1
  fi
  for rules in "$deploy_dir"/prometheus/*-rules.yaml; do
    promtool check rules "$rules" >"$tmp/promtool.log" 2>&1 ||
      { cat "$tmp/promtool.log" >&2; status=1; }
  done
  for tests in "$deploy_dir"/prometheus/*-rules_test.yaml; do
    [ -f "$tests" ] || continue
    if (cd "$(dirname "$tests")" && promtool test rules "$(basename "$tests")") >"$tmp/promtool.log" 2>&1; then
      echo "ok: $(basename "$tests"): $(grep -c '^- interval' "$tests") alert test groups pass"
    else
      cat "$tmp/promtool.log" >&2
      status=1
    fi
  done
fi

[ "$status" = 0 ] && echo "validate.sh: all checks passed" || echo "validate.sh: FAILED" >&2
exit "$status"
