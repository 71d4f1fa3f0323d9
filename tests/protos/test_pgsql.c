/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_pgsql.c - PostgreSQL parser and protocol: simple and
 * extended queries, row descriptions and data rows (max_rows,
 * max_row_length), errors, pipelining, SSL negotiation, gaps,
 * segmentation and hostile input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/utf8.h"
#include "protos/pgsql/pgsql_parse.h"
#include "protos/proto.h"
#include "publisher/codec.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_pgsql;

/* type byte, be32 length (payload + 4), payload */
static void msg(struct pt_buf *m, char type, const void *p, size_t n)
{
    uint32_t l = (uint32_t)n + 4;
    uint8_t h[5] = {(uint8_t)type, (uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8),
                    (uint8_t)l};
    pt_put(m, h, 5);
    pt_put(m, p, n);
}

static void q(struct pt_buf *m, const char *sql)
{
    msg(m, 'Q', sql, strlen(sql) + 1);
}

/* RowDescription with text columns. */
static void row_desc(struct pt_buf *m, const char *const *names, size_t n)
{
    uint8_t p[1024];
    size_t o = 0;
    p[o++] = 0;
    p[o++] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]) + 1;
        memcpy(p + o, names[i], l);
        o += l;
        memset(p + o, 0, 18);
        o += 18;
    }
    msg(m, 'T', p, o);
}

/* DataRow; NULL values as -1. */
static void data_row(struct pt_buf *m, const char *const *vals, size_t n)
{
    uint8_t p[4096];
    size_t o = 0;
    p[o++] = 0;
    p[o++] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        if (vals[i] == NULL) {
            memset(p + o, 0xff, 4);
            o += 4;
            continue;
        }
        uint32_t l = (uint32_t)strlen(vals[i]);
        p[o++] = (uint8_t)(l >> 24);
        p[o++] = (uint8_t)(l >> 16);
        p[o++] = (uint8_t)(l >> 8);
        p[o++] = (uint8_t)l;
        memcpy(p + o, vals[i], l);
        o += l;
    }
    msg(m, 'D', p, o);
}

static void complete(struct pt_buf *m, const char *tag)
{
    msg(m, 'C', tag, strlen(tag) + 1);
}

static void ready(struct pt_buf *m)
{
    msg(m, 'Z', "I", 1);
}

/* Packetbeat's vectors (pgsql_test.go, pgsql_request_response.pcap) */
static const char *REQ_SELECT = "510000001873656c656374202a2066726f6d20746573743b00";
static const char *RESP_SELECT =
    "54000000420003610000004009000100000413ffffffffffff0000620000004009000200000413ffffffffffff"
    "0000630000004009000300000413ffffffffffff0000"
    "440000001b0003000000036d6561000000036d6562000000036d6563"
    "440000001e0003000000046d656131000000046d656231000000046d656331"
    "440000001e0003000000046d656132000000046d656232000000046d656332"
    "440000001e0003000000046d656133000000046d656233000000046d656333"
    "430000000d53454c454354203400"
    "5a0000000549";

START_TEST(simple_query)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true\n"
                                                 "send_request: true");
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    pt_hex(&a, REQ_SELECT);
    pt_hex(&b, RESP_SELECT);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_advance(t, 2000000);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "pgsql");
    ck_assert_str_eq(pt_str(t, 0, "method"), "SELECT");
    ck_assert_str_eq(pt_str(t, 0, "query"), "select * from test");
    ck_assert_str_eq(pt_str(t, 0, "request"), "select * from test");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 4);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_fields"), 3);
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 25);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 202);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 2000000);
    ck_assert_str_eq(pt_str(t, 0, "response"),
                     "a,b,c\nmea,meb,mec\nmea1,meb1,mec1\nmea2,meb2,mec2\nmea3,meb3,mec3\n");
    ck_assert_ptr_null(pt_field(t, 0, "path"));
    ck_assert_ptr_null(pt_field(t, 0, "pgsql.error_code"));
    pt_close(t);
}
END_TEST

START_TEST(split_anywhere)
{
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    struct pt_buf c = {.n = 0};
    struct pt_buf d = {.n = 0};
    pt_hex(&a, REQ_SELECT);
    pt_hex(&b, RESP_SELECT);
    q(&c, "insert into t values (1); delete from t");
    complete(&d, "INSERT 0 1");
    complete(&d, "DELETE 1");
    ready(&d);
    struct pt_step s[] = {
        {PB_DIR_TO_SERVER, a.b, a.n},
        {PB_DIR_TO_CLIENT, b.b, b.n},
        {PB_DIR_TO_SERVER, c.b, c.n},
        {PB_DIR_TO_CLIENT, d.b, d.n},
    };
    const char *yaml = "ports: [5432]\nsend_response: true\nsend_request: true";
    char *whole = pt_replay(&pb_proto_pgsql, yaml, s, 4, PT_WHOLE);
    json_t *ev = json_loads(whole, 0, NULL);
    ck_assert_uint_eq(json_array_size(ev), 3);
    json_decref(ev);
    free(whole);
    pt_check_split_anywhere(&pb_proto_pgsql, yaml, s, 4);
}
END_TEST

