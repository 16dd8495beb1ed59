#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# on loopback, for the Kafka source/sink tests. The jars come from Maven
# Central through the pinned tests/services/kafka/pom.xml and are cached, so
# only the first run needs the network.
#
# Usage:
#   kafka.sh fetch                        resolve the jars once into
#                                         ${WEIR_CACHE:-~/.cache/weir}/kafka-VER/libs
#   kafka.sh start DIR                    format DIR, start the broker, wait until it
#                                         serves; prints "127.0.0.1:PORT" (also DIR/bootstrap)
#   kafka.sh stop DIR                     SIGTERM, up to 20 s, then SIGKILL
#   kafka.sh topic DIR NAME PARTITIONS [KEY=VALUE...]
#                                         create a topic (replication 1), optional topic configs
#   kafka.sh ensure-tools                 install kcat (and java, mvn when absent) with apt-get
#
# Example:
#   addr=$(tests/services/kafka.sh start /tmp/k) && tests/services/kafka.sh topic /tmp/k logs 3
#   ... ; tests/services/kafka.sh stop /tmp/k
#
# DIR gets: server.properties, log4j.properties, tools-log4j.properties, cluster_id, data/, kafka.log (broker output),
# bootstrap, pid. Environment: WEIR_CACHE (cache root), KAFKA_HEAP (default -Xmx512m),
# KAFKA_START_TIMEOUT (seconds, default 60).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/kafka/pom.xml"
# One source of truth for the version: the pom (the cache dir is named after it).
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
CACHE=${WEIR_CACHE:-$HOME/.cache/weir}/kafka-$KAFKA_VERSION
LIBS="$CACHE/libs"
# Lean JVM for a test broker: small heap, serial GC (one core's worth of work),
# class-data sharing for a faster start.
KAFKA_HEAP=${KAFKA_HEAP:--Xms128m -Xmx512m}
JVM_OPTS="-XX:+UseSerialGC -Xshare:auto -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true"
# The admin tool runs for a second: the C1 compiler alone starts fastest.
TOOL_OPTS="-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"

die() { echo "kafka.sh: $*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install CMD PKG...: install PKGs when CMD is not on PATH (visible, never silent).
apt_install() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "kafka.sh: '$cmd' missing, installing Debian package(s) $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
    as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  } || die "could not install $* (needed for '$cmd')"
}

ensure_java() { apt_install java default-jre-headless; }
ensure_tools() { ensure_java; apt_install mvn maven; apt_install kcat kcat; }

# fetch: idempotent; a finished cache holds .pom-sha256 equal to the pom's hash,
# so editing the pom refetches. A lock serialises concurrent first runs.
fetch() {
  local sum tmp
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  [ "$(cat "$CACHE/.pom-sha256" 2>/dev/null)" = "$sum" ] && [ -d "$LIBS" ] && return 0
  ensure_java; apt_install mvn maven
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [ "$(cat "$CACHE/.pom-sha256" 2>/dev/null)" != "$sum" ] || [ ! -d "$LIBS" ]; then
    echo "kafka.sh: resolving Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS" >&2
    tmp=$(mktemp -d "$CACHE/libs.tmp.XXXXXX")
    # Run from the pom's dir so no project above it is picked up; -B: no colour codes in logs.
    if ! (cd "$here/kafka" && mvn -B -q dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1); then
      rm -rf "$tmp"; tail -n 30 "$CACHE/mvn.log" >&2; die "maven could not resolve the jars (log: $CACHE/mvn.log)"
    fi
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "no kafka_2.13 jar after resolve"; }
    rm -rf "$LIBS"; mv "$tmp" "$LIBS"
    echo "$sum" > "$CACHE/.pom-sha256"
  fi
  exec 9>&-
}

# free_ports N: N distinct free TCP ports on 127.0.0.1 (held open together
# while chosen, so they differ; the kernel may still reuse one before Kafka binds,
# which start reports as a bind error in the log).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# A KRaft cluster id is a 16-byte UUID in unpadded base64url. Kafka's own
# generator avoids a leading '-' (it reads as a command-line option); so do we.
# Made in the shell to spare a JVM start (StorageTool random-uuid).
cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

alive() { # pid: running and not a zombie
  local st
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
  [ "$st" != Z ]
}

# start DIR: up to 3 attempts, because another process may take a chosen port
# between free_ports and the broker's bind.
start() {
  local dir=$1 try rc
  [ -n "$dir" ] || die "start: no DIR"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && alive "$(cat "$dir/pid")"; then
    die "start: a broker already runs from $dir (pid $(cat "$dir/pid"))"
  fi
  fetch
  for try in 1 2 3; do
    rc=0; start_once "$dir" || rc=$?
    [ "$rc" -eq 3 ] || return "$rc"
    echo "kafka.sh: a chosen port was taken meanwhile, retrying with new ports" >&2
  done
  die "start: no free ports after 3 attempts"
}

