/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_mysql.c - a small MySQL/MariaDB client for replay: the
 * v10 handshake with mysql_native_password (also after an auth switch),
 * COM_QUERY, and the text-protocol reply read to the end: OK (affected
 * rows), ERR (code, SQLSTATE, message), or a result set (rows counted).
 * No TLS, no prepared statements, no compression.
 *
 *   packet:  len:3 (LE)  seq:1  payload:len
 */
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/rd.h"
#include "beat/replay/rp_int.h"

#define CLIENT_LONG_PASSWORD 0x00000001u
#define CLIENT_CONNECT_WITH_DB 0x00000008u
#define CLIENT_PROTOCOL_41 0x00000200u
#define CLIENT_TRANSACTIONS 0x00002000u
#define CLIENT_SECURE_CONNECTION 0x00008000u
#define CLIENT_MULTI_RESULTS 0x00020000u
#define CLIENT_PLUGIN_AUTH 0x00080000u
#define SERVER_MORE_RESULTS_EXISTS 0x0008u

struct mysql_cl {
    struct rp_conn c;
    bool up;
    uint8_t seq;
};

/* Reads one packet; p and n point into the connection buffer until the next
 * read. */
static int read_pkt(struct mysql_cl *cl, const uint8_t **p, size_t *n)
{
    struct rp_conn *c = &cl->c;
    if (rp_conn_need(c, 4) < 0) {
        return -1;
    }
    const uint8_t *h = c->buf + c->off;
    size_t len = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    cl->seq = (uint8_t)(h[3] + 1);
    if (rp_conn_need(c, 4 + len) < 0) {
        return -1;
    }
    *p = c->buf + c->off + 4;
    *n = len;
    c->off += 4 + len;
    return 0;
}

static int write_pkt(struct mysql_cl *cl, const uint8_t *p, size_t n)
{
    if (n >= 0xffffffu) {
        return -1;
    }
    uint8_t *b = pb_malloc(n + 4);
    if (b == NULL) {
        return -1;
    }
    b[0] = (uint8_t)n;
    b[1] = (uint8_t)(n >> 8);
    b[2] = (uint8_t)(n >> 16);
    b[3] = cl->seq++;
    memcpy(b + 4, p, n);
    int rc = rp_conn_write(&cl->c, b, n + 4);
    pb_free(b);
    return rc;
}

/* length-encoded integer */
static uint64_t lenenc(struct pb_rd *r)
{
    uint8_t f = pb_rd_u8(r);
    if (f < 0xfb) {
        return f;
    }
    if (f == 0xfc) {
        return pb_rd_le16(r);
    }
    if (f == 0xfd) {
        uint64_t v = pb_rd_u8(r);
        v |= (uint64_t)pb_rd_u8(r) << 8;
        v |= (uint64_t)pb_rd_u8(r) << 16;
        return v;
    }
    if (f == 0xfe) {
        uint64_t lo = pb_rd_le32(r);
        uint64_t hi = pb_rd_le32(r);
        return lo | (hi << 32);
    }
    return 0;
}

/* SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw))) */
static void native_scramble(const char *pw, const uint8_t *salt, size_t slen, uint8_t out[20])
{
    uint8_t h1[20], h2[20], h3[20];
    uint8_t buf[64];
    rp_sha1(pw, strlen(pw), h1);
    rp_sha1(h1, 20, h2);
    if (slen > 40) {
        slen = 40;
    }
    memcpy(buf, salt, slen);
    memcpy(buf + slen, h2, 20);
    rp_sha1(buf, slen + 20, h3);
    for (size_t i = 0; i < 20; i++) {
        out[i] = h1[i] ^ h3[i];
    }
}

static void err_text(const uint8_t *p, size_t n, char *err, size_t errlen)
{
    /* 0xff code:2 ['#' state:5] message */
    struct pb_rd r = {p, p + n, false};
    pb_rd_skip(&r, 1);
    unsigned code = pb_rd_le16(&r);
    if (pb_rd_left(&r) > 0 && r.p[0] == '#') {
        pb_rd_skip(&r, 6);
    }
    snprintf(err, errlen, "error %u: %.*s", code, (int)pb_rd_left(&r), (const char *)r.p);
}

