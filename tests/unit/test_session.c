/*
 * test_session.c - st_session: gap extension, new sessions, merges by a
 * bridging late event, max-length splits, lateness, idle close, the funnel
 * (repeats, out-of-order steps, out-of-arrival-order steps, time to
 * convert, history overflow), table limits, randomized runs checked
 * against brute-force reference models written from the definitions in
 * st_session.h (offline gap grouping; arrival-order rules with max_len),
 * and long random streams whose output digests were recorded from an
 * earlier implementation (the exact emission order must not change).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_pvt.h"
#include "st_session.h"
#include "wr_common.h"
#include "wr_test.h"

#define SEC 1000000LL
#define MIN (60 * SEC)
#define T0 (INT64_C(1700000000) * SEC)
#define GAP (30 * MIN)
#define LATE (5 * MIN)
#define HOLD (GAP + LATE)

/* funnel steps */
#define LAND 0
#define VIEW 1
#define CART 2
#define BUY 3
#define NONE (-1)

/* ---- user ids ---------------------------------------------------------- */

/* true: the randomized runs use 35-byte ids whose first 24 bytes are all
 * the same, so every id lives in the arena and only the arena tells them apart */
static bool g_long_ids;

static int user_name(char *buf, size_t size, uint32_t u)
{
	if (g_long_ids)
		return snprintf(buf, size, "shared-prefix-of-24-byte-user-%05u", u);
	return snprintf(buf, size, "user-%05u", u);
}

/* ---- capture ----------------------------------------------------------- */

struct rec {
	char user[ST_SESS_USER_MAX + 1];
	int64_t start, end, dur;
	uint64_t events, pv;
	uint32_t reached;
	bool conv, exact;
	int64_t ttc;
};

struct late {
	char user[ST_SESS_USER_MAX + 1];
	int64_t ev, wm;
	int32_t step;
	bool pv;
};

struct cap {
	struct rec *r;
	size_t n, size;
	struct late l[16];
	size_t nl;
	int64_t last_end;
	bool order_ok;
};

static void cap_session(void *ctx, const struct st_session_rec *r)
{
	struct cap *c = ctx;
	if (c->n == c->size) {
		c->size = c->size ? 2 * c->size : 64;
		c->r = realloc(c->r, c->size * sizeof(*c->r));
		CU_ASSERT_FATAL(c->r != NULL);
	}
	struct rec *x = &c->r[c->n++];
	memset(x, 0, sizeof(*x));
	memcpy(x->user, r->user, r->user_len);
	x->start = r->start_us;
	x->end = r->end_us;
	x->dur = r->duration_us;
	x->events = r->events;
	x->pv = r->page_views;
	x->reached = r->reached;
	x->conv = r->converted;
	x->exact = r->funnel_exact;
	x->ttc = r->time_to_convert_us;
	if (c->n > 1 && r->end_us < c->last_end)
		c->order_ok = false;
	c->last_end = r->end_us;
}

static void cap_late(void *ctx, const struct st_session_late_rec *r)
{
	struct cap *c = ctx;
	CU_ASSERT_FATAL(c->nl < 16);
	struct late *l = &c->l[c->nl++];
	memset(l, 0, sizeof(*l));
	memcpy(l->user, r->user, r->user_len);
	l->ev = r->event_us;
	l->wm = r->watermark_us;
	l->step = r->step;
	l->pv = r->is_page_view;
}

struct fix {
	struct wr_counters cnt;
	struct st_sess *t;
	struct cap cap;
	struct st_sess_emit emit;
};

#define CNT(f, name) ((f)->cnt.v[WR_CNT_##name])

static struct fix *fix_new(uint32_t users, uint32_t sessions, int64_t max_len, uint32_t n_steps)
{
	struct fix *f = calloc(1, sizeof(*f));
	CU_ASSERT_FATAL(f != NULL);
	struct st_sess_params p = {
		.capacity = users, .session_capacity = sessions, .gap_us = GAP,
		.max_len_us = max_len, .lateness_us = LATE, .n_steps = n_steps,
	};
	CU_ASSERT_FATAL(st_sess_create(&p, &f->cnt, &f->t) == 0);
	f->cap.order_ok = true;
	f->emit = (struct st_sess_emit){ cap_session, cap_late, &f->cap };
	return f;
}

static void fix_free(struct fix *f)
{
	st_sess_destroy(f->t);
	free(f->cap.r);
	free(f);
}

static int add(struct fix *f, const char *u, int64_t ts, int32_t step, bool pv, int64_t wm)
{
	int rc = st_sess_add(f->t, u, strlen(u), ts, step, pv, wm, &f->emit);
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	return rc;
}

static uint32_t adv(struct fix *f, int64_t wm)
{
	uint32_t n = st_sess_advance(f->t, wm, &f->emit);
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	return n;
}

/* ---- sessions ---------------------------------------------------------- */

static void test_event_within_gap_extends_session(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	int64_t wm = T0 - MIN;
	CU_ASSERT_EQUAL(add(f, "u1", T0, NONE, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 10 * MIN, NONE, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 35 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_active), 1);
	CU_ASSERT_EQUAL(adv(f, T0 + 35 * MIN + HOLD - 1), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + 35 * MIN + HOLD), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	struct rec *r = &f->cap.r[0];
	CU_ASSERT_STRING_EQUAL(r->user, "u1");
	CU_ASSERT_EQUAL(r->start, T0);
	CU_ASSERT_EQUAL(r->end, T0 + 35 * MIN);
	CU_ASSERT_EQUAL(r->dur, 35 * MIN);
	CU_ASSERT_EQUAL(r->events, 3);
	CU_ASSERT_EQUAL(r->pv, 2);
	CU_ASSERT_EQUAL(r->reached, 0);
	CU_ASSERT_FALSE(r->conv);
	CU_ASSERT_EQUAL(r->ttc, -1);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_closed), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_active), 0);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
	fix_free(f);
}

static void test_event_exactly_gap_joins_one_more_opens_new(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	int64_t wm = T0 - MIN;
	CU_ASSERT_EQUAL(add(f, "u1", T0, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + GAP, NONE, false, wm), 0);         /* == gap: joins */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 2 * GAP + 1, NONE, false, wm), 0); /* gap + 1 us: new */
	CU_ASSERT_EQUAL(add(f, "u2", T0 + GAP, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 2);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 3);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 3);
	/* end order: u1 [T0, T0+gap] and u2 [T0+gap] tie on end, then u1's second */
	CU_ASSERT_EQUAL(f->cap.r[0].end, T0 + GAP);
	CU_ASSERT_EQUAL(f->cap.r[1].end, T0 + GAP);
	CU_ASSERT_STRING_EQUAL(f->cap.r[2].user, "u1");
	CU_ASSERT_EQUAL(f->cap.r[2].start, T0 + 2 * GAP + 1);
	CU_ASSERT_EQUAL(f->cap.r[2].events, 1);
	for (int i = 0; i < 2; i++)
		if (strcmp(f->cap.r[i].user, "u1") == 0) {
			CU_ASSERT_EQUAL(f->cap.r[i].start, T0);
			CU_ASSERT_EQUAL(f->cap.r[i].events, 2);
		} else {
			CU_ASSERT_EQUAL(f->cap.r[i].start, T0 + GAP);
			CU_ASSERT_EQUAL(f->cap.r[i].events, 1);
		}
	CU_ASSERT_TRUE(f->cap.order_ok);
	fix_free(f);
}

static void test_late_bridging_event_merges_sessions(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	int64_t wm = T0;
	CU_ASSERT_EQUAL(add(f, "u1", T0, LAND, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 1 * MIN, VIEW, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 55 * MIN, BUY, false, wm), 0);    /* 54 min later: new */
	CU_ASSERT_EQUAL(st_sess_active(f->t), 2);
	/* 27 min after the first session's end, 27 before the second: bridges */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 28 * MIN, CART, true, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 2);
	CU_ASSERT_EQUAL(CNT(f, sessions_active), 1);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	struct rec *r = &f->cap.r[0];
	CU_ASSERT_EQUAL(r->start, T0);
	CU_ASSERT_EQUAL(r->end, T0 + 55 * MIN);
	CU_ASSERT_EQUAL(r->events, 4);
	CU_ASSERT_EQUAL(r->pv, 3);
	/* the funnel spans both halves: land, view (first), cart (bridge), buy (second) */
	CU_ASSERT_EQUAL(r->reached, 4);
	CU_ASSERT_TRUE(r->conv);
	CU_ASSERT_TRUE(r->exact);
	CU_ASSERT_EQUAL(r->ttc, 55 * MIN);
	fix_free(f);
}

static void test_event_within_gap_of_one_side_does_not_merge(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	int64_t wm = T0;
	CU_ASSERT_EQUAL(add(f, "u1", T0, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 70 * MIN, NONE, false, wm), 0);
	/* 20 after the first, 50 before the second: extends the first only */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 20 * MIN, NONE, false, wm), 0);
	/* 5 before the second: extends it backwards */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 65 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 0);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 2);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 2);
	CU_ASSERT_EQUAL(f->cap.r[0].start, T0);
	CU_ASSERT_EQUAL(f->cap.r[0].end, T0 + 20 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[1].start, T0 + 65 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[1].end, T0 + 70 * MIN);
	fix_free(f);
}

static void test_max_length_splits_runaway_session(void)
{
	struct fix *f = fix_new(16, 0, 2 * 60 * MIN, 4);
	int64_t wm = T0;
	/* every 20 min: T0 .. T0+120 spans exactly max_len (allowed) */
	for (int i = 0; i <= 6; i++)
		CU_ASSERT_EQUAL(add(f, "bot", T0 + i * 20 * MIN, NONE, true, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 1);
	/* T0+140 would make the span 140 > 120: starts a new session */
	CU_ASSERT_EQUAL(add(f, "bot", T0 + 140 * MIN, NONE, true, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 2);
	CU_ASSERT_EQUAL(CNT(f, sessions_split), 1);
	CU_ASSERT_EQUAL(add(f, "bot", T0 + 160 * MIN, NONE, true, wm), 0);
	/*
	 * T0+130 is within gap of both; a merge (0..160) and joining the first
	 * (0..130) are too long, so it joins the second backwards (130..160)
	 */
	CU_ASSERT_EQUAL(add(f, "bot", T0 + 130 * MIN, NONE, true, wm), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_split), 1);
	/* an early event before the first that would stretch it past max_len: own session */
	CU_ASSERT_EQUAL(add(f, "bot", T0 - 10 * MIN, NONE, true, wm - 60 * MIN), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_split), 2);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 3);
	CU_ASSERT_EQUAL(f->cap.r[0].start, T0 - 10 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[0].events, 1);
	CU_ASSERT_EQUAL(f->cap.r[1].start, T0);
	CU_ASSERT_EQUAL(f->cap.r[1].end, T0 + 120 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[1].dur, 120 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[1].events, 7);
	CU_ASSERT_EQUAL(f->cap.r[2].start, T0 + 130 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[2].end, T0 + 160 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[2].events, 3);
	CU_ASSERT_TRUE(f->cap.order_ok);
	fix_free(f);
}

