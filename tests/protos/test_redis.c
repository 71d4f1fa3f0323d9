/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_redis.c - redis: RESP scanning and text building,
 * requests and replies told apart by direction, split anywhere (array
 * header lines too), pipelining, queue limits, errors,
 * gaps, garbage and hostile input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protos/proto.h"
#include "protos/redis/redis_parse.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_redis;

#define CFG "ports: [6379]"

/* SET key value -> +OK */
static const char set_req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
static const char ok_resp[] = "+OK\r\n";
/* lindex test 1 -> "hello1" */
static const char lindex_req[] = "*3\r\n$6\r\nlindex\r\n$4\r\ntest\r\n$1\r\n1\r\n";
static const char hello_resp[] = "$6\r\nhello1\r\n";

/* ---- parser ---- */

static enum pb_parse scan_all(const char *s, size_t *len)
{
    struct redis_scan sc;
    memset(&sc, 0, sizeof sc);
    return redis_scan(&sc, (const uint8_t *)s, strlen(s), len);
}

START_TEST(scan_values)
{
    size_t len = 0;
    ck_assert_int_eq(scan_all("+OK\r\n", &len), PB_PARSE_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(scan_all(":12\r\nrest", &len), PB_PARSE_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(scan_all("$-1\r\n", &len), PB_PARSE_OK);
    ck_assert_int_eq(scan_all("*-1\r\n", &len), PB_PARSE_OK);
    ck_assert_int_eq(scan_all("*0\r\n", &len), PB_PARSE_OK);
    ck_assert_int_eq(scan_all("$0\r\n\r\n", &len), PB_PARSE_OK);
    ck_assert_uint_eq(len, 6);
    ck_assert_int_eq(scan_all(set_req, &len), PB_PARSE_OK);
    ck_assert_uint_eq(len, strlen(set_req));
    /* incomplete */
    ck_assert_int_eq(scan_all("*2\r\n$1\r\na\r\n", &len), PB_PARSE_MORE);
    ck_assert_int_eq(scan_all("$5\r\nab", &len), PB_PARSE_MORE);
    ck_assert_int_eq(scan_all("+OK\r", &len), PB_PARSE_MORE);
    /* garbage */
    ck_assert_int_eq(scan_all("PING\r\n", &len), PB_PARSE_DROP);
    ck_assert_int_eq(scan_all("$3\r\nabcd\r\n", &len), PB_PARSE_DROP);
    ck_assert_int_eq(scan_all("$x\r\n", &len), PB_PARSE_DROP);
    ck_assert_int_eq(scan_all("*\r\n", &len), PB_PARSE_DROP);
    ck_assert_int_eq(scan_all("$-5\r\n", &len), PB_PARSE_DROP);
}
END_TEST

START_TEST(scan_resumes)
{
    /* the same scanner state fed growing prefixes finds the same end */
    const char *msg = "*2\r\n*2\r\n$1\r\na\r\n:1\r\n+x\r\n";
    size_t n = strlen(msg);
    struct redis_scan sc;
    memset(&sc, 0, sizeof sc);
    size_t len = 0;
    for (size_t i = 1; i < n; i++) {
        ck_assert_int_eq(redis_scan(&sc, (const uint8_t *)msg, i, &len), PB_PARSE_MORE);
    }
    ck_assert_int_eq(redis_scan(&sc, (const uint8_t *)msg, n, &len), PB_PARSE_OK);
    ck_assert_uint_eq(len, n);
}
END_TEST

static char build_buf[256];

/* Builds into a buffer of exactly strlen(s) + 1 bytes (the end of
 * build_buf), so ASan-free runs still catch a text that outgrows it. */
static void build_from(const char *s, bool from_client, struct redis_built *b)
{
    size_t n = strlen(s);
    ck_assert_uint_lt(n, sizeof build_buf);
    char *buf = build_buf + sizeof build_buf - (n + 1);
    memset(build_buf, 'Z', sizeof build_buf);
    ck_assert_int_eq(redis_build((const uint8_t *)s, n, from_client, buf, b), 0);
    ck_assert_uint_le(b->text_len, n);
    ck_assert_uint_eq(strlen(b->text), b->text_len);
}

/* a slice of the text equals lit */
#define ck_slice_eq(p, n, lit)                                                                     \
    do {                                                                                           \
        ck_assert_ptr_nonnull(p);                                                                  \
        ck_assert_uint_eq((n), strlen(lit));                                                       \
        ck_assert_int_eq(memcmp((p), (lit), (n)), 0);                                              \
    } while (0)

START_TEST(build_texts)
{
    struct redis_built b;
    build_from(set_req, true, &b);
    ck_assert(b.is_request);
    ck_assert_str_eq(b.text, "SET key value");
    ck_slice_eq(b.method, b.method_len, "SET");
    ck_slice_eq(b.path, b.path_len, "key");

    build_from("*1\r\n$4\r\nping\r\n", true, &b);
    ck_assert(b.is_request);
    ck_assert_str_eq(b.text, "ping");
    ck_slice_eq(b.method, b.method_len, "ping");
    ck_assert_ptr_null(b.path);

    build_from("*4\r\n$1\r\na\r\n*2\r\n$1\r\nb\r\n:2\r\n$-1\r\n*0\r\n", false, &b);
    ck_assert(!b.is_request);
    ck_assert_str_eq(b.text, "[a, [b, 2], nil, []]");

    build_from("-ERR unknown\r\n", false, &b);
    ck_assert(b.is_error);
    ck_assert_str_eq(b.text, "ERR unknown");

    /* an error inside an array does not make the reply an error */
    build_from("*1\r\n-ERR x\r\n", false, &b);
    ck_assert(!b.is_error);
    ck_assert_str_eq(b.text, "[ERR x]");

    ck_assert(redis_is_command("config get", 10));
    ck_assert(redis_is_command("zRangeByScore", 13));
    ck_assert(!redis_is_command("GETX", 4));
    /* the ends of the table, a name that is a prefix of another, bytes
       after a NUL, and names before / after every entry */
    ck_assert(redis_is_command("append", 6));
    ck_assert(redis_is_command("ZUNIONSTORE", 11));
    ck_assert(redis_is_command("GET", 3));
    ck_assert(redis_is_command("getrange", 8));
    ck_assert(redis_is_command("Client Kill", 11));
    ck_assert(!redis_is_command("GE", 2));
    ck_assert(!redis_is_command("AAA", 3));
    ck_assert(!redis_is_command("ZZZ", 3));
    ck_assert(!redis_is_command("GET\0X", 5));
    ck_assert(!redis_is_command("", 0));
    ck_assert(!redis_is_command("CONFIG RESETSTATS", 17));
    ck_assert(!redis_is_command("GET\0", 4)); /* pads as "GET" */
}
END_TEST

/* The lookup reads a name of 1..16 bytes as two words and folds its case
 * eight bytes at a time: a command of every length from 3 to 16 is found
 * in any mix of cases, and not when one byte is another, is the letter
 * with its high bit set (no folding past ASCII), or when the name is one
 * byte shorter or longer. */
START_TEST(command_names_every_length)
{
    static const char *const names[] = {
        "GET",
        "AUTH",
        "BITOP",
        "APPEND",
        "DISCARD",
        "BITCOUNT",
        "PEXPIREAT",
        "BRPOPLPUSH",
        "CLIENT KILL",
        "BGREWRITEAOF",
        "ZRANGEBYSCORE",
        "CLIENT GETNAME",
        "ZREMRANGEBYRANK",
        "CONFIG RESETSTAT",
        "ZREMRANGEBYSCORE",
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *name = names[k];
        size_t n = strlen(name);
        char v[32];
        for (unsigned mask = 0; mask < 64; mask++) {
            /* cases: every letter lower-cased by the bits of mask (its
               six bits repeat along the name) */
            for (size_t i = 0; i < n; i++) {
                char c = name[i];
                v[i] = (mask >> (i % 6)) & 1 && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
            }
            ck_assert_msg(redis_is_command(v, n), "%.*s", (int)n, v);
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(v, name, n);
            v[i] = '#';
            ck_assert(!redis_is_command(v, n));
            if (name[i] >= 'A' && name[i] <= 'Z') {
                v[i] = (char)(name[i] | 0x80); /* upper case, high bit */
                ck_assert(!redis_is_command(v, n));
                v[i] = (char)((name[i] + 32) | 0x80); /* lower case, high bit */
                ck_assert(!redis_is_command(v, n));
            }
        }
        memcpy(v, name, n);
        v[n] = '#';
        ck_assert(!redis_is_command(v, n + 1));
        ck_assert(!redis_is_command(v, n - 1));
    }
}
END_TEST

/* A known command's names come from the command table: the method in
 * upper case and event.action "redis." and the method in lower case, as
 * made from the wire bytes; an unknown command has neither. */
START_TEST(command_names_from_table)
{
    static const char *const cmds[] = {"get",         "GET",         "zRangeByScore", "append",
                                       "ZUNIONSTORE", "Client Kill", "CONFIG  GET",   "config get",
                                       "script LOAD", "getdel",      "GE T",          "hsetinx"};
    static char msg[256], text[256];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        /* one element, or two words as two elements */
        const char *c = cmds[i];
        const char *sp = strchr(c, ' ');
        int n = sp == NULL
                    ? snprintf(msg, sizeof msg, "*2\r\n$%zu\r\n%s\r\n$1\r\nk\r\n", strlen(c), c)
                    : snprintf(msg, sizeof msg, "*3\r\n$%d\r\n%.*s\r\n$%zu\r\n%s\r\n$1\r\nk\r\n",
                               (int)(sp - c), (int)(sp - c), c, strlen(sp + 1), sp + 1);
        struct redis_built b;
        size_t mlen = 0;
        ck_assert_int_eq(
            redis_parse((const uint8_t *)msg, (size_t)n, true, false, text, sizeof text, &b, &mlen),
            0);
        if (!redis_is_command(b.method, b.method_len)) {
            ck_assert_ptr_null(b.command);
            ck_assert_ptr_null(b.action);
            continue;
        }
        ck_assert_ptr_nonnull(b.command);
        ck_assert_uint_eq(strlen(b.command), b.method_len);
        ck_assert_uint_eq(b.action_len, 6 + b.method_len);
        ck_assert_int_eq(memcmp(b.action, "redis.", 6), 0);
        for (size_t k = 0; k < b.method_len; k++) {
            char m = b.method[k];
            ck_assert_int_eq(b.command[k], m >= 'a' && m <= 'z' ? m - 'a' + 'A' : m);
            ck_assert_int_eq(b.action[6 + k], m >= 'A' && m <= 'Z' ? m - 'A' + 'a' : m);
        }
    }
}
END_TEST

/* Texts as long as the message allows: every "nil", "[]" and separator
 * fits in the bytes of the values it stands for. */
START_TEST(build_text_fits)
{
    struct redis_built b;
    build_from("*4\r\n$-1\r\n*0\r\n*-1\r\n+\r\n", false, &b);
    ck_assert_str_eq(b.text, "[nil, [], nil, ]");
    build_from("*3\r\n*0\r\n*1\r\n*0\r\n$0\r\n\r\n", false, &b);
    ck_assert_str_eq(b.text, "[[], [[]], ]");
    build_from("*3\r\n$-1\r\n*-1\r\n*0\r\n", true, &b);
    ck_assert_str_eq(b.text, "nil nil []");
    ck_slice_eq(b.method, b.method_len, "nil");
    ck_slice_eq(b.path, b.path_len, "nil");
    build_from("$-1\r\n", false, &b);
    ck_assert_str_eq(b.text, "nil");
    build_from("*0\r\n", false, &b);
    ck_assert_str_eq(b.text, "[]");
    build_from("*-1\r\n", true, &b);
    ck_assert_str_eq(b.text, "nil");
    ck_assert_ptr_null(b.method);
}
END_TEST

START_TEST(build_by_direction)
{
    struct redis_built b;
    /* a reply that reads like a command (HGETALL of a hash whose first field
     * is "echo") stays a reply */
    build_from("*2\r\n$4\r\necho\r\n$1\r\nx\r\n", false, &b);
    ck_assert(!b.is_request);
    ck_assert_ptr_null(b.method);
    ck_assert_str_eq(b.text, "[echo, x]");

    /* a two-word command: method "config get", path the argument after it */
    build_from("*3\r\n$6\r\nconfig\r\n$3\r\nget\r\n$9\r\nmaxmemory\r\n", true, &b);
    ck_assert(b.is_request);
    ck_assert_str_eq(b.text, "config get maxmemory");
    ck_slice_eq(b.method, b.method_len, "config get");
    ck_slice_eq(b.path, b.path_len, "maxmemory");

    /* a one-word command wins over a two-word reading */
    build_from("*3\r\n$3\r\nDEL\r\n$3\r\nget\r\n$1\r\nx\r\n", true, &b);
    ck_slice_eq(b.method, b.method_len, "DEL");
    ck_slice_eq(b.path, b.path_len, "get");

    /* a command Packetbeat's list lacks is still a request from the client */
    build_from("*2\r\n$6\r\nGETDEL\r\n$1\r\nx\r\n", true, &b);
    ck_assert(b.is_request);
    ck_assert_str_eq(b.text, "GETDEL x");
    ck_slice_eq(b.method, b.method_len, "GETDEL");
    ck_slice_eq(b.path, b.path_len, "x");

    /* nested arrays in a request keep the reply form inside */
    build_from("*2\r\n$4\r\nECHO\r\n*2\r\n:1\r\n:2\r\n", true, &b);
    ck_assert_str_eq(b.text, "ECHO [1, 2]");
    ck_slice_eq(b.path, b.path_len, "[1, 2]");

    /* a client message that is no array: a request without a method */
    build_from("+x\r\n", true, &b);
    ck_assert(b.is_request);
    ck_assert(!b.is_error);
    ck_assert_ptr_null(b.method);
    ck_assert_str_eq(b.text, "x");
}
END_TEST

/* Random RESP-like bytes: mostly well-formed values, now and then a
 * wrong byte. */
static size_t gen_value(char *buf, size_t cap, int depth)
{
    static const char *const atoms[] = {
        "+OK\r\n",           ":12\r\n",       ":x\r\n",           ":\r\n",
        "-ERR e\r\n",        "$-1\r\n",       "*-1\r\n",          "*0\r\n",
        "$0\r\n\r\n",        "*-3\r\n",       "$3\r\na\"b\r\n",   "$2\r\nab\r\n",
        "$5\r\nGET\r\n\r\n", "$3\r\nGET\r\n", "$6\r\nconfig\r\n", "$3\r\nget\r\n"};
    size_t n = 0;
    if (depth < 3 && rand() % 3 == 0) {
        int count = rand() % 5;
        n = (size_t)snprintf(buf, cap, "*%d\r\n", count);
        for (int i = 0; i < count && n < cap; i++) {
            n += gen_value(buf + n, cap - n, depth + 1);
        }
    } else {
        const char *a = atoms[rand() % (int)(sizeof atoms / sizeof atoms[0])];
        n = (size_t)snprintf(buf, cap, "%s", a);
    }
    if (n >= cap) {
        return cap - 1;
    }
    if (n > 0 && rand() % 40 == 0) {
        buf[rand() % (int)n] = "*$\r\n-x0"[rand() % 7];
    }
    return n;
}

/* redis_parse of whatever bytes are at hand agrees with redis_scan and
 * then redis_build of the message: the same length, text and names, and
 * it fails only when the scan needs more bytes or drops them, or the text
 * does not fit. */
START_TEST(parse_agrees_with_scan)
{
    srand(11);
    static char msg[4096], text1[4096], text2[4096];
    for (int round = 0; round < 20000; round++) {
        size_t n = gen_value(msg, sizeof msg, 0);
        size_t avail = rand() % 4 == 0 ? (size_t)rand() % (n + 1) : n;
        bool client = rand() % 2;
        size_t cap = rand() % 3 == 0 ? (size_t)rand() % 16 + 1 : sizeof text1;
        struct redis_built a, b;
        size_t alen = 0, slen = 0;
        int rc = redis_parse((const uint8_t *)msg, avail, client, false, text1, cap, &a, &alen);
        struct redis_scan sc;
        memset(&sc, 0, sizeof sc);
        enum pb_parse r = redis_scan(&sc, (const uint8_t *)msg, avail, &slen);
        if (r != PB_PARSE_OK) {
            ck_assert_int_eq(rc, -1);
            continue;
        }
        ck_assert_int_eq(redis_build((const uint8_t *)msg, slen, client, text2, &b), 0);
        if (rc != 0) {
            ck_assert_uint_ge(b.text_len + 1, cap); /* failed only for room */
            continue;
        }
        ck_assert_uint_eq(alen, slen);
        ck_assert_uint_eq(a.text_len, b.text_len);
        ck_assert_int_eq(memcmp(a.text, b.text, a.text_len + 1), 0);
        ck_assert_int_eq(a.is_request, b.is_request);
        ck_assert_int_eq(a.is_error, b.is_error);
        ck_assert_int_eq(a.bad_int, b.bad_int);
        ck_assert_int_eq(a.method == NULL, b.method == NULL);
        ck_assert_int_eq(a.path == NULL, b.path == NULL);
        if (a.method != NULL) {
            ck_assert_uint_eq(a.method - a.text, b.method - b.text);
            ck_assert_uint_eq(a.method_len, b.method_len);
        }
        if (a.path != NULL) {
            ck_assert_uint_eq(a.path - a.text, b.path - b.text);
            ck_assert_uint_eq(a.path_len, b.path_len);
        }
    }
}
END_TEST

/* A message for the array-of-bulk-strings way: mostly such arrays
 * (commands, words, values with quotes), now and then something else in
 * their place (nil, an integer, a nested array, a sign, leading zeros or
 * bytes after a length, a count that does not match) or a wrong byte. */
static size_t gen_bulks(char *buf, size_t cap)
{
    static const char *const words[] = {"GET",    "set",     "CONFIG", "get", "x",      "",
                                        "LRANGE", "a\"b\\c", "0",      "-1",  "config", "SCRIPT"};
    static const char *const odd[] = {"$-1\r\n",      ":7\r\n",       "*1\r\n$1\r\na\r\n",
                                      "+OK\r\n",      "$+1\r\nz\r\n", "$01\r\nz\r\n",
                                      "$1x\r\nz\r\n", "*0\r\n",       "$2\r\nab\r\n"};
    size_t n = 0;
    int count = rand() % 6;
    int claimed = rand() % 10 == 0 ? count + 1 - rand() % 3 : count;
    n += (size_t)snprintf(buf + n, cap - n, rand() % 30 == 0 ? "*0%d\r\n" : "*%d\r\n", claimed);
    for (int i = 0; i < count && n < cap; i++) {
        if (rand() % 12 == 0) {
            n += (size_t)snprintf(buf + n, cap - n, "%s", odd[rand() % 9]);
            continue;
        }
        char w[64];
        size_t wl;
        if (rand() % 4 == 0) {
            wl = (size_t)rand() % sizeof w;
            for (size_t k = 0; k < wl; k++) {
                w[k] = "ab\r\n \"*$:9"[rand() % 11];
            }
        } else {
            const char *t = words[rand() % (int)(sizeof words / sizeof words[0])];
            wl = strlen(t);
            memcpy(w, t, wl);
        }
        n += (size_t)snprintf(buf + n, cap - n, "$%zu\r\n", wl);
        if (n + wl + 2 < cap) {
            memcpy(buf + n, w, wl);
            memcpy(buf + n + wl, "\r\n", 2);
            n += wl + 2;
        }
    }
    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0 && rand() % 30 == 0) {
        buf[rand() % (int)n] = "*$\r\n-x0"[rand() % 7];
    }
    return n;
}

