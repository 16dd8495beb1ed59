/*
 * test_fraud.c - the fraud path's pieces outside the thread: the latency
 * histogram (common/wr_hist), UDP answers built from copied headers
 * (dataplane/dp_reply), the feature vector and the verdict (control/ctl_fraud's
 * scoring core), and the fraud config section.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "ctl_config.h"
#include "ctl_fraud.h"
#include "dp_reply.h"
#include "dp_test_pkt.h"
#include "wr_hist.h"
#include "wr_txn.h"
#include "wr_test.h"

#define MODEL_PATH WR_SOURCE_ROOT "/configs/models/fraud_model.json"

static const char *const feats[] = {
	"txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h",
	"secs_since_last_txn", "amount_to_avg_ratio", "new_country", "new_merchant",
	"amount", "hour_of_day", "account_age_days", "chargebacks_90d",
};
#define NF 12

/* ---- histogram ---- */

static void test_hist_small_values_are_exact(void)
{
	struct wr_hist h;
	wr_hist_reset(&h);
	for (uint64_t v = 1; v <= 20; v++)
		wr_hist_add(&h, v);
	CU_ASSERT_EQUAL(wr_hist_quantile(&h, 0.5), 10);
	CU_ASSERT_EQUAL(wr_hist_quantile(&h, 0.95), 19);
	CU_ASSERT_EQUAL(wr_hist_quantile(&h, 1.0), 20);
	CU_ASSERT_EQUAL(h.count, 20);
	CU_ASSERT_EQUAL(h.sum, 210);
	CU_ASSERT_EQUAL(h.max, 20);
}

static void test_hist_bucket_bounds_cover_every_value_within_one_sixteenth(void)
{
	/* Every value lies in its bucket, whose upper bound is at most 1/16 above it. */
	uint64_t vals[] = { 0, 31, 32, 33, 63, 64, 100, 1000, 4095, 4096, 123456789,
			    UINT64_C(1) << 40, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v = vals[i];
		uint32_t b = wr_hist_bucket(v);
		CU_ASSERT(b < WR_HIST_BUCKETS);
		uint64_t hi = wr_hist_bucket_max(b);
		CU_ASSERT(hi >= v);
		CU_ASSERT((double)(hi - v) <= (double)v / 16.0 + 1e-9);
		if (b > 0)
			CU_ASSERT(wr_hist_bucket_max(b - 1) < v);
	}
}

static void test_hist_quantiles_of_a_spread_and_merge(void)
{
	struct wr_hist a, b, m;
	wr_hist_reset(&a);
	wr_hist_reset(&b);
	wr_hist_reset(&m);
	/* 990 values at 100 us, 9 at 5000, 1 at 20000: p99 is 100, p999 5000. */
	for (int i = 0; i < 990; i++)
		wr_hist_add(&a, 100);
	for (int i = 0; i < 9; i++)
		wr_hist_add(&b, 5000);
	wr_hist_add(&b, 20000);
	wr_hist_merge(&m, &a);
	wr_hist_merge(&m, &b);
	CU_ASSERT_EQUAL(m.count, 1000);
	CU_ASSERT_EQUAL(wr_hist_quantile(&m, 0.5), wr_hist_bucket_max(wr_hist_bucket(100)));
	CU_ASSERT_EQUAL(wr_hist_quantile(&m, 0.99), wr_hist_bucket_max(wr_hist_bucket(100)));
	CU_ASSERT_EQUAL(wr_hist_quantile(&m, 0.999), wr_hist_bucket_max(wr_hist_bucket(5000)));
	CU_ASSERT_EQUAL(wr_hist_quantile(&m, 1.0), 20000);
	CU_ASSERT_EQUAL(m.max, 20000);
	struct wr_hist e;
	wr_hist_reset(&e);
	CU_ASSERT_EQUAL(wr_hist_quantile(&e, 0.99), 0);
}

/* ---- UDP answers ---- */

static const char ans[] = "{\"txn_id\":\"t1\",\"decision\":\"ALLOW\"}";

