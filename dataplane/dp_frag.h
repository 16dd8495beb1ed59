/*
 * dp_frag.h - IPv4 and IPv6 reassembly for one worker lcore, on DPDK's
 * rte_ip_frag table.
 *
 * A fragment comes from dp_decode() as DP_CLASS_FRAG with m->l2_len and
 * m->l3_len set. dp_frag_reassemble() keeps it until its datagram is complete
 * and then returns the whole datagram as one multi-segment mbuf: the first
 * fragment's L2 header (VLAN tags included) and IP header, the IPv4 total
 * length, flags and header checksum fixed, the IPv6 fragment header removed.
 * Feed that mbuf to dp_decode() again: it is an ordinary datagram.
 *
 * Fragments that cannot be used (table full, flow timed out, overlapping or
 * duplicate fragments, more than RTE_LIBRTE_IP_FRAG_MAX_FRAG pieces, a
 * datagram over 65535 bytes) go on a death row and are freed by
 * dp_frag_flush(); every one is counted in frag_dropped.
 *
 * Limits (from rte_ip_frag): at most RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments per
 * datagram; IPv6 only with the fragment header right after the IPv6 header
 * (dp_decode counts others as rx_unknown).
 *
 * Per burst on a worker:
 *     if (dp_decode(m, la, cnt, &pkt) == DP_CLASS_FRAG &&
 *         (m = dp_frag_reassemble(f, m, rte_rdtsc(), cnt)) != NULL)
 *             class = dp_decode(m, la, cnt, &pkt);
 *     ...
 *     dp_frag_flush(f);                      once per burst
 *     dp_frag_expire(f, rte_rdtsc(), cnt);   every few milliseconds
 *
 * Thread safety: one object per lcore; no function may be called on the same
 * object from two threads at once.
 */
#ifndef DP_FRAG_H
#define DP_FRAG_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "wr_counters.h"

struct dp_frag;

#define DP_FRAG_MAX_FLOWS (1u << 20)   /* upper bound of max_flows */

/*
 * Create a reassembly table for @max_flows datagrams in reassembly at once
 * (1..DP_FRAG_MAX_FLOWS) whose fragments may arrive over at most
 * @timeout_us microseconds (> 0), in memory of @socket_id (or SOCKET_ID_ANY).
 * Needs EAL. Returns 0 and *@out, -EINVAL for an argument out of range, or
 * -ENOMEM. Control path only.
 */
int dp_frag_create(uint32_t max_flows, int64_t timeout_us, int socket_id, struct dp_frag **out);

/* Free the table, the fragments it holds and the death row. NULL does nothing. */
void dp_frag_destroy(struct dp_frag *f);

/*
 * Takes ownership of @m, a DP_CLASS_FRAG packet from dp_decode() (l2_len and
 * l3_len set, lengths checked). @now_tsc is the arrival time in TSC cycles.
 * Returns the reassembled datagram (multi-segment; the caller owns it), or
 * NULL while more fragments are needed or when fragments were dropped.
 * Counts frag_in for @m, frag_reassembled for a returned datagram and
 * frag_dropped for every fragment put on the death row (this one or older
 * ones it evicted).
 */
struct rte_mbuf *dp_frag_reassemble(struct dp_frag *f, struct rte_mbuf *m, uint64_t now_tsc,
				    struct wr_counters *cnt);

/* Free the fragments on the death row. Call once per burst. */
void dp_frag_flush(struct dp_frag *f);

/*
 * Drop the datagrams whose first fragment came more than the timeout before
 * @now_tsc, counting their fragments in frag_dropped, and free them.
 * Without it a timed-out datagram is only reclaimed when its slot is needed.
 * Call every few milliseconds, off the per-packet path.
 */
void dp_frag_expire(struct dp_frag *f, uint64_t now_tsc, struct wr_counters *cnt);

#endif /* DP_FRAG_H */
