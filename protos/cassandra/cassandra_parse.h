/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_parse.h - Cassandra native protocol frames
 * (v1..v4 headers; bodies as Packetbeat 8.x decodes them) into the JSON
 * that Packetbeat puts under cassandra.request / cassandra.response; pure:
 * no I/O, no globals.
 *
 * Packetbeat's decoder reads the body through a reader over everything
 * buffered in the direction (not just the frame) and then checks that it
 * used exactly the body: reading past the body is an error that drops the
 * connection, leftovers are skipped. Its quirks are kept on purpose: the
 * uncompressed reader returns 32-bit integers unsigned, the decompressed
 * one signed; a tracing id in a response is not skipped; QUERY and
 * SUPPORTED bodies replace the warnings; v1/v2 responses count as
 * requests. Spec:
 * https://github.com/apache/cassandra/blob/trunk/doc/native_protocol_v4.spec
 */
#ifndef PB_CASSANDRA_PARSE_H
#define PB_CASSANDRA_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes. */
enum {
    CASS_OP_ERROR = 0x00,
    CASS_OP_STARTUP = 0x01,
    CASS_OP_READY = 0x02,
    CASS_OP_AUTHENTICATE = 0x03,
    CASS_OP_OPTIONS = 0x05,
    CASS_OP_SUPPORTED = 0x06,
    CASS_OP_QUERY = 0x07,
    CASS_OP_RESULT = 0x08,
    CASS_OP_PREPARE = 0x09,
    CASS_OP_EXECUTE = 0x0A,
    CASS_OP_REGISTER = 0x0B,
    CASS_OP_EVENT = 0x0C,
    CASS_OP_BATCH = 0x0D,
    CASS_OP_AUTH_CHALLENGE = 0x0E,
    CASS_OP_AUTH_RESPONSE = 0x0F,
    CASS_OP_AUTH_SUCCESS = 0x10,
};

/* Packetbeat's frame size limit (256 MiB). */
#define CASS_MAX_FRAME_BODY (256u * 1024u * 1024u)

struct cass_cfg {
    bool snappy;       /* compressor: snappy */
    bool ignored[256]; /* ignored_ops, by opcode */
};

struct cass_frame {
    uint8_t version; /* version byte, direction bit included */
    uint8_t flags;
    uint8_t op;
    int stream;
    uint32_t body_len;
    size_t head_len;
    size_t size;      /* head_len + body_len: the wire bytes of the frame */
    bool header_done; /* the header was read (size is known) */
    bool is_request;
    bool ignored;   /* opcode in ignored_ops: body skipped, no data */
    json_t *header; /* owned: {version, flags, stream, op, length} */
    json_t *data;   /* owned, NULL when the body was not decoded */
};

enum cass_rc {
    CASS_OK,   /* a whole frame: out->size bytes */
    CASS_MORE, /* need more bytes (out->size known when header_done) */
    CASS_ERR,  /* Packetbeat drops the connection */
};

/* Parses the frame at data[0..len) (everything buffered in the direction).
 * On CASS_OK the caller owns out->header and out->data. */
enum cass_rc cass_parse_frame(const struct cass_cfg *cfg, const uint8_t *data, size_t len,
                              struct cass_frame *out);
void cass_frame_clear(struct cass_frame *f);

/* Opcode by name (case-insensitive, trimmed), -1 when unknown. */
int cass_op_from_name(const char *s);
/* FrameOp.String(): "QUERY", ... or "UNKNOWN_OP_<n>". */
const char *cass_op_name(uint8_t op, char *buf, size_t cap);

/* Go's strconv.Quote of n bytes appended to out (NUL-terminated, owned,
 * pb_malloc'd); NULL on ENOMEM. */
char *cass_go_quote(const uint8_t *s, size_t n, size_t *outlen);
/* Go's net.IP.String() of a 4 or 16 byte address. */
void cass_ip_string(const uint8_t *ip, size_t n, char *buf, size_t cap);

#endif
