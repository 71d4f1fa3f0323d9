/* SPDX-License-Identifier: Apache-2.0
 * publisher/codec.c - event serialisation as libbeat's json and format
 * codecs write it (go-structform's JSON visitor): our own writer over
 * jansson values, so key order, string escaping and float formatting match
 * Beats rather than jansson's defaults.
 */
#include "publisher/codec.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/utf8.h"

/* ---- buffer ------------------------------------------------------------ */

int pb_codec_buf_append(struct pb_codec_buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (b->len + n < b->len) {
        return -PB_ELIMIT;
    }
    if (b->len + n > b->cap) {
        if (b->fixed) {
            return -PB_ELIMIT;
        }
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n) {
            if (ncap > SIZE_MAX / 2) {
                return -PB_ELIMIT;
            }
            ncap *= 2;
        }
        char *np = pb_realloc(b->p, ncap);
        if (np == NULL) {
            return -PB_ENOMEM;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void pb_codec_buf_free(struct pb_codec_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (!b->fixed) {
        pb_free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

/* ---- JSON writer ------------------------------------------------------- */

struct jw {
    struct pb_codec_buf *b;
    size_t limit; /* absolute length b may reach */
    bool pretty;
    bool html;
    bool inexact; /* decoding the output would not give the same values back */
    bool no_frozen; /* encoding a frozen value itself: walk it */
    bool no_meta;   /* leave the event's @metadata out (a bulk document) */
    int err;
    struct pb_enc_spans *sp; /* where @metadata and agent went, or NULL */
    size_t base;             /* the event's first byte in b */
    /* the root's agent, ecs and host of pb_ev_add_builtins (pb_event.tail,
       when valid and w->sp is NULL), or NULL */
    const struct pb_member *tail;
};

static void put_slow(struct jw *w, const void *p, size_t n)
{
    if (w->err != 0) {
        return;
    }
    if (w->b->len + n > w->limit) {
        w->err = -PB_ELIMIT;
        return;
    }
    w->err = pb_codec_buf_append(w->b, p, n);
}

/* The fast path: room in the buffer (then below the limit as well). */
static inline void put(struct jw *w, const void *p, size_t n)
{
    struct pb_codec_buf *b = w->b;
    if (n == 0) {
        return;
    }
    if (w->err == 0 && n <= b->cap - b->len && b->len + n <= w->limit) {
        pb_copy_short(b->p + b->len, p, n);
        b->len += n;
        return;
    }
    put_slow(w, p, n);
}

static inline void putc1(struct jw *w, char c)
{
    struct pb_codec_buf *b = w->b;
    if (w->err == 0 && b->len < b->cap && b->len < w->limit) {
        b->p[b->len++] = c;
        return;
    }
    put_slow(w, &c, 1);
}

static void putstr(struct jw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline(struct jw *w, int depth)
{
    if (!w->pretty) {
        return;
    }
    putc1(w, '\n');
    for (int i = 0; i < depth; i++) {
        put(w, "  ", 2);
    }
}

/* Byte classes for put_string: 0 copied as is, 1 escaped, 2 maybe escaped
   when escape_html, 3 start of a multi-byte sequence (checked). */
static const unsigned char str_class[256] = {
    ['\0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00-0x0f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,           /* 0x10-0x1f */
    ['"'] = 1, ['\\'] = 1, ['<'] = 2, ['>'] = 2, ['&'] = 2,
    [0x80] = 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x80-0x8f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0x90-0x9f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xa0-0xaf */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xb0-0xbf */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xc0-0xcf */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xd0-0xdf */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xe0-0xef */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,           /* 0xf0-0xff */
};

/* True when none of the eight bytes in x needs escaping (JSON without
   escape_html): all are >= 0x20, < 0x80, and neither '"' nor '\\'. */
static inline bool plain8(uint64_t x)
{
    return pb_json_plain8(x);
}

/* Room for n more bytes without passing the limit (grown when needed);
   false leaves the buffer as it was, and the caller takes the checked path. */
static bool reserve_slow(struct jw *w, size_t n)
{
    struct pb_codec_buf *b = w->b;
    if (w->err != 0 || n > w->limit - b->len || b->fixed) {
        return false;
    }
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->len < n) {
        if (ncap > SIZE_MAX / 2) {
            return false;
        }
        ncap *= 2;
    }
    char *np = pb_realloc(b->p, ncap);
    if (np == NULL) {
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

static inline bool reserve(struct jw *w, size_t n)
{
    struct pb_codec_buf *b = w->b;
    if (w->err == 0 && n <= b->cap - b->len && n <= w->limit - b->len) {
        return true;
    }
    return reserve_slow(w, n);
}

/* A write that has no checked path failed to reserve its room: the
   encoding fails (the limit or a fixed buffer's end; else memory). */
static void no_room(struct jw *w, size_t n)
{
    if (w->err == 0) {
        w->err = w->b->fixed || n > w->limit - w->b->len ? -PB_ELIMIT : -PB_ENOMEM;
    }
}
/* Strings up to this long are written straight into a buffer reserved for
   the worst case (6 output bytes per input byte); longer ones go through
   the checked writer so that a large body does not reserve six times its
   size. */
#define FAST_STR_MAX 65536u

static const char hexdig[] = "0123456789abcdef";

#ifdef __SSE2__
/* The escapes of the ASCII bytes put_string escapes (without escape_html):
   the control bytes, '"' and '\\' (\u00XX: six bytes, the others two),
   eight bytes each for whole copies, the last one the escape's length. */
#define HEXD(x) ((x) < 10 ? '0' + (x) : 'a' + (x)-10)
#define ESC_U(c) [c] = {'\\', 'u', '0', '0', HEXD((c) >> 4), HEXD((c)&15), 0, 6}
#define ESC_2(c, e) [c] = {'\\', e, 0, 0, 0, 0, 0, 2}
static const char esc_text[128][8] = {
    ESC_U(0x00),      ESC_U(0x01),      ESC_U(0x02),     ESC_U(0x03),       ESC_U(0x04),
    ESC_U(0x05),      ESC_U(0x06),      ESC_U(0x07),     ESC_U(0x08),       ESC_U(0x0b),
    ESC_U(0x0c),      ESC_U(0x0e),      ESC_U(0x0f),     ESC_U(0x10),       ESC_U(0x11),
    ESC_U(0x12),      ESC_U(0x13),      ESC_U(0x14),     ESC_U(0x15),       ESC_U(0x16),
    ESC_U(0x17),      ESC_U(0x18),      ESC_U(0x19),     ESC_U(0x1a),       ESC_U(0x1b),
    ESC_U(0x1c),      ESC_U(0x1d),      ESC_U(0x1e),     ESC_U(0x1f),       ESC_2('\t', 't'),
    ESC_2('\n', 'n'), ESC_2('\r', 'r'), ESC_2('"', '"'), ESC_2('\\', '\\'),
};
#undef ESC_2
#undef ESC_U
#undef HEXD

/* The blocks of sixteen bytes of p from i on that are followed by sixteen
 * more (their copies read that far), without escape_html: a block with
 * nothing to escape is copied whole; in one with a few, each escape comes
 * from esc_text (a quote or backslash: a backslash before it) and the
 * plain bytes between them are copied sixteen at a time (o has room: 6
 * bytes for each input byte): no branch per byte for the CPU to guess
 * wrong in text full of quotes. It stops at the block of a non-ASCII byte
 * (or a NUL in a key), which put_string_fast checks one by one; returns
 * where it stopped, *op the output's end. */
static size_t escape_blocks(char **op, const unsigned char *p, size_t i, size_t len, bool key)
{
    char *o = *op;
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (len - i >= 32) {
        const unsigned char *blk = p + i;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)blk);
        /* '"' and '\\'; control bytes and (signed: negative) bytes >= 0x80 */
        unsigned mq = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        unsigned mc = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, space));
        if ((mq | mc) == 0) {
            memcpy(o, blk, 16);
            o += 16;
            i += 16;
            continue;
        }
        const unsigned char *s = blk; /* the first byte not written */
        if (mc == 0) {
            /* quotes and backslashes only (JSON in a string): each is
               the backslash written before it, then copied with the
               bytes after it */
            do {
                const unsigned char *q = blk + (unsigned)__builtin_ctz(mq);
                memcpy(o, s, 16);
                o += q - s;
                *o++ = '\\';
                s = q;
                mq &= mq - 1;
            } while (mq != 0);
        } else {
            /* bytes >= 0x80 (their sign bits), and NULs in a key */
            unsigned stop = (unsigned)_mm_movemask_epi8(v);
            if (key) {
                stop |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
            }
            if (stop != 0) {
                break;
            }
            unsigned m = mq | mc;
            do {
                const unsigned char *q = blk + (unsigned)__builtin_ctz(m);
                unsigned c = *q; /* read before the stores, which may alias it */
                memcpy(o, s, 16);
                o += q - s;
                memcpy(o, esc_text[c], 8);
                o += esc_text[c][7];
                s = q + 1;
                m &= m - 1;
            } while (m != 0);
        }
        memcpy(o, s, 16);
        o += blk + 16 - s;
        i += 16;
    }
    *op = o;
    return i;
}
#endif

/* put_string over reserved room: o has 6 * len + 2 bytes; returns the end.
   Plain runs are copied while they are scanned, eight bytes a step: most
   strings of an event are short keys and values, for which a memcpy call
   per run cost more than the copy. */
static char *put_string_fast(char *o, const unsigned char *p, size_t len, bool html, bool key,
                             bool *inexact)
{
    size_t i = 0;
    *o++ = '"';
#ifdef __SSE2__
    if (!html && len >= 32) {
        i = escape_blocks(&o, p, 0, len, key);
    }
#endif
    while (i < len) {
#ifdef __SSE2__
        /* sixteen bytes a step, copied as they are scanned (o has room:
           6 bytes for each of them), up to the next byte to look at */
        unsigned m = 0;
        while (len - i >= 16 && (m = pb_json_special16(p + i, html)) == 0) {
            memcpy(o, p + i, 16);
            o += 16;
            i += 16;
        }
        if (m != 0) {
            unsigned k = (unsigned)__builtin_ctz(m);
            memcpy(o, p + i, 16);
            o += k;
            i += k;
            goto special; /* p[i] is one: no need to scan for it again */
        }
#endif
        if (!html) {
            while (len - i >= 8) {
                uint64_t x;
                memcpy(&x, p + i, 8);
                if (!plain8(x)) {
                    break;
                }
                memcpy(o, &x, 8);
                o += 8;
                i += 8;
            }
        }
        if (!html && i < len && len >= 8 && len - i < 8) {
            /* the last few bytes: one overlapping 8-byte step */
            uint64_t x;
            memcpy(&x, p + len - 8, 8);
            if (plain8(x)) {
                memcpy(o - (8 - (len - i)), &x, 8);
                o += len - i;
                i = len;
                break;
            }
        }
        while (i < len && str_class[p[i]] == 0) {
            *o++ = (char)p[i++];
        }
        if (i >= len) {
            break;
        }
#ifdef __SSE2__
    special:;
#endif
        unsigned c = p[i];
        if (str_class[c] == 2 && !html) {
            *o++ = (char)c;
            i++;
            continue;
        }
        if (c < 0x80) {
            o[0] = '\\';
            switch (c) {
            case '"':
            case '\\':
                o[1] = (char)c;
                o += 2;
                break;
            case '\n':
                o[1] = 'n';
                o += 2;
                break;
            case '\r':
                o[1] = 'r';
                o += 2;
                break;
            case '\t':
                o[1] = 't';
                o += 2;
                break;
            default: /* other control bytes, and <, >, & with escape_html */
                if (c == 0 && key) {
                    *inexact = true; /* jansson does not read such keys */
                }
                o[1] = 'u';
                o[2] = '0';
                o[3] = '0';
                o[4] = hexdig[c >> 4];
                o[5] = hexdig[c & 0xf];
                o += 6;
                break;
            }
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t adv = pb_utf8_decode(p + i, len - i, &cp);
        if (adv == 0) {
            memcpy(o, "\\ufffd", 6); /* invalid byte: replaced, as Go does */
            o += 6;
            *inexact = true;
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            memcpy(o, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            o += 6;
            i += adv;
        } else {
            memcpy(o, p + i, adv);
            o += adv;
            i += adv;
        }
    }
    *o++ = '"';
    return o;
}

/* key: s is an object key (a NUL in it makes the encoding inexact). */
static void put_string(struct jw *w, const char *s, size_t len, bool key)
{
    if (len <= FAST_STR_MAX && reserve(w, 6 * len + 2)) {
        struct pb_codec_buf *b = w->b;
        char *end = put_string_fast(b->p + b->len, (const unsigned char *)s, len, w->html, key,
                                    &w->inexact);
        b->len = (size_t)(end - b->p);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0;
    size_t i = 0;
    putc1(w, '"');
    while (i < len) {
        /* the common case: a run of plain ASCII copied at once, eight
           bytes per step while none is a control byte, '"', '\\' or
           non-ASCII (and, with escape_html, '<' '>' '&': table only) */
        if (!w->html) {
            while (len - i >= 8) {
                uint64_t x;
                memcpy(&x, p + i, 8);
                if (!plain8(x)) {
                    break;
                }
                i += 8;
            }
        }
        while (i < len && str_class[p[i]] == 0) {
            i++;
        }
        if (i >= len) {
            break;
        }
        unsigned c = p[i];
        unsigned k = str_class[c];
        const char *esc = NULL;
        char ubuf[7];
        size_t adv = 1;
        if (k == 2 && !w->html) {
            i++;
            continue;
        }
        if (c < 0x80) {
            if (c == '"') {
                esc = "\\\"";
            } else if (c == '\\') {
                esc = "\\\\";
            } else if (c == '\n') {
                esc = "\\n";
            } else if (c == '\r') {
                esc = "\\r";
            } else if (c == '\t') {
                esc = "\\t";
            } else {
                /* other control bytes, and <, >, & with escape_html */
                if (c == 0 && key) {
                    w->inexact = true; /* jansson does not read such keys */
                }
                ubuf[0] = '\\';
                ubuf[1] = 'u';
                ubuf[2] = '0';
                ubuf[3] = '0';
                ubuf[4] = hex[c >> 4];
                ubuf[5] = hex[c & 0xf];
                ubuf[6] = '\0';
                esc = ubuf;
            }
        } else {
            uint32_t cp = 0;
            adv = pb_utf8_decode(p + i, len - i, &cp);
            if (adv == 0) {
                esc = "\\ufffd"; /* invalid byte: replaced, as Go does */
                adv = 1;
                w->inexact = true;
            } else if (cp == 0x2028) {
                esc = "\\u2028";
            } else if (cp == 0x2029) {
                esc = "\\u2029";
            }
        }
        if (esc != NULL) {
            put(w, s + start, i - start);
            putstr(w, esc);
            start = i + adv;
        }
        i += adv;
    }
    put(w, s + start, len - start);
    putc1(w, '"');
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64), which go-structform uses: the
 * shortest digits that read back as f; exponent form ("1.5e+06", "1e-05")
 * when the decimal exponent is < -4 or >= 6, plain decimals otherwise. */
static void put_real(struct jw *w, double f)
{
    char buf[64];
    /* a float written without '.' or an exponent reads back as an integer */
    if (isnan(f) || isinf(f)) {
        putstr(w, "null"); /* the json codec ignores invalid floats */
        w->inexact = true;
        return;
    }
    if (f == 0) {
        putstr(w, signbit(f) ? "-0" : "0");
        w->inexact = true;
        return;
    }
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f) {
            break;
        }
    }
    if (prec > 17) {
        prec = 17;
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
    }
    /* buf: [-]d.ddde[+-]XX; digits count = prec, exponent after 'e' */
    const char *e = strchr(buf, 'e');
    int exp = e != NULL ? (int)strtol(e + 1, NULL, 10) : 0;
    if (exp < -4 || exp >= 6) {
        putstr(w, buf); /* C's %e form is Go's: at least two exponent digits */
        return;
    }
    int decimals = prec - 1 - exp;
    if (decimals <= 0) {
        decimals = 0;
        w->inexact = true;
    }
    snprintf(buf, sizeof buf, "%.*f", decimals, f);
    putstr(w, buf);
}

static void put_value(struct jw *w, const json_t *v, int depth, bool top);

static void put_int(struct jw *w, int64_t iv)
{
    if (reserve(w, 20)) { /* "-9223372036854775808" */
        struct pb_codec_buf *b = w->b;
        b->len = (size_t)(pb_jw_int(b->p + b->len, iv) - b->p);
        return;
    }
    char buf[32];
    char *e = buf + sizeof buf, *d = pb_int_text(iv, e);
    put(w, d, (size_t)(e - d));
}
static void put_member(struct jw *w, const char *key, size_t klen, const json_t *val, int depth,
                       bool *first)
{
    if (!*first) {
        putc1(w, ',');
    }
    *first = false;
    newline(w, depth + 1);
    put_string(w, key, klen, true);
    putc1(w, ':');
    if (w->pretty) {
        putc1(w, ' ');
    }
    put_value(w, val, depth + 1, false);
}

static void put_object(struct jw *w, const json_t *v, int depth, bool top)
{
    bool first = true;
    const char *key;
    size_t klen;
    json_t *val;
    if (json_object_size(v) == 0) {
        putstr(w, "{}");
        return;
    }
    putc1(w, '{');
    if (top) {
        /* Beats writes @timestamp, then @metadata, then the fields */
        const json_t *ts = json_object_get(v, "@timestamp");
        const json_t *meta = json_object_get(v, "@metadata");
        if (ts != NULL) {
            put_member(w, "@timestamp", 10, ts, depth, &first);
        }
        if (meta != NULL) {
            put_member(w, "@metadata", 9, meta, depth, &first);
        }
    }
    /* the iterator calls directly: json_object_keylen_foreach converts
       between keys and iterators twice per member */
    for (void *it = json_object_iter((json_t *)v); it != NULL;
         it = json_object_iter_next((json_t *)v, it)) {
        key = json_object_iter_key(it);
        klen = json_object_iter_key_len(it);
        val = json_object_iter_value(it);
        if (top && key[0] == '@' &&
            (strcmp(key, "@timestamp") == 0 || strcmp(key, "@metadata") == 0)) {
            continue;
        }
        put_member(w, key, klen, val, depth, &first);
        if (w->err != 0) {
            return;
        }
    }
    newline(w, depth);
    putc1(w, '}');
}

static int json_encode(const json_t *v, bool pretty, bool escape_html, struct pb_codec_buf *b,
                       bool *exact, bool no_frozen);

/* A frozen value's compact encoding, made once (pb_ev_frozen_put). */
static int frozen_enc(const json_t *v, char **out, size_t *len, bool *inexact)
{
    struct pb_codec_buf b = {0};
    bool exact = false;
    int rc = json_encode(v, false, false, &b, &exact, true);
    if (rc < 0) {
        pb_codec_buf_free(&b);
        return rc;
    }
    *out = b.p;
    *len = b.len;
    *inexact = !exact;
    return 0;
}

static void frozen_put(void *ctx, const char *p, size_t n)
{
    put(ctx, p, n);
}

/* Objects that several events share (refcount > 1) may be frozen
   templates (beat/event.h): written from their cached compact encoding. */
static bool put_frozen(struct jw *w, const json_t *v, bool borrowed)
{
    if (w->pretty || w->html || w->no_frozen || (v->refcount < 2 && !borrowed) ||
        !pb_ev_any_frozen()) {
        return false;
    }
    bool inexact = false;
    if (pb_ev_frozen_put(v, frozen_enc, frozen_put, w, &inexact) != 1) {
        return false;
    }
    w->inexact = w->inexact || inexact;
    return true;
}

static void put_value(struct jw *w, const json_t *v, int depth, bool top)
{
    if (w->err != 0) {
        return;
    }
    if (depth > 256) { /* jansson values are acyclic; this is a sanity cap */
        w->err = -PB_ELIMIT;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (top || !put_frozen(w, v, false)) {
            put_object(w, v, depth, top);
        }
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) {
            putstr(w, "[]");
            break;
        }
        putc1(w, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                putc1(w, ',');
            }
            newline(w, depth + 1);
            put_value(w, json_array_get(v, i), depth + 1, false);
        }
        newline(w, depth);
        putc1(w, ']');
        break;
    }
    case JSON_STRING:
        put_string(w, json_string_value(v), json_string_length(v), false);
        break;
    case JSON_INTEGER:
        put_int(w, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(w, json_real_value(v));
        break;
    case JSON_TRUE:
        putstr(w, "true");
        break;
    case JSON_FALSE:
        putstr(w, "false");
        break;
    case JSON_NULL:
    default:
        putstr(w, "null");
        break;
    }
}

static int json_encode(const json_t *v, bool pretty, bool escape_html, struct pb_codec_buf *b,
                       bool *exact, bool no_frozen)
{
    size_t start = b->len;
    struct jw w = {
        .b = b,
        .limit = start + PB_CODEC_MAX_EVENT_BYTES,
        .pretty = pretty,
        .html = escape_html,
        .inexact = false,
        .no_frozen = no_frozen,
        .err = 0,
    };
    if (v == NULL) {
        return -PB_EINVAL;
    }
    put_value(&w, v, 0, true);
    if (w.err != 0) {
        b->len = start;
    }
    if (exact != NULL) {
        *exact = w.err == 0 && !w.inexact;
    }
    return w.err;
}

int pb_json_encode(const json_t *v, bool pretty, bool escape_html, struct pb_codec_buf *b)
{
    return json_encode(v, pretty, escape_html, b, NULL, false);
}

int pb_json_encode_exact(const json_t *v, struct pb_codec_buf *b, bool *exact)
{
    return json_encode(v, false, false, b, exact, false);
}

/* ---- events in their arena (beat/event_dom.h) ---------------------------- */

static void put_dom_node(struct jw *w, const pb_node *n, int depth, bool top);

/* A member's value (its key written). */
static void put_dom_value(struct jw *w, const struct pb_member *m, int depth)
{
    switch (m->kind) {
    case PB_VK_STR:
        if ((m->flags & PB_MF_PLAIN_STR) && !w->html && reserve(w, m->slen + 2)) {
            char *o = w->b->p + w->b->len;
            w->b->len = (size_t)(pb_jw_quoted(o, m->u.s, m->slen) - w->b->p);
        } else {
            put_string(w, m->u.s, m->slen, false);
        }
        break;
    case PB_VK_INT:
        put_int(w, m->u.i);
        break;
    case PB_VK_REAL:
        put_real(w, m->u.r);
        break;
    case PB_VK_TRUE:
        putstr(w, "true");
        break;
    case PB_VK_FALSE:
        putstr(w, "false");
        break;
    case PB_VK_OBJ:
    case PB_VK_ARR:
        if (m->u.n->enc != NULL && !w->pretty && !w->html) {
            put(w, m->u.n->enc, m->u.n->enc_len); /* made with the node, unchanged since */
        } else {
            put_dom_node(w, m->u.n, depth + 1, false);
        }
        break;
    case PB_VK_JSON:
        /* a borrowed value is a frozen one: its cached encoding */
        if (!(m->flags & PB_MF_BORROWED) || !json_is_object(m->u.j) ||
            !put_frozen(w, m->u.j, true)) {
            put_value(w, m->u.j, depth + 1, false);
        }
        break;
    case PB_VK_RAW:
        if (!w->pretty && !w->html) {
            put(w, m->u.s, m->slen); /* the compact text itself */
        } else {
            json_t *j = json_loadb(m->u.s, m->slen, 0, NULL);
            if (j == NULL) {
                w->err = w->err != 0 ? w->err : -PB_ENOMEM;
            } else {
                put_value(w, j, depth + 1, false);
                json_decref(j);
            }
        }
        break;
    case PB_VK_NULL:
    default:
        putstr(w, "null");
        break;
    }
}

static void put_dom_member(struct jw *w, const pb_node *n, const struct pb_member *m, int depth,
                           bool *first)
{
    bool comma = !*first;
    *first = false;
    if (comma) {
        putc1(w, ',');
    }
    newline(w, depth + 1);
    if (!n->arr) {
        put_string(w, m->key, m->klen, true);
        putc1(w, ':');
        if (w->pretty) {
            putc1(w, ' ');
        }
    }
    put_dom_value(w, m, depth);
}

static void put_compact_node(struct jw *w, const pb_node *n, int depth);

/* A borrowed (frozen) object's cached encoding, copied straight (in compact
   output): what put_dom_value writes through put_frozen, without its
   steps. False when it has none yet (then put_dom_value makes it). */
static inline bool put_borrowed(struct jw *w, const struct pb_member *m)
{
    size_t len;
    bool inexact;
    const char *e;
    if (!(m->flags & PB_MF_BORROWED) || w->no_frozen || !json_is_object(m->u.j) ||
        (e = pb_ev_frozen_enc(m->u.j, &len, &inexact)) == NULL || !reserve(w, len)) {
        return false;
    }
    memcpy(w->b->p + w->b->len, e, len);
    w->b->len += len;
    w->inexact = w->inexact || inexact;
    return true;
}

/* Runs of frozen members: most events end with the same few members
 * holding frozen values (agent, ecs, host), which put_borrowed would
 * write one by one (a lookup, a copy and the member's steps each). A
 * thread keeps the encodings of the runs it met last, as the members
 * write them (",\"agent\":{...},\"ecs\":{...}"), and writes a run that
 * has the same keys and values again in one copy. They hold while the
 * frozen values are what they were (pb_ev_frozen_epoch): a value an
 * event holds stays frozen, so the epoch changes before its address can
 * hold another. */
enum { RUN_MAX = 6, RUN_SLOTS = 4, RUN_BYTES = 4096 };
struct frozen_run {
    uint32_t n; /* members; 0: an empty slot */
    uint32_t len;
    unsigned epoch;
    bool inexact;
    bool builtins; /* its keys are agent, ecs and host (a pb_event.tail's) */
    const json_t *v[RUN_MAX];
    /* each member's key length and tag (pb_key_tag), as key_id makes them
       into one word: compared at once */
    uint64_t kid[RUN_MAX];
    /* the keys, as enc holds them (a member's key may be in the arena of
       an event gone since) */
    uint32_t key_at[RUN_MAX];
    char enc[RUN_BYTES];
};
static _Thread_local struct {
    struct frozen_run slot[RUN_SLOTS];
    unsigned next; /* the slot a new run takes */
    unsigned hit;  /* the slot that matched last: tried first */
} runs;

/* A member's key length and tag in one word. */
static inline uint64_t key_id(const struct pb_member *m)
{
    return (uint64_t)m->tag << 32 | m->klen;
}

/* The same for a key. */
static inline uint64_t key_id_of(const char *key, size_t klen)
{
    return (uint64_t)pb_key_tag(key, klen) << 32 | klen;
}

/* A member put_borrowed would write (its key as it is). */
static inline bool run_member(const struct pb_member *m)
{
    return m->kind == PB_VK_JSON &&
           (m->flags & (PB_MF_BORROWED | PB_MF_PLAIN_KEY)) == (PB_MF_BORROWED | PB_MF_PLAIN_KEY) &&
           json_is_object(m->u.j);
}

/* Whether the n bytes at a and b are the same: keys, most of them under
   16 bytes, compared without a call. */
static inline bool short_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n < 4) { /* the first, middle and last bytes are all of them */
        return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
    }
    return memcmp(a, b, n) == 0;
}

