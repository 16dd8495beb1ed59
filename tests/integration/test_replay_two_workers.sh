#!/usr/bin/env bash
# Two rx queues, two workers: two independent loghub streams (different
# disorder and late lines, the same hostnames) replayed as two net_pcap queues.
# Matches cross between workers (a (rule, key) belongs to one worker), windows
# close at the minimum watermark, and lateness is decided per input. Expected:
# per-input reference computations, with counts of equal windows added.
# Run twice: the streams aligned, and the second a minute ahead of the first.
# Then max_input_drift (10 s) holds the second worker back; when the first
# stream has ended it waits for that input to turn idle (idle_timeout), and
# exit_after_idle must not end the run while it still has input to read.
source "$(dirname "$0")/lib.sh"

cp rules/default.yaml "$TMP/rules.yaml"
base=$(( ($(date +%s) - 7200) / 60 * 60 ))

# run_two OFFSET_S: generate, replay, compare.
run_two() {
  local offset=$1 i
  rm -f "$TMP"/gen.txt "$TMP"/*.jsonl
  for i in 1 2; do
    python3 tests/tools/gen_syslog_traffic.py --out "$TMP/q$i.pcap" --truth "$TMP/truth$i.tsv" \
      --dst-ip 192.0.2.10 --big-every 25 --seed "$((20 + i))" --src-ip "198.51.$((100 + i))." \
      --base "$(( base + (i - 1) * offset ))" 2>>"$TMP/gen.txt"
    tests/tools/ref_windows.sh --late-file "$TMP/late$i.tsv" "$TMP/truth$i.tsv" > "$TMP/win$i.tsv"
  done
  cat "$TMP/gen.txt"
  cat "$TMP/win1.tsv" "$TMP/win2.tsv" \
    | awk -F'\t' '{ k = $1 "\t" $2 "\t" $3 "\t" $4; c[k] += $5 } END { for (k in c) print k "\t" c[k] }' \
    | LC_ALL=C sort > "$TMP/expected_windows.tsv"
  cat "$TMP/late1.tsv" "$TMP/late2.tsv" | LC_ALL=C sort > "$TMP/expected_late.tsv"

  # Three lcores on two CPUs: the main lcore alone, both workers share CPU 1.
  cat > "$TMP/two.yaml" <<EOF2
eal: {args: ["--lcores", "0@0,1@1,2@1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: replay
    device: "net_pcap0,rx_pcap=$TMP/q1.pcap,rx_pcap=$TMP/q2.pcap"
    rx_queues: 2
    ipv4: 192.0.2.10/24
    accept_any_dst: true
syslog: {ports: [514]}
rules: {file: rules.yaml}
outputs:
  windows: {jsonl: windows.jsonl}
  alerts: {jsonl: alerts.jsonl}
  late: {jsonl: late.jsonl}
event_time: {max_input_drift: 10s, idle_timeout: 5s}
run: {stats_interval: 0s, exit_after_idle: 3s}
EOF2
  WEIR_PRINT_COUNTERS=1 "$WEIR" -c "$TMP/two.yaml" -- $(eal_mem_args) \
    >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }
  grep -q "2 worker(s)" "$TMP/weir.err" || fail "weir did not start two workers"

  check_windows_late "offset ${offset}s: "
  local valid=$(( $(wc -l < "$TMP/truth1.tsv") + $(wc -l < "$TMP/truth2.tsv") ))
  [ "$(counter syslog_msgs "$TMP/weir.err")" -eq "$valid" ] || fail "syslog_msgs != $valid"
  if [ "$offset" -gt 0 ]; then
    [ "$(counter rx_paused "$TMP/weir.err")" -gt 0 ] || fail "the stream ahead was never held back"
  fi
  echo "two workers, offset ${offset}s: $(wc -l < "$TMP/got_windows.tsv") windows and $(wc -l < "$TMP/got_late.tsv") late records equal the reference"
}

run_two 0
run_two 60
