/*
 * st_session.c - per-user event-time sessions with a funnel (contract in
 * st_session.h).
 *
 * Layout, all taken at create:
 *  - idx[]: open-addressing index of users, linear probing, load <= 0.75,
 *    deletion by backward shift (no tombstones). Each slot holds user id + 1
 *    and the low 32 bits of the hash (filter and home slot in one load).
 *  - usr[]: user entries (id bytes stored once), LIFO free stack.
 *  - pool[]: open sessions shared by all users, LIFO free stack. A user
 *    chains its open sessions through slot.next in time order (they never
 *    overlap), with head and tail in the user: an in-order event checks the
 *    tail only; a user rarely has more than two open sessions (a new one
 *    starts only after gap of silence, the old one closes gap + lateness
 *    after its last event).
 *  - hist[]: funnel history, n_steps * ST_SESS_STEP_HIST times per pool
 *    slot, kept apart from pool[] so events that are no funnel step (most
 *    of them) never touch it. Per step the times are sorted, INT64_MAX = empty.
 *  - heap[]: min-heap of (close time, slot). Keys are lazy: extending a
 *    session does not touch the heap (that would be an O(log n) sift per
 *    event); a key is only ever <= the session's real close time
 *    (end + gap + lateness), and advance re-keys an item whose key is
 *    stale instead of closing it. So a session closes exactly when its
 *    real close time is the smallest in the heap, which keeps the emission
 *    order by end time. Slots know their heap position (back-pointer) so a
 *    session merged away can be removed.
 *
 * rte_hash is not used for the same reason as in st_window.c: this room
 * builds and runs without EAL, and the session chain lives next to the key.
 *
 * The arrays are mmap'ed with MADV_HUGEPAGE (transparent huge pages where
 * the kernel allows it): with a million users every event misses the TLB
 * on three or four arrays; 2 MB pages cut the measured cost at a million
 * users by 15-20 % (see st_sess_add).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "st_pvt.h"
#include "st_session.h"
#include "wr_common.h"

#define SS_NONE UINT32_MAX
#define SS_K ST_SESS_STEP_HIST
#define SS_EMPTY INT64_MAX           /* unused history slot */

/* One open session; 40 bytes. */
struct st_sslot {
	int64_t start_us, end_us;
	uint32_t events, page_views;
	uint32_t user;              /* user entry id */
	uint32_t next;              /* next later session of the user, or next free slot */
	uint32_t heap_pos;          /* SS_NONE while free (checked by verify) */
	uint16_t ovf;               /* bit k: step k dropped history (funnel may be low) */
};

/* 88 bytes: hash and chain ends before the id, so a lookup touches one line for short ids. */
struct st_suser {
	uint64_t hash;
	uint32_t head, tail;        /* oldest / newest open session */
	uint32_t next_free;
	uint8_t len;
	char id[ST_SESS_USER_MAX];
};

struct st_sidx {
	uint32_t ent1;              /* user id + 1, 0 = empty */
	uint32_t tag;               /* low 32 bits of the hash */
};

struct st_sheap {
	int64_t close_us;           /* <= the session's real close time (lazy) */
	uint32_t slot;
	uint32_t pad_;
};

struct st_sess {
	struct wr_counters *cnt;
	uint32_t capacity, used, idx_mask, user_free;
	uint32_t slot_capacity, slots_used, slot_free, heap_n;
	uint32_t n_steps;
	int64_t gap_us, max_len_us, lateness_us;
	int64_t hold_us;            /* gap + lateness: end + hold_us is the close time */
	int64_t adv_wm_us;          /* highest watermark given to advance */
	struct st_sidx *idx;
	struct st_suser *usr;
	struct st_sslot *pool;
	int64_t *hist;
	struct st_sheap *heap;
	size_t idx_b, usr_b, pool_b, hist_b, heap_b;   /* mapped sizes */
};

_Static_assert(sizeof(struct st_sslot) == 40, "session slot grew: update the memory figures");
_Static_assert(sizeof(struct st_suser) == 88, "user entry grew: update the memory figures");
_Static_assert(sizeof(struct st_sheap) == 16, "heap item grew: update the memory figures");

/* ---- arithmetic -------------------------------------------------------- */


/* b - a for a <= b, without overflow. */
static inline uint64_t span(int64_t a, int64_t b)
{
	return (uint64_t)b - (uint64_t)a;
}

