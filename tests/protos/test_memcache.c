/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_memcache.c - memcache: text and binary parsing, split
 * anywhere, pipelining and quiet requests, merged multi-part replies,
 * options (parseunknown, maxvalues, maxbytespervalue,
 * udptransactiontimeout), UDP framing, gaps, expiry and hostile input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protos/memcache/memcache_int.h"
#include "protos/memcache/memcache_parse.h"
#include "protos/proto.h"
#include "publisher/codec.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_memcache;

#define CFG "ports: [11211]"

/* ---- binary message builder ---- */

/* Appends one binary message: 24-byte header, extras, key, value. */
static void bin_msg(struct pt_buf *m, uint8_t magic, uint8_t opcode, uint16_t status,
                    uint32_t opaque, uint64_t cas, const void *extras, size_t elen, const char *key,
                    const void *value, size_t vlen)
{
    size_t klen = key != NULL ? strlen(key) : 0;
    pt_u8(m, magic);
    pt_u8(m, opcode);
    pt_be16(m, (uint16_t)klen);
    pt_u8(m, (uint8_t)elen);
    pt_u8(m, 0);
    pt_be16(m, status);
    pt_be32(m, (uint32_t)(elen + klen + vlen));
    pt_be32(m, opaque);
    pt_be64(m, cas);
    for (size_t i = 0; i < elen; i++) {
        pt_u8(m, ((const uint8_t *)extras)[i]);
    }
    for (size_t i = 0; i < klen; i++) {
        pt_u8(m, (uint8_t)key[i]);
    }
    for (size_t i = 0; i < vlen; i++) {
        pt_u8(m, ((const uint8_t *)value)[i]);
    }
}

static const uint8_t set_extras[8] = {0, 0, 0, 5, 0, 0, 0, 60}; /* flags 5, exptime 60 */

/* ---- text ---- */

START_TEST(text_store_load)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "set k 3 0 5\r\nhello\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "STORED\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "get k x\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "VALUE k 3 5\r\nhello\r\nEND\r\n");
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.command"), "set");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.type"), "Store");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.keys.0"), "k");
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.flags"), 3);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.bytes"), 5);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.count_values"), 1);
    ck_assert(json_is_false(pt_field(t, 0, "memcache.request.noreply")));
    ck_assert_ptr_null(pt_field(t, 0, "memcache.request.values"));
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.command"), "STORED");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.type"), "Success");
    ck_assert_str_eq(pt_str(t, 0, "memcache.protocol_type"), "text");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "memcache.store");
    ck_assert_str_eq(pt_str(t, 0, "event.outcome"), "success");
    /* Packetbeat's applayer: response size in source.bytes */
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 8);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 20);

    ck_assert_str_eq(pt_str(t, 1, "memcache.request.keys.1"), "x");
    ck_assert_str_eq(pt_str(t, 1, "memcache.response.command"), "VALUE");
    ck_assert_int_eq(pt_int(t, 1, "memcache.response.count_values"), 1);
    ck_assert_int_eq(pt_int(t, 1, "memcache.response.bytes"), 5);
    ck_assert_str_eq(pt_str(t, 1, "memcache.response.keys.0"), "k");
    ck_assert_int_eq(pt_int(t, 1, "source.bytes"), 25);
    pt_close(t);
}
END_TEST

START_TEST(text_errors_status)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "incr k 1\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "CLIENT_ERROR cannot increment\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "delete k\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "NOT_FOUND\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "incr n 7\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "12\r\n");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Client Error");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.error_msg"), "cannot increment");
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.delta"), 1);
    ck_assert_str_eq(pt_str(t, 1, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 1, "memcache.response.type"), "Fail");
    ck_assert_str_eq(pt_str(t, 2, "memcache.response.command"), "<counter_op_res>");
    ck_assert_int_eq(pt_int(t, 2, "memcache.response.value"), 12);
    pt_close(t);
}
END_TEST

/* Keys past the first block of offsets; raw_args cut out of the line,
 * also after a sub-command. */
START_TEST(text_many_keys_and_raw_args)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "get a bb ccc d e f g h i\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "END\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "lru_crawler crawl 1,2,3\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "OK\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "stats  slabs x\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "END\r\n");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.keys.0"), "a");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.keys.2"), "ccc");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.keys.4"), "e");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.keys.8"), "i");
    ck_assert_ptr_null(pt_field(t, 0, "memcache.request.keys.9"));
    ck_assert_str_eq(pt_str(t, 1, "memcache.request.raw_args"), "1,2,3");
    ck_assert_str_eq(pt_str(t, 2, "memcache.request.raw_args"), " slabs x");
    pt_close(t);
}
END_TEST

