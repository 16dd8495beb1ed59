/*
 * ctl_fraud.h - the fraud thread: Redis enrichment, model scoring, the UDP
 * answer and the audit record for every payment transaction.
 *
 * Path of one transaction (see docs/architecture.md):
 *   worker that owns the user: parse, in-stream features (st_features);
 *     when every feature is at hand there (ctl_fraud_fast() below) it
 *     decides and answers itself and puts the transaction on its fraud ring
 *     as WR_TXN_DECIDED, for this thread's audit record and write-back;
 *     otherwise one struct wr_txn_req on its fraud ring, wake this thread
 *     if asleep;
 *   this thread: drain the rings into batches; per batch one pipelined
 *     Redis lookup (HMGET of the store features of every user in it) with a
 *     deadline; when the replies are in or the deadline passed, build each
 *     feature vector, score (flat evaluator), decide, name the reasons,
 *     answer the sender,
 *     write the audit record (JSONL, Kafka) and write the user's aggregates
 *     back to Redis (fire and forget). The answer frame is built here and
 *     handed to the worker that received the request, which sends it on
 *     that port's tx path with its own tx queue.
 * A transaction whose store features did not all arrive (deadline, Redis
 * down, too many lookups in flight) is scored with those features missing
 * (the model's default direction) and marked degraded, naming what it
 * lacked. Redis never holds a decision past its deadline.
 *
 * Models: the main model decides; an optional shadow model is scored on
 * the same vector and only logged. ctl_fraud_reload() loads and verifies
 * new models on the caller's thread (never this one), publishes them with
 * one atomic store and frees the old ones once this thread has passed a
 * quiescent point (the top of its loop) after the swap and every worker
 * has left the decision it was in (RCU). A model that fails to load or verify is refused and the old one
 * stays.
 *
 * Verification at load: the model's feature names must equal fraud.features;
 * its scores must equal XGBoost's own C API on sample rows (the samples
 * file's rows when configured, plus generated rows with missing values) and,
 * when fraud.samples is set, the predictions recorded at export.
 *
 * Latency: from the worker's receive (rte_rdtsc at parse) to the reply being
 * built, in a histogram (p50/p99/p999/max), plus the time spent waiting on
 * Redis per batch.
 *
 * Thread safety: create/start/stop/destroy/reload from one thread (main);
 * ctl_fraud_stats() from any thread; ctl_fraud_fast() from the workers,
 * concurrently; the rest runs on the fraud thread.
 */
#ifndef CTL_FRAUD_H
#define CTL_FRAUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "ctl_config.h"
#include "ctl_model.h"
#include "wr_counters.h"
#include "wr_txn.h"
#include "wr_wake.h"

struct ctl_fraud;
struct ctl_kafka_producer;

/* A port answers may leave by, and its address. */
struct ctl_fraud_port {
	uint16_t port_id;
	struct rte_ether_addr mac;
};

struct ctl_fraud_conf {
	const struct ctl_config *cfg;
	struct rte_ring *const *rings;   /* per worker, elements struct wr_txn_req */
	struct rte_ring *const *replies; /* per worker, mbuf pointers: the worker that
					  * received a transaction sends its answer
					  * on its own tx queue (any PMD, one tx queue
					  * per worker is enough) */
	unsigned n_rings;
	struct wr_wake *wake;            /* workers notify through it; fd is created here */
	uint32_t *const *pend;           /* per worker, WR_TXN_PEND_N: the pending filter
					  * (wr_txn.h); this thread takes 1 off for each
					  * SCORE record it decides; may be NULL */
	struct rte_mempool *mp;          /* reply buffers */
	const struct ctl_fraud_port *ports;
	unsigned n_ports;
	struct wr_counters *cnt;         /* this thread's slot */
	struct ctl_kafka_producer *kafka; /* for outputs.decisions.kafka; may be NULL */
};

/*
 * Load and verify the model(s), open the audit sink, create the Redis
 * client (connecting in the background) and the wake eventfd.
 * Returns 0 and *out, or -errno with the reason (model path, feature or
 * score mismatch, sink) in @err.
 */
int ctl_fraud_create(const struct ctl_fraud_conf *c, struct ctl_fraud **out, char *err,
		     size_t errlen);

/*
 * Load and verify the configured model(s) as ctl_fraud_create() would, then
 * free them (weir --check-config). Writes the main model's version to
 * @version. Returns 0 or -errno with the reason in @err.
 */
int ctl_fraud_check_models(const struct ctl_config *cfg, char *version, size_t vlen, char *err,
			   size_t errlen);

/* Start the thread. Returns 0 or -errno. */
int ctl_fraud_start(struct ctl_fraud *f);

