/* SPDX-License-Identifier: Apache-2.0
 * beat/processors_text.c - libbeat processors that rewrite field values or
 * keys: convert, decode_base64_field, decode_json_fields, dissect, replace
 * (Go RE2 syntax through PCRE2), urldecode, lowercase and uppercase.
 *
 * Error handling follows libbeat: with fail_on_error the event is restored
 * to what it was before the processor and error.message says why; without
 * it the processor goes on with the next field.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PB_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/log.h"
#include "beat/net.h"
#include "beat/processors_int.h"

#define JSON_MAX_DEPTH_CAP 32 /* decode_json_fields max_depth is clamped */
#define DISSECT_MAX_KEYS 64
#define REPLACE_MAX_OUT (1024u * 1024u)

static int cfg_fail(char *err, size_t errlen, const char *who)
{
    snprintf(err, errlen, "%s: %s", who, pb_cfg_errmsg());
    return -1;
}

/* Restores the backup (fail_on_error) and records msg. Returns the event to
 * continue with. */
static json_t *fail_event(struct pb_proc *p, json_t *ev, json_t **backup, const char *msg)
{
    if (p->fail_on_error && *backup != NULL) {
        json_decref(ev);
        ev = *backup;
        *backup = NULL;
        pb_proc_add_error(ev, msg);
    } else {
        pb_debug("processors", "%s: %s", p->kind->name, msg);
    }
    return ev;
}

/* ---- convert -------------------------------------------------------------- */

enum conv_type { CT_NONE, CT_INTEGER, CT_LONG, CT_FLOAT, CT_DOUBLE, CT_BOOLEAN, CT_STRING, CT_IP };

struct conv {
    enum conv_type types[PB_PROC_MAX_FIELDS];
    bool rename;
    char *tag;
};

static void fini_conv(struct pb_proc *p)
{
    struct conv *c = p->priv;
    if (c != NULL) {
        pb_free(c->tag);
        pb_free(c);
    }
}

static int init_conv(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct conv *c = pb_proc_priv_new(p, sizeof *c, err, errlen);
    if (c == NULL) {
        return -1;
    }
    const struct pb_cfg *list = pb_cfg_get(body, "fields");
    if (list == NULL || list->kind != PB_CFG_LIST || pb_cfg_len(list) == 0) {
        snprintf(err, errlen,
                 "failed to unpack the convert configuration: fields: at least one "
                 "field is required");
        return -1;
    }
    static const char *const names[] = {"",       "integer", "long",   "float",
                                        "double", "boolean", "string", "ip"};
    for (size_t i = 0; i < pb_cfg_len(list) && p->npairs < PB_PROC_MAX_FIELDS; i++) {
        const struct pb_cfg *it = pb_cfg_at(list, i);
        const char *from = NULL, *to = NULL, *type = NULL;
        if (pb_cfg_str(it, "from", NULL, &from) < 0 || pb_cfg_str(it, "to", NULL, &to) < 0 ||
            pb_cfg_str(it, "type", NULL, &type) < 0) {
            return cfg_fail(err, errlen, "convert");
        }
        if (from == NULL || from[0] == '\0') {
            snprintf(err, errlen,
                     "failed to unpack the convert configuration: field 'from' is "
                     "required");
            return -1;
        }
        enum conv_type t = CT_NONE;
        if (type != NULL && type[0] != '\0') {
            size_t k;
            for (k = 1; k < sizeof names / sizeof names[0]; k++) {
                if (strcasecmp(type, names[k]) == 0) {
                    break;
                }
            }
            if (k == sizeof names / sizeof names[0]) {
                snprintf(err, errlen,
                         "failed to unpack the convert configuration: invalid data "
                         "type '%s'",
                         type);
                return -1;
            }
            t = (enum conv_type)k;
        }
        if (t == CT_NONE && (to == NULL || to[0] == '\0')) {
            snprintf(err, errlen,
                     "failed to unpack the convert configuration: each field must "
                     "have a 'to' or a 'type'");
            return -1;
        }
        c->types[p->npairs] = t;
        p->pairs[p->npairs].from = pb_strdup(from);
        p->pairs[p->npairs].to = pb_strdup(to != NULL && to[0] != '\0' ? to : from);
        p->npairs++;
    }
    const char *mode = "copy", *tag = NULL;
    if (pb_cfg_str(body, "mode", "copy", &mode) < 0 || pb_cfg_str(body, "tag", NULL, &tag) < 0 ||
        pb_proc_get_flags(p, body, true, err, errlen) < 0) {
        return cfg_fail(err, errlen, "convert");
    }
    if (strcmp(mode, "copy") != 0 && strcmp(mode, "rename") != 0) {
        snprintf(err, errlen, "failed to unpack the convert configuration: invalid mode '%s'",
                 mode);
        return -1;
    }
    c->rename = strcmp(mode, "rename") == 0;
    c->tag = tag != NULL ? pb_strdup(tag) : NULL;
    return 0;
}

static bool str_to_int(const char *s, long long *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0') {
        if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ||
            (s[0] == '-' && s[1] == '0' && (s[2] == 'x' || s[2] == 'X'))) {
            v = strtoll(s, &end, 16);
            if (end != s && *end == '\0') {
                *out = v;
                return true;
            }
        }
        return false;
    }
    *out = v;
    return true;
}

