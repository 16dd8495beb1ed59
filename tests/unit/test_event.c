/*
 * test_event.c - dp_event: clickstream and payment JSON events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wr_test.h"
#include "dp_event.h"

#define S(lit) lit, sizeof(lit) - 1

/* 2026-11-23T21:00:00.123Z */
#define TS_REF_US INT64_C(1795467600123000)

static struct dp_event_ctx *ctx;
static char why[256];

static struct dp_event_ctx *get_ctx(void)
{
	if (!ctx)
		CU_ASSERT_FATAL(dp_event_ctx_create(&ctx) == 0);
	return ctx;
}

static int click(const char *buf, size_t len, const struct dp_event_fields *f,
		 struct dp_click *out)
{
	return dp_event_parse_click(buf, len, f, get_ctx(), out, why, sizeof(why));
}

static int txn(const char *buf, size_t len, const struct dp_event_fields *f, struct dp_txn *out)
{
	return dp_event_parse_txn(buf, len, f, get_ctx(), out, why, sizeof(why));
}

/* Click event with the given ts JSON value; returns ts_us or INT64_MIN. */
static int64_t click_ts(const char *ts_json)
{
	char buf[256];
	struct dp_click c;
	int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u42\",\"ts\":%s,\"type\":\"page_view\"}",
			 ts_json);

	if (click(buf, (size_t)n, NULL, &c) != DP_EVENT_OK)
		return INT64_MIN;
	return c.ts_us;
}

/* Click event with the given ts JSON value; returns the error code. */
static int click_ts_err(const char *ts_json)
{
	char buf[256];
	struct dp_click c;
	int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u42\",\"ts\":%s,\"type\":\"page_view\"}",
			 ts_json);

	return click(buf, (size_t)n, NULL, &c);
}

static void test_click_sample_event_parses_all_fields(void)
{
	static const char ev[] = "{\"user_id\":\"u42\",\"ts\":\"2026-11-23T21:00:00.123Z\","
				 "\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":null}";
	struct dp_click c;

	CU_ASSERT_EQUAL_FATAL(click(S(ev), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(c.ts_us, TS_REF_US);
	CU_ASSERT_EQUAL(c.user_id_len, 3);
	CU_ASSERT_STRING_EQUAL(c.user_id, "u42");
	CU_ASSERT_EQUAL(c.type_len, 9);
	CU_ASSERT_STRING_EQUAL(c.type, "page_view");
	CU_ASSERT_EQUAL(c.kind, DP_CLICK_PAGE_VIEW);
	CU_ASSERT_TRUE(c.has_page);
	CU_ASSERT_EQUAL(c.page_len, 5);
	CU_ASSERT_STRING_EQUAL(c.page, "/p/17");
	/* null session_hint is absent, pointer still valid */
	CU_ASSERT_FALSE(c.has_session_hint);
	CU_ASSERT_EQUAL(c.session_hint_len, 0);
	CU_ASSERT_PTR_NOT_NULL(c.session_hint);
	CU_ASSERT_STRING_EQUAL(c.session_hint, "");
}

static void test_click_ts_rfc3339_forms_exact_us(void)
{
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00.123Z\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00Z\""), TS_REF_US - 123000);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23t21:00:00.123z\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23 21:00:00.123Z\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00.1Z\""), TS_REF_US - 23000);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00.123456Z\""), TS_REF_US + 456);
	/* 9 digits: below-microsecond part truncated */
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00.123456789Z\""), TS_REF_US + 456);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T22:30:00.123+01:30\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T16:00:00.123-05:00\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-24T06:00:00.123+09:00\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2026-11-23T21:00:00.123+00:00\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"2024-02-29T23:59:59Z\""), INT64_C(1709251199000000));
	CU_ASSERT_EQUAL(click_ts("\"1970-01-01T00:00:00Z\""), 0);
	CU_ASSERT_EQUAL(click_ts("\"1969-12-31T23:00:00-01:00\""), 0);
	CU_ASSERT_EQUAL(click_ts("\"9999-12-31T23:59:59.999999Z\""), INT64_C(253402300799999999));
}

static void test_click_ts_epoch_ms_integer_and_string(void)
{
	CU_ASSERT_EQUAL(click_ts("1795467600123"), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("\"1795467600123\""), TS_REF_US);
	CU_ASSERT_EQUAL(click_ts("0"), 0);
	CU_ASSERT_EQUAL(click_ts("\"0\""), 0);
	CU_ASSERT_EQUAL(click_ts("\"000001795467600123\""), INT64_MIN); /* > 15 digits */
	CU_ASSERT_EQUAL(click_ts("253402300799999"), INT64_C(253402300799999000));
}

static void test_click_bad_timestamps_rejected(void)
{
	static const char *const bad[] = {
		"\"2026-02-29T00:00:00Z\"",          /* not a leap year */
		"\"2026-11-23T21:00:60Z\"",          /* leap second */
		"\"2026-11-23T21:00:00\"",           /* no zone */
		"\"2026-11-23T21:00:00.Z\"",         /* empty fraction */
		"\"2026-11-23T21:00:00.1234567890Z\"", /* 10 fraction digits */
		"\"2026-11-23T21:00:00+01:3\"",
		"\"2026-11-23T21:00:00+24:00\"",
		"\"2026-11-23T21:00:00Zx\"",
		"\"2026-13-01T00:00:00Z\"",
		"\"2026-11-31T00:00:00Z\"",
		"\"2026-11-23T24:00:00Z\"",
		"\"2026-11-23X21:00:00Z\"",
		"\"1969-12-31T23:59:59Z\"",          /* before the epoch */
		"\"2026-11-23\"",
		"\"\"", "\"abc\"", "\"-1\"", "\"1e12\"", "\" 1795467600123\"",
		"\"1234567890123456\"",              /* 16 digits */
		"\"253402300800000\"",               /* year 10000 */
		"-1", "253402300800000",
		"99999999999999999999",              /* valid JSON, out of range */
		"-99999999999999999999",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = click_ts_err(bad[i]);

		if (rc != DP_EVENT_ETIMESTAMP)
			fprintf(stderr, "ts %s: rc %d why %s\n", bad[i], rc, why);
		CU_ASSERT_EQUAL(rc, DP_EVENT_ETIMESTAMP);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "field \"ts\""));
	}
	click_ts_err("\"2026-02-29T00:00:00Z\"");
	CU_ASSERT_STRING_EQUAL(why, "field \"ts\": bad timestamp \"2026-02-29T00:00:00Z\"");
	click_ts_err("-1");
	CU_ASSERT_STRING_EQUAL(why, "field \"ts\": epoch ms -1 out of range");
}

static void test_click_ts_wrong_types(void)
{
	CU_ASSERT_EQUAL(click_ts_err("1.795e12"), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"ts\" is double, want string or integer");
	CU_ASSERT_EQUAL(click_ts_err("true"), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"ts\" is boolean, want string or integer");
	CU_ASSERT_EQUAL(click_ts_err("[1]"), DP_EVENT_ETYPE);
	CU_ASSERT_EQUAL(click_ts_err("null"), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"ts\" (null)");
}

static void test_parse_ts_direct(void)
{
	int64_t t = -1;

	CU_ASSERT_EQUAL(dp_event_parse_ts(S("2026-11-23T21:00:00.123Z"), &t), 0);
	CU_ASSERT_EQUAL(t, TS_REF_US);
	CU_ASSERT_EQUAL(dp_event_parse_ts(S("1795467600123"), &t), 0);
	CU_ASSERT_EQUAL(t, TS_REF_US);
	/* the length bounds the read: the same text cut short is refused */
	CU_ASSERT_EQUAL(dp_event_parse_ts("2026-11-23T21:00:00.123Z", 23, &t), -EINVAL);
	CU_ASSERT_EQUAL(dp_event_parse_ts("", 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(dp_event_parse_ts(NULL, 0, &t), -EINVAL);
}

static void test_click_field_name_mapping(void)
{
	/* the default names are present too, with other values: must be ignored */
	static const char ev[] = "{\"user_id\":\"wrong\",\"uid\":\"u7\",\"ts\":\"x\","
				 "\"@timestamp\":1795467600123,\"event\":\"click\","
				 "\"url\":\"/cart\",\"sid\":\"s-9\"}";
	struct dp_event_fields f;
	struct dp_click c;

	dp_event_fields_default(&f);
	f.user_id = "uid";
	f.ts = "@timestamp";
	f.type = "event";
	f.page = "url";
	f.session_hint = "sid";
	CU_ASSERT_EQUAL_FATAL(click(S(ev), &f, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.user_id, "u7");
	CU_ASSERT_EQUAL(c.ts_us, TS_REF_US);
	CU_ASSERT_STRING_EQUAL(c.type, "click");
	CU_ASSERT_EQUAL(c.kind, DP_CLICK_OTHER);
	CU_ASSERT_STRING_EQUAL(c.page, "/cart");
	CU_ASSERT_TRUE(c.has_session_hint);
	CU_ASSERT_STRING_EQUAL(c.session_hint, "s-9");
	CU_ASSERT_EQUAL(c.session_hint_len, 3);

	/* a missing mapped key is named by its configured name */
	CU_ASSERT_EQUAL(click(S("{\"uid\":\"u7\",\"@timestamp\":0,\"type\":\"x\"}"), &f, &c),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"event\"");
}

/* One context and one fields struct whose names are reassigned between
 * events (each the same text, so a learned shape is in play): every event
 * is read by the names it was given, also back and forth with NULL fields
 * and across the click and txn readers. */
static void test_names_reassigned_between_events(void)
{
	static const char ev[] = "{\"user_id\":\"a\",\"uid\":\"b\",\"ts\":0,\"type\":\"t\","
				 "\"txn_id\":\"x1\",\"amount\":5,\"currency\":\"EUR\"}";
	struct dp_event_fields f;
	struct dp_click c;
	struct dp_txn t;

	dp_event_fields_default(&f);
	for (int round = 0; round < 3; round++) {
		f.user_id = "user_id";
		CU_ASSERT_EQUAL_FATAL(click(S(ev), &f, &c), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(c.user_id, "a");
		f.user_id = "uid";
		CU_ASSERT_EQUAL_FATAL(click(S(ev), &f, &c), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(c.user_id, "b");
		CU_ASSERT_EQUAL_FATAL(txn(S(ev), &f, &t), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(t.user_id, "b");
		CU_ASSERT_EQUAL_FATAL(click(S(ev), NULL, &c), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(c.user_id, "a");
		CU_ASSERT_EQUAL_FATAL(click(S(ev), &f, &c), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(c.user_id, "b");
		/* a name outside the click reader's changes nothing for it */
		f.country = round % 2 ? "country" : "cc";
		CU_ASSERT_EQUAL_FATAL(click(S(ev), &f, &c), DP_EVENT_OK);
		CU_ASSERT_STRING_EQUAL(c.user_id, "b");
		f.ts = "nope";
		CU_ASSERT_EQUAL(click(S(ev), &f, &c), DP_EVENT_EMISSING);
		CU_ASSERT_STRING_EQUAL(why, "missing field \"nope\"");
		f.ts = "ts";
	}
}

static void test_click_zeroed_fields_struct_uses_defaults(void)
{
	static const char ev[] = "{\"user_id\":\"u1\",\"ts\":0,\"type\":\"page_view\"}";
	struct dp_event_fields f;
	struct dp_click c;

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(click(S(ev), &f, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.user_id, "u1");
}

static void test_click_extra_fields_ignored_and_other_types_pass(void)
{
	static const char ev[] = "{\"a\":{\"b\":[1,2,{\"c\":null}],\"d\":\"\\u00e9\"},"
				 "\"user_id\":\"u42\",\"n\":1.5e3,\"flag\":true,"
				 "\"ts\":\"2026-11-23T21:00:00.123Z\",\"type\":\"add_to_cart\","
				 "\"sku\":\"X-1\",\"list\":[]}\n";
	struct dp_click c;

	CU_ASSERT_EQUAL_FATAL(click(S(ev), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_EQUAL(c.kind, DP_CLICK_OTHER);
	CU_ASSERT_STRING_EQUAL(c.type, "add_to_cart");
	CU_ASSERT_EQUAL(c.type_len, 11);
	CU_ASSERT_FALSE(c.has_page);
	CU_ASSERT_EQUAL(c.page_len, 0);
	CU_ASSERT_STRING_EQUAL(c.page, "");
	CU_ASSERT_FALSE(c.has_session_hint);
	CU_ASSERT_EQUAL(c.ts_us, TS_REF_US);
}

static void test_click_unicode_user_id(void)
{
	/* escaped: J\u00fcrgen-\u6771\u4eac and a surrogate pair (U+1F600) */
	static const char esc[] = "{\"user_id\":\"J\\u00fcrgen-\\u6771\\u4eac\\ud83d\\ude00\","
				  "\"ts\":0,\"type\":\"t\"}";
	static const char raw[] = "{\"user_id\":\"J\xc3\xbcrgen-\xe6\x9d\xb1\xe4\xba\xac\xf0\x9f\x98\x80\","
				  "\"ts\":0,\"type\":\"t\"}";
	static const char want[] = "J\xc3\xbcrgen-\xe6\x9d\xb1\xe4\xba\xac\xf0\x9f\x98\x80";
	struct dp_click c;

	CU_ASSERT_EQUAL_FATAL(click(S(esc), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_EQUAL(c.user_id_len, sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(c.user_id, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL_FATAL(click(S(raw), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_EQUAL(c.user_id_len, sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(c.user_id, want, sizeof(want)), 0);
	/* invalid UTF-8 is not JSON */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"\xff\",\"ts\":0,\"type\":\"t\"}"), NULL, &c),
			DP_EVENT_EJSON);
}

static void test_click_strings_live_in_scratch_not_input(void)
{
	char ev[] = "{\"user_id\":\"u42\",\"ts\":0,\"type\":\"page_view\",\"page\":\"/p/1\"}";
	struct dp_click c;

	CU_ASSERT_EQUAL_FATAL(click(ev, strlen(ev), NULL, &c), DP_EVENT_OK);
	memset(ev, 'x', strlen(ev));
	CU_ASSERT_STRING_EQUAL(c.user_id, "u42");
	CU_ASSERT_STRING_EQUAL(c.type, "page_view");
	CU_ASSERT_STRING_EQUAL(c.page, "/p/1");
}

static void test_click_user_id_bound_64_bytes(void)
{
	char buf[256];
	char id[80];
	struct dp_click c;
	int n;

	memset(id, 'a', sizeof(id));
	n = snprintf(buf, sizeof(buf), "{\"user_id\":\"%.*s\",\"ts\":0,\"type\":\"t\"}", 64, id);
	CU_ASSERT_EQUAL(click(buf, (size_t)n, NULL, &c), DP_EVENT_OK);
	CU_ASSERT_EQUAL(c.user_id_len, 64);
	n = snprintf(buf, sizeof(buf), "{\"user_id\":\"%.*s\",\"ts\":0,\"type\":\"t\"}", 65, id);
	CU_ASSERT_EQUAL(click(buf, (size_t)n, NULL, &c), DP_EVENT_EOVERSIZE);
	CU_ASSERT_STRING_EQUAL(why, "field \"user_id\" is 65 bytes, max 64");
}

static void test_click_each_rejection_names_field(void)
{
	struct dp_event_fields f;
	struct dp_click c;
	char big[300];

	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u1\",}"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 16: unexpected character");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u1\""), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 15: unexpected end of data");
	CU_ASSERT_EQUAL(click(S("{\"ts\":0,\"type\":\"t\"} x"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 20: unexpected character");
	CU_ASSERT_EQUAL(click(S("{\"ts\":0}\0{}"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 8: trailing bytes after the value");
	CU_ASSERT_EQUAL(click(S(""), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 0: empty input");
	CU_ASSERT_EQUAL(click(NULL, 5, NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click(S(" \r\n\0"), NULL, &c), DP_EVENT_EJSON);

	CU_ASSERT_EQUAL(click(S("[1,2]"), NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "top-level value is array, want object");
	CU_ASSERT_EQUAL(click(S("null"), NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "top-level value is null, want object");
	CU_ASSERT_EQUAL(click(S("123"), NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "top-level value is int, want object");

	CU_ASSERT_EQUAL(click(S("{\"ts\":0,\"type\":\"t\"}"), NULL, &c), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"user_id\"");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"type\":\"t\"}"), NULL, &c), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"ts\"");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0}"), NULL, &c), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"type\"");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":null,\"ts\":0,\"type\":\"t\"}"), NULL, &c),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"user_id\" (null)");

	CU_ASSERT_EQUAL(click(S("{\"user_id\":42,\"ts\":0,\"type\":\"t\"}"), NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"user_id\" is int, want string");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":{}}"), NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"type\" is object, want string");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"page\":7}"), NULL, &c),
			DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"page\" is int, want string");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"session_hint\":false}"),
			      NULL, &c), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"session_hint\" is boolean, want string");

	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"\",\"ts\":0,\"type\":\"t\"}"), NULL, &c), DP_EVENT_EVALUE);
	CU_ASSERT_STRING_EQUAL(why, "field \"user_id\" is empty");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"a\\u0000b\",\"ts\":0,\"type\":\"t\"}"), NULL, &c),
			DP_EVENT_EVALUE);
	CU_ASSERT_STRING_EQUAL(why, "field \"user_id\" has control byte 0x00 at offset 1");
	/* escaped, the control byte is a bad value; raw, it is not JSON */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"a\\u0001\"}"), NULL, &c),
			DP_EVENT_EVALUE);
	CU_ASSERT_STRING_EQUAL(why, "field \"type\" has control byte 0x01 at offset 1");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"a\x01\"}"), NULL, &c),
			DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 31: control character in string");

	dp_event_fields_default(&f);
	f.max_len = 30;
	memset(big, ' ', sizeof(big));
	CU_ASSERT_EQUAL(click(big, 31, &f, &c), DP_EVENT_EOVERSIZE);
	CU_ASSERT_STRING_EQUAL(why, "event is 31 bytes, max 30");
	/* default bound is the largest UDP payload */
	CU_ASSERT_EQUAL(click(big, DP_EVENT_MAX_LEN_DEFAULT + 1, NULL, &c), DP_EVENT_EOVERSIZE);
}

