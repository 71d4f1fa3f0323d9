/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_decoder.c - frame decoding (packet/decoder.c), fragment
 * reassembly (packet/ipfrag.c), capture files (packet/pcapfile.c) and the
 * generated BPF filter (packet/filter.c): hand-built frames of each link
 * type, VLAN/QinQ, IPv4 options, fragments in and out of order, overlapping
 * and too many, IPv6 extension headers, and every frame cut at every length.
 */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/limits.h"
#include "packet/decoder.h"
#include "packet/filter.h"
#include "packet/ipfrag.h"
#include "packet/pcapfile.h"
#include "protos/protos.h"
#include "tests/support/ptrun.h"

#define SEC 1000000000ull

/* ---- frame building ---- */

struct fb {
    uint8_t b[70000];
    size_t n;
};

static void put8(struct fb *f, unsigned v)
{
    f->b[f->n++] = (uint8_t)v;
}

static void put16(struct fb *f, unsigned v)
{
    put8(f, v >> 8);
    put8(f, v);
}

static void put32(struct fb *f, uint32_t v)
{
    put16(f, v >> 16);
    put16(f, v & 0xffffu);
}

static void putb(struct fb *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* TCP header (20 bytes + optwords*4) and payload. */
static void tcp_hdr(struct fb *f, uint16_t sp, uint16_t dp, uint32_t seq, uint8_t flags,
                    const void *payload, size_t len, int optwords)
{
    put16(f, sp);
    put16(f, dp);
    put32(f, seq);
    put32(f, 0x01020304u);
    put8(f, (unsigned)(5 + optwords) << 4);
    put8(f, flags);
    put16(f, 65535);
    put16(f, 0);
    put16(f, 0);
    for (int i = 0; i < optwords; i++) {
        put32(f, 0x01010101u); /* NOPs */
    }
    putb(f, payload, len);
}

static void udp_hdr(struct fb *f, uint16_t sp, uint16_t dp, const void *payload, size_t len)
{
    put16(f, sp);
    put16(f, dp);
    put16(f, (unsigned)(8 + len));
    put16(f, 0);
    putb(f, payload, len);
}

/* IPv4 header (with optwords*4 option bytes) around an L4 blob. */
static void ip4_hdr(struct fb *f, uint8_t proto, uint32_t src, uint32_t dst, const struct fb *l4,
                    int optwords, uint16_t id, uint16_t fragword)
{
    put8(f, 0x40u | (unsigned)(5 + optwords));
    put8(f, 0);
    put16(f, (unsigned)(20 + optwords * 4 + l4->n));
    put16(f, id);
    put16(f, fragword);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put32(f, src);
    put32(f, dst);
    for (int i = 0; i < optwords; i++) {
        put32(f, 0x01010101u);
    }
    putb(f, l4->b, l4->n);
}

static const uint8_t V6SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6DST[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static void ip6_hdr(struct fb *f, uint8_t nh, const struct fb *rest)
{
    put32(f, 0x60000000u);
    put16(f, (unsigned)rest->n);
    put8(f, nh);
    put8(f, 64);
    putb(f, V6SRC, 16);
    putb(f, V6DST, 16);
    putb(f, rest->b, rest->n);
}

static void eth_hdr(struct fb *f, uint16_t type, const struct fb *inner)
{
    static const uint8_t dst[6] = {0, 0, 0, 0, 0, 2}, src[6] = {0, 0, 0, 0, 0, 1};
    putb(f, dst, 6);
    putb(f, src, 6);
    put16(f, type);
    putb(f, inner->b, inner->n);
}

static struct fb l4, ip, fr, tmp;
static struct pb_decoded out;

/* IPv4 10.0.0.1:40000 -> 10.0.0.2:80 TCP "hello" */
static void make_ip4_tcp(void)
{
    l4.n = ip.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, 0);
    ip4_hdr(&ip, 6, 0x0a000001u, 0x0a000002u, &l4, 0, 1, 0x4000);
}

static bool dec(int linktype, const struct fb *f)
{
    char err[128];
    struct pb_decoder *d = pb_decoder_new(linktype, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    bool ok = pb_decode(d, f->b, f->n, (uint32_t)f->n, 5 * SEC, &out);
    /* payload pointers stay valid: no reassembly buffer involved here */
    pb_decoder_free(d);
    return ok;
}

static void assert_hello(void)
{
    ck_assert_uint_eq(out.tuple.proto, 6);
    ck_assert_uint_eq(out.tuple.sport, 40000);
    ck_assert_uint_eq(out.tuple.dport, 80);
    ck_assert_uint_eq(out.tuple.src.b[out.tuple.src.v6 ? 15 : 3], 1);
    ck_assert_uint_eq(out.tuple.dst.b[out.tuple.dst.v6 ? 15 : 3], 2);
    ck_assert_uint_eq(out.payload_len, 5);
    ck_assert_mem_eq(out.payload, "hello", 5);
    ck_assert_uint_eq(out.tcp_seq, 1000);
    ck_assert_uint_eq(out.tcp_flags, PB_TCP_ACK | PB_TCP_PSH);
}

/* ---- link types ---- */

START_TEST(dec_ethernet_ipv4_tcp)
{
    make_ip4_tcp();
    fr.n = 0;
    eth_hdr(&fr, 0x0800, &ip);
    ck_assert(dec(PB_LINK_EN10MB, &fr));
    assert_hello();
    ck_assert_uint_eq(out.ts_ns, 5 * SEC);
    ck_assert_uint_eq(out.wire_len, fr.n);
    ck_assert(out.has_eth);
    ck_assert_uint_eq(out.src_mac[5], 1);
    ck_assert_uint_eq(out.dst_mac[5], 2);
    ck_assert_uint_eq(out.nvlan, 0);
    ck_assert(!out.tuple.src.v6);
}
END_TEST

START_TEST(dec_ethernet_padding_trimmed)
{
    l4.n = ip.n = fr.n = 0;
    tcp_hdr(&l4, 40000, 80, 1, PB_TCP_ACK, "", 0, 0);
    ip4_hdr(&ip, 6, 0x0a000001u, 0x0a000002u, &l4, 0, 1, 0);
    eth_hdr(&fr, 0x0800, &ip);
    memset(fr.b + fr.n, 0xee, 6); /* pad to 60 */
    fr.n += 6;
    ck_assert(dec(PB_LINK_EN10MB, &fr));
    ck_assert_uint_eq(out.payload_len, 0);
    ck_assert(!out.truncated);
}
END_TEST

START_TEST(dec_vlan_tags)
{
    make_ip4_tcp();
    /* single 802.1Q */
    tmp.n = 0;
    put16(&tmp, 0x2000 | 10); /* PCP 1, VID 10 */
    put16(&tmp, 0x0800);
    putb(&tmp, ip.b, ip.n);
    fr.n = 0;
    eth_hdr(&fr, 0x8100, &tmp);
    ck_assert(dec(PB_LINK_EN10MB, &fr));
    ck_assert_uint_eq(out.nvlan, 1);
    ck_assert_uint_eq(out.vlan[0], 10);
    assert_hello();
    /* QinQ: 802.1ad outer 101, 802.1Q inner 600 */
    tmp.n = 0;
    put16(&tmp, 101);
    put16(&tmp, 0x8100);
    put16(&tmp, 600);
    put16(&tmp, 0x0800);
    putb(&tmp, ip.b, ip.n);
    fr.n = 0;
    eth_hdr(&fr, 0x88a8, &tmp);
    ck_assert(dec(PB_LINK_EN10MB, &fr));
    ck_assert_uint_eq(out.nvlan, 2);
    ck_assert_uint_eq(out.vlan[0], 101);
    ck_assert_uint_eq(out.vlan[1], 600);
    assert_hello();
    /* old QinQ type 0x9100 */
    fr.n = 0;
    eth_hdr(&fr, 0x9100, &tmp);
    ck_assert(dec(PB_LINK_EN10MB, &fr));
    ck_assert_uint_eq(out.vlan[0], 101);
    /* three tags: skipped */
    tmp.n = 0;
    put16(&tmp, 1);
    put16(&tmp, 0x8100);
    put16(&tmp, 2);
    put16(&tmp, 0x8100);
    put16(&tmp, 3);
    put16(&tmp, 0x0800);
    putb(&tmp, ip.b, ip.n);
    fr.n = 0;
    eth_hdr(&fr, 0x8100, &tmp);
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_EN10MB, err, sizeof err);
    ck_assert(!pb_decode(d, fr.b, fr.n, (uint32_t)fr.n, 0, &out));
    ck_assert_uint_eq(pb_decoder_stats(d)->vlan_too_deep, 1);
    pb_decoder_free(d);
}
END_TEST

START_TEST(dec_non_ip_unsupported)
{
    tmp.n = 0;
    put32(&tmp, 0x00010800u); /* ARP body start */
    put32(&tmp, 0x06040001u);
    fr.n = 0;
    eth_hdr(&fr, 0x0806, &tmp);
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_EN10MB, err, sizeof err);
    ck_assert(!pb_decode(d, fr.b, fr.n, (uint32_t)fr.n, 0, &out));
    /* 802.3 length field + LLC */
    fr.n = 0;
    eth_hdr(&fr, 46, &tmp);
    ck_assert(!pb_decode(d, fr.b, fr.n, (uint32_t)fr.n, 0, &out));
    ck_assert_uint_eq(pb_decoder_stats(d)->unsupported, 2);
    ck_assert_uint_eq(pb_decoder_stats(d)->malformed, 0);
    ck_assert_uint_eq(pb_decoder_stats(d)->frames, 2);
    pb_decoder_free(d);
    ck_assert_ptr_null(pb_decoder_new(105, err, sizeof err)); /* 802.11 */
    ck_assert_ptr_nonnull(strstr(err, "105"));
}
END_TEST