/* redis_parse (an array of bulk strings its own way) and
 * redis_parse_values (every message value by value) agree on every
 * input: result, length, text, names and flags. Fails when the way for
 * arrays of bulk strings accepts what the general one refuses, or writes
 * another text or other names. */
START_TEST(bulks_agree_with_values)
{
    srand(7);
    static char msg[4096], text1[4096], text2[4096];
    unsigned ok = 0;
    for (int round = 0; round < 50000; round++) {
        size_t n = rand() % 4 == 0 ? gen_value(msg, sizeof msg, 0) : gen_bulks(msg, sizeof msg);
        size_t avail = rand() % 4 == 0 ? (size_t)rand() % (n + 1) : n;
        bool client = rand() % 2;
        size_t cap = rand() % 4 == 0 ? (size_t)rand() % 24 : sizeof text1;
        struct redis_built a, b;
        size_t alen = 0, blen = 0;
        int ra = redis_parse((const uint8_t *)msg, avail, client, false, text1, cap, &a, &alen);
        int rb =
            redis_parse_values((const uint8_t *)msg, avail, client, false, text2, cap, &b, &blen);
        ck_assert_int_eq(ra, rb);
        if (ra != 0) {
            continue;
        }
        ok++;
        ck_assert_uint_eq(alen, blen);
        ck_assert_uint_eq(a.text_len, b.text_len);
        ck_assert_int_eq(memcmp(a.text, b.text, a.text_len + 1), 0);
        ck_assert_int_eq(a.is_request, b.is_request);
        ck_assert_int_eq(a.is_error, b.is_error);
        ck_assert_int_eq(a.bad_int, b.bad_int);
        ck_assert_ptr_eq(a.command, b.command);
        ck_assert_int_eq(a.method == NULL, b.method == NULL);
        ck_assert_int_eq(a.path == NULL, b.path == NULL);
        if (a.method != NULL) {
            ck_assert_uint_eq(a.method - a.text, b.method - b.text);
            ck_assert_uint_eq(a.method_len, b.method_len);
        }
        if (a.path != NULL) {
            ck_assert_uint_eq(a.path - a.text, b.path - b.text);
            ck_assert_uint_eq(a.path_len, b.path_len);
        }
    }
    ck_assert_uint_gt(ok, 15000);
}
END_TEST

