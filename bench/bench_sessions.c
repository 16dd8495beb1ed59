/*
 * bench_sessions - sessionization throughput with about 1 M active users on
 * one core, and resident memory per open session.
 *
 * Usage: build/bench/bench_sessions [USERS] [EVENTS] [MODES]
 *
 * MODES (default "asbc", all) picks the runs by letter, for profiling one
 * of them: a = table with add_burst, s = table with single adds, b = parse
 * alone, c = parse + table. The closing ratios need a, b and c.
 *
 * One synthetic stream (users drawn uniformly, event time advancing 1 ms
 * per event, 40 % funnel steps, 60 % page views), produced in bursts of 32
 * like the worker's rx bursts. Only the work under test is timed (the
 * generator runs between the timed bursts, standing in for the receive
 * path; BENCH_GEN=printf for its former snprintf() formatter, see
 * click_text_fast()):
 *   a. session table alone: st_sess_add_burst of 32 events + st_sess_advance
 *      per burst (and, for comparison, the same with 32 single st_sess_add),
 *      each closed session packed onto an output ring as the worker does
 *      (since 2026-11-24, session 6; before, closed sessions were dropped);
 *   b. JSON parse alone: dp_event_parse_click of each event's text and the
 *      classification of its type (funnel step, page view) as the worker's;
 *   c. parse + table: both, as the worker does for a UDP burst; its time
 *      is also split into the parse's part and the table's (one more clock
 *      read per burst), printed next to a and b run alone.
 * Each table run is done twice:
 *   cold: the table starts empty, so the timed events also pay the first
 *         touch of every page (kernel zeroing) and the users' first entries;
 *   warm: first, untimed, every user gets one event (one pass over the
 *         users in id order, time advancing 1 ms per event as in the timed
 *         stream, so 1 M users span 1000 s and all stay open with a 30 min
 *         gap); then the same EVENTS are timed against the populated table.
 *         The watermark keeps advancing, so sessions keep closing (30 min
 *         without an event) and reopening: with 1 M users at 1000 events/s
 *         a user is seen every ~1000 s, so ~1 - e^-1.8 = 83 % of them have
 *         an open session in the steady state (printed).
 * Memory: resident set growth from before the table was created, divided by
 * the open sessions: user line (with the inline session), index, funnel
 * history, sequence numbers, overflow sessions and whatever spare capacity
 * or huge-page rounding got touched. Measured after the warm-up (every user
 * has exactly one open session: the table at its full active population),
 * and, as before 2026-11-24 (cold method), at the end of the cold run a,
 * where pages touched by users whose session has since closed stay resident
 * and are divided by the ~0.84 M sessions still open. It varies by a few
 * bytes from run to run with where the kernel could place 2 MB pages.
 * Targets (issue 4): >= 5 M events/s per core, <= 128 B per open session.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "dp_event.h"
#include "st_session.h"
#include "wr_common.h"
#include "wr_counters.h"
#include "wr_record.h"

#define BURST 32
#define TARGET_EPS 5e6
#define TARGET_BYTES 128.0

/* Resident bytes: the resident set (statm) plus the hugetlb pages touched,
 * which it does not count (HugetlbPages in /proc/self/status). */
static long rss_bytes(void)
{
	long pages = 0, res = 0, huge_kb = wr_read_num("/proc/self/status", "HugetlbPages");
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE) + (huge_kb > 0 ? huge_kb * 1024 : 0);
}

/*
 * The worker's emit, without EAL: each closed session becomes a
 * wr_out_rec packed into ring chunks (wr_out_pack) and copied into a
 * circular array of the output ring's size, as the worker's out_push()
 * enqueues it. The control thread's side is not timed (another core).
 */
#define SINK_CHUNKS 32768
static unsigned char *sink;
static uint32_t sink_head;
static void sink_session(void *ctx, const struct st_session_rec *sr)
{
	(void)ctx;
	struct wr_out_rec r;
	_Alignas(8) unsigned char buf[WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK];
	wr_out_session(&r, sr);
	unsigned k = wr_out_pack(&r, buf);
	for (unsigned i = 0; i < k; i++, sink_head++)
		memcpy(sink + (size_t)(sink_head % SINK_CHUNKS) * WR_OUT_CHUNK,
		       buf + (size_t)i * WR_OUT_CHUNK, WR_OUT_CHUNK);
}

/* BENCH_PAGES=thp: the table on transparent huge pages, as weir with
 * run.hugepages: false; default: reserved 2 MB pages where the pool has
 * room, as weir by default. */
