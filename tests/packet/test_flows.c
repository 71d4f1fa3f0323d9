/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_flows.c - network flows (packet/flows.c): the flow id
 * bytes and their base64 form for IPv4/TCP (with a connection id), IPv6/UDP,
 * IPv6/TCP (a flow.id seen in a Packetbeat 8.x event) and Ethernet + QinQ
 * keys, and flow.id against a plain base64; orientation and per-direction
 * counters; the front cache (exact counts, one slot for both directions);
 * events of IP in IP, QinQ and IPv4-mapped flows; ICMP flows; the table
 * cap; timeout, periodic, delta and final reports; the config checks.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "packet/decoder.h"
#include "packet/flows.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC) /* a multiple of 10 s: the timer starts here */

/* ---- helpers ---- */

static json_t *events; /* what the flows emitted */

static void collect(void *ctx, struct pb_proto *p, pb_event *ev)
{
    (void)ctx;
    ck_assert_ptr_nonnull(p);
    /* as the file output writes it: from the arena, with the encodings
       made with nodes and the strings the event shares */
    pt_arena_encodes_as_tree(ev);
    json_array_append_new(events, pb_ev_take(ev));
}

static void setup(void)
{
    events = json_array();
}

static void teardown(void)
{
    json_decref(events);
}

static struct pb_ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct pb_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.b[0] = a;
    ip.b[1] = b;
    ip.b[2] = c;
    ip.b[3] = d;
    return ip;
}

static struct pb_ip ip6_last(uint8_t last)
{
    struct pb_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.v6 = 1;
    ip.b[15] = last;
    return ip;
}

static void check_raw(const struct pb_flow_id *id, const uint8_t *want, size_t n)
{
    uint8_t raw[PB_FLOW_META_LEN + PB_FLOW_ID_MAX];
    size_t got = pb_flow_id_raw(id, raw);
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(raw[i] == want[i], "byte %zu: got %02x want %02x", i, raw[i], want[i]);
    }
}

/* A decoded TCP/UDP/ICMP packet between two hosts (no Ethernet). */
static struct pb_decoded pkt(struct pb_ip src, uint16_t sport, struct pb_ip dst, uint16_t dport,
                             uint8_t proto, uint32_t wire_len, uint64_t ts)
{
    struct pb_decoded d;
    memset(&d, 0, sizeof d);
    d.ts_ns = ts;
    d.wire_len = wire_len;
    d.nip = 1;
    d.tuple.src = src;
    d.tuple.dst = dst;
    d.tuple.sport = sport;
    d.tuple.dport = dport;
    d.tuple.proto = proto;
    return d;
}

static struct pb_flows *new_flows(int64_t timeout, int64_t period, bool delta, size_t max)
{
    struct pb_flows_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ns = timeout;
    cfg.period_ns = period;
    cfg.delta = delta;
    cfg.max_flows = max;
    struct pb_flows *f = pb_flows_new(&cfg, NULL, collect, NULL, T0);
    ck_assert_ptr_nonnull(f);
    return f;
}

static json_int_t ev_int(size_t i, const char *path)
{
    json_t *v = pb_json_get(json_array_get(events, i), path);
    ck_assert_msg(json_is_integer(v), "event %zu: %s missing", i, path);
    return json_integer_value(v);
}

static const char *ev_str(size_t i, const char *path)
{
    json_t *v = pb_json_get(json_array_get(events, i), path);
    ck_assert_msg(json_is_string(v), "event %zu: %s missing", i, path);
    return json_string_value(v);
}

static bool ev_final(size_t i)
{
    return json_is_true(pb_json_get(json_array_get(events, i), "flow.final"));
}

/* ---- flow id ---- */

/* 192.168.33.1:60137 -> 192.168.33.14:3306 over Ethernet, TCP connection 1:
 * the MACs decide the orientation (08:.. < 0a:..), so every pair is written
 * destination first. */
START_TEST(flow_id_ipv4_tcp)
{
    static const uint8_t smac[6] = {0x0a, 0x00, 0x27, 0x00, 0x00, 0x00};
    static const uint8_t dmac[6] = {0x08, 0x00, 0x27, 0x76, 0xd7, 0x41};
    struct pb_ip s = ip4(192, 168, 33, 1), d = ip4(192, 168, 33, 14);
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    pb_flow_id_add_eth(&id, smac, dmac);
    pb_flow_id_add_ip(&id, &s, &d);
    pb_flow_id_add_tcp(&id, 60137, 3306);
    pb_flow_id_add_conn_id(&id, 1);
    static const uint8_t want[] = {
        0x11, 0x0c,                                     /* flags: eth|ipv4|tcp|conn */
        0x00, 0xff, 0xff, 0xff, 0x0c, 0xff, 0xff, 0xff, /* eth@0, ipv4@12 */
        0xff, 0xff, 0x14, 0x18,                         /* tcp@20, conn id@24 */
        0x01, 0x00, 0x01,                               /* 1 eth, 0 vlan, 1 ip */
        0x08, 0x00, 0x27, 0x76, 0xd7, 0x41, 0x0a, 0x00, 0x27, 0x00, 0x00, 0x00, /* macs */
        192,  168,  33,   14,   192,  168,  33,   1,                            /* ips */
        0xea, 0x0c, 0xe9, 0xea, /* 3306, 60137 little endian */
        0x01, 0,    0,    0,    0,    0,    0,    0};
    check_raw(&id, want, sizeof want);
    ck_assert_int_eq(id.dir, PB_FLOW_DIR_REVERSED);
    char str[PB_FLOW_ID_STRLEN];
    ck_assert_str_eq(pb_flow_id_string(&id, str),
                     "EQwA////DP//////FBgBAAEIACd210EKACcAAADAqCEOwKghAeoM6eoBAAAAAAAAAA");

    /* the reply builds the very same key, with the other orientation */
    struct pb_flow_id back;
    pb_flow_id_reset(&back);
    pb_flow_id_add_eth(&back, dmac, smac);
    pb_flow_id_add_ip(&back, &d, &s);
    pb_flow_id_add_tcp(&back, 3306, 60137);
    pb_flow_id_add_conn_id(&back, 1);
    check_raw(&back, want, sizeof want);
    ck_assert_int_eq(back.dir, PB_FLOW_DIR_FORWARD);
}
END_TEST

/* [::1]:51320 -> [::1]:8000 TCP without a tracked connection: the flow.id of
 * a flow event Packetbeat 8.x published (equal addresses leave the ports to
 * decide). */
START_TEST(flow_id_ipv6_tcp_packetbeat_sample)
{
    struct pb_ip lo = ip6_last(1);
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    pb_flow_id_add_ip(&id, &lo, &lo);
    ck_assert_int_eq(id.dir, PB_FLOW_DIR_UNSET);
    pb_flow_id_add_tcp(&id, 51320, 8000);
    char str[PB_FLOW_ID_STRLEN];
    ck_assert_str_eq(pb_flow_id_string(&id, str),
                     "QAT///////8A////IP8AAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAUAfeMg");
}
END_TEST

