/*
 * test_redis.c - control/ctl_redis.c against a real redis-server.
 *
 * Each test that needs a server forks /usr/bin/redis-server on a free
 * loopback port (found by binding port 0) with no persistence, and kills it
 * at the end; the child dies with us (PR_SET_PDEATHSIG). Data is seeded and
 * checked with a blocking hiredis client. Waits are poll loops with
 * deadlines, never fixed sleeps; SIGSTOP/SIGCONT make a server that stops
 * answering, SIGKILL one that is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "ctl_rcache.h"
#include "ctl_redis.h"
#include "wr_common.h"
#include "wr_counters.h"
#include "wr_test.h"

#define CNT(c, name) ((c).v[WR_CNT_##name])
#define REDIS_BIN "/usr/bin/redis-server"
#define WAIT_US (5 * WR_US_PER_SEC)   /* upper bound of every wait loop */

/* ---- the server ---- */

struct srv {
	pid_t pid;
	uint16_t port;
	char sock[64];                 /* unix socket path */
};

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static redisContext *blocking_client(const struct srv *s)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Fork/exec redis-server on s->port; wait until it answers PING. */
static int srv_spawn(struct srv *s)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", s->port);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir("/tmp") != 0)   /* nothing is persisted, but never in the source tree */
			_exit(126);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(REDIS_BIN, REDIS_BIN, "--port", port, "--bind", "127.0.0.1", "--save", "",
		      "--appendonly", "no", "--unixsocket", s->sock, "--unixsocketperm", "700",
		      "--daemonize", "no", "--logfile", "", (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	int64_t end = wr_mono_us() + 10 * WR_US_PER_SEC;
	while (wr_mono_us() < end) {
		redisContext *c = blocking_client(s);
		if (c) {
			redisReply *rep = redisCommand(c, "PING");
			bool ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
			freeReplyObject(rep);
			redisFree(c);
			if (ok)
				return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			s->pid = 0;
			return -ECHILD;
		}
		usleep(2000);   /* between connect attempts while the server starts */
	}
	return -ETIMEDOUT;
}

static int srv_start(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->sock, sizeof(s->sock), "/tmp/weir-test-redis-%d.sock", (int)getpid());
	for (int i = 0; i < 3; i++) {
		s->port = free_port();
		if (s->port && srv_spawn(s) == 0)
			return 0;
	}
	return -1;
}

