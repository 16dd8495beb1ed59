/*
 * test_decode.c - dp_decode: L2/VLAN/QinQ, IPv4/IPv6/UDP, checksums,
 * truncation, destination filters, and the in-place ARP / ICMP / ND replies.
 * Frames are built byte by byte (dp_test_pkt.h); expected replies are
 * written out in full and compared byte for byte.
 */
#include <string.h>

#include "dp_decode.h"
#include "dp_test_pkt.h"
#include "wr_test.h"

static struct dp_local_addrs la;
static struct wr_counters cnt;
static struct dp_pkt pkt;
static uint8_t fb[2048];

/* Decodes a copy of @b; *@mp keeps the mbuf (caller frees) when mp is not NULL. */
static enum dp_class decode(const uint8_t *b, size_t len, struct rte_mbuf **mp)
{
	struct rte_mbuf *m = tp_mbuf(b, len);
	enum dp_class cls;

	CU_ASSERT_FATAL(m != NULL);
	memset(&pkt, 0xee, sizeof(pkt));
	cls = dp_decode(m, &la, &cnt, &pkt);
	if (mp)
		*mp = m;
	else
		rte_pktmbuf_free(m);
	return cls;
}

/* Exactly one counter moved, by one: @id. */
static void assert_only(const struct wr_counters *before, enum wr_counter_id id)
{
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt) - tp_cnt_total(before), 1);
	CU_ASSERT_EQUAL(cnt.v[id] - before->v[id], 1);
}

static enum dp_class decode_expect_drop(const uint8_t *b, size_t len, enum wr_counter_id id)
{
	struct wr_counters before = cnt;
	enum dp_class cls = decode(b, len, NULL);

	CU_ASSERT_EQUAL(cls, DP_CLASS_DROP);
	assert_only(&before, id);
	return cls;
}

static void reset(void)
{
	tp_local(&la);
	memset(&cnt, 0, sizeof(cnt));
}

static const uint8_t hello[] = "<13>Nov 23 21:00:00 host app: hello";   /* 36 bytes with NUL */

/* ---- plain datagrams ---- */

static void test_ipv4_udp_payload_offset_and_length_exact(void)
{
	size_t off, len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), &off);
	struct rte_mbuf *m;
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(off, 42);
	CU_ASSERT_EQUAL(pkt.ip_version, 4);
	CU_ASSERT_EQUAL(pkt.payload_off, 42);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));
	CU_ASSERT_EQUAL(pkt.src_port, 40000);
	CU_ASSERT_EQUAL(pkt.dst_port, 514);
	CU_ASSERT_EQUAL(pkt.vlan, 0);
	CU_ASSERT(memcmp(pkt.src_ip, tp_ip4_peer, 4) == 0);
	static const uint8_t zero12[12];
	CU_ASSERT(memcmp(pkt.src_ip + 4, zero12, 12) == 0);
	CU_ASSERT(memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *, pkt.payload_off), hello,
			 sizeof(hello)) == 0);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 0);
	rte_pktmbuf_free(m);
}

static void test_ethernet_padding_not_counted_in_payload(void)
{
	uint8_t one = 'x';
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, &one, 1, NULL);
	CU_ASSERT_EQUAL(len, 43);
	memset(fb + len, 0, 60 - len);
	CU_ASSERT_EQUAL(decode(fb, 60, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.payload_off, 42);
	CU_ASSERT_EQUAL(pkt.payload_len, 1);
}

static void test_vlan_8021q_gives_vlan_id_and_shifted_offset(void)
{
	uint16_t tpid[] = { 0x8100 }, tci[] = { 0xa064 };   /* PCP 5, VID 100 */
	size_t len, off;

	reset();
	len = tp_udp4_frame(fb, 1, tpid, tci, tp_ip4_us, 6514, hello, sizeof(hello), &off);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.vlan, 100);
	CU_ASSERT_EQUAL(pkt.payload_off, 46);
	CU_ASSERT_EQUAL(pkt.payload_off, off);
	CU_ASSERT_EQUAL(pkt.dst_port, 6514);
}

static void test_qinq_88a8_then_8100_gives_outer_vlan(void)
{
	uint16_t tpid[] = { 0x88a8, 0x8100 }, tci[] = { 200, 300 };
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 2, tpid, tci, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.vlan, 200);
	CU_ASSERT_EQUAL(pkt.payload_off, 50);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));

	uint16_t tpid2[] = { 0x8100, 0x8100 };
	len = tp_udp4_frame(fb, 2, tpid2, tci, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.vlan, 200);
	CU_ASSERT_EQUAL(pkt.payload_off, 50);
}

static void test_three_vlan_tags_counted_unknown(void)
{
	uint16_t tpid[] = { 0x88a8, 0x8100, 0x8100 }, tci[] = { 1, 2, 3 };
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 3, tpid, tci, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	decode_expect_drop(fb, len, WR_CNT_rx_unknown);
}

static void test_ipv4_options_allowed(void)
{
	static const uint8_t opts[4] = { 1, 1, 1, 0 };  /* NOP NOP NOP EOL */
	size_t o;

	reset();
	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x0800);
	o += tp_ipv4(fb + o, tp_ip4_peer, tp_ip4_us, 17, 7, 0, 8 + sizeof(hello), opts, 4);
	o += tp_udp(fb + o, tp_ip4_peer, tp_ip4_us, 4, 1000, 514, hello, sizeof(hello));
	CU_ASSERT_EQUAL(decode(fb, o, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.payload_off, 14 + 24 + 8);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));
}

