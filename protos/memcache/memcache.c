/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache.c - the memcache plugin: TCP streams (text and
 * binary, pipelined, quiet binary requests), UDP datagrams with the 8-byte
 * memcache frame header, request/response correlation and the options
 * maxvalues, maxbytespervalue, parseunknown, udptransactiontimeout.
 *
 * TCP follows Packetbeat: requests wait in order; a complete response takes
 * the oldest request (binary: the one with the same opaque and opcode,
 * quiet requests before it are published alone); multi-part responses
 * (VALUE..END, STAT..END, binary stats) are merged first. Garbage or a gap
 * publishes what is pending and drops the connection's state.
 *
 * UDP frame header (big endian):
 *   0..1 request id, 2..3 sequence number, 4..5 datagrams in message,
 *   6..7 reserved
 */
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/rd.h"
#include "memcache_int.h"

/* Bounds (Packetbeat has none). */
#define MC_MAX_PENDING 1024u
#define MC_MAX_UDP_TX 4096u
#define MC_MAX_UDP_PARTS 2048u
#define MC_MAX_UDP_MSG_BYTES (4u * 1024u * 1024u)

struct mc_list {
    struct mc_msg *head, *tail;
    size_t n;
};

struct mc_stream {
    struct mc_parser ps;
    bool active;     /* data seen in this direction */
    size_t skip;     /* bytes still buffered from before a state reset */
    size_t buffered; /* bytes the core keeps for us after the last call */
};

struct mc_conn {
    bool active; /* Packetbeat has connection state */
    struct mc_stream st[2];
    struct mc_list requests, responses;
};

/* One UDP message being reassembled from datagrams. */
struct mc_udp_msg {
    bool init, complete;
    uint16_t num, count;
    struct pb_bytes *parts; /* owned, num entries */
    uint8_t *got;           /* owned, num entries: datagram seen */
    size_t bytes;
};

struct mc_udp_tx {
    struct mc_udp_tx *next;
    struct pb_tuple tuple; /* as first seen */
    uint16_t id;
    uint64_t deadline_ns; /* wall clock; 0: no timer */
    uint64_t seq;         /* creation order: equal deadlines fire oldest first */
    struct mc_udp_msg msgs[2];
    struct mc_msg *request, *response;
};

struct mc_priv {
    struct mc_config cfg;
    int64_t udp_timeout_ns;
    int64_t shutdown_ns;
    struct mc_udp_tx *udp; /* pending UDP transactions, newest first */
    size_t n_udp;
    uint64_t udp_seq; /* the next one's seq */
};

/* ---- lists ---- */

static void list_append(struct mc_list *l, struct mc_msg *m)
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

static struct mc_msg *list_pop(struct mc_list *l)
{
    struct mc_msg *m = l->head;
    if (m == NULL) {
        return NULL;
    }
    l->head = m->next;
    if (l->head == NULL) {
        l->tail = NULL;
    }
    l->n--;
    m->next = NULL;
    return m;
}

static void list_clear(struct mc_list *l)
{
    struct mc_msg *m;
    while ((m = list_pop(l)) != NULL) {
        mc_msg_free(m);
    }
}

/* ---- publishing ---- */

/* Frees m, or keeps it for the next message of its direction (mc: its
 * TCP connection, NULL for UDP). */
static void msg_done(struct mc_conn *mc, struct mc_msg *m)
{
    if (mc != NULL && m != NULL) {
        mc_msg_recycle(&mc->st[m->dir == PB_DIR_TO_SERVER ? 0 : 1].ps, m);
    } else {
        mc_msg_free(m);
    }
}

static void publish(struct pb_proto *p, struct mc_conn *mc, struct mc_msg *req, struct mc_msg *resp)
{
    if (req != NULL || resp != NULL) {
        pb_emit(p, mc_tx_event(req, resp));
    }
    msg_done(mc, req);
    msg_done(mc, resp);
}

/* ---- response merging ---- */

static bool response_complete(const struct mc_msg *m)
{
    if (m->is_binary) {
        return m->opcode != MC_OP_STAT || m->keys.n == 0;
    }
    return m->cmd->code != MC_RES_VALUE && m->cmd->code != MC_RES_STAT;
}

static void merge_notes(struct mc_msg *prev, const struct mc_msg *m)
{
    for (unsigned i = 0; i < m->nnotes; i++) {
        mc_msg_note(prev, m->notes[i]);
    }
}

