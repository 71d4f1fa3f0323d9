/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_tunnel.c - decapsulation (packet/tunnel.c and its use in
 * packet/decoder.c): VXLAN, GENEVE, GRE (IP and Ethernet inside), ERSPAN
 * types I, II and III, IP in IP; the switches and their defaults, nesting
 * caps, malformed and cut headers; the tunnel on transaction events
 * (beat/event.c); and IPv6 fragment reassembly bounded like IPv4's.
 */
#include <check.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/limits.h"
#include "packet/decoder.h"
#include "packet/filter.h"
#include "packet/packet.h"
#include "packet/ipfrag.h"
#include "packet/tunnel.h"
#include "tests/support/ptrun.h"

#define SEC 1000000000ull

/* ---- frame building ---- */

struct fb {
    uint8_t b[4096];
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

static const uint8_t MAC_A[6] = {2, 0, 0, 0, 0, 0xa}, MAC_B[6] = {2, 0, 0, 0, 0, 0xb};
static const uint8_t IN_A[6] = {2, 0, 0, 0, 1, 0xa}, IN_B[6] = {2, 0, 0, 0, 1, 0xb};
static const uint8_t V6A[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6B[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* IPv4 10.0.0.1:40000 -> 10.0.0.2:80, TCP "hello" */
static void inner_ip4(struct fb *f)
{
    put8(f, 0x45);
    put8(f, 0);
    put16(f, 20 + 20 + 5);
    put32(f, 0);
    put8(f, 64);
    put8(f, 6);
    put16(f, 0);
    put32(f, 0x0a000001u);
    put32(f, 0x0a000002u);
    put16(f, 40000);
    put16(f, 80);
    put32(f, 1000);
    put32(f, 0);
    put8(f, 0x50);
    put8(f, 0x18);
    put16(f, 65535);
    put32(f, 0);
    putb(f, "hello", 5);
}

/* the inner frame: Ethernet, VLAN 7, IPv4 */
static void inner_eth(struct fb *f)
{
    putb(f, IN_B, 6);
    putb(f, IN_A, 6);
    put16(f, 0x8100);
    put16(f, 7);
    put16(f, 0x0800);
    inner_ip4(f);
}

/* outer Ethernet + IPv4 192.0.2.1 -> 192.0.2.2 with protocol proto */
static void outer4(struct fb *f, uint8_t proto, const struct fb *body)
{
    putb(f, MAC_B, 6);
    putb(f, MAC_A, 6);
    put16(f, 0x0800);
    put8(f, 0x45);
    put8(f, 0);
    put16(f, (unsigned)(20 + body->n));
    put32(f, 0);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put32(f, 0xc0000201u);
    put32(f, 0xc0000202u);
    putb(f, body->b, body->n);
}

static void outer6(struct fb *f, uint8_t nh, const struct fb *body)
{
    putb(f, MAC_B, 6);
    putb(f, MAC_A, 6);
    put16(f, 0x86dd);
    put32(f, 0x60000000u);
    put16(f, (unsigned)body->n);
    put8(f, nh);
    put8(f, 64);
    putb(f, V6A, 16);
    putb(f, V6B, 16);
    putb(f, body->b, body->n);
}

static void udp(struct fb *f, uint16_t dport, const struct fb *body)
{
    put16(f, 50000);
    put16(f, dport);
    put16(f, (unsigned)(8 + body->n));
    put16(f, 0);
    putb(f, body->b, body->n);
}

static void vxlan(struct fb *f, uint8_t flags, uint32_t vni, const struct fb *inner)
{
    put8(f, flags);
    put8(f, 0);
    put16(f, 0);
    put32(f, vni << 8);
    putb(f, inner->b, inner->n);
}

static struct fb in, tun, l4, fr;
static struct pb_decoded out;
static struct pb_decoder *d;

static void setup(void)
{
    char err[128];
    d = pb_decoder_new(PB_LINK_EN10MB, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    in.n = tun.n = l4.n = fr.n = 0;
    memset(&out, 0, sizeof out);
}

static void teardown(void)
{
    pb_decoder_free(d);
    d = NULL;
    pb_ev_set_tunnel(NULL);
    pb_ev_tunnels_free();
}

static void all_on(void)
{
    struct pb_decap_cfg c;
    pb_decap_defaults(&c);
    c.vxlan = c.geneve = c.gre = c.erspan = true;
    pb_decoder_set_decap(d, &c);
}

static bool run(const struct fb *f)
{
    return pb_decode(d, f->b, f->n, (uint32_t)f->n, SEC, &out);
}

static void assert_inner_hello(void)
{
    ck_assert_uint_eq(out.tuple.proto, 6);
    ck_assert_uint_eq(out.tuple.sport, 40000);
    ck_assert_uint_eq(out.tuple.dport, 80);
    ck_assert_uint_eq(out.tuple.src.b[3], 1);
    ck_assert_uint_eq(out.tuple.dst.b[0], 10);
    ck_assert_uint_eq(out.payload_len, 5);
    ck_assert_mem_eq(out.payload, "hello", 5);
    ck_assert_uint_eq(out.nip, 1);
}

static void assert_outer4(void)
{
    ck_assert(!out.tunnel.src.v6);
    ck_assert_uint_eq(out.tunnel.src.b[0], 192);
    ck_assert_uint_eq(out.tunnel.src.b[3], 1);
    ck_assert_uint_eq(out.tunnel.dst.b[3], 2);
}

/* ---- VXLAN ---- */

START_TEST(vxlan_off_by_default_on_when_asked)
{
    inner_eth(&in);
    vxlan(&tun, 0x08, 42, &in);
    udp(&l4, PB_VXLAN_PORT, &tun);
    outer4(&fr, 17, &l4);
    /* default: Packetbeat's view, the outer UDP datagram */
    ck_assert(run(&fr));
    ck_assert_uint_eq(out.tuple.proto, 17);
    ck_assert_uint_eq(out.tuple.dport, PB_VXLAN_PORT);
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_NONE);
    all_on();
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert(out.has_eth);
    ck_assert_mem_eq(out.src_mac, IN_A, 6);
    ck_assert_mem_eq(out.dst_mac, IN_B, 6);
    ck_assert_uint_eq(out.nvlan, 1);
    ck_assert_uint_eq(out.vlan[0], 7);
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_VXLAN);
    ck_assert(out.tunnel.has_id);
    ck_assert_uint_eq(out.tunnel.id, 42);
    assert_outer4();
    /* flows count the inner frame's bytes */
    ck_assert_uint_eq(out.wire_len, in.n);
    ck_assert_uint_eq(pb_decoder_stats(d)->tunnels, 1);
}
END_TEST

START_TEST(vxlan_bad_header_and_other_port)
{
    all_on();
    inner_eth(&in);
    vxlan(&tun, 0x00, 42, &in); /* I flag clear */
    udp(&l4, PB_VXLAN_PORT, &tun);
    outer4(&fr, 17, &l4);
    uint64_t bad = pb_decoder_stats(d)->malformed;
    ck_assert(!run(&fr));
    ck_assert_uint_eq(pb_decoder_stats(d)->malformed, bad + 1);
    /* a configured port instead of 4789 */
    struct pb_decap_cfg c;
    pb_decap_defaults(&c);
    c.vxlan = true;
    c.vxlan_port = 8472;
    pb_decoder_set_decap(d, &c);
    tun.n = l4.n = fr.n = 0;
    vxlan(&tun, 0x08, 9, &in);
    udp(&l4, 8472, &tun);
    outer4(&fr, 17, &l4);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.tunnel.id, 9);
}
END_TEST

/* ---- GENEVE ---- */

static void geneve(struct fb *f, unsigned optwords, unsigned b1, uint16_t proto, uint32_t vni,
                   const struct fb *inner)
{
    put8(f, optwords & 0x3fu);
    put8(f, b1);
    put16(f, proto);
    put32(f, vni << 8);
    for (unsigned i = 0; i < optwords; i++) {
        put32(f, 0x01020300u | i);
    }
    putb(f, inner->b, inner->n);
}

START_TEST(geneve_ip_and_ethernet_inside)
{
    all_on();
    inner_ip4(&in);
    geneve(&tun, 2, 0, 0x0800, 77, &in);
    udp(&l4, PB_GENEVE_PORT, &tun);
    outer6(&fr, 17, &l4);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert(!out.has_eth); /* L3 inside: no MACs, outer ones forgotten */
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_GENEVE);
    ck_assert_uint_eq(out.tunnel.id, 77);
    ck_assert(out.tunnel.src.v6);
    ck_assert_mem_eq(out.tunnel.dst.b, V6B, 16);

