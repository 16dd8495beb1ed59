/*
 * wr_txn.h - a payment transaction handed from a worker to the fraud thread.
 *
 * The worker that owns the user (hash of the user id) parses the
 * transaction, updates the user's in-stream features (st_features.h) and
 * enqueues one fixed-size request on its single-producer/single-consumer
 * fraud ring. The fraud thread (ctl_fraud.h) enriches it from Redis, scores
 * it, answers the sender and writes the audit record. A transaction the
 * worker rejected travels the same way as WR_TXN_BAD, so the sender gets an
 * error reply from the same place as every other answer.
 *
 * Fixed size, no pointers: nothing to free on either side.
 */
#ifndef WR_TXN_H
#define WR_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_features.h"

#define WR_TXN_ID_MAX 64          /* == DP_EVENT_ID_MAX */
#define WR_TXN_MERCHANT_MAX 128   /* == DP_EVENT_MERCHANT_MAX */
#define WR_TXN_COUNTRY_MAX 16     /* == DP_EVENT_COUNTRY_MAX */
#define WR_TXN_WHY_MAX 160
#define WR_TXN_HDR_MAX 96         /* Ethernet (2 VLAN tags) + IPv6 + UDP = 70 */

enum wr_txn_kind {
	WR_TXN_SCORE = 0,            /* a valid transaction: score and answer */
	WR_TXN_BAD = 1,              /* rejected by the worker: answer with @why */
	WR_TXN_DECIDED = 2,          /* decided and answered by the owner worker
				      * (struct wr_txn_fast): audit, write back */
};

#define WR_TXN_STORE_MAX 16       /* == RCACHE_FIELDS_MAX */
#define WR_TXN_REASONS_MAX 8      /* == CTL_MAX_FRAUD_REASONS */

/* What the owner worker decided (WR_TXN_DECIDED). */
struct wr_txn_verdict {
	float score;
	uint8_t decision;            /* enum ctl_decision */
	uint8_t n_reasons;
	uint8_t has_store;           /* @store holds the feature-store values */
	uint8_t reason[WR_TXN_REASONS_MAX]; /* feature indices, strongest first */
	uint32_t lat_us;             /* receive -> answer built */
	uint32_t start_us;           /* receive -> decision started */
	uint64_t model_gen;          /* the model generation that decided */
	double store[WR_TXN_STORE_MAX]; /* the store values it used (NaN: absent) */
};

struct wr_txn_req {
	uint8_t kind;                /* enum wr_txn_kind */
	uint8_t reply;               /* 1: came over UDP, answer the sender */
	uint8_t feat_rc;             /* st_feat_update: 0 ok, 1 late, 2 table full */
	uint8_t hdr_len;             /* bytes of @hdr (reply only) */
	uint16_t port_id;            /* reply: the port it came in on */
	uint8_t rx_worker;           /* reply: the worker that received it (sends the answer) */
	uint8_t rx_input;            /* reply: that worker's input (port, queue) index */
	uint8_t owner;               /* the worker that owns the user (its fraud ring) */
	uint16_t pend;               /* SCORE: its bucket + 1 in the owner's pending
				      * filter (struct wr_txn_fast), 0: not counted */
	uint16_t txn_id_len, user_len, merchant_len, country_len;
	char currency[4];
	int64_t ts_us;               /* event time */
	int64_t amount_micros;
	double amount;
	uint64_t rx_tsc;             /* rte_rdtsc() when the burst was received */
	uint8_t hdr[WR_TXN_HDR_MAX]; /* reply: the request's Ethernet..UDP headers */
	/* Strings are NUL-terminated (the lengths exclude the NUL). */
	char txn_id[WR_TXN_ID_MAX + 1];
	char user[ST_FEAT_USER_MAX + 1];
	char merchant[WR_TXN_MERCHANT_MAX + 1];
	char country[WR_TXN_COUNTRY_MAX + 1];
	/* Up to here: what a worker hands to the user's owner (WR_TXN_XCHG_BYTES);
	 * the owner fills the rest. */
	union {
		char why[WR_TXN_WHY_MAX]; /* BAD: the reason, NUL-terminated */
		struct wr_txn_verdict done; /* DECIDED */
	};
	struct st_feat_vec before;   /* in-stream features before this transaction */
	struct st_feat_vec after;    /* windows after it (write-back); ratio/flags unused */
} __attribute__((aligned(8)));

/*
 * The ERROR answer for a transaction that cannot be scored, into @buf (@len
 * bytes, NUL-terminated): {"txn_id":ID|null,"decision":"ERROR","error":WHY}
 * for the sender, or with @audit {"type":"decision_error","txn_id":...,
 * "error":WHY} for the audit trail. @txn_id is @id_len bytes (0: null);
 * both strings are JSON-escaped. Returns the length, or -ENOSPC.
 */
int wr_txn_error_json(char *buf, size_t len, bool audit, const char *txn_id, size_t id_len,
		      const char *why);

/* The parsed part, as the exchange rings between workers carry it. */
#define WR_TXN_XCHG_BYTES offsetof(struct wr_txn_req, why)

/*
 * Deciding on the owner worker (the fraud fast path): when every feature is
 * at hand there (no feature store, or the user's store values in the
 * client-side cache while it serves), the worker scores, answers from its
 * own tx queue and hands the transaction on as WR_TXN_DECIDED for the audit
 * record, the write-back and the statistics; otherwise it goes to the fraud
 * thread as before. Set up by main (ctl_fraud_fast()); NULL: off.
 *
 * Order per user: a worker must not decide a user's transaction while an
 * earlier one of that user is still with the fraud thread (its write-back
 * would overtake the earlier one's). The pending filter, WR_TXN_PEND_N
 * 32-bit counters per worker shared with the fraud thread, says so: the worker
 * adds 1 at bucket wr_txn_pend_bucket(user) before it puts a SCORE record
 * on its ring (r->pend = bucket + 1), the thread takes 1 off once it has
 * decided it, and the worker decides only at a bucket of 0. Users sharing
 * a bucket only wait for each other.
 *
 * decide(): returns the answer's length in @buf and fills r->done (r->kind
 * becomes DECIDED), or 0: send it to the fraud thread. Counts on @cnt (the
 * worker's slot). The caller has checked the pending filter.
 */
#define WR_TXN_PEND_N 4096u

static inline uint32_t wr_txn_pend_bucket(const char *user, size_t len)
{
	uint32_t h = 2166136261u;    /* FNV-1a, 32 bits: ids are short */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)user[i]) * 16777619u;
	return (h ^ h >> 16) & (WR_TXN_PEND_N - 1);
}

struct wr_counters;
struct wr_txn_fast {
	int (*decide)(void *ctx, unsigned worker, struct wr_txn_req *r, char *buf, size_t len,
		      struct wr_counters *cnt);
	void *ctx;
};

#endif /* WR_TXN_H */