static void srv_kill(struct srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static void srv_stop(struct srv *s)
{
	srv_kill(s);
	unlink(s->sock);
}

/* ---- helpers ---- */

static void seed(const struct srv *s, const char *user, const char *const *fields,
		 const char *const *vals, unsigned n)
{
	redisContext *c = blocking_client(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	const char *argv[2 + 2 * 16];
	char key[64];
	snprintf(key, sizeof(key), "user:%s", user);
	argv[0] = "HSET";
	argv[1] = key;
	for (unsigned i = 0; i < n; i++) {
		argv[2 + 2 * i] = fields[i];
		argv[3 + 2 * i] = vals[i];
	}
	redisReply *rep = redisCommandArgv(c, (int)(2 + 2 * n), argv, NULL);
	CU_ASSERT(rep && rep->type == REDIS_REPLY_INTEGER);
	freeReplyObject(rep);
	redisFree(c);
}

static const char *const F5[5] = { "amount_sum_1h", "txn_count_1h", "country_risk", "avg_ticket", "chargebacks" };

/* Value of user u, field f in the seeded data: exact in decimal and binary. */
static double seed_value(unsigned u, unsigned f)
{
	return u * 10.0 + f + 0.25;
}

static char user_names[100][16];
static const char *users[100];

/* Seed 100 users x 5 fields, pipelined on a blocking client. */
static void seed100(const struct srv *s)
{
	redisContext *c = blocking_client(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (unsigned u = 0; u < 100; u++) {
		snprintf(user_names[u], sizeof(user_names[u]), "u%u", u);
		users[u] = user_names[u];
		char v[5][32];
		for (unsigned f = 0; f < 5; f++)
			snprintf(v[f], sizeof(v[f]), "%.17g", seed_value(u, f));
		redisAppendCommand(c, "HSET user:%s %s %s %s %s %s %s %s %s %s %s", users[u],
				   F5[0], v[0], F5[1], v[1], F5[2], v[2], F5[3], v[3], F5[4], v[4]);
	}
	for (unsigned u = 0; u < 100; u++) {
		redisReply *rep = NULL;
		CU_ASSERT_EQUAL(redisGetReply(c, (void **)&rep), REDIS_OK);
		CU_ASSERT(rep && rep->type == REDIS_REPLY_INTEGER);
		freeReplyObject(rep);
	}
	redisFree(c);
}

/* A number from INFO stats of the server, -1 when absent. */
static long long info_stat(const struct srv *s, const char *name)
{
	redisContext *c = blocking_client(s);
	if (!c)
		return -1;
	long long v = -1;
	redisReply *rep = redisCommand(c, "INFO stats");
	if (rep && rep->type == REDIS_REPLY_STRING) {
		char pat[64];
		snprintf(pat, sizeof(pat), "\r\n%s:", name);
		const char *p = strstr(rep->str, pat);
		if (p)
			v = atoll(p + strlen(pat));
	}
	freeReplyObject(rep);
	redisFree(c);
	return v;
}

/* What a lookup callback saw. */
struct got {
	int calls;
	uint64_t id;
	bool complete;
	uint32_t n, n_fields;
	double vals[100 * 5];
	int64_t at_us;
};

static void on_done(void *ctx, uint64_t id, const double *res, uint32_t n, uint32_t nf, bool complete)
{
	struct got *g = ctx;
	g->calls++;
	g->id = id;
	g->complete = complete;
	g->n = n;
	g->n_fields = nf;
	g->at_us = wr_mono_us();
	size_t cells = (size_t)n * nf;
	if (cells > WR_ARRAY_SIZE(g->vals))
		cells = WR_ARRAY_SIZE(g->vals);
	memcpy(g->vals, res, cells * sizeof(double));
}

/* Poll until *flag is true or WAIT_US passed; returns the flag. */
#define POLL_UNTIL(r, cond)                                                    \
	({                                                                     \
		int64_t end_ = wr_mono_us() + WAIT_US;                         \
		while (!(cond) && wr_mono_us() < end_)                         \
			ctl_redis_poll((r), 10 * WR_US_PER_MS);                \
		(bool)(cond);                                                  \
	})

static struct ctl_redis *client(const struct srv *s, struct wr_counters *cnt, int64_t deadline_us)
{
	struct ctl_redis_opts o = {
		.host = "127.0.0.1", .port = s->port, .deadline_us = deadline_us,
		.reconnect_min_us = 5 * WR_US_PER_MS, .reconnect_max_us = 50 * WR_US_PER_MS,
		.key_prefix = "user:",
	};
	struct ctl_redis *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL(ctl_redis_create(&o, cnt, &r, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	return r;
}

/* ---- tests ---- */

static void test_create_rejects_bad_options_naming_them(void)
{
	struct ctl_redis *r = (struct ctl_redis *)1;
	char err[256];
	struct ctl_redis_opts o = { 0 };
	CU_ASSERT_EQUAL(ctl_redis_create(&o, NULL, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "neither is set"));
	o.host = "127.0.0.1";
	o.unix_path = "/tmp/x.sock";
	CU_ASSERT_EQUAL(ctl_redis_create(&o, NULL, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "both are set"));
	o.unix_path = NULL;
	o.deadline_us = -1;
	CU_ASSERT_EQUAL(ctl_redis_create(&o, NULL, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "deadline_us"));
	o.deadline_us = 0;
	o.reconnect_min_us = 10 * WR_US_PER_SEC;
	o.reconnect_max_us = WR_US_PER_SEC;
	CU_ASSERT_EQUAL(ctl_redis_create(&o, NULL, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "reconnect_min_us"));
	ctl_redis_destroy(NULL);
}

static void test_lookup_100_users_5_fields_one_burst_exact(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);
	long long reads0 = info_stat(&s, "total_reads_processed");
	long long cmds0 = info_stat(&s, "total_commands_processed");

	static struct got g;
	memset(&g, 0, sizeof(g));
	uint64_t id = ctl_redis_lookup(r, users, 100, F5, 5, on_done, &g);
	CU_ASSERT(id > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_EQUAL(g.calls, 1);
	CU_ASSERT_EQUAL(g.id, id);
	CU_ASSERT_TRUE(g.complete);
	CU_ASSERT_EQUAL(g.n, 100);
	CU_ASSERT_EQUAL(g.n_fields, 5);
	unsigned exact = 0;
	for (unsigned u = 0; u < 100; u++)
		for (unsigned f = 0; f < 5; f++)
			exact += g.vals[u * 5 + f] == seed_value(u, f);
	CU_ASSERT_EQUAL(exact, 500);

	/*
	 * Pipelined: the 100 HMGETs reached the server in one or two read
	 * events, not 100. The measuring itself adds a few: the INFO commands
	 * (one read each) and the EOF reads of their short-lived connections.
	 */
	long long reads1 = info_stat(&s, "total_reads_processed");
	long long cmds1 = info_stat(&s, "total_commands_processed");
	CU_ASSERT_EQUAL(cmds1 - cmds0, 1 /* INFO for cmds0 */ + 100 + 1 /* INFO for reads1 */);
	CU_ASSERT(reads0 > 0 && reads1 - reads0 <= 8);
	printf("\n    100 HMGETs: %lld commands, %lld server read events (incl. INFO/EOF reads)\n",
	       cmds1 - cmds0, reads1 - reads0);

	CU_ASSERT_EQUAL(CNT(cnt, redis_lookups), 1);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 0);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_failed), 0);
	CU_ASSERT_EQUAL(CNT(cnt, redis_errors), 0);
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 0);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_missing_user_field_and_non_numbers_are_nan(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	const char *f3[3] = { "a", "b", "c" };
	const char *v3[3] = { "1.5", "abc", "-7" };
	seed(&s, "alice", f3, v3, 3);
	const char *fi[1] = { "d" };
	const char *vi[1] = { "12" };
	seed(&s, "bob", fi, vi, 1);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);

	const char *who[3] = { "alice", "nobody", "bob" };
	const char *fields[4] = { "a", "b", "c", "d" };
	static struct got g;
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, who, 3, fields, 4, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_TRUE(g.complete);                 /* every reply came: missing is not degraded */
	CU_ASSERT_EQUAL(g.vals[0], 1.5);
	CU_ASSERT(isnan(g.vals[1]));                /* "abc" */
	CU_ASSERT_EQUAL(g.vals[2], -7.0);
	CU_ASSERT(isnan(g.vals[3]));                /* alice has no d */
	for (int f = 0; f < 4; f++)
		CU_ASSERT(isnan(g.vals[4 + f]));    /* nobody */
	for (int f = 0; f < 3; f++)
		CU_ASSERT(isnan(g.vals[8 + f]));
	CU_ASSERT_EQUAL(g.vals[11], 12.0);

	/* A key of the wrong type: Redis answers an error; NaN, incomplete, counted. */
	redisContext *c = blocking_client(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	freeReplyObject(redisCommand(c, "SET user:str hello"));
	redisFree(c);
	const char *who2[2] = { "str", "bob" };
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, who2, 2, fields + 3, 1, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_FALSE(g.complete);
	CU_ASSERT(isnan(g.vals[0]));
	CU_ASSERT_EQUAL(g.vals[1], 12.0);
	CU_ASSERT_EQUAL(CNT(cnt, redis_errors), 1);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookups), 2);

	/* Invalid arguments: id 0, no callback. */
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(ctl_redis_lookup(r, who, 0, fields, 4, on_done, &g), 0);
	CU_ASSERT_EQUAL(ctl_redis_lookup(r, who, 3, fields, 0, on_done, &g), 0);
	CU_ASSERT_EQUAL(ctl_redis_lookup(r, who, 3, fields, 4, NULL, &g), 0);
	CU_ASSERT_EQUAL(g.calls, 0);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_paused_server_answers_at_deadline_then_late_replies_discarded(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	const int64_t deadline = 20 * WR_US_PER_MS;
	struct ctl_redis *r = client(&s, &cnt, deadline);

	CU_ASSERT_EQUAL(kill(s.pid, SIGSTOP), 0);
	static struct got g;
	memset(&g, 0, sizeof(g));
	int64_t t0 = wr_mono_us();
	CU_ASSERT(ctl_redis_lookup(r, users, 10, F5, 5, on_done, &g) > 0);
	CU_ASSERT_EQUAL(g.calls, 0);                /* connected: not answered at once */
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	int64_t took = g.at_us - t0;
	printf("\n    paused server: answered after %lld us (deadline %lld us)\n",
	       (long long)took, (long long)deadline);
	CU_ASSERT(took >= deadline);
	CU_ASSERT(took < deadline + 100 * WR_US_PER_MS);
	CU_ASSERT_EQUAL(g.calls, 1);
	CU_ASSERT_FALSE(g.complete);
	for (int i = 0; i < 50; i++)
		CU_ASSERT(isnan(g.vals[i]));
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 1);
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 1);   /* the tombstone */

	CU_ASSERT_EQUAL(kill(s.pid, SIGCONT), 0);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_in_flight(r) == 0));
	CU_ASSERT_EQUAL(CNT(cnt, redis_replies_late), 10);
	CU_ASSERT_EQUAL(g.calls, 1);                /* no second answer */
	CU_ASSERT_TRUE(ctl_redis_connected(r));

	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 100, F5, 5, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_TRUE(g.complete);
	CU_ASSERT_EQUAL(g.vals[99 * 5 + 4], seed_value(99, 4));
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 1);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookups), 2);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_killed_server_answers_at_once_then_restart_reconnects(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, 500 * WR_US_PER_MS);

	srv_kill(&s);
	CU_ASSERT(POLL_UNTIL(r, !ctl_redis_connected(r)));
	static struct got g;
	memset(&g, 0, sizeof(g));
	int64_t t0 = wr_mono_us();
	uint64_t id = ctl_redis_lookup(r, users, 32, F5, 5, on_done, &g);
	CU_ASSERT_EQUAL(g.calls, 1);                /* before lookup returned */
	CU_ASSERT_EQUAL(g.id, id);
	CU_ASSERT_FALSE(g.complete);
	CU_ASSERT(isnan(g.vals[0]) && isnan(g.vals[32 * 5 - 1]));
	CU_ASSERT(g.at_us - t0 < 10 * WR_US_PER_MS);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_failed), 1);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 0);
	const double v[1] = { 1.0 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "u1", F5, v, 1), -ENOTCONN);

	/* Down for a while: retries back off (5, 10, 20, 40, 50, 50 ms ...), each counted. */
	int64_t end = wr_mono_us() + 200 * WR_US_PER_MS;
	while (wr_mono_us() < end)
		ctl_redis_poll(r, 10 * WR_US_PER_MS);
	uint64_t attempts = CNT(cnt, redis_errors);
	printf("\n    200 ms down: %llu connect attempts failed\n", (unsigned long long)attempts);
	CU_ASSERT(attempts >= 3 && attempts <= 10);
	CU_ASSERT_EQUAL(CNT(cnt, redis_reconnects), 0);

	CU_ASSERT_EQUAL_FATAL(srv_spawn(&s), 0);   /* same port */
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	CU_ASSERT_EQUAL(CNT(cnt, redis_reconnects), 1);
	seed100(&s);                                /* no persistence: data is gone */
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 32, F5, 5, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_TRUE(g.complete);
	CU_ASSERT_EQUAL(g.vals[31 * 5 + 2], seed_value(31, 2));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_lookup_in_flight_when_server_dies_answers_incomplete(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, 2 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(kill(s.pid, SIGSTOP), 0);
	static struct got g;
	memset(&g, 0, sizeof(g));
	const char *u[2] = { "a", "b" };
	int64_t t0 = wr_mono_us();
	CU_ASSERT(ctl_redis_lookup(r, u, 2, F5, 5, on_done, &g) > 0);
	srv_kill(&s);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_FALSE(g.complete);
	CU_ASSERT(g.at_us - t0 < WR_US_PER_SEC);    /* at the connection loss, not the 2 s deadline */
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_failed), 1);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 0);
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 0);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_stalled_connection_dropped_and_reconnected(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis_opts o = {
		.host = "127.0.0.1", .port = s.port, .deadline_us = 5 * WR_US_PER_MS,
		.reconnect_min_us = 5 * WR_US_PER_MS, .reconnect_max_us = 20 * WR_US_PER_MS,
		.stall_timeout_us = 50 * WR_US_PER_MS, .max_pending = 2, .key_prefix = "user:",
	};
	struct ctl_redis *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(ctl_redis_create(&o, &cnt, &r, err, sizeof(err)), 0);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));

	CU_ASSERT_EQUAL(kill(s.pid, SIGSTOP), 0);
	static struct got g1, g2, g3;
	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	memset(&g3, 0, sizeof(g3));
	CU_ASSERT(ctl_redis_lookup(r, users, 1, F5, 1, on_done, &g1) > 0);
	CU_ASSERT(ctl_redis_lookup(r, users, 1, F5, 1, on_done, &g2) > 0);
	/* max_pending reached: the third is refused at once. */
	CU_ASSERT(ctl_redis_lookup(r, users, 1, F5, 1, on_done, &g3) > 0);
	CU_ASSERT_EQUAL(g3.calls, 1);
	CU_ASSERT_FALSE(g3.complete);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_failed), 1);
	/* Deadlines pass, then the stall timeout drops the connection. */
	CU_ASSERT(POLL_UNTIL(r, g1.calls && g2.calls && !ctl_redis_connected(r)));
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_timeouts), 2);
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 0);  /* tombstones freed with the context */
	CU_ASSERT(CNT(cnt, redis_errors) >= 1);
	CU_ASSERT_EQUAL(kill(s.pid, SIGCONT), 0);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	CU_ASSERT_EQUAL(CNT(cnt, redis_reconnects), 1);
	memset(&g1, 0, sizeof(g1));
	CU_ASSERT(ctl_redis_lookup(r, users + 7, 1, F5 + 3, 1, on_done, &g1) > 0);
	CU_ASSERT(POLL_UNTIL(r, g1.calls > 0));
	CU_ASSERT_TRUE(g1.complete);
	CU_ASSERT_EQUAL(g1.vals[0], seed_value(7, 3));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_write_back_visible_to_blocking_client(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);
	const char *f[2] = { "amount_sum_1h", "txn_count_1h" };
	const double v[2] = { 0.1 + 0.2, 42 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "carol", f, v, 2), 0);
	const double v2[1] = { 1e300 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "dave", f, v2, 1), 0);
	const double bad[1] = { NAN };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "dave", f, bad, 1), -EINVAL);
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_writes) == 2));
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 0);
	CU_ASSERT_EQUAL(CNT(cnt, redis_errors), 0);

	redisContext *c = blocking_client(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	redisReply *rep = redisCommand(c, "HMGET user:carol amount_sum_1h txn_count_1h");
	CU_ASSERT_FATAL(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2);
	CU_ASSERT_EQUAL(strtod(rep->element[0]->str, NULL), 0.1 + 0.2);   /* round trip exact */
	CU_ASSERT_STRING_EQUAL(rep->element[1]->str, "42");
	freeReplyObject(rep);
	redisFree(c);

	/* And the lookup side reads it back. */
	static struct got g;
	memset(&g, 0, sizeof(g));
	const char *u[2] = { "carol", "dave" };
	CU_ASSERT(ctl_redis_lookup(r, u, 2, f, 2, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_EQUAL(g.vals[0], 0.1 + 0.2);
	CU_ASSERT_EQUAL(g.vals[1], 42.0);
	CU_ASSERT_EQUAL(g.vals[2], 1e300);
	CU_ASSERT(isnan(g.vals[3]));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* Write-back values are stored in their shortest exact text, and each
 * reads back as the same double. */
static void test_write_back_text_is_short_and_exact(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);
	const char *f[8] = { "a", "b", "c", "d", "e", "g", "h", "i" };
	const double v[8] = { 123.45, -0.5, 1700000000.123456, 1e300, 0.1 + 0.2, -0.0, 1e-7,
			      42 };
	const char *want[8] = { "123.45", "-0.5", "1700000000.123456", "1.0000000000000001e+300",
				"0.30000000000000004", "-0", "9.9999999999999995e-08", "42" };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "erin", f, v, 8), 0);
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_writes) == 1));
	redisContext *c = blocking_client(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	redisReply *rep = redisCommand(c, "HMGET user:erin a b c d e g h i");
	CU_ASSERT_FATAL(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 8);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_STRING_EQUAL(rep->element[i]->str, want[i]);
		double back = strtod(rep->element[i]->str, NULL);
		CU_ASSERT(memcmp(&back, &v[i], sizeof(back)) == 0);
	}
	freeReplyObject(rep);
	redisFree(c);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* A write-back alone waits (up to its hold time) for a lookup burst to go
 * out with; the lookup takes it along at once. */
