/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_parse.c - Cassandra native protocol frame
 * decoding with Packetbeat's field names and values.
 *
 * Header (v3/v4, 9 bytes; v1/v2 have a 1-byte stream and 8 bytes):
 *   +---------+---------+---------+---------+---------+
 *   | version |  flags  |      stream       | opcode  |
 *   +---------+---------+---------+---------+---------+
 *   |                length (body)                    |
 *   +---------+---------+---------+---------+
 */
#include "cassandra_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/rd.h"
#include "cassandra_snappy.h"
#include "protos/common/strutil.h"

/* A partial read past the buffered bytes is zero-filled, as Go's code
 * leaves the rest of its buffer; beyond this many bytes we call it an
 * error instead of allocating. */
#define MAX_ZERO_FILL (16u * 1024u * 1024u)

/* ---- the two readers of Packetbeat's decoder ---- */

struct dec {
    const uint8_t *p;
    size_t len, pos;
    bool stream; /* StreamDecoder (over the stream buffer) or ByteArrayDecoder */
    bool err;    /* the stream buffer's sticky error */
    bool *fail;  /* set when a read panics in Go: the frame is an error */
    int proto;   /* protocol version 1..4 */
};

static size_t avail(const struct dec *d)
{
    return d->len - d->pos;
}

static bool fixed(struct dec *d, size_t n)
{
    if (*d->fail) {
        return false;
    }
    if (d->err || avail(d) < n) {
        d->err = d->stream ? true : d->err;
        *d->fail = true;
        return false;
    }
    return true;
}

static uint8_t rd_u8(struct dec *d)
{
    if (!fixed(d, 1)) {
        return 0;
    }
    return d->p[d->pos++];
}

static uint16_t rd_u16(struct dec *d)
{
    if (!fixed(d, 2)) {
        return 0;
    }
    uint16_t v = (uint16_t)((d->p[d->pos] << 8) | d->p[d->pos + 1]);
    d->pos += 2;
    return v;
}

/* ReadInt: the stream reader's value is the unsigned 32 bits, the array
 * reader's the signed ones (Go int conversions). */
static int64_t rd_int(struct dec *d)
{
    if (!fixed(d, 4)) {
        return 0;
    }
    uint32_t v = ((uint32_t)d->p[d->pos] << 24) | ((uint32_t)d->p[d->pos + 1] << 16) |
                 ((uint32_t)d->p[d->pos + 2] << 8) | d->p[d->pos + 3];
    d->pos += 4;
    return d->stream ? (int64_t)v : (int64_t)(int32_t)v;
}

/* n bytes as Go reads them into a make([]byte, n): the stream reader
 * copies what is there (failing only when nothing is left, even for n ==
 * 0) and leaves zeros after; the array reader needs all n. Returns an
 * owned buffer (never NULL on success). */
static uint8_t *take(struct dec *d, size_t n)
{
    if (*d->fail) {
        return NULL;
    }
    if (d->stream) {
        if (d->err || avail(d) == 0) {
            d->err = true;
            *d->fail = true;
            return NULL;
        }
    } else if (avail(d) < n) {
        *d->fail = true;
        return NULL;
    }
    size_t k = n < avail(d) ? n : avail(d);
    if (n - k > MAX_ZERO_FILL) {
        *d->fail = true;
        return NULL;
    }
    uint8_t *b = pb_calloc(1, n + 1);
    if (b == NULL) {
        *d->fail = true;
        return NULL;
    }
    if (k > 0) {
        memcpy(b, d->p + d->pos, k);
    }
    d->pos += k;
    return b;
}

static json_t *jstr(const uint8_t *s, size_t n)
{
    return pb_json_strn(s != NULL ? (const void *)s : (const void *)"", n);
}

/* [string]: u16 length and bytes. */
static json_t *rd_string(struct dec *d)
{
    size_t n = rd_u16(d);
    uint8_t *b = take(d, n);
    if (b == NULL) {
        return NULL;
    }
    json_t *s = jstr(b, n);
    pb_free(b);
    if (s == NULL) {
        *d->fail = true;
    }
    return s;
}

