/* SPDX-License-Identifier: Apache-2.0
 * packet/ipfrag.c - bounded IPv4/IPv6 fragment reassembly (see ipfrag.h).
 *
 * Each pending datagram keeps its payload in one buffer that grows (powers
 * of two) up to PB_MAX_FRAG_BYTES, plus a bitmap of received 8-byte blocks.
 * Every fragment but the last covers whole blocks (its length is a multiple
 * of 8), so a block is either received or not; the last block may be
 * partial and ends the datagram.
 */
#include "ipfrag.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/limits.h"

#define NBLOCKS ((PB_MAX_FRAG_BYTES + 7u) / 8u)
#define NBUCKETS 2048u /* power of two, >= PB_MAX_FRAG_DATAGRAMS */
#define MIN_CAP 2048u

struct dgram {
    struct pb_frag_key key;
    uint64_t first_ts;
    struct dgram *hnext;       /* hash chain */
    struct dgram *prev, *next; /* age list, oldest first */
    uint8_t *data;             /* owned, cap bytes */
    size_t cap;
    uint32_t total; /* payload length once the last fragment came */
    bool have_last;
    uint8_t first_nh;
    uint32_t nblocks; /* received blocks */
    uint8_t bits[(NBLOCKS + 7u) / 8u];
};

struct pb_ipfrag {
    uint64_t timeout_ns;
    struct dgram *buckets[NBUCKETS];
    struct dgram *oldest, *newest;
    size_t count;
    size_t bytes; /* sum of the buffers' capacities */
    struct pb_frag_stats stats;
};

static uint32_t key_hash(const struct pb_frag_key *k)
{
    uint32_t h = 2166136261u;
    const uint8_t *parts[2] = {k->src, k->dst};
    size_t n = k->v6 ? 16 : 4;
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < n; i++) {
            h = (h ^ parts[p][i]) * 16777619u;
        }
    }
    h = (h ^ k->proto) * 16777619u;
    h = (h ^ k->v6) * 16777619u;
    for (int s = 0; s < 32; s += 8) {
        h = (h ^ ((k->id >> s) & 0xffu)) * 16777619u;
    }
    return h & (NBUCKETS - 1u);
}

static bool key_eq(const struct pb_frag_key *a, const struct pb_frag_key *b)
{
    return a->v6 == b->v6 && a->proto == b->proto && a->id == b->id &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

struct pb_ipfrag *pb_ipfrag_new(uint64_t timeout_ns)
{
    struct pb_ipfrag *f = pb_calloc(1, sizeof *f);
    if (f == NULL) {
        return NULL;
    }
    f->timeout_ns = timeout_ns ? timeout_ns : PB_FRAG_TIMEOUT_NS;
    return f;
}

/* Unlinks d from the hash and the age list; frees it (and its data when
 * free_data). */
static void dgram_remove(struct pb_ipfrag *f, struct dgram *d, bool free_data)
{
    struct dgram **pp = &f->buckets[key_hash(&d->key)];
    while (*pp != NULL && *pp != d) {
        pp = &(*pp)->hnext;
    }
    if (*pp == d) {
        *pp = d->hnext;
    }
    if (d->prev != NULL) {
        d->prev->next = d->next;
    } else {
        f->oldest = d->next;
    }
    if (d->next != NULL) {
        d->next->prev = d->prev;
    } else {
        f->newest = d->prev;
    }
    f->count--;
    f->bytes -= d->cap;
    if (free_data) {
        pb_free(d->data);
    }
    pb_free(d);
}

void pb_ipfrag_free(struct pb_ipfrag *f)
{
    if (f == NULL) {
        return;
    }
    while (f->oldest != NULL) {
        dgram_remove(f, f->oldest, true);
    }
    pb_free(f);
}

void pb_ipfrag_expire(struct pb_ipfrag *f, uint64_t ts_ns)
{
    while (f->oldest != NULL && ts_ns > f->oldest->first_ts &&
           ts_ns - f->oldest->first_ts > f->timeout_ns) {
        f->stats.timeouts++;
        f->stats.dropped++;
        dgram_remove(f, f->oldest, true);
    }
}

size_t pb_ipfrag_pending(const struct pb_ipfrag *f)
{
    return f->count;
}

const struct pb_frag_stats *pb_ipfrag_stats(const struct pb_ipfrag *f)
{
    return &f->stats;
}

static struct dgram *dgram_find(struct pb_ipfrag *f, const struct pb_frag_key *key)
{
    for (struct dgram *d = f->buckets[key_hash(key)]; d != NULL; d = d->hnext) {
        if (key_eq(&d->key, key)) {
            return d;
        }
    }
    return NULL;
}

static struct dgram *dgram_create(struct pb_ipfrag *f, const struct pb_frag_key *key,
                                  uint64_t ts_ns)
{
    while (f->count >= PB_MAX_FRAG_DATAGRAMS && f->oldest != NULL) {
        f->stats.evicted++;
        f->stats.dropped++;
        dgram_remove(f, f->oldest, true);
    }
    struct dgram *d = pb_calloc(1, sizeof *d);
    if (d == NULL) {
        return NULL;
    }
    d->key = *key;
    d->first_ts = ts_ns;
    uint32_t b = key_hash(key);
    d->hnext = f->buckets[b];
    f->buckets[b] = d;
    d->prev = f->newest;
    if (f->newest != NULL) {
        f->newest->next = d;
    } else {
        f->oldest = d;
    }
    f->newest = d;
    f->count++;
    return d;
}

/* Makes d->data hold at least `need` bytes within the caps; false when it
 * cannot (the datagram must be dropped). */
static bool dgram_reserve(struct pb_ipfrag *f, struct dgram *d, size_t need)
{
    if (need <= d->cap) {
        return true;
    }
    size_t cap = d->cap ? d->cap : MIN_CAP;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > PB_MAX_FRAG_BYTES) {
        cap = PB_MAX_FRAG_BYTES;
    }
    if (cap < need) {
        return false;
    }
    size_t grow = cap - d->cap;
    /* Make room in the global budget, dropping the oldest other datagrams. */
    while (f->bytes + grow > PB_FRAG_BUDGET_BYTES && f->oldest != NULL && f->oldest != d) {
        f->stats.evicted++;
        f->stats.dropped++;
        dgram_remove(f, f->oldest, true);
    }
    if (f->bytes + grow > PB_FRAG_BUDGET_BYTES) {
        return false;
    }
    uint8_t *p = pb_realloc(d->data, cap);
    if (p == NULL) {
        return false;
    }
    d->data = p;
    d->cap = cap;
    f->bytes += grow;
    return true;
}

