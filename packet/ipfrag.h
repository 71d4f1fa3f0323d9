/* SPDX-License-Identifier: Apache-2.0
 * packet/ipfrag.h - bounded IPv4/IPv6 fragment reassembly.
 *
 * Datagrams are keyed by (version, src, dst, protocol, id). At most
 * PB_MAX_FRAG_DATAGRAMS are pending (the oldest is dropped to make room),
 * each at most PB_MAX_FRAG_BYTES of payload, all together at most
 * PB_FRAG_BUDGET_BYTES; a datagram not complete PB_FRAG_TIMEOUT_NS (packet
 * time) after its first fragment is dropped. Exact duplicate fragments are
 * ignored; a fragment that overlaps received bytes with different content
 * drops the whole datagram (no evasion by overlap).
 */
#ifndef PB_PACKET_IPFRAG_H
#define PB_PACKET_IPFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reassembly timeout, in packet time (Linux's ipfrag_time). */
#define PB_FRAG_TIMEOUT_NS (30ull * 1000000000ull)
/* Memory held by all pending datagrams together (Linux's ipfrag_high_thresh). */
#define PB_FRAG_BUDGET_BYTES (4u * 1024u * 1024u)

struct pb_frag_key {
    uint8_t v6;
    uint8_t proto; /* IPv4: protocol field; IPv6: 0 (RFC 8200 keys on src, dst, id) */
    uint8_t src[16], dst[16];
    uint32_t id;
};

struct pb_frag_stats {
    uint64_t fragments;   /* fragments offered */
    uint64_t reassembled; /* datagrams completed */
    uint64_t dropped;     /* datagrams or fragments dropped */
    uint64_t timeouts;    /* datagrams dropped by the timeout */
    uint64_t evicted;     /* datagrams dropped to make room */
};

enum pb_frag_result {
    PB_FRAG_KEPT,    /* stored, datagram not complete yet */
    PB_FRAG_DONE,    /* datagram complete: see *out */
    PB_FRAG_DROPPED, /* fragment (or its datagram) dropped */
};

struct pb_ipfrag;

/* timeout_ns 0: PB_FRAG_TIMEOUT_NS. NULL on allocation failure. */
struct pb_ipfrag *pb_ipfrag_new(uint64_t timeout_ns);
void pb_ipfrag_free(struct pb_ipfrag *f);

/* Adds the fragment at byte offset `offset` (a multiple of 8) of `len`
 * bytes; `more` is the more-fragments flag. first_nh is the next protocol
 * of the offset-0 fragment (IPv6: the fragment header's next header; IPv4:
 * unused). On PB_FRAG_DONE *out (owned by the caller, pb_free it) holds the
 * whole payload of *outlen bytes and *out_nh the offset-0 fragment's
 * first_nh. */
enum pb_frag_result pb_ipfrag_add(struct pb_ipfrag *f, const struct pb_frag_key *key,
                                  uint64_t ts_ns, uint32_t offset, const uint8_t *data, size_t len,
                                  bool more, uint8_t first_nh, uint8_t **out, size_t *outlen,
                                  uint8_t *out_nh);
/* Drops datagrams older than the timeout at packet time ts_ns. */
void pb_ipfrag_expire(struct pb_ipfrag *f, uint64_t ts_ns);
size_t pb_ipfrag_pending(const struct pb_ipfrag *f);
const struct pb_frag_stats *pb_ipfrag_stats(const struct pb_ipfrag *f);

#endif
