/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_int.h - declarations shared by the memcache
 * plugin files (memcache.c: TCP/UDP handling and correlation,
 * memcache_event.c: the JSON event).
 */
#ifndef PB_MEMCACHE_INT_H
#define PB_MEMCACHE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "beat/event.h"
#include "memcache_parse.h"
#include "protos/proto.h"

/* The transaction event of a request and/or a response (borrowed; one may
 * be NULL); the messages' tuples give the endpoints and the transport.
 * NULL on ENOMEM or when both are NULL. */
pb_event *mc_tx_event(const struct mc_msg *req, const struct mc_msg *resp);

/* The memcache section (memcache.request, .response, .protocol_type) at
 * root, a pb_tx_event's event object: as its text, written straight by
 * mc_section_fast when it can, else through the section writer (its text,
 * or members when a string needs escaping); fast false: always through
 * the section writer (the tests compare the two). 0 or -PB_ENOMEM. */
int mc_add_section(pb_node *root, const struct mc_msg *req, const struct mc_msg *resp, bool fast);

/* The section's compact JSON text for a transaction of text messages
 * whose members are names, numbers and plain strings, in buf (at least
 * MC_FAST_LISTS + MC_FAST_FIXED bytes): its length, or 0 when the section
 * writer has to write it (binary messages, unknown commands, stats,
 * automove, a string that needs escaping, an integer above INT64_MAX,
 * lists and strings past MC_FAST_LISTS bytes). */
enum { MC_FAST_LISTS = 4096, MC_FAST_FIXED = 1024 };
size_t mc_section_fast(char *buf, const struct mc_msg *req, const struct mc_msg *resp);

/* Packetbeat's transaction status for a request/response pair. */
const char *mc_tx_status(const struct mc_msg *req, const struct mc_msg *resp);

#endif
