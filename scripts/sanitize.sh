#!/bin/sh
# scripts/sanitize.sh - builds with ASan + UBSan (leak checking on) into
# build-asan/ and runs every test but the live ones there: the unit tests,
# the fuzz corpora replays and the whole conformance corpus. Any sanitizer
# report fails a test (UBSan aborts, ASan exits non-zero).
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPB_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
cd build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j2 --timeout 900 -E '^live_'