static void test_event_beyond_lateness_is_late(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	CU_ASSERT_EQUAL(add(f, "u1", T0, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + HOLD), 1);
	/* own session would close at once: T0+1 + gap + lateness > wm is required */
	CU_ASSERT_EQUAL(add(f, "u1", T0, BUY, true, T0 + HOLD), 1);
	CU_ASSERT_EQUAL(add(f, "u2", T0 - MIN, NONE, false, 0), 1);   /* stale wm: advance's counts */
	CU_ASSERT_EQUAL(CNT(f, session_events_late), 2);
	CU_ASSERT_EQUAL_FATAL(f->cap.nl, 2);
	CU_ASSERT_STRING_EQUAL(f->cap.l[0].user, "u1");
	CU_ASSERT_EQUAL(f->cap.l[0].ev, T0);
	CU_ASSERT_EQUAL(f->cap.l[0].wm, T0 + HOLD);
	CU_ASSERT_EQUAL(f->cap.l[0].step, BUY);
	CU_ASSERT_TRUE(f->cap.l[0].pv);
	CU_ASSERT_EQUAL(f->cap.l[1].wm, T0 + HOLD);
	/* later than lateness but its own session is still open: accepted */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 1, NONE, false, T0 + HOLD), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 2);

	/* a due session not yet closed counts as closed: inside its span is late */
	CU_ASSERT_EQUAL(add(f, "u3", T0 + 10 * MIN, NONE, false, T0 + HOLD), 0);
	CU_ASSERT_EQUAL(add(f, "u3", T0 + 20 * MIN, NONE, false, T0 + HOLD), 0);
	int64_t due = T0 + 20 * MIN + HOLD;
	CU_ASSERT_EQUAL(add(f, "u3", T0 + 15 * MIN, NONE, false, due), 1);
	/* and within gap after it opens a new session (not late: T0+21m + hold > wm) */
	CU_ASSERT_EQUAL(add(f, "u3", T0 + 21 * MIN, NONE, false, due), 0);
	CU_ASSERT_EQUAL(CNT(f, session_events_late), 3);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL(f->cap.n, 4);
	fix_free(f);
}

static void test_quiet_user_closes_when_watermark_passes(void)
{
	struct fix *f = fix_new(16, 0, 0, 4);
	CU_ASSERT_EQUAL(add(f, "idle", T0, LAND, true, T0), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + HOLD - 1), 0);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 1);
	CU_ASSERT_EQUAL(adv(f, T0 + HOLD), 1);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	CU_ASSERT_EQUAL(f->cap.r[0].reached, 1);
	CU_ASSERT_EQUAL(f->cap.r[0].dur, 0);
	/* the user entry was recycled: the same user starts afresh */
	CU_ASSERT_EQUAL(add(f, "idle", T0 + 2 * HOLD, NONE, true, T0 + HOLD), 0);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 1);
	/* a stale watermark to advance never goes back */
	CU_ASSERT_EQUAL(adv(f, T0), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + 3 * HOLD), 1);
	fix_free(f);
}

static void test_lazy_close_keeps_end_order(void)
{
	/* a session extended after its timer was set must close later, in end order */
	struct fix *f = fix_new(16, 0, 0, 0);
	CU_ASSERT_EQUAL(add(f, "a", T0, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(add(f, "b", T0 + 5 * MIN, NONE, false, T0), 0);
	for (int i = 1; i <= 4; i++)
		CU_ASSERT_EQUAL(add(f, "a", T0 + i * 10 * MIN, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + 5 * MIN + HOLD), 1);       /* b only; a re-keyed */
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	CU_ASSERT_STRING_EQUAL(f->cap.r[0].user, "b");
	CU_ASSERT_EQUAL(adv(f, T0 + 40 * MIN + HOLD - 1), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + 40 * MIN + HOLD), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 2);
	CU_ASSERT_EQUAL(f->cap.r[1].events, 5);
	/* n_steps == 0: no funnel, never converted */
	CU_ASSERT_EQUAL(f->cap.r[1].reached, 0);
	CU_ASSERT_FALSE(f->cap.r[1].conv);
	CU_ASSERT_TRUE(f->cap.order_ok);
	fix_free(f);
}

/* ---- funnel ------------------------------------------------------------ */

static struct rec one_session(int32_t const *steps, const int64_t *ts, int n)
{
	struct fix *f = fix_new(4, 0, 0, 4);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(add(f, "u", ts[i], steps[i], false, T0 - HOLD), 0);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 1);
	struct rec r = { 0 };
	if (f->cap.n == 1)
		r = f->cap.r[0];
	fix_free(f);
	return r;
}

static void test_funnel_repeats_count_once(void)
{
	int32_t st[] = { LAND, LAND, VIEW, VIEW, NONE, CART, CART };
	int64_t ts[] = { T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5, T0 + 6 };
	struct rec r = one_session(st, ts, 7);
	CU_ASSERT_EQUAL(r.events, 7);
	CU_ASSERT_EQUAL(r.reached, 3);
	CU_ASSERT_FALSE(r.conv);
	CU_ASSERT_EQUAL(r.ttc, -1);
	CU_ASSERT_TRUE(r.exact);
}

static void test_funnel_purchase_before_view_does_not_convert(void)
{
	int32_t st[] = { LAND, BUY, VIEW, CART };
	int64_t ts[] = { T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN };
	struct rec r = one_session(st, ts, 4);
	CU_ASSERT_EQUAL(r.reached, 3);
	CU_ASSERT_FALSE(r.conv);
	CU_ASSERT_EQUAL(r.ttc, -1);
	/* a step at the same time as its predecessor is not after it */
	int32_t st2[] = { LAND, VIEW, CART, BUY };
	int64_t ts2[] = { T0, T0 + MIN, T0 + MIN, T0 + 2 * MIN };
	r = one_session(st2, ts2, 4);
	CU_ASSERT_EQUAL(r.reached, 2);
	/* skipping a step stops the prefix there */
	int32_t st3[] = { LAND, CART, BUY };
	int64_t ts3[] = { T0, T0 + MIN, T0 + 2 * MIN };
	r = one_session(st3, ts3, 3);
	CU_ASSERT_EQUAL(r.reached, 1);
}

static void test_funnel_late_earlier_view_completes_chain(void)
{
	/* arrival order: land, cart, buy, then the view that happened before the cart */
	int32_t st[] = { LAND, CART, BUY, VIEW };
	int64_t ts[] = { T0, T0 + 3 * MIN, T0 + 4 * MIN, T0 + 1 * MIN };
	struct rec r = one_session(st, ts, 4);
	CU_ASSERT_EQUAL(r.reached, 4);
	CU_ASSERT_TRUE(r.conv);
	CU_ASSERT_TRUE(r.exact);
	CU_ASSERT_EQUAL(r.ttc, 4 * MIN);
	/* everything backwards in arrival */
	int32_t st2[] = { BUY, CART, VIEW, LAND };
	int64_t ts2[] = { T0 + 4 * MIN, T0 + 3 * MIN, T0 + 2 * MIN, T0 + 1 * MIN };
	r = one_session(st2, ts2, 4);
	CU_ASSERT_EQUAL(r.reached, 4);
	CU_ASSERT_EQUAL(r.ttc, 3 * MIN);
	/* a late earlier land re-anchors the chain on an earlier view */
	int32_t st3[] = { VIEW, LAND, VIEW, CART, BUY, LAND };
	int64_t ts3[] = { T0 + 2 * MIN, T0 + 5 * MIN, T0 + 6 * MIN, T0 + 7 * MIN,
			  T0 + 8 * MIN, T0 + 1 * MIN };
	r = one_session(st3, ts3, 6);
	CU_ASSERT_EQUAL(r.reached, 4);
	CU_ASSERT_TRUE(r.exact);
	CU_ASSERT_EQUAL(r.ttc, 7 * MIN);
}

static void test_time_to_convert_from_session_start(void)
{
	/* a late non-step event moves the start back: ttc counts from it */
	int32_t st[] = { LAND, VIEW, CART, BUY, NONE };
	int64_t ts[] = { T0, T0 + MIN, T0 + 2 * MIN, T0 + 9 * MIN, T0 - 20 * MIN };
	struct rec r = one_session(st, ts, 5);
	CU_ASSERT_EQUAL(r.start, T0 - 20 * MIN);
	CU_ASSERT_TRUE(r.conv);
	CU_ASSERT_EQUAL(r.ttc, 29 * MIN);
	/* the first purchase after the chain counts, not a later repeat */
	int32_t st2[] = { LAND, VIEW, CART, BUY, BUY };
	int64_t ts2[] = { T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN };
	r = one_session(st2, ts2, 5);
	CU_ASSERT_EQUAL(r.ttc, 3 * MIN);
}

