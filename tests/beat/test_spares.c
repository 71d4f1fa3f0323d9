/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_spares.c - the cache of spare blocks (beat/spares.c):
 * a payload gets the smallest class that fits it, or its own size beyond
 * the largest; a block handed back comes out again for its class (last in
 * first out) but no more than the cap are kept; a block counts in
 * pb_alloc_thread_bytes while handed out and a spare for nobody. Under
 * AddressSanitizer nothing is kept.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/spares.h"
#include "tests/support/ptrun.h"

enum { HEAD = 48, MIN = 128, NCLASS = 4, MAX = 5 };

/* Spares of class k that s keeps. */
static unsigned kept(const struct pb_spares *s, unsigned k)
{
    return MAX - s->room[k];
}

static void *get(struct pb_spares *s, size_t need, size_t *cap)
{
    void *b = pb_spares_get(s, need, cap);
    ck_assert_ptr_nonnull(b);
    memset(b, 0xa5, HEAD + *cap); /* the whole block is writable */
    return b;
}

START_TEST(capacity_classes)
{
    struct pb_spares s;
    pb_spares_init(&s, HEAD, MIN, NCLASS, MAX);
    static const struct {
        size_t need, cap;
    } v[] = {
        {0, 128},   {1, 128},   {128, 128},  {129, 256},   {256, 256},   {257, 512},
        {511, 512}, {512, 512}, {513, 1024}, {1024, 1024}, {1025, 1025}, {5000, 5000},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t cap = 0;
        void *b = get(&s, v[i].need, &cap);
        ck_assert_msg(cap == v[i].cap, "need %zu: cap %zu, want %zu", v[i].need, cap, v[i].cap);
        ck_assert_int_ge(pb_alloc_size(b), (int64_t)(HEAD + cap));
        pb_spares_put(&s, b, cap);
    }
    /* one class: everything up to min shares it, beyond gets its size */
    struct pb_spares one;
    pb_spares_init(&one, HEAD, 512, 1, MAX);
    size_t cap = 0;
    pb_spares_put(&one, get(&one, 1, &cap), cap);
    ck_assert_uint_eq(cap, 512);
    pb_spares_put(&one, get(&one, 513, &cap), 513);
    ck_assert_uint_eq(cap, 513);
    /* a payload no block can hold: nothing */
    ck_assert_ptr_null(pb_spares_get(&one, SIZE_MAX - 8, &cap));
    ck_assert_uint_eq(cap, 513);
    pb_spares_fini(&one);
    pb_spares_fini(&s);
}
END_TEST

START_TEST(put_then_get_reuses)
{
    struct pb_spares s;
    pb_spares_init(&s, HEAD, MIN, NCLASS, MAX);
    size_t cap = 0, c2 = 0;
    void *a = get(&s, 200, &cap); /* class 256 */
    void *b = get(&s, 256, &c2);
    ck_assert_ptr_ne(a, b);
    pb_spares_put(&s, a, 200); /* the need names the class as well as the cap */
    pb_spares_put(&s, b, c2);
#ifdef PB_ASAN
    ck_assert_uint_eq(kept(&s, 1), 0);
#else
    ck_assert_uint_eq(kept(&s, 1), 2);
    /* another class does not take them */
    void *o = get(&s, 100, &cap);
    ck_assert_ptr_ne(o, a);
    ck_assert_ptr_ne(o, b);
    pb_spares_put(&s, o, cap);
    /* last in, first out */
    ck_assert_ptr_eq(get(&s, 129, &cap), b);
    ck_assert_uint_eq(cap, 256);
    ck_assert_ptr_eq(get(&s, 256, &cap), a);
    ck_assert_uint_eq(kept(&s, 1), 0);
    pb_spares_put(&s, a, cap);
    pb_spares_put(&s, b, cap);
    /* a block beyond the largest class is never kept */
    void *big = get(&s, 1025, &cap);
    pb_spares_put(&s, big, cap);
    for (unsigned k = 0; k < NCLASS; k++) {
        ck_assert_ptr_ne(s.free[k], big);
    }
#endif
    pb_spares_put(&s, NULL, 100); /* nothing */
    pb_spares_fini(&s);
    for (unsigned k = 0; k < NCLASS; k++) {
        ck_assert_ptr_null(s.free[k]);
        ck_assert_uint_eq(kept(&s, k), 0);
    }
}
END_TEST

START_TEST(cap_holds)
{
    struct pb_spares s;
    pb_spares_init(&s, HEAD, MIN, NCLASS, MAX);
    void *b[MAX + 3];
    size_t cap = 0;
    for (int i = 0; i < MAX + 3; i++) {
        b[i] = get(&s, 512, &cap);
    }
    int64_t before = pb_alloc_thread_bytes();
    for (int i = 0; i < MAX + 3; i++) {
        int64_t size = pb_alloc_size(b[i]);
        int64_t t0 = pb_alloc_thread_bytes();
        pb_spares_put(&s, b[i], cap);
        /* kept or freed, it leaves the count */
        ck_assert_int_eq(pb_alloc_thread_bytes(), t0 - size);
#ifndef PB_ASAN
        ck_assert_uint_eq(kept(&s, 2), i < MAX ? (unsigned)i + 1 : MAX);
        if (i >= MAX) {
            /* the MAX+1th and later were freed, not linked */
            for (void *p = s.free[2]; p != NULL; p = *(void **)p) {
                ck_assert_ptr_ne(p, b[i]);
            }
        }
#endif
    }
    ck_assert_int_lt(pb_alloc_thread_bytes(), before);
    pb_spares_fini(&s);
}
END_TEST

START_TEST(accounting)
{
    struct pb_spares s;
    pb_spares_init(&s, HEAD, MIN, NCLASS, MAX);
    size_t cap = 0;
    int64_t t0 = pb_alloc_thread_bytes();
    /* fresh: counted by pb_malloc */
    void *a = get(&s, 300, &cap);
    int64_t size = pb_alloc_size(a);
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0 + size);
    /* a spare counts for nobody */
    pb_spares_put(&s, a, cap);
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0);
    /* handed out again it counts for its holder */
    void *b = get(&s, 300, &cap);
#ifndef PB_ASAN
    ck_assert_ptr_eq(b, a);
#endif
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0 + pb_alloc_size(b));
    /* freed outright by its holder: the count goes back */
    pb_free(b);
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0);
    /* fini frees the spares: the count does not move */
    void *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = get(&s, 1000, &cap);
    }
    for (int i = 0; i < 3; i++) {
        pb_spares_put(&s, c[i], cap);
    }
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0);
    pb_spares_fini(&s);
    ck_assert_int_eq(pb_alloc_thread_bytes(), t0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("spares");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, capacity_classes);
    tcase_add_test(tc, put_then_get_reuses);
    tcase_add_test(tc, cap_holds);
    tcase_add_test(tc, accounting);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
