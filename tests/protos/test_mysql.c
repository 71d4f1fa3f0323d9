/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_mysql.c - MySQL parser and protocol: requests, OK / ERR
 * / result sets, prepared statements, options, gaps, segmentation, the
 * MariaDB exact walk (CLIENT_DEPRECATE_EOF, cached metadata) and hostile
 * input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protos/mysql/mysql_parse.h"
#include "protos/proto.h"
#include "publisher/codec.h"
#define PT_BUF_CAP 65536
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_mysql;

/* ------------------------------------------------------------------ */
/* helpers */

/* One packet: le24 length, seq, payload. */
static void pkt(struct pt_buf *m, uint8_t seq, const void *payload, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    pt_put(m, h, 4);
    pt_put(m, payload, n);
}

static void query(struct pt_buf *m, const char *q)
{
    uint8_t p[4096];
    p[0] = 3;
    size_t l = strlen(q);
    memcpy(p + 1, q, l);
    pkt(m, 0, p, l + 1);
}

static size_t lenenc_str(uint8_t *out, const char *s)
{
    size_t l = strlen(s);
    out[0] = (uint8_t)l;
    memcpy(out + 1, s, l);
    return l + 1;
}

/* A column definition (protocol 41); ext adds MariaDB's extended info. */
static void coldef(struct pt_buf *m, uint8_t seq, const char *db, const char *table,
                   const char *name, uint8_t type, bool ext)
{
    uint8_t p[512];
    size_t n = 0;
    n += lenenc_str(p + n, "def");
    n += lenenc_str(p + n, db);
    n += lenenc_str(p + n, table);
    n += lenenc_str(p + n, table);
    n += lenenc_str(p + n, name);
    n += lenenc_str(p + n, name);
    if (ext) {
        p[n++] = 0; /* no extended type info */
    }
    static const uint8_t fixed[] = {0x0c, 0x21, 0x00, 0xff, 0x00, 0x00, 0x00};
    memcpy(p + n, fixed, sizeof fixed);
    n += sizeof fixed;
    p[n++] = type;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = 0;
    pkt(m, seq, p, n);
}

static void text_row(struct pt_buf *m, uint8_t seq, const char *v1, const char *v2)
{
    uint8_t p[1024];
    size_t n = lenenc_str(p, v1);
    if (v2 != NULL) {
        n += lenenc_str(p + n, v2);
    }
    pkt(m, seq, p, n);
}

static void eof(struct pt_buf *m, uint8_t seq)
{
    static const uint8_t p[] = {0xfe, 0x00, 0x00, 0x22, 0x00};
    pkt(m, seq, p, sizeof p);
}

static void ok(struct pt_buf *m, uint8_t seq, uint8_t affected, uint8_t insert_id)
{
    uint8_t p[] = {0x00, affected, insert_id, 0x02, 0x00, 0x00, 0x00};
    pkt(m, seq, p, sizeof p);
}

/* Packetbeat's test vectors (mysql_test.go) */
static const char *RS_MINITWIT =
    "0100000105"
    "2f00000203646566086d696e697477697404706f737404706f737407706f73745f69640269640c3f000b000000"
    "030342000000"
    "3b00000303646566086d696e697477697404706f737404706f73740d706f73745f757365726e616d6508757365"
    "726e616d650c2100f0000000fd0000000000"
    "3500000403646566086d696e697477697404706f737404706f73740a706f73745f7469746c65057469746c650c"
    "2100f0000000fd0000000000"
    "3300000503646566086d696e697477697404706f737404706f737409706f73745f626f647904626f64790c2100"
    "fdff0200fc1000000000"
    "3b00000603646566086d696e697477697404706f737404706f73740d706f73745f7075625f6461746508707562"
    "5f646174650c3f00130000000c8000000000"
    "05000007fe00002100"
    "2e000008013109416e6f6e796d6f75730474657374086461736461730d0a13323031332d30372d323220313"
    "73a33343a3032"
    "46000009013209416e6f6e796d6f757312506f737465617a6120544f444f206c6973741270656e74727520"
    "63756d706172617475726913323031332d30372d32322031383a32393a3330"
    "2a00000a013309416e6f6e796d6f75730454657374047465737413323031332d30372d32322031383a33323a"
    "3130"
    "2a00000b013409416e6f6e796d6f75730474657374047465737413323031332d30372d32322031383a34343a"
    "3137"
    "0500000cfe00002100";

/* ------------------------------------------------------------------ */

START_TEST(query_ok_response)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_request: true");
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q, "  insert into post values (1)\r\n");
    pt_hex(&r, "0700000100010401000000");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 1500000);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "mysql");
    ck_assert_str_eq(pt_str(t, 0, "method"), "INSERT");
    ck_assert_str_eq(pt_str(t, 0, "query"), "insert into post values (1)");
    ck_assert_str_eq(pt_str(t, 0, "request"), "  insert into post values (1)\r\n");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 0, "mysql.affected_rows"), 1);
    ck_assert_int_eq(pt_int(t, 0, "mysql.insert_id"), 4);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 0);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 0);
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)q.n);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 11);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 1500000);
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 3306);
    ck_assert_ptr_null(pt_field(t, 0, "path"));
    ck_assert_ptr_null(pt_field(t, 0, "response"));
    ck_assert_ptr_null(pt_field(t, 0, "error"));
    pt_close(t);
}
END_TEST

