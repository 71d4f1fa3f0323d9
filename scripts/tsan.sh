#!/bin/sh
# scripts/tsan.sh - builds packetbeat with ThreadSanitizer into build-tsan/
# and runs its threads under it: the packet workers against the
# single-threaded run on every conformance pcap (tests/workers/check.py,
# 3 workers), then a generated transaction-dense corpus (many flows and
# connections: the workers' shared counters and id logs) with 1, 2 and 3
# workers, which must publish as many events. The capture, worker, pipeline and output threads all run in
# each. Any ThreadSanitizer report fails the script (its reports go to
# files, which are printed).
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DPB_TSAN=ON -DPB_TESTS=OFF \
    -DCMAKE_C_FLAGS=-O1 >/dev/null
cmake --build build-tsan -j"$(nproc)" --target packetbeat >/dev/null
BIN=build-tsan/packetbeat

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# halt at the first report; exitcode tells it from packetbeat's own errors
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 log_path=$T/tsan"

status=0
echo "== workers 1 and 3 on the conformance pcaps, under ThreadSanitizer"
python3 tests/workers/check.py --bin "$BIN" --workers 3 || status=1

python3 bench/make-corpus -s 2M --seed 3 \
    --mix dns=30,redis=30,memcache=20,pgsql=10,mysql=10 -o "$T/dense.pcap" >/dev/null
first=""
for w in 1 2 3; do
    rc=0
    "$BIN" -I "$T/dense.pcap" -t -c packetbeat.yml --strict.perms=false \
        -E output.elasticsearch.enabled=false -E output.file.path="$T/out$w" \
        -E output.file.filename=pb -E output.file.rotate_every_kb=1048576 \
        -E path.data="$T/data$w" -E path.logs="$T/logs$w" \
        -E packetbeat.interfaces.workers=$w >/dev/null 2>&1 || rc=$?
    n=$(cat "$T/out$w"/pb* 2>/dev/null | wc -l)
    echo "== dense 2 MB corpus, workers=$w: exit $rc, $n events"
    first=${first:-$n}
    if [ "$rc" -ne 0 ] || [ "$n" -eq 0 ] || [ "$n" -ne "$first" ]; then
        status=1
    fi
done

if ls "$T"/tsan.* >/dev/null 2>&1; then
    echo "ThreadSanitizer reports:"
    cat "$T"/tsan.*
    status=1
fi
exit $status