/* [::2]:53 -> [::1]:40000 UDP, no Ethernet: the addresses are sorted. */
START_TEST(flow_id_ipv6_udp)
{
    struct pb_ip a = ip6_last(2), b = ip6_last(1);
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    pb_flow_id_add_ip(&id, &a, &b);
    pb_flow_id_add_udp(&id, 53, 40000);
    uint8_t want[PB_FLOW_META_LEN + 36] = {0x40, 0x02, /* flags: ipv6|udp */
                                           0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0x00, 0xff, /* ipv6@0 */
                                           0xff, 0x20, 0xff, 0xff, /* udp@32 */
                                           0x00, 0x00, 0x01};
    want[PB_FLOW_META_LEN + 15] = 1;    /* ::1 first */
    want[PB_FLOW_META_LEN + 31] = 2;    /* then ::2 */
    want[PB_FLOW_META_LEN + 32] = 0x40; /* 40000 LE */
    want[PB_FLOW_META_LEN + 33] = 0x9c;
    want[PB_FLOW_META_LEN + 34] = 53; /* 53 LE */
    want[PB_FLOW_META_LEN + 35] = 0;
    check_raw(&id, want, sizeof want);
    ck_assert_int_eq(id.dir, PB_FLOW_DIR_REVERSED);
    char str[PB_FLOW_ID_STRLEN];
    pb_flow_id_string(&id, str);
    ck_assert_uint_eq(strlen(str), ((PB_FLOW_META_LEN + 36) * 4 + 2) / 3);
    ck_assert_ptr_null(strchr(str, '='));
}
END_TEST

/* Ethernet + QinQ (outer 101, inner 600) + IPv4: the first tag becomes the
 * outer one when the second arrives; a third overwrites the older slot. */
START_TEST(flow_id_vlan)
{
    static const uint8_t m1[6] = {1, 2, 3, 4, 5, 6}, m2[6] = {6, 5, 4, 3, 2, 1};
    struct pb_ip s = ip4(10, 0, 0, 1), d = ip4(10, 0, 0, 2);
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    pb_flow_id_add_eth(&id, m1, m2);
    pb_flow_id_add_vlan(&id, 101);
    pb_flow_id_add_vlan(&id, 600);
    pb_flow_id_add_ip(&id, &s, &d);
    static const uint8_t want[] = {
        0x17, 0x00,                                     /* eth|outer vlan|vlan|ipv4 */
        0x00, 0x0c, 0x0e, 0xff, 0x10, 0xff, 0xff, 0xff, /* eth@0 ovlan@12 vlan@14 ipv4@16 */
        0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x01,       /* 1 eth, 2 vlans, 1 ip */
        1,    2,    3,    4,    5,    6,    6,    5,    4, 3, 2, 1, /* macs as given (m1 < m2) */
        101,  0,    0x58, 0x02,                                     /* 101, 600 little endian */
        10,   0,    0,    1,    10,   0,    0,    2};
    check_raw(&id, want, sizeof want);

    struct pb_flow_id three;
    pb_flow_id_reset(&three);
    pb_flow_id_add_vlan(&three, 1);
    pb_flow_id_add_vlan(&three, 2);
    pb_flow_id_add_vlan(&three, 3);
    /* outer = 2 (offset 2), inner = 3 written over the first slot */
    static const uint8_t want3[] = {0x06, 0x00, 0xff, 0x02, 0x00, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0x00, 0x03, 0x00, 3,    0,    2,    0};
    check_raw(&three, want3, sizeof want3);
}
END_TEST

/* IP in IP: the first layer becomes the outer one. */
START_TEST(flow_id_ip_in_ip)
{
    struct pb_ip o1 = ip4(128, 0, 1, 2), o2 = ip4(127, 0, 0, 1);
    struct pb_ip i1 = ip4(128, 1, 1, 3), i2 = ip4(129, 2, 1, 4);
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    pb_flow_id_add_ip(&id, &o1, &o2);
    pb_flow_id_add_ip(&id, &i1, &i2);
    ck_assert_uint_eq(id.flags, (1u << PB_FLOW_IPV4) | (1u << PB_FLOW_OUTER_IPV4));
    ck_assert_uint_eq(id.off[PB_FLOW_OUTER_IPV4], 0);
    ck_assert_uint_eq(id.off[PB_FLOW_IPV4], 8);
    /* the outer pair decided the orientation: the inner one follows it */
    static const uint8_t bytes[] = {127, 0, 0, 1, 128, 0, 1, 2, 129, 2, 1, 4, 128, 1, 1, 3};
    ck_assert_uint_eq(id.len, sizeof bytes);
    ck_assert_mem_eq(id.b, bytes, sizeof bytes);
}
END_TEST

/* flow.id against a plain base64 of the raw bytes, for ids of every
 * length the layers make (all three tails of the 3-byte groups). */
static void ref_base64(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= in[i + 2];
        }
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++) {
            out[o++] = tab[(v >> (18 - 6 * k)) & 63];
        }
    }
    out[o] = '\0';
}

START_TEST(flow_id_string_base64)
{
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        struct pb_flow_id id;
        pb_flow_id_reset(&id);
        uint8_t m1[6], m2[6];
        struct pb_ip a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        for (size_t i = 0; i < 16; i++) {
            x = x * 1103515245u + 12345u;
            a.b[i] = (uint8_t)(x >> 16);
            b.b[i] = (uint8_t)(x >> 8);
            if (i < 6) {
                m1[i] = (uint8_t)(x >> 24);
                m2[i] = (uint8_t)(x >> 4);
            }
        }
        a.v6 = b.v6 = (uint8_t)(round & 1);
        if (round & 2) {
            pb_flow_id_add_eth(&id, m1, m2);
        }
        for (int v = 0; v < (round >> 2) % 3; v++) {
            pb_flow_id_add_vlan(&id, (uint16_t)(x >> (v * 4)));
        }
        if (round & 32) {
            pb_flow_id_add_ip(&id, &b, &a);
        }
        pb_flow_id_add_ip(&id, &a, &b);
        if (round & 64) {
            pb_flow_id_add_tcp(&id, (uint16_t)x, (uint16_t)(x >> 16));
            pb_flow_id_add_conn_id(&id, x * 0x9e3779b97f4a7c15ull);
        } else if (round & 128) {
            pb_flow_id_add_udp(&id, (uint16_t)x, (uint16_t)(x >> 16));
        }
        uint8_t raw[PB_FLOW_META_LEN + PB_FLOW_ID_MAX];
        size_t n = pb_flow_id_raw(&id, raw);
        char want[PB_FLOW_ID_STRLEN], got[PB_FLOW_ID_STRLEN];
        ref_base64(raw, n, want);
        ck_assert_str_eq(pb_flow_id_string(&id, got), want);
    }
}
END_TEST