/* Keys beyond a message's inline room (the request's and, merged from
 * three VALUEs, the response's); the messages are reused by the next
 * transaction, which must show none of them. */
START_TEST(text_long_keys_then_reuse)
{
    char k[3][41], req[160], resp[256];
    for (int i = 0; i < 3; i++) {
        memset(k[i], 'a' + i, 40);
        k[i][40] = '\0';
    }
    snprintf(req, sizeof req, "get %s %s %s\r\n", k[0], k[1], k[2]);
    snprintf(resp, sizeof resp,
             "VALUE %s 0 1\r\nx\r\nVALUE %s 0 1\r\ny\r\nVALUE %s 0 1\r\nz\r\nEND\r\n", k[0], k[1],
             k[2]);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    for (int round = 0; round < 2; round++) {
        pt_feeds(t, PB_DIR_TO_SERVER, req);
        pt_feeds(t, PB_DIR_TO_CLIENT, resp);
        pt_feeds(t, PB_DIR_TO_SERVER, "get k\r\n");
        pt_feeds(t, PB_DIR_TO_CLIENT, "END\r\n");
    }
    ck_assert_uint_eq(pt_nevents(t), 4);
    for (size_t e = 0; e < 4; e += 2) {
        for (int i = 0; i < 3; i++) {
            char path[64];
            snprintf(path, sizeof path, "memcache.request.keys.%d", i);
            ck_assert_str_eq(pt_str(t, e, path), k[i]);
            snprintf(path, sizeof path, "memcache.response.keys.%d", i);
            ck_assert_str_eq(pt_str(t, e, path), k[i]);
        }
        ck_assert_int_eq(pt_int(t, e, "memcache.response.count_values"), 3);
        ck_assert_int_eq(pt_int(t, e, "memcache.response.bytes"), 3);
        ck_assert_str_eq(pt_str(t, e + 1, "memcache.request.keys.0"), "k");
        ck_assert_ptr_null(pt_field(t, e + 1, "memcache.request.keys.1"));
        ck_assert_ptr_null(pt_field(t, e + 1, "memcache.response.keys"));
        ck_assert_ptr_null(pt_field(t, e + 1, "memcache.response.count_values"));
    }
    pt_close(t);
}
END_TEST

START_TEST(text_stats_merged)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "stats\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "STAT pid 42\r\nSTAT uptime 7\r\n");
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feeds(t, PB_DIR_TO_CLIENT, "END\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.raw_args"), "");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.command"), "STAT");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.type"), "Stats");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.stats.1.name"), "uptime");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.stats.1.value"), "7");
    pt_close(t);
}
END_TEST

START_TEST(text_quit_and_noreply)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "quit\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "memcache.info");
    /* a noreply request waits; on expiry it is published, OK, no note */
    pt_feeds(t, PB_DIR_TO_SERVER, "set a 0 0 1 noreply\r\nx\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "touch b 10\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert(json_is_true(pt_field(t, 1, "memcache.request.noreply")));
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    ck_assert_ptr_null(pt_field(t, 1, "error.message"));
    ck_assert_str_eq(pt_str(t, 2, "memcache.request.command"), "touch");
    ck_assert_str_eq(pt_str(t, 2, "status"), "Server Error");
    ck_assert_str_eq(pt_str(t, 2, "error.message"), "Unfinished transaction");
    pt_close(t);
}
END_TEST

START_TEST(text_subcommands)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "slabs reassign 1 -1\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "OK\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "slabs automove 2\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "OK\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "lru_crawler sleep 100\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "OK\r\n");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.command"), "slabs reassign");
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.source_class"), 1);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.dest_class"), -1);
    ck_assert_str_eq(pt_str(t, 1, "memcache.request.automove"), "aggressive");
    ck_assert_str_eq(pt_str(t, 2, "memcache.request.type"), "LRUCrawler");
    ck_assert_int_eq(pt_int(t, 2, "memcache.request.sleep_us"), 100);
    pt_close(t);
}
END_TEST

START_TEST(parse_unknown_option)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "frobnicate a b\r\n"), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);

    t = pt_open(&pb_proto_memcache, CFG "\nparseunknown: true");
    pt_feeds(t, PB_DIR_TO_SERVER, "frobnicate a b\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "ERROR\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.command"), "UNKNOWN");
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.line"), "frobnicate a b");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "memcache.unknown");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    pt_close(t);
}
END_TEST

