#!/bin/sh
# Live test: SQL from psql to a real PostgreSQL on 127.0.0.1 captured by
# packetbeat, replayed with `packetbeat replay --target postgres://pb:pb@...`
# (SCRAM-SHA-256 or md5 login, simple queries): same results (rows, error
# codes) -> exit 0; rows deleted behind its back -> a size mismatch (exit 2).
# Needs root (capture) and postgresql.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { echo "SKIP: no postgresql"; exit 77; }
command -v psql >/dev/null 2>&1 || { echo "SKIP: no psql"; exit 77; }
T=$(mktemp -d /tmp/pb-live-replay-pgsql.XXXXXX)
chmod 755 "$T"
export PEERS_RUN="$T/peers"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/postgres-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/replay_lib.inc"
export PG_PORT=${PG_PORT:-$(free_port)}

eval "$("$PEERS/postgres-start.sh")"
Q() { psql -X -q "$PG_URL" -c "$1" > /dev/null 2>&1 || true; }
cat > "$T/proto.yml" <<YML
- type: pgsql
  ports: [$PG_PORT]
YML
pb_capture_start
Q "create table t (id int primary key, v text)"
Q "insert into t values (1, 'a'), (2, 'b'), (3, 'c')"
Q "select * from t where id = 1"
Q "select * from t"
Q "update t set v = 'x' where id > 1"
Q "select * from nosuch"
Q "delete from t where id = 3"
Q "drop table t"
pb_capture_stop
WANT=$(python3 - "$T/events.ndjson" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pg = [e for e in ev if e.get("type") == "pgsql"]
err = [e for e in pg if e.get("status") == "Error"]
assert err and err[0]["pgsql"]["error_code"] == "42P01", err
print(len(pg))
PY
)
[ "$WANT" -ge 8 ] || { echo "FAIL: only $WANT pgsql events"; exit 1; }
rc=0
"$BIN" replay --target "$PG_URL" --report "$T/r1.json" -q \
    "$T/events.ndjson" > "$T/r1.txt" 2>&1 || rc=$?
cat "$T/r1.txt"
expect_eq "replay exit status" "$rc" 0
expect_eq "matched" "$(json_get "$T/r1.json" "r['matched']")" "$WANT"

Q "create table t (id int primary key, v text)"
Q "insert into t values (1, 'a')"
rc=0
"$BIN" replay --target "$PG_URL" --command SELECT --report "$T/r2.json" -q \
    "$T/events.ndjson" > "$T/r2.txt" 2>&1 || rc=$?
cat "$T/r2.txt"
expect_eq "exit status after the change" "$rc" 2
expect_eq "size mismatches" "$(json_get "$T/r2.json" "r['mismatch_kinds']['size']")" 1
grep -q "rows 3/-1 -> 1/-1" "$T/r2.txt" || { echo "FAIL: example"; exit 1; }

rc=0
"$BIN" replay --target "postgres://pb:wrong@127.0.0.1:$PG_PORT/pbtest" -q \
    "$T/events.ndjson" > /dev/null 2> "$T/r3.txt" || rc=$?
expect_eq "bad password" "$rc" 1
grep -q "password authentication failed" "$T/r3.txt" || { cat "$T/r3.txt"; echo "FAIL: login error"; exit 1; }
echo "PASS: replay against PostgreSQL"