static void test_click_deep_nesting_is_invalid_json(void)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":");
	struct dp_click c;

	for (int i = 0; i < 40; i++)
		buf[n++] = '[';
	for (int i = 0; i < 40; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CU_ASSERT_EQUAL(click(buf, (size_t)n, NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "nesting too deep"));
}

static void test_click_every_truncated_prefix_is_invalid_json(void)
{
	static const char ev[] = "{\"user_id\":\"u\\u00fc42\",\"ts\":\"2026-11-23T21:00:00.123Z\","
				 "\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":null,"
				 "\"n\":-1.5e3,\"b\":[true,false]}";
	struct dp_click c;
	size_t bad = 0;

	for (size_t len = 0; len < sizeof(ev) - 1; len++) {
		/* a heap copy of exactly len bytes so ASan sees any over-read */
		char *p = malloc(len ? len : 1);

		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, ev, len);
		if (click(p, len, NULL, &c) != DP_EVENT_EJSON)
			bad++;
		free(p);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(click(S(ev), NULL, &c), DP_EVENT_OK);
}

/* xorshift64: fixed seed, same bytes on every run */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Reference for dp_event_parse_ts(), written from its contract (RFC 3339
 * with 'T', 't' or ' ', 1-9 fraction digits of which 6 count, 'Z'/'z' or
 * +-hh:mm; :60 refused; 0001-01-01 .. 9999-12-31 UTC after the offset; or
 * 1-15 digits of epoch ms up to that end) with timegm() for the calendar.
 */
static int ref_ts(const char *s, size_t len, int64_t *out)
{
	const int64_t max_ms = INT64_C(253402300799999);
	int v[6], oh = 0, om = 0;
	static const size_t at[6] = { 0, 5, 8, 11, 14, 17 }, nd[6] = { 4, 2, 2, 2, 2, 2 };
	size_t i;
	int64_t frac = 0;

	if (len < 11 || s[4] != '-') {
		char digits[16];
		long long ms;

		/* 1-15 digits and nothing else, by strspn() and strtoll() */
		if (len == 0 || len > 15)
			return -EINVAL;
		memcpy(digits, s, len);
		digits[len] = '\0';
		if (strspn(digits, "0123456789") != len || (ms = strtoll(digits, NULL, 10)) > max_ms)
			return -EINVAL;
		*out = (int64_t)ms * 1000;
		return 0;
	}
	if (len < 20 || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -EINVAL;
	for (int f = 0; f < 6; f++) {
		v[f] = 0;
		for (size_t k = 0; k < nd[f]; k++) {
			char c = s[at[f] + k];

			if (c < '0' || c > '9')
				return -EINVAL;
			v[f] = v[f] * 10 + (c - '0');
		}
	}
	i = 19;
	if (s[i] == '.') {
		size_t n = 0;

		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
			if (n < 6)
				frac = frac * 10 + (s[i] - '0');
		if (n == 0 || n > 9)
			return -EINVAL;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		/* UTC */
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   s[i + 1] >= '0' && s[i + 1] <= '9' && s[i + 2] >= '0' && s[i + 2] <= '9' &&
		   s[i + 4] >= '0' && s[i + 4] <= '9' && s[i + 5] >= '0' && s[i + 5] <= '9') {
		int sign = s[i] == '-' ? -1 : 1;

		oh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
		om = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
		if (oh > 23 || om > 59)
			return -EINVAL;
		oh *= sign;
		om *= sign;
	} else {
		return -EINVAL;
	}
	if (v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -EINVAL;
	struct tm tm = { .tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2],
			 .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5] };
	int64_t t = (int64_t)timegm(&tm);
	if (tm.tm_mday != v[2])       /* normalised: no such day in that month */
		return -EINVAL;
	t -= (int64_t)oh * 3600 + (int64_t)om * 60;
	if (t < 0 || t > max_ms / 1000)
		return -EINVAL;
	*out = t * 1000000 + frac;
	return 0;
}

/* dp_event_parse_ts() equals ref_ts() on random timestamps and on copies
 * with one byte changed, cut or extended; runs of one date and of one
 * second (which the reader caches) interleave with new and broken ones. */
static void test_parse_ts_equals_reference(void)
{
	static const char alt[] = "0123456789-:Tt zZ+.x/\x80\xff";
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t n_ok = 0, mism = 0, n = 0;
	int y = 2026, mo = 11, d = 23;
	char prev[19];

	for (int it = 0; it < 400000; it++) {
		char b[48];
		int64_t t1 = -1, t2 = -1;
		uint64_t r = rng_next(&seed);
		int len;

		if (r % 8 == 0) {          /* a new date now and then, often an edge */
			y = (int)(rng_next(&seed) % 4 == 0 ? rng_next(&seed) % 10001
							 : 1960 + rng_next(&seed) % 100);
			mo = (int)(rng_next(&seed) % 14);
			d = (int)(rng_next(&seed) % 33);
		}
		len = snprintf(b, sizeof(b), "%04d-%02d-%02d%c%02d:%02d:%02d", y % 10000, mo, d,
			       "Tt X"[rng_next(&seed) % 4], (int)(rng_next(&seed) % 25),
			       (int)(rng_next(&seed) % 61), (int)(rng_next(&seed) % 61));
		/* half the time the second of the text before (the reader
		 * keeps the last one), valid or not */
		if (rng_next(&seed) % 2 && it > 0)
			memcpy(b, prev, 19);
		memcpy(prev, b, 19);
		if (rng_next(&seed) % 3) {
			int nf = (int)(rng_next(&seed) % 11);

			b[len++] = '.';
			for (int k = 0; k < nf; k++)
				b[len++] = (char)('0' + rng_next(&seed) % 10);
		}
		switch (rng_next(&seed) % 4) {
		case 0: case 1: b[len++] = rng_next(&seed) % 8 ? 'Z' : 'z'; break;
		case 2: len += snprintf(b + len, sizeof(b) - (size_t)len, "%c%02d:%02d",
					rng_next(&seed) % 2 ? '+' : '-',
					(int)(rng_next(&seed) % 25), (int)(rng_next(&seed) % 61));
			break;
		default: break;           /* no zone */
		}
		r = rng_next(&seed);
		if (r % 4 == 0)            /* one byte changed */
			b[rng_next(&seed) % (size_t)len] = alt[rng_next(&seed) % (sizeof(alt) - 1)];
		else if (r % 16 == 1)      /* cut */
			len = (int)(rng_next(&seed) % (size_t)len);
		else if (r % 16 == 2 && len < 40)
			b[len++] = alt[rng_next(&seed) % (sizeof(alt) - 1)];
		int r1 = dp_event_parse_ts(b, (size_t)len, &t1);
		int r2 = ref_ts(b, (size_t)len, &t2);
		n++;
		if (r1 != r2 || (r1 == 0 && t1 != t2)) {
			if (mism++ < 5)
				printf("\n  [%.*s]: %d %lld, reference %d %lld", len, b, r1,
				       (long long)t1, r2, (long long)t2);
		}
		n_ok += r2 == 0;
	}
	printf("\n  %zu timestamps, %zu valid ", n, n_ok);
	CU_ASSERT_EQUAL(mism, 0);
	CU_ASSERT(n_ok > n / 5);      /* not vacuous */
	CU_ASSERT(n - n_ok > n / 5);
}

static void test_random_bytes_never_crash(void)
{
	uint64_t seed = 0x5eed5eed12345678ull;
	unsigned char buf[300];
	struct dp_click c;
	struct dp_txn t;
	size_t out_of_range = 0;

	for (int i = 0; i < 100000; i++) {
		size_t len = rng_next(&seed) % sizeof(buf);
		unsigned char *p;
		int rc;

		for (size_t j = 0; j < len; j++)
			buf[j] = (unsigned char)rng_next(&seed);
		/* half the cases start like an object to get past the first byte */
		if (len && (i & 1))
			buf[0] = '{';
		p = malloc(len ? len : 1);
		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, buf, len);
		rc = (i & 2) ? click((char *)p, len, NULL, &c) : txn((char *)p, len, NULL, &t);
		if (rc <= DP_EVENT_OK || rc >= DP_EVENT_ERR_MAX || why[0] == '\0')
			out_of_range++;
		free(p);
	}
	CU_ASSERT_EQUAL(out_of_range, 0);
}

static void test_mutated_events_never_crash(void)
{
	static const char ev[] = "{\"txn_id\":\"t-1\",\"user_id\":\"u42\",\"amount\":19.99,"
				 "\"currency\":\"EUR\",\"merchant\":\"m-7\",\"country\":\"DE\","
				 "\"ts\":\"2026-11-23T21:00:00.123Z\",\"type\":\"page_view\"}";
	static const char alphabet[] = "{}[]\",:\\0123456789.eE+-nulltruefalseZT \x00\xff\xc3";
	uint64_t seed = 42;
	char buf[sizeof(ev)];
	struct dp_click c;
	struct dp_txn t;
	size_t bad_rc = 0;

	for (int i = 0; i < 100000; i++) {
		size_t len = sizeof(ev) - 1;
		int flips = 1 + (int)(rng_next(&seed) % 4);
		int rc;
		char *p;

		memcpy(buf, ev, len);
		for (int k = 0; k < flips; k++)
			buf[rng_next(&seed) % len] =
				alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
		/* one case in four also loses its tail */
		if (rng_next(&seed) % 4 == 0)
			len -= 1 + rng_next(&seed) % 8;
		p = malloc(len);
		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, buf, len);
		rc = (i & 1) ? click(p, len, NULL, &c) : txn(p, len, NULL, &t);
		if (rc < DP_EVENT_OK || rc >= DP_EVENT_ERR_MAX || (rc != DP_EVENT_OK && !why[0]))
			bad_rc++;
		free(p);
	}
	CU_ASSERT_EQUAL(bad_rc, 0);
}

