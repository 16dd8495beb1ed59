/*
 * ctl_redis.c - Redis feature lookups and write-back on hiredis's async API,
 * driven by our own poll() loop.
 *
 * Event loop: hiredis asks for read/write interest through five hooks
 * (addRead, delRead, addWrite, delWrite, cleanup); the hooks only record
 * what is wanted, and ctl_redis_poll() turns that into one pollfd. No
 * libevent: one socket does not need it, and the control loop keeps the
 * single place where it may wait.
 *
 * Requests: a lookup is one allocation holding its result matrix and one
 * token per HMGET (the token, handed to hiredis as privdata, says which row
 * a reply fills). Lookups with replies outstanding sit in one list in issue
 * order. Since the deadline is the same for all, issue order is deadline
 * order, and the head is the oldest outstanding request (stall check).
 * Answering a lookup (callback) and freeing it are separate: a lookup
 * answered at its deadline stays as a tombstone until hiredis has run the
 * callback of each of its HMGETs (with the late reply, or with NULL when
 * the connection goes), because hiredis holds our privdata until then.
 *
 * Re-entrancy: hiredis frees the whole context from inside
 * redisAsyncHandleWrite/Read when a socket error occurs. So we never call
 * into hiredis's I/O while hiredis or a user callback is on the stack
 * (cb_depth > 0): such work is left to the next ctl_redis_poll(), whose
 * pollfd is already armed by the addWrite hook.
 *
 * Connection life: DOWN -> (backoff due) CONNECTING -> UP -> (lost) DOWN.
 * hiredis reports a failed connect through onConnect(REDIS_ERR) and a lost
 * connection through onDisconnect; in both cases it frees the context right
 * after, so r->ac is cleared there. Contexts we drop ourselves (connect
 * timeout, stall, destroy) are cleared from r->ac first, so the callbacks
 * hiredis then runs recognise them as gone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* ppoll(): a microsecond wait, for 2 ms deadlines */
#endif
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "wr_common.h"
#include "ctl_redis.h"
#include "ctl_rcache.h"

#define REDIS_LOG_MOD "redis"

#define REDIS_DEF_PORT            6379
#define REDIS_DEF_DEADLINE_US     (2 * WR_US_PER_MS)
#define REDIS_DEF_RECONNECT_MIN   (100 * WR_US_PER_MS)
#define REDIS_DEF_RECONNECT_MAX   (5 * WR_US_PER_SEC)
#define REDIS_DEF_CONNECT_TIMEOUT WR_US_PER_SEC
#define REDIS_DEF_STALL_TIMEOUT   (2 * WR_US_PER_SEC)
#define REDIS_DEF_MAX_PENDING     4096u
#define REDIS_DEF_WRITE_HOLD      WR_US_PER_MS
/* A lookup's matrix is allocated per request: bound it (128 MiB of doubles). */
#define REDIS_MAX_CELLS           (16u * 1024 * 1024)
/* "%.17g" of a finite double fits in 24 bytes with its NUL. */
#define REDIS_VAL_LEN             32
/* An idle connection with the cache in use is PINGed this often. */
#define REDIS_CACHE_PING_US       (20 * WR_US_PER_MS)

enum redis_state { REDIS_ST_DOWN, REDIS_ST_CONNECTING, REDIS_ST_UP };

struct redis_req;

/* privdata of one HMGET: which request, which row; for the client-side
 * cache, the user (in the request's allocation) and its generation. */
struct redis_tok {
	struct redis_req *req;
	uint32_t row;
	uint32_t ulen;
	const char *user;
	uint64_t gen;                    /* 0: do not fill the cache */
};

struct redis_req {
	struct redis_req *prev, *next;   /* r->head..tail, issue order */
	struct ctl_redis *r;
	uint64_t id;
	ctl_redis_done_fn cb;
	void *ctx;
	int64_t sent_us;
	int64_t deadline_us;
	uint32_t n, n_fields;
	uint32_t outstanding;            /* HMGETs hiredis still holds */
	bool answered;                   /* callback done: now a tombstone */
	bool failed_conn;                /* a reply was lost (not sent / connection gone) */
	bool failed_err;                 /* a reply was an error or malformed */
	struct redis_tok *toks;          /* n tokens, after results */
	double results[];                /* n * n_fields */
};

struct ctl_redis {
	redisAsyncContext *ac;           /* NULL when DOWN */
	enum redis_state state;
	bool want_read, want_write;      /* recorded by the hiredis hooks */
	bool urgent;                     /* the output buffer holds lookups (or the
					  * connect is pending): write when writable */
	int64_t hold_until_us;           /* only write-backs buffered: write them at
					  * this time at the latest (INT64_MAX: none) */
	bool ever_connected;
	int cb_depth;                    /* > 0 while hiredis or a user callback runs */

	char *host, *unix_path, *prefix;
	int wake_fd;                     /* polled with the connection; -1 = none */
	size_t prefix_len;
	uint16_t port;
	char where[128];                 /* "host:port" or "unix:path", for logs */
	int64_t deadline_us, rc_min_us, rc_max_us, connect_timeout_us, stall_timeout_us;
	int64_t write_hold_us;
	uint32_t max_pending;

	int64_t backoff_us;              /* next retry delay */
	int64_t next_connect_us;         /* DOWN: when to try again */
	int64_t connect_started_us;      /* CONNECTING: since when */

