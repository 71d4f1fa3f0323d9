#!/bin/sh
# Live test: output.elasticsearch against the Elasticsearch stand-in
# (tests/peers/es-standin.py) on 127.0.0.1; no capture (-I pcap -t), so it
# runs as any user.
#  1. the documents indexed equal the events the file output writes
#     (without @metadata), NDJSON/headers checked by the stand-in (the
#     Content-Type libbeat sends, gzip at the default compression_level 1,
#     none at 0);
#  2. whole-request failures (429, 502, 503, closed connections) and per-item 429/503 are retried: with max_retries -1
#     every event arrives exactly once;
#  3. answers past `timeout`, short or unparsable answers (ES may have
#     indexed what it answered badly): nothing missing
#     (duplicates allowed, as ES semantics allow them);
#  4. per-item 400s are dropped, logged and not retried; the dropped events
#     are in the event data log (logging.event_data), not in the main log;
#     the dead letter index gets refused events;
#  5. `setup --index-management` loads template, ILM policy, data stream;
#  6. `test output` prints libbeat's steps; api_key + username is refused;
#  7. a too old Elasticsearch is refused with allow_older_versions: false.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PCAP="$HERE/../conformance/pcaps/mongo_3.0_session.pcap"
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
[ -f "$PCAP" ] || { echo "SKIP: no $PCAP"; exit 77; }
T=$(mktemp -d /tmp/pb-live-es.XXXXXX)
mkdir -p "$T/home"
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    [ -n "${PB_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

start_standin() { # $1: ES version
    rm -f "$T/port"
    python3 "$HERE/../peers/es-standin.py" --version "$1" --portfile "$T/port" \
        > "$T/standin.log" 2>&1 &
    SPID=$!
    i=0
    while [ ! -s "$T/port" ]; do
        i=$((i + 1))
        [ $i -gt 100 ] && { cat "$T/standin.log"; echo "FAIL: stand-in did not start"; exit 1; }
        sleep 0.05
    done
    PORT=$(cat "$T/port")
    URL="http://127.0.0.1:$PORT"
}
stop_standin() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=; }
ctl() { # $1 path, [$2 json body]
    if [ $# -gt 1 ]; then
        python3 -c 'import sys,urllib.request as u; print(u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")).read().decode())' "$URL$1" "$2"
    else
        python3 -c 'import sys,urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())' "$URL$1"
    fi
}

base_cfg() { # $1 file, then extra output lines on stdin
    {
        cat <<YML
packetbeat.protocols:
- type: mongodb
  ports: [27017]
queue.mem:
  events: 64
  flush.min_events: 1
  flush.timeout: 0.05s
YML
        cat
    } > "$1"
    chmod 600 "$1"
}

# 0. reference: the file output
base_cfg "$T/file.yml" <<YML
output.file:
  path: $T/fout
  filename: pb
YML
"$BIN" -c "$T/file.yml" --path.home "$T/home" -I "$PCAP" -t > "$T/file.log" 2>&1
start_standin 8.17.2

es_run() { # $1 name, extra output settings on stdin
    base_cfg "$T/$1.yml" <<YML
output.elasticsearch:
  hosts: ["127.0.0.1:$PORT"]
  bulk_max_size: 3
  backoff.init: 0.02s
  backoff.max: 0.1s
$(cat)
YML
    if ! timeout 120 "$BIN" -e -c "$T/$1.yml" --path.home "$T/home" -I "$PCAP" -t \
        > "$T/$1.log" 2>&1; then
        tail -20 "$T/$1.log"
        echo "FAIL: $1: packetbeat failed"
        exit 1
    fi
    ctl /_standin/docs > "$T/$1.docs"
    ctl /_standin/problems > "$T/$1.problems"
    ctl /_standin/state > "$T/$1.state"
}

compare() { # $1 name, $2 mode: exact | superset | dropped:N
    python3 - "$T/fout" "$T/$1.docs" "$T/$1.problems" "$2" "$1" <<'PY'
import collections, glob, json, sys
fout, docs, problems, mode, name = sys.argv[1:6]
def key(e):
    e = dict(e)
    e.pop("@metadata", None)
    e.get("agent", {}).pop("ephemeral_id", None)
    return json.dumps(e, sort_keys=True)
want = collections.Counter()
for f in glob.glob(fout + "/pb*"):
    for line in open(f):
        want[key(json.loads(line))] += 1
got_idx = json.load(open(docs))
probs = json.load(open(problems))
if probs:
    sys.exit(f"FAIL: {name}: stand-in saw protocol problems: {probs[:5]}")
if set(got_idx) - {"packetbeat-8.17.2"}:
    sys.exit(f"FAIL: {name}: unexpected indices {list(got_idx)}")
got = collections.Counter(key(d) for d in got_idx.get("packetbeat-8.17.2", []))
missing = want - got
extra = got - want
n = sum(want.values())
if mode == "exact":
    if missing or extra:
        sys.exit(f"FAIL: {name}: {sum(missing.values())} missing, {sum(extra.values())} extra of {n}")
elif mode == "superset":
    if missing:
        sys.exit(f"FAIL: {name}: {sum(missing.values())} of {n} missing")
    if set(extra) - set(want):
        sys.exit(f"FAIL: {name}: documents that were never sent")
elif mode.startswith("dropped:"):
    d = int(mode.split(":")[1])
    if extra or sum(missing.values()) != d:
        sys.exit(f"FAIL: {name}: want {d} dropped, got {sum(missing.values())} missing, {sum(extra.values())} extra")
print(f"ok: {name}: {sum(got.values())} documents for {n} events ({mode})")
PY
}

# 1. plain run: compression_level defaults to 1, so every _bulk is gzipped
ctl /_standin/expect '{"gzip": true}' >/dev/null
es_run plain </dev/null
compare plain exact
ctl /_standin/reset >/dev/null
ctl /_standin/expect '{"gzip": false}' >/dev/null
es_run nogzip <<YML
  compression_level: 0
YML
compare nogzip exact
ctl /_standin/requests > "$T/nogzip.requests"
python3 - "$T/nogzip.requests" <<'PY'
import json, sys
bulk = [r for r in json.load(open(sys.argv[1])) if r["path"].startswith("/_bulk")]
assert bulk and all(r["headers"]["content-type"] == "application/json; charset=UTF-8"
                    for r in bulk), [r["headers"].get("content-type") for r in bulk]
assert all("content-encoding" not in r["headers"] for r in bulk)
print("ok: _bulk content type as libbeat sends it, no gzip at compression_level 0")
PY
ctl /_standin/expect '{"gzip": true}' >/dev/null
grep -q '"packetbeat-8.17.2"' "$T/plain.state" || { echo "FAIL: no template on connect"; exit 1; }

# 2. whole-request failures and per-item 429/503, max_retries -1
ctl /_standin/reset >/dev/null
ctl /_standin/faults '[{"whole":429},{"close":true},{"whole":503},{"items":[201,429,503]},
  {"close":true},{"items":[429]},{"whole":502},{"items":[503,201]}]' >/dev/null
