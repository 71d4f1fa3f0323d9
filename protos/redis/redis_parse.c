/* SPDX-License-Identifier: Apache-2.0
 * protos/redis/redis_parse.c - RESP scanner and message builder; pure: no
 * I/O, no globals. Spec: https://redis.io/docs/reference/protocol-spec/
 *
 * Every value starts with a header line ending in CRLF:
 *   +simple string   -error   :integer
 *   $<len> CRLF <len bytes> CRLF      ($-1: nil)
 *   *<count> CRLF <count values>       (*-1: nil, *0: empty array)
 */
#include "redis_parse.h"

#include <pthread.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "beat/rd.h"
#include "protos/common/strutil.h"

/* The commands Packetbeat recognises as requests. */
static const char *const commands[] = {
    "APPEND",
    "AUTH",
    "BGREWRITEAOF",
    "BGSAVE",
    "BITCOUNT",
    "BITOP",
    "BITPOS",
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "CLIENT GETNAME",
    "CLIENT KILL",
    "CLIENT LIST",
    "CLIENT PAUSE",
    "CLIENT SETNAME",
    "CONFIG GET",
    "CONFIG RESETSTAT",
    "CONFIG REWRITE",
    "CONFIG SET",
    "DBSIZE",
    "DEBUG OBJECT",
    "DEBUG SEGFAULT",
    "DECR",
    "DECRBY",
    "DEL",
    "DISCARD",
    "DUMP",
    "ECHO",
    "EVAL",
    "EVALSHA",
    "EXEC",
    "EXISTS",
    "EXPIRE",
    "EXPIREAT",
    "FLUSHALL",
    "FLUSHDB",
    "GET",
    "GETBIT",
    "GETRANGE",
    "GETSET",
    "HDEL",
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HMSET",
    "HSCAN",
    "HSET",
    "HSETINX",
    "HVALS",
    "INCR",
    "INCRBY",
    "INCRBYFLOAT",
    "INFO",
    "KEYS",
    "LASTSAVE",
    "LINDEX",
    "LINSERT",
    "LLEN",
    "LPOP",
    "LPUSH",
    "LPUSHX",
    "LRANGE",
    "LREM",
    "LSET",
    "LTRIM",
    "MGET",
    "MIGRATE",
    "MONITOR",
    "MOVE",
    "MSET",
    "MSETNX",
    "MULTI",
    "OBJECT",
    "PERSIST",
    "PEXPIRE",
    "PEXPIREAT",
    "PFADD",
    "PFCOUNT",
    "PFMERGE",
    "PING",
    "PSETEX",
    "PSUBSCRIBE",
    "PTTL",
    "PUBLISH",
    "PUBSUB",
    "PUNSUBSCRIBE",
    "QUIT",
    "RANDOMKEY",
    "RENAME",
    "RENAMENX",
    "RESTORE",
    "RPOP",
    "RPOPLPUSH",
    "RPUSH",
    "RPUSHX",
    "SADD",
    "SAVE",
    "SCAN",
    "SCARD",
    "SCRIPT EXISTS",
    "SCRIPT FLUSH",
    "SCRIPT KILL",
    "SCRIPT LOAD",
    "SDIFF",
    "SDIFFSTORE",
    "SELECT",
    "SET",
    "SETBIT",
    "SETEX",
    "SETNX",
    "SETRANGE",
    "SHUTDOWN",
    "SINTER",
    "SINTERSTORE",
    "SISMEMBER",
    "SLAVEOF",
    "SLOWLOG",
    "SMEMBERS",
    "SMOVE",
    "SORT",
    "SPOP",
    "SRANDMEMBER",
    "SREM",
    "SSCAN",
    "STRLEN",
    "SUBSCRIBE",
    "SUNION",
    "SUNIONSTORE",
    "SYNC",
    "TIME",
    "TTL",
    "TYPE",
    "UNSUBSCRIBE",
    "UNWATCH",
    "WATCH",
    "ZADD",
    "ZCARD",
    "ZCOUNT",
    "ZINCRBY",
    "ZINTERSTORE",
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZRANK",
    "ZREM",
    "ZREMRANGEBYLEX",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZREVRANK",
    "ZSCAN",
    "ZSCORE",
    "ZUNIONSTORE",
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])
#define MAX_COMMAND_LEN 16u /* longest entry: "CONFIG RESETSTAT" */

