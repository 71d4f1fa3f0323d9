/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_http2.c - HTTP/2 and gRPC on the http protocol (an
 * extension): HPACK with the RFC 7541 Appendix C examples, Huffman
 * round trips and bad padding, frames split at every offset and byte by
 * byte, multiplexed streams, padding, CONTINUATION, PUSH_PROMISE,
 * RST_STREAM, GOAWAY, the h2c upgrade, gRPC fields, the caps (streams,
 * header list, table size), gaps, and garbage that must never crash.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protos/http/grpc.h"
#include "protos/http/hpack.h"
#include "protos/http/http2.h"
#include "protos/http/http2_frame.h"
#include "protos/http/http_event.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_http;

#define TS PB_DIR_TO_SERVER
#define TC PB_DIR_TO_CLIENT

/* ---- byte builders ---------------------------------------------------- */

/* HPACK integer with an n-bit prefix; `first` holds the pattern bits. */
static void hp_int(struct pt_buf *b, uint8_t first, unsigned nbits, uint32_t v)
{
    uint32_t max = (1u << nbits) - 1u;
    if (v < max) {
        pt_u8(b, (uint8_t)(first | v));
        return;
    }
    pt_u8(b, (uint8_t)(first | max));
    v -= max;
    while (v >= 128) {
        pt_u8(b, (uint8_t)(0x80 | (v & 0x7f)));
        v >>= 7;
    }
    pt_u8(b, (uint8_t)v);
}

static void hp_str(struct pt_buf *b, const char *s)
{
    hp_int(b, 0, 7, (uint32_t)strlen(s));
    pt_put(b, s, strlen(s));
}

/* Indexed field (RFC 7541 6.1). */
static void hp_idx(struct pt_buf *b, uint32_t idx)
{
    hp_int(b, 0x80, 7, idx);
}

/* Literal with incremental indexing (index: true) or without; name_idx 0
 * sends the name as a literal. */
static void hp_lit(struct pt_buf *b, bool index, uint32_t name_idx, const char *name,
                   const char *val)
{
    if (index) {
        hp_int(b, 0x40, 6, name_idx);
    } else {
        hp_int(b, 0x00, 4, name_idx);
    }
    if (name_idx == 0) {
        hp_str(b, name);
    }
    hp_str(b, val);
}