static void strv_concat(struct mc_strv *dst, const struct mc_strv *src, size_t max)
{
    size_t at = 0;
    for (size_t i = 0; i < src->n && i < max; i++) {
        size_t n;
        const uint8_t *p = mc_strv_next(src, &at, &n);
        if (mc_strv_add(dst, p, n) < 0) {
            return;
        }
    }
}

static bool merge_values(const struct mc_config *cfg, struct mc_msg *prev, const struct mc_msg *m)
{
    if (m->cmd->code != MC_RES_VALUE && m->cmd->code != MC_RES_END) {
        return false;
    }
    prev->size += m->size;
    prev->bytes += m->bytes;
    strv_concat(&prev->keys, &m->keys, SIZE_MAX);
    merge_notes(prev, m);
    prev->count_values += m->count_values;
    if (m->cmd->code == MC_RES_VALUE) {
        /* Packetbeat's bound on kept values, clamped to what m holds */
        size_t delta = 0;
        size_t have = prev->values.n;
        if (cfg->max_values < 0) {
            delta = m->values.n;
        } else if ((int64_t)have < cfg->max_values) {
            delta = (size_t)(cfg->max_values - (int64_t)have);
            if (delta > have) {
                delta = have;
            }
        }
        strv_concat(&prev->values, &m->values, delta);
    }
    prev->is_complete = prev->is_complete || m->is_complete;
    return true;
}

static bool merge_stats(struct mc_msg *prev, const struct mc_msg *m)
{
    if (!(prev->cmd->typ == MC_T_STATS &&
          (m->cmd->typ == MC_T_STATS || m->cmd->code == MC_RES_END))) {
        return false;
    }
    merge_notes(prev, m);
    strv_concat(&prev->stats, &m->stats, SIZE_MAX);
    prev->size += m->size;
    prev->is_complete = prev->is_complete || m->is_complete;
    return true;
}

/* 1: merged into prev, 0: not merged, -1: binary and text mixed. */
static int try_merge(const struct mc_config *cfg, struct mc_msg *prev, struct mc_msg *m)
{
    m->is_complete = response_complete(m);
    if (prev == NULL) {
        return 0;
    }
    if (prev->is_binary != m->is_binary) {
        return -1;
    }
    if (!m->is_binary) {
        if (prev->cmd->code == MC_RES_VALUE) {
            return merge_values(cfg, prev, m) ? 1 : 0;
        }
        if (prev->cmd->code == MC_RES_STAT) {
            return merge_stats(prev, m) ? 1 : 0;
        }
        return 0;
    }
    if (prev->opcode != MC_OP_STAT || m->opcode != MC_OP_STAT || prev->opaque != m->opaque) {
        return 0;
    }
    return merge_stats(prev, m) ? 1 : 0;
}

/* ---- TCP ---- */

static void correlate(struct pb_proto *p, struct mc_conn *mc)
{
    while (mc->responses.head != NULL) {
        struct mc_msg *resp = list_pop(&mc->responses);
        struct mc_msg *req = NULL;
        while (mc->requests.head != NULL) {
            req = list_pop(&mc->requests);
            if (req->is_binary != resp->is_binary) {
                pb_warn(NULL, "mix of binary and text in one connection");
                mc_msg_free(req);
                mc_msg_free(resp);
                return;
            }
            bool same =
                !req->is_binary || (req->opaque == resp->opaque && req->opcode == resp->opcode);
            if (same) {
                break;
            }
            if (req->is_binary && !req->is_quiet) {
                pb_warn(NULL, "%s", mc_note_non_quiet_only);
                mc_msg_note(req, mc_note_non_quiet_only);
                p->stats.unmatched++;
            }
            publish(p, mc, req, NULL);
            req = NULL;
        }
        if (req == NULL) {
            mc_msg_note(resp, mc_note_no_request);
            p->stats.unmatched++;
        }
        publish(p, mc, req, resp);
    }
}

/* Publishes what is pending: finished pairs, then lone requests. */
static void push_all(struct pb_proto *p, struct mc_conn *mc)
{
    correlate(p, mc);
    struct mc_msg *m;
    while ((m = list_pop(&mc->requests)) != NULL) {
        if (!m->is_quiet && !m->noreply) {
            mc_msg_note(m, mc_note_unfinished);
        }
        publish(p, mc, m, NULL);
    }
}

