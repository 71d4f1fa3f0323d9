/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_dns.c - DNS decoder and protocol: record rendering,
 * names and compression, public suffix fields, UDP and TCP transactions,
 * notes, timeouts, and hostile input.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/err.h"
#include "beat/secw.h"
#include "protos/dns/dns_event.h"
#include "protos/dns/dns_parse.h"
#include "protos/dns/dns_text.h"
#include "protos/proto.h"
#include "publisher/codec.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_dns;

/* ------------------------------------------------------------------ */
/* A small DNS message builder. */

static void question(struct pt_buf *m, const char *n, uint16_t type)
{
    pt_dns_name(m, n);
    pt_be16(m, type);
    pt_be16(m, 1);
}

/* A record header with a pointer to the question name (offset 12). */
static void rr_ptr(struct pt_buf *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    pt_be16(m, 0xc00c);
    pt_dns_rr_tail(m, type, ttl, rdlen);
}

#define QR_RD_RA 0x8180
#define RD 0x0100

/* Query for name/type. */
static void mk_query(struct pt_buf *m, uint16_t id, const char *n, uint16_t type)
{
    pt_dns_hdr(m, id, RD, 1, 0, 0, 0);
    question(m, n, type);
}

/* Response with two A answers 10.1.2.3 and 10.1.2.4. */
static void mk_a_response(struct pt_buf *m, uint16_t id, const char *n)
{
    pt_dns_hdr(m, id, QR_RD_RA, 1, 2, 0, 0);
    question(m, n, 1);
    rr_ptr(m, 1, 300, 4);
    pt_put(m, "\x0a\x01\x02\x03", 4);
    rr_ptr(m, 1, 300, 4);
    pt_put(m, "\x0a\x01\x02\x04", 4);
}

static struct pt_conn *open_udp(const char *yaml)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, yaml != NULL ? yaml : "ports: [53]");
    pt_pbconn(t)->tuple.proto = PB_IPPROTO_UDP;
    return t;
}

static void tcp_frame(struct pt_buf *out, const struct pt_buf *in)
{
    out->n = 0;
    pt_be16(out, (uint16_t)in->n);
    pt_put(out, in->b, in->n);
}

/* A UDP query's tuple from client:sport to server port 53. */
static struct pb_tuple udp_tuple(const char *client, const char *server, uint16_t sport)
{
    struct pb_tuple tu = {0};
    ck_assert(pb_ip_parse(client, &tu.src));
    ck_assert(pb_ip_parse(server, &tu.dst));
    tu.sport = sport;
    tu.dport = 53;
    tu.proto = PB_IPPROTO_UDP;
    return tu;
}

/* ------------------------------------------------------------------ */
/* Decoder */

START_TEST(parse_rejects_garbage)
{
    static const uint8_t hdr_only[12] = {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(hdr_only, sizeof hdr_only, &m), -PB_EPROTO);
    ck_assert_int_eq(dns_msg_parse(hdr_only, 5, &m), -PB_EPROTO);
    static const uint8_t junk[14] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    ck_assert_int_eq(dns_msg_parse(junk, sizeof junk, &m), -PB_EPROTO);
}
END_TEST

START_TEST(parse_compression_loop)
{
    struct pt_buf q;
    pt_dns_hdr(&q, 7, RD, 1, 0, 0, 0);
    pt_be16(&q, 0xc00c); /* name = pointer to itself */
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), -PB_EPROTO);

    /* two pointers pointing at each other */
    pt_dns_hdr(&q, 7, RD, 1, 0, 0, 0);
    pt_be16(&q, 0xc00e);
    pt_be16(&q, 0xc00c);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), -PB_EPROTO);

    /* a pointer past the end */
    pt_dns_hdr(&q, 7, RD, 1, 0, 0, 0);
    pt_be16(&q, 0xcfff);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), -PB_EPROTO);
}
END_TEST

START_TEST(parse_names_escaped)
{
    struct pt_buf q;
    pt_dns_hdr(&q, 1, RD, 1, 0, 0, 0);
    /* labels "a.b", "c d", "\x01" then "com" */
    pt_put(&q,
           "\x03"
           "a.b"
           "\x03"
           "c d"
           "\x01\x01"
           "\x03"
           "com"
           "\x00",
           15);
    pt_be16(&q, 16);
    pt_be16(&q, 1);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "a\\.b.c\\ d.\\001.com");
    dns_msg_free(&m);

    /* plain runs between escapes, at both ends of a label */
    pt_dns_hdr(&q, 1, RD, 1, 0, 0, 0);
    pt_put(&q,
           "\x08"
           "\"ab\x7f"
           "cd;e"
           "\x02"
           "xy"
           "\x00",
           13);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "\\\"ab\\127cd\\;e.xy");
    dns_msg_free(&m);

    /* the root name renders as "" */
    pt_dns_hdr(&q, 1, RD, 1, 0, 0, 0);
    question(&q, "", 2);
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "");
    dns_msg_free(&m);
}
END_TEST

START_TEST(parse_name_too_long)
{
    struct pt_buf q;
    pt_dns_hdr(&q, 1, RD, 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        pt_u8(&q, 63);
        for (int k = 0; k < 63; k++) {
            pt_u8(&q, 'a');
        }
    }
    pt_u8(&q, 0);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), -PB_EPROTO);
}
END_TEST

static const struct dns_rr *answer(const struct dns_msg *m, size_t i)
{
    ck_assert_uint_gt(m->nrr[DNS_ANSWER], i);
    return &m->rr[DNS_ANSWER][i];
}

static const char *kv(const struct dns_rr *rr, const char *key)
{
    for (size_t i = 0; i < rr->nkv; i++) {
        if (strcmp(rr->kv[i].key, key) == 0) {
            return rr->kv[i].str;
        }
    }
    return NULL;
}

static uint64_t kvn(const struct dns_rr *rr, const char *key)
{
    for (size_t i = 0; i < rr->nkv; i++) {
        if (strcmp(rr->kv[i].key, key) == 0) {
            ck_assert_ptr_null(rr->kv[i].str);
            return rr->kv[i].num;
        }
    }
    ck_abort_msg("no key %s", key);
    return 0;
}

