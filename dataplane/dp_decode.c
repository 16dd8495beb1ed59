/*
 * dp_decode.c - rx decoding and in-place replies; see dp_decode.h.
 *
 * Layout of the work: dp_decode() walks the L2 header (up to two VLAN tags),
 * then hands the frame to decode_arp(), decode_ipv4() or decode_ipv6(). Every
 * path that ends in DP_CLASS_DROP counts exactly one counter; DP_CLASS_UDP and
 * DP_CLASS_FRAG count nothing (the caller and dp_frag do). Headers are read
 * from the first segment only, and only after their bound is checked against
 * that segment's data_len; lengths from the IP header are checked against
 * pkt_len, which may span segments (reassembled packets).
 *
 * Checksums are verified in software unless the NIC flagged the IPv4 header
 * or UDP checksum GOOD on a single-segment packet (never trusted for
 * reassembled chains; replayed packets and ports without rx checksum offload
 * report UNKNOWN, so they are always checked here).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dp_decode.h"
#include "wr_common.h"

#define DP_VLAN_MAX        2    /* 802.1ad outer + 802.1Q inner */
#define DP_IPV6_EXT_MAX    8    /* extension headers walked before giving up */
#define DP_REPLY_TTL       64
#define DP_ND_HOP_LIMIT    255  /* RFC 4861: ND messages must carry 255 */

#define DP_ETHERTYPE_IPV4  0x0800
#define DP_ETHERTYPE_ARP   0x0806
#define DP_ETHERTYPE_VLAN  0x8100
#define DP_ETHERTYPE_QINQ  0x88a8
#define DP_ETHERTYPE_IPV6  0x86dd

#define DP_IPPROTO_HOPOPTS   0
#define DP_IPPROTO_ICMP      1
#define DP_IPPROTO_UDP       17
#define DP_IPPROTO_ROUTING   43
#define DP_IPPROTO_FRAGMENT  44
#define DP_IPPROTO_ICMPV6    58
#define DP_IPPROTO_DSTOPTS   60

#define DP_IPV4_HDR_MIN    20
#define DP_IPV6_HDR_LEN    40
#define DP_IPV6_FRAG_LEN   8
#define DP_UDP_HDR_LEN     8
#define DP_ARP_LEN         28   /* Ethernet/IPv4 ARP body */
#define DP_ICMP_ECHO_MIN   8
#define DP_ND_NS_MIN       24   /* type, code, cksum, reserved, target */
#define DP_ND_NA_LEN       32   /* NA with one target link-layer address option */

#define DP_ICMP_ECHO_REPLY     0
#define DP_ICMP_ECHO_REQUEST   8
#define DP_ICMP6_ECHO_REQUEST  128
#define DP_ICMP6_ECHO_REPLY    129
#define DP_ICMP6_ND_NS         135
#define DP_ICMP6_ND_NA         136
#define DP_ND_OPT_TLLA         2
#define DP_ND_NA_FLAG_S        0x40
#define DP_ND_NA_FLAG_O        0x20

/* What every decode step needs; lives on the stack of dp_decode(). */
struct dp_ctx {
	struct rte_mbuf *m;
	uint8_t *p;                 /* start of the frame (first segment) */
	uint32_t seg_len;           /* bytes readable at p */
	uint32_t l2;                /* offset of the L3 header */
	uint16_t vlan;
	const struct dp_local_addrs *la;
	struct wr_counters *cnt;
};

static const uint8_t ipv6_all_nodes[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};
static const uint8_t mac_all_nodes[RTE_ETHER_ADDR_LEN] = { 0x33, 0x33, 0, 0, 0, 0x01 };
static const uint8_t ipv6_unspecified[16];

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Stores a checksum computed over words loaded in host order (rte_raw_cksum's convention). */
static inline void put_cksum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, sizeof(c));
}

