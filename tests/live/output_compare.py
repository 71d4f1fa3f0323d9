#!/usr/bin/env python3
"""Compares events that arrived at a peer with the file output's events
(agent.ephemeral_id aside, which each packetbeat process makes anew).
usage: output_compare.py MODE REF.ndjson GOT.ndjson
  exact   every reference event arrived once, field by field equal, nothing else
  all     every reference event arrived at least once (duplicates allowed)
  fewer   fewer events than the reference arrived (some were dropped)
A MODE ending in -live ignores @timestamp and event.start/end/duration (a
pcap replayed without -t gets wall-clock times)."""
import json
import sys
from collections import Counter


def load(path, live=False):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                ev = json.loads(line)
                # a new process has a new ephemeral id; everything else must match
                ev.get("agent", {}).pop("ephemeral_id", None)
                if live:  # replayed in real time: times are the wall clock's
                    ev.pop("@timestamp", None)
                    for k in ("start", "end", "duration"):
                        ev.get("event", {}).pop(k, None)
                out.append(json.dumps(ev, sort_keys=True))
    return out


def main():
    mode = sys.argv[1]
    live = mode.endswith("-live")
    mode = mode[:-5] if live else mode
    ref, got = load(sys.argv[2], live), load(sys.argv[3], live)
    r, g = Counter(ref), Counter(got)
    if not ref:
        sys.exit("FAIL: empty reference")
    if mode == "exact":
        if r != g:
            missing = sum((r - g).values())
            extra = sum((g - r).values())
            if got and ref:
                a, b = json.loads(ref[0]), json.loads(got[0])
                diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
                print("first event differs in:", diff)
            sys.exit("FAIL: %d reference events, %d received, %d missing, %d unexpected"
                     % (len(ref), len(got), missing, extra))
    elif mode == "all":
        missing = sum((r - g).values())
        if missing:
            sys.exit("FAIL: %d of %d events missing (%d received)" % (missing, len(ref), len(got)))
    elif mode == "fewer":
        if len(set(got)) >= len(set(ref)):
            sys.exit("FAIL: expected drops, but %d of %d events arrived" % (len(set(got)), len(ref)))
        if any(k not in r for k in g):
            sys.exit("FAIL: unexpected events")
    print("ok: %s: %d reference, %d received (%d distinct)" % (mode, len(ref), len(got), len(set(got))))


if __name__ == "__main__":
    main()