static void test_write_back_held_then_sent_with_next_lookup(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	struct wr_counters cnt = { 0 };
	struct ctl_redis_opts o = {
		.host = "127.0.0.1", .port = s.port, .deadline_us = WR_US_PER_SEC,
		.key_prefix = "user:", .write_hold_us = 60 * WR_US_PER_SEC,
	};
	struct ctl_redis *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(ctl_redis_create(&o, &cnt, &r, err, sizeof(err)), 0);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	const char *f[1] = { "txn_count_1h" };
	const double v[1] = { 7 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "frank", f, v, 1), 0);
	int64_t end = wr_mono_us() + 100 * WR_US_PER_MS;
	while (wr_mono_us() < end)
		ctl_redis_poll(r, 10 * WR_US_PER_MS);
	CU_ASSERT_EQUAL(CNT(cnt, redis_writes), 0);     /* still held */
	redisContext *c = blocking_client(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	redisReply *rep = redisCommand(c, "HGET user:frank txn_count_1h");
	CU_ASSERT(rep && rep->type == REDIS_REPLY_NIL);
	freeReplyObject(rep);

	static struct got g;
	memset(&g, 0, sizeof(g));
	const char *u[1] = { "frank" };
	CU_ASSERT(ctl_redis_lookup(r, u, 1, f, 1, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0 && CNT(cnt, redis_writes) == 1));
	CU_ASSERT_EQUAL(g.vals[0], 7.0);        /* the write went first, same burst */
	rep = redisCommand(c, "HGET user:frank txn_count_1h");
	CU_ASSERT(rep && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "7") == 0);
	freeReplyObject(rep);

	/* At a stop, ctl_redis_flush() lets the next poll write a held one at once. */
	const double v2[1] = { 8 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "frank", f, v2, 1), 0);
	ctl_redis_poll(r, 0);
	CU_ASSERT_EQUAL(CNT(cnt, redis_writes), 1);     /* held */
	ctl_redis_flush(r);
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_writes) == 2));
	CU_ASSERT_EQUAL(ctl_redis_in_flight(r), 0);
	redisFree(c);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static void test_unix_socket_lookup(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis_opts o = { .unix_path = s.sock, .deadline_us = WR_US_PER_SEC,
				    .key_prefix = "user:" };
	struct ctl_redis *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(ctl_redis_create(&o, &cnt, &r, err, sizeof(err)), 0);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	static struct got g;
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users + 50, 2, F5, 5, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_TRUE(g.complete);
	CU_ASSERT_EQUAL(g.vals[0], seed_value(50, 0));
	CU_ASSERT_EQUAL(g.vals[9], seed_value(51, 4));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* Callback that issues the next lookup from inside the callback (re-entrancy). */
struct chain { int left; int answered; bool all_complete; struct ctl_redis *r; };

static void on_chain(void *ctx, uint64_t id, const double *res, uint32_t n, uint32_t nf, bool complete)
{
	(void)id; (void)n; (void)nf;
	struct chain *c = ctx;
	c->answered++;
	c->all_complete &= complete && res[0] == seed_value(3, 0);
	if (--c->left > 0)
		CU_ASSERT(ctl_redis_lookup(c->r, users + 3, 1, F5, 1, on_chain, c) > 0);
}

static void test_lookup_from_callback_and_destroy_answers_pending(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);
	struct chain c = { .left = 5, .all_complete = true, .r = r };
	CU_ASSERT(ctl_redis_lookup(r, users + 3, 1, F5, 1, on_chain, &c) > 0);
	CU_ASSERT(POLL_UNTIL(r, c.answered == 5));
	CU_ASSERT_TRUE(c.all_complete);

	/* Destroy with a lookup waiting on a paused server: answered, incomplete. */
	CU_ASSERT_EQUAL(kill(s.pid, SIGSTOP), 0);
	static struct got g;
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 4, F5, 5, on_done, &g) > 0);
	ctl_redis_destroy(r);
	CU_ASSERT_EQUAL(g.calls, 1);
	CU_ASSERT_FALSE(g.complete);
	CU_ASSERT_EQUAL(CNT(cnt, redis_lookup_failed), 1);
	srv_stop(&s);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}



