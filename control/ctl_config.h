/*
 * ctl_config.h - weir's configuration: one YAML file, validated against a
 * table of {key, type, default, min, max, doc} per section. Unknown keys are
 * errors naming the key and the file line. The same table serves the startup
 * file and (later) weirctl.
 *
 * Thread safety: a loaded config is immutable; load/free from one thread.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_PORTS 8
#define CTL_MAX_UDP_PORTS 16
#define CTL_MAX_SOURCES 64
#define CTL_MAX_EAL_ARGS 64
#define CTL_MAX_FUNNEL_STEPS 8
#define CTL_MAX_KAFKA_TOPICS 16
#define CTL_MAX_KAFKA_PROPS 64
#define CTL_MAX_FRAUD_FEATURES 64
#define CTL_MAX_FRAUD_REASONS 8

struct ctl_port_cfg {
	char *name;
	char *devargs;               /* vdev args ("net_pcap0,rx_pcap=...") or a PCI address */
	uint16_t rx_queues;          /* default 1 */
	uint16_t rx_desc, tx_desc;   /* default 1024 */
	bool has_ipv4; uint8_t ipv4[4]; uint8_t ipv4_prefix;
	bool has_ipv6; uint8_t ipv6[16]; uint8_t ipv6_prefix;
	bool promiscuous;            /* default false */
	bool accept_any_dst;         /* accept UDP to any IP (replay captures); default false */
};

struct ctl_source_cfg {         /* per-source settings, matched by sender address prefix */
	bool is_v6; uint8_t addr[16]; uint8_t prefix;
	int32_t tz_offset_s;
};

/* Record formats of Kafka input topics. */
enum ctl_kafka_format {
	CTL_KAFKA_FMT_SYSLOG = 0,    /* one log line per record: RFC 5424, RFC 3164 or plain */
	CTL_KAFKA_FMT_CLICK = 1,     /* one JSON clickstream event per record (clickstream.*) */
	CTL_KAFKA_FMT_TXN = 2,       /* one JSON payment transaction per record (fraud.*) */
};

struct ctl_kafka_topic_cfg {    /* one kafka.topics[] entry */
	char *name;                  /* topic name (Kafka's charset: [A-Za-z0-9._-], <= 249) */
	int format;                  /* enum ctl_kafka_format; default syslog */
};