static inline uint16_t cksum_fold(uint32_t sum)
{
	sum = (sum >> 16) + (sum & 0xffff);
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/*
 * Folds a 64-bit sum of little-endian words into the 16-bit one's complement
 * sum. 2^16, 2^32 and 2^48 are all 1 modulo 0xffff, so the result is the
 * same as adding 16-bit words; it is 0 only when @s is 0.
 */
static inline __attribute__((always_inline)) uint16_t fold64(uint64_t s)
{
	uint32_t x;
	uint16_t y;

	/* end-around carry: a carry out is worth 1 (2^32 and 2^16 are 1 mod 0xffff) */
	if (__builtin_add_overflow((uint32_t)s, (uint32_t)(s >> 32), &x))
		x++;
	if (__builtin_add_overflow((uint16_t)x, (uint16_t)(x >> 16), &y))
		y++;
	return y;
}

/*
 * Adds @len bytes at @buf to the unfolded sum @s, words loaded in host order
 * (the convention of rte_raw_cksum, so results mix with it). Each 8-byte word
 * is added as its two 32-bit halves into a 64-bit lane, so no carry is lost
 * below 2^32 steps; SSE2 does two words per instruction, in two accumulators
 * over 32-byte steps to break the add chain. Not rte_raw_cksum: DPDK 22.11
 * adds one 16-bit word per step.
 */
#ifdef __SSE2__
/* The 32-bit halves of both 64-bit words of @v, added in 64-bit lanes. */
static inline __m128i halves(__m128i v)
{
	return _mm_add_epi64(_mm_and_si128(v, _mm_set1_epi64x(0xffffffff)), _mm_srli_epi64(v, 32));
}
#endif

static inline __attribute__((always_inline)) uint64_t sum_acc(uint64_t s, const void *buf,
								  size_t len)
{
	const uint8_t *p = buf;

#ifdef __SSE2__
	if (len >= 16) {
		__m128i a = _mm_setzero_si128(), b = _mm_setzero_si128();

		for (; len >= 32; p += 32, len -= 32) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i u = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
			a = _mm_add_epi64(a, halves(v));
			b = _mm_add_epi64(b, halves(u));
		}
		if (len >= 16) {
			a = _mm_add_epi64(a, halves(_mm_loadu_si128((const __m128i *)(const void *)p)));
			p += 16;
			len -= 16;
		}
		a = _mm_add_epi64(a, b);
		s += (uint64_t)_mm_cvtsi128_si64(a) +
		     (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(a, a));
	}
#endif
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		s += (w & 0xffffffff) + (w >> 32);
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, p, 1);            /* the odd byte is the first of a word */
		s += w;
	}
	return s;
}

/* Non-complemented 16-bit one's complement sum of @len bytes (see sum_acc). */
static uint16_t sum16(const void *buf, size_t len)
{
	return fold64(sum_acc(0, buf, len));
}

/*
 * Non-complemented sum of @len bytes at @off, across segments. Not
 * rte_raw_cksum_mbuf(): in DPDK 22.11 it byte-swaps a segment's unreduced
 * 32-bit sum truncated to 16 bits when an odd number of bytes precede the
 * segment, which loses carries. Returns -1 when the range is outside the packet.
 */
static int cksum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *out)
{
	const struct rte_mbuf *seg = m;
	uint32_t sum = 0, done = 0;

	if ((uint64_t)off + len > rte_pktmbuf_pkt_len(m))
		return -1;
	while (seg != NULL && off >= rte_pktmbuf_data_len(seg)) {
		off -= rte_pktmbuf_data_len(seg);
		seg = seg->next;
	}
	while (done < len) {
		if (seg == NULL)
			return -1;
		uint32_t n = RTE_MIN((uint32_t)rte_pktmbuf_data_len(seg) - off, len - done);
		uint16_t s = sum16(rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), n);

		/* a piece that starts at an odd position has its bytes swapped in the words */
		sum += (done & 1) ? rte_bswap16(s) : s;
		done += n;
		off = 0;
		seg = seg->next;
	}
	*out = cksum_fold(sum);
	return 0;
}

static uint16_t pseudo6_sum(const uint8_t *src, const uint8_t *dst, uint8_t nh, uint32_t len)
{
	uint8_t ph[40];

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = nh;
	return sum16(ph, sizeof(ph));
}

static inline enum dp_class drop(struct wr_counters *cnt, enum wr_counter_id id)
{
	cnt->v[id]++;
	return DP_CLASS_DROP;
}

