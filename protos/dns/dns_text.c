/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_text.c - capped growable text buffer for DNS rendering.
 */
#include "dns_text.h"

#include <string.h>

#include "beat/alloc.h"

void dns_text_init(struct dns_text *t, char *buf, size_t cap)
{
    t->p = buf;
    t->len = 0;
    t->cap = cap < DNS_MAX_TEXT + 1 ? cap : DNS_MAX_TEXT + 1;
    t->bad = false;
    t->local = true;
    t->discard = false;
}

void dns_text_init_discard(struct dns_text *t)
{
    memset(t, 0, sizeof *t);
    t->discard = true;
}

static bool grow(struct dns_text *t, size_t need)
{
    if (t->bad || t->discard) {
        return false;
    }
    if (need > DNS_MAX_TEXT - t->len) {
        t->bad = true;
        return false;
    }
    size_t want = t->len + need + 1;
    if (want <= t->cap) {
        return true;
    }
    size_t cap = t->cap ? t->cap : 64;
    while (cap < want) {
        cap *= 2;
    }
    if (cap > DNS_MAX_TEXT + 1) {
        cap = DNS_MAX_TEXT + 1; /* want fits: it is at most that */
    }
    char *p;
    if (t->local) {
        p = pb_malloc(cap);
        if (p != NULL && t->len > 0) {
            memcpy(p, t->p, t->len);
        }
    } else {
        p = pb_realloc(t->p, cap);
    }
    if (p == NULL) {
        t->bad = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    t->local = false;
    return true;
}

void dns_text_putn_slow(struct dns_text *t, const void *s, size_t n)
{
    if (n == 0 || !grow(t, n)) {
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

void dns_text_puts(struct dns_text *t, const char *s)
{
    dns_text_putn(t, s, strlen(s));
}

void dns_text_putu(struct dns_text *t, uint64_t v)
{
    char buf[24];
    char *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    dns_text_putn(t, p, (size_t)(buf + sizeof buf - p));
}

void dns_text_escbyte(struct dns_text *t, uint8_t b)
{
    char buf[5];
    buf[0] = '\\';
    buf[1] = (char)('0' + b / 100);
    buf[2] = (char)('0' + (b / 10) % 10);
    buf[3] = (char)('0' + b % 10);
    dns_text_putn(t, buf, 4);
}

void dns_text_reset(struct dns_text *t)
{
    if (!t->local) {
        pb_free(t->p);
    }
    bool discard = t->discard;
    memset(t, 0, sizeof *t);
    t->discard = discard;
}

char *dns_text_take(struct dns_text *t)
{
    if (t->bad) {
        dns_text_reset(t);
        return NULL;
    }
    if (t->p == NULL) {
        dns_text_reset(t);
        return dns_strdup("");
    }
    char *out;
    if (t->local) {
        out = pb_malloc(t->len + 1);
        if (out != NULL) {
            memcpy(out, t->p, t->len);
            out[t->len] = '\0';
        }
    } else {
        t->p[t->len] = '\0';
        out = t->p;
        t->p = NULL;
    }
    dns_text_reset(t);
    return out;
}

char *dns_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = pb_malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n + 1);
    }
    return p;
}
