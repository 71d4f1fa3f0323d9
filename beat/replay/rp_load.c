/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_load.c - turns Packetbeat transaction events back into
 * requests: HTTP from the raw `request` (send_request) or from method, url
 * and http.request.{headers,body}; Redis from `request`/`query` (the
 * command line as Packetbeat prints it); MySQL and PostgreSQL from `query`.
 * The recorded response comes from http.response.*, status, redis.*,
 * mysql.*, pgsql.*.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/replay/rp_int.h"

static const char *str_at(const json_t *ev, const char *path, size_t *len)
{
    json_t *v = pb_json_get(ev, path);
    if (!json_is_string(v)) {
        return NULL;
    }
    if (len != NULL) {
        *len = json_string_length(v);
    }
    return json_string_value(v);
}

static int64_t int_at(const json_t *ev, const char *path)
{
    json_t *v = pb_json_get(ev, path);
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (int64_t)json_real_value(v);
    }
    return -1;
}

uint64_t rp_parse_time(const char *s)
{
    /* 2006-01-02T15:04:05[.fraction]Z */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (s == NULL || strlen(s) < 20) {
        return 0;
    }
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        return 0;
    }
    uint64_t ns = 0, scale = 100000000ull;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            ns += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
    }
    time_t t = timegm(&tm);
    if (t < 0) {
        return 0;
    }
    return (uint64_t)t * 1000000000ull + ns;
}

void rp_result_free(struct rp_result *res)
{
    pb_free(res->code);
    pb_free(res->body);
    pb_free(res->fail);
    memset(res, 0, sizeof *res);
}

void rp_req_free(struct rp_req *r)
{
    pb_free(r->label);
    pb_free(r->verb);
    pb_free(r->target);
    for (size_t i = 0; i < r->nheaders; i++) {
        pb_free(r->headers[i]);
    }
    pb_free(r->headers);
    pb_free(r->body);
    for (size_t i = 0; i < r->argc; i++) {
        pb_free(r->argv[i]);
    }
    pb_free(r->argv);
    pb_free(r->argl);
    pb_free(r->query);
    rp_result_free(&r->rec);
    rp_result_free(&r->got);
    memset(r, 0, sizeof *r);
}

static int add_header(struct rp_req *r, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (r->nheaders >= RP_MAX_ARGS) {
        return 0;
    }
    char **h = pb_realloc(r->headers, (r->nheaders + 1) * sizeof *h);
    if (h == NULL) {
        return -1;
    }
    r->headers = h;
    char *line = pb_malloc(nlen + vlen + 3);
    if (line == NULL) {
        return -1;
    }
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, val, vlen);
    line[nlen + 2 + vlen] = '\0';
    r->headers[r->nheaders++] = line;
    return 0;
}

static bool hdr_is(const char *name, size_t nlen, const char *want)
{
    return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

/* Decodes a chunked body in place; returns the new length. */
static size_t dechunk(char *b, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        char *end = NULL;
        unsigned long sz = strtoul(b + r, &end, 16);
        if (end == b + r) {
            break;
        }
        char *eol = memchr(b + r, '\n', n - r);
        if (eol == NULL) {
            break;
        }
        r = (size_t)(eol - b) + 1;
        if (sz == 0 || sz > n - r) {
            break;
        }
        memmove(b + w, b + r, sz);
        w += sz;
        r += sz;
        while (r < n && (b[r] == '\r' || b[r] == '\n')) {
            r++;
        }
    }
    return w;
}

/* "METHOD target HTTP/1.1\r\nName: value\r\n...\r\n\r\nbody" */
static int http_from_raw(struct rp_req *r, const char *raw, size_t n, bool *complete)
{
    const char *end = raw + n;
    const char *eol = memchr(raw, '\n', n);
    if (eol == NULL) {
        return 0;
    }
    const char *sp1 = memchr(raw, ' ', (size_t)(eol - raw));
    if (sp1 == NULL) {
        return 0;
    }
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (sp2 == NULL) {
        sp2 = eol;
    }
    r->verb = pb_strndup(raw, (size_t)(sp1 - raw));
    r->target = pb_strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    if (r->verb == NULL || r->target == NULL) {
        return -1;
    }
    size_t tl = strlen(r->target);
    while (tl > 0 && (r->target[tl - 1] == '\r' || r->target[tl - 1] == ' ')) {
        r->target[--tl] = '\0';
    }
    const char *p = eol + 1;
    int64_t clen = -1;
    bool chunked = false;
    while (p < end) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        const char *lend = le != NULL ? le : end;
        size_t ll = (size_t)(lend - p);
        if (ll > 0 && p[ll - 1] == '\r') {
            ll--;
        }
        if (ll == 0) {
            p = le != NULL ? le + 1 : end;
            break;
        }
        const char *colon = memchr(p, ':', ll);
        if (colon != NULL) {
            size_t nl = (size_t)(colon - p);
            const char *v = colon + 1;
            while (v < p + ll && (*v == ' ' || *v == '\t')) {
                v++;
            }
            size_t vl = (size_t)(p + ll - v);
            if (hdr_is(p, nl, "content-length")) {
                clen = strtoll(v, NULL, 10);
            } else if (hdr_is(p, nl, "transfer-encoding")) {
                chunked = vl >= 7 && strncasecmp(v, "chunked", 7) == 0;
            } else if (!hdr_is(p, nl, "connection") && !hdr_is(p, nl, "keep-alive") &&
                       !hdr_is(p, nl, "expect") && add_header(r, p, nl, v, vl) < 0) {
                return -1;
            }
        }
        p = le != NULL ? le + 1 : end;
    }
    size_t blen = p < end ? (size_t)(end - p) : 0;
    if (blen > 0) {
        r->body = pb_malloc(blen + 1);
        if (r->body == NULL) {
            return -1;
        }
        memcpy(r->body, p, blen);
        r->body_len = chunked ? dechunk(r->body, blen) : blen;
    }
    *complete = chunked ? true : (clen <= 0 || (size_t)clen == r->body_len);
    return 1;
}

