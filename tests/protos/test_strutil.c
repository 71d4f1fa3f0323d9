/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_strutil.c - the byte-string helpers protocols share:
 * pb_mem_find against memmem for every needle length it special-cases.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protos/common/strutil.h"
#include "tests/support/ptrun.h"

/* Every offset and length of haystacks over a small alphabet (so that
 * partial matches are common), needles of 0 to 4 bytes: the same answer
 * as memmem. */
START_TEST(mem_find_matches_memmem)
{
    static const uint8_t alphabet[] = {'\r', '\n', 'a', '\r'};
    uint8_t hay[24];
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof hay; i++) {
            seed = seed * 1103515245u + 12345u;
            hay[i] = alphabet[(seed >> 16) % sizeof alphabet];
        }
        uint8_t needle[4];
        for (size_t i = 0; i < sizeof needle; i++) {
            seed = seed * 1103515245u + 12345u;
            needle[i] = alphabet[(seed >> 16) % sizeof alphabet];
        }
        for (size_t nlen = 0; nlen <= sizeof needle; nlen++) {
            for (size_t off = 0; off <= sizeof hay; off++) {
                for (size_t len = 0; off + len <= sizeof hay; len += 3) {
                    const uint8_t *want = nlen == 0    ? hay + off
                                          : len < nlen ? NULL
                                                       : memmem(hay + off, len, needle, nlen);
                    const uint8_t *got = pb_mem_find(hay + off, len, needle, nlen);
                    ck_assert_msg(got == want, "round %d nlen %zu off %zu len %zu", round, nlen,
                                  off, len);
                }
            }
        }
    }
}
END_TEST

START_TEST(mem_find_crlf_at_the_end_and_none)
{
    const char *s = "GET / HTTP/1.1\r\nHost: x\r\n";
    ck_assert_ptr_eq(pb_mem_find(s, strlen(s), "\r\n", 2), (const uint8_t *)s + 14);
    ck_assert_ptr_eq(pb_mem_find(s + 15, strlen(s) - 15, "\r\n", 2), (const uint8_t *)s + 23);
    ck_assert_ptr_null(pb_mem_find(s, 15, "\r\n", 2)); /* the '\r' alone is no match */
    ck_assert_ptr_null(pb_mem_find(NULL, 0, "\r\n", 2));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("strutil");
    TCase *tc = tcase_create("strutil");
    tcase_add_test(tc, mem_find_matches_memmem);
    tcase_add_test(tc, mem_find_crlf_at_the_end_and_none);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
