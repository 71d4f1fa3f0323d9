/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_http.c - HTTP protocol: parsing (whole, byte by byte,
 * split anywhere), pipelining, chunked bodies, gaps, FIN-delimited bodies,
 * 100-continue, HEAD responses without a body, size limits, garbage,
 * redaction, hide_keywords, body decoding, unmatched requests and
 * responses, the ECS fields.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "protos/common/strutil.h"
#include "protos/common/txq.h"
#include "protos/http/http_event.h"
#include "protos/http/http_parse.h"
#include "protos/proto.h"
#include "publisher/codec.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_http;

#define TS PB_DIR_TO_SERVER
#define TC PB_DIR_TO_CLIENT

/* GET / with a Host header and a 5-byte body answer. */
static const char get_req[] = "GET /index.html?b=2&a=1 HTTP/1.1\r\n"
                              "Host: www.example.com\r\n"
                              "User-Agent: curl/7.37.1\r\n"
                              "Accept: */*\r\n"
                              "\r\n";
static const char ok_resp[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/html\r\n"
                              "Content-Length: 5\r\n"
                              "\r\n"
                              "hello";

/* Feeds req then resp, each split at the given cut (0: whole). */
static char *run_split(const char *cfg, const char *req, size_t rcut, const char *resp, size_t scut)
{
    struct pt_conn *t = pt_open(&pb_proto_http, cfg);
    size_t rl = strlen(req), sl = strlen(resp);
    if (rcut > 0 && rcut < rl) {
        pt_feed(t, TS, req, rcut);
        pt_feed(t, TS, req + rcut, rl - rcut);
    } else {
        pt_feed(t, TS, req, rl);
    }
    if (scut > 0 && scut < sl) {
        pt_feed(t, TC, resp, scut);
        pt_feed(t, TC, resp + scut, sl - scut);
    } else {
        pt_feed(t, TC, resp, sl);
    }
    char *s = pt_dump(t);
    pt_close(t);
    return s;
}

START_TEST(http_basic_fields)
{
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
    pt_feeds(t, TS, get_req);
    pt_advance(t, 1000000);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "http");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "method"), "GET");
    ck_assert_str_eq(pt_str(t, 0, "http.request.method"), "GET");
    ck_assert_str_eq(pt_str(t, 0, "query"), "GET /index.html");
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/index.html");
    ck_assert_str_eq(pt_str(t, 0, "url.extension"), "html");
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "a=1&b=2");
    ck_assert_str_eq(pt_str(t, 0, "url.domain"), "www.example.com");
    ck_assert_str_eq(pt_str(t, 0, "url.scheme"), "http");
    ck_assert_str_eq(pt_str(t, 0, "url.full"), "http://www.example.com/index.html?a=1&b=2");
    ck_assert_ptr_null(pt_field(t, 0, "url.port"));
    ck_assert_str_eq(pt_str(t, 0, "destination.domain"), "www.example.com");
    ck_assert_str_eq(pt_str(t, 0, "server.domain"), "www.example.com");
    ck_assert_str_eq(pt_str(t, 0, "related.hosts.0"), "www.example.com");
    ck_assert_str_eq(pt_str(t, 0, "user_agent.original"), "curl/7.37.1");
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "1.1");
    ck_assert_int_eq(pt_int(t, 0, "http.request.bytes"), (int64_t)strlen(get_req));
    ck_assert_int_eq(pt_int(t, 0, "http.response.bytes"), (int64_t)strlen(ok_resp));
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)strlen(get_req));
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)strlen(ok_resp));
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 0, "http.response.status_phrase"), "ok");
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 5);
    ck_assert_ptr_null(pt_field(t, 0, "http.request.body.bytes"));
    ck_assert_int_eq(pt_int(t, 0, "http.request.headers.content-length"), 0);
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 5);
    ck_assert_str_eq(pt_str(t, 0, "http.response.headers.content-type"), "text/html");
    ck_assert_ptr_null(pt_field(t, 0, "http.request.headers.host"));
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 1000000);
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    ck_assert_str_eq(pt_str(t, 0, "server.ip"), "10.0.0.2");
    ck_assert_ptr_null(pt_field(t, 0, "error"));
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    ck_assert_ptr_null(pt_field(t, 0, "response"));
    pt_close(t);
}
END_TEST