START_TEST(error_response)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q, "select * from posssst");
    pt_hex(&r,
           "2e000001ff7a042334325330325461626c6520276d696e69747769742e706f737373742720646f65736e"
           "2774206578697374");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_int_eq(pt_int(t, 0, "mysql.error_code"), 1146);
    ck_assert_str_eq(pt_str(t, 0, "mysql.error_message"),
                     "42S02: Table 'minitwit.possst' doesn't exist");
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 50);
    pt_close(t);
}
END_TEST

/* The mysql object, its members in Packetbeat's order: integers past
 * INT64_MAX (as the DOM stores them), result set counts, and with an error
 * a message that is plain, one that needs escaping and one that is not
 * UTF-8. */
START_TEST(mysql_object_text)
{
    struct pt_enc_check e;
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    pt_check_encodings(t, &e);
    struct pt_buf q = {.n = 0};
    query(&q, "update t set a = 1");
    /* OK: affected rows 2^64 - 1 (0xfe + 8 bytes), insert id 0x10000 (0xfd + 3) */
    static const uint8_t okp[] = {0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xfd, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00};
    struct pt_buf r = {.n = 0};
    pkt(&r, 1, okp, sizeof okp);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "mysql.affected_rows"), -1);
    ck_assert_int_eq(pt_int(t, 0, "mysql.insert_id"), 0x10000);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 0);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 0);
    ck_assert_ptr_nonnull(strstr(e.last, ",\"mysql\":{\"affected_rows\":-1,\"insert_id\":65536,"
                                         "\"num_rows\":0,\"num_fields\":0}"));
    static const char *const msgs[] = {"no such table", "bad \"x\" <y>\n&z", "bad \xff\xfe"};
    static const char *const want[] = {"HY000: no such table", "HY000: bad \"x\" <y>\n&z",
                                       "HY000: bad \xef\xbf\xbd\xef\xbf\xbd"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t p[64] = {0xff, 0x7a, 0x04, '#', 'H', 'Y', '0', '0', '0'};
        size_t n = 9 + strlen(msgs[i]);
        memcpy(p + 9, msgs[i], strlen(msgs[i]));
        struct pt_buf er = {.n = 0};
        pkt(&er, 1, p, n);
        pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
        pt_feed(t, PB_DIR_TO_CLIENT, er.b, er.n);
        ck_assert_uint_eq(pt_nevents(t), 2 + i);
        ck_assert_str_eq(pt_str(t, 1 + i, "status"), "Error");
        ck_assert_int_eq(pt_int(t, 1 + i, "mysql.error_code"), 1146);
        ck_assert_str_eq(pt_str(t, 1 + i, "mysql.error_message"), want[i]);
        ck_assert_int_eq(pt_int(t, 1 + i, "mysql.affected_rows"), 0);
        ck_assert_ptr_nonnull(strstr(e.last, ",\"mysql\":{\"affected_rows\":0,\"insert_id\":0,"
                                             "\"num_rows\":0,\"num_fields\":0,\"error_code\":1146,"
                                             "\"error_message\":\"HY000: "));
    }
    /* a result set: its counts */
    struct pt_buf rs = {.n = 0};
    pt_hex(&rs, RS_MINITWIT);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, rs.b, rs.n);
    ck_assert_ptr_nonnull(strstr(e.last, ",\"mysql\":{\"affected_rows\":0,\"insert_id\":0,"
                                         "\"num_rows\":4,\"num_fields\":5}"));
    ck_assert_uint_eq(e.checked, 5);
    pt_close(t);
}
END_TEST

START_TEST(result_set_and_options)
{
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q, "select * from post");
    pt_hex(&r, RS_MINITWIT);
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_response: true");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "path"), "minitwit.post");
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 5);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 4);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 528);
    ck_assert_str_eq(pt_str(t, 0, "response"),
                     "post_id,post_username,post_title,post_body,post_pub_date\n"
                     "1,Anonymous,test,dasdas\\r\\n,2013-07-22 17:34:02\n"
                     "2,Anonymous,Posteaza TODO list,pentru cumparaturi,2013-07-22 18:29:30\n"
                     "3,Anonymous,Test,test,2013-07-22 18:32:10\n"
                     "4,Anonymous,test,test,2013-07-22 18:44:17\n");
    pt_close(t);

    /* max_rows keeps the count but cuts the text; max_row_length cuts rows */
    t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_response: true\nmax_rows: 2\n"
                                 "max_row_length: 12");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 4);
    ck_assert_str_eq(pt_str(t, 0, "response"), "post_id,post_username,post_title,post_body,post_"
                                               "pub_date\n1,Anonymous,te\n2,Anonymous,Po\n");
    pt_close(t);
}
END_TEST

