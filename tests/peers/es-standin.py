#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An Elasticsearch stand-in for the output tests (python3 stdlib only).

Written from the Elasticsearch REST API docs: it answers what a single-node
8.x cluster answers to the calls Beats make, checks every request it gets
and keeps what was indexed, so a test can compare it with what was sent.

  GET  /                              cluster info (version from --version)
  GET  /_license                      a basic license
  POST /_bulk                         per-item results; checks what libbeat
                                      8.17 sends: `Content-Type:
                                      application/json; charset=UTF-8`
                                      (libbeat's body encoder; not
                                      x-ndjson), body ending with a newline,
                                      action lines, `create` for data
                                      streams, gzip when Content-Encoding
                                      says so (and required with
                                      --expect-gzip / POST /_standin/expect)
  PUT|GET|HEAD /_index_template/<n>   composable templates
  PUT|GET /_ilm/policy/<n>            ILM policies
  PUT|GET /_data_stream/<n>           data streams (PUT needs a matching
                                      template with data_stream)
  PUT|GET /_data_stream/<n>/_lifecycle

Test control (not Elasticsearch API), under /_standin/:
  POST /_standin/faults  JSON list of faults, used one per _bulk request:
        {"whole": 429|503|413...}      answer the request with that status
        {"close": true}                close the socket without answering
        {"slow": 2.5}                  index, then wait that long to answer
        {"items": [201, 429, 400]}     item statuses, cycled over the items
                                       (201: index it; others: refuse it)
        {"garbage": true}              200 with a body that is not JSON
        {"short": true}                200 with fewer items than actions
        {}                             a normal answer
  POST /_standin/expect {"gzip": true|false} every _bulk must (not) be
                            gzipped (compression_level > 0 or 0)
  GET  /_standin/docs       {"<index>": [docs...]} what was indexed
  GET  /_standin/state      templates, policies, data streams, lifecycles
  GET  /_standin/requests   method, path, headers of every request
  GET  /_standin/problems   protocol violations seen (should stay [])
  POST /_standin/reset

