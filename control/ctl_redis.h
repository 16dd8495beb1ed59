/*
 * ctl_redis.h - the Redis feature store: per-user feature lookups (HMGET)
 * with a deadline, and fire-and-forget write-back of aggregates (HSET).
 *
 * One hiredis async connection, driven by poll() from ctl_redis_poll() (no
 * libevent): a burst of lookups is written in one go (pipelined: one round
 * trip per burst, never one per feature). Each lookup is answered exactly
 * once through its callback:
 *   - complete when every reply arrived (missing users/fields are NaN);
 *   - incomplete at its deadline, with whatever had arrived by then;
 *   - incomplete at once when Redis is not connected.
 * The caller marks a decision made on an incomplete answer as degraded.
 * Replies that come after the deadline are discarded (the request stays
 * behind as a tombstone until hiredis has handed back every reply).
 * A lost connection is re-established with exponential backoff between
 * reconnect_min_us and reconnect_max_us. Nothing here blocks except the
 * bounded wait the caller asks ctl_redis_poll() for.
 *
 * Usage:
 *   struct ctl_redis_opts o = { .host = "127.0.0.1", .port = 6379,
 *                               .deadline_us = 2000, .key_prefix = "user:" };
 *   ctl_redis_create(&o, cnt, &r, err, sizeof(err));
 *   ctl_redis_lookup(r, users, 32, fields, 5, on_done, ctx);
 *   for (;;) ctl_redis_poll(r, 1000);          // the control loop
 *
 * Counters (in the slot given to ctl_redis_create(), plain increments):
 *   redis_lookups          lookups asked for (valid arguments)
 *   redis_lookup_timeouts  lookups answered incomplete at their deadline
 *   redis_lookup_failed    lookups answered incomplete because Redis was not
 *                          connected, the connection was lost while they
 *                          waited, or too many requests were in flight
 *   redis_replies_late     HMGET replies that came after their deadline
 *   redis_writes           HSET write-backs Redis acknowledged
 *   redis_reconnects       connections established after the first one
 *   redis_errors           error replies (e.g. WRONGTYPE), unparsable
 *                          replies, write-backs refused (not connected, too
 *                          many in flight) or lost with the connection,
 *                          connect failures and stalled connections dropped,
 *                          and the cache's invalidation listener lost, refused
 *                          or sent something unparsable (see ctl_rcache.h)
 *   redis_cache_*          the client-side cache (see ctl_rcache.h)
 *
 * The process must ignore SIGPIPE (main() does): hiredis writes with
 * write(2), and a peer that reset the connection would otherwise kill it.
 *
 * Thread safety: none. One owner thread (the control thread) calls every
 * function; callbacks run on that thread, from inside ctl_redis_lookup(),
 * ctl_redis_poll() or ctl_redis_destroy().
 */
#ifndef CTL_REDIS_H
#define CTL_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_counters.h"

struct ctl_redis;
struct ctl_rcache;

/*
 * Options. Zero values take the defaults given; strings are copied.
 * Exactly one of @host (TCP, with @port) or @unix_path must be set.
 */
struct ctl_redis_opts {
	const char *host;            /* IPv4/IPv6 address, e.g. "127.0.0.1"; a name
	                              * works but is resolved with a blocking
	                              * getaddrinfo() at every connect attempt */
	uint16_t port;               /* TCP port; default 6379 */
	const char *unix_path;       /* unix socket path, instead of host/port */
	int64_t deadline_us;         /* per lookup; default 2000 (2 ms) */
	int64_t reconnect_min_us;    /* first backoff; default 100000 (100 ms) */
	int64_t reconnect_max_us;    /* backoff cap; default 5000000 (5 s) */
	int64_t connect_timeout_us;  /* a connect still pending after this is
	                              * abandoned and retried; default 1000000 */
	int64_t stall_timeout_us;    /* a connection whose oldest outstanding
	                              * lookup has waited this long is dropped and
	                              * re-established; default 2000000 */
	int64_t write_hold_us;       /* a write-back waits up to this long for the
	                              * next lookup burst, to go out in the same
	                              * write(2) and be served in the same Redis
	                              * wake-up; default 1000 (1 ms) */
	uint32_t max_pending;        /* requests (lookups, tombstones and writes)
	                              * in flight at most; default 4096 */
	const char *key_prefix;      /* prepended to each user to form the hash
	                              * key, e.g. "user:"; default "" */
	uint32_t cache_entries;      /* > 0: keep the looked-up values of this many
	                              * users in a client-side cache that Redis keeps
	                              * exact (CLIENT TRACKING, see ctl_rcache.h); a
	                              * lookup of cache_fields answered from it needs
	                              * no round trip. 0 = off */
	const char *const *cache_fields; /* the fields the cache holds (lookups of */
	uint32_t cache_n_fields;     /* other fields bypass it), at most 16 */
	int wake_fd;                 /* > 0: a file descriptor (an eventfd) that
	                              * ctl_redis_poll() also waits on while it
	                              * sleeps; readable ends the sleep and it is
	                              * read once (8 bytes) to reset it. 0 = none
	                              * (so a zeroed struct means none) */
};

