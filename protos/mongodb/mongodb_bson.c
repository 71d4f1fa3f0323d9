/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_bson.c - BSON to the JSON text Packetbeat shows
 * (see mongodb_bson.h). Pure: no I/O, no globals.
 *
 *   document := int32 total_len, element*, 0x00
 *   element  := kind:u8, name:cstring, value
 */
#include "mongodb_bson.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/utf8.h"

#define FRAG_MAX (64u * 1024u * 1024u) /* JSON text cap for one document */
#define MAX_ENTRIES (1u << 22)

struct dec {
    const uint8_t *in;
    size_t len;
    size_t i; /* may run past len before a check fails */
    unsigned depth;
    char *err;
    size_t errlen;
};

static bool corrupted(struct dec *d)
{
    snprintf(d->err, d->errlen, "Document is corrupted");
    return false;
}

static bool rd_bytes(struct dec *d, int64_t n, const uint8_t **out)
{
    if (n < 0 || d->i > d->len || (uint64_t)n > d->len - d->i) {
        return corrupted(d);
    }
    *out = d->in + d->i;
    d->i += (size_t)n;
    return true;
}

static bool rd_i32(struct dec *d, int32_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(d, 4, &b)) {
        return false;
    }
    *v = (int32_t)((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                   ((uint32_t)b[3] << 24));
    return true;
}

static bool rd_i64(struct dec *d, int64_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(d, 8, &b)) {
        return false;
    }
    uint64_t x = 0;
    for (int k = 7; k >= 0; k--) {
        x = (x << 8) | b[k];
    }
    *v = (int64_t)x;
    return true;
}

static bool rd_u8(struct dec *d, uint8_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(d, 1, &b)) {
        return false;
    }
    *v = b[0];
    return true;
}

static bool rd_cstr(struct dec *d, const uint8_t **s, size_t *n)
{
    if (d->i >= d->len) {
        return corrupted(d);
    }
    const uint8_t *nul = memchr(d->in + d->i, 0, d->len - d->i);
    if (nul == NULL) {
        return corrupted(d);
    }
    *s = d->in + d->i;
    *n = (size_t)(nul - *s);
    d->i += *n + 1;
    return true;
}

static bool rd_str(struct dec *d, const uint8_t **s, size_t *n)
{
    int32_t l;
    if (!rd_i32(d, &l)) {
        return false;
    }
    uint8_t z;
    if (!rd_bytes(d, (int64_t)l - 1, s) || !rd_u8(d, &z)) {
        return false;
    }
    if (z != 0) {
        return corrupted(d);
    }
    *n = (size_t)l - 1;
    return true;
}

/* ---- JSON output (Go encoding/json rules) ---- */

static bool put(struct pb_bytes *o, const void *p, size_t n)
{
    return pb_bytes_append(o, p, n, FRAG_MAX) == 0;
}

static bool puts_(struct pb_bytes *o, const char *s)
{
    return put(o, s, strlen(s));
}

static bool json_str(struct pb_bytes *o, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!put(o, "\"", 1)) {
        return false;
    }
    size_t start = 0, i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            const char *esc = NULL;
            char ubuf[7];
            if (c == '"') {
                esc = "\\\"";
            } else if (c == '\\') {
                esc = "\\\\";
            } else if (c == '\n') {
                esc = "\\n";
            } else if (c == '\r') {
                esc = "\\r";
            } else if (c == '\t') {
                esc = "\\t";
            } else if (c == '\b') {
                esc = "\\b";
            } else if (c == '\f') {
                esc = "\\f";
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                ubuf[0] = '\\';
                ubuf[1] = 'u';
                ubuf[2] = '0';
                ubuf[3] = '0';
                ubuf[4] = hex[c >> 4];
                ubuf[5] = hex[c & 0xf];
                ubuf[6] = '\0';
                esc = ubuf;
            }
            if (esc != NULL) {
                if (!put(o, s + start, i - start) || !puts_(o, esc)) {
                    return false;
                }
                start = i + 1;
            }
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t l = pb_utf8_decode(s + i, n - i, &cp);
        if (l == 0) {
            if (!put(o, s + start, i - start) || !puts_(o, "\\ufffd")) {
                return false;
            }
            i++;
            start = i;
            continue;
        }
        if (cp == 0x2028 || cp == 0x2029) {
            if (!put(o, s + start, i - start) || !puts_(o, cp == 0x2028 ? "\\u2028" : "\\u2029")) {
                return false;
            }
            i += l;
            start = i;
            continue;
        }
        i += l;
    }
    return put(o, s + start, n - start) && put(o, "\"", 1);
}

