#!/bin/sh
# Live test: a SIPp UAS on 127.0.0.1 (UDP), a SIPp UAC placing 5 calls
# (INVITE/100/180/200/ACK/BYE/200 each), packetbeat capturing on `lo` with
# the file output; every SIP message must be its own event with the
# request/response fields Packetbeat publishes. Needs root and sip-tester.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
if ! command -v sipp >/dev/null 2>&1; then
    echo "SKIP: sipp (Debian package sip-tester) is not installed"
    exit 77
fi
T=$(mktemp -d /tmp/pb-live-sip.XXXXXX)
export PEERS_RUN="$T/peers"
PORT=${SIP_PORT:-15060}
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/sip-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$(SIP_PORT=$PORT "$PEERS/sip-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: sip
  ports: [$PORT, $((PORT + 1))]
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
(cd "$T" && eval "$SIP_UAC_CMD" > "$T/uac.log" 2>&1) || {
    cat "$T/uac.log"
    echo "FAIL: the SIPp client failed"
    exit 1
}
sleep 1.5
pb_capture_end

python3 - "$T/out" "$PORT" <<'PY'
import glob, json, sys
out, port = sys.argv[1], int(sys.argv[2])
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
sip = [e for e in events if e.get("type") == "sip"]
def count(pred):
    return sum(1 for e in sip if pred(e["sip"]))
invites = count(lambda s: s.get("method") == "INVITE")
acks = count(lambda s: s.get("method") == "ACK")
byes = count(lambda s: s.get("method") == "BYE")
ok200 = count(lambda s: s.get("code") == 200)
ringing = count(lambda s: s.get("code") == 180)
if not (invites == 5 and acks == 5 and byes == 5 and ok200 == 10 and ringing == 5):
    sys.exit(f"FAIL: INVITE {invites} ACK {acks} BYE {byes} 200 {ok200} 180 {ringing} "
             f"({len(sip)} sip events)")
for e in sip:
    s = e["sip"]
    assert e["network"]["transport"] == "udp" and e["network"]["protocol"] == "sip", e
    assert e["event"]["dataset"] == "sip" and e["event"]["kind"] == "event", e
    assert e["event"]["type"] == ["info", "protocol"], e
    assert s["call_id"] and s["cseq"]["code"] >= 1 and s["version"] == "2.0", e
    assert e["event"]["original"].startswith(("SIP/2.0", s.get("method", "?"))), e
    assert e["event"]["action"] == "sip-" + s["cseq"]["method"].lower(), e
    if s["type"] == "request":
        assert s["uri"]["host"] == "127.0.0.1" and s["uri"]["port"] == port, e
    else:
        assert e["source"]["port"] == port, e
        if s["code"] == 200:
            assert e["event"]["outcome"] == "success" and e["status"] == "OK", e
    if s.get("method") == "INVITE":
        assert s["sdp"]["version"] == "0" and s["content_type"] == "application/sdp", e
print(f"PASS: {len(sip)} sip events checked")
PY
