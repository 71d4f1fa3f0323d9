#!/bin/sh
# Live test: a real memcached on 127.0.0.1 (TCP and UDP on one port),
# packetbeat capturing on `lo` with the file output; memcache_client.py
# (python3 stdlib) drives
#  1. the text protocol over TCP: storage commands, multi-get, gets, counters,
#     touch, delete, a 20 KB value (many segments), stats, version,
#     verbosity, an unknown command (parseunknown), quit;
#  2. 200 set/get pairs pipelined in one write;
#  3. the binary protocol over TCP: set/get/add/increment/delete, quiet gets
#     flushed by a NOOP, version, stat (a multi-packet answer);
#  4. the text protocol over UDP (8-byte frame header), including a reply
#     spread over 4 datagrams and a 2-datagram stats reply.
# Every event is checked field by field against what went over the wire
# (memcache.request.*, memcache.response.*, status, sizes).
# Needs root (capture).
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v memcached >/dev/null 2>&1 || { echo "SKIP: memcached not installed"; exit 77; }
T=$(mktemp -d /tmp/pb-live-memcache.XXXXXX)
export PEERS_RUN="$T/peers"
export MEMCACHED_PORT=${MEMCACHED_PORT:-21221}
PB_PID=
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/memcached-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/memcached-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
# loopback frames reach 65550 bytes (MTU 65536): above the 65535 default
packetbeat.interfaces.snaplen: 131072
packetbeat.protocols:
- type: memcache
  ports: [$MEMCACHED_PORT]
  parseunknown: true
  maxvalues: 2
queue.mem:
  events: 1024
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML

timeout 30 python3 "$HERE/memcache_client.py" "$MEMCACHED_PORT" "$T/wire.json" ||
    { echo "FAIL: memcache client"; exit 1; }

# 20 text + 400 pipelined + 12 binary + 7 udp
pb_capture_wait 439
pb_capture_stop

python3 - "$(pb_events)" "$T/wire.json" "$MEMCACHED_PORT" <<'PY' || { tail -n 20 "$T/pb.log"; exit 1; }
import collections, json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
wire = json.load(open(sys.argv[2]))
port = int(sys.argv[3])
mc = [e for e in events if e.get("type") == "memcache"]
ANY = object()

def fail(msg):
    sys.exit("FAIL: " + msg)

def same(have, want, where):
    if want is ANY:
        return
    if isinstance(want, dict):
        if not isinstance(have, dict) or set(have) != set(want):
            fail(f"{where}: keys {sorted(have) if isinstance(have, dict) else have!r}, "
                 f"want {sorted(want)}")
        for k in want:
            same(have[k], want[k], f"{where}.{k}")
    elif have != want:
        fail(f"{where}: {have!r}, want {want!r}")

# connections in the order the client opened them
groups = collections.OrderedDict()
for e in sorted(mc, key=lambda e: e["event"]["start"]):
    groups.setdefault((e["network"]["transport"], e["client"]["port"]), []).append(e)
for e in mc:
    assert e["event"]["dataset"] == "memcache" and e["network"]["protocol"] == "memcache", e
    assert e["server"]["port"] == port and e["destination"]["port"] == port, e
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
conns = list(groups.values())
if [len(c) for c in conns] != [20, 400, 12, 7]:
    fail(f"events per connection {[(k, len(v)) for k, v in groups.items()]}, want 20 400 12 7")
text, piped, binary, udp = conns
for e in text + piped + binary:
    assert e["network"]["transport"] == "tcp", e
for e in udp:
    assert e["network"]["transport"] == "udp", e

def store(cmd, key, flags, nbytes):
    return dict(command=cmd, type="Store", count_values=1, values={}, keys=[key], flags=flags,
                exptime=0, bytes=nbytes, noreply=False)

