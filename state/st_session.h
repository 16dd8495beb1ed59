/*
 * st_session.h - per-user event-time session windows with a funnel
 * (clickstream sessionization).
 *
 * Sessions. Each user has zero or more open sessions; a session is the span
 * [start_us, end_us] of the event times it holds (first and last event). Two
 * open sessions of a user never overlap. "Within gap" of a session means
 * start - gap <= ts <= end + gap. An event at @ts for a user is placed by
 * these rules, in this order (P = the user's open session just before @ts,
 * N = the one just after, C = one that contains @ts):
 *   1. C exists: the event joins C (its span does not change).
 *   2. P and N are both within gap: they merge with the event into one
 *      session (sessions_merged), unless max_len forbids it (rule 6).
 *   3. P within gap: the event joins P (P.end = ts).
 *   4. N within gap: the event joins N (N.start = ts).
 *   5. Otherwise the event opens a new session, or is late (below).
 *   6. Maximum length (max_len_us > 0): a join or merge that would make
 *      end - start > max_len is not done; the next rule is tried instead
 *      (merge -> join P -> join N -> new session). A session opened because
 *      max_len stopped a join that the gap allowed counts sessions_split.
 *      Split sessions may lie within gap of each other and stay separate;
 *      a merge of them is never possible (it would exceed max_len too).
 *      Without max_len, open sessions of a user are always more than gap
 *      apart, so the result is the gap-connected grouping of the user's
 *      events whatever their arrival order (see "Exactness").
 *      With max_len the split points depend on arrival order (they are
 *      decided when an event arrives, not re-split later).
 *
 * Watermark, closing and lateness. A session is due when
 * end + gap + lateness <= watermark; st_sess_advance() closes due sessions
 * and emits them in order of end time (ties in a fixed but unspecified
 * order, the same as before the compact layout of 2026-11-24: the order
 * in which the former shared pool would have numbered the sessions). A due
 * session that advance has not closed yet is already treated
 * as closed by st_sess_add(), so results do not depend on how often advance
 * runs (one exception below). Quiet users close the same way: the caller's
 * watermark advances with idle time (st_watermark). An event that would have to open a new
 * session (rule 5) whose own session would already be due
 * (ts + gap + lateness <= watermark) is late: late callback,
 * session_events_late, nothing stored. An event inside the span of a due
 * session is late too (that session is final). An event that joins an
 * open session is never late, however old it is. (If advance already
 * closed a session, an event inside its old span may instead join the next
 * session within gap: the one place where the frequency of advance shows,
 * and only for events with ts + gap + lateness <= watermark.)
 * The watermark used is max(@wm_us, highest watermark given to advance).
 *
 * Exactness: with max_len_us == 0 and every event arriving before the
 * watermark passes ts + lateness, the emitted sessions are exactly the
 * groups of each user's events (sorted by time) split where consecutive
 * events are more than gap apart.
 *
 * Funnel. n_steps ordered steps, an event carries step -1 (not a step) or
 * 0 .. n_steps-1. "In order" is the earliest-first greedy over event time:
 *   t(0)   = earliest occurrence of step 0 in the session,
 *   t(k+1) = earliest occurrence of step k+1 with time strictly after t(k).
 * reached = the number of steps k with t(k) defined (a prefix); repeats of a
 * step count once; an occurrence of a step at or before its predecessor's
 * time does not count until an earlier predecessor turns up (arrival order
 * does not matter). converted = n_steps > 0 && reached == n_steps;
 * time_to_convert_us = t(n_steps-1) - start_us, else -1. Computed at close
 * (and so over both halves after a merge).
 *
 * Funnel history bound: per session and step, at most ST_SESS_STEP_HIST (2)
 * occurrence times are kept. Occurrences later than the step's current
 * t(k) are dropped as they can never be chosen (adding events only moves
 * each t(k) earlier). What remains is t(k) plus "waiting" occurrences at or
 * before t(k-1) (or all of them while step k-1 is not reached). When more
 * than fit would remain, the latest waiting ones are dropped and the step is
 * marked. Hence the result is exact when, in every session and for every
 * step k >= 1, at most one occurrence of step k lies at or before t(k-1)
 * while t(k) exists, or at most two occurrences exist while step k-1 is
 * not reached (step 0 never drops anything). Past that bound the result
 * can only be low (reached a lower bound, conversion missed), never high,
 * and the record says so: funnel_exact = false when a marked step is at or
 * before the first unreached one (sessions_funnel_inexact). The mark is
 * conservative: an in-order stream can be flagged though its result is
 * right.
 *
 * Tables. Sized at create: capacity users (user id stored once per user)
 * and session_capacity open sessions shared by all users (a user's first
 * open session lives in its entry, others in an overflow pool; the limit
 * counts both). An event that needs a new user when all users are in use,
 * or a new session when session_capacity are open, is dropped
 * (session_table_full, -ENOSPC). A user with no open session is recycled
 * at once.
 *
 * Memory (x86-64, sizeof, 4-step funnel): one 64-byte line per user that
 * holds the user's first open session and an id of up to ST_SESS_ID_INLINE
 * bytes (longer ids: 64 B more in a side arena), 32 B of funnel history
 * per session (32-bit offsets from the session start; a session whose
 * funnel times lie more than 2^32 us (71 min) from its start keeps them
 * exactly in a 64 B side block instead), 4 B of sequence number per
 * session, 8 B index slot at load <= 0.75 (about 11 - 14 B per user), and
 * a 4 B handle in the close-time wheel (64 B chunks of 15; plus at most
 * 2 partly filled chunks per wheel bucket, 0.5 MB in all). A
 * user's second and later open sessions take a 48 B overflow slot plus
 * their 32 B history. Reserved (mapped) at create, but handed out from the
 * start of each array, so only what the peak in use touched becomes
 * resident: about 120 B + huge-page rounding per open session with one
 * session per user (measured 117-118 B after a warm-up of 1 M users,
 * 124-128 B at 0.84 M users at the end of a cold run; docs/benchmarks.md).
 *
 * Thread safety: not thread-safe; one table per worker lcore. Each table
 * writes its own wr_counters (sessions_active is a gauge of that table:
 * summing over workers gives the total).
 */
