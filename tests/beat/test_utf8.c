/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_utf8.c - UTF-8 decoding and unicode.IsSpace with Go's
 * rules (beat/utf8.h): valid widths, overlong forms, surrogates, values
 * past U+10FFFF, truncated sequences, and the white-space runes.
 */
#include <check.h>
#include <string.h>

#include "beat/utf8.h"
#include "tests/support/ptrun.h"

static size_t dec(const char *s, size_t n, uint32_t *cp)
{
    return pb_utf8_decode((const uint8_t *)s, n, cp);
}

START_TEST(decode_valid)
{
    uint32_t cp = 0;
    ck_assert_uint_eq(dec("A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_uint_eq(dec("\xc3\xa9", 2, &cp), 2); /* é */
    ck_assert_uint_eq(cp, 0xe9);
    ck_assert_uint_eq(dec("\xe2\x82\xac", 3, &cp), 3); /* € */
    ck_assert_uint_eq(cp, 0x20ac);
    ck_assert_uint_eq(dec("\xf0\x9f\x98\x80", 4, &cp), 4); /* U+1F600 */
    ck_assert_uint_eq(cp, 0x1f600);
    ck_assert_uint_eq(dec("\xf4\x8f\xbf\xbf", 4, NULL), 4); /* U+10FFFF, cp may be NULL */
}
END_TEST

START_TEST(decode_invalid)
{
    uint32_t cp = 7;
    ck_assert_uint_eq(dec("\x80", 1, &cp), 0);             /* lone continuation */
    ck_assert_uint_eq(dec("\xc0\x80", 2, &cp), 0);         /* overlong NUL */
    ck_assert_uint_eq(dec("\xc1\xbf", 2, &cp), 0);         /* overlong */
    ck_assert_uint_eq(dec("\xe0\x82\xa0", 3, &cp), 0);     /* overlong U+00A0 */
    ck_assert_uint_eq(dec("\xf0\x8f\xbf\xbf", 4, &cp), 0); /* overlong U+FFFF */
    ck_assert_uint_eq(dec("\xed\xa0\x80", 3, &cp), 0);     /* surrogate U+D800 */
    ck_assert_uint_eq(dec("\xf4\x90\x80\x80", 4, &cp), 0); /* U+110000 */
    ck_assert_uint_eq(dec("\xf5\x80\x80\x80", 4, &cp), 0);
    ck_assert_uint_eq(dec("\xe2\x82", 2, &cp), 0);     /* truncated */
    ck_assert_uint_eq(dec("\xe2\x82\xac", 2, &cp), 0); /* bounded by left */
    ck_assert_uint_eq(dec("\xe2\x41\xac", 3, &cp), 0); /* bad continuation */
    ck_assert_uint_eq(cp, 7);                          /* untouched on failure */
}
END_TEST

/* The valid prefix of ASCII text with one bad byte (a lone continuation
   byte) or one good two-byte letter at every offset of a 100-byte run:
   the 32- and 8-byte steps and the byte loop agree at every boundary. */
START_TEST(valid_len_at_every_offset)
{
    unsigned char buf[128];
    for (size_t len = 0; len <= 100; len++) {
        memset(buf, 'a', sizeof buf);
        ck_assert_uint_eq(pb_utf8_valid_len(buf, len), len);
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'a', sizeof buf);
            buf[at] = 0x80;
            ck_assert_uint_eq(pb_utf8_valid_len(buf, len), at);
            if (at + 1 < len) {
                buf[at] = 0xc3; /* "\xc3\xa9": e acute */
                buf[at + 1] = 0xa9;
                ck_assert_uint_eq(pb_utf8_valid_len(buf, len), len);
            }
        }
    }
}
END_TEST

START_TEST(space)
{
    static const char *const yes[] = {" ",
                                      "\t",
                                      "\n",
                                      "\v",
                                      "\f",
                                      "\r",
                                      "\xc2\x85",
                                      "\xc2\xa0",
                                      "\xe1\x9a\x80",
                                      "\xe2\x80\x80",
                                      "\xe2\x80\x8a",
                                      "\xe2\x80\xa8",
                                      "\xe2\x80\xa9",
                                      "\xe2\x80\xaf",
                                      "\xe2\x81\x9f",
                                      "\xe3\x80\x80"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        size_t n = strlen(yes[i]);
        ck_assert_uint_eq(pb_utf8_space_len((const uint8_t *)yes[i], n), n);
    }
    static const char *const no[] = {"a",
                                     "\x1c",         /* Go: not a space */
                                     "\xe2\x80\x8b", /* U+200B */
                                     "\xe2\x80\x41", /* invalid: not U+2000 */
                                     "\xe0\x82\xa0", /* overlong U+00A0 */
                                     "\xc2"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        ck_assert_uint_eq(pb_utf8_space_len((const uint8_t *)no[i], strlen(no[i])), 0);
    }
    ck_assert_uint_eq(pb_utf8_space_len((const uint8_t *)" ", 0), 0);
    /* only the first rune counts */
    ck_assert_uint_eq(pb_utf8_space_len((const uint8_t *)"\xc2\xa0x", 3), 2);
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *c = tcase_create("utf8");
    tcase_add_test(c, decode_valid);
    tcase_add_test(c, decode_invalid);
    tcase_add_test(c, space);
    tcase_add_test(c, valid_len_at_every_offset);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(utf8_suite());
    return failed == 0 ? 0 : 1;
}
