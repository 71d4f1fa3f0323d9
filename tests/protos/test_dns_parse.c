/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_dns_parse.c - the DNS decoder's memory and short cuts:
 * the per-message blocks (growth past the first, items larger than a
 * block, the record cap), names at the length and pointer limits when a
 * name read before is taken over, dns_msg_check against dns_msg_parse on
 * broken messages, the text buffer, and the event fields built from
 * shared tables (header flags, related.ip, plain names).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "protos/dns/dns_event.h"
#include "protos/dns/dns_parse.h"
#include "protos/dns/dns_text.h"
/* room for messages past the record cap */
#define PT_BUF_CAP 300000
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

/* ------------------------------------------------------------------ */
#define QR_RD_RA 0x8180
#define RD 0x0100

/* ------------------------------------------------------------------ */
/* Memory */

/* 600 TXT answers, each with its own escaped text: the record arrays
 * double from 16 to 1024 and the texts fill several blocks. */
START_TEST(mem_many_records)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 1, QR_RD_RA, 1, 600, 0, 0);
    pt_dns_name(&r, "txt.example.com");
    pt_be16(&r, 16);
    pt_be16(&r, 1);
    for (unsigned i = 0; i < 600; i++) {
        pt_be16(&r, 0xc00c);
        pt_dns_rr_tail(&r, 16, i, 41);
        pt_u8(&r, 40);
        char s[41];
        snprintf(s, sizeof s, "record %04u \x01\x02 \"%023u\"", i, i);
        pt_put(&r, s, 40);
    }
    int64_t before = pb_alloc_thread_bytes();
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_int_gt(pb_alloc_thread_bytes() - before, 64 * 1024); /* past one block */
    ck_assert_uint_eq(m.nrr[DNS_ANSWER], 600);
    ck_assert_uint_eq(m.count[DNS_ANSWER], 600);
    for (unsigned i = 0; i < 600; i++) {
        const struct dns_rr *rr = &m.rr[DNS_ANSWER][i];
        char want[128];
        snprintf(want, sizeof want, "record %04u \\001\\002 \\\"%023u\\\"", i, i);
        ck_assert_str_eq(rr->data, want);
        ck_assert_str_eq(rr->name, "txt.example.com");
        ck_assert_uint_eq(rr->ttl, i);
        ck_assert_uint_eq(rr->type, 16);
    }
    ck_assert_str_eq(m.q[0].name, "txt.example.com");
    dns_msg_free(&m);
    ck_assert_int_eq(pb_alloc_thread_bytes(), before);
}
END_TEST

/* 1500 A records fill a few blocks; then a TXT text of about 160 KiB
 * (larger than any block) gets a block of its own, the records after it
 * go on in the current one, and all of it goes with dns_msg_free. */
START_TEST(mem_item_larger_than_a_block)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 2, QR_RD_RA, 1, 1502, 0, 0);
    pt_dns_name(&r, "big.example.com");
    pt_be16(&r, 16);
    pt_be16(&r, 1);
    for (unsigned i = 0; i < 1500; i++) {
        pt_be16(&r, 0xc00c);
        pt_dns_rr_tail(&r, 1, i, 4);
        pt_be32(&r, 0x0a000000u | i);
    }
    pt_be16(&r, 0xc00c);
    pt_dns_rr_tail(&r, 16, 2, 256 * 250);
    for (int s = 0; s < 250; s++) {
        pt_u8(&r, 255);
        for (int k = 0; k < 255; k++) {
            pt_u8(&r, (uint8_t)(k % 2 == 0 ? 0x01 : 'a'));
        }
    }
    pt_be16(&r, 0xc00c);
    pt_dns_rr_tail(&r, 1, 3, 4);
    pt_put(&r, "\x0a\xff\x00\x02", 4);
    int64_t before = pb_alloc_thread_bytes();
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_uint_eq(m.nrr[DNS_ANSWER], 1502);
    for (unsigned i = 0; i < 1500; i++) {
        char want[32];
        snprintf(want, sizeof want, "10.0.%u.%u", i >> 8, i & 255);
        ck_assert_str_eq(m.rr[DNS_ANSWER][i].data, want);
    }
    ck_assert_str_eq(m.rr[DNS_ANSWER][1501].data, "10.255.0.2");
    const char *t = m.rr[DNS_ANSWER][1500].data;
    /* each string: 128 "\001" and 127 "a", strings joined by spaces */
    ck_assert_uint_eq(strlen(t), 250 * (128 * 4 + 127) + 249);
    for (size_t s = 0, o = 0; s < 250; s++) {
        for (int k = 0; k < 255; k++) {
            if (k % 2 == 0) {
                ck_assert_int_eq(memcmp(t + o, "\\001", 4), 0);
                o += 4;
            } else {
                ck_assert_int_eq(t[o++], 'a');
            }
        }
        ck_assert_int_eq(t[o++], s < 249 ? ' ' : '\0');
    }
    dns_msg_free(&m);
    ck_assert_int_eq(pb_alloc_thread_bytes(), before); /* every block freed */
}
END_TEST