/* Drops all connection state; the core still holds `buffered` bytes of the
 * other direction, which are skipped. */
static void conn_drop(struct mc_conn *mc, enum pb_dir d)
{
    list_clear(&mc->requests);
    list_clear(&mc->responses);
    for (int i = 0; i < 2; i++) {
        mc_parser_reset(&mc->st[i].ps);
        mc->st[i].active = false;
        mc->st[i].skip = i == (int)d ? 0 : mc->st[i].buffered;
        mc->st[i].buffered = mc->st[i].skip;
    }
    mc->active = false;
}

static void set_tuple(struct pb_conn *c, enum pb_dir d, struct mc_msg *m)
{
    m->dir = (int)d;
    m->tuple = d == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
}

static bool waits_response(const struct mc_msg *m)
{
    return m->noreply || (!m->is_binary && m->cmd->code != MC_CMD_QUIT) ||
           (m->is_binary && m->opcode != MC_OP_QUITQ);
}

static void on_tcp_message(struct pb_conn *c, struct mc_conn *mc, enum pb_dir d, struct mc_msg *m)
{
    struct pb_proto *p = c->proto;
    const struct mc_priv *pv = p->priv;
    set_tuple(c, d, m);
    if (m->is_request) {
        m->is_complete = true;
        if (!waits_response(m)) {
            publish(p, mc, m, NULL);
            return;
        }
        if (mc->requests.n >= MC_MAX_PENDING) {
            struct mc_msg *old = list_pop(&mc->requests);
            if (!old->is_quiet && !old->noreply) {
                mc_msg_note(old, mc_note_unfinished);
            }
            p->stats.dropped++;
            publish(p, mc, old, NULL);
        }
        list_append(&mc->requests, m);
        return;
    }
    struct mc_msg *prev = mc->responses.tail;
    int merged = try_merge(&pv->cfg, prev, m);
    if (merged < 0) {
        pb_warn(NULL, "error processing memcache message: %s",
                "mix of binary and text in one connection");
        mc_msg_free(m);
        return;
    }
    if (merged > 0) {
        msg_done(mc, m);
        m = prev;
    } else {
        list_append(&mc->responses, m);
    }
    if (!m->is_complete && mc->responses.n < MC_MAX_PENDING) {
        return;
    }
    correlate(p, mc);
}

static enum pb_parse mc_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                size_t *consumed)
{
    struct mc_conn *mc = c->state;
    struct mc_stream *st = &mc->st[d];
    const struct mc_priv *pv = c->proto->priv;
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    if (off < len) {
        mc->active = true;
        st->active = true;
    }
    while (off < len) {
        size_t used = 0;
        struct mc_msg *m = NULL;
        const char *err = NULL;
        enum mc_result r =
            mc_parse(&st->ps, &pv->cfg, data + off, len - off, false, c->ts_ns, &used, &m, &err);
        off += used;
        if (r == MC_MORE) {
            break;
        }
        if (r == MC_ERR) {
            pb_debug("memcache", "Ignore Memcache message, drop tcp stream: %s", err);
            c->proto->stats.parse_errors++;
            push_all(c->proto, mc);
            st->buffered = 0;
            conn_drop(mc, d);
            *consumed = len;
            return PB_PARSE_DROP;
        }
        on_tcp_message(c, mc, d, m);
    }
    *consumed = off;
    st->buffered = len - off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static bool mc_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct mc_conn *mc = c->state;
    struct mc_stream *st = &mc->st[d];
    c->proto->stats.gaps++;
    if (!mc->active) {
        return false;
    }
    if (!st->active) {
        /* inactive stream: Packetbeat drops the state without publishing */
        st->buffered = 0;
        conn_drop(mc, d);
        return true;
    }
    struct mc_msg *m = st->ps.msg;
    if (m != NULL) {
        mc_msg_note(m, m->is_request ? mc_note_request_loss : mc_note_response_loss);
    }
    bool in_data = st->ps.state == MC_PS_DATA || st->ps.state == MC_PS_DATA_BIN;
    if (in_data && m != NULL) {
        int64_t already = (int64_t)st->buffered - (int64_t)m->bytes_lost;
        int64_t required = (int64_t)m->bytes - already;
        if ((int64_t)lost <= required) {
            m->bytes_lost += lost;
            return false;
        }
    }
    push_all(c->proto, mc);
    st->buffered = 0;
    conn_drop(mc, d);
    return true;
}

