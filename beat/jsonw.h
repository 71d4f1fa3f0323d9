/* SPDX-License-Identifier: Apache-2.0
 * beat/jsonw.h - writing compact JSON straight into a buffer that has the
 * room: literals, plain strings (nothing to escape), integers. For the
 * encoder and the producers of pending fields (pb_pending_ops), which
 * write exactly what the encoder would.
 */
#ifndef PB_JSONW_H
#define PB_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcpy for the short keys and values of an event (most under 16 bytes):
 * two overlapping loads instead of a library call. */
static inline void pb_copy_short(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++) {
            d[i] = s[i];
        }
    } else {
        memcpy(d, s, n);
    }
}

/* The decimal text of v ending at e (at most 20 bytes before it); its
 * start. Two digits a step: snprintf costs more than the rest of a member. */
static inline char *pb_int_text(int64_t v, char *e)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char *d = e;
    while (u >= 100u) {
        unsigned r = (unsigned)(u % 100u);
        u /= 100u;
        d -= 2;
        d[0] = pairs[2 * r];
        d[1] = pairs[2 * r + 1];
    }
    if (u >= 10u) {
        d -= 2;
        d[0] = pairs[2 * u];
        d[1] = pairs[2 * u + 1];
    } else {
        *--d = (char)('0' + u);
    }
    if (v < 0) {
        *--d = '-';
    }
    return d;
}

/* The n bytes of lit at o; the end. */
static inline char *pb_jw_lit(char *o, const char *lit, size_t n)
{
    memcpy(o, lit, n);
    return o + n;
}
#define PB_JW_LIT(o, lit) pb_jw_lit((o), "" lit "", sizeof(lit) - 1)

/* s (n bytes, nothing to escape) between quotes at o; the end. */
static inline char *pb_jw_quoted(char *o, const char *s, size_t n)
{
    *o++ = '"';
    pb_copy_short(o, s, n);
    o += n;
    *o++ = '"';
    return o;
}

/* The number of decimal digits of u. */
static inline size_t pb_u64_digits(unsigned long long u)
{
    size_t n = 1;
    for (;;) {
        if (u < 10u) {
            return n;
        }
        if (u < 100u) {
            return n + 1;
        }
        if (u < 1000u) {
            return n + 2;
        }
        if (u < 10000u) {
            return n + 3;
        }
        u /= 10000u;
        n += 4;
    }
}

/* The decimal text of v at o; the end. Written in place, its length known
 * first: digits made in a buffer then copied would be read back (whole
 * words over their two-byte stores) before the stores could forward. */
static inline char *pb_jw_int(char *o, int64_t v)
{
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char *e = o + pb_u64_digits(u) + (v < 0);
    pb_int_text(v, e);
    return e;
}

#endif
