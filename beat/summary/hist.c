/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/hist.c - bounded latency histogram (see hist.h).
 */
#include "beat/summary/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"

void pb_hist_init(struct pb_hist *h)
{
    memset(h, 0, sizeof *h);
}

void pb_hist_free(struct pb_hist *h)
{
    if (h != NULL) {
        pb_free(h->buckets);
        h->buckets = NULL;
    }
}

static unsigned top_bit(uint64_t v)
{
    unsigned b = 0;
    while (v >>= 1) {
        b++;
    }
    return b;
}

/*  value:   0 .. SUB-1          -> index v (exact)
 *           2^e .. 2^(e+1)-1    -> SUB + (e - SUB_BITS) * SUB + the SUB_BITS
 *                                  bits right below the top bit */
size_t pb_hist_index(uint64_t v)
{
    if (v < PB_HIST_SUB) {
        return (size_t)v;
    }
    unsigned e = top_bit(v);
    uint64_t sub = (v >> (e - PB_HIST_SUB_BITS)) & (PB_HIST_SUB - 1);
    return PB_HIST_SUB + (size_t)(e - PB_HIST_SUB_BITS) * PB_HIST_SUB + (size_t)sub;
}

void pb_hist_range(size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < PB_HIST_SUB) {
        *lo = *hi = idx;
        return;
    }
    size_t k = idx - PB_HIST_SUB;
    unsigned e = (unsigned)(k / PB_HIST_SUB) + PB_HIST_SUB_BITS;
    uint64_t sub = k % PB_HIST_SUB;
    unsigned shift = e - PB_HIST_SUB_BITS;
    *lo = ((uint64_t)1 << e) | (sub << shift);
    *hi = *lo + (((uint64_t)1 << shift) - 1);
}

static void to_buckets(struct pb_hist *h)
{
    if (h->buckets != NULL || h->oom) {
        return;
    }
    h->buckets = pb_calloc(PB_HIST_BUCKETS, sizeof *h->buckets);
    if (h->buckets == NULL) {
        h->oom = true;
        return;
    }
    for (uint64_t i = 0; i < h->n && i < PB_HIST_EXACT; i++) {
        h->buckets[pb_hist_index(h->exact[i])]++;
    }
}

void pb_hist_add(struct pb_hist *h, uint64_t v)
{
    if (h->n == 0 || v < h->min) {
        h->min = v;
    }
    if (h->n == 0 || v > h->max) {
        h->max = v;
    }
    if (h->n < PB_HIST_EXACT) {
        h->exact[h->n] = v;
    } else {
        to_buckets(h);
        if (h->buckets != NULL) {
            uint32_t *b = &h->buckets[pb_hist_index(v)];
            if (*b < UINT32_MAX) {
                (*b)++;
            }
        }
    }
    h->n++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t pb_hist_pct(const struct pb_hist *h, double p)
{
    if (h->n == 0) {
        return 0;
    }
    if (p >= 100.0) {
        return h->max;
    }
    if (p <= 0.0) {
        return h->min;
    }
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
    if (rank < 1) {
        rank = 1;
    }
    if (h->buckets == NULL) {
        uint64_t k = h->n < PB_HIST_EXACT ? h->n : PB_HIST_EXACT;
        uint64_t s[PB_HIST_EXACT];
        memcpy(s, h->exact, k * sizeof s[0]);
        qsort(s, k, sizeof s[0], cmp_u64);
        if (rank > k) { /* samples past the exact set were lost (oom) */
            rank = k;
        }
        return s[rank - 1];
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < PB_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            pb_hist_range(i, &lo, &hi);
            uint64_t v = lo + (hi - lo) / 2;
            if (v < h->min) {
                v = h->min;
            }
            if (v > h->max) {
                v = h->max;
            }
            return v;
        }
    }
    return h->max;
}