static void frame(struct pt_buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *p,
                  size_t n)
{
    uint8_t h[9] = {
        (uint8_t)(n >> 16),   (uint8_t)(n >> 8),    (uint8_t)n,          type,        flags,
        (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    pt_put(b, h, 9);
    if (n > 0) {
        pt_put(b, p, n);
    }
}

static void preface(struct pt_buf *b)
{
    pt_put(b, h2_preface, H2_PREFACE_LEN);
}

static void settings(struct pt_buf *b, bool ack)
{
    static const uint8_t s[6] = {0, 1, 0, 0, 0x10, 0}; /* HEADER_TABLE_SIZE 4096 */
    frame(b, H2_SETTINGS, ack ? H2_FLAG_ACK : 0, 0, s, ack ? 0 : 6);
}

/* ---- HPACK: RFC 7541 Appendix C -------------------------------------- */

struct fields {
    char s[2048];
    size_t n;
};

static int collect_field(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *val,
                         size_t vlen, bool never)
{
    struct fields *f = ctx;
    ck_assert_uint_lt(f->n + nlen + vlen + 4, sizeof f->s);
    memcpy(f->s + f->n, name, nlen);
    f->n += nlen;
    f->s[f->n++] = never ? '!' : ':';
    f->s[f->n++] = ' ';
    memcpy(f->s + f->n, val, vlen);
    f->n += vlen;
    f->s[f->n++] = '\n';
    f->s[f->n] = '\0';
    return 0;
}

static void decode_hex(struct hpack_dec *d, const char *hex, const char *want, size_t size)
{
    struct pt_buf b = {.n = 0};
    struct fields f = {.n = 0};
    pt_hex(&b, hex);
    ck_assert_int_eq(hpack_decode(d, b.b, b.n, collect_field, &f), HPACK_OK);
    ck_assert_str_eq(f.s, want);
    ck_assert_uint_eq(d->size, size);
}

START_TEST(hpack_integers)
{
    /* C.1.1: 10 with a 5-bit prefix; C.1.2: 1337; C.1.3: 42 at a byte boundary */
    static const uint8_t a[] = {0x0a}, b[] = {0x1f, 0x9a, 0x0a}, c[] = {0x2a};
    uint32_t v = 0;
    ck_assert_uint_eq(hpack_int(a, 1, 5, &v), 1);
    ck_assert_uint_eq(v, 10);
    ck_assert_uint_eq(hpack_int(b, 3, 5, &v), 3);
    ck_assert_uint_eq(v, 1337);
    ck_assert_uint_eq(hpack_int(c, 1, 8, &v), 1);
    ck_assert_uint_eq(v, 42);
    ck_assert_uint_eq(hpack_int(b, 2, 5, &v), 0); /* incomplete */
    static const uint8_t huge[] = {0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_uint_eq(hpack_int(huge, sizeof huge, 5, &v), 0); /* too big */
}
END_TEST

START_TEST(hpack_c2_literals)
{
    struct hpack_dec d;
    hpack_dec_init(&d, 4096);
    /* C.2.1 literal with indexing: custom-key: custom-header */
    decode_hex(&d, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
               "custom-key: custom-header\n", 55);
    hpack_dec_free(&d);
    hpack_dec_init(&d, 4096);
    /* C.2.2 without indexing: :path: /sample/path */
    decode_hex(&d, "040c 2f73 616d 706c 652f 7061 7468", ":path: /sample/path\n", 0);
    /* C.2.3 never indexed: password: secret */
    decode_hex(&d, "1008 7061 7373 776f 7264 0673 6563 7265 74", "password! secret\n", 0);
    /* C.2.4 indexed: :method: GET */
    decode_hex(&d, "82", ":method: GET\n", 0);
    hpack_dec_free(&d);
}
END_TEST

static const char c3_1[] = ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n";
static const char c3_2[] = ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n"
                           "cache-control: no-cache\n";
static const char c3_3[] = ":method: GET\n:scheme: https\n:path: /index.html\n"
                           ":authority: www.example.com\ncustom-key: custom-value\n";

START_TEST(hpack_c3_requests)
{
    struct hpack_dec d;
    hpack_dec_init(&d, 4096);
    decode_hex(&d, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", c3_1, 57);
    decode_hex(&d, "8286 84be 5808 6e6f 2d63 6163 6865", c3_2, 110);
    decode_hex(&d, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", c3_3,
               164);
    ck_assert_uint_eq(d.count, 3);
    hpack_dec_free(&d);
}
END_TEST

START_TEST(hpack_c4_requests_huffman)
{
    struct hpack_dec d;
    hpack_dec_init(&d, 4096);
    decode_hex(&d, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", c3_1, 57);
    decode_hex(&d, "8286 84be 5886 a8eb 1064 9cbf", c3_2, 110);
    decode_hex(&d, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", c3_3, 164);
    hpack_dec_free(&d);
}
END_TEST

static const char c5_1[] = ":status: 302\ncache-control: private\n"
                           "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                           "location: https://www.example.com\n";
static const char c5_2[] = ":status: 307\ncache-control: private\n"
                           "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                           "location: https://www.example.com\n";
static const char c5_3[] = ":status: 200\ncache-control: private\n"
                           "date: Mon, 21 Oct 2013 20:13:22 GMT\n"
                           "location: https://www.example.com\ncontent-encoding: gzip\n"
                           "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n";

START_TEST(hpack_c5_responses_evictions)
{
    struct hpack_dec d;
    hpack_dec_init(&d, 4096);
    d.max_size = 256; /* SETTINGS_HEADER_TABLE_SIZE 256 in the examples */
    decode_hex(&d,
               "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133"
               " 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70"
               " 6c65 2e63 6f6d",
               c5_1, 222);
    decode_hex(&d, "4803 3330 37c1 c0bf", c5_2, 222);
    ck_assert_uint_eq(d.evictions, 1);
    decode_hex(&d,
               "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d"
               " 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049"
               " 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e"
               " 3d31",
               c5_3, 215);
    ck_assert_uint_eq(d.count, 3);
    hpack_dec_free(&d);
}
END_TEST

START_TEST(hpack_c6_responses_huffman)
{
    struct hpack_dec d;
    hpack_dec_init(&d, 4096);
    d.max_size = 256;
    decode_hex(&d,
               "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
               " 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
               c5_1, 222);
    decode_hex(&d, "4883 640e ffc1 c0bf", c5_2, 222);
    decode_hex(&d,
               "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
               " 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
               " 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
               c5_3, 215);
    hpack_dec_free(&d);
}
END_TEST

/* A Huffman encoder built from the canonical code lengths. */
static void huff_encode(const uint8_t *s, size_t n, struct pt_buf *out)
{
    uint32_t code[257];
    uint32_t c = 0;
    unsigned prev = 0;
    for (unsigned len = 1; len <= 30; len++) {
        for (unsigned sym = 0; sym < 257; sym++) {
            if (hpack_huff_len[sym] == len) {
                (void)prev;
                code[sym] = c++;
            }
        }
        c <<= 1;
    }
    uint64_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << hpack_huff_len[s[i]] | code[s[i]];
        bits += hpack_huff_len[s[i]];
        while (bits >= 8) {
            pt_u8(out, (uint8_t)(acc >> (bits - 8)));
            bits -= 8;
        }
    }
    if (bits > 0) {
        pt_u8(out, (uint8_t)((acc << (8 - bits)) | (0xffu >> bits)));
    }
}

START_TEST(hpack_huffman_all_symbols)
{
    uint8_t all[256 * 3];
    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (uint8_t)(i * 7 + i / 256);
    }
    for (size_t n = 0; n <= sizeof all; n += (n < 20 ? 1 : 37)) {
        struct pt_buf enc = {.n = 0};
        huff_encode(all, n, &enc);
        struct pb_bytes out = {0};
        ck_assert_int_eq(hpack_huffman_decode(enc.b, enc.n, &out, 4096), 0);
        ck_assert_uint_eq(out.len, n);
        ck_assert(n == 0 || memcmp(out.p, all, n) == 0);
        pb_bytes_free(&out);
    }
    /* "www.example.com" from C.4.1 */
    struct pt_buf b = {.n = 0};
    huff_encode((const uint8_t *)"www.example.com", 15, &b);
    struct pt_buf want = {.n = 0};
    pt_hex(&want, "f1e3 c2e5 f23a 6ba0 ab90 f4ff");
    ck_assert_uint_eq(b.n, want.n);
    ck_assert(memcmp(b.b, want.b, b.n) == 0);
}
END_TEST

START_TEST(hpack_huffman_bad)
{
    static const uint8_t bad[][7] = {
        {0xff},                                   /* padding longer than 7 bits */
        {0x1f, 0xff},                             /* "a" then a byte of padding */
        {0xff, 0x9f, 0xff, 0xff, 0xff},           /* 29 bits of padding */
        {'R', 0xbc, '0', 0xff, 0xff, 0xff, 0xff}, /* ends inside a symbol */
        {0xff, 0xff, 0xff, 0xff, 0xfc},           /* EOS then "?" */
        {0x00},                                   /* padding not all ones */
    };
    static const size_t lens[] = {1, 2, 5, 7, 5, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct pb_bytes out = {0};
        ck_assert_int_eq(hpack_huffman_decode(bad[i], lens[i], &out, 4096), HPACK_EPROTO);
        pb_bytes_free(&out);
    }
}
END_TEST

START_TEST(hpack_errors_and_caps)
{
    struct hpack_dec d;
    struct fields f = {.n = 0};
    hpack_dec_init(&d, 8192);
    /* index 0 and an index past the dynamic table */
    static const uint8_t idx0[] = {0x80}, far[] = {0xbe};
    ck_assert_int_eq(hpack_decode(&d, idx0, 1, collect_field, &f), HPACK_EPROTO);
    ck_assert_int_eq(hpack_decode(&d, far, 1, collect_field, &f), HPACK_EPROTO);
    /* a size update after a field */
    static const uint8_t late[] = {0x82, 0x20};
    ck_assert_int_eq(hpack_decode(&d, late, 2, collect_field, &f), HPACK_EPROTO);
    /* a size update beyond the cap */
    struct pt_buf b = {.n = 0};
    hp_int(&b, 0x20, 5, 10000);
    ck_assert_int_eq(hpack_decode(&d, b.b, b.n, collect_field, &f), HPACK_ELIMIT);
    /* within the cap, then shrinking evicts */
    b.n = 0;
    hp_int(&b, 0x20, 5, 8192);
    hp_lit(&b, true, 0, "a", "1");
    ck_assert_int_eq(hpack_decode(&d, b.b, b.n, collect_field, &f), HPACK_OK);
    ck_assert_uint_eq(d.count, 1);
    static const uint8_t zero[] = {0x20};
    ck_assert_int_eq(hpack_decode(&d, zero, 1, collect_field, &f), HPACK_OK);
    ck_assert_uint_eq(d.count, 0);
    /* string length past the block */
    static const uint8_t shortstr[] = {0x40, 0x05, 'a'};
    ck_assert_int_eq(hpack_decode(&d, shortstr, 3, collect_field, &f), HPACK_EPROTO);
    hpack_dec_free(&d);
}
END_TEST

/* ---- a multiplexed prior-knowledge conversation ----------------------- */

static void client_bytes(struct pt_buf *c)
{
    struct pt_buf h = {.n = 0};
    preface(c);
    settings(c, false);
    /* stream 1: GET /index.html?b=2&a=1 */
    hp_idx(&h, 2);                                    /* :method GET */
    hp_idx(&h, 6);                                    /* :scheme http */
    hp_lit(&h, true, 4, NULL, "/index.html?b=2&a=1"); /* :path, indexed as 63 */
    hp_lit(&h, true, 1, NULL, "www.example.com");     /* :authority, indexed as 62 */
    hp_lit(&h, false, 58, NULL, "curl/8.0");          /* user-agent */
    frame(c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 1, h.b, h.n);
    /* stream 3: POST /submit with a padded, priority-flagged HEADERS */
    h.n = 0;
    pt_u8(&h, 2);               /* pad length */
    pt_hex(&h, "0000 0000 10"); /* dependency 0, weight 16 */
    hp_idx(&h, 3);              /* :method POST */
    hp_idx(&h, 6);
    hp_lit(&h, false, 4, NULL, "/submit");
    hp_idx(&h, 62); /* :authority from the table */
    hp_lit(&h, false, 31, NULL, "application/x-www-form-urlencoded");
    hp_lit(&h, false, 28, NULL, "7"); /* content-length */
    pt_put(&h, "\0\0", 2);            /* padding */
    frame(c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_PADDED | H2_FLAG_PRIORITY, 3, h.b, h.n);
    /* its body in a padded DATA frame */
    h.n = 0;
    pt_u8(&h, 3);
    pt_put(&h, "a=1&b=2", 7);
    pt_put(&h, "\0\0\0", 3);
    frame(c, H2_DATA, H2_FLAG_PADDED | H2_FLAG_END_STREAM, 3, h.b, h.n);
    settings(c, true);
    frame(c, H2_WINDOW_UPDATE, 0, 0, "\0\0\x10\0", 4);
    frame(c, H2_PING, 0, 0, "12345678", 8);
}

static void server_bytes(struct pt_buf *s)
{
    struct pt_buf h = {.n = 0};
    settings(s, false);
    settings(s, true);
    /* stream 3 answered first: 404, no body */
    hp_idx(&h, 13);
    frame(s, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 3, h.b, h.n);
    /* stream 1: 200, text/html, in HEADERS + CONTINUATION, then DATA */
    h.n = 0;
    hp_idx(&h, 8);
    hp_lit(&h, true, 31, NULL, "text/html");
    size_t cut = 3;
    frame(s, H2_HEADERS, 0, 1, h.b, cut);
    frame(s, H2_CONTINUATION, H2_FLAG_END_HEADERS, 1, h.b + cut, h.n - cut);
    frame(s, H2_DATA, 0, 1, "hel", 3);
    frame(s, H2_PRIORITY, 0, 1, "\0\0\0\0\x20", 5);
    frame(s, H2_DATA, H2_FLAG_END_STREAM, 1, "lo", 2);
    frame(s, H2_PING, H2_FLAG_ACK, 0, "12345678", 8);
}

static const char *cfg_default = "ports: [80]\nsend_headers: [\"host\", \"user-agent\"]";

START_TEST(h2_multiplexed_fields)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0};
    client_bytes(&c);
    server_bytes(&s);
    struct pt_conn *t = pt_open(&pb_proto_http, cfg_default);
    pt_feed(t, TS, c.b, c.n);
    pt_advance(t, 2000000);
    pt_feed(t, TC, s.b, s.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    /* stream 3 finished first */
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "2");
    ck_assert_str_eq(pt_str(t, 0, "method"), "POST");
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/submit");
    ck_assert_str_eq(pt_str(t, 0, "url.domain"), "www.example.com");
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "a=1&b=2"); /* from the form body */
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 404);
    ck_assert_int_eq(pt_int(t, 0, "http.request.body.bytes"), 7);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.host"), "www.example.com");

    ck_assert_str_eq(pt_str(t, 1, "http.version"), "2");
    ck_assert_str_eq(pt_str(t, 1, "method"), "GET");
    ck_assert_str_eq(pt_str(t, 1, "http.request.method"), "GET");
    ck_assert_str_eq(pt_str(t, 1, "url.path"), "/index.html");
    ck_assert_str_eq(pt_str(t, 1, "url.extension"), "html");
    ck_assert_str_eq(pt_str(t, 1, "url.query"), "a=1&b=2");
    ck_assert_str_eq(pt_str(t, 1, "url.full"), "http://www.example.com/index.html?a=1&b=2");
    ck_assert_str_eq(pt_str(t, 1, "query"), "GET /index.html");
    ck_assert_str_eq(pt_str(t, 1, "user_agent.original"), "curl/8.0");
    ck_assert_str_eq(pt_str(t, 1, "http.request.headers.user-agent"), "curl/8.0");
    ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 200);
    ck_assert_int_eq(pt_int(t, 1, "http.response.body.bytes"), 5);
    ck_assert_str_eq(pt_str(t, 1, "http.response.headers.content-type"), "text/html");
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 1, "type"), "http");
    ck_assert_int_eq(pt_int(t, 1, "event.duration"), 2000000);
    ck_assert_ptr_null(pt_field(t, 1, "grpc"));
    /* bytes on the wire: frame headers and payloads of the stream */
    ck_assert_int_gt(pt_int(t, 1, "http.response.bytes"), 5 + 9 * 4);
    pt_close(t);
}
END_TEST

