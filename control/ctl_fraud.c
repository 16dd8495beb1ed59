/*
 * ctl_fraud.c - the fraud thread. See ctl_fraud.h for the path and the
 * guarantees; this file is the mechanics.
 *
 * Batches: requests drained from the rings go into a batch (at most
 * BATCH_MAX); a full batch, or whatever is there at the end of a drain, is
 * sent as one ctl_redis_lookup() (one pipelined round trip). Batches come
 * from a fixed pool: when every batch is waiting on Redis, new transactions
 * are scored at once without the store (degraded) rather than queued behind
 * a slow Redis.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "ctl_fraud.h"
#include "ctl_kafka.h"
#include "ctl_redis.h"
#include "ctl_rcache.h"
#include "ctl_sink.h"
#include "dp_reply.h"
#include "wr_common.h"
#include "wr_hist.h"

#define BATCH_MAX 64
#define BATCH_POOL 64
#define TX_BURST 32
#define IDLE_WAIT_US 1000          /* longest sleep: shutdown and reload stay prompt */
#define FLUSH_EVERY_US 100000
#define VERIFY_RANDOM_ROWS 256
#define VERIFY_SAMPLE_ROWS 1000
/* How long the cache's "serving" holds for the workers after the thread
 * last saw it: the thread sleeps at most IDLE_WAIT_US, so while it runs the
 * word never lapses; a thread kept off its CPU lets it lapse and the
 * workers send everything here again. */
#define FAST_FRESH_US (2 * IDLE_WAIT_US)
#define VERSIONS_KEPT 8

/* Stream feature names, in struct st_feat_vec order. */
static const char *const stream_names[] = {
	"txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h",
	"secs_since_last_txn", "amount_to_avg_ratio", "new_country", "new_merchant",
};
_Static_assert(sizeof(struct st_feat_vec) == 8 * sizeof(double), "st_feat_vec layout");

/* Write-back fields (the user's aggregates after the transaction). */
static const char *const wb_fields[] = {
	"txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h", "last_txn_ts",
};

struct fr_models {
	struct ctl_model *main, *shadow;
	uint64_t gen;
};

struct fr_batch {
	struct fr_batch *next;         /* free list */
	struct ctl_fraud *f;
	uint32_t n;
	int64_t t0_us;                 /* lookup sent */
	struct wr_txn_req req[BATCH_MAX];
};

struct fr_tx {
	struct rte_mbuf *m[TX_BURST];
	uint16_t n;
};

/* One word on a cache line of its own, written by one side only. */
struct fr_word {
	uint64_t v;
	uint8_t pad[RTE_CACHE_LINE_SIZE - sizeof(uint64_t)];
};

struct ctl_fraud {
	/* Deciding on the workers (wr_txn_fast). First, so that the struct's
	 * alignment puts each word on its own line. */
	struct fr_word cs[RTE_MAX_LCORE];   /* worker: odd while it holds a model */
	struct fr_word fast_until;          /* thread: workers may use the cache
					     * until this TSC (0: not now) */
	bool fast_on;                       /* fraud.decide_on_worker and possible */
	bool fast_store;                    /* the store's values come from the cache */
	uint64_t fast_fresh_tsc;
	struct {                            /* the last published generations' */
		uint64_t gen;               /* model versions, for the audit of */
		char version[96];           /* worker decisions (reload_lock) */
	} versions[VERSIONS_KEPT];

	struct ctl_fraud_conf c;
	const struct ctl_config *cfg;
	struct ctl_feat_map fmap;
	struct ctl_redis *redis;       /* NULL: no store */
	struct ctl_jsonl *audit;
	struct wr_wake *wake;
	int efd;

	struct fr_models *pub;         /* published; the thread reads it at each loop top */
	struct fr_models *cur;         /* the thread's view for one loop */
	uint64_t seen_gen;             /* thread: last generation it started a loop with */
	uint64_t loops;                /* thread: loops completed (ctl_fraud_quiesce) */
	bool quiet;                    /* thread, at the end of a loop: nothing in the
				        * rings, waiting on Redis or held for sending */
	pthread_mutex_t reload_lock;

	pthread_t th;
	bool started;
	volatile int stop;

	struct fr_batch pool[BATCH_POOL];
	struct fr_batch *free_list;
	struct fr_batch *open;         /* being filled */
	uint32_t in_flight;            /* batches waiting on Redis */

	struct fr_tx tx[RTE_MAX_LCORE];    /* answers per receiving worker */
	struct rte_mbuf *stash[BATCH_MAX]; /* answer buffers taken ahead for a batch */
	unsigned stash_n;
	const struct ctl_fraud_port *port_of[RTE_MAX_ETHPORTS];
	double tsc_per_us;
	int64_t last_flush_us;

	struct wr_hist lat, redis_wait;
	struct wr_hist queue_wait;     /* receive -> the thread takes it from its ring */
	bool redis_up;                 /* for ctl_fraud_stats(), refreshed every loop */
	int8_t cache_state;            /* ctl_redis_cache_state(), with redis_up */
	uint32_t cache_held;
	long test_nap_ns;              /* WEIR_TEST_SLOW_FRAUD_US: tests only */
	struct wr_txn_req in[BATCH_MAX];
	char line[8192];
	char reply[2048];
	struct wr_ratelimit rl;
};

/* ---- scoring core ------------------------------------------------------ */

void ctl_feat_map_build(struct ctl_feat_map *m, const char *const *names, uint32_t n)
{
	memset(m, 0, sizeof(*m));
	if (n > CTL_MAX_FRAUD_FEATURES)
		n = CTL_MAX_FRAUD_FEATURES;
	m->n = n;
	for (uint32_t i = 0; i < n; i++) {
		m->name[i] = names[i];
		bool found = false;
		for (uint32_t s = 0; s < WR_ARRAY_SIZE(stream_names); s++)
			if (!strcmp(names[i], stream_names[s])) {
				m->src[i] = CTL_FEAT_STREAM;
				m->idx[i] = (uint8_t)s;
				found = true;
			}
		if (found)
			continue;
		if (!strcmp(names[i], "amount")) {
			m->src[i] = CTL_FEAT_AMOUNT;
		} else if (!strcmp(names[i], "hour_of_day")) {
			m->src[i] = CTL_FEAT_HOUR;
		} else {
			m->src[i] = CTL_FEAT_STORE;
			m->idx[i] = (uint8_t)m->n_store;
			m->store_name[m->n_store] = names[i];
			m->store_pos[m->n_store++] = i;
		}
	}
}

