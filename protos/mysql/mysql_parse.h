/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql_parse.h - MySQL client/server protocol parser; pure: no
 * I/O, no globals, no events.
 *
 * Two ways of walking a server response:
 *  - Packetbeat's (the default): a result set ends at the first packet that
 *    starts with 0xfe after the column definitions; a 12-byte OK is a
 *    COM_STMT_PREPARE answer. Packetbeat's own captures (MySQL 5.x, and a
 *    MySQL 8 capture whose expected events depend on this walk) come out as
 *    Packetbeat reports them.
 *  - exact: used once the server greeting shows a MariaDB server (the
 *    CLIENT_MYSQL capability bit cleared, MariaDB's extended capabilities).
 *    Column definitions are counted, CLIENT_DEPRECATE_EOF and
 *    MARIADB_CLIENT_CACHE_METADATA are honoured, COM_STMT_PREPARE answers
 *    are known from the request, and binary rows are decoded.
 *
 * Spec: https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html
 *       https://mariadb.com/kb/en/clientserver-protocol/
 */
#ifndef PB_MYSQL_PARSE_H
#define PB_MYSQL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commands Packetbeat turns into transactions. */
#define MY_CMD_QUIT 1
#define MY_CMD_QUERY 3
#define MY_CMD_STMT_PREPARE 22
#define MY_CMD_STMT_EXECUTE 23
#define MY_CMD_STMT_CLOSE 25

/* Capability flags. */
#define MY_CAP_MYSQL 0x00000001u /* CLIENT_LONG_PASSWORD; cleared by MariaDB >= 10.2 */
#define MY_CAP_PROTOCOL_41 0x00000200u
#define MY_CAP_SSL 0x00000800u
#define MY_CAP_DEPRECATE_EOF 0x01000000u
#define MY_CAP_OPTIONAL_METADATA 0x02000000u /* MySQL 8 */
/* MariaDB extended capabilities (bits 32..63, stored shifted down). */
#define MY_XCAP_EXTENDED_METADATA 0x00000008u
#define MY_XCAP_CACHE_METADATA 0x00000010u

/* Responses are cut for publishing after this many bytes (Packetbeat's
 * maxPayloadSize); the parser still walks to the end. */
#define MY_MAX_PAYLOAD (100u * 1024u)
/* Cap of the "db.table, ..." list gathered from column definitions. */
#define MY_MAX_TABLES 4096u

enum my_state {
    MY_ST_START = 0,
    MY_ST_EAT_MESSAGE, /* one packet, waiting for all of it */
    MY_ST_EAT_FIELDS,  /* Packetbeat walk: column definitions up to 0xfe */
    MY_ST_EAT_ROWS,    /* Packetbeat walk: rows up to 0xfe */
    MY_ST_X_PARAMS,    /* exact: COM_STMT_PREPARE parameter definitions */
    MY_ST_X_PARAMS_EOF,
    MY_ST_X_COLS, /* exact: column definitions */
    MY_ST_X_COLS_EOF,
    MY_ST_X_ROWS, /* exact: rows up to EOF / OK / ERR */
};

/* Column metadata of a result set (names, binary types, tables), kept per
 * prepared statement for answers sent without metadata
 * (MARIADB_CLIENT_CACHE_METADATA). */
struct my_strv;
struct my_colinfo;

/* What the parser needs to know about the connection. */
struct my_parse_ctx {
    bool is_client;      /* bytes flow client -> server */
    bool exact;          /* MariaDB: count column definitions */
    bool deprecate_eof;  /* exact: CLIENT_DEPRECATE_EOF negotiated */
    bool cache_metadata; /* exact: MARIADB_CLIENT_CACHE_METADATA negotiated */
    bool ext_metadata;   /* exact: MARIADB_CLIENT_EXTENDED_METADATA negotiated */
    int last_cmd;        /* command the server is answering; -1 unknown, -2 authenticating */
    const struct my_colinfo *cached; /* exact: columns of the statement executed, or NULL */
};

/* One message being parsed (a request, or a whole response). Offsets are
 * relative to the first byte of the message, which is the first byte of the
 * buffer handed to my_parse. */
struct my_msg {
    bool is_request;
    bool ignore; /* parsed only to skip it */
    bool is_ok;
    bool is_error;
    bool truncated;
    uint8_t typ; /* first payload byte of the first packet */
    uint8_t seq;
    uint32_t pkt_len; /* length of the packet being walked */
    size_t end;       /* published bytes [0, end); 0 while unknown */
    uint64_t size;    /* bytes counted as the message's size */
    uint64_t affected_rows;
    uint64_t insert_id;
    uint16_t error_code;
    size_t err_off; /* ERR packet: offset of the packet header */
    uint32_t err_len;
    int64_t num_rows;
    int64_t num_fields;
    int64_t num_params;
    uint32_t stmt_id;
    char *tables; /* owned, NUL-terminated; NULL when none */
    size_t tables_len;
    /* exact walk bookkeeping */
    uint32_t left;     /* definitions still to read in this block */
    uint32_t cols;     /* columns announced */
    bool binary;       /* rows use the binary protocol (COM_STMT_EXECUTE) */
    bool prepare;      /* a COM_STMT_PREPARE_OK */
};

struct my_stream {
    enum my_state state;
    size_t off; /* parse offset from the message start */
    struct my_msg msg;
};

enum my_result {
    MY_MORE = 0, /* need more bytes */
    MY_DONE = 1, /* s->msg is complete and spans [0, s->off) */
    MY_FAIL = 2, /* bytes that cannot be MySQL: drop the stream */
};

/* Parses from buf (len bytes; the current message starts at buf[0] and the
 * parser resumes at s->off). */
enum my_result my_parse(struct my_stream *s, const struct my_parse_ctx *ctx, const uint8_t *buf,
                        size_t len);
/* Frees what s->msg owns and resets s to START. */
void my_stream_reset(struct my_stream *s);
/* True when a gap in this state still leaves a message worth publishing
 * (Packetbeat: inside column definitions or rows). */
bool my_stream_gap_publishable(const struct my_stream *s);

/* Little-endian helpers and length-encoded integers on untrusted bytes.
 * my_lenenc: 0 ok, 1 incomplete (needs bytes past len), -1 invalid first
 * byte (0xfb, 0xff). */
int my_lenenc(const uint8_t *buf, size_t len, size_t off, uint64_t *val, size_t *next);
/* A length-encoded string at off: 0 ok (*s_off, *s_len, *next set), 1
 * incomplete, -1 invalid. */
int my_lenenc_str(const uint8_t *buf, size_t len, size_t off, size_t *s_off, size_t *s_len,
                  size_t *next);

/* Server greeting (the payload of the first server packet, protocol 10). */
struct my_greeting {
    uint32_t caps;  /* lower and upper capability words */
    uint32_t xcaps; /* MariaDB extended capabilities (0 when not MariaDB) */
    bool mariadb;
};
bool my_parse_greeting(const uint8_t *payload, size_t len, struct my_greeting *g);
/* Client handshake response (protocol 41): capabilities and MariaDB
 * extended capabilities. */
bool my_parse_handshake_response(const uint8_t *payload, size_t len, uint32_t *caps,
                                 uint32_t *xcaps);

/* A list of strings built from wire bytes (owned). */
struct my_strv {
    char **v;     /* owned strings, NUL-terminated (may hold NUL bytes: use lens) */
    size_t *lens; /* owned */
    size_t n, cap;
};
int my_strv_push(struct my_strv *sv, const void *s, size_t n);
void my_strv_free(struct my_strv *sv);

struct my_colinfo {
    struct my_strv names;
    uint8_t *types;  /* owned, n entries */
    uint16_t *flags; /* owned, n entries */
    size_t n;
    char *tables; /* owned "db.table, ..." or NULL */
    size_t tables_len;
};
void my_colinfo_free(struct my_colinfo *ci);
/* The result columns announced by a COM_STMT_PREPARE answer (raw: the
 * whole answer, exact walk). */
void my_prepare_columns(const uint8_t *raw, size_t len, const struct my_parse_ctx *ctx,
                        struct my_colinfo *out);

/* Parameter types remembered per prepared statement. */
struct my_stmt_types {
    uint8_t *types; /* owned, nparams entries; NULL until the first bound execute */
    size_t n;
};

/* Packetbeat's decoding of COM_STMT_EXECUTE parameters from the raw request
 * (header included). Returns the values in out (empty on any problem, as
 * Packetbeat returns nil); saves bound types in st. exact: also accepts
 * unsigned flags and reads doubles as 8 bytes. */
void my_execute_params(const uint8_t *raw, size_t len, int nparams, struct my_stmt_types *st,
                       bool exact, struct my_strv *out);

/* The column names and row values of a result set as Packetbeat reads them
 * for the `response` text (raw = the published response bytes). max_rows
 * and max_row_length are the options. exact uses the context (column count,
 * binary rows) of an exact walk. */
struct my_table {
    struct my_strv fields;
    struct my_strv *rows; /* owned array of rows */
    size_t nrows, caprows;
};
void my_response_table(const uint8_t *raw, size_t len, int64_t max_rows, int64_t max_row_length,
                       bool exact, const struct my_parse_ctx *ctx, struct my_table *out);
void my_table_free(struct my_table *t);

/* Go's encoding/csv output of fields (header, when any) and rows, with "\n"
 * (and "\r" in rows) replaced by the two characters backslash-n (-r) first,
 * as Packetbeat's DumpInCSVFormat does. Returns an owned buffer (*outlen
 * bytes, NUL-terminated) or NULL on ENOMEM. */
char *my_csv(const struct my_table *t, size_t *outlen);

#endif
