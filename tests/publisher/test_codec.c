/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_codec.c - the JSON writer's fast paths (eight bytes
 * at a time over plain ASCII, integers without printf) against a plain
 * byte-by-byte reference, with every special byte at every offset, in
 * values and in keys.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/event.h"
#include "publisher/codec.h"
#include "tests/support/ptrun.h"

/* The length of the valid UTF-8 sequence at s (2 to 4 bytes: no overlong
   form, surrogate or value past U+10FFFF), 0 when there is none; *cp its
   value. Written here from the standard, apart from beat/utf8.c. */
static size_t ref_utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (k == 0 || s[0] >= 0xf8 || k > n) {
        return 0;
    }
    uint32_t v = s[0] & (0x7f >> k);
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xc0) != 0x80) {
            return 0;
        }
        v = v << 6 | (s[j] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[k] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return k;
}

/* Reference: Go's encoding as go-structform writes it, one byte at a time:
   valid multi-byte sequences kept (U+2028 and U+2029 escaped), any other
   byte >= 0x80 replaced. */
static size_t ref_escape(const unsigned char *s, size_t n, bool html, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            memcpy(out + o, "\\n", 2);
            o += 2;
        } else if (c == '\r') {
            memcpy(out + o, "\\r", 2);
            o += 2;
        } else if (c == '\t') {
            memcpy(out + o, "\\t", 2);
            o += 2;
        } else if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&'))) {
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xf];
        } else if (c >= 0x80) {
            uint32_t cp = 0;
            size_t k = ref_utf8_len(s + i, n - i, &cp);
            if (k == 0) {
                memcpy(out + o, "\\ufffd", 6); /* not a sequence: invalid */
                o += 6;
            } else if (cp == 0x2028 || cp == 0x2029) {
                memcpy(out + o, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                o += 6;
                i += k - 1;
            } else {
                memcpy(out + o, s + i, k);
                o += k;
                i += k - 1;
            }
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

static void check_string(const unsigned char *s, size_t n, bool html, const char *want)
{
    struct pb_codec_buf b = {0};
    json_t *v = json_stringn_nocheck((const char *)s, n);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(pb_json_encode(v, false, html, &b), 0);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    ck_assert_msg(strcmp(b.p, want) == 0, "len %zu html %d: got %s want %s", n, html, b.p, want);
    pb_codec_buf_free(&b);
    json_decref(v);
}

START_TEST(every_byte_at_every_offset)
{
    unsigned char s[56];
    char want[56 * 6 + 3];
    for (size_t len = 1; len <= 52; len += 3) {
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned c = 1; c < 256; c++) {
                /* distinct filler bytes: a run copied from the wrong
                   offset shows */
                for (size_t k = 0; k < len; k++) {
                    s[k] = (unsigned char)('a' + k % 26);
                }
                s[pos] = (unsigned char)c;
                if (len > 20 && c % 5 == 0) {
                    s[(pos + 7) % len] = '"'; /* a second one, in the same block or the next */
                }
                for (int html = 0; html < 2; html++) {
                    ref_escape(s, len, html != 0, want);
                    check_string(s, len, html != 0, want);
                }
            }
        }
    }
}
END_TEST

/* Many bytes to escape close together (JSON inside a string, a binary
 * value): each found where the scan stops, none skipped or copied twice. */
START_TEST(dense_specials)
{
    static const unsigned char alphabet[] = {'a', 'b', '"', '\\', '\n', 0x01, 0x7f, 0xff, '<', ' '};
    unsigned char s[200];
    char want[200 * 6 + 3];
    uint32_t x = 12345;
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + round % 199;
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            s[k] = alphabet[(x >> 16) % sizeof alphabet];
        }
        for (int html = 0; html < 2; html++) {
            ref_escape(s, n, html != 0, want);
            check_string(s, n, html != 0, want);
        }
    }
}
END_TEST

/* JSON inside a string: quotes and backslashes the only bytes to escape,
 * any number of them in a block (the block writer's shortest path), then
 * one control byte or non-ASCII byte somewhere (its other paths). */