/* ---- table and events ---- */

START_TEST(flows_directions_and_event)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 0);
    struct pb_ip c = ip4(10, 0, 0, 9), s = ip4(10, 0, 0, 1);
    struct pb_decoded d = pkt(c, 40000, s, 80, 6, 74, T0 + SEC);
    d.has_eth = true;
    memcpy(d.src_mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 9}, 6);
    memcpy(d.dst_mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 1}, 6);
    d.conn_id = 7;
    pb_flows_packet(f, &d, true, T0 + SEC);
    struct pb_decoded r = pkt(s, 80, c, 40000, 6, 1514, T0 + 2 * SEC);
    r.has_eth = true;
    memcpy(r.src_mac, d.dst_mac, 6);
    memcpy(r.dst_mac, d.src_mac, 6);
    r.conn_id = 7;
    pb_flows_packet(f, &r, true, T0 + 2 * SEC);
    pb_flows_packet(f, &r, true, T0 + 2 * SEC);
    /* another connection id is another flow */
    d.conn_id = 8;
    pb_flows_packet(f, &d, true, T0 + 3 * SEC);
    ck_assert_uint_eq(pb_flows_count(f), 2);

    pb_flows_final(f, T0 + 4 * SEC);
    ck_assert_uint_eq(json_array_size(events), 2);
    ck_assert_uint_eq(pb_flows_count(f), 0);
    ck_assert(ev_final(0));
    ck_assert_str_eq(ev_str(0, "type"), "flow");
    ck_assert_str_eq(ev_str(0, "event.action"), "network_flow");
    ck_assert_str_eq(ev_str(0, "event.kind"), "event");
    ck_assert_str_eq(ev_str(0, "event.dataset"), "flow");
    ck_assert_str_eq(ev_str(0, "source.ip"), "10.0.0.9");
    ck_assert_str_eq(ev_str(0, "source.mac"), "02-00-00-00-00-09");
    ck_assert_str_eq(ev_str(0, "destination.ip"), "10.0.0.1");
    ck_assert_int_eq(ev_int(0, "source.port"), 40000);
    ck_assert_int_eq(ev_int(0, "destination.port"), 80);
    ck_assert_int_eq(ev_int(0, "source.packets"), 1);
    ck_assert_int_eq(ev_int(0, "source.bytes"), 74);
    ck_assert_int_eq(ev_int(0, "destination.packets"), 2);
    ck_assert_int_eq(ev_int(0, "destination.bytes"), 3028);
    ck_assert_int_eq(ev_int(0, "network.packets"), 3);
    ck_assert_int_eq(ev_int(0, "network.bytes"), 3102);
    ck_assert_int_eq(ev_int(0, "event.duration"), (json_int_t)SEC);
    ck_assert_str_eq(ev_str(0, "network.transport"), "tcp");
    ck_assert_str_eq(ev_str(0, "network.type"), "ipv4");
    char cid[64];
    struct pb_tuple t = {.src = c, .dst = s, .sport = 40000, .dport = 80, .proto = 6};
    pb_community_id(&t, cid);
    ck_assert_str_eq(ev_str(0, "network.community_id"), cid);
    json_t *type = pb_json_get(json_array_get(events, 0), "event.type");
    ck_assert_uint_eq(json_array_size(type), 2);
    ck_assert_str_eq(json_string_value(json_array_get(type, 1)), "end");
    /* the second flow has seen one direction only */
    ck_assert_ptr_null(pb_json_get(json_array_get(events, 1), "destination.packets"));
    ck_assert_ptr_nonnull(pb_json_get(json_array_get(events, 1), "destination.ip"));
    /* times: the pass's @timestamp, the first and last packets; one packet
       alone gives one instant twice */
    ck_assert_str_eq(ev_str(0, "@timestamp"), "2023-11-14T22:13:24.000Z");
    ck_assert_str_eq(ev_str(0, "event.start"), "2023-11-14T22:13:21.000Z");
    ck_assert_str_eq(ev_str(0, "event.end"), "2023-11-14T22:13:22.000Z");
    ck_assert_str_eq(ev_str(1, "@timestamp"), "2023-11-14T22:13:24.000Z");
    ck_assert_str_eq(ev_str(1, "event.start"), "2023-11-14T22:13:21.000Z");
    ck_assert_str_eq(ev_str(1, "event.end"), "2023-11-14T22:13:21.000Z");
    ck_assert_int_eq(ev_int(1, "event.duration"), 0);
    json_t *cat = pb_json_get(json_array_get(events, 1), "event.category");
    ck_assert_uint_eq(json_array_size(cat), 1);
    ck_assert_str_eq(json_string_value(json_array_get(cat, 0)), "network");
    pb_flows_free(f);
}
END_TEST

START_TEST(flows_icmp)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 0);
    struct pb_ip a = ip4(10, 0, 0, 1), b = ip4(10, 0, 0, 2);
    struct pb_decoded req = pkt(a, 0, b, 0, PB_IPPROTO_ICMP, 98, T0);
    req.icmp_type = 8;
    struct pb_decoded rep = pkt(b, 0, a, 0, PB_IPPROTO_ICMP, 98, T0 + 1000);
    pb_flows_packet(f, &req, true, T0);
    pb_flows_packet(f, &rep, true, T0);
    /* an echo reply opening a flow leaves it without a transport */
    struct pb_ip c = ip4(10, 0, 0, 3);
    struct pb_decoded lone = pkt(c, 0, a, 0, PB_IPPROTO_ICMP, 98, T0);
    pb_flows_packet(f, &lone, true, T0);
    pb_flows_final(f, T0 + SEC);
    ck_assert_uint_eq(json_array_size(events), 2);
    ck_assert_str_eq(ev_str(0, "network.transport"), "icmp");
    struct pb_tuple t = {.src = a, .dst = b, .sport = 8, .dport = 0, .proto = 1};
    char cid[64];
    pb_community_id(&t, cid);
    ck_assert_str_eq(ev_str(0, "network.community_id"), cid);
    ck_assert_int_eq(ev_int(0, "source.packets"), 1);
    ck_assert_int_eq(ev_int(0, "destination.packets"), 1);
    ck_assert_ptr_null(pb_json_get(json_array_get(events, 0), "source.port"));
    ck_assert_ptr_null(pb_json_get(json_array_get(events, 1), "network.transport"));
    ck_assert_ptr_null(pb_json_get(json_array_get(events, 1), "network.community_id"));
    pb_flows_free(f);
}
END_TEST