/* Click event {"user_id":"u","ts":0,"type":"t","x":<value>}; returns the code. */
static int click_x(const char *x_json)
{
	char buf[512];
	struct dp_click c;
	int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":%s}",
			 x_json);

	return click(buf, (size_t)n, NULL, &c);
}

static void test_strict_numbers(void)
{
	static const char *const bad[] = {
		"NaN", "-NaN", "Infinity", "-Infinity", "01", "-01", "00", "1.", ".5", "+1",
		"1e", "1e+", "1.e5", "-", "0x10", "1.5.2", "1ee2", "tru", "nul", "nulll",
		"True", "1-2",
	};
	static const char *const good[] = {
		"0", "-0", "1", "-1.5", "1e5", "1E+5", "1e-5", "0.0001", "123456789012345678901234567890",
		"true", "false", "null",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = click_x(bad[i]);

		if (rc != DP_EVENT_EJSON)
			fprintf(stderr, "x %s: rc %d why %s\n", bad[i], rc, why);
		CU_ASSERT_EQUAL(rc, DP_EVENT_EJSON);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(click_x(good[i]), DP_EVENT_OK);
	CU_ASSERT_EQUAL(click_x("01"), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 37: bad number");
	CU_ASSERT_EQUAL(click_x("nul"), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 37: bad literal");
	/* a top-level number is valid JSON, but not an object */
	CU_ASSERT_EQUAL(click(S("-1.5e3"), NULL, &(struct dp_click){0}), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "top-level value is double, want object");
	CU_ASSERT_EQUAL(click(S("01"), NULL, &(struct dp_click){0}), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click(S("\"str\""), NULL, &(struct dp_click){0}), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "top-level value is string, want object");
}

static void test_strict_string_escapes_and_utf8(void)
{
	/* valid: every short escape, BMP and astral \u forms */
	CU_ASSERT_EQUAL(click_x("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\uFFFF \\uD83D\\uDE00\""),
			DP_EVENT_OK);
	CU_ASSERT_EQUAL(click_x("\"\\x41\""), DP_EVENT_EJSON);      /* unknown escape */
	CU_ASSERT_EQUAL(click_x("\"\\u12\""), DP_EVENT_EJSON);      /* short \u */
	CU_ASSERT_EQUAL(click_x("\"\\u12G4\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\\'\""), DP_EVENT_EJSON);
	/* surrogates: lone high, lone low, high followed by a non-low */
	CU_ASSERT_EQUAL(click_x("\"\\uD83D\""), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 38: unpaired surrogate");
	CU_ASSERT_EQUAL(click_x("\"\\uDE00\\uD83D\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\\uD83D\\u0041\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\\uD83Dx\""), DP_EVENT_EJSON);
	/* raw control bytes are not JSON, DEL is */
	CU_ASSERT_EQUAL(click_x("\"a\tb\""), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 39: control character in string");
	CU_ASSERT_EQUAL(click_x("\"a\x7f" "b\""), DP_EVENT_OK);
	/* UTF-8: overlong, encoded surrogate, above U+10FFFF, cut sequence, bad
	 * continuation; also in a key */
	CU_ASSERT_EQUAL(click_x("\"\xc0\xaf\""), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 38: invalid UTF-8 in string");
	CU_ASSERT_EQUAL(click_x("\"\xe0\x80\xaf\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\xed\xa0\x80\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\xf4\x90\x80\x80\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\xe6\x9d\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\xc3\x28\""), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"k\xff\":1}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("\"\xf0\x9f\x98\x80\""), DP_EVENT_OK);
}

static void test_escaped_kept_strings_and_keys_are_decoded(void)
{
	static const char ev[] = "{\"user\\u005fid\":\"a\\/b\\\"c\",\"ts\":\"\\u0030\","
				 "\"type\":\"page\\u005fview\",\"page\":\"\\u00e9x\\u00E9\"}";
	struct dp_click c;

	CU_ASSERT_EQUAL_FATAL(click(S(ev), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.user_id, "a/b\"c");
	CU_ASSERT_EQUAL(c.user_id_len, 5);
	CU_ASSERT_EQUAL(c.ts_us, 0);
	CU_ASSERT_EQUAL(c.kind, DP_CLICK_PAGE_VIEW);
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"page\":\"\\u00e9\\/\"}"),
			      NULL, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.page, "\xc3\xa9/");
	/* a newline in page is a control byte: refused as a value */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"page\":\"\\u00e9\\n\"}"),
			      NULL, &c), DP_EVENT_EVALUE);
	CU_ASSERT_STRING_EQUAL(why, "field \"page\" has control byte 0x0a at offset 2");
}

static void test_duplicate_configured_key_rejected(void)
{
	struct dp_click c;
	struct dp_txn t;

	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"a\",\"ts\":0,\"type\":\"t\",\"user_id\":\"b\"}"),
			      NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: duplicate field \"user_id\"");
	/* spelled with an escape it is the same key */
	CU_ASSERT_EQUAL(click(S("{\"ts\":0,\"user_id\":\"a\",\"type\":\"t\",\"t\\u0073\":1}"),
			      NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: duplicate field \"ts\"");
	/* a null duplicate is still a duplicate */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"a\",\"ts\":0,\"type\":\"t\",\"page\":null,\"page\":\"/\"}"),
			      NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "duplicate field \"page\""));
	/* keys we do not use may repeat, and nested keys are not root keys */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"a\",\"x\":1,\"x\":2,\"ts\":0,\"type\":\"t\","
				"\"o\":{\"user_id\":\"b\",\"ts\":\"zz\"}}"), NULL, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.user_id, "a");
	/* the click fields do not matter to a transaction */
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\","
			      "\"ts\":0,\"type\":1,\"type\":2}"), NULL, &t), DP_EVENT_OK);
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\","
			      "\"ts\":0,\"amount\":2}"), NULL, &t), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 63: duplicate field \"amount\"");
}

static void test_structure_errors_and_nested_unknown_fields(void)
{
	struct dp_click c;

	/* nested unknown values are skipped whole, whatever they contain */
	CU_ASSERT_EQUAL(click(S("{\"x\":{\"type\":[{\"user_id\":1},[[]],{}],\"y\":{\"z\":\"}\"}},"
				"\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"arr\":[\"]\",{\"a\":[1,2]}]}"),
			      NULL, &c), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.type, "t");
	/* and still checked */
	CU_ASSERT_EQUAL(click_x("{\"a\":[1,2,]}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"a\":[1 2]}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"a\" 1}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"a\":1,}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{1:1}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("[1,]"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("[,1]"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"a\":1]"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("[1}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("{\"a\":[1,{\"b\":NaN}]}"), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click_x("[\"a\" \"b\"]"), DP_EVENT_EJSON);
	/* root level: missing comma, colon in place of comma, trailing garbage */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\" \"ts\":0,\"type\":\"t\"}"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 15: unexpected character");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}{}"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: trailing bytes after the value");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}]"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"} 1"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}\n\r\t \0\0"), NULL, &c),
			DP_EVENT_OK);
	CU_ASSERT_EQUAL(click(S(" \n{\"user_id\":\"u\", \"ts\" : 0 ,\"type\":\"t\" }"), NULL, &c),
			DP_EVENT_OK);
	/* 32 levels in all are fine, 33 are not */
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":");
	for (int i = 0; i < 31; i++)
		buf[n++] = '[';
	for (int i = 0; i < 31; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CU_ASSERT_EQUAL(click(buf, (size_t)n, NULL, &c), DP_EVENT_OK);
	memmove(buf + 40, buf + 39, (size_t)n - 39);
	memmove(buf + 40 + 31 + 1, buf + 40 + 31, (size_t)n - 40 - 31 + 1);
	buf[39] = '[';
	buf[40 + 31] = ']';
	CU_ASSERT_EQUAL(click(buf, (size_t)n + 2, NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "nesting too deep"));
}

static const char txn_ok[] = "{\"txn_id\":\"t-1\",\"user_id\":\"u42\",\"amount\":19.99,"
			     "\"currency\":\"eur\",\"merchant\":\"m-7\",\"country\":\"DE\","
			     "\"ts\":\"2026-11-23T21:00:00.123Z\"}";

/* Payment event with the given amount JSON value. */
static int txn_amount(const char *amount_json, const struct dp_event_fields *f, struct dp_txn *t)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"txn_id\":\"t-1\",\"user_id\":\"u42\",\"amount\":%s,"
			 "\"currency\":\"EUR\",\"ts\":1795467600123}", amount_json);

	return txn(buf, (size_t)n, f, t);
}

static void test_txn_valid_event(void)
{
	struct dp_txn t;

	CU_ASSERT_EQUAL_FATAL(txn(S(txn_ok), NULL, &t), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_STRING_EQUAL(t.txn_id, "t-1");
	CU_ASSERT_EQUAL(t.txn_id_len, 3);
	CU_ASSERT_STRING_EQUAL(t.user_id, "u42");
	CU_ASSERT_DOUBLE_EQUAL(t.amount, 19.99, 1e-12);
	CU_ASSERT_EQUAL(t.amount_micros, 19990000);
	CU_ASSERT_STRING_EQUAL(t.currency, "EUR");
	CU_ASSERT_STRING_EQUAL(t.merchant, "m-7");
	CU_ASSERT_EQUAL(t.merchant_len, 3);
	CU_ASSERT_STRING_EQUAL(t.country, "DE");
	CU_ASSERT_EQUAL(t.ts_us, TS_REF_US);

	CU_ASSERT_EQUAL(txn_amount("100", NULL, &t), DP_EVENT_OK);
	CU_ASSERT_EQUAL(t.amount_micros, 100000000);
	CU_ASSERT_EQUAL(t.ts_us, TS_REF_US);
	CU_ASSERT_EQUAL(t.merchant_len, 0);
	CU_ASSERT_STRING_EQUAL(t.merchant, "");
	CU_ASSERT_EQUAL(t.country_len, 0);
	CU_ASSERT_EQUAL(txn_amount("0", NULL, &t), DP_EVENT_OK);
	CU_ASSERT_EQUAL(t.amount_micros, 0);
	CU_ASSERT_EQUAL(txn_amount("1.5e2", NULL, &t), DP_EVENT_OK);
	CU_ASSERT_EQUAL(t.amount_micros, 150000000);
	CU_ASSERT_EQUAL(txn_amount("1000000000", NULL, &t), DP_EVENT_OK); /* = default max */
}

static void test_txn_field_name_mapping(void)
{
	static const char ev[] = "{\"id\":\"T9\",\"customer\":\"c1\",\"amt\":5.25,\"ccy\":\"usd\","
				 "\"shop\":\"acme\",\"cc\":\"US\",\"time\":\"2026-11-23T21:00:00.123Z\","
				 "\"amount\":\"ignored\"}";
	struct dp_event_fields f;
	struct dp_txn t;

	dp_event_fields_default(&f);
	f.txn_id = "id";
	f.user_id = "customer";
	f.amount = "amt";
	f.currency = "ccy";
	f.merchant = "shop";
	f.country = "cc";
	f.ts = "time";
	CU_ASSERT_EQUAL_FATAL(txn(S(ev), &f, &t), DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(t.txn_id, "T9");
	CU_ASSERT_STRING_EQUAL(t.user_id, "c1");
	CU_ASSERT_EQUAL(t.amount_micros, 5250000);
	CU_ASSERT_STRING_EQUAL(t.currency, "USD");
	CU_ASSERT_STRING_EQUAL(t.merchant, "acme");
	CU_ASSERT_STRING_EQUAL(t.country, "US");
	CU_ASSERT_EQUAL(t.ts_us, TS_REF_US);
	CU_ASSERT_EQUAL(txn(S("{\"id\":\"T9\",\"customer\":\"c1\",\"amt\":5,\"time\":0}"), &f, &t),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"ccy\"");
}

static void test_txn_bad_amounts(void)
{
	struct dp_event_fields f;
	struct dp_txn t;

	/* NaN and Infinity are not JSON (json-c took them as numbers) */
	CU_ASSERT_EQUAL(txn_amount("NaN", NULL, &t), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 41: unexpected character");
	CU_ASSERT_EQUAL(txn_amount("Infinity", NULL, &t), DP_EVENT_EJSON);
	CU_ASSERT_EQUAL(txn_amount("-Infinity", NULL, &t), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 41: bad number");
	CU_ASSERT_EQUAL(txn_amount("1e400", NULL, &t), DP_EVENT_EAMOUNT);
	CU_ASSERT_STRING_EQUAL(why, "field \"amount\" is not a finite number");
	CU_ASSERT_EQUAL(txn_amount("-5", NULL, &t), DP_EVENT_EAMOUNT);
	CU_ASSERT_STRING_EQUAL(why, "field \"amount\" is negative (-5)");
	CU_ASSERT_EQUAL(txn_amount("-0.01", NULL, &t), DP_EVENT_EAMOUNT);
	CU_ASSERT_EQUAL(txn_amount("1000000000.01", NULL, &t), DP_EVENT_EAMOUNT);
	CU_ASSERT_EQUAL(txn_amount("99999999999999999999", NULL, &t), DP_EVENT_EAMOUNT);
	dp_event_fields_default(&f);
	f.max_amount = 1000;
	CU_ASSERT_EQUAL(txn_amount("1000", &f, &t), DP_EVENT_OK);
	CU_ASSERT_EQUAL(txn_amount("1000.5", &f, &t), DP_EVENT_EAMOUNT);
	CU_ASSERT_STRING_EQUAL(why, "field \"amount\" is 1000.5, above max 1000");

	CU_ASSERT_EQUAL(txn_amount("\"19.99\"", NULL, &t), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"amount\" is string, want number");
	CU_ASSERT_EQUAL(txn_amount("true", NULL, &t), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"amount\" is boolean, want number");
	CU_ASSERT_EQUAL(txn_amount("null", NULL, &t), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"amount\" (null)");
}

static void test_txn_missing_and_bad_fields(void)
{
	struct dp_txn t;

	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"ts\":0}"), NULL, &t),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"currency\"");
	CU_ASSERT_EQUAL(txn(S("{\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\",\"ts\":0}"), NULL, &t),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"txn_id\"");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"amount\":1,\"currency\":\"EUR\",\"ts\":0}"), NULL, &t),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"user_id\"");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"currency\":\"EUR\",\"ts\":0}"), NULL, &t),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"amount\"");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\"}"),
			    NULL, &t), DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(why, "missing field \"ts\"");

	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EURO\","
			      "\"ts\":0}"), NULL, &t), DP_EVENT_EVALUE);
	CU_ASSERT_STRING_EQUAL(why, "field \"currency\" must be 3 ASCII letters");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"E1R\","
			      "\"ts\":0}"), NULL, &t), DP_EVENT_EVALUE);
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":978,"
			      "\"ts\":0}"), NULL, &t), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"currency\" is int, want string");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\","
			      "\"country\":[\"DE\"],\"ts\":0}"), NULL, &t), DP_EVENT_ETYPE);
	CU_ASSERT_STRING_EQUAL(why, "field \"country\" is array, want string");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\","
			      "\"merchant\":null,\"ts\":\"2026-11-23T21:00:00\"}"), NULL, &t),
			DP_EVENT_ETIMESTAMP);
	CU_ASSERT_STRING_EQUAL(why, "field \"ts\": bad timestamp \"2026-11-23T21:00:00\"");
	CU_ASSERT_EQUAL(txn(S("{\"txn_id\":\"t\",\"user_id\":\"u\",\"amount\":1,\"currency\":\"EUR\","
			      "\"country\":\"ABCDEFGHIJKLMNOPQ\",\"ts\":0}"), NULL, &t), DP_EVENT_EOVERSIZE);
	CU_ASSERT_STRING_EQUAL(why, "field \"country\" is 17 bytes, max 16");
}

