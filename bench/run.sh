#!/usr/bin/env bash
# bench/run.sh - the benchmark in one command: builds a Release packetbeat (LTO and profile
# feedback: scripts/pgo-build.sh), generates the
# corpora (deterministic, cached in bench/.cache/, git-ignored), measures packetbeat next to
# the libpcap floor, tcpdump and tshark, checks the event counts against the corpora's
# ground truth, counts callgrind instructions on the 5 MB corpus, and rewrites the
# "## Performance" section of README.md.
#
# usage: bench/run.sh [--real] [bench.py options: --only REGEX --runs N --pb-runs N
#                      --no-callgrind --no-readme --tshark-max-mb N --pb-workers LIST
#                      --live --live-rates LIST --live-loops N ...]
#   PB_BIN=path  measure that packetbeat instead of building bench/.cache/build
#   --real       record bench/.cache/real.pcap with record-real first when it is missing
#                (root, nginx, wrk, redis-server, redis-benchmark, tcpdump; not deterministic)
#   --render-only  measure nothing: rewrite the table from bench/.cache/results.json
#   --strict     exit 1 when packetbeat's event counts differ from the ground truth
#   --pb-workers 1,2  one packetbeat row per N (-E packetbeat.interfaces.workers=N), default 1,2
#   --live       also the live capture table (root, tcpreplay): live-capture-test replays
#                mixed-200M at --live-rates (default 200000) packets/s to packetbeat
#                af_packet, packetbeat pcap and tcpdump -nn; a run without --live keeps the
#                last live results of results.json
# Needs: cmake, a C compiler, libpcap-dev, python3, tcpdump, tshark, valgrind, /usr/bin/time;
# for --live also tcpreplay and iproute2.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CACHE="$HERE/.cache"
mkdir -p "$CACHE"

REAL=0
RENDER=0
ARGS=()
for a in "$@"; do
  case "$a" in
    --real) REAL=1;;
    --render-only) RENDER=1; ARGS+=("$a");;
    *) ARGS+=("$a");;
  esac
done

if [ "$RENDER" = 1 ]; then
  exec python3 "$HERE/bench.py" --cache "$CACHE" "${ARGS[@]}"
fi

if [ -z "${PB_BIN:-}" ]; then
  # the Release build with link-time optimisation and profile feedback, as
  # scripts/pgo-build.sh makes it for packaging
  if ! "$ROOT/scripts/pgo-build.sh" "$CACHE/build" >"$CACHE/build.log" 2>&1; then
    tail -40 "$CACHE/build.log" >&2
    echo "bench/run.sh: the Release build failed (log: $CACHE/build.log)" >&2
    exit 1
  fi
  PB_BIN="$CACHE/build/packetbeat"
fi

if [ "$REAL" = 1 ] && [ ! -f "$CACHE/real.pcap" ]; then
  EXTRA=()
  if id postgres >/dev/null 2>&1 && command -v initdb >/dev/null && command -v pgbench >/dev/null; then
    EXTRA+=(--pg)
  fi
  if command -v memcached >/dev/null; then EXTRA+=(--memcache); fi
  "$HERE/record-real" -o "$CACHE/real.pcap" -d 3 -s 200 "${EXTRA[@]+"${EXTRA[@]}"}"
fi

exec python3 "$HERE/bench.py" --bin "$PB_BIN" --cache "$CACHE" "${ARGS[@]+"${ARGS[@]}"}"
