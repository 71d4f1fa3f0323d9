/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http2.c - HTTP/2 connections and streams. See http2.h.
 *
 * Each direction is a frame reader over the bytes the core has not seen us
 * consume: DATA payloads (and padding, and frames we only skip) are taken
 * as they arrive, every other frame only once it is whole. HEADERS or
 * PUSH_PROMISE plus CONTINUATION make one header block, decoded with the
 * direction's HPACK state into an http_msg, so that the event is built by
 * the HTTP/1.x code (http_event_build) with the same http.* / url.* fields.
 *
 * A stream is a transaction: it is published when the response ends
 * (END_STREAM), when either side resets it (RST_STREAM), when a GOAWAY
 * says it was never processed, or when the connection expires. Anything
 * the frame layer or HPACK cannot make sense of drops the connection state
 * for good: without the HPACK tables nothing later can be decoded. A gap
 * is crossed only when it falls inside a DATA payload (or a frame being
 * skipped), since HPACK state is untouched there.
 */
#include "http2.h"

#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/log.h"
#include "grpc.h"
#include "hpack.h"
#include "http2_frame.h"

/* Non-DATA frames up to this size are parsed whole; larger ones (other
 * than header blocks) are skipped as they arrive. */
#define H2_WHOLE_FRAME_MAX (64u * 1024u)

enum h2_fstate {
    H2_FS_HEAD,   /* at a frame header */
    H2_FS_PADLEN, /* DATA: the Pad Length byte */
    H2_FS_DATA,   /* DATA: payload bytes */
    H2_FS_SKIP,   /* padding or a frame we do not keep */
};

/* One direction of the connection. */
struct h2_dir {
    bool need_preface; /* client direction: the preface comes first */
    enum h2_fstate fs;
    uint32_t left; /* DATA: data bytes left; SKIP: bytes to skip */
    uint32_t pad;  /* DATA: padding after the data */
    uint32_t flen; /* DATA: payload length of the frame */
    uint32_t sid;  /* DATA: stream */
    uint8_t flags; /* DATA: frame flags */
    /* header block being collected (HEADERS/PUSH_PROMISE + CONTINUATION) */
    bool in_block;
    bool blk_end_stream;
    uint8_t blk_type;
    uint32_t blk_sid, blk_promised;
    uint64_t blk_ts;
    uint64_t blk_wire; /* frame bytes of the block, headers included */
    struct pb_bytes blk;
    struct hpack_dec hp;
};

struct h2_stream {
    uint32_t id;
    struct http_msg *req, *resp; /* owned */
    bool req_hdrs;               /* request header block seen (req may be NULL: cut) */
    bool req_done;               /* END_STREAM from the client */
    bool resp_final;             /* a final (non-1xx) response header block seen */
    uint64_t body[2];            /* DATA bytes by direction */
    int grpc_status;             /* -1: none */
    struct pb_bytes grpc_msg;
    struct grpc_framer gf[2];
};

struct http2_conn {
    struct h2_dir d[2];
    struct h2_stream *st; /* owned, ordered as opened */
    size_t nst, cap;
    uint32_t max_sid[2]; /* highest stream opened: [0] client (odd), [1] server (even) */
    bool dead;
};

/* ---- helpers ---------------------------------------------------------- */

static struct http_plugin *plugin(const struct pb_conn *c)
{
    return c->proto->priv;
}

static void stream_clear(struct h2_stream *s)
{
    http_msg_free(s->req);
    http_msg_free(s->resp);
    pb_bytes_free(&s->grpc_msg);
    memset(s, 0, sizeof *s);
}

static void dir_free(struct h2_dir *d)
{
    pb_bytes_free(&d->blk);
    hpack_dec_free(&d->hp);
}

static struct h2_stream *stream_find(struct http2_conn *h, uint32_t sid)
{
    for (size_t i = 0; i < h->nst; i++) {
        if (h->st[i].id == sid) {
            return &h->st[i];
        }
    }
    return NULL;
}

static void stream_remove(struct http2_conn *h, struct h2_stream *s)
{
    size_t i = (size_t)(s - h->st);
    stream_clear(s);
    memmove(&h->st[i], &h->st[i + 1], (h->nst - i - 1) * sizeof *s);
    h->nst--;
}

