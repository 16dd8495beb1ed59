#!/usr/bin/env bash
# Kafka in and out against a real broker: the loghub-derived syslog stream is
# produced to a 4-partition topic (keyed by host), with two malformed records
# among it. weir's window records and alerts on its output topics must equal
# the independent reference exactly; the malformed records must reach the
# dead-letter topic with their reason, and nothing else may be lost.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start
kafka_topic logs 4
for t in weir-windows weir-alerts weir-late weir-dlq; do kafka_topic "$t" 1; done

kafka_gen 11
# Nothing can be late whatever the partitions' interleaving: out_of_orderness 1 h.
tests/tools/ref_windows.sh --ooo 3600 "$TMP/truth.tsv" > "$TMP/expected_windows.tsv"
# An alert per window whose count exceeds the threshold (cooldown 0 below).
awk -F'\t' -v OFS='\t' '($1 == "error" && $5 > 2) || ($1 == "exception" && $5 > 1) \
  { print $1, $2, $3, $4 }' "$TMP/expected_windows.tsv" > "$TMP/expected_alerts.tsv"

{
  kafka_keyed 1 3000
  printf 'bad-1\t<999>1 2026-11-23T10:00:00Z h app - - - ERROR bad PRI\n'
  kafka_keyed 3001 6000
  printf 'bad-2\t<11>1 2026-13-45T99:00:00Z h app - - - ERROR bad timestamp\n'
  kafka_keyed 6001
} | kafka_produce logs
valid=$(wc -l < "$TMP/truth.tsv")

cat > "$TMP/rules.yaml" <<'R'
- {id: error, pattern: 'ERROR', group_by: host, threshold: 2, cooldown: 0s}
- {id: exception, pattern: 'Exception', group_by: host, threshold: 1, cooldown: 0s}
R
cat > "$TMP/kafka.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
kafka:
  brokers: "$BROKER"
  group_id: weir-exact-$$
  topics: [{name: logs, format: syslog}]
rules: {file: rules.yaml}
event_time: {out_of_orderness: 1h}
outputs:
  windows: {kafka: weir-windows, jsonl: windows.jsonl}
  alerts: {kafka: weir-alerts}
  late: {kafka: weir-late}
  dead_letter: {kafka: weir-dlq}
run: {stats_interval: 0s, exit_after_idle: 4s}
EOF2
WEIR_PRINT_COUNTERS=1 timeout 120 "$WEIR" -c "$TMP/kafka.yaml" -- $(eal_mem_args) \
  >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }

kafka_dump weir-windows > "$TMP/windows_topic.jsonl"
windows_tsv "$TMP/windows_topic.jsonl" > "$TMP/got_windows.tsv"
note "windows: expected $(wc -l < "$TMP/expected_windows.tsv"), got $(wc -l < "$TMP/got_windows.tsv")"
diff "$TMP/expected_windows.tsv" "$TMP/got_windows.tsv" || fail "windows on the topic differ from the reference"

kafka_dump weir-alerts | jq -r 'select(.type == "alert") | [.rule, .key,
  (.start | fromdateiso8601), (.end | fromdateiso8601)] | @tsv' | LC_ALL=C sort > "$TMP/got_alerts.tsv"
LC_ALL=C sort -o "$TMP/expected_alerts.tsv" "$TMP/expected_alerts.tsv"
note "alerts: expected $(wc -l < "$TMP/expected_alerts.tsv"), got $(wc -l < "$TMP/got_alerts.tsv")"
diff "$TMP/expected_alerts.tsv" "$TMP/got_alerts.tsv" || fail "alerts on the topic differ"
[ -s "$TMP/expected_alerts.tsv" ] || fail "the reference expects no alert: the test checks nothing"

kcat -C -b "$BROKER" -t weir-dlq -o beginning -e -q -f '%k|%h|%s\n' > "$TMP/dlq.txt"
cat "$TMP/dlq.txt"
[ "$(wc -l < "$TMP/dlq.txt")" -eq 2 ] || fail "expected 2 dead letters"
grep -q '^bad-1|.*weir.error=bad PRI' "$TMP/dlq.txt" || fail "bad-1 lacks its reason"
grep -q '^bad-2|.*weir.error=' "$TMP/dlq.txt" || fail "bad-2 lacks its reason"
[ "$(c kafka_in)" -eq "$((valid + 2))" ] || fail "kafka_in $(c kafka_in) != $((valid + 2))"
[ "$(c syslog_msgs)" -eq "$valid" ] || fail "syslog_msgs $(c syslog_msgs) != $valid"
[ "$(c kafka_dead_letter)" -eq 2 ] || fail "kafka_dead_letter != 2"
[ "$(c kafka_delivery_errors)" -eq 0 ] || fail "delivery errors"
echo "kafka: $(wc -l < "$TMP/got_windows.tsv") windows, $(wc -l < "$TMP/got_alerts.tsv") alerts equal the reference; 2 dead letters"