/* Past DNS_MAX_RRS records of a section are counted, not kept; the OPT
 * record after them is still the message's EDNS record. */
START_TEST(mem_record_cap)
{
    struct pt_buf r;
    unsigned n = DNS_MAX_RRS + 4;
    pt_dns_hdr(&r, 3, QR_RD_RA, 1, 0, 0, (uint16_t)(n + 1));
    pt_dns_name(&r, "cap.example.com");
    pt_be16(&r, 2);
    pt_be16(&r, 1);
    for (unsigned i = 0; i < n; i++) {
        pt_be16(&r, 0xc00c);
        pt_dns_rr_tail(&r, 2, i, 0); /* NS without data: "" */
    }
    pt_u8(&r, 0); /* OPT with an NSID option */
    pt_be16(&r, 41);
    pt_be16(&r, 1232);
    pt_be32(&r, 0x8000);
    pt_be16(&r, 6);
    pt_be16(&r, 3);
    pt_be16(&r, 2);
    pt_put(&r, "\xbe\xef", 2);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_uint_eq(m.nrr[DNS_ADDITIONAL], DNS_MAX_RRS);
    ck_assert_uint_eq(m.count[DNS_ADDITIONAL], n + 1);
    const struct dns_rr *last = &m.rr[DNS_ADDITIONAL][DNS_MAX_RRS - 1];
    ck_assert_uint_eq(last->ttl, DNS_MAX_RRS - 1);
    ck_assert_str_eq(last->name, "cap.example.com");
    ck_assert_str_eq(last->data, "");
    ck_assert(m.opt.present);
    ck_assert(m.opt.do_bit);
    ck_assert_uint_eq(m.opt.udp_size, 1232);
    ck_assert_str_eq(m.opt.nsid, "beef");
    dns_msg_free(&m);

    struct dns_msg c;
    ck_assert_int_eq(dns_msg_check(r.b, r.n, &c), 0);
    ck_assert(c.opt.present);
    ck_assert_ptr_null(c.opt.nsid);
    ck_assert_uint_eq(c.count[DNS_ADDITIONAL], n + 1);
    ck_assert_uint_eq(c.nrr[DNS_ADDITIONAL], 0);
    dns_msg_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Names */

/* Labels of 63, 63, 63 and last bytes of \001 (254 wire octets with the
 * length bytes: the most a name may take). */
/* Both the parser and the check refuse r. */
static void rejected(const struct pt_buf *r)
{
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r->b, r->n, &m), -PB_EPROTO);
    ck_assert_int_eq(dns_msg_check(r->b, r->n, &m), -PB_EPROTO);
}

static void max_name(struct pt_buf *m, uint8_t last)
{
    for (int l = 0; l < 4; l++) {
        uint8_t n = l < 3 ? 63 : last;
        pt_u8(m, n);
        for (int i = 0; i < n; i++) {
            pt_u8(m, 1);
        }
    }
    pt_u8(m, 0);
}

