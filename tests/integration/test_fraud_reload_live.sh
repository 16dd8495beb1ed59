#!/usr/bin/env bash
# Model reloads while two workers decide: 40 000 transactions at 20 000/s
# from a namespace over a veth pair, decided on the worker (no feature
# store: every feature is at hand there), and ten `weirctl model reload`s
# meanwhile. Each reload waits for every worker to leave the decision it is
# in before freeing the old model (RCU); the traffic must not notice:
# every transaction answered, none with an error, every answer and audit
# record naming the model, ten reloads counted, weir exiting cleanly.
source "$(dirname "$0")/lib.sh"
veth_ns fl

cp configs/models/fraud_model.json "$TMP/model.json"
cp rules/default.yaml "$TMP/rules.yaml"
# Two workers (sharing CPU 1), both reading the port (two af_packet queue
# pairs, the kernel's fanout picks one per flow): the sender's one flow
# reaches one worker, and the other owns about half the users, so it
# decides those and answers from its own tx queue on the port.
cat > "$TMP/l.yaml" <<EOF2
eal: {args: ["--lcores", "0@0,1@1,2@1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: veth
    device: "net_af_packet0,iface=$va,qpairs=2,framesz=2048,blocksz=4096,framecnt=2048"
    rx_queues: 2
    ipv4: 192.0.2.10/24
mbufs: 16383
rules: {file: rules.yaml}
fraud:
  ports: [7000]
  features: "$(tr '\n' ' ' < configs/models/fraud_features.txt)"   # the demo model's vector
  model: $TMP/model.json
  users: 4096
outputs:
  decisions: {jsonl: $TMP/decisions.jsonl}
run: {stats_interval: 0s, control_socket: $TMP/weir.sock}
EOF2
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
# Half the users belong to the worker that did not receive their
# transactions: without its answers from its own tx queue only about half
# would be decided on a worker.
on_worker=$(c fraud_on_worker)
[ "$on_worker" -ge 39000 ] || fail "only $on_worker of 40000 decided on the worker"
audited=$(grep -c '"type":"decision"' "$TMP/decisions.jsonl" || true)
[ "$audited" -eq $((40000 - $(c fraud_audit_dropped))) ] || fail "audit records $audited"
[ "$(jq -r 'select(.type == "decision") | .model_version' "$TMP/decisions.jsonl" \
     | grep -vc '^model.json@' || true)" -eq 0 ] || fail "an audit record without the model's version"
echo "reload under load: 10 reloads during 40000 transactions, $on_worker decided on the worker, all answered"
