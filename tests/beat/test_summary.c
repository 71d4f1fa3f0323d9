/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_summary.c - service statistics: SQL and URL fingerprints,
 * the bounded latency histogram (nearest-rank percentiles), grouping of
 * events, the group cap with its "(other)" overflow, and summary events.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/event.h"
#include "beat/summary/fingerprint.h"
#include "beat/summary/hist.h"
#include "beat/summary/summary.h"
#include "tests/support/ptrun.h"

static const char *sql(const char *q, bool mysql)
{
    static char out[256];
    pb_fp_sql(q, strlen(q), mysql, out, sizeof out);
    return out;
}

static const char *url(const char *path, const char *query)
{
    static char out[256];
    pb_fp_url(path, strlen(path), query, query ? strlen(query) : 0, out, sizeof out);
    return out;
}

/* The summary reads events in their arena, as the frame hands them over. */
static void observe(struct pb_summary *s, const json_t *ev)
{
    pb_event *e = pb_ev_wrap(json_deep_copy(ev));
    ck_assert_int_eq(pb_ev_to_arena(e), 0);
    pb_summary_observe(s, e);
    pb_ev_free(e);
}

static void key_of(const json_t *ev, char *out, size_t out_len)
{
    pb_event *e = pb_ev_wrap(json_deep_copy(ev));
    ck_assert_int_eq(pb_ev_to_arena(e), 0);
    pb_summary_key(e, out, out_len);
    pb_ev_free(e);
}

START_TEST(fp_sql_literals)
{
    ck_assert_str_eq(sql("SELECT * FROM t WHERE id=1", false), "SELECT * FROM t WHERE id=?");
    ck_assert_str_eq(sql("SELECT * FROM t WHERE id=2", false), "SELECT * FROM t WHERE id=?");
    ck_assert_str_eq(sql("select  a,\n\tb from t where name = 'o''brien' and x > 3.5e2", false),
                     "select a, b from t where name = ? and x > ?");
    /* identifiers with digits and quoted identifiers stay */
    ck_assert_str_eq(sql("SELECT c1 FROM t2 WHERE \"col9\" = 0x1F", false),
                     "SELECT c1 FROM t2 WHERE \"col9\" = ?");
    /* MySQL: double quotes are strings, backquotes identifiers, # comments */
    ck_assert_str_eq(sql("update `t1` set c=\"x y\" # note\n where id = -4", true),
                     "update `t1` set c=? where id = -?");
    ck_assert_str_eq(sql("SELECT 1 /* hint */ -- tail", false), "SELECT ?");
    ck_assert_str_eq(sql("  ", false), "");
}
END_TEST

START_TEST(fp_sql_lists)
{
    ck_assert_str_eq(sql("SELECT * FROM t WHERE id IN (1, 2, 3)", false),
                     "SELECT * FROM t WHERE id IN (?+)");
    ck_assert_str_eq(sql("SELECT * FROM t WHERE id IN (7,8)", false),
                     "SELECT * FROM t WHERE id IN (?+)");
    ck_assert_str_eq(sql("insert into test(a, b, c) values('mea5', 'meb5', 'mec5')", false),
                     "insert into test(a, b, c) values(?+)");
    ck_assert_str_eq(sql("SELECT * FROM t WHERE id IN (9)", false),
                     "SELECT * FROM t WHERE id IN (?)");
}
END_TEST

START_TEST(fp_sql_truncates_and_terminates)
{
    char out[8];
    size_t n = pb_fp_sql("SELECT * FROM longtable", 23, false, out, sizeof out);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(out, "SELECT ");
    /* unterminated string and comment end at the input's end */
    ck_assert_str_eq(sql("SELECT 'abc", false), "SELECT ?");
    ck_assert_str_eq(sql("SELECT /* abc", false), "SELECT");
}
END_TEST

START_TEST(fp_url_groups)
{
    ck_assert_str_eq(url("/users/42/orders", "page=2&sort=asc"), "/users/?/orders?page=?&sort=?");
    ck_assert_str_eq(url("/users/43/orders", "page=9&sort=desc"), "/users/?/orders?page=?&sort=?");
    ck_assert_str_eq(url("/item", "id=1"), url("/item", "id=2"));
    ck_assert_str_eq(url("/o/123e4567-e89b-12d3-a456-426614174000", NULL), "/o/?");
    ck_assert_str_eq(url("/blob/5f2b9c0a1d3e4f5a6b7c", NULL), "/blob/?");
    /* words, versions and short hex-looking words stay */
    ck_assert_str_eq(url("/api/v2/cafe/deadbeef", NULL), "/api/v2/cafe/deadbeef");
    ck_assert_str_eq(url("/", "flag&x=&&y=1"), "/?flag&x=?&y=?");
    ck_assert_str_eq(url("", NULL), "");
}
END_TEST