START_TEST(flows_non_ip_and_fragments)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 0);
    struct pb_decoded arp;
    memset(&arp, 0, sizeof arp);
    arp.has_eth = true;
    arp.wire_len = 60;
    arp.src_mac[5] = 1;
    arp.dst_mac[0] = 0xff;
    pb_flows_packet(f, &arp, false, T0);
    ck_assert_uint_eq(pb_flows_count(f), 1);
    /* a fragment kept for reassembly is not counted, the datagram is */
    struct pb_decoded frag = pkt(ip4(1, 1, 1, 1), 0, ip4(2, 2, 2, 2), 0, 0, 1500, T0);
    frag.fragment = true;
    pb_flows_packet(f, &frag, false, T0);
    ck_assert_uint_eq(pb_flows_count(f), 1);
    struct pb_decoded whole = pkt(ip4(1, 1, 1, 1), 5, ip4(2, 2, 2, 2), 6, 17, 500, T0);
    whole.fragment = true;
    whole.reassembled = true;
    pb_flows_packet(f, &whole, true, T0);
    ck_assert_uint_eq(pb_flows_count(f), 2);
    /* nothing decoded at all: no flow */
    struct pb_decoded none;
    memset(&none, 0, sizeof none);
    pb_flows_packet(f, &none, false, T0);
    ck_assert_uint_eq(pb_flows_count(f), 2);
    pb_flows_final(f, T0);
    ck_assert_str_eq(ev_str(0, "source.mac"), "00-00-00-00-00-01");
    ck_assert_ptr_null(pb_json_get(json_array_get(events, 0), "source.ip"));
    ck_assert_int_eq(ev_int(1, "source.bytes"), 500);
    ck_assert_str_eq(ev_str(1, "network.transport"), "udp");
    pb_flows_free(f);
}
END_TEST

START_TEST(flows_table_cap)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 4);
    struct pb_ip s = ip4(10, 0, 0, 1), d = ip4(10, 0, 0, 2);
    for (uint16_t port = 1000; port < 1006; port++) {
        struct pb_decoded p = pkt(s, port, d, 53, 17, 100, T0);
        pb_flows_packet(f, &p, true, T0);
    }
    ck_assert_uint_eq(pb_flows_count(f), 4);
    ck_assert_uint_eq(pb_flows_stats(f)->created, 4);
    ck_assert_uint_eq(pb_flows_stats(f)->dropped, 2);
    /* frames of a refused flow stay refused while the table is full, and
       each is counted */
    struct pb_decoded refused = pkt(s, 1005, d, 53, 17, 100, T0);
    pb_flows_packet(f, &refused, true, T0);
    pb_flows_packet(f, &refused, true, T0);
    ck_assert_uint_eq(pb_flows_stats(f)->dropped, 4);
    ck_assert_uint_eq(pb_flows_count(f), 4);
    /* flows already known keep counting at the cap */
    struct pb_decoded again = pkt(d, 53, s, 1000, 17, 100, T0);
    pb_flows_packet(f, &again, true, T0);
    ck_assert_uint_eq(pb_flows_stats(f)->dropped, 4);
    pb_flows_final(f, T0);
    ck_assert_uint_eq(json_array_size(events), 4);
    ck_assert_int_eq(ev_int(0, "destination.packets"), 1);
    /* once forgotten, there is room again, also for a flow refused before */
    struct pb_decoded fresh = pkt(s, 2000, d, 53, 17, 100, T0);
    pb_flows_packet(f, &fresh, true, T0);
    ck_assert_uint_eq(pb_flows_count(f), 1);
    pb_flows_packet(f, &refused, true, T0);
    ck_assert_uint_eq(pb_flows_count(f), 2);
    ck_assert_uint_eq(pb_flows_stats(f)->dropped, 4);
    pb_flows_free(f);
}
END_TEST

/* One TCP tuple, two connections (a port used again), the table full
 * after the first: the second one's frames are refused and counted as
 * dropped, while the first one's, of the same front key, still count in
 * their flow, whichever came last. */
START_TEST(flows_table_cap_connections)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 1);
    struct pb_ip c = ip4(10, 0, 0, 9), s = ip4(10, 0, 0, 1);
    struct pb_decoded one = pkt(c, 40000, s, 80, 6, 100, T0);
    struct pb_decoded two = one;
    one.conn_id = 1;
    two.conn_id = 2;
    struct pb_decoded one_back = pkt(s, 80, c, 40000, 6, 60, T0);
    one_back.conn_id = 1;
    pb_flows_packet(f, &one, true, T0);
    for (int i = 0; i < 3; i++) {
        pb_flows_packet(f, &two, true, T0);
        pb_flows_packet(f, &one, true, T0);
        pb_flows_packet(f, &two, true, T0);
        pb_flows_packet(f, &one_back, true, T0);
    }
    ck_assert_uint_eq(pb_flows_count(f), 1);
    ck_assert_uint_eq(pb_flows_stats(f)->dropped, 6);
    pb_flows_final(f, T0);
    ck_assert_uint_eq(json_array_size(events), 1);
    ck_assert_int_eq(ev_int(0, "source.packets"), 4);
    ck_assert_int_eq(ev_int(0, "destination.packets"), 3);
    ck_assert_int_eq(ev_int(0, "destination.bytes"), 180);
    pb_flows_free(f);
}
END_TEST

/* Frames of a known flow find it through the front cache: counts stay
 * exact with more flows than its slots (collisions evict), and a flow that
 * timed out is never found again through it: the same frames open a new
 * one, counted from zero. */
