/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/fingerprint.c - SQL and URL fingerprints (see fingerprint.h).
 */
#include "beat/summary/fingerprint.h"

#include <ctype.h>
#include <string.h>

struct out {
    char *p;
    size_t len, cap; /* cap excludes the NUL */
};

static void put(struct out *o, char c)
{
    if (o->len < o->cap) {
        o->p[o->len++] = c;
    }
}

static void puts_n(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(o, s[i]);
    }
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Length of a quoted literal starting at s[0] == q (doubled quote and
 * backslash escapes); runs to the end when unterminated. */
static size_t quoted_len(const char *s, size_t n, char q)
{
    size_t i = 1;
    while (i < n) {
        if (s[i] == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (i + 1 < n && s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return n;
}

/* Length of a numeric literal at s (digits, one dot, exponent, 0x hex). */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        i = 2;
        while (i < n && isxdigit((unsigned char)s[i])) {
            i++;
        }
        return i;
    }
    while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.')) {
        i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) {
            j++;
        }
        if (j < n && isdigit((unsigned char)s[j])) {
            while (j < n && isdigit((unsigned char)s[j])) {
                j++;
            }
            i = j;
        }
    }
    return i;
}

/* Collapses "?, ?, ?" (two or more) into "?+" in place. */
static size_t collapse_lists(char *s, size_t n)
{
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        if (s[r] != '?') {
            s[w++] = s[r++];
            continue;
        }
        size_t end = r + 1, count = 1;
        for (;;) {
            size_t k = end;
            while (k < n && s[k] == ' ') {
                k++;
            }
            if (k >= n || s[k] != ',') {
                break;
            }
            k++;
            while (k < n && s[k] == ' ') {
                k++;
            }
            if (k >= n || s[k] != '?' || (k + 1 < n && s[k + 1] == '+')) {
                break;
            }
            end = k + 1;
            count++;
        }
        s[w++] = '?';
        if (count > 1) {
            s[w++] = '+';
        }
        r = end;
    }
    return w;
}

size_t pb_fp_sql(const char *sql, size_t len, bool dq_strings, char *out, size_t out_len)
{
    struct out o = {out, 0, out_len - 1};
    bool space = false;
    size_t i = 0;
    while (i < len) {
        char c = sql[i];
        if (isspace((unsigned char)c)) {
            space = true;
            i++;
            continue;
        }
        if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n') {
                i++;
            }
            space = true;
            continue;
        }
        if (c == '#' && dq_strings) { /* MySQL only; elsewhere an operator */
            while (i < len && sql[i] != '\n') {
                i++;
            }
            space = true;
            continue;
        }
        if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(sql[i] == '*' && sql[i + 1] == '/')) {
                i++;
            }
            i = i + 2 <= len ? i + 2 : len;
            space = true;
            continue;
        }
        if (space && o.len > 0) {
            put(&o, ' ');
        }
        space = false;
        if (c == '\'' || (c == '"' && dq_strings)) {
            i += quoted_len(sql + i, len - i, c);
            put(&o, '?');
            continue;
        }
        if (c == '"' || c == '`') {
            size_t q = quoted_len(sql + i, len - i, c);
            puts_n(&o, sql + i, q);
            i += q;
            continue;
        }
        if (isdigit((unsigned char)c) && (i == 0 || !ident_char(sql[i - 1]))) {
            size_t nl = number_len(sql + i, len - i);
            if (i + nl >= len || !ident_char(sql[i + nl])) {
                put(&o, '?');
                i += nl;
                continue;
            }
        }
        if (ident_char(c)) {
            while (i < len && ident_char(sql[i])) {
                put(&o, sql[i++]);
            }
            continue;
        }
        put(&o, c);
        i++;
    }
    o.len = collapse_lists(o.p, o.len);
    out[o.len] = '\0';
    return o.len;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return n > 0;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return n > 0;
}

/* 8-4-4-4-12 hex digits */
static bool is_uuid(const char *s, size_t n)
{
    static const size_t dash[] = {8, 13, 18, 23};
    if (n != 36) {
        return false;
    }
    for (size_t i = 0, d = 0; i < n; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-') {
                return false;
            }
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static bool variable_segment(const char *s, size_t n)
{
    if (all_digits(s, n) || is_uuid(s, n)) {
        return true;
    }
    /* object ids, hashes: long hex strings with at least one digit */
    if (n >= 16 && all_hex(s, n)) {
        for (size_t i = 0; i < n; i++) {
            if (isdigit((unsigned char)s[i])) {
                return true;
            }
        }
    }
    return false;
}

size_t pb_fp_url(const char *path, size_t path_len, const char *query, size_t query_len, char *out,
                 size_t out_len)
{
    struct out o = {out, 0, out_len - 1};
    size_t i = 0;
    while (i < path_len) {
        if (path[i] == '/') {
            put(&o, '/');
            i++;
            continue;
        }
        size_t j = i;
        while (j < path_len && path[j] != '/') {
            j++;
        }
        if (variable_segment(path + i, j - i)) {
            put(&o, '?');
        } else {
            puts_n(&o, path + i, j - i);
        }
        i = j;
    }
    if (query != NULL && query_len > 0) {
        put(&o, '?');
        i = 0;
        bool first = true;
        while (i < query_len) {
            size_t j = i;
            while (j < query_len && query[j] != '&') {
                j++;
            }
            if (j > i) {
                if (!first) {
                    put(&o, '&');
                }
                first = false;
                size_t k = i;
                while (k < j && query[k] != '=') {
                    k++;
                }
                puts_n(&o, query + i, k - i);
                if (k < j) {
                    puts_n(&o, "=?", 2);
                }
            }
            i = j + 1;
        }
    }
    out[o.len] = '\0';
    return o.len;
}
