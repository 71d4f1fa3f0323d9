/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http_parse.c - HTTP/1.x message parser; pure: no I/O, no
 * globals. Follows Packetbeat 8.x http_parser.go, quirks included (header
 * values trimmed as its trim() does, no header folding, Connection compared
 * case-sensitively), with two deliberate extensions: chunk extensions
 * (";name=value" after the chunk size) and trailer fields after the last
 * chunk are accepted instead of dropping the stream.
 *
 *   request-line  = method SP request-target SP "HTTP/" x.y CRLF
 *   status-line   = "HTTP/" x.y SP status-code [SP reason-phrase] CRLF
 *   header-line   = name ":" value CRLF          (value = up to the first
 *                                                CRLF after the first ':')
 *   header block ends with an empty line (CRLF)
 *   chunked body  = *(hex-size [";" ext] CRLF data CRLF) "0" CRLF *trailer CRLF
 */
#include "http_parse.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"

/* ---- small helpers ---------------------------------------------------- */

static bool is_sp_tab(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Packetbeat's trim(): trimLeft(trimRight(b)) where trimRight never looks
 * at index 0, so a one-byte value trims to nothing. Returns the kept
 * range as [*off, *off + *len). */
static void go_trim(const uint8_t *b, size_t n, size_t *off, size_t *len)
{
    *off = 0;
    *len = 0;
    size_t right = 0;
    for (size_t i = n; i-- > 1;) {
        if (!is_sp_tab(b[i])) {
            right = i + 1;
            break;
        }
    }
    for (size_t i = 0; i < right; i++) {
        if (!is_sp_tab(b[i])) {
            *off = i;
            *len = right - i;
            return;
        }
    }
}

bool http_parse_int(const uint8_t *p, size_t n, int64_t *out)
{
    *out = 0;
    if (n == 0) {
        return false;
    }
    size_t i = 0;
    bool neg = p[0] == '-';
    if (neg || p[0] == '+') {
        i = 1;
    }
    size_t start = i;
    uint64_t v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        v = v * 10u + (uint64_t)(p[i] - '0'); /* wraps as Go's uint64 does */
        i++;
    }
    if (i == start) {
        return false;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return true;
}

/* Width of the UTF-8 sequence at p as Go's utf8.DecodeRune sees it (1 for
 * an invalid byte). */
static size_t utf8_width(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        return 1;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 1;
    }
    if (left < n || p[1] < lo || p[1] > hi) {
        return 1;
    }
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return n;
}

/* True when the (valid) rune at p of width w is unicode.IsSpace. */
static bool rune_is_space(const uint8_t *p, size_t w)
{
    switch (w) {
    case 1:
        return p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r');
    case 2: /* U+0085, U+00A0 */
        return p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0);
    case 3:
        if (p[0] == 0xe1) { /* U+1680 */
            return p[1] == 0x9a && p[2] == 0x80;
        }
        if (p[0] == 0xe2 && p[1] == 0x80) { /* U+2000-200A, 2028, 2029, 202F */
            return (p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf;
        }
        if (p[0] == 0xe2 && p[1] == 0x81) { /* U+205F */
            return p[2] == 0x9f;
        }
        if (p[0] == 0xe3) { /* U+3000 */
            return p[1] == 0x80 && p[2] == 0x80;
        }
        return false;
    default:
        return false;
    }
}

/* Byte index of the first and last unicode.IsSpace rune; false if none. */
static bool find_spaces(const uint8_t *s, size_t n, size_t *first, size_t *last)
{
    bool found = false;
    for (size_t i = 0; i < n;) {
        size_t w = utf8_width(s + i, n - i);
        if (rune_is_space(s + i, w)) {
            if (!found) {
                *first = i;
            }
            *last = i;
            found = true;
        }
        i += w;
    }
    return found;
}

/* Index of the first "\r\n" at or after *hint in d[0..n), SIZE_MAX when
 * none; *hint then records where the next search may start. */
