/*
 * weir - kernel-bypass syslog alerting appliance.
 *
 * Usage: weir -c FILE [--check-config] [-- EAL-ARGS...]
 *        weir --help-config
 *
 * The main lcore runs the control thread (output routing, Slack, stats);
 * every other lcore is a worker (dp_worker.h). EAL arguments come from the
 * config's eal.args, then the ports' devices (--vdev / -a), then whatever
 * follows "--" on the command line.
 *
 * Example: weir -c configs/demo.yaml -- -l 0-1
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "ctl_config.h"
#include "ctl_ctl.h"
#include "ctl_fraud.h"
#include "ctl_output.h"
#include "dp_kafka.h"
#include "dp_port.h"
#include "dp_worker.h"
#include "rules.h"
#include "wr_common.h"
#include "wr_counters.h"
#include "wr_record.h"
#include "wr_txn.h"
#include "wr_wake.h"

#define OUT_RING_SIZE 32768           /* chunks (WR_OUT_CHUNK bytes): records of one or more */
#define MAX_EAL_ARGV 160

#define ANSWER_RING_SIZE 4096

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_reload;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* run.lock_memory: fault in and lock everything mapped so far (the workers'
 * tables are made) and everything mapped later. Returns 0 or -1 (reported). */
static int lock_memory(void)
{
	int64_t t0 = wr_mono_us();
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		fprintf(stderr, "weir: run.lock_memory: mlockall: %s (needs CAP_IPC_LOCK or a "
			"large enough RLIMIT_MEMLOCK)\n", strerror(errno));
		return -1;
	}
	/* Resident now includes every reserved table page (VmLck would count
	 * the address space DPDK reserves but never maps, too); the tables'
	 * pages from the hugetlb pool (run.hugepages) are not in VmRSS. */
	long kb = wr_read_num("/proc/self/status", "VmRSS");
	long huge_kb = wr_read_num("/proc/self/status", "HugetlbPages");
	if (huge_kb < 0)
		huge_kb = 0;
	WR_INFO("main", "memory locked: %ld MiB resident, %ld MiB of it hugetlb pages (%lld ms)",
		kb < 0 ? -1 : (kb + huge_kb) / 1024, huge_kb / 1024,
		(long long)((wr_mono_us() - t0) / 1000));
	return 0;
}

/* SIGHUP: reload the fraud model(s) from their files (systemctl reload). */
static void on_hup(int sig)
{
	(void)sig;
	got_reload = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir -c FILE [--check-config] [-- EAL-ARGS...]\n"
		"       weir --help-config\n"
		"  -c, --config FILE   configuration (YAML)\n"
		"      --check-config  validate the config and its rules, then exit\n"
		"      --help-config   print every config key with its default and bounds\n"
		"  -h, --help          this text\n");
}

static bool has_arg(int argc, char *const *argv, const char *a)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], a))
			return true;
	return false;
}