START_TEST(http_split_anywhere)
{
    char *whole = run_split("send_all_headers: true\nsend_request: true\nsend_response: true",
                            get_req, 0, ok_resp, 0);
    ck_assert_ptr_nonnull(strstr(whole, "\"status\":\"OK\""));
    size_t rl = strlen(get_req), sl = strlen(ok_resp);
    for (size_t cut = 1; cut < rl; cut++) {
        char *s = run_split("send_all_headers: true\nsend_request: true\nsend_response: true",
                            get_req, cut, ok_resp, 0);
        ck_assert_msg(strcmp(s, whole) == 0, "request cut at %zu differs:\n%s\n%s", cut, s, whole);
        free(s);
    }
    for (size_t cut = 1; cut < sl; cut++) {
        char *s = run_split("send_all_headers: true\nsend_request: true\nsend_response: true",
                            get_req, 0, ok_resp, cut);
        ck_assert_msg(strcmp(s, whole) == 0, "response cut at %zu differs", cut);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(http_byte_by_byte)
{
    char *whole = run_split("send_all_headers: true", get_req, 0, ok_resp, 0);
    struct pt_conn *t = pt_open(&pb_proto_http, "send_all_headers: true");
    for (size_t i = 0; get_req[i] != '\0'; i++) {
        pt_feed(t, TS, get_req + i, 1);
    }
    for (size_t i = 0; ok_resp[i] != '\0'; i++) {
        pt_feed(t, TC, ok_resp + i, 1);
    }
    pt_expect_dump(t, whole);
    free(whole);
    pt_close(t);
}
END_TEST

START_TEST(http_pipelining)
{
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS,
             "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
             "POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feeds(t, TC,
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
             "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nyz");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "query"), "GET /1");
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 1, "query"), "GET /2");
    ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 404);
    ck_assert_str_eq(pt_str(t, 1, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 1, "http.response.status_phrase"), "not found");
    ck_assert_str_eq(pt_str(t, 2, "query"), "POST /3");
    ck_assert_int_eq(pt_int(t, 2, "http.request.body.bytes"), 3);
    ck_assert_int_eq(pt_int(t, 2, "http.response.status_code"), 201);
    /* keep-alive: another round on the same connection */
    pt_feeds(t, TS, "GET /4 HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 304 Not Modified\r\n\r\n");
    ck_assert_uint_eq(pt_nevents(t), 4);
    ck_assert_str_eq(pt_str(t, 3, "query"), "GET /4");
    ck_assert_int_eq(pt_int(t, 3, "http.response.status_code"), 304);
    pt_close(t);
}
END_TEST

START_TEST(http_pipelining_split_anywhere)
{
    static const char reqs[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                               "GET /3 HTTP/1.1\r\n\r\n";
    static const char resps[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "2\r\nyz\r\n0\r\n\r\n"
                                "HTTP/1.1 204 No Content\r\n\r\n";
    const char *cfg = "include_body_for: [\"\"]";
    char *whole = run_split(cfg, reqs, 0, resps, 0);
    struct pt_conn *t = pt_open(&pb_proto_http, cfg);
    pt_feeds(t, TS, reqs);
    pt_feeds(t, TC, resps);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 1, "http.request.body.content"), "abc");
    ck_assert_str_eq(pt_str(t, 1, "http.response.body.content"), "yz");
    ck_assert_int_eq(pt_int(t, 2, "http.response.status_code"), 204);
    pt_close(t);
    for (size_t cut = 1; cut < strlen(reqs); cut++) {
        char *s = run_split(cfg, reqs, cut, resps, 0);
        ck_assert_msg(strcmp(s, whole) == 0, "requests cut at %zu differ", cut);
        free(s);
    }
    for (size_t cut = 1; cut < strlen(resps); cut++) {
        char *s = run_split(cfg, reqs, 0, resps, cut);
        ck_assert_msg(strcmp(s, whole) == 0, "responses cut at %zu differ", cut);
        free(s);
    }
    free(whole);
}
END_TEST

/* Chunked response with a chunk extension and a trailer field. */
static const char chunked_resp[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Transfer-Encoding: chunked\r\n"
                                   "\r\n"
                                   "5;name=value\r\nhello\r\n"
                                   "7\r\n, world\r\n"
                                   "0\r\n"
                                   "X-Checksum: abc\r\n"
                                   "\r\n";

START_TEST(http_chunked_ext_trailers)
{
    const char *cfg = "include_body_for: [\"text/plain\"]";
    char *whole = run_split(cfg, get_req, 0, chunked_resp, 0);
    struct pt_conn *t = pt_open(&pb_proto_http, cfg);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, chunked_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.response.body.content"), "hello, world");
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 12);
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 12);
    ck_assert_int_eq(pt_int(t, 0, "http.response.bytes"), (int64_t)strlen(chunked_resp));
    /* the next response on the connection still parses */
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_int_eq(pt_int(t, 1, "http.response.body.bytes"), 5);
    pt_close(t);
    size_t sl = strlen(chunked_resp);
    for (size_t cut = 1; cut < sl; cut++) {
        char *s = run_split(cfg, get_req, 0, chunked_resp, cut);
        ck_assert_msg(strcmp(s, whole) == 0, "chunked cut at %zu differs", cut);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(http_chunked_bad_size)
{
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, get_req);
    enum pb_parse r = pt_feeds(t, TC,
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "zz\r\nhello\r\n0\r\n\r\n");
    ck_assert_int_eq(r, PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 1);
    pt_expire(t); /* the request is left alone */
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Unmatched request");
    pt_close(t);
}
END_TEST

START_TEST(http_gap_in_body)
{
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    pt_gap(t, TC, 50);
    ck_assert_uint_eq(pt_nevents(t), 0);
    char rest[41];
    memset(rest, 'x', 40);
    rest[40] = '\0';
    pt_feeds(t, TC, rest);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the response");
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 100);
    ck_assert_uint_eq(pt_proto(t)->stats.gaps, 1);
    pt_close(t);
}
END_TEST

START_TEST(http_gap_ends_body)
{
    /* the gap swallows the end of the body: the message is done */
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    pt_gap(t, TC, 90);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the response");
    /* and the connection goes on */
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_ptr_null(pt_field(t, 1, "error"));
    pt_close(t);
}
END_TEST

