#!/usr/bin/env python3
"""Tunnelled and reordered copies of the conformance pcaps give the events
of the originals (standard library only).

    check.py --bin build/packetbeat [-j 2] [--kind vxlan ...] [--only SUBSTR] [-v]

For every pcap of tests/conformance/cases.json (its first case that reads
a pcap, with that case's configuration), packetbeat runs on the original
and on each copy written by encap.py, with every decapsulation switch on.
The events must be equal, in order, after dropping the fields that differ
from run to run (the conformance runner's golden list) and the tunnel
fields (network.tunnel.*), which must be present on the copies' transaction
events and absent from the original's. Nothing else is ignored.

Skipped, with the reason printed: copies that need made-up MAC addresses
(vxlan, erspan of a capture without Ethernet headers) and ipip copies, for
cases with flows: Packetbeat's flow id holds the MACs and both IP layers of
IP in IP, so those flow events differ by design.

The reordered copies are also run with tcp_reorder off: the events lost
that way (what Packetbeat loses) are counted and printed; the run fails if
reordering kept nothing on the whole corpus (the copies would be useless).

Exit status 0 when every comparison holds, 1 otherwise.
"""

import argparse
import concurrent.futures
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "conformance")
sys.path.insert(0, CONF)
sys.path.insert(0, HERE)

import encap  # noqa: E402
import run as conformance  # noqa: E402

KINDS = ("vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip", "reorder")
DECAP = {"vxlan": True, "geneve": True, "gre": True, "erspan": True, "ipip": True}
DROP = list(conformance.GOLDEN_VOLATILE_FIELDS) + ["network.tunnel"]


def run_pb(binary, case, pcap, tmp, extra_ifc):
    os.makedirs(tmp)
    for sub in ("output", "data", "logs"):
        os.makedirs(os.path.join(tmp, sub))
    for rel in case.get("files") or []:
        shutil.copy(os.path.join(CONF, rel), os.path.join(tmp, os.path.basename(rel)))
    cfg = conformance.build_config(case.get("config"), tmp)
    ifc = cfg.setdefault("packetbeat", {}).setdefault("interfaces", {})
    ifc.update(copy.deepcopy(extra_ifc))
    path = os.path.join(tmp, "packetbeat.yml")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)
    os.chmod(path, 0o600)
    cmd = [binary, "-e", "-c", path, "-I", pcap]
    if not case.get("realtime"):
        cmd.append("-t")
    cmd += ["--path.home", tmp, "--path.data", os.path.join(tmp, "data"),
            "--path.logs", os.path.join(tmp, "logs")]
    with open(os.path.join(tmp, "log"), "wb") as log:
        rc = subprocess.run(cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=120).returncode
    if rc != 0:
        raise RuntimeError("packetbeat exited with %d on %s" % (rc, pcap))
    _, events = conformance.read_events(os.path.join(tmp, "output"))
    return events


