/* SPDX-License-Identifier: Apache-2.0
 * protos/http/http2_frame.c - HTTP/2 frame layout checks. See
 * http2_frame.h. Spec: RFC 9113 (which obsoletes RFC 7540).
 */
#include "http2_frame.h"

#include <string.h>

const uint8_t h2_preface[H2_PREFACE_LEN] = {'P',  'R',  'I', ' ', '*',  ' ',  'H',  'T',
                                            'T',  'P',  '/', '2', '.',  '0',  '\r', '\n',
                                            '\r', '\n', 'S', 'M', '\r', '\n', '\r', '\n'};

int h2_preface_cmp(const uint8_t *p, size_t n)
{
    size_t k = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
    if (memcmp(p, h2_preface, k) != 0) {
        return -1;
    }
    return k == H2_PREFACE_LEN ? 1 : 0;
}

bool h2_frame_hdr_read(const uint8_t *p, size_t n, struct h2_frame_hdr *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    h->len = pb_rd_be24(&r);
    h->type = pb_rd_u8(&r);
    h->flags = pb_rd_u8(&r);
    h->sid = pb_rd_be32(&r) & 0x7fffffffu;
    return pb_rd_ok(&r);
}

bool h2_frame_check(const struct h2_frame_hdr *h)
{
    switch (h->type) {
    case H2_DATA:
    case H2_HEADERS:
    case H2_PUSH_PROMISE:
    case H2_CONTINUATION:
        return h->sid != 0;
    case H2_PRIORITY:
        return h->sid != 0 && h->len == 5;
    case H2_RST_STREAM:
        return h->sid != 0 && h->len == 4;
    case H2_SETTINGS:
        return h->sid == 0 && h->len % 6 == 0 && ((h->flags & H2_FLAG_ACK) == 0 || h->len == 0);
    case H2_PING:
        return h->sid == 0 && h->len == 8;
    case H2_GOAWAY:
        return h->sid == 0 && h->len >= 8;
    case H2_WINDOW_UPDATE:
        return h->len == 4;
    default:
        return true;
    }
}

/*  HEADERS payload:                     PUSH_PROMISE payload:
 *  [Pad Length (8)]        (PADDED)     [Pad Length (8)]      (PADDED)
 *  [E|Stream Dependency (32)] (PRIORITY) R|Promised Stream ID (31)
 *  [Weight (8)]            (PRIORITY)   Field Block Fragment
 *  Field Block Fragment                 Padding
 *  Padding
 */
bool h2_headers_fragment(const struct h2_frame_hdr *h, const uint8_t *payload,
                         struct pb_slice *frag, uint32_t *promised)
{
    struct pb_rd r = pb_rd_make(payload, h->len);
    size_t pad = 0;
    *promised = 0;
    if (h->flags & H2_FLAG_PADDED) {
        pad = pb_rd_u8(&r);
    }
    if (h->type == H2_HEADERS && (h->flags & H2_FLAG_PRIORITY)) {
        pb_rd_skip(&r, 5);
    }
    if (h->type == H2_PUSH_PROMISE) {
        *promised = pb_rd_be32(&r) & 0x7fffffffu;
    }
    if (!pb_rd_ok(&r) || pad > pb_rd_left(&r)) {
        return false;
    }
    *frag = pb_rd_slice(&r, pb_rd_left(&r) - pad);
    if (frag->ptr == NULL) {
        frag->ptr = payload; /* empty fragment */
    }
    return true;
}

const char *h2_error_name(uint32_t code)
{
    static const char *const names[] = {
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "UNKNOWN";
}
