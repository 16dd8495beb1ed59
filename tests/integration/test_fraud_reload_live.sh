#!/usr/bin/env bash
# Model reloads while the workers decide: 40 000 transactions at 20 000/s
# from a namespace over a veth pair, decided on the worker (no feature
# store: every feature is at hand there), and ten `weirctl model reload`s
# meanwhile. Each reload waits for every worker to leave the decision it is
# in before freeing the old model (RCU); the traffic must not notice:
# every transaction answered, none with an error, every answer and audit
# record naming the model, ten reloads counted, weir exiting cleanly.
source "$(dirname "$0")/lib.sh"
veth_ns fl

cp configs/models/fraud_model.json "$TMP/model.json"
{
  fraud_yaml_head 2048 16383
  cat <<EOF2
  model: $TMP/model.json
  users: 4096
outputs:
  decisions: {jsonl: $TMP/decisions.jsonl}
run: {stats_interval: 0s, control_socket: $TMP/weir.sock}
EOF2
} > "$TMP/l.yaml"
weir_start "$TMP/l.yaml"
ip netns exec "$ns" ping -c 1 -W 2 192.0.2.10 >/dev/null || fail "no ARP/ping answer"

ip netns exec "$ns" "$BUILD/bench/fraud_load" --dst 192.0.2.10 --port 7000 --rate 20000 \
  --count 40000 --out "$TMP/load.tsv" > "$TMP/load.txt" &
lpid=$!
sleep 0.3
for i in $(seq 10); do
  "$BUILD/weirctl" -s "$TMP/weir.sock" model reload | grep -q "^ok model model.json@" \
    || fail "reload $i failed"
  sleep 0.1
done
wait "$lpid" || fail "fraud_load failed"
cat "$TMP/load.txt"
kill -TERM "$wpid"; wait "$wpid" || { tail "$TMP/weir.err"; fail "weir exited non-zero"; }
line=$(grep '^rate' "$TMP/load.txt")
field() { sed -E "s/.* $1 ([0-9]+).*/\1/" <<<"$line"; }
[ "$(field sent)" -eq 40000 ] || fail "sent $(field sent)"
[ "$(field lost)" -eq 0 ] || fail "$(field lost) transactions got no answer"
[ "$(field errors)" -eq 0 ] || fail "$(field errors) ERROR answers"
[ "$(c fraud_model_reloads)" -eq 10 ] || fail "fraud_model_reloads $(c fraud_model_reloads), want 10"
on_worker=$(c fraud_on_worker)
[ "$on_worker" -ge 39000 ] || fail "only $on_worker of 40000 decided on the worker"
audited=$(grep -c '"type":"decision"' "$TMP/decisions.jsonl" || true)
[ "$audited" -eq $((40000 - $(c fraud_audit_dropped))) ] || fail "audit records $audited"
[ "$(jq -r 'select(.type == "decision") | .model_version' "$TMP/decisions.jsonl" \
     | grep -vc '^model.json@' || true)" -eq 0 ] || fail "an audit record without the model's version"
echo "reload under load: 10 reloads during 40000 transactions, $on_worker decided on the worker, all answered"