/* A converted copy of v, or NULL with why set. */
static json_t *convert_one(const json_t *v, enum conv_type t, char *why, size_t wl)
{
    char *dump = NULL;
    switch (t) {
    case CT_NONE:
        return json_deep_copy(v);
    case CT_INTEGER:
    case CT_LONG: {
        long long x = 0;
        if (json_is_integer(v)) {
            x = json_integer_value(v);
        } else if (json_is_real(v)) {
            x = (long long)json_real_value(v);
        } else if (!json_is_string(v) || !str_to_int(json_string_value(v), &x)) {
            break;
        }
        if (t == CT_INTEGER && (x > 2147483647LL || x < -2147483648LL)) {
            break;
        }
        return json_integer(x);
    }
    case CT_FLOAT:
    case CT_DOUBLE: {
        if (json_is_number(v)) {
            return json_real(json_number_value(v));
        }
        if (json_is_string(v)) {
            char *end = NULL;
            const char *s = json_string_value(v);
            double d = strtod(s, &end);
            if (end != s && *end == '\0') {
                return json_real(d);
            }
        }
        break;
    }
    case CT_BOOLEAN: {
        if (json_is_boolean(v)) {
            return json_deep_copy(v);
        }
        if (json_is_string(v)) {
            static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
            static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
            for (size_t i = 0; i < 6; i++) {
                if (strcmp(json_string_value(v), yes[i]) == 0) {
                    return json_true();
                }
                if (strcmp(json_string_value(v), no[i]) == 0) {
                    return json_false();
                }
            }
        }
        break;
    }
    case CT_STRING:
        if (json_is_string(v)) {
            return json_deep_copy(v);
        }
        if (json_is_true(v) || json_is_false(v)) {
            return json_string(json_is_true(v) ? "true" : "false");
        }
        if (json_is_integer(v)) {
            char b[32];
            snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            return json_string(b);
        }
        if (json_is_real(v)) {
            char b[64];
            snprintf(b, sizeof b, "%.17g", json_real_value(v));
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(b, sizeof b, "%.*g", prec, json_real_value(v));
                if (strtod(b, NULL) == json_real_value(v)) {
                    break;
                }
            }
            return json_string(b);
        }
        break;
    case CT_IP: {
        struct pb_ip ip;
        if (json_is_string(v) && pb_ip_parse(json_string_value(v), &ip)) {
            return json_deep_copy(v);
        }
        break;
    }
    }
    dump = json_dumps(v, JSON_ENCODE_ANY);
    snprintf(why, wl, "unable to convert value [%s]: invalid conversion", dump ? dump : "");
    free(dump);
    return NULL;
}

static json_t *run_conv(struct pb_proc *p, json_t *ev)
{
    struct conv *c = p->priv;
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    for (size_t i = 0; i < p->npairs; i++) {
        char why[700];
        json_t *v = pb_json_get(ev, p->pairs[i].from);
        json_t *nv = NULL;
        if (v == NULL) {
            if (p->ignore_missing) {
                continue;
            }
            snprintf(why, sizeof why, "field [%s] is missing", p->pairs[i].from);
        } else {
            nv = convert_one(v, c->types[i], why, sizeof why);
        }
        if (nv == NULL) {
            char msg[800];
            snprintf(msg, sizeof msg,
                     "failed in processor.convert: conversion of field [%s] to "
                     "type [%s] failed: %s",
                     p->pairs[i].from,
                     c->types[i] == CT_NONE      ? ""
                     : c->types[i] == CT_INTEGER ? "integer"
                     : c->types[i] == CT_LONG    ? "long"
                     : c->types[i] == CT_FLOAT   ? "float"
                     : c->types[i] == CT_DOUBLE  ? "double"
                     : c->types[i] == CT_BOOLEAN ? "boolean"
                     : c->types[i] == CT_STRING  ? "string"
                                                 : "ip",
                     why);
            if (p->fail_on_error) {
                ev = fail_event(p, ev, &backup, msg);
                if (c->tag != NULL) {
                    json_t *tags = pb_json_get(ev, "tags");
                    if (!json_is_array(tags)) {
                        tags = json_array();
                        pb_json_put(ev, "tags", tags);
                    }
                    json_array_append_new(tags, json_string(c->tag));
                }
                return ev;
            }
            continue;
        }
        if (c->rename && strcmp(p->pairs[i].from, p->pairs[i].to) != 0) {
            pb_json_del(ev, p->pairs[i].from);
        }
        pb_json_put(ev, p->pairs[i].to, nv);
    }
    json_decref(backup);
    return ev;
}

/* ---- decode_base64_field -------------------------------------------------- */

static int init_b64(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const char *from = NULL, *to = NULL;
    if (pb_cfg_str(body, "field.from", NULL, &from) < 0 ||
        pb_cfg_str(body, "field.to", NULL, &to) < 0 ||
        pb_proc_get_flags(p, body, true, err, errlen) < 0) {
        return cfg_fail(err, errlen, "decode_base64_field");
    }
    if (from == NULL) {
        snprintf(err, errlen,
                 "fail to unpack the decode_base64_field configuration: missing "
                 "required field accessing 'field.from'");
        return -1;
    }
    p->pairs[0].from = pb_strdup(from);
    p->pairs[0].to = pb_strdup(to != NULL && to[0] != '\0' ? to : from);
    p->npairs = 1;
    return 0;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Go's base64.StdEncoding: padded, strict; \r and \n are skipped. Returns the
 * decoded length or -(1 + offset of the bad byte). */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
    size_t o = 0, q = 0, pad = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            continue;
        }
        if (c == '=') {
            if (q < 2) {
                return -(long)(i + 1);
            }
            pad++;
            q++;
            if (q == 4) {
                break;
            }
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad > 0) {
            return -(long)(i + 1);
        }
        acc = (acc << 6) | (uint32_t)v;
        if (++q == 4) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            q = 0;
            acc = 0;
        }
    }
    if (q == 4 && pad > 0) {
        acc <<= 6 * pad;
        out[o++] = (unsigned char)(acc >> 16);
        if (pad == 1) {
            out[o++] = (unsigned char)(acc >> 8);
        }
        q = 0;
    }
    if (q != 0) {
        return -(long)(n + 1);
    }
    return (long)o;
}

