/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_redis_output.c - the Redis output's RESP writer and
 * reply reader: commands byte for byte, every reply type, replies split at
 * every offset, malformed and oversized replies; and key selection.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"
#include "publisher/outputs/redis/resp.h"
#include "tests/support/ptrun.h"

START_TEST(resp_command_bytes)
{
    struct pb_codec_buf b = {0};
    const char *argv[] = {"RPUSH", "packetbeat", "{\"a\":1}"};
    ck_assert_int_eq(pb_resp_cmd(&b, 3, argv), 0);
    static const char want[] = "*3\r\n$5\r\nRPUSH\r\n$10\r\npacketbeat\r\n$7\r\n{\"a\":1}\r\n";
    ck_assert_uint_eq(b.len, sizeof want - 1);
    ck_assert_int_eq(memcmp(b.p, want, b.len), 0);
    /* binary-safe argument with CR LF and an empty one */
    b.len = 0;
    ck_assert_int_eq(pb_resp_begin(&b, 2), 0);
    ck_assert_int_eq(pb_resp_arg(&b, "a\r\nb", 4), 0);
    ck_assert_int_eq(pb_resp_arg(&b, "", 0), 0);
    static const char want2[] = "*2\r\n$4\r\na\r\nb\r\n$0\r\n\r\n";
    ck_assert_uint_eq(b.len, sizeof want2 - 1);
    ck_assert_int_eq(memcmp(b.p, want2, b.len), 0);
    pb_codec_buf_free(&b);
}
END_TEST

static long parse(const char *s, struct pb_resp_reply *r)
{
    return pb_resp_parse((const uint8_t *)s, strlen(s), r);
}

START_TEST(resp_reply_types)
{
    struct pb_resp_reply r;
    ck_assert_int_eq(parse("+OK\r\n", &r), 5);
    ck_assert_int_eq(r.type, PB_RESP_SIMPLE);
    ck_assert_uint_eq(r.len, 2);
    ck_assert_int_eq(memcmp(r.str, "OK", 2), 0);

    ck_assert_int_eq(parse("-WRONGTYPE Operation against a key\r\n+OK\r\n", &r), 36);
    ck_assert_int_eq(r.type, PB_RESP_ERROR);
    ck_assert_int_eq(strncmp(r.str, "WRONGTYPE", 9), 0);

    ck_assert_int_eq(parse(":1234\r\n", &r), 7);
    ck_assert_int_eq(r.type, PB_RESP_INT);
    ck_assert_int_eq(r.num, 1234);
    ck_assert_int_eq(parse(":-5\r\n", &r), 5);
    ck_assert_int_eq(r.num, -5);

    ck_assert_int_eq(parse("$5\r\nhe\r\no\r\n", &r), 11); /* binary-safe payload */
    ck_assert_int_eq(r.type, PB_RESP_BULK);
    ck_assert_uint_eq(r.len, 5);
    ck_assert_int_eq(memcmp(r.str, "he\r\no", 5), 0);

    ck_assert_int_eq(parse("$-1\r\n", &r), 5);
    ck_assert_int_eq(r.type, PB_RESP_NIL);
    ck_assert_int_eq(parse("*-1\r\n", &r), 5);
    ck_assert_int_eq(r.type, PB_RESP_NIL);

    /* SUBSCRIBE's confirmation: an array, skipped whole */
    const char *arr = "*3\r\n$9\r\nsubscribe\r\n$6\r\npbchan\r\n:1\r\n";
    ck_assert_int_eq(parse(arr, &r), (long)strlen(arr));
    ck_assert_int_eq(r.type, PB_RESP_ARRAY);
    ck_assert_int_eq(r.num, 3);
}
END_TEST

