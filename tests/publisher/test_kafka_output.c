/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_kafka_output.c - the Kafka output's pure parts:
 * format strings and topic selection (topic/topics rules with when,
 * mappings, default), the `version` table and what it implies, libbeat's
 * partition hashing, the ApiVersions request/response; and config errors
 * in libbeat's words.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "beat/err.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"
#include "publisher/output.h"
#include "publisher/outputs/kafka/kafka_util.h"
#include "publisher/pipeline.h"
#include "tests/support/ptrun.h"

static struct pb_cfg *yaml(const char *y)
{
    char err[256];
    struct pb_cfg *c = pb_cfg_parse(y, strlen(y), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static json_t *event(void)
{
    return json_pack("{s:s, s:{s:s}, s:{s:s}, s:s, s:i, s:b, s:f}", "@timestamp",
                     "2024-03-05T07:08:09.123Z", "fields", "log_topic", "dns-events", "agent",
                     "version", "8.17.2", "message", "an ERR here", "port", 53, "ok", 1, "ratio",
                     0.5);
}

static const char *run(const char *fmt, const json_t *ev, struct pb_codec_buf *b)
{
    char err[128] = "";
    struct pb_fmtstr *f = pb_fmtstr_compile(fmt, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    b->len = 0;
    int rc = pb_fmtstr_run(f, ev, b);
    pb_fmtstr_free(f);
    if (rc != 0) {
        return NULL;
    }
    ck_assert_int_eq(pb_codec_buf_append(b, "", 1), 0);
    return b->p;
}

START_TEST(fmtstr_fields)
{
    json_t *ev = event();
    struct pb_codec_buf b = {0};
    ck_assert_str_eq(run("%{[fields.log_topic]}", ev, &b), "dns-events");
    ck_assert_str_eq(run("logs-%{[agent][version]}", ev, &b), "logs-8.17.2");
    ck_assert_str_eq(run("p%{[port]}-%{[ok]}-%{[ratio]}", ev, &b), "p53-true-0.5");
    ck_assert_str_eq(run("%{[missing]:fallback}", ev, &b), "fallback");
    ck_assert_ptr_null(run("%{[missing]}", ev, &b)); /* no default: fails */
    ck_assert_ptr_null(run("%{[fields]}", ev, &b));  /* an object is not a string */
    ck_assert_str_eq(run("pb-%{+yyyy.MM.dd}", ev, &b), "pb-2024.03.05");
    ck_assert_str_eq(run("%{+HH:mm:ss.SSS}", ev, &b), "07:08:09.123");
    ck_assert_str_eq(run("plain", NULL, &b), "plain");
    char err[128];
    ck_assert_ptr_null(pb_fmtstr_compile("%{[a]", err, sizeof err));
    ck_assert_ptr_null(pb_fmtstr_compile("%{[]}", err, sizeof err));
    ck_assert_ptr_null(pb_fmtstr_compile("%{field}", err, sizeof err));
    json_decref(ev);
    pb_codec_buf_free(&b);
}
END_TEST

START_TEST(topic_selection)
{
    struct pb_cfg *c = yaml("output.kafka:\n"
                            "  topic: 'logs-%{[agent.version]}'\n"
                            "  topics:\n"
                            "    - topic: 'critical-%{[agent.version]}'\n"
                            "      when.contains:\n"
                            "        message: CRITICAL\n"
                            "    - topic: 'error-%{[agent.version]}'\n"
                            "      when.contains:\n"
                            "        message: ERR\n"
                            "    - topic: '%{[fields.nope]}'\n"
                            "      default: never-because-missing-fields-give-default\n"
                            "      when.equals:\n"
                            "        port: 99\n");
    char err[256] = "";
    struct pb_outsel *s =
        pb_outsel_new(pb_cfg_get(c, "output.kafka"), "topic", "topics", true, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct pb_codec_buf out = {0};
    json_t *ev = event();
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "error-8.17.2");
    json_object_set_new(ev, "message", json_string("CRITICAL and ERR"));
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "critical-8.17.2"); /* the first matching rule wins */
    json_object_set_new(ev, "message", json_string("fine"));
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "logs-8.17.2"); /* no rule: `topic` */
    json_object_set_new(ev, "port", json_integer(99));
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "never-because-missing-fields-give-default");
    json_decref(ev);
    pb_outsel_free(s);

