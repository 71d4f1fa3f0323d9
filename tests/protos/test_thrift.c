/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_thrift.c - Thrift-RPC: value formatting (every type,
 * cuts, quoting, doubles), the IDL reader, and the plugin: calls and
 * replies whole, byte by byte and split anywhere, framed transport,
 * exceptions, oneway calls, FIN, mismatched replies, garbage, gaps,
 * capture_reply, send_request/send_response, IDL names, config errors and
 * random bytes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "protos/protos.h"
#include "protos/thrift/thrift_idl.h"
#include "protos/thrift/thrift_parse.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_thrift;

#define TS PB_DIR_TO_SERVER
#define TC PB_DIR_TO_CLIENT

/* ---- a small binary protocol encoder ---- */

static void wstr(struct pt_buf *w, const char *s)
{
    size_t n = strlen(s);
    pt_be32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        pt_u8(w, (uint8_t)s[i]);
    }
}

static void wfield(struct pt_buf *w, uint8_t type, uint16_t id)
{
    pt_u8(w, type);
    pt_be16(w, id);
}

static void wbegin(struct pt_buf *w, const char *method, uint8_t type, uint32_t seq)
{
    pt_be32(w, 0x80010000u | type);
    wstr(w, method);
    pt_be32(w, seq);
}

/* add(1: i32 a, 2: i32 b) */
static void call_add(struct pt_buf *w, uint32_t a, uint32_t b)
{
    wbegin(w, "add", THRIFT_MSG_CALL, 1);
    wfield(w, THRIFT_T_I32, 1);
    pt_be32(w, a);
    wfield(w, THRIFT_T_I32, 2);
    pt_be32(w, b);
    pt_u8(w, THRIFT_T_STOP);
}

/* reply of add: 0: i32 v */
static void reply_add(struct pt_buf *w, uint32_t v)
{
    wbegin(w, "add", THRIFT_MSG_REPLY, 1);
    wfield(w, THRIFT_T_I32, 0);
    pt_be32(w, v);
    pt_u8(w, THRIFT_T_STOP);
}

/* calculate(1: i32 logid, 2: Work w) */
static void call_calculate(struct pt_buf *w)
{
    wbegin(w, "calculate", THRIFT_MSG_CALL, 7);
    wfield(w, THRIFT_T_I32, 1);
    pt_be32(w, 1);
    wfield(w, THRIFT_T_STRUCT, 2);
    wfield(w, THRIFT_T_I32, 1);
    pt_be32(w, 1);
    wfield(w, THRIFT_T_I32, 2);
    pt_be32(w, 0);
    wfield(w, THRIFT_T_I32, 3);
    pt_be32(w, 4);
    pt_u8(w, THRIFT_T_STOP);
    pt_u8(w, THRIFT_T_STOP);
}

/* reply of calculate with exception 1: InvalidOperation(1: 4, 2: "...") */
static void reply_calculate_exc(struct pt_buf *w)
{
    wbegin(w, "calculate", THRIFT_MSG_REPLY, 7);
    wfield(w, THRIFT_T_STRUCT, 1);
    wfield(w, THRIFT_T_I32, 1);
    pt_be32(w, 4);
    wfield(w, THRIFT_T_STRING, 2);
    wstr(w, "Cannot divide by 0");
    pt_u8(w, THRIFT_T_STOP);
    pt_u8(w, THRIFT_T_STOP);
}

static const struct thrift_fmt fmt_default = {200, 15, 500, false};

/* Formats one value; returns a static string, "MORE"/"BAD"/"PANIC". */
static const char *fmt_value(const struct thrift_fmt *f, uint8_t type, const struct pt_buf *w)
{
    static char out[4096];
    struct pb_bytes b = {0};
    size_t used = 0;
    enum thrift_rc rc = thrift_read_value(f, type, w->b, w->n, &b, &used);
    switch (rc) {
    case THRIFT_OK:
        ck_assert_uint_eq(used, w->n);
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.p != NULL ? (const char *)b.p : "");
        break;
    case THRIFT_MORE:
        snprintf(out, sizeof out, "MORE");
        break;
    case THRIFT_BAD:
        snprintf(out, sizeof out, "BAD");
        break;
    default:
        snprintf(out, sizeof out, "PANIC");
        break;
    }
    pb_bytes_free(&b);
    return out;
}

/* Feeds call then reply, each cut in two at the given offsets (0: whole);
 * returns the events as JSON text (free it). */
static char *run_pair(const char *cfg, const struct pt_buf *call, size_t ccut,
                      const struct pt_buf *reply, size_t rcut)
{
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg);
    pt_feed_cut(t, TS, call->b, call->n, ccut);
    pt_advance(t, 1000000);
    pt_feed_cut(t, TC, reply->b, reply->n, rcut);
    char *s = pt_dump(t);
    pt_close(t);
    return s;
}

/* ---- value formatting ---- */

START_TEST(thrift_scalars)
{
    struct pt_buf w = {0};
    pt_u8(&w, 1);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_BOOL, &w), "true");
    w.n = 0;
    pt_u8(&w, 0);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_BOOL, &w), "false");
    w.n = 0;
    pt_u8(&w, 0xFF); /* bytes print unsigned */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_BYTE, &w), "255");
    w.n = 0;
    pt_be16(&w, 0xFFFF); /* i16 prints unsigned, as Packetbeat does */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_I16, &w), "65535");
    w.n = 0;
    pt_be32(&w, 0xFFFFFFFFu); /* i32 too */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_I32, &w), "4294967295");
    w.n = 0;
    pt_be64(&w, (uint64_t)-5); /* i64 is signed */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_I64, &w), "-5");
    w.n = 0;
    pt_be32(&w, 7);
    w.n = 3; /* truncated */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_I32, &w), "MORE");
}
END_TEST