static size_t find_crlf(const uint8_t *d, size_t n, size_t *hint)
{
    size_t from = *hint;
    if (n > 0 && from < n - 1) {
        /* a CR then LF: the CR may be at n - 2 at most */
        const uint8_t *p = d + from, *last = d + n - 1;
        while ((p = memchr(p, '\r', (size_t)(last - p))) != NULL) {
            if (p[1] == '\n') {
                return (size_t)(p - d);
            }
            if (++p >= last) {
                break;
            }
        }
    }
    if (n > 0 && n - 1 > from) {
        *hint = n - 1;
    }
    return SIZE_MAX;
}

static int set_bytes(struct pb_bytes *b, const uint8_t *p, size_t n)
{
    pb_bytes_reset(b);
    return pb_bytes_append(b, p, n, SIZE_MAX);
}

/* ---- messages --------------------------------------------------------- */

struct http_msg *http_msg_new(uint64_t ts_ns, enum pb_dir dir)
{
    struct http_msg *m = pb_calloc(1, sizeof *m);
    if (m != NULL) {
        m->ts_ns = ts_ns;
        m->dir = dir;
    }
    return m;
}

void http_msg_free(void *ptr)
{
    struct http_msg *m = ptr;
    if (m == NULL) {
        return;
    }
    struct pb_bytes *bs[] = {&m->method,       &m->uri,  &m->phrase,  &m->connection,
                             &m->content_type, &m->host, &m->referer, &m->user_agent,
                             &m->real_ip,      &m->raw,  &m->body};
    for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++) {
        if (bs[i]->p != NULL) { /* most are empty */
            pb_bytes_free(bs[i]);
        }
    }
    for (size_t i = 0; i < m->nencodings; i++) {
        pb_free(m->encodings[i]);
    }
    for (size_t i = 0; i < m->nhdrs; i++) {
        pb_free(m->hdrs[i].name);
        pb_bytes_free(&m->hdrs[i].val);
    }
    pb_free(m->hdrs);
    pb_free(m->hidx);
    for (size_t i = 0; i < m->nnotes; i++) {
        pb_free(m->notes[i]);
    }
    pb_free(m->username);
    pb_free(m);
}

void http_msg_add_note(struct http_msg *m, const char *note)
{
    if (m->nnotes >= HTTP_MAX_NOTES) {
        return;
    }
    char *s = pb_strdup(note);
    if (s != NULL) {
        m->notes[m->nnotes++] = s;
    }
}

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