# start_once DIR: returns 3 when the broker exited because a port was taken.
start_once() {
  local dir=$1 bport cport cid pid deadline
  read -r bport cport <<<"$(free_ports 2)"
  rm -rf "$dir/data" "$dir/bootstrap" "$dir/pid"
  cat > "$dir/server.properties" <<EOF
# Single-node KRaft test broker written by tests/services/kafka.sh.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has one replica, and few partitions so the
# first consumer group and the first transaction are ready quickly.
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
# Tests create their topics; a typo must fail, not create a topic.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# Small segments and indexes keep DIR small (the defaults preallocate 10 MB indexes).
log.segment.bytes=1048576
log.index.size.max.bytes=65536
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.cleaner.enable=false
EOF
  cat > "$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
  # The short-lived tools (StorageTool, TopicCommand) log warnings only, to stderr.
  cat > "$dir/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  cid=$(cluster_id)
  echo "$cid" > "$dir/cluster_id"
  # shellcheck disable=SC2086  # option lists split on purpose
  if ! java $TOOL_OPTS -Dlog4j.configuration="file:$dir/tools-log4j.properties" -cp "$LIBS/*" \
         kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
         >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2; die "start: formatting $dir/data failed"
  fi
  launch "$dir" "$bport"
}

# launch DIR PORT: start the broker of DIR (formatted, with its server.properties)
# and wait until it serves 127.0.0.1:PORT. Returns 3 when a port was taken.
launch() {
  local dir=$1 bport=$2 pid deadline
  # stdin/stdout detached: the caller may read our stdout through $(...), which
  # would otherwise wait for the broker to exit.
  # shellcheck disable=SC2086
  java $KAFKA_HEAP $JVM_OPTS -Dlog4j.configuration="file:$dir/log4j.properties" \
    -Dkafka.logs.dir="$dir" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/kafka.log" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/pid"
  deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-60}))
  # KafkaRaftServer logs "Kafka Server started" once the broker is unfenced and
  # its listeners accept requests; a metadata request then confirms it from outside.
  until grep -q "Kafka Server started" "$dir/kafka.log" 2>/dev/null \
        && { ! command -v kcat >/dev/null || kcat -L -b "127.0.0.1:$bport" -m 5 >/dev/null 2>&1; }; do
    if ! alive "$pid"; then
      rm -f "$dir/pid"
      grep -q "Address already in use" "$dir/kafka.log" && return 3
      tail -n 40 "$dir/kafka.log" >&2; die "start: the broker exited during startup (log: $dir/kafka.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$dir/kafka.log" >&2; stop "$dir" >/dev/null 2>&1 || true
      die "start: the broker did not serve 127.0.0.1:$bport within ${KAFKA_START_TIMEOUT:-60} s (log: $dir/kafka.log)"
    fi
    sleep 0.2
  done
  echo "127.0.0.1:$bport" > "$dir/bootstrap"
  echo "127.0.0.1:$bport"
}

# restart DIR: start a stopped broker again on the same ports with its data
# (what a broker restart mid-stream looks like to clients).
restart() {
  local dir=$1 bport
  [ -f "$dir/bootstrap" ] || die "restart: $dir has no broker to restart"
  bport=${dir:+$(sed 's/.*://' "$dir/bootstrap")}
  launch "$dir" "$bport" || die "restart: the broker did not come back on port $bport"
}

stop() {
  local dir=$1 pid i
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then
      echo "kafka.sh: broker $pid ignored SIGTERM for 20 s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 25; i++)); do alive "$pid" || break; sleep 0.2; done
    fi
  fi
  rm -f "$dir/pid"
}

topic() {
  local dir=$1 name=$2 parts=$3 kv args=()
  shift 3
  [ -f "$dir/bootstrap" ] || die "topic: no broker started in $dir"
  [[ "$parts" =~ ^[1-9][0-9]*$ ]] || die "topic: PARTITIONS '$parts' is not a positive number"
  for kv in "$@"; do args+=(--config "$kv"); done
  fetch
  # kafka-topics.sh: in Kafka 3.x the tool lives in kafka-tools, not kafka.admin.
  # shellcheck disable=SC2086
  java $TOOL_OPTS -Dlog4j.configuration="file:$dir/tools-log4j.properties" \
    -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$dir/bootstrap")" \
    --create --topic "$name" --partitions "$parts" --replication-factor 1 "${args[@]}" >&2 \
    || die "topic: creating '$name' with $parts partitions failed"
}

cmd=${1:-}
case "$cmd" in
  fetch) fetch ;;
  start) [ $# -eq 2 ] || die "usage: kafka.sh start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: kafka.sh stop DIR"; stop "$2" ;;
  restart) [ $# -eq 2 ] || die "usage: kafka.sh restart DIR"; restart "$2" ;;
  topic) [ $# -ge 4 ] || die "usage: kafka.sh topic DIR NAME PARTITIONS [KEY=VALUE...]"; shift; topic "$@" ;;
  ensure-tools) ensure_tools ;;
  *) die "usage: kafka.sh fetch | start DIR | stop DIR | topic DIR NAME PARTITIONS [KEY=VALUE...] | ensure-tools" ;;
esac