START_TEST(split_anywhere)
{
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    struct pt_buf q2 = {.n = 0};
    struct pt_buf r2 = {.n = 0};
    query(&q, "select * from post");
    pt_hex(&r, RS_MINITWIT);
    query(&q2, "update post set title='x'");
    pt_hex(&r2,
           "300000010001000100000028526f7773206d6174636865643a203120204368616e6765643a2031202057"
           "61726e696e67733a2030");
    struct pt_step s[] = {
        {PB_DIR_TO_SERVER, q.b, q.n},
        {PB_DIR_TO_CLIENT, r.b, r.n},
        {PB_DIR_TO_SERVER, q2.b, q2.n},
        {PB_DIR_TO_CLIENT, r2.b, r2.n},
    };
    char *whole = pt_replay(
        &pb_proto_mysql, "ports: [3306]\nsend_response: true\nsend_request: true", s, 4, PT_WHOLE);
    json_t *ev = json_loads(whole, 0, NULL);
    ck_assert_uint_eq(json_array_size(ev), 2);
    json_decref(ev);
    free(whole);
    pt_check_split_anywhere(&pb_proto_mysql,
                            "ports: [3306]\nsend_response: true\nsend_request: true", s, 4);
}
END_TEST

/* my_lenenc (a one-byte fast path before the reader) against the
 * protocol's definition, at every offset of buffers cut at every length:
 * each first byte, the 2-, 3- and 8-byte forms whole and cut short. */
START_TEST(lenenc_every_first_byte)
{
    uint8_t b[12];
    for (unsigned first = 0; first < 256; first++) {
        b[0] = 0x11;
        b[1] = (uint8_t)first;
        for (size_t i = 2; i < sizeof b; i++) {
            b[i] = (uint8_t)(0x80 + i);
        }
        for (size_t len = 0; len <= sizeof b; len++) {
            for (size_t off = 0; off <= len + 1; off++) {
                uint64_t v = 7;
                size_t next = 7;
                int rc = my_lenenc(b, len, off, &v, &next);
                /* the definition */
                int want_rc;
                uint64_t want = 0;
                size_t width = 0;
                uint8_t c = off < len ? b[off] : 0;
                if (off >= len) {
                    want_rc = 1;
                } else if (c == 0xfb || c == 0xff) {
                    want_rc = -1;
                } else {
                    width = c == 0xfc ? 2 : c == 0xfd ? 3 : c == 0xfe ? 8 : 0;
                    want_rc = len - off - 1 < width ? 1 : 0;
                    want = width == 0 ? c : 0;
                    for (size_t k = 0; want_rc == 0 && k < width; k++) {
                        want |= (uint64_t)b[off + 1 + k] << (8 * k);
                    }
                }
                ck_assert_int_eq(rc, want_rc);
                if (rc == 0) {
                    ck_assert_uint_eq(v, want);
                    ck_assert_uint_eq(next, off + 1 + width);
                } else {
                    ck_assert_uint_eq(v, 7);
                    ck_assert_uint_eq(next, 7);
                }
            }
        }
    }
}
END_TEST

/* The method is the query's first word upper-cased, kept inside the
 * transaction when it is short and allocated when not: every length
 * across the boundary, two requests in a row (the first replaced), a
 * query of white space only. */
START_TEST(method_of_every_length)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    size_t want_events = 0;
    for (size_t n = 1; n <= 40; n++) {
        char sql[128];
        char want[64];
        size_t o = 0;
        sql[o++] = ' ';
        for (size_t i = 0; i < n; i++) {
            char c = (char)('a' + (i * 7) % 26);
            sql[o++] = i % 3 == 0 ? (char)(c - 32) : c;
            want[i] = (char)(c - 32);
        }
        want[n] = '\0';
        memcpy(sql + o, " x\r\n", 5);
        sql[o + 5] = '\0';
        struct pt_buf q = {.n = 0};
        struct pt_buf r = {.n = 0};
        query(&q, n % 2 ? "select 1" : "\t \t"); /* replaced by the next one */
        query(&q, sql);
        ok(&r, 1, 0, 0);
        pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
        pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
        ck_assert_uint_eq(pt_nevents(t), ++want_events);
        ck_assert_str_eq(pt_str(t, want_events - 1, "method"), want);
        ck_assert_int_eq(pt_int(t, want_events - 1, "mysql.affected_rows"), 0);
    }
    /* white space only: no method, no query */
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q, " \r\n\t ");
    ok(&r, 1, 0, 0);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), ++want_events);
    ck_assert_str_eq(pt_str(t, want_events - 1, "method"), "");
    ck_assert_str_eq(pt_str(t, want_events - 1, "query"), "");
    pt_close(t);
}
END_TEST

/* The "db.table" list as Packetbeat builds it: an item is added unless
 * the list already holds it as a substring. */
static void path_add(char *list, size_t cap, const char *db, const char *tb)
{
    char item[64];
    snprintf(item, sizeof item, "%s.%s", db, tb);
    if (list[0] == '\0') {
        snprintf(list, cap, "%s", item);
    } else if (strstr(list, item) == NULL) {
        size_t l = strlen(list);
        snprintf(list + l, cap - l, ", %s", item);
    }
}

/* Column definitions and rows that follow each other complete in a segment
 * are walked in one round (eat_fields_rows), a packet cut by the segment
 * end one at a time: whole segments, every cut and byte by byte give the
 * same events, on result sets of many shapes (no rows, empty rows, table
 * names that are substrings of others), with and without response text. */
