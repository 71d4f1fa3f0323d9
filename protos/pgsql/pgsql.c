/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql.c - the PostgreSQL protocol: stream callbacks and
 * request/response correlation as Packetbeat's pgsql module does them
 * (packetbeat/protos/pgsql/pgsql.go):
 *
 *  - a request may hold several queries separated by ';': each becomes a
 *    transaction, answered in order by the responses that follow
 *    (pipelining);
 *  - the queue of a connection is forgotten after transaction_timeout
 *    without activity;
 *  - a gap publishes a request with a query or a response with rows, noted
 *    as incomplete, and drops the parser state of both directions;
 *  - nothing is published on FIN, expiry or end of input.
 */
#include "pgsql.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/spares.h"
#include "protos/common/txq.h"

/* Queries of one connection waiting for responses (one simple Query may
 * carry many statements). */
#define PG_MAX_PENDING 1024u
/* Named prepared statements remembered per connection. */
#define PG_MAX_NAMED 256u
#define PG_MAX_QUERIES_PER_REQUEST PG_MAX_PENDING
#define PG_MAX_NOTES 16u

/* Transactions whose query and method fit TRANS_TEXT bytes get a block
 * of that room, kept for the next ones when answered (up to SPARES_MAX per
 * worker); longer ones get a block of their size. */
#define TRANS_TEXT 2048u
#define SPARES_MAX 32u

/* The plugin's state (one per worker): options and spare blocks. */
struct pg_cfg {
    int64_t max_rows;       /* max_rows, default 10 */
    int64_t max_row_length; /* max_row_length, default 1024 */
    struct pb_spares spares;
};

struct pg_named {
    char *name; /* owned */
    size_t name_len;
    char *query; /* owned, query_cap bytes */
    size_t query_len, query_cap;
};

struct pg_conn {
    struct pg_stream st[2];
    uint64_t ts[2]; /* capture time of the first byte of the current message */
    bool ts_set[2];
    size_t pending[2];    /* bytes left unconsumed by the last call */
    size_t skip[2];       /* buffered bytes to throw away (state dropped after a gap) */
    bool seen[2];         /* Packetbeat's stream of this direction exists */
    bool ssl_req_seen[2]; /* this direction sent SSLRequest / GSSENCRequest */
    bool expect_ssl[2];   /* this direction owes the one-byte answer */
    bool tls;             /* encrypted from here on */
    struct pb_txq trans;  /* struct pg_trans *, oldest first */
    uint64_t trans_wall;  /* last access to the queue (wall clock) */
    struct pg_named *named; /* owned: nnamed of named_cap (grown on use) */
    size_t nnamed, named_cap;
};

static void trans_free(void *item)
{
    struct pg_trans *t = item;
    if (t == NULL) {
        return;
    }
    pg_strv_free(&t->notes);
    pb_free(t);
}

/* The room of a transaction's text for a query of qlen bytes. */
static size_t trans_text(size_t qlen)
{
    return 2 * (qlen + 1);
}

/* A block for a transaction of a query of qlen bytes (not cleared), NULL
 * on ENOMEM. */
static struct pg_trans *trans_alloc(struct pg_cfg *cfg, size_t qlen)
{
    size_t cap;
    return pb_spares_get(&cfg->spares, trans_text(qlen), &cap);
}

/* trans_free, keeping a block of TRANS_TEXT room for the next one. */
static void trans_done(struct pg_cfg *cfg, struct pg_trans *t)
{
    if (t != NULL) {
        pg_strv_free(&t->notes);
        pb_spares_put(&cfg->spares, t, trans_text(t->query_len));
    }
}

/* Packetbeat's cache lookup of the connection's queue. */
static void trans_touch(struct pb_proto *p, struct pg_conn *pc, uint64_t now)
{
    if (!pb_txq_empty(&pc->trans) && p->tx_timeout_ns > 0 && now > pc->trans_wall &&
        now - pc->trans_wall > (uint64_t)p->tx_timeout_ns) {
        pb_txq_clear(&pc->trans, trans_free);
    }
    pc->trans_wall = now;
}

