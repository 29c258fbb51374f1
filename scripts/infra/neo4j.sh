# shellcheck shell=bash
# Neo4j 5.26 LTS Community, embedded in a tiny Java launcher, Bolt on 127.0.0.1:7688.
# Sourced by scripts/infra.sh (which sets ROOT and sources lib.sh first).
#
# No Neo4j distribution tarball is downloaded: scripts/neo4j/pom.xml lists the Maven
# Central artifacts, Maven copies them to .data/neo4j/lib, and scripts/neo4j/Launcher.java
# (compiled into .data/neo4j/classes) starts the DBMS through Neo4j's public embedded API.
# No HTTP connector is started (the embedded API only opens Bolt).

NEO4J_BOLT_PORT=${INFRA_NEO4J_PORT:-7688}
NEO4J_DIR="$DATA/neo4j"          # Neo4j home: data/ (stores) and logs/ (debug.log etc.)
NEO4J_LIB="$NEO4J_DIR/lib"
NEO4J_CLASSES="$NEO4J_DIR/classes"
NEO4J_SRC="$ROOT/scripts/neo4j"
NEO4J_LOCAL_URI="bolt://$INFRA_HOST:$NEO4J_BOLT_PORT"
NEO4J_LOCAL_USER=neo4j
NEO4J_LOCAL_PASSWORD=neo4j_local_pw
# Heap 1g, page cache 512m (set in Launcher.java). The --add-opens flags are the ones
# Neo4j's own launcher passes; without them the page cache runs in a slower fallback mode.
NEO4J_JVM_OPTS=(
  -Xms512m -Xmx1g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow
  -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true -Dlog4j2.disable.jmx=true
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
)

neo4j_java_tools() {
  JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
  command -v "$JAVA" >/dev/null || die neo4j "java not found: Neo4j 5.26 needs a JDK 17 or 21 (Debian: apt-get install openjdk-17-jdk-headless)"
  local major
  major=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [[ ${major:-0} -ge 17 ]] || die neo4j "java $major found; Neo4j 5.26 needs Java 17 or 21 (set JAVA_HOME)"
}

# The pom's hash is stored next to the jars: a changed pom (e.g. a newer 5.26.x) refetches,
# an unchanged one reuses .data/neo4j/lib without even starting Maven.
neo4j_fetch_jars() {
  local want t0
  want=$(sha256sum "$NEO4J_SRC/pom.xml" | cut -d' ' -f1)
  [[ -f $NEO4J_LIB/.pom.sha256 && $(<"$NEO4J_LIB/.pom.sha256") == "$want" ]] && return 0
  command -v mvn >/dev/null || die neo4j "mvn not found: needed once to fetch the Neo4j jars (Debian: apt-get install maven)"
  info neo4j "fetching Neo4j jars from Maven Central into .data/neo4j/lib (one-time; log: $LOG_DIR/neo4j-fetch.log)"
  t0=$(now_ms)
  mkdir -p "$LOG_DIR"
  rm -rf "$NEO4J_DIR/lib.tmp"
  # Fetch into a temp dir and swap, so an interrupted fetch never looks complete.
  # Batch mode without -q: the log gets one "Downloaded from central" line per artifact, which
  # run_with_progress counts and shows.
  # shellcheck disable=SC2086  # MAVEN_ARGS is a list of extra flags on purpose
  if ! run_with_progress neo4j "$LOG_DIR/neo4j-fetch.log" "fetching Neo4j jars" \
        mvn -B ${MAVEN_ARGS:-} -f "$NEO4J_SRC/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$NEO4J_DIR/lib.tmp"; then
    fail_with_log neo4j "mvn dependency:copy-dependencies failed" "$LOG_DIR/neo4j-fetch.log"
  fi
  rm -rf "$NEO4J_LIB"
  mv "$NEO4J_DIR/lib.tmp" "$NEO4J_LIB"
  echo "$want" >"$NEO4J_LIB/.pom.sha256"
  info neo4j "fetched $(find "$NEO4J_LIB" -name '*.jar' | wc -l) jars ($(du -sh "$NEO4J_LIB" | cut -f1)) in $(since "$t0")"
}

# Recompile only when Launcher.java or the jar set changed.
neo4j_compile() {
  local want
  want=$(cat "$NEO4J_SRC/Launcher.java" "$NEO4J_LIB/.pom.sha256" | sha256sum | cut -d' ' -f1)
  [[ -f $NEO4J_CLASSES/.sha256 && $(<"$NEO4J_CLASSES/.sha256") == "$want" ]] && return 0
  rm -rf "$NEO4J_CLASSES"
  mkdir -p "$NEO4J_CLASSES"
  if ! "$JAVAC" --release 17 -d "$NEO4J_CLASSES" -cp "$NEO4J_LIB/*" "$NEO4J_SRC/Launcher.java" >"$LOG_DIR/neo4j-compile.log" 2>&1; then
    fail_with_log neo4j "javac Launcher.java failed" "$LOG_DIR/neo4j-compile.log"
  fi
  echo "$want" >"$NEO4J_CLASSES/.sha256"
}

