/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_amqp.c - amqp: methods and their amqp.* fields,
 * request/response pairing, one-way publish/deliver, content headers and
 * bodies (max_body_length), field tables (parse_arguments), properties
 * (parse_headers), hide_connection_information, channel/connection errors
 * and the close-ok timer, frames split at every offset, heartbeats, gaps,
 * malformed and random input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protos/amqp/amqp_parse.h"
#include "protos/proto.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_amqp;

#define CFG "ports: [5672]"
#define CFG_REQRESP "ports: [5672]\nsend_request: true\nsend_response: true"

/* ---- frame builder ---- */

static void b_sstr(struct pt_buf *o, const char *s)
{
    pt_u8(o, (unsigned)strlen(s));
    pt_put(o, s, strlen(s));
}

static void b_lstr(struct pt_buf *o, const char *s)
{
    pt_be32(o, (uint32_t)strlen(s));
    pt_put(o, s, strlen(s));
}

static void b_bb(struct pt_buf *o, const struct pt_buf *in)
{
    pt_put(o, in->b, in->n);
}

/* type | channel | size | payload | 0xCE */
static void frame(struct pt_buf *o, unsigned type, const struct pt_buf *payload)
{
    pt_u8(o, type);
    pt_be16(o, 1);
    pt_be32(o, (uint32_t)payload->n);
    b_bb(o, payload);
    pt_u8(o, 0xCE);
}

static void method(struct pt_buf *o, unsigned cls, unsigned mth, const struct pt_buf *args)
{
    struct pt_buf p = {.n = 0};
    pt_be16(&p, cls);
    pt_be16(&p, mth);
    if (args != NULL) {
        b_bb(&p, args);
    }
    frame(o, 1, &p);
}

/* content header with only a content-type (or none) */
static void header(struct pt_buf *o, uint64_t size, const char *ctype)
{
    struct pt_buf p = {.n = 0};
    pt_be16(&p, 60);
    pt_be16(&p, 0);
    pt_be64(&p, size);
    pt_be16(&p, ctype != NULL ? 0x8000 : 0);
    if (ctype != NULL) {
        b_sstr(&p, ctype);
    }
    frame(o, 2, &p);
}

static void body(struct pt_buf *o, const void *data, size_t n)
{
    struct pt_buf p = {.n = 0};
    pt_put(&p, data, n);
    frame(o, 3, &p);
}

/* queue.declare: ticket, queue, flags, arguments (empty table when NULL) */
static void queue_declare(struct pt_buf *o, const char *queue, unsigned flags,
                          const struct pt_buf *table)
{
    struct pt_buf a = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, queue);
    pt_u8(&a, flags);
    if (table != NULL) {
        pt_be32(&a, (uint32_t)table->n);
        b_bb(&a, table);
    } else {
        pt_be32(&a, 0);
    }
    method(o, 50, 10, &a);
}

static void queue_declare_ok(struct pt_buf *o, const char *queue, uint32_t msgs, uint32_t consumers)
{
    struct pt_buf a = {.n = 0};
    b_sstr(&a, queue);
    pt_be32(&a, msgs);
    pt_be32(&a, consumers);
    method(o, 50, 11, &a);
}

static void publish(struct pt_buf *o, const char *exchange, const char *rkey, const char *ctype,
                    const char *text)
{
    struct pt_buf a = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, exchange);
    b_sstr(&a, rkey);
    pt_u8(&a, 0);
    method(o, 60, 40, &a);
    header(o, strlen(text), ctype);
    body(o, text, strlen(text));
}

static void deliver(struct pt_buf *o, const char *tag, uint64_t dtag, const char *exchange,
                    const char *rkey, const char *text)
{
    struct pt_buf a = {.n = 0};
    b_sstr(&a, tag);
    pt_be64(&a, dtag);
    pt_u8(&a, 0);
    b_sstr(&a, exchange);
    b_sstr(&a, rkey);
    method(o, 60, 60, &a);
    header(o, strlen(text), "text/plain");
    body(o, text, strlen(text));
}

/* connection.close / channel.close */
static void close_method(struct pt_buf *o, unsigned cls, unsigned code, const char *text,
                         unsigned fcls, unsigned fmth)
{
    struct pt_buf a = {.n = 0};
    pt_be16(&a, code);
    b_sstr(&a, text);
    pt_be16(&a, fcls);
    pt_be16(&a, fmth);
    method(o, cls, cls == 10 ? 50 : 40, &a);
}

static void empty_method(struct pt_buf *o, unsigned cls, unsigned mth)
{
    method(o, cls, mth, NULL);
}

static void feed(struct pt_conn *t, enum pb_dir d, const struct pt_buf *b)
{
    pt_feed(t, d, b->b, b->n);
}

static bool fbool(struct pt_conn *t, size_t i, const char *path)
{
    json_t *v = pt_field(t, i, path);
    ck_assert_msg(json_is_boolean(v), "%s is not a boolean", path);
    return json_is_true(v);
}

/* ---- request / response ---- */

START_TEST(queue_declare_transaction)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf req = {.n = 0}, resp = {.n = 0};
    queue_declare(&req, "hello", 0x02 /* durable */, NULL);
    queue_declare_ok(&resp, "hello", 3, 1);
    feed(t, PB_DIR_TO_SERVER, &req);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 2000000);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "amqp");
    ck_assert_str_eq(pt_str(t, 0, "method"), "queue.declare");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "amqp.queue.declare");
    ck_assert_str_eq(pt_str(t, 0, "event.dataset"), "amqp");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "amqp.queue"), "hello");
    ck_assert(fbool(t, 0, "amqp.durable"));
    ck_assert(!fbool(t, 0, "amqp.passive"));
    ck_assert(!fbool(t, 0, "amqp.exclusive"));
    ck_assert(!fbool(t, 0, "amqp.auto-delete"));
    ck_assert(!fbool(t, 0, "amqp.no-wait"));
    ck_assert_int_eq(pt_int(t, 0, "amqp.message-count"), 3);
    ck_assert_int_eq(pt_int(t, 0, "amqp.consumer-count"), 1);
    ck_assert_ptr_null(pt_field(t, 0, "amqp.arguments"));
    ck_assert_str_eq(pt_str(t, 0, "request"), "queue.declare hello");
    ck_assert_str_eq(pt_str(t, 0, "response"), "OK");
    /* arguments + 12 framing bytes each way */
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)req.n);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)resp.n);
    ck_assert_int_eq(pt_int(t, 0, "source.port"), 40000);
    ck_assert_int_eq(pt_int(t, 0, "destination.port"), 5672);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 2000000);
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "tcp");
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "amqp");
    pt_close(t);
}
END_TEST