START_TEST(max_values_options)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG "\nmaxvalues: -1\nmaxbytespervalue: 2");
    pt_feeds(t, PB_DIR_TO_SERVER, "set k 0 0 5\r\nhello\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "STORED\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "get a b c\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT,
             "VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE c 0 1\r\n3\r\nEND\r\n");
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_ptr_nonnull(pt_field(t, 0, "memcache.request.values"));
    json_t *vals = pt_field(t, 1, "memcache.response.values");
    ck_assert(json_is_array(vals));
    ck_assert_uint_eq(json_array_size(vals), 3);
    ck_assert_int_eq(pt_int(t, 1, "memcache.response.count_values"), 3);
    pt_close(t);

    /* default: no values kept */
    t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "get a\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "VALUE a 0 1\r\n1\r\nEND\r\n");
    ck_assert_ptr_null(pt_field(t, 0, "memcache.response.values"));
    pt_close(t);
}
END_TEST

static char *text_session(size_t cut_req, size_t cut_resp)
{
    static const char req[] = "set k1 0 0 3\r\nabc\r\nget k1 k2\r\nstats\r\nquit\r\n";
    static const char resp[] = "STORED\r\nVALUE k1 0 3\r\nabc\r\nEND\r\nSTAT a b\r\nEND\r\n";
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, req, cut_req);
    pt_feed(t, PB_DIR_TO_SERVER, req + cut_req, strlen(req) - cut_req);
    pt_feed(t, PB_DIR_TO_CLIENT, resp, cut_resp);
    pt_feed(t, PB_DIR_TO_CLIENT, resp + cut_resp, strlen(resp) - cut_resp);
    char *s = pt_dump(t);
    size_t n = pt_nevents(t);
    pt_close(t);
    ck_assert_uint_eq(n, 4);
    return s;
}

START_TEST(text_split_anywhere)
{
    char *whole = text_session(0, 0);
    for (size_t i = 1; i < 40; i++) {
        char *s = text_session(i, 0);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    for (size_t i = 1; i < 47; i++) {
        char *s = text_session(0, i);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(text_byte_by_byte)
{
    static const char req[] = "set k1 0 0 3\r\nabc\r\n";
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    for (size_t i = 0; i < strlen(req); i++) {
        pt_feed(t, PB_DIR_TO_SERVER, req + i, 1);
    }
    pt_feeds(t, PB_DIR_TO_CLIENT, "STORED\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)strlen(req));
    pt_close(t);
}
END_TEST

/* ---- binary ---- */

static void bin_session(struct pt_buf *req, struct pt_buf *resp)
{
    uint8_t incr[20] = {0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t counter[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    memset(req, 0, sizeof *req);
    memset(resp, 0, sizeof *resp);
    bin_msg(req, 0x80, 0x01, 0, 1, 0, set_extras, 8, "key", "val", 3); /* Set */
    bin_msg(req, 0x80, 0x0d, 0, 2, 0, NULL, 0, "x", NULL, 0);          /* GetKQ miss */
    bin_msg(req, 0x80, 0x0d, 0, 3, 0, NULL, 0, "key", NULL, 0);        /* GetKQ hit */
    bin_msg(req, 0x80, 0x05, 0, 4, 0, incr, 20, "cnt", NULL, 0);       /* Increment */
    bin_msg(req, 0x80, 0x0a, 0, 5, 0, NULL, 0, NULL, NULL, 0);         /* No-op */
    bin_msg(resp, 0x81, 0x01, 0, 1, 77, NULL, 0, NULL, NULL, 0);
    bin_msg(resp, 0x81, 0x0d, 0, 3, 77, set_extras, 4, "key", "val", 3);
    bin_msg(resp, 0x81, 0x05, 0, 4, 78, NULL, 0, NULL, counter, 8);
    bin_msg(resp, 0x81, 0x0a, 0, 5, 0, NULL, 0, NULL, NULL, 0);
}

static char *bin_events(size_t cut_req, size_t cut_resp, size_t *n)
{
    struct pt_buf req, resp;
    bin_session(&req, &resp);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, req.b, cut_req);
    pt_feed(t, PB_DIR_TO_SERVER, req.b + cut_req, req.n - cut_req);
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, cut_resp);
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b + cut_resp, resp.n - cut_resp);
    char *s = pt_dump(t);
    *n = pt_nevents(t);
    pt_close(t);
    return s;
}

START_TEST(binary_fields)
{
    struct pt_buf req, resp;
    bin_session(&req, &resp);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, req.b, req.n);
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    ck_assert_uint_eq(pt_nevents(t), 5);
    /* set */
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.opcode"), "Set");
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.opcode_value"), 1);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.flags"), 5);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.exptime"), 60);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.bytes"), 3);
    ck_assert(json_is_false(pt_field(t, 0, "memcache.request.quiet")));
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.status"), "Success");
    ck_assert_int_eq(pt_int(t, 0, "memcache.response.cas_unique"), 77);
    ck_assert_str_eq(pt_str(t, 0, "memcache.protocol_type"), "binary");
    /* quiet miss published alone */
    ck_assert_str_eq(pt_str(t, 1, "memcache.request.keys.0"), "x");
    ck_assert(json_is_true(pt_field(t, 1, "memcache.request.quiet")));
    ck_assert_ptr_null(pt_field(t, 1, "memcache.response"));
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    /* quiet hit */
    ck_assert_str_eq(pt_str(t, 2, "memcache.response.keys.0"), "key");
    ck_assert_int_eq(pt_int(t, 2, "memcache.response.flags"), 5);
    ck_assert_int_eq(pt_int(t, 2, "memcache.response.count_values"), 1);
    /* increment */
    ck_assert_str_eq(pt_str(t, 3, "memcache.request.command"), "incr");
    ck_assert_int_eq(pt_int(t, 3, "memcache.request.delta"), 2);
    ck_assert_int_eq(pt_int(t, 3, "memcache.request.initial"), 0);
    ck_assert_int_eq(pt_int(t, 3, "memcache.response.value"), 2);
    /* noop */
    ck_assert_str_eq(pt_str(t, 4, "memcache.request.opcode"), "No-op");
    ck_assert_int_eq(pt_int(t, 4, "memcache.response.opaque"), 5);
    pt_close(t);
}
END_TEST

