/* SPDX-License-Identifier: Apache-2.0
 * beat/alloc.h - the only allocator entry points. Under PB_FUZZ they fail on
 * purpose now and then (pb_alloc_fail_every), so every caller must survive
 * NULL.
 */
#ifndef PB_ALLOC_H
#define PB_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *pb_malloc(size_t n);
void *pb_calloc(size_t count, size_t size); /* overflow-checked */
void *pb_realloc(void *p, size_t n);
void pb_free(void *p);
char *pb_strdup(const char *s);
char *pb_strndup(const char *s, size_t n); /* stops at NUL or n bytes */

/* Bytes allocated minus bytes freed through the pb_* functions by the
 * calling thread (usable sizes, so allocator rounding counts). Only
 * differences matter: the TCP tracker reads it around each protocol
 * callback to charge a connection for the state its protocol keeps. */
int64_t pb_alloc_thread_bytes(void);
/* p (from pb_malloc/pb_realloc) leaves the calling thread's count: it is
   handed to another part of the program (the publisher's queue) that
   frees it with plain free(), not pb_free. */
void pb_alloc_disown(void *p);

/* The usable size of p (from pb_malloc), as the count has it. */
int64_t pb_alloc_size(void *p);
/* Adds bytes (negative: takes them) to the calling thread's count: for a
   cache that keeps a block without freeing it, then hands it out again. */
void pb_alloc_count(int64_t bytes);
/* PB_ASAN: built with AddressSanitizer. Caches that keep freed blocks for
   reuse are off then: ASan sees a use after free only when freed. */
#if defined(__SANITIZE_ADDRESS__)
#define PB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PB_ASAN 1
#endif
#endif

/* Fault injection for fuzzing and tests: every nth allocation fails (0: off). */
void pb_alloc_fail_every(unsigned n);

#endif
