/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_mongodb.c - mongodb: BSON to Go-style JSON, wire
 * messages (OP_QUERY/OP_REPLY, commands, OP_MSG, legacy writes), split
 * anywhere, correlation both ways, errors, max_docs / max_doc_length,
 * unknown opcodes, gaps and hostile input.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/err.h"
#include "protos/mongodb/mongodb_bson.h"
#include "protos/mongodb/mongodb_parse.h"
#include "protos/proto.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_mongodb;

#define CFG "ports: [27017]"

/* ---- little-endian builders ---- */

static void bcstr(struct pt_buf *m, const char *s)
{
    pt_put(m, s, strlen(s) + 1);
}

static void patch32(struct pt_buf *m, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        m->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
    }
}

/* Documents: doc_begin, elements, doc_end. */
static size_t doc_begin(struct pt_buf *m)
{
    size_t at = m->n;
    pt_le32(m, 0);
    return at;
}

static void doc_end(struct pt_buf *m, size_t at)
{
    pt_u8(m, 0);
    patch32(m, at, (uint32_t)(m->n - at));
}

static void e_str(struct pt_buf *m, const char *k, const char *v)
{
    pt_u8(m, 0x02);
    bcstr(m, k);
    pt_le32(m, (uint32_t)strlen(v) + 1);
    bcstr(m, v);
}

static void e_i32(struct pt_buf *m, const char *k, int32_t v)
{
    pt_u8(m, 0x10);
    bcstr(m, k);
    pt_le32(m, (uint32_t)v);
}

static void e_i64(struct pt_buf *m, const char *k, int64_t v, uint8_t kind)
{
    pt_u8(m, kind);
    bcstr(m, k);
    pt_le64(m, (uint64_t)v);
}

static void e_dbl(struct pt_buf *m, const char *k, double v)
{
    uint64_t x;
    memcpy(&x, &v, sizeof x);
    e_i64(m, k, (int64_t)x, 0x01);
}

/* Message header + body builder. */
static size_t msg_begin(struct pt_buf *m, uint32_t id, uint32_t resp_to, uint32_t op)
{
    size_t at = m->n;
    pt_le32(m, 0);
    pt_le32(m, id);
    pt_le32(m, resp_to);
    pt_le32(m, op);
    return at;
}

static void msg_end(struct pt_buf *m, size_t at)
{
    patch32(m, at, (uint32_t)(m->n - at));
}

/* OP_QUERY on coll with query {k: v} (v: string) or an empty query. */
static void op_query(struct pt_buf *m, uint32_t id, const char *coll, uint32_t skip, uint32_t ret,
                     const char *k, const char *v)
{
    size_t at = msg_begin(m, id, 0, 2004);
    pt_le32(m, 0);
    bcstr(m, coll);
    pt_le32(m, skip);
    pt_le32(m, ret);
    size_t d = doc_begin(m);
    if (k != NULL) {
        e_str(m, k, v);
    }
    doc_end(m, d);
    msg_end(m, at);
}

/* OP_REPLY with n documents {i: <n>, name: "doc"}. */
static void op_reply(struct pt_buf *m, uint32_t id, uint32_t resp_to, int n, const char *err)
{
    size_t at = msg_begin(m, id, resp_to, 1);
    pt_le32(m, 0);
    pt_le64(m, 0);
    pt_le32(m, 0);
    pt_le32(m, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        size_t d = doc_begin(m);
        if (err != NULL && i == 0) {
            e_str(m, "$err", err);
        }
        e_i32(m, "i", i);
        e_str(m, "name", "doc");
        doc_end(m, d);
    }
    msg_end(m, at);
}

/* ---- BSON/JSON ---- */

static char *to_json(const struct pt_buf *m, int *rc)
{
    struct bson_doc doc;
    char err[128];
    *rc = bson_decode(m->b, m->n, &doc, err, sizeof err);
    if (*rc != 0) {
        return NULL;
    }
    struct pb_bytes out = {0};
    bool ok = bson_doc_json(&doc, NULL, &out);
    bson_doc_free(&doc);
    if (!ok) {
        pb_bytes_free(&out);
        return NULL;
    }
    char *s = strndup((const char *)out.p, out.len);
    pb_bytes_free(&out);
    return s;
}

