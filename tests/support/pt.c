/* SPDX-License-Identifier: Apache-2.0
 * tests/support/pt.c - protocol test harness (see pt.h). Drives a protocol
 * the way packet/tcp does: per direction it keeps the bytes the protocol
 * has not consumed yet and hands on_data all of them at each segment;
 * *consumed bytes are dropped from the front, PB_PARSE_DROP drops the whole
 * buffer, on_data is called again while it returns PB_PARSE_OK and consumes
 * something, a gap goes to on_gap (true: the buffer is dropped), a buffer
 * that would pass PB_MAX_STREAM_BYTES is reported as a gap and dropped, FIN
 * goes to on_fin. Every buffer handed to the protocol is an exactly-sized
 * allocation, so sanitizers catch reads past its end.
 */
#include "pt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/limits.h"
#include "protos/protos.h"

/* packet/tcp's bound on on_data calls per segment */
#define PT_MAX_PARSE_LOOPS 4096u
/* 2020-01-01T00:00:00Z */
#define PT_EPOCH_NS (1577836800ull * 1000000000ull)

struct pt_conn {
    const struct pb_proto_ops *ops;
    struct pb_proto proto;
    struct pb_cfg *cfg;
    struct pb_conn conn;
    struct pb_pkt pkt;
    uint8_t *buf[2]; /* unconsumed bytes per direction, exactly sized */
    size_t len[2];
    uint64_t now;
    json_t *events;
};

static uint64_t next_conn_id;

/* Fails the test only on failure, so the harness also runs outside Check
 * (fuzz drivers): passing ck_assert calls report to the Check runner. */
#define PT_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ck_abort_msg(__VA_ARGS__);                                                             \
        }                                                                                          \
    } while (0)

static void collect(void *ctx, struct pb_proto *p, pb_event *ev)
{
    struct pt_conn *t = ctx;
    (void)p;
    if (ev != NULL) {
        json_t *tree = pb_ev_take(ev);
        PT_CHECK(tree != NULL, "event to tree: out of memory");
        json_array_append_new(t->events, tree);
    }
}

struct pt_conn *pt_open(const struct pb_proto_ops *ops, const char *yaml)
{
    struct pt_conn *t = calloc(1, sizeof *t);
    PT_CHECK(t != NULL, "out of memory");
    t->ops = ops;
    t->events = json_array();
    t->now = PT_EPOCH_NS;

    const char *text = yaml != NULL ? yaml : "{}";
    char err[512] = "";
    t->cfg = pb_cfg_parse(text, strlen(text), "test", err, sizeof err);
    PT_CHECK(t->cfg != NULL, "config: %s", err);

    struct pb_proto *p = &t->proto;
    p->ops = ops;
    p->emit = collect;
    p->emit_ctx = t;
    int rc = pb_proto_common_config(p, t->cfg);
    PT_CHECK(rc == 0, "common config: %s", pb_cfg_errmsg());
    if (ops->init != NULL) {
        rc = ops->init(p);
        PT_CHECK(rc == 0, "%s init: %d %s", ops->name, rc, pb_cfg_errmsg());
    }

    struct pb_tuple *tu = &t->conn.tuple;
    pb_ip_parse("10.0.0.1", &tu->src);
    pb_ip_parse("10.0.0.2", &tu->dst);
    tu->sport = 40000;
    tu->dport = p->nports > 0 ? p->ports[0] : 80;
    if (ops->transports & PB_TCP) {
        tu->proto = PB_IPPROTO_TCP;
    } else if (ops->transports & PB_UDP) {
        tu->proto = PB_IPPROTO_UDP;
    } else {
        tu->proto = PB_IPPROTO_ICMP;
        tu->sport = 0;
        tu->dport = 0;
    }
    t->conn.proto = p;
    t->conn.id = ++next_conn_id;
    t->conn.ts_ns = t->now;
    t->conn.state = calloc(1, ops->conn_size > 0 ? ops->conn_size : 1);
    PT_CHECK(t->conn.state != NULL, "out of memory");
    return t;
}