START_TEST(name_at_the_length_limit)
{
    struct pt_buf q;
    pt_dns_hdr(&q, 4, RD, 1, 0, 0, 0);
    max_name(&q, 61);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(q.b, q.n, &m), 0);
    ck_assert_uint_eq(strlen(m.q[0].name), 250 * 4 + 3); /* every byte \001, 3 dots */
    ck_assert_int_eq(memcmp(m.q[0].name, "\\001\\001", 8), 0);
    ck_assert_int_eq(m.q[0].name[63 * 4], '.');
    dns_msg_free(&m);
    ck_assert_int_eq(dns_msg_check(q.b, q.n, &m), 0);

    pt_dns_hdr(&q, 4, RD, 1, 0, 0, 0);
    max_name(&q, 62); /* one octet more */
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    rejected(&q);
}
END_TEST

/* The question's name is a pointer into a chain of k more pointers (in an
 * opaque record's data); the second answer's name points at the question,
 * one pointer more than the question's read: taken over from it, the read
 * must still fail past 126 pointers. */
static void ptr_chain(struct pt_buf *r, unsigned k)
{
    pt_dns_hdr(r, 5, QR_RD_RA, 1, 2, 0, 0);
    size_t q = r->n; /* 12 */
    pt_be16(r, 0);   /* patched below */
    pt_be16(r, 1);
    pt_be16(r, 1);
    pt_be16(r, 0xc00c);
    pt_dns_rr_tail(r, 999, 1, (uint16_t)(2 * k + 3));
    size_t chain = r->n;
    for (unsigned i = 0; i < k; i++) {
        pt_be16(r, (uint16_t)(0xc000 | (chain + 2 * (i + 1))));
    }
    pt_put(r, "\x01z\x00", 3);
    r->b[q] = (uint8_t)(0xc0 | chain >> 8);
    r->b[q + 1] = (uint8_t)chain;
    pt_be16(r, 0xc00c);
    pt_dns_rr_tail(r, 1, 1, 4);
    pt_put(r, "\x01\x02\x03\x04", 4);
}

START_TEST(name_pointer_limit_through_memo)
{
    struct pt_buf r;
    struct dns_msg m;
    /* question: 1 + 124 pointers; answers: 126, the most */
    ptr_chain(&r, 124);
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "z");
    ck_assert_str_eq(m.rr[DNS_ANSWER][1].name, "z");
    dns_msg_free(&m);
    ck_assert_int_eq(dns_msg_check(r.b, r.n, &m), 0);
    /* question: 126 pointers; answers: 127 */
    ptr_chain(&r, 125);
    rejected(&r);
}
END_TEST

/* A question name of 200 wire octets; an answer's name is one label of l
 * bytes and a pointer to it: at most 254 octets in all. */
static void label_then_pointer(struct pt_buf *r, uint8_t l)
{
    pt_dns_hdr(r, 6, QR_RD_RA, 1, 1, 0, 0);
    for (int i = 0; i < 4; i++) {
        uint8_t n = i < 3 ? 63 : 7;
        pt_u8(r, n);
        for (int k = 0; k < n; k++) {
            pt_u8(r, (uint8_t)('a' + i));
        }
    }
    pt_u8(r, 0);
    pt_be16(r, 1);
    pt_be16(r, 1);
    pt_u8(r, l);
    for (int k = 0; k < l; k++) {
        pt_u8(r, 'x');
    }
    pt_be16(r, 0xc00c);
    pt_dns_rr_tail(r, 1, 1, 4);
    pt_put(r, "\x01\x02\x03\x04", 4);
}

START_TEST(name_length_limit_through_memo)
{
    struct pt_buf r;
    struct dns_msg m;
    label_then_pointer(&r, 53); /* 54 + 200 = 254 */
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    const char *qn = m.q[0].name, *an = m.rr[DNS_ANSWER][0].name;
    ck_assert_uint_eq(strlen(an), 53 + 1 + strlen(qn));
    ck_assert_int_eq(an[52], 'x');
    ck_assert_int_eq(an[53], '.');
    ck_assert_str_eq(an + 54, qn);
    dns_msg_free(&m);
    ck_assert_int_eq(dns_msg_check(r.b, r.n, &m), 0);
    label_then_pointer(&r, 54); /* 255 */
    rejected(&r);
}
END_TEST

