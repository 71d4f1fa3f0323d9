/* SPDX-License-Identifier: Apache-2.0
 * beat/sha1.c - SHA-1 (FIPS 180-4) of at most 55 bytes: one padded block.
 * The Community ID hashes 13 to 40 bytes per flow, and OpenSSL 3's SHA1()
 * spends most of its time finding the algorithm, not hashing.
 */
#include "beat/sha1.h"

#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#define PB_SHA1_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t sha1_h0[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                    0xc3d2e1f0u};

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

/* Word t of the schedule; w[] keeps the last 16. */
#define SHA1_W(t)                                                                                  \
    ((t) < 16 ? w[(t)&15]                                                                          \
              : (w[(t)&15] =                                                                       \
                     rol32(w[((t)-3) & 15] ^ w[((t)-8) & 15] ^ w[((t)-14) & 15] ^ w[(t)&15], 1)))
/* One round, the five words renamed instead of moved. */
#define SHA1_R(a, b, c, d, e, f, k, t)                                                             \
    do {                                                                                           \
        e += rol32(a, 5) + (f) + (k) + SHA1_W(t);                                                  \
        b = rol32(b, 30);                                                                          \
    } while (0)
#define SHA1_CH(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define SHA1_PAR(b, c, d) ((b) ^ (c) ^ (d))
#define SHA1_MAJ(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#define SHA1_R5(F, k, t)                                                                           \
    do {                                                                                           \
        SHA1_R(a, b, c, d, e, F(b, c, d), k, (t));                                                 \
        SHA1_R(e, a, b, c, d, F(a, b, c), k, (t) + 1);                                             \
        SHA1_R(d, e, a, b, c, F(e, a, b), k, (t) + 2);                                             \
        SHA1_R(c, d, e, a, b, F(d, e, a), k, (t) + 3);                                             \
        SHA1_R(b, c, d, e, a, F(c, d, e), k, (t) + 4);                                             \
    } while (0)

/* The block of a message of n bytes given as words (pb_sha1_short_words'
   m), in registers: b[i] holds bytes 8i..8i+7 of the block, the first in
   the low byte. */
static inline __attribute__((always_inline)) void words_pad(const uint64_t m[7], size_t n,
                                                            uint64_t b[8])
{
    /* word by word (unrolled: no word indexed by n, which would put the
       block in memory for the wide loads to wait on) */
#pragma GCC unroll 8
    for (size_t i = 0; i < 8; i++) {
        uint64_t w = i < 7 && 8 * i < n ? m[i] : 0;
        w |= i == n / 8 ? (uint64_t)0x80 << (8 * (n % 8)) : 0;
        b[i] = w;
    }
    b[7] |= __builtin_bswap64((uint64_t)n * 8u);
}

static inline __attribute__((always_inline)) void sw_block(const uint64_t blk[8],
                                                           uint8_t md[PB_SHA1_LEN])
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = __builtin_bswap32((uint32_t)(blk[i / 2] >> (32 * (i % 2))));
    }
    uint32_t a = sha1_h0[0], b = sha1_h0[1], c = sha1_h0[2], d = sha1_h0[3], e = sha1_h0[4];
    /* unrolled: word numbers are constants, the schedule stays in registers */
#pragma GCC unroll 4
    for (int t = 0; t < 20; t += 5) {
        SHA1_R5(SHA1_CH, 0x5a827999u, t);
    }
#pragma GCC unroll 4
    for (int t = 20; t < 40; t += 5) {
        SHA1_R5(SHA1_PAR, 0x6ed9eba1u, t);
    }
#pragma GCC unroll 4
    for (int t = 40; t < 60; t += 5) {
        SHA1_R5(SHA1_MAJ, 0x8f1bbcdcu, t);
    }
#pragma GCC unroll 4
    for (int t = 60; t < 80; t += 5) {
        SHA1_R5(SHA1_PAR, 0xca62c1d6u, t);
    }
    put_be32(md, sha1_h0[0] + a);
    put_be32(md + 4, sha1_h0[1] + b);
    put_be32(md + 8, sha1_h0[2] + c);
    put_be32(md + 12, sha1_h0[3] + d);
    put_be32(md + 16, sha1_h0[4] + e);
}

void pb_sha1_words_sw(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN])
{
    uint64_t b[8];
    words_pad(m, n, b);
    sw_block(b, md);
}