START_TEST(parse_record_types)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 9, QR_RD_RA, 1, 12, 0, 0);
    question(&r, "example.com", 255);
    /* AAAA 2001:db8::1 */
    rr_ptr(&r, 28, 60, 16);
    pt_put(&r, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    /* AAAA ::ffff:1.2.3.4 -> "1.2.3.4" as Go prints it */
    rr_ptr(&r, 28, 60, 16);
    pt_put(&r, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04", 16);
    /* MX 10 mail.example.com (compressed suffix) */
    rr_ptr(&r, 15, 60, 9);
    pt_be16(&r, 10);
    pt_put(&r, "\x04mail\xc0\x0c", 7);
    /* SOA ns1.example.com hostmaster.example.com 1 2 3 4 5 */
    rr_ptr(&r, 6, 60, 2 + 4 + 2 + 11 + 20);
    pt_put(&r, "\x03ns1\xc0\x0c", 6);
    pt_put(&r, "\x0ahostmaster\xc0\x0c", 13);
    pt_be32(&r, 1);
    pt_be32(&r, 2);
    pt_be32(&r, 3);
    pt_be32(&r, 4);
    pt_be32(&r, 5);
    /* SRV 1 2 443 srv.example.com */
    rr_ptr(&r, 33, 60, 6 + 6);
    pt_be16(&r, 1);
    pt_be16(&r, 2);
    pt_be16(&r, 443);
    pt_put(&r, "\x03srv\xc0\x0c", 6);
    /* TXT "v=spf1" and "a\"b\\c\x01" */
    rr_ptr(&r, 16, 60, 7 + 7);
    pt_put(&r, "\x06v=spf1", 7);
    pt_put(&r,
           "\x06"
           "a\"b\\c\x01",
           7);
    /* DS 12345 RSASHA256 SHA256 digest 0xab 0xcd */
    rr_ptr(&r, 43, 60, 6);
    pt_be16(&r, 12345);
    pt_u8(&r, 8);
    pt_u8(&r, 2);
    pt_put(&r, "\xab\xcd", 2);
    /* DNSKEY 257 3 ECDSAP256SHA256 key "abc" */
    rr_ptr(&r, 48, 60, 7);
    pt_be16(&r, 257);
    pt_u8(&r, 3);
    pt_u8(&r, 13);
    pt_put(&r, "abc", 3);
    /* NSEC next.example.com, bitmap A NS SOA */
    rr_ptr(&r, 47, 60, 7 + 3);
    pt_put(&r, "\x04next\xc0\x0c", 7);
    pt_put(&r, "\x00\x01\x62", 3); /* window 0: A(1) NS(2) SOA(6) */
    /* NSEC3 SHA1 flags 1 iter 10 salt aabb, hash 5 bytes, bitmap A */
    rr_ptr(&r, 50, 60, 1 + 1 + 2 + 1 + 2 + 1 + 5 + 3);
    pt_u8(&r, 1);
    pt_u8(&r, 1);
    pt_be16(&r, 10);
    pt_u8(&r, 2);
    pt_put(&r, "\xaa\xbb", 2);
    pt_u8(&r, 5);
    pt_put(&r, "\x00\x00\x00\x00\x00", 5);
    pt_put(&r, "\x00\x01\x40", 3);
    /* unknown type 65280 with bytes "A\x00\"" */
    rr_ptr(&r, 65280, 60, 3);
    pt_put(&r, "A\x00\"", 3);
    /* A with no data: left out of the lists */
    rr_ptr(&r, 1, 60, 0);

    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_uint_eq(m.count[DNS_ANSWER], 12);
    ck_assert_str_eq(answer(&m, 0)->data, "2001:db8::1");
    ck_assert(answer(&m, 0)->is_ip);
    ck_assert_str_eq(answer(&m, 1)->data, "1.2.3.4");
    ck_assert_str_eq(answer(&m, 2)->data, "mail.example.com");
    ck_assert_uint_eq(kvn(answer(&m, 2), "preference"), 10);
    ck_assert_str_eq(answer(&m, 3)->data, "ns1.example.com");
    ck_assert_str_eq(kv(answer(&m, 3), "rname"), "hostmaster.example.com");
    ck_assert_uint_eq(kvn(answer(&m, 3), "serial"), 1);
    ck_assert_uint_eq(kvn(answer(&m, 3), "minimum"), 5);
    ck_assert_str_eq(answer(&m, 4)->data, "srv.example.com");
    ck_assert_uint_eq(kvn(answer(&m, 4), "port"), 443);
    ck_assert_str_eq(answer(&m, 5)->data, "v=spf1 a\\\"b\\\\c\\001");
    ck_assert_str_eq(answer(&m, 6)->data, "ABCD");
    ck_assert_str_eq(kv(answer(&m, 6), "key_tag"), "12345");
    ck_assert_str_eq(kv(answer(&m, 6), "algorithm"), "RSASHA256");
    ck_assert_str_eq(kv(answer(&m, 6), "digest_type"), "SHA256");
    ck_assert_str_eq(answer(&m, 7)->data, "YWJj");
    ck_assert_str_eq(kv(answer(&m, 7), "flags"), "257");
    ck_assert_str_eq(kv(answer(&m, 7), "protocol"), "3");
    ck_assert_str_eq(kv(answer(&m, 7), "algorithm"), "ECDSAP256SHA256");
    ck_assert_str_eq(answer(&m, 8)->data, "next.example.com");
    ck_assert_str_eq(kv(answer(&m, 8), "type_bits"), "A NS SOA");
    ck_assert_str_eq(kv(answer(&m, 9), "hash"), "SHA1");
    ck_assert_str_eq(kv(answer(&m, 9), "iterations"), "10");
    ck_assert_str_eq(kv(answer(&m, 9), "salt"), "AABB");
    ck_assert_str_eq(kv(answer(&m, 9), "type_bits"), "A");
    ck_assert_str_eq(answer(&m, 9)->data, "00000000");
    ck_assert_str_eq(answer(&m, 10)->data, "A\\000\\\"");
    ck_assert_ptr_null(answer(&m, 11)->data);
    ck_assert_uint_eq(answer(&m, 11)->nkv, 0);
    dns_msg_free(&m);
}
END_TEST

/* A and AAAA data as Go's net.IP.String() prints it, on addresses with
 * zero groups (and zero runs) anywhere: the same text as inet_ntop, which
 * compresses the same run, but for the addresses both print with an
 * IPv4 tail (Go: an IPv4-mapped one in dotted form, checked apart) */
START_TEST(parse_addresses_as_go_prints_them)
{
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        uint8_t a[16];
        for (int i = 0; i < 16; i += 2) {
            seed = seed * 1103515245u + 12345u;
            /* most groups zero, some with one zero byte, some whole */
            unsigned kind = (seed >> 16) % 4;
            a[i] = kind == 3 ? (uint8_t)(seed >> 8) : 0;
            a[i + 1] = kind >= 2 ? (uint8_t)(seed >> 24) : kind == 1 ? (uint8_t)seed : 0;
        }
        bool v4 = round % 8 == 0;
        if (round % 16 == 1) {
            memset(a, 0, 10);
            a[10] = a[11] = 0xff; /* IPv4-mapped */
        }
        struct pt_buf r;
        pt_dns_hdr(&r, 9, QR_RD_RA, 1, 1, 0, 0);
        question(&r, "example.com", v4 ? 1 : 28);
        rr_ptr(&r, v4 ? 1 : 28, 60, v4 ? 4 : 16);
        pt_put(&r, a, v4 ? 4 : 16);
        struct dns_msg m;
        ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
        char want[INET6_ADDRSTRLEN];
        bool mapped = !v4 && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
        ck_assert_ptr_nonnull(
            inet_ntop(v4 || mapped ? AF_INET : AF_INET6, mapped ? a + 12 : a, want, sizeof want));
        bool v4_tail = !v4 && !mapped && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0 &&
                       (a[12] | a[13]) != 0;
        if (!v4_tail) { /* inet_ntop: "::1.2.3.4"; Go: "::102:304" */
            ck_assert_str_eq(answer(&m, 0)->data, want);
        }
        ck_assert_uint_eq(answer(&m, 0)->data_len, strlen(answer(&m, 0)->data));
        dns_msg_free(&m);
    }
}
END_TEST

START_TEST(parse_rrsig)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 9, QR_RD_RA, 1, 1, 0, 0);
    question(&r, "example.com", 1);
    rr_ptr(&r, 46, 60, 18 + 2 + 3);
    pt_be16(&r, 1);          /* covers A */
    pt_u8(&r, 8);            /* RSASHA256 */
    pt_u8(&r, 2);            /* labels */
    pt_be32(&r, 3600);       /* original TTL */
    pt_be32(&r, 1700000000); /* 2023-11-14T22:13:20Z */
    pt_be32(&r, 0);
    pt_be16(&r, 4242);
    pt_put(&r, "\xc0\x0c", 2);
    pt_put(&r, "xyz", 3);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    const struct dns_rr *rr = answer(&m, 0);
    ck_assert_str_eq(kv(rr, "type_covered"), "A");
    ck_assert_str_eq(kv(rr, "algorithm"), "RSASHA256");
    ck_assert_str_eq(kv(rr, "labels"), "2");
    ck_assert_str_eq(kv(rr, "original_ttl"), "3600");
    ck_assert_str_eq(kv(rr, "expiration"), "20231114221320");
    ck_assert_str_eq(kv(rr, "inception"), "19700101000000");
    ck_assert_str_eq(kv(rr, "key_tag"), "4242");
    ck_assert_str_eq(kv(rr, "signer_name"), "example.com");
    ck_assert_str_eq(rr->data, "eHl6");
    dns_msg_free(&m);
}
END_TEST

START_TEST(parse_bad_rdlength)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 9, QR_RD_RA, 1, 1, 0, 0);
    question(&r, "example.com", 1);
    rr_ptr(&r, 1, 60, 5); /* A with 5 bytes */
    pt_put(&r, "\x01\x02\x03\x04\x05", 5);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), -PB_EPROTO);

    pt_dns_hdr(&r, 9, QR_RD_RA, 1, 1, 0, 0);
    question(&r, "example.com", 1);
    rr_ptr(&r, 1, 60, 40); /* past the end */
    pt_put(&r, "\x01\x02\x03\x04", 4);
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), -PB_EPROTO);
}
END_TEST

START_TEST(parse_counts_larger_than_data)
{
    /* ancount says 5, one record present: tolerated, 1 answer */
    struct pt_buf r;
    mk_a_response(&r, 3, "example.com");
    r.b[7] = 5;
    r.n -= 16; /* drop the second answer */
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_uint_eq(m.count[DNS_ANSWER], 1);
    dns_msg_free(&m);
}
END_TEST

