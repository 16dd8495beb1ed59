#!/bin/bash
# bench/ab.sh - paired A/B runs of bench_sessions, for changes smaller than
# the VM's run-to-run noise.
#
# Usage: bench/ab.sh PAIRS MODES "ENV... BIN_A" "ENV... BIN_B" [USERS EVENTS]
#   e.g. bench/ab.sh 30 a "X=1 taskset -c 1 old/bench/bench_sessions" \
#                         "X=1 taskset -c 1 build/bench/bench_sessions"
# Each command is run through env(1), so it starts with at least one
# VAR=value (X=1 when there is nothing to set). A and B alternate, PAIRS
# times (ABBA...); every ns/event figure the two print (one per mode letter
# and table state, in their order) is paired run by run, and for each row
# (named "a cold", "b", "c warm", ...) this prints both medians, the median
# and mean of B - A and how many pairs B won. On this shared 2-vCPU VM
# single runs vary by 20-30 % within
# minutes while paired differences of 3-5 ns show up in 20-30 pairs
# (docs/benchmarks.md, session 10).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,16p' "$0"; exit 2; }
pairs=$1 modes=$2 a=$3 b=$4 users=${5:-1000000} events=${6:-4000000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$pairs"); do
	# ABBA order: a drift of the host's speed does not favour either side
	order="A B"
	[ $((i % 2)) -eq 0 ] && order="B A"
	for v in $order; do
		cmd=$a
		[ "$v" = B ] && cmd=$b
		# shellcheck disable=SC2086  # the command is split on purpose
		# each figure as row:ns, the row named by its letter and table state
		r=$(env $cmd "$users" "$events" "$modes" | awk '
			/^warm:/ { state = " warm" }
			/^cold:/ { state = " cold" }
			match($0, /^  [a-z]'"'"'?\. .*\( *[0-9]+ ns/) {
				row = substr($0, 3, index($0, ".") - 3)
				ns = $0; sub(/ ns.*/, "", ns); sub(/.*\( */, "", ns)
				printf "%s%s:%s ", row, row == "b" ? "" : state, ns
			}')
		[ -n "$r" ] || { echo "ab.sh: no figures from: $cmd" >&2; exit 1; }
		echo "$v $r" >> "$out"
	done
done
python3 - "$out" <<'PY'
import statistics as st
import sys

runs = {"A": [], "B": []}
names = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(" ", 1)
    # "a cold:131" was split on the blank: join the name back
    items = []
    for x in f[1].strip().replace(" cold:", "_cold:").replace(" warm:", "_warm:").split():
        n, v = x.rsplit(":", 1)
        items.append((n.replace("_", " "), int(v)))
    names = [n for n, _ in items]
    runs[f[0]].append([v for _, v in items])
rows = min(len(r) for r in runs["A"] + runs["B"])
for c in range(rows):
    a = [r[c] for r in runs["A"]]
    b = [r[c] for r in runs["B"]]
    d = [y - x for x, y in zip(a, b)]
    print(f"{names[c]:8s}: A median {st.median(a)} ns, B median {st.median(b)} ns; "
          f"B - A median {st.median(d)}, mean {st.mean(d):.1f}; B faster in "
          f"{sum(1 for x in d if x < 0)}/{len(d)} pairs")
PY
