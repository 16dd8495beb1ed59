/* dp_kafka.c - the Kafka source thread. See dp_kafka.h for the model. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "ctl_kafka.h"
#include "dp_kafka.h"
#include "dp_event.h"
#include "dp_syslog.h"
#include "wr_common.h"

#define RET_BURST 64
#define PENDING_MAX 1024
#define CONSUME_BATCH 256             /* <= PENDING_MAX: a held batch always fits */
#define POLL_MS 10
#define STORE_EVERY_US (100 * WR_US_PER_MS)
#define LAG_EVERY_US WR_US_PER_SEC
#define ANNOUNCE_EVERY_US (20 * WR_US_PER_MS)

struct kslot {
	char *topic;
	uint8_t format;              /* enum ctl_kafka_format of the topic */
	int32_t partition;
	int64_t next_offset;         /* last processed + 1; -1 before any */
	int64_t stored_offset;       /* what was last handed to offsets_store */
	int64_t last_ts_us;          /* record timestamp of the last processed record */
};

struct kworker {
	struct rte_ring *in, *ret;
	struct dp_kafka_rec pending[PENDING_MAX]; /* held while the ring is full */
	uint32_t n_pending, pending_head;
};

struct dp_kafka {
	const struct ctl_config *cfg;
	rd_kafka_t *rk;
	rd_kafka_queue_t *cq;        /* the consumer queue, read in batches */
	struct wr_counters *cnt;
	struct ctl_kafka_producer *dlq;
	uint32_t n_workers;
	struct kworker w[16];
	struct kslot *slots;
	uint32_t n_slots, max_slots;
	bool overflow_warned;
	bool paused;
	volatile int stop;
	pthread_t thread;
	bool running;
	struct wr_ratelimit rl;
};

/* ---- slots ---------------------------------------------------------------- */

static uint32_t slot_of(struct dp_kafka *k, const char *topic, int32_t partition)
{
	for (uint32_t i = 0; i < k->n_slots; i++)
		if (k->slots[i].partition == partition && !strcmp(k->slots[i].topic, topic))
			return i;
	if (k->n_slots == k->max_slots) {
		/* Past the limit, partitions share the last slot's watermark: still
		 * processed, only their watermarks are merged. */
		if (!k->overflow_warned) {
			WR_WARN("kafka", "more than %u partitions: raise kafka.max_partitions; "
				"the rest share one watermark", k->max_slots);
			k->overflow_warned = true;
		}
		return k->max_slots - 1;
	}
	struct kslot *s = &k->slots[k->n_slots];
	s->topic = strdup(topic);
	s->format = CTL_KAFKA_FMT_SYSLOG;
	for (uint32_t i = 0; i < k->cfg->n_kafka_topics; i++)
		if (!strcmp(k->cfg->kafka_topics[i].name, topic))
			s->format = (uint8_t)k->cfg->kafka_topics[i].format;
	s->partition = partition;
	s->next_offset = -1;
	s->stored_offset = -1;
	s->last_ts_us = 0;
	return k->n_slots++;
}

/* ---- returned records ------------------------------------------------------ */

static const char *reject_reason(int status)
{
	return status >= DP_KAFKA_EVENT_ERR ? dp_event_strerror(status - DP_KAFKA_EVENT_ERR)
					    : dp_syslog_strerror(status);
}

static void dead_letter(struct dp_kafka *k, rd_kafka_message_t *m, int status)
{
	WR_COUNT(k->cnt, kafka_dead_letter);
	const char *topic = rd_kafka_topic_name(m->rkt);
	uint32_t supp;
	if (wr_ratelimit_pass(&k->rl, &supp))
		WR_WARN("kafka", "record %s/%d@%lld rejected: %s%s", topic, m->partition,
			(long long)m->offset, reject_reason(status),
			k->dlq && k->cfg->dead_letter_kafka ? " (sent to the dead-letter topic)" : "");
	if (!k->dlq || !k->cfg->dead_letter_kafka)
		return;
	char src[320];
	snprintf(src, sizeof(src), "%s/%d@%lld", topic, m->partition, (long long)m->offset);
	const char *hdrs[] = { "weir.error", reject_reason(status), "weir.source", src, NULL };
	ctl_kafka_produce(k->dlq, k->cfg->dead_letter_kafka, m->key, m->key_len, m->payload,
			  m->len, hdrs);
}

