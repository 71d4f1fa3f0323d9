/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_parse.c - Thrift binary protocol values formatted as
 * Packetbeat's thrift plugin formats them; pure: no I/O, no globals.
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-binary-protocol.md
 *
 * Every reader works on data[0..len) and reports MORE when the value is
 * not complete yet, BAD when Packetbeat would reject it, and the bytes it
 * took. Output is appended to a capped buffer; on anything but OK the
 * caller's buffer is rolled back to where it was.
 */
#include "thrift_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/err.h"
#include "beat/rd.h"
#include "beat/utf8.h"
#include "protos/common/strutil.h"

static const char hexdig[] = "0123456789abcdef";

/* ---- output helpers (out == NULL: validate only) ---- */

static bool put(struct pb_bytes *out, const void *s, size_t n)
{
    if (out == NULL || n == 0) {
        return true;
    }
    return pb_bytes_append(out, s, n, THRIFT_MAX_VALUE_BYTES) == 0;
}

static bool puts_(struct pb_bytes *out, const char *s)
{
    return put(out, s, strlen(s));
}

/* ---- UTF-8 and Go's strconv.Quote ---- */

bool thrift_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t w = pb_utf8_decode(s + i, n - i, NULL);
        if (w == 0) {
            return false;
        }
        i += w;
    }
    return true;
}

int thrift_go_quote(struct pb_bytes *out, const uint8_t *s, size_t n)
{
    if (out == NULL) {
        return 0;
    }
    return pb_go_quote(out, s, n, THRIFT_MAX_VALUE_BYTES) == 0 ? 0 : -PB_ELIMIT;
}

/* ---- Go's strconv.FormatFloat(v, 'f', -1, 64) ---- */

void thrift_format_double(double v, char *buf, size_t cap)
{
    if (cap == 0) {
        return;
    }
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, "%s", signbit(v) ? "-0" : "0");
        return;
    }
    /* The shortest correctly rounded digits that read back as v. */
    char e[48];
    for (int p = 0; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v) {
            break;
        }
    }
    /* e is [-]d[.ddd]e(+|-)xx */
    const char *s = e;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    char digits[32];
    size_t nd = 0;
    while (*s != '\0' && *s != 'e' && nd < sizeof digits - 1) {
        if (*s != '.') {
            digits[nd++] = *s;
        }
        s++;
    }
    long exp = 0;
    if (*s == 'e') {
        exp = strtol(s + 1, NULL, 10);
    }
    /* Trailing zeros are not significant ("%.0e" of 100 is "1e+02"). */
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    /* Lay the digits out without an exponent: value = 0.d1d2... * 10^(exp+1). */
    size_t o = 0;
#define OUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < cap) {                                                                         \
            buf[o++] = (ch);                                                                       \
        }                                                                                          \
    } while (0)
    if (neg) {
        OUT('-');
    }
    long point = exp + 1; /* digits before the decimal point */
    if (point <= 0) {
        OUT('0');
        OUT('.');
        for (long i = 0; i < -point; i++) {
            OUT('0');
        }
        for (size_t i = 0; i < nd; i++) {
            OUT(digits[i]);
        }
    } else {
        for (long i = 0; i < point; i++) {
            OUT((size_t)i < nd ? digits[i] : '0');
        }
        if ((size_t)point < nd) {
            OUT('.');
            for (size_t i = (size_t)point; i < nd; i++) {
                OUT(digits[i]);
            }
        }
    }
#undef OUT
    buf[o] = '\0';
}

/* ---- value readers ---- */

static enum thrift_rc read_value(const struct thrift_fmt *f, uint8_t type, const uint8_t *data,
                                 size_t len, struct pb_bytes *out, size_t *used, int depth);

