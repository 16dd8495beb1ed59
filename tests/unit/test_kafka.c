/*
 * test_kafka.c - control/ctl_kafka.c (the producer), the kafka config
 * section of control/ctl_config.c, and the Kafka sinks of ctl_output.c.
 *
 * The broker is librdkafka's in-process mock cluster: the producer gets
 * test.mock.num.brokers=1 through kafka.producer (the pass-through path
 * under test), and a plain consumer reads back from the same cluster. No
 * network beyond loopback, no sleeps: waits are bounded polls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <rte_ring.h>

#include "ctl_config.h"
#include "ctl_kafka.h"
#include "ctl_output.h"
#include "rules.h"
#include "wr_common.h"
#include "wr_counters.h"
#include "wr_record.h"
#include "wr_test.h"

#define CNT(c, name) ((c).v[WR_CNT_##name])
#define READ_DEADLINE_US (30 * WR_US_PER_SEC)

static char err[1024];

static struct ctl_config *load(const char *yaml, const char *name)
{
	struct ctl_config *c = NULL;
	err[0] = '\0';
	int rc = ctl_config_load_string(yaml, name, &c, err, sizeof(err));
	if (rc)
		fprintf(stderr, "config error: %s\n", err);
	return c;
}

/* Expect a load error: returns the message (in err). */
static int load_fails(const char *yaml)
{
	struct ctl_config *c = NULL;
	err[0] = '\0';
	int rc = ctl_config_load_string(yaml, "k.yaml", &c, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	ctl_config_destroy(c);
	return rc;
}

/* ---- mock cluster helpers ---- */

static rd_kafka_mock_cluster_t *mock_of(struct ctl_kafka_producer *p)
{
	return rd_kafka_handle_mock_cluster(ctl_kafka_handle(p));
}

/* A plain consumer on the mock cluster, assigned every partition of @topic from the start. */
static rd_kafka_t *consumer_new(rd_kafka_mock_cluster_t *mc, const char *topic, int parts)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char why[256];
	if (rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), why,
			      sizeof(why)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", "test-reader", why, sizeof(why)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof(why))) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(parts);
	for (int i = 0; i < parts; i++)
		rd_kafka_topic_partition_list_add(tp, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	return rk;
}

static void consumer_free(rd_kafka_t *rk)
{
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

static const char *header(const rd_kafka_message_t *m, const char *name, size_t *len)
{
	rd_kafka_headers_t *h = NULL;
	const void *v = NULL;
	if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, len))
		return NULL;
	return v;
}

static const char BASE_YAML[] =
	"rules: {file: r.yaml}\n"
	"kafka:\n"
	"  brokers: \"127.0.0.1:1\"\n"            /* replaced by the mock cluster */
	"  producer:\n"
	"    test.mock.num.brokers: 1\n";

/* ---- producer ---- */

