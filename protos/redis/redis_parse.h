/* SPDX-License-Identifier: Apache-2.0
 * protos/redis/redis_parse.h - RESP (REdis Serialization Protocol) message
 * scanner and message builder; pure: no I/O, no globals.
 *
 * Two steps, as Packetbeat's parser restarts each message from its first
 * byte until it is complete:
 *   1. redis_scan() walks the bytes of one message incrementally (its state
 *      survives between segments, so a message split anywhere costs linear
 *      time) and reports the message length once the last byte is there;
 *   2. redis_parse() turns the complete message bytes into the text
 *      Packetbeat shows (request "SET key value", reply "[a, b]", "nil", ...).
 * redis_parse also scans as it goes, so a message that is whole in the
 * bytes at hand takes that one pass; redis_scan is for the others.
 * Spec: https://redis.io/docs/reference/protocol-spec/
 */
#ifndef PB_REDIS_PARSE_H
#define PB_REDIS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/proto.h"

/* Deepest array nesting accepted (Packetbeat recurses without a bound). */
#define REDIS_MAX_DEPTH 64u

/* Incremental scanner state for the message at the start of the buffer.
 * Zeroed = at the first byte of a new message. */
struct redis_scan {
    size_t pos;                     /* start of the next value header */
    size_t crlf_from;               /* CRLF search resumes here (>= pos) */
    size_t bulk_end;                /* in_bulk: offset just past the bulk's CRLF */
    bool in_bulk;                   /* waiting for a bulk string body */
    uint8_t depth;                  /* open arrays */
    uint64_t left[REDIS_MAX_DEPTH]; /* elements still expected per open array */
};

/* Back to the first byte of a new message (left[] is written before it is
 * read, so it stays). */
static inline void redis_scan_reset(struct redis_scan *s)
{
    s->pos = 0;
    s->crlf_from = 0;
    s->bulk_end = 0;
    s->in_bulk = false;
    s->depth = 0;
}

/* True when s is at the first byte of a message (as after
 * redis_scan_reset). */
static inline bool redis_scan_fresh(const struct redis_scan *s)
{
    return s->pos == 0 && s->crlf_from == 0 && !s->in_bulk && s->depth == 0;
}

/* Scans data[0..len) (the bytes of the current message so far, always from
 * its first byte). PB_PARSE_OK with *msg_len = the complete message length;
 * PB_PARSE_MORE when more bytes are needed; PB_PARSE_DROP on bytes that are
 * not RESP (Packetbeat drops the stream). */
enum pb_parse redis_scan(struct redis_scan *s, const uint8_t *data, size_t len, size_t *msg_len);

/* A complete message as Packetbeat reports it; the strings point into the
 * buffer given to redis_build. */
struct redis_built {
    bool is_request;  /* sent by the client */
    bool is_error;    /* top-level error reply ("-ERR ...") */
    const char *text; /* the message text (query / return value), NUL-terminated */
    size_t text_len;
    const char *method; /* requests only: the command ("GET", "CONFIG GET") within
                           text; NULL when the request is not an array */
    size_t method_len;
    const char *command; /* the method in upper case when Packetbeat knows the
                            command (static), else NULL */
    const char *action;  /* then "redis." and the method in lower case (static,
                            not NUL-terminated), else NULL */
    size_t action_len;
    const char *path; /* requests only: the command's first argument within text,
                         NULL when absent */
    size_t path_len;
    bool bad_int; /* an integer reply's digits did not parse (logged when asked) */
};

/* Scans and builds in one pass the message at the start of data[0..len)
 * (len may go past it): 0 when it is complete, redis_scan would accept it
 * and its text fits in buf (cap bytes, the NUL included), with *msg_len
 * its length and out its text in buf. -1 otherwise: more bytes are
 * needed, redis_scan would drop the bytes, or the text is longer; then
 * scan the message with redis_scan and, once it is complete, parse its
 * msg_len bytes into a buffer of msg_len + 1 bytes, which never fails.
 * from_client: the client sent it, so it is a request (an array's
 * elements joined by spaces: "SET k v"); else it is a reply, shown as
 * "[a, b]" even when it reads like a command (an HGETALL reply whose first
 * field is "echo"). Packetbeat decides by content instead; by direction no
 * reply is taken for a request and the pairing never shifts. log: report
 * an integer reply that does not parse (pb_error), as Packetbeat does when
 * it builds the message; a caller that may throw the result away passes
 * false and parses again with true when out->bad_int. Logs nothing else
 * (redis_scan reports drops). */
int redis_parse(const uint8_t *data, size_t len, bool from_client, bool log, char *buf, size_t cap,
                struct redis_built *out, size_t *msg_len);

/* redis_parse without its way for the usual message, an array of bulk
 * strings (every request, most replies with elements): every message
 * value by value. The tests compare the two. */
int redis_parse_values(const uint8_t *data, size_t len, bool from_client, bool log, char *buf,
                       size_t cap, struct redis_built *out, size_t *msg_len);

/* redis_parse of a complete message of len bytes into buf (len + 1
 * bytes), logging: 0 or -PB_EPROTO; on failure out is empty. */
int redis_build(const uint8_t *data, size_t len, bool from_client, char *buf,
                struct redis_built *out);

/* True when s (n bytes) names a command Packetbeat knows (ASCII case
 * insensitive). */
bool redis_is_command(const void *s, size_t n);

#endif
