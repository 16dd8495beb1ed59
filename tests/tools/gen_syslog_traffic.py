#!/usr/bin/env python3
"""gen_syslog_traffic.py - a syslog pcap with known ground truth, built from loghub samples.

Usage:
  tests/tools/gen_syslog_traffic.py --out /tmp/t.pcap --truth /tmp/t.tsv \\
      [--lines-out /tmp/t.lines] [--base EPOCH_S] [--span MIN] [--max-gap S] \\
      [--disorder 0.05] [--late 5] [--bad 20] [--big-every 50] [--limit N] [--seed 1] \\
      [--dst-ip 192.0.2.1] [--dst-ipv6 ADDR] [--dst-mac MAC] [--src-ip 198.51.100.] \\
      [--src-ipv6 2001:db8:100::] [--port 514] [--vlan ID | --vlan OUTER,INNER]
  tests/tools/ref_windows.sh /tmp/t.tsv      # expected windows from the truth

The stream (one common event timeline):
  * Each configs/traffic/loghub/*_2k.log keeps its line order; its inter-line gaps are
    clipped to [0, --max-gap] original seconds (the files are not time-sorted and have
    multi-day silences), then scaled so the file spans --span minutes from --base
    (default: now - 2 h floored to the minute). All files are merged by event time.
  * Each file has 2-3 hostnames assigned round-robin (hadoop-01..03, ...): the keys.
  * Linux and OpenSSH go out as RFC 3164 "<PRI>Mmm dd hh:mm:ss host tag[pid]: msg"
    (UTC, no year, so event times are whole seconds); Apache, Hadoop and Zookeeper as
    RFC 5424 "<PRI>1 YYYY-MM-DDThh:mm:ss.mmmZ host app procid - - msg".
    PRI = facility 1 (user) * 8 + severity (ERROR 3, WARN 4, INFO 6, else 5).
  * Disorder: --disorder of the lines jump ahead in arrival by up to 3 s of event time
    (so the lines they overtake arrive up to 3 s out of order: within ooo = 5 s).
  * Late: --late lines (ERROR/Exception ones while there are enough) arrive 150-180 s
    of event time after their turn; with ooo 5 s and lateness 0 they, and only they,
    are LATE (checked here; short --limit streams may allow fewer: warned).
  * Every --big-every-th ERROR/Exception line (the 1st, 51st, ...) gets a 2-6 KB Java
    stack trace appended ("\\n"-joined): it is sent as IP fragments (alternating IPv4 and
    IPv6 when --dst-ipv6 is given; 1 in 3 with fragments in reverse order).
  * --bad malformed frames (bad UDP checksum, truncated IP, wrong UDP port, TCP, ARP
    request for another IP, runt) whose syslog text would match and lies 1 day ahead:
    if the receiver counted one, windows and lateness would change.

Outputs:
  --truth: one row per valid event in arrival order:
      arrival_index(0-based)<TAB>event_ts_ms<TAB>host<TAB>app<TAB>msg
    msg is the MSG part (for 3164: after "tag[pid]: "), with \\ \\t \\n \\r escaped as the
    two-char sequences \\\\ \\t \\n \\r. app is the 5424 APP-NAME or the 3164 tag w/o [pid].
  --lines-out: the syslog payloads in arrival order, one per line, "\\" and newline
    escaped as \\\\ and \\n (for logger-style senders).
  stderr: a one-line summary.
"""
import argparse
import calendar
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True  # keep tests/tools free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LOGHUB = os.path.join(ROOT, "configs", "traffic", "loghub")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
LITERALS = ("ERROR", "Exception")  # what the late/big lines are chosen by
# file -> (hostnames, 5424 app name or None for RFC 3164)
SOURCES = {
    "Apache": (["httpd-01", "httpd-02"], "httpd"),
    "Hadoop": (["hadoop-01", "hadoop-02", "hadoop-03"], "hadoop"),
    "Linux": (["combo-01", "combo-02"], None),
    "OpenSSH": (["sshd-01", "sshd-02", "sshd-03"], None),
    "Zookeeper": (["zk-01", "zk-02", "zk-03"], "zookeeper"),
}
SEVERITY = {"ERROR": 3, "WARN": 4, "WARNING": 4, "INFO": 6}
TAG_RE = re.compile(r"([A-Za-z0-9_.()/-]+)(\[[0-9]+\])?: ")