static int handshake(struct mysql_cl *cl, const struct rp_opts *o, char *err, size_t errlen)
{
    const uint8_t *p;
    size_t n;
    if (read_pkt(cl, &p, &n) < 0) {
        snprintf(err, errlen, "no handshake from the server");
        return -1;
    }
    if (n > 0 && p[0] == 0xff) {
        err_text(p, n, err, errlen);
        return -1;
    }
    struct pb_rd r = {p, p + n, false};
    if (pb_rd_u8(&r) != 10) {
        snprintf(err, errlen, "unsupported handshake protocol");
        return -1;
    }
    while (pb_rd_left(&r) > 0 && pb_rd_u8(&r) != 0) { /* server version */
    }
    pb_rd_skip(&r, 4); /* connection id */
    uint8_t salt[64];
    size_t slen = 0;
    struct pb_slice s1 = pb_rd_slice(&r, 8);
    if (s1.ptr != NULL) {
        memcpy(salt, s1.ptr, 8);
        slen = 8;
    }
    pb_rd_skip(&r, 1);
    uint32_t caps = pb_rd_le16(&r);
    pb_rd_skip(&r, 3); /* charset, status */
    caps |= (uint32_t)pb_rd_le16(&r) << 16;
    uint8_t alen = pb_rd_u8(&r);
    pb_rd_skip(&r, 10);
    if (caps & CLIENT_SECURE_CONNECTION) {
        size_t k = alen > 8 ? (size_t)alen - 8 : 13;
        if (k > 13) {
            k = 13;
        }
        struct pb_slice s2 = pb_rd_slice(&r, k);
        if (s2.ptr != NULL) {
            memcpy(salt + slen, s2.ptr, k);
            slen += k;
        }
        if (slen > 0 && salt[slen - 1] == 0) {
            slen--;
        }
    }
    if (!pb_rd_ok(&r)) {
        snprintf(err, errlen, "short handshake");
        return -1;
    }
    /* HandshakeResponse41 */
    uint8_t out[1024];
    size_t w = 0;
    uint32_t mycaps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS |
                      CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_MULTI_RESULTS;
    if (o->t.db[0] != '\0') {
        mycaps |= CLIENT_CONNECT_WITH_DB;
    }
    mycaps &= caps | CLIENT_PROTOCOL_41;
    out[w++] = (uint8_t)mycaps;
    out[w++] = (uint8_t)(mycaps >> 8);
    out[w++] = (uint8_t)(mycaps >> 16);
    out[w++] = (uint8_t)(mycaps >> 24);
    memcpy(out + w, "\x00\x00\x00\x01", 4); /* max packet 16 MiB */
    w += 4;
    out[w++] = 33; /* utf8_general_ci */
    memset(out + w, 0, 23);
    w += 23;
    size_t ul = strlen(o->t.user);
    memcpy(out + w, o->t.user, ul + 1);
    w += ul + 1;
    if (o->t.pass[0] != '\0') {
        out[w++] = 20;
        native_scramble(o->t.pass, salt, slen, out + w);
        w += 20;
    } else {
        out[w++] = 0;
    }
    if (mycaps & CLIENT_CONNECT_WITH_DB) {
        size_t dl = strlen(o->t.db);
        memcpy(out + w, o->t.db, dl + 1);
        w += dl + 1;
    }
    if (mycaps & CLIENT_PLUGIN_AUTH) {
        memcpy(out + w, "mysql_native_password", 22);
        w += 22;
    }
    if (write_pkt(cl, out, w) < 0 || read_pkt(cl, &p, &n) < 0) {
        snprintf(err, errlen, "connection lost during login");
        return -1;
    }
    if (n > 0 && p[0] == 0xfe) {
        /* auth switch: plugin name NUL, new salt */
        const uint8_t *nul = memchr(p + 1, 0, n - 1);
        if (nul == NULL || strcmp((const char *)p + 1, "mysql_native_password") != 0) {
            snprintf(err, errlen, "server wants an unsupported auth plugin");
            return -1;
        }
        size_t sl = n - (size_t)(nul + 1 - p);
        if (sl > 0 && nul[sl] == 0) {
            sl--;
        }
        uint8_t scr[20];
        size_t sw = 0;
        if (o->t.pass[0] != '\0') {
            native_scramble(o->t.pass, nul + 1, sl, scr);
            sw = 20;
        }
        if (write_pkt(cl, scr, sw) < 0 || read_pkt(cl, &p, &n) < 0) {
            snprintf(err, errlen, "connection lost during login");
            return -1;
        }
    }
    if (n > 0 && p[0] == 0xff) {
        err_text(p, n, err, errlen);
        return -1;
    }
    if (n == 0 || p[0] != 0x00) {
        snprintf(err, errlen, "unexpected login reply");
        return -1;
    }
    return 0;
}

static int connect_cl(struct mysql_cl *cl, const struct rp_opts *o, char *err, size_t errlen)
{
    cl->seq = 0;
    if (rp_conn_open(&cl->c, o->t.host, o->t.port, o->timeout_ms, err, errlen) < 0) {
        return -1;
    }
    if (handshake(cl, o, err, errlen) < 0) {
        rp_conn_close(&cl->c);
        return -1;
    }
    cl->up = true;
    return 0;
}

