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

/* Returns 0 and *out, or -EINVAL (no URL) / -ENOMEM with a reason in @err. */
int ctl_slack_create(const struct ctl_slack_opts *o, struct wr_counters *cnt,
		     struct ctl_slack **out, char *err, size_t errlen);

/* Stops in-flight requests and frees everything; NULL is a no-op. */
void ctl_slack_destroy(struct ctl_slack *s);

/* Queue one JSON payload (copied). Returns 0 or -ENOBUFS when the queue is full. */
int ctl_slack_post(struct ctl_slack *s, const char *json);

/* Drive transfers and retries; never blocks longer than @max_wait_us. */
void ctl_slack_poll(struct ctl_slack *s, int64_t max_wait_us);

/* Messages queued or in flight (0 when everything is delivered or given up). */
uint32_t ctl_slack_pending(const struct ctl_slack *s);

#endif /* CTL_SLACK_H */
