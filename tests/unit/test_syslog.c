/*
 * test_syslog.c - dp_syslog_parse(): RFC 5424 examples, RFC 3164 with and
 * without PRI, the loghub samples, year inference, zones, every error class,
 * truncation at every prefix and 100k random inputs (fixed seed).
 *
 * The random and prefix tests give each input its own exact-size heap copy so
 * that a run under -fsanitize=address (or valgrind) flags any read past len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_syslog.h"
#include "wr_common.h"
#include "wr_test.h"

#define SEC(s) ((int64_t)(s) * WR_US_PER_SEC)

/* 2026-06-25T00:00:00Z: after every June line of the samples. */
#define RECV_JUN_2026 SEC(1782345600)

static struct dp_syslog_opts opts_at(int64_t recv_us, int32_t tz)
{
	struct dp_syslog_opts o = { .recv_us = recv_us, .tz_offset_s = tz, .max_len = 8192 };
	return o;
}

static int parse_with(const char *s, int64_t recv_us, int32_t tz, struct dp_syslog_msg *m)
{
	struct dp_syslog_opts o = opts_at(recv_us, tz);
	return dp_syslog_parse(s, strlen(s), &o, m);
}

static int parse_s(const char *s, struct dp_syslog_msg *m)
{
	return parse_with(s, RECV_JUN_2026, 0, m);
}

/* Field (ptr, len) equals the C string @want exactly. */
#define CHECK_FIELD(ptr, len, want)                                            \
	do {                                                                   \
		CU_ASSERT_EQUAL((len), strlen(want));                          \
		if ((len) == strlen(want))                                     \
			CU_ASSERT(memcmp((ptr), (want), (len)) == 0);          \
	} while (0)

#define BOM "\xef\xbb\xbf"

/* RFC 5424 section 6.5, example 1: no SD, BOM before MSG, NILVALUE procid. */
static void test_rfc5424_example1_all_fields(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
				      BOM "'su root' failed for lonvick on /dev/pts/8", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC5424);
	CU_ASSERT_EQUAL(m.pri, 34);
	CU_ASSERT_EQUAL(m.facility, 4);
	CU_ASSERT_EQUAL(m.severity, 2);
	CU_ASSERT_TRUE(m.has_ts);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1065910455) + 3000);
	CHECK_FIELD(m.host, m.host_len, "mymachine.example.com");
	CHECK_FIELD(m.app, m.app_len, "su");
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CHECK_FIELD(m.msgid, m.msgid_len, "ID47");
	CU_ASSERT_EQUAL(m.sd_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "'su root' failed for lonvick on /dev/pts/8");
}

/* Example 2: negative offset, microsecond fraction, no BOM, NILVALUE msgid and SD. */
static void test_rfc5424_example2_offset_and_microseconds(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
				      "%% It's time to make the do-nuts.", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.pri, 165);
	CU_ASSERT_EQUAL(m.facility, 20);
	CU_ASSERT_EQUAL(m.severity, 5);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1061727255) + 3);   /* 12:14:15.000003Z */
	CHECK_FIELD(m.host, m.host_len, "192.0.2.1");
	CHECK_FIELD(m.app, m.app_len, "myproc");
	CHECK_FIELD(m.procid, m.procid_len, "8710");
	CU_ASSERT_EQUAL(m.msgid_len, 0);
	CU_ASSERT_EQUAL(m.sd_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "%% It's time to make the do-nuts.");
}

#define EX3_SD "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
#define EX3 "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " EX3_SD \
	" " BOM "An application event log entry..."

/* Example 3: one SD element with three params, then BOM and MSG. */
static void test_rfc5424_example3_sd_and_msg(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s(EX3, &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.pri, 165);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1065910455) + 3000);
	CHECK_FIELD(m.host, m.host_len, "mymachine.example.com");
	CHECK_FIELD(m.app, m.app_len, "evntslog");
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CHECK_FIELD(m.msgid, m.msgid_len, "ID47");
	CHECK_FIELD(m.sd, m.sd_len, EX3_SD);
	CHECK_FIELD(m.msg, m.msg_len, "An application event log entry...");
}