static void test_ipv6_udp_payload_offset_and_length_exact(void)
{
	size_t len, off;
	struct rte_mbuf *m;

	reset();
	len = tp_udp6_frame(fb, tp_ip6_us, 514, hello, sizeof(hello), &off);
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.ip_version, 6);
	CU_ASSERT_EQUAL(pkt.payload_off, 62);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));
	CU_ASSERT(memcmp(pkt.src_ip, tp_ip6_peer, 16) == 0);
	CU_ASSERT(memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *, 62), hello, sizeof(hello)) == 0);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 0);
	rte_pktmbuf_free(m);
}

/* Ethernet + IPv6 + hop-by-hop (8) + destination options (16) + UDP. */
static size_t build_udp6_with_ext(uint8_t *b, uint8_t first_nh_after_dstopts)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(b + o, tp_ip6_peer, tp_ip6_us, 0, (uint16_t)(24 + 8 + sizeof(hello)), 64);
	uint8_t hbh[8] = { 60, 0, 1, 4, 0, 0, 0, 0 };                   /* PadN */
	uint8_t dst[16] = { first_nh_after_dstopts, 1, 1, 12 };         /* PadN 12 */
	memcpy(b + o, hbh, 8);
	memcpy(b + o + 8, dst, 16);
	o += 24;
	return o + tp_udp(b + o, tp_ip6_peer, tp_ip6_us, 16, 40000, 514, hello, sizeof(hello));
}

static void test_ipv6_udp_after_hop_by_hop_and_dst_options(void)
{
	size_t len;

	reset();
	len = build_udp6_with_ext(fb, 17);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.payload_off, 14 + 40 + 24 + 8);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));
}

static void test_ipv6_atomic_fragment_decoded_as_datagram(void)
{
	size_t o;

	reset();
	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(fb + o, tp_ip6_peer, tp_ip6_us, 44, (uint16_t)(8 + 8 + sizeof(hello)), 64);
	uint8_t fh[8] = { 17, 0, 0, 0, 0, 0, 0, 9 };   /* offset 0, M clear */
	memcpy(fb + o, fh, 8);
	o += 8;
	o += tp_udp(fb + o, tp_ip6_peer, tp_ip6_us, 16, 40000, 514, hello, sizeof(hello));
	CU_ASSERT_EQUAL(decode(fb, o, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.payload_off, 14 + 48 + 8);
}

/* ---- checksums and lengths ---- */

static void test_ipv4_udp_zero_checksum_accepted(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	fb[40] = fb[41] = 0;
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
}

static void test_ipv6_udp_zero_checksum_rejected(void)
{
	size_t len;

	reset();
	len = tp_udp6_frame(fb, tp_ip6_us, 514, hello, sizeof(hello), NULL);
	fb[60] = fb[61] = 0;
	decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
}

static void test_ipv4_bad_header_checksum_counted_bad_ip(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	fb[24] ^= 0x01;
	decode_expect_drop(fb, len, WR_CNT_rx_bad_ip);
}

static void test_ipv4_bad_version_ihl_or_total_length_counted_bad_ip(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	uint8_t b[128];

	memcpy(b, fb, len);                       /* version 5 (checksum fixed up) */
	b[14] = 0x55;
	tp_put16(b + 24, 0);
	tp_put16(b + 24, (uint16_t)~tp_fold(tp_sum(b + 14, 20, 0)));
	decode_expect_drop(b, len, WR_CNT_rx_bad_ip);

	memcpy(b, fb, len);                       /* IHL 4 */
	b[14] = 0x44;
	decode_expect_drop(b, len, WR_CNT_rx_bad_ip);

	memcpy(b, fb, len);                       /* total length one past the frame */
	tp_put16(b + 16, (uint16_t)(len - 14 + 1));
	tp_put16(b + 24, 0);
	tp_put16(b + 24, (uint16_t)~tp_fold(tp_sum(b + 14, 20, 0)));
	decode_expect_drop(b, len, WR_CNT_rx_bad_ip);
}

static void test_ipv4_bad_udp_checksum_counted_bad_udp(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	fb[50] ^= 0x20;
	decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
}

/* The NIC's verdict is trusted only when it says GOOD; UNKNOWN and BAD are
 * checked in software (a corrupted datagram is dropped either way). */
static void test_udp_checksum_skipped_only_when_nic_flags_it_good(void)
{
	static const uint64_t flags[] = { RTE_MBUF_F_RX_L4_CKSUM_GOOD,
					  RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN,
					  RTE_MBUF_F_RX_L4_CKSUM_BAD };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		size_t len;
		reset();
		len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
		fb[50] ^= 0x20;
		struct rte_mbuf *m = tp_mbuf(fb, len);
		CU_ASSERT_FATAL(m != NULL);
		m->ol_flags |= flags[i];
		enum dp_class cls = dp_decode(m, &la, &cnt, &pkt);
		rte_pktmbuf_free(m);
		if (flags[i] == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
			CU_ASSERT_EQUAL(cls, DP_CLASS_UDP);
			CU_ASSERT_EQUAL(cnt.v[WR_CNT_rx_bad_udp], 0);
		} else {
			CU_ASSERT_EQUAL(cls, DP_CLASS_DROP);
			CU_ASSERT_EQUAL(cnt.v[WR_CNT_rx_bad_udp], 1);
		}
	}
}