/*
 * Fast paths (2026-11-24): an all-plain-ASCII text skips the per-string
 * checks; other texts scan string bodies 16 bytes at a time. These tests put
 * a special byte at every position of strings whose lengths straddle the
 * 16- and 32-byte blocks, so a block or tail mistake shows as a wrong code,
 * offset or value.
 */
static const size_t fp_lens[] = { 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100 };

/* {"user_id":"u","ts":0,"type":"t","page":"<body>"}: returns the code; *off
 * gets the buffer offset of the body. */
static int click_page(const char *body, size_t n, struct dp_click *c, size_t *off)
{
	static const char head[] = "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"page\":\"";
	char buf[4200];
	size_t len = sizeof(head) - 1;

	CU_ASSERT_FATAL(len + n + 2 <= sizeof(buf));
	memcpy(buf, head, len);
	memcpy(buf + len, body, n);
	*off = len;
	len += n;
	buf[len++] = '"';
	buf[len++] = '}';
	return click(buf, len, NULL, c);
}

static void test_fast_path_plain_strings_every_length(void)
{
	char body[2100], want_why[128], plain[96];
	struct dp_click c;
	size_t off, np = 0;

	/* every printable ASCII byte but the quote and the backslash */
	for (int ch = 0x20; ch < 0x7f; ch++)
		if (ch != '"' && ch != '\\')
			plain[np++] = (char)ch;
	for (size_t n = 1; n <= 130; n++) {
		for (size_t i = 0; i < n; i++)
			body[i] = plain[(i * 7 + n) % np];
		CU_ASSERT_EQUAL_FATAL(click_page(body, n, &c, &off), DP_EVENT_OK);
		CU_ASSERT_EQUAL(c.page_len, n);
		CU_ASSERT_EQUAL(memcmp(c.page, body, n), 0);
		CU_ASSERT_EQUAL(c.page[n], '\0');
	}
	/* the bound, plain and with one UTF-8 sequence (checked path) */
	memset(body, 'p', sizeof(body));
	CU_ASSERT_EQUAL(click_page(body, DP_EVENT_PAGE_MAX, &c, &off), DP_EVENT_OK);
	CU_ASSERT_EQUAL(c.page_len, DP_EVENT_PAGE_MAX);
	CU_ASSERT_EQUAL(click_page(body, DP_EVENT_PAGE_MAX + 1, &c, &off), DP_EVENT_EOVERSIZE);
	CU_ASSERT_STRING_EQUAL(why, "field \"page\" is 2049 bytes, max 2048");
	memcpy(body + 1000, "\xc3\xa9", 2);
	CU_ASSERT_EQUAL(click_page(body, DP_EVENT_PAGE_MAX, &c, &off), DP_EVENT_OK);
	CU_ASSERT_EQUAL(memcmp(c.page + 1000, "\xc3\xa9", 2), 0);
	body[2047] = '\x01';
	CU_ASSERT_EQUAL(click_page(body, DP_EVENT_PAGE_MAX, &c, &off), DP_EVENT_EJSON);
	snprintf(want_why, sizeof(want_why), "invalid JSON at byte %zu: control character in string",
		 off + 2047);
	CU_ASSERT_STRING_EQUAL(why, want_why);
}

static void test_fast_path_special_byte_at_every_position(void)
{
	char body[128], want_why[128];
	struct dp_click c;
	size_t off, bad = 0;

	for (size_t li = 0; li < sizeof(fp_lens) / sizeof(fp_lens[0]); li++) {
		size_t n = fp_lens[li];

		for (size_t p = 0; p < n; p++) {
			int rc;

			memset(body, 'a', n);
			/* raw control byte: not JSON, at its exact offset */
			body[p] = '\x1f';
			rc = click_page(body, n, &c, &off);
			snprintf(want_why, sizeof(want_why),
				 "invalid JSON at byte %zu: control character in string", off + p);
			bad += rc != DP_EVENT_EJSON || strcmp(why, want_why) != 0;
			/* a lone continuation byte: invalid UTF-8 */
			body[p] = '\x80';
			rc = click_page(body, n, &c, &off);
			snprintf(want_why, sizeof(want_why),
				 "invalid JSON at byte %zu: invalid UTF-8 in string", off + p);
			bad += rc != DP_EVENT_EJSON || strcmp(why, want_why) != 0;
			/* DEL: valid JSON, a bad kept value */
			body[p] = '\x7f';
			rc = click_page(body, n, &c, &off);
			snprintf(want_why, sizeof(want_why),
				 "field \"page\" has control byte 0x7f at offset %zu", p);
			bad += rc != DP_EVENT_EVALUE || strcmp(why, want_why) != 0;
			/* an escape in place of byte p: decoded, same length */
			memset(body, 'a', n);
			body[p] = '\\';
			body[n] = '/';
			memmove(body + p + 1, body + p, n - p);
			body[p + 1] = '/';
			rc = click_page(body, n + 1, &c, &off);
			bad += rc != DP_EVENT_OK || c.page_len != n || c.page[p] != '/' ||
			       (p > 0 && c.page[p - 1] != 'a') || (p + 1 < n && c.page[p + 1] != 'a');
			/* an unknown escape letter: jsmn refuses the string (at its
			 * opening quote) */
			body[p + 1] = 'x';
			rc = click_page(body, n + 1, &c, &off);
			snprintf(want_why, sizeof(want_why), "invalid JSON at byte %zu: bad string",
				 off - 1);
			bad += rc != DP_EVENT_EJSON || strcmp(why, want_why) != 0;
			if (bad) {
				fprintf(stderr, "len %zu pos %zu: rc %d why %s\n", n, p, rc, why);
				CU_FAIL_FATAL("special byte at a block boundary mishandled");
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_fast_path_utf8_straddling_blocks(void)
{
	static const char *const seq[] = { "\xc3\xa9", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80" };
	char body[80], want_why[128];
	struct dp_click c;
	size_t off, bad = 0;

	for (size_t si = 0; si < 3; si++) {
		size_t sl = strlen(seq[si]);

		for (size_t n = 14; n <= 40; n++) {
			for (size_t p = 0; p + sl <= n; p++) {
				int rc;

				memset(body, 'b', n);
				memcpy(body + p, seq[si], sl);
				rc = click_page(body, n, &c, &off);
				bad += rc != DP_EVENT_OK || c.page_len != n ||
				       memcmp(c.page, body, n) != 0;
				/* cut short by the closing quote: invalid at the lead byte */
				if (p + sl == n) {
					rc = click_page(body, n - 1, &c, &off);
					snprintf(want_why, sizeof(want_why),
						 "invalid JSON at byte %zu: invalid UTF-8 in string",
						 off + p);
					bad += rc != DP_EVENT_EJSON || strcmp(why, want_why) != 0;
				}
				/* a bad continuation byte in the middle of the sequence */
				body[p + sl - 1] = 'x';
				rc = click_page(body, n, &c, &off);
				bad += rc != DP_EVENT_EJSON;
				if (bad) {
					fprintf(stderr, "seq %zu len %zu pos %zu: rc %d why %s\n",
						si, n, p, rc, why);
					CU_FAIL_FATAL("UTF-8 across a block boundary mishandled");
				}
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_fast_path_long_unknown_string_and_whole_text_tail(void)
{
	static const char head[] = "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":\"";
	size_t n = 60000, len = sizeof(head) - 1 + n + 2;
	char *buf = malloc(len), want_why[128];
	struct dp_click c;

	CU_ASSERT_FATAL(buf != NULL);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'z', n);
	memcpy(buf + len - 2, "\"}", 2);
	CU_ASSERT_EQUAL(click(buf, len, NULL, &c), DP_EVENT_OK);
	/* a tab in the last byte of the string (the text's overlapping tail) */
	buf[len - 3] = '\t';
	CU_ASSERT_EQUAL(click(buf, len, NULL, &c), DP_EVENT_EJSON);
	snprintf(want_why, sizeof(want_why), "invalid JSON at byte %zu: control character in string",
		 len - 3);
	CU_ASSERT_STRING_EQUAL(why, want_why);
	/* DEL in an unknown value is valid JSON: the event parses */
	buf[len - 3] = '\x7f';
	CU_ASSERT_EQUAL(click(buf, len, NULL, &c), DP_EVENT_OK);
	free(buf);
	/* blanks between tokens (not plain only for the newline) still parse */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\n\"ts\":0,\r\n\t\"type\":\"t\"}"), NULL, &c),
			DP_EVENT_OK);
	CU_ASSERT_STRING_EQUAL(c.type, "t");
	/* the shortest texts: below one 16-byte block */
	CU_ASSERT_EQUAL(click(S("{\"a\":\"\x7f\"}"), NULL, &c), DP_EVENT_EMISSING);
	CU_ASSERT_EQUAL(click(S("{\"a\":\"\x01\"}"), NULL, &c), DP_EVENT_EJSON);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 6: control character in string");
}

static void test_configured_key_names_of_every_length_match_exactly(void)
{
	static const char name[] = "abcdefghijklmnopqrstuvwxyz";
	struct dp_event_fields f;
	struct dp_click c;
	/* a buffer per name: names are not rewritten in place (dp_event.h) */
	char names[21][32], key[64], buf[256];

	for (size_t n = 1; n <= 20; n++) {
		char *nm = names[n];

		memcpy(nm, name, n);
		nm[n] = '\0';
		dp_event_fields_default(&f);
		f.user_id = nm;
		for (size_t p = 0; p <= n; p++) {
			int len, rc;

			memcpy(key, nm, n + 1);
			if (p < n)
				key[p] = 'Z';    /* differs in byte p */
			len = snprintf(buf, sizeof(buf), "{\"%s\":\"v\",\"ts\":0,\"type\":\"t\"}", key);
			rc = click(buf, (size_t)len, &f, &c);
			if (p == n) {
				CU_ASSERT_EQUAL(rc, DP_EVENT_OK);
				CU_ASSERT_STRING_EQUAL(c.user_id, "v");
			} else {
				CU_ASSERT_EQUAL(rc, DP_EVENT_EMISSING);
			}
		}
		/* a key one byte longer or shorter is another key */
		snprintf(key, sizeof(key), "%sa", nm);
		CU_ASSERT_EQUAL(click(buf, (size_t)snprintf(buf, sizeof(buf),
			"{\"%s\":\"v\",\"ts\":0,\"type\":\"t\"}", key), &f, &c), DP_EVENT_EMISSING);
		CU_ASSERT_EQUAL(click(buf, (size_t)snprintf(buf, sizeof(buf),
			"{\"%.*s\":\"v\",\"ts\":0,\"type\":\"t\"}", (int)n - 1, nm), &f, &c),
			DP_EVENT_EMISSING);
	}
}

static void test_txn_amount_fast_path_equals_strtod(void)
{
	static const char *const amounts[] = {
		"19.99", "0.1", "0.3", "1", "0", "-0", "100.5", "0.000001", "999999999.999999",
		"123456789.012345", "1234567890.12345", "0.12345678901234", "33.333333333333",
		"1234567.1234567891", "5e2", "1.5E-3", "0.00000000000000000001",
		"2.2250738585072014", "7.0000000000000001",
	};
	struct dp_txn t;

	for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
		double want = strtod(amounts[i], NULL);
		int rc = txn_amount(amounts[i], NULL, &t);

		if (want > 1e9) {
			CU_ASSERT_EQUAL(rc, DP_EVENT_EAMOUNT);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, DP_EVENT_OK);
		if (memcmp(&t.amount, &want, sizeof(want)) != 0)
			fprintf(stderr, "amount %s: %.17g, strtod %.17g\n", amounts[i], t.amount, want);
		CU_ASSERT_EQUAL(memcmp(&t.amount, &want, sizeof(want)), 0);
	}
}

static void test_strerror_names_every_code(void)
{
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_OK), "success");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_EJSON), "invalid JSON");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_EMISSING), "missing field");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_ETYPE), "wrong type");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_ETIMESTAMP), "bad timestamp");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_EAMOUNT), "bad amount");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_EOVERSIZE), "oversize");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_EVALUE), "bad field value");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(DP_EVENT_ERR_MAX), "unknown error");
	CU_ASSERT_STRING_EQUAL(dp_event_strerror(-1), "unknown error");
}

