#!/bin/sh
# HTTP/2 + gRPC over a generated pcap (tests/live/mkpcap_h2.py), read with
# -I: a gRPC call and a GET multiplexed on one prior-knowledge connection
# must give two events with http.version "2" and the grpc.* fields. No
# capture, no root needed.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/pb-h2pcap.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
python3 "$HERE/mkpcap_h2.py" "$T/h2.pcap"
cat >"$T/packetbeat.yml" <<YML
packetbeat.protocols:
- type: http
  ports: [50051]
output.file:
  path: $T/out
  filename: packetbeat
YML
chmod 600 "$T/packetbeat.yml"
"$BIN" -e -c "$T/packetbeat.yml" --path.home "$T" -I "$T/h2.pcap" >"$T/pb.log" 2>&1 || {
    cat "$T/pb.log"
    echo "FAIL: packetbeat exited with an error"
    exit 1
}
python3 - "$T/out" <<'PY'
import glob, json, sys
events = []
for f in sorted(glob.glob(sys.argv[1] + "/packetbeat*")):
    events += [json.loads(l) for l in open(f)]
http = [e for e in events if e.get("type") == "http"]
assert len(http) == 2, http
get, call = http  # stream 3 was answered first
assert get["method"] == "GET" and get["url"]["path"] == "/", get
assert get["http"]["response"]["status_code"] == 200 and get["http"]["version"] == "2", get
assert get["url"]["domain"] == "grpc.pb.test", get  # :authority from the dynamic table
assert "grpc" not in get, get
assert call["method"] == "POST" and call["http"]["version"] == "2", call
assert call["grpc"] == {"service": "helloworld.Greeter", "method": "SayHello", "status_code": 0,
                        "request": {"messages": 1}, "response": {"messages": 1}}, call["grpc"]
assert call["status"] == "OK" and call["http"]["response"]["body"]["bytes"] == 18, call
assert call["http"]["request"]["body"]["bytes"] == 12, call
assert call["source"]["port"] == 40001 and call["destination"]["port"] == 50051, call
print("PASS: HTTP/2 + gRPC pcap gives 2 events")
PY