START_TEST(hist_exact_percentiles)
{
    struct pb_hist h;
    pb_hist_init(&h);
    ck_assert_uint_eq(pb_hist_pct(&h, 50), 0);
    /* 1..10 in scrambled order; nearest rank: p50 -> 5th, p90 -> 9th, p99 -> 10th */
    static const uint64_t v[] = {7, 3, 10, 1, 9, 2, 8, 5, 4, 6};
    for (size_t i = 0; i < 10; i++) {
        pb_hist_add(&h, v[i] * 1000);
    }
    ck_assert_uint_eq(pb_hist_pct(&h, 50), 5000);
    ck_assert_uint_eq(pb_hist_pct(&h, 90), 9000);
    ck_assert_uint_eq(pb_hist_pct(&h, 99), 10000);
    ck_assert_uint_eq(pb_hist_pct(&h, 100), 10000);
    ck_assert_uint_eq(h.min, 1000);
    ck_assert_ptr_null(h.buckets);
    pb_hist_free(&h);
}
END_TEST

START_TEST(hist_buckets_bounded_error)
{
    /* index/range round trip: every value lies in its bucket, width <= 1/32 */
    static const uint64_t probe[] = {0, 1, 31, 32, 33, 63, 64, 1000, 123456789, UINT64_MAX};
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        size_t idx = pb_hist_index(probe[i]);
        ck_assert_uint_lt(idx, PB_HIST_BUCKETS);
        uint64_t lo, hi;
        pb_hist_range(idx, &lo, &hi);
        ck_assert(lo <= probe[i] && probe[i] <= hi);
        ck_assert((hi - lo) <= lo / 32 + 1);
    }
    struct pb_hist h;
    pb_hist_init(&h);
    for (uint64_t i = 1; i <= 10000; i++) {
        pb_hist_add(&h, i * 1000); /* 1us .. 10ms */
    }
    ck_assert_ptr_nonnull(h.buckets);
    ck_assert_uint_eq(h.n, 10000);
    uint64_t p50 = pb_hist_pct(&h, 50), p90 = pb_hist_pct(&h, 90), p99 = pb_hist_pct(&h, 99);
    ck_assert(p50 > 5000000 * 0.96 && p50 < 5000000 * 1.04);
    ck_assert(p90 > 9000000 * 0.96 && p90 < 9000000 * 1.04);
    ck_assert(p99 > 9900000 * 0.96 && p99 <= 10000000);
    ck_assert_uint_eq(pb_hist_pct(&h, 100), 10000000);
    pb_hist_free(&h);
}
END_TEST

static json_t *http_ev(const char *method, const char *path, const char *query, int64_t dur,
                       const char *status)
{
    json_t *ev = json_object();
    pb_json_put_str(ev, "type", "http");
    pb_json_put_str(ev, "method", method);
    pb_json_put_str(ev, "url.path", path);
    if (query != NULL) {
        pb_json_put_str(ev, "url.query", query);
    }
    pb_json_put_str(ev, "status", status);
    pb_json_put_int(ev, "event.duration", dur);
    pb_json_put_int(ev, "source.bytes", 100);
    pb_json_put_int(ev, "destination.bytes", 1000);
    return ev;
}

struct rows {
    struct pb_summary_row r[16];
    char keys[16][64];
    size_t n;
};

static void collect(void *ctx, const struct pb_summary_row *row)
{
    struct rows *rs = ctx;
    if (rs->n < 16) {
        rs->r[rs->n] = *row;
        snprintf(rs->keys[rs->n], sizeof rs->keys[0], "%s|%s", row->proto, row->key);
        rs->n++;
    }
}