static inline uint32_t sat_add32(uint32_t a, uint32_t b)
{
	uint32_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT32_MAX : r;
}

/* Users hash with seed 0 (st_pvt.h). */
static inline uint64_t user_hash(const char *id, size_t len)
{
	return st_hash_bytes(0, id, len);
}

/* ---- user index -------------------------------------------------------- */

static uint32_t idx_find(const struct st_sess *t, uint64_t hash, const char *id, size_t len)
{
	uint32_t tag = (uint32_t)hash;
	for (uint32_t pos = tag & t->idx_mask;; pos = (pos + 1) & t->idx_mask) {
		const struct st_sidx *x = &t->idx[pos];
		if (x->ent1 == 0)
			return SS_NONE;
		if (x->tag != tag)
			continue;
		const struct st_suser *u = &t->usr[x->ent1 - 1];
		if (u->len == len && memcmp(u->id, id, len) == 0)
			return pos;
	}
}

static void idx_insert(struct st_sess *t, uint32_t uid, uint32_t tag)
{
	uint32_t pos = tag & t->idx_mask;
	while (t->idx[pos].ent1 != 0)
		pos = (pos + 1) & t->idx_mask;
	t->idx[pos].ent1 = uid + 1;
	t->idx[pos].tag = tag;
}

/* Backward-shift deletion: move later members of the run into the hole when their home allows. */
static void idx_remove(struct st_sess *t, uint32_t pos)
{
	uint32_t mask = t->idx_mask, hole = pos;
	for (uint32_t j = (pos + 1) & mask; t->idx[j].ent1 != 0; j = (j + 1) & mask) {
		uint32_t home = t->idx[j].tag & mask;
		/* j may move to the hole unless its home lies cyclically in (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			t->idx[hole] = t->idx[j];
			hole = j;
		}
	}
	t->idx[hole].ent1 = 0;
}

static void user_free(struct st_sess *t, uint32_t uid)
{
	struct st_suser *u = &t->usr[uid];
	uint32_t pos = idx_find(t, u->hash, u->id, u->len);
	if (pos != SS_NONE)
		idx_remove(t, pos);
	u->next_free = t->user_free;
	t->user_free = uid;
	t->used--;
}

/* ---- heap -------------------------------------------------------------- */

static inline bool item_less(const struct st_sheap *a, const struct st_sheap *b)
{
	return a->close_us < b->close_us || (a->close_us == b->close_us && a->slot < b->slot);
}

static inline void heap_set(struct st_sess *t, uint32_t pos, const struct st_sheap *it)
{
	t->heap[pos] = *it;
	t->pool[it->slot].heap_pos = pos;
}

static void heap_sift_up(struct st_sess *t, uint32_t pos, struct st_sheap it)
{
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!item_less(&it, &t->heap[parent]))
			break;
		heap_set(t, pos, &t->heap[parent]);
		pos = parent;
	}
	heap_set(t, pos, &it);
}

static void heap_sift_down(struct st_sess *t, uint32_t pos, struct st_sheap it)
{
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= t->heap_n)
			break;
		if (c + 1 < t->heap_n && item_less(&t->heap[c + 1], &t->heap[c]))
			c++;
		if (!item_less(&t->heap[c], &it))
			break;
		heap_set(t, pos, &t->heap[c]);
		pos = c;
	}
	heap_set(t, pos, &it);
}

static void heap_remove(struct st_sess *t, uint32_t pos)
{
	t->pool[t->heap[pos].slot].heap_pos = SS_NONE;
	struct st_sheap last = t->heap[--t->heap_n];
	if (pos == t->heap_n)
		return;
	if (pos > 0 && item_less(&last, &t->heap[(pos - 1) / 2]))
		heap_sift_up(t, pos, last);
	else
		heap_sift_down(t, pos, last);
}

/* ---- funnel history ---------------------------------------------------- */

/*
 * Scratch form of one session's history: per step up to 2 * SS_K sorted,
 * distinct times (room for a merge of two sessions).
 */
struct st_fwork {
	int64_t v[ST_SESS_STEPS_MAX][2 * SS_K];
	uint8_t m[ST_SESS_STEPS_MAX];
};

static void fwork_load(struct st_fwork *w, const int64_t *h, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint8_t m = 0;
		for (uint32_t i = 0; i < SS_K && h[k * SS_K + i] != SS_EMPTY; i++)
			w->v[k][m++] = h[k * SS_K + i];
		w->m[k] = m;
	}
}