/* ---- client-side cache (fraud.redis.cache) ---- */

static struct ctl_redis *cached_client(const struct srv *s, struct wr_counters *cnt,
				       uint32_t entries)
{
	struct ctl_redis_opts o = {
		.host = "127.0.0.1", .port = s->port, .deadline_us = WR_US_PER_SEC,
		.reconnect_min_us = 5 * WR_US_PER_MS, .reconnect_max_us = 50 * WR_US_PER_MS,
		.key_prefix = "user:", .cache_entries = entries, .cache_fields = F5,
		.cache_n_fields = 5,
	};
	struct ctl_redis *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL(ctl_redis_create(&o, cnt, &r, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	return r;
}

/* HMGETs the server has run (INFO commandstats). */
static long long hmget_calls(const struct srv *s)
{
	redisContext *c = blocking_client(s);
	if (!c)
		return -1;
	long long v = 0;
	redisReply *rep = redisCommand(c, "INFO commandstats");
	if (rep && rep->type == REDIS_REPLY_STRING) {
		const char *p = strstr(rep->str, "cmdstat_hmget:calls=");
		if (p)
			v = atoll(p + strlen("cmdstat_hmget:calls="));
	}
	freeReplyObject(rep);
	redisFree(c);
	return v;
}

static void redis_cmd(const struct srv *s, const char *cmd)
{
	redisContext *c = blocking_client(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	redisReply *rep = redisCommand(c, cmd);
	CU_ASSERT(rep && rep->type != REDIS_REPLY_ERROR);
	freeReplyObject(rep);
	redisFree(c);
}

/* Look up users[0..n) and wait for the answer; true when complete. */
static bool lookup_wait(struct ctl_redis *r, struct got *g, uint32_t n)
{
	memset(g, 0, sizeof(*g));
	if (ctl_redis_lookup(r, users, n, F5, 5, on_done, g) == 0)
		return false;
	return POLL_UNTIL(r, g->calls > 0) && g->complete;
}

/* Poll until the lookups of users[0..n) come from the cache (tracking is
 * confirmed a round trip after both connections are up). */
static bool cache_warm(struct ctl_redis *r, struct wr_counters *cnt, struct got *g, uint32_t n)
{
	int64_t end = wr_mono_us() + WAIT_US;
	while (wr_mono_us() < end) {
		uint64_t hits = CNT(*cnt, redis_cache_hits);
		if (!lookup_wait(r, g, n))
			return false;
		if (CNT(*cnt, redis_cache_hits) - hits == n)
			return true;
		ctl_redis_poll(r, WR_US_PER_MS);
	}
	return false;
}

/* A server seeded with the 100 users, a client with a cache of 1024, and
 * users[0..@warm) held in it. */
static struct ctl_redis *cache_fixture(struct srv *s, struct wr_counters *cnt, struct got *g,
				       uint32_t warm)
{
	CU_ASSERT_EQUAL_FATAL(srv_start(s), 0);
	seed100(s);
	struct ctl_redis *r = cached_client(s, cnt, 1024);
	CU_ASSERT_FATAL(cache_warm(r, cnt, g, warm));
	return r;
}

/* A lookup of users the cache holds is answered at once, complete, with
 * the stored values, and no HMGET reaches the server. */
static void test_cache_answers_without_round_trip(void)
{
	struct srv s;
	struct wr_counters cnt = { 0 };
	static struct got g;
	struct ctl_redis *r = cache_fixture(&s, &cnt, &g, 32);
	long long h0 = hmget_calls(&s);
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 32, F5, 5, on_done, &g) > 0);
	CU_ASSERT_EQUAL(g.calls, 1);                /* before lookup returned */
	CU_ASSERT_TRUE(g.complete);
	for (unsigned u = 0; u < 32; u++)
		for (unsigned f = 0; f < 5; f++)
			CU_ASSERT_EQUAL(g.vals[u * 5 + f], seed_value(u, f));
	CU_ASSERT_EQUAL(hmget_calls(&s), h0);
	/* users not held yet: only they go to Redis, and come back exact */
	CU_ASSERT_TRUE(lookup_wait(r, &g, 40));
	CU_ASSERT_EQUAL(hmget_calls(&s), h0 + 8);
	CU_ASSERT_EQUAL(g.vals[39 * 5 + 4], seed_value(39, 4));
	CU_ASSERT_EQUAL(g.vals[3 * 5 + 1], seed_value(3, 1));
	/* a missing user is held as missing (NaN) too */
	const char *ghost[1] = { "nobody" };
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, ghost, 1, F5, 5, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT(isnan(g.vals[0]));
	/* lookups of other fields bypass the cache */
	long long h1 = hmget_calls(&s);
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 2, F5 + 1, 4, on_done, &g) > 0);
	CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
	CU_ASSERT_EQUAL(g.vals[1 * 4 + 0], seed_value(1, 1));
	CU_ASSERT_EQUAL(hmget_calls(&s), h1 + 2);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* Another client changes a user: Redis invalidates the entry and the next
 * lookup reads the new value; our own write-backs (NOLOOP) do not. */
