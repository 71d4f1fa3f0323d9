/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_psl.c - registered domain (eTLD+1) of a question name,
 * as Go's golang.org/x/net/publicsuffix.EffectiveTLDPlusOne computes it
 * (the Public Suffix List with its ICANN and private sections, and the
 * implicit "*" rule for unknown TLDs). With libpsl (PB_HAVE_PSL) the
 * newest list on the system is used; without it only the "*" rule and a
 * few well-known multi-label suffixes apply.
 */
#include <pthread.h>
#include <string.h>

#include "dns_parse.h"

#ifdef PB_HAVE_PSL
#include <libpsl.h>

static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static psl_ctx_t *psl_ctx;
static bool psl_tried;

static const psl_ctx_t *psl_get(void)
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
    if (psl_ctx != NULL) {
        psl_free(psl_ctx);
        psl_ctx = NULL;
    }
    psl_tried = false;
    pthread_mutex_unlock(&psl_lock);
}

static const char *registrable(const char *name)
{
    const psl_ctx_t *c = psl_get();
    if (c == NULL) {
        return NULL;
    }
    return psl_registrable_domain(c, name);
}

#else

void dns_psl_load(void)
{
}

void dns_psl_release(void)
{
}

/* A few two-label public suffixes for builds without libpsl. */
static const char *const fallback[] = {
    "co.uk", "org.uk", "ac.uk",  "gov.uk", "com.au", "net.au",       "org.au",   "co.jp",
    "co.nz", "co.za",  "com.br", "com.cn", "com.mx", "in-addr.arpa", "ip6.arpa",
};

static bool is_suffix(const char *s)
{
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

static const char *registrable(const char *name)
{
    const char *reg = NULL;
    const char *d = name;
    while (!is_suffix(d)) {
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

const char *dns_etld_plus_one(const char *name)
{
    size_t n = strlen(name);
    /* Go refuses empty labels anywhere. */
    if (n == 0 || name[0] == '.' || name[n - 1] == '.' || strstr(name, "..") != NULL) {
        return NULL;
    }
    return registrable(name);
}