START_TEST(pipelined_queries_in_order)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    q(&a, "select 1; ;\n update t set a = 1 ;select\n2");
    static const char *const one[] = {"?column?"};
    static const char *const v1[] = {"1"};
    row_desc(&b, one, 1);
    data_row(&b, v1, 1);
    complete(&b, "SELECT 1");
    complete(&b, "UPDATE 7");
    row_desc(&b, one, 1);
    complete(&b, "SELECT 0");
    ready(&b);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "query"), "select 1");
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 1);
    ck_assert_str_eq(pt_str(t, 1, "query"), "update t set a = 1");
    ck_assert_str_eq(pt_str(t, 1, "method"), "UPDATE");
    ck_assert_int_eq(pt_int(t, 1, "pgsql.num_rows"), 0);
    ck_assert_str_eq(pt_str(t, 2, "query"), "select\n2");
    ck_assert_str_eq(pt_str(t, 2, "method"), "SELECT\n2"); /* split at ' ' only */
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)a.n);
    ck_assert_int_eq(pt_int(t, 2, "source.bytes"), (int64_t)a.n);
    pt_close(t);
}
END_TEST

START_TEST(error_response)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    q(&a, "select x");
    pt_hex(&b,
           "4500000088534552524f5200433235503032004d63757272656e74207472616e73616374696f6e206973"
           "2061626f727465642c20636f6d6d616e64732069676e6f72656420756e74696c20656e64206f662074"
           "72616e73616374696f6e20626c6f636b0046706f7374677265732e63004c3932310052657865635f73"
           "696d706c655f71756572790000");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "pgsql.error_code"), "25P02");
    ck_assert_str_eq(pt_str(t, 0, "pgsql.error_severity"), "ERROR");
    ck_assert_str_eq(pt_str(t, 0, "pgsql.error_message"),
                     "current transaction is aborted, commands ignored until end of transaction "
                     "block");
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 137);
    pt_close(t);
}
END_TEST

/* The pgsql object, its members in Packetbeat's order: counts only, and
 * with error fields that are plain, that need escaping, that are not UTF-8
 * or absent (""). */
START_TEST(pgsql_object_text)
{
    struct pt_enc_check e;
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    pt_check_encodings(t, &e);
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    q(&a, "select 1");
    static const char *const names[] = {"a"};
    static const char *const vals[] = {"1"};
    row_desc(&b, names, 1);
    data_row(&b, vals, 1);
    complete(&b, "SELECT 1");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_fields"), 1);
    ck_assert_ptr_null(pt_field(t, 0, "pgsql.error_code"));
    ck_assert_ptr_nonnull(strstr(e.last, ",\"pgsql\":{\"num_rows\":1,\"num_fields\":1}"));
    /* S, C, M fields, each NUL-terminated, then a NUL */
    static const char fields[][48] = {
        "SERROR\0C42P01\0Mno such table\0",
        "SERROR\0C42P01\0Mbad \"x\" <y>\n&z\0",
        "SERROR\0C4\xff\0Mbad \xfe\0",
        "Mno code\0",
    };
    static const size_t flen[] = {30, 31, 19, 10}; /* with the terminating NUL */
    static const char *const want_m[] = {"no such table", "bad \"x\" <y>\n&z", "bad \xef\xbf\xbd",
                                         "no code"};
    static const char *const want_c[] = {"42P01", "42P01", "4\xef\xbf\xbd", ""};
    static const char *const want_s[] = {"ERROR", "ERROR", "ERROR", ""};
    for (size_t i = 0; i < 4; i++) {
        struct pt_buf er = {.n = 0};
        msg(&er, 'E', fields[i], flen[i]);
        pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
        pt_feed(t, PB_DIR_TO_CLIENT, er.b, er.n);
        ck_assert_uint_eq(pt_nevents(t), 2 + i);
        ck_assert_str_eq(pt_str(t, 1 + i, "status"), "Error");
        ck_assert_str_eq(pt_str(t, 1 + i, "pgsql.error_message"), want_m[i]);
        ck_assert_str_eq(pt_str(t, 1 + i, "pgsql.error_code"), want_c[i]);
        ck_assert_str_eq(pt_str(t, 1 + i, "pgsql.error_severity"), want_s[i]);
        ck_assert_int_eq(pt_int(t, 1 + i, "pgsql.num_rows"), 0);
        ck_assert_ptr_nonnull(
            strstr(e.last, ",\"pgsql\":{\"num_rows\":0,\"num_fields\":0,\"error_code\":\""));
    }
    ck_assert_uint_eq(e.checked, 5);
    pt_close(t);
}
END_TEST

