#!/bin/sh
# Live test: output.logstash against the real Lumberjack v2 peer
# (tests/peers/lumberjack-server.c, what Logstash's beats input speaks).
# No capture: packetbeat reads a pcap (-I, -t), so it runs as any user.
#   1. `test output` prints libbeat's steps and fails on a closed port;
#   2. max_retries -1: the N events arrive equal, field by field, to what
#      the file output writes for the same pcap (agent.ephemeral_id aside:
#      it is new for every run);
#   3. the peer is killed mid-stream and restarted keeping what it got:
#      afterwards every event is there (duplicates allowed, none missing);
#   4. default max_retries and a peer that drops every window: each batch
#      is dropped after its attempts, and the drops are logged;
#   5. queue.disk with the peer down: packetbeat is killed with the events
#      on disk; restarted with the peer up it delivers all of them.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
for c in cc python3 ss; do
    command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c missing"; exit 77; }
done
T=$(mktemp -d /tmp/pb-live-ls.XXXXXX)
export PEERS_RUN="$T/peers"
export LOGSTASH_PORT=${LOGSTASH_PORT:-15044}
PB_PID=
cleanup() {
    [ -n "$PB_PID" ] && kill -9 "$PB_PID" 2>/dev/null || true
    "$PEERS/logstash-stop.sh" >/dev/null 2>&1 || true
    [ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*"
    for f in "$T"/pb*.log; do
        [ -f "$f" ] && { echo "--- $f"; grep -v '"log.level":"debug"' "$f" | tail -n 15; }
    done
    exit 1
}

N=400
# N DNS transactions, each with its own name (q<i>.pb.test) and id
python3 - "$T/dns.pcap" "$N" "$T/empty.pcap" <<'PY'
import struct, sys
path, n, empty = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(src, dst, sport, dport, payload):
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + udp
def name(i):
    return b''.join(bytes([len(p)]) + p for p in (b'q%d' % i, b'pb', b'test')) + b'\0'
hdr = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
with open(empty, 'wb') as f:
    f.write(hdr)
with open(path, 'wb') as f:
    f.write(hdr)
    cli, srv = [10, 0, 0, 1], [10, 0, 0, 53]
    for i in range(n):
        q = struct.pack('!HHHHHH', i, 0x0100, 1, 0, 0, 0) + name(i) + struct.pack('!HH', 1, 1)
        r = struct.pack('!HHHHHH', i, 0x8180, 1, 1, 0, 0) + name(i) + struct.pack('!HH', 1, 1)
        r += struct.pack('!HHHIH', 0xc00c, 1, 1, 300, 4) + bytes([192, 0, 2, i % 250 + 1])
        t = 1700000000 + i // 100
        us = (i % 100) * 10000
        for pkt, dt in ((frame(cli, srv, 40000 + i % 20000, 53, q), 0), (frame(srv, cli, 53, 40000 + i % 20000, r), 500)):
            f.write(struct.pack('<IIII', t, us + dt, len(pkt), len(pkt)) + pkt)
PY

write_cfg() { # write_cfg FILE OUTPUT-YAML [QUEUE-YAML]
    cat >"$1" <<YML
packetbeat.protocols:
- type: dns
  ports: [53]
${3:-queue.mem:
  events: 4096
  flush.min_events: 64
  flush.timeout: 0.05s}
$2
YML
    chmod 600 "$1"
}
run_pb() { # run_pb CFG LOG PCAP  (foreground, bounded)
    timeout 120 "$BIN" -e -d logstash,publisher -c "$1" --path.home "$T" -I "$3" -t >"$2" 2>&1
}
received() { [ -f "$LOGSTASH_EVENTS" ] && wc -l <"$LOGSTASH_EVENTS" || echo 0; }
# check_all EVENTS N: every q<i>.pb.test name, i < N, is there
check_all() {
    python3 - "$1" "$2" <<'PY' || fail "events missing"
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
names = set()
for line in open(path):
    names.add(json.loads(line)["dns"]["question"]["name"])
missing = [i for i in range(n) if "q%d.pb.test" % i not in names]
if missing:
    sys.exit("missing %d event(s), e.g. %s" % (len(missing), missing[:5]))
PY
}

eval "$("$PEERS/logstash-start.sh")"
HOST="$LOGSTASH_HOST"

# ---- 1. test output ---------------------------------------------------------
write_cfg "$T/t.yml" "output.logstash:
  hosts: [\"$HOST\"]"
"$BIN" test output -c "$T/t.yml" --path.home "$T" >"$T/test.out" 2>&1 || fail "test output: $(cat "$T/test.out")"
python3 - "$T/test.out" "$HOST" <<'PY' || fail "test output report"
import sys
out, host = open(sys.argv[1]).read(), sys.argv[2]
want = ("logstash: %s...\n  connection...\n    parse host... OK\n    dns lookup... OK\n"
        "    addresses: 127.0.0.1\n    dial up... OK\n  TLS... WARN secure connection disabled\n"
        "  talk to server... OK\n" % host)
if out != want:
    sys.exit("got:\n" + out + "want:\n" + want)
PY
write_cfg "$T/t2.yml" "output.logstash:
  hosts: [\"127.0.0.1:1\"]"
if "$BIN" test output -c "$T/t2.yml" --path.home "$T" >"$T/test2.out" 2>&1; then
    fail "test output succeeded on a closed port"
fi
grep -q "dial up... ERROR dial tcp 127.0.0.1:1: connect: connection refused" "$T/test2.out" ||
    fail "test output on a closed port: $(cat "$T/test2.out")"
echo "ok 1 test output"

# ---- 2. equal to the file output ---------------------------------------------
write_cfg "$T/file.yml" "output.file:
  path: $T/fileout
  filename: pb"
run_pb "$T/file.yml" "$T/pb-file.log" "$T/dns.pcap" || fail "file run"
write_cfg "$T/ls.yml" "output.logstash:
  hosts: [\"$HOST\"]
  max_retries: -1
  bulk_max_size: 50
  backoff.init: 0.1s
  backoff.max: 0.5s"
run_pb "$T/ls.yml" "$T/pb-ls.log" "$T/dns.pcap" || fail "logstash run"
python3 - "$T/fileout" "$LOGSTASH_EVENTS" "$N" <<'PY' || fail "logstash events differ from file events"
import glob, json, sys
def load(paths):
    evs = {}
    for p in paths:
        for line in open(p):
            e = json.loads(line)
            e["agent"].pop("ephemeral_id", None)
            evs[e["dns"]["question"]["name"]] = e
    return evs
f = load(sorted(glob.glob(sys.argv[1] + "/pb*.ndjson")))
l = load([sys.argv[2]])
n = int(sys.argv[3])
assert len(f) == n, "file output has %d events" % len(f)
assert sum(1 for _ in open(sys.argv[2])) == n, "logstash got duplicates or too few"
assert f.keys() == l.keys(), "different events"
for k in f:
    if f[k] != l[k]:
        sys.exit("event %s differs:\n%s\n%s" % (k, json.dumps(f[k], sort_keys=True), json.dumps(l[k], sort_keys=True)))
m = next(iter(l.values()))["@metadata"]
assert m["beat"] == "packetbeat" and m["type"] == "_doc" and m["version"] == "8.17.2", m
PY
grep -q "compressed=1" "$LOGSTASH_LOG" || fail "windows were not compressed"
echo "ok 2 $N events equal to the file output"

# ---- 3. peer killed mid-stream -----------------------------------------------
"$PEERS/logstash-stop.sh" >/dev/null 2>&1
export LOGSTASH_ARGS="-d 40"
eval "$("$PEERS/logstash-start.sh")"
write_cfg "$T/ls3.yml" "output.logstash:
  hosts: [\"$HOST\"]
  max_retries: -1
  bulk_max_size: 20
  backoff.init: 0.1s
  backoff.max: 0.5s"
"$BIN" -e -c "$T/ls3.yml" --path.home "$T" -I "$T/dns.pcap" -t >"$T/pb-kill.log" 2>&1 &
PB_PID=$!
i=0
while [ "$(received)" -lt 60 ]; do
    i=$((i + 1))
    [ $i -gt 200 ] && fail "no events reached the peer"
    sleep 0.05
done
"$PEERS/logstash-stop.sh" >/dev/null 2>&1
got_before=$(received)
sleep 1.5
unset LOGSTASH_ARGS
LOGSTASH_KEEP_EVENTS=1 "$PEERS/logstash-start.sh" >"$T/peer.env"
. "$T/peer.env"
i=0
while kill -0 "$PB_PID" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 600 ] && fail "packetbeat did not finish after the peer came back"
    sleep 0.1
done
wait "$PB_PID" || fail "packetbeat exited non-zero"
PB_PID=
[ "$got_before" -lt "$N" ] || fail "the peer was killed too late ($got_before events)"
check_all "$LOGSTASH_EVENTS" "$N"
grep -q "Failed to connect to" "$T/pb-kill.log" || fail "no reconnect attempts logged"
echo "ok 3 peer killed after $got_before events; all $N arrived ($(received) with duplicates)"

# ---- 4. default max_retries: dropped and counted -------------------------------
"$PEERS/logstash-stop.sh" >/dev/null 2>&1
export LOGSTASH_ARGS="-X 1"
eval "$("$PEERS/logstash-start.sh")"
unset LOGSTASH_ARGS
write_cfg "$T/ls4.yml" "output.logstash:
  hosts: [\"$HOST\"]
  bulk_max_size: 50
  backoff.init: 0.02s
  backoff.max: 0.1s"
run_pb "$T/ls4.yml" "$T/pb-drop.log" "$T/dns.pcap" || fail "drop run"
drops=$(grep -c '"message":"Drop batch"' "$T/pb-drop.log" || true)
fails=$(grep -c 'Failed to publish events caused by' "$T/pb-drop.log" || true)
[ "$drops" -eq $((N / 50)) ] || fail "expected $((N / 50)) dropped batches, got $drops"
[ "$fails" -ge $((4 * N / 50)) ] || fail "expected 4 failed attempts per batch, got $fails"
[ "$(received)" -eq 0 ] || fail "the peer kept events it never acked"
echo "ok 4 $drops batches dropped after 4 attempts each ($fails failures logged)"

# ---- 5. queue.disk across a restart while the peer is down --------------------
"$PEERS/logstash-stop.sh" >/dev/null 2>&1
DQ="queue.disk:
  path: $T/dq
  max_size: 20MB
  segment_size: 1MB"
write_cfg "$T/ls5.yml" "output.logstash:
  hosts: [\"$HOST\"]
  max_retries: -1
  bulk_max_size: 50
  backoff.init: 0.1s
  backoff.max: 0.3s" "$DQ"
"$BIN" -e -c "$T/ls5.yml" --path.home "$T" -I "$T/dns.pcap" -t >"$T/pb-dq1.log" 2>&1 &
PB_PID=$!
i=0
while ! grep -q "Failed to connect to" "$T/pb-dq1.log"; do
    i=$((i + 1))
    [ $i -gt 200 ] && fail "packetbeat never tried the peer"
    sleep 0.05
done
sleep 1
kill -9 "$PB_PID"
wait "$PB_PID" 2>/dev/null || true
PB_PID=
ls "$T"/dq/*.seg >/dev/null 2>&1 || fail "no segment files in the disk queue"
eval "$("$PEERS/logstash-start.sh")"
# the second run reads a pcap without events: all it sends comes from disk
run_pb "$T/ls5.yml" "$T/pb-dq2.log" "$T/empty.pcap" || fail "disk queue second run"
grep -q "event(s) from an earlier run" "$T/pb-dq2.log" || fail "disk queue not reopened"
check_all "$LOGSTASH_EVENTS" "$N"
[ "$(received)" -eq "$N" ] || fail "expected exactly $N events from the disk queue, got $(received)"
if ls "$T"/dq/*.seg >/dev/null 2>&1; then fail "acked segments were not deleted"; fi
echo "ok 5 disk queue kept $N events across a restart"

# ---- 6. TLS with verification against the peer's CA ----------------------------
if command -v openssl >/dev/null 2>&1; then
    "$PEERS/logstash-stop.sh" >/dev/null 2>&1
    eval "$(LOGSTASH_TLS=1 "$PEERS/logstash-start.sh")"
    write_cfg "$T/ls6.yml" "output.logstash:
  hosts: [\"localhost:$LOGSTASH_PORT\"]
  max_retries: -1
  ssl.certificate_authorities: [\"$LOGSTASH_CA\"]
  ssl.verification_mode: full"
    "$BIN" test output -c "$T/ls6.yml" --path.home "$T" >"$T/test6.out" 2>&1 ||
        fail "TLS test output: $(cat "$T/test6.out")"
    grep -q "    handshake... OK" "$T/test6.out" || fail "TLS test output: $(cat "$T/test6.out")"
    run_pb "$T/ls6.yml" "$T/pb-tls.log" "$T/dns.pcap" || fail "TLS run"
    check_all "$LOGSTASH_EVENTS" "$N"
    grep -q " open tls" "$LOGSTASH_LOG" || fail "the peer saw no TLS connection"
    write_cfg "$T/ls7.yml" "output.logstash:
  hosts: [\"localhost:$LOGSTASH_PORT\"]
  ssl.enabled: true"
    if "$BIN" test output -c "$T/ls7.yml" --path.home "$T" >"$T/test7.out" 2>&1; then
        fail "TLS without the CA verified"
    fi
    grep -q "handshake... ERROR x509: certificate signed by unknown authority" "$T/test7.out" ||
        fail "TLS without the CA: $(cat "$T/test7.out")"
    echo "ok 6 TLS: $N events, verification against the CA"
fi
echo "PASS: logstash output"