START_TEST(definition_and_row_runs_as_single_packets)
{
    static const char *const cfgs[] = {"ports: [3306]", "ports: [3306]\nsend_response: true",
                                       "ports: [3306]\nsend_response: true\nmax_rows: 2"};
    static const char *const dbs[] = {"", "a", "ab", "b", "appdb"};
    static const char *const tbs[] = {"", "t", "t2", "b", "b.t"};
    static const char *const vals[] = {"", "x", "0123456789", "q\"r,s\nt"};
    uint32_t seed = 9001;
    for (int round = 0; round < 24; round++) {
        struct pt_buf q = {.n = 0};
        struct pt_buf r = {.n = 0};
        struct pt_buf q2 = {.n = 0};
        struct pt_buf r2 = {.n = 0};
        query(&q, "select * from t");
        seed = seed * 1103515245u + 12345u;
        size_t ncols = 1 + (seed >> 8) % 5;
        size_t nrows = (seed >> 12) % 12;
        uint8_t seq = 1;
        uint8_t count = (uint8_t)ncols;
        pkt(&r, seq++, &count, 1);
        char path[512] = "";
        for (size_t i = 0; i < ncols; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *db = dbs[(seed >> 8) % 5];
            const char *tb = tbs[(seed >> 12) % 5];
            coldef(&r, seq++, db, tb, "c", 0xfd, false);
            path_add(path, sizeof path, db, tb);
        }
        eof(&r, seq++);
        for (size_t i = 0; i < nrows; i++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 8) % 7 == 0) {
                pkt(&r, seq++, "", 0); /* its "first byte" is the next header's */
            } else {
                text_row(&r, seq++, vals[(seed >> 12) % 4], vals[(seed >> 16) % 4]);
            }
        }
        eof(&r, seq++);
        query(&q2, "delete from t");
        ok(&r2, 1, 1, 0);
        struct pt_step s[] = {
            {PB_DIR_TO_SERVER, q.b, q.n},
            {PB_DIR_TO_CLIENT, r.b, r.n},
            {PB_DIR_TO_SERVER, q2.b, q2.n},
            {PB_DIR_TO_CLIENT, r2.b, r2.n},
        };
        const char *yaml = cfgs[round % 3];
        struct pt_conn *t = pt_open(&pb_proto_mysql, yaml);
        for (size_t k = 0; k < 4; k++) {
            pt_feed(t, s[k].d, s[k].p, s[k].n);
        }
        ck_assert_uint_eq(pt_nevents(t), 2);
        ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), (int64_t)ncols);
        ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), (int64_t)nrows);
        ck_assert_str_eq(pt_str(t, 0, "path"), path);
        pt_close(t);
        pt_check_split_anywhere(&pb_proto_mysql, yaml, s, 4);
    }
}
END_TEST

START_TEST(three_responses_in_one_segment)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q, "select 1");
    pt_hex(&r, "0700000100000000000000"
               "0700000100000000000000"
               "0700000100000000000000");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    /* one transaction: the two other answers are unmatched */
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 2);
    pt_close(t);
}
END_TEST

START_TEST(second_request_replaces_first)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q1 = {.n = 0};
    struct pt_buf q2 = {.n = 0};
    struct pt_buf r = {.n = 0};
    query(&q1, "select a");
    query(&q2, "delete from b");
    ok(&r, 1, 3, 0);
    pt_feed(t, PB_DIR_TO_SERVER, q1.b, q1.n);
    pt_feed(t, PB_DIR_TO_SERVER, q2.b, q2.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "DELETE");
    ck_assert_int_eq(pt_int(t, 0, "mysql.affected_rows"), 3);
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    /* a response without request, other commands ignored */
    struct pt_buf ping = {.n = 0};
    struct pt_buf r2 = {.n = 0};
    static const uint8_t cmd_ping = 0x0e;
    pkt(&ping, 0, &cmd_ping, 1);
    ok(&r2, 1, 0, 0);
    pt_feed(t, PB_DIR_TO_SERVER, ping.b, ping.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r2.b, r2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

static const char *PREP_REQ =
    "c00000001673656c6563742064697374696e637420636f756e742864697374696e637420707572636861736564"
    "65305f2e69642920617320636f6c5f305f305f2066726f6d2070757263686173655f64656d616e64207075726368"
    "6173656465305f2077686572652070757263686173656465305f2e636861696e5f6d61737465723d3f20616e6420"
    "70757263686173656465305f2e6372656174655f74696d653e3d3f20616e642070757263686173656465305f2e63"
    "72656174655f74696d653c3d3f";
static const char *PREP_RESP =
    "0c000001000b000000010003000000001700000203646566000000013f000c3f0000000000fd80000000001700"
    "000303646566000000013f000c3f0000000000fd80000000001700000403646566000000013f000c3f00000000"
    "00fd800000000005000005fe000001201e0000060364656600000008636f6c5f305f305f000c3f00150000000881"
    "0000000005000007fe00000120";
static const char *EXEC_REQ = "33000000170b00000000010000000001fd000c000c00084131323234363338"
                              "0be107071c000000000000000be1070a1c173b3b00000000";
static const char *EXEC_RESP = "01000001011e0000020364656600000008636f6c5f305f305f000c3f0015000000"
                               "08810000000005000003fe000001200a00000400000b000000000000000500"
                               "0005fe00000120";

START_TEST(prepared_statement)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3307]\nstatement_timeout: 1h");
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    struct pt_buf c = {.n = 0};
    struct pt_buf d = {.n = 0};
    pt_hex(&a, PREP_REQ);
    pt_hex(&b, PREP_RESP);
    pt_hex(&c, EXEC_REQ);
    pt_hex(&d, EXEC_RESP);
    pt_feed(t, PB_DIR_TO_SERVER, a.b, a.n);
    pt_feed(t, PB_DIR_TO_CLIENT, b.b, b.n);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, d.b, d.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "query"), "Request Prepare Statement");
    ck_assert_str_eq(pt_str(t, 0, "method"), "SELECT");
    ck_assert_ptr_nonnull(strstr(pt_str(t, 0, "error.message"), "select distinct count"));
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 16);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 1);
    ck_assert_str_eq(pt_str(t, 1, "method"), "SELECT");
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 1, "params.0"), "A1224638");
    ck_assert_str_eq(pt_str(t, 1, "params.1"), "2017/7/28 0:0:0");
    ck_assert_str_eq(pt_str(t, 1, "params.2"), "2017/10/28 23:59:59");
    ck_assert_int_eq(pt_int(t, 1, "mysql.num_rows"), 1);
    ck_assert_ptr_nonnull(strstr(pt_str(t, 1, "query"), "purchase_demand"));

    /* COM_STMT_CLOSE forgets it: the next execute has no known query and
     * its answer is not published */
    struct pt_buf cl = {.n = 0};
    static const uint8_t close_p[] = {0x19, 0x0b, 0x00, 0x00, 0x00};
    pkt(&cl, 0, close_p, sizeof close_p);
    pt_feed(t, PB_DIR_TO_SERVER, cl.b, cl.n);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, d.b, d.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