/* [long string]: i32 length and bytes. */
static json_t *rd_long_string(struct dec *d)
{
    int64_t n = rd_int(d);
    if (*d->fail) {
        return NULL;
    }
    if (n < 0 || (uint64_t)n > avail(d)) {
        *d->fail = true;
        return NULL;
    }
    uint8_t *b = take(d, (size_t)n);
    if (b == NULL) {
        return NULL;
    }
    json_t *s = jstr(b, (size_t)n);
    pb_free(b);
    if (s == NULL) {
        *d->fail = true;
    }
    return s;
}

/* [bytes]: i32 length (negative: null, array reader only) and bytes.
 * *isnull tells a null from an empty value. */
static uint8_t *rd_bytes(struct dec *d, size_t *n, bool *isnull)
{
    *isnull = false;
    *n = 0;
    int64_t sz = rd_int(d);
    if (*d->fail) {
        return NULL;
    }
    if (sz < 0) {
        *isnull = true;
        return NULL;
    }
    uint8_t *b = take(d, (size_t)sz);
    if (b != NULL) {
        *n = (size_t)sz;
    }
    return b;
}

static uint8_t *rd_short_bytes(struct dec *d, size_t *n)
{
    *n = rd_u16(d);
    return take(d, *n);
}

static json_t *rd_string_list(struct dec *d)
{
    size_t n = rd_u16(d);
    json_t *a = json_array();
    if (a == NULL) {
        *d->fail = true;
        return NULL;
    }
    for (size_t i = 0; i < n && !*d->fail; i++) {
        json_t *s = rd_string(d);
        if (s != NULL) {
            json_array_append_new(a, s);
        }
    }
    if (*d->fail) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *rd_string_multimap(struct dec *d)
{
    size_t n = rd_u16(d);
    json_t *o = json_object();
    if (o == NULL) {
        *d->fail = true;
        return NULL;
    }
    for (size_t i = 0; i < n && !*d->fail; i++) {
        json_t *k = rd_string(d);
        json_t *v = rd_string_list(d);
        if (k != NULL && v != NULL) {
            json_object_setn_new(o, json_string_value(k), json_string_length(k), v);
            v = NULL;
        }
        json_decref(k);
        json_decref(v);
    }
    if (*d->fail) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void rd_bytes_map(struct dec *d)
{
    size_t n = rd_u16(d);
    for (size_t i = 0; i < n && !*d->fail; i++) {
        json_decref(rd_string(d));
        size_t bn;
        bool isnull;
        pb_free(rd_bytes(d, &bn, &isnull));
    }
}

/* ---- Go formatting helpers ---- */

static const char hexdig[] = "0123456789abcdef";

char *cass_go_quote(const uint8_t *s, size_t n, size_t *outlen)
{
    struct pb_bytes b = {0};
    if (pb_go_quote(&b, s, n, SIZE_MAX - 1) != 0 || pb_bytes_append(&b, "", 1, SIZE_MAX) != 0) {
        pb_bytes_free(&b);
        return NULL;
    }
    *outlen = b.len - 1; /* the text, without its NUL */
    return (char *)b.p;
}

void cass_ip_string(const uint8_t *ip, size_t n, char *buf, size_t cap)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (n == 4 || (n == 16 && memcmp(ip, v4mapped, 12) == 0)) {
        const uint8_t *a = n == 4 ? ip : ip + 12;
        snprintf(buf, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        return;
    }
    if (n != 16) {
        snprintf(buf, cap, "?");
        return;
    }
    /* The longest run (first one on ties) of two or more zero groups
     * becomes "::". */
    uint16_t g[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (uint16_t)((ip[2 * i] << 8) | ip[2 * i + 1]);
    }
    int best = -1, bestlen = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0) {
            j++;
        }
        if (j - i > bestlen && j - i >= 2) {
            best = i;
            bestlen = j - i;
        }
        i = j;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "::");
            i += bestlen - 1;
            continue;
        }
        if (i > 0 && !(best >= 0 && i == best + bestlen)) {
            o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, ":");
        }
        o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%x", g[i]);
    }
}

/* ---- names ---- */