/* The question's name "a" + pointer to "b" kept in an opaque record's
 * data. A CNAME pointing at the question reads as far as "b": fine when
 * "b" comes before the CNAME's end, not when it lies after (a record's
 * names are read within the message cut at its end). */
static void name_past_record(struct pt_buf *r, bool b_first)
{
    pt_dns_hdr(r, 7, QR_RD_RA, 1, 2, 0, 0);
    pt_u8(r, 1);
    pt_u8(r, 'a');
    size_t ptr = r->n;
    pt_be16(r, 0);
    pt_be16(r, 1);
    pt_be16(r, 1);
    for (int i = 0; i < 2; i++) {
        pt_be16(r, 0xc00c);
        if ((i == 0) == b_first) {
            pt_dns_rr_tail(r, 999, 1, 3);
            size_t at = r->n;
            pt_put(r,
                   "\x01"
                   "b\x00",
                   3);
            r->b[ptr] = (uint8_t)(0xc0 | at >> 8);
            r->b[ptr + 1] = (uint8_t)at;
        } else {
            pt_dns_rr_tail(r, 5, 1, 2);
            pt_be16(r, 0xc00c);
        }
    }
}

START_TEST(name_limit_of_record_through_memo)
{
    struct pt_buf r;
    struct dns_msg m;
    name_past_record(&r, true);
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "a.b");
    ck_assert_str_eq(m.rr[DNS_ANSWER][1].data, "a.b");
    dns_msg_free(&m);
    ck_assert_int_eq(dns_msg_check(r.b, r.n, &m), 0);
    name_past_record(&r, false);
    rejected(&r);
}
END_TEST

/* Names sharing a suffix: the memo's text is reused after a label, and a
 * name that is only a pointer shares the text. */
