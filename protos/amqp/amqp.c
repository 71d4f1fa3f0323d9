/* SPDX-License-Identifier: Apache-2.0
 * protos/amqp/amqp.c - the amqp plugin: per-direction frame streams and
 * Packetbeat 8.x's correlation.
 *
 * As in Packetbeat:
 * - a stream lives from the packet that starts it until its data runs out
 *   right after a complete command, or an error; its one message object is
 *   reused by the commands that follow in the same stream;
 * - a connection holds one transaction: a request waits there for its
 *   response (a second request replaces it and counts as unmatched);
 *   basic.publish and basic.deliver / basic.return / basic.get-ok (with their
 *   content) are published at once, taking over whatever waits; requests
 *   with no-wait, basic.ack / nack / reject are published at once;
 * - a request starts a 10 s timer; when it runs out on a connection.close or
 *   channel.close with a reply code >= 300, the close is published with the
 *   note "Close-ok method not received by sender";
 * - closes with reply code < 300 are not published at all while
 *   hide_connection_information is on (the default), which also leaves
 *   connection.start/tune/open, channel.open/flow and basic.qos undecoded;
 * - a gap drops the connection's streams and orphans its transaction.
 * Timers and the transaction_timeout run on the wall clock.
 */
#include <string.h>

#include "amqp_int.h"
#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "protos/common/strutil.h"

/* Packetbeat's fixed wait for a close-ok. */
#define AMQP_CLOSE_WAIT_NS (10ull * 1000 * 1000 * 1000)
/* Body bytes kept per message beyond max_body_length (a message object that
 * is reused can show more than one body). */
#define AMQP_BODY_KEEP_MIN (64u * 1024u)
/* Transactions waiting on a timer (detached ones included). */
#define AMQP_MAX_TIMERS PB_MAX_TCP_CONNS

struct amqp_priv {
    struct amqp_opts opts;
    int64_t max_body_length; /* < 0: never shortened */
    struct amqp_tx *timers_head, *timers_tail;
    size_t ntimers;
};

struct amqp_stream {
    bool active;         /* Packetbeat has a stream for this direction */
    struct amqp_msg msg; /* its message object */
    uint64_t total;      /* bytes the stream has taken in */
    size_t buffered;     /* bytes the core keeps for us after the last call */
    size_t skip;         /* leading bytes of an abandoned stream still buffered */
};

struct amqp_conn {
    struct amqp_stream st[2];
    struct amqp_tx *tx; /* owned (unless also timed: see tx_release) */
};

/* ---- transactions and timers ---- */

static void tx_free(struct amqp_tx *t)
{
    if (t != NULL) {
        pb_free(t->request);
        pb_free(t->body);
        json_decref(t->amqp);
        pb_free(t);
    }
}

static void timer_unlink(struct amqp_priv *pv, struct amqp_tx *t)
{
    if (!t->timed) {
        return;
    }
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        pv->timers_head = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    } else {
        pv->timers_tail = t->prev;
    }
    t->prev = t->next = NULL;
    t->timed = false;
    pv->ntimers--;
}

/* Takes t out of its connection's slot. */
static void tx_unslot(struct amqp_tx *t)
{
    if (t->owner != NULL) {
        t->owner->tx = NULL;
        t->owner = NULL;
    }
}

/* Deleted from the connection and its timer stopped: freed. */
static void tx_release(struct amqp_priv *pv, struct amqp_tx *t)
{
    tx_unslot(t);
    if (pv != NULL) {
        timer_unlink(pv, t);
    }
    tx_free(t);
}

/* Gone from the connection (expired from the cache, connection gone, gap):
 * a running timer keeps it until it fires. */
static void tx_detach(struct amqp_priv *pv, struct amqp_tx *t)
{
    tx_unslot(t);
    if (pv == NULL || !t->timed) {
        tx_free(t);
    }
}

static void timer_arm(struct pb_proto *p, struct amqp_tx *t, uint64_t at)
{
    struct amqp_priv *pv = p->priv;
    timer_unlink(pv, t);
    if (pv->ntimers >= AMQP_MAX_TIMERS && pv->timers_head != NULL) {
        /* full: the oldest wait ends now, silently */
        struct amqp_tx *old = pv->timers_head;
        timer_unlink(pv, old);
        if (old->owner == NULL) {
            tx_free(old);
        }
        p->stats.dropped++;
    }
    t->timer_at = at;
    t->prev = pv->timers_tail;
    t->next = NULL;
    if (pv->timers_tail != NULL) {
        pv->timers_tail->next = t;
    } else {
        pv->timers_head = t;
    }
    pv->timers_tail = t;
    t->timed = true;
    pv->ntimers++;
}

