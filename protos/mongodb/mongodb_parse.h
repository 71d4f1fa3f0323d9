/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_parse.h - MongoDB wire protocol messages (legacy
 * opcodes and OP_MSG) parsed into what Packetbeat reports; pure: no I/O,
 * no globals.
 * Spec: https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 *
 * Standard header (little endian):
 *   int32 messageLength, int32 requestID, int32 responseTo, int32 opCode
 */
#ifndef PB_MONGODB_PARSE_H
#define PB_MONGODB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes. */
#define MONGO_OP_REPLY 1
#define MONGO_OP_MSG_LEGACY 1000
#define MONGO_OP_UPDATE 2001
#define MONGO_OP_INSERT 2002
#define MONGO_OP_RESERVED 2003
#define MONGO_OP_QUERY 2004
#define MONGO_OP_GET_MORE 2005
#define MONGO_OP_DELETE 2006
#define MONGO_OP_KILL_CURSORS 2007
#define MONGO_OP_MSG 2013

/* mongodb.* fields a message may carry (bits of mongo_msg.present). */
enum {
    MF_FULL_COLLECTION_NAME = 1u << 0,
    MF_NUMBER_TO_SKIP = 1u << 1,
    MF_NUMBER_TO_RETURN = 1u << 2,
    MF_RETURN_FIELDS_SELECTOR = 1u << 3,
    MF_SELECTOR = 1u << 4,
    MF_UPDATE = 1u << 5,
    MF_CURSOR_ID = 1u << 6,
    MF_STARTING_FROM = 1u << 7,
    MF_NUMBER_RETURNED = 1u << 8,
    MF_MESSAGE = 1u << 9,
};

struct mongo_msg {
    struct mongo_msg *next; /* plugin lists */
    uint64_t ts_ns;         /* first packet of the message */
    uint64_t added_ns;      /* wall clock when queued (plugin) */
    int dir;                /* enum pb_dir it travelled (plugin) */
    uint32_t length, request_id, response_to;
    int32_t opcode;
    bool is_response;

    char *method;   /* owned, may be NULL (= "") */
    char *resource; /* owned, may be NULL (= "") */

    unsigned present;
    char *full_collection_name; /* owned */
    char *return_fields_selector;
    char *selector;
    char *update;
    char *message;
    uint64_t number_to_skip, number_to_return, starting_from, number_returned;
    int64_t cursor_id;

    char *error;   /* owned, replies: JSON of $err / writeErrors, NULL none */
    char *query;   /* owned, requests: the reconstructed query */
    char *request; /* owned, requests: the full query (want_request) */
    char **docs;   /* owned, replies (want_docs): JSON per document, NULL = failed */
    size_t ndocs;
    bool more_docs; /* documents beyond max_docs were left out */
};

struct mongo_cfg {
    bool want_request; /* send_request */
    bool want_docs;    /* send_response */
    int64_t max_docs;  /* >0: keep this many documents */
};

enum mongo_result {
    MONGO_MORE,       /* need more bytes */
    MONGO_MSG,        /* *out holds a message of *msg_len bytes */
    MONGO_BAD_OPCODE, /* unknown operation code in *opcode */
    MONGO_ERR,        /* parse error, log line in err (may be empty) */
};

/* Parses the message at the start of data[0..len). */
enum mongo_result mongo_parse(const uint8_t *data, size_t len, const struct mongo_cfg *cfg,
                              uint64_t ts_ns, struct mongo_msg **out, size_t *msg_len,
                              int32_t *opcode, char *err, size_t errlen);

void mongo_msg_free(struct mongo_msg *m);

/* The opcode's text as Packetbeat prints it ("OP_QUERY", "(value=7)"). */
void mongo_opcode_str(int32_t op, char *buf, size_t n);

#endif
