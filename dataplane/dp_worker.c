/*
 * dp_worker.c - the worker lcore's loop. See dp_worker.h for the model.
 *
 * Per burst: read the global watermark, drain exchange rings, then for each
 * input rx_burst(32) -> decode -> (reassemble) -> parse -> scan -> count;
 * flush exchange batches and replies, publish this worker's watermark, and
 * close windows up to the global watermark read at the start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <librdkafka/rdkafka.h>

#include "dp_event.h"
#include "dp_frag.h"
#include "dp_kafka.h"
#include "dp_reply.h"
#include "dp_syslog.h"
#include "dp_worker.h"
#include "st_features.h"
#include "st_session.h"
#include "st_watermark.h"
#include "st_window.h"
#include "wr_common.h"
#include "wr_record.h"
#include "wr_txn.h"

#define BURST 32
#define PREFETCH_AHEAD 3
#define ANSWER_TX_GROUP 4     /* fraud answers decided here: sent in groups this small */
#define XCHG_RING_SIZE 16384
/* After this many empty polls in a row the worker naps briefly so a shared
 * core (tests, small boxes) keeps room for other threads; a loaded port is
 * never empty that long. */
#define IDLE_POLLS_BEFORE_NAP 4096
#define IDLE_NAP_NS 20000

/* A match handed to the worker that owns its (rule, key), a click event
 * handed to the worker that owns its user (kind XMSG_CLICK: key = user,
 * step and page_view set, no line), or a parsed transaction handed to the
 * worker that owns its user (kind XMSG_TXN: txn, features not yet filled). */
enum { XMSG_MATCH, XMSG_CLICK, XMSG_TXN };
struct dp_xmsg {
	uint32_t rule_idx;
	uint8_t kind, page_view;
	int16_t step;
	uint16_t key_len, line_len;
	int64_t ts_us, wm_us;
	union {
		struct {
			char key[ST_KEY_MAX];
			char line[ST_SAMPLE_MAX];
		};
		uint8_t txn[WR_TXN_XCHG_BYTES]; /* the first bytes of a struct wr_txn_req */
	};
} __attribute__((aligned(8)));

struct dp_worker {
	struct dp_worker_conf c;
	hs_scratch_t *scratch;
	struct st_wtab *wtab;
	struct st_wm *wm[DP_WM_KINDS];         /* per event-time stream (dp_wm_kind) */
	struct dp_frag *frag;
	struct st_sess *sess;                  /* clickstream sessions; NULL when off */
	struct st_sess_emit semit;
	/* Click events for our session table, added ST_SESS_BURST at a time
	 * (st_sess_add_burst prefetches their table lines together); the user
	 * ids are copied because the parser's buffer is reused per event. */
	struct st_sess_ev sev[ST_SESS_BURST];
	char sev_user[ST_SESS_BURST][ST_KEY_MAX];
	uint32_t nsev;
	struct dp_event_ctx *ectx;
	struct dp_event_fields efields;        /* clickstream keys */
	struct dp_click_types ctypes;          /* funnel steps and the page-view type */
	struct dp_event_fields tfields;        /* transaction keys */
	struct st_feat *feat;                  /* fraud features of the users we own; NULL: off */
	uint64_t answers_due_tsc;              /* no idle nap before this: an answer is
						* on its way back through the fraud thread */
	struct st_rule_params *rparams;
	struct st_emit emit;
	char *linbuf;                          /* linearised multi-segment payloads */
	struct rte_mbuf *tx[DP_MAX_INPUTS][BURST];
	uint16_t ntx[DP_MAX_INPUTS];
	struct rte_mbuf *done[BURST];          /* handled this burst, freed in bulk */
	uint16_t ndone;
	struct dp_xmsg (*xbuf)[BURST];         /* [owner][i] pending matches */
	uint16_t nx[DP_MAX_WORKERS];
	struct dp_xmsg xin[BURST];
	struct wr_ratelimit rl_parse;
	long test_nap_ns;                      /* WEIR_TEST_SLOW_WORKER_US: tests only */

	/* The message being scanned (valid during rules_scan). */
	const struct dp_syslog_msg *cur_msg;
	const char *cur_line;
	uint32_t cur_line_len;
	char cur_src[ST_KEY_MAX + 1];          /* host of a message that names none */
	int64_t cur_wm;
};

/* ---- output records ---------------------------------------------------- */

/* @r packed onto the output ring, its chunks in one bulk (see wr_record.h). */
static void out_push(struct dp_worker *w, const struct wr_out_rec *r)
{
	_Alignas(8) unsigned char buf[WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK];
	unsigned n = wr_out_pack(r, buf);
	if (unlikely(rte_ring_sp_enqueue_bulk_elem(w->c.out, buf, WR_OUT_CHUNK, n, NULL) == 0))
		WR_COUNT(w->c.cnt, out_ring_full);
}

static void copy_key(struct wr_out_rec *r, const char *k, uint32_t n)
{
	if (n > ST_KEY_MAX)
		n = ST_KEY_MAX;
	memcpy(r->key, k, n);
	r->key_len = (uint16_t)n;
}

static void copy_sample(struct wr_out_rec *r, unsigned i, const char *s, uint32_t n)
{
	if (n > ST_SAMPLE_MAX)
		n = ST_SAMPLE_MAX;
	memcpy(r->samples[i], s, n);
	r->sample_len[i] = (uint16_t)n;
}

static void emit_window(void *ctx, const struct st_window_rec *wr)
{
	struct dp_worker *w = ctx;
	struct wr_out_rec r;
	r.type = WR_REC_WINDOW;
	r.n_samples = 0;
	r.rule_idx = wr->rule_idx;
	r.rules_version = w->c.rules->version;
	r.start_us = wr->start_us;
	r.end_us = wr->end_us;
	r.count = wr->count;
	r.threshold = w->rparams[wr->rule_idx].threshold;
	r.event_us = r.wm_us = 0;
	copy_key(&r, wr->key, wr->key_len);
	out_push(w, &r);
}

static void emit_alert(void *ctx, const struct st_alert_rec *a)
{
	struct dp_worker *w = ctx;
	struct wr_out_rec r;
	r.type = a->kind == ST_ALERT_FIRE ? WR_REC_ALERT : WR_REC_RESOLVED;
	r.rule_idx = a->rule_idx;
	r.rules_version = w->c.rules->version;
	r.start_us = a->start_us;
	r.end_us = a->end_us;
	r.count = a->count;
	r.threshold = a->threshold;
	r.event_us = a->event_us;
	r.wm_us = 0;
	copy_key(&r, a->key, a->key_len);
	r.n_samples = (uint8_t)(a->n_samples > ST_SAMPLES ? ST_SAMPLES : a->n_samples);
	for (unsigned i = 0; i < r.n_samples; i++)
		copy_sample(&r, i, a->samples[i], a->sample_len[i]);
	out_push(w, &r);
}

static void emit_late(void *ctx, const struct st_late_rec *l)
{
	struct dp_worker *w = ctx;
	struct wr_out_rec r;
	r.type = WR_REC_LATE;
	r.rule_idx = l->rule_idx;
	r.rules_version = w->c.rules->version;
	r.start_us = r.end_us = 0;
	r.count = r.threshold = 0;
	r.event_us = l->event_us;
	r.wm_us = l->watermark_us;
	copy_key(&r, l->key, l->key_len);
	r.n_samples = 1;
	copy_sample(&r, 0, l->line, l->line_len);
	out_push(w, &r);
}

static void emit_session(void *ctx, const struct st_session_rec *sr)
{
	struct wr_out_rec r;
	wr_out_session(&r, sr);
	out_push(ctx, &r);
}

