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
#include "beat/jsonw.h"
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

/* The table's name of the command s (n bytes) names, NULL when none. */
static const char *command_name(const void *s, size_t n)
{
    if (n == 0 || n > MAX_COMMAND_LEN) {
        return NULL;
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
            return commands[k];
        }
    }
    return NULL;
}

bool redis_is_command(const void *s, size_t n)
{
    return command_name(s, n) != NULL;
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

/* ---- parser: scanning and text in one pass ---- */

/* The text goes to a buffer of cap bytes; a text that does not fit (with
 * its NUL) fails the parse, and the caller parses again into a buffer of
 * the message length (the text is never longer: a header line and CRLF
 * for every value pays for the "nil", "[]", brackets and ", "
 * separators). */
struct out {
    char *p;
    size_t len, cap;
};

static inline bool put(struct out *o, const void *p, size_t n)
{
    if (n >= o->cap - o->len) {
        return false;
    }
    pb_copy_short(o->p + o->len, p, n); /* most values are short */
    o->len += n;
    return true;
}

/* An open array of the message. */
struct frame {
    uint64_t left;  /* elements still to come */
    uint64_t count; /* elements in all */
    bool request;   /* the client's top-level array: a command */
};

/* Method and path of a request whose count elements were written to o,
 * separated by one space (element i at o[start[i], end[i]) for i < 3), as
 * Packetbeat names them: a one-word command and its first argument, else a
 * two-word command ("CONFIG GET") and the argument after it; a command
 * Packetbeat does not know is named like a one-word command. */
static void request_names(struct redis_built *top, const struct out *o, uint64_t count,
                          const size_t start[3], const size_t end[3])
{
    unsigned words = 1;
    top->command = command_name(o->p + start[0], end[0] - start[0]);
    if (top->command == NULL && count > 1) {
        top->command = command_name(o->p + start[0], end[1] - start[0]);
        words = top->command != NULL ? 2 : 1;
    }
    top->method = o->p + start[0];
    top->method_len = end[words - 1] - start[0];
    if (count > words) {
        top->path = o->p + start[words];
        top->path_len = end[words] - start[words];
    }
}

/* The header line "<type><digits>" at line (llen bytes, type byte
 * included) is "<type>-1". */
static inline bool is_minus_one(const uint8_t *line, size_t llen)
{
    return llen == 3 && line[1] == '-' && line[2] == '1';
}

/* The end of the header line of the value at pos (as find_crlf) and the
 * number after its type byte (as parse_int reads the line): most lines
 * are a number and CRLF ("$17", "*4", ":1"), read in one step; others are
 * searched and then read. SIZE_MAX when the line has no end yet. */
static inline size_t number_line(const uint8_t *data, size_t len, size_t pos, int64_t *v,
                                 enum num_err *e)
{
    size_t i = pos + 1;
    bool neg = i < len && data[i] == '-';
    if (neg || (i < len && data[i] == '+')) {
        i++;
    }
    size_t digits = i;
    uint64_t u = 0;
    while (i < len && data[i] >= '0' && data[i] <= '9') {
        u = u * 10u + (uint64_t)(data[i] - '0');
        i++;
    }
    if (i > digits && i + 1 < len && data[i] == '\r' && data[i + 1] == '\n') {
        *v = neg ? (int64_t)(0u - u) : (int64_t)u;
        *e = NUM_OK;
        return i;
    }
    size_t eol = find_crlf(data, len, pos);
    if (eol != SIZE_MAX) {
        *e = parse_int(data + pos + 1, eol - pos - 1, v);
    }
    return eol;
}

int redis_parse(const uint8_t *data, size_t len, bool from_client, bool log, char *buf, size_t cap,
                struct redis_built *out, size_t *msg_len)
{
    memset(out, 0, sizeof *out);
    if (cap == 0) {
        return -1;
    }
    struct out o = {.p = buf, .cap = cap};
    struct frame stack[REDIS_MAX_DEPTH];
    unsigned depth = 0;
    size_t start[3] = {0}, end[3] = {0}; /* the request's elements 0..2 in o */
    bool bad_int = false;
    size_t pos = 0;
    for (;;) {
        /* the next value: the rules of redis_scan, whose every refusal
           (more bytes needed, or a drop) is a failure here */
        if (pos >= len) {
            return -1;
        }
        uint8_t type = data[pos];
        if (type != '*' && type != '$' && type != ':' && type != '+' && type != '-') {
            return -1;
        }
        int64_t n = 0;
        enum num_err e = NUM_OK;
        size_t eol = type == '+' || type == '-' ? find_crlf(data, len, pos)
                                                : number_line(data, len, pos, &n, &e);
        if (eol == SIZE_MAX) {
            return -1;
        }
        const uint8_t *line = data + pos;
        size_t llen = eol - pos;
        size_t next = eol + 2;
        bool ok = true;
        if (type == '$') {
            if (is_minus_one(line, llen)) {
                ok = put(&o, "nil", 3);
            } else {
                if (e != NUM_OK || n < 0 || (uint64_t)n > PB_MAX_STREAM_BYTES) {
                    return -1;
                }
                /* no overflow: n is capped, next <= len */
                size_t bulk_end = next + (size_t)n + 2;
                if (len < bulk_end || data[bulk_end - 2] != '\r' || data[bulk_end - 1] != '\n') {
                    return -1;
                }
                ok = put(&o, data + next, (size_t)n);
                next = bulk_end;
            }
        } else if (type == '*') {
            if (is_minus_one(line, llen)) {
                ok = put(&o, "nil", 3);
            } else if (llen == 2 && line[1] == '0') {
                ok = put(&o, "[]", 2);
            } else {
                if (e != NUM_OK) {
                    return -1;
                }
                if (n > 0) {
                    /* every element takes 3 bytes at least */
                    if ((uint64_t)n > PB_MAX_STREAM_BYTES / 3u || depth >= REDIS_MAX_DEPTH) {
                        return -1;
                    }
                    /* A client's top-level array is a command: its elements
                     * joined by spaces; anything else is shown as
                     * "[a, b, ...]". */
                    bool request = depth == 0 && from_client;
                    stack[depth++] = (struct frame){(uint64_t)n, (uint64_t)n, request};
                    if (!request && !put(&o, "[", 1)) {
                        return -1;
                    }
                    pos = next;
                    continue;
                }
                ok = n < 0 ? put(&o, "nil", 3) : put(&o, "[]", 2);
            }
        } else {
            if (type == ':' && e != NUM_OK) {
                bad_int = true;
                if (log) {
                    pb_error(NULL, "Failed to read integer reply: %s", num_errstr(e));
                }
            }
            ok = put(&o, line + 1, llen - 1);
        }
        if (!ok) {
            return -1;
        }
        pos = next;
        /* the value is done: close every array it completes */
        for (;;) {
            if (depth == 0) {
                o.p[o.len] = '\0';
                out->is_request = from_client;
                out->is_error = !from_client && data[0] == '-';
                out->bad_int = bad_int;
                out->text = o.p;
                out->text_len = o.len;
                *msg_len = pos;
                return 0;
            }
            struct frame *f = &stack[depth - 1];
            uint64_t done = f->count - f->left; /* the element that ended */
            if (f->request && done < 3) {
                end[done] = o.len;
            }
            if (--f->left > 0) {
                if (f->request) {
                    ok = put(&o, " ", 1);
                    if (done + 1 < 3) {
                        start[done + 1] = o.len;
                    }
                } else {
                    ok = put(&o, ", ", 2);
                }
                if (!ok) {
                    return -1;
                }
                break;
            }
            if (f->request) {
                request_names(out, &o, f->count, start, end);
            } else if (!put(&o, "]", 1)) {
                return -1;
            }
            depth--;
        }
    }
}

int redis_build(const uint8_t *data, size_t len, bool from_client, char *buf,
                struct redis_built *out)
{
    size_t mlen = 0;
    return redis_parse(data, len, from_client, true, buf, len + 1, out, &mlen) == 0 ? 0
                                                                                    : -PB_EPROTO;
}
