/* SPDX-License-Identifier: Apache-2.0
 * protos/tls/tls_parse.c - TLS record layer, handshake reassembly and hello
 * parsing; pure: no I/O, no globals. Values and quirks follow Packetbeat
 * 8.x (extension names, what counts as "unparsed", GREASE removal).
 * Spec: RFC 5246 (TLS 1.2), RFC 8446 (TLS 1.3), RFC 6066 (extensions).
 *
 * Record:     type:1 version:2 length:2 body[length]
 * Handshake:  type:1 length:3 body[length]   (may span several records)
 * Hello:      version:2 random:32 sid_len:1 sid[sid_len]
 *             client: suites_len:2 suites[] comp_len:1 comp[] extensions
 *             server: suite:2 comp:1 extensions
 * Extensions: total:2 { type:2 len:2 body[len] }*
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/rd.h"
#include "openssl/evp.h"
#include "tls_int.h"

/* Record types and handshake types used here. */
enum {
    REC_CCS = 20,
    REC_ALERT = 21,
    REC_HANDSHAKE = 22,
};
enum {
    HS_HELLO_REQUEST = 0,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_CERTIFICATE = 11,
    HS_SERVER_KEY_EXCHANGE = 12,
    HS_CERTIFICATE_REQUEST = 13,
    HS_CLIENT_KEY_EXCHANGE = 16,
    HS_CERTIFICATE_STATUS = 22,
};

/* ---- positional, bounds-checked reads over a slice ---- */

static bool at8(struct pb_slice s, size_t off, uint8_t *v)
{
    if (off >= s.len) {
        return false;
    }
    struct pb_rd r = pb_rd_make(s.ptr + off, s.len - off);
    *v = pb_rd_u8(&r);
    return pb_rd_ok(&r);
}

static bool at16(struct pb_slice s, size_t off, uint16_t *v)
{
    if (off >= s.len) {
        return false;
    }
    struct pb_rd r = pb_rd_make(s.ptr + off, s.len - off);
    *v = pb_rd_be16(&r);
    return pb_rd_ok(&r);
}

static bool at24(struct pb_slice s, size_t off, uint32_t *v)
{
    if (off >= s.len) {
        return false;
    }
    struct pb_rd r = pb_rd_make(s.ptr + off, s.len - off);
    *v = pb_rd_be24(&r);
    return pb_rd_ok(&r);
}

/* The sub-slice [off, off+n); false when it does not fit. */
static bool sub(struct pb_slice s, size_t off, size_t n, struct pb_slice *out)
{
    if (off > s.len || n > s.len - off) {
        return false;
    }
    out->ptr = s.ptr + off;
    out->len = n;
    return true;
}

bool tls_is_grease(uint16_t v)
{
    uint8_t hi = (uint8_t)(v >> 8), lo = (uint8_t)v;
    return hi == lo && (lo & 0x0f) == 0x0a;
}

/* ---- extensions ---- */

/* Appends v (taken) to arr unless the list is full. */
static void arr_add(json_t *arr, json_t *v)
{
    if (json_array_size(arr) >= TLS_MAX_EXT_ITEMS) {
        json_decref(v);
        return;
    }
    json_array_append_new(arr, v);
}

static json_t *str_list_push(json_t *arr, const char *s)
{
    arr_add(arr, json_string(s));
    return arr;
}

static json_t *ext_sni(struct pb_slice b)
{
    uint16_t list_len;
    if (!at16(b, 0, &list_len)) {
        return NULL;
    }
    json_t *hosts = json_array();
    size_t limit = 2 + (size_t)list_len;
    for (size_t pos = 2; pos + 3 <= limit;) {
        uint8_t type;
        uint16_t nlen;
        struct pb_slice name;
        if (!at8(b, pos, &type) || !at16(b, pos + 1, &nlen) || limit < pos + 3 + nlen ||
            !sub(b, pos + 3, nlen, &name)) {
            break;
        }
        if (type == 0) {
            arr_add(hosts, pb_json_strn(name.ptr, name.len));
        }
        pos += 3 + (size_t)nlen;
    }
    if (json_array_size(hosts) == 0) {
        /* an empty list of names: Packetbeat keeps the key with no value */
        json_decref(hosts);
        return json_null();
    }
    return hosts;
}