START_TEST(flows_front_cache_exact)
{
    enum { N = 3000, ROUNDS = 3 };
    struct pb_flows *f = new_flows(3 * (int64_t)SEC, -1, false, 0);
    struct pb_ip c = ip4(10, 0, 0, 9), s = ip4(10, 0, 0, 1);
    for (int r = 0; r < ROUNDS; r++) {
        for (uint16_t i = 0; i < N; i++) {
            uint8_t proto = i % 2 ? 6 : 17;
            struct pb_decoded q = pkt(c, (uint16_t)(10000 + i), s, 80, proto, 100, T0);
            struct pb_decoded a = pkt(s, 80, c, (uint16_t)(10000 + i), proto, 1000 + i, T0);
            q.conn_id = a.conn_id = proto == 6 ? 1000u + i : 0;
            pb_flows_packet(f, &q, true, T0);
            pb_flows_packet(f, &a, true, T0);
        }
    }
    ck_assert_uint_eq(pb_flows_stats(f)->created, N);
    /* the timeout ends them all; the same frames again make new flows */
    pb_flows_tick(f, T0 + 5 * SEC);
    ck_assert_uint_eq(pb_flows_count(f), 0);
    ck_assert_uint_eq(json_array_size(events), N);
    for (size_t k = 0; k < N; k++) {
        uint16_t i = (uint16_t)(ev_int(k, "source.port") - 10000);
        ck_assert_int_eq(ev_int(k, "source.packets"), ROUNDS);
        ck_assert_int_eq(ev_int(k, "destination.packets"), ROUNDS);
        ck_assert_int_eq(ev_int(k, "destination.bytes"), ROUNDS * (1000 + i));
    }
    /* the last frame seen: surely in its slot */
    struct pb_decoded a = pkt(s, 80, c, 10000 + N - 1, 6, 100, T0 + 6 * SEC);
    a.conn_id = 1000 + N - 1;
    pb_flows_packet(f, &a, true, T0 + 6 * SEC);
    ck_assert_uint_eq(pb_flows_count(f), 1);
    ck_assert_uint_eq(pb_flows_stats(f)->created, N + 1);
    pb_flows_final(f, T0 + 7 * SEC);
    ck_assert_uint_eq(json_array_size(events), N + 1);
    ck_assert_int_eq(ev_int(N, "source.packets"), 1);
    ck_assert_int_eq(ev_int(N, "source.port"), 80);
    ck_assert_ptr_null(pb_json_get(json_array_get(events, N), "destination.packets"));
    /* the end forgets them all at once (the index had grown): the same
       frames open new flows again, none found through a stale slot */
    for (int r = 0; r < ROUNDS; r++) {
        for (uint16_t i = 0; i < N; i++) {
            struct pb_decoded q = pkt(c, (uint16_t)(10000 + i), s, 80, 17, 100, T0);
            pb_flows_packet(f, &q, true, T0);
        }
        if (r == 0) {
            pb_flows_final(f, T0 + 8 * SEC);
            ck_assert_uint_eq(pb_flows_count(f), 0);
        }
    }
    ck_assert_uint_eq(pb_flows_count(f), N);
    ck_assert_uint_eq(pb_flows_stats(f)->created, 3 * N + 1);
    pb_flows_final(f, T0 + 9 * SEC);
    ck_assert_uint_eq(json_array_size(events), 3 * N + 1);
    ck_assert_int_eq(ev_int(N + 1, "source.packets"), 1);
    ck_assert_int_eq(ev_int(2 * N + 1, "source.packets"), ROUNDS - 1);
    pb_flows_free(f);
}
END_TEST

/* Flows taken out of the index between others (every other one times out)
 * leave the rest where lookups find them: after the front cache is
 * cleared, the frames of the flows that stayed count in their own flows
 * (none is opened again), while many flows made the index grow. */
START_TEST(flows_index_removals)
{
    enum { N = 5000 };
    struct pb_flows *f = new_flows(3 * (int64_t)SEC, -1, false, 0);
    struct pb_ip c = ip4(10, 0, 1, 9), s = ip4(10, 0, 1, 1);
    for (int round = 0; round < 3; round++) {
        uint64_t t = T0 + (uint64_t)round * 2 * SEC;
        for (uint16_t i = 0; i < N; i++) {
            if (round == 1 && i % 2 == 0) {
                continue; /* the even ones are left to time out */
            }
            struct pb_decoded q = pkt(c, (uint16_t)(20000 + i), s, 53, 17, 100, t);
            pb_flows_packet(f, &q, true, t);
        }
        if (round == 1) {
            pb_flows_tick(f, T0 + 4 * SEC + SEC / 2); /* the timer's first tick */
            ck_assert_uint_eq(pb_flows_count(f), N / 2);
            ck_assert_uint_eq(json_array_size(events), N / 2);
        }
    }
    /* round 2: the odd ones found, the even ones opened anew */
    ck_assert_uint_eq(pb_flows_stats(f)->created, N + N / 2);
    ck_assert_uint_eq(pb_flows_count(f), N);
    pb_flows_final(f, T0 + 5 * SEC);
    ck_assert_uint_eq(json_array_size(events), N / 2 + N);
    for (size_t k = N / 2; k < N / 2 + N; k++) {
        int64_t port = ev_int(k, "source.port") - 20000;
        ck_assert_int_eq(ev_int(k, "source.packets"), port % 2 ? 3 : 1);
    }
    pb_flows_free(f);
}
END_TEST

/* Both directions of a flow share one front slot, their ends put in a
 * fixed order: frames of either direction, IPv4 and IPv6, count on the
 * right side, including ends that differ only by port or by MAC and a
 * flow whose two ends are the same. */
START_TEST(flows_front_cache_directions)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 0);
    static const uint8_t m1[6] = {2, 0, 0, 0, 0, 1}, m2[6] = {2, 0, 0, 0, 0, 2};
    struct pb_ip v4a = ip4(10, 0, 0, 9), v4b = ip4(10, 0, 0, 1);
    struct pb_ip v6a = ip6_last(9), v6b = ip6_last(1);
    struct {
        struct pb_ip a, b;
        uint16_t pa, pb;
        bool macs_differ;
    } cases[] = {
        {v4a, v4b, 40000, 80, true},  /* source sorts after destination */
        {v4b, v4a, 40001, 80, true},  /* and before */
        {v6a, v6b, 40000, 443, true}, /* IPv6 */
        {v4a, v4a, 5000, 6000, true}, /* same address: the ports decide */
        {v4a, v4a, 7000, 7000, true}, /* only the MACs differ */
        {v4a, v4a, 9000, 9000, false} /* both ends the same */
    };
    enum { NCASES = sizeof cases / sizeof cases[0] };
    for (int r = 0; r < 4; r++) {
        for (size_t i = 0; i < NCASES; i++) {
            struct pb_decoded q =
                pkt(cases[i].a, cases[i].pa, cases[i].b, cases[i].pb, 17, 100, T0 + (uint64_t)r);
            q.has_eth = true;
            memcpy(q.src_mac, m1, 6);
            memcpy(q.dst_mac, cases[i].macs_differ ? m2 : m1, 6);
            struct pb_decoded a =
                pkt(cases[i].b, cases[i].pb, cases[i].a, cases[i].pa, 17, 1000, T0 + (uint64_t)r);
            a.has_eth = true;
            memcpy(a.src_mac, q.dst_mac, 6);
            memcpy(a.dst_mac, q.src_mac, 6);
            pb_flows_packet(f, &q, true, T0);
            pb_flows_packet(f, &a, true, T0);
            if (r < 2) {
                pb_flows_packet(f, &a, true, T0); /* replies twice in the first rounds */
            }
        }
    }
    ck_assert_uint_eq(pb_flows_stats(f)->created, NCASES);
    pb_flows_final(f, T0 + SEC);
    ck_assert_uint_eq(json_array_size(events), NCASES);
    for (size_t i = 0; i < NCASES; i++) {
        size_t k = i;
        if (cases[i].a.v6) {
            /* IPv6 flows are reported after the IPv4 ones (layouts) */
            k = NCASES - 1;
        } else if (i > 2) {
            k = i - 1;
        }
        ck_assert_int_eq(ev_int(k, "source.port"), cases[i].pa);
        if (cases[i].macs_differ || cases[i].pa != cases[i].pb) {
            ck_assert_int_eq(ev_int(k, "source.packets"), 4);
            ck_assert_int_eq(ev_int(k, "source.bytes"), 400);
            ck_assert_int_eq(ev_int(k, "destination.packets"), 6);
            ck_assert_int_eq(ev_int(k, "destination.bytes"), 6000);
        } else {
            /* one flow, one direction: every frame is the source's */
            ck_assert_int_eq(ev_int(k, "source.packets"), 10);
            ck_assert_ptr_null(pb_json_get(json_array_get(events, k), "destination.packets"));
        }
    }
    pb_flows_free(f);
}
END_TEST