START_TEST(dec_linux_sll)
{
    make_ip4_tcp();
    fr.n = 0;
    put16(&fr, 0); /* to us */
    put16(&fr, 1); /* ARPHRD_ETHER */
    put16(&fr, 6);
    putb(&fr, "\x00\x11\x22\x33\x44\x55\x00\x00", 8);
    put16(&fr, 0x0800);
    putb(&fr, ip.b, ip.n);
    ck_assert(dec(PB_LINK_LINUX_SLL, &fr));
    assert_hello();
    ck_assert(!out.has_eth);
    /* VLAN inside SLL */
    fr.n = 14;
    put16(&fr, 0x8100);
    put16(&fr, 42);
    put16(&fr, 0x0800);
    putb(&fr, ip.b, ip.n);
    ck_assert(dec(PB_LINK_LINUX_SLL, &fr));
    ck_assert_uint_eq(out.vlan[0], 42);
}
END_TEST

START_TEST(dec_linux_sll2)
{
    make_ip4_tcp();
    fr.n = 0;
    put16(&fr, 0x0800); /* protocol */
    put16(&fr, 0);
    put32(&fr, 3); /* ifindex */
    put16(&fr, 1);
    put8(&fr, 0);
    put8(&fr, 6);
    putb(&fr, "\x00\x11\x22\x33\x44\x55\x00\x00", 8);
    putb(&fr, ip.b, ip.n);
    ck_assert(dec(PB_LINK_LINUX_SLL2, &fr));
    assert_hello();
}
END_TEST

START_TEST(dec_null_and_loop)
{
    make_ip4_tcp();
    /* DLT_NULL little endian AF_INET */
    fr.n = 0;
    putb(&fr, "\x02\x00\x00\x00", 4);
    putb(&fr, ip.b, ip.n);
    ck_assert(dec(PB_LINK_NULL, &fr));
    assert_hello();
    /* big endian AF_INET */
    fr.n = 0;
    putb(&fr, "\x00\x00\x00\x02", 4);
    putb(&fr, ip.b, ip.n);
    ck_assert(dec(PB_LINK_NULL, &fr));
    ck_assert(dec(PB_LINK_LOOP, &fr));
    assert_hello();
    /* IPv6 families of Linux, BSDs and macOS, both orders */
    l4.n = tmp.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, 0);
    ip6_hdr(&tmp, 6, &l4);
    static const uint8_t fams[] = {10, 24, 28, 30};
    for (size_t i = 0; i < sizeof fams; i++) {
        fr.n = 0;
        put8(&fr, fams[i]);
        put8(&fr, 0);
        put16(&fr, 0);
        putb(&fr, tmp.b, tmp.n);
        ck_assert(dec(PB_LINK_NULL, &fr));
        ck_assert(out.tuple.src.v6);
        assert_hello();
        fr.n = 0;
        put32(&fr, fams[i]);
        putb(&fr, tmp.b, tmp.n);
        ck_assert(dec(PB_LINK_LOOP, &fr));
        ck_assert_uint_eq(out.tuple.dst.b[15], 2);
    }
    /* unknown family */
    fr.n = 0;
    put32(&fr, 7);
    putb(&fr, tmp.b, tmp.n);
    ck_assert(!dec(PB_LINK_NULL, &fr));
}
END_TEST

START_TEST(dec_raw_ip)
{
    make_ip4_tcp();
    static const int raws[] = {PB_LINK_RAW, PB_LINK_RAW_DLT, PB_LINK_RAW_OPENBSD, PB_LINK_IPV4};
    for (size_t i = 0; i < 4; i++) {
        ck_assert(dec(raws[i], &ip));
        assert_hello();
    }
    l4.n = tmp.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, 0);
    ip6_hdr(&tmp, 6, &l4);
    ck_assert(dec(PB_LINK_RAW, &tmp));
    ck_assert(out.tuple.src.v6);
    ck_assert_mem_eq(out.tuple.src.b, V6SRC, 16);
    assert_hello();
    ck_assert(dec(PB_LINK_IPV6, &tmp));
    ck_assert(!dec(PB_LINK_IPV4, &tmp)); /* version mismatch */
    tmp.b[0] = 0x50;                     /* version 5 */
    ck_assert(!dec(PB_LINK_RAW, &tmp));
}
END_TEST

