#!/usr/bin/env bash
# The live path of test_live_afpacket.sh on DPDK's net_af_xdp instead: raw
# frames, so the 4 KB message arrives as IP fragments and weir reassembles it.
LIVE_PMD=af_xdp exec bash "$(dirname "$0")/test_live_afpacket.sh"
