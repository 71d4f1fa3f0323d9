/* SPDX-License-Identifier: Apache-2.0
 * beat/alloc.c - allocation wrappers with optional failure injection.
 */
#include "beat/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint fail_every;
static atomic_uint counter;

void pb_alloc_fail_every(unsigned n)
{
    atomic_store(&fail_every, n);
    atomic_store(&counter, 0);
}

static int should_fail(void)
{
    unsigned n = atomic_load_explicit(&fail_every, memory_order_relaxed);
    if (n == 0) {
        return 0;
    }
    return (atomic_fetch_add(&counter, 1) + 1) % n == 0;
}

void *pb_malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *pb_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    if (should_fail()) {
        return NULL;
    }
    return calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
}

void *pb_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

void pb_free(void *p)
{
    free(p);
}

char *pb_strndup(const char *s, size_t n)
{
    if (s == NULL) {
        return NULL;
    }
    size_t len = strnlen(s, n);
    char *d = pb_malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *pb_strdup(const char *s)
{
    return s == NULL ? NULL : pb_strndup(s, SIZE_MAX);
}