static bool reserved_pages(void)
{
	const char *e = getenv("BENCH_PAGES");
	return !(e && strcmp(e, "thp") == 0);
}

enum mode { M_TABLE_BURST, M_TABLE_SINGLE, M_PARSE, M_BOTH, M_N };
static const char *const mode_name[M_N] = {
	"a. session table (add_burst)   ", "a'. session table (single add) ",
	"b. JSON parse alone             ", "c. JSON parse + session table  ",
};

struct gen {
	char user[BURST][24];
	char json[BURST][256];
	size_t jlen[BURST];
	struct st_sess_ev ev[BURST];
};

/*
 * The texts' formatter. The generator stands in for the worker's receive
 * path (a PMD copying ~150-byte frames into mbufs), which runs between the
 * timed bursts and passes through the same caches and predictors; until
 * session 11 it was snprintf() and wr_time_format(), ~800 instructions of
 * libc's vfprintf per event, a heavier neighbour than the receive path
 * (docs/benchmarks.md, session 10: the JSON generation alone slowed run a's
 * table by 9-15 ns). By default the same bytes are now put together by
 * hand (~100 instructions; the second's text is formatted once per second);
 * BENCH_GEN=printf keeps the former formatter. main() checks that both give
 * the same texts before it measures.
 */
static bool gen_printf;

static inline char *put_u32(char *p, uint32_t v)
{
	char t[10];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static inline char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_str(p, lit, sizeof(lit) - 1)

/* The event types drawn (60 % page views) and their lengths. */
#define TYPE(s) { s, sizeof(s) - 1 }
static const struct {
	const char *s;
	size_t n;
} types[] = { TYPE("page_view"), TYPE("page_view"), TYPE("page_view"), TYPE("page_view"),
	      TYPE("page_view"), TYPE("page_view"), TYPE("product_view"), TYPE("add_to_cart"),
	      TYPE("checkout"), TYPE("purchase") };
#undef TYPE

/* "u<u>" into @dst (24 bytes), NUL-terminated; its length. */
static inline int user_text(char *dst, uint32_t u)
{
	dst[0] = 'u';
	char *e = put_u32(dst + 1, u);
	*e = '\0';
	return (int)(e - dst);
}

/* The click text of one event, as the snprintf() below would write it. */
static size_t click_text_fast(char *out, const char *user, size_t ulen, int64_t ts,
			      unsigned ty, uint32_t page)
{
	static int64_t sec = INT64_MIN;
	static char sec_txt[40];  /* "YYYY-MM-DDTHH:MM:SS", the second's text */
	int64_t s = ts / WR_US_PER_SEC, us = ts % WR_US_PER_SEC;
	if (us < 0) {
		us += WR_US_PER_SEC;
		s--;
	}
	if (s != sec) {
		wr_time_format(s * WR_US_PER_SEC, sec_txt, sizeof(sec_txt));
		sec = s;
	}
	char *p = out;
	p = PUT_LIT(p, "{\"user_id\":\"");
	p = put_str(p, user, ulen);
	p = PUT_LIT(p, "\",\"ts\":\"");
	p = put_str(p, sec_txt, 19);
	unsigned ms = (unsigned)(us / 1000);
	if (ms) {
		p[0] = '.';
		p[1] = (char)('0' + ms / 100);
		p[2] = (char)('0' + ms / 10 % 10);
		p[3] = (char)('0' + ms % 10);
		p += 4;
	}
	p = PUT_LIT(p, "Z\",\"type\":\"");
	p = put_str(p, types[ty].s, types[ty].n);
	p = PUT_LIT(p, "\",\"page\":\"/p/");
	p = put_u32(p, page);
	p = PUT_LIT(p, "\",\"session_hint\":null}");
	*p = '\0';
	return (size_t)(p - out);
}

/* The same with snprintf(), the bench's formatter before session 11. */
static size_t click_text_printf(char *out, size_t cap, const char *user, int64_t ts,
				unsigned ty, uint32_t page)
{
	char tsbuf[40];
	wr_time_format(ts, tsbuf, sizeof(tsbuf));
	int n = snprintf(out, cap,
			 "{\"user_id\":\"%s\",\"ts\":\"%s\",\"type\":\"%s\","
			 "\"page\":\"/p/%u\",\"session_hint\":null}",
			 user, tsbuf, types[ty].s, page);
	return (size_t)n;
}

/* Fill one burst starting at event number @i0: random users, or (@seq, the
 * warm-up) users i0 .. i0 + 31 modulo @users. */
static void gen_burst(struct gen *g, uint64_t i0, uint32_t users, int64_t base, bool json,
		      bool seq)
{
	for (int k = 0; k < BURST; k++) {
		uint32_t u = seq ? (uint32_t)((i0 + (uint64_t)k) % users)
				 : (uint32_t)(bench_rand() % users);
		int64_t ts = base + (int64_t)(i0 + (uint64_t)k) * 1000; /* 1 ms apart */
		unsigned ty = (unsigned)(bench_rand() % 10);
		int ulen = gen_printf ? snprintf(g->user[k], sizeof(g->user[k]), "u%u", u)
				      : user_text(g->user[k], u);
		g->ev[k] = (struct st_sess_ev){
			.user = g->user[k], .user_len = (uint32_t)ulen,
			.step = ty >= 6 ? (int32_t)(ty - 6) : -1, .ts_us = ts,
			.wm_us = ts - 5 * WR_US_PER_SEC, .is_page_view = ty < 6,
		};
		if (json)
			g->jlen[k] = gen_printf
				? click_text_printf(g->json[k], sizeof(g->json[k]), g->user[k], ts,
						    ty, u % 977)
				: click_text_fast(g->json[k], g->user[k], (size_t)ulen, ts, ty,
						  u % 977);
	}
}

/* Both formatters give the same texts (users of 1 to 7 digits, every
 * millisecond of a few seconds, including the whole second). */
static int gen_check(int64_t base)
{
	char a[256], b[256], user[24];
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t u = i % 7 == 0 ? i : (uint32_t)(bench_rand() % 10000000);
		int64_t ts = base + (int64_t)i * 1000 + (i % 3 == 0 ? 0 : 7);
		unsigned ty = i % 10;
		int ulen = snprintf(user, sizeof(user), "u%u", u);
		size_t na = click_text_fast(a, user, (size_t)ulen, ts, ty, u % 977);
		size_t nb = click_text_printf(b, sizeof(b), user, ts, ty, u % 977);
		if (na != nb || memcmp(a, b, na) != 0) {
			fprintf(stderr, "bench generator: texts differ:\n  %.*s\n  %.*s\n",
				(int)na, a, (int)nb, b);
			return -1;
		}
	}
	return 0;
}

