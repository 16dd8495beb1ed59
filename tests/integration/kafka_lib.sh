# Kafka helpers for integration scripts (sourced after lib.sh): a real
# single-node KRaft broker from tests/services/kafka.sh, stopped on exit.
KAFKA_DIR="$TMP/kafka"
kafka_start() {
  tests/services/kafka.sh start "$KAFKA_DIR" >/dev/null || fail "the Kafka broker did not start"
  cleanup_fns+=("tests/services/kafka.sh stop $KAFKA_DIR")
  BROKER=$(cat "$KAFKA_DIR/bootstrap")
  note "Kafka broker at $BROKER"
}
kafka_topic() { tests/services/kafka.sh topic "$KAFKA_DIR" "$@" >/dev/null; }
# kafka_dump TOPIC: every record value, one per line (the topic's end, then exit).
kafka_dump() { kcat -C -b "$BROKER" -t "$1" -o beginning -e -q -f '%s\n'; }

# kafka_gen SEED [gen options...]: loghub-derived syslog lines in $TMP/lines.txt with
# their truth in $TMP/truth.tsv (no late lines: partitions interleave freely).
kafka_gen() {
  local seed=$1; shift
  python3 tests/tools/gen_syslog_traffic.py --out "$TMP/t.pcap" --truth "$TMP/truth.tsv" \
    --lines-out "$TMP/lines.txt" --late 0 --seed "$seed" "$@" 2>"$TMP/gen.txt"
  cat "$TMP/gen.txt"
  [ "$(wc -l < "$TMP/lines.txt")" -eq "$(wc -l < "$TMP/truth.tsv")" ] || fail "lines and truth differ"
}

# kafka_keyed [FROM TO]: "host<TAB>line" records of $TMP/lines.txt (lines FROM..TO).
kafka_keyed() {
  paste <(cut -f3 "$TMP/truth.tsv") "$TMP/lines.txt" | sed -n "${1:-1},${2:-\$}p"
}

# kafka_produce TOPIC: produce "key<TAB>value" lines from stdin.
kafka_produce() { kcat -P -b "$BROKER" -t "$1" -K $'\t' -z lz4; }

# kafka_produce_by_user TOPIC FILE: the JSON lines of FILE, in order, keyed by
# their "user_id" (a line that is not JSON or has none: key "bad"), so each
# user's records share a partition and keep their order.
kafka_produce_by_user() {
  python3 - "$2" <<'PY' | kafka_produce "$1"
import json, sys
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    try:
        key = str(json.loads(line).get("user_id") or "bad")
    except Exception:
        key = "bad"
    print(key + "\t" + line)
PY
}

# weir_kafka_config FILE GROUP [YAML...]: a Kafka-only weir config reading topic
# "logs", windows to topic weir-windows and windows.jsonl; extra YAML appended;
# $KAFKA_EXTRA (e.g. "queue: 16") goes into the kafka section.
weir_kafka_config() {
  local f=$1 group=$2; shift 2
  cat > "$f" <<EOF2
eal: {args: ["-l", "0-1", "--in-memory", "--log-level=lib.eal:warning"]}
kafka:
  brokers: "$BROKER"
  group_id: $group
  topics: [{name: logs, format: syslog}]
  ${KAFKA_EXTRA:-}
rules: {file: rules.yaml}
outputs:
  windows: {kafka: weir-windows, jsonl: windows.jsonl}
EOF2
  printf '%s\n' "$@" >> "$f"
  [ -f "$(dirname "$f")/rules.yaml" ] || cp rules/default.yaml "$(dirname "$f")/rules.yaml"
}

# wait_stat FILE NAME MIN SECONDS: wait until weir's stats line in FILE shows NAME >= MIN.
wait_stat() {
  local f=$1 name=$2 min=$3 secs=$4 v
  for ((i = 0; i < secs * 5; i++)); do
    v=$(grep -a -o "$name [0-9]*" "$f" 2>/dev/null | tail -n 1 | awk '{ print $NF }' || true)
    [ -n "$v" ] && [ "$v" -ge "$min" ] && return 0
    sleep 0.2
  done
  fail "weir's '$name' stayed below $min for $secs s (last: ${v:-none})"
}