static void test_why_buffer_optional_and_truncated(void)
{
	struct dp_click c;
	char small[8];

	CU_ASSERT_EQUAL(dp_event_parse_click(S("{}"), NULL, get_ctx(), &c, NULL, 0),
			DP_EVENT_EMISSING);
	CU_ASSERT_EQUAL(dp_event_parse_click(S("{}"), NULL, get_ctx(), &c, small, sizeof(small)),
			DP_EVENT_EMISSING);
	CU_ASSERT_STRING_EQUAL(small, "missing");
}

/* ------------------------------------------------ fast path vs jsmn path */

/* A text under construction; bytes past the room are dropped (the
 * generators stay well inside it). */
struct sb {
	char b[8192];
	size_t n;
};

static void sb_put(struct sb *s, const char *p, size_t n)
{
	if (n > sizeof(s->b) - s->n)
		n = sizeof(s->b) - s->n;
	memmove(s->b + s->n, p, n);   /* @p may lie in s->b (mutate()) */
	s->n += n;
}

static void sb_str(struct sb *s, const char *p)
{
	sb_put(s, p, strlen(p));
}

static void sb_ch(struct sb *s, char c)
{
	sb_put(s, &c, 1);
}

/* False for one generated event in four: that one may get tabs, newlines,
 * escapes and UTF-8 (texts the jsmn path answers). */
static bool gen_plain;

/* Blanks between tokens: mostly none, sometimes spaces, in a not-plain
 * event sometimes a tab or newline. */
static void gen_ws(struct sb *s, uint64_t *seed)
{
	unsigned r = (unsigned)(rng_next(seed) % 16);

	if (r < 11)
		return;
	if (r < 15 || gen_plain) {
		r = r < 15 ? r : 14;
		for (unsigned i = 0; i <= r - 11; i++)
			sb_ch(s, ' ');
		return;
	}
	sb_str(s, (rng_next(seed) & 1) ? "\t" : "\n ");
}

/* A string body: printable ASCII, rarely an escape or UTF-8. */
static void gen_str_body(struct sb *s, uint64_t *seed, size_t maxlen)
{
	static const char plain[] = "abcxyzABC0129 _-./:,{}[]tnu";
	size_t n = maxlen ? rng_next(seed) % (maxlen + 1) : 0;

	for (size_t i = 0; i < n; i++) {
		unsigned r = gen_plain ? 200 : (unsigned)(rng_next(seed) % 50);

		if (r == 0)
			sb_str(s, "\\n");
		else if (r == 1)
			sb_str(s, "\\u00e9");
		else if (r == 2)
			sb_str(s, "\xc3\xa9");
		else if (r == 3)
			sb_str(s, "\\\"");
		else
			sb_ch(s, plain[rng_next(seed) % (sizeof(plain) - 1)]);
	}
}

static void gen_number(struct sb *s, uint64_t *seed)
{
	static const char *const nums[] = {
		"0", "-0", "1", "-1", "7", "42", "19.99", "-0.5", "0.000001", "1e3", "1E+10",
		"2.5e-3", "-1.5E-07", "123456789012345678901234567890", "1795467600123",
		"9007199254740993", "0.1", "1e400", "100", "3.14159265358979",
	};
	sb_str(s, nums[rng_next(seed) % (sizeof(nums) / sizeof(nums[0]))]);
}

static void gen_value(struct sb *s, uint64_t *seed, int depth);

static void gen_container(struct sb *s, uint64_t *seed, int depth, bool obj)
{
	unsigned n = (unsigned)(rng_next(seed) % 4);

	sb_ch(s, obj ? '{' : '[');
	gen_ws(s, seed);
	for (unsigned i = 0; i < n; i++) {
		if (i) {
			sb_ch(s, ',');
			gen_ws(s, seed);
		}
		if (obj) {
			sb_ch(s, '"');
			/* nested keys sometimes spell a wanted root key */
			if (rng_next(seed) % 3 == 0)
				sb_str(s, (rng_next(seed) & 1) ? "user_id" : "ts");
			else
				gen_str_body(s, seed, 6);
			sb_ch(s, '"');
			gen_ws(s, seed);
			sb_ch(s, ':');
			gen_ws(s, seed);
		}
		gen_value(s, seed, depth + 1);
		gen_ws(s, seed);
	}
	sb_ch(s, obj ? '}' : ']');
}

/* Any JSON value, containers to a few levels. */
static void gen_value(struct sb *s, uint64_t *seed, int depth)
{
	unsigned r = (unsigned)(rng_next(seed) % (depth < 4 ? 8 : 6));

	switch (r) {
	case 0: sb_str(s, "null"); break;
	case 1: sb_str(s, (rng_next(seed) & 1) ? "true" : "false"); break;
	case 2: case 3: gen_number(s, seed); break;
	case 4: case 5:
		sb_ch(s, '"');
		/* now and then a long one, so that texts cross several blocks
		 * and the 1 KiB scan chunk */
		gen_str_body(s, seed, rng_next(seed) % 32 == 0 ? 1500 : 12);
		sb_ch(s, '"');
		break;
	case 6: gen_container(s, seed, depth, true); break;
	default: gen_container(s, seed, depth, false); break;
	}
}

/* Key names per field for the configurations the differential test uses:
 * defaults, renamed (short, long, > 63 bytes), and two fields sharing one
 * key (page and type, session_hint and user_id). */
enum { DF_USER, DF_TS, DF_TYPE, DF_PAGE, DF_HINT, DF_TXN, DF_AMOUNT, DF_CUR,
       DF_MERCHANT, DF_COUNTRY, DF_N };

static const char *const diff_names[4][DF_N] = {
	{ "user_id", "ts", "type", "page", "session_hint", "txn_id", "amount", "currency",
	  "merchant", "country" },
	{ "u", "t", "ty", "p", "s", "tx", "a", "c", "m", "co" },
	{ "the_user_identifier", "event_timestamp_ms", "x", "",
	  "a_key_name_that_is_longer_than_sixty_three_bytes_to_pass_the_fingerprint_x",
	  "transaction", "amt", "cur", "merch", "cc" },
	{ "user_id", "ts", "type", "type", "user_id", "id", "amount", "currency", "id",
	  "country" },
};

static void fields_of(int cfg, struct dp_event_fields *f)
{
	dp_event_fields_default(f);
	f->user_id = diff_names[cfg][DF_USER];
	f->ts = diff_names[cfg][DF_TS];
	f->type = diff_names[cfg][DF_TYPE];
	f->page = diff_names[cfg][DF_PAGE];
	f->session_hint = diff_names[cfg][DF_HINT];
	f->txn_id = diff_names[cfg][DF_TXN];
	f->amount = diff_names[cfg][DF_AMOUNT];
	f->currency = diff_names[cfg][DF_CUR];
	f->merchant = diff_names[cfg][DF_MERCHANT];
	f->country = diff_names[cfg][DF_COUNTRY];
}

/* True when field @df of configuration @cfg has the key of an earlier
 * field of the event shape: the event has that key once, for both. */
static bool shares_key(int cfg, int df, bool is_txn)
{
	static const int click_f[] = { DF_USER, DF_TS, DF_TYPE, DF_PAGE, DF_HINT };
	static const int txn_f[] = { DF_TXN, DF_USER, DF_AMOUNT, DF_CUR, DF_MERCHANT,
				     DF_COUNTRY, DF_TS };
	const int *fl = is_txn ? txn_f : click_f;
	int nf = is_txn ? 7 : 5;

	for (int i = 0; i < nf && fl[i] != df; i++)
		if (strcmp(diff_names[cfg][fl[i]], diff_names[cfg][df]) == 0)
			return true;
	return false;
}

/* A good value for field @df most of the time, else any value. */
static void gen_field_value(struct sb *s, uint64_t *seed, int df)
{
	char tmp[64];

	if (rng_next(seed) % 10 == 0) {
		gen_value(s, seed, 1);
		return;
	}
	switch (df) {
	case DF_TS:
		switch (rng_next(seed) % 4) {
		case 0: sb_str(s, "\"2026-11-23T21:00:00.123Z\""); break;
		case 1: sb_str(s, "1795467600123"); break;
		case 2: sb_str(s, "\"1795467600123\""); break;
		default: sb_str(s, "\"2026-11-23 22:00:00+01:00\""); break;
		}
		break;
	case DF_AMOUNT:
		snprintf(tmp, sizeof(tmp), "%u.%02u", (unsigned)(rng_next(seed) % 100000),
			 (unsigned)(rng_next(seed) % 100));
		sb_str(s, rng_next(seed) % 4 ? tmp : "7");
		break;
	case DF_CUR:
		sb_str(s, (rng_next(seed) & 1) ? "\"EUR\"" : "\"usd\"");
		break;
	case DF_TYPE:
		sb_str(s, (rng_next(seed) & 1) ? "\"page_view\"" : "\"click\"");
		break;
	case DF_PAGE: case DF_HINT: case DF_MERCHANT: case DF_COUNTRY:
		if (rng_next(seed) % 4 == 0) {
			sb_str(s, "null");
			break;
		}
		/* fall through */
	default:
		sb_ch(s, '"');
		gen_str_body(s, seed, 20);
		sb_ch(s, '"');
		break;
	}
}

/*
 * A click (@is_txn false) or payment event for key configuration @cfg: the
 * fields in random order (one sometimes left out), extra keys of every
 * type between them, random blanks; then padded with blanks before the
 * closing brace to a length around a block edge now and then.
 */
