/*
 * test_features.c - st_features: 1 h and 24 h pane windows at their edges,
 * "before" excludes the transaction itself, out-of-order transactions
 * within the disorder bound, late transactions, time since last, ratio to
 * the moving average, new country / merchant flags with set overflow, both
 * table-full policies, bad input, and a randomized run (500 users, 50k
 * transactions) checked against a brute-force reference written from the
 * definitions in st_features.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_features.h"
#include "wr_common.h"
#include "wr_test.h"

#define SEC 1000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 (INT64_C(472222) * HOUR)      /* on an hour boundary, so on a minute one too */
#define UNIT 1000000LL                   /* one currency unit in micros */

static struct wr_counters g_cnt;

static struct st_feat *mk(uint32_t cap, int64_t disorder, double alpha, bool evict)
{
	struct st_feat_params p = { .capacity = cap, .disorder_us = disorder, .alpha = alpha,
				    .evict = evict };
	struct st_feat *t = NULL;
	memset(&g_cnt, 0, sizeof(g_cnt));
	CU_ASSERT_FATAL(st_feat_create(&p, &g_cnt, &t) == 0);
	return t;
}

static int upd(struct st_feat *t, const char *u, int64_t ts, int64_t amount, uint32_t cty,
	       uint32_t mer, struct st_feat_vec *v)
{
	return st_feat_update(t, u, strlen(u), ts, amount, cty, mer, v);
}

static struct st_feat_vec get(struct st_feat *t, const char *u, int64_t now)
{
	struct st_feat_vec v;
	CU_ASSERT(st_feat_get(t, u, strlen(u), now, &v) == 0);
	return v;
}

/* ---- windows ----------------------------------------------------------- */

static void test_1h_window_edges_by_pane(void)
{
	struct st_feat *t = mk(16, 0, 0, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "u", T0 - 1, 7 * UNIT, 1, 1, &v) == 0);   /* last us of the pane before */
	CU_ASSERT(upd(t, "u", T0, 5 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", T0 + 30 * SEC, 3 * UNIT, 1, 1, &v) == 0);

	/* now = T0 + 1 h exactly: T0 is exactly 1 h before, its pane overlaps: in */
	v = get(t, "u", T0 + HOUR);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 8 * UNIT);
	/* the whole pane of now keeps the same window */
	v = get(t, "u", T0 + HOUR + MIN - 1);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	/* ... and T0 - 1 us (1 h + 1 us back) is out: its pane ended at T0. One
	 * us earlier now is in the pane before, whose window reaches back to it */
	v = get(t, "u", T0 + HOUR - 1);
	CU_ASSERT_EQUAL(v.txn_count_1h, 3);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 15 * UNIT);
	/* next pane: T0 and T0 + 30 s (same pane) leave together */
	v = get(t, "u", T0 + HOUR + MIN);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 0);
	/* 24 h window holds all three all along */
	CU_ASSERT_EQUAL(v.txn_count_24h, 3);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 15 * UNIT);
	/* mid-pane now: a txn at now - 1 h - 30 s is at the start of the oldest pane: in */
	v = get(t, "u", T0 + HOUR + 30 * SEC);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	st_feat_destroy(t);
}

static void test_before_excludes_the_transaction_itself(void)
{
	struct st_feat *t = mk(16, 0, 0, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "u", T0, 5 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 0);
	CU_ASSERT(isnan(v.secs_since_last_txn));
	CU_ASSERT(isnan(v.amount_to_avg_ratio));
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	CU_ASSERT_EQUAL(v.new_merchant, 1.0);
	/* exactly 1 h later: the first is in, this one is not counted yet */
	CU_ASSERT(upd(t, "u", T0 + HOUR, 2 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 5 * UNIT);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 3600.0);
	/* one pane later the first has left the 1 h window, the second is in */
	CU_ASSERT(upd(t, "u", T0 + HOUR + MIN, 1 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 2 * UNIT);
	CU_ASSERT_EQUAL(v.txn_count_24h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 7 * UNIT);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 60.0);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
}

