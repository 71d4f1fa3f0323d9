#!/bin/sh
# Least privilege: with packetbeat.run_as.user, packetbeat opens the capture
# as root, then runs as that user (checked in /proc/<pid>/status) and still
# captures: an HTTP request on 127.0.0.1 made after the switch is an event.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root to give it up"
    exit 77
fi
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
T=$(mktemp -d /tmp/pb-runas.XXXXXX)
chmod 755 "$T"
mkdir "$T/out" && chown nobody "$T/out"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    [ -n "${HS_PID:-}" ] && kill "$HS_PID" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
echo hello > "$T/index.html"
(cd "$T" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
HS_PID=$!
cat > "$T/packetbeat.yml" <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: http
  ports: [$PORT]
packetbeat.run_as.user: nobody
queue.mem:
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
logging.metrics.enabled: false
YML
chmod 600 "$T/packetbeat.yml"
"$BIN" -e -c "$T/packetbeat.yml" --path.home "$T" > "$T/pb.log" 2>&1 &
PB_PID=$!
i=0
while ! grep -q "packetbeat start running" "$T/pb.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$PB_PID" 2>/dev/null; then
        cat "$T/pb.log"
        echo "FAIL: packetbeat did not start"
        exit 1
    fi
    sleep 0.1
done
uid=$(awk '/^Uid:/ {print $2 ":" $3 ":" $4}' "/proc/$PB_PID/status")
want=$(id -u nobody)
[ "$uid" = "$want:$want:$want" ] || { echo "FAIL: running with uids $uid, want $want"; exit 1; }
sleep 0.5
curl -s -o /dev/null "http://127.0.0.1:$PORT/index.html"
sleep 1.5
kill -TERM "$PB_PID"
wait "$PB_PID" || true
PB_PID=
grep -q '"path":"/index.html"' "$T"/out/packetbeat* 2>/dev/null || {
    tail -5 "$T/pb.log"
    echo "FAIL: no event for the request made after the switch"
    exit 1
}
echo "PASS: captured as uid $want"
