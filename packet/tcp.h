/* SPDX-License-Identifier: Apache-2.0
 * packet/tcp.h - the TCP stream tracker, with Packetbeat's semantics
 * (packetbeat/protos/tcp/tcp.go):
 *
 *  - A connection is keyed by its 5-tuple in either direction and created on
 *    the first segment with payload or SYN whose ports belong to a protocol
 *    (pb_protos_lookup). Its tuple is stored client -> server: the side on
 *    the protocol's port is the server; when both ports are the protocol's,
 *    the sender of the first segment is the client (of a SYN/ACK, the
 *    receiver).
 *  - Per direction the next expected sequence number is set by the first
 *    segment with payload or FIN (not by the SYN, as in Packetbeat). A
 *    segment that ends at or before it is a retransmit and ignored (FIN
 *    included); one that starts before it is trimmed; one that starts after
 *    it is a gap of (seq - expected) bytes handed to ops->on_gap (true: the
 *    direction's buffered bytes are dropped) before its data is delivered.
 *  - FIN calls ops->on_fin for the sender's direction on every FIN segment
 *    that is not a retransmit. RST is not a FIN: Packetbeat ignores it; its
 *    payload, if any, is data.
 *  - ops->on_data gets every unconsumed byte of the direction. When nothing
 *    is buffered the segment's payload is passed directly (zero copy) and
 *    only the unconsumed tail is copied. While the parser returns OK having
 *    consumed some bytes but not all, it is called again (bounded). MORE
 *    keeps the rest; DROP drops the direction's buffer.
 *  - At most PB_MAX_STREAM_BYTES are buffered per direction; a segment that
 *    would pass the cap drops the buffer and the segment (as Packetbeat drops
 *    the stream) and is reported to the protocol as a gap of the bytes lost
 *    (ops->on_gap; the buffer is dropped whatever it returns).
 *  - At most PB_MAX_TCP_CONNS connections: the least recently active is
 *    evicted (on_expire, then conn_free). All connections together hold at
 *    most PB_MAX_TCP_MEMORY bytes (blocks, protocol state, buffers): beyond
 *    it the least recently active are evicted the same way (mem_evicted); a
 *    connection that alone is over it loses its buffers (mem_drops). A connection idle (wall clock) for
 *    its protocol's transaction_timeout expires the same way.
 *  - pb_tcp_close_all (end of input) frees every connection with conn_free
 *    but without on_expire: Packetbeat drops what is pending at EOF.
 *  - Reordering (ours, off until pb_tcp_set_reorder): a segment starting
 *    after the next expected byte (or after the byte a SYN announced) is
 *    held (packet/reorder.h) instead of being a gap at once, and delivered
 *    in order when the hole fills. A hole that cannot fill (caps, timeout in
 *    packet time, data from the other side, pb_tcp_flush, the connection's
 *    end) becomes the gap above and the held data follows it, so protocols
 *    see what they would have seen without reordering.
 */
#ifndef PB_PACKET_TCP_H
#define PB_PACKET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/proto.h"
#include "protos/protos.h"

/* Timeout of a connection whose protocol has none (Packetbeat's default). */
#define PB_TCP_DEFAULT_TIMEOUT_NS (10ll * 1000000000ll)
/* on_data calls per segment and direction before the rest waits for the next
 * segment. */
#define PB_TCP_MAX_PARSE_LOOPS 4096u

struct pb_tcp_stats {
    uint64_t segments; /* segments offered */
    uint64_t ignored;  /* no protocol on these ports (or not worth a connection) */
    uint64_t conns_created;
    uint64_t conns_expired; /* idle timeout */
    uint64_t conns_evicted; /* PB_MAX_TCP_CONNS reached */
    uint64_t mem_evicted;   /* connections evicted to stay within the memory budget */
    uint64_t mem_drops;     /* stream buffers dropped: one connection over the budget */
    uint64_t conns_dropped; /* freed at end of input or close, without on_expire */
    uint64_t retransmits;   /* segments ignored as already seen */
    uint64_t overlaps;      /* segments trimmed */
    uint64_t gaps;          /* gaps reported */
    uint64_t gap_bytes;
    uint64_t gap_drops;       /* gaps after which the buffer was dropped */
    uint64_t stream_overflow; /* buffers dropped at PB_MAX_STREAM_BYTES */
    uint64_t parse_drops;     /* PB_PARSE_DROP results */
    uint64_t fins;
    uint64_t nomem; /* allocations that failed: segment or connection lost */
    /* reordering (pb_tcp_set_reorder) */
    uint64_t reorder_held; /* out-of-order segments held for a hole to fill */
    uint64_t reordered;    /* held segments delivered in order once the hole filled */
    uint64_t reorder_gaps; /* holes that still became gaps (caps, timeout, answer, end) */
};