def parse_line(name, line):
    """-> (original epoch seconds, level word, tag or None, msg) for one loghub line."""
    if name == "Apache":  # [Sun Dec 04 04:47:44 2005] [error] text
        t = calendar.timegm(time.strptime(line[1:25], "%a %b %d %H:%M:%S %Y"))
        return t, line[28:line.index("]", 28)], None, line[27:]
    if name in ("Hadoop", "Zookeeper"):  # 2015-10-18 18:01:47,978 INFO [main] text
        t = calendar.timegm(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000
        msg = line[24:]
        if msg.startswith("- "):  # Zookeeper: "- INFO  [...]"
            msg = msg[2:]
        return t, msg.split(" ", 1)[0], None, msg
    # BSD syslog without PRI: "Jun 14 15:16:01 combo tag[pid]: text"; the year is irrelevant
    t = calendar.timegm(time.strptime("2001 " + line[:15], "%Y %b %d %H:%M:%S"))
    rest = line[15:].split(None, 1)[1].lstrip(" -")  # drop host ("combo  -- root[..]")
    m = TAG_RE.match(rest)
    if m:
        tag, msg = rest[:m.end() - 2], rest[m.end():]
    else:  # "syslogd 1.4.1: restart.": keep a clean tag, the rest is MSG
        tag, msg = re.match(r"[A-Za-z0-9_.()/-]+", rest).group(0), ""
        msg = rest[len(tag):].strip()
    level = "ERROR" if msg.lower().startswith("error") else "WARN" if msg.lower().startswith("warn") else ""
    return t, level, tag, msg


def load(base_ms, span_min, max_gap):
    """All events of all files on one timeline, merged by event time."""
    events = []
    for fi, name in enumerate(sorted(SOURCES)):
        hosts, app = SOURCES[name]
        with open(os.path.join(LOGHUB, name + "_2k.log"), newline="") as f:
            lines = [x for x in re.split(r"\r\n|\r|\n", f.read()) if x]
        parsed = [parse_line(name, x) for x in lines]
        # cumulative clipped gaps, in original seconds, then scaled to the span
        acc, prev = [0.0], parsed[0][0]
        for t, *_ in parsed[1:]:
            acc.append(acc[-1] + min(max(t - prev, 0.0), max_gap))
            prev = t
        scale = span_min * 60000.0 / (acc[-1] or 1.0)
        for i, (t, level, tag, msg) in enumerate(parsed):
            ts = base_ms + int(acc[i] * scale)
            if app is None:
                ts -= ts % 1000  # RFC 3164 carries whole seconds only
            host = hosts[i % len(hosts)]
            pid = 1000 + 37 * fi + hosts.index(host)
            if tag and tag.endswith("]"):  # 3164 tag with its own [pid]
                pid, tag = int(tag[tag.index("[") + 1:-1]), tag[:tag.index("[")]
            ev = {"ts": ts, "host": host, "app": app or tag, "rfc3164": app is None,
                  "pid": pid, "sev": SEVERITY.get(level.upper(), 5), "msg": msg,
                  "order": (ts, fi, i)}
            events.append(ev)
    events.sort(key=lambda e: e["order"])
    return events


EXC = ["java.io.IOException: Connection reset by peer",
       "java.net.SocketTimeoutException: 60000 millis timeout while waiting for channel",
       "java.lang.NullPointerException", "java.lang.IllegalStateException: closed",
       "org.apache.zookeeper.KeeperException$ConnectionLossException: KeeperErrorCode = ConnectionLoss",
       "org.apache.hadoop.ipc.RemoteException: File could not be replicated to 0 nodes"]
PKG = ["org.apache.hadoop.ipc.Client", "org.apache.hadoop.hdfs.DFSOutputStream$DataStreamer",
       "org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator", "org.apache.zookeeper.server.NIOServerCnxn",
       "org.apache.zookeeper.server.quorum.LearnerHandler", "sun.nio.ch.SocketChannelImpl",
       "java.util.concurrent.ThreadPoolExecutor$Worker", "org.apache.hadoop.security.UserGroupInformation"]
METH = ["run", "call", "doIO", "readFully", "processResponse", "setupIOstreams", "doAs", "invoke"]


def stack_trace(rng):
    """A realistic Java stack trace of 2-6 KB: frames, 'Caused by:' sections, '... N more'."""
    target, out = rng.randint(2048, 6144), [rng.choice(EXC)]
    while True:
        cls = rng.choice(PKG)
        line = "\tat %s.%s(%s.java:%d)" % (cls, rng.choice(METH), cls.split(".")[-1].split("$")[0],
                                         rng.randint(40, 2400))
        if rng.random() < 0.04:
            line = "\t... %d more\nCaused by: %s" % (rng.randint(3, 30), rng.choice(EXC))
        if sum(len(x) + 1 for x in out) + len(line) > target:
            return "\n".join(out)
        out.append(line)


def wire(ev):
    """The syslog payload of one event."""
    pri = 8 + ev["sev"]
    if ev["rfc3164"]:
        tm = time.gmtime(ev["ts"] // 1000)
        return "<%d>%s %2d %02d:%02d:%02d %s %s[%d]: %s" % (
            pri, MONTHS[tm.tm_mon - 1], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ev["host"], ev["app"], ev["pid"], ev["msg"])
    return "<%d>1 %s.%03dZ %s %s %d - - %s" % (
        pri, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ev["ts"] // 1000)), ev["ts"] % 1000,
        ev["host"], ev["app"], ev["pid"], ev["msg"])


def late_set(arrival, ooo_ms=5000, lateness_ms=0):
    """Indices (into arrival) of LATE events, by the definition the receiver implements."""
    late, mx = set(), None
    for i, ev in enumerate(arrival):
        end = ev["ts"] - ev["ts"] % 60000 + 60000
        if mx is not None and end + lateness_ms <= mx - ooo_ms:
            late.add(i)
        mx = ev["ts"] if mx is None else max(mx, ev["ts"])
    return late


def esc(s, tabs=True):
    s = s.replace("\\", "\\\\").replace("\n", "\\n")
    return s.replace("\t", "\\t").replace("\r", "\\r") if tabs else s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="pcap to write")
    ap.add_argument("--truth", help="truth TSV to write")
    ap.add_argument("--lines-out", help="raw payloads, one per line")
    ap.add_argument("--base", type=int, help="epoch s of the first event (default now-2h, floored to min)")
    ap.add_argument("--span", type=float, default=30, help="minutes each file spans (30)")
    ap.add_argument("--max-gap", type=float, default=60, help="clip original gaps to S seconds (60)")
    ap.add_argument("--disorder", type=float, default=0.05)
    ap.add_argument("--late", type=int, default=5)
    ap.add_argument("--bad", type=int, default=20)
    ap.add_argument("--big-every", type=int, default=50)
    ap.add_argument("--limit", type=int, help="first N merged events only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dst-ip", default="192.0.2.1")
    ap.add_argument("--dst-ipv6", "--ipv6-dst", dest="dst_ipv6")
    ap.add_argument("--dst-mac", default="02:00:00:00:00:01")
    ap.add_argument("--src-ip", default="198.51.100.", help="IPv4 prefix of the senders (a.b.c.)")
    ap.add_argument("--src-ipv6", default="2001:db8:100::", help="IPv6 prefix of the senders")
    ap.add_argument("--port", type=int, default=514)
    ap.add_argument("--vlan", help="VLAN id, or OUTER,INNER for QinQ")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    base = a.base if a.base is not None else (int(time.time()) - 7200) // 60 * 60
    vlans = tuple(int(x) for x in a.vlan.split(",")) if a.vlan else ()

    events = load(base * 1000, a.span, a.max_gap)[:a.limit]
    matching = [e for e in events if any(x in e["msg"] for x in LITERALS)]
    for i, ev in enumerate(matching):
        if a.big_every > 0 and i % a.big_every == 0:
            ev["msg"] += "\n" + stack_trace(rng)
    # arrival key = event time, except: late lines +150..180 s, disordered lines -0.05..3 s
    for ev in events:
        ev["key"] = ev["ts"]
    last = events[-1]["ts"] if events else 0
    pool = [e for e in matching if e["ts"] <= last - 200000]
    late = rng.sample(pool, min(a.late, len(pool)))
    if len(late) < a.late:  # short streams (--limit): top up with non-matching lines
        pool = [e for e in events if e["ts"] <= last - 200000 and e not in matching]
        late += rng.sample(pool, min(a.late - len(late), len(pool)))
    if len(late) < a.late:
        print("warning: only %d late lines possible" % len(late), file=sys.stderr)
    for ev in late:
        ev["key"] = ev["ts"] + rng.randint(150000, 180000)
    rest = [e for e in events if e["key"] == e["ts"]]
    for ev in rng.sample(rest, int(a.disorder * len(events))):
        ev["key"] = ev["ts"] - rng.randint(50, 3000)
    arrival = sorted(events, key=lambda e: (e["key"], e["order"]))
    got = {id(arrival[i]) for i in late_set(arrival)}
    if got != {id(e) for e in late}:
        sys.exit("internal error: LATE set differs from the injected lines")

    # packets: valid events, with the malformed frames spread in between
    hosts = sorted({e["host"] for e in events})
    hidx = {h: i for i, h in enumerate(hosts)}
    dmac = pcapgen.mac(a.dst_mac)
    prefix = a.src_ip if a.src_ip.endswith(".") else a.src_ip + "."
    bad_at = {}
    for k in range(a.bad):
        bad_at.setdefault(rng.randrange(len(arrival) + 1), []).append(k % 6)
    w = pcapgen.PcapWriter(a.out)
    ts_us, ident, nfrag, nbig = 0, 0, 0, 0
    truth = open(a.truth, "w") if a.truth else None
    lines = open(a.lines_out, "w") if a.lines_out else None

    def put(frames, key_ms):
        nonlocal ts_us
        for f in frames:
            ts_us = max(ts_us + 1, key_ms * 1000)
            w.write(f, ts_us)

    for i in range(len(arrival) + 1):
        for kind in bad_at.get(i, []):  # malformed: would match and be 1 day ahead if accepted
            ident += 1
            key = arrival[min(i, len(arrival) - 1)]["key"] if arrival else base * 1000
            src, smac = prefix + "250", pcapgen.mac("02:00:00:00:02:%02x" % kind)
            pay = ("<11>1 %s.000Z bad-%d hadoop 1 - - ERROR java.lang.Exception: must be dropped"
                   % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + 86400)), kind)).encode()
            if kind == 0:    # bad UDP checksum
                frames = pcapgen.udp_frames(dmac, smac, src, a.dst_ip, 40000, a.port, pay, ident,
                                            vlans=vlans, bad_csum=True)
            elif kind == 1:  # IP total length says 80 bytes more than the frame holds
                ip = pcapgen.ipv4(src, a.dst_ip, 17, pcapgen.udp(src, a.dst_ip, 40000, a.port, pay),
                                  ident, total_len=28 + len(pay) + 80)
                frames = [pcapgen.ether(dmac, smac, pcapgen.ETH_P_IPV4, ip, vlans)]
            elif kind == 2:  # valid UDP to another port
                frames = pcapgen.udp_frames(dmac, smac, src, a.dst_ip, 40000, a.port + 1, pay, ident,
                                            vlans=vlans)
            elif kind == 3:  # TCP to the syslog port
                ip = pcapgen.ipv4(src, a.dst_ip, 6, pcapgen.tcp(src, a.dst_ip, 40001, a.port, pay), ident)
                frames = [pcapgen.ether(dmac, smac, pcapgen.ETH_P_IPV4, ip, vlans)]
            elif kind == 4:  # ARP who-has another address
                frames = [pcapgen.arp_request(smac, src, prefix + "251", vlans)]
            else:            # runt: 20 bytes, cut inside the IP header
                ip = pcapgen.ipv4(src, a.dst_ip, 17, pcapgen.udp(src, a.dst_ip, 40000, a.port, pay), ident)
                frames = [pcapgen.ether(dmac, smac, pcapgen.ETH_P_IPV4, ip, vlans)[:20]]
            put(frames, key)
        if i == len(arrival):
            break
        ev = arrival[i]
        payload = wire(ev)
        h = hidx[ev["host"]]
        big = "\n" in ev["msg"]
        v6 = bool(a.dst_ipv6) and big and nbig % 2 == 1
        nbig += big
        src = "%s%x" % (a.src_ipv6, 0x10 + h) if v6 else "%s%d" % (prefix, 10 + h)
        ident += 1
        frames = pcapgen.udp_frames(dmac, pcapgen.mac("02:00:00:00:01:%02x" % h), src,
                                    a.dst_ipv6 if v6 else a.dst_ip, 40000 + h, a.port,
                                    payload.encode(), ident, vlans=vlans)
        if len(frames) > 1:
            nfrag += 1
            if rng.random() < 1 / 3:
                frames.reverse()
        put(frames, ev["key"])
        if truth:
            truth.write("%d\t%d\t%s\t%s\t%s\n" % (i, ev["ts"], ev["host"], ev["app"], esc(ev["msg"])))
        if lines:
            lines.write(esc(payload, tabs=False) + "\n")
    w.close()
    for f in (truth, lines):
        if f:
            f.close()
    print("events=%d matching=%d late=%d disordered=%d fragmented=%d bad=%d frames=%d base=%d"
          % (len(arrival), len(matching), len(late), int(a.disorder * len(events)), nfrag, a.bad,
             w.count, base), file=sys.stderr)


if __name__ == "__main__":
    main()
