/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_logstash.c - the Logstash output: Lumberjack v2
 * frames (window, JSON, compressed), the ACK parser and window accounting,
 * slow start, host parsing; then the output end to end through the
 * pipeline against a small in-process Lumberjack server that can send
 * keep-alive and partial ACKs or drop a window and close.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "beat/cfg.h"
#include "beat/err.h"
#include "publisher/codec.h"
#include "publisher/outputs/logstash/lj_net.h"
#include "publisher/outputs/logstash/lj_proto.h"
#include "publisher/pipeline.h"
#include "tests/support/ptrun.h"

/* ---- frames --------------------------------------------------------------- */

START_TEST(window_and_json_frames)
{
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_lj_put_window(&b, 3), 0);
    /* '2' 'W' 00 00 00 03 */
    static const uint8_t win[] = {'2', 'W', 0, 0, 0, 3};
    ck_assert_uint_eq(b.len, sizeof win);
    ck_assert_mem_eq(b.p, win, sizeof win);
    b.len = 0;
    ck_assert_int_eq(pb_lj_put_json(&b, 258, "{\"a\":1}", 7), 0);
    /* '2' 'J' seq=258 len=7 {"a":1} */
    static const uint8_t js[] = {'2', 'J', 0,   0,   1,   2,   0,   0,  0,
                                 7,   '{', '"', 'a', '"', ':', '1', '}'};
    ck_assert_uint_eq(b.len, sizeof js);
    ck_assert_mem_eq(b.p, js, sizeof js);
    pb_codec_buf_free(&b);
}
END_TEST

START_TEST(compressed_frame_inflates_to_the_data_frames)
{
    struct pb_codec_buf raw = {0};
    struct pb_codec_buf out = {0};
    struct pb_deflater d = {0};
    for (uint32_t i = 1; i <= 50; i++) {
        char ev[64];
        int n = snprintf(ev, sizeof ev, "{\"seq\":%u,\"pad\":\"xxxxxxxxxxxxxxxx\"}", i);
        ck_assert_int_eq(pb_lj_put_json(&raw, i, ev, (size_t)n), 0);
    }
    ck_assert_int_eq(pb_lj_put_compressed(&d, &out, raw.p, raw.len, 3), 0);
    ck_assert_int_eq(out.p[0], '2');
    ck_assert_int_eq(out.p[1], 'C');
    const uint8_t *u = (const uint8_t *)out.p;
    uint32_t clen = ((uint32_t)u[2] << 24) | ((uint32_t)u[3] << 16) | ((uint32_t)u[4] << 8) | u[5];
    ck_assert_uint_eq(clen, out.len - 6);
    ck_assert_uint_lt(clen, raw.len);
    uLongf dlen = raw.len + 16;
    Bytef *dec = malloc(dlen);
    ck_assert_int_eq(uncompress(dec, &dlen, u + 6, clen), Z_OK);
    ck_assert_uint_eq(dlen, raw.len);
    ck_assert_mem_eq(dec, raw.p, raw.len);
    free(dec);
    ck_assert_int_eq(pb_lj_put_compressed(&d, &out, raw.p, raw.len, 0), -PB_EINVAL);
    ck_assert_int_eq(pb_lj_put_compressed(&d, &out, raw.p, raw.len, 10), -PB_EINVAL);
    pb_codec_buf_free(&raw);
    pb_codec_buf_free(&out);
    pb_deflater_fini(&d);
}
END_TEST

START_TEST(ack_parser)
{
    uint32_t seq = 99;
    static const uint8_t ack[] = {'2', 'A', 0, 0, 0x01, 0x00}; /* ACK 256 */
    for (size_t cut = 0; cut < sizeof ack; cut++) {
        ck_assert_int_eq(pb_lj_parse_ack(ack, cut, &seq), PB_LJ_ACK_MORE);
    }
    ck_assert_int_eq(pb_lj_parse_ack(ack, sizeof ack, &seq), PB_LJ_ACK_OK);
    ck_assert_uint_eq(seq, 256);
    static const uint8_t v1[] = {'1', 'A', 0, 0, 0, 1};
    ck_assert_int_eq(pb_lj_parse_ack(v1, sizeof v1, &seq), PB_LJ_ACK_BAD);
    ck_assert_int_eq(pb_lj_parse_ack(v1, 1, &seq), PB_LJ_ACK_BAD);
    static const uint8_t notack[] = {'2', 'W', 0, 0, 0, 1};
    ck_assert_int_eq(pb_lj_parse_ack(notack, 2, &seq), PB_LJ_ACK_BAD);
}
END_TEST