START_TEST(resp_split_anywhere)
{
    static const char *const replies[] = {
        "+PONG\r\n",
        "-ERR invalid password\r\n",
        ":300\r\n",
        "$11\r\nredis_7.0.1\r\n",
        "*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
    };
    for (size_t k = 0; k < sizeof replies / sizeof replies[0]; k++) {
        const char *s = replies[k];
        size_t len = strlen(s);
        for (size_t cut = 0; cut < len; cut++) {
            struct pb_resp_reply r;
            /* a prefix is never a reply: more bytes are needed */
            ck_assert_int_eq(pb_resp_parse((const uint8_t *)s, cut, &r), 0);
        }
        struct pb_resp_reply r;
        ck_assert_int_eq(pb_resp_parse((const uint8_t *)s, len, &r), (long)len);
    }
}
END_TEST

START_TEST(resp_malformed)
{
    struct pb_resp_reply r;
    ck_assert_int_lt(parse("?what\r\n", &r), 0);         /* unknown type */
    ck_assert_int_lt(parse(":12a\r\n", &r), 0);          /* bad integer */
    ck_assert_int_lt(parse("$-2\r\n", &r), 0);           /* bad length */
    ck_assert_int_lt(parse("$3\r\nabcXY", &r), 0);       /* payload not followed by CRLF */
    ck_assert_int_lt(parse("$999999999999\r\n", &r), 0); /* over the bulk cap */
    ck_assert_int_lt(parse("*99999999\r\n", &r), 0);     /* over the element cap */
    ck_assert_int_lt(parse(":99999999999999999999\r\n", &r), 0);
    /* nesting beyond the depth cap */
    char deep[64];
    size_t dl = 0;
    for (int i = 0; i < 10; i++) {
        dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "*1\r\n");
    }
    snprintf(deep + dl, sizeof deep - dl, ":1\r\n");
    ck_assert_int_lt(parse(deep, &r), 0);
    /* a line that never ends within the cap is an error, not a wait */
    size_t n = PB_RESP_MAX_LINE + 16;
    char *longline = malloc(n + 1);
    ck_assert_ptr_nonnull(longline);
    longline[0] = '+';
    memset(longline + 1, 'x', n - 1);
    longline[n] = '\0';
    ck_assert_int_lt(pb_resp_parse((const uint8_t *)longline, n, &r), 0);
    free(longline);
}
END_TEST

static struct pb_cfg *yaml(const char *y)
{
    char err[256];
    struct pb_cfg *c = pb_cfg_parse(y, strlen(y), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

START_TEST(redis_keys_rules)
{
    struct pb_cfg *c = yaml("output.redis:\n"
                            "  key: 'pb-%{[type]}'\n"
                            "  keys:\n"
                            "    - key: 'info_list'\n"
                            "      when.equals:\n"
                            "        status: OK\n"
                            "    - key: '%{[dns.question.name]}'\n"
                            "      mappings:\n"
                            "        example: ex\n"
                            "      default: other\n");
    char err[256] = "";
    const struct pb_cfg *node = pb_cfg_get(c, "output.redis");
    struct pb_outsel *s = pb_outsel_new(node, "key", "keys", false, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert(!pb_outsel_is_const(s));
    struct pb_codec_buf out = {0};
    json_t *ev = json_pack("{s:s, s:s, s:{s:{s:s}}}", "type", "dns", "status", "OK", "dns",
                           "question", "name", "example");
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "info_list"); /* first rule, condition true */
    json_object_set_new(ev, "status", json_string("Error"));
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "ex"); /* mapped */
    json_object_set_new(json_object_get(json_object_get(ev, "dns"), "question"), "name",
                        json_string("elastic.co"));
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "other"); /* mapping default */
    json_object_del(ev, "dns");
    ck_assert_int_eq(pb_outsel_select(s, ev, &out), 0);
    ck_assert_str_eq(out.p, "other"); /* field missing: the rule's default */
    json_decref(ev);
    pb_codec_buf_free(&out);
    pb_outsel_free(s);
    pb_cfg_free(c);
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *s = suite_create("redis_output");
    TCase *tc = tcase_create("resp");
    tcase_add_test(tc, resp_command_bytes);
    tcase_add_test(tc, resp_reply_types);
    tcase_add_test(tc, resp_split_anywhere);
    tcase_add_test(tc, resp_malformed);
    tcase_add_test(tc, redis_keys_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(redis_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