/* ---- IPv4 ---- */

START_TEST(dec_ipv4_options)
{
    for (int words = 1; words <= 10; words++) {
        l4.n = ip.n = 0;
        tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, words % 3);
        ip4_hdr(&ip, 6, 0x0a000001u, 0x0a000002u, &l4, words, 1, 0);
        ck_assert(dec(PB_LINK_RAW, &ip));
        assert_hello();
    }
    make_ip4_tcp();
    ip.b[0] = 0x44; /* IHL 4 */
    ck_assert(!dec(PB_LINK_RAW, &ip));
    ip.b[0] = 0x4f; /* IHL 15 = 60 bytes, more than the frame's header+options */
    ip.n = 50;
    ck_assert(!dec(PB_LINK_RAW, &ip));
}
END_TEST

START_TEST(dec_ipv4_lengths)
{
    make_ip4_tcp();
    /* total length 0 (segmentation offload): use the frame */
    ip.b[2] = ip.b[3] = 0;
    ck_assert(dec(PB_LINK_RAW, &ip));
    assert_hello();
    /* total length beyond the capture: truncated, decoded with what is there */
    make_ip4_tcp();
    ip.n -= 2;
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert(out.truncated);
    ck_assert_uint_eq(out.payload_len, 3);
    /* total length shorter than the header */
    make_ip4_tcp();
    ip.b[2] = 0;
    ip.b[3] = 12;
    ck_assert(!dec(PB_LINK_RAW, &ip));
    /* TCP data offset past the segment */
    make_ip4_tcp();
    ip.b[20 + 12] = 0xf0;
    ck_assert(!dec(PB_LINK_RAW, &ip));
    ip.b[20 + 12] = 0x40; /* below 5 words */
    ck_assert(!dec(PB_LINK_RAW, &ip));
}
END_TEST

START_TEST(dec_udp_and_icmp)
{
    l4.n = ip.n = 0;
    udp_hdr(&l4, 5353, 53, "query", 5);
    ip4_hdr(&ip, 17, 0x0a000001u, 0x0a000002u, &l4, 0, 7, 0);
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert_uint_eq(out.tuple.proto, 17);
    ck_assert_uint_eq(out.tuple.sport, 5353);
    ck_assert_uint_eq(out.tuple.dport, 53);
    ck_assert_uint_eq(out.payload_len, 5);
    ck_assert_mem_eq(out.payload, "query", 5);
    /* UDP length 0: the rest of the datagram */
    ip.b[20 + 4] = ip.b[20 + 5] = 0;
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert_uint_eq(out.payload_len, 5);
    /* UDP length below 8 */
    ip.b[20 + 5] = 7;
    ck_assert(!dec(PB_LINK_RAW, &ip));
    /* UDP length beyond the IP payload: truncated */
    ip.b[20 + 5] = 40;
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert(out.truncated);
    ck_assert_uint_eq(out.payload_len, 5);
    /* UDP length shorter than the IP payload: trimmed */
    ip.b[20 + 5] = 10;
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert_uint_eq(out.payload_len, 2);

    /* ICMPv4 echo request: the payload is the whole message */
    l4.n = ip.n = 0;
    putb(&l4,
         "\x08\x00\xf7\xfe\x00\x01\x00\x01"
         "abcd",
         12);
    ip4_hdr(&ip, 1, 0x0a000001u, 0x0a000002u, &l4, 0, 8, 0);
    ck_assert(dec(PB_LINK_RAW, &ip));
    ck_assert_uint_eq(out.tuple.proto, 1);
    ck_assert_uint_eq(out.icmp_type, 8);
    ck_assert_uint_eq(out.icmp_code, 0);
    ck_assert_uint_eq(out.payload_len, 12);
    ck_assert_mem_eq(out.payload, l4.b, 12);
    ck_assert_uint_eq(out.tuple.sport, 0);
    /* ICMPv4 shorter than its 8-byte header */
    l4.n = ip.n = 0;
    putb(&l4, "\x08\x00\xf7\xfe", 4);
    ip4_hdr(&ip, 1, 0x0a000001u, 0x0a000002u, &l4, 0, 8, 0);
    ck_assert(!dec(PB_LINK_RAW, &ip));

    /* ICMPv6 echo reply */
    l4.n = tmp.n = 0;
    putb(&l4, "\x81\x00\x00\x00\x00\x01\x00\x02", 8);
    ip6_hdr(&tmp, 58, &l4);
    ck_assert(dec(PB_LINK_RAW, &tmp));
    ck_assert_uint_eq(out.tuple.proto, 58);
    ck_assert_uint_eq(out.icmp_type, 129);
    ck_assert_uint_eq(out.payload_len, 8);
    /* other IP protocols are not for us */
    l4.n = ip.n = 0;
    putb(&l4, "\x00\x00\x00\x00", 4);
    ip4_hdr(&ip, 47, 0x0a000001u, 0x0a000002u, &l4, 0, 8, 0); /* GRE */
    ck_assert(!dec(PB_LINK_RAW, &ip));
}
END_TEST

START_TEST(dec_ip_in_ip)
{
    make_ip4_tcp();
    tmp.n = 0;
    ip4_hdr(&tmp, 4, 0xc0a80001u, 0xc0a80002u, &ip, 0, 9, 0);
    ck_assert(dec(PB_LINK_RAW, &tmp));
    assert_hello(); /* the inner addresses */
    ck_assert_uint_eq(out.nip, 2);
    ck_assert_uint_eq(out.outer_src.b[0], 192);
    ck_assert_uint_eq(out.outer_dst.b[3], 2);
    /* three IP layers: not followed */
    struct fb *deep = calloc(1, sizeof *deep);
    ip4_hdr(deep, 4, 0xc0a80001u, 0xc0a80002u, &tmp, 0, 9, 0);
    ck_assert(!dec(PB_LINK_RAW, deep));
    free(deep);
    /* IPv6 in IPv4 */
    l4.n = fr.n = tmp.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, 0);
    ip6_hdr(&fr, 6, &l4);
    ip4_hdr(&tmp, 41, 0xc0a80001u, 0xc0a80002u, &fr, 0, 9, 0);
    ck_assert(dec(PB_LINK_RAW, &tmp));
    ck_assert(out.tuple.src.v6);
    assert_hello();
}
END_TEST

/* ---- IPv6 extension headers ---- */