/* The stream `sid`, opened if new; NULL when it was closed before or the
 * max_streams cap is reached (counted). */
static struct h2_stream *stream_open(struct pb_conn *c, struct http2_conn *h, uint32_t sid)
{
    struct h2_stream *s = stream_find(h, sid);
    if (s != NULL) {
        return s;
    }
    uint32_t *max = &h->max_sid[(sid & 1u) ? 0 : 1];
    if (sid <= *max) {
        return NULL; /* a stream we already closed (or never could track) */
    }
    *max = sid;
    struct http_plugin *pl = plugin(c);
    if (h->nst >= pl->h2.max_streams) {
        pl->h2c.stream_cap++;
        c->proto->stats.dropped++;
        pb_debug("http", "HTTP/2 stream %u ignored: max_streams (%zu) reached", sid,
                 pl->h2.max_streams);
        return NULL;
    }
    if (h->nst == h->cap) {
        size_t ncap = h->cap == 0 ? 4 : h->cap * 2;
        struct h2_stream *a = pb_realloc(h->st, ncap * sizeof *a);
        if (a == NULL) {
            return NULL;
        }
        h->st = a;
        h->cap = ncap;
    }
    s = &h->st[h->nst++];
    memset(s, 0, sizeof *s);
    s->id = sid;
    s->grpc_status = -1;
    return s;
}

/* ---- publishing ------------------------------------------------------- */

static bool is_grpc(const struct http_msg *req, const struct http_msg *resp)
{
    if (req != NULL && grpc_is_content_type(req->content_type.p, req->content_type.len)) {
        return true;
    }
    return resp != NULL && grpc_is_content_type(resp->content_type.p, resp->content_type.len);
}

/* Publishes the stream's transaction (with an optional note) and removes
 * the stream. */
static void publish(struct pb_conn *c, struct http2_conn *h, struct h2_stream *s, const char *note)
{
    struct http_plugin *pl = plugin(c);
    struct http_msg *req = s->req, *resp = s->resp;
    if (req == NULL && resp == NULL) {
        stream_remove(h, s);
        return;
    }
    struct http_msg *ms[2] = {req, resp};
    for (int i = 0; i < 2; i++) {
        if (ms[i] != NULL && !ms[i]->has_content_length) {
            ms[i]->content_length = (int64_t)s->body[i];
        }
        if (ms[i] != NULL) {
            http_msg_finish(pl, ms[i]);
        }
    }
    if (note != NULL) {
        http_msg_add_note(req != NULL ? req : resp, note);
    }
    if (req == NULL || resp == NULL) {
        c->proto->stats.unmatched++;
    }
    bool grpc = is_grpc(req, resp);
    pb_event *ev = http_event_build(pl, c, req, resp);
    if (ev != NULL) {
        pb_ev_put_str(ev, "http.version", "2");
        if (grpc) {
            struct grpc_call call = {
                .path = req != NULL ? req->uri.p : NULL,
                .path_len = req != NULL ? req->uri.len : 0,
                .status = s->grpc_status,
                .message = &s->grpc_msg,
                .req = req != NULL ? &s->gf[PB_DIR_TO_SERVER] : NULL,
                .resp = resp != NULL ? &s->gf[PB_DIR_TO_CLIENT] : NULL,
            };
            grpc_event_fields(ev, &call);
            if (s->grpc_status > 0) {
                pb_ev_put_str(ev, "status", "Error");
            }
        }
        pl->h2c.streams++;
        pb_emit(c->proto, ev);
    }
    stream_remove(h, s); /* frees req and resp */
}

/* Drops everything for good: later bytes are swallowed. */
static void go_dead(struct http2_conn *h)
{
    for (size_t i = 0; i < h->nst; i++) {
        stream_clear(&h->st[i]);
    }
    h->nst = 0;
    dir_free(&h->d[0]);
    dir_free(&h->d[1]);
    h->dead = true;
}

/* ---- header blocks ---------------------------------------------------- */

struct h2_sink {
    const struct http_plugin *pl;
    struct http2_counters *cnt;
    struct http_msg *m; /* NULL: decode only (keeps HPACK in step) */
    struct h2_stream *s;
    bool trailers;
    bool response;
    size_t list; /* decoded header list size so far */
    bool over;   /* max_header_list_size reached: later fields not kept */
    struct pb_bytes lines, authority;
};