START_TEST(summary_groups_events)
{
    struct pb_summary *s = pb_summary_new(10);
    json_t *evs[] = {
        http_ev("GET", "/item", "id=1", 1000000, "OK"),
        http_ev("GET", "/item", "id=2", 3000000, "OK"),
        http_ev("GET", "/item", "id=3", 2000000, "Error"),
        http_ev("POST", "/login", NULL, 5000000, "OK"),
    };
    for (size_t i = 0; i < 4; i++) {
        observe(s, evs[i]);
        json_decref(evs[i]);
    }
    json_t *flow = json_pack("{s:s}", "type", "flow");
    observe(s, flow); /* flows are not transactions */
    json_decref(flow);
    json_t *sq = json_pack("{s:s, s:s, s:s, s:i}", "type", "mysql", "query",
                           "SELECT * FROM t WHERE id = 5", "status", "OK", "event.duration", 7);
    observe(s, sq);
    json_decref(sq);

    struct rows rs = {0};
    pb_summary_foreach(s, collect, &rs);
    ck_assert_uint_eq(rs.n, 5);
    ck_assert_str_eq(rs.keys[0], "http|(all)");
    ck_assert(rs.r[0].all);
    ck_assert_uint_eq(rs.r[0].count, 4);
    ck_assert_uint_eq(rs.r[0].errors, 1);
    ck_assert_uint_eq(rs.r[0].req_bytes, 400);
    ck_assert_uint_eq(rs.r[0].max, 5000000);
    ck_assert_str_eq(rs.keys[1], "http|GET /item?id=?");
    ck_assert_uint_eq(rs.r[1].count, 3);
    ck_assert_uint_eq(rs.r[1].errors, 1);
    ck_assert_uint_eq(rs.r[1].resp_bytes, 3000);
    ck_assert_uint_eq(rs.r[1].p50, 2000000);
    ck_assert_uint_eq(rs.r[1].p90, 3000000);
    ck_assert_uint_eq(rs.r[1].max, 3000000);
    ck_assert_str_eq(rs.keys[2], "http|POST /login");
    ck_assert_str_eq(rs.keys[3], "mysql|(all)");
    ck_assert_str_eq(rs.keys[4], "mysql|SELECT * FROM t WHERE id = ?");
    ck_assert_uint_eq(rs.r[4].p99, 7);

    json_t *arr = pb_summary_events(s, 1000000000, 3000000000);
    ck_assert_uint_eq(json_array_size(arr), 5);
    json_t *e = json_array_get(arr, 1);
    ck_assert_str_eq(json_string_value(pb_json_get(e, "type")), "summary");
    ck_assert_str_eq(json_string_value(pb_json_get(e, "summary.group")), "GET /item?id=?");
    ck_assert_str_eq(json_string_value(pb_json_get(e, "summary.scope")), "group");
    ck_assert_int_eq(json_integer_value(pb_json_get(e, "summary.count")), 3);
    ck_assert(json_real_value(pb_json_get(e, "summary.error_rate")) > 0.33 &&
              json_real_value(pb_json_get(e, "summary.error_rate")) < 0.34);
    ck_assert_int_eq(json_integer_value(pb_json_get(e, "summary.duration.p50")), 2000000);
    ck_assert_int_eq(json_integer_value(pb_json_get(e, "event.duration")), 2000000000);
    json_decref(arr);

    pb_summary_reset(s);
    uint64_t n, ov;
    size_t g;
    pb_summary_counts(s, &n, &g, &ov);
    ck_assert_uint_eq(n + g + ov, 0);
    pb_summary_free(s);
}
END_TEST

START_TEST(summary_cap_overflows_into_other)
{
    struct pb_summary *s = pb_summary_new(3);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "CMD%d", i);
        pb_summary_add(s, "redis", key, false, 1, 2, 10);
    }
    pb_summary_add(s, "redis", "CMD0", false, 1, 2, 10); /* existing group still counts */
    uint64_t n, ov;
    size_t g;
    pb_summary_counts(s, &n, &g, &ov);
    ck_assert_uint_eq(n, 11);
    ck_assert_uint_eq(g, 3);
    ck_assert_uint_eq(ov, 7);
    struct rows rs = {0};
    pb_summary_foreach(s, collect, &rs);
    ck_assert_uint_eq(rs.n, 5); /* (all), 3 groups, (other) */
    ck_assert_str_eq(rs.keys[1], "redis|CMD0");
    ck_assert_uint_eq(rs.r[1].count, 2);
    ck_assert_str_eq(rs.keys[4], "redis|(other)");
    ck_assert(rs.r[4].other);
    ck_assert_uint_eq(rs.r[4].count, 7);
    ck_assert_uint_eq(rs.r[0].count, 11);
    pb_summary_free(s);
}
END_TEST

START_TEST(summary_keys_per_protocol)
{
    char k[PB_SUMMARY_KEY_MAX + 1];
    json_t *r = json_pack("{s:s, s:s}", "type", "redis", "method", "lindex");
    key_of(r, k, sizeof k);
    ck_assert_str_eq(k, "LINDEX");
    json_decref(r);
    json_t *d = json_pack("{s:s, s:s, s:{s:{s:s}}}", "type", "dns", "method", "QUERY", "dns",
                          "question", "type", "AAAA");
    key_of(d, k, sizeof k);
    ck_assert_str_eq(k, "QUERY AAAA");
    json_decref(d);
    json_t *p =
        json_pack("{s:s, s:s}", "type", "pgsql", "query", "select \"a\" from t where x='1'");
    key_of(p, k, sizeof k);
    ck_assert_str_eq(k, "select \"a\" from t where x=?");
    json_decref(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("summary");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fp_sql_literals);
    tcase_add_test(tc, fp_sql_lists);
    tcase_add_test(tc, fp_sql_truncates_and_terminates);
    tcase_add_test(tc, fp_url_groups);
    tcase_add_test(tc, hist_exact_percentiles);
    tcase_add_test(tc, hist_buckets_bounded_error);
    tcase_add_test(tc, summary_groups_events);
    tcase_add_test(tc, summary_cap_overflows_into_other);
    tcase_add_test(tc, summary_keys_per_protocol);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