START_TEST(http_gap_in_headers)
{
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-");
    pt_gap(t, TC, 20);
    /* the whole connection state is gone, the request too */
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(http_fin_delimited)
{
    const char *cfg = "include_body_for: [\"text\"]";
    struct pt_conn *t = pt_open(&pb_proto_http, cfg);
    pt_feeds(t, TS, "GET / HTTP/1.0\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ");
    pt_feeds(t, TC, "body");
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_fin(t, TC);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.response.body.content"), "some body");
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 9);
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "1.0");
    pt_close(t);

    /* HTTP/1.1 with Connection: close */
    t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc");
    pt_fin(t, TC);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 3);
    pt_close(t);
}
END_TEST

START_TEST(http_100_continue)
{
    struct pt_conn *t = pt_open(&pb_proto_http, "send_all_headers: true");
    pt_feeds(t, TS,
             "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
             "Content-Length: 4\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 100 Continue\r\n\r\n");
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feeds(t, TS, "abcd");
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.expect"), "100-continue");
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 200);
    ck_assert_ptr_null(pt_field(t, 0, "error"));
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
}
END_TEST

/* HEAD /h -> 200 announcing a body (Content-Length: 1234) it does not send. */
static const char head_req[] = "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n";
static const char head_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                "Content-Length: 1234\r\n\r\n";

START_TEST(http_head_no_body)
{
    /* the response to HEAD ends with its header block: the GET after it on
     * the same connection is a transaction of its own (Packetbeat reads the
     * GET's response as the HEAD's body and loses it) */
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, head_req);
    pt_feeds(t, TC, head_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "method"), "HEAD");
    ck_assert_str_eq(pt_str(t, 0, "query"), "HEAD /h");
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 200);
    ck_assert_int_eq(pt_int(t, 0, "http.response.bytes"), (int64_t)strlen(head_resp));
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)strlen(head_resp));
    /* the header fields stay as sent */
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 1234);
    ck_assert_str_eq(pt_str(t, 0, "http.response.headers.content-type"), "text/html");
    ck_assert_str_eq(pt_str(t, 1, "method"), "GET");
    ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 200);
    ck_assert_int_eq(pt_int(t, 1, "http.response.bytes"), (int64_t)strlen(ok_resp));
    ck_assert_int_eq(pt_int(t, 1, "http.response.body.bytes"), 5);
    ck_assert_ptr_null(pt_field(t, 0, "error"));
    ck_assert_ptr_null(pt_field(t, 1, "error"));
    pt_close(t);
}
END_TEST

START_TEST(http_head_pipelined)
{
    /* pipelined GET, HEAD (chunked announced), GET: each response knows the
     * request it answers, whole or split anywhere */
    static const char reqs[] =
        "GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n";
    static const char resps[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
    char *whole = run_split(NULL, reqs, 0, resps, 0);
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, reqs);
    pt_feeds(t, TC, resps);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "query"), "GET /1");
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 1);
    ck_assert_str_eq(pt_str(t, 1, "query"), "HEAD /2");
    ck_assert_int_eq(pt_int(t, 1, "http.response.status_code"), 200);
    ck_assert_str_eq(pt_str(t, 2, "query"), "GET /3");
    ck_assert_int_eq(pt_int(t, 2, "http.response.status_code"), 404);
    ck_assert_int_eq(pt_int(t, 2, "http.response.body.bytes"), 2);
    pt_close(t);
    for (size_t cut = 1; cut < strlen(resps); cut++) {
        char *s = run_split(NULL, reqs, 0, resps, cut);
        ck_assert_msg(strcmp(s, whole) == 0, "responses cut at %zu differ", cut);
        free(s);
    }
    free(whole);
    /* the requests arrive one by one, each answered before the next */
    t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, "HEAD /a HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    pt_feeds(t, TS, "HEAD /b HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    pt_feeds(t, TS, "GET /c HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 2, "query"), "GET /c");
    ck_assert_int_eq(pt_int(t, 2, "http.response.body.bytes"), 3);
    pt_close(t);
}
END_TEST

START_TEST(http_oversize_body)
{
    /* a body packet past max_message_size is counted, not kept */
    static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 300\r\n\r\n";
    struct pt_conn *t =
        pt_open(&pb_proto_http, "max_message_size: 100\ninclude_body_for: [\"text\"]");
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, hdr);
    char chunk[101];
    memset(chunk, 'a', 100);
    chunk[100] = '\0';
    pt_feeds(t, TC, chunk);
    pt_feeds(t, TC, chunk);
    pt_feeds(t, TC, chunk);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* only the first 100 body bytes were kept */
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), 100);
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 300);
    ck_assert_int_eq(pt_int(t, 0, "http.response.bytes"), (int64_t)strlen(hdr) + 300);
    ck_assert_int_eq((int64_t)strlen(pt_str(t, 0, "http.response.body.content")), 100);
    pt_close(t);

    /* headers that never end within max_message_size drop the stream */
    t = pt_open(&pb_proto_http, "max_message_size: 64");
    pt_feeds(t, TS, "GET / HTTP/1.1\r\nX-Long: ");
    enum pb_parse r = PB_PARSE_OK;
    for (int i = 0; i < 10 && r != PB_PARSE_DROP; i++) {
        r = pt_feeds(t, TS, "aaaaaaaaaaaaaaaaaaaa");
    }
    ck_assert_int_eq(r, PB_PARSE_DROP);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Unmatched response");
    pt_close(t);
}
END_TEST

