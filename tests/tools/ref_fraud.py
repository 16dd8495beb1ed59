#!/usr/bin/python3
"""ref_fraud.py - expected fraud decisions for a transaction stream (from the spec, not weir's code).

Usage (Debian's python3-xgboost, so /usr/bin/python3):
  tests/tools/ref_fraud.py --txns TXNS.jsonl [--store STORE.json]
      [--model configs/models/fraud_model.json] [--features configs/models/fraud_features.txt]
      [--review 0.5] [--block 0.9] [--reasons 3] [--no-store TXN_IDS_FILE | --no-store-all]
      [--disorder-ms 0] [--alpha 0.1] [--header]

Input:
  --txns   one transaction per line, exactly as sent and in send order (blank lines are
           skipped, as fraud_client.py skips them), e.g.
           {"txn_id":"t1","user_id":"u42","amount":129.5,"currency":"EUR","merchant":"m-17",
            "country":"DE","ts":"2026-11-23T21:00:00.123Z"}     (ts also epoch millis)
  --store  {"u42":{"account_age_days":300,"chargebacks_90d":0},...}; an absent user or
           field, or null, is missing (NaN), as a Redis miss is.
  --no-store FILE  txn ids (one per line) scored as if the store were down (both store
           features NaN); --no-store-all: every transaction.
  --store-from TXN_ID STORE.json  (repeatable) from that transaction on, in stream order,
           the users in STORE.json have its values (an operator changed them).
Output, TSV, one line per non-blank input line, in input order:
  txn_id  decision  score(%.6f)  reasons(comma-joined, "" when none)  12 features (%.9g, nan)
  An invalid line gives  txn_id|-  ERROR  -  -  and "-" for every feature (reason on stderr).
Exit status: 0, 1 when the model or an input file is unusable, 2 for bad arguments.

Invalid (ERROR, no state change): not a JSON object; txn_id or user_id missing or not a
string; user_id empty or longer than 64 bytes (st_features refuses it); amount missing,
not a number, not finite, < 0 or > 1e9; ts missing, not epoch millis >= 0 nor ISO 8601
("YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)"), or beyond 2^62 us. currency is not used;
a missing country or merchant counts as the empty string (an assumption: weir hashes
whatever string it gets).

Features, from state/st_features.h (history = the user's earlier recorded transactions,
"now" = this transaction's ts, everything in microseconds, amount_micros = round(amount*1e6)):
  txn_count_1h / amount_sum_1h    recorded transactions whose pane index pane(ts) =
  txn_count_24h / amount_sum_24h  floor(ts / P) lies in [pane(now) - N, pane(now)];
                                  1 h: P = 1 min, N = 60; 24 h: P = 1 h, N = 24. So a
                                  transaction recorded earlier with a later ts in now's
                                  pane counts, one in a later pane does not. Sums are
                                  reported in currency units: micros / 1e6.
  secs_since_last_txn   max(0, now - max_ts) / 1e6, max_ts = newest recorded ts
  amount_to_avg_ratio   amount_micros / avg; avg = EWMA in arrival order (first amount,
                        then avg += alpha * (amount - avg)); IEEE: +inf for avg 0 and
                        amount > 0, NaN for both 0
  new_country / new_merchant   1.0 unless the value is among the 8 most recently seen
                        distinct values (move-to-front on a hit, insert at the front on a
                        miss, forgetting the 9th)
  first transaction of a user: counts and sums 0, secs and ratio NaN, flags 1.0.
  late (ts < max_ts - (24 h + disorder)): the 8 stream features NaN, nothing recorded.
  amount (currency units), hour_of_day = UTC hour of ts, then the two store features.
A query older than max_ts - disorder is one st_features may answer low (its 1 h panes are
not kept that far back); such transactions are named on stderr: keep them out of tests.
Not modelled: the feature table filling up (evictions), hash collisions.

Scoring: XGBoost's own predictor on float32 rows (as XGBoost casts), missing = NaN.
decision: score >= block BLOCK, >= review REVIEW, else ALLOW (float32 compares; NaN REVIEW).
reasons: approx (Saabas) contributions, bias column excluded, positive ones only, largest
first, ties by lower feature index, at most --reasons.
"""
import argparse
import calendar
import json
import math
import re
import sys