START_TEST(go_floats)
{
    char b[40];
    struct {
        double v;
        const char *s;
    } cases[] = {
        {3.0, "3"},
        {0.1, "0.1"},
        {-73.856077, "-73.856077"},
        {1e21, "1e+21"},
        {1e20, "100000000000000000000"},
        {1e-7, "1e-7"},
        {0.000001, "0.000001"},
        {123456.789, "123456.789"},
        {-0.0, "-0"},
        {2.5e-10, "2.5e-10"},
        {1.5e300, "1.5e+300"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert(bson_go_float(cases[i].v, b, sizeof b));
        ck_assert_str_eq(b, cases[i].s);
    }
    ck_assert(!bson_go_float(NAN, b, sizeof b));
    ck_assert(!bson_go_float(INFINITY, b, sizeof b));
}
END_TEST

START_TEST(bson_types_to_json)
{
    struct pt_buf m = {0};
    size_t d = doc_begin(&m);
    e_str(&m, "s", "a<b>&\"\\\n\t\x01\xe2\x80\xa8\xff");
    e_i32(&m, "n", -5);
    e_i64(&m, "l", 1234567890123ll, 0x12);
    e_dbl(&m, "f", 0.5);
    pt_u8(&m, 0x08);
    bcstr(&m, "t");
    pt_u8(&m, 1);
    pt_u8(&m, 0x0A);
    bcstr(&m, "z");
    pt_u8(&m, 0x07);
    bcstr(&m, "_id");
    pt_put(&m, "\x55\x8b\xeb\xb4\x5f\x07\x56\x65\xd2\xae\x86\x27", 12);
    e_i64(&m, "d", 1393804800000ll, 0x09); /* 2014-03-03 */
    e_i64(&m, "dn", -1, 0x09);             /* 1969-12-31T23:59:59.999Z */
    pt_u8(&m, 0x05);
    bcstr(&m, "bin");
    pt_le32(&m, 3);
    pt_u8(&m, 0);
    pt_put(&m, "abc", 3);
    pt_u8(&m, 0x05);
    bcstr(&m, "uuid");
    pt_le32(&m, 1);
    pt_u8(&m, 4);
    pt_put(&m, "x", 1);
    pt_u8(&m, 0x0B);
    bcstr(&m, "re");
    bcstr(&m, "^a");
    bcstr(&m, "i");
    pt_u8(&m, 0x04);
    bcstr(&m, "arr");
    size_t a = doc_begin(&m);
    e_i32(&m, "0", 1);
    e_str(&m, "1", "two");
    doc_end(&m, a);
    pt_u8(&m, 0x03);
    bcstr(&m, "sub");
    size_t s = doc_begin(&m);
    e_i32(&m, "b", 2);
    e_i32(&m, "a", 1);
    doc_end(&m, s);
    e_i32(&m, "dup", 1);
    e_i32(&m, "dup", 2);
    pt_u8(&m, 0xFF);
    bcstr(&m, "min");
    pt_u8(&m, 0x06);
    bcstr(&m, "u");
    doc_end(&m, d);
    int rc;
    char *j = to_json(&m, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j, "{\"_id\":\"558bebb45f075665d2ae8627\",\"arr\":[1,\"two\"],"
                        "\"bin\":\"YWJj\",\"d\":\"2014-03-03T00:00:00Z\","
                        "\"dn\":\"1969-12-31T23:59:59.999Z\",\"dup\":2,\"f\":0.5,"
                        "\"l\":1234567890123,\"min\":-9223372036854775808,\"n\":-5,"
                        "\"re\":{\"Pattern\":\"^a\",\"Options\":\"i\"},"
                        "\"s\":\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\t\\u0001\\u2028\\ufffd\","
                        "\"sub\":{\"a\":1,\"b\":2},\"t\":true,\"u\":{},"
                        "\"uuid\":{\"Kind\":4,\"Data\":\"eA==\"},\"z\":null}");
    free(j);
}
END_TEST

START_TEST(bson_corrupted)
{
    int rc;
    struct pt_buf m = {0};
    /* length says 10, only 5 bytes */
    pt_le32(&m, 10);
    pt_u8(&m, 0);
    ck_assert_ptr_null(to_json(&m, &rc));
    ck_assert_int_eq(rc, -PB_EPROTO);
    /* bad boolean */
    memset(&m, 0, sizeof m);
    size_t d = doc_begin(&m);
    pt_u8(&m, 0x08);
    bcstr(&m, "b");
    pt_u8(&m, 7);
    doc_end(&m, d);
    ck_assert_ptr_null(to_json(&m, &rc));
    ck_assert_int_eq(rc, -PB_EPROTO);
    /* unknown kind */
    memset(&m, 0, sizeof m);
    d = doc_begin(&m);
    pt_u8(&m, 0x42);
    bcstr(&m, "x");
    doc_end(&m, d);
    struct bson_doc doc;
    char err[128];
    ck_assert_int_eq(bson_decode(m.b, m.n, &doc, err, sizeof err), -PB_EPROTO);
    ck_assert_str_eq(err, "Unknown element kind (0x42)");
    /* string length running past the document */
    memset(&m, 0, sizeof m);
    d = doc_begin(&m);
    pt_u8(&m, 0x02);
    bcstr(&m, "s");
    pt_le32(&m, 100);
    bcstr(&m, "x");
    doc_end(&m, d);
    ck_assert_int_eq(bson_decode(m.b, m.n, &doc, err, sizeof err), -PB_EPROTO);
    ck_assert_str_eq(err, "Document is corrupted");
    /* NaN decodes but cannot be marshalled */
    memset(&m, 0, sizeof m);
    d = doc_begin(&m);
    e_dbl(&m, "f", NAN);
    doc_end(&m, d);
    ck_assert_ptr_null(to_json(&m, &rc));
    ck_assert_int_eq(rc, 0);
    /* too deep */
    memset(&m, 0, sizeof m);
    size_t at[200];
    for (int i = 0; i < 200; i++) {
        at[i] = doc_begin(&m);
        pt_u8(&m, 0x03);
        bcstr(&m, "a");
    }
    size_t last = doc_begin(&m);
    doc_end(&m, last);
    for (int i = 199; i >= 0; i--) {
        doc_end(&m, at[i]);
    }
    ck_assert_int_ne(bson_decode(m.b, m.n, &doc, err, sizeof err), 0);
}
END_TEST

/* ---- plugin ---- */

START_TEST(find_transaction)
{
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG "\nsend_request: true\nsend_response: true");
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 10, "test.restaurants", 2, 3, "cuisine", "Bakery");
    op_reply(&r, 99, 10, 2, NULL);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_advance(t, 5000);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "mongodb");
    ck_assert_str_eq(pt_str(t, 0, "method"), "find");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "test.restaurants");
    ck_assert_str_eq(pt_str(t, 0, "query"), "test.restaurants.find().skip(2).limit(3)");
    ck_assert_str_eq(pt_str(t, 0, "request"),
                     "test.restaurants.find({\"cuisine\":\"Bakery\"}).skip(2).limit(3)");
    ck_assert_str_eq(pt_str(t, 0, "response"),
                     "{\"i\":0,\"name\":\"doc\"}\n{\"i\":1,\"name\":\"doc\"}");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 0, "mongodb.numberToSkip"), 2);
    ck_assert_int_eq(pt_int(t, 0, "mongodb.numberReturned"), 2);
    ck_assert_str_eq(pt_str(t, 0, "mongodb.fullCollectionName"), "test.restaurants");
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)q.n);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)r.n);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 5000);
    pt_close(t);
}
END_TEST

