/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http_event.c - the HTTP transaction event as Packetbeat 8.x
 * builds it (http.go newTransaction, collectHeaders, extractParameters,
 * hideHeaders, decodeBody; event.go newURL): ECS http.*, url.*,
 * user_agent.original, related.hosts/user, destination.domain, and the
 * Packetbeat root fields method, query, request, response.
 *
 * URL handling reproduces Go's net/url where Packetbeat relies on it:
 * url.Parse (the path comes out %-decoded; a malformed target yields no
 * path and no query), url.ParseQuery (';' is an error, '+' is a space) and
 * url.Values.Encode (keys sorted, QueryEscape), and url.URL.String for
 * url.full.
 */
#include "http_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/log.h"
#include "beat/net.h"
#include "beat/utf8.h"

/* Query parameters kept per message (url.query); more are ignored. */
#define HTTP_MAX_PARAMS 65536u

/* ---- Go net/url: escaping --------------------------------------------- */

enum enc_mode {
    ENC_PATH,
    ENC_HOST,
    ENC_ZONE,
    ENC_USERPASS,
    ENC_QUERY,
    ENC_FRAGMENT,
};

static bool should_escape(uint8_t c, enum enc_mode mode)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return false;
    }
    if (mode == ENC_HOST || mode == ENC_ZONE) {
        switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '[':
        case ']':
        case '<':
        case '>':
        case '"':
            return false;
        default:
            break;
        }
    }
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
        return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
        switch (mode) {
        case ENC_PATH:
            return c == '?';
        case ENC_USERPASS:
            return c == '@' || c == '/' || c == '?' || c == ':';
        case ENC_QUERY:
            return true;
        case ENC_FRAGMENT:
            return false;
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (mode == ENC_FRAGMENT) {
        switch (c) {
        case '!':
        case '(':
        case ')':
        case '*':
            return false;
        default:
            break;
        }
    }
    return true;
}

/* Letters, digits and "-_.~": never escaped, in any mode. */
static inline bool unreserved(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Writes s escaped for mode at o, which has room for 3 * n bytes; returns
 * the length written. The same bytes as go_escape. */
static size_t escape_to(char *o, const uint8_t *s, size_t n, enum enc_mode mode)
{
    static const char hex[] = "0123456789ABCDEF";
    char *w = o;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (unreserved(c)) {
            *w++ = (char)c;
        } else if (c == ' ' && mode == ENC_QUERY) {
            *w++ = '+';
        } else if (should_escape(c, mode)) {
            w[0] = '%';
            w[1] = hex[c >> 4];
            w[2] = hex[c & 15];
            w += 3;
        } else {
            *w++ = (char)c;
        }
    }
    return (size_t)(w - o);
}

/* Appends s escaped for mode; the runs that need no escaping are copied
 * whole. */
static int go_escape(struct pb_bytes *out, const uint8_t *s, size_t n, enum enc_mode mode,
                     size_t max)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        char e[3];
        size_t el;
        if (unreserved(c)) {
            continue;
        }
        if (c == ' ' && mode == ENC_QUERY) {
            e[0] = '+';
            el = 1;
        } else if (should_escape(c, mode)) {
            e[0] = '%';
            e[1] = hex[c >> 4];
            e[2] = hex[c & 15];
            el = 3;
        } else {
            continue;
        }
        int rc = pb_bytes_append(out, s + run, i - run, max);
        if (rc < 0 || (rc = pb_bytes_append(out, e, el, max)) < 0) {
            return rc;
        }
        run = i + 1;
    }
    return n > run ? pb_bytes_append(out, s + run, n - run, max) : 0;
}

int http_query_escape(struct pb_bytes *out, const uint8_t *s, size_t n, size_t max)
{
    return go_escape(out, s, n, ENC_QUERY, max);
}

static int unhex(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Go's unescape(s, mode): false on a bad escape (or a host byte that may
 * not appear); the decoded bytes are appended to out when out != NULL. */
static bool go_unescape(const uint8_t *s, size_t n, enum enc_mode mode, struct pb_bytes *out)
{
    for (size_t i = 0; i < n;) {
        if (s[i] == '%') {
            if (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0) {
                return false;
            }
            bool pct25 = s[i + 1] == '2' && s[i + 2] == '5';
            if (mode == ENC_HOST && unhex(s[i + 1]) < 8 && !pct25) {
                return false;
            }
            if (mode == ENC_ZONE) {
                uint8_t v = (uint8_t)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
                if (!pct25 && v != ' ' && should_escape(v, ENC_HOST)) {
                    return false;
                }
            }
            i += 3;
        } else {
            if ((mode == ENC_HOST || mode == ENC_ZONE) && s[i] < 0x80 && s[i] != '+' &&
                should_escape(s[i], mode)) {
                return false;
            }
            i++;
        }
    }
    if (out == NULL || n == 0) {
        return true;
    }
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t w = 1;
        if (c == '%') {
            c = (uint8_t)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            w = 3;
        } else if (c == '+' && mode == ENC_QUERY) {
            c = ' ';
        } else {
            i++;
            continue;
        }
        if (pb_bytes_append(out, s + run, i - run, SIZE_MAX) < 0 ||
            pb_bytes_append(out, &c, 1, SIZE_MAX) < 0) {
            return false;
        }
        i += w;
        run = i;
    }
    return n == run || pb_bytes_append(out, s + run, n - run, SIZE_MAX) == 0;
}

/* ---- Go net/url: Parse ------------------------------------------------ */