START_TEST(http_garbage)
{
    static const char *const bad[] = {
        "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n", /* TLS */
        "GET\r\n\r\n",                                      /* short line */
        "GETNOSPACES/HTTP/1.1\r\n\r\n",                     /* no spaces */
        "GET / FTP/1.0\r\n\r\n",                            /* not HTTP */
        "HTTP/1.1 abc OK\r\n\r\n",                          /* bad status */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pt_conn *t = pt_open(&pb_proto_http, NULL);
        enum pb_parse r = pt_feeds(t, TS, bad[i]);
        ck_assert_msg(r == PB_PARSE_DROP, "case %zu", i);
        pt_fin(t, TS);
        pt_expire(t);
        ck_assert_uint_eq(pt_nevents(t), 0);
        /* a clean message after the garbage parses */
        pt_feeds(t, TS, get_req);
        pt_feeds(t, TC, ok_resp);
        ck_assert_uint_eq(pt_nevents(t), 1);
        pt_close(t);
    }
    /* random bytes, fed in odd pieces: never crash */
    srand(7);
    for (int round = 0; round < 200; round++) {
        struct pt_conn *t = pt_open(&pb_proto_http, "send_all_headers: true\nsplit_cookie: true");
        uint8_t buf[512];
        size_t n = (size_t)(rand() % (int)sizeof buf);
        const char *seed = round % 2 ? ok_resp : chunked_resp;
        size_t sl = strlen(seed);
        for (size_t i = 0; i < n; i++) {
            buf[i] = (rand() % 3 == 0) ? (uint8_t)rand() : (uint8_t)seed[i % sl];
        }
        pt_feeds(t, TS, get_req);
        for (size_t off = 0; off < n;) {
            size_t k = 1 + (size_t)(rand() % 40);
            if (k > n - off) {
                k = n - off;
            }
            pt_feed(t, TC, buf + off, k);
            off += k;
            if (rand() % 17 == 0) {
                pt_gap(t, TC, (size_t)(rand() % 100));
            }
        }
        pt_fin(t, TC);
        pt_expire(t);
        pt_close(t);
    }
}
END_TEST

START_TEST(http_truncated)
{
    /* every prefix of a message, then FIN or expiry: no crash, at most one event */
    size_t rl = strlen(get_req), sl = strlen(ok_resp);
    for (size_t cut = 0; cut <= sl; cut++) {
        struct pt_conn *t = pt_open(&pb_proto_http, NULL);
        pt_feed(t, TS, get_req, rl);
        pt_feed(t, TC, ok_resp, cut);
        if (cut % 2) {
            pt_fin(t, TC);
        }
        pt_expire(t);
        ck_assert_uint_eq(pt_nevents(t), 1);
        pt_close(t);
    }
}
END_TEST

START_TEST(http_redaction)
{
    static const char req[] = "GET / HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "Authorization: Basic c2ltcGxlc2ltb246YWJjZDEyMys=\r\n"
                              "X-Secret: hush\r\n"
                              "\r\n";
    struct pt_conn *t = pt_open(&pb_proto_http, "send_all_headers: true\n"
                                                "send_request: true\n"
                                                "redact_authorization: true\n"
                                                "redact_headers: [\"X-Secret\"]");
    pt_feeds(t, TS, req);
    pt_feeds(t, TC, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.authorization"), "*");
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.x-secret"), "REDACTED");
    const char *raw = pt_str(t, 0, "request");
    ck_assert_ptr_nonnull(raw);
    const char *a = strstr(raw, "Authorization:");
    ck_assert_ptr_nonnull(a);
    size_t stars = 0;
    for (a += 14; *a == '*'; a++) {
        stars++;
    }
    ck_assert_uint_eq(stars, strlen(" Basic c2ltcGxlc2ltb246YWJjZDEyMys="));
    ck_assert_int_eq(*a, '\r');
    ck_assert_ptr_null(strstr(raw, "c2ltcGxl"));
    ck_assert_ptr_null(pt_field(t, 0, "user.name"));
    pt_close(t);

    /* without redaction the Basic user is reported */
    t = pt_open(&pb_proto_http, "send_all_headers: true");
    pt_feeds(t, TS, req);
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 0, "user.name"), "simplesimon");
    ck_assert_str_eq(pt_str(t, 0, "related.user.0"), "simplesimon");
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.authorization"),
                     "Basic c2ltcGxlc2ltb246YWJjZDEyMys=");
    pt_close(t);
}
END_TEST

START_TEST(http_hide_keywords)
{
    const char *cfg = "hide_keywords: [\"pass\", \"password\"]";
    struct pt_conn *t = pt_open(&pb_proto_http, cfg);
    pt_feeds(t, TS, "GET /login?user=monica&pass=secret HTTP/1.1\r\nHost: h\r\n\r\n");
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "pass=xxxxx&user=monica");
    ck_assert_str_eq(pt_str(t, 0, "url.full"), "http://h/login?pass=xxxxx&user=monica");
    pt_close(t);

    /* a urlencoded POST body is merged into the query */
    static const char post[] = "POST /login HTTP/1.1\r\nHost: h\r\n"
                               "Content-Type: application/x-www-form-urlencoded\r\n"
                               "Content-Length: 27\r\n\r\n"
                               "PASS=secret&user=mo+nica%21";
    t = pt_open(&pb_proto_http, cfg);
    pt_feeds(t, TS, post);
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "PASS=xxxxx&user=mo+nica%21");
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/login");
    ck_assert_ptr_null(pt_field(t, 0, "http.request.body.content"));
    pt_close(t);

    /* without hide_keywords the value stays */
    t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TS, "GET /login?pass=secret HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "pass=secret");
    pt_close(t);
}
END_TEST

