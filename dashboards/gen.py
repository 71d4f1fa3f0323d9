#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""dashboards/gen.py - writes the Kibana 8 saved objects of this folder.

Each dashboard is described below in a few lines (panels: what to count,
split by which field, for which events); this script turns the description
into saved-object ndjson: one `index-pattern` (the data view `packetbeat-*`)
and one `dashboard` object per file whose Lens panels are stored by value
inside the dashboard. Ids (panels, layers, columns) are name-based UUIDs, so
running the script again gives the same bytes.

    python3 dashboards/gen.py            # rewrite dashboards/*.ndjson
    python3 dashboards/gen.py --check    # exit 1 if a file is out of date

tests/beat/test_dashboards.py validates the files (shape, references, and
that every field a panel reads is mapped by `packetbeat export template`).
"""
import argparse
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_VIEW = "packetbeat-*"
CORE_VERSION = "8.8.0"
DASHBOARD_VERSION = "8.9.0"
INDEX_PATTERN_VERSION = "8.0.0"
NS = uuid.UUID("5d0f6a8e-3a2c-4f4e-9a47-7061636b6574")  # our namespace

# Kibana data types of the fields the panels read (checked against the
# template's mapping by the test).
NUMBER = "number"
STRING = "string"
IP = "ip"
BOOL = "boolean"
TYPES = {
    "client.ip": IP, "server.ip": IP, "source.ip": IP, "destination.ip": IP,
    "tls.established": BOOL, "tls.resumed": BOOL,
}
NUMERIC = {
    "event.duration", "source.bytes", "destination.bytes", "client.bytes", "server.bytes",
    "network.bytes", "network.packets", "destination.port", "source.port",
    "http.response.status_code", "mysql.affected_rows", "mysql.error_code",
    "pgsql.error_code", "mongodb.numberReturned", "cassandra.response.result.rows.num_rows",
    "nfs.version", "rpc.cred.uid", "rpc.cred.gid", "dns.answers_count",
}
BYTES = {"source.bytes", "destination.bytes", "client.bytes", "server.bytes", "network.bytes"}


def dtype(field):
    if field in NUMERIC:
        return NUMBER
    return TYPES.get(field, STRING)


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


# ---- Lens columns ----------------------------------------------------------

def col_count(label="Events"):
    return {"label": label, "dataType": NUMBER, "operationType": "count", "isBucketed": False,
            "scale": "ratio", "sourceField": "___records___", "params": {"emptyAsNull": True},
            "customLabel": True}


def col_metric(op, field, label):
    c = {"label": label, "dataType": NUMBER, "operationType": op, "isBucketed": False,
         "scale": "ratio", "sourceField": field, "params": {"emptyAsNull": True},
         "customLabel": True}
    if field in BYTES and op in ("sum", "average", "max"):
        c["params"]["format"] = {"id": "bytes", "params": {"decimals": 1}}
    if op == "unique_count":
        del c["params"]
    return c


def col_time():
    return {"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
            "sourceField": "@timestamp", "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def col_terms(field, order_col, size=10, label=None):
    return {"label": label or "Top %d values of %s" % (size, field), "dataType": dtype(field),
            "operationType": "terms", "scale": "ordinal", "sourceField": field,
            "isBucketed": True, "customLabel": label is not None,
            "params": {"size": size, "orderBy": {"type": "column", "columnId": order_col},
                       "orderDirection": "desc", "otherBucket": True, "missingBucket": False,
                       "parentFormat": {"id": "terms"}}}


def metric_col(spec):
    """spec: "count" | (op, field, label)"""
    if spec == "count":
        return col_count()
    op, field, label = spec
    return col_metric(op, field, label)


# ---- panels ----------------------------------------------------------------

def lens_panel(dash, n, title, kind, query, grid, **kw):
    """One by-value Lens panel. kind: metric | time | pie | table | hbar."""
    pid = uid(dash, "panel", str(n))
    layer = uid(dash, "layer", str(n))
    cols = {}
    order = []

    def add(name, c):
        cid = uid(dash, str(n), name)
        cols[cid] = c
        order.append(cid)
        return cid

    if kind == "metric":
        m = add("m", metric_col(kw.get("metric", "count")))
        vis_type = "lnsMetric"
        vis = {"layerId": layer, "layerType": "data", "metricAccessor": m}
    elif kind == "time":
        x = add("x", col_time())
        mid = uid(dash, str(n), "m")
        split = kw.get("split")
        s = None
        if split:
            s = add("s", col_terms(split, mid, kw.get("size", 5)))
        m = add("m", metric_col(kw.get("metric", "count")))
        assert m == mid
        series = kw.get("series", "bar_stacked")
        vis_type = "lnsXY"
        layer_state = {"layerId": layer, "accessors": [m], "position": "top",
                       "seriesType": series, "showGridlines": False, "layerType": "data",
                       "xAccessor": x}
        if s:
            layer_state["splitAccessor"] = s
        vis = {"legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide",
               "fittingFunction": "None", "preferredSeriesType": series,
               "layers": [layer_state]}
    elif kind in ("pie", "hbar"):
        mid = uid(dash, str(n), "m")
        g = add("g", col_terms(kw["field"], mid, kw.get("size", 10)))
        m = add("m", metric_col(kw.get("metric", "count")))
        if kind == "pie":
            vis_type = "lnsPie"
            vis = {"shape": "donut", "layers": [{
                "layerId": layer, "primaryGroups": [g], "metrics": [m],
                "numberDisplay": "percent", "categoryDisplay": "default",
                "legendDisplay": "default", "nestedLegend": False, "layerType": "data"}]}
        else:
            vis_type = "lnsXY"
            vis = {"legend": {"isVisible": False, "position": "right"}, "valueLabels": "hide",
                   "preferredSeriesType": "bar_horizontal", "layers": [{
                       "layerId": layer, "accessors": [m], "position": "top",
                       "seriesType": "bar_horizontal", "showGridlines": False,
                       "layerType": "data", "xAccessor": g}]}
    elif kind == "table":
        metrics = kw.get("metrics", ["count"])
        first = uid(dash, str(n), "m0")
        for i, f in enumerate(kw["rows"]):
            add("r%d" % i, col_terms(f, first, kw.get("size", 10), label=f))
        for i, spec in enumerate(metrics):
            add("m%d" % i, metric_col(spec))
        vis_type = "lnsDatatable"
        vis = {"layerId": layer, "layerType": "data",
               "columns": [{"columnId": c, "isTransposed": False} for c in order]}
    else:
        raise ValueError(kind)

    ref_name = "indexpattern-datasource-layer-" + layer
    attrs = {
        "title": title,
        "visualizationType": vis_type,
        "type": "lens",
        "references": [{"type": "index-pattern", "id": DATA_VIEW, "name": ref_name}],
        "state": {
            "visualization": vis,
            "query": {"query": query, "language": "kuery"},
            "filters": [],
            "datasourceStates": {"formBased": {"layers": {layer: {
                "columns": cols, "columnOrder": order, "incompleteColumns": {}}}}},
            "internalReferences": [],
            "adHocDataViews": {},
        },
    }
    x, y, w, h = grid
    panel = {"type": "lens", "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
             "panelIndex": pid, "embeddableConfig": {"attributes": attrs, "enhancements": {}},
             "title": title}
    ref = {"type": "index-pattern", "id": DATA_VIEW, "name": pid + ":" + ref_name}
    return panel, ref


def dashboard(did, title, description, panels):
    objs, refs = [], []
    for n, p in enumerate(panels):
        title_p, kind, query, grid, kw = p
        panel, ref = lens_panel(did, n, title_p, kind, query, grid, **kw)
        objs.append(panel)
        refs.append(ref)
    return {
        "attributes": {
            "title": title,
            "description": description,
            "timeRestore": False,
            "version": 1,
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False,
                                       "syncCursor": True, "syncTooltips": False,
                                       "hidePanelTitles": False}, separators=(",", ":")),
            "panelsJSON": json.dumps(objs, separators=(",", ":")),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []},
                separators=(",", ":"))},
        },
        "coreMigrationVersion": CORE_VERSION,
        "id": did,
        "managed": False,
        "references": refs,
        "type": "dashboard",
        "typeMigrationVersion": DASHBOARD_VERSION,
    }


def P(title, kind, query, grid, **kw):
    return (title, kind, query, grid, kw)


def index_pattern():
    fmt = {"event.duration": {"id": "duration", "params": {
        "inputFormat": "nanoseconds", "outputFormat": "asMilliseconds", "outputPrecision": 1}}}
    for f in sorted(BYTES):
        fmt[f] = {"id": "bytes"}
    return {
        "attributes": {
            "allowNoIndex": True,
            "fieldAttrs": "{}",
            "fieldFormatMap": json.dumps(fmt, separators=(",", ":"), sort_keys=True),
            "fields": "[]",
            "name": DATA_VIEW,
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "timeFieldName": "@timestamp",
            "title": DATA_VIEW,
        },
        "coreMigrationVersion": CORE_VERSION,
        "id": DATA_VIEW,
        "managed": False,
        "references": [],
        "type": "index-pattern",
        "typeMigrationVersion": INDEX_PATTERN_VERSION,
    }


# ---- the dashboards ------------------------------------------------------------
# grid: (x, y, w, h) on Kibana's 48-column grid.
A, B, C, D = (0, 0, 16, 8), (16, 0, 16, 8), (32, 0, 16, 8), None
ROW1L, ROW1R = (0, 8, 24, 14), (24, 8, 24, 14)
ROW2L, ROW2R = (0, 22, 24, 14), (24, 22, 24, 14)
ROW3 = (0, 36, 48, 14)
DUR = ("average", "event.duration", "Average duration (ns)")
MAXDUR = ("max", "event.duration", "Slowest (ns)")


def q(t):
    return 'type: "%s"' % t


def app_dashboard(did, title, desc, t, extra):
    """A transaction dashboard: counts, errors, latency plus extra panels."""
    panels = [
        P("Transactions", "metric", q(t), A),
        P("Errors", "metric", q(t) + ' and status: "Error"', B),
        P("Average duration", "metric", q(t), C, metric=DUR),
        P("Transactions over time by status", "time", q(t), ROW1L, split="status"),
        P("Duration over time", "time", q(t), ROW1R, metric=DUR, series="line"),
    ]
    return dashboard(did, title, desc, panels + extra)


def build():
    out = {}
    out["index-pattern"] = [index_pattern()]
    out["overview"] = [dashboard(
        "packetbeat-overview", "[Packetbeat] Overview",
        "Transactions and flows seen by Packetbeat, by protocol.", [
            P("Events", "metric", "", A),
            P("Failed transactions", "metric", 'status: "Error"', B),
            P("Distinct clients", "metric", "", C,
              metric=("unique_count", "client.ip", "Distinct clients")),
            P("Events over time by protocol", "time", "", ROW1L, split="type"),
            P("Protocols", "pie", "", ROW1R, field="type"),
            P("Top clients", "table", "not type: \"flow\"", ROW2L, rows=["client.ip"],
              metrics=["count", ("sum", "client.bytes", "Bytes sent")]),
            P("Top servers", "table", "not type: \"flow\"", ROW2R, rows=["server.ip"],
              metrics=["count", ("sum", "server.bytes", "Bytes sent")]),
        ])]
    out["flows"] = [dashboard(
        "packetbeat-flows", "[Packetbeat] Flows",
        "Network flows: traffic volume, talkers and ports.", [
            P("Flows", "metric", q("flow"), A,
              metric=("unique_count", "flow.id", "Distinct flows")),
            P("Bytes", "metric", q("flow"), B, metric=("sum", "network.bytes", "Bytes")),
            P("Packets", "metric", q("flow"), C, metric=("sum", "network.packets", "Packets")),
            P("Traffic over time by transport", "time", q("flow"), ROW1L,
              split="network.transport", metric=("sum", "network.bytes", "Bytes")),
            P("Transports", "pie", q("flow"), ROW1R, field="network.transport",
              metric=("sum", "network.bytes", "Bytes")),
            P("Top sources", "table", q("flow"), ROW2L, rows=["source.ip"],
              metrics=[("sum", "source.bytes", "Bytes sent"),
                       ("unique_count", "destination.ip", "Peers")]),
            P("Top destinations", "table", q("flow"), ROW2R, rows=["destination.ip"],
              metrics=[("sum", "destination.bytes", "Bytes sent"),
                       ("unique_count", "source.ip", "Peers")]),
            P("Top destination ports", "hbar", q("flow"), ROW3, field="destination.port",
              metric=("sum", "network.bytes", "Bytes")),
        ])]
    out["http"] = [app_dashboard(
        "packetbeat-http", "[Packetbeat] HTTP", "HTTP requests, response codes and latency.",
        "http", [
            P("Response codes", "pie", q("http"), ROW2L, field="http.response.status_code"),
            P("Methods", "pie", q("http"), ROW2R, field="http.request.method"),
            P("Top URLs", "table", q("http"), ROW3, rows=["url.full"],
              metrics=["count", DUR, ("sum", "server.bytes", "Response bytes")]),
        ])]
    out["dns"] = [app_dashboard(
        "packetbeat-dns", "[Packetbeat] DNS", "DNS questions, answers and latency.", "dns", [
            P("Question types", "pie", q("dns"), ROW2L, field="dns.question.type"),
            P("Response codes", "pie", q("dns"), ROW2R, field="dns.response_code"),
            P("Top questions", "table", q("dns"), ROW3, rows=["dns.question.name"],
              metrics=["count", DUR]),
        ])]
    out["dns-tunneling"] = [dashboard(
        "packetbeat-dns-tunneling", "[Packetbeat] DNS Tunneling",
        "Domains with many distinct names or large queries: signs of data carried in DNS.", [
            P("Distinct names", "metric", q("dns"), A,
              metric=("unique_count", "dns.question.name", "Distinct names")),
            P("Distinct domains", "metric", q("dns"), B,
              metric=("unique_count", "dns.question.etld_plus_one", "Distinct domains")),
            P("Query bytes", "metric", q("dns"), C,
              metric=("sum", "client.bytes", "Query bytes")),
            P("Distinct names per domain", "hbar", q("dns"), ROW1L,
              field="dns.question.etld_plus_one",
              metric=("unique_count", "dns.question.name", "Distinct names")),
            P("Query bytes per domain", "hbar", q("dns"), ROW1R,
              field="dns.question.etld_plus_one",
              metric=("sum", "client.bytes", "Query bytes")),
            P("Clients asking most distinct names", "table", q("dns"), ROW2L,
              rows=["client.ip"],
              metrics=[("unique_count", "dns.question.name", "Distinct names"), "count"]),
            P("Questions over time", "time", q("dns"), ROW2R,
              split="dns.question.etld_plus_one"),
        ])]
    out["dhcpv4"] = [dashboard(
        "packetbeat-dhcpv4", "[Packetbeat] DHCPv4", "DHCPv4 messages and clients.", [
            P("Messages", "metric", q("dhcpv4"), A),
            P("Distinct clients", "metric", q("dhcpv4"), B,
              metric=("unique_count", "dhcpv4.client_mac", "Distinct clients")),
            P("Transactions", "metric", q("dhcpv4"), C,
              metric=("unique_count", "dhcpv4.transaction_id", "Transactions")),
            P("Messages over time by type", "time", q("dhcpv4"), ROW1L,
              split="dhcpv4.option.message_type"),
            P("Message types", "pie", q("dhcpv4"), ROW1R, field="dhcpv4.option.message_type"),
            P("Clients", "table", q("dhcpv4"), ROW2L,
              rows=["dhcpv4.client_mac", "dhcpv4.option.hostname"], metrics=["count"]),
            P("Vendor classes", "pie", q("dhcpv4"), ROW2R,
              field="dhcpv4.option.class_identifier"),
        ])]
    for t, name in (("mysql", "MySQL"), ("pgsql", "PostgreSQL")):
        out[t] = [app_dashboard(
            "packetbeat-" + t, "[Packetbeat] " + name,
            "%s queries: volume, errors and the slowest statements." % name, t, [
                P("Query methods", "pie", q(t), ROW2L, field="method"),
                P("Throughput", "time", q(t), ROW2R, metric=("sum", "server.bytes", "Bytes"),
                  series="area"),
                P("Slowest queries", "table", q(t), ROW3, rows=["query"],
                  metrics=[DUR, MAXDUR, "count"]),
            ])]
    out["mongodb"] = [app_dashboard(
        "packetbeat-mongodb", "[Packetbeat] MongoDB", "MongoDB operations and latency.",
        "mongodb", [
            P("Operations", "pie", q("mongodb"), ROW2L, field="method"),
            P("Collections", "hbar", q("mongodb"), ROW2R, field="mongodb.fullCollectionName"),
            P("Slowest operations", "table", q("mongodb"), ROW3, rows=["method", "resource"],
              metrics=[DUR, MAXDUR, "count"]),
        ])]
    out["cassandra"] = [dashboard(
        "packetbeat-cassandra", "[Packetbeat] Cassandra", "Cassandra requests and results.", [
            P("Requests", "metric", q("cassandra"), A),
            P("Errors", "metric", q("cassandra") + ' and status: "Error"', B),
            P("Rows returned", "metric", q("cassandra"), C,
              metric=("sum", "cassandra.response.result.rows.num_rows", "Rows")),
            P("Requests over time by operation", "time", q("cassandra"), ROW1L,
              split="cassandra.request.headers.op"),
            P("Response operations", "pie", q("cassandra"), ROW1R,
              field="cassandra.response.headers.op"),
            P("Result types", "pie", q("cassandra"), ROW2L,
              field="cassandra.response.result.type"),
            P("Keyspaces and tables", "table", q("cassandra"), ROW2R,
              rows=["cassandra.response.result.rows.meta.keyspace",
                    "cassandra.response.result.rows.meta.table"], metrics=["count"]),
            P("Top queries", "table", q("cassandra"), ROW3, rows=["cassandra.request.query"],
              metrics=["count", DUR]),
        ])]
    out["thrift"] = [app_dashboard(
        "packetbeat-thrift", "[Packetbeat] Thrift-RPC", "Thrift RPC calls and latency.",
        "thrift", [
            P("Services", "pie", q("thrift"), ROW2L, field="thrift.service"),
            P("Top methods", "hbar", q("thrift"), ROW2R, field="method"),
            P("Slowest methods", "table", q("thrift"), ROW3, rows=["method"],
              metrics=[DUR, MAXDUR, "count"]),
        ])]
    out["nfs"] = [dashboard(
        "packetbeat-nfs", "[Packetbeat] NFS", "NFS operations, clients and status.", [
            P("Operations", "metric", q("nfs"), A),
            P("Failed operations", "metric", q("nfs") + ' and not nfs.status: "NFS_OK"', B),
            P("Average duration", "metric", q("nfs"), C, metric=DUR),
            P("Operations over time", "time", q("nfs"), ROW1L, split="nfs.opcode"),
            P("Clients", "pie", q("nfs"), ROW1R, field="rpc.cred.machinename"),
            P("Status", "pie", q("nfs"), ROW2L, field="nfs.status"),
            P("Users", "table", q("nfs"), ROW2R, rows=["rpc.cred.uid", "rpc.cred.gid"],
              metrics=["count"]),
            P("Operations by latency", "table", q("nfs"), ROW3, rows=["nfs.opcode"],
              metrics=["count", DUR, MAXDUR]),
        ])]
    out["tls"] = [dashboard(
        "packetbeat-tls", "[Packetbeat] TLS", "TLS sessions: versions, ciphers, servers.", [
            P("Sessions", "metric", q("tls"), A),
            P("Not established", "metric", q("tls") + " and tls.established: false", B),
            P("Distinct servers", "metric", q("tls"), C,
              metric=("unique_count", "tls.client.server_name", "Distinct servers")),
            P("Versions", "pie", q("tls"), ROW1L, field="tls.detailed.version"),
            P("Established", "pie", q("tls"), ROW1R, field="tls.established"),
            P("Ciphers", "hbar", q("tls"), ROW2L, field="tls.cipher"),
            P("Resumption", "pie", q("tls"), ROW2R, field="tls.detailed.resumption_method"),
            P("Server names", "table", q("tls"), ROW3,
              rows=["tls.client.server_name", "tls.client.ja3"], metrics=["count"]),
        ])]
    return out


def render(objs):
    return "".join(json.dumps(o, separators=(",", ":"), sort_keys=True) + "\n" for o in objs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--dir", default=HERE)
    a = ap.parse_args()
    bad = 0
    for name, objs in build().items():
        path = os.path.join(a.dir, name + ".ndjson")
        text = render(objs)
        if a.check:
            try:
                cur = open(path).read()
            except OSError:
                cur = None
            if cur != text:
                print("out of date: %s (run dashboards/gen.py)" % path)
                bad += 1
        else:
            with open(path, "w") as f:
                f.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
