/* SPDX-License-Identifier: Apache-2.0
 * protos/amqp/amqp_parse.c - AMQP 0-9-1 frames, methods, content headers
 * and field tables decoded as Packetbeat 8.x does; pure: no I/O, no globals.
 * Spec: https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf
 *
 * Packetbeat indexes and slices the frame payload directly; an index past
 * the payload, or a slice past the bytes behind it, makes its parser give
 * up on the whole connection. Every access here goes through the helpers
 * below, which model exactly that: `at` (an index, < len), `s16/s32/s64`
 * (a slice of 2/4/8 bytes that may run past the payload into the bytes that
 * follow it in the stream, as a Go slice may run up to its capacity) and
 * `tail32`. A failed access sets ctx->panic and the caller drops the
 * connection's state (AMQP_PANIC).
 */
#include "amqp_parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/event.h"

/* A view of bytes: n readable by index, cap reachable by a slice. */
struct view {
    const uint8_t *p; /* borrowed */
    uint32_t n;
    uint32_t cap;
};

struct ctx {
    const struct amqp_opts *o;
    bool panic;       /* an out-of-range access (see above) */
    bool nomem;       /* allocation failed */
    unsigned entries; /* field table entries decoded for this message */
};

/* ---- bounded access ---- */

static uint8_t at(struct ctx *x, struct view v, uint32_t i)
{
    if (x->panic || i >= v.n) {
        x->panic = true;
        return 0;
    }
    return v.p[i];
}

/* v[lo:hi] must satisfy lo <= hi <= cap (uint32 arithmetic as on the wire). */
static bool slice_ok(struct ctx *x, struct view v, uint32_t lo, uint32_t hi)
{
    if (x->panic || lo > hi || hi > v.cap) {
        x->panic = true;
        return false;
    }
    return true;
}

static uint64_t load_be(const uint8_t *p, unsigned n)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < n; i++) {
        r = (r << 8) | p[i];
    }
    return r;
}

static uint16_t s16(struct ctx *x, struct view v, uint32_t i)
{
    return slice_ok(x, v, i, i + 2u) ? (uint16_t)load_be(v.p + i, 2) : 0;
}

static uint32_t s32(struct ctx *x, struct view v, uint32_t i)
{
    return slice_ok(x, v, i, i + 4u) ? (uint32_t)load_be(v.p + i, 4) : 0;
}

static uint64_t s64(struct ctx *x, struct view v, uint32_t i)
{
    return slice_ok(x, v, i, i + 8u) ? load_be(v.p + i, 8) : 0;
}

/* A big-endian uint32 of v[i:] (needs i <= n and 4 bytes from there). */
static uint32_t tail32(struct ctx *x, struct view v, uint32_t i)
{
    if (x->panic || i > v.n || v.n - i < 4) {
        x->panic = true;
        return 0;
    }
    return (uint32_t)load_be(v.p + i, 4);
}

/* v[lo:] (lo <= n) and v[lo:hi] (lo <= hi <= cap). */
static struct view from(struct ctx *x, struct view v, uint32_t lo)
{
    struct view r = {v.p, 0, 0};
    if (x->panic || lo > v.n) {
        x->panic = true;
        return r;
    }
    r.p = v.p + lo;
    r.n = v.n - lo;
    r.cap = v.cap - lo;
    return r;
}

static struct view sub(struct ctx *x, struct view v, uint32_t lo, uint32_t hi)
{
    struct view r = {v.p, 0, 0};
    if (!slice_ok(x, v, lo, hi)) {
        return r;
    }
    r.p = v.p + lo;
    r.n = hi - lo;
    r.cap = v.cap - lo;
    return r;
}

/* Packetbeat's short-string reader, also used for long strings: `len`
 * bytes at `start`; len 0 is "" at any start. Returns false when the bytes
 * are not all there (a parse error, not a panic). */
struct str {
    const uint8_t *p; /* borrowed */
    uint32_t n;
};

static bool get_str(struct view v, uint32_t start, uint32_t len, struct str *s, uint32_t *next)
{
    s->p = NULL;
    s->n = 0;
    if (len == 0) {
        *next = start;
        return true;
    }
    if (v.n < start || v.n - start < len) {
        return false;
    }
    s->p = v.p + start;
    s->n = len;
    *next = start + len;
    return true;
}

/* ---- json helpers ---- */

static json_t *jstr(struct str s)
{
    return pb_json_strn(s.p != NULL ? (const char *)s.p : "", s.n);
}

static json_t *juint(uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return json_real((double)v);
    }
    return json_integer((json_int_t)v);
}

static void put(struct ctx *x, json_t *obj, const char *key, json_t *val)
{
    if (obj == NULL) {
        json_decref(val);
        x->nomem = true;
        return;
    }
    if (val == NULL || json_object_set_new(obj, key, val) < 0) {
        x->nomem = true;
    }
}

/* A key from wire bytes (invalid UTF-8 replaced, as the JSON encoder does). */
static void putn(struct ctx *x, json_t *obj, const uint8_t *k, size_t kn, json_t *val)
{
    json_t *ks = pb_json_strn(kn > 0 ? (const char *)k : "", kn);
    if (ks == NULL || val == NULL || obj == NULL ||
        json_object_setn_new(obj, json_string_value(ks), json_string_length(ks), val) < 0) {
        x->nomem = true;
        if (ks == NULL || obj == NULL) {
            json_decref(val);
        }
    }
    json_decref(ks);
}

/* The five low bits of a flags octet, bit 0 first. */
static void bits(uint8_t b, bool out[5])
{
    for (int i = 0; i < 5; i++) {
        out[i] = (b >> i) & 1;
    }
}

/* The bit flags in the octet at v[i]; false (panic) when v is too short. */
static bool flag_bits(struct ctx *x, struct view v, uint32_t i, bool out[5])
{
    bits(at(x, v, i), out);
    return !x->panic;
}

