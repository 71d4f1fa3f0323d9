/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_pgsql.c - a small PostgreSQL client for replay: protocol
 * 3.0 start-up with trust, cleartext, md5 or SCRAM-SHA-256 authentication,
 * then simple queries ('Q') read to ReadyForQuery: rows counted, the
 * command tag's row count (INSERT/UPDATE/DELETE), ErrorResponse code and
 * message. No TLS, no extended protocol.
 *
 *   message:  type:1  len:4 (BE, includes itself)  payload:len-4
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/rd.h"
#include "beat/replay/rp_int.h"

struct pg_cl {
    struct rp_conn c;
    bool up;
};

struct msg {
    char type;
    const uint8_t *p; /* into the connection buffer until the next read */
    size_t n;
};

static int read_msg(struct pg_cl *cl, struct msg *m)
{
    struct rp_conn *c = &cl->c;
    if (rp_conn_need(c, 5) < 0) {
        return -1;
    }
    const uint8_t *h = c->buf + c->off;
    uint32_t len = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
    if (len < 4 || len > RP_MAX_BODY) {
        return -1;
    }
    if (rp_conn_need(c, 1 + (size_t)len) < 0) {
        return -1;
    }
    m->type = (char)c->buf[c->off];
    m->p = c->buf + c->off + 5;
    m->n = len - 4;
    c->off += 1 + (size_t)len;
    return 0;
}

static int write_msg(struct pg_cl *cl, char type, const void *p, size_t n)
{
    uint8_t *b = pb_malloc(n + 5);
    if (b == NULL) {
        return -1;
    }
    size_t w = 0;
    if (type != 0) {
        b[w++] = (uint8_t)type;
    }
    uint32_t len = (uint32_t)n + 4;
    b[w++] = (uint8_t)(len >> 24);
    b[w++] = (uint8_t)(len >> 16);
    b[w++] = (uint8_t)(len >> 8);
    b[w++] = (uint8_t)len;
    memcpy(b + w, p, n);
    int rc = rp_conn_write(&cl->c, b, w + n);
    pb_free(b);
    return rc;
}

/* ErrorResponse fields: code:1 text NUL ... NUL */
static void error_fields(const struct msg *m, char **code, char **text)
{
    size_t i = 0;
    while (i < m->n && m->p[i] != 0) {
        char f = (char)m->p[i++];
        const uint8_t *nul = memchr(m->p + i, 0, m->n - i);
        size_t l = nul != NULL ? (size_t)(nul - (m->p + i)) : m->n - i;
        if (f == 'C' && code != NULL && *code == NULL) {
            *code = pb_strndup((const char *)m->p + i, l);
        } else if (f == 'M' && text != NULL && *text == NULL) {
            *text = pb_strndup((const char *)m->p + i, l);
        }
        i += l + 1;
    }
}

