/*
 * test_util.c - common/wr_util.c and wr_common.h: time formatting,
 * durations, strict decimals, short byte compares, "file:line: " error
 * messages, civil dates, JSON escaping.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_hash_crc.h>

#include "wr_common.h"
#include "wr_record.h"
#include "wr_test.h"

static void test_time_format_whole_second_has_no_fraction(void)
{
	char b[40];
	CU_ASSERT_EQUAL(wr_time_format(1795467600LL * WR_US_PER_SEC, b, sizeof(b)), 20);
	CU_ASSERT_STRING_EQUAL(b, "2026-11-23T21:00:00Z");
	CU_ASSERT_EQUAL(wr_time_format(0, b, sizeof(b)), 20);
	CU_ASSERT_STRING_EQUAL(b, "1970-01-01T00:00:00Z");
}

static void test_time_format_milliseconds_shown_when_not_zero(void)
{
	char b[40];
	CU_ASSERT_EQUAL(wr_time_format(1795467600LL * WR_US_PER_SEC + 123456, b, sizeof(b)), 24);
	CU_ASSERT_STRING_EQUAL(b, "2026-11-23T21:00:00.123Z");
	/* Below one millisecond the fraction is dropped, not rounded up. */
	CU_ASSERT_EQUAL(wr_time_format(999, b, sizeof(b)), 20);
	CU_ASSERT_STRING_EQUAL(b, "1970-01-01T00:00:00Z");
}

static void test_time_format_before_epoch_and_leap_day(void)
{
	char b[40];
	wr_time_format(-1000, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "1969-12-31T23:59:59.999Z");
	wr_time_format(19782LL * 86400 * WR_US_PER_SEC + 3661 * WR_US_PER_SEC, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "2024-02-29T01:01:01Z");
}

static void test_time_format_short_buffer_is_enospc_and_empty(void)
{
	char b[20];
	memset(b, 'x', sizeof(b));
	CU_ASSERT_EQUAL(wr_time_format(0, b, sizeof(b)), -ENOSPC); /* needs 21 with NUL */
	CU_ASSERT_STRING_EQUAL(b, "");
	char c[21];
	CU_ASSERT_EQUAL(wr_time_format(0, c, sizeof(c)), 20);
}

static void test_parse_duration_units(void)
{
	int64_t us = -1;
	CU_ASSERT_EQUAL(wr_parse_duration("250ms", &us), 0);
	CU_ASSERT_EQUAL(us, 250000);
	CU_ASSERT_EQUAL(wr_parse_duration("5s", &us), 0);
	CU_ASSERT_EQUAL(us, 5000000);
	CU_ASSERT_EQUAL(wr_parse_duration("1m", &us), 0);
	CU_ASSERT_EQUAL(us, 60000000);
	CU_ASSERT_EQUAL(wr_parse_duration("2min", &us), 0);
	CU_ASSERT_EQUAL(us, 120000000);
	CU_ASSERT_EQUAL(wr_parse_duration("2h", &us), 0);
	CU_ASSERT_EQUAL(us, 7200000000LL);
	CU_ASSERT_EQUAL(wr_parse_duration("1d", &us), 0);
	CU_ASSERT_EQUAL(us, 86400000000LL);
	CU_ASSERT_EQUAL(wr_parse_duration("17us", &us), 0);
	CU_ASSERT_EQUAL(us, 17);
	CU_ASSERT_EQUAL(wr_parse_duration("1.5s", &us), 0);
	CU_ASSERT_EQUAL(us, 1500000);
	CU_ASSERT_EQUAL(wr_parse_duration("0", &us), 0);
	CU_ASSERT_EQUAL(us, 0);
}

static void test_parse_duration_bare_number_is_seconds(void)
{
	int64_t us = -1;
	CU_ASSERT_EQUAL(wr_parse_duration("30", &us), 0);
	CU_ASSERT_EQUAL(us, 30000000);
}

