#!/usr/bin/env bash
# Clean stop with transactions in the fraud thread's queue: every transaction
# weir received before SIGTERM is still answered. The fraud thread is slowed
# by a test hook (20 ms per drained batch), 600 transactions arrive at
# 50 000/s from a namespace over a veth pair, and weir is stopped as soon as
# it has received them all (its counters, read over the control socket, show
# a backlog at that moment: otherwise the test proves nothing). The fraud
# thread runs with fraud.realtime_priority (checked: SCHED_FIFO) on the CPU
# fraud.cpu names (checked: its allowed CPUs).
source "$(dirname "$0")/lib.sh"
veth_ns fs

{
  fraud_yaml_head 1024 8191
  cat <<EOF2
  model: $PWD/configs/models/fraud_model.json
  queue: 2048
  users: 4096
  realtime_priority: 5
  decide_on_worker: false
  cpu: 1
run: {stats_interval: 0s, control_socket: $TMP/weir.sock}
EOF2
} > "$TMP/s.yaml"
WEIR_TEST_SLOW_FRAUD_US=20000 weir_start "$TMP/s.yaml"
ip netns exec "$ns" ping -c 1 -W 2 192.0.2.10 >/dev/null || fail "no ARP/ping answer"
# fraud.realtime_priority: the thread runs SCHED_FIFO (policy 1 in /proc's stat, field 41)
ftid=$(for t in /proc/$wpid/task/*; do [ "$(cat "$t/comm")" = weir-fraud ] && basename "$t"; done)
[ -n "$ftid" ] || fail "no weir-fraud thread"
[ "$(awk '{ print $41 }' "/proc/$wpid/task/$ftid/stat")" = 1 ] || fail "the fraud thread is not SCHED_FIFO"
grep -q "fraud thread runs SCHED_FIFO at priority 5" "$TMP/weir.err" || fail "no SCHED_FIFO log line"
# fraud.cpu: 1: the thread may run on CPU 1 only (the main lcore's is CPU 0)
[ "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$wpid/task/$ftid/status")" = 1 ] \
  || fail "the fraud thread is not on CPU 1: $(grep Cpus_allowed_list "/proc/$wpid/task/$ftid/status")"
grep -q "fraud thread runs on CPU 1" "$TMP/weir.err" || fail "no fraud.cpu log line"

ip netns exec "$ns" "$BUILD/bench/fraud_load" --dst 192.0.2.10 --port 7000 --rate 50000 \
  --count 600 > "$TMP/load.txt" &
lpid=$!
cval() { awk -v n="$1" '$1 == n { print $2 }' "$TMP/ctl.txt"; }
for _ in $(seq 200); do
  "$BUILD/weirctl" -s "$TMP/weir.sock" counters > "$TMP/ctl.txt" 2>/dev/null || true
  [ "$(cval txn_in)" = 600 ] && break
  sleep 0.01
done
[ "$(cval txn_in)" = 600 ] || fail "weir did not receive the 600 transactions"
kill -TERM "$wpid"
at_stop=$(cval fraud_decisions)
wait "$wpid" || fail "weir exited non-zero"
wait "$lpid" || fail "fraud_load failed"
cat "$TMP/load.txt"
[ "$at_stop" -lt 600 ] || fail "all decided before the stop: no backlog, the test proves nothing"
line=$(grep '^rate' "$TMP/load.txt")
field() { sed -E "s/.* $1 ([0-9]+).*/\1/" <<<"$line"; }
[ "$(field sent)" -eq 600 ] || fail "sent $(field sent)"
[ "$(field lost)" -eq 0 ] || fail "$(field lost) transactions got no answer"
[ "$(field replies)" -eq 600 ] || fail "$(field replies) answers, want 600"
[ "$(counter fraud_decisions "$TMP/weir.err")" -eq 600 ] || fail "decisions != 600"
grep -q "some answers are not sent" "$TMP/weir.err" && fail "weir warned that answers were not sent"
echo "shutdown: $((600 - at_stop)) of 600 transactions were still queued at SIGTERM; all 600 answered"
