/* SPDX-License-Identifier: Apache-2.0
 * packet/hindex.c - an index of objects by hash (see hindex.h).
 */
#include "packet/hindex.h"

#include <string.h>

#include "beat/alloc.h"

bool pb_hindex_init(struct pb_hindex *x, size_t n)
{
    x->n = n < 2 ? 2 : n;
    x->count = 0;
    x->slots = pb_calloc(x->n, sizeof *x->slots);
    return x->slots != NULL;
}

void pb_hindex_free(struct pb_hindex *x)
{
    pb_free(x->slots);
    x->slots = NULL;
    x->n = x->count = 0;
}

/* The empty slot of slots[n] where an object of this hash goes. */
static size_t free_slot(const struct pb_hindex_slot *slots, size_t n, uint32_t hash)
{
    size_t mask = n - 1, i = hash & mask;
    while (slots[i].obj != NULL) {
        i = (i + 1) & mask;
    }
    return i;
}

static bool grow(struct pb_hindex *x)
{
    size_t n = x->n * 2;
    struct pb_hindex_slot *slots = pb_calloc(n, sizeof *slots);
    if (slots == NULL) {
        return false;
    }
    for (size_t i = 0; i < x->n; i++) {
        if (x->slots[i].obj != NULL) {
            slots[free_slot(slots, n, x->slots[i].hash)] = x->slots[i];
        }
    }
    pb_free(x->slots);
    x->slots = slots;
    x->n = n;
    return true;
}

bool pb_hindex_add(struct pb_hindex *x, void *obj, uint32_t hash)
{
    /* more than half full: doubled; one slot always stays empty (it ends
       every probe), so without memory the rest fills */
    if (x->count + 1 > x->n / 2 && !grow(x) && x->count + 1 >= x->n) {
        return false;
    }
    size_t i = free_slot(x->slots, x->n, hash);
    x->slots[i].obj = obj;
    x->slots[i].hash = hash;
    x->count++;
    return true;
}

void pb_hindex_remove(struct pb_hindex *x, const void *obj, uint32_t hash)
{
    size_t mask = x->n - 1, i = hash & mask;
    while (x->slots[i].obj != obj) {
        if (x->slots[i].obj == NULL) {
            return;
        }
        i = (i + 1) & mask;
    }
    /* the hole at i: a later slot j of the run moves into it unless its
       home lies cyclically in (i, j], where a probe would never pass i */
    for (size_t j = (i + 1) & mask; x->slots[j].obj != NULL; j = (j + 1) & mask) {
        size_t home = x->slots[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            x->slots[i] = x->slots[j];
            i = j;
        }
    }
    x->slots[i].obj = NULL;
    x->count--;
}

void pb_hindex_clear(struct pb_hindex *x, size_t n)
{
    n = n < 2 ? 2 : n;
    struct pb_hindex_slot *slots = n < x->n ? pb_calloc(n, sizeof *slots) : NULL;
    if (slots != NULL) {
        pb_free(x->slots);
        x->slots = slots;
        x->n = n;
    } else {
        memset(x->slots, 0, x->n * sizeof *x->slots);
    }
    x->count = 0;
}