/* EAL's argv: config args, devices, the hugepage fallback, then user overrides. */
static int build_eal_argv(const struct ctl_config *cfg, int extra_argc, char **extra_argv,
			  char **out, char *store, size_t store_len)
{
	int n = 0;
	size_t used = 0;
	bool no_huge = has_arg(cfg->eal_argc, cfg->eal_argv, "--no-huge") ||
		       has_arg(extra_argc, extra_argv, "--no-huge");
	bool fallback = !no_huge && wr_free_hugepages() < 64;
	out[n++] = "weir";
	/* The config's eal_argv[0] is already "weir": skip it. */
	for (int i = 1; i < cfg->eal_argc && n < MAX_EAL_ARGV - 8; i++) {
		/* --no-huge implies legacy memory, which EAL refuses with
		 * --in-memory; --no-shconf keeps the "leave no files" part. */
		if ((no_huge || fallback) && !strcmp(cfg->eal_argv[i], "--in-memory")) {
			out[n++] = "--no-shconf";
			continue;
		}
		out[n++] = cfg->eal_argv[i];
	}
	bool any_pci = false;
	for (uint32_t p = 0; p < cfg->n_ports && n < MAX_EAL_ARGV - 8; p++) {
		const char *dev = cfg->ports[p].devargs;
		int w;
		if (dp_port_is_pci(dev)) {
			any_pci = true;
			out[n++] = "-a";
			out[n++] = (char *)dev;
			continue;
		}
		w = snprintf(store + used, store_len - used, "--vdev=%s", dev);
		if (w < 0 || (size_t)w >= store_len - used)
			return -ENOSPC;
		out[n++] = store + used;
		used += (size_t)w + 1;
	}
	if (!any_pci && !has_arg(cfg->eal_argc, cfg->eal_argv, "--no-pci"))
		out[n++] = "--no-pci";
	if (fallback) {
		WR_WARN("main", "fewer than 64 free 2 MB hugepages; starting EAL with --no-huge "
			"(reserve them through /sys/kernel/mm/hugepages for full speed)");
		out[n++] = "--no-huge";
		if (!has_arg(cfg->eal_argc, cfg->eal_argv, "-m"))
		{
			out[n++] = "-m";
			out[n++] = "1024";
		}
	}
	for (int i = 0; i < extra_argc && n < MAX_EAL_ARGV - 1; i++) {
		if (no_huge && !strcmp(extra_argv[i], "--in-memory"))
			continue;
		out[n++] = extra_argv[i];
	}
	out[n] = NULL;
	return n;
}

/* Which parts of the stats line apply to this config. */
struct stats_view {
	bool kafka, sessions, slack;
	struct ctl_fraud *fraud;     /* NULL: no fraud part */
};