static const char *named_lookup(void *ud, const uint8_t *name, size_t len, size_t *qlen)
{
    struct pg_conn *pc = ud;
    for (size_t i = 0; i < pc->nnamed; i++) {
        struct pg_named *n = &pc->named[i];
        if (n->name_len == len && (len == 0 || memcmp(n->name, name, len) == 0)) {
            *qlen = n->query_len;
            return n->query;
        }
    }
    return NULL;
}

static void named_put(struct pg_conn *pc, const char *name, size_t nlen, const char *q, size_t qlen)
{
    struct pg_named *slot = NULL;
    for (size_t i = 0; i < pc->nnamed; i++) {
        if (pc->named[i].name_len == nlen && memcmp(pc->named[i].name, name, nlen) == 0) {
            slot = &pc->named[i];
            break;
        }
    }
    if (slot == NULL) {
        if (pc->nnamed == PG_MAX_NAMED) {
            pb_free(pc->named[0].name);
            pb_free(pc->named[0].query);
            memmove(&pc->named[0], &pc->named[1], (PG_MAX_NAMED - 1) * sizeof pc->named[0]);
            pc->nnamed--;
        }
        if (pc->nnamed == pc->named_cap) {
            size_t cap = pc->named_cap ? pc->named_cap * 2 : 8;
            cap = cap < PG_MAX_NAMED ? cap : PG_MAX_NAMED;
            struct pg_named *v = pb_realloc(pc->named, cap * sizeof *v);
            if (v == NULL) {
                return;
            }
            pc->named = v;
            pc->named_cap = cap;
        }
        slot = &pc->named[pc->nnamed++];
        memset(slot, 0, sizeof *slot);
        slot->name = pb_malloc(nlen + 1);
        if (slot->name == NULL) {
            pc->nnamed--;
            return;
        }
        memcpy(slot->name, name, nlen);
        slot->name[nlen] = '\0';
        slot->name_len = nlen;
    }
    /* the slot's buffer is written over while it has room (drivers prepare
     * the unnamed statement again for every query), and made again when
     * it is short or four times too long */
    size_t need = qlen + 1;
    if (slot->query == NULL || slot->query_cap < need ||
        (slot->query_cap > 4 * need && slot->query_cap > 256)) {
        size_t cap = (need + 63) & ~(size_t)63;
        char *copy = pb_malloc(cap);
        if (copy == NULL) {
            return;
        }
        pb_free(slot->query);
        slot->query = copy;
        slot->query_cap = cap;
    }
    memcpy(slot->query, q, qlen);
    slot->query[qlen] = '\0';
    slot->query_len = qlen;
}

static void received_request(struct pb_proto *p, struct pb_conn *c, struct pg_conn *pc,
                             const struct pg_msg *m, uint64_t ts, const char *note)
{
    uint64_t now = pb_frame_now_ns();
    trans_touch(p, pc, now);
    const char *parts[PG_MAX_QUERIES_PER_REQUEST];
    size_t lens[PG_MAX_QUERIES_PER_REQUEST];
    if (pc->trans.cap == 0) {
        pb_txq_set_cap(&pc->trans, PG_MAX_PENDING);
    }
    size_t n = m->query != NULL ? pg_split_queries(m->query, m->query_len, parts, lens,
                                                   PG_MAX_QUERIES_PER_REQUEST)
                                : 0;
    for (size_t i = 0; i < n; i++) {
        /* the query and its method live with the transaction */
        struct pg_trans *t = trans_alloc(p->priv, lens[i]);
        if (t == NULL) {
            p->stats.dropped++;
            continue;
        }
        memset(t, 0, sizeof *t);
        t->ts_ns = ts;
        t->query = t->text;
        memcpy(t->query, parts[i], lens[i]);
        t->query[lens[i]] = '\0';
        t->query_len = lens[i];
        t->method = t->text + lens[i] + 1;
        t->method_len = pg_query_method_into(parts[i], lens[i], t->method);
        t->bytes_in = m->size;
        if (note != NULL) {
            pg_strv_push(&t->notes, note, strlen(note));
        }
        if (pb_txq_push(&pc->trans, t) < 0) {
            p->stats.dropped++;
            trans_free(t);
        }
    }
}

