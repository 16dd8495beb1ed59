/*
 * bench_sessions - sessionization throughput with about 1 M active users on
 * one core, and resident memory per active session.
 *
 * Usage: build/bench/bench_sessions [USERS] [EVENTS]
 *
 * One synthetic stream (users drawn uniformly, event time advancing 1 ms
 * per event, 30 % funnel steps, 60 % page views), produced in bursts of 32
 * like the worker's rx bursts. Only the work under test is timed (the
 * generator runs between the timed bursts):
 *   a. session table alone: st_sess_add_burst of 32 events + st_sess_advance
 *      per burst (and, for comparison, the same with 32 single st_sess_add);
 *   b. JSON parse alone: dp_event_parse_click of each event's text;
 *   c. parse + table: both, as the worker does for a UDP burst.
 * Memory: resident set growth from before the table was created to the end
 * of run a (tables sized for 1.25 x the users), divided by the open
 * sessions: user line (with the inline session), index, funnel history,
 * sequence numbers, overflow sessions and whatever spare capacity or
 * huge-page rounding got touched. It varies by a few bytes from run to run
 * with where the kernel could place 2 MB pages.
 * Targets (issue 4): >= 5 M events/s per core, <= 128 B per open session.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp_event.h"
#include "st_session.h"
#include "wr_common.h"
#include "wr_counters.h"

#define BURST 32
#define TARGET_EPS 5e6
#define TARGET_BYTES 128.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

static uint64_t rng;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const types[] = { "page_view", "page_view", "page_view", "page_view",
				     "page_view", "page_view", "product_view", "add_to_cart",
				     "checkout", "purchase" };

enum mode { M_TABLE_BURST, M_TABLE_SINGLE, M_PARSE, M_BOTH, M_N };
static const char *const mode_name[M_N] = {
	"a. session table (add_burst)   ", "a'. session table (single add) ",
	"b. JSON parse alone (jsmn)     ", "c. JSON parse + session table  ",
};

struct gen {
	char user[BURST][24];
	char json[BURST][256];
	size_t jlen[BURST];
	struct st_sess_ev ev[BURST];
};

/* Fill one burst starting at event number @i0. */
static void gen_burst(struct gen *g, uint64_t i0, uint32_t users, int64_t base, bool json)
{
	for (int k = 0; k < BURST; k++) {
		uint32_t u = (uint32_t)(next_rand() % users);
		int64_t ts = base + (int64_t)(i0 + (uint64_t)k) * 1000; /* 1 ms apart */
		unsigned ty = (unsigned)(next_rand() % 10);
		int ulen = snprintf(g->user[k], sizeof(g->user[k]), "u%u", u);
		g->ev[k] = (struct st_sess_ev){
			.user = g->user[k], .user_len = (uint32_t)ulen,
			.step = ty >= 6 ? (int32_t)(ty - 6) : -1, .ts_us = ts,
			.wm_us = ts - 5 * WR_US_PER_SEC, .is_page_view = ty < 6,
		};
		if (json) {
			char tsbuf[40];
			wr_time_format(ts, tsbuf, sizeof(tsbuf));
			int n = snprintf(g->json[k], sizeof(g->json[k]),
					 "{\"user_id\":\"%s\",\"ts\":\"%s\",\"type\":\"%s\","
					 "\"page\":\"/p/%u\",\"session_hint\":null}",
					 g->user[k], tsbuf, types[ty], u % 977);
			g->jlen[k] = (size_t)n;
		}
	}
}

int main(int argc, char **argv)
{
	uint32_t users = argc > 1 ? (uint32_t)atol(argv[1]) : 1000000;
	uint64_t events = argc > 2 ? (uint64_t)atoll(argv[2]) : 4000000;
	static struct wr_counters cnt;
	static struct gen g;
	const int64_t base = 1795400000LL * WR_US_PER_SEC;
	double bytes_per_session = 0;
	size_t json_bytes = 0;

	events -= events % BURST;
	for (int mode = 0; mode < M_N; mode++) {
		struct st_sess_params p = { .capacity = users + users / 4,
					    .session_capacity = users + users / 4,
					    .gap_us = 30 * WR_US_PER_MIN,
					    .max_len_us = 12 * 3600 * WR_US_PER_SEC,
					    .lateness_us = 0, .n_steps = 4 };
		struct st_sess *t = NULL;
		struct dp_event_ctx *ctx = NULL;
		bool table = mode != M_PARSE, parse = mode == M_PARSE || mode == M_BOTH;
		long rss0 = rss_bytes(); /* before create */

		rng = 88172645463325252ull;  /* the same stream for every mode */
		if (table && st_sess_create(&p, &cnt, &t)) {
			fprintf(stderr, "st_sess_create failed\n");
			return 1;
		}
		if (parse && dp_event_ctx_create(&ctx)) {
			fprintf(stderr, "dp_event_ctx_create failed\n");
			return 1;
		}
		struct st_sess_emit emit = { NULL, NULL, NULL };
		double busy = 0;
		for (uint64_t i = 0; i < events; i += BURST) {
			gen_burst(&g, i, users, base, parse);
			double t0 = now_s();
			if (parse) {
				for (int k = 0; k < BURST; k++) {
					struct dp_click c;
					if (dp_event_parse_click(g.json[k], g.jlen[k], NULL, ctx, &c,
								 NULL, 0)) {
						fprintf(stderr, "parse failed: %s\n", g.json[k]);
						return 1;
					}
					json_bytes += g.jlen[k];
					/* the table gets what the parser produced (the
					 * worker copies the id: it lives in the ctx) */
					memcpy(g.user[k], c.user_id, c.user_id_len);
					g.ev[k].ts_us = c.ts_us;
					if (mode == M_BOTH)
						st_sess_add(t, g.user[k], c.user_id_len, c.ts_us,
							    g.ev[k].step, c.kind == DP_CLICK_PAGE_VIEW,
							    g.ev[k].wm_us, &emit);
				}
			} else if (mode == M_TABLE_BURST) {
				st_sess_add_burst(t, g.ev, BURST, &emit, NULL);
			} else {
				for (int k = 0; k < BURST; k++)
					st_sess_add(t, g.ev[k].user, g.ev[k].user_len, g.ev[k].ts_us,
						    g.ev[k].step, g.ev[k].is_page_view,
						    g.ev[k].wm_us, &emit);
			}
			if (table)
				st_sess_advance(t, g.ev[BURST - 1].wm_us, &emit);
			busy += now_s() - t0;
		}
		long rss1 = rss_bytes();
		double eps = (double)events / busy;
		printf("%s %6.2f M events/s (%4.0f ns/event) = %.2f x target", mode_name[mode],
		       eps / 1e6, busy * 1e9 / (double)events, eps / TARGET_EPS);
		if (table) {
			uint32_t open = st_sess_active(t);
			double b = open ? (double)(rss1 - rss0) / open : 0.0;
			printf("; %u users, %u open sessions, %.0f B resident per open session",
			       st_sess_used(t), open, b);
			if (mode == M_TABLE_BURST)
				bytes_per_session = b;
		}
		if (mode == M_PARSE)
			printf("; %.0f B per event", (double)json_bytes / (double)events);
		printf("\n");
		dp_event_ctx_destroy(ctx);
		st_sess_destroy(t);
	}
	printf("memory: %.0f B per open session = %.2f x target (<= %.0f B)\n", bytes_per_session,
	       bytes_per_session / TARGET_BYTES, TARGET_BYTES);
	return 0;
}