static json_t *ext_max_fragment(struct pb_slice b)
{
    uint8_t v;
    if (b.len != 1 || !at8(b, 0, &v)) {
        return NULL;
    }
    char buf[32];
    if (v > 0 && v < 5) {
        snprintf(buf, sizeof buf, "2^%d", 8 + v);
    } else {
        snprintf(buf, sizeof buf, "(unknown:%d)", v);
    }
    return json_string(buf);
}

static json_t *ext_expect_empty(struct pb_slice b)
{
    if (b.len != 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "(expected empty: found %zu bytes)", b.len);
        return json_string(buf);
    }
    return json_string_nocheck("");
}

static json_t *ext_status_request(struct pb_slice b)
{
    if (b.len == 0) {
        return json_pack("{s:b}", "response", 1);
    }
    uint8_t code;
    uint16_t list, exts;
    /* Packetbeat reads both counters from the same offset. */
    if (!at8(b, 0, &code) || !at16(b, 1, &list) || !at16(b, 1, &exts)) {
        return NULL;
    }
    char typ[16];
    if (code == 1) {
        snprintf(typ, sizeof typ, "ocsp");
    } else {
        snprintf(typ, sizeof typ, "%u", code);
    }
    return json_pack("{s:s,s:i,s:i}", "type", typ, "responder_id_list_length", (int)list,
                     "request_extensions", (int)exts);
}