    in.n = tun.n = l4.n = fr.n = 0;
    inner_eth(&in);
    geneve(&tun, 0, 0, PB_INNER_ETHERNET, 5, &in);
    udp(&l4, PB_GENEVE_PORT, &tun);
    outer4(&fr, 17, &l4);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.vlan[0], 7);
}
END_TEST

START_TEST(geneve_oam_version_and_options_overrun)
{
    all_on();
    inner_ip4(&in);
    geneve(&tun, 0, 0x80, 0x0800, 1, &in); /* OAM */
    udp(&l4, PB_GENEVE_PORT, &tun);
    outer4(&fr, 17, &l4);
    uint64_t uns = pb_decoder_stats(d)->unsupported;
    ck_assert(!run(&fr));
    ck_assert_uint_eq(pb_decoder_stats(d)->unsupported, uns + 1);
    tun.n = l4.n = fr.n = 0;
    geneve(&tun, 0, 0, 0x0800, 1, &in);
    tun.b[0] |= 0x40; /* version 1 */
    udp(&l4, PB_GENEVE_PORT, &tun);
    outer4(&fr, 17, &l4);
    ck_assert(!run(&fr));
    /* options longer than the datagram */
    struct pb_tun_hdr h;
    static const uint8_t g[8] = {0x3f, 0, 0x08, 0, 0, 0, 1, 0};
    ck_assert_int_eq(pb_tunnel_geneve(g, sizeof g, &h), PB_TUN_MALFORMED);
}
END_TEST

