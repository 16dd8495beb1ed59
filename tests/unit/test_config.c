/* test_config.c - control/ctl_config.c: values, defaults, paths, env, errors, reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "wr_common.h"
#include "wr_test.h"

static char err[512];

static struct ctl_config *load(const char *doc, const char *name)
{
	struct ctl_config *c = NULL;
	err[0] = '\0';
	if (ctl_config_load_string(doc, name, &c, err, sizeof(err))) {
		CU_ASSERT_PTR_NULL(c);
		fprintf(stderr, "config load failed: %s\n", err);
	}
	return c;
}

static void expect_err(const char *doc, int want_rc, const char *want)
{
	struct ctl_config *c = (struct ctl_config *)1;
	CU_ASSERT_EQUAL(ctl_config_load_string(doc, "w.yaml", &c, err, sizeof(err)), want_rc);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "error '%s' does not contain '%s'\n", err, want);
}

#define MIN_RULES "rules: {file: r.yaml}\n"

static const char *const full_doc =
	"eal:\n"
	"  args: [\"-l\", \"2-3\", \"--vdev\", \"net_null0\"]\n"
	"ports:\n"
	"  - name: in0\n"
	"    device: \"net_pcap0,rx_pcap=a.pcap\"\n"
	"    rx_queues: 4\n"
	"    rx_desc: 2048\n"
	"    tx_desc: 512\n"
	"    ipv4: 192.0.2.10/24\n"
	"    ipv6: \"2001:db8::10/64\"\n"
	"    promiscuous: true\n"
	"    accept_any_dst: true\n"
	"  - device: \"0000:3b:00.0\"\n"
	"syslog:\n"
	"  ports: [514, 1514]\n"
	"  max_length: 9000\n"
	"  timezone: \"+02:00\"\n"
	"  sources:\n"
	"    - {match: 10.0.0.0/8, timezone: \"-05:00\"}\n"
	"    - {match: \"2001:db8::/32\", timezone: \"+09:30\"}\n"
	"reassembly: {flows: 8192, timeout: 500ms}\n"
	"mbufs: 32767\n"
	"rules: {file: my/rules.yaml, default_window: 30s}\n"
	"event_time:\n"
	"  out_of_orderness: 2s\n"
	"  allowed_lateness: 10s\n"
	"  idle_timeout: 1m\n"
	"  window_capacity: 4096\n"
	"outputs:\n"
	"  windows: {jsonl: \"-\"}\n"
	"  alerts: {jsonl: /var/log/weir/alerts.jsonl}\n"
	"  late: {jsonl: late.jsonl}\n"
	"  slack:\n"
	"    webhook_url: \"https://hooks.example/T/B/x\"\n"
	"    queue: 64\n"
	"    timeout: 2s\n"
	"    max_retries: 0\n"
	"run: {stats_interval: 0, exit_after_idle: 3s}\n"
	"log: {level: debug}\n";

static void test_full_config_every_field(void)
{
	unsetenv("WEIR_SLACK_WEBHOOK");
	struct ctl_config *c = load(full_doc, "/etc/weir/weir.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, "/etc/weir/weir.yaml");
	CU_ASSERT_EQUAL_FATAL(c->eal_argc, 5);
	CU_ASSERT_STRING_EQUAL(c->eal_argv[0], "weir");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[1], "-l");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[2], "2-3");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[3], "--vdev");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[4], "net_null0");
	CU_ASSERT_PTR_NULL(c->eal_argv[5]);

	CU_ASSERT_EQUAL_FATAL(c->n_ports, 2);
	const struct ctl_port_cfg *p = &c->ports[0];
	CU_ASSERT_STRING_EQUAL(p->name, "in0");
	CU_ASSERT_STRING_EQUAL(p->devargs, "net_pcap0,rx_pcap=a.pcap");
	CU_ASSERT_EQUAL(p->rx_queues, 4);
	CU_ASSERT_EQUAL(p->rx_desc, 2048);
	CU_ASSERT_EQUAL(p->tx_desc, 512);
	CU_ASSERT(p->has_ipv4);
	CU_ASSERT_EQUAL(memcmp(p->ipv4, (uint8_t[]){ 192, 0, 2, 10 }, 4), 0);
	CU_ASSERT_EQUAL(p->ipv4_prefix, 24);
	CU_ASSERT(p->has_ipv6);
	CU_ASSERT_EQUAL(memcmp(p->ipv6, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
						      0, 0, 0, 0, 0, 0, 0, 0x10 }, 16), 0);
	CU_ASSERT_EQUAL(p->ipv6_prefix, 64);
	CU_ASSERT(p->promiscuous);
	CU_ASSERT(p->accept_any_dst);
	p = &c->ports[1];
	CU_ASSERT_STRING_EQUAL(p->name, "port1");
	CU_ASSERT_STRING_EQUAL(p->devargs, "0000:3b:00.0");
	CU_ASSERT_EQUAL(p->rx_queues, 1);
	CU_ASSERT_EQUAL(p->rx_desc, 1024);
	CU_ASSERT_EQUAL(p->tx_desc, 1024);
	CU_ASSERT(!p->has_ipv4);
	CU_ASSERT(!p->has_ipv6);
	CU_ASSERT(!p->promiscuous);
	CU_ASSERT(!p->accept_any_dst);

	CU_ASSERT_EQUAL_FATAL(c->n_syslog_ports, 2);
	CU_ASSERT_EQUAL(c->syslog_ports[0], 514);
	CU_ASSERT_EQUAL(c->syslog_ports[1], 1514);
	CU_ASSERT_EQUAL(c->syslog_max_len, 9000);
	CU_ASSERT_EQUAL(c->default_tz_offset_s, 7200);
	CU_ASSERT_EQUAL_FATAL(c->n_sources, 2);
	CU_ASSERT(!c->sources[0].is_v6);
	CU_ASSERT_EQUAL(c->sources[0].addr[0], 10);
	CU_ASSERT_EQUAL(c->sources[0].prefix, 8);
	CU_ASSERT_EQUAL(c->sources[0].tz_offset_s, -18000);
	CU_ASSERT(c->sources[1].is_v6);
	CU_ASSERT_EQUAL(c->sources[1].prefix, 32);
	CU_ASSERT_EQUAL(c->sources[1].tz_offset_s, 9 * 3600 + 30 * 60);

	CU_ASSERT_EQUAL(c->frag_table_size, 8192);
	CU_ASSERT_EQUAL(c->frag_timeout_us, 500000);
	CU_ASSERT_EQUAL(c->mbufs, 32767);
	CU_ASSERT_STRING_EQUAL(c->rules_file, "/etc/weir/my/rules.yaml");
	CU_ASSERT_EQUAL(c->default_window_us, 30 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->ooo_us, 2 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->lateness_us, 10 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->idle_timeout_us, WR_US_PER_MIN);
	CU_ASSERT_EQUAL(c->window_capacity, 4096);
	CU_ASSERT_STRING_EQUAL(c->windows_jsonl, "-");
	CU_ASSERT_STRING_EQUAL(c->alerts_jsonl, "/var/log/weir/alerts.jsonl");
	CU_ASSERT_STRING_EQUAL(c->late_jsonl, "/etc/weir/late.jsonl");
	CU_ASSERT_STRING_EQUAL(c->slack_webhook_url, "https://hooks.example/T/B/x");
	CU_ASSERT(!c->slack_webhook_from_env);
	CU_ASSERT_EQUAL(c->slack_queue_len, 64);
	CU_ASSERT_EQUAL(c->slack_timeout_us, 2 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->slack_max_retries, 0);
	CU_ASSERT_EQUAL(c->stats_interval_us, 0);
	CU_ASSERT_EQUAL(c->exit_after_idle_us, 3 * WR_US_PER_SEC);
	CU_ASSERT_STRING_EQUAL(c->log_level, "debug");
	ctl_config_destroy(c);
	ctl_config_destroy(NULL);
}

static void test_defaults_applied(void)
{
	unsetenv("WEIR_SLACK_WEBHOOK");
	struct ctl_config *c = load(MIN_RULES, "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->eal_argc, 4);
	CU_ASSERT_STRING_EQUAL(c->eal_argv[0], "weir");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[1], "-l");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[2], "0-1");
	CU_ASSERT_STRING_EQUAL(c->eal_argv[3], "--in-memory");
	CU_ASSERT_PTR_NULL(c->eal_argv[4]);
	CU_ASSERT_EQUAL(c->n_ports, 0);
	CU_ASSERT_EQUAL(c->n_syslog_ports, 1);
	CU_ASSERT_EQUAL(c->syslog_ports[0], 514);
	CU_ASSERT_EQUAL(c->mbufs, 16383);
	CU_ASSERT_EQUAL(c->syslog_max_len, 65000);
	CU_ASSERT_EQUAL(c->frag_table_size, 4096);
	CU_ASSERT_EQUAL(c->frag_timeout_us, 2 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->n_sources, 0);
	CU_ASSERT_EQUAL(c->default_tz_offset_s, 0);
	CU_ASSERT_STRING_EQUAL(c->rules_file, "r.yaml");   /* no directory in the name */
	CU_ASSERT_EQUAL(c->default_window_us, 60 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->ooo_us, 5 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->lateness_us, 0);
	CU_ASSERT_EQUAL(c->idle_timeout_us, 30 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->window_capacity, 65536);
	CU_ASSERT_PTR_NULL(c->windows_jsonl);
	CU_ASSERT_PTR_NULL(c->alerts_jsonl);
	CU_ASSERT_PTR_NULL(c->late_jsonl);
	CU_ASSERT_PTR_NULL(c->slack_webhook_url);
	CU_ASSERT_EQUAL(c->slack_queue_len, 1024);
	CU_ASSERT_EQUAL(c->slack_timeout_us, 5 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->slack_max_retries, 5);
	CU_ASSERT_EQUAL(c->stats_interval_us, WR_US_PER_SEC);
	CU_ASSERT_EQUAL(c->exit_after_idle_us, 0);
	CU_ASSERT_STRING_EQUAL(c->log_level, "info");
	CU_ASSERT_EQUAL(c->fraud_rt_priority, 0);
	CU_ASSERT_EQUAL(c->fraud_cpu, -1);               /* the main lcore's */
	ctl_config_destroy(c);
	c = load(MIN_RULES "fraud: {cpu: 3}\n", "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->fraud_cpu, 3);
	ctl_config_destroy(c);
	c = load(MIN_RULES "fraud: {cpu: main}\n", "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->fraud_cpu, -1);
	ctl_config_destroy(c);
}

static void test_scalar_forms_of_eal_args_and_ports_and_empty_sections(void)
{
	struct ctl_config *c = load(MIN_RULES "eal: {args: \"-l 1   --no-huge\"}\n"
				    "syslog: {ports: 5140}\noutputs:\n  slack:\nrun:\n", "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->eal_argc, 4);
	CU_ASSERT_STRING_EQUAL(c->eal_argv[3], "--no-huge");
	CU_ASSERT_EQUAL(c->n_syslog_ports, 1);
	CU_ASSERT_EQUAL(c->syslog_ports[0], 5140);
	CU_ASSERT_EQUAL(c->stats_interval_us, WR_US_PER_SEC);
	ctl_config_destroy(c);
}

static void test_relative_paths_resolve_against_config_dir(void)
{
	const char *doc = "rules: {file: rules/r.yaml}\n"
			  "outputs: {windows: {jsonl: \"-\"}, alerts: {jsonl: out/a.jsonl},\n"
			  "          late: {jsonl: /abs/late.jsonl}}\n";
	struct ctl_config *c = load(doc, "/srv/weir/conf/weir.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->rules_file, "/srv/weir/conf/rules/r.yaml");
	CU_ASSERT_STRING_EQUAL(c->windows_jsonl, "-");
	CU_ASSERT_STRING_EQUAL(c->alerts_jsonl, "/srv/weir/conf/out/a.jsonl");
	CU_ASSERT_STRING_EQUAL(c->late_jsonl, "/abs/late.jsonl");
	ctl_config_destroy(c);
	c = load(doc, "configs/w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->rules_file, "configs/rules/r.yaml");
	ctl_config_destroy(c);
	c = load(doc, "/w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->rules_file, "/rules/r.yaml");
	ctl_config_destroy(c);
}

static void test_env_webhook_overrides_file_and_is_flagged(void)
{
	const char *doc = MIN_RULES "outputs: {slack: {webhook_url: \"https://file.example/h\"}}\n";
	setenv("WEIR_SLACK_WEBHOOK", "https://env.example/h", 1);
	struct ctl_config *c = load(doc, "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->slack_webhook_url, "https://env.example/h");
	CU_ASSERT(c->slack_webhook_from_env);
	ctl_config_destroy(c);
	c = load(MIN_RULES, "w.yaml");           /* env alone is enough */
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->slack_webhook_url, "https://env.example/h");
	ctl_config_destroy(c);
	setenv("WEIR_SLACK_WEBHOOK", "", 1);     /* empty counts as unset */
	c = load(doc, "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->slack_webhook_url, "https://file.example/h");
	CU_ASSERT(!c->slack_webhook_from_env);
	ctl_config_destroy(c);
	setenv("WEIR_SLACK_WEBHOOK", "ftp://secret-token", 1);
	expect_err(MIN_RULES, -EINVAL, "WEIR_SLACK_WEBHOOK is not an http(s) URL");
	CU_ASSERT_PTR_NULL(strstr(err, "secret-token"));
	unsetenv("WEIR_SLACK_WEBHOOK");
}

static void test_webhook_error_never_shows_the_url(void)
{
	unsetenv("WEIR_SLACK_WEBHOOK");
	expect_err(MIN_RULES "outputs:\n  slack:\n    webhook_url: \"hooks/secret-token\"\n", -EINVAL,
		   "w.yaml:4: key 'outputs.slack.webhook_url': not an http(s) URL");
	CU_ASSERT_PTR_NULL(strstr(err, "secret-token"));
}

static void test_unknown_keys_name_key_section_and_line(void)
{
	expect_err(MIN_RULES "sylog: {}\n", -EINVAL, "w.yaml:2: unknown key 'sylog' in section 'top level'");
	expect_err(MIN_RULES "syslog:\n  max_len: 1\n", -EINVAL,
		   "w.yaml:3: unknown key 'max_len' in section 'syslog'");
	expect_err(MIN_RULES "ports:\n  - device: x\n  - device: y\n    rxq: 2\n", -EINVAL,
		   "w.yaml:5: unknown key 'rxq' in section 'ports[1]'");
	expect_err(MIN_RULES "outputs:\n  slack: {url: x}\n", -EINVAL,
		   "w.yaml:3: unknown key 'url' in section 'outputs.slack'");
}

static void test_out_of_range_names_key_value_and_bounds(void)
{
	expect_err(MIN_RULES "syslog:\n  max_length: 70000\n", -EINVAL,
		   "w.yaml:3: key 'syslog.max_length': value 70000 out of range [480, 65535]");
	expect_err(MIN_RULES "mbufs: 10\n", -EINVAL,
		   "w.yaml:2: key 'mbufs': value 10 out of range [511, 16777215]");
	expect_err(MIN_RULES "ports:\n  - {device: x, rx_desc: 20000}\n", -EINVAL,
		   "w.yaml:3: key 'ports[0].rx_desc': value 20000 out of range [64, 16384]");
	expect_err(MIN_RULES "event_time: {out_of_orderness: 2h}\n", -EINVAL,
		   "w.yaml:2: key 'event_time.out_of_orderness': value 2h out of range [0s, 1h]");
	expect_err(MIN_RULES "syslog: {ports: [514, 0]}\n", -EINVAL,
		   "w.yaml:2: key 'syslog.ports': port '0' out of range [1, 65535]");
	expect_err(MIN_RULES "fraud: {realtime_priority: 100}\n", -EINVAL,
		   "w.yaml:2: key 'fraud.realtime_priority': value 100 out of range [0, 99]");
	expect_err(MIN_RULES "fraud: {cpu: 1024}\n", -EINVAL,
		   "w.yaml:2: key 'fraud.cpu': '1024' is not a CPU number 0..1023 or \"main\"");
	expect_err(MIN_RULES "fraud: {cpu: -1}\n", -EINVAL,
		   "w.yaml:2: key 'fraud.cpu': '-1' is not a CPU number 0..1023 or \"main\"");
	expect_err(MIN_RULES "clickstream: {funnel: a b c d e f g h i}\n", -EINVAL,
		   "w.yaml:2: key 'clickstream.funnel': more than 8 names");
	expect_err(MIN_RULES "clickstream:\n  funnel: {a: b}\n", -EINVAL,
		   "w.yaml:3: key 'clickstream.funnel': want a string or a list of names, got a map");
}

static void test_type_errors_name_key_and_line(void)
{
	expect_err(MIN_RULES "mbufs: lots\n", -EINVAL, "w.yaml:2: key 'mbufs': 'lots' is not an unsigned integer");
	expect_err(MIN_RULES "mbufs: -1\n", -EINVAL, "key 'mbufs': '-1' is not an unsigned integer");
	expect_err(MIN_RULES "reassembly:\n  timeout: soon\n", -EINVAL,
		   "w.yaml:3: key 'reassembly.timeout': 'soon' is not a duration");
	expect_err(MIN_RULES "ports: [{device: x, promiscuous: yes}]\n", -EINVAL,
		   "w.yaml:2: key 'ports[0].promiscuous': 'yes' is not a boolean");
	expect_err(MIN_RULES "syslog: {timezone: Europe/Berlin}\n", -EINVAL,
		   "key 'syslog.timezone': bad time zone 'Europe/Berlin'");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "IANA names are not supported yet"));
	expect_err(MIN_RULES "syslog: {timezone: \"+19:00\"}\n", -EINVAL, "bad time zone '+19:00'");
	expect_err(MIN_RULES "ports: [{device: x, ipv4: 300.1.1.1/24}]\n", -EINVAL,
		   "key 'ports[0].ipv4': bad IPv4 address '300.1.1.1/24'");
	expect_err(MIN_RULES "ports: [{device: x, ipv6: \"2001:db8::1/129\"}]\n", -EINVAL,
		   "key 'ports[0].ipv6': bad IPv6 address");
	expect_err(MIN_RULES "syslog:\n  sources:\n    - {match: 10.0.0.0/33, timezone: Z}\n",
		   -EINVAL, "w.yaml:4: key 'syslog.sources[0].match': bad address prefix");
	expect_err(MIN_RULES "log: {level: loud}\n", -EINVAL,
		   "key 'log.level': bad value 'loud' (want one of error, warn, info, debug)");
	expect_err(MIN_RULES "syslog: [1]\n", -EINVAL, "w.yaml:2: section 'syslog': want a map, got a list");
	expect_err(MIN_RULES "mbufs: [1]\n", -EINVAL, "w.yaml:2: key 'mbufs': want a scalar, got a list");
	expect_err(MIN_RULES "ports: {device: x}\n", -EINVAL, "key 'ports': want a list of maps, got a map");
	expect_err("- a\n", -EINVAL, "w.yaml:1: the config must be a map of sections");
}

static void test_missing_required_and_list_limits(void)
{
	expect_err("mbufs: 1023\n", -EINVAL, "w.yaml:1: key 'rules.file': missing (required)");
	expect_err(MIN_RULES "ports:\n  - name: a\n", -EINVAL,
		   "w.yaml:3: key 'ports[0].device': missing (required)");
	expect_err(MIN_RULES "syslog: {sources: [{match: 10.0.0.0/8}]}\n", -EINVAL,
		   "key 'syslog.sources[0].timezone': missing (required)");
	expect_err(MIN_RULES "ports: [{device: a}, {device: b}, {device: c}, {device: d},\n"
		   "        {device: e}, {device: f}, {device: g}, {device: h}, {device: i}]\n",
		   -EINVAL, "key 'ports': more than 8 entries");
	expect_err(MIN_RULES "ports:\n  - {name: a, device: x}\n  - {name: a, device: y}\n", -EINVAL,
		   "w.yaml:4: key 'ports[1].name': duplicate port name 'a'");
	expect_err(MIN_RULES "syslog: {ports: [514, 515, 514]}\n", -EINVAL,
		   "key 'syslog.ports': port 514 listed twice");
	expect_err(MIN_RULES "syslog: {ports: []}\n", -EINVAL, "key 'syslog.ports': want 1 to 16 ports");
	char doc[1024];
	size_t p = (size_t)snprintf(doc, sizeof(doc), MIN_RULES "eal: {args: \"");
	for (int i = 0; i < CTL_MAX_EAL_ARGS - 1; i++)
		p += (size_t)snprintf(doc + p, sizeof(doc) - p, "a ");
	snprintf(doc + p, sizeof(doc) - p, "\"}\n");
	expect_err(doc, -EINVAL, "key 'eal.args': more than 62 arguments");
}

static void test_yaml_errors_pass_through_with_line(void)
{
	expect_err(MIN_RULES "mbufs: 1\nmbufs: 2\n", -EINVAL, "w.yaml:3: duplicate key 'mbufs' (first at line 2)");
	expect_err(MIN_RULES "log: {level: &a info}\n", -EINVAL, "w.yaml:2: anchors (&a) are not supported");
	struct ctl_config *c = NULL;
	CU_ASSERT_EQUAL(ctl_config_load("/nonexistent/weir.yaml", &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NULL(c);
}

static void test_source_tz_longest_prefix_then_default(void)
{
	struct ctl_config *c = load(MIN_RULES
				    "syslog:\n"
				    "  timezone: \"-01:30\"\n"
				    "  sources:\n"
				    "    - {match: 10.0.0.0/8, timezone: \"-05:00\"}\n"
				    "    - {match: 10.1.0.0/16, timezone: \"+01:00\"}\n"
				    "    - {match: 10.1.2.7, timezone: \"+03:00\"}\n"
				    "    - {match: 192.168.0.0/23, timezone: Z}\n"
				    "    - {match: \"2001:db8::/32\", timezone: \"+09:30\"}\n", "w.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 10, 1, 2, 3 }), 3600);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 10, 1, 2, 7 }), 3 * 3600);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 10, 2, 0, 1 }), -5 * 3600);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 11, 0, 0, 1 }), -5400);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 192, 168, 1, 9 }), 0);
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, false, (uint8_t[]){ 192, 168, 2, 9 }), -5400);
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff };
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, true, v6), 9 * 3600 + 1800);
	v6[3] = 0xb9;
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, true, v6), -5400);
	/* An IPv6 address whose first bytes are 10.x must not match an IPv4 prefix. */
	uint8_t v6ten[16] = { 10, 1, 2, 3 };
	CU_ASSERT_EQUAL(ctl_config_source_tz(c, true, v6ten), -5400);
	ctl_config_destroy(c);
}