static void test_funnel_history_bound(void)
{
	/* two views before any land: both kept (predecessor unreached), exact */
	int32_t st[] = { VIEW, VIEW, LAND };
	int64_t ts[] = { T0 + 10 * SEC, T0 + 20 * SEC, T0 + 15 * SEC };
	struct rec r = one_session(st, ts, 3);
	CU_ASSERT_EQUAL(r.reached, 2);
	CU_ASSERT_TRUE(r.exact);

	/* three views before the land arrives: the latest is dropped; result low, flagged */
	struct fix *f = fix_new(4, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	CU_ASSERT_EQUAL(add(f, "u", T0 + 10 * SEC, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u", T0 + 20 * SEC, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u", T0 + 30 * SEC, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u", T0 + 25 * SEC, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	CU_ASSERT_EQUAL(f->cap.r[0].reached, 1);     /* true value: 2 (view at +30 s) */
	CU_ASSERT_FALSE(f->cap.r[0].exact);
	CU_ASSERT_EQUAL(CNT(f, sessions_funnel_inexact), 1);
	fix_free(f);

	/* overflow of a step past the first unreached one does not matter */
	int32_t st3[] = { CART, CART, CART, LAND };
	int64_t ts3[] = { T0 + 1, T0 + 2, T0 + 3, T0 };
	r = one_session(st3, ts3, 4);
	CU_ASSERT_EQUAL(r.reached, 1);
	CU_ASSERT_TRUE(r.exact);
}

/* ---- limits and bad input ---------------------------------------------- */

static void test_table_full_is_counted(void)
{
	struct fix *f = fix_new(2, 3, 0, 4);
	int64_t wm = T0;
	CU_ASSERT_EQUAL(add(f, "u1", T0, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u2", T0, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "u3", T0, NONE, false, wm), -ENOSPC);   /* no user entry */
	CU_ASSERT_EQUAL(CNT(f, session_table_full), 1);
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 2 * GAP, NONE, false, wm), 0); /* third slot */
	CU_ASSERT_EQUAL(add(f, "u1", T0 + 4 * GAP, NONE, false, wm), -ENOSPC); /* pool empty */
	CU_ASSERT_EQUAL(CNT(f, session_table_full), 2);
	CU_ASSERT_EQUAL(add(f, "u2", T0 + 1, NONE, false, wm), 0);       /* joining still works */
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(adv(f, T0 + 1 + HOLD), 2);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 1);
	CU_ASSERT_EQUAL(add(f, "u3", T0 + 3 * GAP, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 2);
	CU_ASSERT_EQUAL(CNT(f, sessions_closed), 4);
	fix_free(f);
}

static void test_bad_input_rejected(void)
{
	struct fix *f = fix_new(4, 0, 0, 4);
	char long_id[ST_SESS_USER_MAX + 1];
	memset(long_id, 'x', sizeof(long_id));
	CU_ASSERT_EQUAL(st_sess_add(f->t, long_id, sizeof(long_id), T0, NONE, false, T0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_add(f->t, long_id, ST_SESS_USER_MAX, T0, NONE, false, T0, NULL), 0);
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 0, T0, NONE, false, T0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 1, T0, 4, false, T0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 1, T0, -2, false, T0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 1, INT64_MAX, NONE, false, T0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 1, INT64_MIN, NONE, false, T0, NULL), -EINVAL);
	/* NULL emit: counted, nothing called */
	CU_ASSERT_EQUAL(st_sess_add(f->t, "u", 1, T0 - 2 * HOLD, NONE, false, T0, NULL), 1);
	CU_ASSERT_EQUAL(st_sess_advance(f->t, INT64_MAX, NULL), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_closed), 1);
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	fix_free(f);

	struct wr_counters c;
	struct st_sess *t = NULL;
	struct st_sess_params ok = { .capacity = 4, .gap_us = GAP, .n_steps = 4 }, p;
	p = ok; p.capacity = 0;
	CU_ASSERT_EQUAL(st_sess_create(&p, &c, &t), -EINVAL);
	p = ok; p.gap_us = 0;
	CU_ASSERT_EQUAL(st_sess_create(&p, &c, &t), -EINVAL);
	p = ok; p.max_len_us = -1;
	CU_ASSERT_EQUAL(st_sess_create(&p, &c, &t), -EINVAL);
	p = ok; p.lateness_us = -1;
	CU_ASSERT_EQUAL(st_sess_create(&p, &c, &t), -EINVAL);
	p = ok; p.n_steps = ST_SESS_STEPS_MAX + 1;
	CU_ASSERT_EQUAL(st_sess_create(&p, &c, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_create(&ok, NULL, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_sess_create(&ok, &c, &t), 0);
	st_sess_destroy(t);
	st_sess_destroy(NULL);
}

/* ---- randomized runs against reference models -------------------------- */

static uint64_t rng_state;

/* splitmix64 over *@state: fixed seeds give the same sequence everywhere */
static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t splitmix_range(uint64_t *state, int64_t lo, int64_t hi)   /* [lo, hi] */
{
	return lo + (int64_t)(splitmix(state) % (uint64_t)(hi - lo + 1));
}

static uint64_t rnd(void)
{
	return splitmix(&rng_state);
}

static int64_t rnd_range(int64_t lo, int64_t hi)      /* [lo, hi] */
{
	return splitmix_range(&rng_state, lo, hi);
}

struct ev {
	uint32_t user;
	int64_t ts;
	int64_t key;        /* arrival order */
	int32_t step;
	bool pv;
};

/* Append an event of user @u at @ts arriving in @key order to the growing
 * array *@e (*@n used of *@size); the caller sets step and pv. */
static struct ev *ev_push(struct ev **e, size_t *n, size_t *size, uint32_t u, int64_t ts,
			  int64_t key)
{
	if (*n == *size) {
		*size *= 2;
		*e = realloc(*e, *size * sizeof(**e));
		CU_ASSERT_FATAL(*e != NULL);
	}
	struct ev *x = &(*e)[(*n)++];
	x->user = u;
	x->ts = ts;
	x->key = key;
	return x;
}

static int ev_by_key(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int ev_by_user_ts(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->user, y->user);
	if (c != 0)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Greedy funnel from the definition, over every event of a session. */
static void ref_funnel(const struct ev *const *e, size_t n, uint32_t n_steps, int64_t start,
		       struct rec *r)
{
	int64_t prev = INT64_MIN;
	r->reached = 0;
	for (uint32_t k = 0; k < n_steps; k++) {
		int64_t best = INT64_MAX;
		for (size_t i = 0; i < n; i++)
			if (e[i]->step == (int32_t)k && e[i]->ts > prev && e[i]->ts < best)
				best = e[i]->ts;
		if (best == INT64_MAX)
			break;
		prev = best;
		r->reached = k + 1;
	}
	r->conv = n_steps > 0 && r->reached == n_steps;
	r->ttc = r->conv ? prev - start : -1;
}

static void ref_fill(struct rec *r, uint32_t user, const struct ev *const *e, size_t n,
		     uint32_t n_steps)
{
	memset(r, 0, sizeof(*r));
	user_name(r->user, sizeof(r->user), user);
	r->start = INT64_MAX;
	r->end = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (e[i]->ts < r->start)
			r->start = e[i]->ts;
		if (e[i]->ts > r->end)
			r->end = e[i]->ts;
		r->pv += e[i]->pv;
	}
	r->events = n;
	r->dur = r->end - r->start;
	ref_funnel(e, n, n_steps, r->start, r);
}

/*
 * Users with bursts of activity: within a burst events are 0-20 min apart,
 * sometimes exactly gap or just over; bursts are 31-150 min apart. Steps
 * mostly follow the funnel order with noise (repeats, skips, strays).
 */
static size_t gen_events(struct ev **out, uint32_t n_users, int64_t burst_len_max, int64_t disorder)
{
	size_t size = 1024, n = 0;
	struct ev *e = malloc(size * sizeof(*e));
	CU_ASSERT_FATAL(e != NULL);
	for (uint32_t u = 0; u < n_users; u++) {
		int64_t ts = T0 + rnd_range(0, 6 * 60) * MIN + rnd_range(0, 59) * SEC;
		int bursts = (int)rnd_range(1, 3);
		for (int b = 0; b < bursts; b++) {
			int64_t burst_end = ts + rnd_range(0, burst_len_max);
			int next_step = 0;
			do {
				struct ev *x = ev_push(&e, &n, &size, u, ts,
						       ts + rnd_range(0, disorder - 1));
				x->pv = rnd() % 3 != 0;
				uint64_t d = rnd() % 10;
				if (d < 4) {
					x->step = NONE;
				} else if (d < 8) {
					x->step = next_step < 4 ? next_step : NONE;
					if (next_step < 4 && rnd() % 4 != 0)
						next_step++;
				} else {
					x->step = (int32_t)rnd_range(0, 3);
				}
				uint64_t g = rnd() % 20;
				int64_t step_gap = g == 0 ? GAP : g == 1 ? GAP + 1 : g == 2 ? 0
					: rnd_range(1, 20 * 60) * SEC + rnd_range(0, 999);
				ts += step_gap;
			} while (ts <= burst_end);
			ts += rnd_range(31, 150) * MIN;
		}
	}
	*out = e;
	return n;
}

/* Feed @e in arrival order with wm = max ts seen - disorder, advancing every 32 events. */
static void feed(struct fix *f, struct ev *e, size_t n, int64_t disorder)
{
	qsort(e, n, sizeof(*e), ev_by_key);
	int64_t max_ts = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		char id[72];
		int len = user_name(id, sizeof(id), e[i].user);
		if (e[i].ts > max_ts)
			max_ts = e[i].ts;
		int64_t wm = max_ts - disorder;
		int rc = st_sess_add(f->t, id, (size_t)len, e[i].ts, e[i].step, e[i].pv, wm, &f->emit);
		CU_ASSERT_EQUAL(rc, 0);
		if (i % 32 == 31)
			st_sess_advance(f->t, wm, &f->emit);
		if (i % 4096 == 0)
			CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	}
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	st_sess_advance(f->t, INT64_MAX, &f->emit);
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 0);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
}

/* Compare emitted sessions with the reference; returns the number of inexact funnels. */
static size_t compare(struct fix *f, struct rec *ref, size_t n_ref)
{
	CU_ASSERT_TRUE(f->cap.order_ok);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, n_ref);
	qsort(f->cap.r, f->cap.n, sizeof(*f->cap.r), rec_cmp);
	qsort(ref, n_ref, sizeof(*ref), rec_cmp);
	size_t inexact = 0, bad = 0;
	for (size_t i = 0; i < n_ref; i++) {
		const struct rec *a = &f->cap.r[i], *b = &ref[i];
		bool same = strcmp(a->user, b->user) == 0 && a->start == b->start &&
			a->end == b->end && a->dur == b->dur && a->events == b->events &&
			a->pv == b->pv;
		if (a->exact)
			same = same && a->reached == b->reached && a->conv == b->conv &&
				a->ttc == b->ttc;
		else
			same = same && a->reached <= b->reached; /* low, never high */
		inexact += !a->exact;
		if (!same && bad++ < 5)
			fprintf(stderr, "mismatch %s: got [%lld,%lld] ev %llu r %u ttc %lld x %d, "
				"want [%lld,%lld] ev %llu r %u ttc %lld\n", a->user,
				(long long)a->start, (long long)a->end, (unsigned long long)a->events,
				a->reached, (long long)a->ttc, a->exact, (long long)b->start,
				(long long)b->end, (unsigned long long)b->events, b->reached,
				(long long)b->ttc);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_funnel_inexact), inexact);
	return inexact;
}

/*
 * Burst events of @e[0..@n) (ids written to @ids), each with the highest
 * event time so far less @disorder as its watermark; every @late_every-th
 * event below index @late_until is moved three holds back, too old to place.
 */
static void fill_bev(const struct ev *e, size_t n, int64_t disorder, size_t late_every,
		     size_t late_until, char (*ids)[72], struct st_sess_ev *bev)
{
	int64_t max_ts = INT64_MIN;

	for (size_t i = 0; i < n; i++) {
		int len = user_name(ids[i], sizeof(ids[i]), e[i].user);
		if (e[i].ts > max_ts)
			max_ts = e[i].ts;
		int64_t ts = i % late_every == late_every - 1 && i < late_until ? e[i].ts - 3 * HOLD
										 : e[i].ts;
		bev[i] = (struct st_sess_ev){ ids[i], (uint32_t)len, e[i].step, ts,
					      max_ts - disorder, e[i].pv };
	}
}

/* add_burst gives the same records, in the same order, and the same
 * counters as single adds, with max_len splits, merges and late events. */
static void test_burst_add_equals_single_adds(void)
{
	rng_state = 7;
	const uint32_t n_users = 500;
	const int64_t disorder = 10 * MIN;
	struct ev *e;
	size_t n = gen_events(&e, n_users, 90 * MIN, disorder);
	qsort(e, n, sizeof(*e), ev_by_key);
	struct fix *a = fix_new(n_users, 0, 40 * MIN, 4), *b = fix_new(n_users, 0, 40 * MIN, 4);
	char (*ids)[72] = malloc(n * sizeof(*ids));
	struct st_sess_ev *bev = malloc(n * sizeof(*bev));
	int *rcb = malloc(n * sizeof(*rcb));
	CU_ASSERT_FATAL(ids != NULL && bev != NULL && rcb != NULL);
	size_t mism = 0;
	/* a few events are too old (the capture keeps 16 late records) */
	fill_bev(e, n, disorder, 50, 600, ids, bev);
	bev[3].user_len = 0;                 /* bad input in the middle of a burst */
	for (size_t i = 0; i < n; i += 37) {
		size_t m = n - i < 37 ? n - i : 37;  /* crosses the 32-event chunks */
		for (size_t k = i; k < i + m; k++) {
			int rc = st_sess_add(a->t, bev[k].user, bev[k].user_len, bev[k].ts_us,
					     bev[k].step, bev[k].is_page_view, bev[k].wm_us, &a->emit);
			rcb[k] = rc;
		}
		int rcs[37];
		uint32_t ok = st_sess_add_burst(b->t, bev + i, (uint32_t)m, &b->emit, rcs);
		uint32_t want_ok = 0;
		for (size_t k = 0; k < m; k++) {
			mism += rcs[k] != rcb[i + k];
			want_ok += rcb[i + k] == 0;
		}
		CU_ASSERT_EQUAL(ok, want_ok);
		st_sess_advance(a->t, bev[i + m - 1].wm_us, &a->emit);
		st_sess_advance(b->t, bev[i + m - 1].wm_us, &b->emit);
	}
	CU_ASSERT_EQUAL(rcb[3], -EINVAL);
	CU_ASSERT_EQUAL(st_sess_verify(b->t), 0);
	st_sess_advance(a->t, INT64_MAX, &a->emit);
	st_sess_advance(b->t, INT64_MAX, &b->emit);
	CU_ASSERT_EQUAL(mism, 0);
	CU_ASSERT_EQUAL_FATAL(a->cap.n, b->cap.n);
	CU_ASSERT_TRUE(a->cap.n > 100);
	CU_ASSERT_EQUAL(memcmp(a->cap.r, b->cap.r, a->cap.n * sizeof(*a->cap.r)), 0);
	CU_ASSERT_EQUAL(memcmp(&a->cnt, &b->cnt, sizeof(a->cnt)), 0);
	CU_ASSERT_TRUE(CNT(a, sessions_split) > 0 && CNT(a, sessions_merged) > 0);
	CU_ASSERT_TRUE(CNT(a, session_events_late) > 0);
	CU_ASSERT_TRUE(b->cap.order_ok);
	free(ids);
	free(bev);
	free(rcb);
	free(e);
	fix_free(a);
	fix_free(b);
}