static void set_fields(struct ctx *x, struct amqp_msg *m, json_t *obj)
{
    if (obj == NULL) {
        x->nomem = true;
        return;
    }
    json_decref(m->fields);
    m->fields = obj;
}

static void set_request(struct ctx *x, struct amqp_msg *m, struct str a, const char *sep,
                        struct str b)
{
    size_t sl = sep != NULL ? strlen(sep) : 0;
    size_t n = a.n + (sep != NULL ? sl + b.n : 0);
    char *r = pb_malloc(n + 1);
    if (r == NULL) {
        x->nomem = true;
        return;
    }
    if (a.n > 0) {
        memcpy(r, a.p, a.n);
    }
    if (sep != NULL) {
        memcpy(r + a.n, sep, sl);
        if (b.n > 0) {
            memcpy(r + a.n + sl, b.p, b.n);
        }
    }
    r[n] = '\0';
    pb_free(m->request);
    m->request = r;
    m->request_len = n;
}

static void add_note(struct amqp_msg *m, const char *note)
{
    if (m->nnotes < AMQP_MAX_NOTES) {
        m->notes[m->nnotes++] = note;
    }
}

/* Go's time.Unix(sec, 0).Format("January _2 15:04:05 2006"), local time. */
static json_t *amqp_time(int64_t sec)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[64];
    if ((int64_t)t != sec || localtime_r(&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11) {
        return json_string_nocheck("");
    }
    long long year = (long long)tm.tm_year + 1900;
    snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d %04lld", months[tm.tm_mon], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, year);
    return json_string(buf);
}

/* A float32 as the shortest decimal that reads back as it, as a double. */
static json_t *jfloat32(uint32_t bitsv)
{
    float f;
    memcpy(&f, &bitsv, sizeof f);
    char buf[48];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) {
            break;
        }
    }
    return json_real(strtod(buf, NULL));
}

static json_t *jfloat64(uint64_t bitsv)
{
    double d;
    memcpy(&d, &bitsv, sizeof d);
    return json_real(d);
}

/* Packetbeat's decimal rendering: the unscaled value's digits with a '.'
 * inserted `scale` digits from the end when 1 <= scale <= digits. */
static json_t *jdecimal(uint8_t scale, uint32_t value)
{
    char digits[16], out[20];
    int n = snprintf(digits, sizeof digits, "%" PRIu32, value);
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (i == n - (int)scale) {
            out[j++] = '.';
        }
        out[j++] = digits[i];
    }
    out[j] = '\0';
    return json_string(out);
}

/* "[1, 2, 3]" */
static json_t *jbyte_array(struct view v)
{
    size_t cap = 2 + (size_t)v.n * 5 + 1;
    char *s = pb_malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    size_t k = 0;
    s[k++] = '[';
    for (uint32_t i = 0; i < v.n; i++) {
        k += (size_t)snprintf(s + k, cap - k, i > 0 ? ", %u" : "%u", v.p[i]);
    }
    s[k++] = ']';
    s[k] = '\0';
    json_t *r = json_stringn(s, k);
    pb_free(s);
    return r;
}

char *amqp_bytes_to_decimal(const uint8_t *p, size_t n, size_t *outlen)
{
    size_t cap = n * 4 + 1;
    char *s = pb_malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(s + k, cap - k, i > 0 ? " %u" : "%u", p[i]);
    }
    s[k] = '\0';
    *outlen = k;
    return s;
}

/* ---- field tables ---- */

static bool unmarshal(struct ctx *x, json_t *table, struct view d, uint32_t length, bool array,
                      int depth);

/* A table (or array) whose 4-byte length is at d[off]: its entries are
 * merged into `into`. Returns the offset after it; *err on a size or
 * content error; *exists when its length is not 0. */
static uint32_t get_table(struct ctx *x, json_t *into, struct view d, uint32_t off, bool array,
                          int depth, bool *err, bool *exists)
{
    *err = false;
    *exists = false;
    uint32_t length = s32(x, d, off);
    struct view rest = from(x, d, off + 4u);
    if (x->panic) {
        return 0;
    }
    if (length > rest.n) {
        *err = true;
        return 0;
    }
    if (length > 0) {
        *exists = true;
        if (depth >= AMQP_MAX_TABLE_DEPTH) {
            *err = true;
            *exists = false;
            return 0;
        }
        json_t *ret = json_object();
        if (ret == NULL) {
            x->nomem = true;
            *err = true;
            return 0;
        }
        struct view body = sub(x, d, off + 4u, off + 4u + length);
        if (unmarshal(x, ret, body, length, array, depth + 1) || x->panic) {
            json_decref(ret);
            *err = true;
            *exists = false;
            return 0;
        }
        if (json_object_update(into, ret) < 0) {
            x->nomem = true;
        }
        json_decref(ret);
    }
    return length + 4u + off;
}

/* Decodes the entries of d[0..length) into table. Returns true on error.
 *
 *   table entry: name (short string) | type octet | value
 *   array entry:                       type octet | value  (named "0", "1", ...)
 */
