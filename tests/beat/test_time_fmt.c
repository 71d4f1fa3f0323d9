/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_time_fmt.c - pb_time_fmt (hand-rolled civil date) against
 * gmtime_r + strftime over leap years, month ends, century rules and the
 * three timestamp precisions, and its shortcut for milliseconds in the
 * second formatted last (every millisecond, against the general path).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/event.h"
#include "tests/support/ptrun.h"

/* The reference: what libc says, with the fraction rules of libbeat
   (3 digits kept; 6 and 9 drop trailing zeros). */
static void ref_fmt(uint64_t ts_ns, int digits, char *out, size_t cap)
{
    time_t secs = (time_t)(ts_ns / 1000000000ull);
    uint64_t frac = ts_ns % 1000000000ull;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    for (int d = 9; d > digits; d--) {
        frac /= 10;
    }
    if (digits != 3) {
        while (digits > 0 && frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
    }
    if (digits == 0) {
        snprintf(out + n, cap - n, "Z");
    } else {
        snprintf(out + n, cap - n, ".%0*lluZ", digits, (unsigned long long)frac);
    }
}

static void check_ts(uint64_t ts)
{
    char got[40], want[64];
    static const int precisions[] = {3, 6, 9};
    for (size_t i = 0; i < 3; i++) {
        pb_time_set_precision(precisions[i]);
        ref_fmt(ts, precisions[i], want, sizeof want);
        ck_assert_msg(strcmp(pb_time_fmt(ts, false, got), want) == 0, "%llu p%d: %s != %s",
                      (unsigned long long)ts, precisions[i], got, want);
    }
    pb_time_set_precision(3);
    ref_fmt(ts, 9, want, sizeof want);
    ck_assert_str_eq(pb_time_fmt(ts, true, got), want);
}

START_TEST(days_across_four_centuries)
{
    /* every day from 1970 to 2400 (leap years, 2100 and 2300 not leap,
       2000 and 2400 leap), at a time of day that moves */
    for (uint64_t day = 0; day < 157000; day++) {
        uint64_t sod = (day * 7919u) % 86400u;
        uint64_t ns = (day * 104729u) % 1000000000u;
        check_ts((day * 86400u + sod) * 1000000000ull + ns);
    }
}
END_TEST

START_TEST(edges)
{
    static const uint64_t cases[] = {
        0,
        999999999ull,
        1000000000ull,
        951782400ull * 1000000000ull,             /* 2000-02-29 */
        951868799ull * 1000000000ull + 999000000, /* 2000-02-29T23:59:59.999 */
        4107542400ull * 1000000000ull,            /* 2100-03-01 */
        1424218386123456789ull,                   /* 2015-02-18T00:13:06.123456789 */
        1424218386100000000ull,
        1424218386000001000ull,
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_ts(cases[i]);
    }
    char buf[40];
    pb_time_set_precision(3);
    ck_assert_str_eq(pb_time_fmt(1424218386000000000ull, false, buf), "2015-02-18T00:13:06.000Z");
    ck_assert_str_eq(pb_time_fmt(1424218386000000000ull, true, buf), "2015-02-18T00:13:06Z");
}
END_TEST

START_TEST(every_millisecond_of_a_second)
{
    /* at milliseconds the first instant of a second takes the general
       path, the others the shortcut for the second met just before */
    pb_time_set_precision(3);
    static const uint64_t secs[] = {0, 1424218386, 4107542399};
    for (size_t s = 0; s < sizeof secs / sizeof secs[0]; s++) {
        for (uint64_t ms = 0; ms < 1000; ms++) {
            for (uint64_t ns = 0; ns < 1000000; ns += 333333) {
                uint64_t ts = secs[s] * 1000000000ull + ms * 1000000u + ns;
                char got[40], want[64];
                ref_fmt(ts, 3, want, sizeof want);
                ck_assert_str_eq(pb_time_fmt(ts, false, got), want);
                ck_assert_uint_eq(pb_time_fmt_n(ts, false, got), strlen(want));
                ck_assert_str_eq(got, want);
            }
        }
    }
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("time_fmt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, days_across_four_centuries);
    tcase_add_test(tc, edges);
    tcase_add_test(tc, every_millisecond_of_a_second);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(time_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
