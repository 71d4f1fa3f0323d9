#!/bin/sh
# Live test of output.redis against a real redis-server on 127.0.0.1 (no
# capture: packetbeat reads a generated DNS pcap with -I, so no root needed).
#  1. max_retries -1: N events arrive in the list field by field equal to the
#     file output's events (and on a channel with datatype: channel);
#  2. Redis stops mid-stream and comes back (REDIS_PERSIST=1): every event
#     arrives (duplicates allowed);
#  3. an injected error (the key holds a string: WRONGTYPE) is retried until
#     it is cleared;
#  4. with the default max_retries the batches are dropped after their
#     attempts and the drop is logged;
#  5. `packetbeat test output`.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: redis-server not installed"; exit 77; }
T=$(mktemp -d /tmp/pb-live-redis.XXXXXX)
export PEERS_RUN="$T/peers"
export REDIS_PORT=${REDIS_PORT:-16391}
export REDIS_PERSIST=1
N=300
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/redis-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$T/pb.log" ] && tail -n 20 "$T/pb.log"; exit 1; }

eval "$("$PEERS/redis-start.sh")"
R() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
python3 "$HERE/mkpcap_dns.py" "$T/dns.pcap" "$N"

common() {
    cat <<YML
packetbeat.protocols:
- type: dns
  ports: [53]
queue.mem:
  events: 4096
  flush.min_events: 32
  flush.timeout: 0.05s
YML
}
run_pb() { # run_pb CONFIG [extra args]
    cfg=$1; shift
    chmod 600 "$cfg"
    timeout 120 "$BIN" -e -c "$cfg" --path.home "$T" -I "$T/dns.pcap" "$@" >"$T/pb.log" 2>&1 ||
        fail "packetbeat exited with $?"
}

# reference: the file output
{ common; printf 'output.file:\n  path: %s/ref\n  filename: ref\n' "$T"; } >"$T/file.yml"
run_pb "$T/file.yml" -t
cat "$T"/ref/ref*.ndjson >"$T/ref.ndjson"
[ "$(wc -l <"$T/ref.ndjson")" -eq "$N" ] || fail "file output wrote $(wc -l <"$T/ref.ndjson") events, want $N"

# 1. list, max_retries -1
{ common; cat <<YML; } >"$T/redis.yml"
output.redis:
  hosts: ["127.0.0.1:$REDIS_PORT"]
  key: "pb-%{[type]}"
  db: 3
  max_retries: -1
  backoff.init: 0.1s
  backoff.max: 0.5s
YML
run_pb "$T/redis.yml" -t
R -n 3 LRANGE pb-dns 0 -1 >"$T/got1.ndjson"
python3 "$HERE/output_compare.py" exact "$T/ref.ndjson" "$T/got1.ndjson" || fail "list events differ"

# 1b. channel
{ common; cat <<YML; } >"$T/chan.yml"
output.redis:
  hosts: ["redis://127.0.0.1:$REDIS_PORT"]
  datatype: channel
  key: pbchan
  max_retries: -1
YML
python3 - "$REDIS_PORT" "$N" >"$T/sub.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$6\r\npbchan\r\n")
s.settimeout(0.5)
data, end = b"", time.time() + 20
while time.time() < end and data.count(b'"type":"dns"') < int(sys.argv[2]):
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    data += chunk
print(data.count(b'"type":"dns"'))
PY
SUB=$!
sleep 0.5
run_pb "$T/chan.yml" -t
wait "$SUB" || true
[ "$(cat "$T/sub.out")" = "$N" ] || fail "channel got $(cat "$T/sub.out") events, want $N"

# 2. Redis goes away mid-stream and comes back (pcap replayed in real time: ~3 s)
R FLUSHALL >/dev/null
{ common; cat <<YML; } >"$T/restart.yml"
output.redis:
  hosts: ["127.0.0.1:$REDIS_PORT"]
  key: restart
  timeout: 1s
  max_retries: -1
  bulk_max_size: 16
  backoff.init: 0.1s
  backoff.max: 0.5s
YML
chmod 600 "$T/restart.yml"
"$BIN" -e -c "$T/restart.yml" --path.home "$T" -I "$T/dns.pcap" >"$T/pb.log" 2>&1 &
PB_PID=$!
sleep 1
"$PEERS/redis-stop.sh" >/dev/null 2>&1
sleep 1.5
eval "$("$PEERS/redis-start.sh")"
wait "$PB_PID" || fail "packetbeat failed after the restart"
PB_PID=
R LRANGE restart 0 -1 >"$T/got2.ndjson"
python3 "$HERE/output_compare.py" all-live "$T/ref.ndjson" "$T/got2.ndjson" || fail "events lost over the restart"
grep -q "Failed to connect to backoff(redis" "$T/pb.log" || fail "the outage was not noticed"

# 3. injected errors (WRONGTYPE) are retried until cleared
R FLUSHALL >/dev/null
R SET retried x >/dev/null
sed 's/key: restart/key: retried/' "$T/restart.yml" >"$T/retry.yml"
chmod 600 "$T/retry.yml"
"$BIN" -e -c "$T/retry.yml" --path.home "$T" -I "$T/dns.pcap" -t >"$T/pb.log" 2>&1 &
PB_PID=$!
sleep 1.5
R DEL retried >/dev/null
wait "$PB_PID" || fail "packetbeat failed (retry)"
PB_PID=
grep -q "WRONGTYPE" "$T/pb.log" || fail "the injected error was not seen"
R LRANGE retried 0 -1 >"$T/got3.ndjson"
python3 "$HERE/output_compare.py" all "$T/ref.ndjson" "$T/got3.ndjson" || fail "events lost after errors"

# 4. default max_retries (3): the batches are dropped after their attempts
R SET dropped x >/dev/null
{ common; cat <<YML; } >"$T/drop.yml"
output.redis:
  hosts: ["127.0.0.1:$REDIS_PORT"]
  key: dropped
  backoff.init: 0.01s
  backoff.max: 0.02s
YML
run_pb "$T/drop.yml" -t
drops=$(grep -c "Drop batch" "$T/pb.log" || true)
errs=$(grep -c "WRONGTYPE" "$T/pb.log" || true)
[ "$drops" -ge 1 ] || fail "no dropped batch logged"
[ "$errs" -eq $((drops * 4)) ] || fail "$errs failed attempts for $drops dropped batches (want 4 each)"
[ "$(R TYPE dropped)" = "string" ] || fail "key changed"

# 5. test output
"$BIN" -c "$T/redis.yml" --path.home "$T" test output >"$T/test.out" 2>&1 || fail "test output failed: $(cat "$T/test.out")"
grep -q "talk to server... OK" "$T/test.out" || fail "test output: $(cat "$T/test.out")"
"$PEERS/redis-stop.sh" >/dev/null 2>&1
if "$BIN" -c "$T/redis.yml" --path.home "$T" test output >"$T/test2.out" 2>&1; then
    fail "test output succeeded with Redis down"
fi
grep -q "dial up... ERROR" "$T/test2.out" || fail "test output (down): $(cat "$T/test2.out")"
echo "PASS: redis output ($N events; restart, retries, drops, test output)"
