#!/usr/bin/python3
"""fraud_client.py - send transactions to weir over UDP one at a time and record the replies.

Usage:
  tests/tools/fraud_client.py --dst IP --port P --txns TXNS.jsonl --out REPLIES.jsonl
      [--timeout 2.0] [--gap-ms 0] [--bind IP]
      [--pause-at N --pause-cmd "CMD"] [--resume-at M --resume-cmd "CMD"]
Example (stop redis for lines 40..59):
  fraud_client.py --dst 10.0.0.2 --port 9000 --txns t.jsonl --out r.jsonl \\
      --pause-at 40 --pause-cmd "kill -STOP $REDIS_PID" --resume-at 60 --resume-cmd "kill -CONT $REDIS_PID"

Each non-blank line of --txns is sent as-is (bad ones too: that is the point), then the
client waits up to --timeout seconds for the reply to THAT line before the next send, so
weir sees the lines in file order. Output: one JSON object per sent line, in send order:
the reply's object plus "rtt_us" (send to receive, this client's clock), or
{"txn_id": <id or null>, "noreply": true} after the timeout; a reply that is not JSON is
kept as {"txn_id": <id>, "raw": "<text>", "rtt_us": N}.
Matching: a line whose JSON has a string txn_id takes only a reply with that txn_id; any
other line (invalid JSON, no txn_id) takes the first reply whose txn_id is not that of an
earlier line. A non-matching reply is a late answer to an earlier line: it is dropped and
counted (stderr summary).
--pause-at / --resume-at N: run the shell command just before sending file line N
(1-based; if N is blank, before the next non-blank one). A command that fails stops the
run (exit 1): the test would otherwise check a stream that was not disturbed.
Exit status: 0 done (no-replies are data, not failures), 1 I/O or command failure,
2 bad arguments. stdlib only; /usr/bin/python3.
"""
import argparse
import ipaddress
import json
import socket
import subprocess
import sys
import time


def line_txn_id(line):
    """The txn_id weir can be expected to echo, or None when the line has no usable one."""
    try:
        o = json.loads(line)
    except ValueError:
        return None
    if isinstance(o, dict) and isinstance(o.get("txn_id"), str):
        return o["txn_id"]
    return None


def run_cmd(cmd, what, lineno):
    r = subprocess.run(cmd, shell=True)
    if r.returncode != 0:
        print("fraud_client: %s command %r before line %d exited %d"
              % (what, cmd, lineno, r.returncode), file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--txns", required=True, help="JSONL file, one transaction per line")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds to wait per reply")
    ap.add_argument("--gap-ms", type=float, default=0.0, help="pause after each reply")
    ap.add_argument("--bind", help="source address")
    ap.add_argument("--pause-at", type=int)
    ap.add_argument("--pause-cmd")
    ap.add_argument("--resume-at", type=int)
    ap.add_argument("--resume-cmd")
    a = ap.parse_args()
    try:
        ipaddress.IPv4Address(a.dst)
        if a.bind:
            ipaddress.IPv4Address(a.bind)
    except ValueError as e:
        ap.error(str(e))
    if not 1 <= a.port <= 65535:
        ap.error("--port %d not in 1..65535" % a.port)
    if not a.timeout > 0:
        ap.error("--timeout %g must be > 0" % a.timeout)
    if not a.gap_ms >= 0:
        ap.error("--gap-ms %g must be >= 0" % a.gap_ms)
    for at, cmd, name in ((a.pause_at, a.pause_cmd, "pause"), (a.resume_at, a.resume_cmd, "resume")):
        if (at is None) != (cmd is None):
            ap.error("--%s-at and --%s-cmd go together" % (name, name))
        if at is not None and at < 1:
            ap.error("--%s-at %d: lines count from 1" % (name, at))

    try:
        with open(a.txns, "rb") as f:
            lines = [(n, x.rstrip(b"\r\n")) for n, x in enumerate(f, 1)]
        out = open(a.out, "w")
    except OSError as e:
        print("fraud_client: %s" % e, file=sys.stderr)
        return 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Not connect()ed: weir may answer from a port other than the one it listens on.
    sock.bind((a.bind or "0.0.0.0", 0))
    dst = (a.dst, a.port)
    pending = [[a.pause_at, a.pause_cmd, "pause"], [a.resume_at, a.resume_cmd, "resume"]]
    earlier_ids = set()
    n_sent = n_replies = n_noreply = n_stale = 0
    rc = 0
    for lineno, raw in lines:
        if not raw.strip():
            continue
        for p in pending:
            if p[0] is not None and lineno >= p[0]:
                p[0] = None
                if not run_cmd(p[1], p[2], lineno):
                    rc = 1
        if rc:
            break
        text = raw.decode("utf-8", errors="surrogateescape")
        want = line_txn_id(text)
        t0 = time.perf_counter_ns()
        try:
            sock.sendto(raw, dst)
        except OSError as e:
            print("fraud_client: sending line %d: %s" % (lineno, e), file=sys.stderr)
            rc = 1
            break
        n_sent += 1
        deadline = t0 + int(a.timeout * 1e9)
        rec = None
        while rec is None:
            left = (deadline - time.perf_counter_ns()) / 1e9
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                break
            except OSError as e:            # e.g. ICMP port unreachable: weir not there
                print("fraud_client: line %d: %s" % (lineno, e), file=sys.stderr)
                continue
            rtt = (time.perf_counter_ns() - t0) // 1000
            try:
                obj = json.loads(data)
                got = obj.get("txn_id") if isinstance(obj, dict) else None
                got = got if isinstance(got, str) else None
            except ValueError:
                obj, got = None, None
            ok = got == want if want is not None else got not in earlier_ids
            if not ok:
                n_stale += 1
                continue
            if isinstance(obj, dict):
                rec = dict(obj)
            else:
                rec = {"txn_id": want, "raw": data.decode("utf-8", errors="replace")}
            rec["rtt_us"] = rtt
        if rec is None:
            rec = {"txn_id": want, "noreply": True}
            n_noreply += 1
        else:
            n_replies += 1
        if want is not None:
            earlier_ids.add(want)
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        out.flush()
        if a.gap_ms:
            time.sleep(a.gap_ms / 1000.0)
    for p in pending:
        if p[0] is not None and rc == 0:
            print("fraud_client: warning: %s line %d never reached (file has %d lines)"
                  % (p[2], p[0], len(lines)), file=sys.stderr)
    out.close()
    print("fraud_client: sent %d, replies %d, no reply %d, late replies dropped %d"
          % (n_sent, n_replies, n_noreply, n_stale), file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