import numpy as np
import xgboost as xgb

PANE_1H_US, PANES_1H = 60 * 1000000, 60
PANE_24H_US, PANES_24H = 3600 * 1000000, 24
TS_MAX_US = 1 << 62
USER_MAX_BYTES = 64
SET_SIZE = 8
AMOUNT_MAX = 1e9
STREAM = ["txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h",
          "secs_since_last_txn", "amount_to_avg_ratio", "new_country", "new_merchant"]
ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                    r"(Z|[+-]\d{2}:\d{2})$")
NAN = float("nan")


class BadTxn(Exception):
    pass


def parse_ts_us(v):
    """Event time in microseconds from epoch millis (number) or an ISO 8601 string."""
    if isinstance(v, bool):
        raise BadTxn("ts is a boolean")
    if isinstance(v, int):
        us = v * 1000
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise BadTxn("ts is not finite")
        us = math.floor(v * 1000.0 + 0.5)    # llround for the non-negative ones we accept
    elif isinstance(v, str):
        m = ISO_RE.match(v)
        if not m:
            raise BadTxn("ts %r is not ISO 8601 (YYYY-MM-DDTHH:MM:SS[.frac]Z)" % v)
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h <= 23
                and mi <= 59 and s <= 59):
            raise BadTxn("ts %r is not a valid time" % v)
        frac = (m.group(7) or "").ljust(6, "0")[:6]   # beyond micros is truncated
        us = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000000 + int(frac)
        tz = m.group(8)
        if tz != "Z":
            off = (int(tz[1:3]) * 60 + int(tz[4:6])) * 60 * 1000000
            us -= off if tz[0] == "+" else -off
    else:
        raise BadTxn("ts is neither a number nor a string")
    if not 0 <= us <= TS_MAX_US:
        raise BadTxn("ts %r outside 0 .. 2^62 us" % (v,))
    return us


def parse_txn(line):
    """(txn_id or None, dict) or raises BadTxn with the txn_id found so far in .args[1]."""
    try:
        o = json.loads(line)
    except ValueError as e:
        raise BadTxn("invalid JSON: %s" % e, None)
    if not isinstance(o, dict):
        raise BadTxn("not a JSON object", None)
    tid = o.get("txn_id")
    tid = tid if isinstance(tid, str) else None
    try:
        if tid is None:
            raise BadTxn("txn_id missing or not a string")
        uid = o.get("user_id")
        if not isinstance(uid, str):
            raise BadTxn("user_id missing or not a string")
        if not 1 <= len(uid.encode("utf-8")) <= USER_MAX_BYTES:
            raise BadTxn("user_id must be 1..%d bytes" % USER_MAX_BYTES)
        amt = o.get("amount")
        if isinstance(amt, bool) or not isinstance(amt, (int, float)):
            raise BadTxn("amount missing or not a number")
        amt = float(amt)
        if not math.isfinite(amt) or amt < 0 or amt > AMOUNT_MAX:
            raise BadTxn("amount %r not in 0 .. 1e9" % amt)
        if "ts" not in o:
            raise BadTxn("ts missing")
        ts = parse_ts_us(o["ts"])
    except BadTxn as e:
        raise BadTxn(e.args[0], tid)
    country = o.get("country")
    merchant = o.get("merchant")
    return dict(txn_id=tid, user=uid, amount=amt, micros=int(round(amt * 1e6)), ts=ts,
                country=country if isinstance(country, str) else "",
                merchant=merchant if isinstance(merchant, str) else "")


class User:
    def __init__(self):
        self.txns = []          # (ts_us, amount_micros) of the recorded transactions
        self.kept = 64          # prune when txns reaches twice this
        self.max_ts = None
        self.avg = None
        self.countries = []     # most recently seen first
        self.merchants = []


