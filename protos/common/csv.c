/* SPDX-License-Identifier: Apache-2.0
 * protos/common/csv.c - SQL result tables as CSV text (see csv.h).
 */
#include "csv.h"

#include <stdint.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/utf8.h"

void pb_csv_put(struct pb_csv *b, const void *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap == 0 ? 256 : b->cap;
        while (nc < b->len + n + 1) {
            nc *= 2;
        }
        char *p = pb_realloc(b->p, nc);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

/* One field as encoding/csv writes it: quoted when it is `\.`, holds a
 * line end, a quote or a comma, or starts with a white-space rune; quotes
 * inside are doubled. */
static void field(struct pb_csv *b, const uint8_t *s, size_t n)
{
    bool quote = n == 2 && s[0] == '\\' && s[1] == '.';
    for (size_t i = 0; i < n && !quote; i++) {
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '"' || s[i] == ',') {
            quote = true;
        }
    }
    if (!quote) {
        quote = pb_utf8_space_len(s, n) > 0;
    }
    if (!quote) {
        pb_csv_put(b, s, n);
        return;
    }
    pb_csv_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            pb_csv_put(b, s + run, i - run);
            pb_csv_put(b, "\"\"", 2);
            run = i + 1;
        }
    }
    pb_csv_put(b, s + run, n - run);
    pb_csv_put(b, "\"", 1);
}

/* A field with "\n" (and "\r" when cr) spelled as two characters first. */
static void escaped_field(struct pb_csv *b, const char *s, size_t n, bool cr)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' || (cr && s[i] == '\r')) {
            extra++;
        }
    }
    if (extra == 0) {
        field(b, (const uint8_t *)s, n);
        return;
    }
    char *t = pb_malloc(n + extra + 1);
    if (t == NULL) {
        b->oom = true;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            t[o++] = '\\';
            t[o++] = 'n';
        } else if (cr && s[i] == '\r') {
            t[o++] = '\\';
            t[o++] = 'r';
        } else {
            t[o++] = s[i];
        }
    }
    field(b, (const uint8_t *)t, o);
    pb_free(t);
}

void pb_csv_line(struct pb_csv *b, char *const *v, const size_t *lens, size_t n, bool cr)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            pb_csv_put(b, ",", 1);
        }
        escaped_field(b, v[i], lens[i], cr);
    }
    pb_csv_put(b, "\n", 1);
}

char *pb_csv_end(struct pb_csv *b, size_t *outlen)
{
    if (b->oom) {
        pb_free(b->p);
        b->p = NULL;
        return NULL;
    }
    *outlen = b->len;
    return b->p;
}
