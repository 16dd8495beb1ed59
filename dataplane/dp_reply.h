/*
 * dp_reply.h - UDP answers built from a copy of the request's headers.
 *
 * The fraud thread answers a transaction long after the worker freed its
 * mbuf, so the worker keeps only the request's Ethernet..UDP header bytes
 * (struct wr_txn_req.hdr). dp_udp_reply() turns them around: destination
 * MAC = the request's source, source MAC = the port's, addresses and ports
 * swapped, VLAN tags kept, fresh lengths and checksums (IPv4 header and UDP,
 * computed in software: replies are few and small).
 *
 * Thread safety: reentrant; the mempool must be usable from the calling
 * thread (an EAL thread, or a registered one).
 */
#ifndef DP_REPLY_H
#define DP_REPLY_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

/*
 * Length of the Ethernet..UDP headers at the start of @frame (@len bytes),
 * or 0 when they are not plain Ethernet [VLAN [VLAN]] IPv4/IPv6 UDP (IPv6
 * extension headers are not followed). For the worker, to size its copy.
 */
uint32_t dp_udp_hdr_len(const uint8_t *frame, uint32_t len);

/*
 * A frame answering the datagram whose headers are @hdr[0..@hdr_len) (as
 * measured by dp_udp_hdr_len), from @mac, carrying @payload[0..@len).
 * Returns the mbuf (single segment, ready for rte_eth_tx_burst), or NULL
 * with *@err = -EINVAL (headers not understood), -EMSGSIZE (does not fit one
 * buffer) or -ENOMEM (pool empty).
 */
struct rte_mbuf *dp_udp_reply(struct rte_mempool *mp, const uint8_t *hdr, uint32_t hdr_len,
			      const struct rte_ether_addr *mac, const void *payload, uint32_t len,
			      int *err);

/*
 * dp_udp_reply() into @m, a freshly allocated (reset) mbuf the caller
 * took ahead, e.g. in bulk with its lines prefetched; @m is freed when the
 * answer cannot be built (NULL, *@err as above but never -ENOMEM).
 */
struct rte_mbuf *dp_udp_reply_in(struct rte_mbuf *m, const uint8_t *hdr, uint32_t hdr_len,
				 const struct rte_ether_addr *mac, const void *payload,
				 uint32_t len, int *err);

#endif /* DP_REPLY_H */
