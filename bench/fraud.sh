#!/usr/bin/env bash
# Fraud path benchmark: transactions through the whole path (UDP in over a
# veth pair, parse, in-stream features, pipelined Redis enrichment, model,
# UDP answer) at fixed offered rates, measured by bench/fraud_load from a
# network namespace: round-trip p50/p99/p999 per rate and the highest rate
# whose p99 stays under 1 ms; plus weir's own receive-to-answer histogram.
# Then the CPU the fraud thread and Redis spend per transaction at a fixed
# rate (CPU_RATE, default 50000/s, CPU_COUNT transactions), and the
# evaluator against XGBoost's C API (bench/bench_model).
# Usage: bench/fraud.sh [BUILD] [RATES] [COUNT_PER_RATE]
# FRAUD_REDIS=unix: weir reaches Redis on its unix socket instead of TCP
# loopback (a feature-store replica on the same box).
# Scheduling: the layout the design is for gives the worker, the fraud
# thread and Redis a core each. Here CPU 0 is shared by the fraud thread,
# redis-server, the sender and the kernel's veth work, so by default the
# fraud thread runs with fraud.realtime_priority: 10 and redis-server is
# made SCHED_FIFO (chrt) too, standing in for their own cores: a thread that
# is woken then runs at once instead of after the others' CFS slices.
# FRAUD_RT=0: everything at normal scheduling.
# FRAUD_SENDER=memif: the sender runs outside the namespace on a DPDK memif
# port connected to weir's (net_memif, server role) instead of UDP over the
# veth pair, so neither side's frames go through the kernel's network stack,
# which at 100 k/s takes a CPU of its own on this box. It spins between
# sends at normal priority on CPU 0, below the real-time threads.
# REDIS_CPU=N pins redis-server to CPU N (taskset), e.g. 1: next to the
# worker, which it then preempts, instead of next to the fraud thread.
# FRAUD_WRITE_BACK=false: no feature write-backs (fraud.redis.write_back).
# FRAUD_CPU=N runs the fraud thread on CPU N (fraud.cpu; default: the main
# lcore's, CPU 0).
# FRAUD_CACHE=N keeps N users' store features in the client-side cache
# (fraud.redis.cache; default 0 = off): with the sender's 1000 users all
# held, a batch needs no Redis round trip, only the write-backs go to Redis.
# REDIS_PRIO=N: redis-server's SCHED_FIFO priority (default the fraud thread's),
# e.g. 5 to let the fraud thread preempt it when both share a CPU.
# FRAUD_USERS=N: the sender's users (default 1000), all in the store; more
# users than the cache holds make it miss (a fifth of them send half).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rates=${2:-5000,10000,20000,50000,100000}
count=${3:-20000}
tmp=$(mktemp -d /tmp/weir-fbench.XXXXXX)
ns="weir-fb-$$"; va="fb$$a"; vb="fb$$b"
cleanup() {
  [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null
  tests/services/redis.sh stop "$tmp/redis" >/dev/null 2>&1 || true
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$va" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mode=$(scripts/hugepages.sh 512)
mem=()
[ "$mode" = huge ] || mem=(--no-huge -m 1024)

ip netns add "$ns"
ip link add "$va" type veth peer name "$vb"
ip link set "$vb" netns "$ns"
ip link set "$va" up
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip addr add 192.0.2.1/24 dev "$vb"
ip netns exec "$ns" ip link set "$vb" up
ip netns exec "$ns" ethtool -K "$vb" tx off >/dev/null 2>&1 || true

port=$(tests/services/redis.sh start "$tmp/redis")
# Every user fraud_load sends for (u0 .. u<FRAUD_USERS - 1>, default 1000) has a store entry.
users=${FRAUD_USERS:-1000}
awk -v n="$users" 'BEGIN { for (i = 0; i < n; i++)
  printf "HSET user:u%d account_age_days %d chargebacks_90d %d\n", i, 30 + i % 2000, i % 7 == 0 }' \
  | redis-cli -p "$port" > /dev/null

rt_prio=10
[ "${FRAUD_RT:-1}" = 0 ] && rt_prio=0
[ "$rt_prio" -gt 0 ] && chrt -f -p "${REDIS_PRIO:-$rt_prio}" "$(cat "$tmp/redis/redis.pid")"
[ -n "${REDIS_CPU:-}" ] && taskset -a -p -c "$REDIS_CPU" "$(cat "$tmp/redis/redis.pid")" > /dev/null
echo "scheduling: fraud thread and redis-server $([ "$rt_prio" -gt 0 ] && echo "SCHED_FIFO $rt_prio" || echo normal)"
redis_at="host: 127.0.0.1, port: $port"
[ "${FRAUD_REDIS:-tcp}" = unix ] && redis_at="unix: $tmp/redis/redis.sock"
echo "Redis: ${redis_at}"
sender=${FRAUD_SENDER:-veth}
weir_mac=02:00:00:00:00:0a
device="net_af_packet0,iface=$va,framesz=2048,blocksz=4096,framecnt=4096"
[ "$sender" = memif ] && device="net_memif0,role=server,socket=$tmp/memif.sock,mac=$weir_mac"
echo "sender: $sender"
# load ARGS...: bench/fraud_load towards weir's fraud port, by the chosen way.
load() {
  if [ "$sender" = memif ]; then
    "$build/bench/fraud_load" --memif "$tmp/memif.sock" --dst-mac "$weir_mac" \
      --dst 192.0.2.10 --port 7000 --users "$users" "$@"
  else
    ip netns exec "$ns" "$build/bench/fraud_load" --dst 192.0.2.10 --port 7000 --users "$users" "$@"
  fi
}
cat > "$tmp/f.yaml" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:error"]}
ports:
  - name: bench
    device: "$device"
    ipv4: 192.0.2.10/24
mbufs: 16383
syslog: {ports: [514]}
rules: {file: $PWD/rules/default.yaml}
fraud:
  ports: [7000]
  model: $PWD/configs/models/fraud_model.json
  features: "$(tr '\n' ' ' < configs/models/fraud_features.txt)"   # the demo model's vector
  users: $(( users > 16384 ? 4 * users : 65536 ))   # in-stream feature table, as before for 1000
  redis: {$redis_at, deadline: 2ms, write_back: ${FRAUD_WRITE_BACK:-true}, cache: ${FRAUD_CACHE:-0}}
  realtime_priority: $rt_prio
  cpu: ${FRAUD_CPU:-main}
run: {stats_interval: 0s}
log: {level: warn}
EOF2
"$build/weir" -c "$tmp/f.yaml" -- "${mem[@]}" > "$tmp/weir.out" 2> "$tmp/weir.err" &
wpid=$!
sleep 3
if [ "$sender" != memif ]; then
  ip netns exec "$ns" ping -c 1 -W 2 192.0.2.10 > /dev/null || { cat "$tmp/weir.err"; exit 1; }
fi

echo "== full path: UDP in, features, Redis (2 ms deadline), model, UDP answer (1 worker core)"
# SWEEPS=N repeats the sweep N times against the same weir: at 100 k/s a
# rate's 20 000 transactions are 0.2 s, and one pause of the VM moves its
# p99, so the spread over repeats is part of the figure.
sweeps=${SWEEPS:-1}
for s in $(seq 1 "$sweeps"); do
  [ "$sweeps" -gt 1 ] && echo "sweep $s of $sweeps"
  load --sweep "$rates" --count "$count" --warmup 2000
done | tee "$tmp/load.txt"
if [ "$sweeps" -gt 1 ]; then
  # per rate: weir's inside p99 and the RTT p99 over the sweeps, sorted
  awk '/^rate [0-9]+\/s/ { r = $2; sub(/\/s$/, "", r)
         for (i = 1; i <= NF; i++) { if ($i == "rtt_us") rt[r] = rt[r] " " $(i + 4)
                                      if ($i == "latency_us") wl[r] = wl[r] " " $(i + 4) } }
       END { for (r in wl) print r, wl[r], "|", rt[r] }' "$tmp/load.txt" | sort -n |
  while read -r r rest; do
    w=$(echo "${rest%%|*}" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
    t=$(echo "${rest#*|}" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
    echo "rate $r/s over $sweeps sweeps: weir latency_us p99 sorted: $w| rtt_us p99 sorted: $t"
  done
fi

# CPU cost per transaction, for sizing a box with a core each: CPU time the
# fraud thread and redis-server's main thread ran during a run at a fixed
# rate, over the transactions of that run. The time is the scheduler's own
# se.sum_exec_runtime (ns resolution) rather than utime + stime from
# /proc/PID/stat, which counts 10 ms ticks. The worker is not counted: it
# polls, so its CPU is 100 % whatever the rate.
cpu_us() { awk '/^se.sum_exec_runtime/ { printf "%.0f\n", $3 * 1000 }' "$1" 2>/dev/null || echo 0; }   # ms -> us
ftid=$(for t in /proc/$wpid/task/*; do [ "$(cat "$t/comm")" = weir-fraud ] && basename "$t"; done)
rpid=$(cat "$tmp/redis/redis.pid")
cpu_rate=${CPU_RATE:-50000}; cpu_n=${CPU_COUNT:-100000}
f0=$(cpu_us "/proc/$wpid/task/$ftid/sched"); r0=$(cpu_us "/proc/$rpid/task/$rpid/sched")
load --rate "$cpu_rate" --count "$cpu_n" > "$tmp/cpu.txt"
f1=$(cpu_us "/proc/$wpid/task/$ftid/sched"); r1=$(cpu_us "/proc/$rpid/task/$rpid/sched")
awk -v f=$((f1 - f0)) -v r=$((r1 - r0)) -v n="$cpu_n" -v rate="$cpu_rate" 'BEGIN {
  fu = f / n; ru = r / n
  printf "CPU per transaction at %d/s (%d transactions): fraud thread %.1f us, redis-server %.1f us", rate, n, fu, ru
  if (fu > 0) printf " -> one core for the fraud thread alone: ~%.0f k txn/s", 1e3 / fu
  printf "\n" }'
kill -INT "$wpid"; wait "$wpid" || true
wpid=
grep -a "receive to answer" "$tmp/weir.err" | sed 's/^weir: /weir (inside, all rates): /'
grep -a "counter fraud_degraded\|counter redis_lookup_timeouts\|counter redis_cache_hits\|counter redis_cache_misses" "$tmp/weir.err" || true

echo "== evaluator: flat arrays vs XGBoost's C API, same rows"
"$build/bench/bench_model"
