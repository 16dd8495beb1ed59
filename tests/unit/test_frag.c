/*
 * test_frag.c - dp_frag: IPv4 and IPv6 reassembly through dp_decode and
 * back, in and out of order; missing fragments, timeouts, a full table,
 * duplicates, too many pieces and oversize datagrams counted as drops; and no
 * mbuf left behind. Time is a fake TSC passed in.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "dp_decode.h"
#include "dp_frag.h"
#include "dp_test_pkt.h"
#include "wr_test.h"

#define TIMEOUT_US 1000000          /* one second: hz cycles */
#define T0 1000000ull

static struct dp_local_addrs la;
static struct wr_counters cnt;
static struct dp_frag *fr;
static unsigned pool_avail;

/* The datagram being fragmented: UDP header + payload. */
static uint8_t l4[3000];
static size_t l4_len;
static uint8_t payload[3000];
static size_t payload_len;

static uint64_t hz(void)
{
	return rte_get_tsc_hz();
}

static void start(uint32_t max_flows, size_t plen, bool v6)
{
	tp_local(&la);
	memset(&cnt, 0, sizeof(cnt));
	pool_avail = rte_mempool_avail_count(tp_pool);
	CU_ASSERT_EQUAL_FATAL(dp_frag_create(max_flows, TIMEOUT_US, SOCKET_ID_ANY, &fr), 0);
	payload_len = plen;
	tp_pattern(payload, plen, 11);
	if (v6)
		l4_len = tp_udp(l4, tp_ip6_peer, tp_ip6_us, 16, 40000, 514, payload, plen);
	else
		l4_len = tp_udp(l4, tp_ip4_peer, tp_ip4_us, 4, 40000, 514, payload, plen);
}

/* Everything freed: no fragment or datagram left in the pool's debt. */
static void finish(void)
{
	dp_frag_destroy(fr);
	fr = NULL;
	CU_ASSERT_EQUAL(rte_mempool_avail_count(tp_pool), pool_avail);
}

struct piece { size_t ofs, len; bool more; };

static size_t build_v4_frag(uint8_t *b, int ntags, const uint16_t *tpids, const uint16_t *vids,
			    uint16_t id, struct piece p)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, ntags, tpids, vids, 0x0800);
	uint16_t frag = (uint16_t)((p.more ? 0x2000 : 0) | (p.ofs / 8));

	o += tp_ipv4(b + o, tp_ip4_peer, tp_ip4_us, 17, id, frag, (uint16_t)p.len, NULL, 0);
	memcpy(b + o, l4 + p.ofs, p.len);
	return o + p.len;
}

static size_t build_v6_frag(uint8_t *b, uint32_t id, struct piece p)
{
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x86dd);

	o += tp_ipv6(b + o, tp_ip6_peer, tp_ip6_us, 44, (uint16_t)(8 + p.len), 64);
	b[o] = 17;
	b[o + 1] = 0;
	tp_put16(b + o + 2, (uint16_t)(p.ofs | (p.more ? 1 : 0)));
	b[o + 4] = (uint8_t)(id >> 24);
	b[o + 5] = (uint8_t)(id >> 16);
	b[o + 6] = (uint8_t)(id >> 8);
	b[o + 7] = (uint8_t)id;
	o += 8;
	memcpy(b + o, l4 + p.ofs, p.len);
	return o + p.len;
}

/* Decode one fragment frame (must be DP_CLASS_FRAG) and hand it to dp_frag. */
static struct rte_mbuf *feed(const uint8_t *b, size_t len, uint64_t now)
{
	struct rte_mbuf *m = tp_mbuf(b, len);
	struct dp_pkt pkt;

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL_FATAL(dp_decode(m, &la, &cnt, &pkt), DP_CLASS_FRAG);
	return dp_frag_reassemble(fr, m, now, &cnt);
}

static struct rte_mbuf *feed_v4(struct piece p, uint16_t id, uint64_t now)
{
	uint8_t b[2048];

	return feed(b, build_v4_frag(b, 0, NULL, NULL, id, p), now);
}

static struct rte_mbuf *feed_v6(struct piece p, uint32_t id, uint64_t now)
{
	uint8_t b[2048];

	return feed(b, build_v6_frag(b, id, p), now);
}