/* Example 4: two SD elements and no MSG at all. */
static void test_rfc5424_example4_two_sd_elements_no_msg(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
				      EX3_SD "[examplePriority@32473 class=\"high\"]", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1065910455) + 3000);
	CHECK_FIELD(m.app, m.app_len, "evntslog");
	CHECK_FIELD(m.sd, m.sd_len, EX3_SD "[examplePriority@32473 class=\"high\"]");
	CU_ASSERT_EQUAL(m.msg_len, 0);
}

/* \] \" and \\ inside a value do not end the value or the element. */
static void test_rfc5424_sd_escapes_in_values(void)
{
	struct dp_syslog_msg m;
	const char *sd = "[x@1 a=\"p\\]q\" b=\"say \\\"hi\\\"\" c=\"back\\\\\"][y d=\"]\"]";
	char line[256];
	snprintf(line, sizeof(line), "<14>1 2026-11-23T21:00:00Z h a 1 m %s tail", sd);
	CU_ASSERT_EQUAL_FATAL(parse_s(line, &m), DP_SYSLOG_OK);
	CHECK_FIELD(m.sd, m.sd_len, sd);
	CHECK_FIELD(m.msg, m.msg_len, "tail");
}

static void test_rfc5424_all_nilvalues(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<14>1 - - - - - -", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC5424);
	CU_ASSERT_FALSE(m.has_ts);
	CU_ASSERT_EQUAL(m.ts_us, RECV_JUN_2026);
	CU_ASSERT_EQUAL(m.host_len, 0);
	CU_ASSERT_EQUAL(m.app_len, 0);
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CU_ASSERT_EQUAL(m.msgid_len, 0);
	CU_ASSERT_EQUAL(m.sd_len, 0);
	CU_ASSERT_EQUAL(m.msg_len, 0);
}

static void test_rfc5424_fraction_one_to_six_digits(void)
{
	struct dp_syslog_msg m;
	const int64_t base = SEC(1795467600);   /* 2026-11-23T21:00:00Z */
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00.1Z h a - - - x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, base + 100000);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00.123456Z h a - - - x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, base + 123456);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00.1234567Z h a - - - x", &m),
			DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00.Z h a - - - x", &m), DP_SYSLOG_ETIMESTAMP);
}

static void test_rfc5424_offsets_and_missing_zone(void)
{
	struct dp_syslog_msg m;
	/* +05:30 is 5.5 h ahead of UTC: 21:00 local is 15:30Z. */
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00+05:30 h a - - - x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1795447800));
	/* No zone: the source's tz_offset_s (+1 h) applies, 21:00 local is 20:00Z. */
	CU_ASSERT_EQUAL(parse_with("<14>1 2026-11-23T21:00:00 h a - - - x", RECV_JUN_2026, 3600, &m),
			DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1795464000));
	CHECK_FIELD(m.host, m.host_len, "h");
}

static void test_rfc3164_with_pri_padded_day(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_with("<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: Use the BFG!",
					 RECV_JUN_2026, 0, &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC3164);
	CU_ASSERT_EQUAL(m.pri, 13);
	CU_ASSERT_EQUAL(m.facility, 1);
	CU_ASSERT_EQUAL(m.severity, 5);
	CU_ASSERT_TRUE(m.has_ts);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1770312738));   /* 2026-02-05T17:32:18Z */
	CHECK_FIELD(m.host, m.host_len, "10.0.0.99");
	CHECK_FIELD(m.app, m.app_len, "myapp");
	CHECK_FIELD(m.procid, m.procid_len, "123");
	CU_ASSERT_EQUAL(m.msgid_len, 0);
	CU_ASSERT_EQUAL(m.sd_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "Use the BFG!");
}

static void test_rfc3164_without_pri_defaults_user_notice(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("Feb 5 17:32:18 gw kernel: eth0 up", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC3164);
	CU_ASSERT_EQUAL(m.pri, -1);
	CU_ASSERT_EQUAL(m.facility, 1);
	CU_ASSERT_EQUAL(m.severity, 5);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1770312738));
	CHECK_FIELD(m.host, m.host_len, "gw");
	CHECK_FIELD(m.app, m.app_len, "kernel");
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "eth0 up");
}

