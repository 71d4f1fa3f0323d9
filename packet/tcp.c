/* SPDX-License-Identifier: Apache-2.0
 * packet/tcp.c - TCP connection table and per-direction stream buffers
 * (semantics in tcp.h).
 *
 * Connections live in an index (packet/hindex.h) by a symmetric hash of the
 * 5-tuple, the same for both directions, and in one list ordered by last
 * activity, oldest first: eviction takes the head, expiry walks from the
 * head and stops at the first connection younger than the shortest timeout.
 *
 * Memory: every connection is charged its block (head + protocol state),
 * its stream buffers' capacity and what its protocol allocated and did not
 * free during its callbacks (pb_alloc_thread_bytes before and after each
 * call). When the sum passes the tracker's budget (PB_MAX_TCP_MEMORY) after
 * a segment, the least recently active connections are evicted until it
 * fits; if the connection of that segment alone does not fit, its buffers
 * are dropped (a gap for its protocol).
 */
#include "tcp.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "decoder.h"
#include "flows.h"
#include "hindex.h"
#include "reorder.h"

#define INDEX_SLOTS 1024u /* the index at first (it grows) */
#define STATE_ALIGN 16u
#define MIN_CAP 512u            /* first allocation of a stream buffer */

struct tcp_conn;

struct stream {
    uint8_t *buf; /* owned: unconsumed bytes at buf[off .. off + len) */
    size_t off, len, cap;
    uint32_t next_seq; /* expected sequence number */
    bool seq_valid;
    /* reordering (tcp_reorder): segments held after a hole */
    bool syn_valid;    /* a SYN said where data starts: syn_next */
    uint32_t syn_next; /* SYN seq + 1 */
    struct pb_reorder ro;
    struct tcp_conn *ro_conn;           /* set while ro holds segments */
    struct stream *ro_older, *ro_newer; /* the tracker's list of holding streams */
};

struct tcp_conn {
    struct pb_conn c;               /* what the protocol sees */
    struct tcp_conn *older, *newer; /* activity list */
    uint32_t hash;                  /* of its tuple: where the index has it */
    uint64_t last_ns; /* wall clock of the last activity */
    int64_t timeout_ns;
    size_t block; /* bytes of this allocation (head + protocol state) */
    size_t heap;  /* bytes its protocol allocated in callbacks and still holds */
    struct pb_flow_link flow; /* the flow table's (pb_tcp_process_hashed) */
    struct stream st[2];      /* by enum pb_dir */
};

struct pb_tcp {
    struct pb_protos *ps; /* borrowed */
    struct pb_hindex index; /* the connections by tuple_hash */
    struct tcp_conn *oldest, *newest;
    size_t count;
    size_t max_conns;
    size_t max_mem;
    size_t mem; /* blocks + buffer capacities + protocol heap of all connections */
    int64_t min_timeout_ns;
    bool track_empty;
    struct pb_tcp_stats stats;
    /* reordering: caps (max_bytes 0: off) and the streams holding
     * segments, in the order they started to */
    size_t ro_max_bytes;
    unsigned ro_max_segs;
    uint64_t ro_timeout_ns;
    struct stream *ro_oldest, *ro_newest;
    /* connection ids from elsewhere (packet workers), or NULL: the counter */
    pb_tcp_id_fn id_fn;
    void *id_ctx;
};

static uint64_t next_conn_id; /* ids are unique per process (single tracker) */