/* ---- plugin ---- */

START_TEST(transaction_fields)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, lindex_req);
    pt_advance(t, 1000000);
    pt_feeds(t, PB_DIR_TO_CLIENT, hello_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "redis");
    ck_assert_str_eq(pt_str(t, 0, "method"), "LINDEX");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "test");
    ck_assert_str_eq(pt_str(t, 0, "query"), "lindex test 1");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "hello1");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "redis.lindex");
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)strlen(lindex_req));
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)strlen(hello_resp));
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 1000000);
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.1");
    ck_assert_ptr_null(pt_field(t, 0, "request"));
    ck_assert_ptr_null(pt_field(t, 0, "response"));
    ck_assert_ptr_null(pt_field(t, 0, "event.outcome"));
    pt_close(t);
}
END_TEST

START_TEST(send_request_response)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG "\nsend_request: true\nsend_response: true");
    pt_feeds(t, PB_DIR_TO_SERVER, set_req);
    pt_feeds(t, PB_DIR_TO_CLIENT, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "request"), "SET key value");
    ck_assert_str_eq(pt_str(t, 0, "response"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(error_reply)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "-ERR value is not an integer\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert_str_eq(pt_str(t, 0, "redis.error"), "ERR value is not an integer");
    ck_assert_ptr_null(pt_field(t, 0, "redis.return_value"));
    ck_assert_str_eq(pt_str(t, 0, "event.outcome"), "failure");
    pt_close(t);
}
END_TEST

static char *session_events(const char *req, const char *resp, size_t cut_req, size_t cut_resp)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG "\nsend_request: true\nsend_response: true");
    size_t rl = strlen(req), sl = strlen(resp);
    pt_feed(t, PB_DIR_TO_SERVER, req, cut_req);
    pt_feed(t, PB_DIR_TO_SERVER, req + cut_req, rl - cut_req);
    pt_feed(t, PB_DIR_TO_CLIENT, resp, cut_resp);
    pt_feed(t, PB_DIR_TO_CLIENT, resp + cut_resp, sl - cut_resp);
    char *s = pt_dump(t);
    pt_close(t);
    return s;
}

