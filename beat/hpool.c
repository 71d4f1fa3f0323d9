/* SPDX-License-Identifier: Apache-2.0
 * beat/hpool.c - equal-sized blocks in a range of transparent huge pages.
 */
#include "beat/hpool.h"

#include <stdint.h>
#include <sys/mman.h>

#include "beat/alloc.h"

#define HUGE_PAGE ((size_t)2 * 1024 * 1024)

void pb_hpool_init(struct pb_hpool *p, size_t size, size_t max)
{
    *p = (struct pb_hpool){0};
    p->size = (size + 63) & ~(size_t)63;
    /* the range, rounded up, and a huge page more to align it, in size_t */
    if (max > (SIZE_MAX - 2 * HUGE_PAGE) / p->size) {
        p->failed = true; /* more than an address space: malloc instead */
        return;
    }
    p->bytes = (p->size * max + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void pb_hpool_free(struct pb_hpool *p)
{
    if (p->base != NULL) {
        munmap(p->base, p->bytes);
    }
    p->base = NULL;
    p->used = 0;
    p->free = NULL;
}

#ifndef PB_ASAN /* blocks are always malloc'd there (hpool.h) */
/* Reserves the range at a huge page boundary; false when it cannot. */
static bool reserve(struct pb_hpool *p)
{
    size_t len = p->bytes + HUGE_PAGE;
    char *r =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        p->failed = true;
        return false;
    }
    char *a = (char *)(((uintptr_t)r + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    size_t head = (size_t)(a - r);
    if (head > 0) {
        munmap(r, head);
    }
    munmap(a + p->bytes, HUGE_PAGE - head);
#ifdef MADV_HUGEPAGE
    (void)madvise(a, p->bytes, MADV_HUGEPAGE); /* a hint: 4 KB pages without it */
#endif
    p->base = a;
    return true;
}
#endif

void *pb_hpool_get(struct pb_hpool *p)
{
#ifdef PB_ASAN
    (void)p;
    return NULL;
#else
    if (p->free != NULL) {
        void *b = p->free;
        p->free = *(void **)b;
        return b;
    }
    if (p->base == NULL && (p->failed || p->bytes == 0 || !reserve(p))) {
        return NULL;
    }
    if (p->bytes - p->used < p->size) {
        return NULL;
    }
    void *b = p->base + p->used;
    p->used += p->size;
    return b;
#endif
}

void pb_hpool_put(struct pb_hpool *p, void *b)
{
    *(void **)b = p->free;
    p->free = b;
}