es_run retry <<YML
  max_retries: -1
YML
compare retry exact
grep -q '"faults_left": 0' "$T/retry.state" || { echo "FAIL: retry: faults not all used"; cat "$T/retry.state"; exit 1; }

# 3. answers past the timeout, short answers: nothing missing
ctl /_standin/reset >/dev/null
ctl /_standin/faults '[{"slow":2},{"short":true},{"garbage":true},{"slow":2}]' >/dev/null
es_run slow <<YML
  max_retries: -1
  timeout: 1s
YML
compare slow superset
grep -q 'failed to perform any bulk index operations' "$T/slow.log" ||
    { echo "FAIL: slow: no timeout error logged"; exit 1; }

# 4. per-item 400: dropped, logged, not retried (batches of one event here:
#    flush.min_events 1; every other request refuses its item -> 8 dropped)
# (no event data log yet: it is created by its first line)
ls "$T/home/logs"/packetbeat-events-data-* >/dev/null 2>&1 &&
    { echo "FAIL: an event data log before any event was dropped"; exit 1; }
ctl /_standin/reset >/dev/null
ctl /_standin/faults "[$(python3 -c 'print(",".join(["{\"items\":[400]},{}"] * 8))')]" >/dev/null
es_run drop4xx <<YML
  max_retries: -1
