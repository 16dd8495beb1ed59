#!/bin/sh
# ref_windows.sh - expected tumbling-window counts from a truth TSV (POSIX sh + awk; mawk ok).
#
# Usage: tests/tools/ref_windows.sh [--rules "error=ERROR exception=Exception"]
#          [--group-by host|app] [--window 60] [--ooo 5] [--lateness 0]
#          [--late | --late-file FILE] TRUTH.tsv|-
# Input (gen_syslog_traffic.py --truth), arrival order:
#   arrival_index<TAB>event_ts_ms<TAB>host<TAB>app<TAB>msg   (msg with \\ \t \n \r escaped)
# Output, sorted with LC_ALL=C sort (sort weir's output the same way before diffing):
#   rule<TAB>key<TAB>start_epoch_s<TAB>end_epoch_s<TAB>count    one per non-empty window
#   --late: then the late records  rule<TAB>key<TAB>event_ts_ms  (one per matching rule)
#   --late-file FILE: the late records go to FILE instead.
# Rules are id=literal pairs separated by spaces (so a literal holds no space); an event
# matches a rule when the literal occurs in msg (case-sensitive).
#
# Semantics (from the spec, not from weir's code): events are taken in arrival order.
# On arrival of e: wm = max event time of all earlier events - ooo (-inf for the first);
# e is LATE if window_end(e) + lateness <= wm, and is then counted in no window. After
# that the max takes e's time, late or not, matching or not. Windows are aligned to the
# epoch: start = floor(ts / window) * window. Counts are final counts (with lateness > 0
# an event admitted into an already-closed window is in its count here).
set -eu
rules="error=ERROR exception=Exception"; group=host; window=60; ooo=5; lateness=0
late=0; late_file=
while [ $# -gt 1 ]; do
	case $1 in
	--rules) rules=$2; shift 2 ;;
	--group-by) group=$2; shift 2 ;;
	--window) window=$2; shift 2 ;;
	--ooo) ooo=$2; shift 2 ;;
	--lateness) lateness=$2; shift 2 ;;
	--late) late=1; shift ;;
	--late-file) late=1; late_file=$2; shift 2 ;;
	*) echo "ref_windows.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ $# -eq 1 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
for r in $rules; do
	case $r in ?*=?*) ;; *) echo "ref_windows.sh: rule must be id=literal, not $r" >&2; exit 2 ;; esac
done
case $group in host|app) ;; *) echo "ref_windows.sh: --group-by host|app, not $group" >&2; exit 2 ;; esac

# awk prints "1<TAB>window record" and "2<TAB>late record"; sort keeps 1s before 2s.
out=$(REF_RULES=$rules awk -F '\t' -v group="$group" -v window="$window" -v ooo="$ooo" \
	-v lateness="$lateness" -v late="$late" '
function unesc(s,   o, i, c) {   # undo \\ \t \n \r; other text is copied
	o = ""
	while ((i = index(s, "\\")) > 0) {
		c = substr(s, i + 1, 1)
		o = o substr(s, 1, i - 1) (c == "n" ? "\n" : c == "t" ? "\t" : c == "r" ? "\r" : c)
		s = substr(s, i + 2)
	}
	return o s
}
BEGIN {
	n = split(ENVIRON["REF_RULES"], rr, " ")   # not -v: that would eat backslashes
	for (r = 1; r <= n; r++) {
		p = index(rr[r], "=")
		id[r] = substr(rr[r], 1, p - 1); lit[r] = substr(rr[r], p + 1)
	}
	W = window * 1000; OOO = ooo * 1000; L = lateness * 1000; seen = 0
}
{
	ts = $2 + 0; key = (group == "host") ? $3 : $4
	msg = $5
	for (f = 6; f <= NF; f++) msg = msg "\t" $f     # a raw tab, should there be one
	if (index(msg, "\\")) msg = unesc(msg)
	m = ts % W; if (m < 0) m += W
	start = ts - m
	is_late = seen && (start + W + L <= max - OOO)
	for (r = 1; r <= n; r++) {
		if (!index(msg, lit[r])) continue
		if (is_late) {
			if (late) printf "2\t%s\t%s\t%.0f\n", id[r], key, ts
		} else {
			# subscripts built with %.0f: mawk would print big numbers with CONVFMT
			cnt[id[r] "\t" key "\t" sprintf("%.0f\t%.0f", start / 1000, (start + W) / 1000)]++
		}
	}
	if (!seen || ts > max) { max = ts; seen = 1 }
}
END { for (k in cnt) printf "1\t%s\t%d\n", k, cnt[k] }
' "$1" | LC_ALL=C sort)

[ -n "$out" ] || exit 0
if [ -n "$late_file" ]; then
	printf '%s\n' "$out" | grep '^1' | cut -f2- || true
	printf '%s\n' "$out" | grep '^2' | cut -f2- >"$late_file" || true
else
	printf '%s\n' "$out" | cut -f2-
fi
