/*
 * dp_test_pkt.h - byte-by-byte packet builders for the dataplane unit tests
 * (test_decode, test_frag), and EAL/mempool setup.
 *
 * Checksums here are computed independently of the code under test: plain
 * big-endian 16-bit word sums, no DPDK helpers.
 */
#ifndef DP_TEST_PKT_H
#define DP_TEST_PKT_H

#include <stdint.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp_decode.h"
#include "wr_counters.h"

#define TP_UNUSED __attribute__((unused))

static const uint8_t tp_mac_us[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t tp_mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t tp_mac_other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t tp_mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t tp_ip4_us[4] = { 192, 0, 2, 1 };
static const uint8_t tp_ip4_peer[4] = { 192, 0, 2, 2 };
static const uint8_t tp_ip4_other[4] = { 192, 0, 2, 77 };
static const uint8_t tp_ip6_us[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
				       0x00, 0xab, 0xcd, 0x01 };
static const uint8_t tp_ip6_peer[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 0x02 };
static const uint8_t tp_ip6_other[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
					  0, 0, 0, 0x77 };
static const uint16_t tp_ports[] = { 514, 6514 };

static struct rte_mempool *tp_pool;

/*
 * EAL once per process, then a pool of single-buffer mbufs. @prefix keeps
 * runners that meson starts in parallel apart. No --in-memory: DPDK 22.11
 * refuses it together with --no-huge (which implies legacy memory).
 */
static TP_UNUSED int tp_setup(char *prefix)
{
	char *argv[] = { "test", "--no-huge", "--no-pci", "-m", "256",
			 "--log-level=error", "--no-shconf", "--file-prefix", prefix };

	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv) < 0)
		return -1;
	tp_pool = rte_pktmbuf_pool_create("tp_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	return tp_pool ? 0 : -1;
}

static TP_UNUSED void tp_local(struct dp_local_addrs *la)
{
	memset(la, 0, sizeof(*la));
	memcpy(la->mac.addr_bytes, tp_mac_us, 6);
	la->has_ipv4 = true;
	memcpy(la->ipv4, tp_ip4_us, 4);
	la->has_ipv6 = true;
	memcpy(la->ipv6, tp_ip6_us, 16);
	la->udp_ports = tp_ports;
	la->n_udp_ports = 2;
}

/* ---- checksums ---- */

static TP_UNUSED uint32_t tp_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static TP_UNUSED uint16_t tp_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static TP_UNUSED void tp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static TP_UNUSED uint16_t tp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Sum of an IPv4 or IPv6 pseudo header (version from @alen 4 or 16). */
static TP_UNUSED uint32_t tp_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen,
				    uint8_t proto, uint32_t len)
{
	uint32_t s = tp_sum(src, alen, 0);
	s = tp_sum(dst, alen, s);
	return s + proto + (len >> 16) + (len & 0xffff);
}

/* ---- headers; each returns the bytes written ---- */

static TP_UNUSED size_t tp_eth(uint8_t *b, const uint8_t *dst, const uint8_t *src, int ntags,
			       const uint16_t *tpids, const uint16_t *vids, uint16_t type)
{
	size_t o = 12;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	for (int i = 0; i < ntags; i++) {
		tp_put16(b + o, tpids[i]);
		tp_put16(b + o + 2, vids[i]);
		o += 4;
	}
	tp_put16(b + o, type);
	return o + 2;
}

/* IPv4 header with @optlen option bytes (multiple of 4) and a valid checksum. */
static TP_UNUSED size_t tp_ipv4(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto,
				uint16_t id, uint16_t frag, uint16_t payload_len,
				const uint8_t *opts, size_t optlen)
{
	size_t hl = 20 + optlen;

	memset(b, 0, hl);
	b[0] = (uint8_t)(0x40 | (hl / 4));
	tp_put16(b + 2, (uint16_t)(hl + payload_len));
	tp_put16(b + 4, id);
	tp_put16(b + 6, frag);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	if (optlen)
		memcpy(b + 20, opts, optlen);
	tp_put16(b + 10, (uint16_t)~tp_fold(tp_sum(b, hl, 0)));
	return hl;
}

