/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http_parse.h - HTTP/1.x message parser with Packetbeat 8.x
 * semantics (packetbeat/protos/http/http_parser.go): first line, header
 * lines, Content-Length / chunked / close-delimited bodies, gaps.
 *
 * Pure: no I/O, no globals, no events. The caller (http.c) keeps one
 * struct http_stream per direction and hands it every unconsumed byte of
 * that direction; the parser consumes header bytes only once the whole
 * header block is there (it copies the block into the message) and body
 * bytes as they arrive.
 */
#ifndef PB_HTTP_PARSE_H
#define PB_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"
#include "protos/proto.h"

/* Distinct captured header names per message; more are ignored (counted
 * in http_msg.hdrs_dropped). Real messages carry a few dozen. */
#define HTTP_MAX_HEADERS 1024
/* Notes (error.message entries) a message can carry; more are ignored. */
#define HTTP_MAX_NOTES 8
/* Content/Transfer-Encoding tokens kept per message; more are ignored. */
#define HTTP_MAX_ENCODINGS 16

/* What the parser needs from the configuration. Strings are owned by the
 * plugin (http.c) and lower-cased where noted. */
struct http_parser_cfg {
    const char *real_ip_header; /* lower-cased; NULL or "": none */
    bool send_headers;          /* capture headers into http_msg.hdrs */
    bool send_all_headers;      /* all of them, else only `whitelist` */
    char **whitelist;           /* lower-cased send_headers */
    size_t nwhitelist;
    char **req_body_for; /* include_body_for + include_request_body_for */
    size_t nreq_body_for;
    char **resp_body_for; /* include_body_for + include_response_body_for */
    size_t nresp_body_for;
    /* The header block (http_msg.raw) is not kept for requests / for
     * responses: nothing sends it. A 101 response keeps it (h2c). */
    bool no_raw_requests;
    bool no_raw_responses;
};

/* A captured header: lower-cased name, value with duplicates joined by
 * ", " as Packetbeat does. */
struct http_hdr {
    char *name; /* owned, NUL-terminated (may hold NULs: use nlen) */
    size_t nlen;
    struct pb_bytes val;
};

/* One HTTP message (request or response). Everything is owned. */
struct http_msg {
    uint64_t ts_ns;  /* time of the packet its first byte came in */
    enum pb_dir dir; /* direction it travelled */
    bool is_request;
    bool has_content_length;
    bool is_chunked;
    bool send_body; /* content type listed in include_*body_for */
    bool save_body; /* send_body, or a urlencoded body (for url.query) */
    bool loss_noted;
    uint8_t ver_major, ver_minor;
    uint16_t status_code;
    int64_t content_length; /* header value; chunk sizes and gaps are added */
    int64_t chunk_len;
    uint64_t size;        /* bytes of the message seen on the wire */
    size_t header_offset; /* > 0 once the first line is parsed */
    size_t header_len;    /* the header block's bytes, blank line included */

    struct pb_bytes method, uri, phrase;
    struct pb_bytes connection, content_type, host, referer, user_agent, real_ip;
    struct pb_bytes raw;  /* the header block, first line to blank line
                           * (empty when the parser config says no_raw_*) */
    struct pb_bytes body; /* saved body bytes (save_body) */

    char *encodings[HTTP_MAX_ENCODINGS]; /* owned; applied first to last */
    size_t nencodings;

    struct http_hdr *hdrs; /* owned array of captured headers */
    size_t nhdrs, hdrs_cap;
    size_t hdrs_dropped;
    uint32_t *hidx; /* owned open-addressing index over hdrs (idx + 1) */
    size_t hidx_cap;

    char *notes[HTTP_MAX_NOTES]; /* owned */
    size_t nnotes;
    char *username; /* owned; from Basic authorization, NULL none */
};

enum http_state {
    HTTP_ST_START,       /* first line */
    HTTP_ST_HEADERS,     /* header lines */
    HTTP_ST_BODY,        /* Content-Length or close-delimited body */
    HTTP_ST_CHUNK_START, /* chunk-size line */
    HTTP_ST_CHUNK,       /* chunk data + CRLF */
    HTTP_ST_CHUNK_FINAL, /* after the last chunk: trailers and final CRLF */
};