static const char *const op_names[] = {
    [CASS_OP_ERROR] = "ERROR",
    [CASS_OP_STARTUP] = "STARTUP",
    [CASS_OP_READY] = "READY",
    [CASS_OP_AUTHENTICATE] = "AUTHENTICATE",
    [CASS_OP_OPTIONS] = "OPTIONS",
    [CASS_OP_SUPPORTED] = "SUPPORTED",
    [CASS_OP_QUERY] = "QUERY",
    [CASS_OP_RESULT] = "RESULT",
    [CASS_OP_PREPARE] = "PREPARE",
    [CASS_OP_EXECUTE] = "EXECUTE",
    [CASS_OP_REGISTER] = "REGISTER",
    [CASS_OP_EVENT] = "EVENT",
    [CASS_OP_BATCH] = "BATCH",
    [CASS_OP_AUTH_CHALLENGE] = "AUTH_CHALLENGE",
    [CASS_OP_AUTH_RESPONSE] = "AUTH_RESPONSE",
    [CASS_OP_AUTH_SUCCESS] = "AUTH_SUCCESS",
};

const char *cass_op_name(uint8_t op, char *buf, size_t cap)
{
    if (op < sizeof op_names / sizeof op_names[0] && op_names[op] != NULL) {
        return op_names[op];
    }
    snprintf(buf, cap, "UNKNOWN_OP_%u", op);
    return buf;
}

