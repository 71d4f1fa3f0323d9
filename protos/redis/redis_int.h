/* SPDX-License-Identifier: Apache-2.0
 * protos/redis/redis_int.h - types shared by the redis plugin files
 * (redis.c: streams and correlation, redis_event.c: the JSON event).
 */
#ifndef PB_REDIS_INT_H
#define PB_REDIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/proto.h"
#include "redis_parse.h"

/* One parsed message waiting for its partner, in one allocation. */
struct redis_msg {
    struct redis_msg *next;
    uint64_t ts_ns;       /* time of the packet holding its first byte */
    enum pb_dir dir;      /* direction it travelled */
    size_t size;          /* wire bytes */
    size_t cap;           /* bytes of text */
    struct redis_built b; /* strings in text */
    char text[];          /* cap bytes, at least b.text_len + 1 */
};

/* Builds the transaction event of a request and its response (both
 * borrowed). tuple: the connection, client -> server. NULL on ENOMEM. */
pb_event *redis_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                         const struct redis_msg *req, const struct redis_msg *resp);

#endif