void ctl_feat_row(const struct ctl_feat_map *m, const struct wr_txn_req *req,
		  const double *store, float *row)
{
	const double *vec = (const double *)&req->before;
	for (uint32_t i = 0; i < m->n; i++) {
		double v;
		switch (m->src[i]) {
		case CTL_FEAT_STREAM:
			v = vec[m->idx[i]];
			/* Sums are kept in micros (exact integers); the model speaks units. */
			if (m->idx[i] == 1 || m->idx[i] == 3)
				v /= 1e6;
			break;
		case CTL_FEAT_AMOUNT:
			v = req->amount;
			break;
		case CTL_FEAT_HOUR:
			v = (double)((req->ts_us / (3600LL * WR_US_PER_SEC)) % 24);
			break;
		default:
			v = store ? store[m->idx[i]] : NAN;
			break;
		}
		row[i] = (float)v;
	}
}

void ctl_fraud_judge(const struct ctl_model *m, const float *row, float review, float block,
		     uint32_t max_reasons, struct ctl_verdict *v)
{
	uint32_t idx[CTL_MAX_FRAUD_FEATURES];
	float contrib[CTL_MAX_FRAUD_FEATURES];
	uint32_t want = max_reasons > CTL_MAX_FRAUD_REASONS ? CTL_MAX_FRAUD_REASONS : max_reasons;
	uint32_t got = 0;
	if (want)
		got = ctl_model_score_reasons(m, row, &v->score, idx, contrib, want);
	else
		v->score = ctl_model_score(m, row);
	v->decision = ctl_decide(v->score, review, block);
	v->n_reasons = 0;
	for (uint32_t i = 0; i < got; i++)
		if (contrib[i] > 0)
			v->reason[v->n_reasons++] = idx[i];
}

/* ---- models ------------------------------------------------------------ */

/* Rows for the XGBoost cross-check: the samples file's feature columns (if
 * configured, read by ctl_model_read_samples), then random rows spanning the
 * ranges transactions produce, with missing values. Returns 0 and the rows
 * (malloc'ed) in *@out, *@n; or -errno with the reason in @err. */