/* The reassembled datagram decodes as UDP with exactly the original payload. */
static void check_datagram(struct rte_mbuf *r, uint8_t ipv, uint32_t l2, uint16_t vlan,
			   uint16_t nsegs)
{
	static uint8_t got[3000];
	struct dp_pkt pkt;
	uint64_t bad_before = cnt.v[WR_CNT_rx_bad_ip] + cnt.v[WR_CNT_rx_bad_udp];

	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->nb_segs, nsegs);
	uint32_t l3 = ipv == 4 ? 20 : 40;
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(r), l2 + l3 + l4_len);
	CU_ASSERT_EQUAL_FATAL(dp_decode(r, &la, &cnt, &pkt), DP_CLASS_UDP);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_rx_bad_ip] + cnt.v[WR_CNT_rx_bad_udp], bad_before);
	CU_ASSERT_EQUAL(pkt.ip_version, ipv);
	CU_ASSERT_EQUAL(pkt.vlan, vlan);
	CU_ASSERT_EQUAL(pkt.payload_off, l2 + l3 + 8);
	CU_ASSERT_EQUAL_FATAL(pkt.payload_len, payload_len);
	const void *p = rte_pktmbuf_read(r, pkt.payload_off, pkt.payload_len, got);
	CU_ASSERT(p != NULL && memcmp(p, payload, payload_len) == 0);

	const uint8_t *ip = rte_pktmbuf_mtod_offset(r, const uint8_t *, l2);
	if (ipv == 4) {
		CU_ASSERT_EQUAL(tp_get16(ip + 2), 20 + l4_len);
		CU_ASSERT_EQUAL(tp_get16(ip + 6) & 0x3fff, 0);        /* no MF, offset 0 */
		CU_ASSERT_EQUAL(tp_fold(tp_sum(ip, 20, 0)), 0xffff);
	} else {
		CU_ASSERT_EQUAL(ip[6], 17);                            /* fragment header gone */
		CU_ASSERT_EQUAL(tp_get16(ip + 4), l4_len);
	}
}

static const struct piece three[3] = {
	{ 0, 1200, true }, { 1200, 1200, true }, { 2400, 600, false },
};

/* ---- tests ---- */

static void test_create_rejects_bad_arguments(void)
{
	struct dp_frag *f = (struct dp_frag *)&f;

	CU_ASSERT_EQUAL(dp_frag_create(0, TIMEOUT_US, SOCKET_ID_ANY, &f), -EINVAL);
	CU_ASSERT_PTR_NULL(f);
	CU_ASSERT_EQUAL(dp_frag_create(DP_FRAG_MAX_FLOWS + 1, TIMEOUT_US, SOCKET_ID_ANY, &f),
			-EINVAL);
	CU_ASSERT_EQUAL(dp_frag_create(16, 0, SOCKET_ID_ANY, &f), -EINVAL);
	CU_ASSERT_EQUAL(dp_frag_create(16, -5, SOCKET_ID_ANY, &f), -EINVAL);
	dp_frag_destroy(NULL);
}

static void test_ipv4_in_order_reassembled_and_decoded(void)
{
	uint16_t tpid[] = { 0x88a8, 0x8100 }, tci[] = { 300, 301 };
	struct rte_mbuf *r = NULL;
	uint8_t b[2048];

	start(64, 2992, false);
	CU_ASSERT_EQUAL(l4_len, 3000);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_PTR_NULL(r);
		r = feed(b, build_v4_frag(b, 2, tpid, tci, 0x77, three[i]), T0 + (uint64_t)i);
	}
	check_datagram(r, 4, 22, 300, 3);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_in], 3);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 1);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 0);
	rte_pktmbuf_free(r);
	finish();
}

static void test_ipv4_out_of_order_reassembled_and_decoded(void)
{
	static const int order[][3] = { { 2, 0, 1 }, { 1, 2, 0 }, { 2, 1, 0 } };

	start(64, 2992, false);
	for (size_t k = 0; k < 3; k++) {
		struct rte_mbuf *r = NULL;

		for (int i = 0; i < 3; i++) {
			CU_ASSERT_PTR_NULL(r);
			r = feed_v4(three[order[k][i]], (uint16_t)(100 + k), T0);
		}
		check_datagram(r, 4, 14, 0, 3);
		rte_pktmbuf_free(r);
	}
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_in], 9);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 3);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 0);
	finish();
}

static void test_ipv6_in_order_reassembled_and_header_removed(void)
{
	struct rte_mbuf *r = NULL;

	start(64, 2992, true);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_PTR_NULL(r);
		r = feed_v6(three[i], 0xdeadbeef, T0);
	}
	check_datagram(r, 6, 14, 0, 3);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 1);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 0);
	rte_pktmbuf_free(r);
	finish();
}

static void test_ipv6_out_of_order_reassembled(void)
{
	static const int order[3] = { 2, 0, 1 };
	struct rte_mbuf *r = NULL;

	start(64, 2992, true);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_PTR_NULL(r);
		r = feed_v6(three[order[i]], 5, T0);
	}
	check_datagram(r, 6, 14, 0, 3);
	rte_pktmbuf_free(r);
	finish();
}

static void test_missing_fragment_never_completes_and_expires(void)
{
	start(64, 2992, false);
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 9, T0));
	CU_ASSERT_PTR_NULL(feed_v4(three[2], 9, T0 + 10));
	dp_frag_flush(fr);
	dp_frag_expire(fr, T0 + hz() / 2, &cnt);            /* not yet */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 0);
	dp_frag_expire(fr, T0 + hz() + 1, &cnt);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_in], 2);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 0);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 2);
	/* the middle piece now starts a new datagram that cannot complete either */
	CU_ASSERT_PTR_NULL(feed_v4(three[1], 9, T0 + hz() + 2));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 0);
	finish();                                           /* destroy frees the held piece */
}

