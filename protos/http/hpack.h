/* SPDX-License-Identifier: Apache-2.0
 * protos/http/hpack.h - HPACK header block decoder (RFC 7541): integers,
 * string literals (raw and Huffman), the static table and a dynamic table
 * whose size is capped by configuration.
 *
 * Pure: no I/O, no globals beyond the constant tables. One decoder per
 * direction of an HTTP/2 connection; a block must be decoded whole (the
 * HTTP/2 layer joins HEADERS/PUSH_PROMISE and CONTINUATION fragments).
 */
#ifndef PB_HPACK_H
#define PB_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"

/* The dynamic table size both sides start with (SETTINGS_HEADER_TABLE_SIZE
 * default, RFC 7540 6.5.2). */
#define HPACK_DEFAULT_TABLE_SIZE 4096u
/* Entries in the static table (RFC 7541 Appendix A). */
#define HPACK_STATIC_ENTRIES 61u
/* Integers above this are treated as corrupt (no HPACK field is that big). */
#define HPACK_MAX_INT (1u << 28)

enum hpack_res {
    HPACK_OK = 0,
    HPACK_EPROTO = -1, /* corrupt block (a COMPRESSION_ERROR in RFC 7540) */
    HPACK_ELIMIT = -2, /* a dynamic table size update beyond our cap */
    HPACK_ENOMEM = -3,
};

/* One dynamic table entry: name then value in one owned buffer. */
struct hpack_ent {
    uint8_t *buf; /* owned: nlen + vlen bytes */
    uint32_t nlen, vlen;
};

struct hpack_dec {
    struct hpack_ent *ring; /* owned; newest at ring[head], older follow (mod cap) */
    size_t ring_cap, head, count;
    size_t size;               /* sum of entry sizes (name + value + 32) */
    size_t max_size;           /* from the last size update; starts at 4096 */
    size_t cap;                /* largest max_size we accept (config) */
    struct pb_bytes name, val; /* owned scratch for Huffman-decoded strings */
    uint64_t evictions;        /* counters (tests, debug) */
};

/* Called for each decoded field, in order. Name and value are borrowed for
 * the call; names are as sent (HTTP/2 requires lower case). A non-zero
 * return stops decoding and is returned by hpack_decode (the table may then
 * be out of step: the caller drops it). */
typedef int (*hpack_field_fn)(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *val,
                              size_t vlen, bool never_indexed);

/* Initialises d (zeroed storage) with a dynamic table cap of `cap` bytes
 * (at least the 4096 default is always allowed). */
void hpack_dec_init(struct hpack_dec *d, size_t cap);
/* Frees what d owns; d can be initialised again. NULL-safe. */
void hpack_dec_free(struct hpack_dec *d);

/* Decodes one complete header block. Returns HPACK_OK, a negative
 * enum hpack_res, or the first non-zero value returned by fn. */
int hpack_decode(struct hpack_dec *d, const uint8_t *blk, size_t len, hpack_field_fn fn, void *ctx);

/* Decodes a Huffman-coded string (RFC 7541 5.2, Appendix B), appending to
 * out (capped at max bytes). 0, or HPACK_EPROTO (bad code, EOS, padding
 * longer than 7 bits or not all ones), HPACK_ELIMIT, HPACK_ENOMEM. */
int hpack_huffman_decode(const uint8_t *p, size_t n, struct pb_bytes *out, size_t max);

/* Code length in bits of each symbol, EOS (256) last (RFC 7541 Appendix
 * B). The code is canonical, so the lengths define it. */
extern const uint8_t hpack_huff_len[257];

/* Reads an integer with an n-bit prefix (RFC 7541 5.1) from p[0..len).
 * Returns the bytes used, 0 when the integer is incomplete or too big. */
size_t hpack_int(const uint8_t *p, size_t len, unsigned nbits, uint32_t *out);

#endif
