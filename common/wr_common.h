/*
 * wr_common.h - small things every room of weir uses: time in microseconds,
 * logging with a rate limit, and compile-time helpers.
 *
 * Thread safety: everything here is safe from any thread.
 */
#ifndef WR_COMMON_H
#define WR_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#define WR_US_PER_MS  1000LL
#define WR_US_PER_SEC 1000000LL
#define WR_US_PER_MIN (60LL * WR_US_PER_SEC)

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define WR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Prefetch hints that the compiler keeps. GCC counts __builtin_prefetch as
 * pure, so a static helper whose only effect is prefetching is found
 * "looping pure" and every call to it is deleted (GCC 12's local-pure-const,
 * unless the helper happened to be inlined before that pass). These are
 * volatile asm on x86 and cannot be dropped; wr_prefetch_w asks for the line
 * in a writable state (PREFETCHW where the CPU has it).
 */
static inline void wr_prefetch(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 0, 3);
#endif
}

static inline void wr_prefetch_w(const void *p)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__PRFCHW__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#elif defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* Wall-clock time, microseconds since the Unix epoch. */
static inline int64_t wr_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * WR_US_PER_SEC + ts.tv_nsec / 1000;
}

/* FNV-1a, 64 bits, of @p[0..@n): a byte-wise hash for short keys and digests. */
static inline uint64_t wr_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

/*
 * CRC-32C (Castagnoli) of @p[0..@n) from @crc, with neither the initial nor
 * the final inversion: the value rte_hash_crc(@p, @n, @crc) gives, which
 * decides the worker that owns a key. DPDK's inline version loads 8-, 4- and
 * 2-byte words through casts of a pointer of any alignment, which is
 * undefined behaviour (UBSan stops on it); here every load is a memcpy(),
 * which compiles to the same single move.
 */
static inline uint32_t wr_crc32c(const void *p, size_t n, uint32_t crc)
{
	const unsigned char *b = p;
#if defined(__SSE4_2__)
	uint64_t c = crc;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		c = _mm_crc32_u64(c, w);
	}
	crc = (uint32_t)c;
	if (n >= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		crc = _mm_crc32_u32(crc, w);
		b += 4;
		n -= 4;
	}
	for (; n > 0; n--, b++)
		crc = _mm_crc32_u8(crc, *b);
#else
	for (; n > 0; n--, b++) {
		crc ^= *b;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (UINT32_C(0x82F63B78) & -(crc & 1u));
	}
#endif
	return crc;
}

/*
 * @a[0..@n) == @b[0..@n), for short keys and ids (names, user ids, event
 * types), where a libc memcmp() call costs more: 16-byte blocks (SSE2) or
 * word compares, the last block or word read overlapping so that it ends at
 * @n (16-, 8-, 4- and 2-byte loads), no byte loop and no read past either
 * side.
 */
static inline bool wr_bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t x4, y4, u4, v4;
	uint16_t x2, y2, u2, v2;

#if defined(__SSE2__)
	if (n >= 16) {
		/* 16 bytes at a time, the last block overlapping so that it
		 * ends at n; differences OR-ed together, one test at the end
		 * (a 40-byte compare: 3 blocks instead of a 5-word loop) */
		__m128i d = _mm_setzero_si128();
		for (size_t i = 0; i + 16 < n; i += 16)
			d = _mm_or_si128(d, _mm_xor_si128(
				_mm_loadu_si128((const __m128i *)(const void *)(a + i)),
				_mm_loadu_si128((const __m128i *)(const void *)(b + i))));
		d = _mm_or_si128(d, _mm_xor_si128(
			_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
			_mm_loadu_si128((const __m128i *)(const void *)(b + n - 16))));
		return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
	}
#endif
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&x4, a, 4); memcpy(&y4, b, 4);
		memcpy(&u4, a + n - 4, 4); memcpy(&v4, b + n - 4, 4);
		return ((x4 ^ y4) | (u4 ^ v4)) == 0;
	}
	if (n >= 2) {
		memcpy(&x2, a, 2); memcpy(&y2, b, 2);
		memcpy(&u2, a + n - 2, 2); memcpy(&v2, b + n - 2, 2);
		return ((x2 ^ y2) | (u2 ^ v2)) == 0;
	}
	return n == 0 || a[0] == b[0];
}

/* Monotonic time in microseconds, for timeouts and rates. */
static inline int64_t wr_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * WR_US_PER_SEC + ts.tv_nsec / 1000;
}

