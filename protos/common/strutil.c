/* SPDX-License-Identifier: Apache-2.0
 * protos/common/strutil.c - byte-string helpers (see strutil.h).
 */
#include "protos/common/strutil.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/utf8.h"

const uint8_t *pb_mem_find(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || hlen < nlen) {
        return NULL;
    }
    if (nlen <= 2) {
        /* "\r\n" and single bytes, the usual needles: memchr for the first
           byte (vectorised) beats memmem's setup for each call */
        const uint8_t *h = hay, *end = h + hlen - (nlen - 1);
        const uint8_t *nd = needle;
        for (const uint8_t *p = h; p < end; p++) {
            p = memchr(p, nd[0], (size_t)(end - p));
            if (p == NULL || nlen == 1 || p[1] == nd[1]) {
                return p;
            }
        }
        return NULL;
    }
    return memmem(hay, hlen, needle, nlen);
}

bool pb_mem_contains(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    return nlen == 0 || pb_mem_find(hay, hlen, needle, nlen) != NULL;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

bool pb_mem_ieq(const void *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    if (alen != n) {
        return false;
    }
    const uint8_t *p = a;
    for (size_t i = 0; i < n; i++) {
        if (lower(p[i]) != lower((uint8_t)lit[i])) {
            return false;
        }
    }
    return true;
}

void pb_ascii_lower(uint8_t *dst, const void *src, size_t n)
{
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) {
        dst[i] = lower(s[i]);
    }
}

char *pb_strndup_lower(const void *s, size_t n)
{
    if (n == SIZE_MAX) {
        return NULL;
    }
    char *d = pb_malloc(n + 1);
    if (d == NULL) {
        return NULL;
    }
    if (n > 0) {
        pb_ascii_lower((uint8_t *)d, s, n);
    }
    d[n] = '\0';
    return d;
}

