# Shared helpers for the integration scripts (sourced, not run).
# Every script runs from the project root with $BUILD set by tests/run-all.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
WEIR="$BUILD/weir"
TMP=$(mktemp -d /tmp/weir-it.XXXXXX)
cleanup_fns=()
on_exit() {
  local rc=$?
  for f in "${cleanup_fns[@]}"; do eval "$f" || true; done
  if [ "$rc" -ne 0 ]; then echo "(kept $TMP for inspection)"; else rm -rf "$TMP"; fi
}
trap on_exit EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $*"; }

# EAL memory: hugepages when they can be reserved, else --no-huge.
eal_mem_args() {
  if [ "$(scripts/hugepages.sh 512)" = huge ]; then echo ""; else echo "--no-huge -m 1024"; fi
}

# counter NAME FILE: value of a counter from a WEIR_PRINT_COUNTERS dump.
counter() { awk -v n="$1" '$1 == "counter" && $2 == n { print $3 }' "$2"; }
