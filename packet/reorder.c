/* SPDX-License-Identifier: Apache-2.0
 * packet/reorder.c - sorted list of out-of-order TCP segments (see
 * reorder.h). The list is short (PB_TCP_REORDER_SEGMENTS at most), so an
 * insertion walks it.
 */
#include "reorder.h"

#include <string.h>

#include "beat/alloc.h"

/* a before b in sequence space */
static bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

size_t pb_reorder_seg_mem(const struct pb_reorder_seg *s)
{
    return sizeof *s + s->len;
}

enum pb_reorder_add pb_reorder_add(struct pb_reorder *r, const struct pb_pkt *pkt, uint32_t seq,
                                   bool fin)
{
    uint32_t len = (uint32_t)pkt->payload_len;
    struct pb_reorder_seg **pp = &r->head;
    while (*pp != NULL && !seq_lt(seq, (*pp)->seq)) {
        const struct pb_reorder_seg *o = *pp;
        if (o->seq == seq && o->len >= len && (o->fin || !fin)) {
            return PB_REORDER_DUPLICATE; /* a retransmit of what is held */
        }
        pp = &(*pp)->next;
    }
    struct pb_reorder_seg *s = pb_malloc(sizeof *s + len);
    if (s == NULL) {
        return PB_REORDER_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->seq = seq;
    s->len = len;
    s->fin = fin;
    s->pkt = *pkt;
    if (len > 0) {
        memcpy(s->data, pkt->payload, len);
    }
    s->pkt.payload = s->data;
    s->pkt.payload_len = len;
    const struct pb_tunnel *tun = pb_ev_tunnel();
    if (tun != NULL) {
        s->tunnel = *tun;
    }
    s->next = *pp;
    *pp = s;
    r->bytes += len;
    r->mem += pb_reorder_seg_mem(s);
    r->nsegs++;
    return PB_REORDER_HELD;
}

struct pb_reorder_seg *pb_reorder_pop(struct pb_reorder *r)
{
    struct pb_reorder_seg *s = r->head;
    if (s == NULL) {
        return NULL;
    }
    r->head = s->next;
    s->next = NULL;
    r->bytes -= s->len;
    r->mem -= pb_reorder_seg_mem(s);
    r->nsegs--;
    return s;
}

void pb_reorder_clear(struct pb_reorder *r)
{
    struct pb_reorder_seg *s;
    while ((s = pb_reorder_pop(r)) != NULL) {
        pb_free(s);
    }
    r->since_ns = 0;
}
