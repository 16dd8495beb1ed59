/*
 * dp_event.c - clickstream and payment JSON events on top of jsmn.
 *
 * Flow per event: length check, trailing-byte trim, then one of three ways
 * to the JSON structure:
 *  - a learned shape (see "learned shapes" below): a text with the keys,
 *    order and spacing of one the fast way read before is checked literal
 *    by literal, its values cut out between them;
 *  - fast (the usual event: a plain text, i.e. printable ASCII without
 *    backslashes, whose top level is an object): fast_doc(), one pass over
 *    64-byte SIMD blocks that classifies the bytes, finds the strings by
 *    the prefix XOR of the quote bits, walks the positions in a small
 *    grammar state machine and records where the wanted root keys' values
 *    are. It answers only when the text is valid and plain and nothing
 *    about it is in doubt; otherwise
 *  - checked: all_plain(), one jsmn_parse() into the ctx's token array and
 *    one strict walk over the tokens (validate_doc). This path words every
 *    error, so the fast one never has to.
 * Then the configured fields are read from the recorded value tokens (same
 * jsmntok_t start/end/type either way) and copied (unescaped) into the ctx
 * scratch. No allocation per event. dp_event_ctx_set_fast() turns the fast
 * way off for tests, which check that both give the same result on 120 k
 * generated and broken texts.
 *
 * Cost (2026-11-24, session 11; 108-byte click event as bench_sessions
 * makes them, a fields struct as the worker passes it): 0.81 k instructions
 * per event (callgrind): the shape path ~0.47 k (classifying two blocks
 * ~0.1 k, six literals (one 32-byte compare each away from the text's end)
 * and five values ~0.25 k, each value's span kept by value), click_shape()
 * with the timestamp and the copies ~0.2 k. Paired runs: ~7 ns faster than
 * session 10's 0.98 k, not the 17 % the count predicts. Session 10:
 * 0.98 k, ~100-110 ns on this VM (the spans were written to the wanted
 * keys, which click_plain() then checked). Session 4:
 * 1.15-1.22 k, of which the field readers ~0.4 k and the timestamp
 * ~0.13 k. Before learned shapes (session 3, 107 bytes): 2.02 k,
 * of which the structure (fast_doc) is 1.27 k: 0.25 k
 * classifying the two blocks, the rest the walk, key matching and the
 * primitive check; the field readers take ~0.75 k (parse_ts 0.27 k,
 * strlen of the configured names 0.07 k, copies). The checked path, as
 * all events took before: 3.8 k, of which jsmn_parse 2.03 k and
 * validate_doc 0.76 k. Hot loop: ~145 ns (checked path ~400 ns, same
 * run); bench_sessions "b": ~200 ns (was ~420 ns). Payment event (122 B):
 * 2.71 k (checked 5.25 k), ~215 ns hot (~680 ns). On the checked path a
 * plain text still skips the per-string checks, the unescaping and the
 * kept-value byte check, which cannot fail on it; other texts check
 * strings 16 bytes at a time (SSE2) and fall back to the byte loop only at
 * a special byte; root keys are matched by length first and compared
 * inline (no memcmp/memchr calls); the walk keeps the innermost container
 * in locals; amounts of <= 15 digits without exponent skip strtod (exactly
 * equal, see decimal_fast). What is left is spread thin: the walk's ~20
 * positions and five key matches, parse_ts and the readers.
 *
 * Why jsmn and hand validation: json-c cost 2.1-3.4 us per 120-byte event,
 * most of it in building and freeing its tree (~19 mallocs); jsmn only
 * tokenizes in place. jsmn is a tokenizer, not a validator: even with
 * JSMN_STRICT it accepts trailing commas, missing commas between values,
 * any escape-free bytes in strings (raw control bytes, invalid UTF-8) and
 * any primitive spelled with [-0-9tfn] ("-Infinity", "01", "nul"). The walk
 * here closes those holes: every byte of the input is either JSON
 * whitespace or punctuation checked at its position, or inside a token whose
 * text is checked against the RFC 8259 grammar (numbers, literals, string
 * escapes including surrogate pairs, UTF-8). The fast path checks the
 * same grammar on plain texts without jsmn (see the comment above
 * fast_doc). Measured cost in dp_event.h.
 */
#include "dp_event.h"

#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_common.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

/* The implementation lives in this TU only (static), strict mode, and parent
 * links so that closing a container is O(1) instead of a backward scan. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* Sum of the kept-string bounds of one event plus NULs, rounded up: the
 * click event needs 64 + 64 + 2048 + 64 + 4 bytes. */
#define DP_EVENT_SCRATCH 4096u

/* 9999-12-31T23:59:59.999Z in epoch ms: the last accepted instant. */
#define DP_EVENT_MAX_MS INT64_C(253402300799999)

/* Longest number text read as an amount (a valid JSON number can be longer). */
#define DP_EVENT_NUM_TEXT_MAX 127u

/* Room for the wanted keys of the largest event shape. */
#define DP_EVENT_WANT_MAX 8

/* JSON value kinds, named as in the messages (json-c's names, kept). */
enum jkind { JK_NULL, JK_BOOL, JK_INT, JK_DOUBLE, JK_STRING, JK_OBJECT, JK_ARRAY };
static const char *const jkind_name[] = {
	"null", "boolean", "int", "double", "string", "object", "array",
};

/* A configured key of the event shape being parsed and where its value is. */
struct want {
	const char *name;
	size_t nlen;
	int tok;                     /* value token index, -1 = absent */
	enum jkind kind;             /* of that value, once the walk is done */
	uint32_t vs, ve;             /* the value's bytes (string: inside the quotes),
				      * set by parse_doc() for a present key */
};

/*
 * A learned shape (see shape_read()): the text of a flat object with the
 * values cut out. Literal i is lit[lit_at[i] .. lit_at[i + 1]); value i
 * lies between literals i and i + 1. The literals hold everything else:
 * braces, blanks, keys, colons, commas and the quotes around string values.
 */
#define SHAPE_N 4              /* shapes kept per context */
#define SHAPE_LEN_MAX 512      /* longest text a shape is tried on */
#define SHAPE_VALUES 16        /* values of a flat object, at most */
#define SHAPE_LIT_MAX 384      /* literal bytes of one shape, at most */

struct wants;

/* The values a shape match found: value i is buf[vs[i] .. ve[i]) (a
 * string: inside its quotes) of kind kind[i]. */
struct spans {
	uint32_t vs[SHAPE_VALUES], ve[SHAPE_VALUES];
	uint8_t kind[SHAPE_VALUES];
};

struct shape {
	unsigned nv;                          /* values; 0: the slot is empty */
	uint32_t prim;                        /* bit i: value i is a primitive, else a string */
	uint32_t nul;                         /* bit i: value i is null, kept in literal i + 1 */
	const struct wants *wc;               /* the wanted keys it was learned for, */
	unsigned gen;                         /* as they were then (wc->gen) */
	int8_t val_of[DP_EVENT_WANT_MAX];     /* wanted k's value, -1: absent */
	int8_t tok_of[DP_EVENT_WANT_MAX];     /* its w[k].tok (k, or an earlier alias) */
	uint8_t str_keys, prim_keys;          /* bit k: wanted k is a string / primitive
					       * value (neither: null or absent) */
	uint16_t lit_at[SHAPE_VALUES + 2];    /* nv + 1 literals: starts, then the end */
	char lit[SHAPE_LIT_MAX + 32];         /* +32: lit_same() loads 32 bytes */
};

/* Wanted keys prepared from the names a parser was last given (see
 * wants_of()). */
/* The names of struct dp_event_fields: its leading pointers. */
#define FIELDS_NAMES_B (offsetof(struct dp_event_fields, country) + sizeof(const char *))
_Static_assert(FIELDS_NAMES_B == 10 * sizeof(const char *) &&
	       offsetof(struct dp_event_fields, user_id) == 0,
	       "struct dp_event_fields: the ten names first, country last");

struct wants {
	bool ok;
	bool no_fin;                 /* made for a NULL fields struct (the defaults) */
	unsigned gen;                /* changes whenever w[] is made anew */
	uint32_t lo, hi;             /* the bytes of the fields struct that hold our names */
	char names[FIELDS_NAMES_B];  /* ... as they were (the pointers, at their offsets) */
	struct want w[DP_EVENT_WANT_MAX];
};

