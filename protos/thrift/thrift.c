/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift.c - the Thrift-RPC plugin: per-direction message
 * parsing over the socket or framed transport with the binary protocol,
 * one pending call per connection, names from the IDL files.
 *
 * As in Packetbeat: calls and oneway calls are requests, replies and
 * exceptions are responses, whatever direction they travel. A second call
 * before the reply publishes the first one without a reply (oneway), as
 * does a FIN. A reply whose method differs from the pending call's is
 * ignored. Garbage drops the direction's stream; a gap drops both streams
 * and the pending call (a reply being read when the gap hits is published
 * with a note). With capture_reply off, the reply direction is skipped
 * after each reply header until the next call.
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/rd.h"
#include "thrift_int.h"

enum { ST_START = 0, ST_FIELDS = 1 };

enum parse_res { PR_MORE, PR_DONE, PR_BAD, PR_PANIC };

struct thrift_stream {
    bool have_msg;          /* a message is being read */
    bool skip_input;        /* capture_reply off: ignore this direction */
    int state;              /* ST_START or ST_FIELDS */
    size_t parse_off;       /* offset into the unconsumed bytes */
    struct thrift_msg *msg; /* owned */
    size_t skip;            /* bytes still buffered from before a state reset */
    size_t buffered;        /* bytes the core keeps for us after the last call */
};

struct thrift_conn {
    struct thrift_stream st[2];
    struct thrift_tx *pending; /* owned */
};

/* ---- messages ---- */

void thrift_msg_free(struct thrift_msg *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nfields; i++) {
        pb_free(m->fields[i].value);
    }
    pb_free(m->fields);
    pb_bytes_free(&m->method);
    pb_bytes_free(&m->params);
    pb_bytes_free(&m->return_value);
    pb_bytes_free(&m->exceptions);
    pb_free(m);
}

static void tx_free(struct thrift_tx *tx)
{
    if (tx != NULL) {
        thrift_msg_free(tx->request);
        thrift_msg_free(tx->reply);
        pb_free(tx);
    }
}

static void stream_reset(struct thrift_stream *st)
{
    thrift_msg_free(st->msg);
    st->msg = NULL;
    st->have_msg = false;
    st->skip_input = false;
    st->state = ST_START;
    st->parse_off = 0;
}

static bool add_field(struct thrift_msg *m, uint16_t id, const struct pb_bytes *v)
{
    if (m->nfields == m->fcap) {
        size_t ncap = m->fcap ? m->fcap * 2 : 4;
        struct thrift_field *nf = pb_realloc(m->fields, ncap * sizeof *nf);
        if (nf == NULL) {
            return false;
        }
        m->fields = nf;
        m->fcap = ncap;
    }
    char *val = pb_malloc(v->len + 1);
    if (val == NULL) {
        return false;
    }
    if (v->len > 0) {
        memcpy(val, v->p, v->len);
    }
    val[v->len] = '\0';
    m->fields[m->nfields].id = id;
    m->fields[m->nfields].value = val;
    m->fields[m->nfields].len = v->len;
    m->nfields++;
    return true;
}

/* Packetbeat's formatStruct over a message's fields, with names from the
 * IDL when `names` is non-NULL. */
static bool format_fields(const struct thrift_priv *pv, const struct thrift_msg *m,
                          const struct thrift_idl_field *names, size_t nnames, bool resolve,
                          struct pb_bytes *out)
{
    const size_t max = THRIFT_MAX_VALUE_BYTES;
    bool ok = pb_bytes_append(out, "(", 1, max) == 0;
    for (size_t i = 0; ok && i < m->nfields; i++) {
        if (i > 0) {
            ok = pb_bytes_append(out, ", ", 2, max) == 0;
        }
        if (i == pv->fmt.collection_max) {
            ok = ok && pb_bytes_append(out, "...", 3, max) == 0;
            break;
        }
        const char *name = resolve ? thrift_idl_field_name(names, nnames, m->fields[i].id) : NULL;
        char num[16];
        if (name == NULL) {
            snprintf(num, sizeof num, "%u", (unsigned)m->fields[i].id);
            name = num;
        }
        ok = ok && pb_bytes_append(out, name, strlen(name), max) == 0 &&
             pb_bytes_append(out, ": ", 2, max) == 0 &&
             pb_bytes_append(out, m->fields[i].value, m->fields[i].len, max) == 0;
    }
    return ok && pb_bytes_append(out, ")", 1, max) == 0;
}

