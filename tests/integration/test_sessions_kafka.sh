#!/usr/bin/env bash
# Clickstream sessionization from Kafka: the generated stream (see
# test_sessions_pcap.sh) produced to a 4-partition topic keyed by user, read
# as format "click". Session records on the output topic must equal the
# reference exactly; the invalid events reach the dead-letter topic. Two
# workers (sharing CPU 1): a partition feeds one worker, a user belongs to
# crc(user) % 2, so events cross the exchange rings to their user's owner.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start
kafka_topic clicks 4
for t in weir-sessions weir-dlq; do kafka_topic "$t" 1; done
python3 tests/tools/gen_clickstream.py --users 2000 --seed 5 --out "$TMP/c.pcap" \
  --events-out "$TMP/events.jsonl" --truth "$TMP/truth.tsv" 2>"$TMP/gen.txt"
cat "$TMP/gen.txt"
python3 tests/tools/ref_sessions.py "$TMP/truth.tsv" > "$TMP/expected.tsv" \
  || fail "the generated stream is not checkable"
kafka_produce_by_user clicks "$TMP/events.jsonl"

cp rules/default.yaml "$TMP/rules.yaml"
cat > "$TMP/k.yaml" <<EOF2
eal: {args: ["--lcores", "0@0,1@1,2@1", "--in-memory", "--log-level=lib.eal:warning"]}
kafka:
  brokers: "$BROKER"
  group_id: weir-click-$$
  topics: [{name: clicks, format: click}]
clickstream: {gap: 30m, max_length: 12h, users: 65536}
rules: {file: rules.yaml}
outputs:
  sessions: {kafka: weir-sessions}
  dead_letter: {kafka: weir-dlq}
run: {stats_interval: 0s, exit_after_idle: 4s}
EOF2
WEIR_PRINT_COUNTERS=1 timeout 180 "$WEIR" -c "$TMP/k.yaml" -- $(eal_mem_args) \
  >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }
kafka_dump weir-sessions > "$TMP/sessions.jsonl"
python3 tests/tools/sessions_tsv.py "$TMP/sessions.jsonl" > "$TMP/got.tsv"
note "sessions: expected $(wc -l < "$TMP/expected.tsv"), got $(wc -l < "$TMP/got.tsv")"
diff "$TMP/expected.tsv" "$TMP/got.tsv" > "$TMP/diff.txt" || { head -n 20 "$TMP/diff.txt"; fail "sessions differ from the reference"; }
invalid=$(grep -c '^#' "$TMP/truth.tsv")
dlq=$(kcat -C -b "$BROKER" -t weir-dlq -o beginning -e -q -f '%h\n' | grep -c 'weir.error=' || true)
[ "$dlq" -eq "$invalid" ] || fail "dead letters $dlq != $invalid invalid events"
[ "$(c click_events)" -eq "$(grep -vc '^#' "$TMP/truth.tsv")" ] || fail "click_events differ"
echo "kafka sessions: $(wc -l < "$TMP/got.tsv") sessions equal the reference; $dlq dead letters"
