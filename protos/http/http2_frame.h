/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http2_frame.h - HTTP/2 framing (RFC 9113 4 and 6): the
 * connection preface, the 9-byte frame header, the fixed-size frames and
 * the padding/priority prefix of HEADERS and PUSH_PROMISE.
 *
 * Pure: no I/O, no state. All reads go through beat/rd.h.
 */
#ifndef PB_HTTP2_FRAME_H
#define PB_HTTP2_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/rd.h"

/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define H2_PREFACE_LEN 24u
#define H2_FRAME_HEADER_LEN 9u
/* SETTINGS_MAX_FRAME_SIZE default; larger frames need the peer's consent. */
#define H2_DEFAULT_MAX_FRAME 16384u

enum h2_type {
    H2_DATA = 0x0,
    H2_HEADERS = 0x1,
    H2_PRIORITY = 0x2,
    H2_RST_STREAM = 0x3,
    H2_SETTINGS = 0x4,
    H2_PUSH_PROMISE = 0x5,
    H2_PING = 0x6,
    H2_GOAWAY = 0x7,
    H2_WINDOW_UPDATE = 0x8,
    H2_CONTINUATION = 0x9,
};

#define H2_FLAG_END_STREAM 0x01u
#define H2_FLAG_ACK 0x01u
#define H2_FLAG_END_HEADERS 0x04u
#define H2_FLAG_PADDED 0x08u
#define H2_FLAG_PRIORITY 0x20u

/* SETTINGS identifiers we look at. */
#define H2_SETTINGS_HEADER_TABLE_SIZE 0x1u

/*  +-----------------------------------------------+
 *  |                 Length (24)                   |
 *  +---------------+---------------+---------------+
 *  |   Type (8)    |   Flags (8)   |
 *  +-+-------------+---------------+-------------------------------+
 *  |R|                 Stream Identifier (31)                      |
 *  +=+=============================================================+
 *  |                   Frame Payload (0...)                      ...
 */
struct h2_frame_hdr {
    uint32_t len;
    uint8_t type, flags;
    uint32_t sid; /* reserved bit cleared */
};

extern const uint8_t h2_preface[H2_PREFACE_LEN];

/* How p[0..n) compares with the connection preface: 1 the whole preface
 * is there, 0 a proper prefix of it (need more bytes), -1 not the preface. */
int h2_preface_cmp(const uint8_t *p, size_t n);

/* Reads a frame header; false when fewer than 9 bytes. */
bool h2_frame_hdr_read(const uint8_t *p, size_t n, struct h2_frame_hdr *h);

/* Checks what RFC 9113 fixes for a frame whatever its content: the stream
 * id (zero or not) and the length of PRIORITY, RST_STREAM, SETTINGS, PING,
 * GOAWAY, WINDOW_UPDATE. false: a connection error (garbage to us).
 * Unknown types pass (they must be ignored). */
bool h2_frame_check(const struct h2_frame_hdr *h);

/* The header block fragment of a complete HEADERS or PUSH_PROMISE payload
 * (padding and priority removed); *promised gets the promised stream of a
 * PUSH_PROMISE. false when padding or the prefix do not fit. */
bool h2_headers_fragment(const struct h2_frame_hdr *h, const uint8_t *payload,
                         struct pb_slice *frag, uint32_t *promised);

/* Name of an error code (RST_STREAM, GOAWAY), e.g. "CANCEL"; unknown codes
 * give "UNKNOWN". */
const char *h2_error_name(uint32_t code);

#endif
