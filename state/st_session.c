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
 *  - wheel[]: close-time calendar (a hashed timer wheel) instead of a heap.
 *    WHEEL_SIZE buckets of 2^wshift us (about hold / 2048, so one turn
 *    spans about twice gap + lateness); each bucket is a singly-linked list
 *    of sessions through slot.tnext, pushed at the head: O(1), and the only
 *    line touched is the bucket head. Keys are lazy as before: extending a
 *    session does not move it; when its bucket comes up, a session whose
 *    real close time (end + gap + lateness) is later is re-linked instead
 *    of closed. The bucket of the watermark's own tick is sorted into run[]
 *    by (close time, slot) so that advance closes exactly the due sessions
 *    in order of end time, however often it runs. A session merged away is
 *    marked dead in its list and freed when its bucket comes up (or by a
 *    sweep when the pool would otherwise be full). The heap cost an
 *    O(log n) sift with cache misses per close and per re-key; the wheel
 *    costs one visit per bucket passage.
 *  - Users and slots are handed out from a bump pointer before the free
 *    stacks, so create touches no page and the resident set grows with the
 *    peak of open sessions, not the capacity.
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

enum { SS_FREE = 0, SS_LIVE = 1, SS_DEAD = 2 };

/* One open session; 40 bytes. */
struct st_sslot {
	int64_t start_us, end_us;
	uint32_t events, page_views;
	uint32_t user;              /* user entry id */
	uint32_t next;              /* next later session of the user, or next free slot */
	uint32_t tnext;             /* next in its wheel bucket (not used in run[]) */
	uint16_t ovf;               /* bit k: step k dropped history (funnel may be low) */
	uint8_t state;              /* SS_FREE / SS_LIVE / SS_DEAD (merged away, still linked) */
	uint8_t in_run;             /* linked in run[], not in a bucket */
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

/* Entry of run[]: the sorted sessions of the current tick. */
struct st_srun {
	int64_t close_us;           /* <= the session's real close time (lazy) */
	uint32_t slot;
	uint32_t pad_;
};

#define WHEEL_SIZE 4096u            /* buckets; a power of two */

struct st_sess {
	struct wr_counters *cnt;
	uint32_t capacity, used, idx_mask, user_free;
	uint32_t user_bump;         /* users [user_bump, capacity) never used */
	uint32_t slot_capacity, slots_used, slot_free, slot_bump, slots_dead;
	uint32_t n_steps;
	uint32_t wshift;            /* tick = time >> wshift */
	int64_t cur_tick;           /* run[] holds this tick; earlier ticks are done */
	uint32_t run_head, run_n;   /* run[run_head .. run_n) sorted */
	int64_t gap_us, max_len_us, lateness_us;
	int64_t hold_us;            /* gap + lateness: end + hold_us is the close time */
	int64_t adv_wm_us;          /* highest watermark given to advance */
	struct st_sidx *idx;
	struct st_suser *usr;
	struct st_sslot *pool;
	int64_t *hist;
	struct st_srun *run;        /* slot_capacity entries */
	uint32_t *wheel;            /* WHEEL_SIZE bucket heads */
	size_t idx_b, usr_b, pool_b, hist_b, run_b, wheel_b;   /* mapped sizes */
};

_Static_assert(sizeof(struct st_sslot) == 40, "session slot grew: update the memory figures");
_Static_assert(sizeof(struct st_suser) == 88, "user entry grew: update the memory figures");
_Static_assert(sizeof(struct st_srun) == 16, "run item grew: update the memory figures");

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

/* ---- close-time wheel ------------------------------------------------- */

static inline int64_t tick_of(const struct st_sess *t, int64_t us)
{
	return us >> t->wshift;     /* arithmetic: floor also below 0 */
}

static inline int64_t close_of(const struct st_sess *t, const struct st_sslot *s)
{
	return st_sat_add(s->end_us, t->hold_us);
}

static inline bool run_less(const struct st_srun *a, const struct st_srun *b)
{
	return a->close_us < b->close_us || (a->close_us == b->close_us && a->slot < b->slot);
}

static inline void bucket_push(struct st_sess *t, uint32_t sid, int64_t tick)
{
	uint32_t *head = &t->wheel[(uint64_t)tick & (WHEEL_SIZE - 1)];
	t->pool[sid].tnext = *head;
	t->pool[sid].in_run = 0;
	*head = sid;
}

/* Insert into the sorted run (rare: a close time inside the current tick). */
static void run_insert(struct st_sess *t, int64_t close, uint32_t sid)
{
	struct st_srun it = { close, sid, 0 };
	if (t->run_n == t->slot_capacity) {
		/* the run holds fewer than capacity entries: room at the front */
		memmove(t->run, t->run + t->run_head,
			(size_t)(t->run_n - t->run_head) * sizeof(*t->run));
		t->run_n -= t->run_head;
		t->run_head = 0;
	}
	uint32_t lo = t->run_head, hi = t->run_n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (run_less(&t->run[mid], &it))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(t->run + lo + 1, t->run + lo, (size_t)(t->run_n - lo) * sizeof(*t->run));
	t->run[lo] = it;
	t->run_n++;
	t->pool[sid].in_run = 1;
}

/* Schedule @sid at close time @close (>= the current tick's start). */
static void timer_set(struct st_sess *t, uint32_t sid, int64_t close)
{
	int64_t tk = tick_of(t, close);
	if (likely(tk > t->cur_tick))
		bucket_push(t, sid, tk);
	else
		run_insert(t, close, sid);
}

static void slot_release(struct st_sess *t, uint32_t sid)
{
	struct st_sslot *s = &t->pool[sid];
	s->state = SS_FREE;
	s->next = t->slot_free;
	t->slot_free = sid;
}

static int cmp_run(const void *a, const void *b)
{
	return run_less(a, b) ? -1 : run_less(b, a) ? 1 : 0;
}

/*
 * Take the sessions of bucket list @head: dead ones are freed, those whose
 * real close tick is <= @upto go to the run (unsorted), the rest are
 * re-linked to the bucket of their real close tick.
 */
static void bucket_drain(struct st_sess *t, uint32_t head, int64_t upto)
{
	for (uint32_t sid = head; sid != SS_NONE;) {
		struct st_sslot *s = &t->pool[sid];
		uint32_t next = s->tnext;
		if (s->state == SS_DEAD) {
			t->slots_dead--;
			slot_release(t, sid);
		} else {
			int64_t close = close_of(t, s);
			int64_t tk = tick_of(t, close);
			if (tk <= upto) {
				t->run[t->run_n++] = (struct st_srun){ close, sid, 0 };
				s->in_run = 1;
			} else {
				bucket_push(t, sid, tk);
			}
		}
		sid = next;
	}
}

/* Make tick @tk current: load its sessions (all with close tick <= @tk when
 * @all) into the empty run, sorted. */
static void run_load(struct st_sess *t, int64_t tk, bool all)
{
	t->run_head = t->run_n = 0;
	t->cur_tick = tk;
	if (all) {
		for (uint32_t b = 0; b < WHEEL_SIZE; b++) {
			uint32_t head = t->wheel[b];
			t->wheel[b] = SS_NONE;
			bucket_drain(t, head, tk);
		}
	} else {
		uint32_t *hp = &t->wheel[(uint64_t)tk & (WHEEL_SIZE - 1)];
		uint32_t head = *hp;
		*hp = SS_NONE;
		bucket_drain(t, head, tk);
	}
	if (t->run_n > 1)
		qsort(t->run, t->run_n, sizeof(*t->run), cmp_run);
}

/* Free every dead slot now (the pool is full): a sweep over the wheel. */
static void sweep_dead(struct st_sess *t)
{
	for (uint32_t b = 0; b < WHEEL_SIZE; b++) {
		uint32_t *pp = &t->wheel[b];
		while (*pp != SS_NONE) {
			uint32_t sid = *pp;
			if (t->pool[sid].state == SS_DEAD) {
				*pp = t->pool[sid].tnext;
				t->slots_dead--;
				slot_release(t, sid);
			} else {
				pp = &t->pool[sid].tnext;
			}
		}
	}
	uint32_t o = t->run_head;
	for (uint32_t i = t->run_head; i < t->run_n; i++) {
		uint32_t sid = t->run[i].slot;
		if (t->pool[sid].state == SS_DEAD) {
			t->slots_dead--;
			slot_release(t, sid);
		} else {
			t->run[o++] = t->run[i];
		}
	}
	t->run_n = o;
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
	if (sid != SS_NONE)
		t->slot_free = t->pool[sid].next;
	else
		sid = t->slot_bump++;       /* caller checked slot_avail() */
	struct st_sslot *s = &t->pool[sid];
	struct st_suser *u = &t->usr[uid];
	s->state = SS_LIVE;
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
	timer_set(t, sid, st_sat_add(ts, t->hold_us));
	WR_COUNT(t->cnt, sessions_opened);
	gauge(t);
	return sid;
}

/* A free slot exists, or can be made by freeing dead ones. */
static inline bool slot_avail(struct st_sess *t)
{
	if (likely(t->slot_free != SS_NONE || t->slot_bump < t->slot_capacity))
		return true;
	if (t->slots_dead == 0)
		return false;
	sweep_dead(t);
	return true;
}

/* @p absorbs @n, its successor in the user's chain. */
static void session_merge(struct st_sess *t, struct st_suser *u, uint32_t p, uint32_t n)
{
	struct st_sslot *sp = &t->pool[p], *sn = &t->pool[n];
	sp->end_us = sn->end_us;     /* the timer of p is now stale-low: fine (lazy) */
	sp->events = sat_add32(sp->events, sn->events);
	sp->page_views = sat_add32(sp->page_views, sn->page_views);
	sp->ovf |= sn->ovf;
	if (t->n_steps > 0)
		funnel_merge(t, sp, hist_of(t, p), hist_of(t, n));
	sp->next = sn->next;
	if (u->tail == n)
		u->tail = p;
	/* still linked in the wheel: freed when its bucket comes up */
	sn->state = SS_DEAD;
	t->slots_dead++;
	t->slots_used--;
	gauge(t);
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
	/* 2^28 users and 2^29 sessions keep index and run sizes in uint32_t. */
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
	/* a tick of about hold / 2048: one wheel turn covers about two holds,
	 * so a session is visited about once before it is due */
	t->wshift = 0;
	while (t->wshift < 62 && ((int64_t)1 << t->wshift) < t->hold_us / (WHEEL_SIZE / 2))
		t->wshift++;
	t->cur_tick = tick_of(t, INT64_MIN);
	t->user_free = SS_NONE;
	t->slot_free = SS_NONE;
	t->idx_b = n_idx * sizeof(*t->idx);
	t->usr_b = (size_t)p->capacity * sizeof(*t->usr);
	t->pool_b = (size_t)n_slots * sizeof(*t->pool);
	t->run_b = (size_t)n_slots * sizeof(*t->run);
	t->wheel_b = WHEEL_SIZE * sizeof(*t->wheel);
	t->hist_b = (size_t)n_slots * p->n_steps * SS_K * sizeof(*t->hist);
	t->idx = st_big_alloc(t->idx_b);
	t->usr = st_big_alloc(t->usr_b);
	t->pool = st_big_alloc(t->pool_b);
	t->run = st_big_alloc(t->run_b);
	t->wheel = st_big_alloc(t->wheel_b);
	t->hist = st_big_alloc(t->hist_b);
	if (t->idx == NULL || t->usr == NULL || t->pool == NULL || t->run == NULL ||
	    t->wheel == NULL || (p->n_steps > 0 && t->hist == NULL))
		goto err;
	/* users and slots come from the bump pointers first: no page of those
	 * arrays is touched here (zeroed mappings are SS_FREE slots) */
	memset(t->wheel, 0xff, t->wheel_b);     /* SS_NONE */
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
	st_big_free(t->run, t->run_b);
	st_big_free(t->wheel, t->wheel_b);
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
 * One event, its user's hash already computed (st_sess_add's contract).
 * Measured cost: see st_sess_add_burst() and docs/benchmarks.md.
 */
static int add_hashed(struct st_sess *t, const char *user, size_t ulen, uint64_t hash,
		      int64_t ts_us, int32_t step, bool is_page_view, int64_t wm_us,
		      const struct st_sess_emit *emit)
{
	if (wm_us < t->adv_wm_us)
		wm_us = t->adv_wm_us;
	/* a new session at ts_us would close at once: late */
	bool too_old = st_sat_add(ts_us, t->hold_us) <= wm_us;

	uint32_t pos = idx_find(t, hash, user, ulen);
	uint32_t uid, sid;
	struct st_suser *u;
	if (pos == SS_NONE) {
		if (too_old) {
			report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
			return 1;
		}
		if (unlikely((t->user_free == SS_NONE && t->user_bump == t->capacity) ||
			     !slot_avail(t))) {
			WR_COUNT(t->cnt, session_table_full);
			return -ENOSPC;
		}
		if (t->user_free != SS_NONE) {
			uid = t->user_free;
			t->user_free = t->usr[uid].next_free;
		} else {
			uid = t->user_bump++;
		}
		u = &t->usr[uid];
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
		sp->end_us = ts_us;             /* timer stale-low: fine (lazy) */
		sid = p;
	} else if (n_ok && len_ok(t, ts_us, sn->end_us)) {
		sn->start_us = ts_us;
		sid = n;
	} else {
		if (too_old) {
			report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
			return 1;
		}
		if (unlikely(!slot_avail(t))) {
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

static inline bool args_ok(const struct st_sess *t, size_t ulen, int64_t ts_us, int32_t step)
{
	return !(ulen == 0 || ulen > ST_SESS_USER_MAX || step < -1 ||
		 step >= (int32_t)t->n_steps || ts_us == INT64_MIN || ts_us == INT64_MAX);
}

int st_sess_add(struct st_sess *t, const char *user, size_t ulen, int64_t ts_us, int32_t step,
		bool is_page_view, int64_t wm_us, const struct st_sess_emit *emit)
{
	if (unlikely(!args_ok(t, ulen, ts_us, step)))
		return -EINVAL;
	return add_hashed(t, user, ulen, user_hash(user, ulen), ts_us, step, is_page_view,
			  wm_us, emit);
}

/*
 * Burst of up to ST_SESS_BURST: hash every event and prefetch in three
 * waves (index slot, then the user entry the slot names, then the user's
 * newest session and its funnel history), so that the cache misses of the
 * burst overlap instead of queueing one after another; then add in order.
 * The prefetches are hints only: each add looks everything up again, so an
 * earlier event of the burst that changes the table is seen by later ones.
 */
uint32_t st_sess_add_burst(struct st_sess *t, const struct st_sess_ev *ev, uint32_t n,
			   const struct st_sess_emit *emit, int *rc)
{
	uint64_t h[ST_SESS_BURST];
	uint32_t ok = 0;

	while (n > 0) {
		uint32_t m = n < ST_SESS_BURST ? n : ST_SESS_BURST;
		for (uint32_t i = 0; i < m; i++) {
			if (unlikely(!args_ok(t, ev[i].user_len, ev[i].ts_us, ev[i].step)))
				continue;
			h[i] = user_hash(ev[i].user, ev[i].user_len);
			__builtin_prefetch(&t->idx[(uint32_t)h[i] & t->idx_mask]);
		}
		for (uint32_t i = 0; i < m; i++) {
			if (unlikely(!args_ok(t, ev[i].user_len, ev[i].ts_us, ev[i].step)))
				continue;
			const struct st_sidx *x = &t->idx[(uint32_t)h[i] & t->idx_mask];
			if (x->ent1 != 0 && x->tag == (uint32_t)h[i])
				__builtin_prefetch(&t->usr[x->ent1 - 1]);
		}
		for (uint32_t i = 0; i < m; i++) {
			if (unlikely(!args_ok(t, ev[i].user_len, ev[i].ts_us, ev[i].step)))
				continue;
			const struct st_sidx *x = &t->idx[(uint32_t)h[i] & t->idx_mask];
			if (x->ent1 == 0 || x->tag != (uint32_t)h[i])
				continue;
			uint32_t tail = t->usr[x->ent1 - 1].tail;
			if (tail < t->slot_capacity) {
				__builtin_prefetch(&t->pool[tail], 1);
				if (ev[i].step >= 0)
					__builtin_prefetch(hist_of(t, tail), 1);
			}
		}
		for (uint32_t i = 0; i < m; i++) {
			int r = -EINVAL;
			if (likely(args_ok(t, ev[i].user_len, ev[i].ts_us, ev[i].step)))
				r = add_hashed(t, ev[i].user, ev[i].user_len, h[i], ev[i].ts_us,
					       ev[i].step, ev[i].is_page_view, ev[i].wm_us, emit);
			ok += r == 0;
			if (rc != NULL)
				rc[i] = r;
		}
		ev += m;
		n -= m;
		if (rc != NULL)
			rc += m;
	}
	return ok;
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
	slot_release(t, sid);
	t->slots_used--;
	gauge(t);
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
	int64_t wt = tick_of(t, wm_us);

	uint32_t closed = 0;
	for (;;) {
		while (t->run_head < t->run_n && t->run[t->run_head].close_us <= wm_us) {
			struct st_srun top = t->run[t->run_head++];
			struct st_sslot *s = &t->pool[top.slot];
			if (s->state == SS_DEAD) {
				t->slots_dead--;
				slot_release(t, top.slot);
				continue;
			}
			int64_t real = close_of(t, s);
			if (real > top.close_us) {
				/* extended since it was scheduled: re-schedule instead */
				timer_set(t, top.slot, real);
				continue;
			}
			session_close(t, top.slot, emit);
			closed++;
		}
		if (t->cur_tick >= wt)
			break;
		/* the run is empty: every entry of an earlier tick was due */
		if ((uint64_t)wt - (uint64_t)t->cur_tick > WHEEL_SIZE)
			run_load(t, wt, true);        /* a long jump: one pass over all */
		else
			run_load(t, t->cur_tick + 1, false);
	}
	if (t->run_head == t->run_n)
		t->run_head = t->run_n = 0;
	return closed;
}

int st_sess_verify(const struct st_sess *t)
{
	uint32_t mask = t->idx_mask, in_idx = 0;
	uint64_t sessions = 0;
	int rc = -EFAULT;
	/* how often each slot is linked in the wheel or run: exactly once for
	 * live and dead slots, never for free ones */
	uint8_t *seen = calloc(t->slot_capacity ? t->slot_capacity : 1, 1);
	if (seen == NULL)
		return -ENOMEM;
	uint32_t linked = 0;
	for (uint32_t b = 0; b < WHEEL_SIZE; b++)
		for (uint32_t sid = t->wheel[b]; sid != SS_NONE; sid = t->pool[sid].tnext) {
			if (sid >= t->slot_bump || seen[sid]++ || t->pool[sid].in_run ||
			    t->pool[sid].state == SS_FREE || ++linked > t->slot_capacity)
				goto out;
			/* a bucket holds no session due before the current tick */
			if (t->pool[sid].state == SS_LIVE &&
			    tick_of(t, close_of(t, &t->pool[sid])) <= t->cur_tick)
				goto out;
		}
	for (uint32_t i = t->run_head; i < t->run_n; i++) {
		uint32_t sid = t->run[i].slot;
		if (sid >= t->slot_bump || seen[sid]++ || !t->pool[sid].in_run ||
		    t->pool[sid].state == SS_FREE)
			goto out;
		if (i > t->run_head && run_less(&t->run[i], &t->run[i - 1]))
			goto out;
		if (t->pool[sid].state == SS_LIVE &&
		    t->run[i].close_us > close_of(t, &t->pool[sid]))
			goto out;
		linked++;
	}
	uint32_t dead = 0;
	for (uint32_t sid = 0; sid < t->slot_bump; sid++) {
		if (t->pool[sid].state == SS_DEAD)
			dead++;
		if ((t->pool[sid].state != SS_FREE) != (seen[sid] == 1))
			goto out;
	}
	if (dead != t->slots_dead || linked != t->slots_used + t->slots_dead)
		goto out;
	for (uint32_t pos = 0; pos <= mask; pos++) {
		const struct st_sidx *x = &t->idx[pos];
		if (x->ent1 == 0)
			continue;
		in_idx++;
		if (x->ent1 > t->user_bump)
			goto out;
		uint32_t uid = x->ent1 - 1;
		const struct st_suser *u = &t->usr[uid];
		if ((uint32_t)u->hash != x->tag || u->len == 0 || u->len > ST_SESS_USER_MAX ||
		    user_hash(u->id, u->len) != u->hash)
			goto out;
		for (uint32_t q = x->tag & mask; q != pos; q = (q + 1) & mask)
			if (t->idx[q].ent1 == 0)
				goto out;
		if (idx_find(t, u->hash, u->id, u->len) != pos)
			goto out;
		/* a live user has a sorted chain of disjoint sessions */
		if (u->head == SS_NONE)
			goto out;
		uint32_t n_open = 0, last = SS_NONE;
		for (uint32_t sid = u->head; sid != SS_NONE; sid = t->pool[sid].next) {
			if (sid >= t->slot_bump || ++n_open > t->slot_capacity)
				goto out;
			const struct st_sslot *s = &t->pool[sid];
			if (s->state != SS_LIVE || s->user != uid || s->start_us > s->end_us ||
			    s->events == 0)
				goto out;
			if (t->max_len_us > 0 && span(s->start_us, s->end_us) > (uint64_t)t->max_len_us)
				goto out;
			if (last != SS_NONE && t->pool[last].end_us >= s->start_us)
				goto out;
			const int64_t *h = hist_of(t, sid);
			for (uint32_t k = 0; k < t->n_steps; k++)
				for (uint32_t i = 0; i < SS_K; i++) {
					int64_t v = h[k * SS_K + i];
					if (v == SS_EMPTY)
						continue;
					if (v < s->start_us || v > s->end_us ||
					    (i > 0 && h[k * SS_K + i - 1] >= v))
						goto out;
				}
			last = sid;
		}
		if (last != u->tail)
			goto out;
		sessions += n_open;
	}
	if (in_idx != t->used)
		goto out;
	uint32_t n_free = 0;
	for (uint32_t f = t->user_free; f != SS_NONE; f = t->usr[f].next_free)
		if (f >= t->user_bump || ++n_free > t->capacity)
			goto out;
	if (n_free + t->used != t->user_bump)
		goto out;
	uint32_t n_free_slots = 0;
	for (uint32_t f = t->slot_free; f != SS_NONE; f = t->pool[f].next)
		if (f >= t->slot_bump || t->pool[f].state != SS_FREE ||
		    ++n_free_slots > t->slot_capacity)
			goto out;
	if (sessions != t->slots_used ||
	    (uint64_t)n_free_slots + sessions + t->slots_dead != t->slot_bump)
		goto out;
	rc = 0;
out:
	free(seen);
	return rc;
}