static void received_response(struct pb_proto *p, struct pb_conn *c, struct pg_conn *pc,
                              const struct pg_msg *m, uint64_t ts, const char *note)
{
    uint64_t now = pb_frame_now_ns();
    trans_touch(p, pc, now);
    struct pg_trans *t = pb_txq_pop(&pc->trans);
    if (t == NULL) {
        pb_debug("pgsql", "response from unknown transaction, ignoring");
        p->stats.unmatched++;
        return;
    }
    t->bytes_out = m->size;
    t->end_ns = ts;
    if (note != NULL && t->notes.n < PG_MAX_NOTES) {
        pg_strv_push(&t->notes, note, strlen(note));
    }
    char *csv = NULL;
    size_t csv_len = 0;
    if (p->send_response) {
        csv = pg_csv(&m->fields, m->rows, m->nrows, &csv_len);
    }
    pg_publish(p, c, t, m, csv, csv_len);
    pb_free(csv);
    trans_done(p->priv, t);
}

static void handle_message(struct pb_proto *p, struct pb_conn *c, struct pg_conn *pc, enum pb_dir d,
                           const struct pg_msg *m, uint64_t ts, const char *note)
{
    if (m->is_ssl_request) {
        pc->ssl_req_seen[d] = true;
        return;
    }
    if (m->is_ssl_response) {
        pc->expect_ssl[d] = false;
        pc->ssl_req_seen[1 - d] = false;
        if (m->ssl_accepted) {
            pc->tls = true;
        }
        return;
    }
    if (m->is_request && m->stmt_name != NULL && m->query != NULL) {
        named_put(pc, m->stmt_name, m->stmt_name_len, m->query, m->query_len);
    }
    if (!m->to_export) {
        return;
    }
    if (m->is_request) {
        received_request(p, c, pc, m, ts, note);
    } else {
        received_response(p, c, pc, m, ts, note);
    }
}

static void make_ctx(struct pb_proto *p, struct pg_conn *pc, enum pb_dir d,
                     struct pg_parse_ctx *ctx)
{
    const struct pg_cfg *cfg = p->priv;
    memset(ctx, 0, sizeof *ctx);
    ctx->is_client = d == PB_DIR_TO_SERVER;
    ctx->expect_ssl_response = pc->expect_ssl[d];
    ctx->max_rows = cfg->max_rows;
    ctx->max_row_length = cfg->max_row_length;
    ctx->keep_text = p->send_response;
    ctx->lookup = named_lookup;
    ctx->lookup_ud = pc;
}

static void stream_reset(struct pg_conn *pc, enum pb_dir d)
{
    pg_stream_reset(&pc->st[d]);
    pc->ts_set[d] = false;
}

static enum pb_parse pg_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                size_t *consumed)
{
    struct pg_conn *pc = c->state;
    struct pb_proto *p = c->proto;
    size_t pos = 0;
    if (pc->skip[d] > 0) {
        pos = pc->skip[d] < len ? pc->skip[d] : len;
        pc->skip[d] -= pos;
    }
    if (pc->tls || pos >= len) {
        *consumed = len;
        pc->pending[d] = 0;
        return PB_PARSE_MORE;
    }
    pc->seen[d] = true;
    if (pc->ssl_req_seen[1 - d]) {
        pc->expect_ssl[d] = true;
    }
    if (!pc->ts_set[d]) {
        pc->ts[d] = c->ts_ns;
        pc->ts_set[d] = true;
    }
    struct pg_stream *st = &pc->st[d];
    struct pg_parse_ctx ctx;
    make_ctx(p, pc, d, &ctx);
    for (;;) {
        ctx.expect_ssl_response = pc->expect_ssl[d]; /* the one a message may change */
        enum pg_result r = pg_parse(st, &ctx, data + pos, len - pos);
        if (r == PG_FAIL) {
            pb_debug("pgsql", "not PostgreSQL, dropping the stream");
            p->stats.parse_errors++;
            stream_reset(pc, d);
            pc->seen[d] = false;
            pc->ssl_req_seen[d] = false;
            pc->expect_ssl[d] = false;
            pc->pending[d] = 0;
            *consumed = len;
            return PB_PARSE_DROP;
        }
        if (r == PG_MORE) {
            break;
        }
        handle_message(p, c, pc, d, &st->msg, pc->ts[d], NULL);
        pos += st->off;
        stream_reset(pc, d);
        if (pos >= len || pc->tls) {
            pos = pc->tls ? len : pos;
            break;
        }
        pc->ts[d] = c->ts_ns;
        pc->ts_set[d] = true;
    }
    *consumed = pos;
    pc->pending[d] = len - pos;
    return PB_PARSE_MORE;
}

