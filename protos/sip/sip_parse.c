/* SPDX-License-Identifier: Apache-2.0
 * protos/sip/sip_parse.c - SIP messages as Packetbeat 8.x reads them.
 *
 *   *(CR / LF) start-line CRLF *(name ":" value CRLF) CRLF [body]
 *   start-line: "SIP/x.y" SP code SP phrase | method SP uri SP "SIP/x.y"
 *
 * Packetbeat's rules kept here: leading CR and LF bytes are skipped; a start
 * line shorter than 14 bytes is not SIP; a header runs from the next ':' to
 * the next CRLF (folded lines are not joined); single-letter names are the
 * compact forms; a request, or a response with Content-Length, and a
 * Content-Length of 0 has no body; a response without Content-Length
 * takes an empty body once any byte follows its headers.
 */
#include "sip_parse.h"

#include <string.h>

#include "protos/common/strutil.h"

/* ---- byte helpers ---- */

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static struct pb_slice mk(const uint8_t *p, size_t n)
{
    struct pb_slice s = {p, n};
    return s;
}

struct pb_slice sip_trim(struct pb_slice s)
{
    while (s.len > 0 && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_space(s.ptr[s.len - 1])) {
        s.len--;
    }
    return s;
}

struct pb_slice sip_trim_set(struct pb_slice s, const char *set)
{
    while (s.len > 0 && strchr(set, s.ptr[0]) != NULL && s.ptr[0] != '\0') {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && strchr(set, s.ptr[s.len - 1]) != NULL && s.ptr[s.len - 1] != '\0') {
        s.len--;
    }
    return s;
}

static ptrdiff_t index_of(struct pb_slice s, uint8_t c)
{
    if (s.len == 0) {
        return -1;
    }
    const uint8_t *q = memchr(s.ptr, c, s.len);
    return q == NULL ? -1 : q - s.ptr;
}

static ptrdiff_t index_crlf(const uint8_t *p, size_t n)
{
    const uint8_t *q = pb_mem_find(p, n, "\r\n", 2);
    return q == NULL ? -1 : q - p;
}

bool sip_atoi_strict(struct pb_slice s, int64_t *out)
{
    *out = 0;
    size_t i = 0;
    bool neg = false;
    if (s.len > 0 && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        neg = s.ptr[0] == '-';
        i = 1;
    }
    if (i == s.len) {
        return false;
    }
    int64_t v = 0;
    for (; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9' || v > (INT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

/* Packetbeat's streambuf IntASCII: optional '-', then the leading digits. */
static bool int_prefix(struct pb_slice s, int64_t *out)
{
    *out = 0;
    size_t i = 0;
    bool neg = false;
    if (s.len > 0 && s.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t start = i;
    int64_t v = 0;
    for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++) {
        if (v <= (INT64_MAX - 9) / 10) {
            v = v * 10 + (s.ptr[i] - '0');
        }
    }
    if (i == start) {
        return false;
    }
    *out = neg ? -v : v;
    return true;
}

/* ---- header names ---- */

static const char *expand_compact(uint8_t c)
{
    switch (c) {
    case 'a':
        return "accept-contact";
    case 'b':
        return "referred-by";
    case 'c':
        return "content-type";
    case 'd':
        return "request-disposition";
    case 'e':
        return "content-encoding";
    case 'f':
        return "from";
    case 'i':
        return "call-id";
    case 'j':
        return "reject-contact";
    case 'k':
        return "supported";
    case 'l':
        return "content-length";
    case 'm':
        return "contact";
    case 'o':
        return "event";
    case 'r':
        return "refer-to";
    case 's':
        return "subject";
    case 't':
        return "to";
    case 'u':
        return "allow-events";
    case 'v':
        return "via";
    case 'x':
        return "session-expires";
    case 'y':
        return "identity";
    default:
        return NULL;
    }
}

static bool name_is(struct pb_slice name, const char *full)
{
    if (name.len == 1) {
        uint8_t c = name.ptr[0];
        if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)(c - 'A' + 'a');
        }
        const char *e = expand_compact(c);
        return e != NULL && strcmp(e, full) == 0;
    }
    return pb_mem_ieq(name.ptr, name.len, full);
}

static void add_via(struct sip_msg *m, struct pb_slice v)
{
    for (size_t i = 0; i < m->nvia; i++) {
        if (m->via[i].len == v.len && memcmp(m->via[i].ptr, v.ptr, v.len) == 0) {
            return;
        }
    }
    if (m->nvia < SIP_MAX_VIA) {
        m->via[m->nvia++] = v;
    }
}