    /* a topic whose field is missing selects nothing (the event is dropped) */
    struct pb_cfg *c2 = yaml("output.kafka:\n  topic: '%{[fields.log_topic]}'\n");
    s = pb_outsel_new(pb_cfg_get(c2, "output.kafka"), "topic", "topics", true, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    ev = json_pack("{s:s}", "type", "dns");
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_uint_eq(out.len, 0);
    json_decref(ev);
    pb_outsel_free(s);

    /* neither topic nor topics */
    struct pb_cfg *c3 = yaml("output.kafka:\n  hosts: [a]\n");
    s = pb_outsel_new(pb_cfg_get(c3, "output.kafka"), "topic", "topics", true, err, sizeof err);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err, "missing required 'topic' or 'topics' in output.kafka");
    pb_codec_buf_free(&out);
    pb_cfg_free(c);
    pb_cfg_free(c2);
    pb_cfg_free(c3);
}
END_TEST

START_TEST(versions)
{
    struct pb_kafka_version v;
    ck_assert_int_eq(pb_kafka_version_parse("2.1.0", &v), 0);
    ck_assert_int_eq(pb_kafka_version_produce(&v), 7);
    ck_assert_int_eq(pb_kafka_version_parse("0.10.2.1", &v), 0);
    ck_assert_int_eq(v.v[1], 10);
    ck_assert_int_eq(v.v[3], 1);
    ck_assert_int_eq(pb_kafka_version_produce(&v), 2);
    ck_assert_int_eq(pb_kafka_version_cmp(&v, 0, 10, 0), 1);
    ck_assert_int_eq(pb_kafka_version_cmp(&v, 0, 11, 0), -1);
    ck_assert_int_eq(pb_kafka_version_parse("0.8.2.0", &v), 0);
    ck_assert_int_eq(pb_kafka_version_produce(&v), 0);
    ck_assert_int_eq(pb_kafka_version_parse("1.1.1", &v), 0);
    ck_assert_int_eq(pb_kafka_version_produce(&v), 5);
    ck_assert_int_eq(pb_kafka_version_parse("3.6.0", &v), 0);
    ck_assert_int_ne(pb_kafka_version_parse("4.3.1", &v), 0);
    ck_assert_int_ne(pb_kafka_version_parse("2.1", &v), 0);
    ck_assert_int_ne(pb_kafka_version_parse("0.10", &v), 0);
    ck_assert_str_eq(pb_kafka_version_for_produce(2), "0.10.0.0");
}
END_TEST

START_TEST(partition_hash)
{
    /* Go: fnv.New32a() of "" and "a" */
    ck_assert_uint_eq(pb_kafka_fnv1a(PB_FNV32_INIT, "", 0), 0x811c9dc5u);
    ck_assert_uint_eq(pb_kafka_fnv1a(PB_FNV32_INIT, "a", 1), 0xe40c292cu);
    ck_assert_uint_eq(pb_kafka_fnv1a(PB_FNV32_INIT, "foobar", 6), 0xbf9cf968u);
    /* int32(0xbf9cf968) = -1080231576 -> 1080231576 % 3 = 0 */
    ck_assert_int_eq(pb_kafka_hash2partition(0xbf9cf968u, 3), 1080231576 % 3);
    ck_assert_int_eq(pb_kafka_hash2partition(7, 3), 1);
    ck_assert_int_eq(pb_kafka_hash2partition(0x80000000u, 3), (int32_t)(2147483648LL % 3));
    for (uint32_t h = 0; h < 1000; h += 7) {
        int32_t p = pb_kafka_hash2partition(h * 2654435761u, 5);
        ck_assert(p >= 0 && p < 5);
    }
}
END_TEST