START_TEST(prepared_split_anywhere)
{
    struct pt_buf a = {.n = 0};
    struct pt_buf b = {.n = 0};
    struct pt_buf c = {.n = 0};
    struct pt_buf d = {.n = 0};
    pt_hex(&a, PREP_REQ);
    pt_hex(&b, PREP_RESP);
    pt_hex(&c, EXEC_REQ);
    pt_hex(&d, EXEC_RESP);
    struct pt_step s[] = {
        {PB_DIR_TO_SERVER, a.b, a.n},
        {PB_DIR_TO_CLIENT, b.b, b.n},
        {PB_DIR_TO_SERVER, c.b, c.n},
        {PB_DIR_TO_CLIENT, d.b, d.n},
    };
    pt_check_split_anywhere(&pb_proto_mysql, "ports: [3307]\nsend_response: true", s, 4);
}
END_TEST

START_TEST(gap_in_response_publishes_with_note)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_response: true");
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    pt_hex(&q, "130000000373656c656374202a2066726f6d2074657374");
    pt_hex(&r, "0100000103240000020364656604"
               "74657374047465737404746573740161"
               "01610c3f000b00000003000000000024"
               "00000303646566047465737404746573"
               "740474657374016201620c3f000b0000"
               "00030000000000240000040364656604"
               "74657374047465737404746573740163"
               "01630c2100fd020000fd000000000005"
               "000005fe000022000a00000601310131"
               "0548656c6c6f0a000007013201320548"
               "656c6c6f0601000801330133fcff004c"
               "6f72656d20497073756d206973207369");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_gap(t, PB_DIR_TO_CLIENT, 10);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the response");
    ck_assert_str_eq(pt_str(t, 0, "path"), "test.test");
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 2);
    ck_assert_str_eq(pt_str(t, 0, "response"), "a,b,c\n1,1,Hello\n2,2,Hello\n");
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    pt_close(t);
}
END_TEST

START_TEST(gap_in_request_publishes_nothing)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q = {.n = 0};
    struct pt_buf r = {.n = 0};
    pt_hex(&q, "130000000373656c656374202a2066726f6d20746573"); /* last byte missing */
    ok(&r, 1, 0, 0);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_gap(t, PB_DIR_TO_SERVER, 1);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* parsing resumes with the next request */
    struct pt_buf q2 = {.n = 0};
    query(&q2, "select 2");
    pt_feed(t, PB_DIR_TO_SERVER, q2.b, q2.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "select 2");
    pt_close(t);
}
END_TEST

START_TEST(fin_and_expire_publish_nothing)
{
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q = {.n = 0};
    query(&q, "select sleep(100)");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_fin(t, PB_DIR_TO_SERVER);
    pt_fin(t, PB_DIR_TO_CLIENT);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(large_result_bytes_capped)
{
    /* rows past 100 KiB are counted but the published size stops there */
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    struct pt_buf q = {.n = 0};
    struct pt_buf m = {.n = 0};
    query(&q, "select v from big");
    /* the response (about 205 KB) is larger than one builder: its packets
     * are built one at a time and gathered in r */
    size_t rn = 0, rcap = 300000;
    uint8_t *r = malloc(rcap);
    ck_assert_ptr_nonnull(r);
    static const uint8_t one = 1;
    pkt(&m, 1, &one, 1);
    coldef(&m, 2, "db", "big", "v", 0xfd, false);
    eof(&m, 3);
    char val[201];
    memset(val, 'x', 200);
    val[200] = '\0';
    uint8_t seq = 4;
    for (int i = 0; i <= 1000; i++) {
        if (i < 1000) {
            text_row(&m, seq++, val, NULL);
        } else {
            eof(&m, seq);
        }
        ck_assert_uint_le(m.n, rcap - rn);
        memcpy(r + rn, m.b, m.n);
        rn += m.n;
        m.n = 0;
    }
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r, rn);
    free(r);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 1000);
    int64_t bytes = pt_int(t, 0, "destination.bytes");
    ck_assert_int_gt(bytes, 100 * 1024);
    ck_assert_int_lt(bytes, 100 * 1024 + 300);
    pt_close(t);
}
END_TEST

