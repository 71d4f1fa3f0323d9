/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql.c - the MySQL protocol: stream callbacks, request /
 * response correlation and prepared statements, as Packetbeat's mysql
 * module does them (packetbeat/protos/mysql/mysql.go):
 *
 *  - one transaction per connection: a second request before the response
 *    replaces the first (counted as unmatched);
 *  - COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE (seq 0)
 *    are requests; other client packets are skipped;
 *  - prepared statements are remembered per TCP tuple for
 *    statement_timeout (they outlive idle connection state, as in
 *    Packetbeat where they live in their own cache);
 *  - a gap inside a result set publishes what was seen with a note; every
 *    gap drops the parser state of both directions;
 *  - nothing is published on FIN, expiry or end of input.
 */
#include "mysql.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "protos/common/strutil.h"

#define MY_STMT_BUCKETS 1024u
#define MY_MAX_STMT_MAPS PB_MAX_TCP_CONNS
#define MY_MAX_STMTS_PER_CONN 1024u
/* Bytes of all remembered prepared statements together (they outlive their
 * connection until statement_timeout); a prepare beyond it is not
 * remembered and is counted in stats.dropped. */
#define MY_MAX_STMT_BYTES (4u * 1024u * 1024u)
/* Bytes of an unfinished response kept to describe it after a gap. */
#define MY_MAX_GAP_RAW (1024u * 1024u)

/* ---- prepared statements (per tuple) ------------------------------------- */

struct my_stmt {
    uint32_t id;
    char *query; /* owned */
    size_t query_len;
    int nparams;
    struct my_stmt_types types;
    struct my_colinfo cols; /* exact walk: result columns from the prepare answer */
};

struct my_stmt_map {
    struct my_stmt_map *next;
    struct pb_tuple key;
    uint64_t wall_ns; /* last access */
    struct my_stmt *v;
    size_t n, cap;
    size_t bytes; /* this map and its statements, counted in my_priv.stmt_bytes */
};

struct my_priv {
    struct my_cfg cfg;
    struct my_stmt_map *buckets[MY_STMT_BUCKETS];
    size_t nmaps;
    size_t stmt_bytes; /* sum of the maps' bytes (MY_MAX_STMT_BYTES) */
    uint64_t last_sweep_ns;
};

struct my_conn {
    struct my_stream st[2];
    uint64_t ts[2]; /* capture time of the first byte of the current message */
    bool ts_set[2];
    size_t pending[2]; /* bytes left unconsumed by the last call */
    size_t skip[2];    /* buffered bytes to throw away (state dropped after a gap) */
    struct pb_bytes mirror; /* response bytes kept for a gap (send_response) */
    struct my_trans trans;
    /* handshake */
    bool greeting_seen, exact, client_caps_seen, cmd_phase, tls;
    uint32_t srv_caps, srv_xcaps, cli_caps, cli_xcaps;
    int last_cmd; /* command being answered; -1 unknown, -2 before the first command */
};

static bool tuple_eq(const struct pb_tuple *a, const struct pb_tuple *b)
{
    return a->src.v6 == b->src.v6 && a->dst.v6 == b->dst.v6 &&
           memcmp(a->src.b, b->src.b, 16) == 0 && memcmp(a->dst.b, b->dst.b, 16) == 0 &&
           a->sport == b->sport && a->dport == b->dport && a->proto == b->proto;
}

static size_t tuple_bucket(const struct pb_tuple *t)
{
    uint64_t h = 1469598103934665603ull;
    const uint8_t *parts[2] = {t->src.b, t->dst.b};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 16; i++) {
            h = (h ^ parts[k][i]) * 1099511628211ull;
        }
    }
    h = (h ^ t->sport) * 1099511628211ull;
    h = (h ^ t->dport) * 1099511628211ull;
    return (size_t)(h % MY_STMT_BUCKETS);
}