/* ---- GRE and ERSPAN ---- */

START_TEST(gre_ip_with_key_and_teb)
{
    all_on();
    inner_ip4(&in);
    put16(&tun, 0xa000); /* C and K */
    put16(&tun, 0x0800);
    put32(&tun, 0xffff0000u); /* checksum + reserved */
    put32(&tun, 1234);        /* key */
    putb(&tun, in.b, in.n);
    outer4(&fr, 47, &tun);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_GRE);
    ck_assert(out.tunnel.has_id);
    ck_assert_uint_eq(out.tunnel.id, 1234);
    assert_outer4();

    in.n = tun.n = fr.n = 0;
    inner_eth(&in);
    put16(&tun, 0x1000); /* S */
    put16(&tun, PB_INNER_ETHERNET);
    put32(&tun, 99);
    putb(&tun, in.b, in.n);
    outer6(&fr, 47, &tun);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert(out.has_eth);
    ck_assert(!out.tunnel.has_id);
    ck_assert(out.tunnel.src.v6);
}
END_TEST

START_TEST(gre_off_routing_and_version)
{
    inner_ip4(&in);
    put16(&tun, 0x0000);
    put16(&tun, 0x0800);
    putb(&tun, in.b, in.n);
    outer4(&fr, 47, &tun);
    ck_assert(!run(&fr)); /* off by default: GRE is not for Packetbeat */
    all_on();
    ck_assert(run(&fr));
    tun.b[0] = 0x40; /* routing present */
    fr.n = 0;
    outer4(&fr, 47, &tun);
    ck_assert(!run(&fr));
    tun.b[0] = 0x00;
    tun.b[1] = 0x01; /* version 1: PPTP */
    fr.n = 0;
    outer4(&fr, 47, &tun);
    ck_assert(!run(&fr));
    /* a key announced and cut */
    static const uint8_t g[6] = {0x20, 0, 0x08, 0, 0, 0};
    struct pb_tun_hdr h;
    struct pb_decap_cfg c;
    pb_decap_defaults(&c);
    c.gre = true;
    ck_assert_int_eq(pb_tunnel_gre(g, sizeof g, &c, &h), PB_TUN_MALFORMED);
}
END_TEST

