#!/bin/sh
# scripts/test.sh - install, build (warnings are errors), and run the whole
# test suite: unit tests, the Packetbeat conformance corpus, fuzz corpus
# replays and live tests; then all but the live tests again under
# ASan + UBSan, the threaded paths under ThreadSanitizer, and a short
# libFuzzer run of every fuzz target.
set -eu
cd "$(dirname "$0")/.."
PB_WERROR=ON scripts/setup.sh
(cd build && ctest --output-on-failure -j2 --timeout 900)
scripts/sanitize.sh
scripts/tsan.sh
scripts/fuzz.sh "${PB_FUZZ_SECONDS:-20}"
