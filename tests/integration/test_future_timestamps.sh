#!/usr/bin/env bash
# A sender whose clock is far ahead must not drag the watermark forward and
# make everyone else late (event_time.max_future, 1 h by default). Replayed
# through net_pcap: syslog lines from an honest host dated a few seconds ago,
# one ERROR line dated a year ahead, then honest lines again; a click event
# dated a day ahead. Expected: the future line is counted at its receive time
# (no window a year ahead, no honest line late), the click is rejected, both
# counted in events_future.
source "$(dirname "$0")/lib.sh"

python3 - "$TMP/f.pcap" <<'PYEOF'
import sys, time
sys.path.insert(0, "tests/tools")
from pcapgen import PcapWriter, mac, udp_frames
now = time.time()
def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
lines = []
for i in range(5):
    lines.append((514, f"<11>1 {rfc3339(now - 20 + i)} honest app - - - ERROR honest {i}"))
lines.append((514, f"<11>1 {rfc3339(now + 365 * 86400)} skewed app - - - ERROR from the future"))
for i in range(5):
    lines.append((514, f"<11>1 {rfc3339(now - 10 + i)} honest app - - - ERROR honest {i + 5}"))
ms = int((now + 86400) * 1000)
lines.append((5140, '{"user_id":"u1","ts":%d,"type":"page_view","page":"/"}' % ms))
lines.append((5140, '{"user_id":"u2","ts":%d,"type":"page_view","page":"/"}' % int(now * 1000)))
with PcapWriter(sys.argv[1]) as w:
    for i, (port, text) in enumerate(lines):
        for f in udp_frames(mac("02:00:00:00:00:10"), mac("02:00:00:00:03:01"), "198.51.100.30",
                            "192.0.2.10", 40000, port, text.encode(), ident=i):
            w.write(f, int(now * 1e6) + i)
PYEOF

cp rules/default.yaml "$TMP/rules.yaml"
cat > "$TMP/f.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: replay
    device: "net_pcap0,rx_pcap=$TMP/f.pcap"
    ipv4: 192.0.2.10/24
    accept_any_dst: true
syslog: {ports: [514]}
clickstream: {ports: [5140], users: 1024}
rules: {file: rules.yaml}
event_time: {out_of_orderness: 5m}   # honest lines are dated before weir starts reading
outputs:
  windows: {jsonl: windows.jsonl}
  late: {jsonl: late.jsonl}
  sessions: {jsonl: sessions.jsonl}
run: {stats_interval: 0s, exit_after_idle: 2s}
EOF2
weir_run "$TMP/f.yaml"
[ "$(c events_future)" -eq 2 ] || fail "events_future is $(c events_future), want 2"
[ "$(c events_late)" -eq 0 ] || fail "honest lines were made late: events_late $(c events_late)"
[ -s "$TMP/late.jsonl" ] && fail "late records written"
total=$(jq -s '[.[] | select(.type == "window" and .rule == "error") | .count] | add' "$TMP/windows.jsonl")
[ "$total" -eq 11 ] || fail "error windows count $total matches, want 11 (the skewed line included)"
year=$(date -u +%Y)
jq -r 'select(.type == "window") | .start' "$TMP/windows.jsonl" | grep -qv "^$year-\|^$((year - 1))-" \
  && fail "a window far in the future was opened"
grep -q "198.51.100.30 .*is dated $((year + 1))-.* ahead of this host's clock: counted at its receive" \
  "$TMP/weir.err" || fail "no warning names the skewed sender and date"
[ "$(c click_bad)" -eq 1 ] || fail "the future click was not rejected"
[ "$(c click_events)" -eq 1 ] || fail "the honest click was not taken"
echo "future timestamps: 1 syslog line counted at receive time, 1 click rejected, nobody late"