/* At the STOP of the top-level struct: params, or return value or
 * exceptions. */
static bool finish_message(const struct thrift_priv *pv, struct thrift_msg *m)
{
    const struct thrift_idl_method *method = NULL;
    if (pv->idl != NULL) {
        method = thrift_idl_find(pv->idl, (const char *)m->method.p, m->method.len);
    }
    if (m->is_request) {
        if (method != NULL) {
            m->service = method->service;
            return format_fields(pv, m, method->params, method->nparams, true, &m->params);
        }
        return format_fields(pv, m, NULL, 0, false, &m->params);
    }
    if (m->nfields == 0) {
        return true;
    }
    if (m->fields[0].id == 0) {
        return pb_bytes_append(&m->return_value, m->fields[0].value, m->fields[0].len,
                               THRIFT_MAX_VALUE_BYTES) == 0;
    }
    m->has_exception = true;
    if (method != NULL) {
        return format_fields(pv, m, method->exceptions, method->nexceptions, true, &m->exceptions);
    }
    return format_fields(pv, m, NULL, 0, false, &m->exceptions);
}

/* Packetbeat's messageParser over data[0..len) (the unconsumed bytes, the
 * message starting at 0). */
static enum parse_res parse_message(const struct thrift_priv *pv, struct thrift_stream *st,
                                    const uint8_t *data, size_t len)
{
    struct thrift_msg *m = st->msg;
    while (st->parse_off < len) {
        if (st->state == ST_START) {
            m->start = st->parse_off;
            if (pv->framed) {
                if (len < 4) {
                    return PR_MORE;
                }
                struct pb_rd r = pb_rd_make(data, 4);
                m->frame_size = pb_rd_be32(&r);
                st->parse_off = 4;
            }
            struct thrift_msg_head h;
            pb_bytes_reset(&m->method);
            enum thrift_rc rc = thrift_read_msg_begin(&pv->fmt, data + st->parse_off,
                                                      len - st->parse_off, &h, &m->method);
            if (rc == THRIFT_MORE) {
                return PR_MORE;
            }
            if (rc != THRIFT_OK) {
                return PR_BAD;
            }
            m->type = h.type;
            m->seqid = h.seqid;
            st->parse_off += h.len;
            m->is_request = h.type == THRIFT_MSG_CALL || h.type == THRIFT_MSG_ONEWAY;
            if (!m->is_request && !pv->capture_reply) {
                return PR_DONE;
            }
            st->state = ST_FIELDS;
            continue;
        }
        /* a field of the top-level struct */
        size_t off = st->parse_off;
        uint8_t ft = data[off++];
        if (ft == THRIFT_T_STOP) {
            st->parse_off = off;
            return finish_message(pv, m) ? PR_DONE : PR_BAD;
        }
        if (len - off < 2) {
            return PR_MORE;
        }
        uint16_t id = (uint16_t)((data[off] << 8) | data[off + 1]);
        off += 2;
        struct pb_bytes val = {0};
        size_t used = 0;
        enum thrift_rc rc = thrift_read_value(&pv->fmt, ft, data + off, len - off, &val, &used);
        if (rc != THRIFT_OK) {
            pb_bytes_free(&val);
            if (rc == THRIFT_MORE) {
                return PR_MORE;
            }
            return rc == THRIFT_PANIC ? PR_PANIC : PR_BAD;
        }
        bool ok = add_field(m, id, &val);
        pb_bytes_free(&val);
        if (!ok) {
            return PR_BAD;
        }
        st->parse_off = off + used;
    }
    return PR_MORE;
}

/* ---- transactions ---- */

static void publish(struct pb_conn *c, struct thrift_tx *tx)
{
    pb_emit(c->proto, thrift_tx_event(c->proto, tx));
}

/* The pending call, NULL when none or when it outlived the transaction
 * timeout (Packetbeat's cache forgets it silently). */
static struct thrift_tx *get_pending(struct pb_conn *c, struct thrift_conn *tc)
{
    struct thrift_tx *tx = tc->pending;
    if (tx == NULL) {
        return NULL;
    }
    uint64_t now = pb_frame_now_ns();
    int64_t to = c->proto->tx_timeout_ns;
    if (to > 0 && now > tx->last_access_ns && now - tx->last_access_ns > (uint64_t)to) {
        tx_free(tx);
        tc->pending = NULL;
        return NULL;
    }
    tx->last_access_ns = now;
    return tx;
}

