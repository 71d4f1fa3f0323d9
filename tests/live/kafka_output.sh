#!/bin/sh
# Live test of output.kafka against librdkafka's mock cluster (3 brokers,
# tests/peers/kafka-start.sh), read back with kcat. No capture: packetbeat
# reads a generated DNS pcap with -I (no root needed).
#  1. the README's classic setup (version 0.10.2.1, topic 'downgrade',
#     round robin, acks 1, gzip) with max_retries -1: N events arrive field
#     by field equal to the file output's events;
#  2. all brokers go down mid-stream and come back: every event arrives;
#  3. injected Produce errors are retried;
#  4. with the default max_retries, batches that keep failing are dropped
#     and the drop is logged;
#  5. a `version` the broker cannot speak fails with a clear error;
#  6. `packetbeat test output`.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
command -v kcat >/dev/null 2>&1 || { echo "SKIP: kcat not installed"; exit 77; }
[ -f /usr/include/librdkafka/rdkafka_mock.h ] || { echo "SKIP: librdkafka-dev missing"; exit 77; }
T=$(mktemp -d /tmp/pb-live-kafka.XXXXXX)
export PEERS_RUN="$T/peers"
N=300
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null || true
    "$PEERS/kafka-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$T/pb.log" ] && grep -v '"dns"' "$T/pb.log" | tail -n 20; exit 1; }

export KAFKA_TOPICS="packetbeat:3 downgrade:3 restart:3 retried:3 dropped:1"
eval "$("$PEERS/kafka-start.sh")"
HOSTS=$(printf '%s' "$KAFKA_BOOTSTRAP" | sed 's/\([^,]*\)/"\1"/g')
# a control command, then its answer in the mock's log (a loaded machine
# can leave the mock unscheduled for longer than any fixed sleep)
ctl() {
    before=$(grep -c ' -> ' "$KAFKA_DIR/log" || true)
    echo "$*" >"$KAFKA_CONTROL"
    i=0
    while [ "$(grep -c ' -> ' "$KAFKA_DIR/log" || true)" -le "$before" ]; do
        i=$((i + 1))
        [ $i -le 200 ] || fail "the kafka mock did not answer: $*"
        sleep 0.05
    done
}
consume() { timeout 20 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -e -q -f '%s\n' 2>/dev/null; }
python3 "$HERE/mkpcap_dns.py" "$T/dns.pcap" "$N"

run_pb() { # run_pb CONFIG [extra args]
    cfg=$1; shift
    chmod 600 "$cfg"
    timeout 120 "$BIN" -e -c "$cfg" --path.home "$T" -I "$T/dns.pcap" "$@" >"$T/pb.log" 2>&1 ||
        fail "packetbeat exited with $?"
}
queue() {
    cat <<YML
queue.mem:
  events: 4096
  flush.min_events: 32
  flush.timeout: 0.05s
YML
}

# reference: the file output with the same protocol settings
cat >"$T/file.yml" <<YML
packetbeat.protocols:
- type: dns
  ports: [53]
output.file:
  path: $T/ref
  filename: ref
YML
run_pb "$T/file.yml" -t
cat "$T"/ref/ref*.ndjson >"$T/ref.ndjson"
[ "$(wc -l <"$T/ref.ndjson")" -eq "$N" ] || fail "file output wrote $(wc -l <"$T/ref.ndjson") events"

# 1. the README's classic setup, as written (the device is not used with -I;
#    the pcap's DNS events need the dns protocol, hosts point at the mock)
cat >"$T/classic.yml" <<YML
packetbeat.interfaces.device: any
packetbeat.protocols:
- type: http
  ports: [8080]
  send_headers: ["User-Agent", "Authorization"]
  real_ip_header: "X-Forwarded-For"
- type: dns
  ports: [53]
output.kafka:
  hosts: [$HOSTS]
  version: "0.10.2.1"
  topic: 'downgrade'
  partition.round_robin:
    reachable_only: false
  required_acks: 1
  compression: gzip
  max_message_bytes: 1000000
  max_retries: -1
YML
run_pb "$T/classic.yml" -t
consume downgrade >"$T/got1.ndjson"
python3 "$HERE/output_compare.py" exact "$T/ref.ndjson" "$T/got1.ndjson" || fail "kafka events differ"
# each message's Kafka timestamp is its event's @timestamp (a constant
# topic: read from the queued encoding, no tree made)
timeout 20 kcat -C -b "$KAFKA_BOOTSTRAP" -t downgrade -e -q -f '%T %s\n' 2>/dev/null >"$T/ts1.txt"
python3 - "$T/ts1.txt" "$N" <<'PY' || fail "kafka message timestamps differ from @timestamp"
import datetime, json, sys
n = 0
for line in open(sys.argv[1]):
    ts, _, js = line.partition(" ")
    t = json.loads(js)["@timestamp"]
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    if int(ts) != int(d.timestamp() * 1000 + 0.5):
        print("message timestamp", ts, "event", t)
        sys.exit(1)
    n += 1
