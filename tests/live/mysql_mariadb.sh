#!/bin/sh
# Live test: a real MariaDB (Debian's mariadb-server) on 127.0.0.1, packetbeat
# capturing on `lo` with the file output.
#  1. the mysql client (text protocol): CREATE, INSERT (affected rows and
#     insert id), INSERT ... SELECT of 300 rows, a SELECT of a result set
#     spanning many segments with extended column metadata (a JSON column),
#     UPDATE, DELETE and an error;
#  2. Perl DBD::MariaDB with server-side prepare (libmariadb, binary
#     protocol): COM_STMT_PREPARE / COM_STMT_EXECUTE with parameters, run
#     twice (MariaDB sends the second result set without column metadata:
#     MARIADB_CLIENT_CACHE_METADATA), a prepared INSERT and an execute that
#     fails.
# Every event is checked field by field: query, method, path, mysql.*,
# params, status, sizes, response. Needs root (capture).
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v mariadbd >/dev/null 2>&1 || { echo "SKIP: mariadb-server not installed"; exit 77; }
command -v mysql >/dev/null 2>&1 || { echo "SKIP: mariadb-client not installed"; exit 77; }
perl -MDBD::MariaDB -e 1 2>/dev/null || { echo "SKIP: libdbd-mariadb-perl not installed"; exit 77; }
T=$(mktemp -d /tmp/pb-live-mysql.XXXXXX)
export PEERS_RUN="$T/peers"
export MYSQL_PORT=${MYSQL_PORT:-13316}
PB_PID=
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/mysql-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/capture.inc"

eval "$("$PEERS/mysql-start.sh")"

pb_capture_start <<YML
packetbeat.interfaces.device: lo
# loopback frames reach 65550 bytes (MTU 65536): above the 65535 default
packetbeat.interfaces.snaplen: 131072
packetbeat.protocols:
- type: mysql
  ports: [$MYSQL_PORT]
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

# 1. text protocol, one connection
mysql --force --protocol=tcp -h127.0.0.1 -P"$MYSQL_PORT" -upb -ppb pbtest >"$T/mysql.out" 2>&1 <<'SQL' || true
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(32), price DOUBLE, born DATE, doc JSON);
INSERT INTO items (name, price, born, doc) VALUES ('apple', 1.5, '2020-01-02', '{"a": 1}'), ('pear', 2.25, NULL, NULL), ('plum', -3, '1999-12-31', '[1, 2]');
INSERT INTO items (name, price) SELECT CONCAT('bulk', seq), seq FROM seq_1_to_300;
SELECT id, name, price, born, doc FROM items ORDER BY id;
UPDATE items SET price = price + 1 WHERE id <= 10;
SELECT nosuch FROM items;
DELETE FROM items WHERE id > 300;
SQL

# 2. binary protocol through libmariadb (server-side prepared statements)
cat >"$T/ps.pl" <<'PL'
use strict;
use DBI;
my $port = shift;
my $dbh = DBI->connect("DBI:MariaDB:database=pbtest;host=127.0.0.1;port=$port;mariadb_server_prepare=1",
                       "pb", "pb", {RaiseError => 1, PrintError => 0, AutoCommit => 1});
my $s = $dbh->prepare("SELECT id, name, price FROM items WHERE id > ? AND name LIKE ? ORDER BY id");
for my $min (290, 100) {
    $s->execute($min, "bulk%");
    my $n = 0;
    $n++ while $s->fetchrow_arrayref;
    print "select $min: $n rows\n";
}
my $i = $dbh->prepare("INSERT INTO items (id, name, price) VALUES (?, ?, ?)");
$i->execute(500, "prepared", "7.5");
print "insert id ", $dbh->last_insert_id(), "\n";
eval { $i->execute(500, "again", "1"); };
print "duplicate: ", ($@ ? "error" : "no error"), "\n";
$dbh->disconnect;
PL
perl "$T/ps.pl" "$MYSQL_PORT" >"$T/perl.out" 2>&1 || { cat "$T/perl.out"; echo "FAIL: perl client"; exit 1; }

pb_capture_wait 17
pb_capture_stop

python3 - "$(pb_events)" "$MYSQL_PORT" <<'PY' || { tail -n 20 "$T/mysql.out" "$T/perl.out" "$T/pb.log"; exit 1; }
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
port = int(sys.argv[2])
my = [e for e in events if e.get("type") == "mysql"]

def fail(msg):
    sys.exit("FAIL: " + msg + "\n  queries seen: " + repr([e.get("query") for e in my]))

def take(query, n=1):
    got = [e for e in my if e.get("query") == query]
    if len(got) != n:
        fail(f"{len(got)} events for {query!r}, want {n}")
    return got

