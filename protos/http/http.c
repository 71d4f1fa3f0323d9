/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http.c - the HTTP/1.x protocol: configuration, per-connection
 * streams, request/response correlation (pipelining, keep-alive,
 * 100-continue), gaps, FIN-delimited bodies and expiry, as Packetbeat 8.x
 * packetbeat/protos/http/http.go does it.
 *
 * Each direction has a struct http_stream (http_parse.h). Finished
 * messages go to one FIFO of requests and one of responses; every response
 * pairs with the oldest request, or is published alone as "Unmatched
 * response" when no request waits (a lone 100 Continue is dropped).
 * Requests still waiting when the connection expires are published as
 * "Unmatched request". A response to a HEAD request has no body, whatever
 * its headers announce: the response parser is told the method of the
 * oldest unanswered request (Packetbeat is not, and reads the next
 * response as that body).
 *
 * Packetbeat handles a packet that would take a message past
 * max_message_size by counting its bytes without keeping them (possible
 * only inside a body; anywhere else the direction is dropped). The core
 * hands us every unconsumed byte, so the bytes new in this call are the
 * ones beyond what we left unconsumed last time (http_stream.held).
 *
 * HTTP/2 (an extension): a connection whose client starts with the HTTP/2
 * preface, or that switches to h2c after "101 Switching Protocols", is
 * handed to http2.c for good (mode below). While the client has not spoken
 * yet, server bytes that look like an HTTP/2 SETTINGS frame are held back
 * (HTTP/1.x would drop them as garbage anyway).
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "http_event.h"
#include "http2.h"
#include "http2_frame.h"
#include "http_parse.h"
#include "protos/common/txq.h"
#include "protos/proto.h"

/* Packetbeat's default max_message_size (tcp.TCPMaxDataInStream). */
#define HTTP_DEFAULT_MAX_MESSAGE (10 * 1024 * 1024)

enum http_mode {
    HTTP_MODE_UNDECIDED, /* no client byte yet */
    HTTP_MODE_H1,
    HTTP_MODE_H2, /* handed to http2.c */
};

struct http_conn {
    struct http_stream st[2]; /* by enum pb_dir */
    struct pb_txq requests;   /* struct http_msg *, oldest first */
    struct pb_txq responses;
    enum http_mode mode;
    struct http2_conn *h2; /* owned; HTTP_MODE_H2 only (NULL after ENOMEM) */
};

/* ---- configuration ---------------------------------------------------- */

static void strv_free(char **v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; v[i] != NULL; i++) {
        pb_free(v[i]);
    }
    pb_free(v);
}

/* a ++ b as a new NULL-terminated list (copies, lower-cased when asked). */
static char **strv_concat(char **a, size_t na, char **b, size_t nb, bool lower, size_t *n)
{
    char **v = pb_calloc(na + nb + 1, sizeof *v);
    *n = 0;
    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < na + nb; i++) {
        const char *s = i < na ? a[i] : b[i - na];
        char *d = lower ? pb_strndup_lower(s, strlen(s)) : pb_strdup(s);
        if (d == NULL) {
            strv_free(v);
            *n = 0;
            return NULL;
        }
        v[(*n)++] = d;
    }
    return v;
}

static void plugin_free(struct http_plugin *pl)
{
    if (pl == NULL) {
        return;
    }
    pb_free(pl->real_ip_header);
    strv_free(pl->send_headers);
    strv_free(pl->req_body_for);
    strv_free(pl->resp_body_for);
    strv_free(pl->hide_keywords);
    strv_free(pl->redact_headers);
    pb_free(pl);
}

static size_t clamp_opt(int64_t v, size_t lo, size_t hi)
{
    if (v < (int64_t)lo) {
        return lo;
    }
    return v > (int64_t)hi ? hi : (size_t)v;
}

/* The http2.* keys (extension). */
static int h2_options(const struct pb_cfg *cfg, struct http2_opts *o)
{
    int64_t streams = 0, list = 0, table = 0;
    if (pb_cfg_bool(cfg, "http2.enabled", true, &o->enabled) < 0 ||
        pb_cfg_int(cfg, "http2.max_streams", HTTP2_DEFAULT_MAX_STREAMS, &streams) < 0 ||
        pb_cfg_int(cfg, "http2.max_header_list_size", HTTP2_DEFAULT_MAX_HEADER_LIST, &list) < 0 ||
        pb_cfg_int(cfg, "http2.max_dynamic_table_size", HTTP2_DEFAULT_MAX_TABLE, &table) < 0) {
        return -PB_EINVAL;
    }
    o->max_streams = clamp_opt(streams, 1, HTTP2_CEIL_MAX_STREAMS);
    o->max_header_list = clamp_opt(list, 1024, HTTP2_CEIL_MAX_HEADER_LIST);
    o->max_table = clamp_opt(table, 4096, HTTP2_CEIL_MAX_TABLE);
    return 0;
}