/* The field names as the worker passes them: a configured struct; and the
 * funnel steps and page-view type it classifies each event's type by. */
static struct dp_event_fields fields;
static struct dp_click_types ctypes;

/* Run one burst of @mode (already generated in @g) through the parser and/or
 * @t. Returns 0, or -1 when an event does not parse. */
static int run_burst(int mode, struct gen *g, struct st_sess *t, struct dp_event_ctx *ctx,
		     const struct st_sess_emit *emit, size_t *json_bytes, double *parsed_at)
{
	if (mode == M_PARSE || mode == M_BOTH) {
		for (int k = 0; k < BURST; k++) {
			struct dp_click c;

			if (dp_event_parse_click(g->json[k], g->jlen[k], &fields, ctx, &c, NULL, 0)) {
				fprintf(stderr, "parse failed: %s\n", g->json[k]);
				return -1;
			}
			*json_bytes += g->jlen[k];
			/* the table gets what the parser produced, classified
			 * as the worker does (the worker copies the id: it lives
			 * in the ctx) */
			bool pv;
			int32_t step = dp_click_step(&ctypes, c.type, c.type_len, &pv);
			memcpy(g->user[k], c.user_id, c.user_id_len);
			g->ev[k].user = g->user[k];
			g->ev[k].user_len = c.user_id_len;
			g->ev[k].ts_us = c.ts_us;
			g->ev[k].step = step;
			g->ev[k].is_page_view = pv;
		}
		if (parsed_at)
			*parsed_at = bench_now_s();
		/* as the worker does: the burst's events in one st_sess_add_burst */
		if (mode == M_BOTH)
			st_sess_add_burst(t, g->ev, BURST, emit, NULL);
	} else if (mode == M_TABLE_BURST) {
		st_sess_add_burst(t, g->ev, BURST, emit, NULL);
	} else {
		for (int k = 0; k < BURST; k++)
			st_sess_add(t, g->ev[k].user, g->ev[k].user_len, g->ev[k].ts_us,
				    g->ev[k].step, g->ev[k].is_page_view, g->ev[k].wm_us, emit);
	}
	if (t)
		st_sess_advance(t, g->ev[BURST - 1].wm_us, emit);
	return 0;
}

struct result {
	double eps;                  /* timed events per second */
	double parse_ns;             /* run c: the parse's part of each event's time */
	uint32_t used, open_warm, open_end;
	double b_warm, b_end;        /* resident bytes per open session */
	double reserved_mb, want_mb; /* dense arrays on reserved 2 MB pages; asked for */
	double json_bytes;           /* mean text length of a timed event */
};

