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
#define MAX_COMMAND_LEN 16u /* longest entry: "CONFIG RESETSTAT"; two words compared */

/* The commands by a hash of their upper-case bytes, zero-padded to
 * MAX_COMMAND_LEN (open addressing, linear probing): entry + 1 in each
 * used slot, 0 in a free one; each name also kept padded, compared at
 * once. Made once, read only afterwards. */
#define CMD_SLOTS 512u
static uint8_t cmd_slot[CMD_SLOTS];
static uint8_t cmd_len[NCOMMANDS];
static char cmd_padded[NCOMMANDS][MAX_COMMAND_LEN];
static char cmd_action[NCOMMANDS][sizeof "redis." + MAX_COMMAND_LEN]; /* "redis.get" */
static pthread_once_t cmd_once = PTHREAD_ONCE_INIT;

/* The slot of a padded name, its two 8-byte words (a multiplicative
 * hash: the top 9 bits). */
static inline uint32_t cmd_hash(uint64_t a0, uint64_t a1)
{
    _Static_assert(CMD_SLOTS == 512u, "the hash gives 9 bits");
    uint64_t h = (a0 ^ (a1 * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h >> 55);
}

/* x with its ASCII lower-case letters in upper case, eight bytes at once
 * (bytes from 0x80 up unchanged). */
static inline uint64_t upper8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80u;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + ones * (0x80u - 'a');     /* high bit: >= 'a' */
    uint64_t gt_z = low7 + ones * (0x80u - 'z' - 1); /* high bit: > 'z' */
    uint64_t lower = ge_a & ~gt_z & ~x & high;
    return x ^ (lower >> 2); /* 0x80 >> 2: the case bit */
}

