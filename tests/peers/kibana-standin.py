#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A Kibana stand-in for `setup --dashboards` and `export dashboard`
(python3 stdlib only).

Written from Kibana's REST API docs (status API, saved objects import and
export APIs): it answers what Kibana 8.x answers, checks every request it
gets and keeps the saved objects it was given.

  GET  /api/status                    name, uuid, version.number (--version),
                                      status.overall
  POST /api/saved_objects/_import     multipart/form-data with one `file`
                                      part (ndjson); ?overwrite=true replaces
                                      existing objects; answers
                                      {"success", "successCount",
                                      "successResults", "errors"}; objects
                                      whose references do not resolve fail
                                      with missing_references, as in Kibana
  POST /api/saved_objects/_export     {"objects": [{"type","id"}],
                                      "includeReferencesDeep", ...} -> ndjson
  The same under /s/<space>/ (each space keeps its own objects).

Every API request must carry `kbn-xsrf` (Kibana answers 400 without it on
POST) and, with --username/--password or --api-key, the credentials
(401 otherwise).

Test control (not Kibana API), under /_standin/:
  POST /_standin/faults  JSON list, one fault used per matching request:
        {"on": "status", "status": 503}   answer /api/status with that status
        {"on": "import", "status": 500}   answer an import with that status
        {"on": "import", "fail": true}    200 with success: false (an object
                                          error), as Kibana does
        {"on": "import"|"status", "close": true}  close without answering
  GET  /_standin/objects    {"<space>": {"<type>/<id>": object}}
  GET  /_standin/requests   method, path, headers, part filename/content type
  GET  /_standin/problems   protocol violations seen (should stay [])
  POST /_standin/reset

Usage: kibana-standin.py [--port N] [--portfile F] [--version 8.17.2]
                         [--username U --password P | --api-key K]