START_TEST(quotes_and_backslashes_only)
{
    static const unsigned char alphabet[] = {'a', '"', '\\', '{', ':', ' ', '<', '"'};
    static const unsigned char odd[] = {'\n', 0x01, 0xe9, 0xc3};
    unsigned char s[300];
    char want[300 * 6 + 3];
    uint32_t x = 99;
    for (int round = 0; round < 4000; round++) {
        size_t n = 32 + round % 260;
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            s[k] = alphabet[(x >> 16) % sizeof alphabet];
        }
        if (round % 2 == 1) {
            x = x * 1103515245u + 12345u;
            s[(x >> 8) % n] = odd[(x >> 20) % sizeof odd];
        }
        for (int html = 0; html < 2; html++) {
            ref_escape(s, n, html != 0, want);
            check_string(s, n, html != 0, want);
        }
    }
}
END_TEST

/* Escapes packed together with whole multi-byte sequences in long strings:
 * the block writer hands over at the first non-ASCII byte, wherever it is
 * in its block, and nothing is lost or written twice around it. */
START_TEST(dense_specials_then_multibyte)
{
    static const char *const pieces[] = {"a",   "\"",       "\\",           "\n",           "\x01",
                                         "xyz", "\xc3\xa9", "\xe2\x82\xac", "\xe2\x80\xa8", "<"};
    unsigned char s[400];
    char want[400 * 6 + 3];
    uint32_t x = 777;
    for (int round = 0; round < 3000; round++) {
        size_t n = 0, target = 32 + round % 300;
        while (n < target) {
            x = x * 1103515245u + 12345u;
            /* mostly ASCII specials, now and then a multi-byte sequence */
            unsigned pick = (x >> 16) % 64;
            const char *piece = pieces[pick < 60 ? pick % 6 : 6 + pick % 4];
            size_t pl = strlen(piece);
            memcpy(s + n, piece, pl);
            n += pl;
        }
        for (int html = 0; html < 2; html++) {
            ref_escape(s, n, html != 0, want);
            check_string(s, n, html != 0, want);
        }
    }
}
END_TEST

START_TEST(multibyte_across_word_boundaries)
{
    static const struct {
        const char *seq;
        const char *out;
    } seqs[] = {
        {"\xc3\xa9", "\xc3\xa9"},                 /* é kept */
        {"\xe2\x82\xac", "\xe2\x82\xac"},         /* € kept */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, /* emoji kept */
        {"\xe2\x80\xa8", "\\u2028"},
        {"\xe2\x80\xa9", "\\u2029"},
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"}, /* surrogate: invalid */
    };
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
        size_t sl = strlen(seqs[k].seq);
        for (size_t pos = 0; pos < 20; pos++) {
            char s[64], want[128];
            memset(s, 'x', pos);
            memcpy(s + pos, seqs[k].seq, sl);
            memcpy(s + pos + sl, "yyyyyyyyy", 9);
            size_t n = pos + sl + 9;
            snprintf(want, sizeof want, "\"%.*s%s%s\"", (int)pos, s, seqs[k].out, "yyyyyyyyy");
            check_string((const unsigned char *)s, n, false, want);
        }
    }
}
END_TEST

START_TEST(long_strings)
{
    /* past the size written into reserved room: the checked writer */
    static const unsigned char specials[] = {'"', '\\', '\n', 0x01, '<', '&', 0x7f, 0xff};
    for (size_t len = 65530; len <= 70000; len += 4470) {
        unsigned char *s = malloc(len);
        char *want = malloc(len * 6 + 3);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(want);
        for (size_t i = 0; i < len; i++) {
            s[i] = (unsigned char)('a' + i % 26);
            if (i % 37 == 5) {
                s[i] = specials[(i / 37) % sizeof specials];
            }
        }
        for (int html = 0; html < 2; html++) {
            ref_escape(s, len, html != 0, want);
            check_string(s, len, html != 0, want);
        }
        free(s);
        free(want);
    }
}
END_TEST

/* Keys long enough for the block writer, with escapes and a NUL (which
 * makes the encoding inexact: jansson does not read such keys) at every
 * offset: written as values are, the NUL noticed wherever it is. */
