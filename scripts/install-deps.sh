#!/usr/bin/env bash
# Install the Debian packages weir needs to build, run and test, if missing.
# Idempotent; runs as root (or through sudo when available).
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config
      dpdk dpdk-dev libdpdk-dev libhyperscan-dev libcurl4-openssl-dev libyaml-dev
      libmicrohttpd-dev libcunit1-dev libpcap-dev librdkafka-dev libjson-c-dev libjsmn-dev libhiredis-dev libxgboost-dev python3-xgboost redis-server kcat maven default-jre-headless
      iproute2 iputils-ping ethtool bsdutils bc tcpreplay python3 jq curl procps)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
