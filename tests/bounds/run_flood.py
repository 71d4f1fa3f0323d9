#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/bounds/run_flood.py - runs packetbeat over a flood pcap
# (make_flood.py) with the default limits and checks that memory stayed
# bounded and that what was dropped at the caps was counted.
#
# Usage: run_flood.py --bin PACKETBEAT (--pcap FILE | --scale N)
#                     [--max-rss-mb 64] [--workdir DIR] [--keep]
#
# Peak RSS is the child's ru_maxrss (wait4), so nothing is missed between
# samples. Counters come from the "Total metrics" line packetbeat logs at
# exit (logging.metrics.enabled). Under AddressSanitizer the RSS bound is
# not checked (shadow memory), the counters still are.
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = """\
packetbeat.interfaces.device: any
packetbeat.flows:
  timeout: 30s
  period: 10s
packetbeat.protocols:
- type: icmp
  enabled: true
- type: cassandra
  ports: [9042]
- type: dns
  ports: [53]
- type: http
  ports: [80, 8080, 8000, 5000, 8002]
- type: memcache
  ports: [11211]
- type: mysql
  ports: [3306, 3307]
- type: pgsql
  ports: [5432]
- type: redis
  ports: [6379]
- type: thrift
  ports: [9090]
- type: mongodb
  ports: [27017]
output.file:
  path: "{out}"
  filename: packetbeat
logging.metrics.enabled: true
logging.level: info
"""


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def total_metrics(stderr_text):
    for line in stderr_text.splitlines():
        if '"Total metrics"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        return doc.get("monitoring", {}).get("metrics", {})
    return None


def get(d, path, default=0):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pcap")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--max-rss-mb", type=float, default=64.0)
    ap.add_argument("--queue-events", type=int,
                    help="queue.mem.events (default: Packetbeat's, 3200)")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()

    work = a.workdir or tempfile.mkdtemp(prefix="pb-flood-")
    os.makedirs(work, exist_ok=True)
    try:
        pcap = a.pcap
        npackets = None
        if pcap is None:
            pcap = os.path.join(work, "flood.pcap")
            t0 = time.time()
            out = subprocess.run([sys.executable, os.path.join(HERE, "make_flood.py"), pcap,
                                  "--scale", str(a.scale)], check=True, capture_output=True,
                                 text=True).stdout
            print(out.strip(), "(%.1fs)" % (time.time() - t0))
            npackets = int(out.split(":")[1].split()[0])
        cfg = os.path.join(work, "flood.yml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(out=os.path.join(work, "out")))
            if a.queue_events:
                f.write("queue.mem.events: %d\nqueue.mem.flush.min_events: %d\n"
                        % (a.queue_events, a.queue_events // 2))
        os.chmod(cfg, 0o600)
        cmd = [a.bin, "-e", "-c", cfg, "--strict.perms=false", "--path.home", work,
               "--path.data", os.path.join(work, "data"), "--path.logs",
               os.path.join(work, "logs"), "-I", pcap, "-t"]
        errpath = os.path.join(work, "stderr.log")
        t0 = time.time()
        with open(errpath, "w") as err, open(os.devnull, "w") as null:
            p = subprocess.Popen(cmd, stdout=null, stderr=err)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        secs = time.time() - t0
        with open(errpath) as f:
            text = f.read()
        rss_mb = ru.ru_maxrss / 1024.0
        print("packetbeat exit %d in %.1fs, peak RSS %.1f MB, cpu %.1fs" % (
            p.returncode, secs, rss_mb, ru.ru_utime + ru.ru_stime))
        fails = []
        if p.returncode != 0:
            fails.append("exit status %d" % p.returncode)
            print("\n".join(text.splitlines()[-20:]))
        m = total_metrics(text)
        if m is None:
            fails.append("no 'Total metrics' line in the log")
            m = {}
        pb = m.get("packetbeat", {})
        print("packetbeat metrics:", json.dumps(pb, sort_keys=True))
        if sanitized(a.bin):
            print("sanitizer build: peak RSS not checked")
        elif rss_mb >= a.max_rss_mb:
            fails.append("peak RSS %.1f MB >= %.1f MB" % (rss_mb, a.max_rss_mb))
        if npackets is not None and get(pb, "decoder.frames") != npackets:
            fails.append("decoder.frames %s != %d packets in the pcap" % (
                get(pb, "decoder.frames"), npackets))
        # every flood part must have hit a cap, and the cap must have counted it
        checks = [
            ("half-open and one-segment connections",
             get(pb, "tcp.memory_evictions") + get(pb, "tcp.connections_evicted")),
            ("fragment flood", get(pb, "decoder.fragments_evicted") +
             get(pb, "decoder.fragments_timed_out")),
            ("flow table", get(pb, "flows.dropped")),
            ("never-answered HTTP requests", get(pb, "protocols.http.dropped")),
            ("never-answered DNS queries", get(pb, "protocols.dns.dropped")),
            ("never-answered MySQL queries", get(pb, "protocols.mysql.unmatched")),
            ("huge length fields", get(pb, "tcp.parse_drops") + get(pb, "tcp.stream_overflows")
             + get(pb, "tcp.memory_drops")),
        ]
        for what, n in checks:
            if not n:
                fails.append("%s: no drop counted" % what)
        if fails:
            print("FAIL: " + "; ".join(fails))
            return 1
        print("PASS")
        return 0
    finally:
        if not a.keep and a.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
