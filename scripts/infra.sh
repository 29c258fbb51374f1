#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local infrastructure for development, tests and CI: real PostgreSQL 15, nats-server
# with JetStream and Neo4j 5.26 Community as plain processes on 127.0.0.1, with all state
# under <repo>/.data (git-ignored).
#
#   bash scripts/infra.sh up     [postgres|nats|neo4j ...]   start (idempotent), wait until ready
#   bash scripts/infra.sh down   [postgres|nats|neo4j ...]   stop what `up` started
#   bash scripts/infra.sh status [postgres|nats|neo4j ...]   exit 0 only if all are usable
#   bash scripts/infra.sh env                                 export lines: eval "$(bash scripts/infra.sh env)"
#
# No component given = all three. A preset DATABASE_URL / NATS_URL / NEO4J_URI means
# "use that, don't start ours" (unless it is exactly the value `env` prints).
# Ports: postgres 55432, nats 4333 (monitor 8333), neo4j bolt 7688 (INFRA_PG_PORT, INFRA_NATS_PORT,
# INFRA_NATS_MON_PORT, INFRA_NEO4J_PORT and INFRA_DATA move a private second copy elsewhere).
# A failed `up` stops again what it started itself, and leaves alone what was already running.
# Logs: .data/logs/<component>.log. Per-component logic: scripts/infra/<component>.sh.
# INFRA_TIMEOUT=<seconds> overrides every readiness/stop timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=infra/lib.sh
source "$ROOT/scripts/infra/lib.sh"
# shellcheck source=infra/postgres.sh
source "$ROOT/scripts/infra/postgres.sh"
# shellcheck source=infra/nats.sh
source "$ROOT/scripts/infra/nats.sh"
# shellcheck source=infra/neo4j.sh
source "$ROOT/scripts/infra/neo4j.sh"

ALL=(postgres nats neo4j)

usage() {
  # The header comment above is the help text.
  awk '/^# shellcheck/ { next } NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
  exit 2
}

print_env() {
  local c
  for c in "${ALL[@]}"; do "${c}_env"; done
}

# Serialize up/down: parallel callers (several test workers, CI steps) must not both
# initdb or both start a server. Waits for the other caller instead of failing.
take_lock() {
  mkdir -p "$RUN_DIR"
  command -v flock >/dev/null || return 0
  exec 9>"$RUN_DIR/infra.lock"
  flock -w 900 9 || die infra "timed out waiting for another 'infra.sh' (lock $RUN_DIR/infra.lock)"
}

# Components this `up` found stopped (so it is the one starting them); stopped again if `up` fails.
STARTING=()
rollback_up() {
  local code=$? i
  ((code != 0 && ${#STARTING[@]})) || return 0
  echo "infra:    'up' failed; stopping what it started: ${STARTING[*]}" >&2
  for ((i = ${#STARTING[@]} - 1; i >= 0; i--)); do "${STARTING[i]}_down" >&2 || true; done
  exit "$code"
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  local components=("$@") c
  ((${#components[@]})) || components=("${ALL[@]}")
  for c in "${components[@]}"; do
    [[ " ${ALL[*]} " == *" $c "* ]] || { echo "unknown component '$c' (expected: ${ALL[*]})" >&2; exit 2; }
  done

  case $cmd in
    up)
      take_lock
      trap rollback_up EXIT
      for c in "${components[@]}"; do
        "${c}_status" >/dev/null 2>&1 || STARTING+=("$c")
        "${c}_up"
      done
      trap - EXIT
      # Same lines as `env`, for tools that prefer sourcing a file.
      print_env >"$DATA/infra.env.tmp" && mv -f "$DATA/infra.env.tmp" "$DATA/infra.env"
      ;;
    down)
      take_lock
      # Reverse order: dependents first, in case that ever matters.
      for ((i = ${#components[@]} - 1; i >= 0; i--)); do "${components[i]}_down"; done
      ;;
    status)
      local rc=0
      for c in "${components[@]}"; do "${c}_status" || rc=3; done
      exit "$rc"
      ;;
    env)
      ((!$#)) || { echo "'env' takes no component list" >&2; exit 2; }
      print_env
      ;;
    -h | --help | help) usage ;;
    *) echo "unknown command '$cmd'" >&2; usage ;;
  esac
}

main "$@"