/* Whether the members from m on (before end, none of them skip1 or skip2)
   start with run r's: its last member then, else NULL. The value first:
   what differs most often, and (a frozen value is an object, and stays
   one) all that run_member asks of it. */
static inline const struct pb_member *
run_matches(const struct frozen_run *r, const struct pb_member *m, const struct pb_member *end,
            const struct pb_member *skip1, const struct pb_member *skip2)
{
    const unsigned flags = PB_MF_BORROWED | PB_MF_PLAIN_KEY;
    const struct pb_member *last = NULL;
    for (uint32_t i = 0; i < r->n; i++, m = m->next) {
        if (m == end || m->u.j != r->v[i] || m == skip1 || m == skip2 || key_id(m) != r->kid[i] ||
            m->kind != PB_VK_JSON || (m->flags & flags) != flags ||
            !short_eq(m->key, r->enc + r->key_at[i], m->klen)) {
            return NULL;
        }
        last = m;
    }
    return last;
}

/* A new run for the members from m on (at least two), in the slot used
   longest ago; NULL when they are no such run (or it does not fit, or a
   value has no encoding yet: put_dom_value makes it). */
static const struct frozen_run *run_make(const struct pb_member *m, const struct pb_member *end,
                                         const struct pb_member *skip1,
                                         const struct pb_member *skip2, unsigned epoch)
{
    struct frozen_run *r = &runs.slot[runs.next];
    uint32_t n = 0;
    size_t len = 0;
    bool inexact = false;
    for (; m != end && m != skip1 && m != skip2 && n < RUN_MAX && run_member(m); m = m->next) {
        size_t elen;
        bool einexact;
        const char *e = pb_ev_frozen_enc(m->u.j, &elen, &einexact);
        if (e == NULL || elen > RUN_BYTES || m->klen + 4 > RUN_BYTES - elen ||
            len > RUN_BYTES - elen - m->klen - 4) {
            break;
        }
        char *o = r->enc + len;
        *o++ = ',';
        r->key_at[n] = (uint32_t)(o + 1 - r->enc);
        o = pb_jw_quoted(o, m->key, m->klen);
        *o++ = ':';
        memcpy(o, e, elen);
        len = (size_t)(o + elen - r->enc);
        inexact = inexact || einexact;
        r->v[n] = m->u.j;
        r->kid[n] = key_id(m);
        n++;
    }
    if (n < 2) {
        r->n = 0;
        return NULL;
    }
    r->n = n;
    r->len = (uint32_t)len;
    r->epoch = epoch;
    r->inexact = inexact;
    r->builtins = n == 3 && r->kid[0] == key_id_of(PB_KEY("agent")) &&
                  r->kid[1] == key_id_of(PB_KEY("ecs")) && r->kid[2] == key_id_of(PB_KEY("host")) &&
                  memcmp(r->enc + r->key_at[0], "agent", 5) == 0 &&
                  memcmp(r->enc + r->key_at[1], "ecs", 3) == 0 &&
                  memcmp(r->enc + r->key_at[2], "host", 4) == 0;
    runs.next = (runs.next + 1) % RUN_SLOTS;
    return r;
}