def check(e, method, status="OK", path=None, rows=0, fields=0, affected=0, insert_id=0):
    m = e["mysql"]
    want = dict(method=method, status=status, path=path,
                mysql=dict(num_rows=rows, num_fields=fields, affected_rows=affected,
                           insert_id=insert_id))
    have = dict(method=e.get("method"), status=e.get("status"), path=e.get("path"),
                mysql={k: m.get(k) for k in want["mysql"]})
    if have != want:
        fail(f"{e.get('query')!r}: got {have}, want {want}")
    assert e["event"]["dataset"] == "mysql" and e["network"]["protocol"] == "mysql", e
    assert e["network"]["transport"] == "tcp" and e["server"]["port"] == port, e
    assert e["destination"]["port"] == port and e["client"]["ip"] == "127.0.0.1", e
    assert e["event"]["duration"] >= 0 and e["destination"]["bytes"] > 0, e
    assert e["@metadata"]["beat"] == "packetbeat" and e["agent"]["version"] == "8.17.2", e
    if status == "OK":
        assert "error_code" not in m and "error_message" not in m, e

def text_query(q, method, **kw):
    (e,) = take(q)
    check(e, method, **kw)
    # a COM_QUERY packet: 4-byte header, command byte, the statement
    assert e["source"]["bytes"] == 5 + len(q.encode()), (q, e["source"])
    assert e["request"] == q, e
    return e

# 7 text queries; DBD::MariaDB: 4 SETs, 2 prepares, 4 executes (COM_STMT_CLOSE: no event)
if len(my) != 17:
    fail(f"{len(my)} mysql events, want 17")
for q in ("SET NAMES 'utf8mb4'", "SET character_set_server = 'utf8mb4'"):
    text_query(q, "SET")

# 1. mysql client, text protocol
text_query("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(32), price DOUBLE, "
           "born DATE, doc JSON)", "CREATE")
text_query("INSERT INTO items (name, price, born, doc) VALUES ('apple', 1.5, '2020-01-02', "
           "'{\"a\": 1}'), ('pear', 2.25, NULL, NULL), ('plum', -3, '1999-12-31', '[1, 2]')",
           "INSERT", affected=3, insert_id=1)
text_query("INSERT INTO items (name, price) SELECT CONCAT('bulk', seq), seq FROM seq_1_to_300",
           "INSERT", affected=300, insert_id=4)
sel = text_query("SELECT id, name, price, born, doc FROM items ORDER BY id", "SELECT",
                 path="pbtest.items", rows=303, fields=5)
# response: the column names and the first max_rows (10) rows as CSV
lines = sel["response"].split("\n")
if lines[0] != "id,name,price,born,doc" or len([l for l in lines if l]) != 11:
    fail(f"SELECT response: {sel['response']!r}")
if lines[1] != '1,apple,1.5,2020-01-02,"{""a"": 1}"':
    fail(f"SELECT first row: {lines[1]!r}")
if lines[2] != "2,pear,2.25,NULL,NULL" or lines[3] != '3,plum,-3,1999-12-31,"[1, 2]"':
    fail(f"SELECT rows: {lines[2:4]!r}")
if lines[10] != "10,bulk7,7,NULL,NULL":
    fail(f"SELECT row 10: {lines[10]!r}")
text_query("UPDATE items SET price = price + 1 WHERE id <= 10", "UPDATE", affected=10)
err = text_query("SELECT nosuch FROM items", "SELECT", status="Error")
if err["mysql"]["error_code"] != 1054 or not err["mysql"]["error_message"].startswith(
        "42S22: Unknown column 'nosuch'"):
    fail(f"error: {err['mysql']}")
text_query("DELETE FROM items WHERE id > 300", "DELETE", affected=3)

# 2. libmariadb, binary protocol
sq = "SELECT id, name, price FROM items WHERE id > ? AND name LIKE ? ORDER BY id"
preps = take("Request Prepare Statement", 2)
notes = sorted(str(p.get("error", {}).get("message")) for p in preps)
iq = "INSERT INTO items (id, name, price) VALUES (?, ?, ?)"
if notes != sorted([sq, iq]):
    fail(f"prepare notes: {notes}")
for p in preps:
    if p["error"]["message"] == sq:
        check(p, "SELECT", path="pbtest.items", fields=3)
    else:
        check(p, "INSERT")
ex = take(sq, 2)
ex.sort(key=lambda e: e["event"]["start"])
for e, lo, rows in ((ex[0], "290", 10), (ex[1], "100", 200)):
    check(e, "SELECT", path="pbtest.items", rows=rows, fields=3)
    if e.get("params") != [lo, "bulk%"]:
        fail(f"execute params {e.get('params')}, want {[lo, 'bulk%']}")
    lines = [l for l in e["response"].split("\n") if l]
    first = int(lo) + 1 - 3  # bulkN has id N + 3
    if lines[0] != "id,name,price" or lines[1] != f"{int(lo) + 1},bulk{first},{first}":
        fail(f"execute response {lines[:2]!r}")
ins = take(iq, 2)
ins.sort(key=lambda e: e["event"]["start"])
check(ins[0], "INSERT", affected=1, insert_id=500)
if ins[0].get("params") != ["500", "prepared", "7.5"]:
    fail(f"insert params {ins[0].get('params')}")
check(ins[1], "INSERT", status="Error")
if ins[1]["mysql"]["error_code"] != 1062 or not ins[1]["mysql"]["error_message"].startswith(
        "23000: Duplicate entry '500'"):
    fail(f"duplicate: {ins[1]['mysql']}")
print(f"PASS: {len(my)} mysql events checked")
PY