START_TEST(extended_query)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
    struct pt_buf set = {.n = 0};
    struct pt_buf set_r = {.n = 0};
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    pt_hex(&set,
           "5000000022005345542065787472615f666c6f61745f646967697473203d2033000000420000000c000"
           "0000000000000450000000900000000015300000004");
    pt_hex(&set_r, "310000000432000000044300000008534554005a0000000549");
    pt_hex(&a,
           "500000002c0053454c454354202a2066726f6d2074657374207768657265206964203d2024310000010000"
           "0017420000001600000001000100010000000400000001000044000000065000450000000900000000005"
           "300000004");
    pt_hex(
        &b,
        "3100000004320000000454000000320002696400000040010001000000170004ffffffff00006e616d650000"
        "004001000200000412ffff000000180000440000002300020000000131000000143232322020202020202"
        "020202020202020202020430000000d53454c4543542031005a0000000549");
    pt_feed(t, PB_DIR_TO_SERVER, set.b, set.n);
    pt_feed(t, PB_DIR_TO_CLIENT, set_r.b, set_r.n);
    ck_assert_uint_eq(pt_nevents(t), 0); /* SET is not exported */
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "SELECT * from test where id = $1");
    ck_assert_str_eq(pt_str(t, 0, "method"), "SELECT");
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 90);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 101);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_fields"), 2);
    ck_assert_str_eq(pt_str(t, 0, "response"), "id,name\n1,222                 \n");
    pt_close(t);
}
END_TEST

/* Parse with a statement name, then Bind / Execute of it without Parse;
 * NoData for a statement without rows; NULL values. */
START_TEST(named_statements_nodata_nulls)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
    struct pt_buf prep = {.n = 0};
    struct pt_buf prep_r = {.n = 0};
    struct pt_buf ex = {.n = 0};
    struct pt_buf ex_r = {.n = 0};
    struct pt_buf upd = {.n = 0};
    struct pt_buf upd_r = {.n = 0};
    static const uint8_t parse_p[] = "S_1\0select a, b from t where a > $1\0\0\0";
    msg(&prep, 'P', parse_p, sizeof parse_p - 1);
    msg(&prep, 'S', "", 0);
    msg(&prep_r, '1', "", 0);
    ready(&prep_r);
    static const uint8_t bind_p[] = "\0S_1\0\0\0\0\0\0\0";
    msg(&ex, 'B', bind_p, sizeof bind_p - 1);
    msg(&ex, 'D', "P\0", 2);
    msg(&ex, 'E', "\0\0\0\0\0", 5);
    msg(&ex, 'S', "", 0);
    msg(&ex_r, '2', "", 0);
    static const char *const names[] = {"a", "b"};
    static const char *const r1[] = {"1", NULL};
    static const char *const r2[] = {"2", "x"};
    row_desc(&ex_r, names, 2);
    data_row(&ex_r, r1, 2);
    data_row(&ex_r, r2, 2);
    complete(&ex_r, "SELECT 2");
    ready(&ex_r);
    static const uint8_t parse_u[] = "\0update t set b = 1\0\0\0";
    msg(&upd, 'P', parse_u, sizeof parse_u - 1);
    msg(&upd, 'B', "\0\0\0\0\0\0\0\0", 8);
    msg(&upd, 'D', "P\0", 2);
    msg(&upd, 'E', "\0\0\0\0\0", 5);
    msg(&upd, 'S', "", 0);
    msg(&upd_r, '1', "", 0);
    msg(&upd_r, '2', "", 0);
    msg(&upd_r, 'n', "", 0);
    complete(&upd_r, "UPDATE 2");
    ready(&upd_r);

    pt_feed(t, PB_DIR_TO_SERVER, prep.b, prep.n);
    pt_feed(t, PB_DIR_TO_CLIENT, prep_r.b, prep_r.n);
    pt_feed(t, PB_DIR_TO_SERVER, ex.b, ex.n);
    pt_feed(t, PB_DIR_TO_CLIENT, ex_r.b, ex_r.n);
    pt_feed(t, PB_DIR_TO_SERVER, upd.b, upd.n);
    pt_feed(t, PB_DIR_TO_CLIENT, upd_r.b, upd_r.n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "query"), "select a, b from t where a > $1");
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 0);
    ck_assert_str_eq(pt_str(t, 1, "query"), "select a, b from t where a > $1");
    ck_assert_int_eq(pt_int(t, 1, "pgsql.num_rows"), 2);
    ck_assert_str_eq(pt_str(t, 1, "response"), "a,b\n1,\n2,x\n");
    ck_assert_str_eq(pt_str(t, 2, "query"), "update t set b = 1");
    ck_assert_str_eq(pt_str(t, 2, "status"), "OK");
    pt_close(t);
}
END_TEST

/* Statements named on one connection: more than it remembers (256), the
 * oldest forgotten first; the newer ones still give their query to a
 * Bind / Execute. */