static void on_header(struct sip_msg *m, struct pb_slice name, struct pb_slice v)
{
    if (name_is(name, "max-forwards")) {
        (void)int_prefix(v, &m->max_forwards);
    } else if (name_is(name, "content-length")) {
        (void)int_prefix(v, &m->content_length);
        m->has_content_length = true;
    } else if (name_is(name, "content-type")) {
        m->content_type = v;
    } else if (name_is(name, "user-agent")) {
        m->user_agent = v;
    } else if (name_is(name, "to")) {
        m->to = v;
    } else if (name_is(name, "from")) {
        m->from = v;
    } else if (name_is(name, "cseq")) {
        m->cseq = v;
    } else if (name_is(name, "call-id")) {
        m->call_id = v;
    } else if (name_is(name, "allow")) {
        m->allow = v;
        m->has_allow = true;
    } else if (name_is(name, "supported")) {
        m->supported = v;
        m->has_supported = true;
    } else if (name_is(name, "via")) {
        add_via(m, v);
    }
    if (name_is(name, "contact")) {
        m->has_contact = true;
    } else if (name_is(name, "content-encoding")) {
        m->has_content_encoding = true;
    } else if (name_is(name, "authorization") && !m->has_authorization) {
        m->has_authorization = true;
        m->authorization = v;
    } else if (name_is(name, "accept") && !m->has_accept) {
        m->has_accept = true;
        m->accept = v;
    } else if (name_is(name, "p-associated-uri") && !m->has_p_assoc) {
        m->has_p_assoc = true;
        m->p_assoc = v;
    }
}

/* ---- start line ---- */

static bool parse_version(struct pb_slice v, struct sip_msg *m)
{
    if (v.len < 3) {
        return false;
    }
    m->vmajor = (uint8_t)(v.ptr[0] - '0');
    m->vminor = (uint8_t)(v.ptr[2] - '0');
    return true;
}

static bool parse_start_line(struct pb_slice fl, struct sip_msg *m)
{
    if (fl.len < sizeof "SIP/2.0 XXX OK" - 1) {
        return false;
    }
    if (memcmp(fl.ptr, "SIP/", 4) == 0) {
        m->is_request = false;
        struct pb_slice rest = mk(fl.ptr + 8, fl.len - 8);
        ptrdiff_t sp = index_of(rest, ' ');
        size_t clen = sp < 0 ? rest.len : (size_t)sp;
        if (sp >= 0) {
            m->phrase = mk(rest.ptr + sp + 1, rest.len - (size_t)sp - 1);
        }
        int64_t code = 0;
        if (!int_prefix(mk(rest.ptr, clen), &code)) {
            return false;
        }
        m->status_code = (uint16_t)code;
        return parse_version(mk(fl.ptr + 4, 3), m);
    }
    size_t a = 0;
    while (a < fl.len && !is_space(fl.ptr[a])) {
        a++;
    }
    size_t b = fl.len;
    while (b > 0 && !is_space(fl.ptr[b - 1])) {
        b--;
    }
    if (a == fl.len || b == 0 || a == b - 1) {
        return false;
    }
    b--; /* index of the last white space */
    m->method = mk(fl.ptr, a);
    m->uri = mk(fl.ptr + a + 1, b - a - 1);
    size_t vi = b + 5;
    if (!(fl.len > vi && memcmp(fl.ptr + b + 1, "SIP/", 4) == 0)) {
        return false;
    }
    m->is_request = true;
    return parse_version(mk(fl.ptr + vi, fl.len - vi), m);
}

/* ---- message ---- */

enum sip_result sip_parse(const uint8_t *p, size_t n, struct sip_msg *m)
{
    memset(m, 0, sizeof *m);
    size_t s = 0;
    while (s < n && (p[s] == '\r' || p[s] == '\n')) {
        s++;
    }
    ptrdiff_t i = index_crlf(p + s, n - s);
    if (i < 0) {
        return n - s > SIP_MAX_HEADER_BYTES ? SIP_BAD : SIP_MORE;
    }
    if (!parse_start_line(mk(p + s, (size_t)i), m)) {
        return SIP_BAD;
    }
    size_t off = s + (size_t)i + 2;
    size_t hdr_end = 0;
    for (;;) {
        if (off - s > SIP_MAX_HEADER_BYTES) {
            return SIP_BAD;
        }
        if (n - off >= 2 && p[off] == '\r' && p[off + 1] == '\n') {
            hdr_end = off + 2;
            break;
        }
        const uint8_t *colon = off < n ? memchr(p + off, ':', n - off) : NULL;
        if (colon == NULL) {
            return n - s > SIP_MAX_HEADER_BYTES ? SIP_BAD : SIP_MORE;
        }
        size_t c = (size_t)(colon - p);
        ptrdiff_t q = index_crlf(p + c + 1, n - c - 1);
        if (q < 0) {
            return n - s > SIP_MAX_HEADER_BYTES ? SIP_BAD : SIP_MORE;
        }
        size_t e = c + 1 + (size_t)q;
        on_header(m, mk(p + off, c - off), sip_trim(mk(p + c + 1, e - c - 1)));
        off = e + 2;
    }
    if (m->content_length == 0 && (m->is_request || m->has_content_length)) {
        m->body = mk(p + hdr_end, 0);
        m->len = hdr_end;
        return SIP_DONE;
    }
    if (m->content_length < 0) {
        return SIP_BAD;
    }
    size_t avail = n - hdr_end;
    if (avail == 0 || (uint64_t)m->content_length > avail) {
        return SIP_MORE;
    }
    m->body = mk(p + hdr_end, (size_t)m->content_length);
    m->len = hdr_end + (size_t)m->content_length;
    return SIP_DONE;
}