/*
 * Recompute the greedy chain over @w and store what may still matter into
 * @h: for a reached step its t(k) plus the earliest waiting times (at or
 * before t(k-1)); later times are dropped for good (they can never be
 * chosen: t(k) only moves earlier as events are added). When the rest does
 * not fit, the latest waiting times go and bit k of *ovf is set.
 */
static void fwork_store(const struct st_fwork *w, int64_t *h, uint32_t n, uint16_t *ovf)
{
	int64_t prev = INT64_MIN;
	bool chain = true;
	for (uint32_t k = 0; k < n; k++) {
		const int64_t *v = w->v[k];
		uint32_t m = w->m[k], out = 0;
		int64_t *o = &h[k * SS_K];
		uint32_t c = 0;
		if (chain) {
			while (c < m && v[c] <= prev)
				c++;
			chain = c < m;
		}
		if (chain) {
			/* v[0..c-1] wait, v[c] is t(k) */
			uint32_t keep = c < SS_K - 1 ? c : SS_K - 1;
			if (c > keep)
				*ovf |= (uint16_t)(1u << k);
			for (uint32_t i = 0; i < keep; i++)
				o[out++] = v[i];
			o[out++] = v[c];
			prev = v[c];
		} else {
			uint32_t keep = m < SS_K ? m : SS_K;
			if (m > keep)
				*ovf |= (uint16_t)(1u << k);
			for (uint32_t i = 0; i < keep; i++)
				o[out++] = v[i];
		}
		while (out < SS_K)
			o[out++] = SS_EMPTY;
	}
}

/* Add one occurrence of step @k at @ts to slot history @h. */
static void funnel_add(struct st_sess *t, struct st_sslot *s, int64_t *h, uint32_t k, int64_t ts)
{
	const int64_t *hk = &h[k * SS_K];
	for (uint32_t i = 0; i < SS_K; i++)
		if (hk[i] == ts)
			return;     /* a repeat at the same time changes nothing */
	struct st_fwork w;
	fwork_load(&w, h, t->n_steps);
	uint32_t m = w.m[k], i = m;
	while (i > 0 && w.v[k][i - 1] > ts) {
		w.v[k][i] = w.v[k][i - 1];
		i--;
	}
	w.v[k][i] = ts;
	w.m[k] = (uint8_t)(m + 1);
	fwork_store(&w, h, t->n_steps, &s->ovf);
}

/* Merge history @b into @a (both sorted per step). */
static void funnel_merge(struct st_sess *t, struct st_sslot *sa, int64_t *a, const int64_t *b)
{
	struct st_fwork w;
	for (uint32_t k = 0; k < t->n_steps; k++) {
		const int64_t *x = &a[k * SS_K], *y = &b[k * SS_K];
		uint32_t i = 0, j = 0, m = 0;
		while (i < SS_K || j < SS_K) {
			int64_t vx = i < SS_K ? x[i] : SS_EMPTY, vy = j < SS_K ? y[j] : SS_EMPTY;
			int64_t v = vx <= vy ? vx : vy;
			if (v == SS_EMPTY)
				break;
			if (vx == v)
				i++;
			if (vy == v)
				j++;
			w.v[k][m++] = v;
		}
		w.m[k] = (uint8_t)m;
	}
	fwork_store(&w, a, t->n_steps, &sa->ovf);
}

/* Steps reached in order; *t_last = time of the last one reached. */
static uint32_t funnel_chain(const int64_t *h, uint32_t n, int64_t *t_last)
{
	int64_t prev = INT64_MIN;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = 0;
		while (i < SS_K && h[k * SS_K + i] <= prev)
			i++;
		if (i == SS_K || h[k * SS_K + i] == SS_EMPTY)
			return k;
		prev = h[k * SS_K + i];
		*t_last = prev;
	}
	return n;
}

/* ---- sessions ---------------------------------------------------------- */

static inline int64_t *hist_of(const struct st_sess *t, uint32_t sid)
{
	return &t->hist[(size_t)sid * t->n_steps * SS_K];
}

static inline void gauge(struct st_sess *t)
{
	t->cnt->v[WR_CNT_sessions_active] = t->slots_used;
}