START_TEST(dec_ipv6_ext_headers)
{
    l4.n = tmp.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK | PB_TCP_PSH, "hello", 5, 0);
    /* hop-by-hop (8) -> routing (24) -> dest opts (16) -> AH (16) -> TCP */
    put8(&tmp, 43);
    put8(&tmp, 0);
    put16(&tmp, 0x0104);
    put32(&tmp, 0);
    put8(&tmp, 60);
    put8(&tmp, 2);
    for (int i = 0; i < 22; i++) {
        put8(&tmp, 0);
    }
    put8(&tmp, 51);
    put8(&tmp, 1);
    for (int i = 0; i < 14; i++) {
        put8(&tmp, 1);
    }
    put8(&tmp, 6);
    put8(&tmp, 2); /* AH: (2 + 2) * 4 = 16 bytes */
    for (int i = 0; i < 14; i++) {
        put8(&tmp, 0);
    }
    putb(&tmp, l4.b, l4.n);
    fr.n = 0;
    ip6_hdr(&fr, 0, &tmp);
    ck_assert(dec(PB_LINK_RAW, &fr));
    assert_hello();
    /* an atomic fragment header */
    tmp.n = 0;
    put8(&tmp, 6);
    put8(&tmp, 0);
    put16(&tmp, 0);
    put32(&tmp, 0x1234);
    putb(&tmp, l4.b, l4.n);
    fr.n = 0;
    ip6_hdr(&fr, 44, &tmp);
    ck_assert(dec(PB_LINK_RAW, &fr));
    assert_hello();
    ck_assert(!out.reassembled);
    /* no next header */
    fr.n = 0;
    ip6_hdr(&fr, 59, &l4);
    ck_assert(!dec(PB_LINK_RAW, &fr));
    /* a chain of 20 destination options: too many */
    tmp.n = 0;
    for (int i = 0; i < 20; i++) {
        put8(&tmp, 60);
        put8(&tmp, 0);
        put16(&tmp, 0x0104);
        put32(&tmp, 0);
    }
    fr.n = 0;
    ip6_hdr(&fr, 60, &tmp);
    ck_assert(!dec(PB_LINK_RAW, &fr));
    /* an extension header longer than the packet */
    tmp.n = 0;
    put8(&tmp, 6);
    put8(&tmp, 200);
    put16(&tmp, 0);
    put32(&tmp, 0);
    fr.n = 0;
    ip6_hdr(&fr, 60, &tmp);
    ck_assert(!dec(PB_LINK_RAW, &fr));
    /* payload length 0 (jumbo/offload): use the frame */
    fr.n = 0;
    ip6_hdr(&fr, 6, &l4);
    fr.b[4] = fr.b[5] = 0;
    ck_assert(dec(PB_LINK_RAW, &fr));
    assert_hello();
}
END_TEST

/* ---- fragments ---- */

static uint8_t dgram[3008];

/* UDP 10.0.0.1:1234 -> 10.0.0.2:53 with 3000 bytes of payload. */
static void make_dgram(void)
{
    l4.n = 0;
    for (size_t i = 0; i < 3000; i++) {
        dgram[i] = (uint8_t)(i * 7 + 3);
    }
    udp_hdr(&l4, 1234, 53, dgram, 3000);
    memcpy(dgram, l4.b, l4.n); /* the whole UDP datagram (3008 bytes) */
}

/* IPv4 fragment of dgram[off .. off+len) */
static void frag4(struct fb *f, uint16_t id, size_t off, size_t len, bool more)
{
    struct fb *piece = calloc(1, sizeof *piece);
    putb(piece, dgram + off, len);
    f->n = 0;
    ip4_hdr(f, 17, 0x0a000001u, 0x0a000002u, piece, 0, id,
            (uint16_t)((more ? 0x2000u : 0u) | (off / 8)));
    free(piece);
}

static void assert_dgram(void)
{
    ck_assert(out.reassembled);
    ck_assert_uint_eq(out.tuple.proto, 17);
    ck_assert_uint_eq(out.tuple.sport, 1234);
    ck_assert_uint_eq(out.payload_len, 3000);
    ck_assert_mem_eq(out.payload, dgram + 8, 3000);
}

static bool feed(struct pb_decoder *d, const struct fb *f, uint64_t ts)
{
    return pb_decode(d, f->b, f->n, (uint32_t)f->n, ts, &out);
}

START_TEST(frag_in_order)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    frag4(&fr, 77, 0, 1480, true);
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 77, 1480, 1480, true);
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 77, 2960, 48, false);
    ck_assert(feed(d, &fr, SEC));
    assert_dgram();
    ck_assert_uint_eq(pb_decoder_stats(d)->reassembled, 1);
    ck_assert_uint_eq(pb_decoder_stats(d)->fragments, 3);
    /* the next frame is decoded normally */
    make_ip4_tcp();
    ck_assert(feed(d, &ip, SEC));
    assert_hello();
    ck_assert(!out.reassembled);
    pb_decoder_free(d);
}
END_TEST

START_TEST(frag_out_of_order_and_duplicates)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    frag4(&fr, 78, 2960, 48, false);
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 78, 1480, 1480, true);
    ck_assert(!feed(d, &fr, SEC));
    ck_assert(!feed(d, &fr, SEC));    /* exact duplicate */
    frag4(&fr, 78, 1000, 1000, true); /* overlap with the same bytes */
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 78, 0, 1480, true);
    ck_assert(feed(d, &fr, SEC));
    assert_dgram();
    pb_decoder_free(d);
}
END_TEST

START_TEST(frag_conflicting_overlap_dropped)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    frag4(&fr, 79, 0, 1480, true);
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 79, 1472, 1488, true);
    fr.b[20] ^= 0xff; /* differs where it overlaps */
    ck_assert(!feed(d, &fr, SEC));
    ck_assert_uint_eq(pb_decoder_stats(d)->frag_dropped, 1);
    frag4(&fr, 79, 2960, 48, false);
    ck_assert(!feed(d, &fr, SEC)); /* the datagram is gone */
    frag4(&fr, 79, 1480, 1480, true);
    ck_assert(!feed(d, &fr, SEC));
    ck_assert_uint_eq(pb_decoder_stats(d)->reassembled, 0);
    pb_decoder_free(d);
}
END_TEST

START_TEST(frag_bad_fragments)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    frag4(&fr, 80, 0, 1001, true); /* not a multiple of 8 but more follow */
    ck_assert(!feed(d, &fr, SEC));
    /* the last fragment disagrees about the end */
    frag4(&fr, 81, 1480, 48, false);
    ck_assert(!feed(d, &fr, SEC));
    frag4(&fr, 81, 1480, 56, false);
    ck_assert(!feed(d, &fr, SEC));
    /* beyond 65535 bytes */
    frag4(&fr, 82, 0, 8, true);
    fr.b[6] = 0x3f;
    fr.b[7] = 0xff; /* offset 65528 + 8 > 65535 */
    ck_assert(!feed(d, &fr, SEC));
    ck_assert_uint_ge(pb_decoder_stats(d)->frag_dropped, 3);
    /* a truncated fragment is not reassembled */
    frag4(&fr, 83, 0, 1480, true);
    fr.n -= 100;
    ck_assert(!feed(d, &fr, SEC));
    pb_decoder_free(d);
}
END_TEST