static bool unmarshal(struct ctx *x, json_t *table, struct view d, uint32_t length, bool array,
                      int depth)
{
    uint32_t off = 0;
    unsigned index = 0;
    while (off < length) {
        if (x->panic || x->nomem) {
            return true;
        }
        if (++x->entries > AMQP_MAX_TABLE_ENTRIES) {
            return true;
        }
        const uint8_t *name = NULL;
        size_t name_len = 0;
        char idx[16];
        if (!array) {
            uint8_t nl = at(x, d, off);
            if (x->panic) {
                return true;
            }
            struct str s;
            uint32_t next;
            if (!get_str(d, off + 1u, nl, &s, &next)) {
                return true;
            }
            name = s.p;
            name_len = s.n;
            off = next;
        } else {
            name_len = (size_t)snprintf(idx, sizeof idx, "%u", index++);
            name = (const uint8_t *)idx;
        }
        json_t *val = NULL;
        uint8_t type = at(x, d, off);
        if (x->panic) {
            return true;
        }
        switch (type) {
        case 't':
            val = json_boolean(at(x, d, off + 1u) == 1);
            off += 2;
            break;
        case 'b':
            val = json_integer((int8_t)at(x, d, off + 1u));
            off += 2;
            break;
        case 'B':
            val = json_integer(at(x, d, off + 1u));
            off += 2;
            break;
        case 'U':
            val = json_integer((int16_t)s16(x, d, off + 1u));
            off += 3;
            break;
        case 'u':
            val = json_integer(s16(x, d, off + 1u));
            off += 3;
            break;
        case 'I': /* Packetbeat widens it unsigned */
        case 'i':
            val = json_integer(s32(x, d, off + 1u));
            off += 5;
            break;
        case 'L':
            val = json_integer((json_int_t)(int64_t)s64(x, d, off + 1u));
            off += 9;
            break;
        case 'l':
            val = juint(s64(x, d, off + 1u));
            off += 9;
            break;
        case 'f':
            val = jfloat32(s32(x, d, off + 1u));
            off += 5;
            break;
        case 'd':
            val = jfloat64(s64(x, d, off + 1u));
            off += 9;
            break;
        case 'D': {
            uint8_t scale = at(x, d, off + 1u);
            uint32_t v = s32(x, d, off + 2u);
            val = jdecimal(scale, v);
            off += 6;
            break;
        }
        case 's': {
            uint8_t l = at(x, d, off + 1u);
            if (x->panic) {
                return true;
            }
            struct str s;
            uint32_t next;
            if (!get_str(d, off + 2u, l, &s, &next)) {
                return true;
            }
            val = jstr(s);
            off = next;
            break;
        }
        case 'S': {
            uint32_t l = s32(x, d, off + 1u);
            if (x->panic) {
                return true;
            }
            struct str s;
            uint32_t next;
            if (!get_str(d, off + 5u, l, &s, &next)) {
                return true;
            }
            val = jstr(s);
            off = next;
            break;
        }
        case 'A':
        case 'F': {
            json_t *inner = json_object();
            if (inner == NULL) {
                x->nomem = true;
                return true;
            }
            bool err = false, exists = false;
            uint32_t next = get_table(x, inner, d, off + 1u, type == 'A', depth, &err, &exists);
            if (err || x->panic) {
                json_decref(inner);
                return true;
            }
            val = inner;
            off = next;
            break;
        }
        case 'T':
            val = amqp_time((int64_t)s64(x, d, off + 1u));
            off += 9;
            break;
        case 'V':
            val = json_null();
            off += 1;
            break;
        case 'x': {
            /* Packetbeat shows the 4 bytes at [off+1+size, off+5+size) */
            uint32_t size = s32(x, d, off + 1u);
            struct view b = sub(x, d, off + 1u + size, off + 5u + size);
            if (x->panic) {
                return true;
            }
            val = jbyte_array(b);
            off += 5u + size;
            break;
        }
        default:
            return true;
        }
        if (x->panic) {
            json_decref(val);
            return true;
        }
        putn(x, table, name, name_len, val);
    }
    return false;
}

/* Optional argument table after a method's fields at args[off]: skipped
 * when its first octet is the frame-end value, as Packetbeat does. */
static void method_arguments(struct ctx *x, struct amqp_msg *m, struct view args, uint32_t off)
{
    uint8_t first = at(x, args, off);
    if (x->panic || first == AMQP_FRAME_END || !x->o->parse_arguments) {
        return;
    }
    json_t *a = json_object();
    if (a == NULL) {
        x->nomem = true;
        return;
    }
    bool err = false, exists = false;
    get_table(x, a, args, off, false, 0, &err, &exists);
    if (x->panic) {
        json_decref(a);
        return;
    }
    if (!err && exists) {
        put(x, m->fields, "arguments", a);
        return;
    }
    json_decref(a);
    if (err) {
        add_note(m, "Failed to parse additional arguments");
    }
}

/* ---- methods ---- */

enum mres { M_INCOMPLETE, M_COMPLETE, M_ERROR };

typedef enum mres (*method_fn)(struct ctx *x, struct amqp_msg *m, struct view a);

/* A short string whose length octet is at a[lenat], bytes right after. */
static bool sstr(struct ctx *x, struct view a, uint32_t lenat, struct str *s, uint32_t *next)
{
    uint8_t l = at(x, a, lenat);
    if (x->panic) {
        return false;
    }
    return get_str(a, lenat + 1u, l, s, next);
}

/* A long string whose 4-byte length is at a[lenat]. */
static bool lstr(struct ctx *x, struct view a, uint32_t lenat, struct str *s, uint32_t *next)
{
    uint32_t l = s32(x, a, lenat);
    if (x->panic) {
        return false;
    }
    return get_str(a, lenat + 4u, l, s, next);
}

static enum mres ok_method(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)m;
    (void)a;
    return M_COMPLETE;
}

