/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_icmp.c - ICMPv4/v6 classification, names, request and
 * reply matching, orphans, timeouts, hostile input.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protos/icmp/icmp_event.h"
#include "protos/icmp/icmp_parse.h"
#include "protos/proto.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"

extern const struct pb_proto_ops pb_proto_icmp;

/* echo request id 5 seq 1 with payload "test" (type 8 v4 / 128 v6) */
static const uint8_t echo4_req[] = {8, 0, 0x10, 0x20, 0, 5, 0, 1, 't', 'e', 's', 't'};
static const uint8_t echo4_rep[] = {0, 0, 0x18, 0x20, 0, 5, 0, 1, 't', 'e', 's', 't'};
static const uint8_t echo6_req[] = {128, 0, 0x97, 0xd6, 0, 5, 0, 1, 't', 'e', 's', 't'};
static const uint8_t echo6_rep[] = {129, 0, 0x96, 0xd6, 0, 5, 0, 1, 't', 'e', 's', 't'};
/* port unreachable with 4 bytes of the offending datagram */
static const uint8_t unreach4[] = {3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0x1c};

static struct pt_conn *open_v6(void)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    struct pb_tuple *tu = &pt_pbconn(t)->tuple;
    pb_ip_parse("::1", &tu->src);
    pb_ip_parse("::2", &tu->dst);
    tu->proto = PB_IPPROTO_ICMPV6;
    return t;
}

START_TEST(parse_header)
{
    struct icmp_msg m;
    ck_assert(icmp_msg_parse(4, echo4_req, sizeof echo4_req, &m));
    ck_assert_uint_eq(m.type, 8);
    ck_assert_uint_eq(m.id, 5);
    ck_assert_uint_eq(m.seq, 1);
    ck_assert_uint_eq(m.length, 4);
    ck_assert(icmp_msg_parse(6, echo6_req, sizeof echo6_req, &m));
    ck_assert_uint_eq(m.length, 4);
    ck_assert(!icmp_msg_parse(4, echo4_req, 7, &m));
    ck_assert(!icmp_msg_parse(6, echo6_req, 3, &m));
    ck_assert(icmp_msg_parse(6, echo6_req, 6, &m));
    ck_assert_uint_eq(m.id, 0);
    /* no id/seq outside request/reply pairs */
    ck_assert(icmp_msg_parse(4, unreach4, sizeof unreach4, &m));
    ck_assert_uint_eq(m.id, 0);
    ck_assert_uint_eq(m.length, 4);
}
END_TEST

START_TEST(classification)
{
    ck_assert(icmp_is_request(4, 8));
    ck_assert(!icmp_is_request(4, 0));
    ck_assert(!icmp_is_request(4, 14));
    ck_assert(icmp_is_request(4, 3));
    ck_assert(!icmp_is_request(6, 129));
    ck_assert(icmp_is_request(6, 135));
    ck_assert(icmp_is_error(4, 11));
    ck_assert(icmp_is_error(6, 2));
    ck_assert(!icmp_is_error(4, 5));
    ck_assert(icmp_needs_counterpart(4, 17));
    ck_assert(!icmp_needs_counterpart(6, 133));
}
END_TEST

START_TEST(names)
{
    char b[64];
    ck_assert_str_eq(icmp_type_code_str(4, 8, 0, b), "EchoRequest");
    ck_assert_str_eq(icmp_type_code_str(4, 8, 1, b), "EchoRequest(Code: 1)");
    ck_assert_str_eq(icmp_type_code_str(4, 3, 3, b), "DestinationUnreachable(Port)");
    ck_assert_str_eq(icmp_type_code_str(4, 3, 99, b), "DestinationUnreachable(Code: 99)");
    ck_assert_str_eq(icmp_type_code_str(4, 5, 2, b), "Redirect(TOS+Net)");
    ck_assert_str_eq(icmp_type_code_str(4, 42, 7, b), "42(7)");
    ck_assert_str_eq(icmp_type_code_str(6, 129, 0, b), "EchoReply");
    ck_assert_str_eq(icmp_type_code_str(6, 1, 4, b), "DestinationUnreachable(PortUnreachable)");
    ck_assert_str_eq(icmp_type_code_str(6, 3, 0, b), "TimeExceeded(HopLimitExceeded)");
    ck_assert_str_eq(icmp_type_code_str(6, 143, 0, b), "143(0)");
}
END_TEST

