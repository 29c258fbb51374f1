#!/usr/bin/env bash
# npm run bench: every service's benchmarks against the local stores, then one Markdown report
# (docs/bench-report.md) with each figure next to its in-run baseline.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/infra.sh up
eval "$(bash scripts/infra.sh env)"
npm run --silent db:generate
npm run --silent db:migrate
rm -rf .data/bench
run() { echo "== bench: $1"; npx tsx --conditions=@platform/source "$2"; }
run http scripts/bench/http.ts
for svc in knowledge operations; do
  if [ -f "services/$svc/bench/run.ts" ]; then run "$svc" "services/$svc/bench/run.ts"; fi
done
# Coordination's bench drives it with the agent SDK, which depends on coordination: it lives here,
# outside both packages, so neither reaches into the other.
run coordination scripts/bench/coordination.ts
# 10,000 sagas in flight across two operations replicas behind one address, memory per replica.
run replicas scripts/bench/replicas.ts
npx tsx --conditions=@platform/source scripts/bench-report.ts
