/* SPDX-License-Identifier: Apache-2.0
 * protos/protos.h - the registry: every compiled-in protocol, and the set of
 * configured instances with their port maps. packet/ looks protocols up here.
 */
#ifndef PB_PROTOS_H
#define PB_PROTOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/proto.h"

/* Compiled-in protocols, NULL-terminated. */
extern const struct pb_proto_ops *const pb_proto_registry[];
const struct pb_proto_ops *pb_proto_find(const char *name);

struct pb_protos {
    struct pb_proto *list; /* owned: configured, enabled instances */
    size_t n;
    uint8_t tcp_port[65536]; /* port -> index + 1 into list, 0: none */
    uint8_t udp_port[65536];
    /* a bit per port whose map entry is not 0, read first: 8 KB that stay
       in the L1 cache, where a client's ephemeral port is a cold line of
       the 64 KB map */
    uint64_t tcp_used[65536 / 64];
    uint64_t udp_used[65536 / 64];
    struct pb_proto *icmp; /* borrowed from list, NULL when disabled */
};

/* Maps port of transport (PB_TCP or PB_UDP) to list[idx1 - 1]; idx1 0
 * unmaps it. */
void pb_protos_set_port(struct pb_protos *ps, unsigned transport, uint16_t port, uint8_t idx1);

/* Reads packetbeat.protocols (list form with `type:`, or the map form),
 * initialises each enabled protocol and builds the port maps. Two protocols
 * on one port of the same transport is an error. 0 or -PB_E* with a message
 * in err. */
int pb_protos_setup(struct pb_protos *ps, const struct pb_cfg *root, pb_emit_fn emit, void *ctx,
                    char *err, size_t errlen);
/* The protocol for a TCP/UDP packet (transport PB_TCP or PB_UDP), or NULL.
 * *server_is_dst tells which side listens on the protocol's port. */
struct pb_proto *pb_protos_lookup(const struct pb_protos *ps, unsigned transport,
                                  uint16_t sport, uint16_t dport, bool *server_is_dst);
void pb_protos_tick(struct pb_protos *ps, uint64_t now_ns);
void pb_protos_shutdown(struct pb_protos *ps);
void pb_protos_free(struct pb_protos *ps);

/* Parses the options every protocol shares (ports, send_request,
 * send_response, transaction_timeout, keep_null) into p. Used by setup and
 * the protocol test harness. */
int pb_proto_common_config(struct pb_proto *p, const struct pb_cfg *cfg);

#endif