static void set_pkt(struct pt_conn *t, enum pb_dir d, const uint8_t *data, size_t len)
{
    memset(&t->pkt, 0, sizeof t->pkt);
    t->pkt.ts_ns = t->now;
    t->pkt.tuple = d == PB_DIR_TO_SERVER ? t->conn.tuple : pb_tuple_reverse(&t->conn.tuple);
    t->pkt.payload = data;
    t->pkt.payload_len = len;
    t->conn.ts_ns = t->now;
    t->conn.pkt = &t->pkt;
}

static void drop_buf(struct pt_conn *t, enum pb_dir d)
{
    free(t->buf[d]);
    t->buf[d] = NULL;
    t->len[d] = 0;
}

/* Repeats on_data while it makes progress, as packet/tcp's run_parser
 * does. Returns the bytes consumed, or -1 for PB_PARSE_DROP. */
static long run_parser(struct pt_conn *t, enum pb_dir d, const uint8_t *data, size_t len,
                       enum pb_parse *last)
{
    size_t pos = 0;
    *last = PB_PARSE_MORE;
    for (unsigned i = 0; pos < len && i < PT_MAX_PARSE_LOOPS; i++) {
        size_t consumed = 0;
        t->conn.pkt = &t->pkt;
        t->conn.ts_ns = t->now;
        *last = t->ops->on_data(&t->conn, d, data + pos, len - pos, &consumed);
        if (*last == PB_PARSE_DROP) {
            return -1;
        }
        if (consumed > len - pos) {
            consumed = len - pos;
        }
        pos += consumed;
        if (*last != PB_PARSE_OK || consumed == 0) {
            break;
        }
    }
    return (long)pos;
}

enum pb_parse pt_feed(struct pt_conn *t, enum pb_dir d, const void *data, size_t len)
{
    if (len == 0 || t->ops->on_data == NULL) {
        return PB_PARSE_MORE;
    }
    set_pkt(t, d, (const uint8_t *)data, len);
    /* Past the per-stream cap the TCP layer reports everything buffered
     * plus the segment as lost and drops the buffer whatever on_gap says. */
    if (t->len[d] + len > PB_MAX_STREAM_BYTES) {
        t->conn.pkt = NULL;
        if (t->ops->on_gap != NULL) {
            t->ops->on_gap(&t->conn, d, t->len[d] + len);
        }
        drop_buf(t, d);
        return PB_PARSE_DROP;
    }
    size_t total = t->len[d] + len;
    uint8_t *buf = malloc(total);
    PT_CHECK(buf != NULL, "out of memory");
    if (t->len[d] > 0) {
        memcpy(buf, t->buf[d], t->len[d]);
    }
    memcpy(buf + t->len[d], data, len);
    free(t->buf[d]);
    t->buf[d] = buf;
    t->len[d] = total;

    enum pb_parse r;
    long used = run_parser(t, d, buf, total, &r);
    t->conn.pkt = NULL;
    if (used < 0 || (size_t)used >= total) {
        drop_buf(t, d);
        return r;
    }
    if (used > 0) {
        size_t left = total - (size_t)used;
        uint8_t *rest = malloc(left);
        PT_CHECK(rest != NULL, "out of memory");
        memcpy(rest, buf + used, left);
        free(t->buf[d]);
        t->buf[d] = rest;
        t->len[d] = left;
    }
    return r;
}

enum pb_parse pt_feeds(struct pt_conn *t, enum pb_dir d, const char *s)
{
    return pt_feed(t, d, s, strlen(s));
}

void pt_gap(struct pt_conn *t, enum pb_dir d, size_t lost)
{
    t->conn.ts_ns = t->now;
    t->conn.pkt = NULL;
    bool drop = true;
    if (t->ops->on_gap != NULL) {
        drop = t->ops->on_gap(&t->conn, d, lost);
    }
    if (drop) {
        drop_buf(t, d);
    }
}