struct dp_event_ctx {
	jsmn_parser p;
	size_t used;                 /* bytes of scratch taken by this event */
	bool no_fast;                /* dp_event_ctx_set_fast(ctx, false) */
	bool last_fast;              /* the last text was read by fast_doc() or a shape */
	bool last_shape;             /* ... by a learned shape (shape_read()) */
	unsigned shape_next;         /* slot the next learned shape replaces */
	unsigned shape_hit;          /* slot tried first: the last one that matched */
	struct shape shapes[SHAPE_N];
	struct wants wc_click, wc_txn;  /* the key names last given to each parser */
	unsigned wgen;               /* generations handed out to them */
	char scratch[DP_EVENT_SCRATCH];
	/* 20 B each, ~640 KiB: calloc maps it lazily, so only the pages small
	 * events touch (the first few) become resident. */
	jsmntok_t tok[DP_EVENT_TOKENS_MAX];
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

int dp_event_ctx_create(struct dp_event_ctx **out)
{
	struct dp_event_ctx *ctx;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	*out = ctx;
	return 0;
}

void dp_event_ctx_destroy(struct dp_event_ctx *ctx)
{
	free(ctx);
}

void dp_event_ctx_set_fast(struct dp_event_ctx *ctx, bool on)
{
	ctx->no_fast = !on;
}

bool dp_event_ctx_last_was_fast(const struct dp_event_ctx *ctx)
{
	return ctx->last_fast;
}

bool dp_event_ctx_last_was_shape(const struct dp_event_ctx *ctx)
{
	return ctx->last_shape;
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

static int bad_json(char *why, size_t whylen, size_t at, const char *what)
{
	return fail(why, whylen, DP_EVENT_EJSON, "invalid JSON at byte %zu: %s", at, what);
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

/* The two decimal digits at @s, or -1 if either is not a digit. */
static inline int dig2(const char *s)
{
	unsigned a = (unsigned)(unsigned char)s[0] - '0', b = (unsigned)(unsigned char)s[1] - '0';

	return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* @n (2 or 4) decimal digits at @s into *@v; false if any is not a digit. */
static inline bool digits(const char *s, size_t n, int *v)
{
	int hi = dig2(s), lo = n == 4 ? dig2(s + 2) : 0;

	if (hi < 0 || lo < 0)
		return false;
	*v = n == 4 ? hi * 100 + lo : hi;
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

/*
 * The 8 bytes at @s as a little-endian word, and a check that its bytes
 * are decimal digits where @digit has 0x30 and exactly @sep elsewhere:
 * x = word ^ (digit | sep) leaves digit values 0..9 and zeros, and a byte
 * above 9 shows in bit 7 of x | x + 0x76 (a carry out of a byte that is
 * itself >= 0x8a can only spoil a neighbour's verdict towards "bad").
 */
static inline bool swar_digits(const char *s, uint64_t digit, uint64_t sep, uint64_t *x)
{
	uint64_t w;

	memcpy(&w, s, 8);
	w ^= digit | sep;
	*x = w;
	return (((w + UINT64_C(0x7676767676767676)) | w) & UINT64_C(0x8080808080808080)) == 0 &&
	       (w & ~((digit >> 4) * 0x55)) == 0;   /* 0x30 -> 0x03 -> 0xff per digit byte */
}

/* The usual ending of a 24-byte RFC 3339 text after its seconds: ".mmmZ"
 * (milliseconds in UTC); *@frac_us is its fraction. */
static inline bool ms_zulu(const char *s, size_t len, int64_t *frac_us)
{
	int hi;
	unsigned lo;

	if (len != 24 || s[19] != '.' || (s[23] | 0x20) != 'z')
		return false;
	hi = dig2(s + 20);
	lo = (unsigned)(unsigned char)s[22] - '0';
	if (hi < 0 || lo > 9)
		return false;
	*frac_us = ((int64_t)hi * 10 + lo) * 1000;
	return true;
}

/* Days since the epoch of the last calendar date read on this thread, by
 * its first 10 bytes "YYYY-MM-DD" (events of a stream share a date), and
 * the seconds of the last "YYYY-MM-DDThh:mm:ss" (and often the second). */
static __thread struct {
	uint64_t ymd8;               /* "YYYY-MM-" */
	uint16_t dd;                 /* "DD"; 0: empty */
	int64_t days;
	uint64_t w0, w8, w11;        /* bytes 0-7, 8-15, 11-18 of the last second */
	int64_t secs;                /* its local time in seconds; w0 == 0: empty */
} ts_date;

int dp_event_parse_ts(const char *s, size_t len, int64_t *ts_us)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac_us = 0, t, days, secs;
	uint64_t a, c, w0, w8, w11;
	uint16_t dd;
	size_t i;

	if (!s || !ts_us)
		return -EINVAL;
	/* "1795467600123": 10 chars in, a '-' is what tells RFC 3339 apart */
	if (len < 11 || s[4] != '-')
		return parse_epoch_ms(s, len, ts_us);
	/* YYYY-MM-DDThh:mm:ss is 19 bytes; the zone needs at least one more */
	if (len < 20)
		return -EINVAL;
	memcpy(&w0, s, 8);
	memcpy(&w8, s + 8, 8);
	memcpy(&w11, s + 11, 8);
	if (w0 == ts_date.w0 && w8 == ts_date.w8 && w11 == ts_date.w11) {
		secs = ts_date.secs;     /* the same second as the last one: valid */
		goto frac;
	}
	/* "YYYY-MM-" and "hh:mm:ss" a word each, "DD" and the 'T' by byte */
	if (!swar_digits(s, UINT64_C(0x0030300030303030), UINT64_C(0x2d00002d00000000), &a) ||
	    !swar_digits(s + 11, UINT64_C(0x3030003030003030), UINT64_C(0x00003a00003a0000), &c) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -EINVAL;
	h = (int)((c & 0xff) * 10 + (c >> 8 & 0xff));
	mi = (int)((c >> 24 & 0xff) * 10 + (c >> 32 & 0xff));
	sec = (int)((c >> 48 & 0xff) * 10 + (c >> 56 & 0xff));
	if (h > 23 || mi > 59 || sec > 59)  /* :60 leap seconds refused */
		return -EINVAL;
	memcpy(&dd, s + 8, 2);
	if (ts_date.dd == dd && ts_date.ymd8 == (a ^ UINT64_C(0x2d30302d30303030))) {
		days = ts_date.days;
	} else {
		y = (int)((a & 0xff) * 1000 + (a >> 8 & 0xff) * 100 + (a >> 16 & 0xff) * 10 +
			  (a >> 24 & 0xff));
		mo = (int)((a >> 40 & 0xff) * 10 + (a >> 48 & 0xff));
		d = dig2(s + 8);
		if (d < 0 || y < 1 || mo < 1 || mo > 12 || d < 1 ||
		    d > (int)wr_days_in_month(y, (unsigned)mo))
			return -EINVAL;
		days = wr_days_from_civil(y, (unsigned)mo, (unsigned)d);
		ts_date.ymd8 = a ^ UINT64_C(0x2d30302d30303030);
		ts_date.dd = dd;
		ts_date.days = days;
	}
	secs = days * 86400 + h * 3600 + mi * 60 + sec;
	ts_date.w0 = w0;
	ts_date.w8 = w8;
	ts_date.w11 = w11;
	ts_date.secs = secs;
frac:
	if (ms_zulu(s, len, &frac_us)) {
		t = secs;
		goto in_range;
	}
	i = 19;
	if (s[i] == '.') {
		static const int32_t scale[7] = { 1000000, 100000, 10000, 1000, 100, 10, 1 };
		size_t nd = 0;
		unsigned dv;

		i++;
		while (i < len && (dv = (unsigned)(unsigned char)s[i] - '0') <= 9) {
			if (++nd > 9)
				return -EINVAL;
			if (nd <= 6)
				frac_us = frac_us * 10 + dv;
			i++;
		}
		if (nd == 0)
			return -EINVAL;
		if (nd < 6)
			frac_us *= scale[nd];
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
	t = secs - ((int64_t)oh * 3600 + (int64_t)om * 60);  /* local = UTC + offset */
in_range:
	if (t < 0 || t > DP_EVENT_MAX_MS / 1000)
		return -EINVAL;
	*ts_us = t * 1000000 + frac_us;
	return 0;
}

/*
 * dp_event_parse_ts() inline for the usual text, "YYYY-MM-DDThh:mm:ss.mmmZ"
 * in the second last read on this thread (its first 19 bytes were checked
 * then): true and *@ts_us as it would give; false when that is not the
 * case (then call it).
 */
static inline bool ts_same_second(const char *s, size_t len, int64_t *ts_us)
{
	uint64_t w0, w8, w11;
	int64_t frac_us;

	if (len != 24)
		return false;
	memcpy(&w0, s, 8);
	memcpy(&w8, s + 8, 8);
	memcpy(&w11, s + 11, 8);
	if (w0 != ts_date.w0 || w8 != ts_date.w8 || w11 != ts_date.w11 ||
	    !ms_zulu(s, len, &frac_us) || ts_date.secs < 0 ||
	    ts_date.secs > DP_EVENT_MAX_MS / 1000)
		return false;
	*ts_us = ts_date.secs * 1000000 + frac_us;
	return true;
}

/* ------------------------------------------------------------ json parts */


static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline size_t skip_ws(const char *b, size_t pos, size_t len)
{
	/* compact JSON has no blanks: one compare for the usual case */
	while (pos < len && (unsigned char)b[pos] <= ' ' && is_ws(b[pos]))
		pos++;
	return pos;
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, all of @s. */
static bool check_number(const char *s, size_t n, bool *is_int)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && is_digit(s[i]))
			i++;
	} else {
		return false;
	}
	*is_int = true;
	if (i < n && s[i] == '.') {
		d = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return false;
		*is_int = false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return false;
		*is_int = false;
	}
	return i == n;
}

/* A primitive token's text at buffer offset @off: a literal or a number. */
static int check_primitive(const char *s, size_t n, size_t off, enum jkind *k,
			   char *why, size_t whylen)
{
	bool is_int;

	if (n == 4 && memcmp(s, "null", 4) == 0) {
		*k = JK_NULL;
		return DP_EVENT_OK;
	}
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
		*k = JK_BOOL;
		return DP_EVENT_OK;
	}
	if (check_number(s, n, &is_int)) {
		*k = is_int ? JK_INT : JK_DOUBLE;
		return DP_EVENT_OK;
	}
	return bad_json(why, whylen, off,
			n > 0 && (s[0] == '-' || is_digit(s[0])) ? "bad number" : "bad literal");
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at @s[i], or -1 when there is none. */
static int32_t read_u4(const char *s, size_t n, size_t i)
{
	int32_t v = 0;

	if (n < 6 || i > n - 6 || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	for (size_t k = 2; k < 6; k++) {
		int h = hexval(s[i + k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of the UTF-8 sequence at @s[i] (a byte >= 0x80), 0 when invalid:
 * RFC 3629, so no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	uint32_t cp, min;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; cp = c & 0x1fu; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2; cp = c & 0x0fu; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; cp = c & 0x07u; min = 0x10000;
	} else {
		return 0;
	}
	if (n - i <= need)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		unsigned char b = s[i + k];

		if ((b & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (b & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/*
 * Byte classes for the fast paths. A "special" byte is one a string body
 * cannot hold as is: below 0x20 (also 0x80-0xff, negative as signed char,
 * which is how the SIMD compare sees them), '\\' and, for the whole-text
 * check only, DEL (0x7f: valid JSON, but EVALUE in a kept string).
 */
static inline bool is_special(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '\\';
}

#if defined(__SSE2__)
/* Bit k set when byte k of the 16 at @p is below 0x20, >= 0x80 or '\\'. */
static inline unsigned special16(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(_mm_cmpgt_epi8(_mm_set1_epi8(0x20), x),
				 _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));

	return (unsigned)_mm_movemask_epi8(m);
}

/* As special16(), also DEL. */
static inline unsigned special16_del(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(_mm_cmpgt_epi8(_mm_set1_epi8(0x20), x),
				 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
					      _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * True when every byte of @b[0..@n) is printable ASCII (0x20..0x7e) other
 * than '\\'. Then no string of the text can hold an escape, a control byte,
 * non-ASCII (so no UTF-8 to check) or DEL: the per-string check, the
 * unescaping and the kept-value byte check are all skipped. This is the
 * common event (compact JSON, ASCII ids); a text with a newline between
 * tokens, an escape or UTF-8 anywhere takes the checked path instead.
 * Never reads outside @b[0..@n): the last partial block is the 16 bytes
 * ending at @n, overlapping the one before.
 */
static bool all_plain(const char *b, size_t n)
{
	size_t i = 0;

#if defined(__AVX2__)
	const __m256i lo = _mm256_set1_epi8(0x20), bs = _mm256_set1_epi8('\\'),
		      del = _mm256_set1_epi8(0x7f);
	__m256i acc = _mm256_setzero_si256();

	for (; i + 32 <= n; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));

		acc = _mm256_or_si256(acc, _mm256_or_si256(_mm256_cmpgt_epi8(lo, x),
			_mm256_or_si256(_mm256_cmpeq_epi8(x, bs), _mm256_cmpeq_epi8(x, del))));
	}
	if (!_mm256_testz_si256(acc, acc))
		return false;
#endif
#if defined(__SSE2__)
	for (; i + 16 <= n; i += 16)
		if (special16_del(b + i))
			return false;
	if (i < n && n >= 16)
		return special16_del(b + n - 16) == 0;
#endif
	for (; i < n; i++)
		if (is_special((unsigned char)b[i]))
			return false;
	return true;
}

/*
 * Check a string token's body (between the quotes, @off its buffer offset):
 * no raw bytes below 0x20, valid escapes, \u surrogates in high-low pairs,
 * valid UTF-8. jsmn checks only the escape letters and hex digits.
 */
static int check_string(const char *s, size_t n, size_t off, char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned char c;
		int32_t cu, lo;
		size_t l;

#if defined(__SSE2__)
		/* 16 plain bytes at a time; stop on the first special one */
		if (i + 16 <= n) {
			unsigned m = special16(s + i);

			if (m == 0) {
				i += 16;
				continue;
			}
			i += (size_t)__builtin_ctz(m);
		}
#endif
		c = u[i];
		if (likely(c >= 0x20 && c < 0x80 && c != '\\')) {
			i++;
			continue;
		}
		if (c < 0x20)
			return bad_json(why, whylen, off + i, "control character in string");
		if (c >= 0x80) {
			l = utf8_len(u, n, i);
			if (l == 0)
				return bad_json(why, whylen, off + i, "invalid UTF-8 in string");
			i += l;
			continue;
		}
		if (i + 1 >= n)
			return bad_json(why, whylen, off + i, "bad escape");
		switch (s[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			i += 2;
			continue;
		case 'u':
			break;
		default:
			return bad_json(why, whylen, off + i, "bad escape");
		}
		cu = read_u4(s, n, i);
		if (cu < 0)
			return bad_json(why, whylen, off + i, "bad \\u escape");
		if (cu >= 0xdc00 && cu <= 0xdfff)
			return bad_json(why, whylen, off + i, "unpaired surrogate");
		if (cu >= 0xd800 && cu <= 0xdbff) {
			lo = read_u4(s, n, i + 6);
			if (lo < 0xdc00 || lo > 0xdfff)
				return bad_json(why, whylen, off + i, "unpaired surrogate");
			i += 12;
			continue;
		}
		i += 6;
	}
	return DP_EVENT_OK;
}

/* UTF-8 of @cp into @dst (NULL: only count); returns the byte count. */
static size_t put_utf8(char *dst, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp; n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f)); n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f)); n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f)); n = 4;
	}
	if (dst)
		memcpy(dst, b, n);
	return n;
}

/* Unescape a string body that check_string() accepted into @dst (NULL: only
 * count). The result is never longer than @n. Returns its length. */
static size_t decode_string(const char *s, size_t n, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		char c = s[i];
		uint32_t cp;

		if (c != '\\') {
			if (dst)
				dst[o] = c;
			o++;
			i++;
			continue;
		}
		switch (s[i + 1]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			cp = (uint32_t)read_u4(s, n, i);
			i += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     ((uint32_t)read_u4(s, n, i) - 0xdc00);
				i += 6;
			}
			o += put_utf8(dst ? dst + o : NULL, cp);
			continue;
		default: c = s[i + 1]; break;   /* " \ / */
		}
		if (dst)
			dst[o] = c;
		o++;
		i += 2;
	}
	return o;
}

/*
 * Record the value token @vtok of a root-level key (body @s[0..@n), at
 * buffer offset @off) that names wanted fields; a second occurrence of a
 * wanted key is an error naming it. Escaped keys are compared unescaped.
 */
static inline int match_key(const char *s, size_t n, size_t off, int vtok, struct want *w,
		     unsigned nw, bool plain, char *why, size_t whylen)
{
	char kb[256];

	if (unlikely(!plain && memchr(s, '\\', n) != NULL)) {
		if (decode_string(s, n, NULL) > sizeof(kb))
			return DP_EVENT_OK;     /* longer than any name we match */
		n = decode_string(s, n, kb);
		s = kb;
	}
	for (unsigned k = 0; k < nw; k++) {
		if (n != w[k].nlen || !wr_bytes_eq(s, w[k].name, n))
			continue;
		if (w[k].tok >= 0)
			return fail(why, whylen, DP_EVENT_EJSON,
				    "invalid JSON at byte %zu: duplicate field \"%s\"",
				    off, w[k].name);
		w[k].tok = vtok;
	}
	return DP_EVENT_OK;
}

/* An enclosing container while the walk is inside one of its children. */
struct frame {
	size_t end;                  /* buffer offset just after the closer */
	int left;                    /* members or elements still to come */
	bool obj;
};

static int end_or_unexpected(char *why, size_t whylen, size_t pos, size_t len)
{
	return bad_json(why, whylen, pos, pos < len ? "unexpected character" : "unexpected end of data");
}

/*
 * Walk the @ntok tokens jsmn produced for @buf[0..@len) in document order
 * and check the whole text against the JSON grammar: between tokens only
 * whitespace and the punctuation due at that point, every token where the
 * walk expects it, each container closing where jsmn says it does, token
 * texts valid, depth <= DP_EVENT_NESTING_MAX, nothing after the value.
 * Keys of the root object that name a wanted field fill in @w. @plain
 * (all_plain() of the text) skips the string body checks: they cannot fail.
 *
 * Written as a small state machine (labels for "a value is due", "a value
 * ended", "a container opened", "a container must close", "a member or
 * element starts") with the innermost container in locals: the former loop
 * with a flag per frame cost ~2x the instructions per token.
 */
static int validate_doc(const jsmntok_t *tok, int ntok, const char *buf, size_t len,
			struct want *w, unsigned nw, bool plain, char *why, size_t whylen)
{
	struct frame st[DP_EVENT_NESTING_MAX];   /* st[d - 1]: container at depth d */
	int depth = 0, i = 0, rc;
	size_t pos = 0, b, end = 0;              /* innermost container: */
	int left = 0;                            /*   its end, members to come */
	bool obj = false;                        /*   and kind */
	const jsmntok_t *t;
	enum jkind k;

value:	/* token i must start at the next non-blank byte; blanks are only
	 * skipped when it does not start right here (compact JSON has none) */
	if (unlikely(i >= ntok))
		return end_or_unexpected(why, whylen, skip_ws(buf, pos, len), len);
	t = &tok[i++];
	b = (size_t)t->start - (t->type == JSMN_STRING);
	if (b != pos) {
		pos = skip_ws(buf, pos, len);
		if (b != pos)
			return end_or_unexpected(why, whylen, pos, len);
	}
	switch (t->type) {
	case JSMN_STRING:
		if (!plain) {
			rc = check_string(buf + t->start, (size_t)(t->end - t->start),
					  (size_t)t->start, why, whylen);
			if (rc != DP_EVENT_OK)
				return rc;
		}
		pos = (size_t)t->end + 1;
		goto ended;
	case JSMN_PRIMITIVE:
		rc = check_primitive(buf + t->start, (size_t)(t->end - t->start),
				     (size_t)t->start, &k, why, whylen);
		if (rc != DP_EVENT_OK)
			return rc;
		pos = (size_t)t->end;
		goto ended;
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		if (depth == DP_EVENT_NESTING_MAX)
			return bad_json(why, whylen, pos, "nesting too deep");
		if (depth > 0)
			st[depth - 1] = (struct frame){ end, left, obj };
		depth++;
		end = (size_t)t->end;
		left = t->size;
		obj = t->type == JSMN_OBJECT;
		pos++;
		if (left == 0) {
			pos = skip_ws(buf, pos, len);
			goto close;
		}
		goto member;
	default:
		return end_or_unexpected(why, whylen, pos, len);
	}

ended:	/* after a complete value: a comma, the closer, or the end */
	if (depth == 0) {
		pos = skip_ws(buf, pos, len);
		if (pos < len)
			return bad_json(why, whylen, pos, "trailing bytes after the value");
		return DP_EVENT_OK;
	}
	if (left == 0) {
		pos = skip_ws(buf, pos, len);
		goto close;
	}
	if (pos >= len || buf[pos] != ',') {
		pos = skip_ws(buf, pos, len);
		if (pos >= len || buf[pos] != ',')
			return end_or_unexpected(why, whylen, pos, len);
	}
	pos++;
	goto member;

close:	/* all members seen: the closer jsmn matched must be next */
	if (pos < len && buf[pos] == ',') {
		/* a trailing comma: the error is what follows it */
		pos = skip_ws(buf, pos + 1, len);
		return end_or_unexpected(why, whylen, pos, len);
	}
	if (pos >= len || buf[pos] != (obj ? '}' : ']') || pos + 1 != end)
		return end_or_unexpected(why, whylen, pos, len);
	pos++;
	if (--depth > 0) {
		end = st[depth - 1].end;
		left = st[depth - 1].left;
		obj = st[depth - 1].obj;
	}
	goto ended;

member:	/* an element is a value; a member is a key, a colon and a value */
	left--;
	if (obj) {
		if (i >= ntok || tok[i].type != JSMN_STRING || (size_t)tok[i].start != pos + 1) {
			pos = skip_ws(buf, pos, len);
			if (i >= ntok || tok[i].type != JSMN_STRING ||
			    (size_t)tok[i].start != pos + 1)
				return end_or_unexpected(why, whylen, pos, len);
		}
		t = &tok[i++];
		rc = plain ? DP_EVENT_OK
			   : check_string(buf + t->start, (size_t)(t->end - t->start),
					  (size_t)t->start, why, whylen);
		if (rc == DP_EVENT_OK && depth == 1)
			rc = match_key(buf + t->start, (size_t)(t->end - t->start),
				       pos, i, w, nw, plain, why, whylen);
		if (rc != DP_EVENT_OK)
			return rc;
		pos = (size_t)t->end + 1;
		if (pos >= len || buf[pos] != ':') {
			pos = skip_ws(buf, pos, len);
			if (pos >= len || buf[pos] != ':')
				return end_or_unexpected(why, whylen, pos, len);
		}
		pos++;
	}
	goto value;
}

/* --------------------------------------------------- single-pass scan */

/*
 * The fast path for plain texts (see all_plain()): one pass that finds the
 * structure with 64-byte SIMD blocks and checks the grammar, instead of
 * jsmn_parse() + validate_doc(). It answers only when it is sure: on a
 * text it accepts, the jsmn path would accept too and record the same
 * wanted values (same token start/end/type, same kinds), so the field
 * readers give the same results. On anything else (a special byte, bad
 * grammar, too deep, too many tokens, a wanted key twice, ...) it says
 * "not handled" and the jsmn path runs as before and words every error.
 *
 * Without backslashes every '"' is a real quote, so the bytes inside
 * strings are the prefix XOR of the quote bits (carried across blocks).
 * Per block the walk gets one bit per position it must look at: quotes,
 * brackets outside strings, and the first byte of and the first byte after
 * each run of primitive bytes (anything but blank, quote, bracket, ',' and
 * ':' outside strings). Commas and colons are not positions: where one is
 * due the walk looks at the byte itself and counts it, and at the end the
 * count must equal the number of ',' and ':' outside strings in the text,
 * so there is exactly one at each place where one is due and none
 * elsewhere. Blanks can only be ' ' here (tab, CR and LF are not plain).
 */

/* Blocks scanned per call of fscan_chunk(): 1 KiB of text. */
#define FSCAN_CHUNK 16

/* The scan of the text ahead of the walk. */
struct fscan {
	const char *buf;
	size_t len;
	size_t next;        /* buffer offset of the next block to scan */
	uint64_t in_str;    /* all ones when the last block ended inside a string */
	uint64_t prim;      /* 1 when the last block ended on a primitive byte */
	size_t seps;        /* ',' and ':' outside strings in the blocks so far */
	bool bad;           /* a special byte (not plain): the scan gave up */
	unsigned n;         /* blocks in @bits */
	uint64_t bits[FSCAN_CHUNK]; /* positions, 64 bytes per word */
};

/* Byte classes of 64 bytes, bit i for byte i. */
struct fblock {
	uint64_t quote;     /* '"' */
	uint64_t brack;     /* { } [ ] */
	uint64_t sep;       /* , : */
	uint64_t stop;      /* any of those or ' ': ends a primitive */
};

#if defined(__AVX2__)
/*
 * Byte classes by two nibble lookups (a byte's class is lo[low nibble] &
 * hi[high nibble]), one bit each: 0x80 '"', 0x40 a bracket, 0x20 ',',
 * 0x10 ':', 0x08 ' ', and the special bytes 0x04 '\\', 0x02 DEL, 0x01
 * below 0x20 or above 0x7f. ',' and ':' need a bit each, else '*' (0x2a)
 * and '<' (0x3c) would match.
 */
#define CL_LO 0x09, 0x01, (char)0x81, 0x01, 0x01, 0x01, 0x01, 0x01, \
	      0x01, 0x01, 0x11, 0x41, 0x25, 0x41, 0x01, 0x03
#define CL_HI 0x01, 0x01, (char)0xa8, 0x10, 0x00, 0x44, 0x00, 0x42, \
	      0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01

static inline __m256i classes32(__m256i x)
{
	const __m256i lo = _mm256_setr_epi8(CL_LO, CL_LO), hi = _mm256_setr_epi8(CL_HI, CL_HI);
	const __m256i nib = _mm256_set1_epi8(0x0f);

	return _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(x, nib)),
				_mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(x, 4), nib)));
}

