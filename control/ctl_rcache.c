/*
 * ctl_rcache.c - the invalidation listener and the table behind
 * ctl_rcache.h (see there for the protocol and why it stays exact).
 *
 * Listener life: DOWN -> (backoff due) CONNECTING -> HELLO (CLIENT ID and
 * SUBSCRIBE sent, replies awaited) -> UP (client id known, subscribed).
 * Any error or end of stream goes back to DOWN and flushes the table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "wr_common.h"
#include "ctl_rcache.h"

#define RC_LOG_MOD "redis"
#define RC_WAYS 4u
#define RC_CHANNEL "__redis__:invalidate"

enum rc_state { RC_EMPTY, RC_WAIT, RC_VALID };
enum ls_state { LS_DOWN, LS_CONNECTING, LS_HELLO, LS_UP };

struct rc_ent {
	uint64_t gen;                /* changes whenever the slot is (re)taken */
	uint32_t hash;
	uint32_t seq;                /* odd while the owner changes a VALID entry or its
				      * values (ctl_rcache_peek() from other threads) */
	uint8_t state;               /* enum rc_state */
	uint8_t ulen;
	char user[RCACHE_USER_MAX];
};
_Static_assert(sizeof(struct rc_ent) == 64, "cache entry is one cache line");

struct ctl_rcache {
	struct wr_counters *cnt;
	struct wr_counters dummy_cnt;
	char *host, *unix_path, *prefix;
	size_t prefix_len;
	uint16_t port;
	char where[128];
	int64_t rc_min_us, rc_max_us, connect_timeout_us;

	enum ls_state ls;
	int fd;
	redisReader *rd;
	int64_t client_id;           /* from CLIENT ID, while HELLO / UP */
	int64_t backoff_us, next_connect_us, connect_started_us;
	uint64_t epoch;
	struct wr_ratelimit rl_conn;

	uint32_t n_fields, n_buckets;
	uint64_t gen_seq;
	uint32_t rr;                 /* round-robin victim */
	uint32_t valid;
	struct rc_ent *ent;          /* n_buckets * RC_WAYS */
	double *vals;                /* per entry, n_fields */
};

static uint32_t user_hash(const char *s, size_t n)
{
	uint64_t h = wr_fnv1a64(s, n);
	return (uint32_t)(h ^ (h >> 32));
}

/* ---- table ---- */

/*
 * A seqlock per entry for ctl_rcache_peek(): the owner (the only writer)
 * makes the sequence odd before it changes what a reader could be copying
 * (a VALID entry's key, state or values) and even again after; a reader
 * keeps its copy only if the sequence was even and unchanged around it.
 */