static void emit_session_late(void *ctx, const struct st_session_late_rec *l)
{
	struct dp_worker *w = ctx;
	struct wr_out_rec r;
	memset(&r, 0, offsetof(struct wr_out_rec, key));
	r.type = WR_REC_SESSION_LATE;
	r.event_us = l->event_us;
	r.wm_us = l->watermark_us;
	copy_key(&r, l->user, l->user_len);
	out_push(w, &r);
}

/* ---- watermarks and exchange ------------------------------------------ */

/* Minimum over busy workers; a busy worker with no event yet holds everyone
 * back. When every worker is idle, the most advanced one (idle watermarks
 * move with the wall clock). */
static int64_t global_wm(const struct dp_shared *s, enum dp_wm_kind k)
{
	int64_t busy_min = ST_WM_MAX, idle_max = ST_WM_MIN;
	bool any_busy = false;
	for (uint32_t i = 0; i < s->n_workers; i++) {
		int64_t v = __atomic_load_n(&s->wm[k][i], __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->idle[k][i], __ATOMIC_RELAXED)) {
			if (v > idle_max)
				idle_max = v;
			continue;
		}
		any_busy = true;
		if (v < busy_min)
			busy_min = v;
	}
	return any_busy ? busy_min : idle_max;
}

static void count_match(struct dp_worker *w, uint32_t rule_idx, const char *key, size_t klen,
			int64_t ts, int64_t wm, const char *line, size_t llen)
{
	int rc = st_wtab_add(w->wtab, rule_idx, key, klen, ts, wm, line, llen, &w->emit);
	(void)rc; /* late and table-full are counted by the table */
}

static void own_txn(struct dp_worker *w, struct wr_txn_req *r);

static void own_forwarded(struct dp_worker *w, const struct dp_xmsg *x)
{
	struct wr_txn_req r;
	memcpy(&r, x->txn, WR_TXN_XCHG_BYTES);
	r.why[0] = 0;
	own_txn(w, &r);
}
static void queue_tx(struct dp_worker *w, uint32_t input, struct rte_mbuf *m);
static void tx_input(struct dp_worker *w, uint32_t input);

/* Add the pending click events (exactly as single adds in arrival order). */
static void sess_flush(struct dp_worker *w)
{
	if (w->nsev) {
		st_sess_add_burst(w->sess, w->sev, w->nsev, &w->semit, NULL);
		w->nsev = 0;
	}
}

static void sess_push(struct dp_worker *w, const char *user, uint32_t len, int64_t ts_us,
		      int32_t step, bool page_view, int64_t wm_us)
{
	uint32_t i = w->nsev++;
	memcpy(w->sev_user[i], user, len);
	w->sev[i] = (struct st_sess_ev){ .user = w->sev_user[i], .user_len = len, .step = step,
					 .ts_us = ts_us, .wm_us = wm_us, .is_page_view = page_view };
	if (w->nsev == ST_SESS_BURST)
		sess_flush(w);
}

static uint32_t drain_xchg(struct dp_worker *w)
{
	struct dp_shared *s = w->c.shared;
	uint32_t total = 0;
	for (uint32_t from = 0; from < s->n_workers; from++) {
		if (from == w->c.idx)
			continue;
		unsigned n;
		do {
			n = rte_ring_sc_dequeue_burst_elem(s->xchg[from][w->c.idx], w->xin,
							   sizeof(struct dp_xmsg), BURST, NULL);
			for (unsigned i = 0; i < n; i++) {
				const struct dp_xmsg *x = &w->xin[i];
				if (x->kind == XMSG_CLICK)
					sess_push(w, x->key, x->key_len, x->ts_us, x->step,
						  x->page_view, x->wm_us);
				else if (x->kind == XMSG_TXN)
					own_forwarded(w, x);
				else
					count_match(w, x->rule_idx, x->key, x->key_len, x->ts_us,
						    x->wm_us, x->line, x->line_len);
			}
			total += n;
		} while (n == BURST);
	}
	if (w->sess)
		sess_flush(w);
	return total;
}

/* Hand pending matches to their owners. Never drops: while a ring is full,
 * this worker drains its own incoming rings, so two full workers cannot
 * wait on each other forever. */
static void flush_xchg(struct dp_worker *w)
{
	struct dp_shared *s = w->c.shared;
	for (uint32_t to = 0; to < s->n_workers; to++) {
		uint16_t done = 0;
		while (done < w->nx[to]) {
			done += (uint16_t)rte_ring_sp_enqueue_burst_elem(
				s->xchg[w->c.idx][to], &w->xbuf[to][done], sizeof(struct dp_xmsg),
				w->nx[to] - done, NULL);
			if (done < w->nx[to])
				drain_xchg(w);
		}
		w->nx[to] = 0;
	}
}

/* ---- per message ------------------------------------------------------- */

static int on_match(uint32_t rule_idx, void *ctx)
{
	struct dp_worker *w = ctx;
	const struct dp_syslog_msg *m = w->cur_msg;
	const struct rules_rule *r = &w->c.rules->rules[rule_idx];
	const char *key;
	size_t klen;

	WR_COUNT(w->c.cnt, rule_matches);
	switch (r->group_by) {
	case RULES_GROUP_HOST:
		if (m->host_len) {
			key = m->host;
			klen = m->host_len;
		} else {
			key = w->cur_src;
			klen = strlen(w->cur_src);
		}
		break;
	case RULES_GROUP_APP:
		key = m->app_len ? m->app : "-";
		klen = m->app_len ? m->app_len : 1;
		break;
	default:
		key = "*";
		klen = 1;
		break;
	}
	if (klen > ST_KEY_MAX)
		klen = ST_KEY_MAX;

	uint32_t n = w->c.shared->n_workers;
	uint32_t owner = n == 1 ? 0 : wr_crc32c(key, (uint32_t)klen, rule_idx) % n;
	if (owner == w->c.idx) {
		count_match(w, rule_idx, key, klen, m->ts_us, w->cur_wm, w->cur_line,
			    w->cur_line_len);
		return 0;
	}
	struct dp_xmsg *x = &w->xbuf[owner][w->nx[owner]++];
	x->kind = XMSG_MATCH;
	x->rule_idx = rule_idx;
	x->key_len = (uint16_t)klen;
	memcpy(x->key, key, klen);
	x->ts_us = m->ts_us;
	x->wm_us = w->cur_wm;
	uint32_t ll = w->cur_line_len > ST_SAMPLE_MAX ? ST_SAMPLE_MAX : w->cur_line_len;
	memcpy(x->line, w->cur_line, ll);
	x->line_len = (uint16_t)ll;
	if (w->nx[owner] == BURST)
		flush_xchg(w);
	return 0;
}

static void src_text(const struct dp_pkt *p, char *buf, size_t len)
{
	inet_ntop(p->ip_version == 6 ? AF_INET6 : AF_INET, p->src_ip, buf, (socklen_t)len);
}

/* Where a rejected message came from, for the log: "addr port N" or "Kafka KEY". */
static void describe_source(const struct dp_pkt *p, const char *src, uint32_t src_len,
			    char *buf, size_t len)
{
	if (p) {
		char addr[INET6_ADDRSTRLEN];
		src_text(p, addr, sizeof(addr));
		snprintf(buf, len, "%s port %u", addr, p->src_port);
	} else {
		snprintf(buf, len, "Kafka %.*s", (int)src_len, src);
	}
}