/* IP in IP (4in4, 6in4), QinQ and an IPv4-mapped IPv6 address in the
 * events: address lists, network.type and community_id from Packetbeat's
 * choice of layer. */
START_TEST(flows_event_layers)
{
    struct pb_flows *f = new_flows(30 * (int64_t)SEC, -1, false, 0);
    struct pb_ip oa = ip4(192, 0, 2, 1), ob = ip4(192, 0, 2, 9);
    struct pb_ip ia = ip4(10, 0, 0, 1), ib = ip4(10, 0, 0, 2);
    struct pb_decoded d = pkt(ia, 5000, ib, 6000, 17, 100, T0);
    d.nip = 2;
    d.outer_src = oa;
    d.outer_dst = ob;
    pb_flows_packet(f, &d, true, T0);
    struct pb_decoded d6 = pkt(ip6_last(1), 53, ip6_last(2), 40000, 17, 100, T0);
    d6.nip = 2;
    d6.outer_src = oa;
    d6.outer_dst = ob;
    pb_flows_packet(f, &d6, true, T0);
    struct pb_decoded q = pkt(ia, 1, ib, 2, 6, 60, T0);
    q.nvlan = 2;
    q.vlan[0] = 100;
    q.vlan[1] = 200;
    pb_flows_packet(f, &q, true, T0);
    struct pb_ip mapped = ip6_last(7);
    mapped.b[10] = mapped.b[11] = 0xff;
    mapped.b[12] = 10;
    struct pb_decoded m = pkt(mapped, 7, ip6_last(8), 8, 17, 60, T0);
    pb_flows_packet(f, &m, true, T0);
    pb_flows_final(f, T0 + SEC);
    ck_assert_uint_eq(json_array_size(events), 4);
    char cid[64];
    for (size_t k = 0; k < 4; k++) {
        json_t *ev = json_array_get(events, k);
        json_t *sip = pb_json_get(ev, "source.ip"), *dip = pb_json_get(ev, "destination.ip");
        int64_t sport = ev_int(k, "source.port");
        if (sport == 5000) { /* 4in4: outer then inner, the outer pair hashed */
            ck_assert_uint_eq(json_array_size(sip), 2);
            ck_assert_str_eq(json_string_value(json_array_get(sip, 0)), "192.0.2.1");
            ck_assert_str_eq(json_string_value(json_array_get(sip, 1)), "10.0.0.1");
            ck_assert_str_eq(json_string_value(json_array_get(dip, 1)), "10.0.0.2");
            ck_assert_str_eq(ev_str(k, "network.type"), "ipv4");
            struct pb_tuple t = {.src = oa, .dst = ob, .sport = 5000, .dport = 6000, .proto = 17};
            pb_community_id(&t, cid);
            ck_assert_str_eq(ev_str(k, "network.community_id"), cid);
        } else if (sport == 53) { /* 6in4: the IPv4 layer first and hashed */
            ck_assert_uint_eq(json_array_size(sip), 2);
            ck_assert_str_eq(json_string_value(json_array_get(sip, 0)), "192.0.2.1");
            ck_assert_str_eq(json_string_value(json_array_get(sip, 1)), "::1");
            ck_assert_str_eq(json_string_value(json_array_get(dip, 1)), "::2");
            ck_assert_str_eq(ev_str(k, "network.type"), "ipv4");
            struct pb_tuple t = {.src = oa, .dst = ob, .sport = 53, .dport = 40000, .proto = 17};
            pb_community_id(&t, cid);
            ck_assert_str_eq(ev_str(k, "network.community_id"), cid);
        } else if (sport == 1) { /* QinQ: both tags, outer first */
            json_t *vlan = pb_json_get(ev, "flow.vlan");
            ck_assert_uint_eq(json_array_size(vlan), 2);
            ck_assert_int_eq(json_integer_value(json_array_get(vlan, 0)), 100);
            ck_assert_int_eq(json_integer_value(json_array_get(vlan, 1)), 200);
            ck_assert_str_eq(ev_str(k, "source.ip"), "10.0.0.1");
            ck_assert_str_eq(ev_str(k, "network.transport"), "tcp");
        } else {
            ck_assert_int_eq(sport, 7);
            ck_assert_str_eq(ev_str(k, "source.ip"), "10.0.0.7");
            ck_assert_str_eq(ev_str(k, "destination.ip"), "::8");
            ck_assert_str_eq(ev_str(k, "network.type"), "ipv6");
        }
    }
    pb_flows_free(f);
}
END_TEST

