#!/bin/sh
# Live test: SQL from the mariadb client to a real MariaDB on 127.0.0.1
# captured by packetbeat, replayed with `packetbeat replay --target
# mysql://pb:pb@...` (native password login, COM_QUERY): same results
# (rows, affected rows, error codes) -> exit 0; rows deleted behind its back
# -> a size mismatch (exit 2). Needs root (capture) and mariadb-server.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v mariadbd >/dev/null 2>&1 || { echo "SKIP: no mariadbd"; exit 77; }
T=$(mktemp -d /tmp/pb-live-replay-mysql.XXXXXX)
chmod 755 "$T"
export PEERS_RUN="$T/peers"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/mysql-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/replay_lib.inc"
export MYSQL_PORT=${MYSQL_PORT:-$(free_port)}

eval "$("$PEERS/mysql-start.sh")"
M() { $MYSQL_CLI -e "$1" > /dev/null 2>&1 || true; }
cat > "$T/proto.yml" <<YML
- type: mysql
  ports: [$MYSQL_PORT]
YML
pb_capture_start
M "create table t (id int primary key, v varchar(20))"
M "insert into t values (1, 'a'), (2, 'b'), (3, 'c')"
M "select * from t where id = 1"
M "select * from t"
M "update t set v = 'x' where id > 1"
M "select * from nosuch"
M "delete from t where id = 3"
M "drop table t"
pb_capture_stop
grep -c '"type":"mysql"' "$T/events.ndjson" > /dev/null || { echo "FAIL: no mysql events"; exit 1; }
WANT=$(python3 - "$T/events.ndjson" <<'PY'
import json, sys
n = sum(1 for l in open(sys.argv[1]) if json.loads(l).get("type") == "mysql")
print(n)
PY
)
rc=0
"$BIN" replay --target "mysql://pb:pb@127.0.0.1:$MYSQL_PORT/pbtest" --report "$T/r1.json" -q \
    "$T/events.ndjson" > "$T/r1.txt" 2>&1 || rc=$?
cat "$T/r1.txt"
expect_eq "replay exit status" "$rc" 0
expect_eq "matched" "$(json_get "$T/r1.json" "r['matched']")" "$WANT"
# the error was replayed as the same error (1146: no such table)
python3 - "$T/events.ndjson" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
err = [e for e in ev if e.get("type") == "mysql" and e.get("status") == "Error"]
assert err and err[0]["mysql"]["error_code"] == 1146, err
PY

# rows gone: the SELECTs return fewer rows
M "create table t (id int primary key, v varchar(20))"
M "insert into t values (1, 'a')"
rc=0
"$BIN" replay --target "mysql://pb:pb@127.0.0.1:$MYSQL_PORT/pbtest" --command select \
    --report "$T/r2.json" -q "$T/events.ndjson" > "$T/r2.txt" 2>&1 || rc=$?
cat "$T/r2.txt"
expect_eq "exit status after the change" "$rc" 2
expect_eq "size mismatches" "$(json_get "$T/r2.json" "r['mismatch_kinds']['size']")" 1
grep -q "rows 3/0 -> 1/0" "$T/r2.txt" || { echo "FAIL: example"; exit 1; }

rc=0
"$BIN" replay --target "mysql://pb:wrong@127.0.0.1:$MYSQL_PORT/pbtest" -q \
    "$T/events.ndjson" > /dev/null 2> "$T/r3.txt" || rc=$?
expect_eq "bad password" "$rc" 1
grep -q "Access denied" "$T/r3.txt" || { cat "$T/r3.txt"; echo "FAIL: login error"; exit 1; }
echo "PASS: replay against MariaDB"
