/*
 * test_slack.c - the Slack webhook client against a scripted local receiver.
 *
 * The receiver is libmicrohttpd on 127.0.0.1 (port chosen by the kernel),
 * one thread per connection so a "hang" step can block its handler until the
 * test releases it. Each request takes the next step of the script (then 200
 * forever) and is recorded: body, path, Content-Type, arrival time.
 * These tests use real time for the client's own timers (Retry-After, request
 * timeout); they assert what happened, and lower bounds only where the
 * behaviour is a wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "wr_common.h"
#include "wr_counters.h"
#include "ctl_slack.h"
#include "wr_test.h"

#define RCV_MAX 32
#define SECRET_PATH "/services/T000/B000/SECRETTOKEN"

enum rcv_step { STEP_200, STEP_429, STEP_500, STEP_400, STEP_HANG };

struct rcv {
	struct MHD_Daemon *d;
	uint16_t port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum rcv_step script[RCV_MAX];
	unsigned n_script;
	bool release;                /* lets hanging handlers return */
	unsigned n_req;
	char *body[RCV_MAX];
	char path[RCV_MAX][64];
	char ctype[RCV_MAX][64];
	char method[RCV_MAX][8];
	int64_t t_us[RCV_MAX];
};

struct rcv_req {
	int64_t t0;
	char *buf;
	size_t len;
};

static void rcv_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe)
{
	(void)cls; (void)c; (void)toe;
	struct rcv_req *q = *req_cls;
	if (q) {
		free(q->buf);
		free(q);
	}
	*req_cls = NULL;
}

static enum MHD_Result rcv_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version,
				   const char *upload, size_t *upload_size, void **req_cls)
{
	(void)version;
	struct rcv *r = cls;
	struct rcv_req *q = *req_cls;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->t0 = wr_mono_us();
		*req_cls = q;
		return MHD_YES;
	}
	if (*upload_size) {
		char *nb = realloc(q->buf, q->len + *upload_size + 1);
		if (!nb)
			return MHD_NO;
		q->buf = nb;
		memcpy(q->buf + q->len, upload, *upload_size);
		q->len += *upload_size;
		q->buf[q->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}

	pthread_mutex_lock(&r->mu);
	unsigned i = r->n_req;
	enum rcv_step step = i < r->n_script ? r->script[i] : STEP_200;
	if (i < RCV_MAX) {
		r->n_req++;
		r->body[i] = strdup(q->buf ? q->buf : "");
		r->t_us[i] = q->t0;
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		snprintf(r->ctype[i], sizeof(r->ctype[i]), "%s", ct ? ct : "");
		snprintf(r->path[i], sizeof(r->path[i]), "%s", url);
		snprintf(r->method[i], sizeof(r->method[i]), "%s", method);
	}
	while (step == STEP_HANG && !r->release)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);

	static const struct { unsigned code; const char *body; } resp[] = {
		[STEP_200] = { 200, "ok" },
		[STEP_429] = { 429, "rate_limited" },
		[STEP_500] = { 500, "server_error" },
		[STEP_400] = { 400, "invalid_payload" },
		[STEP_HANG] = { 200, "ok" },
	};
	struct MHD_Response *rs = MHD_create_response_from_buffer(
		strlen(resp[step].body), (void *)resp[step].body, MHD_RESPMEM_PERSISTENT);
	if (!rs)
		return MHD_NO;
	if (step == STEP_429)
		MHD_add_response_header(rs, "Retry-After", "1");
	enum MHD_Result ret = MHD_queue_response(c, resp[step].code, rs);
	MHD_destroy_response(rs);
	return ret;
}

/* Start a receiver answering per @script (then 200). */
static struct rcv *rcv_start(const enum rcv_step *script, unsigned n)
{
	struct rcv *r = calloc(1, sizeof(*r));
	CU_ASSERT_FATAL(r != NULL);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (n)
		memcpy(r->script, script, n * sizeof(*script));
	r->n_script = n;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, rcv_handler, r,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_NOTIFY_COMPLETED, rcv_completed, r,
				MHD_OPTION_END);
	CU_ASSERT_FATAL(r->d != NULL);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	CU_ASSERT_FATAL(di != NULL && di->port != 0);
	r->port = di->port;
	return r;
}