/* Slot of name in the index (holding it or empty). */
static size_t hidx_slot(const struct http_msg *m, const char *name, size_t nlen)
{
    size_t mask = m->hidx_cap - 1;
    size_t i = name_hash(name, nlen) & mask;
    for (;;) {
        uint32_t v = m->hidx[i];
        if (v == 0) {
            return i;
        }
        const struct http_hdr *h = &m->hdrs[v - 1];
        if (h->nlen == nlen && memcmp(h->name, name, nlen) == 0) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int hidx_grow(struct http_msg *m)
{
    size_t cap = m->hidx_cap == 0 ? 16 : m->hidx_cap * 2;
    uint32_t *idx = pb_calloc(cap, sizeof *idx);
    if (idx == NULL) {
        return -PB_ENOMEM;
    }
    pb_free(m->hidx);
    m->hidx = idx;
    m->hidx_cap = cap;
    for (size_t i = 0; i < m->nhdrs; i++) {
        size_t s = hidx_slot(m, m->hdrs[i].name, m->hdrs[i].nlen);
        m->hidx[s] = (uint32_t)(i + 1);
    }
    return 0;
}

static struct http_hdr *header_find(const struct http_msg *m, const char *name, size_t nlen)
{
    if (m->hidx_cap == 0) {
        return NULL;
    }
    uint32_t v = m->hidx[hidx_slot(m, name, nlen)];
    return v == 0 ? NULL : &m->hdrs[v - 1];
}

struct http_hdr *http_msg_header(const struct http_msg *m, const char *name)
{
    return header_find(m, name, strlen(name));
}

/* Stores a captured header; a repeated name gets ", value" appended. */
static void header_capture(struct http_msg *m, const uint8_t *lname, size_t nlen,
                           const uint8_t *val, size_t vlen)
{
    struct http_hdr *h = header_find(m, (const char *)lname, nlen);
    if (h != NULL) {
        if (pb_bytes_append(&h->val, ", ", 2, SIZE_MAX) == 0) {
            pb_bytes_append(&h->val, val, vlen, SIZE_MAX);
        }
        return;
    }
    if (m->nhdrs >= HTTP_MAX_HEADERS) {
        m->hdrs_dropped++;
        return;
    }
    if ((m->nhdrs + 1) * 2 > m->hidx_cap && hidx_grow(m) < 0) {
        return;
    }
    if (m->nhdrs == m->hdrs_cap) {
        size_t cap = m->hdrs_cap == 0 ? 8 : m->hdrs_cap * 2;
        struct http_hdr *hs = pb_realloc(m->hdrs, cap * sizeof *hs);
        if (hs == NULL) {
            return;
        }
        m->hdrs = hs;
        m->hdrs_cap = cap;
    }
    char *name = pb_malloc(nlen + 1);
    if (name == NULL) {
        return;
    }
    memcpy(name, lname, nlen);
    name[nlen] = '\0';
    h = &m->hdrs[m->nhdrs];
    memset(h, 0, sizeof *h);
    h->name = name;
    h->nlen = nlen;
    if (pb_bytes_append(&h->val, val, vlen, SIZE_MAX) < 0 && vlen > 0) {
        pb_free(name);
        return;
    }
    m->hidx[hidx_slot(m, name, nlen)] = (uint32_t)(m->nhdrs + 1);
    m->nhdrs++;
}

/* Comma-separated tokens, each trimmed of spaces and lower-cased
 * (Packetbeat's parseCommaSeparatedList); front: insert before the
 * existing ones. Returns true when the last token is "chunked" and
 * drop_chunked asked to remove it. */
static bool add_encodings(struct http_msg *m, const uint8_t *v, size_t n, bool front,
                          bool drop_chunked)
{
    char *toks[HTTP_MAX_ENCODINGS];
    size_t nt = 0;
    bool more = true;
    for (size_t start = 0; more;) {
        const uint8_t *comma = memchr(v + start, ',', n - start);
        size_t end = comma != NULL ? (size_t)(comma - v) : n;
        more = comma != NULL;
        size_t a = start, b = end;
        while (a < b && v[a] == ' ') {
            a++;
        }
        while (b > a && v[b - 1] == ' ') {
            b--;
        }
        if (nt < HTTP_MAX_ENCODINGS) {
            char *t = pb_strndup_lower(v + a, b - a);
            if (t != NULL) {
                toks[nt++] = t;
            }
        }
        start = end + 1;
    }
    bool chunked = false;
    if (drop_chunked && nt > 0 && strcmp(toks[nt - 1], "chunked") == 0) {
        chunked = true;
        pb_free(toks[--nt]);
    }
    char *all[2 * HTTP_MAX_ENCODINGS];
    size_t na = 0;
    if (front) {
        memcpy(all, toks, nt * sizeof toks[0]);
        memcpy(all + nt, m->encodings, m->nencodings * sizeof all[0]);
    } else {
        memcpy(all, m->encodings, m->nencodings * sizeof all[0]);
        memcpy(all + m->nencodings, toks, nt * sizeof toks[0]);
    }
    na = nt + m->nencodings;
    m->nencodings = na < HTTP_MAX_ENCODINGS ? na : HTTP_MAX_ENCODINGS;
    memcpy(m->encodings, all, m->nencodings * sizeof all[0]);
    for (size_t i = m->nencodings; i < na; i++) {
        pb_free(all[i]);
    }
    return chunked;
}

static bool list_contains_sub(char *const *list, size_t n, const struct pb_bytes *ct)
{
    for (size_t i = 0; i < n; i++) {
        if (pb_mem_contains(ct->p, ct->len, list[i], strlen(list[i]))) {
            return true;
        }
    }
    return false;
}

/* ---- streams ---------------------------------------------------------- */

void http_stream_prepare(struct http_stream *st, bool free_msg)
{
    if (free_msg) {
        http_msg_free(st->msg);
    }
    st->msg = NULL;
    st->state = HTTP_ST_START;
    st->parse_off = 0;
    st->colon_hint = 0;
    st->crlf_hint = 0;
    st->body_received = 0;
}

void http_stream_reset(struct http_stream *st)
{
    http_msg_free(st->msg);
    memset(st, 0, sizeof *st);
}

/* ---- the first line --------------------------------------------------- */

/* Packetbeat's parseVersion: "x.y" with x <= 1 and y <= 2, else 1.0. */
static void parse_version(struct http_msg *m, const uint8_t *v, size_t n)
{
    m->ver_major = 1;
    m->ver_minor = 0;
    if (n < 3) {
        return;
    }
    uint8_t major = (uint8_t)(v[0] - '0');
    uint8_t minor = (uint8_t)(v[2] - '0');
    if (major > 1 || minor > 2) {
        return;
    }
    m->ver_major = major;
    m->ver_minor = minor;
}

static enum http_res parse_first_line(struct http_stream *st, const uint8_t *data, size_t len)
{
    struct http_msg *m = st->msg;
    size_t i = find_crlf(data, len, &st->crlf_hint);
    if (i == SIZE_MAX) {
        return HTTP_RES_MORE;
    }
    const uint8_t *fl = data;
    size_t flen = i;
    if (flen < 9) {
        pb_debug("http", "First line too small");
        return HTTP_RES_ERROR;
    }
    if (memcmp(fl, "HTTP/", 5) == 0) {
        m->is_request = false;
        const uint8_t *s = fl + 9;
        size_t slen = flen - 9;
        const uint8_t *sp = memchr(s, ' ', slen);
        size_t p = sp != NULL ? (size_t)(sp - s) : slen;
        int64_t code;
        if (!http_parse_int(s, p, &code)) {
            pb_debug("http", "Failed to understand HTTP response status: %.*s", (int)slen, s);
            return HTTP_RES_ERROR;
        }
        m->status_code = (uint16_t)code;
        if (sp != NULL && set_bytes(&m->phrase, sp + 1, slen - p - 1) < 0) {
            return HTTP_RES_ERROR;
        }
        parse_version(m, fl + 5, 3);
    } else {
        size_t after_method = 0, after_uri = 0;
        if (!find_spaces(fl, flen, &after_method, &after_uri) || after_method == after_uri) {
            pb_debug("http", "Couldn't understand HTTP request");
            return HTTP_RES_ERROR;
        }
        size_t vidx = after_uri + 5 + 1;
        if (!(flen > vidx && memcmp(fl + after_uri + 1, "HTTP/", 5) == 0)) {
            pb_debug("http", "Couldn't understand HTTP version");
            return HTTP_RES_ERROR;
        }
        m->is_request = true;
        if (set_bytes(&m->method, fl, after_method) < 0 ||
            set_bytes(&m->uri, fl + after_method + 1, after_uri - after_method - 1) < 0) {
            return HTTP_RES_ERROR;
        }
        parse_version(m, fl + vidx, flen - vidx);
    }
    st->parse_off = i + 2;
    m->header_offset = i + 2;
    st->state = HTTP_ST_HEADERS;
    st->colon_hint = st->parse_off;
    st->crlf_hint = st->parse_off;
    return HTTP_RES_MORE;
}

/* ---- header lines ----------------------------------------------------- */

/* ASCII lower-casing of n bytes, eight at a time (bytes >= 0x80 kept). */
static void lower_name(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, src + i, 8);
        uint64_t low7 = x & 0x7f7f7f7f7f7f7f7full;
        uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3full; /* bit 7: >= 'A' */
        uint64_t gt_z = low7 + 0x2525252525252525ull; /* bit 7: > 'Z' */
        uint64_t upper = (ge_a ^ gt_z) & ~x & 0x8080808080808080ull;
        x |= upper >> 2;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++) {
        uint8_t c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    }
}

