/* SPDX-License-Identifier: Apache-2.0
 * packet/udp.h - hands UDP datagrams and ICMP messages to their protocol.
 */
#ifndef PB_PACKET_UDP_H
#define PB_PACKET_UDP_H

#include <stdbool.h>

#include "protos/proto.h"
#include "protos/protos.h"

/* The protocol owning the datagram's ports (pb_protos_lookup with PB_UDP)
 * gets on_datagram(p, pkt, payload, len); pkt->tuple is as on the wire.
 * Returns true when a protocol took it. */
bool pb_udp_dispatch(struct pb_protos *ps, const struct pb_pkt *pkt);

/* ICMPv4/ICMPv6: the icmp protocol (ps->icmp, when enabled) gets the whole
 * ICMP message with pkt->icmp_type and pkt->icmp_code set. Returns true when
 * it took it. */
bool pb_icmp_dispatch(struct pb_protos *ps, const struct pb_pkt *pkt);

#endif