static void ent_write_begin(struct rc_ent *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void ent_write_end(struct rc_ent *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
}

static struct rc_ent *find(struct ctl_rcache *c, const char *user, size_t ulen, uint32_t h)
{
	struct rc_ent *b = &c->ent[(size_t)(h % c->n_buckets) * RC_WAYS];
	for (uint32_t w = 0; w < RC_WAYS; w++)
		if (b[w].state != RC_EMPTY && b[w].hash == h && b[w].ulen == ulen &&
		    memcmp(b[w].user, user, ulen) == 0)
			return &b[w];
	return NULL;
}

static void drop_ent(struct ctl_rcache *c, struct rc_ent *e)
{
	if (e->state == RC_VALID) {
		c->valid--;
		ent_write_begin(e);
		__atomic_store_n(&e->state, RC_EMPTY, __ATOMIC_RELAXED);
		ent_write_end(e);
	}
	__atomic_store_n(&e->state, RC_EMPTY, __ATOMIC_RELAXED);
}

bool ctl_rcache_get(struct ctl_rcache *c, const char *user, size_t ulen, double *out)
{
	struct rc_ent *e = ulen <= RCACHE_USER_MAX ? find(c, user, ulen, user_hash(user, ulen))
						   : NULL;
	if (!e || e->state != RC_VALID) {
		WR_COUNT(c->cnt, redis_cache_misses);
		return false;
	}
	memcpy(out, c->vals + (size_t)(e - c->ent) * c->n_fields, c->n_fields * sizeof(double));
	WR_COUNT(c->cnt, redis_cache_hits);
	return true;
}

uint64_t ctl_rcache_pending(struct ctl_rcache *c, const char *user, size_t ulen)
{
	if (ulen == 0 || ulen > RCACHE_USER_MAX)
		return 0;
	uint32_t h = user_hash(user, ulen);
	struct rc_ent *e = find(c, user, ulen, h);
	if (e)
		return e->gen;
	struct rc_ent *b = &c->ent[(size_t)(h % c->n_buckets) * RC_WAYS];
	for (uint32_t w = 0; w < RC_WAYS && !e; w++)
		if (b[w].state == RC_EMPTY)
			e = &b[w];
	if (!e) {
		e = &b[c->rr++ % RC_WAYS];
		drop_ent(c, e);
	}
	/* Not VALID (a reader skips it), but a reader may be comparing the
	 * key: relaxed atomic stores, so that a racing read is only stale. */
	e->gen = ++c->gen_seq;
	__atomic_store_n(&e->hash, h, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ulen, (uint8_t)ulen, __ATOMIC_RELAXED);
	for (size_t i = 0; i < ulen; i++)
		__atomic_store_n(&e->user[i], user[i], __ATOMIC_RELAXED);
	__atomic_store_n(&e->state, RC_WAIT, __ATOMIC_RELAXED);
	return e->gen;
}

void ctl_rcache_fill(struct ctl_rcache *c, const char *user, size_t ulen, uint64_t gen,
		     const double *vals)
{
	if (gen == 0 || ulen > RCACHE_USER_MAX)
		return;
	struct rc_ent *e = find(c, user, ulen, user_hash(user, ulen));
	if (!e || e->gen != gen)
		return;     /* invalidated, evicted or flushed since the request */
	double *v = c->vals + (size_t)(e - c->ent) * c->n_fields;
	ent_write_begin(e);
	for (uint32_t i = 0; i < c->n_fields; i++)
		__atomic_store(&v[i], &vals[i], __ATOMIC_RELAXED);
	if (e->state != RC_VALID)
		c->valid++;
	__atomic_store_n(&e->state, RC_VALID, __ATOMIC_RELAXED);
	ent_write_end(e);
}

bool ctl_rcache_peek(const struct ctl_rcache *c, const char *user, size_t ulen, double *out)
{
	if (!c || ulen == 0 || ulen > RCACHE_USER_MAX)
		return false;
	uint32_t h = user_hash(user, ulen);
	const struct rc_ent *b = &c->ent[(size_t)(h % c->n_buckets) * RC_WAYS];
	for (uint32_t w = 0; w < RC_WAYS; w++) {
		const struct rc_ent *e = &b[w];
		uint32_t s0 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s0 & 1)
			continue;
		if (__atomic_load_n(&e->state, __ATOMIC_RELAXED) != RC_VALID ||
		    __atomic_load_n(&e->hash, __ATOMIC_RELAXED) != h ||
		    __atomic_load_n(&e->ulen, __ATOMIC_RELAXED) != ulen)
			continue;
		/* The key bytes are compared while the owner may rewrite them:
		 * a torn compare is caught by the sequence check below. */
		bool same = true;
		for (size_t i = 0; i < ulen && same; i++)
			same = __atomic_load_n(&e->user[i], __ATOMIC_RELAXED) == user[i];
		const double *v = c->vals + (size_t)(e - c->ent) * c->n_fields;
		for (uint32_t i = 0; same && i < c->n_fields; i++)
			__atomic_load(&v[i], &out[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (same && __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s0)
			return true;
	}
	return false;
}

void ctl_rcache_flush(struct ctl_rcache *c)
{
	for (size_t i = 0; i < (size_t)c->n_buckets * RC_WAYS; i++)
		drop_ent(c, &c->ent[i]);
	c->valid = 0;
	c->epoch++;
	WR_COUNT(c->cnt, redis_cache_flushes);
}

uint32_t ctl_rcache_size(const struct ctl_rcache *c)
{
	return c ? c->valid : 0;
}

static void invalidate_key(struct ctl_rcache *c, const char *key, size_t len)
{
	WR_COUNT(c->cnt, redis_cache_invalidations);
	if (len < c->prefix_len || memcmp(key, c->prefix, c->prefix_len) != 0)
		return;
	key += c->prefix_len;
	len -= c->prefix_len;
	if (len > RCACHE_USER_MAX)
		return;
	struct rc_ent *e = find(c, key, len, user_hash(key, len));
	if (e)
		drop_ent(c, e);   /* a reply still on its way finds no slot of its gen */
}

/* ---- listener ---- */

static void ls_close(struct ctl_rcache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->rd)
		redisReaderFree(c->rd);
	c->rd = NULL;
	c->client_id = 0;
}

static void ls_down(struct ctl_rcache *c, const char *what, const char *why)
{
	bool was_up = c->ls == LS_UP;
	WR_COUNT(c->cnt, redis_errors);   /* as a lost or failed lookup connection */
	ls_close(c);
	c->ls = LS_DOWN;
	int64_t now = wr_mono_us();
	c->next_connect_us = now + c->backoff_us;
	uint32_t supp;
	if (wr_ratelimit_pass(&c->rl_conn, &supp))
		WR_WARN(RC_LOG_MOD, "%s: invalidation listener: %s: %s; cache off, retry in %lld ms",
			c->where, what, why, (long long)(c->backoff_us / WR_US_PER_MS));
	c->backoff_us = c->backoff_us > c->rc_max_us / 2 ? c->rc_max_us : c->backoff_us * 2;
	if (was_up || c->valid)
		ctl_rcache_flush(c);
	else
		c->epoch++;
}

static void ls_hello(struct ctl_rcache *c)
{
	static const char hello[] = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n"
				    "*2\r\n$9\r\nSUBSCRIBE\r\n$20\r\n" RC_CHANNEL "\r\n";
	ssize_t n = write(c->fd, hello, sizeof(hello) - 1);
	if (n != (ssize_t)(sizeof(hello) - 1)) {
		ls_down(c, "subscribe", n < 0 ? strerror(errno) : "short write");
		return;
	}
	c->rd = redisReaderCreate();
	if (!c->rd) {
		ls_down(c, "subscribe", "out of memory");
		return;
	}
	c->ls = LS_HELLO;
}

static void ls_connect(struct ctl_rcache *c, int64_t now)
{
	int rc;
	c->connect_started_us = now;
	if (c->unix_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(c->unix_path) >= sizeof(sa.sun_path)) {
			ls_down(c, "connect", "unix path too long");
			return;
		}
		strcpy(sa.sun_path, c->unix_path);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			ls_down(c, "socket", strerror(errno));
			return;
		}
		rc = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		char port[8];
		snprintf(port, sizeof(port), "%u", c->port);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
		struct addrinfo *ai = NULL;
		int gr = getaddrinfo(c->host, port, &hints, &ai);
		if (gr != 0 || !ai) {
			ls_down(c, "resolve", gai_strerror(gr));
			return;
		}
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (c->fd < 0) {
			freeaddrinfo(ai);
			ls_down(c, "socket", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
	}
	if (rc == 0) {
		ls_hello(c);
	} else if (errno == EINPROGRESS || errno == EAGAIN) {
		c->ls = LS_CONNECTING;
	} else {
		ls_down(c, "connect", strerror(errno));
	}
}

static bool is_str(const redisReply *e, const char *s)
{
	return e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
	       e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* One reply from the listener socket; false when the connection must go. */
static bool ls_reply(struct ctl_rcache *c, const redisReply *rep)
{
	if (c->ls == LS_HELLO) {
		if (c->client_id == 0) {
			if (rep->type != REDIS_REPLY_INTEGER || rep->integer <= 0)
				return false;
			c->client_id = rep->integer;
			return true;
		}
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
		    !is_str(rep->element[0], "subscribe"))
			return false;
		c->ls = LS_UP;
		c->backoff_us = c->rc_min_us;
		c->epoch++;
		WR_INFO(RC_LOG_MOD, "%s: invalidation listener up (client %lld)", c->where,
			(long long)c->client_id);
		return true;
	}
	/* ["message", channel, keys or nil] */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    !is_str(rep->element[0], "message"))
		return true;
	const redisReply *keys = rep->element[2];
	if (keys->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < keys->elements; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING)
				invalidate_key(c, keys->element[i]->str, keys->element[i]->len);
	} else if (keys->type == REDIS_REPLY_STRING) {
		invalidate_key(c, keys->str, keys->len);
	} else {
		ctl_rcache_flush(c);   /* nil: everything (FLUSHALL, tracking table full) */
	}
	return true;
}

