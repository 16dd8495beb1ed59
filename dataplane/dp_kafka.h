/*
 * dp_kafka.h - the Kafka source: one librdkafka consumer on its own thread
 * (never on a worker lcore) feeding the same workers as the NIC path.
 *
 * Each (topic, partition) gets a slot the first time one of its records is
 * seen; slot s belongs to worker s % n_workers and is that worker's watermark
 * input n_eth_inputs + s / n_workers, so every partition has its own
 * watermark. Records travel as rd_kafka_message_t pointers: source -> worker
 * on a single-producer/single-consumer ring, and back on a return ring once
 * processed, where the source thread stores their offsets (at-least-once:
 * enable.auto.offset.store=false, auto commit of what was processed), sends
 * undecodable ones to the dead-letter topic, and destroys them. Workers make
 * no librdkafka call.
 *
 * Backpressure: when a worker's ring is full, the record is held and the
 * source stops consuming (kafka_pauses counts these stops); librdkafka stops
 * fetching once its local queue is full (queued.max.messages.kbytes). When the
 * held record fits, consumption resumes where it stopped. Nothing is dropped.
 * (rd_kafka_pause_partitions is not used: with librdkafka 2.0.2 a resumed
 * partition was seen never to be fetched again.)
 *
 * Thread safety: dp_kafka_create/start/stop/destroy from the main thread;
 * the rings are SP/SC between the source thread and one worker each.
 */
#ifndef DP_KAFKA_H
#define DP_KAFKA_H

#include <stdint.h>

#include <rte_ring.h>

#include "ctl_config.h"
#include "wr_counters.h"

struct ctl_kafka_producer;

/* One record on its way to a worker (ring element). */
struct dp_kafka_rec {
	void *rkm;                   /* rd_kafka_message_t *, owned by the source thread */
	uint32_t slot;               /* partition slot */
	int16_t status;              /* return ring: 0, a dp_syslog_err, or DP_KAFKA_EVENT_ERR
				      * + a dp_event_err that rejected it */
	uint8_t format;              /* enum ctl_kafka_format of its topic */
	uint8_t pad;
};

#define DP_KAFKA_EVENT_ERR 100

struct dp_kafka;

/*
 * Create the consumer (subscribed to cfg's topics) and one in/return ring pair
 * per worker. @cnt is the source thread's own counter slot; @dlq may be NULL.
 * Returns 0 and *out, or -EINVAL with librdkafka's message in @err.
 */
int dp_kafka_create(const struct ctl_config *cfg, uint32_t n_workers, int socket_id,
		    struct wr_counters *cnt, struct ctl_kafka_producer *dlq, struct dp_kafka **out,
		    char *err, size_t errlen);

/* Rings of worker @w: records in, and processed records back. */
struct rte_ring *dp_kafka_in_ring(struct dp_kafka *k, uint32_t w);
struct rte_ring *dp_kafka_ret_ring(struct dp_kafka *k, uint32_t w);

/* Watermark inputs each worker must reserve for partitions. */
uint32_t dp_kafka_inputs_per_worker(const struct dp_kafka *k);

/* Start the source thread. Returns 0 or -errno. */
int dp_kafka_start(struct dp_kafka *k);

/*
 * Stop after the workers have exited: store the offsets of every processed
 * record, commit, leave the group. Records never processed are not committed
 * (they are read again on the next start).
 */
void dp_kafka_stop(struct dp_kafka *k);

void dp_kafka_destroy(struct dp_kafka *k);

#endif /* DP_KAFKA_H */