static void test_produce_keys_and_headers_read_back_exactly_once(void)
{
	enum { N = 200, PARTS = 3 };
	struct ctl_config *c = load(BASE_YAML, "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct wr_counters cnt = { 0 };
	struct ctl_kafka_producer *p = NULL;
	CU_ASSERT_EQUAL_FATAL(ctl_kafka_producer_create(c, &cnt, &p, err, sizeof(err)), 0);
	rd_kafka_mock_cluster_t *mc = mock_of(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mc);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, "out", PARTS, 1), 0);

	for (int i = 0; i < N; i++) {
		char key[16], val[32], hv[16];
		int kl = snprintf(key, sizeof(key), "key-%d", i % 7);
		int vl = snprintf(val, sizeof(val), "value %d of key-%d", i, i % 7);
		snprintf(hv, sizeof(hv), "%d", i);
		const char *hdrs[] = { "weir.seq", hv, "weir.error", "none", NULL };
		/* The buffers are reused at once: the producer must have copied them. */
		CU_ASSERT_EQUAL(ctl_kafka_produce(p, "out", key, (size_t)kl, val, (size_t)vl, hdrs), 0);
		memset(key, 'X', sizeof(key));
		memset(val, 'X', sizeof(val));
		memset(hv, 'X', sizeof(hv) - 1);
	}
	CU_ASSERT_EQUAL(ctl_kafka_flush(p, 20000), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_out), N);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 0);

	rd_kafka_t *rk = consumer_new(mc, "out", PARTS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	static int seen[N];
	memset(seen, 0, sizeof(seen));
	int got = 0, bad = 0;
	int32_t key_part[7];
	for (int k = 0; k < 7; k++)
		key_part[k] = -1;
	int64_t deadline = wr_mono_us() + READ_DEADLINE_US;
	while (got < N && wr_mono_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!m)
			continue;
		if (m->err) {
			rd_kafka_message_destroy(m);
			continue;
		}
		int i = -1, ki = -1;
		char val[64];
		snprintf(val, sizeof(val), "%.*s", (int)m->len, (const char *)m->payload);
		if (sscanf(val, "value %d of key-%d", &i, &ki) != 2 || i < 0 || i >= N) {
			bad++;
		} else {
			char key[16], hv[16];
			int kl = snprintf(key, sizeof(key), "key-%d", i % 7);
			snprintf(hv, sizeof(hv), "%d", i);
			size_t sl = 0, el = 0;
			const char *seq = header(m, "weir.seq", &sl);
			const char *e = header(m, "weir.error", &el);
			if (ki != i % 7 || m->key_len != (size_t)kl || memcmp(m->key, key, (size_t)kl) ||
			    !seq || sl != strlen(hv) || memcmp(seq, hv, sl) || !e || el != 4 ||
			    memcmp(e, "none", 4))
				bad++;
			/* One key, one partition: keyed records keep their order. */
			if (key_part[ki] < 0)
				key_part[ki] = m->partition;
			else if (key_part[ki] != m->partition)
				bad++;
			seen[i]++;
		}
		got++;
		rd_kafka_message_destroy(m);
	}
	/* Nothing beyond N: a short extra read must come back empty. */
	int64_t extra_end = wr_mono_us() + 300 * WR_US_PER_MS;
	while (wr_mono_us() < extra_end) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
		if (m && !m->err)
			got++;
		if (m)
			rd_kafka_message_destroy(m);
	}
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(bad, 0);
	int once = 0;
	for (int i = 0; i < N; i++)
		once += seen[i] == 1;
	CU_ASSERT_EQUAL(once, N);
	consumer_free(rk);
	ctl_kafka_producer_destroy(p);
	ctl_config_destroy(c);
}