START_TEST(binary_split_anywhere)
{
    struct pt_buf req, resp;
    bin_session(&req, &resp);
    size_t n = 0;
    char *whole = bin_events(0, 0, &n);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 1; i < req.n; i++) {
        char *s = bin_events(i, 0, &n);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    for (size_t i = 1; i < resp.n; i++) {
        char *s = bin_events(0, i, &n);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(binary_status_and_stats)
{
    struct pt_buf req = {0}, resp = {0};
    bin_msg(&req, 0x80, 0x00, 0, 9, 0, NULL, 0, "gone", NULL, 0); /* Get */
    bin_msg(&resp, 0x81, 0x00, 1, 9, 0, NULL, 0, NULL, "Not found", 9);
    bin_msg(&req, 0x80, 0x10, 0, 10, 0, NULL, 0, NULL, NULL, 0); /* Stat */
    bin_msg(&resp, 0x81, 0x10, 0, 10, 0, NULL, 0, "pid", "1", 1);
    bin_msg(&resp, 0x81, 0x10, 0, 10, 0, NULL, 0, "uptime", "99", 2);
    bin_msg(&resp, 0x81, 0x10, 0, 10, 0, NULL, 0, NULL, NULL, 0);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, req.b, req.n);
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.status"), "Key not found");
    ck_assert_int_eq(pt_int(t, 0, "memcache.response.status_code"), 1);
    ck_assert_ptr_null(pt_field(t, 0, "event.outcome"));
    ck_assert_str_eq(pt_str(t, 1, "memcache.response.stats.0.name"), "pid");
    ck_assert_str_eq(pt_str(t, 1, "memcache.response.stats.1.value"), "99");
    ck_assert_str_eq(pt_str(t, 1, "event.action"), "memcache.stats");
    pt_close(t);
}
END_TEST

START_TEST(binary_missing_response_note)
{
    /* a non-quiet request skipped by a later response gets a note */
    struct pt_buf req = {0}, resp = {0};
    bin_msg(&req, 0x80, 0x00, 0, 1, 0, NULL, 0, "a", NULL, 0);
    bin_msg(&req, 0x80, 0x00, 0, 2, 0, NULL, 0, "b", NULL, 0);
    bin_msg(&resp, 0x81, 0x00, 0, 2, 0, set_extras, 4, NULL, "v", 1);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, req.b, req.n);
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Missing response for non-quiet request");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Server Error");
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    /* a response nobody asked for */
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 2, "status"), "Client Error");
    ck_assert_str_eq(pt_str(t, 2, "error.message"), "Invalid transaction. Request missing");
    ck_assert_str_eq(pt_str(t, 2, "source.ip"), "10.0.0.1");
    pt_close(t);
}
END_TEST

