/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_text.c - capped growable text buffer for DNS rendering.
 */
#include "dns_text.h"

#include <string.h>

#include "beat/alloc.h"

static bool grow(struct dns_text *t, size_t need)
{
    if (t->bad) {
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
    char *p = pb_realloc(t->p, cap);
    if (p == NULL) {
        t->bad = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

void dns_text_putn(struct dns_text *t, const void *s, size_t n)
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

void dns_text_putc(struct dns_text *t, char c)
{
    dns_text_putn(t, &c, 1);
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
    pb_free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
    t->bad = false;
}

char *dns_text_take(struct dns_text *t)
{
    if (t->bad) {
        dns_text_reset(t);
        return NULL;
    }
    if (t->p == NULL) {
        return dns_strdup("");
    }
    t->p[t->len] = '\0';
    char *out = t->p;
    t->p = NULL;
    t->len = t->cap = 0;
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