START_TEST(h2_split_anywhere)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0};
    client_bytes(&c);
    server_bytes(&s);
    struct pt_conn *t = pt_open(&pb_proto_http, cfg_default);
    pt_feed(t, TS, c.b, c.n);
    pt_feed(t, TC, s.b, s.n);
    char *want = pt_dump(t);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
    for (int side = 0; side < 2; side++) {
        const struct pt_buf *b = side == 0 ? &c : &s;
        for (size_t cut = 1; cut < b->n; cut++) {
            t = pt_open(&pb_proto_http, cfg_default);
            if (side == 0) {
                pt_feed(t, TS, c.b, cut);
                pt_feed(t, TS, c.b + cut, c.n - cut);
                pt_feed(t, TC, s.b, s.n);
            } else {
                pt_feed(t, TS, c.b, c.n);
                pt_feed(t, TC, s.b, cut);
                pt_feed(t, TC, s.b + cut, s.n - cut);
            }
            char *got = pt_dump(t);
            ck_assert_msg(strcmp(got, want) == 0, "side %d cut %zu: %s", side, cut, got);
            free(got);
            pt_close(t);
        }
    }
    /* byte by byte, both directions interleaved */
    t = pt_open(&pb_proto_http, cfg_default);
    pt_feed_bytewise(t, TS, c.b, c.n);
    pt_feed_bytewise(t, TC, s.b, s.n);
    pt_expect_dump(t, want);
    pt_close(t);
    free(want);
}
END_TEST