static void mc_on_fin(struct pb_conn *c, enum pb_dir d)
{
    /* Packetbeat relies on the transaction timeout to publish. */
}

static void mc_on_expire(struct pb_conn *c)
{
    struct mc_conn *mc = c->state;
    push_all(c->proto, mc);
}

static void mc_conn_free(struct pb_conn *c)
{
    struct mc_conn *mc = c->state;
    if (mc == NULL) {
        return;
    }
    list_clear(&mc->requests);
    list_clear(&mc->responses);
    mc_parser_reset(&mc->st[0].ps);
    mc_parser_reset(&mc->st[1].ps);
}

/* ---- UDP ---- */

static void udp_msg_free(struct mc_udp_msg *u)
{
    if (u->parts != NULL) {
        for (unsigned i = 0; i < u->num; i++) {
            pb_bytes_free(&u->parts[i]);
        }
        pb_free(u->parts);
    }
    pb_free(u->got);
    memset(u, 0, sizeof *u);
}

static void udp_tx_free(struct mc_udp_tx *t)
{
    udp_msg_free(&t->msgs[0]);
    udp_msg_free(&t->msgs[1]);
    mc_msg_free(t->request);
    mc_msg_free(t->response);
    pb_free(t);
}

static void udp_unlink(struct mc_priv *pv, struct mc_udp_tx *t)
{
    for (struct mc_udp_tx **pp = &pv->udp; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            pv->n_udp--;
            return;
        }
    }
}

/* Publishes the transaction as its timer would, and frees it. */
static void udp_fire(struct pb_proto *p, struct mc_udp_tx *t)
{
    struct mc_msg *req = t->request, *resp = t->response;
    t->request = t->response = NULL;
    publish(p, NULL, req, resp);
    udp_tx_free(t);
}

static void udp_kill(struct mc_priv *pv, struct mc_udp_tx *t)
{
    udp_unlink(pv, t);
    udp_tx_free(t);
}

static struct mc_udp_tx *udp_find(struct pb_proto *p, const struct pb_tuple *tuple, uint16_t id,
                                  int *dir, uint64_t now)
{
    struct mc_priv *pv = p->priv;
    struct pb_tuple rev = pb_tuple_reverse(tuple);
    for (struct mc_udp_tx *t = pv->udp; t != NULL; t = t->next) {
        if (t->id != id) {
            continue;
        }
        bool fwd = memcmp(&t->tuple, tuple, sizeof *tuple) == 0;
        if (!fwd && memcmp(&t->tuple, &rev, sizeof rev) != 0) {
            continue;
        }
        if (t->deadline_ns != 0 && t->deadline_ns <= now) {
            /* its timer fired already: publish it, start a new one */
            udp_unlink(pv, t);
            udp_fire(p, t);
            break;
        }
        *dir = fwd ? 0 : 1;
        t->deadline_ns = 0;
        return t;
    }
    if (pv->n_udp >= MC_MAX_UDP_TX) {
        /* evict the oldest (last in the list) */
        struct mc_udp_tx *last = pv->udp;
        while (last != NULL && last->next != NULL) {
            last = last->next;
        }
        if (last != NULL) {
            udp_unlink(pv, last);
            p->stats.dropped++;
            udp_fire(p, last);
        }
    }
    struct mc_udp_tx *t = pb_calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    /* Packetbeat keys the "connection" by the first datagram's tuple in
     * either orientation: reuse one if this id is new on a known flow. */
    t->tuple = *tuple;
    *dir = 0;
    for (struct mc_udp_tx *o = pv->udp; o != NULL; o = o->next) {
        if (memcmp(&o->tuple, &rev, sizeof rev) == 0) {
            t->tuple = rev;
            *dir = 1;
            break;
        }
        if (memcmp(&o->tuple, tuple, sizeof *tuple) == 0) {
            break;
        }
    }
    t->id = id;
    t->seq = pv->udp_seq++;
    t->next = pv->udp;
    pv->udp = t;
    pv->n_udp++;
    return t;
}

