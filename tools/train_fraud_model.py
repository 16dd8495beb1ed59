#!/usr/bin/python3
"""train_fraud_model.py - build weir's demo payment-fraud model.

Generates a synthetic but habit-driven transaction history, computes the
feature vector weir's scorer expects for every transaction, trains an
XGBoost binary:logistic model and writes, under configs/models/:

  fraud_features.txt  the feature names, one per line, in vector order
  fraud_model.json    Booster.save_model() output (XGBoost JSON format)
  fraud_samples.csv   200 held-out rows (some values missing, written "nan")
                      with XGBoost's own predicted probability (xgb_prob)

and prints the AUC on a held-out (later in time) split.

Usage (Debian's python3-xgboost; not a pyenv interpreter):
    /usr/bin/python3 tools/train_fraud_model.py [--out configs/models] [--seed 7]

The world it simulates:
  - users with habits: a home country, a handful of usual merchants, a
    typical amount (log-normal around a per-user median) and a daily rhythm
    (hours around a per-user centre); some travel (legit new countries and
    merchants), some make an occasional large purchase;
  - legit anomalies too: trips abroad, shopping sprees at new merchants;
  - account takeovers: a victim's card is used in a burst (minutes apart),
    half the time from another country, mostly at merchants new to the
    user, often a few small "card test" charges first, at any hour;
  - a few fraudulent new accounts that do nothing but bursts.

Feature definitions: those of weir's feature module (state/st_features.h),
i.e. the user's history BEFORE the transaction, the transaction excluded:
  txn_count_1h          earlier transactions in (t - 3600 s, t]
  amount_sum_1h         their summed amount, in currency units (st_features
                        reports micros: divide by 1e6 when building the vector)
  txn_count_24h         earlier transactions in (t - 86400 s, t]
  amount_sum_24h        their summed amount, currency units
  secs_since_last_txn   seconds since the user's previous transaction;
                        missing for the first one
  amount_to_avg_ratio   amount / EWMA of the earlier amounts (avg = first
                        amount, then avg += 0.1 * (amount - avg)); missing
                        for the first one
  new_country           1 when the country is not among the user's 8 most
                        recently seen distinct countries (1 for the first)
  new_merchant          the same for merchants
  amount                this transaction's amount, currency units
  hour_of_day           UTC hour (0-23) of the transaction time
(st_features' pane granularity, a window up to one pane longer, is not
modelled here.)
  account_age_days      feature store: days since the account was opened
  chargebacks_90d       feature store: chargebacks in the last 90 days
The two feature-store values are missing for ~3% of transactions (a store
miss); the model learns where a missing value goes.
"""
import argparse
import bisect
import math
import os
import sys

import numpy as np
import xgboost as xgb

FEATURES = [
    "txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h",
    "secs_since_last_txn", "amount_to_avg_ratio", "new_country",
    "new_merchant", "amount", "hour_of_day", "account_age_days",
    "chargebacks_90d",
]

COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "BR",
             "MX", "IN", "NG", "RU", "CN", "JP"]
HOME_WEIGHTS = np.array([30, 12, 12, 10, 6, 6, 5, 3, 4, 4, 3, 2, 1, 1, 1, 0.5])
N_MERCHANTS = 3000
DAY = 86400.0