START_TEST(request_response_off_by_default)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf req = {.n = 0}, resp = {.n = 0};
    queue_declare(&req, "q", 0, NULL);
    queue_declare_ok(&resp, "q", 0, 0);
    feed(t, PB_DIR_TO_SERVER, &req);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    ck_assert_ptr_null(pt_field(t, 0, "response"));
    pt_close(t);
}
END_TEST

START_TEST(response_without_request_ignored)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf resp = {.n = 0};
    queue_declare_ok(&resp, "q", 0, 0);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    pt_close(t);
}
END_TEST

START_TEST(two_requests_replace)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf r1 = {.n = 0}, r2 = {.n = 0}, resp = {.n = 0};
    queue_declare(&r1, "first", 0, NULL);
    queue_declare(&r2, "second", 0, NULL);
    queue_declare_ok(&resp, "second", 0, 0);
    feed(t, PB_DIR_TO_SERVER, &r1);
    feed(t, PB_DIR_TO_SERVER, &r2);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "amqp.queue"), "second");
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    pt_close(t);
}
END_TEST

/* ---- one-way messages ---- */

START_TEST(publish_one_way)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf b = {.n = 0};
    publish(&b, "logs", "info", "text/plain", "hello world");
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "basic.publish");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "amqp.basic.publish");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "request"), "hello world");
    ck_assert_str_eq(pt_str(t, 0, "response"), "");
    ck_assert_str_eq(pt_str(t, 0, "amqp.exchange"), "logs");
    ck_assert_str_eq(pt_str(t, 0, "amqp.routing-key"), "info");
    ck_assert_str_eq(pt_str(t, 0, "amqp.content-type"), "text/plain");
    ck_assert(!fbool(t, 0, "amqp.mandatory"));
    ck_assert(!fbool(t, 0, "amqp.immediate"));
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 11);
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));
    pt_close(t);
}
END_TEST

START_TEST(publish_default_exchange_and_body_frames)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf b = {.n = 0}, a = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, "");
    b_sstr(&a, "q");
    pt_u8(&a, 0x01); /* mandatory */
    method(&b, 60, 40, &a);
    header(&b, 10, "application/json");
    body(&b, "01234", 5);
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 0);
    struct pt_buf c = {.n = 0};
    body(&c, "56789", 5);
    feed(t, PB_DIR_TO_SERVER, &c);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "request"), "0123456789");
    ck_assert_ptr_null(pt_field(t, 0, "amqp.exchange"));
    ck_assert(fbool(t, 0, "amqp.mandatory"));
    pt_close(t);
}
END_TEST

START_TEST(deliver_one_way)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf b = {.n = 0};
    deliver(&b, "ctag-1", 7, "logs", "", "kikoo");
    feed(t, PB_DIR_TO_CLIENT, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "basic.deliver");
    ck_assert_str_eq(pt_str(t, 0, "response"), "kikoo");
    ck_assert_str_eq(pt_str(t, 0, "request"), "");
    ck_assert_int_eq(pt_int(t, 0, "amqp.delivery-tag"), 7);
    ck_assert_str_eq(pt_str(t, 0, "amqp.consumer-tag"), "ctag-1");
    ck_assert_str_eq(pt_str(t, 0, "amqp.exchange"), "logs");
    ck_assert_str_eq(pt_str(t, 0, "amqp.routing-key"), "");
    ck_assert(!fbool(t, 0, "amqp.redelivered"));
    /* source stays the client, the body size counts as the server's bytes */
    ck_assert_int_eq(pt_int(t, 0, "source.port"), 40000);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 5);
    ck_assert_ptr_null(pt_field(t, 0, "source.bytes"));
    pt_close(t);
}
END_TEST

START_TEST(max_body_length_text_and_binary)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, "ports: [5672]\nsend_request: true\n"
                                                "max_body_length: 10");
    struct pt_buf b = {.n = 0};
    publish(&b, "", "TestMax", "text/plain", "I'm a very big message");
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "request"), "I'm a very [...]");
    struct pt_buf c = {.n = 0};
    publish(&c, "", "TestMax", "image/gif", "AAAAAAAAAAAAAAA");
    feed(t, PB_DIR_TO_SERVER, &c);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "request"), "65 65 65 65 65 65 65 65 65 65 [...]");
    struct pt_buf d = {.n = 0};
    publish(&d, "", "k", "application/octet-stream", "\x01\x02");
    feed(t, PB_DIR_TO_SERVER, &d);
    ck_assert_str_eq(pt_str(t, 2, "request"), "1 2");
    pt_close(t);
}
END_TEST

/* Packetbeat reuses a stream's message object: a second publish in the
 * same segment keeps the first body in front of its own. */
START_TEST(two_publishes_one_segment)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf b = {.n = 0};
    publish(&b, "", "a", "text/plain", "hello");
    publish(&b, "", "b", "text/plain", "world");
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "request"), "hello");
    ck_assert_str_eq(pt_str(t, 0, "amqp.routing-key"), "a");
    ck_assert_str_eq(pt_str(t, 1, "request"), "helloworld");
    ck_assert_str_eq(pt_str(t, 1, "amqp.routing-key"), "b");
    pt_close(t);
}
END_TEST

START_TEST(async_requests)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf b = {.n = 0}, a = {.n = 0};
    /* basic.reject delivery-tag 1, requeue */
    pt_be64(&a, 1);
    pt_u8(&a, 1);
    method(&b, 60, 90, &a);
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "basic.reject");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "request"), "basic.reject 1");
    ck_assert_str_eq(pt_str(t, 0, "response"), "");
    ck_assert(fbool(t, 0, "amqp.multiple"));

    /* basic.ack */
    struct pt_buf c = {.n = 0}, ca = {.n = 0};
    pt_be64(&ca, 5);
    pt_u8(&ca, 0);
    method(&c, 60, 80, &ca);
    feed(t, PB_DIR_TO_SERVER, &c);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "method"), "basic.ack");
    ck_assert_str_eq(pt_str(t, 1, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 1, "amqp.delivery-tag"), 5);

    /* basic.nack: requeue */
    struct pt_buf n = {.n = 0}, na = {.n = 0};
    pt_be64(&na, 2);
    pt_u8(&na, 2);
    method(&n, 60, 120, &na);
    feed(t, PB_DIR_TO_SERVER, &n);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert(fbool(t, 2, "amqp.requeue"));
    ck_assert(!fbool(t, 2, "amqp.multiple"));

    /* queue.delete with no-wait */
    struct pt_buf q = {.n = 0}, qa = {.n = 0};
    pt_be16(&qa, 0);
    b_sstr(&qa, "TestThomas");
    pt_u8(&qa, 0x04);
    method(&q, 50, 40, &qa);
    feed(t, PB_DIR_TO_SERVER, &q);
    ck_assert_uint_eq(pt_nevents(t), 4);
    ck_assert_str_eq(pt_str(t, 3, "method"), "queue.delete");
    ck_assert_str_eq(pt_str(t, 3, "request"), "queue.delete TestThomas");
    ck_assert(fbool(t, 3, "amqp.no-wait"));
    ck_assert(!fbool(t, 3, "amqp.if-empty"));
    pt_close(t);
}
END_TEST

