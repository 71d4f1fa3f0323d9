/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_parse.h - memcache text and binary protocol
 * parser (messages, command tables); pure: no I/O, no globals.
 *
 * Text protocol: https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 * Binary protocol: https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped
 *
 * The parser works on the bytes of one direction. It consumes a message's
 * command line (text) or header (binary) as soon as they are parsed and
 * then waits for the value bytes, so a gap inside a value can be skipped as
 * Packetbeat does (bytes_lost).
 */
#ifndef PB_MEMCACHE_PARSE_H
#define PB_MEMCACHE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "beat/net.h"
#include "protos/common/strutil.h"

/* Command classification (memcache.*.type). */
enum mc_type {
    MC_T_UNKNOWN,
    MC_T_LOAD,
    MC_T_STORE,
    MC_T_DELETE,
    MC_T_COUNTER,
    MC_T_INFO,
    MC_T_SLABCTRL,
    MC_T_LRUCRAWLER,
    MC_T_STATS,
    MC_T_SUCCESS,
    MC_T_FAIL,
    MC_T_AUTH,
};

/* Command / response codes shared by both protocols (memcache.*.command). */
enum mc_code {
    MC_CMD_UNKNOWN,
    MC_CMD_NOOP,
    MC_CMD_SET,
    MC_CMD_ADD,
    MC_CMD_REPLACE,
    MC_CMD_APPEND,
    MC_CMD_PREPEND,
    MC_CMD_CAS,
    MC_CMD_GET,
    MC_CMD_GETS,
    MC_CMD_INCR,
    MC_CMD_DECR,
    MC_RES_COUNTER_OP,
    MC_CMD_TOUCH,
    MC_CMD_DELETE,
    MC_CMD_SLABS,
    MC_CMD_SLABS_REASSIGN,
    MC_CMD_SLABS_AUTOMOVE,
    MC_CMD_LRU,
    MC_CMD_LRU_ENABLE,
    MC_CMD_LRU_DISABLE,
    MC_CMD_LRU_SLEEP,
    MC_CMD_LRU_TOCRAWL,
    MC_CMD_LRU_CRAWL,
    MC_CMD_STATS,
    MC_RES_STAT,
    MC_CMD_FLUSH_ALL,
    MC_CMD_VERBOSITY,
    MC_CMD_QUIT,
    MC_CMD_VERSION,
    MC_CMD_SASL_LIST,
    MC_CMD_SASL_AUTH,
    MC_CMD_SASL_STEP,
    MC_RES_OK,
    MC_RES_VALUE,
    MC_RES_END,
    MC_RES_STORED,
    MC_RES_NOT_STORED,
    MC_RES_EXISTS,
    MC_RES_NOT_FOUND,
    MC_RES_TOUCHED,
    MC_RES_DELETED,
    MC_ERR_ERROR,
    MC_ERR_CLIENT_ERROR,
    MC_ERR_SERVER_ERROR,
    MC_ERR_BUSY,
    MC_ERR_BADCLASS,
    MC_ERR_NOSPARE,
    MC_ERR_NOTFULL,
    MC_ERR_UNSAFE,
    MC_ERR_SAME,
    MC_RES_VERSION,
};

/* Binary opcodes the plugin treats specially. */
#define MC_OP_QUITQ 0x17
#define MC_OP_STAT 0x10

/* How a message is turned into event fields. */
enum mc_ser {
    MC_SER_REQUEST,   /* command, type, args */
    MC_SER_DATA_REQ,  /* + count_values, values (one) */
    MC_SER_DATA_RESP, /* + count_values, values (list) */
    MC_SER_UNKNOWN,   /* line, command UNKNOWN, type UNKNOWN */
    MC_SER_COUNTER,   /* text counter reply: value */
    MC_SER_NOP,
    MC_SER_BINARY,
};

#define MC_MAX_ARGS 7
#define MC_MAX_NOTES 8

struct mc_cmd {
    const char *name; /* text command name; NULL for binary */
    uint8_t nlen;     /* strlen(name) */
    uint8_t typ;      /* enum mc_type */
    uint8_t code;     /* enum mc_code */
    uint8_t parse;    /* internal parser kind */
    uint8_t ser;      /* enum mc_ser */
    uint8_t nargs;    /* text args, or binary request extras */
    uint8_t args[MC_MAX_ARGS];
    uint8_t nrargs; /* binary response extras */
    uint8_t rargs[2];
    uint8_t value_parser; /* binary: how a response value is read */
};

/* A list of byte strings, each owned (copied): records of a 4-byte
 * length (host order) followed by the bytes, in inl while they fit (most
 * messages have a key or two), else in heap. Read with mc_strv_next. */
#define MC_STRV_INLINE 48u
struct mc_strv {
    uint8_t *heap;   /* owned; NULL: the records are in inl */
    size_t len, cap; /* record bytes used; heap's size */
    size_t n;        /* strings */
    size_t bytes;    /* their bytes (without the lengths) */
    uint8_t inl[MC_STRV_INLINE];
};

static inline const uint8_t *mc_strv_data(const struct mc_strv *v)
{
    return v->heap != NULL ? v->heap : v->inl;
}

/* The string of the record at *at (< v->len), moving *at to the next. */
static inline const uint8_t *mc_strv_next(const struct mc_strv *v, size_t *at, size_t *n)
{
    const uint8_t *r = mc_strv_data(v) + *at;
    uint32_t l;
    memcpy(&l, r, sizeof l);
    *n = l;
    *at += sizeof l + l;
    return r + sizeof l;
}