static void test_parse_duration_rejects_garbage(void)
{
	static const char *const bad[] = {
		"", "s", "-5s", "5x", "5s ", "5ss", "abc", "1.2.3s", " 5s", "+5s", "0x10",
		"1e3", "inf", "nan", "99999999999999d",
	};
	for (size_t i = 0; i < WR_ARRAY_SIZE(bad); i++) {
		int64_t us = 4242;
		CU_ASSERT_EQUAL(wr_parse_duration(bad[i], &us), -EINVAL);
		CU_ASSERT_EQUAL(us, 4242);     /* untouched on error */
		if (wr_parse_duration(bad[i], &us) != -EINVAL)
			fprintf(stderr, "accepted bad duration '%s'\n", bad[i]);
	}
	CU_ASSERT_EQUAL(wr_parse_duration(NULL, &(int64_t){ 0 }), -EINVAL);
}

static void test_parse_u64_strict_decimal(void)
{
	uint64_t v = 7;
	CU_ASSERT_TRUE(wr_parse_u64("0", &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_TRUE(wr_parse_u64("0042", &v));
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_TRUE(wr_parse_u64("18446744073709551615", &v));
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	/* rejected: *out stays as it was */
	const char *bad[] = { "", "18446744073709551616", "99999999999999999999", "+1", "-1",
			      " 1", "1 ", "0x10", "1.5", "1e3", "12a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		CU_ASSERT_FALSE(wr_parse_u64(bad[i], &v));
		CU_ASSERT_EQUAL(v, 7);
	}
	CU_ASSERT_FALSE(wr_parse_u64(NULL, &v));
}

/* Every length 0..100 at odd alignments, equal and with one byte changed at
 * each position (one bit, then the top bit): the overlapping word and
 * 16-byte block compares must see a change anywhere. */
static void test_bytes_eq_every_length_and_position(void)
{
	char a[112], b[112];
	for (size_t n = 0; n <= 100; n++) {
		for (size_t i = 0; i < n; i++)
			a[1 + i] = b[3 + i] = (char)(0x41 + (i * 13 + n) % 50);
		CU_ASSERT_TRUE(wr_bytes_eq(a + 1, b + 3, n));
		for (size_t i = 0; i < n; i++) {
			b[3 + i] ^= 0x01;
			CU_ASSERT_FALSE(wr_bytes_eq(a + 1, b + 3, n));
			b[3 + i] ^= 0x01;
			b[3 + i] ^= (char)0x80;
			CU_ASSERT_FALSE(wr_bytes_eq(a + 1, b + 3, n));
			b[3 + i] ^= (char)0x80;
		}
	}
}

/* CRC-32C from its definition: reflected polynomial 0x82F63B78, a bit at a time. */
static uint32_t crc32c_bitwise(const unsigned char *b, size_t n, uint32_t crc)
{
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1u ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return crc;
}

static void test_crc32c_definition_alignment_and_dpdk(void)
{
	/* the catalogued check value of CRC-32C (initial and final inversion) */
	CU_ASSERT_EQUAL(~wr_crc32c("123456789", 9, ~0u), 0xE3069283u);
	_Alignas(8) unsigned char buf[128];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t n = 0; n <= 100; n++) {
		for (size_t off = 0; off < 8; off++) {
			uint32_t init = (uint32_t)(n * 2654435761u + off);
			CU_ASSERT_EQUAL(wr_crc32c(buf + off, n, init), crc32c_bitwise(buf + off, n, init));
		}
		/* DPDK's, which chose the owning workers before: same owners.
		 * Aligned start only (its own loads are misaligned otherwise). */
		CU_ASSERT_EQUAL(wr_crc32c(buf, n, 0x5e55), rte_hash_crc(buf, (uint32_t)n, 0x5e55));
	}
}

static void verr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void verr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wr_verr_at(err, len, "f.yaml", 12, fmt, ap);
	va_end(ap);
}

static void test_verr_at_names_file_and_line_and_truncates(void)
{
	char err[64];
	verr(err, sizeof(err), "key '%s': bad", "ports");
	CU_ASSERT_STRING_EQUAL(err, "f.yaml:12: key 'ports': bad");
	char small[12];
	verr(small, sizeof(small), "key '%s': bad", "ports");
	CU_ASSERT_STRING_EQUAL(small, "f.yaml:12: ");
	char tiny[5];
	verr(tiny, sizeof(tiny), "x");
	CU_ASSERT_STRING_EQUAL(tiny, "f.ya");
	verr(NULL, 0, "x"); /* no buffer: nothing written, no crash */
}

