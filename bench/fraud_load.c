/*
 * fraud_load - UDP load generator and latency meter for weir's fraud path.
 *
 * Usage:
 *   fraud_load --dst IP --port P --rate TXN_PER_S --count N [--users U]
 *              [--bind IP] [--warmup N] [--out FILE] [--seed S]
 *   fraud_load --dst IP --port P --sweep R1,R2,... --count N [...]
 *   fraud_load --memif SOCKET --dst-mac MAC --dst IP --port P ... (see below)
 * Example (inside weir's network namespace):
 *   fraud_load --dst 10.0.0.2 --port 9000 --sweep 10000,20000,50000,100000 --count 200000
 *
 * With plain sockets it needs libc only, so it runs in a bare network
 * namespace. --memif SOCKET instead sends raw frames on a DPDK memif port
 * (this program is the client, weir's port "net_memif0,role=server,
 * socket=SOCKET" the server; --dst-mac is that port's MAC, the frames come
 * from 192.0.2.1 or --bind): no kernel network path on either side, which on
 * a small box otherwise takes a CPU of its own at 100 k/s. In that mode the
 * sender spins between sends (run it at normal priority next to real-time
 * threads), answers weir's ARP requests, and RTT ends when it reads the
 * answer. All
 * payloads are made before the clock starts: U users with habits (a home
 * country and currency, four usual merchants, a typical amount), skewed so
 * a fifth of the users send about half the traffic; ts is epoch millis,
 * "now" at generation plus the send schedule, so non-decreasing. Ids are
 * t<index>, counted across warmup, runs and sweep steps, so a late reply of
 * one run is never matched to another.
 *
 * Open loop: transaction i goes out at start + i / rate (CLOCK_MONOTONIC);
 * between sends the one thread drains replies without blocking, and sleeps
 * in ppoll() unless the next send is less than 4 us away (timer slack set to
 * 1 ns), so it leaves the CPU to what it measures. Everything due when it
 * wakes goes out in one sendmmsg(2) (up to 32), and replies are read up to
 * 32 per recvmmsg(2): with one sendto and one recvmsg per transaction the
 * sender topped out near 37 k/s here. A sender that falls behind sends at
 * once (max lag printed); RTT is taken from the real send time.
 *
 * RTT = kernel receive timestamp (SO_TIMESTAMPNS) - CLOCK_REALTIME read just
 * before the sendmmsg() that sent it: both on the realtime clock, and the receive side does not
 * include this program's own wake-up delay. A clock step during a run
 * corrupts the figures of that run.
 *
 * Output per run: sent, replies, errors (decision ERROR), lost (no reply 1 s
 * after the last send), degraded replies, duplicates, unmatched replies;
 * RTT p50/p99/p999 over all measured transactions with a lost one counted
 * as infinitely late (so p99 < x implies under 1 % lost), max over replies;
 * p50/p99/p999 of weir's own latency_us (receive to send) over the replies
 * that carry it. --sweep prints one line per rate and the highest rate
 * whose p99 RTT was under 1000 us.
 * --out FILE: one TSV line per measured transaction: rate, txn_id, rtt_us
 * (- when lost), latency_us (- when absent), decision, degraded.
 *
 * Exit status: 0 done, 1 socket or memory failure, 2 bad arguments.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sendmmsg, recvmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "bench_util.h"

#define PAYLOAD_MAX 224         /* longest generated transaction, with margin */
#define MAX_COUNT 20000000L     /* payloads are kept in memory: 20 M = 4.5 GB */
#define MAX_SWEEP 64
#define DRAIN_NS 1000000000LL   /* wait for replies after the last send */
/* Closer than this to a send: spin. Small, because the generator shares a
 * 2-vCPU machine with weir's control threads and Redis: a spinning sender
 * would take the CPU they answer with and measure itself. */
#define SLEEP_MIN_NS 4000LL
#define IO_BATCH 32             /* datagrams per sendmmsg / recvmmsg */
#define P99_LIMIT_US 1000.0     /* sweep: the latency target */

struct country {
	const char *code, *currency;
	unsigned weight;
};