START_TEST(ack_window_accounting)
{
    uint32_t acked = 0;
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 0), PB_LJ_WIN_KEEPALIVE);
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 4), PB_LJ_WIN_PARTIAL);
    ck_assert_uint_eq(acked, 4);
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 4), PB_LJ_WIN_KEEPALIVE);
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 0), PB_LJ_WIN_KEEPALIVE);
    ck_assert_uint_eq(acked, 4);
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 11), PB_LJ_WIN_ERROR);
    ck_assert_int_eq(pb_lj_apply_ack(10, &acked, 10), PB_LJ_WIN_DONE);
    ck_assert_uint_eq(acked, 10);
}
END_TEST

START_TEST(slow_start_window)
{
    struct pb_lj_slowstart w;
    pb_lj_ss_init(&w, 10, 100);
    ck_assert_int_eq(w.size, 10);
    pb_lj_ss_grow(&w, 1000);
    ck_assert_int_eq(w.size, 15);
    pb_lj_ss_grow(&w, 1000);
    ck_assert_int_eq(w.size, 23);
    pb_lj_ss_grow(&w, 30); /* grows only up to the batch size */
    ck_assert_int_eq(w.size, 30);
    for (int i = 0; i < 20; i++) {
        pb_lj_ss_grow(&w, 1000);
    }
    ck_assert_int_eq(w.size, 100);
    pb_lj_ss_shrink(&w);
    ck_assert_int_eq(w.size, 50);
    pb_lj_ss_grow(&w, 1000); /* back up towards the largest size that worked */
    ck_assert_int_eq(w.size, 75);
    pb_lj_ss_grow(&w, 5); /* a small batch says nothing */
    ck_assert_int_eq(w.size, 75);
    for (int i = 0; i < 10; i++) {
        pb_lj_ss_shrink(&w);
    }
    ck_assert_int_eq(w.size, 1);
}
END_TEST

START_TEST(host_parsing)
{
    char h[256];
    char full[300];
    int port;
    ck_assert_int_eq(pb_lj_split_host("localhost", 5044, h, sizeof h, &port, full, sizeof full), 0);
    ck_assert_str_eq(h, "localhost");
    ck_assert_int_eq(port, 5044);
    ck_assert_str_eq(full, "localhost:5044");
    ck_assert_int_eq(
        pb_lj_split_host("10.0.0.1:15044", 5044, h, sizeof h, &port, full, sizeof full), 0);
    ck_assert_str_eq(h, "10.0.0.1");
    ck_assert_int_eq(port, 15044);
    ck_assert_int_eq(pb_lj_split_host("[::1]:6000", 5044, h, sizeof h, &port, full, sizeof full),
                     0);
    ck_assert_str_eq(h, "::1");
    ck_assert_int_eq(port, 6000);
    ck_assert_str_eq(full, "[::1]:6000");
    ck_assert_int_eq(pb_lj_split_host("fe80::1", 5044, h, sizeof h, &port, full, sizeof full), 0);
    ck_assert_str_eq(full, "[fe80::1]:5044");
    ck_assert_int_lt(pb_lj_split_host("h:99999", 5044, h, sizeof h, &port, full, sizeof full), 0);
    ck_assert_int_lt(pb_lj_split_host("h:", 5044, h, sizeof h, &port, full, sizeof full), 0);
    ck_assert_int_lt(pb_lj_split_host("", 5044, h, sizeof h, &port, full, sizeof full), 0);
}
END_TEST

/* ---- end to end against an in-process lumberjack server -------------------- */

static struct {
    pthread_mutex_t mu;
    int lfd;
    int port;
    int drop_first_window; /* close without ACK on the first window */
    int partial;           /* ACK half the window first */
    int keepalive;         /* ACK 0 before the real ACK */
    int windows;
    int conns;
    int compressed;
    int ids[8192];
    size_t nids;
    bool stop;
} srv;

