/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_hindex.c - the index of objects by hash (packet/hindex.c)
 * against a plain set: random adds and removals, with hashes that collide,
 * that wrap around the end of the slots, and enough objects to make it
 * grow; after every step each object in the set is found and no other.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "packet/hindex.h"
#include "tests/support/ptrun.h"

enum { N = 3000 };

struct obj {
    uint32_t hash;
    bool in;
};

static struct obj objs[N];

/* Whether o is found by a lookup of its hash. */
static bool found(const struct pb_hindex *x, const struct obj *o)
{
    for (size_t i = pb_hindex_home(x, o->hash); x->slots[i].obj != NULL;
         i = pb_hindex_next(x, i)) {
        if (x->slots[i].hash == o->hash && x->slots[i].obj == o) {
            return true;
        }
    }
    return false;
}

/* The first n objects: each found exactly when in; want of them in. */
static void check_all(const struct pb_hindex *x, size_t n, size_t want)
{
    size_t in = 0, filled = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(found(x, &objs[i]) == objs[i].in, "object %zu: found %d, in %d", i,
                      found(x, &objs[i]), objs[i].in);
        in += objs[i].in;
    }
    for (size_t i = 0; i < x->n; i++) {
        filled += x->slots[i].obj != NULL;
    }
    ck_assert_uint_eq(in, want);
    ck_assert_uint_eq(x->count, want);
    ck_assert_uint_eq(filled, want);
    ck_assert_uint_le(2 * x->count, x->n); /* at most half full */
}

/* hash i of a few shapes: many equal, many in one run that wraps around
   the end of a small index, and spread ones */
static uint32_t shape(size_t i, unsigned kind)
{
    switch (kind) {
    case 0:
        return 7;
    case 1:
        return 0xfffffff0u + (uint32_t)(i % 16);
    default:
        return (uint32_t)(i * 2654435761u);
    }
}

START_TEST(random_adds_and_removals)
{
    for (unsigned kind = 0; kind < 3; kind++) {
        struct pb_hindex x;
        ck_assert(pb_hindex_init(&x, 4));
        srand(42 + kind);
        size_t n = kind == 2 ? N : 400; /* the colliding kinds probe long runs */
        for (size_t i = 0; i < N; i++) {
            objs[i].hash = shape(i, kind);
            objs[i].in = false;
        }
        size_t in = 0;
        for (int step = 0; step < 6000; step++) {
            size_t i = (size_t)rand() % n;
            struct obj *o = &objs[i];
            if (o->in) {
                pb_hindex_remove(&x, o, o->hash);
                o->in = false;
                in--;
            } else if (rand() % 4 != 0) {
                ck_assert(pb_hindex_add(&x, o, o->hash));
                o->in = true;
                in++;
            } else {
                pb_hindex_remove(&x, o, o->hash); /* not there: nothing */
            }
            if (step % (kind < 2 ? 20 : 500) == 0) {
                check_all(&x, n, in);
            }
        }
        check_all(&x, n, in);
        /* all of them in: it grows; then all out */
        for (size_t i = 0; i < n; i++) {
            if (!objs[i].in) {
                ck_assert(pb_hindex_add(&x, &objs[i], objs[i].hash));
                objs[i].in = true;
            }
        }
        check_all(&x, n, n);
        for (size_t i = 0; i < n; i++) {
            pb_hindex_remove(&x, &objs[i], objs[i].hash);
            objs[i].in = false;
        }
        check_all(&x, n, 0);
        pb_hindex_free(&x);
    }
}
END_TEST

/* Emptied whole: shrunk back to the size asked for (or kept when smaller),
   nothing found any more, and filled again as a new one. */
START_TEST(clear_shrinks_and_empties)
{
    struct pb_hindex x;
    ck_assert(pb_hindex_init(&x, 4));
    for (size_t i = 0; i < N; i++) {
        objs[i].hash = shape(i, 2);
        objs[i].in = true;
        ck_assert(pb_hindex_add(&x, &objs[i], objs[i].hash));
    }
    ck_assert_uint_gt(x.n, 16);
    pb_hindex_clear(&x, 16);
    ck_assert_uint_eq(x.n, 16);
    for (size_t i = 0; i < N; i++) {
        objs[i].in = false;
    }
    check_all(&x, N, 0);
    for (size_t i = 0; i < 100; i++) {
        ck_assert(pb_hindex_add(&x, &objs[i], objs[i].hash));
        objs[i].in = true;
    }
    check_all(&x, N, 100);
    size_t n = x.n;
    pb_hindex_clear(&x, 2 * n); /* not grown beyond: emptied in place */
    ck_assert_uint_eq(x.n, n);
    for (size_t i = 0; i < 100; i++) {
        objs[i].in = false;
    }
    check_all(&x, N, 0);
    pb_hindex_free(&x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hindex");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_adds_and_removals);
    tcase_add_test(tc, clear_shrinks_and_empties);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
