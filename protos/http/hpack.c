/* SPDX-License-Identifier: Apache-2.0
 * protos/http/hpack.c - HPACK decoder (RFC 7541). See hpack.h.
 *
 * Header block representations (RFC 7541 6):
 *   1xxxxxxx            indexed field (7-bit index)
 *   01xxxxxx            literal with incremental indexing (6-bit name index, 0: literal name)
 *   0000xxxx            literal without indexing (4-bit name index)
 *   0001xxxx            literal never indexed (4-bit name index)
 *   001xxxxx            dynamic table size update (5-bit size), only before the first field
 * A string is H|len (7-bit prefix) then len bytes, Huffman coded when H.
 */
#include "hpack.h"

#include <string.h>

#include "beat/alloc.h"

/* Bytes a table entry counts for beyond its name and value (RFC 7541 4.1). */
#define HPACK_ENTRY_OVERHEAD 32u

struct static_ent {
    const char *name, *value;
};

/* RFC 7541 Appendix A, index 1..61. */
static const struct static_ent static_table[HPACK_STATIC_ENTRIES] = {
    {":authority", ""},
    {":method", "GET"},
    {":method", "POST"},
    {":path", "/"},
    {":path", "/index.html"},
    {":scheme", "http"},
    {":scheme", "https"},
    {":status", "200"},
    {":status", "204"},
    {":status", "206"},
    {":status", "304"},
    {":status", "400"},
    {":status", "404"},
    {":status", "500"},
    {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""},
    {"accept-ranges", ""},
    {"accept", ""},
    {"access-control-allow-origin", ""},
    {"age", ""},
    {"allow", ""},
    {"authorization", ""},
    {"cache-control", ""},
    {"content-disposition", ""},
    {"content-encoding", ""},
    {"content-language", ""},
    {"content-length", ""},
    {"content-location", ""},
    {"content-range", ""},
    {"content-type", ""},
    {"cookie", ""},
    {"date", ""},
    {"etag", ""},
    {"expect", ""},
    {"expires", ""},
    {"from", ""},
    {"host", ""},
    {"if-match", ""},
    {"if-modified-since", ""},
    {"if-none-match", ""},
    {"if-range", ""},
    {"if-unmodified-since", ""},
    {"last-modified", ""},
    {"link", ""},
    {"location", ""},
    {"max-forwards", ""},
    {"proxy-authenticate", ""},
    {"proxy-authorization", ""},
    {"range", ""},
    {"referer", ""},
    {"refresh", ""},
    {"retry-after", ""},
    {"server", ""},
    {"set-cookie", ""},
    {"strict-transport-security", ""},
    {"transfer-encoding", ""},
    {"user-agent", ""},
    {"vary", ""},
    {"via", ""},
    {"www-authenticate", ""},
};

/* Symbols per code length 0..30 (RFC 7541 Appendix B; the code is canonical). */
static const uint16_t huff_count[31] = {0, 0, 0, 0, 0, 10, 26, 32, 6,  0, 5,  3,  2,  6, 2, 3,
                                        0, 0, 0, 3, 8, 13, 26, 29, 12, 4, 15, 19, 29, 0, 4};
/* Symbols ordered by (code length, symbol); 256 is EOS. */
static const uint16_t huff_sym[257] = {
    48,  49,  50,  97,  99,  101, 105, 111, 115, 116, 32,  37,  45,  46,  47,  51,  52,  53,  54,
    55,  56,  57,  61,  65,  95,  98,  100, 102, 103, 104, 108, 109, 110, 112, 114, 117, 58,  66,
    67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,
    86,  87,  89,  106, 107, 113, 118, 119, 120, 121, 122, 38,  42,  44,  59,  88,  90,  33,  34,
    40,  41,  63,  39,  43,  124, 35,  62,  0,   36,  64,  91,  93,  126, 94,  125, 60,  96,  123,
    92,  195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161, 167, 172, 176, 177, 179, 209,
    216, 217, 227, 229, 230, 129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170, 173,
    178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232, 233, 1,   135, 137, 138, 139, 140, 141,
    143, 147, 149, 150, 151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191,
    197, 231, 239, 9,   142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237, 199, 207, 234, 235,
    192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255, 203, 204, 211, 212,
    214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252, 253, 254, 2,   3,   4,   5,
    6,   7,   8,   11,  12,  14,  15,  16,  17,  18,  19,  20,  21,  23,  24,  25,  26,  27,  28,
    29,  30,  31,  127, 220, 249, 10,  13,  22,  256,
};
/* Code length of each symbol (257: EOS); the tests build an encoder on it. */
const uint8_t hpack_huff_len[257] = {
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6,
    5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8,  15, 6,  12, 10, 13, 6,  7,  7,  7,  7,  7,  7,
    7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8,  13, 19, 13, 14, 6,
    15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,  6,  7,  6,  5,  5,  6,  7,  7,
    7,  7,  7,  15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21,
    23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24,
    21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
};