static int http_init(struct pb_proto *p)
{
    const struct pb_cfg *cfg = p->cfg;
    struct http_plugin *pl = pb_calloc(1, sizeof *pl);
    char **send_headers = NULL, **body_for = NULL, **req_for = NULL, **resp_for = NULL;
    char **hide = NULL, **redact = NULL;
    size_t nsend = 0, nbody = 0, nreq = 0, nresp = 0, nhide = 0, nredact = 0;
    const char *real_ip = NULL;
    int64_t max_msg = HTTP_DEFAULT_MAX_MESSAGE;
    bool send_all = false;
    int rc = -PB_EINVAL;
    if (pl == NULL) {
        return -PB_ENOMEM;
    }
    if (pb_cfg_bool(cfg, "send_all_headers", false, &send_all) < 0 ||
        pb_cfg_strv(cfg, "send_headers", &send_headers, &nsend) < 0 ||
        pb_cfg_bool(cfg, "split_cookie", false, &pl->split_cookie) < 0 ||
        pb_cfg_str(cfg, "real_ip_header", NULL, &real_ip) < 0 ||
        pb_cfg_strv(cfg, "include_body_for", &body_for, &nbody) < 0 ||
        pb_cfg_strv(cfg, "include_request_body_for", &req_for, &nreq) < 0 ||
        pb_cfg_strv(cfg, "include_response_body_for", &resp_for, &nresp) < 0 ||
        pb_cfg_strv(cfg, "hide_keywords", &hide, &nhide) < 0 ||
        pb_cfg_bool(cfg, "redact_authorization", false, &pl->redact_authorization) < 0 ||
        pb_cfg_int(cfg, "max_message_size", HTTP_DEFAULT_MAX_MESSAGE, &max_msg) < 0 ||
        pb_cfg_bool(cfg, "decode_body", true, &pl->decode_body) < 0 ||
        pb_cfg_strv(cfg, "redact_headers", &redact, &nredact) < 0) {
        goto out;
    }
    rc = -PB_ENOMEM;
    pl->send_request = p->send_request;
    pl->send_response = p->send_response;
    pl->max_message_size = max_msg > 0 ? (size_t)max_msg : 0;
    if (h2_options(cfg, &pl->h2) < 0) {
        rc = -PB_EINVAL;
        goto out;
    }
    if (real_ip != NULL && real_ip[0] != '\0') {
        pl->real_ip_header = pb_strndup_lower(real_ip, strlen(real_ip));
        if (pl->real_ip_header == NULL) {
            goto out;
        }
    }
    size_t n = 0;
    pl->send_headers = strv_concat(send_headers, nsend, NULL, 0, true, &n);
    pl->pcfg.whitelist = pl->send_headers;
    pl->pcfg.nwhitelist = n;
    pl->req_body_for = strv_concat(body_for, nbody, req_for, nreq, false, &n);
    pl->pcfg.req_body_for = pl->req_body_for;
    pl->pcfg.nreq_body_for = n;
    pl->resp_body_for = strv_concat(body_for, nbody, resp_for, nresp, false, &n);
    pl->pcfg.resp_body_for = pl->resp_body_for;
    pl->pcfg.nresp_body_for = n;
    pl->hide_keywords = strv_concat(hide, nhide, NULL, 0, false, &pl->nhide_keywords);
    pl->redact_headers = strv_concat(redact, nredact, NULL, 0, true, &pl->nredact_headers);
    if (pl->send_headers == NULL || pl->req_body_for == NULL || pl->resp_body_for == NULL ||
        pl->hide_keywords == NULL || pl->redact_headers == NULL) {
        goto out;
    }
    pl->pcfg.real_ip_header = pl->real_ip_header;
    pl->pcfg.no_raw_requests = !pl->send_request;
    pl->pcfg.no_raw_responses = !pl->send_response;
    if (send_all) {
        pl->pcfg.send_headers = true;
        pl->pcfg.send_all_headers = true;
    } else if (nsend > 0) {
        pl->pcfg.send_headers = true;
    }
    p->priv = pl;
    pl = NULL;
    rc = 0;
out:
    plugin_free(pl);
    pb_cfg_strv_free(send_headers);
    pb_cfg_strv_free(body_for);
    pb_cfg_strv_free(req_for);
    pb_cfg_strv_free(resp_for);
    pb_cfg_strv_free(hide);
    pb_cfg_strv_free(redact);
    return rc;
}

