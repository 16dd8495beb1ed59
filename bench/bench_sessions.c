/*
 * bench_sessions - sessionization throughput with about 1 M active users on
 * one core, and resident memory per active session.
 *
 * Usage: build/bench/bench_sessions [USERS] [EVENTS]
 *
 * Two runs over the same synthetic stream (users drawn uniformly, event time
 * advancing ~1 ms per event, 30 % funnel steps, 60 % page views):
 *   1. st_sess_add + st_sess_advance every 32 events (the session table alone);
 *   2. the same with every event first parsed from its JSON text by
 *      dp_event_parse_click (the worker's per-event path without the NIC).
 * Memory: resident set growth from before the table was created to the end
 * (tables are sized for 1.25 x the users), divided by the open sessions:
 * user entry, index, session, funnel history and the spare capacity.
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

static uint64_t rng = 88172645463325252ull;
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

int main(int argc, char **argv)
{
	uint32_t users = argc > 1 ? (uint32_t)atol(argv[1]) : 1000000;
	uint64_t events = argc > 2 ? (uint64_t)atoll(argv[2]) : 4000000;
	static struct wr_counters cnt;
	const int64_t base = 1795400000LL * WR_US_PER_SEC;

	for (int run = 0; run < 2; run++) {
		struct st_sess_params p = { .capacity = users + users / 4,
					    .session_capacity = users + users / 4,
					    .gap_us = 30 * WR_US_PER_MIN,
					    .max_len_us = 12 * 3600 * WR_US_PER_SEC,
					    .lateness_us = 0, .n_steps = 4 };
		struct st_sess *t;
		long rss0 = rss_bytes(); /* before create: the tables are filled at create */
		if (st_sess_create(&p, &cnt, &t)) {
			fprintf(stderr, "st_sess_create failed\n");
			return 1;
		}
		struct dp_event_ctx *ctx = NULL;
		if (run == 1 && dp_event_ctx_create(&ctx)) {
			fprintf(stderr, "dp_event_ctx_create failed\n");
			return 1;
		}
		struct st_sess_emit emit = { NULL, NULL, NULL };
		char json[256], user[32];
		double t0 = now_s();
		for (uint64_t i = 0; i < events; i++) {
			uint32_t u = (uint32_t)(next_rand() % users);
			int64_t ts = base + (int64_t)i * 1000; /* 1 ms apart: all stay open */
			unsigned ty = (unsigned)(next_rand() % 10);
			int32_t step = ty >= 6 ? (int32_t)(ty - 6) : -1;
			int ulen = snprintf(user, sizeof(user), "u%u", u);
			if (run == 1) {
				char tsbuf[40];
				wr_time_format(ts, tsbuf, sizeof(tsbuf));
				int n = snprintf(json, sizeof(json),
						 "{\"user_id\":\"%s\",\"ts\":\"%s\",\"type\":\"%s\","
						 "\"page\":\"/p/%u\",\"session_hint\":null}",
						 user, tsbuf, types[ty], u % 977);
				struct dp_click c;
				if (dp_event_parse_click(json, (size_t)n, NULL, ctx, &c, NULL, 0)) {
					fprintf(stderr, "parse failed: %s\n", json);
					return 1;
				}
				ts = c.ts_us;
			}
			st_sess_add(t, user, (size_t)ulen, ts, step, ty < 6, ts - 5 * WR_US_PER_SEC,
				    &emit);
			if ((i & 31) == 31)
				st_sess_advance(t, ts - 5 * WR_US_PER_SEC, &emit);
		}
		double dt = now_s() - t0;
		long rss1 = rss_bytes();
		uint32_t open = st_sess_active(t);
		printf("%s: %.2f M events/s (%.0f ns/event), %u users with open sessions, "
		       "%u open sessions, %.0f bytes resident per open session\n",
		       run == 0 ? "session table alone        " : "JSON parse + session table",
		       (double)events / dt / 1e6, dt * 1e9 / (double)events, st_sess_used(t), open,
		       open ? (double)(rss1 - rss0) / open : 0.0);
		dp_event_ctx_destroy(ctx);
		st_sess_destroy(t);
	}
	return 0;
}
