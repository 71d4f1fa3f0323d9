/* SPDX-License-Identifier: Apache-2.0
 * beat/sha1.h - SHA-1 of short messages (one 64-byte block), as the
 * Community ID needs it: with the CPU's SHA instructions when it has them
 * (x86 SHA extensions), in plain C otherwise.
 */
#ifndef PB_SHA1_H
#define PB_SHA1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_SHA1_SHORT_MAX 55 /* bytes that fit one padded block */
#define PB_SHA1_LEN 20

/* SHA-1 of a message of n <= PB_SHA1_SHORT_MAX bytes made in registers:
 * byte i of it is byte i % 8 of m[i / 8] counted from the low end, the
 * bytes of m past n zero. No byte of it goes through memory, where a wide
 * load of bytes just stored one by one would wait for every store before
 * it. The implementation is chosen once, at the first call. */
void pb_sha1_short_words(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN]);

/* The two implementations, for tests. pb_sha1_words_ni may be called only
 * when pb_sha1_have_ni() says the CPU has the instructions. */
bool pb_sha1_have_ni(void);
void pb_sha1_words_sw(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN]);
void pb_sha1_words_ni(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN]);

#endif
