/* SPDX-License-Identifier: Apache-2.0
 * packet/workers.c - N packet worker threads fed by the capture thread
 * through one single-producer single-consumer ring each (see workers.h).
 *
 * A ring is a byte buffer of records, each 8-byte aligned:
 *
 *   +------+------+----+-----+-----+-------------------+-------------+
 *   | size | kind | ok | seq | now | struct pb_decoded | payload ... |
 *   +------+------+----+-----+-----+-------------------+-------------+
 *
 * A record never wraps: when it does not fit before the end, a WRAP record
 * fills the rest and the record starts at offset 0. head (bytes written)
 * belongs to the capture thread, tail (bytes consumed) to the worker; each
 * side sleeps on the ring's condition variable only after spinning a little,
 * and the other side signals only when it saw the sleeper's flag.
 *
 * Connection ids and max_flows. seq numbers the packets in the order they
 * were read. Each worker logs, in packet order, the connections it creates
 * and the flows it opens and forgets. A worker creating a connection in
 * packet s waits until every other worker has handled its packets before
 * s, then its id is 1 + the connections created before s in all the logs.
 * A flow opens when fewer than max_flows were open before s in all the
 * logs; the worker waits for the others only when an upper bound of that
 * count (without waiting) reaches max_flows.
 */
#include "workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "decoder.h"
#include "flows.h"
#include "tcp.h"
#include "udp.h"

enum rec_kind { REC_PKT = 1, REC_TICK, REC_END, REC_WRAP };

struct rec {
    uint32_t size; /* the whole record, header included, a multiple of 8 */
    uint8_t kind;  /* enum rec_kind */
    bool ok;       /* REC_PKT: pb_decode's result; REC_END: end of input */
    uint64_t seq;  /* REC_PKT: the packet's number; others: the next one */
    uint64_t now;  /* wall clock */
    struct pb_decoded d;
};

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)
#define REC_HDR ALIGN8(sizeof(struct rec))
#define SPINS 200
/* a sleeping worker is woken once this many records or bytes wait for it
 * (and for every tick and the end): one wake-up per batch, not per packet */
#define WAKE_RECORDS 64u
#define WAKE_BYTES (64u * 1024u)
/* creation seqs kept in the logs before trying to trim them */
#define LOG_TRIM_AT 4096u

struct ring {
    uint8_t *buf; /* owned */
    size_t cap;   /* a power of two */
    alignas(64) _Atomic size_t head;
    size_t head_local;    /* producer's copy */
    unsigned unsignalled; /* records since the sleeping consumer was woken */
    alignas(64) _Atomic size_t tail;
    size_t tail_local; /* consumer's copy */
    alignas(64) pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic bool cons_waits, prod_waits;
};

/* A counter over the packet order, per worker: entries (key, running
 * total) in key order; entries below what every worker reached are
 * trimmed. */
enum { CNT_CONNS, CNT_FLOWS, NCOUNTERS };
struct centry {
    uint64_t key;
    int64_t cum;
};
struct clog {
    struct centry *e; /* owned */
    size_t start, len, cap;
    int64_t cum;          /* running total of every entry */
    int64_t trimmed_cum;  /* running total at the last trimmed entry */
    uint64_t added;       /* positive deltas, all entries */
    uint64_t trimmed_rel; /* negative entries trimmed */
};

struct worker {
    struct pb_workers *ws; /* borrowed */
    unsigned idx;
    struct pb_worker_parts parts;
    struct ring ring;
    pthread_t th;
    bool started;
    alignas(64) _Atomic uint64_t done; /* key: my log entries below it are written */
    _Atomic uint64_t pushed;           /* records written (capture thread) */
    _Atomic uint64_t processed;        /* records handled (worker) */
    uint64_t cur_seq;                  /* worker: the packet being handled */
    uint64_t cur_key;                  /* worker: the position being handled */
    struct clog log[NCOUNTERS];        /* under ws->mu */
    /* counters as of the last tick (and the end), for other threads */
    pthread_mutex_t st_mu;
    struct pb_tcp_stats st_tcp;
    struct pb_flows_stats st_flows;
    size_t st_tcp_mem;
    struct pb_proto_stats *st_protos; /* owned: parts.ps->n */
};

