#!/bin/sh
# tests/bounds/flood.sh PACKETBEAT - the flood test (issue 8): an adversarial
# pcap (tests/bounds/make_flood.py: half-open connections, never-answered
# requests, endless chunked bodies, fragment floods, huge length fields)
# read with the default limits must keep peak RSS bounded and count
# what it dropped (FLOOD_MAX_RSS_MB overrides the first bound). FLOOD_SCALE (default 1) sizes the pcap; the report of
# issue 8 has the numbers of a "millions" run (FLOOD_SCALE=10).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 PACKETBEAT" >&2; exit 2; }
# The memory queue keeps each event as its compact JSON encoding (~1-1.5 KB,
# not a ~10 KB jansson tree), so Packetbeat's default 3200 events fit in the
# issue's 64 MB as well; the second run checks a small queue (512) too.
python3 "$here/run_flood.py" --bin "$1" --scale "${FLOOD_SCALE:-1}" \
    --max-rss-mb "${FLOOD_MAX_RSS_MB:-64}"
exec python3 "$here/run_flood.py" --bin "$1" --scale "${FLOOD_SCALE:-1}" \
    --queue-events 512 --max-rss-mb 64