static void test_cache_invalidated_by_other_clients_not_by_own_writes(void)
{
	struct srv s;
	struct wr_counters cnt = { 0 };
	static struct got g;
	struct ctl_redis *r = cache_fixture(&s, &cnt, &g, 4);

	redis_cmd(&s, "HSET user:u2 country_risk 77.5");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_invalidations) >= 1));
	CU_ASSERT_TRUE(lookup_wait(r, &g, 4));
	CU_ASSERT_EQUAL(g.vals[2 * 5 + 2], 77.5);
	CU_ASSERT_EQUAL(g.vals[1 * 5 + 2], seed_value(1, 2));
	/* and it is held again */
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 4));
	CU_ASSERT_EQUAL(g.vals[2 * 5 + 2], 77.5);

	/* a deleted user becomes missing */
	redis_cmd(&s, "DEL user:u3");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_invalidations) >= 2));
	CU_ASSERT_TRUE(lookup_wait(r, &g, 4));
	CU_ASSERT(isnan(g.vals[3 * 5]));

	/* a write-back of other fields by this client keeps the entries */
	uint64_t inv = CNT(cnt, redis_cache_invalidations);
	const char *wf[1] = { "txn_count_24h" };
	const double wv[1] = { 9 };
	CU_ASSERT_EQUAL(ctl_redis_write(r, "u1", wf, wv, 1), 0);
	ctl_redis_flush(r);
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_writes) == 1));
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 4));
	CU_ASSERT_EQUAL(CNT(cnt, redis_cache_invalidations), inv);
	/* ... and a later change by another client is still reported (Redis
	 * forgets a key it tracks per client once it is written, even by the
	 * NOLOOP client itself: broadcast tracking has no such table) */
	redis_cmd(&s, "HSET user:u1 avg_ticket 123.5");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_invalidations) > inv));
	CU_ASSERT_TRUE(lookup_wait(r, &g, 4));
	CU_ASSERT_EQUAL(g.vals[1 * 5 + 3], 123.5);

	/* FLUSHALL: everything goes */
	redis_cmd(&s, "FLUSHALL");
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_in_flight(r) == 0 &&
			     CNT(cnt, redis_cache_flushes) >= 1));
	CU_ASSERT_TRUE(lookup_wait(r, &g, 4));
	CU_ASSERT(isnan(g.vals[0]) && isnan(g.vals[1 * 5 + 2]));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* Either connection lost: nothing is served from the cache until tracking
 * is set up again; a dead server answers incomplete at once, as without a
 * cache. */