/* Home countries weighted roughly like the demo model's training data. */
static const struct country countries[] = {
	{ "US", "USD", 30 }, { "GB", "GBP", 12 }, { "DE", "EUR", 12 }, { "FR", "EUR", 10 },
	{ "ES", "EUR", 6 },  { "IT", "EUR", 6 },  { "NL", "EUR", 5 },  { "SE", "SEK", 3 },
	{ "PL", "PLN", 4 },  { "BR", "BRL", 4 },  { "MX", "MXN", 3 },  { "IN", "INR", 2 },
	{ "JP", "JPY", 1 },
};
#define N_COUNTRIES (sizeof(countries) / sizeof(countries[0]))
#define N_MERCHANTS 3000

struct user {
	uint8_t home;
	uint16_t merchants[4];
	float median;
};

struct opts {
	const char *dst, *bind_ip, *out, *memif, *dst_mac;
	int port;
	double rates[MAX_SWEEP];
	int n_rates;
	bool sweep;
	long count, warmup, users;
	uint64_t seed;
};

/* Per measured transaction. */
struct result {
	int64_t rtt_ns;         /* -1: no reply */
	int32_t latency_us;     /* -1: reply without latency_us */
	uint8_t error, degraded;
};

struct run_stats {
	double rate, sent_rate, max_lag_us;
	long sent, send_fail, replies, errors, degraded, dup, unmatched, lost;
	double rtt_p50, rtt_p99, rtt_p999, rtt_max;
	double lat_p50, lat_p99, lat_p999;
};

/* How transactions go out and answers come back: a UDP socket (fd >= 0),
 * or frames on a DPDK memif port (fd < 0). */
struct xport {
	int fd;
	const struct sockaddr_in *dst;
	uint16_t port_id;
	struct rte_mempool *mp;
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t src_ip, dst_ip;        /* network order */
	uint16_t sport, dport;          /* network order */
	uint16_t ip_id;
};