static void gen_event(struct sb *s, uint64_t *seed, int cfg, bool is_txn)
{
	static const int click_f[] = { DF_USER, DF_TS, DF_TYPE, DF_PAGE, DF_HINT };
	static const int txn_f[] = { DF_TXN, DF_USER, DF_AMOUNT, DF_CUR, DF_MERCHANT,
				     DF_COUNTRY, DF_TS };
	static const size_t edges[] = { 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 192, 193 };
	const int *fl = is_txn ? txn_f : click_f;
	int order[8], nf = is_txn ? 7 : 5, skip = -1;
	bool first = true;

	for (int i = 0; i < nf; i++)
		order[i] = fl[i];
	for (int i = nf - 1; i > 0 && rng_next(seed) % 2; i--) {
		int j = (int)(rng_next(seed) % (uint64_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (rng_next(seed) % 8 == 0)
		skip = (int)(rng_next(seed) % (uint64_t)nf);
	gen_plain = rng_next(seed) % 4 != 0;
	s->n = 0;
	if (rng_next(seed) % 8 == 0)
		sb_str(s, "  ");
	sb_ch(s, '{');
	gen_ws(s, seed);
	for (int i = 0; i <= nf; i++) {
		unsigned extra = (unsigned)(rng_next(seed) % 5 == 0);

		for (unsigned x = 0; x < extra; x++) {
			if (!first)
				sb_ch(s, ',');
			first = false;
			gen_ws(s, seed);
			/* '_' first: no configured name has it */
			sb_str(s, "\"_");
			gen_str_body(s, seed, 5);
			sb_ch(s, '"');
			gen_ws(s, seed);
			sb_ch(s, ':');
			gen_ws(s, seed);
			gen_value(s, seed, 1);
			gen_ws(s, seed);
		}
		if (i == nf || i == skip || shares_key(cfg, order[i], is_txn))
			continue;
		if (!first)
			sb_ch(s, ',');
		first = false;
		gen_ws(s, seed);
		sb_ch(s, '"');
		sb_str(s, diff_names[cfg][order[i]]);
		sb_ch(s, '"');
		gen_ws(s, seed);
		sb_ch(s, ':');
		gen_ws(s, seed);
		gen_field_value(s, seed, order[i]);
		gen_ws(s, seed);
	}
	if (rng_next(seed) % 3 == 0) {
		size_t want = edges[rng_next(seed) % (sizeof(edges) / sizeof(edges[0]))];

		while (s->n + 1 < want)
			sb_ch(s, ' ');
	}
	sb_ch(s, '}');
	if (rng_next(seed) % 16 == 0)
		sb_str(s, "\n");
}

/* Break @s the ways a hand-written scanner can get wrong. */
static void mutate(struct sb *s, uint64_t *seed)
{
	static const char alphabet[] = "{}[]\",: \\0123456789.eE+-ntfalsru\t\n\x01\x7f\xc3\x80";
	static const char *const bare[] = { "1", "null", "\"x\"", "[1]", "[]", "true", "-",
					    "{", "}", "{}", "{\"a\":1}x", "{\"a\":1},", " " };
	size_t at = s->n ? rng_next(seed) % s->n : 0;
	char c = alphabet[rng_next(seed) % (sizeof(alphabet) - 1)];
	char *hit;

	switch (rng_next(seed) % 10) {
	case 0: /* delete a byte */
		if (s->n) {
			memmove(s->b + at, s->b + at + 1, s->n - at - 1);
			s->n--;
		}
		break;
	case 1: /* insert a byte */
		if (s->n < sizeof(s->b)) {
			memmove(s->b + at + 1, s->b + at, s->n - at);
			s->b[at] = c;
			s->n++;
		}
		break;
	case 2: /* replace a byte */
		if (s->n)
			s->b[at] = c;
		break;
	case 3: /* truncate */
		s->n = at;
		break;
	case 4: /* trailing comma before a closer */
		for (size_t i = at; i < s->n; i++) {
			if (s->b[i] == '}' || s->b[i] == ']') {
				memmove(s->b + i + 1, s->b + i, s->n - i);
				s->b[i] = ',';
				s->n++;
				break;
			}
		}
		break;
	case 5: /* lose a comma or colon */
		for (size_t i = at; i < s->n; i++) {
			if (s->b[i] == ',' || s->b[i] == ':') {
				memmove(s->b + i, s->b + i + 1, s->n - i - 1);
				s->n--;
				break;
			}
		}
		break;
	case 6: /* a key again: copy the first member to the end */
		hit = memchr(s->b, ',', s->n);
		if (hit && s->n > 2 && s->n + (size_t)(hit - s->b) < sizeof(s->b)) {
			size_t m = (size_t)(hit - s->b) - 1, end = s->n;

			while (end > 0 && s->b[end - 1] != '}')
				end--;
			if (end > 0) {
				char tail[16];
				size_t tl = s->n - (end - 1);

				if (tl <= sizeof(tail)) {
					memcpy(tail, s->b + end - 1, tl);
					s->n = end - 1;
					sb_ch(s, ',');
					sb_put(s, s->b + 1 + (s->b[0] == ' ' ? 2 : 0), m);
					sb_put(s, tail, tl);
				}
			}
		}
		break;
	case 7: /* a bare or odd top-level text */
		s->n = 0;
		sb_str(s, bare[rng_next(seed) % (sizeof(bare) / sizeof(bare[0]))]);
		break;
	case 8: /* an unbalanced bracket */
		if (s->n < sizeof(s->b)) {
			static const char br[] = "{}[]";

			memmove(s->b + at + 1, s->b + at, s->n - at);
			s->b[at] = br[rng_next(seed) % 4];
			s->n++;
		}
		break;
	default: /* two of the above */
		mutate(s, seed);
		mutate(s, seed);
		break;
	}
}

static bool same_str(const char *a, uint32_t al, const char *b, uint32_t bl)
{
	return al == bl && a && b && memcmp(a, b, al) == 0 && a[al] == '\0' && b[bl] == '\0';
}

static bool same_click(const struct dp_click *a, const struct dp_click *b)
{
	return a->ts_us == b->ts_us && a->kind == b->kind &&
	       same_str(a->user_id, a->user_id_len, b->user_id, b->user_id_len) &&
	       same_str(a->type, a->type_len, b->type, b->type_len) &&
	       same_str(a->page, a->page_len, b->page, b->page_len) &&
	       a->has_page == b->has_page &&
	       same_str(a->session_hint, a->session_hint_len, b->session_hint,
			b->session_hint_len) &&
	       a->has_session_hint == b->has_session_hint;
}

static bool same_txn(const struct dp_txn *a, const struct dp_txn *b)
{
	return a->ts_us == b->ts_us && memcmp(&a->amount, &b->amount, sizeof(a->amount)) == 0 &&
	       a->amount_micros == b->amount_micros && strcmp(a->currency, b->currency) == 0 &&
	       same_str(a->txn_id, a->txn_id_len, b->txn_id, b->txn_id_len) &&
	       same_str(a->user_id, a->user_id_len, b->user_id, b->user_id_len) &&
	       same_str(a->merchant, a->merchant_len, b->merchant, b->merchant_len) &&
	       same_str(a->country, a->country_len, b->country, b->country_len);
}

/* Tallies of one differential run. */
struct diff_stats {
	size_t docs, mismatches, fast, fast_ok, ok, fast_missed, shape;
};

/*
 * Parse @p[0..@len) as a click with the fast path on (@fa) and off (@sl);
 * count a difference in return code, message or output in @st (and the
 * parse by a learned shape). *@cf gets @fa's result; returns its code.
 */
static int click_cmp(struct dp_event_ctx *fa, struct dp_event_ctx *sl, const char *p,
		     size_t len, const struct dp_event_fields *f, struct dp_click *cf,
		     struct diff_stats *st)
{
	char wf[256], ws[256];
	struct dp_click cs;
	int rf, rs;

	memset(cf, 0, sizeof(*cf));
	memset(&cs, 0, sizeof(cs));
	rf = dp_event_parse_click(p, len, f, fa, cf, wf, sizeof(wf));
	st->shape += dp_event_ctx_last_was_shape(fa);
	rs = dp_event_parse_click(p, len, f, sl, &cs, ws, sizeof(ws));
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(sl));
	if (rf != rs || strcmp(wf, ws) != 0 || (rf == DP_EVENT_OK && !same_click(cf, &cs))) {
		if (st->mismatches++ < 5)
			printf("\nclick mismatch %d/%d \"%s\" / \"%s\" on [%.*s]\n", rf, rs, wf, ws,
			       (int)(len < 200 ? len : 200), p);
	}
	return rf;
}

/*
 * Parse @buf[0..@len) (a heap copy of exactly that size) as a click and as
 * a payment event with the fast path on (@fa) and off (@sl); count any
 * difference in return code, message or output. @must_fast: a valid plain
 * event that the fast path has to answer.
 */
static void diff_one(struct dp_event_ctx *fa, struct dp_event_ctx *sl, const char *buf,
		     size_t len, const struct dp_event_fields *f, bool must_fast,
		     struct diff_stats *st)
{
	char *p = malloc(len ? len : 1), wf[256], ws[256];
	struct dp_click cf;
	struct dp_txn tf, ts;
	int rf, rs;
	bool any_fast = false;

	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, buf, len);
	st->docs++;
	rf = click_cmp(fa, sl, p, len, f, &cf, st);
	any_fast |= dp_event_ctx_last_was_fast(fa);
	st->ok += rf == DP_EVENT_OK;
	st->fast_ok += rf == DP_EVENT_OK && dp_event_ctx_last_was_fast(fa);
	rf = dp_event_parse_txn(p, len, f, fa, &tf, wf, sizeof(wf));
	any_fast |= dp_event_ctx_last_was_fast(fa);
	st->shape += dp_event_ctx_last_was_shape(fa);
	rs = dp_event_parse_txn(p, len, f, sl, &ts, ws, sizeof(ws));
	if (rf != rs || strcmp(wf, ws) != 0 || (rf == DP_EVENT_OK && !same_txn(&tf, &ts))) {
		if (st->mismatches++ < 5)
			printf("\ntxn mismatch %d/%d \"%s\" / \"%s\" on [%.*s]\n", rf, rs, wf, ws,
			       (int)len, buf);
	}
	st->ok += rf == DP_EVENT_OK;
	st->fast_ok += rf == DP_EVENT_OK && dp_event_ctx_last_was_fast(fa);
	st->fast += any_fast;
	if (must_fast && !any_fast && st->fast_missed++ < 5)
		printf("\nfast path not taken on [%.*s]\n", (int)len, buf);
	free(p);
}

/* True when @b[0..@n) is printable ASCII without backslashes. */
static bool plain_text(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] >= 0x7f || b[i] == '\\')
			return false;
	return true;
}

static void test_fast_path_equals_jsmn_path_on_generated_and_mutated_events(void)
{
	uint64_t seed = 0x0123456789abcdefull;
	struct dp_event_ctx *fa = NULL, *sl = NULL;
	struct dp_event_fields fcfg[4];
	struct diff_stats st = { 0 };
	struct sb s;

	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_FATAL(dp_event_ctx_create(&sl) == 0);
	dp_event_ctx_set_fast(sl, false);
	for (int c = 0; c < 4; c++)
		fields_of(c, &fcfg[c]);
	for (int i = 0; i < 60000; i++) {
		int cfg = (int)(rng_next(&seed) % 4);
		bool is_txn = rng_next(&seed) & 1;
		const struct dp_event_fields *f = cfg == 0 && (i & 1) ? NULL : &fcfg[cfg];
		size_t n0;
		/* trailing blanks are trimmed first, so plain up to them */
		bool plain;

		gen_event(&s, &seed, cfg, is_txn);
		n0 = s.n;
		while (n0 > 0 && (s.b[n0 - 1] == '\n' || s.b[n0 - 1] == ' '))
			n0--;
		plain = plain_text(s.b, n0);
		/* a generated event is valid JSON with no configured key twice:
		 * when plain, the fast path must answer it */
		diff_one(fa, sl, s.b, s.n, f, plain, &st);
		mutate(&s, &seed);
		diff_one(fa, sl, s.b, s.n, f, false, &st);
	}
	printf("\n  %zu texts, %zu read by the fast path, %zu OK results (%zu fast), "
	       "%zu parses by a learned shape\n", st.docs, st.fast, st.ok, st.fast_ok, st.shape);
	CU_ASSERT_EQUAL(st.docs, 120000);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT_EQUAL(st.fast_missed, 0);
	/* not vacuous: most generated events are plain, and many parse OK */
	CU_ASSERT(st.fast > st.docs / 3);
	CU_ASSERT(st.fast_ok > st.docs / 8);
	CU_ASSERT(st.shape > st.docs / 20);
	dp_event_ctx_destroy(fa);
	dp_event_ctx_destroy(sl);
}

/* Parse with the fast path on and off and expect the same; returns the code
 * and whether the fast path answered (*@fast). */
static int click_both(const char *buf, size_t len, const struct dp_event_fields *f,
		      bool *fast)
{
	struct dp_event_ctx *fa = NULL, *sl = NULL;
	struct dp_click cf, cs;
	char ws[256];
	int rf, rs;

	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_FATAL(dp_event_ctx_create(&sl) == 0);
	dp_event_ctx_set_fast(sl, false);
	rf = dp_event_parse_click(buf, len, f, fa, &cf, why, sizeof(why));
	*fast = dp_event_ctx_last_was_fast(fa);
	rs = dp_event_parse_click(buf, len, f, sl, &cs, ws, sizeof(ws));
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(sl));
	CU_ASSERT_EQUAL(rf, rs);
	CU_ASSERT_STRING_EQUAL(why, ws);
	if (rf == DP_EVENT_OK && rs == DP_EVENT_OK)
		CU_ASSERT_TRUE(same_click(&cf, &cs));
	dp_event_ctx_destroy(fa);
	dp_event_ctx_destroy(sl);
	return rf;
}

/* diff_one() of @buf after @fa has read @origin as a click and as a
 * payment, so that its shapes are learned. */
static void shape_diff(struct dp_event_ctx *fa, struct dp_event_ctx *sl, const char *origin,
		       const char *buf, size_t len, struct diff_stats *st)
{
	struct dp_click c;
	struct dp_txn t;
	char w[256];

	(void)dp_event_parse_click(origin, strlen(origin), NULL, fa, &c, w, sizeof(w));
	(void)dp_event_parse_txn(origin, strlen(origin), NULL, fa, &t, w, sizeof(w));
	diff_one(fa, sl, buf, len, NULL, false, st);
}

/* A second event of the same shape is read by the shape, with the same
 * result as the jsmn path; one of another shape is not. */