static void test_ipv6_bad_udp_checksum_counted_bad_udp(void)
{
	size_t len;

	reset();
	len = tp_udp6_frame(fb, tp_ip6_us, 514, hello, sizeof(hello), NULL);
	fb[len - 1] ^= 0x01;
	decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
}

static void test_udp_length_beyond_ip_payload_counted_bad_udp(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	tp_put16(fb + 38, (uint16_t)(8 + sizeof(hello) + 1));
	decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
	tp_put16(fb + 38, 7);
	decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
}

static void test_udp_checksum_verified_across_odd_segments(void)
{
	uint8_t pl[301];
	uint8_t got[301];
	size_t len;

	reset();
	tp_pattern(pl, sizeof(pl), 3);
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, pl, sizeof(pl), NULL);
	static const size_t cuts[][3] = { { 43, 44, 200 }, { 42, 101, 102 }, { 45, 46, 47 },
					  { 99, 250, 333 } };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct rte_mbuf *m = tp_mbuf_segs(fb, len, cuts[i], 3);

		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT_EQUAL(m->nb_segs, 4);
		CU_ASSERT_EQUAL(dp_decode(m, &la, &cnt, &pkt), DP_CLASS_UDP);
		CU_ASSERT_EQUAL(pkt.payload_len, sizeof(pl));
		const void *p = rte_pktmbuf_read(m, pkt.payload_off, sizeof(pl), got);
		CU_ASSERT(p != NULL && memcmp(p, pl, sizeof(pl)) == 0);
		rte_pktmbuf_free(m);

		/* one flipped payload byte in the last segment is caught */
		fb[len - 2] ^= 0x40;
		m = tp_mbuf_segs(fb, len, cuts[i], 3);
		struct wr_counters before = cnt;
		CU_ASSERT_EQUAL(dp_decode(m, &la, &cnt, &pkt), DP_CLASS_DROP);
		assert_only(&before, WR_CNT_rx_bad_udp);
		rte_pktmbuf_free(m);
		fb[len - 2] ^= 0x40;
	}
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_rx_bad_udp], 4);
}

static void test_udp_checksum_every_payload_length_0_to_40(void)
{
	uint8_t pl[40];
	size_t len;

	reset();
	tp_pattern(pl, sizeof(pl), 0xf0);
	for (size_t n = 0; n <= sizeof(pl); n++) {
		len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, pl, n, NULL);
		CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
		CU_ASSERT_EQUAL(pkt.payload_len, n);
		fb[len - 1] ^= 0x81;              /* last byte: the odd one when n is odd */
		decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
		len = tp_udp6_frame(fb, tp_ip6_us, 514, pl, n, NULL);
		CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
		fb[len - 1] ^= 0x18;
		decode_expect_drop(fb, len, WR_CNT_rx_bad_udp);
	}
}

/* ---- truncation ---- */

/*
 * Every prefix of @b: the mbuf holds the whole frame in its buffer but
 * data_len/pkt_len say @cut, so a read past the bound would see valid bytes
 * and could only be noticed through a wrong class.
 */
static void check_every_prefix_dropped(const uint8_t *b, size_t full)
{
	for (size_t cut = 0; cut < full; cut++) {
		struct rte_mbuf *m = tp_mbuf(b, full);
		struct wr_counters before = cnt;

		CU_ASSERT_FATAL(m != NULL);
		m->data_len = (uint16_t)cut;
		m->pkt_len = (uint32_t)cut;
		enum dp_class cls = dp_decode(m, &la, &cnt, &pkt);
		CU_ASSERT_EQUAL(cls, DP_CLASS_DROP);
		CU_ASSERT_EQUAL(tp_cnt_total(&cnt) - tp_cnt_total(&before), 1);
		uint64_t bad = (cnt.v[WR_CNT_rx_bad_l2] - before.v[WR_CNT_rx_bad_l2]) +
			       (cnt.v[WR_CNT_rx_bad_ip] - before.v[WR_CNT_rx_bad_ip]) +
			       (cnt.v[WR_CNT_rx_bad_udp] - before.v[WR_CNT_rx_bad_udp]) +
			       (cnt.v[WR_CNT_rx_unknown] - before.v[WR_CNT_rx_unknown]);
		CU_ASSERT_EQUAL(bad, 1);
		if (cut < 14)
			CU_ASSERT_EQUAL(cnt.v[WR_CNT_rx_bad_l2] - before.v[WR_CNT_rx_bad_l2], 1);
		rte_pktmbuf_free(m);
	}
}

static size_t build_arp_request(uint8_t *b, int ntags, const uint16_t *tpids,
				const uint16_t *vids, const uint8_t *tpa);
static size_t build_ns(uint8_t *b, const uint8_t *src_ip, const uint8_t *dst_ip,
		       const uint8_t *dst_mac, const uint8_t *target, bool slla, uint8_t hlim);
