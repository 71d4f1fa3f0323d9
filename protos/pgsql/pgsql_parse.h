/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql_parse.h - PostgreSQL frontend/backend protocol (v3)
 * parser; pure: no I/O, no globals, no events.
 *
 * It groups wire messages the way Packetbeat's pgsql module does
 * (packetbeat/protos/pgsql/parse.go): a request is a simple Query, or
 * Parse .. Sync of the extended protocol; a response runs from
 * RowDescription (or ParseComplete) to CommandComplete, or is one
 * CommandComplete / EmptyQueryResponse / ErrorResponse. Other messages are
 * skipped. Where Packetbeat drops the whole stream on valid traffic (NULL
 * values, NoData, an error inside an extended query answer, named
 * statements, Bind without Parse) this parser reads on instead.
 *
 * Spec: https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
#ifndef PB_PGSQL_PARSE_H
#define PB_PGSQL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pg_state {
    PG_ST_START = 0,
    PG_ST_GETDATA, /* inside a response: rows up to CommandComplete */
    PG_ST_EXTQ,    /* inside an extended query request: up to Sync */
};

/* Strings from wire bytes (owned, NUL-terminated, may hold NUL bytes). */
struct pg_strv {
    char **v;
    size_t *lens;
    size_t n, cap;
    /* packed: v, lens and the texts share one block (v); text[0..left) is
     * still free. Filled by the parser, never by pg_strv_push. */
    bool packed;
    char *text;
    size_t left;
};
int pg_strv_push(struct pg_strv *sv, const void *s, size_t n);
void pg_strv_free(struct pg_strv *sv);

/* Looks up the query text of a prepared statement by name (Bind without
 * Parse); NULL when unknown. */
typedef const char *(*pg_stmt_lookup_fn)(void *ud, const uint8_t *name, size_t len, size_t *qlen);

struct pg_parse_ctx {
    bool is_client;
    bool expect_ssl_response; /* the peer sent SSLRequest / GSSENCRequest */
    int64_t max_rows;
    int64_t max_row_length;
    /* field names and row values are kept (send_response: the response
     * text shows them); else rows are only checked and counted */
    bool keep_text;
    pg_stmt_lookup_fn lookup;
    void *lookup_ud;
};

struct pg_msg {
    size_t start; /* offset of the first counted byte */
    size_t end;
    uint64_t size;
    bool is_request;
    bool is_ok;
    bool is_error;
    bool to_export;
    bool is_ssl_request; /* SSLRequest / GSSENCRequest */
    bool is_ssl_response;
    bool ssl_accepted; /* 'S' / 'G': encryption follows */
    /* NULL when none; owned, NUL-terminated, or (query_borrowed: a
     * message complete in the buffer parsed) the bytes in that buffer */
    const char *query;
    size_t query_len;
    bool query_borrowed;
    /* Parse: while the message is parsed, its statement name and query
     * (query_len, stmt_name_len) are left in the buffer, in the Parse at
     * start; pg_parse points at them when the message completes, or copies
     * them when it returns waiting for more bytes (the buffer goes with the
     * call) */
    bool parse_in_buf;
    /* a named statement prepared by this request (Parse with a name);
     * owned, or borrowed with the query */
    const char *stmt_name;
    size_t stmt_name_len;
    bool more_follows; /* request ended at a new Parse, not at Sync */
    /* response (fields, formats and rows: keep_text only) */
    struct pg_strv fields;
    uint8_t *formats; /* owned, fields.n entries */
    size_t nformats;
    struct pg_strv *rows;  /* owned, nrows entries (NULL without keep_text) */
    size_t nrows, caprows; /* nrows: rows within max_rows, kept or not */
    int64_t num_rows;
    int64_t num_fields;
    char *err_code, *err_msg, *err_sev; /* owned, NULL when absent */
    size_t err_code_len, err_msg_len, err_sev_len;
};

struct pg_stream {
    enum pg_state state;
    size_t off; /* parse offset from the message start */
    struct pg_msg msg;
};

enum pg_result {
    PG_MORE = 0,
    PG_DONE = 1, /* s->msg complete; it spans [0, s->off) of the buffer */
    PG_FAIL = 2, /* not PostgreSQL: drop the stream */
};

enum pg_result pg_parse(struct pg_stream *s, const struct pg_parse_ctx *ctx, const uint8_t *buf,
                        size_t len);
/* Frees what s->msg owns and resets s to START. */
void pg_stream_reset(struct pg_stream *s);
/* Packetbeat's messageHasEnoughData: a request with a query, or a
 * response with rows. */
bool pg_msg_has_enough_data(const struct pg_stream *s);

/* Packetbeat's pgsqlQueryParser: split at ';', trim white space, drop
 * empty parts. Slices into q. Returns the count (at most max). */
size_t pg_split_queries(const char *q, size_t n, const char **parts, size_t *lens, size_t max);
/* Packetbeat's getQueryMethod: the text before the first space,
 * upper-cased (ASCII), into out (owned, NUL-terminated). */
char *pg_query_method(const char *q, size_t n, size_t *outlen);
/* The same into out (n + 1 bytes at least); returns the length. */
size_t pg_query_method_into(const char *q, size_t n, char *out);

/* Go's encoding/csv output of header + rows, with "\n" (and "\r" in rows)
 * spelled as backslash sequences first (Packetbeat's DumpInCSVFormat).
 * Owned, NULL on ENOMEM. */
char *pg_csv(const struct pg_strv *fields, const struct pg_strv *rows, size_t nrows,
             size_t *outlen);

#endif
