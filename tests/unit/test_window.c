/*
 * test_window.c - st_window: counting, lateness, closing order, the alert
 * state machine, table limits, and two randomized runs checked against
 * brute-force reference models (window records/alerts, and index churn).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_watermark.h"
#include "st_window.h"
#include "wr_test.h"

#define SEC 1000000LL
#define WIN (60 * SEC)
#define T0 (INT64_C(28333334) * WIN)        /* an aligned 2023 epoch time */
#define W(n) (T0 + (int64_t)(n) * WIN)      /* start of window n */

/* ---- capture of emitted records (small, deterministic tests) ----------- */

#define CAP_N 64

struct cap_win {
	uint32_t rule;
	char key[ST_KEY_MAX + 1];
	uint32_t key_len;
	int64_t start, end;
	uint64_t count;
};

struct cap_alert {
	enum st_alert_kind kind;
	uint32_t rule;
	char key[ST_KEY_MAX + 1];
	int64_t start, end, event;
	uint64_t count, thr;
	uint32_t n_samples;
	char samples[ST_SAMPLES][ST_SAMPLE_MAX + 1];
	uint32_t sample_len[ST_SAMPLES];
};

struct cap_late {
	uint32_t rule;
	char key[ST_KEY_MAX + 1];
	int64_t event, wm;
	char line[64];
};

struct cap {
	struct cap_win win[CAP_N];
	struct cap_alert al[CAP_N];
	struct cap_late late[CAP_N];
	uint32_t n_win, n_al, n_late;
};

static void cap_window(void *ctx, const struct st_window_rec *r)
{
	struct cap *c = ctx;
	CU_ASSERT_FATAL(c->n_win < CAP_N);
	struct cap_win *w = &c->win[c->n_win++];
	w->rule = r->rule_idx;
	memcpy(w->key, r->key, r->key_len);
	w->key[r->key_len] = 0;
	w->key_len = r->key_len;
	w->start = r->start_us;
	w->end = r->end_us;
	w->count = r->count;
}

static void cap_alert(void *ctx, const struct st_alert_rec *r)
{
	struct cap *c = ctx;
	CU_ASSERT_FATAL(c->n_al < CAP_N);
	struct cap_alert *a = &c->al[c->n_al++];
	a->kind = r->kind;
	a->rule = r->rule_idx;
	memcpy(a->key, r->key, r->key_len);
	a->key[r->key_len] = 0;
	a->start = r->start_us;
	a->end = r->end_us;
	a->event = r->event_us;
	a->count = r->count;
	a->thr = r->threshold;
	a->n_samples = r->n_samples;
	CU_ASSERT_FATAL(r->n_samples <= ST_SAMPLES);
	for (uint32_t i = 0; i < r->n_samples; i++) {
		memcpy(a->samples[i], r->samples[i], r->sample_len[i]);
		a->samples[i][r->sample_len[i]] = 0;
		a->sample_len[i] = r->sample_len[i];
	}
}

static void cap_late(void *ctx, const struct st_late_rec *r)
{
	struct cap *c = ctx;
	CU_ASSERT_FATAL(c->n_late < CAP_N);
	struct cap_late *l = &c->late[c->n_late++];
	l->rule = r->rule_idx;
	memcpy(l->key, r->key, r->key_len);
	l->key[r->key_len] = 0;
	l->event = r->event_us;
	l->wm = r->watermark_us;
	CU_ASSERT_FATAL(r->line_len < sizeof(l->line));
	memcpy(l->line, r->line, r->line_len);
	l->line[r->line_len] = 0;
}

struct fx {
	struct st_wtab *t;
	struct wr_counters cnt;
	struct cap cap;
	struct st_emit emit;
};

static struct fx *fx_new_pool(uint32_t capacity, uint32_t slot_capacity, int64_t lateness,
			      const struct st_rule_params *rules, uint32_t n_rules)
{
	struct fx *f = calloc(1, sizeof(*f));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	struct st_wtab_params p = { .capacity = capacity, .lateness_us = lateness,
				    .slot_capacity = slot_capacity };
	CU_ASSERT_EQUAL_FATAL(st_wtab_create(&p, &f->cnt, &f->t), 0);
	st_wtab_set_rules(f->t, rules, n_rules);
	f->emit = (struct st_emit){ cap_window, cap_alert, cap_late, &f->cap };
	return f;
}

static struct fx *fx_new(uint32_t capacity, int64_t lateness, const struct st_rule_params *rules,
			 uint32_t n_rules)
{
	return fx_new_pool(capacity, 0, lateness, rules, n_rules);
}

static void fx_free(struct fx *f)
{
	CU_ASSERT_EQUAL(st_wtab_verify(f->t), 0);
	st_wtab_destroy(f->t);
	free(f);
}

static int add(struct fx *f, uint32_t rule, const char *key, int64_t ts, int64_t wm, const char *line)
{
	int rc = st_wtab_add(f->t, rule, key, strlen(key), ts, wm, line, strlen(line), &f->emit);
	CU_ASSERT_EQUAL(st_wtab_verify(f->t), 0);
	return rc;
}

static uint32_t advance(struct fx *f, int64_t wm)
{
	uint32_t n = st_wtab_advance(f->t, wm, &f->emit);
	CU_ASSERT_EQUAL(st_wtab_verify(f->t), 0);
	return n;
}

#define CNT(f, name) ((f)->cnt.v[WR_CNT_##name])

static void assert_win(const struct cap_win *w, uint32_t rule, const char *key, int64_t start,
		       int64_t len, uint64_t count)
{
	CU_ASSERT_EQUAL(w->rule, rule);
	CU_ASSERT_STRING_EQUAL(w->key, key);
	CU_ASSERT_EQUAL(w->start, start);
	CU_ASSERT_EQUAL(w->end, start + len);
	CU_ASSERT_EQUAL(w->count, count);
}

static const struct st_rule_params rule_quiet[] = { { WIN, 1000, 0 } };

/* ---- basic counting ----------------------------------------------------- */

