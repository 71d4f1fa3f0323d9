/* SPDX-License-Identifier: Apache-2.0
 * beat/limits.h - every cap on memory in one place. Reaching a cap is
 * PB_ELIMIT, counted, never a crash. Config keys that override a cap are
 * named next to it.
 */
#ifndef PB_LIMITS_H
#define PB_LIMITS_H

/* TCP: bytes buffered per stream direction not yet consumed by the protocol
 * (Packetbeat's tcp stream cap, 10 MiB). */
#define PB_MAX_STREAM_BYTES (10u * 1024u * 1024u)
/* TCP connections tracked at once; oldest idle evicted beyond this. */
#define PB_MAX_TCP_CONNS 65536u
/* Pending (unanswered) transactions per connection. */
#define PB_MAX_PENDING_TX 64u
/* IPv4 fragments: datagrams being reassembled, and bytes per datagram. */
#define PB_MAX_FRAG_DATAGRAMS 1024u
#define PB_MAX_FRAG_BYTES 65535u
/* Network flows (packetbeat.flows) tracked at once; frames that would open
 * one more are not counted. */
#define PB_MAX_FLOWS 65536u
/* Ports a single protocol may list. */
#define PB_MAX_PORTS 64u
/* Config: nesting depth and file size accepted by the loader. */
#define PB_MAX_CFG_DEPTH 64u
#define PB_MAX_CFG_BYTES (16u * 1024u * 1024u)
/* Snap length of a live capture (Packetbeat's default). */
#define PB_DEFAULT_SNAPLEN 65535
/* Frames read from files are taken whole up to this size. */
#define PB_MAX_FRAME_BYTES (256u * 1024u)

#endif