/* Masks of the 32 bytes of classes @c into bits @sh.. of @m. */
static inline void classify32(__m256i c, struct fblock *m, unsigned sh)
{
	const __m256i zero = _mm256_setzero_si256();
	/* the quote bit is the sign bit that movemask takes; a 16-bit shift
	 * by one moves each byte's bracket bit there */
	uint32_t q = (uint32_t)_mm256_movemask_epi8(c);
	uint32_t b = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(c, 1));
	uint32_t s = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		_mm256_and_si256(c, _mm256_set1_epi8(0x30)), zero));
	uint32_t t = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		_mm256_and_si256(c, _mm256_set1_epi8((char)0xf8)), zero));

	m->quote |= (uint64_t)q << sh;
	m->brack |= (uint64_t)b << sh;
	m->sep |= (uint64_t)s << sh;
	m->stop |= (uint64_t)t << sh;
}
#elif defined(__SSE2__)
static inline void classify16(__m128i x, struct fblock *m, unsigned sh)
{
	__m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i vq = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
	__m128i vb = _mm_or_si128(_mm_cmpeq_epi8(y, _mm_set1_epi8('{')),
				  _mm_cmpeq_epi8(y, _mm_set1_epi8('}')));
	__m128i vs = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(',')),
				  _mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
	__m128i vt = _mm_or_si128(_mm_or_si128(vq, vb),
				  _mm_or_si128(vs, _mm_cmpeq_epi8(x, _mm_set1_epi8(' '))));

	m->quote |= (uint64_t)(uint32_t)_mm_movemask_epi8(vq) << sh;
	m->brack |= (uint64_t)(uint32_t)_mm_movemask_epi8(vb) << sh;
	m->sep |= (uint64_t)(uint32_t)_mm_movemask_epi8(vs) << sh;
	m->stop |= (uint64_t)(uint32_t)_mm_movemask_epi8(vt) << sh;
}
#endif

