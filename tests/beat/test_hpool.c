/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_hpool.c - the pool of blocks in huge pages (beat/hpool.c):
 * it hands out distinct, aligned, writable blocks that it owns until its
 * range is used up, then NULL; a block handed back comes out again first;
 * a malloc'd block is not its own. Under AddressSanitizer it hands out
 * nothing (callers malloc).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/hpool.h"
#include "tests/support/ptrun.h"

enum { SIZE = 272, MAX = 20000 };

static void *blocks[MAX + 8000];

START_TEST(blocks_until_used_up)
{
    struct pb_hpool p;
    pb_hpool_init(&p, SIZE, MAX);
#ifdef PB_ASAN
    ck_assert_ptr_null(pb_hpool_get(&p));
#else
    size_t n = 0;
    void *b;
    while (n < MAX + 8000 && (b = pb_hpool_get(&p)) != NULL) {
        ck_assert_msg(((uintptr_t)b & 63) == 0, "block %zu not aligned", n);
        ck_assert(pb_hpool_owns(&p, b));
        memset(b, (int)(n & 0xff), SIZE); /* writable, whole */
        blocks[n++] = b;
    }
    /* at least MAX blocks (the range is rounded up to a huge page), not
       many more than that */
    ck_assert_uint_ge(n, MAX);
    ck_assert_uint_lt(n, MAX + (2u << 20) / 320 + 1);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *c = blocks[i];
        ck_assert_msg(c[0] == (i & 0xff) && c[SIZE - 1] == (i & 0xff), "block %zu overlaps another",
                      i);
    }
    ck_assert_ptr_null(pb_hpool_get(&p));
    /* handed back: out again, last in first out, then none */
    pb_hpool_put(&p, blocks[7]);
    pb_hpool_put(&p, blocks[3]);
    ck_assert_ptr_eq(pb_hpool_get(&p), blocks[3]);
    ck_assert_ptr_eq(pb_hpool_get(&p), blocks[7]);
    ck_assert_ptr_null(pb_hpool_get(&p));
    void *m = malloc(SIZE);
    ck_assert(!pb_hpool_owns(&p, m));
    free(m);
#endif
    pb_hpool_free(&p);
    ck_assert(!pb_hpool_owns(&p, blocks[0]));
}
END_TEST

START_TEST(nothing_reserved_until_asked)
{
    struct pb_hpool p;
    pb_hpool_init(&p, SIZE, MAX);
    ck_assert_ptr_null(p.base);
    ck_assert(!pb_hpool_owns(&p, &p));
    pb_hpool_free(&p);
    /* more than an address space holds: nothing, the caller mallocs */
    pb_hpool_init(&p, 1u << 20, SIZE_MAX / 4096);
    ck_assert_ptr_null(pb_hpool_get(&p));
    pb_hpool_free(&p);
    /* blocks so large that a few of them overflow the byte count */
    pb_hpool_init(&p, SIZE_MAX / 8, 16);
    ck_assert(p.failed);
    ck_assert_ptr_null(pb_hpool_get(&p));
    pb_hpool_free(&p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hpool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, blocks_until_used_up);
    tcase_add_test(tc, nothing_reserved_until_asked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
