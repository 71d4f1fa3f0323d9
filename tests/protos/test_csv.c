/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_csv.c - the shared text renderers of protos/common:
 * SQL result tables as CSV (csv.h) and Go's strconv.Quote (strutil.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "protos/common/csv.h"
#include "protos/common/strutil.h"
#include "tests/support/ptrun.h"

/* One line of n C-string fields. */
static void line(struct pb_csv *b, const char *const *f, size_t n, bool cr)
{
    char *v[8];
    size_t lens[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        v[i] = (char *)f[i];
        lens[i] = strlen(f[i]);
    }
    pb_csv_line(b, v, lens, n, cr);
}

START_TEST(csv_table)
{
    struct pb_csv b = {0};
    pb_csv_put(&b, "", 0);
    static const char *const head[] = {"id", "a\rb", "c\nd"};
    static const char *const row1[] = {"1", "x\ry", "p\nq"};
    static const char *const row2[] = {"\\.", " lead", "\xc2\xa0nbsp", "\xe2\x80\x41", "", "q\"t"};
    line(&b, head, 3, false);
    line(&b, row1, 3, true);
    line(&b, row2, 6, true);
    size_t n = 0;
    char *s = pb_csv_end(&b, &n);
    ck_assert_ptr_nonnull(s);
    /* header: \r left alone (so quoted), \n spelled out; rows: both spelled
     * out; `\.` and a leading white-space rune quoted, an invalid lead not */
    ck_assert_str_eq(s, "id,\"a\rb\",c\\nd\n"
                        "1,x\\ry,p\\nq\n"
                        "\"\\.\",\" lead\",\"\xc2\xa0nbsp\",\xe2\x80\x41,,\"q\"\"t\"\n");
    ck_assert_uint_eq(n, strlen(s));
    pb_free(s);
}
END_TEST

START_TEST(csv_empty)
{
    struct pb_csv b = {0};
    pb_csv_put(&b, "", 0);
    size_t n = 7;
    char *s = pb_csv_end(&b, &n);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(n, 0);
    pb_free(s);
}
END_TEST

static char *quote(const char *s, size_t n, size_t max, int *rc)
{
    struct pb_bytes b = {0};
    *rc = pb_go_quote(&b, (const uint8_t *)s, n, max);
    char *out = strndup(b.p != NULL ? (const char *)b.p : "", b.len);
    pb_bytes_free(&b);
    return out;
}

START_TEST(go_quote)
{
    int rc;
    char *q = quote("a\"\\\n\a\x01\x7f\xc3\xa9\xff\xe2\x80\xa8\xf0\x9f\x98\x80", 17, 1000, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(q, "\"a\\\"\\\\\\n\\a\\x01\\x7f\xc3\xa9\\xff\\u2028\xf0\x9f\x98\x80\"");
    free(q);
    q = quote("\xf3\xa0\x80\x81", 4, 1000, &rc); /* U+E0001, not printable */
    ck_assert_str_eq(q, "\"\\U000e0001\"");
    free(q);
    q = quote("", 0, 1000, &rc);
    ck_assert_str_eq(q, "\"\"");
    free(q);
    /* the cap: what fitted stays, the error comes back */
    q = quote("abcdef", 6, 4, &rc);
    ck_assert_int_eq(rc, -PB_ELIMIT);
    ck_assert_str_eq(q, "\"abc");
    free(q);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *c = tcase_create("csv");
    tcase_add_test(c, csv_table);
    tcase_add_test(c, csv_empty);
    tcase_add_test(c, go_quote);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(csv_suite());
    return failed == 0 ? 0 : 1;
}