sys.exit(0 if n == int(sys.argv[2]) else 1)
PY

# 2. brokers down mid-stream and up again (real-time replay, ~3 s)
{ cat <<YML; queue; } >"$T/restart.yml"
packetbeat.protocols:
- type: dns
  ports: [53]
output.kafka:
  hosts: [$HOSTS]
  topic: '%{[fields.t]:restart}'
  max_retries: -1
  timeout: 2s
  backoff.init: 0.1s
  backoff.max: 0.5s
  bulk_max_size: 16
YML
chmod 600 "$T/restart.yml"
"$BIN" -e -c "$T/restart.yml" --path.home "$T" -I "$T/dns.pcap" >"$T/pb.log" 2>&1 &
PB_PID=$!
sleep 1
ctl "down -1"
sleep 2
ctl "up -1"
wait "$PB_PID" || fail "packetbeat failed after the outage"
PB_PID=
consume restart >"$T/got2.ndjson"
python3 "$HERE/output_compare.py" all-live "$T/ref.ndjson" "$T/got2.ndjson" || fail "events lost over the outage"

# 3. injected errors are retried
ctl "err Produce NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT NOT_LEADER_FOR_PARTITION"
sed "s/restart}/retried}/" "$T/restart.yml" >"$T/retry.yml"
run_pb "$T/retry.yml" -t
consume retried >"$T/got3.ndjson"
python3 "$HERE/output_compare.py" all "$T/ref.ndjson" "$T/got3.ndjson" || fail "events lost after errors"
grep -q "Kafka publish failed with" "$T/pb.log" || fail "no injected error seen"

# 4. default max_retries: errors that last longer than the attempts drop
#    (a run takes ~40 of them, more when its batches come smaller: 2 x 60)
errs=""
i=0
while [ $i -lt 60 ]; do errs="$errs REQUEST_TIMED_OUT"; i=$((i + 1)); done
ctl "err Produce$errs"
ctl "err Produce$errs"
{ cat <<YML; queue; } >"$T/drop.yml"
packetbeat.protocols:
- type: dns
  ports: [53]
output.kafka:
  hosts: [$HOSTS]
  topic: dropped
  bulk_max_size: 100
  backoff.init: 0.01s
  backoff.max: 0.02s
YML
run_pb "$T/drop.yml" -t
grep -q "Drop batch" "$T/pb.log" || fail "no dropped batch logged"
consume dropped >"$T/got4.ndjson"
python3 "$HERE/output_compare.py" fewer "$T/ref.ndjson" "$T/got4.ndjson" || fail "drops not visible"
ctl "clear Produce"

# 5. a version the broker cannot speak: a broker answering ApiVersions with
#    Produce v0..v2 only (Kafka 0.10) while 2.1.0 is configured
python3 - "$T/fake.port" <<'PY' &
import socket, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    try:
        n = struct.unpack(">i", c.recv(4))[0]; req = c.recv(n)
        corr = struct.unpack(">i", req[4:8])[0]
        body = struct.pack(">ihi", corr, 0, 2) + struct.pack(">hhh", 0, 0, 2) + struct.pack(">hhh", 3, 0, 1)
        c.sendall(struct.pack(">i", len(body)) + body)
    except Exception:
        pass
    c.close()
PY
FAKE_PID=$!
sleep 0.5
FPORT=$(cat "$T/fake.port")
cat >"$T/badver.yml" <<YML
packetbeat.protocols:
- type: dns
  ports: [53]
output.kafka:
  hosts: ["127.0.0.1:$FPORT"]
  topic: x
YML
chmod 600 "$T/badver.yml"
timeout -s KILL 4 "$BIN" -e -c "$T/badver.yml" --path.home "$T" -I "$T/dns.pcap" -t >"$T/pb.log" 2>&1 || true
grep -q "cannot speak the configured version 2.1.0" "$T/pb.log" || fail "no clear version error"
kill "$FAKE_PID" 2>/dev/null || true
FAKE_PID=

# 6. test output
"$BIN" -c "$T/classic.yml" --path.home "$T" test output >"$T/test.out" 2>&1 || fail "test output: $(cat "$T/test.out")"
[ "$(grep -c 'dial up... OK' "$T/test.out")" -eq 3 ] || fail "test output: $(cat "$T/test.out")"
grep -q "^Kafka: 127.0.0.1:" "$T/test.out" || fail "test output: $(cat "$T/test.out")"
echo "PASS: kafka output ($N events; outage, retries, drops, version check, test output)"
