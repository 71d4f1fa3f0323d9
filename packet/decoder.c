/* SPDX-License-Identifier: Apache-2.0
 * packet/decoder.c - frame decoding: link layer, VLAN tags, IPv4/IPv6 (with
 * fragment reassembly), TCP/UDP/ICMP headers. Every read goes through
 * beat/rd.h; a frame that breaks a header is counted and skipped.
 */
#include "decoder.h"

#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/rd.h"
#include "beat/limits.h"
#include "ipfrag.h"
#include "tunnel.h"

#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86ddu
#define ETH_VLAN 0x8100u
#define ETH_QINQ 0x88a8u
#define ETH_QINQ_OLD 0x9100u

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_NONE 59
#define IP6_DSTOPTS 60

#define MAX_IP_LAYERS 2
#define MAX_IP6_EXT 16 /* extension headers walked per packet */

struct pb_decoder {
    int linktype;
    struct pb_ipfrag *frag; /* owned */
    uint8_t *reasm;         /* owned: payload rebuilt for the current frame */
    struct pb_decode_stats stats;
    struct pb_decap_cfg decap;
    unsigned tunnels;     /* tunnel headers peeled off the current frame */
    const uint8_t *frame; /* borrowed: the current frame (for the inner wire length) */
    size_t frame_off;     /* bytes of it already taken off wire_len */
};