START_TEST(many_named_statements)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
    for (int i = 0; i < 300; i++) {
        struct pt_buf a = {.n = 0};
        struct pt_buf b = {.n = 0};
        uint8_t p[64];
        int n = snprintf((char *)p, sizeof p, "S_%d", i);
        n++;
        n += snprintf((char *)p + n, sizeof p - (size_t)n, "select %d", i);
        n++;
        memset(p + n, 0, 2);
        msg(&a, 'P', p, (size_t)n + 2);
        msg(&a, 'S', "", 0);
        msg(&b, '1', "", 0);
        ready(&b);
        pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
        pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    }
    ck_assert_uint_eq(pt_nevents(t), 300);
    static const int run[] = {299, 100, 44};
    for (size_t k = 0; k < sizeof run / sizeof run[0]; k++) {
        struct pt_buf a = {.n = 0};
        struct pt_buf b = {.n = 0};
        uint8_t p[64];
        p[0] = 0;
        int n = 1 + snprintf((char *)p + 1, sizeof p - 1, "S_%d", run[k]);
        n++;
        memset(p + n, 0, 6);
        msg(&a, 'B', p, (size_t)n + 6);
        msg(&a, 'E', "\0\0\0\0\0", 5);
        msg(&a, 'S', "", 0);
        msg(&b, '2', "", 0);
        static const char *const names[] = {"n"};
        static const char *const row[] = {"1"};
        row_desc(&b, names, 1);
        data_row(&b, row, 1);
        complete(&b, "SELECT 1");
        ready(&b);
        pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
        pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
        char want[32];
        snprintf(want, sizeof want, "select %d", run[k]);
        ck_assert_uint_eq(pt_nevents(t), 301 + k);
        ck_assert_str_eq(pt_str(t, 300 + k, "query"), want);
        ck_assert_int_eq(pt_int(t, 300 + k, "pgsql.num_rows"), 1);
    }
    pt_close(t);
}
END_TEST

START_TEST(max_rows_and_row_length)
{
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    q(&a, "select * from long_response");
    static const char *const names[] = {"a", "b"};
    row_desc(&b, names, 2);
    for (int i = 0; i < 15; i++) {
        static const char *const vals[] = {"0123456789", "abcdefghij"};
        data_row(&b, vals, 2);
    }
    complete(&b, "SELECT 15");
    ready(&b);
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true\n"
                                                 "max_rows: 3\nmax_row_length: 14");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 15);
    ck_assert_str_eq(pt_str(t, 0, "response"),
                     "a,b\n0123456789,abcd\n0123456789,abcd\n0123456789,abcd\n");
    pt_close(t);
}
END_TEST

/* Field names and values packed into one block per message, at its
 * tightest: empty names (19 bytes a field), NULL and empty values (4 bytes
 * a value); a RowDescription that claims more fields than it holds. */
START_TEST(packed_fields_and_rows)
{
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    q(&a, "select * from t");
    static const char *const names[] = {"", "", "", "", "", "", "", "", "", "nm"};
    row_desc(&b, names, 10);
    static const char *const nulls[] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ""};
    static const char *const vals[] = {"a", "bc", "", NULL, "d", "e", "f", "g", "h", "ij"};
    data_row(&b, nulls, 10);
    data_row(&b, vals, 10);
    complete(&b, "SELECT 2");
    ready(&b);
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_fields"), 10);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 2);
    ck_assert_str_eq(pt_str(t, 0, "response"), ",,,,,,,,,nm\n,,,,,,,,,\na,bc,,,d,e,f,g,h,ij\n");
    pt_close(t);

    /* 200 fields claimed, one present */
    struct pt_buf c = {.n = 0};
    uint8_t p[2 + 19] = {0, 200, 'x', 0};
    msg(&c, 'T', p, sizeof p);
    t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    pt_close(t);
}
END_TEST

/* Without send_response rows and field names are only checked and
 * counted: the same counts as when they are kept, and the same malformed
 * DataRows and RowDescriptions drop the stream (no event). */
