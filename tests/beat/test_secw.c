/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_secw.c - the section writer (beat/secw.h) and raw members
 * (pb_node_add_raw): a section written as text makes the event the DOM mode
 * makes, in every encoding and as a tree; looking into it (read, change,
 * delete) makes it members first; what text mode cannot write exactly
 * fails it, and the DOM mode writes that instead.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "beat/event.h"
#include "beat/secw.h"
#include "publisher/codec.h"
#include "tests/support/ptrun.h"

/* One of every kind, nested, as a protocol fills its section. */
static void fill(struct pb_secw *w, int variant)
{
    pb_secw_static(w, PB_KEY("command"), "get");
    pb_secw_static(w, PB_KEY("absent"), NULL); /* nothing, in both modes */
    pb_secw_strn(w, PB_KEY("raw"), "a b/c:d", 7);
    pb_secw_strn(w, PB_KEY("empty"), "", 0);
    pb_secw_int(w, PB_KEY("neg"), -9223372036854775807LL - 1);
    pb_secw_int(w, PB_KEY("zero"), 0);
    pb_secw_uint(w, PB_KEY("big"), (uint64_t)INT64_MAX);
    pb_secw_bool(w, PB_KEY("t"), true);
    pb_secw_bool(w, PB_KEY("f"), false);
    pb_secw_obj(w, PB_KEY("request"));
    pb_secw_arr(w, PB_KEY("keys"));
    for (int i = 0; i < 3 + variant; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "key:%d", i);
        pb_secw_strn(w, NULL, 0, k, (size_t)n);
    }
    pb_secw_end(w);
    pb_secw_arr(w, PB_KEY("values"));
    pb_secw_obj(w, NULL, 0);
    pb_secw_end(w);
    pb_secw_obj(w, NULL, 0);
    pb_secw_int(w, PB_KEY("n"), 7);
    pb_secw_end(w);
    pb_secw_end(w);
    pb_secw_obj(w, PB_KEY("none"));
    pb_secw_end(w);
    pb_secw_arr(w, PB_KEY("nothing"));
    pb_secw_end(w);
    pb_secw_end(w);
    pb_secw_static(w, PB_KEY("protocol_type"), "text");
}

/* An event with a field before and after the section, which is written as
 * text (text: its finish must succeed) or as members. */
static pb_event *event_with(bool text, int variant)
{
    pb_event *ev = pb_ev_new();
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_static(root, PB_KEY("type"), "memcache");
    struct pb_secw w;
    if (text) {
        pb_secw_text(&w);
        fill(&w, variant);
        ck_assert_int_eq(pb_secw_finish(&w, root, PB_KEY("memcache")), 0);
    } else {
        pb_secw_dom(&w, pb_node_add_obj(root, PB_KEY("memcache")));
        fill(&w, variant);
    }
    pb_node_add_int(root, PB_KEY("after"), 1);
    return ev;
}

#define HAS(b, lit) (memmem((b).p, (b).len, lit, sizeof(lit) - 1) != NULL)

static void same_encodings(pb_event *a, pb_event *b)
{
    for (int k = 0; k < 3; k++) {
        bool pretty = k == 1, html = k == 2;
        struct pb_codec_buf x = {0}, y = {0};
        bool ex = false, ey = false;
        ck_assert_int_eq(pb_ev_encode(a, pretty, html, &x, &ex), 0);
        ck_assert_int_eq(pb_ev_encode(b, pretty, html, &y, &ey), 0);
        ck_assert_msg(x.len == y.len && memcmp(x.p, y.p, x.len) == 0, "%.*s\n%.*s", (int)x.len, x.p,
                      (int)y.len, y.p);
        ck_assert(ex == ey);
        pb_codec_buf_free(&x);
        pb_codec_buf_free(&y);
    }
}

START_TEST(text_and_members_make_the_same_event)
{
    for (int variant = 0; variant < 3; variant++) {
        pb_event *a = event_with(true, variant), *b = event_with(false, variant);
        same_encodings(a, b);
        /* the section is still text after encoding: written as it is */
        struct pb_codec_buf x = {0};
        ck_assert_int_eq(pb_ev_encode(a, false, false, &x, NULL), 0);
        ck_assert(HAS(x, "\"memcache\":{\"command\":\"get\""));
        ck_assert(HAS(x, "\"values\":[{},{\"n\":7}]"));
        pb_codec_buf_free(&x);
        json_t *ta = pb_ev_json(a), *tb = pb_ev_json(b);
        ck_assert(json_equal(ta, tb));
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_object_get(ta, "memcache"), "neg")), INT64_MIN);
        pb_ev_free(a);
        pb_ev_free(b);
    }
}
END_TEST