static void drain_returns(struct dp_kafka *k)
{
	struct dp_kafka_rec recs[RET_BURST];
	for (uint32_t w = 0; w < k->n_workers; w++) {
		unsigned n;
		do {
			n = rte_ring_sc_dequeue_burst_elem(k->w[w].ret, recs, sizeof(recs[0]),
							   RET_BURST, NULL);
			for (unsigned i = 0; i < n; i++) {
				rd_kafka_message_t *m = recs[i].rkm;
				struct kslot *s = &k->slots[recs[i].slot];
				if (recs[i].status)
					dead_letter(k, m, recs[i].status);
				if (m->offset + 1 > s->next_offset)
					s->next_offset = m->offset + 1;
				rd_kafka_timestamp_type_t tt;
				int64_t ts = rd_kafka_message_timestamp(m, &tt);
				if (ts >= 0)
					s->last_ts_us = ts * WR_US_PER_MS;
				rd_kafka_message_destroy(m);
			}
		} while (n == RET_BURST);
	}
}

/* Hand the offsets of processed records to librdkafka's auto commit. */
static void store_offsets(struct dp_kafka *k)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	for (uint32_t i = 0; i < k->n_slots; i++) {
		struct kslot *s = &k->slots[i];
		if (s->next_offset < 0 || s->next_offset == s->stored_offset)
			continue;
		if (!l)
			l = rd_kafka_topic_partition_list_new((int)k->n_slots);
		rd_kafka_topic_partition_list_add(l, s->topic, s->partition)->offset =
			s->next_offset;
		s->stored_offset = s->next_offset;
	}
	if (!l)
		return;
	/* A partition revoked meanwhile fails with _STATE: its new owner
	 * starts from the last commit, which is at-least-once. */
	rd_kafka_offsets_store(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

static void update_lag(struct dp_kafka *k)
{
	int64_t total = 0, behind_us = 0, now = wr_wall_us();
	for (uint32_t i = 0; i < k->n_slots; i++) {
		struct kslot *s = &k->slots[i];
		int64_t lo, hi;
		if (rd_kafka_get_watermark_offsets(k->rk, s->topic, s->partition, &lo, &hi) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
			continue;
		int64_t pos = s->next_offset < 0 ? lo : s->next_offset;
		int64_t lag = hi > pos ? hi - pos : 0;
		total += lag;
		if (lag && s->last_ts_us && now - s->last_ts_us > behind_us)
			behind_us = now - s->last_ts_us;
	}
	/* Gauges: this thread is the only writer of its slot. */
	k->cnt->v[WR_CNT_kafka_lag_records] = (uint64_t)total;
	k->cnt->v[WR_CNT_kafka_lag_seconds] = (uint64_t)(behind_us / WR_US_PER_SEC);
}

/* ---- backpressure ----------------------------------------------------------- */

/*
 * Flow control: while a record is held, the source stops consuming; librdkafka
 * then stops fetching once its local queue reaches queued.max.messages.kbytes,
 * and fetching resumes as soon as the source consumes again. This is used
 * instead of rd_kafka_pause_partitions(): with librdkafka 2.0.2 a resumed
 * partition was seen never to be fetched again (the broker thread did not put
 * it back on its fetch list), which stalled the stream.
 */
static void set_paused(struct dp_kafka *k, bool pause)
{
	if (pause && !k->paused)
		WR_COUNT(k->cnt, kafka_pauses);
	k->paused = pause;
}

/* Move held records into their rings; true when nothing is held any more. */
static bool flush_pending(struct dp_kafka *k)
{
	bool all = true;
	for (uint32_t w = 0; w < k->n_workers; w++) {
		struct kworker *kw = &k->w[w];
		while (kw->n_pending) {
			if (rte_ring_sp_enqueue_elem(kw->in, &kw->pending[kw->pending_head],
						     sizeof(struct dp_kafka_rec)) != 0)
				break;
			kw->pending_head = (kw->pending_head + 1) % PENDING_MAX;
			kw->n_pending--;
		}
		if (kw->n_pending)
			all = false;
	}
	return all;
}

/* Into the worker's ring in order, behind any held record; never dropped. */
static void send_rec(struct dp_kafka *k, const struct dp_kafka_rec *rp)
{
	struct dp_kafka_rec r = *rp;
	struct kworker *kw = &k->w[r.slot % k->n_workers];
	/* Keep order: behind held records, or into the ring. */
	if (kw->n_pending == 0 &&
	    rte_ring_sp_enqueue_elem(kw->in, &r, sizeof(r)) == 0)
		return;
	if (kw->n_pending == PENDING_MAX) {
		/* Cannot happen while paused partitions deliver nothing; if it does,
		 * wait for room rather than drop. */
		while (rte_ring_sp_enqueue_elem(kw->in, &kw->pending[kw->pending_head],
						sizeof(r)) != 0)
			drain_returns(k);
		kw->pending_head = (kw->pending_head + 1) % PENDING_MAX;
		kw->n_pending--;
	}
	kw->pending[(kw->pending_head + kw->n_pending) % PENDING_MAX] = r;
	kw->n_pending++;
	set_paused(k, true);
}

static void dispatch(struct dp_kafka *k, rd_kafka_message_t *m)
{
	uint32_t slot = slot_of(k, rd_kafka_topic_name(m->rkt), m->partition);
	struct dp_kafka_rec r = { .rkm = m, .slot = slot, .status = 0,
				  .format = k->slots[slot].format };
	WR_COUNT(k->cnt, kafka_in);
	send_rec(k, &r);
}

/* Give every newly assigned partition its slot and announce it to its worker
 * (a record without message): its watermark then holds the others back until
 * its first record, so a partition read later is not late against the rest. */
static void announce_assignment(struct dp_kafka *k)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	if (rd_kafka_assignment(k->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
		return;
	for (int i = 0; i < a->cnt; i++) {
		uint32_t before = k->n_slots;
		uint32_t slot = slot_of(k, a->elems[i].topic, a->elems[i].partition);
		if (k->n_slots == before)
			continue; /* known already */
		struct dp_kafka_rec r = { .rkm = NULL, .slot = slot,
					  .format = k->slots[slot].format };
		send_rec(k, &r);
	}
	rd_kafka_topic_partition_list_destroy(a);
}

static void *source_main(void *arg)
{
	struct dp_kafka *k = arg;
	int64_t last_store = wr_mono_us(), last_lag = last_store, last_announce = 0;
	while (!k->stop) {
		drain_returns(k);
		if (flush_pending(k))
			set_paused(k, false);
		if (k->paused) {
			/* A worker is behind: consume nothing until its queue has room. */
			struct timespec ts = { 0, 200 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		/* A batch per call: one poll per record costs more than the worker's
		 * whole parse-and-scan of it. */
		rd_kafka_message_t *batch[CONSUME_BATCH];
		ssize_t n = rd_kafka_consume_batch_queue(k->cq, POLL_MS, batch, CONSUME_BATCH);
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = batch[i];
			if (!m->err) {
				dispatch(k, m);
				continue;
			}
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				uint32_t supp;
				if (wr_ratelimit_pass(&k->rl, &supp))
					WR_WARN("kafka", "consumer: %s", rd_kafka_message_errstr(m));
			}
			rd_kafka_message_destroy(m);
		}
		int64_t now = wr_mono_us();
		if (now - last_store >= STORE_EVERY_US) {
			store_offsets(k);
			last_store = now;
		}
		if (now - last_announce >= ANNOUNCE_EVERY_US) {
			announce_assignment(k);
			last_announce = now;
		}
		if (now - last_lag >= LAG_EVERY_US) {
			update_lag(k);
			last_lag = now;
		}
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *c, const char *name, const char *value, char *err,
		    size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(c, name, value, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka consumer property '%s': %s", name, e);
		return -EINVAL;
	}
	return 0;
}

int dp_kafka_create(const struct ctl_config *cfg, uint32_t n_workers, int socket_id,
		    struct wr_counters *cnt, struct ctl_kafka_producer *dlq, struct dp_kafka **out,
		    char *err, size_t errlen)
{
	if (n_workers == 0 || n_workers > 16) {
		snprintf(err, errlen, "kafka source: %u workers (1..16 supported)", n_workers);
		return -EINVAL;
	}
	struct dp_kafka *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "kafka source: out of memory");
		return -ENOMEM;
	}
	k->cfg = cfg;
	k->cnt = cnt;
	k->dlq = dlq;
	k->n_workers = n_workers;
	k->max_slots = cfg->kafka_max_partitions ? cfg->kafka_max_partitions : 256;
	k->slots = calloc(k->max_slots, sizeof(*k->slots));
	k->rl = (struct wr_ratelimit)WR_RATELIMIT_INIT(1000, 5);
	int rc = -ENOMEM;
	if (!k->slots)
		goto fail;
	for (uint32_t w = 0; w < n_workers; w++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "kafka_in_%u", w);
		unsigned qlen = cfg->kafka_queue ? cfg->kafka_queue : 4096;
		k->w[w].in = rte_ring_create_elem(name, sizeof(struct dp_kafka_rec), qlen,
						  socket_id,
						  RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		snprintf(name, sizeof(name), "kafka_ret_%u", w);
		/* Twice the in-ring: a worker never waits for room to return. */
		k->w[w].ret = rte_ring_create_elem(name, sizeof(struct dp_kafka_rec), 2 * qlen,
						   socket_id,
						   RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		if (!k->w[w].in || !k->w[w].ret) {
			snprintf(err, errlen, "kafka source: rings: %s", rte_strerror(rte_errno));
			goto fail;
		}
	}

	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rc = -EINVAL;
	if (conf_set(c, "bootstrap.servers", cfg->kafka_brokers, err, errlen) ||
	    conf_set(c, "group.id", cfg->kafka_group_id ? cfg->kafka_group_id : "weir", err,
		     errlen) ||
	    conf_set(c, "partition.assignment.strategy", "cooperative-sticky", err, errlen) ||
	    conf_set(c, "enable.auto.offset.store", "false", err, errlen) ||
	    conf_set(c, "auto.offset.reset", "earliest", err, errlen)) {
		rd_kafka_conf_destroy(c);
		goto fail;
	}
	for (uint32_t i = 0; i < cfg->n_kafka_consumer_props; i++)
		if (conf_set(c, cfg->kafka_consumer_props[i][0], cfg->kafka_consumer_props[i][1],
			     err, errlen)) {
			rd_kafka_conf_destroy(c);
			goto fail;
		}
	char e[512];
	k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e));
	if (!k->rk) {
		snprintf(err, errlen, "kafka consumer: %s", e);
		rd_kafka_conf_destroy(c);
		goto fail;
	}
	rd_kafka_poll_set_consumer(k->rk);
	k->cq = rd_kafka_queue_get_consumer(k->rk);
	rd_kafka_topic_partition_list_t *topics =
		rd_kafka_topic_partition_list_new((int)cfg->n_kafka_topics);
	for (uint32_t i = 0; i < cfg->n_kafka_topics; i++)
		rd_kafka_topic_partition_list_add(topics, cfg->kafka_topics[i].name,
						  RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t kerr = rd_kafka_subscribe(k->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (kerr) {
		snprintf(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(kerr));
		goto fail;
	}
	*out = k;
	return 0;
fail:
	dp_kafka_destroy(k);
	return rc;
}

struct rte_ring *dp_kafka_in_ring(struct dp_kafka *k, uint32_t w)
{
	return w < k->n_workers ? k->w[w].in : NULL;
}

struct rte_ring *dp_kafka_ret_ring(struct dp_kafka *k, uint32_t w)
{
	return w < k->n_workers ? k->w[w].ret : NULL;
}

uint32_t dp_kafka_inputs_per_worker(const struct dp_kafka *k)
{
	return (k->max_slots + k->n_workers - 1) / k->n_workers;
}

int dp_kafka_start(struct dp_kafka *k)
{
	int rc = pthread_create(&k->thread, NULL, source_main, k);
	if (rc)
		return -rc;
	pthread_setname_np(k->thread, "weir-kafka");
	k->running = true;
	return 0;
}

void dp_kafka_stop(struct dp_kafka *k)
{
	if (!k || !k->running)
		return;
	k->stop = 1;
	pthread_join(k->thread, NULL);
	k->running = false;
	/* Workers have exited: what came back is processed, what is still in
	 * an in-ring or held was not and must not be committed. */
	drain_returns(k);
	for (uint32_t w = 0; w < k->n_workers; w++) {
		struct dp_kafka_rec r;
		while (rte_ring_sc_dequeue_elem(k->w[w].in, &r, sizeof(r)) == 0)
			if (r.rkm)
				rd_kafka_message_destroy(r.rkm);
		while (k->w[w].n_pending) {
			if (k->w[w].pending[k->w[w].pending_head].rkm)
				rd_kafka_message_destroy(k->w[w].pending[k->w[w].pending_head].rkm);
			k->w[w].pending_head = (k->w[w].pending_head + 1) % PENDING_MAX;
			k->w[w].n_pending--;
		}
	}
	store_offsets(k);
	rd_kafka_commit(k->rk, NULL, 0);
	rd_kafka_consumer_close(k->rk);
}

void dp_kafka_destroy(struct dp_kafka *k)
{
	if (!k)
		return;
	dp_kafka_stop(k);
	if (k->cq)
		rd_kafka_queue_destroy(k->cq);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	for (uint32_t w = 0; w < k->n_workers; w++) {
		rte_ring_free(k->w[w].in);
		rte_ring_free(k->w[w].ret);
	}
	for (uint32_t i = 0; i < k->n_slots; i++)
		free(k->slots[i].topic);
	free(k->slots);
	free(k);
}
