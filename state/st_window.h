/*
 * st_window.h - per (rule, key) tumbling event-time window counters with the
 * alert state machine on top.
 *
 * Windows are aligned to the epoch: [floor(ts / len) * len, + len).
 * A match is counted into its window unless the window is already past
 * (window end + allowed lateness <= watermark): then it is late and goes to
 * the late callback. A window is emitted once, when the watermark passes
 * end + allowed lateness (so late-but-allowed matches are in the count).
 *
 * Alerts: when a match makes a window's count exceed the rule threshold
 * (count == threshold + 1), an alert fires at once for that (rule, key,
 * window), unless the key's previous alert fired less than cooldown ago in
 * event time (then alerts_cooldown is counted). A key that has fired is
 * "firing"; when a later window of that key closes with count <= threshold,
 * a resolved record is emitted and the key is no longer firing. A window with
 * no matches at all counts as a closed window at 0 for this purpose once the
 * watermark passes the end of the window after the last one that had matches.
 *
 * The table is sized at creation: capacity keys and a pool of slot_capacity
 * open windows shared by all keys. A match that needs a new key when all
 * keys are in use, or a new window when the pool is empty, is dropped and
 * counts window_table_full. Keys with no open window and not firing are
 * recycled; a closed window's slot goes back to the pool at once.
 *
 * Details the integrator can rely on (added with the implementation):
 *  - A key may hold any number of open windows; only the pool bounds them.
 *    A key needs up to 1 + ceil((ooo + lateness) / window) slots when
 *    st_wtab_advance() runs every burst (61 for ooo = 1 h, 1 min windows).
 *    Lookup checks the key's newest window first, then walks its windows
 *    from the oldest: O(1) for in-order input, O(open windows of the key)
 *    for a match deep in a backlog.
 *  - Late test uses max(@wm_us, highest watermark given to advance), so a
 *    caller passing a stale watermark cannot reopen an emitted window; the
 *    late record carries that effective watermark.
 *  - Cooldown is symmetric in event time: a crossing is suppressed when
 *    |crossing time - previous fire time| < cooldown_us (an out-of-order
 *    crossing in an older window is judged like a newer one);
 *    cooldown_us == 0 never suppresses.
 *  - A key that fired keeps its entry (and so its cooldown memory) after it
 *    resolves until the watermark makes a suppressed crossing impossible
 *    (last fire + cooldown + window + lateness).
 *  - RESOLVE records: start/end/count are those of the closing window (count
 *    0 for an empty one), event_us = end_us, n_samples = 0.
 *  - FIRE samples are in arrival order, oldest first, the crossing line last.
 *  - emit may be NULL and any callback in it may be NULL (record dropped).
 *  - Memory (x86-64, sizeof): per key 200 B entry + 24 B timer heap item +
 *    16-32 B index (12 B per index slot, load 0.375-0.75); per pool slot
 *    832 B: 32 B window, 776 B sample ring (ST_SAMPLES * ST_SAMPLE_MAX),
 *    24 B heap item. Default pool (2 slots per key): about 1.9 KB per key.
 *    All reserved at create; ring pages are committed as slots are first
 *    used.
 *
 * Thread safety: not thread-safe; one table per worker lcore.
 */
#ifndef ST_WINDOW_H
#define ST_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_counters.h"

#define ST_KEY_MAX 128           /* longer keys are truncated */
#define ST_SAMPLES 3
#define ST_SAMPLE_MAX 256        /* longer sample lines are truncated */

struct st_rule_params {
	int64_t window_us;
	uint64_t threshold;
	int64_t cooldown_us;
};

struct st_window_rec {
	uint32_t rule_idx;
	const char *key; uint32_t key_len;
	int64_t start_us, end_us;
	uint64_t count;
};

enum st_alert_kind { ST_ALERT_FIRE, ST_ALERT_RESOLVE };

struct st_alert_rec {
	enum st_alert_kind kind;
	uint32_t rule_idx;
	const char *key; uint32_t key_len;
	int64_t start_us, end_us;        /* the window that fired / resolved */
	uint64_t count, threshold;
	int64_t event_us;                /* FIRE: event time of the crossing match */
	uint32_t n_samples;              /* FIRE: up to ST_SAMPLES lines of that window */
	const char *samples[ST_SAMPLES];
	uint32_t sample_len[ST_SAMPLES];
};

struct st_late_rec {
	uint32_t rule_idx;
	const char *key; uint32_t key_len;
	int64_t event_us, watermark_us;
	const char *line; uint32_t line_len;
};

/* Where results go. Pointers in records are valid only during the call. */
struct st_emit {
	void (*window)(void *ctx, const struct st_window_rec *r);
	void (*alert)(void *ctx, const struct st_alert_rec *r);
	void (*late)(void *ctx, const struct st_late_rec *r);
	void *ctx;
};

struct st_wtab_params {
	uint32_t capacity;               /* max (rule, key) entries, 1 .. 2^28 */
	int64_t lateness_us;             /* allowed lateness, >= 0 */
	/*
	 * Open windows shared by all entries, 0 .. 2^29; 0 = 2 * capacity.
	 * Size it as keys * (1 + (ooo + lateness) / window) for input that is
	 * ooo out of order (event_time.window_slots).
	 */
	uint32_t slot_capacity;
};

struct st_wtab;

/* Returns 0 and *out, -EINVAL on bad params, -ENOMEM. All memory is taken here. */
int st_wtab_create(const struct st_wtab_params *p, struct wr_counters *cnt, struct st_wtab **out);
void st_wtab_destroy(struct st_wtab *t);

/*
 * Rules in force: @rules[i] are the params of rule index i. The array must
 * outlive its use; call again after a rules reload.
 */
void st_wtab_set_rules(struct st_wtab *t, const struct st_rule_params *rules, uint32_t n);

/*
 * Count one match of rule @rule_idx for @key at event time @ts_us, with the
 * current watermark @wm_us. @line is the matching message (kept as a sample,
 * truncated). May call emit->alert (threshold crossing) or emit->late.
 * Returns 0, 1 when late, -ENOSPC when the table is full, -EINVAL for a bad
 * rule index.
 * Cost: one hash lookup, no allocation.
 */
int st_wtab_add(struct st_wtab *t, uint32_t rule_idx, const char *key, size_t key_len,
		int64_t ts_us, int64_t wm_us, const char *line, size_t line_len,
		const struct st_emit *emit);

/*
 * Close every window with end + lateness <= @wm_us (in order of end time),
 * emitting window records, then resolved records where due.
 * Cost: O(closed windows * log n), never a scan of the whole table.
 * Returns the number of windows closed.
 */
uint32_t st_wtab_advance(struct st_wtab *t, int64_t wm_us, const struct st_emit *emit);

/* Keys in use (for the fill-level gauge). */
uint32_t st_wtab_used(const struct st_wtab *t);

/* Window slots in use, i.e. open windows of all keys (fill-level gauge of the pool). */
uint32_t st_wtab_slots_used(const struct st_wtab *t);

/*
 * Check the table's internal invariants (hash index, entry free list, each
 * entry's chain of open windows, the slot pool: free + in use ==
 * slot_capacity, timer heap and its back-pointers).
 * For tests; O(capacity). Returns 0, or -EFAULT naming nothing: a failure is
 * a bug in st_window.c.
 */
int st_wtab_verify(const struct st_wtab *t);

#endif /* ST_WINDOW_H */
