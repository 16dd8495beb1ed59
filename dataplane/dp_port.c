/* dp_port.c - ethdev bring-up for one configured port. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "dp_port.h"
#include "wr_common.h"

bool dp_port_is_pci(const char *devargs)
{
	/* DDDD:BB:DD.F or BB:DD.F, optionally followed by ",args". */
	unsigned dom, bus, dev, fn;
	char tail;
	if (sscanf(devargs, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) >= 4)
		return true;
	return sscanf(devargs, "%x:%x.%x%c", &bus, &dev, &fn, &tail) >= 3 &&
	       isxdigit((unsigned char)devargs[0]) && strncmp(devargs, "net_", 4) != 0;
}

void dp_port_dev_name(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");
	if (n >= len)
		n = len - 1;
	memcpy(name, devargs, n);
	name[n] = '\0';
}

int dp_port_setup(const struct ctl_port_cfg *pc, struct rte_mempool *mp, uint16_t tx_queues,
		  struct dp_port_info *info, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t pid;
	int rc;

	dp_port_dev_name(pc->devargs, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		snprintf(err, errlen, "port '%s': device '%s' was not probed (check the device string)",
			 pc->name, name);
		return -ENODEV;
	}

	struct rte_eth_dev_info di;
	rc = rte_eth_dev_info_get(pid, &di);
	if (rc) {
		snprintf(err, errlen, "port '%s': cannot read device info: %s", pc->name,
			 rte_strerror(-rc));
		return rc;
	}

	uint16_t nrxq = pc->rx_queues ? pc->rx_queues : 1;
	if (nrxq > di.max_rx_queues) {
		WR_WARN("port", "port '%s': %u rx queues asked, device has %u; using %u",
			pc->name, nrxq, di.max_rx_queues, di.max_rx_queues);
		nrxq = di.max_rx_queues;
	}
	uint16_t ntxq = tx_queues;
	if (ntxq > di.max_tx_queues)
		ntxq = di.max_tx_queues;
	if (ntxq == 0 || nrxq == 0) {
		snprintf(err, errlen, "port '%s': device has no rx or tx queue", pc->name);
		return -EINVAL;
	}

	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	info->rss = false;
	if (nrxq > 1) {
		uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
		uint64_t hf = want & di.flow_type_rss_offloads;
		if (hf) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
			info->rss = true;
		} else {
			WR_WARN("port", "port '%s': device has no RSS for IP/UDP; "
				"%u queues are filled by the device's own policy", pc->name, nrxq);
		}
	}
	/* Multi-segment mbufs arrive from reassembly; the tx path sends only
	 * single-segment replies, so no tx offloads are needed. */
	rc = rte_eth_dev_configure(pid, nrxq, ntxq, &conf);
	if (rc) {
		snprintf(err, errlen, "port '%s': configure (%u rx, %u tx queues): %s", pc->name,
			 nrxq, ntxq, rte_strerror(-rc));
		return rc;
	}
	uint16_t nrxd = pc->rx_desc ? pc->rx_desc : 1024;
	uint16_t ntxd = pc->tx_desc ? pc->tx_desc : 1024;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrxd, &ntxd);
	if (rc) {
		snprintf(err, errlen, "port '%s': descriptor counts: %s", pc->name, rte_strerror(-rc));
		return rc;
	}
	int socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; q < nrxq; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, nrxd, (unsigned)socket, NULL, mp);
		if (rc) {
			snprintf(err, errlen, "port '%s': rx queue %u: %s", pc->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < ntxq; q++) {
		rc = rte_eth_tx_queue_setup(pid, q, ntxd, (unsigned)socket, NULL);
		if (rc) {
			snprintf(err, errlen, "port '%s': tx queue %u: %s", pc->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(pid);
	if (rc) {
		snprintf(err, errlen, "port '%s': start: %s", pc->name, rte_strerror(-rc));
		return rc;
	}
	if (pc->promiscuous)
		rte_eth_promiscuous_enable(pid);
	/* IPv6 neighbour solicitations go to solicited-node multicast groups. */
	if (pc->has_ipv6)
		rte_eth_allmulticast_enable(pid);
	rte_eth_macaddr_get(pid, &info->mac);
	info->port_id = pid;
	info->rx_queues = nrxq;
	info->tx_queues = ntxq;
	return 0;
}

void dp_port_close(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