START_TEST(split_anywhere)
{
    /* two pipelined requests and their replies, cut everywhere */
    const char *req = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nMGET\r\n$1\r\na\r\n";
    const char *resp = "+OK\r\n*2\r\n$1\r\n1\r\n$-1\r\n";
    char *whole = session_events(req, resp, 0, 0);
    ck_assert_ptr_nonnull(strstr(whole, "\"query\":\"MGET a\""));
    ck_assert_ptr_nonnull(strstr(whole, "\"return_value\":\"[1, nil]\""));
    for (size_t i = 1; i < strlen(req); i++) {
        char *s = session_events(req, resp, i, 0);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    for (size_t i = 1; i < strlen(resp); i++) {
        char *s = session_events(req, resp, 0, i);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    free(whole);
}
END_TEST

/* A reply whose text is longer than what the plugin parses on its stack,
 * and a request as long: whole or split, the same event. */
START_TEST(long_texts)
{
    enum { PART = 9000 };
    static char req[3 * PART + 64], resp[3 * PART + 64];
    static char val[PART + 1];
    for (size_t i = 0; i < PART; i++) {
        val[i] = "ab\"c"[i % 4];
    }
    val[PART] = '\0';
    snprintf(req, sizeof req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s%s\r\n", 2 * PART, val, val);
    snprintf(resp, sizeof resp, "*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", PART, val, PART, val);
    char *whole = session_events(req, resp, 0, 0);
    char *split = session_events(req, resp, 100, strlen(resp) - 100);
    ck_assert_str_eq(whole, split);
    free(split);
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, req);
    pt_feeds(t, PB_DIR_TO_CLIENT, resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_uint_eq(strlen(pt_str(t, 0, "query")), 2 * PART + 6);
    const char *rv = pt_str(t, 0, "redis.return_value");
    ck_assert_uint_eq(strlen(rv), 2 * PART + 4);
    ck_assert_int_eq(memcmp(rv + 1, val, PART), 0);
    pt_close(t);
    free(whole);
}
END_TEST

/* The redis object is written as its text when the value needs no
 * escaping and is short enough, else as members: both encode as the
 * members would (the arena's encoding equals the tree's), values and
 * errors, plain or not, on both sides of the length limit. */
START_TEST(redis_object_encodings)
{
    static const size_t lens[] = {0, 1, 7, 100, 2047, 2048, 2049, 5000};
    static char val[5001], msg[5100];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (int variant = 0; variant < 4; variant++) {
            bool err = variant & 1, esc = variant & 2;
            size_t n = lens[k];
            if (err && n == 0) {
                continue; /* "-\r\n" */
            }
            for (size_t i = 0; i < n; i++) {
                val[i] = (char)('a' + i % 26);
            }
            if (esc && n > 0) {
                val[n / 2] = '"';
            }
            val[n] = '\0';
            if (err) {
                snprintf(msg, sizeof msg, "-%s\r\n", val);
            } else {
                snprintf(msg, sizeof msg, "$%zu\r\n%s\r\n", n, val);
            }
            struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
            struct pt_enc_check e;
            pt_check_encodings(t, &e);
            pt_feeds(t, PB_DIR_TO_SERVER, lindex_req);
            pt_feeds(t, PB_DIR_TO_CLIENT, msg);
            ck_assert_uint_eq(pt_nevents(t), 1);
            ck_assert_uint_eq(e.checked, 1);
            const char *got = pt_str(t, 0, err ? "redis.error" : "redis.return_value");
            ck_assert_ptr_nonnull(got);
            ck_assert_str_eq(got, val);
            pt_close(t);
        }
    }
}
END_TEST

START_TEST(byte_by_byte)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    for (size_t i = 0; i < strlen(set_req); i++) {
        pt_feed(t, PB_DIR_TO_SERVER, set_req + i, 1);
    }
    for (size_t i = 0; i < strlen(ok_resp); i++) {
        pt_feed(t, PB_DIR_TO_CLIENT, ok_resp + i, 1);
    }
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "SET key value");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "OK");
    pt_close(t);
}
END_TEST