int pb_bytes_append(struct pb_bytes *b, const void *data, size_t n, size_t max)
{
    if (n == 0) {
        return 0;
    }
    if (b->len > max || n > max - b->len) {
        return -PB_ELIMIT;
    }
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t nc = b->cap == 0 ? need : b->cap;
        while (nc < need) {
            nc = nc > SIZE_MAX / 2 ? need : nc * 2;
        }
        if (nc > max) {
            nc = max;
        }
        uint8_t *p = pb_realloc(b->p, nc);
        if (p == NULL) {
            return -PB_ENOMEM;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void pb_bytes_reset(struct pb_bytes *b)
{
    b->len = 0;
}

void pb_bytes_free(struct pb_bytes *b)
{
    pb_free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

bool pb_base64_decode(const void *in, size_t n, bool padded, uint8_t *out, size_t outcap,
                      size_t *outlen)
{
    const uint8_t *s = in;
    size_t o = 0;
    int quad[4];
    size_t q = 0;   /* symbols in the current quantum */
    size_t pad = 0; /* '=' seen */
    *outlen = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '\r' || c == '\n') {
            continue;
        }
        if (c == '=') {
            /* padding only in the 3rd/4th place of the last quantum */
            if (!padded || q < 2) {
                return false;
            }
            pad++;
            if (q + pad > 4) {
                return false;
            }
            continue;
        }
        if (pad > 0) {
            return false; /* data after padding */
        }
        int v = b64val(c);
        if (v < 0) {
            return false;
        }
        quad[q++] = v;
        if (q == 4) {
            if (o + 3 > outcap) {
                return false;
            }
            out[o++] = (uint8_t)((quad[0] << 2) | (quad[1] >> 4));
            out[o++] = (uint8_t)(((quad[1] & 0xf) << 4) | (quad[2] >> 2));
            out[o++] = (uint8_t)(((quad[2] & 0x3) << 6) | quad[3]);
            q = 0;
        }
    }
    if (padded) {
        if (q == 0 && pad == 0) {
            *outlen = o;
            return true;
        }
        if (q + pad != 4) {
            return false;
        }
    } else if (q == 1) {
        return false;
    }
    if (q >= 2) {
        if (o + 1 > outcap) {
            return false;
        }
        out[o++] = (uint8_t)((quad[0] << 2) | (quad[1] >> 4));
    }
    if (q == 3) {
        if (o + 1 > outcap) {
            return false;
        }
        out[o++] = (uint8_t)(((quad[1] & 0xf) << 4) | (quad[2] >> 2));
    }
    *outlen = o;
    return true;
}

/* An approximation of Go's unicode.IsPrint: below U+0100 the graphic
 * Latin-1 characters; above, everything but the separators, format
 * characters, private use, noncharacters and large unassigned ranges. */
static bool go_is_print(uint32_t r)
{
    if (r < 0x100) {
        if (r >= 0x20 && r < 0x7F) {
            return true;
        }
        return r >= 0xA1 && r != 0xAD;
    }
    static const uint32_t ranges[][2] = {
        {0x0378, 0x0379},   {0x0380, 0x0383},   {0x038B, 0x038B},    {0x038D, 0x038D},
        {0x03A2, 0x03A2},   {0x0530, 0x0530},   {0x0557, 0x0558},    {0x058B, 0x058C},
        {0x0590, 0x0590},   {0x05C8, 0x05CF},   {0x05EB, 0x05EE},    {0x05F5, 0x0605},
        {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070E, 0x070F},    {0x074B, 0x074C},
        {0x07B2, 0x07BF},   {0x07FB, 0x07FC},   {0x082E, 0x082F},    {0x083F, 0x083F},
        {0x085C, 0x085D},   {0x085F, 0x085F},   {0x086B, 0x086F},    {0x088F, 0x0897},
        {0x08E2, 0x08E2},   {0x1680, 0x1680},   {0x180E, 0x180E},    {0x2000, 0x200F},
        {0x2028, 0x202F},   {0x205F, 0x206F},   {0x2072, 0x2073},    {0x208F, 0x208F},
        {0x3000, 0x3000},   {0xD800, 0xF8FF},   {0xFDD0, 0xFDEF},    {0xFEFF, 0xFEFF},
        {0xFFF0, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x110BD, 0x110BD},  {0x110CD, 0x110CD},
        {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},  {0x2FFFE, 0x2FFFF},
        {0x3134B, 0x3134F}, {0x323B0, 0xE00FF}, {0xE01F0, 0x10FFFF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (r >= ranges[i][0] && r <= ranges[i][1]) {
            return false;
        }
    }
    return true;
}

/* \<kind> and `digits` lower-case hex digits of v. */
static int put_esc_hex(struct pb_bytes *b, char kind, uint32_t v, int digits, size_t max)
{
    static const char hexdig[] = "0123456789abcdef";
    char t[12];
    size_t n = 0;
    t[n++] = '\\';
    t[n++] = kind;
    for (int i = digits - 1; i >= 0; i--) {
        t[n++] = hexdig[(v >> (4 * i)) & 0xF];
    }
    return pb_bytes_append(b, t, n, max);
}

int pb_go_quote(struct pb_bytes *b, const uint8_t *s, size_t n, size_t max)
{
    static const char ctl[] = "abtnvfr"; /* \a (7) .. \r (13) */
    int rc = pb_bytes_append(b, "\"", 1, max);
    size_t i = 0;
    while (rc == 0 && i < n) {
        size_t w = 1;
        uint32_t r = s[i];
        if (r >= 0x80) {
            w = pb_utf8_decode(s + i, n - i, &r);
            if (w == 0) {
                rc = put_esc_hex(b, 'x', s[i], 2, max);
                i++;
                continue;
            }
        }
        if (r == '"' || r == '\\') {
            char t[2] = {'\\', (char)r};
            rc = pb_bytes_append(b, t, 2, max);
        } else if (go_is_print(r)) {
            rc = pb_bytes_append(b, s + i, w, max);
        } else if (r >= 7 && r <= 13) {
            char t[2] = {'\\', ctl[r - 7]};
            rc = pb_bytes_append(b, t, 2, max);
        } else if (r < ' ' || r == 0x7F) {
            rc = put_esc_hex(b, 'x', r, 2, max);
        } else if (r < 0x10000) {
            rc = put_esc_hex(b, 'u', r, 4, max);
        } else {
            rc = put_esc_hex(b, 'U', r, 8, max);
        }
        i += w;
    }
    if (rc == 0) {
        rc = pb_bytes_append(b, "\"", 1, max);
    }
    return rc;
}
