#!/usr/bin/env bash
# Fraud scoring from Kafka: the scripted transaction stream produced to a
# 2-partition topic keyed by user (so each user's transactions stay in
# order), read as format "txn" with no feature store configured. Every
# decision on the audit topic must equal tests/tools/ref_fraud.py with the
# store features missing; invalid records reach the dead-letter topic.
# Two workers (sharing CPU 1): a partition's records reach one worker, but a
# user belongs to crc(user) % 2, so about half the transactions cross the
# exchange ring to their owner before their features are computed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"
PY=/usr/bin/python3

kafka_start
kafka_topic payments 2
for t in weir-decisions weir-dlq; do kafka_topic "$t" 1; done
$PY tests/tools/gen_txns.py --store "$TMP/store.json" \
  --users 20 --seed 9 > "$TMP/gen.jsonl"
{ head -n 30 "$TMP/gen.jsonl"
  echo '{"txn_id":"bad-1","user_id":"u3","amount":"12","currency":"EUR","ts":1}'
  echo 'not json at all'
  tail -n +31 "$TMP/gen.jsonl"; } > "$TMP/sent.jsonl"
kafka_produce_by_user payments "$TMP/sent.jsonl"

cp rules/default.yaml "$TMP/rules.yaml"
cat > "$TMP/k.yaml" <<EOF2
eal: {args: ["--lcores", "0@0,1@1,2@1", "--in-memory", "--log-level=lib.eal:warning"]}
kafka:
  brokers: "$BROKER"
  group_id: weir-txn-$$
  topics: [{name: payments, format: txn}]
fraud:
  model: $PWD/configs/models/fraud_model.json
  features: "$(tr '\n' ' ' < configs/models/fraud_features.txt)"   # the demo model's vector
  review: 0.5
  block: 0.8
  users: 1024
  disorder: 0s
rules: {file: rules.yaml}
outputs:
  decisions: {kafka: weir-decisions, jsonl: decisions.jsonl}
  dead_letter: {kafka: weir-dlq}
run: {stats_interval: 0s, exit_after_idle: 4s}
EOF2
WEIR_PRINT_COUNTERS=1 timeout 180 "$WEIR" -c "$TMP/k.yaml" -- $(eal_mem_args) \
  >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }
kafka_dump weir-decisions > "$TMP/decisions.jsonl"
$PY tests/tools/ref_fraud.py --txns "$TMP/sent.jsonl" --no-store-all --review 0.5 --block 0.8 \
  --reasons 3 2>/dev/null | awk -F'\t' '$2 != "ERROR" { print $1 "\t" $2 "\t" $3 "\t" $4 }' \
  | LC_ALL=C sort > "$TMP/expected.tsv"
jq -r 'select(.type == "decision") | [.txn_id, .decision, (.score * 1e6 | round / 1e6 | tostring),
       (.reasons | join(","))] | @tsv' "$TMP/decisions.jsonl" \
  | awk -F'\t' '{ printf "%s\t%s\t%.6f\t%s\n", $1, $2, $3, $4 }' | LC_ALL=C sort > "$TMP/got.tsv"
note "decisions: expected $(wc -l < "$TMP/expected.tsv"), got $(wc -l < "$TMP/got.tsv")"
diff "$TMP/expected.tsv" "$TMP/got.tsv" > "$TMP/diff.txt" \
  || { head -n 20 "$TMP/diff.txt"; fail "decisions differ from the reference"; }
jq -e 'select(.type == "decision") | (.degraded == false and .source == "kafka")' \
  "$TMP/decisions.jsonl" | grep -qv true && fail "a Kafka decision is degraded or mislabelled"
# No store: every feature is at hand on the owner worker, which decides
# (the exchange brings it half of them); the fraud thread only audits.
valid=$(wc -l < "$TMP/expected.tsv")
[ "$(counter fraud_on_worker "$TMP/weir.err")" -eq "$valid" ] \
  || fail "fraud_on_worker $(counter fraud_on_worker "$TMP/weir.err"), want $valid"
[ "$(grep -c '"decided_by":"worker"' "$TMP/decisions.jsonl")" -eq "$valid" ] \
  || fail "audit records not marked decided_by worker"
dlq=$(kcat -C -b "$BROKER" -t weir-dlq -o beginning -e -q -f '%h\n' | grep -c 'weir.error=' || true)
[ "$dlq" -eq 2 ] || fail "dead letters $dlq != 2"
[ "$(counter txn_bad "$TMP/weir.err")" -eq 2 ] || fail "txn_bad is not 2"
blocks=$(grep -c $'\tBLOCK\t' "$TMP/got.tsv" || true)
[ "$blocks" -ge 1 ] || fail "nothing was blocked"
echo "kafka fraud: $(wc -l < "$TMP/got.tsv") decisions equal the reference ($blocks BLOCK); 2 dead letters"
