#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# npm run deploy:check — validates every deployment artifact with the real tools (no cluster needed;
# tools and schemas come through the Go module proxy; step 7 builds and runs the images with podman):
#
#   1. tools      helm, kubeconform, kustomize: go install of pinned versions into .data/bin (idempotent)
#   2. schemas    Kubernetes JSON schemas generated from k8s.io/kubernetes' OpenAPI spec (each version
#                 in scripts/deploy/versions.env) + the ServiceMonitor CRD; the Compose spec schema
#   3. charts     values.schema.json in step with scripts/deploy/helm-schemas.ts; the vendored
#                 dependencies (helm/*/charts/) equal their sources; READMEs generated from
#                 the @param comments; helm lint --strict on every chart
#   4. render     helm template: default (+ required) values, production values, every profile and
#                 service chart; kustomize build of every overlay; renders that MUST fail (defaults
#                 alone, the deliberately bad values file, value checks) must fail, for the right reason
#   5. kubeconform -strict on everything rendered, for every Kubernetes version
#   6. tests      vitest scripts/deploy/*.int.test.ts: compose references + Compose schema,
#                 Dockerfiles, probes/resources/securityContext of every container, network policies,
#                 documented values
#   7. images     scripts/images/check.sh: the three service images built with podman from the one
#                 Dockerfile (engine installed when root, base image made locally and cached; sizes
#                 against the budget), then run read-only, uid 1000, no capabilities, against the
#                 stores: migrator on a scratch database, the vertical slice, SIGTERM → exit 0.
#                 Needs the stores (bash scripts/infra.sh up). IMAGES=skip skips it, loudly; nothing
#                 else does: a machine without a usable engine fails here.
#
# Exit 0 only when every step passed. Output of each step: .data/deploy/, .data/images/logs/ and .data/logs/images/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=deploy/tools.sh
source "$ROOT/scripts/deploy/tools.sh"

start=$SECONDS
RENDERED="$DEPLOY_DATA/rendered"
HELM="$DEPLOY_BIN/helm"
declare -a SUMMARY=()
step() { echo; echo "== $*"; }
passed() { SUMMARY+=("ok    $*"); }

step "1. tools (pinned, go install into .data/bin)"
deploy_tools_install
passed "tools: helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, kustomize $KUSTOMIZE_VERSION"

step "2. schemas (offline, from Go modules)"
deploy_schemas_install
passed "schemas: Kubernetes $KUBERNETES_VERSIONS (k8s.io/kubernetes OpenAPI) + ServiceMonitor $PROMETHEUS_OPERATOR_VERSION, compose-spec $COMPOSE_GO_VERSION"
read -r KUBE_VERSION _ <<<"$KUBERNETES_VERSIONS"

step "3. charts: values.schema.json in step, dependencies, helm lint --strict"
npx --no-install tsx scripts/deploy/helm-schemas.ts --check
# The dependencies are vendored, committed directories (helm install works from a fresh checkout):
# they must equal their sources, byte for byte.
bash scripts/deploy/charts-vendor.sh --check
echo "  helm/*/charts/: vendored copies equal helm/platform-lib and helm/<service> (scripts/deploy/charts-vendor.sh)"
npx --no-install tsx scripts/deploy/chart-readme.ts --check
echo "  helm/*/README.md: as generated from Chart.yaml and the @param comments (scripts/deploy/chart-readme.ts)"
lint() {
  local chart=$1
  shift
  echo "  helm lint --strict helm/$chart $*"
  "$HELM" lint --strict "helm/$chart" --kube-version "$KUBE_VERSION" "$@" | grep -vE '^(==> Linting|\[INFO\] |$)' | sed 's/^/    /'
}
lint platform-lib
for chart in knowledge operations coordination; do
  lint "$chart" -f "helm/$chart/ci/minimal-values.yaml"
done
lint agent-platform -f helm/agent-platform/ci/minimal-values.yaml
lint agent-platform -f helm/agent-platform/values-production.yaml
lint agent-platform -f helm/agent-platform/ci/all-features-values.yaml
passed "helm lint --strict: 5 charts, 7 lint runs"

