/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_int.h - declarations shared by the mongodb plugin
 * files (mongodb.c: streams and correlation, mongodb_event.c: the event).
 */
#ifndef PB_MONGODB_INT_H
#define PB_MONGODB_INT_H

#include "mongodb_parse.h"
#include "protos/proto.h"

struct mongo_priv {
    struct mongo_cfg cfg;
    int64_t max_doc_length; /* max_doc_length, <=0: no limit */
    int32_t *reported;      /* owned, sorted: opcodes already logged as unknown */
    size_t nreported, capreported;
};

/* The transaction event (request required, reply optional; borrowed).
 * tuple: the connection, client -> server. NULL on ENOMEM. */
pb_event *mongo_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                         const struct mongo_msg *req, const struct mongo_msg *resp);

#endif