/*
 * Parse, scan and count one syslog line from input @input. @p is the UDP
 * datagram it came in (NULL for a Kafka record, which names its source in
 * @src instead: the record key or the topic). @recv_us is the receive time,
 * used for lines without a timestamp (a Kafka record's own timestamp).
 * Returns DP_SYSLOG_OK or the parse error (already counted).
 */
/* Count and log (at a rate limit) @what from @p / @src dated @ts_us, past
 * event_time.max_future; @outcome says what became of it. */
static void note_future(struct dp_worker *w, const char *mod, const char *what,
			const struct dp_pkt *p, const char *src, uint32_t src_len, int64_t ts_us,
			const char *outcome)
{
	WR_COUNT(w->c.cnt, events_future);
	uint32_t supp;
	if (!wr_ratelimit_pass(&w->rl_parse, &supp))
		return;
	char from[96], when[40];
	describe_source(p, src, src_len, from, sizeof(from));
	wr_time_format(ts_us, when, sizeof(when));
	WR_WARN(mod, "%s from %s is dated %s, more than %lld s ahead of this host's clock%s%s",
		what, from, when, (long long)(w->c.cfg->max_future_us / WR_US_PER_SEC), outcome,
		supp ? " (and more not logged)" : "");
}

static int handle_syslog(struct dp_worker *w, uint32_t input, const char *data, uint32_t len,
			 int64_t now, int64_t recv_us, const struct dp_pkt *p, const char *src,
			 uint32_t src_len)
{
	const struct ctl_config *cfg = w->c.cfg;
	struct dp_syslog_opts o = {
		.recv_us = recv_us,
		.tz_offset_s = cfg->n_sources && p
			? ctl_config_source_tz(cfg, p->ip_version == 6, p->src_ip)
			: cfg->default_tz_offset_s,
		.max_len = cfg->syslog_max_len,
	};
	struct dp_syslog_msg m;
	int rc = dp_syslog_parse(data, len, &o, &m);
	if (unlikely(rc != DP_SYSLOG_OK)) {
		if (rc == DP_SYSLOG_EOVERSIZE)
			WR_COUNT(w->c.cnt, syslog_oversize);
		else if (rc == DP_SYSLOG_ETRUNCATED)
			WR_COUNT(w->c.cnt, syslog_truncated);
		else
			WR_COUNT(w->c.cnt, syslog_bad);
		uint32_t supp;
		if (wr_ratelimit_pass(&w->rl_parse, &supp)) {
			char from[96];
			describe_source(p, src, src_len, from, sizeof(from));
			WR_WARN("syslog", "dropped a message from %s: %s (%u bytes)%s", from,
				dp_syslog_strerror(rc), len, supp ? " (and more not logged)" : "");
		}
		return rc;
	}
	WR_COUNT(w->c.cnt, syslog_msgs);
	if (!m.has_ts)
		WR_COUNT(w->c.cnt, syslog_no_timestamp);
	if (unlikely(cfg->max_future_us && m.ts_us > now + cfg->max_future_us)) {
		/* A sender's clock far ahead would drag the watermark forward and make
		 * every other sender late: trust the receive time instead. */
		note_future(w, "syslog", "a message", p, src, src_len, m.ts_us,
			    ": counted at its receive time");
		m.ts_us = recv_us;
	}

	w->cur_msg = &m;
	w->cur_line = data;
	/* Samples show the line as sent, without its line ending: the parser
	 * stripped it, and MSG runs to the end of what is left. */
	w->cur_line_len = (uint32_t)(m.msg + m.msg_len - data);
	w->cur_wm = st_wm_get(w->wm[DP_WM_LOG], now);
	if (m.host_len == 0) {
		if (p) {
			src_text(p, w->cur_src, sizeof(w->cur_src));
		} else {
			uint32_t n = src_len < sizeof(w->cur_src) - 1 ? src_len
								 : (uint32_t)sizeof(w->cur_src) - 1;
			memcpy(w->cur_src, src, n);
			w->cur_src[n] = '\0';
		}
	}
	if (w->c.rules->n && rules_scan(w->c.rules, w->scratch, m.msg, m.msg_len, on_match, w))
		WR_COUNT(w->c.cnt, scan_errors);
	st_wm_observe(w->wm[DP_WM_LOG], input, m.ts_us, now);
	w->cur_msg = NULL;
	return DP_SYSLOG_OK;
}

static bool is_click_port(const struct ctl_config *cfg, uint16_t port)
{
	for (uint32_t i = 0; i < cfg->n_click_ports; i++)
		if (cfg->click_ports[i] == port)
			return true;
	return false;
}

/*
 * Parse one JSON clickstream event from input @input and hand it to the
 * session table of the worker that owns its user. @p / @src as for
 * handle_syslog(). Returns 0 or DP_KAFKA_EVENT_ERR + the parse error
 * (already counted).
 */
static int handle_click(struct dp_worker *w, uint32_t input, const char *data, uint32_t len,
			int64_t now, const struct dp_pkt *p, const char *src, uint32_t src_len)
{
	const struct ctl_config *cfg = w->c.cfg;
	struct dp_click c;
	char why[128];
	int rc = dp_event_parse_click(data, len, &w->efields, w->ectx, &c, why, sizeof(why));
	if (unlikely(rc != DP_EVENT_OK || c.user_id_len > ST_KEY_MAX)) {
		WR_COUNT(w->c.cnt, click_bad);
		uint32_t supp;
		if (wr_ratelimit_pass(&w->rl_parse, &supp)) {
			char from[96];
			describe_source(p, src, src_len, from, sizeof(from));
			WR_WARN("click", "dropped an event from %s: %s%s", from,
				rc ? why : "user id longer than 128 bytes",
				supp ? " (and more not logged)" : "");
		}
		return DP_KAFKA_EVENT_ERR + (rc ? rc : DP_EVENT_EVALUE);
	}
	if (unlikely(cfg->max_future_us && c.ts_us > now + cfg->max_future_us)) {
		WR_COUNT(w->c.cnt, click_bad);
		note_future(w, "click", "an event", p, src, src_len, c.ts_us, ": dropped");
		return DP_KAFKA_EVENT_ERR + DP_EVENT_ETIMESTAMP;
	}
	WR_COUNT(w->c.cnt, click_events);
	bool pv;
	int16_t step = (int16_t)dp_click_step(&w->ctypes, c.type, c.type_len, &pv);
	int64_t wm = st_wm_get(w->wm[DP_WM_CLICK], now);
	uint32_t n = w->c.shared->n_workers;
	uint32_t owner = n == 1 ? 0 : wr_crc32c(c.user_id, c.user_id_len, 0x5e55) % n;
	if (owner == w->c.idx) {
		sess_push(w, c.user_id, c.user_id_len, c.ts_us, step, pv, wm);
	} else {
		struct dp_xmsg *x = &w->xbuf[owner][w->nx[owner]++];
		x->kind = XMSG_CLICK;
		x->rule_idx = 0;
		x->step = step;
		x->page_view = pv;
		x->key_len = (uint16_t)c.user_id_len;
		memcpy(x->key, c.user_id, c.user_id_len);
		x->ts_us = c.ts_us;
		x->wm_us = wm;
		x->line_len = 0;
		if (w->nx[owner] == BURST)
			flush_xchg(w);
	}
	st_wm_observe(w->wm[DP_WM_CLICK], input, c.ts_us, now);
	return 0;
}

/* ---- payment transactions --------------------------------------------- */

static bool is_txn_port(const struct ctl_config *cfg, uint16_t port)
{
	for (uint32_t i = 0; i < cfg->n_txn_ports; i++)
		if (cfg->txn_ports[i] == port)
			return true;
	return false;
}