START_TEST(parse_edns)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 9, QR_RD_RA | 0x3, 1, 0, 0, 1);
    question(&r, "example.com", 1);
    pt_u8(&r, 0);            /* root */
    pt_be16(&r, 41);         /* OPT */
    pt_be16(&r, 1232);       /* udp size */
    pt_be32(&r, 0x01008000); /* ext rcode 1, version 0, DO */
    pt_be16(&r, (4 + 2) + (4 + 7) + (4 + 2) + (4 + 1));
    pt_be16(&r, 3); /* NSID "ab" */
    pt_be16(&r, 2);
    pt_put(&r, "\xab\xcd", 2);
    pt_be16(&r, 8); /* subnet 192.0.2.0/24/0 */
    pt_be16(&r, 7);
    pt_be16(&r, 1);
    pt_u8(&r, 24);
    pt_u8(&r, 0);
    pt_put(&r, "\xc0\x00\x02", 3);
    pt_be16(&r, 10); /* cookie: ignored */
    pt_be16(&r, 2);
    pt_put(&r, "\x01\x02", 2);
    pt_be16(&r, 65001); /* local */
    pt_be16(&r, 1);
    pt_u8(&r, 0x7f);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert(m.opt.present);
    ck_assert(m.opt.do_bit);
    ck_assert_uint_eq(m.opt.udp_size, 1232);
    ck_assert_int_eq(m.opt.ext_rcode, 16);
    ck_assert_int_eq(m.rcode, 16 | 3);
    ck_assert_str_eq(m.opt.nsid, "abcd");
    ck_assert_str_eq(m.opt.subnet, "192.0.2.0/24/0");
    ck_assert_str_eq(m.opt.local, "65001:0x7f");
    char b[24];
    ck_assert_str_eq(dns_rcode_str(m.rcode, b), "BADMODE");
    dns_msg_free(&m);

    /* a bad subnet family fails the whole message */
    pt_dns_hdr(&r, 9, QR_RD_RA, 1, 0, 0, 1);
    question(&r, "example.com", 1);
    pt_u8(&r, 0);
    pt_be16(&r, 41);
    pt_be16(&r, 512);
    pt_be32(&r, 0);
    pt_be16(&r, 8);
    pt_be16(&r, 8);
    pt_be16(&r, 4);
    pt_be16(&r, 9);
    pt_be16(&r, 0);
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), -PB_EPROTO);
}
END_TEST

START_TEST(parse_every_prefix)
{
    struct pt_buf r;
    mk_a_response(&r, 3, "www.example.com");
    for (size_t cut = 0; cut <= r.n; cut++) {
        uint8_t *p = malloc(cut > 0 ? cut : 1);
        memcpy(p, r.b, cut);
        struct dns_msg m;
        int rc = dns_msg_parse(p, cut, &m);
        if (rc == 0) {
            dns_msg_free(&m);
        }
        free(p);
    }
}
END_TEST

START_TEST(text_numbers)
{
    struct dns_text t = {0};
    dns_text_putu(&t, 0);
    dns_text_putc(&t, ' ');
    dns_text_putu(&t, 42);
    dns_text_putc(&t, ' ');
    dns_text_putu(&t, UINT64_MAX);
    char *s = dns_text_take(&t);
    ck_assert_str_eq(s, "0 42 18446744073709551615");
    free(s);
}
END_TEST

START_TEST(names_of_codes)
{
    char b[24];
    ck_assert_str_eq(dns_type_str(1, b), "A");
    ck_assert_str_eq(dns_type_str(23, b), "NSAP-PTR");
    ck_assert_str_eq(dns_type_str(65280, b), "65280");
    ck_assert_str_eq(dns_class_str(1, b), "IN");
    ck_assert_str_eq(dns_class_str(77, b), "77");
    ck_assert_str_eq(dns_opcode_str(5, b), "UPDATE");
    ck_assert_str_eq(dns_opcode_str(9, b), "9");
    ck_assert_str_eq(dns_rcode_str(3, b), "NXDOMAIN");
    ck_assert_str_eq(dns_rcode_str(12, b), "Unknown 12");
}
END_TEST

START_TEST(public_suffix)
{
    ck_assert_str_eq(dns_etld_plus_one("www.example.com"), "example.com");
    ck_assert_str_eq(dns_etld_plus_one("a.b.example.co.uk"), "example.co.uk");
    ck_assert_str_eq(dns_etld_plus_one("host.example.unknowntld"), "example.unknowntld");
    ck_assert_ptr_null(dns_etld_plus_one("com"));
    ck_assert_ptr_null(dns_etld_plus_one("co.uk"));
    ck_assert_ptr_null(dns_etld_plus_one(""));
    ck_assert_ptr_null(dns_etld_plus_one("a..com"));
#ifdef PB_HAVE_PSL
    /* private section of the list */
    ck_assert_str_eq(dns_etld_plus_one("www.foo.blogspot.com"), "foo.blogspot.com");
    ck_assert_str_eq(dns_etld_plus_one("131.252.30.192.in-addr.arpa"), "192.in-addr.arpa");
#endif
}
END_TEST

/* Our walk over the list must give exactly what libpsl gives: many names,
   with shared parents, case variants, odd bytes, trailing dots, long names
   and names of many labels, asked in a random order several times over
   (tests/protos/test_dns_psl.c has more). */
static uint32_t psl_rnd_state = 2463534242u;

static uint32_t psl_rnd(void)
{
    uint32_t x = psl_rnd_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return psl_rnd_state = x;
}

static void psl_check(const char *name)
{
    const char *want = dns_etld_plus_one_uncached(name);
    const char *got = dns_etld_plus_one(name);
    ck_assert_msg(got == want, "%s: walked %s, libpsl %s", name, got != NULL ? got : "(none)",
                  want != NULL ? want : "(none)");
}

START_TEST(public_suffix_walk)
{
    static const char *const fixed[] = {
        "",
        ".",
        "..",
        "com",
        ".com",
        "com.",
        "example.com.",
        "a..example.com",
        "co.uk",
        "uk",
        "forgot.his.name",
        "his.name",
        "x.forgot.his.name",
        "www.ck",
        "a.www.ck",
        "b.ck",
        "a.b.ck",
        "city.kawasaki.jp",
        "a.city.kawasaki.jp",
        "b.kawasaki.jp",
        "a.b.kawasaki.jp",
        "131.252.30.192.in-addr.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "a.b.c.d.e.f.g.h.i.j.example.com",
        "b.c.d.e.f.g.h.example.com",
        "c.d.e.f.g.h.example.com",
        "\xe9\xa3\x9f\xe7\x8b\xae.com.cn",
        "www.\xe9\xa3\x9f\xe7\x8b\xae.\xe5\x85\xac\xe5\x8f\xb8.cn",
        "www.xn--85x722f.xn--55qx5d.cn",
        "\xff\xfe.com",
        "a\x01b.example.org",
        "WWW.Example.CO.UK",
        "www.example.co.uk",
        "Www.Example.Co.Uk",
        "x.github.io",
        "y.x.github.io",
    };
    static const char *const tails[] = {
        "com",          "co.uk",       "uk",
        "blogspot.com", "kawasaki.jp", "city.kawasaki.jp",
        "ck",           "www.ck",      "in-addr.arpa",
        "ip6.arpa",     "his.name",    "name",
        "com.cn",       "unknowntld",  "s3.amazonaws.com",
        "COM",          "github.io",   "\xe5\x85\xac\xe5\x8f\xb8.cn",
        "bd",           "com.bd",      "Co.Uk",
    };
    static const char *const heads[] = {
        "www",
        "a",
        "b.c",
        "WWW",
        "x-y",
        "forgot",
        "city",
        "1.2.3",
        "\xc3\xa9t\xc3\xa9",
        "\xff",
        "m.n.o.p.q.r.s",
        "",
    };
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEZ0123456789-";
    enum { NNAMES = 4000, NLEN = 96 };
    const size_t nfixed = sizeof fixed / sizeof fixed[0];
    char(*names)[NLEN] = malloc((size_t)NNAMES * NLEN);
    ck_assert_ptr_nonnull(names);
    for (size_t i = 0; i < NNAMES; i++) {
        if (i < nfixed) {
            snprintf(names[i], NLEN, "%s", fixed[i]);
            continue;
        }
        /* a few hundred middles, so that parents repeat */
        char mid[24];
        uint32_t m = psl_rnd() % 300, ml = 1 + m % 20;
        for (uint32_t j = 0; j < ml; j++) {
            mid[j] = alpha[(m * 7 + j * 13) % (sizeof alpha - 1)];
        }
        mid[ml] = '\0';
        const char *hd = heads[psl_rnd() % (sizeof heads / sizeof heads[0])];
        const char *tl = tails[psl_rnd() % (sizeof tails / sizeof tails[0])];
        uint32_t form = psl_rnd() % 16;
        if (form == 0) {
            snprintf(names[i], NLEN, "%s", mid); /* a single label */
        } else if (form == 1) {
            snprintf(names[i], NLEN, "%s.%s", mid, tl);
        } else if (form == 2) {
            snprintf(names[i], NLEN, "%s.%s.", mid, tl); /* trailing dot */
        } else if (form == 3) {
            /* long */
            snprintf(names[i], NLEN, "%s%s%s.%s", mid, mid, "-long-long-long-long-long-long", tl);
        } else {
            snprintf(names[i], NLEN, "%s%s%s.%s", hd, *hd != '\0' ? "." : "", mid, tl);
        }
    }
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < NNAMES; i++) {
            psl_check(names[psl_rnd() % NNAMES]);
        }
        for (size_t i = 0; i < NNAMES; i++) {
            psl_check(names[i]);
        }
        if (round == 1) {
            dns_psl_release(); /* the list is loaded anew */
        }
    }
    /* a pointer into the name asked */
    char a[] = "www.example.co.uk", b[] = "www.example.co.uk";
    ck_assert_ptr_eq(dns_etld_plus_one(a), a + 4);
    ck_assert_ptr_eq(dns_etld_plus_one(b), b + 4);
    free(names);
}
END_TEST