static enum mres connection_start(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint8_t major = at(x, a, 0), minor = at(x, a, 1);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *props = json_object();
    bool err = false, exists = false;
    uint32_t next = get_table(x, props, a, 2, false, 0, &err, &exists);
    struct str mech, loc;
    if (x->panic || err || props == NULL || !lstr(x, a, next, &mech, &next) ||
        !lstr(x, a, next, &loc, &next)) {
        json_decref(props);
        return M_ERROR;
    }
    m->method = "connection.start";
    m->is_request = true;
    json_t *f = json_object();
    put(x, f, "version-major", json_integer(major));
    put(x, f, "version-minor", json_integer(minor));
    put(x, f, "mechanisms", jstr(mech));
    put(x, f, "locales", jstr(loc));
    if (exists) {
        put(x, f, "server-properties", props);
    } else {
        json_decref(props);
    }
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres connection_start_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    json_t *props = json_object();
    bool err = false, exists = false;
    uint32_t next = get_table(x, props, a, 0, false, 0, &err, &exists);
    struct str mech, resp, loc;
    if (x->panic || err || props == NULL || !sstr(x, a, next, &mech, &next) ||
        !lstr(x, a, next, &resp, &next) || !sstr(x, a, next, &loc, &next)) {
        json_decref(props);
        return M_ERROR;
    }
    m->is_request = false;
    json_t *f = json_object();
    put(x, f, "mechanism", jstr(mech));
    put(x, f, "locale", jstr(loc));
    if (exists) {
        put(x, f, "client-properties", props);
    } else {
        json_decref(props);
    }
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres connection_tune(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    m->is_request = true;
    m->method = "connection.tune";
    return M_COMPLETE;
}

static enum mres connection_tune_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint16_t chmax = s16(x, a, 0);
    uint32_t fmax = s32(x, a, 2);
    uint16_t hb = s16(x, a, 6);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "channel-max", json_integer(chmax));
    put(x, f, "frame-max", json_integer(fmax));
    put(x, f, "heartbeat", json_integer(hb));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres connection_open(struct ctx *x, struct amqp_msg *m, struct view a)
{
    m->is_request = true;
    m->method = "connection.open";
    struct str host;
    uint32_t next;
    if (!sstr(x, a, 0, &host, &next)) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "virtual-host", jstr(host));
    set_fields(x, m, f);
    return M_COMPLETE;
}

/* connection.close / channel.close: reply-code, reply-text, class-id, method-id */
static bool close_info(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint16_t code = s16(x, a, 0);
    if (x->panic) {
        return false;
    }
    m->is_request = true;
    struct str text;
    uint32_t next;
    if (!sstr(x, a, 2, &text, &next)) {
        return false;
    }
    uint16_t cls = s16(x, a, next), mth = s16(x, a, next + 2u);
    if (x->panic) {
        return false;
    }
    json_t *f = json_object();
    put(x, f, "reply-code", json_integer(code));
    put(x, f, "reply-text", jstr(text));
    put(x, f, "class-id", json_integer(cls));
    put(x, f, "method-id", json_integer(mth));
    set_fields(x, m, f);
    return true;
}

static enum mres connection_close(struct ctx *x, struct amqp_msg *m, struct view a)
{
    if (!close_info(x, m, a)) {
        return M_ERROR;
    }
    m->method = "connection.close";
    m->is_request = true;
    return M_COMPLETE;
}

static enum mres channel_open(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    m->method = "channel.open";
    m->is_request = true;
    return M_COMPLETE;
}

static enum mres channel_flow(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    m->method = "channel.flow";
    m->is_request = true;
    return M_COMPLETE;
}

static enum mres channel_flow_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint8_t b = at(x, a, 0);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "active", json_boolean(b & 1));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres channel_close(struct ctx *x, struct amqp_msg *m, struct view a)
{
    m->method = "channel.close";
    m->is_request = true;
    return close_info(x, m, a) ? M_COMPLETE : M_ERROR;
}

static enum mres queue_declare(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str name;
    uint32_t off;
    if (!sstr(x, a, 2, &name, &off)) {
        return M_ERROR;
    }
    m->is_request = true;
    m->method = "queue.declare";
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    set_request(x, m, name, NULL, name);
    json_t *f = json_object();
    put(x, f, "queue", jstr(name));
    put(x, f, "passive", json_boolean(p[0]));
    put(x, f, "durable", json_boolean(p[1]));
    put(x, f, "exclusive", json_boolean(p[2]));
    put(x, f, "auto-delete", json_boolean(p[3]));
    put(x, f, "no-wait", json_boolean(p[4]));
    set_fields(x, m, f);
    method_arguments(x, m, a, off + 1u);
    return M_COMPLETE;
}

static enum mres queue_declare_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str name;
    uint32_t next;
    if (!sstr(x, a, 0, &name, &next)) {
        return M_ERROR;
    }
    m->method = "queue.declare-ok";
    uint32_t consumers = tail32(x, a, next + 4u);
    uint32_t messages = s32(x, a, next);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "queue", jstr(name));
    put(x, f, "consumer-count", json_integer(consumers));
    put(x, f, "message-count", json_integer(messages));
    set_fields(x, m, f);
    return M_COMPLETE;
}

/* queue.bind and queue.unbind: queue, exchange, routing-key [, no-wait] */
static enum mres queue_bind_common(struct ctx *x, struct amqp_msg *m, struct view a, bool bind)
{
    struct str queue, exchange, rkey;
    uint32_t off;
    if (!sstr(x, a, 2, &queue, &off)) {
        return M_ERROR;
    }
    if (bind) {
        m->is_request = true;
    }
    if (!sstr(x, a, off, &exchange, &off) || !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    bool p[5] = {false};
    if (bind) {
        if (!flag_bits(x, a, off, p)) {
            return M_ERROR;
        }
    }
    m->is_request = true;
    m->method = bind ? "queue.bind" : "queue.unbind";
    set_request(x, m, queue, " ", exchange);
    json_t *f = json_object();
    put(x, f, "queue", jstr(queue));
    put(x, f, "routing-key", jstr(rkey));
    if (bind) {
        put(x, f, "no-wait", json_boolean(p[0]));
    }
    if (exchange.n > 0) {
        put(x, f, "exchange", jstr(exchange));
    }
    set_fields(x, m, f);
    method_arguments(x, m, a, off + 1u);
    return M_COMPLETE;
}

static enum mres queue_bind(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return queue_bind_common(x, m, a, true);
}

static enum mres queue_unbind(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return queue_bind_common(x, m, a, false);
}

static enum mres queue_purge(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str queue;
    uint32_t off;
    if (!sstr(x, a, 2, &queue, &off)) {
        return M_ERROR;
    }
    m->is_request = true;
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->method = "queue.purge";
    set_request(x, m, queue, NULL, queue);
    json_t *f = json_object();
    put(x, f, "queue", jstr(queue));
    put(x, f, "no-wait", json_boolean(p[0]));
    set_fields(x, m, f);
    return M_COMPLETE;
}

/* queue.purge-ok / queue.delete-ok: message-count */
static enum mres message_count_ok(struct ctx *x, struct amqp_msg *m, struct view a,
                                  const char *method)
{
    m->method = method;
    uint32_t n = s32(x, a, 0);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "message-count", json_integer(n));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres queue_purge_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return message_count_ok(x, m, a, "queue.purge-ok");
}