/* Answers the fraud thread built for packets this worker received: send
 * them on the input's tx queue. */
static uint32_t send_answers(struct dp_worker *w)
{
	if (!w->c.answers)
		return 0;
	struct rte_mbuf *ms[BURST];
	unsigned n = rte_ring_sc_dequeue_burst(w->c.answers, (void **)ms, BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		uint32_t input = ms[i]->hash.usr;
		if (likely(input < w->c.n_inputs))
			queue_tx(w, input, ms[i]);
		else
			rte_pktmbuf_free(ms[i]);
	}
	return n;
}

/* The input whose tx queue answers @r: the one it came in on when this
 * worker received it, else this worker's first input on the same port
 * (n_inputs: none). */
static uint32_t answer_input(const struct dp_worker *w, const struct wr_txn_req *r)
{
	if (r->rx_worker == w->c.idx)
		return r->rx_input;
	uint32_t i = 0;
	while (i < w->c.n_inputs && w->c.inputs[i].port_id != r->port_id)
		i++;
	return i;
}

/* Send @payload (@n bytes) to the sender of @r from the tx queue of this
 * worker's input @i (answer_input()). */
static void reply_from_here(struct dp_worker *w, const struct wr_txn_req *r, uint32_t i,
			    const char *payload, int n)
{
	int e = 0;
	struct rte_mbuf *m = n < 0 || i >= w->c.n_inputs ? NULL
		: dp_udp_reply(w->c.mp, r->hdr, r->hdr_len, &w->c.inputs[i].addrs->mac, payload,
			       (uint32_t)n, &e);
	if (!m) {
		WR_COUNT(w->c.cnt, fraud_reply_failed);
		return;
	}
	WR_COUNT(w->c.cnt, fraud_replies);
	queue_tx(w, i, m);
}

/* Answer ERROR from this worker's own tx queue: for when the fraud thread
 * cannot take the transaction (its queue is full). */
static void reply_direct(struct dp_worker *w, const struct wr_txn_req *r, const char *why)
{
	if (!r->reply)
		return;
	char buf[2 * WR_TXN_WHY_MAX + 6 * WR_TXN_ID_MAX + 64]; /* escapes may grow 6x */
	reply_from_here(w, r, answer_input(w, r), buf,
			wr_txn_error_json(buf, sizeof(buf), false, r->txn_id, r->txn_id_len, why));
}

static void to_fraud(struct dp_worker *w, struct wr_txn_req *r)
{
	r->owner = (uint8_t)w->c.idx;
	uint32_t *pend = r->kind == WR_TXN_SCORE && r->pend && w->c.fraud_pend
		? &w->c.fraud_pend[r->pend - 1] : NULL;
	if (pend)   /* before the thread can see it: it takes 1 off once decided */
		__atomic_fetch_add(pend, 1, __ATOMIC_RELAXED);
	if (unlikely(rte_ring_sp_enqueue_elem(w->c.fraud, r, sizeof(*r)) != 0)) {
		if (pend)
			__atomic_fetch_sub(pend, 1, __ATOMIC_RELAXED);
		uint32_t supp;
		if (r->kind == WR_TXN_DECIDED) {
			/* Answered already: only its audit record and write-back are lost. */
			WR_COUNT(w->c.cnt, fraud_audit_dropped);
			if (wr_ratelimit_pass(&w->rl_parse, &supp))
				WR_WARN("fraud", "fraud queue of worker %u full: audit record of a "
					"decision made here dropped%s", w->c.idx,
					supp ? " (and more not logged)" : "");
			return;
		}
		WR_COUNT(w->c.cnt, txn_overload);
		if (wr_ratelimit_pass(&w->rl_parse, &supp))
			WR_WARN("fraud", "fraud queue of worker %u full: answering ERROR "
				"(overloaded)%s", w->c.idx, supp ? " (and more not logged)" : "");
		reply_direct(w, r, "overloaded: try again");
		return;
	}
	/* A decision made here is only audited and written back: the thread
	 * takes it within IDLE_WAIT_US without a wake-up. */
	if (r->kind == WR_TXN_DECIDED)
		return;
	wr_wake_notify(w->c.fraud_wake);
}

/* Decide here when every feature is at hand (wr_txn_fast) and no earlier
 * transaction of the user is still with the fraud thread: the answer goes
 * out now and r->kind becomes DECIDED; the record still goes to the fraud
 * thread, for the audit and write-back. Otherwise r->pend names its bucket
 * in the pending filter, counted when it goes on the ring. */
static void decide_here(struct dp_worker *w, struct wr_txn_req *r)
{
	const struct wr_txn_fast *ff = w->c.fraud_fast;
	if (!ff || !w->c.fraud_pend)
		return;
	uint32_t b = wr_txn_pend_bucket(r->user, r->user_len);
	r->pend = (uint16_t)(b + 1);
	uint32_t i = r->reply ? answer_input(w, r) : 0;
	if (__atomic_load_n(&w->c.fraud_pend[b], __ATOMIC_ACQUIRE) != 0 ||
	    (r->reply && i >= w->c.n_inputs))
		return;
	char buf[2048];
	int n = ff->decide(ff->ctx, w->c.idx, r, buf, sizeof(buf), w->c.cnt);
	if (n <= 0 || !r->reply)   /* from Kafka: the audit record is the answer */
		return;
	reply_from_here(w, r, i, buf, n);
	/* Answers leave in small groups, not after the whole rx burst: each
	 * decision costs microseconds, so the first of a burst of 32 would
	 * wait for the other 31. */
	if (w->ntx[i] >= ANSWER_TX_GROUP)
		tx_input(w, i);
}

/* The owner's part: in-stream features before and after, then to the fraud
 * thread. */
static void own_txn(struct dp_worker *w, struct wr_txn_req *r)
{
	uint32_t ch = wr_crc32c(r->country, r->country_len, 0xc0);
	uint32_t mh = wr_crc32c(r->merchant, r->merchant_len, 0x3e);
	int rc = st_feat_update(w->feat, r->user, r->user_len, r->ts_us, r->amount_micros, ch,
				mh, &r->before);
	r->feat_rc = rc == 1 ? 1 : rc == -ENOSPC ? 2 : 0;
	if (rc == 0) {
		st_feat_get(w->feat, r->user, r->user_len, r->ts_us, &r->after);
	} else {
		double *a = (double *)&r->after;
		for (unsigned i = 0; i < sizeof(r->after) / sizeof(double); i++)
			a[i] = NAN;
	}
	if (unlikely(rc < 0 && rc != -ENOSPC)) {
		/* The parser's bounds are the table's: this is a bug, not input. */
		r->kind = WR_TXN_BAD;
		snprintf(r->why, sizeof(r->why), "internal: feature table refused the "
			 "transaction (%s)", strerror(-rc));
	}
	w->c.cnt->v[WR_CNT_features_users] = st_feat_used(w->feat);
	if (r->kind == WR_TXN_SCORE)
		decide_here(w, r);
	to_fraud(w, r);
}

/*
 * The txn id of a transaction the parser rejected, so the sender can match
 * the ERROR answer: the first `"<key>"` followed by `:` and a plain string
 * (no escapes, printable ASCII, at most WR_TXN_ID_MAX bytes). A heuristic
 * on input already known to be bad; returns the length, 0 when not found.
 */
