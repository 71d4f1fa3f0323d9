/* SPDX-License-Identifier: Apache-2.0
 * tests/support/ptrun.h - the run of a test program's Check suite, for
 * every tests/<area>/test_*.c main().
 */
#ifndef PT_RUN_H
#define PT_RUN_H

#include <check.h>

/* Runs suite s (Check's default output) and frees it; the number of
   tests that failed. */
static inline int pt_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

#endif