	struct redis_req *head, *tail;   /* lookups with replies outstanding */
	struct redis_req *live;          /* first of them not answered yet, or NULL:
					  * answers come in issue order (replies are
					  * FIFO, deadlines too), so tombstones are a
					  * prefix and timers start here, not at head */
	uint32_t n_reqs;
	uint32_t n_writes;               /* HSETs with replies outstanding */
	uint64_t next_id;
	int answered_now;                /* lookups answered since poll started */

	struct wr_counters *cnt;
	struct wr_counters dummy_cnt;    /* when the caller counts nothing */

	char *keybuf;                    /* prefix + user, reused */
	size_t keycap;
	const char **argv;               /* argument vectors, reused */
	size_t *argvlen;
	size_t argcap;
	char *valbuf;                    /* formatted HSET values, reused */
	size_t valcap;
	char *cmdbuf;                    /* one command in RESP, reused */
	size_t cmdcap;

	/* client-side cache (NULL: off): values are served only while tracking
	 * is confirmed on this connection for the listener's current epoch */
	struct ctl_rcache *cache;
	uint64_t track_epoch;            /* epoch CLIENT TRACKING was confirmed for */
	uint64_t track_sent_epoch;       /* epoch of the command in flight, 0 = none */
	bool track_broken;               /* Redis refused tracking: stop asking */
	uint32_t cache_nf;               /* the fields the cache holds */
	char **cache_fields;
	/* Redis answering: replies awaited on the lookup connection (any kind),
	 * since when the oldest has been waited for with none coming, and the
	 * last send (an idle cache sends PINGs to keep proving it) */
	uint32_t n_out;
	int64_t await_since_us, last_send_us, last_reply_us;

	struct wr_ratelimit rl_conn;     /* connect failures, lost connections */
	struct wr_ratelimit rl_up;       /* "connected" lines: failures must not hide them */
	struct wr_ratelimit rl_err;      /* error replies */
};

static const char *supp_note(char *buf, size_t len, uint32_t supp)
{
	if (!supp)
		return "";
	snprintf(buf, len, " (%u similar suppressed)", supp);
	return buf;
}

/* ---- event-loop adapter: the hooks only record interest ---- */

static void ev_add_read(void *p)  { ((struct ctl_redis *)p)->want_read = true; }
static void ev_del_read(void *p)  { ((struct ctl_redis *)p)->want_read = false; }
static void ev_add_write(void *p) { ((struct ctl_redis *)p)->want_write = true; }

/* hiredis drops write interest when its output buffer is empty: nothing
 * is held any more. */
static void ev_del_write(void *p)
{
	struct ctl_redis *r = p;
	r->want_write = r->urgent = false;
	r->hold_until_us = INT64_MAX;
}

static void ev_cleanup(void *p)
{
	ev_del_write(p);
	((struct ctl_redis *)p)->want_read = false;
}

/* ---- connection ---- */

static void schedule_retry(struct ctl_redis *r, int64_t now)
{
	r->state = REDIS_ST_DOWN;
	r->next_connect_us = now + r->backoff_us;
	r->backoff_us = r->backoff_us > r->rc_max_us / 2 ? r->rc_max_us : r->backoff_us * 2;
}

static void log_conn(struct ctl_redis *r, enum wr_log_level lvl, const char *what,
		     const char *why, int64_t retry_in_us)
{
	uint32_t supp;
	char note[48];
	if (!wr_ratelimit_pass(&r->rl_conn, &supp))
		return;
	wr_log(lvl, REDIS_LOG_MOD, "%s: %s: %s, retry in %lld ms%s", r->where, what,
	       why && *why ? why : "unknown error", (long long)(retry_in_us / WR_US_PER_MS),
	       supp_note(note, sizeof(note), supp));
}

/* A connect that did not succeed (or a connection dropped): count, log, back off. */
static void connect_failed(struct ctl_redis *r, const char *what, const char *why)
{
	int64_t now = wr_mono_us();
	WR_COUNT(r->cnt, redis_errors);
	int64_t delay = r->backoff_us;
	schedule_retry(r, now);
	log_conn(r, WR_LOG_WARN, what, why, delay);
}

static bool is_current(const struct ctl_redis *r, const redisAsyncContext *ac)
{
	return r->ac != NULL && r->ac == ac;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct ctl_redis *r = ac->data;
	if (!is_current(r, ac))
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context right after this callback. */
		r->ac = NULL;
		connect_failed(r, "connect failed", ac->c.errstr);
		return;
	}
	r->state = REDIS_ST_UP;
	r->backoff_us = r->rc_min_us;
	r->track_epoch = r->track_sent_epoch = 0;
	if (r->ever_connected)
		WR_COUNT(r->cnt, redis_reconnects);
	r->ever_connected = true;
	uint32_t supp;
	char note[48];
	if (wr_ratelimit_pass(&r->rl_up, &supp))
		WR_INFO(REDIS_LOG_MOD, "%s: connected%s", r->where, supp_note(note, sizeof(note), supp));
}

/* The lookup connection is gone: Redis tracks nothing for us any more. */
static void cache_lost(struct ctl_redis *r)
{
	r->track_epoch = r->track_sent_epoch = 0;
	r->n_out = 0;
	r->await_since_us = 0;
	if (r->cache && ctl_rcache_size(r->cache))
		ctl_rcache_flush(r->cache);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct ctl_redis *r = ac->data;
	(void)status;
	/* Contexts we dropped ourselves were cleared from r->ac already. */
	if (!is_current(r, ac))
		return;
	r->ac = NULL;
	cache_lost(r);
	int64_t delay = r->backoff_us;
	schedule_retry(r, wr_mono_us());
	log_conn(r, WR_LOG_WARN, "connection lost", ac->c.errstr[0] ? ac->c.errstr : "closed by server",
		 delay);
}