struct pb_tcp;

/* A tracker for the protocols in ps (borrowed). NULL on allocation failure. */
struct pb_tcp *pb_tcp_new(struct pb_protos *ps);
/* Frees every connection (conn_free, no on_expire) and the tracker. */
void pb_tcp_free(struct pb_tcp *t);

/* Caps (0: the default): connections (PB_MAX_TCP_CONNS) and bytes held for
 * them (PB_MAX_TCP_MEMORY). Call before the first segment. */
void pb_tcp_set_limits(struct pb_tcp *t, size_t max_conns, size_t max_mem);

/* Reordering (ours): out-of-order segments are held per stream direction,
 * at most max_bytes (0: reordering off, every hole a gap at once, as in
 * Packetbeat) and max_segs segments, for timeout_ns of packet time. See
 * packet/tcp.c for when a hole becomes a gap. Off in a new tracker;
 * packet/capture.c turns it on with PB_TCP_REORDER_* unless configured. */
void pb_tcp_set_reorder(struct pb_tcp *t, size_t max_bytes, unsigned max_segs, uint64_t timeout_ns);
/* Delivers everything held for holes (the holes become gaps): before the
 * protocols flush at the end of input. */
void pb_tcp_flush(struct pb_tcp *t);

/* With flows on, Packetbeat also tracks segments without payload: they keep
 * a connection alive. Off by default. */
void pb_tcp_set_track_empty(struct pb_tcp *t, bool on);

/* Asks the cache for the index slot pb_tcp_process will read first for a
 * segment of tuple: to call as soon as the frame is decoded. A hint; returns
 * the tuple's hash, for pb_tcp_process_hashed. */
uint32_t pb_tcp_prefetch(const struct pb_tcp *t, const struct pb_tuple *tuple);

/* Feeds one segment. pkt (borrowed for the call) holds the capture time, the
 * tuple as on the wire and the payload; seq and flags are from the TCP
 * header; now_ns is the wall clock used for idle timeouts. Returns the
 * connection's id, 0 when the segment belongs to no tracked connection. */
uint64_t pb_tcp_process(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t seq, uint8_t flags,
                        uint64_t now_ns);
struct pb_flow_link; /* packet/flows.h */
/* The same, with the hash pb_tcp_prefetch returned for pkt's tuple. When
 * link is not NULL, *link is set to what the segment's connection keeps
 * for the flow table (NULL: no connection; valid until the tracker's next
 * call) and *reply to whether the segment goes server -> client in it. */
uint64_t pb_tcp_process_hashed(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t hash,
                               uint32_t seq, uint8_t flags, uint64_t now_ns,
                               struct pb_flow_link **link, bool *reply);

/* Expires connections idle (wall clock) longer than their timeout. */
void pb_tcp_expire(struct pb_tcp *t, uint64_t now_ns);

/* End of input: frees every connection with conn_free, without on_expire. */
void pb_tcp_close_all(struct pb_tcp *t);

/* Where new connections get their id: fn(ctx) once per connection, in the
 * order they are created (packet workers hand out the id a single tracker
 * would have given). Without it ids count from 1 in a process-wide counter
 * that only one tracker may use at a time. */
typedef uint64_t (*pb_tcp_id_fn)(void *ctx);
void pb_tcp_set_id_source(struct pb_tcp *t, pb_tcp_id_fn fn, void *ctx);

size_t pb_tcp_count(const struct pb_tcp *t);
/* Bytes currently charged to connections (see PB_MAX_TCP_MEMORY). */
size_t pb_tcp_memory(const struct pb_tcp *t);
const struct pb_tcp_stats *pb_tcp_stats(const struct pb_tcp *t);
/* Bytes buffered (unconsumed) for the connection with this tuple (either
 * orientation) in direction d, or -1 when there is no such connection. For
 * tests and debugging. */
long pb_tcp_buffered(const struct pb_tcp *t, const struct pb_tuple *tuple, enum pb_dir d);

#endif