START_TEST(looked_at_it_becomes_members)
{
    pb_event *a = event_with(true, 0), *b = event_with(false, 0);
    size_t len = 0;
    ck_assert_str_eq(pb_ev_get_str(a, "memcache.command", &len), "get");
    ck_assert_uint_eq(len, 3);
    int64_t v = 0;
    ck_assert(pb_ev_get_int(a, "memcache.request.values", &v) == false);
    ck_assert(pb_ev_get_int(a, "memcache.big", &v));
    ck_assert_int_eq(v, INT64_MAX);
    same_encodings(a, b);
    /* changed and deleted inside, as the members would be */
    pb_event *c = event_with(true, 1), *d = event_with(false, 1);
    ck_assert_int_eq(pb_ev_put_str(c, "memcache.request.extra", "x\"y"), 0);
    ck_assert_int_eq(pb_ev_put_str(d, "memcache.request.extra", "x\"y"), 0);
    ck_assert(pb_ev_del(c, "memcache.raw"));
    ck_assert(pb_ev_del(d, "memcache.raw"));
    same_encodings(c, d);
    /* the whole section deleted */
    pb_event *e = event_with(true, 2), *f = event_with(false, 2);
    ck_assert(pb_ev_del(e, "memcache"));
    ck_assert(pb_ev_del(f, "memcache"));
    same_encodings(e, f);
    pb_ev_free(a);
    pb_ev_free(b);
    pb_ev_free(c);
    pb_ev_free(d);
    pb_ev_free(e);
    pb_ev_free(f);
}
END_TEST

/* fill() plus one thing text mode cannot write */
static int fails_with(int what)
{
    pb_event *ev = pb_ev_new();
    pb_node *root = pb_ev_obj(ev, "");
    struct pb_secw w;
    pb_secw_text(&w);
    fill(&w, 0);
    static char big[PB_SECW_BYTES];
    memset(big, 'b', sizeof big);
    switch (what) {
    case 0:
        pb_secw_strn(&w, PB_KEY("q"), "say \"hi\"", 8); /* escaped */
        break;
    case 1:
        pb_secw_strn(&w, PB_KEY("u"), "caf\xc3\xa9", 5); /* not plain ASCII */
        break;
    case 2:
        pb_secw_uint(&w, PB_KEY("huge"), UINT64_MAX); /* a float in the DOM */
        break;
    case 3:
        pb_secw_strn(&w, PB_KEY("big"), big, sizeof big - 64); /* no room */
        break;
    case 4:
        for (int i = 0; i < PB_SECW_DEPTH + 1; i++) {
            pb_secw_obj(&w, PB_KEY("deep"));
        }
        for (int i = 0; i < PB_SECW_DEPTH + 1; i++) {
            pb_secw_end(&w);
        }
        break;
    default:
        break;
    }
    int rc = pb_secw_finish(&w, root, PB_KEY("memcache"));
    /* nothing added when it failed */
    ck_assert(rc == 0 || pb_ev_get_str(ev, "memcache.command", NULL) == NULL);
    pb_ev_free(ev);
    return rc;
}

START_TEST(what_text_cannot_write_fails_it)
{
    ck_assert_int_eq(fails_with(-1), 0);
    for (int what = 0; what < 5; what++) {
        ck_assert_msg(fails_with(what) == -1, "case %d", what);
    }
    /* the DOM mode writes it: escaped as the codec escapes */
    pb_event *ev = pb_ev_new();
    struct pb_secw w;
    pb_secw_dom(&w, pb_node_add_obj(pb_ev_obj(ev, ""), PB_KEY("s")));
    pb_secw_strn(&w, PB_KEY("q"), "say \"hi\"", 8);
    pb_secw_uint(&w, PB_KEY("huge"), UINT64_MAX);
    struct pb_codec_buf x = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &x, NULL), 0);
    ck_assert(HAS(x, "\"q\":\"say \\\"hi\\\"\""));
    ck_assert(HAS(x, "\"huge\":1.8446744073709552e+19"));
    pb_codec_buf_free(&x);
    pb_ev_free(ev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secw");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, text_and_members_make_the_same_event);
    tcase_add_test(tc, looked_at_it_becomes_members);
    tcase_add_test(tc, what_text_cannot_write_fails_it);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? 0 : 1;
}