static size_t b64(const uint8_t *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* SCRAM-SHA-256 (RFC 5802/7677), no channel binding. */
static int scram(struct pg_cl *cl, const char *pass, char *err, size_t errlen)
{
    uint8_t nb[18];
    char cnonce[32], first_bare[64], buf[1024];
    if (RAND_bytes(nb, sizeof nb) != 1) {
        snprintf(err, errlen, "no random bytes");
        return -1;
    }
    cnonce[b64(nb, sizeof nb, cnonce)] = '\0';
    int fl = snprintf(first_bare, sizeof first_bare, "n=,r=%s", cnonce);
    /* SASLInitialResponse: mechanism NUL, len:4, "n,," + bare */
    size_t w = 0;
    memcpy(buf, "SCRAM-SHA-256", 14);
    w = 14;
    uint32_t dl = (uint32_t)fl + 3;
    buf[w++] = (char)(dl >> 24);
    buf[w++] = (char)(dl >> 16);
    buf[w++] = (char)(dl >> 8);
    buf[w++] = (char)dl;
    memcpy(buf + w, "n,,", 3);
    memcpy(buf + w + 3, first_bare, (size_t)fl);
    w += dl;
    struct msg m;
    if (write_msg(cl, 'p', buf, w) < 0 || read_msg(cl, &m) < 0) {
        return -1;
    }
    struct pb_rd r = pb_rd_make(m.p, m.n);
    if (m.type != 'R' || pb_rd_be32(&r) != 11 || pb_rd_left(&r) >= 512) {
        snprintf(err, errlen, "unexpected SCRAM reply");
        return -1;
    }
    char sfirst[512];
    size_t sl = pb_rd_left(&r);
    memcpy(sfirst, r.p, sl);
    sfirst[sl] = '\0';
    /* r=<nonce>,s=<salt b64>,i=<iterations> */
    const char *rn = strstr(sfirst, "r="), *sn = strstr(sfirst, ",s="), *in = strstr(sfirst, ",i=");
    if (rn != sfirst || sn == NULL || in == NULL || in < sn ||
        strncmp(rn + 2, cnonce, strlen(cnonce)) != 0) {
        snprintf(err, errlen, "bad SCRAM server-first message");
        return -1;
    }
    size_t nonce_len = (size_t)(sn - (rn + 2));
    char salt64[256];
    size_t s64 = (size_t)(in - (sn + 3));
    if (s64 >= sizeof salt64) {
        return -1;
    }
    memcpy(salt64, sn + 3, s64);
    salt64[s64] = '\0';
    uint8_t salt[256];
    int saltn = EVP_DecodeBlock(salt, (const unsigned char *)salt64, (int)s64);
    if (saltn < 0) {
        return -1;
    }
    while (s64 > 0 && salt64[s64 - 1] == '=') { /* DecodeBlock counts padding */
        s64--;
        saltn--;
    }
    long iters = strtol(in + 3, NULL, 10);
    if (iters < 1 || iters > 10000000) {
        return -1;
    }
    uint8_t salted[32], ckey[32], skey[32], csig[32], proof[32];
    unsigned hl = 32;
    PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, saltn, (int)iters, EVP_sha256(), 32, salted);
    HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey, &hl);
    rp_sha256(ckey, 32, skey);
    char final_wo[400];
    int fwl = snprintf(final_wo, sizeof final_wo, "c=biws,r=%.*s", (int)nonce_len, rn + 2);
    char auth[1200];
    int al = snprintf(auth, sizeof auth, "%s,%s,%s", first_bare, sfirst, final_wo);
    if (fwl < 0 || al < 0 || (size_t)al >= sizeof auth) {
        return -1;
    }
    HMAC(EVP_sha256(), skey, 32, (const unsigned char *)auth, (size_t)al, csig, &hl);
    for (size_t i = 0; i < 32; i++) {
        proof[i] = ckey[i] ^ csig[i];
    }
    char p64[64];
    p64[b64(proof, 32, p64)] = '\0';
    int n = snprintf(buf, sizeof buf, "%s,p=%s", final_wo, p64);
    if (write_msg(cl, 'p', buf, (size_t)n) < 0 || read_msg(cl, &m) < 0) {
        return -1;
    }
    if (m.type == 'E') {
        char *code = NULL, *text = NULL;
        error_fields(&m, &code, &text);
        snprintf(err, errlen, "login failed: %s", text != NULL ? text : "?");
        pb_free(code);
        pb_free(text);
        return -1;
    }
    r = pb_rd_make(m.p, m.n);
    if (m.type != 'R' || pb_rd_be32(&r) != 12) {
        snprintf(err, errlen, "unexpected SCRAM final reply");
        return -1;
    }
    return 0;
}

static int login(struct pg_cl *cl, const struct rp_opts *o, char *err, size_t errlen)
{
    uint8_t sm[600];
    size_t w = 0;
    const uint8_t ver[4] = {0, 3, 0, 0};
    memcpy(sm, ver, 4);
    w = 4;
    const char *db = o->t.db[0] != '\0' ? o->t.db : o->t.user;
    int n = snprintf((char *)sm + w, sizeof sm - w, "user%c%s%cdatabase%c%s%c%c", 0, o->t.user, 0,
                     0, db, 0, 0);
    if (n < 0 || (size_t)n >= sizeof sm - w) {
        snprintf(err, errlen, "user or database name too long");
        return -1;
    }
    w += (size_t)n;
    if (write_msg(cl, 0, sm, w) < 0) {
        snprintf(err, errlen, "connection lost");
        return -1;
    }
    for (;;) {
        struct msg m;
        if (read_msg(cl, &m) < 0) {
            snprintf(err, errlen, "connection lost during login");
            return -1;
        }
        if (m.type == 'E') {
            char *text = NULL;
            error_fields(&m, NULL, &text);
            snprintf(err, errlen, "login failed: %s", text != NULL ? text : "?");
            pb_free(text);
            return -1;
        }
        if (m.type == 'Z') {
            return 0;
        }
        if (m.type != 'R') {
            continue; /* ParameterStatus, BackendKeyData, notices */
        }
        struct pb_rd r = pb_rd_make(m.p, m.n);
        uint32_t code = pb_rd_be32(&r);
        if (code == 0) {
            continue;
        }
        if (code == 3) {
            if (write_msg(cl, 'p', o->t.pass, strlen(o->t.pass) + 1) < 0) {
                return -1;
            }
        } else if (code == 5) {
            /* "md5" + md5hex(md5hex(password + user) + salt) */
            struct pb_slice salt = pb_rd_slice(&r, 4);
            if (salt.ptr == NULL) {
                return -1;
            }
            char inner[33], outer[33], tmp[600], resp[40];
            int tl = snprintf(tmp, sizeof tmp, "%s%s", o->t.pass, o->t.user);
            rp_md5_hex(tmp, (size_t)tl, inner);
            memcpy(tmp, inner, 32);
            memcpy(tmp + 32, salt.ptr, 4);
            rp_md5_hex(tmp, 36, outer);
            snprintf(resp, sizeof resp, "md5%s", outer);
            if (write_msg(cl, 'p', resp, strlen(resp) + 1) < 0) {
                return -1;
            }
        } else if (code == 10) {
            if (scram(cl, o->t.pass, err, errlen) < 0) {
                if (err[0] == '\0') {
                    snprintf(err, errlen, "SCRAM authentication failed");
                }
                return -1;
            }
        } else {
            snprintf(err, errlen, "unsupported authentication method %u", code);
            return -1;
        }
    }
}