#ifndef ST_SESSION_H
#define ST_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_counters.h"

#define ST_SESS_USER_MAX 64      /* longer user ids are rejected (-EINVAL) */
#define ST_SESS_ID_INLINE 24     /* ids up to this long live in the user's cache line;
				  * longer ones (up to ST_SESS_USER_MAX) in a side arena */
#define ST_SESS_STEPS_MAX 16     /* funnel steps */
#define ST_SESS_STEP_HIST 2      /* occurrence times kept per session and step */

struct st_sess_params {
	uint32_t capacity;           /* max users with open sessions, 1 .. 2^28 */
	uint32_t session_capacity;   /* open sessions, all users, 0 .. 2^29; 0 = 2 * capacity */
	int64_t gap_us;              /* inactivity gap, > 0 (product default 30 min) */
	int64_t max_len_us;          /* max end - start, >= 0; 0 = unbounded */
	int64_t lateness_us;         /* allowed lateness, >= 0 */
	uint32_t n_steps;            /* funnel steps, 0 .. ST_SESS_STEPS_MAX */
	bool reserved_pages;         /* dense arrays on reserved 2 MB pages when the pool
				      * has room (st_mem.c), else transparent huge pages */
	bool general_funnel_only;    /* for tests only: never take the in-place fast path
				      * for funnel steps (results are the same either way;
				      * differential tests compare the two); false in use */
};

/* One event for st_sess_add_burst(); the arguments of st_sess_add(). */
struct st_sess_ev {
	const char *user;            /* @user_len bytes, not NUL-terminated */
	uint32_t user_len;
	int32_t step;                /* -1 = not a funnel step */
	int64_t ts_us;
	int64_t wm_us;               /* watermark of the input the event came from */
	bool is_page_view;
};

#define ST_SESS_BURST 32u           /* events prefetched together by add_burst */

/* A closed session. Pointers are valid only during the callback. */
struct st_session_rec {
	const char *user; uint32_t user_len;
	int64_t start_us, end_us;    /* first and last event time */
	int64_t duration_us;         /* end_us - start_us */
	uint64_t events, page_views;
	uint32_t reached;            /* funnel steps reached in order, 0 .. n_steps */
	bool converted;              /* n_steps > 0 && reached == n_steps */
	bool funnel_exact;           /* false: history overflowed, reached may be low */
	int64_t time_to_convert_us;  /* t(last step) - start_us, or -1 */
};

struct st_session_late_rec {
	const char *user; uint32_t user_len;
	int64_t event_us, watermark_us;
	int32_t step;
	bool is_page_view;
};

/* Where results go; emit and either callback may be NULL (record dropped). */
struct st_sess_emit {
	void (*session)(void *ctx, const struct st_session_rec *r);
	void (*late)(void *ctx, const struct st_session_late_rec *r);
	void *ctx;
};

struct st_sess;

/*
 * Returns 0 and *out, -EINVAL on bad params (NULL, out-of-range values),
 * -ENOMEM. All memory is taken here. @cnt must outlive the table.
 */
