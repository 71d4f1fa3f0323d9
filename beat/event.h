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

/* ---- dotted paths on jansson trees --------------------------------------
 * For code that holds a jansson object: processors working on an event's
 * tree, outputs, config-made values. */

/* Sets `val` at a dotted path ("http.request.method"), creating objects on
 * the way (replacing non-objects). Steals val; 0 or -PB_ENOMEM. */
int pb_json_put(json_t *obj, const char *path, json_t *val);
int pb_json_put_str(json_t *obj, const char *path, const char *s); /* NULL s: no-op */
/* Wire bytes as a string: invalid UTF-8 replaced by U+FFFD as Go does. */
int pb_json_put_strn(json_t *obj, const char *path, const void *s, size_t n);
int pb_json_put_int(json_t *obj, const char *path, int64_t v);
int pb_json_put_uint(json_t *obj, const char *path, uint64_t v);
int pb_json_put_bool(json_t *obj, const char *path, bool v);
int pb_json_put_real(json_t *obj, const char *path, double v);
int pb_json_put_time(json_t *obj, const char *path, uint64_t ts_ns);
/* Borrowed value at a dotted path (objects only), NULL when absent. Also
 * finds keys that literally contain dots at any level. */
json_t *pb_json_get(const json_t *obj, const char *path);
/* Removes the value at a dotted path; true when something was removed.
 * Emptied parent objects are left in place. */
bool pb_json_del(json_t *obj, const char *path);
/* Appends the string s (wire bytes, made valid UTF-8) to the list at path
 * unless it is there already or empty (Packetbeat's related.* helpers). */
int pb_json_add_unique(json_t *obj, const char *path, const void *s, size_t n);

/* ---- events ---------------------------------------------------------------
 * An event is built field by field in its own arena (beat/event_dom.h) and
 * encoded from there; it becomes a jansson tree only when something asks
 * for one (pb_ev_json). The setters and getters work on either form, with
 * the same dotted-path rules as the pb_json_ ones. */
typedef struct pb_event pb_event;
/* An object or an array inside an event (not a tree-backed one). */
typedef struct pb_node pb_node;

pb_event *pb_ev_new(void); /* NULL on allocation failure */
/* n bytes of ev's arena (max_align_t aligned), freed with ev; NULL on
 * failure (which marks ev failed). */
void *pb_ev_alloc(pb_event *ev, size_t n);

/* Pending fields: root members an event carries, before they are
 * members, as a state of their producer's (st, in ev's arena). The
 * compact encoder writes them straight from st; they are built into
 * members at the head of the root (build) the first time anything looks
 * for one of their root keys or walks the root, or needs another form.
 * Until then every member of the root comes after them, and they must
 * not be empty. */
struct pb_pending_ops {
    const char *const *keys; /* the root keys they may make */
    size_t nkeys;
    /* whether they make key (one of keys) with this st; NULL: all of keys */
    bool (*has_key)(const void *st, const char *key, size_t klen);
    /* the most bytes put_ts and put_rest write together */
    size_t (*max)(const void *st);
    /* "@timestamp":"..." at o; the end */
    char *(*put_ts)(const void *st, char *o);
    /* the other members, each after a comma, as the compact encoder
       writes what build makes; the end */
    char *(*put_rest)(const void *st, char *o);
    /* the members (@timestamp first), appended to the root */
    void (*build)(pb_event *ev, const void *st);
    _Atomic uint64_t *bits; /* a static of the producer's, 0 at first */
};
/* Sets ev's pending fields (ev new: no member yet). */
void pb_ev_set_pending(pb_event *ev, const struct pb_pending_ops *ops, const void *st);
/* An event holding root (steals it; NULL root: NULL). */
pb_event *pb_ev_wrap(json_t *root);
void pb_ev_free(pb_event *ev); /* NULL: no-op */
/* The event as a jansson tree (borrowed; built once, the event keeps it);
 * NULL on allocation failure. */
json_t *pb_ev_json(pb_event *ev);
/* The tree (owned by the caller); ev is freed. NULL on allocation failure. */
json_t *pb_ev_take(pb_event *ev);
bool pb_ev_is_tree(const pb_event *ev);
/* ev's memory leaves the calling thread's allocation count
 * (pb_alloc_disown): it is handed to another thread that frees it. */
void pb_ev_disown(pb_event *ev);
/* Undoes pb_ev_disown: ev's memory is in the calling thread's count again
 * (before it frees an event it had disowned). */
void pb_ev_own(pb_event *ev);
/* For code that hands pb_ev_json's tree on (to a function that takes the
 * reference and returns the tree, maybe another, or NULL after freeing
 * it): ev holds tree from now on; NULL tree frees ev and returns NULL. */
