#!/usr/bin/env python3
"""Packet workers give the events of the single-threaded run (standard
library only).

    check.py --bin build/packetbeat [-j 2] [--workers 2] [--only SUBSTR] [-v]

For every distinct (pcap, configuration) of tests/conformance/cases.json,
and once more per pcap with flows on (packetbeat.flows, so that every pcap's
flow ids, which hold the TCP connection ids, are compared too), packetbeat
runs with packetbeat.interfaces.workers 1 and N (-E on the command line).
The events, as sorted canonical JSON, must be equal: the same multiset,
order aside. Dropped before comparing: what differs from run to run
(agent ids; @timestamp of flow events, which is the report time on the wall
clock; every time of a case replayed in real time). The monitoring line
"Total metrics" must also count the same TCP connections, flows and
protocol events.

Exit status 0 when every comparison holds, 1 otherwise.
"""

import argparse
import concurrent.futures
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "conformance")
sys.path.insert(0, CONF)

import run as conformance  # noqa: E402

ALWAYS_DROP = ["agent.ephemeral_id", "agent.id"]
TIME_FIELDS = ["@timestamp", "event.start", "event.end", "event.duration", "sip.timestamp"]
# flows time out on the wall clock: a long timeout keeps a loaded machine
# (a stalled run) from splitting a flow in one run and not the other
FLOWS = {"timeout": "60s", "period": "-1s"}


def run_pb(binary, case, workers, tmp, flows):
    os.makedirs(tmp)
    for sub in ("output", "data", "logs"):
        os.makedirs(os.path.join(tmp, sub))
    for rel in case.get("files") or []:
        shutil.copy(os.path.join(CONF, rel), os.path.join(tmp, os.path.basename(rel)))
    cfg = conformance.build_config(case.get("config"), tmp)
    if flows:
        cfg.setdefault("packetbeat", {})["flows"] = dict(FLOWS)
    path = os.path.join(tmp, "packetbeat.yml")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)
    os.chmod(path, 0o600)
    cmd = [binary, "-e", "-c", path, "-I", os.path.join(CONF, case["pcap"]),
           "-E", "packetbeat.interfaces.workers=%d" % workers]
    if not case.get("realtime"):
        cmd.append("-t")
    cmd += ["--path.home", tmp, "--path.data", os.path.join(tmp, "data"),
            "--path.logs", os.path.join(tmp, "logs")]
    with open(os.path.join(tmp, "log"), "wb") as log:
        rc = subprocess.run(cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=120).returncode
    with open(os.path.join(tmp, "log"), "rb") as fh:
        log_text = fh.read().decode("utf-8", "replace")
    _, events = conformance.read_events(os.path.join(tmp, "output"))
    return rc, events, log_text


def pop_path(ev, path):
    parts = path.split(".")
    cur = ev
    for p in parts[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def canonical(events, realtime):
    out = []
    for ev in events:
        ev = copy.deepcopy(ev)
        for f in ALWAYS_DROP:
            pop_path(ev, f)
        if realtime:
            for f in TIME_FIELDS:
                pop_path(ev, f)
        elif ev.get("type") == "flow":
            pop_path(ev, "@timestamp")
        out.append(json.dumps(ev, sort_keys=True, separators=(",", ":")))
    return sorted(out)


def totals(log_text):
    """Counters of the "Total metrics" line that must not depend on the
    number of workers."""
    want = {}
    for line in log_text.splitlines():
        if "Total metrics" not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        pb = (((rec.get("monitoring") or {}).get("metrics") or {}).get("packetbeat") or {})
        tcp = pb.get("tcp") or {}
        for k in ("segments", "connections_created", "gaps", "retransmits"):
            want["tcp." + k] = tcp.get(k)
        for k, v in (pb.get("flows") or {}).items():
            want["flows." + k] = v
        for name, st in (pb.get("protocols") or {}).items():
            want["protocols.%s.events" % name] = (st or {}).get("events")
    return want


def first_diff(a, b):
    sa, sb = set(a), set(b)
    only_a = sorted(sa - sb)
    only_b = sorted(sb - sa)
    if only_a or only_b:
        pick = (only_a or only_b)[0]
        return "%d vs %d events; e.g. only in %s: %s" % (
            len(a), len(b), "workers=1" if only_a else "workers=N", pick[:300])
    return "%d vs %d events (duplicates differ)" % (len(a), len(b))


def check(opts, case, flows, work):
    name = "%s%s" % (case["id"], " +flows" if flows else "")
    rc1, ev1, log1 = run_pb(opts.bin, case, 1, os.path.join(work, "w1"), flows)
    rcn, evn, logn = run_pb(opts.bin, case, opts.workers, os.path.join(work, "wn"), flows)
    fails = []
    if rc1 != rcn:
        fails.append("%s: exit status %d vs %d" % (name, rc1, rcn))
    c1 = canonical(ev1, case.get("realtime"))
    cn = canonical(evn, case.get("realtime"))
    if c1 != cn:
        fails.append("%s: %s" % (name, first_diff(c1, cn)))
    t1, tn = totals(log1), totals(logn)
    if t1 != tn:
        keys = sorted(k for k in set(t1) | set(tn) if t1.get(k) != tn.get(k))
        fails.append("%s: Total metrics differ in %s" % (name, ", ".join(keys[:6])))
    for tag, text in (("workers=1", log1), ("workers=N", logn)):
        if "WARNING: ThreadSanitizer" in text or "ERROR: AddressSanitizer" in text:
            fails.append("%s: sanitizer report with %s" % (name, tag))
    if "packet workers" not in logn:
        fails.append("%s: no packet workers started" % name)
    return name, len(ev1), fails


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", action="append")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args(argv)
    opts.bin = os.path.abspath(opts.bin)
    with open(os.path.join(CONF, "cases.json"), encoding="utf-8") as fh:
        cases = json.load(fh)
    todo, seen, pcaps = [], set(), {}
    for c in cases:
        if c.get("mode", "pcap") != "pcap" or not c.get("pcap"):
            continue
        if (c.get("expect") or {}).get("exit_code", 0) != 0:
            continue
        if opts.only and not any(s in c["id"] or s in c["pcap"] for s in opts.only):
            continue
        key = json.dumps([c["pcap"], c.get("config"), c.get("files"), c.get("realtime")],
                         sort_keys=True)
        if key not in seen:
            seen.add(key)
            todo.append((c, False))
        pcaps.setdefault(c["pcap"], c)
    todo += [(c, True) for c in pcaps.values()
             if "flows" not in json.dumps(c.get("config") or {})]
    work = tempfile.mkdtemp(prefix="pbworkers-")
    failures, events = [], 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(opts.jobs, 1)) as ex:
            futs = {ex.submit(check, opts, c, fl, os.path.join(work, str(i))): (c, fl)
                    for i, (c, fl) in enumerate(todo)}
            for fut in concurrent.futures.as_completed(futs):
                c, fl = futs[fut]
                try:
                    name, n, f = fut.result()
                except Exception as exc:  # a crash or a timeout is a failure
                    name, n, f = c["id"], 0, ["%s: %s" % (c["id"], exc)]
                failures += f
                events += n
                if f or opts.verbose:
                    print("%s %s (%d events)" % ("FAIL" if f else "ok  ", name, n))
                for line in f:
                    print("    " + line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d runs compared (workers 1 and %d), %d events: %d failures"
          % (len(todo), opts.workers, events, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
