/*
 * dp_event.c - clickstream and payment JSON events on top of json-c.
 *
 * Flow per event: length check, trailing-byte trim, one json_tokener_parse_ex()
 * with the ctx's reused tokener, key look-ups, validation, copy of the kept
 * strings into the ctx scratch, json_object_put() of the tree. The tree is
 * freed before returning so that a ctx holds no json-c memory between events.
 *
 * Why json-c and not jansson: measured, see dp_event.h (json-c ~1.7x faster
 * on a 120-byte event). Its laxness (NaN literals, saturating integers,
 * last-wins duplicate keys, raw control bytes in strings) is checked here
 * for the fields we keep; extra fields are not inspected.
 */
#include "dp_event.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* Sum of the kept-string bounds of one event plus NULs, rounded up: the
 * click event needs 64 + 64 + 2048 + 64 + 4 bytes. */
#define DP_EVENT_SCRATCH 4096u

/* 9999-12-31T23:59:59.999Z in epoch ms: the last accepted instant. */
#define DP_EVENT_MAX_MS INT64_C(253402300799999)

struct dp_event_ctx {
	struct json_tokener *tok;
	size_t used;                 /* bytes of scratch taken by this event */
	char scratch[DP_EVENT_SCRATCH];
};

static const char *const dp_event_errstr[DP_EVENT_ERR_MAX] = {
	[DP_EVENT_OK] = "success",
	[DP_EVENT_EJSON] = "invalid JSON",
	[DP_EVENT_EMISSING] = "missing field",
	[DP_EVENT_ETYPE] = "wrong type",
	[DP_EVENT_ETIMESTAMP] = "bad timestamp",
	[DP_EVENT_EAMOUNT] = "bad amount",
	[DP_EVENT_EOVERSIZE] = "oversize",
	[DP_EVENT_EVALUE] = "bad field value",
};

const char *dp_event_strerror(int err)
{
	if (err < 0 || err >= DP_EVENT_ERR_MAX)
		return "unknown error";
	return dp_event_errstr[err];
}

void dp_event_fields_default(struct dp_event_fields *f)
{
	*f = (struct dp_event_fields){
		.user_id = "user_id", .ts = "ts", .type = "type", .page = "page",
		.session_hint = "session_hint", .txn_id = "txn_id", .amount = "amount",
		.currency = "currency", .merchant = "merchant", .country = "country",
		.max_len = DP_EVENT_MAX_LEN_DEFAULT,
		.max_amount = DP_EVENT_MAX_AMOUNT_DEFAULT,
	};
}

/* Defaults for NULL members / NULL @f; @out is what the parsers read. */
static void resolve_fields(const struct dp_event_fields *f, struct dp_event_fields *out)
{
	struct dp_event_fields d;

	dp_event_fields_default(&d);
	if (!f) {
		*out = d;
		return;
	}
	*out = *f;
#define DP_EVENT_DEFAULT_NAME(m) do { if (!out->m) out->m = d.m; } while (0)
	DP_EVENT_DEFAULT_NAME(user_id);
	DP_EVENT_DEFAULT_NAME(ts);
	DP_EVENT_DEFAULT_NAME(type);
	DP_EVENT_DEFAULT_NAME(page);
	DP_EVENT_DEFAULT_NAME(session_hint);
	DP_EVENT_DEFAULT_NAME(txn_id);
	DP_EVENT_DEFAULT_NAME(amount);
	DP_EVENT_DEFAULT_NAME(currency);
	DP_EVENT_DEFAULT_NAME(merchant);
	DP_EVENT_DEFAULT_NAME(country);
#undef DP_EVENT_DEFAULT_NAME
	if (out->max_len == 0)
		out->max_len = DP_EVENT_MAX_LEN_DEFAULT;
	if (out->max_len > DP_EVENT_MAX_LEN_LIMIT)
		out->max_len = DP_EVENT_MAX_LEN_LIMIT;
	/* !(x > 0) also catches NaN */
	if (!(out->max_amount > 0))
		out->max_amount = DP_EVENT_MAX_AMOUNT_DEFAULT;
	if (out->max_amount > DP_EVENT_MAX_AMOUNT_LIMIT)
		out->max_amount = DP_EVENT_MAX_AMOUNT_LIMIT;
}

