#!/bin/sh
# scripts/fuzz.sh [SECONDS] - builds the libFuzzer targets (clang, ASan+UBSan)
# into build-fuzz/ and fuzzes each for SECONDS (default 60), starting from
# its seed corpus (tests/fuzz/corpus/<target>) and its regression inputs.
# New coverage goes to build-fuzz/corpus/<target>; a crash leaves its input
# in build-fuzz/crashes/ and fails the script: copy it into
# tests/fuzz/regressions/<target>/ once fixed.
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DPB_FUZZ=ON -DPB_SANITIZE=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_packet fuzz_proto fuzz_config \
    fuzz_lj_ack fuzz_es_bulk fuzz_redis_reply >/dev/null
mkdir -p build-fuzz/crashes
status=0
for t in fuzz_packet fuzz_proto fuzz_config fuzz_lj_ack fuzz_es_bulk fuzz_redis_reply; do
    mkdir -p "build-fuzz/corpus/$t"
    echo "== $t: ${SECS}s"
    if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "build-fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/crashes/$t-" \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
        2>"build-fuzz/$t.log"; then
        status=1
        tail -40 "build-fuzz/$t.log"
    fi
    grep -E "stat::number_of_executed_units|cov:" "build-fuzz/$t.log" | tail -2
done
exit $status
