#!/usr/bin/env bash
# Kafka path throughput: a topic pre-filled with N syslog lines (loghub-derived,
# default 10 M, 4 partitions) drained by weir with the default error rules,
# against kcat consuming the same topic to /dev/null in the same run (the
# ceiling). Prints records/s for both and the ratio.
# Usage: bench/kafka.sh [BUILD] [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-10000000}
tmp=$(mktemp -d /tmp/weir-kbench.XXXXXX)
kdir="$tmp/kafka"
trap 'tests/services/kafka.sh stop "$kdir" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
mem=()
[ "$(scripts/hugepages.sh 512)" = huge ] || mem=(--no-huge -m 1024)

broker=$(tests/services/kafka.sh start "$kdir")
tests/services/kafka.sh topic "$kdir" bench-logs 4 >/dev/null
python3 tests/tools/gen_syslog_traffic.py --out "$tmp/t.pcap" --truth "$tmp/truth.tsv" \
  --lines-out "$tmp/lines.txt" --late 0 --big-every 0 2>/dev/null
per=$(wc -l < "$tmp/lines.txt")
reps=$(( (n + per - 1) / per ))
start=$(date +%s.%N)
for ((i = 0; i < reps; i++)); do cat "$tmp/lines.txt"; done | head -n "$n" \
  | kcat -P -b "$broker" -t bench-logs -z lz4 -X linger.ms=50 -X batch.num.messages=10000
echo "produced $n records in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"

# Ceiling: kcat reading every record to /dev/null.
start=$(date +%s.%N)
got=$(kcat -C -b "$broker" -t bench-logs -o beginning -e -q -f '%s\n' | wc -l)
kt=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
[ "$got" -eq "$n" ] || { echo "kcat read $got of $n"; exit 1; }

cp rules/default.yaml "$tmp/rules.yaml"
cat > "$tmp/k.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:error"]}
kafka:
  brokers: "$broker"
  group_id: weir-bench-$$
  topics: [{name: bench-logs}]
rules: {file: rules.yaml}
event_time: {out_of_orderness: 1h}
outputs: {windows: {jsonl: windows.jsonl}}
run: {stats_interval: 1s}
log: {level: warn}
EOF2
start=$(date +%s.%N)
"$build/weir" -c "$tmp/k.yaml" -- "${mem[@]}" >/dev/null 2>"$tmp/weir.err" &
wpid=$!
while :; do
  v=$(grep -a -o 'kafka in [0-9]*' "$tmp/weir.err" | tail -n 1 | awk '{ print $3 }' || true)
  [ -n "$v" ] && [ "$v" -ge "$n" ] && break
  kill -0 "$wpid" 2>/dev/null || { tail "$tmp/weir.err"; echo "weir died"; exit 1; }
  sleep 0.1
done
wt=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
kill -INT "$wpid"; wait "$wpid" || true
matches=$(grep -a 'weir: rx' "$tmp/weir.err" | tail -n 1 | sed -E 's/.*matches ([0-9]+).*/\1/')
awk -v n="$n" -v kt="$kt" -v wt="$wt" -v m="$matches" 'BEGIN {
  printf "kcat -C to /dev/null (ceiling): %.0f records/s (%.1f s)\n", n / kt, kt
  printf "weir (1 worker, parse + Hyperscan + windows): %.0f records/s (%.1f s, %d matches; includes the group join)\n", n / wt, wt, m
  printf "ratio weir/kcat: %.2f\n", kt / wt }'