/* ------------------------------------------------------------------ */
/* UDP transactions */

START_TEST(udp_request_response)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf q, r;
    mk_query(&q, 0x1234, "www.elastic.co", 1);
    mk_a_response(&r, 0x1234, "www.elastic.co");
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 5000000);
    pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "dns");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "udp");
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "dns");
    ck_assert_str_eq(pt_str(t, 0, "method"), "QUERY");
    ck_assert_str_eq(pt_str(t, 0, "query"), "class IN, type A, www.elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "www.elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    ck_assert_int_eq(pt_int(t, 0, "client.port"), 40000);
    ck_assert_str_eq(pt_str(t, 0, "server.ip"), "10.0.0.2");
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 53);
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)q.n);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)r.n);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 5000000);
    ck_assert_int_eq(pt_int(t, 0, "dns.id"), 0x1234);
    ck_assert_str_eq(pt_str(t, 0, "dns.type"), "answer");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.name"), "www.elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.registered_domain"), "elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.etld_plus_one"), "elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.top_level_domain"), "co");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.subdomain"), "www");
    ck_assert_int_eq(pt_int(t, 0, "dns.answers_count"), 2);
    ck_assert_str_eq(pt_str(t, 0, "dns.answers.0.data"), "10.1.2.3");
    ck_assert_str_eq(pt_str(t, 0, "dns.answers.0.ttl"), "300");
    ck_assert_str_eq(pt_str(t, 0, "dns.answers.0.type"), "A");
    ck_assert_str_eq(pt_str(t, 0, "dns.answers.0.class"), "IN");
    ck_assert_str_eq(pt_str(t, 0, "dns.answers.0.name"), "www.elastic.co");
    ck_assert_str_eq(pt_str(t, 0, "dns.resolved_ip.1"), "10.1.2.4");
    ck_assert_str_eq(pt_str(t, 0, "related.ip.2"), "10.1.2.3");
    ck_assert_str_eq(pt_str(t, 0, "dns.header_flags.0"), "RD");
    ck_assert_str_eq(pt_str(t, 0, "dns.header_flags.1"), "RA");
    ck_assert(json_is_true(pt_field(t, 0, "dns.flags.recursion_desired")));
    ck_assert(json_is_false(pt_field(t, 0, "dns.flags.authoritative")));
    ck_assert_int_eq(pt_int(t, 0, "dns.authorities_count"), 0);
    ck_assert_int_eq(pt_int(t, 0, "dns.additionals_count"), 0);
    ck_assert_ptr_null(pt_field(t, 0, "error.message"));
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    ck_assert_ptr_nonnull(pt_field(t, 0, "network.community_id"));
    pt_close(t);
}
END_TEST

START_TEST(udp_send_request_response_text)
{
    struct pt_conn *t =
        open_udp("ports: [53]\nsend_request: true\nsend_response: true\ninclude_authorities: true");
    struct pt_buf q, r;
    mk_query(&q, 5, "example.com", 15);
    pt_dns_hdr(&r, 5, QR_RD_RA, 1, 1, 1, 0);
    question(&r, "example.com", 15);
    rr_ptr(&r, 15, 60, 9);
    pt_be16(&r, 10);
    pt_put(&r, "\x04mail\xc0\x0c", 7);
    rr_ptr(&r, 6, 60, 5 + 4 + 20);
    pt_put(&r, "\x02ns\xc0\x0c", 5);
    pt_put(&r, "\x01h\xc0\x0c", 4);
    for (int i = 0; i < 5; i++) {
        pt_be32(&r, 7);
    }
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "request"),
                     "ID 5; QR query; OPCODE QUERY; FLAGS rd; RCODE NOERROR; "
                     "QUESTION class IN, type MX, example.com");
    ck_assert_str_eq(pt_str(t, 0, "response"),
                     "ID 5; QR response; OPCODE QUERY; FLAGS rd ra; RCODE NOERROR; "
                     "QUESTION class IN, type MX, example.com; ANSWER mail.example.com; "
                     "AUTHORITY rname h.example.com, ns.example.com");
    ck_assert_int_eq(pt_int(t, 0, "dns.answers.0.preference"), 10);
    ck_assert_str_eq(pt_str(t, 0, "dns.authorities.0.type"), "SOA");
    ck_assert_int_eq(pt_int(t, 0, "dns.authorities.0.expire"), 7);
    pt_close(t);
}
END_TEST

START_TEST(udp_orphan_response)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf r;
    mk_a_response(&r, 77, "example.com");
    pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "Response: received without an associated Query");
    /* the event still goes client -> server */
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 53);
    ck_assert_ptr_null(pt_field(t, 0, "source.bytes"));
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)r.n);
    ck_assert_ptr_null(pt_field(t, 0, "event.start"));
    ck_assert_ptr_nonnull(pt_field(t, 0, "event.end"));
    ck_assert_str_eq(pt_str(t, 0, "query"), "class IN, type A, example.com");
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    pt_close(t);
}
END_TEST

START_TEST(udp_duplicate_request)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf q;
    mk_query(&q, 11, "example.com", 1);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), DNS_NOTE_DUPLICATE);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "dns.type"), "query");
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));
    pt_close(t);
}
END_TEST

START_TEST(udp_timeout_and_shutdown)
{
    struct pt_conn *t = open_udp("ports: [53]\ntransaction_timeout: 2s");
    struct pt_buf q;
    mk_query(&q, 12, "example.com", 1);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_tick(t, pb_now_ns());
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 3000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "No response to this query was received");

    /* pending at the end of a pcap: dropped silently */
    mk_query(&q, 13, "example.com", 1);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_shutdown(t);
    pt_tick(t, pb_now_ns() + 3000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(udp_edns_notes)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf q, r;
    pt_dns_hdr(&q, 20, RD, 1, 0, 0, 1);
    question(&q, "example.com", 1);
    pt_u8(&q, 0);
    pt_be16(&q, 41);
    pt_be16(&q, 4096);
    pt_be32(&q, 0);
    pt_be16(&q, 0);
    mk_a_response(&r, 20, "example.com");
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Responder does not support EDNS");
    /* the status follows the response code only */
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(udp_many_notes_are_a_list)
{
    struct pt_conn *t = open_udp(NULL);
    /* orphaned, non-EDNS response larger than 512 bytes */
    struct pt_buf r;
    pt_dns_hdr(&r, 21, QR_RD_RA, 1, 40, 0, 0);
    question(&r, "example.com", 16);
    for (int i = 0; i < 40; i++) {
        rr_ptr(&r, 16, 1, 11);
        pt_put(&r,
               "\x0a"
               "0123456789",
               11);
    }
    ck_assert_uint_gt(r.n, 512);
    pt_datagram(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    json_t *msgs = pt_field(t, 0, "error.message");
    ck_assert(json_is_array(msgs));
    ck_assert_uint_eq(json_array_size(msgs), 2);
    ck_assert_str_eq(pt_str(t, 0, "error.message.1"),
                     "Response: Non-EDNS packet has size greater than 512");
    pt_close(t);
}
END_TEST

START_TEST(udp_garbage_ignored)
{
    struct pt_conn *t = open_udp(NULL);
    static const uint8_t junk[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    pt_datagram(t, PB_DIR_TO_SERVER, junk, sizeof junk);
    pt_datagram(t, PB_DIR_TO_SERVER, junk, 0);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 2);
    /* random bytes must never crash */
    srand(42);
    for (int i = 0; i < 3000; i++) {
        uint8_t b[128];
        size_t n = (size_t)(rand() % (int)sizeof b);
        for (size_t k = 0; k < n; k++) {
            b[k] = (uint8_t)rand();
        }
        if (n > 4 && i % 2 == 0) {
            b[4] = 0;
            b[5] = 1; /* one question */
        }
        pt_datagram(t, (enum pb_dir)(i % 2), b, n);
    }
    pt_close(t);
}
END_TEST

START_TEST(event_subdomain_absent_for_registered_name)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf q;
    mk_query(&q, 30, "example.com", 1);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    mk_query(&q, 30, "example.com", 1);
    pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n); /* duplicate: publishes the first */
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "dns.question.registered_domain"), "example.com");
    ck_assert_ptr_null(pt_field(t, 0, "dns.question.subdomain"));
    pt_close(t);
}
END_TEST