static void stmt_free(struct my_stmt *s)
{
    pb_free(s->query);
    pb_free(s->types.types);
    my_colinfo_free(&s->cols);
    memset(s, 0, sizeof *s);
}

static void map_free(struct my_stmt_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        stmt_free(&m->v[i]);
    }
    pb_free(m->v);
    pb_free(m);
}

static bool map_expired(const struct my_priv *pv, const struct my_stmt_map *m, uint64_t now)
{
    return pv->cfg.stmt_timeout_ns >= 0 && now > m->wall_ns &&
           now - m->wall_ns > (uint64_t)pv->cfg.stmt_timeout_ns;
}

/* The statements of tuple t (refreshing its expiry), NULL when none. With
 * create, an empty map is made. */
static struct my_stmt_map *stmts_get(struct my_priv *pv, const struct pb_tuple *t, uint64_t now,
                                     bool create)
{
    size_t b = tuple_bucket(t);
    struct my_stmt_map **pp = &pv->buckets[b];
    while (*pp != NULL) {
        struct my_stmt_map *m = *pp;
        if (tuple_eq(&m->key, t)) {
            if (map_expired(pv, m, now)) {
                *pp = m->next;
                pv->stmt_bytes -= m->bytes;
                map_free(m);
                pv->nmaps--;
                break;
            }
            m->wall_ns = now;
            return m;
        }
        pp = &m->next;
    }
    if (!create || pv->nmaps >= MY_MAX_STMT_MAPS) {
        return NULL;
    }
    struct my_stmt_map *m = pb_calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    m->key = *t;
    m->bytes = sizeof *m;
    pv->stmt_bytes += m->bytes;
    m->wall_ns = now;
    m->next = pv->buckets[b];
    pv->buckets[b] = m;
    pv->nmaps++;
    return m;
}

static struct my_stmt *stmt_find(struct my_stmt_map *m, uint32_t id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].id == id) {
            return &m->v[i];
        }
    }
    return NULL;
}

static void stmt_delete(struct my_stmt_map *m, uint32_t id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].id == id) {
            stmt_free(&m->v[i]);
            m->v[i] = m->v[m->n - 1];
            m->n--;
            return;
        }
    }
}