int dp_event_ctx_create(struct dp_event_ctx **out)
{
	struct dp_event_ctx *ctx;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->tok = json_tokener_new_ex(DP_EVENT_NESTING_MAX);
	if (!ctx->tok) {
		free(ctx);
		return -ENOMEM;
	}
	/* STRICT makes trailing bytes an error and rejects some extensions;
	 * VALIDATE_UTF8 rejects malformed UTF-8 anywhere in the input. */
	json_tokener_set_flags(ctx->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*out = ctx;
	return 0;
}

void dp_event_ctx_destroy(struct dp_event_ctx *ctx)
{
	if (!ctx)
		return;
	json_tokener_free(ctx->tok);
	free(ctx);
}

/* Write a reason into @why (if any) and return @code. */
__attribute__((format(printf, 4, 5)))
static int fail(char *why, size_t whylen, int code, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Copy up to @max bytes of @s into @dst (size > @max) for a log message,
 * with non-printable bytes as '?'. */
static void printable(char *dst, const char *s, size_t len, size_t max)
{
	size_t i, n = len < max ? len : max;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

/* ------------------------------------------------------------------ time */

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const uint8_t md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, 1 <= y <= 9999). */
static int64_t days_since_epoch(int y, int m, int d)
{
	static const uint16_t before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t p = y - 1;   /* leap days in the years before y */
	int64_t leaps = p / 4 - p / 100 + p / 400;
	int64_t leaps_1970 = 1969 / 4 - 1969 / 100 + 1969 / 400;
	int64_t days = (int64_t)365 * (y - 1970) + (leaps - leaps_1970);

	days += before[m - 1] + (m > 2 && is_leap(y)) + (d - 1);
	return days;
}

/* @n decimal digits at @s into *@v; false if any is not a digit. */
static bool digits(const char *s, size_t n, int *v)
{
	int x = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static int parse_epoch_ms(const char *s, size_t len, int64_t *ts_us)
{
	int64_t ms = 0;

	if (len == 0 || len > 15)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		ms = ms * 10 + (s[i] - '0');
	}
	if (ms > DP_EVENT_MAX_MS)
		return -EINVAL;
	*ts_us = ms * 1000;
	return 0;
}

int dp_event_parse_ts(const char *s, size_t len, int64_t *ts_us)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac_us = 0, t;
	size_t i;

	if (!s || !ts_us)
		return -EINVAL;
	/* "1795467600123": 10 chars in, a '-' is what tells RFC 3339 apart */
	if (len < 11 || s[4] != '-')
		return parse_epoch_ms(s, len, ts_us);
	/* YYYY-MM-DDThh:mm:ss is 19 bytes; the zone needs at least one more */
	if (len < 20)
		return -EINVAL;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)  /* :60 leap seconds refused */
		return -EINVAL;
	i = 19;
	if (s[i] == '.') {
		size_t nd = 0;

		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (++nd > 9)
				return -EINVAL;
			if (nd <= 6)
				frac_us = frac_us * 10 + (s[i] - '0');
			i++;
		}
		if (nd == 0)
			return -EINVAL;
		for (; nd < 6; nd++)
			frac_us *= 10;
	}
	if (i >= len)
		return -EINVAL;  /* RFC 3339 requires a zone */
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		oh = om = 0;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == len) {
		if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
	} else {
		return -EINVAL;
	}
	t = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= (int64_t)oh * 3600 + (int64_t)om * 60;  /* local = UTC + offset */
	if (t < 0 || t > DP_EVENT_MAX_MS / 1000)
		return -EINVAL;
	*ts_us = t * 1000000 + frac_us;
	return 0;
}

/* ------------------------------------------------------------ json parts */

/* Parse and check the top level; on success *@root is an object the caller
 * must json_object_put(). */
static int parse_root(struct dp_event_ctx *ctx, const char *buf, size_t len,
		      const struct dp_event_fields *f, json_object **root,
		      char *why, size_t whylen)
{
	enum json_tokener_error jerr;
	json_object *o;
	size_t end;

	*root = NULL;
	if (len > f->max_len)
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "event is %zu bytes, max %u",
			    len, f->max_len);
	/* Kafka values and UDP payloads often end in a newline or NUL padding */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
			   buf[len - 1] == '\0' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0)
		return fail(why, whylen, DP_EVENT_EJSON, "invalid JSON at byte 0: empty input");

	json_tokener_reset(ctx->tok);
	o = json_tokener_parse_ex(ctx->tok, buf, (int)len);
	jerr = json_tokener_get_error(ctx->tok);
	end = json_tokener_get_parse_end(ctx->tok);
	if (!o && jerr == json_tokener_continue) {
		/* json-c waits for more input after a bare number or an open
		 * container; a NUL byte tells it the input is over. */
		o = json_tokener_parse_ex(ctx->tok, "", 1);
		jerr = json_tokener_get_error(ctx->tok);
		end = len;
	}
	if (jerr != json_tokener_success) {
		json_object_put(o);
		return fail(why, whylen, DP_EVENT_EJSON, "invalid JSON at byte %zu: %s",
			    end, json_tokener_error_desc(jerr));
	}
	if (end < len) {
		/* STRICT already refuses trailing bytes; a NUL stops json-c early */
		json_object_put(o);
		return fail(why, whylen, DP_EVENT_EJSON,
			    "invalid JSON at byte %zu: trailing bytes after the value", end);
	}
	if (!json_object_is_type(o, json_type_object)) {
		/* a top-level null comes back as o == NULL with success */
		const char *tn = o ? json_type_to_name(json_object_get_type(o)) : "null";

		json_object_put(o);
		return fail(why, whylen, DP_EVENT_ETYPE, "top-level value is %s, want object", tn);
	}
	*root = o;
	return DP_EVENT_OK;
}