static void test_create_rejects_bad_params(void)
{
	struct wr_counters cnt;
	struct st_wtab *t = NULL;
	struct st_wtab_params ok = { 16, 0, 0 }, zero = { 0, 0, 0 }, neg = { 16, -1, 0 };
	struct st_wtab_params huge_pool = { 16, 0, (1u << 29) + 1 };
	CU_ASSERT_EQUAL(st_wtab_create(NULL, &cnt, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_wtab_create(&zero, &cnt, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_wtab_create(&neg, &cnt, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_wtab_create(&huge_pool, &cnt, &t), -EINVAL);
	CU_ASSERT_EQUAL(st_wtab_create(&ok, NULL, &t), -EINVAL);
	CU_ASSERT_PTR_NULL(t);
	st_wtab_destroy(NULL);
}

static void test_bad_rule_index_rejected(void)
{
	struct fx *f = fx_new(8, 0, rule_quiet, 1);
	CU_ASSERT_EQUAL(add(f, 1, "k", W(0), W(0), "x"), -EINVAL);
	static const struct st_rule_params zero_len[] = { { 0, 1, 0 } };
	st_wtab_set_rules(f->t, zero_len, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0), W(0), "x"), -EINVAL);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_in_order_counts_per_window_exact(void)
{
	struct fx *f = fx_new(16, 0, rule_quiet, 1);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(add(f, 0, "a", W(0) + i * SEC, W(0) + i * SEC, "l"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "b", W(0) + 10 * SEC, W(0) + 10 * SEC, "l"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "b", W(0) + WIN - 1, W(0) + WIN - 1, "l"), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(add(f, 0, "a", W(1) + i * SEC, W(1) + i * SEC, "l"), 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 2);

	CU_ASSERT_EQUAL(advance(f, W(1) - 1), 0);      /* end is exclusive: not yet */
	CU_ASSERT_EQUAL(advance(f, W(1)), 2);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 2);
	assert_win(&f->cap.win[0], 0, "a", W(0), WIN, 5);  /* ties: opening order */
	assert_win(&f->cap.win[1], 0, "b", W(0), WIN, 2);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);          /* "b" recycled */

	CU_ASSERT_EQUAL(advance(f, W(2)), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 3);
	assert_win(&f->cap.win[2], 0, "a", W(1), WIN, 3);
	CU_ASSERT_EQUAL(CNT(f, windows_closed), 3);
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	CU_ASSERT_EQUAL(advance(f, W(10)), 0);
	fx_free(f);
}

static void test_negative_timestamps_floor_to_window(void)
{
	static const struct st_rule_params r[] = { { 10, 1000, 0 } };
	struct fx *f = fx_new(8, 0, r, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", -1, -100, "l"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", -10, -100, "l"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", 0, -100, "l"), 0);
	CU_ASSERT_EQUAL(advance(f, 0), 1);
	assert_win(&f->cap.win[0], 0, "k", -10, 10, 2);
	CU_ASSERT_EQUAL(advance(f, 10), 1);
	assert_win(&f->cap.win[1], 0, "k", 0, 10, 1);
	fx_free(f);
}

static void test_out_of_order_within_bound_counted_in_right_window(void)
{
	struct fx *f = fx_new(16, 0, rule_quiet, 1);
	const int64_t ooo = 10 * SEC;
	/* watermark = max ts - ooo, as st_wm computes it */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 55 * SEC, W(0) + 45 * SEC, "a"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1) + 2 * SEC, W(1) + 2 * SEC - ooo, "b"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 2 * SEC - ooo), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 58 * SEC, W(1) + 2 * SEC - ooo, "c"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 51 * SEC, W(1) + 2 * SEC - ooo, "d"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1) + 9 * SEC, W(1) + 9 * SEC - ooo, "e"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 9 * SEC - ooo), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1) + 11 * SEC, W(1) + 11 * SEC - ooo, "f"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 11 * SEC - ooo), 1);
	assert_win(&f->cap.win[0], 0, "k", W(0), WIN, 3);
	CU_ASSERT_EQUAL(advance(f, W(2)), 1);
	assert_win(&f->cap.win[1], 0, "k", W(1), WIN, 3);
	CU_ASSERT_EQUAL(CNT(f, events_late), 0);
	CU_ASSERT_EQUAL(f->cap.n_late, 0);
	fx_free(f);
}

static void test_late_beyond_bound_goes_to_late_callback(void)
{
	struct fx *f = fx_new(16, 0, rule_quiet, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + SEC, W(0), "first"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1) + 5 * SEC, W(1) + 5 * SEC, "second"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 5 * SEC), 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 30 * SEC, W(1) + 5 * SEC, "too late"), 1);
	CU_ASSERT_EQUAL(CNT(f, events_late), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_late, 1);
	CU_ASSERT_EQUAL(f->cap.late[0].rule, 0);
	CU_ASSERT_STRING_EQUAL(f->cap.late[0].key, "k");
	CU_ASSERT_EQUAL(f->cap.late[0].event, W(0) + 30 * SEC);
	CU_ASSERT_EQUAL(f->cap.late[0].wm, W(1) + 5 * SEC);
	CU_ASSERT_STRING_EQUAL(f->cap.late[0].line, "too late");
	/* a stale watermark from the caller cannot reopen the emitted window */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 40 * SEC, W(0), "stale"), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_late, 2);
	CU_ASSERT_EQUAL(f->cap.late[1].wm, W(1) + 5 * SEC);
	/* boundary: end == watermark is late, end == watermark + 1 is not */
	CU_ASSERT_EQUAL(add(f, 0, "j", W(2) - 1, W(2), "edge"), 1);
	CU_ASSERT_EQUAL(add(f, 0, "j", W(2), W(2), "edge"), 0);
	CU_ASSERT_EQUAL(CNT(f, events_late), 3);
	CU_ASSERT_EQUAL(f->cap.n_win, 1);
	CU_ASSERT_EQUAL(advance(f, W(3)), 2);
	assert_win(&f->cap.win[1], 0, "k", W(1), WIN, 1);
	assert_win(&f->cap.win[2], 0, "j", W(2), WIN, 1);
	fx_free(f);
}

static void test_allowed_lateness_keeps_window_open(void)
{
	struct fx *f = fx_new(16, 30 * SEC, rule_quiet, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + SEC, W(0) + SEC, "a"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 10 * SEC), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 59 * SEC, W(1) + 10 * SEC, "b"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 2 * SEC, W(1) + 30 * SEC - 1, "c"), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 30 * SEC - 1), 0);
	CU_ASSERT_EQUAL(advance(f, W(1) + 30 * SEC), 1);
	assert_win(&f->cap.win[0], 0, "k", W(0), WIN, 3);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 3 * SEC, W(1) + 30 * SEC, "d"), 1);
	CU_ASSERT_EQUAL(CNT(f, events_late), 1);
	CU_ASSERT_EQUAL(f->cap.late[0].wm, W(1) + 30 * SEC);
	fx_free(f);
}

static void test_idle_input_closes_window_via_watermark(void)
{
	struct fx *f = fx_new(16, 0, rule_quiet, 1);
	struct st_wm *wm = NULL;
	CU_ASSERT_EQUAL_FATAL(st_wm_create(2, 5 * SEC, 10 * SEC, &wm), 0);
	int64_t now = 1000 * SEC;                        /* wall clock, unrelated to T0 */
	st_wm_observe(wm, 0, W(0) + 50 * SEC, now);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 50 * SEC, st_wm_get(wm, now), "x"), 0);
	/* then silence: the window stays open while the input is active */
	CU_ASSERT_EQUAL(advance(f, st_wm_get(wm, now + 9 * SEC)), 0);
	/* idle at +10 s: W(0)+50+10-5 = W(0)+55 s, still inside the window */
	CU_ASSERT_EQUAL(advance(f, st_wm_get(wm, now + 10 * SEC)), 0);
	CU_ASSERT_EQUAL(advance(f, st_wm_get(wm, now + 15 * SEC - 1)), 0);
	/* +15 s: W(0)+60 s = W(1): the window closes with no new event */
	CU_ASSERT_EQUAL(st_wm_get(wm, now + 15 * SEC), W(1));
	CU_ASSERT_EQUAL(advance(f, st_wm_get(wm, now + 15 * SEC)), 1);
	assert_win(&f->cap.win[0], 0, "k", W(0), WIN, 1);
	st_wm_destroy(wm);
	fx_free(f);
}

/* ---- alerts ------------------------------------------------------------- */

