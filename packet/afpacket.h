/* SPDX-License-Identifier: Apache-2.0
 * packet/afpacket.h - the af_packet sniffer (packetbeat.interfaces.type:
 * af_packet): a PF_PACKET socket with a TPACKET_V3 receive ring mapped into
 * our memory, read block by block without a copy or a system call per
 * frame. Linux only.
 *
 * Frames come out as pcap would give them:
 *  - an Ethernet or loopback device: DLT_EN10MB (SOCK_RAW);
 *  - `any` and devices without an Ethernet header: DLT_LINUX_SLL, the
 *    16-byte cooked header built in front of the network header
 *    (SOCK_DGRAM), as libpcap does;
 *  - a VLAN tag the kernel took off (tp_vlan_tci) is put back in the frame;
 *  - on a loopback device the outgoing copy of each frame is left out
 *    (every frame passes the device twice), as libpcap does;
 *  - timestamps in nanoseconds.
 * Ring size as Packetbeat computes it (pb_afp_compute_size); fanout groups
 * in hash mode with defragmentation (packetbeat.interfaces.fanout_group).
 */
#ifndef PB_PACKET_AFPACKET_H
#define PB_PACKET_AFPACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_AFP_NO_FANOUT (-1)

struct pb_afp_opts {
    const char *device; /* "any" or an interface name */
    uint32_t snaplen;   /* > 0 */
    uint32_t buffer_mb; /* the ring's target size (buffer_size_mb) */
    int fanout;         /* a group id 0..65535, or PB_AFP_NO_FANOUT */
    const char *filter; /* a pcap filter expression; NULL or "" for none */
    bool promisc;       /* promiscuous mode while the socket is open (not on any) */
};

/* One frame; data is borrowed until the next pb_afp_next or pb_afp_close. */
struct pb_afp_frame {
    const uint8_t *data;
    uint32_t caplen;  /* bytes at data */
    uint32_t wirelen; /* the frame's length on the wire (link header included) */
    uint64_t ts_ns;   /* UNIX time in ns */
};

/* Counters; the socket_* ones are the kernel's (PACKET_STATISTICS), summed
 * over the socket's life. Names follow Packetbeat's af_packet metrics. */
struct pb_afp_stats {
    uint64_t socket_packets;       /* frames that passed the filter, dropped ones included */
    uint64_t socket_drops;         /* frames the kernel dropped: the ring was full */
    uint64_t socket_queue_freezes; /* times the ring was full */
    uint64_t packets;              /* frames handed out by pb_afp_next */
    uint64_t polls;                /* poll() calls waiting for a block */
    uint64_t skipped;              /* frames left out: loopback outgoing copies, bad headers */
};

struct pb_afp;

/* Ring geometry for a target size, as Packetbeat sizes it: a frame is the
 * smallest page multiple above snaplen (or a page split evenly when snaplen
 * is below a page), a block holds 128 frames, and as many blocks as fit in
 * buffer_mb. 0, or -1 when buffer_mb is too small for one block. */
int pb_afp_compute_size(uint32_t buffer_mb, uint32_t snaplen, uint32_t page, uint32_t *frame_size,
                        uint32_t *block_size, uint32_t *block_nr);

/* Packetbeat's blocks (128 frames: 8 MiB at the default snaplen) are cut
 * into blocks of at most PB_AFP_MAX_BLOCK (whole frames, at least one), the
 * ring keeping its size. The kernel drops a frame now and then (tp_drops
 * without a queue freeze) when a frame from one CPU meets a block being
 * handed over on another, mostly when a block is retired by its timeout
 * before it is full; blocks that fill within tp_retire_blk_tov avoid that.
 * Seen on Linux 6.18 with 3 x 8 MiB and 24 x 1 MiB blocks, not with
 * 192 x 128 KiB (libpcap's blocks are about one frame too). */
#define PB_AFP_MAX_BLOCK (128u * 1024u)
void pb_afp_split_blocks(uint32_t frame_size, uint32_t *block_size, uint32_t *block_nr);

/* Opens and starts the capture. NULL with a message in err on failure
 * (no permission, no such device, a bad filter, a fanout group that does
 * not take us, not Linux). */
struct pb_afp *pb_afp_open(const struct pb_afp_opts *o, char *err, size_t errlen);

/* PB_LINK_EN10MB or PB_LINK_LINUX_SLL (packet/decoder.h). */
int pb_afp_linktype(const struct pb_afp *a);

/* The next frame: 1 with f filled, 0 when none came within timeout_ms,
 * -1 on a socket error (err set). Releases the previous frame's block to
 * the kernel once all its frames were handed out. */
int pb_afp_next(struct pb_afp *a, int timeout_ms, struct pb_afp_frame *f, char *err, size_t errlen);

/* Reads the kernel counters and fills st. Safe to call from another thread
 * than the one reading frames (the counters it reads only grow). */
void pb_afp_stats(struct pb_afp *a, struct pb_afp_stats *st);

void pb_afp_close(struct pb_afp *a); /* accepts NULL */

#endif