static void publish(struct pb_proto *p, const struct amqp_tx *t)
{
    pb_event *ev = amqp_tx_event(p, t);
    if (ev == NULL) {
        p->stats.dropped++;
        return;
    }
    pb_emit(p, ev);
}

/* The connection's transaction, after the transaction_timeout expiry. */
static struct amqp_tx *slot_get(struct pb_proto *p, struct amqp_conn *ac)
{
    struct amqp_tx *t = ac->tx;
    uint64_t now = pb_frame_now_ns();
    if (t != NULL && p->tx_timeout_ns > 0 && now > t->put_at &&
        now - t->put_at >= (uint64_t)p->tx_timeout_ns) {
        tx_detach(p->priv, t);
        t = NULL;
    }
    return t;
}

static struct amqp_tx *slot_get_or_new(struct pb_conn *c, struct amqp_conn *ac)
{
    struct amqp_tx *t = slot_get(c->proto, ac);
    if (t != NULL) {
        return t;
    }
    t = pb_calloc(1, sizeof *t);
    if (t == NULL) {
        c->proto->stats.dropped++;
        return NULL;
    }
    t->method = "";
    t->owner = ac;
    t->tuple = c->tuple;
    t->put_at = pb_frame_now_ns();
    ac->tx = t;
    return t;
}