static size_t gzip_bytes(const char *s, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)s;
    zs.avail_in = (uInt)strlen(s);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

START_TEST(http_gzip_body)
{
    static const char text[] = "the quick brown fox jumps over the lazy dog, twice: "
                               "the quick brown fox jumps over the lazy dog";
    uint8_t gz[256];
    size_t gl = gzip_bytes(text, gz, sizeof gz);
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                      gl);
    uint8_t resp[512];
    memcpy(resp, hdr, (size_t)hl);
    memcpy(resp + hl, gz, gl);
    size_t rl = (size_t)hl + gl;

    struct pt_conn *t = pt_open(&pb_proto_http, "include_body_for: [\"text/plain\"]");
    pt_feeds(t, TS, get_req);
    pt_feed(t, TC, resp, rl);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.response.body.content"), text);
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), (int64_t)strlen(text));
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), (int64_t)gl);
    ck_assert_ptr_null(pt_field(t, 0, "error"));
    pt_close(t);

    /* decode_body: false keeps the compressed bytes */
    t = pt_open(&pb_proto_http, "include_body_for: [\"text/plain\"]\ndecode_body: false");
    pt_feeds(t, TS, get_req);
    pt_feed(t, TC, resp, rl);
    ck_assert_int_eq(pt_int(t, 0, "http.response.body.bytes"), (int64_t)gl);
    pt_close(t);

    /* a corrupt body gives a note */
    resp[hl] = 0x00;
    t = pt_open(&pb_proto_http, "include_body_for: [\"text/plain\"]");
    pt_feeds(t, TS, get_req);
    pt_feed(t, TC, resp, rl);
    ck_assert_str_eq(pt_str(t, 0, "error.message"),
                     "unable to decode body using gzip encoding: gzip: invalid header");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(http_unmatched)
{
    static const char r404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    pt_feeds(t, TC, r404);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Unmatched response");
    ck_assert_int_eq(pt_int(t, 0, "http.response.status_code"), 404);
    ck_assert_ptr_null(pt_field(t, 0, "event.start"));
    ck_assert_ptr_nonnull(pt_field(t, 0, "event.end"));
    ck_assert_ptr_null(pt_field(t, 0, "http.request"));
    /* Packetbeat reports the sender of the response as the source */
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.2");
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)strlen(r404));

    pt_feeds(t, TS, "GET /something HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 1, "error.message"), "Unmatched request");
    ck_assert_str_eq(pt_str(t, 1, "query"), "GET /something");
    ck_assert_ptr_null(pt_field(t, 1, "event.end"));
    ck_assert_uint_eq(pt_proto(t)->stats.unmatched, 2);
    pt_close(t);
}
END_TEST