static json_t *run_b64(struct pb_proc *p, json_t *ev)
{
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    json_t *v = pb_json_get(ev, p->pairs[0].from);
    char msg[700];
    if (v == NULL) {
        if (p->ignore_missing) {
            json_decref(backup);
            return ev;
        }
        snprintf(msg, sizeof msg,
                 "failed to decode base64 fields in processor: could not fetch "
                 "base64 value for key: %s, Error: key not found",
                 p->pairs[0].from);
        ev = fail_event(p, ev, &backup, msg);
        json_decref(backup);
        return ev;
    }
    if (!json_is_string(v)) {
        snprintf(msg, sizeof msg,
                 "failed to decode base64 fields in processor: invalid type for "
                 "`from`, expecting a string received %s",
                 json_is_integer(v) ? "int"
                 : json_is_real(v)  ? "float64"
                                    : "other");
        ev = fail_event(p, ev, &backup, msg);
        json_decref(backup);
        return ev;
    }
    size_t n = json_string_length(v);
    unsigned char *buf = pb_malloc(n / 4 * 3 + 4);
    if (buf == NULL) {
        json_decref(backup);
        return ev;
    }
    long r = b64_decode(json_string_value(v), n, buf);
    if (r < 0) {
        snprintf(msg, sizeof msg,
                 "failed to decode base64 fields in processor: error trying to "
                 "decode %s: illegal base64 data at input byte %ld",
                 json_string_value(v), -r - 1);
        pb_free(buf);
        ev = fail_event(p, ev, &backup, msg);
        json_decref(backup);
        return ev;
    }
    pb_json_put(ev, p->pairs[0].to, pb_json_strn(buf, (size_t)r));
    pb_free(buf);
    json_decref(backup);
    return ev;
}

/* ---- urldecode ------------------------------------------------------------ */

static int init_urldecode(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const struct pb_cfg *list = pb_cfg_get(body, "fields");
    if (list == NULL || list->kind != PB_CFG_LIST) {
        snprintf(err, errlen, "urldecode: 'fields' must be a list of {from, to}");
        return -1;
    }
    for (size_t i = 0; i < pb_cfg_len(list) && p->npairs < PB_PROC_MAX_FIELDS; i++) {
        const struct pb_cfg *it = pb_cfg_at(list, i);
        const char *from = NULL, *to = NULL;
        if (pb_cfg_str(it, "from", NULL, &from) < 0 || pb_cfg_str(it, "to", NULL, &to) < 0 ||
            from == NULL) {
            snprintf(err, errlen, "urldecode: each entry needs 'from'");
            return -1;
        }
        p->pairs[p->npairs].from = pb_strdup(from);
        p->pairs[p->npairs].to = pb_strdup(to != NULL && to[0] != '\0' ? to : from);
        p->npairs++;
    }
    return pb_proc_get_flags(p, body, true, err, errlen);
}

static int hexval(int c)
{
    return isdigit(c)               ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* Go's url.QueryUnescape; -1 with the bad escape in bad[] on error. */
static long query_unescape(const char *s, size_t n, char *out, char bad[4])
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                size_t k = n - i < 3 ? n - i : 3;
                memcpy(bad, s + i, k);
                bad[k] = '\0';
                return -1;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    return (long)o;
}

static json_t *run_urldecode(struct pb_proc *p, json_t *ev)
{
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    for (size_t i = 0; i < p->npairs; i++) {
        char msg[800];
        json_t *v = pb_json_get(ev, p->pairs[i].from);
        if (v == NULL) {
            if (p->ignore_missing) {
                continue;
            }
            snprintf(msg, sizeof msg,
                     "failed to decode fields in urldecode processor: could not "
                     "fetch value for key: %s, Error: key not found",
                     p->pairs[i].from);
        } else if (!json_is_string(v)) {
            snprintf(msg, sizeof msg,
                     "failed to decode fields in urldecode processor: invalid "
                     "type for `from`, expecting a string");
        } else {
            size_t n = json_string_length(v);
            char *out = pb_malloc(n + 1);
            char bad[4];
            long r = out != NULL ? query_unescape(json_string_value(v), n, out, bad) : -2;
            if (r >= 0) {
                pb_json_put(ev, p->pairs[i].to, pb_json_strn(out, (size_t)r));
                pb_free(out);
                continue;
            }
            pb_free(out);
            snprintf(msg, sizeof msg,
                     "failed to decode fields in urldecode processor: error "
                     "trying to URL-decode %s: invalid URL escape \"%s\"",
                     json_string_value(v), r == -1 ? bad : "");
        }
        if (p->fail_on_error) {
            ev = fail_event(p, ev, &backup, msg);
            json_decref(backup);
            return ev;
        }
    }
    json_decref(backup);
    return ev;
}

/* ---- replace -------------------------------------------------------------- */

#ifdef PB_HAVE_PCRE2
struct repl {
    char *field, *replacement;
    pcre2_code *re;
};

struct repls {
    struct repl r[PB_PROC_MAX_FIELDS];
    size_t n;
};

static void fini_replace(struct pb_proc *p)
{
    struct repls *rs = p->priv;
    if (rs == NULL) {
        return;
    }
    for (size_t i = 0; i < rs->n; i++) {
        pb_free(rs->r[i].field);
        pb_free(rs->r[i].replacement);
        pcre2_code_free(rs->r[i].re);
    }
    pb_free(rs);
}
#endif