static void test_cache_dropped_with_either_connection(void)
{
	struct srv s;
	struct wr_counters cnt = { 0 };
	static struct got g;
	struct ctl_redis *r = cache_fixture(&s, &cnt, &g, 8);

	/* the invalidation listener is killed: the cache is flushed, the next
	 * lookup goes to Redis, and once the listener is back, caching resumes */
	uint64_t fl = CNT(cnt, redis_cache_flushes), errs = CNT(cnt, redis_errors);
	redis_cmd(&s, "CLIENT KILL TYPE pubsub");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_flushes) > fl));
	CU_ASSERT(CNT(cnt, redis_errors) > errs);   /* the lost listener is counted */
	long long h0 = hmget_calls(&s);
	CU_ASSERT_TRUE(lookup_wait(r, &g, 8));
	CU_ASSERT_EQUAL(hmget_calls(&s), h0 + 8);
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 8));
	/* a change made while the listener was away is seen */
	redis_cmd(&s, "CLIENT KILL TYPE pubsub");
	redis_cmd(&s, "HSET user:u5 avg_ticket 3.5");
	CU_ASSERT_TRUE(lookup_wait(r, &g, 8));
	CU_ASSERT_EQUAL(g.vals[5 * 5 + 3], 3.5);
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 8));
	CU_ASSERT_EQUAL(g.vals[5 * 5 + 3], 3.5);

	/* the lookup connection is killed (it is a normal client) */
	fl = CNT(cnt, redis_cache_flushes);
	redis_cmd(&s, "CLIENT KILL TYPE normal SKIPME yes");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_flushes) > fl));
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 8));

	/* the server is gone: incomplete at once, nothing from the cache */
	srv_kill(&s);
	CU_ASSERT(POLL_UNTIL(r, !ctl_redis_connected(r)));
	memset(&g, 0, sizeof(g));
	CU_ASSERT(ctl_redis_lookup(r, users, 8, F5, 5, on_done, &g) > 0);
	CU_ASSERT_EQUAL(g.calls, 1);
	CU_ASSERT_FALSE(g.complete);
	CU_ASSERT(isnan(g.vals[0]));

	/* back (empty: no persistence), seeded anew: the cache serves again,
	 * with the new server's values */
	CU_ASSERT_EQUAL_FATAL(srv_spawn(&s), 0);
	seed100(&s);
	redis_cmd(&s, "HSET user:u0 amount_sum_1h 0.5");
	CU_ASSERT(POLL_UNTIL(r, ctl_redis_connected(r)));
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 8));
	CU_ASSERT_EQUAL(g.vals[0], 0.5);
	CU_ASSERT_EQUAL(g.vals[7 * 5 + 4], seed_value(7, 4));
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* Users whose id is longer than an entry holds are looked up every time. */
static void test_cache_skips_long_user_ids(void)
{
	struct srv s;
	struct wr_counters cnt = { 0 };
	static struct got g;
	struct ctl_redis *r = cache_fixture(&s, &cnt, &g, 2);
	char longid[64];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "HSET user:%s %s 2.5", longid, F5[0]);
	redis_cmd(&s, cmd);
	const char *u[2] = { longid, users[1] };
	long long h0 = hmget_calls(&s);
	for (int i = 0; i < 3; i++) {
		memset(&g, 0, sizeof(g));
		CU_ASSERT(ctl_redis_lookup(r, u, 2, F5, 5, on_done, &g) > 0);
		CU_ASSERT(POLL_UNTIL(r, g.calls > 0));
		CU_ASSERT_TRUE(g.complete);
		CU_ASSERT_EQUAL(g.vals[0], 2.5);
		CU_ASSERT_EQUAL(g.vals[5 + 1], seed_value(1, 1));
	}
	CU_ASSERT_EQUAL(hmget_calls(&s), h0 + 3);   /* the long one each time, u1 never */
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/* ctl_rcache_peek() from another thread (the workers' reads): held
 * values, then, once Redis invalidated a user, not that user. */