static unsigned rcv_count(struct rcv *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned n = r->n_req;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void rcv_stop(struct rcv *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->release = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->d)
		MHD_stop_daemon(r->d);
	for (unsigned i = 0; i < RCV_MAX; i++)
		free(r->body[i]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void url_for(const struct rcv *r, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u" SECRET_PATH, r->port);
}

/* Options with short backoffs so retries cost milliseconds. */
static struct ctl_slack_opts fast_opts(const char *url)
{
	return (struct ctl_slack_opts){
		.webhook_url = url,
		.timeout_us = 2 * WR_US_PER_SEC,
		.max_retries = 3,
		.backoff_base_us = 10 * WR_US_PER_MS,
		.backoff_max_us = 100 * WR_US_PER_MS,
	};
}

static struct ctl_slack *client(const struct ctl_slack_opts *o, struct wr_counters *cnt)
{
	struct ctl_slack *s = NULL;
	char err[256] = "";
	int rc = ctl_slack_create(o, cnt, &s, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/*
 * A receiver playing @script, and client options pointing at it
 * (fast_opts). fix_client() makes the client, so that a test can change
 * the options first.
 */
struct fix {
	struct rcv *r;
	char url[128];
	struct ctl_slack_opts o;
	struct wr_counters cnt;
	struct ctl_slack *s;
};

static void fix_start(struct fix *f, const enum rcv_step *script, unsigned n)
{
	memset(f, 0, sizeof(*f));
	f->r = rcv_start(script, n);
	url_for(f->r, f->url, sizeof(f->url));
	f->o = fast_opts(f->url);
}

static void fix_client(struct fix *f)
{
	f->s = client(&f->o, &f->cnt);
}

/* Poll until nothing is pending or @limit_us passed. */
static void drive(struct ctl_slack *s, int64_t limit_us)
{
	int64_t end = wr_mono_us() + limit_us;
	while (ctl_slack_pending(s) && wr_mono_us() < end)
		ctl_slack_poll(s, 50 * WR_US_PER_MS);
}

#define CNT(c, name) ((c).v[WR_CNT_##name])

static void test_200_delivered_once_with_exact_body(void)
{
	static const enum rcv_step sc[] = { STEP_200 };
	struct fix f;
	fix_start(&f, sc, 1);
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;
	const char *body = "{\"text\":\"disk \\\"sda\\\" full on web-1 \\u00e9\"}";

	CU_ASSERT_EQUAL(ctl_slack_post(s, body), 0);
	CU_ASSERT_EQUAL(ctl_slack_pending(s), 1);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 0);
	CU_ASSERT_EQUAL(rcv_count(r), 1);
	CU_ASSERT_STRING_EQUAL(r->body[0], body);
	CU_ASSERT_STRING_EQUAL(r->method[0], "POST");
	CU_ASSERT_STRING_EQUAL(r->path[0], SECRET_PATH);
	CU_ASSERT_STRING_EQUAL(r->ctype[0], "application/json");
	ctl_slack_destroy(s);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 0);
	rcv_stop(r);
}

static void test_429_waits_retry_after_then_delivers(void)
{
	static const enum rcv_step sc[] = { STEP_429, STEP_200 };
	struct fix f;
	fix_start(&f, sc, 2);
	f.o.backoff_max_us = 5 * WR_US_PER_SEC;    /* must not cap Retry-After: 1 */
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"a\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 0);
	CU_ASSERT_EQUAL_FATAL(rcv_count(r), 2);
	CU_ASSERT_STRING_EQUAL(r->body[0], "{\"text\":\"a\"}");
	CU_ASSERT_STRING_EQUAL(r->body[1], "{\"text\":\"a\"}");
	CU_ASSERT(r->t_us[1] - r->t_us[0] >= WR_US_PER_SEC);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_500_twice_then_200_delivers_with_two_retries(void)
{
	static const enum rcv_step sc[] = { STEP_500, STEP_500, STEP_200 };
	struct fix f;
	fix_start(&f, sc, 3);
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"b\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 2);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 0);
	CU_ASSERT_EQUAL_FATAL(rcv_count(r), 3);
	CU_ASSERT_STRING_EQUAL(r->body[2], "{\"text\":\"b\"}");
	/* Backoff: 10 ms before the first retry, 20 ms before the second. */
	CU_ASSERT(r->t_us[1] - r->t_us[0] >= 10 * WR_US_PER_MS);
	CU_ASSERT(r->t_us[2] - r->t_us[1] >= 20 * WR_US_PER_MS);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_400_is_permanent_and_not_retried(void)
{
	static const enum rcv_step sc[] = { STEP_400, STEP_200 };
	struct fix f;
	fix_start(&f, sc, 2);
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"c\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);
	/* Give a wrongly scheduled retry the chance to show up. */
	for (int i = 0; i < 5; i++)
		ctl_slack_poll(s, 40 * WR_US_PER_MS);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 0);
	CU_ASSERT_EQUAL(rcv_count(r), 1);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_always_500_gives_up_after_max_retries(void)
{
	enum rcv_step sc[RCV_MAX];
	for (unsigned i = 0; i < RCV_MAX; i++)
		sc[i] = STEP_500;
	struct fix f;
	fix_start(&f, sc, RCV_MAX);    /* max_retries 3 */
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"d\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(rcv_count(r), 4);            /* 1 + max_retries */
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 3);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 0);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_hang_times_out_then_delivers_on_retry(void)
{
	static const enum rcv_step sc[] = { STEP_HANG, STEP_200 };
	struct fix f;
	fix_start(&f, sc, 2);
	f.o.timeout_us = 300 * WR_US_PER_MS;
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"e\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 0);
	CU_ASSERT_EQUAL_FATAL(rcv_count(r), 2);
	CU_ASSERT_STRING_EQUAL(r->body[1], "{\"text\":\"e\"}");
	CU_ASSERT(r->t_us[1] - r->t_us[0] >= 300 * WR_US_PER_MS);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_connection_refused_retried_then_failed(void)
{
	/* A port that was just ours and is now closed. */
	struct fix f;
	fix_start(&f, NULL, 0);
	MHD_stop_daemon(f.r->d);
	f.r->d = NULL;
	f.o.max_retries = 2;
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"text\":\"f\"}"), 0);
	drive(s, 10 * WR_US_PER_SEC);

	CU_ASSERT_EQUAL(ctl_slack_pending(s), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 2);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 1);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 0);
	ctl_slack_destroy(s);
	rcv_stop(r);
}