/* ---- URIs and addresses ---- */

void sip_parse_uri(struct pb_slice uri, struct sip_uri *u)
{
    memset(u, 0, sizeof *u);
    uri = sip_trim(uri);
    const uint8_t *d = uri.ptr;
    size_t len = uri.len;
    ptrdiff_t pos = -1, ppos = -1;
    size_t epos = len;
    bool in6 = false, has_params = false, have_host = false;
    uint8_t prev = ' ';
    for (size_t idx = 0; idx < len; idx++) {
        uint8_t ch = d[idx];
        if (idx == 0) {
            ptrdiff_t colon = index_of(uri, ':');
            if (colon < 0) {
                break;
            }
            u->scheme = mk(d, (size_t)colon);
            idx += (size_t)colon;
            pos = (ptrdiff_t)idx + 1;
        } else if (ch == '[' && prev != '\\') {
            in6 = true;
        } else if (ch == ']' && prev != '\\') {
            in6 = false;
        } else if (ch == ';' && prev != '\\') {
            has_params = true;
            epos = idx;
            break;
        } else if (ch == '@') {
            if (have_host && u->host.len > 0) {
                pos = ppos;
                have_host = false;
                u->host = mk(NULL, 0);
            }
            u->username = mk(d + pos, idx - (size_t)pos);
            ppos = pos;
            pos = (ptrdiff_t)idx + 1;
        } else if (ch == ':' && !in6) {
            u->host = mk(d + pos, idx - (size_t)pos);
            have_host = true;
            ppos = pos;
            pos = (ptrdiff_t)idx + 1;
        }
        prev = ch;
    }
    if (pos > 0 && (size_t)pos <= epos) {
        struct pb_slice rest = sip_trim(mk(d + pos, epos - (size_t)pos));
        if (u->host.len == 0) {
            u->host = rest;
        } else if (!sip_atoi_strict(rest, &u->port)) {
            u->port = 0;
        }
    }
    if (has_params) {
        struct pb_slice ps = mk(d + epos + 1, len - epos - 1);
        while (ps.ptr != NULL) {
            ptrdiff_t semi = index_of(ps, ';');
            struct pb_slice one = semi < 0 ? ps : mk(ps.ptr, (size_t)semi);
            ptrdiff_t eq = index_of(one, '=');
            /* exactly one '=' (Go's Split must give two parts) */
            if (eq >= 0 && index_of(mk(one.ptr + eq + 1, one.len - (size_t)eq - 1), '=') < 0) {
                struct pb_slice k = sip_trim(mk(one.ptr, (size_t)eq));
                struct pb_slice v = mk(one.ptr + eq + 1, one.len - (size_t)eq - 1);
                if (pb_mem_ieq(k.ptr, k.len, "line")) {
                    u->line = v;
                } else if (pb_mem_ieq(k.ptr, k.len, "transport")) {
                    u->transport = v;
                }
            }
            if (semi < 0) {
                break;
            }
            ps = mk(ps.ptr + semi + 1, ps.len - (size_t)semi - 1);
        }
    }
}

bool sip_parse_addr(struct pb_slice v, struct sip_addr *a)
{
    memset(a, 0, sizeof *a);
    v = sip_trim(v);
    if (v.ptr == NULL) { /* an absent header: nothing to point into */
        v.ptr = (const uint8_t *)"";
    }
    ptrdiff_t lt = index_of(v, '<');
    bool wrapped = lt >= 0;
    size_t pos = wrapped ? (size_t)lt : 0;
    a->display = sip_trim_set(mk(v.ptr, pos), "'\"\t ");
    ptrdiff_t end = index_of(v, wrapped ? '>' : ';');
    if (end < 0) {
        a->uri = mk(v.ptr + pos, v.len - pos);
        return true;
    }
    if (wrapped) {
        pos++;
    }
    if ((size_t)end < pos) {
        return false;
    }
    a->uri = mk(v.ptr + pos, (size_t)end - pos);
    struct pb_slice ps = mk(v.ptr + end + 1, v.len - (size_t)end - 1);
    while (ps.ptr != NULL) {
        ptrdiff_t semi = index_of(ps, ';');
        struct pb_slice one = semi < 0 ? ps : mk(ps.ptr, (size_t)semi);
        ptrdiff_t eq = index_of(one, '=');
        if (eq >= 0) {
            struct pb_slice k = sip_trim(mk(one.ptr, (size_t)eq));
            struct pb_slice val = mk(one.ptr + eq + 1, one.len - (size_t)eq - 1);
            if (pb_mem_ieq(k.ptr, k.len, "tag")) {
                a->tag = val;
                a->has_tag = true;
            } else if (pb_mem_ieq(k.ptr, k.len, "expires")) {
                a->expires = val;
                a->has_expires = true;
            } else if (pb_mem_ieq(k.ptr, k.len, "q")) {
                a->q = val;
                a->has_q = true;
            }
        }
        if (semi < 0) {
            break;
        }
        ps = mk(ps.ptr + semi + 1, ps.len - (size_t)semi - 1);
    }
    return true;
}
