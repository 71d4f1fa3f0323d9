/* SPDX-License-Identifier: Apache-2.0
 * protos/http/grpc.h - gRPC over HTTP/2 (the gRPC "PROTOCOL-HTTP2" spec):
 * recognising a call, service and method from :path, the length-prefixed
 * message framing inside DATA, grpc-status / grpc-message, and the grpc.*
 * event fields.
 */
#ifndef PB_GRPC_H
#define PB_GRPC_H

#include <jansson.h>

#include "beat/event.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"

/* grpc-message bytes kept (after percent-decoding). */
#define GRPC_MAX_MESSAGE 1024u

/* Counts length-prefixed messages in one direction of a call:
 *   +----------------+--------------------------+-----------------+
 *   | Compressed (8) | Message-Length (32, BE)  | Message ...     |
 *   +----------------+--------------------------+-----------------+ */
struct grpc_framer {
    uint8_t hdr[5];
    uint8_t got;       /* header bytes collected */
    uint32_t left;     /* message bytes still to skip */
    uint64_t messages; /* message headers seen */
    uint64_t compressed;
};

/* Feeds n more DATA bytes of the direction. */
void grpc_framer_feed(struct grpc_framer *f, const uint8_t *p, size_t n);
/* `lost` bytes of the direction are missing: the framing is lost too. */
void grpc_framer_lose(struct grpc_framer *f);

/* True when a request content-type makes the call gRPC
 * ("application/grpc", "application/grpc+proto", ...). */
bool grpc_is_content_type(const uint8_t *ct, size_t n);

/* Splits "/package.Service/Method": false unless the path has exactly
 * that shape (a leading '/', a non-empty service and method). */
bool grpc_split_path(const uint8_t *path, size_t n, size_t *svc_off, size_t *svc_len, size_t *m_off,
                     size_t *m_len);

/* grpc-message is percent-encoded UTF-8: appends the decoded value to out
 * (capped at GRPC_MAX_MESSAGE); a bad escape is kept as is. */
void grpc_message_decode(const uint8_t *p, size_t n, struct pb_bytes *out);

/* What a finished call carries for the event. */
struct grpc_call {
    const uint8_t *path; /* borrowed: the request :path */
    size_t path_len;
    int status;                     /* grpc-status, -1 when absent */
    const struct pb_bytes *message; /* borrowed: decoded grpc-message (may be empty) */
    const struct grpc_framer *req, *resp;
};

/* Adds grpc.service, grpc.method, grpc.status_code, grpc.message,
 * grpc.request.messages, grpc.response.messages to ev. */
void grpc_event_fields(pb_event *ev, const struct grpc_call *call);

#endif