static void http_fini(struct pb_proto *p)
{
    const struct http_plugin *pl = p->priv;
    if (pl != NULL && pl->h2c.conns > 0) {
        const struct http2_counters *k = &pl->h2c;
        pb_debug("http",
                 "HTTP/2: %llu connections (%llu upgraded), %llu streams, caps hit: streams %llu, "
                 "header list %llu, table %llu, block %llu; errors %llu, gaps %llu crossed, %llu "
                 "dropped",
                 (unsigned long long)k->conns, (unsigned long long)k->upgrades,
                 (unsigned long long)k->streams, (unsigned long long)k->stream_cap,
                 (unsigned long long)k->header_list_cap, (unsigned long long)k->table_cap,
                 (unsigned long long)k->block_cap, (unsigned long long)k->proto_errors,
                 (unsigned long long)k->gaps_survived, (unsigned long long)k->gap_drops);
    }
    plugin_free(p->priv);
    p->priv = NULL;
}

/* ---- correlation ------------------------------------------------------ */

static void publish(struct pb_conn *c, struct http_msg *req, struct http_msg *resp)
{
    const struct http_plugin *pl = c->proto->priv;
    pb_event *ev = http_event_build(pl, c, req, resp);
    http_msg_free(req);
    http_msg_free(resp);
    if (ev != NULL) {
        pb_emit(c->proto, ev);
    }
}

static void flush_responses(struct pb_conn *c)
{
    struct http_conn *hc = c->state;
    while (!pb_txq_empty(&hc->responses)) {
        c->proto->stats.unmatched++;
        struct http_msg *resp = pb_txq_pop(&hc->responses);
        pb_debug("http", "Response from unknown transaction. Reporting error.");
        if (resp->status_code == 100) {
            pb_debug("http", "Drop first 100-continue response");
            http_msg_free(resp);
            return;
        }
        publish(c, NULL, resp);
    }
}

static void flush_requests(struct pb_conn *c)
{
    struct http_conn *hc = c->state;
    while (!pb_txq_empty(&hc->requests)) {
        c->proto->stats.unmatched++;
        struct http_msg *req = pb_txq_pop(&hc->requests);
        pb_debug("http", "Request from unknown transaction. Reporting error.");
        publish(c, req, NULL);
    }
}

static void correlate(struct pb_conn *c)
{
    struct http_conn *hc = c->state;
    if (pb_txq_empty(&hc->requests)) {
        flush_responses(c);
        return;
    }
    while (!pb_txq_empty(&hc->responses) && !pb_txq_empty(&hc->requests)) {
        struct http_msg *req = pb_txq_pop(&hc->requests);
        struct http_msg *resp = pb_txq_pop(&hc->responses);
        publish(c, req, resp);
    }
}

/* Packetbeat's handleHTTP: finish the message, queue it, and pair on a
 * response. Takes m. */
static void handle_message(struct pb_conn *c, struct http_msg *m)
{
    struct http_conn *hc = c->state;
    http_msg_finish(c->proto->priv, m);
    struct pb_txq *q = m->is_request ? &hc->requests : &hc->responses;
    if (pb_txq_push(q, m) < 0) {
        c->proto->stats.dropped++;
        pb_debug("http", "too many pending messages, dropping one");
        http_msg_free(m);
        return;
    }
    if (!m->is_request) {
        correlate(c);
    }
}

/* Packetbeat drops the whole connection state (both streams, pending
 * requests) on an unrecoverable gap or a parser crash. The core drops the
 * buffered bytes of direction d; the other direction's old bytes are
 * skipped at its next call. */
static void drop_connection_state(struct pb_conn *c, enum pb_dir d)
{
    struct http_conn *hc = c->state;
    for (int i = 0; i < 2; i++) {
        struct http_stream *st = &hc->st[i];
        size_t held = st->held;
        http_stream_reset(st);
        if (i != (int)d && held > 0) {
            st->held = held;
            st->skip_held = true;
        }
    }
    pb_txq_clear(&hc->requests, http_msg_free);
    pb_txq_clear(&hc->responses, http_msg_free);
}

/* ---- callbacks -------------------------------------------------------- */

/* True when the oldest request without a response is a HEAD: the one
 * queued first, else the one being parsed once its header block is done
 * (a server may answer before the request body is complete). */
