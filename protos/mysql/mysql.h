/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql.h - shared between the MySQL callbacks (mysql.c) and
 * the event builder (mysql_event.c).
 */
#ifndef PB_MYSQL_H
#define PB_MYSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mysql_parse.h"
#include "protos/proto.h"

/* Options (packetbeat.protocols type: mysql). */
struct my_cfg {
    int64_t max_rows;       /* max_rows, default 10 */
    int64_t max_row_length; /* max_row_length, default 1024 */
    int64_t stmt_timeout_ns; /* statement_timeout, default 3600 s */
};

#define MY_MAX_NOTES 16u

/* The one transaction Packetbeat keeps per connection. */
struct my_trans {
    bool present;   /* in Packetbeat's transaction cache */
    bool has_mysql; /* a request was seen (trans.mysql != nil) */
    uint64_t wall_ns; /* last access (wall clock), for transaction_timeout */
    uint64_t ts_ns;   /* request time */
    uint64_t end_ns;  /* response time */
    char *query;       /* owned */
    size_t query_len;
    /* the method: in method_short when it fits (the usual case: no
     * allocation), else in method (owned); see my_trans_method */
    char *method;
    size_t method_len;
    char method_short[16];
    char *request_raw; /* owned */
    size_t request_raw_len;
    uint64_t bytes_in, bytes_out;
    struct my_strv notes;
    struct my_strv params;
    uint32_t stmt_id;
};

/* The method of t (NUL-terminated, "" when none). */
static inline const char *my_trans_method(const struct my_trans *t)
{
    return t->method != NULL ? t->method : t->method_short;
}

/* What a finished transaction carries into the event. */
struct my_result_fields {
    uint64_t affected_rows, insert_id;
    int64_t num_rows, num_fields;
    bool is_error;
    uint16_t error_code;
    const uint8_t *error_msg; /* borrowed */
    size_t error_msg_len;
    const char *path; /* borrowed, may hold NUL bytes */
    size_t path_len;
    const char *response; /* borrowed; NULL: no response text */
    size_t response_len;
};

/* Builds and emits the event of a finished transaction. */
void my_publish(struct pb_proto *p, const struct pb_conn *c, const struct my_trans *t,
                const struct my_result_fields *r);

#endif