static enum mres queue_delete(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str queue;
    uint32_t off;
    if (!sstr(x, a, 2, &queue, &off)) {
        return M_ERROR;
    }
    m->is_request = true;
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->method = "queue.delete";
    set_request(x, m, queue, NULL, queue);
    json_t *f = json_object();
    put(x, f, "queue", jstr(queue));
    put(x, f, "if-unused", json_boolean(p[0]));
    put(x, f, "if-empty", json_boolean(p[1]));
    put(x, f, "no-wait", json_boolean(p[2]));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres queue_delete_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return message_count_ok(x, m, a, "queue.delete-ok");
}

static enum mres exchange_declare(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str exchange, type;
    uint32_t off;
    if (!sstr(x, a, 2, &exchange, &off) || !sstr(x, a, off, &type, &off)) {
        return M_ERROR;
    }
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->method = "exchange.declare";
    m->is_request = true;
    set_request(x, m, exchange, NULL, exchange);
    json_t *f = json_object();
    put(x, f, "exchange", jstr(exchange));
    put(x, f, "exchange-type", type.n > 0 ? jstr(type) : json_string_nocheck("direct"));
    put(x, f, "passive", json_boolean(p[0]));
    put(x, f, "durable", json_boolean(p[1]));
    put(x, f, "no-wait", json_boolean(p[4]));
    set_fields(x, m, f);
    method_arguments(x, m, a, off + 1u);
    return M_COMPLETE;
}

static enum mres exchange_delete(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str exchange;
    uint32_t off;
    if (!sstr(x, a, 2, &exchange, &off)) {
        return M_ERROR;
    }
    m->method = "exchange.delete";
    m->is_request = true;
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    set_request(x, m, exchange, NULL, exchange);
    json_t *f = json_object();
    put(x, f, "exchange", jstr(exchange));
    put(x, f, "if-unused", json_boolean(p[0]));
    put(x, f, "no-wait", json_boolean(p[1]));
    set_fields(x, m, f);
    return M_COMPLETE;
}

/* exchange.bind / exchange.unbind (RabbitMQ): destination, source,
 * routing-key, no-wait, arguments */