static json_t *ext_cert_type(struct pb_slice b)
{
    size_t pos = 0, limit = b.len;
    uint8_t v = 0;
    if (limit > 1) {
        (void)at8(b, 0, &v);
        pos = 1;
        if ((size_t)v + 1 < limit) {
            limit = 1 + (size_t)v;
        }
    }
    json_t *arr = json_array();
    for (; pos < limit && at8(b, pos, &v); pos++) {
        char buf[32];
        const char *s = buf;
        switch (v) {
        case 0:
            s = "X.509";
            break;
        case 1:
            s = "OpenPGP";
            break;
        case 2:
            s = "RawPubKey";
            break;
        default:
            snprintf(buf, sizeof buf, "(unknown:%d)", v);
        }
        str_list_push(arr, s);
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

static json_t *ext_groups(struct pb_slice b)
{
    uint16_t v;
    if (!at16(b, 0, &v) || (size_t)v + 2 != b.len) {
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t pos = 0; at16(b, pos + 2, &v); pos += 2) {
        if (!tls_is_grease(v)) {
            char buf[32];
            str_list_push(arr, tls_group_name(v, buf, sizeof buf));
        }
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

static json_t *ext_points(struct pb_slice b)
{
    uint8_t len, v;
    if (!at8(b, 0, &len) || (size_t)len + 1 != b.len) {
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t pos = 0; pos < len && at8(b, 1 + pos, &v); pos++) {
        char buf[32];
        str_list_push(arr, tls_ecpoint_name(v, buf, sizeof buf));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

static json_t *ext_srp(struct pb_slice b)
{
    uint8_t len;
    struct pb_slice user;
    if (!at8(b, 0, &len) || (size_t)len + 1 > b.len || !sub(b, 1, len, &user)) {
        return NULL;
    }
    return pb_json_strn(user.ptr, user.len);
}

static json_t *ext_sigschemes(struct pb_slice b)
{
    uint16_t v;
    if (!at16(b, 0, &v) || (size_t)v + 2 != b.len) {
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t pos = 2; at16(b, pos, &v); pos += 2) {
        char buf[32];
        str_list_push(arr, tls_sigscheme_name(v, buf, sizeof buf));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

static json_t *ext_ticket(struct pb_slice b)
{
    if (b.len > 0) {
        char buf[48];
        snprintf(buf, sizeof buf, "(%zu bytes)", b.len);
        return json_string(buf);
    }
    return json_string_nocheck("");
}

static json_t *ext_alpn(struct pb_slice b)
{
    uint16_t len;
    if (!at16(b, 0, &len) || (size_t)len + 2 != b.len) {
        return NULL;
    }
    json_t *arr = json_array();
    uint8_t slen;
    for (size_t pos = 2; at8(b, pos, &slen);) {
        struct pb_slice p;
        if (!sub(b, pos + 1, slen, &p)) {
            json_decref(arr);
            return NULL;
        }
        arr_add(arr, pb_json_strn(p.ptr, p.len));
        pos += 1 + (size_t)slen;
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

static json_t *ext_versions(struct pb_slice b)
{
    char buf[32];
    uint8_t major, minor;
    if (b.len == 2) {
        if (!at8(b, 0, &major) || !at8(b, 1, &minor)) {
            return NULL;
        }
        return json_string(tls_version_name(major, minor, buf, sizeof buf));
    }
    if (b.len >= 3) {
        uint8_t list_bytes;
        if (!at8(b, 0, &list_bytes)) {
            return NULL;
        }
        if (1 + (size_t)list_bytes > b.len || (list_bytes & 1) != 0) {
            return NULL;
        }
        size_t n = list_bytes / 2;
        if (n == 0) {
            return NULL;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            if (!at16(b, 1 + 2 * i, &v)) {
                json_decref(arr);
                return NULL;
            }
            if (!tls_is_grease(v)) {
                str_list_push(arr,
                              tls_version_name((uint8_t)(v >> 8), (uint8_t)v, buf, sizeof buf));
            }
        }
        return arr;
    }
    return NULL;
}

static json_t *ext_ignore(struct pb_slice b)
{
    return NULL;
}

struct ext_def {
    uint16_t code;
    const char *label;
    json_t *(*parse)(struct pb_slice b);
    int raw; /* TLS_RAW_* or -1 */
};

static const struct ext_def ext_defs[] = {
    {0, "server_name_indication", ext_sni, -1},
    {1, "max_fragment_length", ext_max_fragment, -1},
    {2, "client_certificate_url", ext_expect_empty, -1},
    {3, "trusted_ca_keys", ext_ignore, -1},
    {4, "truncated_hmac", ext_expect_empty, -1},
    {5, "status_request", ext_status_request, -1},
    {6, "user_mapping", ext_ignore, -1},
    {7, "client_authz", ext_ignore, -1},
    {8, "server_authz", ext_ignore, -1},
    {9, "cert_type", ext_cert_type, -1},
    {10, "supported_groups", ext_groups, TLS_RAW_GROUPS},
    {11, "ec_points_formats", ext_points, TLS_RAW_POINTS},
    {12, "srp", ext_srp, -1},
    {13, "signature_algorithms", ext_sigschemes, -1},
    {16, "application_layer_protocol_negotiation", ext_alpn, -1},
    {35, "session_ticket", ext_ticket, -1},
    {43, "supported_versions", ext_versions, TLS_RAW_VERSIONS},
    {0xff01, "renegotiation_info", ext_ignore, -1},
};

static void hello_extensions(struct tls_hello *h, struct pb_slice b)
{
    uint16_t total;
    if (!at16(b, 0, &total) || total == 0) {
        return; /* no extensions */
    }
    size_t limit = 2 + (size_t)total;
    json_t *parsed = json_object();
    json_t *unknown = json_array();
    size_t cap = b.len / 4 + 1;
    if (cap > TLS_MAX_EXTENSIONS) {
        cap = TLS_MAX_EXTENSIONS;
    }
    uint16_t *order = pb_calloc(cap, sizeof *order);
    size_t norder = 0;
    if (parsed == NULL || unknown == NULL || order == NULL) {
        goto fail;
    }
    for (size_t base = 2; base < limit;) {
        uint16_t code, len;
        if (!at16(b, base, &code) || !at16(b, base + 2, &len)) {
            /* Packetbeat forgets every extension when the list is cut */
            goto fail;
        }
        struct pb_slice body = {b.ptr, 0};
        if (base + 4 <= b.len) {
            body.ptr = b.ptr + base + 4;
            body.len = b.len - (base + 4) < len ? b.len - (base + 4) : len;
        }
        base += 4 + (size_t)len;
        if (tls_is_grease(code)) {
            continue;
        }
        if (norder >= cap) {
            break; /* TLS_MAX_EXTENSIONS: the rest is ignored */
        }
        order[norder++] = code;
        const struct ext_def *def = NULL;
        for (size_t i = 0; i < sizeof ext_defs / sizeof ext_defs[0]; i++) {
            if (ext_defs[i].code == code) {
                def = &ext_defs[i];
                break;
            }
        }
        char label[16];
        json_t *val = NULL;
        if (def != NULL) {
            val = def->parse(body);
        } else {
            snprintf(label, sizeof label, "%u", code);
        }
        if (val != NULL) {
            json_object_set_new(parsed, def->label, val);
        } else {
            arr_add(unknown, json_string(def != NULL ? def->label : label));
        }
        if (def != NULL && def->raw >= 0) {
            int k = def->raw;
            pb_free(h->raw[k]);
            h->raw[k] = pb_malloc(body.len ? body.len : 1);
            if (h->raw[k] != NULL) {
                memcpy(h->raw[k], body.ptr, body.len);
                h->raw_len[k] = body.len;
                h->has_raw[k] = true;
            } else {
                h->has_raw[k] = false;
            }
        }
    }
    if (json_array_size(unknown) > 0) {
        json_object_set_new_nocheck(parsed, "_unparsed_", unknown);
    } else {
        json_decref(unknown);
    }
    h->parsed = parsed;
    h->ext_order = order;
    h->next = norder;
    json_t *ticket = json_object_get(parsed, "session_ticket");
    if (json_is_string(ticket)) {
        h->ticket_present = true;
        h->ticket_nonempty = json_string_length(ticket) > 0;
    }
    return;
fail:
    json_decref(parsed);
    json_decref(unknown);
    pb_free(order);
    for (int k = 0; k < 3; k++) {
        pb_free(h->raw[k]);
        h->raw[k] = NULL;
        h->raw_len[k] = 0;
        h->has_raw[k] = false;
    }
}

/* ---- hellos ---- */

void tls_hello_free(struct tls_hello *h)
{
    if (h == NULL) {
        return;
    }
    pb_free(h->ciphers);
    pb_free(h->comp);
    json_decref(h->parsed);
    pb_free(h->ext_order);
    for (int k = 0; k < 3; k++) {
        pb_free(h->raw[k]);
    }
    pb_free(h);
}

/* version, random, session id; returns the offset after them or 0. */
static size_t common_hello(struct tls_hello *h, struct pb_slice b)
{
    uint8_t sid_len;
    struct pb_slice random, sid;
    if (!at8(b, 0, &h->major) || !at8(b, 1, &h->minor) || !sub(b, 2, 32, &random) ||
        !at8(b, 34, &sid_len)) {
        return 0;
    }
    if (h->major != 3 || sid_len > 32 || !sub(b, 35, sid_len, &sid)) {
        return 0;
    }
    memcpy(h->random, random.ptr, 32);
    memcpy(h->sid, sid.ptr, sid_len);
    h->sid_len = sid_len;
    return 35 + (size_t)sid_len;
}

struct tls_hello *tls_parse_client_hello(const uint8_t *p, size_t len)
{
    struct pb_slice b = {p, len};
    struct tls_hello *h = pb_calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    size_t pos = common_hello(h, b);
    uint16_t cs_len;
    if (pos == 0 || !at16(b, pos, &cs_len)) {
        goto fail;
    }
    size_t end = pos + 2 + (size_t)cs_len;
    h->ciphers = pb_calloc((size_t)cs_len / 2 + 1, sizeof *h->ciphers);
    if (h->ciphers == NULL) {
        goto fail;
    }
    for (size_t base = pos + 2; base < end; base += 2) {
        uint16_t c;
        if (!at16(b, base, &c)) {
            goto fail;
        }
        if (!tls_is_grease(c) && h->nciphers < (size_t)cs_len / 2 + 1) {
            h->ciphers[h->nciphers++] = c;
        }
    }
    pos = end;
    uint8_t comp_len;
    if (!at8(b, pos, &comp_len)) {
        goto fail;
    }
    size_t limit = pos + 1 + (size_t)comp_len;
    h->comp = pb_calloc((size_t)comp_len + 1, 1);
    if (h->comp == NULL) {
        goto fail;
    }
    for (size_t base = pos + 1; base < limit; base++) {
        uint8_t m;
        if (!at8(b, base, &m)) {
            goto fail;
        }
        h->comp[h->ncomp++] = m;
    }
    struct pb_slice ext = {p + limit, len - limit};
    hello_extensions(h, ext);
    return h;
fail:
    tls_hello_free(h);
    return NULL;
}

struct tls_hello *tls_parse_server_hello(const uint8_t *p, size_t len)
{
    struct pb_slice b = {p, len};
    struct tls_hello *h = pb_calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    size_t pos = common_hello(h, b);
    if (pos == 0 || !at16(b, pos, &h->sel_cipher) || !at8(b, pos + 2, &h->sel_comp)) {
        tls_hello_free(h);
        return NULL;
    }
    struct pb_slice ext = {p + pos + 3, len - pos - 3};
    hello_extensions(h, ext);
    return h;
}

/* ---- other handshake messages ---- */

static void parse_certificates(struct tls_parser *ps, struct pb_slice b)
{
    uint32_t total;
    if (!at24(b, 0, &total) || (size_t)total + 3 != b.len) {
        return;
    }
    /* Packetbeat keeps all of a message's certificates or none. */
    struct tls_cert got[TLS_MAX_CERTS];
    size_t n = 0;
    size_t limit = (size_t)total + 3;
    bool ok = true;
    for (size_t pos = 3; pos + 3 <= limit;) {
        uint32_t clen;
        struct pb_slice der;
        if (!at24(b, pos, &clen) || pos + 3 + clen > limit || !sub(b, pos + 3, clen, &der)) {
            ok = false;
            break;
        }
        pos += 3 + (size_t)clen;
        if (n >= TLS_MAX_CERTS || ps->ncerts + n >= TLS_MAX_CERTS ||
            ps->cert_bytes + der.len > TLS_MAX_CERT_BYTES) {
            ps->dropped++;
            continue;
        }
        void *x = tls_x509_parse(der.ptr, der.len);
        uint8_t *copy = x != NULL ? pb_malloc(der.len ? der.len : 1) : NULL;
        if (copy == NULL) {
            tls_x509_free(x);
            ok = false;
            break;
        }
        memcpy(copy, der.ptr, der.len);
        got[n].der = copy;
        got[n].len = der.len;
        got[n].x509 = x;
        ps->cert_bytes += der.len;
        n++;
    }
    if (ok && n > 0 && ps->certs == NULL) {
        ps->certs = pb_calloc(TLS_MAX_CERTS, sizeof *ps->certs);
        ok = ps->certs != NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (ok) {
            ps->certs[ps->ncerts++] = got[i];
        } else {
            ps->cert_bytes -= got[i].len;
            pb_free(got[i].der);
            tls_x509_free(got[i].x509);
        }
    }
}

static void parse_ocsp_status(struct tls_parser *ps, struct pb_slice b)
{
    /* status_type:1 (1 = ocsp) response_len:3 then the OCSPResponse DER,
     * whose status byte sits 6 bytes in */
    uint8_t t, st;
    if (!at8(b, 0, &t) || t != 1) {
        ps->ocsp_valid = false;
        return;
    }
    ps->ocsp_valid = at8(b, 1 + 3 + 6, &st);
    ps->ocsp_status = ps->ocsp_valid ? st : 0;
}

static void set_role(struct tls_parser *ps, enum tls_role role)
{
    ps->role = role;
}

bool tls_parse_handshake(struct tls_parser *ps, uint8_t type, const uint8_t *body, size_t len)
{
    struct pb_slice b = {body, len};
    switch (type) {
    case HS_HELLO_REQUEST:
        set_role(ps, TLS_ROLE_SERVER);
        return true;
    case HS_CLIENT_HELLO:
    case HS_SERVER_HELLO: {
        set_role(ps, type == HS_CLIENT_HELLO ? TLS_ROLE_CLIENT : TLS_ROLE_SERVER);
        struct tls_hello *h = type == HS_CLIENT_HELLO ? tls_parse_client_hello(body, len)
                                                      : tls_parse_server_hello(body, len);
        tls_hello_free(ps->hello);
        ps->hello = h;
        return h != NULL;
    }
    case HS_CERTIFICATE:
        parse_certificates(ps, b);
        return true;
    case HS_CERTIFICATE_REQUEST:
        set_role(ps, TLS_ROLE_SERVER);
        ps->cert_requested = true;
        return true;
    case HS_CLIENT_KEY_EXCHANGE:
        set_role(ps, TLS_ROLE_CLIENT);
        ps->key_exchanged = true;
        return true;
    case HS_SERVER_KEY_EXCHANGE:
        set_role(ps, TLS_ROLE_SERVER);
        ps->key_exchanged = true;
        return true;
    case HS_CERTIFICATE_STATUS:
        parse_ocsp_status(ps, b);
        return true;
    default:
        return true;
    }
}

/* ---- records ---- */

int tls_record_header(const uint8_t *p, size_t len, size_t *total)
{
    struct pb_rd r = pb_rd_make(p, len);
    (void)pb_rd_u8(&r);
    uint8_t major = pb_rd_u8(&r);
    (void)pb_rd_u8(&r);
    uint16_t rlen = pb_rd_be16(&r);
    if (!pb_rd_ok(&r)) {
        return -1;
    }
    if (major != 3 || rlen > TLS_MAX_RECORD) {
        return 0;
    }
    *total = TLS_RECORD_HEADER + (size_t)rlen;
    return 1;
}

static void hs_clear(struct tls_parser *ps)
{
    pb_free(ps->hs);
    ps->hs = NULL;
    ps->hs_len = ps->hs_cap = 0;
}

/* Appends a handshake record's body and parses every complete message. */
static bool buffer_handshake(struct tls_parser *ps, struct pb_slice body)
{
    if (ps->hs_len + body.len > TLS_MAX_HS_BUFFER) {
        hs_clear(ps);
        return false;
    }
    if (ps->hs_len + body.len > ps->hs_cap) {
        size_t cap = ps->hs_cap ? ps->hs_cap : 4096;
        while (cap < ps->hs_len + body.len) {
            cap *= 2;
        }
        uint8_t *nb = pb_realloc(ps->hs, cap);
        if (nb == NULL) {
            hs_clear(ps);
            return false;
        }
        ps->hs = nb;
        ps->hs_cap = cap;
    }
    if (body.len > 0) {
        memcpy(ps->hs + ps->hs_len, body.ptr, body.len);
        ps->hs_len += body.len;
    }
    size_t off = 0;
    while (ps->hs_len - off >= TLS_HANDSHAKE_HEADER) {
        struct pb_rd r = pb_rd_make(ps->hs + off, ps->hs_len - off);
        uint8_t type = pb_rd_u8(&r);
        uint32_t mlen = pb_rd_be24(&r);
        if (mlen > TLS_MAX_HANDSHAKE) {
            hs_clear(ps);
            return false;
        }
        if (pb_rd_left(&r) < mlen) {
            break;
        }
        struct pb_slice msg = pb_rd_slice(&r, mlen);
        bool ok = tls_parse_handshake(ps, type, msg.ptr, msg.len);
        off += TLS_HANDSHAKE_HEADER + (size_t)mlen;
        if (!ok) {
            /* Packetbeat drops the message and fails the stream */
            memmove(ps->hs, ps->hs + off, ps->hs_len - off);
            ps->hs_len -= off;
            return false;
        }
    }
    if (off > 0) {
        memmove(ps->hs, ps->hs + off, ps->hs_len - off);
        ps->hs_len -= off;
    }
    if (ps->hs_len == 0) {
        hs_clear(ps);
    }
    return true;
}

static void parse_alert(struct tls_parser *ps, struct pb_slice body)
{
    if (body.len != 2) {
        return; /* encrypted alert */
    }
    uint8_t sev = 0, code = 0;
    (void)at8(body, 0, &sev);
    (void)at8(body, 1, &code);
    if (ps->alerts == NULL) {
        ps->alerts = pb_calloc(TLS_MAX_ALERTS, sizeof *ps->alerts);
    }
    if (ps->alerts == NULL || ps->nalerts >= TLS_MAX_ALERTS) {
        ps->dropped++;
        return;
    }
    ps->alerts[ps->nalerts].severity = sev;
    ps->alerts[ps->nalerts].code = code;
    ps->nalerts++;
}

enum tls_rec tls_parse_record(struct tls_parser *ps, const uint8_t *rec, size_t len)
{
    struct pb_rd r = pb_rd_make(rec, len);
    uint8_t type = pb_rd_u8(&r);
    pb_rd_skip(&r, 4);
    struct pb_slice body = pb_rd_slice(&r, pb_rd_left(&r));
    if (!pb_rd_ok(&r)) {
        return TLS_REC_FAILED;
    }
    switch (type) {
    case REC_CCS:
        return TLS_REC_ENCRYPTED;
    case REC_HANDSHAKE:
        return buffer_handshake(ps, body) ? TLS_REC_OK : TLS_REC_FAILED;
    case REC_ALERT:
        parse_alert(ps, body);
        return TLS_REC_OK;
    default:
        /* application data and unknown types are skipped */
        return TLS_REC_OK;
    }
}

void tls_parser_reset(struct tls_parser *ps)
{
    tls_hello_free(ps->hello);
    for (size_t i = 0; i < ps->ncerts; i++) {
        pb_free(ps->certs[i].der);
        tls_x509_free(ps->certs[i].x509);
    }
    pb_free(ps->certs);
    pb_free(ps->alerts);
    hs_clear(ps);
    memset(ps, 0, sizeof *ps);
}

bool tls_parser_has_info(const struct tls_parser *ps)
{
    return ps->hello != NULL || ps->nalerts > 0 || ps->ncerts > 0;
}

/* ---- JA3 ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool bad;
};

static void sb_add(struct sbuf *s, const char *t)
{
    size_t n = strlen(t);
    if (s->bad) {
        return;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        char *np = pb_realloc(s->p, cap);
        if (np == NULL) {
            s->bad = true;
            return;
        }
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, t, n + 1);
    s->len += n;
}

static void sb_num(struct sbuf *s, unsigned v, bool *first)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%s%u", *first ? "" : "-", v);
    *first = false;
    sb_add(s, buf);
}

/* The values of a length-prefixed list of 1- or 2-byte items, GREASE out. */
static void ja3_list(struct sbuf *s, const uint8_t *raw, size_t actual, size_t size)
{
    bool first = true;
    if (raw == NULL || actual < size) {
        return;
    }
    struct pb_slice b = {raw, actual};
    size_t limit;
    if (size == 2) {
        uint16_t v = 0;
        (void)at16(b, 0, &v);
        limit = v;
    } else {
        uint8_t v = 0;
        (void)at8(b, 0, &v);
        limit = v;
    }
    if (actual < limit) {
        limit = actual;
    }
    for (size_t pos = size; pos <= limit && pos + size <= actual; pos += size) {
        unsigned v;
        if (size == 2) {
            uint16_t w = 0;
            (void)at16(b, pos, &w);
            v = w;
        } else {
            uint8_t w = 0;
            (void)at8(b, pos, &w);
            v = w;
        }
        if (!tls_is_grease((uint16_t)v)) {
            sb_num(s, v, &first);
        }
    }
}

char *tls_ja3(const struct tls_hello *h, char md5hex[33])
{
    struct sbuf s = {NULL, 0, 0, false};
    bool first = true;
    sb_num(&s, (unsigned)h->major * 256u + h->minor, &first);
    sb_add(&s, ",");
    first = true;
    for (size_t i = 0; i < h->nciphers; i++) {
        if (!tls_is_grease(h->ciphers[i])) {
            sb_num(&s, h->ciphers[i], &first);
        }
    }
    sb_add(&s, ",");
    first = true;
    for (size_t i = 0; i < h->next; i++) {
        sb_num(&s, h->ext_order[i], &first);
    }
    sb_add(&s, ",");
    ja3_list(&s, h->has_raw[TLS_RAW_GROUPS] ? h->raw[TLS_RAW_GROUPS] : NULL,
             h->raw_len[TLS_RAW_GROUPS], 2);
    sb_add(&s, ",");
    ja3_list(&s, h->has_raw[TLS_RAW_POINTS] ? h->raw[TLS_RAW_POINTS] : NULL,
             h->raw_len[TLS_RAW_POINTS], 1);
    if (s.bad || s.p == NULL) {
        pb_free(s.p);
        return NULL;
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(s.p, s.len, dig, &dlen, EVP_md5(), NULL) != 1 || dlen != 16) {
        pb_free(s.p);
        return NULL;
    }
    for (unsigned i = 0; i < 16; i++) {
        snprintf(md5hex + 2 * i, 3, "%02x", dig[i]);
    }
    md5hex[32] = '\0';
    return s.p;
}
