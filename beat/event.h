/* SPDX-License-Identifier: Apache-2.0
 * beat/event.h - the event type (a jansson object) and the helpers every
 * protocol uses: dotted-path setters and the common transaction fields that
 * Packetbeat 8.x puts on each event (ECS source/destination/client/server,
 * network.*, event.*, related.ip, community_id).
 *
 * Ownership: setters take the reference of the json_t they are given (the
 * jansson `_new` convention); pb_emit() takes the event.
 */
#ifndef PB_EVENT_H
#define PB_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/net.h"

typedef json_t pb_event;

/* Sets `val` at a dotted path ("http.request.method"), creating objects on
 * the way (replacing non-objects). Steals val; 0 or -PB_ENOMEM. */
int pb_ev_put(json_t *ev, const char *path, json_t *val);
int pb_ev_put_str(json_t *ev, const char *path, const char *s); /* NULL s: no-op */
/* Wire bytes as a string: invalid UTF-8 replaced by U+FFFD as Go does. */
int pb_ev_put_strn(json_t *ev, const char *path, const void *s, size_t n);
int pb_ev_put_int(json_t *ev, const char *path, int64_t v);
int pb_ev_put_uint(json_t *ev, const char *path, uint64_t v);
int pb_ev_put_bool(json_t *ev, const char *path, bool v);
int pb_ev_put_real(json_t *ev, const char *path, double v);
/* Borrowed value at a dotted path (objects only), NULL when absent. Also
 * finds keys that literally contain dots at any level. */
json_t *pb_ev_get(const json_t *ev, const char *path);
/* Removes the value at a dotted path; true when something was removed.
 * Emptied parent objects are left in place. */
bool pb_ev_del(json_t *ev, const char *path);

/* A json string from wire bytes (length-bounded, invalid UTF-8 -> U+FFFD). */
json_t *pb_json_strn(const void *s, size_t n);

/* RFC 3339 UTC: "2006-01-02T15:04:05.000Z" (millis) or with 9 digits when
 * nanos; returns buf. */
const char *pb_time_fmt(uint64_t ts_ns, bool nanos, char buf[40]);
/* The global timestamp.precision ("millisecond" default, "microsecond",
 * "nanosecond"): digits used by pb_ev_put_time and @timestamp. */
void pb_time_set_precision(int digits);
int pb_ev_put_time(json_t *ev, const char *path, uint64_t ts_ns);

/* The common part of a transaction event, filled as Packetbeat's
 * pb.Fields.ComputeValues and MarshalMapStr do. */
struct pb_tx {
    const char *type;             /* "http": type, event.dataset, network.protocol */
    const struct pb_tuple *tuple; /* client (src) -> server (dst) */
    uint64_t start_ns;            /* request time: @timestamp, event.start */
    uint64_t end_ns;              /* response time: event.end; 0 none */
    const char *status;           /* "OK", "Error", ...; NULL none */
    int64_t src_bytes;            /* request bytes: source/client.bytes; <0 none */
    int64_t dst_bytes;            /* response bytes: destination/server.bytes; <0 none */
    const char *error;            /* error.message; NULL none */
    bool no_client_server;        /* true: no client.* / server.* (flows) */
};

/* A new event with @timestamp, type, status, event.*, source/destination,
 * client/server, network.{type,transport,protocol,bytes,community_id},
 * related.ip. NULL on allocation failure. The protocol adds its own fields
 * (method, path, query, resource, http.*, ...). */
json_t *pb_tx_event(const struct pb_tx *tx);

/* The tunnel a packet arrived in (packetbeat.interfaces.decapsulation):
 * recorded on the transaction events built while that packet is handled,
 * as network.tunnel.type, .id, .source.ip and .destination.ip (the outer
 * addresses). Not ECS: ECS has no tunnel fields. */
enum pb_tunnel_kind {
    PB_TUNNEL_NONE = 0,
    PB_TUNNEL_VXLAN,
    PB_TUNNEL_GENEVE,
    PB_TUNNEL_GRE,
    PB_TUNNEL_ERSPAN,
    PB_TUNNEL_IPIP,
};
struct pb_tunnel {
    uint8_t kind; /* enum pb_tunnel_kind; NONE: no tunnel */
    bool has_id;  /* VNI, GRE key or ERSPAN session id present */
    uint32_t id;
    struct pb_ip src, dst; /* outer IP addresses */
};

/* "vxlan", "geneve", "gre", "erspan", "ipip"; NULL for NONE. */
const char *pb_tunnel_name(unsigned kind);
/* Sets the tunnel of the packet being handled on this thread (copied; NULL
 * or kind NONE: none). pb_tx_event adds it to the events it builds. */
void pb_ev_set_tunnel(const struct pb_tunnel *t);
/* The current tunnel of this thread, NULL when none (borrowed). */
const struct pb_tunnel *pb_ev_tunnel(void);
/* Remembers the tunnel of the latest packet of a 5-tuple (either
 * direction), for events built later (timeouts) with that tuple; t NULL
 * forgets it. At most PB_MAX_TUNNEL_TUPLES tuples, a newer one taking an
 * older one's slot; nothing is allocated until the first tunnel. The
 * table is per thread (the capture loop, or each packet worker: all the
 * packets of a tuple go to one worker). pb_tx_event looks the tuple up first and
 * falls back to the current tunnel. */
void pb_ev_note_tunnel(const struct pb_tuple *tu, const struct pb_tunnel *t);
/* The tunnel remembered for tu (either direction), NULL when none. */
const struct pb_tunnel *pb_ev_tunnel_of(const struct pb_tuple *tu);
/* Frees the calling thread's table. */
void pb_ev_tunnels_free(void);

/* Appends ip (text) to related.ip unless already there. */
int pb_ev_add_related_ip(json_t *ev, const char *ip);

/* Frozen values: objects that many events hold by reference and that
 * nothing changes any more (the client's agent and @metadata templates,
 * add_host_metadata's host), so that an encoder may write them from a
 * cached encoding instead of walking them for every event. At most
 * PB_MAX_FROZEN at once (more are simply not frozen). Freeze when the
 * value is complete; thaw before freeing it. Thread-safe. */
void pb_ev_freeze(const json_t *v);
void pb_ev_thaw(const json_t *v);
/* For encoders. enc writes v's encoding as a new pb_malloc'd buffer (*out,
 * *len) and *inexact, or fails (<0); put appends bytes to the encoder's
 * output (ctx). Returns 1 when v is frozen and its cached encoding (made
 * by enc the first time) was passed to put, 0 when v is not frozen, <0 on
 * failure. enc and put must not call back into these functions. */
typedef int (*pb_frozen_enc_fn)(const json_t *v, char **out, size_t *len, bool *inexact);
typedef void (*pb_frozen_put_fn)(void *ctx, const char *p, size_t n);
int pb_ev_frozen_put(const json_t *v, pb_frozen_enc_fn enc, pb_frozen_put_fn put, void *ctx,
                     bool *inexact);
/* Cheap test before pb_ev_frozen_put: is anything frozen at all? */
bool pb_ev_any_frozen(void);

#endif
