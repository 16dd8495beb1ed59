/*
 * ctl_rcache.h - a local copy of the feature-store values the fraud path
 * looked up, kept exact by Redis's server-assisted client-side caching.
 *
 * Redis (6 and later, CLIENT TRACKING in broadcast mode) sends every key
 * under the prefix that any other client changes on an invalidation
 * channel. With RESP2 (hiredis 0.14) the messages go to a second
 * connection subscribed to __redis__:invalidate, named in the tracking
 * command by its client id (REDIRECT). This module
 * owns that second connection (a plain non-blocking socket; replies parsed
 * with hiredis's reader) and the cache table; ctl_redis turns tracking on
 * for its lookup connection and asks the cache before sending an HMGET.
 *
 * Exactness: a value is served only while both connections are up and
 * tracking is confirmed for the current listener (ctl_redis checks the
 * epoch, which changes whenever the listener (re)connects or the table is
 * flushed). A reply is stored only when no invalidation of its key came
 * between the request and the reply (generation numbers: the invalidation
 * may overtake the reply, since they travel on different connections).
 * The listener lost (or the lookup connection lost) flushes everything.
 * A Redis that is stopped (SIGSTOP) changes nothing, so serving its last
 * values stays exact; a Redis that is gone closes the sockets.
 *
 * Table: set-associative, 4 entries per bucket, round-robin replacement.
 * Users longer than RCACHE_USER_MAX bytes are not cached.
 *
 * Counters: redis_cache_hits, redis_cache_misses, redis_cache_invalidations
 * (keys invalidated by Redis), redis_cache_flushes.
 *
 * Thread safety: the owner of the ctl_redis client calls everything, except
 * ctl_rcache_peek(), which any thread may call at any time.
 */
#ifndef CTL_RCACHE_H
#define CTL_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_counters.h"

#define RCACHE_USER_MAX 46
#define RCACHE_FIELDS_MAX 16

struct ctl_rcache;

struct ctl_rcache_opts {
	const char *host;            /* as for ctl_redis: TCP host and port, */
	uint16_t port;
	const char *unix_path;       /* or a unix socket */
	const char *key_prefix;      /* stripped from invalidated keys */
	uint32_t entries;            /* table size (rounded up to 4) */
	uint32_t n_fields;           /* values per entry, 1..RCACHE_FIELDS_MAX */
	int64_t reconnect_min_us, reconnect_max_us, connect_timeout_us;
};

/* Returns 0 and *out, -EINVAL (named in @err), -ENOMEM. Connects at once. */
int ctl_rcache_create(const struct ctl_rcache_opts *o, struct wr_counters *cnt,
		      struct ctl_rcache **out, char *err, size_t errlen);
void ctl_rcache_destroy(struct ctl_rcache *c);

/* The listener socket and the events to wait for, or -1 (none now). */
int ctl_rcache_fd(const struct ctl_rcache *c, short *events);
/* Handle the listener's poll events (@revents 0: timers only). */
void ctl_rcache_handle(struct ctl_rcache *c, short revents, int64_t now);
/* Read what the listener has received by now (invalidations, or its end),
 * without waiting: before serving values, so that a change Redis has
 * reported (or the loss of the listener) is not missed for lack of a poll.
 * One poll(2) with a zero timeout. */
void ctl_rcache_sync(struct ctl_rcache *c);
/* When ctl_rcache_handle() wants to run next without events (INT64_MAX: never). */
int64_t ctl_rcache_due(const struct ctl_rcache *c);

/* The listener's client id once it is subscribed, else 0. */
int64_t ctl_rcache_client_id(const struct ctl_rcache *c);
/* Changes whenever the listener (re)connects and at every flush. */
uint64_t ctl_rcache_epoch(const struct ctl_rcache *c);

/* The values of @user into @out (n_fields of them); false when not held. */
bool ctl_rcache_get(struct ctl_rcache *c, const char *user, size_t ulen, double *out);
/*
 * The same from any thread, without counting (the caller counts): a copy
 * of the values as one fill stored them, never a mix (a seqlock per entry);
 * false also when the entry is being changed right now. Fresh as of the
 * owner's latest invalidation: whether values may be served at all is the
 * owner's to say (ctl_redis_cache_state()).
 */
bool ctl_rcache_peek(const struct ctl_rcache *c, const char *user, size_t ulen, double *out);
/* An HMGET of @user is about to go out: its generation, for the fill (0 = do not fill). */
uint64_t ctl_rcache_pending(struct ctl_rcache *c, const char *user, size_t ulen);
/* Its reply: stored unless the key was invalidated (or evicted) since. */
void ctl_rcache_fill(struct ctl_rcache *c, const char *user, size_t ulen, uint64_t gen,
		     const double *vals);
/* Drop everything (and change the epoch). */
void ctl_rcache_flush(struct ctl_rcache *c);
/* Entries holding values, for tests. */
uint32_t ctl_rcache_size(const struct ctl_rcache *c);

#endif /* CTL_RCACHE_H */
