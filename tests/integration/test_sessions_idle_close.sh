#!/usr/bin/env bash
# Quiet users' sessions close while weir keeps running: a few clicks dated
# just before now go in through net_pcap, then the clickstream falls silent.
# With event_time.idle_timeout the click watermark moves on with the wall
# clock, so the sessions still open close (and are written) within seconds,
# long before any stop. With idle_timeout 0 the same sessions stay open
# until the stop flushes them. Gap 10 s, out_of_orderness 1 s, idle 1 s.
source "$(dirname "$0")/lib.sh"

now_ms=$(( $(date +%s%3N) ))
t0=$(( now_ms - 15000 ))
# user, offset from t0 in ms, type; in arrival order. The events' own
# watermark reaches t0 + 11 s (latest event - 1 s): it closes the sessions
# that ended by t0 + 1 s (u2's first, u3's); the other two need the idle
# advance.
python3 tests/tools/clicks_pcap.py "$TMP/c.pcap" "$t0" <<'EOF2'
u1 0 product_view
u2 0 page_view
u3 500 page_view
u1 1000 add_to_cart
u1 2000 checkout
u1 3000 purchase
u2 12000 page_view   # more than the gap later: u2's second session
EOF2

config() {  # config IDLE_TIMEOUT
  pcap_yaml_head "$TMP/c.pcap"
  cat <<EOF2
clickstream:
  ports: [5140]
  gap: 10s
  max_length: 12h
  funnel: [product_view, add_to_cart, checkout, purchase]
  users: 4096
event_time: {out_of_orderness: 1s, idle_timeout: $1}
outputs:
  sessions: {jsonl: sessions.jsonl}
run: {stats_interval: 0s, exit_after_idle: 0s}
EOF2
}
sessions() { local n; n=$(grep -c '"type":"session"' "$TMP/sessions.jsonl" 2>/dev/null); echo "${n:-0}"; }
stop_weir() { kill -TERM "$wpid"; wait "$wpid" || fail "weir exited with $? on SIGTERM"; }

# 1. idle_timeout 1 s: all four sessions are written while weir runs.
config 1s > "$TMP/idle.yaml"
weir_start "$TMP/idle.yaml"
for _ in $(seq 300); do [ "$(sessions)" -ge 4 ] && break; sleep 0.1; done
kill -0 "$wpid" 2>/dev/null || fail "weir stopped before the sessions closed"
[ "$(sessions)" -eq 4 ] || { cat "$TMP/sessions.jsonl" 2>/dev/null; fail "idle: $(sessions) sessions written while running, want 4"; }
note "idle_timeout 1s: 4 sessions written while weir runs"
stop_weir
[ "$(sessions)" -eq 4 ] || fail "the stop wrote $(( $(sessions) - 4 )) more sessions: some were still open"
[ "$(c click_events)" -eq 7 ] || fail "click_events $(c click_events), want 7"
check_sessions "$t0" "idle_timeout 1s" <<'EOF2'
u1 0 3000 4 0 4 1 3000
u2 0 0 1 1 0 0 -
u2 12000 12000 1 1 0 0 -
u3 500 500 1 1 0 0 -
EOF2

# 2. idle_timeout 0: only the two sessions the events' own watermark closed
# are written while weir runs (given as long as the idle run needed, and
# more); the stop writes the other two.
rm -f "$TMP/sessions.jsonl"
config 0s > "$TMP/noidle.yaml"
weir_start "$TMP/noidle.yaml"
sleep 14
kill -0 "$wpid" 2>/dev/null || fail "weir stopped by itself"
[ "$(sessions)" -eq 2 ] || fail "no idle timeout: $(sessions) sessions written while running, want 2 (u2's first, u3's)"
[ "$(jq -r '.user_id' "$TMP/sessions.jsonl" | sort | tr '\n' ' ')" = "u2 u3 " ] ||
  fail "the sessions written early are not u2's first and u3's"
stop_weir
[ "$(sessions)" -eq 4 ] || fail "no idle timeout: $(sessions) sessions after the stop, want 4"
echo "sessions_idle_close: quiet users' sessions close by idle_timeout while running; without it only at the stop"