struct pb_workers {
    unsigned n;
    struct worker *w; /* owned: n */
    pb_packet_hook_fn hook;
    void *hook_ctx;
    pb_stage_fn stage; /* NULL: no staging */
    void *stage_ctx;
    bool started, finished;
    uint64_t next_seq;                       /* capture thread */
    alignas(64) _Atomic uint64_t dispatched; /* every packet < dispatched is in a ring */
    _Atomic bool ended;                      /* the threads are gone */
    /* key of the latest tick handed out that may close flows (it runs the
       flow tables' timer, as pb_flows_tick would: same schedule in all) */
    _Atomic uint64_t last_tick_key;
    uint64_t flows_next_ns; /* capture thread: the tables' next timer run */
    int64_t flows_tick_ns;
    pthread_mutex_t mu; /* the counters' logs */
    size_t log_total;   /* entries since the last trim */
    uint64_t log_nomem;
};

/* ---- the worker of a packet ---- */

static uint32_t mac_hash(const uint8_t m[6])
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 6; i++) {
        h = (h ^ m[i]) * 16777619u;
    }
    return h;
}

unsigned pb_workers_pick(const struct pb_decoded *d, bool ok, unsigned n)
{
    if (n <= 1) {
        return 0;
    }
    /* TCP and UDP: addresses and ports (the TCP tracker and the protocols
     * key by them, and so does a flow); anything else with IP: addresses
     * only (ICMP exchanges, and flows keyed by the IP layers). VLAN ids are
     * left out: the tracker and the protocols ignore them, so one
     * connection seen on two VLANs must stay in one worker. */
    uint32_t a, b;
    if (d->nip >= 1) {
        bool ports = ok && (d->tuple.proto == PB_IPPROTO_TCP || d->tuple.proto == PB_IPPROTO_UDP);
        a = pb_endpoint_hash(&d->tuple.src, ports ? d->tuple.sport : 0);
        b = pb_endpoint_hash(&d->tuple.dst, ports ? d->tuple.dport : 0);
    } else if (d->has_eth) {
        a = mac_hash(d->src_mac);
        b = mac_hash(d->dst_mac);
    } else {
        return 0;
    }
    uint32_t v = (a ^ b) * 0x9e3779b1u;
    return (unsigned)((v >> 16) % n);
}

/* ---- rings ---- */

static int ring_init(struct ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->buf = pb_malloc(cap);
    if (r->buf == NULL) {
        return -PB_ENOMEM;
    }
    r->cap = cap;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return 0;
}

