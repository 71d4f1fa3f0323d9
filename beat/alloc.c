/* SPDX-License-Identifier: Apache-2.0
 * beat/alloc.c - allocation wrappers with optional failure injection and a
 * per-thread count of the bytes held (pb_alloc_thread_bytes).
 */
#include "beat/alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* glibc tuning, before main: no fastbins. Events are built from hundreds of
   small jansson allocations and freed in bulk; with fastbins those frees
   pile up and every larger allocation (a stream buffer, a DNS record array)
   then pays a malloc_consolidate over all of them, about a quarter of the
   CPU time of `-I file -t` on a mixed corpus. tcache still serves the
   small sizes. (A per-thread cache of jansson's blocks behind
   json_set_alloc_funcs cut callgrind's instruction count by a quarter but
   measured slower: the time goes to cache misses on cold event memory,
   not to malloc's instructions.) */
__attribute__((constructor)) static void tune_malloc(void)
{
    mallopt(M_MXFAST, 0);
}

static atomic_uint fail_every;
static atomic_uint counter;
static _Thread_local int64_t thread_bytes;

int64_t pb_alloc_thread_bytes(void)
{
    return thread_bytes;
}

static void *counted(void *p)
{
    if (p != NULL) {
        thread_bytes += (int64_t)malloc_usable_size(p);
    }
    return p;
}

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
    return counted(malloc(n == 0 ? 1 : n));
}

void *pb_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    if (should_fail()) {
        return NULL;
    }
    return counted(calloc(count == 0 ? 1 : count, size == 0 ? 1 : size));
}

void *pb_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    int64_t old = p != NULL ? (int64_t)malloc_usable_size(p) : 0;
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q != NULL) {
        thread_bytes += (int64_t)malloc_usable_size(q) - old;
    }
    return q;
}

void pb_alloc_disown(void *p)
{
    if (p != NULL) {
        thread_bytes -= (int64_t)malloc_usable_size(p);
    }
}

int64_t pb_alloc_size(void *p)
{
    return p != NULL ? (int64_t)malloc_usable_size(p) : 0;
}

void pb_alloc_count(int64_t bytes)
{
    thread_bytes += bytes;
}

void pb_free(void *p)
{
    if (p != NULL) {
        thread_bytes -= (int64_t)malloc_usable_size(p);
    }
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