pb_event *pb_ev_rewrap(pb_event *ev, json_t *tree);

int pb_ev_put(pb_event *ev, const char *path, json_t *val);       /* steals val */
int pb_ev_put_str(pb_event *ev, const char *path, const char *s); /* NULL s: no-op */
int pb_ev_put_strn(pb_event *ev, const char *path, const void *s, size_t n);
int pb_ev_put_int(pb_event *ev, const char *path, int64_t v);
int pb_ev_put_uint(pb_event *ev, const char *path, uint64_t v);
int pb_ev_put_bool(pb_event *ev, const char *path, bool v);
int pb_ev_put_null(pb_event *ev, const char *path);
int pb_ev_put_time(pb_event *ev, const char *path, uint64_t ts_ns);
/* The object (array) at path, created (replacing a non-object, a
 * non-array) when missing; NULL on allocation failure or when ev is a
 * tree already. */
pb_node *pb_ev_obj(pb_event *ev, const char *path);
pb_node *pb_ev_arr(pb_event *ev, const char *path);
bool pb_ev_has(pb_event *ev, const char *path);
/* Members of the object at path; -1 when absent or not an object. */
long pb_ev_obj_size(pb_event *ev, const char *path);
/* The string at path (NUL-terminated; *len its length when len is not
 * NULL), NULL when absent or not a string. Valid until ev changes. */
const char *pb_ev_get_str(pb_event *ev, const char *path, size_t *len);
/* The integer at path; false when absent or not an integer. */
bool pb_ev_get_int(pb_event *ev, const char *path, int64_t *v);
/* The value at path as a new jansson value (the caller's reference), NULL
 * when absent. */
json_t *pb_ev_get_json(pb_event *ev, const char *path);
/* pb_ev_get_json(ev, "@timestamp"), read from a transaction's pending
 * fields (pb_ev_set_pending) as the encoder writes it, without building
 * the others into members (which a lookup of one of them does). */
json_t *pb_ev_get_timestamp(pb_event *ev);
/* The frozen value (pb_ev_freeze) that the root member key of an arena
 * event holds by reference; NULL when that member holds anything else or
 * is absent, or ev is a tree. Looks at members only: builds no pending
 * field. */
const json_t *pb_ev_frozen_member(pb_event *ev, const char *key, size_t klen);
bool pb_ev_del(pb_event *ev, const char *path);

/* A dotted path split once, for the lookups made on every event (the
 * fields of processors and conditions, the pipeline's own): the same rules
 * and results as the string forms, without a scan of the path each time.
 * s is borrowed and must outlive the path. */
enum { PB_PATH_DOTS = 15 };
struct pb_path {
    const char *s;
    uint32_t len;
    uint8_t ndots;              /* PB_PATH_LONG: too long to split, looked up as a string */
    uint16_t dot[PB_PATH_DOTS]; /* offsets of the dots in s */
    uint64_t bit0;              /* pb_key_bit of its first key: a clear bit in a
                                   node without dotted keys means absent */
};
#define PB_PATH_LONG 0xff
void pb_path_init(struct pb_path *p, const char *s);
bool pb_ev_has_p(pb_event *ev, const struct pb_path *p);
long pb_ev_obj_size_p(pb_event *ev, const struct pb_path *p);
const char *pb_ev_get_str_p(pb_event *ev, const struct pb_path *p, size_t *len);
json_t *pb_ev_get_json_p(pb_event *ev, const struct pb_path *p);

/* pb_ip_parse(s), quicker when s is the source.ip or destination.ip
 * string pb_tx_event wrote to ev and nothing has replaced since. */
bool pb_ev_parse_ip(pb_event *ev, const char *s, struct pb_ip *ip);
/* pb_json_add_unique on an event (either form). */
int pb_ev_add_unique(pb_event *ev, const char *path, const void *s, size_t n);
int pb_ev_add_related_ip(pb_event *ev, const char *ip);
/* pb_ev_add_unique(ev, "related.hosts", s, n), without building the
 * fields of a pb_tx_event's event. */
int pb_ev_add_related_host(pb_event *ev, const void *s, size_t n);
/* The same for ips[0..n) (NULL and "" skipped), with one lookup of the
 * list. */
int pb_ev_add_related_ips(pb_event *ev, const char *const *ips, size_t n);

/* Node setters. key is a plain key (no path); on an array it is ignored
 * (pass NULL) and the value is appended. An object keeps the first place
 * of a key that is set again. 0 or -PB_ENOMEM. */
