#!/bin/sh
# scripts/sanitize.sh - builds with ASan + UBSan (leak checking on) into
# build-asan/ and runs every test there but the package install (it would
# package the sanitizer build): the unit tests, the fuzz corpora replays,
# the whole conformance corpus and the live tests with their real peers
# (outputs, live capture, signals). Any sanitizer report fails the run: the
# reports go to files (a test that only looks at events would not see
# them), which are printed.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPB_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
status=0
(cd build-asan &&
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$R/asan" \
    UBSAN_OPTIONS="print_stacktrace=1:log_path=$R/ubsan" \
    ctest --output-on-failure -j2 --timeout 900 -E '^live_deb_install$') || status=1
if ls "$R"/*san.* >/dev/null 2>&1; then
    echo "sanitizer reports:"
    cat "$R"/*san.*
    status=1
fi
exit $status