static void connect_start(struct ctl_redis *r, int64_t now)
{
	redisAsyncContext *ac = r->unix_path ? redisAsyncConnectUnix(r->unix_path)
					     : redisAsyncConnect(r->host, r->port);
	if (!ac) {
		connect_failed(r, "connect failed", "out of memory");
		return;
	}
	if (ac->err) {
		connect_failed(r, "connect failed", ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	ev_cleanup(r);
	ac->data = r;
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	r->ac = ac;
	r->state = REDIS_ST_CONNECTING;
	r->connect_started_us = now;
	/* Set after the hooks: it arms the write event that signals the connect. */
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/*
 * Drop the current context ourselves (connect timeout, stall). hiredis runs
 * every pending reply callback with NULL, so lookups waiting are answered
 * incomplete and tombstones are freed. Only at cb_depth 0.
 */
static void connection_drop(struct ctl_redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;
	r->ac = NULL;
	cache_lost(r);
	connect_failed(r, r->state == REDIS_ST_UP ? "connection dropped" : "connect abandoned", why);
	redisAsyncFree(ac);
	ev_cleanup(r);
}

static int send_argv(struct ctl_redis *r, redisCallbackFn *fn, void *priv, int argc,
		     const char **argv, const size_t *argvlen);

static bool usable(const struct ctl_redis *r)
{
	return r->ac && r->state == REDIS_ST_UP &&
	       !(r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING));
}

/* ---- client-side cache: tracking on the lookup connection ---- */

/* A reply came (@rep non-NULL) or was given up (NULL: connection gone). */
static void note_reply(struct ctl_redis *r, const void *rep)
{
	if (r->n_out)
		r->n_out--;
	if (rep) {
		r->last_reply_us = wr_mono_us();
		r->await_since_us = r->n_out ? r->last_reply_us : 0;
	}
}

/*
 * Redis answers: nothing sent has waited longer than a lookup may (plus the
 * write-back hold) without any reply coming. A Redis that stops answering
 * may also have stopped sending invalidations (a partition, not only a
 * frozen server), so the cache is not used then and lookups go to Redis,
 * time out and are marked degraded, as without a cache.
 */
static bool answering(const struct ctl_redis *r)
{
	int64_t now = wr_mono_us(), grace = r->deadline_us + r->write_hold_us;
	return (r->n_out == 0 || now - r->await_since_us <= grace) &&
	       now - r->last_reply_us <= 2 * REDIS_CACHE_PING_US + grace;
}

/* Cached values may be served and stored: both connections up, tracking
 * confirmed for the listener as it is now, and Redis answering. */
static bool cache_usable(const struct ctl_redis *r)
{
	return r->cache && usable(r) && ctl_rcache_client_id(r->cache) != 0 &&
	       r->track_epoch == ctl_rcache_epoch(r->cache) && answering(r);
}

static void on_ping(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)priv;
	struct ctl_redis *r = ac->data;
	if (r)
		note_reply(r, reply);
}

static void on_tracking(redisAsyncContext *ac, void *reply, void *priv)
{
	struct ctl_redis *r = ac->data;
	const redisReply *rep = reply;
	uint64_t epoch = (uint64_t)(uintptr_t)priv;
	if (!r)
		return;
	note_reply(r, reply);
	if (!r->cache || r->track_sent_epoch != epoch)
		return;
	r->track_sent_epoch = 0;
	if (!rep)
		return;                     /* connection gone: asked again on the next */
	if (rep->type == REDIS_REPLY_STATUS && ctl_rcache_epoch(r->cache) == epoch) {
		r->track_epoch = epoch;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		r->track_broken = true;
		WR_WARN(REDIS_LOG_MOD, "%s: CLIENT TRACKING refused (%s): client-side cache off",
			r->where, rep->str);
	}
}

/*
 * Turn tracking on (again) when the listener has a new client id or the
 * lookup connection is new: CLIENT TRACKING OFF, then ON REDIRECT <id> BCAST
 * PREFIX <key_prefix> NOLOOP (OFF first: a prefix may not be registered
 * twice). Broadcast mode: Redis reports every change of a key under the
 * prefix by any other client, with no table of the keys we read. The
 * default mode was not enough: Redis forgets a key it tracks once anyone
 * writes it, NOLOOP client included, so after our own write-back of a
 * user a change by someone else went unreported. Commands on a connection
 * run in order, so every HMGET sent after ON is covered; cached values are
 * used once its +OK is in. NOLOOP: our own write-backs (other fields, see
 * ctl_fraud) are not reported to us.
 */
static void cache_track(struct ctl_redis *r)
{
	if (!r->cache || r->track_broken || !usable(r) || r->cb_depth > 0)
		return;
	int64_t id = ctl_rcache_client_id(r->cache);
	uint64_t epoch = ctl_rcache_epoch(r->cache);
	if (id == 0 || r->track_epoch == epoch || r->track_sent_epoch == epoch)
		return;
	const char *off[] = { "CLIENT", "TRACKING", "OFF" };
	const size_t off_len[] = { 6, 8, 3 };
	char ids[24];
	int n = snprintf(ids, sizeof(ids), "%lld", (long long)id);
	const char *argv[] = { "CLIENT", "TRACKING", "ON", "REDIRECT", ids, "BCAST", "NOLOOP",
			       "PREFIX", r->prefix };
	const size_t len[] = { 6, 8, 2, 8, (size_t)n, 5, 6, 6, r->prefix_len };
	int argc = r->prefix_len ? 9 : 7;
	if (send_argv(r, on_ping, NULL, 3, off, off_len) != REDIS_OK)
		return;
	r->track_sent_epoch = epoch;
	if (send_argv(r, on_tracking, (void *)(uintptr_t)epoch, argc, argv, len) != REDIS_OK)
		r->track_sent_epoch = 0;
	r->urgent = true;
}

/* The lookup asks for the fields the cache holds. */
static bool cache_fields_match(struct ctl_redis *r, const char *const *fields, uint32_t nf)
{
	if (nf != r->cache_nf)
		return false;
	for (uint32_t f = 0; f < nf; f++)
		if (strcmp(fields[f], r->cache_fields[f]) != 0)
			return false;
	return true;
}

/* ---- requests ---- */

/* Move r->live past answered requests. */
static void live_advance(struct ctl_redis *r)
{
	while (r->live && r->live->answered)
		r->live = r->live->next;
}

static void req_unlink_free(struct ctl_redis *r, struct redis_req *q)
{
	if (r->live == q)
		r->live = q->next;
	if (q->prev)
		q->prev->next = q->next;
	else
		r->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		r->tail = q->prev;
	r->n_reqs--;
	free(q);
}

static void req_answer(struct redis_req *q, bool complete)
{
	struct ctl_redis *r = q->r;
	q->answered = true;
	live_advance(r);
	r->answered_now++;
	r->cb_depth++;
	q->cb(q->ctx, q->id, q->results, q->n, q->n_fields, complete);
	r->cb_depth--;
}

/* A value of an HMGET reply: a finite number, or NaN. */
static double reply_value(const redisReply *e)
{
	if (e->type == REDIS_REPLY_INTEGER)
		return (double)e->integer;
	if (e->type != REDIS_REPLY_STRING || e->len == 0)
		return NAN;
	char *end;
	errno = 0;
	double v = strtod(e->str, &end);
	if (end != e->str + e->len || !isfinite(v))
		return NAN;
	return v;
}

/* @what names the request, e.g. "HMGET of lookup 7, user 3 of 32". */
static void log_reply_error(struct ctl_redis *r, const char *what, const redisReply *rep)
{
	uint32_t supp;
	char note[48];
	if (!wr_ratelimit_pass(&r->rl_err, &supp))
		return;
	WR_WARN(REDIS_LOG_MOD, "%s: %s: %s%s", r->where, what,
		rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply type",
		supp_note(note, sizeof(note), supp));
}

static void on_hmget(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	struct redis_tok *t = priv;
	struct redis_req *q = t->req;
	struct ctl_redis *r = q->r;
	const redisReply *rep = reply;

	note_reply(r, rep);
	r->cb_depth++;
	q->outstanding--;
	if (q->answered) {
		/* A tombstone: the caller has its answer; drop what comes
		 * (the cache may still keep it: it is exact when it comes). */
		if (rep)
			WR_COUNT(r->cnt, redis_replies_late);
		if (rep && t->gen && r->cache && rep->type == REDIS_REPLY_ARRAY &&
		    rep->elements == q->n_fields && q->n_fields <= RCACHE_FIELDS_MAX) {
			double row[RCACHE_FIELDS_MAX];
			for (uint32_t f = 0; f < q->n_fields; f++)
				row[f] = reply_value(rep->element[f]);
			ctl_rcache_fill(r->cache, t->user, t->ulen, t->gen, row);
		}
	} else if (!rep) {
		q->failed_conn = true;
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == q->n_fields) {
		double *row = q->results + (size_t)t->row * q->n_fields;
		for (uint32_t f = 0; f < q->n_fields; f++)
			row[f] = reply_value(rep->element[f]);
		if (t->gen && r->cache)
			ctl_rcache_fill(r->cache, t->user, t->ulen, t->gen, row);
	} else {
		q->failed_err = true;
		WR_COUNT(r->cnt, redis_errors);
		char what[96];
		snprintf(what, sizeof(what), "HMGET of lookup %llu, user %u of %u",
			 (unsigned long long)q->id, t->row + 1, q->n);
		log_reply_error(r, what, rep);
	}
	if (q->outstanding == 0) {
		if (!q->answered) {
			if (q->failed_conn)
				WR_COUNT(r->cnt, redis_lookup_failed);
			req_answer(q, !q->failed_conn && !q->failed_err);
		}
		req_unlink_free(r, q);
	}
	r->cb_depth--;
}

static void on_hset(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	struct ctl_redis *r = priv;
	const redisReply *rep = reply;
	note_reply(r, rep);
	r->n_writes--;
	if (!rep) {
		WR_COUNT(r->cnt, redis_errors);   /* lost with the connection */
	} else if (rep->type == REDIS_REPLY_ERROR) {
		WR_COUNT(r->cnt, redis_errors);
		r->cb_depth++;
		log_reply_error(r, "HSET (write-back)", rep);
		r->cb_depth--;
	} else {
		WR_COUNT(r->cnt, redis_writes);
	}
}

/*
 * @x as the text HSET stores (at most REDIS_VAL_LEN - 1 bytes, NUL ended),
 * shortest of three exact forms: an integer as its digits ("42"), a
 * multiple of 1e-6 as a decimal with trailing zeros dropped ("123.45",
 * which is what amounts and times in seconds are), otherwise "%.17g".
 * Each reads back (strtod) as exactly @x: a decimal D = m / 10^6 names
 * the double nearest to D, and x == m / 1e6 is that double. Faster than
 * printf (which cost ~1 us of the ~3 us of a write-back) and easier to
 * read in redis-cli. Returns the length.
 */
static int format_value(char *v, double x)
{
	double m = nearbyint(x * 1e6);
	if (!(x == 0 && signbit(x)) && fabs(m) < 0x1p53 && m / 1e6 == x) {   /* -0 keeps its sign below */
		size_t n = 0;
		if (m < 0)
			v[n++] = '-';
		n += wr_fmt_micros(v + n, (uint64_t)fabs(m), true);
		v[n] = 0;
		return (int)n;
	}
	return snprintf(v, REDIS_VAL_LEN, "%.17g", x);
}

/*
 * Queue one command: its RESP form is built here in one reused buffer and
 * handed over with redisAsyncFormattedCommand. hiredis's own argv
 * formatting (an sds string grown by sdscatfmt per argument, several
 * allocations per command) was ~15 % of the fraud thread's time.
 * Returns REDIS_OK or REDIS_ERR (out of memory, connection going away).
 */
static int send_argv(struct ctl_redis *r, redisCallbackFn *fn, void *priv, int argc,
		     const char **argv, const size_t *argvlen)
{
	size_t need = 16;
	for (int i = 0; i < argc; i++)
		need += argvlen[i] + 24;
	if (need > r->cmdcap) {
		char *b = realloc(r->cmdbuf, need);
		if (!b)
			return REDIS_ERR;
		r->cmdbuf = b;
		r->cmdcap = need;
	}
	char *p = r->cmdbuf;
	*p++ = '*';
	p += wr_fmt_u64(p, (uint64_t)argc);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < argc; i++) {
		*p++ = '$';
		p += wr_fmt_u64(p, argvlen[i]);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, argv[i], argvlen[i]);
		p += argvlen[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	int rc = redisAsyncFormattedCommand(r->ac, fn, priv, r->cmdbuf, (size_t)(p - r->cmdbuf));
	if (rc == REDIS_OK) {
		int64_t now = wr_mono_us();
		if (r->n_out++ == 0)
			r->await_since_us = now;
		r->last_send_us = now;
	}
	return rc;
}

static int grow_args(struct ctl_redis *r, size_t argc)
{
	if (argc <= r->argcap)
		return 0;
	const char **a = realloc(r->argv, argc * sizeof(*a));
	if (!a)
		return -ENOMEM;
	r->argv = a;
	size_t *l = realloc(r->argvlen, argc * sizeof(*l));
	if (!l)
		return -ENOMEM;
	r->argvlen = l;
	r->argcap = argc;
	return 0;
}

/* r->keybuf = prefix + user; returns its length, or -ENOMEM. */
static long build_key(struct ctl_redis *r, const char *user)
{
	size_t ul = strlen(user);
	size_t need = r->prefix_len + ul + 1;
	if (need > r->keycap) {
		char *k = realloc(r->keybuf, need);
		if (!k)
			return -ENOMEM;
		r->keybuf = k;
		r->keycap = need;
	}
	memcpy(r->keybuf, r->prefix, r->prefix_len);
	memcpy(r->keybuf + r->prefix_len, user, ul + 1);
	return (long)(r->prefix_len + ul);
}

uint64_t ctl_redis_lookup(struct ctl_redis *r, const char *const *users, uint32_t n,
			  const char *const *fields, uint32_t n_fields,
			  ctl_redis_done_fn cb, void *ctx)
{
	if (!r || !users || !fields || !cb || n == 0 || n_fields == 0 ||
	    (uint64_t)n * n_fields > REDIS_MAX_CELLS)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (!users[i])
			return 0;
	for (uint32_t f = 0; f < n_fields; f++)
		if (!fields[f])
			return 0;
	size_t cells = (size_t)n * n_fields;
	bool use_cache = cache_usable(r) && cache_fields_match(r, fields, n_fields);
	if (use_cache) {
		ctl_rcache_sync(r->cache);   /* invalidations (or the listener's end) so far */
		use_cache = cache_usable(r);
	}
	size_t ubytes = 0;
	for (uint32_t u = 0; use_cache && u < n; u++)
		ubytes += strlen(users[u]);
	struct redis_req *q = malloc(sizeof(*q) + cells * sizeof(double) +
				     (size_t)n * sizeof(struct redis_tok) + ubytes);
	if (!q || grow_args(r, 2 + (size_t)n_fields) != 0) {
		free(q);
		return 0;
	}
	memset(q, 0, sizeof(*q));
	q->r = r;
	q->id = ++r->next_id;
	q->cb = cb;
	q->ctx = ctx;
	q->n = n;
	q->n_fields = n_fields;
	q->toks = (struct redis_tok *)(q->results + cells);
	for (size_t c = 0; c < cells; c++)
		q->results[c] = NAN;
	uint64_t id = q->id;
	WR_COUNT(r->cnt, redis_lookups);

	if (!usable(r) || r->n_reqs + r->n_writes >= r->max_pending) {
		WR_COUNT(r->cnt, redis_lookup_failed);
		req_answer(q, false);
		free(q);
		return id;
	}

	r->argv[0] = "HMGET";
	r->argvlen[0] = 5;
	for (uint32_t f = 0; f < n_fields; f++) {
		r->argv[2 + f] = fields[f];
		r->argvlen[2 + f] = strlen(fields[f]);
	}
	char *ub = (char *)(q->toks + n);   /* users kept for the cache fill */
	uint32_t hits = 0;
	for (uint32_t u = 0; u < n; u++) {
		q->toks[u].gen = 0;
		if (use_cache) {
			size_t ul = strlen(users[u]);
			if (ctl_rcache_get(r->cache, users[u], ul,
					   q->results + (size_t)u * n_fields)) {
				hits++;
				continue;
			}
			q->toks[u].gen = ctl_rcache_pending(r->cache, users[u], ul);
			memcpy(ub, users[u], ul);
			q->toks[u].user = ub;
			q->toks[u].ulen = (uint32_t)ul;
			ub += ul;
		}
		long kl = build_key(r, users[u]);
		if (kl < 0) {
			q->failed_conn = true;
			break;
		}
		r->argv[1] = r->keybuf;
		r->argvlen[1] = (size_t)kl;
		q->toks[u].req = q;
		q->toks[u].row = u;
		/* Appends to hiredis's output buffer only: the burst goes out below in one write. */
		if (send_argv(r, on_hmget, &q->toks[u], (int)(2 + n_fields), r->argv,
			      r->argvlen) != REDIS_OK) {
			q->failed_conn = true;
			break;
		}
		q->outstanding++;
	}
	if (q->outstanding == 0 && hits == n) {
		/* every user from the cache: no round trip */
		req_answer(q, true);
		free(q);
		return id;
	}
	if (q->outstanding == 0) {
		WR_COUNT(r->cnt, redis_lookup_failed);
		req_answer(q, false);
		free(q);
		return id;
	}
	q->sent_us = wr_mono_us();
	q->deadline_us = q->sent_us + r->deadline_us;
	q->prev = r->tail;
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	if (!r->live)
		r->live = q;
	r->n_reqs++;
	/*
	 * Write the burst now rather than at the next poll: that is one write(2)
	 * for all HMGETs. Not from inside a callback, where hiredis could free
	 * the context under its caller (see the file comment); the armed write
	 * event lets the next poll do it then. q may be gone after this.
	 */
	r->urgent = true;
	if (r->cb_depth == 0)
		redisAsyncHandleWrite(r->ac);   /* drained: ev_del_write clears urgent */
	return id;
}

int ctl_redis_write(struct ctl_redis *r, const char *user, const char *const *fields,
		    const double *values, uint32_t n)
{
	if (!r || !user || !fields || !values || n == 0 || n > (UINT32_MAX - 2) / 2)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (!fields[i] || !isfinite(values[i]))
			return -EINVAL;
	if (!usable(r)) {
		WR_COUNT(r->cnt, redis_errors);
		return -ENOTCONN;
	}
	if (r->n_reqs + r->n_writes >= r->max_pending) {
		WR_COUNT(r->cnt, redis_errors);
		return -EBUSY;
	}
	if (grow_args(r, 2 + 2 * (size_t)n) != 0)
		return -ENOMEM;
	size_t need = (size_t)n * REDIS_VAL_LEN;
	if (need > r->valcap) {
		char *v = realloc(r->valbuf, need);
		if (!v)
			return -ENOMEM;
		r->valbuf = v;
		r->valcap = need;
	}
	long kl = build_key(r, user);
	if (kl < 0)
		return -ENOMEM;
	r->argv[0] = "HSET";
	r->argvlen[0] = 4;
	r->argv[1] = r->keybuf;
	r->argvlen[1] = (size_t)kl;
	for (uint32_t i = 0; i < n; i++) {
		char *v = r->valbuf + (size_t)i * REDIS_VAL_LEN;
		int vl = format_value(v, values[i]);
		r->argv[2 + 2 * i] = fields[i];
		r->argvlen[2 + 2 * i] = strlen(fields[i]);
		r->argv[3 + 2 * i] = v;
		r->argvlen[3 + 2 * i] = (size_t)vl;
	}
	if (send_argv(r, on_hset, r, (int)(2 + 2 * n), r->argv, r->argvlen) != REDIS_OK) {
		WR_COUNT(r->cnt, redis_errors);
		return -ENOTCONN;
	}
	r->n_writes++;
	if (!r->urgent && r->hold_until_us == INT64_MAX)
		r->hold_until_us = wr_mono_us() + r->write_hold_us;
	return 0;
}

/* ---- the loop ---- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Deadlines, connect timeout, stall, reconnect: everything time drives. */
static void run_timers(struct ctl_redis *r, int64_t now)
{
	for (struct redis_req *q = r->live; q; q = q->next) {
		if (q->answered)
			continue;
		if (q->deadline_us > now)
			break;
		WR_COUNT(r->cnt, redis_lookup_timeouts);
		/* Stays linked as a tombstone: hiredis still holds its tokens. */
		req_answer(q, false);
	}
	if (r->state == REDIS_ST_CONNECTING && r->ac &&
	    now - r->connect_started_us >= r->connect_timeout_us)
		connection_drop(r, "connect timed out");
	else if (r->state == REDIS_ST_UP && r->ac && r->head &&
		 now - r->head->sent_us >= r->stall_timeout_us)
		connection_drop(r, "no reply within the stall timeout");
	if (r->state == REDIS_ST_DOWN && !r->ac && now >= r->next_connect_us)
		connect_start(r, now);
	if (r->cache) {
		ctl_rcache_handle(r->cache, 0, now);
		cache_track(r);
		/* nothing sent lately: a PING keeps proving that Redis answers */
		if (cache_usable(r) && r->cb_depth == 0 && now - r->last_send_us >= REDIS_CACHE_PING_US) {
			const char *argv[] = { "PING" };
			const size_t len[] = { 4 };
			if (send_argv(r, on_ping, NULL, 1, argv, len) == REDIS_OK)
				r->urgent = true;
		}
	}
}

int ctl_redis_poll(struct ctl_redis *r, int64_t max_wait_us)
{
	if (!r)
		return 0;
	r->answered_now = 0;
	int64_t now = wr_mono_us();
	run_timers(r, now);

	int64_t wake = now + (max_wait_us > 0 ? max_wait_us : 0);
	struct redis_req *live = r->live;
	if (live)
		wake = min64(wake, live->deadline_us);
	if (r->state == REDIS_ST_DOWN)
		wake = min64(wake, r->next_connect_us);
	else if (r->state == REDIS_ST_CONNECTING)
		wake = min64(wake, r->connect_started_us + r->connect_timeout_us);
	else if (r->head)
		wake = min64(wake, r->head->sent_us + r->stall_timeout_us);
	/* Write-backs alone wait for the next lookup burst to ride with (one
	 * write(2) and one Redis wake-up for both), up to their hold time. */
	bool write_now = r->want_write &&
		(r->urgent || r->state != REDIS_ST_UP || now >= r->hold_until_us);
	if (r->want_write && !write_now)
		wake = min64(wake, r->hold_until_us);
	if (r->cache) {
		wake = min64(wake, ctl_rcache_due(r->cache));
		if (cache_usable(r))
			wake = min64(wake, r->last_send_us + REDIS_CACHE_PING_US);
	}
	int64_t wait = wake > now ? wake - now : 0;

	/* the lookup connection, the cache's invalidation listener, the wake fd */
	struct pollfd pfd[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = r->wake_fd, .events = POLLIN } };
	nfds_t nfds = 0;
	redisAsyncContext *ac = r->ac;
	if (ac && (r->want_read || write_now)) {
		pfd[0].fd = ac->c.fd;
		pfd[0].events = (short)((r->want_read ? POLLIN : 0) | (write_now ? POLLOUT : 0));
		nfds = 1;
	}
	if (r->cache && (pfd[1].fd = ctl_rcache_fd(r->cache, &pfd[1].events)) >= 0)
		nfds = 2;
	/* The wake fd only matters when we would sleep: it cuts the sleep short. */
	bool use_wake = r->wake_fd >= 0 && wait > 0;
	if (nfds || wait > 0) {
		struct timespec ts = { .tv_sec = wait / WR_US_PER_SEC,
				       .tv_nsec = (wait % WR_US_PER_SEC) * 1000 };
		/* entries with fd -1 are ignored by ppoll, so later ones can follow */
		int rc = ppoll(pfd, use_wake ? 3 : nfds, &ts, NULL);
		if (rc > 0 && pfd[1].fd >= 0 && pfd[1].revents)
			ctl_rcache_handle(r->cache, pfd[1].revents, wr_mono_us());
		if (rc > 0 && use_wake && (pfd[2].revents & POLLIN)) {
			uint64_t v;
			ssize_t got = read(r->wake_fd, &v, sizeof(v)); /* reset the eventfd */
			(void)got;
		}
		if (rc > 0 && pfd[0].revents) {
			bool rd = r->want_read && (pfd[0].revents & (POLLIN | POLLERR | POLLHUP));
			bool wr = write_now && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP));
			/* Either call may end the connection and free ac: re-check. */
			if (rd)
				redisAsyncHandleRead(ac);
			if (wr && is_current(r, ac))
				redisAsyncHandleWrite(ac);
		}
	}
	run_timers(r, wr_mono_us());
	return r->answered_now;
}