pb_node *pb_node_obj(pb_node *n, const char *key); /* get or create (array: append) */
pb_node *pb_node_arr(pb_node *n, const char *key);
int pb_node_set(pb_node *n, const char *key, json_t *val);       /* steals val */
/* A frozen value (pb_ev_freeze) by reference, without touching its
 * reference count: it must outlive the event (the client's templates, a
 * processor's shared value). A change through the event copies it first. */
int pb_node_set_frozen(pb_node *n, const char *key, const json_t *val);
int pb_node_set_str(pb_node *n, const char *key, const char *s); /* NULL s: no-op */
int pb_node_set_strn(pb_node *n, const char *key, const void *s, size_t len);
int pb_node_set_int(pb_node *n, const char *key, int64_t v);
int pb_node_set_uint(pb_node *n, const char *key, uint64_t v);
int pb_node_set_bool(pb_node *n, const char *key, bool v);
int pb_node_set_real(pb_node *n, const char *key, double v);
int pb_node_set_null(pb_node *n, const char *key);

/* The builders' fast path: KEY is a string literal (PB_KEY("kind")) that
 * the object does not have yet, in plain ASCII and without a dot (a
 * dotted key goes through the checked setters): it is neither checked nor
 * copied nor looked for (debug builds assert all of this). On an array
 * the value is appended, as with the setters. */
#define PB_KEY(lit) ("" lit ""), (sizeof("" lit "") - 1)
int pb_node_add_str(pb_node *n, const char *key, size_t klen, const char *s); /* NULL: no-op */
int pb_node_add_strn(pb_node *n, const char *key, size_t klen, const void *s, size_t len);
int pb_node_add_int(pb_node *n, const char *key, size_t klen, int64_t v);
int pb_node_add_uint(pb_node *n, const char *key, size_t klen, uint64_t v);
int pb_node_add_bool(pb_node *n, const char *key, size_t klen, bool v);
/* Strings known to need no escaping (names from our own tables, our
 * timestamps, addresses, ids): not checked (debug builds assert it).
 * _static keeps s by reference: it must outlive the event (a literal, a
 * constant table, a string in the event's own arena); _plain copies it. */
int pb_node_add_static(pb_node *n, const char *key, size_t klen, const char *s);
int pb_node_add_plain(pb_node *n, const char *key, size_t klen, const char *s);
/* The text of ts_ns (pb_time_fmt, at the global precision) in ev's arena,
 * made once for every member of that instant (pb_node_add_static):
 * @timestamp and event.start. NULL on allocation failure. */
const char *pb_ev_time(pb_event *ev, uint64_t ts_ns);
pb_node *pb_node_add_obj(pb_node *n, const char *key, size_t klen);
pb_node *pb_node_add_arr(pb_node *n, const char *key, size_t klen);
/* The network endpoint object {"ip":ip,"port":port,"bytes":bytes} at a
 * new literal key (port left out when 0, bytes when <= 0), made at once
 * with its encoding: most events carry four of them, unchanged. */
pb_node *pb_node_add_endpoint(pb_node *n, const char *key, size_t klen, const char *ip,
                              uint16_t port, int64_t bytes);
/* An array of the strings v[0..n) at a new literal key, made at once with
 * its encoding. */
pb_node *pb_node_add_strs(pb_node *n, const char *key, size_t klen, const char *const *v,
                          size_t count);
/* The same for constant strings (static storage, plain), kept by
 * reference, with their encoding given: enc is the compact JSON array of
 * v (debug builds check it), e.g. "[\"connection\",\"protocol\"]". */
pb_node *pb_node_add_static_strs(pb_node *n, const char *key, size_t klen, const char *const *v,
                                 size_t count, const char *enc);
/* A copy of src, an object or array of scalars only (such as an endpoint),
 * at a new literal key of n, in the same event; NULL when src holds a
 * container or a jansson value. */
pb_node *pb_node_add_copy(pb_node *n, const char *key, size_t klen, const pb_node *src);
/* As pb_node_obj, pb_node_set_str and pb_node_set_frozen with a PB_KEY
 * literal that the object may hold already: looked for, and when added
 * kept by reference (neither checked nor copied). */
pb_node *pb_node_obj_k(pb_node *n, const char *key, size_t klen);
int pb_node_set_str_k(pb_node *n, const char *key, size_t klen, const char *s);
int pb_node_set_frozen_k(pb_node *n, const char *key, size_t klen, const json_t *val);
/* An object at a literal key n (not an array) does not have, given as its
 * compact JSON text as the codec writes it (json: len bytes, copied): the
 * compact encoder copies it, anything else that looks at it (a lookup, the
 * tree, pretty output) first makes it members. For a writer that knows the
 * codec's output exactly (beat/secw.h). */