R = lambda cmd, typ, **kw: dict(command=cmd, type=typ, **kw)
ok, fl = "OK", "Error"
# name: (request, response, status, event.action)
TEXT = {
    "set k1": (store("set", "k1", 5, 5), R("STORED", "Success"), ok, "memcache.store"),
    "set k2": (store("set", "k2", 0, 2), R("STORED", "Success"), ok, "memcache.store"),
    "add k1": (store("add", "k1", 0, 1), R("NOT_STORED", "Fail"), fl, "memcache.store"),
    "get k1 k2 nosuch": (dict(command="get", type="Load", keys=["k1", "k2", "nosuch"]),
                         R("VALUE", "Load", count_values=2, values=[{}, {}], keys=["k1", "k2"],
                           flags=5, bytes=7, cas_unique=0), ok, "memcache.load"),
    "gets k1": (dict(command="gets", type="Load", keys=["k1"]),
                R("VALUE", "Load", count_values=1, values=[{}], keys=["k1"], flags=5, bytes=5,
                  cas_unique=ANY), ok, "memcache.load"),
    "append k1": (store("append", "k1", 0, 3), R("STORED", "Success"), ok, "memcache.store"),
    "incr miss": (dict(command="incr", type="Counter", keys=["n"], delta=1, noreply=False),
                  R("NOT_FOUND", "Fail"), fl, "memcache.counter"),
    "set n": (store("set", "n", 0, 1), R("STORED", "Success"), ok, "memcache.store"),
    "incr n": (dict(command="incr", type="Counter", keys=["n"], delta=3, noreply=False),
               R("<counter_op_res>", "Counter", value=10), ok, "memcache.counter"),
    "decr n": (dict(command="decr", type="Counter", keys=["n"], delta=20, noreply=False),
               R("<counter_op_res>", "Counter", value=0), ok, "memcache.counter"),
    # "TOCHED": Packetbeat's spelling of TOUCHED
    "touch k1": (dict(command="touch", type="Store", keys=["k1"], exptime=100, noreply=False),
                 R("TOCHED", "Success"), ok, "memcache.store"),
    "delete k1": (dict(command="delete", type="Delete", keys=["k1"], noreply=False),
                  R("DELETED", "Success"), ok, "memcache.delete"),
    "delete k1 again": (dict(command="delete", type="Delete", keys=["k1"], noreply=False),
                        R("NOT_FOUND", "Fail"), fl, "memcache.delete"),
    "set big": (store("set", "big", 0, 20000), R("STORED", "Success"), ok, "memcache.store"),
    "get big": (dict(command="get", type="Load", keys=["big"]),
                R("VALUE", "Load", count_values=1, values=[{}], keys=["big"], flags=0,
                  bytes=20000, cas_unique=0), ok, "memcache.load"),
    "stats": (dict(command="stats", type="Stats", raw_args=""), R("STAT", "Stats", stats=ANY),
              ok, "memcache.stats"),
    "version": (dict(command="version", type="Info"), R("VERSION", "Info"), ok, "memcache.info"),
    "verbosity": (dict(command="verbosity", type="Info", verbosity=1), R("OK", "Success"), ok,
                  "memcache.info"),
    "bogus": (dict(line="bogus command", command="UNKNOWN", type="UNKNOWN"), R("ERROR", "Fail"),
              fl, "memcache.unknown"),
    "quit": (dict(command="quit", type="Info", noreply=False), None, ok, "memcache.info"),
}

def B(cmd, typ, opcode, code, opaque, **kw):
    return dict(command=cmd, type=typ, opcode=opcode, opcode_value=code, opaque=opaque, **kw)

def breq(cmd, typ, opcode, code, opaque, key=None, quiet=False, **kw):
    d = B(cmd, typ, opcode, code, opaque, quiet=quiet, vbucket=0, **kw)
    if key is not None:
        d["keys"] = [key]
    return d

def bresp(cmd, typ, opcode, code, opaque, status="Success", scode=0, **kw):
    return B(cmd, typ, opcode, code, opaque, status=status, status_code=scode, **kw)

BIN = {
    "set bk": (breq("set", "Store", "Set", 1, 1, "bk", count_values=1, values=[{}], bytes=6,
                    flags=7, exptime=0),
               bresp("set", "Store", "Set", 1, 1, cas_unique=ANY), ok),
    "get bk": (breq("get", "Load", "Get", 0, 2, "bk"),
               bresp("get", "Load", "Get", 0, 2, cas_unique=ANY, count_values=1, values=[{}],
                     bytes=6, flags=7), ok),
    "get miss": (breq("get", "Load", "Get", 0, 3, "nosuch"),
                 bresp("get", "Load", "Get", 0, 3, "Key not found", 1, count_values=1,
                       values=[{}], bytes=9, flags=0), fl),
    "add bk": (breq("add", "Store", "Add", 2, 4, "bk", count_values=1, values=[{}], bytes=1,
                    flags=0, exptime=0),
               bresp("add", "Store", "Add", 2, 4, "Key exists", 2, count_values=1, values=[{}],
                     bytes=20), fl),
    "incr bc": (breq("incr", "Counter", "Increment", 5, 5, "bc", delta=5, initial=10, exptime=0),
                bresp("incr", "Counter", "Increment", 5, 5, cas_unique=ANY, value=10), ok),
    "incr bc again": (breq("incr", "Counter", "Increment", 5, 6, "bc", delta=5, initial=10,
                           exptime=0),
                      bresp("incr", "Counter", "Increment", 5, 6, cas_unique=ANY, value=15), ok),
    "getq hit": (breq("get", "Load", "GetQ", 9, 7, "bk", quiet=True),
                 bresp("get", "Load", "GetQ", 9, 7, cas_unique=ANY, count_values=1, values=[{}],
                       bytes=6, flags=7), ok),
    "getq miss": (breq("get", "Load", "GetQ", 9, 8, "nosuch", quiet=True), None, ok),
    "noop": (breq("noop", "Info", "No-op", 10, 9), bresp("noop", "Info", "No-op", 10, 9), ok),
    "version": (breq("version", "Info", "Version", 11, 10),
                bresp("version", "Info", "Version", 11, 10, version=ANY), ok),
    "stat": (breq("stats", "Stats", "Stat", 16, 11),
             bresp("stats", "Stats", "Stat", 16, 11, keys=["pid"], stats=ANY), ok),
    "delete bk": (breq("delete", "Delete", "Delete", 4, 12, "bk"),
                  bresp("delete", "Delete", "Delete", 4, 12), ok),
}