YML
compare drop4xx dropped:8
n=$(grep -c 'Cannot index event (status=400): dropping event!' "$T/drop4xx.log" || true)
[ "$n" -eq 8 ] || { echo "FAIL: drop4xx: $n drop messages, want 8"; exit 1; }
#    the dropped events and their errors are in the event data log only
#    (path.logs/packetbeat-events-data-*.ndjson, even with -e), one line each
check_event_log() { # $1 name, $2 mode: drop | dlq
    python3 - "$T/fout" "$T/home/logs" "$T/$1.log" "$T/$1.docs" "$2" "$1" <<'PY'
import collections, glob, json, re, sys
fout, logs, mainlog, docs, mode, name = sys.argv[1:7]
def key(e):
    e = dict(e)
    e.pop("@metadata", None)
    e.get("agent", {}).pop("ephemeral_id", None)
    return json.dumps(e, sort_keys=True)
sent = collections.Counter()
for f in glob.glob(fout + "/pb*"):
    for line in open(f):
        sent[key(json.loads(line))] += 1
files = glob.glob(logs + "/packetbeat-events-data-*.ndjson")
if len(files) != 1:
    sys.exit(f"FAIL: {name}: event data files {files}")
lines = [json.loads(l) for l in open(files[0])]
main = open(mainlog).read()
if "'{" in main or '"log.type"' in main:
    sys.exit(f"FAIL: {name}: event data in the main log")
def parse(m, what, tail):
    r = re.fullmatch(re.escape(what) + r" '(.*)' \(status=400\): (.*)" + re.escape(tail), m, re.S)
    if r is None:
        sys.exit(f"FAIL: {name}: event data line {m[:200]!r}")
    err = json.loads(r.group(2))
    if err.get("type") != "document_parsing_exception":
        sys.exit(f"FAIL: {name}: item error {err}")
    return json.loads(r.group(1))
for l in lines:
    if l.get("log.type") != "event" or l.get("log.logger") != "elasticsearch":
        sys.exit(f"FAIL: {name}: event data line fields {l}")
msgs = [l["message"] for l in lines]
if mode == "drop":
    if len(msgs) != 8 or any(l["log.level"] != "warn" for l in lines):
        sys.exit(f"FAIL: {name}: {len(msgs)} event data lines, want 8 warnings")
    got = collections.Counter(key(parse(m, "Cannot index event", ", dropping event!")) for m in msgs)
    indexed = collections.Counter(key(d) for d in json.load(open(docs)).get("packetbeat-8.17.2", []))
    if got != sent - indexed:
        sys.exit(f"FAIL: {name}: the logged events are not the dropped ones")
else:
    tried = [m for m in msgs if m.endswith(", trying dead letter index")]
    lost = [m for m in msgs if m.startswith("Can't deliver to dead letter index event")]
    if len(tried) + len(lost) != len(msgs) or not tried or not lost:
        sys.exit(f"FAIL: {name}: event data lines {[m[:60] for m in msgs]}")
    for m in tried:
        if key(parse(m, "Cannot index event", ", trying dead letter index")) not in sent:
            sys.exit(f"FAIL: {name}: logged event was never sent: {m[:200]}")
    for m in lost:
        d = parse(m, "Can't deliver to dead letter index event", "")
        if d.get("error.type") != 400 or d.get("message") is None:
            sys.exit(f"FAIL: {name}: not a dead letter document: {m[:200]}")
    for what, n in (("trying dead letter index", len(tried)),
                    ("Can't deliver to dead letter index event", len(lost))):
        if main.count(what) != n:
            sys.exit(f"FAIL: {name}: {main.count(what)} main log lines '{what}', {n} event data lines")
print(f"ok: {name}: {len(msgs)} event data lines, none in the main log")
PY
}
check_event_log drop4xx drop

# 4b. non_indexable_policy.dead_letter_index: a refused event goes there as
#     a dead letter document; one the dead letter index refuses too is lost
#     (both logged with the event in the event data log)
rm -f "$T/home/logs"/packetbeat-events-data-*
ctl /_standin/reset >/dev/null
ctl /_standin/faults '[{"items":[400]},{"items":[400]},{"items":[400]},{}]' >/dev/null
es_run dlq <<YML
  max_retries: -1
  non_indexable_policy.dead_letter_index.index: pb-dead-letters
YML
check_event_log dlq dlq