static uint16_t guess_txn_id(const char *d, uint32_t len, const char *key, char *out)
{
	size_t kl = strlen(key);
	for (uint32_t i = 0; i + kl + 2 < len; i++) {
		if (d[i] != '"' || memcmp(d + i + 1, key, kl) || d[i + 1 + kl] != '"')
			continue;
		uint32_t j = i + (uint32_t)kl + 2;
		while (j < len && (d[j] == ' ' || d[j] == '\t'))
			j++;
		if (j >= len || d[j++] != ':')
			continue;
		while (j < len && (d[j] == ' ' || d[j] == '\t'))
			j++;
		if (j >= len || d[j++] != '"')
			continue;
		uint32_t n = 0;
		while (j + n < len && n < WR_TXN_ID_MAX && d[j + n] != '"' && d[j + n] != '\\' &&
		       d[j + n] >= 0x20 && d[j + n] < 0x7f)
			n++;
		if (j + n >= len || d[j + n] != '"')
			return 0;
		memcpy(out, d + j, n);
		return (uint16_t)n;
	}
	return 0;
}

/* Copy the request's Ethernet..UDP headers for the answer; 0 when they are
 * not plain enough to answer (the decision is still made and audited). */
static uint8_t copy_hdr(const struct rte_mbuf *m, const struct dp_pkt *p, uint8_t *hdr)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t avail = m->data_len < WR_TXN_HDR_MAX ? m->data_len : WR_TXN_HDR_MAX;
	uint32_t hl = dp_udp_hdr_len(f, avail);
	if (!hl || hl != p->payload_off)
		return 0;
	memcpy(hdr, f, hl);
	return (uint8_t)hl;
}

/* @r (reply set) was received at @rx_tsc. An answer to a UDP sender comes
 * back through the fraud thread: stay awake (no idle nap) for 10 ms to send
 * it as soon as it does. */
static inline void txn_received(struct dp_worker *w, struct wr_txn_req *r, uint64_t rx_tsc)
{
	r->rx_tsc = rx_tsc;
	if (r->reply)
		w->answers_due_tsc = rx_tsc + rte_get_tsc_hz() / 100;
}

/*
 * Parse one JSON transaction and hand it to the worker that owns its user.
 * @p and @m describe the datagram received on @input at @rx_tsc (NULL for a
 * Kafka record: no answer, received now); @src as for handle_syslog(). Returns 0 or DP_KAFKA_EVENT_ERR + the parse
 * error (already counted; a UDP sender gets an ERROR answer).
 */
static int handle_txn(struct dp_worker *w, uint32_t input, uint64_t rx_tsc, const char *data,
		      uint32_t len, const struct dp_pkt *p, const struct rte_mbuf *m,
		      const char *src, uint32_t src_len)
{
	struct dp_txn t;
	struct wr_txn_req local;
	struct wr_txn_req *r = &local;
	char why[WR_TXN_WHY_MAX];
	int rc = dp_event_parse_txn(data, len, &w->tfields, w->ectx, &t, why, sizeof(why));
	if (unlikely(rc != DP_EVENT_OK)) {
		WR_COUNT(w->c.cnt, txn_bad);
		uint32_t supp;
		if (wr_ratelimit_pass(&w->rl_parse, &supp)) {
			char from[96];
			describe_source(p, src, src_len, from, sizeof(from));
			WR_WARN("fraud", "rejected a transaction from %s: %s%s", from, why,
				supp ? " (and more not logged)" : "");
		}
		if (p && m) {
			memset(r, 0, offsetof(struct wr_txn_req, txn_id));
			r->kind = WR_TXN_BAD;
			r->hdr_len = copy_hdr(m, p, r->hdr);
			r->reply = r->hdr_len > 0;
			txn_received(w, r, rx_tsc);   /* its error answer comes back the same way */
			r->port_id = m->port;
			r->rx_worker = (uint8_t)w->c.idx;
			r->rx_input = (uint8_t)input;
			r->txn_id_len = guess_txn_id(data, len, w->tfields.txn_id ? w->tfields.txn_id
							      : "txn_id", r->txn_id);
			r->txn_id[r->txn_id_len] = 0;
			snprintf(r->why, sizeof(r->why), "%s", why);
			if (r->reply)
				to_fraud(w, r);
		}
		return DP_KAFKA_EVENT_ERR + rc;
	}
	WR_COUNT(w->c.cnt, txn_in);
	uint32_t n = w->c.shared->n_workers;
	uint32_t owner = n == 1 ? 0 : wr_crc32c(t.user_id, t.user_id_len, 0xf4a) % n;
	r->kind = WR_TXN_SCORE;
	r->feat_rc = 0;
	r->pend = 0;
	r->hdr_len = p && m ? copy_hdr(m, p, r->hdr) : 0;
	r->reply = r->hdr_len > 0;
	r->port_id = m ? m->port : 0;
	r->rx_worker = (uint8_t)w->c.idx;
	r->rx_input = (uint8_t)input;
	r->ts_us = t.ts_us;
	r->amount = t.amount;
	r->amount_micros = t.amount_micros;
	memcpy(r->currency, t.currency, sizeof(r->currency));
	txn_received(w, r, p ? rx_tsc : rte_rdtsc());
	r->txn_id_len = (uint16_t)t.txn_id_len;
	memcpy(r->txn_id, t.txn_id, t.txn_id_len);
	r->txn_id[t.txn_id_len] = 0;
	r->user_len = (uint16_t)t.user_id_len;
	memcpy(r->user, t.user_id, t.user_id_len);
	r->user[t.user_id_len] = 0;
	r->merchant_len = (uint16_t)t.merchant_len;
	memcpy(r->merchant, t.merchant, t.merchant_len);
	r->merchant[t.merchant_len] = 0;
	r->country_len = (uint16_t)t.country_len;
	memcpy(r->country, t.country, t.country_len);
	r->country[t.country_len] = 0;
	r->why[0] = 0;
	if (owner == w->c.idx) {
		own_txn(w, r);
		return 0;
	}
	struct dp_xmsg *x = &w->xbuf[owner][w->nx[owner]++];
	x->kind = XMSG_TXN;
	memcpy(x->txn, r, WR_TXN_XCHG_BYTES);
	if (w->nx[owner] == BURST)
		flush_xchg(w);
	return 0;
}

/* Records from the Kafka source: parse as syslog, hand them back. */
static uint32_t poll_kafka(struct dp_worker *w, int64_t now)
{
	struct dp_kafka_rec recs[BURST];
	unsigned n = rte_ring_sc_dequeue_burst_elem(w->c.kafka_in, recs, sizeof(recs[0]), BURST,
						    NULL);
	unsigned kept = 0;
	for (unsigned i = 0; i < n; i++) {
		const rd_kafka_message_t *m = recs[i].rkm;
		if (!m) {
			/* A partition announced by the source: hold its stream's
			 * watermark until it speaks. Nothing to hand back. */
			uint32_t in = w->c.n_inputs + recs[i].slot / w->c.shared->n_workers;
			if (recs[i].format == CTL_KAFKA_FMT_SYSLOG)
				st_wm_expect(w->wm[DP_WM_LOG], in, now);
			else if (recs[i].format == CTL_KAFKA_FMT_CLICK)
				st_wm_expect(w->wm[DP_WM_CLICK], in, now);
			continue;
		}
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);
		const char *src = m->key ? m->key : rd_kafka_topic_name(m->rkt);
		uint32_t src_len = m->key ? (uint32_t)m->key_len : (uint32_t)strlen(src);
		uint32_t input = w->c.n_inputs + recs[i].slot / w->c.shared->n_workers;
		if (recs[i].format == CTL_KAFKA_FMT_CLICK && w->sess)
			recs[i].status = (int16_t)handle_click(w, input, m->payload,
							       (uint32_t)m->len, now, NULL, src,
							       src_len);
		else if (recs[i].format == CTL_KAFKA_FMT_TXN && w->feat)
			recs[i].status = (int16_t)handle_txn(w, input, 0, m->payload,
							     (uint32_t)m->len, NULL, NULL, src,
							     src_len);
		else
			recs[i].status = (int16_t)handle_syslog(w, input, m->payload,
								(uint32_t)m->len, now,
								ts >= 0 ? ts * WR_US_PER_MS : now,
								NULL, src, src_len);
		recs[kept++] = recs[i];
	}
	/* Fault injection for the backpressure test: a slow worker. */
	if (unlikely(w->test_nap_ns) && n) {
		struct timespec ts = { 0, w->test_nap_ns };
		nanosleep(&ts, NULL);
	}
	/* The return ring is twice the size of the in-ring: this never waits. */
	unsigned done = 0;
	while (done < kept)
		done += rte_ring_sp_enqueue_burst_elem(w->c.kafka_ret, &recs[done], sizeof(recs[0]),
						       kept - done, NULL);
	return n;
}