START_TEST(thrift_doubles)
{
    char b[64];
    thrift_format_double(1.2, b, sizeof b);
    ck_assert_str_eq(b, "1.2");
    thrift_format_double(2.5, b, sizeof b);
    ck_assert_str_eq(b, "2.5");
    thrift_format_double(100, b, sizeof b);
    ck_assert_str_eq(b, "100");
    thrift_format_double(1e21, b, sizeof b);
    ck_assert_str_eq(b, "1000000000000000000000");
    thrift_format_double(0.000001, b, sizeof b);
    ck_assert_str_eq(b, "0.000001");
    thrift_format_double(-0.1, b, sizeof b);
    ck_assert_str_eq(b, "-0.1");
    thrift_format_double(0.1 + 0.2, b, sizeof b);
    ck_assert_str_eq(b, "0.30000000000000004");
    thrift_format_double(0.0, b, sizeof b);
    ck_assert_str_eq(b, "0");
    thrift_format_double(1.0 / 0.0, b, sizeof b);
    ck_assert_str_eq(b, "+Inf");
    thrift_format_double(-1.0 / 0.0, b, sizeof b);
    ck_assert_str_eq(b, "-Inf");
    thrift_format_double(0.0 / 0.0, b, sizeof b);
    ck_assert_str_eq(b, "NaN");
    thrift_format_double(123456.789, b, sizeof b);
    ck_assert_str_eq(b, "123456.789");
}
END_TEST

START_TEST(thrift_strings)
{
    struct pt_buf w = {0};
    wstr(&w, "hello");
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "\"hello\"");
    w.n = 0;
    wstr(&w, "");
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "\"\"");
    w.n = 0;
    wstr(&w, "a\"b\\c\n\t\x01\x7f"
             "\xc3\xa9");
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w),
                     "\"a\\\"b\\\\c\\n\\t\\x01\\x7f\xc3\xa9\"");
    w.n = 0;
    wstr(&w, "\xc2\xa0\xe2\x80\x8b"); /* NBSP, zero width space: not printable */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "\"\\u00a0\\u200b\"");
    w.n = 0;
    wstr(&w, "\xff\x01"); /* not UTF-8: hex, no quotes */
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "ff01");
    struct thrift_fmt cut = fmt_default;
    cut.string_max = 3;
    w.n = 0;
    wstr(&w, "abcdef");
    ck_assert_str_eq(fmt_value(&cut, THRIFT_T_STRING, &w), "\"abc...\"");
    w.n = 0;
    wstr(&w, "\xc3\xa9\xc3\xa9"); /* the cut splits a rune: hex of the cut text */
    ck_assert_str_eq(fmt_value(&cut, THRIFT_T_STRING, &w), "c3a9c32e2e2e");
    struct thrift_fmt obf = fmt_default;
    obf.obfuscate_strings = true;
    w.n = 0;
    wstr(&w, "secret");
    ck_assert_str_eq(fmt_value(&obf, THRIFT_T_STRING, &w), "\"*\"");
    w.n = 0;
    wstr(&w, "");
    ck_assert_str_eq(fmt_value(&obf, THRIFT_T_STRING, &w), "\"\"");
    /* a negative length is garbage, a short string waits for more */
    w.n = 0;
    pt_be32(&w, 0x80000001u);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "BAD");
    w.n = 0;
    pt_be32(&w, 10);
    pt_u8(&w, 'x');
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRING, &w), "MORE");
}
END_TEST

START_TEST(thrift_collections)
{
    struct pt_buf w = {0};
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 3);
    pt_be16(&w, 1);
    pt_be16(&w, 2);
    pt_be16(&w, 3);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_LIST, &w), "[1, 2, 3]");
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_SET, &w), "{1, 2, 3}");
    /* an empty list or set prints as nothing; an empty map as {} */
    w.n = 0;
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 0);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_LIST, &w), "");
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_SET, &w), "");
    w.n = 0;
    pt_u8(&w, THRIFT_T_STRING);
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 0);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_MAP, &w), "{}");
    w.n = 0;
    pt_u8(&w, THRIFT_T_STRING);
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 2);
    wstr(&w, "a");
    pt_be16(&w, 1);
    wstr(&w, "b");
    pt_be16(&w, 2);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_MAP, &w), "{\"a\": 1, \"b\": 2}");
    /* collection_max cuts with "..." but still reads everything */
    struct thrift_fmt two = fmt_default;
    two.collection_max = 2;
    w.n = 0;
    pt_u8(&w, THRIFT_T_I32);
    pt_be32(&w, 4);
    for (uint32_t i = 1; i <= 4; i++) {
        pt_be32(&w, i);
    }
    ck_assert_str_eq(fmt_value(&two, THRIFT_T_LIST, &w), "[1, 2, ...]");
    /* an unknown element type is garbage; a short list waits */
    w.n = 0;
    pt_u8(&w, 99);
    pt_be32(&w, 1);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_LIST, &w), "BAD");
    w.n = 0;
    pt_u8(&w, THRIFT_T_I32);
    pt_be32(&w, 2);
    pt_be32(&w, 1);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_LIST, &w), "MORE");
    /* list of lists, inner empty */
    w.n = 0;
    pt_u8(&w, THRIFT_T_LIST);
    pt_be32(&w, 2);
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 0);
    pt_u8(&w, THRIFT_T_I16);
    pt_be32(&w, 1);
    pt_be16(&w, 9);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_LIST, &w), "[, [9]]");
}
END_TEST

