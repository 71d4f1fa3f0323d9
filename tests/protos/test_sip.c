/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_sip.c - sip: one event per message over UDP (several
 * per datagram) and TCP (Content-Length framing, split anywhere), request
 * and response fields, From/To/Contact, URIs, Authorization, SDP, options,
 * truncated and garbage input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "protos/proto.h"
#include "protos/protos.h"
#include "protos/sip/sip_parse.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_sip;

#define CFG "ports: [5060]"

/* INVITE with an SDP offer */
static const char invite[] = "INVITE sip:bob@10.0.0.2:5060 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n"
                             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n"
                             "From: \"Alice A\" <sip:alice@10.0.0.1:5060>;tag=abc\r\n"
                             "To: Bob <sip:bob@10.0.0.2:5060>\r\n"
                             "Call-ID: 1-2187@10.0.0.1\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "Contact: sip:alice@10.0.0.1:5060\r\n"
                             "Max-Forwards: 70\r\n"
                             "Allow: INVITE, ACK,BYE\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length:   113\r\n"
                             "\r\n"
                             "v=0\r\n"
                             "o=alice 42 43 IN IP4 10.0.0.9\r\n"
                             "s=Talk\r\n"
                             "c=IN IP4 10.0.0.1\r\n"
                             "t=0 0\r\n"
                             "m=audio 6000 RTP/AVP 5\r\n"
                             "c=IN IP4 10.0.0.7\r\n";

/* 486 Busy Here, compact header names */
static const char busy[] = "SIP/2.0 486 Busy Here\r\n"
                           "v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n"
                           "f: <sip:alice@10.0.0.1>;tag=abc\r\n"
                           "t: <sip:bob@10.0.0.2>;tag=xyz\r\n"
                           "i: 1-2187@10.0.0.1\r\n"
                           "CSeq: 1 INVITE\r\n"
                           "l: 0\r\n"
                           "\r\n";

static const char reg_auth[] =
    "REGISTER sip:example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1\r\n"
    "From: <sip:carol@example.org>;tag=1\r\n"
    "To: <sip:carol@example.org>\r\n"
    "Call-ID: r1\r\n"
    "CSeq: 75 REGISTER\r\n"
    "Contact: <sip:carol@10.0.0.1:5060;transport=udp>;expires=60\r\n"
    "Authorization: Digest username=\"carol\", realm=\"example.org\", nonce=\"n\", "
    "uri=\"sip:10.0.0.5:5070\", response=\"r\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static struct pt_conn *open_sip(const char *extra)
{
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s%s", CFG, extra != NULL ? extra : "");
    return pt_open(&pb_proto_sip, cfg);
}

static size_t slen(const char *s)
{
    return strlen(s);
}