bool pb_decoder_link_supported(int linktype)
{
    switch (linktype) {
    case PB_LINK_NULL:
    case PB_LINK_EN10MB:
    case PB_LINK_RAW_DLT:
    case PB_LINK_RAW_OPENBSD:
    case PB_LINK_RAW:
    case PB_LINK_LOOP:
    case PB_LINK_LINUX_SLL:
    case PB_LINK_IPV4:
    case PB_LINK_IPV6:
    case PB_LINK_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

struct pb_decoder *pb_decoder_new(int linktype, char *err, size_t errlen)
{
    if (!pb_decoder_link_supported(linktype)) {
        snprintf(err, errlen, "Unsupported link type: %d", linktype);
        return NULL;
    }
    struct pb_decoder *d = pb_calloc(1, sizeof *d);
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->linktype = linktype;
    pb_decap_defaults(&d->decap);
    d->frag = pb_ipfrag_new(0);
    if (d->frag == NULL) {
        pb_free(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return d;
}

void pb_decoder_free(struct pb_decoder *d)
{
    if (d == NULL) {
        return;
    }
    pb_ipfrag_free(d->frag);
    pb_free(d->reasm);
    pb_free(d);
}

const struct pb_decode_stats *pb_decoder_stats(const struct pb_decoder *d)
{
    return &d->stats;
}

void pb_decoder_set_decap(struct pb_decoder *d, const struct pb_decap_cfg *cfg)
{
    d->decap = *cfg;
}

/* Big-endian loads for the fast paths below, which read a header only
 * after checking that all of it is there (one check instead of one per
 * field); a shorter header takes the checked reader, as before. */
static inline uint16_t ld_be16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}

static inline uint32_t ld_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

static bool malformed(struct pb_decoder *d)
{
    d->stats.malformed++;
    return false;
}

static bool unsupported(struct pb_decoder *d)
{
    d->stats.unsupported++;
    return false;
}

static bool decode_ip(struct pb_decoder *d, const uint8_t *p, size_t n, int version, int depth,
                      struct pb_decoded *out);
static bool decode_tunnel(struct pb_decoder *d, enum pb_tun_result res, const struct pb_tun_hdr *h,
                          const uint8_t *p, size_t n, struct pb_decoded *out);

/* Entering a second IP layer: the first one becomes the outer addresses. */
static void keep_outer(struct pb_decoded *out)
{
    if (out->nip > 0) {
        out->outer_src = out->tuple.src;
        out->outer_dst = out->tuple.dst;
    }
}

/*  0                   1                   2                   3
 *  +-------------------------------+-------------------------------+
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  | Offset| Rsvd  |     Flags     |            Window             |
 *  |           Checksum            |         Urgent Pointer        |
 *  |                    Options (Offset*4 - 20)                    |
 */
static bool decode_tcp(struct pb_decoder *d, const uint8_t *p, size_t n, struct pb_decoded *out)
{
    if (n >= 20) {
        out->tuple.sport = ld_be16(p);
        out->tuple.dport = ld_be16(p + 2);
        out->tcp_seq = ld_be32(p + 4);
        out->tcp_ack = ld_be32(p + 8);
        out->tcp_flags = p[13];
        out->tcp_window = ld_be16(p + 14);
        size_t hlen = (size_t)(p[12] >> 4) * 4u;
        if (hlen < 20 || hlen > n) {
            return malformed(d);
        }
        out->tuple.proto = PB_IPPROTO_TCP;
        out->payload = p + hlen;
        out->payload_len = n - hlen;
        return true;
    }
    struct pb_rd r = pb_rd_make(p, n);
    out->tuple.sport = pb_rd_be16(&r);
    out->tuple.dport = pb_rd_be16(&r);
    out->tcp_seq = pb_rd_be32(&r);
    out->tcp_ack = pb_rd_be32(&r);
    uint8_t off = pb_rd_u8(&r);
    out->tcp_flags = pb_rd_u8(&r);
    out->tcp_window = pb_rd_be16(&r);
    pb_rd_skip(&r, 4); /* checksum, urgent pointer */
    size_t hlen = (size_t)(off >> 4) * 4u;
    if (!pb_rd_ok(&r) || hlen < 20 || hlen > n) {
        return malformed(d);
    }
    out->tuple.proto = PB_IPPROTO_TCP;
    out->payload = p + hlen;
    out->payload_len = n - hlen;
    return true;
}

/* | Source Port | Destination Port | Length | Checksum | payload ... */
static bool decode_udp(struct pb_decoder *d, const uint8_t *p, size_t n, struct pb_decoded *out)
{
    uint16_t len;
    if (n >= 8) {
        out->tuple.sport = ld_be16(p);
        out->tuple.dport = ld_be16(p + 2);
        len = ld_be16(p + 4);
    } else {
        struct pb_rd r = pb_rd_make(p, n);
        out->tuple.sport = pb_rd_be16(&r);
        out->tuple.dport = pb_rd_be16(&r);
        (void)pb_rd_be16(&r);
        return malformed(d);
    }
    size_t plen = n - 8;
    if (len == 0) {
        /* jumbogram or offloaded checksum: the rest of the IP payload */
    } else if (len < 8) {
        return malformed(d);
    } else if ((size_t)len - 8 <= plen) {
        plen = (size_t)len - 8;
    } else {
        out->truncated = true; /* cut by the snap length: what is there */
    }
    out->tuple.proto = PB_IPPROTO_UDP;
    out->payload = p + 8;
    out->payload_len = plen;
    if (d->decap.vxlan && out->tuple.dport == d->decap.vxlan_port) {
        struct pb_tun_hdr h;
        enum pb_tun_result res = pb_tunnel_vxlan(p + 8, plen, &h);
        return decode_tunnel(d, res, &h, p + 8, plen, out);
    }
    if (d->decap.geneve && out->tuple.dport == d->decap.geneve_port) {
        struct pb_tun_hdr h;
        enum pb_tun_result res = pb_tunnel_geneve(p + 8, plen, &h);
        return decode_tunnel(d, res, &h, p + 8, plen, out);
    }
    return true;
}

/* ICMPv4 needs its 8-byte header, ICMPv6 its 4-byte one; the payload handed
 * on is the whole message. */
static bool decode_icmp(struct pb_decoder *d, const uint8_t *p, size_t n, uint8_t proto,
                        struct pb_decoded *out)
{
    struct pb_rd r = pb_rd_make(p, n);
    out->icmp_type = pb_rd_u8(&r);
    out->icmp_code = pb_rd_u8(&r);
    pb_rd_skip(&r, proto == PB_IPPROTO_ICMP ? 6 : 2);
    if (!pb_rd_ok(&r)) {
        return malformed(d);
    }
    out->tuple.proto = proto;
    out->payload = p;
    out->payload_len = n;
    return true;
}

/* IP in IP: recorded as the tunnel (outer addresses) when it is the
 * outermost one; decoding goes on as Packetbeat does (two IP layers). */
static void note_ipip(struct pb_decoder *d, struct pb_decoded *out)
{
    d->stats.tunnels++;
    if (out->tunnel.kind == PB_TUNNEL_NONE) {
        out->tunnel.kind = PB_TUNNEL_IPIP;
        out->tunnel.src = out->tuple.src;
        out->tunnel.dst = out->tuple.dst;
    }
}

static bool decode_l4(struct pb_decoder *d, uint8_t proto, const uint8_t *p, size_t n, int depth,
                      struct pb_decoded *out)
{
    switch (proto) {
    case PB_IPPROTO_TCP:
        return decode_tcp(d, p, n, out);
    case PB_IPPROTO_UDP:
        return decode_udp(d, p, n, out);
    case PB_IPPROTO_ICMP:
    case PB_IPPROTO_ICMPV6:
        return decode_icmp(d, p, n, proto, out);
    case IPPROTO_IPIP_:
    case IPPROTO_IPV6_:
        if (!d->decap.ipip) {
            return unsupported(d);
        }
        note_ipip(d, out);
        return decode_ip(d, p, n, proto == IPPROTO_IPIP_ ? 4 : 6, depth + 1, out);
    case IPPROTO_GRE_:
        if (d->decap.gre || d->decap.erspan) {
            struct pb_tun_hdr h;
            enum pb_tun_result res = pb_tunnel_gre(p, n, &d->decap, &h);
            return decode_tunnel(d, res, &h, p, n, out);
        }
        return unsupported(d);
    default:
        return unsupported(d);
    }
}

/* Hands a fragment to the reassembler. True with *p, *n (and *nh for
 * IPv6) pointing at the rebuilt payload when the datagram is complete. */
static bool reassemble(struct pb_decoder *d, const struct pb_frag_key *key, uint64_t ts,
                       uint32_t offset, bool more, const uint8_t **p, size_t *n, uint8_t *nh,
                       struct pb_decoded *out)
{
    d->stats.fragments++;
    out->fragment = true;
    if (d->reasm != NULL) {
        /* a fragment inside a rebuilt datagram: not something we follow */
        d->stats.frag_dropped++;
        return false;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t first_nh = 0;
    enum pb_frag_result res =
        pb_ipfrag_add(d->frag, key, ts, offset, *p, *n, more, *nh, &buf, &len, &first_nh);
    d->stats.frag_evicted = pb_ipfrag_stats(d->frag)->evicted;
    d->stats.frag_timeouts = pb_ipfrag_stats(d->frag)->timeouts;
    if (res == PB_FRAG_DROPPED) {
        d->stats.frag_dropped++;
        return false;
    }
    if (res == PB_FRAG_KEPT) {
        return false;
    }
    d->reasm = buf;
    d->stats.reassembled++;
    out->reassembled = true;
    *p = buf;
    *n = len;
    *nh = first_nh;
    return true;
}

static bool decode_ipv4_l4(struct pb_decoder *d, uint8_t proto, const uint8_t *payload, size_t plen,
                           int depth, struct pb_decoded *out);

/* A fragment cut by the snap length: counted, and dropped (reassembly
 * needs its bytes). Always false. */
static bool frag_cut(struct pb_decoder *d, struct pb_decoded *out)
{
    out->fragment = true;
    d->stats.fragments++;
    d->stats.frag_dropped++;
    return false;
}

/* A fragment (frag: the header's flags and offset, not 0) of the IPv4
 * header at p, carrying plen bytes at payload: kept for reassembly, or the
 * last one, whose datagram is decoded. Out of line: most frames are not
 * fragments, and their path does not set up the key's room. */
__attribute__((noinline)) static bool ipv4_fragment(struct pb_decoder *d, const uint8_t *p,
                                                    uint16_t frag, const uint8_t *payload,
                                                    size_t plen, int depth, struct pb_decoded *out)
{
    if (out->truncated) {
        return frag_cut(d, out);
    }
    struct pb_frag_key key;
    memset(&key, 0, sizeof key);
    key.v6 = 0;
    key.proto = p[9];
    memcpy(key.src, p + 12, 4);
    memcpy(key.dst, p + 16, 4);
    key.id = ld_be16(p + 4);
    uint8_t nh = p[9];
    if (!reassemble(d, &key, out->ts_ns, (uint32_t)(frag & 0x1fffu) * 8u, (frag & 0x2000u) != 0,
                    &payload, &plen, &nh, out)) {
        return false;
    }
    return decode_ipv4_l4(d, p[9], payload, plen, depth, out);
}

/*  IPv4:
 *  | Ver | IHL | TOS |       Total Length       |
 *  |    Identification   |Flg|  Fragment Offset |
 *  |  TTL  | Protocol |      Header Checksum     |
 *  |                Source Address              |
 *  |             Destination Address            |
 *  |           Options (IHL*4 - 20)             |
 */
static bool decode_ipv4(struct pb_decoder *d, const uint8_t *p, size_t n, int depth,
                        struct pb_decoded *out)
{
    if (n < 20) {
        return malformed(d);
    }
    uint8_t vihl = p[0];
    size_t total = ld_be16(p + 2);
    uint16_t frag = ld_be16(p + 6);
    uint8_t proto = p[9];
    const uint8_t *src = p + 12, *dst = p + 16;
    size_t ihl = (size_t)(vihl & 0x0fu) * 4u;
    if ((vihl >> 4) != 4 || ihl < 20 || ihl > n) {
        return malformed(d);
    }
    if (total == 0) {
        total = n; /* segmentation offload leaves the length at 0 */
    }
    if (total < ihl) {
        return malformed(d);
    }
    if (total > n) {
        out->truncated = true;
        d->stats.truncated++;
        total = n;
    }
    if (out->nip > 0) {
        /* the outer layer's addresses go (a first layer finds them zeroed:
           pb_decode and decode_tunnel clear the tuple) */
        keep_outer(out);
        memset(&out->tuple.src, 0, sizeof out->tuple.src);
        memset(&out->tuple.dst, 0, sizeof out->tuple.dst);
    }
    memcpy(out->tuple.src.b, src, 4);
    memcpy(out->tuple.dst.b, dst, 4);
    out->nip++;

    if ((frag & 0x3fffu) != 0) { /* more fragments, or an offset */
        return ipv4_fragment(d, p, frag, p + ihl, total - ihl, depth, out);
    }
    return decode_ipv4_l4(d, proto, p + ihl, total - ihl, depth, out);
}

/* The transport of an IPv4 datagram. */
static inline bool decode_ipv4_l4(struct pb_decoder *d, uint8_t proto, const uint8_t *payload,
                                  size_t plen, int depth, struct pb_decoded *out)
{
    if (proto == PB_IPPROTO_TCP) {
        return decode_tcp(d, payload, plen, out);
    }
    if (proto == PB_IPPROTO_UDP) {
        return decode_udp(d, payload, plen, out);
    }
    return decode_l4(d, proto, payload, plen, depth, out);
}

/*  IPv6:
 *  |Ver| Traffic Class |           Flow Label                  |
 *  |         Payload Length        |  Next Header  |  Hop Limit |
 *  |                    Source Address (16)                    |
 *  |                 Destination Address (16)                  |
 *  then extension headers: | Next Header | Hdr Ext Len | ... |
 *  Fragment: | Next Header | Reserved | Offset(13)|Res|M | Identification |
 */
static bool decode_ipv6(struct pb_decoder *d, const uint8_t *p, size_t n, int depth,
                        struct pb_decoded *out)
{
    if (n < 40 || (p[0] >> 4) != 6) {
        return malformed(d);
    }
    size_t plen = ld_be16(p + 4);
    uint8_t nh = p[6];
    const uint8_t *src = p + 8, *dst = p + 24;
    size_t avail = n - 40;
    if (plen == 0) {
        plen = avail; /* jumbogram or offload */
    } else if (plen > avail) {
        out->truncated = true;
        d->stats.truncated++;
        plen = avail;
    }
    keep_outer(out);
    out->tuple.src.v6 = 1;
    out->tuple.dst.v6 = 1;
    memcpy(out->tuple.src.b, src, 16);
    memcpy(out->tuple.dst.b, dst, 16);
    out->nip++;

    const uint8_t *cur = p + 40;
    size_t left = plen;
    for (int i = 0; i < MAX_IP6_EXT; i++) {
        struct pb_rd e = pb_rd_make(cur, left);
        size_t hlen;
        switch (nh) {
        case IP6_HOPOPTS:
        case IP6_ROUTING:
        case IP6_DSTOPTS: {
            uint8_t next = pb_rd_u8(&e);
            hlen = ((size_t)pb_rd_u8(&e) + 1u) * 8u;
            if (!pb_rd_ok(&e) || hlen > left) {
                return malformed(d);
            }
            nh = next;
            break;
        }
        case IP6_AH: {
            uint8_t next = pb_rd_u8(&e);
            hlen = ((size_t)pb_rd_u8(&e) + 2u) * 4u;
            if (!pb_rd_ok(&e) || hlen > left) {
                return malformed(d);
            }
            nh = next;
            break;
        }
        case IP6_FRAGMENT: {
            uint8_t next = pb_rd_u8(&e);
            pb_rd_skip(&e, 1);
            uint16_t offword = pb_rd_be16(&e);
            uint32_t id = pb_rd_be32(&e);
            if (!pb_rd_ok(&e)) {
                return malformed(d);
            }
            cur += 8;
            left -= 8;
            nh = next;
            uint32_t offset = offword & 0xfff8u;
            bool more = (offword & 1u) != 0;
            if (offset == 0 && !more) {
                continue; /* atomic fragment (RFC 6946) */
            }
            if (out->truncated) {
                return frag_cut(d, out);
            }
            struct pb_frag_key key;
            memset(&key, 0, sizeof key);
            key.v6 = 1;
            memcpy(key.src, src, 16);
            memcpy(key.dst, dst, 16);
            key.id = id;
            if (!reassemble(d, &key, out->ts_ns, offset, more, &cur, &left, &nh, out)) {
                return false;
            }
            continue;
        }
        case IP6_NONE:
            return unsupported(d);
        default:
            return decode_l4(d, nh, cur, left, depth, out);
        }
        cur += hlen;
        left -= hlen;
    }
    return malformed(d); /* too many extension headers */
}

static bool decode_ip(struct pb_decoder *d, const uint8_t *p, size_t n, int version, int depth,
                      struct pb_decoded *out)
{
    if (depth >= MAX_IP_LAYERS) {
        return unsupported(d);
    }
    if (version == 0) {
        struct pb_rd r = pb_rd_make(p, n);
        version = pb_rd_u8(&r) >> 4;
        if (!pb_rd_ok(&r)) {
            return malformed(d);
        }
    }
    if (version == 4) {
        return decode_ipv4(d, p, n, depth, out);
    }
    if (version == 6) {
        return decode_ipv6(d, p, n, depth, out);
    }
    return malformed(d);
}

/* After the link header: VLAN tags, then IPv4 or IPv6 by EtherType. */
static bool decode_ethertype(struct pb_decoder *d, uint16_t type, struct pb_rd *r,
                             struct pb_decoded *out)
{
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        uint16_t tci = pb_rd_be16(r);
        type = pb_rd_be16(r);
        if (!pb_rd_ok(r)) {
            return malformed(d);
        }
        if (out->nvlan >= 2) {
            d->stats.vlan_too_deep++;
            return false;
        }
        out->vlan[out->nvlan++] = tci & 0x0fffu;
    }
    if (type == ETH_IPV4) {
        return decode_ip(d, r->p, pb_rd_left(r), 4, 0, out);
    }
    if (type == ETH_IPV6) {
        return decode_ip(d, r->p, pb_rd_left(r), 6, 0, out);
    }
    return unsupported(d);
}

/* BSD loopback: the address family in the capturing host's byte order. */
static bool decode_null(struct pb_decoder *d, struct pb_rd *r, struct pb_decoded *out)
{
    struct pb_rd peek = *r;
    uint32_t be = pb_rd_be32(&peek);
    pb_rd_skip(r, 4);
    if (!pb_rd_ok(r)) {
        return malformed(d);
    }
    uint32_t fam = (be & 0xffff0000u) == 0 ? be : __builtin_bswap32(be);
    switch (fam) {
    case 2: /* AF_INET everywhere */
        return decode_ip(d, r->p, pb_rd_left(r), 4, 0, out);
    case 10: /* AF_INET6: Linux */
    case 24: /* OpenBSD, NetBSD */
    case 28: /* FreeBSD */
    case 30: /* macOS */
        return decode_ip(d, r->p, pb_rd_left(r), 6, 0, out);
    default:
        return unsupported(d);
    }
}

/* A whole Ethernet frame inside a tunnel. */
static bool decode_inner_eth(struct pb_decoder *d, const uint8_t *p, size_t n,
                             struct pb_decoded *out)
{
    struct pb_rd r = pb_rd_make(p, n);
    pb_rd_copy(&r, out->dst_mac, 6);
    pb_rd_copy(&r, out->src_mac, 6);
    uint16_t type = pb_rd_be16(&r);
    if (!pb_rd_ok(&r)) {
        return malformed(d);
    }
    out->has_eth = true;
    if (type < 0x0600u) {
        return unsupported(d);
    }
    return decode_ethertype(d, type, &r, out);
}

/* After a tunnel header: the outer layers are forgotten (their addresses
 * kept in out->tunnel when this is the outermost tunnel) and the inner
 * packet at p + h->hlen is decoded as a frame of its own. */
static bool decode_tunnel(struct pb_decoder *d, enum pb_tun_result res, const struct pb_tun_hdr *h,
                          const uint8_t *p, size_t n, struct pb_decoded *out)
{
    if (res == PB_TUN_MALFORMED) {
        return malformed(d);
    }
    if (res != PB_TUN_OK) {
        return unsupported(d);
    }
    if (d->tunnels >= PB_MAX_TUNNEL_DEPTH) {
        d->stats.tunnel_too_deep++;
        return false;
    }
    d->tunnels++;
    d->stats.tunnels++;
    if (out->tunnel.kind == PB_TUNNEL_NONE) {
        out->tunnel.kind = h->kind;
        out->tunnel.has_id = h->has_id;
        out->tunnel.id = h->id;
        out->tunnel.src = out->tuple.src;
        out->tunnel.dst = out->tuple.dst;
    }
    const uint8_t *inner = p + h->hlen;
    size_t left = n - h->hlen;
    /* the inner frame's own length on the wire (flows count it); frames
     * rebuilt from fragments are not inside d->frame */
    if (d->reasm == NULL) {
        size_t off = (size_t)(inner - d->frame);
        if (off > d->frame_off && off - d->frame_off < out->wire_len) {
            out->wire_len -= (uint32_t)(off - d->frame_off);
            d->frame_off = off;
        }
    }
    out->has_eth = false;
    memset(out->src_mac, 0, sizeof out->src_mac);
    memset(out->dst_mac, 0, sizeof out->dst_mac);
    memset(out->vlan, 0, sizeof out->vlan);
    out->nvlan = 0;
    out->nip = 0;
    memset(&out->outer_src, 0, sizeof out->outer_src);
    memset(&out->outer_dst, 0, sizeof out->outer_dst);
    memset(&out->tuple, 0, sizeof out->tuple);
    out->payload = NULL;
    out->payload_len = 0;
    switch (h->inner) {
    case PB_INNER_ETHERNET:
        return decode_inner_eth(d, inner, left, out);
    case PB_INNER_IPV4:
        return decode_ip(d, inner, left, 4, 0, out);
    case PB_INNER_IPV6:
        return decode_ip(d, inner, left, 6, 0, out);
    default:
        return unsupported(d);
    }
}

bool pb_decode(struct pb_decoder *d, const uint8_t *frame, size_t caplen, uint32_t wire_len,
               uint64_t ts_ns, struct pb_decoded *out)
{
    d->tunnels = 0;
    d->frame = frame;
    d->frame_off = 0;
    if (d->reasm != NULL) { /* most frames: none, and no free() call for it */
        pb_free(d->reasm);
        d->reasm = NULL;
    }
    memset(out, 0, sizeof *out);
    out->ts_ns = ts_ns;
    out->wire_len = wire_len;
    d->stats.frames++;

    struct pb_rd r = pb_rd_make(frame, caplen);
    bool ok;
    switch (d->linktype) {
    case PB_LINK_EN10MB: {
        /* | dst MAC (6) | src MAC (6) | EtherType or length (2) | */
        if (caplen >= 14) {
            memcpy(out->dst_mac, frame, 6);
            memcpy(out->src_mac, frame + 6, 6);
            uint16_t type = ld_be16(frame + 12);
            out->has_eth = true;
            if (type == ETH_IPV4) { /* what decode_ethertype would do first */
                ok = decode_ipv4(d, frame + 14, caplen - 14, 0, out);
                break;
            }
            if (type < 0x0600u) {
                return unsupported(d); /* 802.3 length + LLC */
            }
            r = pb_rd_make(frame + 14, caplen - 14);
            ok = decode_ethertype(d, type, &r, out);
            break;
        }
        pb_rd_copy(&r, out->dst_mac, 6);
        pb_rd_copy(&r, out->src_mac, 6);
        uint16_t type = pb_rd_be16(&r);
        if (!pb_rd_ok(&r)) {
            return malformed(d);
        }
        out->has_eth = true;
        if (type < 0x0600u) {
            return unsupported(d); /* 802.3 length + LLC */
        }
        ok = decode_ethertype(d, type, &r, out);
        break;
    }
    case PB_LINK_LINUX_SLL: {
        /* | pkttype | hatype | halen | address (8) | protocol | */
        pb_rd_skip(&r, 14);
        uint16_t type = pb_rd_be16(&r);
        if (!pb_rd_ok(&r)) {
            return malformed(d);
        }
        ok = decode_ethertype(d, type, &r, out);
        break;
    }
    case PB_LINK_LINUX_SLL2: {
        /* | protocol | reserved | ifindex (4) | hatype | pkttype | halen | address (8) | */
        uint16_t type = pb_rd_be16(&r);
        pb_rd_skip(&r, 18);
        if (!pb_rd_ok(&r)) {
            return malformed(d);
        }
        ok = decode_ethertype(d, type, &r, out);
        break;
    }
    case PB_LINK_NULL:
    case PB_LINK_LOOP:
        ok = decode_null(d, &r, out);
        break;
    case PB_LINK_IPV4:
        ok = decode_ip(d, frame, caplen, 4, 0, out);
        break;
    case PB_LINK_IPV6:
        ok = decode_ip(d, frame, caplen, 6, 0, out);
        break;
    default: /* the RAW variants */
        ok = decode_ip(d, frame, caplen, 0, 0, out);
        break;
    }
    if (ok) {
        d->stats.decoded++;
    }
    return ok;
}