START_TEST(thrift_structs)
{
    struct pt_buf w = {0};
    wfield(&w, THRIFT_T_I32, 1);
    pt_be32(&w, 4);
    wfield(&w, THRIFT_T_STRING, 2);
    wstr(&w, "x");
    wfield(&w, THRIFT_T_STRUCT, 3);
    pt_u8(&w, THRIFT_T_STOP);
    pt_u8(&w, THRIFT_T_STOP);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRUCT, &w), "(1: 4, 2: \"x\", 3: ())");
    struct thrift_fmt one = fmt_default;
    one.collection_max = 1;
    ck_assert_str_eq(fmt_value(&one, THRIFT_T_STRUCT, &w), "(1: 4, ...)");
    /* the field budget counts the STOP too */
    struct thrift_fmt drop = fmt_default;
    drop.drop_after = 3;
    ck_assert_str_eq(fmt_value(&drop, THRIFT_T_STRUCT, &w), "BAD");
    drop.drop_after = 4;
    ck_assert_str_eq(fmt_value(&drop, THRIFT_T_STRUCT, &w), "(1: 4, 2: \"x\", 3: ())");
    /* cut right before a field type: Packetbeat's index panic */
    w.n = 0;
    wfield(&w, THRIFT_T_I32, 1);
    pt_be32(&w, 4);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRUCT, &w), "PANIC");
    /* cut inside a field: more */
    w.n = 0;
    wfield(&w, THRIFT_T_I32, 1);
    pt_be16(&w, 0);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRUCT, &w), "MORE");
    /* unknown field type */
    w.n = 0;
    wfield(&w, 5, 1);
    pt_be32(&w, 0);
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRUCT, &w), "BAD");
    /* nesting deeper than we follow */
    w.n = 0;
    for (int i = 0; i < THRIFT_MAX_DEPTH + 5; i++) {
        wfield(&w, THRIFT_T_STRUCT, 1);
    }
    for (int i = 0; i < THRIFT_MAX_DEPTH + 6; i++) {
        pt_u8(&w, THRIFT_T_STOP);
    }
    ck_assert_str_eq(fmt_value(&fmt_default, THRIFT_T_STRUCT, &w), "BAD");
}
END_TEST

START_TEST(thrift_msg_header)
{
    struct pt_buf w = {0};
    struct thrift_msg_head h;
    struct pb_bytes m = {0};
    wbegin(&w, "ping", THRIFT_MSG_CALL, 42);
    ck_assert_int_eq(thrift_read_msg_begin(&fmt_default, w.b, w.n, &h, &m), THRIFT_OK);
    ck_assert_uint_eq(h.type, THRIFT_MSG_CALL);
    ck_assert_uint_eq(h.seqid, 42);
    ck_assert_uint_eq(h.len, w.n);
    ck_assert_uint_eq(m.len, 4);
    ck_assert(memcmp(m.p, "ping", 4) == 0);
    /* old non-strict form: name, type byte, seqid */
    w.n = 0;
    wstr(&w, "zip");
    pt_u8(&w, THRIFT_MSG_ONEWAY);
    pt_be32(&w, 9);
    pb_bytes_reset(&m);
    ck_assert_int_eq(thrift_read_msg_begin(&fmt_default, w.b, w.n, &h, &m), THRIFT_OK);
    ck_assert_uint_eq(h.type, THRIFT_MSG_ONEWAY);
    ck_assert_uint_eq(h.seqid, 9);
    for (size_t cut = 0; cut < w.n; cut++) {
        pb_bytes_reset(&m);
        ck_assert_int_eq(thrift_read_msg_begin(&fmt_default, w.b, cut, &h, &m), THRIFT_MORE);
        ck_assert_uint_eq(m.len, 0);
    }
    pb_bytes_free(&m);
}
END_TEST

/* ---- IDL ---- */

static const char tutorial_idl[] =
    "# comment\n"
    "include \"shared.thrift\"\n"
    "namespace cpp tutorial\n"
    "namespace * tut\n"
    "typedef i32 MyInteger\n"
    "const i32 INT32CONSTANT = 9853\n"
    "const map<string,string> MAPCONSTANT = {'hello':'world', 'goodnight':'moon'}\n"
    "const list<i32> L = [1, 2, 3];\n"
    "enum Operation { ADD = 1, SUBTRACT = 2, MULTIPLY, DIVIDE = 4 }\n"
    "/* block /* nested */ comment */\n"
    "struct Work {\n"
    "  1: i32 num1 = 0,\n"
    "  2: i32 num2,\n"
    "  3: Operation op,\n"
    "  4: optional string comment,\n"
    "} (annot = \"x\")\n"
    "exception InvalidOperation { 1: i32 what, 2: string why }\n"
    "union U { 1: string a; 2: i64 b }\n"
    "service Calculator extends shared.SharedService {\n"
    "   void ping(),\n"
    "   i32 add(1:i32 num1, 2:i32 num2),\n"
    "   list<map<set<i32>,map<i32,set<list<string>>>>> deep(1: required list<i32> x) (a.b = "
    "\"c\"),\n"
    "   i32 calculate(1:i32 logid, 2:Work w) throws (1:InvalidOperation ouch),\n"
    "   void implicit(i32 a, string b, 7: i32 c, i32 d)\n"
    "   oneway void zip()\n"
    "}\n";