static int init_replace(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
#ifndef PB_HAVE_PCRE2
    snprintf(err, errlen, "replace needs PCRE2 (not found at build time)");
    return -1;
#else
    struct repls *rs = pb_proc_priv_new(p, sizeof *rs, err, errlen);
    if (rs == NULL) {
        return -1;
    }
    const struct pb_cfg *list = pb_cfg_get(body, "fields");
    if (list == NULL || list->kind != PB_CFG_LIST) {
        snprintf(err, errlen,
                 "replace: 'fields' must be a list of {field, pattern, "
                 "replacement}");
        return -1;
    }
    for (size_t i = 0; i < pb_cfg_len(list) && rs->n < PB_PROC_MAX_FIELDS; i++) {
        const struct pb_cfg *it = pb_cfg_at(list, i);
        const char *field = NULL, *pat = NULL, *rep = NULL;
        if (pb_cfg_str(it, "field", NULL, &field) < 0 ||
            pb_cfg_str(it, "pattern", NULL, &pat) < 0 ||
            pb_cfg_str(it, "replacement", NULL, &rep) < 0 || field == NULL || pat == NULL ||
            rep == NULL) {
            snprintf(err, errlen,
                     "replace: each entry needs 'field', 'pattern' and "
                     "'replacement'");
            return -1;
        }
        int ec = 0;
        PCRE2_SIZE eo = 0;
        struct repl *r = &rs->r[rs->n];
        r->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
        if (r->re == NULL) {
            PCRE2_UCHAR m[256];
            pcre2_get_error_message(ec, m, sizeof m);
            snprintf(err, errlen, "replace: bad pattern '%s': %s", pat, (const char *)m);
            return -1;
        }
        r->field = pb_strdup(field);
        r->replacement = pb_strdup(rep);
        rs->n++;
    }
    return pb_proc_get_flags(p, body, true, err, errlen);
#endif
}

static json_t *run_replace(struct pb_proc *p, json_t *ev)
{
#ifdef PB_HAVE_PCRE2
    struct repls *rs = p->priv;
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    for (size_t i = 0; i < rs->n; i++) {
        struct repl *r = &rs->r[i];
        char msg[800];
        json_t *v = pb_json_get(ev, r->field);
        if (v == NULL || !json_is_string(v)) {
            if (v == NULL && p->ignore_missing) {
                continue;
            }
            snprintf(msg, sizeof msg,
                     "failed to replace fields in processor: could not fetch "
                     "value for key: %s, Error: key not found",
                     r->field);
            if (p->fail_on_error) {
                ev = fail_event(p, ev, &backup, msg);
                json_decref(backup);
                return ev;
            }
            continue;
        }
        size_t outlen = json_string_length(v) * 2 + strlen(r->replacement) + 64;
        if (outlen > REPLACE_MAX_OUT) {
            outlen = REPLACE_MAX_OUT;
        }
        PCRE2_UCHAR *out = pb_malloc(outlen);
        if (out == NULL) {
            continue;
        }
        PCRE2_SIZE ol = outlen;
        int rc = pcre2_substitute(r->re, (PCRE2_SPTR)json_string_value(v), json_string_length(v), 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
                                      PCRE2_SUBSTITUTE_UNKNOWN_UNSET | PCRE2_SUBSTITUTE_UNSET_EMPTY,
                                  NULL, NULL, (PCRE2_SPTR)r->replacement, PCRE2_ZERO_TERMINATED,
                                  out, &ol);
        if (rc == PCRE2_ERROR_NOMEMORY && ol <= REPLACE_MAX_OUT) {
            PCRE2_UCHAR *bigger = pb_realloc(out, ol);
            if (bigger != NULL) {
                out = bigger;
                rc = pcre2_substitute(
                    r->re, (PCRE2_SPTR)json_string_value(v), json_string_length(v), 0,
                    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_UNKNOWN_UNSET |
                        PCRE2_SUBSTITUTE_UNSET_EMPTY,
                    NULL, NULL, (PCRE2_SPTR)r->replacement, PCRE2_ZERO_TERMINATED, out, &ol);
            }
        }
        if (rc >= 0) {
            pb_json_put(ev, r->field, pb_json_strn(out, ol));
        }
        pb_free(out);
    }
    json_decref(backup);
#endif
    return ev;
}

/* ---- lowercase / uppercase ------------------------------------------------ */

struct alter {
    char **values;
    size_t nvalues;
    bool full;
};

static void fini_alter(struct pb_proc *p)
{
    struct alter *a = p->priv;
    if (a != NULL) {
        pb_cfg_strv_free(a->values);
        pb_free(a);
    }
}

static int init_alter(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct alter *a = pb_proc_priv_new(p, sizeof *a, err, errlen);
    if (a == NULL) {
        return -1;
    }
    if (pb_proc_get_fields(p, body, false, err, errlen) < 0 ||
        pb_proc_get_flags(p, body, true, err, errlen) < 0) {
        return -1;
    }
    if (pb_cfg_strv(body, "values", &a->values, &a->nvalues) < 0 ||
        pb_cfg_bool(body, "alter_full_field", true, &a->full) < 0) {
        return cfg_fail(err, errlen, p->kind->name);
    }
    /* `type` is read-only: fields naming it are skipped */
    size_t k = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        if (strcasecmp(p->fields[i], "type") == 0 || strncasecmp(p->fields[i], "type.", 5) == 0) {
            pb_free(p->fields[i]);
            continue;
        }
        p->fields[k++] = p->fields[i];
    }
    if (p->fields != NULL) {
        p->fields[k] = NULL;
    }
    p->nfields = k;
    return 0;
}