static void test_24h_window_edges_by_hour_pane(void)
{
	struct st_feat *t = mk(16, 0, 0, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "u", T0 + 59 * MIN, 4 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", T0 + HOUR, 6 * UNIT, 1, 1, &v) == 0);
	/* now = T0 + 24 h: pane T0 .. T0 + 1 h overlaps (now - 24 h, now] */
	v = get(t, "u", T0 + 24 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_24h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 10 * UNIT);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	v = get(t, "u", T0 + 25 * HOUR - 1);
	CU_ASSERT_EQUAL(v.txn_count_24h, 2);    /* last us of the same hour pane */
	/* now = T0 + 25 h: the T0 pane is out, even though 59 min is only 24 h 1 min back */
	CU_ASSERT(upd(t, "u", T0 + 25 * HOUR, 1 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 1);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 6 * UNIT);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 24 * 3600.0);
	v = get(t, "u", T0 + 26 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_24h, 1);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 1 * UNIT);
	/* far future: nothing left, but time since last still known */
	v = get(t, "u", T0 + 100 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_24h, 0);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 75 * 3600.0);
	CU_ASSERT(isnan(v.amount_to_avg_ratio));
	CU_ASSERT(isnan(v.new_country));
	st_feat_destroy(t);
}

static void test_out_of_order_within_bound_updates_its_pane(void)
{
	struct st_feat *t = mk(16, 5 * MIN, 0, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "u", T0 + 10 * MIN, 1 * UNIT, 1, 1, &v) == 0);
	/* 3 min older: the recorded one is in a later pane, not counted; time since last 0 */
	CU_ASSERT(upd(t, "u", T0 + 7 * MIN, 2 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 1);    /* same hour pane */
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 0.0);
	/* same pane as a recorded later ts: counted (a pane has no finer time) */
	CU_ASSERT(upd(t, "u", T0 + 10 * MIN - 30 * SEC, 4 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);     /* panes up to 9 min: the 7 min one */
	CU_ASSERT_EQUAL(v.amount_sum_1h, 2 * UNIT);
	CU_ASSERT(upd(t, "u", T0 + 10 * MIN + 1, 8 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 3);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 7 * UNIT);
	/* window at T0 + 67 min = panes 7 .. 67 min: all four */
	v = get(t, "u", T0 + 67 * MIN);
	CU_ASSERT_EQUAL(v.txn_count_1h, 4);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 15 * UNIT);
	v = get(t, "u", T0 + 68 * MIN);
	CU_ASSERT_EQUAL(v.txn_count_1h, 3);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 13 * UNIT);
	/* the newest is now far ahead; one 5 min behind it still lands in its 1 h pane */
	CU_ASSERT(upd(t, "u", T0 + 200 * MIN, 1 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", T0 + 195 * MIN, 1 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	v = get(t, "u", T0 + 195 * MIN);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	v = get(t, "u", T0 + 254 * MIN);        /* panes 194 .. 254 */
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_late], 0);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
}

static void test_older_than_24h_plus_disorder_is_late(void)
{
	struct st_feat *t = mk(16, 5 * MIN, 0, true);
	struct st_feat_vec v;
	int64_t newest = T0 + 30 * HOUR;
	CU_ASSERT(upd(t, "u", newest, 1 * UNIT, 1, 1, &v) == 0);
	/* 1 us too old */
	CU_ASSERT(upd(t, "u", newest - 24 * HOUR - 5 * MIN - 1, 9 * UNIT, 2, 2, &v) == 1);
	CU_ASSERT(isnan(v.txn_count_1h) && isnan(v.txn_count_24h) && isnan(v.amount_sum_24h));
	CU_ASSERT(isnan(v.secs_since_last_txn) && isnan(v.new_country));
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_late], 1);
	/* exactly at the bound: recorded, in its hour pane T0 + 5 h */
	CU_ASSERT(upd(t, "u", newest - 24 * HOUR - 5 * MIN, 2 * UNIT, 3, 3, &v) == 0);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 0.0);
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	/* the late one changed nothing: country 2 is still new */
	CU_ASSERT(upd(t, "u", newest, 1 * UNIT, 2, 2, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 1);    /* panes 6 .. 30 h: the 5 h one is out */
	/* exact query 5 min behind the newest: panes 5 .. 29 h hold the old one only */
	v = get(t, "u", newest - 5 * MIN);
	CU_ASSERT_EQUAL(v.txn_count_24h, 1);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 2 * UNIT);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_late], 1);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
}

