/*
 * wr_counters.h - every counter weir keeps, from one X-macro.
 *
 * Each thread that counts (a worker lcore, the control thread) owns one
 * struct wr_counters and is its only writer; readers (stats line, metrics)
 * sum the slots with wr_counters_sum(). A torn read of a 64-bit counter
 * cannot happen on x86-64, so no atomics are used on the hot path.
 */
#ifndef WR_COUNTERS_H
#define WR_COUNTERS_H

#include <stdint.h>

/* X(name, help) */
#define WR_COUNTERS(X) \
	X(rx_packets,            "packets received from ports") \
	X(rx_bytes,              "bytes received from ports") \
	X(rx_bad_l2,             "frames too short or with a malformed Ethernet/VLAN header") \
	X(rx_bad_ip,             "IP packets with a bad version, header length, total length or checksum") \
	X(rx_bad_udp,            "UDP datagrams with a bad length or checksum") \
	X(rx_unknown,            "frames of a protocol weir does not handle") \
	X(rx_not_for_us,         "IP packets addressed to another host") \
	X(rx_port_closed,        "UDP datagrams to a port nobody listens on") \
	X(arp_replies,           "ARP requests answered") \
	X(nd_replies,            "IPv6 neighbour solicitations answered") \
	X(icmp_echo_replies,     "ICMP/ICMPv6 echo requests answered") \
	X(tx_packets,            "packets sent") \
	X(tx_dropped,            "packets the port would not take") \
	X(frag_in,               "IP fragments received") \
	X(frag_reassembled,      "datagrams reassembled from fragments") \
	X(frag_dropped,          "fragments dropped: table full, timeout or bad fragment") \
	X(syslog_msgs,           "syslog messages parsed") \
	X(syslog_bad,            "syslog messages rejected as malformed") \
	X(syslog_truncated,      "syslog messages cut short (truncated structured data or header)") \
	X(syslog_oversize,       "syslog messages longer than the configured maximum") \
	X(syslog_no_timestamp,   "syslog messages without a timestamp (receive time used)") \
	X(rule_matches,          "rule matches") \
	X(scan_errors,           "Hyperscan scan errors") \
	X(events_future,         "events dated more than event_time.max_future ahead of the clock (syslog: receive time used; clicks: rejected)") \
	X(events_late,           "matches later than the allowed lateness (sent to late output)") \
	X(window_table_full,     "matches dropped because the window table was full") \
	X(windows_closed,        "windows closed and emitted") \
	X(alerts_fired,          "alerts raised") \
	X(alerts_cooldown,       "threshold crossings suppressed by cooldown") \
	X(alerts_resolved,       "resolved messages sent") \
	X(click_events,          "clickstream events parsed") \
	X(click_bad,             "clickstream events rejected (invalid JSON, missing or bad field)") \
	X(sessions_converted,    "closed sessions that completed the funnel") \
	X(funnel_windows,        "one-minute funnel rate records emitted") \
	X(sessions_opened,       "clickstream sessions opened") \
	X(sessions_closed,       "clickstream sessions closed and emitted") \
	X(sessions_merged,       "open sessions merged by a late event that bridged them") \
	X(sessions_split,        "sessions opened because the maximum session length stopped a join") \
	X(sessions_funnel_inexact, "closed sessions whose funnel result may be low (step history overflowed)") \
	X(session_events_late,   "clickstream events later than the allowed lateness (sent to late output)") \
	X(session_table_full,    "clickstream events dropped because the user table or session pool was full") \
	X(sessions_active,       "gauge: open sessions") \
	X(txn_in,                "payment transactions parsed") \
	X(txn_bad,               "payment transactions rejected (invalid JSON, missing or bad field): answered ERROR") \
	X(txn_overload,          "payment transactions answered ERROR because the fraud thread's queue was full") \
	X(control_bad_requests,  "weirctl requests refused: unknown command, line too long, or silent past the timeout") \
	X(fraud_decisions,       "fraud decisions made") \
	X(fraud_allow,           "decisions ALLOW") \
	X(fraud_review,          "decisions REVIEW") \
	X(fraud_block,           "decisions BLOCK") \
	X(fraud_on_worker,       "decisions made and answered on the worker that owns the user (fraud.decide_on_worker)") \
	X(fraud_degraded,        "decisions made without some store features (Redis slow, down or overloaded)") \
	X(fraud_replies,         "UDP replies sent (decisions and errors)") \
	X(fraud_reply_failed,    "UDP replies that could not be built or sent (no buffer, port busy)") \
	X(fraud_audit_dropped,   "audit records lost: Kafka's producer queue full, or a worker's queue to the fraud thread full after the worker had answered (answers never wait)") \
	X(fraud_shadow_scored,   "transactions the shadow model scored") \
	X(fraud_shadow_disagree, "transactions where the shadow model's decision differed") \
	X(fraud_model_reloads,   "models swapped in by a reload") \
	X(fraud_model_reload_failed, "reloads refused (model failed to load or verify; the old one stays)") \
	X(features_users,        "gauge: users in the fraud feature table") \
	X(features_late,         "transactions older than the 24 h window (plus disorder) behind the user's newest: not recorded") \
	X(features_table_full,   "transactions of new users refused because the feature table was full (evict off)") \
	X(features_evictions,    "users evicted from the full feature table to make room (evict on)") \
	X(state_reserved_bytes,  "gauge: bytes of the session and feature tables on reserved 2 MB hugepages (run.hugepages)") \
	X(rx_paused,             "polls skipped by watermark alignment (input ahead of the slowest)") \
	X(out_ring_full,         "output records dropped because the control ring was full") \
	X(out_records,           "output records written by sinks") \
	X(sink_errors,           "output records a sink failed to write") \
	X(kafka_in,              "records read from Kafka") \
	X(kafka_out,             "records delivered to Kafka") \
	X(kafka_delivery_errors, "records Kafka did not take (permanent produce error or failed delivery)") \
	X(kafka_queue_full_waits, "10 ms waits of a produce call for room in the full producer queue") \
	X(kafka_pauses,          "times partitions were paused for backpressure") \
	X(kafka_dead_letter,     "records sent to the dead-letter topic") \
	X(kafka_lag_records,     "gauge: records behind the newest, summed over partitions") \
	X(kafka_lag_seconds,     "gauge: seconds the Kafka input is behind the newest records") \
	X(slack_posted,          "Slack messages delivered") \
	X(slack_retries,         "Slack posts retried (429, 5xx, timeout)") \
	X(slack_failed,          "Slack messages given up on (4xx, retries exhausted)") \
	X(slack_queue_full,      "Slack messages dropped because the queue was full") \
	X(redis_lookups,         "Redis feature lookups asked for") \
	X(redis_lookup_timeouts, "Redis lookups answered incomplete at their deadline") \
	X(redis_lookup_failed,   "Redis lookups answered incomplete: not connected, connection lost or too many in flight") \
	X(redis_replies_late,    "Redis lookup replies that came after their deadline (discarded)") \
	X(redis_writes,          "Redis write-backs (HSET) acknowledged") \
	X(redis_reconnects,      "Redis connections established after the first one") \
	X(redis_errors,          "Redis error replies, refused or lost writes, connect failures, stalled connections dropped, the cache's invalidation listener lost or refused") \
	X(redis_cache_hits,      "users' store features answered from the client-side cache (no round trip)") \
	X(redis_cache_misses,    "users' store features not in the client-side cache (looked up in Redis)") \
	X(redis_cache_invalidations, "keys Redis reported changed by another client (dropped from the cache)") \
	X(redis_cache_flushes,   "client-side cache emptied: a connection lost or re-established, or Redis flushed")

