/*
 * st_features.h - per-user in-stream features for payment fraud scoring.
 *
 * Each worker keeps the users it owns in one table; st_feat_update() is
 * called once per transaction and returns the features of the user's
 * history BEFORE that transaction (the transaction itself excluded), then
 * records it. st_feat_get() is a read-only query at any time.
 *
 * Time is event time: the transaction's ts_us (microseconds, 0 .. 2^62).
 * "now" of an update is the transaction's own ts_us.
 *
 * Sliding windows from panes. Panes are epoch-aligned: pane(ts) =
 * floor(ts / P). Two windows:
 *   1 h:  P = ST_FEAT_PANE_1H_US  = 1 min,  N = 60 panes
 *   24 h: P = ST_FEAT_PANE_24H_US = 60 min, N = 24 panes
 * The window of size W = N * P at "now" holds every recorded transaction
 * whose pane overlaps (now - W, now], that is whose pane index lies in
 * [pane(now) - N, pane(now)] (N + 1 panes). Hence:
 *  - a transaction at exactly now - W is IN (its pane reaches past now - W);
 *    one at now - W - P is always OUT; between, it depends on where now
 *    falls in its pane (in iff pane(ts) >= pane(now) - N);
 *  - precision: the window is everything in (now - W, now] plus what lies
 *    in [pane(now - W) * P, now - W]: at most one pane (1 min for 1 h,
 *    1 h for 24 h) of older history. The effective length is W .. W + P;
 *  - transactions recorded earlier (by arrival) with a later ts in the
 *    same pane as now are counted too (a pane has no finer time); those in
 *    later panes are not.
 * Amount sums are in micros (the input unit) and exact as long as a
 * window's true sum is below 2^63 micros (and as a double, below 2^53);
 * counts are exact below 2^32 per window.
 *
 * Disorder. Transactions may arrive out of order by up to disorder_us
 * (params). Let max_ts = the newest ts recorded for the user.
 *  - Late: ts < max_ts - (24 h + disorder_us). Nothing is recorded,
 *    features_late counts it, update returns 1 and every feature is NaN.
 *  - Exact: a query (get, or the "before" of an update) at now >= max_ts -
 *    disorder_us gives exactly the window definition above over all the
 *    user's recorded transactions. Every non-late transaction updates the
 *    right 24 h pane; the 1 h panes are kept for disorder_us behind max_ts
 *    too, so any transaction that can still be in an exact 1 h window is
 *    recorded in it.
 *  - Older queries (now < max_ts - disorder_us, still not late) clip the
 *    window to the panes kept and may be low.
 *
 * Other features (txn = this transaction, "history" = the user's recorded
 * transactions; a user is created by its first non-late transaction):
 *  - secs_since_last_txn = max(0, now - max_ts) / 1e6; 0 when a later
 *    transaction was already recorded (out of order); NaN without history.
 *  - amount_to_avg_ratio = amount / avg, where avg is an exponential
 *    moving average of the recorded amounts in arrival order:
 *    avg = first amount, then avg += alpha * (amount - avg) (alpha from
 *    params, default ST_FEAT_ALPHA_DEFAULT). IEEE division: +inf when
 *    avg == 0 and amount > 0, NaN when both are 0; NaN without history.
 *  - new_country / new_merchant = 1.0 when the hash is not in the user's
 *    set, else 0.0 (1.0 for a user's first transaction). Each set keeps
 *    the ST_FEAT_SET_SIZE (8) most recently seen DISTINCT values in
 *    arrival order (a hit moves the value to the front, a miss inserts it
 *    and, when full, forgets the least recently seen). So past 8 distinct
 *    values, a value not among the last 8 distinct ones is reported new
 *    again. Hashes are any 32-bit values chosen by the caller.
 *  - st_feat_get() has no transaction: ratio and both flags are NaN.
 *
 * Table full. The table holds capacity users, sized at create; users are
 * never removed except to make room. When a new user arrives and the
 * table is full:
 *  - evict = true: the least recently active user by a clock sweep
 *    (second chance: each update sets the user's reference bit; the hand
 *    clears set bits and evicts the first user whose bit is clear) is
 *    dropped with all its history (features_evictions); the new user
 *    takes its place. Amortized O(1); one sweep can visit every user once
 *    after all bits were set. get() does not set the bit.
 *  - evict = false: the transaction is refused, -ENOSPC,
 *    features_table_full; known users keep working.
 * An evicted user that comes back starts with no history.
 *
 * Memory (x86-64): per user one record = 200 B header (64 B id, two
 * 8-value sets of 32-bit hashes, running totals) + 12 B per pane (8 B sum
 * + 4 B count) for (61 + D1) one-minute panes and (25 + D24) one-hour
 * panes, D = ceil(disorder_us / P), rounded up to 64 B; plus the index,
 * 8 B per slot at load 0.375 - 0.75 (11 - 21 B per user). disorder 0:
 * 1280 B, disorder 5 min: 1344 B (st_feat_user_bytes()). The 1-minute
 * panes dominate (732 - 792 B, about 60 %); the id is next (64 B).
 * All reserved at create.
 *
 * Thread safety: not thread-safe; one table per worker lcore. Each table
 * writes its own wr_counters (features_users is a gauge of that table:
 * summing over workers gives the total).
 */
