#!/usr/bin/env python3
"""clicks_pcap.py - a hand-written clickstream as JSON over UDP in a pcap, in the given order.

Usage: tests/tools/clicks_pcap.py OUT.pcap T0_MS < clicks
Each input line is "USER OFFSET_MS TYPE" (blank lines and #comments skipped); the event's ts is
T0_MS + OFFSET_MS in RFC 3339 with milliseconds. Frames go to 192.0.2.10:5140 from
198.51.100.7, one microsecond apart, in input order (arrival order = line order).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen  # noqa: E402
from gen_clickstream import rfc3339  # noqa: E402


def main():
    out, t0 = sys.argv[1], int(sys.argv[2])
    n = 0
    with pcapgen.PcapWriter(out) as w:
        for line in sys.stdin:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            user, off, ty = line.split()
            pay = json.dumps({"user_id": user, "ts": rfc3339(t0 + int(off)), "type": ty,
                              "page": "/p/1", "session_hint": None}, separators=(",", ":"))
            n += 1
            for f in pcapgen.udp_frames(pcapgen.mac("02:00:00:00:00:01"), pcapgen.mac("02:00:00:00:01:01"),
                                        "198.51.100.7", "192.0.2.10", 40000, 5140, pay.encode(), n):
                w.write(f, n)
    print("clicks_pcap: %d events" % n, file=sys.stderr)


if __name__ == "__main__":
    main()