enum wr_counter_id {
#define WR_X_ENUM(name, help) WR_CNT_##name,
	WR_COUNTERS(WR_X_ENUM)
#undef WR_X_ENUM
	WR_CNT_MAX
};

/*
 * One thread's counters, padded to whole 64-byte lines so that slots laid
 * side by side from a line-aligned base (main.c's slot array) never share a
 * line between writers. The struct itself asks for no more than 8-byte
 * alignment: it is embedded in objects that malloc()/calloc() return only
 * 16-aligned, and a 64-byte alignment here let the compiler store into those
 * with aligned 32-byte moves that fault (seen on an AVX-512 host).
 */
#define WR_CNT_LINE_WORDS 8
struct wr_counters {
	uint64_t v[(WR_CNT_MAX + WR_CNT_LINE_WORDS - 1) / WR_CNT_LINE_WORDS * WR_CNT_LINE_WORDS];
};
_Static_assert(sizeof(struct wr_counters) % 64 == 0,
	       "counter slots must fill whole cache lines");
_Static_assert(_Alignof(struct wr_counters) <= 16,
	       "embedders are allocated with plain calloc()");

#define WR_COUNT(c, name)        ((c)->v[WR_CNT_##name]++)
#define WR_COUNT_ADD(c, name, n) ((c)->v[WR_CNT_##name] += (n))

/* Name and help text of counter @id. */
const char *wr_counter_name(enum wr_counter_id id);
const char *wr_counter_help(enum wr_counter_id id);

/* out = sum of @n slots. Readers only; safe while writers run. */
void wr_counters_sum(const struct wr_counters *slots, unsigned n, struct wr_counters *out);

#endif /* WR_COUNTERS_H */