static void test_queue_full_returns_enobufs_and_counts(void)
{
	struct fix f;
	fix_start(&f, NULL, 0);
	f.o.queue_len = 2;
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":1}"), 0);
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":2}"), 0);
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":3}"), -ENOBUFS);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_queue_full), 1);
	CU_ASSERT_EQUAL(ctl_slack_pending(s), 2);
	drive(s, 10 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_posted), 2);
	CU_ASSERT_EQUAL_FATAL(rcv_count(r), 2);
	/* Order is kept with several transfers in flight only per retry;
	 * both bodies must have arrived, in either order. */
	CU_ASSERT(!strcmp(r->body[0], "{\"n\":1}") || !strcmp(r->body[1], "{\"n\":1}"));
	CU_ASSERT(!strcmp(r->body[0], "{\"n\":2}") || !strcmp(r->body[1], "{\"n\":2}"));
	/* Room again once delivered. */
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":4}"), 0);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_queue_full), 1);
	ctl_slack_destroy(s);
	/* Undelivered at destroy counts as failed. */
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 1);
	rcv_stop(r);
}

static void test_poll_returns_within_max_wait_while_request_hangs(void)
{
	static const enum rcv_step sc[] = { STEP_HANG };
	struct fix f;
	fix_start(&f, sc, 1);
	f.o.timeout_us = 30 * WR_US_PER_SEC;
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;

	CU_ASSERT_EQUAL(ctl_slack_post(s, "{}"), 0);
	int64_t end = wr_mono_us() + 5 * WR_US_PER_SEC;
	while (rcv_count(r) == 0 && wr_mono_us() < end)
		ctl_slack_poll(s, 10 * WR_US_PER_MS);
	CU_ASSERT_EQUAL_FATAL(rcv_count(r), 1);
	/* The request is stuck for 30 s; a 20 ms poll must come back long
	 * before that (the bound is loose on purpose: it checks that poll
	 * does not wait for the transfer, not how fast we are). */
	int64_t t0 = wr_mono_us();
	ctl_slack_poll(s, 20 * WR_US_PER_MS);
	CU_ASSERT(wr_mono_us() - t0 < WR_US_PER_SEC);
	CU_ASSERT_EQUAL(ctl_slack_pending(s), 1);
	ctl_slack_destroy(s);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 1);
	rcv_stop(r);
}