int st_sess_create(const struct st_sess_params *p, struct wr_counters *cnt, struct st_sess **out);

/* Frees everything; open sessions are dropped without emitting. NULL is a no-op. */
void st_sess_destroy(struct st_sess *t);

/* Bytes of @t's arrays on reserved 2 MB pages; *@wanted (may be NULL): the
 * bytes params.reserved_pages asked for (0 without it). */
size_t st_sess_reserved_bytes(const struct st_sess *t, size_t *wanted);

/*
 * Add one event of @user (@ulen bytes, 1 .. ST_SESS_USER_MAX, any bytes) at
 * event time @ts_us with funnel step @step (-1 = none) and the current
 * watermark @wm_us. May call emit->late; never emits sessions.
 * Returns 0, 1 when late, -ENOSPC when the table is full, -EINVAL for a bad
 * user length, a step outside -1 .. n_steps-1, or ts_us == INT64_MIN/MAX
 * (the caller counts bad input).
 * Cost: one hash lookup, no allocation; with a million users two dependent
 * cache misses (index slot, then the user's line with its session), plus
 * the history line for a funnel step; more only for a user with several
 * open sessions. Prefer st_sess_add_burst() on the packet path.
 */
int st_sess_add(struct st_sess *t, const char *user, size_t ulen, int64_t ts_us, int32_t step,
		bool is_page_view, int64_t wm_us, const struct st_sess_emit *emit);

/*
 * Add @n events, exactly as @n calls of st_sess_add() in array order would
 * (same results, callbacks and counters), but hashing ST_SESS_BURST events
 * at a time and prefetching their index slots, user entries and sessions
 * before touching them (index slots, then user lines and histories), so the
 * cache misses of a burst overlap.
 * @rc (may be NULL) gets each event's st_sess_add() return value.
 * Returns how many events returned 0. Cost: see docs/benchmarks.md
 * (Sessionization); about 2x faster than single adds at a million users.
 */
uint32_t st_sess_add_burst(struct st_sess *t, const struct st_sess_ev *ev, uint32_t n,
			   const struct st_sess_emit *emit, int *rc);

/*
 * Close every session with end + gap + lateness <= @wm_us, emitting them in
 * order of end time, and recycle users left with nothing open.
 * Cost: O(ticks the watermark passed (at most 4096) + sessions whose
 * scheduled close time passed, including those extended since, which are
 * re-scheduled), plus sorting the sessions of the watermark's own tick
 * (about hold / 2048 of event time). Never a scan of the table. Returns the
 * number of sessions closed.
 */
uint32_t st_sess_advance(struct st_sess *t, int64_t wm_us, const struct st_sess_emit *emit);

/* Users with at least one open session (fill-level gauge of the user table). */
uint32_t st_sess_used(const struct st_sess *t);

/* Open sessions (fill-level gauge of the pool; also the sessions_active counter). */
uint32_t st_sess_active(const struct st_sess *t);

/*
 * Funnel steps added by the in-place fast path (an event at its session's
 * end with a narrow history: the usual in-order case), since create. For
 * tests and profiling; the general path gives the same results.
 */
uint64_t st_sess_funnel_fast(const struct st_sess *t);

/*
 * A digest of the table's state: every user entry's and overflow slot's
 * session fields (times, counts, links, flags, overflow marks) and the
 * stored funnel history words of open sessions, as stored (narrow offsets
 * or wide times). Two tables given the same calls have equal digests. For
 * tests (the fast path against the general one); O(users + slots touched).
 */
uint64_t st_sess_digest(const struct st_sess *t);

/*
 * Check internal invariants (index, free lists, each user's inline session
 * disjoint from its sorted, disjoint overflow chain, user / pool / arena /
 * wide-history / sequence-number accounting, parked entries, every live or
 * merged-away session linked exactly once in the close-time wheel or the
 * sorted run, none of them overdue, each wheel chunk in one bucket or the
 * free stack, funnel history sorted and within the session). For tests;
 * O(capacity), allocates scratch bitmaps.
 * Returns 0, -ENOMEM, or -EFAULT: a failure is a bug in st_session.c.
 */
int st_sess_verify(const struct st_sess *t);

/*
 * For tests: sort @n (@close[i], @seq[i]) pairs in place with the sort
 * st_sess_advance() orders its due sessions by (close time, then seq), with
 * at most @depth partition levels before it falls back to heapsort (0:
 * heapsort at once; UINT32_MAX: as advance runs it). Returns 0 or -ENOMEM.
 */
int st_sess_test_sort(int64_t *close, uint32_t *seq, uint32_t n, uint32_t depth);

#endif /* ST_SESSION_H */
