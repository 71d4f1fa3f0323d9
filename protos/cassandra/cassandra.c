/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra.c - the Cassandra native protocol plugin:
 * per-direction frame parsing, requests and responses paired in order.
 *
 * As in Packetbeat: a frame is a request or a response by its version
 * byte, whatever direction it travelled; responses are paired with the
 * oldest waiting request (Packetbeat does not match stream ids); with no
 * request waiting an EVENT response is published on its own
 * (cassandra.no_request) and other responses are dropped. A frame that
 * cannot be decoded, or a gap, drops the whole connection state (both
 * directions and the waiting messages). ignored_ops frames are still
 * paired, but their transactions are not published.
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "cassandra_int.h"
#include "protos/common/txq.h"

/* Requests waiting for responses per connection. Packetbeat keeps them
 * all; we keep the newest ones (drivers pipeline up to thousands). */
#define CASS_MAX_PENDING 4096u
/* ... and at most this many of their wire bytes. */
#define CASS_MAX_PENDING_BYTES (64u * 1024u * 1024u)

struct cass_stream {
    bool started;    /* a frame has begun */
    uint64_t ts_ns;  /* its first packet's time */
    size_t skip;     /* bytes still buffered from before a state reset */
    size_t buffered; /* bytes the core keeps for us after the last call */
};

struct cass_conn {
    bool ready;
    struct cass_stream st[2];
    struct pb_txq requests;
    struct pb_txq responses;
    size_t request_bytes; /* wire bytes of the waiting requests */
};

void cass_msg_free(struct cass_msg *m)
{
    if (m != NULL) {
        json_decref(m->header);
        json_decref(m->data);
        pb_free(m);
    }
}

static void msg_free_fn(void *m)
{
    cass_msg_free(m);
}

static struct cass_conn *conn_of(struct pb_conn *c)
{
    struct cass_conn *cc = c->state;
    if (!cc->ready) {
        pb_txq_set_cap(&cc->requests, CASS_MAX_PENDING);
        pb_txq_set_cap(&cc->responses, CASS_MAX_PENDING);
        cc->ready = true;
    }
    return cc;
}

static void publish(struct pb_conn *c, const struct cass_msg *req, const struct cass_msg *resp)
{
    pb_event *ev = cass_tx_event(c->proto, &c->tuple, req, resp);
    if (ev != NULL) {
        pb_emit(c->proto, ev);
    }
}

static void correlate(struct pb_conn *c, struct cass_conn *cc)
{
    if (pb_txq_empty(&cc->requests)) {
        struct cass_msg *resp;
        while ((resp = pb_txq_pop(&cc->responses)) != NULL) {
            if (resp->op == CASS_OP_EVENT) {
                /* pushed by the server */
                publish(c, NULL, resp);
                cass_msg_free(resp);
                return;
            }
            pb_debug("cassandra", "Response from unknown transaction. Ignoring.");
            c->proto->stats.unmatched++;
            cass_msg_free(resp);
        }
        return;
    }
    while (!pb_txq_empty(&cc->requests) && !pb_txq_empty(&cc->responses)) {
        struct cass_msg *req = pb_txq_pop(&cc->requests);
        struct cass_msg *resp = pb_txq_pop(&cc->responses);
        cc->request_bytes -= req->size;
        publish(c, req, resp);
        cass_msg_free(req);
        cass_msg_free(resp);
    }
}

/* Queues m; when a queue is full the oldest message makes room. */
static void push(struct pb_conn *c, struct cass_conn *cc, struct cass_msg *m)
{
    struct pb_txq *q = m->is_request ? &cc->requests : &cc->responses;
    while (m->is_request && !pb_txq_empty(q) &&
           cc->request_bytes + m->size > CASS_MAX_PENDING_BYTES) {
        struct cass_msg *old = pb_txq_pop(q);
        cc->request_bytes -= old->size;
        cass_msg_free(old);
        c->proto->stats.dropped++;
    }
    if (pb_txq_push(q, m) < 0) {
        struct cass_msg *old = pb_txq_pop(q);
        if (old != NULL) {
            if (m->is_request) {
                cc->request_bytes -= old->size;
            }
            cass_msg_free(old);
        }
        c->proto->stats.dropped++;
        if (pb_txq_push(q, m) < 0) {
            cass_msg_free(m);
            return;
        }
    }
    if (m->is_request) {
        cc->request_bytes += m->size;
    }
}

static void handle_message(struct pb_conn *c, struct cass_conn *cc, struct cass_msg *m)
{
    push(c, cc, m);
    correlate(c, cc);
}

/* Packetbeat drops the connection's state: both parsers (with what they
 * buffered) and the waiting messages. */
static void conn_drop(struct pb_conn *c, struct cass_conn *cc)
{
    pb_txq_clear(&cc->requests, msg_free_fn);
    pb_txq_clear(&cc->responses, msg_free_fn);
    cc->request_bytes = 0;
    for (int i = 0; i < 2; i++) {
        cc->st[i].started = false;
        cc->st[i].skip = cc->st[i].buffered;
    }
}

