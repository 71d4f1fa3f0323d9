/* SPDX-License-Identifier: Apache-2.0
 * beat/net.h - addresses and 5-tuples shared by packet/, protos/ and the
 * event helpers.
 */
#ifndef PB_NET_H
#define PB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
/* The same, returning the text's length. */
size_t pb_ip_fmt(const struct pb_ip *ip, char buf[PB_IP_STRLEN]);
static inline bool pb_ip_eq(const struct pb_ip *a, const struct pb_ip *b)
{
    return a->v6 == b->v6 && memcmp(a->b, b->b, a->v6 ? 16 : 4) == 0;
}
/* A hash of an address and a port. Two of them xored give a value that is
 * the same for both directions of a connection (TCP tracker, packet
 * workers, tunnel slots). Whole words and two multiplications: it runs for
 * every TCP segment, where a byte-by-byte hash was a chain of twelve
 * dependent multiplications. */
static inline uint32_t pb_endpoint_hash(const struct pb_ip *ip, uint16_t port)
{
    uint64_t x;
    if (ip->v6) {
        uint64_t a, b;
        memcpy(&a, ip->b, 8);
        memcpy(&b, ip->b + 8, 8);
        x = a * 0x9e3779b97f4a7c15ull ^ b ^ 1ull << 47;
    } else {
        uint32_t a;
        memcpy(&a, ip->b, 4);
        x = a;
    }
    x = (x ^ (uint64_t)port << 48) * 0xff51afd7ed558ccdull;
    return (uint32_t)(x ^ x >> 32);
}
/* Parses text into ip; false when it is not an address. */
bool pb_ip_parse(const char *s, struct pb_ip *ip);
/* The tuple seen from the other side. */
struct pb_tuple pb_tuple_reverse(const struct pb_tuple *t);

/* Community ID v1 (seed 0) of a flow, "1:<base64 sha1>" into out (>= 32 bytes);
 * its length. For ICMP, sport/dport carry type/code as Packetbeat's flowhash
 * does. */
size_t pb_community_id(const struct pb_tuple *t, char out[64]);
/* Asks the cache for what pb_community_id(t) will read, for a caller that
 * knows the tuple some work before it needs the id, and keeps what it
 * worked out in *a so that pb_community_id_from(t, a) does not work it out
 * again (when called on the thread that made a; elsewhere it is
 * pb_community_id). */
struct pb_cid_ahead {
    const void *slot;
    uint64_t key[5];
};
void pb_community_id_ahead(const struct pb_tuple *t, struct pb_cid_ahead *a);
size_t pb_community_id_from(const struct pb_tuple *t, const struct pb_cid_ahead *a, char out[64]);

#endif