START_TEST(name_suffix_reuse)
{
    struct pt_buf r;
    pt_dns_hdr(&r, 8, QR_RD_RA, 1, 1, 1, 0);
    pt_dns_name(&r, "www.ex\\ample.com"); /* a label with a backslash: escaped */
    pt_be16(&r, 1);
    pt_be16(&r, 1);
    pt_be16(&r, 0xc010); /* "ex\ample.com" */
    pt_dns_rr_tail(&r, 2, 1, 6);
    pt_put(&r, "\x03ns1\xc0\x0c", 6); /* after a label: the question's text */
    pt_u8(&r, 2);
    pt_put(&r, "a\"", 2);
    pt_be16(&r, 0xc00c);
    pt_dns_rr_tail(&r, 5, 1, 2);
    pt_be16(&r, 0xc00c);
    struct dns_msg m;
    ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
    ck_assert_str_eq(m.q[0].name, "www.ex\\\\ample.com");
    ck_assert_str_eq(m.rr[DNS_ANSWER][0].name, "ex\\\\ample.com");
    ck_assert_str_eq(m.rr[DNS_ANSWER][0].data, "ns1.www.ex\\\\ample.com");
    ck_assert_str_eq(m.rr[DNS_AUTHORITY][0].name, "a\\\".www.ex\\\\ample.com");
    ck_assert_str_eq(m.rr[DNS_AUTHORITY][0].data, "www.ex\\\\ample.com");
    dns_msg_free(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* dns_msg_check against dns_msg_parse */

static void same_verdict(const uint8_t *b, size_t n)
{
    struct dns_msg m, c;
    int rp = dns_msg_parse(b, n, &m);
    int rc = dns_msg_check(b, n, &c);
    ck_assert_int_eq(rc, rp);
    if (rp == 0) {
        ck_assert_uint_eq(c.id, m.id);
        ck_assert_int_eq(c.response, m.response);
        ck_assert_int_eq(c.rcode, m.rcode);
        ck_assert_int_eq(c.opcode, m.opcode);
        ck_assert_int_eq(c.rd, m.rd);
        ck_assert_int_eq(memcmp(c.count, m.count, sizeof c.count), 0);
        ck_assert_int_eq(c.opt.present, m.opt.present);
        ck_assert_int_eq(c.opt.udp_size, m.opt.udp_size);
        ck_assert_int_eq(c.opt.version, m.opt.version);
        ck_assert_int_eq(c.opt.do_bit, m.opt.do_bit);
        ck_assert_int_eq(c.opt.ext_rcode, m.opt.ext_rcode);
        ck_assert_uint_eq(c.nq, 0);
        ck_assert_ptr_null(c.mem);
        dns_msg_free(&m);
    }
    dns_msg_free(&c);
}

/* Messages that exercise every check of the decoder. */
static void sample(struct pt_buf *r, int which)
{
    switch (which) {
    case 0: /* a query with EDNS: cookie, client subnet, NSID */
        pt_dns_hdr(r, 10, RD, 1, 0, 0, 1);
        pt_dns_name(r, "www.example.com");
        pt_be16(r, 1);
        pt_be16(r, 1);
        pt_u8(r, 0);
        pt_be16(r, 41);
        pt_be16(r, 4096);
        pt_be32(r, 0);
        pt_be16(r, 27);
        pt_be16(r, 10);
        pt_be16(r, 8);
        pt_put(r, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
        pt_be16(r, 8);
        pt_be16(r, 7);
        pt_put(r, "\x00\x01\x18\x00\x0a\x01\x02", 7);
        pt_be16(r, 3);
        pt_be16(r, 0);
        break;
    case 1: /* a response with names, MX, SOA, SRV, TXT, AAAA */
        pt_dns_hdr(r, 11, QR_RD_RA, 1, 4, 1, 1);
        pt_dns_name(r, "mail.example.org");
        pt_be16(r, 15);
        pt_be16(r, 1);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 5, 60, 6);
        pt_put(r,
               "\x03"
               "abc\xc0\x11",
               6);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 15, 60, 7);
        pt_be16(r, 10);
        pt_put(r, "\x02mx\xc0\x11", 5);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 16, 60, 8);
        pt_put(r,
               "\x03"
               "a\"b\x02\x01\xff",
               7);
        pt_u8(r, 0);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 28, 60, 16);
        pt_put(r, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
        pt_be16(r, 0xc011);
        pt_dns_rr_tail(r, 6, 60, 26);
        pt_put(r, "\x02ns\xc0\x11\x00", 6);
        for (int i = 0; i < 5; i++) {
            pt_be32(r, (uint32_t)i);
        }
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 33, 60, 8);
        pt_be16(r, 1);
        pt_be16(r, 2);
        pt_be16(r, 3);
        pt_be16(r, 0xc011);
        break;
    default: /* DNSSEC records and an opaque one */
        pt_dns_hdr(r, 12, QR_RD_RA, 1, 4, 0, 0);
        pt_dns_name(r, "example.net");
        pt_be16(r, 48);
        pt_be16(r, 1);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 48, 60, 8);
        pt_be16(r, 257);
        pt_u8(r, 3);
        pt_u8(r, 13);
        pt_put(r, "\xaa\xbb\xcc\xdd", 4);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 46, 60, 22);
        pt_be16(r, 48);
        pt_u8(r, 13);
        pt_u8(r, 2);
        pt_be32(r, 3600);
        pt_be32(r, 1700000000);
        pt_be32(r, 1690000000);
        pt_be16(r, 4242);
        pt_be16(r, 0xc00c);
        pt_put(r, "\x01\x02", 2);
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 47, 60, 11);
        pt_be16(r, 0xc00c);
        pt_put(r, "\x00\x04\x40\x00\x00\x08\x01\x01\x80", 9); /* two windows */
        pt_be16(r, 0xc00c);
        pt_dns_rr_tail(r, 17, 60, 4); /* RP: two names, kept as raw text */
        pt_be16(r, 0xc00c);
        pt_be16(r, 0xc00c);
        break;
    }
}