/*
 * Classify the 64 bytes at @p into @m; false when one of them is special
 * (below 0x20, '\\', 0x7f or above). Without AVX2, x | 0x20 is '{' only
 * for '[' and '{', '}' only for ']' and '}'.
 */
static inline bool classify64(const char *p, struct fblock *m)
{
	*m = (struct fblock){ 0, 0, 0, 0 };
#if defined(__AVX2__)
	__m256i c0 = classes32(_mm256_loadu_si256((const __m256i *)(const void *)p));
	__m256i c1 = classes32(_mm256_loadu_si256((const __m256i *)(const void *)(p + 32)));

	if (!_mm256_testz_si256(_mm256_or_si256(c0, c1), _mm256_set1_epi8(0x07)))
		return false;
	classify32(c0, m, 0);
	classify32(c1, m, 32);
	return true;
#elif defined(__SSE2__)
	for (unsigned h = 0; h < 4; h++) {
		if (special16_del(p + 16 * h))
			return false;
		classify16(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * h)), m, 16 * h);
	}
	return true;
#else
	for (unsigned i = 0; i < 64; i++) {
		unsigned char c = (unsigned char)p[i];
		uint64_t bit = UINT64_C(1) << i;

		if (is_special(c))
			return false;
		if (c == '"')
			m->quote |= bit;
		else if ((c | 0x20) == '{' || (c | 0x20) == '}')
			m->brack |= bit;
		else if (c == ',' || c == ':')
			m->sep |= bit;
		else if (c != ' ')
			continue;
		m->stop |= bit;
	}
	return true;
#endif
}

/*
 * The 64 bytes to classify for the block at @at of @buf[0..@len): in place;
 * for the last partial block, the 64 bytes ending at @len, with *@shift the
 * bytes of them already seen (bit 0 is then the first new byte after
 * shifting); for a text under 64 bytes, a copy in @pad filled up with
 * blanks. Nothing outside the text is read.
 */
static inline const char *block_at(const char *buf, size_t len, size_t at, char *pad,
				   unsigned *shift)
{
	size_t rem = len - at;

	*shift = 0;
	if (rem >= 64)
		return buf + at;
	if (len >= 64) {
		*shift = (unsigned)(64 - rem);
		return buf + len - 64;
	}
	memset(pad, ' ', 64);
	memcpy(pad, buf + at, rem);
	return pad;
}

/* Bit i of the result = XOR of bits 0..i of @x: with @x the quote bits, the
 * bytes from an opening quote up to (not including) its closing one. */
static inline uint64_t prefix_xor(uint64_t x)
{
#if defined(__PCLMUL__)
	/* carry-less multiply by all ones: bit i collects bits 0..i */
	__m128i r = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)x),
					 _mm_set1_epi8(-1), 0);

	return (uint64_t)_mm_cvtsi128_si64(r);
#else
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
#endif
}

/*
 * Scan up to FSCAN_CHUNK blocks from s->next into s->bits / s->n (word i
 * for the 64 bytes from s->next + 64 i); false at the end of the text or
 * on a special byte (then s->bad). The last partial block is the 64 bytes
 * ending at len, shifted so that bit 0 is its first new byte, or for a text
 * under 64 bytes a copy padded with blanks: nothing outside the text is read.
 */
static __attribute__((noinline)) bool fscan_chunk(struct fscan *s)
{
	char pad[64];
	struct fblock m;
	uint64_t in_str = s->in_str, prim_c = s->prim;
	size_t seps = s->seps, at = s->next;
	unsigned n = 0;

	if (at >= s->len)
		return false;
	while (at < s->len && n < FSCAN_CHUNK) {
		size_t rem = s->len - at;
		unsigned shift;
		const char *p = block_at(s->buf, s->len, at, pad, &shift);
		uint64_t instr, prim, bits;

		if (!classify64(p, &m)) {
			s->bad = true;
			s->next = s->len;
			return false;
		}
		m.quote >>= shift;
		instr = prefix_xor(m.quote) ^ in_str;
		/* ~stop shifted (not stop): the vacated top bits are no primitive */
		prim = (~m.stop >> shift) & ~instr;
		bits = m.quote | ((m.brack >> shift) & ~instr) |
		       (prim & ~(prim << 1 | prim_c)) |    /* primitive starts */
		       (~prim & (prim << 1 | prim_c));      /* bytes after one */
		if (rem < 64)
			bits &= (UINT64_C(1) << rem) - 1;
		seps += (size_t)__builtin_popcountll((m.sep >> shift) & ~instr);
		in_str = (uint64_t)((int64_t)instr >> 63);
		prim_c = prim >> 63;
		s->bits[n++] = bits;
		at += rem < 64 ? rem : 64;
	}
	s->in_str = in_str;
	s->prim = prim_c;
	s->seps = seps;
	s->next = at;
	s->n = n;
	return true;
}

/*
 * The next position of the scan: *@bits holds the untaken positions of the
 * word at *@base, *@wi the next word of s->bits. Returns s->len when there
 * is none (end of text, or the scan gave up). Inlined, these three stay in
 * registers.
 */
static inline __attribute__((always_inline))
size_t fscan_next(struct fscan *s, uint64_t *bits, size_t *base, unsigned *wi)
{
	size_t p;

	while (unlikely(*bits == 0)) {
		if (*wi >= s->n) {
			*base = s->next;
			if (*base >= s->len || !fscan_chunk(s))
				return s->len;
			*wi = 1;
			*bits = s->bits[0];
			continue;   /* *base is right: the chunk starts there */
		}
		*base += 64;
		*bits = s->bits[(*wi)++];
	}
	p = *base + (size_t)__builtin_ctzll(*bits);
	*bits &= *bits - 1;
	return p;
}

/*
 * A cheap fingerprint of a key or name @s[0..@n): the length (mod 2^24)
 * and the first byte (0 for an empty one). Equal texts have equal ones; a
 * match is then confirmed bytewise.
 */
static inline uint32_t key_sig(const char *s, size_t n)
{
	return (uint32_t)n << 8 | (n ? (unsigned char)s[0] : 0u);
}

/* Fingerprints of the wanted names; unused lanes are all ones, which no
 * plain key has (its first byte would be 0xff). */
struct keysigs {
	uint32_t sig[DP_EVENT_WANT_MAX];
};

static inline void keysigs_fill(struct keysigs *ks, const struct want *w, unsigned nw)
{
	memset(ks->sig, 0xff, sizeof(ks->sig));
	for (unsigned k = 0; k < nw; k++)
		ks->sig[k] = key_sig(w[k].name, w[k].nlen);
}

/* Bit k set when wanted name k has the fingerprint @sig. */
static inline unsigned keysigs_find(const struct keysigs *ks, uint32_t sig)
{
#if defined(__AVX2__)
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)ks->sig);

	return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(
		_mm256_cmpeq_epi32(v, _mm256_set1_epi32((int)sig))));
#else
	unsigned m = 0;

	for (unsigned k = 0; k < DP_EVENT_WANT_MAX; k++)
		m |= (unsigned)(ks->sig[k] == sig) << k;
	return m;
#endif
}

/*
 * A root key @s[0..@n) of a plain text: the first wanted field it names
 * gets value slot k (its own index) and k is returned; -1 when it names
 * none, -2 when that field was already seen (the duplicate error is left
 * to the jsmn path). A second field configured with the same name is
 * given the same slot by fast_aliases() at the end, as match_key() records
 * both; since the first one is always found first, its second occurrence
 * is still a duplicate.
 */
static inline int fast_key(const struct keysigs *ks, const char *s, size_t n, struct want *w)
{
	for (unsigned m = keysigs_find(ks, key_sig(s, n)); m; m &= m - 1) {
		unsigned k = (unsigned)__builtin_ctz(m);

		if (n != w[k].nlen || !wr_bytes_eq(s, w[k].name, n))
			continue;
		if (w[k].tok >= 0)
			return -2;
		w[k].tok = (int)k;
		return (int)k;
	}
	return -1;
}

/* Wanted fields not found whose name equals that of an earlier field that
 * was share its value (see fast_key()). */
static inline void fast_aliases(const struct keysigs *ks, struct want *w, unsigned nw)
{
	for (unsigned k = 1; k < nw; k++) {
		if (w[k].tok >= 0)
			continue;
		for (unsigned j = 0; j < k; j++) {
			if (w[j].tok < 0 || ks->sig[j] != ks->sig[k] || w[j].nlen != w[k].nlen ||
			    !wr_bytes_eq(w[j].name, w[k].name, w[k].nlen))
				continue;
			w[k].tok = w[j].tok;
			w[k].kind = w[j].kind;
			break;
		}
	}
}

static inline size_t skip_blanks(const char *b, size_t pos, size_t len)
{
	while (pos < len && b[pos] == ' ')
		pos++;
	return pos;
}

/* Record a root value for the wanted field @k (the readers use type,
 * start and end only). */
static inline void fast_keep(jsmntok_t *tok, struct want *w, int k, jsmntype_t type,
			     size_t start, size_t end, enum jkind kind)
{
	tok[k].type = type;
	tok[k].start = (int)start;
	tok[k].end = (int)end;
	w[k].kind = kind;
}

/*
 * Longest text for the fast path: an n-token text has at least 2n - 1
 * bytes, so a shorter one cannot exceed DP_EVENT_TOKENS_MAX and the walk
 * need not count tokens (any default-sized event qualifies).
 */
#define FAST_LEN_MAX (2 * (size_t)DP_EVENT_TOKENS_MAX - 1)

/*
 * The fast path of parse_doc() for a text of at most FAST_LEN_MAX bytes
 * whose first non-blank byte, at @p0, is '{'. Returns true when it parsed
 * the whole text: then the text is plain and valid, and the values of the
 * wanted keys present are in @tok[w[k].tok] with their kinds in w[k].kind,
 * as the jsmn path would give them. Returns false ("not handled")
 * otherwise, with w[k].tok reset. Writes no message: every error is left
 * to the jsmn path.
 *
 * A goto state machine like validate_doc(). @objs is the stack of open
 * containers, one bit each (1: object) under a leading 1, so the depth is
 * its bit length - 1: the root object alone is 0b11. @hit: the wanted
 * field named by the current root key (its value slot), or -1.
 */
static bool fast_doc(jsmntok_t *tok, const char *buf, size_t len, size_t p0,
		     struct want *w, unsigned nw)
{
	struct fscan s;
	struct keysigs ks;
	uint64_t objs = 3, bits = 0;
	unsigned wi = 0;
	size_t p, e, a, base = 0, nsep = 0;
	int hit = -1;
	enum jkind k;
	char c;