struct peek_arg {
	const struct ctl_rcache *c;
	const char *user;
	bool found;
	double vals[5];
};

static void *peek_thread(void *p)
{
	struct peek_arg *a = p;
	a->found = ctl_rcache_peek(a->c, a->user, strlen(a->user), a->vals);
	return NULL;
}

static bool peek_elsewhere(struct peek_arg *a)
{
	pthread_t t;
	if (pthread_create(&t, NULL, peek_thread, a) != 0)
		return false;
	pthread_join(t, NULL);
	return a->found;
}

static void test_cache_peek_from_another_thread(void)
{
	struct srv s;
	struct wr_counters cnt = { 0 };
	static struct got g;
	struct ctl_redis *r = cache_fixture(&s, &cnt, &g, 4);
	CU_ASSERT_EQUAL(ctl_redis_cache_state(r, NULL), 1);
	struct peek_arg a = { .c = ctl_redis_cache(r), .user = "u2" };
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.c);
	CU_ASSERT_TRUE(peek_elsewhere(&a));
	for (unsigned f = 0; f < 5; f++)
		CU_ASSERT_EQUAL(a.vals[f], seed_value(2, f));
	a.user = "u7";                                  /* never looked up */
	CU_ASSERT_FALSE(peek_elsewhere(&a));
	uint64_t hits = CNT(cnt, redis_cache_hits);
	redis_cmd(&s, "HSET user:u2 country_risk 77.5");
	CU_ASSERT(POLL_UNTIL(r, CNT(cnt, redis_cache_invalidations) >= 1));
	a.user = "u2";
	CU_ASSERT_FALSE(peek_elsewhere(&a));
	CU_ASSERT_EQUAL(CNT(cnt, redis_cache_hits), hits);   /* peeks count nothing */
	CU_ASSERT_FATAL(cache_warm(r, &cnt, &g, 4));
	CU_ASSERT_TRUE(peek_elsewhere(&a));
	CU_ASSERT_EQUAL(a.vals[2], 77.5);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

/*
 * The seqlock: one thread (the owner) keeps refilling, evicting and
 * flushing six users in one 4-way bucket, every value of a fill equal to
 * user * 1e6 + round; another peeks as fast as it can. A peek either fails
 * or returns one fill of its own user, never a mix of two fills or another
 * user's values.
 */
struct torn_arg {
	const struct ctl_rcache *c;
	volatile int stop;
	uint64_t peeks, hits, torn, foreign;
};