/* The commands by a hash of their bytes (open addressing, linear
 * probing): entry + 1 in each used slot, 0 in a free one. Made once, read
 * only afterwards. */
#define CMD_SLOTS 512u
static uint8_t cmd_slot[CMD_SLOTS];
static uint8_t cmd_len[NCOMMANDS];
static pthread_once_t cmd_once = PTHREAD_ONCE_INIT;

static inline uint32_t cmd_hash_step(uint32_t h, uint8_t c)
{
    return (h ^ c) * 0x01000193u; /* FNV-1a */
}

static uint32_t cmd_hash(const char *s, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h = cmd_hash_step(h, (uint8_t)s[i]);
    }
    return h;
}

static void cmd_table_init(void)
{
    _Static_assert(NCOMMANDS < 255 && NCOMMANDS < CMD_SLOTS / 2, "command table too full");
    for (size_t k = 0; k < NCOMMANDS; k++) {
        size_t n = strlen(commands[k]);
        cmd_len[k] = (uint8_t)n;
        uint32_t h = cmd_hash(commands[k], n) % CMD_SLOTS;
        while (cmd_slot[h] != 0) {
            h = (h + 1) % CMD_SLOTS;
        }
        cmd_slot[h] = (uint8_t)(k + 1);
    }
}

bool redis_is_command(const void *s, size_t n)
{
    if (n == 0 || n > MAX_COMMAND_LEN) {
        return false;
    }
    pthread_once(&cmd_once, cmd_table_init);
    char upper[MAX_COMMAND_LEN];
    const uint8_t *p = s;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        c = (uint8_t)((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
        upper[i] = (char)c;
        h = cmd_hash_step(h, c);
    }
    /* a NUL never matches: no entry holds one */
    for (h %= CMD_SLOTS; cmd_slot[h] != 0; h = (h + 1) % CMD_SLOTS) {
        unsigned k = cmd_slot[h] - 1u;
        if (cmd_len[k] == n && memcmp(commands[k], upper, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Go streambuf's signed ASCII integer: optional sign, then digits up to the
 * first non-digit (trailing bytes ignored), wrapping on overflow. */
enum num_err { NUM_OK, NUM_EOB, NUM_DIGIT };

static enum num_err parse_int(const uint8_t *p, size_t n, int64_t *out)
{
    if (n == 0) {
        return NUM_EOB;
    }
    size_t i = 0;
    bool neg = p[0] == '-';
    if (neg || p[0] == '+') {
        i = 1;
        if (n <= 1) {
            return NUM_EOB;
        }
    }
    uint64_t v = 0;
    size_t start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        v = v * 10u + (uint64_t)(p[i] - '0');
        i++;
    }
    if (i == start) {
        return NUM_DIGIT;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return NUM_OK;
}

static const char *num_errstr(enum num_err e)
{
    return e == NUM_EOB ? "unexpected end of buffer" : "Expected digit";
}

/* Finds CRLF at or after `from`; returns its offset or SIZE_MAX. Header
 * lines are short ("$17", "*4", "+OK"): their first bytes are looked at
 * one by one, memchr takes over past them. */
static inline size_t find_crlf(const uint8_t *data, size_t len, size_t from)
{
    if (from + 1 >= len) {
        return SIZE_MAX;
    }
    size_t last = len - 1; /* a '\r' at last has no '\n' after it yet */
    size_t stop = last - from > 16 ? from + 16 : last;
    for (; from < stop; from++) {
        if (data[from] == '\r' && data[from + 1] == '\n') {
            return from;
        }
    }
    while (from < last) {
        const uint8_t *cr = memchr(data + from, '\r', last - from);
        if (cr == NULL) {
            return SIZE_MAX;
        }
        size_t at = (size_t)(cr - data);
        if (data[at + 1] == '\n') {
            return at;
        }
        from = at + 1;
    }
    return SIZE_MAX;
}

/* A value finished: close every array it completes. True when the whole
 * message is complete. */
static bool value_done(struct redis_scan *s)
{
    while (s->depth > 0) {
        s->left[s->depth - 1]--;
        if (s->left[s->depth - 1] > 0) {
            return false;
        }
        s->depth--;
    }
    return true;
}

enum pb_parse redis_scan(struct redis_scan *s, const uint8_t *data, size_t len, size_t *msg_len)
{
    for (;;) {
        if (s->in_bulk) {
            if (len < s->bulk_end) {
                return PB_PARSE_MORE;
            }
            if (data[s->bulk_end - 2] != '\r' || data[s->bulk_end - 1] != '\n') {
                return PB_PARSE_DROP;
            }
            s->in_bulk = false;
            s->pos = s->crlf_from = s->bulk_end;
            if (value_done(s)) {
                *msg_len = s->pos;
                return PB_PARSE_OK;
            }
            continue;
        }
        if (s->pos >= len) {
            return PB_PARSE_MORE;
        }
        uint8_t type = data[s->pos];
        if (type != '*' && type != '$' && type != ':' && type != '+' && type != '-') {
            pb_debug("redis", "Unexpected message starting with %c", type);
            return PB_PARSE_DROP;
        }
        size_t from = s->crlf_from > s->pos ? s->crlf_from : s->pos;
        size_t eol = find_crlf(data, len, from);
        if (eol == SIZE_MAX) {
            /* keep a trailing '\r' for the next search */
            s->crlf_from = len > s->pos + 1 ? len - 1 : s->pos;
            return PB_PARSE_MORE;
        }
        const uint8_t *line = data + s->pos;
        size_t llen = eol - s->pos;
        size_t next = eol + 2;
        bool done_value = true;
        if (type == '$') {
            if (!(llen == 3 && line[1] == '-' && line[2] == '1')) {
                int64_t n = 0;
                enum num_err e = parse_int(line + 1, llen - 1, &n);
                if (e != NUM_OK) {
                    pb_error(NULL, "Failed to read bulk message: %s", num_errstr(e));
                    return PB_PARSE_DROP;
                }
                if (n < 0 || (uint64_t)n > PB_MAX_STREAM_BYTES) {
                    return PB_PARSE_DROP;
                }
                s->in_bulk = true;
                s->bulk_end = next + (size_t)n + 2;
                s->pos = s->crlf_from = next;
                continue;
            }
        } else if (type == '*') {
            if (!(llen == 3 && line[1] == '-' && line[2] == '1') &&
                !(llen == 2 && line[1] == '0')) {
                int64_t n = 0;
                enum num_err e = parse_int(line + 1, llen - 1, &n);
                if (e != NUM_OK) {
                    pb_error(NULL, "Failed to read number of bulk messages: %s", num_errstr(e));
                    return PB_PARSE_DROP;
                }
                if (n > 0) {
                    /* every element takes 3 bytes at least */
                    if ((uint64_t)n > PB_MAX_STREAM_BYTES / 3u || s->depth >= REDIS_MAX_DEPTH) {
                        return PB_PARSE_DROP;
                    }
                    s->left[s->depth++] = (uint64_t)n;
                    done_value = false;
                }
            }
        }
        s->pos = s->crlf_from = next;
        if (done_value && value_done(s)) {
            *msg_len = s->pos;
            return PB_PARSE_OK;
        }
    }
}

/* ---- builder: runs on a complete message that redis_scan accepted ---- */

/* The text of a value is never longer than its wire bytes (a header line
 * and CRLF for every value pays for the "nil", "[]", brackets and ", "
 * separators), so the output goes to a fixed buffer of the message length;
 * writes past it are refused all the same. */
struct out {
    char *p;
    size_t len, cap;
};

struct builder {
    struct pb_rd r;
};

static int put(struct out *o, const void *p, size_t n)
{
    if (n > o->cap - o->len) {
        return -PB_EPROTO;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static int build_value(struct builder *b, struct out *o, unsigned depth, bool *is_err,
                       struct redis_built *top);

/* Reads the CRLF-terminated header line of the value at the reader
 * position (the CRLF is consumed, not part of the line). */
static int header(struct builder *b, struct pb_slice *line)
{
    size_t left = pb_rd_left(&b->r);
    size_t eol = find_crlf(b->r.p, left, 0);
    if (eol == SIZE_MAX || eol == 0) {
        return -PB_EPROTO;
    }
    *line = pb_rd_slice(&b->r, eol);
    pb_rd_skip(&b->r, 2);
    return pb_rd_ok(&b->r) ? 0 : -PB_EPROTO;
}

/* Method and path of a request whose count elements were written to o,
 * separated by one space (element i at o[start[i], end[i]) for i < 3), as
 * Packetbeat names them: a one-word command and its first argument, else a
 * two-word command ("CONFIG GET") and the argument after it; a command
 * Packetbeat does not know is named like a one-word command. */
static void request_names(struct redis_built *top, const struct out *o, int64_t count,
                          const size_t start[3], const size_t end[3])
{
    unsigned words = 1;
    if (!redis_is_command(o->p + start[0], end[0] - start[0]) && count > 1 &&
        redis_is_command(o->p + start[0], end[1] - start[0])) {
        words = 2;
    }
    top->method = o->p + start[0];
    top->method_len = end[words - 1] - start[0];
    if (count > (int64_t)words) {
        top->path = o->p + start[words];
        top->path_len = end[words] - start[words];
    }
}

static int build_array(struct builder *b, struct pb_slice line, struct out *o, unsigned depth,
                       struct redis_built *top)
{
    if ((line.len == 3 && line.ptr[1] == '-' && line.ptr[2] == '1')) {
        return put(o, "nil", 3);
    }
    if (line.len == 2 && line.ptr[1] == '0') {
        return put(o, "[]", 2);
    }
    int64_t count = 0;
    if (parse_int(line.ptr + 1, line.len - 1, &count) != NUM_OK) {
        return -PB_EPROTO;
    }
    if (count < 0) {
        return put(o, "nil", 3);
    }
    if (count == 0) {
        return put(o, "[]", 2);
    }
    bool dummy = false;
    int rc;
    /* A client's top-level array is a command: its elements joined by
     * spaces; anything else is shown as "[a, b, ...]". */
    bool request = depth == 0 && top != NULL && top->is_request;
    size_t start[3] = {0}, end[3] = {0}; /* elements 0..2 in o (request) */
    if (!request && (rc = put(o, "[", 1)) < 0) {
        return rc;
    }
    for (int64_t i = 0; i < count; i++) {
        if (i > 0 && (rc = put(o, request ? " " : ", ", request ? 1 : 2)) < 0) {
            return rc;
        }
        size_t before = o->len;
        if ((rc = build_value(b, o, depth + 1, &dummy, NULL)) < 0) {
            return rc;
        }
        if (i < 3) {
            start[i] = before;
            end[i] = o->len;
        }
    }
    if (!request) {
        return put(o, "]", 1);
    }
    request_names(top, o, count, start, end);
    return 0;
}

static int build_value(struct builder *b, struct out *o, unsigned depth, bool *is_err,
                       struct redis_built *top)
{
    struct pb_slice line;
    if (depth > REDIS_MAX_DEPTH || header(b, &line) < 0) {
        return -PB_EPROTO;
    }
    switch (line.ptr[0]) {
    case '*':
        return build_array(b, line, o, depth, top);
    case '$': {
        if (line.len == 3 && line.ptr[1] == '-' && line.ptr[2] == '1') {
            return put(o, "nil", 3);
        }
        int64_t n = 0;
        if (parse_int(line.ptr + 1, line.len - 1, &n) != NUM_OK || n < 0) {
            return -PB_EPROTO;
        }
        struct pb_slice body = pb_rd_slice(&b->r, (size_t)n);
        pb_rd_skip(&b->r, 2);
        if (!pb_rd_ok(&b->r)) {
            return -PB_EPROTO;
        }
        return put(o, body.ptr, body.len);
    }
    case ':': {
        int64_t v = 0;
        enum num_err e = parse_int(line.ptr + 1, line.len - 1, &v);
        if (e != NUM_OK) {
            pb_error(NULL, "Failed to read integer reply: %s", num_errstr(e));
        }
        return put(o, line.ptr + 1, line.len - 1);
    }
    case '-':
        *is_err = true;
        return put(o, line.ptr + 1, line.len - 1);
    case '+':
        return put(o, line.ptr + 1, line.len - 1);
    default:
        return -PB_EPROTO;
    }
}

int redis_build(const uint8_t *data, size_t len, bool from_client, char *buf,
                struct redis_built *out)
{
    memset(out, 0, sizeof *out);
    out->is_request = from_client;
    struct builder b = {.r = pb_rd_make(data, len)};
    struct out o = {.p = buf, .cap = len};
    bool is_err = false;
    int rc = build_value(&b, &o, 0, &is_err, out);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    buf[o.len] = '\0';
    out->is_error = is_err && !out->is_request && data[0] == '-';
    out->text = buf;
    out->text_len = o.len;
    return 0;
}
