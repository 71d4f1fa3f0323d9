/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_monitoring.c - the stats endpoint over real HTTP on
 * 127.0.0.1, and the counters-versus-gauges rule of the metrics log line.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "beat/cfg.h"
#include "beat/monitoring.h"
#include "tests/support/ptrun.h"

static const struct pb_beat_info info = {
    .beat = "packetbeat",
    .version = "8.17.2",
    .hostname = "testhost",
    .name = "testname",
    .ephemeral_id = "11111111-2222-3333-4444-555555555555",
    .agent_id = "66666666-7777-8888-9999-000000000000",
};

static void fill(void *ctx, json_t *st)
{
    int *calls = ctx;
    (*calls)++;
    json_object_set_new(st, "libbeat",
                        json_pack("{s:{s:{s:i}}}", "pipeline", "events", "published", 42));
}

static int port_for_test(void)
{
    return 20000 + (int)(getpid() % 20000);
}

/* GET path; returns the whole response (malloc'd). */
static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    ck_assert_int_eq(send(fd, req, (size_t)n, 0), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = recv(fd, buf + len, cap - 1 - len, 0)) > 0) {
        len += (size_t)got;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static json_t *body_json(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    ck_assert_ptr_nonnull(b);
    json_error_t e;
    json_t *j = json_loads(b + 4, 0, &e);
    ck_assert_msg(j != NULL, "bad json: %s", e.text);
    return j;
}

START_TEST(endpoint_serves_info_and_stats)
{
    int port = port_for_test();
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: %d\n"
             "logging.metrics.enabled: false\n",
             port);
    char err[256];
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "t.yml", err, sizeof err);
    ck_assert_ptr_nonnull(root);
    int calls = 0;
    struct pb_monitoring *m = pb_monitoring_start(root, &info, fill, &calls, err, sizeof err);
    ck_assert_msg(m != NULL, "start: %s", err);

    char *r = http_get(port, "/");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200", 12) == 0, "%s", r);
    json_t *j = body_json(r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "beat")), "packetbeat");
    ck_assert_str_eq(json_string_value(json_object_get(j, "version")), "8.17.2");
    ck_assert_str_eq(json_string_value(json_object_get(j, "uuid")), info.agent_id);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "testname");
    json_decref(j);
    free(r);

    r = http_get(port, "/stats?pretty");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200", 12) == 0, "%s", r);
    j = body_json(r);
    json_t *pub = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "libbeat"), "pipeline"), "events"),
        "published");
    ck_assert_int_eq(json_integer_value(pub), 42);
    json_t *rss = json_object_get(json_object_get(json_object_get(j, "beat"), "memstats"), "rss");
    ck_assert_int_gt(json_integer_value(rss), 0);
    ck_assert_int_ge(calls, 1);
    json_decref(j);
    free(r);

    r = http_get(port, "/nothing");
    ck_assert_msg(strncmp(r, "HTTP/1.1 404", 12) == 0, "%s", r);
    free(r);

    pb_monitoring_stop(m);
    pb_cfg_free(root);
}
END_TEST

START_TEST(disabled_starts_nothing)
{
    const char *yaml = "logging.metrics.enabled: false\n";
    char err[256] = "x";
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "t.yml", err, sizeof err);
    ck_assert_ptr_null(pb_monitoring_start(root, &info, fill, NULL, err, sizeof err));
    ck_assert_str_eq(err, "");
    pb_cfg_free(root);
}
END_TEST

START_TEST(port_in_use_is_an_error)
{
    int port = port_for_test() + 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    char yaml[256];
    snprintf(yaml, sizeof yaml, "http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: %d\n", port);
    char err[256] = "";
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "t.yml", err, sizeof err);
    ck_assert_ptr_null(pb_monitoring_start(root, &info, fill, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "monitoring endpoint") != NULL, "%s", err);
    close(fd);
    pb_cfg_free(root);
}
END_TEST

START_TEST(delta_counts_counters_and_keeps_gauges)
{
    json_t *prev = json_pack("{s:{s:{s:i,s:i}, s:s}, s:{s:{s:i}}}", "output", "events", "acked",
                             10, "active", 5, "type", "file", "beat", "memstats", "rss", 1000);
    json_t *cur = json_pack("{s:{s:{s:i,s:i}, s:s}, s:{s:{s:i}}}", "output", "events", "acked",
                            15, "active", 5, "type", "file", "beat", "memstats", "rss", 1000);
    json_t *d = pb_monitoring_delta(prev, cur);
    json_t *ev = json_object_get(json_object_get(d, "output"), "events");
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "acked")), 5); /* counter: increase */
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "active")), 5); /* gauge: value */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "output"), "type")),
                     "file");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_object_get(d, "beat"), "memstats"),
                                           "rss")),
        1000);
    json_decref(d);

    /* nothing moved: counters vanish, and so do their string neighbours */
    json_t *same = pb_monitoring_delta(cur, cur);
    json_t *o = json_object_get(same, "output");
    ck_assert_ptr_null(json_object_get(json_object_get(o, "events"), "acked"));
    json_decref(same);
    json_decref(prev);
    json_decref(cur);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitoring");
    TCase *tc = tcase_create("monitoring");
    tcase_add_test(tc, endpoint_serves_info_and_stats);
    tcase_add_test(tc, disabled_starts_nothing);
    tcase_add_test(tc, port_in_use_is_an_error);
    tcase_add_test(tc, delta_counts_counters_and_keeps_gauges);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