static void handle_udp(struct dp_worker *w, uint32_t input, struct rte_mbuf *m,
		       const struct dp_pkt *p, int64_t now, uint64_t tsc)
{
	const char *data;
	if (m->nb_segs == 1)
		data = rte_pktmbuf_mtod_offset(m, const char *, p->payload_off);
	else
		data = rte_pktmbuf_read(m, p->payload_off, p->payload_len, w->linbuf);
	if (unlikely(!data)) {
		WR_COUNT(w->c.cnt, rx_bad_udp);
		return;
	}
	/* Every listening port carries syslog today; other formats (JSON
	 * events) will dispatch on p->dst_port here. */
	if (w->sess && is_click_port(w->c.cfg, p->dst_port))
		handle_click(w, input, data, p->payload_len, now, p, NULL, 0);
	else if (w->feat && is_txn_port(w->c.cfg, p->dst_port))
		handle_txn(w, input, tsc, data, p->payload_len, p, m, NULL, 0);
	else
		handle_syslog(w, input, data, p->payload_len, now, now, p, NULL, 0);
}

static void tx_input(struct dp_worker *w, uint32_t input)
{
	uint16_t n = w->ntx[input];
	const struct dp_input *in = &w->c.inputs[input];
	uint16_t sent = rte_eth_tx_burst(in->port_id, in->tx_queue, w->tx[input], n);
	WR_COUNT_ADD(w->c.cnt, tx_packets, sent);
	if (sent < n) {
		WR_COUNT_ADD(w->c.cnt, tx_dropped, n - sent);
		rte_pktmbuf_free_bulk(&w->tx[input][sent], n - sent);
	}
	w->ntx[input] = 0;
}

static void queue_tx(struct dp_worker *w, uint32_t input, struct rte_mbuf *m)
{
	w->tx[input][w->ntx[input]++] = m;
	if (w->ntx[input] == BURST)
		tx_input(w, input);
}

static void flush_tx(struct dp_worker *w)
{
	for (uint32_t i = 0; i < w->c.n_inputs; i++)
		if (w->ntx[i])
			tx_input(w, i);
}

static void handle_pkt(struct dp_worker *w, uint32_t input, struct rte_mbuf *m, int64_t now,
		       uint64_t tsc)
{
	const struct dp_local_addrs *la = w->c.inputs[input].addrs;
	struct dp_pkt p;
	enum dp_class cls = dp_decode(m, la, w->c.cnt, &p);
	if (cls == DP_CLASS_FRAG) {
		m = dp_frag_reassemble(w->frag, m, tsc, w->c.cnt);
		if (!m)
			return; /* kept for more fragments, or dropped and counted */
		cls = dp_decode(m, la, w->c.cnt, &p);
		if (cls == DP_CLASS_FRAG) {
			WR_COUNT(w->c.cnt, frag_dropped);
			cls = DP_CLASS_DROP;
		}
	}
	/* at most one mbuf per received one goes to w->done, freed after the burst */
	switch (cls) {
	case DP_CLASS_UDP:
		handle_udp(w, input, m, &p, now, tsc);
		w->done[w->ndone++] = m;
		break;
	case DP_CLASS_REPLY:
		queue_tx(w, input, m);
		break;
	default:
		w->done[w->ndone++] = m;
		break;
	}
}

static void publish_wm(struct dp_worker *w, enum dp_wm_kind k, int64_t v, bool idle)
{
	__atomic_store_n(&w->c.shared->idle[k][w->c.idx], idle, __ATOMIC_RELAXED);
	__atomic_store_n(&w->c.shared->wm[k][w->c.idx], v, __ATOMIC_RELEASE);
}