static bool valid_optional_port(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (p[0] != ':') {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

static const uint8_t *mem_last(const uint8_t *s, size_t n, uint8_t c)
{
    for (size_t i = n; i-- > 0;) {
        if (s[i] == c) {
            return s + i;
        }
    }
    return NULL;
}

static bool parse_host(const uint8_t *h, size_t n)
{
    if (n > 0 && h[0] == '[') {
        const uint8_t *rb = mem_last(h, n, ']');
        if (rb == NULL) {
            return false;
        }
        size_t i = (size_t)(rb - h);
        if (!valid_optional_port(rb + 1, n - i - 1)) {
            return false;
        }
        const uint8_t *zone = pb_mem_find(h, i, "%25", 3);
        if (zone != NULL) {
            size_t z = (size_t)(zone - h);
            return go_unescape(h, z, ENC_HOST, NULL) && go_unescape(zone, i - z, ENC_ZONE, NULL) &&
                   go_unescape(rb, n - i, ENC_HOST, NULL);
        }
    } else {
        const uint8_t *colon = mem_last(h, n, ':');
        if (colon != NULL && !valid_optional_port(colon, n - (size_t)(colon - h))) {
            return false;
        }
    }
    return go_unescape(h, n, ENC_HOST, NULL);
}

static bool parse_authority(const uint8_t *a, size_t n)
{
    const uint8_t *at = mem_last(a, n, '@');
    if (at == NULL) {
        return parse_host(a, n);
    }
    size_t ui = (size_t)(at - a);
    if (!parse_host(at + 1, n - ui - 1)) {
        return false;
    }
    for (size_t i = 0; i < ui; i++) {
        uint8_t c = a[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c != 0 && strchr("-._:~!$&'()*+,;=%@", c) != NULL)) {
            continue;
        }
        return false;
    }
    const uint8_t *colon = memchr(a, ':', ui);
    if (colon == NULL) {
        return go_unescape(a, ui, ENC_USERPASS, NULL);
    }
    size_t c = (size_t)(colon - a);
    return go_unescape(a, c, ENC_USERPASS, NULL) &&
           go_unescape(colon + 1, ui - c - 1, ENC_USERPASS, NULL);
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* url.Parse(s): false on error; the decoded path goes to `path`, the raw
 * query to *rq (borrowed from s). */
static bool url_parse(const uint8_t *s, size_t n, struct pb_bytes *path, const uint8_t **rq,
                      size_t *rqlen)
{
    *rq = NULL;
    *rqlen = 0;
    if (s == NULL) {
        s = (const uint8_t *)"";
        n = 0;
    }
    const uint8_t *hash = memchr(s, '#', n);
    size_t un = hash != NULL ? (size_t)(hash - s) : n;
    if (hash != NULL && n - un - 1 > 0 && !go_unescape(hash + 1, n - un - 1, ENC_FRAGMENT, NULL)) {
        return false;
    }
    for (size_t i = 0; i < un; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return false;
        }
    }
    if (un == 1 && s[0] == '*') {
        return pb_bytes_append(path, "*", 1, SIZE_MAX) == 0;
    }
    const uint8_t *rest = s;
    size_t rn = un;
    bool scheme = false;
    for (size_t i = 0; i < un; i++) {
        uint8_t c = s[i];
        if (is_alpha(c)) {
            continue;
        }
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
            if (i == 0) {
                break;
            }
            continue;
        }
        if (c == ':') {
            if (i == 0) {
                return false; /* missing protocol scheme */
            }
            scheme = true;
            rest = s + i + 1;
            rn = un - i - 1;
        }
        break;
    }
    size_t nq = 0;
    for (size_t i = 0; i < rn; i++) {
        nq += rest[i] == '?';
    }
    if (rn > 0 && rest[rn - 1] == '?' && nq == 1) {
        rn--;
    } else {
        const uint8_t *q = memchr(rest, '?', rn);
        if (q != NULL) {
            *rq = q + 1;
            *rqlen = rn - (size_t)(q - rest) - 1;
            rn = (size_t)(q - rest);
        }
    }
    if (rn == 0 || rest[0] != '/') {
        if (scheme) {
            return true; /* opaque: no path */
        }
        const uint8_t *slash = memchr(rest, '/', rn);
        size_t seg = slash != NULL ? (size_t)(slash - rest) : rn;
        if (memchr(rest, ':', seg) != NULL) {
            return false; /* first path segment in URL cannot contain colon */
        }
    }
    bool triple = rn >= 3 && memcmp(rest, "///", 3) == 0;
    if ((scheme || !triple) && rn >= 2 && rest[0] == '/' && rest[1] == '/') {
        const uint8_t *auth = rest + 2;
        size_t an = rn - 2;
        const uint8_t *slash = memchr(auth, '/', an);
        size_t alen = slash != NULL ? (size_t)(slash - auth) : an;
        if (!parse_authority(auth, alen)) {
            return false;
        }
        rest = auth + alen;
        rn = an - alen;
    }
    return go_unescape(rest, rn, ENC_PATH, path);
}

/* ---- Go net/url: query values ----------------------------------------- */

struct qpair {
    size_t koff, klen, voff, vlen; /* into the list's arena */
    size_t seq;
};

struct qlist {
    struct pb_bytes arena;
    struct qpair *a;
    size_t n, cap;
};

static void qlist_free(struct qlist *l)
{
    pb_bytes_free(&l->arena);
    pb_free(l->a);
    memset(l, 0, sizeof *l);
}

/* Room for n more bytes in b at once: appends within it do not reallocate
 * (pb_bytes_append grows to the exact size first, then doubles). */
static int bytes_reserve(struct pb_bytes *b, size_t n)
{
    if (b->cap - b->len >= n) {
        return 0;
    }
    if (n > SIZE_MAX - b->len) {
        return -PB_ENOMEM;
    }
    uint8_t *p = pb_realloc(b->p, b->len + n);
    if (p == NULL) {
        return -PB_ENOMEM;
    }
    b->p = p;
    b->cap = b->len + n;
    return 0;
}

/* b's bytes as an owned C string (b is emptied); NULL on failure. */
static char *bytes_take(struct pb_bytes *b, size_t *len)
{
    if (bytes_reserve(b, 1) < 0) {
        return NULL;
    }
    b->p[b->len] = '\0';
    char *s = (char *)b->p;
    *len = b->len;
    memset(b, 0, sizeof *b);
    return s;
}

/* A pair whose key and value were decoded into the arena at [koff, voff)
 * and [voff, arena.len). */
static bool qlist_add(struct qlist *l, size_t koff, size_t voff)
{
    if (l->n >= HTTP_MAX_PARAMS) {
        l->arena.len = koff;
        return true;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        struct qpair *a = pb_realloc(l->a, cap * sizeof *a);
        if (a == NULL) {
            l->arena.len = koff;
            return false;
        }
        l->a = a;
        l->cap = cap;
    }
    struct qpair *p = &l->a[l->n];
    p->koff = koff;
    p->klen = voff - koff;
    p->voff = voff;
    p->vlen = l->arena.len - voff;
    p->seq = l->n;
    l->n++;
    return true;
}

