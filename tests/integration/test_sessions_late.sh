#!/usr/bin/env bash
# Late click events end to end: gap 10 min, allowed lateness 2 min, no
# out-of-orderness. An event is late when the session it would make or join
# would already be closed: ts + gap + lateness <= watermark at its arrival
# (equal is late). Late events go to outputs.late as "late_click" records
# with the watermark they missed, are counted (session_events_late), and
# change no session; disorder within the bound joins or opens sessions.
source "$(dirname "$0")/lib.sh"

m=60000
t0=$(( ($(date +%s) - 7200) / 60 * 60 * 1000 ))
# user, offset from t0 in ms, type; in arrival order
python3 tests/tools/clicks_pcap.py "$TMP/c.pcap" "$t0" <<EOF2
u1 0 product_view
u2 $((30 * m)) page_view               # the watermark is now t0 + 30 min
u1 $((1 * m)) add_to_cart              # late: u1's session closes at 0 + 12 min
u2 $((29 * m)) product_view            # within the bound: joins u2's session
u3 $((25 * m)) page_view               # its own session closes at 37 min: a new one
u4 $((17 * m)) page_view               # late: 17 + 12 = 29 min
u5 $((18 * m)) page_view               # late: 18 + 12 = 30 min, equal
u6 $((18 * m + 1)) page_view           # not late by 1 ms: a new session
EOF2

{ pcap_yaml_head "$TMP/c.pcap"; cat <<EOF2
clickstream:
  ports: [5140]
  gap: 10m
  funnel: [product_view, add_to_cart, checkout, purchase]
  users: 4096
event_time: {out_of_orderness: 0s, allowed_lateness: 2m, idle_timeout: 0s}
outputs:
  sessions: {jsonl: sessions.jsonl}
  late: {jsonl: late.jsonl}
run: {stats_interval: 0s, exit_after_idle: 2s}
EOF2
} > "$TMP/late.yaml"
weir_run "$TMP/late.yaml"

[ "$(c click_events)" -eq 8 ] || fail "click_events $(c click_events), want 8"
[ "$(c session_events_late)" -eq 3 ] || fail "session_events_late $(c session_events_late), want 3"
python3 - "$TMP/sessions.jsonl" "$TMP/late.jsonl" "$t0" <<'PY' || fail "session or late records differ"
import json, sys
from datetime import datetime
t0, m = int(sys.argv[3]), 60000
def ms(t):
    return round(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000) - t0
sessions = sorted((r["user_id"], ms(r["start"]), ms(r["end"]), r["events"], r["page_views"],
                   r["funnel"]["reached"]) for r in map(json.loads, open(sys.argv[1])))
late = sorted((r["type"], r["user_id"], ms(r["event_time"]), ms(r["watermark"]))
              for r in map(json.loads, open(sys.argv[2])))
want_sessions = [("u1", 0, 0, 1, 0, 1), ("u2", 29 * m, 30 * m, 2, 1, 1),
                 ("u3", 25 * m, 25 * m, 1, 1, 0), ("u6", 18 * m + 1, 18 * m + 1, 1, 1, 0)]
want_late = [("late_click", "u1", 1 * m, 30 * m), ("late_click", "u4", 17 * m, 30 * m),
             ("late_click", "u5", 18 * m, 30 * m)]
ok = True
for name, got, want in (("sessions", sessions, want_sessions), ("late", late, want_late)):
    if got != want:
        ok = False
        print(name, "got", got, "\n", name, "want", want)
sys.exit(0 if ok else 1)
PY
echo "sessions_late: 3 late clicks to the late output (the boundary one included), 4 sessions exact"