START_TEST(echo_v4)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, sizeof echo4_req);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 20130000);
    pt_datagram(t, PB_DIR_TO_CLIENT, echo4_rep, sizeof echo4_rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "icmp");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 0, "icmp.version"), 4);
    ck_assert_str_eq(pt_str(t, 0, "icmp.request.message"), "EchoRequest");
    ck_assert_int_eq(pt_int(t, 0, "icmp.request.type"), 8);
    ck_assert_int_eq(pt_int(t, 0, "icmp.request.code"), 0);
    ck_assert_str_eq(pt_str(t, 0, "icmp.response.message"), "EchoReply");
    ck_assert_int_eq(pt_int(t, 0, "icmp.response.type"), 0);
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "icmp");
    ck_assert_ptr_null(pt_field(t, 0, "network.protocol"));
    ck_assert_str_eq(pt_str(t, 0, "event.dataset"), "icmp");
    ck_assert_str_eq(pt_str(t, 0, "event.type.0"), "connection");
    ck_assert_ptr_null(pt_field(t, 0, "event.type.1"));
    ck_assert_str_eq(pt_str(t, 0, "path"), "10.0.0.2");
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    ck_assert_str_eq(pt_str(t, 0, "server.ip"), "10.0.0.2");
    ck_assert_ptr_null(pt_field(t, 0, "server.port"));
    ck_assert_ptr_null(pt_field(t, 0, "source.port"));
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 4);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 4);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 20130000);
    /* Community ID of ICMP 10.0.0.1 -> 10.0.0.2 echo (type 8, code 0) */
    struct pb_tuple ct = pt_pbconn(t)->tuple;
    ct.sport = 8;
    ct.dport = 0;
    char cid[64];
    pb_community_id(&ct, cid);
    ck_assert_str_eq(pt_str(t, 0, "network.community_id"), cid);
    ck_assert_str_ne(cid, "");
    pt_close(t);
}
END_TEST

START_TEST(echo_v6)
{
    struct pt_conn *t = open_v6();
    pt_datagram(t, PB_DIR_TO_SERVER, echo6_req, sizeof echo6_req);
    pt_datagram(t, PB_DIR_TO_CLIENT, echo6_rep, sizeof echo6_rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "icmp.version"), 6);
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "ipv6-icmp");
    ck_assert_str_eq(pt_str(t, 0, "network.type"), "ipv6");
    ck_assert_str_eq(pt_str(t, 0, "path"), "::2");
    ck_assert_int_eq(pt_int(t, 0, "icmp.request.type"), 128);
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 4);
    pt_close(t);
}
END_TEST

START_TEST(orphan_reply)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    pt_datagram(t, PB_DIR_TO_CLIENT, echo4_rep, sizeof echo4_rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "Response was received without an associated request.");
    /* the transaction is seen from the requester's side */
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.1");
    ck_assert_ptr_null(pt_field(t, 0, "icmp.request"));
    ck_assert_ptr_null(pt_field(t, 0, "event.start"));
    ck_assert_ptr_null(pt_field(t, 0, "source.bytes"));
    pt_close(t);
}
END_TEST

START_TEST(unanswered_request)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true\ntransaction_timeout: 1s");
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, sizeof echo4_req);
    pt_tick(t, pb_now_ns());
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 2000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "Request was received without an associated response.");
    ck_assert_ptr_null(pt_field(t, 0, "icmp.response"));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));

    /* still pending at the end of input: dropped */
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, sizeof echo4_req);
    pt_shutdown(t);
    pt_tick(t, pb_now_ns() + 4000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(duplicate_request)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, sizeof echo4_req);
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, sizeof echo4_req);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "Another request with the same Id and Seq was received so this request was "
                     "closed without receiving a response.");
    pt_datagram(t, PB_DIR_TO_CLIENT, echo4_rep, sizeof echo4_rep);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(unreachable_alone)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    pt_datagram(t, PB_DIR_TO_SERVER, unreach4, sizeof unreach4);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "icmp.request.message"), "DestinationUnreachable(Port)");
    ck_assert_ptr_null(pt_field(t, 0, "error.message"));
    /* a redirect is neither an error nor waits for a reply */
    static const uint8_t redirect[] = {5, 1, 0, 0, 10, 0, 0, 9};
    pt_datagram(t, PB_DIR_TO_SERVER, redirect, sizeof redirect);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    ck_assert_ptr_null(pt_field(t, 1, "source.bytes"));
    pt_close(t);
}
END_TEST

START_TEST(hostile_input)
{
    struct pt_conn *t = pt_open(&pb_proto_icmp, "enabled: true");
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, 0);
    pt_datagram(t, PB_DIR_TO_SERVER, echo4_req, 5);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 2);
    srand(3);
    for (int i = 0; i < 20000; i++) {
        uint8_t b[32];
        size_t n = (size_t)(rand() % (int)sizeof b);
        for (size_t k = 0; k < n; k++) {
            b[k] = (uint8_t)rand();
        }
        pt_datagram(t, (enum pb_dir)(i % 2), b, n);
    }
    pt_close(t);
}
END_TEST

static Suite *icmp_suite(void)
{
    Suite *s = suite_create("icmp");
    TCase *c = tcase_create("icmp");
    tcase_add_test(c, parse_header);
    tcase_add_test(c, classification);
    tcase_add_test(c, names);
    tcase_add_test(c, echo_v4);
    tcase_add_test(c, echo_v6);
    tcase_add_test(c, orphan_reply);
    tcase_add_test(c, unanswered_request);
    tcase_add_test(c, duplicate_request);
    tcase_add_test(c, unreachable_alone);
    tcase_add_test(c, hostile_input);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(icmp_suite());
    return failed == 0 ? 0 : 1;
}