/* The same for both directions of a connection. */
static uint32_t tuple_hash(const struct pb_tuple *t)
{
    uint32_t a = pb_endpoint_hash(&t->src, t->sport);
    uint32_t b = pb_endpoint_hash(&t->dst, t->dport);
    uint32_t h = a ^ b;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

static int64_t proto_timeout(const struct pb_proto *p)
{
    return p->tx_timeout_ns > 0 ? p->tx_timeout_ns : PB_TCP_DEFAULT_TIMEOUT_NS;
}

struct pb_tcp *pb_tcp_new(struct pb_protos *ps)
{
    struct pb_tcp *t = pb_calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    if (!pb_hindex_init(&t->index, INDEX_SLOTS)) {
        pb_free(t);
        return NULL;
    }
    t->ps = ps;
    t->max_conns = PB_MAX_TCP_CONNS;
    t->max_mem = PB_MAX_TCP_MEMORY;
    t->min_timeout_ns = PB_TCP_DEFAULT_TIMEOUT_NS;
    t->ro_max_bytes = 0; /* off until pb_tcp_set_reorder: Packetbeat's semantics */
    t->ro_max_segs = PB_TCP_REORDER_SEGMENTS;
    t->ro_timeout_ns = PB_TCP_REORDER_TIMEOUT_NS;
    for (size_t i = 0; ps != NULL && i < ps->n; i++) {
        int64_t to = proto_timeout(&ps->list[i]);
        if (i == 0 || to < t->min_timeout_ns) {
            t->min_timeout_ns = to;
        }
    }
    return t;
}

void pb_tcp_set_track_empty(struct pb_tcp *t, bool on)
{
    t->track_empty = on;
}

void pb_tcp_set_limits(struct pb_tcp *t, size_t max_conns, size_t max_mem)
{
    t->max_conns = max_conns > 0 ? max_conns : PB_MAX_TCP_CONNS;
    t->max_mem = max_mem > 0 ? max_mem : PB_MAX_TCP_MEMORY;
}

void pb_tcp_set_reorder(struct pb_tcp *t, size_t max_bytes, unsigned max_segs, uint64_t timeout_ns)
{
    t->ro_max_bytes = max_bytes;
    t->ro_max_segs = max_segs > 0 ? max_segs : PB_TCP_REORDER_SEGMENTS;
    t->ro_timeout_ns = timeout_ns;
}

void pb_tcp_set_id_source(struct pb_tcp *t, pb_tcp_id_fn fn, void *ctx)
{
    t->id_fn = fn;
    t->id_ctx = ctx;
}

size_t pb_tcp_count(const struct pb_tcp *t)
{
    return t->count;
}

size_t pb_tcp_memory(const struct pb_tcp *t)
{
    return t->mem;
}

/* Charges (or credits) k with what its protocol allocated (or freed) since
 * `before` (pb_alloc_thread_bytes). A protocol that frees more than it was
 * charged (memory shared between connections) brings k to 0, no lower. */
static void charge(struct pb_tcp *t, struct tcp_conn *k, int64_t before)
{
    int64_t d = pb_alloc_thread_bytes() - before;
    if (d > 0) {
        k->heap += (size_t)d;
        t->mem += (size_t)d;
    } else if (d < 0) {
        size_t dec = (uint64_t)-d < k->heap ? (size_t)-d : k->heap;
        k->heap -= dec;
        t->mem -= dec;
    }
}

const struct pb_tcp_stats *pb_tcp_stats(const struct pb_tcp *t)
{
    return &t->stats;
}

/* ---- activity list and hash ---- */

static void list_unlink(struct pb_tcp *t, struct tcp_conn *k)
{
    if (k->older != NULL) {
        k->older->newer = k->newer;
    } else {
        t->oldest = k->newer;
    }
    if (k->newer != NULL) {
        k->newer->older = k->older;
    } else {
        t->newest = k->older;
    }
    k->older = k->newer = NULL;
}

static void list_append(struct pb_tcp *t, struct tcp_conn *k)
{
    k->older = t->newest;
    k->newer = NULL;
    if (t->newest != NULL) {
        t->newest->newer = k;
    } else {
        t->oldest = k;
    }
    t->newest = k;
}

static void touch(struct pb_tcp *t, struct tcp_conn *k, uint64_t now_ns)
{
    k->last_ns = now_ns;
    if (t->newest != k) {
        list_unlink(t, k);
        list_append(t, k);
    }
}

/* pb_ip_eq with the lengths as constants: whole-word compares instead of a
 * memcmp call (two of them for every segment). */
static inline bool ip_same(const struct pb_ip *a, const struct pb_ip *b)
{
    if (a->v6 != b->v6) {
        return false;
    }
    uint32_t x, y;
    memcpy(&x, a->b, 4);
    memcpy(&y, b->b, 4);
    if (!a->v6) {
        return x == y;
    }
    uint32_t x1, y1;
    uint64_t x2, y2;
    memcpy(&x1, a->b + 4, 4);
    memcpy(&y1, b->b + 4, 4);
    memcpy(&x2, a->b + 8, 8);
    memcpy(&y2, b->b + 8, 8);
    return ((x ^ y) | (x1 ^ y1) | (x2 ^ y2)) == 0;
}

/* The connection of this tuple (h: its tuple_hash) and the packet's
 * direction in it. */
static struct tcp_conn *find(const struct pb_tcp *t, const struct pb_tuple *tu, uint32_t h,
                             enum pb_dir *dir)
{
    const struct pb_hindex *x = &t->index;
    struct tcp_conn *k;
    for (size_t i = pb_hindex_home(x, h); (k = x->slots[i].obj) != NULL; i = pb_hindex_next(x, i)) {
        if (x->slots[i].hash != h) {
            continue;
        }
        const struct pb_tuple *ct = &k->c.tuple;
        if (ct->sport == tu->sport && ct->dport == tu->dport && ip_same(&ct->src, &tu->src) &&
            ip_same(&ct->dst, &tu->dst)) {
            *dir = PB_DIR_TO_SERVER;
            return k;
        }
        if (ct->sport == tu->dport && ct->dport == tu->sport && ip_same(&ct->src, &tu->dst) &&
            ip_same(&ct->dst, &tu->src)) {
            *dir = PB_DIR_TO_CLIENT;
            return k;
        }
    }
    return NULL;
}

/* Gives the buffer of s back, as soon as it holds nothing: the messages in
 * flight share a few warm blocks of the allocator, where a buffer kept per
 * connection would hold its largest message for the connection's life (a
 * page fault and a cache miss for every connection that buffered once). */
static void stream_release(struct pb_tcp *t, struct stream *s)
{
    pb_free(s->buf);
    t->mem -= s->cap;
    s->buf = NULL;
    s->off = s->len = s->cap = 0;
}

/* Unlinks and frees k: on_expire first when `expire`, then conn_free. */
static void reorder_flush(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir);
static void reorder_drop(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir);

static void conn_destroy(struct pb_tcp *t, struct tcp_conn *k, bool expire)
{
    const struct pb_proto_ops *ops = k->c.proto->ops;
    /* what was held for a hole is delivered (after the gap) before the
     * protocol flushes, as Packetbeat would have delivered it when it came;
     * without on_expire (close, free) it is dropped with the rest
     * (pb_tcp_flush first to keep it) */
    for (int dir = 0; dir < 2; dir++) {
        if (expire) {
            reorder_flush(t, k, (enum pb_dir)dir);
        } else {
            reorder_drop(t, k, (enum pb_dir)dir);
        }
    }
    k->c.pkt = NULL;
    if (expire && ops->on_expire != NULL) {
        ops->on_expire(&k->c);
    }
    if (ops->conn_free != NULL) {
        ops->conn_free(&k->c);
    }
    pb_hindex_remove(&t->index, k, k->hash);
    list_unlink(t, k);
    t->count--;
    stream_release(t, &k->st[0]);
    stream_release(t, &k->st[1]);
    t->mem -= k->block + k->heap;
    pb_free(k);
}

void pb_tcp_close_all(struct pb_tcp *t)
{
    while (t->oldest != NULL) {
        t->stats.conns_dropped++;
        conn_destroy(t, t->oldest, false);
    }
}

void pb_tcp_free(struct pb_tcp *t)
{
    if (t == NULL) {
        return;
    }
    pb_tcp_close_all(t);
    pb_hindex_free(&t->index);
    pb_free(t);
}

void pb_tcp_expire(struct pb_tcp *t, uint64_t now_ns)
{
    struct tcp_conn *k = t->oldest;
    while (k != NULL) {
        struct tcp_conn *next = k->newer;
        int64_t idle = now_ns > k->last_ns ? (int64_t)(now_ns - k->last_ns) : 0;
        if (idle < t->min_timeout_ns) {
            break; /* every later connection is younger */
        }
        if (idle >= k->timeout_ns) {
            t->stats.conns_expired++;
            conn_destroy(t, k, true);
        }
        k = next;
    }
}

long pb_tcp_buffered(const struct pb_tcp *t, const struct pb_tuple *tuple, enum pb_dir d)
{
    enum pb_dir dir;
    const struct tcp_conn *k = find(t, tuple, tuple_hash(tuple), &dir);
    if (k == NULL) {
        return -1;
    }
    return (long)k->st[d].len;
}

static struct tcp_conn *conn_create(struct pb_tcp *t, struct pb_proto *p,
                                    const struct pb_tuple *client_to_server, uint64_t ts_ns,
                                    uint64_t now_ns)
{
    if (t->count >= t->max_conns && t->oldest != NULL) {
        t->stats.conns_evicted++;
        conn_destroy(t, t->oldest, true);
    }
    size_t head = (sizeof(struct tcp_conn) + STATE_ALIGN - 1u) & ~(size_t)(STATE_ALIGN - 1u);
    size_t state = p->ops->conn_size;
    struct tcp_conn *k = pb_calloc(1, head + state);
    if (k == NULL) {
        t->stats.nomem++;
        return NULL;
    }
    k->hash = tuple_hash(client_to_server);
    if (!pb_hindex_add(&t->index, k, k->hash)) {
        pb_free(k);
        t->stats.nomem++;
        return NULL;
    }
    k->block = head + state;
    t->mem += k->block;
    k->c.proto = p;
    k->c.tuple = *client_to_server;
    k->c.id = t->id_fn != NULL ? t->id_fn(t->id_ctx) : ++next_conn_id;
    k->c.ts_ns = ts_ns;
    k->c.state = state > 0 ? (uint8_t *)k + head : NULL;
    k->timeout_ns = proto_timeout(p);
    k->last_ns = now_ns;
    list_append(t, k);
    t->count++;
    t->stats.conns_created++;
    return k;
}

/* ---- delivery ---- */

/* Calls on_data over data[0..len) while it makes progress. Returns the bytes
 * consumed, or -1 when the parser asked to drop the direction. */
static long run_parser(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir,
                       const struct pb_pkt *pkt, const uint8_t *data, size_t len)
{
    const struct pb_proto_ops *ops = k->c.proto->ops;
    size_t pos = 0;
    for (unsigned i = 0; pos < len && i < PB_TCP_MAX_PARSE_LOOPS; i++) {
        size_t consumed = 0;
        k->c.pkt = pkt;
        k->c.ts_ns = pkt->ts_ns;
        int64_t before = pb_alloc_thread_bytes();
        enum pb_parse r = ops->on_data(&k->c, dir, data + pos, len - pos, &consumed);
        charge(t, k, before);
        if (r == PB_PARSE_DROP) {
            t->stats.parse_drops++;
            return -1;
        }
        if (consumed > len - pos) {
            consumed = len - pos;
        }
        pos += consumed;
        if (r != PB_PARSE_OK || consumed == 0) {
            break;
        }
    }
    return (long)pos;
}

/* Makes room for `add` more bytes at the end of s (compacting first). */
static bool stream_reserve(struct pb_tcp *t, struct stream *s, size_t add)
{
    size_t need = s->len + add;
    if (need <= s->cap) {
        if (s->off + need > s->cap) {
            memmove(s->buf, s->buf + s->off, s->len);
            s->off = 0;
        }
        return true;
    }
    size_t cap = s->cap ? s->cap : MIN_CAP;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > PB_MAX_STREAM_BYTES) {
        cap = PB_MAX_STREAM_BYTES;
    }
    if (cap < need) {
        return false;
    }
    /* a new buffer, the bytes not consumed yet moved to its start:
       realloc would copy the old buffer whole, consumed bytes and room
       included (and after a compaction, the live ones twice) */
    uint8_t *p = pb_malloc(cap);
    if (p == NULL) {
        return false;
    }
    if (s->len > 0) {
        memcpy(p, s->buf + s->off, s->len);
    }
    pb_free(s->buf);
    s->buf = p;
    s->off = 0;
    t->mem += cap - s->cap;
    s->cap = cap;
    return true;
}