static void run_periodic(bool delta)
{
    /* timeout 3s, period 1s: one tick per second from T0 on */
    struct pb_flows *f = new_flows(3 * (int64_t)SEC, (int64_t)SEC, delta, 0);
    struct pb_ip s = ip4(10, 0, 0, 1), d = ip4(10, 0, 0, 2);
    struct pb_decoded p = pkt(s, 1234, d, 53, 17, 100, T0);
    pb_flows_packet(f, &p, true, T0 + SEC / 2);
    pb_flows_packet(f, &p, true, T0 + SEC / 2);
    pb_flows_tick(f, T0 + SEC / 2); /* not due yet */
    ck_assert_uint_eq(json_array_size(events), 0);
    pb_flows_tick(f, T0 + SEC);
    ck_assert_uint_eq(json_array_size(events), 1);
    ck_assert(!ev_final(0));
    ck_assert_int_eq(ev_int(0, "source.packets"), 2);
    ck_assert_int_eq(ev_int(0, "source.bytes"), 200);
    json_t *type = pb_json_get(json_array_get(events, 0), "event.type");
    ck_assert_uint_eq(json_array_size(type), 1);

    p.ts_ns = T0 + SEC + 1;
    pb_flows_packet(f, &p, true, T0 + SEC + SEC / 2);
    pb_flows_tick(f, T0 + 2 * SEC);
    ck_assert_uint_eq(json_array_size(events), 2);
    ck_assert_int_eq(ev_int(1, "source.packets"), delta ? 1 : 3);
    ck_assert_int_eq(ev_int(1, "network.bytes"), delta ? 100 : 300);
    /* every report of the flow carries its community id (kept by the flow) */
    char cid[64];
    struct pb_tuple t = {.src = s, .dst = d, .sport = 1234, .dport = 53, .proto = 17};
    pb_community_id(&t, cid);
    ck_assert_str_eq(ev_str(0, "network.community_id"), cid);
    ck_assert_str_eq(ev_str(1, "network.community_id"), cid);

    /* no more packets: a report with nothing new, then the timeout (3 s idle
     * at a timeout tick) ends the flow */
    pb_flows_tick(f, T0 + 3 * SEC);
    ck_assert_uint_eq(json_array_size(events), 3);
    ck_assert_int_eq(ev_int(2, "source.packets"), delta ? 0 : 3);
    ck_assert_str_eq(ev_str(2, "network.community_id"), cid);
    ck_assert_uint_eq(pb_flows_count(f), 1);
    pb_flows_tick(f, T0 + 4 * SEC);
    pb_flows_tick(f, T0 + 5 * SEC);
    pb_flows_tick(f, T0 + 6 * SEC);
    ck_assert_uint_eq(pb_flows_count(f), 0);
    size_t n = json_array_size(events);
    ck_assert(ev_final(n - 1));
    ck_assert_uint_eq(pb_flows_stats(f)->timed_out, 1);
    /* a flow that timed out is reported once: nothing left at the end */
    pb_flows_final(f, T0 + 7 * SEC);
    ck_assert_uint_eq(json_array_size(events), n);
    pb_flows_free(f);
}

START_TEST(flows_period_reports)
{
    run_periodic(false);
}
END_TEST

START_TEST(flows_delta_reports)
{
    run_periodic(true);
}
END_TEST

START_TEST(flows_no_period)
{
    /* period -1s: only the timeout reports, on ticks of `timeout` */
    struct pb_flows *f = new_flows(2 * (int64_t)SEC, -(int64_t)SEC, false, 0);
    struct pb_decoded p = pkt(ip4(1, 2, 3, 4), 1, ip4(5, 6, 7, 8), 2, 17, 60, T0);
    pb_flows_packet(f, &p, true, T0 + SEC / 2);
    for (uint64_t t = T0; t <= T0 + 2 * SEC; t += SEC / 10) {
        pb_flows_tick(f, t);
    }
    ck_assert_uint_eq(json_array_size(events), 0); /* idle 1.5 s at the 2 s tick */
    pb_flows_tick(f, T0 + 4 * SEC);
    ck_assert_uint_eq(json_array_size(events), 1);
    ck_assert(ev_final(0));
    ck_assert_uint_eq(pb_flows_count(f), 0);
    pb_flows_free(f);
}
END_TEST

START_TEST(flows_config)
{
    char err[256];
    struct pb_flows_config c;
    struct pb_cfg *root = pb_cfg_parse("packetbeat.flows: {}\n", 21, "test", err, sizeof err);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(
        pb_flows_config_read(pb_cfg_get(root, "packetbeat.flows"), &c, err, sizeof err), 0);
    ck_assert_int_eq(c.timeout_ns, 30 * (int64_t)SEC);
    ck_assert_int_eq(c.period_ns, 10 * (int64_t)SEC);
    ck_assert(!c.delta);
    pb_cfg_free(root);

    static const struct {
        const char *yaml;
        int rc;
        int64_t timeout, period;
        const char *msg;
    } cases[] = {
        {"timeout: 2s\nperiod: -1s\nenable_delta_flow_reports: true\n", 0, 2, -1, NULL},
        {"timeout: 1m\nperiod: 1500ms\n", 0, 60, 0, NULL},
        {"timeout: 500ms\n", -1, 0, 0, "timeout must be >= 1s"},
        {"period: 100ms\n", -1, 0, 0, "report period must be -1 or >= 1s"},
        {"timeout: 30\n", -1, 0, 0, "time: missing unit in duration \"30\""},
        {"period: 0\n", 0, 30, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        root = pb_cfg_parse(cases[i].yaml, strlen(cases[i].yaml), "test", err, sizeof err);
        ck_assert_ptr_nonnull(root);
        err[0] = '\0';
        int rc = pb_flows_config_read(root, &c, err, sizeof err);
        ck_assert_msg((rc == 0) == (cases[i].rc == 0), "case %zu: rc %d (%s)", i, rc, err);
        if (rc == 0) {
            ck_assert_int_eq(c.timeout_ns, cases[i].timeout * (int64_t)SEC);
            if (i == 1) {
                ck_assert_int_eq(c.period_ns, 1500 * 1000000ll);
            } else {
                ck_assert_int_eq(c.period_ns, cases[i].period * (int64_t)SEC);
            }
        } else {
            ck_assert_str_eq(err, cases[i].msg);
        }
        if (i == 0) {
            ck_assert(c.delta);
        }
        pb_cfg_free(root);
    }
}
END_TEST

/* ---- flow links (pb_flows_packet_linked) ---- */

static void collect_into(void *ctx, struct pb_proto *p, pb_event *ev)
{
    (void)p;
    json_array_append_new(ctx, pb_ev_take(ev));
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state >> 32) % n;
}

