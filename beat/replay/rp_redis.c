/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_redis.c - a small RESP2 client for replay: AUTH and SELECT
 * from the target URL (redis://[:password@]host:port[/db]), each command
 * sent as an array of bulk strings, the reply rendered as Packetbeat renders
 * redis.return_value (bulk/simple text, integers as digits, nil, arrays as
 * "[a, b]") so the two can be compared.
 */
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/replay/rp_int.h"

struct redis_cl {
    struct rp_conn c;
    bool up;
};

struct sbuf {
    char *p;
    size_t len, cap;
    bool full;
};

static void sb_put(struct sbuf *b, const void *p, size_t n)
{
    if (b->full || b->len + n + 1 > RP_MAX_BODY) {
        b->full = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *np = pb_realloc(b->p, cap);
        if (np == NULL) {
            b->full = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Reads one reply value; appends its rendering; *err for '-' at top. */
static int read_value(struct rp_conn *c, struct sbuf *out, unsigned depth, bool *err)
{
    if (depth > RP_MAX_DEPTH) {
        return -1;
    }
    long eol = rp_conn_line(c, 64 * 1024);
    if (eol < 0 || (size_t)eol <= c->off) {
        return -1;
    }
    char type = (char)c->buf[c->off];
    const char *line = (const char *)c->buf + c->off + 1;
    size_t ll = (size_t)eol - c->off - 1;
    char num[32];
    snprintf(num, sizeof num, "%.*s", (int)(ll < 31 ? ll : 31), line);
    long long n = strtoll(num, NULL, 10);
    switch (type) {
    case '+':
    case ':':
        sb_put(out, line, ll);
        c->off = (size_t)eol + 2;
        return 0;
    case '-':
        sb_put(out, line, ll);
        *err = depth == 0;
        c->off = (size_t)eol + 2;
        return 0;
    case '$':
        c->off = (size_t)eol + 2;
        if (n < 0) {
            sb_put(out, "nil", 3);
            return 0;
        }
        if ((unsigned long long)n > RP_MAX_BODY || rp_conn_need(c, (size_t)n + 2) < 0) {
            return -1;
        }
        sb_put(out, c->buf + c->off, (size_t)n);
        c->off += (size_t)n + 2;
        return 0;
    case '*':
        c->off = (size_t)eol + 2;
        if (n < 0) {
            sb_put(out, "nil", 3);
            return 0;
        }
        if (n > (long long)RP_MAX_BODY) {
            return -1;
        }
        sb_put(out, "[", 1);
        for (long long i = 0; i < n; i++) {
            if (i > 0) {
                sb_put(out, ", ", 2);
            }
            bool dummy = false;
            if (read_value(c, out, depth + 1, &dummy) < 0) {
                return -1;
            }
        }
        sb_put(out, "]", 1);
        return 0;
    default:
        return -1;
    }
}

static int command(struct redis_cl *cl, char *const *argv, const size_t *argl, size_t argc,
                   struct sbuf *out, bool *err)
{
    struct sbuf req = {0};
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "*%zu\r\n", argc);
    sb_put(&req, hdr, (size_t)n);
    for (size_t i = 0; i < argc; i++) {
        n = snprintf(hdr, sizeof hdr, "$%zu\r\n", argl[i]);
        sb_put(&req, hdr, (size_t)n);
        sb_put(&req, argv[i], argl[i]);
        sb_put(&req, "\r\n", 2);
    }
    int rc = req.full ? -1 : rp_conn_write(&cl->c, req.p, req.len);
    pb_free(req.p);
    if (rc < 0) {
        return -1;
    }
    *err = false;
    return read_value(&cl->c, out, 0, err);
}

static int connect_cl(struct redis_cl *cl, const struct rp_opts *o, char *err, size_t errlen)
{
    if (rp_conn_open(&cl->c, o->t.host, o->t.port, o->timeout_ms, err, errlen) < 0) {
        return -1;
    }
    struct sbuf out = {0};
    bool rerr = false;
    if (o->t.pass[0] != '\0') {
        char *av[3] = {"AUTH", (char *)o->t.user, (char *)o->t.pass};
        size_t al[3] = {4, strlen(o->t.user), strlen(o->t.pass)};
        bool with_user = o->t.user[0] != '\0';
        char *av2[2] = {"AUTH", (char *)o->t.pass};
        size_t al2[2] = {4, strlen(o->t.pass)};
        int rc =
            with_user ? command(cl, av, al, 3, &out, &rerr) : command(cl, av2, al2, 2, &out, &rerr);
        if (rc < 0 || rerr) {
            snprintf(err, errlen, "AUTH failed: %s", out.p != NULL ? out.p : "no reply");
            pb_free(out.p);
            rp_conn_close(&cl->c);
            return -1;
        }
        out.len = 0;
    }
    if (o->t.db[0] != '\0') {
        char *av[2] = {"SELECT", (char *)o->t.db};
        size_t al[2] = {6, strlen(o->t.db)};
        if (command(cl, av, al, 2, &out, &rerr) < 0 || rerr) {
            snprintf(err, errlen, "SELECT %s failed: %s", o->t.db,
                     out.p != NULL ? out.p : "no reply");
            pb_free(out.p);
            rp_conn_close(&cl->c);
            return -1;
        }
    }
    pb_free(out.p);
    cl->up = true;
    return 0;
}

static void *redis_open(const struct rp_opts *o, char *err, size_t errlen)
{
    struct redis_cl *cl = pb_calloc(1, sizeof *cl);
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

static void redis_send(void *vc, const struct rp_opts *o, struct rp_req *r)
{
    struct redis_cl *cl = vc;
    char err[256] = "";
    if (!cl->up && connect_cl(cl, o, err, sizeof err) < 0) {
        r->got.fail = rp_strfmt("%s", err);
        return;
    }
    struct sbuf out = {0};
    bool rerr = false;
    uint64_t t0 = rp_mono_ns();
    int rc = command(cl, r->argv, r->argl, r->argc, &out, &rerr);
    r->got.dur_ns = (int64_t)(rp_mono_ns() - t0);
    if (rc < 0) {
        pb_free(out.p);
        r->got.fail = rp_strfmt("connection lost or bad reply");
        rp_conn_close(&cl->c);
        cl->up = false;
        return;
    }
    r->got.have = true;
    r->got.error = rerr;
    r->got.body = out.p != NULL ? out.p : pb_strdup("");
    r->got.body_len = out.len;
}

static void redis_close(void *vc)
{
    struct redis_cl *cl = vc;
    if (cl != NULL) {
        rp_conn_close(&cl->c);
        pb_free(cl);
    }
}

const struct rp_client_ops rp_redis_ops = {redis_open, redis_send, redis_close};