static void received_request(struct pb_conn *c, struct thrift_conn *tc, struct thrift_msg *m)
{
    struct thrift_tx *old = get_pending(c, tc);
    if (old != NULL) {
        pb_debug("thrift", "Two requests without reply, assuming the old one is oneway");
        c->proto->stats.unmatched++;
        publish(c, old);
        tx_free(old);
        tc->pending = NULL;
    }
    struct thrift_tx *tx = pb_calloc(1, sizeof *tx);
    if (tx == NULL) {
        c->proto->stats.dropped++;
        thrift_msg_free(m);
        return;
    }
    tx->tuple = m->dir == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
    tx->request = m;
    tx->last_access_ns = pb_frame_now_ns();
    tc->pending = tx;
}

static void received_reply(struct pb_conn *c, struct thrift_conn *tc, struct thrift_msg *m)
{
    struct thrift_tx *tx = get_pending(c, tc);
    if (tx == NULL) {
        pb_debug("thrift", "Response from unknown transaction. Ignoring.");
        c->proto->stats.unmatched++;
        thrift_msg_free(m);
        return;
    }
    const struct pb_bytes *a = &tx->request->method, *b = &m->method;
    if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, a->len) != 0)) {
        pb_debug("thrift", "Response from another request received. Ignoring.");
        c->proto->stats.unmatched++;
        thrift_msg_free(m);
        return;
    }
    tx->reply = m;
    publish(c, tx);
    tx_free(tx);
    tc->pending = NULL;
}

/* Packetbeat's messageComplete: hands the message on and says whether the
 * direction's remaining bytes are flushed. */
static bool message_complete(struct pb_conn *c, struct thrift_conn *tc, enum pb_dir d)
{
    const struct thrift_priv *pv = c->proto->priv;
    struct thrift_stream *st = &tc->st[d];
    struct thrift_msg *m = st->msg;
    bool flush = false;
    if (m->is_request) {
        if (!pv->capture_reply) {
            tc->st[1 - d].skip_input = false;
        }
    } else if (!pv->capture_reply) {
        st->skip_input = true;
        flush = true;
    }
    m->dir = d;
    if (m->frame_size == 0) {
        m->frame_size = (uint32_t)(st->parse_off - m->start);
    }
    st->msg = NULL;
    st->have_msg = false;
    st->state = ST_START;
    if (m->is_request) {
        received_request(c, tc, m);
    } else {
        received_reply(c, tc, m);
    }
    return flush;
}

/* ---- plugin callbacks ---- */

static enum pb_parse thrift_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data,
                                    size_t len, size_t *consumed)
{
    const struct thrift_priv *pv = c->proto->priv;
    struct thrift_conn *tc = c->state;
    struct thrift_stream *st = &tc->st[d];
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    if (off == len || st->skip_input) {
        *consumed = len;
        st->buffered = 0;
        return PB_PARSE_OK;
    }
    data += off;
    len -= off;
    if (!st->have_msg) {
        st->msg = pb_calloc(1, sizeof *st->msg);
        if (st->msg == NULL) {
            c->proto->stats.dropped++;
            *consumed = off + len;
            st->buffered = 0;
            return PB_PARSE_DROP;
        }
        st->msg->ts_ns = c->ts_ns;
        st->have_msg = true;
        st->state = ST_START;
        st->parse_off = 0;
    }
    switch (parse_message(pv, st, data, len)) {
    case PR_MORE:
        *consumed = off;
        st->buffered = len;
        return PB_PARSE_MORE;
    case PR_PANIC: {
        /* Packetbeat loses the parser state of both directions here. */
        struct thrift_stream *o = &tc->st[1 - d];
        stream_reset(o);
        o->skip = o->buffered;
    }
        /* fall through */
    case PR_BAD:
    default:
        pb_debug("thrift", "Ignore Thrift message. Drop tcp stream.");
        c->proto->stats.parse_errors++;
        stream_reset(st);
        *consumed = off + len;
        st->buffered = 0;
        return PB_PARSE_DROP;
    case PR_DONE:
        break;
    }
    size_t used = st->parse_off;
    bool flush = message_complete(c, tc, d);
    st->parse_off = 0;
    if (flush) {
        used = len;
    }
    *consumed = off + used;
    st->buffered = len - used;
    return PB_PARSE_OK;
}

