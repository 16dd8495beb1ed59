/*
 * dp_reply.c - UDP answers from copied request headers. See dp_reply.h.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp_reply.h"

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Offset of the IP header and its version, or 0 when not IPv4/IPv6. */
static uint32_t l3_off(const uint8_t *f, uint32_t len, unsigned *ver)
{
	uint32_t off = 12;
	for (int tags = 0; tags <= 2; tags++) {
		if (off + 2 > len)
			return 0;
		uint16_t et = get_be16(f + off);
		if (et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ) {
			off += 4;
			continue;
		}
		if (et == RTE_ETHER_TYPE_IPV4)
			*ver = 4;
		else if (et == RTE_ETHER_TYPE_IPV6)
			*ver = 6;
		else
			return 0;
		return off + 2;
	}
	return 0;
}

uint32_t dp_udp_hdr_len(const uint8_t *f, uint32_t len)
{
	unsigned ver = 0;
	uint32_t l3 = l3_off(f, len, &ver);
	if (!l3)
		return 0;
	uint32_t ihl;
	if (ver == 4) {
		if (l3 + 20 > len || (f[l3] >> 4) != 4 || f[l3 + 9] != IPPROTO_UDP)
			return 0;
		ihl = (uint32_t)(f[l3] & 0x0f) * 4;
		if (ihl < 20)
			return 0;
	} else {
		if (l3 + 40 > len || (f[l3] >> 4) != 6 || f[l3 + 6] != IPPROTO_UDP)
			return 0;
		ihl = 40;
	}
	uint32_t total = l3 + ihl + 8;
	return total <= len ? total : 0;
}

struct rte_mbuf *dp_udp_reply(struct rte_mempool *mp, const uint8_t *hdr, uint32_t hdr_len,
			      const struct rte_ether_addr *mac, const void *payload, uint32_t len,
			      int *err)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (!m) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	return dp_udp_reply_in(m, hdr, hdr_len, mac, payload, len, err);
}

struct rte_mbuf *dp_udp_reply_in(struct rte_mbuf *m, const uint8_t *hdr, uint32_t hdr_len,
				 const struct rte_ether_addr *mac, const void *payload,
				 uint32_t len, int *err)
{
	int e = 0;
	if (dp_udp_hdr_len(hdr, hdr_len) != hdr_len) {
		e = -EINVAL;
		goto fail;
	}
	unsigned ver = 0;
	uint32_t l3 = l3_off(hdr, hdr_len, &ver);
	uint32_t l4 = hdr_len - 8;
	if (len > 65507 - (l4 - l3) || hdr_len + len > 65535) {
		e = -EMSGSIZE;
		goto fail;
	}
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hdr_len + len));
	if (!p) {
		e = -EMSGSIZE;
		goto fail;
	}
	memcpy(p, hdr, hdr_len);
	memcpy(p + hdr_len, payload, len);
	/* Ethernet: back to the sender, from this port. */
	memcpy(p, hdr + 6, 6);
	memcpy(p + 6, mac->addr_bytes, 6);
	uint8_t *ip = p + l3, *udp = p + l4;
	uint16_t udp_len = (uint16_t)(8 + len);
	put_be16(udp, get_be16(hdr + l4 + 2));
	put_be16(udp + 2, get_be16(hdr + l4));
	put_be16(udp + 4, udp_len);
	put_be16(udp + 6, 0);
	if (ver == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		memcpy(&h->src_addr, hdr + l3 + 16, 4);
		memcpy(&h->dst_addr, hdr + l3 + 12, 4);
		h->total_length = rte_cpu_to_be_16((uint16_t)(l4 - l3 + udp_len));
		h->packet_id = 0;
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		h->time_to_live = 64;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		uint16_t ck = rte_ipv4_udptcp_cksum(h, udp);
		put_be16(udp + 6, rte_be_to_cpu_16(ck));
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;
		memcpy(h->src_addr, hdr + l3 + 24, 16);
		memcpy(h->dst_addr, hdr + l3 + 8, 16);
		h->payload_len = rte_cpu_to_be_16(udp_len);
		h->hop_limits = 64;
		uint16_t ck = rte_ipv6_udptcp_cksum(h, udp);
		put_be16(udp + 6, rte_be_to_cpu_16(ck));
	}
	m->l2_len = (uint16_t)l3;
	m->l3_len = (uint16_t)(l4 - l3);
	return m;
fail:
	rte_pktmbuf_free(m);
	if (err)
		*err = e;
	return NULL;
}
