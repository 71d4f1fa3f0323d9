#!/bin/sh
# Live test: nginx's HTTPS port on 127.0.0.1, curl handshakes with TLS 1.2
# and TLS 1.3 (SNI "localhost", the test CA), packetbeat capturing on `lo`
# with the file output; one tls event per connection must show the SNI, the
# negotiated version, an established handshake and (TLS 1.2) the server
# certificate. Needs root (capture), nginx and curl.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
for c in nginx curl openssl; do
    if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$c" ]; then
        echo "SKIP: $c not installed"
        exit 77
    fi
done
T=$(mktemp -d /tmp/pb-live-tls.XXXXXX)
chmod 755 "$T"
export PEERS_RUN="$T/peers"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/nginx-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/nginx-start.sh")"
TPORT=$NGINX_TLS_PORT

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: tls
  ports: [$TPORT]
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
URL="https://localhost:$TPORT/"
RES="localhost:$TPORT:127.0.0.1"
curl -sS -o /dev/null --cacert "$NGINX_CA" --resolve "$RES" --tlsv1.2 --tls-max 1.2 "$URL"
curl -sS -o /dev/null --cacert "$NGINX_CA" --resolve "$RES" --tlsv1.3 "$URL"
sleep 1.5
pb_capture_end

python3 - "$T/out" "$TPORT" <<'PY'
import glob, json, sys
out, port = sys.argv[1], int(sys.argv[2])
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
tls = [e for e in events if e.get("type") == "tls"]
if len(tls) != 2:
    sys.exit(f"FAIL: want 2 tls events, got {len(tls)}: {tls}")
by_version = {e["tls"]["version"]: e for e in tls}
if set(by_version) != {"1.2", "1.3"}:
    sys.exit(f"FAIL: versions {sorted(by_version)}")
for v, e in by_version.items():
    t = e["tls"]
    assert e["status"] == "OK", e
    assert t["established"] is True and t["version_protocol"] == "tls", e
    assert t["client"]["server_name"] == "localhost", e
    assert e["destination"]["domain"] == "localhost" and e["server"]["port"] == port, e
    assert t["detailed"]["version"] == "TLS " + v, e
    assert len(t["client"]["ja3"]) == 32 and t["cipher"].startswith("TLS_"), e
    assert e["event"]["duration"] >= 0 and e["network"]["protocol"] == "tls", e
    assert "localhost" in t["detailed"]["client_hello"]["extensions"]["server_name_indication"], e
t12 = by_version["1.2"]["tls"]
# TLS 1.2 sends the certificate in the clear
assert "localhost" in t12["server"]["x509"].get("alternative_names", []), t12
assert len(t12["server"]["hash"]["sha1"]) == 40, t12
t13 = by_version["1.3"]["tls"]
assert t13["detailed"]["server_hello"]["extensions"]["supported_versions"] == "TLS 1.3", t13
print(f"PASS: {len(tls)} tls events checked")
PY