START_TEST(long_keys_with_specials)
{
    unsigned char k[80];
    char want[80 * 6 + 16], esc[80 * 6 + 3];
    static const unsigned char specials[] = {0, '"', '\\', '\n', 0x01, 0xc3};
    for (size_t len = 32; len <= 80; len += 7) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t si = 0; si < sizeof specials; si++) {
                for (size_t j = 0; j < len; j++) {
                    k[j] = (unsigned char)('a' + j % 26);
                }
                k[pos] = specials[si];
                k[(pos + 19) % len] = '"'; /* an escape in another block too */
                json_t *o = json_object();
                ck_assert_ptr_nonnull(o);
                ck_assert_int_eq(json_object_setn_new_nocheck(o, (const char *)k, len, json_true()),
                                 0);
                ref_escape(k, len, false, esc);
                snprintf(want, sizeof want, "{%s:true}", esc);
                struct pb_codec_buf b = {0};
                bool exact = true;
                ck_assert_int_eq(pb_json_encode_exact(o, &b, &exact), 0);
                ck_assert_uint_eq(b.len, strlen(want));
                ck_assert(memcmp(b.p, want, b.len) == 0);
                /* a NUL makes it inexact, and so does 0xc3 without its
                   continuation byte (replaced) */
                ck_assert_int_eq(exact, specials[si] != 0 && specials[si] != 0xc3);
                pb_codec_buf_free(&b);
                json_decref(o);
            }
        }
    }
}
END_TEST

START_TEST(integers)
{
    static const struct {
        json_int_t v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {-1, "-1"},
        {10, "10"},
        {-10, "-10"},
        {1234567890123LL, "1234567890123"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pb_codec_buf b = {0};
        json_t *v = json_integer(cases[i].v);
        ck_assert_int_eq(pb_json_encode(v, false, false, &b), 0);
        ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
        ck_assert_str_eq(b.p, cases[i].s);
        pb_codec_buf_free(&b);
        json_decref(v);
    }
    /* every digit count, both signs, at and around each power of ten */
    long long p = 1;
    for (int e = 0; e <= 18; e++) {
        p = e == 0 ? 1 : p * 10;
        for (long long d = -1; d <= 1; d++) {
            for (int sign = -1; sign <= 1; sign += 2) {
                long long x = sign * (p + d);
                char want[32];
                snprintf(want, sizeof want, "%lld", x);
                struct pb_codec_buf b = {0};
                json_t *v = json_integer(x);
                ck_assert_int_eq(pb_json_encode(v, false, false, &b), 0);
                ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
                ck_assert_str_eq(b.p, want);
                pb_codec_buf_free(&b);
                json_decref(v);
            }
        }
    }
}
END_TEST

START_TEST(appends_after_existing_bytes)
{
    /* the writer appends to what the buffer holds (an output's batch) */
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_codec_buf_append(&b, "prefix,", 7), 0);
    json_t *v = json_pack("{s:s,s:i,s:[s,s]}", "@timestamp", "t", "n", 42, "a", "x\"y", "z");
    ck_assert_int_eq(pb_json_encode(v, false, false, &b), 0);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    ck_assert_str_eq(b.p, "prefix,{\"@timestamp\":\"t\",\"n\":42,\"a\":[\"x\\\"y\",\"z\"]}");
    pb_codec_buf_free(&b);
    json_decref(v);
}
END_TEST

/* What the memory queue relies on: an encoding marked exact decodes to a
   tree that every json codec variant writes as it writes the original. */
/* Frozen values (beat/event.h) are written from a cached encoding once
   shared; thawing forgets it. */