static void test_learned_shape_reads_the_same_events(void)
{
	static const char a[] = "{\"user_id\":\"u42\",\"ts\":\"2026-11-23T21:00:00.123Z\","
				"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":null}";
	static const char b[] = "{\"user_id\":\"user-7\",\"ts\":\"2026-11-23T21:00:05Z\","
				"\"type\":\"purchase\",\"page\":\"\",\"session_hint\":null}";
	static const char c[] = "{\"user_id\":\"u42\",\"ts\":\"2026-11-23T21:00:00.123Z\","
				"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":\"s1\"}";
	static const char t[] = "{\"txn_id\":\"t1\",\"user_id\":\"u42\",\"amount\":19.99,"
				"\"currency\":\"EUR\",\"merchant\":\"m7\",\"country\":\"DE\","
				"\"ts\":1795467600123}";
	static const char t2[] = "{\"txn_id\":\"t2\",\"user_id\":\"u9\",\"amount\":7,"
				 "\"currency\":\"USD\",\"merchant\":\"m1\",\"country\":\"US\","
				 "\"ts\":1795467600999}";
	struct dp_event_ctx *fa = NULL, *sl = NULL;
	struct dp_click cl;
	struct dp_txn tx;
	struct diff_stats st = { 0 };

	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_FATAL(dp_event_ctx_create(&sl) == 0);
	dp_event_ctx_set_fast(sl, false);
	CU_ASSERT_EQUAL(dp_event_parse_click(S(a), NULL, fa, &cl, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_fast(fa));
	CU_ASSERT_FALSE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_EQUAL(dp_event_parse_click(S(b), NULL, fa, &cl, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_STRING_EQUAL(cl.user_id, "user-7");
	CU_ASSERT_STRING_EQUAL(cl.type, "purchase");
	CU_ASSERT_TRUE(cl.has_page);
	CU_ASSERT_STRING_EQUAL(cl.page, "");
	CU_ASSERT_FALSE(cl.has_session_hint);
	/* a string where the shape has null: another shape, learned anew */
	CU_ASSERT_EQUAL(dp_event_parse_click(S(c), NULL, fa, &cl, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_STRING_EQUAL(cl.session_hint, "s1");
	CU_ASSERT_EQUAL(dp_event_parse_click(S(c), NULL, fa, &cl, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fa));
	/* both shapes stay: the first one still reads b */
	CU_ASSERT_EQUAL(dp_event_parse_click(S(b), NULL, fa, &cl, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fa));
	/* the payment's wanted keys differ: its own shapes, numbers re-checked */
	CU_ASSERT_EQUAL(dp_event_parse_txn(S(t), NULL, fa, &tx, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_EQUAL(dp_event_parse_txn(S(t2), NULL, fa, &tx, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_EQUAL(tx.amount_micros, 7000000);
	CU_ASSERT_STRING_EQUAL(tx.currency, "USD");
	/* a click read after payments: its shape is still there */
	shape_diff(fa, sl, a, S(b), &st);
	shape_diff(fa, sl, t, S(t2), &st);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT_EQUAL(st.shape, 4);   /* b as click; t2 as click and as payment */
	/* the shape keeps a's null in its literal: another primitive there, or
	 * a broken null, is not read by it, and reads as the slow path does */
	static const char *const other[] = {
		"{\"user_id\":\"u1\",\"ts\":\"2026-11-23T21:00:00.123Z\","
		"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":true}",
		"{\"user_id\":\"u1\",\"ts\":\"2026-11-23T21:00:00.123Z\","
		"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":nul}",
		"{\"user_id\":\"u1\",\"ts\":\"2026-11-23T21:00:00.123Z\","
		"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":nulls}",
		"{\"user_id\":\"u1\",\"ts\":\"2026-11-23T21:00:00.123Z\","
		"\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":0}",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct dp_event_ctx *fn = NULL;
		size_t before = st.shape;

		CU_ASSERT_FATAL(dp_event_ctx_create(&fn) == 0);
		shape_diff(fn, sl, a, other[i], strlen(other[i]), &st);
		CU_ASSERT_EQUAL(st.shape, before);
		CU_ASSERT_EQUAL(dp_event_parse_click(S(a), NULL, fn, &cl, why, sizeof(why)),
				DP_EVENT_OK);
		CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fn));
		CU_ASSERT_FALSE(cl.has_session_hint);
		dp_event_ctx_destroy(fn);
	}
	CU_ASSERT_EQUAL(st.mismatches, 0);
	dp_event_ctx_destroy(fa);
	dp_event_ctx_destroy(sl);
}

/* @n copies of @c at @p (the caller has room). */
static size_t fill(char *p, char c, int n)
{
	memset(p, c, (size_t)n);
	return (size_t)n;
}

/* An optional string value at @p: null for @n < 0, else @n copies of @c in
 * quotes. Returns the bytes written. */
static size_t put_opt(char *p, char c, int n)
{
	if (n < 0) {
		memcpy(p, "null", 4);
		return 4;
	}
	p[0] = '"';
	fill(p + 1, c, n);
	p[n + 1] = '"';
	return (size_t)n + 2;
}

/*
 * The shortcut for the usual click (click_plain() in dp_event.c, with the
 * timestamp reader's same-second path in it) against the general readers
 * (the fast path off) and ref_ts(): clicks of one key order whose user_id,
 * type, page and session_hint lengths sit on and around their bounds (or
 * are null), and whose ts runs in seconds, the way the reader keeps the
 * last one, with valid, broken, zoned and epoch-millis texts mixed in.
 */
static void test_click_shortcut_equals_general_readers(void)
{
	static const int ulen[] = { 0, 1, 7, 63, 64, 65 }, ylen[] = { 0, 1, 9, 63, 64, 65 };
	static const int plen[] = { -1, 0, 5, 2047, 2048, 2049 };
	static const int hlen[] = { -1, 0, 1, 63, 64, 65, 66, 67 };
	uint64_t seed = 0x51ab1e5eedull;
	struct dp_event_ctx *fa = NULL, *sl = NULL;
	size_t n = 0, ok = 0, ts_checked = 0, same_second = 0;
	struct diff_stats st = { 0 };
	char *b = malloc(8192), prev[19], tsb[40];

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_FATAL(dp_event_ctx_create(&sl) == 0);
	dp_event_ctx_set_fast(sl, false);
	memcpy(prev, "2026-11-23T21:00:00", 19);
	for (int it = 0; it < 40000; it++) {
		uint64_t r = rng_next(&seed);
		int ul = ulen[rng_next(&seed) % 6], yl = ylen[rng_next(&seed) % 6];
		int pl = plen[rng_next(&seed) % 6], hl = hlen[rng_next(&seed) % 8];
		int tl;
		bool reuse = false;

		/* mostly bounds that pass, so that many events parse */
		if (r % 3 == 0) {
			ul = 7;
			yl = 9;
			pl = 5;
			hl = -1;
		}
		if (rng_next(&seed) % 8 == 0) {
			tl = snprintf(tsb, sizeof(tsb), "%llu",
				      (unsigned long long)(rng_next(&seed) % 2000000000000ull));
		} else {
			tl = snprintf(tsb, sizeof(tsb), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
				      2020 + (int)(rng_next(&seed) % 8),
				      1 + (int)(rng_next(&seed) % 12), 1 + (int)(rng_next(&seed) % 28),
				      (int)(rng_next(&seed) % 24), (int)(rng_next(&seed) % 60),
				      (int)(rng_next(&seed) % 60), (int)(rng_next(&seed) % 1000));
			if (rng_next(&seed) % 4) {     /* the second before, valid or not */
				memcpy(tsb, prev, 19);
				reuse = true;
			}
			r = rng_next(&seed);
			if (r % 6 == 0)                /* one byte changed */
				tsb[rng_next(&seed) % 24] = "0123456789.Zz:-Tx "[rng_next(&seed) % 18];
			else if (r % 6 == 1)           /* a zone instead of Z */
				tl = 23 + snprintf(tsb + 23, sizeof(tsb) - 23, "+01:30");
			else if (r % 6 == 2)           /* cut */
				tl = 19 + (int)(rng_next(&seed) % 5);
			memcpy(prev, tsb, 19);
		}
		size_t k = (size_t)snprintf(b, 64, "{\"user_id\":\"");
		k += fill(b + k, 'u', ul);
		k += (size_t)sprintf(b + k, "\",\"ts\":\"%.*s\",\"type\":\"", tl, tsb);
		if (yl == 9)
			k += (size_t)sprintf(b + k, "page_view");
		else
			k += fill(b + k, 't', yl);
		k += (size_t)sprintf(b + k, "\",\"page\":");
		k += put_opt(b + k, '/', pl);
		k += (size_t)sprintf(b + k, ",\"session_hint\":");
		k += put_opt(b + k, 'h', hl);
		b[k++] = '}';

		/* a heap copy of exactly the text: a read past it shows */
		char *p = malloc(k);
		struct dp_click cf;

		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, b, k);
		int rf = click_cmp(fa, sl, p, k, NULL, &cf, &st);
		free(p);
		n++;
		ok += rf == DP_EVENT_OK;
		/* every field within bounds: the result stands or falls with ts */
		if (ul >= 1 && ul <= 64 && yl >= 1 && yl <= 64 && pl <= 2048 && hl <= 64) {
			int64_t want = -1;
			int rr = ref_ts(tsb, (size_t)tl, &want);

			ts_checked++;
			if ((rr == 0) != (rf == DP_EVENT_OK) || (rr == 0 && cf.ts_us != want)) {
				if (st.mismatches++ < 5)
					printf("\n  ts [%.*s]: %d %lld, reference %d %lld", tl, tsb, rf,
					       (long long)cf.ts_us, rr, (long long)want);
			}
			/* valid, in the second before, ".mmmZ": the same-second path */
			same_second += rr == 0 && reuse && tl == 24 && tsb[23] == 'Z';
		}
	}
	printf("\n  %zu clicks, %zu OK, %zu by a shape, %zu ts checked, %zu in the second "
	       "before ", n, ok, st.shape, ts_checked, same_second);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT(ok > n / 4 && ok < n - n / 10);   /* not vacuous either way */
	CU_ASSERT(st.shape > n / 4);
	CU_ASSERT(same_second > n / 10);
	dp_event_ctx_destroy(fa);
	dp_event_ctx_destroy(sl);
	free(b);
}

/*
 * Every byte of events whose shape was learned replaced by each of a set of
 * bytes that matter to JSON (quote, backslash, brackets, separators, blank,
 * digits, letters, control and high bytes), deleted, or doubled: the shape
 * answers only where the jsmn path gives the same result.
 */
static void test_learned_shape_equals_jsmn_path_on_every_byte_change(void)
{
	static const char *const origin[] = {
		"{\"user_id\":\"u42\",\"ts\":\"2026-11-23T21:00:00.123Z\",\"type\":\"page_view\","
		"\"page\":\"/p/17\",\"session_hint\":null}",
		"{ \"user_id\" : \"u42\" , \"ts\" : 1795467600123 , \"type\" : \"add_to_cart\" , "
		"\"n\" : -1.5e3 , \"ok\" : true }",
		"{\"txn_id\":\"t1\",\"user_id\":\"u42\",\"amount\":19.99,\"currency\":\"EUR\","
		"\"merchant\":\"m7\",\"country\":\"DE\",\"ts\":1795467600123,\"x\":false}",
		"{\"ts\":0,\"user_id\":\"u\",\"type\":\"t\",\"user_id2\":\"\"}",
	};
	static const char subst[] = "\"\\{}[],: 0919.eE-+tnfxZ\x01\x1f\x7f\x80\xff";
	struct dp_event_ctx *fa = NULL, *sl = NULL;
	struct diff_stats st = { 0 };
	char buf[256];

	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_FATAL(dp_event_ctx_create(&sl) == 0);
	dp_event_ctx_set_fast(sl, false);
	for (size_t o = 0; o < sizeof(origin) / sizeof(origin[0]); o++) {
		size_t n = strlen(origin[o]);

		CU_ASSERT_FATAL(n + 1 < sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < sizeof(subst) - 1; k++) {
				memcpy(buf, origin[o], n);
				buf[i] = subst[k];
				shape_diff(fa, sl, origin[o], buf, n, &st);
			}
			/* deleted, doubled */
			memcpy(buf, origin[o], i);
			memcpy(buf + i, origin[o] + i + 1, n - i - 1);
			shape_diff(fa, sl, origin[o], buf, n - 1, &st);
			memcpy(buf, origin[o], i + 1);
			memcpy(buf + i + 1, origin[o] + i, n - i);
			shape_diff(fa, sl, origin[o], buf, n + 1, &st);
		}
	}
	printf("\n  %zu changed texts, %zu parses by a shape ", st.docs, st.shape);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT(st.shape > st.docs / 4);   /* value bytes changed: still the shape */
	dp_event_ctx_destroy(fa);
	dp_event_ctx_destroy(sl);
}

static void test_fast_path_taken_for_plain_events_only(void)
{
	static const char ev[] = "{\"user_id\":\"u42\",\"ts\":\"2026-11-23T21:00:00.123Z\","
				 "\"type\":\"page_view\",\"page\":\"/p/17\",\"session_hint\":null}";
	static const char tx[] = "{\"txn_id\":\"t1\",\"user_id\":\"u42\",\"amount\":19.99,"
				 "\"currency\":\"EUR\",\"merchant\":\"m7\",\"country\":\"DE\","
				 "\"ts\":1795467600123}";
	struct dp_event_ctx *c = get_ctx();
	struct dp_click cl;
	struct dp_txn t;
	bool fast;

	CU_ASSERT_EQUAL(click(S(ev), NULL, &cl), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_STRING_EQUAL(cl.page, "/p/17");
	CU_ASSERT_EQUAL(txn(S(tx), NULL, &t), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_EQUAL(t.amount_micros, 19990000);
	/* a field error after a fast read: still the fast path */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"type\":\"t\"}"), NULL, &cl),
			DP_EVENT_EMISSING);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_fast(c));
	/* switched off: the jsmn path, same result */
	dp_event_ctx_set_fast(c, false);
	CU_ASSERT_EQUAL(click(S(ev), NULL, &cl), DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_STRING_EQUAL(cl.page, "/p/17");
	dp_event_ctx_set_fast(c, true);
	/* an escape, a tab, UTF-8, DEL: not plain, the jsmn path answers */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\\u0041\",\"ts\":0,\"type\":\"t\"}"), NULL, &cl),
			DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_STRING_EQUAL(cl.user_id, "uA");
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\t\"ts\":0,\"type\":\"t\"}"), NULL, &cl),
			DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"\xc3\xa9\",\"ts\":0,\"type\":\"t\"}"), NULL, &cl),
			DP_EVENT_OK);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\x7f\",\"ts\":0,\"type\":\"t\"}"), NULL, &cl),
			DP_EVENT_EVALUE);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	/* invalid JSON and a repeated field: the jsmn path words the error */
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",}"), NULL, &cl),
			DP_EVENT_EJSON);
	CU_ASSERT_FALSE(dp_event_ctx_last_was_fast(c));
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: unexpected character");
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"ts\":1}"), NULL,
				   &fast), DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: duplicate field \"ts\"");
	/* a top level that is not an object */
	CU_ASSERT_EQUAL(click_both(S("[1]"), NULL, &fast), DP_EVENT_ETYPE);
	CU_ASSERT_FALSE(fast);
}

/* A click event padded with a string value to exactly @len bytes. */
static size_t padded_click(char *buf, size_t len, char fill)
{
	static const char head[] = "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":\"";
	size_t h = sizeof(head) - 1;

	memcpy(buf, head, h);
	memset(buf + h, fill, len - h - 2);
	memcpy(buf + len - 2, "\"}", 2);
	return len;
}

