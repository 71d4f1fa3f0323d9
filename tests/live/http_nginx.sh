#!/bin/sh
# Live test: a real nginx on 127.0.0.1, curl requests, packetbeat capturing
# on `lo` with the file output; the events must show each request with its
# method, path, status code and sizes. Needs root (capture) and nginx.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
T=$(mktemp -d /tmp/pb-live-http.XXXXXX)
# nginx workers run unprivileged and must reach the document root
chmod 755 "$T"
export PEERS_RUN="$T/peers"
PORT=${NGINX_PORT:-18080}
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/nginx-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/nginx-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: http
  ports: [$PORT]
  send_headers: ["host"]
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
curl -s -o /dev/null "$NGINX_URL/"
curl -s -o /dev/null "$NGINX_URL/status/404"
curl -s -o /dev/null -X POST -d 'a=1&b=2' "$NGINX_URL/echo"
curl -s -o /dev/null "$NGINX_URL/big.bin"
sleep 1.5
pb_capture_end

python3 - "$T/out" "$PORT" <<'PY'
import glob, json, sys
out, port = sys.argv[1], int(sys.argv[2])
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
http = [e for e in events if e.get("type") == "http"]
def find(method, path):
    for e in http:
        if e.get("method") == method and e.get("url", {}).get("path") == path:
            return e
    sys.exit(f"FAIL: no event for {method} {path}; got {[(e.get('method'), e.get('url', {}).get('path')) for e in http]}")
ok = find("GET", "/")
assert ok["http"]["response"]["status_code"] == 200, ok
assert ok["status"] == "OK" and ok["server"]["port"] == port, ok
assert ok["http"]["request"]["headers"]["host"] == f"127.0.0.1:{port}", ok
nf = find("GET", "/status/404")
assert nf["http"]["response"]["status_code"] == 404 and nf["status"] == "Error", nf
post = find("POST", "/echo")
assert post["http"]["request"]["body"]["bytes"] == 7, post
big = find("GET", "/big.bin")
assert big["http"]["response"]["body"]["bytes"] == 1048576, big
for e in http:
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
    assert e["event"]["duration"] >= 0 and e["network"]["transport"] == "tcp", e
print(f"PASS: {len(http)} http events checked")
PY
