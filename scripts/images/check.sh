#!/usr/bin/env bash
# npm run images:check — builds the service images (scripts/images/build.sh: engine, base image,
# the three images, their sizes against the budget), then runs them for real against the local
# stores (scripts/images/check.ts: hardened containers, migrator, vertical slice, SIGTERM → exit 0).
# Part of `npm test` (scripts/deploy-check.sh step 7). The stores must be running
# (bash scripts/infra.sh up). IMAGES_PORT_BASE (default 4601) moves the containers' three ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/images/build.sh
# What build.sh wrote and used; podman reads it from the environment.
export CONTAINERS_CONF="$ROOT/.data/images/containers.conf"
[[ -n ${NATS_URL:-} ]] || eval "$(bash scripts/infra.sh env)"
# One check at a time on a machine: the containers' names and ports are fixed.
flock -w 900 "$ROOT/.data/images/check.lock" \
  npx --no-install tsx --conditions=@platform/source scripts/images/check.ts --port-base "${IMAGES_PORT_BASE:-4601}"