static void test_threshold_fires_once_at_crossing_with_samples(void)
{
	static const struct st_rule_params r[] = { { WIN, 3, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	const char *lines[] = { "m1", "m2", "m3", "m4", "m5", "m6" };
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(add(f, 0, "host1", W(0) + (i + 1) * SEC, W(0), lines[i]), 0);
		CU_ASSERT_EQUAL(f->cap.n_al, i < 3 ? 0u : 1u);
	}
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	struct cap_alert *a = &f->cap.al[0];
	CU_ASSERT_EQUAL(a->kind, ST_ALERT_FIRE);
	CU_ASSERT_EQUAL(a->rule, 0);
	CU_ASSERT_STRING_EQUAL(a->key, "host1");
	CU_ASSERT_EQUAL(a->start, W(0));
	CU_ASSERT_EQUAL(a->end, W(1));
	CU_ASSERT_EQUAL(a->count, 4);
	CU_ASSERT_EQUAL(a->thr, 3);
	CU_ASSERT_EQUAL(a->event, W(0) + 4 * SEC);
	CU_ASSERT_EQUAL_FATAL(a->n_samples, 3);
	CU_ASSERT_STRING_EQUAL(a->samples[0], "m2");
	CU_ASSERT_STRING_EQUAL(a->samples[1], "m3");
	CU_ASSERT_STRING_EQUAL(a->samples[2], "m4");
	CU_ASSERT_EQUAL(a->sample_len[2], 2);
	fx_free(f);
}

static void test_threshold_zero_and_one_samples(void)
{
	static const struct st_rule_params r[] = { { WIN, 0, 0 }, { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 0, r, 2);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0), W(0), "only"), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(f->cap.al[0].count, 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.al[0].n_samples, 1);
	CU_ASSERT_STRING_EQUAL(f->cap.al[0].samples[0], "only");
	CU_ASSERT_EQUAL(add(f, 1, "k", W(0), W(0), "one"), 0);
	CU_ASSERT_EQUAL(add(f, 1, "k", W(0), W(0), "two"), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(f->cap.al[1].rule, 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.al[1].n_samples, 2);
	CU_ASSERT_STRING_EQUAL(f->cap.al[1].samples[0], "one");
	CU_ASSERT_STRING_EQUAL(f->cap.al[1].samples[1], "two");
	fx_free(f);
}

static void test_cooldown_suppresses_next_window_crossing(void)
{
	static const struct st_rule_params r[] = { { WIN, 1, 120 * SEC } };
	struct fx *f = fx_new(16, 0, r, 1);
	add(f, 0, "k", W(0) + 50 * SEC, W(0), "a");
	add(f, 0, "k", W(0) + 55 * SEC, W(0), "b");       /* fires, event W0+55 */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	advance(f, W(1));
	add(f, 0, "k", W(1) + 5 * SEC, W(1), "c");
	add(f, 0, "k", W(1) + 10 * SEC, W(1), "d");       /* 15 s after the fire */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 1);
	add(f, 0, "k", W(1) + 20 * SEC, W(1), "e");       /* past the crossing: nothing */
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 1);
	advance(f, W(2));                                 /* W1 at 3 > 1: still firing */
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 0);
	add(f, 0, "k", W(2) + 30 * SEC, W(2), "f");
	add(f, 0, "k", W(2) + 55 * SEC - 1, W(2), "g");   /* 119.999999 s after: suppressed */
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 2);
	advance(f, W(3));
	add(f, 0, "k", W(3), W(3), "h");
	add(f, 0, "k", W(3) + 55 * SEC - WIN, W(3), "i"); /* late: W(2) is closed */
	add(f, 0, "k", W(3) + 1 * SEC, W(3), "j");        /* 126 s after: fires */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 2);
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 2);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(f->cap.al[1].kind, ST_ALERT_FIRE);
	CU_ASSERT_EQUAL(f->cap.al[1].start, W(3));
	CU_ASSERT_EQUAL(f->cap.al[1].event, W(3) + SEC);
	CU_ASSERT_STRING_EQUAL(f->cap.al[1].samples[0], "h");
	CU_ASSERT_STRING_EQUAL(f->cap.al[1].samples[1], "j");
	fx_free(f);
}

static void test_cooldown_boundary_and_out_of_order(void)
{
	static const struct st_rule_params r[] = { { 10 * SEC, 0, 60 * SEC } };
	struct fx *f = fx_new(16, 100 * SEC, r, 1);
	add(f, 0, "k", T0 + 10 * SEC, T0, "a");               /* fires */
	add(f, 0, "k", T0 + 70 * SEC - 1, T0, "b");           /* 60 s - 1 us: suppressed */
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 1);
	add(f, 0, "k", T0 + 70 * SEC, T0, "c");               /* exactly 60 s: fires */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 2);
	/* an older window crossing 25 s before the last fire is suppressed too */
	add(f, 0, "k", T0 + 45 * SEC, T0, "d");
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 2);
	/* "k" now has 4 open windows; key "j": 65 s before fires */
	add(f, 0, "j", T0 + 70 * SEC, T0, "e");
	add(f, 0, "j", T0 + 5 * SEC, T0, "g");
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 4);
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 4);
	CU_ASSERT_EQUAL(f->cap.al[1].event, T0 + 70 * SEC);
	CU_ASSERT_EQUAL(f->cap.al[3].event, T0 + 5 * SEC);
	fx_free(f);
}

static void test_cooldown_zero_never_suppresses(void)
{
	static const struct st_rule_params r[] = { { WIN, 0, 0 } };
	struct fx *f = fx_new(16, 2 * WIN, r, 1);
	add(f, 0, "k", W(1), W(0), "a");
	add(f, 0, "k", W(0), W(0), "b");                  /* older window, out of order */
	add(f, 0, "k", W(2), W(0), "c");
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 3);
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 0);
	fx_free(f);
}

