/* SPDX-License-Identifier: Apache-2.0
 * packet/flows.h - network flows (packetbeat.flows), as Packetbeat's
 * packetbeat/flows package computes them:
 *
 *  - Every frame that decodes at least to the link layer is counted in one
 *    bidirectional flow, keyed by the layers it carries: Ethernet addresses
 *    (unless allow_mismatched_eth), up to two VLAN ids, up to two IP layers,
 *    TCP or UDP ports and, for TCP connections the protocol tracker follows,
 *    the connection id. ICMP flows are keyed by the layers below ICMP; the
 *    last ICMP type/code seen per direction is kept.
 *  - The key is Packetbeat's flow id: its 17-byte layout header (flags,
 *    per-layer offsets, layer counts) plus the address bytes, each pair
 *    written in the orientation decided by the first layer whose two
 *    addresses differ. flow.id is that, base64 without padding.
 *  - The sender of a flow's first frame is its source. Per direction:
 *    packets and bytes (the frame's length on the wire).
 *  - Timers run on the wall clock: after aligning to the next multiple of
 *    10 s, a tick every gcd(timeout, period) (at least 1 s; `timeout` alone
 *    when period <= 0, e.g. -1s). Flows idle longer than `timeout` are
 *    reported with flow.final true and forgotten; every `period` all flows
 *    are reported (flow.final false). pb_flows_final reports every flow that
 *    is left as final (end of -I, shutdown). Event times (event.start/end/
 *    duration) come from the packets; @timestamp is the report time.
 *  - enable_delta_flow_reports: packets and bytes restart from 0 after each
 *    report.
 *  - At most max_flows (packetbeat.flows.max_flows, default PB_MAX_FLOWS)
 *    flows live at once; a frame that would open a new flow beyond that is
 *    not counted (stats.dropped).
 *
 * Single-threaded: called from the capture loop, or from one packet
 * worker per table (packet/workers.h).
 */
#ifndef PB_PACKET_FLOWS_H
#define PB_PACKET_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "protos/proto.h"

struct pb_decoded; /* packet/decoder.h */

/* ---- flow id (Packetbeat's rawFlowID) ---- */

/* Largest id: two MACs, 2 x (VLAN + IPv4 pair + IPv6 pair), ICMP id, TCP
 * and UDP ports, 64-bit connection id. */
#define PB_FLOW_ID_MAX 114
/* flags, offsets and counts that precede the address bytes */
#define PB_FLOW_META_LEN 17
/* base64 (no padding) of meta + id, plus NUL */
#define PB_FLOW_ID_STRLEN (((PB_FLOW_META_LEN + PB_FLOW_ID_MAX) * 4 + 2) / 3 + 1)

/* Layers, in the order of their flag bit and offset slot. */
enum pb_flow_layer {
    PB_FLOW_ETH,
    PB_FLOW_OUTER_VLAN,
    PB_FLOW_VLAN,
    PB_FLOW_OUTER_IPV4,
    PB_FLOW_IPV4,
    PB_FLOW_OUTER_IPV6,
    PB_FLOW_IPV6,
    PB_FLOW_ICMPV4,
    PB_FLOW_ICMPV6,
    PB_FLOW_UDP,
    PB_FLOW_TCP,
    PB_FLOW_CONN_ID,
    PB_FLOW_NLAYERS
};

#define PB_FLOW_DIR_UNSET (-1)
#define PB_FLOW_DIR_FORWARD 0
#define PB_FLOW_DIR_REVERSED 1

struct pb_flow_id {
    int8_t dir; /* PB_FLOW_DIR_*: orientation of the address pairs in b */
    uint8_t len;
    bool overflow; /* a layer did not fit: the id is not used */
    /* From flags to the end of b: pb_flow_id_raw's layout on a
     * little-endian host, so that the table hashes and compares it in
     * place. */
    uint16_t flags;               /* 1 << enum pb_flow_layer per layer present */
    uint8_t off[PB_FLOW_NLAYERS]; /* offset of each layer in b, 0xff unset */
    uint8_t cnt_eth, cnt_vlan, cnt_ip;
    uint8_t b[PB_FLOW_ID_MAX];
};

void pb_flow_id_reset(struct pb_flow_id *id);
void pb_flow_id_add_eth(struct pb_flow_id *id, const uint8_t src[6], const uint8_t dst[6]);
void pb_flow_id_add_vlan(struct pb_flow_id *id, uint16_t vid);
/* IPv4 or IPv6 by src->v6; a second call makes the first the outer layer. */
void pb_flow_id_add_ip(struct pb_flow_id *id, const struct pb_ip *src, const struct pb_ip *dst);
void pb_flow_id_add_tcp(struct pb_flow_id *id, uint16_t sport, uint16_t dport);
void pb_flow_id_add_udp(struct pb_flow_id *id, uint16_t sport, uint16_t dport);
void pb_flow_id_add_conn_id(struct pb_flow_id *id, uint64_t conn_id);
/* meta + id bytes (what the table is keyed by) into out (>= PB_FLOW_META_LEN
 * + PB_FLOW_ID_MAX); returns the length. */
size_t pb_flow_id_raw(const struct pb_flow_id *id, uint8_t *out);
/* flow.id: base64 (standard alphabet, no padding) of pb_flow_id_raw. */
const char *pb_flow_id_string(const struct pb_flow_id *id, char out[PB_FLOW_ID_STRLEN]);

