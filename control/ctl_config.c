/*
 * ctl_config.c - weir's configuration file, validated against one table per
 * section: {key, type, default, min, max, doc}. The same tables apply the
 * defaults, check bounds and print the reference (weir --help-config), so a
 * key cannot exist in one and be missing from another.
 *
 * Layout (every key is optional unless marked "required"):
 *
 *   eal:
 *     args: "-l 0-1 --in-memory"      # a string split on spaces, or a list
 *   ports:                            # up to CTL_MAX_PORTS entries
 *     - name: p0                      # default "port<index>"; unique
 *       device: "net_pcap0,rx_pcap=x.pcap"   # required: vdev args or PCI address
 *       rx_queues: 1
 *       rx_desc: 1024
 *       tx_desc: 1024
 *       ipv4: 192.0.2.10/24           # address/prefix; a bare address is /32
 *       ipv6: "2001:db8::10/64"       # a bare address is /128
 *       promiscuous: false
 *       accept_any_dst: false         # accept UDP to any IP (replayed captures)
 *   syslog:
 *     ports: [514]                    # one port, or a list of up to 16
 *     max_length: 65000
 *     timezone: UTC                   # for timestamps without a zone
 *     sources:                        # per-sender zone, longest prefix wins
 *       - match: 10.0.0.0/8           # required
 *         timezone: "-05:00"          # required
 *   fraud:                            # payment fraud scoring; on with ports or a txn topic
 *     ports: [7000]                   # UDP transactions, answered to the sender
 *     model: models/fraud_model.json  # required when on (XGBoost JSON)
 *     shadow_model: next.json         # scored and logged, never decides
 *     samples: models/fraud_samples.csv   # recorded predictions checked at load
 *     features: [txn_count_1h, ..., account_age_days]   # required when on
 *     review: 0.5
 *     block: 0.9
 *     reasons: 3
 *     users: 65536                    # feature table per worker
 *     disorder: 5m
 *     redis: {host: 127.0.0.1, port: 6379, key_prefix: "user:", deadline: 2ms,
 *             write_back: true}
 *   reassembly: {flows: 4096, timeout: 2s}
 *   kafka:                            # Kafka input and output (librdkafka)
 *     brokers: "127.0.0.1:9092"       # bootstrap.servers; required when any
 *                                     # kafka.topics entry or outputs.*.kafka is set
 *     group_id: weir                  # consumer group.id
 *     topics:                         # inputs, up to CTL_MAX_KAFKA_TOPICS
 *       - name: logs                  # required
 *         format: syslog              # syslog (log lines), click or txn (JSON)
 *     max_partitions: 256             # partitions tracked (per-partition watermarks)
 *     consumer: {auto.offset.reset: earliest}   # librdkafka properties, passed through
 *     producer: {linger.ms: 5}                  # checked at load time
 *   mbufs: 16383
 *   rules: {file: rules.yaml, default_window: 1m}   # file is required
 *   event_time: {out_of_orderness: 5s, allowed_lateness: 0s, idle_timeout: 30s,
 *                window_capacity: 65536}
 *   outputs:
 *     windows: {jsonl: "-"}           # "-" = stdout; absent = off
 *     alerts: {jsonl: alerts.jsonl}
 *     late: {jsonl: late.jsonl}
 *     (windows, alerts and late also take kafka: TOPIC: the same JSON line,
 *      keyed by the record's key)
 *     decisions: {jsonl: d.jsonl, kafka: weir-decisions}  # fraud audit
 *     dead_letter: {kafka: weir-dead}  # undecodable Kafka input records
 *     slack: {webhook_url: "https://hooks.slack.com/...", queue: 1024,
 *             timeout: 5s, max_retries: 5}
 *   run: {stats_interval: 1s, exit_after_idle: 0s,
 *         control_socket: /run/weir/weir.sock}   # weirctl; default none
 *   log: {level: info}                # error | warn | info | debug
 *
 * Conventions:
 * - Scalars are read as text, so quoting never changes a value. Booleans are
 *   true/false (also True/TRUE/False/FALSE); integers are plain decimal.
 * - Durations: "250ms", "5s", "1m", "2h", "1d", or a bare number of seconds.
 * - Time zones are fixed offsets: "UTC", "Z", "+hh:mm", "-hh:mm" (at most
 *   18:00). IANA names such as "Europe/Berlin" are not supported yet.
 * - Relative paths (rules.file and outputs.*.jsonl other than "-") resolve
 *   against the directory of the config file, so a config and its rules can
 *   move together.
 * - Kafka pass-through properties (kafka.consumer, kafka.producer) are a map
 *   of librdkafka property names to scalars of any YAML type (their text is
 *   passed). Each one is applied to a scratch rd_kafka_conf_t at load time,
 *   so a misspelt name or a bad value fails here with librdkafka's reason;
 *   bootstrap.servers and group.id are rejected there (use kafka.brokers and
 *   kafka.group_id, so there is one place for each).
 * - The Slack webhook URL is a secret: it is never logged or printed, and
 *   errors about it never quote it. The environment variable
 *   WEIR_SLACK_WEBHOOK, when set and not empty, overrides
 *   outputs.slack.webhook_url (so the secret can stay out of the file); the
 *   file's value is used only when the variable is unset or empty.
 *
 * Errors are "file:line: key 'section.key': what" (unknown keys: "file:line:
 * unknown key 'x' in section 'y'"); nothing here exits or logs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ctl_config.h"
#include "wr_common.h"
#include "wr_yaml.h"

#define CTL_ENV_WEBHOOK "WEIR_SLACK_WEBHOOK"

struct cf_ctx {
	const char *name;            /* file name for messages */
	char *dir;                   /* directory of the file; NULL = current */
	char *err;
	size_t errlen;
};

struct cf_key;
typedef int (*cf_parse_fn)(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			   const struct wr_yaml_node *v, void *base);

struct cf_type {
	const char *name;            /* shown in the reference */
	cf_parse_fn parse;
};

struct cf_table {
	const char *name;
	const struct cf_key *keys;
	size_t n;
	/* For a list of maps: element size, offset of the uint32_t count, capacity. */
	size_t elem_size;
	size_t count_off;
	uint32_t max;
	/* Called after each element (list) or the section; fills derived defaults. */
	int (*post)(struct cf_ctx *cx, void *base, size_t idx, const char *path, unsigned line);
};

struct cf_key {
	const char *key;
	const struct cf_type *type;
	size_t off;                  /* field in the struct the table describes */
	size_t off2;                 /* second field (count of a list value) */
	unsigned width;              /* bytes of an integer field */
	const char *def;             /* default as text; NULL = none */
	int64_t min, max;            /* integer bounds, or durations in us */
	const char *doc;
	const struct cf_table *sub;  /* section or list of maps */
	bool required;
	const char *example;         /* reference value for keys without a default */
	const char *const *choices;  /* enum values, NULL-terminated */
	bool ref_off;                /* reference: print commented out (an optional example) */
};