/*
 * One run of @mode: optionally a warm-up pass over the @users (untimed),
 * then @events timed random events. Returns 0 or -1.
 */
static int run(int mode, bool warm, uint32_t users, uint64_t events, struct result *r)
{
	static struct wr_counters cnt;
	static struct gen g;
	const int64_t base = 1795400000LL * WR_US_PER_SEC;
	struct st_sess_params p = { .capacity = users + users / 4,
				    .session_capacity = users + users / 4,
				    .gap_us = 30 * WR_US_PER_MIN,
				    .max_len_us = 12 * 3600 * WR_US_PER_SEC,
				    .lateness_us = 0, .n_steps = 4,
				    .reserved_pages = reserved_pages() };
	struct st_sess_emit emit = { sink_session, NULL, NULL };
	struct st_sess *t = NULL;
	struct dp_event_ctx *ctx = NULL;
	bool table = mode != M_PARSE, parse = mode == M_PARSE || mode == M_BOTH;
	uint64_t first = 0, n_warm = warm ? users - users % BURST : 0;
	size_t json_bytes = 0;
	long rss0 = rss_bytes(); /* before create */
	double busy = 0, parse_busy = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (table && st_sess_create(&p, &cnt, &t)) {
		fprintf(stderr, "st_sess_create failed\n");
		return -1;
	}
	if (table) {
		size_t want, got = st_sess_reserved_bytes(t, &want);
		r->reserved_mb = (double)got / (1 << 20);
		r->want_mb = (double)want / (1 << 20);
	}
	if (parse && dp_event_ctx_create(&ctx)) {
		fprintf(stderr, "dp_event_ctx_create failed\n");
		goto out;
	}
	/* warm-up: users 0 .. n_warm-1 in order, one event each, untimed;
	 * the timed stream's times continue after it */
	for (uint64_t i = 0; i < n_warm; i += BURST) {
		gen_burst(&g, i, users, base, parse, true);
		if (run_burst(mode, &g, t, ctx, &emit, &json_bytes, NULL))
			goto out;
	}
	first = n_warm;
	if (warm && table) {
		/* every user has one open session now: the resident growth per
		 * open session is the table's cost at its full population */
		r->open_warm = st_sess_active(t);
		r->b_warm = r->open_warm ? (double)(rss_bytes() - rss0) / r->open_warm : 0.0;
	}
	bench_rng = 88172645463325252ull;  /* the same timed stream for every run */
	json_bytes = 0;
	for (uint64_t i = 0; i < events; i += BURST) {
		gen_burst(&g, first + i, users, base, parse, false);
		double t0 = bench_now_s(), t1 = t0;
		if (run_burst(mode, &g, t, ctx, &emit, &json_bytes, &t1))
			goto out;
		busy += bench_now_s() - t0;
		parse_busy += t1 - t0;
	}
	r->eps = (double)events / busy;
	r->parse_ns = mode == M_BOTH ? parse_busy / (double)events * 1e9 : 0;
	r->json_bytes = (double)json_bytes / (double)events;
	if (table) {
		r->used = st_sess_used(t);
		r->open_end = st_sess_active(t);
		r->b_end = r->open_end ? (double)(rss_bytes() - rss0) / r->open_end : 0.0;
	}
	rc = 0;
out:
	dp_event_ctx_destroy(ctx);
	st_sess_destroy(t);
	return rc;
}

static void print_rate(int mode, const struct result *r)
{
	printf("  %s %6.2f M events/s (%4.0f ns/event) = %.2f x target", mode_name[mode],
	       r->eps / 1e6, 1e9 / r->eps, r->eps / TARGET_EPS);
	if (mode == M_BOTH)
		printf(" (parse %.0f + table %.0f ns)", r->parse_ns, 1e9 / r->eps - r->parse_ns);
}