static void test_days_from_civil_known_dates(void)
{
	CU_ASSERT_EQUAL(wr_days_from_civil(1970, 1, 1), 0);
	CU_ASSERT_EQUAL(wr_days_from_civil(2000, 2, 29), 11016);
	CU_ASSERT_EQUAL(wr_days_from_civil(2000, 3, 1), 11017);
	CU_ASSERT_EQUAL(wr_days_from_civil(2024, 2, 29), 19782);
	CU_ASSERT_EQUAL(wr_days_from_civil(2026, 11, 23), 20780);
	CU_ASSERT_EQUAL(wr_days_from_civil(2100, 3, 1), 47541);   /* 2100 is not leap */
	CU_ASSERT_EQUAL(wr_days_from_civil(9999, 12, 31), 2932896);
}

static void test_days_from_civil_consecutive_days_differ_by_one(void)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t prev = wr_days_from_civil(1969 + 1, 1, 1) - 1;
	unsigned bad = 0;
	for (int y = 1970; y < 2110; y++) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (unsigned m = 1; m <= 12; m++) {
			unsigned n = mdays[m - 1] + (m == 2 && leap);
			for (unsigned d = 1; d <= n; d++) {
				int64_t v = wr_days_from_civil(y, m, d);
				bad += v != prev + 1;
				prev = v;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* Escape @s and return the result (static buffer). */
static const char *esc(const char *s, size_t n)
{
	static char buf[256];
	size_t pos = 0;
	if (wr_json_escape(buf, sizeof(buf), &pos, s, n))
		return "<error>";
	CU_ASSERT_EQUAL(pos, strlen(buf));
	return buf;
}

static void test_json_escape_specials_and_controls(void)
{
	CU_ASSERT_STRING_EQUAL(esc("a\"b\\c", 5), "a\\\"b\\\\c");
	CU_ASSERT_STRING_EQUAL(esc("\n\r\t", 3), "\\n\\r\\t");
	CU_ASSERT_STRING_EQUAL(esc("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f");
	CU_ASSERT_STRING_EQUAL(esc("a\0b", 3), "a\\u0000b");
}

static void test_json_escape_valid_utf8_passes_through(void)
{
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	CU_ASSERT_STRING_EQUAL(esc(s, strlen(s)), s);
}

static void test_json_escape_invalid_utf8_becomes_replacement(void)
{
	/* lone continuation, overlong "/", surrogate, truncated 3-byte, > U+10FFFF, 0xff */
	CU_ASSERT_STRING_EQUAL(esc("\x80", 1), "\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(esc("\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(esc("\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(esc("x\xe2\x82", 3), "x\xef\xbf\xbd\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(esc("\xf4\x90\x80\x80", 4),
			       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(esc("a\xff" "b", 3), "a\xef\xbf\xbd" "b");
	/* A bad lead byte must not swallow the valid ASCII after it. */
	CU_ASSERT_STRING_EQUAL(esc("\xe2(\xa1", 3), "\xef\xbf\xbd(\xef\xbf\xbd");
}

static void test_json_escape_appends_at_pos(void)
{
	char buf[32] = "{\"m\":\"";
	size_t pos = strlen(buf);
	CU_ASSERT_EQUAL(wr_json_escape(buf, sizeof(buf), &pos, "hi\"", 3), 0);
	CU_ASSERT_EQUAL(pos, 10);
	CU_ASSERT_STRING_EQUAL(buf, "{\"m\":\"hi\\\"");
}

static void test_json_escape_full_buffer_is_enospc_and_pos_unchanged(void)
{
	char buf[6];
	size_t pos = 0;
	CU_ASSERT_EQUAL(wr_json_escape(buf, sizeof(buf), &pos, "abcde", 5), 0);
	CU_ASSERT_EQUAL(pos, 5);                 /* 5 chars + NUL fit exactly */
	pos = 0;
	CU_ASSERT_EQUAL(wr_json_escape(buf, sizeof(buf), &pos, "abcdef", 6), -ENOSPC);
	CU_ASSERT_EQUAL(pos, 0);
	pos = 2;
	CU_ASSERT_EQUAL(wr_json_escape(buf, sizeof(buf), &pos, "\n\n", 2), -ENOSPC);
	CU_ASSERT_EQUAL(pos, 2);
}

static void check_fmt(size_t n, const char *buf, const char *want)
{
	CU_ASSERT_EQUAL(n, strlen(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, n), 0);
}

/* wr_fmt_u64(@v) gives what printf gives. */
static bool same_as_printf(uint64_t v)
{
	char ref[32], b[32];
	snprintf(ref, sizeof(ref), "%" PRIu64, v);
	size_t n = wr_fmt_u64(b, v);
	return n == strlen(ref) && memcmp(b, ref, n) == 0;
}

static void test_fmt_u64_and_micros(void)
{
	char b[32];
	check_fmt(wr_fmt_u64(b, 0), b, "0");
	check_fmt(wr_fmt_u64(b, 42), b, "42");
	check_fmt(wr_fmt_u64(b, UINT64_MAX), b, "18446744073709551615");
	/* against printf: every value below 10^5, 10^k - 1, 10^k and 10^k + 1
	 * for every k, and random values of every length */
	uint64_t bad = 0, p10 = 1, rng = 1;
	for (uint64_t v = 0; v < 100000; v++)
		bad += !same_as_printf(v);
	for (int k = 0; k < 20; k++, p10 *= 10)
		bad += !same_as_printf(p10 - 1) + !same_as_printf(p10) + !same_as_printf(p10 + 1);
	for (int i = 0; i < 200000; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		bad += !same_as_printf(rng >> (i % 64));
	}
	CU_ASSERT_EQUAL(bad, 0);
	check_fmt(wr_fmt_micros(b, 500000, false), b, "0.500000");
	check_fmt(wr_fmt_micros(b, 123450000, false), b, "123.450000");
	check_fmt(wr_fmt_micros(b, 7, false), b, "0.000007");
	check_fmt(wr_fmt_micros(b, 123450000, true), b, "123.45");
	check_fmt(wr_fmt_micros(b, 42000000, true), b, "42");
	check_fmt(wr_fmt_micros(b, 1700000000123456, true), b, "1700000000.123456");
	check_fmt(wr_fmt_micros(b, 100, true), b, "0.0001");
	check_fmt(wr_fmt_micros(b, UINT64_MAX, false), b, "18446744073709.551615");
}

static void test_out_record_pack_round_trip(void)
{
	static struct wr_out_rec r, back;
	_Alignas(8) static unsigned char buf[WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK];

	/* a session record: one chunk */
	memset(&r, 0, sizeof(r));
	r.type = WR_REC_SESSION;
	r.start_us = 1795400000123456LL;
	r.end_us = r.start_us + 90 * 60 * 1000000LL;
	r.count = 42;
	r.page_views = 17;
	r.reached = 3;
	r.convert_us = -1;
	r.key_len = 9;
	memcpy(r.key, "user-1234", 9);
	unsigned n = wr_out_pack(&r, buf);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(wr_out_nchunks(buf), 1);
	memset(&back, 0x5a, sizeof(back));
	wr_out_unpack(buf, &back);
	CU_ASSERT_EQUAL(memcmp(&back, &r, offsetof(struct wr_out_rec, key) + 9), 0);

	/* the largest: full key and three full samples, every chunk used */
	memset(&r, 0, sizeof(r));
	r.type = WR_REC_ALERT;
	r.key_len = ST_KEY_MAX;
	memset(r.key, 'k', ST_KEY_MAX);
	r.n_samples = ST_SAMPLES;
	for (unsigned i = 0; i < ST_SAMPLES; i++) {
		r.sample_len[i] = ST_SAMPLE_MAX;
		memset(r.samples[i], 'a' + (int)i, ST_SAMPLE_MAX);
	}
	n = wr_out_pack(&r, buf);
	CU_ASSERT_TRUE(n > 1 && n <= WR_OUT_CHUNKS_MAX);
	CU_ASSERT_EQUAL(wr_out_nchunks(buf), n);
	memset(&back, 0, sizeof(back));
	wr_out_unpack(buf, &back);
	CU_ASSERT_EQUAL(memcmp(&back, &r, sizeof(r)), 0);

	/* lengths past the arrays are cut to them, never read or written past */
	r.key_len = 60000;
	r.n_samples = 200;
	r.sample_len[1] = 65535;
	n = wr_out_pack(&r, buf);
	CU_ASSERT_TRUE(n <= WR_OUT_CHUNKS_MAX);
	wr_out_unpack(buf, &back);
	CU_ASSERT_EQUAL(back.key_len, ST_KEY_MAX);
	CU_ASSERT_EQUAL(back.n_samples, ST_SAMPLES);
	CU_ASSERT_EQUAL(back.sample_len[1], ST_SAMPLE_MAX);
}

static void test_read_num(void)
{
	char path[] = "/tmp/weir-test-read-num-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	static const char text[] = "Name:\tweir\nVmRSS:\t  12345 kB\nVmRSSx: 7\n"
				   "HugetlbPages:\t 4096 kB\nEmpty:\n";
	CU_ASSERT_FATAL(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	CU_ASSERT_EQUAL(wr_read_num(path, "VmRSS"), 12345);
	CU_ASSERT_EQUAL(wr_read_num(path, "HugetlbPages"), 4096);
	CU_ASSERT_EQUAL(wr_read_num(path, "VmRSSx"), 7);
	CU_ASSERT_EQUAL(wr_read_num(path, "VmRS"), -1);      /* a prefix is not the key */
	CU_ASSERT_EQUAL(wr_read_num(path, "Name"), -1);      /* no number */
	CU_ASSERT_EQUAL(wr_read_num(path, "Empty"), -1);
	CU_ASSERT_EQUAL(wr_read_num(path, "Absent"), -1);
	CU_ASSERT_EQUAL(wr_read_num(path, NULL), -1);        /* starts with a word */
	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, "512\n", 4) == 4);
	close(fd);
	CU_ASSERT_EQUAL(wr_read_num(path, NULL), 512);
	unlink(path);
	CU_ASSERT_EQUAL(wr_read_num(path, NULL), -1);
	CU_ASSERT_TRUE(wr_free_hugepages() >= 0);
}

static int reg(void)
{
	WR_SUITE("util",
		 WR_TEST(test_time_format_whole_second_has_no_fraction),
		 WR_TEST(test_time_format_milliseconds_shown_when_not_zero),
		 WR_TEST(test_time_format_before_epoch_and_leap_day),
		 WR_TEST(test_time_format_short_buffer_is_enospc_and_empty),
		 WR_TEST(test_parse_duration_units),
		 WR_TEST(test_parse_duration_bare_number_is_seconds),
		 WR_TEST(test_parse_duration_rejects_garbage),
		 WR_TEST(test_parse_u64_strict_decimal),
		 WR_TEST(test_bytes_eq_every_length_and_position),
		 WR_TEST(test_crc32c_definition_alignment_and_dpdk),
		 WR_TEST(test_verr_at_names_file_and_line_and_truncates),
		 WR_TEST(test_days_from_civil_known_dates),
		 WR_TEST(test_days_from_civil_consecutive_days_differ_by_one),
		 WR_TEST(test_json_escape_specials_and_controls),
		 WR_TEST(test_json_escape_valid_utf8_passes_through),
		 WR_TEST(test_json_escape_invalid_utf8_becomes_replacement),
		 WR_TEST(test_json_escape_appends_at_pos),
		 WR_TEST(test_json_escape_full_buffer_is_enospc_and_pos_unchanged),
		 WR_TEST(test_fmt_u64_and_micros),
		 WR_TEST(test_read_num),
		 WR_TEST(test_out_record_pack_round_trip));
	return 0;
}

WR_TEST_MAIN(reg)