	s.buf = buf;
	s.len = len;
	s.next = 0;
	s.in_str = 0;
	s.prim = 0;
	s.seps = 0;
	s.bad = false;
	s.n = 0;
#define NEXT() fscan_next(&s, &bits, &base, &wi)
#define AT_ROOT() (objs < 4)
	keysigs_fill(&ks, w, nw);
	if (NEXT() != p0)
		goto no;

obj_open:	/* after '{': a key or '}' */
	p = NEXT();
	if (p >= len)
		goto no;
	if (buf[p] == '}') {
		a = p + 1;
		goto close;
	}
	goto key_at_p;

key:		/* after ',' in an object */
	p = NEXT();
key_at_p:
	if (p >= len || buf[p] != '"')
		goto no;
	e = NEXT();     /* the closing quote: nothing else lies between */
	if (e >= len)
		goto no;
	if (AT_ROOT()) {
		hit = fast_key(&ks, buf + p + 1, e - p - 1, w);
		if (hit == -2)
			goto no;
	}
	a = e + 1;
	if (a < len && buf[a] == ' ')
		a = skip_blanks(buf, a, len);
	if (a >= len || buf[a] != ':')
		goto no;
	nsep++;

value:		/* after ':', or ',' in an array */
	p = NEXT();
	if (p >= len)
		goto no;
value_at_p:
	c = buf[p];
	if (c == '"') {
		e = NEXT();
		if (e >= len)
			goto no;
		if (AT_ROOT() && hit >= 0)
			fast_keep(tok, w, hit, JSMN_STRING, p + 1, e, JK_STRING);
		a = e + 1;
		goto after;
	}
	if ((c | 0x20) == '{') {
		if (objs >> DP_EVENT_NESTING_MAX)
			goto no;        /* DP_EVENT_NESTING_MAX open already */
		/* the end is set when it closes */
		if (AT_ROOT() && hit >= 0)
			fast_keep(tok, w, hit, c == '{' ? JSMN_OBJECT : JSMN_ARRAY, p, 0,
				  c == '{' ? JK_OBJECT : JK_ARRAY);
		objs = objs << 1 | (c == '{');
		if (c == '{')
			goto obj_open;
		goto arr_open;
	}
	if ((c | 0x20) == '}' || c == ',' || c == ':')
		goto no;
	/* a primitive: the next position is the byte after it */
	e = NEXT();
	if (e >= len || check_primitive(buf + p, e - p, p, &k, NULL, 0) != DP_EVENT_OK)
		goto no;
	if (AT_ROOT() && hit >= 0)
		fast_keep(tok, w, hit, JSMN_PRIMITIVE, p, e, k);
	a = e;
	c = buf[a];
	if (c == ',')
		goto comma;
	if (c == ' ')
		goto after;
	goto closer;    /* the position taken was the closer's */

arr_open:	/* after '[': a value or ']' */
	p = NEXT();
	if (p >= len)
		goto no;
	if (buf[p] != ']')
		goto value_at_p;
	a = p + 1;
	goto close;

after:		/* @a: the byte after a value, its position not taken */
	if (a < len && buf[a] == ' ')
		a = skip_blanks(buf, a, len);
	if (a >= len)
		goto no;
	if (buf[a] == ',')
		goto comma;
	if (NEXT() != a)
		goto no;
	goto closer;

comma:
	nsep++;
	if (objs & 1)
		goto key;
	goto value;

closer:		/* @a: a taken position that must close the innermost container */
	if (buf[a] != ((objs & 1) ? '}' : ']'))
		goto no;
	a++;
close:		/* the innermost container ended before @a */
	objs >>= 1;
	if (objs > 1) {
		if (AT_ROOT() && hit >= 0)
			tok[hit].end = (int)a;
		goto after;
	}

	/* the root closed: nothing may follow (trailing blanks were trimmed),
	 * every block must have been plain, no ',' or ':' out of place */
	if (NEXT() < len || s.bad || s.seps != nsep)
		goto no;
	fast_aliases(&ks, w, nw);
	return true;
#undef AT_ROOT
#undef NEXT
no:
	for (unsigned i = 0; i < nw; i++)
		w[i].tok = -1;
	return false;
}

/* ------------------------------------------------------ learned shapes */

/*
 * Events from one producer have one shape: the same keys in the same order,
 * the same spacing, values of the same kinds; only the values differ. After
 * fast_doc() has read a flat object (no nested values) its shape is learned
 * (shape_learn): the text with the values cut out, as literals between
 * them. A null value stays in the literal after it (only a null matches
 * there; another primitive is another shape), so the usual click has no
 * primitive to check and its scan leaves out the stop bits: 977 -> 937
 * instructions per click (session 11). A later text is tried against the
 * shapes first (shape_read): it matches when it is plain, each literal is
 * there byte for byte and each value in between is a string body (up to
 * the next quote) or a primitive that passes check_primitive(). Such a
 * text is valid JSON with the same
 * tokens as the one the shape came from (the same keys, so the same wanted
 * values and no duplicates that were not there), so fast_doc() would accept
 * it and record the same: it answers for it, at ~1/5 of the cost. Any
 * other text goes on to fast_doc() as before. The differential tests run
 * with shapes on.
 */

/* Quote bits of @buf[0..@len) (len <= SHAPE_LEN_MAX) into @qm and, with
 * @sm, the bits of the bytes that end a primitive (quote, bracket, ',', ':',
 * ' ') into @sm, 64 bytes per word; false when a byte is special (the text
 * is not plain). Most shapes have no primitive to read (null is in their
 * literals), so the stop bits are left out unless asked for. */
static inline bool shape_scan(const char *buf, size_t len, uint64_t *qm, uint64_t *sm)
{
	char pad[64];
	struct fblock m;

	for (size_t at = 0, wi = 0; at < len; at += 64, wi++) {
		unsigned shift;
		const char *p = block_at(buf, len, at, pad, &shift);

		if (!classify64(p, &m))
			return false;
		qm[wi] = m.quote >> shift;
		if (sm)
			sm[wi] = m.stop >> shift;
	}
	return true;
}

/* The first set bit of @qm at or after @pos (< @len), or @len. */
static inline size_t next_bit(const uint64_t *qm, size_t pos, size_t len)
{
	size_t wi = pos >> 6;
	uint64_t bits = qm[wi] & (~UINT64_C(0) << (pos & 63));

	while (bits == 0) {
		if (++wi * 64 >= len)
			return len;
		bits = qm[wi];
	}
	pos = wi * 64 + (size_t)__builtin_ctzll(bits);
	return pos < len ? pos : len;
}

/* The @avail bytes readable at @b start with the literal @lit[0..@n),
 * which has 32 readable bytes past its start: one 32-byte compare when the
 * text has 32 left (the usual literal, away from the end), else a length
 * check and wr_bytes_eq(). */
static inline bool lit_same(const char *b, size_t avail, const char *lit, size_t n)
{
#if defined(__AVX2__)
	if (likely(avail >= 32 && n <= 32)) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)b);
		__m256i y = _mm256_loadu_si256((const __m256i *)(const void *)lit);
		uint32_t eq = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, y));

		return (eq | (uint32_t)(UINT64_C(0xffffffff) << n)) == UINT32_MAX;
	}
#endif
	return n <= avail && wr_bytes_eq(b, lit, n);
}

/* Shape @sh was learned for the wanted keys @wc as they are now. */
static inline bool shape_for(const struct shape *sh, const struct wants *wc)
{
	return sh->nv != 0 && sh->wc == wc && sh->gen == wc->gen;
}

/*
 * Match the plain text @buf[0..@len) (quote bits @qm, stop bits @sm when
 * @sh has primitives) against @sh; on a match the values' bytes and kinds
 * are in @sp.
 */
static bool shape_match(const struct shape *sh, const char *buf, size_t len,
			const uint64_t *qm, const uint64_t *sm, struct spans *sp)
{
	const char *lit = sh->lit;
	size_t pos = 0;
	uint32_t special = sh->prim | sh->nul;

	for (unsigned i = 0;; i++) {
		size_t n = (size_t)(sh->lit_at[i + 1] - sh->lit_at[i]);

		if (!lit_same(buf + pos, len - pos, lit, n))
			return false;
		pos += n;
		lit += n;
		if (i == sh->nv)
			break;
		/* a value and a literal must follow: a text that ends here is
		 * another shape (and the bit words only cover the text) */
		if (pos >= len)
			return false;
		sp->vs[i] = (uint32_t)pos;
		if (!(special >> i & 1)) {
			/* a string body: up to the closing quote, which starts
			 * the next literal */
			uint64_t bits = qm[pos >> 6] >> (pos & 63);

			pos = bits != 0 ? pos + (size_t)__builtin_ctzll(bits) : next_bit(qm, pos, len);
			if (pos >= len)
				return false;
			sp->ve[i] = (uint32_t)pos;
			sp->kind[i] = JK_STRING;
		} else if (sh->nul >> i & 1) {
			/* null: the next literal starts with it */
			sp->ve[i] = (uint32_t)pos + 4;
			sp->kind[i] = JK_NULL;
		} else {
			/* a primitive: up to the next byte that ends one; the
			 * next literal starts with the ',', '}' or ' ' there */
			size_t e = next_bit(sm, pos, len);
			enum jkind kind;

			if (e == pos || e >= len ||
			    check_primitive(buf + pos, e - pos, pos, &kind, NULL, 0) != DP_EVENT_OK)
				return false;
			pos = e;
			sp->ve[i] = (uint32_t)pos;
			sp->kind[i] = (uint8_t)kind;
		}
	}
	return pos == len;
}

/*
 * Learn the shape of @buf[0..@len), which fast_doc() has just read (valid,
 * plain, an object at the top; @w / @tok hold what it recorded), into the
 * next slot of @ctx. Nothing is learned for a nested value, more than
 * SHAPE_VALUES values or more than SHAPE_LIT_MAX literal bytes.
 */
static void shape_learn(struct dp_event_ctx *ctx, const char *buf, size_t len,
			const struct wants *wc, const struct want *w, unsigned nw)
{
	struct shape *sh = &ctx->shapes[ctx->shape_next];
	uint16_t vs[SHAPE_VALUES];
	size_t pos = skip_blanks(buf, 0, len) + 1, lit0 = 0, nlit = 0;
	unsigned nv = 0;
	uint32_t prim = 0, nul = 0;
	uint16_t at[SHAPE_VALUES + 1];
	char lit[SHAPE_LIT_MAX];

	if (len > SHAPE_LEN_MAX || nw > DP_EVENT_WANT_MAX)
		return;
	pos = skip_blanks(buf, pos, len);
	if (buf[pos] != '}') {
		for (;;) {
			size_t e, vstart;

			/* "key" : */
			pos = (const char *)memchr(buf + pos + 1, '"', len - pos - 1) - buf + 1;
			pos = skip_blanks(buf, pos, len) + 1;
			pos = skip_blanks(buf, pos, len);
			if (nv == SHAPE_VALUES || buf[pos] == '{' || buf[pos] == '[')
				return;
			if (buf[pos] == '"') {
				vstart = pos + 1;
				e = (size_t)((const char *)memchr(buf + vstart, '"', len - vstart) - buf);
			} else {
				vstart = pos;
				for (e = pos; buf[e] != ',' && buf[e] != '}' && buf[e] != ' '; e++)
					;
				if (e - pos == 4 && memcmp(buf + pos, "null", 4) == 0)
					nul |= 1u << nv;
				else
					prim |= 1u << nv;
			}
			/* the literal up to the value */
			if (nlit + (vstart - lit0) > SHAPE_LIT_MAX)
				return;
			at[nv] = (uint16_t)nlit;
			memcpy(lit + nlit, buf + lit0, vstart - lit0);
			nlit += vstart - lit0;
			vs[nv++] = (uint16_t)vstart;
			/* a null stays in the next literal: only a null matches */
			lit0 = nul >> (nv - 1) & 1 ? vstart : e;
			pos = skip_blanks(buf, (prim | nul) >> (nv - 1) & 1 ? e : e + 1, len);
			if (buf[pos] != ',')
				break;
			pos = skip_blanks(buf, pos + 1, len);
		}
	}
	if (nlit + (len - lit0) > SHAPE_LIT_MAX)
		return;
	at[nv] = (uint16_t)nlit;
	memcpy(lit + nlit, buf + lit0, len - lit0);
	nlit += len - lit0;

	sh->nv = 0;
	for (unsigned k = 0; k < nw; k++) {
		int v = -1;

		if (w[k].tok >= 0) {
			for (unsigned i = 0; i < nv && v < 0; i++)
				if (vs[i] == ctx->tok[w[k].tok].start)
					v = (int)i;
			if (v < 0)
				return;    /* cannot happen for a flat object */
		}
		sh->val_of[k] = (int8_t)v;
		sh->tok_of[k] = (int8_t)w[k].tok;
	}
	sh->str_keys = sh->prim_keys = 0;
	for (unsigned k = 0; k < nw; k++) {
		int v = sh->val_of[k];

		if (v < 0 || (nul >> v & 1))
			continue;
		if (prim >> v & 1)
			sh->prim_keys |= (uint8_t)(1u << k);
		else
			sh->str_keys |= (uint8_t)(1u << k);
	}
	sh->wc = wc;
	sh->gen = wc->gen;
	sh->prim = prim;
	sh->nul = nul;
	memcpy(sh->lit_at, at, sizeof(at[0]) * (nv + 1));
	sh->lit_at[nv + 1] = (uint16_t)nlit;
	memcpy(sh->lit, lit, nlit);
	sh->nv = nv;
	ctx->shape_hit = ctx->shape_next;
	ctx->shape_next = (ctx->shape_next + 1) % SHAPE_N;
}