/* Adds a datagram: 1 when the message is complete (payload appended to
 * out), 0 when more datagrams are needed or it is a duplicate, -1 on
 * failure. */
static int udp_add(struct mc_udp_msg *u, uint16_t seq, const uint8_t *p, size_t n,
                   struct pb_bytes *out)
{
    if (u->complete) {
        return 0;
    }
    if (u->num == 1) {
        u->complete = true;
        return pb_bytes_append(out, p, n, MC_MAX_UDP_MSG_BYTES) < 0 ? -1 : 1;
    }
    if (u->count < u->num) {
        if (seq >= u->num) {
            return -1;
        }
        if (u->parts == NULL) {
            u->parts = pb_calloc(u->num, sizeof *u->parts);
            u->got = pb_calloc(u->num, 1);
            if (u->parts == NULL || u->got == NULL) {
                return -1;
            }
        }
        if (u->got[seq]) {
            return 0;
        }
        if (u->bytes + n > MC_MAX_UDP_MSG_BYTES ||
            pb_bytes_append(&u->parts[seq], p, n, MC_MAX_UDP_MSG_BYTES) < 0) {
            return -1;
        }
        u->got[seq] = 1;
        u->bytes += n;
        u->count++;
    }
    if (u->count < u->num) {
        return 0;
    }
    for (unsigned i = 0; u->parts != NULL && i < u->num; i++) {
        if (pb_bytes_append(out, u->parts[i].p, u->parts[i].len, MC_MAX_UDP_MSG_BYTES) < 0) {
            return -1;
        }
    }
    u->complete = true;
    return 1;
}

static void mc_on_datagram(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                           size_t len)
{
    struct mc_priv *pv = p->priv;
    struct pb_rd r = pb_rd_make(data, len);
    uint16_t id = pb_rd_be16(&r);
    uint16_t seq = pb_rd_be16(&r);
    uint16_t num = pb_rd_be16(&r);
    pb_rd_skip(&r, 2);
    if (!pb_rd_ok(&r)) {
        pb_debug("memcache", "parsing memcache udp header failed");
        return;
    }
    /* the frame's clock: timers of equal deadline fire in creation order */
    uint64_t now = pb_frame_now_ns();
    int dir = 0;
    struct mc_udp_tx *t = udp_find(p, &pkt->tuple, id, &dir, now);
    if (t == NULL) {
        return;
    }
    struct mc_udp_msg *u = &t->msgs[dir];
    if (!u->init) {
        u->init = true;
        u->num = num;
    }
    if (u->num != num || num > MC_MAX_UDP_PARTS) {
        pb_warn(NULL, "number of datagram mismatches in stream");
        udp_kill(pv, t);
        return;
    }
    struct pb_bytes payload = {0};
    int rc = udp_add(u, seq, data + 8, len - 8, &payload);
    if (rc < 0) {
        pb_bytes_free(&payload);
        udp_kill(pv, t);
        return;
    }
    bool done = false;
    if (rc > 0) {
        struct mc_parser ps = {0};
        struct mc_msg *m = NULL;
        size_t used = 0;
        const char *err = NULL;
        enum mc_result res = mc_parse(&ps, &pv->cfg, payload.p != NULL ? payload.p : data,
                                      payload.len, true, pkt->ts_ns, &used, &m, &err);
        mc_parser_reset(&ps);
        pb_bytes_free(&payload);
        if (res != MC_MSG) {
            pb_warn(NULL, "failed to parse memcached(UDP) message: %s",
                    err != NULL ? err : "attempt to parse incomplete message failed");
            p->stats.parse_errors++;
            udp_kill(pv, t);
            return;
        }
        m->dir = m->is_request ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT;
        m->tuple = pkt->tuple;
        m->is_complete = true;
        if (m->is_request) {
            mc_msg_free(t->request);
            t->request = m;
            done = !waits_response(m);
        } else {
            mc_msg_free(t->response);
            t->response = m;
        }
        done = done || (t->request != NULL && t->response != NULL);
        if (done) {
            udp_unlink(pv, t);
            udp_fire(p, t);
            return;
        }
    }
    int64_t to = pv->udp_timeout_ns > 0 ? pv->udp_timeout_ns : 0;
    t->deadline_ns = now + (uint64_t)to;
    if (t->deadline_ns == 0) {
        t->deadline_ns = 1;
    }
}

