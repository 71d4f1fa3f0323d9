/* SPDX-License-Identifier: Apache-2.0
 * beat/event_dom.h - the inside of a pb_event, for the encoder
 * (publisher/codec.c) and beat/event_dom.c only.
 *
 * An event is a small tree in one arena: objects and arrays are lists of
 * members in insertion order, found by a linear scan (an event object has a
 * few dozen keys at most; comparing lengths first is cheaper than hashing),
 * values are copied into the arena, and the whole event is freed at once.
 * A member may hold a jansson value (a reference the event owns): frozen
 * templates shared by every event, or a subtree a protocol still builds with
 * jansson. Once something needs the event as a jansson tree (a processor
 * without a native form, an output that keeps trees), the tree is built
 * once, the arena is released, and every later call works on the tree.
 */
#ifndef PB_EVENT_DOM_H
#define PB_EVENT_DOM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "beat/event.h"
#include "beat/jsonw.h"

enum pb_vkind {
    PB_VK_NULL,
    PB_VK_FALSE,
    PB_VK_TRUE,
    PB_VK_INT,
    PB_VK_REAL,
    PB_VK_STR, /* valid UTF-8, NUL-terminated copy (may hold NULs) */
    PB_VK_OBJ,
    PB_VK_ARR,
    PB_VK_JSON, /* an owned jansson reference */
    PB_VK_RAW,  /* an object as its compact JSON text (u.s, slen; pb_node_add_raw):
                   made into members when anything but the compact encoder
                   looks at it */
};

/* pb_member.flags */
enum {
    PB_MF_PLAIN_KEY = 1, /* the key is written as it is between quotes */
    PB_MF_PLAIN_STR = 2, /* so is the string value (without escape_html) */
    PB_MF_LISTED = 4,    /* on the event's jref list */
    PB_MF_BORROWED = 8,  /* a PB_VK_JSON value the event does not own (frozen) */
};

struct pb_member {
    struct pb_member *next;
    const char *key; /* NUL-terminated; NULL in arrays */
    uint32_t klen;
    uint32_t tag; /* pb_key_tag: compared before the key bytes */
    uint32_t slen;
    uint8_t kind;  /* enum pb_vkind */
    uint8_t flags; /* PB_MF_ */
    union {
        int64_t i;
        double r;
        const char *s;
        struct pb_node *n;
        json_t *j;
    } u;
};

struct pb_node {
    struct pb_event *ev; /* the arena this node allocates from */
    struct pb_member *first;
    struct pb_member *last;
    uint64_t keys; /* a bit per key tag ever added (pb_key_bit): a clear bit
                      means absent, without a scan */
    const char *enc; /* while not NULL: the node's compact JSON (made with
                        it, for nodes of plain scalars only), dropped by any
                        change to the node */
    uint32_t enc_len;
    uint32_t count;
    bool arr;
    bool dotted; /* a key with a dot was added: paths must try literal
                    dotted keys here (PB_KEY literals never have dots) */
};

/* A member that holds (or held) a jansson reference: the references are
 * dropped from this list when the event goes, without a walk of the tree. */
struct pb_jref {
    struct pb_jref *next;
    struct pb_member *m;
};

struct pb_chunk {
    struct pb_chunk *next;
    size_t size, used;
    /* data follows, max_align_t aligned */
};

/* Strings of a related.* list: plain, in the arena, no two equal. */
struct pb_txp_list {
    const char **v;
    uint32_t n, cap;
    uint32_t bytes; /* of the strings together */
};

/* pb_tx_event's fields before they are members: the state of its
 * pending fields (pb_event.txp), and what protocols and the client add to
 * them meanwhile (pb_tx_add_action, pb_tx_add_domain, pb_tx_set_direction,
 * the related lists). */
