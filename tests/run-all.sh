#!/usr/bin/env bash
# Run every test suite: the CUnit runners (unit) and the integration scripts.
# Ends with the plain line "N passed, N failed" and exits non-zero on any failure.
# Both run twice: as built, then built again with ASan and UBSan in
# BUILD_DIR-san (a bad access or undefined behaviour, misaligned accesses
# included, fails the runner or script; in the unit runners a leak too).
# Usage: tests/run-all.sh [BUILD_DIR] [--unit|--integration|--sanitize|--sanitize-unit]
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
what=${2:-all}
logs="$build/test-logs"
rm -rf "$logs"; mkdir -p "$logs"
passed=0; failed=0; failed_names=()

run_unit() {
  local dir=${1:-$build} label=${2:-unit}
  local exe name out rc tests nf
  # The state tables' reserved-page tests need 2 MB pages in the pool (the
  # integration tests reserve them too); without them those tests check the
  # transparent-huge-page fallback only.
  scripts/hugepages.sh 512 > /dev/null 2>&1 || true
  for exe in "$dir"/tests/unit/test_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    out="$logs/$label-$name.log"
    timeout 300 "$exe" >"$out" 2>&1; rc=$?
    line=$(grep -a '^CUNIT-SUMMARY' "$out" | tail -n 1)
    if [ -n "$line" ]; then
      tests=$(sed -E 's/.*tests=([0-9]+).*/\1/' <<<"$line")
      nf=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")
    else
      tests=1; nf=1
    fi
    # A runner that crashed or failed an assertion outside a test still fails.
    if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then nf=1; fi
    passed=$((passed + tests - nf)); failed=$((failed + nf))
    if [ "$nf" -gt 0 ]; then
      failed_names+=("$label/$name"); echo "FAIL $label/$name ($nf of $tests; log: $out)"
      grep -a -E 'runtime error|ERROR: [A-Za-z]+Sanitizer|SUMMARY: |FAILED|Test: .*\.\.\.FAILED|^ +[0-9]+\. ' "$out" | head -n 20
    else
      echo "ok   $label/$name ($tests tests)"
    fi
  done
}

# A second build of the same sources with -fsanitize=address,undefined; a
# report aborts the program, so it fails like a crash. Leaks are checked in
# the unit runners only (DPDK's EAL keeps its memory to the end).
run_sanitized() {
  local dir="$build-san"
  if ! { [ -f "$dir/build.ninja" ] ||
         meson setup "$dir" -Db_sanitize=address,undefined \
           -Dc_args=-fno-sanitize-recover=undefined > "$logs/san-setup.log" 2>&1; } ||
     ! ninja -C "$dir" > "$logs/san-build.log" 2>&1; then
    failed=$((failed + 1)); failed_names+=("sanitized build")
    echo "FAIL sanitized build (log: $logs/san-build.log)"; tail -n 20 "$logs"/san-*.log
    return
  fi
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_unit "$dir" san
  [ "$what" = --sanitize-unit ] && return
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_integration "$dir" san-integration
}

run_integration() {
  local dir=${1:-$build} label=${2:-integration}
  local t name out rc
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    out="$logs/$label-$name.log"
    local start=$SECONDS
    BUILD="$dir" timeout 900 bash "$t" >"$out" 2>&1; rc=$?
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1)); echo "ok   $label/$name ($((SECONDS - start)) s)"
    else
      failed=$((failed + 1)); failed_names+=("$label/$name")
      echo "FAIL $label/$name (exit $rc; log: $out)"; tail -n 30 "$out" | sed 's/^/     /'
    fi
  done
}

case "$what" in
  --unit) run_unit ;;
  --integration) run_integration ;;
  --sanitize|--sanitize-unit) run_sanitized ;;
  *) run_unit; run_integration; run_sanitized ;;
esac
if [ "$((passed + failed))" -eq 0 ]; then
  echo "no tests were run"; failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