static char *session(size_t cut_req, size_t cut_resp, struct pt_buf *q, struct pt_buf *r)
{
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG "\nsend_request: true\nsend_response: true");
    pt_feed(t, PB_DIR_TO_SERVER, q->b, cut_req);
    pt_feed(t, PB_DIR_TO_SERVER, q->b + cut_req, q->n - cut_req);
    pt_feed(t, PB_DIR_TO_CLIENT, r->b, cut_resp);
    pt_feed(t, PB_DIR_TO_CLIENT, r->b + cut_resp, r->n - cut_resp);
    char *s = pt_dump(t);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
    return s;
}

START_TEST(split_anywhere)
{
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 1, "db.c", 0, 0, "a", "b");
    op_query(&q, 2, "db.$cmd", 0, 1, "count", "c");
    op_reply(&r, 7, 1, 3, NULL);
    op_reply(&r, 8, 2, 1, NULL);
    char *whole = session(0, 0, &q, &r);
    for (size_t i = 1; i < q.n; i++) {
        char *s = session(i, 0, &q, &r);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    for (size_t i = 1; i < r.n; i++) {
        char *s = session(0, i, &q, &r);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(commands_and_errors)
{
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG);
    struct pt_buf q = {0}, r = {0};
    /* insert command: resource from the value, documents left out */
    size_t at = msg_begin(&q, 5, 0, 2004);
    pt_le32(&q, 0);
    bcstr(&q, "test.$cmd");
    pt_le32(&q, 0);
    pt_le32(&q, 0xffffffffu);
    size_t d = doc_begin(&q);
    e_str(&q, "insert", "restaurants");
    pt_u8(&q, 0x04);
    bcstr(&q, "documents");
    size_t a = doc_begin(&q);
    doc_end(&q, a);
    pt_u8(&q, 0x08);
    bcstr(&q, "ordered");
    pt_u8(&q, 1);
    doc_end(&q, d);
    msg_end(&q, at);
    op_reply(&r, 6, 5, 1, "E11000 duplicate key");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "insert");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "test.restaurants");
    ck_assert_str_eq(pt_str(t, 0, "query"), "test.restaurants.insert({\"ordered\":true})");
    ck_assert_int_eq(pt_int(t, 0, "mongodb.numberToReturn"), 4294967295ll);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "mongodb.error"), "\"E11000 duplicate key\"");
    pt_close(t);

    /* a numeric command value keeps the $cmd resource */
    t = pt_open(&pb_proto_mongodb, CFG);
    memset(&q, 0, sizeof q);
    at = msg_begin(&q, 9, 0, 2004);
    pt_le32(&q, 0);
    bcstr(&q, "admin.$cmd");
    pt_le32(&q, 0);
    pt_le32(&q, 1);
    d = doc_begin(&q);
    e_dbl(&q, "isMaster", 1.0);
    doc_end(&q, d);
    msg_end(&q, at);
    memset(&r, 0, sizeof r);
    op_reply(&r, 10, 9, 1, NULL);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "isMaster");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "admin.$cmd");
    ck_assert_str_eq(pt_str(t, 0, "query"), "admin.$cmd.isMaster().limit(1)");
    pt_close(t);
}
END_TEST