static void change_case(char *s, bool upper)
{
    for (; *s; s++) {
        *s = (char)(upper ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
    }
}

/* Renames the keys along path (matched case-insensitively); full: every
 * segment, else the last. false when a segment is missing. */
static bool alter_key(json_t *obj, const char *path, bool full, bool upper)
{
    const char *dot = strchr(path, '.');
    size_t seglen = dot != NULL ? (size_t)(dot - path) : strlen(path);
    if (!json_is_object(obj)) {
        return false;
    }
    const char *k;
    json_t *v;
    const char *found = NULL;
    json_object_foreach(obj, k, v)
    {
        if (strlen(k) == seglen && strncasecmp(k, path, seglen) == 0) {
            found = k;
            break;
        }
    }
    if (found == NULL) {
        return false;
    }
    json_t *child = json_incref(json_object_get(obj, found));
    if (dot != NULL && !alter_key(child, dot + 1, full, upper)) {
        json_decref(child);
        return false;
    }
    if (full || dot == NULL) {
        char nk[512];
        snprintf(nk, sizeof nk, "%s", found);
        change_case(nk, upper);
        if (strcmp(nk, found) != 0) {
            json_object_del(obj, found);
            json_object_set(obj, nk, child);
        }
    }
    json_decref(child);
    return true;
}

static json_t *run_alter(struct pb_proc *p, json_t *ev, bool upper)
{
    struct alter *a = p->priv;
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    char msg[700];
    for (size_t i = 0; i < p->nfields; i++) {
        if (!alter_key(ev, p->fields[i], a->full, upper)) {
            if (p->ignore_missing) {
                continue;
            }
            snprintf(msg, sizeof msg, "could not fetch value for key: %s, Error: key not found",
                     p->fields[i]);
            if (p->fail_on_error) {
                ev = fail_event(p, ev, &backup, msg);
                json_decref(backup);
                return ev;
            }
        }
    }
    for (size_t i = 0; i < a->nvalues; i++) {
        json_t *v = pb_json_get(ev, a->values[i]);
        if (json_is_string(v)) {
            char *s = pb_strndup(json_string_value(v), json_string_length(v));
            if (s != NULL) {
                change_case(s, upper);
                json_string_set(v, s);
                pb_free(s);
            }
            continue;
        }
        if (v == NULL && p->ignore_missing) {
            continue;
        }
        snprintf(msg, sizeof msg,
                 v == NULL ? "could not fetch value for key: %s, Error: key not "
                             "found"
                           : "value of key \"%s\" is not a string",
                 a->values[i]);
        if (p->fail_on_error) {
            ev = fail_event(p, ev, &backup, msg);
            json_decref(backup);
            return ev;
        }
    }
    json_decref(backup);
    return ev;
}

static json_t *run_lower(struct pb_proc *p, json_t *ev)
{
    return run_alter(p, ev, false);
}

static json_t *run_upper(struct pb_proc *p, json_t *ev)
{
    return run_alter(p, ev, true);
}

/* ---- decode_json_fields --------------------------------------------------- */

struct djson {
    int64_t max_depth;
    bool process_array, overwrite, add_error, expand, has_target;
    char *document_id;
};

static void fini_djson(struct pb_proc *p)
{
    struct djson *d = p->priv;
    if (d != NULL) {
        pb_free(d->document_id);
        pb_free(d);
    }
}

static int init_djson(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct djson *d = pb_proc_priv_new(p, sizeof *d, err, errlen);
    if (d == NULL) {
        return -1;
    }
    const char *target = NULL, *docid = "";
    if (pb_proc_get_fields(p, body, true, err, errlen) < 0) {
        return -1;
    }
    if (pb_cfg_int(body, "max_depth", 1, &d->max_depth) < 0 ||
        pb_cfg_bool(body, "process_array", false, &d->process_array) < 0 ||
        pb_cfg_bool(body, "overwrite_keys", false, &d->overwrite) < 0 ||
        pb_cfg_bool(body, "add_error_key", false, &d->add_error) < 0 ||
        pb_cfg_bool(body, "expand_keys", false, &d->expand) < 0 ||
        pb_cfg_str(body, "target", NULL, &target) < 0 ||
        pb_cfg_str(body, "document_id", "", &docid) < 0) {
        return cfg_fail(err, errlen, "decode_json_fields");
    }
    if (d->max_depth < 1) {
        snprintf(err, errlen,
                 "fail to unpack the decode_json_fields configuration: requires "
                 "value >= 1 accessing 'max_depth'");
        return -1;
    }
    if (d->max_depth > JSON_MAX_DEPTH_CAP) {
        d->max_depth = JSON_MAX_DEPTH_CAP;
    }
    d->has_target = pb_cfg_has(body, "target");
    p->target = pb_strdup(target != NULL ? target : "");
    d->document_id = pb_strdup(docid);
    return 0;
}

static json_t *decode_text(const char *s, size_t n, json_error_t *je)
{
    return json_loadb(s, n, JSON_DECODE_ANY, je);
}

/* Decodes string members (and array items when process_array) that hold
 * JSON objects/arrays, down to depth levels. */
static void decode_nested(json_t *v, const struct djson *d, int depth)
{
    if (depth <= 0) {
        return;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, c)
        {
            if (json_is_string(c)) {
                json_t *dec = decode_text(json_string_value(c), json_string_length(c), NULL);
                if (json_is_object(dec) || (d->process_array && json_is_array(dec))) {
                    decode_nested(dec, d, depth - 1);
                    json_object_set_new(v, k, dec);
                } else {
                    json_decref(dec);
                }
            } else {
                decode_nested(c, d, depth);
            }
        }
    } else if (json_is_array(v) && d->process_array) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (json_is_string(c)) {
                json_t *dec = decode_text(json_string_value(c), json_string_length(c), NULL);
                if (json_is_object(dec) || json_is_array(dec)) {
                    decode_nested(dec, d, depth - 1);
                    json_array_set_new(v, i, dec);
                } else {
                    json_decref(dec);
                }
            }
        }
    }
}

