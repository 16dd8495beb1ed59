/*
 * ctl_slack.c - Slack incoming-webhook client on libcurl's multi interface.
 *
 * Layout: every accepted message lives in exactly one of two places, a
 * bounded deque of waiting messages or one of max_inflight transfer slots
 * (each with its own reusable easy handle). queue_len bounds the sum of both,
 * so memory is fixed by the options whatever the webhook does.
 *
 * Retry timing is per client, not per message: a 429's Retry-After speaks
 * for the webhook as a whole, and a 5xx or a timeout usually means the far
 * end is unwell for everyone. So a failed message goes back to the head of
 * the deque (order is kept) and no new request starts before resume_us.
 * Messages already in flight are left to finish.
 *
 * The webhook URL is a secret (it is the credential). It goes to libcurl
 * only; log lines use curl_easy_strerror() (which names no host) and call
 * the client "slack webhook".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "wr_common.h"
#include "ctl_slack.h"

#define SLACK_LOG_MOD "slack"

#define SLACK_DEF_QUEUE_LEN     1024u
#define SLACK_DEF_MAX_INFLIGHT  4u
#define SLACK_DEF_TIMEOUT_US    (5 * WR_US_PER_SEC)
#define SLACK_DEF_MAX_RETRIES   5u
#define SLACK_DEF_BACKOFF_BASE  (500 * WR_US_PER_MS)
#define SLACK_DEF_BACKOFF_MAX   (60 * WR_US_PER_SEC)
/* A 429 without a usable Retry-After waits this long (Slack's documented pace). */
#define SLACK_DEF_RETRY_AFTER   WR_US_PER_SEC

/* " (N similar suppressed)" when the rate limit held lines back, else "". */
static const char *slack_supp_note(char *buf, size_t len, uint32_t supp)
{
	if (!supp)
		return "";
	snprintf(buf, len, " (%u similar suppressed)", supp);
	return buf;
}

struct slack_msg {
	uint32_t failures;           /* failed attempts so far */
	size_t len;
	char body[];                 /* NUL-terminated copy of the payload */
};

struct slack_xfer {
	CURL *easy;
	struct slack_msg *msg;       /* NULL when the slot is idle */
};

struct ctl_slack {
	struct ctl_slack_opts o;     /* defaults applied; webhook_url not kept here */
	char *url;
	struct wr_counters *cnt;
	struct wr_counters own_cnt;  /* used when the caller passes no counters */
	CURLM *multi;
	struct curl_slist *hdrs;

	struct slack_msg **q;        /* deque of waiting messages, capacity queue_len */
	uint32_t q_head, q_count;
	struct slack_xfer *xfers;    /* max_inflight slots */
	uint32_t n_inflight;
	int64_t resume_us;           /* no new request starts before this (mono) */

	struct wr_ratelimit rl_retry, rl_fail, rl_full;
};

static void slack_q_push_back(struct ctl_slack *s, struct slack_msg *m)
{
	s->q[(s->q_head + s->q_count) % s->o.queue_len] = m;
	s->q_count++;
}

static void slack_q_push_front(struct ctl_slack *s, struct slack_msg *m)
{
	s->q_head = (s->q_head + s->o.queue_len - 1) % s->o.queue_len;
	s->q[s->q_head] = m;
	s->q_count++;
}

static struct slack_msg *slack_q_pop_front(struct ctl_slack *s)
{
	struct slack_msg *m = s->q[s->q_head];
	s->q_head = (s->q_head + 1) % s->o.queue_len;
	s->q_count--;
	return m;
}

/* Slack's reply body ("ok", "invalid_payload") is of no use to us; without a
 * write callback libcurl would print it to stdout. */
