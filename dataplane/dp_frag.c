/*
 * dp_frag.c - per-lcore IP reassembly on rte_ip_frag; see dp_frag.h.
 *
 * Drops are counted from the death row: rte_ip_frag puts every fragment it
 * gives up on (the incoming one, the fragments of a flow it evicts or finds
 * timed out) on the row, so the growth of the row across one call is the
 * number of fragments dropped by that call.
 */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>

#include "dp_frag.h"
#include "wr_common.h"

/*
 * Entries per bucket: rte_ip_frag looks a key up in two buckets, so with
 * about twice as many slots as flows a flow rarely finds both buckets full
 * before max_flows is reached.
 */
#define DP_FRAG_BUCKET_ENTRIES 4

/*
 * One call can put on the death row: the fragments of an evicted or timed-out
 * flow, and the fragments of the flow it fails plus the incoming one.
 * The row is flushed early when less room than that is left, because
 * rte_ip_frag writes to it without a bound check.
 */
#define DP_FRAG_DR_PER_CALL (2 * RTE_LIBRTE_IP_FRAG_MAX_FRAG + 2)
#define DP_FRAG_PREFETCH 3

struct dp_frag {
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr;
};

int dp_frag_create(uint32_t max_flows, int64_t timeout_us, int socket_id, struct dp_frag **out)
{
	struct dp_frag *f;
	uint64_t hz, cycles;

	*out = NULL;
	if (max_flows == 0 || max_flows > DP_FRAG_MAX_FLOWS || timeout_us <= 0)
		return -EINVAL;
	hz = rte_get_tsc_hz();
	cycles = (uint64_t)((unsigned __int128)timeout_us * hz / WR_US_PER_SEC);
	if (cycles == 0)
		cycles = 1;

	f = rte_zmalloc_socket("dp_frag", sizeof(*f), RTE_CACHE_LINE_SIZE, socket_id);
	if (f == NULL)
		return -ENOMEM;
	f->tbl = rte_ip_frag_table_create(
		(max_flows + DP_FRAG_BUCKET_ENTRIES - 1) / DP_FRAG_BUCKET_ENTRIES,
		DP_FRAG_BUCKET_ENTRIES, max_flows, cycles, socket_id);
	if (f->tbl == NULL) {
		rte_free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void dp_frag_destroy(struct dp_frag *f)
{
	if (f == NULL)
		return;
	rte_ip_frag_free_death_row(&f->dr, 0);
	rte_ip_frag_table_destroy(f->tbl);   /* frees the fragments still held */
	rte_free(f);
}

void dp_frag_flush(struct dp_frag *f)
{
	if (f->dr.cnt != 0)
		rte_ip_frag_free_death_row(&f->dr, DP_FRAG_PREFETCH);
}

/* Puts @m on the death row ourselves, for checks rte_ip_frag of 22.11 lacks. */
static struct rte_mbuf *drop_one(struct dp_frag *f, struct rte_mbuf *m)
{
	f->dr.row[f->dr.cnt++] = m;
	return NULL;
}

static struct rte_mbuf *reassemble_v4(struct dp_frag *f, struct rte_mbuf *m, uint64_t now_tsc)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	uint32_t ofs = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) *
		       RTE_IPV4_HDR_OFFSET_UNITS;
	struct rte_mbuf *r;

	/* the reassembled total length must fit its 16 bits, or the library truncates it */
	if (ofs + rte_be_to_cpu_16(ip->total_length) > UINT16_MAX)
		return drop_one(f, m);
	r = rte_ipv4_frag_reassemble_packet(f->tbl, &f->dr, m, now_tsc, ip);
	if (r != NULL) {
		/* the library leaves the header checksum zero; dp_decode verifies it */
		ip = rte_pktmbuf_mtod_offset(r, struct rte_ipv4_hdr *, r->l2_len);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	return r;
}

static struct rte_mbuf *reassemble_v6(struct dp_frag *f, struct rte_mbuf *m, uint64_t now_tsc)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);
	struct rte_ipv6_fragment_ext *fh = (struct rte_ipv6_fragment_ext *)(ip + 1);
	uint32_t ofs = RTE_IPV6_GET_FO(rte_be_to_cpu_16(fh->frag_data)) * 8;
	struct rte_mbuf *r;

	/* dp_decode hands over only a fragment header right after the IPv6 header */
	if (m->l3_len != sizeof(*ip) + sizeof(*fh))
		return drop_one(f, m);
	if (ofs + rte_be_to_cpu_16(ip->payload_len) - sizeof(*fh) > UINT16_MAX)
		return drop_one(f, m);
	r = rte_ipv6_frag_reassemble_packet(f->tbl, &f->dr, m, now_tsc, ip, fh);
	if (r != NULL)
		r->l3_len = sizeof(*ip);    /* the fragment header is gone */
	return r;
}

struct rte_mbuf *dp_frag_reassemble(struct dp_frag *f, struct rte_mbuf *m, uint64_t now_tsc,
				    struct wr_counters *cnt)
{
	struct rte_mbuf *r;
	uint32_t before;

	WR_COUNT(cnt, frag_in);
	if (unlikely(f->dr.cnt > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN - DP_FRAG_DR_PER_CALL))
		rte_ip_frag_free_death_row(&f->dr, DP_FRAG_PREFETCH);
	before = f->dr.cnt;

	uint8_t version = *rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len) >> 4;
	if (version == 4)
		r = reassemble_v4(f, m, now_tsc);
	else if (version == 6)
		r = reassemble_v6(f, m, now_tsc);
	else
		r = drop_one(f, m);

	WR_COUNT_ADD(cnt, frag_dropped, f->dr.cnt - before);
	if (r != NULL)
		WR_COUNT(cnt, frag_reassembled);
	return r;
}

void dp_frag_expire(struct dp_frag *f, uint64_t now_tsc, struct wr_counters *cnt)
{
	uint32_t added;

	/* the library stops when the row is full: free it and go on until nothing is left */
	do {
		rte_ip_frag_free_death_row(&f->dr, DP_FRAG_PREFETCH);
		rte_ip_frag_table_del_expired_entries(f->tbl, &f->dr, now_tsc);
		added = f->dr.cnt;
		WR_COUNT_ADD(cnt, frag_dropped, added);
	} while (added != 0);
}