static bool known_type(uint8_t t)
{
    switch (t) {
    case THRIFT_T_BOOL:
    case THRIFT_T_BYTE:
    case THRIFT_T_DOUBLE:
    case THRIFT_T_I16:
    case THRIFT_T_I32:
    case THRIFT_T_I64:
    case THRIFT_T_STRING:
    case THRIFT_T_LIST:
    case THRIFT_T_SET:
    case THRIFT_T_MAP:
    case THRIFT_T_STRUCT:
        return true;
    default:
        return false;
    }
}

/* Packetbeat's readString: the raw (cut) value goes to out. */
enum thrift_rc thrift_read_string(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                  struct pb_bytes *out, size_t *used)
{
    struct pb_rd r = pb_rd_make(data, len);
    uint32_t sz = pb_rd_be32(&r);
    if (!pb_rd_ok(&r)) {
        return THRIFT_MORE;
    }
    if (sz & 0x80000000u) {
        return THRIFT_BAD;
    }
    if (pb_rd_left(&r) < sz) {
        return THRIFT_MORE;
    }
    struct pb_slice s = pb_rd_slice(&r, sz);
    if (sz > f->string_max) {
        if (!put(out, s.ptr, f->string_max) || !put(out, "...", 3)) {
            return THRIFT_BAD;
        }
    } else if (!put(out, s.ptr, s.len)) {
        return THRIFT_BAD;
    }
    *used = 4 + (size_t)sz;
    return THRIFT_OK;
}

/* readAndQuoteString: quoted, hex when not UTF-8, "*" when obfuscated. */
static enum thrift_rc read_quoted_string(const struct thrift_fmt *f, const uint8_t *data,
                                         size_t len, struct pb_bytes *out, size_t *used)
{
    struct pb_bytes tmp = {0};
    enum thrift_rc rc = thrift_read_string(f, data, len, &tmp, used);
    if (rc != THRIFT_OK) {
        pb_bytes_free(&tmp);
        return rc;
    }
    bool ok = true;
    if (out != NULL) {
        if (tmp.len == 0) {
            ok = put(out, "\"\"", 2);
        } else if (f->obfuscate_strings) {
            ok = put(out, "\"*\"", 3);
        } else if (thrift_utf8_valid(tmp.p, tmp.len)) {
            ok = thrift_go_quote(out, tmp.p, tmp.len) == 0;
        } else {
            for (size_t i = 0; ok && i < tmp.len; i++) {
                char h[2] = {hexdig[tmp.p[i] >> 4], hexdig[tmp.p[i] & 0xF]};
                ok = put(out, h, 2);
            }
        }
    }
    pb_bytes_free(&tmp);
    return ok ? THRIFT_OK : THRIFT_BAD;
}

static bool put_uint(struct pb_bytes *out, uint64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return put(out, b, (size_t)n);
}

/* Lists and sets share one layout: elem type, i32 count, elements. */
static enum thrift_rc read_list_or_set(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                       struct pb_bytes *out, size_t *used, int depth, char open,
                                       char close)
{
    if (len < 5) {
        return THRIFT_MORE;
    }
    uint8_t et = data[0];
    if (!known_type(et)) {
        return THRIFT_BAD;
    }
    struct pb_rd r = pb_rd_make(data + 1, 4);
    uint64_t n = pb_rd_be32(&r);
    size_t off = 5;
    size_t mark = out != NULL ? out->len : 0;
    char ob[1] = {open};
    if (!put(out, ob, 1)) {
        return THRIFT_BAD;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct pb_bytes *dst = NULL;
        if (i < f->collection_max) {
            if (i > 0 && !put(out, ", ", 2)) {
                return THRIFT_BAD;
            }
            dst = out;
        } else if (i == f->collection_max) {
            if ((i > 0 && !put(out, ", ", 2)) || !put(out, "...", 3)) {
                return THRIFT_BAD;
            }
        }
        size_t u = 0;
        enum thrift_rc rc = read_value(f, et, data + off, len - off, dst, &u, depth + 1);
        if (rc != THRIFT_OK) {
            return rc;
        }
        off += u;
    }
    if (out != NULL) {
        if (out->len == mark + 1) {
            out->len = mark; /* an empty list or set prints as nothing */
        } else {
            char cb[1] = {close};
            if (!put(out, cb, 1)) {
                return THRIFT_BAD;
            }
        }
    }
    *used = off;
    return THRIFT_OK;
}

