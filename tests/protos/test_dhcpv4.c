/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_dhcpv4.c - DHCPv4 decoding, options, client/server
 * roles, rejected packets and hostile input.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/err.h"
#include "protos/dhcpv4/dhcpv4_parse.h"
#include "protos/proto.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"

extern const struct pb_proto_ops pb_proto_dhcpv4;

struct pkt {
    uint8_t b[1024];
    size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
    ck_assert_uint_le(p->n + n, sizeof p->b);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void opt(struct pkt *p, uint8_t code, const void *d, uint8_t n)
{
    put(p, &code, 1);
    put(p, &n, 1);
    put(p, d, n);
}

/* BOOTP header: op, Ethernet, xid 0x3d1d, chaddr 00:0b:82:01:fc:42, then
 * the magic cookie. */
static void header(struct pkt *p, uint8_t op, const char *yiaddr)
{
    memset(p, 0, sizeof *p);
    p->b[0] = op;
    p->b[1] = 1;
    p->b[2] = 6;
    p->b[4] = 0;
    p->b[5] = 0;
    p->b[6] = 0x3d;
    p->b[7] = 0x1d;
    if (yiaddr != NULL) {
        struct pb_ip ip;
        ck_assert(pb_ip_parse(yiaddr, &ip));
        memcpy(p->b + 16, ip.b, 4);
    }
    static const uint8_t mac[6] = {0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42};
    memcpy(p->b + 28, mac, 6);
    p->n = DHCP_HDR_LEN;
    put(p, "\x63\x82\x53\x63", 4);
}

static void discover(struct pkt *p)
{
    header(p, 1, NULL);
    opt(p, 53, "\x01", 1);
    opt(p, 61, "\x01\x00\x0b\x82\x01\xfc\x42", 7);
    opt(p, 50, "\x00\x00\x00\x00", 4);
    opt(p, 55, "\x01\x03\x06\x2a\xf0", 5);
    opt(p, 12, "host-1", 6);
    opt(p, 60, "MSFT 5.0", 8);
    put(p, "\xff", 1);
}

static void offer(struct pkt *p)
{
    header(p, 2, "192.168.0.10");
    opt(p, 53, "\x02", 1);
    opt(p, 1, "\xff\xff\xff\x00", 4);
    opt(p, 3, "\xc0\xa8\x00\x01", 4);
    opt(p, 6, "\x08\x08\x08\x08\x08\x08\x04\x04", 8);
    opt(p, 58, "\x00\x00\x07\x08", 4);
    opt(p, 59, "\x00\x00\x0c\x4e", 4);
    opt(p, 51, "\x00\x00\x0e\x10", 4);
    opt(p, 54, "\xc0\xa8\x00\x01", 4);
    opt(p, 2, "\xff\xff\xff\xf0", 4);
    opt(p, 57, "\x05\xdc", 2);
    opt(p, 15, "example.org", 11);
    put(p, "\xff", 1);
}

static struct pt_conn *open_dhcp(void)
{
    struct pt_conn *t = pt_open(&pb_proto_dhcpv4, NULL);
    struct pb_tuple *tu = &pt_pbconn(t)->tuple;
    pb_ip_parse("0.0.0.0", &tu->src);
    pb_ip_parse("255.255.255.255", &tu->dst);
    tu->sport = 68;
    tu->dport = 67;
    return t;
}

START_TEST(default_ports)
{
    struct pt_conn *t = pt_open(&pb_proto_dhcpv4, NULL);
    ck_assert_uint_eq(pt_proto(t)->nports, 2);
    ck_assert_uint_eq(pt_proto(t)->ports[0], 67);
    ck_assert_uint_eq(pt_proto(t)->ports[1], 68);
    pt_close(t);
}
END_TEST

START_TEST(request_event)
{
    struct pt_conn *t = open_dhcp();
    struct pkt p;
    discover(&p);
    pt_datagram(t, PB_DIR_TO_SERVER, p.b, p.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "dhcpv4");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "udp");
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "dhcpv4");
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "0.0.0.0");
    ck_assert_int_eq(pt_int(t, 0, "client.port"), 68);
    ck_assert_int_eq(pt_int(t, 0, "client.bytes"), (int64_t)p.n);
    ck_assert_str_eq(pt_str(t, 0, "server.ip"), "255.255.255.255");
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 67);
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)p.n);
    ck_assert_int_eq(pt_int(t, 0, "network.bytes"), (int64_t)p.n);
    ck_assert_ptr_nonnull(pt_field(t, 0, "event.start"));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.op_code"), "bootrequest");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.hardware_type"), "Ethernet");
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.hops"), 0);
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.transaction_id"), "0x00003d1d");
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.seconds"), 0);
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.flags"), "unicast");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.client_mac"), "00-0B-82-01-FC-42");
    ck_assert_ptr_null(pt_field(t, 0, "dhcpv4.assigned_ip"));
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.message_type"), "discover");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.requested_ip_address"), "0.0.0.0");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.parameter_request_list.0"), "Subnet Mask");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.parameter_request_list.3"), "NTP Servers");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.parameter_request_list.4"), "Unknown (240)");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.hostname"), "host-1");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.class_identifier"), "MSFT 5.0");
    pt_close(t);
}
END_TEST

