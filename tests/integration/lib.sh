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
# c NAME: a counter weir printed at its exit into $TMP/weir.err.
c() { counter "$1" "$TMP/weir.err"; }

# weir_run CONFIG: run weir on CONFIG to its end (a replay with exit_after_idle),
# counters printed at exit; output in $TMP/weir.out and $TMP/weir.err.
weir_run() {
  WEIR_PRINT_COUNTERS=1 "$WEIR" -c "$1" -- $(eal_mem_args) \
    >"$TMP/weir.out" 2>"$TMP/weir.err" || { tail -n 20 "$TMP/weir.err"; fail "weir failed"; }
}

# weir's window records as the reference prints them: rule key start_s end_s count, sorted.
windows_tsv() {
  jq -r 'select(.type == "window") | [.rule, .key, (.start | fromdateiso8601),
         (.end | fromdateiso8601), .count] | @tsv' "$1" | LC_ALL=C sort
}

# check_windows_late LABEL: weir's windows.jsonl and late.jsonl in $TMP equal
# $TMP/expected_windows.tsv and $TMP/expected_late.tsv (noted with LABEL).
check_windows_late() {
  windows_tsv "$TMP/windows.jsonl" > "$TMP/got_windows.tsv"
  late_tsv "$TMP/late.jsonl" > "$TMP/got_late.tsv"
  note "$1windows: expected $(wc -l < "$TMP/expected_windows.tsv"), got $(wc -l < "$TMP/got_windows.tsv")"
  diff "$TMP/expected_windows.tsv" "$TMP/got_windows.tsv" || fail "window records differ from the reference"
  note "$1late: expected $(wc -l < "$TMP/expected_late.tsv"), got $(wc -l < "$TMP/got_late.tsv")"
  diff "$TMP/expected_late.tsv" "$TMP/got_late.tsv" || fail "late records differ from the reference"
}

# weir's late records as the reference prints them: rule key event_ms, sorted.
late_tsv() {
  jq -r 'select(.type == "late") | [.rule, .key, .event_time] | @tsv' "$1" \
    | while IFS=$'\t' read -r rule key t; do
        ms=000
        [[ $t =~ \.([0-9]{3})Z$ ]] && ms=${BASH_REMATCH[1]}
        s=$(jq -rn --arg t "${t%.*Z}" '($t | sub("Z$"; "") + "Z") | fromdateiso8601')
        printf '%s\t%s\t%s%s\n' "$rule" "$key" "$s" "$ms"
      done | LC_ALL=C sort
}

# veth_ns TAG [v6]: a network namespace "weir-TAG-$$" with a veth pair; the
# inner end (192.0.2.1/24, and 2001:db8::1/64 with v6; offloads off so frames
# look as a NIC would send them, IP fragments cut by the sender) lives in the
# namespace, the outer end ($va) is left up without an address for weir's
# DPDK port. Sets ns, va, vb; cleanup is registered.
veth_ns() {
  ns="weir-$1-$$"; va="w$1$$a"; vb="w$1$$b"
  ip netns add "$ns"
  cleanup_fns+=("ip netns del $ns 2>/dev/null")
  ip link add "$va" type veth peer name "$vb"
  cleanup_fns+=("ip link del $va 2>/dev/null")
  ip link set "$vb" netns "$ns"
  ip link set "$va" up
  sysctl -qw "net.ipv6.conf.$va.disable_ipv6=1" || true
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip addr add 192.0.2.1/24 dev "$vb"
  [ "${2:-}" = v6 ] && ip netns exec "$ns" ip -6 addr add 2001:db8::1/64 dev "$vb" nodad
  ip netns exec "$ns" ip link set "$vb" up
  ip netns exec "$ns" ethtool -K "$vb" tx off sg off tso off gso off >/dev/null 2>&1 || true
  ethtool -K "$va" gro off lro off >/dev/null 2>&1 || true
}

# weir_start CONFIG: run weir in the background (counters dumped at exit,
# stdout to $TMP/weir.out, stderr to $TMP/weir.err), wait until it says it is
# running. Sets wpid; the cleanup kills it. Environment passes through (e.g.
# WEIR_TEST_SLOW_FRAUD_US=... weir_start x.yaml).
weir_start() {
  : > "$TMP/weir.err"   # exists before the wait loop reads it
  WEIR_PRINT_COUNTERS=1 "$WEIR" -c "$1" -- $(eal_mem_args) >"$TMP/weir.out" 2>"$TMP/weir.err" &
  wpid=$!
  cleanup_fns+=("kill $wpid 2>/dev/null")
  for _ in $(seq 100); do grep -q "running:" "$TMP/weir.err" && break; sleep 0.1; done
  grep -q "running:" "$TMP/weir.err" || { cat "$TMP/weir.err"; fail "weir did not start"; }
}

# pcap_yaml_head PCAP: the start of a weir config that replays PCAP through
# net_pcap on port 'replay' (192.0.2.10/24, every destination accepted), EAL
# on lcores 0-1, the default rules (copied to $TMP/rules.yaml). The caller
# appends its other sections.
pcap_yaml_head() {
  cp rules/default.yaml "$TMP/rules.yaml"
  cat <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: replay
    device: "net_pcap0,rx_pcap=$1"
    ipv4: 192.0.2.10/24
    accept_any_dst: true
rules: {file: rules.yaml}
EOF2
}

# check_sessions T0_MS LABEL: weir's $TMP/sessions.jsonl (through
# tests/tools/sessions_tsv.py) equals the sessions given on stdin, one a
# line: "user start end events page_views reached converted(0/1) ttc_ms|-",
# times in ms after T0_MS (duration = end - start is filled in; %.0f,
# since mawk's %d stops at 2^31).
check_sessions() {
  awk -v t0="$1" '{ printf "%s\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\n",
                    $1, t0 + $2, t0 + $3, $3 - $2, $4, $5, $6, $7, $8 }' \
    | LC_ALL=C sort > "$TMP/expected_sessions.tsv"
  python3 tests/tools/sessions_tsv.py "$TMP/sessions.jsonl" > "$TMP/got_sessions.tsv"
  diff "$TMP/expected_sessions.tsv" "$TMP/got_sessions.tsv" || fail "$2: session records differ"
}

# fraud_yaml_head FRAMECNT MBUFS: the start of a weir config for the fraud
# tests: EAL on lcores 0-1, the veth port ($va, from veth_ns) on
# net_af_packet with FRAMECNT frames, MBUFS mbufs, a syslog port, the default
# rules (copied to $TMP/rules.yaml) and a fraud section serving UDP 7000 with
# the demo model's feature vector. The caller appends the model and further
# fraud keys (indented two spaces), then any other sections.
fraud_yaml_head() {
  cp rules/default.yaml "$TMP/rules.yaml"
  cat <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: veth
    device: "net_af_packet0,iface=$va,framesz=2048,blocksz=4096,framecnt=$1"
    ipv4: 192.0.2.10/24
mbufs: $2
syslog: {ports: [514]}
rules: {file: rules.yaml}
fraud:
  ports: [7000]
  features: "$(tr '\n' ' ' < configs/models/fraud_features.txt)"   # the demo model's vector
EOF2
}
