# shellcheck shell=bash
# nats-server with JetStream on 127.0.0.1:4333 (monitoring 127.0.0.1:8333), data in .data/nats.
# Sourced by scripts/infra.sh (which sets ROOT and sources lib.sh first).

NATS_PORT=${INFRA_NATS_PORT:-4333}
NATS_MON_PORT=${INFRA_NATS_MON_PORT:-8333}
NATS_DIR="$DATA/nats"
NATS_CONF="$NATS_DIR/nats.conf"
# Users and permissions come from shared/contracts/src/nats-permissions.ts through its CLI scripts/infra/nats-config.ts (the same renderer the private test
# servers and the NATS permission tests use): one user per service (knowledge, operations,
# coordination) publishing only its own subjects, `subscriber` (read-only, outside event
# subscribers), `agent` (heartbeats only) and `platform` (operators and test tooling only: every
# right, never given to a service or an agent). Each user gets replies on its own `_INBOX_<user>`.
NATS_USER_NAME=platform
NATS_USER_PW=platform_local
NATS_SERVICE_USERS=(knowledge operations coordination)
AGENT_NATS_USER_NAME=agent
AGENT_NATS_USER_PW=agent_local
SUBSCRIBER_NATS_USER_NAME=subscriber
SUBSCRIBER_NATS_USER_PW=subscriber_local
# No credentials in the URL: the nats npm client (v2.29) ignores user:password in server
# URLs (checked: it connects without auth and gets "Authorization Violation"), so they are
# exported separately as NATS_USER / NATS_PASSWORD -> connect({ servers, user, pass }).
NATS_LOCAL_URL="nats://$INFRA_HOST:$NATS_PORT"
NATS_MIN_VERSION=2.11.0           # JetStream features the platform relies on
NATS_PINNED_MODULE=github.com/nats-io/nats-server/v2@v2.15.2

nats_version_ok() {
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n1)
  [[ -n $v ]] && [[ $(printf '%s\n' "$NATS_MIN_VERSION" "$v" | sort -V | head -n1) == "$NATS_MIN_VERSION" ]]
}

