/* SPDX-License-Identifier: Apache-2.0
 * protos/sip/sip_event.c - the SIP event with Packetbeat 8.x's fields:
 * sip.type/method/uri.* or code/status, version, call_id, cseq.*, from.*,
 * to.*, contact.* (Packetbeat fills these from the To header whenever a
 * Contact header is present; kept), via.original, allow, supported, accept,
 * content_type/length, max_forwards, user_agent.original, private.uri.*
 * (P-Associated-URI), auth.* (parse_authorization), sdp.* (parse_body),
 * event.original (keep_original), event.action sip-<method>, event.outcome,
 * event.reason, event.sequence, related.user/hosts/ip, network.iana_number
 * "17" and network.transport from transport_protocol.
 */
#include "sip_event.h"

#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "protos/common/strutil.h"

/* A related.* list collected in Packetbeat's order, without empties or
 * byte-for-byte repeats (pb_ev_add_unique drops the rest when the list is
 * written). The slices point into the message. */
struct rel_list {
    struct pb_slice inl[8];
    struct pb_slice *v; /* inl, or owned when it outgrew it */
    size_t n, cap;
    bool oom;
};

struct related {
    struct rel_list ip, user, hosts;
};

static void rel_init(struct rel_list *l)
{
    l->v = l->inl;
    l->n = 0;
    l->cap = sizeof l->inl / sizeof l->inl[0];
    l->oom = false;
}

static void rel_free(struct rel_list *l)
{
    if (l->v != l->inl) {
        pb_free(l->v);
    }
}

