/*
 * ctl_kafka.h - the Kafka producer behind the Kafka outputs (windows,
 * alerts, late) and the dead-letter topic: one librdkafka producer per
 * process, shared by the control thread and the Kafka source thread.
 *
 * Delivery is at-least-once and, by default, idempotent
 * (enable.idempotence=true: no duplicates from the producer's own retries).
 * A record is never dropped for lack of room: ctl_kafka_produce() waits for
 * the queue instead (backpressure reaches the caller). Counters, all in the
 * slot given to ctl_kafka_producer_create() and updated atomically, since
 * both threads may serve delivery reports:
 *   kafka_out               records the broker acknowledged
 *   kafka_delivery_errors   records refused at produce time (permanent
 *                           errors) or whose delivery failed (timeout,
 *                           unknown topic, authorisation, ...)
 *   kafka_queue_full_waits  10 ms waits for room in the producer queue
 * Delivery failures and client errors (broker down, ...) are logged at a
 * rate limit, never fatal.
 *
 * Thread safety: ctl_kafka_produce(), ctl_kafka_poll() and
 * ctl_kafka_flush() may be called from any thread at the same time (the
 * control thread and the source thread); create and destroy from one
 * thread while no other uses the producer.
 */
#ifndef CTL_KAFKA_H
#define CTL_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "ctl_config.h"
#include "wr_counters.h"

struct ctl_kafka_producer;

/*
 * Create the producer from @cfg: enable.idempotence=true, then
 * cfg->kafka_producer_props in file order (so a user's
 * enable.idempotence: false wins), then bootstrap.servers =
 * cfg->kafka_brokers. Connecting happens in the background: a broker that
 * is down is not an error here.
 * @cnt may be NULL (nothing counted); otherwise it must outlive the producer.
 * Returns 0 and *out, -EINVAL when cfg->kafka_brokers is NULL or librdkafka
 * refuses a property or the client ("kafka producer: reason" in @err), or
 * -ENOMEM. *out is NULL on error.
 */
int ctl_kafka_producer_create(const struct ctl_config *cfg, struct wr_counters *cnt,
			      struct ctl_kafka_producer **out, char *err, size_t errlen);

/*
 * Queue one record for @topic: @klen bytes of @key (@key NULL or @klen 0 =
 * no key; Kafka's default partitioner then spreads records), @vlen bytes of
 * @value, and the headers @hdrs: name, value, name, value, ..., NULL
 * (strings; NULL @hdrs = none). Everything is copied: the caller's buffers
 * may be reused at once.
 * When the producer queue is full (queue.buffering.max.messages or
 * .kbytes), serves delivery reports for up to 10 ms and tries again, for as
 * long as it takes (each wait counted in kafka_queue_full_waits): records are
 * never dropped here, so a slow or absent broker slows the caller. The queue
 * drains by deliveries or by message.timeout.ms expiring, so the wait ends.
 * Returns 0 once queued (delivery is reported later, see the counters), or
 * for a permanent error (counted in kafka_delivery_errors, logged at a rate
 * limit): -EMSGSIZE (record too large), -ENOENT (unknown topic or
 * partition, when librdkafka already knows it), -EINVAL (bad argument),
 * -ENOMEM, -EIO (any other error, e.g. a fatal idempotence error).
 */
int ctl_kafka_produce(struct ctl_kafka_producer *p, const char *topic, const char *key,
		      size_t klen, const char *value, size_t vlen, const char *const *hdrs);

/*
 * As ctl_kafka_produce(), but never waits: when the producer queue is full
 * it returns -ENOBUFS at once and counts nothing (the caller counts its
 * drop). For threads whose latency matters more than the record (the fraud
 * thread's audit records: an answer must not wait for a slow broker).
 */
int ctl_kafka_produce_nowait(struct ctl_kafka_producer *p, const char *topic, const char *key,
			     size_t klen, const char *value, size_t vlen, const char *const *hdrs);

/* Serve delivery reports and client errors without blocking. Call often (every loop). */
void ctl_kafka_poll(struct ctl_kafka_producer *p);

/*
 * Wait up to @timeout_ms (0 = do not wait) for every queued record to be
 * delivered or to fail. Returns the records still queued or in flight.
 */
int ctl_kafka_flush(struct ctl_kafka_producer *p, int timeout_ms);

/*
 * Flush for up to 10 s, then give up on what is left (each such record is
 * counted in kafka_delivery_errors and the total is logged) and free the
 * producer. NULL is a no-op.
 */
void ctl_kafka_producer_destroy(struct ctl_kafka_producer *p);

/*
 * The librdkafka handle, for tests and diagnostics (e.g.
 * rd_kafka_handle_mock_cluster() when test.mock.num.brokers is set). The
 * producer keeps ownership: do not destroy it or poll it for events.
 */
rd_kafka_t *ctl_kafka_handle(struct ctl_kafka_producer *p);

#endif /* CTL_KAFKA_H */
