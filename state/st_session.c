/*
 * st_session.c - per-user event-time sessions with a funnel (contract in
 * st_session.h).
 *
 * Layout, all taken at create. The common case is one open session per
 * user, so that session lives inside the user's 64-byte entry: an event is
 * one index probe plus one cache line (plus the funnel history line when it
 * is a funnel step).
 *  - idx[]: open-addressing index of users, linear probing, load <= 0.75
 *    (sized exactly, home slot by multiply-shift), deletion by backward
 *    shift (no tombstones). Each slot holds user id + 1 and the low 32 bits
 *    of the hash (filter and home slot in one load).
 *  - usr[]: 64-byte, line-aligned user entries: the user's inline session
 *    (struct st_score) and the id when it is at most ST_SESS_ID_INLINE
 *    bytes; longer ids keep their first ID_PFX (20) bytes and their arena
 *    block number there (a mismatch is usually seen without leaving the
 *    line) and the whole id in arena[] (64-byte blocks, own free stack).
 *    LIFO free stack.
 *  - pool[]: overflow sessions (a user's second, third ... open session:
 *    a returning user whose old session has not closed yet, disorder,
 *    max_len splits), 48 bytes each, LIFO free stack. A user chains them
 *    through next in time order from its entry; the inline session (when
 *    open) lies somewhere between them, never overlapping.
 *  - hist_u[] / hist_p[]: funnel history of the inline / pool session,
 *    n_steps * ST_SESS_STEP_HIST 32-bit offsets from the session start
 *    (UINT32_MAX = empty), kept apart so events that are no funnel step
 *    never touch it. Offsets reach 2^32 - 2 us (71 min); a session whose
 *    history needs more moves it for good to a wide[] block of exact
 *    64-bit times (one per such session; its index in the first word), so
 *    no result depends on the narrow form. F_HIST says whether the history
 *    holds anything: a session without steps never initialises it.
 *  - wheel[]: close-time calendar (a hashed timer wheel). WHEEL_SIZE buckets
 *    of 2^wshift us (about hold / 2048, so one turn spans about twice
 *    gap + lateness); each bucket is a chain of 64-byte chunks of 15
 *    session handles (chunk[], taken at create, LIFO free stack), newest
 *    chunk first; a push appends to the newest chunk. The handles are in
 *    arrays rather than linked through the sessions so that draining a
 *    bucket can prefetch the sessions 8 handles ahead: with a million
 *    users each session visited is a cache miss, and a list through the
 *    sessions made them one dependent miss after another (about 100 ns
 *    each), the largest cost of advance. A bucket is visited newest push
 *    first, the order of the former intrusive lists, since which dead
 *    session is freed first decides the seq numbers (below) and so the
 *    order of equal close times. Keys are lazy: extending a
 *    session does not move it; when its bucket comes up, a session whose
 *    real close time (end + gap + lateness) is later is re-linked instead
 *    of closed. The bucket of the watermark's own tick is sorted into run[]
 *    by (close time, seq), so advance closes exactly the due sessions in
 *    order of end time, however often it runs. A session merged away is
 *    marked dead and freed when its bucket comes up (or by a sweep when no
 *    seq number is left, i.e. session_capacity would be reached). A dead inline session
 *    keeps its user entry from hosting a new inline session until then; an
 *    entry whose user has nothing open any more but whose inline spot is
 *    dead is "parked": out of the index, not counted as used, freed when
 *    the wheel reaches it (only possible when a tick is longer than the
 *    gap). usr[] has capacity + session_capacity entries (parked ones each
 *    hold a dead session), so parking never makes the user table look full.
 *  - seq: each session carries the number the shared pool of the former
 *    layout would have given it (the same LIFO free stack in seq_next[],
 *    popped at open, pushed at close and when a dead session is freed, and
 *    sweeps at the same moments). It breaks ties of equal close time in
 *    run[], so the order of emitted sessions is exactly what it was before
 *    the compact layout (checked against the former code on random
 *    streams), at 4 B per session.
 *  - A handle is a pool slot, or user id | H_INL for an inline session.
 *  - Users, slots, blocks and wheel chunks are handed out from bump
 *    pointers before the free stacks, so create touches no page and the
 *    resident set grows with the peak in use, not the capacity.
 *
 * rte_hash is not used for the same reason as in st_window.c: this room
 * builds and runs without EAL, and the session lives next to the key.
 *
 * The dense arrays (index, users, inline history, seq) are on 2 MB pages:
 * reserved ones from the hugetlb pool with params.reserved_pages when it
 * has room, else transparent huge pages where the kernel allows it (see
 * st_mem.c). With a million users every event misses the TLB; 2 MB pages
 * cut the measured cost at a million users by 15-20 %. Rarely used ones
 * (pool, arena, wide, run) use 4 KiB pages so that their first use does not
 * make 2 MB resident; so do the wheel chunks (about 4.3 B per open session,
 * visited in order, so 2 MB pages would only add rounding). Measured: see
 * docs/benchmarks.md (Sessionization).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_pvt.h"
#include "st_session.h"
#include "wr_common.h"

#define SS_NONE UINT32_MAX
#define SS_K ST_SESS_STEP_HIST
#define SS_EMPTY INT64_MAX           /* unused history slot (absolute form) */
#define SS_EMPTY32 UINT32_MAX        /* unused history slot (narrow form) */
#define SS_NARROW_MAX (UINT32_MAX - 1u)
#define H_INL 0x80000000u            /* handle of the inline session of user h & ~H_INL */
#define ID_INL ST_SESS_ID_INLINE
#define ID_PFX (ID_INL - 4)          /* long ids: bytes kept in the line */
#define HN_MAX (ST_SESS_STEPS_MAX * SS_K)

enum {
	F_LIVE = 1,                 /* open session */
	F_DEAD = 2,                 /* merged away, still linked in the wheel or run */
	F_RUN = 4,                  /* linked in run[], not in a bucket */
	F_HIST = 8,                 /* funnel history holds something */
	F_WIDE = 16,                /* history in wide[] (index in its first word) */
	F_PARKED = 32,              /* user entry: released, waits for its dead inline */
};

/* One session, inline in a user entry or in the pool; 36 bytes used
 * (40 with the alignment padding). */
struct st_score {
	int64_t start_us, end_us;
	uint32_t events, page_views;
	uint32_t next;              /* pool: next later pool session of the user, or next
				     * free slot; user entry: first pool session, or next
				     * free user */
	uint32_t seq;               /* the tie-break in run[]: see "seq" above */
	uint16_t ovf;               /* bit k: step k dropped history (funnel may be low) */
	uint8_t flags;              /* F_* */
	uint8_t len;                /* user entry: id length, 0 = free or parked */
};

/* One cache line: inline session, then the id, or for a long id its first
 * ID_PFX bytes and (at id + ID_PFX) its arena block. */
struct st_suser {
	struct st_score c;
	char id[ID_INL];
} __attribute__((aligned(64)));

/* An overflow session; 48 bytes. */
struct st_spool {
	struct st_score c;
	uint32_t user;              /* owner user id */
	uint32_t pad_;
};

struct st_sidx {
	uint32_t ent1;              /* user id + 1, 0 = empty */
	uint32_t tag;               /* low 32 bits of the hash */
};

/* Entry of run[]: the sorted sessions of the current tick. */
struct st_srun {
	int64_t close_us;           /* <= the session's real close time (lazy) */
	uint32_t h;                 /* handle */
	uint32_t seq;               /* the session's seq: orders equal close times */
};

#define WHEEL_SIZE 4096u            /* buckets; a power of two */
#define CH_N 15u                    /* handles per wheel chunk */
#define CH_NONE 0x0fffffffu         /* no chunk (28-bit chunk numbers) */
#define CH_AHEAD 16u                /* bucket_drain prefetches this many sessions ahead */

/*
 * A piece of a wheel bucket: up to CH_N session handles in push order
 * (h[0] oldest), and in link the next (older) chunk of the bucket << 4 |
 * the number of handles held. One cache line.
 */
struct st_schunk {
	uint32_t h[CH_N];
	uint32_t link;
} __attribute__((aligned(64)));

struct st_sess {
	struct wr_counters *cnt;
	uint32_t capacity, used, idx_n;   /* idx_n: index slots */
	uint32_t user_phys;         /* entries in usr[]: capacity + slot_capacity */
	uint32_t user_free, user_bump, users_parked;
	uint32_t slot_capacity;     /* open sessions (inline and pool); also pool[] size */
	uint32_t slots_used, slots_dead, slot_free, slot_bump;
	uint32_t seq_free, seq_bump; /* seq numbers: the former pool's free stack */
	uint32_t arena_free, arena_bump;
	uint32_t wide_free, wide_bump, wides_used;
	uint32_t n_steps, hn;       /* hn = n_steps * SS_K history words per session */
	uint32_t wshift;            /* tick = time >> wshift */
	int64_t cur_tick;           /* run[] holds this tick; earlier ticks are done */
	uint32_t run_head, run_n, run_cap;   /* run[run_head .. run_n) sorted */
	int64_t gap_us, max_len_us, lateness_us;
	int64_t hold_us;            /* gap + lateness: end + hold_us is the close time */
	int64_t adv_wm_us;          /* highest watermark given to advance */
	bool funnel_fast_ok;        /* !params.general_funnel_only */
	uint64_t funnel_fast;       /* steps done by funnel_add_last */
	struct st_sidx *idx;
	struct st_suser *usr;
	struct st_spool *pool;
	uint32_t *seq_next;         /* free stack links of seq numbers */
	uint32_t *hist_u, *hist_p;
	int64_t *wide;
	char *arena;
	struct st_srun *run;
	uint32_t *wheel;            /* WHEEL_SIZE bucket heads: newest chunk, or CH_NONE */
	struct st_schunk *chunk;    /* wheel chunks: bump, then a LIFO free stack */
	uint32_t chunk_cap, chunk_bump, chunk_free, chunks_used;
	size_t idx_b, usr_b, pool_b, seq_b, hist_u_b, hist_p_b, wide_b, arena_b, run_b, wheel_b;
	size_t chunk_b;
	struct st_mem_res res;             /* reserved 2 MB page bytes */
};