START_TEST(pipelining_order)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER,
             "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$"
             "1\r\nc\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "$1\r\nA\r\n$1\r\nB\r\n$-1\r\n");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 0, "resource"), "a");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "A");
    ck_assert_str_eq(pt_str(t, 1, "resource"), "b");
    ck_assert_str_eq(pt_str(t, 2, "resource"), "c");
    ck_assert_str_eq(pt_str(t, 2, "redis.return_value"), "nil");
    pt_close(t);
}
END_TEST

START_TEST(queue_max_messages)
{
    /* 2 slots: the oldest request is evicted, the last reply finds none */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG "\nqueue_max_messages: 2");
    pt_feeds(t, PB_DIR_TO_SERVER,
             "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$"
             "1\r\nc\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "+1\r\n+2\r\n+3\r\n");
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "resource"), "b");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "1");
    ck_assert_str_eq(pt_str(t, 1, "resource"), "c");
    pt_close(t);
}
END_TEST

START_TEST(queue_max_bytes)
{
    /* each GET is 20 bytes; 30 bytes hold one */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG "\nqueue_max_bytes: 30");
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "+1\r\n+2\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "resource"), "b");
    pt_close(t);
}
END_TEST

START_TEST(unmatched_reply_dropped)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_CLIENT, "+OK\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, set_req);
    pt_feeds(t, PB_DIR_TO_CLIENT, "+DONE\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "DONE");
    pt_close(t);
}
END_TEST