/*
 * Format @us (epoch microseconds, UTC) as RFC 3339: "2026-11-23T21:00:00Z",
 * with ".mmm" milliseconds added only when they are not zero.
 * Returns the length written, or -ENOSPC when @len is too small (buf is then "").
 */
int wr_time_format(int64_t us, char *buf, size_t len);

/*
 * Strict decimal: digits only (no sign, spaces, hex or fraction), no
 * overflow. Returns true and *out, or false (then *out is unchanged).
 */
bool wr_parse_u64(const char *s, uint64_t *out);

/*
 * A number from the text file @path (a /proc or /sys file): from its line
 * "@key: N ..." (e.g. "VmRSS:" in /proc/self/status), or with @key NULL
 * from its start. -1 when the file or the key is not there.
 */
long wr_read_num(const char *path, const char *key);

/* The free 2 MB pages of the kernel's hugetlb pool, 0 when unknown. */
static inline long wr_free_hugepages(void)
{
	long n = wr_read_num("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", NULL);
	return n > 0 ? n : 0;
}

/*
 * Write "@name:@line: " and the printf-style message into @err (@errlen
 * bytes, truncated to fit; nothing when @err is NULL or @errlen 0): the
 * form of every config and rules file error.
 */
void wr_verr_at(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
		va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * Parse a duration such as "250ms", "5s", "1m", "2h", "1d" or a bare number of
 * seconds into microseconds. Returns 0, or -EINVAL for anything else
 * (including negative values and trailing garbage).
 */
int wr_parse_duration(const char *s, int64_t *us);

/*
 * Days since 1970-01-01 for a proleptic Gregorian date (no libc, no TZ).
 * month is 1..12. Valid for years 1970..9999.
 */
int64_t wr_days_from_civil(int year, unsigned month, unsigned day);

/* Days in @month (1..12) of @year, proleptic Gregorian. */
unsigned wr_days_in_month(int year, unsigned month);

/*
 * Append JSON-escaped @s (length @n) to @buf at *@pos, never past @len.
 * Returns 0, or -ENOSPC when it did not fit (*pos then stays where it was).
 * Control characters become \u00XX; invalid UTF-8 bytes become U+FFFD.
 */
int wr_json_escape(char *buf, size_t len, size_t *pos, const char *s, size_t n);

/*
 * Decimal text of @v at @dst, without a NUL: at most 20 bytes. Returns the
 * length. For hot paths that format integers without printf.
 */
size_t wr_fmt_u64(char *dst, uint64_t v);

/*
 * @micros millionths as a decimal at @dst, without a NUL: "<int>.<6 digits>"
 * (at most 27 bytes), or with @trim the trailing zeros of the fraction
 * dropped, and the point too when nothing is left ("123.45", "42").
 * Returns the length.
 */
size_t wr_fmt_micros(char *dst, uint64_t micros, bool trim);

/* Log levels, in order of importance. */
enum wr_log_level { WR_LOG_ERR, WR_LOG_WARN, WR_LOG_INFO, WR_LOG_DEBUG };

/* Minimum level printed; set from config (log.level). */
extern enum wr_log_level wr_log_threshold;

/*
 * Print one log line to stderr: "2026-11-23T21:00:00.123Z weir[warn] module: text".
 * Never call it per packet: use wr_log_ratelimited() or a counter.
 */
void wr_log(enum wr_log_level lvl, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Rate limit for one log call site: at most @burst lines per @interval_us;
 * lines held back are counted and reported with the next line that passes.
 */
struct wr_ratelimit {
	int64_t window_start_us;
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t printed;
	uint32_t suppressed;
};
#define WR_RATELIMIT_INIT(interval_ms_, burst_) { 0, (interval_ms_), (burst_), 0, 0 }

/* Returns true when the caller may log now; thread safety: one rl per thread. */
bool wr_ratelimit_pass(struct wr_ratelimit *rl, uint32_t *suppressed_out);

#define WR_ERR(mod, ...)   wr_log(WR_LOG_ERR, mod, __VA_ARGS__)
#define WR_WARN(mod, ...)  wr_log(WR_LOG_WARN, mod, __VA_ARGS__)
#define WR_INFO(mod, ...)  wr_log(WR_LOG_INFO, mod, __VA_ARGS__)
#define WR_DEBUG(mod, ...) wr_log(WR_LOG_DEBUG, mod, __VA_ARGS__)

#endif /* WR_COMMON_H */