static inline bool dst_mac_accepted(const uint8_t *dst, const struct dp_local_addrs *la)
{
	static const uint8_t bcast[RTE_ETHER_ADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (la->accept_any_dst)
		return true;
	if (memcmp(dst, la->mac.addr_bytes, RTE_ETHER_ADDR_LEN) == 0)
		return true;
	if (dst[0] == 0x33 && dst[1] == 0x33)   /* IPv6 multicast, for ND */
		return true;
	return memcmp(dst, bcast, RTE_ETHER_ADDR_LEN) == 0;
}

/* Reply frames go back to the sender's MAC from our own, VLAN tags untouched. */
static void swap_eth(uint8_t *p, const struct dp_local_addrs *la)
{
	memcpy(p, p + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
	memcpy(p + RTE_ETHER_ADDR_LEN, la->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
}

/* Drops Ethernet padding past @len so a reply does not carry it. Single segment only. */
static void set_single_seg_len(struct rte_mbuf *m, uint32_t len)
{
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
}

/* ---- UDP -------------------------------------------------------------- */

/*
 * True when the UDP checksum over the pseudo header and the @ulen bytes of
 * datagram at @l4off verifies. The NIC's verdict is taken only when it says
 * GOOD for a single-segment packet (reassembled packets are chains, and a
 * port without rx checksum offload reports UNKNOWN); anything else is checked
 * here. A datagram wholly in the first segment is one pass over pseudo header
 * and datagram with a single fold; the pseudo-header sum is never 0 (the
 * protocol is in it), so the fold compares exactly as the per-part folds of
 * cksum_mbuf() would.
 */
static inline bool udp_cksum_ok(const struct dp_ctx *c, uint8_t ip_version, const uint8_t *src,
				const uint8_t *dst, uint32_t l4off, uint16_t ulen)
{
	const struct rte_mbuf *m = c->m;
	uint64_t s;

	if (m->nb_segs == 1 &&
	    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return true;
	if (ip_version == 4) {
		uint32_t a, b;

		/* the pseudo header's words as sum_acc would load them */
		memcpy(&a, src, 4);
		memcpy(&b, dst, 4);
		s = (uint64_t)a + b + ((uint32_t)DP_IPPROTO_UDP << 8) +
		    ((uint32_t)rte_cpu_to_be_16(ulen) << 16);
	} else {
		s = pseudo6_sum(src, dst, DP_IPPROTO_UDP, ulen);
	}
	if (likely(l4off + ulen <= c->seg_len)) {
		s = sum_acc(s, c->p + l4off, ulen);
	} else {
		uint16_t dsum;

		if (cksum_mbuf(m, l4off, ulen, &dsum) != 0)
			return false;
		s += dsum;
	}
	return fold64(s) == 0xffff;
}

/*
 * @l4off: offset of the UDP header; @l4len: bytes of IP payload from there;
 * @psum: the pseudo-header sum without the length (added here from the UDP
 * length, which is what RFC 768/8200 put in the pseudo header).
 */
static enum dp_class decode_udp(struct dp_ctx *c, uint8_t ip_version, const uint8_t *src,
				const uint8_t *dst, uint32_t l4off, uint32_t l4len,
				struct dp_pkt *out)
{
	if (l4len < DP_UDP_HDR_LEN || l4off + DP_UDP_HDR_LEN > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_bad_udp);

	const uint8_t *u = c->p + l4off;
	uint16_t ulen = get_be16(u + 4);
	uint16_t sport = get_be16(u), dport = get_be16(u + 2);
	bool zero_cksum = u[6] == 0 && u[7] == 0;

	/* a shorter UDP length than the IP payload is tolerated (trailing bytes ignored) */
	if (ulen < DP_UDP_HDR_LEN || ulen > l4len)
		return drop(c->cnt, WR_CNT_rx_bad_udp);

	if (ip_version == 6 || !zero_cksum) {
		if (ip_version == 6 && zero_cksum)      /* RFC 8200 8.1: zero is invalid */
			return drop(c->cnt, WR_CNT_rx_bad_udp);
		if (unlikely(!udp_cksum_ok(c, ip_version, src, dst, l4off, ulen)))
			return drop(c->cnt, WR_CNT_rx_bad_udp);
	}

	const struct dp_local_addrs *la = c->la;
	uint32_t i;

	for (i = 0; i < la->n_udp_ports; i++)
		if (la->udp_ports[i] == dport)
			break;
	if (i == la->n_udp_ports)
		return drop(c->cnt, WR_CNT_rx_port_closed);

	out->ip_version = ip_version;
	memset(out->src_ip, 0, sizeof(out->src_ip));
	memcpy(out->src_ip, src, ip_version == 4 ? 4 : 16);
	out->src_port = sport;
	out->dst_port = dport;
	out->payload_off = l4off + DP_UDP_HDR_LEN;
	out->payload_len = (uint32_t)ulen - DP_UDP_HDR_LEN;
	out->vlan = c->vlan;
	return DP_CLASS_UDP;
}

/* ---- ARP -------------------------------------------------------------- */

static enum dp_class decode_arp(struct dp_ctx *c)
{
	const struct dp_local_addrs *la = c->la;

	if (c->l2 + DP_ARP_LEN > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_bad_l2);

	uint8_t *a = c->p + c->l2;
	/* htype Ethernet, ptype IPv4, hlen 6, plen 4, op request */
	if (get_be16(a) != 1 || get_be16(a + 2) != DP_ETHERTYPE_IPV4 || a[4] != 6 ||
	    a[5] != 4 || get_be16(a + 6) != 1)
		return drop(c->cnt, WR_CNT_rx_unknown);
	if (!la->has_ipv4 || memcmp(a + 24, la->ipv4, 4) != 0)
		return drop(c->cnt, WR_CNT_rx_not_for_us);

	swap_eth(c->p, la);
	put_be16(a + 6, 2);                     /* reply */
	memcpy(a + 18, a + 8, 6);               /* target hw = requester's hw */
	memcpy(a + 24, a + 14, 4);              /* target ip = requester's ip */
	memcpy(a + 8, la->mac.addr_bytes, 6);
	memcpy(a + 14, la->ipv4, 4);
	WR_COUNT(c->cnt, arp_replies);
	return DP_CLASS_REPLY;
}

/* ---- IPv4 ------------------------------------------------------------- */

static enum dp_class decode_icmp4(struct dp_ctx *c, uint8_t *ip, uint32_t ihl, uint32_t tot)
{
	uint32_t len = tot - ihl;

	/* replies are built in place, so the whole message must be in one segment */
	if (len < DP_ICMP_ECHO_MIN || c->m->nb_segs != 1 || c->l2 + tot > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_unknown);

	uint8_t *icmp = ip + ihl;
	if (icmp[0] != DP_ICMP_ECHO_REQUEST || icmp[1] != 0)
		return drop(c->cnt, WR_CNT_rx_unknown);
	if (sum16(icmp, len) != 0xffff)
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	swap_eth(c->p, c->la);
	memcpy(ip + 16, ip + 12, 4);
	memcpy(ip + 12, c->la->ipv4, 4);
	ip[8] = DP_REPLY_TTL;
	put_cksum(ip + 10, 0);
	put_cksum(ip + 10, (uint16_t)~sum16(ip, ihl));

	icmp[0] = DP_ICMP_ECHO_REPLY;
	put_cksum(icmp + 2, 0);
	put_cksum(icmp + 2, (uint16_t)~sum16(icmp, len));
	set_single_seg_len(c->m, c->l2 + tot);
	WR_COUNT(c->cnt, icmp_echo_replies);
	return DP_CLASS_REPLY;
}

static enum dp_class decode_ipv4(struct dp_ctx *c, struct dp_pkt *out)
{
	const struct dp_local_addrs *la = c->la;
	uint32_t l2 = c->l2;

	if (l2 + DP_IPV4_HDR_MIN > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	uint8_t *ip = c->p + l2;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t tot = get_be16(ip + 2);

	if ((ip[0] >> 4) != 4 || ihl < DP_IPV4_HDR_MIN || l2 + ihl > c->seg_len ||
	    tot < ihl || l2 + tot > rte_pktmbuf_pkt_len(c->m))
		return drop(c->cnt, WR_CNT_rx_bad_ip);
	/* the NIC's GOOD is trusted as for UDP (see udp_cksum_ok) */
	if (!(c->m->nb_segs == 1 && (c->m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
					    RTE_MBUF_F_RX_IP_CKSUM_GOOD) &&
	    unlikely(fold64(sum_acc(0, ip, ihl)) != 0xffff))
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	uint8_t proto = ip[9];
	bool for_us = la->has_ipv4 && memcmp(ip + 16, la->ipv4, 4) == 0;

	if (!for_us && !(la->accept_any_dst && proto == DP_IPPROTO_UDP))
		return drop(c->cnt, WR_CNT_rx_not_for_us);

	if (get_be16(ip + 6) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		c->m->l2_len = l2;
		c->m->l3_len = ihl;
		return DP_CLASS_FRAG;
	}

	switch (proto) {
	case DP_IPPROTO_UDP:
		return decode_udp(c, 4, ip + 12, ip + 16, l2 + ihl, tot - ihl, out);
	case DP_IPPROTO_ICMP:
		return decode_icmp4(c, ip, ihl, tot);
	default:
		return drop(c->cnt, WR_CNT_rx_unknown);
	}
}

/* ---- IPv6 ------------------------------------------------------------- */

static bool is_solicited_node_of(const uint8_t *dst, const uint8_t *addr)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };

	return memcmp(dst, prefix, sizeof(prefix)) == 0 && memcmp(dst + 13, addr + 13, 3) == 0;
}

/*
 * Rewrites the frame into [L2][IPv6 header][@icmp_len bytes already at
 * l2 + 40] from us to @dst, and fills the ICMPv6 checksum.
 */
static void finish_icmp6_reply(struct dp_ctx *c, const uint8_t *dst, const uint8_t *dst_mac,
			       uint32_t icmp_len, uint8_t hop_limit)
{
	uint8_t *ip = c->p + c->l2;
	uint8_t *icmp = ip + DP_IPV6_HDR_LEN;

	memcpy(c->p, dst_mac, RTE_ETHER_ADDR_LEN);
	memcpy(c->p + RTE_ETHER_ADDR_LEN, c->la->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	ip[0] = 0x60;
	ip[1] = ip[2] = ip[3] = 0;
	put_be16(ip + 4, (uint16_t)icmp_len);
	ip[6] = DP_IPPROTO_ICMPV6;
	ip[7] = hop_limit;
	memcpy(ip + 8, c->la->ipv6, 16);
	memcpy(ip + 24, dst, 16);

	put_cksum(icmp + 2, 0);
	uint32_t sum = (uint32_t)pseudo6_sum(ip + 8, ip + 24, DP_IPPROTO_ICMPV6, icmp_len) +
		       sum16(icmp, icmp_len);
	put_cksum(icmp + 2, (uint16_t)~cksum_fold(sum));
	set_single_seg_len(c->m, c->l2 + DP_IPV6_HDR_LEN + icmp_len);
}

static enum dp_class reply_ns(struct dp_ctx *c, const uint8_t *ip, const uint8_t *icmp,
			      uint32_t len)
{
	const struct dp_local_addrs *la = c->la;
	uint8_t dst[16], dst_mac[RTE_ETHER_ADDR_LEN];
	uint32_t o;

	if (len < DP_ND_NS_MIN || ip[7] != DP_ND_HOP_LIMIT)
		return drop(c->cnt, WR_CNT_rx_bad_ip);
	/* RFC 4861 7.1.1: every option has a non-zero length inside the message */
	for (o = DP_ND_NS_MIN; o < len; o += icmp[o + 1] * 8u)
		if (o + 2 > len || icmp[o + 1] == 0 || o + icmp[o + 1] * 8u > len)
			return drop(c->cnt, WR_CNT_rx_bad_ip);
	if (memcmp(icmp + 8, la->ipv6, 16) != 0)
		return drop(c->cnt, WR_CNT_rx_not_for_us);
	/* the NA is longer than a bare NS: it must fit the first buffer */
	if (c->l2 + DP_IPV6_HDR_LEN + DP_ND_NA_LEN > (uint32_t)c->m->buf_len - c->m->data_off)
		return drop(c->cnt, WR_CNT_rx_unknown);

	/* duplicate address detection (source ::) is answered to all nodes, unsolicited */
	bool dad = memcmp(ip + 8, ipv6_unspecified, 16) == 0;
	memcpy(dst, dad ? ipv6_all_nodes : ip + 8, 16);
	memcpy(dst_mac, dad ? mac_all_nodes : c->p + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);

	uint8_t na[DP_ND_NA_LEN] = { DP_ICMP6_ND_NA, 0, 0, 0,
				     (uint8_t)((dad ? 0 : DP_ND_NA_FLAG_S) | DP_ND_NA_FLAG_O) };
	memcpy(na + 8, la->ipv6, 16);
	na[24] = DP_ND_OPT_TLLA;
	na[25] = 1;                             /* in units of 8 bytes */
	memcpy(na + 26, la->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(c->p + c->l2 + DP_IPV6_HDR_LEN, na, sizeof(na));

	finish_icmp6_reply(c, dst, dst_mac, DP_ND_NA_LEN, DP_ND_HOP_LIMIT);
	WR_COUNT(c->cnt, nd_replies);
	return DP_CLASS_REPLY;
}

static enum dp_class reply_echo6(struct dp_ctx *c, const uint8_t *ip, uint8_t *icmp, uint32_t len)
{
	uint8_t dst[16], dst_mac[RTE_ETHER_ADDR_LEN];

	if (len < DP_ICMP_ECHO_MIN)
		return drop(c->cnt, WR_CNT_rx_bad_ip);
	memcpy(dst, ip + 8, 16);
	memcpy(dst_mac, c->p + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
	/* extension headers of the request are not echoed: move the message up */
	memmove(c->p + c->l2 + DP_IPV6_HDR_LEN, icmp, len);
	icmp = c->p + c->l2 + DP_IPV6_HDR_LEN;
	icmp[0] = DP_ICMP6_ECHO_REPLY;
	finish_icmp6_reply(c, dst, dst_mac, len, DP_REPLY_TTL);
	WR_COUNT(c->cnt, icmp_echo_replies);
	return DP_CLASS_REPLY;
}

static enum dp_class decode_icmp6(struct dp_ctx *c, const uint8_t *ip, uint32_t off, uint32_t end)
{
	const struct dp_local_addrs *la = c->la;
	uint32_t len = end - off;

	if (len < 4 || c->m->nb_segs != 1 || end > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_unknown);

	uint8_t *icmp = c->p + off;
	bool to_us = la->has_ipv6 && memcmp(ip + 24, la->ipv6, 16) == 0;

	if (icmp[0] == DP_ICMP6_ND_NS) {
		if (!la->has_ipv6 || !(to_us || is_solicited_node_of(ip + 24, la->ipv6)))
			return drop(c->cnt, WR_CNT_rx_not_for_us);
	} else if (icmp[0] == DP_ICMP6_ECHO_REQUEST) {
		if (!to_us)
			return drop(c->cnt, WR_CNT_rx_not_for_us);
	} else {
		return drop(c->cnt, WR_CNT_rx_unknown);
	}
	if (icmp[1] != 0)
		return drop(c->cnt, WR_CNT_rx_unknown);

	uint32_t sum = (uint32_t)pseudo6_sum(ip + 8, ip + 24, DP_IPPROTO_ICMPV6, len) +
		       sum16(icmp, len);
	if (cksum_fold(sum) != 0xffff)
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	if (icmp[0] == DP_ICMP6_ND_NS)
		return reply_ns(c, ip, icmp, len);
	return reply_echo6(c, ip, icmp, len);
}

static enum dp_class decode_ipv6(struct dp_ctx *c, struct dp_pkt *out)
{
	const struct dp_local_addrs *la = c->la;
	uint32_t l2 = c->l2;

	if (l2 + DP_IPV6_HDR_LEN > c->seg_len)
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	const uint8_t *ip = c->p + l2;
	uint32_t end = l2 + DP_IPV6_HDR_LEN + get_be16(ip + 4);

	if ((ip[0] >> 4) != 6 || end > rte_pktmbuf_pkt_len(c->m))
		return drop(c->cnt, WR_CNT_rx_bad_ip);

	bool to_us = la->has_ipv6 && memcmp(ip + 24, la->ipv6, 16) == 0;
	uint8_t nh = ip[6];
	uint32_t off = l2 + DP_IPV6_HDR_LEN;
	uint32_t n;

	/* extension headers must sit in the first segment, like every header */
	for (n = 0;; n++) {
		if (nh != DP_IPPROTO_HOPOPTS && nh != DP_IPPROTO_ROUTING &&
		    nh != DP_IPPROTO_DSTOPTS && nh != DP_IPPROTO_FRAGMENT)
			break;
		if (n == DP_IPV6_EXT_MAX)
			return drop(c->cnt, WR_CNT_rx_unknown);
		/* every extension header is at least 8 bytes */
		if (off + 8 > end || off + 8 > c->seg_len)
			return drop(c->cnt, WR_CNT_rx_bad_ip);
		if (nh == DP_IPPROTO_FRAGMENT) {
			uint16_t fd = get_be16(c->p + off + 2);

			/* offset 0 without M: an atomic fragment, a whole datagram (RFC 6946) */
			if ((fd & 0xfff9) == 0) {
				nh = c->p[off];
				off += DP_IPV6_FRAG_LEN;
				continue;
			}
			/* rte_ip_frag handles only a fragment header right after the IPv6 header */
			if (off != l2 + DP_IPV6_HDR_LEN)
				return drop(c->cnt, WR_CNT_rx_unknown);
			if (!to_us && !(la->accept_any_dst && c->p[off] == DP_IPPROTO_UDP))
				return drop(c->cnt, WR_CNT_rx_not_for_us);
			c->m->l2_len = l2;
			c->m->l3_len = DP_IPV6_HDR_LEN + DP_IPV6_FRAG_LEN;
			return DP_CLASS_FRAG;
		}
		uint32_t elen = ((uint32_t)c->p[off + 1] + 1) * 8;
		if (off + elen > end || off + elen > c->seg_len)
			return drop(c->cnt, WR_CNT_rx_bad_ip);
		nh = c->p[off];
		off += elen;
	}

	if (nh == DP_IPPROTO_ICMPV6)
		return decode_icmp6(c, ip, off, end);
	if (!to_us && !(la->accept_any_dst && nh == DP_IPPROTO_UDP))
		return drop(c->cnt, WR_CNT_rx_not_for_us);
	if (nh == DP_IPPROTO_UDP)
		return decode_udp(c, 6, ip + 8, ip + 24, off, end - off, out);
	return drop(c->cnt, WR_CNT_rx_unknown);
}

/* ---- fast path --------------------------------------------------------- */

/*
 * The frame nearly every packet is: untagged IPv4 without options carrying a
 * UDP datagram to one of our ports, in one segment. Makes the same checks as
 * the general path with fewer instructions and fills @out the same way;
 * anything else, including every packet the general path would drop, returns
 * false and goes the general way, which counts it.
 */
static inline bool decode_fast_udp4(const struct rte_mbuf *m, const struct dp_local_addrs *la,
				    struct dp_pkt *out)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t seg_len = rte_pktmbuf_data_len(m);
	const uint32_t l4off = RTE_ETHER_HDR_LEN + DP_IPV4_HDR_MIN;

	if (m->nb_segs != 1 || seg_len < l4off + DP_UDP_HDR_LEN ||
	    rte_pktmbuf_pkt_len(m) != seg_len || get_be16(p + 12) != DP_ETHERTYPE_IPV4 ||
	    !dst_mac_accepted(p, la))
		return false;

	const uint8_t *ip = p + RTE_ETHER_HDR_LEN;
	uint32_t tot = get_be16(ip + 2);
	if (ip[0] != 0x45 || ip[9] != DP_IPPROTO_UDP || tot < DP_IPV4_HDR_MIN + DP_UDP_HDR_LEN ||
	    RTE_ETHER_HDR_LEN + tot > seg_len ||
	    (get_be16(ip + 6) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return false;
	if (!la->accept_any_dst && !(la->has_ipv4 && memcmp(ip + 16, la->ipv4, 4) == 0))
		return false;

	const uint8_t *u = ip + DP_IPV4_HDR_MIN;
	uint16_t ulen = get_be16(u + 4);
	uint16_t dport = get_be16(u + 2);
	if (ulen < DP_UDP_HDR_LEN || ulen > tot - DP_IPV4_HDR_MIN)
		return false;

	uint64_t w[2];
	uint32_t a, b;
	memcpy(w, ip, 16);
	memcpy(&a, ip + 16, 4);
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    fold64((w[0] & 0xffffffff) + (w[0] >> 32) + (w[1] & 0xffffffff) + (w[1] >> 32) +
		   a) != 0xffff)
		return false;
	if ((u[6] | u[7]) != 0 &&
	    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		memcpy(&b, ip + 12, 4);
		uint64_t sum = (uint64_t)a + b + ((uint32_t)DP_IPPROTO_UDP << 8) +
			       ((uint32_t)rte_cpu_to_be_16(ulen) << 16);
		if (fold64(sum_acc(sum, u, ulen)) != 0xffff)
			return false;
	}

	uint32_t i;
	for (i = 0; i < la->n_udp_ports; i++)
		if (la->udp_ports[i] == dport)
			break;
	if (i == la->n_udp_ports)
		return false;

	out->ip_version = 4;
	memset(out->src_ip, 0, sizeof(out->src_ip));
	memcpy(out->src_ip, ip + 12, 4);
	out->src_port = get_be16(u);
	out->dst_port = dport;
	out->payload_off = l4off + DP_UDP_HDR_LEN;
	out->payload_len = (uint32_t)ulen - DP_UDP_HDR_LEN;
	out->vlan = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) ? m->vlan_tci & 0x0fff : 0;
	return true;
}

/* ---- Ethernet --------------------------------------------------------- */

/* Everything but the fast path; kept out of line so dp_decode() stays a leaf-sized call. */
static __attribute__((noinline)) enum dp_class decode_general(struct rte_mbuf *m,
							       const struct dp_local_addrs *la,
							       struct wr_counters *cnt,
							       struct dp_pkt *out)
{
	struct dp_ctx c = {
		.m = m,
		.p = rte_pktmbuf_mtod(m, uint8_t *),
		.seg_len = rte_pktmbuf_data_len(m),
		.la = la,
		.cnt = cnt,
	};
	uint32_t off = 2 * RTE_ETHER_ADDR_LEN;  /* the ethertype */
	uint32_t tags;
	uint16_t type;

	if (unlikely(c.seg_len < RTE_ETHER_HDR_LEN))
		return drop(cnt, WR_CNT_rx_bad_l2);
	if (!dst_mac_accepted(c.p, la))
		return drop(cnt, WR_CNT_rx_not_for_us);

	type = get_be16(c.p + off);
	for (tags = 0; type == DP_ETHERTYPE_VLAN || type == DP_ETHERTYPE_QINQ; tags++) {
		if (tags == DP_VLAN_MAX)
			return drop(cnt, WR_CNT_rx_unknown);
		if (off + 6 > c.seg_len)        /* TPID, TCI, next ethertype */
			return drop(cnt, WR_CNT_rx_bad_l2);
		if (tags == 0)
			c.vlan = get_be16(c.p + off + 2) & 0x0fff;
		off += 4;
		type = get_be16(c.p + off);
	}
	if (tags == 0 && (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED))
		c.vlan = m->vlan_tci & 0x0fff;
	c.l2 = off + 2;

	switch (type) {
	case DP_ETHERTYPE_IPV4:
		return decode_ipv4(&c, out);
	case DP_ETHERTYPE_IPV6:
		return decode_ipv6(&c, out);
	case DP_ETHERTYPE_ARP:
		return decode_arp(&c);
	default:
		return drop(cnt, WR_CNT_rx_unknown);
	}
}

/*
 * Cost for the 150-byte IPv4/UDP syslog frame of bench/run.sh (gcc 12 -O2,
 * AMD EPYC VM, hot cache, best of 15 runs): about 15 ns and 232 instructions
 * (callgrind) on the fast path; the general path took about 50 ns and 532.
 */
enum dp_class dp_decode(struct rte_mbuf *m, const struct dp_local_addrs *la,
			struct wr_counters *cnt, struct dp_pkt *out)
{
	if (likely(decode_fast_udp4(m, la, out)))
		return DP_CLASS_UDP;
	return decode_general(m, la, cnt, out);
}