START_TEST(rows_counted_without_response_text)
{
    static const char *const cfgs[] = {"ports: [5432]", "ports: [5432]\nsend_response: true"};
    static const char *const names[] = {"a", "b", "c"};
    static const char *const vals[] = {"x", NULL, "yz"};
    static const uint8_t bad_rows[][8] = {
        {0, 1, 0, 0, 0, 5, 'a', 'b'},         /* a value past the payload */
        {0, 1, 0, 0, 0, 1, 'a', 'z'},         /* a byte after the values */
        {0, 2, 0, 0, 0, 1, 'a', 0},           /* a length cut short */
        {0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0}, /* two values missing */
    };
    struct pt_buf a = {.n = 0};
    q(&a, "select * from t");
    for (size_t k = 0; k < 2; k++) {
        struct pt_buf b = {.n = 0};
        row_desc(&b, names, 3);
        for (int i = 0; i < 12; i++) {
            data_row(&b, vals, 3);
        }
        complete(&b, "SELECT 12");
        ready(&b);
        struct pt_conn *t = pt_open(&pb_proto_pgsql, cfgs[k]);
        pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
        pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
        ck_assert_uint_eq(pt_nevents(t), 1);
        ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 12);
        ck_assert_int_eq(pt_int(t, 0, "pgsql.num_fields"), 3);
        pt_close(t);

        for (size_t r = 0; r <= sizeof bad_rows / sizeof bad_rows[0]; r++) {
            struct pt_buf c = {.n = 0};
            if (r < sizeof bad_rows / sizeof bad_rows[0]) {
                row_desc(&c, names, 3);
                data_row(&c, vals, 3);
                msg(&c, 'D', bad_rows[r], sizeof bad_rows[r]);
            } else {
                /* a RowDescription with a byte after its fields */
                uint8_t p[2 + 2 + 18 + 1] = {0, 1, 'x', 0};
                msg(&c, 'T', p, sizeof p);
            }
            complete(&c, "SELECT 2");
            ready(&c);
            t = pt_open(&pb_proto_pgsql, cfgs[k]);
            pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
            pt_feed(t, PB_DIR_TO_CLIENT, c.b, c.n);
            ck_assert_uint_eq(pt_nevents(t), 0);
            pt_close(t);
        }
    }
}
END_TEST

/* A run of complete DataRows is walked in one go (get_data), a row cut by
 * the segment end one message at a time: whole segments, every cut and
 * byte by byte give the same events, on rows of many shapes (NULL, empty
 * and long values, no columns), with and without response text and
 * max_rows. A malformed row or message header inside the run drops the
 * stream with the rest of its segment, so there the cuts compared are
 * those before the bad message ends. */
START_TEST(row_runs_as_single_rows)
{
    static const char *const cfgs[] = {"ports: [5432]", "ports: [5432]\nsend_response: true",
                                       "ports: [5432]\nsend_response: true\nmax_rows: 2\n"
                                       "max_row_length: 9"};
    static const char *const names[] = {"a", "bb", "c", "", "e"};
    static const char *const words[] = {"", "x", "yz", "0123456789abcdef", "q\"r,s\nt"};
    uint32_t seed = 4242;
    for (int round = 0; round < 24; round++) {
        struct pt_buf a = {.n = 0};
        struct pt_buf b = {.n = 0};
        struct pt_buf c = {.n = 0};
        struct pt_buf d = {.n = 0};
        q(&a, "select * from t");
        seed = seed * 1103515245u + 12345u;
        size_t ncols = (seed >> 8) % 6;
        size_t nrows = (seed >> 12) % 14;
        int bad = round % 4 == 3 ? (int)((seed >> 16) % (nrows + 1)) : -1;
        size_t bad_end = 0;
        row_desc(&b, names, ncols);
        for (size_t r = 0; r <= nrows; r++) {
            if ((int)r == bad) {
                static const uint8_t cut_short[] = {0, 1, 0, 0, 0, 9, 'a'};
                static const uint8_t bad_len[] = {'D', 0, 0, 0, 3}; /* length < 4 */
                if (round % 8 == 3) {
                    msg(&b, 'D', cut_short, sizeof cut_short);
                } else {
                    pt_put(&b, bad_len, sizeof bad_len);
                }
                bad_end = b.n;
            }
            if (r == nrows) {
                break;
            }
            const char *vals[5];
            for (size_t i = 0; i < 5; i++) {
                seed = seed * 1103515245u + 12345u;
                size_t k = (seed >> 10) % 6;
                vals[i] = k < 5 ? words[k] : NULL;
            }
            data_row(&b, vals, ncols);
        }
        complete(&b, "SELECT");
        ready(&b);
        q(&c, "delete from t");
        complete(&d, "DELETE 1");
        ready(&d);
        struct pt_step s[] = {
            {PB_DIR_TO_SERVER, a.b, a.n},
            {PB_DIR_TO_CLIENT, b.b, b.n},
            {PB_DIR_TO_SERVER, c.b, c.n},
            {PB_DIR_TO_CLIENT, d.b, d.n},
        };
        const char *yaml = cfgs[round % 3];
        char *whole = pt_replay(&pb_proto_pgsql, yaml, s, 4, PT_WHOLE);
        json_t *ev = json_loads(whole, 0, NULL);
        json_t *first = json_array_get(ev, 0);
        if (bad < 0) {
            /* every row counted */
            ck_assert_uint_eq(json_array_size(ev), 2);
            ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(first, "pgsql"), "num_rows")),
                (json_int_t)nrows);
            pt_check_split_anywhere(&pb_proto_pgsql, yaml, s, 4);
        } else {
            /* the select answered by the next response: its own was dropped */
            ck_assert_uint_eq(json_array_size(ev), 1);
            ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(first, "destination"), "bytes")),
                (json_int_t)d.n - 6);
            for (size_t cut = 1; cut < bad_end; cut++) {
                char *x = pt_replay(&pb_proto_pgsql, yaml, s, 4, cut);
                ck_assert_str_eq(whole, x);
                free(x);
            }
        }
        json_decref(ev);
        free(whole);
    }
}
END_TEST

