#!/usr/bin/env python3
"""bench.py: the offline benchmark of packetbeat, side by side with the libpcap floor,
tcpdump and tshark, plus an event-count check against each corpus' ground truth.

Run it through bench/run.sh (one command: builds, generates the corpora, measures, and
rewrites the "## Performance" section of README.md).

Steps:
  1. corpora (deterministic, make-corpus, cached in bench/.cache, git-ignored):
       mixed-200M  the default mix, 200 MB
       dense-50M   --mix dns=30,redis=30,memcache=20,pgsql=10,mysql=10, 50 MB
       mixed-5M    the default mix, 5 MB (callgrind)
       real        bench/.cache/real.pcap when present (record-real, --real records it)
  2. per corpus, every tool once untimed (page cache warm-up), then N timed runs:
     CPU = user+sys of the whole process tree (wait4), wall = monotonic clock, peak RSS
     from /usr/bin/time %M; medians.  packets/s, MB/s and transactions/s are per CPU
     second (every tool here is single-threaded in its packet work; packetbeat's output
     thread is included in its CPU time).  "x floor" = CPU time / pcap-floor -m next.
  3. correctness: packetbeat's events per protocol (the file output, counted by
     `type`) against the corpus' .meta.json (make-corpus ground truth) or, for the
     recorded corpus, count-requests (approximate).
  4. callgrind: instructions per packet on mixed-5M (noise-free before/after figure).
"""
import argparse
import collections
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DENSE_MIX = "dns=30,redis=30,memcache=20,pgsql=10,mysql=10"
CORPORA = [
    # name, make-corpus args, description
    ("mixed-200M", ["-s", "200M"], "default mix, 200 MB"),
    ("dense-50M", ["-s", "50M", "--mix", DENSE_MIX], "transaction-dense mix (%s), 50 MB" % DENSE_MIX),
    ("mixed-5M", ["-s", "5M"], "default mix, 5 MB"),
]
PROTOS = ["http", "dns", "redis", "memcache", "mysql", "pgsql"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_once(cmd, cwd=None):
    """`sh -c cmd` under /usr/bin/time: (rc, wall s, cpu s, peak RSS KB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-o", tf.name, "-f", "%M", "sh", "-c", cmd], cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        lines = tf.read().strip().splitlines()
        rss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return rc, wall, ru.ru_utime + ru.ru_stime, rss


def ensure_corpus(cache, name, args):
    """Generates cache/name.pcap unless a file made with the same arguments is there."""
    out = os.path.join(cache, name + ".pcap")
    meta = out + ".meta.json"
    if os.path.exists(out) and os.path.exists(meta):
        m = json.load(open(meta))
        want = {"size": args[args.index("-s") + 1],
                "mix": args[args.index("--mix") + 1] if "--mix" in args else None}
        got = m.get("args", {})
        if got.get("size") == want["size"] and (want["mix"] is None or got.get("mix") == want["mix"]) \
                and got.get("seed", 1) == 1 and os.path.getsize(out) == m.get("bytes"):
            return out
    log("generating %s (make-corpus %s)" % (out, " ".join(args)))
    subprocess.run([os.path.join(HERE, "make-corpus")] + args + ["-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def pb_cmd(pb, conf, F, outdir, workdir):
    # the shipped packetbeat.yml as it is (flows, processors); only the output overridden
    # to a file; rotate_every_kb raised so that every event stays for the count.
    return ("%s -I '%s' -t -c '%s' --path.data '%s' --path.logs '%s' "
            "-E output.elasticsearch.enabled=false -E output.file.path='%s' "
            "-E output.file.filename=packetbeat -E output.file.rotate_every_kb=4194304 "
            "> /dev/null 2>&1" % (pb, F, conf, os.path.join(workdir, "data"),
                                  os.path.join(workdir, "logs"), outdir))


def count_events(outdir):
    c = collections.Counter()
    for fn in sorted(glob.glob(os.path.join(outdir, "packetbeat*"))):
        with open(fn, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    c["(bad json)"] += 1
                    continue
                c[ev.get("type", "(none)")] += 1
    return c


def tools(a, F, floor, workdir):
    q = "'%s'" % F
    outdir = os.path.join(workdir, "out")
    t = [
        ("pcap-floor -m next", "%s -m next %s > /dev/null" % (floor, q), "fast"),
        ("packetbeat", "rm -rf '%s'; " % outdir + pb_cmd(a.bin, a.config, F, outdir, workdir), "pb"),
        ("tcpdump -r F -nn", "tcpdump -r %s -nn > /dev/null 2>&1" % q, "fast"),
        ("tshark -r F -T ek", "tshark -r %s -T ek > /dev/null 2>&1" % q, "slow"),
    ]
    return t, outdir


def fmt_int(x):
    return "{:,.0f}".format(x)


def callgrind(cmd):
    with tempfile.NamedTemporaryFile("r", suffix=".vglog") as lf:
        subprocess.run("valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file=%s %s"
                       % (lf.name, cmd), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m = re.search(r"Collected\s*:\s*(\d+)", lf.read())
    return int(m.group(1)) if m else None


def bench_corpus(a, name, desc, F, floor, tx_truth, per_proto_truth, truth_kind):
    size = os.path.getsize(F)
    r = subprocess.run([floor, "-m", "next", F], capture_output=True, text=True, check=True)
    npk = int(re.search(r"packets=(\d+)", r.stdout).group(1))
    workdir = tempfile.mkdtemp(prefix="pbbench.")
    tl, outdir = tools(a, F, floor, workdir)
    res = []
    events = None
    for tname, cmd, kind in tl:
        if a.skip_tools and re.search(a.skip_tools, tname):
            continue
        exe = cmd.split()[0] if kind != "pb" else a.bin
        if kind == "slow" and size > a.tshark_max_mb * 1e6:
            log("%s: skip %s (%.0f MB > --tshark-max-mb %d)" % (name, tname, size / 1e6, a.tshark_max_mb))
            res.append({"name": tname, "skipped": "too slow: measured on the smaller corpora only"})
            continue
        if not shutil.which(exe) and not os.path.exists(exe):
            log("%s: skip %s (not installed)" % (name, tname))
            res.append({"name": tname, "skipped": "not installed"})
            continue
        n = {"fast": a.runs, "pb": a.pb_runs, "slow": a.slow_runs}[kind]
        if kind != "slow":
            run_once(cmd)  # warm-up
        runs = []
        for _ in range(n):
            runs.append(run_once(cmd))
        rcs = [x[0] for x in runs]
        d = {"name": tname, "runs": runs, "rc": rcs,
             "wall": statistics.median(x[1] for x in runs),
             "cpu": statistics.median(x[2] for x in runs),
             "rss": statistics.median(x[3] for x in runs)}
        log("%s: %-20s cpu %.3fs wall %.3fs rss %.1f MB rc=%s" % (name, tname, d["cpu"], d["wall"],
                                                               d["rss"] / 1024, rcs))
        if kind == "pb":
            events = count_events(outdir)
        res.append(d)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"name": name, "desc": desc, "file": F, "bytes": size, "packets": npk, "tx": tx_truth,
            "truth": per_proto_truth, "truth_kind": truth_kind, "results": res,
            "events": dict(events) if events is not None else None}


def table(c):
    floor = next((r for r in c["results"] if r["name"].startswith("pcap-floor") and "cpu" in r), None)
    fc = max(floor["cpu"], 1e-3) if floor else None
    lines = ["| tool | CPU s (median) | x floor (CPU) | wall s | packets/s | MB/s | transactions/s | "
             "peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in c["results"]:
        if "skipped" in r:
            lines.append("| %s | - | - | - | - | - | - | - (%s) |" % (r["name"], r["skipped"]))
            continue
        cpu = max(r["cpu"], 1e-3)
        bad = any(x != 0 for x in r["rc"])
        lines.append("| %s%s | %.3f | %s | %.3f | %s | %.1f | %s | %.1f |" % (
            r["name"], " (exit %s)" % r["rc"] if bad else "", r["cpu"],
            "%.1f" % (cpu / fc) if fc else "-", r["wall"], fmt_int(c["packets"] / cpu),
            c["bytes"] / 1e6 / cpu, fmt_int(c["tx"] / cpu) if c["tx"] else "-", r["rss"] / 1024))
    return lines


def correctness(c):
    ev = c["events"] or {}
    lines = []
    ok = True
    for p in PROTOS:
        want = c["truth"].get(p) if c["truth"] else None
        got = ev.get(p, 0)
        if not want and got == 0:
            continue
        if c["truth_kind"] == "exact":
            mark = "ok" if want == got else "**differs (%+d)**" % (got - want)
            ok = ok and want == got
        else:
            mark = "approx."
        lines.append("| %s | %s | %s | %s | %s |" % (c["name"], p, fmt_int(want) if want is not None else "-",
                                                     fmt_int(got), mark))
    others = sorted(k for k in ev if k not in PROTOS)
    for k in others:
        lines.append("| %s | %s | - | %s | %s |" % (c["name"], k, fmt_int(ev[k]),
                                                    "flow events (no ground truth)" if k == "flow" else "unexpected"))
    return lines, ok


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return "%s, %d cores, Linux %s; packetbeat at %s%s" % (cpu or platform.machine(), os.cpu_count(),
                                                           platform.release(), rev or "?",
                                                           " (+ local changes)" if dirty else "")


def write_readme(md):
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    section = "## Performance\n\n" + md.rstrip("\n") + "\n\n"
    m = re.search(r"^## Performance\n", text, re.M)
    if m:
        n = re.search(r"^## ", text[m.end():], re.M)
        end = m.end() + n.start() if n else len(text)
        text = text[:m.start()] + section + text[end:]
    else:
        n = re.search(r"^## Not done yet", text, re.M)
        if n:
            text = text[:n.start()] + section + text[n.start():]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    open(path, "w").write(text.rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="packetbeat binary (Release build)")
    ap.add_argument("--config", default=os.path.join(ROOT, "packetbeat.yml"))
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the fast tools")
    ap.add_argument("--pb-runs", type=int, default=3, help="timed runs of packetbeat")
    ap.add_argument("--slow-runs", type=int, default=3, help="timed runs of tshark")
    ap.add_argument("--tshark-max-mb", type=int, default=60, help="skip tshark on larger corpora")
    ap.add_argument("--only", help="regex on corpus names")
    ap.add_argument("--skip-tools", help="regex on tool names not to run (e.g. 'tshark')")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    ap.add_argument("--md", default=None, help="also write the markdown here (default cache/results.md)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when event counts differ")
    ap.add_argument("--render-only", action="store_true",
                    help="no measuring: render cache/results.json of the last run again")
    a = ap.parse_args()
    if a.render_only:
        j = json.load(open(os.path.join(a.cache, "results.json")))
        info = j.get("info") or {"machine": machine(), "when": "?", "runs": a.runs, "pb_runs": a.pb_runs,
                                 "slow_runs": a.slow_runs, "tshark_max_mb": a.tshark_max_mb,
                                 "md5": {c["name"]: md5(c["file"])[:12] for c in j["corpora"]}}
        return finish(a, j["corpora"], [tuple(x) for x in j["callgrind"]], info)
    if not a.bin:
        ap.error("--bin is required")
    a.bin = os.path.abspath(a.bin)
    a.config = os.path.abspath(a.config)
    os.makedirs(a.cache, exist_ok=True)
    floor = os.path.join(a.cache, "pcap-floor")
    subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "pcap-floor.c"), "-lpcap"], check=True)

    corpora = []
    for name, args, desc in CORPORA:
        if a.only and not re.search(a.only, name):
            continue
        F = ensure_corpus(a.cache, name, args)
        meta = json.load(open(F + ".meta.json"))
        truth = {p: v["transactions"] for p, v in meta["per_protocol"].items()}
        corpora.append((name, desc, F, meta["transactions_total"], truth, "exact"))
    real = os.path.join(a.cache, "real.pcap")
    if os.path.exists(real) and (not a.only or re.search(a.only, "real")):
        cr = json.loads(subprocess.run([os.path.join(HERE, "count-requests"), real], capture_output=True,
                                       text=True, check=True).stdout)
        truth = {p: n for p, n in cr.items() if p != "total"}
        corpora.append(("real", "recorded from real servers by `bench/record-real` (nginx + wrk, "
                        "redis-benchmark, pgbench, memcached, 3 s; not deterministic: `bench/run.sh "
                        "--real` records it when bench/.cache/real.pcap is missing)", real,
                        cr.get("total"), truth,
                        "approx"))

    results = []
    for name, desc, F, tx, truth, kind in corpora:
        results.append(bench_corpus(a, name, desc, F, floor, tx, truth, kind))

    cg = []
    small = next((c for c in results if c["name"] == "mixed-5M"), None)
    if small and not a.no_callgrind and shutil.which("valgrind"):
        F = small["file"]
        wd = tempfile.mkdtemp(prefix="pbbench-cg.")
        for tname, cmd in [("pcap-floor -m next", "%s -m next '%s' > /dev/null" % (floor, F)),
                           ("packetbeat", pb_cmd(a.bin, a.config, F, os.path.join(wd, "out"), wd)),
                           ("tcpdump -r F -nn", "tcpdump -r '%s' -nn > /dev/null 2>&1" % F)]:
            n = callgrind(cmd)
            log("callgrind %s: %s" % (tname, n))
            cg.append((tname, n))
        shutil.rmtree(wd, ignore_errors=True)

    info = {"machine": machine(), "when": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
            "runs": a.runs, "pb_runs": a.pb_runs, "slow_runs": a.slow_runs,
            "tshark_max_mb": a.tshark_max_mb,
            "md5": {c["name"]: md5(c["file"])[:12] for c in results}}
    json.dump({"corpora": results, "callgrind": cg, "info": info},
              open(os.path.join(a.cache, "results.json"), "w"), indent=1)
    return finish(a, results, cg, info)


NOTES = {
    "http": "http: a response to HEAD carries a Content-Length but no body; Packetbeat's parser (and "
            "so this one, which keeps its behaviour) does not know the request was a HEAD and takes the "
            "next response bytes as that body, so the transactions after it on the connection give no "
            "event (make-corpus sends HEAD requests; seen on mixed-5M, client port 35191: HEAD, then 4 "
            "responses, 2 events).",
    "memcache": "memcache: a text `quit` gets no response; Packetbeat's memcache takes it as a command "
                "without reply and publishes it alone (protos/memcache follows it), which the ground truth "
                "does not count (on mixed-200M all the extra events are `quit`).",
    "redis": "redis: seen on mixed-5M: a reply (an array whose first bulk string reads like a command) "
             "taken for a request, giving an event from server to client with method ECHO, and the "
             "exchanges around it lost; whether Packetbeat does the same is not checked yet.",
}


def render(results, cg, info):
    md = []
    md.append("Measured by `bench/run.sh` (regenerate with that one command; it builds a Release "
              "packetbeat, generates the corpora with `bench/make-corpus` into `bench/.cache/` and "
              "rewrites this section). Machine: %s; %s UTC. The machine is shared (2 cores, other "
              "builds running): CPU times vary by 10-20 %% between runs; the callgrind counts do not." % (
                  info["machine"], info["when"]))
    md.append("")
    md.append("packetbeat runs as `packetbeat -I F -t -c packetbeat.yml -E output.elasticsearch.enabled=false "
              "-E output.file.path=DIR -E output.file.filename=packetbeat -E output.file.rotate_every_kb=4194304` "
              "(the shipped packetbeat.yml: flows and processors as shipped, only the output replaced by a "
              "file, rotation raised so that every event stays for the count). CPU s is user+sys of the "
              "process (all threads), median of %d runs (packetbeat %d, tshark %d); packets/s, MB/s and "
              "transactions/s are per CPU second; x floor is CPU time / the libpcap floor "
              "(`pcap-floor -m next`, a bare `pcap_next_ex` loop) on the same file; peak RSS is the "
              "median of the runs' maximum resident set." % (info["runs"], info["pb_runs"],
                                                              info["slow_runs"]))
    md.append("")
    ratios = {}
    for c in results:
        md.append("**%s**: %s; %s bytes (md5 %s), %s packets, %s transactions%s." % (
            c["name"], c["desc"], fmt_int(c["bytes"]), info["md5"].get(c["name"], "?"),
            fmt_int(c["packets"]), fmt_int(c["tx"]) if c["tx"] else "?",
            " (ground truth from `.meta.json`)" if c["truth_kind"] == "exact"
            else " (approximate, from `bench/count-requests`)"))
        md.append("")
        md.extend(table(c))
        md.append("")
        fl = next((r for r in c["results"] if r["name"].startswith("pcap-floor") and "cpu" in r), None)
        pb = next((r for r in c["results"] if r["name"] == "packetbeat" and "cpu" in r), None)
        if fl and pb:
            ratios[c["name"]] = (pb["cpu"] / max(fl["cpu"], 1e-3), pb["rss"] / 1024)
    skipped = [c["name"] for c in results for r in c["results"]
               if r["name"].startswith("tshark") and "skipped" in r and r["skipped"].startswith("too slow")]
    if skipped:
        md.append("tshark -T ek is run only on corpora up to %d MB (too slow on %s: it runs at several "
                  "hundred times the floor)." % (info["tshark_max_mb"], ", ".join(skipped)))
        md.append("")
    if ratios:
        md.append("Against the targets of issue 9 (CPU time relative to the floor on the same file):")
        md.append("")
        md.append("| target | measured | |")
        md.append("|---|---:|---|")
        if "mixed-200M" in ratios:
            r = ratios["mixed-200M"][0]
            md.append("| default mix, 200 MB: <= 6x the floor (stretch 4x) | %.1fx | %s |" % (
                r, "met" if r <= 6 else "not met"))
        for n in ("dense-50M", "real"):
            if n in ratios:
                r = ratios[n][0]
                md.append("| %s: <= 8x the floor | %.1fx | %s |" % (n, r, "met" if r <= 8 else "not met"))
        rss = max(v[1] for v in ratios.values())
        md.append("| peak RSS <= 64 MB at any file size | %.1f MB | %s |" % (rss, "met" if rss <= 64
                                                                              else "not met"))
        md.append("")
    md.append("Correctness, same runs: packetbeat events per protocol (`type`) against the corpus' "
              "ground truth (transactions whose last packet is in the file).")
    md.append("")
    md.append("| corpus | type | ground truth | events | |")
    md.append("|---|---|---:|---:|---|")
    all_ok = True
    differing = set()
    for c in results:
        lines, ok = correctness(c)
        all_ok = all_ok and ok
        md.extend(lines)
        ev = c["events"] or {}
        if c["truth_kind"] == "exact":
            for p in PROTOS:
                if (c["truth"] or {}).get(p, 0) != ev.get(p, 0):
                    differing.add(p)
    md.append("")
    notes = [NOTES[p] for p in PROTOS if p in differing and p in NOTES]
    if notes:
        md.append("Where the counts differ, and why:")
        md.append("")
        for n in notes:
            md.append("- " + n)
        md.append("")
    small = next((c for c in results if c["name"] == "mixed-5M"), None)
    if cg and small:
        fl = next((n for t, n in cg if t.startswith("pcap-floor")), None)
        md.append("Instructions (callgrind, all threads) on mixed-5M, %s packets:" % fmt_int(small["packets"]))
        md.append("")
        md.append("| tool | instructions | per packet | x floor |")
        md.append("|---|---:|---:|---:|")
        for t, n in cg:
            if n is None:
                md.append("| %s | (failed) | - | - |" % t)
                continue
            md.append("| %s | %s | %s | %s |" % (t, fmt_int(n), fmt_int(n / small["packets"]),
                                                 "%.1f" % (n / fl) if fl else "-"))
        md.append("")
    return "\n".join(md), all_ok


def finish(a, results, cg, info):
    out, all_ok = render(results, cg, info)
    mdpath = a.md or os.path.join(a.cache, "results.md")
    open(mdpath, "w").write(out + "\n")
    print(out)
    if not a.no_readme:
        write_readme(out)
        log("README.md: ## Performance rewritten")
    if not all_ok:
        log("event counts differ from the ground truth (see the notes in the table)")
        return 1 if a.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