/* Append to the stats line; a line that does not fit is cut, never overrun. */
static void line_add(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void line_add(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	if (*pos >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (size_t)n >= len - *pos ? len : *pos + (size_t)n;
}

/* The one-line summary into @line (@len bytes); rates since *@last_us. */
static void format_stats(char *line, size_t len, const struct wr_counters *slots, unsigned n,
			 const struct stats_view *sv, uint64_t *last_rx, int64_t *last_us)
{
	struct wr_counters t;
	wr_counters_sum(slots, n, &t);
	int64_t now = wr_mono_us();
	double dt = (double)(now - *last_us) / 1e6;
	double pps = dt > 0 ? (double)(t.v[WR_CNT_rx_packets] - *last_rx) / dt : 0;
	*last_rx = t.v[WR_CNT_rx_packets];
	*last_us = now;
#define C(name) ((unsigned long long)t.v[WR_CNT_##name])
	unsigned long long bad = C(rx_bad_l2) + C(rx_bad_ip) + C(rx_bad_udp) + C(syslog_bad) +
				 C(syslog_truncated) + C(syslog_oversize);
	size_t pos = 0;
	line_add(line, len, &pos,
		 "weir: rx %llu pkts %.2f Mpps | syslog %llu bad %llu | frags %llu->%llu", C(rx_packets),
		 pps / 1e6, C(syslog_msgs), bad, C(frag_in), C(frag_reassembled));
	if (sv->kafka)
		line_add(line, len, &pos,
			 " | kafka in %llu lag %llu/%llus out %llu pauses %llu dlq %llu", C(kafka_in),
			 C(kafka_lag_records), C(kafka_lag_seconds), C(kafka_out), C(kafka_pauses),
			 C(kafka_dead_letter));
	line_add(line, len, &pos,
		 " | matches %llu late %llu | windows %llu | alerts %llu resolved %llu", C(rule_matches),
		 C(events_late), C(windows_closed), C(alerts_fired), C(alerts_resolved));
	if (sv->sessions)
		line_add(line, len, &pos,
			 " | clicks %llu bad %llu | sessions open %llu closed %llu converted %llu",
			 C(click_events), C(click_bad), C(sessions_active), C(sessions_closed),
			 C(sessions_converted));
	if (sv->fraud) {
		struct ctl_fraud_stats fs;
		ctl_fraud_stats(sv->fraud, &fs);
		line_add(line, len, &pos,
			 " | txn %llu bad %llu allow %llu review %llu block %llu degraded %llu "
			 "p50/p99/p999 %llu/%llu/%llu us%s",
			 C(txn_in), C(txn_bad) + C(txn_overload), C(fraud_allow), C(fraud_review),
			 C(fraud_block), C(fraud_degraded), (unsigned long long)fs.lat_p50_us,
			 (unsigned long long)fs.lat_p99_us, (unsigned long long)fs.lat_p999_us,
			 !fs.redis_configured ? "" : fs.redis_connected ? " redis up" : " redis down");
	}
	if (sv->slack)
		line_add(line, len, &pos, " | slack ok %llu retry %llu fail %llu",
			 C(slack_posted), C(slack_retries), C(slack_failed));
	line_add(line, len, &pos, " | drops ring %llu table %llu", C(out_ring_full),
		 C(window_table_full) + C(session_table_full));
#undef C
}

static void print_stats(const struct wr_counters *slots, unsigned n, const struct stats_view *sv,
			uint64_t *last_rx, int64_t *last_us, bool final)
{
	char line[768];
	format_stats(line, sizeof(line), slots, n, sv, last_rx, last_us);
	bool tty = isatty(STDERR_FILENO);
	fprintf(stderr, "%s%s%s", tty && !final ? "\r\033[K" : "", line, tty && !final ? "" : "\n");
	fflush(stderr);
}

/* What weirctl's commands need from main(). */
struct ctl_env {
	const struct wr_counters *slots;
	struct wr_counters *cnt;       /* the control thread's own slot */
	unsigned n_slots;
	const struct stats_view *sv;
	struct ctl_fraud *fraud;
	uint64_t last_rx;
	int64_t last_us;
};

/* Reload the fraud models (asked for by @who); a refusal is logged and
 * returned, and the running models stay. */
static int reload_models(struct ctl_fraud *f, const char *who, char *err, size_t errlen)
{
	int rc = ctl_fraud_reload(f, err, errlen);
	if (rc)
		WR_WARN("main", "%s: model reload refused, the current model stays: %s", who, err);
	return rc;
}

/* One weirctl command (ctl_ctl.h): runs on the control thread. */
static size_t run_command(void *ctx, const char *line, char *reply, size_t len)
{
	struct ctl_env *e = ctx;
	char err[1024];
	int n;
	if (!strcmp(line, "stats")) {
		char buf[768];
		format_stats(buf, sizeof(buf), e->slots, e->n_slots, e->sv, &e->last_rx, &e->last_us);
		n = snprintf(reply, len, "ok\n%s\n", buf);
	} else if (!strcmp(line, "counters")) {
		struct wr_counters t;
		wr_counters_sum(e->slots, e->n_slots, &t);
		size_t pos = (size_t)snprintf(reply, len, "ok\n");
		for (unsigned c = 0; c < WR_CNT_MAX && pos < len; c++)
			pos += (size_t)snprintf(reply + pos, len - pos, "%s %llu\n", wr_counter_name(c),
						(unsigned long long)t.v[c]);
		n = (int)(pos < len ? pos : len - 1);
	} else if (!strcmp(line, "model reload")) {
		if (!e->fraud) {
			n = snprintf(reply, len, "error: fraud scoring is off in this config\n");
		} else if (reload_models(e->fraud, "weirctl", err, sizeof(err))) {
			n = snprintf(reply, len, "error: reload refused, the current model stays: %s\n",
				     err);
		} else {
			struct ctl_fraud_stats fs;
			ctl_fraud_stats(e->fraud, &fs);
			n = snprintf(reply, len, "ok model %s\n", fs.model_version);
		}
	} else if (!strcmp(line, "model") || !strcmp(line, "fraud")) {
		if (!e->fraud) {
			n = snprintf(reply, len, "error: fraud scoring is off in this config\n");
		} else {
			struct ctl_fraud_stats fs;
			ctl_fraud_stats(e->fraud, &fs);
			struct wr_counters t;
			wr_counters_sum(e->slots, e->n_slots, &t);
			n = snprintf(reply, len, "ok model %s\ndecisions %llu\ndecided_on_worker %llu\n"
				     "latency_us p50 %llu p99 "
				     "%llu p999 %llu max %llu\nqueue_wait_us p50 %llu p99 %llu max "
				     "%llu\nredis_wait_us p50 %llu p99 %llu max %llu\nredis %s\n"
				     "redis_cache %s %u\n",
				     fs.model_version,
				     (unsigned long long)fs.decisions,
				     (unsigned long long)t.v[WR_CNT_fraud_on_worker],
				     (unsigned long long)fs.lat_p50_us,
				     (unsigned long long)fs.lat_p99_us,
				     (unsigned long long)fs.lat_p999_us,
				     (unsigned long long)fs.lat_max_us,
				     (unsigned long long)fs.queue_p50_us,
				     (unsigned long long)fs.queue_p99_us,
				     (unsigned long long)fs.queue_max_us,
				     (unsigned long long)fs.redis_p50_us,
				     (unsigned long long)fs.redis_p99_us,
				     (unsigned long long)fs.redis_max_us,
				     !fs.redis_configured ? "none" : fs.redis_connected ? "up" : "down",
				     fs.cache_state < 0 ? "off" : fs.cache_state ? "serving" : "waiting",
				     fs.cache_held);
		}
	} else if (!strcmp(line, "help")) {
		n = snprintf(reply, len,
			     "ok\nstats          the stats line\n"
			     "counters       every counter, one per line\n"
			     "fraud          the fraud model, decisions and latency\n"
			     "model reload   load and verify the fraud model files again, then swap\n");
	} else {
		WR_COUNT(e->cnt, control_bad_requests);
		n = snprintf(reply, len, "error: unknown command '%.64s' (try: help)\n", line);
	}
	return n < 0 ? 0 : (size_t)n;
}

static void print_counters(FILE *f, const struct wr_counters *slots, unsigned n)
{
	struct wr_counters t;
	wr_counters_sum(slots, n, &t);
	for (unsigned c = 0; c < WR_CNT_MAX; c++)
		fprintf(f, "counter %s %llu\n", wr_counter_name(c), (unsigned long long)t.v[c]);
}

int main(int argc, char **argv)
{
	const char *cfg_path = "/etc/weir/weir.yaml";
	bool check_only = false;
	char err[1024];
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help-config", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'H':
			ctl_config_print_reference(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	int extra_argc = argc - optind;
	char **extra_argv = argv + optind;

	struct ctl_config *cfg = NULL;
	struct rules_set *rules = NULL;
	if (ctl_config_load(cfg_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "weir: config: %s\n", err);
		return 1;
	}
	if (cfg->log_level) {
		if (!strcmp(cfg->log_level, "error"))
			wr_log_threshold = WR_LOG_ERR;
		else if (!strcmp(cfg->log_level, "warn"))
			wr_log_threshold = WR_LOG_WARN;
		else if (!strcmp(cfg->log_level, "debug"))
			wr_log_threshold = WR_LOG_DEBUG;
	}
	struct rules_defaults defs = { .window_us = cfg->default_window_us, .cooldown_us = 0 };
	if (rules_load_file(cfg->rules_file, &defs, &rules, err, sizeof(err))) {
		fprintf(stderr, "weir: rules: %s\n", err);
		ctl_config_destroy(cfg);
		return 1;
	}
	if (check_only) {
		char ver[128] = "";
		if (cfg->fraud_enabled &&
		    ctl_fraud_check_models(cfg, ver, sizeof(ver), err, sizeof(err))) {
			fprintf(stderr, "weir: fraud: %s\n", err);
			rules_set_destroy(rules);
			ctl_config_destroy(cfg);
			return 1;
		}
		printf("weir: %s is valid: %u port(s), %u rule(s) from %s%s%s\n", cfg_path,
		       cfg->n_ports, rules->n, cfg->rules_file, ver[0] ? ", fraud model " : "", ver);
		rules_set_destroy(rules);
		ctl_config_destroy(cfg);
		return 0;
	}
	if (cfg->n_ports == 0 && cfg->n_kafka_topics == 0) {
		fprintf(stderr, "weir: config %s: no ports and no kafka topics: nothing to read\n",
			cfg_path);
		return 1;
	}

	char *eal_argv[MAX_EAL_ARGV];
	char eal_store[4096];
	int eal_argc = build_eal_argv(cfg, extra_argc, extra_argv, eal_argv, eal_store,
				      sizeof(eal_store));
	if (eal_argc < 0) {
		fprintf(stderr, "weir: device arguments too long\n");
		return 1;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "weir: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	int rc = 1;
	unsigned n_workers = rte_lcore_count() - 1;
	if (n_workers == 0 || n_workers > DP_MAX_WORKERS) {
		fprintf(stderr, "weir: %u lcores: give 2 to %u (-l 0-1): the main lcore runs the "
			"control thread, the others are workers\n", rte_lcore_count(),
			DP_MAX_WORKERS + 1);
		goto out_eal;
	}
	int socket = (int)rte_socket_id();
	struct rte_mempool *mp = rte_pktmbuf_pool_create(
		"weir_mbufs", cfg->mbufs, 256, 0,
		(uint16_t)(cfg->mbuf_data_room + RTE_PKTMBUF_HEADROOM), socket);
	if (!mp) {
		fprintf(stderr, "weir: mbuf pool of %u: %s\n", cfg->mbufs, rte_strerror(rte_errno));
		goto out_eal;
	}

	static struct dp_local_addrs addrs[CTL_MAX_PORTS];
	static struct dp_port_info pinfo[CTL_MAX_PORTS];
	static struct dp_shared shared;
	static struct dp_worker_conf wconf[DP_MAX_WORKERS];
	struct dp_worker *workers[DP_MAX_WORKERS] = { 0 };
	struct rte_ring *out_rings[DP_MAX_WORKERS] = { 0 };
	/* Counter slots: one per worker, then the control thread, the Kafka
	 * source and the fraud thread. */
	const unsigned n_slots = n_workers + 3;
	struct wr_counters *counters = rte_zmalloc("weir_counters",
						   sizeof(struct wr_counters) * n_slots, 64);
	struct ctl_output *output = NULL;
	struct dp_kafka *kafka = NULL;
	struct ctl_fraud *fraud = NULL;
	struct ctl_ctl *ctl = NULL;
	static struct wr_wake fraud_wake = { .fd = -1 };
	struct rte_ring *txn_rings[DP_MAX_WORKERS] = { 0 }, *ans_rings[DP_MAX_WORKERS] = { 0 };
	static struct ctl_fraud_port fports[CTL_MAX_PORTS];
	uint32_t ports_up = 0;
	if (!counters)
		goto out_eal;

	if (dp_shared_init(&shared, n_workers, socket, err, sizeof(err))) {
		fprintf(stderr, "weir: %s\n", err);
		goto out;
	}
	/* Every port listens on the syslog and the clickstream ports. */
	static uint16_t listen_ports[3 * CTL_MAX_UDP_PORTS];
	uint32_t n_listen = 0;
	for (uint32_t i = 0; i < cfg->n_syslog_ports; i++)
		listen_ports[n_listen++] = cfg->syslog_ports[i];
	for (uint32_t i = 0; i < cfg->n_click_ports; i++)
		listen_ports[n_listen++] = cfg->click_ports[i];
	for (uint32_t i = 0; i < cfg->n_txn_ports; i++)
		listen_ports[n_listen++] = cfg->txn_ports[i];
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		const struct ctl_port_cfg *pc = &cfg->ports[p];
		if (dp_port_setup(pc, mp, (uint16_t)n_workers, &pinfo[p], err, sizeof(err))) {
			fprintf(stderr, "weir: %s\n", err);
			goto out;
		}
		ports_up++;
		fports[p] = (struct ctl_fraud_port){ .port_id = pinfo[p].port_id, .mac = pinfo[p].mac };
		struct dp_local_addrs *la = &addrs[p];
		la->mac = pinfo[p].mac;
		la->has_ipv4 = pc->has_ipv4;
		memcpy(la->ipv4, pc->ipv4, 4);
		la->has_ipv6 = pc->has_ipv6;
		memcpy(la->ipv6, pc->ipv6, 16);
		la->accept_any_dst = pc->accept_any_dst;
		la->udp_ports = listen_ports;
		la->n_udp_ports = n_listen;
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		rte_ether_format_addr(mac, sizeof(mac), &la->mac);
		WR_INFO("main", "port '%s' (%s) up: mac %s, %u rx queue(s)%s", pc->name,
			pc->devargs, mac, pinfo[p].rx_queues, pinfo[p].rss ? " with RSS" : "");
	}

	/* Spread (port, queue) inputs over the workers round-robin. */
	for (unsigned i = 0; i < n_workers; i++) {
		wconf[i] = (struct dp_worker_conf){
			.idx = i, .shared = &shared, .cfg = cfg, .rules = rules,
			.cnt = &counters[i], .socket_id = socket, .mp = mp,
		};
	}
	unsigned next = 0;
	for (uint32_t p = 0; p < cfg->n_ports; p++)
		for (uint16_t q = 0; q < pinfo[p].rx_queues; q++) {
			struct dp_worker_conf *wc = &wconf[next++ % n_workers];
			if (wc->n_inputs == DP_MAX_INPUTS)
				continue;
			wc->inputs[wc->n_inputs++] = (struct dp_input){
				.port_id = pinfo[p].port_id, .queue_id = q,
				.tx_queue = (uint16_t)(wc->idx % pinfo[p].tx_queues),
				.addrs = &addrs[p],
			};
		}
	if (ctl_output_create(cfg, rules, &counters[n_workers], &output, err, sizeof(err))) {
		fprintf(stderr, "weir: %s\n", err);
		goto out;
	}
	if (cfg->n_kafka_topics) {
		if (dp_kafka_create(cfg, n_workers, socket, &counters[n_workers + 1],
				    ctl_output_kafka(output), &kafka, err, sizeof(err))) {
			fprintf(stderr, "weir: %s\n", err);
			goto out;
		}
		for (unsigned i = 0; i < n_workers; i++) {
			wconf[i].kafka_in = dp_kafka_in_ring(kafka, i);
			wconf[i].kafka_ret = dp_kafka_ret_ring(kafka, i);
			wconf[i].kafka_inputs = dp_kafka_inputs_per_worker(kafka);
		}
	}
	if (cfg->fraud_enabled) {
		unsigned q = rte_align32pow2(cfg->fraud_queue + 1);
		for (unsigned i = 0; i < n_workers; i++) {
			char name[RTE_RING_NAMESIZE];
			snprintf(name, sizeof(name), "txn_%u", i);
			txn_rings[i] = rte_ring_create_elem(name, sizeof(struct wr_txn_req), q, socket,
							    RING_F_SP_ENQ | RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "ans_%u", i);
			ans_rings[i] = rte_ring_create(name, ANSWER_RING_SIZE, socket,
						       RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!txn_rings[i] || !ans_rings[i]) {
				fprintf(stderr, "weir: fraud rings: %s\n", rte_strerror(rte_errno));
				goto out;
			}
			wconf[i].fraud = txn_rings[i];
			wconf[i].answers = ans_rings[i];
			wconf[i].fraud_wake = &fraud_wake;
		}
		/* the workers' pending filters (wr_txn.h), shared with the fraud thread */
		static uint32_t pend_filters[DP_MAX_WORKERS][WR_TXN_PEND_N];
		static uint32_t *pend[DP_MAX_WORKERS];
		for (unsigned i = 0; i < n_workers; i++)
			pend[i] = pend_filters[i];
		struct ctl_fraud_conf fc = {
			.cfg = cfg, .rings = txn_rings, .replies = ans_rings, .n_rings = n_workers,
			.pend = pend,
			.wake = &fraud_wake, .mp = mp, .ports = fports, .n_ports = cfg->n_ports,
			.cnt = &counters[n_workers + 2], .kafka = ctl_output_kafka(output),
		};
		if (ctl_fraud_create(&fc, &fraud, err, sizeof(err))) {
			fprintf(stderr, "weir: fraud: %s\n", err);
			goto out;
		}
		static struct wr_txn_fast fast;
		fast = (struct wr_txn_fast){ .decide = ctl_fraud_fast, .ctx = fraud };
		for (unsigned i = 0; i < n_workers && cfg->fraud_on_worker; i++) {
			wconf[i].fraud_fast = &fast;
			wconf[i].fraud_pend = pend[i];
		}
	}
	for (unsigned i = 0; i < n_workers; i++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "out_%u", i);
		out_rings[i] = rte_ring_create_elem(name, WR_OUT_CHUNK, OUT_RING_SIZE,
						    socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!out_rings[i]) {
			fprintf(stderr, "weir: output ring: %s\n", rte_strerror(rte_errno));
			goto out;
		}
		wconf[i].out = out_rings[i];
		if (dp_worker_create(&wconf[i], &workers[i], err, sizeof(err))) {
			fprintf(stderr, "weir: %s\n", err);
			goto out;
		}
	}
	ctl_output_attach(output, out_rings, n_workers);
	if (cfg->lock_memory && lock_memory() != 0)
		goto out;

	signal(SIGPIPE, SIG_IGN); /* a closed stdout pipe is a counted sink error */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_hup);
	if (fraud && ctl_fraud_start(fraud)) {
		fprintf(stderr, "weir: cannot start the fraud thread\n");
		goto out;
	}
	unsigned wi = 0, lcore;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		rte_eal_remote_launch(dp_worker_run, workers[wi++], lcore);
	}
	if (kafka && dp_kafka_start(kafka)) {
		fprintf(stderr, "weir: cannot start the Kafka source thread\n");
		got_signal = SIGTERM;
	}
	WR_INFO("main", "running: %u worker(s), %u rule(s), %u kafka topic(s); stop with Ctrl-C",
		n_workers, rules->n, cfg->n_kafka_topics);

	struct stats_view sv = {
		.kafka = cfg->n_kafka_topics || cfg->windows_kafka || cfg->alerts_kafka ||
			 cfg->late_kafka || cfg->sessions_kafka,
		.sessions = cfg->n_click_ports > 0,
		.slack = cfg->slack_webhook_url != NULL,
		.fraud = fraud,
	};
	for (uint32_t i = 0; i < cfg->n_kafka_topics; i++)
		sv.sessions |= cfg->kafka_topics[i].format == CTL_KAFKA_FMT_CLICK;
	static struct ctl_env cenv;
	cenv = (struct ctl_env){ .slots = counters, .cnt = &counters[n_workers], .n_slots = n_slots,
				 .sv = &sv, .fraud = fraud,
				 .last_us = wr_mono_us() };
	if (cfg->control_socket) {
		if (ctl_ctl_open(cfg->control_socket, run_command, &cenv, &counters[n_workers], &ctl,
				 err, sizeof(err)))
			WR_WARN("main", "%s: weirctl will not reach this process", err);
		else
			WR_INFO("main", "control socket %s (weirctl -s %s help)", cfg->control_socket,
				cfg->control_socket);
	}
	uint64_t last_rx = 0, idle_rx = 0;
	int64_t last_stats = wr_mono_us(), idle_since = wr_mono_us();
	while (!got_signal) {
		int64_t advanced = dp_shared_advanced(&shared); /* before the drain */
		ctl_output_poll(output, 10 * WR_US_PER_MS);
		ctl_output_funnel_advance(output, advanced);
		ctl_ctl_poll(ctl, 0);
		if (got_reload) {
			got_reload = 0;
			if (!fraud)
				WR_INFO("main", "SIGHUP: nothing to reload (fraud scoring is off)");
			else
				reload_models(fraud, "SIGHUP", err, sizeof(err));
		}
		int64_t now = wr_mono_us();
		if (cfg->stats_interval_us && now - last_stats >= cfg->stats_interval_us)
			print_stats(counters, n_slots, &sv, &last_rx, &last_stats, false);
		if (cfg->exit_after_idle_us) {
			struct wr_counters t;
			wr_counters_sum(counters, n_slots, &t);
			/* a worker held back by max_input_drift has input it has
			 * not read yet: not idle (it waits for the slow input to
			 * catch up or turn idle) */
			uint64_t activity = t.v[WR_CNT_rx_packets] + t.v[WR_CNT_kafka_in] +
					    t.v[WR_CNT_fraud_decisions] + t.v[WR_CNT_rx_paused];
			if (activity != idle_rx) {
				idle_rx = activity;
				idle_since = now;
			} else if (now - idle_since >= cfg->exit_after_idle_us) {
				WR_INFO("main", "no packet for %lld ms: closing all windows and exiting",
					(long long)(cfg->exit_after_idle_us / WR_US_PER_MS));
				break;
			}
		}
	}
	if (got_signal)
		WR_INFO("main", "signal %d: closing all windows and exiting", (int)got_signal);

	/* Open windows are emitted with what they hold: state is not kept across
	 * restarts yet, so holding them back would lose them. */
	__atomic_store_n(&shared.flush, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&shared.stop, 1, __ATOMIC_RELEASE);
	/* Answers to transactions already received still go out: the workers
	 * keep sending until the fraud thread has decided what they fed it. */
	while (__atomic_load_n(&shared.fed, __ATOMIC_ACQUIRE) < n_workers)
		ctl_output_poll(output, WR_US_PER_MS);
	if (ctl_fraud_quiesce(fraud, cfg->redis_deadline_us + WR_US_PER_SEC))
		WR_WARN("main", "fraud thread still busy at stop: some answers are not sent");
	__atomic_store_n(&shared.answers_done, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&shared.exited, __ATOMIC_ACQUIRE) < n_workers)
		ctl_output_poll(output, WR_US_PER_MS);
	rte_eal_mp_wait_lcore();
	dp_kafka_stop(kafka); /* after the workers: stores the offsets of what they processed */
	/* After the workers: only what ctl_fraud_quiesce timed out on is left
	 * (decided and audited; its answers cannot be sent any more). */
	ctl_fraud_stop(fraud);
	uint32_t undelivered = ctl_output_finish(output, 10 * WR_US_PER_SEC);
	if (undelivered)
		WR_WARN("main", "%u Slack message(s) undelivered at exit", undelivered);
	if (cfg->stats_interval_us)
		print_stats(counters, n_slots, &sv, &last_rx, &last_stats, true);
	if (fraud) {
		struct ctl_fraud_stats fs;
		ctl_fraud_stats(fraud, &fs);
		fprintf(stderr, "weir: fraud: %llu decision(s) by %s; receive to answer p50 %llu "
			"p99 %llu p999 %llu max %llu us; queued for the fraud thread p50 %llu "
			"p99 %llu max %llu us; waiting on Redis p50 %llu p99 %llu max %llu us\n",
			(unsigned long long)fs.decisions, fs.model_version,
			(unsigned long long)fs.lat_p50_us, (unsigned long long)fs.lat_p99_us,
			(unsigned long long)fs.lat_p999_us, (unsigned long long)fs.lat_max_us,
			(unsigned long long)fs.queue_p50_us, (unsigned long long)fs.queue_p99_us,
			(unsigned long long)fs.queue_max_us,
			(unsigned long long)fs.redis_p50_us, (unsigned long long)fs.redis_p99_us,
			(unsigned long long)fs.redis_max_us);
	}
	if (getenv("WEIR_PRINT_COUNTERS"))
		print_counters(stderr, counters, n_slots);
	rc = 0;
out:
	ctl_ctl_close(ctl);
	ctl_fraud_destroy(fraud);
	dp_kafka_destroy(kafka);
	ctl_output_destroy(output);
	for (unsigned i = 0; i < n_workers; i++) {
		dp_worker_destroy(workers[i]);
		rte_ring_free(out_rings[i]);
		rte_ring_free(txn_rings[i]);
		if (ans_rings[i]) {
			void *m = NULL;
			while (rte_ring_dequeue(ans_rings[i], &m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(ans_rings[i]);
		}
	}
	for (uint32_t p = 0; p < ports_up; p++)
		dp_port_close(pinfo[p].port_id);
	dp_shared_free(&shared);
	rte_free(counters);
	rte_mempool_free(mp);
out_eal:
	rte_eal_cleanup();
	rules_set_destroy(rules);
	ctl_config_destroy(cfg);
	return rc;
}