START_TEST(ssl_request_refused_then_query)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf ssl = {.n = 0};
    struct pt_buf n = {.n = 0};
    struct pt_buf startup = {.n = 0};
    struct pt_buf auth = {.n = 0};
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    pt_hex(&ssl, "0000000804d2162f");
    pt_hex(&n, "4e");
    pt_hex(&startup,
           "0000004c0003000075736572007073716c006461746162617365007073716c006170706c6963617469"
           "6f6e5f6e616d65007073716c00636c69656e745f656e636f64696e6700555446380000");
    pt_hex(&auth, "520000000800000000");
    msg(&auth, 'S', "a\0b\0", 4);
    msg(&auth, 'K', "\0\0\0\1\0\0\0\2", 8);
    ready(&auth);
    pt_hex(&a, REQ_SELECT);
    pt_hex(&b, RESP_SELECT);
    pt_feed(t, PB_DIR_TO_SERVER, ssl.b, ssl.n);
    pt_feed(t, PB_DIR_TO_CLIENT, n.b, n.n);
    pt_feed(t, PB_DIR_TO_SERVER, startup.b, startup.n);
    pt_feed(t, PB_DIR_TO_CLIENT, auth.b, auth.n);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 4);
    pt_close(t);

    /* 'S': TLS follows, nothing more is parsed */
    t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf s = {.n = 0};
    pt_hex(&s, "53");
    pt_feed(t, PB_DIR_TO_SERVER, ssl.b, ssl.n);
    pt_feed(t, PB_DIR_TO_CLIENT, s.b, s.n);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(gap_in_response_with_rows)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    pt_hex(&a, "510000001873656c656374202a2066726f6d20746573743b00");
    pt_hex(&b, "5400000042000361000000410900"
               "0100000413ffffffffffff0000620000"
               "004009000200000413ffffffffffff00"
               "00630000004009000300000413ffffff"
               "ffffff0000440000001b000300000003"
               "6d6561000000036d6562000000036d65"
               "63440000001e0003000000046d656131"
               "000000046d656231000000046d656331"
               "440000001e0003000000046d65613200");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_gap(t, PB_DIR_TO_CLIENT, 10);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the response");
    ck_assert_int_eq(pt_int(t, 0, "pgsql.num_rows"), 2);
    pt_close(t);
}
END_TEST

/* Parse keeps its statement name and query in the buffer while its
 * request is parsed and copies them when the segment ends first; a named
 * statement prepared again (longer, then shorter) is run by Bind with its
 * latest text; a pipelined batch of two unnamed statements. Whole
 * segments, every cut and byte by byte give the same events. */
START_TEST(extended_split_anywhere)
{
    struct pt_buf r1 = {.n = 0}, a1 = {.n = 0}, r2 = {.n = 0}, a2 = {.n = 0};
    struct pt_buf r3 = {.n = 0}, a3 = {.n = 0}, r4 = {.n = 0}, a4 = {.n = 0};
    static const uint8_t p_short[] = "S_1\0select a from t where a > $1\0\0\0";
    static const uint8_t p_long[] = "S_1\0select a, b, c from long_table where a > $1\0\0\0";
    static const uint8_t bind_s1[] = "\0S_1\0\0\0\0\0\0\0";
    static const uint8_t p_u1[] = "\0select 1\0\0\0";
    static const uint8_t p_u2[] = "\0insert into t values (2)\0\0\0";
    /* prepare S_1, run it */
    msg(&r1, 'P', p_short, sizeof p_short - 1);
    msg(&r1, 'S', "", 0);
    msg(&a1, '1', "", 0);
    ready(&a1);
    msg(&r2, 'B', bind_s1, sizeof bind_s1 - 1);
    msg(&r2, 'E', "\0\0\0\0\0", 5);
    msg(&r2, 'S', "", 0);
    msg(&a2, '2', "", 0);
    complete(&a2, "SELECT 0");
    ready(&a2);
    /* prepared again, longer, then run; then again shorter with a batch */
    msg(&r3, 'P', p_long, sizeof p_long - 1);
    msg(&r3, 'B', bind_s1, sizeof bind_s1 - 1);
    msg(&r3, 'E', "\0\0\0\0\0", 5);
    msg(&r3, 'S', "", 0);
    msg(&a3, '1', "", 0);
    msg(&a3, '2', "", 0);
    complete(&a3, "SELECT 0");
    ready(&a3);
    msg(&r4, 'P', p_u1, sizeof p_u1 - 1);
    msg(&r4, 'B', "\0\0\0\0\0\0\0\0", 8);
    msg(&r4, 'E', "\0\0\0\0\0", 5);
    msg(&r4, 'P', p_u2, sizeof p_u2 - 1);
    msg(&r4, 'B', "\0\0\0\0\0\0\0\0", 8);
    msg(&r4, 'E', "\0\0\0\0\0", 5);
    msg(&r4, 'P', p_short, sizeof p_short - 1);
    msg(&r4, 'S', "", 0);
    msg(&a4, '1', "", 0);
    msg(&a4, '2', "", 0);
    complete(&a4, "SELECT 1");
    msg(&a4, '1', "", 0);
    msg(&a4, '2', "", 0);
    complete(&a4, "INSERT 0 1");
    msg(&a4, '1', "", 0);
    ready(&a4);
    struct pt_step s[] = {
        {PB_DIR_TO_SERVER, r1.b, r1.n}, {PB_DIR_TO_CLIENT, a1.b, a1.n},
        {PB_DIR_TO_SERVER, r2.b, r2.n}, {PB_DIR_TO_CLIENT, a2.b, a2.n},
        {PB_DIR_TO_SERVER, r3.b, r3.n}, {PB_DIR_TO_CLIENT, a3.b, a3.n},
        {PB_DIR_TO_SERVER, r4.b, r4.n}, {PB_DIR_TO_CLIENT, a4.b, a4.n},
    };
    const char *yaml = "ports: [5432]\nsend_request: true";
    char *whole = pt_replay(&pb_proto_pgsql, yaml, s, 8, PT_WHOLE);
    json_t *ev = json_loads(whole, 0, NULL);
    static const char *const want[] = {"select a from t where a > $1",
                                       "select a from t where a > $1",
                                       "select a, b, c from long_table where a > $1",
                                       "select 1",
                                       "insert into t values (2)",
                                       "select a from t where a > $1"};
    ck_assert_uint_eq(json_array_size(ev), 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_str_eq(pt_tree_str(json_array_get(ev, i), "query"), want[i]);
        ck_assert_str_eq(pt_tree_str(json_array_get(ev, i), "request"), want[i]);
    }
    json_decref(ev);
    free(whole);
    pt_check_split_anywhere(&pb_proto_pgsql, yaml, s, 8);
}
END_TEST