struct pb_txp {
    struct pb_tuple tuple;
    struct pb_cid_ahead cid; /* the tuple's Community ID, looked up ahead */
    uint64_t start_ns, end_ns;
    int64_t src_bytes, dst_bytes;
    const char *type;      /* static, plain */
    const char *status;    /* static, plain; NULL none */
    const char *action;    /* event.action: plain, in the arena or static; NULL none */
    const char *outcome;   /* event.outcome: static, plain; NULL none */
    const char *direction; /* network.direction: static, plain; NULL none */
    struct pb_txp_list ips;   /* related.ip after the tuple's */
    struct pb_txp_list hosts; /* related.hosts */
    const char *domain;       /* destination.domain and server.domain: plain, in the arena */
    uint32_t action_len;
    uint8_t type_len, status_len, outcome_len, dir_len, domain_len, start_len;
    uint8_t sip_len, dip_len;
    bool no_client_server;
    char start_text[40]; /* start_ns as pb_time_fmt writes it */
    char sip[PB_IP_STRLEN], dip[PB_IP_STRLEN];
};

struct pb_event {
    json_t *json;                      /* owned: the tree once converted, else NULL */
    const struct pb_pending_ops *pops; /* pending fields (pst their state), or NULL */
    const void *pst;
    struct pb_txp *txp;      /* pst when they are pb_tx_event's, else NULL */
    struct pb_node root;     /* the DOM while json is NULL */
    struct pb_chunk *chunks; /* owned list; the first is inside this block */
    size_t njson;            /* PB_VK_JSON members in the DOM */
    struct pb_jref *jrefs;   /* in the arena: every member njson counts */
    /* pb_ev_parse_ip's hints: arena strings pb_tx_event made from these
       addresses (source.ip, destination.ip); cleared when the arena goes */
    const char *ip_str[2];
    struct pb_ip ip_val[2];
    /* pb_ev_frozen_member's hints: the root members that took a shared
       @metadata (0) and agent (1) template, each valid while edits is what
       it was then; cleared when the arena goes */
    const struct pb_member *frozen_at[2];
    uint32_t frozen_edits[2];
    /* pb_ev_add_builtins' agent member when it gave host a frozen value:
       agent, ecs and host, each holding a frozen value, follow one another
       from it while edits is tail_edits (the encoder writes them as one
       run without looking at their keys); cleared when the arena goes */
    const struct pb_member *tail;
    uint32_t tail_edits;
    uint32_t edits;    /* values changed in place or removed, dotted keys
                          added: what can change what a path finds */
    uint32_t ip_edits; /* edits when the hints were noted */
    bool failed;       /* an allocation failed: a value is missing */
    bool inline_chunk; /* the first chunk follows this struct */
    int64_t block_bytes; /* what the block (inline chunk) counts, when inline_chunk */
};

/* Whether the n bytes at s need no escaping in a JSON string. */
bool pb_ev_plain(const void *s, size_t n);

/* Builds ev's pending fields into members at the head of the root;
 * no-op when there are none. The event's content does not change, only
 * its form. */
void pb_ev_settle(pb_event *ev);

/* Notes that the string of m (source.ip: which 0, destination.ip: 1) was
 * made from ip, for pb_ev_parse_ip. */
void pb_ev_note_ip(pb_event *ev, int which, const struct pb_member *m, const struct pb_ip *ip);
/* The address noted for source.ip (which 0) or destination.ip (1) when no
 * path of the event can have changed since: then *ip is what a lookup and
 * pb_ev_parse_ip would give. */
bool pb_ev_noted_ip(const pb_event *ev, int which, struct pb_ip *ip);

/* Whether a path of one dot ("a.b", split) is in an arena event, in one
 * walk: 1 present; 0 absent, *obj then the DOM object at "a" (which lacks
 * "b"; a member set there is found by the path) or NULL when the root has
 * no "a" at all; -1 when the event is a tree, "a" holds something else or
 * the path is not of one dot: ask pb_ev_has_p. */
int pb_ev_path2(pb_event *ev, const struct pb_path *p, pb_node **obj);
/* add_host_metadata's rule in one walk of the root, for an arena event:
 * when the root's key (a PB_KEY literal) is missing, not an object or an
 * empty one, or (name_ok) an object of one member that "key.name" finds,
 * it becomes val by reference (as pb_node_set_frozen_k): 1. 0 when it
 * stays; -1 when the caller must decide the general way (a tree event, a
 * jansson value at key). */
int pb_ev_frozen_if_bare(pb_event *ev, const char *key, size_t klen, bool name_ok,
                         const json_t *val);

