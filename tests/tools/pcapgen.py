"""pcapgen - build Ethernet/VLAN/IPv4/IPv6/UDP frames and write them to a pcap.

Standard library only (python3 >= 3.9). Used by gen_syslog_traffic.py and
bench/gen_bench_pcap.py; import it with tests/tools on sys.path.

    from pcapgen import PcapWriter, udp_frames, mac
    with PcapWriter("out.pcap") as w:
        for f in udp_frames(mac("02:00:00:00:00:01"), mac("02:00:00:00:01:01"),
                            "198.51.100.10", "192.0.2.1", 40000, 514, b"<14>1 ...",
                            ident=1, vlans=(100,)):
            w.write(f, ts_us)

What it does:
  * pcap: classic libpcap format, microsecond timestamps, DLT_EN10MB, snaplen 65535.
  * ether(): Ethernet II, optional 802.1Q tag or QinQ (outer 0x88a8, inner 0x8100),
    padded to the 60-byte minimum like a NIC does (so decoders must trust the IP
    length, not the frame length).
  * ipv4()/ipv6()/udp()/tcp(): correct header and pseudo-header checksums.
  * fragment_ipv4()/fragment_ipv6(): split one transport datagram into MTU-sized
    IP fragments; IPv6 uses the Fragment extension header (RFC 8200 sec. 4.5).
  * arp_request(): a who-has frame, for "not for us" traffic.
"""
import ipaddress
import struct

ETH_P_IPV4, ETH_P_IPV6, ETH_P_ARP = 0x0800, 0x86DD, 0x0806
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8
PROTO_TCP, PROTO_UDP, PROTO_IPV6_FRAG = 6, 17, 44
ETH_MIN_FRAME = 60  # without FCS; pcap captures carry no FCS


class PcapWriter:
    """Write frames to a classic pcap file (microsecond timestamps)."""

    def __init__(self, path, snaplen=65535):
        self.f = open(path, "wb")
        # magic, version 2.4, thiszone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        self.count = 0

    def write(self, frame, ts_us):
        """Append one frame captured at epoch microseconds ts_us (orig_len == caplen)."""
        sec, usec = divmod(int(ts_us), 1000000)
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self.f.write(frame)
        self.count += 1

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mac(text):
    """'02:00:00:00:00:01' -> 6 bytes."""
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC address %r" % text)
    return b


def checksum(data):
    """RFC 1071 Internet checksum (ones' complement of the ones' complement sum)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst, src, ethertype, payload, vlans=(), pad=True):
    """Ethernet II frame. vlans: () none, (vid,) 802.1Q, (outer, inner) QinQ."""
    tags = b""
    if len(vlans) == 2:
        tags = struct.pack("!HH", ETH_P_8021AD, vlans[0] & 0xFFF)
        vlans = vlans[1:]
    if len(vlans) == 1:
        tags += struct.pack("!HH", ETH_P_8021Q, vlans[0] & 0xFFF)
    frame = dst + src + tags + struct.pack("!H", ethertype) + payload
    if pad and len(frame) < ETH_MIN_FRAME:
        frame += b"\0" * (ETH_MIN_FRAME - len(frame))
    return frame


def _ip(addr):
    return ipaddress.ip_address(addr)


def ipv4(src, dst, proto, payload, ident=0, ttl=64, frag_off=0, more=False, total_len=None):
    """IPv4 header (no options) + payload. frag_off in bytes (multiple of 8).
    total_len overrides the length field (to build truncated/lying packets)."""
    tl = total_len if total_len is not None else 20 + len(payload)
    flags = (0x2000 if more else 0) | (frag_off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, ident & 0xFFFF, flags, ttl, proto, 0,
                      _ip(src).packed, _ip(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload, hlim=64):
    """IPv6 fixed header + payload (payload may start with extension headers)."""
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim,
                       _ip(src).packed, _ip(dst).packed) + payload


def _pseudo(src, dst, proto, length):
    s, d = _ip(src), _ip(dst)
    if s.version == 4:
        return s.packed + d.packed + struct.pack("!BBH", 0, proto, length)
    return s.packed + d.packed + struct.pack("!IxxxB", length, proto)


def udp(src, dst, sport, dport, payload, bad_csum=False):
    """UDP header + payload with the pseudo-header checksum for src/dst's family.
    bad_csum: store a wrong (nonzero) checksum."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = checksum(_pseudo(src, dst, PROTO_UDP, length) + hdr + payload) or 0xFFFF
    if bad_csum:
        c = (c ^ 0x5A5A) or 0x1234  # never 0: 0 would mean "no checksum" on IPv4
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def tcp(src, dst, sport, dport, payload, seq=1, ack=1, flags=0x18):
    """TCP header (PSH|ACK, no options) + payload with a correct checksum."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = checksum(_pseudo(src, dst, PROTO_TCP, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def fragment_ipv4(src, dst, proto, datagram, ident, mtu=1500):
    """Split a transport datagram into IPv4 packets of at most mtu bytes.
    Returns one unfragmented packet when it fits."""
    room = (mtu - 20) // 8 * 8  # every fragment but the last carries a multiple of 8
    if len(datagram) <= mtu - 20:
        return [ipv4(src, dst, proto, datagram, ident)]
    out = []
    for off in range(0, len(datagram), room):
        chunk = datagram[off:off + room]
        out.append(ipv4(src, dst, proto, chunk, ident, frag_off=off,
                        more=off + room < len(datagram)))
    return out


def fragment_ipv6(src, dst, nh, datagram, ident, mtu=1500):
    """Split a transport datagram into IPv6 packets with a Fragment header
    (40 + 8 bytes of headers per fragment). Returns one plain packet when it fits."""
    if len(datagram) <= mtu - 40:
        return [ipv6(src, dst, nh, datagram)]
    room = (mtu - 48) // 8 * 8
    out = []
    for off in range(0, len(datagram), room):
        chunk = datagram[off:off + room]
        more = off + room < len(datagram)
        fh = struct.pack("!BBHI", nh, 0, off | (1 if more else 0), ident & 0xFFFFFFFF)
        out.append(ipv6(src, dst, PROTO_IPV6_FRAG, fh + chunk))
    return out


def udp_frames(dst_mac, src_mac, src, dst, sport, dport, payload, ident=0, mtu=1500,
               vlans=(), bad_csum=False):
    """Ethernet frames carrying one UDP datagram, fragmented to mtu when needed.
    The address family (IPv4/IPv6) follows src/dst."""
    dgram = udp(src, dst, sport, dport, payload, bad_csum)
    if _ip(dst).version == 4:
        pkts, et = fragment_ipv4(src, dst, PROTO_UDP, dgram, ident, mtu), ETH_P_IPV4
    else:
        pkts, et = fragment_ipv6(src, dst, PROTO_UDP, dgram, ident, mtu), ETH_P_IPV6
    return [ether(dst_mac, src_mac, et, p, vlans) for p in pkts]


def arp_request(src_mac, src_ip, target_ip, vlans=()):
    """Broadcast ARP who-has target_ip tell src_ip."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IPV4, 6, 4, 1, src_mac, _ip(src_ip).packed,
                       b"\0" * 6, _ip(target_ip).packed)
    return ether(b"\xff" * 6, src_mac, ETH_P_ARP, body, vlans)
