#!/bin/sh
# Live test: redis-cli commands to a real redis-server on 127.0.0.1 captured
# by packetbeat, replayed with `packetbeat replay --target redis://...`:
# same answers (errors and, with --compare-body, values) -> exit 0; a value
# changed behind its back -> reported as a body mismatch (exit 2).
# Needs root (capture) and redis-server/redis-cli.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: no redis-server"; exit 77; }
T=$(mktemp -d /tmp/pb-live-replay-redis.XXXXXX)
export PEERS_RUN="$T/peers"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/redis-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/replay_lib.inc"
export REDIS_PORT=${REDIS_PORT:-$(free_port)}

eval "$("$PEERS/redis-start.sh")"
cat > "$T/proto.yml" <<YML
- type: redis
  ports: [$REDIS_PORT]
YML
R() { $REDIS_CLI "$@" > /dev/null; }
pb_capture_start
R SET k hello
R GET k
R INCR c
R RPUSH l a b c
R LRANGE l 0 -1
R GET nosuch
R HGET k f
R DEL l
pb_capture_stop
expect_eq "captured redis events" "$(grep -c '"type":"redis"' "$T/events.ndjson")" 8
# replay to a server in the state the capture started from
R DEL k c l

rc=0
"$BIN" replay --target "redis://$REDIS_HOST" --compare-body --report "$T/r1.json" -q \
    "$T/events.ndjson" > "$T/r1.txt" 2>&1 || rc=$?
cat "$T/r1.txt"
expect_eq "replay exit status" "$rc" 0
expect_eq "matched" "$(json_get "$T/r1.json" "r['matched']")" 8
expect_eq "recorded errors replayed as errors" "$(json_get "$T/r1.json" "r['mismatch_kinds']['error']")" 0

# a changed value: GET k answers something else
R DEL k c l
R SET k changed
rc=0
"$BIN" replay --target "redis://$REDIS_HOST/0" --command GET,LRANGE --compare-body \
    --report "$T/r2.json" -q "$T/events.ndjson" > "$T/r2.txt" 2>&1 || rc=$?
cat "$T/r2.txt"
expect_eq "exit status after the change" "$rc" 2
expect_eq "command filter" "$(json_get "$T/r2.json" "r['sent']")" 3
# GET k differs; LRANGE l finds the list gone (DEL l ran last)
expect_eq "body mismatches" "$(json_get "$T/r2.json" "r['mismatch_kinds']['body']")" 2
grep -q '"hello" -> "changed"' "$T/r2.txt" || { echo "FAIL: example"; exit 1; }
echo "PASS: replay against redis-server"
