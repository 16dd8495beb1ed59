/* wr_util.c - time formatting, durations, JSON escaping and logging. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_common.h"
#include "wr_record.h"

enum wr_log_level wr_log_threshold = WR_LOG_INFO;

int64_t wr_days_from_civil(int y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil, era-based, no tables. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

unsigned wr_days_in_month(int y, unsigned m)
{
	static const unsigned char md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : md[m - 1];
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400) + (*m <= 2);
}

int wr_time_format(int64_t us, char *buf, size_t len)
{
	int64_t secs = us / WR_US_PER_SEC;
	int64_t rem = us % WR_US_PER_SEC;
	if (rem < 0) {
		rem += WR_US_PER_SEC;
		secs--;
	}
	int64_t days = secs / 86400;
	int64_t sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	int ms = (int)(rem / 1000);
	int n;
	if (ms)
		n = snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, mo, d,
			     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), ms);
	else
		n = snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, mo, d,
			     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

bool wr_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

void wr_verr_at(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
		va_list ap)
{
	if (!err || !errlen)
		return;
	int n = snprintf(err, errlen, "%s:%u: ", name, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

int wr_parse_duration(const char *s, int64_t *us)
{
	if (!s || !*s)
		return -EINVAL;
	/*
	 * strtod alone also takes " 5", "+5", "0x10", "1e3", "inf" and "nan";
	 * only plain decimals are durations, so check the shape first.
	 */
	size_t digits = 0, dots = 0, i;
	for (i = 0; (s[i] >= '0' && s[i] <= '9') || s[i] == '.'; i++) {
		if (s[i] == '.')
			dots++;
		else
			digits++;
	}
	if (digits == 0 || dots > 1)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end != s + i || v < 0)
		return -EINVAL;
	while (*end == ' ')
		end++;
	double mult;
	if (!*end || !strcmp(end, "s"))
		mult = 1e6;
	else if (!strcmp(end, "ms"))
		mult = 1e3;
	else if (!strcmp(end, "us"))
		mult = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60e6;
	else if (!strcmp(end, "h"))
		mult = 3600e6;
	else if (!strcmp(end, "d"))
		mult = 86400e6;
	else
		return -EINVAL;
	double r = v * mult;
	if (r > 9.2e18)
		return -EINVAL;
	*us = (int64_t)(r + 0.5);
	return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

