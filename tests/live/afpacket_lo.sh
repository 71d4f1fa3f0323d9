#!/bin/sh
# Live test: packetbeat.interfaces.type af_packet (packet/afpacket.c) on `lo`
# against a real redis-server, next to the pcap sniffer on the same traffic.
# Four packetbeats capture at once:
#   pcap      type pcap (the reference);
#   afp       type af_packet, Packetbeat's default ring (buffer_size_mb 30);
#   fan1/2    type af_packet, both in fanout_group G: the kernel splits the
#             connections between them (hash mode, both directions alike).
# Traffic: redis-cli commands and redis-benchmark on 4 connections.
# Checks: afp's redis events equal pcap's (method, query, return value,
# status, ports, bytes, event.start/end: the kernel's timestamps); fan1 +
# fan2 together equal them too and each got some; the af_packet counters
# in the "Total metrics" line and the sniffer's exit line (captured, no
# drops); fanout_group with type pcap is refused. Needs root.
# Env: AFP_EXTRA (yaml lines added to afp's config), KEEP=1 (keep the files).
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
TOP=$(mktemp -d /tmp/pb-live-afpacket.XXXXXX)
export PEERS_RUN="$TOP/peers"
export REDIS_PORT=${REDIS_PORT:-16393}
N=2000 # requests per benchmark test
GROUP=$((7000 + $$ % 1000))
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || :; done
    "$PEERS/redis-stop.sh" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$TOP"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/redis-start.sh")"

# start NAME TYPE [extra yaml]: one packetbeat in $TOP/NAME
start() {
    T="$TOP/$1"
    mkdir -p "$T"
    pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.interfaces.type: $2
${3:-}
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
    PIDS="$PIDS $PB_PID"
    eval "PID_$1=$PB_PID"
}

# fanout_group is for af_packet only (Packetbeat's config check)
mkdir -p "$TOP/bad"
cat >"$TOP/bad/packetbeat.yml" <<YML
packetbeat.interfaces.device: lo
packetbeat.interfaces.type: pcap
packetbeat.interfaces.fanout_group: 1
packetbeat.protocols.redis.ports: [$REDIS_PORT]
output.console.enabled: true
YML
chmod 600 "$TOP/bad/packetbeat.yml"
if "$BIN" -e -c "$TOP/bad/packetbeat.yml" --path.home "$TOP/bad" >"$TOP/bad/log" 2>&1; then
    echo "FAIL: fanout_group with type pcap was accepted"
    exit 1
fi
grep -q "fanout_group is only valid with af_packet type" "$TOP/bad/log" ||
    { cat "$TOP/bad/log"; echo "FAIL: no fanout_group error"; exit 1; }

start pcap pcap
start afp af_packet "${AFP_EXTRA:-}"
start fan1 af_packet "packetbeat.interfaces.fanout_group: $GROUP"
start fan2 af_packet "packetbeat.interfaces.fanout_group: $GROUP"
for n in fan1 fan2; do
    grep -q "Joined af_packet fanout group $GROUP" "$TOP/$n/pb.log" ||
        { cat "$TOP/$n/pb.log"; echo "FAIL: $n did not join the fanout group"; exit 1; }
done
grep -q "Sniffer type: af_packet device: lo" "$TOP/afp/pb.log" ||
    { cat "$TOP/afp/pb.log"; echo "FAIL: afp is not an af_packet sniffer"; exit 1; }

R() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" >>"$TOP/cli.out" 2>&1; }
for i in 1 2 3 4 5 6 7 8; do
    R SET "key$i" "value$i"
    R GET "key$i"
done
R INCR cnt
R LPUSH l a b c
R LRANGE l 0 -1
R GET nosuch
R INCR key1
python3 -c 'import sys; sys.stdout.write("y" * 30000)' >"$TOP/mid"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -x SET mid <"$TOP/mid" >>"$TOP/cli.out" 2>&1
R STRLEN mid
redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 4 -n "$N" -t set,get,incr,lpush \
    -q >"$TOP/bench.out" 2>&1 || { cat "$TOP/bench.out"; echo "FAIL: redis-benchmark"; exit 1; }

WANT=$((23 + 4 * N))
T="$TOP/pcap"
pb_capture_wait $WANT 30
T="$TOP/afp"
pb_capture_wait $WANT 10
sleep 1
for n in pcap afp fan1 fan2; do
    T="$TOP/$n"
    eval "PB_PID=\$PID_$n"
    pb_capture_end
    pb_events >/dev/null
done
PIDS=""

python3 - "$TOP" "$REDIS_PORT" "$N" <<'PY' || { for n in afp fan1; do tail -n 5 "$TOP/$n/pb.log"; done; exit 1; }
import collections, datetime, json, os, re, sys
top, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def fail(msg):
    sys.exit("FAIL: " + msg)

