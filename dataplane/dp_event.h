/*
 * dp_event.h - JSON events from the packet path (UDP payloads, Kafka records).
 *
 * Two event shapes, each with configurable JSON key names:
 *   clickstream  {"user_id":"u42","ts":"2026-11-23T21:00:00.123Z",
 *                 "type":"page_view","page":"/p/17","session_hint":null}
 *   payment      {"txn_id":"t1","user_id":"u42","amount":19.99,"currency":"EUR",
 *                 "merchant":"m7","country":"DE","ts":1795467600123}
 * Unknown keys are ignored (their values are still checked as JSON, at any
 * depth). Every rejection is a positive enum dp_event_err plus a message in
 * the caller's @why buffer that names the offending key (by its configured
 * name) or, for invalid JSON, the byte offset and what is wrong there.
 *
 * JSON library: jsmn (header-only tokenizer, no allocation; Debian
 * libjsmn-dev), with the validation it does not do written here, and for
 * plain texts a single-pass SIMD scan that checks the same grammar without
 * jsmn (see dp_event_ctx_set_fast()): the input
 * must be one RFC 8259 JSON text, strictly:
 *  - numbers follow the JSON grammar: NaN, Infinity, leading zeros, "1.",
 *    ".5", "+1" and trailing junk are EJSON;
 *  - strings: raw bytes below 0x20 are EJSON; escapes are the eight short
 *    ones and \uXXXX, surrogates only as a high-low pair (else EJSON);
 *    invalid UTF-8 (overlong, surrogates, > U+10FFFF) is EJSON, anywhere;
 *  - a root-level key that is one of the configured fields of the event
 *    shape may appear once: a second one is EJSON naming the field
 *    (`duplicate field "user_id"`); other keys may repeat;
 *  - nesting deeper than DP_EVENT_NESTING_MAX or more than
 *    DP_EVENT_TOKENS_MAX tokens is EJSON; so is anything after the value
 *    other than the trailing blanks and NULs that are trimmed.
 * Kept strings are unescaped; control bytes (< 0x20, 0x7f) and NUL that
 * arrive as escapes in a kept string are EVALUE. Integers of any length are
 * valid JSON; an out-of-range ts is ETIMESTAMP, an amount is read with
 * strtod (1e400 is EAMOUNT, not finite).
 *
 * Replaced json-c (2.1-3.4 us per 120-byte event, mostly building and
 * freeing its tree); measured figures under dp_event_parse_click(). The
 * configured key names are read on every call (nothing about them is
 * cached in the ctx), so a struct dp_event_fields may change between calls.
 *
 * Lifetime: every string pointer in struct dp_click / dp_txn points into the
 * ctx's scratch buffer, is NUL-terminated, and stays valid until the next
 * parse call on the same ctx or dp_event_ctx_destroy(). Copy what must live
 * longer. Nothing points into @buf.
 *
 * Thread safety: one ctx per thread (lcore); a ctx must not be used by two
 * threads at once. Different ctxs are independent. struct dp_event_fields is
 * only read and can be shared.
 */
#ifndef DP_EVENT_H
#define DP_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_common.h"

/* Bounds on kept strings, in bytes (UTF-8, without the NUL); longer is
 * EOVERSIZE naming the key. */
#define DP_EVENT_ID_MAX        64u   /* user_id, txn_id, session_hint */
#define DP_EVENT_TYPE_MAX      64u   /* click type */
#define DP_EVENT_PAGE_MAX      2048u /* click page */
#define DP_EVENT_MERCHANT_MAX  128u
#define DP_EVENT_COUNTRY_MAX   16u
#define DP_EVENT_TS_TEXT_MAX   64u   /* a ts string longer than this is ETIMESTAMP */

#define DP_EVENT_MAX_LEN_DEFAULT   65507u /* largest UDP/IPv4 payload */
#define DP_EVENT_MAX_LEN_LIMIT     (1u << 20)
#define DP_EVENT_MAX_AMOUNT_DEFAULT 1e9
#define DP_EVENT_MAX_AMOUNT_LIMIT   9e12  /* keeps amount_micros in int64 */
#define DP_EVENT_NESTING_MAX       32    /* deeper JSON is EJSON */
/* JSON tokens (values and keys) per event, more is EJSON. An n-token text
 * needs at least 2n - 1 bytes, so any event within the default max_len fits;
 * the ctx reserves 20 B per token (~640 KiB, resident only as touched). */
#define DP_EVENT_TOKENS_MAX        32768u

