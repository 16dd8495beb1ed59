#!/usr/bin/env python3
"""gen_clickstream.py - a JSON clickstream pcap with known sessions (ground truth).

Usage:
  tests/tools/gen_clickstream.py --out /tmp/c.pcap --truth /tmp/c.tsv \\
      [--events-out /tmp/c.jsonl] [--users 3000] [--bots 5] [--bad 10] [--seed 1] \\
      [--base EPOCH_S] [--disorder 0.05] [--dst-ip 192.0.2.10] [--port 5140] \\
      [--src-ip 198.51.100.] [--dst-mac 02:00:00:00:00:01]
  tests/tools/ref_sessions.py /tmp/c.tsv     # expected sessions from the truth

Traffic (deterministic for a fixed --seed and --base; --base defaults to now - 18 h,
floored to the minute):
  * Users "u<N>" with 1-4 visits starting in [base, base + 3 h]. Within a visit an event
    every 1 s - 3 min. Between visits: 25-29 min (same session), 31-40 min (new session)
    or 1.5-20 s either side of 30 min (near the boundary, never within 1 s of it).
  * Types: page_view (most), product_view, add_to_cart, checkout, purchase, in funnels;
    some purchases without product_view, repeats, and shuffled (out-of-order) steps.
    Funnels may span visits of one session. Per session and step k >= 1 at most one
    occurrence lies at or before t(k-1), and at most two exist while step k-1 is not
    reached (weir keeps 2 occurrence times per step; beyond that its result is a bound).
  * --bots users "bot<N>": one page_view every 5 min (+-10 s) for 14 h, so a 12 h
    max_len splits them (no event within 1 s of start + 12 h).
  * ts: RFC 3339 UTC with milliseconds for ~90 %, epoch millis (JSON integer) for ~10 %.
    {"user_id":"u123","ts":...,"type":"page_view","page":"/p/17","session_hint":null}
  * Arrival order = event time order, except --disorder of the events arrive up to 3 s
    of event time late (within ooo = 5 s: nothing is late with lateness 0).
  * --bad invalid events mixed in: broken JSON, missing/null user_id, bad or missing ts,
    not an object. Those with a parsable-looking time lie 1 day ahead, so counting one
    would move the watermark and make everything after it late.
  * One UDP datagram per event (IPv4), pcap timestamp = arrival key (event time + delay).

Outputs:
  --truth: one row per VALID event in arrival order: user_id<TAB>ts_ms<TAB>type;
      invalid events appear at their arrival position as "#invalid<TAB>kind<TAB>payload".
  --events-out: every payload (valid or not) in arrival order, one per line.
  stderr: a one-line summary.
"""
import argparse
import json
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # keep tests/tools free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen  # noqa: E402
from ref_sessions import funnel, sessionize  # noqa: E402

GAP, MAX_LEN = 1800000, 43200000  # ms; the defaults the traffic is shaped around
STEPS = ["product_view", "add_to_cart", "checkout", "purchase"]
PV, MIN = "page_view", 60000
# visit intent -> weight; see visit_types()
INTENTS = {"browse": 45, "look": 20, "cart": 12, "buy": 12, "direct": 5, "shuffled": 6}


def visit_types(rng, intent):
    """Event types of one visit."""
    pv = lambda lo, hi: [PV] * rng.randint(lo, hi)  # noqa: E731
    if intent == "browse":
        return pv(1, 10)
    if intent == "look":
        out = pv(1, 4)
        for _ in range(rng.randint(1, 3)):
            out += ["product_view"] + pv(0, 2)
        return out
    if intent == "cart":  # abandoned cart, sometimes after checkout
        return pv(1, 3) + ["product_view"] + pv(0, 2) + ["add_to_cart"] + \
            (["checkout"] if rng.random() < 0.4 else []) + pv(0, 2)
    if intent == "buy":  # full funnel, page views between, sometimes a repeated view/add
        out = pv(1, 3) + ["product_view"] + pv(0, 2)
        if rng.random() < 0.3:
            out += ["product_view"]
        out += ["add_to_cart"] + (["add_to_cart"] if rng.random() < 0.2 else [])
        return out + pv(0, 1) + ["checkout", "purchase"] + pv(0, 2)
    if intent == "direct":  # purchase without product_view
        return pv(1, 2) + (["add_to_cart"] if rng.random() < 0.5 else []) + ["checkout", "purchase"]
    out = STEPS[:]  # shuffled: steps out of order, maybe one repeated
    rng.shuffle(out)
    if rng.random() < 0.5:
        out.insert(rng.randint(0, len(out)), rng.choice(STEPS))
    return pv(1, 2) + out