static void ring_fini(struct ring *r)
{
    if (r->buf == NULL) {
        return;
    }
    pb_free(r->buf);
    r->buf = NULL;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static void ring_wake(struct ring *r, _Atomic bool *flag)
{
    if (atomic_load(flag)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Wakes a sleeping consumer that has records waiting (any thread). */
static void ring_kick(struct ring *r)
{
    if (atomic_load(&r->cons_waits) && atomic_load(&r->head) != atomic_load(&r->tail)) {
        ring_wake(r, &r->cons_waits);
    }
}

/* Waits (spinning a little, then on the condition variable) until
 * ready(r) holds. */
static void ring_wait(struct ring *r, _Atomic bool *flag, bool (*ready)(struct ring *))
{
    for (int i = 0; i < SPINS; i++) {
        if (ready(r)) {
            return;
        }
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(flag, true);
    while (!ready(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L; /* a lost wake-up costs 50 ms at most */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    atomic_store(flag, false);
    pthread_mutex_unlock(&r->mu);
}

static _Thread_local size_t want_room;

static bool has_room(struct ring *r)
{
    return r->cap - (r->head_local - atomic_load(&r->tail)) >= want_room;
}

static bool has_data(struct ring *r)
{
    return atomic_load(&r->head) != r->tail_local;
}

/* Lines of the ring a side is about to touch were last touched by the
 * other side's core, and the first access to each waited for it. Each side
 * asks for its next lines early, and only for lines the other side is done
 * with: a line still being written or read would be taken from under it. */
#define PREFETCH_WRITE 512u /* bytes ahead of the capture thread */
#define PREFETCH_READ 256u  /* bytes of the worker's next record */

/* The capture thread: the room after the record just written, for
   writing. */
static void ring_prefetch_room(struct ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (r->cap - (r->head_local - tail) < PREFETCH_WRITE) {
        return;
    }
    size_t pos = r->head_local & (r->cap - 1);
    for (size_t o = 0; o < PREFETCH_WRITE && pos + o < r->cap; o += 64) {
        __builtin_prefetch(r->buf + pos + o, 1, 3);
    }
}

/* A worker: the record after h, for reading, once it is written. */
static void ring_prefetch_next(struct ring *r, const struct rec *h)
{
    size_t next = r->tail_local + h->size;
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head < next || head - next < PREFETCH_READ) {
        return;
    }
    size_t pos = next & (r->cap - 1);
    for (size_t o = 0; o < PREFETCH_READ && pos + o < r->cap; o += 64) {
        __builtin_prefetch(r->buf + pos + o, 0, 3);
    }
}

/* Writes one record (header h, then len bytes of payload). */
static void ring_put(struct ring *r, struct rec *h, const uint8_t *payload, size_t len)
{
    size_t need = REC_HDR + ALIGN8(len);
    size_t pos = r->head_local & (r->cap - 1);
    size_t room = r->cap - pos;
    size_t total = room < need ? room + need : need;
    want_room = total;
    if (!has_room(r)) {
        ring_wake(r, &r->cons_waits); /* whatever the batch */
        r->unsignalled = 0;
        ring_wait(r, &r->prod_waits, has_room);
    }
    if (room < need) {
        struct rec *w = (struct rec *)(void *)(r->buf + pos);
        w->size = (uint32_t)room;
        w->kind = REC_WRAP;
        r->head_local += room;
        pos = 0;
    }
    h->size = (uint32_t)need;
    memcpy(r->buf + pos, h, sizeof *h);
    if (len > 0) {
        memcpy(r->buf + pos + REC_HDR, payload, len);
    }
    r->head_local += need;
    atomic_store(&r->head, r->head_local);
    ring_prefetch_room(r);
    if (atomic_load(&r->cons_waits) && (++r->unsignalled >= WAKE_RECORDS || h->kind != REC_PKT ||
                                        r->head_local - atomic_load(&r->tail) >= WAKE_BYTES)) {
        ring_wake(r, &r->cons_waits);
        r->unsignalled = 0;
    }
}

/* The next record (waits for one); valid until ring_pop. */
static struct rec *ring_peek(struct ring *r)
{
    for (;;) {
        if (!has_data(r)) {
            ring_wait(r, &r->cons_waits, has_data);
        }
        size_t pos = r->tail_local & (r->cap - 1);
        struct rec *h = (struct rec *)(void *)(r->buf + pos);
        if (h->kind != REC_WRAP) {
            return h;
        }
        r->tail_local += h->size;
        atomic_store(&r->tail, r->tail_local);
    }
}

static void ring_pop(struct ring *r, const struct rec *h)
{
    r->tail_local += h->size;
    atomic_store(&r->tail, r->tail_local);
    /* the producer waits for at most a record (< cap / 4): wake it once a
       quarter of the ring is free */
    if (atomic_load(&r->prod_waits) &&
        r->cap - (atomic_load(&r->head) - r->tail_local) >= r->cap / 4) {
        ring_wake(r, &r->prod_waits);
    }
}

/* ---- connection ids and the shared max_flows ---- */

/* Positions in the packet order ("keys"): packet s is 2s+1, a tick or the
 * end handed out when packet s was next is 2s. A worker's done says that
 * its log entries with a smaller key are all written. */
static uint64_t pkt_key(uint64_t seq)
{
    return 2 * seq + 1;
}

/* A lower bound of done for w, and of the key of anything w handles from
 * now on. */
static uint64_t reached(struct pb_workers *ws, struct worker *w)
{
    uint64_t done = atomic_load(&w->done);
    uint64_t disp = atomic_load(&ws->dispatched);
    uint64_t pushed = atomic_load(&w->pushed);
    uint64_t processed = atomic_load(&w->processed);
    /* idle: whatever it gets next was handed out after disp was read */
    if (processed >= pushed && 2 * disp > done) {
        return 2 * disp;
    }
    return done;
}

/* Waits until every worker but me has written its entries below key. */
static void wait_others(struct pb_workers *ws, struct worker *me, uint64_t key)
{
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        for (unsigned spin = 0; w != me && reached(ws, w) < key; spin++) {
            if (spin % 16 == 0) {
                ring_kick(&w->ring); /* it may sleep on a batch not yet signalled */
            }
            if (spin < 64) {
                sched_yield();
            } else {
                struct timespec ts = {0, 20000};
                nanosleep(&ts, NULL);
            }
        }
    }
}

/* The running total of w's counter c over its entries with key < k. Under
 * ws->mu. */
static int64_t total_below(const struct clog *l, uint64_t k)
{
    size_t lo = l->start, hi = l->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->e[mid].key < k) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo > l->start ? l->e[lo - 1].cum : l->trimmed_cum;
}

/* Appends (key, delta); false when out of memory (the total moves anyway,
 * but queries below key may miss the delta). Under ws->mu. */
static bool clog_add(struct pb_workers *ws, struct clog *l, uint64_t key, int64_t delta)
{
    l->cum += delta;
    if (delta > 0) {
        l->added += (uint64_t)delta;
    }
    if (l->len == l->cap) {
        if (l->start > 0) {
            memmove(l->e, l->e + l->start, (l->len - l->start) * sizeof *l->e);
            l->len -= l->start;
            l->start = 0;
        }
        if (l->len == l->cap) {
            size_t cap = l->cap == 0 ? 256 : l->cap * 2;
            struct centry *p = pb_realloc(l->e, cap * sizeof *p);
            if (p == NULL) {
                ws->log_nomem++;
                return false;
            }
            l->e = p;
            l->cap = cap;
        }
    }
    l->e[l->len].key = key;
    l->e[l->len].cum = l->cum;
    l->len++;
    if (++ws->log_total >= LOG_TRIM_AT) {
        /* entries below what every worker reached are never asked for
           again (a query's key is at least its worker's done) */
        uint64_t m = UINT64_MAX;
        for (unsigned i = 0; i < ws->n; i++) {
            uint64_t r = reached(ws, &ws->w[i]);
            m = r < m ? r : m;
        }
        ws->log_total = 0;
        for (unsigned i = 0; i < ws->n; i++) {
            for (unsigned c = 0; c < NCOUNTERS; c++) {
                struct clog *x = &ws->w[i].log[c];
                while (x->start < x->len && x->e[x->start].key < m) {
                    if (x->e[x->start].cum < x->trimmed_cum) {
                        x->trimmed_rel++;
                    }
                    x->trimmed_cum = x->e[x->start].cum;
                    x->start++;
                }
                if (x->start == x->len) {
                    x->start = x->len = 0;
                }
                ws->log_total += x->len - x->start;
            }
        }
    }
    return true;
}

/* The id a single tracker would give the connection created now: 1 + the
 * connections created in earlier packets. */
static uint64_t next_conn_id(void *ctx)
{
    struct worker *me = ctx;
    struct pb_workers *ws = me->ws;
    uint64_t key = pkt_key(me->cur_seq);
    wait_others(ws, me, key);
    pthread_mutex_lock(&ws->mu);
    int64_t rank = 0;
    for (unsigned i = 0; i < ws->n; i++) {
        rank += total_below(&ws->w[i].log[CNT_CONNS], key);
    }
    clog_add(ws, &me->log[CNT_CONNS], key, 1);
    pthread_mutex_unlock(&ws->mu);
    return (uint64_t)rank + 1;
}

/* max_flows over all the workers' tables: a flow opens in packet s when
 * fewer than max were open before s, as in one table. */
static bool flow_admit(void *ctx, size_t max)
{
    struct worker *me = ctx;
    struct pb_workers *ws = me->ws;
    uint64_t key = pkt_key(me->cur_seq);
    pthread_mutex_lock(&ws->mu);
    /* without waiting when the open flows cannot reach max: every flow
       opened so far, plus one per packet the others may still open before
       this one, minus the flows surely closed before it */
    uint64_t upper = 0;
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        const struct clog *l = &w->log[CNT_FLOWS];
        upper += l->added - l->trimmed_rel;
        uint64_t r = reached(ws, w);
        if (w != me && r < key) {
            upper += (key - r + 1) / 2;
        }
    }
    bool room = upper < max;
    /* nor when they surely reached it: what the others logged so far
       counts, if no tick (where flows close) lies between where they are
       and this packet */
    bool full = false;
    if (!room) {
        uint64_t tick = atomic_load(&ws->last_tick_key);
        bool sure = true;
        int64_t lower = 0;
        for (unsigned i = 0; i < ws->n && sure; i++) {
            struct worker *w = &ws->w[i];
            uint64_t r = w == me ? key : reached(ws, w);
            lower += total_below(&w->log[CNT_FLOWS], r < key ? r : key);
            sure = r >= key || tick < r;
        }
        full = sure && lower >= (int64_t)max;
    }
    if (!room && !full) {
        pthread_mutex_unlock(&ws->mu);
        wait_others(ws, me, key);
        pthread_mutex_lock(&ws->mu);
        int64_t open = 0;
        for (unsigned i = 0; i < ws->n; i++) {
            open += total_below(&ws->w[i].log[CNT_FLOWS], key);
        }
        room = open < (int64_t)max;
    }
    if (room) {
        clog_add(ws, &me->log[CNT_FLOWS], key, 1);
    }
    pthread_mutex_unlock(&ws->mu);
    return room;
}

static void flow_release(void *ctx)
{
    struct worker *me = ctx;
    struct pb_workers *ws = me->ws;
    if (atomic_load(&ws->ended)) {
        return; /* pb_flows_final after the workers: nothing asks any more */
    }
    pthread_mutex_lock(&ws->mu);
    clog_add(ws, &me->log[CNT_FLOWS], me->cur_key, -1);
    pthread_mutex_unlock(&ws->mu);
}

/* ---- a worker ---- */

void pb_worker_parts_frame(const struct pb_worker_parts *p, struct pb_decoded *d, bool ok,
                           uint64_t now, pb_packet_hook_fn hook, void *hook_ctx)
{
    uint32_t tcp_hash = 0;
    struct pb_flow_link *link = NULL; /* the segment's connection's */
    bool reply = false;
    if (ok && d->tuple.proto == PB_IPPROTO_TCP) {
        /* the flow of a tracked connection's segment is found through the
           connection (the tracker asks the cache for it) */
        tcp_hash = pb_tcp_prefetch(p->tcp, &d->tuple);
    } else {
        pb_flows_prefetch(p->fl, d, ok);
    }
    pb_frame_clock = now;
    if (ok) {
        struct pb_pkt pkt;
        memset(&pkt, 0, sizeof pkt);
        pkt.ts_ns = d->ts_ns;
        pkt.tuple = d->tuple;
        pkt.vlan[0] = d->vlan[0];
        pkt.vlan[1] = d->vlan[1];
        pkt.nvlan = d->nvlan;
        pkt.payload = d->payload;
        pkt.payload_len = d->payload_len;
        /* events built while this packet is handled, or later for its
         * tuple, record its tunnel */
        const struct pb_tunnel *tun = d->tunnel.kind != PB_TUNNEL_NONE ? &d->tunnel : NULL;
        pb_ev_set_tunnel(tun);
        pb_ev_note_tunnel(&d->tuple, tun);
        switch (d->tuple.proto) {
        case PB_IPPROTO_TCP:
            d->conn_id = pb_tcp_process_hashed(p->tcp, &pkt, tcp_hash, d->tcp_seq, d->tcp_flags,
                                               now, p->fl != NULL ? &link : NULL, &reply);
            break;
        case PB_IPPROTO_UDP:
            if (p->ps != NULL) {
                pb_udp_dispatch(p->ps, &pkt);
            }
            break;
        default: /* ICMP, ICMPv6 */
            pkt.icmp_type = d->icmp_type;
            pkt.icmp_code = d->icmp_code;
            if (p->ps != NULL) {
                pb_icmp_dispatch(p->ps, &pkt);
            }
            break;
        }
        pb_ev_set_tunnel(NULL);
    }
    if (hook != NULL) {
        hook(hook_ctx, d, ok);
    }
    if (p->fl != NULL) {
        pb_flows_packet_linked(p->fl, d, ok, now, link, reply);
    }
}

static void handle_packet(struct worker *w, struct rec *r)
{
    struct pb_workers *ws = w->ws;
    r->d.payload = (const uint8_t *)r + REC_HDR;
    pb_worker_parts_frame(&w->parts, &r->d, r->ok, r->now, ws->hook, ws->hook_ctx);
}

/* Copies the worker's counters for the monitoring thread (the worker
 * writes them without a lock). */
static void snapshot(struct worker *w)
{
    const struct pb_worker_parts *p = &w->parts;
    pthread_mutex_lock(&w->st_mu);
    w->st_tcp = *pb_tcp_stats(p->tcp);
    w->st_tcp_mem = pb_tcp_memory(p->tcp);
    if (p->fl != NULL) {
        w->st_flows = *pb_flows_stats(p->fl);
    }
    for (size_t i = 0; p->ps != NULL && w->st_protos != NULL && i < p->ps->n; i++) {
        w->st_protos[i] = p->ps->list[i].stats;
    }
    pthread_mutex_unlock(&w->st_mu);
}

static void handle_end(struct worker *w, bool end_of_input)
{
    const struct pb_worker_parts *p = &w->parts;
    if (!end_of_input) {
        return;
    }
    pb_tcp_flush(p->tcp);
    if (p->ps != NULL) {
        pb_protos_shutdown(p->ps);
    }
    pb_tcp_close_all(p->tcp);
}

static void worker_stage(const struct worker *w, bool on)
{
    if (w->ws->stage != NULL) {
        w->ws->stage(w->ws->stage_ctx, on);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    worker_stage(w, true);
    for (;;) {
        if (!has_data(&w->ring)) {
            worker_stage(w, true); /* about to wait: the staged events go */
        }
        struct rec *r = ring_peek(&w->ring);
        ring_prefetch_next(&w->ring, r);
        bool end = false;
        switch (r->kind) {
        case REC_PKT:
            w->cur_seq = r->seq;
            w->cur_key = pkt_key(r->seq);
            atomic_store(&w->done, w->cur_key);
            handle_packet(w, r);
            atomic_store(&w->done, w->cur_key + 1);
            break;
        case REC_TICK:
            w->cur_key = 2 * r->seq;
            atomic_store(&w->done, w->cur_key);
            if (w->parts.ps != NULL) {
                pb_protos_tick(w->parts.ps, r->now);
            }
            pb_tcp_expire(w->parts.tcp, r->now);
            pb_flows_tick(w->parts.fl, r->now);
            atomic_store(&w->done, w->cur_key + 1);
            snapshot(w);
            worker_stage(w, true);
            break;
        default: /* REC_END */
            w->cur_key = 2 * r->seq;
            atomic_store(&w->done, w->cur_key);
            handle_end(w, r->ok);
            snapshot(w);
            end = true;
            break;
        }
        ring_pop(&w->ring, r);
        atomic_fetch_add(&w->processed, 1);
        if (end) {
            break;
        }
    }
    worker_stage(w, false);
    pb_ev_tunnels_free();
    return NULL;
}

/* ---- the capture thread's side ---- */

void pb_worker_parts_free(struct pb_worker_parts *p)
{
    if (!p->owned) {
        return;
    }
    pb_flows_free(p->fl);
    pb_tcp_free(p->tcp);
    if (p->ps != NULL) {
        pb_protos_free(p->ps);
        pb_free(p->ps);
    }
    memset(p, 0, sizeof *p);
}

struct pb_workers *pb_workers_new(unsigned n, const struct pb_worker_parts *parts,
                                  pb_packet_hook_fn hook, void *hook_ctx, char *err, size_t errlen)
{
    struct pb_workers *ws = NULL;
    if (n < 2 || n > PB_MAX_WORKERS) {
        snprintf(err, errlen, "packet workers: %u is not in 2..%u", n, PB_MAX_WORKERS);
        goto fail;
    }
    ws = pb_calloc(1, sizeof *ws);
    if (ws != NULL) {
        ws->w = pb_calloc(n, sizeof *ws->w);
    }
    if (ws == NULL || ws->w == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ws->n = n;
    ws->hook = hook;
    ws->hook_ctx = hook_ctx;
    pthread_mutex_init(&ws->mu, NULL);
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &ws->w[i];
        w->ws = ws;
        w->idx = i;
        w->parts = parts[i];
        pthread_mutex_init(&w->st_mu, NULL);
        pb_tcp_set_id_source(w->parts.tcp, next_conn_id, w);
        if (w->parts.fl != NULL) {
            pb_flows_set_admission(w->parts.fl, flow_admit, flow_release, w);
            ws->flows_next_ns = pb_flows_timer(w->parts.fl, &ws->flows_tick_ns);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        const struct pb_protos *ps = ws->w[i].parts.ps;
        if (ps != NULL && ps->n > 0) {
            ws->w[i].st_protos = pb_calloc(ps->n, sizeof *ws->w[i].st_protos);
        }
        if (ring_init(&ws->w[i].ring, PB_WORKER_RING_BYTES) < 0 ||
            (ps != NULL && ps->n > 0 && ws->w[i].st_protos == NULL)) {
            snprintf(err, errlen, "out of memory");
            pb_workers_free(ws);
            return NULL;
        }
    }
    return ws;

fail:
    if (ws != NULL) {
        pb_free(ws->w);
        pb_free(ws);
    }
    for (unsigned i = 0; i < n; i++) {
        struct pb_worker_parts p = parts[i];
        pb_worker_parts_free(&p);
    }
    return NULL;
}

void pb_workers_set_hook(struct pb_workers *ws, pb_packet_hook_fn hook, void *ctx)
{
    ws->hook = hook;
    ws->hook_ctx = ctx;
}

void pb_workers_set_stage(struct pb_workers *ws, pb_stage_fn fn, void *ctx)
{
    ws->stage = fn;
    ws->stage_ctx = ctx;
}

int pb_workers_start(struct pb_workers *ws)
{
    if (ws->started) {
        return 0;
    }
    ws->started = true;
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            pb_error("sniffer", "cannot start packet worker %u", i);
            return -PB_EIO;
        }
        w->started = true;
    }
    pb_info("sniffer", "%u packet workers", ws->n);
    return 0;
}

static void put(struct pb_workers *ws, struct worker *w, struct rec *h, const uint8_t *payload,
                size_t len)
{
    ring_put(&w->ring, h, payload, len);
    atomic_fetch_add(&w->pushed, 1);
}

void pb_workers_packet(struct pb_workers *ws, const struct pb_decoded *d, bool ok, uint64_t now_ns)
{
    if (!ok && ws->hook == NULL) {
        /* flows only: nothing to do when they are off, or for a fragment
           kept for reassembly (pb_flows_packet skips it) */
        bool flows = ws->w[0].parts.fl != NULL;
        if (!flows || (d->fragment && !d->reassembled)) {
            return;
        }
    }
    struct worker *w = &ws->w[pb_workers_pick(d, ok, ws->n)];
    struct rec h;
    memset(&h, 0, sizeof h);
    h.kind = REC_PKT;
    h.ok = ok;
    h.seq = ws->next_seq++;
    h.now = now_ns;
    h.d = *d;
    size_t len = ok && d->payload != NULL ? d->payload_len : 0;
    if (len > PB_WORKER_RING_BYTES / 4) {
        len = PB_WORKER_RING_BYTES / 4; /* not reached: frames are capped lower */
    }
    h.d.payload = NULL;
    h.d.payload_len = len;
    put(ws, w, &h, d->payload, len);
    atomic_store(&ws->dispatched, h.seq + 1);
}

static void broadcast(struct pb_workers *ws, enum rec_kind kind, bool flag, uint64_t now_ns)
{
    for (unsigned i = 0; i < ws->n; i++) {
        struct rec h;
        memset(&h, 0, sizeof h);
        h.kind = (uint8_t)kind;
        h.ok = flag;
        h.seq = ws->next_seq;
        h.now = now_ns;
        put(ws, &ws->w[i], &h, NULL, 0);
    }
}

void pb_workers_tick(struct pb_workers *ws, uint64_t now_ns)
{
    if (!ws->finished) {
        if (ws->flows_tick_ns > 0 && now_ns >= ws->flows_next_ns) {
            while (ws->flows_next_ns <= now_ns) {
                ws->flows_next_ns += (uint64_t)ws->flows_tick_ns;
            }
            atomic_store(&ws->last_tick_key, 2 * ws->next_seq);
        }
        broadcast(ws, REC_TICK, false, now_ns);
    }
}

void pb_workers_finish(struct pb_workers *ws, bool end_of_input)
{
    if (ws == NULL || ws->finished) {
        return;
    }
    ws->finished = true;
    if (!ws->started) {
        atomic_store(&ws->ended, true);
        return;
    }
    broadcast(ws, REC_END, end_of_input, 0);
    for (unsigned i = 0; i < ws->n; i++) {
        if (ws->w[i].started) {
            pthread_join(ws->w[i].th, NULL);
            ws->w[i].started = false;
        }
    }
    atomic_store(&ws->ended, true);
    if (ws->log_nomem > 0) {
        pb_warn("sniffer",
                "%llu connection or flow counts could not be recorded (out of memory): later "
                "connection ids or the max_flows count may be off",
                (unsigned long long)ws->log_nomem);
    }
}

void pb_workers_refresh_stats(struct pb_workers *ws)
{
    if (ws != NULL && (!ws->started || atomic_load(&ws->ended))) {
        for (unsigned i = 0; i < ws->n; i++) {
            snapshot(&ws->w[i]);
        }
    }
}

/* Adds the n uint64_t counters of src into dst (the stats structs are made
 * of uint64_t only). */
static void sum_counters(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] += src[i];
    }
}

