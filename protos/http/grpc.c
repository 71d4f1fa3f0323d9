/* SPDX-License-Identifier: Apache-2.0
 * protos/http/grpc.c - gRPC call details for HTTP/2 streams. See grpc.h.
 * Spec: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
#include "grpc.h"

#include <string.h>

#include "beat/event.h"

void grpc_framer_feed(struct grpc_framer *f, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (f->left > 0) {
            size_t take = n - i < f->left ? n - i : f->left;
            f->left -= (uint32_t)take;
            i += take;
            continue;
        }
        f->hdr[f->got++] = p[i++];
        if (f->got == sizeof f->hdr) {
            f->got = 0;
            f->messages++;
            if (f->hdr[0] & 1u) {
                f->compressed++;
            }
            f->left = ((uint32_t)f->hdr[1] << 24) | ((uint32_t)f->hdr[2] << 16) |
                      ((uint32_t)f->hdr[3] << 8) | f->hdr[4];
        }
    }
}

void grpc_framer_lose(struct grpc_framer *f)
{
    /* the next prefix cannot be found again: stop counting */
    f->left = UINT32_MAX;
    f->got = 0;
}

bool grpc_is_content_type(const uint8_t *ct, size_t n)
{
    static const char pfx[] = "application/grpc";
    const size_t k = sizeof pfx - 1;
    if (n < k || !pb_mem_ieq(ct, k, pfx)) {
        return false;
    }
    return n == k || ct[k] == '+' || ct[k] == ';';
}

bool grpc_split_path(const uint8_t *path, size_t n, size_t *svc_off, size_t *svc_len, size_t *m_off,
                     size_t *m_len)
{
    if (n < 4 || path[0] != '/') {
        return false;
    }
    const uint8_t *slash = memchr(path + 1, '/', n - 1);
    if (slash == NULL) {
        return false;
    }
    size_t s = (size_t)(slash - path);
    if (s == 1 || s + 1 >= n || memchr(slash + 1, '/', n - s - 1) != NULL ||
        memchr(path, '?', n) != NULL) {
        return false;
    }
    *svc_off = 1;
    *svc_len = s - 1;
    *m_off = s + 1;
    *m_len = n - s - 1;
    return true;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void grpc_message_decode(const uint8_t *p, size_t n, struct pb_bytes *out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            c = (uint8_t)(hexval(p[i + 1]) << 4 | hexval(p[i + 2]));
            i += 2;
        }
        if (pb_bytes_append(out, &c, 1, GRPC_MAX_MESSAGE) < 0) {
            return;
        }
    }
}

void grpc_event_fields(pb_event *ev, const struct grpc_call *call)
{
    size_t so, sl, mo, ml;
    bool named =
        call->path != NULL && grpc_split_path(call->path, call->path_len, &so, &sl, &mo, &ml);
    bool message = call->message != NULL && call->message->len > 0;
    if (!named && call->status < 0 && !message && call->req == NULL && call->resp == NULL) {
        return; /* no grpc object */
    }
    pb_node *g = pb_ev_obj(ev, "grpc");
    if (named) {
        pb_node_set_strn(g, "service", call->path + so, sl);
        pb_node_set_strn(g, "method", call->path + mo, ml);
    }
    if (call->status >= 0) {
        pb_node_set_int(g, "status_code", call->status);
    }
    if (message) {
        pb_node_set_strn(g, "message", call->message->p, call->message->len);
    }
    if (call->req != NULL) {
        pb_node_set_uint(pb_node_obj(g, "request"), "messages", call->req->messages);
    }
    if (call->resp != NULL) {
        pb_node_set_uint(pb_node_obj(g, "response"), "messages", call->resp->messages);
    }
}