/* MariaDB handshake: greeting without CLIENT_MYSQL, extended caps. */
static void mariadb_handshake(struct pt_buf *srv, struct pt_buf *cli, bool deprecate_eof,
                              uint32_t xcaps)
{
    uint8_t g[256];
    size_t n = 0;
    g[n++] = 0x0a;
    static const char ver[] = "5.5.5-10.11.6-MariaDB-0+deb12u1";
    memcpy(g + n, ver, sizeof ver);
    n += sizeof ver;
    memset(g + n, 1, 4 + 8);
    n += 12;
    g[n++] = 0;
    uint32_t caps = 0x81fff7feu; /* CLIENT_MYSQL clear, DEPRECATE_EOF offered */
    g[n++] = (uint8_t)caps;
    g[n++] = (uint8_t)(caps >> 8);
    g[n++] = 8;
    g[n++] = 2;
    g[n++] = 0;
    g[n++] = (uint8_t)(caps >> 16);
    g[n++] = (uint8_t)(caps >> 24);
    g[n++] = 21;
    memset(g + n, 0, 6);
    n += 6;
    g[n++] = (uint8_t)xcaps;
    g[n++] = (uint8_t)(xcaps >> 8);
    g[n++] = (uint8_t)(xcaps >> 16);
    g[n++] = (uint8_t)(xcaps >> 24);
    memset(g + n, 2, 12);
    n += 12;
    g[n++] = 0;
    static const char plugin[] = "mysql_native_password";
    memcpy(g + n, plugin, sizeof plugin);
    n += sizeof plugin;
    pkt(srv, 0, g, n);

    uint8_t h[128];
    memset(h, 0, sizeof h);
    uint32_t cc = 0x00bfa28cu | (deprecate_eof ? 0x01000000u : 0);
    h[0] = (uint8_t)cc;
    h[1] = (uint8_t)(cc >> 8);
    h[2] = (uint8_t)(cc >> 16);
    h[3] = (uint8_t)(cc >> 24);
    h[8] = 33;
    h[28] = (uint8_t)xcaps;
    h[32] = 'p';
    h[33] = 'b';
    h[34] = 0;
    h[35] = 0;
    pkt(cli, 1, h, 36);
}

START_TEST(mariadb_deprecate_eof_and_cached_metadata)
{
    struct pt_buf srv = {.n = 0};
    struct pt_buf cli = {.n = 0};
    struct pt_buf auth_ok = {.n = 0};
    mariadb_handshake(&srv, &cli, true, 0x1d);
    ok(&auth_ok, 2, 0, 0);

    struct pt_buf q1 = {.n = 0};
    struct pt_buf r1 = {.n = 0};
    struct pt_buf q2 = {.n = 0};
    struct pt_buf r2 = {.n = 0};
    struct pt_buf q3 = {.n = 0};
    struct pt_buf r3 = {.n = 0};
    query(&q1, "select name, v from t");
    static const uint8_t count_meta[] = {2, 1}; /* 2 columns, metadata follows */
    pkt(&r1, 1, count_meta, sizeof count_meta);
    coldef(&r1, 2, "pbtest", "t", "name", 0xfd, true);
    coldef(&r1, 3, "pbtest", "t", "v", 0xfd, true);
    /* no EOF (CLIENT_DEPRECATE_EOF); a row starting with 0x00 (empty string) */
    text_row(&r1, 4, "", "x");
    text_row(&r1, 5, "alice", "1.5");
    text_row(&r1, 6, "bob", "2");
    static const uint8_t ok_fe[] = {0xfe, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00};
    pkt(&r1, 7, ok_fe, sizeof ok_fe);

    /* an empty result: the terminator right after the definitions */
    query(&q2, "select name from t where 0");
    static const uint8_t count1[] = {1, 1};
    pkt(&r2, 1, count1, sizeof count1);
    coldef(&r2, 2, "pbtest", "t", "name", 0xfd, true);
    pkt(&r2, 3, ok_fe, sizeof ok_fe);

    query(&q3, "update t set v = 1");
    ok(&r3, 1, 3, 0);

    struct pt_step s[] = {
        {PB_DIR_TO_CLIENT, srv.b, srv.n},         {PB_DIR_TO_SERVER, cli.b, cli.n},
        {PB_DIR_TO_CLIENT, auth_ok.b, auth_ok.n}, {PB_DIR_TO_SERVER, q1.b, q1.n},
        {PB_DIR_TO_CLIENT, r1.b, r1.n},           {PB_DIR_TO_SERVER, q2.b, q2.n},
        {PB_DIR_TO_CLIENT, r2.b, r2.n},           {PB_DIR_TO_SERVER, q3.b, q3.n},
        {PB_DIR_TO_CLIENT, r3.b, r3.n},
    };
    const char *yaml = "ports: [3306]\nsend_response: true";
    struct pt_conn *t = pt_open(&pb_proto_mysql, yaml);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        pt_feed(t, s[i].d, s[i].p, s[i].n);
    }
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "query"), "select name, v from t");
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_rows"), 3);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 2);
    ck_assert_str_eq(pt_str(t, 0, "path"), "pbtest.t");
    ck_assert_str_eq(pt_str(t, 0, "response"), "name,v\n,x\nalice,1.5\nbob,2\n");
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)r1.n);
    ck_assert_str_eq(pt_str(t, 1, "query"), "select name from t where 0");
    ck_assert_int_eq(pt_int(t, 1, "mysql.num_rows"), 0);
    ck_assert_str_eq(pt_str(t, 2, "query"), "update t set v = 1");
    ck_assert_int_eq(pt_int(t, 2, "mysql.affected_rows"), 3);
    pt_close(t);
    pt_check_split_anywhere(&pb_proto_mysql, yaml, s, sizeof s / sizeof s[0]);
}
END_TEST