def page_of(rng, ty):
    return {"page_view": lambda: rng.choice(["/", "/p/%d" % rng.randint(1, 400), "/search"]),
            "product_view": lambda: "/product/%d" % rng.randint(1, 2000),
            "add_to_cart": lambda: "/cart", "checkout": lambda: "/checkout",
            "purchase": lambda: "/checkout/done"}[ty]()


def shape_ok(evs):
    """evs sorted (ts, type): no time within 1 s of a gap or max_len boundary, and the
    funnel within weir's 2-occurrences-per-step history (see docstring)."""
    times = [t for t, _ in evs]
    for a, b in zip(times, times[1:]):
        if abs(b - a - GAP) <= 1000:
            return False
    for s, e in sessionize(times, GAP, 0):  # the max_len walk over each gap group
        start = times[s]
        for t in times[s:e]:
            if abs(t - start - MAX_LEN) <= 1000:
                return False
            if t - start > MAX_LEN:
                start = t
    for s, e in sessionize(times, GAP, MAX_LEN):
        sess = evs[s:e]
        for k in range(1, len(STEPS)):
            reached, t_prev = funnel(sess, STEPS[:k])
            occ = [t for t, ty in sess if ty == STEPS[k]]
            if reached < k and len(occ) > 2:
                return False
            if reached == k and sum(1 for t in occ if t <= t_prev) > 1:
                return False
    return True


def gen_user(rng, base_ms):
    """-> sorted [(ts_ms, type)] for one regular user."""
    while True:
        t = base_ms + rng.randrange(3 * 3600000)
        evs = []
        for v in range(rng.choices([1, 2, 3, 4], [40, 30, 20, 10])[0]):
            if v:
                kind = rng.choices(["same", "new", "near"], [45, 45, 10])[0]
                if kind == "same":
                    t += rng.randint(25 * MIN, 29 * MIN)
                elif kind == "new":
                    t += rng.randint(31 * MIN, 40 * MIN)
                else:
                    t += GAP + rng.choice([-1, 1]) * rng.randint(1500, 20000)
            intent = rng.choices(list(INTENTS), list(INTENTS.values()))[0]
            for i, ty in enumerate(visit_types(rng, intent)):
                if i:
                    t += rng.randint(1000, 180000) if rng.random() < 0.7 else rng.randint(1000, 15000)
                evs.append((t, ty))
        if shape_ok(evs):
            return evs