/* Feeds a decoded field to the HTTP/1.x header code as the value of a
 * header line would be, " value": that code trims like Packetbeat, which
 * never keeps a value of one byte without the space after the colon. */
static void header_field(struct http_msg *m, const struct http_parser_cfg *cfg, const uint8_t *name,
                         size_t nlen, const uint8_t *val, size_t vlen)
{
    uint8_t small[256];
    uint8_t *v = vlen < sizeof small ? small : pb_malloc(vlen + 1);
    if (v == NULL) {
        return;
    }
    v[0] = ' ';
    if (vlen > 0) {
        memcpy(v + 1, val, vlen);
    }
    http_msg_header_field(m, cfg, name, nlen, v, vlen + 1);
    if (v != small) {
        pb_free(v);
    }
}

static void put_bytes(struct pb_bytes *b, const uint8_t *p, size_t n)
{
    pb_bytes_reset(b);
    pb_bytes_append(b, p, n, SIZE_MAX);
}

static int sink_field(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen,
                      bool never_indexed)
{
    struct h2_sink *k = ctx;
    (void)never_indexed;
    k->list += nlen + vlen + 32;
    if (k->list > k->pl->h2.max_header_list) {
        if (!k->over) {
            k->over = true;
            k->cnt->header_list_cap++;
        }
        return 0;
    }
    if (k->s != NULL && k->response) {
        if (pb_mem_eq(name, nlen, "grpc-status")) {
            int64_t v = -1;
            if (http_parse_int(val, vlen, &v) && v >= 0 && v < 1000000) {
                k->s->grpc_status = (int)v;
            }
        } else if (pb_mem_eq(name, nlen, "grpc-message")) {
            pb_bytes_reset(&k->s->grpc_msg);
            grpc_message_decode(val, vlen, &k->s->grpc_msg);
        }
    }
    struct http_msg *m = k->m;
    if (m == NULL) {
        return 0;
    }
    if (nlen > 0 && name[0] == ':') {
        if (k->trailers) {
            return 0;
        }
        if (pb_mem_eq(name, nlen, ":method")) {
            put_bytes(&m->method, val, vlen);
        } else if (pb_mem_eq(name, nlen, ":path")) {
            put_bytes(&m->uri, val, vlen);
        } else if (pb_mem_eq(name, nlen, ":authority")) {
            put_bytes(&k->authority, val, vlen);
        } else if (pb_mem_eq(name, nlen, ":status")) {
            int64_t v = 0;
            if (vlen == 3 && http_parse_int(val, vlen, &v) && v >= 100) {
                m->status_code = (uint16_t)v;
            }
        }
        return 0;
    }
    if (!k->trailers) {
        header_field(m, &k->pl->pcfg, name, nlen, val, vlen);
        size_t max = 2 * (size_t)k->pl->h2.max_header_list;
        if (pb_bytes_append(&k->lines, name, nlen, max) == 0 &&
            pb_bytes_append(&k->lines, ": ", 2, max) == 0 &&
            pb_bytes_append(&k->lines, val, vlen, max) == 0) {
            pb_bytes_append(&k->lines, "\r\n", 2, max);
        }
    } else if (!pb_mem_eq(name, nlen, "content-length") && !pb_mem_eq(name, nlen, "content-type")) {
        /* trailers only add captured headers */
        struct http_parser_cfg cfg = k->pl->pcfg;
        cfg.real_ip_header = NULL;
        if (cfg.send_headers) {
            header_field(m, &cfg, name, nlen, val, vlen);
        }
    }
    return 0;
}

/* A finished header block into m: the raw block in HTTP/1.x shape (so
 * send_request/send_response and redaction work alike), version 2,
 * :authority as the host. */
