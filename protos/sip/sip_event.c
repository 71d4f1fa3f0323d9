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

/* related.* collected in Packetbeat's order, without empties or repeats. */
struct related {
    json_t *ip, *user, *hosts;
};

static void rel_add(json_t *arr, struct pb_slice s)
{
    if (arr == NULL || s.len == 0) {
        return;
    }
    json_t *v = pb_json_strn(s.ptr, s.len);
    if (v == NULL) {
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (json_equal(x, v)) {
            json_decref(v);
            return;
        }
    }
    json_array_append_new(arr, v);
}

static struct pb_slice cstr(const char *s)
{
    struct pb_slice r = {(const uint8_t *)s, strlen(s)};
    return r;
}

static int put_s(pb_event *ev, const char *path, struct pb_slice s)
{
    if (s.len == 0) {
        return 0; /* empty values are omitted */
    }
    return pb_ev_put_strn(ev, path, s.ptr, s.len);
}

static int put_i(pb_event *ev, const char *path, int64_t v)
{
    return v == 0 ? 0 : pb_ev_put_int(ev, path, v);
}

/* ASCII upper/lower case copies as json strings. */
static json_t *cased(struct pb_slice s, bool upper)
{
    char *buf = pb_malloc(s.len + 1);
    if (buf == NULL) {
        return NULL;
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
    json_t *j = pb_json_strn(buf, s.len);
    pb_free(buf);
    return j;
}

static int put_cased(pb_event *ev, const char *path, struct pb_slice s, bool upper)
{
    if (s.len == 0) {
        return 0;
    }
    return pb_ev_put(ev, path, cased(s, upper));
}

static bool not_dash_or_space(struct pb_slice s)
{
    return !pb_mem_eq(s.ptr, s.len, " ") && !pb_mem_eq(s.ptr, s.len, "-");
}

/* prefix.uri.{original,scheme,username,host,port}; returns the parsed URI. */
static int put_uri(pb_event *ev, const char *prefix, struct pb_slice orig, struct related *rel,
                   struct sip_uri *u)
{
    char path[64];
    int rc = 0;
    sip_parse_uri(orig, u);
    snprintf(path, sizeof path, "%s.original", prefix);
    rc |= put_s(ev, path, orig);
    snprintf(path, sizeof path, "%s.scheme", prefix);
    rc |= put_s(ev, path, u->scheme);
    snprintf(path, sizeof path, "%s.host", prefix);
    rc |= put_s(ev, path, u->host);
    if (not_dash_or_space(u->username)) {
        snprintf(path, sizeof path, "%s.username", prefix);
        rc |= put_s(ev, path, u->username);
        rel_add(rel->user, u->username);
    }
    snprintf(path, sizeof path, "%s.port", prefix);
    rc |= put_i(ev, path, u->port);
    rel_add(rel->hosts, u->host);
    return rc;
}

/* A comma separated header as a list of lower-cased, space-trimmed items. */
static int put_list(pb_event *ev, const char *path, struct pb_slice v)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        return -1;
    }
    const uint8_t *p = v.ptr, *end = v.ptr + v.len;
    for (;;) {
        const uint8_t *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
        const uint8_t *e = comma != NULL ? comma : end;
        struct pb_slice item = {p, (size_t)(e - p)};
        item = sip_trim_set(item, " ");
        json_t *s = item.len > 0 ? cased(item, false) : json_string_nocheck("");
        if (s != NULL) {
            json_array_append_new(arr, s);
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return pb_ev_put(ev, path, arr);
}

static int put_addr(pb_event *ev, const char *prefix, struct pb_slice v, struct related *rel,
                    bool *ok)
{
    struct sip_addr a;
    if (!sip_parse_addr(v, &a)) {
        *ok = false;
        return 0;
    }
    char path[64];
    int rc = 0;
    snprintf(path, sizeof path, "%s.display_info", prefix);
    rc |= put_s(ev, path, a.display);
    snprintf(path, sizeof path, "%s.tag", prefix);
    rc |= put_s(ev, path, a.tag);
    snprintf(path, sizeof path, "%s.uri", prefix);
    struct sip_uri u;
    rc |= put_uri(ev, path, a.uri, rel, &u);
    return rc;
}

/* Contact: Packetbeat reads the To header here. */
static int put_contact(pb_event *ev, const struct sip_msg *m, struct related *rel, bool *ok)
{
    struct sip_addr a;
    if (!sip_parse_addr(m->to, &a)) {
        *ok = false;
        return 0;
    }
    int rc = 0;
    rc |= put_s(ev, "sip.contact.display_info", a.display);
    int64_t expires = 0;
    if (a.has_expires && sip_atoi_strict(a.expires, &expires)) {
        rc |= put_i(ev, "sip.contact.expires", expires);
    }
    if (a.has_q && a.q.len > 0 && a.q.len < 64) {
        char buf[64];
        memcpy(buf, a.q.ptr, a.q.len);
        buf[a.q.len] = '\0';
        char *end = NULL;
        double q = strtod(buf, &end);
        if (end == buf + a.q.len && q != 0) {
            rc |= pb_ev_put_real(ev, "sip.contact.q", q);
        }
    }
    struct sip_uri u;
    rc |= put_uri(ev, "sip.contact.uri", a.uri, rel, &u);
    rc |= put_s(ev, "sip.contact.line", u.line);
    rc |= put_cased(ev, "sip.contact.transport", u.transport, false);
    return rc;
}

static int put_auth(pb_event *ev, const struct sip_msg *m, struct related *rel)
{
    struct pb_slice auth = sip_trim(m->authorization);
    const uint8_t *sp = auth.len > 0 ? memchr(auth.ptr, ' ', auth.len) : NULL;
    if (sp == NULL) {
        return 0;
    }
    int rc = 0;
    size_t pos = (size_t)(sp - auth.ptr);
    struct pb_slice scheme = {auth.ptr, pos};
    rc |= put_s(ev, "sip.auth.scheme", scheme);
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
                rc |= put_s(ev, "sip.auth.realm", v);
            } else if (pb_mem_ieq(k.ptr, k.len, "username")) {
                if (v.len > 0 && !pb_mem_eq(v.ptr, v.len, "-")) {
                    rc |= put_s(ev, "user.name", v);
                    rel_add(rel->user, v);
                }
            } else if (pb_mem_ieq(k.ptr, k.len, "uri")) {
                struct sip_uri u;
                sip_parse_uri(v, &u);
                rc |= put_s(ev, "sip.auth.uri.original", v);
                rc |= put_s(ev, "sip.auth.uri.scheme", u.scheme);
                rc |= put_s(ev, "sip.auth.uri.host", u.host);
                rc |= put_i(ev, "sip.auth.uri.port", u.port);
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
static bool put_sdp(pb_event *ev, const struct sip_msg *m, struct related *rel, int *rc)
{
    if (!m->has_content_length ||
        !pb_mem_eq(m->content_type.ptr, m->content_type.len, "application/sdp") ||
        m->has_content_encoding) {
        return true;
    }
    *rc |= put_s(ev, "sip.sdp.body.original", m->body);
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
            *rc |= put_s(ev, "sip.sdp.version", val);
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
            *rc |= put_s(ev, "sip.sdp.owner.username", owner_user);
            *rc |= put_s(ev, "sip.sdp.owner.session_id", pp[0]);
            *rc |= put_s(ev, "sip.sdp.owner.version", pp[1]);
            *rc |= put_s(ev, "sip.sdp.owner.ip", ip);
            rel_add(rel->user, owner_user);
            rel_add(rel->ip, ip);
            break;
        }
        case 's':
            if (!pb_mem_eq(val.ptr, val.len, "-")) {
                *rc |= put_s(ev, "sip.sdp.session.name", val);
            }
            break;
        case 'c':
            if (in_media) {
                break;
            }
            *rc |= put_s(ev, "sip.sdp.connection.info", val);
            *rc |= put_s(ev, "sip.sdp.connection.address", last_word(val));
            rel_add(rel->hosts, last_word(val));
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
    struct related rel = {json_array(), json_array(), json_array()};
    if (ev == NULL || rel.ip == NULL || rel.user == NULL || rel.hosts == NULL) {
        goto fail;
    }
    int rc = 0;
    bool ok = true;
    struct sip_uri u;
    char ver[16];
    snprintf(ver, sizeof ver, "%u.%u", m->vmajor, m->vminor);

    /* start line */
    if (m->is_request) {
        rc |= pb_ev_put_str(ev, "sip.type", "request");
        rc |= put_cased(ev, "sip.method", m->method, true);
        rc |= put_uri(ev, "sip.uri", m->uri, &rel, &u);
    } else {
        rc |= pb_ev_put_str(ev, "sip.type", "response");
        rc |= put_i(ev, "sip.code", m->status_code);
        rc |= put_s(ev, "sip.status", m->phrase);
    }
    rc |= pb_ev_put_str(ev, "sip.version", ver);

    /* headers */
    if (m->has_allow) {
        rc |= put_list(ev, "sip.allow", m->allow);
    }
    rc |= put_s(ev, "sip.call_id", m->call_id);
    rc |= put_i(ev, "sip.content_length", m->content_length);
    rc |= put_cased(ev, "sip.content_type", m->content_type, false);
    rc |= put_i(ev, "sip.max_forwards", m->max_forwards);
    if (m->has_supported) {
        rc |= put_list(ev, "sip.supported", m->supported);
    }
    rc |= put_s(ev, "sip.user_agent.original", m->user_agent);
    if (m->nvia > 0) {
        json_t *via = json_array();
        for (size_t i = 0; i < m->nvia && via != NULL; i++) {
            json_array_append_new(via, pb_json_strn(m->via[i].ptr, m->via[i].len));
        }
        rc |= pb_ev_put(ev, "sip.via.original", via);
    }
    if (m->has_p_assoc) {
        rc |= put_uri(ev, "sip.private.uri", m->p_assoc, &rel, &u);
    }
    if (m->has_accept) {
        rc |= put_cased(ev, "sip.accept", m->accept, false);
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
                rc |= put_i(ev, "sip.cseq.code", n);
                rc |= put_i(ev, "event.sequence", n);
                rc |= put_cased(ev, "sip.cseq.method", meth, true);
                cseq_method = meth;
            }
        }
    }
    if (m->from.len > 0) {
        rc |= put_addr(ev, "sip.from", m->from, &rel, &ok);
    }
    if (m->to.len > 0) {
        rc |= put_addr(ev, "sip.to", m->to, &rel, &ok);
    }
    if (m->has_contact) {
        rc |= put_contact(ev, m, &rel, &ok);
    }
    if (cfg->parse_authorization && m->has_authorization) {
        rc |= put_auth(ev, m, &rel);
    }
    if (cfg->parse_body && !put_sdp(ev, m, &rel, &rc)) {
        ok = false;
    }
    if (!ok) {
        goto fail;
    }

    /* network */
    rc |= pb_ev_put_str(ev, "network.iana_number", "17");
    rc |= pb_ev_put_str(ev, "network.application", "sip");
    rc |= pb_ev_put_str(ev, "network.protocol", "sip");
    if (!known) {
        rc |= pb_ev_put_str(ev, "network.transport", cfg->transport);
    }

    /* event */
    rc |= pb_ev_put(ev, "event.type", json_pack("[ss]", "info", "protocol"));
    rc |= pb_ev_put(ev, "event.category",
                    m->has_authorization ? json_pack("[ss]", "network", "authentication")
                                         : json_pack("[s]", "network"));
    if (cfg->keep_original) {
        rc |= put_s(ev, "event.original", raw);
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
        rc |= pb_ev_put_strn(ev, "event.action", action, what.len + 4);
        pb_free(action);
    }
    if (m->status_code >= 200) {
        rc |= pb_ev_put_str(ev, "event.outcome", m->status_code > 299 ? "failure" : "success");
    }
    rc |= put_s(ev, "event.reason", m->is_request ? (struct pb_slice){NULL, 0} : m->phrase);

    /* related: SDP owner first, then the endpoints */
    char sip_s[PB_IP_STRLEN], dip_s[PB_IP_STRLEN];
    rel_add(rel.ip, cstr(pb_ip_str(&t.src, sip_s)));
    rel_add(rel.ip, cstr(pb_ip_str(&t.dst, dip_s)));
    rc |= pb_ev_put(ev, "related.ip", json_incref(rel.ip));
    if (json_array_size(rel.user) > 0) {
        rc |= pb_ev_put(ev, "related.user", json_incref(rel.user));
    }
    if (json_array_size(rel.hosts) > 0) {
        rc |= pb_ev_put(ev, "related.hosts", json_incref(rel.hosts));
    }
    if (rc != 0) {
        goto fail;
    }
    json_decref(rel.ip);
    json_decref(rel.user);
    json_decref(rel.hosts);
    return ev;

fail:
    pb_ev_free(ev);
    json_decref(rel.ip);
    json_decref(rel.user);
    json_decref(rel.hosts);
    return NULL;
}