static void test_timed_out_flow_dropped_when_next_fragment_arrives(void)
{
	start(64, 2992, true);
	CU_ASSERT_PTR_NULL(feed_v6(three[0], 1, T0));
	CU_ASSERT_PTR_NULL(feed_v6(three[1], 1, T0 + hz() + 1));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 1);
	CU_ASSERT_PTR_NULL(feed_v6(three[2], 1, T0 + hz() + 2));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 0);
	dp_frag_flush(fr);
	finish();
}

static void test_table_full_counted_as_drop(void)
{
	start(2, 2992, false);
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 1, T0));
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 2, T0));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 0);
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 3, T0));       /* a third flow: no room */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 1);
	/* the flows already held still complete */
	CU_ASSERT_PTR_NULL(feed_v4(three[1], 1, T0));
	struct rte_mbuf *r = feed_v4(three[2], 1, T0);
	check_datagram(r, 4, 14, 0, 3);
	rte_pktmbuf_free(r);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_in], 5);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 1);
	dp_frag_flush(fr);
	finish();
}

static void test_duplicate_first_fragment_drops_the_datagram(void)
{
	start(64, 2992, false);
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 4, T0));
	CU_ASSERT_PTR_NULL(feed_v4(three[0], 4, T0));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 2);
	CU_ASSERT_PTR_NULL(feed_v4(three[1], 4, T0));
	CU_ASSERT_PTR_NULL(feed_v4(three[2], 4, T0));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 0);
	dp_frag_flush(fr);
	finish();
}

static void test_more_pieces_than_max_frag_dropped(void)
{
	enum { N = RTE_LIBRTE_IP_FRAG_MAX_FRAG + 2 };

	start(64, N * 16 - 8, false);
	CU_ASSERT_EQUAL(l4_len, N * 16);
	for (int i = 0; i < N; i++) {
		struct piece p = { (size_t)i * 16, 16, i != N - 1 };

		CU_ASSERT_PTR_NULL(feed_v4(p, 8, T0));
	}
	/* first + MAX_FRAG-2 middle pieces stored, the next one overflows: all dropped */
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], RTE_LIBRTE_IP_FRAG_MAX_FRAG);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_reassembled], 0);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_in], N);
	dp_frag_flush(fr);
	finish();
}

static void test_datagram_over_64k_dropped(void)
{
	start(64, 2992, false);
	struct piece p = { 65528, 16, false };               /* ends past 65535 */
	uint8_t b[2048];
	size_t o = tp_eth(b, tp_mac_us, tp_mac_peer, 0, NULL, NULL, 0x0800);

	o += tp_ipv4(b + o, tp_ip4_peer, tp_ip4_us, 17, 3, (uint16_t)(p.ofs / 8), 16, NULL, 0);
	memset(b + o, 0xab, 16);
	CU_ASSERT_PTR_NULL(feed(b, o + 16, T0));
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 1);
	dp_frag_flush(fr);
	finish();
}

static void test_many_drops_without_flush_counted_and_freed(void)
{
	/* far more drops than one death row holds, and no flush by the caller */
	start(4096, 2992, false);
	for (uint32_t i = 0; i < 600; i++) {
		CU_ASSERT_PTR_NULL(feed_v4(three[0], (uint16_t)i, T0));
		CU_ASSERT_PTR_NULL(feed_v4(three[0], (uint16_t)i, T0));  /* duplicate: 2 drops */
	}
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_frag_dropped], 1200);
	dp_frag_flush(fr);
	finish();
}

static int reg(void)
{
	if (tp_setup("test_frag") != 0)
		return -1;
	WR_SUITE("frag",
		 WR_TEST(test_create_rejects_bad_arguments),
		 WR_TEST(test_ipv4_in_order_reassembled_and_decoded),
		 WR_TEST(test_ipv4_out_of_order_reassembled_and_decoded),
		 WR_TEST(test_ipv6_in_order_reassembled_and_header_removed),
		 WR_TEST(test_ipv6_out_of_order_reassembled),
		 WR_TEST(test_missing_fragment_never_completes_and_expires),
		 WR_TEST(test_timed_out_flow_dropped_when_next_fragment_arrives),
		 WR_TEST(test_table_full_counted_as_drop),
		 WR_TEST(test_duplicate_first_fragment_drops_the_datagram),
		 WR_TEST(test_more_pieces_than_max_frag_dropped),
		 WR_TEST(test_datagram_over_64k_dropped),
		 WR_TEST(test_many_drops_without_flush_counted_and_freed));
	return 0;
}

WR_TEST_MAIN(reg)
