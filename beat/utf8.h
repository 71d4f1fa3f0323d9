/* SPDX-License-Identifier: Apache-2.0
 * beat/utf8.h - UTF-8 decoding with Go's rules (no overlong forms, no
 * surrogates, nothing past U+10FFFF) and Go's unicode.IsSpace, on
 * length-bounded wire bytes.
 */
#ifndef PB_UTF8_H
#define PB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 sequence at p, reading at most `left`
 * (>= 1) bytes; 0 when the bytes there are not valid UTF-8 (Go decodes them
 * as U+FFFD, width 1). The code point goes to *cp when cp is not NULL. */
size_t pb_utf8_decode(const uint8_t *p, size_t left, uint32_t *cp);

/* Offset of the first byte of p[0..n) that is not valid UTF-8 (n when
 * there is none); NUL bytes are valid. ASCII is skipped without a decoder
 * call. */
size_t pb_utf8_valid_len(const uint8_t *p, size_t n);
/* p[0..n) with each invalid byte replaced by U+FFFD (3 bytes), as Go's
 * string conversion of wire bytes reads: written to out, which has room
 * for 3 * n bytes; returns the length written. */
size_t pb_utf8_sanitize(uint8_t *out, const uint8_t *p, size_t n);

/* True for the code points Go's unicode.IsSpace accepts. */
static inline int pb_unicode_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/* Length of the rune at p when it is valid UTF-8 and white space
 * (unicode.IsSpace), else 0; 0 when left is 0. */
size_t pb_utf8_space_len(const uint8_t *p, size_t left);

#endif