START_TEST(thrift_idl_text)
{
    struct thrift_idl *idl = pb_calloc(1, sizeof *idl);
    char err[256] = "";
    ck_assert_ptr_nonnull(idl);
    ck_assert_int_eq(
        thrift_idl_parse_text(idl, tutorial_idl, strlen(tutorial_idl), err, sizeof err), 0);
    ck_assert_uint_eq(idl->nmethods, 6);
    thrift_idl_free(idl);
}
END_TEST

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *path = malloc(512);
    snprintf(path, 512, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(thrift_idl_files)
{
    char dir[] = "/tmp/pbthriftXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *tut = write_tmp(dir, "tutorial.thrift", tutorial_idl);
    char *shared = write_tmp(dir, "shared.thrift",
                             "struct SharedStruct { 1: i32 key 2: string value }\n"
                             "service SharedService { SharedStruct getStruct(1: i32 key) }\n");
    struct thrift_idl *idl = NULL;
    char err[512] = "";
    char *files[] = {tut};
    ck_assert_int_eq(thrift_idl_load(files, 1, &idl, err, sizeof err), 0);
    const struct thrift_idl_method *m = thrift_idl_find(idl, "add", 3);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->service, "Calculator");
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 1), "num1");
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 2), "num2");
    ck_assert_ptr_null(thrift_idl_field_name(m->params, m->nparams, 3));
    /* the included file's service */
    m = thrift_idl_find(idl, "getStruct", 9);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->service, "SharedService");
    m = thrift_idl_find(idl, "calculate", 9);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(thrift_idl_field_name(m->exceptions, m->nexceptions, 1), "ouch");
    /* missing ids continue after the highest seen */
    m = thrift_idl_find(idl, "implicit", 8);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 1), "a");
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 2), "b");
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 7), "c");
    ck_assert_str_eq(thrift_idl_field_name(m->params, m->nparams, 8), "d");
    ck_assert_ptr_null(thrift_idl_find(idl, "nope", 4));
    ck_assert_ptr_null(thrift_idl_find(idl, "ad", 2));
    thrift_idl_free(idl);

    /* errors: a syntax error, a missing include, a missing file */
    char *bad = write_tmp(dir, "bad.thrift", "service S {\n  i32 f(1: i32 a\n}\n");
    files[0] = bad;
    ck_assert_int_lt(thrift_idl_load(files, 1, &idl, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "Error parsing Thrift IDL file"));
    char *inc = write_tmp(dir, "inc.thrift", "include \"missing.thrift\"\n");
    files[0] = inc;
    ck_assert_int_lt(thrift_idl_load(files, 1, &idl, err, sizeof err), 0);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.thrift", dir);
    files[0] = missing;
    ck_assert_int_lt(thrift_idl_load(files, 1, &idl, err, sizeof err), 0);
    ck_assert_ptr_null(idl);
    unlink(tut);
    unlink(shared);
    unlink(bad);
    unlink(inc);
    rmdir(dir);
    free(tut);
    free(shared);
    free(bad);
    free(inc);
}
END_TEST

START_TEST(thrift_idl_garbage)
{
    /* random text never crashes the IDL reader */
    srand(7);
    char text[300];
    static const char alphabet[] = "abc{}()<>,;:=[]*\"'/#\n 0123-.xyz_";
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand() % (int)sizeof text);
        for (size_t i = 0; i < n; i++) {
            text[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        }
        struct thrift_idl *idl = pb_calloc(1, sizeof *idl);
        char err[256];
        thrift_idl_parse_text(idl, text, n, err, sizeof err);
        thrift_idl_free(idl);
    }
}
END_TEST

/* ---- the plugin ---- */

static const char *cfg_basic = "ports: [9090]";

START_TEST(thrift_call_reply)
{
    struct pt_buf call = {0}, reply = {0};
    call_add(&call, 1, 1);
    reply_add(&reply, 2);
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TS, call.b, call.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 2000000);
    pt_feed(t, TC, reply.b, reply.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "thrift");
    ck_assert_str_eq(pt_str(t, 0, "method"), "add");
    ck_assert_str_eq(pt_str(t, 0, "path"), "");
    ck_assert_str_eq(pt_str(t, 0, "query"), "add(1: 1, 2: 1)");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "thrift.params"), "(1: 1, 2: 1)");
    ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), "2");
    ck_assert_ptr_null(pt_field(t, 0, "thrift.service"));
    ck_assert_ptr_null(pt_field(t, 0, "thrift.exceptions"));
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    ck_assert_ptr_null(pt_field(t, 0, "response"));
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)call.n);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)reply.n);
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 2000000);
    ck_assert_str_eq(pt_str(t, 0, "client.ip"), "10.0.0.1");
    ck_assert_int_eq(pt_int(t, 0, "server.port"), 9090);
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "thrift");
    pt_close(t);
}
END_TEST

/* Offsets of calculate's call and exception reply where a segment ends
 * right before a nested struct's field type: Packetbeat's readStruct
 * indexes past its data there (a recovered panic) and loses the parser
 * state of both directions, so nothing is published. */