struct ctl_config {
	char *path;                  /* file it was loaded from */
	/* eal */
	/*
	 * eal_argv[0] is "weir" (a program name for getopt), eal_argv[eal_argc]
	 * is NULL: pass both straight to rte_eal_init(). At most
	 * CTL_MAX_EAL_ARGS - 2 arguments come from the file. Default
	 * "-l 0-1 --in-memory".
	 */
	int eal_argc; char *eal_argv[CTL_MAX_EAL_ARGS];
	/* dataplane */
	uint32_t n_ports; struct ctl_port_cfg ports[CTL_MAX_PORTS];
	uint32_t n_syslog_ports; uint16_t syslog_ports[CTL_MAX_UDP_PORTS]; /* default [514] */
	uint32_t mbufs;              /* default 16383 */
	uint32_t mbuf_data_room;     /* bytes per buffer, default 2048 (+ headroom) */
	uint32_t syslog_max_len;     /* default 65000 */
	uint32_t frag_table_size;    /* default 4096 flows */
	int64_t frag_timeout_us;     /* default 2 s */
	uint32_t n_sources; struct ctl_source_cfg sources[CTL_MAX_SOURCES];
	int32_t default_tz_offset_s; /* default 0 (UTC) */
	/* clickstream sessions (JSON events) */
	uint32_t n_click_ports; uint16_t click_ports[CTL_MAX_UDP_PORTS]; /* default none */
	char *click_field_user, *click_field_ts, *click_field_type, *click_field_page;
	char *page_view_type;        /* event type counted as a page view, "page_view" */
	int64_t session_gap_us;      /* inactivity that ends a session, default 30 min */
	int64_t session_max_len_us;  /* longest session before a split, default 12 h; 0 = none */
	uint32_t n_funnel_steps; char *funnel_steps[CTL_MAX_FUNNEL_STEPS];
	uint32_t session_users;      /* users per worker, default 1048576 */
	uint32_t session_slots;      /* open sessions per worker, 0 = as many as users */
	char *sessions_jsonl, *sessions_kafka;
	/*
	 * fraud scoring (JSON transactions). Enabled when fraud.ports or a
	 * Kafka topic of format txn is set; then fraud.model is required.
	 */
	bool fraud_enabled;
	uint32_t n_txn_ports; uint16_t txn_ports[CTL_MAX_UDP_PORTS]; /* default none */
	char *txn_field_id, *txn_field_user, *txn_field_amount, *txn_field_currency;
	char *txn_field_merchant, *txn_field_country, *txn_field_ts;
	double txn_max_amount;       /* largest accepted amount, default 1e9 */
	char *fraud_model;           /* XGBoost JSON model, resolved like rules.file */
	char *fraud_shadow_model;    /* scored alongside, never decides; NULL = none */
	char *fraud_samples;         /* CSV of recorded predictions checked at load; NULL = none */
	uint32_t n_fraud_features; char *fraud_features[CTL_MAX_FRAUD_FEATURES];
	double fraud_review, fraud_block; /* score thresholds, 0 <= review < block <= 1 */
	uint32_t fraud_reasons;      /* top contributing features named, 0 .. 8 */
	uint32_t fraud_users;        /* feature table capacity per worker */
	int64_t fraud_disorder_us;   /* out-of-order bound of the feature windows */
	bool fraud_evict;            /* full feature table: evict the least recent user */
	uint32_t fraud_queue;        /* transactions in flight per worker to the fraud thread */
	bool fraud_on_worker;        /* decide on the owner worker when all features are at hand */
	uint32_t fraud_rt_priority;  /* SCHED_FIFO priority of the fraud thread, 0 = normal */
	int32_t fraud_cpu;           /* CPU of the fraud thread, -1 = the main lcore's */
	char *redis_host;            /* NULL = no feature store */
	uint16_t redis_port;
	char *redis_unix;            /* unix socket instead of host/port */
	char *redis_key_prefix;      /* hash key = prefix + user id, default "user:" */
	int64_t redis_deadline_us;   /* per lookup, default 2 ms */
	bool redis_write_back;       /* HSET the in-stream aggregates after each decision */
	uint32_t redis_cache_entries; /* client-side cache of store features; 0 = off */
	char *decisions_jsonl, *decisions_kafka;
	/* rules */
	char *rules_file;            /* resolved relative to the config file */
	int64_t default_window_us;   /* default 60 s */
	/* event time */
	int64_t ooo_us;              /* default 5 s */
	int64_t lateness_us;         /* default 0 */
	int64_t idle_timeout_us;     /* default 30 s */
	int64_t max_drift_us;        /* watermark alignment bound, 0 = off */
	int64_t max_future_us;       /* event times further ahead of the clock are bad, 0 = off */
	uint32_t window_capacity;    /* default 65536 */
	uint32_t window_slots;       /* open windows per worker, 0 = 2 x window_capacity */
	/* outputs: NULL = off, "-" = stdout */
	char *windows_jsonl, *alerts_jsonl, *late_jsonl;
	/*
	 * Kafka sinks: topic names, NULL = off. windows/alerts/late get the same
	 * JSON line as the jsonl sinks, keyed by the record's key; dead_letter
	 * gets undecodable input records with the reason (sent by the source).
	 */
	char *windows_kafka, *alerts_kafka, *late_kafka, *dead_letter_kafka;
	char *slack_webhook_url;     /* from config or env WEIR_SLACK_WEBHOOK; a secret: never log it */
	bool slack_webhook_from_env; /* true when the URL came from WEIR_SLACK_WEBHOOK */
	uint32_t slack_queue_len;
	int64_t slack_timeout_us;
	uint32_t slack_max_retries;
	/*
	 * kafka. kafka_brokers is bootstrap.servers (NULL when unset; the loader
	 * requires it when any input topic or Kafka output is set). Pass-through
	 * properties are {name, value} string pairs in file order, already
	 * checked against librdkafka (rd_kafka_conf_set) at load time; apply
	 * them with rd_kafka_conf_set after weir's own defaults so they win.
	 * They never contain bootstrap.servers or group.id (the loader rejects
	 * those and points at kafka.brokers / kafka.group_id).
	 */
	char *kafka_brokers;
	char *kafka_group_id;        /* group.id of the consumer, default "weir" */
	uint32_t n_kafka_topics; struct ctl_kafka_topic_cfg kafka_topics[CTL_MAX_KAFKA_TOPICS];
	uint32_t kafka_max_partitions; /* partitions tracked across all topics, default 256 */
	uint32_t kafka_queue;        /* records in flight per worker, default 4096 */
	uint32_t n_kafka_consumer_props; char *kafka_consumer_props[CTL_MAX_KAFKA_PROPS][2];
	uint32_t n_kafka_producer_props; char *kafka_producer_props[CTL_MAX_KAFKA_PROPS][2];
	/* run */
	int64_t stats_interval_us;   /* default 1 s; 0 = off */
	bool lock_memory;            /* mlockall at start: no page faults on the data path */
	bool state_hugepages;        /* state tables' dense arrays on reserved 2 MB pages */
	int64_t exit_after_idle_us;  /* 0 = run until signalled; else flush and exit when no packet came for this long */
	char *control_socket;        /* unix socket weirctl talks to; NULL = none */
	char *log_level;
};

/*
 * Load and validate @path. Returns 0 and *out, or -EINVAL/-errno with
 * "path:line: key 'x': what" in @err (keys are named by their dotted path,
 * e.g. 'syslog.max_length', 'ports[1].rx_desc'); nothing is allocated on
 * error. The file layout and every key are documented at the top of
 * ctl_config.c and in configs/reference.yaml.
 * Relative paths (rules.file, outputs.*.jsonl other than "-") are resolved
 * against the directory of @path. The Slack webhook comes from the
 * environment variable WEIR_SLACK_WEBHOOK when it is set and not empty (it
 * then overrides outputs.slack.webhook_url), else from the file.
 */
int ctl_config_load(const char *path, struct ctl_config **out, char *err, size_t errlen);

/* The same from a string (tests); @name stands for the file name. */
int ctl_config_load_string(const char *yaml, const char *name, struct ctl_config **out,
			   char *err, size_t errlen);

/* Free a config and every string in it; NULL is a no-op. */
void ctl_config_destroy(struct ctl_config *c);

/*
 * Zone offset for a sender address (IPv4 in the first 4 bytes when !is_v6):
 * the longest matching syslog.sources prefix of the same family, else
 * default_tz_offset_s. Equal prefixes: the first listed wins.
 */
int32_t ctl_config_source_tz(const struct ctl_config *c, bool is_v6, const uint8_t *addr);

/*
 * Write every key with its type, default, bounds and doc to @f (weir
 * --help-config). The output is itself a valid config (keys without default
 * show an example value or are commented out); configs/reference.yaml is
 * this output.
 */
#include <stdio.h>
void ctl_config_print_reference(FILE *f);

#endif /* CTL_CONFIG_H */