static void cf_err(struct cf_ctx *cx, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cf_err(struct cf_ctx *cx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wr_verr_at(cx->err, cx->errlen, cx->name, line, fmt, ap);
	va_end(ap);
}

static const char *kind_name(enum wr_yaml_kind k)
{
	return k == WR_YAML_SCALAR ? "a scalar" : k == WR_YAML_SEQ ? "a list" : "a map";
}

static const char *want_scalar(struct cf_ctx *cx, const char *path,
			       const struct wr_yaml_node *v)
{
	if (v->kind == WR_YAML_SCALAR)
		return v->scalar;
	cf_err(cx, v->line, "key '%s': want a scalar, got %s", path, kind_name(v->kind));
	return NULL;
}

static void *field(void *base, size_t off)
{
	return (char *)base + off;
}

/* Replace the string at @slot (freeing the old one). */
static int set_string(struct cf_ctx *cx, unsigned line, char **slot, const char *s)
{
	char *d = strdup(s);
	if (!d) {
		cf_err(cx, line, "out of memory");
		return -ENOMEM;
	}
	free(*slot);
	*slot = d;
	return 0;
}

/* ---- scalar types ---- */

static int parse_uint(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	uint64_t x;
	if (!wr_parse_u64(s, &x)) {
		cf_err(cx, v->line, "key '%s': '%s' is not an unsigned integer", path, s);
		return -EINVAL;
	}
	if (x < (uint64_t)k->min || x > (uint64_t)k->max) {
		cf_err(cx, v->line, "key '%s': value %s out of range [%lld, %lld]", path, s,
		       (long long)k->min, (long long)k->max);
		return -EINVAL;
	}
	void *p = field(base, k->off);
	switch (k->width) {
	case 2: *(uint16_t *)p = (uint16_t)x; break;
	case 4: *(uint32_t *)p = (uint32_t)x; break;
	default: *(uint64_t *)p = x; break;
	}
	return 0;
}

/* A CPU number 0..max, or "main": the main lcore's CPU (stored as -1). */
static int parse_cpu(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		     const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	int32_t *p = field(base, k->off);
	uint64_t x;
	if (!strcmp(s, "main")) {
		*p = -1;
		return 0;
	}
	if (!wr_parse_u64(s, &x) || x > (uint64_t)k->max) {
		cf_err(cx, v->line, "key '%s': '%s' is not a CPU number 0..%lld or \"main\"", path, s,
		       (long long)k->max);
		return -EINVAL;
	}
	*p = (int32_t)x;
	return 0;
}

static int parse_bool(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	bool *p = field(base, k->off);
	/* YAML 1.2 core booleans only: "yes"/"on" are too easy to mean something else. */
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*p = true;
	else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		*p = false;
	else {
		cf_err(cx, v->line, "key '%s': '%s' is not a boolean (want true or false)", path, s);
		return -EINVAL;
	}
	return 0;
}

/* "5s", "1m", "250ms": the largest unit that divides @us exactly. */
static void fmt_duration(int64_t us, char *buf, size_t len)
{
	static const struct { int64_t div; const char *unit; } units[] = {
		{ 86400 * WR_US_PER_SEC, "d" }, { 3600 * WR_US_PER_SEC, "h" },
		{ WR_US_PER_MIN, "m" }, { WR_US_PER_SEC, "s" }, { WR_US_PER_MS, "ms" },
	};
	if (us == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < WR_ARRAY_SIZE(units); i++) {
		if (us % units[i].div == 0) {
			snprintf(buf, len, "%lld%s", (long long)(us / units[i].div), units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%lldus", (long long)us);
}

static int parse_duration(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			  const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	int64_t us;
	if (wr_parse_duration(s, &us)) {
		cf_err(cx, v->line, "key '%s': '%s' is not a duration (want e.g. 250ms, 5s, 1m, 2h)",
		       path, s);
		return -EINVAL;
	}
	if (us < k->min || us > k->max) {
		char lo[32], hi[32];
		fmt_duration(k->min, lo, sizeof(lo));
		fmt_duration(k->max, hi, sizeof(hi));
		cf_err(cx, v->line, "key '%s': value %s out of range [%s, %s]", path, s, lo, hi);
		return -EINVAL;
	}
	*(int64_t *)field(base, k->off) = us;
	return 0;
}

static int parse_string(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!*s) {
		cf_err(cx, v->line, "key '%s': empty string", path);
		return -EINVAL;
	}
	return set_string(cx, v->line, field(base, k->off), s);
}

static int parse_enum(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	for (const char *const *c = k->choices; *c; c++)
		if (!strcmp(s, *c))
			return set_string(cx, v->line, field(base, k->off), s);
	char want[128];
	size_t pos = 0;
	want[0] = '\0';
	for (const char *const *c = k->choices; *c && pos < sizeof(want); c++) {
		int n = snprintf(want + pos, sizeof(want) - pos, "%s%s", pos ? ", " : "", *c);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	cf_err(cx, v->line, "key '%s': bad value '%s' (want one of %s)", path, s, want);
	return -EINVAL;
}

/* Join @p to the config's directory unless it is absolute (or stdout). */
static int resolve_path(struct cf_ctx *cx, unsigned line, char **slot, const char *p)
{
	if (p[0] == '/' || !cx->dir || !strcmp(p, "-"))
		return set_string(cx, line, slot, p);
	size_t dl = strlen(cx->dir);
	bool slash = dl && cx->dir[dl - 1] == '/';
	char *d = NULL;
	if (asprintf(&d, "%s%s%s", cx->dir, slash ? "" : "/", p) < 0) {
		cf_err(cx, line, "out of memory");
		return -ENOMEM;
	}
	free(*slot);
	*slot = d;
	return 0;
}

static int parse_path(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!*s || !strcmp(s, "-")) {
		cf_err(cx, v->line, "key '%s': want a file path, got '%s'", path, s);
		return -EINVAL;
	}
	return resolve_path(cx, v->line, field(base, k->off), s);
}

/* A path, or "-" for stdout. */
static int parse_output(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!*s) {
		cf_err(cx, v->line, "key '%s': empty path (omit the key to turn the output off)",
		       path);
		return -EINVAL;
	}
	return resolve_path(cx, v->line, field(base, k->off), s);
}

/* The URL is a secret: messages describe it, they never quote it. */
static bool webhook_ok(const char *s)
{
	size_t pl;
	if (!strncmp(s, "https://", 8))
		pl = 8;
	else if (!strncmp(s, "http://", 7))
		pl = 7;
	else
		return false;
	if (!s[pl])
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int parse_secret_url(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			    const struct wr_yaml_node *v, void *base)
{
	if (v->kind != WR_YAML_SCALAR) {
		cf_err(cx, v->line, "key '%s': want a scalar, got %s", path, kind_name(v->kind));
		return -EINVAL;
	}
	if (!webhook_ok(v->scalar)) {
		cf_err(cx, v->line, "key '%s': not an http(s) URL without spaces "
		       "(value not shown: it is a secret)", path);
		return -EINVAL;
	}
	return set_string(cx, v->line, field(base, k->off), v->scalar);
}

/* "UTC", "Z", "+hh:mm", "-hh:mm" into seconds east of UTC. */
static bool tz_parse(const char *s, int32_t *out)
{
	if (!strcmp(s, "UTC") || !strcmp(s, "Z")) {
		*out = 0;
		return true;
	}
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
		return false;
	for (int i = 1; i < 6; i++)
		if (i != 3 && (s[i] < '0' || s[i] > '9'))
			return false;
	int hh = (s[1] - '0') * 10 + (s[2] - '0');
	int mm = (s[4] - '0') * 10 + (s[5] - '0');
	if (mm > 59 || hh * 60 + mm > 18 * 60)
		return false;
	int32_t off = (hh * 60 + mm) * 60;
	*out = s[0] == '-' ? -off : off;
	return true;
}

static int parse_tz(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		    const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!tz_parse(s, field(base, k->off))) {
		cf_err(cx, v->line, "key '%s': bad time zone '%s' (want UTC, Z, +hh:mm or -hh:mm "
		       "up to 18:00; IANA names are not supported yet)", path, s);
		return -EINVAL;
	}
	return 0;
}

/* "a.b.c.d[/n]" or "x::y[/n]"; a missing prefix means a single host. */
static bool addr_parse(const char *s, bool v6, uint8_t *addr, uint8_t *prefix)
{
	char buf[64];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	unsigned maxp = v6 ? 128 : 32;
	unsigned p = maxp;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		uint64_t x;
		if (!wr_parse_u64(slash + 1, &x) || x > maxp || strlen(slash + 1) > 3)
			return false;
		p = (unsigned)x;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) != 1)
		return false;
	*prefix = (uint8_t)p;
	return true;
}

/* A port's own address: IPv4 (@v6 false) or IPv6. */
static int port_addr(struct cf_ctx *cx, const char *path, const struct wr_yaml_node *v,
		     struct ctl_port_cfg *pc, bool v6)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!addr_parse(s, v6, v6 ? pc->ipv6 : pc->ipv4, v6 ? &pc->ipv6_prefix : &pc->ipv4_prefix)) {
		cf_err(cx, v->line, "key '%s': bad IPv%c address '%s' (want %s/len)", path,
		       v6 ? '6' : '4', s, v6 ? "x:y::z" : "a.b.c.d");
		return -EINVAL;
	}
	*(v6 ? &pc->has_ipv6 : &pc->has_ipv4) = true;
	return 0;
}

static int parse_port_ipv4(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			   const struct wr_yaml_node *v, void *base)
{
	(void)k;
	return port_addr(cx, path, v, base, false);
}

static int parse_port_ipv6(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			   const struct wr_yaml_node *v, void *base)
{
	(void)k;
	return port_addr(cx, path, v, base, true);
}