START_TEST(array_header_split_waits)
{
    /* an array header line cut by a segment boundary ("*1" then its CRLF)
     * waits for the rest (Packetbeat drops the stream there and loses the
     * message): the message is complete once the rest arrives */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "*"), PB_PARSE_MORE);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "2\r\n$4\r\nMGET\r\n$1\r\na\r\n"), PB_PARSE_OK);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, "*1"), PB_PARSE_MORE);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, "2\r"), PB_PARSE_MORE);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, "\n"), PB_PARSE_MORE);
    for (int i = 0; i < 12; i++) {
        pt_feeds(t, PB_DIR_TO_CLIENT, i < 11 ? "$1\r\nA\r\n" : "*2\r\n:1\r\n:2");
    }
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, "\r\n"), PB_PARSE_OK);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "MGET a");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"),
                     "[A, A, A, A, A, A, A, A, A, A, A, [1, 2]]");
    pt_close(t);
}
END_TEST

START_TEST(reply_reading_like_command)
{
    /* HGETALL of a hash whose first field is "echo": the reply reads like an
     * ECHO command, but it came from the server: it is HGETALL's reply, and
     * the next exchange pairs right (Packetbeat queues it as a request and
     * shifts the pairing) */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "*2\r\n$4\r\necho\r\n$2\r\nhi\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "$1\r\nv\r\n");
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "method"), "HGETALL");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "[echo, hi]");
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), pt_str(t, 1, "source.ip"));
    ck_assert_str_eq(pt_str(t, 1, "method"), "GET");
    ck_assert_str_eq(pt_str(t, 1, "redis.return_value"), "v");
    /* subscribe confirmations pushed by the server read like SUBSCRIBE
     * commands: the first answers SUBSCRIBE, the second has no request */
    pt_feeds(t, PB_DIR_TO_SERVER, "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT,
             "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
             "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
    ck_assert_uint_eq(pt_nevents(t), 3);
    ck_assert_str_eq(pt_str(t, 2, "query"), "SUBSCRIBE a b");
    ck_assert_str_eq(pt_str(t, 2, "redis.return_value"), "[subscribe, a, 1]");
    pt_feeds(t, PB_DIR_TO_SERVER, "*1\r\n$4\r\nPING\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "+PONG\r\n");
    ck_assert_uint_eq(pt_nevents(t), 4);
    ck_assert_str_eq(pt_str(t, 3, "method"), "PING");
    ck_assert_str_eq(pt_str(t, 3, "redis.return_value"), "PONG");
    pt_close(t);
}
END_TEST

START_TEST(unknown_and_two_word_commands)
{
    /* a command missing from Packetbeat's list is still a request; a
     * two-word command is named with both words */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$6\r\nGETDEL\r\n$1\r\nk\r\n");
    pt_feeds(t, PB_DIR_TO_SERVER, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nport\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "$1\r\nv\r\n*2\r\n$4\r\nport\r\n$4\r\n6379\r\n");
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "method"), "GETDEL");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "k");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "redis.getdel");
    ck_assert_str_eq(pt_str(t, 0, "redis.return_value"), "v");
    ck_assert_str_eq(pt_str(t, 1, "method"), "CONFIG GET");
    ck_assert_str_eq(pt_str(t, 1, "resource"), "port");
    ck_assert_str_eq(pt_str(t, 1, "query"), "CONFIG GET port");
    ck_assert_str_eq(pt_str(t, 1, "redis.return_value"), "[port, 6379]");
    pt_close(t);
}
END_TEST