static void finish_msg(struct h2_sink *k, struct http_msg *m)
{
    char first[48];
    struct pb_bytes raw = {0};
    int rc = 0;
    if (m->is_request) {
        rc |= pb_bytes_append(&raw, m->method.p, m->method.len, SIZE_MAX);
        rc |= pb_bytes_append(&raw, " ", 1, SIZE_MAX);
        rc |= pb_bytes_append(&raw, m->uri.p, m->uri.len, SIZE_MAX);
        rc |= pb_bytes_append(&raw, " HTTP/2\r\n", 9, SIZE_MAX);
    } else {
        snprintf(first, sizeof first, "HTTP/2 %u\r\n", m->status_code);
        rc |= pb_bytes_append(&raw, first, strlen(first), SIZE_MAX);
    }
    m->header_offset = raw.len;
    rc |= pb_bytes_append(&raw, k->lines.p, k->lines.len, SIZE_MAX);
    rc |= pb_bytes_append(&raw, "\r\n", 2, SIZE_MAX);
    if (rc == 0) {
        pb_bytes_free(&m->raw);
        m->raw = raw;
    } else {
        pb_bytes_free(&raw);
    }
    m->ver_major = 2;
    m->ver_minor = 0;
    if (k->authority.len > 0) {
        if (m->host.len == 0) {
            /* as a Host header: captured when send_headers asks for it */
            header_field(m, &k->pl->pcfg, (const uint8_t *)"host", 4, k->authority.p,
                         k->authority.len);
        }
        put_bytes(&m->host, k->authority.p, k->authority.len);
    }
    http_msg_body_policy(m, &k->pl->pcfg);
}

/* END_STREAM from direction d. */
static void end_stream(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, struct h2_stream *s)
{
    if (d == PB_DIR_TO_SERVER) {
        s->req_done = true;
        return;
    }
    publish(c, h, s, NULL);
}

/* 0, or -1 when the connection state must go. */
static int finish_block(struct pb_conn *c, struct http2_conn *h, enum pb_dir d)
{
    struct http_plugin *pl = plugin(c);
    struct h2_dir *hd = &h->d[d];
    struct h2_sink k = {.pl = pl, .cnt = &pl->h2c, .response = d == PB_DIR_TO_CLIENT};
    struct h2_stream *s = NULL;
    struct http_msg *m = NULL;
    bool push = hd->blk_type == H2_PUSH_PROMISE;
    if (push) {
        /* the promised request, as if the client had sent it */
        s = stream_open(c, h, hd->blk_promised);
        if (s != NULL && !s->req_hdrs) {
            m = http_msg_new(hd->blk_ts, PB_DIR_TO_SERVER);
            s->req = m;
            s->req_hdrs = true;
            s->req_done = true;
        }
        k.response = false;
    } else {
        s = stream_open(c, h, hd->blk_sid);
        if (s != NULL && d == PB_DIR_TO_SERVER) {
            if (!s->req_hdrs) {
                m = http_msg_new(hd->blk_ts, d);
                s->req = m;
                s->req_hdrs = true;
            } else {
                m = s->req;
                k.trailers = true;
            }
        } else if (s != NULL) {
            if (!s->resp_final) {
                http_msg_free(s->resp);
                m = http_msg_new(hd->blk_ts, d);
                s->resp = m;
            } else {
                m = s->resp;
                k.trailers = true;
            }
        }
    }
    if (m != NULL) {
        m->size += hd->blk_wire;
        if (!k.trailers) {
            m->is_request = !k.response;
        }
    }
    k.s = push ? NULL : s;
    k.m = m;
    const uint8_t *blk = hd->blk.p != NULL ? hd->blk.p : (const uint8_t *)"";
    int rc = hpack_decode(&hd->hp, blk, hd->blk.len, sink_field, &k);
    bool end = hd->blk_end_stream && !push;
    hd->in_block = false;
    pb_bytes_reset(&hd->blk);
    if (rc < 0) {
        pb_bytes_free(&k.lines);
        pb_bytes_free(&k.authority);
        if (rc == HPACK_ELIMIT) {
            pl->h2c.table_cap++;
            pb_debug("http", "HTTP/2 dynamic table size beyond max_dynamic_table_size");
        } else {
            pl->h2c.proto_errors++;
            pb_debug("http", "HTTP/2 header block does not decode (HPACK)");
        }
        return -1;
    }
    if (m != NULL && !k.trailers) {
        finish_msg(&k, m);
        if (k.response) {
            if (m->status_code >= 100 && m->status_code < 200 && !end) {
                /* informational: the final response follows */
                http_msg_free(m);
                s->resp = NULL;
            } else {
                s->resp_final = true;
            }
        }
    }
    pb_bytes_free(&k.lines);
    pb_bytes_free(&k.authority);
    if (end && s != NULL) {
        end_stream(c, h, d, s);
    }
    return 0;
}