/* ---- the flow table ---- */

struct pb_flows_config {
    int64_t timeout_ns; /* timeout, default 30s, >= 1s */
    int64_t period_ns;  /* period, default 10s; <= 0: only at the end of a flow */
    bool delta;         /* enable_delta_flow_reports */
    bool allow_mismatched_eth;
    size_t max_flows; /* 0: PB_MAX_FLOWS */
};

/* Reads the packetbeat.flows section (timeout, period as Go durations,
 * enable_delta_flow_reports, allow_mismatched_eth; ours: max_flows). 0 or -PB_EINVAL with
 * Packetbeat's message in err. */
int pb_flows_config_read(const struct pb_cfg *section, struct pb_flows_config *out, char *err,
                         size_t errlen);

struct pb_flows_stats {
    uint64_t created;   /* flows opened */
    uint64_t dropped;   /* frames not counted: PB_MAX_FLOWS or layouts cap reached */
    uint64_t timed_out; /* flows ended by the timeout */
    uint64_t events;    /* flow events emitted */
};

struct pb_flows;

/* A flow table. Events go to emit(emit_ctx, p, ev) where p is a pseudo
 * protocol whose cfg is `section` (borrowed; so that the publisher applies
 * the flows section's fields, tags, processors and index). now_ns is the
 * wall clock at start (the timer aligns on it). NULL on allocation failure. */
struct pb_flows *pb_flows_new(const struct pb_flows_config *cfg, const struct pb_cfg *section,
                              pb_emit_fn emit, void *emit_ctx, uint64_t now_ns);
void pb_flows_free(struct pb_flows *f);

/* Counts one frame. d is borrowed; transport is pb_decode's result (d then
 * holds a TCP, UDP or ICMP packet, with d->conn_id set for tracked TCP).
 * now_ns is the wall clock (for the timeout). */
void pb_flows_packet(struct pb_flows *f, const struct pb_decoded *d, bool transport,
                     uint64_t now_ns);
/* What a TCP connection keeps for the flow table (packet/tcp.c holds one
 * per connection, zeroed when the connection is made): the flow its last
 * segment was counted in, the layers that segment had around its tuple
 * (MACs, VLANs) put in the connection's client -> server order, and the
 * table's epoch then. A later segment of the connection with the same
 * layers counts in that flow without looking it up, as long as the epoch
 * holds: it changes whenever a flow is forgotten, and no two tables share
 * one. Read and written by pb_flows_packet_linked only. */
struct pb_flow_link {
    void *flow;      /* borrowed: the table's */
    uint64_t epoch;  /* 0: nothing kept */
    uint64_t mac[2]; /* client's and server's MAC (0 without), VLAN id << 48 */
    uint32_t misc;   /* VLAN count, Ethernet or not */
    uint8_t dir;     /* the flow's direction of a client -> server segment */
};

/* pb_flows_packet for a TCP segment of a tracked connection: link is the
 * connection's (see struct pb_flow_link; NULL: none, pb_flows_packet),
 * reply tells whether the segment goes server -> client. Counts exactly
 * as pb_flows_packet does, in the flow the link keeps when the segment
 * has its layers, and keeps the flow it was counted in otherwise. */
void pb_flows_packet_linked(struct pb_flows *f, const struct pb_decoded *d, bool transport,
                            uint64_t now_ns, struct pb_flow_link *link, bool reply);
/* Asks the cache for the flow link keeps (a hint; it may be gone). */
static inline void pb_flow_link_prefetch(const struct pb_flow_link *link)
{
    __builtin_prefetch(link->flow, 1, 3);
}
/* Asks the cache for what pb_flows_packet will read for d, to call as soon
 * as d is decoded: the protocols' work on it hides the wait. The key it
 * works out is kept for the pb_flows_packet of the same d (the next call;
 * the TCP connection id may be set in between). f may be NULL. */
void pb_flows_prefetch(struct pb_flows *f, const struct pb_decoded *d, bool transport);
/* Runs the timers (wall clock); call often (every 100 ms or so). */
void pb_flows_tick(struct pb_flows *f, uint64_t now_ns);
/* Reports every remaining flow with flow.final true and forgets them. */
void pb_flows_final(struct pb_flows *f, uint64_t now_ns);

/* Several tables sharing one max_flows (packet workers): instead of its
 * own count, a table asks admit(ctx, max_flows) before it opens a flow
 * (true: room for one more, now counted) and calls release(ctx) for each
 * flow it forgets (or could not open after all). */
typedef bool (*pb_flows_admit_fn)(void *ctx, size_t max_flows);
typedef void (*pb_flows_release_fn)(void *ctx);
void pb_flows_set_admission(struct pb_flows *f, pb_flows_admit_fn admit,
                            pb_flows_release_fn release, void *ctx);

/* The wall-clock time of the next timer run and the interval between runs
 * (pb_flows_tick does nothing before it: flows only close then). */
uint64_t pb_flows_timer(const struct pb_flows *f, int64_t *interval_ns);

size_t pb_flows_count(const struct pb_flows *f);
const struct pb_flows_stats *pb_flows_stats(const struct pb_flows *f);

#endif