static bool panic_cut(const size_t *cuts, size_t n, size_t cut)
{
    for (size_t i = 0; i < n; i++) {
        if (cuts[i] == cut) {
            return true;
        }
    }
    return false;
}

START_TEST(thrift_split_anywhere)
{
    struct pt_buf call = {0}, reply = {0};
    call_calculate(&call);
    reply_calculate_exc(&reply);
    static const size_t call_panics[] = {38, 45, 52};
    static const size_t reply_panics[] = {31, 56};
    ck_assert_uint_eq(call.n, 54);
    ck_assert_uint_eq(reply.n, 58);
    char *want = run_pair(cfg_basic, &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(
        strstr(want, "\"exceptions\":\"(1: (1: 4, 2: \\\"Cannot divide by 0\\\"))\""));
    ck_assert_ptr_nonnull(strstr(want, "\"status\":\"Error\""));
    ck_assert_ptr_nonnull(strstr(want, "\"return_value\":\"\""));
    for (size_t cut = 1; cut < call.n; cut++) {
        char *got = run_pair(cfg_basic, &call, cut, &reply, 0);
        ck_assert_str_eq(got, panic_cut(call_panics, 3, cut) ? "[]" : want);
        free(got);
    }
    for (size_t cut = 1; cut < reply.n; cut++) {
        char *got = run_pair(cfg_basic, &call, 0, &reply, cut);
        ck_assert_str_eq(got, panic_cut(reply_panics, 2, cut) ? "[]" : want);
        free(got);
    }
    free(want);
}
END_TEST

START_TEST(thrift_byte_by_byte)
{
    /* flat messages (no nested struct): byte by byte gives the same event */
    struct pt_buf call = {0}, reply = {0};
    wbegin(&call, "echo", THRIFT_MSG_CALL, 3);
    wfield(&call, THRIFT_T_STRING, 1);
    wstr(&call, "hi");
    wfield(&call, THRIFT_T_MAP, 2);
    pt_u8(&call, THRIFT_T_I16);
    pt_u8(&call, THRIFT_T_DOUBLE);
    pt_be32(&call, 1);
    pt_be16(&call, 7);
    pt_be64(&call, 0x3FF8000000000000ull); /* 1.5 */
    pt_u8(&call, THRIFT_T_STOP);
    wbegin(&reply, "echo", THRIFT_MSG_REPLY, 3);
    wfield(&reply, THRIFT_T_SET, 0);
    pt_u8(&reply, THRIFT_T_BOOL);
    pt_be32(&reply, 2);
    pt_u8(&reply, 1);
    pt_u8(&reply, 0);
    pt_u8(&reply, THRIFT_T_STOP);
    char *want = run_pair(cfg_basic, &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(strstr(want, "\"params\":\"(1: \\\"hi\\\", 2: {7: 1.5})\""));
    ck_assert_ptr_nonnull(strstr(want, "\"return_value\":\"{true, false}\""));
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed_bytewise(t, TS, call.b, call.n);
    pt_advance(t, 1000000);
    pt_feed_bytewise(t, TC, reply.b, reply.n);
    pt_expect_dump(t, want);
    free(want);
    pt_close(t);
}
END_TEST

START_TEST(thrift_pipelined_in_one_segment)
{
    /* two calls and their replies in single segments */
    struct pt_buf calls = {0}, replies = {0};
    call_add(&calls, 1, 2);
    struct pt_buf r1 = {0};
    reply_add(&r1, 3);
    memcpy(replies.b, r1.b, r1.n);
    replies.n = r1.n;
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TS, calls.b, calls.n);
    pt_feed(t, TC, replies.b, replies.n);
    pt_feed(t, TS, calls.b, calls.n);
    pt_feed(t, TC, replies.b, replies.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 1, "thrift.return_value"), "3");
    /* a call and a reply glued to garbage-free trailing bytes */
    struct pt_buf two = {0};
    call_add(&two, 5, 6);
    call_add(&two, 7, 8);
    pt_feed(t, TS, two.b, two.n);
    /* the first is published as oneway when the second arrives */
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 2, "thrift.params"), "(1: 5, 2: 6)");
    ck_assert_ptr_null(pt_field(t, 2, "thrift.return_value"));
    pt_close(t);
}
END_TEST

START_TEST(thrift_framed)
{
    struct pt_buf call = {0}, reply = {0}, fc = {0}, fr = {0};
    call_add(&call, 1, 1);
    reply_add(&reply, 2);
    pt_be32(&fc, (uint32_t)call.n);
    memcpy(fc.b + 4, call.b, call.n);
    fc.n += call.n;
    pt_be32(&fr, (uint32_t)reply.n);
    memcpy(fr.b + 4, reply.b, reply.n);
    fr.n += reply.n;
    const char *cfg = "ports: [9090]\ntransport_type: framed";
    char *want = run_pair(cfg, &fc, 0, &fr, 0);
    ck_assert_ptr_nonnull(strstr(want, "\"return_value\":\"2\""));
    /* bytes are the frame sizes */
    char bytes[64];
    snprintf(bytes, sizeof bytes, "\"source\":{\"bytes\":%zu,", call.n);
    ck_assert_ptr_nonnull(strstr(want, bytes));
    for (size_t cut = 1; cut < fc.n; cut++) {
        char *got = run_pair(cfg, &fc, cut, &fr, cut < fr.n ? cut : 0);
        ck_assert_str_eq(got, want);
        free(got);
    }
    free(want);
    /* the socket transport sees garbage in a framed stream */
    char *sock = run_pair(cfg_basic, &fc, 0, &fr, 0);
    ck_assert_str_eq(sock, "[]");
    free(sock);
}
END_TEST

