/* SPDX-License-Identifier: Apache-2.0
 * protos/proto.h - the contract between packet/ and the protocols.
 *
 * packet/ decodes frames and tracks TCP; for each connection on a port that
 * belongs to a protocol it feeds that protocol's callbacks with the stream
 * bytes of each direction. UDP datagrams and ICMP messages go to
 * on_datagram. A protocol never includes packet/ and never another protocol.
 */
#ifndef PB_PROTO_H
#define PB_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/limits.h"
#include "beat/net.h"

enum pb_dir {
    PB_DIR_TO_SERVER = 0, /* client -> server (request side) */
    PB_DIR_TO_CLIENT = 1, /* server -> client (response side) */
};

enum pb_parse {
    PB_PARSE_OK,   /* progress made; *consumed bytes may be dropped */
    PB_PARSE_MORE, /* need more bytes (after consuming *consumed) */
    PB_PARSE_DROP, /* garbage: the core drops this direction's buffer and state */
};

#define PB_TCP 1u
#define PB_UDP 2u
#define PB_ICMP 4u

/* One packet as a protocol sees it. */
struct pb_pkt {
    uint64_t ts_ns;        /* capture time (pcap timestamp) */
    struct pb_tuple tuple; /* as on the wire: src sent this packet */
    uint16_t vlan[2];
    uint8_t nvlan;
    uint8_t icmp_type, icmp_code; /* ICMP messages only */
    const uint8_t *payload;       /* borrowed: L4 payload (ICMP: whole message) */
    size_t payload_len;
};

struct pb_proto;
typedef void (*pb_emit_fn)(void *ctx, struct pb_proto *p, pb_event *ev);

/* Per-protocol counters (read by monitoring). */
struct pb_proto_stats {
    uint64_t events;       /* events emitted */
    uint64_t parse_errors; /* streams/datagrams dropped as garbage */
    uint64_t gaps;         /* gaps reported */
    uint64_t unmatched;    /* requests/responses without a partner */
    uint64_t dropped;      /* transactions dropped at a cap */
};

/* One configured protocol instance: options common to all protocols, parsed
 * by the core before init; the protocol's own options are read in init from
 * `cfg`. */
struct pb_proto {
    const struct pb_proto_ops *ops;
    const struct pb_cfg *cfg; /* borrowed: this protocol's config node; may be NULL */
    uint16_t ports[PB_MAX_PORTS];
    size_t nports;
    bool send_request;        /* default false */
    bool send_response;       /* default false */
    bool keep_null;           /* default false */
    int64_t tx_timeout_ns;    /* transaction_timeout, default 10s */
    void *priv;               /* owned by the protocol (init/fini) */
    pb_emit_fn emit;          /* set by the frame / tests */
    void *emit_ctx;
    struct pb_proto_stats stats;
};

/* A TCP connection as a protocol sees it. */
struct pb_conn {
    struct pb_proto *proto; /* borrowed */
    struct pb_tuple tuple;  /* src = client, dst = server */
    uint64_t id;            /* unique per process */
    uint64_t ts_ns;         /* time of the packet being delivered now */
    const struct pb_pkt *pkt; /* borrowed: current packet; NULL in gap/fin/expire */
    void *state;              /* ops->conn_size bytes, zeroed by the core */
};

struct pb_proto_ops {
    const char *name;      /* config key ("type:") and event.dataset */
    unsigned transports;   /* PB_TCP | PB_UDP | PB_ICMP */
    size_t conn_size;      /* per-connection state, zeroed by the core */
    const uint16_t *default_ports; /* only dhcpv4 has some, as in Packetbeat */
    size_t ndefault_ports;
    int64_t default_tx_timeout_ns; /* 0: 10 s */

    /* Reads the protocol's options from p->cfg, sets p->priv. 0 or -PB_E*. */
    int (*init)(struct pb_proto *p);
    void (*fini)(struct pb_proto *p);

    /* TCP: data is everything not yet consumed in this direction (the core
     * keeps it, up to PB_MAX_STREAM_BYTES). Set *consumed to what may be
     * dropped; it may be less than len. */
    enum pb_parse (*on_data)(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                             size_t *consumed);
    /* `lost` bytes are missing in direction d; return true to drop the
     * direction's buffered bytes and parser state (the common case). */
    bool (*on_gap)(struct pb_conn *c, enum pb_dir d, size_t lost);
    /* FIN (or RST) seen in direction d. */
    void (*on_fin)(struct pb_conn *c, enum pb_dir d);
    /* The connection idled out or is being evicted: flush what is pending. */
    void (*on_expire)(struct pb_conn *c);
    /* Frees what conn state owns (the state block itself is the core's). */
    void (*conn_free)(struct pb_conn *c);

    /* UDP datagrams and ICMP messages; the protocol keeps its own bounded
     * transaction table and expires it in on_tick. */
    void (*on_datagram)(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                        size_t len);
    /* Called about every 100 ms with the wall clock (ns since the epoch). */
    void (*on_tick)(struct pb_proto *p, uint64_t now_ns);
    /* End of input (-I): flush what Packetbeat would still publish. */
    void (*on_shutdown)(struct pb_proto *p);
};

/* Hands a finished event to the frame (processors, pipeline). Takes ev. */
void pb_emit(struct pb_proto *p, pb_event *ev);

/* The wall clock in ns since the epoch (for timers). */
uint64_t pb_now_ns(void);
/* The same to a few milliseconds (the kernel's tick), for the per-packet
 * clock of timeouts and idle checks: a tenth of the cost. */
uint64_t pb_now_coarse_ns(void);
/* The coarse wall clock as of the frame being handled, for the protocols'
 * transaction timeouts: the packet loop sets pb_frame_clock (per thread)
 * for each frame, so that a frame's parsers do not each read the clock;
 * where no loop sets it, the clock itself. */
extern _Thread_local uint64_t pb_frame_clock;
static inline uint64_t pb_frame_now_ns(void)
{
    return pb_frame_clock != 0 ? pb_frame_clock : pb_now_coarse_ns();
}

#endif