static int http_from_fields(const json_t *ev, struct rp_req *r, bool *complete)
{
    const char *method = str_at(ev, "http.request.method", NULL);
    if (method == NULL) {
        method = str_at(ev, "method", NULL);
    }
    const char *path = str_at(ev, "url.path", NULL);
    const char *query = str_at(ev, "url.query", NULL);
    if (method == NULL || path == NULL) {
        return 0;
    }
    r->verb = pb_strdup(method);
    r->target = query != NULL ? rp_strfmt("%s?%s", path, query) : pb_strdup(path);
    if (r->verb == NULL || r->target == NULL) {
        return -1;
    }
    json_t *hdrs = pb_json_get(ev, "http.request.headers");
    const char *k;
    json_t *v;
    json_object_foreach(hdrs, k, v)
    {
        if (hdr_is(k, strlen(k), "content-length") || hdr_is(k, strlen(k), "transfer-encoding") ||
            hdr_is(k, strlen(k), "connection")) {
            continue;
        }
        if (json_is_string(v) &&
            add_header(r, k, strlen(k), json_string_value(v), json_string_length(v)) < 0) {
            return -1;
        }
    }
    size_t bl = 0;
    const char *body = str_at(ev, "http.request.body.content", &bl);
    int64_t want = int_at(ev, "http.request.body.bytes");
    if (body != NULL) {
        r->body = pb_strndup(body, bl);
        if (r->body == NULL) {
            return -1;
        }
        r->body_len = bl;
    }
    *complete = want <= 0 || (body != NULL && (int64_t)bl == want);
    return 1;
}

static int http_req(const json_t *ev, struct rp_req *r, const char **why)
{
    size_t n = 0;
    const char *raw = str_at(ev, "request", &n);
    bool complete = true;
    int rc = raw != NULL ? http_from_raw(r, raw, n, &complete) : 0;
    if (rc == 0) {
        rc = http_from_fields(ev, r, &complete);
    }
    if (rc <= 0) {
        *why = "incomplete";
        return rc;
    }
    if (!complete) {
        /* a body Packetbeat did not keep (include_body_for) cannot be sent */
        *why = "incomplete";
        return 0;
    }
    r->label = rp_strfmt("%s %.200s", r->verb, r->target);
    struct rp_result *rec = &r->rec;
    rec->status = (int)int_at(ev, "http.response.status_code");
    rec->have = rec->status > 0;
    rec->size = int_at(ev, "http.response.body.bytes");
    if (rec->size < 0 && rec->have) {
        rec->size = 0; /* Packetbeat leaves body.bytes out of empty bodies */
    }
    size_t bl = 0;
    const char *body = str_at(ev, "http.response.body.content", &bl);
    if (body != NULL) {
        rec->body = pb_strndup(body, bl);
        rec->body_len = bl;
    }
    return r->label != NULL ? 1 : -1;
}

