#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/beat/test_dashboards.py - the Kibana saved objects of dashboards/.

Checks every dashboards/*.ndjson file:

1. shape: each line parses as a saved object with type, id, attributes,
   references (a list), coreMigrationVersion and typeMigrationVersion;
   (type, id) pairs are unique across the files; the files are what
   dashboards/gen.py writes (not edited by hand out of step);
2. references: every reference of every object resolves to an object of the
   set; every by-value Lens panel's own references appear in the dashboard's
   references as "<panelIndex>:<name>"; panel indexes are unique and match
   gridData.i; Lens layers, column order, accessors and terms ordering point
   at columns that exist;
3. fields: every field a visualisation reads (sourceField, and the fields
   its KQL query names) is mapped by the index template that
   `packetbeat export template` generates, with a type that fits the Lens
   data type (number <-> numeric types, ip <-> ip, string <-> keyword
   family, boolean, date);
4. the binary: `packetbeat export dashboard --id <id>` with no Kibana prints
   each dashboard exactly as the file holds it (the set is embedded), and
   `export index-pattern` prints the data view `packetbeat-*`.

Usage: test_dashboards.py --bin build/packetbeat [--src tree]
Prints 'N passed, N failed'; exit 1 on any failure.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {"passed": 0, "failed": 0}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float",
           "scaled_float", "unsigned_long"}
STRINGS = {"keyword", "wildcard", "constant_keyword", "text", "match_only_text"}
VERSION_RX = re.compile(r"^\d+\.\d+\.\d+$")


def check(ok, what):
    if ok:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print("FAIL " + what)
    return ok


def run(binary, tmp, *args):
    cfg = os.path.join(tmp, "packetbeat.yml")
    if not os.path.exists(cfg):
        with open(cfg, "w") as f:
            f.write("output.console: {}\nsetup.kibana.host: 127.0.0.1:1\n")
        os.chmod(cfg, 0o600)
    cmd = [binary, "-c", cfg, "--path.home", tmp, "--path.config", tmp, "--path.data",
           os.path.join(tmp, "data"), "--path.logs", os.path.join(tmp, "logs")] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def template_fields(binary, tmp):
    p = run(binary, tmp, "export", "template")
    if p.returncode != 0:
        raise SystemExit("export template failed: " + p.stderr)
    props = json.loads(p.stdout)["template"]["mappings"]["properties"]
    out = {}

    def walk(ps, prefix):
        for k, v in ps.items():
            name = prefix + k
            if "properties" in v:
                walk(v["properties"], name + ".")
                continue
            t = v.get("type", "object")
            if t == "alias":
                out[name] = ("alias", v.get("path"))
            else:
                out[name] = (t, None)
            for sk, sv in v.get("fields", {}).items():
                out[name + "." + sk] = (sv.get("type"), None)

    walk(props, "")
    # resolve aliases
    for n, (t, target) in list(out.items()):
        if t == "alias":
            out[n] = (out.get(target, ("missing", None))[0], None)
    return {n: t for n, (t, _) in out.items()}


def fits(lens_type, es_type):
    if lens_type == "number":
        return es_type in NUMERIC
    if lens_type == "string":
        return es_type in STRINGS
    if lens_type in ("ip", "boolean"):
        return es_type == lens_type
    if lens_type == "date":
        return es_type in ("date", "date_nanos")
    return False


def kql_fields(q):
    """Field names in a simple KQL query ('a.b: "x" and not c: y')."""
    q = re.sub(r'"(?:[^"\\]|\\.)*"', '""', q)
    return re.findall(r"([A-Za-z_@][\w.@]*)\s*:", q)


def check_panel(path, dash, panel, dash_refs, fields, seen_panels):
    pid = panel.get("panelIndex")
    where = "%s %s panel %s" % (path, dash["id"], pid)
    check(pid and pid not in seen_panels, where + ": unique panelIndex")
    seen_panels.add(pid)
    check(panel.get("gridData", {}).get("i") == pid, where + ": gridData.i == panelIndex")
    g = panel.get("gridData", {})
    check(all(isinstance(g.get(k), int) for k in "xywh") and g["x"] + g["w"] <= 48,
          where + ": grid within 48 columns")
    check(panel.get("type") == "lens", where + ": a Lens panel")
    attrs = panel.get("embeddableConfig", {}).get("attributes", {})
    check(attrs.get("type") == "lens" and attrs.get("visualizationType") in (
        "lnsXY", "lnsPie", "lnsMetric", "lnsDatatable"), where + ": lens attributes")
    for r in attrs.get("references", []):
        check("%s:%s" % (pid, r["name"]) in dash_refs, where + ": reference %s in the "
              "dashboard's references" % r["name"])
        check(dash_refs.get("%s:%s" % (pid, r["name"])) == (r["type"], r["id"]),
              where + ": same target for %s" % r["name"])
    state = attrs.get("state", {})
    layers = state.get("datasourceStates", {}).get("formBased", {}).get("layers", {})
    check(len(layers) >= 1, where + ": has a data layer")
    all_cols = set()
    for lid, layer in layers.items():
        check("indexpattern-datasource-layer-" + lid in {r["name"] for r in attrs.get(
            "references", [])}, where + ": layer %s has a data view reference" % lid)
        cols = layer.get("columns", {})
        check(sorted(layer.get("columnOrder", [])) == sorted(cols), where + ": columnOrder")
        all_cols |= set(cols)
        for cid, c in cols.items():
            sf = c.get("sourceField")
            if c.get("operationType") == "terms":
                ob = c.get("params", {}).get("orderBy", {})
                check(ob.get("type") != "column" or ob.get("columnId") in cols,
                      where + ": terms %s ordered by an existing column" % sf)
            if sf is None or sf == "___records___":
                continue
            es = fields.get(sf)
            check(es is not None, where + ": field %s is in the template" % sf)
            if es is not None:
                lt = c.get("dataType")
                if c.get("operationType") in ("unique_count", "count"):
                    lt = None  # counts work on any type
                check(lt is None or fits(lt, es),
                      where + ": %s is %s in the template, Lens says %s" % (sf, es, lt))
    q = state.get("query", {})
    check(q.get("language") == "kuery", where + ": KQL query")
    for f in kql_fields(q.get("query", "")):
        check(f in fields, where + ": query field %s is in the template" % f)
    vis = state.get("visualization", {})
    ids = set()
    for key in ("metricAccessor", "layerId"):
        if key in vis:
            ids.add(vis[key])
    for layer in vis.get("layers", []):
        for k in ("xAccessor", "splitAccessor"):
            if layer.get(k):
                ids.add(layer[k])
        ids |= set(layer.get("accessors", []) + layer.get("primaryGroups", []) +
                   layer.get("metrics", []))
        check(layer.get("layerId") in layers, where + ": visualization layer exists")
    for c in vis.get("columns", []):
        ids.add(c["columnId"])
    ids -= set(layers)
    check(ids <= all_cols, where + ": accessors name existing columns %s" % (ids - all_cols))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--src", default=os.path.abspath(os.path.join(HERE, "..", "..")))
    a = ap.parse_args()
    ddir = os.path.join(a.src, "dashboards")
    files = sorted(glob.glob(os.path.join(ddir, "*.ndjson")))
    check(len(files) >= 14, "dashboards/ has the data view and 13 dashboards (%d files)"
          % len(files))
    g = subprocess.run([sys.executable, os.path.join(ddir, "gen.py"), "--check"],
                       capture_output=True, text=True)
    check(g.returncode == 0, "dashboards/*.ndjson are what gen.py writes: " + g.stdout.strip())

    with tempfile.TemporaryDirectory() as tmp:
        fields = template_fields(a.bin, tmp)
        objects = {}
        per_file = {}
        for path in files:
            name = os.path.basename(path)
            per_file[name] = []
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        o = json.loads(line)
                    except ValueError as e:
                        check(False, "%s:%d parses: %s" % (name, n, e))
                        continue
                    ok = check(isinstance(o, dict) and all(
                        k in o for k in ("type", "id", "attributes", "references")),
                        "%s:%d has type, id, attributes, references" % (name, n))
                    if not ok:
                        continue
                    check(isinstance(o["references"], list), "%s:%d references list" % (name, n))
                    for k in ("coreMigrationVersion", "typeMigrationVersion"):
                        check(VERSION_RX.match(str(o.get(k, ""))) is not None,
                              "%s:%d %s is a version" % (name, n, k))
                    key = (o["type"], o["id"])
                    check(key not in objects, "%s:%d %s/%s is unique" % (name, n, *key))
                    objects[key] = o
                    per_file[name].append(o)
        dv = objects.get(("index-pattern", "packetbeat-*"))
        if check(dv is not None, "the data view packetbeat-* is there"):
            at = dv["attributes"]
            check(at.get("title") == "packetbeat-*" and at.get("timeFieldName") == "@timestamp",
                  "data view title and time field")
            for f in json.loads(at.get("fieldFormatMap", "{}")):
                check(f in fields, "data view format for %s: field in the template" % f)
        dashboards = [o for o in objects.values() if o["type"] == "dashboard"]
        check(len(dashboards) == 13, "13 dashboards (%d)" % len(dashboards))
        for name, objs in per_file.items():
            for o in objs:
                for r in o["references"]:
                    check((r.get("type"), r.get("id")) in objects,
                          "%s %s: reference %s/%s resolves" % (name, o["id"], r.get("type"),
                                                               r.get("id")))
                if o["type"] != "dashboard":
                    continue
                at = o["attributes"]
                check(at.get("title", "").startswith("[Packetbeat] "), "%s title" % o["id"])
                refs = {r["name"]: (r["type"], r["id"]) for r in o["references"]}
                check(len(refs) == len(o["references"]), "%s: reference names unique" % o["id"])
                try:
                    panels = json.loads(at["panelsJSON"])
                    json.loads(at["optionsJSON"])
                    json.loads(at["kibanaSavedObjectMeta"]["searchSourceJSON"])
                except (KeyError, ValueError) as e:
                    check(False, "%s: panelsJSON/optionsJSON/searchSourceJSON: %s" % (o["id"], e))
                    continue
                check(3 <= len(panels) <= 12, "%s: a few panels (%d)" % (o["id"], len(panels)))
                seen = set()
                for p in panels:
                    check_panel(name, o, p, refs, fields, seen)

        # 4. the binary carries the same set
        for d in dashboards:
            p = run(a.bin, tmp, "export", "dashboard", "--id", d["id"])
            ok = check(p.returncode == 0, "export dashboard --id %s: %s" % (d["id"], p.stderr[-300:]))
            if ok:
                got = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
                check(got == [d], "export dashboard --id %s prints the embedded object" % d["id"])
        p = run(a.bin, tmp, "export", "dashboard", "--id", "no-such-dashboard")
        check(p.returncode != 0 and "no-such-dashboard" in p.stderr,
              "export dashboard of an unknown id fails")
        p = run(a.bin, tmp, "export", "index-pattern")
        if check(p.returncode == 0, "export index-pattern: " + p.stderr[-300:]):
            ip = json.loads(p.stdout)
            check(ip["id"] == "packetbeat-*" and ip["type"] == "index-pattern",
                  "export index-pattern id/type")
            names = {f["name"]: f for f in json.loads(ip["attributes"]["fields"])}
            check(names.get("client.ip", {}).get("type") == "ip", "data view field client.ip ip")
            check(names.get("event.duration", {}).get("type") == "number",
                  "data view field event.duration number")

    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