static void report_gap(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir, size_t lost,
                       uint64_t ts_ns, bool force_drop)
{
    const struct pb_proto_ops *ops = k->c.proto->ops;
    k->c.pkt = NULL;
    k->c.ts_ns = ts_ns;
    bool drop = true;
    if (ops->on_gap != NULL) {
        int64_t before = pb_alloc_thread_bytes();
        drop = ops->on_gap(&k->c, dir, lost);
        charge(t, k, before);
    }
    if (drop || force_drop) {
        stream_release(t, &k->st[dir]);
    }
    if (drop) {
        t->stats.gap_drops++;
    }
}

static void deliver(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir, const struct pb_pkt *pkt)
{
    struct stream *s = &k->st[dir];
    const uint8_t *data = pkt->payload;
    size_t len = pkt->payload_len;

    if (s->len == 0) {
        /* Zero copy: hand the payload itself; keep only the tail. */
        long used = run_parser(t, k, dir, pkt, data, len);
        if (used < 0) {
            stream_release(t, s);
            return;
        }
        size_t tail = len - (size_t)used;
        if (tail == 0) {
            return;
        }
        if (!stream_reserve(t, s, tail)) {
            t->stats.nomem++;
            report_gap(t, k, dir, tail, pkt->ts_ns, true);
            return;
        }
        memcpy(s->buf + s->off, data + used, tail);
        s->len = tail;
        return;
    }

    if (s->len + len > PB_MAX_STREAM_BYTES) {
        /* Packetbeat drops the stream when it outgrows its cap. */
        t->stats.stream_overflow++;
        pb_debug("tcp", "stream data too large (%zu bytes), dropping the buffer", s->len + len);
        report_gap(t, k, dir, s->len + len, pkt->ts_ns, true);
        return;
    }
    if (!stream_reserve(t, s, len)) {
        t->stats.nomem++;
        report_gap(t, k, dir, s->len + len, pkt->ts_ns, true);
        return;
    }
    memcpy(s->buf + s->off + s->len, data, len);
    s->len += len;
    long used = run_parser(t, k, dir, pkt, s->buf + s->off, s->len);
    if (used < 0) {
        stream_release(t, s);
        return;
    }
    s->off += (size_t)used;
    s->len -= (size_t)used;
    if (s->len == 0) {
        stream_release(t, s);
    }
}