START_TEST(garbage_drops_stream)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "HELLO THERE\r\n*1\r\n$4\r\nPING\r\n"),
                     PB_PARSE_DROP);
    /* the next segment starts fresh */
    pt_feeds(t, PB_DIR_TO_SERVER, "*1\r\n$4\r\nPING\r\n");
    pt_feeds(t, PB_DIR_TO_CLIENT, "+PONG\r\n");
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "method"), "PING");
    ck_assert_str_eq(pt_str(t, 0, "resource"), "");
    pt_close(t);
}
END_TEST

START_TEST(gap_drops_state)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, set_req);
    pt_feeds(t, PB_DIR_TO_CLIENT, "$10\r\nabc");
    pt_gap(t, PB_DIR_TO_CLIENT, 5);
    pt_feeds(t, PB_DIR_TO_CLIENT, "+OK\r\n");
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* later transactions work again */
    pt_feeds(t, PB_DIR_TO_SERVER, set_req);
    pt_feeds(t, PB_DIR_TO_CLIENT, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(gap_skips_other_direction)
{
    /* a gap also drops what the other direction had buffered */
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    pt_feeds(t, PB_DIR_TO_SERVER, "*2\r\n$3\r\nGET\r\n$1");
    pt_gap(t, PB_DIR_TO_CLIENT, 10);
    pt_feeds(t, PB_DIR_TO_SERVER, set_req);
    pt_feeds(t, PB_DIR_TO_CLIENT, ok_resp);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "query"), "SET key value");
    pt_close(t);
}
END_TEST

