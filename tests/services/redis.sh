#!/usr/bin/env bash
# A throw-away redis-server on loopback for the Redis feature-store tests:
# no persistence (--save "" --appendonly no), daemonized, pid file in DIR.
#
# Usage:
#   redis.sh start DIR      pick a free 127.0.0.1 port, start, wait for PONG
#                           (REDIS_START_TIMEOUT s, default 10); prints the port
#                           and writes it to DIR/port
#   redis.sh stop DIR       SIGTERM, up to 10 s, then SIGKILL
#   redis.sh restart DIR    stop, then start again on the port in DIR/port
#
# Example:
#   port=$(tests/services/redis.sh start /tmp/r) && redis-cli -p "$port" ping
#   tests/services/redis.sh stop /tmp/r
#
# DIR gets: port, redis.pid, redis.log, and redis.sock (the same server on a
# unix socket). Environment: REDIS_SERVER (default
# redis-server), REDIS_CLI (default redis-cli).
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
START_TIMEOUT=${REDIS_START_TIMEOUT:-10}

die() { echo "redis.sh: $*" >&2; exit 1; }

# A port nobody listens on: random in 10000-31999 (below Linux's ephemeral
# range, so no outgoing connection holds it), checked with bash's /dev/tcp
# (a refused connect means free). Pure bash.
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free port found after 50 tries"
}

pid_of() { cat "$1/redis.pid" 2>/dev/null || true; }

# running PID: exists and is not a zombie (a daemon's zombie lingers until
# whoever inherited it reaps it, which in a container may be late or never).
running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [ "$st" != Z ] && [ "$st" != X ]
}

alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && running "$pid"; }

# start_on DIR PORT: start and wait for PONG; returns 1 when the server died
# or did not answer in time (e.g. the port was taken meanwhile).
start_on() {
  local dir=$1 port=$2 deadline
  rm -f "$dir/redis.pid"
  "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --dir "$dir" >/dev/null || return 1
  deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -le "$deadline" ]; do
    if [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
      echo "$port" > "$dir/port"
      return 0
    fi
    # Daemonized: the pid file appears once the child runs; gone child = failed start.
    if [ -s "$dir/redis.pid" ] && ! alive "$dir"; then return 1; fi
    sleep 0.05
  done
  return 1
}

cmd_start() {
  local dir=$1 port i
  mkdir -p "$dir"
  alive "$dir" && die "a server from $dir is already running (pid $(pid_of "$dir"))"
  for i in 1 2 3; do
    port=$(free_port)
    if start_on "$dir" "$port"; then echo "$port"; return 0; fi
    cmd_stop "$dir" || true
  done
  tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
  die "redis-server did not answer PING (log: $dir/redis.log)"
}

cmd_stop() {
  local dir=$1 pid i
  pid=$(pid_of "$dir")
  [ -n "$pid" ] || return 0
  kill -CONT "$pid" 2>/dev/null || true   # a SIGSTOPped server cannot act on SIGTERM
  kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/redis.pid"; return 0; }
  for i in $(seq 1 200); do
    running "$pid" || { rm -f "$dir/redis.pid"; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

cmd_restart() {
  local dir=$1 port
  port=$(cat "$dir/port" 2>/dev/null) || die "no $dir/port: start the server first"
  cmd_stop "$dir"
  start_on "$dir" "$port" || die "redis-server did not come back on port $port (log: $dir/redis.log)"
  echo "$port"
}

[ $# -eq 2 ] || die "usage: redis.sh start|stop|restart DIR"
command -v "$REDIS_SERVER" >/dev/null || die "$REDIS_SERVER not found (Debian package redis-server)"
dir=$2
case $1 in
  start) cmd_start "$dir" ;;
  stop) cmd_stop "$dir" ;;
  restart) mkdir -p "$dir"; cmd_restart "$dir" ;;
  *) die "unknown command '$1' (start, stop or restart)" ;;
esac