START_TEST(udp_invite)
{
    struct pt_conn *t = open_sip(NULL);
    pt_datagram(t, PB_DIR_TO_SERVER, invite, slen(invite));
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "sip");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "sip.type"), "request");
    ck_assert_str_eq(pt_str(t, 0, "sip.method"), "INVITE");
    ck_assert_str_eq(pt_str(t, 0, "sip.version"), "2.0");
    ck_assert_str_eq(pt_str(t, 0, "sip.uri.original"), "sip:bob@10.0.0.2:5060");
    ck_assert_str_eq(pt_str(t, 0, "sip.uri.scheme"), "sip");
    ck_assert_str_eq(pt_str(t, 0, "sip.uri.username"), "bob");
    ck_assert_str_eq(pt_str(t, 0, "sip.uri.host"), "10.0.0.2");
    ck_assert_int_eq(pt_int(t, 0, "sip.uri.port"), 5060);
    ck_assert_str_eq(pt_str(t, 0, "sip.from.display_info"), "Alice A");
    ck_assert_str_eq(pt_str(t, 0, "sip.from.tag"), "abc");
    ck_assert_str_eq(pt_str(t, 0, "sip.from.uri.username"), "alice");
    ck_assert_str_eq(pt_str(t, 0, "sip.to.display_info"), "Bob");
    ck_assert_ptr_null(pt_field(t, 0, "sip.to.tag"));
    /* Packetbeat fills contact.* from the To header */
    ck_assert_str_eq(pt_str(t, 0, "sip.contact.display_info"), "Bob");
    ck_assert_str_eq(pt_str(t, 0, "sip.contact.uri.username"), "bob");
    ck_assert_str_eq(pt_str(t, 0, "sip.call_id"), "1-2187@10.0.0.1");
    ck_assert_int_eq(pt_int(t, 0, "sip.cseq.code"), 1);
    ck_assert_str_eq(pt_str(t, 0, "sip.cseq.method"), "INVITE");
    ck_assert_int_eq(pt_int(t, 0, "event.sequence"), 1);
    ck_assert_int_eq(pt_int(t, 0, "sip.max_forwards"), 70);
    ck_assert_int_eq(pt_int(t, 0, "sip.content_length"), 113);
    ck_assert_str_eq(pt_str(t, 0, "sip.content_type"), "application/sdp");
    json_t *allow = pt_field(t, 0, "sip.allow");
    ck_assert_uint_eq(json_array_size(allow), 3);
    ck_assert_str_eq(json_string_value(json_array_get(allow, 0)), "invite");
    ck_assert_str_eq(json_string_value(json_array_get(allow, 2)), "bye");
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "sip.via.original")), 1);
    /* SDP: session-level c= only, owner ip first in related.ip */
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.version"), "0");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.owner.username"), "alice");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.owner.session_id"), "42");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.owner.version"), "43");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.owner.ip"), "10.0.0.9");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.session.name"), "Talk");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.connection.address"), "10.0.0.1");
    ck_assert_str_eq(pt_str(t, 0, "sip.sdp.connection.info"), "IN IP4 10.0.0.1");
    json_t *ips = pt_field(t, 0, "related.ip");
    ck_assert_uint_eq(json_array_size(ips), 3);
    ck_assert_str_eq(json_string_value(json_array_get(ips, 0)), "10.0.0.9");
    ck_assert_str_eq(json_string_value(json_array_get(ips, 1)), "10.0.0.1");
    json_t *users = pt_field(t, 0, "related.user");
    ck_assert_uint_eq(json_array_size(users), 2); /* bob, alice (dedup) */
    ck_assert_str_eq(json_string_value(json_array_get(users, 0)), "bob");
    /* event */
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "sip-invite");
    ck_assert_str_eq(pt_str(t, 0, "event.kind"), "event");
    ck_assert_str_eq(pt_str(t, 0, "event.dataset"), "sip");
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 0);
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "event.category")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(pt_field(t, 0, "event.type"), 0)), "info");
    ck_assert_ptr_null(pt_field(t, 0, "event.outcome"));
    ck_assert_str_eq(pt_str(t, 0, "event.original"), invite);
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "udp");
    ck_assert_str_eq(pt_str(t, 0, "network.iana_number"), "17");
    ck_assert_str_eq(pt_str(t, 0, "network.application"), "sip");
    ck_assert_ptr_nonnull(pt_field(t, 0, "network.community_id"));
    ck_assert_ptr_null(pt_field(t, 0, "network.bytes"));
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    pt_close(t);
}
END_TEST

START_TEST(responses)
{
    struct pt_conn *t = open_sip(NULL);
    pt_datagram(t, PB_DIR_TO_CLIENT, busy, slen(busy));
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "sip.type"), "response");
    ck_assert_int_eq(pt_int(t, 0, "sip.code"), 486);
    ck_assert_str_eq(pt_str(t, 0, "sip.status"), "Busy Here");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "event.outcome"), "failure");
    ck_assert_str_eq(pt_str(t, 0, "event.reason"), "Busy Here");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "sip-invite");
    ck_assert_str_eq(pt_str(t, 0, "sip.to.tag"), "xyz");
    ck_assert_str_eq(pt_str(t, 0, "sip.call_id"), "1-2187@10.0.0.1");
    ck_assert_ptr_null(pt_field(t, 0, "sip.content_length"));
    ck_assert_ptr_null(pt_field(t, 0, "sip.method"));
    /* the responder is the source */
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.2");
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.2");

    static const char trying[] = "SIP/2.0 100 Trying\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    static const char ok[] = "SIP/2.0 200 OK\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    pt_datagram(t, PB_DIR_TO_CLIENT, trying, slen(trying));
    pt_datagram(t, PB_DIR_TO_CLIENT, ok, slen(ok));
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_ptr_null(pt_field(t, 1, "event.outcome"));
    ck_assert_str_eq(pt_str(t, 1, "event.action"), "sip-bye");
    ck_assert_str_eq(pt_str(t, 2, "event.outcome"), "success");
    ck_assert_str_eq(pt_str(t, 2, "status"), "OK");

    /* a response without Content-Length and nothing after it: dropped */
    static const char nolen[] = "SIP/2.0 200 OK\r\nCSeq: 2 BYE\r\n\r\n";
    pt_datagram(t, PB_DIR_TO_CLIENT, nolen, slen(nolen));
    ck_assert_uint_eq(pt_nevents(t), 3);
    pt_close(t);
}
END_TEST

