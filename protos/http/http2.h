/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http2.h - HTTP/2 connections (prior knowledge and h2c
 * upgrade) on the http protocol's ports: frames per direction, HPACK per
 * direction, streams as transactions with the HTTP/1.x event fields plus
 * http.version "2", and gRPC calls. An extension: Packetbeat 8.x has no
 * HTTP/2.
 *
 * http.c owns the connection state and hands a connection over (see
 * http2_conn_new); from then on every callback of that connection goes
 * here. Memory is bounded by http2_opts: streams per connection, decoded
 * header list size, HPACK table size, and the bodies by max_message_size.
 */
#ifndef PB_HTTP2_H
#define PB_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_event.h"
#include "http_parse.h"
#include "protos/proto.h"

/* Defaults of the http2.* options. */
#define HTTP2_DEFAULT_MAX_STREAMS 100u
#define HTTP2_DEFAULT_MAX_HEADER_LIST (64u * 1024u)
#define HTTP2_DEFAULT_MAX_TABLE (64u * 1024u)
/* Hard ceilings on the options (a config asking for more gets these). */
#define HTTP2_CEIL_MAX_STREAMS 10000u
#define HTTP2_CEIL_MAX_HEADER_LIST (1024u * 1024u)
#define HTTP2_CEIL_MAX_TABLE (1024u * 1024u)

struct http2_conn;

/* A new HTTP/2 connection state (NULL on ENOMEM). The client direction
 * starts with the connection preface. `upgrade_req`, when not NULL, is the
 * HTTP/1.1 request that asked for h2c: its response arrives on stream 1
 * (RFC 7540 3.2); the state takes it. */
struct http2_conn *http2_conn_new(struct pb_conn *c, struct http_msg *upgrade_req);
/* A copy of an HTTP/1.1 request (for the h2c upgrade; the original is
 * published with the 101 response). NULL on ENOMEM. */
struct http_msg *http2_clone_request(const struct http_plugin *pl, const struct http_msg *o);
/* Frees h and everything it owns (pending streams are not published). */
void http2_conn_free(struct http2_conn *h);

/* The pb_proto_ops callbacks, for a connection handed over to HTTP/2. */
enum pb_parse http2_on_data(struct pb_conn *c, struct http2_conn *h, enum pb_dir d,
                            const uint8_t *data, size_t len, size_t *consumed);
bool http2_on_gap(struct pb_conn *c, struct http2_conn *h, enum pb_dir d, size_t lost);
/* Publishes every stream still open (requests without a response are
 * "Unmatched request", as HTTP/1.x). */
void http2_on_expire(struct pb_conn *c, struct http2_conn *h);

/* Open streams (tests). */
size_t http2_open_streams(const struct http2_conn *h);
/* True once the state was dropped (garbage or a gap it cannot cross). */
bool http2_is_dead(const struct http2_conn *h);

/* Does a server's first bytes look like the start of HTTP/2 (a SETTINGS
 * frame on stream 0)? 1 yes, 0 not sure yet (fewer than 9 bytes that may
 * still be one), -1 no. */
int http2_server_start(const uint8_t *p, size_t n);

/* Is m a "101 Switching Protocols" response with "Upgrade: h2c"? */
bool http2_is_h2c_switch(const struct http_msg *m);

#endif