/* A session merged away keeps its slot until the wheel reaches it; a full
 * pool takes such slots back at once, so the capacity is exact. */
static void test_merged_slot_reused_when_pool_full(void)
{
	struct fix *f = fix_new(4, 3, 0, 0);
	CU_ASSERT_EQUAL(add(f, "a", T0, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * GAP, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(add(f, "b", T0, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	/* bridges a's two sessions: one slot is dead, still linked */
	CU_ASSERT_EQUAL(add(f, "a", T0 + GAP, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 1);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 2);
	CU_ASSERT_EQUAL(add(f, "c", T0, NONE, false, T0), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(add(f, "d", T0, NONE, false, T0), -ENOSPC);
	CU_ASSERT_EQUAL(CNT(f, session_table_full), 1);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL(f->cap.n, 3);
	CU_ASSERT_EQUAL(f->cap.r[2].start, T0);
	CU_ASSERT_EQUAL(f->cap.r[2].end, T0 + 2 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[2].events, 3);
	CU_ASSERT_TRUE(f->cap.order_ok);
	fix_free(f);
}

/* ---- compact layout: overflow pool, arena, wide history ----------------- */

/* A user's second and third open sessions live in the overflow pool; the
 * inline spot is reused once its session closes while pool ones stay open. */
static void test_user_with_three_open_sessions_uses_overflow_pool(void)
{
	struct fix *f = fix_new(4, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	CU_ASSERT_EQUAL(add(f, "a", T0, LAND, false, wm), 0);                 /* inline */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * GAP, VIEW, true, wm), 0);        /* pool */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 4 * GAP, CART, false, wm), 0);       /* pool */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * GAP + 10 * SEC, BUY, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 10 * SEC, VIEW, true, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 4 * GAP - MIN, NONE, false, wm), 0); /* start earlier */
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 1);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 3);

	/* the inline (oldest) one closes; the user stays with two pool sessions */
	CU_ASSERT_EQUAL(adv(f, T0 + 10 * SEC + HOLD), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	CU_ASSERT_STRING_EQUAL(f->cap.r[0].user, "a");
	CU_ASSERT_EQUAL(f->cap.r[0].start, T0);
	CU_ASSERT_EQUAL(f->cap.r[0].end, T0 + 10 * SEC);
	CU_ASSERT_EQUAL(f->cap.r[0].events, 2);
	CU_ASSERT_EQUAL(f->cap.r[0].pv, 1);
	CU_ASSERT_EQUAL(f->cap.r[0].reached, 2);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 1);

	/* a new session goes inline again, after both pool ones in time */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 6 * GAP, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 6 * GAP + SEC, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 3);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), 4);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 4);
	CU_ASSERT_EQUAL(f->cap.r[1].start, T0 + 2 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[1].end, T0 + 2 * GAP + 10 * SEC);
	CU_ASSERT_EQUAL(f->cap.r[1].events, 2);
	CU_ASSERT_EQUAL(f->cap.r[1].pv, 2);
	CU_ASSERT_EQUAL(f->cap.r[1].reached, 0);                  /* no land */
	CU_ASSERT_EQUAL(f->cap.r[2].start, T0 + 4 * GAP - MIN);
	CU_ASSERT_EQUAL(f->cap.r[2].end, T0 + 4 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[2].events, 2);
	CU_ASSERT_EQUAL(f->cap.r[3].start, T0 + 6 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[3].end, T0 + 6 * GAP + SEC);
	CU_ASSERT_EQUAL(f->cap.r[3].reached, 2);
	CU_ASSERT_EQUAL(f->cap.r[3].ttc, -1);
	CU_ASSERT_TRUE(f->cap.order_ok);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_active), 0);
	fix_free(f);
}

/* Ids longer than ST_SESS_ID_INLINE go to the arena; ids sharing the
 * inline prefix are still told apart, and freed blocks are reused. */
static void test_long_user_ids_live_in_arena(void)
{
	char id[4][ST_SESS_USER_MAX + 1];
	size_t len[4] = { ST_SESS_ID_INLINE, ST_SESS_ID_INLINE + 1, 40, ST_SESS_USER_MAX };
	for (int i = 0; i < 4; i++) {
		memset(id[i], 'p', len[i]);
		id[i][len[i]] = '\0';
		id[i][len[i] - 1] = (char)('0' + i);   /* same first 24 bytes for 1..3 */
	}
	char twin[ST_SESS_USER_MAX + 1];                /* differs from id[3] in byte 50 only */
	memcpy(twin, id[3], sizeof(twin));
	twin[50] = 'q';

	struct fix *f = fix_new(8, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	for (int round = 0; round < 2; round++) {
		int64_t t0 = T0 + round * 4 * GAP;
		for (int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(add(f, id[i], t0 + i * SEC, LAND, false, wm), 0);
		CU_ASSERT_EQUAL(add(f, twin, t0 + 5 * SEC, NONE, false, wm), 0);
		for (int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(add(f, id[i], t0 + 10 * SEC + i * SEC, VIEW, true, wm), 0);
		CU_ASSERT_EQUAL(st_sess_used(f->t), 5);
		CU_ASSERT_EQUAL(st_sess_active(f->t), 5);
		size_t n0 = f->cap.n;
		CU_ASSERT_EQUAL(adv(f, t0 + 20 * SEC + HOLD), 5);
		CU_ASSERT_EQUAL_FATAL(f->cap.n, n0 + 5);
		CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
		/* end order: twin (t0+5s), then id[0..3] (t0+10s+i) */
		CU_ASSERT_STRING_EQUAL(f->cap.r[n0].user, twin);
		CU_ASSERT_EQUAL(f->cap.r[n0].events, 1);
		for (int i = 0; i < 4; i++) {
			struct rec *r = &f->cap.r[n0 + 1 + (size_t)i];
			CU_ASSERT_STRING_EQUAL(r->user, id[i]);
			CU_ASSERT_EQUAL(r->start, t0 + i * SEC);
			CU_ASSERT_EQUAL(r->end, t0 + 10 * SEC + i * SEC);
			CU_ASSERT_EQUAL(r->events, 2);
			CU_ASSERT_EQUAL(r->reached, 2);
		}
	}
	fix_free(f);
}

/*
 * A session merged away while it is the user's inline one stays linked in
 * the wheel; the user's next session meanwhile goes to the pool. When the
 * user has nothing open any more before the wheel reaches the dead session
 * (here: the survivor closes at the same time and sorts first), its entry
 * waits out of the index ("parked") without counting against the capacity.
 */
static void test_merged_away_inline_session_parks_user_entry(void)
{
	struct fix *f = fix_new(1, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * GAP, BUY, false, wm), 0);  /* inline */
	CU_ASSERT_EQUAL(add(f, "a", T0, LAND, false, wm), 0);           /* pool, earlier */
	CU_ASSERT_EQUAL(add(f, "b", T0, NONE, false, wm), -ENOSPC);     /* one user only */
	/* bridges them: the pool session absorbs the inline one */
	CU_ASSERT_EQUAL(add(f, "a", T0 + GAP, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 1);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 1);
	/* inline spot still dead: the next session is a pool one */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 4 * GAP, CART, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_active(f->t), 2);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * GAP - SEC, CART, false, wm), 0);
	CU_ASSERT_EQUAL(adv(f, T0 + 4 * GAP + HOLD), 2);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 2);
	struct rec *r = &f->cap.r[0];
	CU_ASSERT_STRING_EQUAL(r->user, "a");
	CU_ASSERT_EQUAL(r->start, T0);
	CU_ASSERT_EQUAL(r->end, T0 + 2 * GAP);
	CU_ASSERT_EQUAL(r->events, 4);
	CU_ASSERT_EQUAL(r->reached, 4);
	CU_ASSERT_TRUE(r->conv);
	CU_ASSERT_EQUAL(r->ttc, 2 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[1].start, T0 + 4 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[1].events, 1);

	/* the same merge, then the survivor is the user's last session: parked */
	int64_t t1 = T0 + 10 * GAP;
	CU_ASSERT_EQUAL(add(f, "c", t1 + 2 * GAP, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "c", t1, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "c", t1 + GAP, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 2);
	CU_ASSERT_EQUAL(adv(f, t1 + 2 * GAP + HOLD), 1);
	CU_ASSERT_EQUAL(st_sess_used(f->t), 0);
	CU_ASSERT_EQUAL(add(f, "b", t1 + 3 * GAP, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "c", t1 + 3 * GAP, NONE, false, wm), -ENOSPC);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 4);
	CU_ASSERT_STRING_EQUAL(f->cap.r[2].user, "c");
	CU_ASSERT_EQUAL(f->cap.r[2].start, t1);
	CU_ASSERT_EQUAL(f->cap.r[2].end, t1 + 2 * GAP);
	CU_ASSERT_EQUAL(f->cap.r[2].events, 3);
	CU_ASSERT_EQUAL(f->cap.r[2].reached, 1);
	CU_ASSERT_STRING_EQUAL(f->cap.r[3].user, "b");
	CU_ASSERT_EQUAL(CNT(f, sessions_closed), 4);
	CU_ASSERT_EQUAL(CNT(f, session_table_full), 2);
	CU_ASSERT_TRUE(f->cap.order_ok);
	fix_free(f);

	/*
	 * Parking proper needs the dead session already in the sorted run of
	 * the current tick when it is merged away, which takes a tick (about
	 * (gap + lateness) / 2048, here 2^21 us) longer than the gap (1 s).
	 * Both sessions of "c" close in tick k; the merge happens after the
	 * run of tick k was loaded; the survivor closes first, at the same
	 * time as the dead entry, leaving the user with nothing open.
	 */
	struct wr_counters cnt;
	memset(&cnt, 0, sizeof(cnt));
	struct cap cap = { .order_ok = true };
	struct st_sess_emit emit = { cap_session, cap_late, &cap };
	struct st_sess_params prm = { .capacity = 1, .gap_us = SEC, .lateness_us = 3600 * SEC,
				       .n_steps = 4 };
	struct st_sess *t = NULL;
	CU_ASSERT_FATAL(st_sess_create(&prm, &cnt, &t) == 0);
	const int64_t hold = SEC + 3600 * SEC, tick = INT64_C(1) << 21;
	int64_t k0 = (T0 / tick + 10) * tick;                 /* start of tick k */
	int64_t x = k0 + 2 * SEC - hold;                      /* inline session closes at k0 + 2 s */
	int64_t wm0 = x - hold;
	CU_ASSERT_EQUAL(st_sess_add(t, "c", 1, x, NONE, false, wm0, &emit), 0);
	CU_ASSERT_EQUAL(st_sess_add(t, "c", 1, x - 1500 * 1000, LAND, false, wm0, &emit), 0);
	CU_ASSERT_EQUAL(st_sess_advance(t, k0 + 100 * 1000, &emit), 0);
	CU_ASSERT_EQUAL(st_sess_verify(t), 0);
	CU_ASSERT_EQUAL(st_sess_add(t, "c", 1, x - 750 * 1000, VIEW, false, wm0, &emit), 0);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_sessions_merged], 1);
	CU_ASSERT_EQUAL(st_sess_verify(t), 0);
	CU_ASSERT_EQUAL(st_sess_advance(t, x + hold, &emit), 1);
	CU_ASSERT_EQUAL(st_sess_verify(t), 0);
	CU_ASSERT_EQUAL(st_sess_used(t), 0);
	CU_ASSERT_EQUAL(st_sess_add(t, "d", 1, x + hold, NONE, false, wm0, &emit), 0);
	CU_ASSERT_EQUAL(st_sess_verify(t), 0);
	CU_ASSERT_EQUAL(st_sess_advance(t, INT64_MAX, &emit), 1);
	CU_ASSERT_EQUAL_FATAL(cap.n, 2);
	CU_ASSERT_STRING_EQUAL(cap.r[0].user, "c");
	CU_ASSERT_EQUAL(cap.r[0].start, x - 1500 * 1000);
	CU_ASSERT_EQUAL(cap.r[0].end, x);
	CU_ASSERT_EQUAL(cap.r[0].events, 3);
	CU_ASSERT_EQUAL(cap.r[0].reached, 2);
	CU_ASSERT_STRING_EQUAL(cap.r[1].user, "d");
	CU_ASSERT_EQUAL(st_sess_verify(t), 0);
	st_sess_destroy(t);
	free(cap.r);
}

