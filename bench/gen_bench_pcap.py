#!/usr/bin/env python3
"""gen_bench_pcap.py - N distinct fixed-size IPv4/UDP syslog frames for throughput runs.

Usage:
  bench/gen_bench_pcap.py --out /tmp/syslog_bench.pcap [-n 4096] [--frame-size 150]
      [--base EPOCH_S] [--dst-ip 192.0.2.1] [--dst-mac 02:00:00:00:00:01]
      [--src-ip 198.51.100.] [--port 514] [--hosts 16] [--vlan ID] [--seed 1]
  then replay it, e.g. --vdev 'net_pcap0,rx_pcap=/tmp/syslog_bench.pcap,infinite_rx=1'

Every frame is exactly --frame-size bytes (Ethernet + IPv4 + UDP + RFC 5424 payload;
no padding, so the UDP length is the real message). Event times run in order over one
minute from --base (default: the last full minute before now), one host per frame
round-robin over --hosts hosts. Messages are loghub text (configs/traffic/loghub,
timestamps stripped) cut to fit; exactly every 10th frame contains ERROR or Exception
and no other frame contains either (checked after the cut).
Note: with infinite_rx the same minute repeats, so after the first pass the events
are behind the watermark (LATE); the parse/match cost per packet is unchanged.
"""
import argparse
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep tests/tools free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tools"))
import pcapgen  # noqa: E402

LOGHUB = os.path.join(HERE, "..", "configs", "traffic", "loghub")
LITERALS = ("ERROR", "Exception")
HDRS = 14 + 20 + 8  # Ethernet, IPv4, UDP


def texts():
    """Loghub messages without their timestamps: Hadoop, Zookeeper, Apache."""
    out = []
    for name, cut in (("Hadoop", 24), ("Zookeeper", 26), ("Apache", 27)):
        with open(os.path.join(LOGHUB, name + "_2k.log"), newline="") as f:
            out += [x[cut:] for x in re.split(r"\r\n|\r|\n", f.read()) if len(x) > cut]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("-n", type=int, default=4096)
    ap.add_argument("--frame-size", type=int, default=150)
    ap.add_argument("--base", type=int, help="epoch s of the first event")
    ap.add_argument("--dst-ip", default="192.0.2.1")
    ap.add_argument("--dst-mac", default="02:00:00:00:00:01")
    ap.add_argument("--src-ip", default="198.51.100.", help="IPv4 prefix of the senders (a.b.c.)")
    ap.add_argument("--port", type=int, default=514)
    ap.add_argument("--hosts", type=int, default=16)
    ap.add_argument("--vlan", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nil-ts", action="store_true",
                    help="RFC 5424 NILVALUE timestamp: event time = receive time, so an "
                         "infinite replay stays current instead of turning LATE")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    base_ms = 1000 * (a.base if a.base is not None else int(time.time()) // 60 * 60 - 60)
    prefix = a.src_ip if a.src_ip.endswith(".") else a.src_ip + "."
    vlans = (a.vlan,) if a.vlan else ()
    pool = texts()
    hits = [t for t in pool if any(x in t for x in LITERALS)]
    plain = [t for t in pool if not any(x in t for x in LITERALS)]
    room = a.frame_size - HDRS - 4 * len(vlans)
    nmatch = 0
    with pcapgen.PcapWriter(a.out) as w:
        for i in range(a.n):
            ts = base_ms + i * 60000 // a.n
            h = i % a.hosts
            stamp = "-" if a.nil_ts else "%s.%03dZ" % (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts // 1000)), ts % 1000)
            hdr = "<PRI>1 %s bench-%02d %s %d - - " % (stamp, h, "bench", 2000 + h)
            budget = room - len(hdr) + len("PRI") - 2  # PRI is 2 digits: 11, 12, 14
            while True:  # pick a text whose cut keeps (or avoids) the literal
                t = rng.choice(hits if i % 10 == 0 else plain)
                while len(t) < budget:
                    t += " " + rng.choice(plain)
                t = t[:budget]
                if any(x in t for x in LITERALS) == (i % 10 == 0):
                    break
            nmatch += i % 10 == 0
            sev = 3 if "ERROR" in t else 4 if "WARN" in t else 6  # facility 1 (user)
            payload = (hdr.replace("PRI", str(8 + sev)) + t).encode()
            frames = pcapgen.udp_frames(pcapgen.mac(a.dst_mac), pcapgen.mac("02:00:00:00:01:%02x" % h),
                                        prefix + str(10 + h), a.dst_ip, 40000 + h, a.port,
                                        payload, ident=i, vlans=vlans)
            assert len(frames) == 1 and len(frames[0]) == a.frame_size, len(frames[0])
            w.write(frames[0], ts * 1000)
    print("frames=%d matching=%d frame_size=%d base=%d out=%s"
          % (a.n, nmatch, a.frame_size, base_ms // 1000, a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