START_TEST(apiversions_wire)
{
    uint8_t req[64];
    size_t n = pb_kafka_apiversions_req(req, sizeof req, 7, "beats");
    /* size=15 | key 18 | v0 | corr 7 | "beats" */
    static const uint8_t want[] = {0, 0, 0, 15, 0,   18,  0,   0,   0,  0,
                                   0, 7, 0, 5,  'b', 'e', 'a', 't', 's'};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_int_eq(memcmp(req, want, n), 0);
    ck_assert_uint_eq(pb_kafka_apiversions_req(req, 10, 7, "beats"), 0);

    /* corr 7, no error, 2 apis: Produce 0..7, Metadata 0..2 */
    static const uint8_t resp[] = {0, 0, 0, 7, 0, 0, 0, 0, 0, 2, 0,
                                   0, 0, 0, 0, 7, 0, 3, 0, 0, 0, 2};
    struct pb_kafka_api_range prod, meta;
    ck_assert_int_eq(pb_kafka_apiversions_parse(resp, sizeof resp, 7, &prod, &meta), 0);
    ck_assert(prod.present && prod.min == 0 && prod.max == 7);
    ck_assert(meta.present && meta.max == 2);
    ck_assert_int_lt(pb_kafka_apiversions_parse(resp, sizeof resp, 8, &prod, &meta), 0);
    for (size_t cut = 0; cut < sizeof resp; cut++) {
        ck_assert_int_lt(pb_kafka_apiversions_parse(resp, cut, 7, &prod, &meta), 0);
    }
    /* a count larger than the bytes left */
    static const uint8_t bad[] = {0, 0, 0, 7, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
    ck_assert_int_lt(pb_kafka_apiversions_parse(bad, sizeof bad, 7, &prod, &meta), 0);
    /* the broker's error code */
    static const uint8_t err35[] = {0, 0, 0, 7, 0, 35, 0, 0, 0, 0};
    ck_assert_int_eq(pb_kafka_apiversions_parse(err35, sizeof err35, 7, &prod, &meta), 35);
}
END_TEST

static void expect_error(const char *y, const char *want)
{
    char err[512] = "";
    struct pb_cfg *c = yaml(y);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_ptr_null(pl);
    ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
    pb_cfg_free(c);
}

START_TEST(config_errors)
{
    expect_error("output.kafka:\n  topic: t\n",
                 "missing required field accessing 'output.kafka.hosts'");
    expect_error("output.kafka:\n  hosts: [a:1]\n",
                 "either 'topic' or 'topics' must be defined accessing 'output.kafka'");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  version: '4.3.1'\n",
                 "unknown/unsupported kafka version '4.3.1' accessing 'output.kafka.version'");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  compression: brotli\n",
                 "compression mode 'brotli' unknown");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  compression_level: 12\n",
                 "compression_level must be between 0 and 9");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  username: u\n",
                 "password must be set when username is configured");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  partition.magic: {}\n",
                 "unknown kafka partition mode magic");
    expect_error("output.kafka:\n  hosts: [a:1]\n  topic: t\n  sasl.mechanism: GSSAPI2\n"
                 "  username: u\n  password: p\n",
                 "not valid mechanism 'GSSAPI2'");
    expect_error("output.redis:\n  hosts: [a]\n  datatype: set\n",
                 "redis data type set not supported");
    expect_error("output.redis:\n  hosts: ['http://a']\n", "invalid redis url scheme http");
}
END_TEST

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("kafka_output");
    TCase *tc = tcase_create("kafka");
    tcase_add_test(tc, fmtstr_fields);
    tcase_add_test(tc, topic_selection);
    tcase_add_test(tc, versions);
    tcase_add_test(tc, partition_hash);
    tcase_add_test(tc, apiversions_wire);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(kafka_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
