#!/usr/bin/env python3
"""tests/build/pgo_check.py --bin BIN [--src DIR]: builds packetbeat with
profile feedback (scripts/pgo-build.sh, into a temporary directory) and
checks that it publishes byte for byte the events of BIN, the plain build,
on every conformance pcap, the sample pcap and a generated corpus (seed 3;
the shipped packetbeat.yml,
file output; agent ids and the wall-clock time of flows still open at the
end set aside). Exit 0 when all match."""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

IDS = re.compile(rb'"ephemeral_id":"[0-9a-f-]+","id":"[0-9a-f-]+"')
# flows still open at the end of a file are reported at the wall-clock time
FLOW_NOW = re.compile(rb'^\{"@timestamp":"[^"]*"(?=.*"type":"flow")')


def events(binary, pcap, src, work):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([binary, "-I", pcap, "-t", "-c", os.path.join(src, "packetbeat.yml"),
                    "--strict.perms=false", "-E", "output.elasticsearch.enabled=false",
                    "-E", "output.file.path=" + out, "-E", "output.file.filename=ev",
                    "-E", "output.file.rotate_every_kb=4194304",
                    "-E", "path.data=" + os.path.join(work, "data"),
                    "-E", "path.logs=" + os.path.join(work, "logs")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    lines = []
    for f in sorted(glob.glob(os.path.join(out, "ev*"))):
        with open(f, "rb") as fh:
            for line in fh:
                line = IDS.sub(b'"ephemeral_id":"-","id":"-"', line)
                lines.append(FLOW_NOW.sub(b'{"@timestamp":"now"', line))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the plain build's packetbeat")
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgo-check.") as work:
        build = os.path.join(work, "build")
        r = subprocess.run([os.path.join(a.src, "scripts", "pgo-build.sh"), build], cwd=a.src)
        if r.returncode != 0:
            print("pgo_check: scripts/pgo-build.sh failed (%d)" % r.returncode)
            return 1
        pgo = os.path.join(build, "packetbeat")
        pcaps = sorted(glob.glob(os.path.join(a.src, "tests/conformance/pcaps/**/*"),
                                 recursive=True))
        pcaps = [p for p in pcaps if os.path.isfile(p)]
        pcaps.append(os.path.join(a.src, "tests/sample/sample.pcap"))
        # and a corpus of every protocol the generator makes, unlike the
        # training's (seed 3)
        corpus = os.path.join(work, "corpus.pcap")
        subprocess.run([sys.executable, os.path.join(a.src, "bench", "make-corpus"), "-s", "2M",
                        "--seed", "3", "-o", corpus], check=True, stdout=subprocess.DEVNULL)
        pcaps.append(corpus)
        bad = 0
        total = 0
        for p in pcaps:
            want = events(a.bin, p, a.src, work)
            got = events(pgo, p, a.src, work)
            total += len(want)
            if want != got:
                bad += 1
                print("DIFFER %s: %d events plain, %d with profile feedback"
                      % (os.path.basename(p), len(want), len(got)))
        print("pgo_check: %d pcaps, %d events, %d differ" % (len(pcaps), total, bad))
        if total == 0:
            print("pgo_check: no events at all")
            return 1
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
