/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb.c - the mongodb plugin: per-direction message
 * framing, request/reply correlation by requestID/responseTo, options
 * max_docs and max_doc_length, the "Unknown operation code" log line.
 *
 * As in Packetbeat: only OP_QUERY and OP_GET_MORE wait for a reply (by
 * requestID); every other message that is not an OP_REPLY is published at
 * once as a request-only transaction; an OP_REPLY waits for its request if
 * it comes first. Waiting messages expire after transaction_timeout (wall
 * clock) without an event. Garbage or a gap drops the stream buffers but
 * keeps the waiting messages.
 */
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "mongodb_int.h"

#define MAX_WAITING 1024u   /* per connection and direction of matching */
#define MAX_REPORTED 65536u /* distinct unknown opcodes remembered */

struct mongo_list {
    struct mongo_msg *head, *tail;
    size_t n;
};

struct mongo_stream {
    bool started;
    uint64_t ts_ns;
    size_t skip;
    size_t buffered;
};

struct mongo_conn {
    struct mongo_stream st[2];
    struct mongo_list requests, responses;
};

static void list_append(struct mongo_list *l, struct mongo_msg *m)
{
    m->next = NULL;
    if (l->tail == NULL) {
        l->head = m;
    } else {
        l->tail->next = m;
    }
    l->tail = m;
    l->n++;
}

static void list_remove(struct mongo_list *l, struct mongo_msg *m, struct mongo_msg *prev)
{
    if (prev == NULL) {
        l->head = m->next;
    } else {
        prev->next = m->next;
    }
    if (l->tail == m) {
        l->tail = prev;
    }
    l->n--;
    m->next = NULL;
}

static void list_clear(struct mongo_list *l)
{
    while (l->head != NULL) {
        struct mongo_msg *m = l->head;
        l->head = m->next;
        mongo_msg_free(m);
    }
    l->tail = NULL;
    l->n = 0;
}

/* Drops entries older than the transaction timeout (the cache janitor). */
static void list_expire(struct mongo_list *l, uint64_t now, int64_t timeout)
{
    struct mongo_msg *prev = NULL, *m = l->head;
    while (m != NULL) {
        struct mongo_msg *next = m->next;
        if (timeout > 0 && now >= m->added_ns && now - m->added_ns > (uint64_t)timeout) {
            list_remove(l, m, prev);
            mongo_msg_free(m);
        } else {
            prev = m;
        }
        m = next;
    }
}

/* Removes and returns the entry whose key (request id or responseTo) is id. */
static struct mongo_msg *list_take(struct mongo_list *l, uint32_t id, bool by_request_id)
{
    struct mongo_msg *prev = NULL;
    for (struct mongo_msg *m = l->head; m != NULL; prev = m, m = m->next) {
        uint32_t k = by_request_id ? m->request_id : m->response_to;
        if (k == id) {
            list_remove(l, m, prev);
            return m;
        }
    }
    return NULL;
}

/* Cache.Put: replaces an entry with the same key; bounded. */
static void list_put(struct pb_proto *p, struct mongo_list *l, struct mongo_msg *m,
                     bool by_request_id)
{
    struct mongo_msg *old =
        list_take(l, by_request_id ? m->request_id : m->response_to, by_request_id);
    if (old != NULL) {
        pb_debug("mongodb", "Two requests without a Response. Dropping old request");
        p->stats.unmatched++;
        mongo_msg_free(old);
    }
    if (l->n >= MAX_WAITING) {
        struct mongo_msg *first = l->head;
        list_remove(l, first, NULL);
        mongo_msg_free(first);
        p->stats.dropped++;
    }
    list_append(l, m);
}

static void publish(struct pb_conn *c, struct mongo_msg *req, struct mongo_msg *resp)
{
    pb_emit(c->proto, mongo_tx_event(c->proto, &c->tuple, req, resp));
    mongo_msg_free(req);
    mongo_msg_free(resp);
}

static bool awaits_reply(int32_t op)
{
    return op == MONGO_OP_QUERY || op == MONGO_OP_GET_MORE;
}