void pb_workers_tcp_stats(struct pb_workers *ws, struct pb_tcp_stats *sum, size_t *mem)
{
    memset(sum, 0, sizeof *sum);
    *mem = 0;
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        pthread_mutex_lock(&w->st_mu);
        sum_counters((uint64_t *)(void *)sum, (const uint64_t *)(const void *)&w->st_tcp,
                     sizeof *sum / sizeof(uint64_t));
        *mem += w->st_tcp_mem;
        pthread_mutex_unlock(&w->st_mu);
    }
}

void pb_workers_flows_stats(struct pb_workers *ws, struct pb_flows_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        pthread_mutex_lock(&w->st_mu);
        sum_counters((uint64_t *)(void *)sum, (const uint64_t *)(const void *)&w->st_flows,
                     sizeof *sum / sizeof(uint64_t));
        pthread_mutex_unlock(&w->st_mu);
    }
}

void pb_workers_proto_stats(struct pb_workers *ws, size_t idx, struct pb_proto_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        const struct pb_protos *ps = w->parts.ps;
        pthread_mutex_lock(&w->st_mu);
        if (ps != NULL && idx < ps->n && w->st_protos != NULL) {
            sum_counters((uint64_t *)(void *)sum,
                         (const uint64_t *)(const void *)&w->st_protos[idx],
                         sizeof *sum / sizeof(uint64_t));
        }
        pthread_mutex_unlock(&w->st_mu);
    }
}

unsigned pb_workers_count(const struct pb_workers *ws)
{
    return ws != NULL ? ws->n : 0;
}

const struct pb_worker_parts *pb_workers_part(const struct pb_workers *ws, unsigned i)
{
    return ws != NULL && i < ws->n ? &ws->w[i].parts : NULL;
}

void pb_workers_free(struct pb_workers *ws)
{
    if (ws == NULL) {
        return;
    }
    pb_workers_finish(ws, false);
    for (unsigned i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        ring_fini(&w->ring);
        pb_worker_parts_free(&w->parts);
        for (unsigned c = 0; c < NCOUNTERS; c++) {
            pb_free(w->log[c].e);
        }
        pb_free(w->st_protos);
        pthread_mutex_destroy(&w->st_mu);
    }
    pthread_mutex_destroy(&ws->mu);
    pb_free(ws->w);
    pb_free(ws);
}