/* Writes the run of frozen members that starts at m (before end, without
   skip1 and skip2) from this thread's runs, first as put_compact_members
   has it; returns its last member, NULL when nothing was written. */
static const struct pb_member *put_run(struct jw *w, const struct pb_member *m,
                                       const struct pb_member *end, const struct pb_member *skip1,
                                       const struct pb_member *skip2, bool first)
{
    if (m->next == end) {
        return NULL; /* a run has two members at least */
    }
    unsigned epoch = pb_ev_frozen_epoch();
    const struct frozen_run *r = &runs.slot[runs.hit];
    const struct pb_member *last = NULL;
    if (m == w->tail) {
        /* the builtins' agent, ecs and host: their keys are known, only
           their values are compared */
        const struct pb_member *e = m->next, *h = e->next;
        for (unsigned i = 0; i < RUN_SLOTS && last == NULL; i++) {
            const struct frozen_run *t = &runs.slot[(runs.hit + i) % RUN_SLOTS];
            if (t->builtins && t->epoch == epoch && t->v[0] == m->u.j && t->v[1] == e->u.j &&
                t->v[2] == h->u.j) {
                r = t;
                last = h;
            }
        }
        /* none yet: made for them, not matched to a shorter one */
        const struct frozen_run *made = NULL;
        if (last == NULL && (made = run_make(m, end, skip1, skip2, epoch)) != NULL) {
            r = made;
            runs.hit = (unsigned)(r - runs.slot);
            last = m;
            for (uint32_t i = 1; i < r->n; i++) {
                last = last->next;
            }
        }
    }
    if (last == NULL && r->n > 0 && r->epoch == epoch) {
        last = run_matches(r, m, end, skip1, skip2);
    }
    for (unsigned i = 0; i < RUN_SLOTS && last == NULL; i++) {
        r = &runs.slot[i];
        if (i != runs.hit && r->n > 0 && r->epoch == epoch &&
            (last = run_matches(r, m, end, skip1, skip2)) != NULL) {
            runs.hit = i;
        }
    }
    if (last == NULL) {
        if (!run_member(m) || !run_member(m->next) ||
            (r = run_make(m, end, skip1, skip2, epoch)) == NULL) {
            return NULL;
        }
        runs.hit = (unsigned)(r - runs.slot);
        last = m;
        for (uint32_t i = 1; i < r->n; i++) {
            last = last->next;
        }
    }
    size_t skip = first ? 1 : 0; /* no comma before the first member */
    if (!reserve(w, r->len)) {
        return NULL;
    }
    memcpy(w->b->p + w->b->len, r->enc + skip, r->len - skip);
    w->b->len += r->len - skip;
    w->inexact = w->inexact || r->inexact;
    return last;
}

