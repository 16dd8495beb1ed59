#!/usr/bin/env bash
# Two event-time streams on one worker, each with its own clock: syslog
# (loghub lines from about two hours ago, with 5 deliberately late lines) on
# one net_pcap port and a clickstream from about 18 hours ago on another,
# read in turns by the same worker. Each stream keeps its own watermark, so
# neither makes the other's events late nor holds its results back: every
# window and late record equals the syslog reference, every session record
# equals the clickstream reference, and no click event is late. (With one
# watermark for both, the clicks came out all late behind the log lines'.)
source "$(dirname "$0")/lib.sh"

python3 tests/tools/gen_syslog_traffic.py --out "$TMP/t.pcap" --truth "$TMP/truth.tsv" \
  --dst-ip 192.0.2.10 --dst-ipv6 2001:db8::10 --seed 7 2>"$TMP/gen.txt"
tests/tools/ref_windows.sh --late-file "$TMP/expected_late.tsv" "$TMP/truth.tsv" \
  > "$TMP/expected_windows.tsv"
python3 tests/tools/gen_clickstream.py --users 500 --bots 2 --seed 5 --out "$TMP/c.pcap" \
  --truth "$TMP/ctruth.tsv" --dst-ip 192.0.2.10 --port 5140 2>>"$TMP/gen.txt"
cat "$TMP/gen.txt"
python3 tests/tools/ref_sessions.py "$TMP/ctruth.tsv" > "$TMP/expected_sessions.tsv" \
  || fail "the generated clickstream is not checkable"
# the two streams' clocks lie hours apart: far more than the out-of-orderness
first() { awk -F'\t' '$1 !~ /^#/ { print int($2 / 1000); exit }' "$1"; }
syslog_t=$(awk -F'\t' 'NR == 1 { print int($2 / 1000) }' "$TMP/truth.tsv")
click_t=$(first "$TMP/ctruth.tsv")
[ $((syslog_t - click_t)) -gt 3600 ] || fail "the streams' times are not hours apart ($syslog_t, $click_t)"

cp rules/default.yaml "$TMP/rules.yaml"
cat > "$TMP/two.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: logs
    device: "net_pcap0,rx_pcap=$TMP/t.pcap"
    ipv4: 192.0.2.10/24
    ipv6: 2001:db8::10/64
    accept_any_dst: true
  - name: clicks
    device: "net_pcap1,rx_pcap=$TMP/c.pcap"
    ipv4: 192.0.2.10/24
    accept_any_dst: true
syslog: {ports: [514]}
clickstream:
  ports: [5140]
  funnel: [product_view, add_to_cart, checkout, purchase]
  users: 65536
rules: {file: rules.yaml}
event_time: {out_of_orderness: 5s, allowed_lateness: 0s}
outputs:
  windows: {jsonl: windows.jsonl}
  late: {jsonl: late.jsonl}
  sessions: {jsonl: sessions.jsonl}
run: {stats_interval: 0s, exit_after_idle: 2s}
EOF2
weir_run "$TMP/two.yaml"

check_windows_late "syslog "
[ -s "$TMP/expected_late.tsv" ] || fail "reference produced no late records"
[ "$(c events_late)" -eq "$(wc -l < "$TMP/expected_late.tsv")" ] || fail "events_late counter differs"
python3 tests/tools/sessions_tsv.py "$TMP/sessions.jsonl" > "$TMP/got_sessions.tsv"
note "sessions: expected $(wc -l < "$TMP/expected_sessions.tsv"), got $(wc -l < "$TMP/got_sessions.tsv")"
diff "$TMP/expected_sessions.tsv" "$TMP/got_sessions.tsv" > "$TMP/diff.txt" \
  || { head -n 10 "$TMP/diff.txt"; fail "sessions differ from the reference"; }
[ "$(c session_events_late)" -eq 0 ] || fail "$(c session_events_late) click events late behind the log lines' watermark"
echo "two streams: $(wc -l < "$TMP/got_windows.tsv") windows, $(wc -l < "$TMP/got_late.tsv") late lines and $(wc -l < "$TMP/got_sessions.tsv") sessions equal their references"