/* A name of two labels of 60 bytes 0x01 and "com": its presentation form
 * ("\001" for each byte) makes the query text longer than 320 bytes. */
static void long_name(struct pt_buf *m)
{
    for (int l = 0; l < 2; l++) {
        pt_u8(m, 60);
        for (int i = 0; i < 60; i++) {
            pt_u8(m, 1);
        }
    }
    pt_put(m,
           "\x03"
           "com\x00",
           5);
}

/* Unknown opcode, rcode, type and class (their numbers), all six header
 * flags, more answer addresses than a list made at once holds, and a query
 * text past the stack buffer. */
START_TEST(event_codes_lists_and_long_query)
{
    struct pt_buf q, r;
    pt_dns_hdr(&q, 0x42, 0x1800 | RD, 1, 0, 0, 0); /* opcode 3 */
    long_name(&q);
    pt_be16(&q, 999);
    pt_be16(&q, 7);
    pt_dns_hdr(&r, 0x42, 0x8000 | 0x1800 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 0x0020 | 0x0010 | 12,
               1, 21, 0, 0);
    long_name(&r);
    pt_be16(&r, 999);
    pt_be16(&r, 7);
    for (int i = 0; i < 20; i++) {
        rr_ptr(&r, 1, 60, 4);
        pt_u8(&r, 10);
        pt_u8(&r, 0);
        pt_u8(&r, (uint8_t)(i / 10));
        pt_u8(&r, (uint8_t)(i % 10));
    }
    pt_be16(&r, 0xc00c);
    pt_be16(&r, 999);
    pt_be16(&r, 7);
    pt_be32(&r, 5);
    pt_be16(&r, 2);
    pt_put(&r, "\xab\xcd", 2);

    struct dns_msg req, resp;
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &req), 0);
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &resp), 0);
    struct pb_tuple tu = udp_tuple("192.168.0.1", "192.168.0.2", 5353);
    struct dns_event_in in = {.tuple = &tu,
                              .req = &req,
                              .resp = &resp,
                              .req_ts_ns = 1000000000,
                              .resp_ts_ns = 1002000000};
    pb_event *ev = dns_event_build(&in);
    ck_assert_ptr_nonnull(ev);
    json_t *tree = pt_arena_encodes_as_tree(ev);

    char name[512] = "";
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < 60; i++) {
            strcat(name, "\\001");
        }
        strcat(name, ".");
    }
    strcat(name, "com");
    char query[600];
    snprintf(query, sizeof query, "class 7, type 999, %s", name);
    ck_assert_str_eq(pt_tree_str(tree, "query"), query);
    ck_assert_str_eq(pt_tree_str(tree, "resource"), name);
    ck_assert_str_eq(pt_tree_str(tree, "method"), "3");
    ck_assert_str_eq(pt_tree_str(tree, "dns.op_code"), "3");
    ck_assert_str_eq(pt_tree_str(tree, "dns.response_code"), "Unknown 12");
    ck_assert_str_eq(pt_tree_str(tree, "dns.question.type"), "999");
    ck_assert_str_eq(pt_tree_str(tree, "dns.question.class"), "7");
    static const char *const flags[] = {"AA", "TC", "RD", "RA", "AD", "CD"};
    json_t *hf = json_object_get(json_object_get(tree, "dns"), "header_flags");
    ck_assert_uint_eq(json_array_size(hf), 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_str_eq(json_string_value(json_array_get(hf, i)), flags[i]);
    }
    json_t *ips = json_object_get(json_object_get(tree, "dns"), "resolved_ip");
    ck_assert_uint_eq(json_array_size(ips), 20);
    for (int i = 0; i < 20; i++) {
        char ip[32], path[64];
        snprintf(ip, sizeof ip, "10.0.%d.%d", i / 10, i % 10);
        ck_assert_str_eq(json_string_value(json_array_get(ips, (size_t)i)), ip);
        snprintf(path, sizeof path, "related.ip.%d", i + 2);
        ck_assert_str_eq(pt_tree_str(tree, path), ip);
        snprintf(path, sizeof path, "dns.answers.%d.data", i);
        ck_assert_str_eq(pt_tree_str(tree, path), ip);
    }
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.20.type"), "999");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.20.class"), "7");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.20.ttl"), "5");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.20.data"), "\\171\\205");
    pb_ev_free(ev);
    dns_msg_free(&req);
    dns_msg_free(&resp);
}
END_TEST

/* A few AAAA answers: the address list made at once; no header flags, and
 * the request/response texts and EDNS fields. */
START_TEST(event_short_lists_and_texts)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 7, 0x8000, 1, 3, 0, 1);
    question(&r, "www.example.org", 28);
    rr_ptr(&r, 28, 30, 16);
    pt_put(&r, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    rr_ptr(&r, 28, 30, 16);
    pt_put(&r, "\0\x01\0\0\0\0\0\x01\0\0\0\0\0\0\0\x01", 16);
    rr_ptr(&r, 28, 30, 16);
    pt_put(&r, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    /* OPT: udp size 1232, DO */
    pt_u8(&r, 0);
    pt_be16(&r, 41);
    pt_be16(&r, 1232);
    pt_be32(&r, 0x8000);
    pt_be16(&r, 0);
    struct dns_msg resp;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &resp), 0);
    struct pb_tuple tu = udp_tuple("fd00::1", "fd00::2", 40000);
    struct dns_event_in in = {
        .tuple = &tu, .resp = &resp, .resp_ts_ns = 1000000000, .send_response = true};
    in.notes[in.nnotes++] = DNS_NOTE_ORPHANED;
    pb_event *ev = dns_event_build(&in);
    ck_assert_ptr_nonnull(ev);
    json_t *tree = pt_arena_encodes_as_tree(ev);
    ck_assert_ptr_null(json_object_get(json_object_get(tree, "dns"), "header_flags"));
    static const char *const ips[] = {"2001:db8::1", "1:0:0:1::1", "::"};
    json_t *list = json_object_get(json_object_get(tree, "dns"), "resolved_ip");
    ck_assert_uint_eq(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(json_string_value(json_array_get(list, i)), ips[i]);
    }
    ck_assert_str_eq(pt_tree_str(tree, "dns.opt.version"), "0");
    ck_assert_str_eq(pt_tree_str(tree, "dns.opt.ext_rcode"), "NOERROR");
    ck_assert(
        json_is_true(json_object_get(json_object_get(json_object_get(tree, "dns"), "opt"), "do")));
    ck_assert_str_eq(pt_tree_str(tree, "error.message"), DNS_NOTE_ORPHANED);
    ck_assert_str_eq(pt_tree_str(tree, "response"),
                     "ID 7; QR response; OPCODE QUERY; FLAGS ; RCODE NOERROR; "
                     "QUESTION class IN, type AAAA, www.example.org; "
                     "ANSWER 2001:db8::1; 1:0:0:1::1; ::; ADDITIONAL ");
    pb_ev_free(ev);
    dns_msg_free(&resp);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCP */

static void tcp_pair(struct pt_buf *qf, struct pt_buf *rf, uint16_t id)
{
    struct pt_buf q, r;
    mk_query(&q, id, "www.example.com", 1);
    mk_a_response(&r, id, "www.example.com");
    tcp_frame(qf, &q);
    tcp_frame(rf, &r);
}

static void check_tcp_event(struct pt_conn *t, size_t i, const struct pt_buf *qf,
                            const struct pt_buf *rf)
{
    ck_assert_str_eq(pt_str(t, i, "network.transport"), "tcp");
    ck_assert_str_eq(pt_str(t, i, "status"), "OK");
    ck_assert_int_eq(pt_int(t, i, "source.bytes"), (int64_t)qf->n);
    ck_assert_int_eq(pt_int(t, i, "destination.bytes"), (int64_t)rf->n);
    ck_assert_int_eq(pt_int(t, i, "dns.answers_count"), 2);
    ck_assert_str_eq(pt_str(t, i, "query"), "class IN, type A, www.example.com");
    ck_assert_ptr_null(pt_field(t, i, "error.message"));
}