/* A producer on a mock cluster whose local queue holds 10 records. */
static struct ctl_kafka_producer *small_queue_producer(struct ctl_config **c,
						       struct wr_counters *cnt)
{
	*c = load("rules: {file: r.yaml}\n"
		  "kafka:\n"
		  "  brokers: \"127.0.0.1:1\"\n"
		  "  producer:\n"
		  "    test.mock.num.brokers: 1\n"
		  "    queue.buffering.max.messages: 10\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(*c);
	struct ctl_kafka_producer *p = NULL;
	CU_ASSERT_EQUAL_FATAL(ctl_kafka_producer_create(*c, cnt, &p, err, sizeof(err)), 0);
	return p;
}

static void test_full_queue_waits_and_delivers_every_record(void)
{
	enum { N = 1000 };
	struct ctl_config *c = NULL;
	struct wr_counters cnt = { 0 };
	struct ctl_kafka_producer *p = small_queue_producer(&c, &cnt);
	rd_kafka_mock_cluster_t *mc = mock_of(p);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, "bp", 1, 1), 0);
	int failed = 0;
	for (int i = 0; i < N; i++) {
		char val[16];
		int vl = snprintf(val, sizeof(val), "%d", i);
		failed += ctl_kafka_produce(p, "bp", NULL, 0, val, (size_t)vl, NULL) != 0;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(ctl_kafka_flush(p, 20000), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_out), N);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 0);
	CU_ASSERT(CNT(cnt, kafka_queue_full_waits) > 0);

	/* And the broker has them all, in order (one partition, idempotent producer). */
	rd_kafka_t *rk = consumer_new(mc, "bp", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	int got = 0, out_of_order = 0;
	int64_t deadline = wr_mono_us() + READ_DEADLINE_US;
	while (got < N && wr_mono_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!m)
			continue;
		if (!m->err) {
			char val[16];
			snprintf(val, sizeof(val), "%.*s", (int)m->len, (const char *)m->payload);
			out_of_order += atoi(val) != got;
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(out_of_order, 0);
	consumer_free(rk);
	ctl_kafka_producer_destroy(p);
	ctl_config_destroy(c);
}

static void test_nowait_produce_refuses_at_once_when_the_queue_is_full(void)
{
	struct ctl_config *c = NULL;
	struct wr_counters cnt = { 0 };
	struct ctl_kafka_producer *p = small_queue_producer(&c, &cnt);
	rd_kafka_mock_cluster_t *mc = mock_of(p);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, "nw", 1, 1), 0);
	/* Nothing is served between the calls, so the 11th cannot fit. */
	int ok = 0, full = 0;
	int64_t t0 = wr_mono_us();
	for (int i = 0; i < 30; i++) {
		int rc = ctl_kafka_produce_nowait(p, "nw", NULL, 0, "x", 1, NULL);
		ok += rc == 0;
		full += rc == -ENOBUFS;
	}
	CU_ASSERT(wr_mono_us() - t0 < 100000);       /* no 10 ms waits */
	CU_ASSERT_EQUAL(ok, 10);
	CU_ASSERT_EQUAL(full, 20);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_queue_full_waits), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 0);
	CU_ASSERT_EQUAL(ctl_kafka_flush(p, 20000), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_out), 10);
	ctl_kafka_producer_destroy(p);
	ctl_config_destroy(c);
}

