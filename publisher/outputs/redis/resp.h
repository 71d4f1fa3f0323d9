/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/redis/resp.h - a small RESP2 writer and reply reader
 * for the Redis output. Pure: no I/O.
 * Spec: https://redis.io/docs/reference/protocol-spec/
 */
#ifndef PB_REDIS_RESP_H
#define PB_REDIS_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "publisher/codec.h"

/* Caps on what a reply may claim (the server is trusted more than packets,
 * but a broken one must not make us allocate or loop without bound). */
#define PB_RESP_MAX_LINE 4096u                  /* simple string, error, length line */
#define PB_RESP_MAX_BULK (512u * 1024u * 1024u) /* Redis' own proto-max-bulk-len */
#define PB_RESP_MAX_DEPTH 8u
#define PB_RESP_MAX_ELEMS 1048576u

enum pb_resp_type {
    PB_RESP_SIMPLE = '+',
    PB_RESP_ERROR = '-',
    PB_RESP_INT = ':',
    PB_RESP_BULK = '$',
    PB_RESP_ARRAY = '*',
    PB_RESP_NIL = 'n', /* $-1 or *-1 */
};

struct pb_resp_reply {
    enum pb_resp_type type;
    const char *str; /* borrowed from the input: SIMPLE, ERROR, BULK payload */
    size_t len;
    int64_t num; /* INT value; ARRAY element count */
};

/* Parses one reply at the start of buf. Returns the bytes it took (> 0),
 * 0 when more bytes are needed, or -1 on a protocol error (bad type byte,
 * bad length, cap exceeded). Arrays are skipped over whole; only their
 * count is reported. */
long pb_resp_parse(const uint8_t *buf, size_t len, struct pb_resp_reply *r);

/* Appends the header of a command of argc arguments ("*<argc>\r\n"). */
int pb_resp_begin(struct pb_codec_buf *b, size_t argc);
/* Appends one bulk-string argument ("$<len>\r\n<arg>\r\n"). */
int pb_resp_arg(struct pb_codec_buf *b, const void *arg, size_t len);
/* A whole command from NUL-terminated strings. */
int pb_resp_cmd(struct pb_codec_buf *b, size_t argc, const char *const *argv);

#endif