static size_t build_echo4(uint8_t *b, size_t data_len);

static void test_truncated_frames_at_every_length_dropped_and_counted(void)
{
	uint16_t tpid[] = { 0x88a8, 0x8100 }, tci[] = { 5, 6 };
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 2, tpid, tci, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	check_every_prefix_dropped(fb, len);
	len = build_udp6_with_ext(fb, 17);
	check_every_prefix_dropped(fb, len);
	len = build_arp_request(fb, 1, tpid + 1, tci, tp_ip4_us);
	check_every_prefix_dropped(fb, len);
	len = build_ns(fb, tp_ip6_peer, tp_ip6_us, tp_mac_us, tp_ip6_us, true, 255);
	check_every_prefix_dropped(fb, len);
	len = build_echo4(fb, 16);
	check_every_prefix_dropped(fb, len);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_arp_replies] + cnt.v[WR_CNT_nd_replies] +
			cnt.v[WR_CNT_icmp_echo_replies], 0);
}

/* Headers split between segments are refused; once in the first one, the datagram decodes. */
static void test_headers_split_across_segments(void)
{
	uint8_t pl[64], got[64];
	size_t len;

	reset();
	tp_pattern(pl, sizeof(pl), 9);
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, pl, sizeof(pl), NULL);
	for (size_t k = 1; k < len; k++) {
		struct rte_mbuf *m = tp_mbuf_segs(fb, len, &k, 1);
		struct wr_counters before = cnt;

		CU_ASSERT_FATAL(m != NULL);
		enum dp_class cls = dp_decode(m, &la, &cnt, &pkt);
		if (k >= 42) {
			CU_ASSERT_EQUAL(cls, DP_CLASS_UDP);
			const void *p = rte_pktmbuf_read(m, pkt.payload_off, sizeof(pl), got);
			CU_ASSERT(p != NULL && memcmp(p, pl, sizeof(pl)) == 0);
		} else {
			CU_ASSERT_EQUAL(cls, DP_CLASS_DROP);
			CU_ASSERT_EQUAL(tp_cnt_total(&cnt) - tp_cnt_total(&before), 1);
		}
		rte_pktmbuf_free(m);
	}
}

/* ---- destination filters ---- */

static void test_wrong_dst_ip_counted_not_for_us(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_other, 514, hello, sizeof(hello), NULL);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	len = tp_udp6_frame(fb, tp_ip6_other, 514, hello, sizeof(hello), NULL);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
}

static void test_wrong_dst_mac_counted_not_for_us(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	memcpy(fb, tp_mac_other, 6);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	static const uint8_t v4mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	memcpy(fb, v4mcast, 6);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	memcpy(fb, tp_mac_bcast, 6);               /* broadcast is accepted */
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
}

static void test_accept_any_dst_takes_udp_to_any_mac_and_ip(void)
{
	size_t len;

	reset();
	la.accept_any_dst = true;
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_other, 514, hello, sizeof(hello), NULL);
	memcpy(fb, tp_mac_other, 6);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(pkt.payload_len, sizeof(hello));
	len = tp_udp6_frame(fb, tp_ip6_other, 514, hello, sizeof(hello), NULL);
	memcpy(fb, tp_mac_other, 6);
	CU_ASSERT_EQUAL(decode(fb, len, NULL), DP_CLASS_UDP);
	/* but pings to another host are still not ours to answer */
	len = build_echo4(fb, 8);
	memcpy(fb + 30, tp_ip4_other, 4);
	tp_put16(fb + 24, 0);
	tp_put16(fb + 24, (uint16_t)~tp_fold(tp_sum(fb + 14, 20, 0)));
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_icmp_echo_replies], 0);
}

static void test_closed_port_counted(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 515, hello, sizeof(hello), NULL);
	decode_expect_drop(fb, len, WR_CNT_rx_port_closed);
	len = tp_udp6_frame(fb, tp_ip6_us, 53, hello, sizeof(hello), NULL);
	decode_expect_drop(fb, len, WR_CNT_rx_port_closed);
}

static void test_unknown_ethertype_and_protocol_counted_unknown(void)
{
	size_t len;

	reset();
	len = tp_udp4_frame(fb, 0, NULL, NULL, tp_ip4_us, 514, hello, sizeof(hello), NULL);
	uint8_t b[128];
	memcpy(b, fb, len);
	tp_put16(b + 12, 0x88cc);                  /* LLDP */
	decode_expect_drop(b, len, WR_CNT_rx_unknown);

	memcpy(b, fb, len);                        /* TCP */
	b[23] = 6;
	tp_put16(b + 24, 0);
	tp_put16(b + 24, (uint16_t)~tp_fold(tp_sum(b + 14, 20, 0)));
	decode_expect_drop(b, len, WR_CNT_rx_unknown);
}

/* ---- ARP ---- */

static size_t build_arp_request(uint8_t *b, int ntags, const uint16_t *tpids,
				const uint16_t *vids, const uint8_t *tpa)
{
	size_t o = tp_eth(b, tp_mac_bcast, tp_mac_peer, ntags, tpids, vids, 0x0806);
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(b + o, hdr, 8);
	memcpy(b + o + 8, tp_mac_peer, 6);
	memcpy(b + o + 14, tp_ip4_peer, 4);
	memset(b + o + 18, 0, 6);
	memcpy(b + o + 24, tpa, 4);
	return o + 28;
}