static void write_keys(json_t *ev, json_t *obj, const struct djson *d)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, "@metadata") == 0 && json_is_object(v)) {
            json_t *md = json_object_get(ev, "@metadata");
            if (!json_is_object(md)) {
                json_object_set(ev, "@metadata", v);
            } else {
                pb_proc_deep_merge(md, v);
            }
            continue;
        }
        if ((strcmp(k, "@timestamp") == 0 || strcmp(k, "type") == 0) && !d->overwrite) {
            continue;
        }
        bool exists = d->expand ? pb_json_get(ev, k) != NULL : json_object_get(ev, k) != NULL;
        if (exists && !d->overwrite) {
            json_t *cur = d->expand ? pb_json_get(ev, k) : json_object_get(ev, k);
            if (json_is_object(cur) && json_is_object(v)) {
                json_t *tmp = json_deep_copy(v);
                const char *k2;
                json_t *v2;
                json_object_foreach(tmp, k2, v2)
                {
                    if (json_object_get(cur, k2) == NULL) {
                        json_object_set(cur, k2, v2);
                    }
                }
                json_decref(tmp);
            }
            continue;
        }
        if (d->expand) {
            pb_json_put(ev, k, json_deep_copy(v));
        } else {
            json_object_set_new(ev, k, json_deep_copy(v));
        }
    }
}

static json_t *run_djson(struct pb_proc *p, json_t *ev)
{
    struct djson *d = p->priv;
    for (size_t i = 0; i < p->nfields; i++) {
        json_t *v = pb_json_get(ev, p->fields[i]);
        if (!json_is_string(v)) {
            continue;
        }
        json_error_t je;
        json_t *dec = decode_text(json_string_value(v), json_string_length(v), &je);
        if (dec == NULL) {
            char msg[600];
            snprintf(msg, sizeof msg, "Error trying to unmarshal '%.200s': %s",
                     json_string_value(v), je.text);
            pb_debug("processors", "decode_json_fields: %s", msg);
            if (d->add_error) {
                pb_json_put_str(ev, "error.message", msg);
                pb_json_put_str(ev, "error.type", "json");
            }
            continue;
        }
        decode_nested(dec, d, (int)d->max_depth - 1);
        if (d->document_id[0] != '\0' && json_is_object(dec)) {
            json_t *id = pb_json_get(dec, d->document_id);
            if (json_is_string(id)) {
                pb_json_put(ev, "@metadata._id", json_incref(id));
                pb_json_del(dec, d->document_id);
            }
        }
        if (!d->has_target) {
            pb_json_put(ev, p->fields[i], dec);
        } else if (p->target[0] == '\0') {
            if (json_is_object(dec)) {
                write_keys(ev, dec, d);
            } else if (d->add_error) {
                pb_json_put_str(ev, "error.message",
                                "cannot merge a non-object JSON value into "
                                "the event root");
            }
            json_decref(dec);
        } else {
            pb_json_put(ev, p->target, dec);
        }
    }
    return ev;
}

/* ---- dissect -------------------------------------------------------------- */

enum dkey_kind {
    DK_NORMAL,
    DK_SKIP,
    DK_APPEND,
    DK_NAMED_SKIP,
    DK_INDIRECT_NAME,
    DK_INDIRECT_VALUE
};

struct dkey {
    enum dkey_kind kind;
    char *name;    /* owned */
    char *prefix;  /* owned: literal text before this key */
    bool pad;      /* "->": skip repeated delimiters after the value */
    int order;     /* append ordinal ("/2"), 0 none */
    char type[12]; /* "|integer" ...: conversion, "" none */
};

struct dissect {
    struct dkey keys[DISSECT_MAX_KEYS];
    size_t n;
    char *suffix; /* owned: literal text after the last key */
    bool ignore_failure, overwrite;
    int trim; /* 0 none, 1 left, 2 right, 3 all */
    char *trim_chars;
};

static void fini_dissect(struct pb_proc *p)
{
    struct dissect *d = p->priv;
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        pb_free(d->keys[i].name);
        pb_free(d->keys[i].prefix);
    }
    pb_free(d->suffix);
    pb_free(d->trim_chars);
    pb_free(d);
}