/* Bytes inside another buffer of the same message (not owned). */
struct mc_view {
    const uint8_t *p; /* NULL: absent */
    size_t len;
};

/* One parsed memcache message. */
struct mc_msg {
    struct mc_msg *next; /* list link (plugin queues) */
    uint64_t ts_ns;
    int dir;               /* enum pb_dir it travelled (set by the plugin) */
    struct pb_tuple tuple; /* sender -> receiver (set by the plugin) */
    bool is_request, is_binary, is_complete;
    bool is_quiet, noreply, is_cas, has_data, has_str, has_errmsg;
    const struct mc_cmd *cmd;
    uint64_t size; /* wire bytes */
    const char *notes[MC_MAX_NOTES];
    uint8_t nnotes;

    /* text */
    /* the command line and the arguments after the command (a view of
     * line), kept only when the event shows them (unknown commands, stats,
     * lru_crawler crawl) */
    struct pb_bytes line;
    struct mc_view raw_args;
    struct pb_bytes error_msg;

    /* binary */
    uint8_t opcode;
    uint16_t status, vbucket;
    uint32_t opaque;

    /* values */
    struct mc_strv keys;
    uint32_t flags, exptime;
    uint64_t value, value2;
    int64_t ivalue, ivalue2;
    uint64_t cas;
    struct pb_bytes str;  /* binary version string */
    struct pb_bytes data; /* last value read */
    uint64_t bytes, bytes_lost;
    struct mc_strv values; /* kept values (maxvalues != 0) */
    uint32_t count_values;
    struct mc_strv stats; /* name, value, name, value, ... */
};

struct mc_config {
    int64_t max_values;          /* maxvalues: 0 none kept, <0 all */
    int64_t max_bytes_per_value; /* maxbytespervalue (<=0: unlimited) */
    bool parse_unknown;          /* parseunknown */
};

enum mc_pstate {
    MC_PS_COMMAND,
    MC_PS_DATA,     /* text value + CRLF */
    MC_PS_DATA_BIN, /* binary value */
};

/* Per-direction parser state; zeroed = idle. */
struct mc_parser {
    enum mc_pstate state;
    struct mc_msg *msg; /* owned: message in progress */
    /* owned: cleared messages the next ones reuse (two: a VALUE and its
     * END are merged into one response) */
    struct mc_msg *spare[2];
    size_t crlf_from;   /* text: CRLF search resumes here */
    bool failed;        /* the caller should drop the stream */
};

enum mc_result {
    MC_MORE, /* need more bytes */
    MC_MSG,  /* a message is complete */
    MC_ERR,  /* garbage: drop the stream */
};

/* Parses from data[0..len). *used: bytes consumed (also on MC_MORE: a
 * command line or header may have been consumed). On MC_MSG *out receives
 * the message (owned by the caller). fixed: the buffer is a whole UDP
 * message (no more bytes will come). *err names the failure on MC_ERR.
 * ts_ns is the time given to a message that starts here. */
enum mc_result mc_parse(struct mc_parser *ps, const struct mc_config *cfg, const uint8_t *data,
                        size_t len, bool fixed, uint64_t ts_ns, size_t *used, struct mc_msg **out,
                        const char **err);

/* Drops the message in progress (and the spare). */
void mc_parser_reset(struct mc_parser *ps);

void mc_msg_free(struct mc_msg *m);
/* Frees m, or keeps it cleared as a spare of ps when ps has room. */
void mc_msg_recycle(struct mc_parser *ps, struct mc_msg *m);
void mc_msg_note(struct mc_msg *m, const char *note);

int mc_strv_add(struct mc_strv *v, const void *p, size_t n);
void mc_strv_free(struct mc_strv *v);

/* Names used in events (plain ASCII): "UNKNOWN" for a value out of range. */
const char *mc_type_name(unsigned typ);
const char *mc_code_name(unsigned code);
/* The members that show them in compact JSON, "command":"get" and
 * ,"type":"Load" (with its comma), *n bytes. */
const char *mc_code_member(unsigned code, size_t *n);
const char *mc_type_member(unsigned typ, size_t *n);
const char *mc_opcode_name(unsigned opcode); /* "" when unknown */
const char *mc_status_name(unsigned status); /* "" when unknown */

/* Notes (Packetbeat's texts). */
extern const char mc_note_request_loss[];
extern const char mc_note_response_loss[];
extern const char mc_note_no_request[];
extern const char mc_note_non_quiet_only[];
extern const char mc_note_unfinished[];

/* Binary value parsers. */
enum { MC_VP_NONE, MC_VP_COUNTER, MC_VP_VERSION, MC_VP_STAT };

/* Argument ids (text and binary), for the event serializer. */
enum mc_arg {
    MC_A_KEY = 1,
    MC_A_MULTIKEYS,
    MC_A_FLAGS,
    MC_A_EXPTIME,
    MC_A_BYTES,
    MC_A_CAS,
    MC_A_AUTOMOVE,
    MC_A_RAW,
    MC_A_STAT,
    MC_A_DELTA,
    MC_A_SLEEP_US,
    MC_A_VALUE,
    MC_A_VERBOSITY,
    MC_A_SOURCE_CLASS,
    MC_A_DEST_CLASS,
    MC_A_NOREPLY,
    MC_A_ERRMSG,
    /* binary extras */
    MC_B_FLAGS,
    MC_B_EXPTIME,
    MC_B_STATS,
    MC_B_DELTA,
    MC_B_INITIAL,
    MC_B_VERBOSITY,
};
#define MC_A_OPTIONAL 0x80u
#define MC_A_ID(a) ((a)&0x7fu)

#endif