def window(txns, now, pane_us, n_panes):
    """Count and micros sum of recorded txns with pane in [pane(now) - N, pane(now)]."""
    hi = now // pane_us
    lo = hi - n_panes
    cnt, total = 0, 0
    for ts, micros in txns:
        if lo <= ts // pane_us <= hi:
            cnt += 1
            total += micros
    return cnt, total


def seen(lru, value):
    """Whether @value is in the set; then move it to the front / insert it."""
    hit = value in lru
    if hit:
        lru.remove(value)
    lru.insert(0, value)
    del lru[SET_SIZE:]
    return hit


def ieee_div(a, b):
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return NAN
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def stream_features(users, t, disorder_us, alpha):
    """The 8 stream features of @t's history; records @t unless it is late."""
    u = users.get(t["user"])
    now = t["ts"]
    if u is None:
        u = users[t["user"]] = User()
        f = [0.0, 0.0, 0.0, 0.0, NAN, NAN, 1.0, 1.0]
    else:
        if now < u.max_ts - (PANE_24H_US * PANES_24H + disorder_us):
            return [NAN] * len(STREAM)
        if now < u.max_ts - disorder_us:
            print("ref_fraud: %s: ts %d us is more than the disorder bound behind the user's "
                  "newest; weir may report low 1 h figures" % (t["txn_id"], now), file=sys.stderr)
        c1, s1 = window(u.txns, now, PANE_1H_US, PANES_1H)
        c24, s24 = window(u.txns, now, PANE_24H_US, PANES_24H)
        f = [float(c1), s1 / 1e6, float(c24), s24 / 1e6,
             max(0, now - u.max_ts) / 1e6, ieee_div(float(t["micros"]), u.avg),
             0.0 if t["country"] in u.countries else 1.0,
             0.0 if t["merchant"] in u.merchants else 1.0]
    u.txns.append((now, t["micros"]))
    u.max_ts = now if u.max_ts is None else max(u.max_ts, now)
    if len(u.txns) >= 2 * u.kept:
        # A non-late query (now >= max_ts - 24 h - disorder) looks back at most 25 panes
        # of 1 h: anything older than 50 h + disorder behind max_ts can never count again.
        horizon = u.max_ts - 2 * (PANE_24H_US * (PANES_24H + 1)) - disorder_us
        u.txns = [x for x in u.txns if x[0] >= horizon]
        u.kept = max(64, len(u.txns))
    m = float(t["micros"])
    u.avg = m if u.avg is None else u.avg + alpha * (m - u.avg)
    seen(u.countries, t["country"])
    seen(u.merchants, t["merchant"])
    return f


def store_value(store, user, field):
    v = store.get(user, {}).get(field) if isinstance(store.get(user), dict) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return NAN
    return float(v)