/* url.ParseQuery: returns false when Go would report an error (the valid
 * pairs are kept either way). */
static bool parse_query(const uint8_t *q, size_t n, struct qlist *out)
{
    bool ok = true;
    /* the decoded keys and values are no longer than the query */
    if (n > 0 && bytes_reserve(&out->arena, n) < 0) {
        return ok;
    }
    for (size_t start = 0; start < n;) {
        const uint8_t *amp = memchr(q + start, '&', n - start);
        size_t end = amp != NULL ? (size_t)(amp - q) : n;
        const uint8_t *part = q + start;
        size_t plen = end - start;
        start = amp != NULL ? end + 1 : n;
        if (memchr(part, ';', plen) != NULL) {
            ok = false; /* invalid semicolon separator in query */
            continue;
        }
        if (plen == 0) {
            continue;
        }
        const uint8_t *eq = memchr(part, '=', plen);
        size_t kl = eq != NULL ? (size_t)(eq - part) : plen;
        size_t koff = out->arena.len;
        if (!go_unescape(part, kl, ENC_QUERY, &out->arena)) {
            out->arena.len = koff;
            ok = false;
            continue;
        }
        size_t voff = out->arena.len;
        if (eq != NULL && !go_unescape(eq + 1, plen - kl - 1, ENC_QUERY, &out->arena)) {
            out->arena.len = koff;
            ok = false;
            continue;
        }
        if (!qlist_add(out, koff, voff)) {
            break;
        }
    }
    return ok;
}

static bool is_secret(const struct http_plugin *pl, const uint8_t *k, size_t kn)
{
    for (size_t i = 0; i < pl->nhide_keywords; i++) {
        const char *kw = pl->hide_keywords[i];
        size_t kwl = strlen(kw);
        if (kwl != kn) {
            continue;
        }
        size_t j = 0;
        for (; j < kn; j++) {
            uint8_t c = k[j];
            if (c >= 'A' && c <= 'Z') {
                c = (uint8_t)(c - 'A' + 'a');
            }
            if (c != (uint8_t)kw[j]) {
                break;
            }
        }
        if (j == kn) {
            return true;
        }
    }
    return false;
}

static const uint8_t *arena(const struct qlist *l)
{
    return l->arena.p != NULL ? l->arena.p : (const uint8_t *)"";
}