static void check_udp(const uint8_t *p, size_t l3, bool v6, size_t len)
{
	size_t ihl = v6 ? 40 : 20;
	const uint8_t *udp = p + l3 + ihl;
	CU_ASSERT_EQUAL(tp_get16(udp), 7000);          /* from the port it was sent to */
	CU_ASSERT_EQUAL(tp_get16(udp + 2), 40000);     /* to the sender's port */
	CU_ASSERT_EQUAL(tp_get16(udp + 4), 8 + sizeof(ans) - 1);
	CU_ASSERT_EQUAL(l3 + ihl + 8 + sizeof(ans) - 1, len);
	CU_ASSERT_EQUAL(memcmp(udp + 8, ans, sizeof(ans) - 1), 0);
	/* The checksum, verified independently: the sum over pseudo header and
	 * datagram folds to 0xffff. */
	uint32_t s = v6 ? tp_pseudo(p + l3 + 8, p + l3 + 24, 16, 17, (uint32_t)(len - l3 - ihl))
			: tp_pseudo(p + l3 + 12, p + l3 + 16, 4, 17, (uint32_t)(len - l3 - ihl));
	CU_ASSERT_EQUAL(tp_fold(tp_sum(udp, len - l3 - ihl, s)), 0xffff);
	CU_ASSERT_NOT_EQUAL(tp_get16(udp + 6), 0);
}

/* dp_udp_reply() of ans to the request frame @req (headers @off bytes),
 * from our MAC; fails the test when no frame comes back. */
