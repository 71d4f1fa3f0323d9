/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/hist.h - a bounded latency histogram: exact for the first
 * PB_HIST_EXACT samples, then log-linear buckets (5 sub-bucket bits: every
 * value is within 3.2% of its bucket), so memory per histogram is fixed
 * whatever the traffic. Percentiles use the nearest-rank method.
 */
#ifndef PB_SUMMARY_HIST_H
#define PB_SUMMARY_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* samples kept exactly before switching to buckets */
#define PB_HIST_EXACT 64u
#define PB_HIST_SUB_BITS 5u
#define PB_HIST_SUB (1u << PB_HIST_SUB_BITS)
/* values 0..SUB-1 exact, then SUB buckets per power of two up to 2^63 */
#define PB_HIST_BUCKETS (PB_HIST_SUB + (64u - PB_HIST_SUB_BITS) * PB_HIST_SUB)

struct pb_hist {
    uint64_t n, min, max;
    uint64_t exact[PB_HIST_EXACT]; /* the first n samples while n <= EXACT */
    uint32_t *buckets;             /* owned; NULL until n passes EXACT */
    bool oom;                      /* buckets could not be allocated: exact only */
};

void pb_hist_init(struct pb_hist *h);
void pb_hist_free(struct pb_hist *h);
/* Adds one value (any unit; callers use nanoseconds). */
void pb_hist_add(struct pb_hist *h, uint64_t v);
/* The p-th percentile (0 < p <= 100) by nearest rank: the smallest value
 * with at least p% of the samples at or below it. Exact while the
 * histogram is exact, otherwise the bucket's midpoint clamped to
 * [min, max]. 0 for an empty histogram. */
uint64_t pb_hist_pct(const struct pb_hist *h, double p);

/* Bucket index of a value, and the [lo, hi] range a bucket covers. */
size_t pb_hist_index(uint64_t v);
void pb_hist_range(size_t idx, uint64_t *lo, uint64_t *hi);

#endif