/*
 * Funnel times more than 2^32 us (71.6 min) after the session start are
 * kept exactly (wide history): by a step, by the start moving earlier and
 * by a merge.
 */
static void test_funnel_times_beyond_32_bit_offsets_exact(void)
{
	struct fix *f = fix_new(4, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	/* a step 80 min after the start */
	CU_ASSERT_EQUAL(add(f, "s", T0, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "s", T0 + 25 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "s", T0 + 50 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "s", T0 + 80 * MIN, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "s", T0 + 100 * MIN + 1, CART, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "s", T0 + 120 * MIN + 7, BUY, false, wm), 0);
	/* the start moves earlier until the history spans more than 71.6 min */
	CU_ASSERT_EQUAL(add(f, "r", T0 + 60 * MIN, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "r", T0 + 70 * MIN, CART, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "r", T0 + 35 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "r", T0 + 10 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "r", T0 - 15 * MIN, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "r", T0 + 75 * MIN, BUY, false, wm), 0);
	/* a merge whose result spans 90 min */
	CU_ASSERT_EQUAL(add(f, "m", T0, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "m", T0 + 20 * MIN, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "m", T0 + 75 * MIN, CART, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "m", T0 + 90 * MIN, BUY, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "m", T0 + 50 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), 1);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 3);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 3);
	/* end order: r (+75 min), m (+90 min), s (+120 min) */
	CU_ASSERT_STRING_EQUAL(f->cap.r[0].user, "r");
	CU_ASSERT_EQUAL(f->cap.r[0].start, T0 - 15 * MIN);
	CU_ASSERT_EQUAL(f->cap.r[0].reached, 4);
	CU_ASSERT_EQUAL(f->cap.r[0].ttc, 90 * MIN);
	CU_ASSERT_TRUE(f->cap.r[0].exact);
	CU_ASSERT_STRING_EQUAL(f->cap.r[1].user, "m");
	CU_ASSERT_EQUAL(f->cap.r[1].events, 5);
	CU_ASSERT_EQUAL(f->cap.r[1].reached, 4);
	CU_ASSERT_EQUAL(f->cap.r[1].ttc, 90 * MIN);
	CU_ASSERT_STRING_EQUAL(f->cap.r[2].user, "s");
	CU_ASSERT_EQUAL(f->cap.r[2].reached, 4);
	CU_ASSERT_TRUE(f->cap.r[2].conv);
	CU_ASSERT_EQUAL(f->cap.r[2].ttc, 120 * MIN + 7);
	CU_ASSERT_EQUAL(f->cap.r[2].dur, 120 * MIN + 7);
	CU_ASSERT_EQUAL(CNT(f, sessions_funnel_inexact), 0);
	fix_free(f);
}

static void offline_grouping_run(uint64_t seed)
{
	rng_state = seed;
	const uint32_t n_users = 2000;
	const int64_t disorder = 10 * MIN;
	struct ev *e;
	size_t n = gen_events(&e, n_users, 90 * MIN, disorder);
	struct fix *f = fix_new(n_users, 0, 0, 4);
	feed(f, e, n, disorder);

	/* reference: each user's events by time, split where consecutive ones are > gap apart */
	qsort(e, n, sizeof(*e), ev_by_user_ts);
	const struct ev **grp = malloc(n * sizeof(*grp));
	struct rec *ref = malloc(n * sizeof(*ref));
	CU_ASSERT_FATAL(grp != NULL && ref != NULL);
	size_t n_ref = 0, g = 0;
	for (size_t i = 0; i < n; i++) {
		grp[g++] = &e[i];
		if (i + 1 == n || e[i + 1].user != e[i].user || e[i + 1].ts - e[i].ts > GAP) {
			ref_fill(&ref[n_ref++], e[i].user, grp, g, 4);
			g = 0;
		}
	}
	size_t inexact = compare(f, ref, n_ref);
	printf("\n    %zu events, %zu sessions, %llu merges, %zu inexact funnels ",
	       n, n_ref, (unsigned long long)CNT(f, sessions_merged), inexact);
	/* the disorder must have exercised merges, and the history bound must rarely bite */
	CU_ASSERT_TRUE(CNT(f, sessions_merged) > 0);
	CU_ASSERT_TRUE(inexact * 100 < n_ref);
	CU_ASSERT_EQUAL(CNT(f, session_events_late), 0);
	CU_ASSERT_EQUAL(CNT(f, sessions_opened), n_ref + CNT(f, sessions_merged));
	free(grp);
	free(ref);
	free(e);
	fix_free(f);
}

static void test_random_matches_offline_gap_grouping(void)
{
	offline_grouping_run(42);
}

static void test_random_long_ids_match_offline_gap_grouping(void)
{
	g_long_ids = true;
	offline_grouping_run(7);
	g_long_ids = false;
}

/* ---- arrival-order reference with max_len ------------------------------ */

struct rsess {
	int64_t start, end;
	const struct ev **e;
	size_t n, size;
	struct rsess *next;     /* the user's open sessions, by time */
};

struct rmodel {
	struct rsess **user;    /* per user: open sessions sorted by start */
	int64_t gap, max_len, hold, adv;
	struct rec *out;
	size_t n_out;
	uint64_t merged, split;
};

static void rs_push(struct rsess *s, const struct ev *e)
{
	if (s->n == s->size) {
		s->size = s->size ? 2 * s->size : 8;
		s->e = realloc(s->e, s->size * sizeof(*s->e));
		CU_ASSERT_FATAL(s->e != NULL);
	}
	s->e[s->n++] = e;
	if (e->ts < s->start)
		s->start = e->ts;
	if (e->ts > s->end)
		s->end = e->ts;
}

static bool rm_len_ok(const struct rmodel *m, int64_t a, int64_t b)
{
	return m->max_len == 0 || b - a <= m->max_len;
}

/* The rules of st_session.h, literally, over explicit event lists. */
static void rm_add(struct rmodel *m, const struct ev *e, int64_t wm)
{
	if (wm < m->adv)
		wm = m->adv;
	struct rsess **link = &m->user[e->user], *p = NULL, *nx = NULL;
	for (struct rsess *s = *link; s != NULL; s = s->next) {
		if (s->start <= e->ts)
			p = s;
		else if (nx == NULL)
			nx = s;
	}
	bool p_alive = p != NULL && p->end + m->hold > wm;
	bool n_alive = nx != NULL && nx->end + m->hold > wm;
	bool p_ok = p_alive && e->ts - p->end <= m->gap;
	bool n_ok = n_alive && nx->start - e->ts <= m->gap;
	if (p != NULL && e->ts <= p->end && !p_alive)
		CU_FAIL_FATAL("reference: event inside a due session");
	if (p_ok && e->ts <= p->end) {
		rs_push(p, e);
	} else if (p_ok && n_ok && rm_len_ok(m, p->start, nx->end)) {
		for (size_t i = 0; i < nx->n; i++)
			rs_push(p, nx->e[i]);
		rs_push(p, e);
		p->next = nx->next;
		free(nx->e);
		free(nx);
		m->merged++;
	} else if (p_ok && rm_len_ok(m, p->start, e->ts)) {
		rs_push(p, e);
	} else if (n_ok && rm_len_ok(m, e->ts, nx->end)) {
		rs_push(nx, e);
	} else {
		CU_ASSERT_FATAL(e->ts + m->hold > wm);      /* no late events in this run */
		struct rsess *s = calloc(1, sizeof(*s));
		CU_ASSERT_FATAL(s != NULL);
		s->start = INT64_MAX;
		s->end = INT64_MIN;
		rs_push(s, e);
		if (p == NULL) {
			s->next = *link;
			*link = s;
		} else {
			s->next = p->next;
			p->next = s;
		}
		if (p_ok || n_ok)
			m->split++;
	}
}

static void rm_advance(struct rmodel *m, int64_t wm, uint32_t n_users)
{
	if (wm > m->adv)
		m->adv = wm;
	for (uint32_t u = 0; u < n_users; u++)
		for (struct rsess **link = &m->user[u]; *link != NULL;) {
			struct rsess *s = *link;
			if (s->end + m->hold > m->adv) {
				link = &s->next;
				continue;
			}
			ref_fill(&m->out[m->n_out++], u, s->e, s->n, 4);
			*link = s->next;
			free(s->e);
			free(s);
		}
}

static void test_random_max_len_matches_arrival_order_model(void)
{
	rng_state = 7;
	const uint32_t n_users = 2000;
	const int64_t disorder = 10 * MIN, max_len = 90 * MIN;
	struct ev *e;
	/* long bursts so that many sessions hit max_len */
	size_t n = gen_events(&e, n_users, 4 * 60 * MIN, disorder);
	qsort(e, n, sizeof(*e), ev_by_key);
	struct fix *f = fix_new(n_users, 4 * n_users, max_len, 4);
	struct rmodel m = {
		.user = calloc(n_users, sizeof(*m.user)), .gap = GAP, .max_len = max_len,
		.hold = HOLD, .adv = INT64_MIN, .out = malloc(n * sizeof(*m.out)),
	};
	CU_ASSERT_FATAL(m.user != NULL && m.out != NULL);
	int64_t max_ts = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		char id[72];
		int len = user_name(id, sizeof(id), e[i].user);
		if (e[i].ts > max_ts)
			max_ts = e[i].ts;
		int64_t wm = max_ts - disorder;
		CU_ASSERT_EQUAL(st_sess_add(f->t, id, (size_t)len, e[i].ts, e[i].step, e[i].pv,
					    wm, &f->emit), 0);
		rm_add(&m, &e[i], wm);
		if (i % 256 == 255) {
			st_sess_advance(f->t, wm, &f->emit);
			rm_advance(&m, wm, n_users);
			CU_ASSERT_EQUAL(f->cap.n, m.n_out);
		}
		if (i % 4096 == 0)
			CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	}
	st_sess_advance(f->t, INT64_MAX, &f->emit);
	rm_advance(&m, INT64_MAX, n_users);
	CU_ASSERT_EQUAL(st_sess_verify(f->t), 0);
	size_t inexact = compare(f, m.out, m.n_out);
	printf("\n    %zu events, %zu sessions, %llu splits, %llu merges, %zu inexact funnels ",
	       n, m.n_out, (unsigned long long)m.split, (unsigned long long)m.merged, inexact);
	CU_ASSERT_EQUAL(CNT(f, sessions_split), m.split);
	CU_ASSERT_EQUAL(CNT(f, sessions_merged), m.merged);
	CU_ASSERT_TRUE(m.split > 100);
	CU_ASSERT_TRUE(m.merged > 0);
	for (size_t i = 0; i < f->cap.n; i++)
		CU_ASSERT_TRUE(f->cap.r[i].dur <= max_len);
	free(m.user);
	free(m.out);
	free(e);
	fix_free(f);
}

