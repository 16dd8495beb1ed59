#!/usr/bin/env python3
"""ref_sessions.py - expected clickstream sessions from a truth TSV (from the spec, not weir's code).

Usage:
  tests/tools/ref_sessions.py TRUTH.tsv|- [--gap 1800] [--max-len 43200] [--ooo 5]
      [--lateness 0] [--funnel product_view,add_to_cart,checkout,purchase]
      [--page-view page_view]
  (times in seconds; --max-len 0 = no maximum length)

Input (gen_clickstream.py --truth), one valid event per line in arrival order:
  user_id<TAB>ts_ms<TAB>type          lines starting with '#' are ignored
Output, one line per session, in LC_ALL=C sort order:
  user_id<TAB>start_ms<TAB>end_ms<TAB>duration_ms<TAB>events<TAB>page_views<TAB>reached
  <TAB>converted(0/1)<TAB>time_to_convert_ms or -
Exit status 1 (reasons on stderr) when the stream is not one the final grouping can be
checked against, i.e. when a streaming sessionizer could close a session early:
  * LATE: an event with ts + gap + lateness <= watermark at its arrival;
  * EARLY CLOSE: a part of a session (a gap-connected group of its events that arrived
    earlier) whose last + gap + lateness <= watermark while an event of the same session
    is still to arrive (the session would then be emitted in pieces).

Semantics:
  * watermark before event e = max event time of the events before it - ooo (-inf first).
  * A user's events sorted by time form groups where consecutive events are at most
    gap apart (t_next - t_prev <= gap). Each group is split by max_len: walking it in time
    order, an event with t - start_of_current_session > max_len starts a new session.
  * Funnel: t1 = earliest step 1; t(k+1) = earliest step k+1 with time > t(k);
    reached = number of t(k) defined; converted = reached == steps;
    time_to_convert = t(last) - start when converted.
"""
import argparse
import sys
from bisect import insort


def sessionize(times, gap_ms, max_len_ms):
    """Sorted event times -> list of (first_index, last_index_exclusive) sessions."""
    out, start_i = [], 0
    for i in range(1, len(times) + 1):
        if (i == len(times) or times[i] - times[i - 1] > gap_ms
                or (max_len_ms > 0 and times[i] - times[start_i] > max_len_ms)):
            out.append((start_i, i))
            start_i = i
    return out


def funnel(events, steps):
    """events: (ts_ms, type) sorted by time -> (reached, t_last or None)."""
    t_prev = None
    for k, step in enumerate(steps):
        hits = [t for t, ty in events if ty == step and (t_prev is None or t > t_prev)]
        if not hits:
            return k, None
        t_prev = min(hits)
    return len(steps), t_prev


def read_truth(f):
    """-> list of (user, ts_ms, type) in arrival order."""
    rows = []
    for n, line in enumerate(f, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3:
            sys.exit("%s: line %d: expected 3 tab-separated fields: %r" % (f.name, n, line))
        rows.append((parts[0], int(parts[1]), parts[2]))
    return rows


def check_arrival(rows, sess_of, gap_ms, lateness_ms, ooo_ms):
    """Yield error messages for LATE events and sessions a streaming close would split.
    sess_of[i] = session id of row i; pieces of a session are re-grouped per arrival."""
    arrived = {}  # session id -> sorted times of its arrived events
    max_ts = None
    for i, (user, ts, _) in enumerate(rows):
        wm = None if max_ts is None else max_ts - ooo_ms
        if wm is not None:
            if ts + gap_ms + lateness_ms <= wm:
                yield "LATE: %s ts=%d watermark=%d (arrival %d)" % (user, ts, wm, i)
            prev = arrived.get(sess_of[i], [])
            for j, t in enumerate(prev):  # piece ends: gap before the next arrived time
                if (j + 1 == len(prev) or prev[j + 1] - t >= gap_ms) and t + gap_ms + lateness_ms <= wm:
                    yield ("EARLY CLOSE: %s part ending %d closed at watermark %d before "
                           "event ts=%d arrived (arrival %d)" % (user, t, wm, ts, i))
                    break
        insort(arrived.setdefault(sess_of[i], []), ts)
        max_ts = ts if max_ts is None else max(max_ts, ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth")
    ap.add_argument("--gap", type=float, default=1800)
    ap.add_argument("--max-len", type=float, default=43200)
    ap.add_argument("--ooo", type=float, default=5)
    ap.add_argument("--lateness", type=float, default=0)
    ap.add_argument("--funnel", default="product_view,add_to_cart,checkout,purchase")
    ap.add_argument("--page-view", default="page_view")
    a = ap.parse_args()
    gap, max_len = round(a.gap * 1000), round(a.max_len * 1000)
    steps = [s for s in a.funnel.split(",") if s]
    if gap <= 0 or max_len < 0:
        sys.exit("--gap must be > 0 and --max-len >= 0")
    f = sys.stdin if a.truth == "-" else open(a.truth)
    rows = read_truth(f)

    by_user = {}
    for i, (user, ts, ty) in enumerate(rows):
        by_user.setdefault(user, []).append((ts, i))
    sess_of, lines = [None] * len(rows), []
    for user, evs in by_user.items():
        evs.sort()
        times = [t for t, _ in evs]
        for s, e in sessionize(times, gap, max_len):
            for _, i in evs[s:e]:
                sess_of[i] = (user, s)
            typed = [(t, rows[i][2]) for t, i in evs[s:e]]
            reached, t_last = funnel(typed, steps)
            conv = bool(steps) and reached == len(steps)
            pv = sum(1 for _, ty in typed if ty == a.page_view)
            lines.append("%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s" % (
                user, times[s], times[e - 1], times[e - 1] - times[s], e - s, pv, reached,
                int(conv), str(t_last - times[s]) if conv else "-"))
    lines.sort(key=lambda x: x.encode())  # LC_ALL=C: byte order
    sys.stdout.write("".join(x + "\n" for x in lines))
    errors = list(check_arrival(rows, sess_of, gap, round(a.lateness * 1000), round(a.ooo * 1000)))
    for msg in errors[:20]:
        print(msg, file=sys.stderr)
    if errors:
        print("ref_sessions: %d arrival problems (late / early close)" % len(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
