/* SPDX-License-Identifier: Apache-2.0
 * beat/spares.h - a cache of spare blocks by size class, for a worker's
 * blocks that come and go once per request (redis messages, DNS requests,
 * PostgreSQL transactions): a block handed back is kept for the next
 * request of its class, so that the hot path mostly skips malloc and free.
 *
 * A block is `head` bytes (the owner's struct) and a payload. The classes
 * are payloads of min, 2 * min, ... min << (nclass - 1) bytes: a payload no
 * larger than the largest class gets a block of the smallest class that
 * fits it (a spare when one is kept), a larger one a block of exactly its
 * size, which is never kept. A block of a class carries its usable size
 * (pb_alloc_size) in a word after the payload, so that keeping it costs no
 * allocator call; its holder must not write past head + payload.
 *
 * Memory: at most `max` spares per class, so the spares take at most
 * max * (nclass * (head + 8) + (2^nclass - 1) * min) bytes plus malloc's
 * rounding. A block counts in pb_alloc_thread_bytes while it is handed
 * out and a spare for nobody (as if freed), so the TCP tracker charges
 * the connection that holds a block, whether it came from malloc or from
 * here, and credits it when it hands the block back.
 *
 * Under AddressSanitizer (PB_ASAN) nothing is kept and blocks are exactly
 * head + payload: get mallocs, put frees, so that ASan sees a use after
 * free or a write past the payload. Not thread-safe: one owner (a
 * worker's protocol state).
 */
#ifndef PB_BEAT_SPARES_H
#define PB_BEAT_SPARES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "beat/alloc.h"

#define PB_SPARES_MAX_CLASSES 4u

/* A kept block's first bytes. */
struct pb_spare {
    struct pb_spare *next;
    int64_t bytes; /* its usable size, taken off the count */
};

struct pb_spares {
    size_t head;     /* bytes before the payload */
    size_t min;      /* payload of the smallest class, a power of two */
    unsigned shift;  /* log2(min) */
    unsigned nclass; /* 1 .. PB_SPARES_MAX_CLASSES */
    struct pb_spare *free[PB_SPARES_MAX_CLASSES];
    unsigned room[PB_SPARES_MAX_CLASSES]; /* spares it may still keep */
};

/* An empty cache of blocks of head bytes plus a payload, nclass classes
   from min bytes of payload on (a power of two), max spares kept per
   class; head + min must hold a struct pb_spare. */
void pb_spares_init(struct pb_spares *s, size_t head, size_t min, unsigned nclass, unsigned max);
/* Frees the spares (blocks handed out stay their holders'). */
void pb_spares_fini(struct pb_spares *s);

/* The class of a payload of size bytes, more than min (>= s->nclass:
   beyond the largest class): the smallest k with size <= min << k, the
   bits of size - 1 beyond those of min - 1. */
static inline unsigned pb_spares_class(const struct pb_spares *s, size_t size)
{
    return (unsigned)(64 - __builtin_clzll(size - 1)) - s->shift;
}

/* pb_spares_get without a spare: a new block of class k (capacity c) or
   of c bytes of payload (k >= s->nclass). */
void *pb_spares_new(struct pb_spares *s, unsigned k, size_t c, size_t *cap);

/* A block of head + *cap bytes for a payload of need bytes (*cap >= need:
   its class, or need beyond the largest one), its content undefined; NULL
   on ENOMEM (*cap untouched). */
static inline void *pb_spares_get(struct pb_spares *s, size_t need, size_t *cap)
{
    unsigned k = 0; /* class 0 always exists: no test for the usual case */
    size_t c = s->min;
    if (need > c) {
        k = pb_spares_class(s, need);
        if (k >= s->nclass) {
            return pb_spares_new(s, k, need, cap);
        }
        c <<= k;
    }
#ifndef PB_ASAN /* ASan sees a use after free only when freed */
    struct pb_spare *b = s->free[k];
    if (b != NULL) {
        s->free[k] = b->next;
        s->room[k]++;
        pb_alloc_count(b->bytes);
        *cap = c;
        return b;
    }
#endif
    return pb_spares_new(s, k, c, cap);
}

/* Hands b (from pb_spares_get; NULL: nothing) back: kept as a spare or
   freed. size: the need it was asked for or the capacity it was given
   (both name its class). */
static inline void pb_spares_put(struct pb_spares *s, void *b, size_t size)
{
#ifdef PB_ASAN
    (void)s;
    (void)size;
#else
    unsigned k = 0;
    size_t c = s->min;
    if (size > c) {
        k = pb_spares_class(s, size);
        if (k >= s->nclass) {
            pb_free(b);
            return;
        }
        c <<= k;
    }
    if (b != NULL && s->room[k] > 0) {
        struct pb_spare *sp = b;
        memcpy(&sp->bytes, (char *)b + s->head + c, sizeof sp->bytes);
        pb_alloc_count(-sp->bytes);
        sp->next = s->free[k];
        s->free[k] = sp;
        s->room[k]--;
        return;
    }
#endif
    pb_free(b);
}

#endif
