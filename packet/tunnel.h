/* SPDX-License-Identifier: Apache-2.0
 * packet/tunnel.h - decapsulation of mirrored and overlay traffic: the
 * config switches (packetbeat.interfaces.decapsulation) and pure parsers of
 * the tunnel headers. packet/decoder.c calls them where the outer packet
 * would end and decodes what they point at as a new frame.
 *
 *   vxlan   UDP destination port 4789 (vxlan_port), RFC 7348: Ethernet inside
 *   geneve  UDP destination port 6081 (geneve_port), RFC 8926: Ethernet, IPv4
 *           or IPv6 inside (by its protocol type)
 *   gre     IP protocol 47, RFC 2784/2890 version 0: IPv4, IPv6 or Ethernet
 *           (transparent Ethernet bridging, 0x6558) inside
 *   erspan  GRE 0x88be (type I without, type II with the sequence bit) and
 *           0x22eb (type III): the mirrored Ethernet frame inside
 *   ipip    IPv4/IPv6 in IPv4/IPv6 (protocols 4 and 41): Packetbeat decodes
 *           these, so it is the one switch that is on by default
 *
 * Everything else is off by default: Packetbeat sees the outer packet only.
 */
#ifndef PB_PACKET_TUNNEL_H
#define PB_PACKET_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"

#define PB_VXLAN_PORT 4789u
#define PB_GENEVE_PORT 6081u

/* What a tunnel header says comes next (EtherType values). */
#define PB_INNER_ETHERNET 0x6558u /* a whole Ethernet frame */
#define PB_INNER_IPV4 0x0800u
#define PB_INNER_IPV6 0x86ddu

struct pb_decap_cfg {
    bool vxlan, geneve, gre, erspan, ipip;
    uint16_t vxlan_port, geneve_port;
};

/* Packetbeat's behaviour: ipip on, the rest off, the IANA ports. */
void pb_decap_defaults(struct pb_decap_cfg *c);

/* Reads `decapsulation` under the interfaces section `ifc` (may be NULL):
 * booleans vxlan, geneve, gre, erspan, ipip and the ports vxlan_port,
 * geneve_port. 0, or -PB_EINVAL with the message in err. */
int pb_decap_config_read(const struct pb_cfg *ifc, struct pb_decap_cfg *out, char *err,
                         size_t errlen);

/* True when a tunnel other than IP in IP is decapsulated. */
bool pb_decap_any(const struct pb_decap_cfg *c);

/* A parsed tunnel header. */
struct pb_tun_hdr {
    uint8_t kind; /* enum pb_tunnel_kind */
    bool has_id;
    uint32_t id;    /* VNI, GRE key or ERSPAN session id */
    uint16_t inner; /* PB_INNER_* (or another EtherType: not for us) */
    size_t hlen;    /* bytes of tunnel header before the inner packet */
};

/* Results of the parsers. */
enum pb_tun_result {
    PB_TUN_OK = 0,      /* h says what is inside, at p + h->hlen */
    PB_TUN_MALFORMED,   /* impossible header */
    PB_TUN_UNSUPPORTED, /* valid but not something we follow (switch off, other version) */
};

/* The 8-byte VXLAN header at p[0..n) (UDP payload). */
enum pb_tun_result pb_tunnel_vxlan(const uint8_t *p, size_t n, struct pb_tun_hdr *h);
/* The GENEVE header with its options (UDP payload). */
enum pb_tun_result pb_tunnel_geneve(const uint8_t *p, size_t n, struct pb_tun_hdr *h);
/* A GRE header (IP payload, protocol 47) and, for ERSPAN, the ERSPAN
 * header after it. cfg says which of gre / erspan are followed. */
enum pb_tun_result pb_tunnel_gre(const uint8_t *p, size_t n, const struct pb_decap_cfg *cfg,
                                 struct pb_tun_hdr *h);

#endif