static void erspan_frame(int type, bool subheader)
{
    in.n = tun.n = fr.n = 0;
    inner_eth(&in);
    put16(&tun, type == 1 ? 0x0000 : 0x1000);
    put16(&tun, type == 3 ? 0x22eb : 0x88be);
    if (type != 1) {
        put32(&tun, 7); /* sequence */
    }
    if (type == 2) {
        put16(&tun, (1u << 12) | 7u); /* version 1, VLAN 7 */
        put16(&tun, 0x0123);          /* session 0x123 */
        put32(&tun, 0);
    } else if (type == 3) {
        put16(&tun, (2u << 12));
        put16(&tun, 0x0045);
        put32(&tun, 0xdeadbeefu); /* timestamp */
        put16(&tun, 0);           /* SGT */
        put16(&tun, subheader ? 1u : 0u);
        if (subheader) {
            put32(&tun, 0x11111111u);
            put32(&tun, 0x22222222u);
        }
    }
    putb(&tun, in.b, in.n);
    outer4(&fr, 47, &tun);
}

START_TEST(erspan_types)
{
    struct pb_decap_cfg c;
    pb_decap_defaults(&c);
    c.gre = true; /* GRE without ERSPAN: mirrored frames stay outer */
    pb_decoder_set_decap(d, &c);
    erspan_frame(2, false);
    ck_assert(!run(&fr));
    all_on();
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_ERSPAN);
    ck_assert_uint_eq(out.tunnel.id, 0x123);
    erspan_frame(3, false);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.tunnel.id, 0x45);
    erspan_frame(3, true);
    ck_assert(run(&fr));
    assert_inner_hello();
    erspan_frame(1, false);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert(!out.tunnel.has_id);
    /* type III with another frame type than Ethernet */
    erspan_frame(3, false);
    fr.b[14 + 20 + 8 + 10] = 0x08; /* FT = 2 */
    ck_assert(!run(&fr));
    /* type II with a wrong version */
    erspan_frame(2, false);
    fr.b[14 + 20 + 8] = 0x20;
    ck_assert(!run(&fr));
}
END_TEST

/* ---- IP in IP ---- */

START_TEST(ipip_default_on_and_switch)
{
    inner_ip4(&in);
    outer4(&fr, 4, &in);
    ck_assert(run(&fr));
    ck_assert_uint_eq(out.nip, 2); /* Packetbeat's view: both IP layers */
    ck_assert_uint_eq(out.outer_src.b[0], 192);
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_IPIP);
    assert_outer4();
    ck_assert(out.has_eth); /* the outer Ethernet header stays */
    struct pb_decap_cfg c;
    pb_decap_defaults(&c);
    c.ipip = false;
    pb_decoder_set_decap(d, &c);
    ck_assert(!run(&fr));
}
END_TEST

/* ---- nesting, cuts ---- */

START_TEST(nesting_capped_outermost_recorded)
{
    all_on();
    /* GRE(key 1) around VXLAN(2) around GRE(key 3) ... deeper than the cap */
    struct fb a, b;
    a.n = 0;
    inner_ip4(&a);
    for (unsigned level = 0; level < PB_MAX_TUNNEL_DEPTH + 1; level++) {
        b.n = 0;
        put16(&b, 0x2000);
        put16(&b, 0x0800);
        put32(&b, 100 + level);
        putb(&b, a.b, a.n);
        a.n = 0;
        put8(&a, 0x45);
        put8(&a, 0);
        put16(&a, (unsigned)(20 + b.n));
        put32(&a, 0);
        put8(&a, 64);
        put8(&a, 47);
        put16(&a, 0);
        put32(&a, 0xc0000201u + level);
        put32(&a, 0xc0000202u);
        putb(&a, b.b, b.n);
    }
    /* a is now IPv4/GRE x (cap + 1) around the packet */
    fr.n = 0;
    putb(&fr, MAC_B, 6);
    putb(&fr, MAC_A, 6);
    put16(&fr, 0x0800);
    putb(&fr, a.b, a.n);
    ck_assert(!run(&fr));
    ck_assert_uint_eq(pb_decoder_stats(d)->tunnel_too_deep, 1);
    /* one level less fits, and the outermost tunnel is the one recorded */
    fr.n = 0;
    putb(&fr, MAC_B, 6);
    putb(&fr, MAC_A, 6);
    put16(&fr, 0x0800);
    putb(&fr, a.b + 20 + 8, a.n - 28);
    ck_assert(run(&fr));
    assert_inner_hello();
    ck_assert_uint_eq(out.tunnel.id, 100 + PB_MAX_TUNNEL_DEPTH - 1);
}
END_TEST

