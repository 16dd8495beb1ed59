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
check_sessions "$t0" late <<EOF2
u1 0 0 1 0 1 0 -
u2 $((29 * m)) $((30 * m)) 2 1 1 0 -
u3 $((25 * m)) $((25 * m)) 1 1 0 0 -
u6 $((18 * m + 1)) $((18 * m + 1)) 1 1 0 0 -
EOF2
# late records: user, event time and the watermark it missed, in ms after
# t0 (all whole minutes, so weir writes them without a fraction)
jq -r --argjson t0 "$t0" 'select(.type == "late_click") | [.user_id,
      ((.event_time | fromdateiso8601) * 1000 - $t0),
      ((.watermark | fromdateiso8601) * 1000 - $t0)] | @tsv' "$TMP/late.jsonl" \
  | LC_ALL=C sort > "$TMP/got_late.tsv"
printf 'u1\t%d\t%d\nu4\t%d\t%d\nu5\t%d\t%d\n' $((1 * m)) $((30 * m)) $((17 * m)) $((30 * m)) \
  $((18 * m)) $((30 * m)) > "$TMP/expected_late.tsv"
diff "$TMP/expected_late.tsv" "$TMP/got_late.tsv" || fail "late records differ"
[ "$(jq -c 'select(.type != "late_click")' "$TMP/late.jsonl" | wc -l)" -eq 0 ] ||
  fail "other records in the late output"
echo "sessions_late: 3 late clicks to the late output (the boundary one included), 4 sessions exact"