START_TEST(http_headers_options)
{
    static const char req[] = "POST /p HTTP/1.1\r\n"
                              "Host: example.com:8080\r\n"
                              "Cookie: a=1; B=\"two\"; c\r\n"
                              "X-Forwarded-For: 89.247.39.104, 10.0.0.9\r\n"
                              "Referer: http://ref.example/\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 2\r\n"
                              "X-Dup: 1\r\n"
                              "X-Dup: 2\r\n"
                              "\r\n{}";
    static const char resp[] = "HTTP/1.1 200 OK\r\n"
                               "Set-Cookie: s=1; Path=/\r\n"
                               "Content-Length: 0\r\n\r\n";
    struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]\n"
                                                "send_headers: [\"Cookie\", \"X-DUP\"]\n"
                                                "split_cookie: true\n"
                                                "real_ip_header: X-Forwarded-For\n"
                                                "include_request_body_for: [\"json\"]");
    pt_feeds(t, TS, req);
    pt_feeds(t, TC, resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.cookie.a"), "1");
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.cookie.b"), "two");
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.x-dup"), "1, 2");
    ck_assert_ptr_null(pt_field(t, 0, "http.request.headers.referer"));
    ck_assert_ptr_null(pt_field(t, 0, "http.response.headers.set-cookie"));
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.content-type"), "application/json");
    ck_assert_str_eq(pt_str(t, 0, "http.request.body.content"), "{}");
    ck_assert_str_eq(pt_str(t, 0, "network.forwarded_ip"), "89.247.39.104");
    ck_assert_str_eq(pt_str(t, 0, "related.ip.2"), "89.247.39.104");
    ck_assert_str_eq(pt_str(t, 0, "http.request.referrer"), "http://ref.example/");
    ck_assert_str_eq(pt_str(t, 0, "related.hosts.1"), "http://ref.example/");
    ck_assert_int_eq(pt_int(t, 0, "url.port"), 8080);
    ck_assert_str_eq(pt_str(t, 0, "url.full"), "http://example.com:8080/p");
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Host header port number mismatch");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(http_url_edge_cases)
{
    struct pt_conn *t = pt_open(&pb_proto_http, NULL);
    /* %-decoded path re-escaped in url.full; '+' stays in the path */
    pt_feeds(t, TS, "GET /a%20b+c/d.tar.gz?x=%41+B&&y&;z=1 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/a b+c/d.tar.gz");
    ck_assert_str_eq(pt_str(t, 0, "url.extension"), "gz");
    ck_assert_str_eq(pt_str(t, 0, "url.query"), "x=A+B&y=");
    ck_assert_str_eq(pt_str(t, 0, "url.domain"), "::1");
    ck_assert_str_eq(pt_str(t, 0, "url.full"), "http://[::1]/a%20b+c/d.tar.gz?x=A+B&y=");
    ck_assert_str_eq(pt_str(t, 0, "related.ip.2"), "::1");
    ck_assert_ptr_null(pt_field(t, 0, "destination.domain"));
    /* a bad escape: no path, no query */
    pt_feeds(t, TS, "GET /%zz?a=1 HTTP/1.1\r\n\r\n");
    pt_feeds(t, TC, ok_resp);
    ck_assert_str_eq(pt_str(t, 1, "query"), "GET ");
    ck_assert_ptr_null(pt_field(t, 1, "url.path"));
    ck_assert_ptr_null(pt_field(t, 1, "url.full"));
    pt_close(t);
}
END_TEST

/* url.full of an IPv6 host with a port and a path that needs escaping;
 * texts longer than the builder's stack buffers (url.full, query, the
 * status phrase); body fields; query parameters sorted and escaped. */
START_TEST(http_event_texts)
{
    struct pt_enc_check e;
    struct pt_conn *t = pt_open(&pb_proto_http, "include_body_for: [\"text/plain\"]");
    pt_check_encodings(t, &e);
    pt_feeds(t, TS,
             "POST /a%20b/%C3%BC/x.tar.gz?q=1&b=%2F&e=%E2%82%AC HTTP/1.1\r\n"
             "Host: [2001:db8::1]:8080\r\n"
             "Content-Type: text/plain\r\n"
             "Content-Length: 3\r\n\r\nabc");
    pt_feeds(t, TC, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "url.full"),
                     "http://[2001:db8::1]:8080/a%20b/%C3%BC/x.tar.gz?b=%2F&e=%E2%82%AC&q=1");
    ck_assert_str_eq(pt_str(t, 0, "url.path"), "/a b/\xc3\xbc/x.tar.gz");
    ck_assert_str_eq(pt_str(t, 0, "url.extension"), "gz");
    ck_assert_str_eq(pt_str(t, 0, "url.domain"), "2001:db8::1");
    ck_assert_int_eq(pt_int(t, 0, "url.port"), 8080);
    ck_assert_str_eq(pt_str(t, 0, "url.scheme"), "http");
    ck_assert_str_eq(pt_str(t, 0, "query"), "POST /a b/\xc3\xbc/x.tar.gz");
    ck_assert_str_eq(pt_str(t, 0, "http.version"), "1.1");
    ck_assert_str_eq(pt_str(t, 0, "http.request.body.content"), "abc");
    ck_assert_int_eq(pt_int(t, 0, "http.request.body.bytes"), 3);
    ck_assert_str_eq(pt_str(t, 0, "http.request.headers.content-type"), "text/plain");
    ck_assert_str_eq(pt_str(t, 0, "http.response.status_phrase"), "not found");
    ck_assert_ptr_null(pt_field(t, 0, "http.response.body"));
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");

    /* long: a path of 1500 bytes, a phrase of 300 */
    enum { PLEN = 1500, PHLEN = 300 };
    char *req = malloc(PLEN + 128), *resp = malloc(PHLEN + 128);
    char *path = malloc(PLEN + 1), *phrase = malloc(PHLEN + 1);
    ck_assert(req != NULL && resp != NULL && path != NULL && phrase != NULL);
    path[0] = '/';
    for (size_t i = 1; i < PLEN; i++) {
        path[i] = i % 50 == 0 ? '/' : (char)('a' + i % 26);
    }
    path[PLEN] = '\0';
    for (size_t i = 0; i < PHLEN; i++) {
        phrase[i] = i % 4 == 3 ? ' ' : (char)('A' + i % 26);
    }
    phrase[PHLEN - 1] = 'X'; /* no trailing space to trim */
    phrase[PHLEN] = '\0';
    snprintf(req, PLEN + 128, "GET %s HTTP/1.0\r\nHost: example.com\r\n\r\n", path);
    snprintf(resp, PHLEN + 128, "HTTP/1.0 200 %s\r\nContent-Length: 2\r\n\r\nok", phrase);
    pt_feeds(t, TS, req);
    pt_feeds(t, TC, resp);
    ck_assert_uint_eq(pt_nevents(t), 2);
    char *full = malloc(PLEN + 64), *query = malloc(PLEN + 8);
    ck_assert(full != NULL && query != NULL);
    snprintf(full, PLEN + 64, "http://example.com%s", path);
    snprintf(query, PLEN + 8, "GET %s", path);
    ck_assert_str_eq(pt_str(t, 1, "url.full"), full);
    ck_assert_str_eq(pt_str(t, 1, "query"), query);
    ck_assert_str_eq(pt_str(t, 1, "destination.domain"), "example.com");
    ck_assert_str_eq(pt_str(t, 1, "server.domain"), "example.com");
    ck_assert_str_eq(pt_str(t, 1, "http.version"), "1.0");
    ck_assert_int_eq(pt_int(t, 1, "http.response.body.bytes"), 2);
    for (size_t i = 0; i < PHLEN; i++) {
        if (phrase[i] >= 'A' && phrase[i] <= 'Z') {
            phrase[i] = (char)(phrase[i] - 'A' + 'a');
        }
    }
    ck_assert_str_eq(pt_str(t, 1, "http.response.status_phrase"), phrase);
    ck_assert_uint_eq(e.checked, 2);
    free(req);
    free(resp);
    free(path);
    free(phrase);
    free(full);
    free(query);

    /* a response alone: its own http object */
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    pt_shutdown(t);
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_int_eq(pt_int(t, 2, "http.response.status_code"), 200);
    ck_assert_ptr_null(pt_field(t, 2, "http.version"));
    ck_assert_uint_eq(e.checked, 3);
    pt_close(t);
}
END_TEST