static void test_arp_request_rewritten_into_exact_reply(void)
{
	static const uint8_t expect[42] = {
		0x02, 0, 0, 0, 0, 0x02,   0x02, 0, 0, 0, 0, 0x01,   0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
		0x02, 0, 0, 0, 0, 0x01,   192, 0, 2, 1,
		0x02, 0, 0, 0, 0, 0x02,   192, 0, 2, 2,
	};
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_arp_request(fb, 0, NULL, NULL, tp_ip4_us);
	CU_ASSERT_EQUAL(len, 42);
	memset(fb + len, 0, 60 - len);             /* padded to the minimum frame */
	CU_ASSERT_EQUAL_FATAL(decode(fb, 60, &m), DP_CLASS_REPLY);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 60);
	CU_ASSERT(memcmp(rte_pktmbuf_mtod(m, uint8_t *), expect, sizeof(expect)) == 0);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_arp_replies], 1);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 1);
	rte_pktmbuf_free(m);
}

static void test_arp_reply_keeps_vlan_tag(void)
{
	uint16_t tpid[] = { 0x8100 }, tci[] = { 42 };
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_arp_request(fb, 1, tpid, tci, tp_ip4_us);
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_REPLY);
	const uint8_t *r = rte_pktmbuf_mtod(m, const uint8_t *);
	static const uint8_t tag[6] = { 0x81, 0x00, 0x00, 42, 0x08, 0x06 };
	CU_ASSERT(memcmp(r, tp_mac_peer, 6) == 0);
	CU_ASSERT(memcmp(r + 6, tp_mac_us, 6) == 0);
	CU_ASSERT(memcmp(r + 12, tag, 6) == 0);
	CU_ASSERT_EQUAL(tp_get16(r + 18 + 6), 2);
	CU_ASSERT(memcmp(r + 18 + 24, tp_ip4_peer, 4) == 0);
	rte_pktmbuf_free(m);
}

static void test_arp_for_other_ip_or_not_request_not_answered(void)
{
	size_t len;

	reset();
	len = build_arp_request(fb, 0, NULL, NULL, tp_ip4_other);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	len = build_arp_request(fb, 0, NULL, NULL, tp_ip4_us);
	tp_put16(fb + 20, 2);                      /* a reply, not a request */
	decode_expect_drop(fb, len, WR_CNT_rx_unknown);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_arp_replies], 0);
}

/* ---- ICMP echo ---- */

static size_t build_echo4(uint8_t *b, size_t data_len)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x0800);
	o += tp_ipv4(b + o, tp_ip4_peer, tp_ip4_us, 1, 0x4242, 0x4000, (uint16_t)(8 + data_len),
		     NULL, 0);
	uint8_t *icmp = b + o;
	icmp[0] = 8;
	icmp[1] = 0;
	tp_put16(icmp + 2, 0);
	tp_put16(icmp + 4, 0x0102);
	tp_put16(icmp + 6, 3);
	tp_pattern(icmp + 8, data_len, 1);
	tp_put16(icmp + 2, (uint16_t)~tp_fold(tp_sum(icmp, 8 + data_len, 0)));
	return o + 8 + data_len;
}

static void test_icmp_echo_request_gets_reply_with_valid_checksums(void)
{
	uint8_t req[128];
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_echo4(req, 40);
	CU_ASSERT_EQUAL_FATAL(decode(req, len, &m), DP_CLASS_REPLY);
	const uint8_t *r = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), len);
	CU_ASSERT(memcmp(r, tp_mac_peer, 6) == 0);
	CU_ASSERT(memcmp(r + 6, tp_mac_us, 6) == 0);
	CU_ASSERT(memcmp(r + 26, tp_ip4_us, 4) == 0);
	CU_ASSERT(memcmp(r + 30, tp_ip4_peer, 4) == 0);
	CU_ASSERT_EQUAL(r[22], 64);
	CU_ASSERT_EQUAL(tp_get16(r + 16), 20 + 8 + 40);
	CU_ASSERT_EQUAL(tp_fold(tp_sum(r + 14, 20, 0)), 0xffff);      /* IP checksum */
	CU_ASSERT_EQUAL(r[34], 0);                                    /* echo reply */
	CU_ASSERT_EQUAL(r[35], 0);
	CU_ASSERT_EQUAL(tp_fold(tp_sum(r + 34, 48, 0)), 0xffff);      /* ICMP checksum */
	CU_ASSERT(memcmp(r + 38, req + 38, 4 + 40) == 0);             /* id, seq, data */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_icmp_echo_replies], 1);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 1);
	rte_pktmbuf_free(m);
}

static void test_icmp_bad_checksum_and_other_types_not_answered(void)
{
	uint8_t b[128];
	size_t len;

	reset();
	len = build_echo4(b, 8);
	b[len - 1] ^= 1;
	decode_expect_drop(b, len, WR_CNT_rx_bad_ip);
	len = build_echo4(b, 8);
	b[34] = 13;                                /* timestamp request */
	tp_put16(b + 36, 0);
	tp_put16(b + 36, (uint16_t)~tp_fold(tp_sum(b + 34, 16, 0)));
	decode_expect_drop(b, len, WR_CNT_rx_unknown);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_icmp_echo_replies], 0);
}

