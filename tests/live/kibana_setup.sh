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
#     and export index-pattern;
#  6. zip archives (setup.dashboards.file, and url from an HTTP server on
#     127.0.0.1): <top>/packetbeat/7/... imported, other beats' directories
#     not, string_replacements and CHANGEME_HOSTNAME applied; a traversal
#     entry, a bad CRC, a file that is not a zip, an entry past the size cap
#     and a failed download refused with their message; a missing directory
#     is "Skipping loading dashboards"; the temporary directory is removed;
#  7. setup.dashboards.enabled at run start.
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
# 6. zip archives: setup.dashboards.file / url
ZD="$T/zips"
mkdir -p "$ZD" "$T/tmp"
python3 - "$ZD" <<'PY'
import json, sys, zipfile
d = sys.argv[1]
search = {"attributes": {"title": "DNS errors TITLE_TOKEN", "columns": ["dns.question.name"],
          "kibanaSavedObjectMeta": {"searchSourceJSON": "{\"query\":{\"query\":\"\",\"language\":\"kuery\"},\"indexRefName\":\"kibanaSavedObjectMeta.searchSourceJSON.index\"}"}},
          "id": "errors", "type": "search", "typeMigrationVersion": "8.0.0", "coreMigrationVersion": "8.8.0",
          "references": [{"id": "packetbeat-*", "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern"}]}
def dash(i, title):
    return {"attributes": {"title": title, "description": "on CHANGEME_HOSTNAME",
            "panelsJSON": "[{\"type\":\"search\",\"panelIndex\":\"1\",\"gridData\":{\"x\":0,\"y\":0,\"w\":24,\"h\":15,\"i\":\"1\"},\"embeddableConfig\":{},\"panelRefName\":\"panel_1\"}]",
            "timeRestore": False, "version": 1}, "id": i, "type": "dashboard", "typeMigrationVersion": "8.9.0",
            "coreMigrationVersion": "8.8.0", "references": [{"id": "errors", "name": "1:panel_1", "type": "search"}]}
D, S = zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED
def mk(name, entries):
    with zipfile.ZipFile(d + "/" + name, "w") as z:
        for n, data, m in entries:
            z.writestr(n, data, m)
top = "beats-dashboards-8.17.2/"
good = [(top + "packetbeat/7/dashboard/mine.json", json.dumps(dash("mine", "Mine TITLE_TOKEN")), D),
        (top + "packetbeat/7/search/errors.json", json.dumps(search), S),
        (top + "metricbeat/7/dashboard/other.json", json.dumps(dash("other", "Other")), D),
        (top + "metricbeat/7/search/errors.json", json.dumps(search), D)]
mk("good.zip", good)
mk("traversal.zip", good[:2] + [(top + "../../escaped.json", "{}", S)])
mk("absolute.zip", good[:2] + [("/escaped.json", "{}", S)])
mk("bomb.zip", good[:2] + [(top + "packetbeat/7/dashboard/zeros.json", bytes(65 << 20), D)])
mk("nodash.zip", [(top + "packetbeat/README", "nothing here", S)])
mk("crc.zip", good[:2])
b = bytearray(open(d + "/crc.zip", "rb").read())
i = b.index(b"DNS errors TITLE_TOKEN")  # stored: the entry's bytes as they are
b[i] ^= 1
open(d + "/crc.zip", "wb").write(bytes(b))
open(d + "/notzip.zip", "w").write("this is not a zip archive\n")
PY
python3 -c 'import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
__import__("os").rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$ZD" "$T/hport" > "$T/http.log" 2>&1 &
HPID=$!
trap 'kill $HPID 2>/dev/null || true; cleanup' EXIT INT TERM
wait_port "$T/hport"
HURL="http://127.0.0.1:$(cat "$T/hport")"
zpb() { TMPDIR="$T/tmp" pb setup --dashboards -c "$T/key.yml" "$@"; }
tmp_clean() {
    [ -z "$(ls -A "$T/tmp")" ] || { ls -lR "$T/tmp"; echo "FAIL: temporary directory left ($1)"; exit 1; }
    [ ! -e "$T/escaped.json" ] && [ ! -e /escaped.json ] || { echo "FAIL: an entry escaped ($1)"; exit 1; }
}
check_archive() { # $1 what
    ctl "$KURL" /_standin/requests > "$T/zip.req"
    ctl "$KURL" /_standin/objects > "$T/zip.obj"
    python3 - "$T/zip.req" "$T/zip.obj" "$1" <<'PY'
import json, socket, sys
reqs = json.load(open(sys.argv[1])); objs = json.load(open(sys.argv[2]))["default"]
imp = [r for r in reqs if "_import" in r["path"]]
assert [r["filename"] for r in imp] == ["index-template.ndjson", "mine.ndjson"], imp
assert imp[1]["objects"] == ["search/errors", "dashboard/mine"], imp[1]["objects"]
assert set(objs) == {"index-pattern/packetbeat-*", "search/errors", "dashboard/mine"}, objs.keys()
a = objs["dashboard/mine"]["attributes"]
assert a["title"] == "Mine Replaced", a["title"]
assert a["description"] == "on " + socket.gethostname(), a["description"]
assert objs["search/errors"]["attributes"]["title"] == "DNS errors Replaced", objs["search/errors"]
print("ok: archive from %s: packetbeat/7 imported, metricbeat/7 not, replacements applied" % sys.argv[3])
PY
}
R='setup.dashboards.string_replacements.TITLE_TOKEN=Replaced'
ctl "$KURL" /_standin/reset >/dev/null
# the directory is ignored when an archive is set, as in libbeat
zpb -E setup.dashboards.file="$ZD/good.zip" -E "$R" -E setup.dashboards.directory=/nonexistent \
    > "$T/zip1.out" 2>&1 || { cat "$T/zip1.out"; echo "FAIL: setup from a zip file"; exit 1; }