/* The header fields the parser or the event reads by name. */
enum hname {
    HN_OTHER,
    HN_CONTENT_LENGTH,
    HN_CONTENT_TYPE,
    HN_TRANSFER_ENCODING,
    HN_CONTENT_ENCODING,
    HN_CONNECTION,
    HN_HOST,
    HN_REFERER,
    HN_USER_AGENT,
};

/* Which of them the lower-cased name is: one compare, picked by length. */
static enum hname known_name(const uint8_t *name, size_t nlen)
{
    switch (nlen) {
    case 4:
        return memcmp(name, "host", 4) == 0 ? HN_HOST : HN_OTHER;
    case 7:
        return memcmp(name, "referer", 7) == 0 ? HN_REFERER : HN_OTHER;
    case 10:
        if (memcmp(name, "connection", 10) == 0) {
            return HN_CONNECTION;
        }
        return memcmp(name, "user-agent", 10) == 0 ? HN_USER_AGENT : HN_OTHER;
    case 12:
        return memcmp(name, "content-type", 12) == 0 ? HN_CONTENT_TYPE : HN_OTHER;
    case 14:
        return memcmp(name, "content-length", 14) == 0 ? HN_CONTENT_LENGTH : HN_OTHER;
    case 16:
        return memcmp(name, "content-encoding", 16) == 0 ? HN_CONTENT_ENCODING : HN_OTHER;
    case 17:
        return memcmp(name, "transfer-encoding", 17) == 0 ? HN_TRANSFER_ENCODING : HN_OTHER;
    default:
        return HN_OTHER;
    }
}