static void test_idle_gap_and_reused_record_leave_no_stale_panes(void)
{
	struct st_feat *t = mk(1, 5 * MIN, 0, true);
	struct st_feat_vec v;
	/* one txn per minute for 26 h: every slot of both rings holds data */
	int64_t ts = T0;
	for (int i = 0; i < 26 * 60; i++, ts += MIN)
		CU_ASSERT(upd(t, "a", ts, UNIT, 1, 1, &v) == 0);
	int64_t last = ts - MIN;
	v = get(t, "a", last);
	CU_ASSERT_EQUAL(v.txn_count_1h, 61);
	CU_ASSERT_EQUAL(v.txn_count_24h, 25 * 60);
	/* idle 2 h: the 1 h ring starts over; then one 3 min back, in a stale pane */
	CU_ASSERT(upd(t, "a", last + 2 * HOUR, 5 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	CU_ASSERT(upd(t, "a", last + 2 * HOUR - 3 * MIN, 7 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	v = get(t, "a", last + 2 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 12 * UNIT);
	CU_ASSERT(st_feat_verify(t) == 0);
	/* idle 30 h: the 24 h ring starts over too */
	CU_ASSERT(upd(t, "a", last + 32 * HOUR, 1 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 0);
	CU_ASSERT(upd(t, "a", last + 32 * HOUR - 4 * MIN, 2 * UNIT, 1, 1, &v) == 0);
	v = get(t, "a", last + 32 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	CU_ASSERT_EQUAL(v.txn_count_24h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 3 * UNIT);
	CU_ASSERT(st_feat_verify(t) == 0);
	/* b takes a's record: none of a's panes show */
	CU_ASSERT(upd(t, "b", last + 33 * HOUR, 4 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 1);
	CU_ASSERT(upd(t, "b", last + 33 * HOUR - 5 * MIN, 8 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	v = get(t, "b", last + 33 * HOUR);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_1h, 12 * UNIT);
	CU_ASSERT_EQUAL(v.txn_count_24h, 2);
	CU_ASSERT_EQUAL(v.amount_sum_24h, 12 * UNIT);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
}

/* ---- other features ---------------------------------------------------- */

static void test_secs_since_last_and_ratio_to_average(void)
{
	struct st_feat *t = mk(16, 10 * MIN, 0.5, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "u", T0, 100 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(isnan(v.amount_to_avg_ratio));
	CU_ASSERT(upd(t, "u", T0 + 90 * SEC, 300 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 90.0);
	CU_ASSERT_EQUAL(v.amount_to_avg_ratio, 3.0);          /* avg 100 -> 200 */
	CU_ASSERT(upd(t, "u", T0 + 91 * SEC, 50 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 1.0);
	CU_ASSERT_EQUAL(v.amount_to_avg_ratio, 0.25);         /* avg 200 -> 125 */
	/* out of order: time since last is 0, the average follows arrival order */
	CU_ASSERT(upd(t, "u", T0 + 30 * SEC, 250 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 0.0);
	CU_ASSERT_EQUAL(v.amount_to_avg_ratio, 2.0);
	v = get(t, "u", T0 + 101 * SEC);
	CU_ASSERT_EQUAL(v.secs_since_last_txn, 10.0);
	CU_ASSERT(isnan(v.amount_to_avg_ratio));

	/* zero average: IEEE division */
	CU_ASSERT(upd(t, "z", T0, 0, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "z", T0 + 1, 0, 1, 1, &v) == 0);
	CU_ASSERT(isnan(v.amount_to_avg_ratio));
	CU_ASSERT(upd(t, "z", T0 + 2, 10 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(isinf(v.amount_to_avg_ratio) && v.amount_to_avg_ratio > 0);
	st_feat_destroy(t);

	/* default alpha 0.1 */
	t = mk(16, 0, 0, true);
	CU_ASSERT(upd(t, "u", T0, 100 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", T0 + 1, 200 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", T0 + 2, 110 * UNIT, 1, 1, &v) == 0);
	CU_ASSERT_DOUBLE_EQUAL(v.amount_to_avg_ratio, 1.0, 1e-12);   /* avg 100 + 0.1 * 100 */
	st_feat_destroy(t);
}

static void test_new_country_and_merchant_flags_with_overflow(void)
{
	struct st_feat *t = mk(16, 0, 0, true);
	struct st_feat_vec v;
	int64_t ts = T0;
	CU_ASSERT(upd(t, "u", ts++, UNIT, 100, 500, &v) == 0);
	CU_ASSERT(v.new_country == 1.0 && v.new_merchant == 1.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 100, 500, &v) == 0);
	CU_ASSERT(v.new_country == 0.0 && v.new_merchant == 0.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 100, 501, &v) == 0);
	CU_ASSERT(v.new_country == 0.0 && v.new_merchant == 1.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 0, 501, &v) == 0);      /* 0 is an ordinary value */
	CU_ASSERT(v.new_country == 1.0 && v.new_merchant == 0.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 0, 501, &v) == 0);
	CU_ASSERT(v.new_country == 0.0);

	/* countries 1 .. 9 after 100, 0: the set holds 9, 8 .. 2 */
	for (uint32_t c = 1; c <= 9; c++) {
		CU_ASSERT(upd(t, "u", ts++, UNIT, c, 501, &v) == 0);
		CU_ASSERT_EQUAL(v.new_country, 1.0);
	}
	CU_ASSERT(upd(t, "u", ts++, UNIT, 100, 501, &v) == 0);   /* forgotten: new again */
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	/* set: 100, 9 .. 3 (2 dropped). A hit on 3 moves it to the front ... */
	CU_ASSERT(upd(t, "u", ts++, UNIT, 3, 501, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 0.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 2, 501, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	/* ... so the insert of 2 dropped 4, not 3: set 2, 3, 100, 9 .. 5 */
	CU_ASSERT(upd(t, "u", ts++, UNIT, 3, 501, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 0.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 5, 501, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 0.0);
	CU_ASSERT(upd(t, "u", ts++, UNIT, 4, 501, &v) == 0);
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	/* users have separate sets */
	CU_ASSERT(upd(t, "w", ts++, UNIT, 3, 501, &v) == 0);
	CU_ASSERT(v.new_country == 1.0 && v.new_merchant == 1.0);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
}

/* ---- table ------------------------------------------------------------- */

static void test_table_full_refuses_when_evict_is_off(void)
{
	struct st_feat *t = mk(2, 0, 0, false);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "a", T0, UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "b", T0, UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_users], 2);
	CU_ASSERT(upd(t, "c", T0 + 1, UNIT, 1, 1, &v) == -ENOSPC);
	CU_ASSERT(v.txn_count_1h == 0 && isnan(v.secs_since_last_txn) && v.new_country == 1.0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_table_full], 1);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 0);
	CU_ASSERT(st_feat_get(t, "c", 1, T0 + 1, &v) == -ENOENT);
	CU_ASSERT(upd(t, "a", T0 + 2, UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	CU_ASSERT_EQUAL(st_feat_used(t), 2);
	st_feat_destroy(t);
}

static void test_table_full_evicts_by_clock_second_chance(void)
{
	struct st_feat *t = mk(3, 0, 0, true);
	struct st_feat_vec v;
	CU_ASSERT(upd(t, "a", T0, UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "b", T0, UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "c", T0, UNIT, 1, 1, &v) == 0);
	/* all bits set: the hand clears a, b, c and comes back to a */
	CU_ASSERT(upd(t, "d", T0 + 1, UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 1);
	CU_ASSERT(st_feat_get(t, "a", 1, T0 + 1, &v) == -ENOENT);
	CU_ASSERT_EQUAL(v.txn_count_1h, 0);
	CU_ASSERT(isnan(v.secs_since_last_txn));
	/* b active again: second chance; c was idle since the sweep: evicted */
	CU_ASSERT(upd(t, "b", T0 + 2, UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "e", T0 + 3, UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 2);
	CU_ASSERT(st_feat_get(t, "c", 1, T0 + 3, &v) == -ENOENT);
	v = get(t, "b", T0 + 3);
	CU_ASSERT_EQUAL(v.txn_count_1h, 2);
	v = get(t, "d", T0 + 3);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	CU_ASSERT_EQUAL(st_feat_used(t), 3);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_users], 3);
	/* a comes back with no history; the hand gives d its second chance and
	 * takes b: get() above was no activity */
	CU_ASSERT(upd(t, "a", T0 + 4, UNIT, 1, 1, &v) == 0);
	CU_ASSERT_EQUAL(v.txn_count_24h, 0);
	CU_ASSERT(isnan(v.secs_since_last_txn));
	CU_ASSERT_EQUAL(v.new_country, 1.0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 3);
	CU_ASSERT(st_feat_get(t, "b", 1, T0 + 4, &v) == -ENOENT);
	v = get(t, "d", T0 + 4);
	CU_ASSERT_EQUAL(v.txn_count_1h, 1);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_table_full], 0);
	CU_ASSERT(st_feat_verify(t) == 0);
	st_feat_destroy(t);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_users], 0);
}

static void test_bad_input_is_rejected(void)
{
	struct st_feat *t = mk(4, 0, 0, true);
	struct st_feat_vec v;
	char longid[ST_FEAT_USER_MAX + 1];
	memset(longid, 'x', sizeof(longid));
	CU_ASSERT(st_feat_update(t, "u", 0, T0, UNIT, 1, 1, &v) == -EINVAL);
	CU_ASSERT(st_feat_update(t, longid, sizeof(longid), T0, UNIT, 1, 1, &v) == -EINVAL);
	CU_ASSERT(st_feat_update(t, longid, ST_FEAT_USER_MAX, T0, UNIT, 1, 1, &v) == 0);
	CU_ASSERT(upd(t, "u", -1, UNIT, 1, 1, &v) == -EINVAL);
	CU_ASSERT(upd(t, "u", ST_FEAT_TS_MAX + 1, UNIT, 1, 1, &v) == -EINVAL);
	CU_ASSERT(upd(t, "u", T0, -1, 1, 1, &v) == -EINVAL);
	CU_ASSERT(upd(t, "u", T0, 0, 1, 1, NULL) == 0);
	CU_ASSERT(st_feat_get(t, "u", 1, -1, &v) == -EINVAL);
	CU_ASSERT(st_feat_get(t, "u", 0, T0, &v) == -EINVAL);
	CU_ASSERT_EQUAL(st_feat_used(t), 2);
	st_feat_destroy(t);
	st_feat_destroy(NULL);

	struct st_feat_params p = { .capacity = 4 };
	struct st_feat *o = NULL;
	CU_ASSERT(st_feat_create(NULL, &g_cnt, &o) == -EINVAL);
	CU_ASSERT(st_feat_create(&p, NULL, &o) == -EINVAL);
	p.capacity = 0;
	CU_ASSERT(st_feat_create(&p, &g_cnt, &o) == -EINVAL);
	p.capacity = 4;
	p.disorder_us = -1;
	CU_ASSERT(st_feat_create(&p, &g_cnt, &o) == -EINVAL);
	p.disorder_us = ST_FEAT_DISORDER_MAX_US + 1;
	CU_ASSERT(st_feat_create(&p, &g_cnt, &o) == -EINVAL);
	p.disorder_us = 0;
	p.alpha = 1.5;
	CU_ASSERT(st_feat_create(&p, &g_cnt, &o) == -EINVAL);
	p.alpha = NAN;
	CU_ASSERT(st_feat_create(&p, &g_cnt, &o) == -EINVAL);
	CU_ASSERT(o == NULL);
}

static void test_user_record_size(void)
{
	struct st_feat *t = mk(4, 0, 0, true);
	CU_ASSERT_EQUAL(st_feat_user_bytes(t), 1280);       /* 200 + 86 panes * 12, to 64 */
	st_feat_destroy(t);
	t = mk(4, 5 * MIN, 0, true);
	CU_ASSERT_EQUAL(st_feat_user_bytes(t), 1344);       /* 200 + 92 panes * 12, to 64 */
	st_feat_destroy(t);
}

/* ---- randomized against a reference ------------------------------------ */

#define R_USERS 500
#define R_TXNS 50000
#define R_DISORDER (5 * MIN)

struct ref_txn {
	int64_t ts, amount;
};

struct ref_user {
	struct ref_txn *tx;
	uint32_t n, size;
	int64_t max_ts;
	double avg;
	/* last-seen arrival number per value (0 = never) */
	uint64_t cty_seen[16], mer_seen[40];
};

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b;   /* times are >= 0 here */
}

/* Window definition from the header: pane(ts) in [pane(now) - N, pane(now)]. */
static void ref_window(const struct ref_user *r, int64_t now, int64_t pane, int64_t n,
		       double *cnt, double *sum)
{
	int64_t pn = floor_div(now, pane);
	uint64_t c = 0, s = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		int64_t p = floor_div(r->tx[i].ts, pane);
		if (p >= pn - n && p <= pn) {
			c++;
			s += (uint64_t)r->tx[i].amount;
		}
	}
	*cnt = (double)c;
	*sum = (double)s;
}

/* New iff not among the 8 most recently seen distinct values. */
static double ref_is_new(const uint64_t *seen, uint32_t nvals, uint32_t v)
{
	if (seen[v] == 0)
		return 1.0;
	uint32_t more_recent = 0;
	for (uint32_t i = 0; i < nvals; i++)
		if (seen[i] > seen[v])
			more_recent++;
	return more_recent >= ST_FEAT_SET_SIZE ? 1.0 : 0.0;
}

static int n_mismatch;

static void expect_eq(double got, double want, const char *what, uint32_t i)
{
	bool ok = (isnan(got) && isnan(want)) || got == want;
	if (!ok && n_mismatch++ < 10)
		fprintf(stderr, "txn %u %s: got %.17g want %.17g\n", i, what, got, want);
}

static void test_random_50k_txns_match_reference(void)
{
	struct st_feat *t = mk(R_USERS, R_DISORDER, 0.25, true);
	struct ref_user *ru = calloc(R_USERS, sizeof(*ru));
	CU_ASSERT_FATAL(ru != NULL);
	n_mismatch = 0;
	int64_t clock = T0 + 7 * SEC;
	uint64_t late = 0, inexact = 0, gets = 0, arrival = 0, long_idle = 0;
	for (uint32_t i = 0; i < R_TXNS; i++) {
		/* 50k txns over about 2.4 days; skewed users so some have long histories */
		clock += (int64_t)(rnd() % (8 * SEC));
		/* users R_USERS - 40 .. R_USERS - 1 are sleepy: idle gaps of many hours */
		uint32_t uidx = (uint32_t)(rnd() % 4 == 0 ? rnd() % 20 : rnd() % (R_USERS - 40));
		if (rnd() % 500 == 0)
			uidx = R_USERS - 40 + (uint32_t)(rnd() % 40);
		struct ref_user *r = &ru[uidx];
		int64_t ts = clock - (int64_t)(rnd() % (R_DISORDER + 1));
		uint64_t kind = rnd() % 100;
		if (kind == 0) {
			/* near the late edge, for a busy user so it matters */
			uidx = (uint32_t)(rnd() % 20);
			r = &ru[uidx];
			ts = clock - 24 * HOUR - (int64_t)(rnd() % (20 * MIN));
		}
		else if (kind == 1)
			ts = clock - (int64_t)(rnd() % (6 * HOUR));             /* beyond disorder */
		if (ts < 0)
			ts = 0;
		int64_t amount = (int64_t)(rnd() % (1000 * UNIT));
		uint32_t cty = (uint32_t)(rnd() % 12), mer = (uint32_t)(rnd() % 40);
		char name[16];
		snprintf(name, sizeof(name), "user-%u", uidx);

		struct st_feat_vec v;
		int rc = upd(t, name, ts, amount, cty, mer, &v);

		bool is_late = r->n > 0 && r->max_ts - ts > 24 * HOUR + R_DISORDER;
		if (is_late) {
			late++;
			CU_ASSERT_EQUAL(rc, 1);
			expect_eq(v.txn_count_24h, NAN, "late count", i);
			continue;
		}
		CU_ASSERT_EQUAL(rc, 0);
		arrival++;
		double c1, s1, c24, s24;
		ref_window(r, ts, ST_FEAT_PANE_1H_US, ST_FEAT_PANES_1H, &c1, &s1);
		ref_window(r, ts, ST_FEAT_PANE_24H_US, ST_FEAT_PANES_24H, &c24, &s24);
		/* windows are exact from max_ts - disorder on */
		if (r->n == 0 || ts >= r->max_ts - R_DISORDER) {
			expect_eq(v.txn_count_1h, c1, "count_1h", i);
			expect_eq(v.amount_sum_1h, s1, "sum_1h", i);
			expect_eq(v.txn_count_24h, c24, "count_24h", i);
			expect_eq(v.amount_sum_24h, s24, "sum_24h", i);
		} else {
			inexact++;
			/* clipped to the panes kept: never high */
			if (v.txn_count_1h > c1 || v.txn_count_24h > c24)
				expect_eq(v.txn_count_24h, c24, "inexact count high", i);
		}
		if (r->n > 0 && ts - r->max_ts > 27 * HOUR)
			long_idle++;
		double since = r->n == 0 ? NAN : ts > r->max_ts ? (double)(ts - r->max_ts) / 1e6 : 0.0;
		expect_eq(v.secs_since_last_txn, since, "since", i);
		expect_eq(v.amount_to_avg_ratio, r->n == 0 ? NAN : (double)amount / r->avg, "ratio", i);
		expect_eq(v.new_country, ref_is_new(r->cty_seen, 12, cty), "new_country", i);
		expect_eq(v.new_merchant, ref_is_new(r->mer_seen, 40, mer), "new_merchant", i);

		/* record in the reference */
		r->avg = r->n == 0 ? (double)amount : r->avg + 0.25 * ((double)amount - r->avg);
		if (r->n == r->size) {
			r->size = r->size ? 2 * r->size : 64;
			r->tx = realloc(r->tx, r->size * sizeof(*r->tx));
			CU_ASSERT_FATAL(r->tx != NULL);
		}
		r->tx[r->n++] = (struct ref_txn){ ts, amount };
		if (r->n == 1 || ts > r->max_ts)
			r->max_ts = ts;
		r->cty_seen[cty] = arrival;
		r->mer_seen[mer] = arrival;

		/* now and then a read-only query somewhere in the exact range */
		if (rnd() % 10 == 0) {
			uint32_t q = (uint32_t)(rnd() % R_USERS);
			struct ref_user *rq = &ru[q];
			snprintf(name, sizeof(name), "user-%u", q);
			if (rq->n == 0) {
				CU_ASSERT(st_feat_get(t, name, strlen(name), clock, &v) == -ENOENT);
				continue;
			}
			int64_t now = rq->max_ts - R_DISORDER + (int64_t)(rnd() % (2 * HOUR));
			CU_ASSERT(st_feat_get(t, name, strlen(name), now, &v) == 0);
			ref_window(rq, now, ST_FEAT_PANE_1H_US, ST_FEAT_PANES_1H, &c1, &s1);
			ref_window(rq, now, ST_FEAT_PANE_24H_US, ST_FEAT_PANES_24H, &c24, &s24);
			expect_eq(v.txn_count_1h, c1, "get count_1h", i);
			expect_eq(v.amount_sum_1h, s1, "get sum_1h", i);
			expect_eq(v.txn_count_24h, c24, "get count_24h", i);
			expect_eq(v.amount_sum_24h, s24, "get sum_24h", i);
			expect_eq(v.secs_since_last_txn,
				  now > rq->max_ts ? (double)(now - rq->max_ts) / 1e6 : 0.0, "get since", i);
			gets++;
		}
		if (i % 5000 == 0)
			CU_ASSERT(st_feat_verify(t) == 0);
	}
	CU_ASSERT_EQUAL(n_mismatch, 0);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_late], late);
	CU_ASSERT_EQUAL(g_cnt.v[WR_CNT_features_evictions], 0);
	uint32_t seen = 0;
	for (uint32_t u = 0; u < R_USERS; u++)
		seen += ru[u].n > 0;
	CU_ASSERT_EQUAL(st_feat_used(t), seen);
	CU_ASSERT(st_feat_verify(t) == 0);
	/* the run must exercise every path */
	CU_ASSERT(late > 50);
	CU_ASSERT(inexact > 100);
	CU_ASSERT(gets > 4000);
	CU_ASSERT(long_idle >= 3);       /* 24 h ring starts over (fixed seed: 5) */
	printf("\n  random: %" PRIu64 " late, %" PRIu64 " beyond disorder, %" PRIu64 " gets, %" PRIu64 " after > 27 h idle\n",
	       late, inexact, gets, long_idle);
	for (uint32_t u = 0; u < R_USERS; u++)
		free(ru[u].tx);
	free(ru);
	st_feat_destroy(t);
}

/* run.hugepages: a table asked for reserved 2 MB pages reports where its
 * arrays went and gives the same features as one on transparent pages. */
static void test_reserved_pages_same_features(void)
{
	struct wr_counters c1 = { 0 }, c2 = { 0 };
	struct st_feat_params p = { .capacity = 65536, .disorder_us = 5 * 60 * 1000000LL,
				    .evict = true };
	struct st_feat *thp, *res;
	CU_ASSERT_FATAL(st_feat_create(&p, &c1, &thp) == 0);
	p.reserved_pages = true;
	CU_ASSERT_FATAL(st_feat_create(&p, &c2, &res) == 0);
	size_t want = 1, got = st_feat_reserved_bytes(thp, &want);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT_EQUAL(want, 0);
	got = st_feat_reserved_bytes(res, &want);
	CU_ASSERT_TRUE(want >= (size_t)65536 * 64);       /* the records at least */
	CU_ASSERT_TRUE(got == 0 || got == want);           /* no room: none; else all */
	if (wr_free_hugepages() >= (long)(want >> 21) + 8)
		CU_ASSERT_EQUAL(got, want);
	uint64_t rng = 7;
	int64_t ts = 1795400000LL * 1000000;
	for (int i = 0; i < 200000; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		char user[16];
		int n = snprintf(user, sizeof(user), "u%u", (unsigned)(rng >> 40) % 100000);
		ts += (int64_t)(rng >> 50) % 2000000 - 100000;
		int64_t amount = (int64_t)(rng >> 30) % 100000000;
		struct st_feat_vec a, b;
		int ra = st_feat_update(thp, user, (size_t)n, ts, amount, (uint32_t)rng, 3, &a);
		int rb = st_feat_update(res, user, (size_t)n, ts, amount, (uint32_t)rng, 3, &b);
		CU_ASSERT_EQUAL_FATAL(ra, rb);
		CU_ASSERT_EQUAL_FATAL(memcmp(&a, &b, sizeof(a)), 0);
	}
	CU_ASSERT_EQUAL(c1.v[WR_CNT_features_evictions], c2.v[WR_CNT_features_evictions]);
	CU_ASSERT_TRUE(c1.v[WR_CNT_features_evictions] > 0);
	CU_ASSERT_EQUAL(st_feat_verify(res), 0);
	st_feat_destroy(thp);
	st_feat_destroy(res);
}

static int reg(void)
{
	WR_SUITE("features",
		 WR_TEST(test_1h_window_edges_by_pane),
		 WR_TEST(test_before_excludes_the_transaction_itself),
		 WR_TEST(test_24h_window_edges_by_hour_pane),
		 WR_TEST(test_out_of_order_within_bound_updates_its_pane),
		 WR_TEST(test_older_than_24h_plus_disorder_is_late),
		 WR_TEST(test_idle_gap_and_reused_record_leave_no_stale_panes),
		 WR_TEST(test_secs_since_last_and_ratio_to_average),
		 WR_TEST(test_new_country_and_merchant_flags_with_overflow),
		 WR_TEST(test_table_full_refuses_when_evict_is_off),
		 WR_TEST(test_table_full_evicts_by_clock_second_chance),
		 WR_TEST(test_bad_input_is_rejected),
		 WR_TEST(test_user_record_size),
		 WR_TEST(test_random_50k_txns_match_reference),
		 WR_TEST(test_reserved_pages_same_features));
	return 0;
}

WR_TEST_MAIN(reg)