static TP_UNUSED size_t tp_ipv6(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t nh,
				uint16_t payload_len, uint8_t hlim)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	tp_put16(b + 4, payload_len);
	b[6] = nh;
	b[7] = hlim;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	return 40;
}

/* UDP header + payload with a valid checksum for the given addresses. */
static TP_UNUSED size_t tp_udp(uint8_t *b, const uint8_t *src, const uint8_t *dst, size_t alen,
			       uint16_t sport, uint16_t dport, const uint8_t *pl, size_t n)
{
	uint16_t len = (uint16_t)(8 + n);

	tp_put16(b, sport);
	tp_put16(b + 2, dport);
	tp_put16(b + 4, len);
	tp_put16(b + 6, 0);
	memcpy(b + 8, pl, n);
	uint16_t c = (uint16_t)~tp_fold(tp_sum(b, len, tp_pseudo(src, dst, alen, 17, len)));
	tp_put16(b + 6, c == 0 ? 0xffff : c);
	return len;
}

/* Fills @n payload bytes with a pattern that depends on @seed and the position. */
static TP_UNUSED void tp_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* ---- frames ---- */

/* Ethernet (+@ntags tags) + IPv4 + UDP; *@pl_off gets the payload offset. */
static TP_UNUSED size_t tp_udp4_frame(uint8_t *b, int ntags, const uint16_t *tpids,
				      const uint16_t *vids, const uint8_t *dst_ip,
				      uint16_t dport, const uint8_t *pl, size_t n,
				      size_t *pl_off)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, ntags, tpids, vids, 0x0800);
	o += tp_ipv4(b + o, tp_ip4_peer, dst_ip, 17, 0x1234, 0, (uint16_t)(8 + n), NULL, 0);
	if (pl_off)
		*pl_off = o + 8;
	return o + tp_udp(b + o, tp_ip4_peer, dst_ip, 4, 40000, dport, pl, n);
}

static TP_UNUSED size_t tp_udp6_frame(uint8_t *b, const uint8_t *dst_ip, uint16_t dport,
				      const uint8_t *pl, size_t n, size_t *pl_off)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(b + o, tp_ip6_peer, dst_ip, 17, (uint16_t)(8 + n), 64);
	if (pl_off)
		*pl_off = o + 8;
	return o + tp_udp(b + o, tp_ip6_peer, dst_ip, 16, 40000, dport, pl, n);
}

/* ---- mbufs ---- */

static TP_UNUSED struct rte_mbuf *tp_mbuf(const uint8_t *b, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tp_pool);

	if (m == NULL)
		return NULL;
	char *d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, b, len);
	return m;
}

/* @len bytes split into segments at the cumulative offsets @cuts[0..ncuts). */
static TP_UNUSED struct rte_mbuf *tp_mbuf_segs(const uint8_t *b, size_t len, const size_t *cuts,
					       int ncuts)
{
	struct rte_mbuf *head = NULL;
	size_t start = 0;

	for (int i = 0; i <= ncuts; i++) {
		size_t stop = i < ncuts ? cuts[i] : len;
		struct rte_mbuf *s = tp_mbuf(b + start, stop - start);

		if (s == NULL || (head != NULL && rte_pktmbuf_chain(head, s) != 0)) {
			rte_pktmbuf_free(s);
			rte_pktmbuf_free(head);
			return NULL;
		}
		if (head == NULL)
			head = s;
		start = stop;
	}
	return head;
}

static TP_UNUSED uint64_t tp_cnt_total(const struct wr_counters *c)
{
	uint64_t t = 0;

	for (int i = 0; i < WR_CNT_MAX; i++)
		t += c->v[i];
	return t;
}

#endif /* DP_TEST_PKT_H */
