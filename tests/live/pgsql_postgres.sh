#!/bin/sh
# Live test: a real PostgreSQL on 127.0.0.1, packetbeat capturing on `lo`
# with the file output.
#  0. pgbench -i: DDL, single-row INSERTs, COPY FROM STDIN of 100000 rows
#     (10 MB of CopyData), COMMIT;
#  1. psql, simple query protocol: CREATE, INSERT, a SELECT of 1000 rows
#     (many segments) with NULLs, two statements in one Query message (two
#     transactions answered in order), an error;
#  2. pgbench -M extended (Parse/Bind/Describe/Execute/Sync): the built-in
#     TPC-B-like transaction, a custom 50-row SELECT and a failing query;
#  3. pgbench -M prepared: named statements, Bind/Execute without Parse.
# Every event is checked field by field: query, method, pgsql.*, status,
# sizes, response. Needs root (capture).
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { echo "SKIP: postgresql not installed"; exit 77; }
command -v psql >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1 ||
    { echo "SKIP: psql/pgbench not installed"; exit 77; }
T=$(mktemp -d /tmp/pb-live-pgsql.XXXXXX)
chmod 755 "$T"
export PEERS_RUN="$T/peers"
export PG_PORT=${PG_PORT:-15442}
PB_PID=
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/postgres-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/postgres-start.sh")"
pb_capture_start <<YML
packetbeat.interfaces.device: lo
# loopback frames reach 65550 bytes (MTU 65536): above the 65535 default
packetbeat.interfaces.snaplen: 131072
packetbeat.protocols:
- type: pgsql
  ports: [$PG_PORT]
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

# 0. pgbench tables: 100000 rows sent with COPY FROM STDIN (about 10 MB)
pgbench -i -s 1 -I dtgp -q "$PG_URL" >"$T/init.out" 2>&1 || { cat "$T/init.out"; echo "FAIL: pgbench -i"; exit 1; }

# 1. simple query protocol (each -c is one Query message)
psql -X -q "$PG_URL" >"$T/psql.out" 2>&1 \
    -c "CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric, born date)" \
    -c "INSERT INTO items (name, price, born) SELECT 'n' || g, g * 1.5, CASE WHEN g % 2 = 0 THEN DATE '2020-01-01' + g END FROM generate_series(1, 1000) g" \
    -c "SELECT id, name, price, born FROM items ORDER BY id" \
    -c "SELECT 1 AS one; SELECT 'x' AS two, NULL AS three" \
    -c "SELECT nosuch FROM items" || true

# 2. extended query protocol
printf 'SELECT aid, bid, abalance FROM pgbench_accounts WHERE aid <= 50 ORDER BY aid;\n' >"$T/rows.sql"
printf 'SELECT nosuch FROM pgbench_accounts;\n' >"$T/err.sql"
printf '\\set aid 7\nSELECT aid, bid FROM pgbench_accounts WHERE aid = :aid;\n' >"$T/prep.sql"
pgbench -n -M extended -c 1 -t 2 "$PG_URL" >"$T/bench.out" 2>&1 || { cat "$T/bench.out"; echo "FAIL: pgbench"; exit 1; }
pgbench -n -M extended -t 1 -f "$T/rows.sql" "$PG_URL" >>"$T/bench.out" 2>&1 || { cat "$T/bench.out"; echo "FAIL: pgbench rows"; exit 1; }
pgbench -n -M extended -t 1 -f "$T/err.sql" "$PG_URL" >>"$T/bench.out" 2>&1 || true
# 3. named prepared statements
pgbench -n -M prepared -t 3 -f "$T/prep.sql" "$PG_URL" >>"$T/bench.out" 2>&1 || { cat "$T/bench.out"; echo "FAIL: pgbench prepared"; exit 1; }

# pgbench -i 23, psql 6, pgbench: 2 setup queries (built-in script) + 2 * 7 + 1 + 1 + 4
pb_capture_wait 51
pb_capture_stop

python3 - "$(pb_events)" "$PG_PORT" <<'PY' || { tail -n 20 "$T/psql.out" "$T/bench.out" "$T/pb.log"; exit 1; }
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
port = int(sys.argv[2])
pg = [e for e in events if e.get("type") == "pgsql"]
pg.sort(key=lambda e: e["event"]["start"])

def fail(msg):
    sys.exit("FAIL: " + msg + "\n  queries seen: " + repr([e.get("query") for e in pg]))

def take(query, n=1):
    got = [e for e in pg if e.get("query") == query]
    if len(got) != n:
        fail(f"{len(got)} events for {query!r}, want {n}")
    return got

def check(e, method, status="OK", rows=0, fields=0, response=None):
    p = e["pgsql"]
    want = dict(method=method, status=status, rows=rows, fields=fields)
    have = dict(method=e.get("method"), status=e.get("status"), rows=p.get("num_rows"),
                fields=p.get("num_fields"))
    if have != want:
        fail(f"{e.get('query')!r}: got {have}, want {want}")
    if response is not None and e.get("response") != response:
        fail(f"{e.get('query')!r}: response {e.get('response')!r}, want {response!r}")
    assert e["request"] == e["query"], e
    assert e["event"]["dataset"] == "pgsql" and e["network"]["protocol"] == "pgsql", e
    assert e["network"]["transport"] == "tcp" and e["server"]["port"] == port, e
    assert e["destination"]["port"] == port and e["client"]["ip"] == "127.0.0.1", e
    assert e["event"]["duration"] >= 0 and e["destination"]["bytes"] > 0, e
    assert e["source"]["bytes"] > 0, e
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
    if status == "OK":
        assert not any(k.startswith("error_") for k in p), e

