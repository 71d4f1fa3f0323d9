/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_int.h - declarations shared by the memcache
 * plugin files (memcache.c: TCP/UDP handling and correlation,
 * memcache_event.c: the JSON event).
 */
#ifndef PB_MEMCACHE_INT_H
#define PB_MEMCACHE_INT_H

#include "memcache_parse.h"
#include "protos/proto.h"

/* The transaction event of a request and/or a response (borrowed; one may
 * be NULL); the messages' tuples give the endpoints and the transport.
 * NULL on ENOMEM or when both are NULL. */
pb_event *mc_tx_event(const struct mc_msg *req, const struct mc_msg *resp);

/* Packetbeat's transaction status for a request/response pair. */
const char *mc_tx_status(const struct mc_msg *req, const struct mc_msg *resp);

#endif