static void ls_read(struct ctl_rcache *c)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n == 0) {
			ls_down(c, "connection lost", "closed by server");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			ls_down(c, "connection lost", strerror(errno));
			return;
		}
		if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK) {
			ls_down(c, "protocol", "bad reply");
			return;
		}
		void *rep;
		while (c->rd) {
			if (redisReaderGetReply(c->rd, &rep) != REDIS_OK) {
				ls_down(c, "protocol", c->rd->errstr);
				return;
			}
			if (!rep)
				break;
			bool ok = ls_reply(c, rep);
			freeReplyObject(rep);
			if (!ok) {
				ls_down(c, "subscribe", "unexpected reply");
				return;
			}
		}
		if ((size_t)n < sizeof(buf))
			break;
	}
}

void ctl_rcache_sync(struct ctl_rcache *c)
{
	if (!c || c->ls != LS_UP)
		return;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)))
		ls_read(c);
}

int ctl_rcache_fd(const struct ctl_rcache *c, short *events)
{
	if (!c || c->fd < 0)
		return -1;
	*events = c->ls == LS_CONNECTING ? POLLOUT : POLLIN;
	return c->fd;
}

int64_t ctl_rcache_due(const struct ctl_rcache *c)
{
	if (!c)
		return INT64_MAX;
	if (c->ls == LS_DOWN)
		return c->next_connect_us;
	if (c->ls == LS_CONNECTING)
		return c->connect_started_us + c->connect_timeout_us;
	return INT64_MAX;
}