/* The pipeline's usual additions to a root that lacks them all (and has
 * no dotted key): @metadata, agent and ecs holding meta, agent and ecs by
 * reference (pb_node_add_frozen each, non-NULL), then host holding
 * {"name": hostname} (hlen bytes, plain, kept by reference; host is {}
 * when hostname is NULL): what those four adds make, in one allocation.
 * With host not NULL, host holds that frozen value by reference instead:
 * what pb_ev_frozen_if_bare(ev, "host", true, host) makes of the
 * {"name": hostname} afterwards. */
int pb_ev_add_builtins(pb_event *ev, const json_t *meta, const json_t *agent, const json_t *ecs,
                       const char *hostname, size_t hlen, const json_t *host);

/* Length and first and last bytes of a key: most keys of an object differ
 * there, so a lookup rarely compares key bytes in vain. */
static inline uint32_t pb_key_tag(const char *key, size_t klen)
{
    return klen == 0 ? 0
                     : (uint32_t)(klen & 0xffff) << 16 | (uint32_t)(uint8_t)key[0] << 8 |
                           (uint8_t)key[klen - 1];
}

static inline uint64_t pb_key_bit(uint32_t tag)
{
    return 1ull << ((tag * 0x9e3779b1u) >> 26);
}

/* Whether arena event ev surely lacks every root key whose bit
 * (pb_key_bit) is in bits, pending fields included: a clear bit means
 * absent, unless a key with a dot may stand for the path. */
static inline bool pb_ev_lacks(const pb_event *ev, uint64_t bits)
{
    return ev->json == NULL && !ev->root.dotted && (ev->root.keys & bits) == 0;
}

/* True when none of the 8 bytes in x needs escaping in a JSON string: no
 * control byte, '"', '\\' or non-ASCII byte. */
static inline bool pb_json_plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t lt20 = (x - ones * 0x20u) & ~x; /* bytes < 0x20 */
    uint64_t q = x ^ (ones * (uint64_t)'"');
    uint64_t bs = x ^ (ones * (uint64_t)'\\');
    uint64_t eq = ((q - ones) & ~q) | ((bs - ones) & ~bs); /* '"' or '\\' */
    return ((lt20 | eq | x) & high) == 0;
}

/* The same for one byte. */
static inline bool pb_json_plain1(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#ifdef __SSE2__
/* Of the 16 bytes at p, a bit for each one that is not plain (as
 * pb_json_plain1; with html also '<', '>' and '&'); bit i for p[i]. */
static inline unsigned pb_json_special16(const uint8_t *p, bool html)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* signed: bytes >= 0x80 are negative, so below 0x20 too */
    __m128i x = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    x = _mm_or_si128(x, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    x = _mm_or_si128(x, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    if (html) {
        x = _mm_or_si128(x, _mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
        x = _mm_or_si128(x, _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
        x = _mm_or_si128(x, _mm_cmpeq_epi8(v, _mm_set1_epi8('&')));
    }
    return (unsigned)_mm_movemask_epi8(x);
}
#endif

/* True when no byte of p[0..n) needs escaping in a JSON string. */
static inline bool pb_json_plain(const void *s, size_t n)
{
    const uint8_t *p = s;
    uint64_t x;
    if (n < 8) {
        /* short keys and values, most of them: gathered into one word
           (overlapping loads; the rest spaces, which are plain) and
           checked at once */
        if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            x = (uint64_t)a | (uint64_t)b << 32;
        } else if (n > 0) {
            x = 0x2020202020000000ull | p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
        } else {
            return true;
        }
        return pb_json_plain8(x);
    }
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; n - i > 16; i += 16) {
            if (pb_json_special16(p + i, false) != 0) {
                return false;
            }
        }
        return pb_json_special16(p + n - 16, false) == 0; /* the last 16, overlapping */
    }
#endif
    for (; n - i > 8; i += 8) {
        memcpy(&x, p + i, 8);
        if (!pb_json_plain8(x)) {
            return false;
        }
    }
    memcpy(&x, p + n - 8, 8); /* the last 8, overlapping */
    return pb_json_plain8(x);
}

#endif