/* Compact output (neither pretty nor escape_html) of the members of n from
 * m up to end (exclusive), but skip1 and skip2: the usual member (plain
 * key; a plain string, an integer, a boolean or a container) written in
 * one reserved step, the value of other kinds after it, a key that needs
 * escaping by put_dom_member. Returns whether nothing was written (first
 * as it goes on). */
static bool put_compact_members(struct jw *w, const pb_node *n, const struct pb_member *m,
                                const struct pb_member *end, const struct pb_member *skip1,
                                const struct pb_member *skip2, int depth, bool first)
{
    for (; m != end && w->err == 0; m = m->next) {
        if (m == skip1 || m == skip2) {
            continue;
        }
        if (m->kind == PB_VK_JSON && !n->arr && !w->no_frozen) {
            const struct pb_member *last = put_run(w, m, end, skip1, skip2, first);
            if (last != NULL) {
                first = false;
                m = last;
                continue;
            }
        }
        bool str = m->kind == PB_VK_STR;
        bool plain_str = str && (m->flags & PB_MF_PLAIN_STR);
        /* comma, quoted key and colon, then a value of at most 24 bytes or
           the quoted string */
        size_t need = 4 + m->klen + (plain_str ? m->slen + 2 : 24);
        if ((!n->arr && !(m->flags & PB_MF_PLAIN_KEY)) || !reserve(w, need)) {
            put_dom_member(w, n, m, depth, &first);
            continue;
        }
        char *o = w->b->p + w->b->len;
        if (!first) {
            *o++ = ',';
        }
        first = false;
        if (!n->arr) {
            o = pb_jw_quoted(o, m->key, m->klen);
            *o++ = ':';
        }
        if (str && !plain_str) { /* escaped by the general writer */
            w->b->len = (size_t)(o - w->b->p);
            put_dom_value(w, m, depth);
            continue;
        }
        switch (m->kind) {
        case PB_VK_STR:
            o = pb_jw_quoted(o, m->u.s, m->slen);
            break;
        case PB_VK_INT:
            o = pb_jw_int(o, m->u.i);
            break;
        case PB_VK_TRUE:
            o = PB_JW_LIT(o, "true");
            break;
        case PB_VK_FALSE:
            o = PB_JW_LIT(o, "false");
            break;
        case PB_VK_NULL:
            o = PB_JW_LIT(o, "null");
            break;
        case PB_VK_OBJ:
        case PB_VK_ARR:
            w->b->len = (size_t)(o - w->b->p);
            put_compact_node(w, m->u.n, depth + 1);
            continue;
        case PB_VK_JSON:
            w->b->len = (size_t)(o - w->b->p);
            if (!put_borrowed(w, m)) {
                put_dom_value(w, m, depth);
            }
            continue;
        case PB_VK_RAW:
            w->b->len = (size_t)(o - w->b->p);
            put(w, m->u.s, m->slen);
            continue;
        default: /* reals */
            w->b->len = (size_t)(o - w->b->p);
            put_dom_value(w, m, depth);
            continue;
        }
        w->b->len = (size_t)(o - w->b->p);
    }
    return first;
}