static struct pb_tuple reverse(const struct pb_tuple *t)
{
    struct pb_tuple r = *t;
    r.src = t->dst;
    r.dst = t->src;
    r.sport = t->dport;
    r.dport = t->sport;
    return r;
}

/* Which side is the client for a new connection: true when the sender. */
static bool sender_is_client(const struct pb_protos *ps, const struct pb_tuple *tu, uint8_t flags,
                             bool server_is_dst)
{
    uint8_t a = ps->tcp_port[tu->sport];
    uint8_t b = ps->tcp_port[tu->dport];
    if (a != 0 && a == b) {
        /* Both ends on the protocol's port: the first sender is the client,
         * unless it answers a SYN. */
        return (flags & (PB_TCP_SYN | PB_TCP_ACK)) != (PB_TCP_SYN | PB_TCP_ACK);
    }
    return server_is_dst;
}

/* Keeps the tracker within its memory budget after k (may be NULL) got a
 * segment: evicts the least recently active connections, then drops k's
 * buffers if k alone is still too much. */
static void enforce_budget(struct pb_tcp *t, struct tcp_conn *k, uint64_t ts_ns)
{
    while (t->mem > t->max_mem && t->oldest != NULL && t->oldest != k) {
        t->stats.mem_evicted++;
        conn_destroy(t, t->oldest, true);
    }
    if (t->mem <= t->max_mem || k == NULL) {
        return;
    }
    for (int d = 0; d < 2; d++) {
        struct stream *s = &k->st[d];
        if (s->cap == 0) {
            continue;
        }
        t->stats.mem_drops++;
        if (s->len > 0) {
            report_gap(t, k, (enum pb_dir)d, s->len, ts_ns, true);
        }
        stream_release(t, s);
    }
}