static bool json_b64(struct pb_bytes *o, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!put(o, "\"", 1)) {
        return false;
    }
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        if (!put(o, q, 4)) {
            return false;
        }
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = '=';
        q[3] = '=';
        if (!put(o, q, 4)) {
            return false;
        }
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = '=';
        if (!put(o, q, 4)) {
            return false;
        }
    }
    return put(o, "\"", 1);
}

static bool json_hex(struct pb_bytes *o, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char q[2];
    if (!put(o, "\"", 1)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        q[0] = hex[p[i] >> 4];
        q[1] = hex[p[i] & 15];
        if (!put(o, q, 2)) {
            return false;
        }
    }
    return put(o, "\"", 1);
}

static bool json_int(struct pb_bytes *o, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    return put(o, buf, (size_t)n);
}

bool bson_go_float(double f, char *buf, size_t cap)
{
    if (isnan(f) || isinf(f) || cap < 32) {
        return false;
    }
    if (f == 0) {
        snprintf(buf, cap, "%s", signbit(f) ? "-0" : "0");
        return true;
    }
    /* shortest digits that read back as f */
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f) {
            break;
        }
    }
    /* e is [-]d[.ddd]e[+-]XX */
    bool neg = e[0] == '-';
    const char *p = e + (neg ? 1 : 0);
    char digits[20];
    int nd = 0;
    for (; *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && nd < 19) {
            digits[nd++] = *p;
        }
    }
    digits[nd] = '\0';
    int exp = (int)strtol(p + 1, NULL, 10); /* "e+XX" */
    double a = fabs(f);
    size_t o = 0;
    if (neg) {
        buf[o++] = '-';
    }
    if (a < 1e-6 || a >= 1e21) {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            memcpy(buf + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        int ae = exp < 0 ? -exp : exp;
        /* Go writes at least two exponent digits; json trims "e-0X" */
        if (exp < 0 && ae < 10) {
            o += (size_t)snprintf(buf + o, cap - o, "e-%d", ae);
        } else {
            o += (size_t)snprintf(buf + o, cap - o, "e%c%02d", exp < 0 ? '-' : '+', ae);
        }
        return true;
    }
    if (exp >= nd - 1) {
        memcpy(buf + o, digits, (size_t)nd);
        o += (size_t)nd;
        for (int k = 0; k < exp - (nd - 1); k++) {
            buf[o++] = '0';
        }
    } else if (exp >= 0) {
        memcpy(buf + o, digits, (size_t)exp + 1);
        o += (size_t)exp + 1;
        buf[o++] = '.';
        memcpy(buf + o, digits + exp + 1, (size_t)(nd - exp - 1));
        o += (size_t)(nd - exp - 1);
    } else {
        buf[o++] = '0';
        buf[o++] = '.';
        for (int k = 0; k < -exp - 1; k++) {
            buf[o++] = '0';
        }
        memcpy(buf + o, digits, (size_t)nd);
        o += (size_t)nd;
    }
    buf[o] = '\0';
    return true;
}