/* ---- funnel fast path against the general path ------------------------ */

/*
 * Step-heavy users: within a burst events are 0-20 min apart (sometimes
 * exactly the same time, gap or gap + 1), 70 % of them a step (any step, so
 * steps recur several times per session and come before their
 * predecessors), repeats of the previous event's step and time; bursts last
 * up to @burst_len_max (beyond 71 min: wide histories) and are 31-150 min
 * apart. Arrival key: ts plus up to @disorder.
 */
static size_t gen_step_events(struct ev **out, uint32_t n_users, int64_t burst_len_max,
			      int64_t disorder)
{
	size_t size = 1024, n = 0;
	struct ev *e = malloc(size * sizeof(*e));
	CU_ASSERT_FATAL(e != NULL);
	for (uint32_t u = 0; u < n_users; u++) {
		int64_t ts = T0 + rnd_range(0, 6 * 60) * MIN + rnd_range(0, 59) * SEC;
		int bursts = (int)rnd_range(1, 4);
		for (int b = 0; b < bursts; b++) {
			int64_t burst_end = ts + rnd_range(0, burst_len_max);
			int32_t last_step = NONE;
			do {
				struct ev *x = ev_push(&e, &n, &size, u, ts,
						       ts + rnd_range(0, disorder - 1));
				x->pv = rnd() % 2 != 0;
				uint64_t d = rnd() % 10;
				x->step = d < 3 ? NONE : d < 5 ? last_step
					: (int32_t)rnd_range(0, 3);
				last_step = x->step;
				uint64_t g = rnd() % 20;
				int64_t step_gap = g < 3 ? 0 : g == 3 ? GAP : g == 4 ? GAP + 1
					: g < 12 ? rnd_range(1, 120) * SEC
					: rnd_range(1, 20 * 60) * SEC + rnd_range(0, 999);
				ts += step_gap;
			} while (ts <= burst_end);
			ts += rnd_range(31, 150) * MIN;
		}
	}
	*out = e;
	return n;
}

/*
 * Feed the same stream to a table with the funnel fast path and one forced
 * onto the general path (bursts of 32, advance after each): the same return
 * codes, table digests (stored history words, flags, overflow marks) at
 * every burst, records in the same order, counters. Returns the number of
 * funnel steps the fast table took the fast path for.
 */
static uint64_t fast_vs_general_run(uint64_t seed, int64_t max_len, int64_t burst_len_max,
				    uint64_t *steps_out)
{
	rng_state = seed;
	const uint32_t n_users = 1500;
	const int64_t disorder = 10 * MIN;
	struct ev *e;
	size_t n = gen_step_events(&e, n_users, burst_len_max, disorder);
	qsort(e, n, sizeof(*e), ev_by_key);
	struct fix *a = fix_new(n_users, 0, max_len, 4);
	struct fix *b = calloc(1, sizeof(*b));
	CU_ASSERT_FATAL(b != NULL);
	struct st_sess_params p = {
		.capacity = n_users, .gap_us = GAP, .max_len_us = max_len, .lateness_us = LATE,
		.n_steps = 4, .general_funnel_only = true,
	};
	CU_ASSERT_FATAL(st_sess_create(&p, &b->cnt, &b->t) == 0);
	b->cap.order_ok = true;
	b->emit = (struct st_sess_emit){ cap_session, cap_late, &b->cap };

	char (*ids)[72] = malloc(n * sizeof(*ids));
	struct st_sess_ev *bev = malloc(n * sizeof(*bev));
	CU_ASSERT_FATAL(ids != NULL && bev != NULL);
	uint64_t steps = 0;
	/* a few events too old to place (the capture keeps 16 late records) */
	fill_bev(e, n, disorder, 97, 1400, ids, bev);
	for (size_t i = 0; i < n; i++)
		steps += e[i].step >= 0;
	size_t rc_mism = 0, dig_mism = 0;
	for (size_t i = 0; i < n; i += 32) {
		uint32_t m = n - i < 32 ? (uint32_t)(n - i) : 32;
		int rca[32], rcb[32];
		st_sess_add_burst(a->t, bev + i, m, &a->emit, rca);
		st_sess_add_burst(b->t, bev + i, m, &b->emit, rcb);
		for (uint32_t k = 0; k < m; k++)
			rc_mism += rca[k] != rcb[k];
		dig_mism += st_sess_digest(a->t) != st_sess_digest(b->t);
		st_sess_advance(a->t, bev[i + m - 1].wm_us, &a->emit);
		st_sess_advance(b->t, bev[i + m - 1].wm_us, &b->emit);
		if (i % 4096 == 0) {
			CU_ASSERT_EQUAL(st_sess_verify(a->t), 0);
			CU_ASSERT_EQUAL(st_sess_verify(b->t), 0);
		}
	}
	CU_ASSERT_EQUAL(st_sess_verify(a->t), 0);
	CU_ASSERT_EQUAL(st_sess_verify(b->t), 0);
	st_sess_advance(a->t, INT64_MAX, &a->emit);
	st_sess_advance(b->t, INT64_MAX, &b->emit);
	CU_ASSERT_EQUAL(st_sess_verify(a->t), 0);
	CU_ASSERT_EQUAL(st_sess_verify(b->t), 0);
	CU_ASSERT_EQUAL(rc_mism, 0);
	CU_ASSERT_EQUAL(dig_mism, 0);
	CU_ASSERT_EQUAL_FATAL(a->cap.n, b->cap.n);
	size_t rec_mism = 0;
	for (size_t i = 0; i < a->cap.n; i++)
		rec_mism += memcmp(&a->cap.r[i], &b->cap.r[i], sizeof(a->cap.r[i])) != 0;
	CU_ASSERT_EQUAL(rec_mism, 0);
	CU_ASSERT_EQUAL(a->cap.nl, b->cap.nl);
	CU_ASSERT_EQUAL(memcmp(a->cap.l, b->cap.l, sizeof(a->cap.l)), 0);
	CU_ASSERT_EQUAL(memcmp(&a->cnt, &b->cnt, sizeof(a->cnt)), 0);
	CU_ASSERT_TRUE(a->cap.order_ok && b->cap.order_ok);
	/* the stream covers what the fast path must leave to the general one */
	CU_ASSERT_TRUE(CNT(a, sessions_merged) > 0);
	CU_ASSERT_TRUE(CNT(a, session_events_late) > 0);
	CU_ASSERT_TRUE(CNT(a, sessions_funnel_inexact) > 0);
	if (max_len > 0)
		CU_ASSERT_TRUE(CNT(a, sessions_split) > 0);
	size_t conv = 0;
	for (size_t i = 0; i < a->cap.n; i++)
		conv += a->cap.r[i].conv;
	CU_ASSERT_TRUE(conv > 0 && conv < a->cap.n);
	uint64_t fast = st_sess_funnel_fast(a->t);
	CU_ASSERT_EQUAL(st_sess_funnel_fast(b->t), 0);
	printf("\n    %zu events, %llu steps (%llu fast), %zu sessions, %llu merges, %llu splits, "
	       "%llu inexact ", n, (unsigned long long)steps, (unsigned long long)fast,
	       a->cap.n, (unsigned long long)CNT(a, sessions_merged),
	       (unsigned long long)CNT(a, sessions_split),
	       (unsigned long long)CNT(a, sessions_funnel_inexact));
	*steps_out = steps;
	free(ids);
	free(bev);
	free(e);
	fix_free(a);
	fix_free(b);
	return fast;
}

/* Unbounded sessions: merges by bridging events, histories beyond 71 min (wide). */
static void test_funnel_fast_path_equals_general_with_merges(void)
{
	uint64_t steps, fast = fast_vs_general_run(11, 0, 3 * 60 * MIN, &steps);
	/* most steps arrive at their session's end: the fast path is the usual case */
	CU_ASSERT_TRUE(fast * 2 > steps);
	CU_ASSERT_TRUE(fast < steps);
}

/* max_len splits (and events joining the later of two split sessions). */
static void test_funnel_fast_path_equals_general_with_max_len(void)
{
	uint64_t steps, fast = fast_vs_general_run(23, 40 * MIN, 90 * MIN, &steps);
	CU_ASSERT_TRUE(fast * 2 > steps);
	CU_ASSERT_TRUE(fast < steps);
}

/* In-order steps take the fast path (and give the defined funnel); an
 * earlier one, or a table forced onto the general path, does not. */
static void test_funnel_fast_path_taken_for_in_order_steps(void)
{
	struct fix *f = fix_new(4, 0, 0, 4);
	int64_t wm = T0 - HOLD;
	CU_ASSERT_EQUAL(add(f, "a", T0, LAND, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + MIN, VIEW, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + MIN, VIEW, false, wm), 0);    /* repeat */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 2 * MIN, NONE, false, wm), 0);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 3 * MIN, BUY, false, wm), 0);  /* waits for CART */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 4 * MIN, CART, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_funnel_fast(f->t), 5);
	/* earlier than the session's end: general path */
	CU_ASSERT_EQUAL(add(f, "a", T0 + 3 * MIN + 30 * SEC, CART, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_funnel_fast(f->t), 5);
	CU_ASSERT_EQUAL(add(f, "a", T0 + 5 * MIN, BUY, false, wm), 0);
	CU_ASSERT_EQUAL(st_sess_funnel_fast(f->t), 6);
	CU_ASSERT_EQUAL(adv(f, INT64_MAX), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n, 1);
	CU_ASSERT_EQUAL(f->cap.r[0].reached, 4);
	CU_ASSERT_TRUE(f->cap.r[0].conv);
	CU_ASSERT_EQUAL(f->cap.r[0].ttc, 5 * MIN);   /* the BUY at +3 min is before CART */
	CU_ASSERT_TRUE(f->cap.r[0].exact);
	fix_free(f);

	struct wr_counters cnt = { 0 };
	struct st_sess *t;
	struct st_sess_params p = { .capacity = 4, .gap_us = GAP, .n_steps = 4,
				    .general_funnel_only = true };
	CU_ASSERT_FATAL(st_sess_create(&p, &cnt, &t) == 0);
	CU_ASSERT_EQUAL(st_sess_add(t, "a", 1, T0, LAND, false, wm, NULL), 0);
	CU_ASSERT_EQUAL(st_sess_add(t, "a", 1, T0 + MIN, VIEW, false, wm, NULL), 0);
	CU_ASSERT_EQUAL(st_sess_funnel_fast(t), 0);
	st_sess_destroy(t);
}

/* The hash's short-tail load (two overlapping loads) gives what a plain
 * memcpy of the tail into a zeroed word gives: user hashes are unchanged. */
