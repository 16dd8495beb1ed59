#!/usr/bin/env bash
# Overload. A slow fraud thread (a test hook: 20 ms per drained batch) and
# 2000 transactions at 20 000/s from a namespace over a veth pair.
# 1. fraud.decide_on_worker: false, every transaction goes through the
#    fraud thread: when a worker's queue to it (fraud.queue) is full, the
#    worker answers ERROR "overloaded" at once from its own tx queue; nothing
#    waits and no transaction goes unanswered.
# 2. The default (no feature store, so every feature is at hand on the
#    worker): the worker decides and answers all 2000 itself; the slow
#    thread only costs audit records, each one either written or counted in
#    fraud_audit_dropped.
source "$(dirname "$0")/lib.sh"
veth_ns fo

conf() {
  fraud_yaml_head 1024 8191
  cat <<EOF2
  model: $PWD/configs/models/fraud_model.json
  queue: 64
  users: 4096
  decide_on_worker: $1
outputs:
  decisions: {jsonl: $TMP/decisions.jsonl}
run: {stats_interval: 0s}
EOF2
}
# run DECIDE_ON_WORKER: weir with the slowed fraud thread, the 2000
# transactions, the stop; sets $line, fraud_load's summary.
run() {
  rm -f "$TMP/decisions.jsonl"
  conf "$1" > "$TMP/o.yaml"
  WEIR_TEST_SLOW_FRAUD_US=20000 weir_start "$TMP/o.yaml"
  ip netns exec "$ns" ping -c 1 -W 2 192.0.2.10 >/dev/null || fail "no ARP/ping answer"
  ip netns exec "$ns" "$BUILD/bench/fraud_load" --dst 192.0.2.10 --port 7000 --rate 20000 \
    --count 2000 --out "$TMP/load.tsv" | tee "$TMP/load.txt"
  kill -TERM "$wpid"; wait "$wpid" || fail "weir exited non-zero"
  line=$(grep '^rate' "$TMP/load.txt")
}
field() { sed -E "s/.* $1 ([0-9]+).*/\1/" <<<"$line"; }

note "1. every transaction through the slow fraud thread"
run false
[ "$(field sent)" -eq 2000 ] || fail "sent $(field sent)"
[ "$(field lost)" -eq 0 ] || fail "$(field lost) transactions got no answer"
overload=$(c txn_overload)
[ "$overload" -gt 0 ] || fail "the queue never overflowed: the test proves nothing"
[ "$(field errors)" -eq "$overload" ] || fail "ERROR answers $(field errors) != txn_overload $overload"
[ "$(c fraud_decisions)" -eq $((2000 - overload)) ] || fail "decisions + overloads != 2000"
[ "$(c fraud_on_worker)" -eq 0 ] || fail "decide_on_worker: false, yet a worker decided"
grep -q "fraud queue of worker 0 full" "$TMP/weir.err" || fail "no warning about the full queue"
echo "overload: $overload of 2000 answered ERROR overloaded at once, $(c fraud_decisions) decided, none lost"

note "2. the worker decides; the slow thread only audits"
run true
[ "$(field lost)" -eq 0 ] || fail "$(field lost) transactions got no answer"
[ "$(field errors)" -eq 0 ] || fail "$(field errors) ERROR answers: the worker should decide all"
[ "$(field replies)" -eq 2000 ] || fail "$(field replies) answers, want 2000"
[ "$(c fraud_on_worker)" -eq 2000 ] || fail "fraud_on_worker $(c fraud_on_worker), want 2000"
[ "$(c fraud_decisions)" -eq 2000 ] || fail "fraud_decisions $(c fraud_decisions), want 2000"
[ "$(c txn_overload)" -eq 0 ] || fail "txn_overload $(c txn_overload)"
audited=$(grep -c '"decided_by":"worker"' "$TMP/decisions.jsonl" || true)
dropped=$(c fraud_audit_dropped)
[ $((audited + dropped)) -eq 2000 ] || fail "audited $audited + dropped $dropped != 2000"
[ "$dropped" -gt 0 ] || fail "no audit record was dropped: the thread was not slow, the test proves nothing"
grep -q "audit record of a decision made here dropped" "$TMP/weir.err" || fail "no warning about dropped audit records"
echo "decided on the worker: 2000 of 2000 answered at once; $audited audited, $dropped audit records dropped (counted)"