static double gauss(void)
{
	double u = bench_uniform01(), v = bench_uniform01();
	return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned pick_country(void)
{
	unsigned total = 0;
	for (unsigned i = 0; i < N_COUNTRIES; i++)
		total += countries[i].weight;
	unsigned r = (unsigned)(bench_rand() % total);
	for (unsigned i = 0; i < N_COUNTRIES; i++) {
		if (r < countries[i].weight)
			return i;
		r -= countries[i].weight;
	}
	return 0;
}

/* Popular merchants are shared by many users: a squared uniform skews low. */
static unsigned pick_merchant(void)
{
	double u = bench_uniform01();
	return (unsigned)(u * u * N_MERCHANTS);
}

static struct user *make_users(long n)
{
	struct user *u = calloc((size_t)n, sizeof(*u));
	if (!u)
		return NULL;
	for (long i = 0; i < n; i++) {
		u[i].home = (uint8_t)pick_country();
		for (int k = 0; k < 4; k++)
			u[i].merchants[k] = (uint16_t)pick_merchant();
		u[i].median = (float)exp(3.4 + 0.8 * gauss());
	}
	return u;
}

/*
 * Payload of transaction @idx sent @offset_ns after the start; @epoch_ms is
 * the wall clock at generation. Returns its length (< PAYLOAD_MAX).
 */
static int make_txn(char *buf, long idx, const struct user *users, long n_users, int64_t epoch_ms,
		    int64_t offset_ns)
{
	double r = bench_uniform01();
	long uid = (long)(r * r * (double)n_users);
	const struct user *u = &users[uid];
	double amount = u->median * exp(0.5 * gauss());
	if (bench_uniform01() < 0.02)
		amount *= 4 + 6 * bench_uniform01(); /* the occasional big purchase */
	unsigned c = u->home;
	if (bench_uniform01() < 0.03)
		c = pick_country(); /* travel or a foreign online merchant */
	unsigned merchant = bench_uniform01() < 0.85 ? u->merchants[bench_rand() % 4] : pick_merchant();
	return snprintf(buf, PAYLOAD_MAX,
			"{\"txn_id\":\"t%ld\",\"user_id\":\"u%ld\",\"amount\":%.2f,\"currency\":\"%s\","
			"\"merchant\":\"m-%u\",\"country\":\"%s\",\"ts\":%" PRId64 "}",
			idx, uid, amount, countries[u->home].currency, merchant, countries[c].code,
			epoch_ms + offset_ns / 1000000);
}

/* Value after "key": in a reply (spaces after the colon allowed), or NULL. */
static const char *json_value(const char *buf, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(buf, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

struct run {
	struct xport *x;
	long base, warmup, n_total;     /* ids base .. base + n_total - 1 */
	int64_t *tx_rt;                 /* realtime send ns per transaction, 0 = not sent */
	struct result *res;             /* measured ones: index - base - warmup */
	long replied, dup, unmatched;
};

/* Record one reply of @n bytes in @buf (NUL-terminated), received at @rx
 * (realtime ns, -1 = no kernel stamp). */
static void take_reply(struct run *r, char *buf, int64_t rx)
{
	if (rx < 0)
		rx = clock_ns(CLOCK_REALTIME); /* no kernel stamp: our own, a bit late */
	const char *v = json_value(buf, "txn_id");
	char *end;
	long id = -1;
	if (v && v[0] == '"' && v[1] == 't') {
		errno = 0;
		id = strtol(v + 2, &end, 10);
		if (errno || end == v + 2 || *end != '"')
			id = -1;
	}
	long j = id - r->base;
	if (id < 0 || j < 0 || j >= r->n_total || !r->tx_rt[j]) {
		r->unmatched++; /* another run's, txn_id null, or garbage */
		return;
	}
	if (j < r->warmup)
		return;
	struct result *res = &r->res[j - r->warmup];
	if (res->rtt_ns >= 0) {
		r->dup++;
		return;
	}
	res->rtt_ns = rx - r->tx_rt[j];
	r->replied++;
	v = json_value(buf, "latency_us");
	if (v) {
		long lat = strtol(v, &end, 10);
		if (end != v && lat >= 0 && lat <= INT32_MAX)
			res->latency_us = (int32_t)lat;
	}
	v = json_value(buf, "decision");
	res->error = v && !strncmp(v, "\"ERROR\"", 7);
	v = json_value(buf, "degraded");
	res->degraded = v && !strncmp(v, "true", 4);
}

/*
 * Read every pending reply, up to IO_BATCH per recvmmsg(2): the sender
 * shares its CPU with what it measures here, so it spends as few system
 * calls as it can. Returns 0 or -errno of a failed receive.
 */
static void memif_answer_arp(struct xport *x, struct rte_mbuf *m);

/* drain() for memif: the UDP answers of the frames waiting on the port. */
static void memif_drain(struct run *r)
{
	static char buf[2048];
	struct rte_mbuf *pkts[IO_BATCH];
	uint16_t n;

	do {
		n = rte_eth_rx_burst(r->x->port_id, 0, pkts, IO_BATCH);
		int64_t rx = clock_ns(CLOCK_REALTIME);
		for (uint16_t k = 0; k < n; k++) {
			struct rte_mbuf *m = pkts[k];
			const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
			uint32_t len = rte_pktmbuf_data_len(m);
			const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)d;

			if (len >= sizeof(*eh) && eh->ether_type == htons(RTE_ETHER_TYPE_ARP)) {
				memif_answer_arp(r->x, m);
				continue;
			}
			if (len >= sizeof(*eh) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) &&
			    eh->ether_type == htons(RTE_ETHER_TYPE_IPV4)) {
				const struct rte_ipv4_hdr *ip = (const void *)(d + sizeof(*eh));
				uint32_t ihl = (ip->version_ihl & 0x0f) * 4u;
				uint32_t off = (uint32_t)sizeof(*eh) + ihl + (uint32_t)sizeof(struct rte_udp_hdr);

				if (ip->next_proto_id == IPPROTO_UDP && off <= len &&
				    len - off < sizeof(buf)) {
					memcpy(buf, d + off, len - off);
					buf[len - off] = '\0';
					take_reply(r, buf, rx);
				}
			}
			rte_pktmbuf_free(m);
		}
	} while (n == IO_BATCH);
}

static int drain(struct run *r)
{
	static char buf[IO_BATCH][2048];
	static char ctrl[IO_BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov[IO_BATCH];
	struct mmsghdr mm[IO_BATCH];

	for (;;) {
		for (int k = 0; k < IO_BATCH; k++) {
			iov[k] = (struct iovec){ .iov_base = buf[k], .iov_len = sizeof(buf[k]) - 1 };
			mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1,
							       .msg_control = ctrl[k],
							       .msg_controllen = sizeof(ctrl[k]) } };
		}
		if (r->x->fd < 0) {
			memif_drain(r);
			return 0;
		}
		int got = recvmmsg(r->x->fd, mm, IO_BATCH, MSG_DONTWAIT, NULL);
		if (got < 0 && errno == ECONNREFUSED)
			continue; /* an ICMP port unreachable from an earlier send: weir not up yet */
		if (got < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
		for (int k = 0; k < got; k++) {
			int64_t rx = -1;
			struct msghdr *mh = &mm[k].msg_hdr;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof(ts));
					rx = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
				}
			}
			buf[k][mm[k].msg_len] = '\0';
			take_reply(r, buf[k], rx);
		}
		if (got < IO_BATCH)
			return 0;
	}
}