static void test_hash_tail_load_matches_memcpy(void)
{
	char buf[80];
	rng_state = 5;
	for (int rep = 0; rep < 50; rep++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)rnd();
		for (size_t len = 0; len <= ST_SESS_USER_MAX; len++) {
			/* the former tail: memcpy of len % 8 bytes after the full words */
			const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xbf58476d1ce4e5b9ULL;
			uint64_t h = (uint64_t)len * k1;
			size_t i = 0;
			for (; i + 8 <= len; i += 8) {
				uint64_t w;
				memcpy(&w, buf + 3 + i, 8);
				h ^= w * k2;
				h = ((h << 31) | (h >> 33)) * k1;
			}
			if (i < len) {
				uint64_t w = 0;
				memcpy(&w, buf + 3 + i, len - i);
				CU_ASSERT_EQUAL(st_load_tail(buf + 3 + i, len - i), w);
				h ^= w * k2;
				h = ((h << 31) | (h >> 33)) * k1;
			}
			CU_ASSERT_EQUAL(st_hash_bytes(0, buf + 3, len), st_fmix64(h));
		}
	}
	/* only the @len bytes count: nothing past them is read into the hash */
	CU_ASSERT_EQUAL(st_hash_bytes(0, "u1234", 5), st_hash_bytes(0, "u1234xyz", 5));
	CU_ASSERT_NOT_EQUAL(st_hash_bytes(0, "u1234", 5), st_hash_bytes(0, "u1235", 5));
}

/* ---- recorded digests of long random streams -------------------------- */

/*
 * Everything the table emits, folded into one 64-bit digest per stream in
 * emission order: every session record (all fields, user bytes), every
 * late record, every return code of add and advance, the table's state
 * digest and gauges after every advance, and the session counters at the
 * end. The expected values were recorded from the linked-list wheel
 * (buckets threaded through the sessions, git f3ccb89) on 2026-11-24; any
 * change to the wheel must leave them (and so every result and its order)
 * unchanged.
 */
struct dg_cfg {
	uint64_t seed;
	uint32_t users, capacity, session_capacity;
	int64_t gap, max_len, lateness;
	uint32_t n_steps, n_events;
	int64_t mean_dt;            /* mean event-time step of the stream */
	int64_t disorder;           /* usual arrival disorder, 0 .. disorder */
	int64_t slide;              /* > 0: users active in a sliding window of 40
				     * (for slide * 40 us each), else half the events
				     * from a hot twentieth of the users */
	uint64_t expect;
};

struct dg_state {
	uint64_t d, recs, lates;
};

static uint64_t dg_rng;
static bool dg_reserved;            /* dg_run: the table asks for reserved 2 MB pages */
static size_t dg_res_got, dg_res_want;  /* ... and what it got */

static uint64_t dg_rnd(void)
{
	return splitmix(&dg_rng);
}

static int64_t dg_range(int64_t lo, int64_t hi)      /* [lo, hi] */
{
	return splitmix_range(&dg_rng, lo, hi);
}

static void dg_mix(struct dg_state *s, uint64_t v)
{
	s->d = st_fmix64(s->d ^ (v + 0x9e3779b97f4a7c15ULL + (s->d << 6)));
}

static void dg_bytes(struct dg_state *s, const char *p, uint32_t n)
{
	dg_mix(s, n);
	for (uint32_t i = 0; i < n; i++)
		dg_mix(s, (uint8_t)p[i]);
}

static void dg_session(void *ctx, const struct st_session_rec *r)
{
	struct dg_state *s = ctx;
	s->recs++;
	dg_mix(s, 1);
	dg_bytes(s, r->user, r->user_len);
	dg_mix(s, (uint64_t)r->start_us);
	dg_mix(s, (uint64_t)r->end_us);
	dg_mix(s, (uint64_t)r->duration_us);
	dg_mix(s, r->events);
	dg_mix(s, r->page_views);
	dg_mix(s, (uint64_t)r->reached << 2 | (uint64_t)r->converted << 1 | r->funnel_exact);
	dg_mix(s, (uint64_t)r->time_to_convert_us);
}

static void dg_late(void *ctx, const struct st_session_late_rec *r)
{
	struct dg_state *s = ctx;
	s->lates++;
	dg_mix(s, 2);
	dg_bytes(s, r->user, r->user_len);
	dg_mix(s, (uint64_t)r->event_us);
	dg_mix(s, (uint64_t)r->watermark_us);
	dg_mix(s, (uint64_t)(uint32_t)r->step << 1 | r->is_page_view);
}

/* User @u's id: 1 .. 64 bytes, about a third longer than ST_SESS_ID_INLINE
 * (some sharing their first 24 bytes), a few exactly 24 or 25 bytes. */
static uint32_t dg_user_name(char *buf, uint32_t u)
{
	uint64_t h = st_fmix64(u + 1);
	uint32_t len;
	switch (h % 6) {
	case 0: case 1:
		len = 1 + (uint32_t)(h >> 8) % ST_SESS_ID_INLINE;
		break;
	case 2:
		len = ST_SESS_ID_INLINE + (uint32_t)(h >> 8) % 2;
		break;
	case 3:
		len = ST_SESS_ID_INLINE + 1 + (uint32_t)(h >> 8) % (ST_SESS_USER_MAX - ST_SESS_ID_INLINE);
		break;
	default:
		len = 8 + (uint32_t)(h >> 8) % 8;
		break;
	}
	/* a shared 26-byte prefix for long ids: told apart only in the arena */
	const char *pfx = "user-id-with-shared-prefix";
	for (uint32_t i = 0; i < len; i++)
		buf[i] = len > 26 && i < 26 ? pfx[i] : (char)('a' + (st_fmix64(h + i) % 26));
	/* the user number itself, so distinct users have distinct ids */
	for (uint32_t i = 0, v = u; i < 4 && i < len; i++, v >>= 6)
		buf[len - 1 - i] = (char)('0' + (v & 63));
	return len;
}

/* A user active at event time @at. */
static uint32_t dg_user(const struct dg_cfg *c, int64_t at)
{
	if (c->slide > 0)
		return (uint32_t)(((uint64_t)(at / c->slide) + dg_rnd() % 40) % c->users);
	return (uint32_t)(dg_rnd() % 2 ? dg_rnd() % (c->users / 20 + 1) : dg_rnd() % c->users);
}

static uint64_t dg_run(const struct dg_cfg *c, uint64_t *merged, uint64_t *split,
		       uint64_t *late, uint64_t *full, uint64_t *jumps)
{
	dg_rng = c->seed;
	struct wr_counters cnt = { 0 };
	struct st_sess *t;
	struct st_sess_params p = {
		.capacity = c->capacity, .session_capacity = c->session_capacity,
		.gap_us = c->gap, .max_len_us = c->max_len, .lateness_us = c->lateness,
		.n_steps = c->n_steps, .reserved_pages = dg_reserved,
	};
	CU_ASSERT_FATAL(st_sess_create(&p, &cnt, &t) == 0);
	dg_res_got = st_sess_reserved_bytes(t, &dg_res_want);
	struct dg_state s = { 0 };
	struct st_sess_emit emit = { dg_session, dg_late, &s };
	int64_t *last = malloc(c->users * sizeof(*last));
	CU_ASSERT_FATAL(last != NULL);
	for (uint32_t u = 0; u < c->users; u++)
		last[u] = T0;
	int64_t hold = c->gap + c->lateness;
	int64_t tick = 1;           /* the table's wheel tick: about hold / 2048 */
	while (tick < hold / 2048)
		tick *= 2;
	int64_t now = T0, adv_wm = INT64_MIN;
	char ids[ST_SESS_BURST][ST_SESS_USER_MAX];
	struct st_sess_ev ev[ST_SESS_BURST];
	uint32_t verify_fail = 0;
	*jumps = 0;
	for (uint32_t done = 0; done < c->n_events;) {
		uint32_t m = (uint32_t)dg_range(1, ST_SESS_BURST);
		for (uint32_t i = 0; i < m; i++) {
			now += dg_range(0, 2 * c->mean_dt);
			uint32_t u = dg_user(c, now);
			int64_t ts;
			uint64_t k = dg_rnd() % 100;
			if (k < (c->slide > 0 ? 25u : 5u) && adv_wm != INT64_MIN) {
				/* at the sessions closing in the current tick (bridges
				 * there kill sessions already in the sorted run) */
				ts = adv_wm - hold + dg_range(-tick, 2 * tick);
				u = dg_user(c, ts);
			} else if (k < 70)   /* usual disorder */
				ts = now - dg_range(0, c->disorder);
			else if (k < 80)     /* near the user's last event: joins, bridges */
				ts = last[u] + dg_range(-2 * c->gap, 2 * c->gap);
			else if (k < 85)     /* exactly gap away from it */
				ts = last[u] + (dg_rnd() % 2 ? c->gap : -c->gap);
			else if (k < 92)     /* beyond the lateness: late or joins an old one */
				ts = now - dg_range(c->lateness, 3 * hold);
			else                 /* in order */
				ts = now;
			if (ts > now)
				ts = now;
			last[u] = ts;
			ev[i] = (struct st_sess_ev){
				.user = ids[i], .user_len = dg_user_name(ids[i], u),
				.step = c->n_steps > 0 && dg_rnd() % 5 < 2
					? (int32_t)(dg_rnd() % c->n_steps) : -1,
				.ts_us = ts, .wm_us = now - c->lateness - dg_range(0, c->disorder),
				.is_page_view = dg_rnd() % 5 < 3,
			};
		}
		int rc[ST_SESS_BURST];
		if (dg_rnd() % 4 == 0) {
			for (uint32_t i = 0; i < m; i++)
				rc[i] = st_sess_add(t, ev[i].user, ev[i].user_len, ev[i].ts_us,
						    ev[i].step, ev[i].is_page_view, ev[i].wm_us, &emit);
		} else {
			st_sess_add_burst(t, ev, m, &emit, rc);
		}
		for (uint32_t i = 0; i < m; i++)
			dg_mix(&s, (uint64_t)(int64_t)rc[i]);
		done += m;
		/* advance at irregular moments, watermarks in irregular jumps
		 * (sometimes backwards: the table keeps the highest) */
		uint64_t a = dg_rnd() % 64;
		if (a < 24) {
			int64_t wm;
			if (a == 0) {            /* idle time: up to 3 holds, often a whole wheel turn */
				now += dg_range(0, 3 * hold);
				wm = now - c->lateness;
				++*jumps;
			} else if (a < 4) {
				wm = now - dg_range(0, 2 * hold);
			} else {
				wm = now - c->lateness - dg_range(0, c->disorder);
			}
			if (wm > adv_wm)
				adv_wm = wm;
			dg_mix(&s, 3);
			dg_mix(&s, st_sess_advance(t, wm, &emit));
			dg_mix(&s, st_sess_digest(t));
			dg_mix(&s, (uint64_t)st_sess_used(t) << 32 | st_sess_active(t));
			verify_fail += st_sess_verify(t) != 0;
		}
	}
	dg_mix(&s, st_sess_advance(t, INT64_MAX, &emit));
	verify_fail += st_sess_verify(t) != 0;
	CU_ASSERT_EQUAL(verify_fail, 0);
	CU_ASSERT_EQUAL(st_sess_active(t), 0);
	CU_ASSERT_EQUAL(st_sess_used(t), 0);
	static const enum wr_counter_id ids_cnt[] = {
		WR_CNT_sessions_opened, WR_CNT_sessions_closed, WR_CNT_sessions_merged,
		WR_CNT_sessions_split, WR_CNT_sessions_funnel_inexact, WR_CNT_session_events_late,
		WR_CNT_session_table_full, WR_CNT_sessions_active,
	};
	for (size_t i = 0; i < sizeof(ids_cnt) / sizeof(ids_cnt[0]); i++)
		dg_mix(&s, cnt.v[ids_cnt[i]]);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_sessions_closed], s.recs);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_session_events_late], s.lates);
	*merged = cnt.v[WR_CNT_sessions_merged];
	*split = cnt.v[WR_CNT_sessions_split];
	*late = cnt.v[WR_CNT_session_events_late];
	*full = cnt.v[WR_CNT_session_table_full];
	printf("\n    seed %llu: %llu sessions, %llu late, %llu merged, %llu split, %llu full, "
	       "%llu jumps, digest 0x%016llx ", (unsigned long long)c->seed,
	       (unsigned long long)s.recs, (unsigned long long)s.lates,
	       (unsigned long long)*merged, (unsigned long long)*split,
	       (unsigned long long)*full,
	       (unsigned long long)*jumps, (unsigned long long)s.d);
	free(last);
	st_sess_destroy(t);
	return s.d;
}