START_TEST(every_cut_is_safe)
{
    all_on();
    struct fb frames[6];
    for (int k = 0; k < 6; k++) {
        in.n = tun.n = l4.n = fr.n = 0;
        inner_eth(&in);
        switch (k) {
        case 0:
            vxlan(&tun, 0x08, 1, &in);
            udp(&l4, PB_VXLAN_PORT, &tun);
            outer4(&fr, 17, &l4);
            break;
        case 1:
            geneve(&tun, 3, 0, PB_INNER_ETHERNET, 1, &in);
            udp(&l4, PB_GENEVE_PORT, &tun);
            outer6(&fr, 17, &l4);
            break;
        case 2:
            erspan_frame(2, false);
            break;
        case 3:
            erspan_frame(3, true);
            break;
        case 4:
            put16(&tun, 0xb000);
            put16(&tun, PB_INNER_ETHERNET);
            put32(&tun, 0);
            put32(&tun, 1);
            put32(&tun, 2);
            putb(&tun, in.b, in.n);
            outer4(&fr, 47, &tun);
            break;
        default:
            l4.n = 0;
            inner_ip4(&l4);
            outer6(&fr, 4, &l4);
            break;
        }
        frames[k] = fr;
    }
    for (int k = 0; k < 6; k++) {
        for (size_t n = 0; n <= frames[k].n; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exactly sized: ASan sees over-reads */
            memcpy(copy, frames[k].b, n);
            bool ok = pb_decode(d, copy, n, (uint32_t)n, SEC, &out);
            if (ok && out.payload_len > 0) {
                ck_assert(out.payload >= copy && out.payload + out.payload_len <= copy + n);
            }
            free(copy);
        }
        /* whole: decoded */
        ck_assert(pb_decode(d, frames[k].b, frames[k].n, (uint32_t)frames[k].n, SEC, &out));
        ck_assert_uint_eq(out.tuple.dport, 80);
    }
}
END_TEST

/* ---- config ---- */

static int read_cfg(const char *yaml, struct pb_decap_cfg *c, char *err, size_t n)
{
    char perr[256];
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "test", perr, sizeof perr);
    ck_assert_msg(root != NULL, "%s", perr);
    int rc = pb_decap_config_read(pb_cfg_get(root, "packetbeat.interfaces"), c, err, n);
    pb_cfg_free(root);
    return rc;
}

START_TEST(config_switches)
{
    struct pb_decap_cfg c;
    char err[256] = "";
    ck_assert_int_eq(read_cfg("packetbeat.interfaces.device: any\n", &c, err, sizeof err), 0);
    ck_assert(c.ipip && !c.vxlan && !c.geneve && !c.gre && !c.erspan);
    ck_assert(!pb_decap_any(&c));
    ck_assert_int_eq(read_cfg("packetbeat.interfaces.decapsulation:\n"
                              "  vxlan: true\n  erspan: true\n  ipip: false\n"
                              "  vxlan_port: 8472\n",
                              &c, err, sizeof err),
                     0);
    ck_assert(c.vxlan && c.erspan && !c.gre && !c.ipip);
    ck_assert_uint_eq(c.vxlan_port, 8472);
    ck_assert_uint_eq(c.geneve_port, PB_GENEVE_PORT);
    ck_assert(pb_decap_any(&c));
    ck_assert_int_lt(
        read_cfg("packetbeat.interfaces.decapsulation: {gre: maybe}\n", &c, err, sizeof err), 0);
    ck_assert_int_lt(read_cfg("packetbeat.interfaces.decapsulation: {geneve_port: 70000}\n", &c,
                              err, sizeof err),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "geneve_port"));
    ck_assert_int_lt(read_cfg("packetbeat.interfaces.decapsulation: true\n", &c, err, sizeof err),
                     0);
}
END_TEST