/*
 * The learned shape of @ctx for the wanted keys @wc that @buf[0..@len)
 * matches, with its values in @sp; NULL when none does.
 */
static const struct shape *shape_find(struct dp_event_ctx *ctx, const char *buf, size_t len,
				      const struct wants *wc, struct spans *sp)
{
	uint64_t qm[SHAPE_LEN_MAX / 64], sm[SHAPE_LEN_MAX / 64];
	bool scanned = false, stops = false;

	for (unsigned t = 0; t < SHAPE_N; t++) {
		unsigned i = (ctx->shape_hit + t) % SHAPE_N;
		const struct shape *sh = &ctx->shapes[i];

		if (!shape_for(sh, wc))
			continue;
		if (!scanned || (sh->prim != 0 && !stops)) {
			/* the stop bits only for a shape with primitives to read */
			stops = sh->prim != 0;
			if (len > SHAPE_LEN_MAX || !shape_scan(buf, len, qm, stops ? sm : NULL))
				return NULL;
			scanned = true;
		}
		if (shape_match(sh, buf, len, qm, sm, sp)) {
			ctx->shape_hit = i;
			return sh;
		}
	}
	return NULL;
}

/* The wanted keys @w[0..@nw) (as wants_of() made them: absent) as
 * parse_doc() gives them, from the values @sp that shape @sh found. */
static void shape_wants(const struct shape *sh, const struct spans *sp, struct want *w,
			unsigned nw)
{
	for (unsigned k = 0; k < nw; k++) {
		int v = sh->val_of[k];

		if (v < 0)
			continue;
		w[k].tok = sh->tok_of[k];
		w[k].kind = (enum jkind)sp->kind[v];
		w[k].vs = sp->vs[v];
		w[k].ve = sp->ve[v];
	}
}

/*
 * Read @buf[0..@len) by a learned shape of @ctx for the wanted keys @w, if
 * one matches: true with @w filled in as parse_doc() gives it.
 */
static bool shape_read(struct dp_event_ctx *ctx, const char *buf, size_t len,
		       const struct wants *wc, struct want *w, unsigned nw)
{
	struct spans sp;
	const struct shape *sh = shape_find(ctx, buf, len, wc, &sp);

	if (sh)
		shape_wants(sh, &sp, w, nw);
	return sh != NULL;
}

/* The bytes of each present wanted value, from its token in @tok (the
 * shape path sets them directly). */
static inline void want_spans(const jsmntok_t *tok, struct want *w, unsigned nw)
{
	for (unsigned k = 0; k < nw; k++) {
		if (w[k].tok >= 0) {
			w[k].vs = (uint32_t)tok[w[k].tok].start;
			w[k].ve = (uint32_t)tok[w[k].tok].end;
		}
	}
}

/* Kind of a validated token of @buf. */
static enum jkind tok_kind(const char *buf, const jsmntok_t *t)
{
	const char *s = buf + t->start;
	size_t n = (size_t)(t->end - t->start);

	switch (t->type) {
	case JSMN_OBJECT:
		return JK_OBJECT;
	case JSMN_ARRAY:
		return JK_ARRAY;
	case JSMN_STRING:
		return JK_STRING;
	default:
		/* validated: a literal or a number */
		if (s[0] == 'n')
			return JK_NULL;
		if (s[0] == 't' || s[0] == 'f')
			return JK_BOOL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
				return JK_DOUBLE;
		return JK_INT;
	}
}

/*
 * Tokenize and validate @buf; on success the root is an object, @w holds
 * the value tokens (in ctx->tok) and kinds of the wanted keys present and
 * *@plain tells whether the text is all_plain().
 */
static int parse_doc(struct dp_event_ctx *ctx, const char *buf, size_t len,
		     uint32_t max_len, const struct wants *wc, struct want *w, unsigned nw,
		     bool shape_tried, bool *plain,
		     char *why, size_t whylen)
{
	const char *nul;
	size_t p0;
	enum jkind k;
	int r, rc;

	if (len > max_len)
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "event is %zu bytes, max %u",
			    len, max_len);
	/* Kafka values and UDP payloads often end in a newline or NUL padding */
	while (len > 0 && (unsigned char)buf[len - 1] <= ' ' &&   /* one compare for '}' */
	       (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '\0' ||
		buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0)
		return bad_json(why, whylen, 0, "empty input");
	p0 = skip_ws(buf, 0, len);   /* < len: the last byte is not blank */
	if (buf[p0] != '{' && buf[p0] != '[' && buf[p0] != '"') {
		/* strict jsmn reports a bare top-level primitive as partial, so
		 * check it here: valid JSON that is not an object is ETYPE */
		rc = check_primitive(buf + p0, len - p0, p0, &k, why, whylen);
		if (rc != DP_EVENT_OK)
			return rc;
		return fail(why, whylen, DP_EVENT_ETYPE, "top-level value is %s, want object",
			    jkind_name[k]);
	}
	if (buf[p0] == '{' && len <= FAST_LEN_MAX && !ctx->no_fast) {
		if (!shape_tried && shape_read(ctx, buf, len, wc, w, nw)) {
			ctx->last_fast = ctx->last_shape = true;
			*plain = true;
			return DP_EVENT_OK;
		}
		if (fast_doc(ctx->tok, buf, len, p0, w, nw)) {
			shape_learn(ctx, buf, len, wc, w, nw);
			want_spans(ctx->tok, w, nw);
			ctx->last_fast = true;
			*plain = true;
			return DP_EVENT_OK;
		}
	}
	jsmn_init(&ctx->p);
	r = jsmn_parse(&ctx->p, buf, len, ctx->tok, DP_EVENT_TOKENS_MAX);
	if (r < 0) {
		switch (r) {
		case JSMN_ERROR_NOMEM:
			return fail(why, whylen, DP_EVENT_EJSON,
				    "invalid JSON: more than %u tokens", DP_EVENT_TOKENS_MAX);
		case JSMN_ERROR_INVAL:
			return bad_json(why, whylen, ctx->p.pos,
					ctx->p.pos < len && buf[ctx->p.pos] == '"'
					? "bad string" : "unexpected character");
		default:
			/* jsmn stops at a NUL byte as if the input ended there */
			nul = memchr(buf, '\0', len);
			if (nul)
				return bad_json(why, whylen, (size_t)(nul - buf), "unexpected NUL byte");
			return bad_json(why, whylen, len, "unexpected end of data");
		}
	}
	*plain = all_plain(buf, len);
	rc = validate_doc(ctx->tok, (int)ctx->p.toknext, buf, len, w, nw, *plain, why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	if (ctx->tok[0].type != JSMN_OBJECT)
		return fail(why, whylen, DP_EVENT_ETYPE, "top-level value is %s, want object",
			    ctx->tok[0].type == JSMN_ARRAY ? "array" : "string");
	for (unsigned k = 0; k < nw; k++)
		if (w[k].tok >= 0)
			w[k].kind = tok_kind(buf, &ctx->tok[w[k].tok]);
	want_spans(ctx->tok, w, nw);
	return DP_EVENT_OK;
}

/* memcpy(@dst, @s, @n), without the call for @n <= 32 (kept strings
 * usually are): two overlapping loads and stores of the widest size that
 * fits; nothing outside the n bytes is read or written. */
static inline void copy_kept(char *dst, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t c, e;

	if (n > 32) {
		memcpy(dst, s, n);
		return;
	}
	if (n >= 16) {
		uint64_t x[2], y[2];

		memcpy(x, s, 16);
		memcpy(y, s + n - 16, 16);
		memcpy(dst, x, 16);
		memcpy(dst + n - 16, y, 16);
	} else if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&c, s, 4);
		memcpy(&e, s + n - 4, 4);
		memcpy(dst, &c, 4);
		memcpy(dst + n - 4, &e, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = s[i];
	}
}

/* Parsed input for the field readers. */
struct doc {
	const char *buf;
	bool plain;                  /* all_plain(): no escapes, controls, UTF-8 */
};


/*
 * Whether @w has a value (*@has; its bytes: w->vs .. w->ve of the text). A
 * required key that is absent or null is EMISSING; an optional one sets
 * *@has = false and returns OK.
 */
static inline int lookup(const struct want *w, bool required, bool *has, char *why,
			 size_t whylen)
{
	*has = false;
	if (w->tok >= 0) {
		if (w->kind != JK_NULL) {
			*has = true;
			return DP_EVENT_OK;
		}
		if (required)
			return fail(why, whylen, DP_EVENT_EMISSING, "missing field \"%s\" (null)",
				    w->name);
		return DP_EVENT_OK;
	}
	if (required)
		return fail(why, whylen, DP_EVENT_EMISSING, "missing field \"%s\"", w->name);
	return DP_EVENT_OK;
}

/*
 * Unescape the string @w into the ctx scratch. Absent optional keys give ""
 * and *@present = false.
 */
static inline __attribute__((always_inline))
int take_str(struct dp_event_ctx *ctx, const struct doc *d, const struct want *w,
		    bool required, uint32_t max, const char **p, uint32_t *plen,
		    bool *present, char *why, size_t whylen)
{
	const char *s;
	size_t raw, n;
	bool esc, has;
	char *dst;
	int rc;

	*p = "";
	*plen = 0;
	if (present)
		*present = false;
	rc = lookup(w, required, &has, why, whylen);
	if (rc != DP_EVENT_OK || !has)
		return rc;
	if (w->kind != JK_STRING)
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want string",
			    w->name, jkind_name[w->kind]);
	s = d->buf + w->vs;
	raw = (size_t)(w->ve - w->vs);
	esc = !d->plain && memchr(s, '\\', raw) != NULL;
	n = esc ? decode_string(s, raw, NULL) : raw;
	if (n > max)
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "field \"%s\" is %zu bytes, max %u",
			    w->name, n, max);
	if (required && n == 0)
		return fail(why, whylen, DP_EVENT_EVALUE, "field \"%s\" is empty", w->name);
	/* cannot overflow: the bounds of one event's strings sum below
	 * DP_EVENT_SCRATCH; checked anyway so that a future field cannot */
	if (ctx->used + n + 1 > sizeof(ctx->scratch))
		return fail(why, whylen, DP_EVENT_EOVERSIZE, "field \"%s\": scratch full", w->name);
	dst = ctx->scratch + ctx->used;
	if (esc)
		decode_string(s, raw, dst);
	else
		copy_kept(dst, s, n);
	/* raw control bytes were EJSON; these come from escapes (or are DEL);
	 * a plain text has neither */
	for (size_t i = 0; !d->plain && i < n; i++) {
		unsigned char c = (unsigned char)dst[i];

		if (c < 0x20 || c == 0x7f)
			return fail(why, whylen, DP_EVENT_EVALUE,
				    "field \"%s\" has control byte 0x%02x at offset %zu",
				    w->name, c, i);
	}
	dst[n] = '\0';
	ctx->used += n + 1;
	*p = dst;
	*plen = (uint32_t)n;
	if (present)
		*present = true;
	return DP_EVENT_OK;
}