static void test_fast_path_every_length_and_block_edge(void)
{
	char buf[3000];
	size_t slow = 0, bad = 0;
	bool fast;

	/* 40..2999 bytes: the last block is partial at every offset, strings
	 * cross the 64-byte blocks and the 1 KiB chunks */
	for (size_t len = 40; len < sizeof(buf); len++) {
		int rc = click_both(buf, padded_click(buf, len, 'a'), NULL, &fast);

		bad += rc != DP_EVENT_OK;
		slow += !fast;
	}
	/* a primitive that ends exactly at a block edge, then at every byte */
	for (size_t pad = 0; pad < 140; pad++) {
		int n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u\",\"type\":\"t\",\"z\":\"%.*s\","
				 "\"ts\":1795467600123}", (int)pad,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxx");

		bad += click_both(buf, (size_t)n, NULL, &fast) != DP_EVENT_OK;
		slow += !fast;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(slow, 0);
	/* brackets and commas inside strings are text, at any offset */
	for (size_t len = 40; len < 200; len++) {
		CU_ASSERT_EQUAL(click_both(buf, padded_click(buf, len, ','), NULL, &fast),
				DP_EVENT_OK);
		CU_ASSERT_TRUE(fast);
		CU_ASSERT_EQUAL(click_both(buf, padded_click(buf, len, '}'), NULL, &fast),
				DP_EVENT_OK);
		CU_ASSERT_TRUE(fast);
	}
}

static void test_fast_path_nesting_limit_and_short_texts(void)
{
	char buf[256];
	bool fast;
	int n;

	/* 32 open containers (root included) are fine, 33 are not; arrays,
	 * since objects would need keys */
	for (int depth = 30; depth <= 34; depth++) {
		n = snprintf(buf, sizeof(buf), "{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":");
		for (int d = 1; d < depth; d++)
			buf[n++] = '[';
		for (int d = 1; d < depth; d++)
			buf[n++] = ']';
		buf[n++] = '}';
		CU_ASSERT_EQUAL(click_both(buf, (size_t)n, NULL, &fast),
				depth <= 32 ? DP_EVENT_OK : DP_EVENT_EJSON);
		CU_ASSERT_EQUAL(fast, depth <= 32);
	}
	/* texts shorter than one block, with blanks around */
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}"), NULL, &fast),
			DP_EVENT_OK);
	CU_ASSERT_TRUE(fast);
	CU_ASSERT_EQUAL(click_both(S("   { \"user_id\" : \"u\" , \"ts\" : 0 , \"type\" : \"t\" }  "),
				   NULL, &fast), DP_EVENT_OK);
	CU_ASSERT_TRUE(fast);
	CU_ASSERT_EQUAL(click_both(S("{}"), NULL, &fast), DP_EVENT_EMISSING);
	CU_ASSERT_TRUE(fast);
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"} {}"), NULL, &fast),
			DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0:1,\"type\":\"t\"}"), NULL, &fast),
			DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_EQUAL(click_both(S("{\"a\":[:],\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}"), NULL,
				   &fast), DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_EQUAL(click_both(S("{\"a\":[1 2],\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}"), NULL,
				   &fast), DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"a\":[1,,2]}"), NULL,
				   &fast), DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
}

static void test_fast_path_every_byte_value_in_strings_and_between_tokens(void)
{
	/* each byte value in the first and the second half of a block, inside
	 * a string, as a value and right after one: the byte classes of the
	 * scan must agree with the jsmn path on all 256 */
	static const char *const fmt[] = {
		"{\"x\":\"a%cb\",\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}",
		"{\"x\":%c,\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}",
		"{\"x\":1%c,\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}",
		"{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":\"a%cb\"}",
		"{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":%c}",
		"{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":1%c}",
		"{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"x\":[1%c2]}",
	};
	size_t fast_ok = 0;
	bool fast;
	char buf[128];

	for (size_t f = 0; f < sizeof(fmt) / sizeof(fmt[0]); f++) {
		for (int v = 1; v < 256; v++) {
			int n = snprintf(buf, sizeof(buf), fmt[f], v);
			int rc = click_both(buf, (size_t)n, NULL, &fast);

			fast_ok += rc == DP_EVENT_OK && fast;
		}
	}
	/* parsed OK by the fast path: in a string every printable byte but '"'
	 * and '\\' (93); as a value a digit (10); after "1" in the object a
	 * digit or ' ' (11); in "[1?2]" a digit, ',', '.', 'e' or 'E' (14) */
	CU_ASSERT_EQUAL(fast_ok, 2 * 93 + 2 * 10 + 2 * 11 + 14);
}

static void test_fast_path_two_fields_with_one_key(void)
{
	struct dp_event_fields f;
	struct dp_click c;
	bool fast;

	dp_event_fields_default(&f);
	f.page = "type";        /* page and type read the same key */
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}"), &f, &fast),
			DP_EVENT_OK);
	CU_ASSERT_TRUE(fast);
	CU_ASSERT_EQUAL(click(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\"}"), &f, &c), DP_EVENT_OK);
	CU_ASSERT_TRUE(c.has_page);
	CU_ASSERT_STRING_EQUAL(c.page, "t");
	CU_ASSERT_STRING_EQUAL(c.type, "t");
	/* read by a learned shape (a string ts: click_shape), twice over: the
	 * second text by the shape the first one taught */
	struct dp_event_ctx *fa = NULL;
	static const char a[] = "{\"user_id\":\"u\",\"ts\":\"2026-11-23T21:00:00Z\",\"type\":\"t\"}";
	static const char b[] = "{\"user_id\":\"v\",\"ts\":\"2026-11-23T21:00:01Z\",\"type\":\"xy\"}";
	CU_ASSERT_FATAL(dp_event_ctx_create(&fa) == 0);
	CU_ASSERT_EQUAL(dp_event_parse_click(S(a), &f, fa, &c, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_EQUAL(dp_event_parse_click(S(b), &f, fa, &c, why, sizeof(why)), DP_EVENT_OK);
	CU_ASSERT_TRUE(dp_event_ctx_last_was_shape(fa));
	CU_ASSERT_TRUE(c.has_page);
	CU_ASSERT_STRING_EQUAL(c.page, "xy");
	CU_ASSERT_STRING_EQUAL(c.type, "xy");
	CU_ASSERT_STRING_EQUAL(c.user_id, "v");
	dp_event_ctx_destroy(fa);
	/* the shared key twice is a duplicate */
	CU_ASSERT_EQUAL(click_both(S("{\"user_id\":\"u\",\"ts\":0,\"type\":\"t\",\"type\":\"v\"}"), &f,
				   &fast), DP_EVENT_EJSON);
	CU_ASSERT_FALSE(fast);
	CU_ASSERT_STRING_EQUAL(why, "invalid JSON at byte 33: duplicate field \"type\"");
}

static void test_ctx_create_destroy(void)
{
	struct dp_event_ctx *c2 = NULL;

	CU_ASSERT_EQUAL(dp_event_ctx_create(NULL), -EINVAL);
	CU_ASSERT_EQUAL(dp_event_ctx_create(&c2), 0);
	CU_ASSERT_PTR_NOT_NULL(c2);
	dp_event_ctx_destroy(c2);
	dp_event_ctx_destroy(NULL);
	/* last: frees the shared ctx so ASan/valgrind runs see no leak */
	dp_event_ctx_destroy(ctx);
	ctx = NULL;
}

/* Funnel steps and the page-view type by exact bytes: lengths first, no
 * prefixes, no case folding, NULL names match nothing, steps capped. */
static void test_click_types_classify(void)
{
	static const char *const steps[] = { "product_view", "add_to_cart", "checkout",
					     "purchase" };
	struct dp_click_types t;
	bool pv;
	dp_click_types_init(&t, steps, 4, "page_view");
	CU_ASSERT_EQUAL(dp_click_step(&t, "product_view", 12, &pv), 0);
	CU_ASSERT_FALSE(pv);
	CU_ASSERT_EQUAL(dp_click_step(&t, "purchase", 8, &pv), 3);
	CU_ASSERT_EQUAL(dp_click_step(&t, "page_view", 9, &pv), -1);
	CU_ASSERT_TRUE(pv);
	CU_ASSERT_EQUAL(dp_click_step(&t, "purchase", 7, &pv), -1);      /* a prefix */
	CU_ASSERT_EQUAL(dp_click_step(&t, "purchases", 9, &pv), -1);
	CU_ASSERT_FALSE(pv);
	CU_ASSERT_EQUAL(dp_click_step(&t, "Purchase", 8, &pv), -1);
	CU_ASSERT_EQUAL(dp_click_step(&t, "checkout!", 8, &pv), 2);      /* only @len counts */
	/* a type that is both a step and the page view */
	dp_click_types_init(&t, steps, 4, "checkout");
	CU_ASSERT_EQUAL(dp_click_step(&t, "checkout", 8, &pv), 2);
	CU_ASSERT_TRUE(pv);
	/* NULL names, no page view, more steps than the cap */
	const char *many[DP_CLICK_STEPS_MAX + 2] = { NULL, "a" };
	for (unsigned i = 2; i < DP_CLICK_STEPS_MAX + 2; i++)
		many[i] = "z";
	dp_click_types_init(&t, many, DP_CLICK_STEPS_MAX + 2, NULL);
	CU_ASSERT_EQUAL(t.n_steps, DP_CLICK_STEPS_MAX);
	CU_ASSERT_EQUAL(dp_click_step(&t, "a", 1, &pv), 1);
	CU_ASSERT_FALSE(pv);
	CU_ASSERT_EQUAL(dp_click_step(&t, "", 0, &pv), -1);
	CU_ASSERT_FALSE(pv);
	/* every length 1..24, a difference at each position: the two-load
	 * compares (4..7 and 8..16 bytes) must see a change anywhere */
	char name[25], ev[25];
	for (uint32_t n = 1; n <= 24; n++) {
		for (uint32_t i = 0; i < n; i++)
			name[i] = (char)('a' + (i * 7 + n) % 26);
		name[n] = 0;
		const char *one[] = { name };
		dp_click_types_init(&t, one, 1, name);
		memcpy(ev, name, n + 1);
		CU_ASSERT_EQUAL(dp_click_step(&t, ev, n, &pv), 0);
		CU_ASSERT_TRUE(pv);
		for (uint32_t i = 0; i < n; i++) {
			ev[i] ^= 0x20;
			CU_ASSERT_EQUAL(dp_click_step(&t, ev, n, &pv), -1);
			CU_ASSERT_FALSE(pv);
			ev[i] ^= 0x20;
		}
	}
}

static int reg(void)
{
	WR_SUITE("dp_event",
		 WR_TEST(test_click_sample_event_parses_all_fields),
		 WR_TEST(test_click_types_classify),
		 WR_TEST(test_click_ts_rfc3339_forms_exact_us),
		 WR_TEST(test_click_ts_epoch_ms_integer_and_string),
		 WR_TEST(test_click_bad_timestamps_rejected),
		 WR_TEST(test_click_ts_wrong_types),
		 WR_TEST(test_parse_ts_direct),
		 WR_TEST(test_parse_ts_equals_reference),
		 WR_TEST(test_learned_shape_reads_the_same_events),
		 WR_TEST(test_learned_shape_equals_jsmn_path_on_every_byte_change),
		 WR_TEST(test_click_shortcut_equals_general_readers),
		 WR_TEST(test_click_field_name_mapping),
		 WR_TEST(test_click_zeroed_fields_struct_uses_defaults),
		 WR_TEST(test_click_extra_fields_ignored_and_other_types_pass),
		 WR_TEST(test_click_unicode_user_id),
		 WR_TEST(test_click_strings_live_in_scratch_not_input),
		 WR_TEST(test_click_user_id_bound_64_bytes),
		 WR_TEST(test_click_each_rejection_names_field),
		 WR_TEST(test_click_deep_nesting_is_invalid_json),
		 WR_TEST(test_click_every_truncated_prefix_is_invalid_json),
		 WR_TEST(test_random_bytes_never_crash),
		 WR_TEST(test_mutated_events_never_crash),
		 WR_TEST(test_strict_numbers),
		 WR_TEST(test_strict_string_escapes_and_utf8),
		 WR_TEST(test_escaped_kept_strings_and_keys_are_decoded),
		 WR_TEST(test_duplicate_configured_key_rejected),
		 WR_TEST(test_structure_errors_and_nested_unknown_fields),
		 WR_TEST(test_txn_valid_event),
		 WR_TEST(test_txn_field_name_mapping),
		 WR_TEST(test_txn_bad_amounts),
		 WR_TEST(test_txn_missing_and_bad_fields),
		 WR_TEST(test_fast_path_plain_strings_every_length),
		 WR_TEST(test_fast_path_special_byte_at_every_position),
		 WR_TEST(test_fast_path_utf8_straddling_blocks),
		 WR_TEST(test_fast_path_long_unknown_string_and_whole_text_tail),
		 WR_TEST(test_configured_key_names_of_every_length_match_exactly),
		 WR_TEST(test_txn_amount_fast_path_equals_strtod),
		 WR_TEST(test_strerror_names_every_code),
		 WR_TEST(test_why_buffer_optional_and_truncated),
		 WR_TEST(test_fast_path_equals_jsmn_path_on_generated_and_mutated_events),
		 WR_TEST(test_fast_path_taken_for_plain_events_only),
		 WR_TEST(test_fast_path_every_length_and_block_edge),
		 WR_TEST(test_fast_path_nesting_limit_and_short_texts),
		 WR_TEST(test_fast_path_two_fields_with_one_key),
		 WR_TEST(test_fast_path_every_byte_value_in_strings_and_between_tokens),
		 WR_TEST(test_ctx_create_destroy),
		 WR_TEST(test_names_reassigned_between_events));
	return 0;
}

WR_TEST_MAIN(reg)
