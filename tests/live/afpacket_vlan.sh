#!/bin/sh
# Live test: VLAN tags with packetbeat.interfaces.type af_packet. The kernel
# takes the 802.1Q tag off a frame before a packet socket sees it (it is in
# tp_vlan_tci); packet/afpacket.c puts it back as libpcap does, so flows and
# events keep vlan.id. Two private namespaces joined by a veth pair
# (tests/peers/netns-start.sh), VLAN 100 on top of it; UDP datagrams across, two
# packetbeats (af_packet, pcap) on the parent veth report flows: both must
# show the UDP flow with vlan 100, same packets. Needs root.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
TOP=$(mktemp -d /tmp/pb-live-afpvlan.XXXXXX)
export PEERS_RUN="$TOP/peers"
export NETNS_PREFIX="pbv$$"
export NETNS_NET=10.231.77
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || :; done
    "$PEERS/netns-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$TOP"
}
trap cleanup EXIT INT TERM
eval "$("$PEERS/netns-start.sh")"

start() {
    T="$TOP/$1"
    mkdir -p "$T"
    cat >"$T/packetbeat.yml" <<YML
packetbeat.interfaces.device: $IF_B
packetbeat.interfaces.type: $1
packetbeat.flows:
  timeout: 30s
  period: 1s
packetbeat.protocols: []
queue.mem:
  events: 4096
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
    chmod 600 "$T/packetbeat.yml"
    ip netns exec "$NETNS_B" "$BIN" -e -c "$T/packetbeat.yml" --path.home "$T" >"$T/pb.log" 2>&1 &
    PIDS="$PIDS $!"
}
start af_packet
start pcap
i=0
until grep -q "packetbeat start running" "$TOP/af_packet/pb.log" "$TOP/pcap/pb.log" 2>/dev/null &&
    [ "$(grep -l "packetbeat start running" "$TOP"/*/pb.log | wc -l)" -eq 2 ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { cat "$TOP"/*/pb.log; echo "FAIL: packetbeat did not start"; exit 1; }
    sleep 0.1
done
sleep 0.5
# five UDP datagrams tagged VLAN 100, written raw on A's end of the veth
# (no 8021q module needed): B's kernel takes the tag off on receive
ip netns exec "$NETNS_A" python3 - "$IF_A" <<'PY' || { echo "FAIL: cannot send tagged frames"; exit 1; }
import socket, struct, sys
dev = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
src = bytes.fromhex(open(f"/sys/class/net/{dev}/address").read().strip().replace(":", ""))
for i in range(5):
    payload = b"vlan test %d" % i
    udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     socket.inet_aton("10.231.78.1"), socket.inet_aton("10.231.78.2"))
    c = sum(struct.unpack("!10H", ip))
    c = (c & 0xffff) + (c >> 16)
    c = (c & 0xffff) + (c >> 16)
    ip = ip[:10] + struct.pack("!H", ~c & 0xffff) + ip[12:]
    eth = b"\xff" * 6 + src + struct.pack("!HHH", 0x8100, 100, 0x0800)
    s.send(eth + ip + udp)
PY
sleep 2.5
for p in $PIDS; do kill -TERM "$p"; wait "$p" || :; done
PIDS=""

python3 - "$TOP" <<'PY' || { tail -n 5 "$TOP/af_packet/pb.log"; exit 1; }
import json, os, sys
top = sys.argv[1]

def flows(name):
    out = os.path.join(top, name, "out")
    evs = []
    for f in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        evs += [json.loads(l) for l in open(os.path.join(out, f)) if l.strip()]
    got = {}
    for e in evs:
        if e.get("type") != "flow" or e.get("network", {}).get("transport") != "udp":
            continue
        if e.get("source", {}).get("ip") != "10.231.78.1":
            continue
        got = e  # the last report counts every packet
    return got

a, p = flows("af_packet"), flows("pcap")
for name, e in (("af_packet", a), ("pcap", p)):
    if not e:
        sys.exit(f"FAIL: {name}: no UDP flow over the VLAN")
    if e.get("flow", {}).get("vlan") != 100 and e.get("network", {}).get("vlan", {}).get("id") != "100":
        sys.exit(f"FAIL: {name}: flow without vlan 100: {e.get('flow')} {e.get('network')}")
if a["source"]["packets"] != p["source"]["packets"] or a["source"]["bytes"] != p["source"]["bytes"]:
    sys.exit(f"FAIL: af_packet {a['source']} vs pcap {p['source']}")
if a["source"]["packets"] < 5:
    sys.exit(f"FAIL: {a['source']['packets']} packets, want 5")
print(f"PASS: UDP flow on VLAN 100 with af_packet and pcap: {a['source']['packets']} packets, "
      f"{a['source']['bytes']} bytes")
PY
