/* SPDX-License-Identifier: Apache-2.0
 * packet/tcp.c - TCP connection table and per-direction stream buffers
 * (semantics in tcp.h).
 *
 * Connections live in a hash table (symmetric hash of the 5-tuple, so both
 * directions land in the same bucket) and in one list ordered by last
 * activity, oldest first: eviction takes the head, expiry walks from the
 * head and stops at the first connection younger than the shortest timeout.
 */
#include "tcp.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "decoder.h"

#define NBUCKETS 65536u /* power of two */
#define STATE_ALIGN 16u
#define KEEP_CAP (64u * 1024u) /* an empty buffer larger than this is released */

struct stream {
    uint8_t *buf; /* owned: unconsumed bytes at buf[off .. off + len) */
    size_t off, len, cap;
    uint32_t next_seq; /* expected sequence number */
    bool seq_valid;
};

struct tcp_conn {
    struct pb_conn c;               /* what the protocol sees */
    struct tcp_conn *hnext;         /* hash chain */
    struct tcp_conn *older, *newer; /* activity list */
    uint32_t bucket;
    uint64_t last_ns; /* wall clock of the last activity */
    int64_t timeout_ns;
    struct stream st[2]; /* by enum pb_dir */
};

struct pb_tcp {
    struct pb_protos *ps; /* borrowed */
    struct tcp_conn **buckets;
    struct tcp_conn *oldest, *newest;
    size_t count;
    int64_t min_timeout_ns;
    bool track_empty;
    struct pb_tcp_stats stats;
};

static uint64_t next_conn_id; /* ids are unique per process */

static bool ip_eq(const struct pb_ip *a, const struct pb_ip *b)
{
    return a->v6 == b->v6 && memcmp(a->b, b->b, a->v6 ? 16 : 4) == 0;
}

static uint32_t endpoint_hash(const struct pb_ip *ip, uint16_t port)
{
    uint32_t h = 2166136261u;
    size_t n = ip->v6 ? 16 : 4;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ ip->b[i]) * 16777619u;
    }
    h = (h ^ (port & 0xffu)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h;
}