static bool pg_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct pg_conn *pc = c->state;
    struct pb_proto *p = c->proto;
    (void)lost;
    p->stats.gaps++;
    if (!pc->seen[d]) {
        return false;
    }
    struct pg_stream *st = &pc->st[d];
    if (pc->pending[d] > 0 && pg_msg_has_enough_data(st)) {
        struct pg_msg *m = &st->msg;
        m->to_export = true;
        m->end = st->off;
        handle_message(p, c, pc, d, m, pc->ts[d],
                       m->is_request ? "Packet loss while capturing the request"
                                     : "Packet loss while capturing the response");
    }
    /* Packetbeat drops the parser state of the whole connection */
    for (int k = 0; k < 2; k++) {
        stream_reset(pc, (enum pb_dir)k);
        if (k != (int)d) {
            pc->skip[k] += pc->pending[k];
        }
        pc->pending[k] = 0;
        pc->seen[k] = false;
        pc->ssl_req_seen[k] = false;
        pc->expect_ssl[k] = false;
    }
    return true;
}

static void pg_on_fin(struct pb_conn *c, enum pb_dir d)
{
    (void)c;
    (void)d; /* Packetbeat publishes nothing on FIN */
}

static void pg_on_expire(struct pb_conn *c)
{
    (void)c; /* pending queries are dropped silently */
}

static void pg_conn_free(struct pb_conn *c)
{
    struct pg_conn *pc = c->state;
    if (pc == NULL) {
        return;
    }
    pg_stream_reset(&pc->st[0]);
    pg_stream_reset(&pc->st[1]);
    pb_txq_free(&pc->trans, trans_free);
    for (size_t i = 0; i < pc->nnamed; i++) {
        pb_free(pc->named[i].name);
        pb_free(pc->named[i].query);
    }
    pb_free(pc->named);
    pc->named = NULL;
    pc->nnamed = pc->named_cap = 0;
}

static int pg_init(struct pb_proto *p)
{
    struct pg_cfg *cfg = pb_calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return -PB_ENOMEM;
    }
    if (pb_cfg_int(p->cfg, "max_rows", 10, &cfg->max_rows) < 0 ||
        pb_cfg_int(p->cfg, "max_row_length", 1024, &cfg->max_row_length) < 0) {
        pb_free(cfg);
        return -PB_EINVAL;
    }
    pb_spares_init(&cfg->spares, sizeof(struct pg_trans), TRANS_TEXT, 1, SPARES_MAX);
    p->priv = cfg;
    return 0;
}

static void pg_fini(struct pb_proto *p)
{
    struct pg_cfg *cfg = p->priv;
    if (cfg != NULL) {
        pb_spares_fini(&cfg->spares);
    }
    pb_free(p->priv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_pgsql = {
    .name = "pgsql",
    .transports = PB_TCP,
    .conn_size = sizeof(struct pg_conn),
    .init = pg_init,
    .fini = pg_fini,
    .on_data = pg_on_data,
    .on_gap = pg_on_gap,
    .on_fin = pg_on_fin,
    .on_expire = pg_on_expire,
    .conn_free = pg_conn_free,
};