/* ---- frames ----------------------------------------------------------- */

static void data_bytes(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, uint32_t sid,
                       const uint8_t *p, size_t n)
{
    struct h2_stream *s = stream_find(h, sid);
    if (s == NULL || n == 0) {
        return;
    }
    s->body[d] += n;
    grpc_framer_feed(&s->gf[d], p, n);
    struct http_msg *m = d == PB_DIR_TO_SERVER ? s->req : s->resp;
    size_t max = plugin(c)->max_message_size;
    if (m != NULL && m->save_body && m->body.len < max) {
        size_t room = max - m->body.len;
        pb_bytes_append(&m->body, p, n < room ? n : room, max);
    }
}

/* The DATA frame's data part is complete. */
static void data_done(struct pb_conn *c, struct http2_conn *h, enum pb_dir d)
{
    struct h2_dir *hd = &h->d[d];
    if (hd->flags & H2_FLAG_END_STREAM) {
        struct h2_stream *s = stream_find(h, hd->sid);
        if (s != NULL) {
            end_stream(c, h, d, s);
        }
    }
    if (hd->pad > 0) {
        hd->fs = H2_FS_SKIP;
        hd->left = hd->pad;
        hd->pad = 0;
    } else {
        hd->fs = H2_FS_HEAD;
    }
}

static void on_rst(struct pb_conn *c, struct http2_conn *h, uint32_t sid, uint32_t code)
{
    struct h2_stream *s = stream_find(h, sid);
    plugin(c)->h2c.resets++;
    if (s == NULL) {
        return;
    }
    char note[64];
    snprintf(note, sizeof note, "stream reset: %s", h2_error_name(code));
    publish(c, h, s, note);
}

/* GOAWAY sent in direction d: the peer's streams above last were never
 * processed. */
static void on_goaway(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, uint32_t last)
{
    uint32_t parity = d == PB_DIR_TO_CLIENT ? 1u : 0u; /* peer-initiated ids */
    for (size_t i = 0; i < h->nst;) {
        struct h2_stream *s = &h->st[i];
        if ((s->id & 1u) == parity && s->id > last) {
            publish(c, h, s, "GOAWAY: stream not processed");
            continue; /* publish removed st[i] */
        }
        i++;
    }
}

/* A complete non-DATA frame. 0, or -1 to drop the connection state. */
static int on_frame(struct pb_conn *c, struct http2_conn *h, enum pb_dir d,
                    const struct h2_frame_hdr *fh, const uint8_t *payload)
{
    struct h2_dir *hd = &h->d[d];
    struct http_plugin *pl = plugin(c);
    struct pb_rd r = pb_rd_make(payload, fh->len);
    switch (fh->type) {
    case H2_HEADERS:
    case H2_PUSH_PROMISE: {
        if (fh->type == H2_PUSH_PROMISE && d != PB_DIR_TO_CLIENT) {
            return -1; /* only servers push */
        }
        struct pb_slice frag;
        uint32_t promised = 0;
        if (!h2_headers_fragment(fh, payload, &frag, &promised)) {
            return -1;
        }
        if (fh->type == H2_PUSH_PROMISE && (promised == 0 || (promised & 1u) != 0)) {
            return -1;
        }
        hd->in_block = true;
        hd->blk_type = fh->type;
        hd->blk_sid = fh->sid;
        hd->blk_promised = promised;
        hd->blk_end_stream = fh->type == H2_HEADERS && (fh->flags & H2_FLAG_END_STREAM);
        hd->blk_ts = c->ts_ns;
        hd->blk_wire = H2_FRAME_HEADER_LEN + (uint64_t)fh->len;
        pb_bytes_reset(&hd->blk);
        if (pb_bytes_append(&hd->blk, frag.ptr, frag.len, pl->h2.max_header_list) < 0) {
            pl->h2c.block_cap++;
            return -1;
        }
        return (fh->flags & H2_FLAG_END_HEADERS) ? finish_block(c, h, d) : 0;
    }
    case H2_CONTINUATION:
        hd->blk_wire += H2_FRAME_HEADER_LEN + (uint64_t)fh->len;
        if (pb_bytes_append(&hd->blk, payload, fh->len, pl->h2.max_header_list) < 0) {
            pl->h2c.block_cap++;
            return -1;
        }
        return (fh->flags & H2_FLAG_END_HEADERS) ? finish_block(c, h, d) : 0;
    case H2_RST_STREAM:
        on_rst(c, h, fh->sid, pb_rd_be32(&r));
        return 0;
    case H2_GOAWAY: {
        uint32_t last = pb_rd_be32(&r) & 0x7fffffffu;
        uint32_t code = pb_rd_be32(&r);
        pb_debug("http", "HTTP/2 GOAWAY last_stream_id=%u error=%s", last, h2_error_name(code));
        on_goaway(c, h, d, last);
        return 0;
    }
    case H2_SETTINGS:
        while (pb_rd_left(&r) >= 6) {
            uint16_t id = pb_rd_be16(&r);
            uint32_t v = pb_rd_be32(&r);
            if (id == H2_SETTINGS_HEADER_TABLE_SIZE) {
                pb_debug("http", "HTTP/2 SETTINGS_HEADER_TABLE_SIZE=%u", v);
            }
        }
        return 0;
    default:
        return 0; /* PING, PRIORITY, WINDOW_UPDATE, unknown: nothing to keep */
    }
}