/* The first word ends in ':' -> it is the tag and there is no host. */
static void test_rfc3164_without_host_when_tag_follows_timestamp(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<38>Feb  5 17:32:18 su[77]: session opened", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.host_len, 0);
	CHECK_FIELD(m.app, m.app_len, "su");
	CHECK_FIELD(m.procid, m.procid_len, "77");
	CHECK_FIELD(m.msg, m.msg_len, "session opened");
	CU_ASSERT_EQUAL_FATAL(parse_s("Feb  5 17:32:18 cron: job done", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.host_len, 0);
	CHECK_FIELD(m.app, m.app_len, "cron");
	CHECK_FIELD(m.msg, m.msg_len, "job done");
}

/* A word after the host that is not "tag:"/"tag[pid]" is still the tag when a SP ends it. */
static void test_rfc3164_tag_ended_by_space_and_no_tag(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("Jun 19 04:09:11 combo syslogd 1.4.1: restart.", &m), DP_SYSLOG_OK);
	CHECK_FIELD(m.host, m.host_len, "combo");
	CHECK_FIELD(m.app, m.app_len, "syslogd");
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "1.4.1: restart.");
	/* Only one word after the host: not a tag, it is the message. */
	CU_ASSERT_EQUAL_FATAL(parse_s("Jun 19 04:09:11 combo hello", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.app_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "hello");
	/* "[x" without "]" is not a pid either. */
	CU_ASSERT_EQUAL_FATAL(parse_s("Jun 19 04:09:11 combo app[12 oops", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.app_len, 0);
	CU_ASSERT_EQUAL(m.procid_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "app[12 oops");
}

static void test_rfc3164_explicit_year_variant(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<13>Jun 14 2024 15:16:01 host app: x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC3164);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1718378161));
	CHECK_FIELD(m.host, m.host_len, "host");
	CHECK_FIELD(m.app, m.app_len, "app");
	CHECK_FIELD(m.msg, m.msg_len, "x");
}

/* rsyslog's RFC3339 templates: <PRI> then an ISO timestamp, no "1 " version. */
static void test_rfc3339_timestamp_after_pri(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("<13>2026-11-23T21:00:00Z host app: msg", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_RFC3164);
	CU_ASSERT_EQUAL(m.pri, 13);
	CU_ASSERT_TRUE(m.has_ts);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1795467600));
	CHECK_FIELD(m.host, m.host_len, "host");
	CHECK_FIELD(m.app, m.app_len, "app");
	CHECK_FIELD(m.msg, m.msg_len, "msg");
	CU_ASSERT_EQUAL(parse_s("<13>2026-11-23T21:00:00.250+01:00 host app[9]: msg", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1795464000) + 250000);
	CHECK_FIELD(m.procid, m.procid_len, "9");
	CU_ASSERT_EQUAL(parse_s("<13>2026-11-23T25:00:00Z host app: msg", &m), DP_SYSLOG_ETIMESTAMP);
}