/* Why an event was rejected; dp_event_strerror() names each. */
enum dp_event_err {
	DP_EVENT_OK = 0,
	DP_EVENT_EJSON,       /* not JSON, truncated, trailing bytes, empty,
	                       * a configured key twice at the root */
	DP_EVENT_EMISSING,    /* required key absent (or null) */
	DP_EVENT_ETYPE,       /* key present with the wrong JSON type; also a
	                       * top level that is not an object */
	DP_EVENT_ETIMESTAMP,  /* ts malformed or outside 1970..9999 */
	DP_EVENT_EAMOUNT,     /* amount NaN/Inf, negative or above max_amount */
	DP_EVENT_EOVERSIZE,   /* input longer than max_len, or a kept string
	                       * longer than its DP_EVENT_*_MAX */
	DP_EVENT_EVALUE,      /* kept string empty (required keys), holds NUL or
	                       * control bytes, or currency not 3 ASCII letters */
	DP_EVENT_ERR_MAX
};

/*
 * JSON key names and limits. A NULL name means the default key (the field's
 * own name, e.g. "user_id"). Names are NUL-terminated and matched exactly.
 * dp_event_fields_default() fills every member; a zero-filled struct (or a
 * NULL pointer where one is accepted) behaves the same. A ctx remembers the
 * names it was last given by their addresses (their lengths are taken once,
 * and learned event shapes are tied to them): point a member at another
 * string to change a name, never rewrite a name string in place while a
 * ctx that has seen it is in use.
 */
struct dp_event_fields {
	/* shared */
	const char *user_id;       /* required */
	const char *ts;            /* required: RFC 3339 string, or epoch ms as a
	                            * JSON integer or a string of digits */
	/* clickstream */
	const char *type;          /* required string, any value */
	const char *page;          /* optional string (null = absent) */
	const char *session_hint;  /* optional string (null = absent) */
	/* payment */
	const char *txn_id;        /* required */
	const char *amount;        /* required JSON number */
	const char *currency;      /* required, 3 ASCII letters (ISO 4217 shape) */
	const char *merchant;      /* optional string */
	const char *country;       /* optional string */
	/* limits */
	uint32_t max_len;          /* input bytes; 0 = DP_EVENT_MAX_LEN_DEFAULT,
	                            * capped at DP_EVENT_MAX_LEN_LIMIT */
	double max_amount;         /* largest accepted amount; <= 0 (or NaN) =
	                            * DP_EVENT_MAX_AMOUNT_DEFAULT, capped at
	                            * DP_EVENT_MAX_AMOUNT_LIMIT */
};

enum dp_click_kind { DP_CLICK_PAGE_VIEW, DP_CLICK_OTHER };

struct dp_click {
	int64_t ts_us;                  /* event time, epoch microseconds UTC */
	enum dp_click_kind kind;        /* PAGE_VIEW when type == "page_view" */
	const char *user_id; uint32_t user_id_len;
	const char *type; uint32_t type_len;   /* kept for every type */
	const char *page; uint32_t page_len;   /* "" / 0 when absent */
	bool has_page;
	const char *session_hint; uint32_t session_hint_len; /* "" / 0 when absent */
	bool has_session_hint;
};

struct dp_txn {
	int64_t ts_us;                  /* event time, epoch microseconds UTC */
	double amount;                  /* as parsed, finite, 0 <= amount <= max */
	int64_t amount_micros;          /* llround(amount * 1e6) */
	char currency[4];               /* 3 letters, upper-cased, NUL-terminated */
	const char *txn_id; uint32_t txn_id_len;
	const char *user_id; uint32_t user_id_len;
	const char *merchant; uint32_t merchant_len; /* "" / 0 when absent */
	const char *country; uint32_t country_len;   /* "" / 0 when absent */
};

struct dp_event_ctx;

/*
 * The click types a session table counts: the funnel steps in order and the
 * page-view type, with their lengths taken once (dp_click_types_init), so
 * that classifying an event is a length compare and a word compare per name.
 * The names are not copied: they must outlive the struct.
 */
#define DP_CLICK_STEPS_MAX 16u
struct dp_click_types {
	uint32_t n_steps;
	const char *step[DP_CLICK_STEPS_MAX];
	uint32_t step_len[DP_CLICK_STEPS_MAX];
	const char *page_view;
	uint32_t page_view_len;
};

/* @n_steps is capped at DP_CLICK_STEPS_MAX; NULL names match nothing. */
void dp_click_types_init(struct dp_click_types *t, const char *const *steps, uint32_t n_steps,
			 const char *page_view);

/* The funnel step @type (@len bytes) is, -1 for none; *@page_view: it is
 * the page-view type. */
static inline int32_t dp_click_step(const struct dp_click_types *t, const char *type,
				    uint32_t len, bool *page_view)
{
	int32_t step = -1;
	for (uint32_t i = 0; i < t->n_steps; i++)
		if (len == t->step_len[i] && wr_bytes_eq(type, t->step[i], len)) {
			step = (int32_t)i;
			break;
		}
	*page_view = len == t->page_view_len && wr_bytes_eq(type, t->page_view, len);
	return step;
}