/* Wait for a reply or until @until_mono_ns, whichever first (memif: the
 * caller spins instead). */
static void wait_readable(int fd, int64_t until_mono_ns)
{
	if (fd < 0)
		return;
	int64_t left = until_mono_ns - clock_ns(CLOCK_MONOTONIC);
	if (left <= 0)
		return;
	struct timespec ts = { .tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	(void)ppoll(&pfd, 1, &ts, NULL);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of @n sorted values, out of @total (the rest are +inf). */
static double pct(const int64_t *v, long n, long total, double p)
{
	if (total == 0)
		return NAN;
	long k = (long)ceil(p * (double)total) - 1;
	if (k < 0)
		k = 0;
	return k < n ? (double)v[k] : INFINITY;
}

/* Answer an ARP request for our address (weir resolves the sender before
 * it answers); frees @m. */
static void memif_answer_arp(struct xport *x, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);

	if (rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(*a) ||
	    a->arp_opcode != htons(RTE_ARP_OP_REQUEST) || a->arp_data.arp_tip != x->src_ip) {
		rte_pktmbuf_free(m);
		return;
	}
	eh->dst_addr = eh->src_addr;
	eh->src_addr = x->src_mac;
	a->arp_opcode = htons(RTE_ARP_OP_REPLY);
	a->arp_data.arp_tha = a->arp_data.arp_sha;
	a->arp_data.arp_tip = a->arp_data.arp_sip;
	a->arp_data.arp_sha = x->src_mac;
	a->arp_data.arp_sip = x->src_ip;
	if (rte_eth_tx_burst(x->port_id, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* Send the @m payloads at @p (PAYLOAD_MAX apart, lengths @len). Returns how
 * many went, or -errno of a socket failure (ENOBUFS and the like count as
 * sent-and-lost by the caller). */
static int xport_send(struct xport *x, const char *p, const uint16_t *len, int m)
{
	if (x->fd >= 0) {
		struct mmsghdr mm[IO_BATCH];
		struct iovec iov[IO_BATCH];
		for (int k = 0; k < m; k++) {
			iov[k] = (struct iovec){ .iov_base = (void *)(p + (size_t)k * PAYLOAD_MAX),
						 .iov_len = len[k] };
			mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_name = (void *)x->dst,
							       .msg_namelen = sizeof(*x->dst),
							       .msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		return sendmmsg(x->fd, mm, (unsigned)m, 0) < 0 ? -errno : m;
	}
	struct rte_mbuf *pkts[IO_BATCH];
	if (rte_pktmbuf_alloc_bulk(x->mp, pkts, (unsigned)m) != 0)
		return -ENOBUFS;
	for (int k = 0; k < m; k++) {
		size_t hl = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
			    sizeof(struct rte_udp_hdr);
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(pkts[k], (uint16_t)(hl + len[k]));
		struct rte_ether_hdr *eh = (struct rte_ether_hdr *)d;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		eh->dst_addr = x->dst_mac;
		eh->src_addr = x->src_mac;
		eh->ether_type = htons(RTE_ETHER_TYPE_IPV4);
		*ip = (struct rte_ipv4_hdr){
			.version_ihl = 0x45, .total_length = htons((uint16_t)(hl - sizeof(*eh) + len[k])),
			.packet_id = htons(x->ip_id++), .time_to_live = 64,
			.next_proto_id = IPPROTO_UDP, .src_addr = x->src_ip, .dst_addr = x->dst_ip,
		};
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		*udp = (struct rte_udp_hdr){ .src_port = x->sport, .dst_port = x->dport,
					     .dgram_len = htons((uint16_t)(sizeof(*udp) + len[k])) };
		memcpy(udp + 1, p + (size_t)k * PAYLOAD_MAX, len[k]);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
	uint16_t sent = rte_eth_tx_burst(x->port_id, 0, pkts, (uint16_t)m);
	for (int k = sent; k < m; k++)
		rte_pktmbuf_free(pkts[k]);
	return sent;
}

/*
 * One paced run of @warmup + @count transactions from id @base at @rate.
 * Returns 0 (figures in *st) or -errno of a socket failure.
 */
static int run_rate(const struct opts *o, struct xport *x, const struct user *users, long base,
		    double rate, FILE *out, struct run_stats *st)
{
	long n_total = o->warmup + o->count;
	char *payload = malloc((size_t)n_total * PAYLOAD_MAX);
	uint16_t *len = malloc((size_t)n_total * sizeof(*len));
	int64_t *tx_rt = calloc((size_t)n_total, sizeof(*tx_rt));
	struct result *res = malloc((size_t)o->count * sizeof(*res));
	int64_t *sorted = malloc((size_t)o->count * sizeof(*sorted));
	int rc = 0;
	if (!payload || !len || !tx_rt || !res || !sorted) {
		rc = -ENOMEM;
		goto out;
	}
	int64_t epoch_ms = clock_ns(CLOCK_REALTIME) / 1000000;
	for (long i = 0; i < n_total; i++)
		len[i] = (uint16_t)make_txn(payload + (size_t)i * PAYLOAD_MAX, base + i, users, o->users,
					     epoch_ms, (int64_t)((double)i * 1e9 / rate));
	for (long i = 0; i < o->count; i++)
		res[i] = (struct result){ .rtt_ns = -1, .latency_us = -1 };

	struct run r = { .x = x, .base = base, .warmup = o->warmup, .n_total = n_total,
			 .tx_rt = tx_rt, .res = res };
	memset(st, 0, sizeof(*st));
	st->rate = rate;
	int64_t start = clock_ns(CLOCK_MONOTONIC) + 1000000, max_lag = 0, now = start;
	for (long i = 0; i < n_total;) {
		int64_t target = start + (int64_t)((double)i * 1e9 / rate);
		for (;;) {
			if ((rc = drain(&r)))
				goto out;
			now = clock_ns(CLOCK_MONOTONIC);
			if (now >= target)
				break;
			if (target - now > SLEEP_MIN_NS)
				wait_readable(x->fd, target - SLEEP_MIN_NS / 2);
		}
		if (now - target > max_lag)
			max_lag = now - target;
		/* Every transaction due by now goes out in one sendmmsg(2) (at most
		 * IO_BATCH): at 100 k/s a wake-up is late by more than the 10 us
		 * between two. Their send time is read once, before the call, so
		 * a later one's RTT includes the few us it waited in the batch. */
		long m = 1;
		while (m < IO_BATCH && i + m < n_total &&
		       start + (int64_t)((double)(i + m) * 1e9 / rate) <= now)
			m++;
		int64_t t = clock_ns(CLOCK_REALTIME);
		int sent = xport_send(x, payload + (size_t)i * PAYLOAD_MAX, len + i, (int)m);
		if (sent <= 0) {
			/* A full local queue loses this one, as the network would. */
			if (sent < 0 && sent != -ENOBUFS && sent != -EAGAIN && sent != -ECONNREFUSED) {
				rc = sent;
				goto out;
			}
			if (i >= o->warmup)
				st->send_fail++;
			i++;
			continue;
		}
		for (long k = 0; k < sent; k++) {
			tx_rt[i + k] = t;
			if (i + k >= o->warmup)
				st->sent++;
		}
		i += sent > 0 ? sent : 1;
	}
	int64_t last = clock_ns(CLOCK_MONOTONIC);
	int64_t first_measured = start + (int64_t)((double)o->warmup * 1e9 / rate);
	st->sent_rate = last > first_measured ? (double)st->sent * 1e9 / (double)(last - first_measured)
					      : NAN;
	while (r.replied < st->sent && clock_ns(CLOCK_MONOTONIC) < last + DRAIN_NS) {
		wait_readable(x->fd, last + DRAIN_NS);
		if ((rc = drain(&r)))
			goto out;
	}

	long n = 0, n_lat = 0;
	for (long i = 0; i < o->count; i++) {
		if (res[i].rtt_ns < 0)
			continue;
		sorted[n++] = res[i].rtt_ns;
		st->errors += res[i].error;
		st->degraded += res[i].degraded;
	}
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_i64);
	st->replies = n;
	st->lost = st->sent - n;
	st->rtt_p50 = pct(sorted, n, st->sent, 0.50) / 1e3;
	st->rtt_p99 = pct(sorted, n, st->sent, 0.99) / 1e3;
	st->rtt_p999 = pct(sorted, n, st->sent, 0.999) / 1e3;
	st->rtt_max = n ? (double)sorted[n - 1] / 1e3 : NAN;
	for (long i = 0; i < o->count; i++)
		if (res[i].rtt_ns >= 0 && res[i].latency_us >= 0)
			sorted[n_lat++] = res[i].latency_us;
	qsort(sorted, (size_t)n_lat, sizeof(*sorted), cmp_i64);
	st->lat_p50 = pct(sorted, n_lat, n_lat, 0.50);
	st->lat_p99 = pct(sorted, n_lat, n_lat, 0.99);
	st->lat_p999 = pct(sorted, n_lat, n_lat, 0.999);
	st->max_lag_us = (double)max_lag / 1e3;
	st->dup = r.dup;
	st->unmatched = r.unmatched;

	if (out) {
		for (long i = 0; i < o->count; i++) {
			const struct result *x = &res[i];
			fprintf(out, "%.0f\tt%ld\t", rate, base + o->warmup + i);
			if (x->rtt_ns >= 0)
				fprintf(out, "%.1f\t", (double)x->rtt_ns / 1e3);
			else
				fputs(tx_rt[o->warmup + i] ? "-\t" : "unsent\t", out);
			if (x->latency_us >= 0)
				fprintf(out, "%d\t", x->latency_us);
			else
				fputs("-\t", out);
			fprintf(out, "%s\t%d\n", x->rtt_ns < 0 ? "-" : x->error ? "ERROR" : "ok",
				x->degraded);
		}
	}
out:
	free(payload);
	free(len);
	free(tx_rt);
	free(res);
	free(sorted);
	return rc;
}

static void print_stats(const struct run_stats *s)
{
	printf("rate %.0f/s (sent at %.0f/s, max lag %.0f us): sent %ld replies %ld errors %ld lost %ld "
	       "degraded %ld dup %ld unmatched %ld send_fail %ld | rtt_us p50 %.1f p99 %.1f p999 %.1f "
	       "max %.1f | weir latency_us p50 %.0f p99 %.0f p999 %.0f\n",
	       s->rate, s->sent_rate, s->max_lag_us, s->sent, s->replies, s->errors, s->lost,
	       s->degraded, s->dup, s->unmatched, s->send_fail, s->rtt_p50, s->rtt_p99, s->rtt_p999,
	       s->rtt_max, s->lat_p50, s->lat_p99, s->lat_p999);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fraud_load --dst IP --port P (--rate TXN_PER_S | --sweep R1,R2,...) --count N\n"
		"                  [--users U (1000)] [--bind IP] [--warmup N (0)] [--out FILE] "
		"[--seed S]\n"
		"                  [--memif SOCKET --dst-mac MAC]\n");
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = (long)v;
	return true;
}

static bool parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 1 && v <= 1e8))
		return false;
	*out = v;
	return true;
}

/* Returns 0, or 2 with the reason on stderr. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .port = -1, .users = 1000, .seed = 88172645463325252ull };
	bool have_rate = false;
	long v;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "fraud_load: %s needs a value\n", a);
			return 2;
		}
		const char *val = argv[++i];
		if (!strcmp(a, "--dst")) {
			o->dst = val;
		} else if (!strcmp(a, "--bind")) {
			o->bind_ip = val;
		} else if (!strcmp(a, "--memif")) {
			o->memif = val;
		} else if (!strcmp(a, "--dst-mac")) {
			o->dst_mac = val;
		} else if (!strcmp(a, "--out")) {
			o->out = val;
		} else if (!strcmp(a, "--port")) {
			if (!parse_long(val, 1, 65535, &v)) {
				fprintf(stderr, "fraud_load: bad --port '%s' (1..65535)\n", val);
				return 2;
			}
			o->port = (int)v;
		} else if (!strcmp(a, "--rate")) {
			if (!parse_rate(val, &o->rates[0])) {
				fprintf(stderr, "fraud_load: bad --rate '%s' (1 .. 1e8 txn/s)\n", val);
				return 2;
			}
			o->n_rates = 1;
			have_rate = true;
		} else if (!strcmp(a, "--sweep")) {
			char tmp[1024];
			if (strlen(val) >= sizeof(tmp)) {
				fprintf(stderr, "fraud_load: --sweep list too long\n");
				return 2;
			}
			strcpy(tmp, val);
			o->n_rates = 0;
			for (char *save, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (o->n_rates == MAX_SWEEP || !parse_rate(t, &o->rates[o->n_rates])) {
					fprintf(stderr, "fraud_load: bad --sweep rate '%s' (1 .. 1e8, at most "
							"%d rates)\n", t, MAX_SWEEP);
					return 2;
				}
				o->n_rates++;
			}
			if (!o->n_rates) {
				fprintf(stderr, "fraud_load: --sweep '%s' holds no rate\n", val);
				return 2;
			}
			o->sweep = true;
		} else if (!strcmp(a, "--count")) {
			if (!parse_long(val, 1, MAX_COUNT, &o->count)) {
				fprintf(stderr, "fraud_load: bad --count '%s' (1..%ld)\n", val, MAX_COUNT);
				return 2;
			}
		} else if (!strcmp(a, "--warmup")) {
			if (!parse_long(val, 0, MAX_COUNT, &o->warmup)) {
				fprintf(stderr, "fraud_load: bad --warmup '%s' (0..%ld)\n", val, MAX_COUNT);
				return 2;
			}
		} else if (!strcmp(a, "--users")) {
			if (!parse_long(val, 1, 100000000, &o->users)) {
				fprintf(stderr, "fraud_load: bad --users '%s' (1..100000000)\n", val);
				return 2;
			}
		} else if (!strcmp(a, "--seed")) {
			if (!parse_long(val, 1, LONG_MAX, &v)) {
				fprintf(stderr, "fraud_load: bad --seed '%s' (positive)\n", val);
				return 2;
			}
			o->seed = (uint64_t)v;
		} else {
			fprintf(stderr, "fraud_load: unknown argument '%s'\n", a);
			usage();
			return 2;
		}
	}
	const char *missing = !o->dst ? "--dst" : o->port < 0 ? "--port" : !o->count ? "--count"
			      : !o->n_rates ? "--rate or --sweep" : NULL;
	if (missing) {
		fprintf(stderr, "fraud_load: %s is required\n", missing);
		usage();
		return 2;
	}
	if (o->memif && !o->dst_mac) {
		fprintf(stderr, "fraud_load: --memif needs --dst-mac (weir's port)\n");
		return 2;
	}
	if (have_rate && o->sweep) {
		fprintf(stderr, "fraud_load: give --rate or --sweep, not both\n");
		return 2;
	}
	if (o->warmup + o->count > MAX_COUNT) {
		fprintf(stderr, "fraud_load: --warmup + --count above %ld\n", MAX_COUNT);
		return 2;
	}
	return 0;
}

/* The UDP socket bound to @src, with receive timestamps and big buffers;
 * -1 on failure (reason on stderr). */
static int udp_open(const struct opts *o, const struct sockaddr_in *src)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("fraud_load: socket");
		return -1;
	}
	/* Not connect()ed: weir may answer from another port than it listens on. */
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0) {
		fprintf(stderr, "fraud_load: bind %s: %s\n", o->bind_ip ? o->bind_ip : "0.0.0.0",
			strerror(errno));
		close(fd);
		return -1;
	}
	int one = 1, big = 16 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		fprintf(stderr, "fraud_load: warning: no kernel receive timestamps (%s); RTT includes "
				"this program's wake-up delay\n", strerror(errno));
	/* A reply burst must not overflow while we are sending; FORCE needs
	 * CAP_NET_ADMIN (fine in a namespace), the plain one is capped by rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return fd;
}

/* DPDK on CPU 0 without hugepages, one memif client port on @o->memif,
 * up and connected to weir's. Returns 0, or 1 with the reason on stderr. */
