/*
 * ctl_kafka.c - the Kafka producer of the outputs and the dead-letter topic.
 *
 * One rd_kafka_t, used from two threads: librdkafka's API is thread-safe,
 * and the only state of our own that both threads touch (counters, log rate
 * limits) is updated atomically or under a mutex. Delivery reports run in
 * whichever thread calls rd_kafka_poll()/rd_kafka_flush(), so the callbacks
 * are written for that. Records go out with rd_kafka_produceva(): librdkafka
 * caches topic handles itself, so no table of our own is needed.
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ctl_kafka.h"
#include "wr_common.h"

#define KAFKA_MOD "kafka"
#define QUEUE_FULL_WAIT_MS 10
#define DESTROY_FLUSH_MS 10000
#define MAX_HEADERS 16               /* name/value pairs per record */

struct ctl_kafka_producer {
	rd_kafka_t *rk;
	struct wr_counters *cnt;
	pthread_mutex_t log_lock;    /* guards the rate limits below */
	struct wr_ratelimit rl_dr, rl_err, rl_produce;
};

/* Counters are bumped from the control thread and the source thread alike. */
static void kafka_count(struct ctl_kafka_producer *p, enum wr_counter_id id, uint64_t n)
{
	if (p->cnt)
		__atomic_fetch_add(&p->cnt->v[id], n, __ATOMIC_RELAXED);
}

/* True when the caller may log now; *supp gets the lines held back since. */
static bool kafka_log_pass(struct ctl_kafka_producer *p, struct wr_ratelimit *rl, uint32_t *supp)
{
	pthread_mutex_lock(&p->log_lock);
	bool ok = wr_ratelimit_pass(rl, supp);
	pthread_mutex_unlock(&p->log_lock);
	return ok;
}

static const char *supp_note(char *buf, size_t len, uint32_t supp)
{
	if (!supp)
		return "";
	snprintf(buf, len, " (%u similar suppressed)", supp);
	return buf;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct ctl_kafka_producer *p = opaque;
	if (!m->err) {
		kafka_count(p, WR_CNT_kafka_out, 1);
		return;
	}
	kafka_count(p, WR_CNT_kafka_delivery_errors, 1);
	uint32_t supp;
	char note[48];
	if (kafka_log_pass(p, &p->rl_dr, &supp))
		WR_WARN(KAFKA_MOD, "delivery to topic '%s' failed: %s%s",
			m->rkt ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_err2str(m->err),
			supp_note(note, sizeof(note), supp));
}

/* Client-level errors (brokers down, authentication, fatal idempotence errors). */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct ctl_kafka_producer *p = opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_resp_err_t fe = rd_kafka_fatal_error(rk, why, sizeof(why));
		WR_ERR(KAFKA_MOD, "producer fatal error: %s: %s (Kafka outputs stop)",
		       rd_kafka_err2name(fe), why);
		return;
	}
	uint32_t supp;
	char note[48];
	if (kafka_log_pass(p, &p->rl_err, &supp))
		WR_WARN(KAFKA_MOD, "producer: %s: %s%s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
			reason, supp_note(note, sizeof(note), supp));
}

/* librdkafka's own log lines (syslog levels) into weir's log. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	enum wr_log_level l = level <= 3 ? WR_LOG_ERR : level == 4 ? WR_LOG_WARN :
			      level <= 6 ? WR_LOG_INFO : WR_LOG_DEBUG;
	wr_log(l, KAFKA_MOD, "librdkafka %s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		    size_t errlen)
{
	char why[512];
	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return 0;
	snprintf(err, errlen, "kafka producer: property '%s': %s", name, why);
	return -EINVAL;
}

int ctl_kafka_producer_create(const struct ctl_config *cfg, struct wr_counters *cnt,
			      struct ctl_kafka_producer **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg->kafka_brokers) {
		snprintf(err, errlen, "kafka producer: kafka.brokers is not set");
		return -EINVAL;
	}
	struct ctl_kafka_producer *p = calloc(1, sizeof(*p));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (!p || !conf) {
		free(p);
		if (conf)
			rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "kafka producer: out of memory");
		return -ENOMEM;
	}
	p->cnt = cnt;
	pthread_mutex_init(&p->log_lock, NULL);
	p->rl_dr = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);
	p->rl_err = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);
	p->rl_produce = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 5);

	/* Idempotence first, so the user's properties can turn it off. */
	int rc = conf_set(conf, "enable.idempotence", "true", err, errlen);
	for (uint32_t i = 0; !rc && i < cfg->n_kafka_producer_props; i++)
		rc = conf_set(conf, cfg->kafka_producer_props[i][0], cfg->kafka_producer_props[i][1],
			      err, errlen);
	if (!rc)
		rc = conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, err, errlen);
	if (rc) {
		rd_kafka_conf_destroy(conf);
		goto err;
	}
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);

	char why[512];
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!p->rk) {
		/* rd_kafka_new() takes @conf only on success. */
		rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "kafka producer: %s", why);
		rc = -EINVAL;
		goto err;
	}
	*out = p;
	return 0;