/* ---- IPv6 neighbour discovery and echo ---- */

static const uint8_t sn_mcast_us[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
					 0xff, 0xab, 0xcd, 0x01 };
static const uint8_t sn_mac_us[6] = { 0x33, 0x33, 0xff, 0xab, 0xcd, 0x01 };

static size_t build_ns(uint8_t *b, const uint8_t *src_ip, const uint8_t *dst_ip,
		       const uint8_t *dst_mac, const uint8_t *target, bool slla, uint8_t hlim)
{
	uint16_t icmp_len = slla ? 32 : 24;
	size_t o = tp_eth(b, dst_mac, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(b + o, src_ip, dst_ip, 58, icmp_len, hlim);
	uint8_t *icmp = b + o;
	memset(icmp, 0, icmp_len);
	icmp[0] = 135;
	memcpy(icmp + 8, target, 16);
	if (slla) {
		icmp[24] = 1;
		icmp[25] = 1;
		memcpy(icmp + 26, tp_mac_peer, 6);
	}
	tp_put16(icmp + 2, (uint16_t)~tp_fold(tp_sum(icmp, icmp_len,
						       tp_pseudo(src_ip, dst_ip, 16, 58, icmp_len))));
	return o + icmp_len;
}

/* The NA weir must send for @ns_src (or to all nodes for DAD), written out in full. */
static size_t build_expected_na(uint8_t *b, const uint8_t *dst_mac, const uint8_t *dst_ip,
				uint8_t flags)
{
	size_t o = tp_eth(b, dst_mac, tp_mac_us, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(b + o, tp_ip6_us, dst_ip, 58, 32, 255);
	uint8_t *icmp = b + o;
	memset(icmp, 0, 32);
	icmp[0] = 136;
	icmp[4] = flags;
	memcpy(icmp + 8, tp_ip6_us, 16);
	icmp[24] = 2;
	icmp[25] = 1;
	memcpy(icmp + 26, tp_mac_us, 6);
	tp_put16(icmp + 2, (uint16_t)~tp_fold(tp_sum(icmp, 32,
						       tp_pseudo(tp_ip6_us, dst_ip, 16, 58, 32))));
	return o + 32;
}

static void check_na(struct rte_mbuf *m, const uint8_t *dst_mac, const uint8_t *dst_ip,
		     uint8_t flags)
{
	uint8_t exp[128];
	size_t len = build_expected_na(exp, dst_mac, dst_ip, flags);
	const uint8_t *r = rte_pktmbuf_mtod(m, const uint8_t *);

	CU_ASSERT_EQUAL(len, 86);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), len);
	CU_ASSERT_EQUAL(rte_pktmbuf_data_len(m), len);
	CU_ASSERT(memcmp(r, exp, len) == 0);
	/* and the checksum verifies on the bytes sent */
	CU_ASSERT_EQUAL(tp_fold(tp_sum(r + 54, 32, tp_pseudo(r + 22, r + 38, 16, 58, 32))),
			0xffff);
}

static void test_ns_to_solicited_node_gets_na_with_tlla(void)
{
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_ns(fb, tp_ip6_peer, sn_mcast_us, sn_mac_us, tp_ip6_us, true, 255);
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_REPLY);
	check_na(m, tp_mac_peer, tp_ip6_peer, 0x60);          /* solicited, override */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_nd_replies], 1);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 1);
	rte_pktmbuf_free(m);
}

static void test_ns_without_options_to_unicast_grows_into_na(void)
{
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_ns(fb, tp_ip6_peer, tp_ip6_us, tp_mac_us, tp_ip6_us, false, 255);
	CU_ASSERT_EQUAL(len, 78);
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_REPLY);
	check_na(m, tp_mac_peer, tp_ip6_peer, 0x60);
	rte_pktmbuf_free(m);
}

static void test_ns_for_dad_answered_to_all_nodes_unsolicited(void)
{
	static const uint8_t unspec[16];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct rte_mbuf *m;
	size_t len;

	reset();
	len = build_ns(fb, unspec, sn_mcast_us, sn_mac_us, tp_ip6_us, false, 255);
	CU_ASSERT_EQUAL_FATAL(decode(fb, len, &m), DP_CLASS_REPLY);
	check_na(m, all_nodes_mac, all_nodes, 0x20);          /* override only */
	rte_pktmbuf_free(m);
}

static void test_ns_reply_keeps_vlan_tags(void)
{
	uint16_t tpid[] = { 0x88a8, 0x8100 }, tci[] = { 10, 20 };
	uint8_t plain[128];
	struct rte_mbuf *m;
	size_t len, o;

	reset();
	len = build_ns(plain, tp_ip6_peer, sn_mcast_us, sn_mac_us, tp_ip6_us, true, 255);
	o = tp_eth(fb, sn_mac_us, tp_mac_peer, 2, tpid, tci, 0x86dd);
	memcpy(fb + o, plain + 14, len - 14);
	CU_ASSERT_EQUAL_FATAL(decode(fb, o + len - 14, &m), DP_CLASS_REPLY);
	const uint8_t *r = rte_pktmbuf_mtod(m, const uint8_t *);
	static const uint8_t tags[10] = { 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd };
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 86 + 8);
	CU_ASSERT(memcmp(r, tp_mac_peer, 6) == 0);
	CU_ASSERT(memcmp(r + 12, tags, 10) == 0);
	CU_ASSERT_EQUAL(r[22 + 40], 136);
	CU_ASSERT_EQUAL(tp_fold(tp_sum(r + 62, 32, tp_pseudo(r + 30, r + 46, 16, 58, 32))),
			0xffff);
	rte_pktmbuf_free(m);
}