static int take_ts(const struct doc *d, const struct want *w, int64_t *ts_us,
		   char *why, size_t whylen)
{
	bool has;
	int rc = lookup(w, true, &has, why, whylen);
	char txt[DP_EVENT_TS_TEXT_MAX + 1];
	/* unescaping never lengthens: 6 raw bytes per decoded byte at most */
	char tb[6 * DP_EVENT_TS_TEXT_MAX];
	const char *s;
	size_t n;

	if (rc != DP_EVENT_OK)
		return rc;
	s = d->buf + w->vs;
	n = (size_t)(w->ve - w->vs);
	switch (w->kind) {
	case JK_INT: {
		/* the grammar was checked: -?digits without leading zeros */
		bool neg = s[0] == '-';
		int64_t ms = 0;
		bool ok = n - neg <= 15;

		for (size_t i = neg; ok && i < n; i++)
			ms = ms * 10 + (s[i] - '0');
		if (!ok || (neg && ms != 0) || ms > DP_EVENT_MAX_MS) {
			printable(txt, s, n, DP_EVENT_TS_TEXT_MAX);
			return fail(why, whylen, DP_EVENT_ETIMESTAMP,
				    "field \"%s\": epoch ms %s out of range", w->name, txt);
		}
		*ts_us = ms * 1000;
		return DP_EVENT_OK;
	}
	case JK_STRING:
		if (!d->plain && n <= sizeof(tb) && memchr(s, '\\', n)) {
			n = decode_string(s, n, tb);
			s = tb;
		}
		if (n <= DP_EVENT_TS_TEXT_MAX && dp_event_parse_ts(s, n, ts_us) == 0)
			return DP_EVENT_OK;
		printable(txt, s, n, DP_EVENT_TS_TEXT_MAX);
		return fail(why, whylen, DP_EVENT_ETIMESTAMP,
			    "field \"%s\": bad timestamp \"%s\"", w->name, txt);
	default:
		return fail(why, whylen, DP_EVENT_ETYPE,
			    "field \"%s\" is %s, want string or integer", w->name,
			    jkind_name[w->kind]);
	}
}

/*
 * A checked JSON number without exponent and with at most 15 digits in all
 * ("19.99", "-0.5", "100") into *@a, exactly as strtod() rounds it: the
 * digits are an integer below 2^53 and 10^k (k <= 15) is exact, so the one
 * IEEE division is correctly rounded (Clinger's fast path). Returns false
 * for anything else, which goes to strtod(). Saves ~400 instructions.
 */
static bool decimal_fast(const char *s, size_t n, double *a)
{
	static const double p10[16] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
					 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	bool neg = n > 0 && s[0] == '-';
	uint64_t m = 0;
	unsigned nd = 0, frac = 0;
	bool dot = false;

	for (size_t i = neg; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			dot = true;
			continue;
		}
		if (!is_digit(c) || ++nd > 15)
			return false;    /* e/E: exponent form */
		m = m * 10 + (uint64_t)(c - '0');
		frac += dot;
	}
	*a = (double)m / p10[frac];
	if (neg)
		*a = -*a;
	return true;
}

static int take_amount(const struct doc *d, const struct want *w, double max, double *amount,
		       char *why, size_t whylen)
{
	bool has;
	int rc = lookup(w, true, &has, why, whylen);
	char nb[DP_EVENT_NUM_TEXT_MAX + 1];
	enum jkind k;
	size_t n;
	double a;

	if (rc != DP_EVENT_OK)
		return rc;
	k = w->kind;
	if (k != JK_INT && k != JK_DOUBLE)
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want number",
			    w->name, jkind_name[k]);
	n = (size_t)(w->ve - w->vs);
	if (n > DP_EVENT_NUM_TEXT_MAX)
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is a %zu-byte number, max %u",
			    w->name, n, DP_EVENT_NUM_TEXT_MAX);
	if (!decimal_fast(d->buf + w->vs, n, &a)) {
		/* the value is not NUL-terminated in @buf; the grammar is
		 * checked, so strtod reads all of it */
		memcpy(nb, d->buf + w->vs, n);
		nb[n] = '\0';
		a = strtod(nb, NULL);
	}
	/* 1e400 overflows to Inf; NaN and Infinity literals are not JSON */
	if (!isfinite(a))
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is not a finite number",
			    w->name);
	if (a < 0)
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is negative (%g)", w->name, a);
	if (a > max)
		return fail(why, whylen, DP_EVENT_EAMOUNT, "field \"%s\" is %g, above max %g",
			    w->name, a, max);
	*amount = a;
	return DP_EVENT_OK;
}

static int take_currency(const struct doc *d, const struct want *w, char cur[4],
			 char *why, size_t whylen)
{
	bool has;
	int rc = lookup(w, true, &has, why, whylen);
	char cb[3 * 6];
	const char *s;
	size_t n;

	if (rc != DP_EVENT_OK)
		return rc;
	if (w->kind != JK_STRING)
		return fail(why, whylen, DP_EVENT_ETYPE, "field \"%s\" is %s, want string",
			    w->name, jkind_name[w->kind]);
	s = d->buf + w->vs;
	n = (size_t)(w->ve - w->vs);
	if (!d->plain && n <= sizeof(cb) && memchr(s, '\\', n)) {
		n = decode_string(s, n, cb);
		s = cb;
	}
	if (n != 3)
		return fail(why, whylen, DP_EVENT_EVALUE, "field \"%s\" must be 3 ASCII letters",
			    w->name);
	for (int i = 0; i < 3; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return fail(why, whylen, DP_EVENT_EVALUE,
				    "field \"%s\" must be 3 ASCII letters", w->name);
		cur[i] = c;
	}
	cur[3] = '\0';
	return DP_EVENT_OK;
}

/* -------------------------------------------------------------- parsers */

static void start(struct dp_event_ctx *ctx, char *why, size_t whylen)
{
	ctx->used = 0;
	ctx->last_fast = ctx->last_shape = false;
	if (why && whylen)
		why[0] = '\0';
}

/* The configured @name, or the default @def when NULL. */
static inline struct want want_of(const char *name, const struct want *def)
{
	return name ? (struct want){ name, strlen(name), -1, JK_NULL } : *def;
}

/* The configured name at offset @at of @fin (NULL fin: none). */
static inline const char *name_in(const struct dp_event_fields *fin, size_t at)
{
	const char *n = NULL;

	if (fin)
		memcpy(&n, (const char *)fin + at, sizeof(n));
	return n;
}

/*
 * The wanted keys @c->w[0..@nw) for the names in @fin at offsets @name_at
 * (NULL: the default @def), kept when these are the names (by address)
 * they were prepared from: the bytes of @fin from the first of our names to
 * the last are compared with those it was made from, one block compare;
 * strlen() per name and call cost ~15 ns an event. Names are not to be
 * changed in place (see struct dp_event_fields).
 */
static inline void wants_of(struct dp_event_ctx *ctx, struct wants *c,
			    const struct dp_event_fields *fin, const size_t *name_at,
			    const struct want *def, unsigned nw)
{
	bool same = c->ok && (fin ? !c->no_fin &&
			      wr_bytes_eq((const char *)fin + c->lo, c->names + c->lo, c->hi - c->lo)
			      : c->no_fin);

	if (!same) {
		c->lo = FIELDS_NAMES_B;
		c->hi = 0;
		for (unsigned k = 0; k < nw; k++) {
			c->w[k] = want_of(name_in(fin, name_at[k]), &def[k]);
			c->lo = name_at[k] < c->lo ? (uint32_t)name_at[k] : c->lo;
			c->hi = name_at[k] + sizeof(const char *) > c->hi
				? (uint32_t)(name_at[k] + sizeof(const char *)) : c->hi;
		}
		if (fin)
			memcpy(c->names, fin, FIELDS_NAMES_B);
		c->no_fin = fin == NULL;
		c->ok = true;
		c->gen = ++ctx->wgen;
	}
}

/* The input bound of @f (NULL: defaults): 0 = default, capped at the limit. */
static uint32_t max_len_of(const struct dp_event_fields *f)
{
	if (!f || f->max_len == 0)
		return DP_EVENT_MAX_LEN_DEFAULT;
	return f->max_len > DP_EVENT_MAX_LEN_LIMIT ? DP_EVENT_MAX_LEN_LIMIT : f->max_len;
}

/* The amount bound of @f (NULL: defaults): <= 0 or NaN = default, capped. */
static double max_amount_of(const struct dp_event_fields *f)
{
	/* !(x > 0) also catches NaN */
	if (!f || !(f->max_amount > 0))
		return DP_EVENT_MAX_AMOUNT_DEFAULT;
	return f->max_amount > DP_EVENT_MAX_AMOUNT_LIMIT ? DP_EVENT_MAX_AMOUNT_LIMIT : f->max_amount;
}

#define DP_EVENT_WANT(name) { name, sizeof(name) - 1, -1, JK_NULL }

/*
 * The start of every parser: the wanted keys @w[0..@nw) from the names in
 * @fin at offsets @name_at (NULL fin or name: the defaults @wdef; prepared
 * in @wc), then the JSON structure of @buf[0..@len) into @d. With @shp, a
 * text that a learned shape reads returns with the shape in *@shp, its
 * values in @sp and @w not written (the caller reads the values straight
 * from @sp, or fills @w with shape_wants()); otherwise *@shp is NULL.
 */
static inline __attribute__((always_inline))
int read_doc(struct dp_event_ctx *ctx, const char *buf, size_t len,
	     const struct dp_event_fields *fin, struct wants *wc, const size_t *name_at,
	     const struct want *wdef, unsigned nw, struct want *w, struct doc *d,
	     const struct shape **shp, struct spans *sp, char *why, size_t whylen)
{
	start(ctx, why, whylen);
	if (!buf)
		len = 0;
	wants_of(ctx, wc, fin, name_at, wdef, nw);
	uint32_t max_len = max_len_of(fin);
	/* a text that parse_doc() would hand to the shapes as it is (an
	 * object from its first byte to its last: nothing to trim or skip)
	 * is tried here, without that function's entry and checks */
	bool shape_first = len >= 2 && len <= max_len && buf[0] == '{' && buf[len - 1] == '}' &&
			   !ctx->no_fast;
	_Static_assert(SHAPE_LEN_MAX <= FAST_LEN_MAX, "shapes only read what the fast path may");
	if (shp)
		*shp = NULL;
	if (shape_first) {
		struct spans own;
		struct spans *v = sp ? sp : &own;
		const struct shape *sh = shape_find(ctx, buf, len, wc, v);

		if (sh) {
			ctx->last_fast = ctx->last_shape = true;
			d->plain = true;
			if (shp) {
				*shp = sh;
				return DP_EVENT_OK;
			}
			memcpy(w, wc->w, nw * sizeof(*w));
			shape_wants(sh, v, w, nw);
			return DP_EVENT_OK;
		}
	}
	memcpy(w, wc->w, nw * sizeof(*w));
	return parse_doc(ctx, buf, len, max_len, wc, w, nw, shape_first, &d->plain, why, whylen);
}

enum { WC_USER, WC_TS, WC_TYPE, WC_PAGE, WC_HINT, WC_N };