def simulate(rng, n_users, days):
    """Returns a list of (user, t, amount, country, merchant, label)."""
    txns = []
    home_p = HOME_WEIGHTS / HOME_WEIGHTS.sum()
    # Popular merchants are shared by many users (Zipf-like).
    merch_p = 1.0 / np.arange(1, N_MERCHANTS + 1) ** 0.8
    merch_p /= merch_p.sum()
    users = []
    for u in range(n_users):
        home = rng.choice(len(COUNTRIES), p=home_p)
        usual = rng.choice(N_MERCHANTS, size=rng.integers(3, 12), replace=False, p=merch_p)
        med = math.exp(rng.normal(3.4, 0.8))           # typical amount
        rate = math.exp(rng.normal(0.3, 0.6))           # txns per day
        centre = rng.normal(14.0, 3.0)                  # usual hour
        age0 = float(rng.integers(40, 3000))            # account age at day 0
        cb = int(rng.poisson(0.06))
        users.append(dict(home=home, usual=usual, med=med, rate=rate,
                          centre=centre, age0=age0, cb=cb))

        # Legit activity: a daily count, times around the user's rhythm.
        trip = None
        if rng.random() < 0.15:                         # one trip abroad
            start = rng.uniform(0, days - 7) * DAY
            trip = (start, start + rng.uniform(2, 7) * DAY,
                    rng.choice([c for c in range(len(COUNTRIES)) if c != home]))
        for d in range(days):
            for _ in range(rng.poisson(rate)):
                hour = (rng.normal(centre, 3.0)) % 24.0
                t = d * DAY + hour * 3600.0
                amt = med * math.exp(rng.normal(0.0, 0.5))
                if rng.random() < 0.02:                 # occasional big purchase
                    amt *= rng.uniform(4, 10)
                country = home
                merch = rng.choice(usual) if rng.random() < 0.85 else rng.choice(N_MERCHANTS, p=merch_p)
                if trip and trip[0] <= t < trip[1]:
                    country = trip[2]
                    merch = rng.choice(N_MERCHANTS, p=merch_p) if rng.random() < 0.7 else merch
                elif rng.random() < 0.005:              # online, foreign merchant
                    country = rng.choice(len(COUNTRIES), p=home_p)
                txns.append((u, t, round(amt, 2), country, int(merch), 0))
                if rng.random() < 0.01:                 # legit shopping spree
                    for _ in range(int(rng.integers(2, 6))):
                        t += rng.exponential(600.0)
                        txns.append((u, t, round(med * math.exp(rng.normal(0.5, 0.7)), 2),
                                     country, int(rng.choice(N_MERCHANTS, p=merch_p)), 0))

        # Account takeover burst.
        if rng.random() < 0.035:
            t = rng.uniform(5, days) * DAY
            foreign = rng.random() < 0.5
            country = rng.choice([c for c in range(len(COUNTRIES)) if c != home]) if foreign else home
            n = int(rng.integers(1, 10))
            gap = rng.uniform(60, 3600)
            for k in range(n):
                if k < 2 and rng.random() < 0.5:        # card test
                    amt = rng.uniform(0.5, 5.0)
                else:
                    amt = med * math.exp(rng.uniform(-0.2, 2.5))
                merch = rng.choice(N_MERCHANTS) if rng.random() < 0.6 else rng.choice(usual)
                txns.append((u, t, round(amt, 2), country, int(merch), 1))
                t += rng.exponential(gap)

    # Fraudulent new accounts: opened recently, a few bursts, nothing else.
    n_bad = max(1, n_users // 150)
    for b in range(n_bad):
        u = len(users)
        home = rng.choice(len(COUNTRIES), p=home_p)
        users.append(dict(home=home, usual=np.array([], dtype=int), med=50.0, rate=0,
                          centre=3.0, age0=-float(rng.integers(0, days)), cb=int(rng.poisson(0.5))))
        t = (-users[u]["age0"] + rng.uniform(0, 3)) * DAY
        for _ in range(int(rng.integers(1, 4))):
            for k in range(int(rng.integers(2, 10))):
                if t >= days * DAY:
                    break
                txns.append((u, t, round(rng.uniform(20, 900), 2),
                             int(rng.choice(len(COUNTRIES), p=home_p)),
                             int(rng.choice(N_MERCHANTS)), 1))
                t += rng.exponential(300)
            t += rng.uniform(0.5, 5) * DAY
    return users, txns


def features(rng, users, txns):
    """Feature matrix (float32, NaN = missing), labels and times."""
    txns.sort(key=lambda x: (x[0], x[1]))
    n = len(txns)
    X = np.full((n, len(FEATURES)), np.nan, dtype=np.float64)
    y = np.zeros(n, dtype=np.float32)
    ts = np.zeros(n)
    i = 0
    while i < n:
        u = txns[i][0]
        j = i
        while j < n and txns[j][0] == u:
            j += 1
        times = [txns[k][1] for k in range(i, j)]
        cum = np.concatenate([[0.0], np.cumsum([txns[k][2] for k in range(i, j)])])
        lru_c, lru_m = [], []       # most recently seen first, at most 8
        ewma = None
        for k in range(i, j):
            _, t, amt, country, merch, label = txns[k]
            p = k - i
            # earlier transactions with ts > t - W
            lo1 = bisect.bisect_right(times, t - 3600.0, 0, p)
            lo24 = bisect.bisect_right(times, t - DAY, 0, p)
            row = X[k]
            row[0] = p - lo1
            row[1] = cum[p] - cum[lo1]
            row[2] = p - lo24
            row[3] = cum[p] - cum[lo24]
            if p > 0:
                row[4] = t - times[p - 1]
                row[5] = amt / ewma
            row[6] = 0.0 if country in lru_c else 1.0
            row[7] = 0.0 if merch in lru_m else 1.0
            for lru, v in ((lru_c, country), (lru_m, merch)):
                if v in lru:
                    lru.remove(v)
                lru.insert(0, v)
                del lru[8:]
            ewma = amt if ewma is None else ewma + 0.1 * (amt - ewma)
            row[8] = amt
            row[9] = math.floor((t % DAY) / 3600.0)
            if rng.random() >= 0.03:
                row[10] = math.floor(users[u]["age0"] + t / DAY)
                row[11] = users[u]["cb"]
            y[k] = label
            ts[k] = t
        i = j
    return X.astype(np.float32), y, ts


def auc(y, p):
    """Area under the ROC curve (Mann-Whitney, ties averaged)."""
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def fmt(v):
    # 9 significant digits round-trip a float32 exactly.
    return "nan" if math.isnan(v) else "%.9g" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "configs", "models"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--days", type=int, default=60)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)

    users, txns = simulate(rng, a.users, a.days)
    X, y, ts = features(rng, users, txns)
    # Held-out split in time: train on the first 70% of the period.
    cut = 0.7 * a.days * DAY
    tr, te = ts < cut, ts >= cut
    print("transactions %d (fraud %.2f%%), train %d, test %d"
          % (len(y), 100.0 * y.mean(), tr.sum(), te.sum()))

    dtr = xgb.DMatrix(X[tr], label=y[tr], missing=np.nan, feature_names=FEATURES)
    dte = xgb.DMatrix(X[te], label=y[te], missing=np.nan, feature_names=FEATURES)
    params = {
        "objective": "binary:logistic", "eval_metric": "auc", "max_depth": 4,
        "eta": 0.15, "subsample": 0.8, "colsample_bytree": 0.9,
        "min_child_weight": 2, "tree_method": "hist", "seed": a.seed,
        "nthread": 1,                     # reproducible bit for bit
        "base_score": float(y[tr].mean()),  # prior fraud rate as the start
    }
    bst = xgb.train(params, dtr, num_boost_round=60)
    p_te = bst.predict(dte)
    print("held-out AUC %.4f" % auc(y[te], p_te))

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "fraud_features.txt"), "w") as f:
        f.write("".join(n + "\n" for n in FEATURES))
    model_path = os.path.join(a.out, "fraud_model.json")
    bst.save_model(model_path)

    # 200 held-out rows, fraud over-represented so both classes show, with
    # extra holes punched in to exercise the default directions.
    idx_te = np.flatnonzero(te)
    fr = idx_te[y[idx_te] == 1]
    ok = idx_te[y[idx_te] == 0]
    pick = np.concatenate([rng.choice(fr, size=min(40, len(fr)), replace=False),
                           rng.choice(ok, size=200 - min(40, len(fr)), replace=False)])
    rng.shuffle(pick)
    S = X[pick].copy()
    S[rng.random(S.shape) < 0.08] = np.nan
    # Predict from the saved file so the recorded scores are the shipped model's.
    saved = xgb.Booster(model_file=model_path)
    prob = saved.predict(xgb.DMatrix(S, missing=np.nan, feature_names=FEATURES))
    with open(os.path.join(a.out, "fraud_samples.csv"), "w") as f:
        f.write(",".join(FEATURES + ["xgb_prob"]) + "\n")
        for r, p in zip(S, prob):
            f.write(",".join(fmt(float(v)) for v in r) + "," + fmt(float(p)) + "\n")
    print("wrote %s (%d bytes), fraud_features.txt, fraud_samples.csv"
          % (model_path, os.path.getsize(model_path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