/* Source prefix; host bits are cleared so matching is a plain compare. */
static int parse_source_match(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			      const struct wr_yaml_node *v, void *base)
{
	(void)k;
	struct ctl_source_cfg *sc = base;
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	sc->is_v6 = strchr(s, ':') != NULL;
	memset(sc->addr, 0, sizeof(sc->addr));
	if (!addr_parse(s, sc->is_v6, sc->addr, &sc->prefix)) {
		cf_err(cx, v->line, "key '%s': bad address prefix '%s' (want 10.0.0.0/8 or "
		       "2001:db8::/32)", path, s);
		return -EINVAL;
	}
	for (unsigned bit = sc->prefix; bit < 128; bit++)
		sc->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

/* One port number or a list of them, each 1..65535, no repeats. */
static int parse_udp_ports(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			   const struct wr_yaml_node *v, void *base)
{
	uint16_t *ports = field(base, k->off);
	uint32_t *count = field(base, k->off2);
	size_t n = v->kind == WR_YAML_SEQ ? v->n : 1;
	if (v->kind == WR_YAML_MAP) {
		cf_err(cx, v->line, "key '%s': want a port or a list of ports, got a map", path);
		return -EINVAL;
	}
	if (n == 0 || n > CTL_MAX_UDP_PORTS) {
		cf_err(cx, v->line, "key '%s': want 1 to %d ports, got %zu", path,
		       CTL_MAX_UDP_PORTS, n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct wr_yaml_node *it = v->kind == WR_YAML_SEQ ? v->items[i] : v;
		const char *s = want_scalar(cx, path, it);
		uint64_t x;
		if (!s)
			return -EINVAL;
		if (!wr_parse_u64(s, &x) || x < (uint64_t)k->min || x > (uint64_t)k->max) {
			cf_err(cx, it->line, "key '%s': port '%s' out of range [%lld, %lld]", path, s,
			       (long long)k->min, (long long)k->max);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (ports[j] == x) {
				cf_err(cx, it->line, "key '%s': port %s listed twice", path, s);
				return -EINVAL;
			}
		}
		ports[i] = (uint16_t)x;
	}
	*count = (uint32_t)n;
	return 0;
}

/* A list of distinct names (or one string split on spaces): funnel steps. */
/*
 * The words of @v, which is either one string split at any byte of @seps or
 * a list of strings (one word each, so a word may hold a separator). At most
 * @max words go to @words (with their lines in @lines); *@copy owns the
 * split string, and the caller frees it. A map, a list item that is not a
 * string, or more than @max words is reported in @cx naming @path (@noun
 * says what the words are, e.g. "names"). Returns the count, -EINVAL, or
 * -ENOMEM.
 */
static long cf_words(struct cf_ctx *cx, const char *path, const struct wr_yaml_node *v,
		     const char *seps, size_t max, const char *noun, const char **words,
		     unsigned *lines, char **copy)
{
	size_t n = 0;
	*copy = NULL;
	if (v->kind == WR_YAML_MAP) {
		cf_err(cx, v->line, "key '%s': want a string or a list of %s, got a map", path, noun);
		return -EINVAL;
	}
	if (v->kind == WR_YAML_SCALAR) {
		*copy = strdup(v->scalar);
		if (!*copy) {
			cf_err(cx, v->line, "out of memory");
			return -ENOMEM;
		}
		char *save = NULL;
		for (char *w = strtok_r(*copy, seps, &save); w; w = strtok_r(NULL, seps, &save)) {
			if (n == max)
				goto too_many;
			lines[n] = v->line;
			words[n++] = w;
		}
		return (long)n;
	}
	for (size_t i = 0; i < v->n; i++) {
		const char *w = want_scalar(cx, path, v->items[i]);
		if (!w)
			return -EINVAL;
		if (n == max)
			goto too_many;
		lines[n] = v->items[i]->line;
		words[n++] = w;
	}
	return (long)n;
too_many:
	cf_err(cx, v->line, "key '%s': more than %zu %s", path, max, noun);
	return -EINVAL;
}

static int parse_name_list(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			   const struct wr_yaml_node *v, void *base)
{
	char **names = field(base, k->off);
	uint32_t *count = field(base, k->off2);
	/* Sized for the longest name list (fraud.features); k->max never exceeds it. */
	_Static_assert(CTL_MAX_FRAUD_FEATURES >= CTL_MAX_FUNNEL_STEPS, "name list buffer");
	const char *items[CTL_MAX_FRAUD_FEATURES];
	unsigned lines[CTL_MAX_FRAUD_FEATURES];
	char *copy = NULL;
	int rc = -EINVAL;
	long got = cf_words(cx, path, v, " \t,", (size_t)k->max, "names", items, lines, &copy);
	if (got < 0) {
		rc = (int)got;
		goto out;
	}
	size_t n = (size_t)got;
	if (n < (size_t)k->min) {
		cf_err(cx, v->line, "key '%s': want at least %lld name(s)", path, (long long)k->min);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!*items[i] || strlen(items[i]) > 63) {
			cf_err(cx, lines[i], "key '%s': name '%s' must have 1 to 63 characters", path,
			       items[i]);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(items[i], items[j])) {
				cf_err(cx, lines[i], "key '%s': '%s' listed twice", path, items[i]);
				goto out;
			}
	}
	for (uint32_t i = 0; i < *count; i++) {
		free(names[i]);
		names[i] = NULL;
	}
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		names[i] = strdup(items[i]);
		if (!names[i]) {
			rc = -ENOMEM;
			goto out;
		}
		*count = (uint32_t)i + 1;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* EAL arguments: one string split on spaces, or a list (for arguments with spaces). */
static int parse_eal_args(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			  const struct wr_yaml_node *v, void *base)
{
	char **argv = field(base, k->off);
	int *argc = field(base, k->off2);
	const char *words[CTL_MAX_EAL_ARGS];
	unsigned lines[CTL_MAX_EAL_ARGS];
	char *copy = NULL;
	int rc = -EINVAL;
	const size_t max = CTL_MAX_EAL_ARGS - 2; /* argv[0] and the NULL end */
	long got = cf_words(cx, path, v, " \t", max, "arguments", words, lines, &copy);
	if (got < 0) {
		rc = (int)got;
		goto out;
	}
	size_t nw = (size_t)got;
	for (size_t i = 0; i < nw; i++)
		if (!*words[i]) {
			cf_err(cx, lines[i], "key '%s': empty argument", path);
			goto out;
		}
	for (int i = 0; i < *argc; i++) {
		free(argv[i]);
		argv[i] = NULL;
	}
	*argc = 0;
	argv[0] = strdup("weir");
	if (!argv[0])
		goto nomem;
	*argc = 1;
	for (size_t i = 0; i < nw; i++) {
		argv[i + 1] = strdup(words[i]);
		if (!argv[i + 1])
			goto nomem;
		*argc = (int)i + 2;
	}
	argv[*argc] = NULL;
	rc = 0;
	goto out;
nomem:
	cf_err(cx, v->line, "out of memory");
	rc = -ENOMEM;
out:
	free(copy);
	return rc;
}

/* Kafka's own rule for topic names, so a typo fails at load, not at the first produce. */
static bool kafka_topic_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 249 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static int parse_kafka_topic(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			     const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!kafka_topic_ok(s)) {
		cf_err(cx, v->line, "key '%s': bad Kafka topic name '%s' (want 1 to 249 of "
		       "A-Z a-z 0-9 . _ -)", path, s);
		return -EINVAL;
	}
	return set_string(cx, v->line, field(base, k->off), s);
}

static int parse_kafka_format(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			      const struct wr_yaml_node *v, void *base)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "syslog")) {
		*(int *)field(base, k->off) = CTL_KAFKA_FMT_SYSLOG;
		return 0;
	}
	if (!strcmp(s, "click")) {
		*(int *)field(base, k->off) = CTL_KAFKA_FMT_CLICK;
		return 0;
	}
	if (!strcmp(s, "txn")) {
		*(int *)field(base, k->off) = CTL_KAFKA_FMT_TXN;
		return 0;
	}
	cf_err(cx, v->line, "key '%s': format '%s' is not supported (want syslog, click or txn)",
	       path, s);
	return -EINVAL;
}

/*
 * A map of librdkafka properties, stored as {name, value} pairs. Each pair
 * is applied to a scratch conf so librdkafka itself judges names and values
 * (its tables change between versions; a copy of them here would go stale).
 */