static struct my_stmt *stmt_add(struct my_stmt_map *m, uint32_t id, const char *q, size_t qlen,
                                int nparams)
{
    if (m->n >= MY_MAX_STMTS_PER_CONN) {
        return NULL;
    }
    if (m->n == m->cap) {
        size_t nc = m->cap == 0 ? 4 : m->cap * 2;
        struct my_stmt *v = pb_realloc(m->v, nc * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        m->v = v;
        m->cap = nc;
    }
    char *copy = pb_malloc(qlen + 1);
    if (copy == NULL) {
        return NULL;
    }
    if (qlen > 0) {
        memcpy(copy, q, qlen);
    }
    copy[qlen] = '\0';
    struct my_stmt *s = &m->v[m->n++];
    memset(s, 0, sizeof *s);
    s->id = id;
    s->query = copy;
    s->query_len = qlen;
    s->nparams = nparams;
    return s;
}

static void stmts_sweep(struct my_priv *pv, uint64_t now)
{
    for (size_t b = 0; b < MY_STMT_BUCKETS; b++) {
        struct my_stmt_map **pp = &pv->buckets[b];
        while (*pp != NULL) {
            struct my_stmt_map *m = *pp;
            if (map_expired(pv, m, now)) {
                *pp = m->next;
                pv->stmt_bytes -= m->bytes;
                map_free(m);
                pv->nmaps--;
            } else {
                pp = &m->next;
            }
        }
    }
}

/* ---- transaction ------------------------------------------------------------ */

/* pb_free for the pointers most transactions leave NULL */
static void free_set(void *p)
{
    if (p != NULL) {
        pb_free(p);
    }
}

static void strv_free_set(struct my_strv *sv)
{
    if (sv->v != NULL || sv->lens != NULL) {
        my_strv_free(sv);
    }
}

static void trans_reset(struct my_trans *t)
{
    free_set(t->query);
    free_set(t->method);
    free_set(t->request_raw);
    strv_free_set(&t->notes);
    strv_free_set(&t->params);
    memset(t, 0, sizeof *t);
}

static void set_str(char **dst, size_t *dlen, const void *s, size_t n)
{
    char *c = pb_malloc(n + 1);
    if (c == NULL) {
        return;
    }
    if (n > 0) {
        memcpy(c, s, n);
    }
    c[n] = '\0';
    pb_free(*dst);
    *dst = c;
    *dlen = n;
}

static void add_note(struct my_trans *t, const char *s, size_t n)
{
    if (t->notes.n < MY_MAX_NOTES) {
        my_strv_push(&t->notes, s, n);
    }
}

/* Packetbeat's transaction cache lookup: gone after transaction_timeout
 * without access. */
static struct my_trans *trans_get(struct pb_proto *p, struct my_conn *mc, uint64_t now)
{
    struct my_trans *t = &mc->trans;
    if (!t->present) {
        return NULL;
    }
    if (p->tx_timeout_ns > 0 && now > t->wall_ns &&
        now - t->wall_ns > (uint64_t)p->tx_timeout_ns) {
        trans_reset(t);
        return NULL;
    }
    t->wall_ns = now;
    return t;
}

static bool is_trim(uint8_t c)
{
    return c == ' ' || c == '\r' || c == '\n' || c == '\t';
}

static void handle_request(struct pb_proto *p, struct pb_conn *c, struct my_conn *mc,
                           const struct my_msg *msg, const uint8_t *raw, size_t raw_len,
                           uint64_t ts)
{
    struct my_priv *pv = p->priv;
    uint64_t now = pb_frame_now_ns();
    struct my_trans *t = trans_get(p, mc, now);
    if (t != NULL) {
        if (t->has_mysql) {
            pb_debug("mysql", "two requests without a response, dropping the old one");
            p->stats.unmatched++;
        }
    } else {
        t = &mc->trans;
        trans_reset(t);
        t->present = true;
        t->wall_ns = now;
    }
    t->ts_ns = ts;

    /* the query bytes of COM_QUERY / COM_STMT_PREPARE */
    const uint8_t *mq = raw_len > 5 ? raw + 5 : (const uint8_t *)"";
    size_t mqlen = raw_len > 5 ? raw_len - 5 : 0;
    bool by_stmt = msg->typ == MY_CMD_STMT_EXECUTE || msg->typ == MY_CMD_STMT_CLOSE;
    if (by_stmt) {
        mqlen = 0; /* Packetbeat keeps no query text for these */
    }

    const char *q = NULL;
    size_t qlen = 0;
    if (by_stmt && msg->stmt_id != 0) {
        t->stmt_id = msg->stmt_id;
        struct my_stmt_map *map = stmts_get(pv, &c->tuple, now, false);
        struct my_stmt *st = map != NULL ? stmt_find(map, msg->stmt_id) : NULL;
        if (msg->typ == MY_CMD_STMT_CLOSE && map != NULL) {
            int64_t before = pb_alloc_thread_bytes();
            stmt_delete(map, msg->stmt_id);
            int64_t freed = before - pb_alloc_thread_bytes();
            size_t dec = freed <= 0 ? 0 : (size_t)freed < map->bytes ? (size_t)freed : map->bytes;
            map->bytes -= dec;
            pv->stmt_bytes -= dec;
            trans_reset(t); /* removed from the cache: never published */
            return;
        }
        if (st == NULL) {
            const char *what = msg->typ == MY_CMD_STMT_EXECUTE ? "Request Execute Statement"
                                                               : "Request Close Statement";
            set_str(&t->query, &t->query_len, what, strlen(what));
            static const char note[] = "The actual query being used is unknown";
            add_note(t, note, sizeof note - 1);
            if (p->send_request) {
                set_str(&t->request_raw, &t->request_raw_len, "", 0);
            }
            t->bytes_in = msg->size;
            return;
        }
        my_strv_free(&t->params);
        my_execute_params(raw, raw_len, st->nparams, &st->types, mc->exact, &t->params);
        q = st->query;
        qlen = st->query_len;
    } else {
        q = (const char *)mq;
        qlen = mqlen;
    }

    /* trim " \r\n\t" and take the first word, upper-cased, as the method */
    size_t b = 0, e = qlen;
    while (b < e && is_trim((uint8_t)q[b])) {
        b++;
    }
    while (e > b && is_trim((uint8_t)q[e - 1])) {
        e--;
    }
    size_t w = b;
    while (w < e && !is_trim((uint8_t)q[w])) {
        w++;
    }
    char *tq = pb_malloc(e - b + 1);
    bool short_method = w - b < sizeof t->method_short;
    char *meth = short_method ? NULL : pb_malloc(w - b + 1);
    if (tq == NULL || (!short_method && meth == NULL)) {
        free_set(tq);
        free_set(meth);
        return;
    }
    memcpy(tq, q + b, e - b);
    tq[e - b] = '\0';
    free_set(t->query);
    t->query = tq;
    t->query_len = e - b;
    free_set(t->method);
    t->method = meth;
    char *out = meth != NULL ? meth : t->method_short;
    for (size_t i = b; i < w; i++) {
        uint8_t ch = (uint8_t)q[i];
        out[i - b] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    out[w - b] = '\0';
    t->method_len = w - b;
    t->has_mysql = true;
    strv_free_set(&t->notes);
    if (p->send_request) { /* only the request text shows it */
        set_str(&t->request_raw, &t->request_raw_len, mq, mqlen);
    }
    t->bytes_in = msg->size;
}

static void make_ctx(const struct my_conn *mc, enum pb_dir d, struct my_parse_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->is_client = d == PB_DIR_TO_SERVER;
    ctx->exact = mc->exact;
    bool both = mc->greeting_seen && mc->client_caps_seen;
    uint32_t caps = both ? (mc->srv_caps & mc->cli_caps) : 0;
    uint32_t xcaps = both ? (mc->srv_xcaps & mc->cli_xcaps) : 0;
    ctx->deprecate_eof = (caps & MY_CAP_DEPRECATE_EOF) != 0;
    ctx->cache_metadata = (xcaps & MY_XCAP_CACHE_METADATA) != 0;
    ctx->ext_metadata = (xcaps & MY_XCAP_EXTENDED_METADATA) != 0;
    ctx->last_cmd = mc->cmd_phase ? mc->last_cmd : -2;
}

/* A finished response (or one cut by a gap): raw holds its first raw_len
 * published bytes, NULL when not kept. */
static void handle_response(struct pb_proto *p, struct pb_conn *c, struct my_conn *mc,
                            const struct my_msg *msg, const uint8_t *raw, size_t raw_len,
                            uint64_t ts, const struct my_parse_ctx *ctx, const char *note)
{
    struct my_priv *pv = p->priv;
    uint64_t now = pb_frame_now_ns();
    struct my_trans *t = trans_get(p, mc, now);
    if (t == NULL || !t->has_mysql) {
        pb_debug("mysql", "response from unknown transaction, ignoring");
        p->stats.unmatched++;
        return;
    }
    struct my_result_fields r = {
        .affected_rows = msg->affected_rows,
        .insert_id = msg->insert_id,
        .num_rows = msg->num_rows,
        .num_fields = msg->num_fields,
        .is_error = msg->is_error,
    };
    /* "SQLSTATE: message", sliced as Packetbeat does */
    uint8_t *errbuf = NULL;
    if (msg->is_error && raw != NULL) {
        size_t pend = msg->err_off + 4 + msg->err_len;
        if (pend > raw_len) {
            pend = raw_len;
        }
        size_t s0 = msg->err_off + 8, s1 = msg->err_off + 13;
        size_t a0 = s0 < pend ? s0 : pend, a1 = s1 < pend ? s1 : pend;
        size_t mlen = pend > s1 ? pend - s1 : 0;
        errbuf = pb_malloc((a1 - a0) + 2 + mlen + 1);
        if (errbuf != NULL) {
            memcpy(errbuf, raw + a0, a1 - a0);
            memcpy(errbuf + (a1 - a0), ": ", 2);
            if (mlen > 0) {
                memcpy(errbuf + (a1 - a0) + 2, raw + s1, mlen);
            }
            r.error_code = msg->error_code;
            r.error_msg = errbuf;
            r.error_msg_len = (a1 - a0) + 2 + mlen;
        }
    } else if (msg->is_error) {
        r.error_code = msg->error_code;
    }
    struct my_parse_ctx rctx = *ctx;
    if (ctx->exact && ctx->last_cmd == MY_CMD_STMT_EXECUTE && t->stmt_id != 0) {
        /* an answer without metadata uses what the prepare answer said */
        struct my_stmt_map *map = stmts_get(pv, &c->tuple, now, false);
        struct my_stmt *st = map != NULL ? stmt_find(map, t->stmt_id) : NULL;
        if (st != NULL) {
            rctx.cached = &st->cols;
            if (msg->tables == NULL && st->cols.tables != NULL) {
                r.path = st->cols.tables;
                r.path_len = st->cols.tables_len;
            }
        }
    }
    if (msg->prepare && msg->stmt_id != 0) {
        struct my_stmt_map *map = pv->stmt_bytes < MY_MAX_STMT_BYTES
                                      ? stmts_get(pv, &c->tuple, now, true)
                                      : stmts_get(pv, &c->tuple, now, false);
        if (map != NULL && stmt_find(map, msg->stmt_id) == NULL &&
            pv->stmt_bytes < MY_MAX_STMT_BYTES) {
            int64_t before = pb_alloc_thread_bytes();
            struct my_stmt *st =
                stmt_add(map, msg->stmt_id, t->query, t->query_len, (int)msg->num_params);
            if (st != NULL && ctx->exact && raw != NULL) {
                my_prepare_columns(raw, raw_len, ctx, &st->cols);
            }
            int64_t used = pb_alloc_thread_bytes() - before;
            if (used > 0) {
                map->bytes += (size_t)used;
                pv->stmt_bytes += (size_t)used;
            }
        } else if (pv->stmt_bytes >= MY_MAX_STMT_BYTES) {
            c->proto->stats.dropped++; /* not remembered: executes show no query */
        }
        add_note(t, t->query != NULL ? t->query : "", t->query_len);
        static const char rps[] = "Request Prepare Statement";
        set_str(&t->query, &t->query_len, rps, sizeof rps - 1);
    }
    t->bytes_out = msg->size;
    t->end_ns = ts;
    if (msg->tables != NULL) {
        r.path = msg->tables;
        r.path_len = msg->tables_len;
    }

    char *csv = NULL;
    size_t csv_len = 0;
    if (p->send_response && raw != NULL && raw_len > 0) {
        struct my_table tab;
        my_response_table(raw, raw_len, pv->cfg.max_rows, pv->cfg.max_row_length, ctx->exact,
                          &rctx, &tab);
        csv = my_csv(&tab, &csv_len);
        my_table_free(&tab);
    }
    r.response = csv != NULL ? csv : "";
    r.response_len = csv != NULL ? csv_len : 0;
    if (note != NULL) {
        add_note(t, note, strlen(note));
    }
    my_publish(p, c, t, &r);
    free_set(csv);
    free_set(errbuf);
    trans_reset(t);
}

/* A message of direction d is complete: [0, msg->end) of raw are its
 * published bytes; ctx is what it was parsed with. */
static void message_done(struct pb_proto *p, struct pb_conn *c, struct my_conn *mc, enum pb_dir d,
                         const uint8_t *raw, uint64_t ts, const struct my_parse_ctx *ctx)
{
    const struct my_msg *msg = &mc->st[d].msg;
    size_t end = msg->end;
    if (d == PB_DIR_TO_SERVER) {
        if (msg->seq == 0) {
            mc->cmd_phase = true;
            mc->last_cmd = msg->typ;
        } else if (msg->seq == 1 && !mc->cmd_phase && end > 4 && !mc->client_caps_seen) {
            uint32_t caps, xcaps;
            if (my_parse_handshake_response(raw + 4, end - 4, &caps, &xcaps)) {
                mc->client_caps_seen = true;
                mc->cli_caps = caps;
                mc->cli_xcaps = xcaps;
                if ((caps & MY_CAP_SSL) && msg->pkt_len == 32) {
                    mc->tls = true; /* SSL request: TLS follows */
                }
            }
        }
        if (msg->is_request) {
            handle_request(p, c, mc, msg, raw, end, ts);
        }
        return;
    }
    if (msg->ignore) {
        if (msg->seq == 0 && msg->typ == 0x0a && !mc->greeting_seen && !mc->cmd_phase &&
            end > 4) {
            struct my_greeting g;
            if (my_parse_greeting(raw + 4, end - 4, &g)) {
                mc->greeting_seen = true;
                mc->srv_caps = g.caps;
                mc->srv_xcaps = g.xcaps;
                mc->exact = g.mariadb;
            }
        }
    } else {
        handle_response(p, c, mc, msg, raw, end, ts, ctx, NULL);
    }
    if (mc->cmd_phase) {
        mc->last_cmd = -1;
    }
}

static void stream_reset(struct my_conn *mc, enum pb_dir d)
{
    my_stream_reset(&mc->st[d]);
    mc->ts_set[d] = false;
    if (d == PB_DIR_TO_CLIENT) {
        pb_bytes_reset(&mc->mirror);
    }
}

static enum pb_parse my_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                size_t *consumed)
{
    struct my_conn *mc = c->state;
    struct pb_proto *p = c->proto;
    size_t pos = 0;
    if (mc->skip[d] > 0) {
        pos = mc->skip[d] < len ? mc->skip[d] : len;
        mc->skip[d] -= pos;
    }
    if (mc->tls || pos >= len) {
        *consumed = len;
        mc->pending[d] = 0;
        return PB_PARSE_MORE;
    }
    if (!mc->ts_set[d]) {
        mc->ts[d] = c->ts_ns;
        mc->ts_set[d] = true;
    }
    struct my_stream *st = &mc->st[d];
    bool keep_raw = d == PB_DIR_TO_CLIENT && p->send_response;
    for (;;) {
        struct my_parse_ctx ctx;
        make_ctx(mc, d, &ctx);
        enum my_result r = my_parse(st, &ctx, data + pos, len - pos);
        if (r == MY_FAIL) {
            pb_debug("mysql", "not MySQL, dropping the stream");
            p->stats.parse_errors++;
            stream_reset(mc, d);
            mc->pending[d] = 0;
            *consumed = len;
            return PB_PARSE_DROP;
        }
        if (r == MY_MORE) {
            break;
        }
        message_done(p, c, mc, d, data + pos, mc->ts[d], &ctx);
        pos += st->off;
        stream_reset(mc, d);
        if (pos >= len) {
            break;
        }
        mc->ts[d] = c->ts_ns;
        mc->ts_set[d] = true;
        if (mc->tls) {
            pos = len;
            break;
        }
    }
    if (keep_raw && pos < len && mc->mirror.len < len - pos) {
        size_t have = len - pos;
        size_t want = have < MY_MAX_GAP_RAW ? have : MY_MAX_GAP_RAW;
        if (want > mc->mirror.len) {
            pb_bytes_append(&mc->mirror, data + pos + mc->mirror.len, want - mc->mirror.len,
                            MY_MAX_GAP_RAW);
        }
    }
    *consumed = pos;
    mc->pending[d] = len - pos;
    return PB_PARSE_MORE;
}

static bool my_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct my_conn *mc = c->state;
    struct pb_proto *p = c->proto;
    (void)lost;
    p->stats.gaps++;
    if (mc->pending[d] == 0) {
        return false; /* between messages: nothing to drop */
    }
    struct my_stream *st = &mc->st[d];
    if (my_stream_gap_publishable(st) && d == PB_DIR_TO_CLIENT) {
        st->msg.end = st->off;
        struct my_parse_ctx ctx;
        make_ctx(mc, d, &ctx);
        const uint8_t *raw = mc->mirror.len > 0 ? mc->mirror.p : NULL;
        size_t raw_len = mc->mirror.len < st->msg.end ? mc->mirror.len : st->msg.end;
        handle_response(p, c, mc, &st->msg, raw, raw_len, mc->ts[d], &ctx,
                        "Packet loss while capturing the response");
        if (mc->cmd_phase) {
            mc->last_cmd = -1;
        }
    }
    /* Packetbeat drops the parser state of the whole connection */
    for (int k = 0; k < 2; k++) {
        stream_reset(mc, (enum pb_dir)k);
        if (k != (int)d) {
            mc->skip[k] += mc->pending[k];
        }
        mc->pending[k] = 0;
    }
    return true;
}