def pop_path(ev, path):
    """Removes a dotted path; returns the removed value or None."""
    parts = path.split(".")
    cur = ev
    for p in parts[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return None
    if isinstance(cur, dict):
        return cur.pop(parts[-1], None)
    return None


def clean(events):
    out, tunnels = [], []
    for ev in events:
        ev = copy.deepcopy(ev)
        tunnels.append(pop_path(ev, "network.tunnel"))
        for f in DROP:
            pop_path(ev, f)
        if isinstance(ev.get("network"), dict) and not ev["network"]:
            del ev["network"]
        out.append(ev)
    return out, tunnels


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            fx = conformance.flatten(x)
            fy = conformance.flatten(y)
            keys = sorted(k for k in set(fx) | set(fy) if fx.get(k) != fy.get(k))
            return "event %d differs in %s" % (i, ", ".join(keys[:6]))
    return "%d events vs %d" % (len(a), len(b))


def check_pcap(opts, case, work):
    """Returns (failures, notes, lost_without_reorder, kept)."""
    fails, notes = [], []
    pcap = os.path.join(CONF, case["pcap"])
    _, _, link, _ = encap.read_pcap(pcap)
    flows = "flows" in json.dumps(case.get("config") or {})
    name = case["pcap"]
    base = run_pb(opts.bin, case, pcap, os.path.join(work, "orig"), {"decapsulation": DECAP})
    base_c, base_t = clean(base)
    if any(t is not None for t in base_t):
        fails.append("%s: tunnel fields on the original's events" % name)
    lost = kept = 0
    for kind in opts.kinds:
        if flows and (kind == "ipip" or (link != 1 and kind in encap.NEEDS_ETH)):
            notes.append("skip %s %s: flow ids differ by design" % (name, kind))
            continue
        copy_path = os.path.join(work, kind + ".pcap")
        rc = encap.main(["encap.py", pcap, copy_path, kind])
        if rc != 0:
            fails.append("%s %s: encap.py failed" % (name, kind))
            continue
        extra = {"decapsulation": DECAP}
        if kind == "reorder":
            extra["tcp_reorder"] = {"enabled": True}
        got = run_pb(opts.bin, case, copy_path, os.path.join(work, kind), extra)
        got_c, got_t = clean(got)
        if got_c != base_c:
            fails.append("%s %s: %s" % (name, kind, first_diff(base_c, got_c)))
            continue
        if kind != "reorder":
            want = "erspan" if kind.startswith("erspan") else kind
            for ev, t in zip(got, got_t):
                if ev.get("type") == "flow":
                    continue
                if not isinstance(t, dict) or t.get("type") != want:
                    fails.append("%s %s: network.tunnel is %s" % (name, kind, t))
                    break
        else:
            off = run_pb(opts.bin, case, copy_path, os.path.join(work, "reorder-off"),
                         {"tcp_reorder": {"enabled": False}})
            off_c, _ = clean(off)
            if off_c != base_c:
                kept += 1
                lost += max(len(base_c) - len(off_c), 0) or 1
    return fails, notes, lost, kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--kind", action="append", choices=KINDS)
    ap.add_argument("--only", action="append")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args(argv)
    opts.bin = os.path.abspath(opts.bin)
    opts.kinds = opts.kind or list(KINDS)
    with open(os.path.join(CONF, "cases.json"), encoding="utf-8") as fh:
        cases = json.load(fh)
    per_pcap = {}
    for c in cases:
        if c.get("mode", "pcap") != "pcap" or not c.get("pcap"):
            continue
        if (c.get("expect") or {}).get("exit_code", 0) != 0:
            continue
        if opts.only and not any(s in c["id"] or s in c["pcap"] for s in opts.only):
            continue
        per_pcap.setdefault(c["pcap"], c)
    work = tempfile.mkdtemp(prefix="pbtunnels-")
    failures, lost, kept = [], 0, 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(opts.jobs, 1)) as ex:
            futs = {}
            for i, (pcap, case) in enumerate(sorted(per_pcap.items())):
                futs[ex.submit(check_pcap, opts, case, os.path.join(work, str(i)))] = pcap
            for fut in concurrent.futures.as_completed(futs):
                pcap = futs[fut]
                try:
                    f, notes, l, k = fut.result()
                except Exception as exc:  # a crash or a timeout is a failure
                    f, notes, l, k = ["%s: %s" % (pcap, exc)], [], 0, 0
                failures += f
                lost += l
                kept += k
                print("%s %s" % ("FAIL" if f else "ok  ", pcap))
                for line in f:
                    print("    " + line)
                if opts.verbose:
                    for line in notes:
                        print("    " + line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d pcaps, kinds %s: %d failures" % (len(per_pcap), ",".join(opts.kinds),
                                               len(failures)))
    if "reorder" in opts.kinds:
        print("reordered copies: %d pcaps lose events without tcp_reorder (about %d events), "
              "none with it" % (kept, lost))
        if kept == 0 and len(per_pcap) > 10:
            failures.append("reordering kept nothing")
            print("FAIL: the reordered copies lose nothing even without reordering")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