START_TEST(mariadb_prepared_binary_rows)
{
    struct pt_buf srv = {.n = 0};
    struct pt_buf cli = {.n = 0};
    struct pt_buf auth_ok = {.n = 0};
    mariadb_handshake(&srv, &cli, false, 0x1d);
    ok(&auth_ok, 2, 0, 0);

    struct pt_buf prep = {.n = 0};
    struct pt_buf prep_r = {.n = 0};
    struct pt_buf exec = {.n = 0};
    struct pt_buf exec_r = {.n = 0};
    const char *sql = "select id, name from t where id > ?";
    uint8_t p[128];
    p[0] = 0x16;
    memcpy(p + 1, sql, strlen(sql));
    pkt(&prep, 0, p, strlen(sql) + 1);
    /* PREPARE_OK: id 7, 2 columns, 1 parameter */
    static const uint8_t pok[] = {0x00, 7, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0};
    pkt(&prep_r, 1, pok, sizeof pok);
    coldef(&prep_r, 2, "", "", "?", 0xfd, true);
    eof(&prep_r, 3);
    coldef(&prep_r, 4, "pbtest", "t", "id", 0x03, true);
    coldef(&prep_r, 5, "pbtest", "t", "name", 0xfd, true);
    eof(&prep_r, 6);

    /* EXECUTE id 7, one LONGLONG parameter = 1 */
    static const uint8_t ex[] = {0x17, 7,    0,    0, 0, 0, 1, 0, 0, 0, 0x00,
                                 0x01, 0x08, 0x00, 1, 0, 0, 0, 0, 0, 0, 0};
    pkt(&exec, 0, ex, sizeof ex);
    /* binary result without metadata (cached): count 2 + "metadata follows" 0 */
    static const uint8_t count_nometa[] = {2, 0};
    pkt(&exec_r, 1, count_nometa, sizeof count_nometa);
    eof(&exec_r, 2);
    static const uint8_t row1[] = {0x00, 0x00, 0x02, 0, 0, 0, 3, 'b', 'o', 'b'};
    pkt(&exec_r, 3, row1, sizeof row1);
    static const uint8_t row2[] = {0x00, 0x08, 0x03, 0, 0, 0}; /* name NULL */
    pkt(&exec_r, 4, row2, sizeof row2);
    eof(&exec_r, 5);

    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_response: true");
    pt_feed(t, PB_DIR_TO_CLIENT, srv.b, srv.n);
    pt_feed(t, PB_DIR_TO_SERVER, cli.b, cli.n);
    pt_feed(t, PB_DIR_TO_CLIENT, auth_ok.b, auth_ok.n);
    pt_feed(t, PB_DIR_TO_SERVER, prep.b, prep.n);
    pt_feed(t, PB_DIR_TO_CLIENT, prep_r.b, prep_r.n);
    pt_feed(t, PB_DIR_TO_SERVER, exec.b, exec.n);
    pt_feed(t, PB_DIR_TO_CLIENT, exec_r.b, exec_r.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "query"), "Request Prepare Statement");
    ck_assert_int_eq(pt_int(t, 0, "mysql.affected_rows"), 0);
    ck_assert_int_eq(pt_int(t, 0, "mysql.num_fields"), 2);
    ck_assert_str_eq(pt_str(t, 1, "query"), sql);
    ck_assert_str_eq(pt_str(t, 1, "params.0"), "1");
    ck_assert_int_eq(pt_int(t, 1, "mysql.num_rows"), 2);
    ck_assert_str_eq(pt_str(t, 1, "path"), "pbtest.t");
    ck_assert_str_eq(pt_str(t, 1, "response"), "id,name\n2,bob\n3,NULL\n");
    pt_close(t);
}
END_TEST