START_TEST(authorization)
{
    struct pt_conn *t = open_sip(NULL);
    pt_datagram(t, PB_DIR_TO_SERVER, reg_auth, slen(reg_auth));
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "sip.auth.scheme"), "Digest");
    ck_assert_str_eq(pt_str(t, 0, "sip.auth.realm"), "example.org");
    ck_assert_str_eq(pt_str(t, 0, "sip.auth.uri.original"), "sip:10.0.0.5:5070");
    ck_assert_str_eq(pt_str(t, 0, "sip.auth.uri.host"), "10.0.0.5");
    ck_assert_int_eq(pt_int(t, 0, "sip.auth.uri.port"), 5070);
    ck_assert_str_eq(pt_str(t, 0, "user.name"), "carol");
    json_t *cat = pt_field(t, 0, "event.category");
    ck_assert_uint_eq(json_array_size(cat), 2);
    ck_assert_str_eq(json_string_value(json_array_get(cat, 1)), "authentication");
    ck_assert_ptr_null(pt_field(t, 0, "sip.uri.username"));
    ck_assert_str_eq(pt_str(t, 0, "sip.uri.host"), "example.org");
    ck_assert_ptr_null(pt_field(t, 0, "sip.content_length"));
    ck_assert_int_eq(pt_int(t, 0, "event.sequence"), 75);
    pt_close(t);

    t = open_sip("\nparse_authorization: false\nkeep_original: false\nparse_body: false");
    pt_datagram(t, PB_DIR_TO_SERVER, reg_auth, slen(reg_auth));
    pt_datagram(t, PB_DIR_TO_SERVER, invite, slen(invite));
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_ptr_null(pt_field(t, 0, "sip.auth"));
    ck_assert_ptr_null(pt_field(t, 0, "user.name"));
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "event.category")), 2);
    ck_assert_ptr_null(pt_field(t, 0, "event.original"));
    ck_assert_ptr_null(pt_field(t, 1, "sip.sdp"));
    ck_assert_int_eq(pt_int(t, 1, "sip.content_length"), 113);
    pt_close(t);
}
END_TEST