int main(int argc, char **argv)
{
	uint32_t users = argc > 1 ? (uint32_t)atol(argv[1]) : 1000000;
	uint64_t events = argc > 2 ? (uint64_t)atoll(argv[2]) : 4000000;
	const char *modes = argc > 3 ? argv[3] : "asbc";

	dp_event_fields_default(&fields);
	const char *ge = getenv("BENCH_GEN");
	gen_printf = ge && strcmp(ge, "printf") == 0;
	if (gen_check(1795400000LL * WR_US_PER_SEC))
		return 1;
	bench_rng = 88172645463325252ull;
	/* the output ring stand-in, resident before any table is measured */
	sink = malloc((size_t)SINK_CHUNKS * WR_OUT_CHUNK);
	if (!sink)
		return 1;
	/* not 0: malloc + memset 0 may become calloc, which touches no page */
	memset(sink, 0xa5, (size_t)SINK_CHUNKS * WR_OUT_CHUNK);
	static const char *const steps[] = { "product_view", "add_to_cart", "checkout", "purchase" };
	dp_click_types_init(&ctypes, steps, 4, "page_view");
	static const char letter[M_N] = { 'a', 's', 'b', 'c' };
	struct result cold[M_N], warm[M_N];

	events -= events % BURST;
	if (users < BURST || events == 0) {
		fprintf(stderr, "usage: %s [USERS >= %d] [EVENTS >= %d]\n", argv[0], BURST, BURST);
		return 2;
	}
	printf("cold: table empty at the start; first touch of pages and users' first "
	       "entries are timed\n");
	bool told = false;
	for (int mode = 0; mode < M_N; mode++) {
		if (!strchr(modes, letter[mode]))
			continue;
		if (run(mode, false, users, events, &cold[mode]))
			return 1;
		if (mode != M_PARSE && !told) {
			told = true;
			if (cold[mode].want_mb > 0)
				printf("pages: the table's dense arrays on reserved 2 MB pages: %.0f of "
				       "%.0f MB%s\n", cold[mode].reserved_mb, cold[mode].want_mb,
				       cold[mode].reserved_mb < cold[mode].want_mb
				       ? " (the pool lacked room: the rest transparent huge pages)" : "");
			else
				printf("pages: transparent huge pages (BENCH_PAGES=thp)\n");
		}
		print_rate(mode, &cold[mode]);
		if (mode != M_PARSE)
			printf("; %u users, %u open sessions at the end, %.0f B resident per "
			       "open session", cold[mode].used, cold[mode].open_end,
			       cold[mode].b_end);
		else
			printf("; %.0f B per event", cold[mode].json_bytes);
		printf("\n");
	}
	printf("warm: %u users given one event each first (untimed); the same events "
	       "timed against the populated table\n", users - users % BURST);
	for (int mode = 0; mode < M_N; mode++) {
		if (mode == M_PARSE || !strchr(modes, letter[mode]))
			continue;    /* parse alone: no table, the same as cold */
		if (run(mode, true, users, events, &warm[mode]))
			return 1;
		print_rate(mode, &warm[mode]);
		printf("; open sessions %u after warm-up, %u at the end (%u users); "
		       "%.0f B resident per open session after warm-up\n",
		       warm[mode].open_warm, warm[mode].open_end, warm[mode].used,
		       warm[mode].b_warm);
	}
	if (!strchr(modes, 'a') || !strchr(modes, 'b') || !strchr(modes, 'c'))
		return 0;
	printf("rate vs target (%.0f M events/s): table alone (add_burst) cold %.2f x, warm "
	       "%.2f x; parse + table cold %.2f x, warm %.2f x; parse alone %.2f x\n",
	       TARGET_EPS / 1e6, cold[M_TABLE_BURST].eps / TARGET_EPS,
	       warm[M_TABLE_BURST].eps / TARGET_EPS, cold[M_BOTH].eps / TARGET_EPS,
	       warm[M_BOTH].eps / TARGET_EPS, cold[M_PARSE].eps / TARGET_EPS);
	/* where run c's time goes, against the halves run alone: when the sum
	 * inside c exceeds a + b, the two slow each other down */
	printf("run c split (ns per event): cold parse %.0f (alone %.0f) + table %.0f (alone "
	       "%.0f); warm parse %.0f + table %.0f (alone %.0f)\n", cold[M_BOTH].parse_ns,
	       1e9 / cold[M_PARSE].eps, 1e9 / cold[M_BOTH].eps - cold[M_BOTH].parse_ns,
	       1e9 / cold[M_TABLE_BURST].eps, warm[M_BOTH].parse_ns,
	       1e9 / warm[M_BOTH].eps - warm[M_BOTH].parse_ns, 1e9 / warm[M_TABLE_BURST].eps);
	printf("memory (target <= %.0f B per open session): %.0f B after warm-up (%u open) "
	       "= %.2f x; %.0f B at the end of the cold run a (%u open) = %.2f x\n",
	       TARGET_BYTES, warm[M_TABLE_BURST].b_warm, warm[M_TABLE_BURST].open_warm,
	       warm[M_TABLE_BURST].b_warm / TARGET_BYTES, cold[M_TABLE_BURST].b_end,
	       cold[M_TABLE_BURST].open_end, cold[M_TABLE_BURST].b_end / TARGET_BYTES);
	return 0;
}
