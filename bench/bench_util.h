/*
 * bench_util.h - the clock and random numbers every benchmark program uses.
 * Header-only and libc-only, so fraud_load stays a bare binary that runs in
 * a network namespace. One program = one translation unit here, so the
 * generator state is per program; each seeds bench_rng as it needs.
 */
#ifndef WEIR_BENCH_UTIL_H
#define WEIR_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64 state; any non-zero value is a seed. */
static uint64_t bench_rng = 88172645463325252ull;

static inline uint64_t bench_rand(void)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return bench_rng;
}

/* Uniform in [0, 1), 53 random bits. */
static inline double bench_uniform01(void)
{
	return (double)(bench_rand() >> 11) / 9007199254740992.0;
}

#endif