static void test_ns_not_for_us_or_invalid_not_answered(void)
{
	static const uint8_t sn_other[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
					      0xff, 0, 0, 0x77 };
	size_t len;

	reset();
	len = build_ns(fb, tp_ip6_peer, sn_other, sn_mac_us, tp_ip6_other, true, 255);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	len = build_ns(fb, tp_ip6_peer, tp_ip6_us, tp_mac_us, tp_ip6_other, true, 255);
	decode_expect_drop(fb, len, WR_CNT_rx_not_for_us);
	len = build_ns(fb, tp_ip6_peer, sn_mcast_us, sn_mac_us, tp_ip6_us, true, 64);
	decode_expect_drop(fb, len, WR_CNT_rx_bad_ip);       /* hop limit must be 255 */
	len = build_ns(fb, tp_ip6_peer, sn_mcast_us, sn_mac_us, tp_ip6_us, true, 255);
	fb[len - 1] ^= 1;
	decode_expect_drop(fb, len, WR_CNT_rx_bad_ip);       /* checksum */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_nd_replies], 0);
}

static void test_icmpv6_echo_request_gets_reply(void)
{
	uint8_t req[256];
	struct rte_mbuf *m;
	size_t o;

	reset();
	/* with a hop-by-hop header that the reply must not carry */
	o = tp_eth(req, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(req + o, tp_ip6_peer, tp_ip6_us, 0, 8 + 8 + 20, 64);
	uint8_t hbh[8] = { 58, 0, 1, 4, 0, 0, 0, 0 };
	memcpy(req + o, hbh, 8);
	o += 8;
	uint8_t *icmp = req + o;
	memset(icmp, 0, 28);
	icmp[0] = 128;
	tp_put16(icmp + 4, 77);
	tp_put16(icmp + 6, 1);
	tp_pattern(icmp + 8, 20, 5);
	tp_put16(icmp + 2, (uint16_t)~tp_fold(tp_sum(icmp, 28,
						       tp_pseudo(tp_ip6_peer, tp_ip6_us, 16, 58, 28))));
	o += 28;
	CU_ASSERT_EQUAL_FATAL(decode(req, o, &m), DP_CLASS_REPLY);
	const uint8_t *r = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 14 + 40 + 28);
	CU_ASSERT(memcmp(r, tp_mac_peer, 6) == 0);
	CU_ASSERT(memcmp(r + 6, tp_mac_us, 6) == 0);
	CU_ASSERT_EQUAL(tp_get16(r + 18), 28);
	CU_ASSERT_EQUAL(r[20], 58);
	CU_ASSERT(memcmp(r + 22, tp_ip6_us, 16) == 0);
	CU_ASSERT(memcmp(r + 38, tp_ip6_peer, 16) == 0);
	CU_ASSERT_EQUAL(r[54], 129);
	CU_ASSERT(memcmp(r + 58, icmp + 4, 24) == 0);
	CU_ASSERT_EQUAL(tp_fold(tp_sum(r + 54, 28, tp_pseudo(r + 22, r + 38, 16, 58, 28))),
			0xffff);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_icmp_echo_replies], 1);
	rte_pktmbuf_free(m);
}

static void test_other_icmpv6_counted_unknown(void)
{
	size_t len;

	reset();
	len = build_ns(fb, tp_ip6_peer, tp_ip6_us, tp_mac_us, tp_ip6_us, true, 255);
	fb[54] = 134;                              /* router advertisement */
	decode_expect_drop(fb, len, WR_CNT_rx_unknown);
}

/* ---- fragments ---- */

static void test_ipv4_fragment_classified_with_l2_l3_len(void)
{
	static const uint8_t opts[4] = { 1, 1, 1, 1 };
	uint16_t tpid[] = { 0x8100 }, tci[] = { 7 };
	struct rte_mbuf *m;
	size_t o;

	reset();
	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 1, tpid, tci, 0x0800);
	o += tp_ipv4(fb + o, tp_ip4_peer, tp_ip4_us, 17, 99, 0x2000, 64, opts, 4);   /* MF */
	tp_pattern(fb + o, 64, 0);
	CU_ASSERT_EQUAL_FATAL(decode(fb, o + 64, &m), DP_CLASS_FRAG);
	CU_ASSERT_EQUAL(m->l2_len, 18);
	CU_ASSERT_EQUAL(m->l3_len, 24);
	CU_ASSERT_EQUAL(tp_cnt_total(&cnt), 0);
	rte_pktmbuf_free(m);

	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x0800);
	o += tp_ipv4(fb + o, tp_ip4_peer, tp_ip4_us, 17, 99, 8, 64, NULL, 0);        /* last */
	CU_ASSERT_EQUAL_FATAL(decode(fb, o + 64, &m), DP_CLASS_FRAG);
	CU_ASSERT_EQUAL(m->l2_len, 14);
	CU_ASSERT_EQUAL(m->l3_len, 20);
	rte_pktmbuf_free(m);

	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x0800);
	o += tp_ipv4(fb + o, tp_ip4_peer, tp_ip4_other, 17, 99, 8, 64, NULL, 0);
	decode_expect_drop(fb, o + 64, WR_CNT_rx_not_for_us);
}