static void test_oversized_record_is_a_counted_permanent_error(void)
{
	struct ctl_config *c = load(BASE_YAML, "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct wr_counters cnt = { 0 };
	struct ctl_kafka_producer *p = NULL;
	CU_ASSERT_EQUAL_FATAL(ctl_kafka_producer_create(c, &cnt, &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rd_kafka_mock_topic_create(mock_of(p), "big", 1, 1), 0);
	size_t len = 2u << 20;       /* message.max.bytes is 1000000 by default */
	char *big = calloc(1, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(ctl_kafka_produce(p, "big", "k", 1, big, len, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 1);
	const char *odd[] = { "name-without-value", NULL };
	CU_ASSERT_EQUAL(ctl_kafka_produce(p, "big", "k", 1, "v", 1, odd), -EINVAL);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 2);
	CU_ASSERT_EQUAL(ctl_kafka_flush(p, 5000), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_out), 0);
	free(big);
	ctl_kafka_producer_destroy(p);
	ctl_kafka_producer_destroy(NULL);
	ctl_config_destroy(c);
}

static void test_producer_needs_brokers_and_reports_bad_client_config(void)
{
	struct ctl_config *c = load("rules: {file: r.yaml}\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct ctl_kafka_producer *p = (void *)1;
	CU_ASSERT_EQUAL(ctl_kafka_producer_create(c, NULL, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(err, "kafka producer: kafka.brokers is not set");
	ctl_config_destroy(c);
	/* Each property is valid alone; librdkafka refuses the combination at create. */
	c = load("rules: {file: r.yaml}\n"
		 "kafka:\n"
		 "  brokers: \"127.0.0.1:1\"\n"
		 "  producer: {enable.idempotence: true, acks: 1}\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(ctl_kafka_producer_create(c, NULL, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "kafka producer: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "acks"));
	ctl_config_destroy(c);
}

/* ---- config ---- */

static void test_kafka_section_round_trip(void)
{
	static const char yaml[] =
		"rules: {file: r.yaml}\n"
		"kafka:\n"
		"  brokers: \"k1:9092,k2:9092\"\n"
		"  group_id: weir-prod\n"
		"  topics:\n"
		"    - {name: logs, format: syslog}\n"
		"    - name: app.logs_2\n"
		"  max_partitions: 1024\n"
		"  consumer:\n"
		"    auto.offset.reset: earliest\n"
		"    fetch.max.bytes: 1048576\n"
		"  producer:\n"
		"    enable.idempotence: false\n"
		"    linger.ms: 5\n"
		"    compression.type: lz4\n"
		"outputs:\n"
		"  windows: {jsonl: w.jsonl, kafka: weir-windows}\n"
		"  alerts: {kafka: weir-alerts}\n"
		"  late: {kafka: weir-late}\n"
		"  dead_letter: {kafka: weir-dlq}\n";
	struct ctl_config *c = load(yaml, "/etc/weir/k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->kafka_brokers, "k1:9092,k2:9092");
	CU_ASSERT_STRING_EQUAL(c->kafka_group_id, "weir-prod");
	CU_ASSERT_EQUAL_FATAL(c->n_kafka_topics, 2);
	CU_ASSERT_STRING_EQUAL(c->kafka_topics[0].name, "logs");
	CU_ASSERT_EQUAL(c->kafka_topics[0].format, CTL_KAFKA_FMT_SYSLOG);
	CU_ASSERT_STRING_EQUAL(c->kafka_topics[1].name, "app.logs_2");
	CU_ASSERT_EQUAL(c->kafka_topics[1].format, CTL_KAFKA_FMT_SYSLOG);
	CU_ASSERT_EQUAL(c->kafka_max_partitions, 1024);
	CU_ASSERT_EQUAL_FATAL(c->n_kafka_consumer_props, 2);
	CU_ASSERT_STRING_EQUAL(c->kafka_consumer_props[0][0], "auto.offset.reset");
	CU_ASSERT_STRING_EQUAL(c->kafka_consumer_props[0][1], "earliest");
	CU_ASSERT_STRING_EQUAL(c->kafka_consumer_props[1][0], "fetch.max.bytes");
	CU_ASSERT_STRING_EQUAL(c->kafka_consumer_props[1][1], "1048576");
	CU_ASSERT_EQUAL_FATAL(c->n_kafka_producer_props, 3);
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[0][0], "enable.idempotence");
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[0][1], "false");
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[1][0], "linger.ms");
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[1][1], "5");
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[2][0], "compression.type");
	CU_ASSERT_STRING_EQUAL(c->kafka_producer_props[2][1], "lz4");
	CU_ASSERT_STRING_EQUAL(c->windows_jsonl, "/etc/weir/w.jsonl");
	CU_ASSERT_STRING_EQUAL(c->windows_kafka, "weir-windows");
	CU_ASSERT_PTR_NULL(c->alerts_jsonl);
	CU_ASSERT_STRING_EQUAL(c->alerts_kafka, "weir-alerts");
	CU_ASSERT_STRING_EQUAL(c->late_kafka, "weir-late");
	CU_ASSERT_STRING_EQUAL(c->dead_letter_kafka, "weir-dlq");
	CU_ASSERT_EQUAL(c->n_ports, 0);
	ctl_config_destroy(c);

	/* Defaults: Kafka off, group weir, 256 partitions. */
	c = load("rules: {file: r.yaml}\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NULL(c->kafka_brokers);
	CU_ASSERT_STRING_EQUAL(c->kafka_group_id, "weir");
	CU_ASSERT_EQUAL(c->n_kafka_topics, 0);
	CU_ASSERT_EQUAL(c->kafka_max_partitions, 256);
	CU_ASSERT_EQUAL(c->n_kafka_consumer_props, 0);
	CU_ASSERT_EQUAL(c->n_kafka_producer_props, 0);
	CU_ASSERT_PTR_NULL(c->windows_kafka);
	CU_ASSERT_PTR_NULL(c->alerts_kafka);
	CU_ASSERT_PTR_NULL(c->late_kafka);
	CU_ASSERT_PTR_NULL(c->dead_letter_kafka);
	ctl_config_destroy(c);
}

static void test_bad_property_is_named_with_file_and_line(void)
{
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  consumer:\n"
				   "    auto.offset.reset: earliest\n"
				   "    no.such.property: 1\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:6: key 'kafka.consumer': property 'no.such.property': "
			       "librdkafka: No such configuration property: \"no.such.property\"");
	/* A bad value is librdkafka's call too, and names the property. */
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  producer:\n"
				   "    linger.ms: soon\n"), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "k.yaml:5: key 'kafka.producer': property 'linger.ms': "
				       "librdkafka: "));
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  producer: {bootstrap.servers: x:1}\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:4: key 'kafka.producer': property 'bootstrap.servers' "
			       "is set by kafka.brokers, not here");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  consumer:\n"
				   "    group.id: x\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:4: key 'kafka.consumer': property 'group.id' is set by "
			       "kafka.group_id, not here");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  consumer:\n"
				   "    debug: [a, b]\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:4: key 'kafka.consumer': property 'debug': want a "
			       "scalar, got a list");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka: {consumer: [a]}\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:2: key 'kafka.consumer': want a map of librdkafka "
			       "properties, got a list");
}