START_TEST(h2_server_settings_first_held)
{
    /* the server's SETTINGS may be captured before the client preface */
    struct pt_buf c = {.n = 0}, s = {.n = 0};
    client_bytes(&c);
    server_bytes(&s);
    struct pt_conn *t = pt_open(&pb_proto_http, cfg_default);
    pt_feed(t, TC, s.b, 9 + 6);
    pt_feed(t, TS, c.b, c.n);
    pt_feed(t, TC, s.b + 15, s.n - 15);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 0);
    pt_close(t);
}
END_TEST

START_TEST(h2_http1_unchanged)
{
    /* a plain HTTP/1.1 exchange is not taken for HTTP/2 */
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    pt_feeds(t, TS, "PR");
    pt_feeds(t, TS, "OPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "1.1");
    ck_assert_str_eq(pt_str(t, 0, "method"), "PROPFIND");
    pt_close(t);
    /* disabled: the preface is HTTP/1 garbage as in Packetbeat */
    t = pt_open(&pb_proto_http, "ports: [80]\nhttp2.enabled: false");
    struct pt_buf c = {.n = 0};
    client_bytes(&c);
    pt_feed(t, TS, c.b, c.n);
    ck_assert_uint_eq(((struct http_plugin *)pt_proto(t)->priv)->h2c.conns, 0);
    pt_close(t);
}
END_TEST

/* ---- gRPC ------------------------------------------------------------- */

START_TEST(h2_grpc_call)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0}, h = {.n = 0};
    preface(&c);
    settings(&c, false);
    hp_idx(&h, 3);
    hp_idx(&h, 6);
    hp_lit(&h, false, 4, NULL, "/helloworld.Greeter/SayHello");
    hp_lit(&h, false, 1, NULL, "127.0.0.1:50051");
    hp_lit(&h, false, 31, NULL, "application/grpc");
    hp_lit(&h, false, 0, "te", "trailers");
    frame(&c, H2_HEADERS, H2_FLAG_END_HEADERS, 1, h.b, h.n);
    /* two length-prefixed messages: 3 and 2 bytes, the second split */
    frame(&c, H2_DATA, 0, 1,
          "\0\0\0\0\x03"
          "abc\0\0\0",
          11);
    frame(&c, H2_DATA, H2_FLAG_END_STREAM, 1, "\0\x02xy", 4);
    settings(&s, false);
    h.n = 0;
    hp_idx(&h, 8);
    hp_lit(&h, false, 31, NULL, "application/grpc");
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS, 1, h.b, h.n);
    frame(&s, H2_DATA, 0, 1, "\0\0\0\0\x01z", 6);
    h.n = 0;
    hp_lit(&h, false, 0, "grpc-status", "5");
    hp_lit(&h, false, 0, "grpc-message", "no%20such%20name");
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 1, h.b, h.n);

    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [50051]");
    pt_feed(t, TS, c.b, c.n);
    pt_feed(t, TC, s.b, s.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "grpc.service"), "helloworld.Greeter");
    ck_assert_str_eq(pt_str(t, 0, "grpc.method"), "SayHello");
    ck_assert_int_eq(pt_int(t, 0, "grpc.status_code"), 5);
    ck_assert_str_eq(pt_str(t, 0, "grpc.message"), "no such name");
    ck_assert_int_eq(pt_int(t, 0, "grpc.request.messages"), 2);
    ck_assert_int_eq(pt_int(t, 0, "grpc.response.messages"), 1);
    ck_assert_int_eq(pt_int(t, 0, "http.request.body.bytes"), 15);
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 6);
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/helloworld.Greeter/SayHello");
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "2");
    pt_close(t);
}
END_TEST

