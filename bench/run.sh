#!/usr/bin/env bash
# Line-rate benchmark: ~150-byte syslog packets replayed by net_pcap with
# infinite_rx=1. The ceiling is dpdk-testpmd --forward-mode=rxonly on the same
# capture in the same run; weir runs on one worker core with the default rules.
# Prints both rates (Mpps) and their ratio. Usage: bench/run.sh [BUILD] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-12}
tmp=$(mktemp -d /tmp/weir-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mode=$(scripts/hugepages.sh 1024)
mem=()
[ "$mode" = huge ] || mem=(--no-huge -m 1024)

python3 bench/gen_bench_pcap.py --nil-ts --out "$tmp/bench.pcap" 2>/dev/null
frame=$(python3 - "$tmp/bench.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(); off = 24; n = tot = 0
while off + 16 <= len(d):
    incl = struct.unpack_from('<I', d, off + 8)[0]; tot += incl; n += 1; off += 16 + incl
print(f"{n} packets, mean frame {tot / n:.0f} bytes")
PY
)

# Mean of the per-second rates after the first two samples (warm-up).
mean_tail() { awk 'NR > 2 { s += $1; n++ } END { if (n) printf "%.3f", s / n; else print "0" }'; }

echo "capture: $frame, $secs s per run, EAL memory: $mode"
timeout -s INT "$secs" dpdk-testpmd -l 0-1 --in-memory --no-pci "${mem[@]}" \
  --vdev "net_pcap0,rx_pcap=$tmp/bench.pcap,infinite_rx=1" --log-level=lib.eal:error -- \
  --forward-mode=rxonly --stats-period=1 --no-mlockall --nb-cores=1 > "$tmp/testpmd.out" 2>&1 || true
testpmd=$(tr -d '\033' < "$tmp/testpmd.out" | grep -a -o 'Rx-pps: *[0-9]*' | awk '{ print $2 / 1e6 }' | mean_tail)

cat > "$tmp/bench.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:error"]}
ports:
  - name: bench
    device: "net_pcap0,rx_pcap=$tmp/bench.pcap,infinite_rx=1"
    accept_any_dst: true
syslog: {ports: [514]}
rules: {file: $PWD/rules/default.yaml}
outputs:
  windows: {jsonl: $tmp/windows.jsonl}
  alerts: {jsonl: $tmp/alerts.jsonl}
run: {stats_interval: 1s}
log: {level: warn}
EOF2
timeout -s INT "$((secs + 5))" "$build/weir" -c "$tmp/bench.yaml" -- "${mem[@]}" \
  > "$tmp/weir.out" 2> "$tmp/weir.err" &
wpid=$!
sleep "$secs"; kill -INT "$wpid" 2>/dev/null || true; wait "$wpid" || true
weir=$(grep -a -o '[0-9.]* Mpps' "$tmp/weir.err" | awk '{ print $1 }' | head -n -1 | mean_tail)
matches=$(grep -a 'weir: rx' "$tmp/weir.err" | tail -n 1 | sed -E 's/.*matches ([0-9]+).*/\1/')
ratio=$(awk -v a="$weir" -v b="$testpmd" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
echo "testpmd rxonly (ceiling): $testpmd Mpps"
echo "weir (1 worker, parse + rule scan + windows): $weir Mpps  ($matches rule matches)"
echo "ratio weir/testpmd: $ratio   (target >= 0.50 and >= 7.5 Mpps)"
