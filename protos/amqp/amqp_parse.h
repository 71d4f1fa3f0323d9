/* SPDX-License-Identifier: Apache-2.0
 * protos/amqp/amqp_parse.h - AMQP 0-9-1 frame and method decoder with
 * Packetbeat 8.x's rules: which methods it knows, which fields each one
 * yields (`amqp.*`), content headers (properties) and bodies, field tables.
 *
 * Pure: no I/O, no globals. A message (struct amqp_msg) collects the frames
 * of one AMQP command (method [+ content header + body frames]); as in
 * Packetbeat, one message object lives as long as its stream and is reused
 * by the next command of the same stream, keeping what the next method does
 * not overwrite.
 *
 * Spec: https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf
 */
#ifndef PB_AMQP_PARSE_H
#define PB_AMQP_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame types and the frame-end octet. */
#define AMQP_FRAME_METHOD 1
#define AMQP_FRAME_HEADER 2
#define AMQP_FRAME_BODY 3
#define AMQP_FRAME_HEARTBEAT 8
#define AMQP_FRAME_END 0xCE

/* Notes kept per message (further ones are dropped). */
#define AMQP_MAX_NOTES 8
/* Field tables: nesting depth and entries per message; beyond either the
 * table counts as malformed (Packetbeat has no limit; these only bite on
 * hostile input). */
#define AMQP_MAX_TABLE_DEPTH 32
#define AMQP_MAX_TABLE_ENTRIES 10000

/* Options that change decoding. */
struct amqp_opts {
    bool parse_headers;               /* content header properties */
    bool parse_arguments;             /* method argument tables */
    bool hide_connection_information; /* leave connection.start/tune/open,
                                         channel.open/flow, basic.qos undecoded */
    size_t body_keep;                 /* body bytes copied per message (cap) */
};

/* One AMQP command being assembled (Packetbeat's amqpMessage). */
struct amqp_msg {
    uint64_t ts_ns;     /* time of the packet that created the stream */
    const char *method; /* static name, "" while unset */
    bool is_request;
    char *request; /* owned, NULL means "" */
    size_t request_len;
    json_t *fields; /* owned reference; NULL is a nil map (no fields yet) */
    uint8_t *body;  /* owned: the first body_kept bytes of the body */
    size_t body_kept, body_alloc;
    uint64_t body_len;  /* bytes of body frames seen (all of them) */
    uint64_t body_size; /* declared size (content header), else the method's arguments size */
    const char *notes[AMQP_MAX_NOTES]; /* static strings */
    size_t nnotes;
};

enum amqp_res {
    AMQP_MORE,     /* frames used, the command is not complete yet */
    AMQP_COMPLETE, /* a command is complete (handle msg, then call again) */
    AMQP_EMPTY,    /* called at the end of the data: Packetbeat drops the stream here */
    AMQP_ERROR,    /* malformed or unknown: drop this direction's stream */
    AMQP_PANIC,    /* where Packetbeat's parser panics: drop the connection's state */
};

/* Frees what msg owns and zeroes it. */
void amqp_msg_free(struct amqp_msg *m);

/* Parses frames from data[*off..len) into m until a command completes or
 * the data ends (a frame split across segments waits: AMQP_MORE with *off
 * at its start). A protocol header "AMQP\0..." is skipped. *off advances past
 * every frame used. */
enum amqp_res amqp_parse(const struct amqp_opts *o, struct amqp_msg *m, const uint8_t *data,
                         size_t len, size_t *off);

/* Reply code of a close/return (fields "reply-code"), 0 when absent. */
unsigned amqp_reply_code(const json_t *fields);

/* "65 66 67": the bytes as decimal numbers separated by spaces; owned
 * (pb_malloc), NULL on ENOMEM. *outlen receives the length. */
char *amqp_bytes_to_decimal(const uint8_t *p, size_t n, size_t *outlen);

#endif