/* ---- primitives ------------------------------------------------------- */

size_t hpack_int(const uint8_t *p, size_t len, unsigned nbits, uint32_t *out)
{
    if (len == 0 || nbits < 1 || nbits > 8) {
        return 0;
    }
    uint32_t max = (1u << nbits) - 1u;
    uint32_t v = p[0] & max;
    if (v < max) {
        *out = v;
        return 1;
    }
    unsigned shift = 0;
    for (size_t i = 1; i < len; i++) {
        uint32_t b = p[i];
        if (shift > 21) {
            return 0; /* would pass HPACK_MAX_INT */
        }
        v += (b & 0x7fu) << shift;
        shift += 7;
        if (v > HPACK_MAX_INT) {
            return 0;
        }
        if ((b & 0x80u) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0; /* incomplete */
}

int hpack_huffman_decode(const uint8_t *p, size_t n, struct pb_bytes *out, size_t max)
{
    uint32_t code = 0, first = 0;
    unsigned len = 0, index = 0;
    bool ones = true; /* every bit of the pending code so far was 1 */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 7; bit >= 0; bit--) {
            uint32_t b = (p[i] >> bit) & 1u;
            code |= b;
            ones = ones && b == 1;
            len++;
            if (len > 30) {
                return HPACK_EPROTO;
            }
            uint32_t count = huff_count[len];
            if (code - first < count) {
                uint16_t sym = huff_sym[index + (code - first)];
                if (sym == 256) {
                    return HPACK_EPROTO; /* EOS inside a string */
                }
                uint8_t c = (uint8_t)sym;
                int rc = pb_bytes_append(out, &c, 1, max);
                if (rc < 0) {
                    return out->len >= max ? HPACK_ELIMIT : HPACK_ENOMEM;
                }
                code = first = 0;
                len = index = 0;
                ones = true;
                continue;
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
    }
    /* padding: a prefix of EOS (all ones), shorter than a byte */
    if (len > 7 || !ones) {
        return HPACK_EPROTO;
    }
    return 0;
}

/* ---- the dynamic table ------------------------------------------------ */

void hpack_dec_init(struct hpack_dec *d, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->max_size = HPACK_DEFAULT_TABLE_SIZE;
    d->cap = cap < HPACK_DEFAULT_TABLE_SIZE ? HPACK_DEFAULT_TABLE_SIZE : cap;
}

static void evict_oldest(struct hpack_dec *d)
{
    size_t i = (d->head + d->count - 1) % d->ring_cap;
    struct hpack_ent *e = &d->ring[i];
    d->size -= (size_t)e->nlen + e->vlen + HPACK_ENTRY_OVERHEAD;
    pb_free(e->buf);
    e->buf = NULL;
    d->count--;
    d->evictions++;
}

void hpack_dec_free(struct hpack_dec *d)
{
    if (d == NULL) {
        return;
    }
    while (d->count > 0) {
        evict_oldest(d);
    }
    pb_free(d->ring);
    pb_bytes_free(&d->name);
    pb_bytes_free(&d->val);
    d->ring = NULL;
    d->ring_cap = d->head = d->count = d->size = 0;
}

static void shrink_to(struct hpack_dec *d, size_t max)
{
    while (d->count > 0 && d->size > max) {
        evict_oldest(d);
    }
}

/* Adds name: value as the newest entry (RFC 7541 4.4). */
static int table_add(struct hpack_dec *d, const uint8_t *name, size_t nlen, const uint8_t *val,
                     size_t vlen)
{
    size_t esize = nlen + vlen + HPACK_ENTRY_OVERHEAD;
    if (esize > d->max_size) {
        shrink_to(d, 0); /* an entry larger than the table empties it */
        return HPACK_OK;
    }
    shrink_to(d, d->max_size - esize);
    uint8_t *buf = pb_malloc(nlen + vlen + 1);
    if (buf == NULL) {
        return HPACK_ENOMEM;
    }
    if (nlen > 0) {
        memcpy(buf, name, nlen);
    }
    if (vlen > 0) {
        memcpy(buf + nlen, val, vlen);
    }
    if (d->count == d->ring_cap) {
        /* entries are at least 32 bytes, so the ring stays below cap / 32 */
        size_t ncap = d->ring_cap == 0 ? 16 : d->ring_cap * 2;
        struct hpack_ent *r = pb_calloc(ncap, sizeof *r);
        if (r == NULL) {
            pb_free(buf);
            return HPACK_ENOMEM;
        }
        for (size_t i = 0; i < d->count; i++) {
            r[i] = d->ring[(d->head + i) % d->ring_cap];
        }
        pb_free(d->ring);
        d->ring = r;
        d->ring_cap = ncap;
        d->head = 0;
    }
    d->head = (d->head + d->ring_cap - 1) % d->ring_cap;
    d->ring[d->head].buf = buf;
    d->ring[d->head].nlen = (uint32_t)nlen;
    d->ring[d->head].vlen = (uint32_t)vlen;
    d->count++;
    d->size += esize;
    return HPACK_OK;
}

/* Entry `idx` (1-based, static then dynamic). false when out of range. */
static bool lookup(const struct hpack_dec *d, uint32_t idx, const uint8_t **name, size_t *nlen,
                   const uint8_t **val, size_t *vlen)
{
    if (idx == 0) {
        return false;
    }
    if (idx <= HPACK_STATIC_ENTRIES) {
        const struct static_ent *s = &static_table[idx - 1];
        *name = (const uint8_t *)s->name;
        *nlen = strlen(s->name);
        *val = (const uint8_t *)s->value;
        *vlen = strlen(s->value);
        return true;
    }
    size_t k = idx - HPACK_STATIC_ENTRIES - 1;
    if (k >= d->count) {
        return false;
    }
    const struct hpack_ent *e = &d->ring[(d->head + k) % d->ring_cap];
    *name = e->buf;
    *nlen = e->nlen;
    *val = e->buf + e->nlen;
    *vlen = e->vlen;
    return true;
}

/* A string literal at p[0..len): *used bytes; the string in *s, *slen
 * (borrowed from p, or from scratch when Huffman coded). */
static int read_string(const uint8_t *p, size_t len, struct pb_bytes *scratch, size_t *used,
                       const uint8_t **s, size_t *slen)
{
    uint32_t n = 0;
    size_t k = hpack_int(p, len, 7, &n);
    if (k == 0 || n > len - k) {
        return HPACK_EPROTO;
    }
    *used = k + n;
    if ((p[0] & 0x80u) == 0) {
        *s = p + k;
        *slen = n;
        return HPACK_OK;
    }
    pb_bytes_reset(scratch);
    /* Huffman codes are at least 5 bits: at most 8/5 symbols per byte */
    int rc = hpack_huffman_decode(p + k, n, scratch, (size_t)n * 8 / 5 + 1);
    if (rc < 0) {
        return rc == HPACK_ELIMIT ? HPACK_EPROTO : rc;
    }
    *s = scratch->p != NULL ? scratch->p : (const uint8_t *)"";
    *slen = scratch->len;
    return HPACK_OK;
}

int hpack_decode(struct hpack_dec *d, const uint8_t *blk, size_t len, hpack_field_fn fn, void *ctx)
{
    size_t off = 0;
    bool fields = false;
    while (off < len) {
        const uint8_t *p = blk + off;
        size_t left = len - off;
        uint8_t b = p[0];
        uint32_t idx = 0;
        size_t k;
        if (b & 0x80u) {
            /* indexed field */
            k = hpack_int(p, left, 7, &idx);
            const uint8_t *n, *v;
            size_t nl, vl;
            if (k == 0 || !lookup(d, idx, &n, &nl, &v, &vl)) {
                return HPACK_EPROTO;
            }
            off += k;
            fields = true;
            int rc = fn(ctx, n, nl, v, vl, false);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if ((b & 0xe0u) == 0x20u) {
            /* dynamic table size update */
            uint32_t sz = 0;
            k = hpack_int(p, left, 5, &sz);
            if (k == 0 || fields) {
                return HPACK_EPROTO;
            }
            if (sz > d->cap) {
                return HPACK_ELIMIT;
            }
            d->max_size = sz;
            shrink_to(d, sz);
            off += k;
            continue;
        }
        bool incremental = (b & 0xc0u) == 0x40u;
        bool never = (b & 0xf0u) == 0x10u;
        k = hpack_int(p, left, incremental ? 6 : 4, &idx);
        if (k == 0) {
            return HPACK_EPROTO;
        }
        off += k;
        const uint8_t *name, *val, *unused;
        size_t nlen, vlen, unusedl, used;
        if (idx == 0) {
            int rc = read_string(blk + off, len - off, &d->name, &used, &name, &nlen);
            if (rc < 0) {
                return rc;
            }
            off += used;
        } else if (!lookup(d, idx, &name, &nlen, &unused, &unusedl)) {
            return HPACK_EPROTO;
        }
        int rc = read_string(blk + off, len - off, &d->val, &used, &val, &vlen);
        if (rc < 0) {
            return rc;
        }
        off += used;
        fields = true;
        rc = fn(ctx, name, nlen, val, vlen, never);
        if (rc != 0) {
            return rc;
        }
        if (incremental) {
            /* an indexed name may live in an entry that the insertion
             * evicts: copy it out first */
            if (idx != 0) {
                pb_bytes_reset(&d->name);
                if (pb_bytes_append(&d->name, name, nlen, SIZE_MAX) < 0) {
                    return HPACK_ENOMEM;
                }
                name = d->name.p != NULL ? d->name.p : (const uint8_t *)"";
            }
            rc = table_add(d, name, nlen, val, vlen);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return HPACK_OK;
}
