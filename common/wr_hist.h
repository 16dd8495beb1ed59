/*
 * wr_hist.h - a fixed-size latency histogram (log-linear buckets, like
 * HdrHistogram with 4 significant bits).
 *
 * Values are unsigned 64-bit (weir records microseconds or nanoseconds).
 * Values below 32 have a bucket each; above, every power of two [2^k,
 * 2^(k+1)) is split into 16 equal sub-buckets, so a bucket's width is at
 * most 1/16 of its lower bound: a percentile read back is the bucket's upper
 * bound, at most 6.25 % above the true value (never below it). The exact
 * maximum and the sum are kept beside the buckets.
 *
 * Thread safety: one writer (wr_hist_add) and any number of readers.
 * Readers see each bucket whole (64-bit relaxed loads) but not a consistent
 * snapshot of all of them: a percentile read while the writer runs may be
 * off by the few values added meanwhile. That is what a stats line needs.
 */
#ifndef WR_HIST_H
#define WR_HIST_H

#include <stdint.h>

#define WR_HIST_SUB_BITS 4
#define WR_HIST_SUB (1u << WR_HIST_SUB_BITS)
/* 32 direct buckets + 16 sub-buckets for each power of two from 2^5 to 2^63. */
#define WR_HIST_BUCKETS (2 * WR_HIST_SUB + (64 - WR_HIST_SUB_BITS - 1) * WR_HIST_SUB)

struct wr_hist {
	uint64_t count, sum, max;
	uint64_t b[WR_HIST_BUCKETS];
};

/* Zero @h (also how a histogram starts). */
void wr_hist_reset(struct wr_hist *h);

/* Record one value. O(1), no allocation. */
void wr_hist_add(struct wr_hist *h, uint64_t v);

/*
 * The value at quantile @q (0 < q <= 1; e.g. 0.99): the upper bound of the
 * bucket holding the ceil(q * count)-th smallest value, clamped to the exact
 * max. 0 when empty.
 */
uint64_t wr_hist_quantile(const struct wr_hist *h, double q);

/* Add every value of @src into @dst (aggregating per-thread histograms). */
void wr_hist_merge(struct wr_hist *dst, const struct wr_hist *src);

/* Bucket index of @v and the largest value in bucket @i (for tests). */
uint32_t wr_hist_bucket(uint64_t v);
uint64_t wr_hist_bucket_max(uint32_t i);

#endif /* WR_HIST_H */
