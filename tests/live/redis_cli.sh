#!/bin/sh
# Live test: a real redis-server on 127.0.0.1, packetbeat capturing on `lo`
# with the file output.
#  1. redis-cli: strings, counters, lists, hashes, a nil, an error, MGET,
#     a 200 KB value (many segments each way);
#  2. redis-benchmark -P 16 (16 commands per write, replies batched the same
#     way) on 2 connections: every pipelined command gets its own event,
#     correlated in order (INCR / LPUSH return 1, 2, 3, ... per key).
# Events are checked field by field: method, resource, query, status,
# redis.return_value / redis.error, sizes. Needs root (capture).
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: redis-server not installed"; exit 77; }
command -v redis-benchmark >/dev/null 2>&1 || { echo "SKIP: redis-tools not installed"; exit 77; }
T=$(mktemp -d /tmp/pb-live-rediscli.XXXXXX)
export PEERS_RUN="$T/peers"
export REDIS_PORT=${REDIS_PORT:-16389}
N=1600 # requests per benchmark test (a multiple of 2 clients * 16)
PB_PID=
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/redis-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/redis-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
# loopback frames reach 65550 bytes (MTU 65536): above the 65535 default
packetbeat.interfaces.snaplen: 131072
packetbeat.protocols:
- type: redis
  ports: [$REDIS_PORT]
  send_request: true
  send_response: true
queue.mem:
  events: 4096
  flush.min_events: 64
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
  rotate_every_kb: 102400
packetbeat.shutdown_timeout: 2s
YML

R() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" >>"$T/cli.out" 2>&1; }
R SET k1 hello
R GET k1
R INCR cnt
R INCR cnt
R LPUSH l a b c
R LRANGE l 0 -1
R HSET h f v
R HGETALL h
R GET nosuch
R INCR k1
R MGET k1 nosuch
python3 -c 'import sys; sys.stdout.write("x" * 200000)' >"$T/big"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -x SET big <"$T/big" >>"$T/cli.out" 2>&1
R STRLEN big
R DEL k1 big

redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -P 16 -c 2 -n "$N" -t set,get,incr,lpush,lrange_100 \
    -q >"$T/bench.out" 2>&1 || { cat "$T/bench.out"; echo "FAIL: redis-benchmark"; exit 1; }

# 14 cli + 6 * N benchmark (+ its CONFIG GET answers)
pb_capture_wait $((14 + 6 * N)) 30
pb_capture_stop

python3 - "$(pb_events)" "$REDIS_PORT" "$N" <<'PY' || { cat "$T/cli.out" "$T/bench.out"; tail -n 20 "$T/pb.log"; exit 1; }
import collections, json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
port, n = int(sys.argv[2]), int(sys.argv[3])
rd = [e for e in events if e.get("type") == "redis"]

def fail(msg):
    sys.exit("FAIL: " + msg)

def common(e):
    assert e["event"]["dataset"] == "redis" and e["network"]["protocol"] == "redis", e
    assert e["network"]["transport"] == "tcp" and e["event"]["duration"] >= 0, e
    assert e["source"]["bytes"] > 0 and e["destination"]["bytes"] > 0, e
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
    assert e["request"] == e["query"], e

# Requests are taken by direction: every event is the client's, even where
# a reply reads like a command (Packetbeat takes requests by content).
client = [e for e in rd if e["server"]["port"] == port and e["destination"]["port"] == port]
if len(client) != len(rd):
    fail(f"{len(rd) - len(client)} redis events from the server's side")
for e in client:
    common(e)
# redis-benchmark asks CONFIG GET save / appendonly first: two-word commands
cfg = [e for e in client if e.get("method") == "CONFIG GET"]
if not cfg or any(e["resource"] not in ("save", "appendonly") for e in cfg):
    fail(f"CONFIG GET events: {[(e.get('method'), e.get('resource')) for e in cfg]}")