static void test_resolve_after_quiet_window(void)
{
	static const struct st_rule_params r[] = { { WIN, 3, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	for (int i = 0; i < 5; i++)
		add(f, 0, "k", W(0) + i * SEC, W(0), "x");
	add(f, 0, "k", W(1) + SEC, W(1), "y");
	add(f, 0, "k", W(1) + 2 * SEC, W(1), "y");
	add(f, 0, "k", W(1) + 3 * SEC, W(1), "y");        /* 3 == threshold: quiet */
	CU_ASSERT_EQUAL(advance(f, W(1)), 1);
	CU_ASSERT_EQUAL(f->cap.n_al, 1);                  /* W0 at 5: still firing */
	CU_ASSERT_EQUAL(advance(f, W(2)), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 2);
	assert_win(&f->cap.win[1], 0, "k", W(1), WIN, 3);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	struct cap_alert *a = &f->cap.al[1];
	CU_ASSERT_EQUAL(a->kind, ST_ALERT_RESOLVE);
	CU_ASSERT_STRING_EQUAL(a->key, "k");
	CU_ASSERT_EQUAL(a->start, W(1));
	CU_ASSERT_EQUAL(a->end, W(2));
	CU_ASSERT_EQUAL(a->count, 3);
	CU_ASSERT_EQUAL(a->thr, 3);
	CU_ASSERT_EQUAL(a->event, W(2));
	CU_ASSERT_EQUAL(a->n_samples, 0);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	CU_ASSERT_EQUAL(advance(f, W(5)), 0);
	CU_ASSERT_EQUAL(f->cap.n_al, 2);
	fx_free(f);
}

static void test_resolve_after_empty_window(void)
{
	static const struct st_rule_params r[] = { { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 10 * SEC, r, 1);
	add(f, 0, "k", W(0) + SEC, W(0), "a");
	add(f, 0, "k", W(0) + 2 * SEC, W(0), "b");
	CU_ASSERT_EQUAL(advance(f, W(1) + 10 * SEC), 1);
	CU_ASSERT_EQUAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);          /* kept: firing */
	CU_ASSERT_EQUAL(advance(f, W(2) + 10 * SEC - 1), 0);
	CU_ASSERT_EQUAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(advance(f, W(2) + 10 * SEC), 0); /* no window record for the empty one */
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	struct cap_alert *a = &f->cap.al[1];
	CU_ASSERT_EQUAL(a->kind, ST_ALERT_RESOLVE);
	CU_ASSERT_EQUAL(a->start, W(1));
	CU_ASSERT_EQUAL(a->end, W(2));
	CU_ASSERT_EQUAL(a->count, 0);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(CNT(f, windows_closed), 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_empty_window_after_busy_window_resolves(void)
{
	/* fire in W0, W1 over threshold again (fires: cooldown 0), W2 empty */
	static const struct st_rule_params r[] = { { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	add(f, 0, "k", W(0), W(0), "a");
	add(f, 0, "k", W(0), W(0), "b");
	add(f, 0, "k", W(1), W(1), "c");
	add(f, 0, "k", W(1), W(1), "d");
	add(f, 0, "k", W(1), W(1), "e");
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 2);
	CU_ASSERT_EQUAL(advance(f, W(2)), 2);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 0);
	CU_ASSERT_EQUAL(advance(f, W(3)), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 3);
	CU_ASSERT_EQUAL(f->cap.al[2].kind, ST_ALERT_RESOLVE);
	CU_ASSERT_EQUAL(f->cap.al[2].start, W(2));
	CU_ASSERT_EQUAL(f->cap.al[2].count, 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_late_match_in_pending_empty_window_resolves_with_its_count(void)
{
	/* W1 is scheduled as "empty" but then gets a (non-late) match */
	static const struct st_rule_params r[] = { { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 30 * SEC, r, 1);
	add(f, 0, "k", W(0), W(0), "a");
	add(f, 0, "k", W(0), W(0), "b");
	CU_ASSERT_EQUAL(advance(f, W(1) + 30 * SEC), 1);
	add(f, 0, "k", W(1) + 5 * SEC, W(2), "c");
	CU_ASSERT_EQUAL(advance(f, W(2) + 30 * SEC), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(f->cap.al[1].kind, ST_ALERT_RESOLVE);
	CU_ASSERT_EQUAL(f->cap.al[1].start, W(1));
	CU_ASSERT_EQUAL(f->cap.al[1].count, 1);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(advance(f, W(9)), 0);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_empty_window_before_later_matches_resolves(void)
{
	/* fire in W0; next matches only in W2: W1 (empty) resolves first */
	static const struct st_rule_params r[] = { { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	add(f, 0, "k", W(0), W(0), "a");
	add(f, 0, "k", W(0), W(0), "b");
	advance(f, W(1));
	add(f, 0, "k", W(2) + SEC, W(1) + 30 * SEC, "c");
	CU_ASSERT_EQUAL(advance(f, W(2)), 0);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(f->cap.al[1].kind, ST_ALERT_RESOLVE);
	CU_ASSERT_EQUAL(f->cap.al[1].start, W(1));
	CU_ASSERT_EQUAL(f->cap.al[1].count, 0);
	CU_ASSERT_EQUAL(advance(f, W(3)), 1);
	CU_ASSERT_EQUAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_backlog_window_closing_before_fired_one_does_not_resolve(void)
{
	/* fire in W3 while W0 (quiet) is still open; W1 and W2 stay empty */
	static const struct st_rule_params r[] = { { WIN, 1, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	add(f, 0, "k", W(0), W(0), "a");
	add(f, 0, "k", W(3), W(0), "b");
	add(f, 0, "k", W(3) + SEC, W(0), "c");            /* fires, window W3 */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	CU_ASSERT_EQUAL(advance(f, W(1)), 1);             /* W0 at 1: older, no resolve */
	CU_ASSERT_EQUAL(advance(f, W(3)), 0);             /* empty W1, W2: older too */
	CU_ASSERT_EQUAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(advance(f, W(4)), 1);             /* W3 at 2: still firing */
	CU_ASSERT_EQUAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(advance(f, W(5)), 0);             /* empty W4 resolves */
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 2);
	CU_ASSERT_EQUAL(f->cap.al[1].kind, ST_ALERT_RESOLVE);
	CU_ASSERT_EQUAL(f->cap.al[1].start, W(4));
	CU_ASSERT_EQUAL(f->cap.al[1].count, 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_reused_slot_starts_with_empty_samples(void)
{
	static const struct st_rule_params r[] = { { WIN, 2, 0 } };
	struct fx *f = fx_new_pool(4, 1, 0, r, 1);
	add(f, 0, "a", W(0), W(0), "a1");
	add(f, 0, "a", W(0), W(0), "a2");
	CU_ASSERT_EQUAL(advance(f, W(1)), 1);             /* the only slot is free again */
	add(f, 0, "b", W(1), W(1), "b1");
	add(f, 0, "b", W(1), W(1), "b2");
	add(f, 0, "b", W(1), W(1), "b3");
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.al[0].n_samples, 3);
	CU_ASSERT_STRING_EQUAL(f->cap.al[0].samples[0], "b1");
	CU_ASSERT_STRING_EQUAL(f->cap.al[0].samples[2], "b3");
	fx_free(f);
}

static void test_cooldown_survives_resolve_and_recycling(void)
{
	/* fire, resolve, fire again soon after: the cooldown must still hold */
	static const struct st_rule_params r[] = { { WIN, 1, 300 * SEC } };
	struct fx *f = fx_new(16, 0, r, 1);
	add(f, 0, "k", W(0) + 10 * SEC, W(0), "a");
	add(f, 0, "k", W(0) + 20 * SEC, W(0), "b");       /* fires at W0+20 */
	advance(f, W(1));
	add(f, 0, "k", W(1) + SEC, W(1), "c");
	advance(f, W(2));                                 /* W1 at 1: resolves */
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);          /* kept for its cooldown */
	advance(f, W(3));
	add(f, 0, "k", W(3), W(3), "d");
	add(f, 0, "k", W(3) + SEC, W(3), "e");            /* 161 s after: suppressed */
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	CU_ASSERT_EQUAL(CNT(f, alerts_cooldown), 1);
	advance(f, W(4));
	/* expiry: last fire + cooldown + window = W0+20+300+60 s = W(6)+20 s */
	CU_ASSERT_EQUAL(advance(f, W(6) + 20 * SEC - 1), 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);
	advance(f, W(6) + 20 * SEC);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	add(f, 0, "k", W(6) + 21 * SEC, W(6) + 20 * SEC, "f");
	add(f, 0, "k", W(6) + 22 * SEC, W(6) + 20 * SEC, "g");
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 2);
	fx_free(f);
}

static void test_multiple_rules_and_keys_independent(void)
{
	static const struct st_rule_params r[] = { { WIN, 1, 0 }, { 10 * SEC, 5, 0 } };
	struct fx *f = fx_new(16, 0, r, 2);
	add(f, 0, "k", W(0) + 1 * SEC, W(0), "r0k");
	add(f, 1, "k", W(0) + 2 * SEC, W(0), "r1k");
	add(f, 0, "j", W(0) + 3 * SEC, W(0), "r0j");
	add(f, 1, "k", W(0) + 4 * SEC, W(0), "r1k");
	add(f, 0, "k", W(0) + 15 * SEC, W(0), "r0k");     /* rule 0 / k crosses */
	add(f, 1, "j", W(0) + 16 * SEC, W(0), "r1j");
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 4);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(f->cap.al[0].rule, 0);
	CU_ASSERT_STRING_EQUAL(f->cap.al[0].key, "k");
	CU_ASSERT_EQUAL(f->cap.al[0].count, 2);
	CU_ASSERT_EQUAL(advance(f, W(1)), 4);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 4);
	/* in order of end time: rule 1's 10 s windows first */
	assert_win(&f->cap.win[0], 1, "k", W(0), 10 * SEC, 2);
	assert_win(&f->cap.win[1], 1, "j", W(0) + 10 * SEC, 10 * SEC, 1);
	assert_win(&f->cap.win[2], 0, "k", W(0), WIN, 2);
	assert_win(&f->cap.win[3], 0, "j", W(0), WIN, 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);          /* rule 0 / k is firing */
	fx_free(f);
}

static void test_long_key_and_line_truncated(void)
{
	static const struct st_rule_params r[] = { { WIN, 0, 0 } };
	struct fx *f = fx_new(16, 0, r, 1);
	char k1[200], k2[200], line[400];
	memset(k1, 'a', sizeof(k1));
	memset(k2, 'a', sizeof(k2));
	k2[150] = 'b';                                    /* differs past ST_KEY_MAX */
	memset(line, 'z', sizeof(line));
	CU_ASSERT_EQUAL(st_wtab_add(f->t, 0, k1, sizeof(k1), W(0), W(0), line, sizeof(line),
				    &f->emit), 0);
	CU_ASSERT_EQUAL(st_wtab_add(f->t, 0, k2, sizeof(k2), W(0), W(0), "x", 1, &f->emit), 0);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_al, 1);
	CU_ASSERT_EQUAL(strlen(f->cap.al[0].key), ST_KEY_MAX);
	CU_ASSERT_EQUAL(f->cap.al[0].sample_len[0], ST_SAMPLE_MAX);
	advance(f, W(1));
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 1);
	CU_ASSERT_EQUAL(f->cap.win[0].key_len, ST_KEY_MAX);
	CU_ASSERT_EQUAL(f->cap.win[0].count, 2);
	fx_free(f);
}

static void test_table_full_counted(void)
{
	struct fx *f = fx_new(2, 0, rule_quiet, 1);
	CU_ASSERT_EQUAL(add(f, 0, "a", W(0), W(0), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "b", W(0), W(0), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "c", W(0), W(0), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(add(f, 0, "a", W(0), W(0), "x"), 0);   /* known keys still count */
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 2);
	CU_ASSERT_EQUAL(advance(f, W(1)), 2);
	CU_ASSERT_EQUAL(f->cap.win[0].count, 2);
	CU_ASSERT_EQUAL(add(f, 0, "c", W(1), W(1), "x"), 0);   /* room again */
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 1);
	fx_free(f);
}

static void test_pool_exhaustion_counted_and_recovers(void)
{
	/* 4 keys, 5 window slots shared; lateness keeps every window open */
	struct fx *f = fx_new_pool(4, 5, 10 * WIN, rule_quiet, 1);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(add(f, 0, "k", W(i), W(0), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "j", W(0), W(0), "x"), 0);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 5);
	/* pool empty: a new window of a known key, and a new key, are dropped */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(4), W(0), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(add(f, 0, "j", W(1), W(0), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(add(f, 0, "n", W(0), W(0), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 2);           /* no entry taken for "n" */
	/* open windows still count */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1), W(0), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "j", W(0), W(0), "x"), 0);
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 3);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 5);
	/* W0 of "k" and "j" close: two slots come back */
	CU_ASSERT_EQUAL(advance(f, W(1) + 10 * WIN), 2);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 3);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 1);
	CU_ASSERT_EQUAL(add(f, 0, "n", W(4), W(1), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(4), W(1), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(5), W(1), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 4);
	CU_ASSERT_EQUAL(advance(f, ST_WM_MAX), 5);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 7);
	assert_win(&f->cap.win[0], 0, "k", W(0), WIN, 1);
	assert_win(&f->cap.win[1], 0, "j", W(0), WIN, 2);
	assert_win(&f->cap.win[2], 0, "k", W(1), WIN, 2);
	assert_win(&f->cap.win[3], 0, "k", W(2), WIN, 1);
	assert_win(&f->cap.win[4], 0, "k", W(3), WIN, 1);
	assert_win(&f->cap.win[5], 0, "n", W(4), WIN, 1);
	assert_win(&f->cap.win[6], 0, "k", W(4), WIN, 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 0);
	fx_free(f);
}

static void test_default_pool_is_twice_capacity(void)
{
	struct fx *f = fx_new(3, 100 * WIN, rule_quiet, 1);
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(add(f, 0, "k", W(i), W(0), "x"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(6), W(0), "x"), -ENOSPC);
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 1);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 6);
	fx_free(f);
}

/*
 * Out-of-orderness of an hour with 1-minute windows: one key holds 60
 * windows at once, filled in scrambled order; each counts exactly and they
 * close oldest first. Window i gets i + 1 matches, another key interleaves.
 */
static void test_key_with_60_open_windows_counts_exactly(void)
{
	struct fx *f = fx_new_pool(4, 64, 0, rule_quiet, 1);
	int n = 0;
	for (int round = 0; round < 60; round++) {
		for (int j = 0; j < 60; j++) {
			int w = (j * 37 + round * 11) % 60;      /* 37 is coprime to 60 */
			if (round > w)
				continue;
			CU_ASSERT_EQUAL(add(f, 0, "k", W(w) + round * SEC, W(0), "x"), 0);
			n++;
		}
		CU_ASSERT_EQUAL(add(f, 0, "other", W(59 - round % 3), W(0), "y"), 0);
	}
	CU_ASSERT_EQUAL(n, 60 * 61 / 2);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 63);     /* + 3 of "other" */
	CU_ASSERT_EQUAL(CNT(f, window_table_full), 0);
	CU_ASSERT_EQUAL(advance(f, W(30)), 30);
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 33);
	/* still open windows keep counting after older ones closed */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(45), W(30), "x"), 0);
	CU_ASSERT_EQUAL(advance(f, ST_WM_MAX), 33);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 63);
	uint32_t k_seen = 0;
	for (uint32_t i = 0; i < f->cap.n_win; i++) {
		const struct cap_win *w = &f->cap.win[i];
		if (strcmp(w->key, "other") == 0) {
			CU_ASSERT_EQUAL(w->count, 20);
			continue;
		}
		uint64_t want = k_seen + 1 + (k_seen == 45);
		assert_win(w, 0, "k", W(k_seen), WIN, want);
		k_seen++;
	}
	CU_ASSERT_EQUAL(k_seen, 60);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

