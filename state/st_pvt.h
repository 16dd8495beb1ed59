/*
 * st_pvt.h - internals shared by the state tables (windows, sessions,
 * features): the key hash. Not part of any public header.
 */
#ifndef ST_PVT_H
#define ST_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* a + b, clamped to the int64 range instead of wrapping. */
static inline int64_t st_sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

#define ST_HUGE_SZ ((size_t)2 << 20)   /* a huge page; arrays of this size or more may use them */

/* The pages a table array is mapped with (st_big_alloc). */
enum st_pages {
	ST_PAGES_SMALL,      /* 4 KiB pages: rarely used arrays, so their first use does
			      * not make a whole 2 MB page resident */
	ST_PAGES_THP,        /* a transparent huge page hint (only a hint) */
	ST_PAGES_RESERVED,   /* 2 MB pages reserved from the kernel's hugetlb pool for
			      * the whole array at create, else as ST_PAGES_THP */
};

/* A table's reserved-page bytes (st_big_alloc): asked for, and had. */
struct st_mem_res {
	size_t want, got;
};

/*
 * Zeroed, page-aligned memory for a table array, taken at create; NULL when
 * it cannot be mapped (or @bytes is 0). Arrays of 2 MB or more are mapped
 * in whole 2 MB units. With ST_PAGES_RESERVED such an array adds its mapped
 * bytes to @res->want, and to @res->got when it is on reserved 2 MB pages.
 * See st_mem.c.
 */
void *st_big_alloc(size_t bytes, enum st_pages pages, struct st_mem_res *res);

/* Free what st_big_alloc() returned for @bytes; NULL is a no-op. */
void st_big_free(void *p, size_t bytes);

/* The bytes st_big_alloc() maps for an array of @bytes. */
size_t st_big_len(size_t bytes);

/* MurmurHash3's 64-bit finaliser: spreads every input bit over the low bits. */
static inline uint64_t st_fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * The @n (1 .. 7) bytes at @p as a little-endian word, zero-padded: what
 * memcpy of @n bytes into a zeroed uint64_t gives on a little-endian
 * machine, but as two overlapping loads (a variable-length memcpy is a libc
 * call, about 20 instructions for a short key).
 */
static inline uint64_t st_load_tail(const char *p, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lo | (uint64_t)hi << (8 * (n - 4));  /* overlap: equal bytes */
	}
	if (n >= 2) {
		uint16_t lo, hi;
		memcpy(&lo, p, 2);
		memcpy(&hi, p + n - 2, 2);
		return lo | (uint64_t)hi << (8 * (n - 2));
	}
	return (uint8_t)p[0];
#else
	uint64_t w = 0;
	memcpy(&w, p, n);
	return w;
#endif
}

/*
 * Hash @len bytes of @p with a 32-bit @seed (e.g. a rule index): 8-byte words
 * folded with multiply + rotate, the tail zero-padded, then st_fmix64.
 * Cost: about 1 ns per 8 bytes plus the finaliser; no table, no allocation.
 */
static inline uint64_t st_hash_bytes(uint32_t seed, const char *p, size_t len)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xbf58476d1ce4e5b9ULL;
	uint64_t h = ((uint64_t)seed << 32 | (uint64_t)len) * k1;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w * k2;
		h = ((h << 31) | (h >> 33)) * k1;
	}
	if (i < len) {
		uint64_t w = st_load_tail(p + i, len - i);
		h ^= w * k2;
		h = ((h << 31) | (h >> 33)) * k1;
	}
	return st_fmix64(h);
}

#endif /* ST_PVT_H */
