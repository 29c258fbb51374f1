#!/usr/bin/env bash
# npm start: infrastructure (unless DATABASE_URL/NATS_URL/NEO4J_URI point elsewhere), migrations, then
# the three services and the example agent in the foreground. Ctrl-C stops the services; the
# infrastructure keeps running until `npm run infra:down`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/node-runtime.sh
source scripts/lib/node-runtime.sh
use_node_runtime "$ROOT"
bash scripts/infra.sh up
eval "$(bash scripts/infra.sh env)"
npm run --silent db:generate
npm run --silent db:migrate
# The console knowledge serves at /console/ is a bundle (services run from source here): build it.
npm run --silent -w @platform/knowledge build:console
exec npx tsx --conditions=@platform/source scripts/run-system.ts
