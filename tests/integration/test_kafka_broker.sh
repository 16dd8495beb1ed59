#!/usr/bin/env bash
# The Kafka test service works end to end: a real single-node KRaft broker
# starts from the cached jars, takes a 3-partition topic, and gives back
# exactly the 1000 keyed records kcat produced, spread over all 3 partitions.
# Needs no weir build; the first run resolves the broker jars from Maven Central.
source "$(dirname "$0")/lib.sh"

KAFKA=tests/services/kafka.sh
command -v kcat >/dev/null || "$KAFKA" ensure-tools
kdir="$TMP/kafka"
cleanup_fns+=("$KAFKA stop '$kdir'")   # also when start fails half-way

t0=$SECONDS
"$KAFKA" fetch
note "jars ready ($((SECONDS - t0)) s)"
t0=$SECONDS
addr=$("$KAFKA" start "$kdir") || fail "broker did not start"
note "broker at $addr ($((SECONDS - t0)) s)"
[ "$(cat "$kdir/bootstrap")" = "$addr" ] || fail "bootstrap file '$(cat "$kdir/bootstrap")' != '$addr'"

"$KAFKA" topic "$kdir" weir-smoke 3
meta=$(kcat -L -b "$addr" -t weir-smoke -J)
parts=$(jq '.topics[0].partitions | length' <<<"$meta")
[ "$parts" = 3 ] || fail "weir-smoke has $parts partitions, want 3: $meta"

# auto.create.topics.enable=false: a misspelt topic must not spring into being.
kcat -P -b "$addr" -t weir-typo -X message.timeout.ms=1000 <<<"x" 2>"$TMP/typo.err" || true
kcat -L -b "$addr" -t weir-typo -J | jq -e '(.topics[0].partitions | length) == 0' >/dev/null \
  || fail "producing to an unknown topic created it"

seq 1 1000 | awk '{ printf "k%d:v%d\n", $1, $1 }' > "$TMP/sent.txt"
# acks=all and kcat's exit status: a record the broker did not confirm fails here.
kcat -P -b "$addr" -t weir-smoke -K: -X acks=all -X linger.ms=5 < "$TMP/sent.txt" \
  || fail "kcat could not produce"

# -e: exit at the end of every partition; -f: one "partition key:value" line per record.
kcat -C -b "$addr" -t weir-smoke -o beginning -e -q -f '%p %k:%s\n' > "$TMP/got.txt" \
  || fail "kcat could not consume"
n=$(wc -l < "$TMP/got.txt")
[ "$n" -eq 1000 ] || fail "consumed $n records, want exactly 1000"
cut -d' ' -f2 "$TMP/got.txt" | sort > "$TMP/got_sorted.txt"
sort "$TMP/sent.txt" | diff -q - "$TMP/got_sorted.txt" >/dev/null \
  || fail "consumed records differ from the produced ones (see $TMP/got.txt)"
used=$(cut -d' ' -f1 "$TMP/got.txt" | sort -u | tr '\n' ' ')
[ "$used" = "0 1 2 " ] || fail "records landed in partitions '$used', want all of 0 1 2"
# The key decides the partition: no key may appear in two partitions.
dup=$(awk '{ split($2, kv, ":"); print kv[1], $1 }' "$TMP/got.txt" | sort -u | cut -d' ' -f1 | uniq -d | head -n 1)
[ -z "$dup" ] || fail "key $dup was written to more than one partition"

"$KAFKA" stop "$kdir"
[ ! -f "$kdir/pid" ] || fail "stop left $kdir/pid"
echo "kafka broker: 1000 records over 3 partitions produced and consumed back"