static const uint8_t *qkey(const struct qlist *l, const struct qpair *p)
{
    return arena(l) + p->koff;
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m > 0 ? memcmp(a, b, m) : 0;
    if (c != 0) {
        return c;
    }
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* qsort context: the merged arena. */
struct sort_item {
    const uint8_t *k;
    size_t kl;
    const uint8_t *v;
    size_t vl;
    size_t seq;
    bool secret;
};

static int item_cmp(const void *x, const void *y)
{
    const struct sort_item *a = x, *b = y;
    int c = key_cmp(a->k, a->kl, b->k, b->kl);
    if (c != 0) {
        return c;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static int body_key_cmp(const void *x, const void *y)
{
    const struct sort_item *a = x, *b = y;
    return key_cmp(a->k, a->kl, b->k, b->kl);
}

void http_extract_params(const struct http_plugin *pl, const struct http_msg *m, char **path,
                         size_t *plen, char **params, size_t *qlen)
{
    struct pb_bytes pb = {0}, out = {0};
    struct qlist u = {0}, b = {0};
    struct sort_item *items = NULL, *bkeys = NULL;
    const uint8_t *rq = NULL;
    size_t rqlen = 0;
    *path = NULL;
    *params = NULL;
    *plen = 0;
    *qlen = 0;

    /* the decoded path is no longer than the target (whose length came
       from a message in memory: far below SIZE_MAX) */
    if (m->uri.len >= SIZE_MAX / 2 || bytes_reserve(&pb, m->uri.len + 1) < 0) {
        goto done;
    }
    if (!url_parse(m->uri.p, m->uri.len, &pb, &rq, &rqlen)) {
        pb_debug("http", "Fail to parse HTTP parameters: bad request URI");
        goto done;
    }
    *path = bytes_take(&pb, plen);
    parse_query(rq, rqlen, &u);
    if (m->content_length > 0 && m->save_body &&
        pb_mem_contains(m->content_type.p, m->content_type.len, "urlencoded", 10)) {
        if (!parse_query(m->body.p, m->body.len, &b)) {
            pb_debug("http", "Fail to parse HTTP parameters: bad form body");
            goto done;
        }
    }
    size_t total = u.n + b.n;
    if (total == 0) {
        goto done;
    }
    items = pb_calloc(total, sizeof *items);
    bkeys = b.n > 0 ? pb_calloc(b.n, sizeof *bkeys) : NULL;
    if (items == NULL || (b.n > 0 && bkeys == NULL)) {
        goto done;
    }
    for (size_t i = 0; i < b.n; i++) {
        bkeys[i].k = qkey(&b, &b.a[i]);
        bkeys[i].kl = b.a[i].klen;
    }
    if (b.n > 0) {
        qsort(bkeys, b.n, sizeof *bkeys, body_key_cmp);
    }
    size_t ni = 0;
    for (size_t i = 0; i < u.n; i++) {
        struct sort_item key = {.k = qkey(&u, &u.a[i]), .kl = u.a[i].klen};
        if (b.n > 0 && bsearch(&key, bkeys, b.n, sizeof *bkeys, body_key_cmp) != NULL) {
            continue; /* body parameters replace the URL's */
        }
        items[ni] = key;
        items[ni].v = arena(&u) + u.a[i].voff;
        items[ni].vl = u.a[i].vlen;
        items[ni].seq = ni;
        ni++;
    }
    for (size_t i = 0; i < b.n; i++) {
        items[ni].k = qkey(&b, &b.a[i]);
        items[ni].kl = b.a[i].klen;
        items[ni].v = arena(&b) + b.a[i].voff;
        items[ni].vl = b.a[i].vlen;
        items[ni].seq = ni;
        ni++;
    }
    qsort(items, ni, sizeof *items, item_cmp);
    size_t room = 0; /* escaped, at most three bytes each */
    for (size_t i = 0; i < ni; i++) {
        size_t need = items[i].kl + items[i].vl; /* bytes in memory: no overflow */
        if (need > SIZE_MAX / 8 || room > SIZE_MAX / 2) {
            goto done;
        }
        room += 3 * need + 8;
    }
    if (bytes_reserve(&out, room) < 0) {
        goto done;
    }
    for (size_t i = 0; i < ni; i++) {
        if (i > 0 && pb_bytes_append(&out, "&", 1, SIZE_MAX) < 0) {
            goto done;
        }
        bool secret = is_secret(pl, items[i].k, items[i].kl);
        if (http_query_escape(&out, items[i].k, items[i].kl, SIZE_MAX) < 0 ||
            pb_bytes_append(&out, "=", 1, SIZE_MAX) < 0) {
            goto done;
        }
        if (secret) {
            if (pb_bytes_append(&out, "xxxxx", 5, SIZE_MAX) < 0) {
                goto done;
            }
        } else if (http_query_escape(&out, items[i].v, items[i].vl, SIZE_MAX) < 0) {
            goto done;
        }
    }
    *params = bytes_take(&out, qlen);
done:
    pb_free(items);
    pb_free(bkeys);
    qlist_free(&u);
    qlist_free(&b);
    pb_bytes_free(&pb);
    pb_bytes_free(&out);
}

/* ---- body decoding ---------------------------------------------------- */

/* One content coding; 0 or -1 with Go's error text in err. The output
 * stops at max bytes ("body truncated due to size limitation"). */
static int inflate_body(const uint8_t *in, size_t n, bool gzip, size_t max, struct pb_bytes *out,
                        char *err, size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    size_t off = 0;
    if (gzip) {
        if (n < 10) {
            snprintf(err, errlen, "unexpected EOF");
            return -1;
        }
        if (in[0] != 0x1f || in[1] != 0x8b || in[2] != 8) {
            snprintf(err, errlen, "gzip: invalid header");
            return -1;
        }
    }
    if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint8_t buf[16384];
    int rc = 0;
    for (;;) {
        zs.next_in = (Bytef *)(uintptr_t)(in + off);
        zs.avail_in = (uInt)((n - off) > UINT32_MAX ? UINT32_MAX : (n - off));
        size_t before_in = zs.avail_in;
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        int z = inflate(&zs, Z_NO_FLUSH);
        off += before_in - zs.avail_in;
        size_t got = sizeof buf - zs.avail_out;
        if (got > 0) {
            size_t room = max - out->len;
            if (got > room) {
                pb_bytes_append(out, buf, room, max);
                snprintf(err, errlen, "body truncated due to size limitation");
                rc = -1;
                break;
            }
            if (pb_bytes_append(out, buf, got, max) < 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
        }
        if (z == Z_STREAM_END) {
            if (!gzip || off >= n) {
                break;
            }
            /* gzip: another member follows */
            if (n - off < 10) {
                snprintf(err, errlen, "unexpected EOF");
                rc = -1;
                break;
            }
            if (in[off] != 0x1f || in[off + 1] != 0x8b || in[off + 2] != 8) {
                snprintf(err, errlen, "gzip: invalid header");
                rc = -1;
                break;
            }
            inflateReset(&zs);
            continue;
        }
        if (z == Z_DATA_ERROR) {
            const char *msg = zs.msg != NULL ? zs.msg : "";
            if (strstr(msg, "check") != NULL) {
                snprintf(err, errlen, "gzip: invalid checksum");
            } else if (strstr(msg, "header") != NULL) {
                snprintf(err, errlen, "gzip: invalid header");
            } else {
                snprintf(err, errlen, "flate: corrupt input before offset %zu", off);
            }
            rc = -1;
            break;
        }
        if (z == Z_MEM_ERROR) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        if (z == Z_BUF_ERROR || (z == Z_OK && got == 0 && off >= n)) {
            snprintf(err, errlen, "unexpected EOF");
            rc = -1;
            break;
        }
        if (z != Z_OK) {
            snprintf(err, errlen, "flate: corrupt input before offset %zu", off);
            rc = -1;
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

static int decode_one(const char *fmt, const uint8_t *in, size_t n, size_t max,
                      struct pb_bytes *out, char *err, size_t errlen)
{
    if (strcmp(fmt, "gzip") == 0 || strcmp(fmt, "x-gzip") == 0) {
        return inflate_body(in, n, true, max, out, err, errlen);
    }
    if (strcmp(fmt, "deflate") == 0 || strcmp(fmt, "x-deflate") == 0) {
        return inflate_body(in, n, false, max, out, err, errlen);
    }
    if (strcmp(fmt, "identity") == 0) {
        size_t k = n > max ? max : n;
        if (pb_bytes_append(out, in, k, max) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (n > max) {
            snprintf(err, errlen, "body truncated due to size limitation");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "decoder not found");
    return -1;
}

void http_decode_body(const struct http_plugin *pl, struct http_msg *m)
{
    if (!m->save_body || m->body.len == 0 || !pl->decode_body || m->nencodings == 0) {
        return;
    }
    for (size_t idx = m->nencodings; idx-- > 0;) {
        struct pb_bytes out = {0};
        char err[160];
        const char *fmt = m->encodings[idx];
        if (decode_one(fmt, m->body.p, m->body.len, pl->max_message_size, &out, err, sizeof err) <
            0) {
            char note[256];
            snprintf(note, sizeof note, "unable to decode body using %s encoding: %s", fmt, err);
            http_msg_add_note(m, note);
            pb_bytes_free(&m->body);
            if (idx == 0) {
                m->body = out; /* the last decoder's partial output is kept */
            } else {
                pb_bytes_free(&out);
            }
            return;
        }
        pb_bytes_free(&m->body);
        m->body = out;
    }
}

/* ---- message finishing: user name and redaction ----------------------- */

static char *basic_auth_user(const struct http_msg *m)
{
    const struct http_hdr *h = http_msg_header(m, "authorization");
    if (h == NULL || h->val.len < 6 || !pb_mem_ieq(h->val.p, 6, "Basic ")) {
        return NULL;
    }
    const uint8_t *b64 = h->val.p + 6;
    size_t n = h->val.len - 6;
    size_t cap = n / 4 * 3 + 3;
    uint8_t *dec = pb_malloc(cap);
    if (dec == NULL) {
        return NULL;
    }
    size_t dl = 0;
    if (!pb_base64_decode(b64, n, true, dec, cap, &dl) &&
        !pb_base64_decode(b64, n, false, dec, cap, &dl)) {
        pb_free(dec);
        return NULL;
    }
    const uint8_t *colon = memchr(dec, ':', dl);
    char *user = NULL;
    if (colon != NULL && colon > dec) {
        user = pb_strndup((const char *)dec, (size_t)(colon - dec));
    }
    pb_free(dec);
    return user;
}

static void set_header_value(struct http_hdr *h, const char *v)
{
    pb_bytes_reset(&h->val);
    pb_bytes_append(&h->val, v, strlen(v), SIZE_MAX);
}

void http_msg_finish(const struct http_plugin *pl, struct http_msg *m)
{
    if (!pl->redact_authorization) {
        pb_free(m->username);
        m->username = basic_auth_user(m);
    }
    for (size_t i = 0; i < pl->nredact_headers; i++) {
        struct http_hdr *h = http_msg_header(m, pl->redact_headers[i]);
        if (h != NULL) {
            set_header_value(h, "REDACTED");
        }
    }
    if (!m->is_request || !pl->redact_authorization) {
        return;
    }
    /* "[aA]uthorization:" lines (Proxy-Authorization too) in the raw
     * headers: the value up to CRLF becomes '*'s. */
    static const char auth[] = "uthorization:";
    const size_t alen = sizeof auth - 1;
    uint8_t *msg = m->raw.p;
    size_t limit = m->raw.len;
    size_t start = m->header_offset, end = limit;
    while (start < limit) {
        const uint8_t *hit = pb_mem_find(msg + start, limit - start, auth, alen);
        if (hit != NULL) {
            start = (size_t)(hit - msg);
            const uint8_t *crlf = pb_mem_find(msg + start, limit - start, "\r\n", 2);
            if (crlf != NULL) {
                end = (size_t)(crlf - msg);
                for (size_t i = start + alen; i < end; i++) {
                    msg[i] = '*';
                }
            }
        }
        start = end + 2;
        end = limit;
    }
    static const char *const names[] = {"authorization", "proxy-authorization"};
    for (size_t i = 0; i < 2; i++) {
        struct http_hdr *h = http_msg_header(m, names[i]);
        if (h != NULL && h->val.len > 0) {
            set_header_value(h, "*");
        }
    }
}

/* ---- the event -------------------------------------------------------- */

/* A key for the node setters from the wire bytes k (kl bytes, a NUL at
 * k[kl] and none before): k itself when it is valid UTF-8, else a copy
 * (*heap, pb_malloc'd, the caller frees it) with each invalid byte made
 * U+FFFD, as pb_json_strn does. NULL on allocation failure. */
static const char *node_key(const uint8_t *k, size_t kl, char **heap)
{
    *heap = NULL;
    size_t i = 0;
    while (i < kl) {
        if (k[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = pb_utf8_decode(k + i, kl - i, NULL);
        if (l == 0) {
            break;
        }
        i += l;
    }
    if (i == kl) {
        return (const char *)k;
    }
    if (kl > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *out = pb_malloc(kl * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, k, i);
    size_t o = i;
    while (i < kl) {
        size_t l = pb_utf8_decode(k + i, kl - i, NULL);
        if (l == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, k + i, l);
            o += l;
            i += l;
        }
    }
    out[o] = '\0';
    *heap = out;
    return out;
}

/* Sets obj[key] (klen bytes, made valid UTF-8) = val (stolen); false when
 * it could not. */
static bool obj_setn(json_t *obj, const void *key, size_t klen, json_t *val)
{
    if (val == NULL) {
        return false;
    }
    json_t *k = pb_json_strn(key, klen);
    if (k == NULL) {
        json_decref(val);
        return false;
    }
    int rc = json_object_setn_new_nocheck(obj, json_string_value(k), json_string_length(k), val);
    json_decref(k);
    return rc == 0;
}

/* Where header fields go: an object in the event's arena, or a jansson
 * object when a key holds a NUL byte (arena keys are C strings). */
struct hsink {
    pb_node *n;
    json_t *j;
};

/* key (kl bytes, NUL-terminated) = the string of the wire bytes v. */
static void sink_strn(struct hsink *s, const uint8_t *k, size_t kl, const void *v, size_t vl)
{
    if (s->j != NULL) {
        obj_setn(s->j, k, kl, pb_json_strn(v != NULL ? v : "", v != NULL ? vl : 0));
        return;
    }
    char *heap;
    const char *key = node_key(k, kl, &heap);
    if (key != NULL) {
        pb_node_set_strn(s->n, key, v, v != NULL ? vl : 0);
        pb_free(heap);
    }
}

/* A new empty object at key (kl bytes, NUL-terminated), replacing the
 * value there in its place. */
static struct hsink sink_obj(struct hsink *s, const uint8_t *k, size_t kl)
{
    struct hsink c = {0};
    if (s->j != NULL) {
        json_t *o = json_object();
        if (obj_setn(s->j, k, kl, o)) {
            c.j = o; /* borrowed: s->j holds it */
        }
        return c;
    }
    char *heap;
    const char *key = node_key(k, kl, &heap);
    if (key != NULL) {
        pb_node_set_null(s->n, key);
        c.n = pb_node_obj(s->n, key);
        pb_free(heap);
    }
    return c;
}

static bool is_space_byte(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* strings.TrimSpace (ASCII white space plus U+0085 and U+00A0). */
static void trim_space(const uint8_t **p, size_t *n)
{
    const uint8_t *s = *p;
    size_t len = *n;
    for (;;) {
        if (len > 0 && is_space_byte(s[0])) {
            s++;
            len--;
        } else if (len > 1 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) {
            s += 2;
            len -= 2;
        } else {
            break;
        }
    }
    for (;;) {
        if (len > 0 && is_space_byte(s[len - 1])) {
            len--;
        } else if (len > 1 && s[len - 2] == 0xc2 && (s[len - 1] == 0x85 || s[len - 1] == 0xa0)) {
            len -= 2;
        } else {
            break;
        }
    }
    *p = s;
    *n = len;
}

/* Packetbeat's splitCookiesHeader: "a=1; b=\"2\"" -> {"a":"1","b":"2"},
 * into obj. */
static void split_cookies(struct hsink *obj, const struct pb_bytes *v)
{
    const uint8_t *s = v->p;
    size_t n = v->len;
    for (size_t start = 0; start <= n && n > 0;) {
        const uint8_t *semi = memchr(s + start, ';', n - start);
        size_t end = semi != NULL ? (size_t)(semi - s) : n;
        const uint8_t *part = s + start;
        size_t plen = end - start;
        start = end + 1;
        const uint8_t *eq = memchr(part, '=', plen);
        if (eq != NULL) {
            const uint8_t *k = part, *val = eq + 1;
            size_t kl = (size_t)(eq - part), vl = plen - kl - 1;
            trim_space(&k, &kl);
            trim_space(&val, &vl);
            if (vl > 1 && val[0] == '"' && val[vl - 1] == '"') {
                val++;
                vl -= 2;
            }
            uint8_t kb[256];
            uint8_t *lk = kl < sizeof kb ? kb : pb_malloc(kl + 1);
            if (lk != NULL) {
                pb_ascii_lower(lk, k, kl);
                lk[kl] = '\0';
                sink_strn(obj, lk, kl, val, vl);
                if (lk != kb) {
                    pb_free(lk);
                }
            }
        }
        if (semi == NULL) {
            break;
        }
    }
}

static void collect_headers(const struct http_plugin *pl, const struct http_msg *m, struct hsink *h)
{
    if (h->j != NULL) {
        json_object_set_new_nocheck(h->j, "content-length",
                                    json_integer((json_int_t)m->content_length));
    } else {
        pb_node_add_int(h->n, PB_KEY("content-length"), m->content_length);
    }
    if (m->content_type.len > 0) {
        if (h->j != NULL) {
            sink_strn(h, (const uint8_t *)"content-type", 12, m->content_type.p,
                      m->content_type.len);
        } else {
            pb_node_add_strn(h->n, PB_KEY("content-type"), m->content_type.p, m->content_type.len);
        }
    }
    if (!pl->pcfg.send_headers) {
        return;
    }
    const char *cookie = m->is_request ? "cookie" : "set-cookie";
    for (size_t i = 0; i < m->nhdrs; i++) {
        const struct http_hdr *hd = &m->hdrs[i];
        const uint8_t *name = (const uint8_t *)hd->name;
        if (pb_mem_eq(name, hd->nlen, "content-length") ||
            pb_mem_eq(name, hd->nlen, "content-type")) {
            continue;
        }
        if (pl->split_cookie && pb_mem_eq(name, hd->nlen, cookie)) {
            struct hsink c = sink_obj(h, name, hd->nlen);
            if (c.n != NULL || c.j != NULL) {
                split_cookies(&c, &hd->val);
            }
        } else {
            sink_strn(h, name, hd->nlen, hd->val.p, hd->val.len);
        }
    }
}

/* True when a header field name or a split cookie holds a NUL byte. */
static bool headers_hold_nul(const struct http_plugin *pl, const struct http_msg *m)
{
    if (!pl->pcfg.send_headers) {
        return false;
    }
    const char *cookie = m->is_request ? "cookie" : "set-cookie";
    for (size_t i = 0; i < m->nhdrs; i++) {
        const struct http_hdr *hd = &m->hdrs[i];
        if (memchr(hd->name, 0, hd->nlen) != NULL) {
            return true;
        }
        if (pl->split_cookie && hd->val.len > 0 && pb_mem_eq(hd->name, hd->nlen, cookie) &&
            memchr(hd->val.p, 0, hd->val.len) != NULL) {
            return true;
        }
    }
    return false;
}

/* parent.headers: content-length, content-type and the send_headers. */
static void put_headers(const struct http_plugin *pl, pb_node *parent, const struct http_msg *m)
{
    struct hsink h = {0};
    if (!headers_hold_nul(pl, m)) {
        h.n = pb_node_add_obj(parent, PB_KEY("headers"));
        if (h.n != NULL) {
            collect_headers(pl, m, &h);
        }
        return;
    }
    h.j = json_object();
    if (h.j != NULL) {
        collect_headers(pl, m, &h);
        pb_node_set(parent, "headers", h.j);
    }
}

/* The raw message for `request`/`response` at root[key]: headers, plus the
 * body when it is one of include_*body_for. */
static void put_raw_message(pb_node *root, const char *key, size_t klen, const struct http_msg *m)
{
    if (m->send_body && m->body.len > 0) {
        struct pb_bytes b = {0};
        if (pb_bytes_append(&b, m->raw.p, m->raw.len, SIZE_MAX) == 0 &&
            pb_bytes_append(&b, m->body.p, m->body.len, SIZE_MAX) == 0) {
            pb_node_add_strn(root, key, klen, b.p, b.len);
            pb_bytes_free(&b);
            return;
        }
        pb_bytes_free(&b);
    }
    pb_node_add_strn(root, key, klen, m->raw.p, m->raw.p != NULL ? m->raw.len : 0);
}

/* Packetbeat's extractHostHeader: host and optional port (0 when none);
 * "[v6]" loses its brackets. Returns an owned string; *is_ip tells whether
 * it is an IP address. */
static char *host_header(const struct pb_bytes *hb, int *port, bool *is_ip)
{
    *port = 0;
    *is_ip = false;
    char *h = pb_strndup((const char *)(hb->p != NULL ? hb->p : (const uint8_t *)""), hb->len);
    if (h == NULL) {
        return NULL;
    }
    size_t n = strlen(h);
    struct pb_ip ip;
    if (n == 0) {
        return h;
    }
    if (pb_ip_parse(h, &ip)) {
        *is_ip = true;
        return h;
    }
    bool cut = false; /* h is no longer the string found not to be an IP */
    char *colon = strrchr(h, ':');
    if (colon != NULL) {
        /* strconv.Atoi: optional sign, decimal digits, nothing else */
        const char *p = colon + 1;
        bool neg = false;
        if (*p == '+' || *p == '-') {
            neg = *p == '-';
            p++;
        }
        long v = 0;
        bool ok = *p != '\0';
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9' || v > 100000) {
                ok = false;
                break;
            }
            v = v * 10 + (*p - '0');
        }
        if (neg) {
            v = -v;
        }
        if (ok && v > 0 && v < 65536) {
            *colon = '\0';
            *port = (int)v;
            n = (size_t)(colon - h);
            cut = true;
        }
    }
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        if (pb_ip_parse(h + 1, &ip)) {
            memmove(h, h + 1, n - 1);
            *is_ip = true;
            return h;
        }
        h[n - 1] = ']';
    }
    *is_ip = cut && pb_ip_parse(h, &ip);
    return h;
}

/* v in decimal at buf (11 bytes at least), NUL-terminated; its length. */
static size_t fmt_uint(char *buf, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    buf[n] = '\0';
    return n;
}

/* url.* (event.go newURL + synthesizeFullURL), into a new object. */
static void put_url(pb_node *url, const char *host, int port, const char *path, size_t plen,
                    const char *query, size_t qlen)
{
    pb_node_add_static(url, PB_KEY("scheme"), "http");
    size_t hl = strlen(host);
    if (hl > 0) {
        pb_node_add_strn(url, PB_KEY("domain"), host, hl);
    }
    if (plen > 0) {
        pb_node_add_strn(url, PB_KEY("path"), path, plen);
        const char *dot = NULL;
        for (size_t i = plen; i-- > 0;) {
            if (path[i] == '.') {
                dot = path + i;
                break;
            }
        }
        if (dot != NULL && (size_t)(dot - path) + 1 < plen) {
            pb_node_add_strn(url, PB_KEY("extension"), dot + 1, plen - (size_t)(dot - path) - 1);
        }
    }
    if (qlen > 0) {
        pb_node_add_strn(url, PB_KEY("query"), query, qlen);
    }
    if (port != 80) {
        pb_node_add_int(url, PB_KEY("port"), port);
    }
    if (hl == 0 || port <= 0 || hl > SIZE_MAX / 8 || plen > SIZE_MAX / 8 || qlen > SIZE_MAX / 8) {
        return;
    }
    /* "http://" [ "[" ] host [ "]" ] [ ":" port ] [ "/" ] path [ "?" query ]: host
     * and path escaped (brackets, colon and digits never are in a host) */
    size_t cap = 32 + 3 * hl + 3 * plen + qlen;
    char stack[1024];
    char *buf = cap <= sizeof stack ? stack : pb_malloc(cap);
    if (buf == NULL) {
        return;
    }
    bool v6 = memchr(host, ':', hl) != NULL;
    char *w = buf;
    memcpy(w, "http://", 7);
    w += 7;
    if (v6) {
        *w++ = '[';
    }
    w += escape_to(w, (const uint8_t *)host, hl, ENC_HOST);
    if (v6) {
        *w++ = ']';
    }
    if (port != 80) {
        *w++ = ':';
        w += fmt_uint(w, (uint32_t)port); /* 0 < port < 65536 */
    }
    if (plen > 0) {
        if (plen == 1 && path[0] == '*') {
            memcpy(w, "/*", 2);
            w += 2;
        } else {
            if (path[0] != '/') {
                *w++ = '/';
            }
            w += escape_to(w, (const uint8_t *)path, plen, ENC_PATH);
        }
    }
    if (qlen > 0) {
        *w++ = '?';
        memcpy(w, query, qlen);
        w += qlen;
    }
    pb_node_add_strn(url, PB_KEY("full"), buf, (size_t)(w - buf));
    if (buf != stack) {
        pb_free(buf);
    }
}

/* parent.body.content and parent.body.bytes (parent has no body yet). */
static void put_body(pb_node *parent, const struct http_msg *m)
{
    int64_t body_bytes = m->content_length;
    bool content = m->send_body && m->body.len > 0;
    if (content) {
        body_bytes = (int64_t)m->body.len;
    }
    if (!content && body_bytes == 0) {
        return;
    }
    pb_node *body = pb_node_add_obj(parent, PB_KEY("body"));
    if (content) {
        pb_node_add_strn(body, PB_KEY("content"), m->body.p, m->body.len);
    }
    if (body_bytes != 0) {
        pb_node_add_int(body, PB_KEY("bytes"), body_bytes);
    }
}

/* A non-empty string field from wire bytes, at a new literal key. */
#define ADD_BYTES(n, key, b)                                                                       \
    do {                                                                                           \
        if ((b)->len > 0) {                                                                        \
            pb_node_add_strn((n), PB_KEY(key), (b)->p, (b)->len);                                  \
        }                                                                                          \
    } while (0)

/* The request's fields; returns the event's new "http" object. */
static pb_node *request_fields(const struct http_plugin *pl, pb_event *ev, struct http_msg *req,
                               uint16_t dport)
{
    http_decode_body(pl, req);
    char *path = NULL, *params = NULL;
    size_t plen = 0, qlen = 0;
    http_extract_params(pl, req, &path, &plen, &params, &qlen);

    /* pb_tx_event's event: none of the keys added below is there yet */
    pb_node *root = pb_ev_obj(ev, "");
    int port = 0;
    bool host_ip = false;
    char *host = host_header(&req->host, &port, &host_ip);
    if (host == NULL) {
        host = pb_strdup("");
    }
    if (host != NULL) {
        if (!host_ip) {
            if (host[0] != '\0') {
                pb_tx_add_domain(ev, host);
            }
            pb_ev_add_related_host(ev, host, strlen(host));
        } else {
            pb_ev_add_related_ip(ev, host);
        }
    }
    if (port == 0) {
        port = dport;
    } else if (port != dport) {
        http_msg_add_note(req, "Host header port number mismatch");
    }
    if (req->real_ip.len > 0) {
        pb_node_add_strn(pb_node_obj(root, "network"), PB_KEY("forwarded_ip"), req->real_ip.p,
                         req->real_ip.len);
        char *rip = pb_strndup((const char *)req->real_ip.p, req->real_ip.len);
        if (rip != NULL) {
            pb_ev_add_related_ip(ev, rip);
            pb_free(rip);
        }
    }

    char ver[16]; /* "%u.%u" of two bytes */
    size_t vl = fmt_uint(ver, req->ver_major);
    ver[vl] = '.';
    fmt_uint(ver + vl + 1, req->ver_minor);
    pb_node *http = pb_node_add_obj(root, PB_KEY("http"));
    pb_node_add_plain(http, PB_KEY("version"), ver);
    pb_node *hreq = pb_node_add_obj(http, PB_KEY("request"));
    if (req->size > 0) {
        pb_node_add_uint(hreq, PB_KEY("bytes"), req->size);
    }
    put_body(hreq, req);
    ADD_BYTES(hreq, "method", &req->method);
    ADD_BYTES(hreq, "referrer", &req->referer);
    pb_ev_add_related_host(ev, req->referer.p, req->referer.len);
    put_headers(pl, hreq, req);

    put_url(pb_node_add_obj(root, PB_KEY("url")), host != NULL ? host : "", port,
            path != NULL ? path : "", plen, params != NULL ? params : "", qlen);
    if (req->user_agent.len > 0) {
        ADD_BYTES(pb_node_add_obj(root, PB_KEY("user_agent")), "original", &req->user_agent);
    }

    if (pl->send_request) {
        put_raw_message(root, PB_KEY("request"), req);
    }
    size_t ml = req->method.p != NULL ? req->method.len : 0;
    pb_node_add_strn(root, PB_KEY("method"), req->method.p, ml);
    /* query: "<method> <path>" */
    char qstack[512];
    char *q = ml + 1 + plen <= sizeof qstack ? qstack : pb_malloc(ml + 1 + plen);
    if (q != NULL) {
        if (ml > 0) {
            memcpy(q, req->method.p, ml);
        }
        q[ml] = ' ';
        if (plen > 0) {
            memcpy(q + ml + 1, path, plen);
        }
        pb_node_add_strn(root, PB_KEY("query"), q, ml + 1 + plen);
        if (q != qstack) {
            pb_free(q);
        }
    }

    if (req->username != NULL && req->username[0] != '\0') {
        /* Packetbeat sets the literal key "user.name" */
        pb_node_set_str(root, "user.name", req->username); /* a dotted key, as Packetbeat */
        pb_ev_add_unique(ev, "related.user", req->username, strlen(req->username));
    }
    pb_free(host);
    pb_free(path);
    pb_free(params);
    return http;
}

/* The response's fields; http: the event's "http" object when the request
 * made it, else NULL. */
static void response_fields(const struct http_plugin *pl, pb_event *ev, struct http_msg *resp,
                            pb_node *http)
{
    http_decode_body(pl, resp);
    pb_node *root = pb_ev_obj(ev, "");
    if (http == NULL) {
        http = pb_node_obj(root, "http"); /* get or create */
    }
    pb_node *hresp = pb_node_add_obj(http, PB_KEY("response"));
    if (resp->status_code != 0) {
        pb_node_add_int(hresp, PB_KEY("status_code"), resp->status_code);
    }
    size_t pl_len = resp->phrase.len;
    if (pl_len > 0) {
        uint8_t stack[128];
        uint8_t *low = pl_len <= sizeof stack ? stack : pb_malloc(pl_len);
        if (low != NULL) {
            pb_ascii_lower(low, resp->phrase.p, pl_len);
            pb_node_add_strn(hresp, PB_KEY("status_phrase"), low, pl_len);
            if (low != stack) {
                pb_free(low);
            }
        }
    }
    if (resp->size > 0) {
        pb_node_add_uint(hresp, PB_KEY("bytes"), resp->size);
    }
    put_body(hresp, resp);
    put_headers(pl, hresp, resp);
    if (pl->send_response) {
        put_raw_message(root, PB_KEY("response"), resp);
    }
}

/* error.message: the notes of the request, then the response's; a string
 * when there is one, a list when more. */
static void put_notes(pb_event *ev, const struct http_msg *req, const struct http_msg *resp)
{
    const struct http_msg *ms[2] = {req, resp};
    size_t ne = 0;
    const char *one = NULL;
    for (int i = 0; i < 2; i++) {
        if (ms[i] != NULL && ms[i]->nnotes > 0) {
            ne += ms[i]->nnotes;
            one = ms[i]->notes[0];
        }
    }
    if (ne == 1) {
        pb_ev_put_str(ev, "error.message", one);
        return;
    }
    if (ne == 0) {
        return;
    }
    pb_node *list = pb_ev_arr(ev, "error.message");
    for (int i = 0; i < 2; i++) {
        for (size_t k = 0; ms[i] != NULL && k < ms[i]->nnotes; k++) {
            pb_node_set_str(list, NULL, ms[i]->notes[k]);
        }
    }
}

pb_event *http_event_build(const struct http_plugin *pl, const struct pb_conn *c,
                           struct http_msg *req, struct http_msg *resp)
{
    const char *status = "OK";
    if (resp == NULL) {
        status = "Error";
        if (req != NULL) {
            http_msg_add_note(req, "Unmatched request");
        }
    } else if (resp->status_code >= 400) {
        status = "Error";
    }
    if (req == NULL) {
        status = "Error";
        if (resp != NULL) {
            http_msg_add_note(resp, "Unmatched response");
        }
    }
    const struct http_msg *first = req != NULL ? req : resp;
    if (first == NULL) {
        return NULL;
    }
    /* Endpoints as the first message travelled: its sender is the source. */
    struct pb_tuple tuple = first->dir == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
    struct pb_tx tx = {
        .type = "http",
        .tuple = &tuple,
        .start_ns = first->ts_ns,
        .end_ns = resp != NULL ? resp->ts_ns : 0,
        .status = status,
        .src_bytes = req != NULL && req->size > 0 ? (int64_t)req->size : -1,
        .dst_bytes = resp != NULL && resp->size > 0 ? (int64_t)resp->size : -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    if (req == NULL) {
        /* No request: no event.start, so no event.duration either. */
        pb_ev_del(ev, "event.start");
        pb_ev_del(ev, "event.duration");
    }
    pb_node *http = NULL;
    if (req != NULL) {
        http = request_fields(pl, ev, req, tuple.dport);
    }
    if (resp != NULL) {
        response_fields(pl, ev, resp, http);
    }
    put_notes(ev, req, resp);
    return ev;
}