void ctl_redis_flush(struct ctl_redis *r)
{
	if (r && r->want_write)
		r->urgent = true;
}

bool ctl_redis_connected(const struct ctl_redis *r)
{
	return r && usable(r);
}

int ctl_redis_cache_state(const struct ctl_redis *r, uint32_t *held)
{
	if (held)
		*held = r && r->cache ? ctl_rcache_size(r->cache) : 0;
	if (!r || !r->cache)
		return -1;
	return cache_usable(r) ? 1 : 0;
}

const struct ctl_rcache *ctl_redis_cache(const struct ctl_redis *r)
{
	return r ? r->cache : NULL;
}

uint32_t ctl_redis_in_flight(const struct ctl_redis *r)
{
	return r ? r->n_reqs + r->n_writes : 0;
}

/* ---- create / destroy ---- */

static int opt_error(char *err, size_t errlen, const char *fmt, const char *name)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, name);
	return -EINVAL;
}

int ctl_redis_create(const struct ctl_redis_opts *o, struct wr_counters *cnt,
		     struct ctl_redis **out, char *err, size_t errlen)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!o)
		return opt_error(err, errlen, "redis: %s", "no options given");
	bool has_host = o->host && *o->host, has_unix = o->unix_path && *o->unix_path;
	if (has_host == has_unix)
		return opt_error(err, errlen, "redis: set exactly one of host and unix_path (%s)",
				 has_host ? "both are set" : "neither is set");
	const struct { const char *name; int64_t v; } times[] = {
		{ "deadline_us", o->deadline_us }, { "reconnect_min_us", o->reconnect_min_us },
		{ "reconnect_max_us", o->reconnect_max_us },
		{ "connect_timeout_us", o->connect_timeout_us },
		{ "stall_timeout_us", o->stall_timeout_us },
		{ "write_hold_us", o->write_hold_us },
	};
	for (size_t i = 0; i < WR_ARRAY_SIZE(times); i++)
		if (times[i].v < 0)
			return opt_error(err, errlen, "redis: %s must not be negative", times[i].name);

	struct ctl_redis *r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->cnt = cnt ? cnt : &r->dummy_cnt;
	r->port = o->port ? o->port : REDIS_DEF_PORT;
	r->deadline_us = o->deadline_us ? o->deadline_us : REDIS_DEF_DEADLINE_US;
	r->rc_min_us = o->reconnect_min_us ? o->reconnect_min_us : REDIS_DEF_RECONNECT_MIN;
	r->rc_max_us = o->reconnect_max_us ? o->reconnect_max_us : REDIS_DEF_RECONNECT_MAX;
	r->connect_timeout_us = o->connect_timeout_us ? o->connect_timeout_us
						      : REDIS_DEF_CONNECT_TIMEOUT;
	r->stall_timeout_us = o->stall_timeout_us ? o->stall_timeout_us : REDIS_DEF_STALL_TIMEOUT;
	r->max_pending = o->max_pending ? o->max_pending : REDIS_DEF_MAX_PENDING;
	r->write_hold_us = o->write_hold_us ? o->write_hold_us : REDIS_DEF_WRITE_HOLD;
	r->hold_until_us = INT64_MAX;
	if (r->rc_min_us > r->rc_max_us) {
		free(r);
		return opt_error(err, errlen, "redis: %s", "reconnect_min_us is above reconnect_max_us");
	}
	r->backoff_us = r->rc_min_us;
	r->rl_conn = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 2);
	r->rl_up = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 2);
	r->rl_err = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);
	r->wake_fd = o->wake_fd > 0 ? o->wake_fd : -1;
	r->prefix = strdup(o->key_prefix ? o->key_prefix : "");
	if (!r->prefix)
		goto nomem;
	r->prefix_len = strlen(r->prefix);
	if (has_host) {
		if (!(r->host = strdup(o->host)))
			goto nomem;
		snprintf(r->where, sizeof(r->where), "%s:%u", r->host, r->port);
	} else {
		if (!(r->unix_path = strdup(o->unix_path)))
			goto nomem;
		snprintf(r->where, sizeof(r->where), "unix:%s", r->unix_path);
	}
	if (grow_args(r, 16) != 0)
		goto nomem;
	if (o->cache_entries) {
		struct ctl_rcache_opts co = {
			.host = r->host, .port = r->port, .unix_path = r->unix_path,
			.key_prefix = r->prefix, .entries = o->cache_entries,
			.n_fields = o->cache_n_fields, .reconnect_min_us = r->rc_min_us,
			.reconnect_max_us = r->rc_max_us, .connect_timeout_us = r->connect_timeout_us,
		};
		if (!o->cache_fields || o->cache_n_fields == 0) {
			ctl_redis_destroy(r);
			return opt_error(err, errlen, "redis: %s", "cache_entries without cache_fields");
		}
		int rc = ctl_rcache_create(&co, r->cnt, &r->cache, err, errlen);
		if (rc) {
			ctl_redis_destroy(r);
			return rc;
		}
		r->cache_fields = calloc(o->cache_n_fields, sizeof(char *));
		if (!r->cache_fields)
			goto nomem;
		r->cache_nf = o->cache_n_fields;
		for (uint32_t f = 0; f < o->cache_n_fields; f++)
			if (!o->cache_fields[f] || !(r->cache_fields[f] = strdup(o->cache_fields[f])))
				goto nomem;
	}
	/* First attempt now; a failure only schedules the next one. */
	connect_start(r, wr_mono_us());
	*out = r;
	return 0;
nomem:
	ctl_redis_destroy(r);
	if (err && errlen)
		snprintf(err, errlen, "redis: out of memory");
	return -ENOMEM;
}

void ctl_redis_destroy(struct ctl_redis *r)
{
	if (!r)
		return;
	if (r->ac) {
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		r->state = REDIS_ST_DOWN;
		/* Runs every pending callback with NULL: live lookups are answered. */
		redisAsyncFree(ac);
	}
	/* Nothing should be left; free defensively without calling back. */
	while (r->head)
		req_unlink_free(r, r->head);
	ctl_rcache_destroy(r->cache);
	for (uint32_t f = 0; r->cache_fields && f < r->cache_nf; f++)
		free(r->cache_fields[f]);
	free(r->cache_fields);
	free(r->host);
	free(r->unix_path);
	free(r->prefix);
	free(r->keybuf);
	free(r->argv);
	free(r->argvlen);
	free(r->valbuf);
	free(r->cmdbuf);
	free(r);
}