static void cmd_table_init(void)
{
    _Static_assert(NCOMMANDS < 255 && NCOMMANDS < CMD_SLOTS / 2, "command table too full");
    for (size_t k = 0; k < NCOMMANDS; k++) {
        size_t n = strlen(commands[k]);
        cmd_len[k] = (uint8_t)n;
        memcpy(cmd_padded[k], commands[k], n);
        memcpy(cmd_action[k], "redis.", 6);
        for (size_t i = 0; i < n; i++) {
            char c = commands[k][i];
            cmd_action[k][6 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        uint64_t a0, a1;
        memcpy(&a0, cmd_padded[k], 8);
        memcpy(&a1, cmd_padded[k] + 8, 8);
        uint32_t h = cmd_hash(a0, a1);
        while (cmd_slot[h] != 0) {
            h = (h + 1) % CMD_SLOTS;
        }
        cmd_slot[h] = (uint8_t)(k + 1);
    }
}

/* The table's entry of the command s (n bytes) names, -1 when none. */
static int command_id(const void *s, size_t n)
{
    if (n == 0 || n > MAX_COMMAND_LEN) {
        return -1;
    }
    pthread_once(&cmd_once, cmd_table_init);
    /* the name zero-padded to two words, as cmd_padded, read in place
       (overlapping loads within s, little endian) */
    const uint8_t *p = s;
    uint64_t a0 = 0, a1 = 0;
    if (n > 8) {
        memcpy(&a0, p, 8);
        memcpy(&a1, p + n - 8, 8);
        a1 >>= 8 * (16 - n);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        a0 = lo | (uint64_t)hi << (8 * (n - 4));
    } else {
        a0 = p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
    }
    a0 = upper8(a0);
    a1 = upper8(a1);
    /* the lengths compared too: "GET" and "GET\0" pad alike */
    for (uint32_t h = cmd_hash(a0, a1); cmd_slot[h] != 0; h = (h + 1) % CMD_SLOTS) {
        unsigned k = cmd_slot[h] - 1u;
        uint64_t b0, b1;
        memcpy(&b0, cmd_padded[k], 8);
        memcpy(&b1, cmd_padded[k] + 8, 8);
        if (cmd_len[k] == n && ((a0 ^ b0) | (a1 ^ b1)) == 0) {
            return (int)k;
        }
    }
    return -1;
}

bool redis_is_command(const void *s, size_t n)
{
    return command_id(s, n) >= 0;
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

/* The header line at pos when it is its type byte, digits and CRLF, as
 * most are ("$17", "*4", ":1"): its end (the CR), and in *v the number
 * (wrapping past 64 bits, as parse_int); SIZE_MAX for any other line (a
 * sign, "$-1", bytes after the digits) or a line without its end yet. */
static inline size_t digits_line(const uint8_t *data, size_t len, size_t pos, uint64_t *v)
{
    size_t i = pos + 1;
    unsigned d;
    if (i >= len || (d = (unsigned)data[i] - '0') > 9u) {
        return SIZE_MAX;
    }
    uint64_t u = d;
    while (++i < len && (d = (unsigned)data[i] - '0') < 10u) {
        u = u * 10u + d;
    }
    if (i + 1 < len && memcmp(data + i, "\r\n", 2) == 0) {
        *v = u;
        return i;
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
        /* most lengths and counts are digits and CRLF, read at once;
           anything else is searched and then read */
        uint64_t u = 0;
        size_t eol = type == '$' || type == '*' ? digits_line(data, len, s->pos, &u) : SIZE_MAX;
        bool digits = eol != SIZE_MAX;
        if (!digits) {
            size_t from = s->crlf_from > s->pos ? s->crlf_from : s->pos;
            eol = find_crlf(data, len, from);
            if (eol == SIZE_MAX) {
                /* keep a trailing '\r' for the next search */
                s->crlf_from = len > s->pos + 1 ? len - 1 : s->pos;
                return PB_PARSE_MORE;
            }
        }
        const uint8_t *line = data + s->pos;
        size_t llen = eol - s->pos;
        size_t next = eol + 2;
        bool done_value = true;
        if (type == '$') {
            if (!(llen == 3 && line[1] == '-' && line[2] == '1')) {
                int64_t n = (int64_t)u;
                enum num_err e = digits ? NUM_OK : parse_int(line + 1, llen - 1, &n);
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
                int64_t n = (int64_t)u;
                enum num_err e = digits ? NUM_OK : parse_int(line + 1, llen - 1, &n);
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
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return true;
}

/* A literal of ours: its size known, copied in place. */
static inline bool put_lit(struct out *o, const char *s, size_t n)
{
    if (n >= o->cap - o->len) {
        return false;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    return true;
}
#define PUT_LIT(o, lit) put_lit((o), "" lit "", sizeof(lit) - 1)

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
    int id = command_id(o->p + start[0], end[0] - start[0]);
    if (id < 0 && count > 1) {
        id = command_id(o->p + start[0], end[1] - start[0]);
        words = id >= 0 ? 2 : 1;
    }
    if (id >= 0) {
        top->command = commands[id];
        top->action = cmd_action[id];
        top->action_len = sizeof "redis." - 1 + cmd_len[id];
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
 * number after its type byte (as parse_int reads the line): a line of
 * digits is read in one step; others are searched and then read. SIZE_MAX
 * when the line has no end yet. */
static inline size_t number_line(const uint8_t *data, size_t len, size_t pos, int64_t *v,
                                 enum num_err *e)
{
    uint64_t u = 0;
    size_t eol = digits_line(data, len, pos, &u);
    if (eol != SIZE_MAX) {
        *v = (int64_t)u;
        *e = NUM_OK;
        return eol;
    }
    eol = find_crlf(data, len, pos);
    if (eol != SIZE_MAX) {
        *e = parse_int(data + pos + 1, eol - pos - 1, v);
    }
    return eol;
}

/* The usual message, an array of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n":
 * every request, and most replies with elements), written as
 * parse_values writes it but without its stack of open arrays: 0 with o
 * holding the text, *msg_len the message length and top the request's
 * names; -1 for any other message and any failure (o and top are then
 * left for parse_values, which decides). */
static int parse_bulks(const uint8_t *data, size_t len, bool request, struct out *o,
                       struct redis_built *top, size_t *msg_len)
{
    uint64_t count = 0;
    size_t eol = digits_line(data, len, 0, &count);
    if (eol == SIZE_MAX || count == 0 || count > PB_MAX_STREAM_BYTES / 3u) {
        return -1;
    }
    size_t pos = eol + 2;
    size_t start[3] = {0}, end[3] = {0}; /* elements 0..2 in o */
    if (!request && !PUT_LIT(o, "[")) {
        return -1;
    }
    for (uint64_t k = 0; k < count; k++) {
        if (k > 0 && !(request ? PUT_LIT(o, " ") : PUT_LIT(o, ", "))) {
            return -1;
        }
        uint64_t n = 0;
        if (pos >= len || data[pos] != '$' || (eol = digits_line(data, len, pos, &n)) == SIZE_MAX ||
            n > PB_MAX_STREAM_BYTES) {
            return -1;
        }
        /* no overflow: n is capped, eol + 2 <= len */
        pos = eol + 2 + (size_t)n + 2; /* the bulk's end */
        if (len < pos || memcmp(data + pos - 2, "\r\n", 2) != 0) {
            return -1;
        }
        if (k < 3) {
            start[k] = o->len;
        }
        if (!put(o, data + eol + 2, (size_t)n)) {
            return -1;
        }
        if (k < 3) {
            end[k] = o->len;
        }
    }
    if (request) {
        request_names(top, o, count, start, end);
    } else if (!PUT_LIT(o, "]")) {
        return -1;
    }
    *msg_len = pos;
    return 0;
}

/* The message's values one by one, any of them: redis_parse's general
 * way. */
static int parse_values(const uint8_t *data, size_t len, bool from_client, bool log, struct out *po,
                        struct redis_built *out, size_t *msg_len)
{
    /* po is empty (len 0); its buffer and room taken one by one: a copy of
       the struct just stored field by field would wait for every store
       before it */
    struct out o = {.p = po->p, .cap = po->cap};
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
        const uint8_t *line = data + pos;
        int64_t n = 0;
        enum num_err e = NUM_OK;
        size_t eol;
        const uint8_t *text = NULL; /* the value's text from the wire, when not a literal */
        size_t tlen = 0;
        bool ok = true;
        switch (line[0]) {
        case '$':
            eol = number_line(data, len, pos, &n, &e);
            if (eol == SIZE_MAX) {
                return -1;
            }
            if (is_minus_one(line, eol - pos)) {
                ok = PUT_LIT(&o, "nil");
                pos = eol + 2;
                break;
            }
            if (e != NUM_OK || n < 0 || (uint64_t)n > PB_MAX_STREAM_BYTES) {
                return -1;
            }
            /* no overflow: n is capped, eol + 2 <= len */
            pos = eol + 2 + (size_t)n + 2; /* the bulk's end */
            if (len < pos || memcmp(data + pos - 2, "\r\n", 2) != 0) {
                return -1;
            }
            text = data + eol + 2;
            tlen = (size_t)n;
            break;
        case '*':
            eol = number_line(data, len, pos, &n, &e);
            if (eol == SIZE_MAX) {
                return -1;
            }
            if (is_minus_one(line, eol - pos)) {
                ok = PUT_LIT(&o, "nil");
            } else if (eol - pos == 2 && line[1] == '0') {
                ok = PUT_LIT(&o, "[]");
            } else if (e != NUM_OK) {
                return -1;
            } else if (n > 0) {
                /* every element takes 3 bytes at least */
                if ((uint64_t)n > PB_MAX_STREAM_BYTES / 3u || depth >= REDIS_MAX_DEPTH) {
                    return -1;
                }
                /* A client's top-level array is a command: its elements
                 * joined by spaces; anything else is shown as
                 * "[a, b, ...]". */
                bool request = depth == 0 && from_client;
                stack[depth++] = (struct frame){(uint64_t)n, (uint64_t)n, request};
                if (!request && !PUT_LIT(&o, "[")) {
                    return -1;
                }
                pos = eol + 2;
                continue;
            } else {
                ok = n < 0 ? PUT_LIT(&o, "nil") : PUT_LIT(&o, "[]");
            }
            pos = eol + 2;
            break;
        case ':':
        case '+':
        case '-':
            /* the line as it is */
            eol = line[0] == ':' ? number_line(data, len, pos, &n, &e) : find_crlf(data, len, pos);
            if (eol == SIZE_MAX) {
                return -1;
            }
            if (e != NUM_OK) {
                bad_int = true;
                if (log) {
                    pb_error(NULL, "Failed to read integer reply: %s", num_errstr(e));
                }
            }
            text = line + 1;
            tlen = eol - pos - 1;
            pos = eol + 2;
            break;
        default:
            return -1;
        }
        if (text != NULL) {
            ok = put(&o, text, tlen);
        }
        if (!ok) {
            return -1;
        }
        /* the value is done: close every array it completes */
        for (;;) {
            if (depth == 0) {
                out->bad_int = bad_int;
                *po = o;
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
                    ok = PUT_LIT(&o, " ");
                    if (done + 1 < 3) {
                        start[done + 1] = o.len;
                    }
                } else {
                    ok = PUT_LIT(&o, ", ");
                }
                if (!ok) {
                    return -1;
                }
                break;
            }
            if (f->request) {
                request_names(out, &o, f->count, start, end);
            } else if (!PUT_LIT(&o, "]")) {
                return -1;
            }
            depth--;
        }
    }
}

/* out for the message whose text is in o */
static void built(const uint8_t *data, bool from_client, const struct out *o,
                  struct redis_built *out)
{
    o->p[o->len] = '\0';
    out->is_request = from_client;
    out->is_error = !from_client && data[0] == '-';
    out->text = o->p;
    out->text_len = o->len;
}

int redis_parse_values(const uint8_t *data, size_t len, bool from_client, bool log, char *buf,
                       size_t cap, struct redis_built *out, size_t *msg_len)
{
    memset(out, 0, sizeof *out);
    struct out o = {.p = buf, .cap = cap};
    if (cap == 0 || parse_values(data, len, from_client, log, &o, out, msg_len) != 0) {
        return -1;
    }
    built(data, from_client, &o, out);
    return 0;
}

int redis_parse(const uint8_t *data, size_t len, bool from_client, bool log, char *buf, size_t cap,
                struct redis_built *out, size_t *msg_len)
{
    if (len > 0 && data[0] == '*' && cap > 0) {
        memset(out, 0, sizeof *out);
        struct out o = {.p = buf, .cap = cap};
        if (parse_bulks(data, len, from_client, &o, out, msg_len) == 0) {
            built(data, from_client, &o, out);
            return 0;
        }
    }
    return redis_parse_values(data, len, from_client, log, buf, cap, out, msg_len);
}

int redis_build(const uint8_t *data, size_t len, bool from_client, char *buf,
                struct redis_built *out)
{
    size_t mlen = 0;
    return redis_parse(data, len, from_client, true, buf, len + 1, out, &mlen) == 0 ? 0
                                                                                    : -PB_EPROTO;
}