static int parse_tokenizer(struct dissect *d, const char *tok, char *err, size_t errlen)
{
    const char *s = tok;
    const char *lit = s;
    while (*s != '\0') {
        if (s[0] != '%' || s[1] != '{') {
            s++;
            continue;
        }
        const char *end = strchr(s + 2, '}');
        if (end == NULL) {
            snprintf(err, errlen, "dissect: invalid tokenizer, unclosed '%%{' in '%s'", tok);
            return -1;
        }
        if (d->n == DISSECT_MAX_KEYS) {
            snprintf(err, errlen, "dissect: too many keys (max %d)", DISSECT_MAX_KEYS);
            return -1;
        }
        struct dkey *k = &d->keys[d->n];
        k->prefix = pb_strndup(lit, (size_t)(s - lit));
        char body[256];
        size_t bl = (size_t)(end - s - 2);
        if (bl >= sizeof body) {
            snprintf(err, errlen, "dissect: key too long");
            return -1;
        }
        memcpy(body, s + 2, bl);
        body[bl] = '\0';
        char *b = body;
        if (bl >= 2 && strcmp(b + bl - 2, "->") == 0) {
            k->pad = true;
            b[bl - 2] = '\0';
        }
        char *bar = strchr(b, '|');
        if (bar != NULL) {
            *bar = '\0';
            snprintf(k->type, sizeof k->type, "%s", bar + 1);
            static const char *const ok[] = {"integer", "long", "float", "double", "boolean", "ip"};
            bool good = false;
            for (size_t i = 0; i < 6; i++) {
                good = good || strcmp(k->type, ok[i]) == 0;
            }
            if (!good) {
                snprintf(err, errlen, "dissect: unknown data type '%s'", k->type);
                return -1;
            }
        }
        if (b[0] == '\0') {
            k->kind = DK_SKIP;
        } else if (b[0] == '?') {
            k->kind = DK_NAMED_SKIP;
            b++;
        } else if (b[0] == '+') {
            k->kind = DK_APPEND;
            b++;
            char *slash = strchr(b, '/');
            if (slash != NULL) {
                *slash = '\0';
                k->order = atoi(slash + 1);
            }
        } else if (b[0] == '*') {
            k->kind = DK_INDIRECT_NAME;
            b++;
        } else if (b[0] == '&') {
            k->kind = DK_INDIRECT_VALUE;
            b++;
        }
        k->name = pb_strdup(b);
        d->n++;
        s = end + 1;
        lit = s;
    }
    d->suffix = pb_strdup(lit);
    if (d->n == 0) {
        snprintf(err, errlen, "dissect: invalid tokenizer '%s': no keys", tok);
        return -1;
    }
    for (size_t i = 1; i < d->n; i++) {
        if (d->keys[i].prefix[0] == '\0') {
            snprintf(err, errlen,
                     "dissect: invalid tokenizer '%s': keys must be separated by a "
                     "delimiter",
                     tok);
            return -1;
        }
    }
    return 0;
}

static int init_dissect(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct dissect *d = pb_proc_priv_new(p, sizeof *d, err, errlen);
    if (d == NULL) {
        return -1;
    }
    const char *tok = NULL, *field = "message", *prefix = "dissect", *trim = "none", *chars = " ";
    if (pb_cfg_str(body, "tokenizer", NULL, &tok) < 0 ||
        pb_cfg_str(body, "field", "message", &field) < 0 ||
        pb_cfg_str(body, "target_prefix", "dissect", &prefix) < 0 ||
        pb_cfg_bool(body, "ignore_failure", false, &d->ignore_failure) < 0 ||
        pb_cfg_bool(body, "overwrite_keys", false, &d->overwrite) < 0 ||
        pb_cfg_str(body, "trim_values", "none", &trim) < 0 ||
        pb_cfg_str(body, "trim_chars", " ", &chars) < 0) {
        return cfg_fail(err, errlen, "dissect");
    }
    if (tok == NULL) {
        snprintf(err, errlen,
                 "failed to unpack the dissect configuration: missing required "
                 "field accessing 'tokenizer'");
        return -1;
    }
    d->trim = strcmp(trim, "left") == 0    ? 1
              : strcmp(trim, "right") == 0 ? 2
              : strcmp(trim, "all") == 0   ? 3
                                           : 0;
    if (d->trim == 0 && strcmp(trim, "none") != 0) {
        snprintf(err, errlen, "dissect: invalid trim_values '%s'", trim);
        return -1;
    }
    d->trim_chars = pb_strdup(chars);
    p->field = pb_strdup(field);
    p->target = pb_strdup(prefix);
    return parse_tokenizer(d, tok, err, errlen);
}

static json_t *typed_value(const char *type, const char *s, size_t n)
{
    json_t *str = pb_json_strn(s, n);
    if (type[0] == '\0') {
        return str;
    }
    enum conv_type t = strcmp(type, "integer") == 0   ? CT_INTEGER
                       : strcmp(type, "long") == 0    ? CT_LONG
                       : strcmp(type, "float") == 0   ? CT_FLOAT
                       : strcmp(type, "double") == 0  ? CT_DOUBLE
                       : strcmp(type, "boolean") == 0 ? CT_BOOLEAN
                                                      : CT_IP;
    char why[256];
    json_t *v = convert_one(str, t, why, sizeof why);
    json_decref(str);
    return v;
}

struct dval {
    const char *s;
    size_t n;
};

static void trim_val(const struct dissect *d, struct dval *v)
{
    if (d->trim & 1) {
        while (v->n > 0 && strchr(d->trim_chars, v->s[0]) != NULL) {
            v->s++;
            v->n--;
        }
    }
    if (d->trim & 2) {
        while (v->n > 0 && strchr(d->trim_chars, v->s[v->n - 1]) != NULL) {
            v->n--;
        }
    }
}

static const char *find_lit(const char *s, const char *end, const char *lit)
{
    size_t l = strlen(lit);
    for (const char *p = s; p + l <= end; p++) {
        if (memcmp(p, lit, l) == 0) {
            return p;
        }
    }
    return NULL;
}