/* Open a session at @ts for user @uid after @prev in its chain (SS_NONE: first). */
static uint32_t session_open(struct st_sess *t, uint32_t uid, uint32_t prev, int64_t ts)
{
	uint32_t sid = t->slot_free;
	struct st_sslot *s = &t->pool[sid];
	struct st_suser *u = &t->usr[uid];
	t->slot_free = s->next;
	t->slots_used++;
	s->start_us = ts;
	s->end_us = ts;
	s->events = 0;
	s->page_views = 0;
	s->user = uid;
	s->ovf = 0;
	int64_t *h = hist_of(t, sid);
	for (uint32_t i = 0; i < t->n_steps * SS_K; i++)
		h[i] = SS_EMPTY;
	if (prev == SS_NONE) {
		s->next = u->head;
		u->head = sid;
	} else {
		s->next = t->pool[prev].next;
		t->pool[prev].next = sid;
	}
	if (s->next == SS_NONE)
		u->tail = sid;
	struct st_sheap it = { st_sat_add(ts, t->hold_us), sid, 0 };
	heap_sift_up(t, t->heap_n++, it);
	WR_COUNT(t->cnt, sessions_opened);
	gauge(t);
	return sid;
}

static void slot_give(struct st_sess *t, uint32_t sid)
{
	struct st_sslot *s = &t->pool[sid];
	s->heap_pos = SS_NONE;
	s->next = t->slot_free;
	t->slot_free = sid;
	t->slots_used--;
	gauge(t);
}

/* @p absorbs @n, its successor in the user's chain. */
static void session_merge(struct st_sess *t, struct st_suser *u, uint32_t p, uint32_t n)
{
	struct st_sslot *sp = &t->pool[p], *sn = &t->pool[n];
	sp->end_us = sn->end_us;     /* the heap key of p is now stale-low: fine (lazy) */
	sp->events = sat_add32(sp->events, sn->events);
	sp->page_views = sat_add32(sp->page_views, sn->page_views);
	sp->ovf |= sn->ovf;
	if (t->n_steps > 0)
		funnel_merge(t, sp, hist_of(t, p), hist_of(t, n));
	sp->next = sn->next;
	if (u->tail == n)
		u->tail = p;
	heap_remove(t, sn->heap_pos);
	slot_give(t, n);
	WR_COUNT(t->cnt, sessions_merged);
}

static inline bool len_ok(const struct st_sess *t, int64_t a, int64_t b)
{
	return t->max_len_us == 0 || span(a, b) <= (uint64_t)t->max_len_us;
}

/* Not due yet: a due session counts as closed for add (see the header). */
static inline bool alive(const struct st_sess *t, const struct st_sslot *s, int64_t wm)
{
	return st_sat_add(s->end_us, t->hold_us) > wm;
}

static void report_late(struct st_sess *t, const char *user, size_t ulen, int64_t ts,
			int32_t step, bool pv, int64_t wm, const struct st_sess_emit *emit)
{
	WR_COUNT(t->cnt, session_events_late);
	if (emit == NULL || emit->late == NULL)
		return;
	struct st_session_late_rec r = {
		.user = user, .user_len = (uint32_t)ulen, .event_us = ts, .watermark_us = wm,
		.step = step, .is_page_view = pv,
	};
	emit->late(emit->ctx, &r);
}

/* ---- public ------------------------------------------------------------ */