err:
	pthread_mutex_destroy(&p->log_lock);
	free(p);
	return rc;
}

static int kafka_errno(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return -EMSGSIZE;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		return -ENOENT;
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int produce(struct ctl_kafka_producer *p, const char *topic, const char *key, size_t klen,
		   const char *value, size_t vlen, const char *const *hdrs, bool wait)
{
	rd_kafka_vu_t vu[4 + MAX_HEADERS];
	size_t n = 0;
	if (!p || !topic)
		return -EINVAL;
	vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
	vu[n++].u.cstr = topic;
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	if (key && klen) {
		vu[n].vtype = RD_KAFKA_VTYPE_KEY;
		vu[n].u.mem.ptr = (void *)key;
		vu[n++].u.mem.size = klen;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = (void *)value;
	vu[n++].u.mem.size = value ? vlen : 0;
	for (size_t i = 0; hdrs && hdrs[i]; i += 2) {
		if (!hdrs[i + 1] || n == WR_ARRAY_SIZE(vu)) {
			kafka_count(p, WR_CNT_kafka_delivery_errors, 1);
			return -EINVAL;  /* odd list or more than MAX_HEADERS: a caller bug */
		}
		vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
		vu[n].u.header.name = hdrs[i];
		vu[n].u.header.val = hdrs[i + 1];
		vu[n++].u.header.size = (ssize_t)strlen(hdrs[i + 1]);
	}

	rd_kafka_resp_err_t code;
	for (;;) {
		rd_kafka_error_t *e = rd_kafka_produceva(p->rk, vu, n);
		if (!e)
			return 0;
		code = rd_kafka_error_code(e);
		rd_kafka_error_destroy(e);
		if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		if (!wait)
			return -ENOBUFS; /* the caller counts its own drop */
		/* Backpressure, never a drop: deliveries (or message.timeout.ms) free room. */
		kafka_count(p, WR_CNT_kafka_queue_full_waits, 1);
		rd_kafka_poll(p->rk, QUEUE_FULL_WAIT_MS);
	}
	kafka_count(p, WR_CNT_kafka_delivery_errors, 1);
	uint32_t supp;
	char note[48];
	if (kafka_log_pass(p, &p->rl_produce, &supp))
		WR_WARN(KAFKA_MOD, "record for topic '%s' refused: %s%s", topic,
			rd_kafka_err2str(code), supp_note(note, sizeof(note), supp));
	return kafka_errno(code);
}

int ctl_kafka_produce(struct ctl_kafka_producer *p, const char *topic, const char *key,
		      size_t klen, const char *value, size_t vlen, const char *const *hdrs)
{
	return produce(p, topic, key, klen, value, vlen, hdrs, true);
}

int ctl_kafka_produce_nowait(struct ctl_kafka_producer *p, const char *topic, const char *key,
			     size_t klen, const char *value, size_t vlen, const char *const *hdrs)
{
	return produce(p, topic, key, klen, value, vlen, hdrs, false);
}

void ctl_kafka_poll(struct ctl_kafka_producer *p)
{
	if (p)
		rd_kafka_poll(p->rk, 0);
}

int ctl_kafka_flush(struct ctl_kafka_producer *p, int timeout_ms)
{
	if (!p)
		return 0;
	/* flush() serves delivery reports; outq_len counts what is unacknowledged. */
	rd_kafka_flush(p->rk, timeout_ms < 0 ? 0 : timeout_ms);
	return rd_kafka_outq_len(p->rk);
}

rd_kafka_t *ctl_kafka_handle(struct ctl_kafka_producer *p)
{
	return p ? p->rk : NULL;
}

void ctl_kafka_producer_destroy(struct ctl_kafka_producer *p)
{
	if (!p)
		return;
	int left = ctl_kafka_flush(p, DESTROY_FLUSH_MS);
	if (left > 0) {
		/* Purged records get a delivery report with an error: counted there. */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(p->rk, 0);
		WR_WARN(KAFKA_MOD, "%d record(s) not delivered to Kafka at shutdown", left);
	}
	rd_kafka_destroy(p->rk);
	pthread_mutex_destroy(&p->log_lock);
	free(p);
}