START_TEST(basic_get_and_get_empty)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    struct pt_buf g = {.n = 0}, ga = {.n = 0};
    pt_be16(&ga, 0);
    b_sstr(&ga, "TestGet");
    pt_u8(&ga, 1);
    method(&g, 60, 70, &ga);
    feed(t, PB_DIR_TO_SERVER, &g);
    struct pt_buf ok = {.n = 0}, oa = {.n = 0};
    pt_be64(&oa, 1);
    pt_u8(&oa, 0);
    b_sstr(&oa, "");
    b_sstr(&oa, "TestGet");
    pt_be32(&oa, 0);
    method(&ok, 60, 71, &oa);
    header(&ok, 18, "text/plain");
    body(&ok, "Get me if you dare", 18);
    feed(t, PB_DIR_TO_CLIENT, &ok);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "basic.get");
    ck_assert_str_eq(pt_str(t, 0, "request"), "basic.get TestGet");
    ck_assert_str_eq(pt_str(t, 0, "response"), "Get me if you dare");
    ck_assert_int_eq(pt_int(t, 0, "amqp.message-count"), 0);

    feed(t, PB_DIR_TO_SERVER, &g);
    struct pt_buf e = {.n = 0}, ea = {.n = 0};
    b_sstr(&ea, "");
    method(&e, 60, 72, &ea);
    feed(t, PB_DIR_TO_CLIENT, &e);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "method"), "basic.get-empty");
    ck_assert_str_eq(pt_str(t, 1, "event.action"), "amqp.basic.get-empty");
    ck_assert_str_eq(pt_str(t, 1, "request"), "basic.get TestGet");
    ck_assert_str_eq(pt_str(t, 1, "response"), "OK");
    pt_close(t);
}
END_TEST

/* ---- errors and closes ---- */

START_TEST(channel_close_error)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf c = {.n = 0}, ok = {.n = 0};
    close_method(&c, 20, 406, "PRECONDITION_FAILED - inequivalent arg", 40, 10);
    empty_method(&ok, 20, 41);
    feed(t, PB_DIR_TO_CLIENT, &c); /* the server closes the channel */
    feed(t, PB_DIR_TO_SERVER, &ok);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "channel.close");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_int_eq(pt_int(t, 0, "amqp.reply-code"), 406);
    ck_assert_str_eq(pt_str(t, 0, "amqp.reply-text"), "PRECONDITION_FAILED - inequivalent arg");
    ck_assert_int_eq(pt_int(t, 0, "amqp.class-id"), 40);
    ck_assert_int_eq(pt_int(t, 0, "amqp.method-id"), 10);
    /* the request came from the server: it is the source */
    ck_assert_int_eq(pt_int(t, 0, "source.port"), 5672);
    ck_assert_ptr_null(pt_field(t, 0, "error.message"));
    pt_close(t);
}
END_TEST

START_TEST(normal_close_hidden_by_default)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf c = {.n = 0}, ok = {.n = 0};
    close_method(&c, 10, 200, "kthxbai", 0, 0);
    empty_method(&ok, 10, 51);
    feed(t, PB_DIR_TO_SERVER, &c);
    feed(t, PB_DIR_TO_CLIENT, &ok);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);

    t = pt_open(&pb_proto_amqp, "ports: [5672]\nhide_connection_information: false");
    feed(t, PB_DIR_TO_SERVER, &c);
    feed(t, PB_DIR_TO_CLIENT, &ok);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "connection.close");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_int_eq(pt_int(t, 0, "amqp.reply-code"), 200);
    pt_close(t);
}
END_TEST

START_TEST(close_error_without_close_ok)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf c = {.n = 0};
    close_method(&c, 10, 320, "CONNECTION_FORCED", 0, 0);
    feed(t, PB_DIR_TO_CLIENT, &c);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 1000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 11000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "connection.close");
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Close-ok method not received by sender");
    /* a request with no answer that is not a close error goes silently */
    struct pt_buf q = {.n = 0};
    queue_declare(&q, "x", 0, NULL);
    feed(t, PB_DIR_TO_SERVER, &q);
    pt_tick(t, pb_now_ns() + 11000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(close_error_outlives_connection)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf c = {.n = 0};
    close_method(&c, 20, 404, "NOT_FOUND", 50, 10);
    feed(t, PB_DIR_TO_CLIENT, &c);
    pt_gap(t, PB_DIR_TO_CLIENT, 100); /* orphans the transaction */
    struct pt_buf ok = {.n = 0};
    empty_method(&ok, 20, 41);
    feed(t, PB_DIR_TO_SERVER, &ok);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 11000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "channel.close");
    pt_close(t);
}
END_TEST