int pb_node_add_raw(pb_node *n, const char *key, size_t klen, const char *json, size_t len);
/* pb_node_set_frozen_k at a literal key the object does not have. */
int pb_node_add_frozen(pb_node *n, const char *key, size_t klen, const json_t *val);
/* Whether object n has the literal key (a PB_KEY: no path). */
bool pb_node_has_k(pb_node *n, const char *key, size_t klen);
/* pb_node_set_str_k with a string that outlives the event (a literal, a
 * static buffer): held by reference when it needs no escaping. */
int pb_node_set_static_k(pb_node *n, const char *key, size_t klen, const char *s);
/* A copy of v (jansson) at key, in the event's arena. */
int pb_node_set_copy(pb_node *n, const char *key, const json_t *v);
/* A tree-backed event (pb_ev_wrap, pb_ev_json) back in an arena, for code
 * that works on nodes; 0 or -PB_ENOMEM (ev unchanged). */
int pb_ev_to_arena(pb_event *ev);

/* A json string from wire bytes (length-bounded, invalid UTF-8 -> U+FFFD). */
json_t *pb_json_strn(const void *s, size_t n);

/* RFC 3339 UTC: "2006-01-02T15:04:05.000Z" (millis) or with 9 digits when
 * nanos; returns buf. */
const char *pb_time_fmt(uint64_t ts_ns, bool nanos, char buf[40]);
/* The same, returning the text's length. */
size_t pb_time_fmt_n(uint64_t ts_ns, bool nanos, char buf[40]);
/* The same text between quotes at o (which has room for 42 bytes); the
 * end. */
char *pb_time_put(char *o, uint64_t ts_ns);
/* The global timestamp.precision ("millisecond" default, "microsecond",
 * "nanosecond"): digits used by pb_ev_put_time and @timestamp. */
void pb_time_set_precision(int digits);

/* The common part of a transaction event, filled as Packetbeat's
 * pb.Fields.ComputeValues and MarshalMapStr do. */
struct pb_tx {
    const char *type;             /* "http" (static): type, event.dataset, network.protocol */
    const struct pb_tuple *tuple; /* client (src) -> server (dst) */
    uint64_t start_ns;            /* request time: @timestamp, event.start */
    uint64_t end_ns;              /* response time: event.end; 0 none */
    const char *status;           /* "OK", "Error" (static); NULL none */
    int64_t src_bytes;            /* request bytes: source/client.bytes; <0 none */
    int64_t dst_bytes;            /* response bytes: destination/server.bytes; <0 none */
    const char *error;            /* error.message; NULL none */
    bool no_client_server;        /* true: no client.* / server.* (flows) */
};

/* A new event with @timestamp, type, status, event.*, source/destination,
 * client/server, network.{type,transport,protocol,bytes,community_id},
 * related.ip. NULL on allocation failure. The protocol adds its own fields
 * (method, path, query, resource, http.*, ...). */
pb_event *pb_tx_event(const struct pb_tx *tx);
/* event.action (wire bytes; NULL none) and then event.outcome (static,
 * plain; NULL none) at the end of a pb_tx_event's event object, without
 * building its fields. 0 or -PB_ENOMEM. */
int pb_tx_add_action(pb_event *ev, const void *action, size_t len, const char *outcome);
/* The same for an action that outlives the event (a literal, a constant
 * table), plain and NUL-terminated at len (debug builds check it): kept
 * by reference, neither checked nor copied. */
int pb_tx_add_static_action(pb_event *ev, const char *action, size_t len, const char *outcome);
/* destination.domain and server.domain set to name (any bytes, copied;
 * NULL: none), as pb_ev_put_str sets each, without building the fields of
 * a pb_tx_event's event. 0 or -PB_ENOMEM. */
int pb_tx_add_domain(pb_event *ev, const char *name);
/* For network.direction: the tuple of a pb_tx_event's event whose fields
 * are not built yet and lack a direction (pb_tx_set_direction sets it
 * there without building them), else NULL: ask the event's fields. */
const struct pb_tuple *pb_tx_direction_tuple(pb_event *ev);
void pb_tx_set_direction(pb_event *ev, const char *dir);

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
/* v's cached encoding (*len bytes; *inexact as enc set it) when v is
   frozen and was encoded already, else NULL: valid while v stays frozen. */
const char *pb_ev_frozen_enc(const json_t *v, size_t *len, bool *inexact);
/* Cheap test before pb_ev_frozen_put: is anything frozen at all? */
bool pb_ev_any_frozen(void);
/* A number that changes whenever a value is frozen or thawed: what an
   encoder derived from frozen values' encodings (and their addresses)
   stays valid while it is the same. */
unsigned pb_ev_frozen_epoch(void);

#endif