START_TEST(packetbeat_walk_reads_deprecate_eof_as_packetbeat)
{
    /* a MySQL 8 server (CLIENT_MYSQL set) keeps Packetbeat's walk: the
     * rows after the definitions are taken for definitions and the answer
     * only ends at the next 0xfe packet */
    struct pt_buf q1 = {.n = 0};
    struct pt_buf r1 = {.n = 0};
    struct pt_buf q2 = {.n = 0};
    struct pt_buf r2 = {.n = 0};
    query(&q1, "select @@version_comment limit 1");
    pt_hex(&r1, "0100000101270000020364656600000011404076657273696f6e5f636f6d6d656e74000c21001800"
                "0000fd00001f00000900000308486f6d656272657707000004fe000002000000");
    query(&q2, "CREATE DATABASE test");
    pt_hex(&r2, "0700000100010002000000");
    struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
    pt_feed(t, PB_DIR_TO_SERVER, q1.b, q1.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r1.b, r1.n);
    pt_feed(t, PB_DIR_TO_SERVER, q2.b, q2.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r2.b, r2.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(csv_quoting)
{
    struct my_table tab;
    memset(&tab, 0, sizeof tab);
    my_strv_push(&tab.fields, "a,b", 3);
    my_strv_push(&tab.fields, "multi\nline", 10);
    tab.rows = calloc(1, sizeof *tab.rows);
    tab.nrows = tab.caprows = 1;
    my_strv_push(&tab.rows[0], " lead", 5);
    my_strv_push(&tab.rows[0], "q\"uote", 6);
    my_strv_push(&tab.rows[0], "cr\rlf\n", 6);
    my_strv_push(&tab.rows[0], "", 0);
    size_t n = 0;
    char *csv = my_csv(&tab, &n);
    ck_assert_str_eq(csv, "\"a,b\",multi\\nline\n\" lead\",\"q\"\"uote\",cr\\rlf\\n,\n");
    free(csv);
    my_table_free(&tab);
}
END_TEST

START_TEST(hostile_input)
{
    /* garbage, truncations and bit flips never crash and never loop */
    struct pt_buf r = {.n = 0};
    struct pt_buf q = {.n = 0};
    pt_hex(&r, RS_MINITWIT);
    query(&q, "select * from post");
    uint32_t seed = 12345;
    for (int round = 0; round < 300; round++) {
        struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]\nsend_response: true");
        static uint8_t m[2048];
        size_t n = r.n < sizeof m ? r.n : sizeof m;
        memcpy(m, r.b, n);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            m[(seed >> 8) % n] = (uint8_t)(seed >> 16);
        }
        seed = seed * 1103515245u + 12345u;
        size_t cut = (seed >> 8) % n;
        pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
        pt_feed(t, PB_DIR_TO_CLIENT, m, cut);
        pt_feed(t, PB_DIR_TO_CLIENT, m + cut, n - cut);
        pt_feed(t, PB_DIR_TO_SERVER, m, n);
        pt_gap(t, PB_DIR_TO_CLIENT, 5);
        pt_feed(t, PB_DIR_TO_CLIENT, m, n);
        pt_close(t);
    }
    for (int round = 0; round < 200; round++) {
        struct pt_conn *t = pt_open(&pb_proto_mysql, "ports: [3306]");
        uint8_t g[512];
        for (size_t i = 0; i < sizeof g; i++) {
            seed = seed * 1103515245u + 12345u;
            g[i] = (uint8_t)(seed >> 16);
        }
        pt_feed(t, round % 2 ? PB_DIR_TO_CLIENT : PB_DIR_TO_SERVER, g, sizeof g);
        pt_feed(t, round % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, g, sizeof g);
        pt_close(t);
    }
}
END_TEST

START_TEST(bad_option_is_rejected)
{
    struct pb_proto p;
    memset(&p, 0, sizeof p);
    char err[256];
    struct pb_cfg *cfg = pb_cfg_parse("max_rows: lots", 14, "test", err, sizeof err);
    ck_assert_ptr_nonnull(cfg);
    p.cfg = cfg;
    p.ops = &pb_proto_mysql;
    ck_assert_int_lt(pb_proto_mysql.init(&p), 0);
    pb_cfg_free(cfg);
}
END_TEST

static Suite *mysql_suite(void)
{
    Suite *s = suite_create("mysql");
    TCase *c = tcase_create("core");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, query_ok_response);
    tcase_add_test(c, error_response);
    tcase_add_test(c, result_set_and_options);
    tcase_add_test(c, split_anywhere);
    tcase_add_test(c, definition_and_row_runs_as_single_packets);
    tcase_add_test(c, lenenc_every_first_byte);
    tcase_add_test(c, mysql_object_text);
    tcase_add_test(c, method_of_every_length);
    tcase_add_test(c, three_responses_in_one_segment);
    tcase_add_test(c, second_request_replaces_first);
    tcase_add_test(c, prepared_statement);
    tcase_add_test(c, prepared_split_anywhere);
    tcase_add_test(c, gap_in_response_publishes_with_note);
    tcase_add_test(c, gap_in_request_publishes_nothing);
    tcase_add_test(c, fin_and_expire_publish_nothing);
    tcase_add_test(c, large_result_bytes_capped);
    tcase_add_test(c, mariadb_deprecate_eof_and_cached_metadata);
    tcase_add_test(c, mariadb_prepared_binary_rows);
    tcase_add_test(c, packetbeat_walk_reads_deprecate_eof_as_packetbeat);
    tcase_add_test(c, csv_quoting);
    tcase_add_test(c, hostile_input);
    tcase_add_test(c, bad_option_is_rejected);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(mysql_suite());
    return failed == 0 ? 0 : 1;
}