static void test_reference_file_is_current_and_loads(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ctl_config_print_reference(f);
	fclose(f);
	/* configs/reference.yaml is this output; regenerate it when a table changes. */
	FILE *rf = fopen(WR_SOURCE_ROOT "/configs/reference.yaml", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rf);
	char *file = calloc(1, len + 2);
	size_t got = fread(file, 1, len + 1, rf);
	fclose(rf);
	CU_ASSERT_EQUAL(got, len);
	CU_ASSERT_EQUAL(memcmp(file, buf, len), 0);
	free(file);
	unsetenv("WEIR_SLACK_WEBHOOK");
	struct ctl_config *c = NULL;
	CU_ASSERT_EQUAL(ctl_config_load(WR_SOURCE_ROOT "/configs/reference.yaml", &c, err,
					sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->rules_file, WR_SOURCE_ROOT "/configs/../rules/default.yaml");
	CU_ASSERT_EQUAL(c->n_ports, 1);
	CU_ASSERT_EQUAL(c->mbufs, 16383);
	CU_ASSERT_PTR_NULL(c->slack_webhook_url);
	ctl_config_destroy(c);
	free(buf);
}

static int reg(void)
{
	WR_SUITE("config",
		 WR_TEST(test_full_config_every_field),
		 WR_TEST(test_defaults_applied),
		 WR_TEST(test_scalar_forms_of_eal_args_and_ports_and_empty_sections),
		 WR_TEST(test_relative_paths_resolve_against_config_dir),
		 WR_TEST(test_env_webhook_overrides_file_and_is_flagged),
		 WR_TEST(test_webhook_error_never_shows_the_url),
		 WR_TEST(test_unknown_keys_name_key_section_and_line),
		 WR_TEST(test_out_of_range_names_key_value_and_bounds),
		 WR_TEST(test_type_errors_name_key_and_line),
		 WR_TEST(test_missing_required_and_list_limits),
		 WR_TEST(test_yaml_errors_pass_through_with_line),
		 WR_TEST(test_source_tz_longest_prefix_then_default),
		 WR_TEST(test_reference_file_is_current_and_loads));
	return 0;
}

WR_TEST_MAIN(reg)