def events(name):
    path = os.path.join(top, name, "events.ndjson")
    return [json.loads(l) for l in open(path) if l.strip()]

def key(e):
    return (e["client"]["port"], e["server"]["port"], e.get("method"), e.get("query"),
            e.get("resource"), e.get("status"), e.get("redis", {}).get("return_value"),
            e.get("redis", {}).get("error"), e["source"]["bytes"], e["destination"]["bytes"],
            e["network"]["transport"])

def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

def redis(name):
    evs = [e for e in events(name) if e.get("type") == "redis" and e["server"]["port"] == port]
    starts = collections.defaultdict(list)
    for e in evs:
        starts[key(e)].append(ts(e["event"]["start"]))
    return collections.Counter(key(e) for e in evs), len(evs), starts

def total_metrics(name):
    for line in open(os.path.join(top, name, "pb.log")):
        if '"Total metrics"' in line:
            return json.loads(line)["monitoring"]["metrics"]
    fail(f"{name}: no Total metrics line")

def kdrops(name):
    p = total_metrics(name)["packetbeat"]
    if "af_packet" in p:
        return p["af_packet"].get("socket_drops", 0)
    return p.get("pcap", {}).get("dropped", 0)

# Equal, unless the kernel dropped frames: TPACKET_V3 (libpcap's too) can
# drop a frame now and then when a block is handed over while another CPU
# delivers one; each such frame may cost a transaction or two.
def same(a, b, names):
    allowed = 2 * sum(kdrops(n) for n in names)
    diff = sum(((a - b) + (b - a)).values())
    if diff > allowed:
        only_a, only_b = a - b, b - a
        fail(f"{names}: {diff} events differ (kernel drops allow {allowed}); "
             f"only in the first {list(only_a.items())[:3]}, only in the other "
             f"{list(only_b.items())[:3]}")
    return diff

ref, nref, ref_starts = redis("pcap")
if nref < 23 + 4 * n - 10:
    fail(f"pcap: {nref} redis events, want about {23 + 4 * n}")
afp, nafp, afp_starts = redis("afp")
d_afp = same(ref, afp, ["pcap", "afp"])
# the same transactions at the same times (each sniffer reads the clock)
for k, v in afp_starts.items():
    w = ref_starts.get(k, [])
    if len(w) == len(v) and any(abs(x - y) > 0.5 for x, y in zip(sorted(v), sorted(w))):
        fail(f"event.start differs between af_packet and pcap for {k}")
f1, n1, _ = redis("fan1")
f2, n2, _ = redis("fan2")
if n1 == 0 or n2 == 0:
    fail(f"fanout: one member got nothing ({n1}, {n2})")
d_fan = same(ref, f1 + f2, ["pcap", "fan1", "fan2"])
mid = [e for e in events("afp") if e.get("query", "").startswith("SET mid ")]
if len(mid) != 1 or mid[0]["source"]["bytes"] < 30000:
    fail(f"SET of 30000 bytes: {[(e['query'][:20], e['source']['bytes']) for e in mid]}")

m = total_metrics("afp")["packetbeat"]
ap = m.get("af_packet", {})
if ap.get("device") != "lo" or ap.get("socket_packets", 0) < 8 * n or \
        ap.get("socket_drops", 0) > ap["socket_packets"] // 1000:
    fail(f"af_packet metrics {ap}")
if ap.get("packets") != m["decoder"]["frames"]:
    fail(f"af_packet packets {ap.get('packets')} != decoder frames {m['decoder']['frames']}")
pm = total_metrics("pcap")["packetbeat"]
if "af_packet" in pm or pm.get("pcap", {}).get("device") != "lo":
    fail(f"pcap metrics {pm.get('pcap')}")
# the packets each saw: af_packet leaves out lo's outgoing copies as pcap does
if abs(ap["packets"] - pm["decoder"]["frames"]) > 10 + kdrops("afp") + kdrops("pcap"):
    fail(f"af_packet read {ap['packets']} frames, pcap {pm['decoder']['frames']}")
line = [l for l in open(os.path.join(top, "afp", "pb.log")) if "packets captured" in l]
if not line or not re.search(r"af_packet on lo: \d+ packets captured, \d+ received by filter, "
                             r"\d+ dropped by kernel", line[0]):
    fail(f"sniffer exit line: {line}")
print(f"PASS: {nafp} redis events with af_packet, {nref} with pcap ({d_afp} differ); "
      f"fanout {n1} + {n2} ({d_fan} differ); kernel drops: "
      f"{[kdrops(x) for x in ('pcap', 'afp', 'fan1', 'fan2')]}")
PY
