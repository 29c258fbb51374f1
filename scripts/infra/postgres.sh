# shellcheck shell=bash
# PostgreSQL 15: a private cluster under .data/postgres on 127.0.0.1:55432.
# Sourced by scripts/infra.sh (which sets ROOT and sources lib.sh first).
#
# Never touches the system's default cluster: own data dir, own port, and the unix
# socket lives in .data/run/postgres instead of /var/run/postgresql.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}   # override e.g. for Homebrew's postgresql@15
PG_PORT=${INFRA_PG_PORT:-55432}
PG_DATA="$DATA/postgres"
PG_SOCK_DIR="$RUN_DIR/postgres"
PG_DB=platform
PG_OWNER=platform_owner;  PG_OWNER_PW=platform_owner_local   # owns the db, runs migrations
PG_APP=operations_app;    PG_APP_PW=operations_app_local     # what the service connects as
PG_APP_URL="postgresql://$PG_APP:$PG_APP_PW@$INFRA_HOST:$PG_PORT/$PG_DB"
PG_ADMIN_URL="postgresql://$PG_OWNER:$PG_OWNER_PW@$INFRA_HOST:$PG_PORT/$PG_DB"

# postgres refuses to run as root, so as root every server-side command runs as the
# `postgres` OS user (created by the Debian package). `cd /` because the caller's cwd
# may not be readable by that user.
pg_run() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_ensure_installed() {
  [[ -x $PG_BIN/postgres ]] && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    info postgres "installing postgresql-15 with apt-get (one-time; log: $LOG_DIR/postgres-install.log)"
    mkdir -p "$LOG_DIR"
    # The package also creates the distro's default cluster (port 5432); we leave it alone.
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15; } \
         >"$LOG_DIR/postgres-install.log" 2>&1; then
      fail_with_log postgres "apt-get install postgresql-15 failed" "$LOG_DIR/postgres-install.log"
    fi
    [[ -x $PG_BIN/postgres ]] || die postgres "postgresql-15 installed but $PG_BIN/postgres is still missing"
    return 0
  fi
  die postgres "PostgreSQL 15 server not found at $PG_BIN/postgres.
  Install it (Debian/Ubuntu: sudo apt-get install postgresql-15), or point PG_BIN at a
  directory containing the PostgreSQL 15 binaries (initdb, pg_ctl, postgres, psql, pg_isready),
  or set DATABASE_URL to use an existing server instead."
}

# Directories the server writes to must belong to the user it runs as.
pg_prepare_dirs() {
  mkdir -p "$PG_DATA" "$PG_SOCK_DIR" "$LOG_DIR"
  touch "$LOG_DIR/postgres.log" "$LOG_DIR/postgres-initdb.log"
  chmod 700 "$PG_DATA" "$PG_SOCK_DIR"
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die postgres "OS user 'postgres' does not exist (it comes with the postgresql-15 package)"
    # chown -R only when needed: cheap on every `up`, and fixes a dir created by another user.
    [[ $(stat -c %U "$PG_DATA") == postgres ]] || chown -R postgres:postgres "$PG_DATA"
    chown postgres:postgres "$PG_SOCK_DIR" "$LOG_DIR/postgres.log" "$LOG_DIR/postgres-initdb.log"
    # Every parent of .data must be traversable by the postgres user (fails e.g. under /root).
    runuser -u postgres -- test -w "$PG_DATA" ||
      die postgres "OS user 'postgres' cannot write $PG_DATA: some parent directory of $ROOT is not
  world-traversable (e.g. /root is 0700). Clone the repo elsewhere or 'chmod o+x' its parent directories."
  fi
}

pg_initdb() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  local t0
  t0=$(now_ms)
  # Superuser 'postgres' has no password: it can only log in over the private unix socket
  # (trust), never over TCP (scram-sha-256 for everyone there).
  if ! pg_run "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOG_DIR/postgres-initdb.log" 2>&1; then
    fail_with_log postgres "initdb failed" "$LOG_DIR/postgres-initdb.log"
  fi
  # Our settings live in their own file, rewritten on every `up` (see pg_write_conf).
  echo "include_if_exists = 'platform.conf'" >>"$PG_DATA/postgresql.conf"
  info postgres "initialized cluster in .data/postgres ($(since "$t0"))"
}

pg_write_conf() {
  local tmp="$PG_DATA/platform.conf.tmp"
  cat >"$tmp" <<EOF
# Written by scripts/infra/postgres.sh on every 'infra.sh up'; edit the script, not this file.
listen_addresses = '$INFRA_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
log_timezone = 'UTC'
# Keep fsync/synchronous_commit at their safe defaults; tests should see real durability.
EOF
  mv -f "$tmp" "$PG_DATA/platform.conf"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$PG_DATA/platform.conf"
  return 0
}