/*
 * The answer to one lookup. @results is @n rows (one per user, in the order
 * asked) of @n_fields doubles (one per field, in the order asked):
 * results[u * n_fields + f]. A value is NaN when the user or field does not
 * exist, its value is not a finite number, its reply did not arrive (see
 * @complete), or Redis answered that user with an error.
 * @complete is true when every reply arrived without an error reply.
 * @results belongs to the library and is valid only during the call.
 * The callback may call ctl_redis_lookup() and ctl_redis_write(), but not
 * ctl_redis_poll() or ctl_redis_destroy().
 */
typedef void (*ctl_redis_done_fn)(void *ctx, uint64_t id, const double *results,
				  uint32_t n, uint32_t n_fields, bool complete);

/*
 * Create the client and start a non-blocking connect (a Redis that is down
 * is not an error: lookups answer incomplete until it is reachable).
 * @cnt may be NULL (nothing counted); otherwise it must outlive the client.
 * Returns 0 and *out; -EINVAL for bad options (neither or both of host and
 * unix_path, a negative time, reconnect_min_us > reconnect_max_us; the
 * offending option is named in @err), -ENOMEM. *out is NULL on error.
 */
int ctl_redis_create(const struct ctl_redis_opts *opts, struct wr_counters *cnt,
		     struct ctl_redis **out, char *err, size_t errlen);

/*
 * Look up @n_fields @fields of each of the @n @users: one HMGET of key
 * key_prefix+user per user, all written to the socket in one go.
 * @cb(@ctx, id, ...) is called exactly once (see ctl_redis_done_fn): from
 * ctl_redis_poll() when the replies are in or at the deadline, from inside
 * this call when Redis is not connected or too many requests are in flight
 * (then before this function returns the same id), or from
 * ctl_redis_destroy(). @users and @fields are copied into the request: the
 * caller may reuse them at once.
 * Returns the lookup's id (> 0, increasing), or 0 for invalid arguments
 * (NULL r/users/fields/cb or a NULL entry, n or n_fields 0, n * n_fields
 * above 16 Mi) or when out of memory: then @cb is not called.
 * Cost: one allocation per lookup; the burst is written at once unless
 * called from a callback (then by the next ctl_redis_poll()).
 */
uint64_t ctl_redis_lookup(struct ctl_redis *r, const char *const *users, uint32_t n,
			  const char *const *fields, uint32_t n_fields,
			  ctl_redis_done_fn cb, void *ctx);

/*
 * Write back @n fields of one user: HSET key_prefix+user f1 v1 f2 v2 ...
 * (values in the shortest of three forms that read back as
 * exactly the double: "42", "123.45" for multiples of 1e-6, else "%.17g"). Fire and forget: queued now,
 * written with the next lookup burst or by ctl_redis_poll() once it has
 * waited write_hold_us, whichever comes first; redis_writes counts acknowledged writes and
 * redis_errors refused or failed ones.
 * Returns 0 when queued, -ENOTCONN when Redis is not connected, -EBUSY
 * when max_pending requests are in flight, -EINVAL for bad arguments
 * (NULL pointers, n 0, a value that is not finite), -ENOMEM.
 */
int ctl_redis_write(struct ctl_redis *r, const char *user, const char *const *fields,
		    const double *values, uint32_t n);

/*
 * Drive the client: wait up to @max_wait_us (0 = do not wait) for socket
 * events, though never past the next lookup deadline or reconnect time;
 * read and write what is ready; answer lookups whose replies are in or
 * whose deadline has passed; start a reconnect when one is due; drop a
 * connect that timed out or a stalled connection. Call it from the control
 * loop often enough for the deadlines to be kept (lookups are answered here,
 * so a deadline is only as punctual as the calls).
 * Returns the number of lookups answered during the call (>= 0).
 */
int ctl_redis_poll(struct ctl_redis *r, int64_t max_wait_us);

/*
 * Stop holding buffered write-backs: the next ctl_redis_poll() writes them
 * (for a stop: held ones would otherwise go with the client).
 */
void ctl_redis_flush(struct ctl_redis *r);

/* True when the connection is established and usable for lookups. */
bool ctl_redis_connected(const struct ctl_redis *r);

/* The client-side cache: -1 not configured, 0 configured but not serving
 * now (a connection down, tracking not confirmed, Redis not answering),
 * 1 serving; *@held (may be NULL) = users whose values it holds. */
int ctl_redis_cache_state(const struct ctl_redis *r, uint32_t *held);
/* The cache table, for ctl_rcache_peek() from other threads while the
 * owner says it serves (NULL: no cache). Lives as long as @r. */
const struct ctl_rcache *ctl_redis_cache(const struct ctl_redis *r);

/*
 * Lookups and write-backs still waiting for replies from Redis (tombstones
 * of timed-out lookups included). For tests and draining at shutdown.
 */
uint32_t ctl_redis_in_flight(const struct ctl_redis *r);

/*
 * Close the connection and free the client. Lookups not yet answered are
 * answered incomplete (counted in redis_lookup_failed) before it returns.
 * NULL is a no-op. Must not be called from a lookup callback.
 */
void ctl_redis_destroy(struct ctl_redis *r);

#endif /* CTL_REDIS_H */