START_TEST(frag_timeout)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    frag4(&fr, 84, 0, 1480, true);
    ck_assert(!feed(d, &fr, 100 * SEC));
    frag4(&fr, 84, 1480, 1480, true);
    ck_assert(!feed(d, &fr, 100 * SEC + PB_FRAG_TIMEOUT_NS + 1));
    frag4(&fr, 84, 2960, 48, false);
    ck_assert(!feed(d, &fr, 100 * SEC + PB_FRAG_TIMEOUT_NS + 2));
    pb_decoder_free(d);
}
END_TEST

START_TEST(frag_too_many_datagrams)
{
    struct pb_ipfrag *f = pb_ipfrag_new(0);
    ck_assert_ptr_nonnull(f);
    struct pb_frag_key k;
    memset(&k, 0, sizeof k);
    k.proto = 17;
    uint8_t data[64] = {1};
    uint8_t *o = NULL;
    size_t olen = 0;
    uint8_t nh = 0;
    for (uint32_t i = 0; i < PB_MAX_FRAG_DATAGRAMS + 10; i++) {
        k.id = i;
        ck_assert_int_eq(pb_ipfrag_add(f, &k, SEC, 0, data, 64, true, 17, &o, &olen, &nh),
                         PB_FRAG_KEPT);
        ck_assert_uint_le(pb_ipfrag_pending(f), PB_MAX_FRAG_DATAGRAMS);
    }
    ck_assert_uint_eq(pb_ipfrag_pending(f), PB_MAX_FRAG_DATAGRAMS);
    ck_assert_uint_eq(pb_ipfrag_stats(f)->evicted, 10);
    /* the oldest went: completing id 0 yields nothing, id 20 completes */
    k.id = 0;
    ck_assert_int_eq(pb_ipfrag_add(f, &k, SEC, 64, data, 8, false, 0, &o, &olen, &nh),
                     PB_FRAG_KEPT);
    k.id = 20;
    ck_assert_int_eq(pb_ipfrag_add(f, &k, SEC, 64, data, 8, false, 0, &o, &olen, &nh),
                     PB_FRAG_DONE);
    ck_assert_uint_eq(olen, 72);
    ck_assert_uint_eq(nh, 17);
    pb_free(o);
    /* big offsets from many datagrams stay within the memory budget */
    for (uint32_t i = 0; i < PB_MAX_FRAG_DATAGRAMS; i++) {
        k.id = 100000 + i;
        pb_ipfrag_add(f, &k, SEC, 65000, data, 8, true, 17, &o, &olen, &nh);
    }
    ck_assert_uint_le(pb_ipfrag_pending(f) * 65536u, PB_FRAG_BUDGET_BYTES + 65536u);
    pb_ipfrag_expire(f, SEC + PB_FRAG_TIMEOUT_NS + 1);
    ck_assert_uint_eq(pb_ipfrag_pending(f), 0);
    pb_ipfrag_free(f);
}
END_TEST

START_TEST(frag_ipv6)
{
    make_dgram();
    char err[64];
    struct pb_decoder *d = pb_decoder_new(PB_LINK_RAW, err, sizeof err);
    /* fragment 1: offset 0, M=1, 1448 bytes; fragment 2: offset 1448, rest */
    size_t cut = 1448;
    for (int order = 0; order < 2; order++) {
        for (int i = 0; i < 2; i++) {
            int which = order == 0 ? i : 1 - i;
            size_t off = which == 0 ? 0 : cut;
            size_t len = which == 0 ? cut : 3008 - cut;
            tmp.n = 0;
            put8(&tmp, 17);
            put8(&tmp, 0);
            put16(&tmp, (unsigned)(off | (which == 0 ? 1u : 0u)));
            put32(&tmp, 0xabcd0000u + (uint32_t)order);
            putb(&tmp, dgram + off, len);
            fr.n = 0;
            ip6_hdr(&fr, 44, &tmp);
            bool ok = feed(d, &fr, SEC);
            ck_assert(ok == (i == 1));
        }
        assert_dgram();
        ck_assert(out.tuple.src.v6);
    }
    pb_decoder_free(d);
}
END_TEST

/* ---- every frame cut at every length ---- */

static void cut_everywhere(int linktype, const struct fb *f, size_t min_ok)
{
    char err[64];
    struct pb_decoder *d = pb_decoder_new(linktype, err, sizeof err);
    for (size_t n = 0; n <= f->n; n++) {
        /* an exactly-sized copy so that ASan sees any over-read */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f->b, n);
        bool ok = pb_decode(d, copy, n, (uint32_t)f->n, SEC, &out);
        if (ok && out.payload_len > 0) {
            ck_assert(out.payload >= copy && out.payload + out.payload_len <= copy + n);
        }
        if (n < min_ok) {
            ck_assert_msg(!ok, "decoded a frame cut at %zu of %zu bytes", n, f->n);
        }
        free(copy);
    }
    ck_assert_uint_eq(pb_decoder_stats(d)->frames, f->n + 1);
    ck_assert_uint_gt(pb_decoder_stats(d)->malformed, 0);
    pb_decoder_free(d);
}