static void put_compact_node(struct jw *w, const pb_node *n, int depth)
{
    if (w->err != 0) {
        return;
    }
    if (depth > 256) {
        w->err = -PB_ELIMIT;
        return;
    }
    if (n->enc != NULL) {
        put(w, n->enc, n->enc_len); /* made with the node, unchanged since */
        return;
    }
    if (n->count == 0) {
        putstr(w, n->arr ? "[]" : "{}");
        return;
    }
    putc1(w, n->arr ? '[' : '{');
    put_compact_members(w, n, n->first, NULL, NULL, NULL, depth, true);
    putc1(w, n->arr ? ']' : '}');
}

/* A member of an object holding a frozen value (@metadata, the pipeline's
   template), written from the value's cached encoding as
   put_compact_members writes it, without a walk; false when it is not
   such a member or has no encoding yet (nothing written). */
static _Thread_local struct {
    const json_t *v; /* NULL: none yet */
    unsigned epoch;
    bool inexact;
    size_t len;
    const char *enc; /* valid while v stays frozen: while epoch is the same */
} last_frozen;

static bool put_frozen_member(struct jw *w, const struct pb_member *m, bool first)
{
    size_t len;
    bool inexact;
    const char *e;
    if (!run_member(m) || w->no_frozen) {
        return false;
    }
    /* the encoding of the value met last (every event's @metadata),
       without a look in the table */
    unsigned epoch = pb_ev_frozen_epoch();
    if (last_frozen.v == m->u.j && last_frozen.epoch == epoch) {
        e = last_frozen.enc;
        len = last_frozen.len;
        inexact = last_frozen.inexact;
    } else if ((e = pb_ev_frozen_enc(m->u.j, &len, &inexact)) != NULL) {
        last_frozen.v = m->u.j;
        last_frozen.epoch = epoch;
        last_frozen.enc = e;
        last_frozen.len = len;
        last_frozen.inexact = inexact;
    } else {
        return false;
    }
    if (!reserve(w, len + m->klen + 4)) {
        return false;
    }
    char *o = w->b->p + w->b->len;
    if (!first) {
        *o++ = ',';
    }
    o = pb_jw_quoted(o, m->key, m->klen);
    *o++ = ':';
    memcpy(o, e, len);
    w->b->len = (size_t)(o + len - w->b->p);
    w->inexact = w->inexact || inexact;
    return true;
}

