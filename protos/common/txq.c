/* SPDX-License-Identifier: Apache-2.0
 * protos/common/txq.c - bounded FIFO of pointers (see txq.h).
 */
#include "protos/common/txq.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/limits.h"

static size_t qcap(const struct pb_txq *q)
{
    return q->cap != 0 ? q->cap : PB_MAX_PENDING_TX;
}

void pb_txq_set_cap(struct pb_txq *q, size_t cap)
{
    q->cap = cap;
}

/* Grows the ring so one more item fits; keeps the order. */
static int grow(struct pb_txq *q)
{
    size_t n = q->alloc == 0 ? 4 : q->alloc * 2;
    if (n > qcap(q)) {
        n = qcap(q);
    }
    void **items = pb_calloc(n, sizeof *items);
    if (items == NULL) {
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < q->len; i++) {
        items[i] = q->items[(q->head + i) % q->alloc];
    }
    pb_free(q->items);
    q->items = items;
    q->alloc = n;
    q->head = 0;
    return 0;
}

int pb_txq_push(struct pb_txq *q, void *item)
{
    if (q->len >= qcap(q)) {
        return -PB_ELIMIT;
    }
    if (q->len == q->alloc) {
        int rc = grow(q);
        if (rc < 0) {
            return rc;
        }
    }
    q->items[(q->head + q->len) % q->alloc] = item;
    q->len++;
    return 0;
}

void *pb_txq_pop(struct pb_txq *q)
{
    if (q->len == 0) {
        return NULL;
    }
    void *item = q->items[q->head];
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->alloc;
    q->len--;
    return item;
}

void *pb_txq_peek(const struct pb_txq *q)
{
    return q->len == 0 ? NULL : q->items[q->head];
}

void *pb_txq_at(const struct pb_txq *q, size_t i)
{
    return i >= q->len ? NULL : q->items[(q->head + i) % q->alloc];
}

size_t pb_txq_len(const struct pb_txq *q)
{
    return q->len;
}

bool pb_txq_empty(const struct pb_txq *q)
{
    return q->len == 0;
}

void pb_txq_clear(struct pb_txq *q, pb_txq_free_fn fn)
{
    while (q->len > 0) {
        void *item = pb_txq_pop(q);
        if (fn != NULL) {
            fn(item);
        }
    }
    q->head = 0;
}

void pb_txq_free(struct pb_txq *q, pb_txq_free_fn fn)
{
    pb_txq_clear(q, fn);
    pb_free(q->items);
    size_t cap = q->cap;
    memset(q, 0, sizeof *q);
    q->cap = cap;
}
