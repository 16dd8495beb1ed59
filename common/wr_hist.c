/*
 * wr_hist.c - log-linear histogram. See wr_hist.h.
 */
#include <math.h>
#include <string.h>

#include "wr_hist.h"

uint32_t wr_hist_bucket(uint64_t v)
{
	if (v < 2 * WR_HIST_SUB)
		return (uint32_t)v;
	unsigned k = 63u - (unsigned)__builtin_clzll(v);        /* 2^k <= v, k >= 5 */
	unsigned sub = (unsigned)(v >> (k - WR_HIST_SUB_BITS)) & (WR_HIST_SUB - 1);
	return 2 * WR_HIST_SUB + (k - WR_HIST_SUB_BITS - 1) * WR_HIST_SUB + sub;
}

uint64_t wr_hist_bucket_max(uint32_t i)
{
	if (i < 2 * WR_HIST_SUB)
		return i;
	unsigned k = (i - 2 * WR_HIST_SUB) / WR_HIST_SUB + WR_HIST_SUB_BITS + 1;
	unsigned sub = (i - 2 * WR_HIST_SUB) % WR_HIST_SUB;
	uint64_t lo = (UINT64_C(1) << k) + ((uint64_t)sub << (k - WR_HIST_SUB_BITS));
	return lo + (UINT64_C(1) << (k - WR_HIST_SUB_BITS)) - 1;
}

void wr_hist_reset(struct wr_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void wr_hist_add(struct wr_hist *h, uint64_t v)
{
	uint32_t i = wr_hist_bucket(v);
	/* Relaxed atomic stores: a concurrent reader never sees a torn value. */
	__atomic_store_n(&h->b[i], h->b[i] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->sum, h->sum + v, __ATOMIC_RELAXED);
	if (v > h->max)
		__atomic_store_n(&h->max, v, __ATOMIC_RELAXED);
	__atomic_store_n(&h->count, h->count + 1, __ATOMIC_RELEASE);
}

uint64_t wr_hist_quantile(const struct wr_hist *h, double q)
{
	uint64_t n = __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
	if (n == 0)
		return 0;
	if (!(q > 0))
		q = 0;
	if (q > 1)
		q = 1;
	uint64_t rank = (uint64_t)ceil(q * (double)n);
	if (rank == 0)
		rank = 1;
	uint64_t max = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
	uint64_t seen = 0;
	for (uint32_t i = 0; i < WR_HIST_BUCKETS; i++) {
		seen += __atomic_load_n(&h->b[i], __ATOMIC_RELAXED);
		if (seen >= rank) {
			uint64_t v = wr_hist_bucket_max(i);
			return v < max ? v : max;
		}
	}
	return max; /* the writer added values after count was read */
}

void wr_hist_merge(struct wr_hist *dst, const struct wr_hist *src)
{
	for (uint32_t i = 0; i < WR_HIST_BUCKETS; i++)
		dst->b[i] += __atomic_load_n(&src->b[i], __ATOMIC_RELAXED);
	dst->sum += __atomic_load_n(&src->sum, __ATOMIC_RELAXED);
	uint64_t m = __atomic_load_n(&src->max, __ATOMIC_RELAXED);
	if (m > dst->max)
		dst->max = m;
	dst->count += __atomic_load_n(&src->count, __ATOMIC_ACQUIRE);
}