START_TEST(connection_information)
{
    /* connection.start: version, server-properties, mechanisms, locales */
    struct pt_buf s = {.n = 0}, sa = {.n = 0}, props = {.n = 0};
    b_sstr(&props, "product");
    pt_u8(&props, 'S');
    b_lstr(&props, "RabbitMQ");
    b_sstr(&props, "capabilities");
    pt_u8(&props, 'F');
    struct pt_buf caps = {.n = 0};
    b_sstr(&caps, "publisher_confirms");
    pt_u8(&caps, 't');
    pt_u8(&caps, 1);
    pt_be32(&props, (uint32_t)caps.n);
    b_bb(&props, &caps);
    pt_u8(&sa, 0);
    pt_u8(&sa, 9);
    pt_be32(&sa, (uint32_t)props.n);
    b_bb(&sa, &props);
    b_lstr(&sa, "AMQPLAIN PLAIN");
    b_lstr(&sa, "en_US");
    method(&s, 10, 10, &sa);
    /* connection.start-ok */
    struct pt_buf so = {.n = 0}, soa = {.n = 0};
    pt_be32(&soa, 0);
    b_sstr(&soa, "PLAIN");
    b_lstr(&soa, "\0guest\0guest");
    b_sstr(&soa, "en_US");
    method(&so, 10, 11, &soa);

    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, "AMQP\x00\x00\x09\x01", 8);
    feed(t, PB_DIR_TO_CLIENT, &s);
    feed(t, PB_DIR_TO_SERVER, &so);
    ck_assert_uint_eq(pt_nevents(t), 0); /* hidden by default */
    pt_close(t);

    t = pt_open(&pb_proto_amqp, "ports: [5672]\nhide_connection_information: false");
    pt_feed(t, PB_DIR_TO_SERVER, "AMQP\x00\x00\x09\x01", 8);
    feed(t, PB_DIR_TO_CLIENT, &s);
    feed(t, PB_DIR_TO_SERVER, &so);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "connection.start");
    ck_assert_int_eq(pt_int(t, 0, "amqp.version-major"), 0);
    ck_assert_int_eq(pt_int(t, 0, "amqp.version-minor"), 9);
    ck_assert_str_eq(pt_str(t, 0, "amqp.mechanisms"), "AMQPLAIN PLAIN");
    ck_assert_str_eq(pt_str(t, 0, "amqp.locales"), "en_US");
    ck_assert_str_eq(pt_str(t, 0, "amqp.server-properties.product"), "RabbitMQ");
    ck_assert(fbool(t, 0, "amqp.server-properties.capabilities.publisher_confirms"));
    ck_assert_str_eq(pt_str(t, 0, "amqp.mechanism"), "PLAIN");
    ck_assert_str_eq(pt_str(t, 0, "amqp.locale"), "en_US");
    ck_assert_ptr_null(pt_field(t, 0, "amqp.client-properties"));
    ck_assert_int_eq(pt_int(t, 0, "source.port"), 5672);

    /* tune / tune-ok, open / open-ok, channel.open / open-ok, basic.qos */
    struct pt_buf tune = {.n = 0}, ta = {.n = 0};
    pt_be16(&ta, 0);
    pt_be32(&ta, 131072);
    pt_be16(&ta, 60);
    method(&tune, 10, 30, &ta);
    struct pt_buf tuneok = {.n = 0};
    method(&tuneok, 10, 31, &ta);
    feed(t, PB_DIR_TO_CLIENT, &tune);
    feed(t, PB_DIR_TO_SERVER, &tuneok);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "method"), "connection.tune");
    ck_assert_int_eq(pt_int(t, 1, "amqp.frame-max"), 131072);
    ck_assert_int_eq(pt_int(t, 1, "amqp.heartbeat"), 60);
    struct pt_buf open = {.n = 0}, oa = {.n = 0};
    b_sstr(&oa, "/");
    b_sstr(&oa, "");
    pt_u8(&oa, 0);
    method(&open, 10, 40, &oa);
    struct pt_buf openok = {.n = 0}, ooa = {.n = 0};
    b_sstr(&ooa, "");
    method(&openok, 10, 41, &ooa);
    feed(t, PB_DIR_TO_SERVER, &open);
    feed(t, PB_DIR_TO_CLIENT, &openok);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 2, "method"), "connection.open");
    ck_assert_str_eq(pt_str(t, 2, "amqp.virtual-host"), "/");
    struct pt_buf qos = {.n = 0}, qa = {.n = 0};
    pt_be32(&qa, 0);
    pt_be16(&qa, 10);
    pt_u8(&qa, 0);
    method(&qos, 60, 10, &qa);
    struct pt_buf qosok = {.n = 0};
    empty_method(&qosok, 60, 11);
    feed(t, PB_DIR_TO_SERVER, &qos);
    feed(t, PB_DIR_TO_CLIENT, &qosok);
    ck_assert_uint_eq(pt_nevents(t), 4);
    ck_assert_str_eq(pt_str(t, 3, "method"), "basic.qos");
    ck_assert_int_eq(pt_int(t, 3, "amqp.prefetch-count"), 10);
    ck_assert(!fbool(t, 3, "amqp.global"));
    pt_close(t);
}
END_TEST

/* ---- tables and properties ---- */

static void arg_table(struct pt_buf *tb)
{
    b_sstr(tb, "bool");
    pt_u8(tb, 't');
    pt_u8(tb, 1);
    b_sstr(tb, "bit");
    pt_u8(tb, 'b');
    pt_u8(tb, 0xfb); /* -5 */
    b_sstr(tb, "ubyte");
    pt_u8(tb, 'B');
    pt_u8(tb, 200);
    b_sstr(tb, "short");
    pt_u8(tb, 'U');
    pt_be16(tb, 0xfffe); /* -2 */
    b_sstr(tb, "long");
    pt_u8(tb, 'I');
    pt_be32(tb, 0xffffffff); /* shown unsigned */
    b_sstr(tb, "bigInt");
    pt_u8(tb, 'l');
    pt_be64(tb, 2000000000000000ull);
    b_sstr(tb, "decimal");
    pt_u8(tb, 'D');
    pt_u8(tb, 5);
    pt_be32(tb, 15485189);
    b_sstr(tb, "hello");
    pt_u8(tb, 'S');
    b_lstr(tb, "Hi darling");
    b_sstr(tb, "short-str");
    pt_u8(tb, 's');
    b_sstr(tb, "tiny");
    b_sstr(tb, "float");
    pt_u8(tb, 'f');
    pt_be32(tb, 0x4124cccd); /* 10.3f */
    b_sstr(tb, "double");
    pt_u8(tb, 'd');
    pt_be64(tb, 0x40453e100cbd7da4ull); /* 42.4848648 */
    b_sstr(tb, "nil");
    pt_u8(tb, 'V');
    b_sstr(tb, "array");
    pt_u8(tb, 'x');
    pt_be32(tb, 4);
    pt_u8(tb, 10);
    pt_u8(tb, 0);
    pt_u8(tb, 125);
    pt_u8(tb, 210);
    struct pt_buf arr = {.n = 0};
    pt_u8(&arr, 'S');
    b_lstr(&arr, "AAAA");
    pt_u8(&arr, 't');
    pt_u8(&arr, 0);
    b_sstr(tb, "list");
    pt_u8(tb, 'A');
    pt_be32(tb, (uint32_t)arr.n);
    b_bb(tb, &arr);
    struct pt_buf inner = {.n = 0};
    b_sstr(&inner, "limbo");
    pt_u8(&inner, 's');
    b_sstr(&inner, "Cobb");
    b_sstr(tb, "inception");
    pt_u8(tb, 'F');
    pt_be32(tb, (uint32_t)inner.n);
    b_bb(tb, &inner);
}

