/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_sha1.c - one-block SHA-1 of the Community ID: known
 * vectors, and the plain C and SHA-instruction versions against OpenSSL
 * for every length that fits a block.
 */
#include <check.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "beat/sha1.h"
#include "tests/support/ptrun.h"

typedef void sha1_fn(const uint8_t *msg, size_t n, uint8_t md[PB_SHA1_LEN]);

static void hex(const uint8_t md[PB_SHA1_LEN], char out[2 * PB_SHA1_LEN + 1])
{
    for (int i = 0; i < PB_SHA1_LEN; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void check_vectors(sha1_fn *fn)
{
    static const struct {
        const char *msg, *md;
    } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t md[PB_SHA1_LEN];
        char h[2 * PB_SHA1_LEN + 1];
        fn((const uint8_t *)v[i].msg, strlen(v[i].msg), md);
        hex(md, h);
        ck_assert_str_eq(h, v[i].md);
    }
}

/* Random messages of every length 0..55, against OpenSSL's SHA1(). */
static void check_random(sha1_fn *fn)
{
    uint32_t x = 0x9e3779b9u; /* xorshift32 */
    uint8_t msg[PB_SHA1_SHORT_MAX];
    for (int round = 0; round < 400; round++) {
        for (size_t n = 0; n <= PB_SHA1_SHORT_MAX; n++) {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                msg[i] = round == 0 ? 0xff : (uint8_t)x; /* all ones once */
            }
            uint8_t want[SHA_DIGEST_LENGTH], got[PB_SHA1_LEN];
            SHA1(msg, n, want);
            fn(msg, n, got);
            ck_assert_msg(memcmp(got, want, sizeof want) == 0, "length %zu, round %d", n, round);
        }
    }
}

/* The message packed into words for the implementation under test. */
typedef void words_fn(const uint64_t m[7], size_t n, uint8_t md[PB_SHA1_LEN]);
static words_fn *under_test;

static void packed(const uint8_t *msg, size_t n, uint8_t md[PB_SHA1_LEN])
{
    uint64_t m[7] = {0};
    for (size_t i = 0; i < n; i++) {
        m[i / 8] |= (uint64_t)msg[i] << (8 * (i % 8));
    }
    under_test(m, n, md);
}

static void check(words_fn *fn)
{
    under_test = fn;
    check_vectors(packed);
    check_random(packed);
}

START_TEST(software)
{
    check(pb_sha1_words_sw);
}
END_TEST

START_TEST(sha_instructions)
{
    if (!pb_sha1_have_ni()) {
        fprintf(stderr, "test_sha1: no SHA extensions on this CPU, hardware path not tested\n");
        return;
    }
    check(pb_sha1_words_ni);
}
END_TEST

START_TEST(chosen)
{
    check(pb_sha1_short_words);
}
END_TEST

static Suite *sha1_suite(void)
{
    Suite *s = suite_create("sha1");
    TCase *c = tcase_create("short");
    tcase_add_test(c, software);
    tcase_add_test(c, sha_instructions);
    tcase_add_test(c, chosen);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(sha1_suite());
    return failed == 0 ? 0 : 1;
}