grep -qxF 'Loaded dashboards' "$T/zip1.out" || { cat "$T/zip1.out"; echo "FAIL: zip file output"; exit 1; }
check_archive file
tmp_clean file
ctl "$KURL" /_standin/reset >/dev/null
zpb -E setup.dashboards.url="$HURL/good.zip" -E "$R" > "$T/zip2.out" 2>&1 ||
    { cat "$T/zip2.out"; echo "FAIL: setup from a zip url"; exit 1; }
check_archive url
tmp_clean url
grep -q '"GET /good.zip HTTP/1.1" 200' "$T/http.log" || { cat "$T/http.log"; echo "FAIL: url not fetched"; exit 1; }
# file before url
ctl "$KURL" /_standin/reset >/dev/null
zpb -E setup.dashboards.file="$ZD/good.zip" -E setup.dashboards.url="$HURL/missing.zip" -E "$R" \
    > "$T/zip3.out" 2>&1 || { cat "$T/zip3.out"; echo "FAIL: file did not win over url"; exit 1; }
check_archive "file (url also set)"
# refusals: $1 zip (or url), $2 the expected message (grep -F)
refused() {
    ctl "$KURL" /_standin/reset >/dev/null
    case "$1" in
    http*) set -- "setup.dashboards.url=$1" "$2" ;;
    *) set -- "setup.dashboards.file=$ZD/$1" "$2" ;;
    esac
    zpb -E "$1" > "$T/zr.out" 2>&1 && { cat "$T/zr.out"; echo "FAIL: $1 accepted"; exit 1; }
    grep -qF "Exiting: Error importing Kibana dashboards: fail to import the dashboards in Kibana: Error importing URL/file: $2" "$T/zr.out" ||
        { cat "$T/zr.out"; echo "FAIL: $1: message, expected '$2'"; exit 1; }
    ctl "$KURL" /_standin/objects | grep -q 'dashboard/' && { echo "FAIL: $1: dashboards imported"; exit 1; }
    tmp_clean "$1"
}
refused traversal.zip "Failed to unzip the archive: $ZD/traversal.zip: Zip file contains files outside of the target directory: beats-dashboards-8.17.2/../../escaped.json"
refused absolute.zip "Failed to unzip the archive: $ZD/absolute.zip: Zip file contains files outside of the target directory: /escaped.json"
refused crc.zip "Failed to unzip the archive: $ZD/crc.zip: zip: checksum error (beats-dashboards-8.17.2/packetbeat/7/search/errors.json)"
refused notzip.zip "Failed to unzip the archive: $ZD/notzip.zip: zip: not a valid zip file"
refused nosuch.zip "Failed to unzip the archive: $ZD/nosuch.zip: open $ZD/nosuch.zip: No such file or directory"
refused bomb.zip "Failed to unzip the archive: $ZD/bomb.zip: zip: beats-dashboards-8.17.2/packetbeat/7/dashboard/zeros.json is 68157440 bytes uncompressed, more than the cap of 67108864 bytes an entry"
refused "$HURL/missing.zip" "Failed to download file: $HURL/missing.zip. Error: Server returned: 404 File not found"
refused "http://127.0.0.1:1/x.zip" "Failed to download file: http://127.0.0.1:1/x.zip. Error: Get \"http://127.0.0.1:1/x.zip\": "
echo "ok: archives refused (traversal, absolute name, CRC, not a zip, missing, size cap, download)"
# nothing to load: libbeat's ErrNotFound, reported and not a failure
ctl "$KURL" /_standin/reset >/dev/null
zpb -E setup.dashboards.file="$ZD/nodash.zip" > "$T/zn.out" 2>&1 ||
    { cat "$T/zn.out"; echo "FAIL: archive without dashboards failed"; exit 1; }
grep -q '^Skipping loading dashboards, Error importing Kibana dashboards: fail to import the dashboards in Kibana: Error importing URL/file: No directory .*/beats-dashboards-8.17.2/packetbeat/7$' "$T/zn.out" ||
    { cat "$T/zn.out"; echo "FAIL: archive without dashboards: message"; exit 1; }
tmp_clean nodash
zpb -E setup.dashboards.directory="$T/nonexistent" > "$T/zd.out" 2>&1 ||
    { cat "$T/zd.out"; echo "FAIL: missing directory failed"; exit 1; }
grep -qxF "Skipping loading dashboards, Error importing Kibana dashboards: fail to import the dashboards in Kibana: Error importing directory $T/nonexistent: No directory $T/nonexistent/7" "$T/zd.out" ||
    { cat "$T/zd.out"; echo "FAIL: missing directory: message"; exit 1; }
grep -q 'Loaded dashboards' "$T/zd.out" && { echo "FAIL: missing directory said loaded"; exit 1; }
kill $HPID 2>/dev/null || true
echo "ok: zip archives"

# 7. setup.dashboards.enabled: loaded when the beat starts (run)
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