/* ---- reordering (packetbeat.interfaces.tcp_reorder) ----
 *
 * A segment that starts after the next expected byte (or, before any data,
 * after the byte a SYN announced) is copied and held instead of being a gap
 * at once. When the hole fills, the held segments follow in order. A hole
 * still open when the stream's caps are reached (bytes, segments), when its
 * first held segment is older than the timeout (packet time), when the other
 * direction sends data (a protocol must see the request before its answer)
 * or when the connection ends becomes the gap Packetbeat would have
 * reported, and the held data follows it: the protocol sees what it would
 * have seen without reordering. A hole before the first byte of a stream is
 * no gap (Packetbeat starts a stream at the first data it sees), nor is one
 * before a FIN without data.
 */

static void ro_link(struct pb_tcp *t, struct tcp_conn *k, struct stream *s)
{
    s->ro_conn = k;
    s->ro_older = t->ro_newest;
    s->ro_newer = NULL;
    if (t->ro_newest != NULL) {
        t->ro_newest->ro_newer = s;
    } else {
        t->ro_oldest = s;
    }
    t->ro_newest = s;
}

static void ro_unlink(struct pb_tcp *t, struct stream *s)
{
    if (s->ro_conn == NULL) {
        return;
    }
    if (s->ro_older != NULL) {
        s->ro_older->ro_newer = s->ro_newer;
    } else {
        t->ro_oldest = s->ro_newer;
    }
    if (s->ro_newer != NULL) {
        s->ro_newer->ro_older = s->ro_older;
    } else {
        t->ro_newest = s->ro_older;
    }
    s->ro_older = s->ro_newer = NULL;
    s->ro_conn = NULL;
}