static int verify_rows(const struct ctl_config *cfg, const struct ctl_model *m, float **out,
		       uint32_t *n, char *err, size_t errlen)
{
	uint32_t nf = cfg->n_fraud_features, ns = 0;
	float *samples = NULL;
	*out = NULL;
	*n = 0;
	if (cfg->fraud_samples) {
		int rc = ctl_model_read_samples(m, cfg->fraud_samples, &samples, &ns, err, errlen);
		if (rc)
			return rc;
		if (ns > VERIFY_SAMPLE_ROWS)
			ns = VERIFY_SAMPLE_ROWS;
	}
	float *rows = malloc(sizeof(float) * nf * (ns + VERIFY_RANDOM_ROWS));
	if (!rows) {
		free(samples);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint32_t r = 0;
	for (; r < ns; r++) /* sample rows carry xgb_prob last: drop it */
		memcpy(rows + (size_t)r * nf, samples + (size_t)r * (nf + 1), nf * sizeof(float));
	free(samples);
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (uint32_t k = 0; k < VERIFY_RANDOM_ROWS; k++, r++)
		for (uint32_t f = 0; f < nf; f++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			double u = (double)(s >> 11) / 9007199254740992.0;
			/* 10 % missing, else log-uniform over 1e-3 .. 1e5, sometimes 0 or 1. */
			float x = u < 0.1 ? NAN : u < 0.15 ? 0.0f : u < 0.2 ? 1.0f
				: (float)pow(10.0, -3.0 + 8.0 * (u - 0.2) / 0.8);
			rows[(size_t)r * nf + f] = x;
		}
	*out = rows;
	*n = r;
	return 0;
}

static int load_one(const struct ctl_config *cfg, const char *path, struct ctl_model **out,
		    char *err, size_t errlen)
{
	char e[512];
	int rc = ctl_model_load(path, (const char *const *)cfg->fraud_features,
				cfg->n_fraud_features, out, e, sizeof(e));
	if (rc) {
		snprintf(err, errlen, "model '%s': %s", path, e);
		return rc;
	}
	float *rows = NULL;
	uint32_t n = 0;
	rc = verify_rows(cfg, *out, &rows, &n, e, sizeof(e));
	if (!rc)
		rc = ctl_model_verify(*out, path, rows, n, e, sizeof(e));
	free(rows);
	if (!rc && cfg->fraud_samples && path == cfg->fraud_model) {
		uint32_t checked = 0;
		rc = ctl_model_check_samples(*out, cfg->fraud_samples, CTL_MODEL_VERIFY_TOL, &checked,
					     e, sizeof(e));
		if (!rc && !checked) {
			snprintf(e, sizeof(e), "samples file '%s' has no rows", cfg->fraud_samples);
			rc = -EBADMSG;
		}
	}
	if (rc) {
		snprintf(err, errlen, "model '%s' refused: %s", path, e);
		ctl_model_destroy(*out);
		*out = NULL;
	}
	return rc;
}

static int load_models(const struct ctl_config *cfg, struct fr_models **out, uint64_t gen,
		       char *err, size_t errlen)
{
	struct fr_models *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->gen = gen;
	int rc = load_one(cfg, cfg->fraud_model, &ms->main, err, errlen);
	if (!rc && cfg->fraud_shadow_model)
		rc = load_one(cfg, cfg->fraud_shadow_model, &ms->shadow, err, errlen);
	if (rc) {
		ctl_model_destroy(ms->main);
		free(ms);
		return rc;
	}
	*out = ms;
	return 0;
}

static void free_models(struct fr_models *ms)
{
	if (!ms)
		return;
	ctl_model_destroy(ms->main);
	ctl_model_destroy(ms->shadow);
	free(ms);
}

int ctl_fraud_check_models(const struct ctl_config *cfg, char *version, size_t vlen, char *err,
			   size_t errlen)
{
	struct fr_models *ms = NULL;
	int rc = load_models(cfg, &ms, 1, err, errlen);
	if (rc)
		return rc;
	snprintf(version, vlen, "%s", ctl_model_version(ms->main));
	free_models(ms);
	return 0;
}

/* ---- output ------------------------------------------------------------ */

struct jbuf {
	char *b;
	size_t len, pos;
	bool full;
};

static void jb_raw(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jb_raw(struct jbuf *j, const char *fmt, ...)
{
	if (j->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(j->b + j->pos, j->len - j->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->len - j->pos)
		j->full = true;
	else
		j->pos += (size_t)n;
}

/* The answer path's pieces are put without printf: each formatted field
 * cost ~0.3-1 us there (vfprintf, and for "%.6f" glibc's multi-precision
 * float printing). */
static void jb_put(struct jbuf *j, const char *s, size_t n)
{
	if (j->full)
		return;
	if (j->pos + n >= j->len) {
		j->full = true;
		return;
	}
	memcpy(j->b + j->pos, s, n);
	j->pos += n;
	j->b[j->pos] = 0;
}

#define jb_lit(j, s) jb_put((j), (s), sizeof(s) - 1)

static void jb_u64(struct jbuf *j, uint64_t v)
{
	char t[20];
	jb_put(j, t, wr_fmt_u64(t, v));
}

/*
 * "%.6f" of a float, exactly as printf prints it: a float times 1e6 is
 * exact in a double (24 + 14 significant bits), so rounding that product
 * to an integer with nearbyint (ties to even, as glibc rounds an exact
 * tie) gives printf's digits.
 */
static void jb_f6(struct jbuf *j, float x)
{
	double m = nearbyint(fabs((double)x) * 1e6);
	if (!(m < 0x1p63)) {                     /* NaN, infinities, huge */
		jb_raw(j, "%.6f", (double)x);
		return;
	}
	char t[28];
	if (signbit(x))
		jb_lit(j, "-");
	jb_put(j, t, wr_fmt_micros(t, (uint64_t)m, false));
}

static void jb_str(struct jbuf *j, const char *s, size_t n)
{
	if (j->full)
		return;
	if (j->pos + 2 >= j->len) {
		j->full = true;
		return;
	}
	j->b[j->pos++] = '"';
	if (wr_json_escape(j->b, j->len, &j->pos, s, n) || j->pos + 1 >= j->len) {
		j->full = true;
		return;
	}
	j->b[j->pos++] = '"';
	j->b[j->pos] = 0;
}

static void jb_num(struct jbuf *j, double v)
{
	if (isfinite(v))
		jb_raw(j, "%.9g", v);
	else
		jb_raw(j, "null");
}

/* The fields reply and audit share. */
static void put_verdict(struct jbuf *j, const struct ctl_fraud *f, const struct wr_txn_req *r,
			const struct ctl_verdict *v, const char *ver, uint64_t lat_us,
			bool degraded, const double *store, bool have_store)
{
	const char *dn = ctl_decision_name(v->decision);
	jb_lit(j, "{\"txn_id\":");
	jb_str(j, r->txn_id, r->txn_id_len);
	jb_lit(j, ",\"decision\":\"");
	jb_put(j, dn, strlen(dn));
	jb_lit(j, "\",\"score\":");
	jb_f6(j, v->score);
	jb_lit(j, ",\"reasons\":[");
	for (uint32_t i = 0; i < v->n_reasons; i++) {
		if (i)
			jb_lit(j, ",");
		const char *nm = f->fmap.name[v->reason[i]];
		jb_str(j, nm, strlen(nm));
	}
	jb_lit(j, "],\"model_version\":");
	jb_str(j, ver, strlen(ver));
	jb_lit(j, ",\"latency_us\":");
	jb_u64(j, lat_us);
	if (degraded)
		jb_lit(j, ",\"degraded\":true,\"missing\":[");
	else
		jb_lit(j, ",\"degraded\":false,\"missing\":[");
	/* Missing = store features we did not get because of Redis, not ones the
	 * store does not have (those are simply absent: the model knows). */
	bool first = true;
	for (uint32_t i = 0; degraded && i < f->fmap.n_store; i++) {
		if (have_store && store && !isnan(store[i]))
			continue;
		if (!first)
			jb_lit(j, ",");
		first = false;
		jb_str(j, f->fmap.store_name[i], strlen(f->fmap.store_name[i]));
	}
	jb_lit(j, "]");
}

/* Hand the answers for worker @w to it; what its ring cannot take is lost
 * (counted): the worker drains the ring every loop, so that means a stuck
 * worker, and waiting would stall every other answer. */
static void flush_one(struct ctl_fraud *f, unsigned w)
{
	struct fr_tx *t = &f->tx[w];
	if (!t->n)
		return;
	unsigned sent = w < f->c.n_rings ?
		rte_ring_sp_enqueue_burst(f->c.replies[w], (void *const *)t->m, t->n, NULL) : 0;
	WR_COUNT_ADD(f->c.cnt, fraud_replies, sent);
	if (sent < t->n) {
		WR_COUNT_ADD(f->c.cnt, fraud_reply_failed, t->n - sent);
		rte_pktmbuf_free_bulk(&t->m[sent], t->n - sent);
	}
	t->n = 0;
}

static void flush_tx(struct ctl_fraud *f)
{
	for (unsigned w = 0; w < f->c.n_rings; w++)
		flush_one(f, w);
}

static void queue_reply(struct ctl_fraud *f, const struct wr_txn_req *r, const char *payload,
			size_t len)
{
	const struct ctl_fraud_port *p = r->port_id < RTE_MAX_ETHPORTS ? f->port_of[r->port_id]
									: NULL;
	int e = 0;
	struct rte_mbuf *m = NULL;
	if (p && f->stash_n)
		m = dp_udp_reply_in(f->stash[--f->stash_n], r->hdr, r->hdr_len, &p->mac, payload,
				    (uint32_t)len, &e);
	else if (p)
		m = dp_udp_reply(f->c.mp, r->hdr, r->hdr_len, &p->mac, payload, (uint32_t)len, &e);
	if (!m) {
		WR_COUNT(f->c.cnt, fraud_reply_failed);
		uint32_t supp;
		if (wr_ratelimit_pass(&f->rl, &supp))
			WR_WARN("fraud", "cannot answer txn '%.*s': %s (%u similar suppressed)",
				(int)r->txn_id_len, r->txn_id,
				p ? (e == -ENOMEM ? "no packet buffer" : "reply does not fit")
				  : "unknown port", supp);
		return;
	}
	m->hash.usr = r->rx_input; /* the worker's input = (port, tx queue) to send on */
	struct fr_tx *t = &f->tx[r->rx_worker];
	t->m[t->n++] = m;
	if (t->n == TX_BURST)
		flush_one(f, r->rx_worker);
}

static uint64_t since_rx_us(const struct ctl_fraud *f, uint64_t rx_tsc)
{
	uint64_t now = rte_rdtsc();
	return now > rx_tsc ? (uint64_t)((double)(now - rx_tsc) / f->tsc_per_us) : 0;
}

/* An audit record to Kafka, never waiting for room: answers come first. */
static void audit_kafka(struct ctl_fraud *f, const char *key, size_t klen, const char *v,
			size_t len)
{
	if (ctl_kafka_produce_nowait(f->c.kafka, f->cfg->decisions_kafka, key, klen, v, len,
				     NULL) == -ENOBUFS) {
		WR_COUNT(f->c.cnt, fraud_audit_dropped);
		uint32_t supp;
		if (wr_ratelimit_pass(&f->rl, &supp))
			WR_WARN("fraud", "Kafka producer queue full: audit record dropped (%u "
				"similar suppressed)", supp);
	}
}

static void answer_bad(struct ctl_fraud *f, const struct wr_txn_req *r)
{
	int n = wr_txn_error_json(f->reply, sizeof(f->reply), false, r->txn_id, r->txn_id_len,
				  r->why);
	if (n < 0)
		return;
	if (r->reply)
		queue_reply(f, r, f->reply, (size_t)n);
	if (f->audit || (f->cfg->decisions_kafka && f->c.kafka)) {
		n = wr_txn_error_json(f->line, sizeof(f->line), true, r->txn_id, r->txn_id_len,
				      r->why);
		if (n < 0)
			return;
		if (f->audit)
			ctl_jsonl_write(f->audit, f->line, (size_t)n);
		if (f->cfg->decisions_kafka && f->c.kafka)
			audit_kafka(f, NULL, 0, f->line, (size_t)n);
	}
}

static void write_back(struct ctl_fraud *f, const struct wr_txn_req *r)
{
	if (!f->redis || !f->cfg->redis_write_back || r->feat_rc != 0)
		return;
	double vals[WR_ARRAY_SIZE(wb_fields)] = {
		r->after.txn_count_1h, r->after.amount_sum_1h / 1e6,
		r->after.txn_count_24h, r->after.amount_sum_24h / 1e6,
		(double)r->ts_us / 1e6,
	};
	for (unsigned i = 0; i < WR_ARRAY_SIZE(vals); i++)
		if (!isfinite(vals[i]))
			return;
	/* Refusals (down, too many in flight) are counted by the client. */
	ctl_redis_write(f->redis, r->user, wb_fields, vals, WR_ARRAY_SIZE(wb_fields));
}

static void count_decision(struct wr_counters *cnt, enum ctl_decision d, bool degraded)
{
	WR_COUNT(cnt, fraud_decisions);
	if (d == CTL_BLOCK)
		WR_COUNT(cnt, fraud_block);
	else if (d == CTL_REVIEW)
		WR_COUNT(cnt, fraud_review);
	else
		WR_COUNT(cnt, fraud_allow);
	if (degraded)
		WR_COUNT(cnt, fraud_degraded);
}

/* A SCORE record is decided (its write-back issued): off the owner's
 * pending filter, so that the worker may decide that user again. */
static void finished(struct ctl_fraud *f, const struct wr_txn_req *r)
{
	if (r->pend && f->c.pend && r->owner < f->c.n_rings && r->pend <= WR_TXN_PEND_N)
		__atomic_fetch_sub(&f->c.pend[r->owner][r->pend - 1], 1, __ATOMIC_RELEASE);
}

/* After the answer (@j, the reply's JSON): the shadow model, the audit
 * record, the write-back. */
static void record(struct ctl_fraud *f, const struct wr_txn_req *r, const float *row,
		   enum ctl_decision decision, const struct jbuf *j)
{
	const struct fr_models *ms = f->cur;
	const struct ctl_config *cfg = f->cfg;
	struct ctl_verdict sv = { 0 };
	if (ms->shadow) {
		ctl_fraud_judge(ms->shadow, row, (float)cfg->fraud_review, (float)cfg->fraud_block,
				cfg->fraud_reasons, &sv);
		WR_COUNT(f->c.cnt, fraud_shadow_scored);
		if (sv.decision != decision)
			WR_COUNT(f->c.cnt, fraud_shadow_disagree);
	}
	if (f->audit || (cfg->decisions_kafka && f->c.kafka)) {
		struct jbuf a = { f->line, sizeof(f->line), 0, false };
		jb_raw(&a, "{\"type\":\"decision\",");
		/* Reuse the reply's fields: drop its leading '{' and closing '}'. */
		if (j->pos > 2 && !j->full)
			jb_raw(&a, "%.*s", (int)(j->pos - 2), j->b + 1);
		jb_raw(&a, ",\"user_id\":");
		jb_str(&a, r->user, r->user_len);
		char ts[40];
		wr_time_format(r->ts_us, ts, sizeof(ts));
		jb_raw(&a, ",\"ts\":\"%s\",\"amount\":%.6f,\"currency\":\"%s\",\"merchant\":", ts,
		       r->amount, r->currency);
		jb_str(&a, r->merchant, r->merchant_len);
		jb_raw(&a, ",\"country\":");
		jb_str(&a, r->country, r->country_len);
		jb_raw(&a, ",\"source\":\"%s\",\"decided_by\":\"%s\",\"history\":\"%s\","
		       "\"features\":{", r->reply ? "udp" : "kafka",
		       r->kind == WR_TXN_DECIDED ? "worker" : "fraud_thread",
		       r->feat_rc == 1 ? "late" : r->feat_rc == 2 ? "table_full" : "ok");
		for (uint32_t i = 0; i < f->fmap.n; i++) {
			if (i)
				jb_raw(&a, ",");
			jb_str(&a, f->fmap.name[i], strlen(f->fmap.name[i]));
			jb_raw(&a, ":");
			jb_num(&a, row[i]);
		}
		jb_raw(&a, "}");
		if (ms->shadow) {
			jb_raw(&a, ",\"shadow\":{\"model_version\":");
			const char *sver = ctl_model_version(ms->shadow);
			jb_str(&a, sver, strlen(sver));
			jb_raw(&a, ",\"score\":%.6f,\"decision\":\"%s\"}", (double)sv.score,
			       ctl_decision_name(sv.decision));
		}
		jb_raw(&a, "}");
		if (!a.full) {
			if (f->audit)
				ctl_jsonl_write(f->audit, a.b, a.pos);
			if (cfg->decisions_kafka && f->c.kafka)
				audit_kafka(f, r->user, r->user_len, a.b, a.pos);
		}
	}
	write_back(f, r);
}

/* Score @r with model @m on its features (@store as for ctl_feat_row())
 * into @row and @v, and write the answer into @j. Returns the latency
 * from the receive to the answer built. The fraud thread and the workers
 * (ctl_fraud_fast) both decide through it. */
static uint64_t judge_answer(const struct ctl_fraud *f, const struct ctl_model *m,
			     const struct wr_txn_req *r, const double *store, bool degraded,
			     float *row, struct ctl_verdict *v, struct jbuf *j)
{
	const struct ctl_config *cfg = f->cfg;
	ctl_feat_row(&f->fmap, r, store, row);
	ctl_fraud_judge(m, row, (float)cfg->fraud_review, (float)cfg->fraud_block,
			cfg->fraud_reasons, v);
	uint64_t lat = since_rx_us(f, r->rx_tsc);
	put_verdict(j, f, r, v, ctl_model_version(m), lat, degraded, store, store != NULL);
	jb_lit(j, "}");
	return lat;
}

/* Score, answer, audit, write back one transaction. @store: the store
 * values (NaN = missing); @complete: every store reply arrived. */
static void decide(struct ctl_fraud *f, const struct wr_txn_req *r, const double *store,
		   bool complete)
{
	/* Without a configured store nothing was expected, so nothing is lacking.
	 * In an incomplete lookup, a transaction whose own reply arrived with
	 * every value lacks nothing either. */
	bool degraded = false;
	if (f->redis && f->fmap.n_store && !complete) {
		for (uint32_t i = 0; i < f->fmap.n_store; i++)
			degraded |= !store || isnan(store[i]);
	}
	float row[CTL_MAX_FRAUD_FEATURES];
	struct ctl_verdict v;
	struct jbuf j = { f->reply, sizeof(f->reply), 0, false };
	uint64_t lat = judge_answer(f, f->cur->main, r, store, degraded, row, &v, &j);
	count_decision(f->c.cnt, v.decision, degraded);
	if (r->reply && !j.full)
		queue_reply(f, r, j.b, j.pos);
	wr_hist_add(&f->lat, lat);
	record(f, r, row, v.decision, &j);
	finished(f, r);
}

/* ---- deciding on the workers ------------------------------------------ */

/* Worker decisions name their model by generation (the thread may not
 * have seen it yet, or have moved past it): keep its version before
 * publishing it. */
static void note_version(struct ctl_fraud *f, const struct fr_models *ms)
{
	__atomic_store_n(&f->versions[ms->gen % VERSIONS_KEPT].gen, 0, __ATOMIC_RELEASE);
	snprintf(f->versions[ms->gen % VERSIONS_KEPT].version, sizeof(f->versions[0].version),
		 "%s", ctl_model_version(ms->main));
	__atomic_store_n(&f->versions[ms->gen % VERSIONS_KEPT].gen, ms->gen, __ATOMIC_RELEASE);
}

/* The version of the main model of generation @gen into @out. */
static void version_of(const struct ctl_fraud *f, uint64_t gen, char *out, size_t len)
{
	if (gen == f->cur->gen) {
		snprintf(out, len, "%s", ctl_model_version(f->cur->main));
		return;
	}
	/* A slot is rewritten only VERSIONS_KEPT reloads later: check before and after. */
	const uint64_t *g = &f->versions[gen % VERSIONS_KEPT].gen;
	if (__atomic_load_n(g, __ATOMIC_ACQUIRE) == gen)
		snprintf(out, len, "%s", f->versions[gen % VERSIONS_KEPT].version);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(g, __ATOMIC_RELAXED) != gen)
		snprintf(out, len, "unknown (reloaded since)");
}

int ctl_fraud_fast(void *ctx, unsigned worker, struct wr_txn_req *r, char *buf, size_t len,
		   struct wr_counters *cnt)
{
	struct ctl_fraud *f = ctx;
	if (!f->fast_on || r->kind != WR_TXN_SCORE || worker >= f->c.n_rings ||
	    rte_rdtsc() >= __atomic_load_n(&f->fast_until.v, __ATOMIC_ACQUIRE))
		return 0;
	struct wr_txn_verdict *d = &r->done;
	d->has_store = f->fast_store;
	if (f->fast_store && !ctl_rcache_peek(ctl_redis_cache(f->redis), r->user, r->user_len,
					      d->store))
		return 0;
	d->start_us = (uint32_t)since_rx_us(f, r->rx_tsc);

	/* Read side of the models' RCU: odd while this worker holds them. The
	 * full fence orders the odd store before the load of f->pub against
	 * ctl_fraud_reload()'s store of f->pub before its load of cs. */
	struct fr_word *cs = &f->cs[worker];
	__atomic_store_n(&cs->v, cs->v + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	const struct fr_models *ms = __atomic_load_n(&f->pub, __ATOMIC_ACQUIRE);
	float row[CTL_MAX_FRAUD_FEATURES];
	struct ctl_verdict v;
	struct jbuf j = { buf, len, 0, false };
	uint64_t lat = judge_answer(f, ms->main, r, f->fast_store ? d->store : NULL, false, row,
				    &v, &j);
	d->model_gen = ms->gen;
	__atomic_store_n(&cs->v, cs->v + 1, __ATOMIC_RELEASE);
	if (j.full)
		return 0;   /* the fraud thread's answer will not fit either: it counts it */

	d->score = v.score;
	d->decision = (uint8_t)v.decision;
	d->n_reasons = (uint8_t)v.n_reasons;
	for (uint32_t i = 0; i < v.n_reasons; i++)
		d->reason[i] = (uint8_t)v.reason[i];
	d->lat_us = (uint32_t)lat;
	r->kind = WR_TXN_DECIDED;
	count_decision(cnt, v.decision, false);
	WR_COUNT(cnt, fraud_on_worker);
	if (f->fast_store)
		WR_COUNT(cnt, redis_cache_hits);
	return (int)j.pos;
}

/* A worker decided and answered @r: statistics, shadow, audit, write-back. */
static void take_decided(struct ctl_fraud *f, const struct wr_txn_req *r)
{
	const struct wr_txn_verdict *d = &r->done;
	float row[CTL_MAX_FRAUD_FEATURES];
	ctl_feat_row(&f->fmap, r, d->has_store ? d->store : NULL, row);
	struct ctl_verdict v = { .score = d->score, .decision = (enum ctl_decision)d->decision,
				 .n_reasons = d->n_reasons };
	for (uint32_t i = 0; i < v.n_reasons && i < WR_TXN_REASONS_MAX; i++)
		v.reason[i] = d->reason[i];
	wr_hist_add(&f->queue_wait, d->start_us);
	if (d->has_store)
		wr_hist_add(&f->redis_wait, 0);   /* from the cache */
	wr_hist_add(&f->lat, d->lat_us);
	char ver[sizeof(f->versions[0].version)];
	version_of(f, d->model_gen, ver, sizeof(ver));
	struct jbuf j = { f->reply, sizeof(f->reply), 0, false };
	put_verdict(&j, f, r, &v, ver, d->lat_us, false, NULL, false);
	jb_lit(&j, "}");
	record(f, r, row, v.decision, &j);
}

/* Tell the workers whether they may use the cache now. */
static void publish_fast(struct ctl_fraud *f)
{
	if (!f->fast_on)
		return;
	uint64_t until = UINT64_MAX;   /* no store: always */
	if (f->fast_store)
		until = ctl_redis_cache_state(f->redis, NULL) == 1 ? rte_rdtsc() + f->fast_fresh_tsc
								    : 0;
	__atomic_store_n(&f->fast_until.v, until, __ATOMIC_RELEASE);
}

/* ---- batches ----------------------------------------------------------- */

/*
 * Take the answer buffers for the @n decisions about to be made in one
 * bulk, and start their first lines (the mbuf and the headers' and
 * payload's start) towards this CPU: the workers freed them after sending,
 * so those lines sit in another core's cache, and taken one by one each
 * answer waited for them in turn. On an empty pool the answers allocate
 * one by one (and count what they cannot get).
 */
static void stash_fill(struct ctl_fraud *f, uint32_t n)
{
	n = n < BATCH_MAX ? n : BATCH_MAX;
	if (f->stash_n >= n ||
	    rte_pktmbuf_alloc_bulk(f->c.mp, f->stash + f->stash_n, n - f->stash_n) != 0)
		return;
	for (unsigned i = f->stash_n; i < n; i++) {
		const char *d = rte_pktmbuf_mtod(f->stash[i], const char *);
		rte_prefetch0_write(d);
		rte_prefetch0_write(d + RTE_CACHE_LINE_SIZE);
	}
	f->stash_n = n;
}

static void on_lookup(void *ctx, uint64_t id, const double *results, uint32_t n,
		      uint32_t n_fields, bool complete)
{
	(void)id;
	struct fr_batch *b = ctx;
	struct ctl_fraud *f = b->f;
	uint64_t waited = (uint64_t)(wr_mono_us() - b->t0_us);
	for (uint32_t i = 0; i < b->n; i++)   /* per transaction, as the latency */
		wr_hist_add(&f->redis_wait, waited);
	stash_fill(f, b->n);
	for (uint32_t i = 0; i < b->n; i++)
		decide(f, &b->req[i], results && i < n ? results + (size_t)i * n_fields : NULL,
		       complete);
	b->n = 0;
	b->next = f->free_list;
	f->free_list = b;
	f->in_flight--;
}

static void send_open(struct ctl_fraud *f)
{
	struct fr_batch *b = f->open;
	if (!b || !b->n)
		return;
	f->open = NULL;
	const char *users[BATCH_MAX];
	for (uint32_t i = 0; i < b->n; i++)
		users[i] = b->req[i].user;
	b->t0_us = wr_mono_us();
	f->in_flight++;
	uint64_t id = ctl_redis_lookup(f->redis, users, b->n, f->fmap.store_name,
				       f->fmap.n_store, on_lookup, b);
	if (!id) /* out of memory: the callback will not come */
		on_lookup(b, 0, NULL, 0, f->fmap.n_store, false);
}

static void take(struct ctl_fraud *f, const struct wr_txn_req *r)
{
	if (r->kind == WR_TXN_DECIDED) {
		take_decided(f, r);
		return;
	}
	wr_hist_add(&f->queue_wait, since_rx_us(f, r->rx_tsc));
	if (r->kind == WR_TXN_BAD) {
		answer_bad(f, r);
		return;
	}
	if (!f->redis || !f->fmap.n_store) {
		decide(f, r, NULL, true);
		return;
	}
	if (!f->open) {
		f->open = f->free_list;
		if (!f->open) {
			/* Every batch waits on a slow Redis: answer now, degraded. */
			decide(f, r, NULL, false);
			return;
		}
		f->free_list = f->open->next;
		f->open->n = 0;
	}
	f->open->req[f->open->n++] = *r;
	if (f->open->n == BATCH_MAX)
		send_open(f);
}

static unsigned drain(struct ctl_fraud *f)
{
	struct wr_txn_req *in = f->in;
	unsigned total = 0;
	for (unsigned w = 0; w < f->c.n_rings; w++) {
		unsigned n = rte_ring_sc_dequeue_burst_elem(f->c.rings[w], in, sizeof(in[0]),
							    BATCH_MAX, NULL);
		for (unsigned i = 0; i < n; i++)
			take(f, &in[i]);
		total += n;
	}
	if (f->redis)
		send_open(f);
	return total;
}

static bool rings_empty(const struct ctl_fraud *f)
{
	for (unsigned w = 0; w < f->c.n_rings; w++)
		if (rte_ring_count(f->c.rings[w]))
			return false;
	return true;
}

static void idle_wait(struct ctl_fraud *f, int64_t us)
{
	if (f->redis) {
		ctl_redis_poll(f->redis, us);
		return;
	}
	if (us <= 0)
		return;
	struct pollfd p = { .fd = f->efd, .events = POLLIN };
	struct timespec ts = { 0, (long)us * 1000 };
	if (ppoll(&p, 1, &ts, NULL) > 0) {
		uint64_t v;
		ssize_t got = read(f->efd, &v, sizeof(v));
		(void)got;
	}
}

static void loop_once(struct ctl_fraud *f, bool may_sleep)
{
	f->cur = __atomic_load_n(&f->pub, __ATOMIC_ACQUIRE);
	unsigned n = drain(f);
	/* Fault injection for the overload test: a slow fraud thread. */
	if (unlikely(f->test_nap_ns) && n) {
		struct timespec ts = { 0, f->test_nap_ns };
		nanosleep(&ts, NULL);
	}
	int64_t wait = 0;
	if (!n && may_sleep) {
		wr_wake_prepare(f->wake);
		if (rings_empty(f))
			wait = IDLE_WAIT_US;
	}
	idle_wait(f, wait);
	wr_wake_done(f->wake);
	publish_fast(f);
	flush_tx(f);
	int64_t now = wr_mono_us();
	if (now - f->last_flush_us >= FLUSH_EVERY_US) {
		ctl_jsonl_flush(f->audit);
		f->last_flush_us = now;
		__atomic_store_n(&f->redis_up, f->redis && ctl_redis_connected(f->redis),
				 __ATOMIC_RELAXED);
		uint32_t held;
		int cs = ctl_redis_cache_state(f->redis, &held);
		__atomic_store_n(&f->cache_state, (int8_t)cs, __ATOMIC_RELAXED);
		__atomic_store_n(&f->cache_held, held, __ATOMIC_RELAXED);
	}
	/* Quiescent point: nothing of f->cur is referenced past here. */
	__atomic_store_n(&f->seen_gen, f->cur->gen, __ATOMIC_RELEASE);
	__atomic_store_n(&f->quiet, f->in_flight == 0 && f->open == NULL && rings_empty(f),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&f->loops, f->loops + 1, __ATOMIC_RELEASE);
}

/* Write-backs (or lookups) a connected Redis still owes replies for. */
static bool redis_owed(const struct ctl_fraud *f)
{
	return f->redis && ctl_redis_connected(f->redis) && ctl_redis_in_flight(f->redis) > 0;
}

static void *fraud_main(void *arg)
{
	struct ctl_fraud *f = arg;
	/* An lcore id gives the mbuf pool a per-thread cache; without one the
	 * pool still works (uncached). */
	if (rte_thread_register() != 0)
		WR_INFO("fraud", "thread not registered with DPDK (%s): mbufs uncached",
			rte_strerror(rte_errno));
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		loop_once(f, true);
	/* Workers have stopped: answer what is left, waiting for Redis up to
	 * its deadline (bounded: every lookup ends by its deadline), and send
	 * the write-backs still held, waiting for their acknowledgements. */
	int64_t until = wr_mono_us() + f->cfg->redis_deadline_us + 100 * WR_US_PER_MS;
	do {
		loop_once(f, false);
		if (f->in_flight || redis_owed(f)) {
			ctl_redis_flush(f->redis);   /* held write-backs go now */
			ctl_redis_poll(f->redis, 200);
		}
	} while ((!rings_empty(f) || f->in_flight || redis_owed(f)) && wr_mono_us() < until);
	flush_tx(f);
	ctl_jsonl_flush(f->audit);
	rte_thread_unregister();
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

int ctl_fraud_create(const struct ctl_fraud_conf *c, struct ctl_fraud **out, char *err,
		     size_t errlen)
{
	*out = NULL;
	const struct ctl_config *cfg = c->cfg;
	struct ctl_fraud *f = aligned_alloc(RTE_CACHE_LINE_SIZE,
					    RTE_ALIGN_CEIL(sizeof(*f), RTE_CACHE_LINE_SIZE));
	if (!f)
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	f->c = *c;
	f->cfg = cfg;
	f->wake = c->wake;
	f->efd = -1;
	pthread_mutex_init(&f->reload_lock, NULL);
	f->rl = (struct wr_ratelimit)WR_RATELIMIT_INIT(1000, 5);
	const char *slow = getenv("WEIR_TEST_SLOW_FRAUD_US");
	if (slow) {
		long us = strtol(slow, NULL, 10);
		f->test_nap_ns = us > 0 && us < 1000000 ? us * 1000 : 0;
		WR_WARN("fraud", "test hook: the fraud thread naps %ld us per drained batch",
			f->test_nap_ns / 1000);
	}
	ctl_feat_map_build(&f->fmap, (const char *const *)cfg->fraud_features,
			   cfg->n_fraud_features);
	f->tsc_per_us = (double)rte_get_tsc_hz() / 1e6;
	for (unsigned i = 0; i < c->n_ports; i++)
		f->port_of[c->ports[i].port_id] = &c->ports[i];
	for (unsigned i = 0; i < BATCH_POOL; i++) {
		f->pool[i].f = f;
		f->pool[i].next = f->free_list;
		f->free_list = &f->pool[i];
	}
	int rc = load_models(cfg, &f->pub, 1, err, errlen);
	if (rc)
		goto fail;
	f->cur = f->pub;
	f->seen_gen = 1;
	note_version(f, f->pub);
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "fraud: eventfd: %s", strerror(errno));
		goto fail;
	}
	f->wake->fd = f->efd;
	if (cfg->decisions_jsonl) {
		char e[256];
		rc = ctl_jsonl_open(cfg->decisions_jsonl, c->cnt, &f->audit, e, sizeof(e));
		if (rc) {
			snprintf(err, errlen, "decisions output: %s", e);
			goto fail;
		}
	}
	if (cfg->redis_host || cfg->redis_unix) {
		struct ctl_redis_opts o = {
			.host = cfg->redis_host, .port = cfg->redis_port,
			.unix_path = cfg->redis_unix, .deadline_us = cfg->redis_deadline_us,
			.key_prefix = cfg->redis_key_prefix, .wake_fd = f->efd,
		};
		/* The cache relies on NOLOOP: our write-backs must not touch the
		 * fields it holds, or it would keep their values from before. */
		bool overlap = false;
		for (uint32_t i = 0; i < f->fmap.n_store; i++)
			for (size_t k = 0; cfg->redis_write_back && k < WR_ARRAY_SIZE(wb_fields); k++)
				overlap |= strcmp(f->fmap.store_name[i], wb_fields[k]) == 0;
		if (cfg->redis_cache_entries && f->fmap.n_store && overlap)
			WR_WARN("fraud", "fraud.redis.cache off: a store feature is also written back");
		else if (cfg->redis_cache_entries && f->fmap.n_store > RCACHE_FIELDS_MAX)
			WR_WARN("fraud", "fraud.redis.cache off: %u store features, it holds at most %u",
				f->fmap.n_store, RCACHE_FIELDS_MAX);
		else if (cfg->redis_cache_entries && f->fmap.n_store) {
			o.cache_entries = cfg->redis_cache_entries;
			o.cache_fields = f->fmap.store_name;
			o.cache_n_fields = f->fmap.n_store;
		}
		rc = ctl_redis_create(&o, c->cnt, &f->redis, err, errlen);
		if (rc)
			goto fail;
	}
	/* Workers decide when every feature is at hand there: no store values
	 * wanted, or the cache keeps them. */
	f->fast_store = f->redis && f->fmap.n_store;
	f->fast_on = cfg->fraud_on_worker && c->n_rings <= RTE_MAX_LCORE &&
		     (!f->fast_store || ctl_redis_cache(f->redis));
	f->fast_fresh_tsc = (uint64_t)(FAST_FRESH_US * f->tsc_per_us);
	publish_fast(f);
	WR_INFO("fraud", "model %s (%u trees, %u features; %u from the feature store%s)%s%s",
		ctl_model_version(f->pub->main), ctl_model_n_trees(f->pub->main),
		ctl_model_n_features(f->pub->main), f->fmap.n_store,
		f->redis ? "" : ", none configured: always missing",
		f->pub->shadow ? ", shadow " : "",
		f->pub->shadow ? ctl_model_version(f->pub->shadow) : "");
	*out = f;
	return 0;
fail:
	ctl_fraud_destroy(f);
	return rc;
}

int ctl_fraud_start(struct ctl_fraud *f)
{
	int rc = pthread_create(&f->th, NULL, fraud_main, f);
	if (rc)
		return -rc;
	pthread_setname_np(f->th, "weir-fraud");
	if (f->cfg->fraud_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((unsigned)f->cfg->fraud_cpu, &set);
		rc = pthread_setaffinity_np(f->th, sizeof(set), &set);
		if (rc)
			WR_WARN("fraud", "fraud.cpu %d: cannot run the fraud thread there (%s); it "
				"stays on the main lcore's CPU", f->cfg->fraud_cpu, strerror(rc));
		else
			WR_INFO("fraud", "fraud thread runs on CPU %d", f->cfg->fraud_cpu);
	}
	if (f->cfg->fraud_rt_priority) {
		struct sched_param sp = { .sched_priority = (int)f->cfg->fraud_rt_priority };
		rc = pthread_setschedparam(f->th, SCHED_FIFO, &sp);
		if (rc)
			WR_WARN("fraud", "fraud.realtime_priority %u: cannot use SCHED_FIFO (%s); "
				"the thread runs with normal scheduling", f->cfg->fraud_rt_priority,
				strerror(rc));
		else
			WR_INFO("fraud", "fraud thread runs SCHED_FIFO at priority %u",
				f->cfg->fraud_rt_priority);
	}
	f->started = true;
	return 0;
}

int ctl_fraud_quiesce(struct ctl_fraud *f, int64_t timeout_us)
{
	if (!f || !f->started)
		return 0;
	int64_t until = wr_mono_us() + timeout_us;
	/* The loop that ends at c0 + 1 may have started before the caller's
	 * last enqueue; the one ending at c0 + 2 started after it. */
	uint64_t c0 = __atomic_load_n(&f->loops, __ATOMIC_ACQUIRE);
	for (;;) {
		if (__atomic_load_n(&f->loops, __ATOMIC_ACQUIRE) >= c0 + 2 &&
		    __atomic_load_n(&f->quiet, __ATOMIC_RELAXED))
			return 0;
		if (wr_mono_us() >= until)
			return -ETIMEDOUT;
		uint64_t one = 1;   /* cut its idle sleep short */
		ssize_t rc = write(f->efd, &one, sizeof(one));
		(void)rc;
		struct timespec ts = { 0, 50 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void ctl_fraud_stop(struct ctl_fraud *f)
{
	if (!f || !f->started)
		return;
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t rc = write(f->efd, &one, sizeof(one));
	(void)rc;
	pthread_join(f->th, NULL);
	f->started = false;
}

void ctl_fraud_destroy(struct ctl_fraud *f)
{
	if (!f)
		return;
	ctl_fraud_stop(f);
	/* Answers still owed (only without a running thread) are dropped with the client. */
	ctl_redis_destroy(f->redis);
	ctl_jsonl_close(f->audit);
	for (unsigned i = 0; i < RTE_MAX_LCORE; i++)
		if (f->tx[i].n)
			rte_pktmbuf_free_bulk(f->tx[i].m, f->tx[i].n);
	if (f->stash_n)
		rte_pktmbuf_free_bulk(f->stash, f->stash_n);
	if (f->wake)
		f->wake->fd = -1;
	if (f->efd >= 0)
		close(f->efd);
	free_models(f->pub);
	pthread_mutex_destroy(&f->reload_lock);
	free(f);
}

int ctl_fraud_reload(struct ctl_fraud *f, char *err, size_t errlen)
{
	pthread_mutex_lock(&f->reload_lock);
	struct fr_models *old = f->pub, *nm = NULL;
	int rc = load_models(f->cfg, &nm, old->gen + 1, err, errlen);
	if (rc) {
		WR_COUNT(f->c.cnt, fraud_model_reload_failed);
		pthread_mutex_unlock(&f->reload_lock);
		return rc;
	}
	note_version(f, nm);
	__atomic_store_n(&f->pub, nm, __ATOMIC_RELEASE);
	/* Grace period, workers: each one either holds no model (cs even) or
	 * finishes the decision it is in (cs changes); the fence pairs with
	 * theirs in ctl_fraud_fast(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned w = 0; w < f->c.n_rings && w < RTE_MAX_LCORE; w++) {
		uint64_t s = __atomic_load_n(&f->cs[w].v, __ATOMIC_ACQUIRE);
		while ((s & 1) && __atomic_load_n(&f->cs[w].v, __ATOMIC_ACQUIRE) == s) {
			struct timespec ts = { 0, 10000 };
			nanosleep(&ts, NULL);
		}
	}
	/* The thread: wait until it starts a loop with the new
	 * generation. Only this (main) thread stops it, so it keeps looping
	 * meanwhile; it sleeps at most IDLE_WAIT_US and the write wakes it. */
	if (f->started) {
		uint64_t one = 1;
		ssize_t w = write(f->efd, &one, sizeof(one));
		(void)w;
		while (__atomic_load_n(&f->seen_gen, __ATOMIC_ACQUIRE) < nm->gen) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	WR_COUNT(f->c.cnt, fraud_model_reloads);
	WR_INFO("fraud", "model reloaded: %s%s%s", ctl_model_version(nm->main),
		nm->shadow ? ", shadow " : "", nm->shadow ? ctl_model_version(nm->shadow) : "");
	free_models(old);
	pthread_mutex_unlock(&f->reload_lock);
	return 0;
}

void ctl_fraud_stats(struct ctl_fraud *f, struct ctl_fraud_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->decisions = __atomic_load_n(&f->lat.count, __ATOMIC_ACQUIRE);
	s->lat_p50_us = wr_hist_quantile(&f->lat, 0.5);
	s->lat_p99_us = wr_hist_quantile(&f->lat, 0.99);
	s->lat_p999_us = wr_hist_quantile(&f->lat, 0.999);
	s->lat_max_us = __atomic_load_n(&f->lat.max, __ATOMIC_RELAXED);
	s->redis_p50_us = wr_hist_quantile(&f->redis_wait, 0.5);
	s->redis_p99_us = wr_hist_quantile(&f->redis_wait, 0.99);
	s->redis_max_us = __atomic_load_n(&f->redis_wait.max, __ATOMIC_RELAXED);
	s->queue_p50_us = wr_hist_quantile(&f->queue_wait, 0.5);
	s->queue_p99_us = wr_hist_quantile(&f->queue_wait, 0.99);
	s->queue_max_us = __atomic_load_n(&f->queue_wait.max, __ATOMIC_RELAXED);
	s->redis_configured = f->redis != NULL;
	s->redis_connected = __atomic_load_n(&f->redis_up, __ATOMIC_RELAXED);
	s->cache_state = __atomic_load_n(&f->cache_state, __ATOMIC_RELAXED);
	s->cache_held = __atomic_load_n(&f->cache_held, __ATOMIC_RELAXED);
	pthread_mutex_lock(&f->reload_lock);
	snprintf(s->model_version, sizeof(s->model_version), "%s",
		 ctl_model_version(f->pub->main));
	pthread_mutex_unlock(&f->reload_lock);
}