static struct pb_flows *linked_pair_table(bool mismatched_eth, json_t *out)
{
    struct pb_flows_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ns = 3 * (int64_t)SEC;
    cfg.period_ns = 2 * (int64_t)SEC;
    cfg.max_flows = 60;
    cfg.allow_mismatched_eth = mismatched_eth;
    struct pb_flows *f = pb_flows_new(&cfg, NULL, collect_into, out, T0);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Segments counted through their connection's link land where the
 * lookups alone put them: random TCP segments of a few connections, both
 * ways, whose MACs and VLANs change now and then (a MAC that moves, no
 * Ethernet, QinQ, IP in IP, a fragment), connections that end and come
 * back on the same tuple with a new id, untracked segments (id 0, no
 * link), a connection to itself, a table that fills up, connections that
 * rest while their flows time out, periodic reports, the end, and tables
 * that go while the links to them stay. Both tables report the same
 * events. */
static void run_linked_against_plain(bool mismatched_eth)
{
    enum { NCONN = 20, FRAMES = 60000 };
    json_t *ea = json_array(), *eb = json_array();
    struct pb_flows *fa = linked_pair_table(mismatched_eth, ea);
    struct pb_flows *fb = linked_pair_table(mismatched_eth, eb);
    struct {
        struct pb_ip c, s;
        uint16_t cp, sp;
        uint8_t cmac[6], smac[6];
        uint8_t nvlan;
        uint64_t id;
        struct pb_flow_link link;
    } conns[NCONN];
    memset(conns, 0, sizeof conns);
    uint64_t next_id = 1;
    for (int i = 0; i < NCONN; i++) {
        conns[i].c = ip4(10, 0, 0, (uint8_t)(i % 5));
        conns[i].s = i % 7 == 3 ? ip6_last(1) : ip4(10, 0, 1, 1);
        if (i % 7 == 3) {
            conns[i].c = ip6_last((uint8_t)(2 + i));
        }
        conns[i].cp = (uint16_t)(40000 + i);
        conns[i].sp = 80;
        if (i == NCONN - 1) { /* to itself: every segment is a request */
            conns[i].s = conns[i].c;
            conns[i].sp = conns[i].cp;
        }
        uint8_t cm[6] = {2, 0, 0, 0, 1, (uint8_t)i}, sm[6] = {2, 0, 0, 0, 2, 1};
        memcpy(conns[i].cmac, cm, 6);
        memcpy(conns[i].smac, sm, 6);
        conns[i].nvlan = (uint8_t)(i % 3);
        conns[i].id = next_id++;
    }
    uint64_t now = T0;
    for (int n = 0; n < FRAMES; n++) {
        int i = (int)rnd(NCONN);
        if ((i + n / 5000) % 3 == 0) { /* a third rests for a while: their flows time out */
            i = (i + 1) % NCONN;
        }
        if (rnd(400) == 0) { /* the connection ends, its tuple comes back */
            conns[i].id = next_id++;
            memset(&conns[i].link, 0, sizeof conns[i].link);
        }
        bool self = i == NCONN - 1;
        bool reply = !self && rnd(2) == 1;
        struct pb_decoded d =
            reply ? pkt(conns[i].s, conns[i].sp, conns[i].c, conns[i].cp, 6, 60 + rnd(1000), now)
                  : pkt(conns[i].c, conns[i].cp, conns[i].s, conns[i].sp, 6, 60 + rnd(1000), now);
        d.has_eth = rnd(50) != 0;
        memcpy(d.src_mac, reply ? conns[i].smac : conns[i].cmac, 6);
        memcpy(d.dst_mac, reply ? conns[i].cmac : conns[i].smac, 6);
        if (rnd(30) == 0) {
            d.src_mac[5] ^= 0x40; /* another router on the way */
        }
        if (self && rnd(2) == 0) { /* its two ends differ by MAC alone */
            memcpy(d.src_mac, conns[i].smac, 6);
            memcpy(d.dst_mac, conns[i].cmac, 6);
        }
        d.nvlan = rnd(40) == 0 ? (uint8_t)rnd(4) : conns[i].nvlan;
        d.vlan[0] = (uint16_t)(100 + (rnd(20) == 0));
        d.vlan[1] = 200;
        if (rnd(60) == 0) {
            d.nip = 2;
            d.outer_src = ip4(192, 0, 2, 1);
            d.outer_dst = ip4(192, 0, 2, (uint8_t)(2 + rnd(2)));
        }
        if (rnd(100) == 0) {
            d.fragment = true;
            d.reassembled = rnd(2) == 0;
        }
        bool tracked = rnd(20) != 0;
        d.conn_id = tracked ? conns[i].id : 0;
        pb_flows_packet(fa, &d, true, now);
        pb_flows_packet_linked(fb, &d, true, now, tracked ? &conns[i].link : NULL, reply);
        now += SEC / 1000 * rnd(3);
        if (n % 500 == 0) {
            pb_flows_tick(fa, now);
            pb_flows_tick(fb, now);
        }
        if (n == FRAMES / 3) {
            pb_flows_final(fa, now);
            pb_flows_final(fb, now);
        }
        if (n == 2 * FRAMES / 3) { /* new tables; the links stay */
            pb_flows_final(fa, now);
            pb_flows_final(fb, now);
            ck_assert_uint_eq(pb_flows_stats(fa)->dropped, pb_flows_stats(fb)->dropped);
            pb_flows_free(fa);
            pb_flows_free(fb);
            fa = linked_pair_table(mismatched_eth, ea);
            fb = linked_pair_table(mismatched_eth, eb);
        }
    }
    pb_flows_final(fa, now);
    pb_flows_final(fb, now);
    ck_assert_uint_eq(pb_flows_stats(fa)->created, pb_flows_stats(fb)->created);
    ck_assert_uint_eq(pb_flows_stats(fa)->dropped, pb_flows_stats(fb)->dropped);
    ck_assert_uint_gt(pb_flows_stats(fa)->dropped, 0); /* the table filled up */
    ck_assert_uint_gt(json_array_size(ea), 1000);
    ck_assert_uint_eq(json_array_size(ea), json_array_size(eb));
    for (size_t k = 0; k < json_array_size(ea); k++) {
        if (!json_equal(json_array_get(ea, k), json_array_get(eb, k))) {
            char *a = json_dumps(json_array_get(ea, k), JSON_SORT_KEYS);
            char *b = json_dumps(json_array_get(eb, k), JSON_SORT_KEYS);
            ck_abort_msg("event %zu differs:\n%s\n%s", k, a, b);
        }
    }
    pb_flows_free(fa);
    pb_flows_free(fb);
    json_decref(ea);
    json_decref(eb);
}

START_TEST(flows_linked_as_plain)
{
    run_linked_against_plain(false);
    run_linked_against_plain(true);
}
END_TEST

static Suite *flows_suite(void)
{
    Suite *s = suite_create("flows");
    TCase *id = tcase_create("flow_id");
    tcase_add_test(id, flow_id_ipv4_tcp);
    tcase_add_test(id, flow_id_ipv6_tcp_packetbeat_sample);
    tcase_add_test(id, flow_id_ipv6_udp);
    tcase_add_test(id, flow_id_vlan);
    tcase_add_test(id, flow_id_ip_in_ip);
    tcase_add_test(id, flow_id_string_base64);
    suite_add_tcase(s, id);
    TCase *tc = tcase_create("table");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, flows_directions_and_event);
    tcase_add_test(tc, flows_icmp);
    tcase_add_test(tc, flows_non_ip_and_fragments);
    tcase_add_test(tc, flows_table_cap);
    tcase_add_test(tc, flows_table_cap_connections);
    tcase_add_test(tc, flows_front_cache_exact);
    tcase_add_test(tc, flows_index_removals);
    tcase_add_test(tc, flows_front_cache_directions);
    tcase_add_test(tc, flows_linked_as_plain);
    tcase_add_test(tc, flows_event_layers);
    tcase_add_test(tc, flows_period_reports);
    tcase_add_test(tc, flows_delta_reports);
    tcase_add_test(tc, flows_no_period);
    tcase_add_test(tc, flows_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(flows_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