START_TEST(reply_event)
{
    struct pt_conn *t = open_dhcp();
    struct pb_tuple *tu = &pt_pbconn(t)->tuple;
    pb_ip_parse("192.168.0.10", &tu->src); /* client */
    pb_ip_parse("192.168.0.1", &tu->dst);  /* server */
    struct pkt p;
    offer(&p);
    p.b[10] = 0x80; /* broadcast flag */
    pt_datagram(t, PB_DIR_TO_CLIENT, p.b, p.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "192.168.0.1");
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "192.168.0.10");
    ck_assert_int_eq(pt_int(t, 0, "client.port"), 68);
    ck_assert_ptr_null(pt_field(t, 0, "client.bytes"));
    ck_assert_str_eq(pt_str(t, 0, "server.ip"), "192.168.0.1");
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 67);
    ck_assert_int_eq(pt_int(t, 0, "server.bytes"), (int64_t)p.n);
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.op_code"), "bootreply");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.flags"), "broadcast");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.assigned_ip"), "192.168.0.10");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.message_type"), "offer");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.subnet_mask"), "255.255.255.0");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.router"), "192.168.0.1");
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.dns_servers.1"), "8.8.4.4");
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.option.renewal_time_sec"), 1800);
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.option.rebinding_time_sec"), 3150);
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.option.ip_address_lease_time_sec"), 3600);
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.server_identifier"), "192.168.0.1");
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.option.utc_time_offset_sec"), -16);
    ck_assert_int_eq(pt_int(t, 0, "dhcpv4.option.max_dhcp_message_size"), 1500);
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.option.domain_name"), "example.org");
    /* related.ip: source, destination, then the assigned address (once) */
    json_t *rel = pt_field(t, 0, "related.ip");
    ck_assert_uint_eq(json_array_size(rel), 2);
    pt_close(t);
}
END_TEST

START_TEST(bad_router_drops_options_only)
{
    struct pt_conn *t = open_dhcp();
    struct pkt p;
    header(&p, 2, NULL);
    opt(&p, 53, "\x05", 1);
    opt(&p, 3, "\xc0\xa8\x00\x01\xc0\xa8\x00\x02", 8);
    put(&p, "\xff", 1);
    pt_datagram(t, PB_DIR_TO_CLIENT, p.b, p.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "dhcpv4.option"));
    ck_assert_str_eq(pt_str(t, 0, "dhcpv4.op_code"), "bootreply");
    pt_close(t);
}
END_TEST

START_TEST(rejected_packets)
{
    struct dhcp_msg m;
    struct pkt p;
    discover(&p);
    ck_assert_int_eq(dhcp_parse(p.b, p.n, &m), 0);
    ck_assert_int_eq(dhcp_parse(p.b, DHCP_HDR_LEN, &m), -PB_EPROTO); /* no cookie */
    struct pkt bad = p;
    bad.b[DHCP_HDR_LEN] = 0x64; /* wrong cookie */
    ck_assert_int_eq(dhcp_parse(bad.b, bad.n, &m), -PB_EPROTO);

    /* message type with two bytes */
    header(&bad, 1, NULL);
    opt(&bad, 53, "\x01\x02", 2);
    ck_assert_int_eq(dhcp_parse(bad.b, bad.n, &m), -PB_EPROTO);
    /* server identifier of 3 bytes */
    header(&bad, 1, NULL);
    opt(&bad, 54, "\x01\x02\x03", 3);
    ck_assert_int_eq(dhcp_parse(bad.b, bad.n, &m), -PB_EPROTO);
    /* option running past the end */
    header(&bad, 1, NULL);
    put(&bad,
        "\x0c\x10"
        "abc",
        5);
    ck_assert_int_eq(dhcp_parse(bad.b, bad.n, &m), -PB_EPROTO);
    /* pads, no end option: fine */
    header(&bad, 1, NULL);
    put(&bad, "\x00\x00\x35\x01\x03", 5);
    ck_assert_int_eq(dhcp_parse(bad.b, bad.n, &m), 0);
    ck_assert_uint_eq(m.nopts, 1);

    struct pt_conn *t = open_dhcp();
    pt_datagram(t, PB_DIR_TO_SERVER, p.b, 100);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 1);
    pt_close(t);
}
END_TEST

START_TEST(every_prefix_and_random)
{
    struct pt_conn *t = open_dhcp();
    struct pkt p;
    offer(&p);
    size_t ok = 0;
    for (size_t cut = 0; cut <= p.n; cut++) {
        size_t before = pt_nevents(t);
        pt_datagram(t, PB_DIR_TO_CLIENT, p.b, cut);
        ok += pt_nevents(t) - before;
    }
    ck_assert_uint_ge(ok, 1);
    srand(11);
    for (int i = 0; i < 3000; i++) {
        struct pkt r = p;
        for (int k = 0; k < 8; k++) {
            r.b[DHCP_HDR_LEN + 4 + (size_t)rand() % (r.n - DHCP_HDR_LEN - 4)] = (uint8_t)rand();
        }
        pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    }
    pt_close(t);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(dhcp_option_name(6), "Domain Name Server");
    ck_assert_str_eq(dhcp_option_name(51), "IP Addresses Lease Time");
    ck_assert_ptr_null(dhcp_option_name(240));
    ck_assert_str_eq(dhcp_msgtype_name(5), "ACK");
    ck_assert_ptr_null(dhcp_msgtype_name(0));
    ck_assert_str_eq(dhcp_hwtype_name(6), "IEEE 802");
    ck_assert_ptr_null(dhcp_hwtype_name(200));
}
END_TEST

static Suite *dhcp_suite(void)
{
    Suite *s = suite_create("dhcpv4");
    TCase *c = tcase_create("dhcpv4");
    tcase_add_test(c, default_ports);
    tcase_add_test(c, request_event);
    tcase_add_test(c, reply_event);
    tcase_add_test(c, bad_router_drops_options_only);
    tcase_add_test(c, rejected_packets);
    tcase_add_test(c, every_prefix_and_random);
    tcase_add_test(c, names);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(dhcp_suite());
    return failed == 0 ? 0 : 1;
}
