#!/usr/bin/env bash
# Replay: real loghub lines as syslog (RFC 5424 and RFC 3164, out of order
# within bound, 5 late lines, fragmented stack traces over IPv4 and IPv6,
# 20 malformed frames) through DPDK net_pcap. Every window record
# and every late record must equal the independent awk computation exactly.
source "$(dirname "$0")/lib.sh"

python3 tests/tools/gen_syslog_traffic.py --out "$TMP/t.pcap" --truth "$TMP/truth.tsv" \
  --dst-ip 192.0.2.10 --dst-ipv6 2001:db8::10 --big-every 10 --seed 7 2>"$TMP/gen.txt"
cat "$TMP/gen.txt"
tests/tools/ref_windows.sh --late-file "$TMP/expected_late.tsv" "$TMP/truth.tsv" \
  > "$TMP/expected_windows.tsv"

cp rules/default.yaml "$TMP/rules.yaml"
cat > "$TMP/replay.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: replay
    device: "net_pcap0,rx_pcap=$TMP/t.pcap"
    ipv4: 192.0.2.10/24
    ipv6: 2001:db8::10/64
    accept_any_dst: true   # the capture's MAC is not net_pcap's
syslog: {ports: [514]}
rules: {file: rules.yaml}
event_time: {out_of_orderness: 5s, allowed_lateness: 0s}
outputs:
  windows: {jsonl: windows.jsonl}
  alerts: {jsonl: alerts.jsonl}
  late: {jsonl: late.jsonl}
run: {stats_interval: 0s, exit_after_idle: 2s}
EOF2
weir_run "$TMP/replay.yaml"

check_windows_late ""
[ -s "$TMP/expected_windows.tsv" ] || fail "reference produced no windows"
[ -s "$TMP/expected_late.tsv" ] || fail "reference produced no late records"

# Malformed frames are counted, never processed; fragments were reassembled.
valid=$(wc -l < "$TMP/truth.tsv")
[ "$(c syslog_msgs)" -eq "$valid" ] || fail "syslog_msgs $(c syslog_msgs) != $valid valid events"
[ "$(c rx_bad_udp)" -ge 1 ] || fail "bad UDP checksums not counted"
[ "$(c rx_bad_ip)" -ge 1 ] || fail "truncated IP not counted"
[ "$(c rx_port_closed)" -ge 1 ] || fail "wrong port not counted"
[ "$(c frag_reassembled)" -ge 1 ] || fail "no datagram reassembled"
[ "$(c events_late)" -eq "$(wc -l < "$TMP/expected_late.tsv")" ] || fail "events_late counter differs"
alerts=$(grep -c '"type":"alert"' "$TMP/alerts.jsonl" || true)
[ "$alerts" -ge 1 ] || fail "no alert raised"
echo "replay: $(wc -l < "$TMP/got_windows.tsv") windows and $(wc -l < "$TMP/got_late.tsv") late records equal the reference; $alerts alerts"
