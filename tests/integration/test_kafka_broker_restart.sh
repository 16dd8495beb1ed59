#!/usr/bin/env bash
# Broker restart mid-stream: weir reads half the stream, the broker stops and
# comes back on the same port, the rest is produced; weir reconnects by itself
# and every record is counted exactly once in the windows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start
kafka_topic logs 2
kafka_topic weir-windows 1
kafka_gen 14
total=$(wc -l < "$TMP/truth.tsv")
half=$((total / 2))
tests/tools/ref_windows.sh --ooo 3600 "$TMP/truth.tsv" > "$TMP/expected_windows.tsv"
kafka_keyed 1 "$half" | kafka_produce logs

weir_kafka_config "$TMP/rs.yaml" "weir-rs-$$" \
  "event_time: {out_of_orderness: 1h, idle_timeout: 0s}" "run: {stats_interval: 1s}"
WEIR_PRINT_COUNTERS=1 "$WEIR" -c "$TMP/rs.yaml" -- $(eal_mem_args) \
  >"$TMP/weir.out" 2>"$TMP/weir.err" &
wpid=$!
cleanup_fns+=("kill $wpid 2>/dev/null")
wait_stat "$TMP/weir.err" "kafka in" "$half" 60
note "first half read; restarting the broker"
tests/services/kafka.sh stop "$KAFKA_DIR"
sleep 2
tests/services/kafka.sh restart "$KAFKA_DIR" >/dev/null
kafka_keyed "$((half + 1))" | kafka_produce logs
wait_stat "$TMP/weir.err" "kafka in" "$total" 90
kill -TERM "$wpid"; wait "$wpid" || fail "weir exited non-zero"
[ "$(c syslog_msgs)" -eq "$total" ] || fail "syslog_msgs $(c syslog_msgs) != $total"
windows_tsv "$TMP/windows.jsonl" > "$TMP/got_windows.tsv"
diff "$TMP/expected_windows.tsv" "$TMP/got_windows.tsv" || fail "windows differ from the reference"
echo "broker restart: $total records, windows exact"
