#!/bin/sh
# Live test: `packetbeat setup` against the Elasticsearch stand-in
# (tests/peers/es-standin.py) and the Kibana stand-in
# (tests/peers/kibana-standin.py) on 127.0.0.1; runs as any user.
#  1. `setup` loads template, ILM policy, data stream into ES and the data
#     view plus every embedded dashboard into Kibana (multipart imports with
#     kbn-xsrf, overwrite=true, every reference resolved);
#  2. credentials from output.elasticsearch reach Kibana; setup.kibana.path
#     and space.id land under /s/<space>; setup.dashboards.index rewrites
#     every index-pattern reference;
#  3. failures: an import Kibana refuses (500, success:false) fails setup;
#     a Kibana that is not ready yet is retried with setup.dashboards.retry;
#  4. setup.dashboards.directory in libbeat's layout (7/dashboard/*.json
#     with referenced objects beside it);
#  5. export dashboard (from Kibana, and embedded when Kibana is absent)
#     and export index-pattern.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
T=$(mktemp -d /tmp/pb-live-kb.XXXXXX)
mkdir -p "$T/home"
ESPID=
KPID=
cleanup() {
    [ -n "$ESPID" ] && kill "$ESPID" 2>/dev/null || true
    [ -n "$KPID" ] && kill "$KPID" 2>/dev/null || true
    [ -n "${PB_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

wait_port() { # $1 file
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "FAIL: stand-in did not start ($1)"; exit 1; }
        sleep 0.05
    done
}
start_kibana() { # extra args
    rm -f "$T/kport"
    python3 "$HERE/../peers/kibana-standin.py" --portfile "$T/kport" "$@" > "$T/kibana.log" 2>&1 &
    KPID=$!
    wait_port "$T/kport"
    KPORT=$(cat "$T/kport")
    KURL="http://127.0.0.1:$KPORT"
}
stop_kibana() { kill "$KPID" 2>/dev/null || true; wait "$KPID" 2>/dev/null || true; KPID=; }
python3 "$HERE/../peers/es-standin.py" --portfile "$T/eport" > "$T/es.log" 2>&1 &
ESPID=$!
wait_port "$T/eport"
EURL="http://127.0.0.1:$(cat "$T/eport")"
start_kibana

ctl() { # $1 base url, $2 path, [$3 json body]
    if [ $# -gt 2 ]; then
        python3 -c 'import sys,urllib.request as u; print(u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")).read().decode())' "$1$2" "$3"
    else
        python3 -c 'import sys,urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())' "$1$2"
    fi
}
cfg() { # $1 file, extra yaml on stdin
    {
        cat <<YML
packetbeat.protocols:
- type: dns
  ports: [53]
output.elasticsearch:
  hosts: ["127.0.0.1:$(cat "$T/eport")"]
setup.kibana:
  host: "127.0.0.1:$KPORT"
YML
        cat
    } > "$1"
    chmod 600 "$1"
}
pb() { "$BIN" --path.home "$T/home" --path.data "$T/home/data" --path.logs "$T/home/logs" "$@"; }
NDASH=$(ls "$HERE/../../dashboards/"*.ndjson | grep -vc index-pattern)

# checks what Kibana holds: $1 space, $2 expected data view id
check_kibana() {
    ctl "$KURL" /_standin/objects > "$T/objects.json"
    ctl "$KURL" /_standin/requests > "$T/requests.json"
    ctl "$KURL" /_standin/problems > "$T/problems.json"
    python3 - "$T" "$1" "$2" "$NDASH" <<'PY'
import json, sys
t, space, view, ndash = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
objs = json.load(open(t + "/objects.json")).get(space, {})
reqs = json.load(open(t + "/requests.json"))
probs = json.load(open(t + "/problems.json"))
assert not probs, probs
dv = objs.get("index-pattern/" + view)
assert dv, "no data view %s in %s" % (view, sorted(objs))
assert dv["attributes"]["title"] == view and dv["attributes"]["timeFieldName"] == "@timestamp"
fields = {f["name"]: f for f in json.loads(dv["attributes"]["fields"])}
assert fields["dns.question.name"]["type"] == "string", fields.get("dns.question.name")
assert fields["client.ip"]["type"] == "ip" and fields["event.duration"]["type"] == "number"
dash = [k for k in objs if k.startswith("dashboard/")]
assert len(dash) == ndash, (len(dash), ndash, sorted(objs))
for k, o in objs.items():
    for r in o.get("references", []):
        assert r["type"] == "index-pattern" and r["id"] == view, (k, r)
    for p in json.loads(o["attributes"].get("panelsJSON", "[]")):
        for r in p["embeddableConfig"]["attributes"]["references"]:
            assert r["id"] == view, (k, r)
imports = [r for r in reqs if r["path"].split("?")[0].endswith("/api/saved_objects/_import")]
assert imports, "no import requests"
for r in imports:
    assert "overwrite=true" in r["path"], r["path"]
    assert r["headers"].get("kbn-xsrf"), r["headers"]
    assert r["headers"]["content-type"].startswith("multipart/form-data; boundary="), r["headers"]
    assert r.get("part_type") == "application/ndjson", r
    assert r.get("space") == space, (r.get("space"), space)
assert imports[0]["filename"] == "index-template.ndjson", imports[0]
assert reqs[0]["path"].split("?")[0].endswith("/api/status"), reqs[0]
ua = reqs[0]["headers"].get("user-agent", "")
assert ua.startswith("Packetbeat/8.17.2"), ua
print("ok: kibana[%s]: data view %s + %d dashboards, %d imports" % (space, view, len(dash), len(imports)))
PY
}

# 1. setup: everything
cfg "$T/all.yml" </dev/null
pb setup -c "$T/all.yml" > "$T/all.out" 2>&1 || { cat "$T/all.out"; echo "FAIL: setup"; exit 1; }
for l in 'Index setup finished.' 'Loading dashboards (Kibana must be running and reachable)' \
    'Loaded dashboards'; do
    grep -qxF "$l" "$T/all.out" || { cat "$T/all.out"; echo "FAIL: setup output lacks '$l'"; exit 1; }
done
ctl "$EURL" /_standin/state > "$T/es.state"
python3 - "$T/es.state" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert "packetbeat-8.17.2" in s["templates"] and "packetbeat" in s["policies"], s.keys()
assert "packetbeat-8.17.2" in s["streams"], s["streams"]
print("ok: elasticsearch: template, ILM policy, data stream")
PY
check_kibana default packetbeat-*

# 2. credentials from the ES output, path + space, custom index
stop_kibana
start_kibana --username elastic --password changeme
cfg "$T/auth.yml" <<YML
  space.id: team-a
setup.dashboards.index: "netdata-*"
YML
sed -i 's/^output.elasticsearch:$/output.elasticsearch:\n  username: elastic\n  password: changeme/' "$T/auth.yml"
pb setup --dashboards -c "$T/auth.yml" > "$T/auth.out" 2>&1 ||
    { cat "$T/auth.out"; echo "FAIL: setup with credentials"; exit 1; }
check_kibana team-a 'netdata-*'
pb setup --dashboards -c "$T/auth.yml" -E setup.kibana.password=wrong > "$T/auth2.out" 2>&1 &&
    { echo "FAIL: wrong Kibana password accepted"; exit 1; }
grep -q 'Exiting: error connecting to Kibana: fail to get the Kibana version: HTTP GET request to http://127.0.0.1:[0-9]*/s/team-a/api/status fails' \
    "$T/auth2.out" || { cat "$T/auth2.out"; echo "FAIL: auth error text"; exit 1; }
stop_kibana
start_kibana --api-key "id1:secret"
cfg "$T/key.yml" <<YML
  api_key: "id1:secret"
  path: /kibana
YML
pb setup --dashboards -c "$T/key.yml" > "$T/key.out" 2>&1 &&
    { echo "FAIL: setup.kibana.path not honoured (stand-in serves /api)"; exit 1; }
grep -q "/kibana/api/status" "$T/key.out" || { cat "$T/key.out"; echo "FAIL: path"; exit 1; }
sed -i '/path: \/kibana/d' "$T/key.yml"
ctl "$KURL" /_standin/reset >/dev/null
pb setup --dashboards -c "$T/key.yml" > "$T/key.out" 2>&1 ||
    { cat "$T/key.out"; echo "FAIL: setup with api_key"; exit 1; }
check_kibana default packetbeat-*
echo "ok: credentials, space, path, index"

# 3. failures
ctl "$KURL" /_standin/reset >/dev/null
ctl "$KURL" /_standin/faults '[{"on":"import","status":500}]' >/dev/null
pb setup --dashboards -c "$T/key.yml" > "$T/f1.out" 2>&1 && { echo "FAIL: import 500 accepted"; exit 1; }
grep -q 'Exiting: Error importing Kibana dashboards: .*returned 500 to import file' "$T/f1.out" ||
    { cat "$T/f1.out"; echo "FAIL: import 500 message"; exit 1; }
# an import answered 200 with success: false (here the data view's)
ctl "$KURL" /_standin/reset >/dev/null
ctl "$KURL" /_standin/faults '[{"on":"import","fail":true}]' >/dev/null
pb setup --dashboards -c "$T/key.yml" > "$T/f2.out" 2>&1 && { echo "FAIL: success:false accepted"; exit 1; }
grep -q 'returned 200 to import file: error: unknown, asset ID=packetbeat-\*' "$T/f2.out" ||
    { cat "$T/f2.out"; echo "FAIL: success:false message"; exit 1; }
ctl "$KURL" /_standin/reset >/dev/null
ctl "$KURL" /_standin/faults '[{"on":"status","status":503},{"on":"status","close":true}]' >/dev/null
pb setup --dashboards -c "$T/key.yml" > "$T/f3.out" 2>&1 && { echo "FAIL: Kibana 503 accepted without retry"; exit 1; }
grep -q 'fails: 503' "$T/f3.out" || { cat "$T/f3.out"; echo "FAIL: 503 message"; exit 1; }
pb setup --dashboards -c "$T/key.yml" -E setup.dashboards.retry.enabled=true \
    -E setup.dashboards.retry.interval=0.1s -E setup.dashboards.retry.maximum=5 > "$T/f4.out" 2>&1 ||
    { cat "$T/f4.out"; echo "FAIL: retry did not get through"; exit 1; }
check_kibana default packetbeat-*
echo "ok: failures"

# 4. a directory in libbeat's layout
mkdir -p "$T/kb/7/dashboard" "$T/kb/7/search"
cat > "$T/kb/7/search/errors.json" <<'JSON'
{"attributes":{"title":"DNS errors","columns":["dns.question.name"],"kibanaSavedObjectMeta":{"searchSourceJSON":"{\"query\":{\"query\":\"dns.response_code: NXDOMAIN\",\"language\":\"kuery\"},\"indexRefName\":\"kibanaSavedObjectMeta.searchSourceJSON.index\"}"}},"coreMigrationVersion":"8.8.0","id":"errors","references":[{"id":"packetbeat-*","name":"kibanaSavedObjectMeta.searchSourceJSON.index","type":"index-pattern"}],"type":"search","typeMigrationVersion":"8.0.0"}
JSON
cat > "$T/kb/7/dashboard/mine.json" <<'JSON'
{"attributes":{"title":"Mine","panelsJSON":"[{\"type\":\"search\",\"panelIndex\":\"1\",\"gridData\":{\"x\":0,\"y\":0,\"w\":24,\"h\":15,\"i\":\"1\"},\"embeddableConfig\":{},\"panelRefName\":\"panel_1\"}]","timeRestore":false,"version":1},"coreMigrationVersion":"8.8.0","id":"mine","references":[{"id":"errors","name":"1:panel_1","type":"search"}],"type":"dashboard","typeMigrationVersion":"8.9.0"}
JSON
ctl "$KURL" /_standin/reset >/dev/null
pb setup --dashboards -c "$T/key.yml" -E setup.dashboards.directory="$T/kb" > "$T/dir.out" 2>&1 ||
    { cat "$T/dir.out"; echo "FAIL: setup from a directory"; exit 1; }
ctl "$KURL" /_standin/requests > "$T/dir.req"
ctl "$KURL" /_standin/objects > "$T/dir.obj"
python3 - "$T/dir.req" "$T/dir.obj" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1])); objs = json.load(open(sys.argv[2]))["default"]
imp = [r for r in reqs if "_import" in r["path"]]
assert [r["filename"] for r in imp] == ["index-template.ndjson", "mine.ndjson"], imp
assert imp[1]["objects"] == ["search/errors", "dashboard/mine"], imp[1]["objects"]
assert set(objs) == {"index-pattern/packetbeat-*", "search/errors", "dashboard/mine"}, objs.keys()
print("ok: directory in libbeat's layout")
PY