# PID of the postmaster running on OUR data dir, if any (postmaster.pid line 1, verified
# against /proc so a stale file after a crash or reboot doesn't count).
pg_postmaster_pid() {
  local pid
  [[ -f $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF -- "$PG_DATA" || return 1
  echo "$pid"
}

pg_isready_tcp() { "$PG_BIN/pg_isready" -q -h "$INFRA_HOST" -p "$PG_PORT" -d postgres -t 2; }

pg_start() {
  rotate_log postgres
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$LOG_DIR/postgres.log"
  # -W: don't let pg_ctl wait; pg_wait_ready polls over TCP (what clients use) and fails
  # with the log tail. setsid: the server must outlive the caller's process group.
  # pg_ctl's own messages (e.g. "another server might be running") go to the same log.
  # shellcheck disable=SC2094
  if ! (close_extra_fds; pg_run setsid "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -W start </dev/null >>"$LOG_DIR/postgres.log" 2>&1); then
    fail_with_log postgres "pg_ctl start failed"
  fi
}

# Wait until the server accepts connections on TCP (also covers a server that is still
# starting up or recovering).
pg_wait_ready() {
  local limit t0=$SECONDS
  limit=$(timeout_for 60)
  while ! pg_isready_tcp; do
    if ((SECONDS - t0 > 3)) && ! pg_postmaster_pid >/dev/null; then
      fail_with_log postgres "postgres exited during startup"
    fi
    ((SECONDS - t0 < limit)) || fail_with_log postgres "not accepting connections on $INFRA_HOST:$PG_PORT after ${limit}s"
    sleep 0.3
  done
}

# Idempotent: creates what is missing and re-asserts attributes/passwords every time.
pg_bootstrap_roles() {
  local out
  if ! out=$("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -v owner="$PG_OWNER" -v owner_pw="$PG_OWNER_PW" -v app="$PG_APP" -v app_pw="$PG_APP_PW" -v db="$PG_DB" \
        2>&1 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
-- Owner: owns the database (and so the public schema), runs migrations, owns tables.
-- CREATEDB lets migration tooling create shadow/test databases.
ALTER ROLE :"owner" WITH LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD :'owner_pw';

SELECT format('CREATE ROLE %I LOGIN', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
-- Service role: deliberately weak so row-level security actually applies to it.
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_pw';

SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL
  ); then
    echo "$out" >>"$LOG_DIR/postgres.log"
    fail_with_log postgres "creating roles/database failed"
  fi
}

postgres_up() {
  if is_external DATABASE_URL "$PG_APP_URL"; then
    info postgres "DATABASE_URL is set; using it, not starting local postgres"
    return 0
  fi
  pg_ensure_installed
  pg_prepare_dirs
  pg_initdb
  pg_write_conf
  local how
  if pg_postmaster_pid >/dev/null; then
    pg_wait_ready
    how="already running"
  else
    # Something else on our port would make pg_isready report on the wrong server.
    ! tcp_open "$INFRA_HOST" "$PG_PORT" || die postgres "port $INFRA_HOST:$PG_PORT is in use by another process (not our cluster)"
    local t0
    t0=$(now_ms)
    pg_start
    pg_wait_ready
    how="started in $(since "$t0")"
  fi
  pg_postmaster_pid >"$(pid_file postgres)"   # marker: infra.sh manages this server
  pg_bootstrap_roles
  info postgres "ready on $INFRA_HOST:$PG_PORT db=$PG_DB ($how, pid $(<"$(pid_file postgres)"))"
}

postgres_down() {
  if ! pg_postmaster_pid >/dev/null; then
    rm -f "$(pid_file postgres)"
    info postgres "not running"
    return 0
  fi
  # Only ever our own data dir, so this can't stop the system cluster or an external DB.
  # -m fast: disconnect clients and shut down cleanly (no crash recovery on next start).
  if ! pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$(timeout_for 60)" stop >>"$LOG_DIR/postgres.log" 2>&1; then
    fail_with_log postgres "pg_ctl stop failed"
  fi
  rm -f "$(pid_file postgres)"
  info postgres "stopped"
}

postgres_status() {
  local pid
  if is_external DATABASE_URL "$PG_APP_URL"; then
    info postgres "external (DATABASE_URL)"
  elif pid=$(pg_postmaster_pid) && [[ -x $PG_BIN/pg_isready ]] && pg_isready_tcp; then
    info postgres "running pid=$pid $INFRA_HOST:$PG_PORT"
  elif [[ -n ${pid:-} ]]; then
    info postgres "process $pid alive but not accepting connections on $INFRA_HOST:$PG_PORT"
    return 1
  else
    info postgres "stopped"
    return 1
  fi
}

postgres_env() {
  if is_external DATABASE_URL "$PG_APP_URL"; then
    export_line DATABASE_URL "$DATABASE_URL"
    # No admin URL given with an external DB: the best we can offer is the same one.
    export_line DATABASE_ADMIN_URL "${DATABASE_ADMIN_URL:-$DATABASE_URL}"
  else
    export_line DATABASE_URL "$PG_APP_URL"
    export_line DATABASE_ADMIN_URL "$PG_ADMIN_URL"
  fi
}
