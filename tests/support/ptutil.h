/* SPDX-License-Identifier: Apache-2.0
 * tests/support/ptutil.h - helpers the protocol tests share: a byte builder
 * for wire messages (big- and little-endian integers, raw bytes, hex text),
 * the events of a connection as JSON text, and replaying a recorded exchange
 * whole, split at every offset and byte by byte.
 */
#ifndef PB_PTUTIL_H
#define PB_PTUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/event.h"
#include "protos/proto.h"
#include "tests/support/pt.h"

/* A transaction's tuple: src:sport -> dst:dport over proto (PB_IPPROTO_*);
   an address that does not parse fails the test. */
struct pb_tuple pt_tuple(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                         uint8_t proto);

/* ---- byte builder ---------------------------------------------------- */

/* Capacity of one builder; a test file may define it larger before the
 * include (each test file is its own program). */
#ifndef PT_BUF_CAP
#define PT_BUF_CAP 16384
#endif

/* Append-only bytes with inline storage: `struct pt_buf m = {.n = 0};`,
 * copyable by value. Appending past PT_BUF_CAP fails the test. */
struct pt_buf {
    uint8_t b[PT_BUF_CAP];
    size_t n;
};

/* Called by the appenders with the room left; fails the test when `want`
 * bytes do not fit. */
void pt_buf_room(size_t n, size_t cap, size_t want);

static inline void pt_put(struct pt_buf *m, const void *p, size_t n)
{
    pt_buf_room(m->n, sizeof m->b, n);
    for (size_t i = 0; i < n; i++) {
        m->b[m->n + i] = ((const uint8_t *)p)[i];
    }
    m->n += n;
}

static inline void pt_u8(struct pt_buf *m, unsigned v)
{
    uint8_t c = (uint8_t)v;
    pt_put(m, &c, 1);
}

/* Big-endian integers of 2, 3, 4 and 8 bytes. */
static inline void pt_be(struct pt_buf *m, uint64_t v, unsigned width)
{
    for (unsigned i = width; i > 0; i--) {
        pt_u8(m, (unsigned)(v >> (8 * (i - 1))) & 0xffu);
    }
}

static inline void pt_be16(struct pt_buf *m, unsigned v)
{
    pt_be(m, v & 0xffffu, 2);
}

static inline void pt_be24(struct pt_buf *m, unsigned v)
{
    pt_be(m, v & 0xffffffu, 3);
}

static inline void pt_be32(struct pt_buf *m, uint32_t v)
{
    pt_be(m, v, 4);
}

static inline void pt_be64(struct pt_buf *m, uint64_t v)
{
    pt_be(m, v, 8);
}

/* Little-endian integers of 4 and 8 bytes. */
static inline void pt_le(struct pt_buf *m, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++) {
        pt_u8(m, (unsigned)(v >> (8 * i)) & 0xffu);
    }
}

static inline void pt_le32(struct pt_buf *m, uint32_t v)
{
    pt_le(m, v, 4);
}

static inline void pt_le64(struct pt_buf *m, uint64_t v)
{
    pt_le(m, v, 8);
}

/* Appends hex text ("0a1B..."): white space between digits is skipped; any
 * other character or an odd number of digits fails the test. */
void pt_hex_into(uint8_t *out, size_t *n, size_t cap, const char *hex);

static inline void pt_hex(struct pt_buf *m, const char *hex)
{
    pt_hex_into(m->b, &m->n, sizeof m->b, hex);
}

/* DNS: a message header (id, flags, then the four section counts), starting
 * the message over; a name from its dotted text ("" is the root). */
static inline void pt_dns_hdr(struct pt_buf *m, uint16_t id, uint16_t flags, uint16_t qd,
                              uint16_t an, uint16_t ns, uint16_t ar)
{
    m->n = 0;
    const uint16_t w[6] = {id, flags, qd, an, ns, ar};
    for (size_t i = 0; i < 6; i++) {
        pt_be16(m, w[i]);
    }
}

/* DNS: a resource record's fields after its name (class IN). */
static inline void pt_dns_rr_tail(struct pt_buf *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    pt_be16(m, type);
    pt_be16(m, 1);
    pt_be32(m, ttl);
    pt_be16(m, rdlen);
}

static inline void pt_dns_name(struct pt_buf *m, const char *dotted)
{
    const char *s = dotted;
    while (*s != '\0') {
        size_t l = 0;
        while (s[l] != '\0' && s[l] != '.') {
            l++;
        }
        pt_u8(m, (unsigned)l);
        pt_put(m, s, l);
        s += l;
        if (*s == '.') {
            s++;
        }
    }
    pt_u8(m, 0);
}

/* ---- events ---------------------------------------------------------- */

/* The string at a dotted path of tree (array elements by index, "a.0.b");
 * fails the test when there is none. */
const char *pt_tree_str(json_t *tree, const char *path);
/* The events so far as compact JSON text with sorted keys (free() it). */
char *pt_dump(struct pt_conn *t);
/* Fails the test unless pt_dump(t) equals want. */
void pt_expect_dump(struct pt_conn *t, const char *want);

/* ---- segmentation ---------------------------------------------------- */

/* Feeds p[0..n) one byte per segment. */
void pt_feed_bytewise(struct pt_conn *t, enum pb_dir d, const void *p, size_t n);
/* Feeds p[0..n) as two segments cut at `cut`; whole when cut is 0 or >= n. */
void pt_feed_cut(struct pt_conn *t, enum pb_dir d, const void *p, size_t n, size_t cut);

/* One message of a recorded exchange (bytes borrowed). */
struct pt_step {
    enum pb_dir d;
    const uint8_t *p;
    size_t n;
};

/* PT_WHOLE feeds every step as one segment, PT_BYTEWISE byte by byte;
 * any other cut splits every step of two bytes or more in two, at `cut`
 * or, when the step is shorter, before its last byte. */
#define PT_WHOLE ((size_t)0)
#define PT_BYTEWISE SIZE_MAX

/* Replays steps on a fresh connection of `ops` configured by yaml and
 * returns pt_dump of the result (free() it). */
char *pt_replay(const struct pb_proto_ops *ops, const char *yaml, const struct pt_step *s,
                size_t ns, size_t cut);
/* Fails the test unless every cut (1 .. longest step - 1) and byte by byte
 * give the same events as whole steps. */
void pt_check_split_anywhere(const struct pb_proto_ops *ops, const char *yaml,
                             const struct pt_step *s, size_t ns);

/* ---- configuration ------------------------------------------------- */

/* Applies the common options and init of `ops` to an instance configured by
 * yaml (which must parse) and returns what init returned; when it
 * succeeded, check (NULL: none) looks at the instance, then fini runs. */
int pt_init_rc(const struct pb_proto_ops *ops, const char *yaml, void (*check)(struct pb_proto *p));

/* ---- events -------------------------------------------------------- */

/* Fails the test unless ev's encoding from its arena (with the encodings
 * made with nodes, strings held by reference) is byte for byte that of its
 * jansson tree; returns the tree, which ev keeps. */
json_t *pt_arena_encodes_as_tree(pb_event *ev);

/* Between a protocol and the harness: every event it emits goes through
 * pt_arena_encodes_as_tree first, is counted, and its arena's encoding is
 * kept in last (the latest event's, its first 4095 bytes). */
struct pt_enc_check {
    pb_emit_fn emit;
    void *ctx;
    size_t checked;
    char last[4096];
};
void pt_check_encodings(struct pt_conn *t, struct pt_enc_check *e);

#endif
