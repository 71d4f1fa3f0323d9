/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_int.h - types shared by the cassandra plugin
 * files (cassandra.c: streams and correlation, cassandra_event.c: the JSON
 * event).
 */
#ifndef PB_CASSANDRA_INT_H
#define PB_CASSANDRA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cassandra_parse.h"
#include "protos/proto.h"

/* The plugin's configuration (p->priv). */
struct cass_priv {
    struct cass_cfg cfg;
    bool send_request_header;
    bool send_response_header;
};

/* One parsed frame waiting for its partner. */
struct cass_msg {
    uint64_t ts_ns; /* time of the packet holding its first byte */
    size_t size;    /* wire bytes (header + body) */
    bool is_request;
    bool ignored;
    uint8_t op;
    json_t *header; /* owned */
    json_t *data;   /* owned, NULL none */
};

void cass_msg_free(struct cass_msg *m);

/* Builds the transaction event of a request (NULL for a server push) and a
 * response, both borrowed; NULL when either is ignored or on ENOMEM.
 * tuple: the connection, client -> server. */
pb_event *cass_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                        const struct cass_msg *req, const struct cass_msg *resp);

#endif