def one(query, method, resource, ret=None, err=None, src_bytes=None):
    got = [e for e in client if e["query"] == query]
    if len(got) != 1:
        fail(f"{len(got)} events for {query!r}")
    e = got[0]
    have = dict(method=e.get("method"), resource=e.get("resource"), status=e.get("status"),
                ret=e.get("redis", {}).get("return_value"), err=e.get("redis", {}).get("error"))
    want = dict(method=method, resource=resource, status="Error" if err else "OK", ret=ret, err=err)
    if have != want:
        fail(f"{query!r}: got {have}, want {want}")
    if e["response"] != (err if err else ret):
        fail(f"{query!r}: response {e['response'][:80]!r}")
    if src_bytes is not None and e["source"]["bytes"] != src_bytes:
        fail(f"{query!r}: source.bytes {e['source']['bytes']}, want {src_bytes}")
    return e

def resp_len(*args):  # size of the RESP array redis-cli sends
    return len(f"*{len(args)}\r\n") + sum(len(f"${len(a)}\r\n{a}\r\n") for a in args)

one("SET k1 hello", "SET", "k1", ret="OK", src_bytes=resp_len("SET", "k1", "hello"))
e = one("GET k1", "GET", "k1", ret="hello", src_bytes=resp_len("GET", "k1"))
assert e["destination"]["bytes"] == len("$5\r\nhello\r\n"), e
incr = [e for e in client if e["query"] == "INCR cnt"]
if [e["redis"].get("return_value") for e in incr] != ["1", "2"]:
    fail(f"INCR cnt: {[e['redis'] for e in incr]}")
one("LPUSH l a b c", "LPUSH", "l", ret="3")
one("LRANGE l 0 -1", "LRANGE", "l", ret="[c, b, a]")
one("HSET h f v", "HSET", "h", ret="1")
one("HGETALL h", "HGETALL", "h", ret="[f, v]")
one("GET nosuch", "GET", "nosuch", ret="nil")
one("INCR k1", "INCR", "k1", err="ERR value is not an integer or out of range")
one("MGET k1 nosuch", "MGET", "k1", ret="[hello, nil]")
big = "x" * 200000
one("SET big " + big, "SET", "big", ret="OK", src_bytes=resp_len("SET", "big", big))
one("STRLEN big", "STRLEN", "big", ret="200000")
one("DEL k1 big", "DEL", "k1", ret="2")

# redis-benchmark: exactly N events per command, paired in order
bench = collections.defaultdict(list)
for e in client:
    if e["resource"] in ("key:__rand_int__", "counter:__rand_int__", "mylist"):
        bench[e["method"]].append(e)
counts = {m: len(v) for m, v in bench.items()}
# LPUSH runs twice: its own test and the fill before LRANGE_100
if counts != {"SET": n, "GET": n, "INCR": n, "LPUSH": 2 * n, "LRANGE": n}:
    fail(f"benchmark events per command {counts}, want {n} each (LPUSH {2 * n})")
for e in bench["SET"]:
    assert e["query"] == "SET key:__rand_int__ VXK" and e["redis"]["return_value"] == "OK", e
    assert e["resource"] == "key:__rand_int__" and e["source"]["bytes"] == 45, e
for e in bench["GET"]:
    assert e["query"] == "GET key:__rand_int__" and e["redis"]["return_value"] == "VXK", e
for m, key, k, q in (("INCR", "counter:__rand_int__", n, "INCR counter:__rand_int__"),
                     ("LPUSH", "mylist", 2 * n, "LPUSH mylist VXK")):
    vals = [int(e["redis"]["return_value"]) for e in bench[m]]
    if sorted(vals) != list(range(1, k + 1)):
        fail(f"{m} return values are not 1..{k}")
    if any(e["query"] != q for e in bench[m]):
        fail(f"{m} query: {bench[m][0]['query']!r}")
    # per connection the replies come back in request order
    per = collections.defaultdict(list)
    for e, v in zip(bench[m], vals):
        assert e["resource"] == key, e
        per[e["client"]["port"]].append(v)
    for vs in per.values():
        if vs != sorted(vs):
            fail(f"{m} replies out of order on one connection")
hundred = "[" + ", ".join(["VXK"] * 100) + "]"
for e in bench["LRANGE"]:
    assert e["query"] == "LRANGE mylist 0 99" and e["redis"]["return_value"] == hundred, e
print(f"PASS: {len(client)} redis events checked")
PY