static struct rte_mbuf *answer_to(const uint8_t *req, size_t off)
{
	struct rte_ether_addr mac;
	memcpy(mac.addr_bytes, tp_mac_us, 6);
	int e = 0;
	struct rte_mbuf *m = dp_udp_reply(tp_pool, req, (uint32_t)off, &mac, ans, sizeof(ans) - 1,
					  &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static void test_reply_ipv4_with_vlan_swaps_addresses_and_checksums(void)
{
	uint8_t req[256];
	size_t off;
	uint16_t tpid[] = { 0x8100 }, vid[] = { 42 };
	size_t n = tp_udp4_frame(req, 1, tpid, vid, tp_ip4_us, 7000, (const uint8_t *)"{}", 2, &off);
	CU_ASSERT_EQUAL(dp_udp_hdr_len(req, (uint32_t)n), off);
	struct rte_mbuf *m = answer_to(req, off);
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_pkt_len(m);
	CU_ASSERT_EQUAL(memcmp(p, tp_mac_peer, 6), 0);
	CU_ASSERT_EQUAL(memcmp(p + 6, tp_mac_us, 6), 0);
	CU_ASSERT_EQUAL(tp_get16(p + 12), 0x8100);
	CU_ASSERT_EQUAL(tp_get16(p + 14), 42);
	const uint8_t *ip = p + 18;
	CU_ASSERT_EQUAL(memcmp(ip + 12, tp_ip4_us, 4), 0);
	CU_ASSERT_EQUAL(memcmp(ip + 16, tp_ip4_peer, 4), 0);
	CU_ASSERT_EQUAL(tp_get16(ip + 2), len - 18);
	CU_ASSERT_EQUAL(tp_fold(tp_sum(ip, 20, 0)), 0xffff);
	check_udp(p, 18, false, len);
	rte_pktmbuf_free(m);
}

static void test_reply_ipv6(void)
{
	uint8_t req[256];
	size_t off;
	tp_udp6_frame(req, tp_ip6_us, 7000, (const uint8_t *)"[]", 2, &off);
	struct rte_mbuf *m = answer_to(req, off);
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_pkt_len(m);
	CU_ASSERT_EQUAL(memcmp(p, tp_mac_peer, 6), 0);
	CU_ASSERT_EQUAL(memcmp(p + 14 + 8, tp_ip6_us, 16), 0);
	CU_ASSERT_EQUAL(memcmp(p + 14 + 24, tp_ip6_peer, 16), 0);
	CU_ASSERT_EQUAL(tp_get16(p + 14 + 4), len - 14 - 40);
	check_udp(p, 14, true, len);
	rte_pktmbuf_free(m);
}

static void test_reply_refuses_headers_it_does_not_understand(void)
{
	uint8_t req[256];
	size_t off;
	tp_udp4_frame(req, 0, NULL, NULL, tp_ip4_us, 7000, (const uint8_t *)"{}", 2, &off);
	struct rte_ether_addr mac = { { 0 } };
	int e = 0;
	/* Cut short, or not UDP: no answer. */
	CU_ASSERT_PTR_NULL(dp_udp_reply(tp_pool, req, (uint32_t)off - 1, &mac, ans, 3, &e));
	CU_ASSERT_EQUAL(e, -EINVAL);
	CU_ASSERT_EQUAL(dp_udp_hdr_len(req, 20), 0);
	req[14 + 9] = 6; /* TCP */
	CU_ASSERT_EQUAL(dp_udp_hdr_len(req, (uint32_t)off), 0);
	req[14 + 9] = 17;
	tp_put16(req + 12, 0x0806); /* ARP */
	CU_ASSERT_EQUAL(dp_udp_hdr_len(req, (uint32_t)off), 0);
}

/* ---- ERROR answers ---- */

static void test_error_answer_shapes_and_escaping(void)
{
	char b[256];
	int n = wr_txn_error_json(b, sizeof(b), false, "t\"1", 3, "missing field \"amount\"");
	CU_ASSERT_STRING_EQUAL(b, "{\"txn_id\":\"t\\\"1\",\"decision\":\"ERROR\","
			       "\"error\":\"missing field \\\"amount\\\"\"}");
	CU_ASSERT_EQUAL(n, (int)strlen(b));
	wr_txn_error_json(b, sizeof(b), false, "", 0, "overloaded: try again");
	CU_ASSERT_STRING_EQUAL(b, "{\"txn_id\":null,\"decision\":\"ERROR\","
			       "\"error\":\"overloaded: try again\"}");
	wr_txn_error_json(b, sizeof(b), true, "t2", 2, "bad");
	CU_ASSERT_STRING_EQUAL(b, "{\"type\":\"decision_error\",\"txn_id\":\"t2\",\"error\":\"bad\"}");
	/* Too small at every length: refused, never cut. */
	size_t full = strlen(b);
	for (size_t len = 1; len <= full; len++)
		CU_ASSERT_EQUAL(wr_txn_error_json(b, len, true, "t2", 2, "bad"), -ENOSPC);
	CU_ASSERT_EQUAL(wr_txn_error_json(b, full + 1, true, "t2", 2, "bad"), (int)full);
}

/* ---- feature vector and verdict ---- */

static void test_feature_map_sorts_sources_and_row_converts_units(void)
{
	const char *names[] = { "amount_sum_1h", "hour_of_day", "account_age_days", "amount",
				"new_country", "chargebacks_90d" };
	struct ctl_feat_map fm;
	ctl_feat_map_build(&fm, names, 6);
	CU_ASSERT_EQUAL(fm.n, 6);
	CU_ASSERT_EQUAL(fm.src[0], CTL_FEAT_STREAM);
	CU_ASSERT_EQUAL(fm.src[1], CTL_FEAT_HOUR);
	CU_ASSERT_EQUAL(fm.src[2], CTL_FEAT_STORE);
	CU_ASSERT_EQUAL(fm.src[3], CTL_FEAT_AMOUNT);
	CU_ASSERT_EQUAL(fm.src[4], CTL_FEAT_STREAM);
	CU_ASSERT_EQUAL(fm.n_store, 2);
	CU_ASSERT_STRING_EQUAL(fm.store_name[0], "account_age_days");
	CU_ASSERT_STRING_EQUAL(fm.store_name[1], "chargebacks_90d");
	CU_ASSERT_EQUAL(fm.store_pos[1], 5);

	struct wr_txn_req r;
	memset(&r, 0, sizeof(r));
	r.before.amount_sum_1h = 12345678.0;    /* micros */
	r.before.new_country = 1.0;
	r.amount = 19.5;
	/* 2026-11-23 (epoch day 20415) at 13:59:30 UTC. */
	r.ts_us = ((INT64_C(20415) * 86400) + 13 * 3600 + 59 * 60 + 30) * 1000000;
	double store[2] = { 300, NAN };
	float row[6];
	ctl_feat_row(&fm, &r, store, row);
	CU_ASSERT_DOUBLE_EQUAL(row[0], 12.345678, 1e-6);
	CU_ASSERT_EQUAL(row[1], 13.0f);
	CU_ASSERT_EQUAL(row[2], 300.0f);
	CU_ASSERT_EQUAL(row[3], 19.5f);
	CU_ASSERT_EQUAL(row[4], 1.0f);
	CU_ASSERT(isnan(row[5]));
	ctl_feat_row(&fm, &r, NULL, row); /* no store answer: both missing */
	CU_ASSERT(isnan(row[2]) && isnan(row[5]));
}

static void test_judge_maps_thresholds_and_names_positive_reasons(void)
{
	struct ctl_model *m = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(ctl_model_load(MODEL_PATH, feats, NF, &m, err, sizeof(err)), 0);
	/* A takeover-like row and a habitual one. */
	float bad[NF] = { 7, 1497.16f, 20, 1842.64f, 60, 11.6f, 1, 1, 1800, 3, 2089, 0 };
	float good[NF] = { 1, 20, 3, 70, 1500, 1.0f, 0, 0, 22, 14, 900, 0 };
	struct ctl_verdict v;
	float s = ctl_model_score(m, bad);
	ctl_fraud_judge(m, bad, s - 0.01f, s + 0.001f > 1 ? 1 : s + 0.001f, 3, &v);
	CU_ASSERT_EQUAL(v.decision, CTL_REVIEW);
	CU_ASSERT_EQUAL(v.score, s);
	ctl_fraud_judge(m, bad, 0.1f, s, 3, &v);
	CU_ASSERT_EQUAL(v.decision, CTL_BLOCK);      /* score == block blocks */
	CU_ASSERT(v.n_reasons >= 1 && v.n_reasons <= 3);
	/* Reasons are the largest positive contributions, in order. */
	uint32_t idx[NF];
	float con[NF];
	uint32_t n = ctl_model_reasons(m, bad, idx, con, NF);
	CU_ASSERT_EQUAL(n, NF);
	uint32_t pos = 0;
	while (pos < n && con[pos] > 0)
		pos++;
	CU_ASSERT_EQUAL(v.n_reasons, pos < 3 ? pos : 3);
	for (uint32_t i = 0; i < v.n_reasons; i++)
		CU_ASSERT_EQUAL(v.reason[i], idx[i]);
	ctl_fraud_judge(m, good, 0.5f, 0.9f, 0, &v);
	CU_ASSERT_EQUAL(v.decision, CTL_ALLOW);
	CU_ASSERT_EQUAL(v.n_reasons, 0);
	CU_ASSERT(v.score < 0.5f);
	ctl_model_destroy(m);
}

/* ---- config ---- */

static const char *base_cfg =
	"ports: [{device: \"net_null0\"}]\n"
	"rules: {file: x.yaml}\n";

static int load(const char *extra, struct ctl_config **c, char *err, size_t len)
{
	char y[4096];
	snprintf(y, sizeof(y), "%s%s", base_cfg, extra);
	return ctl_config_load_string(y, "/etc/weir/f.yaml", c, err, len);
}

static void test_config_fraud_section(void)
{
	struct ctl_config *c = NULL;
	char err[512];
	int rc = load("fraud:\n"
		      "  ports: [7000, 7001]\n"
		      "  model: m.json\n"
		      "  features: [amount, account_age_days]\n"
		      "  review: 0.3\n"
		      "  block: 0.7\n"
		      "  redis: {host: 127.0.0.1, port: 6380, deadline: 3ms, write_back: false}\n"
		      "outputs: {decisions: {jsonl: d.jsonl}}\n", &c, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(c->fraud_enabled);
	CU_ASSERT_EQUAL(c->n_txn_ports, 2);
	CU_ASSERT_EQUAL(c->txn_ports[1], 7001);
	CU_ASSERT_STRING_EQUAL(c->fraud_model, "/etc/weir/m.json");
	CU_ASSERT_EQUAL(c->n_fraud_features, 2);
	CU_ASSERT_DOUBLE_EQUAL(c->fraud_review, 0.3, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(c->fraud_block, 0.7, 1e-12);
	CU_ASSERT_EQUAL(c->redis_port, 6380);
	CU_ASSERT_EQUAL(c->redis_deadline_us, 3000);
	CU_ASSERT_FALSE(c->redis_write_back);
	CU_ASSERT_STRING_EQUAL(c->redis_key_prefix, "user:");
	CU_ASSERT_STRING_EQUAL(c->decisions_jsonl, "/etc/weir/d.jsonl");
	CU_ASSERT_EQUAL(c->fraud_reasons, 3);
	CU_ASSERT_DOUBLE_EQUAL(c->txn_max_amount, 1e9, 1);
	ctl_config_destroy(c);

	/* Off by default; a txn topic turns it on too. */
	CU_ASSERT_EQUAL_FATAL(load("", &c, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(c->fraud_enabled);
	ctl_config_destroy(c);
	CU_ASSERT_EQUAL(load("kafka: {brokers: \"k:9092\", topics: [{name: pay, format: txn}]}\n"
			     "fraud: {model: m.json, features: [amount]}\n", &c, err, sizeof(err)), 0);
	CU_ASSERT(c && c->fraud_enabled);
	ctl_config_destroy(c);
}

static void test_config_fraud_errors_name_the_key(void)
{
	struct ctl_config *c = NULL;
	char err[512];
	CU_ASSERT_EQUAL(load("fraud: {ports: [7000], features: [amount]}\n", &c, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fraud.model': missing"));
	CU_ASSERT_EQUAL(load("fraud: {ports: [7000], model: m.json}\n", &c, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fraud.features': missing"));
	CU_ASSERT_EQUAL(load("fraud: {review: 0.9, block: 0.5}\n", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fraud.block': 0.5 must be above fraud.review"));
	CU_ASSERT_EQUAL(load("fraud: {review: 1.5}\n", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fraud.review': value 1.5 out of range"));
	CU_ASSERT_EQUAL(load("fraud: {review: nan}\n", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a finite number"));
	CU_ASSERT_EQUAL(load("fraud: {ports: [514], model: m, features: [amount]}\n", &c, err,
			     sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "port 514 is also a syslog or clickstream port"));
	CU_ASSERT_EQUAL(load("fraud: {redis: {host: h, unix: /x.sock}}\n", &c, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "set either host or unix"));
	CU_ASSERT_EQUAL(load("fraud: {redis: {deadline: 0s}}\n", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "fraud.redis.deadline"));
	CU_ASSERT_EQUAL(load("outputs: {decisions: {kafka: d}}\n", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "kafka.brokers"));
	CU_ASSERT_PTR_NULL(c);
}

/* ---- deciding on the worker (ctl_fraud_fast) ---- */

/* A fraud part with the demo model and no feature store, one worker, not
 * started (the thread's loop plays no part in the workers' call). */
static struct ctl_fraud *fast_fixture(bool on_worker, struct ctl_config **cfg,
				      struct wr_counters *cnt)
{
	char y[1024], err[512], cwd[512];
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));   /* the project root */
	snprintf(y, sizeof(y),
		 "fraud:\n"
		 "  ports: [7000]\n"
		 "  model: %s/configs/models/fraud_model.json\n"
		 "  features: [txn_count_1h, amount_sum_1h, txn_count_24h, amount_sum_24h,\n"
		 "             secs_since_last_txn, amount_to_avg_ratio, new_country, new_merchant,\n"
		 "             amount, hour_of_day, account_age_days, chargebacks_90d]\n"
		 "  decide_on_worker: %s\n", cwd, on_worker ? "true" : "false");
	CU_ASSERT_EQUAL_FATAL(load(y, cfg, err, sizeof(err)), 0);
	static struct rte_ring *rings[1], *replies[1];
	static struct wr_wake wake = { .fd = -1 };
	struct ctl_fraud_conf fc = { .cfg = *cfg, .rings = rings, .replies = replies, .n_rings = 1,
				     .wake = &wake, .mp = tp_pool, .cnt = cnt };
	struct ctl_fraud *f = NULL;
	int rc = ctl_fraud_create(&fc, &f, err, sizeof(err));
	if (rc)
		fprintf(stderr, "ctl_fraud_create: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return f;
}

static void fast_txn(struct wr_txn_req *r, const char *id, double amount)
{
	memset(r, 0, sizeof(*r));
	r->kind = WR_TXN_SCORE;
	r->reply = 1;
	r->txn_id_len = (uint16_t)snprintf(r->txn_id, sizeof(r->txn_id), "%s", id);
	r->user_len = (uint16_t)snprintf(r->user, sizeof(r->user), "u42");
	r->amount = amount;
	r->ts_us = INT64_C(1795400000) * 1000000;
	r->rx_tsc = rte_rdtsc();
	r->before.txn_count_1h = 7;
	r->before.amount_sum_1h = 5000e6;
	r->before.txn_count_24h = 9;
	r->before.amount_sum_24h = 6000e6;
	r->before.secs_since_last_txn = 20;
	r->before.amount_to_avg_ratio = 30;
	r->before.new_country = 1;
	r->before.new_merchant = 1;
}

/* Decided on the worker: the verdict the fraud thread would give (the same
 * row through ctl_fraud_judge), its answer, and the record for the audit. */
static void test_fast_decides_like_the_thread_and_fills_the_record(void)
{
	struct ctl_config *cfg = NULL;
	struct wr_counters fcnt = { 0 }, wcnt = { 0 };
	struct ctl_fraud *f = fast_fixture(true, &cfg, &fcnt);
	struct wr_txn_req r;
	fast_txn(&r, "t-1", 2500.0);
	char buf[2048];
	int n = ctl_fraud_fast(f, 0, &r, buf, sizeof(buf), &wcnt);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_EQUAL(r.kind, WR_TXN_DECIDED);
	CU_ASSERT_FALSE(r.done.has_store);

	/* the same verdict as the thread's scoring core */
	struct ctl_model *m = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(ctl_model_load(cfg->fraud_model,
					     (const char *const *)cfg->fraud_features,
					     cfg->n_fraud_features, &m, err, sizeof(err)), 0);
	struct ctl_feat_map fm;
	ctl_feat_map_build(&fm, (const char *const *)cfg->fraud_features, cfg->n_fraud_features);
	float row[CTL_MAX_FRAUD_FEATURES];
	ctl_feat_row(&fm, &r, NULL, row);
	struct ctl_verdict v;
	ctl_fraud_judge(m, row, (float)cfg->fraud_review, (float)cfg->fraud_block,
			cfg->fraud_reasons, &v);
	CU_ASSERT_EQUAL(r.done.score, v.score);
	CU_ASSERT_EQUAL(r.done.decision, v.decision);
	CU_ASSERT_EQUAL(r.done.n_reasons, v.n_reasons);
	for (uint32_t i = 0; i < v.n_reasons; i++)
		CU_ASSERT_EQUAL(r.done.reason[i], v.reason[i]);
	char want[128];
	snprintf(want, sizeof(want), "{\"txn_id\":\"t-1\",\"decision\":\"%s\"",
		 ctl_decision_name(v.decision));
	CU_ASSERT_NSTRING_EQUAL(buf, want, strlen(want));
	snprintf(want, sizeof(want), "\"model_version\":\"%s\"", ctl_model_version(m));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"degraded\":false,\"missing\":[]}"));
	CU_ASSERT_EQUAL(r.done.model_gen, 1);
	CU_ASSERT(r.done.start_us <= r.done.lat_us);
	/* counted on the worker's slot, not the thread's */
	CU_ASSERT_EQUAL(wcnt.v[WR_CNT_fraud_on_worker], 1);
	CU_ASSERT_EQUAL(wcnt.v[WR_CNT_fraud_decisions], 1);
	CU_ASSERT_EQUAL(fcnt.v[WR_CNT_fraud_decisions], 0);
	CU_ASSERT_EQUAL(wcnt.v[WR_CNT_redis_cache_hits], 0);
	ctl_model_destroy(m);
	ctl_fraud_destroy(f);
	ctl_config_destroy(cfg);
}

/* When the worker must leave it to the fraud thread (besides its pending
 * filter, which the worker checks itself). */
static void test_fast_declines_foreign_decided_and_off(void)
{
	struct ctl_config *cfg = NULL;
	struct wr_counters cnt = { 0 };
	struct ctl_fraud *f = fast_fixture(true, &cfg, &cnt);
	struct wr_txn_req r;
	char buf[2048];
	fast_txn(&r, "t-2", 10.0);
	/* a worker the fraud part does not know */
	CU_ASSERT_EQUAL(ctl_fraud_fast(f, 1, &r, buf, sizeof(buf), &cnt), 0);
	/* not a transaction to score */
	r.kind = WR_TXN_BAD;
	CU_ASSERT_EQUAL(ctl_fraud_fast(f, 0, &r, buf, sizeof(buf), &cnt), 0);
	/* an answer that does not fit the buffer */
	r.kind = WR_TXN_SCORE;
	CU_ASSERT_EQUAL(ctl_fraud_fast(f, 0, &r, buf, 40, &cnt), 0);
	CU_ASSERT_EQUAL(r.kind, WR_TXN_SCORE);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_fraud_on_worker], 0);
	/* and with the room, now */
	CU_ASSERT(ctl_fraud_fast(f, 0, &r, buf, sizeof(buf), &cnt) > 0);
	ctl_fraud_destroy(f);
	ctl_config_destroy(cfg);

	/* fraud.decide_on_worker: false */
	f = fast_fixture(false, &cfg, &cnt);
	fast_txn(&r, "t-3", 10.0);
	CU_ASSERT_EQUAL(ctl_fraud_fast(f, 0, &r, buf, sizeof(buf), &cnt), 0);
	ctl_fraud_destroy(f);
	ctl_config_destroy(cfg);
}

static int reg(void)
{
	static char prefix[] = "test_fraud";
	if (tp_setup(prefix))
		return -1;
	WR_SUITE("fraud",
		 WR_TEST(test_hist_small_values_are_exact),
		 WR_TEST(test_fast_decides_like_the_thread_and_fills_the_record),
		 WR_TEST(test_fast_declines_foreign_decided_and_off),
		 WR_TEST(test_hist_bucket_bounds_cover_every_value_within_one_sixteenth),
		 WR_TEST(test_hist_quantiles_of_a_spread_and_merge),
		 WR_TEST(test_reply_ipv4_with_vlan_swaps_addresses_and_checksums),
		 WR_TEST(test_reply_ipv6),
		 WR_TEST(test_reply_refuses_headers_it_does_not_understand),
		 WR_TEST(test_error_answer_shapes_and_escaping),
		 WR_TEST(test_feature_map_sorts_sources_and_row_converts_units),
		 WR_TEST(test_judge_maps_thresholds_and_names_positive_reasons),
		 WR_TEST(test_config_fraud_section),
		 WR_TEST(test_config_fraud_errors_name_the_key));
	return 0;
}

WR_TEST_MAIN(reg)
