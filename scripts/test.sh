#!/usr/bin/env bash
# npm test: every check and every test kind, starting the stores it needs and stopping afterwards
# exactly the ones it started (a developer's already-running infrastructure is left alone).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CI="${CI:-}"
start_ts=$(date +%s)
# shellcheck source=lib/node-runtime.sh
source scripts/lib/node-runtime.sh
use_node_runtime "$ROOT"

started=()
cleanup() {
  local code=$?
  if [ ${#started[@]} -gt 0 ]; then
    echo "== stopping what the tests started: ${started[*]}"
    bash scripts/infra.sh down "${started[@]}" || true
  fi
  echo "== test run finished in $(( $(date +%s) - start_ts )) s (exit $code)"
  exit $code
}
trap cleanup EXIT

# `infra.sh status` exits 3 when anything is stopped (always so on a clean machine); only its
# listing matters here, so its exit code must not trip `set -e`/`pipefail`.
was_running=$( (bash scripts/infra.sh status 2>/dev/null || true) | awk -F: '/running/ {print $1}' | tr -d ' ' | tr '\n' ' ')
# Counted before `up`, so a failed `up` still has what it started stopped on exit.
for c in postgres nats neo4j; do
  case " $was_running " in *" $c "*) ;; *) started+=("$c") ;; esac
done
echo "== infrastructure"
bash scripts/infra.sh up
eval "$(bash scripts/infra.sh env)"

echo "== prisma client and migrations"
npm run --silent db:generate
npm run --silent db:migrate
npm run --silent db:migrate:check

echo "== typecheck and lint"
npx turbo run typecheck --output-logs=errors-only
npx tsc -p scripts/tsconfig.json
npx tsc -p tests/tsconfig.json
npx eslint .
# One formatter (Prettier, .prettierrc.json): `npm run format` writes what this checks.
npx prettier --check .
# No circles, packages reached by name and exports only, router/ on top (.dependency-cruiser.mjs).
npm run --silent lint:deps

echo "== deployment artifacts (Dockerfile, compose, kustomize, Helm) with helm, kubeconform, kustomize; the images built and run with podman"
npm run --silent deploy:check

echo "== Schemathesis (PyPI) for the OpenAPI tests"
bash scripts/tools/schemathesis.sh >/dev/null

echo "== Chromium (Debian's) for the console's browser test"
# shellcheck source=lib/chromium.sh
source scripts/lib/chromium.sh
ensure_chromium "$ROOT"

echo "== unit, integration and end-to-end tests"
# One kind at a time: end-to-end files start whole systems that share durable consumers, so they
# must not overlap with each other or with integration files.
npx vitest run --project unit
npx vitest run --project int
npx vitest run --project e2e
