/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_parse.h - Thrift binary protocol (TBinaryProtocol)
 * decoding into Packetbeat's human readable value strings; pure: no I/O,
 * no globals.
 *
 * Values are formatted exactly as Packetbeat's thrift plugin does:
 *   i8/i16/i32 unsigned decimal, i64 signed decimal, bool true/false,
 *   double in Go's strconv 'f' shortest form, strings Go-quoted (or hex when
 *   not valid UTF-8, "*" when obfuscated), lists "[a, b]", sets "{a, b}",
 *   maps "{k: v}", structs "(1: a, 2: b)", long collections cut with "...".
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-binary-protocol.md
 */
#ifndef PB_THRIFT_PARSE_H
#define PB_THRIFT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"

/* Thrift wire types. */
enum {
    THRIFT_T_STOP = 0,
    THRIFT_T_VOID = 1,
    THRIFT_T_BOOL = 2,
    THRIFT_T_BYTE = 3,
    THRIFT_T_DOUBLE = 4,
    THRIFT_T_I16 = 6,
    THRIFT_T_I32 = 8,
    THRIFT_T_I64 = 10,
    THRIFT_T_STRING = 11,
    THRIFT_T_STRUCT = 12,
    THRIFT_T_MAP = 13,
    THRIFT_T_SET = 14,
    THRIFT_T_LIST = 15,
};

/* Message types. */
enum {
    THRIFT_MSG_CALL = 1,
    THRIFT_MSG_REPLY = 2,
    THRIFT_MSG_EXCEPTION = 3,
    THRIFT_MSG_ONEWAY = 4,
};

/* Result of a read. */
enum thrift_rc {
    THRIFT_OK,    /* complete; *used bytes */
    THRIFT_MORE,  /* not enough bytes yet */
    THRIFT_BAD,   /* impossible bytes: Packetbeat drops the stream */
    THRIFT_PANIC, /* Packetbeat's parser would index out of range here and
                     lose the whole connection's parser state */
};

/* Nesting depth of containers/structs we follow (Go has none; deeper input
 * is treated as garbage so the C stack stays bounded). */
#define THRIFT_MAX_DEPTH 200
/* Cap on one formatted value (bytes); beyond it the message is garbage. */
#define THRIFT_MAX_VALUE_BYTES (32u * 1024u * 1024u)

/* Formatting options (the plugin's configuration). */
struct thrift_fmt {
    size_t string_max;      /* string_max_size (200) */
    size_t collection_max;  /* collection_max_size (15) */
    int64_t drop_after;     /* drop_after_n_struct_fields (500) */
    bool obfuscate_strings; /* obfuscate_strings */
};

/* Reads one value of wire type `type` from data[0..len) and appends its
 * formatted text to out (out may be NULL: validate only). *used is the
 * number of bytes the value takes on the wire. */
enum thrift_rc thrift_read_value(const struct thrift_fmt *f, uint8_t type, const uint8_t *data,
                                 size_t len, struct pb_bytes *out, size_t *used);

/* Packetbeat's readString: a 4-byte length and the bytes, cut to
 * string_max bytes plus "..." in *val (borrowed from data unless cut: then
 * the cut text is written to out, which must be non-NULL). Returns the
 * total wire size in *used. */
enum thrift_rc thrift_read_string(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                  struct pb_bytes *out, size_t *used);

/* The message header (strict "version" form or the old non-strict form).
 * method is written to `method` (cut at string_max + "..."). */
struct thrift_msg_head {
    uint32_t version;
    uint32_t type;
    uint32_t seqid;
    size_t len; /* header bytes */
};
enum thrift_rc thrift_read_msg_begin(const struct thrift_fmt *f, const uint8_t *data, size_t len,
                                     struct thrift_msg_head *h, struct pb_bytes *method);

/* Go's strconv.Quote of n bytes of valid UTF-8, appended to out. */
int thrift_go_quote(struct pb_bytes *out, const uint8_t *s, size_t n);
/* Go's strconv.FormatFloat(v, 'f', -1, 64) into buf (NUL-terminated). */
void thrift_format_double(double v, char *buf, size_t cap);
/* True when the bytes are valid UTF-8 as Go's utf8.Valid defines it. */
bool thrift_utf8_valid(const uint8_t *s, size_t n);

#endif