int dp_worker_run(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_shared *s = w->c.shared;
	struct rte_mbuf *pkts[BURST];
	uint32_t idle_polls = 0;
	const uint64_t expire_every = rte_get_tsc_hz() / 200; /* every 5 ms */
	uint64_t last_expire = rte_rdtsc();
	/* Wall-clock time per loop from the TSC, read from the clock every
	 * 1 ms: in this VM clock_gettime() took a fifth of a polling worker's
	 * time. */
	const uint64_t clock_every = rte_get_tsc_hz() / 1000;
	const double us_per_tsc = 1e6 / (double)rte_get_tsc_hz();
	uint64_t clock_tsc = rte_rdtsc();
	int64_t clock_us = wr_wall_us();
	const int64_t idle_us = w->c.cfg->idle_timeout_us;
	/* A worker fed only by the Kafka source shares the CPU with librdkafka's
	 * fetch threads: records come in batches, so it naps after a short
	 * empty spell instead of spinning (measured on 2 vCPUs: 0.36 -> 0.7-0.9 M
	 * records/s through bench/kafka.sh). */
	const uint32_t idle_before_nap = w->c.n_inputs ? IDLE_POLLS_BEFORE_NAP : 64;
	const int64_t drift_us = w->c.cfg->max_drift_us;
	/* per stream (the counter that shows its activity; start counts as activity) */
	const enum wr_counter_id active_cnt[DP_WM_KINDS] = {
		[DP_WM_LOG] = WR_CNT_syslog_msgs, [DP_WM_CLICK] = WR_CNT_click_events,
	};
	int64_t last_event[DP_WM_KINDS], my_wm[DP_WM_KINDS], gwm[DP_WM_KINDS];
	uint64_t seen[DP_WM_KINDS];
	bool idle[DP_WM_KINDS];
	/* A worker without inputs never holds the others back. */
	const bool has_inputs = w->c.n_inputs || w->c.kafka_in;
	for (unsigned k = 0; k < DP_WM_KINDS; k++) {
		last_event[k] = wr_wall_us();
		seen[k] = 0;
		idle[k] = false;
		my_wm[k] = ST_WM_MIN;
		if (!has_inputs)
			publish_wm(w, k, ST_WM_MIN, true);
	}

	WR_INFO("worker", "worker %u on lcore %u: %u input(s)", w->c.idx, rte_lcore_id(),
		w->c.n_inputs);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		uint64_t tsc = rte_rdtsc();
		if (tsc - clock_tsc >= clock_every) {
			clock_us = wr_wall_us();
			clock_tsc = tsc;
		}
		int64_t now = clock_us + (int64_t)((double)(tsc - clock_tsc) * us_per_tsc);
		for (unsigned k = 0; k < DP_WM_KINDS; k++)
			gwm[k] = global_wm(s, k);
		uint32_t got = drain_xchg(w);

		/* Watermark alignment: let the slowest busy input catch up, and
		 * wait for a busy worker that has not spoken yet (it turns idle
		 * after idle_timeout if its inputs stay silent); per stream. */
		bool paused = false;
		for (unsigned k = 0; k < DP_WM_KINDS && drift_us; k++)
			paused |= my_wm[k] != ST_WM_MIN &&
				  (gwm[k] == ST_WM_MIN ||
				   (gwm[k] != ST_WM_MAX && my_wm[k] - gwm[k] > drift_us));
		if (unlikely(paused))
			WR_COUNT(w->c.cnt, rx_paused);
		for (uint32_t i = 0; i < w->c.n_inputs && !paused; i++) {
			const struct dp_input *in = &w->c.inputs[i];
			uint16_t nb = rte_eth_rx_burst(in->port_id, in->queue_id, pkts, BURST);
			if (nb == 0)
				continue;
			got += nb;
			for (uint16_t k = 0; k < nb && k < PREFETCH_AHEAD; k++)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[k], void *));
			/* counters once per burst: handle_pkt() stores through the
			 * counter block, so per-packet adds are loads and stores */
			uint64_t bytes = 0;
			for (uint16_t k = 0; k < nb; k++) {
				if (k + PREFETCH_AHEAD < nb)
					rte_prefetch0(rte_pktmbuf_mtod(pkts[k + PREFETCH_AHEAD],
								       void *));
				bytes += rte_pktmbuf_pkt_len(pkts[k]);
				handle_pkt(w, i, pkts[k], now, tsc);
			}
			WR_COUNT_ADD(w->c.cnt, rx_packets, nb);
			WR_COUNT_ADD(w->c.cnt, rx_bytes, bytes);
			/* one mempool put for the burst instead of one per packet:
			 * 41 instead of 63 instructions per packet (callgrind) */
			rte_pktmbuf_free_bulk(w->done, w->ndone);
			w->ndone = 0;
		}
		if (w->c.kafka_in && !paused)
			got += poll_kafka(w, now);
		flush_xchg(w);
		got += send_answers(w);
		flush_tx(w);
		if (got)
			dp_frag_flush(w->frag); /* frees the death row; cheap when empty */
		if (tsc - last_expire >= expire_every) {
			dp_frag_expire(w->frag, tsc, w->c.cnt);
			last_expire = tsc;
		}
		for (unsigned k = 0; k < DP_WM_KINDS && has_inputs; k++) {
			uint64_t msgs = w->c.cnt->v[active_cnt[k]];
			if (msgs != seen[k]) {
				seen[k] = msgs;
				last_event[k] = now;
			}
			idle[k] = idle_us && now - last_event[k] >= idle_us;
			my_wm[k] = st_wm_get(w->wm[k], now);
			publish_wm(w, k, my_wm[k], idle[k]);
		}
		st_wtab_advance(w->wtab, gwm[DP_WM_LOG], &w->emit);
		if (w->sess) {
			sess_flush(w);
			st_sess_advance(w->sess, gwm[DP_WM_CLICK], &w->semit);
			w->c.cnt->v[WR_CNT_sessions_active] = st_sess_active(w->sess);
		}
		__atomic_store_n(&s->adv[w->c.idx], gwm[DP_WM_CLICK], __ATOMIC_RELEASE);

		if (got) {
			idle_polls = 0;
		} else if (++idle_polls >= idle_before_nap && tsc >= w->answers_due_tsc) {
			struct timespec ts = { 0, IDLE_NAP_NS };
			nanosleep(&ts, NULL);
		}
	}

	/* Shutdown: stop reading, let every worker hand over what it has,
	 * then (when asked to flush) close every window. */
	bool flush = __atomic_load_n(&s->flush, __ATOMIC_ACQUIRE);
	flush_xchg(w);
	for (unsigned k = 0; k < DP_WM_KINDS; k++)
		publish_wm(w, k, flush ? ST_WM_MAX : st_wm_get(w->wm[k], wr_wall_us()), idle[k]);
	__atomic_fetch_add(&s->stopped, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE) < s->n_workers)
		drain_xchg(w);
	while (drain_xchg(w))
		;
	/* Transactions handed to the fraud thread before the stop are still
	 * answered: send its answers until main says it has decided them all. */
	__atomic_fetch_add(&s->fed, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&s->answers_done, __ATOMIC_ACQUIRE)) {
		if (send_answers(w) == 0)
			rte_pause();
		flush_tx(w);
	}
	send_answers(w);
	flush_tx(w);
	if (flush) {
		for (unsigned k = 0; k < DP_WM_KINDS; k++)
			st_wm_finish(w->wm[k]);
		st_wtab_advance(w->wtab, ST_WM_MAX, &w->emit);
		if (w->sess) {
			sess_flush(w);
			st_sess_advance(w->sess, ST_WM_MAX, &w->semit);
		}
		__atomic_store_n(&s->adv[w->c.idx], ST_WM_MAX, __ATOMIC_RELEASE);
	}
	WR_INFO("worker", "worker %u stopped", w->c.idx);
	__atomic_fetch_add(&s->exited, 1, __ATOMIC_ACQ_REL);
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

/* run.hugepages: where table @what's dense arrays went (@got of @want bytes
 * on reserved 2 MB pages), in the log and the gauge. */
static void log_pages(struct dp_worker *w, const char *what, size_t got, size_t want)
{
	w->c.cnt->v[WR_CNT_state_reserved_bytes] += got;
	if (!want)
		return;
	if (got == want)
		WR_INFO("worker", "worker %u: %s: %.1f MB on reserved 2 MB hugepages", w->c.idx,
			what, (double)got / (1 << 20));
	else
		WR_INFO("worker", "worker %u: %s: the hugepage pool had room for %.1f of %.1f MB "
			"(run.hugepages); the rest on transparent huge pages", w->c.idx, what,
			(double)got / (1 << 20), (double)want / (1 << 20));
}