START_TEST(thrift_oneway_and_fin)
{
    struct pt_buf zip = {0};
    wbegin(&zip, "zip", THRIFT_MSG_ONEWAY, 3);
    pt_u8(&zip, THRIFT_T_STOP);
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TS, zip.b, zip.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_fin(t, TS);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "zip");
    ck_assert_str_eq(pt_str(t, 0, "thrift.params"), "()");
    ck_assert_ptr_null(pt_field(t, 0, "thrift.return_value"));
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));
    pt_fin(t, TC);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(thrift_unmatched)
{
    struct pt_buf call = {0}, other = {0};
    call_add(&call, 1, 1);
    wbegin(&other, "sub", THRIFT_MSG_REPLY, 1);
    wfield(&other, THRIFT_T_I32, 0);
    pt_be32(&other, 0);
    pt_u8(&other, THRIFT_T_STOP);
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    /* a reply with no call: nothing */
    pt_feed(t, TC, other.b, other.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* a reply for another method is ignored, the call stays pending */
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, other.b, other.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_fin(t, TC);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_ptr_null(pt_field(t, 0, "thrift.return_value"));
    /* expiry drops a pending call silently */
    pt_feed(t, TS, call.b, call.n);
    pt_expire(t);
    pt_fin(t, TS);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(thrift_garbage_then_recovery)
{
    struct pt_buf bad = {0}, call = {0}, reply = {0};
    wbegin(&bad, "add", THRIFT_MSG_CALL, 1);
    wfield(&bad, 5, 1); /* unknown type */
    pt_be32(&bad, 0);
    call_add(&call, 1, 1);
    reply_add(&reply, 2);
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    ck_assert_int_eq(pt_feed(t, TS, bad.b, bad.n), PB_PARSE_DROP);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, reply.b, reply.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), "2");
    /* a negative method name length drops the stream */
    struct pt_buf neg = {0};
    pt_be32(&neg, 0x80010001u);
    pt_be32(&neg, 0xFFFFFFF0u);
    pt_u8(&neg, 0);
    ck_assert_int_eq(pt_feed(t, TS, neg.b, neg.n), PB_PARSE_DROP);
    pt_close(t);
}
END_TEST

START_TEST(thrift_panic_drops_both_directions)
{
    /* a call whose nested struct ends right before a field type: Packetbeat
     * loses both directions' parser state */
    struct pt_buf part = {0}, reply_part = {0};
    wbegin(&part, "calculate", THRIFT_MSG_CALL, 7);
    wfield(&part, THRIFT_T_STRUCT, 2);
    wfield(&part, THRIFT_T_I32, 1);
    pt_be32(&part, 1);
    struct pt_buf reply = {0};
    reply_calculate_exc(&reply);
    memcpy(reply_part.b, reply.b, 10);
    reply_part.n = 10;
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TC, reply_part.b, reply_part.n); /* buffered in the other direction */
    ck_assert_int_eq(pt_feed(t, TS, part.b, part.n), PB_PARSE_DROP);
    /* the other direction's buffered bytes are gone too: a whole reply
     * parses from its first byte */
    struct pt_buf call = {0}, r2 = {0};
    call_add(&call, 1, 1);
    reply_add(&r2, 2);
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, r2.b, r2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "add");
    pt_close(t);
}
END_TEST