neo4j_marker() { echo "Launcher $NEO4J_DIR"; }   # identifies our JVM in /proc/<pid>/cmdline

neo4j_up() {
  if is_external NEO4J_URI "$NEO4J_LOCAL_URI"; then
    info neo4j "NEO4J_URI is set; using it, not starting local neo4j"
    return 0
  fi
  local pid how t0 limit spawned="" log=$LOG_DIR/neo4j.log
  t0=$(now_ms)
  if pid=$(live_pid neo4j "$(neo4j_marker)"); then
    how="already running"
  else
    neo4j_java_tools
    neo4j_fetch_jars
    neo4j_compile
    ! tcp_open "$INFRA_HOST" "$NEO4J_BOLT_PORT" || die neo4j "port $INFRA_HOST:$NEO4J_BOLT_PORT is in use by another process"
    mkdir -p "$NEO4J_DIR/data"
    rotate_log neo4j
    t0=$(now_ms)
    # Password via the environment, not argv, so it doesn't show in `ps`.
    spawn neo4j env NEO4J_PASSWORD="$NEO4J_LOCAL_PASSWORD" "$JAVA" "${NEO4J_JVM_OPTS[@]}" \
      -cp "$NEO4J_CLASSES:$NEO4J_LIB/*" Launcher "$NEO4J_DIR" "$INFRA_HOST" "$NEO4J_BOLT_PORT"
    pid=$(<"$(pid_file neo4j)")
    spawned=$pid
    how="started"
  fi
  # Launcher prints "neo4j started" only after an authenticated Bolt "RETURN 1" succeeded;
  # the port check makes sure that server is still the one listening. (An already running
  # instance has printed it before: its log is only rotated on start.)
  limit=$(timeout_for 180)
  until grep -q "^neo4j started bolt=" "$log" 2>/dev/null && tcp_open "$INFRA_HOST" "$NEO4J_BOLT_PORT"; do
    kill -0 "$pid" 2>/dev/null || abort_start neo4j "$spawned" "neo4j exited during startup (more in $NEO4J_DIR/logs/debug.log)"
    (($(now_ms) - t0 < limit * 1000)) || abort_start neo4j "$spawned" "Bolt not ready on $INFRA_HOST:$NEO4J_BOLT_PORT after ${limit}s (more in $NEO4J_DIR/logs/debug.log)"
    sleep 0.5
  done
  [[ $how == started ]] && how="started in $(since "$t0")"
  info neo4j "ready on $NEO4J_LOCAL_URI ($how, pid $pid)"
}

neo4j_down() {
  local pid
  if ! pid=$(live_pid neo4j "$(neo4j_marker)"); then
    info neo4j "not running"
    return 0
  fi
  # SIGTERM runs the launcher's shutdown hook: a clean DBMS shutdown (takes a few seconds).
  stop_pid neo4j "$pid" "$(timeout_for 90)"
  info neo4j "stopped"
}

neo4j_status() {
  local pid
  if is_external NEO4J_URI "$NEO4J_LOCAL_URI"; then
    info neo4j "external (NEO4J_URI)"
  elif pid=$(live_pid neo4j "$(neo4j_marker)") && tcp_open "$INFRA_HOST" "$NEO4J_BOLT_PORT"; then
    info neo4j "running pid=$pid $NEO4J_LOCAL_URI"
  elif [[ -n ${pid:-} ]]; then
    info neo4j "process $pid alive but Bolt port $NEO4J_BOLT_PORT not open (starting?)"
    return 1
  else
    info neo4j "stopped"
    return 1
  fi
}

# shellcheck disable=SC2153  # NEO4J_URI/USER/PASSWORD come from the caller's environment
neo4j_env() {
  if is_external NEO4J_URI "$NEO4J_LOCAL_URI"; then
    export_line NEO4J_URI "$NEO4J_URI"
    export_line NEO4J_USER "${NEO4J_USER:-$NEO4J_LOCAL_USER}"
    export_line NEO4J_PASSWORD "${NEO4J_PASSWORD:-$NEO4J_LOCAL_PASSWORD}"
  else
    export_line NEO4J_URI "$NEO4J_LOCAL_URI"
    export_line NEO4J_USER "$NEO4J_LOCAL_USER"
    export_line NEO4J_PASSWORD "$NEO4J_LOCAL_PASSWORD"
  fi
}