/* The same for both directions of a connection. */
static uint32_t tuple_hash(const struct pb_tuple *t)
{
    uint32_t a = endpoint_hash(&t->src, t->sport);
    uint32_t b = endpoint_hash(&t->dst, t->dport);
    uint32_t h = a ^ b;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h & (NBUCKETS - 1u);
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
    t->buckets = pb_calloc(NBUCKETS, sizeof *t->buckets);
    if (t->buckets == NULL) {
        pb_free(t);
        return NULL;
    }
    t->ps = ps;
    t->min_timeout_ns = PB_TCP_DEFAULT_TIMEOUT_NS;
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

size_t pb_tcp_count(const struct pb_tcp *t)
{
    return t->count;
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

/* The connection of this tuple and the packet's direction in it. */
static struct tcp_conn *find(const struct pb_tcp *t, const struct pb_tuple *tu, enum pb_dir *dir)
{
    for (struct tcp_conn *k = t->buckets[tuple_hash(tu)]; k != NULL; k = k->hnext) {
        const struct pb_tuple *ct = &k->c.tuple;
        if (ct->sport == tu->sport && ct->dport == tu->dport && ip_eq(&ct->src, &tu->src) &&
            ip_eq(&ct->dst, &tu->dst)) {
            *dir = PB_DIR_TO_SERVER;
            return k;
        }
        if (ct->sport == tu->dport && ct->dport == tu->sport && ip_eq(&ct->src, &tu->dst) &&
            ip_eq(&ct->dst, &tu->src)) {
            *dir = PB_DIR_TO_CLIENT;
            return k;
        }
    }
    return NULL;
}

static void stream_release(struct stream *s)
{
    pb_free(s->buf);
    s->buf = NULL;
    s->off = s->len = s->cap = 0;
}

static void stream_clear(struct stream *s)
{
    s->off = s->len = 0;
    if (s->cap > KEEP_CAP) {
        stream_release(s);
    }
}

/* Unlinks and frees k: on_expire first when `expire`, then conn_free. */
static void conn_destroy(struct pb_tcp *t, struct tcp_conn *k, bool expire)
{
    const struct pb_proto_ops *ops = k->c.proto->ops;
    k->c.pkt = NULL;
    if (expire && ops->on_expire != NULL) {
        ops->on_expire(&k->c);
    }
    if (ops->conn_free != NULL) {
        ops->conn_free(&k->c);
    }
    struct tcp_conn **pp = &t->buckets[k->bucket];
    while (*pp != NULL && *pp != k) {
        pp = &(*pp)->hnext;
    }
    if (*pp == k) {
        *pp = k->hnext;
    }
    list_unlink(t, k);
    t->count--;
    stream_release(&k->st[0]);
    stream_release(&k->st[1]);
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
    pb_free(t->buckets);
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
    const struct tcp_conn *k = find(t, tuple, &dir);
    if (k == NULL) {
        return -1;
    }
    return (long)k->st[d].len;
}

static struct tcp_conn *conn_create(struct pb_tcp *t, struct pb_proto *p,
                                    const struct pb_tuple *client_to_server, uint64_t ts_ns,
                                    uint64_t now_ns)
{
    if (t->count >= PB_MAX_TCP_CONNS && t->oldest != NULL) {
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
    k->c.proto = p;
    k->c.tuple = *client_to_server;
    k->c.id = ++next_conn_id;
    k->c.ts_ns = ts_ns;
    k->c.state = state > 0 ? (uint8_t *)k + head : NULL;
    k->timeout_ns = proto_timeout(p);
    k->last_ns = now_ns;
    k->bucket = tuple_hash(client_to_server);
    k->hnext = t->buckets[k->bucket];
    t->buckets[k->bucket] = k;
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
        enum pb_parse r = ops->on_data(&k->c, dir, data + pos, len - pos, &consumed);
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
static bool stream_reserve(struct stream *s, size_t add)
{
    if (s->off > 0 && s->off + s->len + add > s->cap) {
        memmove(s->buf, s->buf + s->off, s->len);
        s->off = 0;
    }
    size_t need = s->len + add;
    if (need <= s->cap) {
        return true;
    }
    size_t cap = s->cap ? s->cap : 4096u;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > PB_MAX_STREAM_BYTES) {
        cap = PB_MAX_STREAM_BYTES;
    }
    if (cap < need) {
        return false;
    }
    uint8_t *p = pb_realloc(s->buf, cap);
    if (p == NULL) {
        return false;
    }
    s->buf = p;
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
        drop = ops->on_gap(&k->c, dir, lost);
    }
    if (drop || force_drop) {
        stream_clear(&k->st[dir]);
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
            stream_clear(s);
            return;
        }
        size_t tail = len - (size_t)used;
        if (tail == 0) {
            return;
        }
        if (!stream_reserve(s, tail)) {
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
    if (!stream_reserve(s, len)) {
        t->stats.nomem++;
        report_gap(t, k, dir, s->len + len, pkt->ts_ns, true);
        return;
    }
    memcpy(s->buf + s->off + s->len, data, len);
    s->len += len;
    long used = run_parser(t, k, dir, pkt, s->buf + s->off, s->len);
    if (used < 0) {
        stream_clear(s);
        return;
    }
    s->off += (size_t)used;
    s->len -= (size_t)used;
    if (s->len == 0) {
        stream_clear(s);
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

uint64_t pb_tcp_process(struct pb_tcp *t, const struct pb_pkt *pkt, uint32_t seq, uint8_t flags,
                        uint64_t now_ns)
{
    t->stats.segments++;
    size_t len = pkt->payload_len;
    bool fin = (flags & PB_TCP_FIN) != 0;
    bool syn = (flags & PB_TCP_SYN) != 0;

    enum pb_dir dir = PB_DIR_TO_SERVER;
    struct tcp_conn *k = find(t, &pkt->tuple, &dir);
    if (k == NULL) {
        if (len == 0 && !syn && !t->track_empty) {
            t->stats.ignored++;
            return 0;
        }
        bool server_is_dst = true;
        struct pb_proto *p = t->ps == NULL ? NULL
                                           : pb_protos_lookup(t->ps, PB_TCP, pkt->tuple.sport,
                                                              pkt->tuple.dport, &server_is_dst);
        if (p == NULL || p->ops == NULL || p->ops->on_data == NULL) {
            t->stats.ignored++;
            return 0;
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
            return 0;
        }
    }
    if (len > 0 || fin || syn || t->track_empty) {
        touch(t, k, now_ns);
    }
    if (len == 0 && !fin) {
        return k->c.id;
    }

    struct pb_pkt seg = *pkt;
    struct stream *s = &k->st[dir];
    uint32_t end = seq + (uint32_t)len;
    if (len > 0 && s->seq_valid) {
        if ((int32_t)(end - s->next_seq) <= 0) {
            t->stats.retransmits++;
            return k->c.id;
        }
        int32_t diff = (int32_t)(seq - s->next_seq);
        if (diff > 0) {
            t->stats.gaps++;
            t->stats.gap_bytes += (uint32_t)diff;
            report_gap(t, k, dir, (uint32_t)diff, pkt->ts_ns, false);
        } else if (diff < 0) {
            uint32_t delta = s->next_seq - seq; /* < len: the segment ends after next_seq */
            t->stats.overlaps++;
            seg.payload += delta;
            seg.payload_len -= delta;
        }
    }
    s->next_seq = end;
    s->seq_valid = true;

    if (seg.payload_len > 0) {
        deliver(t, k, dir, &seg);
    }
    if (fin) {
        t->stats.fins++;
        if (k->c.proto->ops->on_fin != NULL) {
            k->c.pkt = NULL;
            k->c.ts_ns = pkt->ts_ns;
            k->c.proto->ops->on_fin(&k->c, dir);
        }
    }
    return k->c.id;
}
