#!/usr/bin/env bash
# npm run docs:screenshots: refreshes docs/screenshots/{runs,run-tree,agents}.png (1280x800) by running
# the console's browser test against a whole local system, with its screenshots written there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../lib/node-runtime.sh
source scripts/lib/node-runtime.sh
use_node_runtime "$ROOT"
# shellcheck source=../lib/chromium.sh
source scripts/lib/chromium.sh
ensure_chromium "$ROOT"
bash scripts/infra.sh up
eval "$(bash scripts/infra.sh env)"
# Under the lock every whole-system test takes, so it never overlaps with another one.
CONSOLE_SCREENSHOTS_DIR=docs/screenshots flock /tmp/e2e.lock npx vitest run --project e2e tests/system/console.e2e.test.ts
ls -l docs/screenshots