Usage: es-standin.py --port N [--version 8.17.2] [--portfile F] [--expect-gzip]
"""
import argparse
import gzip
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {}


def reset():
    with LOCK:
        keep = STATE.get("expect_gzip")  # a setting of the run, kept across resets
        STATE.clear()
        STATE.update(docs={}, ids={}, templates={}, policies={}, streams={}, lifecycles={},
                     requests=[], problems=[], faults=[], seq=0, expect_gzip=keep)


reset()
VERSION = "8.17.2"
BULK_CONTENT_TYPE = "application/json; charset=UTF-8"


def cluster_info():
    major = int(VERSION.split(".")[0])
    return {
        "name": "standin-node",
        "cluster_name": "standin",
        "cluster_uuid": "Yx8mYUUzQhWrMgKq2YLrAg",
        "version": {
            "number": VERSION,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "0000000000000000000000000000000000000000",
            "build_date": "2025-01-01T00:00:00.000000000Z",
            "build_snapshot": False,
            "lucene_version": "9.12.0",
            "minimum_wire_compatibility_version": "%d.18.0" % (major - 1),
            "minimum_index_compatibility_version": "%d.0.0" % (major - 1),
        },
        "tagline": "You Know, for Search",
    }


def err_body(status, etype, reason):
    return {"error": {"root_cause": [{"type": etype, "reason": reason}], "type": etype,
                      "reason": reason}, "status": status}


def stream_template(name):
    """The template (with data_stream) whose patterns match name, if any."""
    best = None
    for tname, t in STATE["templates"].items():
        for pat in t.get("index_patterns", []):
            rx = "^" + re.escape(pat).replace("\\*", ".*") + "$"
            if re.match(rx, name) and "data_stream" in t:
                if best is None or t.get("priority", 0) > best[1].get("priority", 0):
                    best = (tname, t)
    return best


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin"

    def log_message(self, fmt, *args):
        pass

    def problem(self, msg):
        with LOCK:
            STATE["problems"].append("%s %s: %s" % (self.command, self.path, msg))

    def send_json(self, status, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(n) if n > 0 else b""
        enc = self.headers.get("Content-Encoding", "")
        if enc == "gzip":
            if data[:2] != b"\x1f\x8b":
                self.problem("Content-Encoding gzip but the body is not gzip")
                return None
            data = gzip.decompress(data)
        elif data[:2] == b"\x1f\x8b":
            self.problem("gzip body without Content-Encoding: gzip")
        return data

    def record(self):
        with LOCK:
            STATE["requests"].append({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            })

    # ---- dispatch ----------------------------------------------------------
    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/_standin/"):
            return self.control(path)
        self.record()
        if self.headers.get("Accept") not in (None, "application/json"):
            self.problem("unexpected Accept: %s" % self.headers.get("Accept"))
        body = self.read_body() if self.command in ("PUT", "POST") else b""
        if body is None:
            return self.send_json(400, err_body(400, "parse_exception", "bad gzip"))
        if path in ("", "/"):
            if self.command not in ("GET", "HEAD"):
                return self.send_json(405, err_body(405, "method", "not allowed"))
            return self.send_json(200, cluster_info())
        if path == "/_license":
            return self.send_json(200, {"license": {"status": "active", "type": "basic",
                                                    "uid": "standin"}})
        if path == "/_bulk" and self.command in ("POST", "PUT"):
            return self.bulk(body)
        m = re.match(r"^/_index_template/([^/]+)$", path)
        if m:
            return self.template(m.group(1), body)
        m = re.match(r"^/_ilm/policy/([^/]+)$", path)
        if m:
            return self.policy(m.group(1), body)
        m = re.match(r"^/_data_stream/([^/]+)/_lifecycle$", path)
        if m:
            return self.lifecycle(m.group(1), body)
        m = re.match(r"^/_data_stream/([^/]+)$", path)
        if m:
            return self.data_stream(m.group(1), body)
        self.problem("unexpected request")
        return self.send_json(404, err_body(404, "resource_not_found_exception", "no handler"))

    # ---- control -------------------------------------------------------------
    def control(self, path):
        if path == "/_standin/faults" and self.command == "POST":
            faults = json.loads(self.read_body() or b"[]")
            with LOCK:
                STATE["faults"].extend(faults)
            return self.send_json(200, {"queued": len(faults)})
        if path == "/_standin/expect" and self.command == "POST":
            want = json.loads(self.read_body() or b"{}")
            with LOCK:
                STATE["expect_gzip"] = want.get("gzip")
            return self.send_json(200, {"ok": True})
        if path == "/_standin/reset":
            self.read_body()
            reset()
            return self.send_json(200, {"ok": True})
        with LOCK:
            if path == "/_standin/docs":
                out = STATE["docs"]
            elif path == "/_standin/state":
                out = {k: STATE[k] for k in ("templates", "policies", "streams", "lifecycles")}
                out["faults_left"] = len(STATE["faults"])
            elif path == "/_standin/requests":
                out = STATE["requests"]
            elif path == "/_standin/problems":
                out = STATE["problems"]
            else:
                out = None
            raw = json.dumps(out).encode()
        return self.send_json(200 if out is not None else 404, None, raw=raw)

    # ---- index management ---------------------------------------------------------
    def template(self, name, body):
        if self.command == "PUT":
            ct = self.headers.get("Content-Type", "")
            if not ct.startswith("application/json"):
                self.problem("template PUT with Content-Type %r" % ct)
            try:
                t = json.loads(body)
            except ValueError:
                return self.send_json(400, err_body(400, "parse_exception", "bad json"))
            if not isinstance(t, dict) or "index_patterns" not in t:
                self.problem("template without index_patterns")
                return self.send_json(400, err_body(400, "action_request_validation_exception",
                                                    "index patterns are missing"))
            with LOCK:
                STATE["templates"][name] = t
            return self.send_json(200, {"acknowledged": True})
        with LOCK:
            t = STATE["templates"].get(name)
        if t is None:
            return self.send_json(404, err_body(404, "resource_not_found_exception",
                                                "index template matching [%s] not found" % name))
        return self.send_json(200, {"index_templates": [{"name": name, "index_template": t}]})

    def policy(self, name, body):
        if self.command == "PUT":
            try:
                p = json.loads(body)
            except ValueError:
                return self.send_json(400, err_body(400, "parse_exception", "bad json"))
            if not isinstance(p, dict) or "policy" not in p:
                self.problem("ILM policy without 'policy'")
                return self.send_json(400, err_body(400, "parse_exception", "no policy"))
            with LOCK:
                STATE["policies"][name] = p
            return self.send_json(200, {"acknowledged": True})
        with LOCK:
            p = STATE["policies"].get(name)
        if p is None:
            return self.send_json(404, err_body(404, "resource_not_found_exception",
                                                "Lifecycle policy not found: %s" % name))
        return self.send_json(200, {name: {"version": 1, "modified_date": "2025-01-01T00:00:00Z",
                                           "policy": p["policy"]}})

    def data_stream(self, name, body):
        if self.command == "PUT":
            with LOCK:
                if name in STATE["streams"]:
                    return self.send_json(400, err_body(400, "resource_already_exists_exception",
                                                        "data_stream [%s] already exists" % name))
                if stream_template(name) is None:
                    return self.send_json(400, err_body(
                        400, "illegal_argument_exception",
                        "no matching index template found for data stream [%s]" % name))
                STATE["streams"][name] = {"name": name}
            return self.send_json(200, {"acknowledged": True})
        with LOCK:
            s = STATE["streams"].get(name)
        if s is None:
            return self.send_json(404, err_body(404, "index_not_found_exception",
                                                "no such index [%s]" % name))
        return self.send_json(200, {"data_streams": [{"name": name, "status": "GREEN"}]})

    def lifecycle(self, name, body):
        if self.command == "PUT":
            with LOCK:
                if name not in STATE["streams"]:
                    return self.send_json(404, err_body(404, "index_not_found_exception",
                                                        "no such index [%s]" % name))
                STATE["lifecycles"][name] = json.loads(body or b"{}")
            return self.send_json(200, {"acknowledged": True})
        with LOCK:
            lc = STATE["lifecycles"].get(name)
        return self.send_json(200, {"data_streams": [{"name": name, "lifecycle": lc}]})

    # ---- bulk ------------------------------------------------------------------------
    def bulk(self, body):
        ct = self.headers.get("Content-Type", "")
        # libbeat 8.17 (esleg/eslegclient enc.go) labels the NDJSON body as
        # JSON; Elasticsearch accepts both, a drop-in sends what libbeat does
        if ct != BULK_CONTENT_TYPE:
            self.problem("_bulk with Content-Type %r, want %r" % (ct, BULK_CONTENT_TYPE))
        with LOCK:
            want_gz = STATE.get("expect_gzip")
        enc = self.headers.get("Content-Encoding")
        if want_gz is True and enc != "gzip":
            self.problem("_bulk not gzipped although compression_level is set")
        if want_gz is False and enc is not None:
            self.problem("_bulk with Content-Encoding %r although compression is off" % enc)
        with LOCK:
            fault = STATE["faults"].pop(0) if STATE["faults"] else {}
        if fault.get("close"):
            # drop the connection without an answer
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        if "whole" in fault:
            st = int(fault["whole"])
            etype = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception",
                     413: "content_too_long"}.get(st, "exception")
            return self.send_json(st, err_body(st, etype, "injected by the stand-in"))
        if not body.endswith(b"\n"):
            self.problem("bulk body does not end with a newline")
            return self.send_json(400, err_body(400, "illegal_argument_exception",
                                                "The bulk request must be terminated by a newline [\\n]"))
        lines = body.split(b"\n")[:-1]
        items = []
        i = 0
        n = 0
        cycle = fault.get("items")
        while i < len(lines):
            try:
                action = json.loads(lines[i])
            except ValueError:
                self.problem("action line %d is not JSON" % i)
                return self.send_json(400, err_body(400, "x_content_parse_exception", "bad line"))
            if not isinstance(action, dict) or len(action) != 1:
                self.problem("action line %d: %r" % (i, action))
                return self.send_json(400, err_body(400, "illegal_argument_exception", "bad action"))
            op, meta = next(iter(action.items()))
            if op not in ("create", "index", "delete", "update"):
                self.problem("unknown action %r" % op)
                return self.send_json(400, err_body(400, "illegal_argument_exception", "bad op"))
            doc = None
            if op != "delete":
                if i + 1 >= len(lines):
                    self.problem("action without a document")
                    return self.send_json(400, err_body(400, "illegal_argument_exception", "eof"))
                try:
                    doc = json.loads(lines[i + 1])
                except ValueError:
                    self.problem("document line %d is not JSON" % (i + 1))
                    return self.send_json(400, err_body(400, "x_content_parse_exception", "doc"))
                i += 2
            else:
                i += 1
            index = meta.get("_index", "")
            item = self.bulk_item(op, meta, index, doc, cycle[n % len(cycle)] if cycle else None)
            items.append({op: item})
            n += 1
        resp = {"errors": any(it[next(iter(it))]["status"] >= 300 for it in items),
                "took": 1, "items": items}
        if fault.get("slow"):
            time.sleep(float(fault["slow"]))
        if fault.get("garbage"):
            return self.send_json(200, None, raw=b'{"errors":false,"items":[{"create":')
        if fault.get("short"):
            resp["items"] = items[: len(items) // 2]
        # filter_path=errors,items.*.error,items.*.status trims the items
        if "filter_path" in self.path:
            for it in resp["items"]:
                k = next(iter(it))
                it[k] = {x: it[k][x] for x in ("status", "error") if x in it[k]}
            resp = {"errors": resp["errors"], "items": resp["items"]}
        return self.send_json(200, resp)

    def bulk_item(self, op, meta, index, doc, forced):
        with LOCK:
            STATE["seq"] += 1
            seq = STATE["seq"]
            st = stream_template(index)
            if st is not None and op != "create":
                self.problem("%s action for data stream %s (only create is allowed)" % (op, index))
                return {"_index": index, "status": 400, "error": {
                    "type": "illegal_argument_exception",
                    "reason": "only write ops with an op_type of create are allowed in data streams"}}
            if doc is not None and "@metadata" in doc:
                self.problem("document carries @metadata")
            if st is not None and doc is not None and "@timestamp" not in doc:
                return {"_index": index, "status": 400, "error": {
                    "type": "document_parsing_exception",
                    "reason": "data stream timestamp field [@timestamp] is missing"}}
            if forced is not None and forced != 201 and forced != 200:
                etype = {429: "es_rejected_execution_exception",
                         400: "document_parsing_exception",
                         409: "version_conflict_engine_exception",
                         503: "unavailable_shards_exception"}.get(forced, "exception")
                return {"_index": index, "_id": None, "status": forced,
                        "error": {"type": etype, "reason": "injected by the stand-in"}}
            _id = meta.get("_id") or "standin-%d" % seq
            ids = STATE["ids"].setdefault(index, set())
            if op == "create" and _id in ids:
                return {"_index": index, "_id": _id, "status": 409, "error": {
                    "type": "version_conflict_engine_exception",
                    "reason": "[%s]: version conflict, document already exists" % _id}}
            ids.add(_id)
            if st is not None and index not in STATE["streams"]:
                STATE["streams"][index] = {"name": index, "auto": True}
            STATE["docs"].setdefault(index, []).append(doc)
        return {"_index": (".ds-%s-000001" % index) if st else index, "_id": _id, "_version": 1,
                "result": "created", "_shards": {"total": 1, "successful": 1, "failed": 0},
                "_seq_no": seq, "_primary_term": 1, "status": 201}


def main():
    global VERSION
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default="8.17.2")
    ap.add_argument("--portfile")
    ap.add_argument("--expect-gzip", action="store_true")
    a = ap.parse_args()
    VERSION = a.version
    if a.expect_gzip:
        STATE["expect_gzip"] = True
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.portfile:
        with open(a.portfile + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(a.portfile + ".tmp", a.portfile)
    print("ES_URL=http://127.0.0.1:%d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
