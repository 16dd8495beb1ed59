#!/usr/bin/env bash
# bench_sessions runs end to end on a small table and prints every figure
# docs/benchmarks.md quotes (rows a, a', b, c cold and warm, the ratio, split
# and memory lines), with both text formatters (the hand-made one is checked
# against snprintf() inside the program before it measures); bad arguments
# are refused with the usage. Behaviour only: the rates are not judged here.
source "$(dirname "$0")/lib.sh"

bin="$BUILD/bench/bench_sessions"
[ -x "$bin" ] || fail "no $bin"
for gen in fast printf; do
  out=$(BENCH_GEN=$gen "$bin" 4096 65536 2>&1) || fail "BENCH_GEN=$gen: exit $?: $out"
  for want in '^  a\. session table' "^  a'\. session table" '^  b\. JSON parse alone' \
              '^rate vs target' '^run c split' '^memory \(target'; do
    grep -qE "$want" <<<"$out" || fail "BENCH_GEN=$gen: no line like '$want' in: $out"
  done
  [ "$(grep -cE '^  c\. JSON parse \+ session table' <<<"$out")" -eq 2 ] ||
    fail "BENCH_GEN=$gen: want row c cold and warm: $out"
  grep -qE '^  b\. .*\( *[0-9]+ ns/event\)' <<<"$out" || fail "no ns figure in row b: $out"
  note "BENCH_GEN=$gen: $(grep '^rate vs target' <<<"$out")"
done
if out=$("$bin" 8 64 2>&1); then
  fail "8 users accepted: $out"
fi
grep -q usage <<<"$out" || fail "no usage for 8 users: $out"
note "8 users refused: $out"