static void test_unknown_format_and_bad_topics_are_rejected(void)
{
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  topics:\n"
				   "    - {name: logs, format: syslog}\n"
				   "    - name: events\n"
				   "      format: json\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:7: key 'kafka.topics[1].format': format 'json' is not "
			       "supported (want syslog, click or txn)");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  topics: [{name: \"bad topic\"}]\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:4: key 'kafka.topics[0].name': bad Kafka topic name "
			       "'bad topic' (want 1 to 249 of A-Z a-z 0-9 . _ -)");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  topics: [{format: syslog}]\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:4: key 'kafka.topics[0].name': missing (required)");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  brokers: b:9092\n"
				   "  topics:\n"
				   "    - name: logs\n"
				   "    - name: logs\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:6: key 'kafka.topics[1].name': duplicate topic 'logs' "
			       "(also kafka.topics[0])");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka:\n"
				   "  topics: [{name: logs}]\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:3: key 'kafka.brokers': missing (required when "
			       "kafka.topics or an outputs.*.kafka topic is set)");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "outputs: {dead_letter: {kafka: dlq}}\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:1: key 'kafka.brokers': missing (required when "
			       "kafka.topics or an outputs.*.kafka topic is set)");
	CU_ASSERT_EQUAL(load_fails("rules: {file: r.yaml}\n"
				   "kafka: {brokers: b:1, max_partitions: 0}\n"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.yaml:2: key 'kafka.max_partitions': value 0 out of range "
			       "[1, 65536]");
}

/* ---- the output router's Kafka sinks ---- */

static struct rte_ring *ring_new(unsigned count)
{
	/* rte_ring_init on plain memory: no EAL needed for a test ring. */
	ssize_t sz = rte_ring_get_memsize_elem(WR_OUT_CHUNK, count);
	if (sz < 0)
		return NULL;
	struct rte_ring *r = aligned_alloc(64, ((size_t)sz + 63) & ~(size_t)63);
	if (r && rte_ring_init(r, "t", count, RING_F_SP_ENQ | RING_F_SC_DEQ)) {
		free(r);
		return NULL;
	}
	return r;
}

/* @r packed onto @ring as a worker puts it there. */
static bool ring_push(struct rte_ring *ring, const struct wr_out_rec *r)
{
	_Alignas(8) unsigned char buf[WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK];
	unsigned n = wr_out_pack(r, buf);
	return rte_ring_sp_enqueue_bulk_elem(ring, buf, WR_OUT_CHUNK, n, NULL) == n;
}