/* ---- the event fields ---- */

static json_t *tx_event(const struct pb_tuple *tu)
{
    struct pb_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = "http";
    tx.tuple = tu;
    tx.start_ns = SEC;
    tx.src_bytes = tx.dst_bytes = -1;
    return pb_ev_take(pb_tx_event(&tx));
}

START_TEST(event_fields)
{
    struct pb_tuple tu;
    memset(&tu, 0, sizeof tu);
    tu.proto = 6;
    tu.src.b[0] = 10;
    tu.dst.b[0] = 11;
    tu.sport = 1234;
    tu.dport = 80;
    json_t *plain = tx_event(&tu);
    char *plain_s = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_ptr_null(pb_json_get(plain, "network.tunnel"));

    struct pb_tunnel t;
    memset(&t, 0, sizeof t);
    t.kind = PB_TUNNEL_VXLAN;
    t.has_id = true;
    t.id = 42;
    t.src.b[0] = 192;
    t.dst.b[0] = 193;
    pb_ev_set_tunnel(&t);
    json_t *ev = tx_event(&tu);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.tunnel.type")), "vxlan");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "network.tunnel.id")), 42);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.tunnel.source.ip")), "192.0.0.0");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.tunnel.destination.ip")),
                     "193.0.0.0");
    /* the rest is the untunnelled event, byte for byte */
    pb_json_del(ev, "network.tunnel");
    char *ev_s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(ev_s, plain_s);
    free(ev_s);
    json_decref(ev);
    pb_ev_set_tunnel(NULL);

    /* remembered per tuple (either direction) for events built later */
    t.kind = PB_TUNNEL_GRE;
    t.has_id = false;
    pb_ev_note_tunnel(&tu, &t);
    struct pb_tuple rev = pb_tuple_reverse(&tu);
    ck_assert_ptr_nonnull(pb_ev_tunnel_of(&rev));
    ev = tx_event(&rev);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.tunnel.type")), "gre");
    ck_assert_ptr_null(pb_json_get(ev, "network.tunnel.id"));
    json_decref(ev);
    /* an untunnelled packet of that tuple forgets it */
    pb_ev_note_tunnel(&tu, NULL);
    ck_assert_ptr_null(pb_ev_tunnel_of(&tu));
    ev = tx_event(&tu);
    ck_assert_ptr_null(pb_json_get(ev, "network.tunnel"));
    json_decref(ev);
    free(plain_s);
    json_decref(plain);
}
END_TEST

/* ---- IPv6 fragments: bounded like IPv4 ---- */

static void frag6(struct fb *f, uint32_t id, uint16_t off, bool more, const void *p, size_t n)
{
    struct fb body;
    body.n = 0;
    put8(&body, 17);
    put8(&body, 0);
    put16(&body, (unsigned)(off | (more ? 1u : 0u)));
    put32(&body, id);
    putb(&body, p, n);
    f->n = 0;
    outer6(f, 44, &body);
}