static void header_line(struct http_msg *m, const struct http_parser_cfg *cfg,
                        const uint8_t *rawname, size_t nlen, const uint8_t *rawval, size_t vlen)
{
    uint8_t nbuf[140];
    uint8_t *name = nlen <= sizeof nbuf ? nbuf : pb_malloc(nlen);
    if (name == NULL) {
        return;
    }
    lower_name(name, rawname, nlen);
    size_t voff, vl;
    go_trim(rawval, vlen, &voff, &vl);
    const uint8_t *val = rawval + voff;

    /* Headers the parser itself needs, always captured; the real IP header
     * is looked for before host, referer and user-agent. */
    enum hname kind = known_name(name, nlen);
    if (kind == HN_CONTENT_LENGTH) {
        http_parse_int(val, vl, &m->content_length);
        m->has_content_length = true;
    } else if (kind == HN_CONTENT_TYPE) {
        set_bytes(&m->content_type, val, vl);
    } else if (kind == HN_TRANSFER_ENCODING) {
        if (add_encodings(m, val, vl, false, true)) {
            m->is_chunked = true;
        }
    } else if (kind == HN_CONTENT_ENCODING) {
        add_encodings(m, val, vl, true, false);
    } else if (kind == HN_CONNECTION) {
        set_bytes(&m->connection, val, vl);
    } else if (cfg->real_ip_header != NULL && cfg->real_ip_header[0] != '\0' &&
               pb_mem_eq(name, nlen, cfg->real_ip_header)) {
        const uint8_t *comma = memchr(val, ',', vl);
        size_t first = comma != NULL ? (size_t)(comma - val) : vl;
        size_t o, l;
        go_trim(val, first, &o, &l);
        set_bytes(&m->real_ip, val + o, l);
    } else if (kind == HN_HOST) {
        set_bytes(&m->host, val, vl);
    } else if (kind == HN_REFERER) {
        set_bytes(&m->referer, val, vl);
    } else if (kind == HN_USER_AGENT) {
        set_bytes(&m->user_agent, val, vl);
    }

    if (cfg->send_headers) {
        bool keep = cfg->send_all_headers;
        for (size_t i = 0; !keep && i < cfg->nwhitelist; i++) {
            keep = pb_mem_eq(name, nlen, cfg->whitelist[i]);
        }
        if (keep) {
            header_capture(m, name, nlen, val, vl);
        }
    }
    if (name != nbuf) {
        pb_free(name);
    }
}