static void test_ipv6_fragment_classified_with_l3_len_48(void)
{
	struct rte_mbuf *m;
	size_t o;

	reset();
	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(fb + o, tp_ip6_peer, tp_ip6_us, 44, 8 + 64, 64);
	uint8_t fh[8] = { 17, 0, 0, 1, 0, 0, 0, 5 };   /* offset 0, M */
	memcpy(fb + o, fh, 8);
	CU_ASSERT_EQUAL_FATAL(decode(fb, o + 8 + 64, &m), DP_CLASS_FRAG);
	CU_ASSERT_EQUAL(m->l2_len, 14);
	CU_ASSERT_EQUAL(m->l3_len, 48);
	rte_pktmbuf_free(m);
}

static void test_ipv6_fragment_after_other_ext_header_counted_unknown(void)
{
	size_t o;

	reset();
	o = tp_eth(fb, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);
	o += tp_ipv6(fb + o, tp_ip6_peer, tp_ip6_us, 60, 8 + 8 + 64, 64);
	uint8_t dst[8] = { 44, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t fh[8] = { 17, 0, 0, 1, 0, 0, 0, 5 };
	memcpy(fb + o, dst, 8);
	memcpy(fb + o + 8, fh, 8);
	decode_expect_drop(fb, o + 16 + 64, WR_CNT_rx_unknown);
}

static int reg(void)
{
	if (tp_setup("test_decode") != 0)
		return -1;
	WR_SUITE("decode",
		 WR_TEST(test_ipv4_udp_payload_offset_and_length_exact),
		 WR_TEST(test_ethernet_padding_not_counted_in_payload),
		 WR_TEST(test_vlan_8021q_gives_vlan_id_and_shifted_offset),
		 WR_TEST(test_qinq_88a8_then_8100_gives_outer_vlan),
		 WR_TEST(test_three_vlan_tags_counted_unknown),
		 WR_TEST(test_ipv4_options_allowed),
		 WR_TEST(test_ipv6_udp_payload_offset_and_length_exact),
		 WR_TEST(test_ipv6_udp_after_hop_by_hop_and_dst_options),
		 WR_TEST(test_ipv6_atomic_fragment_decoded_as_datagram),
		 WR_TEST(test_ipv4_udp_zero_checksum_accepted),
		 WR_TEST(test_ipv6_udp_zero_checksum_rejected),
		 WR_TEST(test_ipv4_bad_header_checksum_counted_bad_ip),
		 WR_TEST(test_ipv4_bad_version_ihl_or_total_length_counted_bad_ip),
		 WR_TEST(test_ipv4_bad_udp_checksum_counted_bad_udp),
		 WR_TEST(test_udp_checksum_skipped_only_when_nic_flags_it_good),
		 WR_TEST(test_ipv6_bad_udp_checksum_counted_bad_udp),
		 WR_TEST(test_udp_length_beyond_ip_payload_counted_bad_udp),
		 WR_TEST(test_udp_checksum_verified_across_odd_segments),
		 WR_TEST(test_udp_checksum_every_payload_length_0_to_40),
		 WR_TEST(test_truncated_frames_at_every_length_dropped_and_counted),
		 WR_TEST(test_headers_split_across_segments),
		 WR_TEST(test_wrong_dst_ip_counted_not_for_us),
		 WR_TEST(test_wrong_dst_mac_counted_not_for_us),
		 WR_TEST(test_accept_any_dst_takes_udp_to_any_mac_and_ip),
		 WR_TEST(test_closed_port_counted),
		 WR_TEST(test_unknown_ethertype_and_protocol_counted_unknown),
		 WR_TEST(test_arp_request_rewritten_into_exact_reply),
		 WR_TEST(test_arp_reply_keeps_vlan_tag),
		 WR_TEST(test_arp_for_other_ip_or_not_request_not_answered),
		 WR_TEST(test_icmp_echo_request_gets_reply_with_valid_checksums),
		 WR_TEST(test_icmp_bad_checksum_and_other_types_not_answered),
		 WR_TEST(test_ns_to_solicited_node_gets_na_with_tlla),
		 WR_TEST(test_ns_without_options_to_unicast_grows_into_na),
		 WR_TEST(test_ns_for_dad_answered_to_all_nodes_unsolicited),
		 WR_TEST(test_ns_reply_keeps_vlan_tags),
		 WR_TEST(test_ns_not_for_us_or_invalid_not_answered),
		 WR_TEST(test_icmpv6_echo_request_gets_reply),
		 WR_TEST(test_other_icmpv6_counted_unknown),
		 WR_TEST(test_ipv4_fragment_classified_with_l2_l3_len),
		 WR_TEST(test_ipv6_fragment_classified_with_l3_len_48),
		 WR_TEST(test_ipv6_fragment_after_other_ext_header_counted_unknown));
	return 0;
}

WR_TEST_MAIN(reg)