size_t wr_fmt_u64(char *dst, uint64_t v)
{
	/* Written from the end, two digits per division (most numbers here,
	 * RESP lengths and latencies, have one to three), with no variable-
	 * length copy (a memcpy call cost as much as the digits). */
	static const char d2[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	size_t n = 1;
	for (uint64_t x = v; x >= 10 && n < 20; n++)
		x /= 10;
	char *p = dst + n;
	while (v >= 100) {
		uint64_t r = v % 100;
		v /= 100;
		p -= 2;
		memcpy(p, d2 + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(p - 2, d2 + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return n;
}

size_t wr_fmt_micros(char *dst, uint64_t micros, bool trim)
{
	size_t n = wr_fmt_u64(dst, micros / 1000000u);
	uint32_t frac = (uint32_t)(micros % 1000000u);
	int digits = 6;
	if (trim) {
		if (frac == 0)
			return n;
		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
	}
	dst[n++] = '.';
	for (int d = digits - 1; d >= 0; d--) {
		dst[n + (size_t)d] = (char)('0' + frac % 10);
		frac /= 10;
	}
	return n + (size_t)digits;
}

int wr_json_escape(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	size_t p = *pos;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		/* A run of bytes that stand for themselves goes in one copy: ids,
		 * names and most text are nothing else. */
		size_t j = i;
		while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\')
			j++;
		if (j > i) {
			if (p + (j - i) >= len)
				return -ENOSPC;
			memcpy(buf + p, s + i, j - i);
			p += j - i;
			i = j;
			continue;
		}
		unsigned char c = u[i];
		char tmp[8];
		const char *out = tmp;
		size_t olen;
		size_t adv = 1;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			olen = 2;
		} else if (c == '\n') {
			out = "\\n";
			olen = 2;
		} else if (c == '\r') {
			out = "\\r";
			olen = 2;
		} else if (c == '\t') {
			out = "\\t";
			olen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			olen = 6;
		} else if (c < 0x80) {
			tmp[0] = (char)c;
			olen = 1;
		} else {
			adv = utf8_seq_len(u + i, n - i);
			if (adv == 0) {
				out = "\xef\xbf\xbd"; /* U+FFFD */
				olen = 3;
				adv = 1;
			} else {
				out = s + i;
				olen = adv;
			}
		}
		if (p + olen >= len)
			return -ENOSPC;
		memcpy(buf + p, out, olen);
		p += olen;
		i += adv;
	}
	if (p >= len)
		return -ENOSPC;
	buf[p] = '\0';
	*pos = p;
	return 0;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void wr_log(enum wr_log_level lvl, const char *module, const char *fmt, ...)
{
	if (lvl > wr_log_threshold)
		return;
	char ts[40];
	wr_time_format(wr_wall_us() / 1000 * 1000, ts, sizeof(ts));
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One fprintf per line so lines from threads do not interleave. */
	fprintf(stderr, "%s weir[%s] %s: %s%s\n", ts, level_names[lvl], module, line,
		(size_t)n >= sizeof(line) ? "..." : "");
}

bool wr_ratelimit_pass(struct wr_ratelimit *rl, uint32_t *suppressed_out)
{
	int64_t now = wr_mono_us();
	*suppressed_out = 0;
	if (now - rl->window_start_us >= (int64_t)rl->interval_ms * WR_US_PER_MS) {
		rl->window_start_us = now;
		rl->printed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		*suppressed_out = rl->suppressed;
		rl->suppressed = 0;
		return true;
	}
	rl->suppressed++;
	return false;
}

long wr_read_num(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	size_t kl = key ? strlen(key) : 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		if (key && (strncmp(line, key, kl) != 0 || line[kl] != ':'))
			continue;
		long n = strtol(key ? line + kl + 1 : line, &end, 10);
		if (end != (key ? line + kl + 1 : line))
			v = n;
		break;
	}
	fclose(f);
	return v;
}

unsigned wr_out_pack(const struct wr_out_rec *r, void *dst)
{
	unsigned char *d = dst;
	size_t pos = WR_OUT_HEAD;
	unsigned char *fx = d + pos;     /* the fixed fields' copy */
	memcpy(d + pos, r, WR_OUT_FIXED);
	pos += WR_OUT_FIXED;
	/* lengths past the arrays are cut to them (the packed copy says so) */
	size_t kl = r->key_len < ST_KEY_MAX ? r->key_len : ST_KEY_MAX;
	unsigned ns = r->n_samples < ST_SAMPLES ? r->n_samples : ST_SAMPLES;
	memcpy(d + pos, r->key, kl);
	pos += kl;
	for (unsigned i = 0; i < ns; i++) {
		size_t sl = r->sample_len[i] < ST_SAMPLE_MAX ? r->sample_len[i] : ST_SAMPLE_MAX;
		memcpy(d + pos, r->samples[i], sl);
		pos += sl;
		uint16_t v = (uint16_t)sl;
		memcpy(fx + offsetof(struct wr_out_rec, sample_len) + i * sizeof(v), &v, sizeof(v));
	}
	uint16_t k16 = (uint16_t)kl;
	uint8_t n8 = (uint8_t)ns;
	memcpy(fx + offsetof(struct wr_out_rec, key_len), &k16, sizeof(k16));
	memcpy(fx + offsetof(struct wr_out_rec, n_samples), &n8, sizeof(n8));
	uint16_t n = (uint16_t)((pos + WR_OUT_CHUNK - 1) / WR_OUT_CHUNK);
	memcpy(d, &n, sizeof(n));
	return n;
}

void wr_out_unpack(const void *src, struct wr_out_rec *r)
{
	const unsigned char *s = src;
	size_t pos = WR_OUT_HEAD;
	memcpy(r, s + pos, WR_OUT_FIXED);
	pos += WR_OUT_FIXED;
	memcpy(r->key, s + pos, r->key_len);
	pos += r->key_len;
	for (unsigned i = 0; i < r->n_samples && i < ST_SAMPLES; i++) {
		memcpy(r->samples[i], s + pos, r->sample_len[i]);
		pos += r->sample_len[i];
	}
}