static enum mres exchange_bind_common(struct ctx *x, struct amqp_msg *m, struct view a,
                                      const char *method)
{
    m->method = method;
    struct str dst, src, rkey;
    uint32_t off;
    if (!sstr(x, a, 2, &dst, &off) || !sstr(x, a, off, &src, &off) ||
        !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    m->is_request = true;
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    set_request(x, m, src, " ", dst);
    json_t *f = json_object();
    put(x, f, "destination", jstr(dst));
    put(x, f, "source", jstr(src));
    put(x, f, "routing-key", jstr(rkey));
    put(x, f, "no-wait", json_boolean(p[0]));
    set_fields(x, m, f);
    method_arguments(x, m, a, off + 1u);
    return M_COMPLETE;
}

static enum mres exchange_bind(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return exchange_bind_common(x, m, a, "exchange.bind");
}

static enum mres exchange_unbind(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return exchange_bind_common(x, m, a, "exchange.unbind");
}

static enum mres basic_qos(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint32_t size = s32(x, a, 0);
    uint16_t count = s16(x, a, 4);
    uint8_t b = at(x, a, 6);
    if (x->panic) {
        return M_ERROR;
    }
    m->is_request = true;
    m->method = "basic.qos";
    json_t *f = json_object();
    put(x, f, "prefetch-size", json_integer(size));
    put(x, f, "prefetch-count", json_integer(count));
    put(x, f, "global", json_boolean(b & 1));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres basic_consume(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str queue, tag;
    uint32_t off;
    if (!sstr(x, a, 2, &queue, &off) || !sstr(x, a, off, &tag, &off)) {
        return M_ERROR;
    }
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->method = "basic.consume";
    m->is_request = true;
    set_request(x, m, queue, NULL, queue);
    json_t *f = json_object();
    put(x, f, "queue", jstr(queue));
    put(x, f, "consumer-tag", jstr(tag));
    put(x, f, "no-local", json_boolean(p[0]));
    put(x, f, "no-ack", json_boolean(p[1]));
    put(x, f, "exclusive", json_boolean(p[2]));
    put(x, f, "no-wait", json_boolean(p[3]));
    set_fields(x, m, f);
    method_arguments(x, m, a, off + 1u);
    return M_COMPLETE;
}

/* basic.consume-ok / basic.cancel-ok: consumer-tag */
static enum mres consumer_tag_ok(struct ctx *x, struct amqp_msg *m, struct view a,
                                 const char *method)
{
    struct str tag;
    uint32_t off;
    if (!sstr(x, a, 0, &tag, &off)) {
        return M_ERROR;
    }
    m->method = method;
    json_t *f = json_object();
    put(x, f, "consumer-tag", jstr(tag));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres basic_consume_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return consumer_tag_ok(x, m, a, "basic.consume-ok");
}

static enum mres basic_cancel(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str tag;
    uint32_t off;
    if (!sstr(x, a, 0, &tag, &off)) {
        return M_ERROR;
    }
    m->method = "basic.cancel";
    m->is_request = true;
    set_request(x, m, tag, NULL, tag);
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "consumer-tag", jstr(tag));
    put(x, f, "no-wait", json_boolean(p[0]));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres basic_cancel_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return consumer_tag_ok(x, m, a, "basic.cancel-ok");
}

static enum mres basic_publish(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str exchange, rkey;
    uint32_t off;
    if (!sstr(x, a, 2, &exchange, &off) || !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->method = "basic.publish";
    json_t *f = json_object();
    put(x, f, "routing-key", jstr(rkey));
    put(x, f, "mandatory", json_boolean(p[0]));
    put(x, f, "immediate", json_boolean(p[1]));
    if (exchange.n > 0) {
        put(x, f, "exchange", jstr(exchange));
    }
    set_fields(x, m, f);
    return M_INCOMPLETE;
}

static enum mres basic_return(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint16_t code = s16(x, a, 0);
    if (x->panic) {
        return M_ERROR;
    }
    if (code < 300) {
        return M_INCOMPLETE; /* not an error: nothing to note */
    }
    struct str text, exchange, rkey;
    uint32_t off;
    if (!sstr(x, a, 2, &text, &off) || !sstr(x, a, off, &exchange, &off) ||
        !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    m->method = "basic.return";
    json_t *f = json_object();
    put(x, f, "exchange", jstr(exchange));
    put(x, f, "routing-key", jstr(rkey));
    put(x, f, "reply-code", json_integer(code));
    put(x, f, "reply-text", jstr(text));
    set_fields(x, m, f);
    return M_INCOMPLETE;
}

static enum mres basic_deliver(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str tag, exchange, rkey;
    uint32_t off;
    if (!sstr(x, a, 0, &tag, &off)) {
        return M_ERROR;
    }
    uint64_t dtag = s64(x, a, off);
    bool p[5];
    if (!flag_bits(x, a, off + 8u, p)) {
        return M_ERROR;
    }
    off += 9;
    if (!sstr(x, a, off, &exchange, &off) || !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    m->method = "basic.deliver";
    json_t *f = json_object();
    put(x, f, "consumer-tag", jstr(tag));
    put(x, f, "delivery-tag", juint(dtag));
    put(x, f, "redelivered", json_boolean(p[0]));
    put(x, f, "routing-key", jstr(rkey));
    if (exchange.n > 0) {
        put(x, f, "exchange", jstr(exchange));
    }
    set_fields(x, m, f);
    return M_INCOMPLETE;
}

static enum mres basic_get(struct ctx *x, struct amqp_msg *m, struct view a)
{
    struct str queue;
    uint32_t off;
    if (!sstr(x, a, 2, &queue, &off)) {
        return M_ERROR;
    }
    m->method = "basic.get";
    bool p[5];
    if (!flag_bits(x, a, off, p)) {
        return M_ERROR;
    }
    m->is_request = true;
    set_request(x, m, queue, NULL, queue);
    json_t *f = json_object();
    put(x, f, "queue", jstr(queue));
    put(x, f, "no-ack", json_boolean(p[0]));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres basic_get_ok(struct ctx *x, struct amqp_msg *m, struct view a)
{
    bool p[5];
    if (!flag_bits(x, a, 8, p)) {
        return M_ERROR;
    }
    struct str exchange, rkey;
    uint32_t off;
    if (!sstr(x, a, 9, &exchange, &off) || !sstr(x, a, off, &rkey, &off)) {
        return M_ERROR;
    }
    m->method = "basic.get-ok";
    uint64_t dtag = s64(x, a, 0);
    uint32_t count = s32(x, a, off);
    if (x->panic) {
        return M_ERROR;
    }
    json_t *f = json_object();
    put(x, f, "delivery-tag", juint(dtag));
    put(x, f, "redelivered", json_boolean(p[0]));
    put(x, f, "routing-key", jstr(rkey));
    put(x, f, "message-count", json_integer(count));
    if (exchange.n > 0) {
        put(x, f, "exchange", jstr(exchange));
    }
    set_fields(x, m, f);
    return M_INCOMPLETE;
}

static enum mres basic_get_empty(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    m->method = "basic.get-empty";
    return M_COMPLETE;
}

/* basic.ack / basic.nack / basic.reject: delivery-tag, flags */
static enum mres basic_ack_common(struct ctx *x, struct amqp_msg *m, struct view a,
                                  const char *method, bool requeue, bool request)
{
    bool p[5];
    bits(at(x, a, 8), p);
    uint64_t tag = s64(x, a, 0);
    if (x->panic) {
        return M_ERROR;
    }
    m->method = method;
    m->is_request = true;
    json_t *f = json_object();
    put(x, f, "delivery-tag", juint(tag));
    put(x, f, "multiple", json_boolean(p[0]));
    if (requeue) {
        put(x, f, "requeue", json_boolean(p[1]));
    }
    set_fields(x, m, f);
    if (request) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "%" PRIu64, tag);
        struct str s = {(const uint8_t *)buf, (uint32_t)n};
        set_request(x, m, s, NULL, s);
    }
    return M_COMPLETE;
}

static enum mres basic_ack(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return basic_ack_common(x, m, a, "basic.ack", false, false);
}

static enum mres basic_nack(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return basic_ack_common(x, m, a, "basic.nack", true, false);
}

static enum mres basic_reject(struct ctx *x, struct amqp_msg *m, struct view a)
{
    return basic_ack_common(x, m, a, "basic.reject", false, true);
}

static enum mres basic_recover(struct ctx *x, struct amqp_msg *m, struct view a)
{
    uint8_t b = at(x, a, 0);
    if (x->panic) {
        return M_ERROR;
    }
    m->is_request = true;
    m->method = "basic.recover";
    json_t *f = json_object();
    put(x, f, "requeue", json_boolean(b & 1));
    set_fields(x, m, f);
    return M_COMPLETE;
}

static enum mres tx_method(struct amqp_msg *m, const char *method)
{
    m->is_request = true;
    m->method = method;
    return M_COMPLETE;
}

static enum mres tx_select(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    return tx_method(m, "tx.select");
}

static enum mres tx_commit(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    return tx_method(m, "tx.commit");
}

static enum mres tx_rollback(struct ctx *x, struct amqp_msg *m, struct view a)
{
    (void)x;
    (void)a;
    return tx_method(m, "tx.rollback");
}

/* The methods Packetbeat decodes; `conn_info` ones only when
 * hide_connection_information is off. Anything else drops the stream. */
static const struct {
    uint16_t cls, mth;
    bool conn_info;
    method_fn fn;
} methods[] = {
    {10, 10, true, connection_start},  {10, 11, true, connection_start_ok},
    {10, 30, true, connection_tune},   {10, 31, true, connection_tune_ok},
    {10, 40, true, connection_open},   {10, 41, true, ok_method},
    {10, 50, false, connection_close}, {10, 51, false, ok_method},
    {20, 10, true, channel_open},      {20, 11, true, ok_method},
    {20, 20, true, channel_flow},      {20, 21, true, channel_flow_ok},
    {20, 40, false, channel_close},    {20, 41, false, ok_method},
    {40, 10, false, exchange_declare}, {40, 11, false, ok_method},
    {40, 20, false, exchange_delete},  {40, 21, false, ok_method},
    {40, 30, false, exchange_bind},    {40, 31, false, ok_method},
    {40, 40, false, exchange_unbind},  {40, 51, false, ok_method},
    {50, 10, false, queue_declare},    {50, 11, false, queue_declare_ok},
    {50, 20, false, queue_bind},       {50, 21, false, ok_method},
    {50, 30, false, queue_purge},      {50, 31, false, queue_purge_ok},
    {50, 40, false, queue_delete},     {50, 41, false, queue_delete_ok},
    {50, 50, false, queue_unbind},     {50, 51, false, ok_method},
    {60, 10, true, basic_qos},         {60, 11, true, ok_method},
    {60, 20, false, basic_consume},    {60, 21, false, basic_consume_ok},
    {60, 30, false, basic_cancel},     {60, 31, false, basic_cancel_ok},
    {60, 40, false, basic_publish},    {60, 50, false, basic_return},
    {60, 60, false, basic_deliver},    {60, 70, false, basic_get},
    {60, 71, false, basic_get_ok},     {60, 72, false, basic_get_empty},
    {60, 80, false, basic_ack},        {60, 90, false, basic_reject},
    {60, 110, false, basic_recover},   {60, 111, false, ok_method},
    {60, 120, false, basic_nack},      {90, 10, false, tx_select},
    {90, 11, false, ok_method},        {90, 20, false, tx_commit},
    {90, 21, false, ok_method},        {90, 30, false, tx_rollback},
    {90, 31, false, ok_method},
};

static method_fn find_method(const struct amqp_opts *o, uint16_t cls, uint16_t mth)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (methods[i].cls == cls && methods[i].mth == mth) {
            if (methods[i].conn_info && o->hide_connection_information) {
                return NULL;
            }
            return methods[i].fn;
        }
    }
    return NULL;
}

/*
 * Method frame payload:
 *   0          2           4
 *   +----------+-----------+-------------- - -
 *   | class-id | method-id | arguments...
 *   +----------+-----------+-------------- - -
 */
static enum mres decode_method(struct ctx *x, struct amqp_msg *m, struct view buf)
{
    if (buf.n < 4) {
        return M_INCOMPLETE; /* too small: skipped */
    }
    uint16_t cls = (uint16_t)load_be(buf.p, 2);
    uint16_t mth = (uint16_t)load_be(buf.p + 2, 2);
    struct view args = from(x, buf, 4);
    m->body_size = args.n;
    method_fn fn = find_method(x->o, cls, mth);
    if (fn == NULL) {
        return M_ERROR;
    }
    return fn(x, m, args);
}

/* Assigning into a message without fields is where Packetbeat panics. */
static bool put_prop(struct ctx *x, struct amqp_msg *m, const char *key, json_t *val)
{
    if (m->fields == NULL) {
        json_decref(val);
        x->panic = true;
        return false;
    }
    put(x, m->fields, key, val);
    return true;
}

/* Short-string property at data[*off] (length octet first). false: error. */
static bool prop_str(struct ctx *x, struct amqp_msg *m, struct view d, uint32_t *off,
                     const char *key)
{
    struct str s;
    uint32_t next;
    if (!sstr(x, d, *off, &s, &next)) {
        return false;
    }
    if (!put_prop(x, m, key, jstr(s))) {
        return false;
    }
    *off = next;
    return true;
}

/*
 * Content header properties (after class-id, weight, body size):
 *   property flags (16 bits, more flag words while bit 0 is set) | property list
 *   flags 1: content-type 0x80, content-encoding 0x40, headers 0x20,
 *            delivery-mode 0x10, priority 0x08, correlation-id 0x04,
 *            reply-to 0x02, expiration 0x01
 *   flags 2: message-id 0x80, timestamp 0x40, type 0x20, user-id 0x10,
 *            app-id 0x08
 * Returns false on an error (the stream is dropped).
 */
static bool properties(struct ctx *x, struct amqp_msg *m, struct view d)
{
    uint8_t p1 = at(x, d, 0), p2 = at(x, d, 1);
    uint32_t off = 2;
    for (uint32_t last = 1; !x->panic && (at(x, d, last) & 1) == 1; last += 2) {
        off += 2;
    }
    if (x->panic) {
        return false;
    }
    if ((p1 & 0x80) && !prop_str(x, m, d, &off, "content-type")) {
        return false;
    }
    if ((p1 & 0x40) && !prop_str(x, m, d, &off, "content-encoding")) {
        return false;
    }
    if (p1 & 0x20) {
        json_t *h = json_object();
        if (h == NULL) {
            x->nomem = true;
            return false;
        }
        bool err = false, exists = false;
        uint32_t next = get_table(x, h, d, off, false, 0, &err, &exists);
        if (x->panic || err) {
            json_decref(h);
            return false;
        }
        if (exists) {
            if (!put_prop(x, m, "headers", h)) {
                return false;
            }
        } else {
            json_decref(h);
        }
        off = next;
    }
    if (p1 & 0x10) {
        uint8_t mode = at(x, d, off);
        if (x->panic) {
            return false;
        }
        if (mode == 1 && !put_prop(x, m, "delivery-mode", json_string_nocheck("non-persistent"))) {
            return false;
        }
        if (mode == 2 && !put_prop(x, m, "delivery-mode", json_string_nocheck("persistent"))) {
            return false;
        }
        off++;
    }
    if (p1 & 0x08) {
        uint8_t prio = at(x, d, off);
        if (x->panic || !put_prop(x, m, "priority", json_integer(prio))) {
            return false;
        }
        off++;
    }
    if ((p1 & 0x04) && !prop_str(x, m, d, &off, "correlation-id")) {
        return false;
    }
    if ((p1 & 0x02) && !prop_str(x, m, d, &off, "reply-to")) {
        return false;
    }
    if ((p1 & 0x01) && !prop_str(x, m, d, &off, "expiration")) {
        return false;
    }
    if ((p2 & 0x80) && !prop_str(x, m, d, &off, "message-id")) {
        return false;
    }
    if (p2 & 0x40) {
        uint64_t ts = s64(x, d, off);
        if (x->panic || !put_prop(x, m, "timestamp", amqp_time((int64_t)ts))) {
            return false;
        }
        off += 8;
    }
    if ((p2 & 0x20) && !prop_str(x, m, d, &off, "type")) {
        return false;
    }
    if ((p2 & 0x10) && !prop_str(x, m, d, &off, "user-id")) {
        return false;
    }
    if ((p2 & 0x08) && !prop_str(x, m, d, &off, "app-id")) {
        return false;
    }
    return true;
}

/*
 * Content header payload:
 *   0          2        4           12               14
 *   +----------+--------+-----------+----------------+------------- - -
 *   | class-id | weight | body size | property flags | property list...
 *   +----------+--------+-----------+----------------+------------- - -
 */
static bool decode_header(struct ctx *x, struct amqp_msg *m, struct view buf)
{
    if (buf.n < 14) {
        return true; /* too small: skipped */
    }
    m->body_size = load_be(buf.p + 4, 8);
    if (x->o->parse_headers) {
        return properties(x, m, from(x, buf, 12));
    }
    return true;
}

static void decode_body(struct ctx *x, struct amqp_msg *m, struct view buf)
{
    size_t room = x->o->body_keep > m->body_kept ? x->o->body_keep - m->body_kept : 0;
    size_t take = buf.n < room ? buf.n : room;
    if (take > 0) {
        if (m->body_kept + take > m->body_alloc) {
            size_t na = m->body_alloc ? m->body_alloc : 256;
            while (na < m->body_kept + take) {
                na *= 2;
            }
            if (na > x->o->body_keep) {
                na = x->o->body_keep;
            }
            uint8_t *nb = pb_realloc(m->body, na);
            if (nb == NULL) {
                x->nomem = true;
                take = 0;
            } else {
                m->body = nb;
                m->body_alloc = na;
            }
        }
        if (take > 0) {
            memcpy(m->body + m->body_kept, buf.p, take);
            m->body_kept += take;
        }
    }
    m->body_len += buf.n;
}

enum amqp_res amqp_parse(const struct amqp_opts *o, struct amqp_msg *m, const uint8_t *data,
                         size_t len, size_t *off)
{
    struct ctx x = {.o = o};
    bool ok = false;
    if (*off >= len) {
        return AMQP_EMPTY;
    }
    while (*off < len) {
        size_t left = len - *off;
        const uint8_t *p = data + *off;
        if (left < 8) {
            return AMQP_MORE;
        }
        if (memcmp(p, "AMQP", 4) == 0 && p[4] == 0) {
            /* protocol header: "AMQP" 0 major minor revision */
            *off += 8;
            p += 8;
            left -= 8;
        }
        /*
         * Frame:
         *   0      1         3             7                  size+7
         *   +------+---------+-------------+  +------------+  +-----------+
         *   | type | channel |    size     |  |  payload   |  | frame-end |
         *   +------+---------+-------------+  +------------+  +-----------+
         */
        if (left < 8) {
            return AMQP_MORE;
        }
        uint32_t size = (uint32_t)load_be(p + 3, 4);
        if ((uint64_t)left < (uint64_t)size + 8) {
            return AMQP_MORE;
        }
        if (p[(size_t)size + 7] != AMQP_FRAME_END) {
            return AMQP_ERROR;
        }
        size_t avail = left - 7 > UINT32_MAX ? UINT32_MAX : left - 7;
        struct view payload = {p + 7, size, (uint32_t)avail};
        bool complete = false;
        switch (p[0]) {
        case AMQP_FRAME_METHOD: {
            enum mres r = decode_method(&x, m, payload);
            ok = r != M_ERROR;
            complete = r == M_COMPLETE;
            break;
        }
        case AMQP_FRAME_HEADER:
            ok = decode_header(&x, m, payload);
            break;
        case AMQP_FRAME_BODY:
            decode_body(&x, m, payload);
            ok = true;
            complete = m->body_len >= m->body_size;
            break;
        case AMQP_FRAME_HEARTBEAT:
            break; /* keeps the previous frame's result (none: an error) */
        default:
            return AMQP_ERROR;
        }
        if (x.panic) {
            return AMQP_PANIC;
        }
        if (x.nomem) {
            return AMQP_ERROR;
        }
        *off += 8 + (size_t)size;
        if (!ok) {
            return AMQP_ERROR;
        }
        if (complete) {
            return AMQP_COMPLETE;
        }
    }
    return ok ? AMQP_MORE : AMQP_ERROR;
}

unsigned amqp_reply_code(const json_t *fields)
{
    json_t *v = json_object_get(fields, "reply-code");
    return json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
}

void amqp_msg_free(struct amqp_msg *m)
{
    if (m == NULL) {
        return;
    }
    pb_free(m->request);
    json_decref(m->fields);
    pb_free(m->body);
    memset(m, 0, sizeof *m);
}