static void test_bare_line_gets_receive_time(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_s("just some text\r\n", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_BARE);
	CU_ASSERT_EQUAL(m.pri, -1);
	CU_ASSERT_FALSE(m.has_ts);
	CU_ASSERT_EQUAL(m.ts_us, RECV_JUN_2026);
	CU_ASSERT_EQUAL(m.host_len, 0);
	CU_ASSERT_EQUAL(m.app_len, 0);
	CHECK_FIELD(m.msg, m.msg_len, "just some text");
	/* With a PRI but no timestamp: BARE, PRI kept, msg is what follows it. */
	CU_ASSERT_EQUAL_FATAL(parse_s("<11>disk full", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_BARE);
	CU_ASSERT_EQUAL(m.pri, 11);
	CU_ASSERT_EQUAL(m.severity, 3);
	CHECK_FIELD(m.msg, m.msg_len, "disk full");
	/* A month name that is not a timestamp stays text. */
	CU_ASSERT_EQUAL_FATAL(parse_s("Jun 4th was sunny", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.format, DP_SYSLOG_BARE);
	CHECK_FIELD(m.msg, m.msg_len, "Jun 4th was sunny");
}

static void test_trailing_newline_cr_nul_stripped(void)
{
	struct dp_syslog_msg m;
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 0);
	static const char line[] = "<14>1 - h a - - - body\r\n\0\0";
	CU_ASSERT_EQUAL_FATAL(dp_syslog_parse(line, sizeof(line) - 1, &o, &m), DP_SYSLOG_OK);
	CHECK_FIELD(m.msg, m.msg_len, "body");
}

/* Calls @fn for each of the first @max lines of a loghub sample (CRLF kept). */
static int for_each_line(const char *name, int max,
			 void (*fn)(int lineno, const char *line, size_t len, void *ctx), void *ctx)
{
	char path[512], buf[8192];
	int n = 0;
	snprintf(path, sizeof(path), "%s/configs/traffic/loghub/%s", WR_SOURCE_ROOT, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < max && fgets(buf, sizeof(buf), f))
		fn(++n, buf, strlen(buf), ctx);
	fclose(f);
	return n;
}

struct loghub_ctx {
	int64_t recv_us;
	const char *host;
	int ok;
	struct dp_syslog_msg m[201];   /* by line number */
	char line[201][512];
};

static void check_3164_line(int lineno, const char *line, size_t len, void *vctx)
{
	struct loghub_ctx *c = vctx;
	struct dp_syslog_opts o = opts_at(c->recv_us, 0);
	struct dp_syslog_msg *m = &c->m[lineno];
	if (len >= sizeof(c->line[lineno]))
		return;   /* counted as not ok */
	memcpy(c->line[lineno], line, len + 1);
	/* Parse the stored copy so the pointers stay valid after this call. */
	if (dp_syslog_parse(c->line[lineno], len, &o, m) == DP_SYSLOG_OK &&
	    m->format == DP_SYSLOG_RFC3164 && m->has_ts && m->pri == -1 &&
	    m->host_len == strlen(c->host) && memcmp(m->host, c->host, m->host_len) == 0 &&
	    m->app_len > 0 && m->msg + m->msg_len <= c->line[lineno] + len &&
	    (m->msg_len == 0 || m->msg[m->msg_len - 1] != '\r'))
		c->ok++;
}

static void test_loghub_linux_first_200_lines(void)
{
	static struct loghub_ctx c;
	memset(&c, 0, sizeof(c));
	c.recv_us = RECV_JUN_2026;
	c.host = "combo";
	CU_ASSERT_EQUAL_FATAL(for_each_line("Linux_2k.log", 200, check_3164_line, &c), 200);
	CU_ASSERT_EQUAL(c.ok, 200);

	const struct dp_syslog_msg *m = &c.m[1];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1781450161));     /* Jun 14 15:16:01 2026 */
	CHECK_FIELD(m->app, m->app_len, "sshd(pam_unix)");
	CHECK_FIELD(m->procid, m->procid_len, "19939");
	CHECK_FIELD(m->msg, m->msg_len, "authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
		    "ruser= rhost=218.188.2.4 ");
	m = &c.m[146];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1781842151));
	CHECK_FIELD(m->app, m->app_len, "syslogd");
	CU_ASSERT_EQUAL(m->procid_len, 0);
	CHECK_FIELD(m->msg, m->msg_len, "1.4.1: restart.");
	m = &c.m[167];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1781930679));
	CHECK_FIELD(m->app, m->app_len, "snmpd");
	CHECK_FIELD(m->procid, m->procid_len, "2318");
	CHECK_FIELD(m->msg, m->msg_len, "Received SNMP packet(s) from 67.170.148.126 ");
	m = &c.m[200];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1782098246));
	CHECK_FIELD(m->procid, m->procid_len, "16206");
}

