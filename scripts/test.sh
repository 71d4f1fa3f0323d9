#!/bin/sh
# scripts/test.sh - install, build (warnings are errors), and run the whole
# test suite: unit tests, the Packetbeat conformance corpus, live tests.
set -eu
cd "$(dirname "$0")/.."
PB_WERROR=ON scripts/setup.sh
cd build
ctest --output-on-failure -j2 --timeout 900