static const char *type_name(json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

/*
 * Look up @key. A required key that is absent or null is EMISSING; an
 * optional one sets *@v = NULL and returns OK.
 */
static int lookup(json_object *root, const char *key, bool required, json_object **v,
		  char *why, size_t whylen)
{
	json_object *x = NULL;
	bool present = json_object_object_get_ex(root, key, &x);

	*v = x;
	if (x)
		return DP_EVENT_OK;
	if (!required)
		return DP_EVENT_OK;
	if (present)
		return fail(why, whylen, DP_EVENT_EMISSING, "missing field \"%s\" (null)", key);
	return fail(why, whylen, DP_EVENT_EMISSING, "missing field \"%s\"", key);
}

/*
 * Copy the string @key into the ctx scratch. Absent optional keys give ""
 * and *@present = false.
 */
static int take_str(struct dp_event_ctx *ctx, json_object *root, const char *key,
		    bool required, uint32_t max, const char **p, uint32_t *plen,
		    bool *present, char *why, size_t whylen)
{
	json_object *v;
	const char *s;
	size_t n;
	char *dst;
	int rc;

	*p = "";
	*plen = 0;
	if (present)
		*present = false;
	rc = lookup(root, key, required, &v, why, whylen);
	if (rc != DP_EVENT_OK || !v)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want string",
			    key, type_name(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n > max)
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "field \"%s\" is %zu bytes, max %u",
			    key, n, max);
	if (required && n == 0)
		return fail(why, whylen, DP_EVENT_EVALUE, "field \"%s\" is empty", key);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return fail(why, whylen, DP_EVENT_EVALUE,
				    "field \"%s\" has control byte 0x%02x at offset %zu",
				    key, c, i);
	}
	/* cannot overflow: the bounds of one event's strings sum below
	 * DP_EVENT_SCRATCH; checked anyway so that a future field cannot */
	if (ctx->used + n + 1 > sizeof(ctx->scratch))
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "field \"%s\": scratch full", key);
	dst = ctx->scratch + ctx->used;
	memcpy(dst, s, n);
	dst[n] = '\0';
	ctx->used += n + 1;
	*p = dst;
	*plen = (uint32_t)n;
	if (present)
		*present = true;
	return DP_EVENT_OK;
}

static int take_ts(json_object *root, const char *key, int64_t *ts_us,
		   char *why, size_t whylen)
{
	json_object *v;
	int rc = lookup(root, key, true, &v, why, whylen);
	char txt[DP_EVENT_TS_TEXT_MAX + 1];

	if (rc != DP_EVENT_OK)
		return rc;
	switch (json_object_get_type(v)) {
	case json_type_int: {
		/* json-c saturates integers beyond int64 (and keeps uint64 as
		 * such): get_int64 clamps both to INT64_MAX, out of range here */
		int64_t ms = json_object_get_int64(v);

		if (ms < 0 || ms > DP_EVENT_MAX_MS)
			return fail(why, whylen, DP_EVENT_ETIMESTAMP,
				    "field \"%s\": epoch ms %lld out of range", key, (long long)ms);
		*ts_us = ms * 1000;
		return DP_EVENT_OK;
	}
	case json_type_string: {
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);

		if (n <= DP_EVENT_TS_TEXT_MAX && dp_event_parse_ts(s, n, ts_us) == 0)
			return DP_EVENT_OK;
		printable(txt, s, n, DP_EVENT_TS_TEXT_MAX);
		return fail(why, whylen, DP_EVENT_ETIMESTAMP,
			    "field \"%s\": bad timestamp \"%s\"", key, txt);
	}
	default:
		return fail(why, whylen, DP_EVENT_ETYPE,
			    "field \"%s\" is %s, want string or integer", key, type_name(v));
	}
}