int st_sess_create(const struct st_sess_params *p, struct wr_counters *cnt, struct st_sess **out)
{
	/* 2^28 users and 2^29 sessions keep index and heap sizes in uint32_t. */
	if (p == NULL || cnt == NULL || out == NULL || p->capacity == 0 ||
	    p->capacity > (1u << 28) || p->session_capacity > (1u << 29) || p->gap_us <= 0 ||
	    p->max_len_us < 0 || p->lateness_us < 0 || p->n_steps > ST_SESS_STEPS_MAX)
		return -EINVAL;
	uint32_t n_slots = p->session_capacity != 0 ? p->session_capacity : 2 * p->capacity;

	uint64_t n_idx = 8;
	while (n_idx * 3 < (uint64_t)p->capacity * 4)   /* load factor <= 0.75 */
		n_idx <<= 1;

	struct st_sess *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->cnt = cnt;
	t->capacity = p->capacity;
	t->slot_capacity = n_slots;
	t->idx_mask = (uint32_t)(n_idx - 1);
	t->n_steps = p->n_steps;
	t->gap_us = p->gap_us;
	t->max_len_us = p->max_len_us;
	t->lateness_us = p->lateness_us;
	t->hold_us = st_sat_add(p->gap_us, p->lateness_us);
	t->adv_wm_us = INT64_MIN;
	t->idx_b = n_idx * sizeof(*t->idx);
	t->usr_b = (size_t)p->capacity * sizeof(*t->usr);
	t->pool_b = (size_t)n_slots * sizeof(*t->pool);
	t->heap_b = (size_t)n_slots * sizeof(*t->heap);
	t->hist_b = (size_t)n_slots * p->n_steps * SS_K * sizeof(*t->hist);
	t->idx = st_big_alloc(t->idx_b);
	t->usr = st_big_alloc(t->usr_b);
	t->pool = st_big_alloc(t->pool_b);
	t->heap = st_big_alloc(t->heap_b);
	t->hist = st_big_alloc(t->hist_b);
	if (t->idx == NULL || t->usr == NULL || t->pool == NULL || t->heap == NULL ||
	    (p->n_steps > 0 && t->hist == NULL))
		goto err;
	for (uint32_t i = 0; i < p->capacity; i++)
		t->usr[i].next_free = i + 1 < p->capacity ? i + 1 : SS_NONE;
	t->user_free = 0;
	for (uint32_t i = 0; i < n_slots; i++) {
		t->pool[i].heap_pos = SS_NONE;
		t->pool[i].next = i + 1 < n_slots ? i + 1 : SS_NONE;
	}
	t->slot_free = 0;
	gauge(t);
	*out = t;
	return 0;
err:
	st_sess_destroy(t);
	return -ENOMEM;
}

void st_sess_destroy(struct st_sess *t)
{
	if (t == NULL)
		return;
	if (t->cnt != NULL)
		t->cnt->v[WR_CNT_sessions_active] = 0;
	st_big_free(t->idx, t->idx_b);
	st_big_free(t->usr, t->usr_b);
	st_big_free(t->pool, t->pool_b);
	st_big_free(t->hist, t->hist_b);
	st_big_free(t->heap, t->heap_b);
	free(t);
}

uint32_t st_sess_used(const struct st_sess *t)
{
	return t->used;
}

uint32_t st_sess_active(const struct st_sess *t)
{
	return t->slots_used;
}

/*
 * Measured cost (-O2 -march=native, 2-vCPU VM shared with other jobs, 13-byte
 * ids, uniformly random users, 30 % funnel events, disorder 60 s, advance
 * every 32 events included): about 85 ns per event over 1000 active users,
 * 150-190 ns over 10000, 500-530 ns over 100000 and 580-660 ns over a
 * million (about 250 MB of table, four dependent cache misses: index,
 * user, session, funnel history). Events with no step cost the same within
 * noise at a million users (the misses dominate).
 */