#ifndef ST_FEATURES_H
#define ST_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_counters.h"

#define ST_FEAT_USER_MAX 64                      /* longer user ids are rejected (-EINVAL) */
#define ST_FEAT_SET_SIZE 8                       /* distinct countries / merchants remembered */
#define ST_FEAT_PANE_1H_US (60LL * 1000000)      /* 1-minute panes ... */
#define ST_FEAT_PANES_1H 60                      /* ... 60 of them make the 1 h window */
#define ST_FEAT_PANE_24H_US (3600LL * 1000000)   /* 1-hour panes ... */
#define ST_FEAT_PANES_24H 24                     /* ... 24 of them make the 24 h window */
#define ST_FEAT_DISORDER_MAX_US (3600LL * 1000000)
#define ST_FEAT_TS_MAX (INT64_C(1) << 62)
#define ST_FEAT_ALPHA_DEFAULT 0.1

struct st_feat_params {
	uint32_t capacity;           /* users, 1 .. 2^26 */
	int64_t disorder_us;         /* out-of-order bound, 0 .. ST_FEAT_DISORDER_MAX_US */
	double alpha;                /* EWMA weight of the newest amount, (0, 1]; 0 = default */
	bool evict;                  /* table full: true evict (clock), false refuse */
	bool reserved_pages;         /* arrays on reserved 2 MB pages when the pool has room */
};

/* Features of a user's history at some "now"; see the file comment. */
struct st_feat_vec {
	double txn_count_1h, amount_sum_1h;      /* amounts in micros */
	double txn_count_24h, amount_sum_24h;
	double secs_since_last_txn;              /* NaN without history */
	double amount_to_avg_ratio;              /* NaN without history, and in get() */
	double new_country, new_merchant;        /* 1.0 new, 0.0 seen; NaN in get() */
};

struct st_feat;

/*
 * Returns 0 and *out, -EINVAL on bad params (NULL, out-of-range values,
 * alpha not in [0, 1]), -ENOMEM. All memory is taken here. @cnt must
 * outlive the table.
 */
int st_feat_create(const struct st_feat_params *p, struct wr_counters *cnt, struct st_feat **out);

/* Frees everything. NULL is a no-op. */
void st_feat_destroy(struct st_feat *t);

/* Bytes of @t's arrays on reserved 2 MB pages; *@wanted (may be NULL): the
 * bytes params.reserved_pages asked for (0 without it). */
size_t st_feat_reserved_bytes(const struct st_feat *t, size_t *wanted);

/*
 * One transaction of @user (@ulen bytes, 1 .. ST_FEAT_USER_MAX, any bytes)
 * at event time @ts_us (0 .. ST_FEAT_TS_MAX) for @amount_micros (>= 0).
 * Fills *before (may be NULL) with the features of the history before it,
 * at now = ts_us, then records it.
 * Returns 0, 1 when late (nothing recorded, *before all NaN), -ENOSPC when
 * the table is full and evict is off (*before describes a user with no
 * history), -EINVAL for a bad user length, ts or amount (nothing touched;
 * the caller counts bad input).
 * Cost: one hash lookup and a few cache lines of the user's record, no
 * allocation; measured figures in st_features.c.
 */
int st_feat_update(struct st_feat *t, const char *user, size_t ulen, int64_t ts_us,
		   int64_t amount_micros, uint32_t country_hash, uint32_t merchant_hash,
		   struct st_feat_vec *before);

/*
 * Read-only query of @user at @now_us: windows, secs_since_last_txn;
 * ratio and flags are NaN. Changes nothing (not even the clock bit).
 * Returns 0, -ENOENT for an unknown user (*vec: zero counts and sums, the
 * rest NaN), -EINVAL for a bad user length or now_us outside 0 .. ST_FEAT_TS_MAX.
 */
int st_feat_get(const struct st_feat *t, const char *user, size_t ulen, int64_t now_us,
		struct st_feat_vec *vec);

/* Users in the table (also the features_users gauge). */
uint32_t st_feat_used(const struct st_feat *t);

/* Bytes of one user record for this table (index not included). */
size_t st_feat_user_bytes(const struct st_feat *t);

/*
 * Check internal invariants (index, running totals against the panes,
 * sets). For tests; O(capacity * panes). Returns 0, or -EFAULT: a failure
 * is a bug in st_features.c.
 */
int st_feat_verify(const struct st_feat *t);

#endif /* ST_FEATURES_H */
