#!/usr/bin/python3
"""gen_txn_pcap.py - JSON transactions (one per line) as UDP frames in a pcap.

Each line becomes one datagram from --src-ip:40000+(line % 1000) to
--dst-ip:--port, in file order, 1 ms apart. Used by `make run` (the demo's
payments capture) with the stream from gen_txns.py.

Usage: gen_txn_pcap.py --txns FILE --out FILE.pcap [--dst-ip 192.0.2.10]
       [--src-ip 198.51.100.20] [--port 7000]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import PcapWriter, mac, udp_frames  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--txns", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--dst-ip", default="192.0.2.10")
ap.add_argument("--src-ip", default="198.51.100.20")
ap.add_argument("--port", type=int, default=7000)
a = ap.parse_args()

t0 = int(time.time() * 1e6)
n = 0
with PcapWriter(a.out) as w:
    for i, line in enumerate(open(a.txns, "rb")):
        line = line.rstrip(b"\n")
        if not line:
            continue
        for f in udp_frames(mac("02:00:00:00:00:10"), mac("02:00:00:00:02:01"), a.src_ip,
                            a.dst_ip, 40000 + i % 1000, a.port, line, ident=i & 0xFFFF):
            w.write(f, t0 + i * 1000)
        n += 1
print(f"{n} transactions -> {a.out}", file=sys.stderr)