int st_sess_add(struct st_sess *t, const char *user, size_t ulen, int64_t ts_us, int32_t step,
		bool is_page_view, int64_t wm_us, const struct st_sess_emit *emit)
{
	if (unlikely(ulen == 0 || ulen > ST_SESS_USER_MAX || step < -1 ||
		     step >= (int32_t)t->n_steps || ts_us == INT64_MIN || ts_us == INT64_MAX))
		return -EINVAL;
	if (wm_us < t->adv_wm_us)
		wm_us = t->adv_wm_us;
	/* a new session at ts_us would close at once: late */
	bool too_old = st_sat_add(ts_us, t->hold_us) <= wm_us;

	uint64_t hash = user_hash(user, ulen);
	uint32_t pos = idx_find(t, hash, user, ulen);
	uint32_t uid, sid;
	struct st_suser *u;
	if (pos == SS_NONE) {
		if (too_old) {
			report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
			return 1;
		}
		if (unlikely(t->user_free == SS_NONE || t->slot_free == SS_NONE)) {
			WR_COUNT(t->cnt, session_table_full);
			return -ENOSPC;
		}
		uid = t->user_free;
		u = &t->usr[uid];
		t->user_free = u->next_free;
		t->used++;
		u->hash = hash;
		u->len = (uint8_t)ulen;
		memcpy(u->id, user, ulen);
		u->head = SS_NONE;
		u->tail = SS_NONE;
		idx_insert(t, uid, (uint32_t)hash);
		sid = session_open(t, uid, SS_NONE, ts_us);
		goto count;
	}
	uid = t->idx[pos].ent1 - 1;
	u = &t->usr[uid];

	/* p: last session starting at or before ts (may contain it), n: the one after */
	uint32_t p, n;
	if (likely(t->pool[u->tail].start_us <= ts_us)) {
		p = u->tail;
		n = SS_NONE;
	} else {
		/* stops at the tail at the latest: its start is > ts */
		p = SS_NONE;
		for (n = u->head; t->pool[n].start_us <= ts_us; n = t->pool[n].next)
			p = n;
	}
	struct st_sslot *sp = p != SS_NONE ? &t->pool[p] : NULL;
	struct st_sslot *sn = n != SS_NONE ? &t->pool[n] : NULL;
	bool p_ok = sp != NULL && alive(t, sp, wm_us) &&
		(ts_us <= sp->end_us || span(sp->end_us, ts_us) <= (uint64_t)t->gap_us);
	bool n_ok = sn != NULL && alive(t, sn, wm_us) &&
		span(ts_us, sn->start_us) <= (uint64_t)t->gap_us;

	if (sp != NULL && ts_us <= sp->end_us && !p_ok) {
		/* inside a due session: it is final, and joining n would overlap it */
		report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
		return 1;
	}
	if (p_ok && ts_us <= sp->end_us) {
		sid = p;                        /* inside: the span does not change */
	} else if (p_ok && n_ok && len_ok(t, sp->start_us, sn->end_us)) {
		session_merge(t, u, p, n);
		sid = p;
	} else if (p_ok && len_ok(t, sp->start_us, ts_us)) {
		sp->end_us = ts_us;             /* heap key stale-low: fine (lazy) */
		sid = p;
	} else if (n_ok && len_ok(t, ts_us, sn->end_us)) {
		sn->start_us = ts_us;
		sid = n;
	} else {
		if (too_old) {
			report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
			return 1;
		}
		if (unlikely(t->slot_free == SS_NONE)) {
			WR_COUNT(t->cnt, session_table_full);
			return -ENOSPC;
		}
		if (p_ok || n_ok)
			WR_COUNT(t->cnt, sessions_split);
		sid = session_open(t, uid, p, ts_us);
	}

count:;
	struct st_sslot *s = &t->pool[sid];
	s->events = sat_add32(s->events, 1);
	s->page_views = sat_add32(s->page_views, is_page_view ? 1 : 0);
	if (step >= 0)
		funnel_add(t, s, hist_of(t, sid), (uint32_t)step, ts_us);
	return 0;
}

static void session_close(struct st_sess *t, uint32_t sid, const struct st_sess_emit *emit)
{
	struct st_sslot *s = &t->pool[sid];
	uint32_t uid = s->user;
	struct st_suser *u = &t->usr[uid];

	struct st_session_rec r = {
		.user = u->id, .user_len = u->len,
		.start_us = s->start_us, .end_us = s->end_us,
		.duration_us = (int64_t)span(s->start_us, s->end_us),
		.events = s->events, .page_views = s->page_views,
		.funnel_exact = true, .time_to_convert_us = -1,
	};
	if (t->n_steps > 0) {
		int64_t t_last = 0;
		r.reached = funnel_chain(hist_of(t, sid), t->n_steps, &t_last);
		r.converted = r.reached == t->n_steps;
		if (r.converted)
			r.time_to_convert_us = (int64_t)span(s->start_us, t_last);
		/* steps 1 .. first unreached: a drop there may have lowered the result */
		uint32_t last = r.reached < t->n_steps - 1 ? r.reached : t->n_steps - 1;
		if (s->ovf & ((2u << last) - 1u) & ~1u) {
			r.funnel_exact = false;
			WR_COUNT(t->cnt, sessions_funnel_inexact);
		}
	}

	/* the session closing first is the user's oldest: others end later */
	if (u->head == sid) {
		u->head = s->next;
		if (u->tail == sid)
			u->tail = SS_NONE;
	} else {
		uint32_t q = u->head;
		while (t->pool[q].next != sid)
			q = t->pool[q].next;
		t->pool[q].next = s->next;
		if (u->tail == sid)
			u->tail = q;
	}
	slot_give(t, sid);
	WR_COUNT(t->cnt, sessions_closed);
	if (emit != NULL && emit->session != NULL)
		emit->session(emit->ctx, &r);
	/* after the callback: r.user points into the entry */
	if (u->head == SS_NONE)
		user_free(t, uid);
}

