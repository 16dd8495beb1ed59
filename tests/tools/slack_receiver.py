#!/usr/bin/env python3
"""Stand-in for a Slack incoming webhook, for integration tests.

Usage:
  slack_receiver.py --port 0 --port-file F --out posts.jsonl [--script "429:1,500,200"]

Listens on 127.0.0.1. Answers the n-th POST with the n-th script step, then
200 forever. A step is an HTTP status, optionally ":S" for a Retry-After of S
seconds (e.g. "429:1"). Every POST is appended to --out as one JSON line:
  {"n": 1, "t": <unix time>, "path": "/...", "content_type": "...",
   "body": "<raw body>", "status": 429, "retry_after": "1"}
The chosen port is written to --port-file (atomically) once listening.
Exits 0 on SIGTERM or SIGINT. Python 3 standard library only.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time

REASON = {200: "ok", 400: "invalid_payload", 403: "invalid_token",
          404: "no_service", 429: "rate_limited", 500: "server_error"}


def parse_script(text):
    steps = []
    for tok in filter(None, (t.strip() for t in (text or "").split(","))):
        code, _, ra = tok.partition(":")
        if not code.isdigit() or not 100 <= int(code) <= 599 or (ra and not ra.isdigit()):
            raise argparse.ArgumentTypeError(f"bad script step {tok!r}")
        steps.append((int(code), ra or None))
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--script", type=parse_script, default=[])
    args = ap.parse_args()

    out = open(args.out, "a", encoding="utf-8")
    lock = threading.Lock()
    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive, as Slack does

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            with lock:
                n = count[0]
                count[0] += 1
                code, ra = args.script[n] if n < len(args.script) else (200, None)
                rec = {"n": n + 1, "t": time.time(), "path": self.path,
                       "content_type": self.headers.get("Content-Type"),
                       "body": body, "status": code, "retry_after": ra}
                out.write(json.dumps(rec) + "\n")
                out.flush()
            reply = REASON.get(code, "error").encode()
            self.send_response(code)
            if ra is not None:
                self.send_header("Retry-After", ra)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *a):   # quiet: the out file is the record
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, args.port_file)

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