START_TEST(grpc_helpers)
{
    size_t so, sl, mo, ml;
    ck_assert(grpc_split_path((const uint8_t *)"/a.B/C", 6, &so, &sl, &mo, &ml));
    ck_assert_uint_eq(so, 1);
    ck_assert_uint_eq(sl, 3);
    ck_assert_uint_eq(mo, 5);
    ck_assert_uint_eq(ml, 1);
    ck_assert(!grpc_split_path((const uint8_t *)"/a/b/c", 6, &so, &sl, &mo, &ml));
    ck_assert(!grpc_split_path((const uint8_t *)"//b", 3, &so, &sl, &mo, &ml));
    ck_assert(!grpc_split_path((const uint8_t *)"/a.B/", 5, &so, &sl, &mo, &ml));
    ck_assert(grpc_is_content_type((const uint8_t *)"application/grpc+proto", 22));
    ck_assert(!grpc_is_content_type((const uint8_t *)"application/grpc-web", 20));
    struct pb_bytes m = {0};
    grpc_message_decode((const uint8_t *)"a%2", 3, &m);
    ck_assert_uint_eq(m.len, 3); /* a short escape stays */
    pb_bytes_free(&m);
}
END_TEST

/* ---- h2c upgrade ------------------------------------------------------ */

START_TEST(h2c_upgrade)
{
    struct pt_buf s = {.n = 0}, c = {.n = 0}, h = {.n = 0};
    static const char req[] = "GET /up.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                              "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                              "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                             "Upgrade: h2c\r\n\r\n";
    pt_put(&s, sw, strlen(sw));
    settings(&s, false);
    hp_idx(&h, 8);
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS, 1, h.b, h.n);
    frame(&s, H2_DATA, H2_FLAG_END_STREAM, 1, "hi", 2);
    preface(&c);
    settings(&c, false);
    settings(&c, true);
    for (size_t cut = 0; cut < s.n; cut += (cut < strlen(sw) + 20 ? 1 : 5)) {
        struct pt_conn *t = pt_open(&pb_proto_http, "ports: [8080]");
        pt_feeds(t, TS, req);
        if (cut > 0) {
            pt_feed(t, TC, s.b, cut);
        }
        pt_feed(t, TC, s.b + cut, s.n - cut);
        pt_feed(t, TS, c.b, c.n);
        ck_assert_msg(pt_nevents(t) == 2, "cut %zu: %zu events", cut, pt_nevents(t));
        ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 101);
        ck_assert_str_eq(pt_str(t, 0, "http.version"), "1.1");
        ck_assert_str_eq(pt_str(t, 1, "http.version"), "2");
        ck_assert_str_eq(pt_str(t, 1, "url.path"), "/up.txt");
        ck_assert_str_eq(pt_str(t, 1, "method"), "GET");
        ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 200);
        ck_assert_int_eq(pt_int(t, 1, "http.response.body.bytes"), 2);
        ck_assert_uint_eq(((struct http_plugin *)pt_proto(t)->priv)->h2c.upgrades, 1);
        ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 0);
        pt_close(t);
    }
}
END_TEST