START_TEST(ipv6_fragments_bounded)
{
    uint8_t data[64];
    memset(data, 'x', sizeof data);
    /* more datagrams than the cap: the oldest are evicted, never more held */
    for (uint32_t i = 0; i < PB_MAX_FRAG_DATAGRAMS + 20; i++) {
        frag6(&fr, i, 0, true, data, sizeof data);
        ck_assert(!run(&fr));
    }
    ck_assert_uint_eq(pb_decoder_stats(d)->frag_evicted, 20);
    /* a conflicting overlap drops the datagram (no evasion by overlap) */
    frag6(&fr, 0x7777, 0, true, data, 16);
    ck_assert(!run(&fr));
    data[0] = 'y';
    frag6(&fr, 0x7777, 0, true, data, 16);
    uint64_t dropped = pb_decoder_stats(d)->frag_dropped;
    ck_assert(!run(&fr));
    ck_assert_uint_gt(pb_decoder_stats(d)->frag_dropped, dropped);
    /* a datagram too big for one IP packet is refused */
    frag6(&fr, 0x8888, 65528, false, data, 64);
    ck_assert(!run(&fr));
    /* fragments inside a tunnel are reassembled like any other */
    all_on();
    struct fb a, b, c;
    a.n = b.n = c.n = 0;
    uint8_t udpdg[8 + 24];
    memset(udpdg, 'z', sizeof udpdg);
    udpdg[0] = 0x13;
    udpdg[1] = 0x88; /* sport 5000 */
    udpdg[2] = 0x00;
    udpdg[3] = 0x35; /* dport 53 */
    udpdg[4] = 0;
    udpdg[5] = sizeof udpdg;
    udpdg[6] = udpdg[7] = 0;
    frag6(&a, 0x9999, 0, true, udpdg, 16);
    frag6(&b, 0x9999, 16, false, udpdg + 16, sizeof udpdg - 16);
    for (int i = 0; i < 2; i++) {
        const struct fb *x = i == 0 ? &a : &b;
        tun.n = l4.n = fr.n = 0;
        put16(&tun, 0);
        put16(&tun, PB_INNER_ETHERNET);
        putb(&tun, x->b, x->n);
        outer4(&fr, 47, &tun);
        bool ok = run(&fr);
        ck_assert(ok == (i == 1));
    }
    ck_assert(out.reassembled);
    ck_assert_uint_eq(out.tuple.dport, 53);
    ck_assert_uint_eq(out.payload_len, 24);
    ck_assert_uint_eq(out.tunnel.kind, PB_TUNNEL_GRE);
    (void)c;
}
END_TEST

/* ---- the live capture filter lets the tunnels' outer packets in ---- */

static const struct pb_proto_ops web_ops = {.name = "http", .transports = PB_TCP};

static char *filter_for(const char *yaml)
{
    char perr[256];
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "test", perr, sizeof perr);
    ck_assert_msg(root != NULL, "%s", perr);
    struct pb_proto p;
    memset(&p, 0, sizeof p);
    p.ops = &web_ops;
    p.ports[0] = 80;
    p.nports = 1;
    struct pb_protos ps;
    memset(&ps, 0, sizeof ps);
    ps.list = &p;
    ps.n = 1;
    char *f = pb_capture_filter(root, &ps);
    pb_cfg_free(root);
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(capture_filter)
{
    char *f = filter_for("packetbeat.interfaces.device: lo\n");
    ck_assert_str_eq(f, "tcp port 80"); /* unchanged without decapsulation */
    pb_free(f);
    f = filter_for("packetbeat.interfaces:\n  device: lo\n"
                   "  decapsulation: {vxlan: true, geneve: true, erspan: true}\n");
    ck_assert_str_eq(f, "(tcp port 80) or udp dst port 4789 or udp dst port 6081 or "
                        "ip proto 47 or ip6 proto 47");
    pcap_t *pc = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    ck_assert_int_eq(pcap_compile(pc, &prog, f, 1, PCAP_NETMASK_UNKNOWN), 0);
    pcap_freecode(&prog);
    pcap_close(pc);
    pb_free(f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tunnel");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, vxlan_off_by_default_on_when_asked);
    tcase_add_test(tc, vxlan_bad_header_and_other_port);
    tcase_add_test(tc, geneve_ip_and_ethernet_inside);
    tcase_add_test(tc, geneve_oam_version_and_options_overrun);
    tcase_add_test(tc, gre_ip_with_key_and_teb);
    tcase_add_test(tc, gre_off_routing_and_version);
    tcase_add_test(tc, erspan_types);
    tcase_add_test(tc, ipip_default_on_and_switch);
    tcase_add_test(tc, nesting_capped_outermost_recorded);
    tcase_add_test(tc, every_cut_is_safe);
    tcase_add_test(tc, config_switches);
    tcase_add_test(tc, event_fields);
    tcase_add_test(tc, ipv6_fragments_bounded);
    tcase_add_test(tc, capture_filter);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
