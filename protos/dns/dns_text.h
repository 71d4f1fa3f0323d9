/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_text.h - a capped, growable text buffer used to render DNS
 * names and record data. Internal to protos/dns.
 */
#ifndef PB_DNS_TEXT_H
#define PB_DNS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest text one rendered value may reach (a 64 KiB TXT record with
 * every byte escaped is 256 KiB). */
#define DNS_MAX_TEXT (1024u * 1024u)

struct dns_text {
    char *p; /* owned */
    size_t len, cap;
    bool bad; /* sticky: allocation failed or cap reached */
};

void dns_text_putn(struct dns_text *t, const void *s, size_t n);
void dns_text_puts(struct dns_text *t, const char *s);
void dns_text_putc(struct dns_text *t, char c);
void dns_text_putu(struct dns_text *t, uint64_t v);
/* "\DDD" for one byte, as miekg/dns escapes unprintable bytes. */
void dns_text_escbyte(struct dns_text *t, uint8_t b);
/* Hands the NUL-terminated text over (owned; "" when empty), NULL when bad.
 * The buffer is reset either way. */
char *dns_text_take(struct dns_text *t);
void dns_text_reset(struct dns_text *t);

/* Owned copy of a C string, NULL on failure. */
char *dns_strdup(const char *s);

#endif
