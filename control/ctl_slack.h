/*
 * ctl_slack.h - Slack incoming-webhook client on libcurl's multi interface.
 *
 * Messages are queued by ctl_slack_post() and sent by ctl_slack_poll(),
 * both called from the one control thread that owns the client; nothing
 * blocks. Delivery policy:
 *   2xx                      delivered (slack_posted)
 *   429                      retried after Retry-After seconds (default 1 s,
 *                            capped at max_backoff), slack_retries
 *   5xx, timeout, no connect retried with exponential backoff from
 *                            backoff_base to max_backoff, at most max_retries
 *   other 4xx                permanent failure (slack_failed)
 * The queue is bounded (queue_len); a post into a full queue is dropped and
 * counted (slack_queue_full). The webhook URL is a secret: it is never
 * logged; messages name the client as "slack webhook" only.
 *
 * Details of the policy:
 *  - queue_len bounds queued plus in-flight messages together.
 *  - Retry-After is taken in either form (delta-seconds or HTTP-date, parsed
 *    by libcurl); absent or 0 means 1 s. The wait is capped at backoff_max.
 *  - Retry timing is per client: after a 429, 5xx or transport error the
 *    message goes back to the head of the queue (order is kept) and no new
 *    request starts until the timer expires; transfers already in flight
 *    finish. The n-th retry of a message waits backoff_base * 2^(n-1),
 *    capped at backoff_max (a 429 waits Retry-After instead).
 *  - Every kind of retry (429 included) counts against max_retries: a
 *    message gets at most 1 + max_retries attempts, then slack_failed.
 *  - 1xx/3xx/4xx other than 429 are permanent (redirects are not followed),
 *    as are curl errors no retry can fix (bad URL, TLS verification).
 *  - Each retry counts slack_retries once; each message ends in exactly one
 *    of slack_posted or slack_failed (or was refused by ctl_slack_post).
 *  - Log lines (retries, failures, queue full) are rate-limited per kind.
 *  - libcurl honours the usual proxy environment variables.
 *
 * ctl_slack_create() calls curl_global_init() (reference-counted): create
 * the first client before other threads use libcurl.
 *
 * Thread safety: none; one thread per client.
 */
#ifndef CTL_SLACK_H
#define CTL_SLACK_H

#include <stdint.h>

#include "wr_counters.h"

struct ctl_slack_opts {
	const char *webhook_url;     /* copied */
	uint32_t queue_len;          /* default 1024 */
	uint32_t max_inflight;       /* parallel requests, default 4 */
	int64_t timeout_us;          /* per request, default 5 s */
	uint32_t max_retries;        /* default 5 */
	int64_t backoff_base_us;     /* default 500 ms */
	int64_t backoff_max_us;      /* default 60 s */
};

struct ctl_slack;

/*
 * Returns 0 and *out, or -EINVAL (no URL, not an http(s) URL, negative
 * times) / -ENOMEM with a reason in @err (the reason never quotes the URL).
 * A 0 in any numeric field of @o means the default shown above.
 * @cnt may be NULL (counters are then kept privately and not visible);
 * otherwise it must outlive the client and is written only from poll/post.
 */
int ctl_slack_create(const struct ctl_slack_opts *o, struct wr_counters *cnt,
		     struct ctl_slack **out, char *err, size_t errlen);

/*
 * Stops in-flight requests and frees everything; NULL is a no-op.
 * Messages still queued or in flight are counted as slack_failed; to drain
 * first, call ctl_slack_poll() until ctl_slack_pending() is 0 or a deadline.
 */
void ctl_slack_destroy(struct ctl_slack *s);

/*
 * Queue one JSON payload (copied; sent as-is with Content-Type:
 * application/json). Never blocks or does I/O: sending happens in poll.
 * Returns 0, -ENOBUFS when the queue is full (counted slack_queue_full),
 * -ENOMEM, or -EINVAL when @json is NULL.
 */
int ctl_slack_post(struct ctl_slack *s, const char *json);

/*
 * Drive transfers and retries; never blocks longer than @max_wait_us
 * (0 = do not wait). Returns early when a socket is ready or a retry timer
 * expires, so a loop calling it with the control tick is enough.
 */
void ctl_slack_poll(struct ctl_slack *s, int64_t max_wait_us);

/* Messages queued or in flight (0 when everything is delivered or given up). */
uint32_t ctl_slack_pending(const struct ctl_slack *s);

#endif /* CTL_SLACK_H */