/* The spans of the root's @metadata and agent (w->sp): a key met twice
   gets none (a decoder keeps the last). */
struct top_marks {
    const struct pb_member *agent;
    unsigned metas, agents;
};

static void note_span(struct jw *w, uint32_t *at, uint32_t *len, size_t from)
{
    size_t to = w->b->len;
    if (w->err == 0 && to > from && to - w->base <= UINT32_MAX) {
        *at = (uint32_t)(from - w->base);
        *len = (uint32_t)(to - from);
    }
}

/* The root's members (compact) but skip1 and skip2, noting agent's span
   when w->sp asks for it. */
static bool put_root_members(struct jw *w, const pb_node *n, const struct pb_member *skip1,
                             const struct pb_member *skip2, const struct top_marks *tm, int depth,
                             bool first)
{
    const struct pb_member *a = tm->agent;
    if (w->sp == NULL || a == NULL || tm->agents != 1) {
        return put_compact_members(w, n, n->first, NULL, skip1, skip2, depth, first);
    }
    first = put_compact_members(w, n, n->first, a, skip1, skip2, depth, first);
    size_t at = w->b->len;
    first = put_compact_members(w, n, a, a->next, NULL, NULL, depth, first);
    note_span(w, &w->sp->agent_at, &w->sp->agent_len, at);
    return put_compact_members(w, n, a->next, NULL, skip1, skip2, depth, first);
}

