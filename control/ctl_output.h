/*
 * ctl_output.h - the control thread's output router: drains the workers'
 * output rings, formats each record as one JSON line and sends it to its
 * sinks: window records and late matches to JSON Lines files (or stdout),
 * alerts and resolved messages to JSON Lines and to Slack. When
 * outputs.{windows,alerts,late}.kafka name a topic, the same JSON line also
 * goes to that Kafka topic, keyed by the record's key (ctl_kafka.h).
 *
 * JSON shapes (one object per line):
 *   {"type":"window","rule":"error","key":"web-1","start":"...Z","end":"...Z","count":7}
 *   {"type":"alert","rule":"error","name":"...","severity":"warning","key":"web-1",
 *    "count":6,"threshold":5,"start":"...","end":"...","event_time":"...",
 *    "samples":["line", ...]}
 *   {"type":"resolved","rule":"error",...,"key":"web-1","count":0,"threshold":5,
 *    "start":"...","end":"..."}
 *   {"type":"late","rule":"error","key":"web-1","event_time":"...","watermark":"...",
 *    "line":"..."}
 *
 * Thread safety: one control thread owns the router.
 */
#ifndef CTL_OUTPUT_H
#define CTL_OUTPUT_H

#include <stdint.h>

#include <rte_ring.h>

#include "ctl_config.h"
#include "rules.h"
#include "wr_counters.h"
#include "wr_record.h"

struct ctl_output;
struct ctl_kafka_producer;

/* Open the configured sinks. Returns 0 and *out, or -errno with the sink named in @err. */
int ctl_output_create(const struct ctl_config *cfg, const struct rules_set *rules,
		      struct wr_counters *cnt, struct ctl_output **out, char *err, size_t errlen);

/* The rings to drain (one per worker); the router does not own them. */
void ctl_output_attach(struct ctl_output *o, struct rte_ring *const *rings, unsigned n);

/*
 * Drain the rings, write sinks, drive Slack. Waits at most @max_wait_us
 * for Slack I/O when there was nothing to do. Returns records handled.
 */
unsigned ctl_output_poll(struct ctl_output *o, int64_t max_wait_us);

/*
 * Live funnel rates: emit every one-minute window of session ends that is
 * complete at @wm_us (window end + gap + lateness <= @wm_us; INT64_MAX: all)
 * as {"type":"funnel","start","end","sessions","steps":[{"step","reached",
 * "rate","step_rate"}],"converted","conversion_rate"} to the windows outputs.
 * Call with dp_shared_advanced() read BEFORE the ctl_output_poll() that
 * drained the rings, so every session of those minutes has been counted.
 */
void ctl_output_funnel_advance(struct ctl_output *o, int64_t wm_us);

/* Format one record as a JSON line into @buf (no newline). Returns length or -ENOSPC. */
int ctl_output_format(const struct ctl_output *o, const struct wr_out_rec *r, char *buf,
		      size_t len);

/*
 * Shutdown: drain what is left, flush files, and give Slack and Kafka until
 * @timeout_us to deliver what is queued. Returns the Slack messages still
 * undelivered; Kafka records still undelivered are logged here (and
 * ctl_output_destroy() gives them up to 10 s more).
 */
uint32_t ctl_output_finish(struct ctl_output *o, int64_t timeout_us);

/*
 * The Kafka producer of the outputs, or NULL when no Kafka output (windows,
 * alerts, late, dead_letter) is configured. It belongs to the router (freed
 * by ctl_output_destroy()); other threads may produce through it (the
 * source thread's dead letters) until then. Thread safety: see ctl_kafka.h.
 */
struct ctl_kafka_producer *ctl_output_kafka(struct ctl_output *o);

void ctl_output_destroy(struct ctl_output *o);

#endif /* CTL_OUTPUT_H */