static bool bit_get(const struct dgram *d, uint32_t b)
{
    return (d->bits[b / 8u] >> (b % 8u)) & 1u;
}

static void bit_set(struct dgram *d, uint32_t b)
{
    d->bits[b / 8u] = (uint8_t)(d->bits[b / 8u] | (1u << (b % 8u)));
}

static enum pb_frag_result drop(struct pb_ipfrag *f, struct dgram *d)
{
    f->stats.dropped++;
    if (d != NULL) {
        dgram_remove(f, d, true);
    }
    return PB_FRAG_DROPPED;
}

enum pb_frag_result pb_ipfrag_add(struct pb_ipfrag *f, const struct pb_frag_key *key,
                                  uint64_t ts_ns, uint32_t offset, const uint8_t *data, size_t len,
                                  bool more, uint8_t first_nh, uint8_t **out, size_t *outlen,
                                  uint8_t *out_nh)
{
    *out = NULL;
    *outlen = 0;
    f->stats.fragments++;
    pb_ipfrag_expire(f, ts_ns);

    struct dgram *d = dgram_find(f, key);
    /* Fragments that cannot be part of a valid datagram. */
    if ((offset % 8u) != 0 || (size_t)offset + len > PB_MAX_FRAG_BYTES || (more && len == 0) ||
        (more && (len % 8u) != 0) || (!more && (size_t)offset + len == 0)) {
        return drop(f, d);
    }
    if (d == NULL) {
        d = dgram_create(f, key, ts_ns);
        if (d == NULL) {
            return drop(f, NULL);
        }
    }
    uint32_t end = (uint32_t)(offset + len);
    if (!more) {
        if (d->have_last && d->total != end) {
            return drop(f, d);
        }
        /* Nothing received may lie beyond the end. */
        for (uint32_t b = (end + 7u) / 8u; b < NBLOCKS; b++) {
            if (bit_get(d, b)) {
                return drop(f, d);
            }
        }
        d->have_last = true;
        d->total = end;
    } else if (d->have_last && end > d->total) {
        return drop(f, d);
    }
    if (!dgram_reserve(f, d, end)) {
        return drop(f, d);
    }
    for (uint32_t b = offset / 8u; b * 8u < end; b++) {
        uint32_t lo = b * 8u;
        uint32_t hi = lo + 8u < end ? lo + 8u : end;
        const uint8_t *src = data + (lo - offset);
        if (bit_get(d, b)) {
            if (memcmp(d->data + lo, src, hi - lo) != 0) {
                return drop(f, d); /* overlap with different bytes */
            }
            continue;
        }
        memcpy(d->data + lo, src, hi - lo);
        bit_set(d, b);
        d->nblocks++;
    }
    if (offset == 0) {
        d->first_nh = first_nh;
    }
    if (!d->have_last || d->nblocks != (d->total + 7u) / 8u) {
        return PB_FRAG_KEPT;
    }
    *out = d->data;
    *outlen = d->total;
    *out_nh = d->first_nh;
    d->data = NULL;
    f->stats.reassembled++;
    dgram_remove(f, d, false);
    return PB_FRAG_DONE;
}
