#!/bin/sh
# Live test: a real DNS server (dnsmasq, tests/peers/dns-start.sh) on
# 127.0.0.1 queried by dig over UDP and TCP, packetbeat capturing on `lo`
# with the file output and flows on. The dns events must show each query
# with its answers and response code; the flows must show the UDP and TCP
# conversations with the server, reported as final at shutdown; with
# packetbeat.procs on, the server side of both carries the dnsmasq process
# (renamed through monitored[].cmdline_grep). Needs root
# (capture), dnsmasq (dnsmasq-base) and dig (bind9-dnsutils).
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
for cmd in dnsmasq dig; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "SKIP: $cmd not installed (scripts/setup.sh installs it)"
        exit 77
    fi
done
T=$(mktemp -d /tmp/pb-live-dns.XXXXXX)
export PEERS_RUN="$T/peers"
export DNS_PORT="${DNS_PORT:-15353}"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/dns-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/dns-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
packetbeat.flows:
  timeout: 30s
  period: -1s
packetbeat.procs:
  enabled: true
  monitored:
  - process: pb-test-dns
    cmdline_grep: dnsmasq.conf
packetbeat.protocols:
- type: dns
  ports: [$DNS_PORT]
  include_authorities: true
  include_additionals: true
queue.mem:
  events: 256
  flush.min_events: 1
  flush.timeout: 0.1s
output.file:
  path: $T/out
  filename: packetbeat
packetbeat.shutdown_timeout: 2s
YML
DIG="dig @$DNS_SERVER -p $DNS_PORT +time=2 +tries=1"
$DIG www.pb.test A > "$T/dig-udp.txt"
$DIG +tcp db.pb.test A > "$T/dig-tcp.txt"
$DIG pb.test MX > "$T/dig-mx.txt"
$DIG nope.pb.test A > "$T/dig-nx.txt" || true
grep -q "127.0.0.10" "$T/dig-udp.txt" || { cat "$T/dig-udp.txt"; echo "FAIL: dig got no answer"; exit 1; }
sleep 1.5
pb_capture_end

python3 - "$T/out" "$DNS_PORT" "$T/pb.log" <<'PY'
import glob, json, sys
out, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
events = []
for f in sorted(glob.glob(out + "/packetbeat*")):
    for line in open(f):
        events.append(json.loads(line))
dns = [e for e in events if e.get("type") == "dns"]
def fail(msg):
    print(open(log).read()[-3000:])
    sys.exit("FAIL: " + msg)
def find(name, qtype):
    for e in dns:
        q = e.get("dns", {}).get("question", {})
        if q.get("name") == name and q.get("type") == qtype:
            return e
    fail(f"no dns event for {name} {qtype}; got "
         f"{[(e.get('dns', {}).get('question', {}).get('name'), e.get('dns', {}).get('question', {}).get('type')) for e in dns]}")

a = find("www.pb.test", "A")
assert a["network"]["transport"] == "udp", a
assert a["status"] == "OK" and a["dns"]["response_code"] == "NOERROR", a
assert a["destination"]["port"] == port and a["destination"]["ip"] == "127.0.0.1", a
assert "127.0.0.10" in a["dns"]["resolved_ip"], a
assert any(x.get("data") == "127.0.0.10" and x.get("type") == "A" for x in a["dns"]["answers"]), a
assert a["dns"]["question"]["registered_domain"] == "pb.test" or "registered_domain" not in a["dns"]["question"], a
assert a["event"]["dataset"] == "dns" and a["network"]["protocol"] == "dns", a

dp = a.get("destination", {}).get("process")
if not dp or dp.get("name") != "pb-test-dns" or not dp.get("pid"):
    fail(f"no destination.process on the dns event: {a.get('destination')}")
assert any("dnsmasq" in x for x in dp["args"]), dp
assert a["process"]["pid"] == dp["pid"] and dp["parent"]["pid"] > 0, a

t = find("db.pb.test", "A")
assert t["network"]["transport"] == "tcp", t
assert t["status"] == "OK" and "127.0.0.11" in t["dns"]["resolved_ip"], t

mx = find("pb.test", "MX")
assert any(x.get("type") == "MX" and "mail.pb.test" in x.get("data", "") for x in mx["dns"]["answers"]), mx

nx = find("nope.pb.test", "A")
assert nx["dns"]["response_code"] == "NXDOMAIN" and nx["status"] == "Error", nx

for e in dns:
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
    assert e["event"]["duration"] >= 0, e

flows = [e for e in events if e.get("type") == "flow"]
def has_flow(transport):
    for f in flows:
        if (f["network"].get("transport") == transport and f["flow"]["final"]
                and port in (f["source"].get("port"), f["destination"].get("port"))):
            return f
    fail(f"no final {transport} flow with port {port}; got {len(flows)} flows")
fu = has_flow("udp")
assert fu["network"]["packets"] >= 2 and fu["network"]["bytes"] > 0, fu
server = "destination" if fu["destination"].get("port") == port else "source"
assert fu[server].get("process", {}).get("name") == "pb-test-dns", fu
assert fu[server]["process"]["ppid"] > 0 and "working_directory" in fu[server]["process"], fu
assert "community_id" in fu["network"] and fu["event"]["action"] == "network_flow", fu
ft = has_flow("tcp")
assert ft["source"]["packets"] >= 3 and ft["destination"]["packets"] >= 3, ft
print(f"PASS: {len(dns)} dns events and {len(flows)} flow events checked")
PY
