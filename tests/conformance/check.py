#!/usr/bin/env python3
"""Runs the whole conformance corpus (run.py, never --no-log-checks) and holds
the result against known_failures.txt: a case failing that is not listed
fails the test (a regression), and so does a listed case that now passes (the
list must stay true). Prints the summary line run.py printed."""
import argparse
import re
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--known", default=str(here / "known_failures.txt"))
ap.add_argument("-j", default="2")
args, rest = ap.parse_known_args()

known = set()
for line in Path(args.known).read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        known.add(line)

proc = subprocess.run([sys.executable, str(here / "run.py"), "--bin", args.bin, "-j", args.j]
                      + rest, capture_output=True, text=True)
out = proc.stdout
passed, failed = set(), {}
for line in out.splitlines():
    m = re.match(r"^PASS (\S+)", line)
    if m:
        passed.add(m.group(1))
    m = re.match(r"^FAIL ([^:\s]+):?\s*(.*)", line)
    if m:
        failed[m.group(1)] = m.group(2)
summary = out.strip().splitlines()[-1] if out.strip() else "(no output)"
print(summary)
if proc.returncode == 2 or not (passed or failed):
    print(proc.stderr, file=sys.stderr)
    sys.exit(2)

regressions = sorted(set(failed) - known)
fixed = sorted(known & passed)
for cid in regressions:
    print(f"UNEXPECTED FAIL {cid}: {failed[cid]}")
for cid in fixed:
    print(f"UNEXPECTED PASS {cid} (remove it from known_failures.txt)")
print(f"{len(passed)} passed, {len(failed)} failed, {len(known & set(failed))} known failures")
sys.exit(1 if regressions or fixed else 0)
