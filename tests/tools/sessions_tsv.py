#!/usr/bin/env python3
"""sessions_tsv.py - weir's session records (JSON lines) in ref_sessions.py's format.

Usage: tests/tools/sessions_tsv.py SESSIONS.jsonl > got.tsv
Other record types in the file are skipped. Output sorted in LC_ALL=C order:
  user_id start_ms end_ms duration_ms events page_views reached converted(0/1) ttc_ms|-
"""
import json
import sys
from datetime import datetime


def ms(t):
    return round(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)


rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "session":
        continue
    f = r["funnel"]
    ttc = f["time_to_convert_ms"]
    rows.append("\t".join(map(str, [r["user_id"], ms(r["start"]), ms(r["end"]), r["duration_ms"],
                                    r["events"], r["page_views"], f["reached"],
                                    int(f["converted"]), "-" if ttc is None else ttc])))
print("\n".join(sorted(rows, key=lambda s: s.encode())))
