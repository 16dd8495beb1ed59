#!/usr/bin/env bash
# Backpressure: a burst far larger than the workers' queue (kafka.queue 16)
# into a slow worker (test hook: a nap per batch). The source must pause the
# partitions instead of dropping, resume them, and every record is counted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start
kafka_topic logs 2
kafka_topic weir-windows 1
kafka_gen 13 --limit 3000
# Five copies of the stream: 15000 records, windows five times as full.
for i in 1 2 3 4 5; do kafka_keyed; done | kafka_produce logs
for i in 1 2 3 4 5; do cat "$TMP/truth.tsv"; done > "$TMP/truth5.tsv"
tests/tools/ref_windows.sh --ooo 3600 "$TMP/truth5.tsv" > "$TMP/expected_windows.tsv"
total=$(wc -l < "$TMP/truth5.tsv")

KAFKA_EXTRA="queue: 16" weir_kafka_config "$TMP/bp.yaml" "weir-bp-$$" \
  "event_time: {out_of_orderness: 1h}" "run: {stats_interval: 0s, exit_after_idle: 4s}"
WEIR_TEST_SLOW_WORKER_US=1000 WEIR_PRINT_COUNTERS=1 timeout 180 "$WEIR" -c "$TMP/bp.yaml" \
  -- $(eal_mem_args) >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }
note "kafka_in $(c kafka_in), syslog_msgs $(c syslog_msgs), pauses $(c kafka_pauses)"
[ "$(c kafka_in)" -eq "$total" ] || fail "kafka_in $(c kafka_in) != $total"
[ "$(c syslog_msgs)" -eq "$total" ] || fail "syslog_msgs $(c syslog_msgs) != $total"
[ "$(c kafka_pauses)" -ge 1 ] || fail "the source never paused"
windows_tsv "$TMP/windows.jsonl" > "$TMP/got_windows.tsv"
diff "$TMP/expected_windows.tsv" "$TMP/got_windows.tsv" || fail "windows differ from the reference"
echo "backpressure: $total records, $(c kafka_pauses) pauses, windows exact"