static void *mysql_open(const struct rp_opts *o, char *err, size_t errlen)
{
    struct mysql_cl *cl = pb_calloc(1, sizeof *cl);
    if (cl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cl->c.fd = -1;
    if (connect_cl(cl, o, err, errlen) < 0) {
        pb_free(cl);
        return NULL;
    }
    return cl;
}

static bool is_eof(const uint8_t *p, size_t n)
{
    return n > 0 && n < 9 && p[0] == 0xfe;
}

/* Reads one statement's reply: 0 done, 1 another result follows, -1 lost */
static int read_result(struct mysql_cl *cl, struct rp_result *g)
{
    const uint8_t *p;
    size_t n;
    if (read_pkt(cl, &p, &n) < 0 || n == 0) {
        return -1;
    }
    if (p[0] == 0x00) {
        struct pb_rd r = {p + 1, p + n, false};
        uint64_t aff = lenenc(&r);
        lenenc(&r); /* insert id */
        uint16_t st = pb_rd_le16(&r);
        g->affected = (g->affected > 0 ? g->affected : 0) + (int64_t)aff;
        if (g->size < 0) {
            g->size = 0;
        }
        return (st & SERVER_MORE_RESULTS_EXISTS) ? 1 : 0;
    }
    if (p[0] == 0xff) {
        struct pb_rd r = {p + 1, p + n, false};
        unsigned code = pb_rd_le16(&r);
        if (pb_rd_left(&r) > 0 && r.p[0] == '#') {
            pb_rd_skip(&r, 6);
        }
        g->error = true;
        g->code = rp_strfmt("%u", code);
        g->body = pb_strndup((const char *)r.p, pb_rd_left(&r));
        g->body_len = g->body != NULL ? strlen(g->body) : 0;
        return 0;
    }
    if (p[0] == 0xfb) {
        g->error = true;
        g->body = pb_strdup("LOCAL INFILE is not replayed");
        g->body_len = g->body != NULL ? strlen(g->body) : 0;
        return -1;
    }
    struct pb_rd r = {p, p + n, false};
    uint64_t cols = lenenc(&r);
    for (uint64_t i = 0; i < cols; i++) {
        if (read_pkt(cl, &p, &n) < 0) {
            return -1;
        }
    }
    if (read_pkt(cl, &p, &n) < 0) { /* EOF after the column definitions */
        return -1;
    }
    int64_t rows = 0;
    for (;;) {
        if (read_pkt(cl, &p, &n) < 0) {
            return -1;
        }
        if (is_eof(p, n)) {
            struct pb_rd e = {p + 1, p + n, false};
            pb_rd_skip(&e, 2); /* warnings */
            uint16_t st = pb_rd_le16(&e);
            g->size = (g->size > 0 ? g->size : 0) + rows;
            if (g->affected < 0) {
                g->affected = 0;
            }
            return (st & SERVER_MORE_RESULTS_EXISTS) ? 1 : 0;
        }
        if (n > 0 && p[0] == 0xff) {
            g->error = true;
            g->size = rows;
            return 0;
        }
        rows++;
    }
}

static void mysql_send(void *vc, const struct rp_opts *o, struct rp_req *r)
{
    struct mysql_cl *cl = vc;
    char err[512] = "";
    if (!cl->up && connect_cl(cl, o, err, sizeof err) < 0) {
        r->got.fail = rp_strfmt("%s", err);
        return;
    }
    size_t ql = strlen(r->query);
    uint8_t *pkt = pb_malloc(ql + 1);
    if (pkt == NULL) {
        r->got.fail = rp_strfmt("out of memory");
        return;
    }
    pkt[0] = 0x03; /* COM_QUERY */
    memcpy(pkt + 1, r->query, ql);
    cl->seq = 0;
    uint64_t t0 = rp_mono_ns();
    int rc = write_pkt(cl, pkt, ql + 1);
    pb_free(pkt);
    r->got.size = -1;
    r->got.affected = -1;
    while (rc == 0) {
        rc = read_result(cl, &r->got);
        if (rc == 0) {
            break;
        }
        rc = rc == 1 ? 0 : -1;
    }
    r->got.dur_ns = (int64_t)(rp_mono_ns() - t0);
    if (rc < 0) {
        r->got.fail = rp_strfmt("connection lost");
        rp_conn_close(&cl->c);
        cl->up = false;
        return;
    }
    r->got.have = true;
}

static void mysql_close(void *vc)
{
    struct mysql_cl *cl = vc;
    if (cl != NULL) {
        if (cl->up) {
            uint8_t quit = 0x01; /* COM_QUIT */
            cl->seq = 0;
            write_pkt(cl, &quit, 1);
        }
        rp_conn_close(&cl->c);
        pb_free(cl);
    }
}

const struct rp_client_ops rp_mysql_ops = {mysql_open, mysql_send, mysql_close};
