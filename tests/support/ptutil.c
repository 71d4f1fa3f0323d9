/* SPDX-License-Identifier: Apache-2.0
 * tests/support/ptutil.c - helpers the protocol tests share (see ptutil.h).
 */
#include "ptutil.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "protos/protos.h"
#include "publisher/codec.h"

struct pb_tuple pt_tuple(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                         uint8_t proto)
{
    struct pb_tuple t;
    memset(&t, 0, sizeof t);
    ck_assert_msg(pb_ip_parse(src, &t.src), "%s", src);
    ck_assert_msg(pb_ip_parse(dst, &t.dst), "%s", dst);
    t.sport = sport;
    t.dport = dport;
    t.proto = proto;
    return t;
}

void pt_buf_room(size_t n, size_t cap, size_t want)
{
    ck_assert_uint_le(n, cap);
    ck_assert_uint_le(want, cap - n);
}

static int hex_digit(char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *d = c != '\0' ? strchr(digits, tolower((unsigned char)c)) : NULL;
    return d != NULL ? (int)(d - digits) : -1;
}

void pt_hex_into(uint8_t *out, size_t *n, size_t cap, const char *hex)
{
    int hi = -1;
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t') {
            continue;
        }
        int v = hex_digit(*p);
        ck_assert_msg(v >= 0, "not a hex digit: '%c'", *p);
        if (hi < 0) {
            hi = v;
            continue;
        }
        pt_buf_room(*n, cap, 1);
        out[(*n)++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    ck_assert_msg(hi < 0, "odd number of hex digits");
}

char *pt_dump(struct pt_conn *t)
{
    char *s = json_dumps(pt_events(t), JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    return s;
}

void pt_expect_dump(struct pt_conn *t, const char *want)
{
    char *got = pt_dump(t);
    ck_assert_str_eq(got, want);
    free(got);
}

void pt_feed_bytewise(struct pt_conn *t, enum pb_dir d, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pt_feed(t, d, (const uint8_t *)p + i, 1);
    }
}

void pt_feed_cut(struct pt_conn *t, enum pb_dir d, const void *p, size_t n, size_t cut)
{
    if (cut > 0 && cut < n) {
        pt_feed(t, d, p, cut);
        pt_feed(t, d, (const uint8_t *)p + cut, n - cut);
    } else {
        pt_feed(t, d, p, n);
    }
}

char *pt_replay(const struct pb_proto_ops *ops, const char *yaml, const struct pt_step *s,
                size_t ns, size_t cut)
{
    struct pt_conn *t = pt_open(ops, yaml);
    for (size_t i = 0; i < ns; i++) {
        if (cut == PT_WHOLE || s[i].n <= 1) {
            pt_feed(t, s[i].d, s[i].p, s[i].n);
        } else if (cut == PT_BYTEWISE) {
            pt_feed_bytewise(t, s[i].d, s[i].p, s[i].n);
        } else {
            pt_feed_cut(t, s[i].d, s[i].p, s[i].n, cut < s[i].n ? cut : s[i].n - 1);
        }
    }
    char *out = pt_dump(t);
    pt_close(t);
    return out;
}

void pt_check_split_anywhere(const struct pb_proto_ops *ops, const char *yaml,
                             const struct pt_step *s, size_t ns)
{
    char *whole = pt_replay(ops, yaml, s, ns, PT_WHOLE);
    size_t maxn = 0;
    for (size_t i = 0; i < ns; i++) {
        maxn = s[i].n > maxn ? s[i].n : maxn;
    }
    for (size_t cut = 1; cut < maxn; cut++) {
        char *x = pt_replay(ops, yaml, s, ns, cut);
        ck_assert_msg(strcmp(whole, x) == 0, "cut %zu differs:\n%s\n%s", cut, whole, x);
        free(x);
    }
    char *bb = pt_replay(ops, yaml, s, ns, PT_BYTEWISE);
    ck_assert_str_eq(whole, bb);
    free(bb);
    free(whole);
}

int pt_init_rc(const struct pb_proto_ops *ops, const char *yaml, void (*check)(struct pb_proto *p))
{
    char err[256];
    struct pb_cfg *cfg = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_ptr_nonnull(cfg);
    struct pb_proto p = {0};
    p.ops = ops;
    ck_assert_int_eq(pb_proto_common_config(&p, cfg), 0);
    int rc = ops->init(&p);
    if (rc == 0) {
        if (check != NULL) {
            check(&p);
        }
        ops->fini(&p);
    }
    pb_cfg_free(cfg);
    return rc;
}

/* ---- events -------------------------------------------------------- */

json_t *pt_arena_encodes_as_tree(pb_event *ev)
{
    struct pb_codec_buf a = {0}, t = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, NULL), 0);
    json_t *tree = pb_ev_json(ev);
    ck_assert_ptr_nonnull(tree);
    ck_assert_int_eq(pb_json_encode(tree, false, false, &t), 0);
    ck_assert_int_eq(pb_codec_buf_append(&a, "", 1), 0);
    ck_assert_int_eq(pb_codec_buf_append(&t, "", 1), 0);
    ck_assert_str_eq(a.p, t.p);
    pb_codec_buf_free(&a);
    pb_codec_buf_free(&t);
    return tree;
}

const char *pt_tree_str(json_t *tree, const char *path)
{
    json_t *v = tree;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
         k = strtok_r(NULL, ".", &save)) {
        v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10)) : json_object_get(v, k);
    }
    ck_assert_msg(json_is_string(v), "%s: not a string", path);
    return json_string_value(v);
}

static void emit_checked(void *ctx, struct pb_proto *p, pb_event *ev)
{
    struct pt_enc_check *e = ctx;
    if (ev != NULL) {
        struct pb_codec_buf a = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, NULL), 0);
        size_t n = a.len < sizeof e->last ? a.len : sizeof e->last - 1; /* its start */
        memcpy(e->last, a.p, n);
        e->last[n] = '\0';
        pb_codec_buf_free(&a);
        pt_arena_encodes_as_tree(ev);
        e->checked++;
    }
    e->emit(e->ctx, p, ev);
}

void pt_check_encodings(struct pt_conn *t, struct pt_enc_check *e)
{
    struct pb_proto *p = pt_proto(t);
    e->emit = p->emit;
    e->ctx = p->emit_ctx;
    e->checked = 0;
    e->last[0] = '\0';
    p->emit = emit_checked;
    p->emit_ctx = e;
}
