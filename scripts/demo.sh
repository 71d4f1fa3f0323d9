#!/bin/sh
# scripts/demo.sh - install, build, and run packetbeat on the bundled sample
# capture with the shipped packetbeat.yml, events printed on the console.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/packetbeat -e -c "$PWD/packetbeat.yml" --path.home build/demo \
    -I tests/sample/sample.pcap -t \
    -E output.elasticsearch.enabled=false -E output.console.enabled=true \
    -E output.console.pretty=true