_Static_assert(sizeof(struct st_score) == 40, "session grew: update the memory figures");
_Static_assert(sizeof(struct st_spool) == 48, "pool session grew: update the memory figures");
_Static_assert(sizeof(struct st_suser) == 64, "user entry is no longer one cache line");
_Static_assert(sizeof(struct st_srun) == 16, "run item grew: update the memory figures");
_Static_assert(sizeof(struct st_schunk) == 64, "wheel chunk is no longer one cache line");
_Static_assert(CH_N < 16, "handle count in the low 4 bits of link");
_Static_assert(ST_SESS_USER_MAX <= 255 && ID_INL <= ST_SESS_USER_MAX, "id length in uint8_t");

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

/* ---- handles ----------------------------------------------------------- */

static inline struct st_score *core(const struct st_sess *t, uint32_t h)
{
	return (h & H_INL) ? &t->usr[h & ~H_INL].c : &t->pool[h].c;
}

static inline uint32_t *hist32(const struct st_sess *t, uint32_t h)
{
	return (h & H_INL) ? &t->hist_u[(size_t)(h & ~H_INL) * t->hn] : &t->hist_p[(size_t)h * t->hn];
}

/* User id (entry index) owning session @h. */
static inline uint32_t owner(const struct st_sess *t, uint32_t h)
{
	return (h & H_INL) ? h & ~H_INL : t->pool[h].user;
}

static inline char *arena_blk(const struct st_sess *t, uint32_t b)
{
	return &t->arena[(size_t)b * ST_SESS_USER_MAX];
}

/* Arena block of a long id. */
static inline uint32_t user_blk(const struct st_suser *u)
{
	uint32_t b;
	memcpy(&b, u->id + ID_PFX, sizeof(b));
	return b;
}

/* The whole id of a live user entry. */
static inline const char *user_id(const struct st_sess *t, const struct st_suser *u)
{
	return u->c.len <= ID_INL ? u->id : arena_blk(t, user_blk(u));
}

static inline bool user_is(const struct st_sess *t, const struct st_suser *u, const char *id,
			   size_t len)
{
	if (u->c.len != len)
		return false;
	if (len <= ID_INL)
		return wr_bytes_eq(u->id, id, len);
	return wr_bytes_eq(u->id, id, ID_PFX) &&
	       wr_bytes_eq(arena_blk(t, user_blk(u)) + ID_PFX, id + ID_PFX, len - ID_PFX);
}

/* ---- user index -------------------------------------------------------- */

/* Home slot of a tag: multiply-shift maps the (well mixed) 32-bit tag onto
 * any table size, so the index is sized to load 0.75 exactly rather than
 * to the next power of two (20 -> 13 B per user at a million). */
static inline uint32_t idx_home(const struct st_sess *t, uint32_t tag)
{
	return (uint32_t)(((uint64_t)tag * t->idx_n) >> 32);
}

static inline uint32_t idx_next(const struct st_sess *t, uint32_t pos)
{
	return pos + 1 == t->idx_n ? 0 : pos + 1;
}

/* Index slot of user @id with hash tag @tag and home slot @home, or SS_NONE. */
static inline __attribute__((always_inline)) uint32_t
idx_find_at(const struct st_sess *t, uint32_t tag, uint32_t home, const char *id, size_t len)
{
	for (uint32_t pos = home;; pos = idx_next(t, pos)) {
		const struct st_sidx *x = &t->idx[pos];
		if (x->ent1 == 0)
			return SS_NONE;
		if (x->tag == tag && user_is(t, &t->usr[x->ent1 - 1], id, len))
			return pos;
	}
}

static uint32_t idx_find(const struct st_sess *t, uint64_t hash, const char *id, size_t len)
{
	return idx_find_at(t, (uint32_t)hash, idx_home(t, (uint32_t)hash), id, len);
}

static void idx_insert(struct st_sess *t, uint32_t uid, uint32_t tag)
{
	uint32_t pos = idx_home(t, tag);
	while (t->idx[pos].ent1 != 0)
		pos = idx_next(t, pos);
	t->idx[pos].ent1 = uid + 1;
	t->idx[pos].tag = tag;
}

