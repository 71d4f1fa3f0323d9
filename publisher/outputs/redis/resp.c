/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/redis/resp.c - RESP2 writer and reply reader.
 *
 *   command:  *3\r\n $5\r\nRPUSH\r\n $3\r\nkey\r\n $7\r\n{"a":1}\r\n
 *   replies:  +OK\r\n   -ERR msg\r\n   :42\r\n   $5\r\nhello\r\n   $-1\r\n
 *             *2\r\n<reply><reply>
 */
#include "publisher/outputs/redis/resp.h"

#include <stdio.h>
#include <string.h>

#include "beat/err.h"
#include "beat/rd.h"

/* Parses a decimal integer line; false on anything else. */
static bool parse_int(struct pb_slice s, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;
    if (s.len == 0 || s.len > 20) {
        return false;
    }
    if (s.ptr[0] == '-' || s.ptr[0] == '+') {
        neg = s.ptr[0] == '-';
        i = 1;
        if (s.len == 1) {
            return false;
        }
    }
    for (; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') {
            return false;
        }
        if (v > (INT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

/* One value at r (depth for arrays). 1 done, 0 need more, -1 error. */
static int parse_one(struct pb_rd *r, struct pb_resp_reply *out, unsigned depth)
{
    if (pb_rd_left(r) < 1) {
        return 0;
    }
    uint8_t t = pb_rd_u8(r);
    struct pb_slice line = pb_rd_line(r, PB_RESP_MAX_LINE);
    if (line.ptr == NULL) {
        return pb_rd_left(r) >= PB_RESP_MAX_LINE ? -1 : 0;
    }
    int64_t n = 0;
    switch (t) {
    case '+':
    case '-':
        out->type = (enum pb_resp_type)t;
        out->str = (const char *)line.ptr;
        out->len = line.len;
        return 1;
    case ':':
        if (!parse_int(line, &n)) {
            return -1;
        }
        out->type = PB_RESP_INT;
        out->num = n;
        return 1;
    case '$':
        if (!parse_int(line, &n) || n < -1 || n > (int64_t)PB_RESP_MAX_BULK) {
            return -1;
        }
        if (n == -1) {
            out->type = PB_RESP_NIL;
            return 1;
        }
        if (pb_rd_left(r) < (size_t)n + 2) {
            return 0;
        }
        out->type = PB_RESP_BULK;
        out->str = (const char *)r->p;
        out->len = (size_t)n;
        pb_rd_skip(r, (size_t)n);
        if (pb_rd_u8(r) != '\r' || pb_rd_u8(r) != '\n') {
            return -1;
        }
        return 1;
    case '*': {
        if (!parse_int(line, &n) || n < -1 || n > (int64_t)PB_RESP_MAX_ELEMS ||
            depth >= PB_RESP_MAX_DEPTH) {
            return -1;
        }
        if (n == -1) {
            out->type = PB_RESP_NIL;
            return 1;
        }
        for (int64_t i = 0; i < n; i++) {
            struct pb_resp_reply sub;
            int rc = parse_one(r, &sub, depth + 1);
            if (rc <= 0) {
                return rc;
            }
        }
        out->type = PB_RESP_ARRAY;
        out->num = n;
        return 1;
    }
    default:
        return -1;
    }
}

long pb_resp_parse(const uint8_t *buf, size_t len, struct pb_resp_reply *r)
{
    struct pb_rd rd = pb_rd_make(buf, len);
    memset(r, 0, sizeof *r);
    int rc = parse_one(&rd, r, 0);
    if (rc <= 0) {
        return rc;
    }
    return (long)(rd.p - buf);
}

int pb_resp_begin(struct pb_codec_buf *b, size_t argc)
{
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "*%zu\r\n", argc);
    return pb_codec_buf_append(b, hdr, (size_t)n);
}

int pb_resp_arg(struct pb_codec_buf *b, const void *arg, size_t len)
{
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);
    int rc = pb_codec_buf_append(b, hdr, (size_t)n);
    if (rc == 0 && len > 0) {
        rc = pb_codec_buf_append(b, arg, len);
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(b, "\r\n", 2);
    }
    return rc;
}

int pb_resp_cmd(struct pb_codec_buf *b, size_t argc, const char *const *argv)
{
    size_t start = b->len;
    int rc = pb_resp_begin(b, argc);
    for (size_t i = 0; i < argc && rc == 0; i++) {
        rc = pb_resp_arg(b, argv[i], strlen(argv[i]));
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}