static int connect_cl(struct pg_cl *cl, const struct rp_opts *o, char *err, size_t errlen)
{
    if (rp_conn_open(&cl->c, o->t.host, o->t.port, o->timeout_ms, err, errlen) < 0) {
        return -1;
    }
    err[0] = '\0';
    if (login(cl, o, err, errlen) < 0) {
        rp_conn_close(&cl->c);
        return -1;
    }
    cl->up = true;
    return 0;
}

static void *pg_open(const struct rp_opts *o, char *err, size_t errlen)
{
    struct pg_cl *cl = pb_calloc(1, sizeof *cl);
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

static void pg_send(void *vc, const struct rp_opts *o, struct rp_req *r)
{
    struct pg_cl *cl = vc;
    char err[512] = "";
    if (!cl->up && connect_cl(cl, o, err, sizeof err) < 0) {
        r->got.fail = rp_strfmt("%s", err);
        return;
    }
    struct rp_result *g = &r->got;
    g->size = -1;
    g->affected = -1;
    uint64_t t0 = rp_mono_ns();
    int rc = write_msg(cl, 'Q', r->query, strlen(r->query) + 1);
    int64_t rows = 0;
    while (rc == 0) {
        struct msg m;
        if (read_msg(cl, &m) < 0) {
            rc = -1;
            break;
        }
        if (m.type == 'D') {
            rows++;
        } else if (m.type == 'T') {
            rows = 0;
        } else if (m.type == 'C') {
            /* "SELECT 3", "INSERT 0 1", "UPDATE 2": the last number */
            const uint8_t *nul = memchr(m.p, 0, m.n);
            size_t l = nul != NULL ? (size_t)(nul - m.p) : m.n;
            size_t k = l;
            while (k > 0 && m.p[k - 1] >= '0' && m.p[k - 1] <= '9') {
                k--;
            }
            bool select = l >= 6 && memcmp(m.p, "SELECT", 6) == 0;
            if (k < l && !select) {
                char num[24];
                snprintf(num, sizeof num, "%.*s", (int)(l - k < 20 ? l - k : 20),
                         (const char *)m.p + k);
                g->affected = strtoll(num, NULL, 10);
            }
            g->size = (g->size > 0 ? g->size : 0) + rows;
            rows = 0;
        } else if (m.type == 'E') {
            g->error = true;
            char *text = NULL;
            if (g->code == NULL) {
                error_fields(&m, &g->code, &text);
                g->body = text;
                g->body_len = text != NULL ? strlen(text) : 0;
            }
        } else if (m.type == 'I') {
            g->size = g->size > 0 ? g->size : 0;
        } else if (m.type == 'Z') {
            break;
        }
    }
    g->dur_ns = (int64_t)(rp_mono_ns() - t0);
    if (rc < 0) {
        g->fail = rp_strfmt("connection lost");
        rp_conn_close(&cl->c);
        cl->up = false;
        return;
    }
    if (g->size < 0) {
        g->size = 0;
    }
    g->have = true;
}

static void pg_close(void *vc)
{
    struct pg_cl *cl = vc;
    if (cl != NULL) {
        if (cl->up) {
            write_msg(cl, 'X', "", 0);
        }
        rp_conn_close(&cl->c);
        pb_free(cl);
    }
}

const struct rp_client_ops rp_pgsql_ops = {pg_open, pg_send, pg_close};