static size_t slack_discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static int slack_xfer_setup(struct ctl_slack *s, struct slack_xfer *x, char *err, size_t errlen)
{
	x->easy = curl_easy_init();
	if (!x->easy) {
		snprintf(err, errlen, "slack webhook: curl_easy_init failed");
		return -ENOMEM;
	}
	CURL *e = x->easy;
	long tmo_ms = (long)((s->o.timeout_us + 999) / 1000);
	CURLcode rc = CURLE_OK;
#define SLACK_SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SLACK_SETOPT(CURLOPT_URL, s->url);
	SLACK_SETOPT(CURLOPT_POST, 1L);
	SLACK_SETOPT(CURLOPT_HTTPHEADER, s->hdrs);
	SLACK_SETOPT(CURLOPT_TIMEOUT_MS, tmo_ms);
	SLACK_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, tmo_ms);
	/* Signals are not ours to take in a DPDK process (and ALRM-based DNS
	 * timeouts are not thread-safe). */
	SLACK_SETOPT(CURLOPT_NOSIGNAL, 1L);
	SLACK_SETOPT(CURLOPT_WRITEFUNCTION, slack_discard);
	SLACK_SETOPT(CURLOPT_PRIVATE, (void *)x);
	/* A redirect from a webhook is a misconfiguration; following it could
	 * send the payload elsewhere. 3xx is reported as a permanent failure. */
	SLACK_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SLACK_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#undef SLACK_SETOPT
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "slack webhook: curl option: %s", curl_easy_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

int ctl_slack_create(const struct ctl_slack_opts *o, struct wr_counters *cnt,
		     struct ctl_slack **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!o || !o->webhook_url || !*o->webhook_url) {
		snprintf(err, errlen, "slack webhook: no URL configured");
		return -EINVAL;
	}
	/* Check the URL here so a typo fails at startup, not on the first alert.
	 * The message names what is wrong, never the URL itself. */
	CURLU *u = curl_url();
	if (!u) {
		snprintf(err, errlen, "slack webhook: out of memory");
		return -ENOMEM;
	}
	char *scheme = NULL;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, o->webhook_url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	bool scheme_ok = uc == CURLUE_OK &&
			 (!strcmp(scheme, "https") || !strcmp(scheme, "http"));
	curl_free(scheme);
	curl_url_cleanup(u);
	if (!scheme_ok) {
		snprintf(err, errlen, "slack webhook: URL is not a valid http(s) URL");
		return -EINVAL;
	}
	if (o->timeout_us < 0 || o->backoff_base_us < 0 || o->backoff_max_us < 0) {
		snprintf(err, errlen, "slack webhook: negative timeout or backoff");
		return -EINVAL;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "slack webhook: curl_global_init failed");
		return -ENOMEM;
	}
	struct ctl_slack *s = calloc(1, sizeof(*s));
	if (!s) {
		curl_global_cleanup();
		snprintf(err, errlen, "slack webhook: out of memory");
		return -ENOMEM;
	}
	s->o = *o;
	s->o.webhook_url = NULL;
	if (!s->o.queue_len)
		s->o.queue_len = SLACK_DEF_QUEUE_LEN;
	if (!s->o.max_inflight)
		s->o.max_inflight = SLACK_DEF_MAX_INFLIGHT;
	if (!s->o.timeout_us)
		s->o.timeout_us = SLACK_DEF_TIMEOUT_US;
	if (!s->o.max_retries)
		s->o.max_retries = SLACK_DEF_MAX_RETRIES;
	if (!s->o.backoff_base_us)
		s->o.backoff_base_us = SLACK_DEF_BACKOFF_BASE;
	if (!s->o.backoff_max_us)
		s->o.backoff_max_us = SLACK_DEF_BACKOFF_MAX;
	if (s->o.backoff_max_us < s->o.backoff_base_us)
		s->o.backoff_max_us = s->o.backoff_base_us;
	/* More transfers than messages could never be used. */
	if (s->o.max_inflight > s->o.queue_len)
		s->o.max_inflight = s->o.queue_len;
	s->cnt = cnt ? cnt : &s->own_cnt;
	s->rl_retry = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);
	s->rl_fail = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);
	s->rl_full = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 1);

	int ret = -ENOMEM;
	s->url = strdup(o->webhook_url);
	s->q = calloc(s->o.queue_len, sizeof(*s->q));
	s->xfers = calloc(s->o.max_inflight, sizeof(*s->xfers));
	s->multi = curl_multi_init();
	s->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (s->hdrs) {
		/* An empty Expect: stops libcurl waiting up to 1 s for a
		 * "100 Continue" before sending larger bodies. */
		struct curl_slist *h = curl_slist_append(s->hdrs, "Expect:");
		if (h)
			s->hdrs = h;
		else
			goto err_nomem;
	}
	if (!s->url || !s->q || !s->xfers || !s->multi || !s->hdrs)
		goto err_nomem;
	for (uint32_t i = 0; i < s->o.max_inflight; i++) {
		ret = slack_xfer_setup(s, &s->xfers[i], err, errlen);
		if (ret)
			goto err;
	}
	*out = s;
	return 0;

