/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_psl.c - registered domain (eTLD+1) of a question name,
 * as Go's golang.org/x/net/publicsuffix.EffectiveTLDPlusOne computes it
 * (the Public Suffix List with its ICANN and private sections, and the
 * implicit "*" rule for unknown TLDs). With libpsl (PB_HAVE_PSL) the
 * newest list on the system is used; without it only the "*" rule and a
 * few well-known multi-label suffixes apply.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dns_parse.h"

/* Bumped when the list is released: every thread's cache starts anew. */
static atomic_uint psl_gen;

#ifdef PB_HAVE_PSL
#include <libpsl.h>

static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static psl_ctx_t *psl_ctx;
static bool psl_tried;

typedef const psl_ctx_t *psl_ref;

static psl_ref psl_get(void)
{
    pthread_mutex_lock(&psl_lock);
    if (!psl_tried) {
        psl_tried = true;
        psl_ctx = psl_latest(NULL);
    }
    const psl_ctx_t *c = psl_ctx != NULL ? psl_ctx : psl_builtin();
    pthread_mutex_unlock(&psl_lock);
    return c;
}

void dns_psl_load(void)
{
    (void)psl_get();
}

void dns_psl_release(void)
{
    pthread_mutex_lock(&psl_lock);
    atomic_fetch_add(&psl_gen, 1);
    if (psl_ctx != NULL) {
        psl_free(psl_ctx);
        psl_ctx = NULL;
    }
    psl_tried = false;
    pthread_mutex_unlock(&psl_lock);
}

/* The test psl_registrable_domain makes on each suffix (it passes type 0,
   this PSL_TYPE_ANY: neither picks a section, so both answer alike). */
static bool public_suffix(psl_ref c, const char *d)
{
    return psl_is_public_suffix(c, d) != 0;
}

static const char *registrable(psl_ref c, const char *name)
{
    return psl_registrable_domain(c, name);
}

#else

typedef const char *psl_ref;

static psl_ref psl_get(void)
{
    return "";
}

void dns_psl_load(void)
{
}

void dns_psl_release(void)
{
    atomic_fetch_add(&psl_gen, 1);
}

/* A few two-label public suffixes for builds without libpsl. */
static const char *const fallback[] = {
    "co.uk", "org.uk", "ac.uk",  "gov.uk", "com.au", "net.au",       "org.au",   "co.jp",
    "co.nz", "co.za",  "com.br", "com.cn", "com.mx", "in-addr.arpa", "ip6.arpa",
};

static bool public_suffix(psl_ref c, const char *s)
{
    (void)c;
    if (strchr(s, '.') == NULL) {
        return true; /* the implicit "*" rule */
    }
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        if (strcmp(s, fallback[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *registrable(psl_ref c, const char *name)
{
    const char *reg = NULL;
    const char *d = name;
    while (!public_suffix(c, d)) {
        const char *p = strchr(d, '.');
        if (p == NULL) {
            break;
        }
        reg = d;
        d = p + 1;
    }
    return reg;
}
#endif

static bool valid_name(const char *name, size_t n)
{
    /* Go refuses empty labels anywhere. */
    return n > 0 && name[0] != '.' && name[n - 1] != '.' && strstr(name, "..") == NULL;
}

const char *dns_etld_plus_one_uncached(const char *name)
{
    if (!valid_name(name, strlen(name))) {
        return NULL;
    }
    psl_ref c = psl_get();
    return c != NULL ? registrable(c, name) : NULL;
}

/* Names repeat, and so do their parent domains, while a test against the
   list costs thousands of instructions: each thread keeps the latest
   results of names and of their suffixes, direct-mapped on the exact
   bytes. Longer names, and names of more labels than libpsl looks at
   (nine), are not kept. */
enum { PSL_SLOTS = 512, PSL_KEY = 58, PSL_LABELS = 9, PSL_NONE = 0xff };
struct psl_slot {
    unsigned gen;
    uint8_t len; /* 0: empty */
    uint8_t off; /* of the result in the key, or PSL_NONE */
    char key[PSL_KEY];
};
_Static_assert(PSL_KEY < PSL_NONE, "offsets stay below PSL_NONE");
static _Thread_local struct psl_slot psl_cache[PSL_SLOTS];

const char *dns_etld_plus_one(const char *name)
{
    size_t n = strlen(name);
    if (!valid_name(name, n)) {
        return NULL;
    }
    if (n > PSL_KEY) {
        return dns_etld_plus_one_uncached(name);
    }
    /* Each suffix that starts a label, with its hash (FNV-1a over the
       bytes from the right): level 0 is the last label, k - 1 the name. */
    uint32_t hash[PSL_LABELS];
    uint8_t start[PSL_LABELS];
    int k = 0;
    uint32_t h = 2166136261u;
    for (size_t i = n; i-- > 0;) {
        h = (h ^ (uint8_t)name[i]) * 16777619u;
        if (i == 0 || name[i - 1] == '.') {
            if (k == PSL_LABELS) {
                return dns_etld_plus_one_uncached(name);
            }
            hash[k] = h;
            start[k++] = (uint8_t)i;
        }
    }
    unsigned gen = atomic_load_explicit(&psl_gen, memory_order_relaxed);
    /* the longest suffix whose result is kept */
    const char *r = NULL;
    int j = k - 1;
    for (; j >= 0; j--) {
        const char *d = name + start[j];
        size_t dl = n - start[j];
        const struct psl_slot *s = &psl_cache[hash[j] % PSL_SLOTS];
        if (s->len == dl && s->gen == gen && memcmp(s->key, d, dl) == 0) {
            r = s->off == PSL_NONE ? NULL : d + s->off;
            break;
        }
    }
    if (j == k - 1) {
        return r;
    }
    psl_ref c = psl_get();
    if (c == NULL) {
        return NULL;
    }
    /* Up from there, one label at a time, as libpsl's loop goes down: no
       result for a public suffix, else its parent's result, else itself
       (a single label that is no public suffix has none). */
    for (int i = j + 1; i < k; i++) {
        const char *d = name + start[i];
        size_t dl = n - start[i];
        if (public_suffix(c, d) || i == 0) {
            r = NULL;
        } else if (r == NULL) {
            r = d;
        }
        struct psl_slot *s = &psl_cache[hash[i] % PSL_SLOTS];
        s->gen = gen;
        s->len = (uint8_t)dl;
        s->off = r == NULL ? PSL_NONE : (uint8_t)(r - d);
        memcpy(s->key, d, dl);
    }
    return r;
}