START_TEST(gap_inside_value)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "set k 0 0 10\r\nabc");
    pt_gap(t, PB_DIR_TO_SERVER, 4);
    pt_feeds(t, PB_DIR_TO_SERVER, "hij\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "STORED\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.count_values"), 1);
    ck_assert_int_eq(pt_int(t, 0, "memcache.request.bytes"), 10);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the request");
    /* size counts only the bytes seen */
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 14 + 3 + 5);
    pt_close(t);
}
END_TEST

START_TEST(gap_outside_value)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "get a\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "VAL");
    pt_gap(t, PB_DIR_TO_CLIENT, 100);
    /* the pending request is published unfinished, state dropped */
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Unfinished transaction");
    pt_feeds(t, PB_DIR_TO_CLIENT, "UE a 0 1\r\nx\r\nEND\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(two_notes_list)
{
    /* a request with a gap that is then left unfinished: both notes, in a
     * list */
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "set k 0 0 10\r\nabc");
    pt_gap(t, PB_DIR_TO_SERVER, 4);
    pt_feeds(t, PB_DIR_TO_SERVER, "hij\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "STO");
    pt_gap(t, PB_DIR_TO_CLIENT, 100);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message.0"), "Packet loss while capturing the request");
    ck_assert_str_eq(pt_str(t, 0, "error.message.1"), "Unfinished transaction");
    ck_assert_ptr_null(pt_field(t, 0, "error.message.2"));
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "memcache.store");
    pt_close(t);
}
END_TEST

START_TEST(mixed_protocols_dropped)
{
    struct pt_buf resp = {0};
    bin_msg(&resp, 0x81, 0x01, 0, 1, 0, NULL, 0, NULL, NULL, 0);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "version\r\n");
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

/* ---- UDP ---- */

static void udp_frame(struct pt_buf *m, uint16_t id, uint16_t seq, uint16_t num, const void *p,
                      size_t n)
{
    memset(m, 0, sizeof *m);
    pt_be16(m, id);
    pt_be16(m, seq);
    pt_be16(m, num);
    pt_be16(m, 0);
    for (size_t i = 0; i < n; i++) {
        pt_u8(m, ((const uint8_t *)p)[i]);
    }
}

START_TEST(udp_request_response)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    struct pt_buf f;
    udp_frame(&f, 7, 0, 1, "get k\r\n", 7);
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    udp_frame(&f, 7, 0, 1, "END\r\n", 5);
    pt_datagram(t, PB_DIR_TO_CLIENT, f.b, f.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* (the harness gives datagrams its TCP tuple: transport not checked) */
    ck_assert_str_eq(pt_str(t, 0, "memcache.response.command"), "END");
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.1");
    pt_close(t);
}
END_TEST

START_TEST(udp_timeout_and_shutdown)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG "\nudptransactiontimeout: 1s");
    struct pt_buf f;
    udp_frame(&f, 1, 0, 1, "set a 0 0 1 noreply\r\nx\r\n", 24);
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    uint64_t now = pb_now_ns();
    pt_tick(t, now);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, now + 2000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert(json_is_true(pt_field(t, 0, "memcache.request.noreply")));
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    /* pending at shutdown with no shutdown_timeout: dropped */
    udp_frame(&f, 2, 0, 1, "get b\r\n", 7);
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    pt_shutdown(t);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

/* Transactions whose timers fall due at the same instant (one frame clock)
   are published in the order they began. */
START_TEST(udp_equal_deadlines_fire_oldest_first)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG "\nudptransactiontimeout: 1s");
    const uint64_t at = 1700000000000000000ull;
    pb_frame_clock = at;
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
    const size_t n = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < n; i++) {
        char req[32];
        int len = snprintf(req, sizeof req, "get %s\r\n", keys[i]);
        struct pt_buf f;
        udp_frame(&f, (uint16_t)(i + 1), 0, 1, req, (size_t)len);
        pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    }
    pb_frame_clock = 0;
    pt_tick(t, at + 2000000000ull);
    ck_assert_uint_eq(pt_nevents(t), n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(pt_str(t, i, "memcache.request.keys.0"), keys[i]);
    }
    pt_close(t);
}
END_TEST