/* ---- resets, push, goaway, expiry ------------------------------------ */

static void get_headers(struct pt_buf *c, uint32_t sid, const char *path, uint8_t flags)
{
    struct pt_buf h = {.n = 0};
    hp_idx(&h, 2);
    hp_idx(&h, 6);
    hp_lit(&h, false, 4, NULL, path);
    hp_lit(&h, false, 1, NULL, "h");
    frame(c, H2_HEADERS, (uint8_t)(H2_FLAG_END_HEADERS | flags), sid, h.b, h.n);
}

START_TEST(h2_reset_push_goaway_expire)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0}, h = {.n = 0};
    preface(&c);
    get_headers(&c, 1, "/a", H2_FLAG_END_STREAM);
    get_headers(&c, 3, "/b", H2_FLAG_END_STREAM);
    get_headers(&c, 5, "/c", H2_FLAG_END_STREAM);
    get_headers(&c, 7, "/d", H2_FLAG_END_STREAM);
    frame(&c, H2_RST_STREAM, 0, 1, "\0\0\0\x08", 4); /* CANCEL */
    /* the server pushes /style.css on stream 2 (promised from stream 3) */
    pt_put(&h, "\0\0\0\x02", 4);
    hp_idx(&h, 2);
    hp_idx(&h, 6);
    hp_lit(&h, false, 4, NULL, "/style.css");
    hp_lit(&h, false, 1, NULL, "h");
    frame(&s, H2_PUSH_PROMISE, H2_FLAG_END_HEADERS, 3, h.b, h.n);
    h.n = 0;
    hp_idx(&h, 8);
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 2, h.b, h.n);
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS, 3, h.b, h.n); /* response started, not ended */
    /* GOAWAY: last processed stream 5, so 7 never was */
    frame(&s, H2_GOAWAY, 0, 0, "\0\0\0\x05\0\0\0\0", 8);
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    pt_feed(t, TS, c.b, c.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/a");
    json_t *err = pt_field(t, 0, "error.message");
    ck_assert(json_is_array(err));
    ck_assert_str_eq(json_string_value(json_array_get(err, 0)), "stream reset: CANCEL");
    pt_feed(t, TC, s.b, s.n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 1, "url.path"), "/style.css");
    ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 2, "url.path"), "/d");
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 5);
    ck_assert_str_eq(pt_str(t, 3, "url.path"), "/b"); /* response began, never ended */
    ck_assert_int_eq(pt_int(t, 3, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 4, "url.path"), "/c");
    ck_assert_str_eq(pt_str(t, 4, "error.message"), "Unmatched request");
    pt_close(t);
}
END_TEST

