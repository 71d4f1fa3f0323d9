/* SPDX-License-Identifier: Apache-2.0
 * packet/packet.h - capture (libpcap live or -I file), decode, TCP/UDP/ICMP
 * dispatch to the protocols and flows. The frame opens one capture and runs
 * it until the file ends or a signal asks it to stop.
 */
#ifndef PB_PACKET_H
#define PB_PACKET_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "beat/cfg.h"
#include "protos/protos.h"

struct pb_capture_opts {
    const char *file;  /* -I: read this pcap/pcapng instead of a device */
    bool topspeed;     /* -t: do not pace by pcap timestamps */
    int loops;         /* -l: times to read the file (default 1, <= 0 forever) */
    const char *dump;  /* -dump: write every packet seen to this pcap prefix */
    bool one_at_a_time; /* -O: wait for Enter before each packet */
};

struct pb_capture;

/* Opens the capture as packetbeat.interfaces.* say (device, snaplen,
 * buffer_size_mb, with_vlans, bpf_filter, type) or the file. Protocols are
 * borrowed. Flow events (packetbeat.flows) go to emit. NULL with err set. */
struct pb_capture *pb_capture_open(const struct pb_cfg *root, const struct pb_capture_opts *o,
                                   struct pb_protos *protos, pb_emit_fn emit, void *emit_ctx,
                                   char *err, size_t errlen);
/* Runs until end of input or *stop; returns 0 or -PB_E*. At the end it
 * flushes TCP connections and flows as Packetbeat does. */
int pb_capture_run(struct pb_capture *c, volatile sig_atomic_t *stop);
void pb_capture_close(struct pb_capture *c);

/* The BPF filter Packetbeat would install for this config ("" for none);
 * owned by the caller (pb_free). */
char *pb_capture_filter(const struct pb_cfg *root, const struct pb_protos *protos);
/* `test config`: compiles bpf_filter (if any); 0 or -PB_EINVAL with err. */
int pb_capture_check_filter(const struct pb_cfg *root, char *err, size_t errlen);
/* `packetbeat devices`: one line per device as Packetbeat prints them. */
int pb_capture_list_devices(FILE *out);

/* ---- additions (packet/) ---- */

struct pb_decoded;      /* packet/decoder.h */
struct pb_decode_stats; /* packet/decoder.h */
struct pb_flows_stats;  /* packet/flows.h */
struct pb_tcp_stats;    /* packet/tcp.h */

/* Called for every frame read, after the transport layer handled it (so
 * d->conn_id is set for TCP); `transport` is false when the frame did not
 * decode down to TCP, UDP or ICMP (d then holds what was decoded). The hook
 * for flows (packetbeat.flows); d is borrowed for the call. With packet
 * workers it is called from their threads, concurrently. */
typedef void (*pb_packet_hook_fn)(void *ctx, const struct pb_decoded *d, bool transport);
void pb_capture_set_packet_hook(struct pb_capture *c, pb_packet_hook_fn fn, void *ctx);

/* Staged publishing: each packet thread (the capture thread, or each
 * worker) calls fn(ctx, true) as it starts and whenever it may wait (no
 * input now, a timer tick, pacing, -O), and fn(ctx, false) before it stops;
 * between calls the events it emits may wait in a stage of its own. */
typedef void (*pb_stage_fn)(void *ctx, bool on);
void pb_capture_set_stage(struct pb_capture *c, pb_stage_fn fn, void *ctx);

/* `test config`: with flows on, checks packetbeat.flows (timeout, period);
 * 0 or -PB_EINVAL with Packetbeat's message in err. */
int pb_capture_check_flows(const struct pb_cfg *root, char *err, size_t errlen);

/* True when packetbeat.flows is present and enabled (Packetbeat's rule). */
bool pb_capture_flows_enabled(const struct pb_cfg *root);

/* Counters for monitoring; borrowed, valid until pb_capture_close. */
const struct pb_decode_stats *pb_capture_decode_stats(const struct pb_capture *c);
const struct pb_tcp_stats *pb_capture_tcp_stats(const struct pb_capture *c);
/* NULL when flows are off. */
const struct pb_flows_stats *pb_capture_flows_stats(const struct pb_capture *c);
/* Bytes charged to TCP connections now (packetbeat.limits.tcp_memory). */
size_t pb_capture_tcp_memory(const struct pb_capture *c);
uint64_t pb_capture_packets(const struct pb_capture *c); /* frames read */
/* Packet worker threads (packetbeat.interfaces.workers); 1: none, the
 * capture thread does it all. With more, events are emitted from the
 * workers' threads (the emit function must be thread-safe) and counters
 * are sums over the workers. */
unsigned pb_capture_workers(const struct pb_capture *c);
/* Counters of protocol i (the index in the protos given to
 * pb_capture_open), summed over the workers. */
void pb_capture_proto_stats(const struct pb_capture *c, size_t i, struct pb_proto_stats *out);

/* The live sniffer's counters (the kernel's included). */
struct pb_capture_sniffer_stats {
    const char *type;       /* "af_packet" or "pcap" */
    const char *device;     /* borrowed */
    uint64_t packets;       /* frames read */
    uint64_t received;      /* frames that passed the kernel filter, dropped ones included */
    uint64_t dropped;       /* frames the kernel dropped: its buffer was full */
    uint64_t if_dropped;    /* pcap: dropped by the interface or its driver */
    uint64_t queue_freezes; /* af_packet: times the ring was full */
    uint64_t polls;         /* af_packet: poll() calls waiting for frames */
};
/* False (st zeroed) when reading a file. May be called from another thread
 * than pb_capture_run. */
bool pb_capture_sniffer_stats(struct pb_capture *c, struct pb_capture_sniffer_stats *st);

#endif