START_TEST(tcp_whole)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 100);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n), PB_PARSE_OK);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_CLIENT, rf.b, rf.n), PB_PARSE_OK);
    ck_assert_uint_eq(pt_nevents(t), 1);
    check_tcp_event(t, 0, &qf, &rf);
    pt_close(t);
}
END_TEST

START_TEST(tcp_byte_by_byte)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 101);
    for (size_t i = 0; i < qf.n; i++) {
        pt_feed(t, PB_DIR_TO_SERVER, qf.b + i, 1);
    }
    for (size_t i = 0; i < rf.n; i++) {
        ck_assert_uint_eq(pt_nevents(t), 0);
        pt_feed(t, PB_DIR_TO_CLIENT, rf.b + i, 1);
    }
    ck_assert_uint_eq(pt_nevents(t), 1);
    check_tcp_event(t, 0, &qf, &rf);
    pt_close(t);
}
END_TEST

START_TEST(tcp_split_anywhere)
{
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 102);
    for (size_t cut = 1; cut < rf.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
        pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
        pt_feed(t, PB_DIR_TO_CLIENT, rf.b, cut);
        pt_feed(t, PB_DIR_TO_CLIENT, rf.b + cut, rf.n - cut);
        ck_assert_uint_eq(pt_nevents(t), 1);
        check_tcp_event(t, 0, &qf, &rf);
        pt_close(t);
    }
}
END_TEST

START_TEST(tcp_two_messages_one_segment)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf q1, r1, q2, r2, both;
    tcp_pair(&q1, &r1, 1);
    tcp_pair(&q2, &r2, 2);
    both.n = 0;
    pt_put(&both, q1.b, q1.n);
    pt_put(&both, q2.b, q2.n);
    pt_feed(t, PB_DIR_TO_SERVER, both.b, both.n);
    both.n = 0;
    pt_put(&both, r1.b, r1.n);
    pt_put(&both, r2.b, r2.n);
    pt_feed(t, PB_DIR_TO_CLIENT, both.b, both.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_int_eq(pt_int(t, 0, "dns.id"), 1);
    ck_assert_int_eq(pt_int(t, 1, "dns.id"), 2);
    pt_close(t);
}
END_TEST

START_TEST(tcp_axfr_multi_message)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf q, r, f;
    mk_query(&q, 0, "example.com", 252);
    tcp_frame(&f, &q);
    pt_feed(t, PB_DIR_TO_SERVER, f.b, f.n);
    for (int part = 0; part < 2; part++) {
        pt_dns_hdr(&r, 0, 0x8080, 1, 1, 0, 0);
        question(&r, "example.com", 252);
        rr_ptr(&r, 1, 60, 4);
        pt_put(&r, "\x01\x01\x01\x01", 4);
        tcp_frame(&f, &r);
        pt_feed(t, PB_DIR_TO_CLIENT, f.b, f.n);
    }
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "dns.question.type"), "AXFR");
    ck_assert_str_eq(pt_str(t, 1, "error.message"),
                     "Response: received without an associated Query");
    pt_close(t);
}
END_TEST

START_TEST(tcp_zero_length_response)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 103);
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
    static const uint8_t zero[] = {0, 0, 1, 2};
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_CLIENT, zero, sizeof zero), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Response: Message's length was set to zero");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)qf.n);
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    pt_close(t);

    /* a zero-length request publishes nothing */
    t = pt_open(&pb_proto_dns, "ports: [53]");
    pt_feed(t, PB_DIR_TO_SERVER, zero, sizeof zero);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(tcp_non_dns_response)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 104);
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
    static const uint8_t bad[] = {0, 2, 1, 2};
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_CLIENT, bad, sizeof bad), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "Response: Message's data could not be decoded as DNS");
    pt_close(t);
}
END_TEST

START_TEST(tcp_fin_mid_response)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 105);
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
    pt_feed(t, PB_DIR_TO_CLIENT, rf.b, 10);
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Response: Message's data is incomplete");
    ck_assert_ptr_null(pt_field(t, 0, "dns.answers"));
    pt_close(t);
}
END_TEST

START_TEST(tcp_gap_mid_response)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 106);
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
    pt_feed(t, PB_DIR_TO_CLIENT, rf.b, 10);
    ck_assert(pb_proto_dns.on_gap(pt_pbconn(t), PB_DIR_TO_CLIENT, 10));
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Response: Message's data is incomplete");
    pt_close(t);

    /* a gap in a request drops it quietly; a gap after a whole message
     * keeps the stream */
    t = pt_open(&pb_proto_dns, "ports: [53]");
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, 10);
    ck_assert(pb_proto_dns.on_gap(pt_pbconn(t), PB_DIR_TO_SERVER, 10));
    pt_fin(t, PB_DIR_TO_SERVER);
    pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
    ck_assert(!pb_proto_dns.on_gap(pt_pbconn(t), PB_DIR_TO_SERVER, 10));
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(tcp_truncated_variants)
{
    struct pt_buf qf, rf;
    tcp_pair(&qf, &rf, 107);
    for (size_t cut = 0; cut < rf.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
        pt_feed(t, PB_DIR_TO_SERVER, qf.b, qf.n);
        /* announce the full length but corrupt one byte */
        struct pt_buf bad = rf;
        bad.b[cut] ^= 0xff;
        pt_feed(t, PB_DIR_TO_CLIENT, bad.b, bad.n);
        pt_fin(t, PB_DIR_TO_CLIENT);
        ck_assert_uint_le(pt_nevents(t), 2);
        pt_close(t);
    }
}
END_TEST

START_TEST(tcp_garbage_stream)
{
    struct pt_conn *t = pt_open(&pb_proto_dns, "ports: [53]");
    srand(7);
    for (int i = 0; i < 2000; i++) {
        uint8_t b[64];
        size_t n = 1 + (size_t)(rand() % (int)sizeof b);
        for (size_t k = 0; k < n; k++) {
            b[k] = (uint8_t)rand();
        }
        enum pb_dir d = (enum pb_dir)(rand() % 2);
        pt_feed(t, d, b, n);
        if (i % 97 == 0) {
            pt_gap(t, d, 5);
        }
        if (i % 211 == 0) {
            pt_fin(t, d);
        }
    }
    pt_close(t);
}
END_TEST