int dp_worker_create(const struct dp_worker_conf *c, struct dp_worker **out, char *err,
		     size_t errlen)
{
	struct dp_worker *w = rte_zmalloc_socket("dp_worker", sizeof(*w), 64, c->socket_id);
	if (!w) {
		snprintf(err, errlen, "worker %u: out of memory", c->idx);
		return -ENOMEM;
	}
	w->c = *c;
	w->rl_parse = (struct wr_ratelimit)WR_RATELIMIT_INIT(1000, 5);
	const char *slow = getenv("WEIR_TEST_SLOW_WORKER_US");
	if (slow) {
		w->test_nap_ns = strtol(slow, NULL, 10) * 1000;
		if (w->test_nap_ns < 0 || w->test_nap_ns > 999999999)
			w->test_nap_ns = 0;
		WR_WARN("worker", "test hook: worker naps %ld us per Kafka batch",
			w->test_nap_ns / 1000);
	}
	w->emit = (struct st_emit){ emit_window, emit_alert, emit_late, w };
	const struct ctl_config *cfg = c->cfg;
	int rc;

	w->linbuf = rte_malloc_socket("dp_linbuf", 65536, 64, c->socket_id);
	w->xbuf = rte_zmalloc_socket("dp_xbuf", sizeof(*w->xbuf) * DP_MAX_WORKERS, 64,
				     c->socket_id);
	w->rparams = calloc(c->rules->n ? c->rules->n : 1, sizeof(*w->rparams));
	if (!w->linbuf || !w->xbuf || !w->rparams) {
		snprintf(err, errlen, "worker %u: out of memory", c->idx);
		rc = -ENOMEM;
		goto err;
	}
	for (uint32_t i = 0; i < c->rules->n; i++) {
		w->rparams[i].window_us = c->rules->rules[i].window_us;
		w->rparams[i].threshold = c->rules->rules[i].threshold;
		w->rparams[i].cooldown_us = c->rules->rules[i].cooldown_us;
	}
	if (c->rules->n && rules_scratch_alloc(c->rules, &w->scratch) != 0) {
		snprintf(err, errlen, "worker %u: cannot allocate Hyperscan scratch", c->idx);
		rc = -ENOMEM;
		goto err;
	}
	struct st_wtab_params wp = { .capacity = cfg->window_capacity,
				     .lateness_us = cfg->lateness_us,
				     .slot_capacity = cfg->window_slots };
	rc = st_wtab_create(&wp, c->cnt, &w->wtab);
	if (rc) {
		snprintf(err, errlen, "worker %u: window table of %u keys: %s", c->idx,
			 cfg->window_capacity, strerror(-rc));
		goto err;
	}
	st_wtab_set_rules(w->wtab, w->rparams, c->rules->n);
	uint32_t n_wm = c->n_inputs + c->kafka_inputs;
	for (unsigned k = 0; k < DP_WM_KINDS; k++) {
		rc = st_wm_create(n_wm ? n_wm : 1, cfg->ooo_us, cfg->idle_timeout_us, &w->wm[k]);
		if (rc) {
			snprintf(err, errlen, "worker %u: watermark tracker: %s", c->idx,
				 strerror(-rc));
			goto err;
		}
	}
	bool clicks = cfg->n_click_ports > 0;
	for (uint32_t i = 0; i < cfg->n_kafka_topics; i++)
		clicks |= cfg->kafka_topics[i].format == CTL_KAFKA_FMT_CLICK;
	if (clicks) {
		struct st_sess_params sp = {
			.capacity = cfg->session_users, .session_capacity = cfg->session_slots,
			.gap_us = cfg->session_gap_us, .max_len_us = cfg->session_max_len_us,
			.lateness_us = cfg->lateness_us, .n_steps = cfg->n_funnel_steps,
			.reserved_pages = cfg->state_hugepages,
		};
		rc = st_sess_create(&sp, c->cnt, &w->sess);
		if (rc) {
			snprintf(err, errlen, "worker %u: session table of %u users: %s", c->idx,
				 cfg->session_users, strerror(-rc));
			goto err;
		}
		size_t want, got = st_sess_reserved_bytes(w->sess, &want);
		log_pages(w, "session table", got, want);
		w->semit = (struct st_sess_emit){ emit_session, emit_session_late, w };
		rc = dp_event_ctx_create(&w->ectx);
		if (rc) {
			snprintf(err, errlen, "worker %u: JSON parser: %s", c->idx, strerror(-rc));
			goto err;
		}
		dp_event_fields_default(&w->efields);
		w->efields.user_id = cfg->click_field_user;
		w->efields.ts = cfg->click_field_ts;
		w->efields.type = cfg->click_field_type;
		w->efields.page = cfg->click_field_page;
		dp_click_types_init(&w->ctypes, (const char *const *)cfg->funnel_steps,
				    cfg->n_funnel_steps, cfg->page_view_type);
	}
	if (cfg->fraud_enabled) {
		struct st_feat_params fp = {
			.capacity = cfg->fraud_users, .disorder_us = cfg->fraud_disorder_us,
			.evict = cfg->fraud_evict, .reserved_pages = cfg->state_hugepages,
		};
		rc = st_feat_create(&fp, c->cnt, &w->feat);
		if (rc) {
			snprintf(err, errlen, "worker %u: feature table of %u users: %s", c->idx,
				 cfg->fraud_users, strerror(-rc));
			goto err;
		}
		size_t want, got = st_feat_reserved_bytes(w->feat, &want);
		log_pages(w, "feature table", got, want);
		if (!w->ectx && (rc = dp_event_ctx_create(&w->ectx))) {
			snprintf(err, errlen, "worker %u: JSON parser: %s", c->idx, strerror(-rc));
			goto err;
		}
		dp_event_fields_default(&w->tfields);
		w->tfields.txn_id = cfg->txn_field_id;
		w->tfields.user_id = cfg->txn_field_user;
		w->tfields.amount = cfg->txn_field_amount;
		w->tfields.currency = cfg->txn_field_currency;
		w->tfields.merchant = cfg->txn_field_merchant;
		w->tfields.country = cfg->txn_field_country;
		w->tfields.ts = cfg->txn_field_ts;
		w->tfields.max_amount = cfg->txn_max_amount;
	}
	rc = dp_frag_create(cfg->frag_table_size, cfg->frag_timeout_us, c->socket_id, &w->frag);
	if (rc) {
		snprintf(err, errlen, "worker %u: reassembly table of %u flows: %s", c->idx,
			 cfg->frag_table_size, strerror(-rc));
		goto err;
	}
	*out = w;
	return 0;
err:
	dp_worker_destroy(w);
	return rc;
}

void dp_worker_destroy(struct dp_worker *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->c.n_inputs; i++)
		if (w->ntx[i])
			rte_pktmbuf_free_bulk(w->tx[i], w->ntx[i]);
	dp_frag_destroy(w->frag);
	st_sess_destroy(w->sess);
	st_feat_destroy(w->feat);
	dp_event_ctx_destroy(w->ectx);
	for (unsigned k = 0; k < DP_WM_KINDS; k++)
		st_wm_destroy(w->wm[k]);
	st_wtab_destroy(w->wtab);
	hs_free_scratch(w->scratch);
	free(w->rparams);
	rte_free(w->xbuf);
	rte_free(w->linbuf);
	rte_free(w);
}

int dp_shared_init(struct dp_shared *s, uint32_t n_workers, int socket_id, char *err,
		   size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (n_workers == 0 || n_workers > DP_MAX_WORKERS) {
		snprintf(err, errlen, "%u workers: between 1 and %u are supported", n_workers,
			 DP_MAX_WORKERS);
		return -EINVAL;
	}
	s->n_workers = n_workers;
	for (uint32_t i = 0; i < DP_MAX_WORKERS; i++) {
		for (unsigned k = 0; k < DP_WM_KINDS; k++)
			s->wm[k][i] = ST_WM_MIN;
		s->adv[i] = ST_WM_MIN;
	}
	for (uint32_t a = 0; a < n_workers; a++)
		for (uint32_t b = 0; b < n_workers; b++) {
			if (a == b)
				continue;
			char name[RTE_RING_NAMESIZE];
			snprintf(name, sizeof(name), "xchg_%u_%u", a, b);
			s->xchg[a][b] = rte_ring_create_elem(name, sizeof(struct dp_xmsg),
							     XCHG_RING_SIZE, socket_id,
							     RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!s->xchg[a][b]) {
				snprintf(err, errlen, "exchange ring %s: %s", name,
					 rte_strerror(rte_errno));
				dp_shared_free(s);
				return -ENOMEM;
			}
		}
	return 0;
}

void dp_shared_free(struct dp_shared *s)
{
	for (uint32_t a = 0; a < DP_MAX_WORKERS; a++)
		for (uint32_t b = 0; b < DP_MAX_WORKERS; b++) {
			rte_ring_free(s->xchg[a][b]);
			s->xchg[a][b] = NULL;
		}
}

int64_t dp_shared_advanced(const struct dp_shared *s)
{
	int64_t m = ST_WM_MAX;
	for (uint32_t i = 0; i < s->n_workers; i++) {
		int64_t v = __atomic_load_n(&s->adv[i], __ATOMIC_ACQUIRE);
		if (v < m)
			m = v;
	}
	return m;
}
