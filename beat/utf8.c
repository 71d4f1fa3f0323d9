/* SPDX-License-Identifier: Apache-2.0
 * beat/utf8.c - UTF-8 decoding and white space with Go's rules (see utf8.h).
 */
#include "utf8.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t pb_utf8_decode(const uint8_t *p, size_t left, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        n = 1;
        v = c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07u;
    } else {
        return 0;
    }
    if (left < n) {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[k] & 0x3fu);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    if (cp != NULL) {
        *cp = v;
    }
    return n;
}

size_t pb_utf8_space_len(const uint8_t *p, size_t left)
{
    if (left == 0) {
        return 0;
    }
    uint32_t cp = 0;
    size_t n = pb_utf8_decode(p, left, &cp);
    return n > 0 && pb_unicode_is_space(cp) ? n : 0;
}

size_t pb_utf8_valid_len(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
#ifdef __SSE2__
            /* a run of ASCII: thirty-two bytes a step (a 4 KB redis
               reply is checked on every event), then eight */
            while (n - i >= 32) {
                __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
                __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
                if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0) {
                    break;
                }
                i += 32;
            }
#endif
            while (n - i >= 8) {
                uint64_t x;
                memcpy(&x, p + i, 8);
                if (x & 0x8080808080808080ull) {
                    break;
                }
                i += 8;
            }
            continue;
        }
        size_t l = pb_utf8_decode(p + i, n - i, NULL);
        if (l == 0) {
            break;
        }
        i += l;
    }
    return i;
}

size_t pb_utf8_sanitize(uint8_t *out, const uint8_t *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = pb_utf8_decode(p + i, n - i, NULL);
        if (l == 0) {
            out[o++] = 0xef;
            out[o++] = 0xbf;
            out[o++] = 0xbd;
            i++;
        } else {
            memcpy(out + o, p + i, l);
            o += l;
            i += l;
        }
    }
    return o;
}