START_TEST(http_parse_int_go)
{
    int64_t v;
    ck_assert(http_parse_int((const uint8_t *)"123abc", 6, &v) && v == 123);
    ck_assert(http_parse_int((const uint8_t *)"-5", 2, &v) && v == -5);
    ck_assert(http_parse_int((const uint8_t *)"+7", 2, &v) && v == 7);
    ck_assert(!http_parse_int((const uint8_t *)"abc", 3, &v) && v == 0);
    ck_assert(!http_parse_int((const uint8_t *)"-", 1, &v));
    ck_assert(!http_parse_int((const uint8_t *)"", 0, &v));
}
END_TEST

START_TEST(http_trim_quirk)
{
    /* Packetbeat's trim() drops a one-byte value with no space before it */
    struct pt_conn *t = pt_open(&pb_proto_http, "send_all_headers: true");
    pt_feeds(t, TS, get_req);
    pt_feeds(t, TC, "HTTP/1.1 200 OK\r\nX-A:1\r\nX-B: 1\r\nContent-Length:  2 \r\n\r\nok");
    ck_assert_str_eq(pt_str(t, 0, "http.response.headers.x-a"), "");
    ck_assert_str_eq(pt_str(t, 0, "http.response.headers.x-b"), "1");
    ck_assert_int_eq(pt_int(t, 0, "http.response.headers.content-length"), 2);
    pt_close(t);
}
END_TEST

/* One whole message through http_parse: DONE expected. */
static struct http_msg *parse_one(const struct http_parser_cfg *cfg, const char *s)
{
    struct http_stream st = {0};
    st.active = true;
    st.msg = http_msg_new(0, TS);
    ck_assert_ptr_nonnull(st.msg);
    size_t used = 0;
    enum http_res r = http_parse(&st, cfg, (const uint8_t *)s, strlen(s), SIZE_MAX, &used);
    ck_assert_int_eq(r, HTTP_RES_DONE);
    ck_assert_uint_eq(used, strlen(s));
    struct http_msg *m = st.msg;
    st.msg = NULL;
    return m;
}

