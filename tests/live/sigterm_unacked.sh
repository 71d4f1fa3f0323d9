#!/bin/sh
# -I waits for every event to be acknowledged before it exits; an output
# that never accepts (logstash on a closed port, max_retries: -1) must not
# make that wait deaf to SIGTERM: packetbeat stops within
# packetbeat.shutdown_timeout and says what it dropped. No root needed.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/pb-sigterm.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
cat > "$T/c.yml" <<YML
packetbeat.protocols:
- type: http
  ports: [80]
output.logstash:
  hosts: ["127.0.0.1:9"]
  max_retries: -1
packetbeat.shutdown_timeout: 1s
logging.metrics.enabled: false
YML
chmod 600 "$T/c.yml"
"$BIN" -e -c "$T/c.yml" --path.home "$T" \
    -I "$HERE/../conformance/pcaps/http_post.pcap" -t > "$T/pb.log" 2>&1 &
PID=$!
sleep 2
if ! kill -0 "$PID" 2>/dev/null; then
    cat "$T/pb.log"
    echo "FAIL: packetbeat exited before the signal (nothing to wait for?)"
    exit 1
fi
kill -TERM "$PID"
i=0
while kill -0 "$PID" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 50 ]; then
        kill -KILL "$PID" 2>/dev/null || true
        echo "FAIL: packetbeat still waiting 5 s after SIGTERM"
        exit 1
    fi
    sleep 0.1
done
rc=0
wait "$PID" || rc=$?
grep -q "not acknowledged by the output were dropped" "$T/pb.log" || {
    tail -5 "$T/pb.log"
    echo "FAIL: no drop reported"
    exit 1
}
[ "$rc" -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
echo "PASS: stopped after SIGTERM, unacknowledged events reported"