/* One header line at st->parse_off, or the end of the header block. */
static enum http_res parse_headers(struct http_stream *st, const struct http_parser_cfg *cfg,
                                   const uint8_t *data, size_t len, size_t *pos, bool *eoh)
{
    struct http_msg *m = st->msg;
    size_t off = st->parse_off;
    *eoh = false;
    if (len - off >= 2 && data[off] == '\r' && data[off + 1] == '\n') {
        m->size = off + 2;
        m->header_len = off + 2;
        bool keep =
            m->is_request ? !cfg->no_raw_requests : !cfg->no_raw_responses || m->status_code == 101;
        if (keep && pb_bytes_append(&m->raw, data, off + 2, SIZE_MAX) < 0) {
            return HTTP_RES_ERROR;
        }
        *pos = off + 2;
        st->parse_off = 0;
        *eoh = true;
        return HTTP_RES_MORE;
    }
    /* The line runs from here to the first CRLF after the first ':'. */
    if (st->colon_hint < off) {
        st->colon_hint = off;
    }
    if (st->colon_hint >= len) {
        return HTTP_RES_MORE;
    }
    const uint8_t *colon = memchr(data + st->colon_hint, ':', len - st->colon_hint);
    if (colon == NULL) {
        st->colon_hint = len;
        return HTTP_RES_MORE;
    }
    st->colon_hint = (size_t)(colon - data);
    size_t ci = st->colon_hint;
    if (st->crlf_hint < ci + 1) {
        st->crlf_hint = ci + 1;
    }
    size_t p = find_crlf(data, len, &st->crlf_hint);
    if (p == SIZE_MAX) {
        return HTTP_RES_MORE;
    }
    header_line(m, cfg, data + off, ci - off, data + ci + 1, p - ci - 1);
    st->parse_off = p + 2;
    st->colon_hint = st->parse_off;
    st->crlf_hint = st->parse_off;
    return HTTP_RES_MORE;
}

/* ---- bodies ----------------------------------------------------------- */

static bool close_delimited(const struct http_msg *m)
{
    return !m->has_content_length &&
           (pb_mem_eq(m->connection.p, m->connection.len, "close") ||
            (m->ver_major == 1 && m->ver_minor == 0 &&
             !pb_mem_eq(m->connection.p, m->connection.len, "keep-alive")));
}

static void save(struct http_msg *m, const uint8_t *p, size_t n, size_t max_body)
{
    if (m->save_body && n > 0) {
        pb_bytes_append(&m->body, p, n, max_body); /* a full buffer truncates */
    }
}

/* Packetbeat's parseBody on data[pos..len). */
static enum http_res parse_body(struct http_stream *st, const uint8_t *data, size_t len,
                                size_t *pos, size_t max_body)
{
    struct http_msg *m = st->msg;
    size_t n = len - *pos;
    if (close_delimited(m)) {
        m->size += n;
        st->body_received += (int64_t)n;
        m->content_length += (int64_t)n;
        save(m, data + *pos, n, max_body);
        *pos = len;
        return HTTP_RES_MORE;
    }
    int64_t wanted = m->content_length - st->body_received;
    if (wanted < 0) {
        return HTTP_RES_FATAL; /* a negative Content-Length */
    }
    if ((uint64_t)n >= (uint64_t)wanted) {
        save(m, data + *pos, (size_t)wanted, max_body);
        st->body_received = m->content_length;
        m->size += (uint64_t)wanted;
        *pos += (size_t)wanted;
        return HTTP_RES_DONE;
    }
    save(m, data + *pos, n, max_body);
    st->body_received += (int64_t)n;
    m->size += n;
    *pos = len;
    return HTTP_RES_MORE;
}

/* chunk-size [";" ext]: hex digits, optional spaces/tabs, optional
 * extension. Packetbeat takes only bare hex digits (strconv.ParseInt base
 * 16, 32 bits); the extension is our addition. */
static bool chunk_size(const uint8_t *p, size_t n, int64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < n) {
        uint8_t c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            break;
        }
        v = v * 16u + d;
        if (v > 0x7fffffffu) {
            return false;
        }
        i++;
    }
    if (i == 0) {
        return false;
    }
    if (i < n) {
        size_t j = i;
        while (j < n && is_sp_tab(p[j])) {
            j++;
        }
        if (j >= n || p[j] != ';') {
            return false;
        }
    }
    *out = (int64_t)v;
    return true;
}

