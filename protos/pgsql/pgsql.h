/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql.h - shared between the PostgreSQL callbacks (pgsql.c)
 * and the event builder (pgsql_event.c).
 */
#ifndef PB_PGSQL_H
#define PB_PGSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgsql_parse.h"
#include "protos/proto.h"

/* One query of a request waiting for its response. */
struct pg_trans {
    uint64_t ts_ns;
    uint64_t end_ns;
    char *query; /* in text */
    size_t query_len;
    char *method; /* in text */
    size_t method_len;
    uint64_t bytes_in, bytes_out;
    struct pg_strv notes;
    char text[]; /* query and method, each NUL-terminated */
};

/* Builds and emits the event of a transaction answered by response m
 * (response text: csv, may be NULL). */
void pg_publish(struct pb_proto *p, const struct pb_conn *c, const struct pg_trans *t,
                const struct pg_msg *m, const char *csv, size_t csv_len);

#endif