/* An event's root, compact: @timestamp, @metadata (unless no_meta), then
 * the other fields, as Beats writes them. A transaction's pending fields
 * are written from where they wait: @timestamp first, the rest after
 * @metadata (ev_encode leaves them pending only for this form). */
static void put_root(struct jw *w, const pb_node *n, int depth)
{
    const struct pb_pending_ops *pops = n->ev->pops;
    if (n->count == 0 && pops == NULL) {
        putstr(w, "{}");
        return;
    }
    const struct pb_member *ts = NULL, *meta = NULL;
    struct top_marks tm = {0};
    const pb_event *ev = n->ev;
    if (pops != NULL && ev->frozen_at[0] != NULL && ev->frozen_edits[0] == ev->edits &&
        (w->sp == NULL || (ev->frozen_at[1] != NULL && ev->frozen_edits[1] == ev->edits))) {
        /* the usual event: no @timestamp member (it is pending), and the
           hints say where @metadata (and agent) are, without a walk (an
           object's keys are unique) */
        meta = ev->frozen_at[0];
        tm.metas = 1;
        /* put_run writes agent, ecs and host from it (without w->sp, no
           member list ends inside them) */
        w->tail =
            w->sp == NULL && ev->tail != NULL && ev->tail_edits == ev->edits ? ev->tail : NULL;
        tm.agent = w->sp != NULL ? ev->frozen_at[1] : NULL;
        tm.agents = w->sp != NULL ? 1 : 0;
    } else {
        for (const struct pb_member *m = n->first; m != NULL; m = m->next) {
            if (pops == NULL && m->klen == 10 && memcmp(m->key, "@timestamp", 10) == 0) {
                ts = m;
            } else if (m->klen == 9 && memcmp(m->key, "@metadata", 9) == 0) {
                meta = m;
                tm.metas++;
            } else if (w->sp != NULL && m->klen == 5 && memcmp(m->key, "agent", 5) == 0) {
                tm.agent = m;
                tm.agents++;
            }
        }
    }
    bool first = true;
    const void *st = pops != NULL ? n->ev->pst : NULL;
    size_t pmax = pops != NULL ? pops->max(st) : 0;
    if (pops != NULL) {
        if (reserve(w, pmax + 1)) { /* the brace with them */
            char *o = w->b->p + w->b->len;
            *o++ = '{';
            w->b->len = (size_t)(pops->put_ts(st, o) - w->b->p);
        } else {
            no_room(w, pmax + 1);
        }
        first = false;
    } else {
        putc1(w, '{');
        if (ts != NULL) {
            first = put_compact_members(w, n, ts, ts->next, NULL, NULL, depth, first);
        }
    }
    if (meta != NULL && !w->no_meta) {
        size_t at = w->b->len;
        if (put_frozen_member(w, meta, first)) {
            first = false;
        } else {
            first = put_compact_members(w, n, meta, meta->next, NULL, NULL, depth, first);
        }
        if (w->sp != NULL && tm.metas == 1) {
            note_span(w, &w->sp->meta_at, &w->sp->meta_len, at);
        }
    }
    if (pops != NULL) {
        if (reserve(w, pmax)) {
            w->b->len = (size_t)(pops->put_rest(st, w->b->p + w->b->len) - w->b->p);
        } else {
            no_room(w, pmax);
        }
    }
    put_root_members(w, n, ts, meta, &tm, depth, first);
    putc1(w, '}');
}

static void put_dom_node(struct jw *w, const pb_node *n, int depth, bool top)
{
    if (w->err != 0) {
        return;
    }
    if (!w->pretty && !w->html) {
        if (top) {
            put_root(w, n, depth);
        } else {
            put_compact_node(w, n, depth);
        }
        return;
    }
    if (depth > 256) {
        w->err = -PB_ELIMIT;
        return;
    }
    if (n->count == 0) {
        putstr(w, n->arr ? "[]" : "{}");
        return;
    }
    putc1(w, n->arr ? '[' : '{');
    bool first = true;
    const struct pb_member *ts = NULL, *meta = NULL;
    if (top) {
        /* Beats writes @timestamp, then @metadata, then the fields (the
           pending ones are built for this form: ev_encode) */
        for (const struct pb_member *m = n->first; m != NULL; m = m->next) {
            if (m->klen == 10 && memcmp(m->key, "@timestamp", 10) == 0) {
                ts = m;
            } else if (m->klen == 9 && memcmp(m->key, "@metadata", 9) == 0) {
                meta = m;
            }
        }
        if (ts != NULL) {
            put_dom_member(w, n, ts, depth, &first);
        }
        if (meta != NULL && !w->no_meta) {
            put_dom_member(w, n, meta, depth, &first);
        }
    }
    for (const struct pb_member *m = n->first; m != NULL && w->err == 0; m = m->next) {
        if (m != ts && m != meta &&
            !(top && w->no_meta && m->klen == 9 && memcmp(m->key, "@metadata", 9) == 0)) {
            put_dom_member(w, n, m, depth, &first);
        }
    }
    newline(w, depth);
    putc1(w, n->arr ? ']' : '}');
}

static int ev_encode(const pb_event *ev, bool pretty, bool escape_html, bool no_meta,
                     struct pb_codec_buf *b, bool *exact, struct pb_enc_spans *sp)
{
    size_t start = b->len;
    struct jw w = {
        .b = b,
        .limit = start + PB_CODEC_MAX_EVENT_BYTES,
        .pretty = pretty,
        .html = escape_html,
        .no_meta = no_meta,
        .sp = sp,
        .base = start,
    };
    if (sp != NULL) {
        *sp = (struct pb_enc_spans){0};
    }
    if (ev->pops != NULL && (pretty || escape_html)) {
        /* written straight only in the compact form: built for the others
           (the event's content stays as it is) */
        pb_ev_settle((pb_event *)ev);
    }
    if (!pretty && !escape_html) {
        put_root(&w, &ev->root, 0); /* what put_dom_node does for this form */
    } else {
        put_dom_node(&w, &ev->root, 0, true);
    }
    if (w.err != 0) {
        b->len = start;
        if (sp != NULL) {
            *sp = (struct pb_enc_spans){0};
        }
    }
    if (exact != NULL) {
        *exact = w.err == 0 && !w.inexact;
    }
    return w.err;
}

