#!/bin/sh
# `packetbeat -I file.pcap --summary` over conformance pcaps: the table and
# the summary events must agree with numbers computed independently (in
# Python, nearest-rank percentiles) from the transaction events of the same
# run; the events Packetbeat emits must be unchanged by --summary; and
# packetbeat.summary.max_groups must overflow into "(other)". No root needed.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PCAPS="$HERE/../conformance/pcaps"
T=$(mktemp -d /tmp/pb-summary.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM

run() { # name pcap protocol-yaml extra-args...
    rn=$1 rp=$2 ry=$3
    shift 3
    cat > "$T/$rn.yml" <<YML
packetbeat.protocols:
$ry
output.file: {path: $T/$rn, filename: pb}
YML
    chmod 600 "$T/$rn.yml"
    "$BIN" -c "$T/$rn.yml" --path.home "$T" -I "$PCAPS/$rp" -t "$@" > "$T/$rn.txt" 2> "$T/$rn.log"
    cat "$T/$rn"/pb* > "$T/$rn.ndjson" 2>/dev/null || : > "$T/$rn.ndjson"
}

for spec in "http http_minitwit.pcap - {type: http, ports: [5000]}" \
            "mysql mysql_with_whitespaces.pcap - {type: mysql, ports: [3306]}" \
            "pgsql pgsql_request_response.pcap - {type: pgsql, ports: [5432]}" \
            "redis redis_one_transaction.pcap - {type: redis, ports: [6380]}"; do
    set -- $spec
    name=$1 pcap=$2
    shift 2
    proto="$*"
    run "$name" "$pcap" "$proto"
    run "$name-sum" "$pcap" "$proto" --summary
    python3 - "$T/$name.ndjson" "$T/$name-sum.ndjson" "$T/$name-sum.txt" <<'PY'
import json, math, re, sys
plain = [json.loads(l) for l in open(sys.argv[1])]
withs = [json.loads(l) for l in open(sys.argv[2])]
table = open(sys.argv[3]).read()
strip = lambda e: {k: v for k, v in e.items() if k not in ("agent", "@metadata")}
tx = [e for e in withs if e["type"] != "summary"]
sm = [e for e in withs if e["type"] == "summary"]
# --summary leaves the transaction events as they were
assert [strip(e) for e in plain] == [strip(e) for e in tx], "transaction events changed"
assert sm, "no summary events"

def pct(vals, p):
    v = sorted(vals)
    return v[max(1, math.ceil(p / 100 * len(v))) - 1]

groups = {}
for e in tx:
    groups.setdefault(e["type"], []).append(e)
for proto, evs in groups.items():
    allrow = [s for s in sm if s["summary"]["protocol"] == proto and s["summary"]["scope"] == "protocol"]
    assert len(allrow) == 1, allrow
    s = allrow[0]["summary"]
    durs = [e["event"]["duration"] for e in evs]
    assert s["count"] == len(evs), (s, len(evs))
    assert s["errors"] == sum(1 for e in evs if e.get("status") != "OK"), s
    assert s["bytes"]["request"] == sum(e["source"].get("bytes", 0) for e in evs), s
    assert s["bytes"]["response"] == sum(e["destination"].get("bytes", 0) for e in evs), s
    for p in (50, 90, 99):
        assert s["duration"]["p%d" % p] == pct(durs, p), (p, s, durs)
    assert s["duration"]["max"] == max(durs), s
    # group counts add up to the total
    gs = [x["summary"] for x in sm if x["summary"]["protocol"] == proto and x["summary"]["scope"] != "protocol"]
    assert sum(g["count"] for g in gs) == len(evs), gs
    # the table shows the same total
    m = re.search(r"^%s\s+\(all\)\s+(\d+)\s" % proto, table, re.M)
    assert m and int(m.group(1)) == len(evs), table
print("ok", sys.argv[2].rsplit("/", 1)[-1], len(tx), "transactions,", len(sm), "summary events")
PY
done

# hand-checked grouping on mysql_with_whitespaces.pcap: the two differently
# spaced "select * from test" queries are one group of 2
grep -Eq '^mysql +select \* from test +2 ' "$T/mysql-sum.txt" || { cat "$T/mysql-sum.txt"; echo "FAIL: SQL grouping"; exit 1; }
grep -Eq '^mysql +insert into test values\(\?\+\) +1 ' "$T/mysql-sum.txt" || { echo "FAIL: SQL literals"; exit 1; }
# http_minitwit.pcap on port 5000: 3 requests, 1 of them 404 (favicon): 33.3% errors
grep -Eq '^http +\(all\) +3 +33\.3 ' "$T/http-sum.txt" || { cat "$T/http-sum.txt"; echo "FAIL: http totals"; exit 1; }
grep -Eq '^http +GET /favicon.ico +1 +100\.0 ' "$T/http-sum.txt" || { echo "FAIL: http group"; exit 1; }

# the group cap: 1 group, the rest counted in (other)
run cap mysql_with_whitespaces.pcap "- {type: mysql, ports: [3306]}" --summary -N \
    -E packetbeat.summary.max_groups=1
grep -Eq '^mysql +\(other\) +6 ' "$T/cap.txt" || { cat "$T/cap.txt"; echo "FAIL: (other) group"; exit 1; }
grep -q "6 in (other) past the 1-group cap" "$T/cap.txt" || { echo "FAIL: cap note"; exit 1; }

# periodic summary events (packetbeat.summary.period) without --summary: no
# table, events still emitted (the last window at the end of the file)
run period mysql_with_whitespaces.pcap "- {type: mysql, ports: [3306]}" \
    -E packetbeat.summary.period=1h
[ ! -s "$T/period.txt" ] || { echo "FAIL: table without --summary"; exit 1; }
n=$(grep -c '"type":"summary"' "$T/period.ndjson")
expect=7 # (all) + 6 groups
[ "$n" -eq "$expect" ] || { echo "FAIL: $n periodic summary events, want $expect"; exit 1; }
echo "PASS: --summary tables and events match the transactions"