void dp_click_types_init(struct dp_click_types *t, const char *const *steps, uint32_t n_steps,
			 const char *page_view)
{
	memset(t, 0, sizeof(*t));
	t->n_steps = n_steps < DP_CLICK_STEPS_MAX ? n_steps : DP_CLICK_STEPS_MAX;
	for (uint32_t i = 0; i < t->n_steps; i++) {
		t->step[i] = steps && steps[i] ? steps[i] : "";
		t->step_len[i] = steps && steps[i] ? (uint32_t)strlen(steps[i]) : UINT32_MAX;
	}
	t->page_view = page_view ? page_view : "";
	t->page_view_len = page_view ? (uint32_t)strlen(page_view) : UINT32_MAX;
}

/* A kept string of a plain text into the scratch: no escapes or control
 * bytes to look for (all_plain() / the fast scan ruled them out). */
static inline const char *keep_plain(struct dp_event_ctx *ctx, const char *s, uint32_t n)
{
	char *dst = ctx->scratch + ctx->used;

	copy_kept(dst, s, n);
	dst[n] = '\0';
	ctx->used += n + 1;
	return dst;
}

/* One field's bytes in the text: buf[s .. s + n). */
struct fspan {
	uint32_t s, n;
};

/*
 * The usual click from its fields' bytes in the plain text @buf (page and
 * session_hint: n = 0 when absent or null): true when user_id and type are
 * non-empty and within their bounds, page and session_hint within theirs
 * and ts an RFC 3339 (or digits) string that reads; then @out is filled as
 * the field readers would fill it. Otherwise false with nothing written.
 */
static inline __attribute__((always_inline))
bool click_take(struct dp_event_ctx *ctx, const char *buf, struct fspan u, struct fspan ts,
		struct fspan ty, bool has_pg, struct fspan pg, bool has_hi, struct fspan hi,
		struct dp_click *out)
{
	int64_t t;

	if (u.n - 1 >= DP_EVENT_ID_MAX || ty.n - 1 >= DP_EVENT_TYPE_MAX ||
	    ts.n > DP_EVENT_TS_TEXT_MAX || pg.n > DP_EVENT_PAGE_MAX || hi.n > DP_EVENT_ID_MAX ||
	    (!ts_same_second(buf + ts.s, ts.n, &t) &&
	     dp_event_parse_ts(buf + ts.s, ts.n, &t) != 0))
		return false;
	out->ts_us = t;
	out->user_id = keep_plain(ctx, buf + u.s, u.n);
	out->user_id_len = u.n;
	out->type = keep_plain(ctx, buf + ty.s, ty.n);
	out->type_len = ty.n;
	out->page = has_pg ? keep_plain(ctx, buf + pg.s, pg.n) : "";
	out->page_len = pg.n;
	out->has_page = has_pg;
	out->session_hint = has_hi ? keep_plain(ctx, buf + hi.s, hi.n) : "";
	out->session_hint_len = hi.n;
	out->has_session_hint = has_hi;
	return true;
}

/* The bytes of wanted value @w (present). */
static inline struct fspan want_span(const struct want *w)
{
	return (struct fspan){ w->vs, w->ve - w->vs };
}

/*
 * The usual click, straight from the value spans: a plain text whose
 * user_id and type are strings, ts a string, page and session_hint absent,
 * null or strings, all as click_take() wants them. On those the field
 * readers below would find nothing to object to and copy the same bytes,
 * so the result is theirs; anything else returns false with nothing
 * written, and they run (and word the error). Saves their per-field
 * lookups and checks: with the inline timestamp below, 1152 -> 1090
 * instructions per click (session 10).
 */
static inline bool click_plain(struct dp_event_ctx *ctx, const struct doc *d,
			       const struct want *w, struct dp_click *out)
{
	const struct want *u = &w[WC_USER], *ts = &w[WC_TS], *ty = &w[WC_TYPE];
	const struct want *pg = &w[WC_PAGE], *hi = &w[WC_HINT];
	bool has_pg = pg->tok >= 0 && pg->kind != JK_NULL;
	bool has_hi = hi->tok >= 0 && hi->kind != JK_NULL;
	const struct fspan none = { 0, 0 };

	if (!d->plain || u->tok < 0 || u->kind != JK_STRING || ty->tok < 0 ||
	    ty->kind != JK_STRING || ts->tok < 0 || ts->kind != JK_STRING ||
	    (has_pg && pg->kind != JK_STRING) || (has_hi && hi->kind != JK_STRING))
		return false;
	return click_take(ctx, d->buf, want_span(u), want_span(ts), want_span(ty), has_pg,
			  has_pg ? want_span(pg) : none, has_hi, has_hi ? want_span(hi) : none,
			  out);
}

/* The value @v of @sp as a field span. */
static inline struct fspan value_span(const struct spans *sp, int v)
{
	return (struct fspan){ sp->vs[v], sp->ve[v] - sp->vs[v] };
}

/*
 * The usual click read by learned shape @sh (values in @sp): what the
 * kinds are is known from the shape (which wanted keys are strings, null
 * or absent), so only the bounds and the timestamp are left to check
 * (click_take()). A shape with a primitive where a click field is (its
 * kind varies from text to text) returns false, as does anything
 * click_take() refuses; the caller goes on with shape_wants() and the
 * readers. With the spans kept by value (shape_find), 937 -> 856
 * instructions per click (session 11); click_take() inlined (its field
 * spans were passed through memory): 850 -> 813.
 */
static inline bool click_shape(struct dp_event_ctx *ctx, const struct shape *sh,
			       const struct spans *sp, const char *buf, struct dp_click *out)
{
	enum { NEED = 1u << WC_USER | 1u << WC_TS | 1u << WC_TYPE,
	       OPT = 1u << WC_PAGE | 1u << WC_HINT };
	const struct fspan none = { 0, 0 };

	if ((sh->str_keys & NEED) != NEED || (sh->prim_keys & OPT))
		return false;
	bool has_pg = sh->str_keys >> WC_PAGE & 1, has_hi = sh->str_keys >> WC_HINT & 1;

	return click_take(ctx, buf, value_span(sp, sh->val_of[WC_USER]),
			  value_span(sp, sh->val_of[WC_TS]), value_span(sp, sh->val_of[WC_TYPE]),
			  has_pg, has_pg ? value_span(sp, sh->val_of[WC_PAGE]) : none,
			  has_hi, has_hi ? value_span(sp, sh->val_of[WC_HINT]) : none, out);
}

int dp_event_parse_click(const char *buf, size_t len, const struct dp_event_fields *fin,
			 struct dp_event_ctx *ctx, struct dp_click *out,
			 char *why, size_t whylen)
{
	static const struct want wdef[WC_N] = {
		[WC_USER] = DP_EVENT_WANT("user_id"), [WC_TS] = DP_EVENT_WANT("ts"),
		[WC_TYPE] = DP_EVENT_WANT("type"), [WC_PAGE] = DP_EVENT_WANT("page"),
		[WC_HINT] = DP_EVENT_WANT("session_hint"),
	};
	static const size_t name_at[WC_N] = {
		[WC_USER] = offsetof(struct dp_event_fields, user_id),
		[WC_TS] = offsetof(struct dp_event_fields, ts),
		[WC_TYPE] = offsetof(struct dp_event_fields, type),
		[WC_PAGE] = offsetof(struct dp_event_fields, page),
		[WC_HINT] = offsetof(struct dp_event_fields, session_hint),
	};
	struct want w[WC_N];
	struct doc d = { buf, false };
	const struct shape *sh;
	struct spans sp;
	int rc;

	rc = read_doc(ctx, buf, len, fin, &ctx->wc_click, name_at, wdef, WC_N, w, &d, &sh, &sp,
		      why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	/* click_shape() and click_plain() write every field */
	if (sh) {
		if (click_shape(ctx, sh, &sp, buf, out))
			goto kind;
		memcpy(w, ctx->wc_click.w, sizeof(w));
		shape_wants(sh, &sp, w, WC_N);
	}
	/* the slow way (tests) keeps to the general readers, so that the
	 * differential tests compare click_plain() with them too */
	if (!ctx->no_fast && click_plain(ctx, &d, w, out))
		goto kind;
	memset(out, 0, sizeof(*out));
	/* order decides which error wins when several apply: identity first */
	rc = take_str(ctx, &d, &w[WC_USER], true, DP_EVENT_ID_MAX, &out->user_id,
		      &out->user_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_ts(&d, &w[WC_TS], &out->ts_us, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WC_TYPE], true, DP_EVENT_TYPE_MAX, &out->type,
			      &out->type_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WC_PAGE], false, DP_EVENT_PAGE_MAX, &out->page,
			      &out->page_len, &out->has_page, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WC_HINT], false, DP_EVENT_ID_MAX,
			      &out->session_hint, &out->session_hint_len,
			      &out->has_session_hint, why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
kind:
	out->kind = (out->type_len == 9 && memcmp(out->type, "page_view", 9) == 0)
		? DP_CLICK_PAGE_VIEW : DP_CLICK_OTHER;
	return DP_EVENT_OK;
}

enum { WT_TXN, WT_USER, WT_AMOUNT, WT_CUR, WT_MERCHANT, WT_COUNTRY, WT_TS, WT_N };

int dp_event_parse_txn(const char *buf, size_t len, const struct dp_event_fields *fin,
		       struct dp_event_ctx *ctx, struct dp_txn *out,
		       char *why, size_t whylen)
{
	static const struct want wdef[WT_N] = {
		[WT_TXN] = DP_EVENT_WANT("txn_id"), [WT_USER] = DP_EVENT_WANT("user_id"),
		[WT_AMOUNT] = DP_EVENT_WANT("amount"), [WT_CUR] = DP_EVENT_WANT("currency"),
		[WT_MERCHANT] = DP_EVENT_WANT("merchant"), [WT_COUNTRY] = DP_EVENT_WANT("country"),
		[WT_TS] = DP_EVENT_WANT("ts"),
	};
	static const size_t name_at[WT_N] = {
		[WT_TXN] = offsetof(struct dp_event_fields, txn_id),
		[WT_USER] = offsetof(struct dp_event_fields, user_id),
		[WT_AMOUNT] = offsetof(struct dp_event_fields, amount),
		[WT_CUR] = offsetof(struct dp_event_fields, currency),
		[WT_MERCHANT] = offsetof(struct dp_event_fields, merchant),
		[WT_COUNTRY] = offsetof(struct dp_event_fields, country),
		[WT_TS] = offsetof(struct dp_event_fields, ts),
	};
	struct want w[WT_N];
	struct doc d = { buf, false };
	int rc;

	rc = read_doc(ctx, buf, len, fin, &ctx->wc_txn, name_at, wdef, WT_N, w, &d, NULL, NULL,
		      why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = take_str(ctx, &d, &w[WT_TXN], true, DP_EVENT_ID_MAX, &out->txn_id,
		      &out->txn_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WT_USER], true, DP_EVENT_ID_MAX, &out->user_id,
			      &out->user_id_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_amount(&d, &w[WT_AMOUNT], max_amount_of(fin), &out->amount, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_currency(&d, &w[WT_CUR], out->currency, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WT_MERCHANT], false, DP_EVENT_MERCHANT_MAX,
			      &out->merchant, &out->merchant_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_str(ctx, &d, &w[WT_COUNTRY], false, DP_EVENT_COUNTRY_MAX,
			      &out->country, &out->country_len, NULL, why, whylen);
	if (rc == DP_EVENT_OK)
		rc = take_ts(&d, &w[WT_TS], &out->ts_us, why, whylen);
	if (rc != DP_EVENT_OK)
		return rc;
	/* amount <= DP_EVENT_MAX_AMOUNT_LIMIT keeps this inside int64; the
	 * result is exact to the micro-unit below 2^53 / 1e6 ~ 9e9 */
	out->amount_micros = llround(out->amount * 1e6);
	return DP_EVENT_OK;
}