START_TEST(check_agrees_with_parse)
{
    struct pt_buf r;
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x3f, 0x40, 0x80, 0xc0, 0xff};
    for (int which = 0; which < 3; which++) {
        sample(&r, which);
        struct dns_msg m;
        ck_assert_int_eq(dns_msg_parse(r.b, r.n, &m), 0);
        dns_msg_free(&m);
        size_t n = r.n;
        uint8_t *b = malloc(n);
        for (size_t cut = 0; cut <= n; cut++) {
            memcpy(b, r.b, cut);
            same_verdict(b, cut);
        }
        for (size_t at = 0; at < n; at++) {
            for (size_t v = 0; v < sizeof vals + 2; v++) {
                memcpy(b, r.b, n);
                b[at] =
                    v < sizeof vals ? vals[v] : (uint8_t)(r.b[at] + (v == sizeof vals ? 1 : -1));
                same_verdict(b, n);
            }
        }
        free(b);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Text buffer */

START_TEST(text_local_then_heap)
{
    char buf[8];
    struct dns_text t;
    dns_text_init(&t, buf, sizeof buf);
    dns_text_puts(&t, "abcdefg"); /* fills buf with the NUL's room */
    ck_assert(t.local);
    dns_text_putc(&t, 'h');
    ck_assert(!t.local);
    dns_text_puts(&t, "0123456789");
    dns_text_putu(&t, 42);
    char *s = dns_text_take(&t);
    ck_assert_str_eq(s, "abcdefgh012345678942");
    pb_free(s);

    dns_text_init(&t, buf, sizeof buf);
    dns_text_puts(&t, "xy");
    s = dns_text_take(&t); /* a copy of the local text */
    ck_assert_str_eq(s, "xy");
    ck_assert_ptr_ne(s, buf);
    pb_free(s);

    dns_text_init_discard(&t);
    dns_text_puts(&t, "dropped");
    dns_text_escbyte(&t, 7);
    ck_assert_uint_eq(t.len, 0);
    ck_assert(!t.bad);
    dns_text_reset(&t);
    ck_assert(t.discard);
}
END_TEST

START_TEST(type_names_by_code)
{
    char b[24];
    static const struct {
        uint16_t code;
        const char *name;
    } cases[] = {{0, "None"},      {1, "A"},         {10, "NULL"},       {11, "11"},
                 {12, "PTR"},      {28, "AAAA"},     {38, "38"},         {41, "OPT"},
                 {54, "54"},       {65, "HTTPS"},    {66, "66"},         {98, "98"},
                 {99, "SPF"},      {109, "EUI64"},   {110, "110"},       {248, "248"},
                 {249, "TKEY"},    {255, "ANY"},     {259, "259"},       {260, "AMTRELAY"},
                 {261, "261"},     {32767, "32767"}, {32768, "TA"},      {32769, "DLV"},
                 {32770, "32770"}, {65534, "65534"}, {65535, "Reserved"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_str_eq(dns_type_str(cases[i].code, b), cases[i].name);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Events */

static json_t *tree_arr(json_t *tree, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(tree, a), b);
    ck_assert(json_is_array(v));
    return v;
}

static void build(const struct pt_buf *q, const struct pt_buf *r, const char *src, const char *dst,
                  void (*check)(json_t *tree))
{
    struct dns_msg req, resp;
    ck_assert_int_eq(dns_msg_parse(q->b, q->n, &req), 0);
    ck_assert_int_eq(dns_msg_parse(r->b, r->n, &resp), 0);
    struct pb_tuple tu = {0};
    ck_assert(pb_ip_parse(src, &tu.src));
    ck_assert(pb_ip_parse(dst, &tu.dst));
    tu.sport = 5353;
    tu.dport = 53;
    tu.proto = PB_IPPROTO_UDP;
    struct dns_event_in in = {
        .tuple = &tu, .req = &req, .resp = &resp, .req_ts_ns = 1, .resp_ts_ns = 2};
    pb_event *ev = dns_event_build(&in);
    ck_assert_ptr_nonnull(ev);
    check(pt_arena_encodes_as_tree(ev)); /* plain strings encode as the tree's */
    pb_ev_free(ev);
    dns_msg_free(&req);
    dns_msg_free(&resp);
}

static void check_related_v4(json_t *tree)
{
    static const char *const want[] = {"192.168.0.1", "192.168.0.2", "10.9.9.9", "10.8.8.8"};
    json_t *rel = tree_arr(tree, "related", "ip");
    ck_assert_uint_eq(json_array_size(rel), 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_str_eq(json_string_value(json_array_get(rel, i)), want[i]);
    }
    ck_assert_uint_eq(json_array_size(tree_arr(tree, "dns", "resolved_ip")), 5);
    ck_assert_str_eq(pt_tree_str(tree, "dns.resolved_ip.0"), "192.168.0.2");
    ck_assert_str_eq(pt_tree_str(tree, "dns.resolved_ip.3"), "192.168.0.1");
}

static void check_related_v6(json_t *tree)
{
    static const char *const want[] = {"2001:db8::1", "2001:db8::53", "1.2.3.4"};
    json_t *rel = tree_arr(tree, "related", "ip");
    ck_assert_uint_eq(json_array_size(rel), 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(json_string_value(json_array_get(rel, i)), want[i]);
    }
}

/* The answers' addresses join related.ip once each, after the client's
 * and the server's, which they do not repeat. */
START_TEST(event_related_ip_once)
{
    struct pt_buf q, r;
    pt_dns_hdr(&q, 20, RD, 1, 0, 0, 0);
    pt_dns_name(&q, "www.example.com");
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    pt_dns_hdr(&r, 20, QR_RD_RA, 1, 5, 0, 0);
    pt_dns_name(&r, "www.example.com");
    pt_be16(&r, 1);
    pt_be16(&r, 1);
    static const uint8_t ips[5][4] = {
        {192, 168, 0, 2}, {10, 9, 9, 9}, {10, 9, 9, 9}, {192, 168, 0, 1}, {10, 8, 8, 8}};
    for (int i = 0; i < 5; i++) {
        pt_be16(&r, 0xc00c);
        pt_dns_rr_tail(&r, 1, 60, 4);
        pt_put(&r, ips[i], 4);
    }
    build(&q, &r, "192.168.0.1", "192.168.0.2", check_related_v4);

    /* IPv6: the server's address as an answer, an IPv4-mapped one */
    pt_dns_hdr(&r, 20, QR_RD_RA, 1, 3, 0, 0);
    pt_dns_name(&r, "www.example.com");
    pt_be16(&r, 1);
    pt_be16(&r, 1);
    static const uint8_t ip6[3][16] = {
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4},
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};
    for (int i = 0; i < 3; i++) {
        pt_be16(&r, 0xc00c);
        pt_dns_rr_tail(&r, 28, 60, 16);
        pt_put(&r, ip6[i], 16);
    }
    build(&q, &r, "2001:db8::1", "2001:db8::53", check_related_v6);
}
END_TEST

static unsigned flags_mask;

static void check_flags(json_t *tree)
{
    static const char *const names[6] = {"AA", "TC", "RD", "RA", "AD", "CD"};
    json_t *hf = json_object_get(json_object_get(tree, "dns"), "header_flags");
    if (flags_mask == 0) {
        ck_assert_ptr_null(hf);
        return;
    }
    size_t k = 0;
    for (unsigned i = 0; i < 6; i++) {
        if (flags_mask & (32u >> i)) {
            ck_assert_str_eq(json_string_value(json_array_get(hf, k++)), names[i]);
        }
    }
    ck_assert_uint_eq(json_array_size(hf), k);
}

/* header_flags for each of the 64 sets, from the table made once. */
START_TEST(event_header_flags_every_set)
{
    static const uint16_t bit[6] = {0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010};
    struct pt_buf q, r;
    pt_dns_hdr(&q, 21, RD, 1, 0, 0, 0);
    pt_dns_name(&q, "example.com");
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    for (flags_mask = 0; flags_mask < 64; flags_mask++) {
        uint16_t f = 0x8000;
        for (unsigned i = 0; i < 6; i++) {
            if (flags_mask & (32u >> i)) {
                f |= bit[i];
            }
        }
        pt_dns_hdr(&r, 21, f, 1, 0, 0, 0);
        pt_dns_name(&r, "example.com");
        pt_be16(&r, 1);
        pt_be16(&r, 1);
        build(&q, &r, "10.0.0.1", "10.0.0.2", check_flags);
    }
}
END_TEST

static void check_escaped_names(json_t *tree)
{
    ck_assert_str_eq(pt_tree_str(tree, "dns.question.name"), "w\\\"w.x\\\\y.\\001.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "resource"), "w\\\"w.x\\\\y.\\001.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "query"),
                     "class IN, type A, w\\\"w.x\\\\y.\\001.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "dns.question.registered_domain"), "example.com");
    ck_assert_str_eq(pt_tree_str(tree, "dns.question.subdomain"), "w\\\"w.x\\\\y.\\001");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.0.name"), "w\\\"w.x\\\\y.\\001.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.0.data"), "plain.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.1.name"), "plain.example.com");
    ck_assert_str_eq(pt_tree_str(tree, "dns.answers.1.data"), "a\\\"b.example.com");
}

