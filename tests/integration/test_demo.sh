#!/usr/bin/env bash
# `make run`, the README's first command: the demo script replays the bundled
# syslog capture, the payment stream and the clickstream through net_pcap
# and prints its summary. The figures are those of the fixed inputs (the
# generators are seeded), so any change in them is a change in behaviour.
source "$(dirname "$0")/lib.sh"

scripts/run-demo.sh "$BUILD" > "$TMP/demo.out" 2> "$TMP/demo.err" \
  || { tail -n 20 "$TMP/demo.err"; fail "the demo failed"; }
sed -n '/== summary/,$p' "$TMP/demo.out" | head -n 12
want() { grep -q "$1" "$TMP/demo.out" || fail "demo summary: no '$1'"; }
want '^window records: 99 '
want '^late matches:   5 '
want '^alerts:         12, resolved: 12$'
want '^payments:       429 decisions: 422 ALLOW, 2 REVIEW, 5 BLOCK '
want '^sessions:       457 closed, 56 of them converted '
want 'funnel rates per minute of session ends: 204 records'
grep -q '^{"type":"session",.*"converted":true' "$TMP/demo.out" || fail "no converted session shown"
# every output the summary names is there and is JSON lines
for f in windows late sessions decisions; do
  [ -s "out/demo/$f.jsonl" ] || fail "out/demo/$f.jsonl missing or empty"
  jq -e . "out/demo/$f.jsonl" > /dev/null || fail "out/demo/$f.jsonl is not JSON lines"
done
echo "demo: summary and outputs as expected"