START_TEST(udp_multi_datagram)
{
    static const char reply[] = "VALUE k 0 10\r\n0123456789\r\nEND\r\n";
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    struct pt_buf f;
    udp_frame(&f, 3, 0, 1, "get k\r\n", 7);
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    /* reply in 3 datagrams, out of order, one duplicated */
    udp_frame(&f, 3, 2, 3, reply + 20, sizeof reply - 1 - 20);
    pt_datagram(t, PB_DIR_TO_CLIENT, f.b, f.n);
    udp_frame(&f, 3, 0, 3, reply, 10);
    pt_datagram(t, PB_DIR_TO_CLIENT, f.b, f.n);
    pt_datagram(t, PB_DIR_TO_CLIENT, f.b, f.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    udp_frame(&f, 3, 1, 3, reply + 10, 10);
    pt_datagram(t, PB_DIR_TO_CLIENT, f.b, f.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "memcache.response.bytes"), 10);
    ck_assert_int_eq(pt_int(t, 0, "memcache.response.count_values"), 1);
    pt_close(t);
}
END_TEST

START_TEST(udp_binary_quiet)
{
    struct pt_buf m = {0}, f;
    bin_msg(&m, 0x80, 0x11, 0, 1, 0, set_extras, 8, "k", "v", 1); /* SetQ */
    udp_frame(&f, 9, 0, 1, m.b, m.n);
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG "\nudptransactiontimeout: 10ms");
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    pt_tick(t, pb_now_ns() + 1000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "memcache.request.opcode"), "SetQ");
    ck_assert(json_is_true(pt_field(t, 0, "memcache.request.quiet")));
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(udp_garbage)
{
    struct pt_conn *t = pt_open(&pb_proto_memcache, CFG);
    struct pt_buf f;
    pt_datagram(t, PB_DIR_TO_SERVER, "abc", 3);
    udp_frame(&f, 1, 5, 2, "get", 3); /* seq past the count */
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    udp_frame(&f, 1, 0, 1, "get", 3); /* no CRLF: incomplete */
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    udp_frame(&f, 2, 0, 0, NULL, 0);
    pt_datagram(t, PB_DIR_TO_SERVER, f.b, f.n);
    pt_tick(t, pb_now_ns() + 100000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(hostile_bytes)
{
    srand(11);
    for (int round = 0; round < 200; round++) {
        struct pt_conn *t = pt_open(&pb_proto_memcache, CFG "\nparseunknown: true\nmaxvalues: -1");
        for (int k = 0; k < 20; k++) {
            uint8_t buf[96];
            size_t n = (size_t)(rand() % (int)sizeof buf) + 1;
            for (size_t i = 0; i < n; i++) {
                static const char alpha[] = "get set VALUE END STAT 12 \r\n\x80\x81";
                buf[i] = (rand() % 4 == 0) ? (uint8_t)rand()
                                           : (uint8_t)alpha[rand() % (int)(sizeof alpha - 1)];
            }
            int what = rand() % 12;
            if (what == 0) {
                pt_gap(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, (size_t)rand() % 50);
            } else if (what == 1) {
                pt_datagram(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, buf, n);
            } else if (what == 2) {
                pt_expire(t);
            } else {
                pt_feed(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, buf, n);
            }
        }
        pt_tick(t, pb_now_ns() + 100000000000ull);
        pt_shutdown(t);
        pt_close(t);
    }
}
END_TEST

/* ---- the section written straight (mc_section_fast) ---- */

static uint32_t fast_rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A key: plain mostly; sometimes with a byte the codec escapes, non-ASCII
 * (valid or not), empty-looking, or long. */
static void fast_key(struct pt_buf *b, uint32_t *s)
{
    static const char *const odd[] = {"q\"k",    "b\\s",         "c\x01", "caf\xc3\xa9",
                                      "bad\xff", "\xe2\x80\xa8", "<a&b>"};
    unsigned what = fast_rnd(s) % 16;
    if (what < 2) {
        const char *k = odd[fast_rnd(s) % (sizeof odd / sizeof odd[0])];
        pt_put(b, k, strlen(k));
        return;
    }
    size_t n = what == 2 ? 200 + fast_rnd(s) % 60 : 1 + fast_rnd(s) % 24;
    for (size_t i = 0; i < n; i++) {
        pt_u8(b, "abcxyz:019_-./"[fast_rnd(s) % 14]);
    }
}

/* A number: small, at the 32- and 64-bit edges, or any. */
static void fast_num(struct pt_buf *b, uint32_t *s)
{
    static const char *const edge[] = {"0",
                                       "1",
                                       "4294967295",
                                       "9223372036854775807",
                                       "9223372036854775808",
                                       "18446744073709551615"};
    char t[32];
    unsigned what = fast_rnd(s) % 4;
    if (what == 0) {
        snprintf(t, sizeof t, "%s", edge[fast_rnd(s) % (sizeof edge / sizeof edge[0])]);
    } else {
        snprintf(t, sizeof t, "%u", fast_rnd(s) % (what == 1 ? 100000u : 1000u));
    }
    pt_put(b, t, strlen(t));
}

/* One text message from a template: K a key, M up to 300 keys, N a
 * number, D a data block with its length before it, W a word of the
 * wire (a key), R noreply or nothing. */
static void fast_message(struct pt_buf *b, const char *tpl, uint32_t *s)
{
    char data[64];
    size_t dlen = fast_rnd(s) % sizeof data;
    for (size_t i = 0; i < dlen; i++) {
        data[i] = (char)('a' + fast_rnd(s) % 26);
    }
    bool with_data = false;
    for (const char *p = tpl; *p != '\0'; p++) {
        switch (*p) {
        case 'K':
        case 'W':
            fast_key(b, s);
            break;
        case 'M': {
            unsigned n = fast_rnd(s) % 8 == 0 ? 100 + fast_rnd(s) % 200 : 1 + fast_rnd(s) % 6;
            for (unsigned i = 0; i < n; i++) {
                if (i > 0) {
                    pt_u8(b, ' ');
                }
                fast_key(b, s);
            }
            break;
        }
        case 'N':
            fast_num(b, s);
            break;
        case 'D': {
            char t[16];
            snprintf(t, sizeof t, "%zu", dlen);
            pt_put(b, t, strlen(t));
            with_data = true;
            break;
        }
        case 'R':
            if (fast_rnd(s) % 2) {
                pt_put(b, " noreply", 8);
            }
            break;
        default:
            pt_u8(b, (uint8_t)*p);
        }
    }
    pt_put(b, "\r\n", 2);
    if (with_data) {
        pt_put(b, data, dlen);
        pt_put(b, "\r\n", 2);
    }
}

/* The first message of b, or NULL. */
static struct mc_msg *fast_parse(const struct pt_buf *b, const struct mc_config *cfg)
{
    struct mc_parser ps = {0};
    size_t used = 0;
    struct mc_msg *m = NULL;
    const char *err = NULL;
    if (mc_parse(&ps, cfg, b->b, b->n, true, 0, &used, &m, &err) != MC_MSG) {
        m = NULL;
    }
    mc_parser_reset(&ps);
    return m;
}

static pb_event *fast_event(const struct mc_msg *req, const struct mc_msg *resp, bool fast)
{
    pb_event *ev = pb_ev_new();
    ck_assert_ptr_nonnull(ev);
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_static(root, PB_KEY("type"), "memcache");
    ck_assert_int_eq(mc_add_section(root, req, resp, fast), 0);
    pb_node_add_int(root, PB_KEY("after"), 1);
    return ev;
}

/* Random text (and a few binary) transactions make the same event, in
 * every encoding, written straight or through the section writer; most of
 * them take the straight way. Fails when mc_section_fast leaves out or
 * changes a member ser_msg writes, or writes what the codec escapes. */
START_TEST(section_fast_as_writer)
{
    static const char *const reqs[] = {
        "get M",
        "gets M",
        "set K N N DR",
        "add K N N DR",
        "replace K N N DR",
        "append K N N D",
        "prepend K N N D",
        "cas K N N D NR",
        "incr K NR",
        "decr K N",
        "touch K NR",
        "delete KR",
        "flush_all N",
        "flush_all",
        "verbosity N",
        "version",
        "quit",
        "stats W",
        "stats",
        "slabs reassign N -N",
        "slabs automove N",
        "lru_crawler enable",
        "lru_crawler crawl W",
        "lru_crawler tocrawl N",
        "lru_crawler sleep N",
        "bogus K",
    };
    static const char *const resps[] = {
        "VALUE K N D",    "VALUE K N D N", "END",      "STORED",    "NOT_STORED", "EXISTS",
        "NOT_FOUND",      "TOUCHED",       "DELETED",  "OK",        "ERROR",      "CLIENT_ERROR W",
        "SERVER_ERROR W", "BUSY W",        "STAT W W", "VERSION W", "N",          "N",
    };
    uint32_t seed = 0x2545f491u;
    unsigned fast = 0, slow = 0;
    for (int round = 0; round < 4000; round++) {
        struct mc_config cfg = {
            .max_values = (int64_t)(fast_rnd(&seed) % 3) - 1, /* -1 all, 0 none, 1 */
            .max_bytes_per_value = 0x7fffffff,
            .parse_unknown = fast_rnd(&seed) % 2 == 0,
        };
        struct mc_msg *req = NULL, *resp = NULL;
        unsigned shape = fast_rnd(&seed) % 8; /* 0: request alone, 1: response alone */
        if (shape != 1) {
            struct pt_buf b = {.n = 0};
            if (round % 50 == 0) {
                bin_msg(&b, 0x80, 0x01, 0, 7, 0, set_extras, sizeof set_extras, "k", "v", 1);
            } else {
                fast_message(&b, reqs[fast_rnd(&seed) % (sizeof reqs / sizeof reqs[0])], &seed);
            }
            req = fast_parse(&b, &cfg);
        }
        if (shape != 0) {
            struct pt_buf b = {.n = 0};
            fast_message(&b, resps[fast_rnd(&seed) % (sizeof resps / sizeof resps[0])], &seed);
            resp = fast_parse(&b, &cfg);
            /* a reply merged from several VALUE lines */
            for (unsigned k = fast_rnd(&seed) % 4; resp != NULL && k > 0; k--) {
                resp->count_values++;
                if (resp->values.n > 0) {
                    ck_assert_int_eq(mc_strv_add(&resp->values, "v", 1), 0);
                }
            }
        }
        if (req == NULL && resp == NULL) {
            continue;
        }
        char buf[MC_FAST_LISTS + MC_FAST_FIXED];
        if (mc_section_fast(buf, req, resp) > 0) {
            fast++;
        } else {
            slow++;
        }
        pb_event *a = fast_event(req, resp, true), *b = fast_event(req, resp, false);
        for (int k = 0; k < 3; k++) {
            bool pretty = k == 1, html = k == 2;
            struct pb_codec_buf x = {0}, y = {0};
            bool ex = false, ey = false;
            ck_assert_int_eq(pb_ev_encode(a, pretty, html, &x, &ex), 0);
            ck_assert_int_eq(pb_ev_encode(b, pretty, html, &y, &ey), 0);
            ck_assert_msg(x.len == y.len && memcmp(x.p, y.p, x.len) == 0, "%.*s\n%.*s", (int)x.len,
                          x.p, (int)y.len, y.p);
            ck_assert(ex == ey);
            pb_codec_buf_free(&x);
            pb_codec_buf_free(&y);
        }
        json_t *ta = pb_ev_json(a), *tb = pb_ev_json(b);
        ck_assert(json_equal(ta, tb));
        pb_ev_free(a);
        pb_ev_free(b);
        mc_msg_free(req);
        mc_msg_free(resp);
    }
    ck_assert_uint_gt(fast, 2000);
    ck_assert_uint_gt(slow, 500);
}
END_TEST

static Suite *memcache_suite(void)
{
    Suite *s = suite_create("memcache");
    TCase *tc = tcase_create("memcache");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, text_store_load);
    tcase_add_test(tc, text_errors_status);
    tcase_add_test(tc, text_many_keys_and_raw_args);
    tcase_add_test(tc, text_long_keys_then_reuse);
    tcase_add_test(tc, text_stats_merged);
    tcase_add_test(tc, text_quit_and_noreply);
    tcase_add_test(tc, text_subcommands);
    tcase_add_test(tc, parse_unknown_option);
    tcase_add_test(tc, max_values_options);
    tcase_add_test(tc, text_split_anywhere);
    tcase_add_test(tc, text_byte_by_byte);
    tcase_add_test(tc, binary_fields);
    tcase_add_test(tc, binary_split_anywhere);
    tcase_add_test(tc, binary_status_and_stats);
    tcase_add_test(tc, binary_missing_response_note);
    tcase_add_test(tc, gap_inside_value);
    tcase_add_test(tc, gap_outside_value);
    tcase_add_test(tc, mixed_protocols_dropped);
    tcase_add_test(tc, udp_request_response);
    tcase_add_test(tc, udp_timeout_and_shutdown);
    tcase_add_test(tc, udp_equal_deadlines_fire_oldest_first);
    tcase_add_test(tc, udp_multi_datagram);
    tcase_add_test(tc, udp_binary_quiet);
    tcase_add_test(tc, udp_garbage);
    tcase_add_test(tc, hostile_bytes);
    tcase_add_test(tc, two_notes_list);
    tcase_add_test(tc, section_fast_as_writer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(memcache_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
