/* SPDX-License-Identifier: Apache-2.0
 * packet/decoder.h - link, VLAN, IP and transport header decoding. Pure: no
 * I/O; every byte is read through beat/rd.h. A frame that cannot be decoded
 * is counted in struct pb_decode_stats and skipped, never trusted.
 *
 * Link types (DLT or LINKTYPE values): EN10MB, LINUX_SLL, LINUX_SLL2,
 * NULL and LOOP (address family in either byte order), RAW (DLT 12/14 and
 * LINKTYPE 101, version from the first nibble), LINKTYPE_IPV4 and _IPV6.
 * Up to two VLAN tags (0x8100, 0x88a8, 0x9100); up to two IP layers (IP in
 * IP, IPv6 in IPv4...): the inner one makes the tuple. IPv4 options are
 * skipped; IPv4 and IPv6 fragments are reassembled (packet/ipfrag.h); IPv6
 * extension headers (hop-by-hop, routing, destination options, fragment,
 * AH) are walked. Transports: TCP, UDP, ICMPv4, ICMPv6. Tunnels (VXLAN,
 * GENEVE, GRE, ERSPAN; IP in IP) are decapsulated as pb_decoder_set_decap
 * says (packet/tunnel.h), up to PB_MAX_TUNNEL_DEPTH per frame.
 */
#ifndef PB_PACKET_DECODER_H
#define PB_PACKET_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/event.h"
#include "beat/net.h"

/* Link types we decode (pcap DLT_* / LINKTYPE_* numbers). */
#define PB_LINK_NULL 0
#define PB_LINK_EN10MB 1
#define PB_LINK_RAW_DLT 12     /* DLT_RAW on most systems */
#define PB_LINK_RAW_OPENBSD 14 /* DLT_RAW on OpenBSD */
#define PB_LINK_RAW 101        /* LINKTYPE_RAW in files */
#define PB_LINK_LOOP 108
#define PB_LINK_LINUX_SLL 113
#define PB_LINK_IPV4 228
#define PB_LINK_IPV6 229
#define PB_LINK_LINUX_SLL2 276

/* TCP flag bits as on the wire. */
#define PB_TCP_FIN 0x01u
#define PB_TCP_SYN 0x02u
#define PB_TCP_RST 0x04u
#define PB_TCP_PSH 0x08u
#define PB_TCP_ACK 0x10u
#define PB_TCP_URG 0x20u

struct pb_decode_stats {
    uint64_t frames;      /* frames handed to pb_decode */
    uint64_t decoded;     /* frames that reached TCP, UDP or ICMP */
    uint64_t unsupported; /* not for us: ARP, LLC, other IP protocols, ... */
    uint64_t malformed;   /* impossible headers: skipped */
    uint64_t truncated; /* shorter than the IP length says (snaplen): decoded with what is there */
    uint64_t vlan_too_deep; /* more than two VLAN tags: skipped */
    uint64_t fragments;     /* IP fragments seen */
    uint64_t reassembled;   /* datagrams rebuilt from fragments */
    uint64_t frag_dropped;  /* fragments or datagrams given up (caps, conflicts, timeouts) */
    uint64_t frag_evicted;  /* incomplete datagrams dropped to make room (PB_MAX_FRAG_DATAGRAMS,
                               PB_FRAG_BUDGET_BYTES) */
    uint64_t frag_timeouts; /* incomplete datagrams dropped after PB_FRAG_TIMEOUT_NS */

    uint64_t tunnels;         /* tunnel headers decapsulated (packet/tunnel.h) */
    uint64_t tunnel_too_deep; /* frames with more than PB_MAX_TUNNEL_DEPTH tunnels: skipped */
};

/* One decoded frame. Pointers are borrowed from the frame or from the
 * decoder's reassembly buffer; valid until the next pb_decode call. */
struct pb_decoded {
    uint64_t ts_ns;
    uint32_t wire_len; /* original length of the frame on the wire */
    bool has_eth;
    uint8_t src_mac[6], dst_mac[6];
    uint16_t vlan[2]; /* outer first */
    uint8_t nvlan;
    uint8_t nip;                       /* IP layers seen (2 for IP in IP) */
    struct pb_tuple tuple;             /* inner IP layer; ports 0 for ICMP */
    struct pb_ip outer_src, outer_dst; /* the outer IP layer when nip == 2 */
    uint8_t tcp_flags;                 /* PB_TCP_* */
    uint32_t tcp_seq, tcp_ack;
    uint16_t tcp_window;
    uint8_t icmp_type, icmp_code;
    const uint8_t *payload; /* TCP/UDP payload; ICMP: the whole ICMP message */
    size_t payload_len;
    bool truncated;   /* the frame was cut short of the IP length */
    bool reassembled; /* rebuilt from IP fragments */
    bool fragment;    /* an IP fragment was seen (kept, dropped or completing) */
    uint64_t conn_id; /* TCP connection id, set by the TCP tracker (0: none) */
    /* The outermost tunnel decapsulated (kind PB_TUNNEL_NONE: none). After
     * a VXLAN, GENEVE, GRE or ERSPAN header the inner packet is decoded as
     * a frame of its own: MACs, VLANs and IP layers are the inner ones and
     * the outer addresses are in tunnel.src/dst. IP in IP keeps
     * Packetbeat's view (nip 2, outer_src/dst) and is recorded here too. */
    struct pb_tunnel tunnel;
};

struct pb_decoder;

/* A decoder for frames of one link type; NULL when the link type is not
 * supported (err says which) or on allocation failure. */
struct pb_decoder *pb_decoder_new(int linktype, char *err, size_t errlen);
void pb_decoder_free(struct pb_decoder *d);
bool pb_decoder_link_supported(int linktype);

/* Decodes one frame of caplen bytes (wire_len on the wire) captured at
 * ts_ns. Returns true when out holds a TCP, UDP or ICMP packet; false when
 * the frame is skipped (the stats say why) or a fragment is kept for later. */
bool pb_decode(struct pb_decoder *d, const uint8_t *frame, size_t caplen, uint32_t wire_len,
               uint64_t ts_ns, struct pb_decoded *out);

const struct pb_decode_stats *pb_decoder_stats(const struct pb_decoder *d);

struct pb_decap_cfg; /* packet/tunnel.h */
/* Which tunnels to decapsulate (copied). New decoders follow
 * pb_decap_defaults: IP in IP only, as Packetbeat. */
void pb_decoder_set_decap(struct pb_decoder *d, const struct pb_decap_cfg *cfg);

#endif