def simple(q, method, **kw):
    (e,) = take(q)
    check(e, method, **kw)
    # a Query message: type byte, int32 length, the text, NUL
    if e["source"]["bytes"] != 6 + len(q.encode()):
        fail(f"{q!r}: source.bytes {e['source']['bytes']}, want {6 + len(q.encode())}")
    return e

# 0. pgbench -i (simple queries; COPY data flows between the COPY command and its answer)
init = [e for e in pg if e["client"]["port"] == pg[0]["client"]["port"]]
got = [(e["method"], e["status"]) for e in init]
want = ([("DROP", "OK")] + [("CREATE", "OK")] * 4 + [("BEGIN", "OK"), ("TRUNCATE", "OK")] +
        [("INSERT", "OK")] * 11 + [("COPY", "OK"), ("COMMIT", "OK")] + [("ALTER", "OK")] * 3)
if got != want:
    fail(f"pgbench -i events {got}")
for e in init:
    check(e, e["method"])
if not init[18]["query"].startswith("copy pgbench_accounts from stdin"):
    fail(f"COPY query {init[18]['query']!r}")
if init[18]["source"]["bytes"] != 6 + len(init[18]["query"]):
    fail(f"COPY source.bytes {init[18]['source']['bytes']}: the COPY data is not part of it")

# 1. psql
simple("CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric, born date)", "CREATE")
simple("INSERT INTO items (name, price, born) SELECT 'n' || g, g * 1.5, CASE WHEN g % 2 = 0 THEN "
       "DATE '2020-01-01' + g END FROM generate_series(1, 1000) g", "INSERT")
rows = "".join(f"{i},n{i},{i * 1.5:.1f},{'' if i % 2 else '2020-01-%02d' % (1 + i)}\n"
               for i in range(1, 11))
simple("SELECT id, name, price, born FROM items ORDER BY id", "SELECT", rows=1000, fields=4,
       response="id,name,price,born\n" + rows)
# one Query message, two statements: two transactions, in order, each with its own answer
two = [e for e in pg if e.get("request") in ("SELECT 1 AS one", "SELECT 'x' AS two, NULL AS three")]
if [e["query"] for e in two] != ["SELECT 1 AS one", "SELECT 'x' AS two, NULL AS three"]:
    fail(f"split query: {[e['query'] for e in two]}")
check(two[0], "SELECT", rows=1, fields=1, response="one\n1\n")
check(two[1], "SELECT", rows=1, fields=2, response="two,three\nx,\n")
err = take("SELECT nosuch FROM items")[0]
check(err, "SELECT", status="Error")
want = dict(error_code="42703", error_severity="ERROR",
            error_message='column "nosuch" does not exist')
if {k: err["pgsql"].get(k) for k in want} != want:
    fail(f"error fields {err['pgsql']}")

# 2. pgbench -M extended: the TPC-B-like script, twice
tpcb = [("BEGIN", "BEGIN", 0, 0),
        ("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", "UPDATE", 0, 0),
        ("SELECT abalance FROM pgbench_accounts WHERE aid = $1", "SELECT", 1, 1),
        ("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2", "UPDATE", 0, 0),
        ("UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2", "UPDATE", 0, 0),
        ("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, "
         "CURRENT_TIMESTAMP)", "INSERT", 0, 0),
        ("END", "END", 0, 0)]
seq = [e for e in pg if e["query"] in {q for q, _, _, _ in tpcb}]
if [e["query"] for e in seq] != [q for q, _, _, _ in tpcb] * 2:
    fail(f"pgbench sequence {[e['query'] for e in seq]}")
for e, (q, m, r, f) in zip(seq, tpcb * 2):
    check(e, m, rows=r, fields=f)
    if q.startswith("SELECT") and not e["response"].startswith("abalance\n"):
        fail(f"abalance response {e['response']!r}")
(r50,) = take("SELECT aid, bid, abalance FROM pgbench_accounts WHERE aid <= 50 ORDER BY aid")
check(r50, "SELECT", rows=50, fields=3)
lines = r50["response"].split("\n")
if lines[0] != "aid,bid,abalance" or lines[1].split(",")[:2] != ["1", "1"] or len(lines) != 12:
    fail(f"50-row response {r50['response']!r}")
(xe,) = take("SELECT nosuch FROM pgbench_accounts")
check(xe, "SELECT", status="Error")
if xe["pgsql"].get("error_code") != "42703" or xe["pgsql"].get("error_severity") != "ERROR":
    fail(f"extended error fields {xe['pgsql']}")

# 3. -M prepared: the Parse answer, then three Bind/Execute without Parse
pq = take("SELECT aid, bid FROM pgbench_accounts WHERE aid = $1", 4)
check(pq[0], "SELECT")
for e in pq[1:]:
    check(e, "SELECT", rows=1, fields=2, response="aid,bid\n7,1\n")
print(f"PASS: {len(pg)} pgsql events checked")
PY