START_TEST(gap_in_extended_request)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf a = {.n = 0};
    static const uint8_t parse_p[] = "\0select 1\0\0\0";
    msg(&a, 'P', parse_p, sizeof parse_p - 1);
    msg(&a, 'B', "\0\0\0\0\0\0\0\0", 8);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_gap(t, PB_DIR_TO_SERVER, 100);
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* the request was queued with a note: the next response answers it */
    struct pt_buf b = {.n = 0};
    complete(&b, "SELECT 1");
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "select 1");
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the request");
    pt_close(t);
}
END_TEST

START_TEST(unmatched_and_fin)
{
    struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
    struct pt_buf b = {.n = 0};
    complete(&b, "SELECT 1");
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    struct pt_buf a = {.n = 0};
    q(&a, "select pg_sleep(100)");
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_fin(t, PB_DIR_TO_SERVER);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(split_queries_and_method)
{
    const char *parts[8];
    size_t lens[8];
    const char *sql = " a ;\xc2\xa0 b c\t;;  ";
    size_t n = pg_split_queries(sql, strlen(sql), parts, lens, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq((int)lens[0], 1);
    ck_assert_int_eq(parts[0][0], 'a');
    ck_assert_int_eq((int)lens[1], 3);
    ck_assert_int_eq(memcmp(parts[1], "b c", 3), 0);
    size_t ml = 0;
    char *m = pg_query_method("select\tx y", 10, &ml);
    ck_assert_str_eq(m, "SELECT\tX");
    free(m);
    /* into a buffer of n + 1 bytes: no space, a leading space, empty */
    char out[8];
    memset(out, 'Z', sizeof out);
    ck_assert_uint_eq(pg_query_method_into("begin", 5, out), 5);
    ck_assert_str_eq(out, "BEGIN");
    ck_assert_uint_eq(pg_query_method_into(" x", 2, out), 2);
    ck_assert_str_eq(out, " X");
    ck_assert_uint_eq(pg_query_method_into("", 0, out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(pg_query_method_into("end x", 5, out), 3);
    ck_assert_str_eq(out, "END");
}
END_TEST

/* pg_split_queries (ASCII bytes tested without decoding) against the
 * same rule written with the decoder only (pb_utf8_space_len at every
 * rune): random texts of ASCII and Unicode spaces, other runes, cut and
 * invalid sequences, and semicolons. */
static size_t ref_split(const char *q, size_t n, const char **parts, size_t *lens, size_t max)
{
    size_t count = 0;
    size_t i = 0;
    while (i <= n && count < max) {
        size_t end = i;
        while (end < n && q[end] != ';') {
            end++;
        }
        const uint8_t *b = (const uint8_t *)q + i;
        size_t l = end - i;
        size_t k;
        while (l > 0 && (k = pb_utf8_space_len(b, l)) > 0) {
            b += k;
            l -= k;
        }
        for (bool again = true; again && l > 0;) {
            again = false;
            for (size_t w = 1; w <= 3 && w <= l; w++) {
                if (pb_utf8_space_len(b + l - w, w) == w) {
                    l -= w;
                    again = true;
                    break;
                }
            }
        }
        if (l > 0) {
            parts[count] = (const char *)b;
            lens[count] = l;
            count++;
        }
        if (end == n) {
            break;
        }
        i = end + 1;
    }
    return count;
}

START_TEST(split_queries_as_decoded)
{
    static const char *const pieces[] = {
        "a",        "xy",   " ",        "\t",       "\n",           "\r",           "\v",
        "\f",       ";",    "\xc2\xa0", "\xc2\x85", "\xe3\x80\x80", "\xe2\x80\x8a", "\xe2\x80\xa8",
        "\xc3\xa9", "\xc2", "\x80",     "\xe3\x80", "\x85",         "\xa0",         "\xe2\x80\x8b",
        "\x00",     "\x7f"};
    const size_t npieces = sizeof pieces / sizeof pieces[0];
    uint32_t seed = 99;
    for (int round = 0; round < 20000; round++) {
        char q[64];
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 8) % 9;
        for (size_t i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 8) % npieces];
            size_t l = strlen(p) > 0 ? strlen(p) : 1; /* "\x00" is one byte */
            memcpy(q + n, p, l);
            n += l;
        }
        const char *parts[16], *want_parts[16];
        size_t lens[16], want_lens[16];
        size_t got = pg_split_queries(q, n, parts, lens, 16);
        size_t want = ref_split(q, n, want_parts, want_lens, 16);
        ck_assert_uint_eq(got, want);
        for (size_t i = 0; i < got; i++) {
            ck_assert_ptr_eq(parts[i], want_parts[i]);
            ck_assert_uint_eq(lens[i], want_lens[i]);
        }
    }
}
END_TEST

START_TEST(hostile_input)
{
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    pt_hex(&a, REQ_SELECT);
    pt_hex(&b, RESP_SELECT);
    uint32_t seed = 777;
    for (int round = 0; round < 300; round++) {
        struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]\nsend_response: true");
        uint8_t m[512];
        size_t n = b.n < sizeof m ? b.n : sizeof m;
        memcpy(m, b.b, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            m[(seed >> 8) % n] = (uint8_t)(seed >> 16);
        }
        seed = seed * 1103515245u + 12345u;
        size_t cut = (seed >> 8) % n;
        pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
        pt_feed(t, PB_DIR_TO_CLIENT, m, cut);
        pt_feed(t, PB_DIR_TO_CLIENT, m + cut, n - cut);
        pt_feed(t, PB_DIR_TO_SERVER, m, n);
        pt_gap(t, round % 2 ? PB_DIR_TO_CLIENT : PB_DIR_TO_SERVER, 3);
        pt_feed(t, PB_DIR_TO_CLIENT, m, n);
        pt_close(t);
    }
    for (int round = 0; round < 200; round++) {
        struct pt_conn *t = pt_open(&pb_proto_pgsql, "ports: [5432]");
        uint8_t g[512];
        for (size_t i = 0; i < sizeof g; i++) {
            seed = seed * 1103515245u + 12345u;
            g[i] = (uint8_t)(seed >> 16);
        }
        g[0] = (uint8_t) "QTDCP12EZ"[round % 9];
        pt_feed(t, round % 2 ? PB_DIR_TO_CLIENT : PB_DIR_TO_SERVER, g, sizeof g);
        pt_feed(t, round % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, g, sizeof g);
        pt_close(t);
    }
}
END_TEST

static Suite *pgsql_suite(void)
{
    Suite *s = suite_create("pgsql");
    TCase *c = tcase_create("core");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, simple_query);
    tcase_add_test(c, split_anywhere);
    tcase_add_test(c, pipelined_queries_in_order);
    tcase_add_test(c, error_response);
    tcase_add_test(c, pgsql_object_text);
    tcase_add_test(c, extended_query);
    tcase_add_test(c, named_statements_nodata_nulls);
    tcase_add_test(c, many_named_statements);
    tcase_add_test(c, max_rows_and_row_length);
    tcase_add_test(c, rows_counted_without_response_text);
    tcase_add_test(c, packed_fields_and_rows);
    tcase_add_test(c, row_runs_as_single_rows);
    tcase_add_test(c, ssl_request_refused_then_query);
    tcase_add_test(c, gap_in_response_with_rows);
    tcase_add_test(c, gap_in_extended_request);
    tcase_add_test(c, extended_split_anywhere);
    tcase_add_test(c, unmatched_and_fin);
    tcase_add_test(c, split_queries_and_method);
    tcase_add_test(c, split_queries_as_decoded);
    tcase_add_test(c, hostile_input);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(pgsql_suite());
    return failed == 0 ? 0 : 1;
}