def check(e, w, req, resp, status, proto, action=None, resp_bytes=None):
    where = f"{proto}/{w['transport']} {w['name']!r}"
    m = e["memcache"]
    same(m.get("protocol_type"), proto, where + " protocol_type")
    same(m.get("request"), req, where + " request")
    same(m.get("response"), resp, where + " response")
    same(e["status"], status, where + " status")
    if action is not None:
        same(e["event"].get("action"), action, where + " event.action")
    # Packetbeat's memcache puts the response size in source.bytes and the
    # request size in destination.bytes
    same(e["destination"].get("bytes"), w["req"], where + " destination.bytes (request)")
    rb = resp_bytes if resp_bytes is not None else w["resp"]
    same(e["source"].get("bytes"), rb, where + " source.bytes (response)")

wt = [w for w in wire if w["proto"] == "text" and w["transport"] == "tcp" and "count" not in w]
for e, w in zip(text, wt):
    req, resp, status, action = TEXT[w["name"]]
    check(e, w, req, resp, status, "text", action)
stats = text[[w["name"] for w in wt].index("stats")]["memcache"]["response"]["stats"]
if stats[0]["name"] != "pid" or not any(s["name"] == "curr_connections" for s in stats):
    fail(f"text stats {stats[:3]}")

for i in range(200):
    s, g = piped[2 * i], piped[2 * i + 1]
    same(s["memcache"]["request"]["keys"], [f"p{i}"], f"pipelined set {i}")
    same(s["memcache"]["response"], R("STORED", "Success"), f"pipelined set {i}")
    same(g["memcache"]["request"], dict(command="get", type="Load", keys=[f"p{i}"]),
         f"pipelined get {i}")
    same(g["memcache"]["response"]["keys"], [f"p{i}"], f"pipelined get {i} response")
    vlen = len(f"VALUE p{i} 0 3\r\nv00\r\nEND\r\n")
    same((s["destination"]["bytes"], s["source"]["bytes"]), (len(f"set p{i} 0 0 3\r\nv00\r\n"), 8),
         f"pipelined set {i} sizes")
    same((g["destination"]["bytes"], g["source"]["bytes"]), (len(f"get p{i}\r\n"), vlen),
         f"pipelined get {i} sizes")

wb = [w for w in wire if w["proto"] == "binary"]
for e, w in zip(binary, wb):
    req, resp, status = BIN[w["name"]]
    check(e, w, req, resp, status, "binary")
stat = binary[-2]["memcache"]["response"]["stats"]
if len(stat) < 20 or stat[0]["name"] != "pid":
    fail(f"binary stats {stat[:3]}")
if binary[[w["name"] for w in wb].index("version")]["memcache"]["response"]["version"] == "":
    fail("binary version empty")

# UDP: Packetbeat parses the first message of a reply, so the END line of a
# get and all but the first STAT line are not part of the response
UDP = {
    "set u1": (store("set", "u1", 3, 5), R("STORED", "Success"), ok, None),
    "set ubig": (store("set", "ubig", 0, 5000), R("STORED", "Success"), ok, None),
    "get ubig": (dict(command="get", type="Load", keys=["ubig"]),
                 R("VALUE", "Load", count_values=1, values=[{}], keys=["ubig"], flags=0,
                   bytes=5000, cas_unique=0), ok, -len("END\r\n")),
    "get u1": (dict(command="get", type="Load", keys=["u1"]),
               R("VALUE", "Load", count_values=1, values=[{}], keys=["u1"], flags=3, bytes=5,
                 cas_unique=0), ok, -len("END\r\n")),
    "incr miss": (dict(command="incr", type="Counter", keys=["nosuch"], delta=1, noreply=False),
                  R("NOT_FOUND", "Fail"), fl, None),
    "stats": (dict(command="stats", type="Stats", raw_args=""), R("STAT", "Stats", stats=ANY), ok,
              "first"),
    "delete u1": (dict(command="delete", type="Delete", keys=["u1"], noreply=False),
                  R("DELETED", "Success"), ok, None),
}
wu = [w for w in wire if w["transport"] == "udp"]
if [w["datagrams"] for w in wu if w["name"] in ("get ubig", "stats")] != [4, 2]:
    fail(f"memcached did not split the replies: {[(w['name'], w['datagrams']) for w in wu]}")
for e, w in zip(udp, wu):
    req, resp, status, adj = UDP[w["name"]]
    rb = None
    if adj == "first":
        rb = len(w["reply"].split("\r\n")[0]) + 2
    elif adj is not None:
        rb = w["resp"] + adj
    check(e, w, req, resp, status, "text", resp_bytes=rb)
print(f"PASS: {len(mc)} memcache events checked")
PY