static json_t *run_dissect(struct pb_proc *p, json_t *ev)
{
    struct dissect *d = p->priv;
    json_t *v = pb_json_get(ev, p->field);
    char msg[700];
    if (!json_is_string(v)) {
        if (!d->ignore_failure) {
            snprintf(msg, sizeof msg, "field '%s' not found or not a string", p->field);
            pb_proc_add_error(ev, msg);
        }
        return ev;
    }
    const char *s = json_string_value(v), *end = s + json_string_length(v);
    struct dval vals[DISSECT_MAX_KEYS];
    const char *cur = s;
    const char *fail = NULL;
    for (size_t i = 0; i < d->n && fail == NULL; i++) {
        const struct dkey *k = &d->keys[i];
        size_t pl = strlen(k->prefix);
        if ((size_t)(end - cur) < pl || memcmp(cur, k->prefix, pl) != 0) {
            fail = k->prefix;
            break;
        }
        cur += pl;
        const char *next = i + 1 < d->n ? d->keys[i + 1].prefix : d->suffix;
        const char *stop;
        if (next[0] == '\0') {
            stop = end;
        } else {
            stop = find_lit(cur, end, next);
            if (stop == NULL) {
                fail = next;
                break;
            }
        }
        vals[i].s = cur;
        vals[i].n = (size_t)(stop - cur);
        cur = stop;
        if (k->pad && next[0] != '\0') {
            size_t nl = strlen(next);
            while ((size_t)(end - cur) >= 2 * nl && memcmp(cur + nl, next, nl) == 0) {
                cur += nl;
            }
        }
    }
    if (fail == NULL) {
        size_t sl = strlen(d->suffix);
        if ((size_t)(end - cur) != sl || memcmp(cur, d->suffix, sl) != 0) {
            fail = d->suffix;
        }
    }
    if (fail != NULL) {
        if (!d->ignore_failure) {
            snprintf(msg, sizeof msg,
                     "could not find delimiter: `%s` in remaining: `%.200s`, "
                     "(offset: %ld)",
                     fail, cur, (long)(cur - s));
            pb_proc_add_error(ev, msg);
            json_t *flags = pb_json_get(ev, "log.flags");
            if (!json_is_array(flags)) {
                flags = json_array();
                pb_json_put(ev, "log.flags", flags);
            }
            json_array_append_new(flags, json_string_nocheck("dissect_parsing_error"));
        }
        return ev;
    }
    json_t *out = json_object();
    /* appends in ordinal order, then indirect names */
    for (size_t i = 0; i < d->n; i++) {
        const struct dkey *k = &d->keys[i];
        struct dval dv = vals[i];
        trim_val(d, &dv);
        if (k->kind == DK_SKIP || k->kind == DK_NAMED_SKIP || k->kind == DK_INDIRECT_NAME ||
            k->kind == DK_INDIRECT_VALUE) {
            continue;
        }
        if (k->kind == DK_APPEND) {
            /* collect every part of this name in ordinal order */
            if (json_object_get(out, k->name) != NULL) {
                continue;
            }
            char buf[4096];
            size_t bl = 0;
            for (int ord = 0; ord <= DISSECT_MAX_KEYS; ord++) {
                for (size_t j = 0; j < d->n; j++) {
                    const struct dkey *kj = &d->keys[j];
                    bool same = (kj->kind == DK_APPEND || kj->kind == DK_NORMAL) &&
                                strcmp(kj->name, k->name) == 0 && kj->order == ord;
                    if (!same) {
                        continue;
                    }
                    struct dval vj = vals[j];
                    trim_val(d, &vj);
                    int w = snprintf(buf + bl, sizeof buf - bl, "%s%.*s", bl ? " " : "", (int)vj.n,
                                     vj.s);
                    bl = w > 0 && bl + (size_t)w < sizeof buf ? bl + (size_t)w : bl;
                }
            }
            json_object_set_new(out, k->name, pb_json_strn(buf, bl));
            continue;
        }
        bool appended = false;
        for (size_t j = 0; j < d->n; j++) {
            appended =
                appended || (d->keys[j].kind == DK_APPEND && strcmp(d->keys[j].name, k->name) == 0);
        }
        if (appended) {
            continue; /* handled with the appends */
        }
        json_t *tv = typed_value(k->type, dv.s, dv.n);
        if (tv == NULL) {
            json_decref(out);
            if (!d->ignore_failure) {
                snprintf(msg, sizeof msg, "dissect: cannot convert value of '%s' to %s", k->name,
                         k->type);
                pb_proc_add_error(ev, msg);
            }
            return ev;
        }
        json_object_set_new(out, k->name, tv);
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->keys[i].kind != DK_INDIRECT_NAME) {
            continue;
        }
        struct dval nm = vals[i];
        trim_val(d, &nm);
        for (size_t j = 0; j < d->n; j++) {
            if (d->keys[j].kind == DK_INDIRECT_VALUE &&
                strcmp(d->keys[j].name, d->keys[i].name) == 0) {
                struct dval vv = vals[j];
                trim_val(d, &vv);
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)nm.n, nm.s);
                json_object_set_new(out, name, pb_json_strn(vv.s, vv.n));
            }
        }
    }
    const char *k;
    json_t *val;
    json_object_foreach(out, k, val)
    {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", p->target, p->target[0] ? "." : "", k);
        if (!d->overwrite && pb_json_get(ev, path) != NULL) {
            json_decref(out);
            snprintf(msg, sizeof msg, "cannot override existing key with `%s`", path);
            pb_proc_add_error(ev, msg);
            return ev;
        }
    }
    json_object_foreach(out, k, val)
    {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", p->target, p->target[0] ? "." : "", k);
        pb_json_put(ev, path, json_incref(val));
    }
    json_decref(out);
    return ev;
}

const struct pb_proc_kind pb_proc_kinds_text[] = {
    {"convert", init_conv, run_conv, fini_conv, NULL},
    {"decode_base64_field", init_b64, run_b64, NULL, NULL},
    {"decode_json_fields", init_djson, run_djson, fini_djson, NULL},
    {"dissect", init_dissect, run_dissect, fini_dissect, NULL},
#ifdef PB_HAVE_PCRE2
    {"replace", init_replace, run_replace, fini_replace, NULL},
#else
    {"replace", init_replace, run_replace, NULL, NULL},
#endif
    {"urldecode", init_urldecode, run_urldecode, NULL, NULL},
    {"lowercase", init_alter, run_lower, fini_alter, NULL},
    {"uppercase", init_alter, run_upper, fini_alter, NULL},
};
const size_t pb_proc_kinds_text_n = sizeof pb_proc_kinds_text / sizeof pb_proc_kinds_text[0];