START_TEST(table_is_bounded)
{
    struct pt_conn *t = open_udp(NULL);
    struct pt_buf q;
    /* more pending requests than the table holds: the oldest go out */
    for (unsigned i = 0; i < 9000; i++) { /* DNS_MAX_PENDING is 8192 */
        mk_query(&q, (uint16_t)i, "example.com", 1);
        pt_datagram(t, PB_DIR_TO_SERVER, q.b, q.n);
    }
    ck_assert_uint_gt(pt_nevents(t), 0);
    ck_assert_uint_lt(pt_nevents(t), 1000);
    pt_close(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* dns.* in one pass against the section writer, on random messages */

static uint32_t gen_state = 88172645u;

static uint32_t gen(uint32_t n)
{
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 17;
    gen_state ^= gen_state << 5;
    return n != 0 ? gen_state % n : gen_state;
}

/* A name of 1-4 labels under a suffix the public suffix list knows (or
   not); now and then a byte the parser escapes (a name that is not plain)
   or a label long enough to overflow the section's text. */
static void gen_name(struct pt_buf *m)
{
    static const char *const tld[] = {"com", "co.uk", "de", "example", "github.io", "xn--p1ai"};
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    unsigned labels = 1 + gen(4);
    for (unsigned i = 0; i < labels; i++) {
        unsigned len = gen(40) == 0 ? 63 : 1 + gen(12);
        pt_u8(m, len);
        for (unsigned k = 0; k < len; k++) {
            unsigned c = (unsigned char)alpha[gen(sizeof alpha - 1)];
            if (gen(300) == 0) {
                static const unsigned odd[] = {' ', '"', '\\', 0x01, 0xff, '.'};
                c = odd[gen(6)];
            }
            pt_u8(m, c);
        }
    }
    const char *t = tld[gen(6)];
    while (*t != '\0') {
        const char *dot = strchr(t, '.');
        size_t l = dot != NULL ? (size_t)(dot - t) : strlen(t);
        pt_u8(m, (unsigned)l);
        pt_put(m, t, l);
        t += l + (dot != NULL);
    }
    pt_u8(m, 0);
}

/* One record of a random type (its rdata to match), or EDNS. */
static void gen_rr(struct pt_buf *m, bool opt)
{
    if (opt) {
        pt_u8(m, 0);
        pt_be16(m, 41);
        pt_be16(m, 512 + gen(4096));
        pt_be32(m, gen(0) & 0xff00ffffu); /* ext rcode, version 0, DO and zeros */
        if (gen(2) == 0) {
            pt_be16(m, 0);
        } else {
            pt_be16(m, 4 + 5);
            pt_be16(m, 3); /* NSID */
            pt_be16(m, 5);
            pt_put(m, gen(3) == 0 ? "ab\"\\c" : "abcde", 5);
        }
        return;
    }
    static const uint16_t types[] = {1, 28, 5, 2, 12, 15, 6, 16, 33, 999};
    uint16_t type = types[gen(sizeof types / sizeof types[0])];
    static const uint16_t classes[] = {1, 1, 1, 3, 255, 7};
    gen_name(m);
    pt_be16(m, type);
    pt_be16(m, classes[gen(6)]);
    pt_be32(m, gen(5) == 0 ? gen(0) : gen(86400));
    struct pt_buf d = {0};
    switch (type) {
    case 1:
        pt_be32(&d, gen(0));
        break;
    case 28:
        for (int i = 0; i < 4; i++) {
            pt_be32(&d, gen(3) == 0 ? 0 : gen(0));
        }
        break;
    case 15:
        pt_be16(&d, gen(100));
        gen_name(&d);
        break;
    case 6:
        gen_name(&d);
        gen_name(&d);
        for (int i = 0; i < 5; i++) {
            pt_be32(&d, gen(0));
        }
        break;
    case 16:
        for (unsigned n = 1 + gen(2); n > 0; n--) {
            unsigned len = gen(20);
            pt_u8(&d, len);
            for (unsigned k = 0; k < len; k++) {
                pt_u8(&d, gen(10) == 0 ? gen(256) : 'a' + gen(26));
            }
        }
        break;
    case 33:
        pt_be16(&d, gen(10));
        pt_be16(&d, gen(10));
        pt_be16(&d, gen(65536));
        gen_name(&d);
        break;
    case 999:
        for (unsigned len = gen(8); len > 0; len--) {
            pt_u8(&d, gen(256));
        }
        break;
    default: /* CNAME, NS, PTR */
        gen_name(&d);
        break;
    }
    pt_be16(m, (unsigned)d.n);
    pt_put(m, d.b, d.n);
}

static void gen_msg(struct pt_buf *m)
{
    unsigned qd = gen(4) == 0 ? 0 : 1, an = gen(5), ns = gen(3), ar = gen(3);
    bool edns = gen(2) == 0;
    uint16_t flags = (uint16_t)((gen(0) & 0xffffu) | 0x8000u);
    pt_dns_hdr(m, (uint16_t)gen(65536), flags & 0xffbfu, qd, an, ns, ar + edns);
    if (qd > 0) {
        gen_name(m);
        pt_be16(m, gen(2) == 0 ? 1 : gen(300));
        pt_be16(m, gen(4) == 0 ? 3 : 1);
    }
    for (unsigned i = 0; i < an + ns + ar; i++) {
        gen_rr(m, false);
    }
    if (edns) {
        gen_rr(m, true);
    }
}

static char *pair_text(const struct dns_msg *req, const struct dns_msg *resp, bool one_pass,
                       bool auth, bool add)
{
    struct pb_tuple tu = udp_tuple("10.0.0.1", "10.0.0.2", 40000);
    struct dns_event_in in = {.tuple = &tu,
                              .req = req,
                              .req_ts_ns = 500000000,
                              .resp = resp,
                              .resp_ts_ns = 1000000000,
                              .include_authorities = auth,
                              .include_additionals = add};
    dns_event_one_pass = one_pass;
    pb_event *ev = dns_event_build(&in);
    dns_event_one_pass = true;
    ck_assert_ptr_nonnull(ev);
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
    char *s = strndup(b.p, b.len);
    pb_codec_buf_free(&b);
    pb_ev_free(ev);
    return s;
}

static char *event_text(const struct dns_msg *resp, bool one_pass, bool auth, bool add)
{
    return pair_text(NULL, resp, one_pass, auth, add);
}

START_TEST(event_one_pass_is_the_section_writers_text)
{
    unsigned taken = 0, declined = 0, parsed = 0;
    for (int i = 0; i < 4000; i++) {
        struct pt_buf m = {0};
        gen_msg(&m);
        struct dns_msg msg;
        if (dns_msg_parse(m.b, m.n, &msg) != 0) {
            continue;
        }
        parsed++;
        bool auth = gen(2) == 0, add = gen(2) == 0;
        char text[PB_SECW_BYTES + DNS_SECTION_SLACK];
        if (dns_section_json(&msg, auth, add, NULL, text, PB_SECW_BYTES) > 0) {
            taken++;
        } else {
            declined++;
        }
        char *one = event_text(&msg, true, auth, add);
        char *members = event_text(&msg, false, auth, add);
        if (strcmp(one, members) != 0) {
            ck_abort_msg("message %d:\n one pass: %s\n members:  %s", i, one, members);
        }
        free(one);
        free(members);
        dns_msg_free(&msg);
    }
    /* both ways were tried: most messages in one pass, some declined */
    ck_assert_uint_gt(parsed, 3000);
    ck_assert_uint_gt(taken, parsed / 2);
    ck_assert_uint_gt(declined, 50);
}
END_TEST

/* dns_section_json into buffers cut at every length: 0 when the text does
 * not fit, the text when it fits with room (a number asks for 20 bytes),
 * and nothing written past the cut and its slack (the guard bytes after
 * them stay). */
START_TEST(section_json_at_every_cap)
{
    enum { GUARD = 64 };
    static char full[PB_SECW_BYTES + DNS_SECTION_SLACK];
    static char buf[PB_SECW_BYTES + 24 + DNS_SECTION_SLACK + GUARD];
    unsigned tried = 0;
    for (int i = 0; i < 300; i++) {
        struct pt_buf m = {0};
        gen_msg(&m);
        struct dns_msg msg;
        if (dns_msg_parse(m.b, m.n, &msg) != 0) {
            continue;
        }
        bool auth = gen(2) == 0, add = gen(2) == 0;
        size_t len = dns_section_json(&msg, auth, add, NULL, full, PB_SECW_BYTES);
        for (size_t cap = 0; len > 0 && cap <= len + 24; cap++) {
            memset(buf + cap + DNS_SECTION_SLACK, 0xa5, GUARD);
            size_t got = dns_section_json(&msg, auth, add, NULL, buf, cap);
            for (size_t k = cap + DNS_SECTION_SLACK; k < cap + DNS_SECTION_SLACK + GUARD; k++) {
                ck_assert_msg((uint8_t)buf[k] == 0xa5, "message %d, cap %zu: byte %zu written", i,
                              cap, k);
            }
            if (cap < len) {
                ck_assert_uint_eq(got, 0);
            } else if (got != 0 || cap >= len + 20) { /* a number wants room for 20 */
                ck_assert_uint_eq(got, len);
                ck_assert(memcmp(buf, full, len) == 0);
            }
            tried++;
        }
        dns_msg_free(&msg);
    }
    ck_assert_uint_gt(tried, 10000);
}
END_TEST

/* The lengths and plain flags the parser gives with its texts. */
static void check_texts(const struct dns_msg *m)
{
    for (size_t i = 0; i < m->nq; i++) {
        ck_assert_uint_eq(m->q[i].name_len, strlen(m->q[i].name));
        ck_assert(m->q[i].name_plain == (strchr(m->q[i].name, '\\') == NULL));
    }
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < m->nrr[s]; i++) {
            const struct dns_rr *rr = &m->rr[s][i];
            ck_assert_uint_eq(rr->name_len, strlen(rr->name));
            ck_assert(rr->name_plain == (strchr(rr->name, '\\') == NULL));
            if (rr->data == NULL) {
                ck_assert_uint_eq(rr->data_len, 0);
                continue;
            }
            ck_assert_uint_eq(rr->data_len, strlen(rr->data));
            if (rr->data_plain) {
                ck_assert(pb_json_plain(rr->data, rr->data_len));
            }
        }
    }
}

/* dns.c parses a response with only the sections its event shows, a
 * request answered with only its questions, both in a scratch: the same
 * event and texts as the whole message parsed on its own. */