/* Parses data[0..len) of direction d. Returns 0 with *consumed set, or -1
 * to drop the connection state. */
static int parse(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, const uint8_t *data,
                 size_t len, size_t *consumed)
{
    struct h2_dir *hd = &h->d[d];
    struct http_plugin *pl = plugin(c);
    size_t off = 0;
    *consumed = 0;
    if (hd->need_preface) {
        int pc = h2_preface_cmp(data, len);
        if (pc < 0) {
            pl->h2c.proto_errors++;
            return -1;
        }
        if (pc == 0) {
            return 0;
        }
        off = H2_PREFACE_LEN;
        hd->need_preface = false;
    }
    while (off < len && !h->dead) {
        size_t avail = len - off;
        switch (hd->fs) {
        case H2_FS_PADLEN: {
            uint8_t padlen = data[off++];
            if (padlen >= hd->flen) {
                pl->h2c.proto_errors++;
                return -1;
            }
            hd->left = hd->flen - 1u - padlen;
            hd->pad = padlen;
            hd->fs = H2_FS_DATA;
            if (hd->left == 0) {
                data_done(c, h, d);
            }
            continue;
        }
        case H2_FS_DATA: {
            size_t take = avail < hd->left ? avail : hd->left;
            data_bytes(c, h, d, hd->sid, data + off, take);
            off += take;
            hd->left -= (uint32_t)take;
            if (hd->left == 0) {
                data_done(c, h, d);
            }
            continue;
        }
        case H2_FS_SKIP: {
            size_t take = avail < hd->left ? avail : hd->left;
            off += take;
            hd->left -= (uint32_t)take;
            if (hd->left == 0) {
                hd->fs = H2_FS_HEAD;
            }
            continue;
        }
        case H2_FS_HEAD:
        default:
            break;
        }
        struct h2_frame_hdr fh;
        if (!h2_frame_hdr_read(data + off, avail, &fh)) {
            break;
        }
        if (!h2_frame_check(&fh) || (hd->in_block && fh.type != H2_CONTINUATION) ||
            (fh.type == H2_CONTINUATION && (!hd->in_block || fh.sid != hd->blk_sid))) {
            pl->h2c.proto_errors++;
            pb_debug("http", "HTTP/2 frame type %u on stream %u out of place", fh.type, fh.sid);
            return -1;
        }
        if (fh.type == H2_DATA) {
            struct h2_stream *s = stream_find(h, fh.sid);
            struct http_msg *m = s == NULL ? NULL : d == PB_DIR_TO_SERVER ? s->req : s->resp;
            if (m != NULL) {
                m->size += H2_FRAME_HEADER_LEN + (uint64_t)fh.len;
            }
            off += H2_FRAME_HEADER_LEN;
            hd->sid = fh.sid;
            hd->flags = fh.flags;
            hd->flen = fh.len;
            hd->pad = 0;
            if (fh.flags & H2_FLAG_PADDED) {
                if (fh.len == 0) {
                    pl->h2c.proto_errors++;
                    return -1;
                }
                hd->fs = H2_FS_PADLEN;
            } else {
                hd->fs = H2_FS_DATA;
                hd->left = fh.len;
                if (fh.len == 0) {
                    data_done(c, h, d);
                }
            }
            continue;
        }
        bool header_frame =
            fh.type == H2_HEADERS || fh.type == H2_PUSH_PROMISE || fh.type == H2_CONTINUATION;
        size_t whole = header_frame ? pl->h2.max_header_list : H2_WHOLE_FRAME_MAX;
        if (fh.len > whole) {
            if (header_frame) {
                pl->h2c.block_cap++;
                pb_debug("http", "HTTP/2 header block beyond max_header_list_size");
                return -1;
            }
            off += H2_FRAME_HEADER_LEN;
            hd->fs = H2_FS_SKIP;
            hd->left = fh.len;
            continue;
        }
        if (avail < H2_FRAME_HEADER_LEN + (size_t)fh.len) {
            break; /* wait for the whole frame */
        }
        if (on_frame(c, h, d, &fh, data + off + H2_FRAME_HEADER_LEN) < 0) {
            return -1;
        }
        off += H2_FRAME_HEADER_LEN + fh.len;
    }
    *consumed = off;
    return 0;
}