static void test_loghub_openssh_first_200_lines(void)
{
	static struct loghub_ctx c;
	memset(&c, 0, sizeof(c));
	c.recv_us = SEC(1796947200);   /* 2026-12-11T00:00:00Z */
	c.host = "LabSZ";
	CU_ASSERT_EQUAL_FATAL(for_each_line("OpenSSH_2k.log", 200, check_3164_line, &c), 200);
	CU_ASSERT_EQUAL(c.ok, 200);

	const struct dp_syslog_msg *m = &c.m[1];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1796885746));     /* Dec 10 06:55:46 2026 */
	CHECK_FIELD(m->app, m->app_len, "sshd");
	CHECK_FIELD(m->procid, m->procid_len, "24200");
	CHECK_FIELD(m->msg, m->msg_len, "reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com "
		    "[173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!");
	m = &c.m[2];
	CHECK_FIELD(m->msg, m->msg_len, "Invalid user webmaster from 173.234.31.186");
	m = &c.m[200];
	CU_ASSERT_EQUAL(m->ts_us, SEC(1796891090));
	CHECK_FIELD(m->procid, m->procid_len, "24365");
	CHECK_FIELD(m->msg, m->msg_len, "pam_unix(sshd:auth): check pass; user unknown");
}

struct bare_ctx {
	int ok;
};

/* Not syslog: BARE, receive time, msg is the whole line without CR/LF. */
static void check_bare_line(int lineno, const char *line, size_t len, void *vctx)
{
	struct bare_ctx *c = vctx;
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 0);
	struct dp_syslog_msg m;
	size_t want = len;
	(void)lineno;
	while (want > 0 && (line[want - 1] == '\n' || line[want - 1] == '\r'))
		want--;
	if (dp_syslog_parse(line, len, &o, &m) == DP_SYSLOG_OK && m.format == DP_SYSLOG_BARE &&
	    !m.has_ts && m.ts_us == RECV_JUN_2026 && m.msg == line && m.msg_len == want)
		c->ok++;
}

static void test_loghub_apache_hadoop_zookeeper_are_bare(void)
{
	static const char *const files[] = { "Apache_2k.log", "Hadoop_2k.log", "Zookeeper_2k.log" };
	for (size_t i = 0; i < WR_ARRAY_SIZE(files); i++) {
		struct bare_ctx c = { 0 };
		CU_ASSERT_EQUAL_FATAL(for_each_line(files[i], 200, check_bare_line, &c), 200);
		CU_ASSERT_EQUAL(c.ok, 200);
	}
}

