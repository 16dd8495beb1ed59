/*
 * dp_syslog.h - a bounded syslog parser (no regex, no allocation).
 *
 * Accepts RFC 5424 (structured data, NILVALUE "-", UTF-8 BOM before MSG),
 * RFC 3164 with and without <PRI>, and bare lines with no timestamp.
 * Event time comes from the message: RFC 5424 timestamps carry their own
 * offset; RFC 3164 "Mmm dd hh:mm:ss" has no year and no zone: the year is
 * inferred from the receive time (a date more than 7 days ahead of it belongs
 * to the previous year, which covers the Dec -> Jan rollover) and the zone is
 * the per-source offset in @opts. A line with no timestamp gets the receive
 * time and has_ts = false.
 *
 * All pointers in struct dp_syslog_msg point into the caller's buffer.
 * Thread safety: reentrant; no global state.
 *
 * Choices the RFCs leave open (details in dp_syslog.c):
 *  - "<PRI>1 " commits to RFC 5424. Without it, a line is RFC 3164 when it
 *    starts (after the optional <PRI>) with a complete "Mmm dd hh:mm:ss",
 *    "Mmm dd yyyy hh:mm:ss" or RFC 3339 "yyyy-mm-ddThh:mm:ss[.f][zone]"
 *    (rsyslog's RFC3339 templates); anything else is BARE (pri still comes
 *    from a <PRI>, msg is what follows it). Non-syslog text (log4j, Apache)
 *    is BARE and never an error.
 *  - RFC 3164 without HOSTNAME is accepted only when the first word after
 *    the timestamp ends in ':' ("app:" / "app[pid]:"); host_len is then 0.
 *  - Year inference picks the year that puts the date in
 *    (recv - 1 year + 7 days, recv + 7 days], so besides Dec -> Jan a "Jan 1"
 *    received late on Dec 31 (sender clock ahead) goes to the next year.
 *  - A timestamp without zone (RFC 3164, or RFC 3339 with none) uses
 *    opts->tz_offset_s. Leap seconds (:60) and years before 1970 are
 *    ETIMESTAMP.
 *  - Absent fields have len 0 and a pointer into @buf (never NULL).
 *  - In SD param values an unescaped ']' is accepted; '"' and '\\' must be
 *    escaped. RFC 5424 header fields must be printable ASCII (EHEADER for
 *    bytes >= 0x80, EBINARY for control bytes).
 */
#ifndef DP_SYSLOG_H
#define DP_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dp_syslog_format { DP_SYSLOG_RFC5424, DP_SYSLOG_RFC3164, DP_SYSLOG_BARE };

/* Why a message was rejected; dp_syslog_strerror() names each. */
enum dp_syslog_err {
	DP_SYSLOG_OK = 0,
	DP_SYSLOG_EEMPTY,      /* zero-length message */
	DP_SYSLOG_EOVERSIZE,   /* longer than opts->max_len */
	DP_SYSLOG_EPRI,        /* "<" not followed by 1-3 digits and ">", or PRI > 191 */
	DP_SYSLOG_ETIMESTAMP,  /* RFC 5424 timestamp malformed or out of range */
	DP_SYSLOG_EHEADER,     /* RFC 5424 header field missing/overlong */
	DP_SYSLOG_ETRUNCATED,  /* message ends inside the header or structured data */
	DP_SYSLOG_ESD,         /* structured data malformed */
	DP_SYSLOG_EBINARY,     /* NUL byte or other binary content in the header */
	DP_SYSLOG_ERR_MAX
};

struct dp_syslog_opts {
	int64_t recv_us;          /* receive time, epoch microseconds */
	int32_t tz_offset_s;      /* zone of the source for timestamps without one */
	uint32_t max_len;         /* longer messages are rejected with EOVERSIZE;
	                           * 0 means no limit (lengths still fit 32 bits) */
};

struct dp_syslog_msg {
	enum dp_syslog_format format;
	int16_t pri;              /* -1 when the message had no <PRI> */
	uint8_t facility, severity; /* from pri; 1 (user) / 5 (notice) when absent */
	bool has_ts;              /* false: ts_us is the receive time */
	int64_t ts_us;            /* event time, epoch microseconds UTC */
	const char *host; uint32_t host_len;   /* len 0 when absent or NILVALUE */
	const char *app; uint32_t app_len;     /* APP-NAME, or 3164 TAG without [pid] */
	const char *procid; uint32_t procid_len;
	const char *msgid; uint32_t msgid_len;
	const char *sd; uint32_t sd_len;       /* raw STRUCTURED-DATA, len 0 when "-" */
	const char *msg; uint32_t msg_len;     /* MSG, BOM stripped, trailing CR/LF/NUL stripped;
	                                        * msg + msg_len is the end of the line without
	                                        * those trailing bytes, in every format */
};

/*
 * Parse @buf[0..@len) into @out. @opts and @out must not be NULL.
 * Trailing '\n', '\r' and '\0' are dropped first; a line that is nothing
 * else is EEMPTY. @len is checked against max_len before that.
 * Returns DP_SYSLOG_OK (0) or a positive enum dp_syslog_err; on error @out
 * is unspecified. Never reads past @buf + @len.
 * Cost: one pass over the header, memchr over the message tail.
 */
int dp_syslog_parse(const char *buf, size_t len, const struct dp_syslog_opts *opts,
		    struct dp_syslog_msg *out);

/* Short text for an error code, e.g. "bad PRI". */
const char *dp_syslog_strerror(int err);

#endif /* DP_SYSLOG_H */