void pt_fin(struct pt_conn *t, enum pb_dir d)
{
    t->conn.ts_ns = t->now;
    t->conn.pkt = NULL;
    if (t->ops->on_fin != NULL) {
        t->ops->on_fin(&t->conn, d);
    }
}

void pt_expire(struct pt_conn *t)
{
    t->conn.pkt = NULL;
    if (t->ops->on_expire != NULL) {
        t->ops->on_expire(&t->conn);
    }
}

void pt_datagram(struct pt_conn *t, enum pb_dir d, const void *data, size_t len)
{
    if (t->ops->on_datagram == NULL) {
        return;
    }
    uint8_t *copy = malloc(len > 0 ? len : 1);
    PT_CHECK(copy != NULL, "out of memory");
    if (len > 0) {
        memcpy(copy, data, len);
    }
    set_pkt(t, d, copy, len);
    t->conn.pkt = NULL;
    if (t->conn.tuple.proto == PB_IPPROTO_ICMP) {
        t->pkt.icmp_type = len > 0 ? copy[0] : 0;
        t->pkt.icmp_code = len > 1 ? copy[1] : 0;
    }
    t->ops->on_datagram(&t->proto, &t->pkt, copy, len);
    free(copy);
}

void pt_tick(struct pt_conn *t, uint64_t now_ns)
{
    if (t->ops->on_tick != NULL) {
        t->ops->on_tick(&t->proto, now_ns);
    }
}

void pt_shutdown(struct pt_conn *t)
{
    if (t->ops->on_shutdown != NULL) {
        t->ops->on_shutdown(&t->proto);
    }
}

void pt_advance(struct pt_conn *t, uint64_t ns)
{
    t->now += ns;
}

json_t *pt_events(struct pt_conn *t)
{
    return t->events;
}

size_t pt_nevents(struct pt_conn *t)
{
    return json_array_size(t->events);
}

/* Dotted path lookup: objects by key (literal dotted keys too), lists by
 * a numeric segment. */
static json_t *lookup(json_t *v, const char *path, int depth)
{
    if (v == NULL || depth > 64) {
        return NULL;
    }
    if (*path == '\0') {
        return v;
    }
    if (json_is_array(v)) {
        char *end = NULL;
        unsigned long idx = strtoul(path, &end, 10);
        if (end == path || (*end != '.' && *end != '\0')) {
            return NULL;
        }
        json_t *e = json_array_get(v, idx);
        return *end == '\0' ? e : lookup(e, end + 1, depth + 1);
    }
    if (!json_is_object(v)) {
        return NULL;
    }
    json_t *x = json_object_get(v, path);
    if (x != NULL) {
        return x;
    }
    for (const char *dot = strchr(path, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        json_t *child = json_object_getn(v, path, (size_t)(dot - path));
        json_t *r = lookup(child, dot + 1, depth + 1);
        if (r != NULL) {
            return r;
        }
    }
    return NULL;
}

json_t *pt_field(struct pt_conn *t, size_t i, const char *path)
{
    return lookup(json_array_get(t->events, i), path, 0);
}

const char *pt_str(struct pt_conn *t, size_t i, const char *path)
{
    json_t *v = pt_field(t, i, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t pt_int(struct pt_conn *t, size_t i, const char *path)
{
    json_t *v = pt_field(t, i, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

struct pb_proto *pt_proto(struct pt_conn *t)
{
    return &t->proto;
}

struct pb_conn *pt_pbconn(struct pt_conn *t)
{
    return &t->conn;
}

void pt_close(struct pt_conn *t)
{
    if (t == NULL) {
        return;
    }
    if (t->ops->conn_free != NULL) {
        t->ops->conn_free(&t->conn);
    }
    free(t->conn.state);
    if (t->ops->fini != NULL) {
        t->ops->fini(&t->proto);
    }
    pb_cfg_free(t->cfg);
    drop_buf(t, PB_DIR_TO_SERVER);
    drop_buf(t, PB_DIR_TO_CLIENT);
    json_decref(t->events);
    free(t);
}
