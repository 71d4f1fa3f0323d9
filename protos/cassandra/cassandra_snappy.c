/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_snappy.c - snappy block decoder.
 *
 *   block    = uvarint(decoded length) element*
 *   element  = tag byte, low 2 bits:
 *     00 literal: len-1 in the upper 6 bits (< 60), or in the next
 *        1..4 little endian bytes (60..63); then the literal bytes
 *     01 copy, 1-byte offset: len-4 in bits 2..4, offset bits 8..10 in
 *        bits 5..7, offset low byte next
 *     10 copy, 2-byte offset: len-1 in the upper 6 bits, LE16 offset
 *     11 copy, 4-byte offset: len-1 in the upper 6 bits, LE32 offset
 * A copy's offset must be in 1..written; the output must end exactly at
 * the announced length.
 */
#include "cassandra_snappy.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"

/* Go's binary.Uvarint: value and bytes used; 0 bytes on truncation,
 * negative on overflow. */
static int uvarint(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    unsigned s = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        uint8_t b = p[i];
        if (b < 0x80) {
            if (i == 9 && b > 1) {
                return -1;
            }
            *v = x | ((uint64_t)b << s);
            return (int)i + 1;
        }
        x |= (uint64_t)(b & 0x7F) << s;
        s += 7;
    }
    return n >= 10 ? -1 : 0;
}

int cass_snappy_decode(const uint8_t *src, size_t n, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    uint64_t dlen = 0;
    int hl = uvarint(src, n, &dlen);
    if (hl <= 0 || dlen > 0xFFFFFFFFu) {
        return -PB_EPROTO;
    }
    /* Every element yields at most 64 bytes per 2 input bytes (copy with a
     * 2-byte offset: 3 bytes -> 64); a longer claim can never be met. */
    if (dlen > (uint64_t)(n - (size_t)hl) * 32u + 64u) {
        return -PB_EPROTO;
    }
    if (dlen > CASS_SNAPPY_MAX_DECODED) {
        return -PB_ELIMIT;
    }
    uint8_t *dst = pb_malloc(dlen > 0 ? (size_t)dlen : 1);
    if (dst == NULL) {
        return -PB_ENOMEM;
    }
    size_t d = 0, s = (size_t)hl, len = (size_t)dlen;
    while (s < n) {
        uint8_t tag = src[s];
        size_t length, offset;
        switch (tag & 0x03) {
        case 0: {
            uint32_t x = tag >> 2;
            if (x < 60) {
                s++;
            } else {
                size_t extra = x - 59; /* 1..4 bytes of length */
                if (n - s < extra + 1) {
                    goto corrupt;
                }
                uint32_t v = 0;
                for (size_t i = 0; i < extra; i++) {
                    v |= (uint32_t)src[s + 1 + i] << (8 * i);
                }
                x = v;
                s += extra + 1;
            }
            length = (size_t)x + 1;
            if (length == 0 || length > len - d || length > n - s) {
                goto corrupt;
            }
            memcpy(dst + d, src + s, length);
            d += length;
            s += length;
            continue;
        }
        case 1:
            if (n - s < 2) {
                goto corrupt;
            }
            length = 4 + ((tag >> 2) & 0x7);
            offset = ((size_t)(tag & 0xE0) << 3) | src[s + 1];
            s += 2;
            break;
        case 2:
            if (n - s < 3) {
                goto corrupt;
            }
            length = 1 + (tag >> 2);
            offset = (size_t)src[s + 1] | ((size_t)src[s + 2] << 8);
            s += 3;
            break;
        default:
            if (n - s < 5) {
                goto corrupt;
            }
            length = 1 + (tag >> 2);
            offset = (size_t)src[s + 1] | ((size_t)src[s + 2] << 8) | ((size_t)src[s + 3] << 16) |
                     ((size_t)src[s + 4] << 24);
            s += 5;
            break;
        }
        if (offset == 0 || d < offset || length > len - d) {
            goto corrupt;
        }
        /* Byte by byte: the source may overlap what is being written. */
        for (size_t i = 0; i < length; i++) {
            dst[d + i] = dst[d - offset + i];
        }
        d += length;
    }
    if (d != len) {
        goto corrupt;
    }
    *out = dst;
    *outlen = len;
    return 0;
corrupt:
    pb_free(dst);
    return -PB_EPROTO;
}
