/*
 * st_watermark.h - event-time watermarks over several inputs.
 *
 * Each input (an rx queue, a Kafka partition) has its own watermark:
 * max event time seen minus the bounded out-of-orderness. The tracker's
 * watermark is the minimum over active inputs. An input that has seen
 * nothing for idle_timeout (wall clock) stops holding the others back, and
 * while it is idle its own watermark advances with the wall clock from where
 * it stopped (max_ts + (now - last_arrival) - ooo), so a quiet stream still
 * closes its windows. An input that has never seen an event is ignored.
 * The result never goes backwards.
 *
 * Details the integrator can rely on:
 *  - an input is idle when now - last_arrival >= idle_us; idle_us == 0
 *    turns idleness off (inputs are never idle);
 *  - when every seen input is idle, the watermark is the largest of their
 *    wall-clock-advanced watermarks (the freshest stream leads);
 *  - arithmetic saturates at ST_WM_MIN / ST_WM_MAX instead of wrapping;
 *  - st_wm_observe() with input >= n_inputs is ignored.
 *
 * Thread safety: not thread-safe; one tracker per worker.
 */
#ifndef ST_WATERMARK_H
#define ST_WATERMARK_H

#include <stdint.h>

#define ST_WM_MIN INT64_MIN
#define ST_WM_MAX INT64_MAX

struct st_wm;

/* Returns 0 and *out, -EINVAL for n_inputs == 0 or negative durations, -ENOMEM. */
int st_wm_create(uint32_t n_inputs, int64_t ooo_us, int64_t idle_us, struct st_wm **out);
void st_wm_destroy(struct st_wm *wm);

/* Record an event of @input at event time @ts_us that arrived at wall time @now_us. */
void st_wm_observe(struct st_wm *wm, uint32_t input, int64_t ts_us, int64_t now_us);

/*
 * Announce @input (e.g. a Kafka partition just assigned): until it sees an
 * event, or stays silent for idle_us from @now_us, it holds the watermark at
 * ST_WM_MIN, so its first events are not late against inputs read earlier.
 * Inputs never announced nor seen are ignored. No-op once seen.
 */
void st_wm_expect(struct st_wm *wm, uint32_t input, int64_t now_us);

/* Current watermark (ST_WM_MIN before any event). Monotonic. */
int64_t st_wm_get(struct st_wm *wm, int64_t now_us);

/* Force the watermark to ST_WM_MAX (end of a bounded input: close everything). */
void st_wm_finish(struct st_wm *wm);

#endif /* ST_WATERMARK_H */