START_TEST(max_docs_and_length)
{
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 1, "db.c", 0, 0, NULL, NULL);
    op_reply(&r, 2, 1, 5, NULL);
    struct pt_conn *t =
        pt_open(&pb_proto_mongodb, CFG "\nsend_response: true\nmax_docs: 2\nmax_doc_length: 6");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "response"), "{\"i\":0 ...\n{\"i\":1 ...\n[...]");
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    pt_close(t);

    /* max_docs with no value keeps the default of 10 */
    t = pt_open(&pb_proto_mongodb, CFG "\nsend_response: true\nmax_docs:");
    pt_close(t);

    t = pt_open(&pb_proto_mongodb, CFG "\nsend_response: true\nmax_docs: 0");
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    const char *resp = pt_str(t, 0, "response");
    ck_assert_ptr_nonnull(resp);
    int lines = 1;
    for (const char *c = resp; *c != '\0'; c++) {
        lines += *c == '\n';
    }
    ck_assert_int_eq(lines, 5);
    pt_close(t);
}
END_TEST

START_TEST(reply_before_request)
{
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 31, "db.c", 0, 0, NULL, NULL);
    op_reply(&r, 32, 31, 0, NULL);
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "mongodb.numberReturned"), 0);
    pt_close(t);
}
END_TEST