START_TEST(argument_tables)
{
    struct pt_buf tb = {.n = 0}, b = {.n = 0};
    arg_table(&tb);
    queue_declare(&b, "TestHeader", 0x08 /* auto-delete */, &tb);
    struct pt_buf resp = {.n = 0};
    queue_declare_ok(&resp, "TestHeader", 0, 0);

    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    feed(t, PB_DIR_TO_SERVER, &b);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert(fbool(t, 0, "amqp.auto-delete"));
    ck_assert(!fbool(t, 0, "amqp.no-wait"));
    ck_assert(fbool(t, 0, "amqp.arguments.bool"));
    ck_assert_int_eq(pt_int(t, 0, "amqp.arguments.bit"), -5);
    ck_assert_int_eq(pt_int(t, 0, "amqp.arguments.ubyte"), 200);
    ck_assert_int_eq(pt_int(t, 0, "amqp.arguments.short"), -2);
    ck_assert_int_eq(pt_int(t, 0, "amqp.arguments.long"), 4294967295ll);
    ck_assert_int_eq(pt_int(t, 0, "amqp.arguments.bigInt"), 2000000000000000ll);
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.decimal"), "154.85189");
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.hello"), "Hi darling");
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.short-str"), "tiny");
    ck_assert(json_real_value(pt_field(t, 0, "amqp.arguments.float")) == 10.3);
    ck_assert(json_real_value(pt_field(t, 0, "amqp.arguments.double")) == 42.4848648);
    ck_assert(json_is_null(pt_field(t, 0, "amqp.arguments.nil")));
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.array"), "[10, 0, 125, 210]");
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.list.0"), "AAAA");
    ck_assert(!fbool(t, 0, "amqp.arguments.list.1"));
    ck_assert_str_eq(pt_str(t, 0, "amqp.arguments.inception.limbo"), "Cobb");
    ck_assert_ptr_null(pt_field(t, 0, "error.message"));
    pt_close(t);

    /* parse_arguments: false */
    t = pt_open(&pb_proto_amqp, "ports: [5672]\nparse_arguments: false");
    feed(t, PB_DIR_TO_SERVER, &b);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "amqp.arguments"));
    pt_close(t);
}
END_TEST

START_TEST(bad_argument_table_noted)
{
    /* a table whose size is too large: no arguments, a note on the message
     * (Packetbeat keeps request notes off the event) */
    struct pt_buf a = {.n = 0}, b = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, "q");
    pt_u8(&a, 0);
    pt_be32(&a, 0x7f);
    b_sstr(&a, "x");
    method(&b, 50, 10, &a);
    struct pt_buf resp = {.n = 0};
    queue_declare_ok(&resp, "q", 0, 0);
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    feed(t, PB_DIR_TO_SERVER, &b);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "amqp.arguments"));
    pt_close(t);

    /* the note itself, straight from the parser */
    struct amqp_opts o = {.parse_headers = true,
                          .parse_arguments = true,
                          .hide_connection_information = true,
                          .body_keep = 1000};
    struct amqp_msg m;
    memset(&m, 0, sizeof m);
    m.method = "";
    size_t off = 0;
    ck_assert_int_eq(amqp_parse(&o, &m, b.b, b.n, &off), AMQP_COMPLETE);
    ck_assert_uint_eq(m.nnotes, 1);
    ck_assert_str_eq(m.notes[0], "Failed to parse additional arguments");
    amqp_msg_free(&m);
}
END_TEST

static void full_header(struct pt_buf *o, uint64_t size)
{
    struct pt_buf p = {.n = 0};
    pt_be16(&p, 60);
    pt_be16(&p, 0);
    pt_be64(&p, size);
    pt_u8(&p, 0xff); /* every property of the first word */
    pt_u8(&p, 0xf8); /* message-id, timestamp, type, user-id, app-id */
    b_sstr(&p, "application/json");
    b_sstr(&p, "");
    struct pt_buf h = {.n = 0};
    b_sstr(&h, "yop");
    pt_u8(&h, 'S');
    b_lstr(&h, "hihi");
    pt_be32(&p, (uint32_t)h.n);
    b_bb(&p, &h);
    pt_u8(&p, 2);
    pt_u8(&p, 6);
    b_sstr(&p, "corr-1");
    b_sstr(&p, "amq.rabbitmq.reply-to");
    b_sstr(&p, "60000");
    b_sstr(&p, "el mensaje");
    pt_be64(&p, 0);
    b_sstr(&p, "love message");
    b_sstr(&p, "guest");
    b_sstr(&p, "myapp");
    frame(o, 2, &p);
}

START_TEST(content_properties)
{
    struct pt_buf b = {.n = 0}, a = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, "");
    b_sstr(&a, "rk");
    pt_u8(&a, 0);
    method(&b, 60, 40, &a);
    full_header(&b, 2);
    body(&b, "{}", 2);

    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "amqp.content-type"), "application/json");
    ck_assert_str_eq(pt_str(t, 0, "amqp.content-encoding"), "");
    ck_assert_str_eq(pt_str(t, 0, "amqp.headers.yop"), "hihi");
    ck_assert_str_eq(pt_str(t, 0, "amqp.delivery-mode"), "persistent");
    ck_assert_int_eq(pt_int(t, 0, "amqp.priority"), 6);
    ck_assert_str_eq(pt_str(t, 0, "amqp.correlation-id"), "corr-1");
    ck_assert_str_eq(pt_str(t, 0, "amqp.reply-to"), "amq.rabbitmq.reply-to");
    ck_assert_str_eq(pt_str(t, 0, "amqp.expiration"), "60000");
    ck_assert_str_eq(pt_str(t, 0, "amqp.message-id"), "el mensaje");
    ck_assert_ptr_nonnull(pt_str(t, 0, "amqp.timestamp"));
    ck_assert_str_eq(pt_str(t, 0, "amqp.type"), "love message");
    ck_assert_str_eq(pt_str(t, 0, "amqp.user-id"), "guest");
    ck_assert_str_eq(pt_str(t, 0, "amqp.app-id"), "myapp");
    /* Packetbeat's literal "user.id" key */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pt_events(t), 0), "user.id")),
                     "guest");
    ck_assert_str_eq(pt_str(t, 0, "request"), "{}"); /* json is text */
    pt_close(t);

    t = pt_open(&pb_proto_amqp, "ports: [5672]\nparse_headers: false\nsend_request: true");
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "amqp.content-type"));
    ck_assert_ptr_null(pt_field(t, 0, "amqp.headers"));
    ck_assert_ptr_null(pt_field(t, 0, "amqp.priority"));
    ck_assert_str_eq(pt_str(t, 0, "request"), "123 125"); /* no content-type: bytes */
    pt_close(t);
}
END_TEST