static const char *const torn_users[6] = { "ua", "ub", "uc", "ud", "ue", "uf" };

static void *torn_reader(void *p)
{
	struct torn_arg *a = p;
	double v[RCACHE_FIELDS_MAX];
	while (!a->stop) {
		unsigned u = (unsigned)(a->peeks % 6);
		a->peeks++;
		if (!ctl_rcache_peek(a->c, torn_users[u], 2, v))
			continue;
		a->hits++;
		for (unsigned f = 1; f < RCACHE_FIELDS_MAX; f++)
			a->torn += v[f] != v[0];
		a->foreign += (unsigned)(v[0] / 1e6) != u;
	}
	return NULL;
}

static void test_rcache_peek_never_mixes_fills(void)
{
	struct ctl_rcache_opts o = { .host = "127.0.0.1", .port = 1, .key_prefix = "user:",
				     .entries = 4, .n_fields = RCACHE_FIELDS_MAX };
	struct ctl_rcache *c = NULL;
	char err[128];
	CU_ASSERT_EQUAL_FATAL(ctl_rcache_create(&o, NULL, &c, err, sizeof(err)), 0);
	struct torn_arg a = { .c = c };
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, torn_reader, &a), 0);
	double v[RCACHE_FIELDS_MAX];
	int64_t end = wr_mono_us() + 300 * WR_US_PER_MS;
	uint64_t round = 0;
	while (wr_mono_us() < end || a.hits < 1000) {
		round++;
		unsigned u = (unsigned)(round % 6);
		uint64_t gen = ctl_rcache_pending(c, torn_users[u], 2);
		for (unsigned f = 0; f < RCACHE_FIELDS_MAX; f++)
			v[f] = u * 1e6 + (double)(round % 100000);
		ctl_rcache_fill(c, torn_users[u], 2, gen, v);
		if (round % 5000 == 0)
			ctl_rcache_flush(c);
		if (wr_mono_us() > end + 10 * WR_US_PER_SEC)
			break;
	}
	a.stop = 1;
	pthread_join(t, NULL);
	printf("\n    %llu fills, %llu peeks, %llu hits", (unsigned long long)round,
	       (unsigned long long)a.peeks, (unsigned long long)a.hits);
	CU_ASSERT(a.hits >= 1000);
	CU_ASSERT_EQUAL(a.torn, 0);
	CU_ASSERT_EQUAL(a.foreign, 0);
	ctl_rcache_destroy(c);
}

static void test_burst_of_32_round_trip_time(void)
{
	struct srv s;
	CU_ASSERT_EQUAL_FATAL(srv_start(&s), 0);
	seed100(&s);
	struct wr_counters cnt = { 0 };
	struct ctl_redis *r = client(&s, &cnt, WR_US_PER_SEC);
	enum { ROUNDS = 300 };
	static int64_t rtt[ROUNDS];
	static struct got g;
	unsigned ok = 0;
	for (int i = 0; i < ROUNDS; i++) {
		memset(&g, 0, sizeof(g));
		int64_t t0 = wr_mono_us();
		ctl_redis_lookup(r, users + (i % 68), 32, F5, 5, on_done, &g);
		while (!g.calls)
			ctl_redis_poll(r, 10 * WR_US_PER_MS);
		rtt[i] = g.at_us - t0;
		ok += g.complete && g.vals[31 * 5 + 4] == seed_value(i % 68 + 31, 4);
	}
	CU_ASSERT_EQUAL(ok, ROUNDS);
	qsort(rtt, ROUNDS, sizeof(rtt[0]), cmp_i64);
	printf("\n    burst of 32 lookups x 5 fields, %d rounds: min %lld us, median %lld us, "
	       "p99 %lld us, max %lld us\n", ROUNDS, (long long)rtt[0],
	       (long long)rtt[ROUNDS / 2], (long long)rtt[ROUNDS * 99 / 100],
	       (long long)rtt[ROUNDS - 1]);
	ctl_redis_destroy(r);
	srv_stop(&s);
}

static int reg(void)
{
	/* A server reset mid-write must be an error return, not a signal (as in main). */
	signal(SIGPIPE, SIG_IGN);
	WR_SUITE("redis",
		 WR_TEST(test_create_rejects_bad_options_naming_them),
		 WR_TEST(test_lookup_100_users_5_fields_one_burst_exact),
		 WR_TEST(test_missing_user_field_and_non_numbers_are_nan),
		 WR_TEST(test_paused_server_answers_at_deadline_then_late_replies_discarded),
		 WR_TEST(test_killed_server_answers_at_once_then_restart_reconnects),
		 WR_TEST(test_lookup_in_flight_when_server_dies_answers_incomplete),
		 WR_TEST(test_stalled_connection_dropped_and_reconnected),
		 WR_TEST(test_write_back_visible_to_blocking_client),
		 WR_TEST(test_write_back_text_is_short_and_exact),
		 WR_TEST(test_write_back_held_then_sent_with_next_lookup),
		 WR_TEST(test_unix_socket_lookup),
		 WR_TEST(test_lookup_from_callback_and_destroy_answers_pending),
		 WR_TEST(test_cache_answers_without_round_trip),
		 WR_TEST(test_cache_invalidated_by_other_clients_not_by_own_writes),
		 WR_TEST(test_cache_dropped_with_either_connection),
		 WR_TEST(test_cache_skips_long_user_ids),
		 WR_TEST(test_cache_peek_from_another_thread),
		 WR_TEST(test_rcache_peek_never_mixes_fills),
		 WR_TEST(test_burst_of_32_round_trip_time));
	return 0;
}

WR_TEST_MAIN(reg)
