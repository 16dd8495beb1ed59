#!/usr/bin/env bash
# Overload: when the fraud thread cannot keep up and a worker's queue to it
# (fraud.queue) is full, the worker answers ERROR "overloaded" at once from
# its own tx queue; nothing waits and no transaction goes unanswered. The
# fraud thread is slowed by a test hook (20 ms per drained batch); 2000
# transactions arrive at 20 000/s from a namespace over a veth pair.
source "$(dirname "$0")/lib.sh"
veth_ns fo

{
  fraud_yaml_head 1024 8191
  cat <<EOF2
  model: $PWD/configs/models/fraud_model.json
  queue: 64
  users: 4096
run: {stats_interval: 0s}
EOF2
} > "$TMP/o.yaml"
WEIR_TEST_SLOW_FRAUD_US=20000 weir_start "$TMP/o.yaml"
ip netns exec "$ns" ping -c 1 -W 2 192.0.2.10 >/dev/null || fail "no ARP/ping answer"

ip netns exec "$ns" "$BUILD/bench/fraud_load" --dst 192.0.2.10 --port 7000 --rate 20000 \
  --count 2000 --out "$TMP/load.tsv" | tee "$TMP/load.txt"
kill -TERM "$wpid"; wait "$wpid" || fail "weir exited non-zero"
line=$(grep '^rate' "$TMP/load.txt")
field() { sed -E "s/.* $1 ([0-9]+).*/\1/" <<<"$line"; }
[ "$(field sent)" -eq 2000 ] || fail "sent $(field sent)"
[ "$(field lost)" -eq 0 ] || fail "$(field lost) transactions got no answer"
overload=$(c txn_overload)
[ "$overload" -gt 0 ] || fail "the queue never overflowed: the test proves nothing"
[ "$(field errors)" -eq "$overload" ] || fail "ERROR answers $(field errors) != txn_overload $overload"
[ "$(c fraud_decisions)" -eq $((2000 - overload)) ] || fail "decisions + overloads != 2000"
grep -q "fraud queue of worker 0 full" "$TMP/weir.err" || fail "no warning about the full queue"
echo "overload: $overload of 2000 answered ERROR overloaded at once, $(c fraud_decisions) decided, none lost"