/*
 * A reload that shortens a rule's window: the key's older 60 s window now
 * closes after newer 10 s ones, so windows leave the chain out of start
 * order.
 */
static void test_reload_shorter_window_closes_in_end_order(void)
{
	static const struct st_rule_params r10[] = { { 10 * SEC, 1000, 0 } };
	struct fx *f = fx_new(4, 0, rule_quiet, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 5 * SEC, W(0), "a"), 0);
	st_wtab_set_rules(f->t, r10, 1);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 15 * SEC, W(0), "b"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 25 * SEC, W(0), "c"), 0);
	CU_ASSERT_EQUAL(add(f, 0, "k", W(0) + 7 * SEC, W(0), "d"), 0); /* the old W0 */
	CU_ASSERT_EQUAL(add(f, 0, "k", W(1) + 5 * SEC, W(0), "e"), 0); /* newer than W0 */
	CU_ASSERT_EQUAL(st_wtab_slots_used(f->t), 4);
	CU_ASSERT_EQUAL(advance(f, W(0) + 30 * SEC), 2);
	CU_ASSERT_EQUAL(advance(f, W(1)), 1);
	CU_ASSERT_EQUAL(advance(f, W(1) + 10 * SEC), 1);
	CU_ASSERT_EQUAL_FATAL(f->cap.n_win, 4);
	assert_win(&f->cap.win[0], 0, "k", W(0) + 10 * SEC, 10 * SEC, 1);
	assert_win(&f->cap.win[1], 0, "k", W(0) + 20 * SEC, 10 * SEC, 1);
	assert_win(&f->cap.win[2], 0, "k", W(0), WIN, 2);
	assert_win(&f->cap.win[3], 0, "k", W(1), 10 * SEC, 1);
	CU_ASSERT_EQUAL(st_wtab_used(f->t), 0);
	fx_free(f);
}