/* days since 1970-01-01 -> civil date (Howard Hinnant's algorithm) */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* Go's time.Time MarshalJSON (RFC 3339, nanoseconds trimmed, UTC). */
static bool json_time(struct pb_bytes *o, int64_t ms)
{
    /* years 0..9999 only */
    const int64_t min_ms = -62167219200000ll, max_ms = 253402300800000ll;
    if (ms < min_ms || ms >= max_ms) {
        return false;
    }
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - secs * 1000; /* 0..999 */
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned mo, da;
    civil(days, &y, &mo, &da);
    char buf[48];
    int n = snprintf(buf, sizeof buf, "\"%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, mo, da,
                     (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    if (frac != 0) {
        char f[8];
        snprintf(f, sizeof f, "%03u", (unsigned)frac);
        size_t fl = strlen(f);
        while (fl > 0 && f[fl - 1] == '0') {
            f[--fl] = '\0';
        }
        n += snprintf(buf + n, sizeof buf - (size_t)n, ".%s", f);
    }
    n += snprintf(buf + n, sizeof buf - (size_t)n, "Z\"");
    return put(o, buf, (size_t)n);
}

/* ---- decoding ---- */

static int decode_level(struct dec *d, struct bson_doc *doc);
static bool render(const struct bson_doc *doc, const char *skip, struct pb_bytes *out, bool *ok);

/* Decodes a nested document at d->i and appends its JSON. */
static int value_doc(struct dec *d, struct pb_bytes *o, bool *ok)
{
    struct bson_doc sub = {0};
    int rc = decode_level(d, &sub);
    if (rc == 0) {
        bool jok = true;
        if (!render(&sub, NULL, o, &jok)) {
            rc = -PB_ENOMEM;
        }
        *ok = *ok && jok;
    }
    bson_doc_free(&sub);
    return rc;
}

static int value_array(struct dec *d, struct pb_bytes *o, bool *ok);

/* Decodes one value of `kind` at d->i, appending its JSON to o; *ok turns
 * false when json.Marshal would fail. */
static int value(struct dec *d, uint8_t kind, struct pb_bytes *o, bool *ok, double *dbl,
                 const uint8_t **str, size_t *slen)
{
    const uint8_t *s = NULL;
    size_t n = 0;
    int32_t i32;
    int64_t i64;
    uint8_t b;
    bool wr = true;
    switch (kind) {
    case 0x01: {
        if (!rd_i64(d, &i64)) {
            return -PB_EPROTO;
        }
        double f;
        memcpy(&f, &i64, sizeof f);
        if (dbl != NULL) {
            *dbl = f;
        }
        char buf[40];
        if (!bson_go_float(f, buf, sizeof buf)) {
            *ok = false;
            break;
        }
        wr = puts_(o, buf);
        break;
    }
    case 0x02:
    case 0x0E:
        if (!rd_str(d, &s, &n)) {
            return -PB_EPROTO;
        }
        if (str != NULL) {
            *str = s;
            *slen = n;
        }
        wr = json_str(o, s, n);
        break;
    case 0x03:
        return value_doc(d, o, ok);
    case 0x04:
        return value_array(d, o, ok);
    case 0x05: {
        uint8_t sub;
        if (!rd_i32(d, &i32) || !rd_u8(d, &sub) || !rd_bytes(d, i32, &s)) {
            return -PB_EPROTO;
        }
        n = (size_t)i32;
        if (sub == 0x02 && n >= 4) {
            s += 4;
            n -= 4;
        }
        if (sub == 0x00 || sub == 0x02) {
            wr = json_b64(o, s, n);
        } else {
            char k[32];
            snprintf(k, sizeof k, "{\"Kind\":%u,\"Data\":", sub);
            wr = puts_(o, k) && json_b64(o, s, n) && puts_(o, "}");
        }
        break;
    }
    case 0x06:
        wr = puts_(o, "{}");
        break;
    case 0x07:
        if (!rd_bytes(d, 12, &s)) {
            return -PB_EPROTO;
        }
        wr = json_hex(o, s, 12);
        break;
    case 0x08:
        if (!rd_u8(d, &b)) {
            return -PB_EPROTO;
        }
        if (b > 1) {
            snprintf(d->err, d->errlen, "encoded boolean must be 1 or 0, found %u", b);
            return -PB_EPROTO;
        }
        wr = puts_(o, b ? "true" : "false");
        break;
    case 0x09:
        if (!rd_i64(d, &i64)) {
            return -PB_EPROTO;
        }
        if (!json_time(o, i64)) {
            *ok = false;
        }
        break;
    case 0x0A:
        wr = puts_(o, "null");
        break;
    case 0x0B: {
        const uint8_t *opt;
        size_t on;
        if (!rd_cstr(d, &s, &n) || !rd_cstr(d, &opt, &on)) {
            return -PB_EPROTO;
        }
        wr = puts_(o, "{\"Pattern\":") && json_str(o, s, n) && puts_(o, ",\"Options\":") &&
             json_str(o, opt, on) && puts_(o, "}");
        break;
    }
    case 0x0C: {
        const uint8_t *id;
        if (!rd_str(d, &s, &n) || !rd_bytes(d, 12, &id)) {
            return -PB_EPROTO;
        }
        wr = puts_(o, "{\"Namespace\":") && json_str(o, s, n) && puts_(o, ",\"Id\":") &&
             json_hex(o, id, 12) && puts_(o, "}");
        break;
    }
    case 0x0D:
        if (!rd_str(d, &s, &n)) {
            return -PB_EPROTO;
        }
        wr = puts_(o, "{\"Code\":") && json_str(o, s, n) && puts_(o, ",\"Scope\":null}");
        break;
    case 0x0F: {
        d->i += 4; /* the total length is skipped unchecked */
        if (!rd_str(d, &s, &n)) {
            return -PB_EPROTO;
        }
        if (!(puts_(o, "{\"Code\":") && json_str(o, s, n) && puts_(o, ",\"Scope\":"))) {
            return -PB_ENOMEM;
        }
        int rc = value_doc(d, o, ok);
        if (rc < 0) {
            return rc;
        }
        wr = puts_(o, "}");
        break;
    }
    case 0x10:
        if (!rd_i32(d, &i32)) {
            return -PB_EPROTO;
        }
        wr = json_int(o, i32);
        break;
    case 0x11:
    case 0x12:
        if (!rd_i64(d, &i64)) {
            return -PB_EPROTO;
        }
        wr = json_int(o, i64);
        break;
    case 0x7F:
        wr = json_int(o, INT64_MAX);
        break;
    case 0xFF:
        wr = json_int(o, INT64_MIN);
        break;
    default:
        snprintf(d->err, d->errlen, "Unknown element kind (0x%02X)", kind);
        return -PB_EPROTO;
    }
    return wr ? 0 : -PB_ENOMEM;
}

/* Opens a document or array: checks its length and final NUL. */
static bool open_level(struct dec *d, size_t *end)
{
    int32_t l;
    if (!rd_i32(d, &l)) {
        return false;
    }
    int64_t e = (int64_t)l + (int64_t)d->i - 4;
    if (e <= (int64_t)d->i || e > (int64_t)d->len || d->in[e - 1] != 0) {
        return corrupted(d);
    }
    *end = (size_t)e;
    return true;
}

static int value_array(struct dec *d, struct pb_bytes *o, bool *ok)
{
    if (++d->depth > BSON_MAX_DEPTH) {
        snprintf(d->err, d->errlen, "Document is too deep");
        return -PB_ELIMIT;
    }
    size_t end;
    if (!open_level(d, &end)) {
        return -PB_EPROTO;
    }
    if (!puts_(o, "[")) {
        return -PB_ENOMEM;
    }
    bool first = true;
    while (d->in[d->i] != 0) {
        uint8_t kind = d->in[d->i++];
        while (d->i < end && d->in[d->i] != 0) {
            d->i++;
        }
        if (d->i >= end) {
            corrupted(d);
            return -PB_EPROTO;
        }
        d->i++;
        if (!first && !puts_(o, ",")) {
            return -PB_ENOMEM;
        }
        first = false;
        int rc = value(d, kind, o, ok, NULL, NULL, NULL);
        if (rc < 0) {
            return rc;
        }
        if (d->i >= end) {
            corrupted(d);
            return -PB_EPROTO;
        }
    }
    d->i++;
    if (d->i != end) {
        corrupted(d);
        return -PB_EPROTO;
    }
    d->depth--;
    return puts_(o, "]") ? 0 : -PB_ENOMEM;
}

static int decode_level(struct dec *d, struct bson_doc *doc)
{
    if (++d->depth > BSON_MAX_DEPTH) {
        snprintf(d->err, d->errlen, "Document is too deep");
        return -PB_ELIMIT;
    }
    size_t end;
    if (!open_level(d, &end)) {
        return -PB_EPROTO;
    }
    while (d->in[d->i] != 0) {
        uint8_t kind = d->in[d->i++];
        const uint8_t *name;
        size_t nlen;
        if (!rd_cstr(d, &name, &nlen)) {
            return -PB_EPROTO;
        }
        if (d->i >= end) {
            corrupted(d);
            return -PB_EPROTO;
        }
        if (doc->n == doc->cap) {
            size_t cap = doc->cap == 0 ? 8 : doc->cap * 2;
            if (cap > MAX_ENTRIES) {
                return -PB_ELIMIT;
            }
            struct bson_entry *e = pb_realloc(doc->e, cap * sizeof *e);
            if (e == NULL) {
                return -PB_ENOMEM;
            }
            doc->e = e;
            doc->cap = cap;
        }
        struct bson_entry *e = &doc->e[doc->n];
        memset(e, 0, sizeof *e);
        e->key = name;
        e->klen = nlen;
        e->kind = kind;
        e->json_ok = true;
        e->frag_off = doc->frags.len;
        int rc = value(d, kind, &doc->frags, &e->json_ok, &e->dbl, &e->str, &e->str_len);
        if (rc < 0) {
            return rc;
        }
        e->frag_len = doc->frags.len - e->frag_off;
        doc->n++;
        if (d->i >= end) {
            corrupted(d);
            return -PB_EPROTO;
        }
    }
    d->i++;
    if (d->i != end) {
        corrupted(d);
        return -PB_EPROTO;
    }
    d->depth--;
    return 0;
}

static int cmp_entry(const void *x, const void *y)
{
    const struct bson_entry *a = *(const struct bson_entry *const *)x;
    const struct bson_entry *b = *(const struct bson_entry *const *)y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n > 0 ? memcmp(a->key, b->key, n) : 0;
    if (c != 0) {
        return c;
    }
    if (a->klen != b->klen) {
        return a->klen < b->klen ? -1 : 1;
    }
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* Sorted entry pointers with duplicates resolved (last wins). */
static struct bson_entry **sorted(const struct bson_doc *doc)
{
    struct bson_entry **v = pb_calloc(doc->n + 1, sizeof *v);
    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < doc->n; i++) {
        v[i] = &doc->e[i];
    }
    qsort(v, doc->n, sizeof *v, cmp_entry);
    for (size_t i = 0; i + 1 < doc->n; i++) {
        if (v[i]->klen == v[i + 1]->klen && memcmp(v[i]->key, v[i + 1]->key, v[i]->klen) == 0) {
            v[i]->dead = true;
        }
    }
    return v;
}

static bool render(const struct bson_doc *doc, const char *skip, struct pb_bytes *out, bool *ok)
{
    struct bson_entry **v = sorted(doc);
    if (v == NULL) {
        return false;
    }
    size_t mark = out->len;
    bool first = true;
    bool good = put(out, "{", 1);
    for (size_t i = 0; good && i < doc->n; i++) {
        const struct bson_entry *e = v[i];
        if (e->dead || (skip != NULL && pb_mem_eq(e->key, e->klen, skip))) {
            continue;
        }
        if (!e->json_ok) {
            *ok = false;
        }
        /* an empty fragment may come with no fragment buffer at all */
        good = (first || put(out, ",", 1)) && json_str(out, e->key, e->klen) && put(out, ":", 1) &&
               (e->frag_len == 0 || put(out, doc->frags.p + e->frag_off, e->frag_len));
        first = false;
    }
    good = good && put(out, "}", 1);
    pb_free(v);
    if (!good) {
        out->len = mark;
    }
    return good;
}

int bson_decode(const uint8_t *p, size_t len, struct bson_doc *doc, char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    struct dec d = {.in = p, .len = len, .i = 0, .err = err, .errlen = errlen};
    if (errlen > 0) {
        err[0] = '\0';
    }
    int rc = decode_level(&d, doc);
    if (rc < 0) {
        if (errlen > 0 && err[0] == '\0') {
            snprintf(err, errlen, "%s",
                     rc == -PB_ENOMEM ? "out of memory" : "Document is corrupted");
        }
        bson_doc_free(doc);
        return rc;
    }
    /* resolve duplicates for lookups */
    struct bson_entry **v = sorted(doc);
    pb_free(v);
    if (v == NULL && doc->n > 0) {
        bson_doc_free(doc);
        return -PB_ENOMEM;
    }
    return 0;
}

void bson_doc_free(struct bson_doc *doc)
{
    pb_free(doc->e);
    pb_bytes_free(&doc->frags);
    memset(doc, 0, sizeof *doc);
}

const struct bson_entry *bson_get(const struct bson_doc *doc, const char *key)
{
    for (size_t i = 0; i < doc->n; i++) {
        if (!doc->e[i].dead && pb_mem_eq(doc->e[i].key, doc->e[i].klen, key)) {
            return &doc->e[i];
        }
    }
    return NULL;
}

void bson_del(struct bson_doc *doc, const char *key)
{
    for (size_t i = 0; i < doc->n; i++) {
        if (pb_mem_eq(doc->e[i].key, doc->e[i].klen, key)) {
            doc->e[i].dead = true;
        }
    }
}

size_t bson_len(const struct bson_doc *doc)
{
    size_t n = 0;
    for (size_t i = 0; i < doc->n; i++) {
        n += !doc->e[i].dead;
    }
    return n;
}

bool bson_doc_json(const struct bson_doc *doc, const char *skip, struct pb_bytes *out)
{
    bool ok = true;
    size_t mark = out->len;
    if (!render(doc, skip, out, &ok)) {
        return false;
    }
    if (!ok) {
        out->len = mark;
    }
    return ok;
}

bool bson_entry_json(const struct bson_doc *doc, const struct bson_entry *e, struct pb_bytes *out)
{
    if (!e->json_ok) {
        return false;
    }
    return e->frag_len == 0 || put(out, doc->frags.p + e->frag_off, e->frag_len);
}