err_nomem:
	snprintf(err, errlen, "slack webhook: out of memory");
	ret = -ENOMEM;
err:
	ctl_slack_destroy(s);
	return ret;
}

void ctl_slack_destroy(struct ctl_slack *s)
{
	if (!s)
		return;
	uint32_t dropped = 0;
	if (s->xfers) {
		for (uint32_t i = 0; i < s->o.max_inflight; i++) {
			struct slack_xfer *x = &s->xfers[i];
			if (x->msg) {
				curl_multi_remove_handle(s->multi, x->easy);
				free(x->msg);
				dropped++;
			}
			if (x->easy)
				curl_easy_cleanup(x->easy);
		}
	}
	if (s->q)
		while (s->q_count) {
			free(slack_q_pop_front(s));
			dropped++;
		}
	if (dropped) {
		WR_COUNT_ADD(s->cnt, slack_failed, dropped);
		WR_WARN(SLACK_LOG_MOD, "slack webhook: shutting down with %u undelivered message(s)",
			dropped);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
	curl_slist_free_all(s->hdrs);
	free(s->xfers);
	free(s->q);
	free(s->url);
	free(s);
	curl_global_cleanup();
}

int ctl_slack_post(struct ctl_slack *s, const char *json)
{
	if (!json)
		return -EINVAL;
	if (s->q_count + s->n_inflight >= s->o.queue_len) {
		WR_COUNT(s->cnt, slack_queue_full);
		uint32_t supp;
		char note[48];
		if (wr_ratelimit_pass(&s->rl_full, &supp))
			WR_WARN(SLACK_LOG_MOD, "slack webhook: queue full (%u), message dropped"
				"%s", s->o.queue_len,
				slack_supp_note(note, sizeof(note), supp));
		return -ENOBUFS;
	}
	size_t len = strlen(json);
	struct slack_msg *m = malloc(sizeof(*m) + len + 1);
	if (!m)
		return -ENOMEM;
	m->failures = 0;
	m->len = len;
	memcpy(m->body, json, len + 1);
	slack_q_push_back(s, m);
	return 0;
}

uint32_t ctl_slack_pending(const struct ctl_slack *s)
{
	return s->q_count + s->n_inflight;
}

/* Start waiting messages while slots are free and no retry timer holds us back.
 * Returns how many started. */
static unsigned slack_dispatch(struct ctl_slack *s, int64_t now)
{
	unsigned started = 0;
	if (now < s->resume_us)
		return 0;
	for (uint32_t i = 0; i < s->o.max_inflight && s->q_count; i++) {
		struct slack_xfer *x = &s->xfers[i];
		if (x->msg)
			continue;
		struct slack_msg *m = slack_q_pop_front(s);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, (char *)m->body);
		CURLMcode mc = curl_multi_add_handle(s->multi, x->easy);
		if (mc != CURLM_OK) {
			/* Cannot happen with a handle we own and removed; put the
			 * message back and try again on the next poll. */
			slack_q_push_front(s, m);
			uint32_t supp;
			if (wr_ratelimit_pass(&s->rl_fail, &supp))
				WR_ERR(SLACK_LOG_MOD, "slack webhook: cannot start request: %s",
				       curl_multi_strerror(mc));
			break;
		}
		x->msg = m;
		s->n_inflight++;
		started++;
	}
	return started;
}

/* curl errors that no retry can fix. Everything else (timeouts, refused or
 * reset connections, DNS hiccups, TLS handshakes cut short) is transient. */
static bool slack_curl_permanent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_TOO_MANY_REDIRECTS:
		return true;
	default:
		return false;
	}
}

static void slack_give_up(struct ctl_slack *s, struct slack_msg *m, const char *why)
{
	WR_COUNT(s->cnt, slack_failed);
	uint32_t supp;
	char note[48];
	if (wr_ratelimit_pass(&s->rl_fail, &supp))
		WR_ERR(SLACK_LOG_MOD, "slack webhook: message dropped after %u attempt(s): %s"
		       "%s", m->failures, why, slack_supp_note(note, sizeof(note), supp));
	free(m);
}

/* Put @m back at the head of the queue and hold new requests for @delay_us,
 * or give up when its retries are spent. */