START_TEST(request_only_opcodes)
{
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG);
    struct pt_buf m = {0};
    /* OP_MSG body section */
    size_t at = msg_begin(&m, 1, 0, 2013);
    pt_le32(&m, 0);
    pt_u8(&m, 0);
    size_t d = doc_begin(&m);
    e_i32(&m, "ping", 1);
    doc_end(&m, d);
    msg_end(&m, at);
    /* OP_DELETE */
    at = msg_begin(&m, 2, 0, 2006);
    pt_le32(&m, 0);
    bcstr(&m, "db.c");
    pt_le32(&m, 0);
    d = doc_begin(&m);
    e_str(&m, "x", "y");
    doc_end(&m, d);
    msg_end(&m, at);
    /* OP_KILL_CURSORS */
    at = msg_begin(&m, 3, 0, 2007);
    pt_le32(&m, 0);
    msg_end(&m, at);
    pt_feed(t, PB_DIR_TO_SERVER, m.b, m.n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "method"), "msg");
    ck_assert_str_eq(pt_str(t, 0, "query"), ".msg()");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "");
    ck_assert(json_is_object(pt_field(t, 0, "mongodb")));
    ck_assert_uint_eq(json_object_size(pt_field(t, 0, "mongodb")), 0);
    ck_assert_str_eq(pt_str(t, 1, "method"), "delete");
    ck_assert_str_eq(pt_str(t, 1, "mongodb.selector"), "{\"x\":\"y\"}");
    ck_assert_str_eq(pt_str(t, 2, "method"), "killCursors");
    ck_assert_ptr_null(pt_field(t, 2, "event.end"));
    /* an OP_MSG from the server is published with the server as source */
    memset(&m, 0, sizeof m);
    at = msg_begin(&m, 4, 1, 2013);
    pt_le32(&m, 0);
    pt_u8(&m, 0);
    d = doc_begin(&m);
    e_dbl(&m, "ok", 1);
    doc_end(&m, d);
    msg_end(&m, at);
    pt_feed(t, PB_DIR_TO_CLIENT, m.b, m.n);
    ck_assert_uint_eq(pt_nevents(t), 4);
    ck_assert_str_eq(pt_str(t, 3, "source.ip"), "10.0.0.2");
    pt_close(t);
}
END_TEST

START_TEST(unknown_opcode_drops)
{
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG);
    struct pt_buf m = {0}, q = {0};
    size_t at = msg_begin(&m, 1, 0, 2269);
    pt_le32(&m, 0);
    msg_end(&m, at);
    op_query(&q, 5, "db.c", 0, 0, NULL, NULL);
    pt_put(&m, q.b, q.n); /* lost with the dropped stream */
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, m.b, m.n), PB_PARSE_DROP);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    struct pt_buf r = {0};
    op_reply(&r, 6, 5, 0, NULL);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);

    struct mongo_msg *out;
    size_t len;
    int32_t op = 0;
    char err[256];
    struct mongo_cfg cfg = {0};
    ck_assert_int_eq(mongo_parse(m.b, m.n, &cfg, 0, &out, &len, &op, err, sizeof err),
                     MONGO_BAD_OPCODE);
    ck_assert_int_eq(op, 2269);
    char name[32];
    mongo_opcode_str(op, name, sizeof name);
    ck_assert_str_eq(name, "(value=2269)");
    /* a length below the header reads opcode 0 */
    uint8_t tiny[8] = {8, 0, 0, 0, 1, 0, 0, 0};
    ck_assert_int_eq(mongo_parse(tiny, 8, &cfg, 0, &out, &len, &op, err, sizeof err),
                     MONGO_BAD_OPCODE);
    ck_assert_int_eq(op, 0);
}
END_TEST