static void call_fin(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir, uint64_t ts_ns)
{
    t->stats.fins++;
    if (k->c.proto->ops->on_fin != NULL) {
        k->c.pkt = NULL;
        k->c.ts_ns = ts_ns;
        int64_t before = pb_alloc_thread_bytes();
        k->c.proto->ops->on_fin(&k->c, dir);
        charge(t, k, before);
    }
}

/* One held segment handled as process() handles an in-order one:
 * retransmits skipped, overlaps trimmed, FIN after the data; events built
 * meanwhile get the segment's own tunnel. */
static void deliver_held(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir,
                         const struct pb_reorder_seg *g)
{
    struct stream *s = &k->st[dir];
    struct pb_pkt seg = g->pkt;
    seg.payload = g->data;
    seg.payload_len = g->len;
    const struct pb_tunnel *cur = pb_ev_tunnel();
    struct pb_tunnel saved;
    memset(&saved, 0, sizeof saved);
    if (cur != NULL) {
        saved = *cur;
    }
    pb_ev_set_tunnel(&g->tunnel);
    bool fin = g->fin;
    if (g->len > 0) {
        uint32_t end = g->seq + g->len;
        if ((int32_t)(end - s->next_seq) <= 0) {
            t->stats.retransmits++;
            seg.payload_len = 0;
            fin = false;
        } else if ((int32_t)(g->seq - s->next_seq) < 0) {
            uint32_t delta = s->next_seq - g->seq;
            t->stats.overlaps++;
            seg.payload += delta;
            seg.payload_len -= delta;
        }
        if (seg.payload_len > 0) {
            s->next_seq = end;
            deliver(t, k, dir, &seg);
        }
    }
    if (fin) {
        call_fin(t, k, dir, g->pkt.ts_ns);
    }
    pb_ev_set_tunnel(&saved);
}

/* Delivers the held segments that are now in order; with force, all of
 * them, the holes between them becoming gaps. */
static void reorder_drain(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir, bool force)
{
    struct stream *s = &k->st[dir];
    const struct pb_reorder_seg *f;
    while ((f = pb_reorder_first(&s->ro)) != NULL) {
        if (!s->seq_valid) {
            if (!force) {
                break;
            }
            s->next_seq = f->seq; /* the stream starts here, as in Packetbeat */
            s->seq_valid = true;
        }
        int32_t diff = (int32_t)(f->seq - s->next_seq);
        if (diff > 0) {
            if (!force) {
                break;
            }
            if (f->len > 0) {
                t->stats.gaps++;
                t->stats.gap_bytes += (uint32_t)diff;
                t->stats.reorder_gaps++;
                report_gap(t, k, dir, (uint32_t)diff, f->pkt.ts_ns, false);
                s->next_seq = f->seq;
            }
        } else if (!force) {
            t->stats.reordered++;
        }
        struct pb_reorder_seg *g = pb_reorder_pop(&s->ro);
        t->mem -= pb_reorder_seg_mem(g);
        deliver_held(t, k, dir, g);
        pb_free(g);
    }
    if (pb_reorder_first(&s->ro) == NULL) {
        ro_unlink(t, s);
        s->ro.since_ns = 0;
    }
}