int cass_op_from_name(const char *s)
{
    while (*s != '\0' && isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    for (size_t op = 0; op < sizeof op_names / sizeof op_names[0]; op++) {
        const char *name = op_names[op];
        if (name == NULL || strlen(name) != n) {
            continue;
        }
        bool eq = true;
        for (size_t i = 0; i < n && eq; i++) {
            eq = toupper((unsigned char)s[i]) == name[i];
        }
        if (eq) {
            return (int)op;
        }
    }
    return -1;
}

static const char *head_flag_name(uint8_t f, char *buf, size_t cap)
{
    switch (f) {
    case 0x00:
        return "Default";
    case 0x01:
        return "Compress";
    case 0x02:
        return "Tracing";
    case 0x04:
        return "CustomPayload";
    case 0x08:
        return "Warning";
    default:
        snprintf(buf, cap, "UnknownFlag_%u", f);
        return buf;
    }
}

static const char *row_flag_name(int64_t f, char *buf, size_t cap)
{
    switch (f) {
    case 0x01:
        return "GlobalTableSpec";
    case 0x02:
        return "HasMorePages";
    case 0x04:
        return "NoMetaData";
    default:
        snprintf(buf, cap, "FLAG_%lld", (long long)f);
        return buf;
    }
}

static const char *consistency_name(uint16_t c, char *buf, size_t cap)
{
    switch (c) {
    case 0x00:
        return "ANY";
    case 0x01:
        return "ONE";
    case 0x02:
        return "TWO";
    case 0x03:
        return "THREE";
    case 0x04:
        return "QUORUM";
    case 0x05:
        return "ALL";
    case 0x06:
        return "LOCAL_QUORUM";
    case 0x07:
        return "EACH_QUORUM";
    case 0x0A:
        return "LOCAL_ONE";
    default:
        snprintf(buf, cap, "UNKNOWN_CONS_0x%x", c);
        return buf;
    }
}

enum {
    ERR_SERVER = 0x0000,
    ERR_PROTOCOL = 0x000A,
    ERR_CREDENTIALS = 0x0100,
    ERR_UNAVAILABLE = 0x1000,
    ERR_OVERLOADED = 0x1001,
    ERR_BOOTSTRAPPING = 0x1002,
    ERR_TRUNCATE = 0x1003,
    ERR_WRITE_TIMEOUT = 0x1100,
    ERR_READ_TIMEOUT = 0x1200,
    ERR_READ_FAILURE = 0x1300,
    ERR_FUNCTION_FAILURE = 0x1400,
    ERR_WRITE_FAILURE = 0x1500,
    ERR_SYNTAX = 0x2000,
    ERR_UNAUTHORIZED = 0x2100,
    ERR_INVALID = 0x2200,
    ERR_CONFIG = 0x2300,
    ERR_ALREADY_EXISTS = 0x2400,
    ERR_UNPREPARED = 0x2500,
};

static const char *err_type_name(int64_t code)
{
    switch (code) {
    case ERR_UNAVAILABLE:
        return "errUnavailable";
    case ERR_WRITE_TIMEOUT:
        return "errWriteTimeout";
    case ERR_READ_TIMEOUT:
        return "errReadTimeout";
    case ERR_ALREADY_EXISTS:
        return "errAlreadyExists";
    case ERR_UNPREPARED:
        return "errUnprepared";
    case ERR_READ_FAILURE:
        return "errReadFailure";
    case ERR_WRITE_FAILURE:
        return "errWriteFailure";
    case ERR_FUNCTION_FAILURE:
        return "errFunctionFailure";
    case ERR_INVALID:
        return "errInvalid";
    case ERR_BOOTSTRAPPING:
        return "errBootstrapping";
    case ERR_CONFIG:
        return "errConfig";
    case ERR_CREDENTIALS:
        return "errCredentials";
    case ERR_OVERLOADED:
        return "errOverloaded";
    case ERR_PROTOCOL:
        return "errProtocol";
    case ERR_SERVER:
        return "errServer";
    case ERR_SYNTAX:
        return "errSyntax";
    case ERR_TRUNCATE:
        return "errTruncate";
    case ERR_UNAUTHORIZED:
        return "errUnauthorized";
    default:
        return "ErrUnknown";
    }
}

/* ---- JSON helpers ---- */

static void jset(json_t *o, const char *k, json_t *v)
{
    if (o != NULL && v != NULL) {
        json_object_set_new(o, k, v);
    } else {
        json_decref(v);
    }
}

static void jset_int(json_t *o, const char *k, int64_t v)
{
    jset(o, k, json_integer((json_int_t)v));
}

static void jset_cstr(json_t *o, const char *k, const char *s)
{
    jset(o, k, json_string(s));
}

static json_t *consistency(struct dec *d)
{
    char b[32];
    uint16_t c = rd_u16(d);
    return *d->fail ? NULL : json_string(consistency_name(c, b, sizeof b));
}

/* ---- body parsers ---- */

static json_t *parse_error(struct dec *d)
{
    json_t *o = json_object();
    int64_t code = rd_int(d);
    json_t *msg = rd_string(d);
    if (*d->fail || o == NULL) {
        json_decref(msg);
        json_decref(o);
        return NULL;
    }
    jset_int(o, "code", code);
    jset(o, "msg", msg);
    jset_cstr(o, "type", err_type_name(code));
    json_t *det = json_object();
    switch (code) {
    case ERR_UNAVAILABLE:
        jset(det, "read_consistency", consistency(d));
        jset_int(det, "required", rd_int(d));
        jset_int(det, "alive", rd_int(d));
        break;
    case ERR_WRITE_TIMEOUT:
        jset(det, "read_consistency", consistency(d));
        jset_int(det, "received", rd_int(d));
        jset_int(det, "blockfor", rd_int(d));
        jset(det, "write_type", rd_string(d));
        break;
    case ERR_READ_TIMEOUT:
    case ERR_READ_FAILURE:
        jset(det, "read_consistency", consistency(d));
        jset_int(det, "received", rd_int(d));
        jset_int(det, "blockfor", rd_int(d));
        jset(det, "data_present", json_boolean(rd_u8(d) != 0));
        break;
    case ERR_ALREADY_EXISTS:
        jset(det, "keyspace", rd_string(d));
        jset(det, "table", rd_string(d));
        break;
    case ERR_UNPREPARED: {
        size_t n;
        uint8_t *b = rd_short_bytes(d, &n);
        if (b != NULL) {
            /* a Go []byte: an array of numbers in the event */
            json_t *a = json_array();
            for (size_t i = 0; a != NULL && i < n; i++) {
                json_array_append_new(a, json_integer(b[i]));
            }
            jset(det, "stmt_id", a);
            pb_free(b);
        }
        break;
    }
    case ERR_WRITE_FAILURE:
        jset(det, "read_consistency", consistency(d));
        jset_int(det, "received", rd_int(d));
        jset_int(det, "blockfor", rd_int(d));
        jset_int(det, "num_failures", rd_int(d));
        jset(det, "write_type", rd_string(d));
        break;
    case ERR_FUNCTION_FAILURE:
        jset(det, "keyspace", rd_string(d));
        jset(det, "function", rd_string(d));
        jset(det, "arg_types", rd_string_list(d));
        break;
    default:
        break;
    }
    if (*d->fail) {
        json_decref(det);
        json_decref(o);
        return NULL;
    }
    if (det != NULL && json_object_size(det) > 0) {
        jset(o, "details", det);
    } else {
        json_decref(det);
    }
    return o;
}

static json_t *parse_metadata(struct dec *d, bool pk_info)
{
    char b[40];
    json_t *m = json_object();
    int64_t flags = rd_int(d);
    int64_t cols = rd_int(d);
    if (*d->fail) {
        json_decref(m);
        return NULL;
    }
    jset_cstr(m, "flags", row_flag_name(flags, b, sizeof b));
    jset_int(m, "col_count", cols);
    if (pk_info && d->proto >= 4) {
        int64_t n = rd_int(d);
        if (!*d->fail && (n < 0 || (uint64_t)n > avail(d) / 2)) {
            /* Go: a negative make panics; too few bytes fail below */
            *d->fail = true;
        }
        json_t *a = json_array();
        for (int64_t i = 0; i < n && !*d->fail; i++) {
            uint16_t v = rd_u16(d);
            json_array_append_new(a, json_integer(v));
        }
        jset(m, "pkey_columns", a);
    }
    if (*d->fail) {
        json_decref(m);
        return NULL;
    }
    if (flags & 0x02) {
        size_t n;
        bool isnull;
        uint8_t *v = rd_bytes(d, &n, &isnull);
        if (*d->fail) {
            json_decref(m);
            return NULL;
        }
        char *hex = pb_malloc(2 * n + 1);
        if (hex == NULL) {
            pb_free(v);
            json_decref(m);
            *d->fail = true;
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            hex[2 * i] = "0123456789ABCDEF"[v[i] >> 4];
            hex[2 * i + 1] = "0123456789ABCDEF"[v[i] & 0xF];
        }
        hex[2 * n] = '\0';
        jset_cstr(m, "paging_state", hex);
        pb_free(hex);
        pb_free(v);
        return m;
    }
    if (flags & 0x04) {
        return m;
    }
    if (flags & 0x01) {
        jset(m, "keyspace", rd_string(d));
        jset(m, "table", rd_string(d));
    }
    if (*d->fail) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *parse_schema_change(struct dec *d)
{
    json_t *o = json_object();
    if (d->proto <= 2) {
        jset(o, "change", rd_string(d));
        jset(o, "keyspace", rd_string(d));
        jset(o, "table", rd_string(d));
    } else {
        json_t *change = rd_string(d);
        json_t *target = rd_string(d);
        const char *t = target != NULL ? json_string_value(target) : "";
        size_t tl = target != NULL ? json_string_length(target) : 0;
        bool ks = false, obj = false, fn = false;
        if (tl == 8 && memcmp(t, "KEYSPACE", 8) == 0) {
            ks = true;
        } else if ((tl == 5 && memcmp(t, "TABLE", 5) == 0) ||
                   (tl == 4 && memcmp(t, "TYPE", 4) == 0)) {
            ks = obj = true;
        } else if ((tl == 8 && memcmp(t, "FUNCTION", 8) == 0) ||
                   (tl == 9 && memcmp(t, "AGGREGATE", 9) == 0)) {
            ks = fn = true;
        }
        jset(o, "change", change);
        jset(o, "target", target);
        if (ks) {
            jset(o, "keyspace", rd_string(d));
        }
        if (obj) {
            jset(o, "object", rd_string(d));
        }
        if (fn) {
            jset(o, "name", rd_string(d));
            jset(o, "args", rd_string_list(d));
        }
    }
    if (*d->fail) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *parse_result(struct dec *d)
{
    int64_t kind = rd_int(d);
    json_t *o = json_object();
    switch (kind) {
    case 1:
        jset_cstr(o, "type", "void");
        break;
    case 2: {
        jset_cstr(o, "type", "rows");
        json_t *rows = json_object();
        jset(rows, "meta", parse_metadata(d, false));
        int64_t n = rd_int(d);
        jset_int(rows, "num_rows", n);
        jset(o, "rows", rows);
        break;
    }
    case 3:
        jset_cstr(o, "type", "set_keyspace");
        jset(o, "keyspace", rd_string(d));
        break;
    case 4: {
        jset_cstr(o, "type", "prepared");
        json_t *p = json_object();
        size_t n;
        uint8_t *id = rd_short_bytes(d, &n);
        uint8_t u[16] = {0};
        if (id != NULL && n == 16) {
            memcpy(u, id, 16);
        }
        pb_free(id);
        char us[40];
        static const int offs[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
        memset(us, '-', 36);
        us[36] = '\0';
        for (int i = 0; i < 16; i++) {
            us[offs[i]] = hexdig[u[i] >> 4];
            us[offs[i] + 1] = hexdig[u[i] & 0xF];
        }
        jset_cstr(p, "prepared_id", us);
        jset(p, "req_meta", parse_metadata(d, true));
        if (d->proto >= 2) {
            jset(p, "resp_meta", parse_metadata(d, false));
        }
        jset(o, "prepared", p);
        break;
    }
    case 5:
        jset_cstr(o, "type", "schemaChanged");
        jset(o, "schema_change", parse_schema_change(d));
        break;
    default:
        break;
    }
    if (*d->fail) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *parse_event(struct dec *d)
{
    json_t *o = json_object();
    json_t *type = rd_string(d);
    const char *t = type != NULL ? json_string_value(type) : "";
    size_t tl = type != NULL ? json_string_length(type) : 0;
    bool change = (tl == 15 && memcmp(t, "TOPOLOGY_CHANGE", 15) == 0) ||
                  (tl == 13 && memcmp(t, "STATUS_CHANGE", 13) == 0);
    bool schema = tl == 13 && memcmp(t, "SCHEMA_CHANGE", 13) == 0;
    jset(o, "type", type);
    if (change) {
        jset(o, "change", rd_string(d));
        uint8_t sz = rd_u8(d);
        if (!*d->fail && sz != 4 && sz != 16) {
            *d->fail = true;
        }
        if (!*d->fail && !d->stream && avail(d) < sz) {
            *d->fail = true; /* Go: slice out of range */
        }
        uint8_t *ip = *d->fail ? NULL : take(d, sz);
        int64_t port = rd_int(d);
        if (!*d->fail && ip != NULL) {
            char b[64];
            cass_ip_string(ip, sz, b, sizeof b);
            jset_cstr(o, "host", b);
            jset_int(o, "port", port);
        }
        pb_free(ip);
    } else if (schema) {
        jset(o, "schema_change", parse_schema_change(d));
    }
    if (*d->fail) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *parse_auth_data(struct dec *d)
{
    size_t n;
    bool isnull;
    uint8_t *b = rd_bytes(d, &n, &isnull);
    if (*d->fail) {
        return NULL;
    }
    size_t ql = 0;
    char *q = cass_go_quote(b != NULL ? b : (const uint8_t *)"", n, &ql);
    pb_free(b);
    if (q == NULL) {
        *d->fail = true;
        return NULL;
    }
    json_t *o = json_object();
    jset(o, "data", pb_json_strn(q, ql));
    pb_free(q);
    return o;
}

/* ReadFrame: the body's data map, NULL with *fail on an error. sd reads
 * the stream buffer from the body's start. */
static json_t *read_frame(const struct cass_cfg *cfg, const struct cass_frame *f, struct dec *sd,
                          bool *fail)
{
    json_t *data = json_object();
    uint8_t *plain = NULL;
    struct dec ad = {0};
    struct dec *d = sd;
    if (data == NULL) {
        *fail = true;
        return NULL;
    }
    if (f->flags & 0x08) {
        jset(data, "warnings", rd_string_list(sd));
    }
    if (f->flags & 0x04) {
        rd_bytes_map(sd);
    }
    if (!*fail && (f->flags & 0x01)) {
        if (!cfg->snappy) {
            *fail = true; /* compress flag without a compressor */
        } else {
            /* f.r.Read(buf) of body length bytes, its error ignored */
            size_t n = f->body_len;
            uint8_t *buf = pb_calloc(1, n + 1);
            if (buf == NULL) {
                *fail = true;
            } else {
                if (sd->err || avail(sd) == 0) {
                    sd->err = true;
                } else {
                    size_t k = n < avail(sd) ? n : avail(sd);
                    memcpy(buf, sd->p + sd->pos, k);
                    sd->pos += k;
                }
                size_t plen = 0;
                if (cass_snappy_decode(buf, n, &plain, &plen) < 0) {
                    *fail = true;
                }
                pb_free(buf);
                ad.p = plain;
                ad.len = plen;
                ad.stream = false;
                ad.fail = fail;
                ad.proto = sd->proto;
                d = &ad;
            }
        }
    }
    if (!*fail) {
        switch (f->op) {
        case CASS_OP_QUERY: {
            json_t *q = rd_long_string(d);
            json_decref(data);
            data = json_object();
            jset(data, "query", q);
            break;
        }
        case CASS_OP_ERROR:
            jset(data, "error", parse_error(d));
            break;
        case CASS_OP_RESULT:
            jset(data, "result", parse_result(d));
            break;
        case CASS_OP_SUPPORTED: {
            json_t *s = rd_string_multimap(d);
            json_decref(data);
            data = json_object();
            jset(data, "supported", s);
            break;
        }
        case CASS_OP_AUTHENTICATE: {
            json_t *a = json_object();
            jset(a, "class", rd_string(d));
            jset(data, "authentication", a);
            break;
        }
        case CASS_OP_AUTH_CHALLENGE:
        case CASS_OP_AUTH_SUCCESS:
            jset(data, "authentication", parse_auth_data(d));
            break;
        case CASS_OP_EVENT:
            jset(data, "event", parse_event(d));
            break;
        default:
            break;
        }
    }
    pb_free(plain);
    if (*fail || data == NULL) {
        *fail = true;
        json_decref(data);
        return NULL;
    }
    return data;
}

static json_t *header_json(const struct cass_frame *f)
{
    char b1[32], b2[32], v[8];
    json_t *h = json_object();
    snprintf(v, sizeof v, "%u", f->version & 0x7Fu);
    jset_cstr(h, "version", v);
    jset_cstr(h, "flags", head_flag_name(f->flags, b1, sizeof b1));
    jset_int(h, "stream", f->stream);
    jset_cstr(h, "op", cass_op_name(f->op, b2, sizeof b2));
    jset_int(h, "length", f->body_len);
    return h;
}

void cass_frame_clear(struct cass_frame *f)
{
    json_decref(f->header);
    json_decref(f->data);
    f->header = NULL;
    f->data = NULL;
}

enum cass_rc cass_parse_frame(const struct cass_cfg *cfg, const uint8_t *data, size_t len,
                              struct cass_frame *out)
{
    memset(out, 0, sizeof *out);
    if (len < 9) {
        return CASS_MORE;
    }
    struct pb_rd r = pb_rd_make(data, len);
    out->version = pb_rd_u8(&r);
    unsigned v = out->version & 0x7Fu;
    if (v < 1 || v > 4) {
        return CASS_ERR;
    }
    out->flags = pb_rd_u8(&r);
    if (v > 2) {
        out->stream = pb_rd_be16(&r);
    } else {
        out->stream = pb_rd_u8(&r);
    }
    out->op = pb_rd_u8(&r);
    out->body_len = pb_rd_be32(&r);
    out->head_len = (size_t)(r.p - data);
    if (out->body_len > CASS_MAX_FRAME_BODY) {
        return CASS_ERR;
    }
    out->size = out->head_len + out->body_len;
    out->header_done = true;
    out->ignored = cfg->ignored[out->op];
    /* only the v3/v4 response versions count as responses */
    out->is_request = !(out->version == 0x84 || out->version == 0x83);
    if (out->body_len > 0) {
        if (len - out->head_len < out->body_len) {
            return CASS_MORE;
        }
        if (!out->ignored) {
            bool fail = false;
            struct dec sd = {
                .p = data + out->head_len,
                .len = len - out->head_len,
                .stream = true,
                .fail = &fail,
                .proto = (int)v,
            };
            json_t *body = read_frame(cfg, out, &sd, &fail);
            if (fail) {
                return CASS_ERR;
            }
            /* leftovers are skipped (unless the buffer is in a failed
             * state), reading past the body is an error */
            if (sd.pos < out->body_len && !sd.err) {
                sd.pos = out->body_len;
            }
            if (sd.pos != out->body_len) {
                json_decref(body);
                return CASS_ERR;
            }
            out->data = body;
        }
    }
    out->header = header_json(out);
    if (out->header == NULL) {
        cass_frame_clear(out);
        return CASS_ERR;
    }
    return CASS_OK;
}