static void test_null_emit_is_allowed(void)
{
	static const struct st_rule_params r[] = { { WIN, 0, 0 } };
	struct fx *f = fx_new(4, 0, r, 1);
	CU_ASSERT_EQUAL(st_wtab_add(f->t, 0, "k", 1, W(0), W(0), "x", 1, NULL), 0);
	CU_ASSERT_EQUAL(st_wtab_advance(f->t, W(2), NULL), 1);
	CU_ASSERT_EQUAL(st_wtab_add(f->t, 0, "k", 1, W(0), W(2), "x", 1, NULL), 1);
	CU_ASSERT_EQUAL(CNT(f, alerts_fired), 1);
	CU_ASSERT_EQUAL(CNT(f, alerts_resolved), 1);
	CU_ASSERT_EQUAL(CNT(f, events_late), 1);
	fx_free(f);
}

/* ---- randomized run against a brute-force model ------------------------- */

#define RK 1000                 /* keys */
#define RR 2                    /* rules */
#define RW 512                  /* windows per rule tracked by the model */
#define RN 100000               /* matches */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const struct st_rule_params rand_rules[RR] = {
	{ 60 * SEC, 12, 0 },
	{ 17 * SEC, 4, 45 * SEC },
};

struct model {
	int64_t base[RR];                        /* start of model window 0 per rule */
	uint32_t count[RR][RK][RW];
	uint8_t emitted[RR][RK][RW];
	bool has_fired[RR][RK];
	int64_t last_fire[RR][RK];
	/* what the table said, tracked by the callbacks */
	bool firing[RR][RK];
	int64_t fired_start[RR][RK];
	int64_t wm;                              /* watermark of the current advance */
	int64_t lateness;
	uint32_t open[RR][RK];                   /* windows with matches, not emitted yet */
	uint32_t open_total, peak_open, peak_total;
	int64_t last_end;
	uint64_t n_win, n_fire, n_resolve, n_late, bad;
	struct { uint32_t rule, key; int64_t start, event; } *fires;
	uint64_t n_model_fires, n_cooldown;
};

static struct model *M;

/* "h<number><any tail>" -> number, -1 when malformed */
static int key_of(const char *k, uint32_t len)
{
	if (len < 2 || k[0] != 'h' || k[1] < '0' || k[1] > '9')
		return -1;
	int v = 0;
	for (uint32_t i = 1; i < len && k[i] >= '0' && k[i] <= '9' && v < 1000000; i++)
		v = v * 10 + (k[i] - '0');
	return v;
}

static int64_t widx(uint32_t rule, int64_t start)
{
	return (start - M->base[rule]) / rand_rules[rule].window_us;
}

static void rand_window(void *ctx, const struct st_window_rec *r)
{
	(void)ctx;
	int key = key_of(r->key, r->key_len);
	int64_t w = widx(r->rule_idx, r->start_us);
	const int64_t len = rand_rules[r->rule_idx].window_us;
	if (key < 0 || r->rule_idx >= RR || w < 0 || w >= RW ||
	    r->end_us != r->start_us + len || r->start_us != M->base[r->rule_idx] + w * len ||
	    r->end_us + M->lateness > M->wm || r->end_us < M->last_end ||
	    M->emitted[r->rule_idx][key][w] || r->count != M->count[r->rule_idx][key][w]) {
		M->bad++;
		return;
	}
	M->emitted[r->rule_idx][key][w] = 1;
	M->open[r->rule_idx][key]--;
	M->open_total--;
	M->last_end = r->end_us;
	M->n_win++;
}

static void rand_alert(void *ctx, const struct st_alert_rec *r)
{
	(void)ctx;
	int key = key_of(r->key, r->key_len);
	if (key < 0 || r->rule_idx >= RR) {
		M->bad++;
		return;
	}
	uint32_t rl = r->rule_idx;
	if (r->kind == ST_ALERT_FIRE) {
		uint64_t i = M->n_fire++;
		if (i >= M->n_model_fires || M->fires[i].rule != rl || M->fires[i].key != (uint32_t)key ||
		    M->fires[i].start != r->start_us || M->fires[i].event != r->event_us ||
		    r->count != rand_rules[rl].threshold + 1 || r->n_samples != ST_SAMPLES)
			M->bad++;
		if (!M->firing[rl][key] || r->start_us > M->fired_start[rl][key])
			M->fired_start[rl][key] = r->start_us;
		M->firing[rl][key] = true;
		return;
	}
	/* RESOLVE: only while firing, for a later quiet window with the model's count */
	int64_t w = widx(rl, r->start_us);
	M->n_resolve++;
	if (!M->firing[rl][key] || r->start_us <= M->fired_start[rl][key] ||
	    r->count > rand_rules[rl].threshold || w < 0 || w >= RW ||
	    r->count != M->count[rl][key][w] || r->end_us + M->lateness > M->wm)
		M->bad++;
	M->firing[rl][key] = false;
}

static void rand_late(void *ctx, const struct st_late_rec *r)
{
	(void)ctx;
	M->n_late++;
	if (r->watermark_us != M->wm)
		M->bad++;
}

/* One randomized run; the min_* fields make sure it exercised each path. */
struct rand_cfg {
	int64_t ooo, lateness;
	uint32_t n_keys;                         /* <= RK */
	uint32_t slot_capacity;                  /* 0: the default */
	uint64_t min_late, min_windows, min_fires, min_cooldown, min_resolve;
	uint32_t min_peak_open;                  /* most windows one key held open */
};