#ifdef PB_SHA1_X86
bool pb_sha1_have_ni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1)) {
        return false;
    }
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA) != 0;
}

/* With the SHA extensions (Intel's SHA1RNDS4, SHA1NEXTE, SHA1MSG1 and
   SHA1MSG2). Registers hold four 32-bit words, the first in the high lane:
   the state as A B C D, E alone in the high lane, and four message words
   W[t..t+3]. Each step does four rounds; the E of a step is A of the step
   before, rotated (SHA1NEXTE adds it to the high lane of W). */
#define PB_SHA1_NI __attribute__((target("sha,ssse3,sse4.1")))

PB_SHA1_NI static __m128i rounds4(__m128i abcd, __m128i we, int step)
{
    /* the round function and constant change every 20 rounds */
    switch (step / 5) {
    case 0:
        return _mm_sha1rnds4_epu32(abcd, we, 0);
    case 1:
        return _mm_sha1rnds4_epu32(abcd, we, 1);
    case 2:
        return _mm_sha1rnds4_epu32(abcd, we, 2);
    default:
        return _mm_sha1rnds4_epu32(abcd, we, 3);
    }
}

PB_SHA1_NI static inline __attribute__((always_inline)) void ni_block(const uint64_t blk[8],
                                                                      uint8_t md[PB_SHA1_LEN])
{
    /* big-endian words, first word in the high lane: all 16 bytes reversed */
    const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i w[4];
    for (int i = 0; i < 4; i++) {
        /* two words joined in registers (a pair stored and loaded as one
           would wait for both stores) */
        __m128i lo = _mm_cvtsi64_si128((long long)blk[2 * i]);
        __m128i hi = _mm_cvtsi64_si128((long long)blk[2 * i + 1]);
        w[i] = _mm_shuffle_epi8(_mm_unpacklo_epi64(lo, hi), rev);
    }
    const __m128i abcd0 =
        _mm_set_epi32((int)sha1_h0[0], (int)sha1_h0[1], (int)sha1_h0[2], (int)sha1_h0[3]);
    const __m128i e0 = _mm_set_epi32((int)sha1_h0[4], 0, 0, 0);
    __m128i abcd = abcd0, prev = abcd0;
    /* unrolled: the SHA1RNDS4 function is an immediate, w[] stays in registers */
#pragma GCC unroll 20
    for (int s = 0; s < 20; s++) {
        /* W[4s..4s+3]; w[] keeps the last 16 words, w[s % 4] the oldest */
        if (s >= 4) {
            __m128i x = _mm_sha1msg1_epu32(w[s & 3], w[(s + 1) & 3]);
            x = _mm_xor_si128(x, w[(s + 2) & 3]);
            w[s & 3] = _mm_sha1msg2_epu32(x, w[(s + 3) & 3]);
        }
        __m128i we = s == 0 ? _mm_add_epi32(w[0], e0) : _mm_sha1nexte_epu32(prev, w[s & 3]);
        prev = abcd;
        abcd = rounds4(abcd, we, s);
    }
    /* E after round 80 is A of the last step's input, rotated; plus H4 */
    __m128i e = _mm_sha1nexte_epu32(prev, e0);
    abcd = _mm_add_epi32(abcd, abcd0);
    _mm_storeu_si128((__m128i *)md, _mm_shuffle_epi8(abcd, rev));
    put_be32(md + 16, (uint32_t)_mm_extract_epi32(e, 3));
}

PB_SHA1_NI void pb_sha1_words_ni(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN])
{
    uint64_t b[8];
    words_pad(m, n, b);
    ni_block(b, md);
}
#else
bool pb_sha1_have_ni(void)
{
    return false;
}

void pb_sha1_words_ni(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN])
{
    pb_sha1_words_sw(m, n, md);
}
#endif

/* The implementation: 1 plain C, 2 SHA instructions; chosen once. */
static int sha1_mode(void)
{
    static atomic_int mode; /* 0: not chosen yet */
    int m = atomic_load_explicit(&mode, memory_order_relaxed);
    if (m == 0) {
        m = pb_sha1_have_ni() ? 2 : 1;
        atomic_store_explicit(&mode, m, memory_order_relaxed);
    }
    return m;
}

void pb_sha1_short_words(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN])
{
    if (sha1_mode() == 2) {
        pb_sha1_words_ni(m, n, md);
    } else {
        pb_sha1_words_sw(m, n, md);
    }
}
