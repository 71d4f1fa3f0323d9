#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/beat/test_template.py - the index template against reality.

Builds the template with `packetbeat export template` and checks:

1. shape: what Packetbeat 8.17.2's template has at the top (index_patterns,
   data_stream, priority, settings, _meta, date_detection, dynamic
   templates) and the setup.template.* / setup.ilm.* overrides;
2. coverage: every field name in the expected events of the conformance
   corpus (tests/conformance/cases.json and golden/*.json) and every field of
   dashboard_fields.txt is mapped by the template, lies under a declared
   object/flattened field, or is matched by a field-specific dynamic template;
3. types: values in the corpus fit the mapped type (an ip parses as an IP, a
   long is an integer, an object is an object, nothing is written into an
   alias), and fields whose names say what they are have that type (*.ip ->
   ip, *.port -> long, *.bytes -> long, timestamps -> date).

Usage: test_template.py --bin build/packetbeat [--src /path/to/tree]
Prints 'N passed, N failed'; exit 1 on any failure.
"""
import argparse
import fnmatch
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

RESULTS = {"passed": 0, "failed": 0}


def check(ok, what):
    if ok:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print("FAIL " + what)
    return ok


def export(binary, config, *args):
    """Runs `export template|ilm-policy` with config (a dict) and returns
    (rc, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "packetbeat.yml")
        with open(path, "w") as f:
            json.dump(config, f)
        os.chmod(path, 0o600)
        cmd = [binary, "-c", path, "--path.home", tmp, "--path.config", tmp,
               "--path.data", os.path.join(tmp, "data"), "--path.logs",
               os.path.join(tmp, "logs"), "export"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr, tmp


def export_json(binary, config, *args):
    rc, out, err, _ = export(binary, config, *args)
    if rc != 0:
        raise AssertionError("export %s failed (%d): %s" % (" ".join(args), rc, err))
    return json.loads(out)


# ---- template lookups ------------------------------------------------------

class Template:
    def __init__(self, doc):
        self.doc = doc
        self.mappings = doc["template"]["mappings"]
        self.props = self.mappings["properties"]
        self.dyn = []
        for d in self.mappings["dynamic_templates"]:
            (name, body), = d.items()
            self.dyn.append((name, body))

    def lookup(self, name):
        """Returns (kind, mapping, prefix): kind is 'mapped' (mapping of the
        field itself), 'object' (under a declared object/flattened/nested
        ancestor, mapping is that ancestor), 'conflict' (a leaf ancestor) or
        None."""
        parts = name.split(".")
        node = {"properties": self.props}
        i = 0
        while i < len(parts):
            props = node.get("properties")
            hit = None
            if props is not None:
                # a property name may itself contain dots (never in ours, but
                # tolerated): longest match first
                for j in range(len(parts), i, -1):
                    key = ".".join(parts[i:j])
                    if key in props:
                        hit = (props[key], j)
                        break
            if hit is None:
                t = node.get("type")
                if t in ("object", "flattened", "nested") or (
                        i > 0 and t is None and node.get("dynamic") is not False):
                    return ("object" if t in ("object", "flattened", "nested") else None,
                            node, ".".join(parts[:i]))
                if t is not None and t not in ("object", "nested"):
                    return ("conflict", node, ".".join(parts[:i]))
                return (None, node, ".".join(parts[:i]))
            node, i = hit
        return ("mapped", node, name)

    def dynamic_for(self, name, json_type=None):
        """First field-specific dynamic template whose path_match covers
        name (strings_as_keyword is ES's catch-all, not coverage)."""
        for tname, body in self.dyn:
            if tname == "strings_as_keyword":
                continue
            pm = body.get("path_match")
            if pm is None or not fnmatch.fnmatchcase(name, pm):
                continue
            mt = body.get("match_mapping_type", "*")
            if json_type is not None and mt not in ("*", json_type):
                continue
            return tname, body
        return None


def json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "long"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return None


def value_fits(mtype, v):
    """Whether ES would accept value v for a field of mapped type mtype."""
    if isinstance(v, list):
        return all(value_fits(mtype, x) for x in v)
    if v is None:
        return True
    if mtype in ("keyword", "wildcard", "text", "match_only_text", "constant_keyword"):
        return not isinstance(v, dict)
    if mtype in ("long", "integer", "short", "byte"):
        if isinstance(v, bool) or isinstance(v, dict):
            return False
        if isinstance(v, int):
            return True
        if isinstance(v, float):
            return v == int(v)
        return isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None
    if mtype in ("float", "double", "half_float", "scaled_float"):
        if isinstance(v, bool) or isinstance(v, dict):
            return False
        if isinstance(v, (int, float)):
            return True
        try:
            float(v)
            return True
        except (TypeError, ValueError):
            return False
    if mtype == "boolean":
        return isinstance(v, bool) or v in ("true", "false")
    if mtype == "ip":
        if not isinstance(v, str):
            return False
        try:
            ipaddress.ip_address(v)
            return True
        except ValueError:
            return False
    if mtype == "date":
        return isinstance(v, int) or (isinstance(v, str) and re.match(
            r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$", v)
            is not None)
    if mtype in ("object", "nested"):
        return isinstance(v, dict)
    if mtype == "alias":
        return False  # ES refuses documents that write to an alias
    if mtype == "geo_point":
        return isinstance(v, (dict, str, list))
    return True


# ---- corpus ----------------------------------------------------------------

NUMERIC = re.compile(r"^\d+$")


def clean_name(name):
    """Drops list indexes (params.0 -> params)."""
    return ".".join(p for p in name.split(".") if not NUMERIC.match(p))


def flatten(prefix, v, out):
    if isinstance(v, dict) and v:
        for k, x in v.items():
            flatten(prefix + "." + k if prefix else k, x, out)
    else:
        out.setdefault(prefix, []).append(v)


def corpus_fields(conf):
    """{field: [values...]} from the corpus; values only where the corpus
    gives them. Also the set of fields that come from processor cases (user
    chosen names)."""
    fields, custom = {}, set()
    with open(os.path.join(conf, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        exp = case.get("expect", {})
        user = case.get("protocol") == "processors"
        names = {}
        for n in exp.get("required_fields", []):
            names.setdefault(n, [])
        for ev in exp.get("events", []):
            for src in ("fields", "where"):
                for n, v in ev.get(src, {}).items():
                    flat = {}
                    flatten(n, v, flat)
                    for fn, vals in flat.items():
                        names.setdefault(fn, []).extend(vals)
            for n in ev.get("present", []):
                names.setdefault(n, [])
            for ch in ev.get("checks", []):
                if "field" in ch:
                    names.setdefault(ch["field"], [])
                if ch.get("op") == "eq_field" and isinstance(ch.get("value"), str):
                    names.setdefault(ch["value"], [])
        for n, vals in names.items():
            n = clean_name(n)
            if n.startswith("@metadata") or not n:
                continue
            fields.setdefault(n, []).extend(vals)
            if user:
                custom.add(n)
    gdir = os.path.join(conf, "golden")
    for g in sorted(os.listdir(gdir)):
        with open(os.path.join(gdir, g)) as f:
            events = json.load(f)
        for ev in events:
            flat = {}
            flatten("", ev, flat)
            for n, vals in flat.items():
                n = clean_name(n)
                if n.startswith("@metadata"):
                    continue
                fields.setdefault(n, []).extend(vals)
    # a name that is only the parent of other names is an object, not a field
    return fields, custom


# Fields Packetbeat 8.17.2's own template leaves to dynamic mapping too:
# its fields.yml does not list them (ES maps them on first use: strings as
# keyword, numbers as long).
PACKETBEAT_DYNAMIC = [
    # `type: array` fields without object_type map nothing
    "memcache.request.keys", "memcache.response.keys", "memcache.request.values",
    "memcache.response.values", "memcache.response.stats", "memcache.response.stats.*",
    "tls.detailed.server_certificate_chain*", "tls.detailed.client_certificate_chain*",
    "tls.detailed.client_certificate.*",
    "tls.detailed.server_certificate.*",
    "tls.detailed.issuer_certificate.*",
    "tls.detailed.client_hello.extensions.supported_versions",
    "dns.authorities.ttl",
    "dns.authorities.data",
]

NAME_TYPES = [
    (re.compile(r"(^|\.)ip$"), ("ip",)),
    (re.compile(r"^sip\.(.+\.)?uri\.port$"), ("keyword",)),  # Packetbeat's SIP type
    (re.compile(r"(^|\.)(port)$"), ("long",)),
    (re.compile(r"^(source|destination|client|server|network)\.(bytes|packets)$"), ("long",)),
    (re.compile(r"^(@timestamp|event\.(start|end|created))$"), ("date",)),
    (re.compile(r"^event\.duration$"), ("long",)),
    (re.compile(r"^http\.response\.status_code$"), ("long",)),
]


def check_coverage(tmpl, fields, custom, dashboard):
    dynamic_ok = 0
    for name in sorted(fields):
        vals = fields[name]
        # parents of other names (e.g. "tls.detailed" compared whole) are
        # checked through their children
        if any(other.startswith(name + ".") for other in fields):
            kind, m, _ = tmpl.lookup(name)
            check(kind in ("mapped", "object") and ("properties" in m or
                  m.get("type") in ("object", "flattened", "nested")),
                  "%s: used as an object but mapped as %s" % (name, m.get("type")))
            continue
        kind, m, at = tmpl.lookup(name)
        if kind == "mapped":
            t = m.get("type", "object")
            if not check(t != "alias",
                         "%s: events write a value into an alias (to %s): ES rejects them"
                         % (name, m.get("path"))):
                continue
            for v in vals:
                if not check(value_fits(t, v), "%s: value %r does not fit type %s"
                             % (name, v, t)):
                    break
            else:
                check(True, name)
            continue
        if kind == "object":
            check(True, name)
            dynamic_ok += 1
            continue
        if kind == "conflict":
            check(False, "%s: below %s, which is mapped as %s" % (name, at, m.get("type")))
            continue
        jt = json_type(vals[0]) if vals else None
        if tmpl.dynamic_for(name, jt) is not None:
            check(True, name)
            dynamic_ok += 1
            continue
        if name in custom:
            continue  # a name the case's processors chose
        if any(fnmatch.fnmatchcase(name, p) for p in PACKETBEAT_DYNAMIC):
            continue
        check(False, "%s: not mapped by the template" % name)

    for name in dashboard:
        kind, m, at = tmpl.lookup(name)
        if any(fnmatch.fnmatchcase(name, p) for p in PACKETBEAT_DYNAMIC):
            continue
        check(kind == "mapped" and m.get("type") not in (None, "object"),
              "dashboard field %s: not mapped (%s at %s)" % (name, kind, at))

    for name in sorted(set(fields) | set(dashboard)):
        kind, m, _ = tmpl.lookup(name)
        for rx, types in NAME_TYPES:
            if rx.search(name):
                t = m.get("type") if kind == "mapped" else None
                if t == "alias":
                    break
                check(t in types, "%s: mapped as %s, want %s" % (name, t, "/".join(types)))
                break
    return dynamic_ok


# ---- shape and overrides ---------------------------------------------------

def check_shape(binary):
    t = export_json(binary, {}, "template")
    check(t.get("index_patterns") == ["packetbeat-8.17.2"], "index_patterns %r"
          % t.get("index_patterns"))
    check(t.get("data_stream") == {}, "data_stream")
    check(t.get("priority") == 150, "priority")
    m = t["template"]["mappings"]
    check(m.get("_meta") == {"beat": "packetbeat", "version": "8.17.2"}, "_meta")
    check(m.get("date_detection") is False, "date_detection")
    check(m["dynamic_templates"][-1] == {"strings_as_keyword": {
        "mapping": {"ignore_above": 1024, "type": "keyword"},
        "match_mapping_type": "string"}}, "strings_as_keyword last")
    check({"labels": {"mapping": {"type": "keyword"}, "match_mapping_type": "string",
                      "path_match": "labels.*"}} in m["dynamic_templates"], "labels.*")
    idx = t["template"]["settings"]["index"]
    check(idx.get("refresh_interval") == "5s", "refresh_interval")
    check(idx.get("mapping") == {"total_fields": {"limit": 10000}}, "total_fields")
    check(idx.get("max_docvalue_fields_search") == 200, "max_docvalue_fields_search")
    check(idx.get("lifecycle") == {"name": "packetbeat"}, "lifecycle.name %r"
          % idx.get("lifecycle"))
    df = idx["query"]["default_field"]
    check(df[-1] == "fields.*", "default_field ends with fields.*")
    check("message" in df and "dns.question.name" in df and "url.original" in df
          and "user_agent.original.text" in df, "default_field has the ECS text fields")
    check("agent.build.original" not in df and "source.ip" not in df,
          "default_field leaves out non-allowlisted and non-text fields")
    check(len(df) < 1024, "default_field under the 1024 clause limit (%d)" % len(df))
    check(len(df) == len(set(df)), "default_field has no duplicates")
    p = m["properties"]
    check(p["@timestamp"] == {"type": "date"}, "@timestamp")
    check(p["source"]["properties"]["ip"] == {"type": "ip"}, "source.ip")
    check(p["url"]["properties"]["original"] == {
        "type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}, "url.original")
    check(p["message"] == {"type": "match_only_text"}, "message")
    check(p["event"]["properties"]["original"] == {
        "type": "keyword", "ignore_above": 1024, "index": False, "doc_values": False},
        "event.original %r" % p["event"]["properties"]["original"])
    check(p["dns"]["properties"]["answers"]["type"] == "object", "dns.answers object")
    check(p["notes"] == {"type": "alias", "path": "error.message"}, "notes alias")
    check("flow_id" not in p, "migration aliases left out by default")
    check(p["flow"]["properties"]["final"] == {"type": "boolean"}, "flow.final")
    check(p["params"] == {"type": "text", "norms": False}, "params text")
    check(p["mysql"]["properties"]["num_rows"]["type"] == "keyword", "mysql.num_rows keyword")
    sip = p["sip"]["properties"]["uri"]["properties"]["original"]
    check(sip == {"type": "keyword", "ignore_above": 1024,
                  "fields": {"text": {"type": "text", "norms": False}}}, "sip.uri.original")
    check("sip.uri.original.text" in df, "multi-field in default_field")
    check(p["kubernetes"]["properties"]["labels"]["properties"]["*"] == {"type": "object"},
          "kubernetes.labels.* object")
    return t


def check_overrides(binary, tmp_files):
    t = export_json(binary, {"setup.template.name": "custom",
                             "setup.template.pattern": "custom-*",
                             "setup.template.priority": 200}, "template")
    check(t["index_patterns"] == ["custom-*"] and t["priority"] == 200, "name/pattern/priority")
    t = export_json(binary, {"setup.template.name": "n-%{[agent.version]}",
                             "setup.template.pattern": ""}, "template")
    check(t["index_patterns"] == ["n-8.17.2*"], "empty pattern is name* %r"
          % t["index_patterns"])
    t = export_json(binary, {"setup.template.settings": {
        "index.number_of_shards": 3, "index.codec": "best_compression",
        "index.mapping.total_fields.limit": 12000, "_source.enabled": False}}, "template")
    idx = t["template"]["settings"]["index"]
    check(idx.get("number_of_shards") == 3 and idx.get("codec") == "best_compression",
          "settings.index merged %r" % {k: idx.get(k) for k in ("number_of_shards", "codec")})
    check(idx["mapping"]["total_fields"]["limit"] == 12000, "settings deep-merged")
    check(t["template"]["mappings"].get("_source") == {"enabled": False}, "_source")
    t = export_json(binary, {"setup.ilm.policy_name": "mypol"}, "template")
    check(t["template"]["settings"]["index"]["lifecycle"] == {"name": "mypol"},
          "policy name in template")
    t = export_json(binary, {"setup.ilm.enabled": False}, "template")
    check("lifecycle" not in t["template"]["settings"]["index"], "ilm disabled")
    t = export_json(binary, {}, "template", "--noilm")
    check("lifecycle" not in t["template"]["settings"]["index"], "--noilm")
    t = export_json(binary, {"setup.dsl.enabled": True}, "template")
    check(t["template"].get("lifecycle") == {"data_retention": "7d"} and
          "lifecycle" not in t["template"]["settings"]["index"], "dsl lifecycle")
    t = export_json(binary, {"setup.template.append_fields": [
        {"name": "myapp.latency", "type": "long"},
        {"name": "myapp", "type": "group", "fields": [{"name": "host", "type": "ip"}]}]},
        "template")
    ma = t["template"]["mappings"]["properties"]["myapp"]["properties"]
    check(ma.get("latency") == {"type": "long"} and ma.get("host") == {"type": "ip"},
          "append_fields %r" % ma)
    rc, out, err, _ = export(binary, {"setup.template.append_fields": [
        {"name": "source.ip", "type": "keyword"}]}, "template")
    check(rc != 0 and "source.ip" in err, "append_fields duplicate is an error: %r" % err)
    t = export_json(binary, {}, "template", "--es.version", "7.10.0")
    up = t["template"]["mappings"]["properties"]["url"]["properties"]["original"]
    check(up["fields"]["text"]["type"] == "text", "ES 7.10: match_only_text falls back")
    t = export_json(binary, {}, "template", "--es.version", "7.8.0")
    up = t["template"]["mappings"]["properties"]["url"]["properties"]["original"]
    check(up["type"] == "keyword", "ES 7.8: wildcard falls back to keyword")
    t = export_json(binary, {"migration.6_to_7.enabled": True}, "template")
    check(t["template"]["mappings"]["properties"].get("flow_id") ==
          {"type": "alias", "path": "flow.id"}, "migration aliases")

    # fields file and JSON template from files relative to path.config
    with tempfile.TemporaryDirectory() as d:
        ff = os.path.join(d, "f.yml")
        with open(ff, "w") as f:
            f.write("- key: x\n  fields:\n  - name: a.b\n    type: ip\n"
                    "  - name: c\n    type: object\n    object_type: long\n")
        t = export_json(binary, {"setup.template.fields": ff}, "template")
        p = t["template"]["mappings"]["properties"]
        check(p == {"a": {"properties": {"b": {"type": "ip"}}}, "c": {"type": "object"}},
              "setup.template.fields %r" % p)
        check(t["template"]["mappings"]["dynamic_templates"][0] == {"c": {
            "mapping": {"type": "long"}, "match_mapping_type": "long", "path_match": "c.*"}},
            "object_type long dynamic template")
        jf = os.path.join(d, "t.json")
        with open(jf, "w") as f:
            json.dump({"index_patterns": ["x-*"], "template": {"settings": {}}}, f)
        t = export_json(binary, {"setup.template.json.enabled": True,
                                 "setup.template.json.path": jf,
                                 "setup.template.json.name": "jt",
                                 "setup.template.json.data_stream": True}, "template")
        check(t == {"index_patterns": ["x-*"], "template": {"settings": {}},
                    "data_stream": {}}, "json template %r" % t)
        rc, out, err, _ = export(binary, {"setup.template.json.enabled": True,
                                          "setup.template.json.path": jf + ".missing"},
                                 "template")
        check(rc != 0 and "missing" in err, "missing json template is an error")
        # --dir writes <dir>/template/<name>.json
        rc, out, err, _ = export(binary, {"setup.template.name": "dirt",
                                          "setup.template.pattern": "dirt"},
                                 "template", "--dir", d)
        path = os.path.join(d, "template", "dirt.json")
        check(rc == 0 and os.path.exists(path), "--dir writes template/dirt.json")
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            check(text.endswith("}\n") and json.loads(text)["index_patterns"] == ["dirt"],
                  "--dir content")
        rc, out, err, _ = export(binary, {}, "ilm-policy", "--dir", d)
        check(rc == 0 and os.path.exists(os.path.join(d, "policy", "packetbeat.json")),
              "--dir writes policy/packetbeat.json")
        pf = os.path.join(d, "p.json")
        with open(pf, "w") as f:
            json.dump({"policy": {"phases": {"delete": {"min_age": "1d",
                                                        "actions": {"delete": {}}}}}}, f)
        p = export_json(binary, {"setup.ilm.policy_file": pf}, "ilm-policy")
        check(p["policy"]["phases"]["delete"]["min_age"] == "1d", "ilm policy_file")

    p = export_json(binary, {}, "ilm-policy")
    check(p == {"policy": {"phases": {"hot": {"actions": {"rollover": {
        "max_age": "30d", "max_primary_shard_size": "50gb"}}}}}}, "default ilm policy %r" % p)
    p = export_json(binary, {"setup.dsl.enabled": True}, "ilm-policy")
    check(p == {"data_retention": "7d"}, "dsl policy %r" % p)
    rc, out, _, _ = export(binary, {}, "template")
    check(out.startswith('{\n  "data_stream": {},\n  "index_patterns": [\n') and
          out.endswith("}\n"), "printed with 2-space indent, sorted keys, final newline")


def walk(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(prefix + "." + k if prefix else k, x, out)
    elif isinstance(v, list):
        for x in v:
            walk(prefix, x, out)
    else:
        out.setdefault(prefix, []).append(v)


def run_cases(binary, conf, jobs):
    """Runs our binary over every pcap case of the corpus (its config, as the
    conformance runner builds it) and returns {field: [values]} of all events
    written. Cases that crash or fail are the conformance test's business and
    are skipped here."""
    sys.path.insert(0, conf)
    import run as confrun  # the corpus runner: config and output reading
    import concurrent.futures
    with open(os.path.join(conf, "cases.json")) as f:
        cases = [c for c in json.load(f) if c.get("mode", "pcap") == "pcap" and c.get("pcap")
                 and not c.get("realtime") and c.get("protocol") != "processors"]

    def one(case):
        with tempfile.TemporaryDirectory() as tmp:
            for sub in ("output", "data", "logs"):
                os.makedirs(os.path.join(tmp, sub), exist_ok=True)
            for fn in case.get("files") or []:
                dst = os.path.join(tmp, os.path.basename(fn))
                with open(os.path.join(conf, fn), "rb") as s, open(dst, "wb") as d:
                    d.write(s.read())
            cfg = confrun.build_config(case.get("config"), tmp)
            path = os.path.join(tmp, "packetbeat.yml")
            with open(path, "w") as f:
                json.dump(cfg, f)
            os.chmod(path, 0o600)
            cmd = [binary, "-e", "-c", path, "-I", os.path.join(conf, case["pcap"]), "-t",
                   "--path.home", tmp, "--path.data", os.path.join(tmp, "data"),
                   "--path.logs", os.path.join(tmp, "logs")]
            try:
                subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=60)
                _, events = confrun.read_events(os.path.join(tmp, "output"))
            except Exception:  # noqa: BLE001 - not this test's concern
                return {}
            out = {}
            for ev in events or []:
                if isinstance(ev, dict):
                    ev.pop("@metadata", None)
                    walk("", ev, out)
            return out

    fields = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for out in ex.map(one, cases):
            for k, v in out.items():
                fields.setdefault(k, []).extend(v[:50])
    return fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--run-cases", action="store_true",
                    help="also run the binary over the corpus pcaps and check the fields "
                         "and values of every event it writes")
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    conf = os.path.join(a.src, "tests", "conformance")

    try:
        doc = check_shape(a.bin)
        check_overrides(a.bin, None)
    except (AssertionError, KeyError, TypeError, json.JSONDecodeError) as e:
        check(False, "template shape: %r" % e)
        doc = export_json(a.bin, {}, "template")

    tmpl = Template(doc)
    fields, custom = corpus_fields(conf)
    with open(os.path.join(conf, "dashboard_fields.txt")) as f:
        dashboard = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    dyn = check_coverage(tmpl, fields, custom, dashboard)
    print("%d corpus fields, %d dashboard fields (%d covered by objects or dynamic templates)"
          % (len(fields), len(dashboard), dyn))
    if a.run_cases:
        produced = run_cases(a.bin, conf, a.j)
        dyn = check_coverage(tmpl, produced, set(), [])
        print("%d fields in the events our binary wrote (%d covered by objects or dynamic "
              "templates)" % (len(produced), dyn))
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
