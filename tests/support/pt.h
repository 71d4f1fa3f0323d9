/* SPDX-License-Identifier: Apache-2.0
 * tests/support/pt.h - protocol test harness: drives a protocol through the
 * same callbacks packet/ uses (data per direction, gap, FIN, expire,
 * datagrams, tick) and collects the events it emits.
 */
#ifndef PB_PT_H
#define PB_PT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/proto.h"

struct pt_conn;

/* A protocol instance configured from YAML text (the protocol's own section,
 * e.g. "ports: [80]\nsend_request: true"; NULL for defaults) and one TCP
 * connection 10.0.0.1:40000 -> 10.0.0.2:<first port or 80>. Aborts the test
 * on failure. */
struct pt_conn *pt_open(const struct pb_proto_ops *ops, const char *yaml);
/* Feeds bytes as one segment in direction d at the harness clock; the
 * harness keeps unconsumed bytes exactly as packet/tcp does. Returns the
 * last parse result. */
enum pb_parse pt_feed(struct pt_conn *t, enum pb_dir d, const void *data, size_t len);
/* Same, with a C string. */
enum pb_parse pt_feeds(struct pt_conn *t, enum pb_dir d, const char *s);
void pt_gap(struct pt_conn *t, enum pb_dir d, size_t lost);
void pt_fin(struct pt_conn *t, enum pb_dir d);
void pt_expire(struct pt_conn *t);
/* A UDP datagram (or ICMP message when the protocol is ICMP) from client to
 * server (d = PB_DIR_TO_SERVER) or back. */
void pt_datagram(struct pt_conn *t, enum pb_dir d, const void *data, size_t len);
void pt_tick(struct pt_conn *t, uint64_t now_ns);
void pt_shutdown(struct pt_conn *t);
/* Advances the packet clock (starts at 2020-01-01T00:00:00Z). */
void pt_advance(struct pt_conn *t, uint64_t ns);

/* Emitted events so far (borrowed array owned by the harness). */
json_t *pt_events(struct pt_conn *t);
size_t pt_nevents(struct pt_conn *t);
/* Field of event i at a dotted path, borrowed, NULL when absent. */
json_t *pt_field(struct pt_conn *t, size_t i, const char *path);
const char *pt_str(struct pt_conn *t, size_t i, const char *path); /* NULL if not a string */
int64_t pt_int(struct pt_conn *t, size_t i, const char *path);     /* -1 if not an integer */
/* The protocol instance and the connection (for white-box tests). */
struct pb_proto *pt_proto(struct pt_conn *t);
struct pb_conn *pt_pbconn(struct pt_conn *t);
/* Calls conn_free, fini, frees everything. */
void pt_close(struct pt_conn *t);

#endif
