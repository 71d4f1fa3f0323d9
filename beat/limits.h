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
/* TCP connections tracked at once; oldest idle evicted beyond this
 * (packetbeat.limits.tcp_connections). */
#define PB_MAX_TCP_CONNS 65536u
/* Memory held for all TCP connections together: connection blocks, their
 * protocol state (counted by pb_alloc_thread_bytes around each protocol
 * callback) and stream buffers. Beyond it the least recently active
 * connections are evicted (packetbeat.limits.tcp_memory). Room for one
 * stream at PB_MAX_STREAM_BYTES plus some. */
#define PB_MAX_TCP_MEMORY (12u * 1024u * 1024u)
/* Pending (unanswered) transactions per connection. */
#define PB_MAX_PENDING_TX 64u
/* IPv4 fragments: datagrams being reassembled, and bytes per datagram. */
#define PB_MAX_FRAG_DATAGRAMS 1024u
#define PB_MAX_FRAG_BYTES 65535u
/* Network flows (packetbeat.flows) tracked at once; frames that would open
 * one more are not counted (packetbeat.flows.max_flows). About 360 bytes a
 * flow (12 MB at the cap): room for ~1,000 new flows a second within the
 * default 30 s timeout, a busy DNS server's; Packetbeat has no cap. */
#define PB_MAX_FLOWS 32768u
/* Tunnels (packetbeat.interfaces.decapsulation): encapsulations peeled
 * off one frame (VXLAN in GRE in ... counts each); deeper frames are
 * skipped. */
#define PB_MAX_TUNNEL_DEPTH 4u
/* 5-tuples whose tunnel is remembered for events built after their packet
 * (timeouts); a newer tuple takes an older one's slot. About 90 bytes each,
 * allocated at the first tunnelled packet. */
#define PB_MAX_TUNNEL_TUPLES 4096u
/* TCP reordering (packetbeat.interfaces.tcp_reorder): out-of-order segments
 * held per stream direction until the hole before them fills, at most this
 * many bytes (max_bytes), this many segments, and this long in packet time
 * (timeout); past a cap the hole becomes a gap, as in Packetbeat. */
#define PB_TCP_REORDER_BYTES (256u * 1024u)
#define PB_TCP_REORDER_SEGMENTS 256u
#define PB_TCP_REORDER_TIMEOUT_NS (1000ull * 1000000ull)
/* Ports a single protocol may list. */
#define PB_MAX_PORTS 64u
/* Config: nesting depth and file size accepted by the loader. */
#define PB_MAX_CFG_DEPTH 64u
#define PB_MAX_CFG_BYTES (16u * 1024u * 1024u)
/* Snap length of a live capture (Packetbeat's default). */
#define PB_DEFAULT_SNAPLEN 65535
/* Frames read from files are taken whole up to this size. */
#define PB_MAX_FRAME_BYTES (256u * 1024u)
/* Message of one event data log line (pb_log_event_data: an event's JSON
 * and the error about it); longer ones are cut. Other log messages are cut
 * at 2 KiB. */
#define PB_LOG_EVENT_DATA_MAX (1024u * 1024u)

/* Packet workers (packetbeat.interfaces.workers): at most this many
 * threads; each has a ring of this many bytes for the decoded packets the
 * capture thread hands it (a full ring makes the capture thread wait). The
 * caps above (TCP connections and memory, flows, tunnel tuples) hold per
 * worker. */
#define PB_MAX_WORKERS 16u
#define PB_WORKER_RING_BYTES (4u * 1024u * 1024u)

/* Zip archives of Kibana dashboards (setup.dashboards.file/url, beat/zip.c):
 * the archive is held in memory up to this size (a download stops there);
 * unpacking stops at this many entries, this many bytes in one entry and
 * this many in all (a zip bomb fails at the first cap it reaches, whatever
 * sizes its headers claim). */
#define PB_ZIP_MAX_ARCHIVE_BYTES (64u * 1024u * 1024u)
#define PB_ZIP_MAX_ENTRIES 10000u
#define PB_ZIP_MAX_ENTRY_BYTES (64u * 1024u * 1024u)
#define PB_ZIP_MAX_TOTAL_BYTES (256u * 1024u * 1024u)

#endif