static void rel_add(struct rel_list *l, struct pb_slice s)
{
    if (s.len == 0) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].len == s.len && memcmp(l->v[i].ptr, s.ptr, s.len) == 0) {
            return;
        }
    }
    if (l->n == l->cap) {
        size_t cap = 2 * l->cap;
        struct pb_slice *v = pb_malloc(cap * sizeof *v);
        if (v == NULL) {
            l->oom = true;
            return;
        }
        memcpy(v, l->v, l->n * sizeof *v);
        rel_free(l);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

/* The list at path (related.*), in order, without repeats. */
static int rel_put(pb_event *ev, const char *path, const struct rel_list *l)
{
    int rc = l->oom ? -1 : 0;
    for (size_t i = 0; i < l->n; i++) {
        rc |= pb_ev_add_unique(ev, path, l->v[i].ptr, l->v[i].len);
    }
    return rc;
}

static struct pb_slice cstr(const char *s)
{
    struct pb_slice r = {(const uint8_t *)s, strlen(s)};
    return r;
}

/* An object of the event made when something is first set in it (as a
 * dotted-path put would), so that objects left empty never appear. */
struct lz {
    struct lz *up; /* NULL: n is the root */
    const char *key;
    pb_node *n;
};

static pb_node *lz_node(struct lz *o)
{
    if (o->n == NULL && o->up != NULL) {
        o->n = pb_node_obj(lz_node(o->up), o->key);
    }
    return o->n;
}

static int put_s(struct lz *o, const char *key, struct pb_slice s)
{
    if (s.len == 0) {
        return 0; /* empty values are omitted */
    }
    return pb_node_set_strn(lz_node(o), key, s.ptr, s.len);
}

static int put_i(struct lz *o, const char *key, int64_t v)
{
    return v == 0 ? 0 : pb_node_set_int(lz_node(o), key, v);
}

/* An ASCII upper/lower case copy of s at key of n (NULL key: appended to an
 * array n). */
static int set_cased(pb_node *n, const char *key, struct pb_slice s, bool upper)
{
    if (s.len == 0) {
        return pb_node_set_strn(n, key, "", 0);
    }
    char stack[256];
    char *buf = s.len <= sizeof stack ? stack : pb_malloc(s.len);
    if (buf == NULL) {
        return -1;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = (char)s.ptr[i];
        if (upper && c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        } else if (!upper && c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        buf[i] = c;
    }
    int rc = pb_node_set_strn(n, key, buf, s.len);
    if (buf != stack) {
        pb_free(buf);
    }
    return rc;
}

static int put_cased(struct lz *o, const char *key, struct pb_slice s, bool upper)
{
    return s.len == 0 ? 0 : set_cased(lz_node(o), key, s, upper);
}

static bool not_dash_or_space(struct pb_slice s)
{
    return !pb_mem_eq(s.ptr, s.len, " ") && !pb_mem_eq(s.ptr, s.len, "-");
}

/* prefix.uri.{original,scheme,username,host,port}; returns the parsed URI. */
static int put_uri(struct lz *parent, const char *key, struct pb_slice orig, struct related *rel,
                   struct sip_uri *u)
{
    struct lz o = {parent, key, NULL};
    int rc = 0;
    sip_parse_uri(orig, u);
    rc |= put_s(&o, "original", orig);
    rc |= put_s(&o, "scheme", u->scheme);
    rc |= put_s(&o, "host", u->host);
    if (not_dash_or_space(u->username)) {
        rc |= put_s(&o, "username", u->username);
        rel_add(&rel->user, u->username);
    }
    rc |= put_i(&o, "port", u->port);
    rel_add(&rel->hosts, u->host);
    return rc;
}

/* A comma separated header as a list of lower-cased, space-trimmed items. */
static int put_list(struct lz *o, const char *key, struct pb_slice v)
{
    pb_node *arr = pb_node_arr(lz_node(o), key);
    if (arr == NULL) {
        return -1;
    }
    int rc = 0;
    const uint8_t *p = v.ptr, *end = v.ptr + v.len;
    for (;;) {
        const uint8_t *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
        const uint8_t *e = comma != NULL ? comma : end;
        struct pb_slice item = {p, (size_t)(e - p)};
        item = sip_trim_set(item, " ");
        rc |= set_cased(arr, NULL, item, false);
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return rc;
}

static int put_addr(struct lz *parent, const char *key, struct pb_slice v, struct related *rel,
                    bool *ok)
{
    struct sip_addr a;
    if (!sip_parse_addr(v, &a)) {
        *ok = false;
        return 0;
    }
    struct lz o = {parent, key, NULL};
    int rc = 0;
    rc |= put_s(&o, "display_info", a.display);
    rc |= put_s(&o, "tag", a.tag);
    struct sip_uri u;
    rc |= put_uri(&o, "uri", a.uri, rel, &u);
    return rc;
}

/* Contact: Packetbeat reads the To header here. */
static int put_contact(struct lz *sip, const struct sip_msg *m, struct related *rel, bool *ok)
{
    struct sip_addr a;
    if (!sip_parse_addr(m->to, &a)) {
        *ok = false;
        return 0;
    }
    struct lz o = {sip, "contact", NULL};
    int rc = 0;
    rc |= put_s(&o, "display_info", a.display);
    int64_t expires = 0;
    if (a.has_expires && sip_atoi_strict(a.expires, &expires)) {
        rc |= put_i(&o, "expires", expires);
    }
    if (a.has_q && a.q.len > 0 && a.q.len < 64) {
        char buf[64];
        memcpy(buf, a.q.ptr, a.q.len);
        buf[a.q.len] = '\0';
        char *end = NULL;
        double q = strtod(buf, &end);
        if (end == buf + a.q.len && q != 0) {
            rc |= pb_node_set_real(lz_node(&o), "q", q);
        }
    }
    struct sip_uri u;
    rc |= put_uri(&o, "uri", a.uri, rel, &u);
    rc |= put_s(&o, "line", u.line);
    rc |= put_cased(&o, "transport", u.transport, false);
    return rc;
}

static int put_auth(struct lz *root, struct lz *sip, const struct sip_msg *m, struct related *rel)
{
    struct pb_slice auth = sip_trim(m->authorization);
    const uint8_t *sp = auth.len > 0 ? memchr(auth.ptr, ' ', auth.len) : NULL;
    if (sp == NULL) {
        return 0;
    }
    struct lz o = {sip, "auth", NULL}, user = {root, "user", NULL}, uri = {&o, "uri", NULL};
    int rc = 0;
    size_t pos = (size_t)(sp - auth.ptr);
    struct pb_slice scheme = {auth.ptr, pos};
    rc |= put_s(&o, "scheme", scheme);
    const uint8_t *p = sp + 1, *end = auth.ptr + auth.len;
    for (;;) {
        const uint8_t *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
        const uint8_t *e = comma != NULL ? comma : end;
        const uint8_t *eq = p < e ? memchr(p, '=', (size_t)(e - p)) : NULL;
        if (eq != NULL) {
            struct pb_slice k = sip_trim((struct pb_slice){p, (size_t)(eq - p)});
            struct pb_slice v =
                sip_trim_set((struct pb_slice){eq + 1, (size_t)(e - eq - 1)}, "'\" \t");
            if (pb_mem_ieq(k.ptr, k.len, "realm")) {
                rc |= put_s(&o, "realm", v);
            } else if (pb_mem_ieq(k.ptr, k.len, "username")) {
                if (v.len > 0 && !pb_mem_eq(v.ptr, v.len, "-")) {
                    rc |= put_s(&user, "name", v);
                    rel_add(&rel->user, v);
                }
            } else if (pb_mem_ieq(k.ptr, k.len, "uri")) {
                struct sip_uri u;
                sip_parse_uri(v, &u);
                rc |= put_s(&uri, "original", v);
                rc |= put_s(&uri, "scheme", u.scheme);
                rc |= put_s(&uri, "host", u.host);
                rc |= put_i(&uri, "port", u.port);
            }
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return rc;
}

/* The last space-separated word of s. */
static struct pb_slice last_word(struct pb_slice s)
{
    size_t i = s.len;
    while (i > 0 && s.ptr[i - 1] != ' ') {
        i--;
    }
    return (struct pb_slice){s.ptr + i, s.len - i};
}

/* Splits s at the first n-1 spaces (Go's SplitN); returns the count. */
static size_t split_n(struct pb_slice s, size_t n, struct pb_slice *out)
{
    size_t k = 0;
    const uint8_t *p = s.ptr, *end = s.ptr + s.len;
    while (k + 1 < n) {
        const uint8_t *sp = p < end ? memchr(p, ' ', (size_t)(end - p)) : NULL;
        if (sp == NULL) {
            break;
        }
        out[k++] = (struct pb_slice){p, (size_t)(sp - p)};
        p = sp + 1;
    }
    out[k++] = (struct pb_slice){p, (size_t)(end - p)};
    return k;
}

/* SDP (RFC 4566) session-level fields. False when Packetbeat would fail. */
static bool put_sdp(struct lz *sip, const struct sip_msg *m, struct related *rel, int *rc)
{
    if (!m->has_content_length ||
        !pb_mem_eq(m->content_type.ptr, m->content_type.len, "application/sdp") ||
        m->has_content_encoding) {
        return true;
    }
    struct lz sdp = {sip, "sdp", NULL}, body = {&sdp, "body", NULL};
    struct lz owner = {&sdp, "owner", NULL}, session = {&sdp, "session", NULL};
    struct lz conn = {&sdp, "connection", NULL};
    *rc |= put_s(&body, "original", m->body);
    struct pb_slice owner_user = {NULL, 0};
    bool in_media = false;
    const uint8_t *p = m->body.ptr, *end = m->body.ptr + m->body.len;
    while (p != NULL) {
        const uint8_t *nl = p < end ? pb_mem_find(p, (size_t)(end - p), "\r\n", 2) : NULL;
        const uint8_t *e = nl != NULL ? nl : end;
        struct pb_slice line = {p, (size_t)(e - p)};
        p = nl != NULL ? nl + 2 : NULL;
        const uint8_t *eq = line.len > 0 ? memchr(line.ptr, '=', line.len) : NULL;
        if (eq == NULL) {
            continue;
        }
        struct pb_slice key = sip_trim((struct pb_slice){line.ptr, (size_t)(eq - line.ptr)});
        struct pb_slice val =
            sip_trim((struct pb_slice){eq + 1, (size_t)(line.ptr + line.len - eq - 1)});
        if (key.len != 1) {
            continue;
        }
        switch (key.ptr[0] | 0x20) {
        case 'v':
            *rc |= put_s(&sdp, "version", val);
            break;
        case 'o': {
            if (val.len == 0) {
                return false;
            }
            size_t pos = 0;
            if (val.ptr[0] == '"') {
                struct pb_slice rest = {val.ptr + 1, val.len - 1};
                const uint8_t *q = rest.len > 0 ? memchr(rest.ptr, '"', rest.len) : NULL;
                if (q == NULL) {
                    return false;
                }
                size_t endpos = (size_t)(q - rest.ptr); /* relative, as Packetbeat uses it */
                if (endpos < 1) {
                    return false;
                }
                struct pb_slice u = {val.ptr + 1, endpos - 1};
                if (!pb_mem_eq(u.ptr, u.len, "-")) {
                    owner_user = u;
                }
                pos = endpos + 1;
            }
            size_t nparts = pos == 0 ? 4 : 3;
            struct pb_slice parts[4];
            size_t k = split_n((struct pb_slice){val.ptr + pos, val.len - pos}, nparts, parts);
            if (k != nparts) {
                break;
            }
            struct pb_slice *pp = parts;
            if (nparts == 4) {
                if (!pb_mem_eq(parts[0].ptr, parts[0].len, "-")) {
                    owner_user = parts[0];
                }
                pp = parts + 1;
            }
            struct pb_slice ip = last_word(pp[2]);
            *rc |= put_s(&owner, "username", owner_user);
            *rc |= put_s(&owner, "session_id", pp[0]);
            *rc |= put_s(&owner, "version", pp[1]);
            *rc |= put_s(&owner, "ip", ip);
            rel_add(&rel->user, owner_user);
            rel_add(&rel->ip, ip);
            break;
        }
        case 's':
            if (!pb_mem_eq(val.ptr, val.len, "-")) {
                *rc |= put_s(&session, "name", val);
            }
            break;
        case 'c':
            if (in_media) {
                break;
            }
            *rc |= put_s(&conn, "info", val);
            *rc |= put_s(&conn, "address", last_word(val));
            rel_add(&rel->hosts, last_word(val));
            break;
        case 'm':
            in_media = true;
            break;
        default:
            break;
        }
    }
    return true;
}

pb_event *sip_event(const struct sip_config *cfg, const struct sip_msg *m, struct pb_slice raw,
                    const struct pb_tuple *tuple, uint64_t ts_ns)
{
    struct pb_tuple t = *tuple;
    bool known = strcmp(cfg->transport, "udp") == 0 || strcmp(cfg->transport, "tcp") == 0;
    t.proto = strcmp(cfg->transport, "udp") == 0   ? PB_IPPROTO_UDP
              : strcmp(cfg->transport, "tcp") == 0 ? PB_IPPROTO_TCP
                                                   : 0;
    struct pb_tx tx = {
        .type = "sip",
        .tuple = &t,
        .start_ns = ts_ns,
        .end_ns = ts_ns,
        .status = m->status_code >= 400 ? "Error" : "OK",
        .src_bytes = -1,
        .dst_bytes = -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    struct related rel;
    rel_init(&rel.ip);
    rel_init(&rel.user);
    rel_init(&rel.hosts);
    if (ev == NULL) {
        goto fail;
    }
    int rc = 0;
    bool ok = true;
    struct sip_uri u;
    struct lz root = {NULL, NULL, pb_ev_obj(ev, "")};
    struct lz sip = {&root, "sip", NULL}, event = {&root, "event", NULL};
    struct lz network = {&root, "network", NULL};
    char ver[16];
    snprintf(ver, sizeof ver, "%u.%u", m->vmajor, m->vminor);

    /* start line */
    if (m->is_request) {
        rc |= pb_node_set_str(lz_node(&sip), "type", "request");
        rc |= put_cased(&sip, "method", m->method, true);
        rc |= put_uri(&sip, "uri", m->uri, &rel, &u);
    } else {
        rc |= pb_node_set_str(lz_node(&sip), "type", "response");
        rc |= put_i(&sip, "code", m->status_code);
        rc |= put_s(&sip, "status", m->phrase);
    }
    rc |= pb_node_set_str(lz_node(&sip), "version", ver);

    /* headers */
    if (m->has_allow) {
        rc |= put_list(&sip, "allow", m->allow);
    }
    rc |= put_s(&sip, "call_id", m->call_id);
    rc |= put_i(&sip, "content_length", m->content_length);
    rc |= put_cased(&sip, "content_type", m->content_type, false);
    rc |= put_i(&sip, "max_forwards", m->max_forwards);
    if (m->has_supported) {
        rc |= put_list(&sip, "supported", m->supported);
    }
    struct lz ua = {&sip, "user_agent", NULL}, via_o = {&sip, "via", NULL};
    rc |= put_s(&ua, "original", m->user_agent);
    if (m->nvia > 0) {
        pb_node *via = pb_node_arr(lz_node(&via_o), "original");
        rc |= via == NULL ? -1 : 0;
        for (size_t i = 0; i < m->nvia; i++) {
            rc |= pb_node_set_strn(via, NULL, m->via[i].ptr, m->via[i].len);
        }
    }
    if (m->has_p_assoc) {
        struct lz priv = {&sip, "private", NULL};
        rc |= put_uri(&priv, "uri", m->p_assoc, &rel, &u);
    }
    if (m->has_accept) {
        rc |= put_cased(&sip, "accept", m->accept, false);
    }
    struct pb_slice cseq_method = {NULL, 0};
    {
        /* exactly two space-separated parts */
        const uint8_t *sp = m->cseq.len > 0 ? memchr(m->cseq.ptr, ' ', m->cseq.len) : NULL;
        if (sp != NULL) {
            struct pb_slice code = {m->cseq.ptr, (size_t)(sp - m->cseq.ptr)};
            struct pb_slice meth = {sp + 1, m->cseq.len - code.len - 1};
            if (meth.len == 0 || memchr(meth.ptr, ' ', meth.len) == NULL) {
                int64_t n = 0;
                if (!sip_atoi_strict(code, &n)) {
                    n = 0;
                }
                struct lz cseq = {&sip, "cseq", NULL};
                rc |= put_i(&cseq, "code", n);
                rc |= put_i(&event, "sequence", n);
                rc |= put_cased(&cseq, "method", meth, true);
                cseq_method = meth;
            }
        }
    }
    if (m->from.len > 0) {
        rc |= put_addr(&sip, "from", m->from, &rel, &ok);
    }
    if (m->to.len > 0) {
        rc |= put_addr(&sip, "to", m->to, &rel, &ok);
    }
    if (m->has_contact) {
        rc |= put_contact(&sip, m, &rel, &ok);
    }
    if (cfg->parse_authorization && m->has_authorization) {
        rc |= put_auth(&root, &sip, m, &rel);
    }
    if (cfg->parse_body && !put_sdp(&sip, m, &rel, &rc)) {
        ok = false;
    }
    if (!ok) {
        goto fail;
    }

    /* network */
    pb_node *net = lz_node(&network);
    rc |= pb_node_set_str(net, "iana_number", "17");
    rc |= pb_node_set_str(net, "application", "sip");
    rc |= pb_node_set_str(net, "protocol", "sip");
    if (!known) {
        rc |= pb_node_set_str(net, "transport", cfg->transport);
    }

    /* event */
    {
        /* replaced in place (pb_tx_event set them) */
        pb_node *e = lz_node(&event);
        rc |= pb_node_set_null(e, "type");
        pb_node *type = pb_node_arr(e, "type");
        rc |= pb_node_set_str(type, NULL, "info");
        rc |= pb_node_set_str(type, NULL, "protocol");
        rc |= pb_node_set_null(e, "category");
        pb_node *cat = pb_node_arr(e, "category");
        rc |= pb_node_set_str(cat, NULL, "network");
        if (m->has_authorization) {
            rc |= pb_node_set_str(cat, NULL, "authentication");
        }
    }
    if (cfg->keep_original) {
        rc |= put_s(&event, "original", raw);
    }
    {
        struct pb_slice what = m->is_request ? m->method : cseq_method;
        char *action = pb_malloc(what.len + 5);
        if (action == NULL) {
            goto fail;
        }
        memcpy(action, "sip-", 4);
        for (size_t i = 0; i < what.len; i++) {
            char c = (char)what.ptr[i];
            action[4 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        rc |= pb_node_set_strn(lz_node(&event), "action", action, what.len + 4);
        pb_free(action);
    }
    if (m->status_code >= 200) {
        rc |= pb_node_set_str(lz_node(&event), "outcome",
                              m->status_code > 299 ? "failure" : "success");
    }
    rc |= put_s(&event, "reason", m->is_request ? (struct pb_slice){NULL, 0} : m->phrase);

    /* related: SDP owner first, then the endpoints */
    char sip_s[PB_IP_STRLEN], dip_s[PB_IP_STRLEN];
    if (rel.ip.n > 0 || rel.ip.oom) {
        /* related.ip (pb_tx_event's: the endpoints) replaced in place */
        rel_add(&rel.ip, cstr(pb_ip_str(&t.src, sip_s)));
        rel_add(&rel.ip, cstr(pb_ip_str(&t.dst, dip_s)));
        rc |= pb_ev_put_null(ev, "related.ip");
        rc |= rel_put(ev, "related.ip", &rel.ip);
    }
    rc |= rel_put(ev, "related.user", &rel.user);
    rc |= rel_put(ev, "related.hosts", &rel.hosts);
    if (rc != 0) {
        goto fail;
    }
    rel_free(&rel.ip);
    rel_free(&rel.user);
    rel_free(&rel.hosts);
    return ev;

fail:
    pb_ev_free(ev);
    rel_free(&rel.ip);
    rel_free(&rel.user);
    rel_free(&rel.hosts);
    return NULL;
}