static void my_on_fin(struct pb_conn *c, enum pb_dir d)
{
    (void)c;
    (void)d; /* Packetbeat publishes nothing on FIN */
}

static void my_on_expire(struct pb_conn *c)
{
    (void)c; /* pending requests are dropped silently */
}

static void my_conn_free(struct pb_conn *c)
{
    struct my_conn *mc = c->state;
    if (mc == NULL) {
        return;
    }
    my_stream_reset(&mc->st[0]);
    my_stream_reset(&mc->st[1]);
    pb_bytes_free(&mc->mirror);
    trans_reset(&mc->trans);
}

static int my_init(struct pb_proto *p)
{
    struct my_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    int64_t rows, rowlen, sto;
    if (pb_cfg_int(p->cfg, "max_rows", 10, &rows) < 0 ||
        pb_cfg_int(p->cfg, "max_row_length", 1024, &rowlen) < 0 ||
        pb_cfg_duration(p->cfg, "statement_timeout", 3600ll * 1000000000ll, &sto) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    pv->cfg.max_rows = rows;
    pv->cfg.max_row_length = rowlen;
    pv->cfg.stmt_timeout_ns = sto;
    p->priv = pv;
    return 0;
}

static void my_fini(struct pb_proto *p)
{
    struct my_priv *pv = p->priv;
    if (pv == NULL) {
        return;
    }
    for (size_t b = 0; b < MY_STMT_BUCKETS; b++) {
        struct my_stmt_map *m = pv->buckets[b];
        while (m != NULL) {
            struct my_stmt_map *n = m->next;
            map_free(m);
            m = n;
        }
    }
    pb_free(pv);
    p->priv = NULL;
}

static void my_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct my_priv *pv = p->priv;
    if (pv == NULL || pv->nmaps == 0) {
        return;
    }
    if (now_ns - pv->last_sweep_ns < 1000000000ull) {
        return;
    }
    pv->last_sweep_ns = now_ns;
    stmts_sweep(pv, now_ns);
}

const struct pb_proto_ops pb_proto_mysql = {
    .name = "mysql",
    .transports = PB_TCP,
    .conn_size = sizeof(struct my_conn),
    .init = my_init,
    .fini = my_fini,
    .on_data = my_on_data,
    .on_gap = my_on_gap,
    .on_fin = my_on_fin,
    .on_expire = my_on_expire,
    .conn_free = my_conn_free,
    .on_tick = my_on_tick,
};