static void reorder_flush(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir)
{
    if (k->st[dir].ro_conn != NULL) {
        reorder_drain(t, k, dir, true);
    }
}

static void reorder_drop(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir)
{
    struct stream *s = &k->st[dir];
    if (s->ro_conn != NULL) {
        t->mem -= s->ro.mem;
        pb_reorder_clear(&s->ro);
        ro_unlink(t, s);
    }
}

/* True when the segment was held (or is a copy of a held one). */
static bool reorder_hold(struct pb_tcp *t, struct tcp_conn *k, enum pb_dir dir,
                         const struct pb_pkt *pkt, uint32_t seq, bool fin)
{
    struct stream *s = &k->st[dir];
    size_t len = pkt->payload_len;
    uint32_t base;
    if (s->seq_valid) {
        base = s->next_seq;
    } else if (s->syn_valid) {
        base = s->syn_next;
    } else {
        return false;
    }
    if ((int32_t)(seq - base) <= 0) {
        return false;
    }
    if (len == 0 && s->ro_conn == NULL) {
        return false; /* a FIN alone is not held: Packetbeat takes it at once */
    }
    uint64_t span = (uint64_t)(uint32_t)(seq - base) + len;
    if (span > t->ro_max_bytes || s->ro.bytes + len > t->ro_max_bytes ||
        s->ro.nsegs >= t->ro_max_segs) {
        reorder_flush(t, k, dir);
        return false;
    }
    size_t before = s->ro.mem;
    switch (pb_reorder_add(&s->ro, pkt, seq, fin)) {
    case PB_REORDER_DUPLICATE:
        t->stats.retransmits++;
        return true;
    case PB_REORDER_NOMEM:
        t->stats.nomem++;
        reorder_flush(t, k, dir);
        return false;
    case PB_REORDER_HELD:
        break;
    }
    t->mem += s->ro.mem - before;
    t->stats.reorder_held++;
    if (s->ro_conn == NULL) {
        s->ro.since_ns = pkt->ts_ns;
        ro_link(t, k, s);
    }
    return true;
}

/* Holes older than the timeout (packet time) become gaps. */
static void reorder_expire(struct pb_tcp *t, uint64_t ts_ns)
{
    while (t->ro_oldest != NULL) {
        struct stream *s = t->ro_oldest;
        if (ts_ns < s->ro.since_ns || ts_ns - s->ro.since_ns <= t->ro_timeout_ns) {
            break;
        }
        struct tcp_conn *k = s->ro_conn;
        reorder_flush(t, k, s == &k->st[PB_DIR_TO_SERVER] ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT);
    }
}

void pb_tcp_flush(struct pb_tcp *t)
{
    while (t->ro_oldest != NULL) {
        struct stream *s = t->ro_oldest;
        struct tcp_conn *k = s->ro_conn;
        reorder_flush(t, k, s == &k->st[PB_DIR_TO_SERVER] ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT);
    }
}

static struct tcp_conn *process(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t hash,
                                uint32_t seq, uint8_t flags, uint64_t now_ns, enum pb_dir *dirp);

uint32_t pb_tcp_prefetch(const struct pb_tcp *t, const struct pb_tuple *tuple)
{
    uint32_t h = tuple_hash(tuple);
    __builtin_prefetch(&t->index.slots[pb_hindex_home(&t->index, h)], 0, 3);
    return h;
}

uint64_t pb_tcp_process(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t seq, uint8_t flags,
                        uint64_t now_ns)
{
    return pb_tcp_process_hashed(t, pkt, tuple_hash(&pkt->tuple), seq, flags, now_ns, NULL, NULL);
}

uint64_t pb_tcp_process_hashed(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t hash,
                               uint32_t seq, uint8_t flags, uint64_t now_ns,
                               struct pb_flow_link **link, bool *reply)
{
    if (t->ro_oldest != NULL) {
        reorder_expire(t, pkt->ts_ns);
    }
    enum pb_dir dir = PB_DIR_TO_SERVER;
    struct tcp_conn *k = process(t, pkt, hash, seq, flags, now_ns, &dir);
    if (t->mem > t->max_mem) {
        enforce_budget(t, k, pkt->ts_ns); /* k stays */
    }
    if (link != NULL) {
        *link = k != NULL ? &k->flow : NULL;
        *reply = dir == PB_DIR_TO_CLIENT;
    }
    return k != NULL ? k->c.id : 0;
}