static void slack_retry(struct ctl_slack *s, struct slack_msg *m, int64_t now,
			int64_t delay_us, const char *why)
{
	if (m->failures > s->o.max_retries) {
		slack_give_up(s, m, why);
		return;
	}
	WR_COUNT(s->cnt, slack_retries);
	if (delay_us > s->o.backoff_max_us)
		delay_us = s->o.backoff_max_us;
	if (now + delay_us > s->resume_us)
		s->resume_us = now + delay_us;
	slack_q_push_front(s, m);
	uint32_t supp;
	char note[48];
	if (wr_ratelimit_pass(&s->rl_retry, &supp))
		WR_WARN(SLACK_LOG_MOD, "slack webhook: %s, retry %u/%u in %lld ms"
			"%s", why, m->failures, s->o.max_retries,
			(long long)(delay_us / WR_US_PER_MS),
			slack_supp_note(note, sizeof(note), supp));
}

static int64_t slack_backoff_us(const struct ctl_slack *s, uint32_t failures)
{
	int64_t d = s->o.backoff_base_us;
	for (uint32_t i = 1; i < failures && d < s->o.backoff_max_us; i++)
		d *= 2;
	return d < s->o.backoff_max_us ? d : s->o.backoff_max_us;
}

static void slack_finish(struct ctl_slack *s, struct slack_xfer *x, CURLcode rc, int64_t now)
{
	struct slack_msg *m = x->msg;
	long status = 0;
	char why[96];

	curl_multi_remove_handle(s->multi, x->easy);
	x->msg = NULL;
	s->n_inflight--;

	if (rc != CURLE_OK) {
		m->failures++;
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
		if (slack_curl_permanent(rc))
			slack_give_up(s, m, why);
		else
			slack_retry(s, m, now, slack_backoff_us(s, m->failures), why);
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		WR_COUNT(s->cnt, slack_posted);
		free(m);
		return;
	}
	m->failures++;
	snprintf(why, sizeof(why), "HTTP %ld", status);
	if (status == 429) {
		/* libcurl parses Retry-After in both forms (delta-seconds and
		 * HTTP-date) and reports seconds; 0 means absent or "now", and
		 * hammering a rate limiter is never useful, so both mean 1 s. */
		curl_off_t ra = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra);
		int64_t delay = SLACK_DEF_RETRY_AFTER;
		if (ra > 0)
			delay = ra > INT64_MAX / WR_US_PER_SEC ? INT64_MAX : ra * WR_US_PER_SEC;
		slack_retry(s, m, now, delay, why);
	} else if (status >= 500 && status < 600) {
		slack_retry(s, m, now, slack_backoff_us(s, m->failures), why);
	} else {
		slack_give_up(s, m, why);
	}
}

/* Run libcurl, settle finished transfers, start what may start. */
static void slack_step(struct ctl_slack *s)
{
	int running, left;
	CURLMsg *cm;

	curl_multi_perform(s->multi, &running);
	int64_t now = wr_mono_us();
	while ((cm = curl_multi_info_read(s->multi, &left))) {
		if (cm->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, &priv);
		struct slack_xfer *x = (struct slack_xfer *)priv;
		/* cm is invalid after remove_handle: copy the result first. */
		CURLcode rc = cm->data.result;
		slack_finish(s, x, rc, now);
	}
	/* Kick new transfers off at once rather than on the next wakeup. */
	if (slack_dispatch(s, now))
		curl_multi_perform(s->multi, &running);
}

void ctl_slack_poll(struct ctl_slack *s, int64_t max_wait_us)
{
	slack_step(s);

	int64_t wait_us = max_wait_us > 0 ? max_wait_us : 0;
	if (s->q_count && s->n_inflight < s->o.max_inflight) {
		/* Waiting messages and a free slot: wake up when the retry
		 * timer runs out even if no socket stirs. */
		int64_t until = s->resume_us - wr_mono_us();
		if (until < 0)
			until = 0;
		if (until < wait_us)
			wait_us = until;
	}
	/* Round the timer up (waking early only spins), the caller's bound
	 * down (it must hold); libcurl shortens this to its own timers. */
	int wait_ms = (int)(wait_us / WR_US_PER_MS);
	if (wait_us < max_wait_us && wait_us % WR_US_PER_MS &&
	    wait_ms < max_wait_us / WR_US_PER_MS)
		wait_ms++;
	if (wait_ms > 0 || s->n_inflight) {
		int numfds;
		curl_multi_poll(s->multi, NULL, 0, wait_ms, &numfds);
		slack_step(s);
	}
}
