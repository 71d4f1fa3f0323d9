/* SPDX-License-Identifier: Apache-2.0
 * packet/udp.c - UDP and ICMP dispatch to the protocols. Packetbeat keeps no
 * state here: each datagram goes to the protocol listening on one of its
 * ports, which pairs requests and responses itself.
 */
#include "udp.h"

bool pb_udp_dispatch(struct pb_protos *ps, const struct pb_pkt *pkt)
{
    if (ps == NULL) {
        return false;
    }
    bool server_is_dst = true;
    struct pb_proto *p =
        pb_protos_lookup(ps, PB_UDP, pkt->tuple.sport, pkt->tuple.dport, &server_is_dst);
    if (p == NULL || p->ops == NULL || p->ops->on_datagram == NULL) {
        return false;
    }
    p->ops->on_datagram(p, pkt, pkt->payload, pkt->payload_len);
    return true;
}

bool pb_icmp_dispatch(struct pb_protos *ps, const struct pb_pkt *pkt)
{
    if (ps == NULL || ps->icmp == NULL) {
        return false;
    }
    struct pb_proto *p = ps->icmp;
    if (p->ops == NULL || p->ops->on_datagram == NULL) {
        return false;
    }
    p->ops->on_datagram(p, pkt, pkt->payload, pkt->payload_len);
    return true;
}