uint32_t st_sess_advance(struct st_sess *t, int64_t wm_us, const struct st_sess_emit *emit)
{
	if (wm_us > t->adv_wm_us)
		t->adv_wm_us = wm_us;
	wm_us = t->adv_wm_us;

	uint32_t closed = 0;
	while (t->heap_n > 0 && t->heap[0].close_us <= wm_us) {
		struct st_sheap top = t->heap[0];
		int64_t real = st_sat_add(t->pool[top.slot].end_us, t->hold_us);
		if (real > top.close_us) {
			/* extended since the key was set: re-key instead of closing */
			top.close_us = real;
			heap_sift_down(t, 0, top);
			continue;
		}
		heap_remove(t, 0);
		session_close(t, top.slot, emit);
		closed++;
	}
	return closed;
}

int st_sess_verify(const struct st_sess *t)
{
	uint32_t mask = t->idx_mask, in_idx = 0;
	uint64_t sessions = 0;
	for (uint32_t pos = 0; pos <= mask; pos++) {
		const struct st_sidx *x = &t->idx[pos];
		if (x->ent1 == 0)
			continue;
		in_idx++;
		if (x->ent1 > t->capacity)
			return -EFAULT;
		uint32_t uid = x->ent1 - 1;
		const struct st_suser *u = &t->usr[uid];
		if ((uint32_t)u->hash != x->tag || u->len == 0 || u->len > ST_SESS_USER_MAX ||
		    user_hash(u->id, u->len) != u->hash)
			return -EFAULT;
		for (uint32_t q = x->tag & mask; q != pos; q = (q + 1) & mask)
			if (t->idx[q].ent1 == 0)
				return -EFAULT;
		if (idx_find(t, u->hash, u->id, u->len) != pos)
			return -EFAULT;
		/* a live user has a sorted chain of disjoint sessions */
		if (u->head == SS_NONE)
			return -EFAULT;
		uint32_t n_open = 0, last = SS_NONE;
		for (uint32_t sid = u->head; sid != SS_NONE; sid = t->pool[sid].next) {
			if (sid >= t->slot_capacity || ++n_open > t->slot_capacity)
				return -EFAULT;
			const struct st_sslot *s = &t->pool[sid];
			if (s->user != uid || s->start_us > s->end_us || s->events == 0)
				return -EFAULT;
			if (t->max_len_us > 0 && span(s->start_us, s->end_us) > (uint64_t)t->max_len_us)
				return -EFAULT;
			if (last != SS_NONE && t->pool[last].end_us >= s->start_us)
				return -EFAULT;
			uint32_t hp = s->heap_pos;
			if (hp >= t->heap_n || t->heap[hp].slot != sid ||
			    t->heap[hp].close_us > st_sat_add(s->end_us, t->hold_us))
				return -EFAULT;
			const int64_t *h = hist_of(t, sid);
			for (uint32_t k = 0; k < t->n_steps; k++)
				for (uint32_t i = 0; i < SS_K; i++) {
					int64_t v = h[k * SS_K + i];
					if (v == SS_EMPTY)
						continue;
					if (v < s->start_us || v > s->end_us ||
					    (i > 0 && h[k * SS_K + i - 1] >= v))
						return -EFAULT;
				}
			last = sid;
		}
		if (last != u->tail)
			return -EFAULT;
		sessions += n_open;
	}
	if (in_idx != t->used)
		return -EFAULT;
	uint32_t n_free = 0;
	for (uint32_t f = t->user_free; f != SS_NONE; f = t->usr[f].next_free)
		if (f >= t->capacity || ++n_free > t->capacity)
			return -EFAULT;
	if (n_free + t->used != t->capacity)
		return -EFAULT;
	uint32_t n_free_slots = 0;
	for (uint32_t f = t->slot_free; f != SS_NONE; f = t->pool[f].next)
		if (f >= t->slot_capacity || t->pool[f].heap_pos != SS_NONE ||
		    ++n_free_slots > t->slot_capacity)
			return -EFAULT;
	if (sessions != t->slots_used || t->heap_n != t->slots_used ||
	    (uint64_t)n_free_slots + sessions != t->slot_capacity)
		return -EFAULT;
	for (uint32_t i = 0; i < t->heap_n; i++) {
		const struct st_sheap *it = &t->heap[i];
		if (i > 0 && item_less(it, &t->heap[(i - 1) / 2]))
			return -EFAULT;
		if (it->slot >= t->slot_capacity || t->pool[it->slot].heap_pos != i)
			return -EFAULT;
	}
	return 0;
}