START_TEST(http_header_names_and_raw)
{
    static const char req[] = "POST /p HTTP/1.1\r\n"
                              "hOsT: Example.COM\r\n"
                              "USER-AGENT: ua\r\n"
                              "CONTENT-type: text/plain\r\n"
                              "Content-LENGTH: 3\r\n"
                              "Referer : r\r\n"
                              "X-\xc3\x89TRANGE-NAME-Longer: v\r\n"
                              "Content\rLength: 9\r\n"
                              "\r\n"
                              "abc";
    size_t hl = strlen(req) - 3;
    struct http_parser_cfg cfg = {.send_headers = true, .send_all_headers = true};
    struct http_msg *m = parse_one(&cfg, req);
    ck_assert(m->has_content_length);
    ck_assert_int_eq(m->content_length, 3);
    ck_assert(pb_mem_eq(m->host.p, m->host.len, "Example.COM"));
    ck_assert(pb_mem_eq(m->user_agent.p, m->user_agent.len, "ua"));
    ck_assert(pb_mem_eq(m->content_type.p, m->content_type.len, "text/plain"));
    ck_assert_uint_eq(m->referer.len, 0); /* "referer " is another name */
    ck_assert_ptr_nonnull(http_msg_header(m, "referer "));
    /* ASCII letters lowered, other bytes kept, past the first eight */
    ck_assert_ptr_nonnull(http_msg_header(m, "x-\xc3\x89trange-name-longer"));
    ck_assert_ptr_nonnull(http_msg_header(m, "content\rlength"));
    ck_assert_uint_eq(m->raw.len, hl);
    ck_assert_int_eq(memcmp(m->raw.p, req, hl), 0);
    ck_assert_uint_eq(m->header_len, hl);
    ck_assert_uint_eq(m->size, hl + 3);
    http_msg_free(m);

    /* no header block kept when nothing sends it; sizes unchanged */
    cfg.no_raw_requests = true;
    cfg.no_raw_responses = true;
    m = parse_one(&cfg, req);
    ck_assert_uint_eq(m->raw.len, 0);
    ck_assert_uint_eq(m->header_len, hl);
    ck_assert_uint_eq(m->size, hl + 3);
    ck_assert_int_eq(m->content_length, 3);
    http_msg_free(m);
    m = parse_one(&cfg, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_uint_eq(m->raw.len, 0);
    http_msg_free(m);
    /* a 101 keeps it: the h2c switch is read from it */
    static const char up[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    m = parse_one(&cfg, up);
    ck_assert_uint_eq(m->raw.len, strlen(up));
    http_msg_free(m);
}
END_TEST

START_TEST(http_host_header_ip)
{
    /* an IP host (with a port, or in brackets) is no domain */
    const char *hosts[] = {"10.1.2.3:8080", "[::1]:81",         "[::2]",
                           "10.4.5.6",      "example.com:8080", "[nohost]:82"};
    const char *ip[] = {"10.1.2.3", "::1", "::2", "10.4.5.6", NULL, NULL};
    const char *dom[] = {NULL, NULL, NULL, NULL, "example.com", "[nohost]"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        struct pt_conn *t = pt_open(&pb_proto_http, "ports: [80]");
        char req[128];
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", hosts[i]);
        pt_feeds(t, TS, req);
        pt_feeds(t, TC, "HTTP/1.1 204 No Content\r\n\r\n");
        ck_assert_uint_eq(pt_nevents(t), 1);
        if (dom[i] != NULL) {
            ck_assert_str_eq(pt_str(t, 0, "destination.domain"), dom[i]);
            ck_assert_str_eq(pt_str(t, 0, "url.domain"), dom[i]);
        } else {
            ck_assert_ptr_null(pt_field(t, 0, "destination.domain"));
            json_t *ips = pt_field(t, 0, "related.ip");
            bool found = false;
            for (size_t k = 0; ips != NULL && k < json_array_size(ips); k++) {
                found |= strcmp(json_string_value(json_array_get(ips, k)), ip[i]) == 0;
            }
            ck_assert_msg(found, "%s not in related.ip", ip[i]);
            ck_assert_ptr_null(pt_field(t, 0, "related.hosts"));
        }
        pt_close(t);
    }
}
END_TEST

START_TEST(txq_bounded_fifo)
{
    struct pb_txq q;
    memset(&q, 0, sizeof q);
    pb_txq_set_cap(&q, 5);
    int vals[8];
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(pb_txq_push(&q, &vals[i]), 0);
    }
    ck_assert_int_lt(pb_txq_push(&q, &vals[5]), 0);
    ck_assert_ptr_eq(pb_txq_pop(&q), &vals[0]);
    ck_assert_int_eq(pb_txq_push(&q, &vals[5]), 0);
    for (int i = 1; i <= 5; i++) {
        ck_assert_ptr_eq(pb_txq_at(&q, (size_t)i - 1), &vals[i]);
    }
    for (int i = 1; i <= 5; i++) {
        ck_assert_ptr_eq(pb_txq_pop(&q), &vals[i]);
    }
    ck_assert(pb_txq_empty(&q));
    ck_assert_ptr_null(pb_txq_pop(&q));
    pb_txq_free(&q, NULL);
}
END_TEST

START_TEST(strutil_base64)
{
    uint8_t out[64];
    size_t n;
    ck_assert(pb_base64_decode("YWJj", 4, true, out, sizeof out, &n) && n == 3);
    ck_assert(memcmp(out, "abc", 3) == 0);
    ck_assert(pb_base64_decode("YWI=", 4, true, out, sizeof out, &n) && n == 2);
    ck_assert(!pb_base64_decode("YWI", 3, true, out, sizeof out, &n));
    ck_assert(pb_base64_decode("YWI", 3, false, out, sizeof out, &n) && n == 2);
    ck_assert(!pb_base64_decode("YWI=", 4, false, out, sizeof out, &n));
    ck_assert(!pb_base64_decode("Y!Jj", 4, true, out, sizeof out, &n));
    ck_assert(pb_base64_decode("YW\r\nJj", 6, true, out, sizeof out, &n) && n == 3);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, http_basic_fields);
    tcase_add_test(tc, http_split_anywhere);
    tcase_add_test(tc, http_byte_by_byte);
    tcase_add_test(tc, http_pipelining);
    tcase_add_test(tc, http_pipelining_split_anywhere);
    tcase_add_test(tc, http_chunked_ext_trailers);
    tcase_add_test(tc, http_chunked_bad_size);
    tcase_add_test(tc, http_gap_in_body);
    tcase_add_test(tc, http_gap_ends_body);
    tcase_add_test(tc, http_gap_in_headers);
    tcase_add_test(tc, http_fin_delimited);
    tcase_add_test(tc, http_100_continue);
    tcase_add_test(tc, http_head_no_body);
    tcase_add_test(tc, http_head_pipelined);
    tcase_add_test(tc, http_oversize_body);
    tcase_add_test(tc, http_garbage);
    tcase_add_test(tc, http_truncated);
    tcase_add_test(tc, http_redaction);
    tcase_add_test(tc, http_hide_keywords);
    tcase_add_test(tc, http_gzip_body);
    tcase_add_test(tc, http_unmatched);
    tcase_add_test(tc, http_headers_options);
    tcase_add_test(tc, http_url_edge_cases);
    tcase_add_test(tc, http_event_texts);
    tcase_add_test(tc, http_parse_int_go);
    tcase_add_test(tc, http_trim_quirk);
    tcase_add_test(tc, http_header_names_and_raw);
    tcase_add_test(tc, http_host_header_ip);
    tcase_add_test(tc, txq_bounded_fifo);
    tcase_add_test(tc, strutil_base64);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(http_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