START_TEST(thrift_gap)
{
    struct pt_buf call = {0}, reply = {0};
    call_calculate(&call);
    reply_calculate_exc(&reply);
    /* a gap inside the reply's fields publishes it with a note */
    struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, reply.b, reply.n - 6);
    pt_gap(t, TC, 100);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "error.message"), "Packet loss while capturing the response");
    ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), "");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    pt_close(t);
    /* a gap in the call drops it and the pending state */
    t = pt_open(&pb_proto_thrift, cfg_basic);
    pt_feed(t, TS, call.b, 10);
    pt_gap(t, TS, 50);
    pt_feed(t, TC, reply.b, reply.n);
    pt_fin(t, TS);
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* a gap in the reply header: nothing, and the call is forgotten */
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, reply.b, 5);
    pt_gap(t, TC, 10);
    pt_fin(t, TS);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(thrift_capture_reply_off)
{
    struct pt_buf call = {0}, reply = {0};
    call_add(&call, 1, 1);
    reply_add(&reply, 2);
    struct pt_conn *t = pt_open(&pb_proto_thrift, "ports: [9090]\ncapture_reply: false");
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, reply.b, reply.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), "");
    /* the reply direction is skipped until the next call */
    pt_feed(t, TC, reply.b, reply.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_feed(t, TS, call.b, call.n);
    pt_feed(t, TC, reply.b, 5);
    pt_feed(t, TC, reply.b + 5, reply.n - 5);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

START_TEST(thrift_send_request_response)
{
    struct pt_buf call = {0}, reply = {0};
    call_calculate(&call);
    reply_calculate_exc(&reply);
    char *s =
        run_pair("ports: [9090]\nsend_request: true\nsend_response: true", &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(strstr(s, "\"request\":\"calculate(1: 1, 2: (1: 1, 2: 0, 3: 4))\""));
    ck_assert_ptr_nonnull(
        strstr(s, "\"response\":\"Exceptions: (1: (1: 4, 2: \\\"Cannot divide by 0\\\"))\""));
    free(s);
}
END_TEST

START_TEST(thrift_with_idl)
{
    char dir[] = "/tmp/pbthriftXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *tut = write_tmp(dir, "tutorial.thrift", tutorial_idl);
    char *shared =
        write_tmp(dir, "shared.thrift", "service SharedService { i32 getStruct(1: i32 key) }\n");
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "ports: [9090]\nidl_files: [\"%s\"]", tut);
    struct pt_buf call = {0}, reply = {0};
    call_calculate(&call);
    reply_calculate_exc(&reply);
    char *s = run_pair(cfg, &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(strstr(s, "\"params\":\"(logid: 1, w: (1: 1, 2: 0, 3: 4))\""));
    ck_assert_ptr_nonnull(strstr(s, "\"service\":\"Calculator\""));
    ck_assert_ptr_nonnull(strstr(s, "\"path\":\"Calculator\""));
    ck_assert_ptr_nonnull(strstr(s, "\"exceptions\":\"(ouch: (1: 4, 2: \\\"Cannot"));
    free(s);
    unlink(tut);
    unlink(shared);
    rmdir(dir);
    free(tut);
    free(shared);
}
END_TEST

/* init with a config text: the rc */
static int init_rc(const char *yaml)
{
    return pt_init_rc(&pb_proto_thrift, yaml, NULL);
}

START_TEST(thrift_config)
{
    ck_assert_int_eq(init_rc("ports: [9090]"), 0);
    ck_assert_int_eq(init_rc("ports: [9090]\ntransport_type: framed"), 0);
    ck_assert_int_lt(init_rc("ports: [9090]\ntransport_type: http"), 0);
    ck_assert_int_lt(init_rc("ports: [9090]\nprotocol_type: compact"), 0);
    ck_assert_int_lt(init_rc("ports: [9090]\nidl_files: [/nonexistent/x.thrift]"), 0);
    ck_assert_int_lt(init_rc("ports: [9090]\nstring_max_size: abc"), 0);
}
END_TEST

START_TEST(thrift_options)
{
    struct pt_buf call = {0}, reply = {0};
    wbegin(&call, "echo", THRIFT_MSG_CALL, 1);
    wfield(&call, THRIFT_T_STRING, 1);
    wstr(&call, "hello world");
    wfield(&call, THRIFT_T_LIST, 2);
    pt_u8(&call, THRIFT_T_I32);
    pt_be32(&call, 3);
    pt_be32(&call, 1);
    pt_be32(&call, 2);
    pt_be32(&call, 3);
    pt_u8(&call, THRIFT_T_STOP);
    wbegin(&reply, "echo", THRIFT_MSG_REPLY, 1);
    pt_u8(&reply, THRIFT_T_STOP);
    char *s = run_pair("ports: [9090]\nstring_max_size: 5\ncollection_max_size: 1\n"
                       "obfuscate_strings: false",
                       &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(strstr(s, "\"params\":\"(1: \\\"hello...\\\", ...)\""));
    free(s);
    s = run_pair("ports: [9090]\nobfuscate_strings: true", &call, 0, &reply, 0);
    ck_assert_ptr_nonnull(strstr(s, "\"params\":\"(1: \\\"*\\\", 2: [1, 2, 3])\""));
    free(s);
    s = run_pair("ports: [9090]\ndrop_after_n_struct_fields: 1", &call, 0, &reply, 0);
    /* top-level fields are not limited */
    ck_assert_ptr_nonnull(strstr(s, "\"params\":\"(1: \\\"hello world\\\", 2: [1, 2, 3])\""));
    free(s);
}
END_TEST

START_TEST(thrift_random_bytes)
{
    srand(1234);
    uint8_t buf[256];
    for (int round = 0; round < 4000; round++) {
        struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
        for (int seg = 0; seg < 4; seg++) {
            size_t n = (size_t)(rand() % (int)sizeof buf);
            for (size_t i = 0; i < n; i++) {
                buf[i] = (uint8_t)rand();
            }
            /* make the start look like a message now and then */
            if (n > 4 && (rand() & 1)) {
                buf[0] = 0x80;
                buf[1] = 0x01;
                buf[2] = 0;
                buf[4] = 0;
            }
            enum pb_dir d = (rand() & 1) ? TS : TC;
            pt_feed(t, d, buf, n);
            if (rand() % 16 == 0) {
                pt_gap(t, d, 10);
            }
        }
        pt_fin(t, TS);
        pt_close(t);
    }
}
END_TEST

/* Hex to bytes (test vectors). */
static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] != '\0' && h[1] != '\0' && n < cap; h += 2) {
        unsigned v = 0;
        ck_assert_int_eq(sscanf(h, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Messages and values from Packetbeat's thrift unit tests. */
START_TEST(thrift_packetbeat_vectors)
{
    static const struct {
        const char *call, *reply;
        const char *params, *ret, *exc;
    } v[] = {
        {"800100010000000470696e670000000000", "800100020000000470696e670000000000", "()", "",
         NULL},
        {"800100010000000561646431360000000006000100010600020001"
         "00",
         "8001000200000005616464313600000000060000000200", "(1: 1, 2: 1)", "2", NULL},
        {"800100010000000963616c63756c61746500000000080001000000010c000208000100000001080002"
         "00000000080003000000040000",
         "800100020000000963616c63756c617465000000000800000000000500",
         "(1: 1, 2: (1: 1, 2: 0, 3: 4))", "5", NULL},
        {"800100010000000963616c63756c61746500000000080001000000010c000208000100000001080002"
         "00000000080003000000040000",
         "800100020000000963616c63756c617465000000000c0001080001000000040b00020000001243616e6e"
         "6f742064697669646520627920300000",
         "(1: 1, 2: (1: 1, 2: 0, 3: 4))", "", "(1: (1: 4, 2: \"Cannot divide by 0\"))"},
        {"800100010000000b6563686f5f737472696e67000000000b00010000000568656c6c6f00",
         "800100020000000b6563686f5f737472696e67000000000b00000000000568656c6c6f00",
         "(1: \"hello\")", "\"hello\"", NULL},
        {"80010001000000096563686f5f6c697374000000000f00010600000003000100020003"
         "00",
         "80010002000000096563686f5f6c697374000000000f0000060000000300010002000300",
         "(1: [1, 2, 3])", "[1, 2, 3]", NULL},
        {"80010001000000086563686f5f6d6170000000000d00010b0600000003000000016100010000000163"
         "000300000001620002"
         "00",
         "80010002000000086563686f5f6d6170000000000d00000b0600000003000000016100010000000163"
         "00030000000162000200",
         "(1: {\"a\": 1, \"c\": 3, \"b\": 2})", "{\"a\": 1, \"c\": 3, \"b\": 2}", NULL},
        {"800100010000000b6563686f5f62696e617279000000000b0001000000086162636465666768"
         "00",
         "800100020000000b6563686f5f62696e617279000000000b000000000008ab0c1d281a00000000",
         "(1: \"abcdefgh\")", "ab0c1d281a000000", NULL},
        {"800100010000000b6563686f5f737472696e67000000000b00010000000568106c6c6f00",
         "800100020000000b6563686f5f737472696e67000000000b0000000000056810"
         "6c6c6f00",
         "(1: \"h\\x10llo\")", "\"h\\x10llo\"", NULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t c[512], r[512];
        size_t cn = unhex(v[i].call, c, sizeof c), rn = unhex(v[i].reply, r, sizeof r);
        struct pt_conn *t = pt_open(&pb_proto_thrift, cfg_basic);
        pt_feed(t, TS, c, cn);
        pt_feed(t, TC, r, rn);
        ck_assert_msg(pt_nevents(t) == 1, "vector %zu", i);
        ck_assert_str_eq(pt_str(t, 0, "thrift.params"), v[i].params);
        ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), v[i].ret);
        if (v[i].exc != NULL) {
            ck_assert_str_eq(pt_str(t, 0, "thrift.exceptions"), v[i].exc);
            ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
        } else {
            ck_assert_ptr_null(pt_field(t, 0, "thrift.exceptions"));
        }
        ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)cn);
        pt_close(t);
    }
    /* framed, split as in Packetbeat's TestThrift_ParseSimpleTFramedSplit */
    static const char *parts[] = {"0000001e8001000100",
                                  "00000361646400000000080001000000010800020000000100",
                                  "000000178001000200000003", "616464000000000800000000000200"};
    struct pt_conn *t = pt_open(&pb_proto_thrift, "ports: [9090]\ntransport_type: framed");
    for (int i = 0; i < 4; i++) {
        uint8_t b[64];
        size_t n = unhex(parts[i], b, sizeof b);
        pt_feed(t, i < 2 ? TS : TC, b, n);
    }
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "thrift.params"), "(1: 1, 2: 1)");
    ck_assert_str_eq(pt_str(t, 0, "thrift.return_value"), "2");
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), 30);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), 23);
    pt_close(t);
}
END_TEST