static void tx_set_amqp(struct amqp_tx *t, json_t *fields)
{
    json_t *old = t->amqp;
    t->amqp = fields != NULL ? json_incref(fields) : NULL;
    json_decref(old);
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* ---- handlers (Packetbeat's handleAmqp*) ---- */

/* The body as Packetbeat keeps it for the event. */
static void tx_set_body(const struct amqp_priv *pv, struct amqp_tx *t, const struct amqp_msg *m)
{
    uint64_t n = m->body_len;
    if (pv->max_body_length >= 0 && m->body_size > (uint64_t)pv->max_body_length) {
        n = (uint64_t)pv->max_body_length;
    }
    size_t keep = m->body_kept < n ? m->body_kept : (size_t)n;
    pb_free(t->body);
    t->body = NULL;
    t->body_kept = 0;
    t->body_len = n;
    if (keep > 0) {
        t->body = pb_malloc(keep);
        if (t->body != NULL) {
            memcpy(t->body, m->body, keep);
            t->body_kept = keep;
        }
    }
    /* text unless encoded; content-type mentioning text or json */
    bool text = false;
    json_t *enc = json_object_get(m->fields, "content-encoding");
    json_t *ct = json_object_get(m->fields, "content-type");
    if (json_is_string(enc) && json_string_length(enc) > 0) {
        text = false;
    } else if (json_is_string(ct)) {
        const char *s = json_string_value(ct);
        size_t sl = json_string_length(ct);
        text = pb_mem_contains(s, sl, "text", 4) || pb_mem_contains(s, sl, "json", 4);
    }
    t->to_string = text;
}

static void handle_publishing(struct pb_conn *c, struct amqp_conn *ac, const struct amqp_msg *m)
{
    struct amqp_tx *t = slot_get_or_new(c, ac);
    if (t == NULL) {
        return;
    }
    t->ts_ns = m->ts_ns;
    t->reversed = false;
    t->method = m->method;
    t->bytes_in = m->body_size;
    tx_set_body(c->proto->priv, t, m);
    tx_set_amqp(t, m->fields);
    publish(c->proto, t);
    tx_release(c->proto->priv, t);
}

static void handle_delivering(struct pb_conn *c, struct amqp_conn *ac, const struct amqp_msg *m)
{
    struct amqp_tx *t = slot_get_or_new(c, ac);
    if (t == NULL) {
        return;
    }
    t->ts_ns = m->ts_ns;
    t->reversed = false;
    t->bytes_out = m->body_size;
    tx_set_body(c->proto->priv, t, m);
    t->method = str_eq(m->method, "basic.get-ok") ? "basic.get" : m->method;
    tx_set_amqp(t, m->fields);
    publish(c->proto, t);
    tx_release(c->proto->priv, t);
}

static bool is_async(const struct amqp_tx *t)
{
    json_t *nw = json_object_get(t->amqp, "no-wait");
    if (json_is_true(nw)) {
        return true;
    }
    return str_eq(t->method, "basic.reject") || str_eq(t->method, "basic.ack") ||
           str_eq(t->method, "basic.nack");
}

static void handle_request(struct pb_conn *c, struct amqp_conn *ac, enum pb_dir d,
                           const struct amqp_msg *m)
{
    struct amqp_tx *t = slot_get(c->proto, ac);
    if (t != NULL) {
        if (t->amqp != NULL) {
            pb_debug("amqp", "Two requests without a Response. Dropping old request");
            c->proto->stats.unmatched++;
        }
    } else {
        t = slot_get_or_new(c, ac);
        if (t == NULL) {
            return;
        }
    }
    t->ts_ns = m->ts_ns;
    t->reversed = d == PB_DIR_TO_CLIENT;
    t->method = m->method;
    size_t ml = strlen(m->method);
    size_t n = ml + (m->request_len > 0 ? 1 + m->request_len : 0);
    char *req = pb_malloc(n + 1);
    if (req != NULL) {
        memcpy(req, m->method, ml);
        if (m->request_len > 0) {
            req[ml] = ' ';
            memcpy(req + ml + 1, m->request, m->request_len);
        }
        req[n] = '\0';
    }
    pb_free(t->request);
    t->request = req;
    t->request_len = req != NULL ? n : 0;
    t->bytes_in = m->body_size + 12;
    if (m->fields != NULL) {
        tx_set_amqp(t, m->fields);
    } else {
        json_decref(t->amqp);
        t->amqp = json_object();
    }
    if (is_async(t)) {
        publish(c->proto, t);
        tx_release(c->proto->priv, t);
        return;
    }
    timer_arm(c->proto, t, pb_frame_now_ns() + AMQP_CLOSE_WAIT_NS);
}

static void handle_response(struct pb_conn *c, struct amqp_conn *ac, const struct amqp_msg *m)
{
    struct amqp_tx *t = slot_get(c->proto, ac);
    if (t == NULL || t->amqp == NULL) {
        pb_debug("amqp", "Response from unknown transaction. Ignoring.");
        c->proto->stats.unmatched++;
        return;
    }
    t->bytes_out = m->body_size + 12;
    if (m->fields != NULL && m->fields != t->amqp) {
        json_object_update(t->amqp, m->fields);
    }
    t->response_ok = true;
    if (str_eq(m->method, "basic.get-empty")) {
        t->method = "basic.get-empty";
    }
    t->end_ns = m->ts_ns;
    t->nnotes = 0;
    for (size_t i = 0; i < m->nnotes && i < AMQP_MAX_TX_NOTES; i++) {
        t->notes[t->nnotes++] = m->notes[i];
    }
    publish(c->proto, t);
    tx_release(c->proto->priv, t);
}

static void handle_message(struct pb_conn *c, struct amqp_conn *ac, enum pb_dir d,
                           const struct amqp_msg *m)
{
    const struct amqp_priv *pv = c->proto->priv;
    if (pv->opts.hide_connection_information &&
        (str_eq(m->method, "connection.close") || str_eq(m->method, "channel.close")) &&
        amqp_reply_code(m->fields) < 300) {
        return;
    }
    if (str_eq(m->method, "basic.publish")) {
        handle_publishing(c, ac, m);
    } else if (str_eq(m->method, "basic.deliver") || str_eq(m->method, "basic.return") ||
               str_eq(m->method, "basic.get-ok")) {
        handle_delivering(c, ac, m);
    } else if (m->is_request) {
        handle_request(c, ac, d, m);
    } else {
        handle_response(c, ac, m);
    }
}

/* ---- streams ---- */

static void stream_drop(struct amqp_stream *st)
{
    amqp_msg_free(&st->msg);
    st->active = false;
    st->total = 0;
}

/* Packetbeat forgets both directions (a panic in its parser, a gap): the
 * core still buffers the other direction's bytes, skip them. */
static void streams_drop_all(struct amqp_conn *ac, enum pb_dir d)
{
    for (int i = 0; i < 2; i++) {
        stream_drop(&ac->st[i]);
    }
    struct amqp_stream *o = &ac->st[1 - d];
    o->skip = o->buffered;
    ac->st[d].skip = 0;
    ac->st[d].buffered = 0;
}

static enum pb_parse amqp_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                  size_t *consumed)
{
    struct amqp_conn *ac = c->state;
    struct amqp_priv *pv = c->proto->priv;
    struct amqp_stream *st = &ac->st[d];
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
        st->buffered = 0;
    }
    if (off >= len) {
        *consumed = len;
        return PB_PARSE_OK;
    }
    size_t fresh = len - off > st->buffered ? len - off - st->buffered : 0;
    if (!st->active) {
        memset(&st->msg, 0, sizeof st->msg);
        st->msg.method = "";
        st->msg.ts_ns = c->ts_ns;
        st->active = true;
        st->total = len - off;
    } else {
        st->total += fresh;
        if (st->total > PB_MAX_STREAM_BYTES) {
            pb_debug("amqp", "Stream data too large, dropping TCP stream");
            c->proto->stats.dropped++;
            stream_drop(st);
            st->buffered = 0;
            *consumed = len;
            return PB_PARSE_DROP;
        }
    }
    for (;;) {
        size_t pos = off;
        enum amqp_res r = amqp_parse(&pv->opts, &st->msg, data, len, &pos);
        off = pos;
        switch (r) {
        case AMQP_COMPLETE:
            handle_message(c, ac, d, &st->msg);
            continue;
        case AMQP_MORE:
            st->buffered = len - off;
            *consumed = off;
            return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
        case AMQP_EMPTY:
            /* data ran out right after a command: Packetbeat starts over */
            stream_drop(st);
            st->buffered = 0;
            *consumed = len;
            return PB_PARSE_OK;
        case AMQP_PANIC:
            pb_debug("amqp", "malformed frame, dropping the connection's state");
            c->proto->stats.parse_errors++;
            streams_drop_all(ac, d);
            *consumed = len;
            return PB_PARSE_DROP;
        case AMQP_ERROR:
        default:
            pb_debug("amqp", "unknown or malformed frame, dropping the stream");
            c->proto->stats.parse_errors++;
            stream_drop(st);
            st->buffered = 0;
            *consumed = len;
            return PB_PARSE_DROP;
        }
    }
}