static int take_amount(json_object *root, const char *key, double max, double *amount,
		       char *why, size_t whylen)
{
	json_object *v;
	int rc = lookup(root, key, true, &v, why, whylen);
	double a;

	if (rc != DP_EVENT_OK)
		return rc;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want number",
			    key, type_name(v));
	a = json_object_get_double(v);
	/* json-c accepts the non-JSON literals NaN and Infinity, and 1e400
	 * overflows to Inf: none is an amount */
	if (!isfinite(a))
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is not a finite number", key);
	if (a < 0)
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is negative (%g)", key, a);
	if (a > max)
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is %g, above max %g",
			    key, a, max);
	*amount = a;
	return DP_EVENT_OK;
}

static int take_currency(json_object *root, const char *key, char cur[4],
			 char *why, size_t whylen)
{
	json_object *v;
	int rc = lookup(root, key, true, &v, why, whylen);
	const char *s;

	if (rc != DP_EVENT_OK)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want string",
			    key, type_name(v));
	s = json_object_get_string(v);
	if (json_object_get_string_len(v) != 3)
		return fail(why, whylen, DP_EVENT_EVALUE, "field \"%s\" must be 3 ASCII letters", key);
	for (int i = 0; i < 3; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return fail(why, whylen, DP_EVENT_EVALUE,
				    "field \"%s\" must be 3 ASCII letters", key);
		cur[i] = c;
	}
	cur[3] = '\0';
	return DP_EVENT_OK;
}

/* -------------------------------------------------------------- parsers */

static void start(struct dp_event_ctx *ctx, char *why, size_t whylen)
{
	ctx->used = 0;
	if (why && whylen)
		why[0] = '\0';
}

int dp_event_parse_click(const char *buf, size_t len, const struct dp_event_fields *fin,
			 struct dp_event_ctx *ctx, struct dp_click *out,
			 char *why, size_t whylen)
{
	struct dp_event_fields f;
	json_object *root;
	int rc;

	start(ctx, why, whylen);
	if (!buf)
		len = 0;
	resolve_fields(fin, &f);
	rc = parse_root(ctx, buf, len, &f, &root, why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	/* order decides which error wins when several apply: identity first */
	rc = take_str(ctx, root, f.user_id, true, DP_EVENT_ID_MAX, &out->user_id,
		      &out->user_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_ts(root, f.ts, &out->ts_us, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.type, true, DP_EVENT_TYPE_MAX, &out->type,
			      &out->type_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.page, false, DP_EVENT_PAGE_MAX, &out->page,
			      &out->page_len, &out->has_page, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.session_hint, false, DP_EVENT_ID_MAX,
			      &out->session_hint, &out->session_hint_len,
			      &out->has_session_hint, why, whylen);
	json_object_put(root);
	if (rc != DP_EVENT_OK)
		return rc;
	out->kind = (out->type_len == 9 && memcmp(out->type, "page_view", 9) == 0)
		? DP_CLICK_PAGE_VIEW : DP_CLICK_OTHER;
	return DP_EVENT_OK;
}

int dp_event_parse_txn(const char *buf, size_t len, const struct dp_event_fields *fin,
		       struct dp_event_ctx *ctx, struct dp_txn *out,
		       char *why, size_t whylen)
{
	struct dp_event_fields f;
	json_object *root;
	int rc;

	start(ctx, why, whylen);
	if (!buf)
		len = 0;
	resolve_fields(fin, &f);
	rc = parse_root(ctx, buf, len, &f, &root, why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = take_str(ctx, root, f.txn_id, true, DP_EVENT_ID_MAX, &out->txn_id,
		      &out->txn_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.user_id, true, DP_EVENT_ID_MAX, &out->user_id,
			      &out->user_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_amount(root, f.amount, f.max_amount, &out->amount, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_currency(root, f.currency, out->currency, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.merchant, false, DP_EVENT_MERCHANT_MAX,
			      &out->merchant, &out->merchant_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, root, f.country, false, DP_EVENT_COUNTRY_MAX,
			      &out->country, &out->country_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_ts(root, f.ts, &out->ts_us, why, whylen);
	json_object_put(root);
	if (rc != DP_EVENT_OK)
		return rc;
	/* amount <= DP_EVENT_MAX_AMOUNT_LIMIT keeps this inside int64; the
	 * result is exact to the micro-unit below 2^53 / 1e6 ~ 9e9 */
	out->amount_micros = llround(out->amount * 1e6);
	return DP_EVENT_OK;
}