def gen_bot(rng, base_ms):
    while True:
        start = base_ms + rng.randrange(1800000)
        evs = [(start + i * 300000 + rng.randint(-10000, 10000), PV) for i in range(14 * 12 + 1)]
        if shape_ok(evs):
            return evs


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def bad_payloads(rng, n, users, base_ms):
    """n (kind, payload) invalid events."""
    ahead = base_ms + 86400000
    bad_hour = rfc3339(ahead)[:11] + "25" + rfc3339(ahead)[13:]
    kinds = [
        ("truncated", lambda u: '{"user_id":"%s","ts":"%s","type":"page_view","page":"/p/1"' % (u, rfc3339(ahead))),
        ("no_user", lambda u: json.dumps({"ts": rfc3339(ahead), "type": "page_view", "page": "/p/2",
                                          "session_hint": None}, separators=(",", ":"))),
        ("null_user", lambda u: json.dumps({"user_id": None, "ts": ahead, "type": "purchase",
                                            "page": "/checkout/done", "session_hint": None}, separators=(",", ":"))),
        ("bad_month", lambda u: json.dumps({"user_id": u, "ts": "2026-13-01T00:00:00.000Z", "type": "page_view",
                                            "page": "/p/3", "session_hint": None}, separators=(",", ":"))),
        ("bad_hour", lambda u: json.dumps({"user_id": u, "ts": bad_hour, "type": "page_view", "page": "/p/4",
                                           "session_hint": None}, separators=(",", ":"))),
        ("ts_text", lambda u: json.dumps({"user_id": u, "ts": "yesterday", "type": "page_view",
                                          "page": "/p/5", "session_hint": None}, separators=(",", ":"))),
        ("no_ts", lambda u: json.dumps({"user_id": u, "type": "checkout", "page": "/checkout",
                                        "session_hint": None}, separators=(",", ":"))),
        ("ts_bool", lambda u: json.dumps({"user_id": u, "ts": True, "type": "page_view", "page": "/p/6",
                                          "session_hint": None}, separators=(",", ":"))),
        ("not_object", lambda u: json.dumps([u, ahead, "page_view"])),
    ]
    out = []
    for i in range(n):
        kind, fn = kinds[i % len(kinds)]
        out.append((kind, fn(rng.choice(users))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="pcap to write")
    ap.add_argument("--truth", help="truth TSV to write")
    ap.add_argument("--events-out", help="JSON payloads, one per line, arrival order")
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--bots", type=int, default=5)
    ap.add_argument("--bad", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    # The default ends the 14 h bots in the past: weir rejects events dated
    # more than event_time.max_future (1 h) ahead of its clock.
    ap.add_argument("--base", type=int, help="epoch s (default now - 18 h, floored to the minute)")
    ap.add_argument("--disorder", type=float, default=0.05)
    ap.add_argument("--dst-ip", default="192.0.2.10")
    ap.add_argument("--dst-mac", default="02:00:00:00:00:01")
    ap.add_argument("--src-ip", default="198.51.100.", help="IPv4 prefix of the senders (a.b.c.)")
    ap.add_argument("--port", type=int, default=5140)
    a = ap.parse_args()
    base = a.base if a.base is not None else (int(time.time()) - 18 * 3600) // 60 * 60
    base_ms = base * 1000
    rng = random.Random(a.seed)

    ids = ["u%d" % n for n in rng.sample(range(100, 1000000), a.users)] + \
          ["bot%d" % (i + 1) for i in range(a.bots)]
    events = []  # (arrival_key_ms, seq, user, ts_ms, type)
    for n, user in enumerate(ids):
        for ts, ty in (gen_bot if user.startswith("bot") else gen_user)(rng, base_ms):
            delay = rng.randint(1, 3000) if rng.random() < a.disorder else 0
            events.append([ts + delay, len(events), user, ts, ty])
    events.sort()
    # invalid events go between valid ones at random positions (same arrival key)
    for kind, pay in bad_payloads(rng, a.bad, ids[:a.users] or ids, base_ms):
        pos = rng.randrange(len(events) + 1)
        key = events[pos - 1][0] if pos else base_ms
        events.insert(pos, [key, -1, None, kind, pay])

    dmac, prefix = pcapgen.mac(a.dst_mac), a.src_ip
    slot = {u: i for i, u in enumerate(ids)}
    truth = open(a.truth, "w") if a.truth else None
    lines = open(a.events_out, "w") if a.events_out else None
    ts_us, n_epoch = 0, 0
    with pcapgen.PcapWriter(a.out) as w:
        for ident, (key, seq, user, ts, ty) in enumerate(events):
            if user is None:  # invalid: ts holds the kind, ty the payload
                payload, h = ty, 250
                if truth:
                    truth.write("#invalid\t%s\t%s\n" % (ts, payload))
            else:
                as_int = rng.random() < 0.1
                n_epoch += as_int
                payload = json.dumps({"user_id": user, "ts": ts if as_int else rfc3339(ts), "type": ty,
                                      "page": page_of(rng, ty), "session_hint": None}, separators=(",", ":"))
                h = 1 + slot[user] % 240
                if truth:
                    truth.write("%s\t%d\t%s\n" % (user, ts, ty))
            if lines:
                lines.write(payload + "\n")
            src = prefix + str(h)
            ts_us = max(ts_us + 1, key * 1000)
            for f in pcapgen.udp_frames(dmac, pcapgen.mac("02:00:00:00:01:%02x" % h), src, a.dst_ip,
                                        40000 + (slot.get(user, 0) % 20000), a.port,
                                        payload.encode(), ident):
                w.write(f, ts_us)
    for f in (truth, lines):
        if f:
            f.close()
    valid = len(events) - a.bad
    print("gen_clickstream: %d packets, %d valid events (%d epoch-ms ts), %d invalid, %d users + %d bots, "
          "base %d" % (len(events), valid, n_epoch, a.bad, a.users, a.bots, base), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