int pb_ev_encode(const pb_event *ev, bool pretty, bool escape_html, struct pb_codec_buf *b,
                 bool *exact)
{
    if (ev->json != NULL) {
        return json_encode(ev->json, pretty, escape_html, b, exact, false);
    }
    return ev_encode(ev, pretty, escape_html, false, b, exact, NULL);
}

int pb_ev_encode_spans(const pb_event *ev, struct pb_codec_buf *b, bool *exact,
                       struct pb_enc_spans *sp)
{
    if (ev->json != NULL) {
        *sp = (struct pb_enc_spans){0};
        return json_encode(ev->json, false, false, b, exact, false);
    }
    return ev_encode(ev, false, false, false, b, exact, sp);
}

int pb_ev_encode_doc(const pb_event *ev, bool escape_html, struct pb_codec_buf *b)
{
    if (ev->json != NULL) {
        return -PB_EINVAL;
    }
    return ev_encode(ev, false, escape_html, true, b, NULL, NULL);
}

bool pb_codec_is_plain_json(const struct pb_codec *c)
{
    return c->kind == PB_CODEC_JSON && !c->pretty && !c->escape_html;
}

/* ---- format codec -------------------------------------------------------
 * `%{[field.path]}` and `%{[field.path]:default}` are replaced by the
 * field's value (strings as they are, other values as JSON); other text is
 * copied. A missing field without a default fails the event. */

static const json_t *lookup_path(const json_t *ev, const char *path, size_t len)
{
    /* first the whole key (keys may contain dots), then segment by segment */
    char key[512];
    if (len >= sizeof key) {
        return NULL;
    }
    memcpy(key, path, len);
    key[len] = '\0';
    const json_t *v = json_object_get(ev, key);
    if (v != NULL) {
        return v;
    }
    const json_t *cur = ev;
    size_t s = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || key[i] == '.') {
            char save = key[i];
            key[i] = '\0';
            if (!json_is_object(cur)) {
                return NULL;
            }
            cur = json_object_get(cur, key + s);
            key[i] = save;
            if (cur == NULL) {
                return NULL;
            }
            s = i + 1;
        }
    }
    return cur;
}

static int format_encode(const char *fmt, const json_t *ev, struct pb_codec_buf *b)
{
    size_t start = b->len;
    const char *p = fmt;
    int rc = 0;
    while (*p != '\0' && rc == 0) {
        const char *open = strstr(p, "%{[");
        if (open == NULL) {
            rc = pb_codec_buf_append(b, p, strlen(p));
            break;
        }
        const char *close = strstr(open, "]");
        const char *end = close != NULL ? strchr(close, '}') : NULL;
        if (close == NULL || end == NULL) {
            rc = pb_codec_buf_append(b, p, strlen(p));
            break;
        }
        rc = pb_codec_buf_append(b, p, (size_t)(open - p));
        if (rc != 0) {
            break;
        }
        const char *name = open + 3;
        const json_t *v = lookup_path(ev, name, (size_t)(close - name));
        if (v == NULL) {
            if (close[1] == ':') {
                rc = pb_codec_buf_append(b, close + 2, (size_t)(end - close - 2));
            } else {
                rc = -PB_EINVAL; /* key not found */
            }
        } else if (json_is_string(v)) {
            rc = pb_codec_buf_append(b, json_string_value(v), json_string_length(v));
        } else {
            rc = pb_json_encode(v, false, false, b);
        }
        p = end + 1;
    }
    if (rc == 0 && b->len - start > PB_CODEC_MAX_EVENT_BYTES) {
        rc = -PB_ELIMIT;
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

/* ---- codec ------------------------------------------------------------- */

int pb_codec_init(struct pb_codec *c, const struct pb_cfg *out_node, bool legacy_pretty, char *err,
                  size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->kind = PB_CODEC_JSON;
    c->pretty = legacy_pretty;
    const struct pb_cfg *codec = pb_cfg_get(out_node, "codec");
    if (codec == NULL || codec->kind == PB_CFG_NULL) {
        return 0;
    }
    char path[256];
    if (codec->kind != PB_CFG_MAP) {
        pb_cfg_path(codec, path, sizeof path);
        snprintf(err, errlen, "required 'object', but found '%s' in field '%s'",
                 codec->kind == PB_CFG_LIST ? "array" : "string", path);
        return -PB_EINVAL;
    }
    const struct pb_cfg *chosen = NULL;
    size_t n = pb_cfg_len(codec);
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *sub = pb_cfg_at(codec, i);
        bool enabled = true;
        if (sub->kind != PB_CFG_MAP && sub->kind != PB_CFG_NULL) {
            continue;
        }
        if (pb_cfg_bool(sub, "enabled", true, &enabled) != 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        if (!enabled) {
            continue;
        }
        if (chosen != NULL) {
            pb_cfg_path(codec, path, sizeof path);
            snprintf(err, errlen, "more than one namespace configured accessing '%s'", path);
            return -PB_EINVAL;
        }
        chosen = sub;
    }
    if (chosen == NULL) {
        return 0;
    }
    if (strcmp(chosen->key, "json") == 0) {
        c->pretty = false;
        if (pb_cfg_bool(chosen, "pretty", false, &c->pretty) != 0 ||
            pb_cfg_bool(chosen, "escape_html", false, &c->escape_html) != 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        return 0;
    }
    if (strcmp(chosen->key, "format") == 0) {
        const char *s = NULL;
        if (pb_cfg_str(chosen, "string", NULL, &s) != 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        if (s == NULL || *s == '\0') {
            pb_cfg_path(chosen, path, sizeof path);
            snprintf(err, errlen, "missing required field accessing '%s.string'", path);
            return -PB_EINVAL;
        }
        c->kind = PB_CODEC_FORMAT;
        c->format = pb_strdup(s);
        if (c->format == NULL) {
            snprintf(err, errlen, "out of memory");
            return -PB_ENOMEM;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown codec type '%s'", chosen->key);
    return -PB_EINVAL;
}

void pb_codec_fini(struct pb_codec *c)
{
    if (c == NULL) {
        return;
    }
    pb_free(c->format);
    c->format = NULL;
}

int pb_codec_encode(const struct pb_codec *c, const json_t *ev, struct pb_codec_buf *b)
{
    if (c->kind == PB_CODEC_FORMAT) {
        return format_encode(c->format, ev, b);
    }
    return pb_json_encode(ev, c->pretty, c->escape_html, b);
}