static int rd(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void send_ack(int fd, uint32_t seq)
{
    uint8_t a[6] = {
        '2', 'A', (uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq};
    ssize_t w = write(fd, a, sizeof a);
    (void)w;
}

/* parses J frames in mem; returns events found, their ids into out */
static int parse_frames(const uint8_t *p, size_t len, int *out, int max, uint32_t *last_seq)
{
    int n = 0;
    size_t off = 0;
    while (off + 10 <= len && n < max) {
        ck_assert_int_eq(p[off], '2');
        ck_assert_int_eq(p[off + 1], 'J');
        uint32_t seq = be32(p + off + 2);
        uint32_t l = be32(p + off + 6);
        ck_assert_uint_eq(seq, *last_seq + 1);
        *last_seq = seq;
        json_error_t je;
        json_t *ev = json_loadb((const char *)p + off + 10, l, 0, &je);
        ck_assert_ptr_nonnull(ev);
        ck_assert_str_eq(
            json_string_value(json_object_get(json_object_get(ev, "@metadata"), "beat")),
            "myindex");
        out[n++] = (int)json_integer_value(json_object_get(ev, "id"));
        json_decref(ev);
        off += 10 + l;
    }
    return n;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        uint8_t h[6];
        if (rd(fd, h, 6) != 0) {
            break;
        }
        ck_assert_int_eq(h[0], '2');
        ck_assert_int_eq(h[1], 'W');
        uint32_t count = be32(h + 2);
        int got[4096];
        int n = 0;
        uint32_t last = 0;
        while ((uint32_t)n < count) {
            uint8_t fh[2];
            if (rd(fd, fh, 2) != 0) {
                goto out;
            }
            if (fh[1] == 'C') {
                uint8_t lb[4];
                rd(fd, lb, 4);
                uint32_t clen = be32(lb);
                uint8_t *c = malloc(clen);
                rd(fd, c, clen);
                uLongf dlen = 16u << 20;
                uint8_t *d = malloc(dlen);
                ck_assert_int_eq(uncompress(d, &dlen, c, clen), Z_OK);
                n += parse_frames(d, dlen, got + n, 4096 - n, &last);
                free(c);
                free(d);
                pthread_mutex_lock(&srv.mu);
                srv.compressed++;
                pthread_mutex_unlock(&srv.mu);
            } else {
                ck_assert_int_eq(fh[1], 'J');
                uint8_t sl[8];
                rd(fd, sl, 8);
                uint32_t l = be32(sl + 4);
                uint8_t *f = malloc(10 + l);
                f[0] = '2';
                f[1] = 'J';
                memcpy(f + 2, sl, 8);
                rd(fd, f + 10, l);
                n += parse_frames(f, 10 + l, got + n, 4096 - n, &last);
                free(f);
            }
        }
        pthread_mutex_lock(&srv.mu);
        int w = ++srv.windows;
        bool drop = srv.drop_first_window && w == 1;
        if (!drop) {
            for (int i = 0; i < n && srv.nids < 8192; i++) {
                srv.ids[srv.nids++] = got[i];
            }
        }
        int partial = srv.partial;
        int ka = srv.keepalive;
        pthread_mutex_unlock(&srv.mu);
        if (drop) {
            break;
        }
        if (ka) {
            send_ack(fd, 0);
            usleep(20000);
        }
        if (partial && count > 1) {
            send_ack(fd, count / 2);
            usleep(10000);
        }
        send_ack(fd, count);
    }
out:
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0) {
            break;
        }
        pthread_mutex_lock(&srv.mu);
        srv.conns++;
        pthread_mutex_unlock(&srv.mu);
        pthread_t t;
        pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static pthread_t srv_thr;

static void srv_start(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.windows = srv.conns = srv.compressed = 0;
    srv.nids = 0;
    pthread_mutex_unlock(&srv.mu);
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(srv.lfd, 16), 0);
    socklen_t sl = sizeof a;
    getsockname(srv.lfd, (struct sockaddr *)&a, &sl);
    srv.port = ntohs(a.sin_port);
    pthread_create(&srv_thr, NULL, accept_main, NULL);
}

static void srv_stop(void)
{
    shutdown(srv.lfd, SHUT_RDWR);
    close(srv.lfd);
    pthread_join(srv_thr, NULL);
}

static void run_events(const char *extra, int n)
{
    char yaml[2048];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.mem:\n  events: 4096\n  flush.min_events: 64\n  flush.timeout: 10ms\n"
             "output.logstash:\n  hosts: [\"127.0.0.1:%d\"]\n  index: MyIndex\n"
             "  max_retries: -1\n  backoff.init: 10ms\n  backoff.max: 50ms\n%s",
             srv.port, extra);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_cfg_free(c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < n; i++) {
        json_t *ev = json_pack("{s:s,s:{s:s,s:s,s:s},s:i}", "@timestamp",
                               "2024-01-01T00:00:00.000Z", "@metadata", "beat", "packetbeat",
                               "type", "_doc", "version", "8.17.2", "id", i);
        ck_assert_int_eq(pb_pipeline_publish(pl, ev, true), 0);
    }
    pb_pipeline_close(pl, -1);
}