/*
 * For a clean stop, once the workers feed no more transactions: wait until
 * the thread has decided everything in its rings or waiting on Redis and
 * handed the answers to the workers' answer rings, so that the workers,
 * still running, send them. Returns 0, or -ETIMEDOUT after @timeout_us
 * (then ctl_fraud_stop still decides and audits the rest). Main thread.
 */
int ctl_fraud_quiesce(struct ctl_fraud *f, int64_t timeout_us);

/*
 * Stop after the workers have stopped: answer everything still in the rings
 * or waiting on Redis (up to the deadline), then join. Idempotent.
 */
void ctl_fraud_stop(struct ctl_fraud *f);

/* Free everything (stops first if needed). NULL is a no-op. */
void ctl_fraud_destroy(struct ctl_fraud *f);

/*
 * Reload fraud.model and fraud.shadow_model from their configured paths
 * (an operator replaces the files, then signals weir: SIGHUP). Loads and
 * verifies on the calling thread; swaps atomically; returns 0, or -errno
 * with the reason in @err (the old models stay in service).
 */
int ctl_fraud_reload(struct ctl_fraud *f, char *err, size_t errlen);

/*
 * The workers' side (struct wr_txn_fast, @ctx = the struct ctl_fraud): decide
 * @r on worker @worker when every feature is at hand there. Any worker
 * thread, concurrently; see wr_txn.h for the contract. The cache is used
 * only while this thread last saw it serving, at most FAST_FRESH_US ago
 * (2 ms): an invalidation this thread has read is never overtaken; one it
 * has not read yet is as late as for the thread's own lookups, bounded by
 * its wake-up. The main model is read under RCU (ctl_fraud_reload() waits
 * for every worker to leave the decision it is in).
 */
int ctl_fraud_fast(void *ctx, unsigned worker, struct wr_txn_req *r, char *buf, size_t len,
		   struct wr_counters *cnt);

struct ctl_fraud_stats {
	uint64_t decisions;
	uint64_t lat_p50_us, lat_p99_us, lat_p999_us, lat_max_us;   /* receive -> reply */
	uint64_t redis_p50_us, redis_p99_us, redis_max_us;          /* waiting on Redis */
	uint64_t queue_p50_us, queue_p99_us, queue_max_us;          /* receive -> its decision
								     * starts (fraud thread
								     * or worker) */
	bool redis_configured, redis_connected;
	int cache_state;             /* client-side cache: -1 off, 0 not serving now, 1 serving */
	uint32_t cache_held;         /* users it holds */
	char model_version[96];
};

/* A snapshot for the stats line (values may lag by a few decisions). */
void ctl_fraud_stats(struct ctl_fraud *f, struct ctl_fraud_stats *s);

/* ---- scoring core, DPDK-free (exposed for unit tests) ---- */

/* Where each configured feature comes from. */
enum ctl_feat_src {
	CTL_FEAT_STREAM,             /* in-stream: index into struct st_feat_vec */
	CTL_FEAT_AMOUNT,             /* the transaction's amount */
	CTL_FEAT_HOUR,               /* UTC hour of the transaction's ts */
	CTL_FEAT_STORE,              /* a field of the user's hash in Redis */
};

struct ctl_feat_map {
	uint32_t n;                                  /* features, in vector order */
	uint8_t src[CTL_MAX_FRAUD_FEATURES];         /* enum ctl_feat_src */
	uint8_t idx[CTL_MAX_FRAUD_FEATURES];         /* STREAM: vec index; STORE: store index */
	const char *name[CTL_MAX_FRAUD_FEATURES];    /* the configured names (not copied) */
	uint32_t n_store;
	const char *store_name[CTL_MAX_FRAUD_FEATURES];
	uint32_t store_pos[CTL_MAX_FRAUD_FEATURES];  /* vector position of store field i */
};

/* Classify @names (not copied: they must outlive @m). Never fails. */
void ctl_feat_map_build(struct ctl_feat_map *m, const char *const *names, uint32_t n);

/*
 * Fill @row (m->n floats) for @req: stream features from req->before
 * (amount sums converted from micros to currency units), amount, hour, and
 * the store values @store[0 .. m->n_store) (NaN = missing; @store may be
 * NULL: all missing).
 */
void ctl_feat_row(const struct ctl_feat_map *m, const struct wr_txn_req *req,
		  const double *store, float *row);

struct ctl_verdict {
	float score;
	enum ctl_decision decision;
	uint32_t n_reasons;
	uint32_t reason[CTL_MAX_FRAUD_REASONS];      /* feature indices, strongest first */
};

/*
 * Score @row with @m and decide with the thresholds; reasons: up to
 * @max_reasons features whose contribution is positive (towards fraud),
 * strongest first.
 */
void ctl_fraud_judge(const struct ctl_model *m, const float *row, float review, float block,
		     uint32_t max_reasons, struct ctl_verdict *v);

#endif /* CTL_FRAUD_H */