static bool oldest_request_is_head(const struct http_conn *hc)
{
    const struct http_msg *req = pb_txq_peek(&hc->requests);
    const struct http_stream *rs = &hc->st[PB_DIR_TO_SERVER];
    if (req == NULL && rs->active && rs->msg != NULL && rs->state != HTTP_ST_START &&
        rs->state != HTTP_ST_HEADERS) {
        req = rs->msg;
    }
    return req != NULL && req->is_request && req->method.len == 4 &&
           memcmp(req->method.p, "HEAD", 4) == 0;
}

static enum pb_parse drop_stream(struct pb_conn *c, struct http_stream *st, size_t len,
                                 size_t *consumed)
{
    c->proto->stats.parse_errors++;
    http_stream_reset(st);
    *consumed = len;
    return PB_PARSE_DROP;
}

/* Hands the connection to HTTP/2 for good; `upgrade_req` (taken) is the
 * request that asked for h2c, NULL for prior knowledge. */
static void switch_to_h2(struct pb_conn *c, struct http_msg *upgrade_req)
{
    struct http_conn *hc = c->state;
    http_stream_reset(&hc->st[0]);
    http_stream_reset(&hc->st[1]);
    hc->mode = HTTP_MODE_H2;
    hc->h2 = http2_conn_new(c, upgrade_req);
}

static enum pb_parse h2_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                             size_t *consumed)
{
    struct http_conn *hc = c->state;
    if (hc->h2 == NULL) {
        *consumed = len; /* no memory for the state: ignore the connection */
        return PB_PARSE_OK;
    }
    return http2_on_data(c, hc->h2, d, data, len, consumed);
}

static enum pb_parse h1_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                size_t *consumed);

static enum pb_parse http_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                  size_t *consumed)
{
    struct http_conn *hc = c->state;
    const struct http_plugin *pl = c->proto->priv;
    *consumed = 0;
    if (hc->mode == HTTP_MODE_H2) {
        return h2_data(c, d, data, len, consumed);
    }
    if (hc->mode == HTTP_MODE_UNDECIDED) {
        if (!pl->h2.enabled) {
            hc->mode = HTTP_MODE_H1;
        } else if (d == PB_DIR_TO_SERVER) {
            int pc = h2_preface_cmp(data, len);
            if (pc == 0) {
                return PB_PARSE_MORE; /* a prefix of the preface so far */
            }
            if (pc > 0) {
                switch_to_h2(c, NULL);
                return h2_data(c, d, data, len, consumed);
            }
            hc->mode = HTTP_MODE_H1;
        } else if (http2_server_start(data, len) >= 0) {
            return PB_PARSE_MORE; /* hold until the client speaks */
        } else {
            hc->mode = HTTP_MODE_H1;
        }
    }
    return h1_on_data(c, d, data, len, consumed);
}

static enum pb_parse h1_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                size_t *consumed)
{
    struct http_conn *hc = c->state;
    const struct http_plugin *pl = c->proto->priv;
    struct http_stream *st = &hc->st[d];
    size_t base = 0;
    *consumed = 0;
    if (st->held > len) {
        /* bytes we left were dropped behind our back: start over */
        http_stream_reset(st);
    } else if (st->skip_held) {
        base = st->held; /* old bytes of a dropped connection state */
        st->skip_held = false;
        st->held = 0;
    }
    const uint8_t *p = data + base;
    size_t n = len - base;
    size_t fresh = n - st->held; /* bytes of this segment */
    size_t extra = 0;
    if (!st->active) {
        http_stream_reset(st);
        st->active = true;
    } else {
        size_t total = n + (st->msg != NULL ? st->msg->body.len : 0);
        if (total > pl->max_message_size && fresh > 0) {
            pb_debug("http", "Stream data too large, ignoring message");
            extra = fresh;
            n -= fresh; /* the segment is not kept */
            if (st->state != HTTP_ST_BODY || n > 0) {
                return drop_stream(c, st, len, consumed);
            }
        }
    }
    bool skipped = extra > 0;
    bool progress = false;
    size_t off = 0;
    while (off < n || extra > 0) {
        if (st->msg == NULL) {
            st->msg = http_msg_new(c->ts_ns, d);
            if (st->msg == NULL) {
                return drop_stream(c, st, len, consumed);
            }
        }
        enum http_res r;
        if (extra > 0) {
            r = http_parse_eat(st, extra);
            extra = 0;
        } else {
            size_t used = 0;
            st->answers_head = d == PB_DIR_TO_CLIENT && oldest_request_is_head(hc);
            r = http_parse(st, &pl->pcfg, p + off, n - off, pl->max_message_size, &used);
            off += used;
        }
        if (r == HTTP_RES_ERROR) {
            return drop_stream(c, st, len, consumed);
        }
        if (r == HTTP_RES_FATAL) {
            c->proto->stats.parse_errors++;
            drop_connection_state(c, d);
            *consumed = len;
            return PB_PARSE_DROP;
        }
        if (r == HTTP_RES_MORE) {
            break;
        }
        struct http_msg *m = st->msg;
        http_stream_prepare(st, false);
        if (d == PB_DIR_TO_CLIENT && pl->h2.enabled && http2_is_h2c_switch(m)) {
            /* 101 to h2c: this exchange is published as HTTP/1.1, then the
             * rest of the connection, from the next byte on, is HTTP/2 */
            struct http_msg *up = pb_txq_peek(&hc->requests);
            struct http_msg *req = up != NULL ? http2_clone_request(pl, up) : NULL;
            handle_message(c, m);
            switch_to_h2(c, req);
            size_t used = 0;
            enum pb_parse r2 = PB_PARSE_OK;
            if (off < n) {
                r2 = h2_data(c, d, p + off, n - off, &used);
            }
            if (r2 == PB_PARSE_DROP) {
                *consumed = len;
                return r2;
            }
            *consumed = base + off + used;
            return PB_PARSE_OK;
        }
        handle_message(c, m);
        progress = true;
    }
    /* A skipped (oversized) segment is consumed with everything before it. */
    *consumed = skipped ? len : base + off;
    st->held = len - *consumed;
    return (progress || *consumed > 0) ? PB_PARSE_OK : PB_PARSE_MORE;
}

