#!/usr/bin/env bash
# weir --check-config accepts the shipped configs and rejects broken ones with
# the file, line and key (or rule id) named.
source "$(dirname "$0")/lib.sh"

for c in configs/*.yaml; do
  # The production template names /etc/weir/rules.yaml: check it against the shipped rules.
  if grep -q /etc/weir/rules.yaml "$c"; then
    sed "s|/etc/weir/rules.yaml|$PWD/rules/default.yaml|" "$c" > "$TMP/$(basename "$c")"
    c="$TMP/$(basename "$c")"
  fi
  note "valid: $c"
  "$WEIR" -c "$c" --check-config || fail "$c rejected"
done

expect_error() { # name, expected-substring, config-text
  local name=$1 want=$2
  printf '%s\n' "$3" > "$TMP/$name.yaml"
  if out=$("$WEIR" -c "$TMP/$name.yaml" --check-config 2>&1); then
    fail "$name: accepted: $out"
  fi
  grep -qF -- "$want" <<<"$out" || fail "$name: message '$out' lacks '$want'"
  note "rejected $name: $out"
}

cp rules/default.yaml "$TMP/rules.yaml"
base_ok="rules: {file: rules.yaml}"
expect_error unknown_key "unknown_key.yaml:2" "$base_ok
bogus: 1"
expect_error bad_duration "out_of_orderness" "$base_ok
event_time:
  out_of_orderness: five seconds"
expect_error bad_port "ports" "$base_ok
syslog:
  ports: [70000]"
cat > "$TMP/badrules.yaml" <<'R'
- id: fine
  pattern: 'ERROR'
  threshold: 5
- id: broken
  pattern: '(unclosed'
  threshold: 1
R
expect_error bad_pattern "broken" "rules: {file: badrules.yaml}"
grep -q "badrules.yaml:5" <<<"$("$WEIR" -c "$TMP/bad_pattern.yaml" --check-config 2>&1)" \
  || fail "bad pattern error does not name badrules.yaml:5"
cat > "$TMP/duprules.yaml" <<'R'
- id: twice
  pattern: 'a'
  threshold: 1
- id: twice
  pattern: 'b'
  threshold: 1
R
expect_error dup_rule "twice" "rules: {file: duprules.yaml}"
expect_error missing_rules "nope.yaml" "rules: {file: nope.yaml}"
echo "check-config: all cases behaved"