static int memif_open(const struct opts *o, struct xport *x, const struct sockaddr_in *src,
		      const struct sockaddr_in *dst)
{
	char vdev[512], prefix[64];
	snprintf(vdev, sizeof(vdev), "net_memif0,role=client,socket=%s,mac=02:00:00:00:00:01",
		 o->memif);
	/* --no-huge rules out --in-memory: a runtime directory of its own */
	snprintf(prefix, sizeof(prefix), "fraud_load_%d", (int)getpid());
	char *eal[] = { "fraud_load", "-l", "0", "--no-pci", "--no-huge", "-m", "256",
			"--file-prefix", prefix, "--log-level=lib.eal:error", "--vdev", vdev };
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		fprintf(stderr, "fraud_load: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (rte_ether_unformat_addr(o->dst_mac, &x->dst_mac) != 0) {
		fprintf(stderr, "fraud_load: bad --dst-mac '%s'\n", o->dst_mac);
		return 1;
	}
	x->mp = rte_pktmbuf_pool_create("fl_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct rte_eth_conf conf = { 0 };
	x->port_id = 0;
	if (!x->mp || rte_eth_dev_configure(x->port_id, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(x->port_id, 0, 1024, 0, NULL, x->mp) != 0 ||
	    rte_eth_tx_queue_setup(x->port_id, 0, 1024, 0, NULL) != 0 ||
	    rte_eth_dev_start(x->port_id) != 0 ||
	    rte_eth_macaddr_get(x->port_id, &x->src_mac) != 0) {
		fprintf(stderr, "fraud_load: memif port setup failed\n");
		return 1;
	}
	struct rte_eth_link link = { 0 };
	for (int t = 0; t < 100 && !link.link_status; t++) {
		usleep(100000);
		rte_eth_link_get_nowait(x->port_id, &link);
	}
	if (!link.link_status) {
		fprintf(stderr, "fraud_load: memif %s: no connection to weir in 10 s\n", o->memif);
		return 1;
	}
	x->src_ip = src->sin_addr.s_addr ? src->sin_addr.s_addr : htonl(0xc0000201); /* 192.0.2.1 */
	x->dst_ip = dst->sin_addr.s_addr;
	x->sport = htons(40000);
	x->dport = dst->sin_port;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	bench_rng = o.seed;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* precise sleeps between sends */

	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o.port) };
	if (inet_pton(AF_INET, o.dst, &dst.sin_addr) != 1) {
		fprintf(stderr, "fraud_load: --dst '%s' is not an IPv4 address\n", o.dst);
		return 2;
	}
	struct sockaddr_in src = { .sin_family = AF_INET };
	if (o.bind_ip && inet_pton(AF_INET, o.bind_ip, &src.sin_addr) != 1) {
		fprintf(stderr, "fraud_load: --bind '%s' is not an IPv4 address\n", o.bind_ip);
		return 2;
	}
	struct xport x = { .fd = -1, .dst = &dst };
	if (o.memif) {
		if (memif_open(&o, &x, &src, &dst))
			return 1;
	} else if ((x.fd = udp_open(&o, &src)) < 0) {
		return 1;
	}

	FILE *out = NULL;
	if (o.out && !(out = fopen(o.out, "w"))) {
		fprintf(stderr, "fraud_load: cannot write --out %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	if (out)
		fputs("rate\ttxn_id\trtt_us\tlatency_us\tdecision\tdegraded\n", out);
	struct user *users = make_users(o.users);
	if (!users) {
		fprintf(stderr, "fraud_load: out of memory for %ld users\n", o.users);
		return 1;
	}
	printf("fraud_load: %s:%d, %ld transactions per rate (+%ld warmup), %ld users\n", o.dst, o.port,
	       o.count, o.warmup, o.users);
	double best = -1;
	long base = 0;
	for (int k = 0; k < o.n_rates; k++) {
		struct run_stats st;
		rc = run_rate(&o, &x, users, base, o.rates[k], out, &st);
		if (rc) {
			fprintf(stderr, "fraud_load: at rate %.0f: %s\n", o.rates[k], strerror(-rc));
			break;
		}
		base += o.warmup + o.count;
		print_stats(&st);
		if (st.rtt_p99 < P99_LIMIT_US && o.rates[k] > best)
			best = o.rates[k];
	}
	if (o.sweep && !rc) {
		if (best > 0)
			printf("max rate with p99 RTT < %.0f us: %.0f txn/s\n", P99_LIMIT_US, best);
		else
			printf("max rate with p99 RTT < %.0f us: none of the rates tried\n", P99_LIMIT_US);
	}
	free(users);
	if (out && fclose(out)) {
		fprintf(stderr, "fraud_load: writing %s: %s\n", o.out, strerror(errno));
		rc = -EIO;
	}
	if (x.fd >= 0) {
		close(x.fd);
	} else {
		(void)rte_eth_dev_stop(x.port_id);
		(void)rte_eth_dev_close(x.port_id);
		rte_eal_cleanup();
	}
	return rc ? 1 : 0;
}
