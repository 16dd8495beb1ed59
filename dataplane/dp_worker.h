/*
 * dp_worker.h - the worker lcore: rx burst -> decode -> reassemble ->
 * syslog parse -> Hyperscan scan -> per (rule, key) windows and alerts ->
 * records on the output ring to the control thread.
 *
 * Key sharding: a match of rule r for key k belongs to worker
 * hash(r, k) % n_workers. A worker counts its own matches directly and
 * hands the others to their owner over a single-producer/single-consumer
 * exchange ring (one per ordered pair of workers), with the watermark it
 * had at that match so lateness is decided as it would be on one core.
 *
 * Watermarks: each worker tracks its own inputs (port, queue) and
 * publishes the result; a worker closes windows at the minimum over all
 * workers' published watermarks, read BEFORE it drains its exchange rings
 * (a producer enqueues a match before it publishes a watermark past it, so
 * the match is always seen before the window it belongs to closes).
 * A worker that has had no event for idle_timeout is "idle" and does not
 * hold the others back; one that has seen nothing yet and is not idle does
 * (nothing closes before every busy input has spoken). With
 * event_time.max_input_drift set, a worker whose watermark runs that far
 * ahead of the global one stops reading its inputs until the others catch
 * up (watermark alignment), so a key never needs more open windows than
 * the table keeps per key.
 *
 * Thread safety: each struct dp_worker is owned by its lcore; struct
 * dp_shared is written with atomics.
 */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "ctl_config.h"
#include "dp_decode.h"
#include "rules.h"
#include "wr_counters.h"
#include "wr_wake.h"

#define DP_MAX_WORKERS 16
#define DP_MAX_INPUTS 32

/*
 * Event-time streams, each with its own watermarks: log lines (syslog, the
 * windows and alerts) and click events (the sessions). A stream's clock is
 * its own: clicks replayed from yesterday are not late against today's log
 * lines on the same port or worker, and a silent clickstream does not hold
 * the windows back. Transactions carry no watermark.
 */
enum dp_wm_kind { DP_WM_LOG, DP_WM_CLICK, DP_WM_KINDS };

/* State every worker and the main lcore share. */
struct dp_shared {
	volatile int stop;                     /* main sets: stop reading ports */
	volatile int flush;                    /* with stop: close every open window */
	int64_t wm[DP_WM_KINDS][DP_MAX_WORKERS]; /* published watermarks per stream
						  * (ST_WM_MIN: none yet) */
	uint8_t idle[DP_WM_KINDS][DP_MAX_WORKERS]; /* published: no event of that stream
						    * for idle_timeout */
	int64_t adv[DP_MAX_WORKERS];           /* published after each advance: every session
						* closing at or before it is on the worker's
						* output ring (the funnel rates wait for it) */
	uint32_t stopped;                      /* workers that stopped rx */
	uint32_t fed;                          /* workers that handed over their last
						* transaction to the fraud thread */
	volatile int answers_done;             /* main sets, after fed: the fraud thread
						* has answered all it got; workers send
						* the last answers and go on stopping */
	uint32_t exited;                       /* workers that returned */
	uint32_t n_workers;
	struct rte_ring *xchg[DP_MAX_WORKERS][DP_MAX_WORKERS]; /* [from][to] */
} __attribute__((aligned(64)));

struct dp_input {
	uint16_t port_id, queue_id;
	uint16_t tx_queue;                     /* this worker's tx queue on that port */
	const struct dp_local_addrs *addrs;
};

struct wr_txn_fast;

struct dp_worker_conf {
	uint32_t idx;                          /* 0 .. n_workers-1 */
	struct dp_shared *shared;
	uint32_t n_inputs;
	struct dp_input inputs[DP_MAX_INPUTS];
	const struct ctl_config *cfg;
	const struct rules_set *rules;
	struct wr_counters *cnt;               /* this worker's counter slot */
	struct rte_ring *out;                  /* records to the control thread */
	struct rte_ring *kafka_in, *kafka_ret; /* Kafka records in and back; NULL: none */
	uint32_t kafka_inputs;                 /* watermark inputs for partitions */
	struct rte_ring *fraud;                /* transactions to the fraud thread; NULL: off */
	struct wr_wake *fraud_wake;            /* notified after each enqueue on @fraud */
	struct rte_ring *answers;              /* answer frames from the fraud thread, to send */
	const struct wr_txn_fast *fraud_fast;  /* decide here when all features are at
						* hand (wr_txn.h); NULL: never */
	uint32_t *fraud_pend;                  /* WR_TXN_PEND_N: this worker's pending
						* filter, shared with the fraud thread */
	struct rte_mempool *mp;                /* for answers the worker builds itself */
	int socket_id;
};

struct dp_worker;

/* Allocate everything the worker needs (tables, scratch, reassembly). */
int dp_worker_create(const struct dp_worker_conf *c, struct dp_worker **out, char *err,
		     size_t errlen);
void dp_worker_destroy(struct dp_worker *w);

/* lcore entry point (rte_eal_remote_launch); arg is a struct dp_worker *. */
int dp_worker_run(void *arg);

/* Create the exchange rings and output ring names; helpers for main(). */
int dp_shared_init(struct dp_shared *s, uint32_t n_workers, int socket_id, char *err,
		   size_t errlen);
void dp_shared_free(struct dp_shared *s);

/*
 * The watermark every worker has closed its windows and sessions up to
 * (minimum of the published adv[]). Read it before draining the output
 * rings: what closed at or before it is then in the rings.
 */
int64_t dp_shared_advanced(const struct dp_shared *s);

#endif /* DP_WORKER_H */