/* ---- caps ------------------------------------------------------------- */

static struct http2_counters *counters(struct pt_conn *t)
{
    return &((struct http_plugin *)pt_proto(t)->priv)->h2c;
}

START_TEST(h2_cap_streams)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0}, h = {.n = 0};
    preface(&c);
    hp_idx(&h, 8);
    for (uint32_t sid = 1; sid <= 7; sid += 2) {
        get_headers(&c, sid, "/x", H2_FLAG_END_STREAM);
        frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, sid, h.b, h.n);
    }
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]\nhttp2.max_streams: 2");
    pt_feed(t, TS, c.b, c.n);
    pt_feed(t, TC, s.b, s.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_uint_eq(counters(t)->stream_cap, 2);
    ck_assert_uint_eq(pt_proto(t)->stats.dropped, 2);
    pt_close(t);
}
END_TEST

START_TEST(h2_cap_header_list)
{
    struct pt_buf c = {.n = 0}, h = {.n = 0};
    char big[700];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    preface(&c);
    /* stream 1 puts a 700-byte field in the table (list under 1024) */
    hp_idx(&h, 2);
    hp_lit(&h, false, 4, NULL, "/one");
    hp_lit(&h, true, 0, "x-big", big);
    frame(&c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 1, h.b, h.n);
    /* stream 3 refers to it twice: small block, list over 1024 */
    h.n = 0;
    hp_idx(&h, 2);
    hp_lit(&h, false, 4, NULL, "/two");
    hp_idx(&h, 62);
    hp_idx(&h, 62);
    frame(&c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 3, h.b, h.n);
    /* stream 5: a block larger than the cap cannot be decoded */
    h.n = 0;
    hp_idx(&h, 2);
    hp_lit(&h, false, 0, "x-huge", big);
    hp_lit(&h, false, 0, "x-huge2", big);
    frame(&c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 5, h.b, h.n);
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]\nhttp2.max_header_list_size: 1024");
    pt_feed(t, TS, c.b, c.n);
    ck_assert_uint_eq(counters(t)->header_list_cap, 1);
    ck_assert_uint_eq(counters(t)->block_cap, 1);
    struct pb_conn *pc = pt_pbconn(t);
    (void)pc;
    pt_expire(t); /* the state was dropped with stream 5: nothing pending */
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(h2_cap_table_size)
{
    struct pt_buf c = {.n = 0}, h = {.n = 0};
    preface(&c);
    hp_int(&h, 0x20, 5, 100000); /* table size update beyond 64 KiB */
    hp_idx(&h, 2);
    frame(&c, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 1, h.b, h.n);
    get_headers(&c, 3, "/later", H2_FLAG_END_STREAM);
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    ck_assert_int_eq(pt_feed(t, TS, c.b, c.n), PB_PARSE_DROP);
    ck_assert_uint_eq(counters(t)->table_cap, 1);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
    /* a bigger cap accepts it */
    t = pt_open(&pb_proto_http, "ports: [80]\nhttp2.max_dynamic_table_size: 200000");
    pt_feed(t, TS, c.b, c.n);
    ck_assert_uint_eq(counters(t)->table_cap, 0);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

/* ---- gaps ------------------------------------------------------------- */

START_TEST(h2_gap_in_data_survives)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0}, h = {.n = 0};
    char body[100];
    memset(body, 'b', sizeof body);
    preface(&c);
    get_headers(&c, 1, "/big", H2_FLAG_END_STREAM);
    hp_idx(&h, 8);
    frame(&s, H2_HEADERS, H2_FLAG_END_HEADERS, 1, h.b, h.n);
    frame(&s, H2_DATA, H2_FLAG_END_STREAM, 1, body, sizeof body);
    get_headers(&c, 3, "/next", H2_FLAG_END_STREAM);
    size_t c1 = c.n;
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    pt_feed(t, TS, c.b, c1);
    size_t head = s.n - sizeof body;
    pt_feed(t, TC, s.b, head + 30);
    pt_gap(t, TC, 40);
    pt_feed(t, TC, s.b + head + 70, 30);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 100);
    ck_assert_uint_eq(counters(t)->gaps_survived, 1);
    /* stream 3 still decodes: HPACK state intact */
    struct pt_buf s2 = {.n = 0};
    frame(&s2, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 3, h.b, h.n);
    pt_feed(t, TC, s2.b, s2.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "url.path"), "/next");
    pt_close(t);
}
END_TEST

