#!/usr/bin/env bash
# Live path: weir on net_af_packet (or net_af_xdp with LIVE_PMD=af_xdp) over a
# veth pair; the senders live in a
# network namespace made here and reach weir by ARP / neighbour discovery
# (no static entries). Real senders: ping, ping -6, util-linux logger over UDP
# (IPv4 and IPv6, one message large enough to be fragmented). Alerts must
# reach a local Slack receiver that first answers 429 with Retry-After.
source "$(dirname "$0")/lib.sh"

veth_ns live v6

# Slack receiver: the first post gets 429 Retry-After 1, then 200.
python3 tests/tools/slack_receiver.py --port 0 --port-file "$TMP/slack.port" \
  --out "$TMP/posts.jsonl" --script "429:1" &
rpid=$!
cleanup_fns+=("kill $rpid 2>/dev/null")
for _ in $(seq 50); do [ -s "$TMP/slack.port" ] && break; sleep 0.1; done
[ -s "$TMP/slack.port" ] || fail "slack receiver did not start"
export WEIR_SLACK_WEBHOOK="http://127.0.0.1:$(cat "$TMP/slack.port")/services/T000/B000/secret-token"

cp rules/default.yaml "$TMP/rules.yaml"
pmd=${LIVE_PMD:-af_packet}
if [ "$pmd" = af_xdp ]; then
  # AF_XDP hands weir the raw frames: IP fragments arrive as fragments.
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
  device="net_af_xdp0,iface=$va,start_queue=0,queue_count=1"
  mbufs="mbufs: 4095"   # AF_XDP's umem wants a buffer to fit in one page
else
  # The af_packet PMD's socket asks the kernel to defragment (fanout flag), so
  # frames hold whole datagrams: make them and the buffers big enough.
  device="net_af_packet0,iface=$va,framesz=16384,blocksz=16384,framecnt=256"
  mbufs=$'mbuf_size: 16384\nmbufs: 4095'
fi
cat > "$TMP/live.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
ports:
  - name: veth
    device: "$device"
    ipv4: 192.0.2.10/24
    ipv6: 2001:db8::10/64
$mbufs
syslog: {ports: [514]}
rules: {file: rules.yaml}
outputs:
  windows: {jsonl: windows.jsonl}
  alerts: {jsonl: alerts.jsonl}
  late: {jsonl: late.jsonl}
run: {stats_interval: 0s}
EOF2
weir_start "$TMP/live.yaml"

note "ARP + ICMP echo, ND + ICMPv6 echo"
ip netns exec "$ns" ping -c 2 -W 2 192.0.2.10 || fail "ping 192.0.2.10 got no answer"
ip netns exec "$ns" ping -6 -c 2 -W 2 2001:db8::10 || fail "ping 2001:db8::10 got no answer"
ip netns exec "$ns" ip neigh show 192.0.2.10 | grep -q lladdr || fail "no ARP entry learnt"

note "syslog over UDP from logger: real Hadoop ERROR lines"
awk '/ERROR/ && n++ < 7' configs/traffic/loghub/Hadoop_2k.log > "$TMP/errors.txt"
host=$(hostname)
ip netns exec "$ns" logger --udp -n 192.0.2.10 -P 514 --rfc5424 -t hadoop -f "$TMP/errors.txt"
# IPv6 sender, and one message of about 4 KB: sent as IP fragments (weir's own
# reassembly is covered by the net_pcap replay; here the kernel joins them).
big="$(head -c 3900 < /dev/zero | tr '\0' 'x')"
ip netns exec "$ns" logger --udp -n 2001:db8::10 -P 514 --rfc5424 -t hadoop "v6 ERROR from the namespace"
ip netns exec "$ns" logger --udp -n 192.0.2.10 -P 514 --rfc5424 --size 8192 -t hadoop "big ERROR $big"
sent=9

note "waiting for the alert at the Slack receiver"
for _ in $(seq 100); do
  [ "$(grep -c '"status": 200' "$TMP/posts.jsonl" 2>/dev/null || true)" -ge 1 ] && break
  sleep 0.1
done
kill -TERM "$wpid"; wait "$wpid" || fail "weir exited non-zero"
cat "$TMP/weir.err" | tail -n 5

grep -q '"status": 429' "$TMP/posts.jsonl" || fail "receiver never answered 429"
grep '"status": 200' "$TMP/posts.jsonl" | grep -q "$host" || fail "no delivered alert names host $host"
grep -qF "secret-token" "$TMP/weir.err" && fail "the webhook URL appeared in weir's log"
alerts=$(grep -c '"type":"alert"' "$TMP/alerts.jsonl" || true)
[ "$alerts" -eq 1 ] || fail "expected exactly 1 alert, got $alerts"
grep '"type":"alert"' "$TMP/alerts.jsonl" | grep -q "\"key\":\"$host\"" || fail "alert key is not $host"
total=$(grep '"rule":"error"' "$TMP/windows.jsonl" | sed -E 's/.*"count":([0-9]+).*/\1/' | paste -sd+ | bc)
[ "$total" -eq "$sent" ] || fail "error windows count $total matches, sent $sent"
[ "$(counter rx_bad_ip "$TMP/weir.err")" -eq 0 ] || fail "a packet was counted as bad IP"
if [ "$pmd" = af_xdp ]; then
  [ "$(counter frag_reassembled "$TMP/weir.err")" -ge 1 ] || fail "no datagram reassembled by weir"
fi
[ "$(counter arp_replies "$TMP/weir.err")" -ge 1 ] || fail "no ARP reply counted"
[ "$(counter nd_replies "$TMP/weir.err")" -ge 1 ] || fail "no ND reply counted"
[ "$(counter icmp_echo_replies "$TMP/weir.err")" -ge 4 ] || fail "fewer than 4 echo replies"
echo "live ($pmd): alert delivered after 429, $total matches counted, ARP/ND/echo answered"
