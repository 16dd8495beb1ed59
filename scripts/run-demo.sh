#!/usr/bin/env bash
# `make run`: build the demo capture from the bundled loghub lines and replay
# it through weir (DPDK net_pcap), showing the stats line and the alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mkdir -p out/demo
rm -f out/demo/*.jsonl
mode=$(scripts/hugepages.sh 512)
echo "== generating out/demo/traffic.pcap from configs/traffic/loghub (real log lines)"
python3 tests/tools/gen_syslog_traffic.py --out out/demo/traffic.pcap \
  --truth out/demo/truth.tsv --dst-ip 192.0.2.10 --dst-ipv6 2001:db8::10 >/dev/null
echo "== generating out/demo/payments.pcap (scripted transactions with an account takeover)"
/usr/bin/python3 tests/tools/gen_txns.py --store out/demo/store.json --users 30 > out/demo/payments.jsonl
python3 tests/tools/gen_txn_pcap.py --txns out/demo/payments.jsonl --out out/demo/payments.pcap
echo "== generating out/demo/clicks.pcap (a clickstream: 300 users, funnels, 2 bots, 5 broken events)"
python3 tests/tools/gen_clickstream.py --out out/demo/clicks.pcap --users 300 --bots 2 --bad 5 \
  --dst-ip 192.0.2.10 --port 5140 2>/dev/null
extra=()
[ "$mode" = huge ] || extra=(-- --no-huge -m 1024)
echo "== weir -c configs/demo.yaml (alerts below, stats line on stderr)"
"$build/weir" -c configs/demo.yaml "${extra[@]}" | tee out/demo/alerts.jsonl
echo
echo "== summary"
printf 'window records: %s (out/demo/windows.jsonl)\n' "$(grep -c '"type":"window"' out/demo/windows.jsonl || true)"
printf 'late matches:   %s (out/demo/late.jsonl)\n' "$(wc -l < out/demo/late.jsonl)"
printf 'alerts:         %s, resolved: %s\n' "$(grep -c '"type":"alert"' out/demo/alerts.jsonl || true)" \
  "$(grep -c '"type":"resolved"' out/demo/alerts.jsonl || true)"
printf 'payments:       %s decisions: %s ALLOW, %s REVIEW, %s BLOCK (out/demo/decisions.jsonl,\n' \
  "$(grep -c '"type":"decision"' out/demo/decisions.jsonl || true)" \
  "$(grep -c '"decision":"ALLOW"' out/demo/decisions.jsonl || true)" \
  "$(grep -c '"decision":"REVIEW"' out/demo/decisions.jsonl || true)" \
  "$(grep -c '"decision":"BLOCK"' out/demo/decisions.jsonl || true)"
printf '                answers to the senders in out/demo/answers.pcap)\n'
printf '                the pcap delivers all of them at once, so their latency_us is mostly\n'
printf '                the queue behind each other; paced figures: bench/fraud.sh\n'
sessions=out/demo/sessions.jsonl
printf 'sessions:       %s closed, %s of them converted (reached purchase) (%s)\n' \
  "$(wc -l < "$sessions")" "$(grep -c '"converted":true' "$sessions" || true)" "$sessions"
printf '                funnel rates per minute of session ends: %s records (%s)\n' \
  "$(grep -c '"type":"funnel"' out/demo/windows.jsonl || true)" out/demo/windows.jsonl
echo "a converted session:"
grep -m1 '"converted":true' "$sessions" || true
echo "blocked:"
grep '"decision":"BLOCK"' out/demo/decisions.jsonl | jq -c '{txn_id, user_id, amount, country,
  merchant, score, reasons}' 2>/dev/null || true