/* Backward-shift deletion: move later members of the run into the hole when their home allows. */
static void idx_remove(struct st_sess *t, uint32_t pos)
{
	uint32_t hole = pos;
	for (uint32_t j = idx_next(t, pos); t->idx[j].ent1 != 0; j = idx_next(t, j)) {
		uint32_t home = idx_home(t, t->idx[j].tag);
		/* j may move to the hole unless its home lies cyclically in (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			t->idx[hole] = t->idx[j];
			hole = j;
		}
	}
	t->idx[hole].ent1 = 0;
}

/* Index slot of live user @uid (the hash is recomputed: entries keep no copy). */
static uint32_t idx_pos_of(const struct st_sess *t, uint32_t uid)
{
	const struct st_suser *u = &t->usr[uid];
	uint32_t tag = (uint32_t)user_hash(user_id(t, u), u->c.len);
	for (uint32_t pos = idx_home(t, tag);; pos = idx_next(t, pos)) {
		if (t->idx[pos].ent1 == uid + 1)
			return pos;
		if (t->idx[pos].ent1 == 0)
			return SS_NONE;
	}
}

/* ---- free stacks ------------------------------------------------------- */

static void user_push_free(struct st_sess *t, uint32_t uid)
{
	struct st_score *c = &t->usr[uid].c;
	c->flags = 0;
	c->len = 0;
	c->next = t->user_free;
	t->user_free = uid;
}

static void pool_push_free(struct st_sess *t, uint32_t sid)
{
	struct st_score *c = &t->pool[sid].c;
	c->flags = 0;
	c->next = t->slot_free;
	t->slot_free = sid;
}

static uint32_t arena_alloc(struct st_sess *t)
{
	uint32_t b = t->arena_free;
	if (b != SS_NONE)
		memcpy(&t->arena_free, arena_blk(t, b), sizeof(b));
	else
		b = t->arena_bump++;     /* long ids <= live users <= capacity blocks */
	return b;
}

static void arena_release(struct st_sess *t, uint32_t b)
{
	memcpy(arena_blk(t, b), &t->arena_free, sizeof(b));
	t->arena_free = b;
}

static uint32_t wide_alloc(struct st_sess *t)
{
	uint32_t b = t->wide_free;
	if (b != SS_NONE)
		t->wide_free = (uint32_t)t->wide[(size_t)b * t->hn];
	else
		b = t->wide_bump++;      /* wide sessions <= open sessions <= slot_capacity */
	t->wides_used++;
	return b;
}

static void wide_release(struct st_sess *t, uint32_t b)
{
	t->wide[(size_t)b * t->hn] = t->wide_free;
	t->wide_free = b;
	t->wides_used--;
}

static void seq_push(struct st_sess *t, uint32_t q)
{
	t->seq_next[q] = t->seq_free;
	t->seq_free = q;
}

/* Free a dead session found in the wheel or the run. */
static void release_dead(struct st_sess *t, uint32_t h)
{
	t->slots_dead--;
	seq_push(t, core(t, h)->seq);
	if (h & H_INL) {
		uint32_t uid = h & ~H_INL;
		struct st_score *c = &t->usr[uid].c;
		c->flags &= (uint8_t)~(F_DEAD | F_RUN);
		if (c->flags & F_PARKED) {
			t->users_parked--;
			user_push_free(t, uid);
		}
	} else {
		pool_push_free(t, h);
	}
}

/* ---- close-time wheel ------------------------------------------------- */

static inline int64_t tick_of(const struct st_sess *t, int64_t us)
{
	return us >> t->wshift;     /* arithmetic: floor also below 0 */
}

static inline int64_t close_of(const struct st_sess *t, const struct st_score *s)
{
	return st_sat_add(s->end_us, t->hold_us);
}

static inline bool run_less(const struct st_srun *a, const struct st_srun *b)
{
	return a->close_us < b->close_us || (a->close_us == b->close_us && a->seq < b->seq);
}

/* ---- wheel chunks ----------------------------------------------------- */

static inline uint32_t ch_next(const struct st_schunk *k)
{
	return k->link >> 4;
}

static inline uint32_t ch_n(const struct st_schunk *k)
{
	return k->link & 15u;
}

static inline void ch_set(struct st_schunk *k, uint32_t next, uint32_t n)
{
	k->link = next << 4 | n;
}

/* A chunk from the free stack or the bump pointer; chunk_cap bounds the
 * chunks in use (see st_sess_create), so this never runs out. */
static uint32_t chunk_alloc(struct st_sess *t)
{
	uint32_t c = t->chunk_free;
	if (c != CH_NONE)
		t->chunk_free = ch_next(&t->chunk[c]);
	else
		c = t->chunk_bump++;
	/* Cannot happen by the sizing in st_sess_create (checked by
	 * st_sess_verify); if it ever did, stop loudly rather than write past
	 * the array. One compare per 15 scheduled sessions. */
	if (unlikely(c >= t->chunk_cap)) {
		WR_ERR("sessions", "close-time wheel out of chunks (%u): sizing bug", t->chunk_cap);
		abort();
	}
	t->chunks_used++;
	return c;
}

static void chunk_release(struct st_sess *t, uint32_t c)
{
	ch_set(&t->chunk[c], t->chunk_free, 0);
	t->chunk_free = c;
	t->chunks_used--;
}

/* Append @h to the bucket of @tick (its newest chunk, or a new one). */
static inline void bucket_push(struct st_sess *t, uint32_t h, int64_t tick)
{
	uint32_t *head = &t->wheel[(uint64_t)tick & (WHEEL_SIZE - 1)];
	uint32_t c = *head;
	if (c == CH_NONE || ch_n(&t->chunk[c]) == CH_N) {
		uint32_t nc = chunk_alloc(t);
		ch_set(&t->chunk[nc], c, 0);
		*head = c = nc;
	}
	struct st_schunk *k = &t->chunk[c];
	k->h[ch_n(k)] = h;
	k->link++;                  /* one more handle */
	core(t, h)->flags &= (uint8_t)~F_RUN;
}

/*
 * Read cursor over a detached bucket chain, newest handle first: the next
 * handle is chunk[c].h[i - 1]. It moves to the next chunk as soon as it
 * took a chunk's last handle (so a chunk the visit has released is never
 * read again) and prefetches the chunk after that.
 */
struct st_chcur {
	uint32_t c, i;
};

static inline struct st_chcur cur_start(const struct st_sess *t, uint32_t head)
{
	return (struct st_chcur){ head, head != CH_NONE ? ch_n(&t->chunk[head]) : 0 };
}

static inline uint32_t cur_take(const struct st_sess *t, struct st_chcur *p)
{
	if (p->c == CH_NONE)
		return SS_NONE;
	const struct st_schunk *k = &t->chunk[p->c];
	uint32_t h = k->h[--p->i];
	if (p->i == 0) {
		p->c = ch_next(k);
		if (p->c != CH_NONE) {
			const struct st_schunk *n = &t->chunk[p->c];
			p->i = ch_n(n);
			if (ch_next(n) != CH_NONE)
				wr_prefetch(&t->chunk[ch_next(n)]);
		}
	}
	return h;
}

/* Load the line(s) of session @h that a bucket visit reads (a pool
 * session may straddle two lines). */
static inline void prefetch_core(const struct st_sess *t, uint32_t h)
{
	if (h == SS_NONE)
		return;
	const char *c = (const char *)core(t, h);
	wr_prefetch(c);
	if (!(h & H_INL))
		wr_prefetch(c + sizeof(struct st_score) - 1);
}

/* Insert into the sorted run (rare: a close time inside the current tick). */
static void run_insert(struct st_sess *t, int64_t close, uint32_t h)
{
	struct st_srun it = { close, h, core(t, h)->seq };
	if (t->run_n == t->run_cap) {
		/* the run holds fewer than run_cap entries: room at the front */
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
	core(t, h)->flags |= F_RUN;
}

/* Schedule @h at close time @close (>= the current tick's start). */
static void timer_set(struct st_sess *t, uint32_t h, int64_t close)
{
	int64_t tk = tick_of(t, close);
	if (likely(tk > t->cur_tick))
		bucket_push(t, h, tk);
	else
		run_insert(t, close, h);
}

/* Partition levels run_sort() allows for @n entries: 2 log2 n. */
static inline uint32_t run_depth(uint32_t n)
{
	return n > 1 ? 2 * (32 - (uint32_t)__builtin_clz(n)) : 0;
}

static inline void run_swap(struct st_srun *a, uint32_t i, uint32_t j)
{
	struct st_srun x = a[i];
	a[i] = a[j];
	a[j] = x;
}

/* Sift @a[i] down the max-heap @a[0 .. n). */
static void run_sift(struct st_srun *a, uint32_t i, uint32_t n)
{
	struct st_srun v = a[i];
	for (uint32_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && run_less(&a[c], &a[c + 1]))
			c++;
		if (!run_less(&v, &a[c]))
			break;
		a[i] = a[c];
	}
	a[i] = v;
}

/*
 * Sort @a[0 .. n) by run_less (a total order: seq numbers are unique), as
 * the qsort() it replaces did, without a call per compare: quicksort with a
 * median-of-three pivot, insertion sort for short ranges, and heapsort for
 * a range that partitions badly too often (the close times come from event
 * times, which senders choose), so it is O(n log n) for any input.
 */
static void run_sort(struct st_srun *a, uint32_t n, uint32_t depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			for (uint32_t i = n / 2; i-- > 0;)
				run_sift(a, i, n);
			for (uint32_t i = n - 1; i > 0; i--) {
				run_swap(a, 0, i);
				run_sift(a, 0, i);
			}
			return;
		}
		/* median of first, middle and last to a[0]; pivot p = a[0] */
		uint32_t m = n / 2;
		if (run_less(&a[m], &a[0]))
			run_swap(a, m, 0);
		if (run_less(&a[n - 1], &a[m]))
			run_swap(a, n - 1, m);
		if (run_less(&a[m], &a[0]))
			run_swap(a, m, 0);
		run_swap(a, 0, m);
		/* Hoare partition around a[0]: a[1 .. j] <= p <= a[j + 1 .. n) */
		const struct st_srun p = a[0];
		uint32_t i = 0, j = n;
		for (;;) {
			do
				i++;
			while (i < n && run_less(&a[i], &p));
			do
				j--;
			while (run_less(&p, &a[j]));
			if (i >= j)
				break;
			run_swap(a, i, j);
		}
		run_swap(a, 0, j);
		/* a[j] is in place: recurse into the smaller side, loop on the other */
		if (j < n - j - 1) {
			run_sort(a, j, depth);
			a += j + 1;
			n -= j + 1;
		} else {
			run_sort(a + j + 1, n - j - 1, depth);
			n = j;
		}
	}
	for (uint32_t i = 1; i < n; i++) {
		struct st_srun v = a[i];
		uint32_t k = i;
		for (; k > 0 && run_less(&v, &a[k - 1]); k--)
			a[k] = a[k - 1];
		a[k] = v;
	}
}

/*
 * Take the sessions of the detached bucket chain @head, newest first (the
 * order the former intrusive lists had, which the free stacks and so the
 * seq numbers depend on): dead ones are freed, those whose real close tick
 * is <= @upto go to the run (unsorted), the rest are appended to the bucket
 * of their real close tick (possibly this same bucket index). The sessions
 * CH_AHEAD handles on are prefetched meanwhile: the handles sit in arrays,
 * so their (random, cold) lines load in parallel instead of one dependent
 * miss per session as a list through the sessions would. Chunks go back to
 * the free stack as soon as they are visited.
 */
static void bucket_drain(struct st_sess *t, uint32_t head, int64_t upto)
{
	struct st_chcur ahead = cur_start(t, head);
	for (uint32_t k = 0; k < CH_AHEAD; k++)
		prefetch_core(t, cur_take(t, &ahead));
	for (uint32_t c = head; c != CH_NONE;) {
		const struct st_schunk *ck = &t->chunk[c];
		uint32_t next = ch_next(ck);
		for (uint32_t i = ch_n(ck); i-- > 0;) {
			prefetch_core(t, cur_take(t, &ahead));
			uint32_t h = ck->h[i];
			struct st_score *s = core(t, h);
			if (s->flags & F_DEAD) {
				release_dead(t, h);
				continue;
			}
			int64_t close = close_of(t, s);
			int64_t tk = tick_of(t, close);
			if (tk <= upto) {
				t->run[t->run_n++] = (struct st_srun){ close, h, s->seq };
				s->flags |= F_RUN;
			} else {
				bucket_push(t, h, tk);
			}
		}
		chunk_release(t, c);
		c = next;
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
			t->wheel[b] = CH_NONE;
			bucket_drain(t, head, tk);
		}
	} else {
		uint32_t *hp = &t->wheel[(uint64_t)tk & (WHEEL_SIZE - 1)];
		uint32_t head = *hp;
		*hp = CH_NONE;
		bucket_drain(t, head, tk);
		/* the next tick's newest chunk, for the next load */
		uint32_t nh = t->wheel[(uint64_t)(tk + 1) & (WHEEL_SIZE - 1)];
		if (nh != CH_NONE)
			wr_prefetch(&t->chunk[nh]);
	}
	if (t->run_n > 1)
		run_sort(t->run, t->run_n, run_depth(t->run_n));
}