static Suite *thrift_suite(void)
{
    Suite *s = suite_create("thrift");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thrift_scalars);
    tcase_add_test(tc, thrift_doubles);
    tcase_add_test(tc, thrift_strings);
    tcase_add_test(tc, thrift_collections);
    tcase_add_test(tc, thrift_structs);
    tcase_add_test(tc, thrift_msg_header);
    tcase_add_test(tc, thrift_idl_text);
    tcase_add_test(tc, thrift_idl_files);
    tcase_add_test(tc, thrift_idl_garbage);
    tcase_add_test(tc, thrift_call_reply);
    tcase_add_test(tc, thrift_split_anywhere);
    tcase_add_test(tc, thrift_byte_by_byte);
    tcase_add_test(tc, thrift_pipelined_in_one_segment);
    tcase_add_test(tc, thrift_framed);
    tcase_add_test(tc, thrift_oneway_and_fin);
    tcase_add_test(tc, thrift_unmatched);
    tcase_add_test(tc, thrift_garbage_then_recovery);
    tcase_add_test(tc, thrift_panic_drops_both_directions);
    tcase_add_test(tc, thrift_gap);
    tcase_add_test(tc, thrift_capture_reply_off);
    tcase_add_test(tc, thrift_send_request_response);
    tcase_add_test(tc, thrift_with_idl);
    tcase_add_test(tc, thrift_config);
    tcase_add_test(tc, thrift_options);
    tcase_add_test(tc, thrift_packetbeat_vectors);
    tcase_add_test(tc, thrift_random_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(thrift_suite());
    return failed == 0 ? 0 : 1;
}