START_TEST(parse_in_keeps_what_the_event_shows)
{
    unsigned spilled = 0;
    for (int i = 0; i < 3000; i++) {
        struct pt_buf m = {0};
        gen_msg(&m);
        struct dns_msg full;
        if (dns_msg_parse(m.b, m.n, &full) != 0) {
            continue;
        }
        check_texts(&full);
        bool auth = gen(2) == 0, add = gen(2) == 0;
        unsigned keep = (auth ? DNS_KEEP_AUTHORITIES : 0u) | (add ? DNS_KEEP_ADDITIONALS : 0u);
        /* a scratch of any size: the rest goes to the heap */
        size_t cap = gen(2) == 0 ? DNS_SCRATCH : 16 * (1 + gen(24));
        _Alignas(16) unsigned char scratch[DNS_SCRATCH];
        struct dns_msg part;
        ck_assert_int_eq(dns_msg_parse_in(m.b, m.n, &part, keep, scratch, cap), 0);
        check_texts(&part);
        spilled += cap < DNS_SCRATCH && m.n > cap;
        ck_assert_uint_eq(part.nrr[DNS_ANSWER], full.nrr[DNS_ANSWER]);
        ck_assert_uint_eq(part.nrr[DNS_AUTHORITY], auth ? full.nrr[DNS_AUTHORITY] : 0);
        ck_assert_uint_eq(part.nrr[DNS_ADDITIONAL], add ? full.nrr[DNS_ADDITIONAL] : 0);
        for (int s = 0; s < 3; s++) {
            ck_assert_uint_eq(part.count[s], full.count[s]);
        }
        char *a = event_text(&full, true, auth, add);
        char *b = event_text(&part, true, auth, add);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        dns_msg_free(&part);

        struct dns_msg q;
        ck_assert_int_eq(dns_msg_parse_in(m.b, m.n, &q, DNS_KEEP_QUESTIONS, scratch, cap), 0);
        check_texts(&q);
        ck_assert_uint_eq(q.id, full.id);
        ck_assert_uint_eq(q.opcode, full.opcode);
        ck_assert_uint_eq(q.nq, full.nq);
        for (size_t k = 0; k < q.nq; k++) {
            ck_assert_str_eq(q.q[k].name, full.q[k].name);
            ck_assert_uint_eq(q.q[k].qtype, full.q[k].qtype);
            ck_assert_uint_eq(q.q[k].qclass, full.q[k].qclass);
        }
        ck_assert_uint_eq(q.count[0] + q.count[1] + q.count[2], 0);
        ck_assert(!q.opt.present);
        /* as the request of a transaction */
        a = pair_text(&full, &full, true, auth, add);
        b = pair_text(&q, &full, true, auth, add);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        dns_msg_free(&q);
        dns_msg_free(&full);
    }
    ck_assert_uint_gt(spilled, 100);
}
END_TEST

/* The first question's name as a twin message spells it (dns.c: the
 * response for its request): the same message decoded as without a twin,
 * whether the twin is the same bytes, a copy with a byte changed or
 * another message; its text taken only when the bytes are the same. */
static void check_same_questions(const struct dns_msg *a, const struct dns_msg *b)
{
    ck_assert_uint_eq(a->id, b->id);
    ck_assert_uint_eq(a->nq, b->nq);
    for (size_t k = 0; k < a->nq; k++) {
        ck_assert_str_eq(a->q[k].name, b->q[k].name);
        ck_assert_uint_eq(a->q[k].name_len, b->q[k].name_len);
        ck_assert(a->q[k].name_plain == b->q[k].name_plain);
        ck_assert_uint_eq(a->q[k].qtype, b->q[k].qtype);
        ck_assert_uint_eq(a->q[k].qclass, b->q[k].qclass);
    }
    for (int s = 0; s < 3; s++) {
        ck_assert_uint_eq(a->count[s], b->count[s]);
        ck_assert_uint_eq(a->nrr[s], b->nrr[s]);
    }
}

START_TEST(parse_twin_takes_only_the_same_name)
{
    unsigned taken = 0, refused = 0;
    for (int i = 0; i < 4000; i++) {
        struct pt_buf m = {0}, o = {0};
        gen_msg(&m);
        unsigned kind = gen(3);
        if (kind == 0) {
            pt_put(&o, m.b, m.n); /* the same bytes */
        } else if (kind == 1) {
            pt_put(&o, m.b, m.n); /* a byte changed, often in the name */
            size_t at = gen(4) != 0 && m.n > 16 ? 12 + gen(4) : gen((uint32_t)m.n);
            o.b[at < o.n ? at : 0] ^= (uint8_t)(1 + gen(255));
        } else {
            gen_msg(&o); /* another message */
        }
        struct dns_msg twin;
        if (dns_msg_parse(o.b, o.n, &twin) != 0) {
            continue;
        }
        unsigned keep = gen(2) == 0 ? DNS_KEEP_QUESTIONS : DNS_KEEP_ALL;
        struct dns_twin tw = {o.b, o.n, &twin};
        struct dns_msg want, got;
        int rw = dns_msg_parse_in(m.b, m.n, &want, keep, NULL, 0);
        int rg = dns_msg_parse_twin(m.b, m.n, &got, keep, NULL, 0, &tw);
        ck_assert_int_eq(rg, rw);
        if (rw == 0) {
            check_same_questions(&want, &got);
            char *a = pair_text(&want, &twin, true, true, true);
            char *b = pair_text(&got, &twin, true, true, true);
            ck_assert_str_eq(a, b);
            free(a);
            free(b);
            if (got.nq > 0 && twin.nq > 0) {
                bool same = got.q[0].name == twin.q[0].name;
                taken += same;
                refused += !same;
                /* taken only from the same bytes */
                ck_assert(!same || memcmp(m.b + 12, o.b + 12, strlen(got.q[0].name)) == 0);
            }
            dns_msg_free(&want);
            dns_msg_free(&got);
        }
        dns_msg_free(&twin);
    }
    ck_assert_uint_gt(taken, 500);
    ck_assert_uint_gt(refused, 500);
}
END_TEST

static Suite *dns_suite(void)
{
    Suite *s = suite_create("dns");
    TCase *c = tcase_create("parse");
    tcase_add_test(c, parse_rejects_garbage);
    tcase_add_test(c, parse_compression_loop);
    tcase_add_test(c, parse_names_escaped);
    tcase_add_test(c, parse_name_too_long);
    tcase_add_test(c, parse_record_types);
    tcase_add_test(c, parse_addresses_as_go_prints_them);
    tcase_add_test(c, parse_rrsig);
    tcase_add_test(c, parse_bad_rdlength);
    tcase_add_test(c, parse_counts_larger_than_data);
    tcase_add_test(c, parse_edns);
    tcase_add_test(c, parse_every_prefix);
    tcase_add_test(c, text_numbers);
    tcase_add_test(c, names_of_codes);
    tcase_add_test(c, public_suffix);
    tcase_add_test(c, public_suffix_walk);
    suite_add_tcase(s, c);

    c = tcase_create("udp");
    tcase_add_test(c, udp_request_response);
    tcase_add_test(c, udp_send_request_response_text);
    tcase_add_test(c, udp_orphan_response);
    tcase_add_test(c, udp_duplicate_request);
    tcase_add_test(c, udp_timeout_and_shutdown);
    tcase_add_test(c, udp_edns_notes);
    tcase_add_test(c, udp_many_notes_are_a_list);
    tcase_add_test(c, udp_garbage_ignored);
    tcase_add_test(c, event_subdomain_absent_for_registered_name);
    tcase_add_test(c, event_codes_lists_and_long_query);
    tcase_add_test(c, event_short_lists_and_texts);
    tcase_add_test(c, event_one_pass_is_the_section_writers_text);
    tcase_add_test(c, section_json_at_every_cap);
    tcase_add_test(c, parse_in_keeps_what_the_event_shows);
    tcase_add_test(c, parse_twin_takes_only_the_same_name);
    tcase_add_test(c, table_is_bounded);
    suite_add_tcase(s, c);

    c = tcase_create("tcp");
    tcase_add_test(c, tcp_whole);
    tcase_add_test(c, tcp_byte_by_byte);
    tcase_add_test(c, tcp_split_anywhere);
    tcase_add_test(c, tcp_two_messages_one_segment);
    tcase_add_test(c, tcp_axfr_multi_message);
    tcase_add_test(c, tcp_zero_length_response);
    tcase_add_test(c, tcp_non_dns_response);
    tcase_add_test(c, tcp_fin_mid_response);
    tcase_add_test(c, tcp_gap_mid_response);
    tcase_add_test(c, tcp_truncated_variants);
    tcase_add_test(c, tcp_garbage_stream);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(dns_suite());
    dns_psl_release();
    return failed == 0 ? 0 : 1;
}
