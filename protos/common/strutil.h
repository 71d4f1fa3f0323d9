/* SPDX-License-Identifier: Apache-2.0
 * protos/common/strutil.h - byte-string helpers for text protocols: search
 * and compare on length-bounded (not NUL-terminated) wire bytes, a capped
 * growable byte buffer, and a base64 decoder with Go's encoding/base64
 * rules (StdEncoding / RawStdEncoding, CR and LF ignored).
 */
#ifndef PB_STRUTIL_H
#define PB_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* First occurrence of needle (nlen bytes) in hay, NULL when absent.
 * An empty needle matches at hay. */
const uint8_t *pb_mem_find(const void *hay, size_t hlen, const void *needle, size_t nlen);
/* True when needle occurs in hay (bytes.Contains: an empty needle always
 * does, even in an empty hay). */
bool pb_mem_contains(const void *hay, size_t hlen, const void *needle, size_t nlen);
/* Exact byte equality with a C string literal. */
static inline bool pb_mem_eq(const void *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit); /* inline: folded for the literals it gets */
    return alen == n && (n == 0 || memcmp(a, lit, n) == 0);
}
/* ASCII case-insensitive equality with a C string literal. */
bool pb_mem_ieq(const void *a, size_t alen, const char *lit);
/* ASCII lower-casing of n bytes (dst may equal src). */
void pb_ascii_lower(uint8_t *dst, const void *src, size_t n);
/* A NUL-terminated, ASCII lower-cased copy (pb_malloc'd), NULL on ENOMEM. */
char *pb_strndup_lower(const void *s, size_t n);

/* A growable byte buffer whose size never exceeds the `max` given to each
 * append. Zeroed is empty. */
struct pb_bytes {
    uint8_t *p; /* owned */
    size_t len;
    size_t cap;
};

/* Appends n bytes. 0; -PB_ELIMIT when len + n would exceed max (nothing is
 * appended); -PB_ENOMEM. */
int pb_bytes_append(struct pb_bytes *b, const void *data, size_t n, size_t max);
void pb_bytes_reset(struct pb_bytes *b); /* len = 0, storage kept */
void pb_bytes_free(struct pb_bytes *b);  /* storage freed, zeroed */

/* Appends s quoted as Go's strconv.Quote does: printable runes (an
 * approximation of unicode.IsPrint) as they are, '"' and '\\' escaped,
 * \a \b \f \n \r \t \v, other runes as \xNN (below 0x20 and DEL),
 * \uNNNN or \UNNNNNNNN, bytes that are not valid UTF-8 as \xNN. b never
 * grows past max. 0; the negative error of the first append that failed
 * (what was appended before it stays). */
int pb_go_quote(struct pb_bytes *b, const uint8_t *s, size_t n, size_t max);

/* Decodes base64 as Go's base64.StdEncoding (padded; padding required) when
 * padded is true, or RawStdEncoding (no padding allowed) when false; CR and
 * LF anywhere are skipped. Writes at most outcap bytes. Returns false on any
 * decoding error or when out is too small; *outlen receives the size. */
bool pb_base64_decode(const void *in, size_t n, bool padded, uint8_t *out, size_t outcap,
                      size_t *outlen);

#endif