START_TEST(timestamp_format)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct pt_buf b = {.n = 0}, a = {.n = 0}, p = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, "");
    b_sstr(&a, "rk");
    pt_u8(&a, 0);
    method(&b, 60, 40, &a);
    pt_be16(&p, 60);
    pt_be16(&p, 0);
    pt_be64(&p, 1);
    pt_u8(&p, 0);
    pt_u8(&p, 0x40);
    pt_be64(&p, 1441899109ull); /* 2015-09-10T15:31:49Z */
    frame(&b, 2, &p);
    body(&b, "x", 1);
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "amqp.timestamp"), "September 10 15:31:49 2015");
    pt_close(t);
}
END_TEST

/* ---- segmentation ---- */

/* A session: protocol header, queue.declare and a publish from the client;
 * declare-ok and a delivery from the server. */
static void session(struct pt_buf *cli, struct pt_buf *srv)
{
    memcpy(cli->b, "AMQP\x00\x00\x09\x01", 8);
    cli->n = 8;
    queue_declare(cli, "hello", 0, NULL);
    publish(cli, "", "hello", "text/plain", "hello");
    queue_declare_ok(srv, "hello", 0, 0);
    deliver(srv, "ctag", 1, "", "hello", "hello");
}

static void run_session(struct pt_conn *t, const struct pt_buf *cli, const struct pt_buf *srv,
                        size_t cut_c, size_t cut_s)
{
    pt_feed(t, PB_DIR_TO_SERVER, cli->b, cut_c);
    pt_feed(t, PB_DIR_TO_SERVER, cli->b + cut_c, cli->n - cut_c);
    pt_feed(t, PB_DIR_TO_CLIENT, srv->b, cut_s);
    pt_feed(t, PB_DIR_TO_CLIENT, srv->b + cut_s, srv->n - cut_s);
}

START_TEST(split_anywhere)
{
    /* one request frame and its answer, split at every offset */
    struct pt_buf req = {.n = 0}, resp = {.n = 0};
    queue_declare(&req, "hello", 0x02, NULL);
    queue_declare_ok(&resp, "hello", 1, 2);
    struct pt_conn *ref = pt_open(&pb_proto_amqp, CFG_REQRESP);
    feed(ref, PB_DIR_TO_SERVER, &req);
    feed(ref, PB_DIR_TO_CLIENT, &resp);
    char *want = pt_dump(ref);
    ck_assert_uint_eq(pt_nevents(ref), 1);
    pt_close(ref);
    for (size_t cut = 1; cut < req.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
        pt_feed(t, PB_DIR_TO_SERVER, req.b, cut);
        pt_feed(t, PB_DIR_TO_SERVER, req.b + cut, req.n - cut);
        feed(t, PB_DIR_TO_CLIENT, &resp);
        char *got = pt_dump(t);
        ck_assert_msg(strcmp(want, got) == 0, "cut %zu:\n%s\n%s", cut, want, got);
        free(got);
        pt_close(t);
    }
    for (size_t cut = 1; cut < resp.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
        feed(t, PB_DIR_TO_SERVER, &req);
        pt_feed(t, PB_DIR_TO_CLIENT, resp.b, cut);
        pt_feed(t, PB_DIR_TO_CLIENT, resp.b + cut, resp.n - cut);
        char *got = pt_dump(t);
        ck_assert_msg(strcmp(want, got) == 0, "cut %zu:\n%s\n%s", cut, want, got);
        free(got);
        pt_close(t);
    }
    free(want);

    /* a publish (method, header, body frames) split at every offset */
    struct pt_buf pub = {.n = 0};
    publish(&pub, "logs", "rk", "text/plain", "some message body");
    ref = pt_open(&pb_proto_amqp, CFG_REQRESP);
    feed(ref, PB_DIR_TO_SERVER, &pub);
    want = pt_dump(ref);
    ck_assert_uint_eq(pt_nevents(ref), 1);
    pt_close(ref);
    for (size_t cut = 1; cut < pub.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
        pt_feed(t, PB_DIR_TO_SERVER, pub.b, cut);
        pt_feed(t, PB_DIR_TO_SERVER, pub.b + cut, pub.n - cut);
        char *got = pt_dump(t);
        ck_assert_msg(strcmp(want, got) == 0, "cut %zu:\n%s\n%s", cut, want, got);
        free(got);
        pt_close(t);
    }
    free(want);
}
END_TEST

START_TEST(session_split_anywhere)
{
    struct pt_buf cli = {.n = 0}, srv = {.n = 0};
    session(&cli, &srv);
    /* whole segments: declare pairs, publish and deliver go one way, the
     * channel close error is answered by the client's close-ok which came
     * first, so it waits for its timer */
    /* the client's publish takes the waiting declare over (Packetbeat keeps
     * one transaction per connection), the declare-ok finds nothing */
    struct pt_conn *ref = pt_open(&pb_proto_amqp, CFG_REQRESP);
    run_session(ref, &cli, &srv, cli.n, srv.n);
    ck_assert_uint_eq(pt_nevents(ref), 2);
    ck_assert_str_eq(pt_str(ref, 0, "method"), "basic.publish");
    ck_assert_str_eq(pt_str(ref, 1, "method"), "basic.deliver");
    char *want = pt_dump(ref);
    pt_close(ref);
    for (size_t cut = 1; cut < cli.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
        run_session(t, &cli, &srv, cut, srv.n);
        char *got = pt_dump(t);
        ck_assert_msg(strcmp(want, got) == 0, "client cut %zu:\n%s\n%s", cut, want, got);
        free(got);
        pt_close(t);
    }
    for (size_t cut = 1; cut < srv.n; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
        run_session(t, &cli, &srv, cli.n, cut);
        char *got = pt_dump(t);
        ck_assert_msg(strcmp(want, got) == 0, "server cut %zu:\n%s\n%s", cut, want, got);
        free(got);
        pt_close(t);
    }
    free(want);
}
END_TEST