static int cmp_deadline(const void *a, const void *b)
{
    const struct mc_udp_tx *x = *(const struct mc_udp_tx *const *)a;
    const struct mc_udp_tx *y = *(const struct mc_udp_tx *const *)b;
    if (x->deadline_ns != y->deadline_ns) {
        return x->deadline_ns < y->deadline_ns ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0); /* older first */
}

/* Publishes the transactions whose timer is due, in the order the timers
 * would fire. */
static void mc_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct mc_priv *pv = p->priv;
    size_t n = 0;
    for (struct mc_udp_tx *t = pv->udp; t != NULL; t = t->next) {
        n += t->deadline_ns != 0 && t->deadline_ns <= now_ns;
    }
    if (n == 0) {
        return;
    }
    struct mc_udp_tx **due = pb_calloc(n, sizeof *due);
    size_t k = 0;
    struct mc_udp_tx **pp = &pv->udp;
    while (*pp != NULL) {
        struct mc_udp_tx *t = *pp;
        if (t->deadline_ns != 0 && t->deadline_ns <= now_ns) {
            *pp = t->next;
            pv->n_udp--;
            if (due != NULL) {
                due[k++] = t;
            } else {
                udp_fire(p, t);
            }
            continue;
        }
        pp = &t->next;
    }
    if (due == NULL) {
        return;
    }
    qsort(due, k, sizeof *due, cmp_deadline);
    for (size_t i = 0; i < k; i++) {
        udp_fire(p, due[i]);
    }
    pb_free(due);
}

static void mc_on_shutdown(struct pb_proto *p)
{
    /* Packetbeat keeps its timers running for shutdown_timeout after the
     * input ends: what would fire in that window is published. */
    struct mc_priv *pv = p->priv;
    uint64_t horizon = pb_now_ns() + (uint64_t)(pv->shutdown_ns > 0 ? pv->shutdown_ns : 0);
    mc_on_tick(p, horizon);
    struct mc_udp_tx *t;
    while ((t = pv->udp) != NULL) {
        pv->udp = t->next;
        udp_tx_free(t);
    }
    pv->n_udp = 0;
}

/* ---- setup ---- */

static const struct pb_cfg *cfg_root(const struct pb_cfg *c)
{
    while (c != NULL && c->parent != NULL) {
        c = c->parent;
    }
    return c;
}

static int mc_init(struct pb_proto *p)
{
    struct mc_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    int64_t maxvalues = 0, maxbytes = 0;
    bool unknown = false;
    if (pb_cfg_int(p->cfg, "maxvalues", 0, &maxvalues) < 0 ||
        pb_cfg_int(p->cfg, "maxbytespervalue", 0, &maxbytes) < 0 ||
        pb_cfg_bool(p->cfg, "parseunknown", false, &unknown) < 0 ||
        pb_cfg_duration(p->cfg, "udptransactiontimeout", 10ll * 1000 * 1000 * 1000,
                        &pv->udp_timeout_ns) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    pv->cfg.max_values = maxvalues;
    pv->cfg.max_bytes_per_value = maxbytes <= 0 ? 0x7fffffff : maxbytes;
    pv->cfg.parse_unknown = unknown;
    const struct pb_cfg *root = cfg_root(p->cfg);
    int64_t sd = 0;
    if (root != NULL && pb_cfg_duration(root, "packetbeat.shutdown_timeout", 0, &sd) == 0) {
        pv->shutdown_ns = sd;
    }
    p->priv = pv;
    return 0;
}

static void mc_fini(struct pb_proto *p)
{
    struct mc_priv *pv = p->priv;
    if (pv == NULL) {
        return;
    }
    struct mc_udp_tx *t;
    while ((t = pv->udp) != NULL) {
        pv->udp = t->next;
        udp_tx_free(t);
    }
    pb_free(pv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_memcache = {
    .name = "memcache",
    .transports = PB_TCP | PB_UDP,
    .conn_size = sizeof(struct mc_conn),
    .init = mc_init,
    .fini = mc_fini,
    .on_data = mc_on_data,
    .on_gap = mc_on_gap,
    .on_fin = mc_on_fin,
    .on_expire = mc_on_expire,
    .conn_free = mc_conn_free,
    .on_datagram = mc_on_datagram,
    .on_tick = mc_on_tick,
    .on_shutdown = mc_on_shutdown,
};