static bool http_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct http_conn *hc = c->state;
    if (hc->mode == HTTP_MODE_H2) {
        if (hc->h2 == NULL) {
            return true;
        }
        return http2_on_gap(c, hc->h2, d, lost);
    }
    hc->mode = HTTP_MODE_H1;
    struct http_stream *st = &hc->st[d];
    c->proto->stats.gaps++;
    if (!st->active) {
        /* only old bytes of a dropped connection state may be buffered */
        bool drop = st->held > 0;
        st->held = 0;
        st->skip_held = false;
        return drop;
    }
    if (st->msg == NULL) {
        return false; /* between messages: nothing to do */
    }
    switch (http_parse_gap(st, lost, st->held)) {
    case HTTP_GAP_DROP:
        drop_connection_state(c, d);
        return true;
    case HTTP_GAP_DONE: {
        /* the rest of the message is lost: publish what we have */
        struct http_msg *m = st->msg;
        http_stream_prepare(st, false);
        handle_message(c, m);
        return false;
    }
    case HTTP_GAP_OK:
    default:
        return false;
    }
}

static void http_on_fin(struct pb_conn *c, enum pb_dir d)
{
    struct http_conn *hc = c->state;
    if (hc->mode == HTTP_MODE_H2) {
        return; /* streams end with END_STREAM, RST_STREAM or expiry */
    }
    struct http_stream *st = &hc->st[d];
    if (!st->active || st->msg == NULL) {
        return;
    }
    /* whatever we have is the message (close-delimited bodies) */
    struct http_msg *m = st->msg;
    http_stream_prepare(st, false);
    handle_message(c, m);
}

static void http_on_expire(struct pb_conn *c)
{
    struct http_conn *hc = c->state;
    if (hc->mode == HTTP_MODE_H2 && hc->h2 != NULL) {
        http2_on_expire(c, hc->h2);
    }
    for (int d = 0; d < 2; d++) {
        struct http_stream *st = &hc->st[d];
        /* do not send incomplete or empty messages */
        if (st->active && st->msg != NULL && st->msg->header_offset > 0) {
            struct http_msg *m = st->msg;
            http_stream_prepare(st, false);
            handle_message(c, m);
        }
    }
    correlate(c);
    flush_requests(c);
    flush_responses(c);
}

static void http_conn_free(struct pb_conn *c)
{
    struct http_conn *hc = c->state;
    if (hc == NULL) {
        return;
    }
    http_stream_reset(&hc->st[0]);
    http_stream_reset(&hc->st[1]);
    pb_txq_free(&hc->requests, http_msg_free);
    pb_txq_free(&hc->responses, http_msg_free);
    http2_conn_free(hc->h2);
    hc->h2 = NULL;
}

const struct pb_proto_ops pb_proto_http = {
    .name = "http",
    .transports = PB_TCP,
    .conn_size = sizeof(struct http_conn),
    .init = http_init,
    .fini = http_fini,
    .on_data = http_on_data,
    .on_gap = http_on_gap,
    .on_fin = http_on_fin,
    .on_expire = http_on_expire,
    .conn_free = http_conn_free,
};