static bool amqp_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    (void)lost;
    struct amqp_conn *ac = c->state;
    c->proto->stats.gaps++;
    streams_drop_all(ac, d);
    /* the connection gets a new identity: its transaction is orphaned */
    if (ac->tx != NULL) {
        tx_detach(c->proto->priv, ac->tx);
    }
    return true;
}

static void amqp_on_fin(struct pb_conn *c, enum pb_dir d)
{
    (void)c;
    (void)d;
}

static void amqp_on_expire(struct pb_conn *c)
{
    /* the transaction lives on in its timer (see conn_free) */
    (void)c;
}

static void amqp_conn_free(struct pb_conn *c)
{
    struct amqp_conn *ac = c->state;
    if (ac == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        stream_drop(&ac->st[i]);
    }
    if (ac->tx != NULL) {
        tx_detach(c->proto->priv, ac->tx);
    }
}

static void amqp_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct amqp_priv *pv = p->priv;
    while (pv->timers_head != NULL && pv->timers_head->timer_at <= now_ns) {
        struct amqp_tx *t = pv->timers_head;
        timer_unlink(pv, t);
        if (amqp_tx_is_close_error(t)) {
            if (t->nnotes < AMQP_MAX_TX_NOTES) {
                t->notes[t->nnotes++] = "Close-ok method not received by sender";
            }
            publish(p, t);
        }
        tx_release(pv, t);
    }
}

static int amqp_init(struct pb_proto *p)
{
    struct amqp_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    int64_t maxb = 0;
    if (pb_cfg_bool(p->cfg, "parse_headers", true, &pv->opts.parse_headers) < 0 ||
        pb_cfg_bool(p->cfg, "parse_arguments", true, &pv->opts.parse_arguments) < 0 ||
        pb_cfg_bool(p->cfg, "hide_connection_information", true,
                    &pv->opts.hide_connection_information) < 0 ||
        pb_cfg_int(p->cfg, "max_body_length", 1000, &maxb) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    pv->max_body_length = maxb;
    uint64_t keep = PB_MAX_STREAM_BYTES;
    if (maxb >= 0 && (uint64_t)maxb < keep) {
        keep = (uint64_t)maxb < AMQP_BODY_KEEP_MIN ? AMQP_BODY_KEEP_MIN : (uint64_t)maxb;
    }
    pv->opts.body_keep = (size_t)keep;
    p->priv = pv;
    return 0;
}

static void amqp_fini(struct pb_proto *p)
{
    struct amqp_priv *pv = p->priv;
    if (pv == NULL) {
        return;
    }
    while (pv->timers_head != NULL) {
        struct amqp_tx *t = pv->timers_head;
        timer_unlink(pv, t);
        tx_release(pv, t);
    }
    pb_free(pv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_amqp = {
    .name = "amqp",
    .transports = PB_TCP,
    .conn_size = sizeof(struct amqp_conn),
    .init = amqp_init,
    .fini = amqp_fini,
    .on_data = amqp_on_data,
    .on_gap = amqp_on_gap,
    .on_fin = amqp_on_fin,
    .on_expire = amqp_on_expire,
    .conn_free = amqp_conn_free,
    .on_tick = amqp_on_tick,
};