int st_sess_test_sort(int64_t *close, uint32_t *seq, uint32_t n, uint32_t depth)
{
	struct st_srun *a = malloc((n ? n : 1) * sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		a[i] = (struct st_srun){ close[i], i, seq[i] };
	run_sort(a, n, depth == UINT32_MAX ? run_depth(n) : depth);
	for (uint32_t i = 0; i < n; i++) {
		close[i] = a[i].close_us;
		seq[i] = a[i].seq;
	}
	free(a);
	return 0;
}

/*
 * Free every dead session now (pool or user array full): a sweep over the
 * wheel. Each bucket is compacted in place in visit order (newest first,
 * as bucket_drain), the survivors packed from the top of the newest chunk
 * down: the write position never passes the read position, so nothing
 * unread is overwritten. The oldest chunk kept may be left partial (its
 * handles moved to its start); chunks emptied go back to the free stack.
 */
static void sweep_dead(struct st_sess *t)
{
	for (uint32_t b = 0; b < WHEEL_SIZE; b++) {
		uint32_t head = t->wheel[b];
		if (head == CH_NONE)
			continue;
		uint32_t wc = head, wi = CH_N;      /* next write: chunk[wc].h[wi - 1] */
		for (uint32_t rc = head; rc != CH_NONE; rc = ch_next(&t->chunk[rc])) {
			const struct st_schunk *rk = &t->chunk[rc];
			for (uint32_t i = ch_n(rk); i-- > 0;) {
				uint32_t h = rk->h[i];
				if (core(t, h)->flags & F_DEAD) {
					release_dead(t, h);
					continue;
				}
				if (wi == 0) {       /* wc is full: on to the next (already read) */
					ch_set(&t->chunk[wc], ch_next(&t->chunk[wc]), CH_N);
					wc = ch_next(&t->chunk[wc]);
					wi = CH_N;
				}
				t->chunk[wc].h[--wi] = h;
			}
		}
		/* free what follows the last chunk written (all of it when none was) */
		uint32_t rest;
		if (wi == CH_N) {
			rest = head;
			t->wheel[b] = CH_NONE;
		} else {
			struct st_schunk *k = &t->chunk[wc];
			rest = ch_next(k);
			memmove(k->h, k->h + wi, (CH_N - wi) * sizeof(k->h[0]));
			ch_set(k, CH_NONE, CH_N - wi);
		}
		while (rest != CH_NONE) {
			uint32_t next = ch_next(&t->chunk[rest]);
			chunk_release(t, rest);
			rest = next;
		}
	}
	uint32_t o = t->run_head;
	for (uint32_t i = t->run_head; i < t->run_n; i++) {
		uint32_t h = t->run[i].h;
		if (core(t, h)->flags & F_DEAD)
			release_dead(t, h);
		else
			t->run[o++] = t->run[i];
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

/*
 * Absolute (int64) form of the history of session @h into @out (hn words,
 * per step sorted, SS_EMPTY = unused).
 */
static void hist_load(const struct st_sess *t, uint32_t h, const struct st_score *c, int64_t *out)
{
	uint32_t n = t->hn;
	if (!(c->flags & F_HIST)) {
		for (uint32_t i = 0; i < n; i++)
			out[i] = SS_EMPTY;
		return;
	}
	const uint32_t *w = hist32(t, h);
	if (c->flags & F_WIDE) {
		memcpy(out, &t->wide[(size_t)w[0] * n], n * sizeof(*out));
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		out[i] = w[i] == SS_EMPTY32 ? SS_EMPTY : c->start_us + (int64_t)w[i];
}

/*
 * Store @in (every time in [start, end] of @c) as the history of @h:
 * offsets from the start while they fit, else (for good) a wide block.
 */
static void hist_save(struct st_sess *t, uint32_t h, struct st_score *c, const int64_t *in)
{
	uint32_t n = t->hn, *w = hist32(t, h);
	if (!(c->flags & F_WIDE)) {
		bool narrow = true;
		for (uint32_t i = 0; i < n; i++)
			if (in[i] != SS_EMPTY && span(c->start_us, in[i]) > SS_NARROW_MAX)
				narrow = false;
		if (likely(narrow)) {
			for (uint32_t i = 0; i < n; i++)
				w[i] = in[i] == SS_EMPTY ? SS_EMPTY32 : (uint32_t)span(c->start_us, in[i]);
			c->flags |= F_HIST;
			return;
		}
		w[0] = wide_alloc(t);
		c->flags |= F_WIDE;
	}
	memcpy(&t->wide[(size_t)w[0] * n], in, n * sizeof(*in));
	c->flags |= F_HIST;
}

/* Forget the history of @h (closed or merged away). */
static void hist_drop(struct st_sess *t, uint32_t h, struct st_score *c)
{
	if (c->flags & F_WIDE)
		wide_release(t, hist32(t, h)[0]);
	c->flags &= (uint8_t)~(F_HIST | F_WIDE);
}

_Static_assert(SS_K == 2, "funnel_add_last reads exactly two words per step");

/*
 * funnel_add's fast path, on the narrow words in place, for the usual case:
 * @ts is the session's end (after the event was counted), so no stored time
 * is later (all lie in [start, end]), and the history is empty or narrow with
 * @ts's offset narrow too. Returns false (nothing touched) otherwise.
 * The stored history is what fwork_store left, i.e. a fixed point of it, so
 * only step k and the chain up to it need a look; what fwork_store would
 * make of it with @ts added (ts >= every stored time):
 *  - the chain reaches step k and t(k) exists: ts is a repeat or later than
 *    t(k), dropped for good: no change;
 *  - the chain reaches step k, t(k) does not exist and ts > t(k-1): ts
 *    becomes t(k) after at most one waiting time (a second one is dropped,
 *    ovf bit k); later steps then hold only times <= ts: unchanged;
 *  - otherwise (chain broken before k, or ts == t(k-1)) ts waits: appended
 *    when there is room and it is no repeat, else dropped with ovf bit k.
 * tests/unit/test_session.c checks this against the general path word for
 * word on random streams (st_sess_params.general_funnel_only).
 */
static inline bool funnel_add_last(struct st_sess *t, uint32_t h, struct st_score *s, uint32_t k,
				   int64_t ts)
{
	if (ts != s->end_us || (s->flags & F_WIDE) || span(s->start_us, ts) > SS_NARROW_MAX)
		return false;
	uint32_t o = (uint32_t)span(s->start_us, ts);
	uint32_t *w = hist32(t, h);
	t->funnel_fast++;
	if (!(s->flags & F_HIST)) {
		for (uint32_t i = 0; i < t->hn; i++)
			w[i] = SS_EMPTY32;
		w[k * SS_K] = o;
		s->flags |= F_HIST;
		return true;
	}
	/* chain over steps 0 .. k-1 in offsets; -1 is before every offset, and
	 * an empty word (UINT32_MAX) is above every real one */
	int64_t prev = -1;
	uint32_t j = 0;
	for (; j < k; j++) {
		int64_t a = w[j * SS_K], b = w[j * SS_K + 1];
		int64_t tj = a > prev ? a : b;
		if (tj <= prev || tj == SS_EMPTY32)
			break;
		prev = tj;
	}
	uint32_t *wk = &w[k * SS_K];
	uint32_t a = wk[0], b = wk[1];
	if (j == k) {
		int64_t tk = (int64_t)a > prev ? a : b;
		if (tk > prev && tk != SS_EMPTY32)
			return true;            /* t(k) exists: ts can never be chosen */
		/* every stored time of step k is <= t(k-1) <= ts */
		if ((int64_t)o > prev) {
			if (b != SS_EMPTY32) {
				s->ovf |= (uint16_t)(1u << k);  /* two waiting: the later goes */
				wk[1] = o;
			} else {
				wk[a != SS_EMPTY32] = o;
			}
			return true;
		}
	}
	if (b != SS_EMPTY32) {
		if (b != o)
			s->ovf |= (uint16_t)(1u << k);
	} else if (a != SS_EMPTY32) {
		if (a != o)
			wk[1] = o;
	} else {
		wk[0] = o;
	}
	return true;
}

/* funnel_add's general path: any event time, narrow or wide history. */
static __attribute__((noinline)) void funnel_add_general(struct st_sess *t, uint32_t h,
							 struct st_score *s, uint32_t k,
							 int64_t ts)
{
	int64_t buf[HN_MAX];
	hist_load(t, h, s, buf);
	const int64_t *hk = &buf[k * SS_K];
	for (uint32_t i = 0; i < SS_K; i++)
		if (hk[i] == ts)
			return;     /* a repeat at the same time changes nothing */
	struct st_fwork w;
	fwork_load(&w, buf, t->n_steps);
	uint32_t m = w.m[k], i = m;
	while (i > 0 && w.v[k][i - 1] > ts) {
		w.v[k][i] = w.v[k][i - 1];
		i--;
	}
	w.v[k][i] = ts;
	w.m[k] = (uint8_t)(m + 1);
	fwork_store(&w, buf, t->n_steps, &s->ovf);
	hist_save(t, h, s, buf);
}

/* Add one occurrence of step @k at @ts to the history of session @h. */
static inline void funnel_add(struct st_sess *t, uint32_t h, struct st_score *s, uint32_t k,
			      int64_t ts)
{
	if (likely(t->funnel_fast_ok) && funnel_add_last(t, h, s, k, ts))
		return;
	funnel_add_general(t, h, s, k, ts);
}

/* Merge history @b into @a (both sorted per step, absolute form). */
static void funnel_merge(const struct st_sess *t, uint16_t *ovf, int64_t *a, const int64_t *b)
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
	fwork_store(&w, a, t->n_steps, ovf);
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

static inline void gauge(struct st_sess *t)
{
	t->cnt->v[WR_CNT_sessions_active] = t->slots_used;
}

/*
 * Open a session at @ts for live user @uid: inline when the entry's spot is
 * free, else from the pool, linked into the user's pool chain in time
 * order. The caller checked slot_avail(). Returns the handle.
 */
static uint32_t session_open(struct st_sess *t, uint32_t uid, int64_t ts)
{
	struct st_suser *u = &t->usr[uid];
	struct st_score *c;
	uint32_t h;
	if (likely(!(u->c.flags & (F_LIVE | F_DEAD)))) {
		h = uid | H_INL;
		c = &u->c;
	} else {
		/* pool sessions <= open sessions < slot_capacity: when no slot
		 * is free, dead ones hold the rest */
		if (unlikely(t->slot_free == SS_NONE && t->slot_bump == t->slot_capacity))
			sweep_dead(t);
		h = t->slot_free;
		if (h != SS_NONE)
			t->slot_free = t->pool[h].c.next;
		else
			h = t->slot_bump++;
		c = &t->pool[h].c;
		t->pool[h].user = uid;
		c->len = 0;
		uint32_t *pp = &u->c.next;
		while (*pp != SS_NONE && t->pool[*pp].c.start_us < ts)
			pp = &t->pool[*pp].c.next;
		c->next = *pp;
		*pp = h;
	}
	uint32_t q = t->seq_free;
	if (q != SS_NONE)
		t->seq_free = t->seq_next[q];
	else
		q = t->seq_bump++;          /* slot_avail() made sure one is left */
	c->seq = q;
	c->flags = F_LIVE;
	c->start_us = ts;
	c->end_us = ts;
	c->events = 0;
	c->page_views = 0;
	c->ovf = 0;
	t->slots_used++;
	timer_set(t, h, st_sat_add(ts, t->hold_us));
	WR_COUNT(t->cnt, sessions_opened);
	gauge(t);
	return h;
}

/*
 * Room for one more open session: a free seq number, or dead sessions a
 * sweep can free (so dead ones do not count against the capacity). Sweeps
 * happen exactly when the former pool would have swept, keeping the seq
 * numbers and hence the order of equal close times unchanged.
 */
static inline bool slot_avail(struct st_sess *t)
{
	if (likely(t->seq_free != SS_NONE || t->seq_bump < t->slot_capacity))
		return true;
	if (t->slots_dead == 0)
		return false;
	sweep_dead(t);
	return true;
}

/* Take pool session @sid out of user @u's chain. */
static void pool_unlink(struct st_sess *t, struct st_suser *u, uint32_t sid)
{
	uint32_t *pp = &u->c.next;
	while (*pp != sid)
		pp = &t->pool[*pp].c.next;
	*pp = t->pool[sid].c.next;
}

/* Move the start of session @h earlier to @ts (its history offsets move too). */
static void session_set_start(struct st_sess *t, uint32_t h, struct st_score *c, int64_t ts)
{
	if ((c->flags & (F_HIST | F_WIDE)) == F_HIST) {
		int64_t buf[HN_MAX];
		hist_load(t, h, c, buf);
		c->start_us = ts;
		hist_save(t, h, c, buf);
	} else {
		c->start_us = ts;
	}
}

/* @p absorbs @n, the next later session of user @u. */
static void session_merge(struct st_sess *t, struct st_suser *u, uint32_t p, uint32_t n)
{
	struct st_score *sp = core(t, p), *sn = core(t, n);
	sp->end_us = sn->end_us;     /* the timer of p is now stale-low: fine (lazy) */
	sp->events = sat_add32(sp->events, sn->events);
	sp->page_views = sat_add32(sp->page_views, sn->page_views);
	sp->ovf |= sn->ovf;
	if ((sp->flags | sn->flags) & F_HIST) {
		int64_t a[HN_MAX], b[HN_MAX];
		hist_load(t, p, sp, a);
		hist_load(t, n, sn, b);
		funnel_merge(t, &sp->ovf, a, b);
		hist_save(t, p, sp, a);
	}
	hist_drop(t, n, sn);
	if (!(n & H_INL))
		pool_unlink(t, u, n);
	/* still linked in the wheel: freed when its bucket comes up */
	sn->flags = (uint8_t)((sn->flags & F_RUN) | F_DEAD);
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
static inline bool alive(const struct st_sess *t, const struct st_score *s, int64_t wm)
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

/* A new live user entry for @user (the caller checked used < capacity). */
static uint32_t user_new(struct st_sess *t, const char *user, size_t ulen, uint64_t hash)
{
	/* cannot happen: live users < capacity and parked ones (each holds a
	 * dead session's seq) <= slot_capacity; kept so a sizing mistake
	 * cannot overrun the array */
	if (unlikely(t->user_free == SS_NONE && t->user_bump == t->user_phys))
		sweep_dead(t);
	uint32_t uid = t->user_free;
	if (uid != SS_NONE)
		t->user_free = t->usr[uid].c.next;
	else
		uid = t->user_bump++;
	struct st_suser *u = &t->usr[uid];
	t->used++;
	u->c.flags = 0;
	u->c.len = (uint8_t)ulen;
	u->c.next = SS_NONE;
	if (ulen <= ID_INL) {
		memcpy(u->id, user, ulen);
	} else {
		uint32_t b = arena_alloc(t);
		memcpy(u->id, user, ID_PFX);
		memcpy(u->id + ID_PFX, &b, sizeof(b));
		memcpy(arena_blk(t, b), user, ulen);
	}
	idx_insert(t, uid, (uint32_t)hash);
	return uid;
}

/* User @uid has nothing open any more: out of the index, entry freed or parked. */
static void user_release(struct st_sess *t, uint32_t uid)
{
	struct st_suser *u = &t->usr[uid];
	uint32_t pos = idx_pos_of(t, uid);
	if (pos != SS_NONE)
		idx_remove(t, pos);
	if (u->c.len > ID_INL)
		arena_release(t, user_blk(u));
	t->used--;
	if (u->c.flags & F_DEAD) {
		u->c.len = 0;
		u->c.flags |= F_PARKED;
		t->users_parked++;
	} else {
		user_push_free(t, uid);
	}
}

/* ---- public ------------------------------------------------------------ */

int st_sess_create(const struct st_sess_params *p, struct wr_counters *cnt, struct st_sess **out)
{
	/* 2^28 users and 2^29 sessions keep index, handles and run sizes in uint32_t. */
	if (p == NULL || cnt == NULL || out == NULL || p->capacity == 0 ||
	    p->capacity > (1u << 28) || p->session_capacity > (1u << 29) || p->gap_us <= 0 ||
	    p->max_len_us < 0 || p->lateness_us < 0 || p->n_steps > ST_SESS_STEPS_MAX)
		return -EINVAL;
	uint32_t n_slots = p->session_capacity != 0 ? p->session_capacity : 2 * p->capacity;

	uint64_t n_idx = ((uint64_t)p->capacity * 4 + 2) / 3 + 1;   /* load factor <= 0.75 */

	struct st_sess *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->cnt = cnt;
	t->capacity = p->capacity;
	t->user_phys = p->capacity + n_slots;
	t->slot_capacity = n_slots;
	/* sessions linked (live or dead) hold distinct seq numbers */
	t->run_cap = n_slots;
	t->idx_n = (uint32_t)n_idx;
	t->n_steps = p->n_steps;
	t->hn = p->n_steps * SS_K;
	t->gap_us = p->gap_us;
	t->max_len_us = p->max_len_us;
	t->lateness_us = p->lateness_us;
	t->hold_us = st_sat_add(p->gap_us, p->lateness_us);
	t->adv_wm_us = INT64_MIN;
	t->funnel_fast_ok = !p->general_funnel_only;
	/* a tick of about hold / 2048: one wheel turn covers about two holds,
	 * so a session is visited about once before it is due */
	t->wshift = 0;
	while (t->wshift < 62 && ((int64_t)1 << t->wshift) < t->hold_us / (WHEEL_SIZE / 2))
		t->wshift++;
	t->cur_tick = tick_of(t, INT64_MIN);
	t->user_free = t->slot_free = t->seq_free = t->arena_free = t->wide_free = SS_NONE;
	t->chunk_free = CH_NONE;
	t->idx_b = n_idx * sizeof(*t->idx);
	t->usr_b = (size_t)t->user_phys * sizeof(*t->usr);
	t->pool_b = (size_t)n_slots * sizeof(*t->pool);
	t->seq_b = (size_t)n_slots * sizeof(*t->seq_next);
	t->hist_u_b = (size_t)t->user_phys * t->hn * sizeof(*t->hist_u);
	t->hist_p_b = (size_t)n_slots * t->hn * sizeof(*t->hist_p);
	t->wide_b = (size_t)n_slots * t->hn * sizeof(*t->wide);
	t->arena_b = (size_t)p->capacity * ST_SESS_USER_MAX;
	t->run_b = (size_t)t->run_cap * sizeof(*t->run);
	t->wheel_b = WHEEL_SIZE * sizeof(*t->wheel);
	/*
	 * Wheel chunks in use: every chunk of a bucket is full except its
	 * newest (a push opens a chunk only when the newest is full) and one
	 * left partial by a sweep, so at most 2 partial per bucket; a bucket
	 * being drained holds at most 2 partial and the chunk being visited
	 * (whose handles may already be in other buckets). Full chunks hold
	 * distinct linked sessions, at most slot_capacity (each holds a seq
	 * number). Under 2^28 for 2^29 sessions.
	 */
	t->chunk_cap = n_slots / CH_N + 2 * WHEEL_SIZE + 4;
	t->chunk_b = (size_t)t->chunk_cap * sizeof(*t->chunk);
	/* dense arrays, one random line each per event: 2 MB pages (reserved
	 * ones when asked and the pool has room); rarely used arrays: 4 KiB
	 * pages, so their first use does not make a whole 2 MB page resident
	 * (about 2.5 B per session each at a million); so do the wheel chunks
	 * (about 4.3 B per open session, visited in order) */
	enum st_pages dense = p->reserved_pages ? ST_PAGES_RESERVED : ST_PAGES_THP;
	struct { void **a; size_t b; enum st_pages pg; } arr[] = {
		{ (void **)&t->idx, t->idx_b, dense },
		{ (void **)&t->usr, t->usr_b, dense },
		{ (void **)&t->seq_next, t->seq_b, dense },
		{ (void **)&t->hist_u, t->hist_u_b, dense },
		{ (void **)&t->pool, t->pool_b, ST_PAGES_SMALL },
		{ (void **)&t->hist_p, t->hist_p_b, ST_PAGES_SMALL },
		{ (void **)&t->wide, t->wide_b, ST_PAGES_SMALL },
		{ (void **)&t->arena, t->arena_b, ST_PAGES_SMALL },
		{ (void **)&t->run, t->run_b, ST_PAGES_SMALL },
		{ (void **)&t->wheel, t->wheel_b, ST_PAGES_THP },
		{ (void **)&t->chunk, t->chunk_b, ST_PAGES_SMALL },
	};
	for (size_t i = 0; i < WR_ARRAY_SIZE(arr); i++)
		*arr[i].a = st_big_alloc(arr[i].b, arr[i].pg, &t->res);
	if (t->idx == NULL || t->usr == NULL || t->pool == NULL || t->seq_next == NULL ||
	    t->arena == NULL ||
	    t->run == NULL || t->wheel == NULL || t->chunk == NULL ||
	    (t->hn > 0 && (t->hist_u == NULL || t->hist_p == NULL || t->wide == NULL)))
		goto err;
	/* users, slots and blocks come from the bump pointers first: no page
	 * of those arrays is touched here */
	for (uint32_t b = 0; b < WHEEL_SIZE; b++)
		t->wheel[b] = CH_NONE;
	gauge(t);
	*out = t;
	return 0;
err:
	st_sess_destroy(t);
	return -ENOMEM;
}

size_t st_sess_reserved_bytes(const struct st_sess *t, size_t *wanted)
{
	if (wanted)
		*wanted = t->res.want;
	return t->res.got;
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
	st_big_free(t->seq_next, t->seq_b);
	st_big_free(t->hist_u, t->hist_u_b);
	st_big_free(t->hist_p, t->hist_p_b);
	st_big_free(t->wide, t->wide_b);
	st_big_free(t->arena, t->arena_b);
	st_big_free(t->run, t->run_b);
	st_big_free(t->wheel, t->wheel_b);
	st_big_free(t->chunk, t->chunk_b);
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

uint64_t st_sess_funnel_fast(const struct st_sess *t)
{
	return t->funnel_fast;
}

/* Consider open session @h of a user for the last one starting at or
 * before @ts (*p) and the first one starting after it (*n). */
static inline void pick(const struct st_sess *t, uint32_t h, int64_t ts, uint32_t *p, uint32_t *n)
{
	int64_t s = core(t, h)->start_us;
	if (s <= ts) {
		if (*p == SS_NONE || core(t, *p)->start_us < s)
			*p = h;
	} else if (*n == SS_NONE || core(t, *n)->start_us > s) {
		*n = h;
	}
}

/*
 * One event, its user's hash and home index slot already computed (st_sess_add's
 * contract). Measured cost: see st_sess_add_burst() and docs/benchmarks.md.
 */
static inline __attribute__((always_inline)) int
add_hashed(struct st_sess *t, const char *user, size_t ulen, uint64_t hash, uint32_t home,
	   int64_t ts_us, int32_t step, bool is_page_view, int64_t wm_us,
	   const struct st_sess_emit *emit)
{
	if (wm_us < t->adv_wm_us)
		wm_us = t->adv_wm_us;
	/* a new session at ts_us would close at once: late */
	bool too_old = st_sat_add(ts_us, t->hold_us) <= wm_us;

	uint32_t pos = idx_find_at(t, (uint32_t)hash, home, user, ulen);
	uint32_t uid, h;
	struct st_suser *u;
	struct st_score *s;         /* core(t, h) */
	if (pos == SS_NONE) {
		if (too_old) {
			report_late(t, user, ulen, ts_us, step, is_page_view, wm_us, emit);
			return 1;
		}
		if (unlikely(t->used == t->capacity || !slot_avail(t))) {
			WR_COUNT(t->cnt, session_table_full);
			return -ENOSPC;
		}
		uid = user_new(t, user, ulen, hash);
		h = session_open(t, uid, ts_us);
		s = core(t, h);
		goto count;
	}
	uid = t->idx[pos].ent1 - 1;
	u = &t->usr[uid];

	/* p: last session starting at or before ts (may contain it), n: the one after */
	uint32_t p = SS_NONE, n = SS_NONE;
	struct st_score *sp = NULL, *sn = NULL;
	if (likely(u->c.next == SS_NONE)) {
		/* the inline session is the only one (a live user has one open) */
		if (u->c.start_us <= ts_us) {
			p = uid | H_INL;
			sp = &u->c;
		} else {
			n = uid | H_INL;
			sn = &u->c;
		}
	} else {
		if (u->c.flags & F_LIVE)
			pick(t, uid | H_INL, ts_us, &p, &n);
		for (uint32_t sid = u->c.next; sid != SS_NONE; sid = t->pool[sid].c.next)
			pick(t, sid, ts_us, &p, &n);
		sp = p != SS_NONE ? core(t, p) : NULL;
		sn = n != SS_NONE ? core(t, n) : NULL;
	}
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
		h = p;                          /* inside: the span does not change */
		s = sp;
	} else if (p_ok && n_ok && len_ok(t, sp->start_us, sn->end_us)) {
		session_merge(t, u, p, n);
		h = p;
		s = sp;
	} else if (p_ok && len_ok(t, sp->start_us, ts_us)) {
		sp->end_us = ts_us;             /* timer stale-low: fine (lazy) */
		h = p;
		s = sp;
	} else if (n_ok && len_ok(t, ts_us, sn->end_us)) {
		session_set_start(t, n, sn, ts_us);
		h = n;
		s = sn;
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
		h = session_open(t, uid, ts_us);
		s = core(t, h);
	}

count:
	s->events = sat_add32(s->events, 1);
	s->page_views = sat_add32(s->page_views, is_page_view ? 1 : 0);
	if (step >= 0)
		funnel_add(t, h, s, (uint32_t)step, ts_us);
	return 0;
}

static inline bool args_ok(const struct st_sess *t, size_t ulen, int64_t ts_us, int32_t step)
{
	/* unsigned wrap-around: ulen 1 .. MAX, step -1 .. n_steps-1, ts not an extreme */
	return ulen - 1 < ST_SESS_USER_MAX && (uint32_t)step + 1u <= t->n_steps &&
	       (uint64_t)ts_us + (uint64_t)INT64_MAX < UINT64_MAX - 1;
}

int st_sess_add(struct st_sess *t, const char *user, size_t ulen, int64_t ts_us, int32_t step,
		bool is_page_view, int64_t wm_us, const struct st_sess_emit *emit)
{
	if (unlikely(!args_ok(t, ulen, ts_us, step)))
		return -EINVAL;
	uint64_t hash = user_hash(user, ulen);
	return add_hashed(t, user, ulen, hash, idx_home(t, (uint32_t)hash), ts_us, step,
			  is_page_view, wm_us, emit);
}

/* Adds ahead of the one running whose user line is being fetched. */
#define SS_AHEAD 8u
/* Index slots the prefetch hint looks at from the home slot. */
#define SS_PROBE_HINT 6u

/* The second prefetch wave for one event: the user entry its index slot
 * names and, for a funnel step, the inline history. */
static inline void prefetch_user(const struct st_sess *t, const struct st_sess_ev *e,
				 uint64_t hash, uint32_t home, unsigned bad)
{
	if (bad)
		return;
	/* at load 0.75 about half the users sit past their home slot (linear
	 * probing); look a few slots on, as far as the probe runs */
	for (uint32_t pos = home, k = 0; k < SS_PROBE_HINT; k++, pos = idx_next(t, pos)) {
		const struct st_sidx *x = &t->idx[pos];

		if (x->ent1 == 0)
			return;
		if (x->tag != (uint32_t)hash)
			continue;
		wr_prefetch_w(&t->usr[x->ent1 - 1]);
		if (e->step >= 0)
			wr_prefetch_w(hist32(t, (x->ent1 - 1) | H_INL));
		return;
	}
}

/*
 * Burst of up to ST_SESS_BURST: hash every event and prefetch its index
 * slot, then add in order while the user entry and (for a funnel step) the
 * inline history of the event SS_AHEAD adds on are prefetched, so that the
 * cache misses of the burst overlap instead of queueing one after another.
 * The prefetches are hints only: each add looks everything up again, so an
 * earlier event of the burst that changes the table is seen by later ones.
 * Measured (bench_sessions, 1 M users, 40 % funnel steps, advance per 32,
 * shared 2-vCPU VM, 2026-11-24 session 4): ~90-110 ns per event warm and
 * cold; 10 k users (in cache) ~37 ns, ~270 instructions. The rest is DRAM
 * latency: about three random lines per event (index slot, user line,
 * history for steps, and the close of another session).
 */
uint32_t st_sess_add_burst(struct st_sess *t, const struct st_sess_ev *ev, uint32_t n,
			   const struct st_sess_emit *emit, int *rc)
{
	uint64_t h[ST_SESS_BURST];
	uint32_t home[ST_SESS_BURST];
	uint32_t ok = 0;
	_Static_assert(ST_SESS_BURST <= 32, "bad is a 32-bit mask");

	while (n > 0) {
		uint32_t m = n < ST_SESS_BURST ? n : ST_SESS_BURST;
		uint32_t bad = 0;         /* bit i: event i has bad arguments */
		for (uint32_t i = 0; i < m; i++) {
			if (unlikely(!args_ok(t, ev[i].user_len, ev[i].ts_us, ev[i].step))) {
				bad |= 1u << i;
				continue;
			}
			h[i] = user_hash(ev[i].user, ev[i].user_len);
			home[i] = idx_home(t, (uint32_t)h[i]);
			wr_prefetch(&t->idx[home[i]]);
			if ((home[i] & 7) >= 5 && home[i] + 8 < t->idx_n)
				wr_prefetch(&t->idx[home[i] + 8]);
		}
		uint32_t d = m < SS_AHEAD ? m : SS_AHEAD;
		for (uint32_t i = 0; i < d; i++)
			prefetch_user(t, &ev[i], h[i], home[i], bad >> i & 1);
		for (uint32_t i = 0; i < m; i++) {
			int r = -EINVAL;
			if (i + d < m)
				prefetch_user(t, &ev[i + d], h[i + d], home[i + d], bad >> (i + d) & 1);
			if (likely(!(bad & (1u << i))))
				r = add_hashed(t, ev[i].user, ev[i].user_len, h[i], home[i], ev[i].ts_us,
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

static void session_close(struct st_sess *t, uint32_t h, const struct st_sess_emit *emit)
{
	struct st_score *s = core(t, h);
	uint32_t uid = owner(t, h);
	struct st_suser *u = &t->usr[uid];

	struct st_session_rec r = {
		.user = user_id(t, u), .user_len = u->c.len,
		.start_us = s->start_us, .end_us = s->end_us,
		.duration_us = (int64_t)span(s->start_us, s->end_us),
		.events = s->events, .page_views = s->page_views,
		.funnel_exact = true, .time_to_convert_us = -1,
	};
	if (t->n_steps > 0) {
		int64_t buf[HN_MAX], t_last = 0;
		hist_load(t, h, s, buf);
		r.reached = funnel_chain(buf, t->n_steps, &t_last);
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

	hist_drop(t, h, s);
	seq_push(t, s->seq);
	if (h & H_INL) {
		s->flags = 0;               /* the inline spot is free again */
	} else {
		pool_unlink(t, u, h);
		pool_push_free(t, h);
	}
	t->slots_used--;
	gauge(t);
	WR_COUNT(t->cnt, sessions_closed);
	if (emit != NULL && emit->session != NULL)
		emit->session(emit->ctx, &r);
	/* after the callback: r.user points into the entry or the arena */
	if (!(u->c.flags & F_LIVE) && u->c.next == SS_NONE)
		user_release(t, uid);
}

/* Run entries a close looks ahead to (close_prefetch). */
#define SS_CLOSE_AHEAD 6u

/*
 * Fetch what closing run[j] will touch besides its session line, which
 * run_load() read when it loaded the tick (it is usually still cached): the
 * funnel history, the link word of its sequence number, and the owner's
 * index home slot (hashed from the id in the owner line), which
 * user_release() needs when it is the user's last session. These are
 * independent random lines: without the hint each close waits for them one
 * after another. Hints only: an entry that is dead, re-scheduled or not due
 * costs a few wasted loads. advance() issues them SS_CLOSE_AHEAD entries
 * before the close.
 */
static inline void close_prefetch(const struct st_sess *t, uint32_t j, int64_t wm_us)
{
	if (j >= t->run_n)
		return;
	const struct st_srun *r = &t->run[j];
	if (r->close_us > wm_us)
		return;
	const struct st_score *s = core(t, r->h);
	if (s->flags & F_HIST)
		wr_prefetch_w(hist32(t, r->h));
	wr_prefetch_w(&t->seq_next[s->seq]);
	const struct st_suser *u = &t->usr[owner(t, r->h)];
	if (u->c.len != 0 && u->c.len <= ID_INL && u->c.next == SS_NONE) {
		uint32_t home = idx_home(t, (uint32_t)user_hash(u->id, u->c.len));
		wr_prefetch_w(&t->idx[home]);
		if ((home & 7) >= 5 && home + 8 < t->idx_n)
			wr_prefetch_w(&t->idx[home + 8]);
	}
}

uint32_t st_sess_advance(struct st_sess *t, int64_t wm_us, const struct st_sess_emit *emit)
{
	if (wm_us > t->adv_wm_us)
		t->adv_wm_us = wm_us;
	wm_us = t->adv_wm_us;
	int64_t wt = tick_of(t, wm_us);

	uint32_t closed = 0;
	for (;;) {
		for (uint32_t k = 0; k < SS_CLOSE_AHEAD; k++)
			close_prefetch(t, t->run_head + k, wm_us);
		while (t->run_head < t->run_n && t->run[t->run_head].close_us <= wm_us) {
			close_prefetch(t, t->run_head + SS_CLOSE_AHEAD, wm_us);
			struct st_srun top = t->run[t->run_head++];
			struct st_score *s = core(t, top.h);
			if (s->flags & F_DEAD) {
				release_dead(t, top.h);
				continue;
			}
			int64_t real = close_of(t, s);
			if (real > top.close_us) {
				/* extended since it was scheduled: re-schedule instead */
				timer_set(t, top.h, real);
				continue;
			}
			session_close(t, top.h, emit);
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

static uint64_t digest_mix(uint64_t d, uint64_t v)
{
	return st_fmix64(d ^ (v + 0x9e3779b97f4a7c15ULL + (d << 6)));
}

/* One session's fields and stored history words, narrow or wide, as they are. */
static uint64_t digest_session(const struct st_sess *t, uint32_t h, uint64_t d)
{
	const struct st_score *c = core(t, h);
	d = digest_mix(d, h);
	d = digest_mix(d, (uint64_t)c->start_us);
	d = digest_mix(d, (uint64_t)c->end_us);
	d = digest_mix(d, (uint64_t)c->events << 32 | c->page_views);
	d = digest_mix(d, (uint64_t)c->next << 32 | c->seq);
	d = digest_mix(d, (uint64_t)c->ovf << 16 | (uint64_t)c->flags << 8 | c->len);
	if (!(c->flags & F_LIVE) || !(c->flags & F_HIST))
		return d;
	const uint32_t *w = hist32(t, h);
	if (c->flags & F_WIDE)
		for (uint32_t i = 0; i < t->hn; i++)
			d = digest_mix(d, (uint64_t)t->wide[(size_t)w[0] * t->hn + i]);
	else
		for (uint32_t i = 0; i < t->hn; i++)
			d = digest_mix(d, w[i]);
	return d;
}

uint64_t st_sess_digest(const struct st_sess *t)
{
	uint64_t d = digest_mix(0, (uint64_t)t->user_bump << 32 | t->slot_bump);
	for (uint32_t uid = 0; uid < t->user_bump; uid++)
		d = digest_session(t, uid | H_INL, d);
	for (uint32_t sid = 0; sid < t->slot_bump; sid++)
		d = digest_session(t, sid, d);
	return d;
}

/* Check one live session @h of user @uid; 0 or -EFAULT. */
static int verify_session(const struct st_sess *t, uint32_t h, uint32_t uid, uint32_t *n_wide)
{
	const struct st_score *s = core(t, h);
	if (!(s->flags & F_LIVE) || (s->flags & (F_DEAD | F_PARKED)) || s->start_us > s->end_us ||
	    s->events == 0 || owner(t, h) != uid)
		return -EFAULT;
	if (t->max_len_us > 0 && span(s->start_us, s->end_us) > (uint64_t)t->max_len_us)
		return -EFAULT;
	if ((s->flags & F_WIDE) && !(s->flags & F_HIST))
		return -EFAULT;
	if (s->flags & F_WIDE) {
		if (t->hn == 0 || hist32(t, h)[0] >= t->wide_bump)
			return -EFAULT;
		++*n_wide;
	}
	if (t->hn == 0)
		return (s->flags & F_HIST) ? -EFAULT : 0;
	int64_t buf[HN_MAX];
	hist_load(t, h, s, buf);
	for (uint32_t k = 0; k < t->n_steps; k++)
		for (uint32_t i = 0; i < SS_K; i++) {
			int64_t v = buf[k * SS_K + i];
			if (v == SS_EMPTY)
				continue;
			if (v < s->start_us || v > s->end_us || (i > 0 && buf[k * SS_K + i - 1] >= v))
				return -EFAULT;
		}
	return 0;
}

int st_sess_verify(const struct st_sess *t)
{
	uint32_t in_idx = 0, n_wide = 0, n_long = 0;
	uint64_t sessions = 0;
	int rc = -EFAULT;
	/* how often each inline / pool session is linked in the wheel or run:
	 * exactly once for live and dead ones, never otherwise */
	uint8_t *seen_u = calloc(t->user_phys, 1);
	uint8_t *seen_p = calloc(t->slot_capacity ? t->slot_capacity : 1, 1);
	uint8_t *seen_q = calloc(t->slot_capacity ? t->slot_capacity : 1, 1);   /* seq numbers */
	uint8_t *seen_c = calloc(t->chunk_cap, 1);                               /* chunks */
	if (seen_u == NULL || seen_p == NULL || seen_q == NULL || seen_c == NULL) {
		free(seen_u);
		free(seen_p);
		free(seen_q);
		free(seen_c);
		return -ENOMEM;
	}
	uint64_t linked = 0;
	uint64_t bound = (uint64_t)t->user_phys + t->slot_capacity;
	/* chunks: each in one bucket or on the free stack, none empty in a bucket */
	uint32_t n_chunks = 0;
	if (t->chunk_bump > t->chunk_cap || t->chunks_used > t->chunk_cap)
		goto out;
	for (uint32_t b = 0; b < WHEEL_SIZE; b++)
		for (uint32_t ck = t->wheel[b]; ck != CH_NONE; ck = ch_next(&t->chunk[ck]))
			if (ck >= t->chunk_bump || seen_c[ck]++ || ch_n(&t->chunk[ck]) == 0 ||
			    ch_n(&t->chunk[ck]) > CH_N)
				goto out;
			else
				n_chunks++;
	if (n_chunks != t->chunks_used)
		goto out;
	for (uint32_t ck = t->chunk_free; ck != CH_NONE; ck = ch_next(&t->chunk[ck]))
		if (ck >= t->chunk_bump || seen_c[ck]++)
			goto out;
		else
			n_chunks++;
	if (n_chunks != t->chunk_bump)
		goto out;
	for (uint32_t b = 0; b < WHEEL_SIZE; b++)
		for (struct st_chcur cur = cur_start(t, t->wheel[b]);;) {
			uint32_t h = cur_take(t, &cur);
			if (h == SS_NONE)
				break;
			uint8_t *seen = (h & H_INL) ? &seen_u[h & ~H_INL] : &seen_p[h];
			if (((h & H_INL) ? (h & ~H_INL) >= t->user_bump : h >= t->slot_bump))
				goto out;
			const struct st_score *c = core(t, h);
			if ((*seen)++ || (c->flags & F_RUN) || !(c->flags & (F_LIVE | F_DEAD)) ||
			    ++linked > bound || c->seq >= t->seq_bump || seen_q[c->seq]++)
				goto out;
			/* a bucket holds no session due before the current tick */
			if ((c->flags & F_LIVE) && tick_of(t, close_of(t, c)) <= t->cur_tick)
				goto out;
		}
	for (uint32_t i = t->run_head; i < t->run_n; i++) {
		uint32_t h = t->run[i].h;
		if (((h & H_INL) ? (h & ~H_INL) >= t->user_bump : h >= t->slot_bump))
			goto out;
		uint8_t *seen = (h & H_INL) ? &seen_u[h & ~H_INL] : &seen_p[h];
		const struct st_score *c = core(t, h);
		if ((*seen)++ || !(c->flags & F_RUN) || !(c->flags & (F_LIVE | F_DEAD)) ||
		    c->seq >= t->seq_bump || seen_q[c->seq]++ || t->run[i].seq != c->seq)
			goto out;
		if (i > t->run_head && run_less(&t->run[i], &t->run[i - 1]))
			goto out;
		if ((c->flags & F_LIVE) && t->run[i].close_us > close_of(t, c))
			goto out;
		linked++;
	}
	uint32_t dead = 0, parked = 0, pool_busy = 0;
	for (uint32_t uid = 0; uid < t->user_bump; uid++) {
		const struct st_score *c = &t->usr[uid].c;
		bool on = c->flags & (F_LIVE | F_DEAD);
		if (on != (seen_u[uid] == 1) || (c->flags & F_LIVE && c->flags & F_DEAD))
			goto out;
		dead += (c->flags & F_DEAD) != 0;
		if (c->flags & F_PARKED) {
			if (!(c->flags & F_DEAD) || c->len != 0)
				goto out;
			parked++;
		}
	}
	for (uint32_t sid = 0; sid < t->slot_bump; sid++) {
		const struct st_score *c = &t->pool[sid].c;
		bool on = c->flags & (F_LIVE | F_DEAD);
		if (on != (seen_p[sid] == 1) || (c->flags & F_LIVE && c->flags & F_DEAD))
			goto out;
		dead += (c->flags & F_DEAD) != 0;
		pool_busy += on;
	}
	if (dead != t->slots_dead || linked != (uint64_t)t->slots_used + t->slots_dead ||
	    parked != t->users_parked)
		goto out;
	for (uint32_t pos = 0; pos < t->idx_n; pos++) {
		const struct st_sidx *x = &t->idx[pos];
		if (x->ent1 == 0)
			continue;
		in_idx++;
		if (x->ent1 > t->user_bump)
			goto out;
		uint32_t uid = x->ent1 - 1;
		const struct st_suser *u = &t->usr[uid];
		if (u->c.len == 0 || u->c.len > ST_SESS_USER_MAX || (u->c.flags & F_PARKED))
			goto out;
		if (u->c.len > ID_INL) {
			if (user_blk(u) >= t->arena_bump ||
			    memcmp(u->id, arena_blk(t, user_blk(u)), ID_PFX) != 0)
				goto out;
			n_long++;
		}
		if ((uint32_t)user_hash(user_id(t, u), u->c.len) != x->tag)
			goto out;
		for (uint32_t q = idx_home(t, x->tag); q != pos; q = idx_next(t, q))
			if (t->idx[q].ent1 == 0)
				goto out;
		if (idx_find(t, x->tag, user_id(t, u), u->c.len) != pos ||
		    idx_pos_of(t, uid) != pos)
			goto out;
		/* a live user has at least one session; pool chain sorted and
		 * disjoint, the inline session disjoint from all of them */
		uint32_t n_open = 0, last = SS_NONE;
		bool inl = u->c.flags & F_LIVE;
		if (inl) {
			if (verify_session(t, uid | H_INL, uid, &n_wide))
				goto out;
			n_open++;
		}
		for (uint32_t sid = u->c.next; sid != SS_NONE; sid = t->pool[sid].c.next) {
			if (sid >= t->slot_bump || ++n_open > t->slot_capacity)
				goto out;
			const struct st_score *s = &t->pool[sid].c;
			if (verify_session(t, sid, uid, &n_wide))
				goto out;
			if (last != SS_NONE && t->pool[last].c.end_us >= s->start_us)
				goto out;
			if (inl && !(s->end_us < u->c.start_us || u->c.end_us < s->start_us))
				goto out;
			last = sid;
		}
		if (n_open == 0)
			goto out;
		sessions += n_open;
	}
	if (in_idx != t->used)
		goto out;
	uint32_t n_free = 0;
	for (uint32_t f = t->user_free; f != SS_NONE; f = t->usr[f].c.next)
		if (f >= t->user_bump || t->usr[f].c.flags != 0 || t->usr[f].c.len != 0 ||
		    ++n_free > t->user_phys)
			goto out;
	if (n_free + t->used + parked != t->user_bump)
		goto out;
	uint32_t n_free_slots = 0;
	for (uint32_t f = t->slot_free; f != SS_NONE; f = t->pool[f].c.next)
		if (f >= t->slot_bump || t->pool[f].c.flags != 0 || ++n_free_slots > t->slot_capacity)
			goto out;
	if (sessions != t->slots_used || (uint64_t)n_free_slots + pool_busy != t->slot_bump)
		goto out;
	uint32_t n_free_wide = 0;
	for (uint32_t f = t->wide_free; f != SS_NONE; f = (uint32_t)t->wide[(size_t)f * t->hn])
		if (f >= t->wide_bump || ++n_free_wide > t->wide_bump)
			goto out;
	if (n_wide != t->wides_used || n_free_wide + n_wide != t->wide_bump)
		goto out;
	uint32_t n_free_arena = 0;
	for (uint32_t f = t->arena_free; f != SS_NONE;) {
		if (f >= t->arena_bump || ++n_free_arena > t->arena_bump)
			goto out;
		memcpy(&f, arena_blk(t, f), sizeof(f));
	}
	if (n_free_arena + n_long != t->arena_bump)
		goto out;
	/* seq numbers: each linked session holds one, the rest are free */
	uint64_t n_free_seq = 0;
	for (uint32_t f = t->seq_free; f != SS_NONE; f = t->seq_next[f])
		if (f >= t->seq_bump || seen_q[f]++)
			goto out;
		else
			n_free_seq++;
	if (n_free_seq + linked != t->seq_bump)
		goto out;
	rc = 0;
out:
	free(seen_u);
	free(seen_p);
	free(seen_q);
	free(seen_c);
	return rc;
}
