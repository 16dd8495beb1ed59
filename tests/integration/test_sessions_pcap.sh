#!/usr/bin/env bash
# Clickstream sessionization over DPDK: ~3000 generated users (visits with
# gaps around 30 minutes, funnels with repeats and steps out of order, 10 %
# epoch-millis timestamps, disorder within the bound, bots split at 12 h,
# 10 invalid events) as JSON over UDP through net_pcap. Every session record
# must equal the reference computed from the definition (ref_sessions.py).
source "$(dirname "$0")/lib.sh"

python3 tests/tools/gen_clickstream.py --users 3000 --seed 3 --out "$TMP/c.pcap" \
  --truth "$TMP/truth.tsv" --dst-ip 192.0.2.10 --port 5140 2>"$TMP/gen.txt"
cat "$TMP/gen.txt"
python3 tests/tools/ref_sessions.py "$TMP/truth.tsv" > "$TMP/expected.tsv" \
  || fail "the generated stream is not checkable (reference says late or early close)"

{ pcap_yaml_head "$TMP/c.pcap"; cat <<EOF2
clickstream:
  ports: [5140]
  gap: 30m
  max_length: 12h
  funnel: [product_view, add_to_cart, checkout, purchase]
  users: 65536
outputs:
  sessions: {jsonl: sessions.jsonl}
  windows: {jsonl: windows.jsonl}
  late: {jsonl: late.jsonl}
run: {stats_interval: 0s, exit_after_idle: 2s, lock_memory: true}
EOF2
} > "$TMP/click.yaml"
weir_run "$TMP/click.yaml"
python3 tests/tools/sessions_tsv.py "$TMP/sessions.jsonl" > "$TMP/got.tsv"
# run.lock_memory: weir reports the lock and the resident set after it,
# which holds at least the session table's reservation of (65536 + 131072)
# user lines of 64 B = 12 MiB (mlockall failing stops the start instead).
locked=$(sed -n 's/.*memory locked: \([0-9]*\) MiB.*/\1/p' "$TMP/weir.err")
[ -n "$locked" ] && [ "$locked" -ge 12 ] || fail "run.lock_memory: locked '${locked}' MiB, want >= 12"
note "run.lock_memory: $locked MiB locked at start"
note "sessions: expected $(wc -l < "$TMP/expected.tsv"), got $(wc -l < "$TMP/got.tsv")"
diff "$TMP/expected.tsv" "$TMP/got.tsv" > "$TMP/diff.txt" || { head -n 20 "$TMP/diff.txt"; fail "sessions differ from the reference"; }
# Live funnel rates: per minute of session end, sessions and how many reached each step,
# computed here from the expected sessions.
python3 - "$TMP/expected.tsv" "$TMP/windows.jsonl" <<'PY' || fail "funnel rate records differ"
import json, sys
from collections import defaultdict
from datetime import datetime
exp = defaultdict(lambda: [0, 0, 0, 0, 0])
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    b = exp[int(f[2]) // 60000 * 60]
    b[0] += 1
    for k in range(int(f[6])):
        b[k + 1] += 1
got = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["type"] != "funnel":
        continue
    t = int(datetime.fromisoformat(r["start"].replace("Z", "+00:00")).timestamp())
    assert t not in got, "minute emitted twice: %s" % r["start"]
    got[t] = [r["sessions"]] + [s["reached"] for s in r["steps"]]
    assert r["converted"] == r["steps"][-1]["reached"]
    assert abs(r["conversion_rate"] - r["converted"] / r["sessions"]) < 1e-4
exp = {k: v for k, v in exp.items()}
bad = [k for k in set(exp) | set(got) if exp.get(k) != got.get(k)]
for k in sorted(bad)[:10]:
    print("minute", k, "expected", exp.get(k), "got", got.get(k))
print("funnel minutes:", len(exp), "expected,", len(got), "got")
sys.exit(1 if bad else 0)
PY
valid=$(grep -vc '^#' "$TMP/truth.tsv")
[ "$(c click_events)" -eq "$valid" ] || fail "click_events $(c click_events) != $valid"
[ "$(c click_bad)" -eq "$(grep -c '^#' "$TMP/truth.tsv")" ] || fail "click_bad differs from the invalid events"
[ "$(c session_events_late)" -eq 0 ] || fail "late click events"
[ "$(c sessions_funnel_inexact)" -eq 0 ] || fail "inexact funnels"
echo "sessions: $(wc -l < "$TMP/got.tsv") sessions equal the reference ($(grep -c '	1	[0-9-]*$' "$TMP/got.tsv") converted)"