static int parse_kafka_props(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			     const struct wr_yaml_node *v, void *base)
{
	char *(*props)[2] = field(base, k->off);
	uint32_t *count = field(base, k->off2);
	if (v->kind == WR_YAML_SCALAR && !v->scalar[0])
		return 0;
	if (v->kind != WR_YAML_MAP) {
		cf_err(cx, v->line, "key '%s': want a map of librdkafka properties, got %s", path,
		       kind_name(v->kind));
		return -EINVAL;
	}
	if (v->n > CTL_MAX_KAFKA_PROPS) {
		cf_err(cx, v->key_lines[CTL_MAX_KAFKA_PROPS], "key '%s': more than %d properties",
		       path, CTL_MAX_KAFKA_PROPS);
		return -EINVAL;
	}
	rd_kafka_conf_t *scratch = rd_kafka_conf_new();
	if (!scratch) {
		cf_err(cx, v->line, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < v->n && !rc; i++) {
		const char *name = v->keys[i];
		const struct wr_yaml_node *val = v->items[i];
		unsigned line = v->key_lines[i];
		if (!strcmp(name, "bootstrap.servers") || !strcmp(name, "metadata.broker.list") ||
		    !strcmp(name, "group.id")) {
			cf_err(cx, line, "key '%s': property '%s' is set by kafka.%s, not here", path,
			       name, strcmp(name, "group.id") ? "brokers" : "group_id");
			rc = -EINVAL;
			break;
		}
		if (val->kind != WR_YAML_SCALAR) {
			cf_err(cx, val->line, "key '%s': property '%s': want a scalar, got %s", path,
			       name, kind_name(val->kind));
			rc = -EINVAL;
			break;
		}
		char why[512];
		if (rd_kafka_conf_set(scratch, name, val->scalar, why, sizeof(why)) !=
		    RD_KAFKA_CONF_OK) {
			cf_err(cx, line, "key '%s': property '%s': librdkafka: %s", path, name, why);
			rc = -EINVAL;
			break;
		}
		char *n = strdup(name), *x = strdup(val->scalar);
		if (!n || !x) {
			free(n);
			free(x);
			cf_err(cx, line, "out of memory");
			rc = -ENOMEM;
			break;
		}
		props[*count][0] = n;
		props[*count][1] = x;
		(*count)++;
	}
	rd_kafka_conf_destroy(scratch);
	return rc;
}

static int apply_table(struct cf_ctx *cx, const struct cf_table *t, const struct wr_yaml_node *m,
		       void *base, const char *path, unsigned line);

static int parse_section(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			 const struct wr_yaml_node *v, void *base)
{
	/* "section:" with nothing after it is an empty section. */
	if (v->kind == WR_YAML_SCALAR && !v->scalar[0])
		return apply_table(cx, k->sub, NULL, base, path, v->line);
	if (v->kind != WR_YAML_MAP) {
		cf_err(cx, v->line, "section '%s': want a map, got %s", path, kind_name(v->kind));
		return -EINVAL;
	}
	return apply_table(cx, k->sub, v, base, path, v->line);
}

static int parse_list(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	const struct cf_table *t = k->sub;
	uint32_t *count = field(base, t->count_off);
	if (v->kind == WR_YAML_SCALAR && !v->scalar[0])
		return 0;
	if (v->kind != WR_YAML_SEQ) {
		cf_err(cx, v->line, "key '%s': want a list of maps, got %s", path,
		       kind_name(v->kind));
		return -EINVAL;
	}
	if (v->n > t->max) {
		cf_err(cx, v->items[t->max]->line, "key '%s': more than %u entries", path, t->max);
		return -EINVAL;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct wr_yaml_node *it = v->items[i];
		char ipath[128];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (it->kind != WR_YAML_MAP) {
			cf_err(cx, it->line, "key '%s': want a map, got %s", ipath,
			       kind_name(it->kind));
			return -EINVAL;
		}
		void *elem = field(base, k->off + i * t->elem_size);
		/* Count first, so destroy frees what a failed element allocated. */
		*count = (uint32_t)i + 1;
		int rc = apply_table(cx, t, it, elem, ipath, it->line);
		if (rc)
			return rc;
		if (t->post && (rc = t->post(cx, elem, i, ipath, it->line)))
			return rc;
	}
	return 0;
}

/* A finite decimal number within [lo, hi]; the bounds are named in the error. */
static int parse_double_in(struct cf_ctx *cx, const char *path, const struct wr_yaml_node *v,
			   double lo, double hi, double *out)
{
	const char *s = want_scalar(cx, path, v);
	if (!s)
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	double x = strtod(s, &end);
	if (!*s || end == s || *end || errno || !isfinite(x)) {
		cf_err(cx, v->line, "key '%s': '%s' is not a finite number", path, s);
		return -EINVAL;
	}
	if (x < lo || x > hi) {
		cf_err(cx, v->line, "key '%s': value %s out of range [%g, %g]", path, s, lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int parse_prob(struct cf_ctx *cx, const struct cf_key *k, const char *path,
		      const struct wr_yaml_node *v, void *base)
{
	return parse_double_in(cx, path, v, 0.0, 1.0, field(base, k->off));
}

static int parse_amount(struct cf_ctx *cx, const struct cf_key *k, const char *path,
			const struct wr_yaml_node *v, void *base)
{
	return parse_double_in(cx, path, v, 0.01, 9e12, field(base, k->off));
}

static const struct cf_type t_uint = { "uint", parse_uint };
static const struct cf_type t_prob = { "number in [0, 1]", parse_prob };
static const struct cf_type t_amount = { "number in [0.01, 9e12]", parse_amount };
static const struct cf_type t_bool = { "bool", parse_bool };
static const struct cf_type t_duration = { "duration", parse_duration };
static const struct cf_type t_string = { "string", parse_string };
static const struct cf_type t_enum = { "enum", parse_enum };
static const struct cf_type t_path = { "path", parse_path };
static const struct cf_type t_output = { "path or \"-\" (stdout)", parse_output };
static const struct cf_type t_secret = { "secret URL", parse_secret_url };
static const struct cf_type t_tz = { "time zone", parse_tz };
static const struct cf_type t_ipv4 = { "IPv4 address/prefix", parse_port_ipv4 };
static const struct cf_type t_ipv6 = { "IPv6 address/prefix", parse_port_ipv6 };
static const struct cf_type t_cpu = { "CPU number, or main", parse_cpu };
static const struct cf_type t_prefix = { "IPv4 or IPv6 prefix", parse_source_match };
static const struct cf_type t_udp_ports = { "port list", parse_udp_ports };
static const struct cf_type t_eal_args = { "argument list", parse_eal_args };
static const struct cf_type t_names = { "list of names", parse_name_list };
static const struct cf_type t_section = { "section", parse_section };
static const struct cf_type t_list = { "list", parse_list };
static const struct cf_type t_kafka_topic = { "Kafka topic", parse_kafka_topic };
static const struct cf_type t_kafka_format = { "enum, one of syslog, click, txn",
						parse_kafka_format };
static const struct cf_type t_kafka_props = { "map of librdkafka properties",
					      parse_kafka_props };

/* ---- the tables ---- */

#define FSIZE(st, m) ((unsigned)sizeof(((st *)0)->m))
#define K_UINT(k, st, m, d, lo, hi, doc_) \
	{ .key = k, .type = &t_uint, .off = offsetof(st, m), .width = FSIZE(st, m), \
	  .def = d, .min = lo, .max = hi, .doc = doc_ }
#define K_DUR(k, st, m, d, lo, hi, doc_) \
	{ .key = k, .type = &t_duration, .off = offsetof(st, m), .def = d, .min = lo, \
	  .max = hi, .doc = doc_ }
#define K_BOOL(k, st, m, d, doc_) \
	{ .key = k, .type = &t_bool, .off = offsetof(st, m), .def = d, .doc = doc_ }
#define K_SECTION(k, tab, doc_) { .key = k, .type = &t_section, .sub = &tab, .doc = doc_ }

#define SEC(x) ((int64_t)(x) * WR_US_PER_SEC)
#define MS(x) ((int64_t)(x) * WR_US_PER_MS)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct cf_key eal_keys[] = {
	{ .key = "args", .type = &t_eal_args, .off = offsetof(struct ctl_config, eal_argv),
	  .off2 = offsetof(struct ctl_config, eal_argc), .def = "-l 0-1 --in-memory",
	  .doc = "DPDK EAL arguments: one string split on spaces, or a list (use a list "
		 "when an argument contains spaces). weir adds argv[0] itself." },
};

static int port_post(struct cf_ctx *cx, void *base, size_t idx, const char *path, unsigned line)
{
	(void)path;
	struct ctl_port_cfg *pc = base;
	if (pc->name)
		return 0;
	if (asprintf(&pc->name, "port%zu", idx) < 0) {
		pc->name = NULL;
		cf_err(cx, line, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const struct cf_key port_keys[] = {
	{ .key = "name", .type = &t_string, .off = offsetof(struct ctl_port_cfg, name),
	  .example = "p0", .doc = "Name used in logs and counters; unique. Default \"port<index>\"." },
	{ .key = "device", .type = &t_string, .off = offsetof(struct ctl_port_cfg, devargs),
	  .required = true, .example = "net_pcap0,rx_pcap=traffic.pcap",
	  .doc = "DPDK device: vdev arguments (\"net_pcap0,rx_pcap=x.pcap\") or a PCI "
		 "address (\"0000:3b:00.0\")." },
	K_UINT("rx_queues", struct ctl_port_cfg, rx_queues, "1", 1, 64,
	       "Receive queues (RSS spreads flows over them; one worker each)."),
	K_UINT("rx_desc", struct ctl_port_cfg, rx_desc, "1024", 64, 16384,
	       "Receive descriptors per queue (drivers may want a power of two)."),
	K_UINT("tx_desc", struct ctl_port_cfg, tx_desc, "1024", 64, 16384,
	       "Transmit descriptors per queue (ARP/ND replies)."),
	{ .key = "ipv4", .type = &t_ipv4, .example = "192.0.2.10/24",
	  .doc = "IPv4 address/prefix of this port; a bare address means /32. Default none." },
	{ .key = "ipv6", .type = &t_ipv6, .example = "2001:db8::10/64",
	  .doc = "IPv6 address/prefix of this port; a bare address means /128. Default none." },
	K_BOOL("promiscuous", struct ctl_port_cfg, promiscuous, "false",
	       "Receive frames for any MAC address."),
	K_BOOL("accept_any_dst", struct ctl_port_cfg, accept_any_dst, "false",
	       "Accept syslog UDP sent to any IP address (for replayed captures)."),
};
static const struct cf_table port_table = {
	"ports[]", port_keys, WR_ARRAY_SIZE(port_keys), sizeof(struct ctl_port_cfg),
	offsetof(struct ctl_config, n_ports), CTL_MAX_PORTS, port_post,
};

static const struct cf_key source_keys[] = {
	{ .key = "match", .type = &t_prefix, .required = true, .example = "10.0.0.0/8",
	  .doc = "Sender address prefix (IPv4 or IPv6); the longest matching prefix wins." },
	{ .key = "timezone", .type = &t_tz, .off = offsetof(struct ctl_source_cfg, tz_offset_s),
	  .required = true, .example = "-05:00",
	  .doc = "Zone for this sender's timestamps that carry none (RFC 3164)." },
};
static const struct cf_table source_table = {
	"syslog.sources[]", source_keys, WR_ARRAY_SIZE(source_keys),
	sizeof(struct ctl_source_cfg), offsetof(struct ctl_config, n_sources), CTL_MAX_SOURCES,
	NULL,
};

static const struct cf_key syslog_keys[] = {
	{ .key = "ports", .type = &t_udp_ports, .off = offsetof(struct ctl_config, syslog_ports),
	  .off2 = offsetof(struct ctl_config, n_syslog_ports), .def = "514", .min = 1,
	  .max = 65535, .doc = "UDP destination ports carrying syslog: one port or a list." },
	K_UINT("max_length", struct ctl_config, syslog_max_len, "65000", 480, 65535,
	       "Longest message accepted, bytes; longer ones are rejected and counted "
	       "(syslog_oversize)."),
	{ .key = "timezone", .type = &t_tz, .off = offsetof(struct ctl_config, default_tz_offset_s),
	  .def = "UTC",
	  .doc = "Zone for timestamps that carry none: UTC, Z, +hh:mm or -hh:mm "
		 "(IANA names are not supported yet)." },
	{ .key = "sources", .type = &t_list, .off = offsetof(struct ctl_config, sources),
	  .sub = &source_table, .doc = "Per-sender settings, matched by address prefix." },
};

static const struct cf_key clickstream_keys[] = {
	{ .key = "ports", .type = &t_udp_ports, .off = offsetof(struct ctl_config, click_ports),
	  .off2 = offsetof(struct ctl_config, n_click_ports), .min = 1, .max = 65535,
	  .example = "5140",
	  .doc = "UDP destination ports carrying JSON clickstream events. Default none." },
	{ .key = "user_field", .type = &t_string, .off = offsetof(struct ctl_config, click_field_user),
	  .def = "user_id", .doc = "JSON key of the user id." },
	{ .key = "ts_field", .type = &t_string, .off = offsetof(struct ctl_config, click_field_ts),
	  .def = "ts", .doc = "JSON key of the event time (RFC 3339 or epoch milliseconds)." },
	{ .key = "type_field", .type = &t_string, .off = offsetof(struct ctl_config, click_field_type),
	  .def = "type", .doc = "JSON key of the event type." },
	{ .key = "page_field", .type = &t_string, .off = offsetof(struct ctl_config, click_field_page),
	  .def = "page", .doc = "JSON key of the page." },
	{ .key = "page_view_type", .type = &t_string,
	  .off = offsetof(struct ctl_config, page_view_type), .def = "page_view",
	  .doc = "Event type counted as a page view." },
	K_DUR("gap", struct ctl_config, session_gap_us, "30m", SEC(1), SEC(86400),
	      "Inactivity that ends a session."),
	K_DUR("max_length", struct ctl_config, session_max_len_us, "12h", 0, SEC(7 * 86400),
	      "Longest session; a longer one is split (runaway bots). 0 = no limit."),
	{ .key = "funnel", .type = &t_names, .off = offsetof(struct ctl_config, funnel_steps),
	  .off2 = offsetof(struct ctl_config, n_funnel_steps), .min = 1,
	  .max = CTL_MAX_FUNNEL_STEPS, .def = "product_view add_to_cart checkout purchase",
	  .doc = "Ordered funnel steps (event types); a session reaches the longest prefix it "
		 "saw in order." },
	K_UINT("users", struct ctl_config, session_users, "1048576", 1024, 1u << 26,
	       "Users with open sessions per worker (table sized at start)."),
	K_UINT("sessions", struct ctl_config, session_slots, "0", 0, 1u << 27,
	       "Open sessions per worker, shared by all users; 0 = as many as users."),
};

static const struct cf_key redis_keys[] = {
	{ .key = "host", .type = &t_string, .off = offsetof(struct ctl_config, redis_host),
	  .example = "127.0.0.1",
	  .doc = "Redis feature store address (IPv4/IPv6; a name is resolved at each connect). "
		 "Default none: store features are always missing (not counted as degraded)." },
	K_UINT("port", struct ctl_config, redis_port, "6379", 1, 65535, "Redis TCP port."),
	{ .key = "unix", .type = &t_path, .off = offsetof(struct ctl_config, redis_unix),
	  .example = "/run/redis/redis.sock", .ref_off = true,
	  .doc = "Unix socket of the feature store, instead of host/port." },
	{ .key = "key_prefix", .type = &t_string,
	  .off = offsetof(struct ctl_config, redis_key_prefix), .def = "user:",
	  .doc = "A user's features live in the hash <key_prefix><user id>." },
	K_DUR("deadline", struct ctl_config, redis_deadline_us, "2ms", 100, SEC(1),
	      "Longest wait for a lookup; past it the transaction is scored without the "
	      "missing store features and marked degraded."),
	K_BOOL("write_back", struct ctl_config, redis_write_back, "true",
	       "After each decision, HSET the user's in-stream aggregates (txn_count_1h, "
	       "amount_sum_1h, txn_count_24h, amount_sum_24h, last_txn_ts) into the same hash."),
	K_UINT("cache", struct ctl_config, redis_cache_entries, "65536", 0, 16777216,
	       "Users whose store features are kept in a client-side cache that Redis keeps "
	       "exact (CLIENT TRACKING with a second connection for the invalidations; Redis 6 "
	       "or later): a batch whose users are all held needs no round trip. Values are "
	       "served only while both connections are up; a change by any other client drops "
	       "the user's entry. 0 = off."),
};
static const struct cf_table redis_table = { "fraud.redis", redis_keys,
					     WR_ARRAY_SIZE(redis_keys), 0, 0, 0, NULL };

static const struct cf_key fraud_keys[] = {
	{ .key = "ports", .type = &t_udp_ports, .off = offsetof(struct ctl_config, txn_ports),
	  .off2 = offsetof(struct ctl_config, n_txn_ports), .min = 1, .max = 65535,
	  .example = "7000",
	  .doc = "UDP destination ports carrying JSON transactions; each is answered with a "
		 "UDP reply to its sender. Default none." },
	{ .key = "model", .type = &t_path, .off = offsetof(struct ctl_config, fraud_model),
	  .example = "models/fraud_model.json",
	  .doc = "XGBoost JSON model (binary:logistic), relative to this file. Required when "
		 "fraud.ports or a Kafka topic of format txn is set." },
	{ .key = "shadow_model", .type = &t_path,
	  .off = offsetof(struct ctl_config, fraud_shadow_model), .example = "models/next.json",
	  .ref_off = true,
	  .doc = "A second model scored alongside (its score and decision are logged in the "
		 "audit record), never deciding. Default none." },
	{ .key = "samples", .type = &t_path, .off = offsetof(struct ctl_config, fraud_samples),
	  .example = "models/fraud_samples.csv",
	  .doc = "Predictions recorded at export (feature columns + xgb_prob); the model must "
		 "reproduce them at load. Its rows also feed the check against XGBoost's C API. "
		 "Default none." },
	{ .key = "features", .type = &t_names, .off = offsetof(struct ctl_config, fraud_features),
	  .off2 = offsetof(struct ctl_config, n_fraud_features), .min = 1,
	  .max = CTL_MAX_FRAUD_FEATURES,
	  .example = "txn_count_1h amount_sum_1h txn_count_24h amount_sum_24h "
		     "secs_since_last_txn amount_to_avg_ratio new_country new_merchant amount "
		     "hour_of_day account_age_days chargebacks_90d",
	  .doc = "The model's feature vector, in order (checked against the model's "
		 "feature_names). In-stream: txn_count_1h, amount_sum_1h, txn_count_24h, "
		 "amount_sum_24h, secs_since_last_txn, amount_to_avg_ratio, new_country, "
		 "new_merchant; from the transaction: amount, hour_of_day; any other name is a "
		 "field of the user's hash in the feature store." },
	{ .key = "review", .type = &t_prob, .off = offsetof(struct ctl_config, fraud_review),
	  .def = "0.5", .doc = "Score at or above which a transaction is REVIEW." },
	{ .key = "block", .type = &t_prob, .off = offsetof(struct ctl_config, fraud_block),
	  .def = "0.9", .doc = "Score at or above which a transaction is BLOCK (> review)." },
	K_UINT("reasons", struct ctl_config, fraud_reasons, "3", 0, CTL_MAX_FRAUD_REASONS,
	       "Features named as reasons: those pushing the score up most."),
	K_UINT("users", struct ctl_config, fraud_users, "65536", 16, 1u << 26,
	       "Users whose in-stream features each worker keeps (about 1.3 KiB each, "
	       "reserved at start)."),
	K_DUR("disorder", struct ctl_config, fraud_disorder_us, "5m", 0, SEC(3600),
	      "How far out of order a user's transactions may arrive and still be counted "
	      "exactly in the 1 h window."),
	K_BOOL("evict", struct ctl_config, fraud_evict, "true",
	       "Full feature table: forget the least recently active user (true) or score new "
	       "users without history (false)."),
	K_UINT("queue", struct ctl_config, fraud_queue, "4096", 64, 1u << 20,
	       "Transactions in flight from each worker to the fraud thread; when full, a "
	       "transaction is answered ERROR (overloaded) at once."),
	K_BOOL("decide_on_worker", struct ctl_config, fraud_on_worker, "true",
	       "Decide a UDP transaction on the worker that owns its user, answering from that "
	       "worker's tx queue, when every feature is at hand there: no feature store, or the "
	       "user's store values in the client-side cache while it serves. The fraud thread "
	       "then only writes the audit record and the write-back. Otherwise (false, a cache "
	       "miss, or an earlier transaction of the worker's still with the fraud thread) the "
	       "fraud thread decides."),
	K_UINT("realtime_priority", struct ctl_config, fraud_rt_priority, "0", 0, 99,
	       "Run the fraud thread with real-time scheduling (SCHED_FIFO) at this priority, "
	       "1..99; 0 = normal scheduling. On a CPU shared with other work, normal scheduling "
	       "can delay the thread's wake-ups by milliseconds, which shows in the tail "
	       "latency. The thread sleeps when idle, and the kernel leaves other tasks 5 % of a "
	       "CPU even when it is busy. Needs CAP_SYS_NICE; without it weir warns and goes on."),
	{ .key = "cpu", .type = &t_cpu, .off = offsetof(struct ctl_config, fraud_cpu), .def = "main",
	  .max = 1023,
	  .doc = "CPU the fraud thread runs on: a CPU number, or main to share the main lcore's "
		 "CPU with the control thread. The design gives it a core of its own, not one of "
		 "the workers'. A CPU that cannot be used is warned about and the thread stays on "
		 "the main lcore's CPU." },
	{ .key = "txn_id_field", .type = &t_string, .off = offsetof(struct ctl_config, txn_field_id),
	  .def = "txn_id", .doc = "JSON key of the transaction id." },
	{ .key = "user_field", .type = &t_string, .off = offsetof(struct ctl_config, txn_field_user),
	  .def = "user_id", .doc = "JSON key of the user id." },
	{ .key = "amount_field", .type = &t_string,
	  .off = offsetof(struct ctl_config, txn_field_amount), .def = "amount",
	  .doc = "JSON key of the amount (a number, currency units)." },
	{ .key = "currency_field", .type = &t_string,
	  .off = offsetof(struct ctl_config, txn_field_currency), .def = "currency",
	  .doc = "JSON key of the ISO 4217 currency code." },
	{ .key = "merchant_field", .type = &t_string,
	  .off = offsetof(struct ctl_config, txn_field_merchant), .def = "merchant",
	  .doc = "JSON key of the merchant." },
	{ .key = "country_field", .type = &t_string,
	  .off = offsetof(struct ctl_config, txn_field_country), .def = "country",
	  .doc = "JSON key of the country." },
	{ .key = "ts_field", .type = &t_string, .off = offsetof(struct ctl_config, txn_field_ts),
	  .def = "ts", .doc = "JSON key of the event time (RFC 3339 or epoch milliseconds)." },
	{ .key = "max_amount", .type = &t_amount, .off = offsetof(struct ctl_config, txn_max_amount),
	  .def = "1e9", .doc = "Largest plausible amount; larger ones are answered ERROR." },
	K_SECTION("redis", redis_table, "The Redis feature store."),
};

static const struct cf_key reassembly_keys[] = {
	K_UINT("flows", struct ctl_config, frag_table_size, "4096", 16, 1u << 20,
	       "IP fragment reassembly table size (flows reassembled at once, per worker)."),
	K_DUR("timeout", struct ctl_config, frag_timeout_us, "2s", MS(100), SEC(120),
	      "Drop a datagram whose fragments did not all arrive within this time."),
};

static const struct cf_key kafka_topic_keys[] = {
	{ .key = "name", .type = &t_kafka_topic,
	  .off = offsetof(struct ctl_kafka_topic_cfg, name), .required = true,
	  .example = "logs", .doc = "Topic to read; every partition is read." },
	{ .key = "format", .type = &t_kafka_format,
	  .off = offsetof(struct ctl_kafka_topic_cfg, format), .def = "syslog",
	  .doc = "Record format. syslog: one log line per record (RFC 5424, RFC 3164 or "
		 "plain text); click: one JSON clickstream event (clickstream.*); txn: one JSON "
		 "payment transaction (fraud.*), scored and audited but not answered." },
};
static const struct cf_table kafka_topic_table = {
	"kafka.topics[]", kafka_topic_keys, WR_ARRAY_SIZE(kafka_topic_keys),
	sizeof(struct ctl_kafka_topic_cfg), offsetof(struct ctl_config, n_kafka_topics),
	CTL_MAX_KAFKA_TOPICS, NULL,
};

static const struct cf_key kafka_keys[] = {
	{ .key = "brokers", .type = &t_string, .off = offsetof(struct ctl_config, kafka_brokers),
	  .example = "127.0.0.1:9092",
	  .doc = "Bootstrap brokers, host:port[,host:port...] (bootstrap.servers). Required "
		 "when any kafka.topics entry or outputs.*.kafka topic is set." },
	{ .key = "group_id", .type = &t_string, .off = offsetof(struct ctl_config, kafka_group_id),
	  .def = "weir", .doc = "Consumer group (group.id) of the input." },
	{ .key = "topics", .type = &t_list, .off = offsetof(struct ctl_config, kafka_topics),
	  .sub = &kafka_topic_table, .ref_off = true,
	  .doc = "Input topics (up to 16). Default none: Kafka input off." },
	K_UINT("max_partitions", struct ctl_config, kafka_max_partitions, "256", 1, 65536,
	       "Input partitions weir can track (each has its own watermark), summed over "
	       "all topics."),
	K_UINT("queue", struct ctl_config, kafka_queue, "4096", 16, 1u << 20,
	       "Records in flight from the Kafka source to each worker; when a worker's queue is "
	       "full the source pauses its partitions (nothing is dropped)."),
	{ .key = "consumer", .type = &t_kafka_props,
	  .off = offsetof(struct ctl_config, kafka_consumer_props),
	  .off2 = offsetof(struct ctl_config, n_kafka_consumer_props),
	  .example = "{auto.offset.reset: earliest}",
	  .doc = "librdkafka consumer properties, passed through (checked at load time; "
		 "values of any scalar type). Not bootstrap.servers or group.id." },
	{ .key = "producer", .type = &t_kafka_props,
	  .off = offsetof(struct ctl_config, kafka_producer_props),
	  .off2 = offsetof(struct ctl_config, n_kafka_producer_props),
	  .example = "{linger.ms: 5, compression.type: lz4}",
	  .doc = "librdkafka producer properties for the Kafka outputs, passed through "
		 "after weir's defaults (enable.idempotence: true), so they win." },
};

static const struct cf_key rules_keys[] = {
	{ .key = "file", .type = &t_path, .off = offsetof(struct ctl_config, rules_file),
	  .required = true, .example = "../rules/default.yaml",
	  .doc = "Alert rules file (see rules/default.yaml), relative to this file." },
	K_DUR("default_window", struct ctl_config, default_window_us, "1m", SEC(1), SEC(86400),
	      "Window length of rules that do not set one."),
};

static const struct cf_key event_time_keys[] = {
	K_DUR("out_of_orderness", struct ctl_config, ooo_us, "5s", 0, SEC(3600),
	      "Watermark = highest event time seen minus this."),
	K_DUR("allowed_lateness", struct ctl_config, lateness_us, "0s", 0, SEC(86400),
	      "Keep a window open this long after the watermark passed it."),
	K_DUR("idle_timeout", struct ctl_config, idle_timeout_us, "30s", 0, SEC(86400),
	      "Advance the watermark by wall time after this long without events; 0 = never."),
	K_DUR("max_input_drift", struct ctl_config, max_drift_us, "0s", 0, SEC(86400),
	      "Watermark alignment: a worker whose watermark is this far ahead of the slowest "
	      "input stops reading until the others catch up (lossless for pcap and Kafka, NIC "
	      "queues may overflow); 0 = off."),
	K_DUR("max_future", struct ctl_config, max_future_us, "1h", 0, SEC(366 * 86400),
	      "An event dated further ahead of this host's clock is not trusted (a sender with a "
	      "wrong clock would drag the watermark forward and make everyone else late): a "
	      "syslog line is counted at its receive time, a click event is rejected; both "
	      "counted in events_future. 0 = off."),
	K_UINT("window_slots", struct ctl_config, window_slots, "0", 0, 1u << 29,
	       "Open windows per worker, shared by all keys (each about 830 bytes); 0 = twice "
	       "window_capacity. Large out_of_orderness keeps many windows of a key open."),
	K_UINT("window_capacity", struct ctl_config, window_capacity, "65536", 1024, 1u << 26,
	       "Open (rule, key, window) counters per worker; when full, new keys are counted "
	       "and dropped."),
};

static const struct cf_key windows_out_keys[] = {
	{ .key = "jsonl", .type = &t_output, .off = offsetof(struct ctl_config, windows_jsonl),
	  .example = "-", .doc = "Closed windows as JSON lines. \"-\" = stdout. Default off." },
	{ .key = "kafka", .type = &t_kafka_topic, .off = offsetof(struct ctl_config, windows_kafka),
	  .example = "weir-windows",
	  .doc = "Kafka topic for the same JSON lines, keyed by the record's key. Default off." },
};
static const struct cf_key alerts_out_keys[] = {
	{ .key = "jsonl", .type = &t_output, .off = offsetof(struct ctl_config, alerts_jsonl),
	  .example = "alerts.jsonl", .doc = "Alerts as JSON lines. \"-\" = stdout. Default off." },
	{ .key = "kafka", .type = &t_kafka_topic, .off = offsetof(struct ctl_config, alerts_kafka),
	  .example = "weir-alerts",
	  .doc = "Kafka topic for alerts and resolved messages (JSON, keyed by the record's "
		 "key). Default off." },
};
static const struct cf_key late_out_keys[] = {
	{ .key = "jsonl", .type = &t_output, .off = offsetof(struct ctl_config, late_jsonl),
	  .example = "late.jsonl",
	  .doc = "Events later than the allowed lateness, as JSON lines. Default off." },
	{ .key = "kafka", .type = &t_kafka_topic, .off = offsetof(struct ctl_config, late_kafka),
	  .example = "weir-late",
	  .doc = "Kafka topic for late events (JSON, keyed by the record's key). Default off." },
};
static const struct cf_key sessions_out_keys[] = {
	{ .key = "jsonl", .type = &t_output, .off = offsetof(struct ctl_config, sessions_jsonl),
	  .example = "sessions.jsonl",
	  .doc = "Every closed session (duration, page views, funnel), as JSON lines. Default off." },
	{ .key = "kafka", .type = &t_kafka_topic, .off = offsetof(struct ctl_config, sessions_kafka),
	  .example = "weir-sessions",
	  .doc = "Kafka topic for closed sessions (JSON, keyed by user id). Default off." },
};
static const struct cf_key decisions_out_keys[] = {
	{ .key = "jsonl", .type = &t_output, .off = offsetof(struct ctl_config, decisions_jsonl),
	  .example = "decisions.jsonl",
	  .doc = "Every fraud decision with its features, as JSON lines (the audit trail). "
		 "Default off." },
	{ .key = "kafka", .type = &t_kafka_topic,
	  .off = offsetof(struct ctl_config, decisions_kafka), .example = "weir-decisions",
	  .doc = "Kafka topic for the same audit records, keyed by user id. Default off." },
};
static const struct cf_key dead_letter_out_keys[] = {
	{ .key = "kafka", .type = &t_kafka_topic,
	  .off = offsetof(struct ctl_config, dead_letter_kafka), .example = "weir-dead-letter",
	  .doc = "Kafka topic for input records weir could not decode: the record as it came, "
		 "with the reason and its origin in headers. Default off (such records are "
		 "counted and dropped)." },
};
static const struct cf_key slack_keys[] = {
	{ .key = "webhook_url", .type = &t_secret,
	  .off = offsetof(struct ctl_config, slack_webhook_url),
	  .example = "https://hooks.slack.com/services/T000/B000/XXXX",
	  .doc = "Slack incoming webhook (a secret, never logged). The environment variable "
		 CTL_ENV_WEBHOOK " overrides it when set. Default off." },
	K_UINT("queue", struct ctl_config, slack_queue_len, "1024", 1, 1u << 20,
	       "Alerts waiting for delivery; more are dropped and counted."),
	K_DUR("timeout", struct ctl_config, slack_timeout_us, "5s", MS(100), SEC(300),
	      "Timeout of one HTTP request."),
	K_UINT("max_retries", struct ctl_config, slack_max_retries, "5", 0, 100,
	       "Retries after a 5xx, 429 or network error before an alert is given up."),
};

#define TABLE(nm, keys) { nm, keys, WR_ARRAY_SIZE(keys), 0, 0, 0, NULL }
static const struct cf_table eal_table = TABLE("eal", eal_keys);
static const struct cf_table clickstream_table = TABLE("clickstream", clickstream_keys);
static const struct cf_table sessions_out_table = TABLE("outputs.sessions", sessions_out_keys);
static const struct cf_table syslog_table = TABLE("syslog", syslog_keys);
static const struct cf_table reassembly_table = TABLE("reassembly", reassembly_keys);
static const struct cf_table kafka_table = TABLE("kafka", kafka_keys);
static const struct cf_table dead_letter_out_table = TABLE("outputs.dead_letter",
							   dead_letter_out_keys);
static const struct cf_table rules_table = TABLE("rules", rules_keys);
static const struct cf_table fraud_table = TABLE("fraud", fraud_keys);
static const struct cf_table decisions_out_table = TABLE("outputs.decisions", decisions_out_keys);
static const struct cf_table event_time_table = TABLE("event_time", event_time_keys);
static const struct cf_table windows_out_table = TABLE("outputs.windows", windows_out_keys);
static const struct cf_table alerts_out_table = TABLE("outputs.alerts", alerts_out_keys);
static const struct cf_table late_out_table = TABLE("outputs.late", late_out_keys);
static const struct cf_table slack_table = TABLE("outputs.slack", slack_keys);

static const struct cf_key outputs_keys[] = {
	K_SECTION("windows", windows_out_table, "Every closed window with its count."),
	K_SECTION("alerts", alerts_out_table, "Every alert raised."),
	K_SECTION("late", late_out_table, "Events dropped for being too late."),
	K_SECTION("sessions", sessions_out_table, "Closed clickstream sessions."),
	K_SECTION("decisions", decisions_out_table, "Fraud decisions (audit)."),
	K_SECTION("dead_letter", dead_letter_out_table, "Kafka input records that could not be "
		  "decoded."),
	K_SECTION("slack", slack_table, "Alerts posted to a Slack webhook."),
};
static const struct cf_table outputs_table = TABLE("outputs", outputs_keys);

static const struct cf_key run_keys[] = {
	K_DUR("stats_interval", struct ctl_config, stats_interval_us, "1s", 0, SEC(3600),
	      "How often counters are printed; 0 = never."),
	K_DUR("exit_after_idle", struct ctl_config, exit_after_idle_us, "0s", 0, SEC(86400),
	      "Flush and exit when no packet came for this long (a worker held back by "
	      "max_input_drift is not idle); 0 = run until signalled."),
	K_BOOL("lock_memory", struct ctl_config, lock_memory, "false",
	       "Lock all memory (mlockall) once the tables are made: every page of the reserved "
	       "state is touched at start instead of on the data path, where a first touch "
	       "costs a page fault (a 2 MB page is zeroed then), and nothing is swapped out. "
	       "Resident memory is then the full reservation. Start fails if the memory cannot "
	       "be locked (CAP_IPC_LOCK or RLIMIT_MEMLOCK)."),
	K_BOOL("hugepages", struct ctl_config, state_hugepages, "true",
	       "Put the session and fraud-feature tables' dense arrays on 2 MB hugepages "
	       "reserved from the kernel's pool (/sys/kernel/mm/hugepages, the pool DPDK also "
	       "uses) when it has room for each array whole: the TLB reach of transparent huge "
	       "pages without the kernel compacting or splitting memory under the data path. "
	       "The pages are reserved at start for the tables' full capacity and zeroed at "
	       "first touch (at start with lock_memory). Where the pool lacks room, transparent "
	       "huge pages as with false (logged; gauge state_reserved_bytes)."),
	{ .key = "control_socket", .type = &t_path,
	  .off = offsetof(struct ctl_config, control_socket), .example = "/run/weir/weir.sock",
	  .ref_off = true,
	  .doc = "Unix socket for weirctl (model reload, stats, counters); only root may connect "
		 "(mode 0600). Default none." },
};
static const struct cf_table run_table = TABLE("run", run_keys);

static const struct cf_key log_keys[] = {
	{ .key = "level", .type = &t_enum, .off = offsetof(struct ctl_config, log_level),
	  .def = "info", .choices = log_levels, .doc = "Least important level printed." },
};
static const struct cf_table log_table = TABLE("log", log_keys);

static const struct cf_key root_keys[] = {
	K_SECTION("eal", eal_table, "DPDK environment."),
	{ .key = "ports", .type = &t_list, .off = offsetof(struct ctl_config, ports),
	  .sub = &port_table, .doc = "Network ports to receive on (up to 8)." },
	K_SECTION("syslog", syslog_table, "Syslog reception and parsing."),
	K_SECTION("clickstream", clickstream_table, "Clickstream sessionization (JSON events)."),
	K_SECTION("fraud", fraud_table, "Payment fraud scoring (JSON transactions)."),
	K_SECTION("reassembly", reassembly_table, "IP fragment reassembly."),
	K_SECTION("kafka", kafka_table, "Kafka input (consumer) and the producer of the Kafka "
		  "outputs (librdkafka)."),
	K_UINT("mbufs", struct ctl_config, mbufs, "16383", 511, (1u << 24) - 1,
	       "Packet buffers in the pool (2^n - 1 is the most memory-efficient)."),
	K_UINT("mbuf_size", struct ctl_config, mbuf_data_room, "2048", 1024, 65535 - 128,
	       "Data room of one packet buffer in bytes. Raise it for jumbo frames, and for "
	       "net_af_packet with a framesz above 2048 (that PMD needs a whole frame per buffer)."),
	K_SECTION("rules", rules_table, "Alert rules."),
	K_SECTION("event_time", event_time_table, "Watermarks and windows."),
	K_SECTION("outputs", outputs_table, "Where results go; every output is off by default."),
	K_SECTION("run", run_table, "Process behaviour."),
	K_SECTION("log", log_table, "Logging."),
};
static const struct cf_table root_table = TABLE("top level", root_keys);

/* ---- applying a table ---- */

static int apply_table(struct cf_ctx *cx, const struct cf_table *t, const struct wr_yaml_node *m,
		       void *base, const char *path, unsigned line)
{
	/* Unknown keys first: a typo is the likeliest error and deserves its own line. */
	for (size_t i = 0; m && i < m->n; i++) {
		size_t j;
		for (j = 0; j < t->n; j++)
			if (!strcmp(m->keys[i], t->keys[j].key))
				break;
		if (j == t->n) {
			cf_err(cx, m->key_lines[i], "unknown key '%s' in section '%s'", m->keys[i],
			       path ? path : t->name);
			return -EINVAL;
		}
	}
	for (size_t j = 0; j < t->n; j++) {
		const struct cf_key *k = &t->keys[j];
		char kpath[160];
		if (path)
			snprintf(kpath, sizeof(kpath), "%s.%s", path, k->key);
		else
			snprintf(kpath, sizeof(kpath), "%s", k->key);
		const struct wr_yaml_node *v = wr_yaml_get(m, k->key);
		int rc = 0;
		if (v) {
			rc = k->type->parse(cx, k, kpath, v, base);
		} else if (k->type == &t_section) {
			rc = apply_table(cx, k->sub, NULL, base, kpath, line);
		} else if (k->def) {
			/* Defaults go through the same parser, so they obey the same bounds. */
			struct wr_yaml_node d = { .kind = WR_YAML_SCALAR, .line = line,
						  .scalar = (char *)k->def };
			rc = k->type->parse(cx, k, kpath, &d, base);
		} else if (k->required) {
			cf_err(cx, line, "key '%s': missing (required)", kpath);
			rc = -EINVAL;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Checks that span keys. */
static int validate_whole(struct cf_ctx *cx, struct ctl_config *c, const struct wr_yaml_node *doc)
{
	const struct wr_yaml_node *ports = wr_yaml_get(doc, "ports");
	for (uint32_t i = 0; i < c->n_ports; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(c->ports[i].name, c->ports[j].name))
				continue;
			unsigned line = ports && ports->kind == WR_YAML_SEQ ? ports->items[i]->line
									     : doc->line;
			cf_err(cx, line, "key 'ports[%u].name': duplicate port name '%s' (also ports[%u])",
			       i, c->ports[i].name, j);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < c->n_click_ports; i++)
		for (uint32_t j = 0; j < c->n_syslog_ports; j++)
			if (c->click_ports[i] == c->syslog_ports[j]) {
				const struct wr_yaml_node *cs = wr_yaml_get(doc, "clickstream");
				cf_err(cx, cs ? cs->line : doc->line,
				       "key 'clickstream.ports': port %u is also a syslog port",
				       c->click_ports[i]);
				return -EINVAL;
			}
	const struct wr_yaml_node *kafka = wr_yaml_get(doc, "kafka");
	const struct wr_yaml_node *topics = wr_yaml_get(kafka, "topics");
	for (uint32_t i = 0; i < c->n_kafka_topics; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(c->kafka_topics[i].name, c->kafka_topics[j].name))
				continue;
			unsigned line = topics && topics->kind == WR_YAML_SEQ ?
					topics->items[i]->line : doc->line;
			cf_err(cx, line, "key 'kafka.topics[%u].name': duplicate topic '%s' "
			       "(also kafka.topics[%u])", i, c->kafka_topics[i].name, j);
			return -EINVAL;
		}
	}
	const struct wr_yaml_node *fraud = wr_yaml_get(doc, "fraud");
	unsigned fline = fraud ? fraud->line : doc->line;
	for (uint32_t i = 0; i < c->n_txn_ports; i++) {
		bool clash = false;
		for (uint32_t j = 0; j < c->n_syslog_ports; j++)
			clash |= c->txn_ports[i] == c->syslog_ports[j];
		for (uint32_t j = 0; j < c->n_click_ports; j++)
			clash |= c->txn_ports[i] == c->click_ports[j];
		if (clash) {
			cf_err(cx, fline, "key 'fraud.ports': port %u is also a syslog or "
			       "clickstream port", c->txn_ports[i]);
			return -EINVAL;
		}
	}
	c->fraud_enabled = c->n_txn_ports > 0;
	for (uint32_t i = 0; i < c->n_kafka_topics; i++)
		c->fraud_enabled |= c->kafka_topics[i].format == CTL_KAFKA_FMT_TXN;
	if (c->fraud_enabled && !c->fraud_model) {
		cf_err(cx, fline, "key 'fraud.model': missing (required when fraud.ports or a "
		       "Kafka topic of format txn is set)");
		return -EINVAL;
	}
	if (c->fraud_enabled && !c->n_fraud_features) {
		cf_err(cx, fline, "key 'fraud.features': missing (the model's feature vector, in "
		       "order; required with fraud.model)");
		return -EINVAL;
	}
	if (c->fraud_review >= c->fraud_block) {
		cf_err(cx, fline, "key 'fraud.block': %g must be above fraud.review (%g)",
		       c->fraud_block, c->fraud_review);
		return -EINVAL;
	}
	if (c->redis_host && c->redis_unix) {
		cf_err(cx, fline, "key 'fraud.redis.unix': set either host or unix, not both");
		return -EINVAL;
	}
	bool kafka_used = c->n_kafka_topics || c->windows_kafka || c->alerts_kafka ||
			  c->late_kafka || c->dead_letter_kafka || c->sessions_kafka ||
			  c->decisions_kafka;
	if (kafka_used && !c->kafka_brokers) {
		cf_err(cx, kafka ? kafka->line : doc->line, "key 'kafka.brokers': missing "
		       "(required when kafka.topics or an outputs.*.kafka topic is set)");
		return -EINVAL;
	}
	return 0;
}

/* Env wins over the file, so the secret can stay out of version control. */
static int apply_env(struct cf_ctx *cx, struct ctl_config *c)
{
	const char *env = getenv(CTL_ENV_WEBHOOK);
	if (!env || !*env)
		return 0;
	if (!webhook_ok(env)) {
		snprintf(cx->err, cx->errlen, "%s: environment variable " CTL_ENV_WEBHOOK
			 " is not an http(s) URL without spaces (value not shown: it is a secret)",
			 cx->name);
		return -EINVAL;
	}
	char *d = strdup(env);
	if (!d) {
		snprintf(cx->err, cx->errlen, "%s: out of memory", cx->name);
		return -ENOMEM;
	}
	free(c->slack_webhook_url);
	c->slack_webhook_url = d;
	c->slack_webhook_from_env = true;
	return 0;
}

void ctl_config_destroy(struct ctl_config *c)
{
	if (!c)
		return;
	free(c->path);
	for (int i = 0; i < c->eal_argc && i < CTL_MAX_EAL_ARGS; i++)
		free(c->eal_argv[i]);
	for (uint32_t i = 0; i < c->n_ports && i < CTL_MAX_PORTS; i++) {
		free(c->ports[i].name);
		free(c->ports[i].devargs);
	}
	free(c->rules_file);
	free(c->windows_jsonl);
	free(c->alerts_jsonl);
	free(c->late_jsonl);
	free(c->windows_kafka);
	free(c->alerts_kafka);
	free(c->late_kafka);
	free(c->dead_letter_kafka);
	free(c->sessions_jsonl);
	free(c->sessions_kafka);
	free(c->txn_field_id);
	free(c->txn_field_user);
	free(c->txn_field_amount);
	free(c->txn_field_currency);
	free(c->txn_field_merchant);
	free(c->txn_field_country);
	free(c->txn_field_ts);
	free(c->fraud_model);
	free(c->fraud_shadow_model);
	free(c->fraud_samples);
	for (uint32_t i = 0; i < c->n_fraud_features && i < CTL_MAX_FRAUD_FEATURES; i++)
		free(c->fraud_features[i]);
	free(c->redis_host);
	free(c->redis_unix);
	free(c->redis_key_prefix);
	free(c->decisions_jsonl);
	free(c->decisions_kafka);
	free(c->click_field_user);
	free(c->click_field_ts);
	free(c->click_field_type);
	free(c->click_field_page);
	free(c->page_view_type);
	for (uint32_t i = 0; i < c->n_funnel_steps && i < CTL_MAX_FUNNEL_STEPS; i++)
		free(c->funnel_steps[i]);
	free(c->slack_webhook_url);
	free(c->kafka_brokers);
	free(c->kafka_group_id);
	for (uint32_t i = 0; i < c->n_kafka_topics && i < CTL_MAX_KAFKA_TOPICS; i++)
		free(c->kafka_topics[i].name);
	for (uint32_t i = 0; i < c->n_kafka_consumer_props && i < CTL_MAX_KAFKA_PROPS; i++) {
		free(c->kafka_consumer_props[i][0]);
		free(c->kafka_consumer_props[i][1]);
	}
	for (uint32_t i = 0; i < c->n_kafka_producer_props && i < CTL_MAX_KAFKA_PROPS; i++) {
		free(c->kafka_producer_props[i][0]);
		free(c->kafka_producer_props[i][1]);
	}
	free(c->log_level);
	free(c->control_socket);
	free(c);
}

/* Build a config from a loaded tree; @name is the file for messages and paths. */
static int config_build(const struct wr_yaml_node *doc, const char *name,
			struct ctl_config **out, char *err, size_t errlen)
{
	struct cf_ctx cx = { .name = name, .err = err, .errlen = errlen };
	const char *slash = strrchr(name, '/');
	if (slash) {
		/* "/weir.yaml" keeps "/" as its directory. */
		cx.dir = strndup(name, slash == name ? 1 : (size_t)(slash - name));
		if (!cx.dir) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -ENOMEM;
		}
	}
	struct ctl_config *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;
	if (!c || !(c->path = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto err;
	}
	if (doc->kind != WR_YAML_MAP) {
		cf_err(&cx, doc->line, "the config must be a map of sections, got %s",
		       kind_name(doc->kind));
		rc = -EINVAL;
		goto err;
	}
	rc = apply_table(&cx, &root_table, doc, c, NULL, doc->line);
	if (!rc)
		rc = validate_whole(&cx, c, doc);
	if (!rc)
		rc = apply_env(&cx, c);
	if (rc)
		goto err;
	free(cx.dir);
	*out = c;
	return 0;
err:
	free(cx.dir);
	ctl_config_destroy(c);
	return rc;
}

int ctl_config_load(const char *path, struct ctl_config **out, char *err, size_t errlen)
{
	*out = NULL;
	struct wr_yaml_node *doc = NULL;
	int rc = wr_yaml_load_file(path, &doc, err, errlen);
	if (rc)
		return rc;
	rc = config_build(doc, path, out, err, errlen);
	wr_yaml_free(doc);
	return rc;
}

int ctl_config_load_string(const char *yaml, const char *name, struct ctl_config **out,
			   char *err, size_t errlen)
{
	*out = NULL;
	if (!name)
		name = "<config>";
	struct wr_yaml_node *doc = NULL;
	int rc = wr_yaml_load_string(yaml, strlen(yaml), name, &doc, err, errlen);
	if (rc)
		return rc;
	rc = config_build(doc, name, out, err, errlen);
	wr_yaml_free(doc);
	return rc;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned full = prefix / 8;
	if (memcmp(a, net, full))
		return false;
	unsigned rest = prefix % 8;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[full] & mask) == net[full];
}

int32_t ctl_config_source_tz(const struct ctl_config *c, bool is_v6, const uint8_t *addr)
{
	int best = -1;
	for (uint32_t i = 0; i < c->n_sources; i++) {
		const struct ctl_source_cfg *s = &c->sources[i];
		if (s->is_v6 != is_v6 || !prefix_match(addr, s->addr, s->prefix))
			continue;
		if (best < 0 || s->prefix > c->sources[best].prefix)
			best = (int)i;
	}
	return best < 0 ? c->default_tz_offset_s : c->sources[best].tz_offset_s;
}

/* ---- the reference ---- */

/* Plain YAML when the text is plainly safe, else double-quoted. */
static void print_value(FILE *f, const char *s)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '/'))
			plain = false;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static void print_bounds(FILE *f, const struct cf_key *k)
{
	if (k->type == &t_uint || k->type == &t_udp_ports) {
		fprintf(f, ", %lld..%lld", (long long)k->min, (long long)k->max);
	} else if (k->type == &t_duration) {
		char lo[32], hi[32];
		fmt_duration(k->min, lo, sizeof(lo));
		fmt_duration(k->max, hi, sizeof(hi));
		fprintf(f, ", %s..%s", lo, hi);
	} else if (k->type == &t_enum) {
		fputs(", one of", f);
		for (const char *const *c = k->choices; *c; c++)
			fprintf(f, "%s %s", c == k->choices ? "" : ",", *c);
	}
}

static void print_table(FILE *f, const struct cf_table *t, int indent, bool first_dash,
			bool off);

/* A comment wrapped at 79 columns, so the reference reads well in a terminal. */
static void print_comment(FILE *f, int indent, const char *text)
{
	const int width = 79 - indent - 2;
	const char *p = text;
	while (*p) {
		int n = (int)strlen(p);
		if (n > width) {
			n = width;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)              /* one long word: let it run over */
				n = (int)strcspn(p, " ");
		}
		fprintf(f, "%*s# %.*s\n", indent, "", n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/*
 * @off: print the key commented out, and everything under it. Each line gets
 * "# " at its own indent, so removing it yields the right indentation.
 */
static void print_key(FILE *f, const struct cf_key *k, int indent, bool off)
{
	const char *pre = off ? "# " : "";
	off = off || k->ref_off;
	print_comment(f, indent, k->doc);
	if (k->type == &t_section) {
		fprintf(f, "%*s%s%s:\n", indent, "", pre, k->key);
		print_table(f, k->sub, indent + 2, false, off);
		return;
	}
	if (k->type == &t_list) {
		fprintf(f, "%*s# list of maps, at most %u entries\n", indent, "", k->sub->max);
		fprintf(f, "%*s%s%s:\n", indent, "", off ? "# " : "", k->key);
		print_table(f, k->sub, indent + 2, true, off);
		return;
	}
	fprintf(f, "%*s# type: %s", indent, "", k->type->name);
	print_bounds(f, k);
	if (k->def) {
		fputs(", default: ", f);
		print_value(f, k->def);
	} else if (k->required)
		fputs(", required", f);
	else
		fputs(", default: none", f);
	fputc('\n', f);
	const char *val = k->def ? k->def : k->example;
	bool comment_out = off || (!k->def && !k->required);
	fprintf(f, "%*s%s%s: ", indent, "", comment_out ? "# " : "", k->key);
	if (k->type == &t_udp_ports) {
		fprintf(f, "[%s]\n", val);     /* the list form, though one port may stand alone */
		return;
	}
	if (k->type == &t_kafka_props) {
		fprintf(f, "%s\n", val);        /* the example is a YAML flow map */
		return;
	}
	print_value(f, val ? val : "");
	fputc('\n', f);
}

/* A list is printed as one example entry: a "-" line, then its keys two columns in. */
static void print_table(FILE *f, const struct cf_table *t, int indent, bool as_entry, bool off)
{
	if (as_entry) {
		fprintf(f, "%*s%s-\n", indent, "", off ? "# " : "");
		indent += 2;
	}
	for (size_t j = 0; j < t->n; j++)
		print_key(f, &t->keys[j], indent, off);
}

void ctl_config_print_reference(FILE *f)
{
	fputs("# weir configuration reference: every key with its type, bounds, default and\n"
	      "# meaning. Generated by `weir --help-config` (ctl_config_print_reference);\n"
	      "# the file is itself a valid config. Keys commented out have no default\n"
	      "# (the feature is off unless set); keys marked required must be given.\n"
	      "# Durations: 250ms, 5s, 1m, 2h, 1d or a bare number of seconds.\n"
	      "# Relative paths resolve against the directory of the config file.\n"
	      "# Unknown keys are errors.\n", f);
	for (size_t j = 0; j < root_table.n; j++) {
		fputc('\n', f);
		print_key(f, &root_table.keys[j], 0, false);
	}
}
