/* SPDX-License-Identifier: Apache-2.0
 * protos/tls/tls.c - the tls plugin: per-direction record streams, one
 * event per connection, as Packetbeat 8.x does it.
 *
 * Each direction is parsed record by record until its ChangeCipherSpec;
 * what follows is encrypted and ignored. The event is published once per
 * connection: when both directions have switched to encryption, on the
 * first FIN, or on a gap (which also drops the connection's state, so a
 * later handshake on it may publish again). Nothing is published when the
 * connection only expires. A record that is not TLS drops that direction's
 * parser state; parsing restarts with the next segment.
 *
 * Options: send_certificates (true), include_raw_certificates (false),
 * include_detailed_fields (true), fingerprints ([sha1]; md5, sha1, sha256).
 */
#include <string.h>
#include <strings.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "tls_int.h"

struct tls_stream {
    struct tls_parser ps;
    size_t skip;     /* bytes still buffered from before a state reset */
    size_t buffered; /* bytes the core keeps for us after the last call */
};

struct tls_conn {
    struct tls_stream st[2];
    uint8_t completed; /* bit (1 << dir): that direction sent ChangeCipherSpec */
    bool event_sent;
    bool started;
    uint64_t start_ns, end_ns;
};

static bool conn_has_info(const struct tls_conn *tc)
{
    return tls_parser_has_info(&tc->st[0].ps) || tls_parser_has_info(&tc->st[1].ps);
}

static void send_event(struct pb_conn *c)
{
    struct tls_conn *tc = c->state;
    if (tc->event_sent) {
        return;
    }
    tc->event_sent = true;
    if (!conn_has_info(tc)) {
        return;
    }
    const struct tls_parser *client = &tc->st[PB_DIR_TO_SERVER].ps;
    const struct tls_parser *server = &tc->st[PB_DIR_TO_CLIENT].ps;
    if (client->role == TLS_ROLE_SERVER || server->role == TLS_ROLE_CLIENT) {
        const struct tls_parser *t = client;
        client = server;
        server = t;
    }
    struct tls_event_in in = {
        .cfg = c->proto->priv,
        .tuple = &c->tuple,
        .start_ns = tc->start_ns,
        .end_ns = tc->end_ns,
        .completed = tc->completed,
        .keep_null = c->proto->keep_null,
        .client = client,
        .server = server,
    };
    pb_event *ev = tls_build_event(&in);
    if (ev == NULL) {
        c->proto->stats.dropped++;
        return;
    }
    pb_emit(c->proto, ev);
}

static enum pb_parse fail_stream(struct pb_conn *c, struct tls_stream *st, size_t len,
                                 size_t *consumed)
{
    pb_debug("tls", "non-TLS message: TCP stream dropped. Try parsing with the next segment");
    c->proto->stats.parse_errors++;
    tls_parser_reset(&st->ps);
    st->buffered = 0;
    *consumed = len;
    return PB_PARSE_DROP;
}

static enum pb_parse tls_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                 size_t *consumed)
{
    struct tls_conn *tc = c->state;
    struct tls_stream *st = &tc->st[d];
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    if (!tc->started && off < len) {
        tc->started = true;
        tc->start_ns = c->ts_ns;
    }
    if (tc->completed & (1u << d)) {
        /* encrypted from here on */
        *consumed = len;
        st->buffered = 0;
        return PB_PARSE_OK;
    }
    while (off < len) {
        size_t total = 0;
        int h = tls_record_header(data + off, len - off, &total);
        if (h < 0 || (h > 0 && len - off < total)) {
            break; /* wait for the whole record */
        }
        if (h == 0) {
            return fail_stream(c, st, len, consumed);
        }
        enum tls_rec r = tls_parse_record(&st->ps, data + off, total);
        if (r == TLS_REC_FAILED) {
            return fail_stream(c, st, len, consumed);
        }
        if (r == TLS_REC_ENCRYPTED) {
            pb_debug("tls", "handshake completed");
            tc->completed |= (uint8_t)(1u << d);
            off = len; /* the rest is encrypted */
            if (tc->completed == 3) {
                tc->end_ns = c->ts_ns;
                send_event(c);
            }
            break;
        }
        off += total;
    }
    *consumed = off;
    st->buffered = len - off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static void conn_reset(struct tls_conn *tc)
{
    for (int i = 0; i < 2; i++) {
        tls_parser_reset(&tc->st[i].ps);
    }
    memset(tc, 0, sizeof *tc);
}

static bool tls_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct tls_conn *tc = c->state;
    c->proto->stats.gaps++;
    send_event(c);
    /* Packetbeat forgets the connection's state on a gap; the bytes the
     * core still holds for the other direction were part of it. */
    size_t keep = tc->st[1 - d].buffered;
    conn_reset(tc);
    tc->st[1 - d].skip = keep;
    tc->st[1 - d].buffered = keep;
    return true;
}

static void tls_on_fin(struct pb_conn *c, enum pb_dir d)
{
    send_event(c);
}

static void tls_on_expire(struct pb_conn *c)
{
    /* Packetbeat publishes nothing when a connection only times out. */
}

static void tls_conn_free(struct pb_conn *c)
{
    struct tls_conn *tc = c->state;
    if (tc != NULL) {
        conn_reset(tc);
    }
}

static const char *fingerprint_name(const char *s)
{
    if (strcasecmp(s, "md5") == 0) {
        return "md5";
    }
    if (strcasecmp(s, "sha1") == 0 || strcasecmp(s, "sha-1") == 0) {
        return "sha1";
    }
    if (strcasecmp(s, "sha256") == 0 || strcasecmp(s, "sha-256") == 0) {
        return "sha256";
    }
    return NULL;
}

static int tls_init(struct pb_proto *p)
{
    struct tls_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    if (pb_cfg_bool(p->cfg, "send_certificates", true, &pv->send_certificates) < 0 ||
        pb_cfg_bool(p->cfg, "include_raw_certificates", false, &pv->include_raw_certificates) < 0 ||
        pb_cfg_bool(p->cfg, "include_detailed_fields", true, &pv->include_detailed_fields) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    if (pb_cfg_has(p->cfg, "fingerprints")) {
        char **names = NULL;
        size_t n = 0;
        if (pb_cfg_strv(p->cfg, "fingerprints", &names, &n) < 0) {
            pb_free(pv);
            return -PB_EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            const char *f = fingerprint_name(names[i]);
            if (f == NULL) {
                pb_error("tls",
                         "fingerprint algorithm '%s' not found. Use one of [md5 sha1 "
                         "sha256]",
                         names[i]);
                pb_cfg_strv_free(names);
                pb_free(pv);
                return -PB_EINVAL;
            }
            bool dup = false;
            for (size_t k = 0; k < pv->nfp; k++) {
                dup = dup || strcmp(pv->fp_names[k], f) == 0;
            }
            if (!dup && pv->nfp < sizeof pv->fp_names / sizeof pv->fp_names[0]) {
                pv->fp_names[pv->nfp++] = f;
            }
        }
        pb_cfg_strv_free(names);
    } else {
        pv->fp_names[pv->nfp++] = "sha1";
    }
    p->priv = pv;
    return 0;
}

static void tls_fini(struct pb_proto *p)
{
    pb_free(p->priv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_tls = {
    .name = "tls",
    .transports = PB_TCP,
    .conn_size = sizeof(struct tls_conn),
    .init = tls_init,
    .fini = tls_fini,
    .on_data = tls_on_data,
    .on_gap = tls_on_gap,
    .on_fin = tls_on_fin,
    .on_expire = tls_on_expire,
    .conn_free = tls_conn_free,
};