/* Splits Packetbeat's "cmd arg arg" Redis request text on spaces. */
static int redis_req(const json_t *ev, struct rp_req *r, const char **why)
{
    size_t n = 0;
    const char *line = str_at(ev, "request", &n);
    if (line == NULL) {
        line = str_at(ev, "query", &n);
    }
    if (line == NULL || n == 0) {
        *why = "incomplete";
        return 0;
    }
    size_t i = 0;
    while (i < n && r->argc < RP_MAX_ARGS) {
        while (i < n && line[i] == ' ') {
            i++;
        }
        size_t j = i;
        while (j < n && line[j] != ' ') {
            j++;
        }
        if (j == i) {
            break;
        }
        char **av = pb_realloc(r->argv, (r->argc + 1) * sizeof *av);
        if (av == NULL) {
            return -1;
        }
        r->argv = av;
        size_t *al = pb_realloc(r->argl, (r->argc + 1) * sizeof *al);
        if (al == NULL) {
            return -1;
        }
        r->argl = al;
        r->argv[r->argc] = pb_strndup(line + i, j - i);
        if (r->argv[r->argc] == NULL) {
            return -1;
        }
        r->argl[r->argc++] = j - i;
        i = j;
    }
    if (r->argc == 0) {
        *why = "incomplete";
        return 0;
    }
    r->verb = pb_strdup(r->argv[0]);
    if (r->verb == NULL) {
        return -1;
    }
    for (char *c = r->verb; *c; c++) {
        *c = (char)toupper((unsigned char)*c);
    }
    r->label = rp_strfmt("%.200s", line);
    const char *status = str_at(ev, "status", NULL);
    struct rp_result *rec = &r->rec;
    rec->have = status != NULL;
    rec->error = status != NULL && strcmp(status, "OK") != 0;
    size_t bl = 0;
    const char *v = str_at(ev, rec->error ? "redis.error" : "redis.return_value", &bl);
    if (v != NULL) {
        rec->body = pb_strndup(v, bl);
        rec->body_len = bl;
    }
    rec->size = -1;
    rec->affected = -1;
    return r->label != NULL ? 1 : -1;
}

static int sql_req(const json_t *ev, enum rp_proto proto, struct rp_req *r, const char **why)
{
    size_t n = 0;
    const char *q = str_at(ev, "query", &n);
    if (q == NULL || n == 0) {
        *why = "incomplete";
        return 0;
    }
    r->query = pb_strndup(q, n);
    const char *m = str_at(ev, "method", NULL);
    r->verb = pb_strdup(m != NULL ? m : "");
    r->label = rp_strfmt("%.200s", q);
    if (r->query == NULL || r->verb == NULL || r->label == NULL) {
        return -1;
    }
    for (char *c = r->verb; *c; c++) {
        *c = (char)toupper((unsigned char)*c);
    }
    const char *ns = proto == RP_MYSQL ? "mysql" : "pgsql";
    char path[64];
    const char *status = str_at(ev, "status", NULL);
    struct rp_result *rec = &r->rec;
    rec->have = status != NULL;
    rec->error = status != NULL && strcmp(status, "OK") != 0;
    snprintf(path, sizeof path, "%s.num_rows", ns);
    rec->size = int_at(ev, path);
    snprintf(path, sizeof path, "%s.affected_rows", ns);
    rec->affected = int_at(ev, path);
    snprintf(path, sizeof path, "%s.error_code", ns);
    json_t *code = pb_json_get(ev, path);
    if (json_is_integer(code)) {
        rec->code = rp_strfmt("%lld", (long long)json_integer_value(code));
    } else if (json_is_string(code) && json_string_length(code) > 0) {
        rec->code = pb_strdup(json_string_value(code));
    }
    snprintf(path, sizeof path, "%s.error_message", ns);
    size_t bl = 0;
    const char *em = str_at(ev, path, &bl);
    if (em != NULL) {
        rec->body = pb_strndup(em, bl);
        rec->body_len = bl;
    }
    return 1;
}

/* Labels are one line: control characters and runs of spaces become one
 * space. */
static void one_line(char *s)
{
    size_t w = 0;
    bool sp = false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f) {
            sp = w > 0;
            continue;
        }
        if (sp) {
            s[w++] = ' ';
            sp = false;
        }
        s[w++] = (char)c;
    }
    s[w] = '\0';
}

int rp_req_from_event(const json_t *ev, enum rp_proto proto, struct rp_req *r, const char **why)
{
    static const char *const types[] = {"http", "redis", "mysql", "pgsql"};
    const char *type = str_at(ev, "type", NULL);
    *why = "protocol";
    if (type == NULL || strcmp(type, types[proto]) != 0) {
        return 0;
    }
    const char *start = str_at(ev, "event.start", NULL);
    if (start == NULL) {
        start = str_at(ev, "@timestamp", NULL);
    }
    r->ts_ns = rp_parse_time(start);
    r->rec.dur_ns = int_at(ev, "event.duration");
    r->rec.size = -1;
    r->rec.affected = -1;
    r->got.size = -1;
    r->got.affected = -1;
    r->got.dur_ns = -1;
    int rc;
    switch (proto) {
    case RP_HTTP:
        rc = http_req(ev, r, why);
        break;
    case RP_REDIS:
        rc = redis_req(ev, r, why);
        break;
    default:
        rc = sql_req(ev, proto, r, why);
        break;
    }
    if (rc <= 0) {
        rp_req_free(r);
    } else {
        one_line(r->label);
    }
    return rc;
}