static bool thrift_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct thrift_conn *tc = c->state;
    struct thrift_stream *st = &tc->st[d];
    c->proto->stats.gaps++;
    if (st->have_msg && st->state == ST_FIELDS && !st->msg->is_request) {
        /* A large reply can tolerate the loss: publish what we have. */
        st->msg->gap_note = true;
        message_complete(c, tc, d);
    }
    /* Packetbeat drops the connection's parser state; the pending call is
     * keyed by the old connection id and is never found again. */
    for (int i = 0; i < 2; i++) {
        stream_reset(&tc->st[i]);
    }
    struct thrift_stream *o = &tc->st[1 - d];
    o->skip = o->buffered;
    st->skip = 0;
    st->buffered = 0;
    tx_free(tc->pending);
    tc->pending = NULL;
    return true;
}

static void thrift_on_fin(struct pb_conn *c, enum pb_dir d)
{
    struct thrift_conn *tc = c->state;
    struct thrift_tx *tx = get_pending(c, tc);
    if (tx != NULL && tx->reply == NULL) {
        pb_debug("thrift", "FIN and had only one transaction. Assuming one way");
        publish(c, tx);
        tx_free(tx);
        tc->pending = NULL;
    }
}

static void thrift_on_expire(struct pb_conn *c)
{
    /* Unanswered calls expire silently, as in Packetbeat. */
    struct thrift_conn *tc = c->state;
    tx_free(tc->pending);
    tc->pending = NULL;
}

static void thrift_conn_free(struct pb_conn *c)
{
    struct thrift_conn *tc = c->state;
    if (tc == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        stream_reset(&tc->st[i]);
    }
    tx_free(tc->pending);
    tc->pending = NULL;
}

static int get_size_opt(const struct pb_cfg *cfg, const char *key, int64_t def, size_t *out)
{
    int64_t v = def;
    if (pb_cfg_int(cfg, key, def, &v) < 0) {
        return -PB_EINVAL;
    }
    *out = v < 0 ? 0 : (size_t)v;
    return 0;
}

static int thrift_init(struct pb_proto *p)
{
    struct thrift_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    const char *transport = NULL, *protocol = NULL;
    char **idl_files = NULL;
    size_t nidl = 0;
    int rc = 0;
    if (get_size_opt(p->cfg, "string_max_size", 200, &pv->fmt.string_max) < 0 ||
        get_size_opt(p->cfg, "collection_max_size", 15, &pv->fmt.collection_max) < 0 ||
        pb_cfg_int(p->cfg, "drop_after_n_struct_fields", 500, &pv->fmt.drop_after) < 0 ||
        pb_cfg_bool(p->cfg, "capture_reply", true, &pv->capture_reply) < 0 ||
        pb_cfg_bool(p->cfg, "obfuscate_strings", false, &pv->fmt.obfuscate_strings) < 0 ||
        pb_cfg_str(p->cfg, "transport_type", "socket", &transport) < 0 ||
        pb_cfg_str(p->cfg, "protocol_type", "binary", &protocol) < 0 ||
        pb_cfg_strv(p->cfg, "idl_files", &idl_files, &nidl) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    if (strcmp(transport, "socket") == 0) {
        pv->framed = false;
    } else if (strcmp(transport, "framed") == 0) {
        pv->framed = true;
    } else {
        pb_error("thrift", "Transport type `%s` not known", transport);
        rc = -PB_EINVAL;
    }
    if (rc == 0 && strcmp(protocol, "binary") != 0) {
        pb_error("thrift", "Protocol type `%s` not known", protocol);
        rc = -PB_EINVAL;
    }
    if (rc == 0 && nidl > 0) {
        char err[512];
        rc = thrift_idl_load(idl_files, nidl, &pv->idl, err, sizeof err);
        if (rc < 0) {
            pb_error("thrift", "%s", err);
        }
    }
    pb_cfg_strv_free(idl_files);
    if (rc < 0) {
        thrift_idl_free(pv->idl);
        pb_free(pv);
        return rc;
    }
    p->priv = pv;
    return 0;
}

static void thrift_fini(struct pb_proto *p)
{
    struct thrift_priv *pv = p->priv;
    if (pv != NULL) {
        thrift_idl_free(pv->idl);
        pb_free(pv);
    }
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_thrift = {
    .name = "thrift",
    .transports = PB_TCP,
    .conn_size = sizeof(struct thrift_conn),
    .init = thrift_init,
    .fini = thrift_fini,
    .on_data = thrift_on_data,
    .on_gap = thrift_on_gap,
    .on_fin = thrift_on_fin,
    .on_expire = thrift_on_expire,
    .conn_free = thrift_conn_free,
};