/* Fill @f with the default key names and limits. @f must not be NULL. */
void dp_event_fields_default(struct dp_event_fields *f);

/*
 * Create per-thread parser state (jsmn token array and a scratch buffer).
 * Call off the packet path. Returns 0 and sets *@out, or -EINVAL (@out NULL)
 * / -ENOMEM.
 */
int dp_event_ctx_create(struct dp_event_ctx **out);

/* Free a ctx; NULL is a no-op. Invalidates the strings of its last event. */
void dp_event_ctx_destroy(struct dp_event_ctx *ctx);

/*
 * Choose how @ctx reads the JSON structure of plain texts (printable ASCII
 * without backslashes, the usual event): @on (the default after create)
 * lets a single-pass SIMD scan answer them; false sends every text through
 * the jsmn tokenizer and the checks after it, and the fields of a click
 * through the general readers (not the shortcut for the usual click,
 * click_plain() in dp_event.c). Results (return code, @why,
 * every output field) are the same either way: the scan only answers when
 * it is sure and otherwise leaves the text, and the wording of every error,
 * to the jsmn path. For tests and measurements. @ctx must not be NULL;
 * same thread rules as the parsers.
 */
void dp_event_ctx_set_fast(struct dp_event_ctx *ctx, bool on);

/*
 * True when the last parse call on @ctx had its JSON read by the SIMD scan
 * (whatever the field checks after it returned); false when the jsmn path
 * read it or the text was refused before (length, empty input). For tests
 * that must know the fast path was taken. @ctx must not be NULL.
 */
bool dp_event_ctx_last_was_fast(const struct dp_event_ctx *ctx);

/*
 * True when the last parse call on @ctx had its JSON read by a shape the
 * ctx learned from an earlier text (see shape_read() in dp_event.c): the
 * same keys in the same order and spacing, only the values differ. Such a
 * read also counts as fast. For tests. @ctx must not be NULL.
 */
bool dp_event_ctx_last_was_shape(const struct dp_event_ctx *ctx);

/*
 * Parse one clickstream event from @buf[0..@len) into @out.
 * @f may be NULL (defaults); @ctx and @out must not be NULL; @buf may be NULL
 * only when @len is 0. Trailing '\n', '\r', '\0', ' ' and '\t' are ignored;
 * anything else after the JSON value is EJSON. Never reads past @buf + @len.
 * @why (may be NULL or @whylen 0) gets a NUL-terminated reason on error,
 * truncated to @whylen, e.g. `missing field "uid"` or
 * `invalid JSON at byte 17: unexpected character`; "" on success.
 * Returns DP_EVENT_OK (0) or a positive enum dp_event_err; on error @out is
 * unspecified. Cost on the 2-core dev VM, 108-byte event (2026-11-24,
 * session 4): ~0.095 us in bench_sessions (1.22 k instructions) when the
 * ctx has learned the event's shape; the single-pass scan alone: ~0.145 us
 * hot (2.0 k); before it: ~0.40 us hot (3.8 k instructions, 2.0 k of them
 * jsmn's tokenizer); json-c took 2.1-3.4 us. Texts of printable ASCII
 * without backslashes whose top level is an object take the fast path (a
 * learned shape, else one SIMD pass, no jsmn); escapes, UTF-8, control
 * bytes or invalid JSON anywhere take the checked one (same results, every
 * error message comes from it).
 */
int dp_event_parse_click(const char *buf, size_t len, const struct dp_event_fields *f,
			 struct dp_event_ctx *ctx, struct dp_click *out,
			 char *why, size_t whylen);

/* As dp_event_parse_click(), for a payment transaction. */
int dp_event_parse_txn(const char *buf, size_t len, const struct dp_event_fields *f,
		       struct dp_event_ctx *ctx, struct dp_txn *out,
		       char *why, size_t whylen);

/*
 * Parse a timestamp text: RFC 3339 "YYYY-MM-DD(T|t| )hh:mm:ss[.1-9 digits]
 * (Z|z|+hh:mm|-hh:mm)" or 1-15 decimal digits of epoch milliseconds.
 * Fractions below 1 us are truncated. Leap seconds (:60), dates before 1970
 * (after applying the offset) and years past 9999 are rejected.
 * Returns 0 and sets *@ts_us, or -EINVAL. Reentrant; used by the parsers.
 * Keeps the last date and second read on the calling thread (thread-local)
 * to skip the calendar for the next text that shares them.
 */
int dp_event_parse_ts(const char *s, size_t len, int64_t *ts_us);

/* Short text for an error code, e.g. "missing field"; "unknown error" for
 * codes out of range. */
const char *dp_event_strerror(int err);

#endif /* DP_EVENT_H */