START_TEST(parse_errors_drop)
{
    struct mongo_msg *out;
    size_t len;
    int32_t op = 0;
    char err[256];
    struct mongo_cfg cfg = {0};
    struct pt_buf m = {0};
    size_t at = msg_begin(&m, 1, 0, 2004);
    pt_le32(&m, 0);
    bcstr(&m, "db.c");
    pt_le32(&m, 0);
    pt_le32(&m, 0);
    pt_le32(&m, 50); /* document longer than the message */
    msg_end(&m, at);
    ck_assert_int_eq(mongo_parse(m.b, m.n, &cfg, 0, &out, &len, &op, err, sizeof err), MONGO_ERR);
    ck_assert_str_eq(err,
                     "An error occurred while parsing OP_QUERY message: document out of bounds");
    memset(&m, 0, sizeof m);
    at = msg_begin(&m, 1, 0, 2013);
    pt_le32(&m, 0);
    pt_u8(&m, 9);
    msg_end(&m, at);
    ck_assert_int_eq(mongo_parse(m.b, m.n, &cfg, 0, &out, &len, &op, err, sizeof err), MONGO_ERR);
    ck_assert_str_eq(err, "Unknown message kind: 9");
    /* incomplete */
    ck_assert_int_eq(mongo_parse(m.b, m.n - 1, &cfg, 0, &out, &len, &op, err, sizeof err),
                     MONGO_MORE);
    ck_assert_int_eq(mongo_parse(m.b, 3, &cfg, 0, &out, &len, &op, err, sizeof err), MONGO_MORE);
}
END_TEST

START_TEST(gap_keeps_waiting_request)
{
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 41, "db.c", 0, 0, NULL, NULL);
    op_reply(&r, 42, 41, 1, NULL);
    struct pt_conn *t = pt_open(&pb_proto_mongodb, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, q.b, q.n);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, 10);
    pt_gap(t, PB_DIR_TO_CLIENT, 20);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feed(t, PB_DIR_TO_CLIENT, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_fin(t, PB_DIR_TO_CLIENT);
    pt_expire(t);
    pt_close(t);
}
END_TEST

START_TEST(hostile_bytes)
{
    srand(5);
    struct pt_buf q = {0}, r = {0};
    op_query(&q, 1, "db.$cmd", 0, 0, "find", "c");
    op_reply(&r, 2, 1, 3, "e");
    for (int round = 0; round < 300; round++) {
        struct pt_conn *t =
            pt_open(&pb_proto_mongodb, CFG "\nsend_request: true\nsend_response: true");
        for (int k = 0; k < 10; k++) {
            struct pt_buf m = rand() % 2 ? q : r;
            /* corrupt a few bytes, keep the length mostly sane */
            for (int c = 0; c < 3; c++) {
                size_t at = 4 + (size_t)rand() % (m.n - 4);
                m.b[at] = (uint8_t)rand();
            }
            size_t cut = (size_t)rand() % m.n;
            enum pb_dir dir = rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT;
            pt_feed(t, dir, m.b, cut);
            pt_feed(t, dir, m.b + cut, m.n - cut);
            if (rand() % 8 == 0) {
                pt_gap(t, dir, 7);
            }
        }
        pt_close(t);
    }
}
END_TEST

static Suite *mongodb_suite(void)
{
    Suite *s = suite_create("mongodb");
    TCase *tc = tcase_create("mongodb");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, go_floats);
    tcase_add_test(tc, bson_types_to_json);
    tcase_add_test(tc, bson_corrupted);
    tcase_add_test(tc, find_transaction);
    tcase_add_test(tc, split_anywhere);
    tcase_add_test(tc, commands_and_errors);
    tcase_add_test(tc, max_docs_and_length);
    tcase_add_test(tc, reply_before_request);
    tcase_add_test(tc, request_only_opcodes);
    tcase_add_test(tc, unknown_opcode_drops);
    tcase_add_test(tc, parse_errors_drop);
    tcase_add_test(tc, gap_keeps_waiting_request);
    tcase_add_test(tc, hostile_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(mongodb_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
