/* SPDX-License-Identifier: Apache-2.0
 * beat/spares.c - spare blocks by size class (semantics in spares.h).
 */
#include "beat/spares.h"

#include <assert.h>

void pb_spares_init(struct pb_spares *s, size_t head, size_t min, unsigned nclass, unsigned max)
{
    assert(nclass >= 1 && nclass <= PB_SPARES_MAX_CLASSES);
    assert(min > 0 && (min & (min - 1)) == 0 && head + min >= sizeof(struct pb_spare));
    *s = (struct pb_spares){.head = head, .min = min, .nclass = nclass};
    for (unsigned k = 0; k < nclass; k++) {
        s->room[k] = max;
    }
    while ((size_t)1 << s->shift < min) {
        s->shift++;
    }
}

void pb_spares_fini(struct pb_spares *s)
{
    for (unsigned k = 0; k < s->nclass; k++) {
        struct pb_spare *b;
        while ((b = s->free[k]) != NULL) {
            s->free[k] = b->next;
            pb_alloc_count(b->bytes); /* pb_free takes it off again */
            pb_free(b);
            s->room[k]++;
        }
    }
}

void *pb_spares_new(struct pb_spares *s, unsigned k, size_t c, size_t *cap)
{
#ifdef PB_ASAN
    size_t tail = 0; /* blocks are never kept (spares.h) */
#else
    size_t tail = k < s->nclass ? sizeof(int64_t) : 0; /* the usable size */
#endif
    if (c > SIZE_MAX - s->head - tail) {
        return NULL;
    }
    char *b = pb_malloc(s->head + c + tail);
    if (b == NULL) {
        return NULL;
    }
    if (tail > 0) {
        int64_t bytes = pb_alloc_size(b);
        memcpy(b + s->head + c, &bytes, sizeof bytes);
    }
    *cap = c;
    return b;
}