START_TEST(dec_truncated_everywhere)
{
    /* Ethernet + QinQ + IPv4 with options + TCP with options */
    l4.n = ip.n = tmp.n = fr.n = 0;
    tcp_hdr(&l4, 40000, 80, 1000, PB_TCP_ACK, "payload", 7, 2);
    ip4_hdr(&ip, 6, 0x0a000001u, 0x0a000002u, &l4, 2, 1, 0);
    put16(&tmp, 101);
    put16(&tmp, 0x8100);
    put16(&tmp, 600);
    put16(&tmp, 0x0800);
    putb(&tmp, ip.b, ip.n);
    eth_hdr(&fr, 0x88a8, &tmp);
    cut_everywhere(PB_LINK_EN10MB, &fr, 14 + 8 + 28 + 28);
    /* SLL + IPv6 + hop-by-hop + UDP */
    l4.n = tmp.n = ip.n = fr.n = 0;
    udp_hdr(&l4, 1, 2, "x", 1);
    put8(&tmp, 17);
    put8(&tmp, 0);
    put16(&tmp, 0x0104);
    put32(&tmp, 0);
    putb(&tmp, l4.b, l4.n);
    ip6_hdr(&ip, 0, &tmp);
    put16(&fr, 0);
    put16(&fr, 1);
    put16(&fr, 6);
    putb(&fr, "\0\0\0\0\0\0\0\0", 8);
    put16(&fr, 0x86dd);
    putb(&fr, ip.b, ip.n);
    cut_everywhere(PB_LINK_LINUX_SLL, &fr, 16 + 40 + 8 + 8);
    /* NULL + IPv4 + ICMP */
    l4.n = ip.n = fr.n = 0;
    putb(&l4, "\x08\x00\xf7\xfe\x00\x01\x00\x01", 8);
    ip4_hdr(&ip, 1, 0x0a000001u, 0x0a000002u, &l4, 0, 1, 0);
    putb(&fr, "\x02\x00\x00\x00", 4);
    putb(&fr, ip.b, ip.n);
    cut_everywhere(PB_LINK_NULL, &fr, 4 + 20 + 8);
    /* SLL2 + IPv6 fragment */
    make_dgram();
    tmp.n = ip.n = fr.n = 0;
    put8(&tmp, 17);
    put8(&tmp, 0);
    put16(&tmp, 1);
    put32(&tmp, 5);
    putb(&tmp, dgram, 64);
    ip6_hdr(&ip, 44, &tmp);
    put16(&fr, 0x86dd);
    for (int i = 0; i < 18; i++) {
        put8(&fr, 0);
    }
    putb(&fr, ip.b, ip.n);
    cut_everywhere(PB_LINK_LINUX_SLL2, &fr, fr.n + 1); /* a first fragment never decodes */
}
END_TEST

START_TEST(dec_random_garbage)
{
    char err[64];
    static const int links[] = {PB_LINK_EN10MB, PB_LINK_LINUX_SLL, PB_LINK_LINUX_SLL2,
                                PB_LINK_NULL,   PB_LINK_RAW,       PB_LINK_IPV6};
    srand(42);
    for (size_t l = 0; l < sizeof links / sizeof links[0]; l++) {
        struct pb_decoder *d = pb_decoder_new(links[l], err, sizeof err);
        for (int i = 0; i < 20000; i++) {
            size_t n = (size_t)(rand() % 200);
            uint8_t *buf = malloc(n ? n : 1);
            for (size_t j = 0; j < n; j++) {
                buf[j] = (uint8_t)rand();
            }
            /* steer towards valid headers now and then */
            if (n > 20 && (i & 1)) {
                buf[links[l] == PB_LINK_EN10MB ? 12 : 0] = links[l] == PB_LINK_EN10MB ? 0x08 : 0x45;
            }
            if (pb_decode(d, buf, n, (uint32_t)n, (uint64_t)i * SEC, &out) && out.payload_len > 0 &&
                !out.reassembled) {
                ck_assert(out.payload >= buf && out.payload + out.payload_len <= buf + n);
            }
            free(buf);
        }
        pb_decoder_free(d);
    }
}
END_TEST

/* ---- capture files ---- */

static char tmpdir[] = "/tmp/pbdecXXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void w32(FILE *fp, uint32_t v, bool be)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = be ? (uint8_t)(v >> (24 - 8 * i)) : (uint8_t)(v >> (8 * i));
    }
    fwrite(b, 1, 4, fp);
}

static void w16(FILE *fp, uint16_t v, bool be)
{
    uint8_t b[2] = {be ? (uint8_t)(v >> 8) : (uint8_t)v, be ? (uint8_t)v : (uint8_t)(v >> 8)};
    fwrite(b, 1, 2, fp);
}

/* A classic pcap file: header snaplen `snap`, frames of the given sizes
 * (byte i of frame k = k + i). */
static void write_pcap(const char *path, bool be, bool nano, uint32_t snap, int linktype,
                       const size_t *sizes, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    w32(fp, nano ? 0xa1b23c4du : 0xa1b2c3d4u, be);
    w16(fp, 2, be);
    w16(fp, 4, be);
    w32(fp, 0, be);
    w32(fp, 0, be);
    w32(fp, snap, be);
    w32(fp, (uint32_t)linktype, be);
    for (size_t k = 0; k < n; k++) {
        w32(fp, 1600000000u + (uint32_t)k, be);
        w32(fp, 123456u, be);
        w32(fp, (uint32_t)sizes[k], be);
        w32(fp, (uint32_t)sizes[k], be);
        for (size_t i = 0; i < sizes[k]; i++) {
            fputc((int)((k + i) & 0xffu), fp);
        }
    }
    fclose(fp);
}

START_TEST(pcapfile_reads_whole_frames)
{
    static const size_t sizes[] = {60, 70000, 1514};
    for (int variant = 0; variant < 4; variant++) {
        bool be = variant & 1, nano = variant & 2;
        const char *path = tmp_path("a.pcap");
        write_pcap(path, be, nano, 65535, 1, sizes, 3);
        char err[256];
        struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
        ck_assert_msg(f != NULL, "%s", err);
        ck_assert_int_eq(pb_pcapfile_linktype(f), 1);
        const uint8_t *data;
        uint32_t cap, wire;
        uint64_t ts;
        for (size_t k = 0; k < 3; k++) {
            ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 1);
            ck_assert_uint_eq(cap, sizes[k]); /* 70000 > the header's 65535: whole */
            ck_assert_uint_eq(wire, sizes[k]);
            ck_assert_uint_eq(data[cap - 1], (uint8_t)(k + cap - 1));
            uint64_t frac = nano ? 123456u : 123456000u;
            ck_assert_uint_eq(ts, (1600000000ull + k) * SEC + frac);
        }
        ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 0);
        pb_pcapfile_close(f);
    }
}
END_TEST

START_TEST(pcapfile_errors_name_the_file)
{
    char err[512];
    const char *missing = tmp_path("missing.pcap");
    ck_assert_ptr_null(pb_pcapfile_open(missing, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, missing));

    const char *text = tmp_path("notes.txt");
    FILE *fp = fopen(text, "w");
    fputs("this is not a capture file at all\n", fp);
    fclose(fp);
    ck_assert_ptr_null(pb_pcapfile_open(text, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, text));

    const char *empty = tmp_path("empty.pcap");
    fp = fopen(empty, "w");
    fclose(fp);
    ck_assert_ptr_null(pb_pcapfile_open(empty, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, empty));

    /* a header cut short */
    static const size_t sizes[] = {100, 100};
    const char *path = tmp_path("t.pcap");
    write_pcap(path, false, false, 65535, 1, sizes, 2);
    ck_assert_int_eq(truncate(path, 20), 0);
    ck_assert_ptr_null(pb_pcapfile_open(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, path));

    /* a record cut short: the first frame reads, then an error */
    for (off_t cut = 24 + 16 + 100 + 5; cut <= 24 + 16 + 100 + 16 + 50; cut += 45) {
        write_pcap(path, false, false, 65535, 1, sizes, 2);
        ck_assert_int_eq(truncate(path, cut), 0);
        struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
        ck_assert_ptr_nonnull(f);
        const uint8_t *data;
        uint32_t cap, wire;
        uint64_t ts;
        ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 1);
        ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), -1);
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_ptr_nonnull(strstr(err, "truncated"));
        pb_pcapfile_close(f);
    }

    /* an impossible capture length */
    static const size_t one[] = {10};
    write_pcap(path, true, false, 65535, 1, one, 1);
    fp = fopen(path, "r+b");
    fseek(fp, 24 + 8, SEEK_SET);
    w32(fp, 0x7fffffffu, true);
    fclose(fp);
    struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t ts;
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    pb_pcapfile_close(f);
}
END_TEST