START_TEST(frozen_values_cached_until_thawed)
{
    json_t *agent = json_pack("{s:s,s:s}", "name", "vm", "ver\"sion", "8.17.2");
    json_t *a = json_pack("{s:s,s:O}", "type", "http", "agent", agent);
    json_t *b = json_pack("{s:s,s:O}", "type", "dns", "agent", agent);
    struct pb_codec_buf want = {0}, got = {0};
    ck_assert_int_eq(pb_json_encode(a, false, false, &want), 0);
    pb_ev_freeze(agent);
    bool exact = false;
    ck_assert_int_eq(pb_json_encode_exact(a, &got, &exact), 0);
    ck_assert(exact);
    ck_assert_uint_eq(got.len, want.len);
    ck_assert(memcmp(got.p, want.p, want.len) == 0);
    /* the cache is what is written: a change (which the contract forbids)
       does not show until the value is thawed */
    json_object_set_new(agent, "name", json_string("other"));
    got.len = 0;
    ck_assert_int_eq(pb_json_encode(a, false, false, &got), 0);
    ck_assert(memcmp(got.p, want.p, want.len) == 0);
    /* pretty and html encodings walk the value */
    got.len = 0;
    ck_assert_int_eq(pb_json_encode(a, true, false, &got), 0);
    ck_assert_ptr_nonnull(memmem(got.p, got.len, "other", 5));
    pb_ev_thaw(agent);
    got.len = 0;
    ck_assert_int_eq(pb_json_encode(a, false, false, &got), 0);
    ck_assert_ptr_nonnull(memmem(got.p, got.len, "\"name\":\"other\"", 14));
    pb_codec_buf_free(&want);
    pb_codec_buf_free(&got);
    json_decref(a);
    json_decref(b);
    json_decref(agent);
}
END_TEST

START_TEST(exact_encoding_round_trips)
{
    json_t *v = json_object();
    json_object_set_new(v, "z", json_stringn_nocheck("a\0b\n<&>\xe2\x80\xa8\xc3\xa9/", 13));
    json_object_set_new(v, "@metadata",
                        json_pack("{s:s,s:s}", "beat", "packetbeat", "type", "_doc"));
    json_object_set_new(v, "n", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(v, "r", json_pack("[f,f,f,f]", 1.5, 1e21, 1e-7, -0.125));
    json_object_set_new(v, "@timestamp", json_string("2024-01-01T00:00:00.000Z"));
    json_object_set_new(v, "o", json_pack("{s:{},s:[],s:n,s:b}", "e", "a", "x", "t", 1));
    struct pb_codec_buf b = {0};
    bool exact = false;
    ck_assert_int_eq(pb_json_encode_exact(v, &b, &exact), 0);
    ck_assert(exact);
    json_error_t jerr;
    json_t *d = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &jerr);
    ck_assert_ptr_nonnull(d);
    for (int k = 0; k < 4; k++) {
        struct pb_codec_buf x = {0}, y = {0};
        bool pretty = (k & 1) != 0, html = (k & 2) != 0;
        ck_assert_int_eq(pb_json_encode(v, pretty, html, &x), 0);
        ck_assert_int_eq(pb_json_encode(d, pretty, html, &y), 0);
        ck_assert_uint_eq(x.len, y.len);
        ck_assert(memcmp(x.p, y.p, x.len) == 0);
        pb_codec_buf_free(&x);
        pb_codec_buf_free(&y);
    }
    ck_assert(json_is_real(json_array_get(json_object_get(d, "r"), 0)));
    json_decref(d);
    json_decref(v);
    pb_codec_buf_free(&b);

    /* and what would not read back the same is reported */
    json_t *bad[] = {
        json_pack("{s:f}", "f", 2.0),
        json_pack("{s:f}", "f", 0.0),
        json_pack("{s:f}", "f", 100000.0),
        json_pack("{s:o}", "s",
                  json_stringn_nocheck("a\xff"
                                       "b",
                                       3)),
        json_object(),
    };
    json_object_setn_new_nocheck(bad[4], "k\0y", 3, json_true());
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_ptr_nonnull(bad[i]);
        b.len = 0;
        exact = true;
        ck_assert_int_eq(pb_json_encode_exact(bad[i], &b, &exact), 0);
        ck_assert_msg(!exact, "case %zu", i);
        json_decref(bad[i]);
    }
    pb_codec_buf_free(&b);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_byte_at_every_offset);
    tcase_add_test(tc, dense_specials);
    tcase_add_test(tc, quotes_and_backslashes_only);
    tcase_add_test(tc, dense_specials_then_multibyte);
    tcase_add_test(tc, multibyte_across_word_boundaries);
    tcase_add_test(tc, long_strings);
    tcase_add_test(tc, long_keys_with_specials);
    tcase_add_test(tc, integers);
    tcase_add_test(tc, appends_after_existing_bytes);
    tcase_add_test(tc, exact_encoding_round_trips);
    tcase_add_test(tc, frozen_values_cached_until_thawed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(codec_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