static void handle(struct pb_conn *c, struct mongo_conn *mc, struct mongo_msg *m)
{
    uint64_t now = pb_frame_now_ns();
    m->added_ns = now;
    list_expire(&mc->requests, now, c->proto->tx_timeout_ns);
    list_expire(&mc->responses, now, c->proto->tx_timeout_ns);
    if (m->is_response) {
        struct mongo_msg *req = list_take(&mc->requests, m->response_to, true);
        if (req != NULL) {
            publish(c, req, m);
            return;
        }
        list_put(c->proto, &mc->responses, m, false);
        return;
    }
    if (!awaits_reply(m->opcode)) {
        publish(c, m, NULL);
        return;
    }
    struct mongo_msg *resp = list_take(&mc->responses, m->request_id, false);
    if (resp != NULL) {
        publish(c, m, resp);
        return;
    }
    list_put(c->proto, &mc->requests, m, true);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Logs an unknown opcode the first time it is seen, as Packetbeat does. */
static void report_opcode(struct mongo_priv *pv, int32_t op)
{
    if (pv->reported != NULL &&
        bsearch(&op, pv->reported, pv->nreported, sizeof op, cmp_i32) != NULL) {
        return;
    }
    char name[32];
    mongo_opcode_str(op, name, sizeof name);
    pb_error(NULL, "Unknown operation code: %d (%s)", (int)op, name);
    if (pv->nreported >= MAX_REPORTED) {
        return;
    }
    if (pv->nreported == pv->capreported) {
        size_t cap = pv->capreported == 0 ? 16 : pv->capreported * 2;
        int32_t *v = pb_realloc(pv->reported, cap * sizeof *v);
        if (v == NULL) {
            return;
        }
        pv->reported = v;
        pv->capreported = cap;
    }
    size_t at = 0;
    while (at < pv->nreported && pv->reported[at] < op) {
        at++;
    }
    memmove(pv->reported + at + 1, pv->reported + at, (pv->nreported - at) * sizeof op);
    pv->reported[at] = op;
    pv->nreported++;
}

static void stream_reset(struct mongo_stream *st)
{
    st->started = false;
    st->ts_ns = 0;
}

static enum pb_parse mongo_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data,
                                   size_t len, size_t *consumed)
{
    struct mongo_conn *mc = c->state;
    struct mongo_stream *st = &mc->st[d];
    struct mongo_priv *pv = c->proto->priv;
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    while (off < len) {
        if (!st->started) {
            st->started = true;
            st->ts_ns = c->ts_ns;
        }
        struct mongo_msg *m = NULL;
        size_t mlen = 0;
        int32_t op = 0;
        char err[256];
        enum mongo_result r = mongo_parse(data + off, len - off, &pv->cfg, st->ts_ns, &m, &mlen,
                                          &op, err, sizeof err);
        if (r == MONGO_MORE) {
            break;
        }
        if (r == MONGO_BAD_OPCODE || r == MONGO_ERR) {
            if (r == MONGO_BAD_OPCODE) {
                report_opcode(pv, op);
            } else if (err[0] != '\0') {
                pb_error(NULL, "%s", err);
            }
            pb_debug("mongodb", "Ignore Mongodb message. Drop tcp stream.");
            c->proto->stats.parse_errors++;
            stream_reset(st);
            st->buffered = 0;
            *consumed = len;
            return PB_PARSE_DROP;
        }
        off += mlen;
        stream_reset(st);
        m->dir = (int)d;
        handle(c, mc, m);
    }
    *consumed = off;
    st->buffered = len - off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static bool mongo_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    /* Packetbeat drops both streams; waiting messages live on in its cache */
    struct mongo_conn *mc = c->state;
    c->proto->stats.gaps++;
    for (int i = 0; i < 2; i++) {
        stream_reset(&mc->st[i]);
        mc->st[i].skip = i == (int)d ? 0 : mc->st[i].buffered;
        mc->st[i].buffered = mc->st[i].skip;
    }
    return true;
}

static void mongo_on_fin(struct pb_conn *c, enum pb_dir d)
{
}

static void mongo_on_expire(struct pb_conn *c)
{
    /* unanswered requests expire silently, as in Packetbeat */
}

static void mongo_conn_free(struct pb_conn *c)
{
    struct mongo_conn *mc = c->state;
    if (mc != NULL) {
        list_clear(&mc->requests);
        list_clear(&mc->responses);
    }
}

static int mongo_init(struct pb_proto *p)
{
    struct mongo_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    int64_t max_docs = 10, max_len = 5000;
    if (pb_cfg_int(p->cfg, "max_docs", 10, &max_docs) < 0 ||
        pb_cfg_int(p->cfg, "max_doc_length", 5000, &max_len) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    /* a key present with no value (YAML null) keeps the default */
    const struct pb_cfg *n = pb_cfg_get(p->cfg, "max_docs");
    if (n != NULL && n->kind == PB_CFG_NULL) {
        max_docs = 10;
    }
    n = pb_cfg_get(p->cfg, "max_doc_length");
    if (n != NULL && n->kind == PB_CFG_NULL) {
        max_len = 5000;
    }
    pv->cfg.want_request = p->send_request;
    pv->cfg.want_docs = p->send_response;
    pv->cfg.max_docs = max_docs;
    pv->max_doc_length = max_len;
    p->priv = pv;
    return 0;
}

static void mongo_fini(struct pb_proto *p)
{
    struct mongo_priv *pv = p->priv;
    if (pv != NULL) {
        pb_free(pv->reported);
        pb_free(pv);
    }
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_mongodb = {
    .name = "mongodb",
    .transports = PB_TCP,
    .conn_size = sizeof(struct mongo_conn),
    .init = mongo_init,
    .fini = mongo_fini,
    .on_data = mongo_on_data,
    .on_gap = mongo_on_gap,
    .on_fin = mongo_on_fin,
    .on_expire = mongo_on_expire,
    .conn_free = mongo_conn_free,
};