/* Parse state of one direction. Zeroed is inactive. */
struct http_stream {
    bool active; /* Packetbeat's stream exists (false after a drop) */
    enum http_state state;
    size_t parse_off;  /* header states: next line, from the message start */
    size_t colon_hint; /* no ':' awaited by the current header line before this */
    size_t crlf_hint;  /* no awaited CRLF starts before this offset */
    int64_t body_received;
    struct http_msg *msg; /* owned: message being parsed, NULL between messages */
    /* Set by the caller before each http_parse of a response: the request
     * it answers (the oldest unanswered one) was a HEAD, so the response
     * has no body whatever its Content-Length or Transfer-Encoding say
     * (RFC 9110 9.3.2). Packetbeat does not know it and takes the next
     * bytes for that body. */
    bool answers_head;
    /* Bookkeeping for the caller (http.c). */
    size_t held;    /* bytes left unconsumed by the last on_data */
    bool skip_held; /* discard `held` old bytes at the next on_data */
};

enum http_res {
    HTTP_RES_MORE,  /* need more bytes (after *consumed) */
    HTTP_RES_DONE,  /* st->msg is complete (after *consumed) */
    HTTP_RES_ERROR, /* not HTTP: drop this direction */
    HTTP_RES_FATAL, /* Packetbeat would crash-recover here: drop the connection state */
};

enum http_gap_res {
    HTTP_GAP_DROP, /* cannot recover: drop the connection state */
    HTTP_GAP_OK,   /* body bytes lost, message goes on */
    HTTP_GAP_DONE, /* the gap ended the message: st->msg is complete */
};

/* A new empty message, NULL on ENOMEM. */
struct http_msg *http_msg_new(uint64_t ts_ns, enum pb_dir dir);
/* Frees m and everything it owns (NULL ok). Also usable as pb_txq_free_fn. */
void http_msg_free(void *m);
/* Appends a copy of note (at most HTTP_MAX_NOTES kept). */
void http_msg_add_note(struct http_msg *m, const char *note);
/* A captured header by lower-cased name, NULL when absent. */
struct http_hdr *http_msg_header(const struct http_msg *m, const char *name);

/* One header field as if read from a header line (HTTP/2 uses it for
 * decoded fields): the fields the event needs, and the send_headers
 * capture. The name is lower-cased, the value trimmed. */
void http_msg_header_field(struct http_msg *m, const struct http_parser_cfg *cfg,
                           const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen);
/* Decides send_body / save_body from the content type and the
 * include_*body_for options, as after a header block. */
void http_msg_body_policy(struct http_msg *m, const struct http_parser_cfg *cfg);

/* Forgets the message being parsed and starts over at a first line
 * (Packetbeat's PrepareForNewMessage); frees st->msg when free_msg. */
void http_stream_prepare(struct http_stream *st, bool free_msg);
/* Back to zero (inactive), freeing the message. */
void http_stream_reset(struct http_stream *st);

/* Parses data (every unconsumed byte of the direction, starting at the
 * current message) into st->msg, which must exist. *consumed is set to the
 * bytes that may be dropped. `max_body` caps the saved body. */
enum http_res http_parse(struct http_stream *st, const struct http_parser_cfg *cfg,
                         const uint8_t *data, size_t len, size_t max_body, size_t *consumed);
/* Accounts `size` body bytes that were seen but not kept (Packetbeat's
 * eatBody for a packet past max_message_size). ERROR unless in a body. */
enum http_res http_parse_eat(struct http_stream *st, size_t size);
/* `lost` bytes are missing; `held` bytes are buffered unconsumed. */
enum http_gap_res http_parse_gap(struct http_stream *st, size_t lost, size_t held);

/* Go's strconv-free integer parse used by Packetbeat (streambuf.IntASCII):
 * optional sign, leading digits; false when there are no digits. */
bool http_parse_int(const uint8_t *p, size_t n, int64_t *out);

#endif
