/* SPDX-License-Identifier: Apache-2.0
 * protos/common/strutil.c - byte-string helpers (see strutil.h).
 */
#include "protos/common/strutil.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"

const uint8_t *pb_mem_find(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || hlen < nlen) {
        return NULL;
    }
    return memmem(hay, hlen, needle, nlen);
}

bool pb_mem_contains(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    return nlen == 0 || pb_mem_find(hay, hlen, needle, nlen) != NULL;
}

bool pb_mem_eq(const void *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    return alen == n && (n == 0 || memcmp(a, lit, n) == 0);
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