step "4. render: helm template (default, production, profiles) + kustomize build (dev, prod); must-fail cases"
npx --no-install tsx scripts/deploy/render.ts --out "$RENDERED"
# The deliberately bad values file, as a plain command: helm template must exit non-zero.
if "$HELM" template platform helm/agent-platform -f scripts/deploy/fixtures/bad-values.yaml --kube-version "$KUBE_VERSION" >/dev/null 2>"$DEPLOY_DATA/bad-values.err"; then
  echo "  FAIL: helm template with scripts/deploy/fixtures/bad-values.yaml succeeded" >&2
  exit 1
fi
echo "  helm template -f scripts/deploy/fixtures/bad-values.yaml failed as required ($(grep -c "^- at\|^  - at" "$DEPLOY_DATA/bad-values.err") schema violations reported)"
rendered_count=$(find "$RENDERED" -name '*.yaml' | wc -l)
passed "render: $rendered_count targets rendered; defaults-only and bad values FAIL as required"

step "5. kubeconform -strict (Kubernetes $KUBERNETES_VERSIONS)"
for version in $KUBERNETES_VERSIONS; do
  echo "  Kubernetes v$version:"
  "$DEPLOY_BIN/kubeconform" -strict -summary -output text \
    -kubernetes-version "$version" \
    -schema-location "$SCHEMA_DIR/{{ .NormalizedKubernetesVersion }}{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$RENDERED" 2>&1 | tee "$DEPLOY_DATA/kubeconform-v$version.txt" | sed 's/^/    /'
  # -summary prints "Valid: N, Invalid: 0, Errors: 0, Skipped: 0"; anything skipped is a failure too.
  grep -q 'Invalid: 0, Errors: 0, Skipped: 0' "$DEPLOY_DATA/kubeconform-v$version.txt" || { echo "  FAIL: kubeconform v$version" >&2; exit 1; }
  passed "kubeconform -strict v$version: $(grep -o 'Valid: [0-9]*' "$DEPLOY_DATA/kubeconform-v$version.txt" | head -1) resources in $rendered_count files"
done

step "6. deployment tests (vitest scripts/deploy)"
vitest_rc=0
npx --no-install vitest run --project int scripts/deploy/ >"$DEPLOY_DATA/vitest.txt" 2>&1 || vitest_rc=$?
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$DEPLOY_DATA/vitest.txt")
# One line per test file, every failure in full, and vitest's totals.
grep -E '^ *(✓|❯|×) .*scripts/deploy/|FAIL|AssertionError|Error:|Test Files|^ +Tests ' <<<"$plain" | sed 's/^ */  /' || true
if ((vitest_rc != 0)); then
  echo "  FAIL: deployment tests (full output: $DEPLOY_DATA/vitest.txt)" >&2
  exit 1
fi
passed "vitest scripts/deploy: $(grep -E '^ +Tests ' <<<"$plain" | tail -1 | sed 's/^ *//')"

step "7. images (built with podman, run hardened against the stores)"
stores_up() { [[ -n ${NATS_URL:-} && -n ${DATABASE_URL:-} && -n ${NEO4J_URI:-} ]] || bash scripts/infra.sh status >/dev/null 2>&1; }
if [[ ${IMAGES:-} == skip ]]; then
  echo "  ******************************************************************"
  echo "  SKIPPED on request (IMAGES=skip): the images were neither built nor run"
  echo "  ******************************************************************"
  SUMMARY+=("SKIP  images: IMAGES=skip (not built, not run)")
else
  stores_up || { echo "  FAIL: the images run against the local stores: start them (bash scripts/infra.sh up), or skip this step with IMAGES=skip" >&2; exit 1; }
  IMAGES_PORT_BASE=${DEPLOY_CHECK_PORT_BASE:-4601} bash scripts/images/check.sh
  passed "images: built ($(grep -o '[a-z]* *[0-9]* MB' "$ROOT/.data/images/sizes.txt" 2>/dev/null | tr -s ' ' | paste -sd, - | sed 's/,/, /g')), run read-only as uid 1000 without capabilities: migrator, vertical slice, SIGTERM exit 0"
fi

echo
echo "== deploy-check summary ($((SECONDS - start)) s)"
printf '  %s\n' "${SUMMARY[@]}"