START_TEST(datagram_with_two_messages)
{
    char buf[2048];
    size_t n1 = slen(busy), n2 = slen(reg_auth);
    memcpy(buf, "\r\n", 2);
    memcpy(buf + 2, busy, n1);
    memcpy(buf + 2 + n1, reg_auth, n2);
    struct pt_conn *t = open_sip(NULL);
    pt_datagram(t, PB_DIR_TO_SERVER, buf, 2 + n1 + n2);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_int_eq(pt_int(t, 0, "sip.code"), 486);
    ck_assert_str_eq(pt_str(t, 1, "sip.method"), "REGISTER");
    /* as in Packetbeat, the original runs to the end of the datagram */
    ck_assert_uint_eq(strlen(pt_str(t, 0, "event.original")), 2 + n1 + n2);
    ck_assert_str_eq(pt_str(t, 1, "event.original"), reg_auth);
    /* an incomplete body: nothing */
    pt_datagram(t, PB_DIR_TO_SERVER, invite, slen(invite) - 1);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

/* TCP: two messages split at every offset give the same events. */
START_TEST(tcp_split_anywhere)
{
    char both[4096];
    size_t n1 = slen(invite), n2 = slen(busy);
    memcpy(both, invite, n1);
    memcpy(both + n1, busy, n2);
    size_t n = n1 + n2;
    struct pt_conn *ref = open_sip("\ntransport_protocol: tcp");
    pt_feed(ref, PB_DIR_TO_SERVER, both, n);
    ck_assert_uint_eq(pt_nevents(ref), 2);
    ck_assert_str_eq(pt_str(ref, 0, "network.transport"), "tcp");
    ck_assert_str_eq(pt_str(ref, 0, "event.original"), invite);
    ck_assert_str_eq(pt_str(ref, 1, "event.original"), busy);
    char *want = pt_dump(ref);
    pt_close(ref);
    for (size_t cut = 1; cut < n; cut++) {
        struct pt_conn *t = open_sip("\ntransport_protocol: tcp");
        pt_feed(t, PB_DIR_TO_SERVER, both, cut);
        pt_feed(t, PB_DIR_TO_SERVER, both + cut, n - cut);
        pt_expect_dump(t, want);
        pt_close(t);
    }
    struct pt_conn *t = open_sip("\ntransport_protocol: tcp");
    for (size_t i = 0; i < n; i++) {
        pt_feed(t, PB_DIR_TO_SERVER, both + i, 1);
    }
    pt_expect_dump(t, want);
    pt_close(t);
    free(want);
}
END_TEST

START_TEST(tcp_garbage_and_gap)
{
    struct pt_conn *t = open_sip(NULL);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "HELLO\r\n"), PB_PARSE_DROP);
    pt_feed(t, PB_DIR_TO_SERVER, invite, 50);
    pt_gap(t, PB_DIR_TO_SERVER, 100);
    pt_feed(t, PB_DIR_TO_SERVER, busy, slen(busy));
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "sip.code"), 486);
    /* a Content-Length that cannot fit: dropped at once */
    static const char huge[] = "SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\nabc";
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, huge), PB_PARSE_DROP);
    /* endless headers are bounded */
    char *big = malloc(SIP_MAX_HEADER_BYTES + 100);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "SIP/2.0 200 OK\r\n", 16);
    memset(big + 16, 'a', SIP_MAX_HEADER_BYTES + 84);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_CLIENT, big, SIP_MAX_HEADER_BYTES + 100), PB_PARSE_DROP);
    free(big);
    pt_close(t);
}
END_TEST

START_TEST(truncated_and_garbage)
{
    const char *msgs[] = {invite, busy, reg_auth};
    for (size_t k = 0; k < 3; k++) {
        size_t n = slen(msgs[k]);
        for (size_t len = 0; len < n; len++) {
            struct pt_conn *t = open_sip(NULL);
            pt_datagram(t, PB_DIR_TO_SERVER, msgs[k], len);
            pt_feed(t, PB_DIR_TO_CLIENT, msgs[k], len);
            pt_fin(t, PB_DIR_TO_CLIENT);
            ck_assert_uint_le(pt_nevents(t), 1);
            pt_close(t);
        }
    }
    srand(11);
    char buf[1024];
    for (int round = 0; round < 2000; round++) {
        const char *src = msgs[round % 3];
        size_t n = slen(src);
        memcpy(buf, src, n);
        int flips = 1 + rand() % 8;
        for (int i = 0; i < flips; i++) {
            static const char pool[] = "\r\n:;<>\"@[]= -,0123456789aZ";
            buf[rand() % (int)n] = (rand() & 1) ? (char)rand() : pool[rand() % (sizeof pool - 1)];
        }
        struct pt_conn *t = open_sip(NULL);
        pt_datagram(t, PB_DIR_TO_SERVER, buf, n);
        pt_feed(t, PB_DIR_TO_SERVER, buf, n);
        pt_close(t);
    }
}
END_TEST

static struct pb_slice S(const char *s) {
    struct pb_slice r = {(const uint8_t *)s, strlen(s)};
    return r;
}

static bool
seq(struct pb_slice s, const char *want)
{
    return s.len == strlen(want) && (s.len == 0 || memcmp(s.ptr, want, s.len) == 0);
}