/* every id 0..n-1 arrived at least once */
static void check_all(int n)
{
    pthread_mutex_lock(&srv.mu);
    char *seen = calloc((size_t)n, 1);
    for (size_t i = 0; i < srv.nids; i++) {
        ck_assert_int_lt(srv.ids[i], n);
        seen[srv.ids[i]] = 1;
    }
    for (int i = 0; i < n; i++) {
        ck_assert_msg(seen[i], "event %d missing", i);
    }
    free(seen);
    pthread_mutex_unlock(&srv.mu);
}

START_TEST(end_to_end_compressed_pipelined)
{
    srv.drop_first_window = srv.partial = srv.keepalive = 0;
    srv_start();
    run_events("  bulk_max_size: 100\n", 1000);
    check_all(1000);
    ck_assert_uint_eq(srv.nids, 1000);
    ck_assert_int_ge(srv.windows, 10);
    ck_assert_int_eq(srv.compressed, srv.windows);
    srv_stop();
}
END_TEST

START_TEST(end_to_end_sync_uncompressed_partial_and_keepalive_acks)
{
    srv.drop_first_window = 0;
    srv.partial = srv.keepalive = 1;
    srv_start();
    run_events("  bulk_max_size: 64\n  pipelining: 0\n  compression_level: 0\n"
               "  slow_start: true\n  timeout: 2s\n",
               300);
    check_all(300);
    ck_assert_uint_eq(srv.nids, 300);
    ck_assert_int_eq(srv.compressed, 0);
    srv_stop();
}
END_TEST

START_TEST(end_to_end_window_dropped_then_resent)
{
    srv.drop_first_window = 1;
    srv.partial = srv.keepalive = 0;
    srv_start();
    run_events("  bulk_max_size: 50\n", 200);
    check_all(200);
    ck_assert_int_ge(srv.conns, 2);
    srv_stop();
}
END_TEST

START_TEST(config_errors)
{
    static const char *const bad[] = {
        "output.logstash:\n  index: x\n",
        "output.logstash:\n  hosts: [a]\n  compression_level: 10\n",
        "output.logstash:\n  hosts: [a]\n  pipelining: -1\n",
        "output.logstash:\n  hosts: [a]\n  port: 5044\n",
        "output.logstash:\n  hosts: [a]\n  ssl.verification_mode: sometimes\n",
        "output.logstash:\n  hosts: [a]\n  ssl.supported_protocols: [SSLv3]\n",
        "output.logstash:\n  hosts: [a]\n  ssl.certificate_authorities: [/nonexistent/ca.pem]\n",
    };
    static const char *const want[] = {
        "missing required field accessing 'output.logstash.hosts'",
        "requires value <= 9",
        "requires value >= 0",
        "has been removed",
        "unknown verification mode",
        "invalid tls version",
        "failed reading CA certificate",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        struct pb_cfg *c = pb_cfg_parse(bad[i], strlen(bad[i]), "test", err, sizeof err);
        ck_assert_ptr_nonnull(c);
        struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
        ck_assert_ptr_null(pl);
        ck_assert_msg(strstr(err, want[i]) != NULL, "case %zu: %s", i, err);
        pb_cfg_free(c);
    }
}
END_TEST

static Suite *ls_suite(void)
{
    Suite *s = suite_create("logstash");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, window_and_json_frames);
    tcase_add_test(tc, compressed_frame_inflates_to_the_data_frames);
    tcase_add_test(tc, ack_parser);
    tcase_add_test(tc, ack_window_accounting);
    tcase_add_test(tc, slow_start_window);
    tcase_add_test(tc, host_parsing);
    tcase_add_test(tc, end_to_end_compressed_pipelined);
    tcase_add_test(tc, end_to_end_sync_uncompressed_partial_and_keepalive_acks);
    tcase_add_test(tc, end_to_end_window_dropped_then_resent);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pthread_mutex_init(&srv.mu, NULL);
    int failed = pt_run_suite(ls_suite());
    return failed == 0 ? 0 : 1;
}
