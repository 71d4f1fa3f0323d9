/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_text.h - a capped, growable text buffer used to render DNS
 * names and record data. Internal to protos/dns.
 */
#ifndef PB_DNS_TEXT_H
#define PB_DNS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The longest text one rendered value may reach (a 64 KiB TXT record with
 * every byte escaped is 256 KiB). */
#define DNS_MAX_TEXT (1024u * 1024u)

/* Zero-initialised: an empty text on the heap. */
struct dns_text {
    char *p; /* owned unless local */
    size_t len, cap;
    bool bad;     /* sticky: allocation failed or cap reached */
    bool local;   /* p is the caller's buffer (dns_text_init), not owned */
    bool discard; /* keeps nothing (a validation pass) */
};

/* A text that starts in buf (cap bytes, borrowed) and moves to the heap
 * only when it outgrows it. */
void dns_text_init(struct dns_text *t, char *buf, size_t cap);
/* A text that keeps nothing: every put is dropped, it never goes bad. */
void dns_text_init_discard(struct dns_text *t);

void dns_text_putn_slow(struct dns_text *t, const void *s, size_t n);

static inline void dns_text_putn(struct dns_text *t, const void *s, size_t n)
{
    /* room for n bytes and the final NUL (cap never passes DNS_MAX_TEXT + 1);
       s may be NULL when n is 0 */
    if (n != 0 && n < t->cap - t->len) {
        memcpy(t->p + t->len, s, n);
        t->len += n;
    } else {
        dns_text_putn_slow(t, s, n);
    }
}

static inline void dns_text_putc(struct dns_text *t, char c)
{
    if (1 < t->cap - t->len) {
        t->p[t->len++] = c;
    } else {
        dns_text_putn_slow(t, &c, 1);
    }
}

void dns_text_puts(struct dns_text *t, const char *s);
void dns_text_putu(struct dns_text *t, uint64_t v);
/* "\DDD" for one byte, as miekg/dns escapes unprintable bytes. */
void dns_text_escbyte(struct dns_text *t, uint8_t b);
/* Hands the NUL-terminated text over (owned; "" when empty), NULL when bad.
 * The buffer is reset either way. */
char *dns_text_take(struct dns_text *t);
/* Frees what the text owns and empties it (a discarding text stays so). */
void dns_text_reset(struct dns_text *t);

/* Owned copy of a C string, NULL on failure. */
char *dns_strdup(const char *s);

#endif