START_TEST(byte_by_byte)
{
    struct pt_buf req = {.n = 0}, resp = {.n = 0}, pub = {.n = 0};
    queue_declare(&req, "hello", 0, NULL);
    queue_declare_ok(&resp, "hello", 0, 0);
    publish(&pub, "", "hello", "text/plain", "hello");
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG_REQRESP);
    pt_feed_bytewise(t, PB_DIR_TO_SERVER, req.b, req.n);
    pt_feed_bytewise(t, PB_DIR_TO_CLIENT, resp.b, resp.n);
    pt_feed_bytewise(t, PB_DIR_TO_SERVER, pub.b, pub.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "method"), "queue.declare");
    ck_assert_str_eq(pt_str(t, 1, "method"), "basic.publish");
    ck_assert_str_eq(pt_str(t, 1, "request"), "hello");
    pt_close(t);
}
END_TEST

/* ---- heartbeats, unknown frames, gaps, garbage ---- */

START_TEST(heartbeats)
{
    struct pt_buf hb = {.n = 0}, empty = {.n = 0};
    frame(&hb, 8, &empty);
    hb.b[1] = 0;
    hb.b[2] = 0;
    struct pt_buf pub = {.n = 0};
    publish(&pub, "", "k", "text/plain", "x");

    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    feed(t, PB_DIR_TO_SERVER, &hb);
    feed(t, PB_DIR_TO_CLIENT, &hb);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 2);
    /* a heartbeat after a frame of the command is fine */
    struct pt_buf b = {.n = 0};
    b_bb(&b, &pub);
    b.n -= 9; /* drop the body frame (7 + 1 byte + end) */
    b_bb(&b, &hb);
    body(&b, "x", 1);
    feed(t, PB_DIR_TO_SERVER, &b);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* Packetbeat drops a stream that starts with a heartbeat: what follows
     * in the same segment is lost */
    struct pt_buf c = {.n = 0};
    b_bb(&c, &hb);
    b_bb(&c, &pub);
    feed(t, PB_DIR_TO_SERVER, &c);
    ck_assert_uint_eq(pt_nevents(t), 1);
    feed(t, PB_DIR_TO_SERVER, &pub);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

START_TEST(unknown_method_drops_stream)
{
    struct pt_buf b = {.n = 0}, a = {.n = 0};
    pt_u8(&a, 0);
    method(&b, 60, 100, &a); /* basic.recover-async: not decoded */
    struct pt_buf pub = {.n = 0};
    publish(&pub, "", "k", "text/plain", "x");
    b_bb(&b, &pub);
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, b.b, b.n), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 0);
    feed(t, PB_DIR_TO_SERVER, &pub);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* bad frame end octet */
    struct pt_buf bad = pub;
    bad.b[bad.n - 1] = 0;
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, bad.b, bad.n), PB_PARSE_DROP);
    /* unknown frame type */
    struct pt_buf ft = pub;
    ft.b[0] = 4;
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, ft.b, ft.n), PB_PARSE_DROP);
    feed(t, PB_DIR_TO_SERVER, &pub);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

START_TEST(panic_drops_both_directions)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf req = {.n = 0}, resp = {.n = 0};
    queue_declare(&req, "q", 0, NULL);
    queue_declare_ok(&resp, "q", 0, 0);
    feed(t, PB_DIR_TO_SERVER, &req);
    /* half the answer waits in the core's buffer */
    pt_feed(t, PB_DIR_TO_CLIENT, resp.b, 5);
    /* queue.bind cut right after the queue name: an index past the end */
    struct pt_buf bad = {.n = 0}, ba = {.n = 0};
    pt_be16(&ba, 0);
    b_sstr(&ba, "q");
    method(&bad, 50, 20, &ba);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, bad.b, bad.n), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 1);
    /* Packetbeat forgot the server side too: the 5 bytes still buffered are
     * skipped and a whole answer pairs with the still waiting request */
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "queue.declare");
    pt_close(t);
}
END_TEST

START_TEST(gap_drops_state)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    struct pt_buf req = {.n = 0}, resp = {.n = 0};
    queue_declare(&req, "q", 0, NULL);
    queue_declare_ok(&resp, "q", 0, 0);
    feed(t, PB_DIR_TO_SERVER, &req);
    pt_gap(t, PB_DIR_TO_CLIENT, 10);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 1);
    /* later traffic is decoded */
    feed(t, PB_DIR_TO_SERVER, &req);
    feed(t, PB_DIR_TO_CLIENT, &resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* a publish cut by a gap is lost, the next one is not */
    struct pt_buf pub = {.n = 0};
    publish(&pub, "", "k", "text/plain", "x");
    pt_feed(t, PB_DIR_TO_SERVER, pub.b, 20);
    pt_gap(t, PB_DIR_TO_SERVER, 5);
    pt_fin(t, PB_DIR_TO_SERVER);
    feed(t, PB_DIR_TO_SERVER, &pub);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_expire(t);
    pt_close(t);
}
END_TEST

START_TEST(truncated_variants)
{
    /* every prefix of every frame body that is cut but framed correctly
     * must not crash; most are dropped */
    struct pt_buf cli = {.n = 0}, srv = {.n = 0};
    session(&cli, &srv);
    struct pt_buf tb = {.n = 0};
    arg_table(&tb);
    struct pt_buf decl = {.n = 0};
    queue_declare(&decl, "args", 0, &tb);
    struct pt_buf hdr = {.n = 0};
    full_header(&hdr, 1);
    const struct pt_buf *src[] = {&cli, &srv, &decl, &hdr};
    for (size_t s = 0; s < sizeof src / sizeof src[0]; s++) {
        /* re-frame the first frame's payload at every shorter size */
        const struct pt_buf *f = src[s];
        size_t start = memcmp(f->b, "AMQP", 4) == 0 ? 8 : 0;
        uint32_t size = ((uint32_t)f->b[start + 3] << 24) | ((uint32_t)f->b[start + 4] << 16) |
                        ((uint32_t)f->b[start + 5] << 8) | f->b[start + 6];
        for (uint32_t n = 0; n < size; n++) {
            struct pt_buf p = {.n = 0}, out = {.n = 0};
            pt_put(&p, f->b + start + 7, n);
            frame(&out, f->b[start], &p);
            for (int cfg = 0; cfg < 2; cfg++) {
                struct pt_conn *t = pt_open(
                    &pb_proto_amqp, cfg ? "ports: [5672]\nhide_connection_information: false\n"
                                          "send_request: true\nsend_response: true"
                                        : CFG);
                feed(t, PB_DIR_TO_SERVER, &out);
                feed(t, PB_DIR_TO_CLIENT, &out);
                pt_close(t);
            }
        }
    }
}
END_TEST