# 5. setup --index-management
ctl /_standin/reset >/dev/null
base_cfg "$T/setup.yml" <<YML
output.elasticsearch:
  hosts: ["127.0.0.1:$PORT"]
YML
"$BIN" setup --index-management -c "$T/setup.yml" --path.home "$T/home" > "$T/setup.out" 2>&1 ||
    { cat "$T/setup.out"; echo "FAIL: setup failed"; exit 1; }
grep -qx 'Index setup finished.' "$T/setup.out" || { cat "$T/setup.out"; echo "FAIL: setup output"; exit 1; }
ctl /_standin/state > "$T/setup.state"
python3 - "$T/setup.state" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["templates"].get("packetbeat-8.17.2")
assert t and t["index_patterns"] == ["packetbeat-8.17.2"] and "data_stream" in t, s["templates"].keys()
assert t["template"]["settings"]["index"]["lifecycle"]["name"] == "packetbeat", t["template"]["settings"]
assert "hot" in s["policies"]["packetbeat"]["policy"]["phases"], s["policies"]
assert "packetbeat-8.17.2" in s["streams"], s["streams"]
print("ok: setup --index-management loaded template, ILM policy and data stream")
PY
"$BIN" setup --dashboards -c "$T/setup.yml" --path.home "$T/home" -E setup.kibana.host=127.0.0.1:1 \
    > "$T/dash.out" 2>&1 && { echo "FAIL: --dashboards without Kibana succeeded"; exit 1; }
grep -q 'error connecting to Kibana' "$T/dash.out" || { cat "$T/dash.out"; echo "FAIL: dashboards message"; exit 1; }
grep -qx 'Loading dashboards (Kibana must be running and reachable)' "$T/dash.out" ||
    { cat "$T/dash.out"; echo "FAIL: dashboards progress line"; exit 1; }

# 6. test output
"$BIN" test output -c "$T/setup.yml" --path.home "$T/home" > "$T/test.out" 2>&1 ||
    { cat "$T/test.out"; echo "FAIL: test output failed"; exit 1; }
cat > "$T/test.want" <<TXT
elasticsearch: http://127.0.0.1:$PORT...
  parse url... OK
  connection...
    parse host... OK
    dns lookup... OK
    addresses: 127.0.0.1
    dial up... OK
  TLS... WARN secure connection disabled
  talk to server... OK
  version: 8.17.2
TXT
diff "$T/test.want" "$T/test.out" || { echo "FAIL: test output text"; exit 1; }
if "$BIN" test output -c "$T/setup.yml" --path.home "$T/home" \
    -E 'output.elasticsearch.hosts=["127.0.0.1:1"]' > "$T/test2.out" 2>&1; then
    echo "FAIL: test output against a closed port succeeded"; exit 1
fi
grep -q '    dial up... ERROR dial tcp 127.0.0.1:1: connect: connection refused' "$T/test2.out" ||
    { cat "$T/test2.out"; echo "FAIL: test output error text"; exit 1; }
if "$BIN" test output -c "$T/setup.yml" --path.home "$T/home" -E output.elasticsearch.api_key=a:b \
    -E output.elasticsearch.username=u > "$T/both.out" 2>&1; then
    echo "FAIL: api_key + username accepted"; exit 1
fi
grep -q 'cannot set both api_key and username/password' "$T/both.out" ||
    { cat "$T/both.out"; echo "FAIL: api_key + username message"; exit 1; }
echo "ok: test output"

# 7. an older Elasticsearch with allow_older_versions: false
stop_standin
start_standin 8.16.0
base_cfg "$T/old.yml" <<YML
output.elasticsearch:
  hosts: ["127.0.0.1:$PORT"]
  allow_older_versions: false
YML
timeout -k 1 5 "$BIN" -e -c "$T/old.yml" --path.home "$T/home" -I "$PCAP" -t \
    -E packetbeat.shutdown_timeout=1s > "$T/old.log" 2>&1 || true
grep -q 'Elasticsearch is too old.*ES=8.16.0, Beat=8.17.2' "$T/old.log" ||
    { tail -5 "$T/old.log"; echo "FAIL: old ES not refused"; exit 1; }
[ "$(ctl /_standin/docs)" = "{}" ] || { echo "FAIL: events sent to an old ES"; exit 1; }
echo "PASS: elasticsearch output"
