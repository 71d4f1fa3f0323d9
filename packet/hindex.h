/* SPDX-License-Identifier: Apache-2.0
 * packet/hindex.h - an index of objects by a 32-bit hash of their key, for
 * the tables a frame looks up (TCP connections, flows).
 *
 * Open addressing with linear probing, at most half full (doubled beyond).
 * A slot keeps the object's hash next to the pointer, so that a lookup
 * reads a line or two of slots and touches only the objects whose hash is
 * the key's: the frame of a new connection or flow touches none. The index
 * starts small and stays in the cache while few objects live. Removal pulls
 * the later slots of the run back (no tombstones).
 *
 * The caller compares keys; a lookup is
 *
 *     for (size_t i = pb_hindex_home(x, h); x->slots[i].obj != NULL;
 *          i = pb_hindex_next(x, i))
 *         if (x->slots[i].hash == h && same_key(x->slots[i].obj, key)) ...
 */
#ifndef PB_PACKET_HINDEX_H
#define PB_PACKET_HINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_hindex_slot {
    void *obj; /* NULL: empty */
    uint32_t hash;
};

struct pb_hindex {
    struct pb_hindex_slot *slots; /* owned: n, a power of two */
    size_t n;
    size_t count;
};

/* An empty index of n slots at first (a power of two, at least 2). False
 * without memory. */
bool pb_hindex_init(struct pb_hindex *x, size_t n);
void pb_hindex_free(struct pb_hindex *x);

/* Adds obj (not in the index) under hash. False without memory. */
bool pb_hindex_add(struct pb_hindex *x, void *obj, uint32_t hash);
/* Takes obj, added under hash, out (nothing when it is not there). */
void pb_hindex_remove(struct pb_hindex *x, const void *obj, uint32_t hash);
/* Takes every object out, and shrinks the index back to n slots (a power
 * of two, at least 2) when it grew beyond (it stays as it is, emptied,
 * without memory for the smaller one). */
void pb_hindex_clear(struct pb_hindex *x, size_t n);

static inline size_t pb_hindex_home(const struct pb_hindex *x, uint32_t hash)
{
    return hash & (x->n - 1);
}

static inline size_t pb_hindex_next(const struct pb_hindex *x, size_t i)
{
    return (i + 1) & (x->n - 1);
}

#endif