/* Records of one, two and several ring chunks (late matches carry their
 * line), more than a drain burst of them: every record comes out of the
 * router whole and in order, also where a burst ends inside one. */
static void test_output_ring_records_of_several_chunks_in_order(void)
{
	char dir[] = "/tmp/weir-test-out-XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	char yaml[512], late_path[300];
	snprintf(late_path, sizeof(late_path), "%s/late.jsonl", dir);
	snprintf(yaml, sizeof(yaml), "rules: {file: r.yaml}\noutputs:\n  late: {jsonl: %s}\n",
		 late_path);
	struct ctl_config *c = load(yaml, "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct rules_set rules = { 0 };
	struct wr_counters cnt = { 0 };
	struct ctl_output *o = NULL;
	CU_ASSERT_EQUAL_FATAL(ctl_output_create(c, &rules, &cnt, &o, err, sizeof(err)), 0);
	struct rte_ring *ring = ring_new(4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
	ctl_output_attach(o, &ring, 1);

	enum { N = 150 };
	static struct wr_out_rec recs[N];
	unsigned chunks = 0, multi = 0;
	for (int i = 0; i < N; i++) {
		struct wr_out_rec *r = &recs[i];
		memset(r, 0, sizeof(*r));
		r->type = WR_REC_LATE;
		r->key_len = (uint16_t)snprintf(r->key, sizeof(r->key), "host-%d", i);
		r->event_us = (1700000000LL + i) * WR_US_PER_SEC;
		r->wm_us = r->event_us + 5 * WR_US_PER_SEC;
		r->n_samples = 1;
		/* lengths 0 .. 255: one to three chunks */
		r->sample_len[0] = (uint16_t)(i * 37 % ST_SAMPLE_MAX);
		for (unsigned k = 0; k < r->sample_len[0]; k++)
			r->samples[0][k] = (char)('a' + (i + k) % 26);
		_Alignas(8) unsigned char buf[WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK];
		unsigned n = wr_out_pack(r, buf);
		chunks += n;
		multi += n > 1;
		CU_ASSERT_TRUE_FATAL(ring_push(ring, r));
	}
	CU_ASSERT_TRUE(chunks > 2 * 64 && multi > N / 3);   /* bursts of 64 get cut */
	CU_ASSERT_EQUAL(ctl_output_poll(o, 0), N);
	CU_ASSERT_EQUAL(ctl_output_finish(o, WR_US_PER_SEC), 0);
	FILE *f = fopen(late_path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char got[2048], want[2048];
	int i = 0;
	while (fgets(got, sizeof(got), f)) {
		got[strcspn(got, "\n")] = '\0';
		CU_ASSERT_FATAL(i < N);
		int n = ctl_output_format(o, &recs[i], want, sizeof(want));
		CU_ASSERT_FATAL(n > 0);
		want[strcspn(want, "\n")] = '\0';
		if (strcmp(got, want) != 0) {
			CU_FAIL("a record changed on the ring");
			printf("\n    record %d: got %s\n    want %s\n", i, got, want);
			break;
		}
		i++;
	}
	fclose(f);
	CU_ASSERT_EQUAL(i, N);
	ctl_output_destroy(o);
	free(ring);
	ctl_config_destroy(c);
	unlink(late_path);
	rmdir(dir);
}

static void test_output_records_go_to_their_topics_keyed(void)
{
	struct ctl_config *c = load("rules: {file: r.yaml}\n"
				    "kafka:\n"
				    "  brokers: \"127.0.0.1:1\"\n"
				    "  producer: {test.mock.num.brokers: 1}\n"
				    "outputs:\n"
				    "  windows: {kafka: w}\n"
				    "  late: {kafka: l}\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct rules_set rules = { 0 };
	struct wr_counters cnt = { 0 };
	struct ctl_output *o = NULL;
	CU_ASSERT_EQUAL_FATAL(ctl_output_create(c, &rules, &cnt, &o, err, sizeof(err)), 0);
	struct ctl_kafka_producer *p = ctl_output_kafka(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	rd_kafka_mock_cluster_t *mc = mock_of(p);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, "w", 1, 1), 0);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, "l", 1, 1), 0);
	struct rte_ring *ring = ring_new(64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
	ctl_output_attach(o, &ring, 1);

	static struct wr_out_rec recs[3];
	memset(recs, 0, sizeof(recs));
	recs[0].type = WR_REC_WINDOW;
	recs[0].key_len = 5;
	memcpy(recs[0].key, "web-1", 5);
	recs[0].start_us = 1700000000LL * WR_US_PER_SEC;
	recs[0].end_us = recs[0].start_us + 60 * WR_US_PER_SEC;
	recs[0].count = 7;
	recs[1] = recs[0];
	recs[1].type = WR_REC_ALERT;  /* no alerts topic: goes nowhere */
	recs[2].type = WR_REC_LATE;
	recs[2].key_len = 2;
	memcpy(recs[2].key, "db", 2);
	recs[2].n_samples = 1;
	recs[2].sample_len[0] = 4;
	memcpy(recs[2].samples[0], "oops", 4);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_TRUE(ring_push(ring, &recs[i]));
	CU_ASSERT_EQUAL(ctl_output_poll(o, 0), 3);
	CU_ASSERT_EQUAL(ctl_output_finish(o, 20 * WR_US_PER_SEC), 0);
	CU_ASSERT_EQUAL(ctl_kafka_flush(p, 0), 0);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_out), 2);
	CU_ASSERT_EQUAL(CNT(cnt, kafka_delivery_errors), 0);

	const char *topics[2] = { "w", "l" };
	const struct wr_out_rec *want[2] = { &recs[0], &recs[2] };
	for (int t = 0; t < 2; t++) {
		char line[1024];
		int n = ctl_output_format(o, want[t], line, sizeof(line));
		CU_ASSERT_FATAL(n > 0);
		rd_kafka_t *rk = consumer_new(mc, topics[t], 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
		rd_kafka_message_t *m = NULL;
		int64_t deadline = wr_mono_us() + READ_DEADLINE_US;
		while (wr_mono_us() < deadline) {
			m = rd_kafka_consumer_poll(rk, 100);
			if (m && !m->err)
				break;
			if (m)
				rd_kafka_message_destroy(m);
			m = NULL;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(m->len, (size_t)n);
		CU_ASSERT_EQUAL(memcmp(m->payload, line, (size_t)n), 0);
		CU_ASSERT_EQUAL(m->key_len, want[t]->key_len);
		CU_ASSERT_EQUAL(memcmp(m->key, want[t]->key, want[t]->key_len), 0);
		rd_kafka_message_destroy(m);
		consumer_free(rk);
	}
	ctl_output_destroy(o);
	free(ring);
	ctl_config_destroy(c);

	/* No Kafka output, no producer. */
	c = load("rules: {file: r.yaml}\n", "k.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(ctl_output_create(c, &rules, &cnt, &o, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(ctl_output_kafka(o));
	ctl_output_destroy(o);
	ctl_config_destroy(c);
}

static int reg(void)
{
	WR_SUITE("kafka",
		 WR_TEST(test_produce_keys_and_headers_read_back_exactly_once),
		 WR_TEST(test_full_queue_waits_and_delivers_every_record),
		 WR_TEST(test_nowait_produce_refuses_at_once_when_the_queue_is_full),
		 WR_TEST(test_oversized_record_is_a_counted_permanent_error),
		 WR_TEST(test_producer_needs_brokers_and_reports_bad_client_config),
		 WR_TEST(test_kafka_section_round_trip),
		 WR_TEST(test_bad_property_is_named_with_file_and_line),
		 WR_TEST(test_unknown_format_and_bad_topics_are_rejected),
		 WR_TEST(test_output_ring_records_of_several_chunks_in_order),
		 WR_TEST(test_output_records_go_to_their_topics_keyed));
	return 0;
}

WR_TEST_MAIN(reg)