static enum http_res parse_chunk_start(struct http_stream *st, const uint8_t *data, size_t len,
                                       size_t *pos)
{
    struct http_msg *m = st->msg;
    const uint8_t *d = data + *pos;
    size_t n = len - *pos;
    size_t i = find_crlf(d, n, &st->crlf_hint);
    if (i == SIZE_MAX) {
        return HTTP_RES_MORE;
    }
    int64_t cl;
    if (!chunk_size(d, i, &cl)) {
        pb_debug("http", "Failed to understand chunked body start line");
        return HTTP_RES_ERROR;
    }
    m->chunk_len = cl;
    *pos += i + 2;
    st->crlf_hint = 0;
    m->size += i + 2;
    if (cl == 0) {
        st->state = HTTP_ST_CHUNK_FINAL;
    } else {
        st->body_received = 0;
        st->state = HTTP_ST_CHUNK;
    }
    return HTTP_RES_MORE;
}

/* Returns DONE when the chunk is complete (state goes back to a chunk
 * size), MORE when more bytes are needed. */
static enum http_res parse_chunk(struct http_stream *st, const uint8_t *data, size_t len,
                                 size_t *pos, size_t max_body)
{
    struct http_msg *m = st->msg;
    size_t n = len - *pos;
    uint64_t wanted = (uint64_t)(m->chunk_len - st->body_received);
    if ((uint64_t)n >= wanted + 2) {
        save(m, data + *pos, (size_t)wanted, max_body);
        m->size += wanted + 2;
        *pos += (size_t)wanted + 2;
        m->content_length += m->chunk_len;
        st->state = HTTP_ST_CHUNK_START;
        st->crlf_hint = 0;
        return HTTP_RES_DONE;
    }
    if ((uint64_t)n >= wanted) {
        return HTTP_RES_MORE; /* wait for the CRLF after the data */
    }
    save(m, data + *pos, n, max_body);
    st->body_received += (int64_t)n;
    m->size += n;
    *pos = len;
    return HTTP_RES_MORE;
}

/* After "0" CRLF: the final CRLF, or trailer lines then the final CRLF. */
static enum http_res parse_chunk_final(struct http_stream *st, const uint8_t *data, size_t len,
                                       size_t *pos)
{
    struct http_msg *m = st->msg;
    const uint8_t *d = data + *pos;
    size_t n = len - *pos;
    if (n < 2) {
        return HTTP_RES_MORE;
    }
    if (d[0] == '\r' && d[1] == '\n') {
        m->size += 2;
        *pos += 2;
        return HTTP_RES_DONE;
    }
    size_t i = find_crlf(d, n, &st->crlf_hint);
    if (i == SIZE_MAX) {
        return HTTP_RES_MORE;
    }
    if (memchr(d, ':', i) == NULL) {
        pb_debug("http", "Expected CRLF sequence at end of message");
        return HTTP_RES_ERROR;
    }
    m->size += i + 2; /* a trailer field: counted, not kept */
    *pos += i + 2;
    st->crlf_hint = 0;
    return HTTP_RES_MORE;
}

/* ---- the driver ------------------------------------------------------- */

/* End of the header block: decide how the body is delimited. */
void http_msg_body_policy(struct http_msg *m, const struct http_parser_cfg *cfg)
{
    if (m->is_request) {
        m->send_body = list_contains_sub(cfg->req_body_for, cfg->nreq_body_for, &m->content_type);
    } else {
        m->send_body = list_contains_sub(cfg->resp_body_for, cfg->nresp_body_for, &m->content_type);
    }
    m->save_body =
        m->send_body || (m->content_length > 0 &&
                         pb_mem_contains(m->content_type.p, m->content_type.len, "urlencoded", 10));
}

void http_msg_header_field(struct http_msg *m, const struct http_parser_cfg *cfg,
                           const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen)
{
    header_line(m, cfg, name, nlen, val, vlen);
}

static enum http_res after_headers(struct http_stream *st, const struct http_parser_cfg *cfg)
{
    struct http_msg *m = st->msg;
    /* no body: 1xx, 204, 304, and any answer to HEAD; the header fields
     * (Content-Length included) are kept as sent */
    if (!m->is_request && ((m->status_code >= 100 && m->status_code < 200) ||
                           m->status_code == 204 || m->status_code == 304 || st->answers_head)) {
        return HTTP_RES_DONE;
    }
    http_msg_body_policy(m, cfg);
    st->crlf_hint = 0;
    if (m->is_chunked) {
        st->state = HTTP_ST_CHUNK_START;
        return HTTP_RES_MORE;
    }
    if (m->content_length == 0 && (m->is_request || m->has_content_length)) {
        return HTTP_RES_DONE;
    }
    st->state = HTTP_ST_BODY;
    return HTTP_RES_MORE;
}