# 5. export
ctl "$KURL" /_standin/reset >/dev/null
pb setup --dashboards -c "$T/key.yml" > /dev/null 2>&1 || { echo "FAIL: reload"; exit 1; }
pb export dashboard --id packetbeat-dns -c "$T/key.yml" > "$T/exp-kibana.ndjson" 2> "$T/exp.err" ||
    { cat "$T/exp.err"; echo "FAIL: export dashboard from Kibana"; exit 1; }
ctl "$KURL" /_standin/requests | grep -q '/api/saved_objects/_export' ||
    { echo "FAIL: export did not ask Kibana"; exit 1; }
pb export dashboard --id packetbeat-dns -c "$T/key.yml" -E setup.kibana.host=127.0.0.1:1 \
    > "$T/exp-embedded.ndjson" 2> "$T/exp2.err" || { cat "$T/exp2.err"; echo "FAIL: export embedded"; exit 1; }
python3 - "$T/exp-kibana.ndjson" "$T/exp-embedded.ndjson" "$HERE/../../dashboards/dns.ndjson" <<'PY'
import json, sys
def objs(p):
    return [json.loads(l) for l in open(p) if l.strip()]
k, e, src = objs(sys.argv[1]), objs(sys.argv[2]), objs(sys.argv[3])
assert [o["type"] for o in k] == ["dashboard"], [o["type"] for o in k]
assert k == e == src, "exports differ"
print("ok: export dashboard (Kibana and embedded agree with dashboards/dns.ndjson)")
PY
pb export dashboard --id no-such -c "$T/key.yml" > /dev/null 2> "$T/exp3.err" &&
    { echo "FAIL: export of an unknown id succeeded"; exit 1; }