static void test_create_rejects_missing_or_bad_url(void)
{
	struct ctl_slack *s = (struct ctl_slack *)1;
	char err[256] = "";
	struct ctl_slack_opts o = { 0 };
	CU_ASSERT_EQUAL(ctl_slack_create(&o, NULL, &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(strstr(err, "slack webhook") != NULL);
	o.webhook_url = "ftp://example.com" SECRET_PATH;
	CU_ASSERT_EQUAL(ctl_slack_create(&o, NULL, &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "SECRETTOKEN") == NULL);
	o.webhook_url = "not a url SECRETTOKEN";
	CU_ASSERT_EQUAL(ctl_slack_create(&o, NULL, &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "SECRETTOKEN") == NULL);
	ctl_slack_destroy(NULL);
}

static void test_url_never_appears_in_logs(void)
{
	char path[] = "/tmp/test_slack_stderr_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	CU_ASSERT_FATAL(saved >= 0);
	dup2(fd, 2);

	/* Every path that logs: 4xx, 5xx retries and give-up, timeout,
	 * queue full, undelivered at shutdown. */
	static const enum rcv_step sc[] = { STEP_400, STEP_500, STEP_500, STEP_500, STEP_500,
					    STEP_HANG };
	struct fix f;
	fix_start(&f, sc, WR_ARRAY_SIZE(sc));
	f.o.max_inflight = 1;
	f.o.queue_len = 3;
	f.o.timeout_us = 200 * WR_US_PER_MS;
	fix_client(&f);
	struct rcv *r = f.r;
	struct ctl_slack *s = f.s;
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":1}"), 0);
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":2}"), 0);
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":3}"), 0);
	CU_ASSERT_EQUAL(ctl_slack_post(s, "{\"n\":4}"), -ENOBUFS);
	/* Until the hang's timeout has been seen, then shut down with one left. */
	int64_t end = wr_mono_us() + 10 * WR_US_PER_SEC;
	while (CNT(f.cnt, slack_retries) < 4 && wr_mono_us() < end)
		ctl_slack_poll(s, 50 * WR_US_PER_MS);
	ctl_slack_destroy(s);
	char hostport[32];
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", r->port);
	rcv_stop(r);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	char log[16384];
	ssize_t n = pread(fd, log, sizeof(log) - 1, 0);
	close(fd);
	unlink(path);
	CU_ASSERT_FATAL(n > 0);
	log[n] = '\0';
	/* the 400, then 500 x4, then the timed-out one left at shutdown */
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_failed), 3);
	CU_ASSERT_EQUAL(CNT(f.cnt, slack_retries), 4); /* 500 x3, the timeout */
	CU_ASSERT(strstr(log, "slack webhook") != NULL);
	CU_ASSERT(strstr(log, "HTTP 400") != NULL);
	CU_ASSERT(strstr(log, "queue full") != NULL);
	CU_ASSERT(strstr(log, "undelivered") != NULL);
	CU_ASSERT(strstr(log, "SECRETTOKEN") == NULL);
	CU_ASSERT(strstr(log, "/services/") == NULL);
	CU_ASSERT(strstr(log, hostport) == NULL);
	CU_ASSERT(strstr(log, "http://") == NULL);
}

static int reg(void)
{
	/* The receiver is local; a proxy from the environment would hide it. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	WR_SUITE("ctl_slack",
		 WR_TEST(test_200_delivered_once_with_exact_body),
		 WR_TEST(test_429_waits_retry_after_then_delivers),
		 WR_TEST(test_500_twice_then_200_delivers_with_two_retries),
		 WR_TEST(test_400_is_permanent_and_not_retried),
		 WR_TEST(test_always_500_gives_up_after_max_retries),
		 WR_TEST(test_hang_times_out_then_delivers_on_retry),
		 WR_TEST(test_connection_refused_retried_then_failed),
		 WR_TEST(test_queue_full_returns_enobufs_and_counts),
		 WR_TEST(test_poll_returns_within_max_wait_while_request_hangs),
		 WR_TEST(test_create_rejects_missing_or_bad_url),
		 WR_TEST(test_url_never_appears_in_logs));
	return 0;
}

WR_TEST_MAIN(reg)