enum http_res http_parse(struct http_stream *st, const struct http_parser_cfg *cfg,
                         const uint8_t *data, size_t len, size_t max_body, size_t *consumed)
{
    size_t pos = 0; /* body states: bytes consumed so far */
    enum http_res r = HTTP_RES_MORE;
    *consumed = 0;
    for (;;) {
        bool header_state = st->state == HTTP_ST_START || st->state == HTTP_ST_HEADERS;
        if (header_state ? st->parse_off >= len : pos >= len) {
            r = HTTP_RES_MORE;
            break;
        }
        switch (st->state) {
        case HTTP_ST_START:
            r = parse_first_line(st, data, len);
            if (r != HTTP_RES_MORE || st->state == HTTP_ST_START) {
                goto out;
            }
            continue;
        case HTTP_ST_HEADERS: {
            bool eoh = false;
            size_t before = st->parse_off;
            r = parse_headers(st, cfg, data, len, &pos, &eoh);
            if (r != HTTP_RES_MORE) {
                goto out;
            }
            if (eoh) {
                r = after_headers(st, cfg);
                if (r != HTTP_RES_MORE) {
                    goto out;
                }
                continue;
            }
            if (st->parse_off == before) {
                goto out; /* incomplete header line */
            }
            continue;
        }
        case HTTP_ST_BODY:
            r = parse_body(st, data, len, &pos, max_body);
            goto out;
        case HTTP_ST_CHUNK_START:
            r = parse_chunk_start(st, data, len, &pos);
            if (r != HTTP_RES_MORE || st->state == HTTP_ST_CHUNK_START) {
                goto out;
            }
            continue;
        case HTTP_ST_CHUNK:
            r = parse_chunk(st, data, len, &pos, max_body);
            if (r != HTTP_RES_DONE) {
                goto out;
            }
            r = HTTP_RES_MORE;
            continue;
        case HTTP_ST_CHUNK_FINAL: {
            size_t before = pos;
            r = parse_chunk_final(st, data, len, &pos);
            if (r != HTTP_RES_MORE || pos == before) {
                goto out;
            }
            continue;
        }
        }
    }
out:
    *consumed = pos;
    return r;
}

enum http_res http_parse_eat(struct http_stream *st, size_t size)
{
    struct http_msg *m = st->msg;
    if (st->state != HTTP_ST_BODY || m == NULL) {
        return HTTP_RES_ERROR;
    }
    if (close_delimited(m)) {
        m->size += size;
        st->body_received += (int64_t)size;
        m->content_length += (int64_t)size;
        return HTTP_RES_MORE;
    }
    int64_t wanted = m->content_length - st->body_received;
    if (wanted < 0) {
        return HTTP_RES_FATAL;
    }
    if ((uint64_t)size >= (uint64_t)wanted) {
        st->body_received += wanted;
        m->size = (uint64_t)m->header_len + (uint64_t)m->content_length;
        return HTTP_RES_DONE;
    }
    st->body_received += (int64_t)size;
    m->size += size;
    return HTTP_RES_MORE;
}

enum http_gap_res http_parse_gap(struct http_stream *st, size_t lost, size_t held)
{
    struct http_msg *m = st->msg;
    if (m == NULL || st->state != HTTP_ST_BODY) {
        return HTTP_GAP_DROP;
    }
    pb_debug("http", "gap in body: %zu", lost);
    if (!m->loss_noted) {
        m->loss_noted = true;
        http_msg_add_note(m, m->is_request ? "Packet loss while capturing the request"
                                           : "Packet loss while capturing the response");
    }
    int64_t n = lost > (size_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)lost;
    if (close_delimited(m)) {
        st->body_received += n;
        m->content_length += n;
        return HTTP_GAP_OK;
    }
    if ((int64_t)held + n >= m->content_length - st->body_received) {
        return HTTP_GAP_DONE;
    }
    st->body_received += n;
    return HTTP_GAP_OK;
}
