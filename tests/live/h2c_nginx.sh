#!/bin/sh
# Live test (HTTP/2 extension): a real nginx serving cleartext HTTP/2
# (`listen ... http2`, prior knowledge) on 127.0.0.1; curl with
# --http2-prior-knowledge (one request per connection: Debian 12's curl
# cannot reuse one), nghttp (nghttp2-client, when installed) multiplexing
# four streams on one connection, and a gRPC-shaped call (POST
# application/grpc answered with grpc-status/grpc-message trailers by
# nginx's add_trailer). packetbeat captures on `lo` with the file output;
# the events must show method, path, status, http.version "2", streams of
# one connection, and the gRPC fields. Needs root (capture), nginx, curl.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
for c in nginx curl python3; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "SKIP: $c not installed"
        exit 77
    fi
done
if ! nginx -V 2>&1 | grep -q http_v2_module; then
    echo "SKIP: this nginx has no http_v2_module"
    exit 77
fi
if ! curl -V | grep -qi 'http2'; then
    echo "SKIP: this curl has no HTTP/2"
    exit 77
fi
T=$(mktemp -d /tmp/pb-live-h2c.XXXXXX)
chmod 755 "$T" # nginx workers run unprivileged and read the document root
PORT=${H2C_PORT:-18082}
NGINX_PID=
PB_PID=
cleanup() {
    [ -n "$PB_PID" ] && kill "$PB_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/capture.inc"

if python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
then
    echo "FAIL: port $PORT busy"
    exit 1
fi

N="$T/nginx"
mkdir -p "$N/html" "$N/tmp"
echo '<html><body>h2c test page</body></html>' >"$N/html/index.html"
head -c 100000 /dev/zero >"$N/html/big.bin"
cat >"$N/nginx.conf" <<CONF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 64; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    types { text/html html; application/octet-stream bin; }
    server {
        listen 127.0.0.1:$PORT http2;
        root $N/html;
        location = /echo { default_type application/json; return 200 '{"ok":true}\n'; }
        location = /status/404 { return 404; }
        location = /helloworld.Greeter/SayHello {
            default_type application/grpc;
            add_trailer grpc-status 12;
            add_trailer grpc-message "not%20here";
            return 200 'x';
        }
    }
}
CONF
nginx -p "$N" -c "$N/nginx.conf" -g 'daemon off;' >"$N/stdout" 2>&1 &
NGINX_PID=$!
i=0
until curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$PORT/"; do
    i=$((i + 1))
    if [ $i -gt 50 ] || ! kill -0 "$NGINX_PID" 2>/dev/null; then
        cat "$N/error.log" "$N/stdout" 2>/dev/null || true
        echo "FAIL: nginx did not start"
        exit 1
    fi
    sleep 0.1
done

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: http
  ports: [$PORT]
  send_headers: ["host", "user-agent"]
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
U="http://127.0.0.1:$PORT"
# curl, one request per connection (Debian 12's curl 7.88.1 fails to reuse
# an h2c prior-knowledge connection: "Error in the HTTP2 framing layer")
curl -s -o /dev/null --http2-prior-knowledge "$U/"
curl -s -o /dev/null --http2-prior-knowledge "$U/status/404"
curl -s -o /dev/null --http2-prior-knowledge "$U/big.bin"
curl -s -o /dev/null --http2-prior-knowledge "$U/index.html?b=2&a=1"
# a gRPC-shaped call: 5-byte message prefix + 3 bytes. nginx's `return`
# answers without reading the body and may reset the stream after its
# response, which curl then reports (exit 92): not our concern here.
printf '\000\000\000\000\003abc' >"$T/msg.bin"
curl -s -o /dev/null --http2-prior-knowledge -H 'content-type: application/grpc' \
    -H 'te: trailers' --data-binary @"$T/msg.bin" "$U/helloworld.Greeter/SayHello" || true
# several streams multiplexed on one connection (nghttp2-client)
MUX=0
if command -v nghttp >/dev/null 2>&1; then
    nghttp -n "$U/echo" "$U/status/404" "$U/big.bin" "$U/index.html?mux=1"
    MUX=1
else
    echo "note: nghttp not installed, multiplexing not checked"
fi
sleep 1.5
pb_capture_end

python3 - "$T/out" "$PORT" "$MUX" <<'PY'
import glob, json, sys
out, port, mux = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
http = [e for e in events if e.get("type") == "http"]
# (the readiness probe ran before the capture)
def find(method, path, n=1):
    got = [e for e in http if e.get("method") == method and e.get("url", {}).get("path") == path]
    if len(got) < n:
        sys.exit(f"FAIL: {len(got)} events for {method} {path}, want {n}; got "
                 f"{[(e.get('method'), e.get('url', {}).get('path')) for e in http]}")
    return got
for e in http:
    assert e["http"]["version"] == "2", e
    assert e["server"]["port"] == port and e["network"]["transport"] == "tcp", e
    assert e["@metadata"]["beat"] == "packetbeat" and e["event"]["duration"] >= 0, e
n = 2 if mux else 1
root = find("GET", "/")[-1]
assert root["http"]["response"]["status_code"] == 200 and root["status"] == "OK", root
assert root["http"]["request"]["headers"]["host"] == f"127.0.0.1:{port}", root
assert root["user_agent"]["original"].startswith("curl/"), root
nf = find("GET", "/status/404", n)
assert all(e["http"]["response"]["status_code"] == 404 and e["status"] == "Error" for e in nf), nf
big = find("GET", "/big.bin", n)
assert all(e["http"]["response"]["body"]["bytes"] == 100000 for e in big), big
q = find("GET", "/index.html")[0]
assert q["url"]["query"] == "a=1&b=2" and q["http"]["response"]["status_code"] == 200, q
if mux:
    echo = find("GET", "/echo")[0]
    assert echo["http"]["response"]["status_code"] == 200, echo
    qm = [e for e in http if e.get("url", {}).get("query") == "mux=1"]
    assert len(qm) == 1, qm
    # the four nghttp streams shared one connection (one client port)
    par = [echo, nf[-1], big[-1], qm[0]]
    assert len({e["client"]["port"] for e in par}) == 1, [(e["url"]["path"], e["client"]["port"]) for e in par]
    assert echo["user_agent"]["original"].startswith("nghttp2/"), echo
g = find("POST", "/helloworld.Greeter/SayHello")[0]
assert g["grpc"]["service"] == "helloworld.Greeter" and g["grpc"]["method"] == "SayHello", g
assert g["grpc"]["status_code"] == 12 and g["grpc"]["message"] == "not here", g
assert g["status"] == "Error" and g["http"]["response"]["status_code"] == 200, g
# curl declares content-length 8; its DATA may come after nginx's early
# response (see the curl note), so the message may not be counted
assert g["http"]["request"]["body"]["bytes"] == 8, g
assert g["grpc"]["request"]["messages"] in (0, 1), g
print(f"PASS: {len(http)} HTTP/2 events checked")
PY