START_TEST(truncated_and_fin)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, set_req, strlen(set_req) - 3), PB_PARSE_MORE);
    pt_fin(t, PB_DIR_TO_SERVER);
    pt_expire(t);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(deep_nesting_dropped)
{
    struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
    char buf[1024];
    for (int i = 0; i < 100; i++) {
        memcpy(buf + i * 4, "*1\r\n", 4);
    }
    buf[400] = '\0';
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_CLIENT, buf), PB_PARSE_DROP);
    pt_close(t);
}
END_TEST

START_TEST(hostile_bytes)
{
    srand(7);
    for (int round = 0; round < 200; round++) {
        struct pt_conn *t = pt_open(&pb_proto_redis, CFG);
        for (int k = 0; k < 20; k++) {
            uint8_t buf[64];
            size_t n = (size_t)(rand() % (int)sizeof buf) + 1;
            for (size_t i = 0; i < n; i++) {
                static const char alpha[] = "*$:+-0123456789\r\n-abcGET";
                buf[i] = (rand() % 4 == 0) ? (uint8_t)rand() : (uint8_t)alpha[rand() % 24];
            }
            pt_feed(t, rand() % 2 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, buf, n);
            if (rand() % 10 == 0) {
                pt_gap(t, PB_DIR_TO_CLIENT, 3);
            }
        }
        pt_close(t);
    }
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *s = suite_create("redis");
    TCase *tc = tcase_create("redis");
    tcase_add_test(tc, scan_values);
    tcase_add_test(tc, scan_resumes);
    tcase_add_test(tc, build_texts);
    tcase_add_test(tc, command_names_every_length);
    tcase_add_test(tc, build_text_fits);
    tcase_add_test(tc, build_by_direction);
    tcase_add_test(tc, parse_agrees_with_scan);
    tcase_add_test(tc, bulks_agree_with_values);
    tcase_add_test(tc, command_names_from_table);
    tcase_add_test(tc, transaction_fields);
    tcase_add_test(tc, redis_object_encodings);
    tcase_add_test(tc, send_request_response);
    tcase_add_test(tc, error_reply);
    tcase_add_test(tc, split_anywhere);
    tcase_add_test(tc, long_texts);
    tcase_add_test(tc, byte_by_byte);
    tcase_add_test(tc, pipelining_order);
    tcase_add_test(tc, queue_max_messages);
    tcase_add_test(tc, queue_max_bytes);
    tcase_add_test(tc, unmatched_reply_dropped);
    tcase_add_test(tc, array_header_split_waits);
    tcase_add_test(tc, reply_reading_like_command);
    tcase_add_test(tc, unknown_and_two_word_commands);
    tcase_add_test(tc, garbage_drops_stream);
    tcase_add_test(tc, gap_drops_state);
    tcase_add_test(tc, gap_skips_other_direction);
    tcase_add_test(tc, truncated_and_fin);
    tcase_add_test(tc, deep_nesting_dropped);
    tcase_add_test(tc, hostile_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(redis_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