/* A file cut shorter while it is being read: the records read before
 * come whole, then the one the cut went through is reported as truncated,
 * then the file ends. A second file reads whole after it. */
START_TEST(pcapfile_survives_a_file_cut_while_read)
{
    enum { N = 60, SIZE = 50000, CUT = 1500000 };
    static size_t sizes[N];
    for (size_t k = 0; k < N; k++) {
        sizes[k] = SIZE;
    }
    const char *path = tmp_path("cut.pcap");
    write_pcap(path, false, false, 65535, 1, sizes, N); /* 3 MB: beyond a buffer */
    char err[512];
    struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t ts;
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 1);
    ck_assert_uint_eq(cap, SIZE);
    ck_assert_int_eq(truncate(path, CUT), 0);
    size_t whole = 1;
    int rc;
    while ((rc = pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err)) == 1) {
        ck_assert_uint_eq(cap, SIZE);
        ck_assert_uint_eq(data[0], (uint8_t)(whole & 0xff));
        ck_assert_uint_eq(data[cap - 1], (uint8_t)((whole + cap - 1) & 0xff));
        whole++;
    }
    ck_assert_int_eq(rc, -1);
    /* the records that end before the cut (24-byte file header, 16 a record) */
    ck_assert_uint_eq(whole, (CUT - 24) / (16 + SIZE));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 0);
    pb_pcapfile_close(f);

    write_pcap(path, false, false, 65535, 1, sizes, 4);
    f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 1);
        ck_assert_uint_eq(data[cap - 1], (uint8_t)((k + cap - 1) & 0xff));
    }
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 0);
    pb_pcapfile_close(f);
}
END_TEST

/* Records across the refills of the read buffer: a file of several
 * buffers, frames of many sizes, every byte where it belongs. */
START_TEST(pcapfile_reads_across_windows)
{
    enum { N = 220 };
    static size_t sizes[N];
    for (size_t k = 0; k < N; k++) {
        sizes[k] = 1 + (k * 7919u) % 65000u;
    }
    const char *path = tmp_path("big.pcap");
    write_pcap(path, false, false, 65535, 1, sizes, N);
    char err[512];
    struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t ts;
    for (size_t k = 0; k < N; k++) {
        ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 1);
        ck_assert_uint_eq(cap, sizes[k]);
        ck_assert_uint_eq(data[0], (uint8_t)(k & 0xff));
        ck_assert_uint_eq(data[cap - 1], (uint8_t)((k + cap - 1) & 0xff));
        ck_assert_uint_eq(ts / SEC, 1600000000ull + k);
    }
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err), 0);
    pb_pcapfile_close(f);
}
END_TEST

START_TEST(pcapfile_pcapng_through_libpcap)
{
    /* write a pcapng with libpcap's own writer when it has one; otherwise
     * build a minimal one by hand: SHB + IDB + EPB */
    const char *path = tmp_path("a.pcapng");
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    make_ip4_tcp();
    /* SHB */
    w32(fp, 0x0a0d0d0au, false);
    w32(fp, 28, false);
    w32(fp, 0x1a2b3c4du, false);
    w16(fp, 1, false);
    w16(fp, 0, false);
    w32(fp, 0xffffffffu, false);
    w32(fp, 0xffffffffu, false);
    w32(fp, 28, false);
    /* IDB: LINKTYPE_RAW, snaplen 0, option if_tsresol = 9 (ns) */
    w32(fp, 1, false);
    w32(fp, 20 + 8 + 4, false);
    w16(fp, 101, false);
    w16(fp, 0, false);
    w32(fp, 0, false);
    w16(fp, 9, false); /* if_tsresol */
    w16(fp, 1, false);
    fputc(9, fp);
    fputc(0, fp);
    fputc(0, fp);
    fputc(0, fp);
    w32(fp, 0, false); /* opt_endofopt */
    w32(fp, 20 + 8 + 4, false);
    /* EPB */
    size_t padded = (ip.n + 3u) & ~3u;
    uint32_t blen = (uint32_t)(28 + padded + 4);
    w32(fp, 6, false);
    w32(fp, blen, false);
    w32(fp, 0, false);
    uint64_t ts = 1600000000ull * SEC + 123456789ull;
    w32(fp, (uint32_t)(ts >> 32), false);
    w32(fp, (uint32_t)ts, false);
    w32(fp, (uint32_t)ip.n, false);
    w32(fp, (uint32_t)ip.n, false);
    fwrite(ip.b, 1, ip.n, fp);
    for (size_t i = ip.n; i < padded; i++) {
        fputc(0, fp);
    }
    w32(fp, blen, false);
    fclose(fp);

    char err[256];
    struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    int lt = pb_pcapfile_linktype(f);
    ck_assert(lt == DLT_RAW || lt == PB_LINK_RAW);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t got;
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &got, err, sizeof err), 1);
    ck_assert_uint_eq(cap, ip.n);
    ck_assert_uint_eq(got, ts);
    char e2[64];
    struct pb_decoder *d = pb_decoder_new(lt, e2, sizeof e2);
    ck_assert(pb_decode(d, data, cap, wire, got, &out));
    ck_assert_uint_eq(out.tuple.sport, 40000);
    ck_assert_uint_eq(out.payload_len, 5);
    ck_assert_mem_eq(out.payload, "hello", 5);
    pb_decoder_free(d);
    ck_assert_int_eq(pb_pcapfile_next(f, &data, &cap, &wire, &got, err, sizeof err), 0);
    pb_pcapfile_close(f);
}
END_TEST

/* ---- real captures (PB_SRC) ---- */

static void read_all(const char *rel, int want_link, size_t *frames, struct pb_decoder **dp)
{
    const char *src = getenv("PB_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/conformance/pcaps/%s", src ? src : ".", rel);
    char err[512];
    struct pb_pcapfile *f = pb_pcapfile_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(pb_pcapfile_linktype(f), want_link);
    struct pb_decoder *d = pb_decoder_new(pb_pcapfile_linktype(f), err, sizeof err);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t ts;
    *frames = 0;
    while (pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err) == 1) {
        (*frames)++;
        pb_decode(d, data, cap, wire, ts, &out);
    }
    pb_pcapfile_close(f);
    *dp = d;
}