void ctl_rcache_handle(struct ctl_rcache *c, short revents, int64_t now)
{
	if (!c)
		return;
	if (c->ls == LS_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
			err = errno;
		if (err)
			ls_down(c, "connect", strerror(err));
		else
			ls_hello(c);
		return;
	}
	if ((c->ls == LS_HELLO || c->ls == LS_UP) && (revents & (POLLIN | POLLERR | POLLHUP)))
		ls_read(c);
	if (c->ls == LS_CONNECTING && now - c->connect_started_us >= c->connect_timeout_us)
		ls_down(c, "connect", "timed out");
	else if (c->ls == LS_DOWN && now >= c->next_connect_us)
		ls_connect(c, now);
}

int64_t ctl_rcache_client_id(const struct ctl_rcache *c)
{
	return c && c->ls == LS_UP ? c->client_id : 0;
}

uint64_t ctl_rcache_epoch(const struct ctl_rcache *c)
{
	return c ? c->epoch : 0;
}

/* ---- create / destroy ---- */

int ctl_rcache_create(const struct ctl_rcache_opts *o, struct wr_counters *cnt,
		      struct ctl_rcache **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!o || (!o->host == !o->unix_path) || o->entries == 0 || o->n_fields == 0 ||
	    o->n_fields > RCACHE_FIELDS_MAX) {
		snprintf(err, errlen, "redis cache: bad options (entries %u, fields %u, max %u)",
			 o ? o->entries : 0, o ? o->n_fields : 0, RCACHE_FIELDS_MAX);
		return -EINVAL;
	}
	struct ctl_rcache *c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->fd = -1;
	c->cnt = cnt ? cnt : &c->dummy_cnt;
	c->port = o->port ? o->port : 6379;
	c->rc_min_us = o->reconnect_min_us > 0 ? o->reconnect_min_us : 100 * WR_US_PER_MS;
	c->rc_max_us = o->reconnect_max_us > 0 ? o->reconnect_max_us : 5 * WR_US_PER_SEC;
	c->connect_timeout_us = o->connect_timeout_us > 0 ? o->connect_timeout_us : WR_US_PER_SEC;
	c->backoff_us = c->rc_min_us;
	c->rl_conn = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 2);
	c->epoch = 1;
	c->n_fields = o->n_fields;
	c->n_buckets = (o->entries + RC_WAYS - 1) / RC_WAYS;
	c->prefix = strdup(o->key_prefix ? o->key_prefix : "");
	if (!c->prefix)
		goto nomem;
	c->prefix_len = strlen(c->prefix);
	if (o->host) {
		if (!(c->host = strdup(o->host)))
			goto nomem;
		snprintf(c->where, sizeof(c->where), "%s:%u", c->host, c->port);
	} else {
		if (!(c->unix_path = strdup(o->unix_path)))
			goto nomem;
		snprintf(c->where, sizeof(c->where), "unix:%s", c->unix_path);
	}
	size_t n = (size_t)c->n_buckets * RC_WAYS;
	if (posix_memalign((void **)&c->ent, 64, n * sizeof(*c->ent)) != 0) {
		c->ent = NULL;
		goto nomem;
	}
	memset(c->ent, 0, n * sizeof(*c->ent));
	c->vals = calloc(n * c->n_fields, sizeof(double));
	if (!c->vals)
		goto nomem;
	ls_connect(c, wr_mono_us());
	*out = c;
	return 0;
nomem:
	ctl_rcache_destroy(c);
	snprintf(err, errlen, "redis cache: out of memory");
	return -ENOMEM;
}

void ctl_rcache_destroy(struct ctl_rcache *c)
{
	if (!c)
		return;
	ls_close(c);
	free(c->ent);
	free(c->vals);
	free(c->host);
	free(c->unix_path);
	free(c->prefix);
	free(c);
}