# Prefer a recent enough nats-server on PATH, then our own build, else build the pinned
# version into .data/bin with `go install` (fast when the module is in the Go cache).
nats_resolve_bin() {
  local b go
  for b in "$(command -v nats-server || true)" "$DATA/bin/nats-server"; do
    if [[ -n $b && -x $b ]] && nats_version_ok "$b"; then NATS_BIN=$b; return 0; fi
  done
  go=$(command -v go || true)
  [[ -z $go && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  [[ -n $go ]] || die nats "no nats-server >= $NATS_MIN_VERSION on PATH and no Go toolchain to build it.
  Install nats-server >= $NATS_MIN_VERSION (https://github.com/nats-io/nats-server/releases) or Go, or set NATS_URL."
  info nats "building nats-server ($NATS_PINNED_MODULE) into $DATA/bin (one-time; log: $LOG_DIR/nats-build.log)"
  mkdir -p "$DATA/bin" "$LOG_DIR"
  local t0
  t0=$(now_ms)
  # GOBIN has to be absolute for go install; ROOT comes from the script location.
  # -x is not used: "go: downloading <module>" lines are the progress worth showing.
  if ! GOBIN="$DATA/bin" GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" \
       run_with_progress nats "$LOG_DIR/nats-build.log" "building nats-server" "$go" install "$NATS_PINNED_MODULE"; then
    fail_with_log nats "go install $NATS_PINNED_MODULE failed" "$LOG_DIR/nats-build.log"
  fi
  info nats "built nats-server in $(since "$t0")"
  NATS_BIN="$DATA/bin/nats-server"
  nats_version_ok "$NATS_BIN" || die nats "built $NATS_BIN but its version is below $NATS_MIN_VERSION"
}

nats_write_conf() {
  mkdir -p "$NATS_DIR"
  # Rewritten on every start so changes here take effect; the command line repeats the
  # essentials (-js -sd -a -p -m) so `ps` shows how it was started. JetStream is enabled by
  # -js -sd on the command line (repeating store_dir in the file is an error).
  local args=(--server-name platform_local --listen "$INFRA_HOST:$NATS_PORT" --http "$INFRA_HOST:$NATS_MON_PORT"
    --password "$NATS_USER_NAME=$NATS_USER_PW" --password "$AGENT_NATS_USER_NAME=$AGENT_NATS_USER_PW"
    --password "$SUBSCRIBER_NATS_USER_NAME=$SUBSCRIBER_NATS_USER_PW") u
  for u in "${NATS_SERVICE_USERS[@]}"; do args+=(--password "$u=${u}_local"); done
  [[ -f $ROOT/node_modules/tsx/package.json ]] || die nats "node_modules/tsx is missing: run 'npm ci' first (the NATS config is rendered by scripts/infra/nats-config.ts)"
  (cd "$ROOT" && node --conditions=@platform/source --import tsx scripts/infra/nats-config.ts "${args[@]}") >"$NATS_CONF.tmp" ||
    die nats "rendering the NATS config (scripts/infra/nats-config.ts) failed"
  # Answers 0 when the file changed (a running server must reload it), 1 when it is the same.
  if cmp -s "$NATS_CONF.tmp" "$NATS_CONF"; then
    rm -f "$NATS_CONF.tmp"
    return 1
  fi
  mv -f "$NATS_CONF.tmp" "$NATS_CONF"
}

nats_healthy() {
  [[ $(http_status "$NATS_MON_PORT" "/healthz?js-enabled-only=true") == 200 ]] && tcp_open "$INFRA_HOST" "$NATS_PORT"
}

nats_up() {
  if is_external NATS_URL "$NATS_LOCAL_URL"; then
    info nats "NATS_URL is set; using it, not starting local nats-server"
    return 0
  fi
  local pid how t0 limit spawned=""
  t0=$(now_ms)
  if pid=$(live_pid nats "$NATS_CONF"); then
    how="already running"
    # A server started by an older version of this script picks up the new config (users,
    # permissions) without a restart: nats-server reloads its config file on SIGHUP.
    if nats_write_conf; then
      kill -HUP "$pid"
      how="already running, config reloaded"
    fi
  else
    nats_resolve_bin
    for p in "$NATS_PORT" "$NATS_MON_PORT"; do
      ! tcp_open "$INFRA_HOST" "$p" || die nats "port $INFRA_HOST:$p is in use by another process"
    done
    nats_write_conf || true
    rotate_log nats
    # The health limit counts from here: a download or build before it (nats_resolve_bin on a
    # cold Go cache takes minutes) is not the server being slow to start.
    t0=$(now_ms)
    spawn nats "$NATS_BIN" -c "$NATS_CONF" -js -sd "$NATS_DIR" -a "$INFRA_HOST" -p "$NATS_PORT" -m "$NATS_MON_PORT"
    pid=$(<"$(pid_file nats)")
    spawned=$pid
    how="started"
  fi
  limit=$(timeout_for 30)
  until nats_healthy; do
    kill -0 "$pid" 2>/dev/null || abort_start nats "$spawned" "nats-server exited during startup"
    (($(now_ms) - t0 < limit * 1000)) || abort_start nats "$spawned" "not healthy (healthz?js-enabled-only=true on :$NATS_MON_PORT) after ${limit}s"
    sleep 0.2
  done
  [[ $how == started ]] && how="started in $(since "$t0")"
  info nats "ready on $INFRA_HOST:$NATS_PORT jetstream=on monitor=$INFRA_HOST:$NATS_MON_PORT ($how, pid $pid)"
}

nats_down() {
  local pid
  if ! pid=$(live_pid nats "$NATS_CONF"); then
    info nats "not running"
    return 0
  fi
  stop_pid nats "$pid" "$(timeout_for 30)"
  info nats "stopped"
}

nats_status() {
  local pid
  if is_external NATS_URL "$NATS_LOCAL_URL"; then
    info nats "external (NATS_URL)"
  elif pid=$(live_pid nats "$NATS_CONF") && nats_healthy; then
    info nats "running pid=$pid $INFRA_HOST:$NATS_PORT"
  elif [[ -n ${pid:-} ]]; then
    info nats "process $pid alive but not healthy"
    return 1
  else
    info nats "stopped"
    return 1
  fi
}

nats_env() {
  if is_external NATS_URL "$NATS_LOCAL_URL"; then
    # External server: pass through whatever credentials the caller gave (may be none).
    export_line NATS_URL "$NATS_URL"
    export_line NATS_USER "${NATS_USER:-}"
    export_line NATS_PASSWORD "${NATS_PASSWORD:-}"
  else
    export_line NATS_URL "$NATS_LOCAL_URL"
    export_line NATS_USER "$NATS_USER_NAME"
    export_line NATS_PASSWORD "$NATS_USER_PW"
    export_line AGENT_NATS_USER "$AGENT_NATS_USER_NAME"
    export_line AGENT_NATS_PASSWORD "$AGENT_NATS_USER_PW"
    export_line SUBSCRIBER_NATS_USER "$SUBSCRIBER_NATS_USER_NAME"
    export_line SUBSCRIBER_NATS_PASSWORD "$SUBSCRIBER_NATS_USER_PW"
    # Each service's own user (scripts/lib/processes.ts serviceEnv passes them as NATS_USER/NATS_PASSWORD).
    local u
    for u in "${NATS_SERVICE_USERS[@]}"; do
      export_line "${u^^}_NATS_USER" "$u"
      export_line "${u^^}_NATS_PASSWORD" "${u}_local"
    done
  fi
}
