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

/* Two decimal digits for each value 0..99. */
static const char pb_digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                        "25262728293031323334353637383940414243444546474849"
                                        "50515253545556575859606162636465666768697071727374"
                                        "75767778798081828384858687888990919293949596979899";

/* The decimal text of u ending at e; its start. Two digits a step, in
 * 32-bit arithmetic once u fits (most values: ports, sizes, durations):
 * a 64-bit division by 100 costs twice the instructions of a 32-bit one. */
static inline char *pb_u64_text(unsigned long long u, char *e)
{
    char *d = e;
    while (u > UINT32_MAX) {
        unsigned r = (unsigned)(u % 100u);
        u /= 100u;
        d -= 2;
        memcpy(d, pb_digit_pairs + 2 * r, 2);
    }
    uint32_t v = (uint32_t)u;
    while (v >= 100u) {
        uint32_t q = v / 100u;
        unsigned r = v - q * 100u;
        v = q;
        d -= 2;
        memcpy(d, pb_digit_pairs + 2 * r, 2);
    }
    if (v >= 10u) {
        d -= 2;
        memcpy(d, pb_digit_pairs + 2 * v, 2);
    } else {
        *--d = (char)('0' + v);
    }
    return d;
}

/* The decimal text of v ending at e (at most 20 bytes before it); its
 * start. snprintf costs more than the rest of a member. */
static inline char *pb_int_text(int64_t v, char *e)
{
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char *d = pb_u64_text(u, e);
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

/* The number of decimal digits of u: its bit length gives the count or
 * one more (log10(2) ~ 1233 / 4096), one comparison tells which. */
static inline size_t pb_u64_digits(unsigned long long u)
{
    static const unsigned long long pow10[20] = {1ull,
                                                 10ull,
                                                 100ull,
                                                 1000ull,
                                                 10000ull,
                                                 100000ull,
                                                 1000000ull,
                                                 10000000ull,
                                                 100000000ull,
                                                 1000000000ull,
                                                 10000000000ull,
                                                 100000000000ull,
                                                 1000000000000ull,
                                                 10000000000000ull,
                                                 100000000000000ull,
                                                 1000000000000000ull,
                                                 10000000000000000ull,
                                                 100000000000000000ull,
                                                 1000000000000000000ull,
                                                 10000000000000000000ull};
    /* u | 1: the bit length of 0 is that of 1, and 10^t is even */
    unsigned t = (unsigned)(64 - __builtin_clzll(u | 1u)) * 1233u >> 12;
    return t + 1 - ((u | 1u) < pow10[t]);
}

#ifdef __SIZEOF_INT128__
/* The two digits after the fraction f (of 2^64) at o: f * 100 brings them
 * into the high word; returns the fraction left. */
static inline uint64_t pb_frac_pair(char *o, uint64_t f)
{
    unsigned __int128 p = (unsigned __int128)f * 100u;
    memcpy(o, pb_digit_pairs + 2 * (unsigned)(p >> 64), 2);
    return (uint64_t)p;
}

/* The decimal text of u (100 <= u < 2^32) at o; the end. From the front,
 * two digits a step without a division: u * ceil(2^64 / 10^2k) holds
 * u / 10^2k, its integer part (the first one or two digits) in the high
 * word, the rest as a fraction in the low one, whose digits
 * pb_frac_pair brings out. Exact for u < 2^32 and 2k <= 8: the fraction
 * is never short, and its excess, below u < 2^32 units of 2^-64, stays
 * below the 10^-2k that would change a digit. */
static inline char *pb_u32_put(char *o, uint32_t u)
{
    static const uint64_t recip[5] = {0, 184467440737095517ull, 1844674407370956ull,
                                      18446744073710ull, 184467440738ull};
    /* k: the pairs after the first one or two digits (their number) */
    unsigned k = u < 10000u ? 1u : u < 1000000u ? 2u : u < 100000000u ? 3u : 4u;
    static const uint32_t odd_below[5] = {0, 1000u, 100000u, 10000000u, 1000000000u};
    unsigned __int128 p = (unsigned __int128)u * recip[k];
    unsigned top = (unsigned)(p >> 64);
    uint64_t f = (uint64_t)p;
    if (u < odd_below[k]) {
        *o++ = (char)('0' + top);
    } else {
        memcpy(o, pb_digit_pairs + 2 * top, 2);
        o += 2;
    }
    switch (k) {
    case 4:
        f = pb_frac_pair(o, f);
        o += 2;
        /* fall through */
    case 3:
        f = pb_frac_pair(o, f);
        o += 2;
        /* fall through */
    case 2:
        f = pb_frac_pair(o, f);
        o += 2;
        /* fall through */
    default:
        pb_frac_pair(o, f);
        return o + 2;
    }
}
#endif

/* The decimal text of u at o; the end. Written in place, its length known
 * first: digits made in a buffer then copied would be read back (whole
 * words over their two-byte stores) before the stores could forward. */
static inline char *pb_jw_uint(char *o, unsigned long long u)
{
    if (u < 10u) {
        *o = (char)('0' + u);
        return o + 1;
    }
    if (u < 100u) {
        memcpy(o, pb_digit_pairs + 2 * u, 2);
        return o + 2;
    }
#ifdef __SIZEOF_INT128__
    if (u <= UINT32_MAX) {
        return pb_u32_put(o, (uint32_t)u);
    }
#endif
    size_t n = pb_u64_digits(u);
    pb_u64_text(u, o + n);
    return o + n;
}

/* The decimal text of v at o; the end. */
static inline char *pb_jw_int(char *o, int64_t v)
{
    if (v < 0) {
        *o++ = '-';
        return pb_jw_uint(o, 0ull - (unsigned long long)v);
    }
    return pb_jw_uint(o, (unsigned long long)v);
}

#endif