static enum thrift_rc read_map(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                               struct pb_bytes *out, size_t *used, int depth)
{
    if (len < 6) {
        return THRIFT_MORE;
    }
    uint8_t kt = data[0], vt = data[1];
    if (!known_type(kt) || !known_type(vt)) {
        return THRIFT_BAD;
    }
    struct pb_rd r = pb_rd_make(data + 2, 4);
    uint64_t n = pb_rd_be32(&r);
    size_t off = 6;
    if (!put(out, "{", 1)) {
        return THRIFT_BAD;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct pb_bytes *dst = NULL;
        if (i < f->collection_max) {
            if (i > 0 && !put(out, ", ", 2)) {
                return THRIFT_BAD;
            }
            dst = out;
        } else if (i == f->collection_max) {
            if ((i > 0 && !put(out, ", ", 2)) || !put(out, "...", 3)) {
                return THRIFT_BAD;
            }
        }
        size_t u = 0;
        enum thrift_rc rc = read_value(f, kt, data + off, len - off, dst, &u, depth + 1);
        if (rc != THRIFT_OK) {
            return rc;
        }
        off += u;
        if (!put(dst, ": ", 2)) {
            return THRIFT_BAD;
        }
        rc = read_value(f, vt, data + off, len - off, dst, &u, depth + 1);
        if (rc != THRIFT_OK) {
            return rc;
        }
        off += u;
    }
    if (!put(out, "}", 1)) {
        return THRIFT_BAD;
    }
    *used = off;
    return THRIFT_OK;
}

/* Packetbeat's readStruct, including its quirks: the field budget is
 * checked before every field (the STOP too), and running out of bytes
 * right before a field type indexes past the end (a panic in Go). */
static enum thrift_rc read_struct(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                  struct pb_bytes *out, size_t *used, int depth)
{
    size_t off = 0;
    if (!put(out, "(", 1)) {
        return THRIFT_BAD;
    }
    for (int64_t i = 0;; i++) {
        if (i >= f->drop_after) {
            return THRIFT_BAD;
        }
        if (len < 1) {
            return THRIFT_MORE;
        }
        if (off >= len) {
            return THRIFT_PANIC;
        }
        uint8_t ft = data[off++];
        if (ft == THRIFT_T_STOP) {
            break;
        }
        if (len - off < 2) {
            return THRIFT_MORE;
        }
        uint16_t id = (uint16_t)((data[off] << 8) | data[off + 1]);
        off += 2;
        if (!known_type(ft)) {
            return THRIFT_BAD;
        }
        struct pb_bytes *dst = NULL;
        if ((uint64_t)i < f->collection_max) {
            if ((i > 0 && !put(out, ", ", 2)) || !put_uint(out, id) || !put(out, ": ", 2)) {
                return THRIFT_BAD;
            }
            dst = out;
        } else if ((uint64_t)i == f->collection_max) {
            if ((i > 0 && !put(out, ", ", 2)) || !put(out, "...", 3)) {
                return THRIFT_BAD;
            }
        }
        size_t u = 0;
        enum thrift_rc rc = read_value(f, ft, data + off, len - off, dst, &u, depth + 1);
        if (rc != THRIFT_OK) {
            return rc;
        }
        off += u;
    }
    if (!put(out, ")", 1)) {
        return THRIFT_BAD;
    }
    *used = off;
    return THRIFT_OK;
}

