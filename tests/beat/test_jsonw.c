/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_jsonw.c - the inline JSON writers of beat/jsonw.h: integers
 * written in place match printf's text at every digit count and at the
 * ends of int64, and the front-to-back writer of 32-bit values (no
 * division) matches the general one on many values; short copies of
 * every length up to and past 16 bytes.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "beat/jsonw.h"
#include "tests/support/ptrun.h"

/* pb_jw_int's text and end against snprintf, with a guard byte after it */
static void check_int(int64_t v)
{
    char want[32], got[40];
    int n = snprintf(want, sizeof want, "%" PRId64, v);
    memset(got, '#', sizeof got);
    char *end = pb_jw_int(got, v);
    ck_assert_int_eq((int)(end - got), n);
    ck_assert_mem_eq(got, want, (size_t)n);
    ck_assert_int_eq(got[n], '#');
}

START_TEST(int_every_digit_count)
{
    int64_t p = 1;
    for (int d = 1; d <= 18; d++) {
        check_int(p - 1); /* 9, 99, ... (0 for d = 1) */
        check_int(p);
        check_int(p + 1);
        check_int(-p);
        check_int(-(p - 1) - 1);
        p *= 10;
    }
    check_int(p); /* 10^18 */
    check_int(INT64_MAX);
    check_int(INT64_MIN);
    check_int(INT64_MIN + 1);
    check_int(-1);
    check_int(6379);
    check_int(12345678);
}
END_TEST

/* pb_jw_uint (for u < 2^32 the multiplying writer, pb_u32_put) against
   the dividing one (pb_u64_text) and printf */
static void check_uint(unsigned long long u)
{
    char want[32], got[40], gen[32];
    int n = snprintf(want, sizeof want, "%llu", u);
    memset(got, '#', sizeof got);
    char *end = pb_jw_uint(got, u);
    char *start = pb_u64_text(u, gen + sizeof gen);
    ck_assert_int_eq((int)(gen + sizeof gen - start), n);
    ck_assert_mem_eq(start, want, (size_t)n);
    ck_assert_int_eq((int)(end - got), n);
    ck_assert_mem_eq(got, want, (size_t)n);
    ck_assert_int_eq(got[n], '#');
}

START_TEST(uint_many_values)
{
    /* every value up to a million, then each power of ten and its
       neighbours, then a walk over all of 32 bits and beyond in uneven
       steps (every digit of every position changes along it) */
    for (unsigned long long u = 0; u < 1000000; u++) {
        check_uint(u);
    }
    for (unsigned long long p = 10; p <= 10000000000000000000ull / 10; p *= 10) {
        for (unsigned long long d = 0; d < 3; d++) {
            check_uint(p - 1 - d);
            check_uint(p + d);
            check_uint(p * 10 - 1 - d);
        }
    }
    for (unsigned long long u = 1000000; u <= 0xffffffffull; u += 997 + (u >> 12)) {
        check_uint(u);
    }
    for (uint32_t i = 0; i < 4096; i++) {
        check_uint(0xffffffffull - i);
        check_uint(0x100000000ull + i);
        check_uint(18446744073709551615ull - i);
    }
    uint64_t x = 88172645463325252ull; /* xorshift: values of every size */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_uint(x >> (i % 64));
    }
}
END_TEST

START_TEST(u64_digits)
{
    ck_assert_uint_eq(pb_u64_digits(0), 1);
    ck_assert_uint_eq(pb_u64_digits(9), 1);
    ck_assert_uint_eq(pb_u64_digits(10), 2);
    ck_assert_uint_eq(pb_u64_digits(9999), 4);
    ck_assert_uint_eq(pb_u64_digits(10000), 5);
    ck_assert_uint_eq(pb_u64_digits(99999999), 8);
    ck_assert_uint_eq(pb_u64_digits(100000000), 9);
    ck_assert_uint_eq(pb_u64_digits(18446744073709551615ull), 20);
}
END_TEST

START_TEST(quoted_every_short_length)
{
    const char *src = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t n = 0; n <= 36; n++) {
        char got[48];
        memset(got, '#', sizeof got);
        char *end = pb_jw_quoted(got, src, n);
        ck_assert_int_eq((int)(end - got), (int)n + 2);
        ck_assert_int_eq(got[0], '"');
        ck_assert_mem_eq(got + 1, src, n);
        ck_assert_int_eq(got[n + 1], '"');
        ck_assert_int_eq(got[n + 2], '#');
    }
}
END_TEST

static Suite *jsonw_suite(void)
{
    Suite *s = suite_create("jsonw");
    TCase *c = tcase_create("core");
    tcase_add_test(c, int_every_digit_count);
    tcase_add_test(c, uint_many_values);
    tcase_add_test(c, u64_digits);
    tcase_add_test(c, quoted_every_short_length);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(jsonw_suite());
    return failed == 0 ? 0 : 1;
}