static const struct dg_cfg dg_streams[] = {
	/* many users, default session capacity, funnel, no max_len */
	{ 101, 20000, 20000, 0, GAP, 0, LATE, 4, 400000, 100 * 1000, 2 * MIN, 0,
	  0xf37f62adca7c2b6aULL },
	/* max_len splits, 3-step funnel */
	{ 202, 8000, 8000, 0, GAP, 40 * MIN, LATE, 3, 300000, 200 * 1000, 4 * MIN, 0,
	  0x32f1b442361cdfa0ULL },
	/* small session capacity: table full, sweeps of dead sessions */
	{ 303, 3000, 3000, 1200, GAP, 0, LATE, 4, 200000, 300 * 1000, 3 * MIN, 0,
	  0x858132d2da0a4ae3ULL },
	/* small user table (full too), max_len */
	{ 404, 200, 120, 150, GAP, 90 * MIN, LATE, 2, 100000, 10 * 1000 * 1000, 3 * MIN,
	  0, 0x211e3b756606e16dULL },
	/* huge session capacity, no funnel, long lateness */
	{ 505, 5000, 6000, 1u << 18, GAP, 0, 20 * MIN, 0, 300000, 150 * 1000, 15 * MIN,
	  0, 0x6406f603bf41054eULL },
	/* gap shorter than a tick (100 ms gap, 5 min lateness: ticks of
	 * 262 ms): parked user entries, several closes per tick */
	{ 606, 20000, 20000, 0, 100 * 1000, 0, 5 * MIN, 4, 300000, 2500, SEC, 50 * 1000,
	  0xb47a03c137e9ef06ULL },
	/* the same with max_len and a small session capacity */
	{ 707, 20000, 20000, 3000, 100 * 1000, 300 * 1000, 5 * MIN, 4, 300000, 2500, SEC,
	  50 * 1000, 0x399c76d40db2338cULL },
	/* 2 s gap, 2 h lateness: sessions of many users per tick */
	{ 808, 400, 400, 0, 2 * SEC, 0, 120 * MIN, 4, 200000, 5 * 1000, 30 * SEC, 0,
	  0x316f8b4d6d2724b0ULL },
	/* 10 ms gap, 1 min lateness (ticks of 33 ms), users active for
	 * 80 ms each: bridges inside the sorted run, parked entries */
	{ 909, 100000, 40000, 0, 10 * 1000, 0, 60 * SEC, 4, 300000, 375, 50 * 1000,
	  2 * 1000, 0x89f39cb004a8f5beULL },
};

static void test_random_streams_match_recorded_digests(void)
{
	const struct dg_cfg *cfg = dg_streams;
	for (size_t i = 0; i < WR_ARRAY_SIZE(dg_streams); i++) {
		uint64_t merged, split, late, full, jumps;
		uint64_t d = dg_run(&cfg[i], &merged, &split, &late, &full, &jumps);
		CU_ASSERT_EQUAL(d, cfg[i].expect);
		/* the stream covers what it is meant to */
		CU_ASSERT_TRUE(merged > 0 && late > 0 && jumps > 0);
		if (cfg[i].max_len > 0)
			CU_ASSERT_TRUE(split > 0);
		if (cfg[i].session_capacity > 0 && cfg[i].session_capacity < 1000)
			CU_ASSERT_TRUE(full > 0);
	}
}

#define HUGE_SYS "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static void test_reserved_pages_or_transparent(void)
{
	long free0 = wr_read_num(HUGE_SYS "free_hugepages", NULL);
	long resv0 = wr_read_num(HUGE_SYS "resv_hugepages", NULL);
	long kb0 = wr_read_num("/proc/self/status", "HugetlbPages");
	struct st_mem_res res = { 0, 0 };

	/* under 2 MB: never reserved pages, nor asked for */
	char *a = st_big_alloc(3 * 4096, ST_PAGES_RESERVED, &res);
	CU_ASSERT_TRUE_FATAL(a != NULL);
	CU_ASSERT_EQUAL(res.want, 0);
	CU_ASSERT_EQUAL(res.got, 0);
	st_big_free(a, 3 * 4096);
	CU_ASSERT_EQUAL(st_big_len(3 * 4096), 3 * 4096);
	CU_ASSERT_EQUAL(st_big_len((3u << 20) + 1), 4u << 20);

	/* more than the pool has free: transparent huge pages, usable */
	size_t big = (size_t)(free0 > 0 ? free0 + 1 : 1) * (2u << 20);
	char *b = st_big_alloc(big, ST_PAGES_RESERVED, &res);
	CU_ASSERT_TRUE_FATAL(b != NULL);
	CU_ASSERT_EQUAL(res.want, big);
	CU_ASSERT_EQUAL(res.got, 0);
	b[0] = 1;
	b[big - 1] = 1;
	st_big_free(b, big);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "resv_hugepages", NULL), resv0);

	if (free0 < 8 || kb0 < 0) {
		printf("\n    (hugetlb pool: %ld free 2 MB pages; reserved path not run)\n", free0);
		return;
	}
	/* room in the pool: reserved at mmap, taken at first touch, given
	 * back at free */
	res = (struct st_mem_res){ 0, 0 };
	a = st_big_alloc(3u << 20, ST_PAGES_RESERVED, &res);
	CU_ASSERT_TRUE_FATAL(a != NULL);
	CU_ASSERT_EQUAL(res.want, 4u << 20);
	CU_ASSERT_EQUAL(res.got, 4u << 20);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "resv_hugepages", NULL), resv0 + 2);
	CU_ASSERT_EQUAL(a[12345] + a[(3u << 20) - 1], 0);    /* zeroed */
	a[0] = 1;
	a[(3u << 20) - 1] = 1;
	CU_ASSERT_EQUAL(wr_read_num("/proc/self/status", "HugetlbPages") - kb0, 4096);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "free_hugepages", NULL), free0 - 2);
	st_big_free(a, 3u << 20);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "free_hugepages", NULL), free0);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "resv_hugepages", NULL), resv0);
	CU_ASSERT_EQUAL(wr_read_num("/proc/self/status", "HugetlbPages"), kb0);

	/* a table on reserved pages gives the recorded records of a stream */
	dg_reserved = true;
	uint64_t merged, split, late, full, jumps;
	uint64_t d = dg_run(&dg_streams[0], &merged, &split, &late, &full, &jumps);
	dg_reserved = false;
	CU_ASSERT_EQUAL(d, dg_streams[0].expect);
	CU_ASSERT_TRUE(dg_res_want > 0);
	if ((long)(dg_res_want >> 21) <= free0)
		CU_ASSERT_EQUAL(dg_res_got, dg_res_want);
	CU_ASSERT_EQUAL(wr_read_num(HUGE_SYS "free_hugepages", NULL), free0);
}

struct sort_pair {
	int64_t close;
	uint32_t seq;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct sort_pair *x = a, *y = b;
	if (x->close != y->close)
		return x->close < y->close ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The run sort (close time, then seq) against qsort, on shapes that break
 * naive quicksorts (sorted, reversed, organ pipe, all-equal close times,
 * few distinct values, random), at every depth limit: quicksort only,
 * heapsort at once, and a fallback part way down.
 */
static void test_run_sort_equals_qsort(void)
{
	enum { N = 3000 };
	static int64_t close[N];
	static uint32_t seq[N];
	static struct sort_pair ref[N];
	const uint32_t depths[] = { UINT32_MAX, 0, 1, 3 };
	rng_state = 11;
	uint32_t cases = 0, bad = 0;
	for (int shape = 0; shape < 6; shape++) {
		for (uint32_t n = 0; n <= N; n = n < 40 ? n + 1 : n * 3 / 2 + 7) {
			for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
				for (uint32_t i = 0; i < n; i++) {
					int64_t v;
					switch (shape) {
					case 0: v = i; break;
					case 1: v = (int64_t)n - i; break;
					case 2: v = i < n / 2 ? i : (int64_t)n - i; break;
					case 3: v = 7; break;
					case 4: v = (int64_t)(rnd() % 3); break;
					default: v = (int64_t)(rnd() % 1000000) - 500000; break;
					}
					close[i] = v;
					seq[i] = (uint32_t)(rnd() ^ (uint64_t)i << 20); /* distinct */
					seq[i] = seq[i] - seq[i] % N + i;
					ref[i] = (struct sort_pair){ v, seq[i] };
				}
				qsort(ref, n, sizeof(ref[0]), cmp_pair);
				CU_ASSERT_EQUAL_FATAL(st_sess_test_sort(close, seq, n, depths[d]), 0);
				for (uint32_t i = 0; i < n; i++)
					bad += close[i] != ref[i].close || seq[i] != ref[i].seq;
				cases++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(cases > 300);
}

static int reg(void)
{
	WR_SUITE("st_session",
		 WR_TEST(test_event_within_gap_extends_session),
		 WR_TEST(test_event_exactly_gap_joins_one_more_opens_new),
		 WR_TEST(test_late_bridging_event_merges_sessions),
		 WR_TEST(test_event_within_gap_of_one_side_does_not_merge),
		 WR_TEST(test_max_length_splits_runaway_session),
		 WR_TEST(test_event_beyond_lateness_is_late),
		 WR_TEST(test_quiet_user_closes_when_watermark_passes),
		 WR_TEST(test_lazy_close_keeps_end_order),
		 WR_TEST(test_funnel_repeats_count_once),
		 WR_TEST(test_funnel_purchase_before_view_does_not_convert),
		 WR_TEST(test_funnel_late_earlier_view_completes_chain),
		 WR_TEST(test_time_to_convert_from_session_start),
		 WR_TEST(test_funnel_history_bound),
		 WR_TEST(test_table_full_is_counted),
		 WR_TEST(test_bad_input_rejected),
		 WR_TEST(test_burst_add_equals_single_adds),
		 WR_TEST(test_merged_slot_reused_when_pool_full),
		 WR_TEST(test_user_with_three_open_sessions_uses_overflow_pool),
		 WR_TEST(test_long_user_ids_live_in_arena),
		 WR_TEST(test_merged_away_inline_session_parks_user_entry),
		 WR_TEST(test_funnel_times_beyond_32_bit_offsets_exact),
		 WR_TEST(test_random_matches_offline_gap_grouping),
		 WR_TEST(test_random_long_ids_match_offline_gap_grouping),
		 WR_TEST(test_random_max_len_matches_arrival_order_model),
		 WR_TEST(test_hash_tail_load_matches_memcpy),
		 WR_TEST(test_run_sort_equals_qsort),
		 WR_TEST(test_funnel_fast_path_taken_for_in_order_steps),
		 WR_TEST(test_funnel_fast_path_equals_general_with_merges),
		 WR_TEST(test_funnel_fast_path_equals_general_with_max_len),
		 WR_TEST(test_random_streams_match_recorded_digests),
		 WR_TEST(test_reserved_pages_or_transparent));
	return 0;
}

WR_TEST_MAIN(reg)
