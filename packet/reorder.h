/* SPDX-License-Identifier: Apache-2.0
 * packet/reorder.h - the out-of-order segments of one TCP stream direction,
 * kept sorted by sequence number until the hole in front of them fills
 * (packet/tcp.c decides when to hold and when to give up).
 *
 * Sequence numbers compare modulo 2^32 (RFC 1982 style): every segment held
 * lies less than 2^31 ahead of the stream's next expected byte, which the
 * caller guarantees by its byte budget.
 */
#ifndef PB_PACKET_REORDER_H
#define PB_PACKET_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/event.h"
#include "protos/proto.h"

/* One held segment: a copy of the packet's metadata and payload. */
struct pb_reorder_seg {
    struct pb_reorder_seg *next; /* the following segment (higher seq) */
    uint32_t seq, len;
    bool fin;
    struct pb_pkt pkt;       /* payload points at data[] */
    struct pb_tunnel tunnel; /* the packet's tunnel (kind NONE: none) */
    uint8_t data[];
};

struct pb_reorder {
    struct pb_reorder_seg *head; /* owned: lowest seq first */
    size_t bytes;                /* payload bytes held */
    size_t mem;                  /* bytes allocated for the segments */
    unsigned nsegs;
    uint64_t since_ns; /* packet time of the first segment held since it was empty */
};

enum pb_reorder_add {
    PB_REORDER_HELD,      /* copied and kept */
    PB_REORDER_DUPLICATE, /* an identical segment is already held: nothing kept */
    PB_REORDER_NOMEM,     /* allocation failed: nothing kept */
};

/* Keeps a copy of the segment [seq, seq + pkt->payload_len) (fin: it
 * carries FIN) with the current tunnel (pb_ev_tunnel). */
enum pb_reorder_add pb_reorder_add(struct pb_reorder *r, const struct pb_pkt *pkt, uint32_t seq,
                                   bool fin);
/* The held segment with the lowest seq, NULL when empty (borrowed). */
static inline const struct pb_reorder_seg *pb_reorder_first(const struct pb_reorder *r)
{
    return r->head;
}
/* Unlinks and returns that segment; the caller owns it (pb_free) and
 * decides what to do with it. NULL when empty. */
struct pb_reorder_seg *pb_reorder_pop(struct pb_reorder *r);
/* Bytes the segment took (what pb_reorder_add added to r->mem). */
size_t pb_reorder_seg_mem(const struct pb_reorder_seg *s);
/* Frees every held segment. */
void pb_reorder_clear(struct pb_reorder *r);

#endif
