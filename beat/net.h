/* SPDX-License-Identifier: Apache-2.0
 * beat/net.h - addresses and 5-tuples shared by packet/, protos/ and the
 * event helpers.
 */
#ifndef PB_NET_H
#define PB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_IPPROTO_ICMP 1
#define PB_IPPROTO_TCP 6
#define PB_IPPROTO_UDP 17
#define PB_IPPROTO_ICMPV6 58

/* An IPv4 or IPv6 address; IPv4 lives in b[0..3], the rest zero. */
struct pb_ip {
    uint8_t v6; /* 0: IPv4, 1: IPv6 */
    uint8_t b[16];
};

struct pb_tuple {
    struct pb_ip src, dst;
    uint16_t sport, dport;
    uint8_t proto; /* PB_IPPROTO_* */
};

#define PB_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Text form ("10.0.0.1", "fe80::1"); returns buf. */
const char *pb_ip_str(const struct pb_ip *ip, char buf[PB_IP_STRLEN]);
bool pb_ip_eq(const struct pb_ip *a, const struct pb_ip *b);
/* Parses text into ip; false when it is not an address. */
bool pb_ip_parse(const char *s, struct pb_ip *ip);
/* The tuple seen from the other side. */
struct pb_tuple pb_tuple_reverse(const struct pb_tuple *t);

/* Community ID v1 (seed 0) of a flow, "1:<base64 sha1>" into out (>= 32 bytes).
 * For ICMP, sport/dport carry type/code as Packetbeat's flowhash does. */
void pb_community_id(const struct pb_tuple *t, char out[64]);

#endif