static void run_randomized(const struct rand_cfg *cfg)
{
	const int64_t ooo = cfg->ooo, lateness = cfg->lateness;
	M = calloc(1, sizeof(*M));
	CU_ASSERT_PTR_NOT_NULL_FATAL(M);
	M->lateness = lateness;
	M->fires = calloc(RN, sizeof(*M->fires));
	CU_ASSERT_PTR_NOT_NULL_FATAL(M->fires);
	struct wr_counters cnt = { 0 };
	struct st_wtab *t = NULL;
	struct st_wtab_params p = { RR * cfg->n_keys, lateness, cfg->slot_capacity };
	CU_ASSERT_EQUAL_FATAL(st_wtab_create(&p, &cnt, &t), 0);
	st_wtab_set_rules(t, rand_rules, RR);
	struct st_emit emit = { rand_window, rand_alert, rand_late, NULL };

	for (uint32_t r = 0; r < RR; r++) {
		int64_t len = rand_rules[r].window_us;
		int64_t b = T0 - ooo - 10 * WIN;
		M->base[r] = b - ((b % len) + len) % len;
	}
	rng_state = 0x2545F4914F6CDD1DULL;
	int64_t now = T0;                         /* max event time so far */
	M->wm = INT64_MIN;
	M->last_end = INT64_MIN;
	uint64_t model_late = 0, model_counted = 0;
	char key[16], line[32];

	for (uint32_t i = 0; i < RN; i++) {
		now += (int64_t)(rnd() % (60 * 1000));   /* 0..60 ms: ~50 min in all */
		uint32_t k = rnd() % 100 < 30 ? (uint32_t)(rnd() % 20)
					      : (uint32_t)(rnd() % cfg->n_keys);
		uint32_t rule = (uint32_t)(rnd() % RR);
		int64_t ts = rnd() % 100 == 0
			? now - ooo - (int64_t)(rnd() % (70 * SEC))    /* beyond the bound */
			: now - (int64_t)(rnd() % (ooo + 1));            /* within the bound */
		int64_t wm = now - ooo;
		if (wm < M->wm)
			wm = M->wm;
		int kl = snprintf(key, sizeof(key), "h%u", k);
		int ll = snprintf(line, sizeof(line), "line %u", i);

		/* model */
		const struct st_rule_params *rp = &rand_rules[rule];
		int64_t start = ts - (((ts % rp->window_us) + rp->window_us) % rp->window_us);
		bool late = start + rp->window_us + lateness <= wm;
		if (late) {
			model_late++;
		} else {
			int64_t w = widx(rule, start);
			CU_ASSERT_FATAL(w >= 0 && w < RW);
			uint32_t c = ++M->count[rule][k][w];
			model_counted++;
			if (c == 1) {
				if (++M->open[rule][k] > M->peak_open)
					M->peak_open = M->open[rule][k];
				if (++M->open_total > M->peak_total)
					M->peak_total = M->open_total;
			}
			if (c == rp->threshold + 1) {
				int64_t d = ts - M->last_fire[rule][k];
				if (d < 0)
					d = -d;
				if (M->has_fired[rule][k] && rp->cooldown_us > 0 && d < rp->cooldown_us) {
					M->n_cooldown++;
				} else {
					M->fires[M->n_model_fires].rule = rule;
					M->fires[M->n_model_fires].key = k;
					M->fires[M->n_model_fires].start = start;
					M->fires[M->n_model_fires].event = ts;
					M->n_model_fires++;
					M->has_fired[rule][k] = true;
					M->last_fire[rule][k] = ts;
				}
			}
		}

		M->wm = wm;
		int rc = st_wtab_add(t, rule, key, (size_t)kl, ts, wm, line, (size_t)ll, &emit);
		CU_ASSERT_EQUAL_FATAL(rc, late ? 1 : 0);
		if (i % 64 == 63) {
			st_wtab_advance(t, wm, &emit);
			/* the pool holds exactly the windows the model has open */
			CU_ASSERT_EQUAL_FATAL(st_wtab_slots_used(t), M->open_total);
			if (i % 1024 == 1023)
				CU_ASSERT_EQUAL_FATAL(st_wtab_verify(t), 0);
		}
	}
	M->wm = INT64_MAX;
	st_wtab_advance(t, INT64_MAX, &emit);
	CU_ASSERT_EQUAL(st_wtab_verify(t), 0);

	uint64_t model_windows = 0;
	bool all_emitted = true;
	for (uint32_t r = 0; r < RR; r++)
		for (uint32_t k = 0; k < RK; k++)
			for (uint32_t w = 0; w < RW; w++)
				if (M->count[r][k][w]) {
					model_windows++;
					all_emitted &= M->emitted[r][k][w] == 1;
				}
	bool none_firing = true;
	for (uint32_t r = 0; r < RR; r++)
		for (uint32_t k = 0; k < RK; k++)
			none_firing &= !M->firing[r][k];

	CU_ASSERT_EQUAL(M->bad, 0);
	CU_ASSERT(all_emitted);
	CU_ASSERT(none_firing);
	CU_ASSERT_EQUAL(M->n_win, model_windows);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_windows_closed], model_windows);
	CU_ASSERT_EQUAL(M->n_late, model_late);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_events_late], model_late);
	CU_ASSERT_EQUAL(M->n_fire, M->n_model_fires);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_alerts_fired], M->n_model_fires);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_alerts_cooldown], M->n_cooldown);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_alerts_resolved], M->n_resolve);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_window_table_full], 0);
	CU_ASSERT_EQUAL(st_wtab_used(t), 0);
	CU_ASSERT_EQUAL(st_wtab_slots_used(t), 0);
	CU_ASSERT_EQUAL(M->open_total, 0);
	/* the run must exercise every path it claims to check */
	CU_ASSERT(model_late > cfg->min_late);
	CU_ASSERT(model_windows > cfg->min_windows);
	CU_ASSERT(M->n_model_fires > cfg->min_fires);
	CU_ASSERT(M->n_cooldown > cfg->min_cooldown);
	CU_ASSERT(M->n_resolve > cfg->min_resolve);
	CU_ASSERT(M->peak_open >= cfg->min_peak_open);
	CU_ASSERT_EQUAL(model_counted + model_late, RN);

	st_wtab_destroy(t);
	free(M->fires);
	free(M);
	M = NULL;
}

static void test_randomized_against_reference_model(void)
{
	const struct rand_cfg cfg = {
		.ooo = 5 * SEC, .lateness = 3 * SEC, .n_keys = RK, .slot_capacity = 0,
		.min_late = 500, .min_windows = 10000, .min_fires = 100, .min_cooldown = 10,
		.min_resolve = 100, .min_peak_open = 2,
	};
	run_randomized(&cfg);
}

/*
 * Disorder far beyond the window: matches up to 30 minutes out of order, i.e.
 * 30 windows of rule 0 and 105 of rule 1, so keys hold dozens of windows at
 * once and matches land deep inside a key's chain.
 */
static void test_randomized_large_disorder_against_reference_model(void)
{
	const struct rand_cfg cfg = {
		.ooo = 30 * WIN, .lateness = 3 * SEC, .n_keys = 200, .slot_capacity = 1u << 15,
		.min_late = 500, .min_windows = 10000, .min_fires = 100, .min_cooldown = 10,
		.min_resolve = 50, .min_peak_open = 60,
	};
	run_randomized(&cfg);
}