"""
import argparse
import base64
import json
import os
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {}
ARGS = None

ICONS = {"index-pattern": "indexPatternApp", "dashboard": "dashboardApp",
         "visualization": "visualizeApp", "lens": "lensApp", "search": "discoverApp"}


def reset():
    with LOCK:
        STATE.clear()
        STATE.update(objects={}, requests=[], problems=[], faults=[])


reset()


def status_body():
    return {
        "name": "standin-kibana",
        "uuid": "5b2de169-2785-441b-ae8c-186a1936b17d",
        "version": {"number": ARGS.version, "build_hash": "0" * 40, "build_number": 1,
                    "build_snapshot": False, "build_flavor": "traditional",
                    "build_date": "2025-01-01T00:00:00.000Z"},
        "status": {"overall": {"level": "available", "summary": "All services are available"},
                   "core": {}, "plugins": {}},
        "metrics": {},
    }


def parse_multipart(body, ctype):
    """[(headers dict, payload bytes)] of a multipart/form-data body, or
    raises ValueError."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        raise ValueError("no boundary in Content-Type")
    b = b"--" + m.group(1).encode()
    if not body.startswith(b):
        raise ValueError("body does not start with the boundary")
    parts = []
    chunks = body.split(b)
    if not chunks[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("part not framed by CRLF")
        chunk = chunk[2:-2]
        head, sep, payload = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, payload))
    return parts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin-kibana"

    def log_message(self, fmt, *args):
        pass

    def problem(self, msg):
        with LOCK:
            STATE["problems"].append("%s %s: %s" % (self.command, self.path, msg))

    def send_json(self, status, obj, raw=None, ctype="application/json; charset=utf-8"):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("kbn-name", "standin-kibana")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message, error=None, **extra):
        err = error or {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                        500: "Internal Server Error", 503: "Service Unavailable"}.get(status,
                                                                                        "Error")
        body = {"statusCode": status, "error": err, "message": message}
        body.update(extra)
        return self.send_json(status, body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def fault(self, on):
        with LOCK:
            for i, f in enumerate(STATE["faults"]):
                if f.get("on") == on:
                    return STATE["faults"].pop(i)
        return None

    def close_now(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if ARGS.api_key:
            want = "ApiKey " + base64.b64encode(ARGS.api_key.encode()).decode()
            return auth == want
        if ARGS.username is not None:
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (ARGS.username, ARGS.password or "")).encode()).decode()
            return auth == want
        return True

    def handle_any(self):
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/_standin/"):
            return self.control(path)
        body = self.read_body() if self.command in ("POST", "PUT") else b""
        space = "default"
        m = re.match(r"^/s/([a-z0-9_-]+)(/.*)$", path)
        if m:
            space, path = m.group(1), m.group(2)
        req = {"method": self.command, "path": self.path, "space": space,
               "headers": {k.lower(): v for k, v in self.headers.items()}}
        with LOCK:
            STATE["requests"].append(req)
        if self.headers.get("kbn-xsrf") is None:
            self.problem("no kbn-xsrf header")
            if self.command != "GET":
                return self.error(400, 'Request must contain a kbn-xsrf header.')
        if self.headers.get("Accept") not in (None, "application/json"):
            self.problem("unexpected Accept: %s" % self.headers.get("Accept"))
        if not self.authorized():
            return self.error(401, "[security_exception]: missing authentication credentials "
                                   "for REST request")
        if path == "/api/status" and self.command == "GET":
            f = self.fault("status")
            if f and f.get("close"):
                return self.close_now()
            if f and f.get("status"):
                return self.error(int(f["status"]), "Kibana server is not ready yet")
            return self.send_json(200, status_body())
        if path == "/api/saved_objects/_import" and self.command == "POST":
            return self.import_objects(space, parse_qs(url.query), body, req)
        if path == "/api/saved_objects/_export" and self.command == "POST":
            return self.export_objects(space, body)
        self.problem("unexpected request")
        return self.error(404, "Not Found")

    # ---- control -------------------------------------------------------------------
    def control(self, path):
        if path == "/_standin/faults" and self.command == "POST":
            faults = json.loads(self.read_body() or b"[]")
            with LOCK:
                STATE["faults"].extend(faults)
            return self.send_json(200, {"queued": len(faults)})
        if path == "/_standin/reset":
            self.read_body()
            reset()
            return self.send_json(200, {"ok": True})
        with LOCK:
            if path == "/_standin/objects":
                out = STATE["objects"]
            elif path == "/_standin/requests":
                out = STATE["requests"]
            elif path == "/_standin/problems":
                out = STATE["problems"]
            else:
                out = None
            raw = json.dumps(out).encode()
        return self.send_json(200 if out is not None else 404, None, raw=raw)

    # ---- saved objects ----------------------------------------------------------------
    def import_objects(self, space, query, body, req):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            self.problem("import with Content-Type %r" % ctype)
            return self.error(415, "Unsupported Media Type", "Unsupported Media Type")
        try:
            parts = parse_multipart(body, ctype)
        except ValueError as e:
            self.problem("bad multipart body: %s" % e)
            return self.error(400, "bad multipart body: %s" % e)
        files = [(h, p) for h, p in parts
                 if re.search(r'\bname="file"', h.get("content-disposition", ""))]
        if len(files) != 1:
            self.problem("import with %d file parts" % len(files))
            return self.error(400, "[request body.file]: expected value of type [Stream]")
        h, payload = files[0]
        fm = re.search(r'filename="([^"]*)"', h.get("content-disposition", ""))
        filename = fm.group(1) if fm else ""
        req["filename"] = filename
        req["part_type"] = h.get("content-type")
        if not filename.endswith(".ndjson"):
            self.problem("import file name %r does not end with .ndjson" % filename)
            return self.error(400, "Invalid file extension .%s" % filename.rpartition(".")[2])
        overwrite = query.get("overwrite", ["false"])[0] == "true"
        f = self.fault("import")
        if f and f.get("close"):
            return self.close_now()
        if f and f.get("status"):
            return self.error(int(f["status"]), "An internal server error occurred.")
        objs = []
        for n, line in enumerate(payload.decode("utf-8").split("\n")):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError:
                self.problem("%s line %d is not JSON" % (filename, n + 1))
                return self.error(400, "Unexpected token in JSON at line %d" % (n + 1))
            for k in ("type", "id", "attributes"):
                if k not in o:
                    self.problem("%s line %d: no %s" % (filename, n + 1, k))
                    return self.error(400, "saved object without %s" % k)
            if not isinstance(o.get("references", []), list):
                self.problem("%s line %d: references is not a list" % (filename, n + 1))
            objs.append(o)
        req["objects"] = ["%s/%s" % (o["type"], o["id"]) for o in objs]
        errors, results = [], []
        with LOCK:
            store = STATE["objects"].setdefault(space, {})
            given = {"%s/%s" % (o["type"], o["id"]) for o in objs}
            for o in objs:
                key = "%s/%s" % (o["type"], o["id"])
                title = o["attributes"].get("title", "")
                missing = [r for r in o.get("references", [])
                           if "%s/%s" % (r.get("type"), r.get("id")) not in given
                           and "%s/%s" % (r.get("type"), r.get("id")) not in store]
                if missing:
                    errors.append({"id": o["id"], "type": o["type"], "title": title,
                                   "meta": {"title": title, "icon": ICONS.get(o["type"], "")},
                                   "error": {"type": "missing_references",
                                             "references": [{"type": r.get("type"),
                                                             "id": r.get("id")}
                                                            for r in missing]}})
                    continue
                if key in store and not overwrite:
                    errors.append({"id": o["id"], "type": o["type"], "title": title,
                                   "meta": {"title": title}, "error": {"type": "conflict"}})
                    continue
                store[key] = o
                r = {"type": o["type"], "id": o["id"],
                     "meta": {"title": title, "icon": ICONS.get(o["type"], "")}}
                if overwrite:
                    r["overwrite"] = True
                results.append(r)
        if f and f.get("fail") and objs:
            o = objs[0]
            errors.append({"id": o["id"], "type": o["type"], "title": "",
                           "meta": {}, "error": {"type": "unknown",
                                                 "message": "injected by the stand-in",
                                                 "statusCode": 500}})
            results = [r for r in results if r["id"] != o["id"]]
        resp = {"success": not errors, "successCount": len(results), "warnings": []}
        if results:
            resp["successResults"] = results
        if errors:
            resp["errors"] = errors
        return self.send_json(200, resp)

    def export_objects(self, space, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.problem("export body is not JSON")
            return self.error(400, "bad json")
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.problem("export with Content-Type %r" % self.headers.get("Content-Type"))
        deep = bool(req.get("includeReferencesDeep"))
        with LOCK:
            store = dict(STATE["objects"].get(space, {}))
        out, seen, missing = [], set(), []

        def add(t, i, top):
            key = "%s/%s" % (t, i)
            if key in seen:
                return
            seen.add(key)
            o = store.get(key)
            if o is None:
                if top:
                    missing.append({"id": i, "type": t, "error": {
                        "statusCode": 404, "error": "Not Found",
                        "message": "Saved object [%s] not found" % key}})
                return
            out.append(o)
            if deep:
                for r in o.get("references", []):
                    add(r.get("type"), r.get("id"), False)

        for ref in req.get("objects", []):
            add(ref.get("type"), ref.get("id"), True)
        if missing:
            return self.error(400, "Error fetching objects to export",
                              attributes={"objects": missing})
        lines = [json.dumps(o, separators=(",", ":")) for o in out]
        if not req.get("excludeExportDetails"):
            lines.append(json.dumps({"excludedObjects": [], "excludedObjectsCount": 0,
                                     "exportedCount": len(out), "missingRefCount": 0,
                                     "missingReferences": []}))
        return self.send_json(200, None, raw="\n".join(lines).encode(),
                              ctype="application/ndjson")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--version", default="8.17.2")
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--api-key")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if ARGS.portfile:
        with open(ARGS.portfile + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(ARGS.portfile + ".tmp", ARGS.portfile)
    print("KIBANA_URL=http://127.0.0.1:%d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