START_TEST(h2_gap_in_headers_drops)
{
    struct pt_buf c = {.n = 0};
    preface(&c);
    get_headers(&c, 1, "/a", H2_FLAG_END_STREAM);
    get_headers(&c, 3, "/b", H2_FLAG_END_STREAM);
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    pt_feed(t, TS, c.b, H2_PREFACE_LEN + 12);
    pt_gap(t, TS, 5);
    pt_feed(t, TS, c.b + H2_PREFACE_LEN + 17, c.n - H2_PREFACE_LEN - 17);
    ck_assert_uint_eq(counters(t)->gap_drops, 1);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

/* ---- garbage ---------------------------------------------------------- */

static uint32_t rng_state = 2463534242u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

START_TEST(h2_garbage_never_crashes)
{
    struct pt_buf c = {.n = 0}, s = {.n = 0};
    client_bytes(&c);
    server_bytes(&s);
    static const char *cfgs[] = {
        "ports: [80]",
        "ports: [80]\nsend_all_headers: true\nsend_request: true\nsend_response: true\n"
        "include_body_for: [\"text\"]\nhttp2.max_streams: 1\nhttp2.max_header_list_size: 100",
    };
    for (int iter = 0; iter < 3000; iter++) {
        struct pt_buf mc = c, ms = s;
        /* corrupt a few bytes after the preface (sometimes none) */
        int flips = (int)(rnd() % 4);
        for (int k = 0; k < flips; k++) {
            struct pt_buf *b = (rnd() & 1) ? &mc : &ms;
            size_t at = (b == &mc ? H2_PREFACE_LEN : 0) + rnd() % (b->n - H2_PREFACE_LEN);
            b->b[at] = (uint8_t)rnd();
        }
        if (iter % 7 == 0) {
            /* pure noise after the preface */
            for (size_t i = H2_PREFACE_LEN; i < mc.n; i++) {
                mc.b[i] = (uint8_t)rnd();
            }
        }
        struct pt_conn *t = pt_open(&pb_proto_http, cfgs[iter & 1]);
        size_t pc = 0, ps = 0;
        while (pc < mc.n || ps < ms.n) {
            bool toc = ps < ms.n && (pc >= mc.n || (rnd() & 1));
            struct pt_buf *b = toc ? &ms : &mc;
            size_t *pos = toc ? &ps : &pc;
            size_t n = 1 + rnd() % 40;
            if (n > b->n - *pos) {
                n = b->n - *pos;
            }
            if (rnd() % 50 == 0) {
                pt_gap(t, toc ? TC : TS, n);
            } else {
                pt_feed(t, toc ? TC : TS, b->b + *pos, n);
            }
            *pos += n;
        }
        pt_expire(t);
        pt_close(t);
    }
}
END_TEST

static Suite *http2_suite(void)
{
    Suite *s = suite_create("http2");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hpack_integers);
    tcase_add_test(tc, hpack_c2_literals);
    tcase_add_test(tc, hpack_c3_requests);
    tcase_add_test(tc, hpack_c4_requests_huffman);
    tcase_add_test(tc, hpack_c5_responses_evictions);
    tcase_add_test(tc, hpack_c6_responses_huffman);
    tcase_add_test(tc, hpack_huffman_all_symbols);
    tcase_add_test(tc, hpack_huffman_bad);
    tcase_add_test(tc, hpack_errors_and_caps);
    tcase_add_test(tc, h2_multiplexed_fields);
    tcase_add_test(tc, h2_split_anywhere);
    tcase_add_test(tc, h2_server_settings_first_held);
    tcase_add_test(tc, h2_http1_unchanged);
    tcase_add_test(tc, h2_grpc_call);
    tcase_add_test(tc, grpc_helpers);
    tcase_add_test(tc, h2c_upgrade);
    tcase_add_test(tc, h2_reset_push_goaway_expire);
    tcase_add_test(tc, h2_cap_streams);
    tcase_add_test(tc, h2_cap_header_list);
    tcase_add_test(tc, h2_cap_table_size);
    tcase_add_test(tc, h2_gap_in_data_survives);
    tcase_add_test(tc, h2_gap_in_headers_drops);
    tcase_add_test(tc, h2_garbage_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(http2_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