static void test_year_inference_dec_to_jan_rollover(void)
{
	struct dp_syslog_msg m;
	/* Received 2027-01-01T00:00:05Z: Dec 31 2027 is a year ahead, so 2026. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Dec 31 23:59:59 h app: x", SEC(1798761605), 0, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1798761599));
}

static void test_year_inference_same_year(void)
{
	struct dp_syslog_msg m;
	/* Received 2026-12-20: Dec 10 is 10 days back, same year. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Dec 10 06:55:46 h app: x", SEC(1797724800), 0, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1796885746));
	/* A date up to 7 days ahead (clock skew) is still this year. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Jun 22 03:17:26 h app: x", SEC(1781913600), 0, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1782098246));
}

/* Sender's clock ahead over New Year: "Jan 1" received Dec 31 is next year. */
static void test_year_inference_jan_received_on_dec_31(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL_FATAL(parse_with("Jan  1 00:00:10 h app: x", SEC(1798761590), 0, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1798761610));
}

static void test_feb29_only_in_leap_years(void)
{
	struct dp_syslog_msg m;
	/* Received mid-2026: Feb 29 2026 does not exist. */
	CU_ASSERT_EQUAL(parse_s("Feb 29 10:00:00 h app: x", &m), DP_SYSLOG_ETIMESTAMP);
	/* Received 2028-03-01T00:00:00Z: Feb 29 2028 is valid. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Feb 29 10:00:00 h app: x", SEC(1835481600), 0, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1835431200));
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-02-29T00:00:00Z h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("Jun 31 10:00:00 h app: x", &m), DP_SYSLOG_ETIMESTAMP);
}

static void test_tz_offset_applied_to_3164(void)
{
	struct dp_syslog_msg m;
	/* Source at UTC+2: 15:16:01 local is 13:16:01Z. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Jun 14 15:16:01 combo app: x", RECV_JUN_2026, 7200, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1781442961));
	/* Source at UTC-1, received 2027-01-01T00:30Z = Dec 31 23:30 local: year 2026. */
	CU_ASSERT_EQUAL_FATAL(parse_with("Dec 31 23:29:00 h app: x", SEC(1798763400), -3600, &m),
			      DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.ts_us, SEC(1798763340));   /* 2027-01-01T00:29:00Z */
}

static void test_error_empty_and_oversize(void)
{
	struct dp_syslog_msg m;
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 0);
	CU_ASSERT_EQUAL(dp_syslog_parse("", 0, &o, &m), DP_SYSLOG_EEMPTY);
	CU_ASSERT_EQUAL(dp_syslog_parse("\r\n", 2, &o, &m), DP_SYSLOG_EEMPTY);
	o.max_len = 10;
	CU_ASSERT_EQUAL(dp_syslog_parse("0123456789", 10, &o, &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(dp_syslog_parse("0123456789A", 11, &o, &m), DP_SYSLOG_EOVERSIZE);
	o.max_len = 0;   /* no limit */
	CU_ASSERT_EQUAL(dp_syslog_parse("0123456789A", 11, &o, &m), DP_SYSLOG_OK);
}

static void test_error_bad_pri(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL(parse_s("<>1 - - - - - -", &m), DP_SYSLOG_EPRI);
	CU_ASSERT_EQUAL(parse_s("<1a>x", &m), DP_SYSLOG_EPRI);
	CU_ASSERT_EQUAL(parse_s("<1234>x", &m), DP_SYSLOG_EPRI);
	CU_ASSERT_EQUAL(parse_s("<192>x", &m), DP_SYSLOG_EPRI);
	CU_ASSERT_EQUAL(parse_s("<-1>x", &m), DP_SYSLOG_EPRI);
	CU_ASSERT_EQUAL(parse_s("<191>x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.facility, 23);
	CU_ASSERT_EQUAL(m.severity, 7);
	CU_ASSERT_EQUAL(parse_s("<0>x", &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.pri, 0);
}

static void test_error_bad_timestamp(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-13-01T00:00:00Z h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23 21:00:00Z h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:60Z h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00+24:00 h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 2026-11-23T21:00:00Zx h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 1969-12-31T23:59:59Z h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("<14>1 yesterday h a - - -", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("Jun 14 24:00:00 h app: x", &m), DP_SYSLOG_ETIMESTAMP);
	CU_ASSERT_EQUAL(parse_s("Jun 14 15:16:01x h app: x", &m), DP_SYSLOG_ETIMESTAMP);
}

static void test_error_bad_header_field(void)
{
	struct dp_syslog_msg m;
	char app49[128];
	CU_ASSERT_EQUAL(parse_s("<14>1 - h  a - - -", &m), DP_SYSLOG_EHEADER);
	snprintf(app49, sizeof(app49), "<14>1 - h %.49s - - -",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CU_ASSERT_EQUAL(parse_s(app49, &m), DP_SYSLOG_EHEADER);
	/* 48 bytes is the limit, still fine. */
	snprintf(app49, sizeof(app49), "<14>1 - h %.48s - - -",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CU_ASSERT_EQUAL(parse_s(app49, &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.app_len, 48);
	CU_ASSERT_EQUAL(parse_s("<14>1 - h\xc3\xa9 a - - -", &m), DP_SYSLOG_EHEADER);
}

static void test_error_truncated_header(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL(parse_s("<", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>1 2026-11-23T21:0", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>1 2026-11-23T21:00:00Z host app", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - -", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id k=\"v", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id k=\"v\\", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("Jun 14 15:16:01", &m), DP_SYSLOG_ETRUNCATED);
	CU_ASSERT_EQUAL(parse_s("Jun 14 15:16:01 ", &m), DP_SYSLOG_ETRUNCATED);
}

static void test_error_bad_structured_data(void)
{
	struct dp_syslog_msg m;
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - x", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - []", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id k]", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id k=v]", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id  k=\"v\"]", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [id k=\"v\"]x", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - [i\"d]", &m), DP_SYSLOG_ESD);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h a - - -x", &m), DP_SYSLOG_ESD);
}

static void test_error_binary_in_header(void)
{
	struct dp_syslog_msg m;
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 0);
	static const char h5424[] = "<13>1 - h\0st a - - - x";
	static const char sd5424[] = "<13>1 - h a - - [id k=\"\0\"] x";
	static const char h3164[] = "Jun 14 15:16:01 co\0mbo app: x";
	static const char in_msg[] = "<13>1 - h a - - - x\0y";
	CU_ASSERT_EQUAL(dp_syslog_parse(h5424, sizeof(h5424) - 1, &o, &m), DP_SYSLOG_EBINARY);
	CU_ASSERT_EQUAL(dp_syslog_parse(sd5424, sizeof(sd5424) - 1, &o, &m), DP_SYSLOG_EBINARY);
	CU_ASSERT_EQUAL(dp_syslog_parse(h3164, sizeof(h3164) - 1, &o, &m), DP_SYSLOG_EBINARY);
	CU_ASSERT_EQUAL(parse_s("<13>1 - h\ta - - - x", &m), DP_SYSLOG_EBINARY);
	/* NUL inside MSG is payload, not header. */
	CU_ASSERT_EQUAL(dp_syslog_parse(in_msg, sizeof(in_msg) - 1, &o, &m), DP_SYSLOG_OK);
	CU_ASSERT_EQUAL(m.msg_len, 3);
}

static bool fields_inside(const struct dp_syslog_msg *m, const char *buf, size_t len)
{
	const char *end = buf + len;
	const struct { const char *p; uint32_t n; } f[] = {
		{ m->host, m->host_len }, { m->app, m->app_len }, { m->procid, m->procid_len },
		{ m->msgid, m->msgid_len }, { m->sd, m->sd_len }, { m->msg, m->msg_len },
	};
	for (size_t i = 0; i < WR_ARRAY_SIZE(f); i++)
		if (f[i].p < buf || f[i].p > end || f[i].n > (size_t)(end - f[i].p))
			return false;
	return true;
}

/*
 * Every prefix of example 3: below the end of SD the header is incomplete
 * (ETRUNCATED), except "<165>1" which is a BARE "1"; from the closing ']' on it
 * parses, and the MSG grows with the prefix.
 */
static void test_truncation_at_every_prefix(void)
{
	const char *full = EX3;
	size_t n = strlen(full);
	size_t sd_end = (size_t)(strstr(full, "\"1011\"]") - full) + strlen("\"1011\"]");
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 0);
	int bad = 0;

	for (size_t k = 0; k <= n; k++) {
		char *b = malloc(k ? k : 1);   /* exact size: ASan sees any over-read */
		struct dp_syslog_msg m;
		int want, rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		memcpy(b, full, k);
		rc = dp_syslog_parse(b, k, &o, &m);
		if (k == 0)
			want = DP_SYSLOG_EEMPTY;
		else if (k == strlen("<165>1"))
			want = DP_SYSLOG_OK;
		else if (k < sd_end)
			want = DP_SYSLOG_ETRUNCATED;
		else
			want = DP_SYSLOG_OK;
		if (rc != want)
			bad++;
		else if (rc == DP_SYSLOG_OK && k >= sd_end &&
			 (m.format != DP_SYSLOG_RFC5424 || m.sd_len != strlen(EX3_SD) ||
			  m.msg + m.msg_len != b + k || !fields_inside(&m, b, k)))
			bad++;
		free(b);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
	/* xorshift64*: a fixed seed gives the same 100k inputs every run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/*
 * 100k inputs: half random bytes from a syslog-ish alphabet, half example 3
 * with a few bytes changed. Every return is a known code and on OK every
 * field lies inside the input.
 */
static void test_random_inputs_stay_in_bounds(void)
{
	static const char alphabet[] = "<>0123456789 -:T.Z+[]=\"\\ \r\n\0JunDecabc\xef\xbb\xbf";
	const char *seed = EX3;
	size_t seed_len = strlen(seed);
	struct dp_syslog_opts o = opts_at(RECV_JUN_2026, 3600);
	int bad = 0, ok = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 100000; i++) {
		size_t len = (size_t)(rng_next() % 200);
		char *b = malloc(len ? len : 1);
		struct dp_syslog_msg m;
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		if (i & 1) {
			size_t k = len < seed_len ? len : seed_len;
			memcpy(b, seed, k);
			for (size_t j = k; j < len; j++)
				b[j] = (char)rng_next();
			for (int flips = 1 + (int)(rng_next() % 4); flips > 0 && len; flips--)
				b[rng_next() % len] = alphabet[rng_next() % (sizeof(alphabet) - 1)];
		} else {
			for (size_t j = 0; j < len; j++)
				b[j] = (rng_next() & 3) ? alphabet[rng_next() % (sizeof(alphabet) - 1)]
						       : (char)rng_next();
		}
		int rc = dp_syslog_parse(b, len, &o, &m);
		if (rc < 0 || rc >= DP_SYSLOG_ERR_MAX)
			bad++;
		if (rc == DP_SYSLOG_OK) {
			ok++;
			if (!fields_inside(&m, b, len) || (!m.has_ts && m.ts_us != o.recv_us))
				bad++;
		}
		free(b);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(ok > 1000);   /* the mutations must reach the OK path too */
}

static void test_strerror_names_every_code(void)
{
	for (int e = 0; e < DP_SYSLOG_ERR_MAX; e++) {
		const char *s = dp_syslog_strerror(e);
		CU_ASSERT_PTR_NOT_NULL(s);
		CU_ASSERT(s && strcmp(s, dp_syslog_strerror(-1)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(dp_syslog_strerror(DP_SYSLOG_EPRI), "bad PRI");
	CU_ASSERT_STRING_EQUAL(dp_syslog_strerror(DP_SYSLOG_ERR_MAX), "unknown syslog error");
}

static int reg(void)
{
	WR_SUITE("syslog",
		 WR_TEST(test_rfc5424_example1_all_fields),
		 WR_TEST(test_rfc5424_example2_offset_and_microseconds),
		 WR_TEST(test_rfc5424_example3_sd_and_msg),
		 WR_TEST(test_rfc5424_example4_two_sd_elements_no_msg),
		 WR_TEST(test_rfc5424_sd_escapes_in_values),
		 WR_TEST(test_rfc5424_all_nilvalues),
		 WR_TEST(test_rfc5424_fraction_one_to_six_digits),
		 WR_TEST(test_rfc5424_offsets_and_missing_zone),
		 WR_TEST(test_rfc3164_with_pri_padded_day),
		 WR_TEST(test_rfc3164_without_pri_defaults_user_notice),
		 WR_TEST(test_rfc3164_without_host_when_tag_follows_timestamp),
		 WR_TEST(test_rfc3164_tag_ended_by_space_and_no_tag),
		 WR_TEST(test_rfc3164_explicit_year_variant),
		 WR_TEST(test_rfc3339_timestamp_after_pri),
		 WR_TEST(test_bare_line_gets_receive_time),
		 WR_TEST(test_trailing_newline_cr_nul_stripped),
		 WR_TEST(test_loghub_linux_first_200_lines),
		 WR_TEST(test_loghub_openssh_first_200_lines),
		 WR_TEST(test_loghub_apache_hadoop_zookeeper_are_bare),
		 WR_TEST(test_year_inference_dec_to_jan_rollover),
		 WR_TEST(test_year_inference_same_year),
		 WR_TEST(test_year_inference_jan_received_on_dec_31),
		 WR_TEST(test_feb29_only_in_leap_years),
		 WR_TEST(test_tz_offset_applied_to_3164),
		 WR_TEST(test_error_empty_and_oversize),
		 WR_TEST(test_error_bad_pri),
		 WR_TEST(test_error_bad_timestamp),
		 WR_TEST(test_error_bad_header_field),
		 WR_TEST(test_error_truncated_header),
		 WR_TEST(test_error_bad_structured_data),
		 WR_TEST(test_error_binary_in_header),
		 WR_TEST(test_truncation_at_every_prefix),
		 WR_TEST(test_random_inputs_stay_in_bounds),
		 WR_TEST(test_strerror_names_every_code));
	return 0;
}

WR_TEST_MAIN(reg)