/* ---- public ----------------------------------------------------------- */

static int copy_bytes(struct pb_bytes *dst, const struct pb_bytes *src)
{
    return pb_bytes_append(dst, src->p, src->len, SIZE_MAX);
}

struct http_msg *http2_clone_request(const struct http_plugin *pl, const struct http_msg *o)
{
    struct http_msg *m = http_msg_new(o->ts_ns, o->dir);
    if (m == NULL) {
        return NULL;
    }
    m->is_request = true;
    m->ver_major = o->ver_major;
    m->ver_minor = o->ver_minor;
    /* captured headers again through the same filter (sets host, user
     * agent, content type... as the original parse did) */
    for (size_t i = 0; i < o->nhdrs; i++) {
        const struct http_hdr *hd = &o->hdrs[i];
        header_field(m, &pl->pcfg, (const uint8_t *)hd->name, hd->nlen, hd->val.p, hd->val.len);
    }
    int rc = copy_bytes(&m->method, &o->method) | copy_bytes(&m->uri, &o->uri);
    const struct pb_bytes *src[] = {&o->host,    &o->referer, &o->user_agent, &o->content_type,
                                    &o->real_ip, &o->raw,     &o->body,       &o->connection};
    struct pb_bytes *dst[] = {&m->host,    &m->referer, &m->user_agent, &m->content_type,
                              &m->real_ip, &m->raw,     &m->body,       &m->connection};
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        pb_bytes_reset(dst[i]);
        rc |= copy_bytes(dst[i], src[i]);
    }
    for (size_t i = 0; i < o->nencodings; i++) {
        char *e = pb_strdup(o->encodings[i]);
        if (e == NULL) {
            rc = -1;
            break;
        }
        m->encodings[m->nencodings++] = e;
    }
    if (rc != 0) {
        http_msg_free(m);
        return NULL;
    }
    m->has_content_length = o->has_content_length;
    m->content_length = o->content_length;
    m->send_body = o->send_body;
    m->save_body = o->save_body;
    m->size = o->size;
    m->header_offset = o->header_offset;
    return m;
}

struct http2_conn *http2_conn_new(struct pb_conn *c, struct http_msg *upgrade_req)
{
    struct http_plugin *pl = plugin(c);
    struct http2_conn *h = pb_calloc(1, sizeof *h);
    if (h == NULL) {
        http_msg_free(upgrade_req);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        hpack_dec_init(&h->d[i].hp, pl->h2.max_table);
    }
    h->d[PB_DIR_TO_SERVER].need_preface = true;
    pl->h2c.conns++;
    if (upgrade_req != NULL) {
        pl->h2c.upgrades++;
        struct h2_stream *s = stream_open(c, h, 1);
        if (s == NULL) {
            http_msg_free(upgrade_req);
        } else {
            s->req = upgrade_req;
            s->req_hdrs = true;
            s->req_done = true;
        }
    }
    return h;
}

void http2_conn_free(struct http2_conn *h)
{
    if (h == NULL) {
        return;
    }
    for (size_t i = 0; i < h->nst; i++) {
        stream_clear(&h->st[i]);
    }
    pb_free(h->st);
    dir_free(&h->d[0]);
    dir_free(&h->d[1]);
    pb_free(h);
}

