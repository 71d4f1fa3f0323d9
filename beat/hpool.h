/* SPDX-License-Identifier: Apache-2.0
 * beat/hpool.h - a pool of equal-sized blocks in one reserved range of
 * transparent huge pages, for the tables whose blocks come and go by the
 * thousand (flows) or are large and written end to end (the publisher's
 * encoding slabs).
 *
 * With 4 KB pages, the first write to each page of a fresh block is a page
 * fault (a few microseconds in a virtual machine) and every page takes a
 * TLB entry; a 2 MB page takes one fault and one entry for 512 of them.
 * The range is reserved, not committed: a page counts in RSS once written,
 * as a malloc'd block's would. Blocks handed back go to a free list and
 * out again first; the range is unmapped only by pb_hpool_free.
 *
 * pb_hpool_get returns NULL when the range is used up or could not be
 * reserved, and always under AddressSanitizer (a reused block would hide
 * a use after free): the caller then mallocs, and tells its blocks apart
 * with pb_hpool_owns. Not thread-safe: one owner, or the owner's lock.
 */
#ifndef PB_BEAT_HPOOL_H
#define PB_BEAT_HPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct pb_hpool {
    size_t size;  /* of a block, rounded up to 64 bytes */
    size_t bytes; /* of the range, a multiple of the huge page */
    char *base;   /* NULL: not reserved yet */
    bool failed;  /* could not reserve it: no more attempts */
    size_t used;  /* bytes handed out from base on */
    void *free;   /* blocks handed back, linked through their first word */
};

/* A pool of at most max blocks of size bytes; reserves nothing yet. */
void pb_hpool_init(struct pb_hpool *p, size_t size, size_t max);
/* Unmaps the range (every block of it must be done with). */
void pb_hpool_free(struct pb_hpool *p);

/* A block (its content undefined: zero when fresh, not when reused), or
   NULL (see above). */
void *pb_hpool_get(struct pb_hpool *p);
/* Hands block b (from pb_hpool_get) back. */
void pb_hpool_put(struct pb_hpool *p, void *b);

static inline bool pb_hpool_owns(const struct pb_hpool *p, const void *b)
{
    return p->base != NULL && (const char *)b >= p->base && (const char *)b < p->base + p->bytes;
}

#endif