grep -q 'Error exporting dashboard: error exporting dashboard:' "$T/exp3.err" ||
    { cat "$T/exp3.err"; echo "FAIL: unknown id message"; exit 1; }
pb export index-pattern -c "$T/key.yml" > "$T/ip.json" || { echo "FAIL: export index-pattern"; exit 1; }
python3 - "$T/ip.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["type"] == "index-pattern" and d["id"] == "packetbeat-*", d.get("id")
assert d["attributes"]["title"] == "packetbeat-*" and d["coreMigrationVersion"]
names = {f["name"] for f in json.loads(d["attributes"]["fields"])}
assert {"@timestamp", "dns.question.name", "flow.id", "tls.cipher"} <= names
print("ok: export index-pattern (%d fields)" % len(names))
PY
# 6. setup.dashboards.enabled: loaded when the beat starts (run)
PCAP=$(ls "$HERE/../conformance/pcaps/"dns_*.pcap 2>/dev/null | head -1)
if [ -n "$PCAP" ]; then
    ctl "$KURL" /_standin/reset >/dev/null
    cfg "$T/run.yml" <<YML
  api_key: "id1:secret"
setup.dashboards.enabled: true
YML
    sed -i '/^output.elasticsearch:/,/^  hosts:/d' "$T/run.yml"
    printf 'output.file:\n  path: %s/fout\n' "$T" >> "$T/run.yml"
    pb -c "$T/run.yml" -I "$PCAP" -t > "$T/run.out" 2>&1 || { tail -5 "$T/run.out"; echo "FAIL: run"; exit 1; }
    check_kibana default packetbeat-*
    stop_kibana
    pb -c "$T/run.yml" -I "$PCAP" -t > "$T/run2.out" 2>&1 && { echo "FAIL: run without Kibana"; exit 1; }
    grep -q 'Exiting: error connecting to Kibana' "$T/run2.out" ||
        { tail -5 "$T/run2.out"; echo "FAIL: run without Kibana message"; exit 1; }
    echo "ok: setup.dashboards.enabled at run start"
fi
echo "PASS: kibana setup"