START_TEST(real_vlan_icmp)
{
    size_t n;
    struct pb_decoder *d;
    read_all("icmp/icmp4_ping_over_vlan.pcap", 1, &n, &d);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(pb_decoder_stats(d)->decoded, 2);
    ck_assert_uint_eq(out.nvlan, 1);
    ck_assert_uint_eq(out.vlan[0], 10);
    ck_assert_uint_eq(out.tuple.proto, 1);
    ck_assert_uint_eq(out.icmp_type, 0); /* the echo reply */
    pb_decoder_free(d);
    read_all("802.1q-q-in-q-icmp.pcap", 1, &n, &d);
    ck_assert_uint_eq(pb_decoder_stats(d)->decoded, 1);
    ck_assert_uint_eq(out.nvlan, 2);
    ck_assert_uint_eq(out.vlan[0], 101);
    ck_assert_uint_eq(out.vlan[1], 600);
    pb_decoder_free(d);
    read_all("icmp/icmp6_ping_over_vlan.pcap", 1, &n, &d);
    ck_assert_uint_eq(pb_decoder_stats(d)->decoded, 2);
    ck_assert_uint_eq(out.tuple.proto, 58);
    ck_assert(out.tuple.src.v6);
    pb_decoder_free(d);
}
END_TEST

START_TEST(real_link_types)
{
    static const struct {
        const char *file;
        int link;
    } cases[] = {
        {"thrift_tutorial.pcap", 0},
        {"amqp_publish.pcap", 113},
        {"mysql_long.pcap", 1},
        {"ipv6_thrift.pcap", 1},
        {"wsgi_loopback.pcap", 1},
        {"http_post_json.pcap", 0},
        {"memcache/memcache_bin_udp_delete.pcap", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        struct pb_decoder *d;
        read_all(cases[i].file, cases[i].link, &n, &d);
        ck_assert_uint_gt(n, 0);
        ck_assert_msg(pb_decoder_stats(d)->decoded == n, "%s: %llu of %zu decoded", cases[i].file,
                      (unsigned long long)pb_decoder_stats(d)->decoded, n);
        ck_assert_uint_eq(pb_decoder_stats(d)->malformed, 0);
        pb_decoder_free(d);
    }
}
END_TEST

/* ---- BPF filter ---- */

static const struct pb_proto_ops ops_http = {.name = "http", .transports = PB_TCP};
static const struct pb_proto_ops ops_dns = {.name = "dns", .transports = PB_TCP | PB_UDP};
static const struct pb_proto_ops ops_dhcp = {.name = "dhcpv4", .transports = PB_UDP};
static const struct pb_proto_ops ops_icmp = {.name = "icmp", .transports = PB_ICMP};

START_TEST(filter_from_ports)
{
    static struct pb_protos ps;
    static struct pb_proto list[4];
    memset(&ps, 0, sizeof ps);
    memset(list, 0, sizeof list);
    /* configured in this order; Packetbeat sorts by registration (name) */
    list[0].ops = &ops_http;
    list[0].ports[0] = 80;
    list[0].ports[1] = 8080;
    list[0].nports = 2;
    list[1].ops = &ops_icmp;
    list[2].ops = &ops_dns;
    list[2].ports[0] = 53;
    list[2].nports = 1;
    list[3].ops = &ops_dhcp;
    list[3].ports[0] = 67;
    list[3].ports[1] = 68;
    list[3].nports = 2;
    ps.list = list;
    ps.n = 4;
    ps.icmp = &list[1];
    char *f = pb_filter_from_ports(&ps, false);
    ck_assert_str_eq(f, "udp port 67 or udp port 68 or port 53 or tcp port 80 or tcp port 8080 "
                        "or icmp or icmp6");
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    ck_assert_int_eq(pcap_compile(p, &prog, f, 1, PCAP_NETMASK_UNKNOWN), 0);
    pcap_freecode(&prog);
    pb_free(f);
    f = pb_filter_from_ports(&ps, true);
    ck_assert_str_eq(f, "udp port 67 or udp port 68 or port 53 or tcp port 80 or tcp port 8080 "
                        "or icmp or icmp6 or (vlan and (udp port 67 or udp port 68 or port 53 "
                        "or tcp port 80 or tcp port 8080 or icmp or icmp6))");
    ck_assert_int_eq(pcap_compile(p, &prog, f, 1, PCAP_NETMASK_UNKNOWN), 0);
    pcap_freecode(&prog);
    pb_free(f);
    pcap_close(p);
    /* no icmp, one protocol */
    ps.icmp = NULL;
    ps.n = 1;
    f = pb_filter_from_ports(&ps, false);
    ck_assert_str_eq(f, "tcp port 80 or tcp port 8080");
    pb_free(f);
    /* nothing at all: no filter, even with vlans */
    ps.n = 0;
    f = pb_filter_from_ports(&ps, true);
    ck_assert_str_eq(f, "");
    pb_free(f);
}
END_TEST

static Suite *decoder_suite(void)
{
    Suite *s = suite_create("decoder");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dec_ethernet_ipv4_tcp);
    tcase_add_test(tc, dec_ethernet_padding_trimmed);
    tcase_add_test(tc, dec_vlan_tags);
    tcase_add_test(tc, dec_non_ip_unsupported);
    tcase_add_test(tc, dec_linux_sll);
    tcase_add_test(tc, dec_linux_sll2);
    tcase_add_test(tc, dec_null_and_loop);
    tcase_add_test(tc, dec_raw_ip);
    tcase_add_test(tc, dec_ipv4_options);
    tcase_add_test(tc, dec_ipv4_lengths);
    tcase_add_test(tc, dec_udp_and_icmp);
    tcase_add_test(tc, dec_ip_in_ip);
    tcase_add_test(tc, dec_ipv6_ext_headers);
    tcase_add_test(tc, frag_in_order);
    tcase_add_test(tc, frag_out_of_order_and_duplicates);
    tcase_add_test(tc, frag_conflicting_overlap_dropped);
    tcase_add_test(tc, frag_bad_fragments);
    tcase_add_test(tc, frag_timeout);
    tcase_add_test(tc, frag_too_many_datagrams);
    tcase_add_test(tc, frag_ipv6);
    tcase_add_test(tc, dec_truncated_everywhere);
    tcase_add_test(tc, dec_random_garbage);
    tcase_add_test(tc, pcapfile_reads_whole_frames);
    tcase_add_test(tc, pcapfile_errors_name_the_file);
    tcase_add_test(tc, pcapfile_survives_a_file_cut_while_read);
    tcase_add_test(tc, pcapfile_reads_across_windows);
    tcase_add_test(tc, pcapfile_pcapng_through_libpcap);
    tcase_add_test(tc, real_vlan_icmp);
    tcase_add_test(tc, real_link_types);
    tcase_add_test(tc, filter_from_ports);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        return EXIT_FAILURE;
    }
    int failed = pt_run_suite(decoder_suite());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
