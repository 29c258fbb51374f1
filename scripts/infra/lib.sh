# shellcheck shell=bash
# Shared helpers for scripts/infra.sh and the per-component files beside this one.
# Sourced, never executed. Expects ROOT to be set by infra.sh (repo root, computed
# from the script location so the repo can live anywhere).

# INFRA_DATA lets drills run a second, private instance (e.g. a Postgres they may stop) elsewhere.
DATA="${INFRA_DATA:-$ROOT/.data}"
RUN_DIR="$DATA/run"     # pid files / markers: "this process was started by infra.sh up"
LOG_DIR="$DATA/logs"    # one <component>.log each (previous start kept as .log.1)

# All services bind here and only here.
INFRA_HOST=127.0.0.1

info() { printf '%-9s %s\n' "$1:" "$2"; }
warn() { printf '%-9s WARNING: %s\n' "$1:" "$2" >&2; }

# Loud failure with the tail of the component's log, so CI output says what went wrong.
fail_with_log() {
  local component=$1 msg=$2 log=${3:-$LOG_DIR/$1.log}
  {
    echo "=================================================================="
    echo "ERROR [$component]: $msg"
    if [[ -f $log ]]; then
      echo "---- last 40 lines of $log ----"
      tail -n 40 "$log"
      echo "---- end of $log ----"
    else
      echo "(no log at $log)"
    fi
    echo "=================================================================="
  } >&2
  exit 1
}

# A process this `up` spawned that then failed readiness is stopped again, so a failed `up`
# leaves nothing running (no 1 GB JVM lingering in CI). pid "" = we didn't spawn it (it was
# already running): leave it alone. The log tail is printed after the stop.
abort_start() {
  local component=$1 pid=$2 msg=$3
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && stop_pid "$component" "$pid" 30 >&2
  rm -f "$(pid_file "$component")"
  fail_with_log "$component" "$msg"
}

die() { echo "ERROR [$1]: $2" >&2; exit 1; }

# Bounded wait per component; INFRA_TIMEOUT (seconds) overrides all defaults.
timeout_for() { echo "${INFRA_TIMEOUT:-$1}"; }

# True if something accepts TCP connections on host:port (pure bash, no nc/curl needed).
tcp_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# HTTP status code of a GET on 127.0.0.1 (pure bash; prints 000 if unreachable).
http_status() {
  # shellcheck disable=SC2016  # the inner script gets its values as $1..$3
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$3" "$1" >&3
    IFS=" " read -r _ code _ <&3 && echo "$code"
  ' _ "$INFRA_HOST" "$1" "$2" 2>/dev/null || echo 000
}

# Keep the previous run's log as .log.1 so a fresh start has a clean log to grep/tail.
rotate_log() {
  local log=$LOG_DIR/$1.log
  mkdir -p "$LOG_DIR"
  [[ -s $log ]] && mv -f "$log" "$log.1"
  : >"$log"
}

# --- pid files ---------------------------------------------------------------
# A pid file only counts if the process is alive AND its command line contains a
# marker string (guards against pid reuse after a reboot or crash).
pid_file() { echo "$RUN_DIR/$1.pid"; }

live_pid() {
  local component=$1 marker=$2 f pid
  f=$(pid_file "$component")
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  if [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] &&
     tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF -- "$marker"; then
    echo "$pid"
    return 0
  fi
  rm -f "$f"   # stale
  return 1
}

# Close every fd above stderr in the current (sub)shell. Servers must not inherit the
# caller's extra descriptors: infra.sh's lock fd (they'd hold the lock forever) or a pipe
# some harness is reading until EOF (it would wait for the server to exit).
close_extra_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

# Start a long-running process detached from this shell: own session (setsid) so it
# survives the caller exiting or its process group being signalled, stdin from
# /dev/null and output to the log so `$(infra.sh up)` never hangs on an inherited pipe.
spawn() {
  local component=$1; shift
  mkdir -p "$RUN_DIR"
  (close_extra_fds; exec setsid "$@" </dev/null >>"$LOG_DIR/$component.log" 2>&1) &
  echo $! >"$(pid_file "$component")"
}

# SIGTERM, wait up to $3 seconds, then SIGKILL as a last resort.
stop_pid() {
  local component=$1 pid=$2 wait_s=$3 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$(pid_file "$component")"; return 0; }
    sleep 0.2
  done
  warn "$component" "pid $pid did not exit ${wait_s}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
  rm -f "$(pid_file "$component")"
}

# Single-quote a value for `export NAME='value'` lines that are safe to eval.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
export_line() { printf 'export %s=%s\n' "$1" "$(shq "$2")"; }

# A preset connection variable means "use that service, don't start ours" — unless it
# equals exactly the value we would export ourselves. That case is the caller having done
# `eval "$(infra.sh env)"` earlier; without this rule a later `up neo4j` would silently
# skip starting the local Neo4j it is supposed to (re)start.
is_external() {
  local var=$1 ours=$2
  [[ -n ${!var:-} && ${!var} != "$ours" ]]
}

# Runs a one-time fetch or build (go install, mvn) with its output in a log, and says every 10 s
# that it is still going (time so far, downloads so far, the log's last line): on a cold machine
# this takes minutes, and silence looks like a hang. Returns the command's exit status.
run_with_progress() {
  local component=$1 log=$2 what=$3 pid t0 next=10 line n
  shift 3
  mkdir -p "$(dirname "$log")"
  t0=$(now_ms)
  "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.5
    if (($(now_ms) - t0 >= next * 1000)); then
      next=$((next + 10))
      n=$(grep -cE '^go: downloading|Downloaded from' "$log" 2>/dev/null || true)
      line=$(tail -n1 "$log" 2>/dev/null | cut -c1-110)
      info "$component" "$what: $(since "$t0") so far, ${n:-0} downloads${line:+ (last: $line)}"
    fi
  done
  wait "$pid"
}

# Millisecond clock for the "started in 1.4s" messages.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local d=$(($(now_ms) - $1)); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }
