/* ctl_output.c - format worker records as JSON and route them to sinks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_kafka.h"
#include "ctl_output.h"
#include "ctl_sink.h"
#include "ctl_slack.h"
#include "wr_common.h"

#define DRAIN_BURST 64
#define LINE_MAX_BYTES 8192
#define FLUSH_EVERY_US (100 * WR_US_PER_MS)

/* Live funnel rates: sessions that ended in one minute, and how far they got. */
#define FUNNEL_BUCKETS 1024
#define FUNNEL_WINDOW_US WR_US_PER_MIN
struct funnel_bucket {
	bool used;
	int64_t start_us;
	uint64_t sessions;
	uint64_t reached[CTL_MAX_FUNNEL_STEPS]; /* [k]: sessions that reached step k or beyond */
};

struct ctl_output {
	const struct ctl_config *cfg;
	const struct rules_set *rules;
	struct wr_counters *cnt;
	struct ctl_jsonl *windows, *alerts, *late, *sessions;
	struct ctl_slack *slack;
	struct ctl_kafka_producer *kafka; /* NULL when no Kafka output is set */
	struct rte_ring *rings[64];
	unsigned n_rings;
	int64_t last_flush_us;
	/* chunks dequeued, with room for the rest of a record a burst cut */
	_Alignas(8) unsigned char chunks[(DRAIN_BURST + WR_OUT_CHUNKS_MAX) * WR_OUT_CHUNK];
	struct wr_out_rec rec;                 /* the record being routed, unpacked */
	struct funnel_bucket *funnel;          /* NULL when there are no sessions */
	char line[LINE_MAX_BYTES];
	char slack_msg[LINE_MAX_BYTES];
};

/* Append printf output at *pos; -ENOSPC when it did not fit (never a silent cut). */
static int put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *pos)
		return -ENOSPC;
	*pos += (size_t)n;
	return 0;
}

static int put_str(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (put(buf, len, pos, "\""))
		return -ENOSPC;
	if (wr_json_escape(buf, len, pos, s, n))
		return -ENOSPC;
	return put(buf, len, pos, "\"");
}

static int put_time(char *buf, size_t len, size_t *pos, const char *name, int64_t us)
{
	char t[40];
	wr_time_format(us, t, sizeof(t));
	return put(buf, len, pos, ",\"%s\":\"%s\"", name, t);
}

static const struct rules_rule *rule_of(const struct ctl_output *o, const struct wr_out_rec *r)
{
	return r->rule_idx < o->rules->n ? &o->rules->rules[r->rule_idx] : NULL;
}

/* {"type":"session","user_id":...,"start","end","duration_ms","events","page_views",
 *  "funnel":{"steps":[...],"reached":N,"converted":bool,"time_to_convert_ms":N|null}}
 * or {"type":"late_click","user_id":...,"event_time":...,"watermark":...} */
static int format_session(const struct ctl_output *o, const struct wr_out_rec *r, char *buf,
			  size_t len)
{
	size_t pos = 0;
	int rc = 0;
	const struct ctl_config *cfg = o->cfg;
	rc |= put(buf, len, &pos, "{\"type\":\"%s\",\"user_id\":",
		  r->type == WR_REC_SESSION ? "session" : "late_click");
	rc |= put_str(buf, len, &pos, r->key, r->key_len);
	if (r->type == WR_REC_SESSION_LATE) {
		rc |= put_time(buf, len, &pos, "event_time", r->event_us);
		rc |= put_time(buf, len, &pos, "watermark", r->wm_us);
		rc |= put(buf, len, &pos, "}");
		return rc ? -ENOSPC : (int)pos;
	}
	rc |= put_time(buf, len, &pos, "start", r->start_us);
	rc |= put_time(buf, len, &pos, "end", r->end_us);
	rc |= put(buf, len, &pos, ",\"duration_ms\":%lld,\"events\":%llu,\"page_views\":%u,"
		  "\"funnel\":{\"steps\":[", (long long)((r->end_us - r->start_us) / WR_US_PER_MS),
		  (unsigned long long)r->count, r->page_views);
	for (uint32_t i = 0; i < cfg->n_funnel_steps; i++) {
		if (i)
			rc |= put(buf, len, &pos, ",");
		rc |= put_str(buf, len, &pos, cfg->funnel_steps[i], strlen(cfg->funnel_steps[i]));
	}
	rc |= put(buf, len, &pos, "],\"reached\":%u,\"converted\":%s,\"time_to_convert_ms\":",
		  r->reached, r->converted ? "true" : "false");
	if (r->converted && r->convert_us >= 0)
		rc |= put(buf, len, &pos, "%lld}}", (long long)(r->convert_us / WR_US_PER_MS));
	else
		rc |= put(buf, len, &pos, "null}}");
	return rc ? -ENOSPC : (int)pos;
}

int ctl_output_format(const struct ctl_output *o, const struct wr_out_rec *r, char *buf,
		      size_t len)
{
	static const char *const types[] = { "window", "alert", "resolved", "late" };
	const struct rules_rule *rule = rule_of(o, r);
	const char *rid = rule ? rule->id : "?";
	size_t pos = 0;
	int rc = 0;

	if (r->type == WR_REC_SESSION || r->type == WR_REC_SESSION_LATE)
		return format_session(o, r, buf, len);

	rc |= put(buf, len, &pos, "{\"type\":\"%s\",\"rule\":", types[r->type & 3]);
	rc |= put_str(buf, len, &pos, rid, strlen(rid));
	if (r->type == WR_REC_ALERT && rule) {
		rc |= put(buf, len, &pos, ",\"name\":");
		rc |= put_str(buf, len, &pos, rule->name, strlen(rule->name));
		rc |= put(buf, len, &pos, ",\"severity\":\"%s\"",
			  rules_severity_name(rule->severity));
	}
	rc |= put(buf, len, &pos, ",\"key\":");
	rc |= put_str(buf, len, &pos, r->key, r->key_len);
	switch (r->type) {
	case WR_REC_WINDOW:
		rc |= put_time(buf, len, &pos, "start", r->start_us);
		rc |= put_time(buf, len, &pos, "end", r->end_us);
		rc |= put(buf, len, &pos, ",\"count\":%llu", (unsigned long long)r->count);
		break;
	case WR_REC_ALERT:
	case WR_REC_RESOLVED:
		rc |= put(buf, len, &pos, ",\"count\":%llu,\"threshold\":%llu",
			  (unsigned long long)r->count, (unsigned long long)r->threshold);
		rc |= put_time(buf, len, &pos, "start", r->start_us);
		rc |= put_time(buf, len, &pos, "end", r->end_us);
		if (r->type == WR_REC_ALERT) {
			rc |= put_time(buf, len, &pos, "event_time", r->event_us);
			rc |= put(buf, len, &pos, ",\"samples\":[");
			for (unsigned i = 0; i < r->n_samples && i < ST_SAMPLES; i++) {
				if (i)
					rc |= put(buf, len, &pos, ",");
				rc |= put_str(buf, len, &pos, r->samples[i], r->sample_len[i]);
			}
			rc |= put(buf, len, &pos, "]");
		}
		break;
	case WR_REC_LATE:
		rc |= put_time(buf, len, &pos, "event_time", r->event_us);
		rc |= put_time(buf, len, &pos, "watermark", r->wm_us);
		rc |= put(buf, len, &pos, ",\"line\":");
		rc |= put_str(buf, len, &pos, r->samples[0], r->sample_len[0]);
		break;
	}
	rc |= put(buf, len, &pos, "}");
	return rc ? -ENOSPC : (int)pos;
}

/* A Slack message people read: what, where, how many, and the evidence. */
static int format_slack(const struct ctl_output *o, const struct wr_out_rec *r, char *buf,
			size_t len)
{
	const struct rules_rule *rule = rule_of(o, r);
	char text[4096];
	size_t tp = 0;
	char start[40], end[40];
	int rc = 0;
	wr_time_format(r->start_us, start, sizeof(start));
	wr_time_format(r->end_us, end, sizeof(end));
	const char *name = rule ? rule->name : "?";
	if (r->type == WR_REC_ALERT) {
		rc |= put(text, sizeof(text), &tp,
			  "[%s] %s: %.*s logged %llu matches in the window %s - %s (threshold %llu)",
			  rule ? rules_severity_name(rule->severity) : "?", name,
			  (int)r->key_len, r->key, (unsigned long long)r->count, start, end,
			  (unsigned long long)r->threshold);
		if (r->n_samples) {
			rc |= put(text, sizeof(text), &tp, "\n```");
			for (unsigned i = 0; i < r->n_samples && i < ST_SAMPLES; i++)
				rc |= put(text, sizeof(text), &tp, "\n%.*s", (int)r->sample_len[i],
					  r->samples[i]);
			rc |= put(text, sizeof(text), &tp, "\n```");
		}
	} else {
		rc |= put(text, sizeof(text), &tp,
			  "[resolved] %s: %.*s is back at %llu (threshold %llu) in the window %s - %s",
			  name, (int)r->key_len, r->key, (unsigned long long)r->count,
			  (unsigned long long)r->threshold, start, end);
	}
	if (rc)
		return -ENOSPC;
	size_t pos = 0;
	rc |= put(buf, len, &pos, "{\"text\":");
	rc |= put_str(buf, len, &pos, text, tp);
	rc |= put(buf, len, &pos, "}");
	return rc ? -ENOSPC : (int)pos;
}

static void funnel_count(struct ctl_output *o, const struct wr_out_rec *r)
{
	if (!o->funnel)
		return;
	int64_t start = r->end_us - (((r->end_us % FUNNEL_WINDOW_US) + FUNNEL_WINDOW_US) %
				     FUNNEL_WINDOW_US);
	struct funnel_bucket *b = NULL, *free_b = NULL;
	for (unsigned i = 0; i < FUNNEL_BUCKETS && !b; i++) {
		if (o->funnel[i].used && o->funnel[i].start_us == start)
			b = &o->funnel[i];
		else if (!o->funnel[i].used && !free_b)
			free_b = &o->funnel[i];
	}
	if (!b) {
		if (!free_b) {
			WR_COUNT(o->cnt, sink_errors); /* more minutes open than buckets */
			return;
		}
		b = free_b;
		memset(b, 0, sizeof(*b));
		b->used = true;
		b->start_us = start;
	}
	b->sessions++;
	for (unsigned k = 0; k < r->reached && k < CTL_MAX_FUNNEL_STEPS; k++)
		b->reached[k]++;
	if (r->converted)
		WR_COUNT(o->cnt, sessions_converted);
}

/* {"type":"funnel","start","end","sessions":N,"steps":[{"step","reached","rate",
 *  "step_rate"}...],"converted":N,"conversion_rate":x} */
static int format_funnel(const struct ctl_output *o, const struct funnel_bucket *b, char *buf,
			 size_t len)
{
	const struct ctl_config *cfg = o->cfg;
	size_t pos = 0;
	int rc = 0;
	rc |= put(buf, len, &pos, "{\"type\":\"funnel\"");
	rc |= put_time(buf, len, &pos, "start", b->start_us);
	rc |= put_time(buf, len, &pos, "end", b->start_us + FUNNEL_WINDOW_US);
	rc |= put(buf, len, &pos, ",\"sessions\":%llu,\"steps\":[",
		  (unsigned long long)b->sessions);
	uint64_t prev = b->sessions;
	for (uint32_t k = 0; k < cfg->n_funnel_steps; k++) {
		rc |= put(buf, len, &pos, "%s{\"step\":", k ? "," : "");
		rc |= put_str(buf, len, &pos, cfg->funnel_steps[k], strlen(cfg->funnel_steps[k]));
		rc |= put(buf, len, &pos, ",\"reached\":%llu,\"rate\":%.4f,\"step_rate\":%.4f}",
			  (unsigned long long)b->reached[k],
			  b->sessions ? (double)b->reached[k] / (double)b->sessions : 0.0,
			  prev ? (double)b->reached[k] / (double)prev : 0.0);
		prev = b->reached[k];
	}
	uint64_t conv = cfg->n_funnel_steps ? b->reached[cfg->n_funnel_steps - 1] : 0;
	rc |= put(buf, len, &pos, "],\"converted\":%llu,\"conversion_rate\":%.4f}",
		  (unsigned long long)conv,
		  b->sessions ? (double)conv / (double)b->sessions : 0.0);
	return rc ? -ENOSPC : (int)pos;
}

void ctl_output_funnel_advance(struct ctl_output *o, int64_t wm_us)
{
	if (!o->funnel)
		return;
	const int64_t hold = o->cfg->session_gap_us + o->cfg->lateness_us + FUNNEL_WINDOW_US;
	for (;;) {
		/* Oldest complete minute first: records leave in time order. */
		struct funnel_bucket *b = NULL;
		for (unsigned i = 0; i < FUNNEL_BUCKETS; i++) {
			struct funnel_bucket *c = &o->funnel[i];
			if (c->used && (wm_us == INT64_MAX || c->start_us + hold <= wm_us) &&
			    (!b || c->start_us < b->start_us))
				b = c;
		}
		if (!b)
			return;
		int n = format_funnel(o, b, o->line, sizeof(o->line));
		if (n < 0) {
			WR_COUNT(o->cnt, sink_errors);
		} else {
			if (o->windows)
				ctl_jsonl_write(o->windows, o->line, (size_t)n);
			if (o->kafka && o->cfg->windows_kafka)
				ctl_kafka_produce(o->kafka, o->cfg->windows_kafka, "funnel", 6,
						  o->line, (size_t)n, NULL);
		}
		WR_COUNT(o->cnt, funnel_windows);
		b->used = false;
	}
}

static void route(struct ctl_output *o, const struct wr_out_rec *r)
{
	struct ctl_jsonl *sink = NULL;
	const char *topic = NULL;
	switch (r->type) {
	case WR_REC_WINDOW:
		sink = o->windows;
		topic = o->cfg->windows_kafka;
		break;
	case WR_REC_ALERT:
	case WR_REC_RESOLVED:
		sink = o->alerts;
		topic = o->cfg->alerts_kafka;
		break;
	case WR_REC_LATE:
	case WR_REC_SESSION_LATE:
		sink = o->late;
		topic = o->cfg->late_kafka;
		break;
	case WR_REC_SESSION:
		sink = o->sessions;
		topic = o->cfg->sessions_kafka;
		funnel_count(o, r);
		break;
	}
	if (!o->kafka)
		topic = NULL;
	if (sink || topic) {
		int n = ctl_output_format(o, r, o->line, sizeof(o->line));
		if (n < 0) {
			WR_COUNT(o->cnt, sink_errors);
		} else {
			if (sink)
				ctl_jsonl_write(sink, o->line, (size_t)n);
			/* Keyed by the record's key, so one key's records stay in order on
			 * one partition. A full producer queue blocks here (backpressure);
			 * errors are counted inside. */
			if (topic)
				ctl_kafka_produce(o->kafka, topic, r->key, r->key_len, o->line,
						  (size_t)n, NULL);
		}
	}
	if (o->slack && (r->type == WR_REC_ALERT || r->type == WR_REC_RESOLVED)) {
		int n = format_slack(o, r, o->slack_msg, sizeof(o->slack_msg));
		if (n < 0)
			WR_COUNT(o->cnt, sink_errors);
		else
			ctl_slack_post(o->slack, o->slack_msg); /* full queue: counted inside */
	}
}

static void flush_files(struct ctl_output *o)
{
	ctl_jsonl_flush(o->windows);
	ctl_jsonl_flush(o->alerts);
	ctl_jsonl_flush(o->late);
	ctl_jsonl_flush(o->sessions);
}

/* Route what the rings hold; returns the records routed. A record's chunks
 * were enqueued in one bulk, so when a burst ends inside a record the rest
 * of it is already in the ring. */
static unsigned drain(struct ctl_output *o)
{
	unsigned total = 0;
	for (unsigned i = 0; i < o->n_rings; i++) {
		unsigned n;
		do {
			n = rte_ring_sc_dequeue_burst_elem(o->rings[i], o->chunks, WR_OUT_CHUNK,
							   DRAIN_BURST, NULL);
			unsigned got = n;
			for (unsigned k = 0; k < got;) {
				const unsigned char *c = o->chunks + (size_t)k * WR_OUT_CHUNK;
				unsigned nc = wr_out_nchunks(c);
				if (nc == 0 || nc > WR_OUT_CHUNKS_MAX)
					break;          /* cannot happen: the workers pack */
				if (k + nc > got) {
					if (rte_ring_sc_dequeue_bulk_elem(o->rings[i],
									  o->chunks + (size_t)got * WR_OUT_CHUNK,
									  WR_OUT_CHUNK, k + nc - got,
									  NULL) == 0)
						break;  /* cannot happen either */
					got = k + nc;
				}
				wr_out_unpack(c, &o->rec);
				route(o, &o->rec);
				total++;
				k += nc;
			}
		} while (n == DRAIN_BURST);
	}
	return total;
}

unsigned ctl_output_poll(struct ctl_output *o, int64_t max_wait_us)
{
	unsigned n = drain(o);
	int64_t now = wr_mono_us();
	if (now - o->last_flush_us >= FLUSH_EVERY_US) {
		flush_files(o);
		o->last_flush_us = now;
	}
	ctl_kafka_poll(o->kafka);
	if (o->slack) {
		ctl_slack_poll(o->slack, n ? 0 : max_wait_us);
	} else if (!n && max_wait_us > 0) {
		/* Nothing to do: nap instead of spinning on the main lcore (records
		 * wait at most a millisecond in their ring; the rings hold 32 K
		 * chunks: as many session or window records). */
		int64_t nap = max_wait_us < WR_US_PER_MS ? max_wait_us : WR_US_PER_MS;
		struct timespec ts = { 0, (long)(nap * 1000) };
		nanosleep(&ts, NULL);
	}
	return n;
}

uint32_t ctl_output_finish(struct ctl_output *o, int64_t timeout_us)
{
	drain(o);
	ctl_output_funnel_advance(o, INT64_MAX); /* the workers have emitted everything */
	flush_files(o);
	int64_t deadline = wr_mono_us() + timeout_us;
	int kafka_left = o->kafka ? ctl_kafka_flush(o->kafka, 0) : 0;
	/* Slack and Kafka share the deadline, served in turns of at most 50 ms. */
	while ((kafka_left > 0 || (o->slack && ctl_slack_pending(o->slack))) &&
	       wr_mono_us() < deadline) {
		if (o->slack && ctl_slack_pending(o->slack))
			ctl_slack_poll(o->slack, kafka_left > 0 ? 0 : 50 * WR_US_PER_MS);
		if (kafka_left > 0) {
			int64_t left_us = deadline - wr_mono_us();
			int ms = left_us < 50 * WR_US_PER_MS ? (int)(left_us / WR_US_PER_MS) : 50;
			kafka_left = ctl_kafka_flush(o->kafka, ms < 0 ? 0 : ms);
		}
	}
	if (kafka_left > 0)
		WR_WARN("output", "%d Kafka record(s) not yet delivered at the shutdown deadline "
			"(the producer keeps trying for up to 10 s more)", kafka_left);
	return o->slack ? ctl_slack_pending(o->slack) : 0;
}

struct ctl_kafka_producer *ctl_output_kafka(struct ctl_output *o)
{
	return o ? o->kafka : NULL;
}

static int open_sink(const char *path, struct wr_counters *cnt, struct ctl_jsonl **out,
		     const char *what, char *err, size_t errlen)
{
	*out = NULL;
	if (!path)
		return 0;
	char e[256];
	int rc = ctl_jsonl_open(path, cnt, out, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "%s output: %s", what, e);
	return rc;
}

int ctl_output_create(const struct ctl_config *cfg, const struct rules_set *rules,
		      struct wr_counters *cnt, struct ctl_output **out, char *err, size_t errlen)
{
	struct ctl_output *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "output router: out of memory");
		return -ENOMEM;
	}
	o->cfg = cfg;
	o->rules = rules;
	o->cnt = cnt;
	int rc = open_sink(cfg->windows_jsonl, cnt, &o->windows, "windows", err, errlen);
	if (!rc)
		rc = open_sink(cfg->alerts_jsonl, cnt, &o->alerts, "alerts", err, errlen);
	if (!rc)
		rc = open_sink(cfg->late_jsonl, cnt, &o->late, "late", err, errlen);
	if (!rc)
		rc = open_sink(cfg->sessions_jsonl, cnt, &o->sessions, "sessions", err, errlen);
	if (!rc && cfg->slack_webhook_url) {
		struct ctl_slack_opts so = {
			.webhook_url = cfg->slack_webhook_url,
			.queue_len = cfg->slack_queue_len,
			.timeout_us = cfg->slack_timeout_us,
			.max_retries = cfg->slack_max_retries,
		};
		rc = ctl_slack_create(&so, cnt, &o->slack, err, errlen);
	}
	/* One producer for every Kafka output, the dead-letter topic included. */
	if (!rc && (cfg->windows_kafka || cfg->alerts_kafka || cfg->late_kafka || cfg->sessions_kafka ||
		    cfg->dead_letter_kafka || cfg->decisions_kafka))
		rc = ctl_kafka_producer_create(cfg, cnt, &o->kafka, err, errlen);
	if (rc) {
		ctl_output_destroy(o);
		return rc;
	}
	bool clicks = cfg->n_click_ports > 0;
	for (uint32_t i = 0; i < cfg->n_kafka_topics; i++)
		clicks |= cfg->kafka_topics[i].format == CTL_KAFKA_FMT_CLICK;
	if (clicks && cfg->n_funnel_steps) {
		o->funnel = calloc(FUNNEL_BUCKETS, sizeof(*o->funnel));
		if (!o->funnel) {
			snprintf(err, errlen, "funnel rates: out of memory");
			ctl_output_destroy(o);
			return -ENOMEM;
		}
	}
	o->last_flush_us = wr_mono_us();
	*out = o;
	return 0;
}

void ctl_output_attach(struct ctl_output *o, struct rte_ring *const *rings, unsigned n)
{
	if (n > WR_ARRAY_SIZE(o->rings))
		n = WR_ARRAY_SIZE(o->rings);
	memcpy(o->rings, rings, n * sizeof(*rings));
	o->n_rings = n;
}

void ctl_output_destroy(struct ctl_output *o)
{
	if (!o)
		return;
	ctl_kafka_producer_destroy(o->kafka);
	ctl_slack_destroy(o->slack);
	ctl_jsonl_close(o->windows);
	ctl_jsonl_close(o->alerts);
	ctl_jsonl_close(o->late);
	ctl_jsonl_close(o->sessions);
	free(o->funnel);
	free(o);
}