/* ---- index churn: occupancy, pool and counts against a model ----------- */

#define CK 300                  /* keys */
#define CCAP 96                 /* capacity: index of 128, load 0.75 */
#define CLEN 1000               /* window length, us */
#define CSLOTS 120              /* pool: fewer than the live keys' windows need */
#define CMAXW 8                 /* windows a key can have open in this run */

struct churn_model {
	int64_t open_start[CK][CMAXW];
	uint32_t open_count[CK][CMAXW];
	uint32_t n_open[CK];
	uint32_t live, total_open;
	uint64_t bad, n_win;
};

static struct churn_model *C;

static void churn_window(void *ctx, const struct st_window_rec *r)
{
	(void)ctx;
	int k = key_of(r->key, r->key_len);
	if (k < 0 || k >= CK) {
		C->bad++;
		return;
	}
	for (uint32_t s = 0; s < C->n_open[k]; s++) {
		if (C->open_start[k][s] != r->start_us)
			continue;
		if (C->open_count[k][s] != r->count)
			C->bad++;
		C->n_open[k]--;
		C->total_open--;
		C->open_start[k][s] = C->open_start[k][C->n_open[k]];
		C->open_count[k][s] = C->open_count[k][C->n_open[k]];
		if (C->n_open[k] == 0)
			C->live--;
		C->n_win++;
		return;
	}
	C->bad++;
}

static void test_index_churn_randomized(void)
{
	C = calloc(1, sizeof(*C));
	CU_ASSERT_PTR_NOT_NULL_FATAL(C);
	static const struct st_rule_params r[] = { { CLEN, UINT64_MAX, 0 } };
	struct wr_counters cnt = { 0 };
	struct st_wtab *t = NULL;
	struct st_wtab_params p = { CCAP, 0, CSLOTS };
	CU_ASSERT_EQUAL_FATAL(st_wtab_create(&p, &cnt, &t), 0);
	st_wtab_set_rules(t, r, 1);
	struct st_emit emit = { churn_window, NULL, NULL, NULL };
	rng_state = 0x9E3779B97F4A7C15ULL;
	int64_t now = 0, wm = 0;
	uint64_t full = 0, keys_full = 0, pool_full = 0;
	char key[64];

	for (uint32_t i = 0; i < 200000; i++) {
		now += (int64_t)(rnd() % 40);
		uint32_t k = (uint32_t)(rnd() % CK);
		/* keys of 2..40 bytes sharing prefixes ("h1", "h12", "h12xxxxxxxxx") */
		int kl = snprintf(key, sizeof(key), "h%u%.*s", k, (int)(k % 5) * 9,
				  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		int64_t ts = now + (int64_t)(rnd() % (3 * CLEN));
		int64_t start = ts - ts % CLEN;
		int64_t s_found = -1;
		for (uint32_t s = 0; s < C->n_open[k]; s++)
			if (C->open_start[k][s] == start)
				s_found = s;
		int want = 0;
		if (s_found < 0 && C->n_open[k] == 0 && C->live == CCAP) {
			want = -ENOSPC;
			keys_full++;
		} else if (s_found < 0 && C->total_open == CSLOTS) {
			want = -ENOSPC;
			pool_full++;
		}
		int rc = st_wtab_add(t, 0, key, (size_t)kl, ts, wm, "x", 1, &emit);
		CU_ASSERT_EQUAL_FATAL(rc, want);
		if (want == -ENOSPC) {
			full++;
		} else if (s_found >= 0) {
			C->open_count[k][s_found]++;
		} else {
			if (C->n_open[k] == 0)
				C->live++;
			CU_ASSERT_FATAL(C->n_open[k] < CMAXW);
			C->total_open++;
			C->open_start[k][C->n_open[k]] = start;
			C->open_count[k][C->n_open[k]] = 1;
			C->n_open[k]++;
		}
		if (rnd() % 8 == 0) {
			int64_t target = now - (int64_t)(rnd() % CLEN);
			if (target > wm)
				wm = target;
			st_wtab_advance(t, wm, &emit);
			CU_ASSERT_EQUAL_FATAL(st_wtab_used(t), C->live);
			CU_ASSERT_EQUAL_FATAL(st_wtab_slots_used(t), C->total_open);
			if (i % 97 == 0)
				CU_ASSERT_EQUAL_FATAL(st_wtab_verify(t), 0);
		}
	}
	st_wtab_advance(t, INT64_MAX, &emit);
	CU_ASSERT_EQUAL(C->bad, 0);
	CU_ASSERT_EQUAL(C->live, 0);
	CU_ASSERT_EQUAL(st_wtab_used(t), 0);
	CU_ASSERT_EQUAL(st_wtab_verify(t), 0);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_window_table_full], full);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_windows_closed], C->n_win);
	/* both limits really were hit */
	CU_ASSERT(keys_full > 1000);
	CU_ASSERT(pool_full > 1000);
	st_wtab_destroy(t);
	free(C);
	C = NULL;
}

static int reg(void)
{
	WR_SUITE("st_window",
		 WR_TEST(test_create_rejects_bad_params),
		 WR_TEST(test_bad_rule_index_rejected),
		 WR_TEST(test_in_order_counts_per_window_exact),
		 WR_TEST(test_negative_timestamps_floor_to_window),
		 WR_TEST(test_out_of_order_within_bound_counted_in_right_window),
		 WR_TEST(test_late_beyond_bound_goes_to_late_callback),
		 WR_TEST(test_allowed_lateness_keeps_window_open),
		 WR_TEST(test_idle_input_closes_window_via_watermark),
		 WR_TEST(test_threshold_fires_once_at_crossing_with_samples),
		 WR_TEST(test_threshold_zero_and_one_samples),
		 WR_TEST(test_cooldown_suppresses_next_window_crossing),
		 WR_TEST(test_cooldown_boundary_and_out_of_order),
		 WR_TEST(test_cooldown_zero_never_suppresses),
		 WR_TEST(test_resolve_after_quiet_window),
		 WR_TEST(test_resolve_after_empty_window),
		 WR_TEST(test_empty_window_after_busy_window_resolves),
		 WR_TEST(test_late_match_in_pending_empty_window_resolves_with_its_count),
		 WR_TEST(test_empty_window_before_later_matches_resolves),
		 WR_TEST(test_backlog_window_closing_before_fired_one_does_not_resolve),
		 WR_TEST(test_reused_slot_starts_with_empty_samples),
		 WR_TEST(test_cooldown_survives_resolve_and_recycling),
		 WR_TEST(test_multiple_rules_and_keys_independent),
		 WR_TEST(test_long_key_and_line_truncated),
		 WR_TEST(test_table_full_counted),
		 WR_TEST(test_pool_exhaustion_counted_and_recovers),
		 WR_TEST(test_default_pool_is_twice_capacity),
		 WR_TEST(test_key_with_60_open_windows_counts_exactly),
		 WR_TEST(test_reload_shorter_window_closes_in_end_order),
		 WR_TEST(test_null_emit_is_allowed),
		 WR_TEST(test_randomized_against_reference_model),
		 WR_TEST(test_randomized_large_disorder_against_reference_model),
		 WR_TEST(test_index_churn_randomized));
	return 0;
}

WR_TEST_MAIN(reg)
