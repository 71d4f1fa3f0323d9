/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http_event.h - the HTTP plugin configuration and the
 * transaction event (Packetbeat 8.x http.go newTransaction + event.go):
 * ECS http.*, url.*, user_agent, related.*, body decoding, redaction.
 */
#ifndef PB_HTTP_EVENT_H
#define PB_HTTP_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_parse.h"
#include "protos/proto.h"

/* HTTP/2 options (the `http2.*` keys of the http section; an extension,
 * not in Packetbeat). */
struct http2_opts {
    bool enabled;           /* http2.enabled, default true */
    size_t max_streams;     /* http2.max_streams: open streams per connection */
    size_t max_header_list; /* http2.max_header_list_size: decoded bytes per block */
    size_t max_table;       /* http2.max_dynamic_table_size: largest HPACK table accepted */
};

/* HTTP/2 counters (debug log at shutdown, tests). */
struct http2_counters {
    uint64_t conns;           /* connections taken over by the HTTP/2 parser */
    uint64_t upgrades;        /* ... of them after 101 Switching Protocols */
    uint64_t streams;         /* transactions published */
    uint64_t stream_cap;      /* streams ignored: max_streams reached */
    uint64_t header_list_cap; /* header blocks cut at max_header_list_size */
    uint64_t table_cap;       /* table size updates beyond max_dynamic_table_size */
    uint64_t block_cap;       /* encoded header blocks too large to decode */
    uint64_t proto_errors;    /* framing or HPACK errors: connection state dropped */
    uint64_t gaps_survived;   /* gaps inside DATA payloads */
    uint64_t gap_drops;       /* gaps that lost frame or HPACK sync */
    uint64_t resets;          /* RST_STREAM frames */
};

/* The plugin's options (packetbeat.protocols http section). Owned by
 * http.c (init/fini); pcfg points into the owned lists. */
struct http_plugin {
    struct http_parser_cfg pcfg;
    char *real_ip_header; /* lower-cased */
    char **send_headers;  /* lower-cased */
    char **req_body_for, **resp_body_for;
    char **hide_keywords; /* as configured (compared to lower-cased keys) */
    size_t nhide_keywords;
    char **redact_headers; /* lower-cased */
    size_t nredact_headers;
    bool send_request, send_response;
    bool split_cookie;
    bool redact_authorization;
    bool decode_body;
    size_t max_message_size;
    struct http2_opts h2;
    struct http2_counters h2c; /* mutable through pb_proto.priv */
};

/* What Packetbeat's handleHTTP does to a finished message before queueing
 * it: the Basic-auth user name (unless redact_authorization), then
 * redact_headers ("REDACTED") and redact_authorization (the raw header
 * value becomes '*'s, the captured value "*"). */
void http_msg_finish(const struct http_plugin *pl, struct http_msg *m);

/* The transaction event for a request/response pair; either may be NULL
 * (unmatched). Decodes bodies in place and adds notes to the messages.
 * NULL on allocation failure. */
pb_event *http_event_build(const struct http_plugin *pl, const struct pb_conn *c,
                           struct http_msg *req, struct http_msg *resp);

/* Go's url.QueryEscape of n bytes appended to out (capped at max). */
int http_query_escape(struct pb_bytes *out, const uint8_t *s, size_t n, size_t max);

/* Packetbeat's extractParameters: path (url.Parse, decoded) and the query
 * re-encoded (url.Values.Encode, sorted) with hide_keywords values
 * replaced by "xxxxx", merged with urlencoded body parameters. Owned
 * strings in *path and *params (NUL-terminated; lengths in *plen, *qlen). */
void http_extract_params(const struct http_plugin *pl, const struct http_msg *m, char **path,
                         size_t *plen, char **params, size_t *qlen);

/* Decodes m->body through m->encodings (gzip, deflate, identity; last
 * applied first); on failure adds Packetbeat's note. */
void http_decode_body(const struct http_plugin *pl, struct http_msg *m);

#endif