START_TEST(uris_and_addresses)
{
    struct sip_uri u;
    sip_parse_uri(S("sip:user:pw@host.example:5070;transport=TCP;line=x1"), &u);
    ck_assert(seq(u.scheme, "sip"));
    ck_assert(seq(u.username, "user:pw"));
    ck_assert(seq(u.host, "host.example"));
    ck_assert_int_eq(u.port, 5070);
    ck_assert(seq(u.transport, "TCP"));
    ck_assert(seq(u.line, "x1"));
    sip_parse_uri(S("<sip:35104723@sip.cybercity.dk>"), &u);
    ck_assert(seq(u.scheme, "<sip"));
    ck_assert(seq(u.host, "sip.cybercity.dk>"));
    sip_parse_uri(S("sips:[2001:db8::1]:5061"), &u);
    ck_assert(seq(u.host, "[2001:db8::1]"));
    ck_assert_int_eq(u.port, 5061);
    sip_parse_uri(S("nocolon"), &u);
    ck_assert_ptr_null(u.scheme.ptr);
    ck_assert_uint_eq(u.host.len, 0);
    sip_parse_uri(S(""), &u);
    sip_parse_uri(S(":"), &u);
    sip_parse_uri(S("sip:@:@;"), &u);

    struct sip_addr a;
    ck_assert(sip_parse_addr(S("\"A B\" <sip:a@b>;tag=t1;expires=30"), &a));
    ck_assert(seq(a.display, "A B"));
    ck_assert(seq(a.uri, "sip:a@b"));
    ck_assert(seq(a.tag, "t1"));
    ck_assert(seq(a.expires, "30"));
    ck_assert(sip_parse_addr(S("sip:a@b;tag=2"), &a));
    ck_assert(seq(a.uri, "sip:a@b"));
    ck_assert(seq(a.tag, "2"));
    ck_assert(sip_parse_addr(S("<sip:a@b"), &a));
    ck_assert(seq(a.uri, "<sip:a@b"));
    ck_assert(!sip_parse_addr(S("x>y<z"), &a));
}
END_TEST

START_TEST(start_lines)
{
    struct sip_msg m;
    ck_assert_int_eq(sip_parse((const uint8_t *)"SIP/2.0 200\r\n\r\n", 15, &m), SIP_BAD);
    static const char shortreq[] = "ACK sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq(sip_parse((const uint8_t *)shortreq, strlen(shortreq), &m), SIP_DONE);
    ck_assert(seq(m.method, "ACK"));
    ck_assert(seq(m.uri, "sip:a"));
    static const char novers[] = "INVITE sip:bob@example.org HTTP/1.1\r\n\r\n";
    ck_assert_int_eq(sip_parse((const uint8_t *)novers, strlen(novers), &m), SIP_BAD);
    static const char onespace[] = "INVITEsip:bob@example.org SIP/2.0\r\n\r\n";
    ck_assert_int_eq(sip_parse((const uint8_t *)onespace, strlen(onespace), &m), SIP_BAD);
    static const char badcode[] = "SIP/2.0 abc Whatever\r\n\r\n";
    ck_assert_int_eq(sip_parse((const uint8_t *)badcode, strlen(badcode), &m), SIP_BAD);
    ck_assert_int_eq(sip_parse((const uint8_t *)"\r\n\r\n", 4, &m), SIP_MORE);
}
END_TEST

START_TEST(bad_transport_option)
{
    ck_assert_int_lt(pt_init_rc(&pb_proto_sip, "ports: [5060]\ntransport_protocol: sctp", NULL), 0);
}
END_TEST

static Suite *sip_suite(void)
{
    Suite *s = suite_create("sip");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, udp_invite);
    tcase_add_test(tc, responses);
    tcase_add_test(tc, authorization);
    tcase_add_test(tc, datagram_with_two_messages);
    tcase_add_test(tc, tcp_split_anywhere);
    tcase_add_test(tc, tcp_garbage_and_gap);
    tcase_add_test(tc, truncated_and_garbage);
    tcase_add_test(tc, uris_and_addresses);
    tcase_add_test(tc, start_lines);
    tcase_add_test(tc, bad_transport_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(sip_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