enum pb_parse http2_on_data(struct pb_conn *c, struct http2_conn *h, enum pb_dir d,
                            const uint8_t *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (h->dead) {
        *consumed = len;
        return PB_PARSE_OK;
    }
    if (parse(c, h, d, data, len, consumed) < 0) {
        c->proto->stats.parse_errors++;
        go_dead(h);
        *consumed = len;
        return PB_PARSE_DROP;
    }
    return *consumed > 0 ? PB_PARSE_OK : PB_PARSE_MORE;
}

bool http2_on_gap(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, size_t lost)
{
    struct http_plugin *pl = plugin(c);
    struct h2_dir *hd = &h->d[d];
    c->proto->stats.gaps++;
    if (h->dead) {
        return true;
    }
    /* inside a payload we take as it comes, nothing is buffered: the gap
     * can be crossed when it ends before the frame does */
    if (hd->fs == H2_FS_DATA && lost <= (size_t)hd->left + hd->pad) {
        struct h2_stream *s = stream_find(h, hd->sid);
        size_t in_data = lost < hd->left ? lost : hd->left;
        if (s != NULL) {
            s->body[d] += in_data;
            grpc_framer_lose(&s->gf[d]);
            struct http_msg *m = d == PB_DIR_TO_SERVER ? s->req : s->resp;
            if (m != NULL) {
                m->save_body = false; /* a body with a hole is not kept */
                m->send_body = false;
                pb_bytes_free(&m->body);
            }
        }
        hd->left -= (uint32_t)in_data;
        size_t rest = lost - in_data;
        if (hd->left == 0) {
            data_done(c, h, d); /* may publish; goes to SKIP for padding */
            if (hd->fs == H2_FS_SKIP) {
                hd->left -= (uint32_t)rest;
                if (hd->left == 0) {
                    hd->fs = H2_FS_HEAD;
                }
            }
        }
        pl->h2c.gaps_survived++;
        return false;
    }
    if (hd->fs == H2_FS_SKIP && lost <= hd->left) {
        hd->left -= (uint32_t)lost;
        if (hd->left == 0) {
            hd->fs = H2_FS_HEAD;
        }
        pl->h2c.gaps_survived++;
        return false;
    }
    pl->h2c.gap_drops++;
    pb_debug("http", "HTTP/2 gap of %zu bytes loses frame sync: connection state dropped", lost);
    go_dead(h);
    return true;
}

void http2_on_expire(struct pb_conn *c, struct http2_conn *h)
{
    while (h->nst > 0) {
        publish(c, h, &h->st[0], NULL);
    }
}

size_t http2_open_streams(const struct http2_conn *h)
{
    return h->nst;
}

bool http2_is_dead(const struct http2_conn *h)
{
    return h->dead;
}

int http2_server_start(const uint8_t *p, size_t n)
{
    struct h2_frame_hdr fh;
    if (n == 0) {
        return 0;
    }
    if (!h2_frame_hdr_read(p, n, &fh)) {
        /* SETTINGS payloads are small: the length starts with a zero byte */
        return p[0] == 0 ? 0 : -1;
    }
    return fh.type == H2_SETTINGS && fh.sid == 0 && fh.len % 6 == 0 &&
                   fh.len <= H2_DEFAULT_MAX_FRAME && (fh.flags & ~H2_FLAG_ACK) == 0
               ? 1
               : -1;
}

bool http2_is_h2c_switch(const struct http_msg *m)
{
    if (m->is_request || m->status_code != 101) {
        return false;
    }
    /* the Upgrade header line in the raw block (headers need not be
     * captured): "upgrade:" then optional spaces then "h2c" */
    const uint8_t *p = m->raw.p;
    size_t n = m->raw.len;
    for (size_t i = 0; i + 8 <= n; i++) {
        if ((i == 0 || p[i - 1] == '\n') && pb_mem_ieq(p + i, 8, "upgrade:")) {
            size_t j = i + 8;
            while (j < n && (p[j] == ' ' || p[j] == '\t')) {
                j++;
            }
            if (j + 3 <= n && pb_mem_ieq(p + j, 3, "h2c") &&
                (j + 3 == n || p[j + 3] == '\r' || p[j + 3] == ' ' || p[j + 3] == ',')) {
                return true;
            }
        }
    }
    return false;
}