/* Names with escapes (JSON must escape the backslashes and quotes again)
 * and without (taken as plain), as question, record names and data. */
START_TEST(event_names_plain_or_escaped)
{
    struct pt_buf q, r;
    static const uint8_t qname[] = {3,   'w', '"', 'w', 3,   'x', '\\', 'y', 1,   1,   7, 'e',
                                    'x', 'a', 'm', 'p', 'l', 'e', 3,    'c', 'o', 'm', 0};
    pt_dns_hdr(&q, 22, RD, 1, 0, 0, 0);
    pt_put(&q, qname, sizeof qname);
    pt_be16(&q, 1);
    pt_be16(&q, 1);
    pt_dns_hdr(&r, 22, QR_RD_RA, 1, 2, 0, 0);
    pt_put(&r, qname, sizeof qname);
    pt_be16(&r, 1);
    pt_be16(&r, 1);
    pt_be16(&r, 0xc00c);
    pt_dns_rr_tail(&r, 5, 60, 8);
    pt_put(&r, "\x05plain\xc0\x16", 8); /* "example.com" is at 22 */
    size_t plain_at = r.n - 8;
    pt_be16(&r, (uint16_t)(0xc000 | plain_at));
    pt_dns_rr_tail(&r, 5, 60, 6);
    pt_put(&r,
           "\x03"
           "a\"b\xc0\x16",
           6);
    build(&q, &r, "10.0.0.1", "10.0.0.2", check_escaped_names);
}
END_TEST

static Suite *dns_parse_suite(void)
{
    Suite *s = suite_create("dns_parse");
    TCase *c = tcase_create("memory");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, mem_many_records);
    tcase_add_test(c, mem_item_larger_than_a_block);
    tcase_add_test(c, mem_record_cap);
    suite_add_tcase(s, c);

    c = tcase_create("names");
    tcase_add_test(c, name_at_the_length_limit);
    tcase_add_test(c, name_pointer_limit_through_memo);
    tcase_add_test(c, name_length_limit_through_memo);
    tcase_add_test(c, name_limit_of_record_through_memo);
    tcase_add_test(c, name_suffix_reuse);
    suite_add_tcase(s, c);

    c = tcase_create("check");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, check_agrees_with_parse);
    suite_add_tcase(s, c);

    c = tcase_create("text");
    tcase_add_test(c, text_local_then_heap);
    tcase_add_test(c, type_names_by_code);
    suite_add_tcase(s, c);

    c = tcase_create("event");
    tcase_add_test(c, event_related_ip_once);
    tcase_add_test(c, event_header_flags_every_set);
    tcase_add_test(c, event_names_plain_or_escaped);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(dns_parse_suite());
    dns_psl_release();
    return failed == 0 ? 0 : 1;
}
