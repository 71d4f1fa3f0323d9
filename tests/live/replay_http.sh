#!/bin/sh
# Live test: traffic to a real nginx on 127.0.0.1 captured by packetbeat
# (send_request, bodies), then `packetbeat replay` of those events against
# the same nginx: every response must match (exit 0); after a page changes
# the replay must report the mismatch (exit 2, kind size/body, example).
# Also: --dry-run, filters, header rewriting, the loopback guard, and
# --summary over the traffic. Needs root (capture) and nginx.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/../peers"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: live capture needs root"
    exit 77
fi
command -v nginx >/dev/null 2>&1 || { echo "SKIP: no nginx"; exit 77; }
T=$(mktemp -d /tmp/pb-live-replay-http.XXXXXX)
chmod 755 "$T"
export PEERS_RUN="$T/peers"
cleanup() {
    [ -n "${PB_PID:-}" ] && kill "$PB_PID" 2>/dev/null || true
    "$PEERS/nginx-stop.sh" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$HERE/replay_lib.inc"
export NGINX_PORT=${NGINX_PORT:-$(free_port)}
export NGINX_TLS_PORT=${NGINX_TLS_PORT:-$(free_port)}
PORT=$NGINX_PORT

eval "$("$PEERS/nginx-start.sh")"
HTML="$PEERS_RUN/nginx/html"

cat > "$T/proto.yml" <<YML
- type: http
  ports: [$PORT]
  send_request: true
  include_body_for: ["text/html", "application/json", "x-www-form-urlencoded"]
YML
pb_capture_start
curl -s -o /dev/null "$NGINX_URL/"
curl -s -o /dev/null "$NGINX_URL/index.html?id=1"
curl -s -o /dev/null "$NGINX_URL/index.html?id=2"
curl -s -o /dev/null "$NGINX_URL/status/404"
curl -s -o /dev/null -X POST -d 'a=1&b=2' "$NGINX_URL/echo"
curl -s -o /dev/null "$NGINX_URL/big.bin"
curl -s -o /dev/null -I "$NGINX_URL/"
pb_capture_stop
N=$(grep -c '"type":"http"' "$T/events.ndjson")
expect_eq "captured http events" "$N" 7

# 1. the same server answers the same: no mismatch
rc=0
"$BIN" replay --target "$NGINX_URL" --compare-body --report "$T/r1.json" -q \
    "$T/events.ndjson" > "$T/r1.txt" 2>&1 || rc=$?
cat "$T/r1.txt"
expect_eq "replay exit status" "$rc" 0
expect_eq "sent" "$(json_get "$T/r1.json" "r['sent']")" 7
expect_eq "matched" "$(json_get "$T/r1.json" "r['matched']")" 7
expect_eq "mismatched" "$(json_get "$T/r1.json" "r['mismatched']")" 0
expect_eq "replayed latencies" "$(json_get "$T/r1.json" "r['latency_ns']['replayed']['count']")" 7
expect_eq "recorded latencies" "$(json_get "$T/r1.json" "r['latency_ns']['recorded']['count']")" 7
grep -q "7 matched, 0 mismatched, 0 failed" "$T/r1.txt" || { echo "FAIL: text report"; exit 1; }

# 2. a changed page is reported, with an example
echo '<html><body>packetbeat test page, changed</body></html>' > "$HTML/index.html"
rc=0
"$BIN" replay --target "$NGINX_URL" --speed 4 --concurrency 2 --compare-body \
    --report "$T/r2.json" -q "$T/events.ndjson" > "$T/r2.txt" 2>&1 || rc=$?
cat "$T/r2.txt"
expect_eq "replay exit status after the change" "$rc" 2
expect_eq "mismatched after the change" "$(json_get "$T/r2.json" "r['mismatched']")" 3
expect_eq "size mismatches" "$(json_get "$T/r2.json" "r['mismatch_kinds']['size']")" 3
expect_eq "example request" \
    "$(json_get "$T/r2.json" "sorted(e['request'] for e in r['examples'])[0]")" "GET /"
grep -q "body size 47 -> 56" "$T/r2.txt" || { echo "FAIL: example detail"; exit 1; }

# 3. a changed status is reported as such
rm "$HTML/index.html"
rc=0
"$BIN" replay --target "$NGINX_URL" --speed 0 --path '/index.html' --report "$T/r3.json" -q \
    "$T/events.ndjson" > "$T/r3.txt" 2>&1 || rc=$?
cat "$T/r3.txt"
expect_eq "exit status, page gone" "$rc" 2
expect_eq "path filter" "$(json_get "$T/r3.json" "r['sent']")" 2
expect_eq "status mismatches" "$(json_get "$T/r3.json" "r['mismatch_kinds']['status']")" 2
grep -q "status 200 -> 404" "$T/r3.txt" || { echo "FAIL: status example"; exit 1; }

# 4. filters, dry run, rate
"$BIN" replay --target "$NGINX_URL" --method POST,HEAD --dry-run --report "$T/r4.json" \
    "$T/events.ndjson" > "$T/r4.txt"
expect_eq "method filter" "$(json_get "$T/r4.json" "r['requests']")" 2
expect_eq "filtered" "$(json_get "$T/r4.json" "r['skipped']['filtered']")" 5
expect_eq "dry run sends nothing" "$(json_get "$T/r4.json" "r['sent']")" 0
grep -q "POST /echo" "$T/r4.txt" || { echo "FAIL: dry run list"; exit 1; }
n_before=$(wc -l < "$PEERS_RUN/nginx/access.log")
"$BIN" replay --target "$NGINX_URL" --rate 20/s --method POST --header 'X-Replay: yes' \
    --header 'User-Agent:' -q "$T/events.ndjson" > /dev/null
tail -n 1 "$PEERS_RUN/nginx/access.log" | grep -q '"POST /echo' || { echo "FAIL: POST not replayed"; exit 1; }
[ "$(wc -l < "$PEERS_RUN/nginx/access.log")" -eq $((n_before + 1)) ] || { echo "FAIL: filter"; exit 1; }

# 5. stdin input, and the loopback guard
cat "$T/events.ndjson" | "$BIN" replay --target "$NGINX_URL" --dry-run - > "$T/r5.txt"
grep -q "7 to replay" "$T/r5.txt" || { echo "FAIL: stdin"; exit 1; }
rc=0
"$BIN" replay --target http://192.0.2.1:80 --dry-run "$T/events.ndjson" > /dev/null 2> "$T/r6.txt" || rc=$?
expect_eq "remote target refused" "$rc" 1
grep -q "allow-remote" "$T/r6.txt" || { echo "FAIL: refusal message"; exit 1; }

echo "PASS: replay against nginx (match, size/status mismatches, filters, dry run, guard)"