/* One segment (hash: its tuple's); returns its connection (NULL: none). */
static struct tcp_conn *process(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t hash,
                                uint32_t seq, uint8_t flags, uint64_t now_ns, enum pb_dir *dirp)
{
    t->stats.segments++;
    size_t len = pkt->payload_len;
    bool fin = (flags & PB_TCP_FIN) != 0;
    bool syn = (flags & PB_TCP_SYN) != 0;

    enum pb_dir dir = PB_DIR_TO_SERVER;
    struct tcp_conn *k = find(t, &pkt->tuple, hash, &dir);
    if (k != NULL) {
        pb_flow_link_prefetch(&k->flow); /* counted there after the protocol's work */
    } else {
        if (len == 0 && !syn && !t->track_empty) {
            t->stats.ignored++;
            return NULL;
        }
        bool server_is_dst = true;
        struct pb_proto *p = t->ps == NULL ? NULL
                                           : pb_protos_lookup(t->ps, PB_TCP, pkt->tuple.sport,
                                                              pkt->tuple.dport, &server_is_dst);
        if (p == NULL || p->ops == NULL || p->ops->on_data == NULL) {
            t->stats.ignored++;
            return NULL;
        }
        struct pb_tuple cs = pkt->tuple;
        if (sender_is_client(t->ps, &pkt->tuple, flags, server_is_dst)) {
            dir = PB_DIR_TO_SERVER;
        } else {
            cs = reverse(&pkt->tuple);
            dir = PB_DIR_TO_CLIENT;
        }
        k = conn_create(t, p, &cs, pkt->ts_ns, now_ns);
        if (k == NULL) {
            return NULL;
        }
    }
    *dirp = dir;
    if (len > 0 || fin || syn || t->track_empty) {
        touch(t, k, now_ns);
    }
    if (syn && t->ro_max_bytes > 0 && !k->st[dir].seq_valid) {
        k->st[dir].syn_next = seq + 1u;
        k->st[dir].syn_valid = true;
    }
    if (len == 0 && !fin) {
        return k;
    }
    if (t->ro_max_bytes > 0) {
        enum pb_dir other = dir == PB_DIR_TO_SERVER ? PB_DIR_TO_CLIENT : PB_DIR_TO_SERVER;
        if (len > 0 && k->st[other].ro_conn != NULL) {
            reorder_flush(t, k, other); /* the other side answers: no waiting */
        }
        if (reorder_hold(t, k, dir, pkt, seq, fin)) {
            return k;
        }
    }

    const struct pb_pkt *segp = pkt; /* a copy only when an overlap is cut off */
    struct pb_pkt seg;
    struct stream *s = &k->st[dir];
    uint32_t end = seq + (uint32_t)len;
    if (len > 0 && s->seq_valid) {
        if ((int32_t)(end - s->next_seq) <= 0) {
            t->stats.retransmits++;
            return k;
        }
        int32_t diff = (int32_t)(seq - s->next_seq);
        if (diff > 0) {
            t->stats.gaps++;
            t->stats.gap_bytes += (uint32_t)diff;
            report_gap(t, k, dir, (uint32_t)diff, pkt->ts_ns, false);
        } else if (diff < 0) {
            uint32_t delta = s->next_seq - seq; /* < len: the segment ends after next_seq */
            t->stats.overlaps++;
            seg = *pkt;
            seg.payload += delta;
            seg.payload_len -= delta;
            segp = &seg;
        }
    }
    s->next_seq = end;
    s->seq_valid = true;

    if (segp->payload_len > 0) {
        deliver(t, k, dir, segp);
    }
    if (fin) {
        t->stats.fins++;
        if (k->c.proto->ops->on_fin != NULL) {
            k->c.pkt = NULL;
            k->c.ts_ns = pkt->ts_ns;
            int64_t before = pb_alloc_thread_bytes();
            k->c.proto->ops->on_fin(&k->c, dir);
            charge(t, k, before);
        }
    }
    if (k->st[dir].ro_conn != NULL) {
        reorder_drain(t, k, dir, false);
    }
    return k;
}