START_TEST(hostile_bytes)
{
    struct pt_buf cli = {.n = 0}, srv = {.n = 0};
    session(&cli, &srv);
    struct pt_buf tb = {.n = 0};
    arg_table(&tb);
    struct pt_buf decl = {.n = 0};
    queue_declare(&decl, "args", 0, &tb);
    full_header(&decl, 3);
    srand(11);
    for (int round = 0; round < 3000; round++) {
        struct pt_conn *t = pt_open(
            &pb_proto_amqp, (round & 1) ? "ports: [5672]\nhide_connection_information: false\n"
                                          "send_request: true\nsend_response: true\n"
                                          "max_body_length: 3"
                                        : CFG);
        const struct pt_buf *base = (round % 3 == 0) ? &cli : (round % 3 == 1) ? &srv : &decl;
        struct pt_buf m = *base;
        int flips = 1 + rand() % 6;
        for (int i = 0; i < flips; i++) {
            size_t at = (size_t)rand() % m.n;
            m.b[at] =
                (rand() % 3 == 0) ? (uint8_t)rand() : (uint8_t)(m.b[at] ^ (1u << (rand() % 8)));
        }
        size_t pos = 0;
        while (pos < m.n) {
            size_t n = 1 + (size_t)rand() % 64;
            if (n > m.n - pos) {
                n = m.n - pos;
            }
            pt_feed(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, m.b + pos, n);
            if (rand() % 40 == 0) {
                pt_gap(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, 3);
            }
            pos += n;
        }
        /* pure noise too */
        uint8_t noise[256];
        for (size_t i = 0; i < sizeof noise; i++) {
            noise[i] = (uint8_t)rand();
        }
        pt_feed(t, PB_DIR_TO_SERVER, noise, 1 + (size_t)rand() % sizeof noise);
        pt_tick(t, pb_now_ns() + 20000000000ull);
        pt_close(t);
    }
}
END_TEST

START_TEST(huge_declared_sizes)
{
    struct pt_conn *t = pt_open(&pb_proto_amqp, CFG);
    /* a frame that declares 4 GiB: waits (the core caps the buffer) */
    static const uint8_t big[] = {1, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 60, 0, 40};
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, big, sizeof big), PB_PARSE_MORE);
    pt_gap(t, PB_DIR_TO_SERVER, 1);
    /* a content header declaring a huge body: body frames accumulate
     * without being kept beyond the cap */
    struct pt_buf b = {.n = 0}, a = {.n = 0};
    pt_be16(&a, 0);
    b_sstr(&a, "");
    b_sstr(&a, "k");
    pt_u8(&a, 0);
    method(&b, 60, 40, &a);
    header(&b, UINT64_MAX, "text/plain");
    feed(t, PB_DIR_TO_SERVER, &b);
    uint8_t chunk[4000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 100; i++) {
        struct pt_buf c = {.n = 0};
        body(&c, chunk, sizeof chunk);
        feed(t, PB_DIR_TO_SERVER, &c);
    }
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* a table nested deeper than the cap is an error, not a crash */
    struct pt_buf deep = {.n = 0};
    struct pt_buf inner = {.n = 0};
    for (int i = 0; i < 200; i++) {
        struct pt_buf outer = {.n = 0};
        b_sstr(&outer, "n");
        pt_u8(&outer, 'F');
        pt_be32(&outer, (uint32_t)inner.n);
        b_bb(&outer, &inner);
        inner = outer;
    }
    queue_declare(&deep, "deep", 0, &inner);
    struct amqp_opts o = {.parse_headers = true,
                          .parse_arguments = true,
                          .hide_connection_information = true,
                          .body_keep = 10};
    struct amqp_msg m;
    memset(&m, 0, sizeof m);
    m.method = "";
    size_t off = 0;
    ck_assert_int_eq(amqp_parse(&o, &m, deep.b, deep.n, &off), AMQP_COMPLETE);
    ck_assert_ptr_null(json_object_get(m.fields, "arguments"));
    ck_assert_uint_eq(m.nnotes, 1);
    amqp_msg_free(&m);
    pt_close(t);
}
END_TEST

static Suite *amqp_suite(void)
{
    Suite *s = suite_create("amqp");
    TCase *tc = tcase_create("amqp");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, queue_declare_transaction);
    tcase_add_test(tc, request_response_off_by_default);
    tcase_add_test(tc, response_without_request_ignored);
    tcase_add_test(tc, two_requests_replace);
    tcase_add_test(tc, publish_one_way);
    tcase_add_test(tc, publish_default_exchange_and_body_frames);
    tcase_add_test(tc, deliver_one_way);
    tcase_add_test(tc, max_body_length_text_and_binary);
    tcase_add_test(tc, two_publishes_one_segment);
    tcase_add_test(tc, async_requests);
    tcase_add_test(tc, basic_get_and_get_empty);
    tcase_add_test(tc, channel_close_error);
    tcase_add_test(tc, normal_close_hidden_by_default);
    tcase_add_test(tc, close_error_without_close_ok);
    tcase_add_test(tc, close_error_outlives_connection);
    tcase_add_test(tc, connection_information);
    tcase_add_test(tc, argument_tables);
    tcase_add_test(tc, bad_argument_table_noted);
    tcase_add_test(tc, content_properties);
    tcase_add_test(tc, timestamp_format);
    tcase_add_test(tc, split_anywhere);
    tcase_add_test(tc, session_split_anywhere);
    tcase_add_test(tc, byte_by_byte);
    tcase_add_test(tc, heartbeats);
    tcase_add_test(tc, unknown_method_drops_stream);
    tcase_add_test(tc, panic_drops_both_directions);
    tcase_add_test(tc, gap_drops_state);
    tcase_add_test(tc, truncated_variants);
    tcase_add_test(tc, hostile_bytes);
    tcase_add_test(tc, huge_declared_sizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(amqp_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
