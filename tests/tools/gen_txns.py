#!/usr/bin/python3
"""gen_txns.py - a scripted payment stream for the fraud integration test.

Users with habits (home country, a few merchants, a typical amount, a
transaction every 10-40 minutes) over the 6 hours before --end, plus an
account takeover: one user's card is used in a burst of 6 transactions a
minute apart from another country at new merchants, with growing amounts.
Send order is time order. Prints JSONL to stdout and the feature store
(account age, chargebacks; some users absent from the store) to --store.

Usage: gen_txns.py --store store.json [--end EPOCH_MS] [--users 12] [--seed 5]

--end defaults to the last 02:30 UTC before now. hour_of_day is a feature of
the demo model, which blocks the takeover at night and only reviews it by
day, so a stream ending "a minute ago" gave a BLOCK or not depending on when
it was made.
"""
import argparse
import json
import random
import time

DAY_S = 86400
END_OF_DAY_S = 2 * 3600 + 1800   # 02:30 UTC


def last_end_ms():
    now = int(time.time())
    return ((now - END_OF_DAY_S) // DAY_S * DAY_S + END_OF_DAY_S) * 1000


ap = argparse.ArgumentParser()
ap.add_argument("--end", type=int, default=None,
                help="epoch ms of the last transaction (default: the last 02:30 UTC)")
ap.add_argument("--store", required=True)
ap.add_argument("--users", type=int, default=12)
ap.add_argument("--seed", type=int, default=5)
a = ap.parse_args()
rnd = random.Random(a.seed)
if a.end is None:
    a.end = last_end_ms()

countries = ["DE", "FR", "NL", "ES", "IT", "PL"]
start = a.end - 6 * 3600 * 1000
txns = []
store = {}
for u in range(a.users):
    uid = f"u{u}"
    home = rnd.choice(countries)
    merchants = [f"m-{rnd.randrange(500)}" for _ in range(3)]
    median = rnd.choice([12, 25, 40, 80, 150])
    t = start + rnd.randrange(30 * 60 * 1000)
    while t < a.end - 20 * 60 * 1000:
        amt = round(median * rnd.lognormvariate(0, 0.4), 2)
        txns.append({"ts": t, "user_id": uid, "amount": amt, "currency": "EUR",
                     "merchant": rnd.choice(merchants), "country": home})
        t += rnd.randrange(10, 40) * 60 * 1000
    if u % 5 != 4:  # some users are not in the store
        store[uid] = {"account_age_days": rnd.randrange(30, 3000),
                      "chargebacks_90d": rnd.choice([0, 0, 0, 0, 1])}
# The takeover: u1's card, another country, new merchants, a minute apart.
t = a.end - 15 * 60 * 1000
for i, amt in enumerate([1.0, 2.5, 480.0, 950.0, 1800.0, 2400.0]):
    txns.append({"ts": t + i * 60 * 1000, "user_id": "u1", "amount": amt, "currency": "EUR",
                 "merchant": f"shady-{i}", "country": "BR"})
txns.sort(key=lambda x: x["ts"])
for i, x in enumerate(txns):
    print(json.dumps({"txn_id": f"t{i}", **x}, separators=(",", ":")))
with open(a.store, "w") as f:
    json.dump(store, f)
