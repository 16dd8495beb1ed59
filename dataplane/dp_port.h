/*
 * dp_port.h - bring up one DPDK port from its config: any ethdev (a real
 * NIC by PCI address, or a virtual device such as net_pcap, net_af_packet,
 * net_af_xdp probed from EAL --vdev), with rx queues spread by RSS when the
 * port has more than one and the device supports it, and one tx queue per
 * worker.
 *
 * Thread safety: call from the main lcore before workers start.
 */
#ifndef DP_PORT_H
#define DP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "ctl_config.h"

/* True when @devargs names a PCI device ("0000:03:00.0") rather than a vdev. */
bool dp_port_is_pci(const char *devargs);

/* EAL device name of @devargs: the vdev name before the first ',', or the PCI address. */
void dp_port_dev_name(const char *devargs, char *name, size_t len);

struct dp_port_info {
	uint16_t port_id;
	uint16_t rx_queues;          /* granted, may be fewer than asked */
	uint16_t tx_queues;
	struct rte_ether_addr mac;
	bool rss;
};

/*
 * Find the probed device of @pc, configure @rx_queues (capped to the
 * device's maximum) and @tx_queues, start it. Returns 0 and @info, or
 * -ENODEV / -EINVAL / a DPDK error with the port named in @err.
 */
int dp_port_setup(const struct ctl_port_cfg *pc, struct rte_mempool *mp, uint16_t tx_queues,
		  struct dp_port_info *info, char *err, size_t errlen);

/* Stop and close the port. */
void dp_port_close(uint16_t port_id);

#endif /* DP_PORT_H */