static enum thrift_rc read_value(const struct thrift_fmt *f, uint8_t type, const uint8_t *data,
                                 size_t len, struct pb_bytes *out, size_t *used, int depth)
{
    if (depth > THRIFT_MAX_DEPTH) {
        return THRIFT_BAD;
    }
    struct pb_rd r = pb_rd_make(data, len);
    char b[64];
    switch (type) {
    case THRIFT_T_BOOL: {
        uint8_t v = pb_rd_u8(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        *used = 1;
        return puts_(out, v ? "true" : "false") ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_BYTE: {
        uint8_t v = pb_rd_u8(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        *used = 1;
        return put_uint(out, v) ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_I16: {
        uint16_t v = pb_rd_be16(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        *used = 2;
        return put_uint(out, v) ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_I32: {
        uint32_t v = pb_rd_be32(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        *used = 4;
        return put_uint(out, v) ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_I64: {
        uint64_t v = pb_rd_be64(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        *used = 8;
        int n = snprintf(b, sizeof b, "%lld", (long long)(int64_t)v);
        return put(out, b, (size_t)n) ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_DOUBLE: {
        uint64_t v = pb_rd_be64(&r);
        if (!pb_rd_ok(&r)) {
            return THRIFT_MORE;
        }
        double d;
        memcpy(&d, &v, sizeof d);
        *used = 8;
        thrift_format_double(d, b, sizeof b);
        return puts_(out, b) ? THRIFT_OK : THRIFT_BAD;
    }
    case THRIFT_T_STRING:
        return read_quoted_string(f, data, len, out, used);
    case THRIFT_T_LIST:
        return read_list_or_set(f, data, len, out, used, depth, '[', ']');
    case THRIFT_T_SET:
        return read_list_or_set(f, data, len, out, used, depth, '{', '}');
    case THRIFT_T_MAP:
        return read_map(f, data, len, out, used, depth);
    case THRIFT_T_STRUCT:
        return read_struct(f, data, len, out, used, depth);
    default:
        return THRIFT_BAD;
    }
}

enum thrift_rc thrift_read_value(const struct thrift_fmt *f, uint8_t type, const uint8_t *data,
                                 size_t len, struct pb_bytes *out, size_t *used)
{
    size_t mark = out != NULL ? out->len : 0;
    size_t u = 0;
    enum thrift_rc rc = read_value(f, type, data, len, out, &u, 0);
    if (rc != THRIFT_OK) {
        if (out != NULL) {
            out->len = mark;
        }
        return rc;
    }
    *used = u;
    return THRIFT_OK;
}

/* ---- message header ---- */

enum thrift_rc thrift_read_msg_begin(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                     struct thrift_msg_head *h, struct pb_bytes *method)
{
    if (len < 9) {
        return THRIFT_MORE;
    }
    size_t mark = method->len;
    struct pb_rd r = pb_rd_make(data, len);
    uint32_t sz = pb_rd_be32(&r);
    size_t off, u = 0;
    enum thrift_rc rc;
    memset(h, 0, sizeof *h);
    if (sz & 0x80000000u) {
        /* strict: version | type, method name, seqid */
        h->version = sz & 0xFFFF0000u;
        h->type = sz & 0xFFu;
        rc = thrift_read_string(f, data + 4, len - 4, method, &u);
        if (rc != THRIFT_OK) {
            method->len = mark;
            return rc;
        }
        off = 4 + u;
        if (len - off < 4) {
            method->len = mark;
            return THRIFT_MORE;
        }
        struct pb_rd s = pb_rd_make(data + off, 4);
        h->seqid = pb_rd_be32(&s);
        h->len = off + 4;
    } else {
        /* old form: method name, type byte, seqid */
        rc = thrift_read_string(f, data, len, method, &u);
        if (rc != THRIFT_OK) {
            method->len = mark;
            return rc;
        }
        off = u;
        if (len - off < 5) {
            method->len = mark;
            return THRIFT_MORE;
        }
        struct pb_rd s = pb_rd_make(data + off, 5);
        h->type = pb_rd_u8(&s);
        h->seqid = pb_rd_be32(&s);
        h->len = off + 5;
    }
    return THRIFT_OK;
}