static enum pb_parse cass_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                  size_t *consumed)
{
    const struct cass_priv *pv = c->proto->priv;
    struct cass_conn *cc = conn_of(c);
    struct cass_stream *st = &cc->st[d];
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    if (off == len) {
        *consumed = len;
        st->buffered = 0;
        return PB_PARSE_OK;
    }
    data += off;
    len -= off;
    if (!st->started) {
        st->started = true;
        st->ts_ns = c->ts_ns;
    }
    struct cass_frame f;
    enum cass_rc rc = cass_parse_frame(&pv->cfg, data, len, &f);
    if (rc == CASS_MORE && f.header_done && f.size > PB_MAX_STREAM_BYTES) {
        /* can never fit in the stream buffer: Packetbeat's parser fails
         * with "Stream data too large" once it fills up */
        rc = CASS_ERR;
    }
    if (rc == CASS_MORE) {
        *consumed = off;
        st->buffered = len;
        return PB_PARSE_MORE;
    }
    if (rc == CASS_ERR) {
        pb_debug("cassandra", "dropping TCP stream for error in direction %d", (int)d);
        c->proto->stats.parse_errors++;
        conn_drop(c, cc);
        st->skip = 0;
        st->buffered = 0;
        *consumed = off + len;
        return PB_PARSE_DROP;
    }
    struct cass_msg *m = pb_calloc(1, sizeof *m);
    size_t size = f.size;
    st->started = false;
    *consumed = off + size;
    st->buffered = len - size;
    if (m == NULL) {
        cass_frame_clear(&f);
        c->proto->stats.dropped++;
        return PB_PARSE_OK;
    }
    m->ts_ns = st->ts_ns;
    m->size = size;
    m->is_request = f.is_request;
    m->ignored = f.ignored;
    m->op = f.op;
    m->header = f.header;
    m->data = f.data;
    handle_message(c, cc, m);
    return PB_PARSE_OK;
}

static bool cass_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct cass_conn *cc = conn_of(c);
    c->proto->stats.gaps++;
    conn_drop(c, cc);
    cc->st[d].skip = 0;
    cc->st[d].buffered = 0;
    return true;
}

static void cass_on_fin(struct pb_conn *c, enum pb_dir d)
{
    /* Nothing: Packetbeat publishes nothing on FIN. */
}

static void cass_on_expire(struct pb_conn *c)
{
    /* Waiting requests are dropped with the connection, as in Packetbeat. */
}

static void cass_conn_free(struct pb_conn *c)
{
    struct cass_conn *cc = c->state;
    if (cc != NULL) {
        pb_txq_free(&cc->requests, msg_free_fn);
        pb_txq_free(&cc->responses, msg_free_fn);
    }
}

static int cass_init(struct pb_proto *p)
{
    struct cass_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    const char *comp = NULL;
    char **ops = NULL;
    size_t nops = 0;
    /* Packetbeat's cassandra defaults send_request/send_response to true */
    if (pb_cfg_bool(p->cfg, "send_request", true, &p->send_request) < 0 ||
        pb_cfg_bool(p->cfg, "send_response", true, &p->send_response) < 0 ||
        pb_cfg_bool(p->cfg, "send_request_header", true, &pv->send_request_header) < 0 ||
        pb_cfg_bool(p->cfg, "send_response_header", true, &pv->send_response_header) < 0 ||
        pb_cfg_str(p->cfg, "compressor", "", &comp) < 0 ||
        pb_cfg_strv(p->cfg, "ignored_ops", &ops, &nops) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    int rc = 0;
    if (strcmp(comp, "snappy") == 0) {
        pv->cfg.snappy = true;
    } else if (comp[0] != '\0') {
        pb_error("cassandra", "invalid compressor config: %s, only snappy supported", comp);
        rc = -PB_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < nops; i++) {
        int op = cass_op_from_name(ops[i]);
        if (op < 0) {
            pb_error("cassandra", "unknown frame op: %s", ops[i]);
            rc = -PB_EINVAL;
            break;
        }
        pv->cfg.ignored[op] = true;
    }
    pb_cfg_strv_free(ops);
    if (rc < 0) {
        pb_free(pv);
        return rc;
    }
    p->priv = pv;
    return 0;
}

static void cass_fini(struct pb_proto *p)
{
    pb_free(p->priv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_cassandra = {
    .name = "cassandra",
    .transports = PB_TCP,
    .conn_size = sizeof(struct cass_conn),
    .init = cass_init,
    .fini = cass_fini,
    .on_data = cass_on_data,
    .on_gap = cass_on_gap,
    .on_fin = cass_on_fin,
    .on_expire = cass_on_expire,
    .conn_free = cass_conn_free,
};
