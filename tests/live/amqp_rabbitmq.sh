#!/bin/sh
# Live test: a real RabbitMQ on 127.0.0.1 (tests/peers/rabbitmq-start.sh),
# the amqp-tools clients declaring a queue, publishing a message with a
# header and consuming it, plus a channel error (re-declaring a durable
# queue as non-durable: 406 PRECONDITION_FAILED, published when the 10 s
# close-ok wait runs out); packetbeat captures on
# `lo` with the file output and the events must show each method with its
# amqp.* fields, the message bodies and the error. Needs root (capture),
# rabbitmq-server and amqp-tools.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
for c in amqp-declare-queue amqp-publish amqp-consume; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "SKIP: $c not installed (apt-get install amqp-tools)"
        exit 77
    fi
done
if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    echo "SKIP: rabbitmq-server not installed"
    exit 77
fi
T=$(mktemp -d /tmp/pb-live-amqp.XXXXXX)
export PEERS_RUN="$T/peers"
PORT=${RABBITMQ_PORT:-25673}
export RABBITMQ_PORT="$PORT"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/rabbitmq-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/rabbitmq-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.protocols:
- type: amqp
  ports: [$PORT]
  send_request: true
  send_response: true
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
BODY="hello from packetbeat's live test"
amqp-declare-queue -u "$AMQP_URL" -q pbq >/dev/null
amqp-publish -u "$AMQP_URL" -r pbq -C text/plain -H "x-test: 1" -b "$BODY"
timeout 20 amqp-consume -u "$AMQP_URL" -q pbq -c 1 cat > "$T/consumed.txt"
amqp-declare-queue -u "$AMQP_URL" -q pbdur -d >/dev/null
# the same queue, not durable: the broker closes the channel with 406
amqp-declare-queue -u "$AMQP_URL" -q pbdur >/dev/null 2>&1 && {
    echo "FAIL: re-declaring a durable queue as transient succeeded"
    exit 1
}
# amqp-declare-queue hangs up without a close-ok: the close error is
# published when Packetbeat's 10 s close-ok wait runs out
sleep 11.5
pb_capture_end
if [ "$(cat "$T/consumed.txt")" != "$BODY" ]; then
    echo "FAIL: the consumer got '$(cat "$T/consumed.txt")'"
    exit 1
fi

python3 - "$T/out" "$PORT" "$BODY" <<'PY'
import glob, json, sys
out, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3]
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
amqp = [e for e in events if e.get("type") == "amqp"]
def find(method, pred=lambda e: True):
    for e in amqp:
        if e.get("method") == method and pred(e):
            return e
    sys.exit(f"FAIL: no {method} event; got {[(e.get('method'), e.get('status')) for e in amqp]}")
for e in amqp:
    # requests the broker sends (a channel.close) have it as the source
    assert port in (e["source"]["port"], e["destination"]["port"]), e
    assert e["network"]["transport"] == "tcp", e
    assert e["event"]["action"] == "amqp." + e["method"], e
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
decl = find("queue.declare", lambda e: e["amqp"]["queue"] == "pbq")
assert decl["status"] == "OK" and decl["response"] == "OK", decl
assert decl["request"] == "queue.declare pbq", decl
assert decl["amqp"]["durable"] is False and decl["amqp"]["no-wait"] is False, decl
assert decl["amqp"]["message-count"] == 0, decl
assert decl["event"]["duration"] >= 0, decl
pub = find("basic.publish")
assert pub["status"] == "OK" and pub["request"] == body, pub
assert pub["amqp"]["routing-key"] == "pbq" and pub["amqp"]["content-type"] == "text/plain", pub
assert pub["amqp"]["headers"]["x-test"] == "1", pub
assert pub["source"]["bytes"] == len(body), pub
cons = find("basic.consume")
assert cons["status"] == "OK" and cons["amqp"]["queue"] == "pbq", cons
assert cons["amqp"]["consumer-tag"] != "", cons
dlv = find("basic.deliver")
assert dlv["status"] == "OK" and dlv["response"] == body, dlv
assert dlv["amqp"]["routing-key"] == "pbq" and dlv["amqp"]["delivery-tag"] == 1, dlv
assert dlv["amqp"]["redelivered"] is False, dlv
assert dlv["destination"]["bytes"] == len(body), dlv
ack = find("basic.ack")
assert ack["amqp"]["delivery-tag"] == 1, ack
err = find("channel.close")
assert err["status"] == "Error" and err["amqp"]["reply-code"] == 406, err
assert "PRECONDITION_FAILED" in err["amqp"]["reply-text"], err
assert err["source"]["port"] == port, err  # the broker closed the channel
assert err["source"]["bytes"] == len(err["amqp"]["reply-text"].encode()) + 19, err
assert err["error"]["message"] == "Close-ok method not received by sender", err
# normal closes (reply code 200) stay hidden by default
for e in amqp:
    if e["method"] != "channel.close":
        assert e["destination"]["port"] == port, e
    if e["method"] in ("channel.close", "connection.close"):
        assert e["amqp"]["reply-code"] >= 300, e
print(f"PASS: {len(amqp)} amqp events checked")
PY