def fmt(v):
    return "%.9g" % v if not math.isnan(v) else "nan"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--txns", required=True)
    ap.add_argument("--store")
    ap.add_argument("--model", default="configs/models/fraud_model.json")
    ap.add_argument("--features", default="configs/models/fraud_features.txt")
    ap.add_argument("--review", type=float, default=0.5)
    ap.add_argument("--block", type=float, default=0.9)
    ap.add_argument("--reasons", type=int, default=3)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--no-store", metavar="TXN_IDS_FILE")
    g.add_argument("--no-store-all", action="store_true")
    ap.add_argument("--store-from", nargs=2, action="append", default=[],
                    metavar=("TXN_ID", "STORE"))
    ap.add_argument("--disorder-ms", type=int, default=0,
                    help="weir's features disorder bound (state params), default 0")
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--header", action="store_true", help="print a '#' header line first")
    a = ap.parse_args()
    if not (math.isfinite(a.review) and math.isfinite(a.block) and 0 <= a.review < a.block <= 1):
        ap.error("thresholds need 0 <= review < block <= 1 (review %g, block %g)"
                 % (a.review, a.block))
    if a.reasons < 0:
        ap.error("--reasons %d is negative" % a.reasons)
    if not 0 < a.alpha <= 1:
        ap.error("--alpha %g not in (0, 1]" % a.alpha)
    if not 0 <= a.disorder_ms <= 3600 * 1000:
        ap.error("--disorder-ms %d not in 0 .. 3600000" % a.disorder_ms)

    try:
        with open(a.features) as f:
            names = [n.strip() for n in f if n.strip()]
        store = {}
        if a.store:
            with open(a.store) as f:
                store = json.load(f)
            if not isinstance(store, dict):
                raise ValueError("%s: not a JSON object of users" % a.store)
        changes = {}
        for tid, path in a.store_from:
            with open(path) as f:
                changes[tid] = json.load(f)
            if not isinstance(changes[tid], dict):
                raise ValueError("%s: not a JSON object of users" % path)
        no_store = set()
        if a.no_store:
            with open(a.no_store) as f:
                no_store = {x.strip() for x in f if x.strip()}
        with open(a.txns, encoding="utf-8", errors="surrogateescape") as f:
            lines = [x.rstrip("\r\n") for x in f]
        bst = xgb.Booster(model_file=a.model)
    except (OSError, ValueError, xgb.core.XGBoostError) as e:
        print("ref_fraud: %s" % e, file=sys.stderr)
        return 1
    if names[:len(STREAM)] != STREAM or names[len(STREAM):] != [
            "amount", "hour_of_day", "account_age_days", "chargebacks_90d"]:
        print("ref_fraud: %s: unexpected feature list %s" % (a.features, names), file=sys.stderr)
        return 1
    if bst.feature_names and list(bst.feature_names) != names:
        print("ref_fraud: model features %s differ from %s" % (bst.feature_names, a.features),
              file=sys.stderr)
        return 1

    users = {}
    out = []        # (txn_id, row or None)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            t = parse_txn(line)
        except BadTxn as e:
            print("ref_fraud: line %d: %s" % (n, e.args[0]), file=sys.stderr)
            out.append((e.args[1] if len(e.args) > 1 and e.args[1] is not None else "-", None))
            continue
        if t["txn_id"] in changes:
            store.update(changes.pop(t["txn_id"]))
        f = stream_features(users, t, a.disorder_ms * 1000, a.alpha)
        f.append(t["amount"])
        f.append(float((t["ts"] // 3600000000) % 24))
        down = a.no_store_all or t["txn_id"] in no_store
        for field in ("account_age_days", "chargebacks_90d"):
            f.append(NAN if down else store_value(store, t["user"], field))
        out.append((t["txn_id"], f))

    rows = [r for _, r in out if r is not None]
    if rows:
        # XGBoost casts to float32; do it here so printed values are the scored ones.
        X = np.array(rows, dtype=np.float64).astype(np.float32)
        d = xgb.DMatrix(X, missing=np.nan, feature_names=names)
        prob = bst.predict(d)
        contrib = bst.predict(d, pred_contribs=True, approx_contribs=True)
    review, block = np.float32(a.review), np.float32(a.block)
    if a.header:
        print("#" + "\t".join(["txn_id", "decision", "score", "reasons"] + names))
    k = 0
    for tid, r in out:
        if r is None:
            print("\t".join([tid, "ERROR", "-", "-"] + ["-"] * len(names)))
            continue
        s = np.float32(prob[k])
        c = contrib[k][:len(names)]          # the last column is the bias
        pos = sorted((i for i in range(len(names)) if c[i] > 0), key=lambda i: (-c[i], i))
        dec = ("REVIEW" if np.isnan(s) else "BLOCK" if s >= block
               else "REVIEW" if s >= review else "ALLOW")
        row = X[k]
        print("\t".join([tid, dec, "%.6f" % s, ",".join(names[i] for i in pos[:a.reasons])]
                        + [fmt(float(v)) for v in row]))
        k += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
