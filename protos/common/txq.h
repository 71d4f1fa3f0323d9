/* SPDX-License-Identifier: Apache-2.0
 * protos/common/txq.h - a bounded FIFO of pointers for request/response
 * pairing per connection (pipelining: requests wait here for their
 * responses, oldest first).
 *
 * A zeroed struct pb_txq is a valid empty queue whose capacity is
 * PB_MAX_PENDING_TX (so it can live in connection state that the core
 * zeroes). Storage grows on demand up to the capacity; pushing onto a full
 * queue fails and the caller decides what to drop (and counts it).
 */
#ifndef PB_TXQ_H
#define PB_TXQ_H

#include <stdbool.h>
#include <stddef.h>

struct pb_txq {
    void **items; /* owned ring storage; the items themselves belong to the caller */
    size_t head;  /* index of the oldest item */
    size_t len;   /* items queued */
    size_t alloc; /* slots allocated */
    size_t cap;   /* max items; 0 means PB_MAX_PENDING_TX */
};

typedef void (*pb_txq_free_fn)(void *item);

/* Sets the capacity of an empty queue (0: PB_MAX_PENDING_TX). */
void pb_txq_set_cap(struct pb_txq *q, size_t cap);
/* Appends item at the tail. 0, -PB_ELIMIT when full, -PB_ENOMEM; on
 * failure the item is not queued and still belongs to the caller. */
int pb_txq_push(struct pb_txq *q, void *item);
/* Removes and returns the oldest item, NULL when empty. */
void *pb_txq_pop(struct pb_txq *q);
/* The oldest item (borrowed), NULL when empty. */
void *pb_txq_peek(const struct pb_txq *q);
/* The i-th oldest item (borrowed), NULL past the end. */
void *pb_txq_at(const struct pb_txq *q, size_t i);
size_t pb_txq_len(const struct pb_txq *q);
bool pb_txq_empty(const struct pb_txq *q);
/* Frees every queued item with fn (may be NULL) and empties the queue; the
 * storage is kept. */
void pb_txq_clear(struct pb_txq *q, pb_txq_free_fn fn);
/* pb_txq_clear plus the storage; the queue is zeroed (still usable). */
void pb_txq_free(struct pb_txq *q, pb_txq_free_fn fn);

#endif
