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

enum redis_state { REDIS_ST_DOWN, REDIS_ST_CONNECTING, REDIS_ST_UP };

struct redis_req;

/* privdata of one HMGET: which request, which row. */
struct redis_tok {
	struct redis_req *req;
	uint32_t row;
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
	if (r->ever_connected)
		WR_COUNT(r->cnt, redis_reconnects);
	r->ever_connected = true;
	uint32_t supp;
	char note[48];
	if (wr_ratelimit_pass(&r->rl_up, &supp))
		WR_INFO(REDIS_LOG_MOD, "%s: connected%s", r->where, supp_note(note, sizeof(note), supp));
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct ctl_redis *r = ac->data;
	(void)status;
	/* Contexts we dropped ourselves were cleared from r->ac already. */
	if (!is_current(r, ac))
		return;
	r->ac = NULL;
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
	connect_failed(r, r->state == REDIS_ST_UP ? "connection dropped" : "connect abandoned", why);
	redisAsyncFree(ac);
	ev_cleanup(r);
}

static bool usable(const struct ctl_redis *r)
{
	return r->ac && r->state == REDIS_ST_UP &&
	       !(r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING));
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

	r->cb_depth++;
	q->outstanding--;
	if (q->answered) {
		/* A tombstone: the caller has its answer; drop what comes. */
		if (rep)
			WR_COUNT(r->cnt, redis_replies_late);
	} else if (!rep) {
		q->failed_conn = true;
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == q->n_fields) {
		double *row = q->results + (size_t)t->row * q->n_fields;
		for (uint32_t f = 0; f < q->n_fields; f++)
			row[f] = reply_value(rep->element[f]);
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
	return redisAsyncFormattedCommand(r->ac, fn, priv, r->cmdbuf, (size_t)(p - r->cmdbuf));
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
	struct redis_req *q = malloc(sizeof(*q) + cells * sizeof(double) +
				     (size_t)n * sizeof(struct redis_tok));
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
	for (uint32_t u = 0; u < n; u++) {
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
	int64_t wait = wake > now ? wake - now : 0;

	struct pollfd pfd[2] = { { .fd = -1 }, { .fd = r->wake_fd, .events = POLLIN } };
	nfds_t nfds = 0;
	redisAsyncContext *ac = r->ac;
	if (ac && (r->want_read || write_now)) {
		pfd[0].fd = ac->c.fd;
		pfd[0].events = (short)((r->want_read ? POLLIN : 0) | (write_now ? POLLOUT : 0));
		nfds = 1;
	}
	/* The wake fd only matters when we would sleep: it cuts the sleep short. */
	bool use_wake = r->wake_fd >= 0 && wait > 0;
	if (nfds || wait > 0) {
		struct timespec ts = { .tv_sec = wait / WR_US_PER_SEC,
				       .tv_nsec = (wait % WR_US_PER_SEC) * 1000 };
		/* pfd[0] with fd -1 is ignored by ppoll, so pfd[1] can follow it. */
		int rc = ppoll(pfd, use_wake ? 2 : nfds, &ts, NULL);
		if (rc > 0 && use_wake && (pfd[1].revents & POLLIN)) {
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
